// echo-node.js - peer: Node.js net, the event loop with streams.
//
// The echo server of Node's own documentation: socket.pipe(socket), which respects
// backpressure (stops reading while the write side is full). One JavaScript thread over libuv;
// each connection costs a net.Socket object and its stream state.
//
// Build: nothing to build.
// Run:   node echo-node.js [PORT]   (default 1512; 0 picks a free port; listens on 127.0.0.1)
'use strict';
const net = require('net');

const port = process.argv.length > 2 ? Number(process.argv[2]) : 1512;

const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {}); // a reset client is not the server's problem
    socket.pipe(socket);
});
server.on('error', (err) => {
    console.error(`echo-node: ${err.message}`);
    process.exit(1);
});
server.listen({ host: '127.0.0.1', port: port, backlog: 511 }, () => {
    console.error(`echo-node: listening on 127.0.0.1 port ${server.address().port}`);
});
