// echo-go.go - peer: Go net, one goroutine per connection, 1 KiB buffer.
//
// The comparison the original project published: the way a Go programmer writes an echo
// server. The runtime multiplexes goroutines over epoll/kqueue (netpoller); each connection
// costs a goroutine stack (starting at 8 KiB) and its buffer. GOMAXPROCS follows the CPUs
// the process may use, so pinned to one CPU it runs on one.
//
// Build: go build -o echo-go echo-go.go   (make -C tools/bench)
// Run:   ./echo-go [PORT]   (default 1512; 0 picks a free port; listens on 127.0.0.1)
package main

import (
	"fmt"
	"net"
	"os"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 1024)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	port := "1512"
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo-go: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "echo-go: listening on 127.0.0.1 port %d\n", ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "echo-go: accept: %v\n", err)
			continue
		}
		go serve(c) // TCP_NODELAY is Go's default
	}
}
