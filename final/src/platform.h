/*
 * platform.h - the only place where Parrot adapts to the operating system.
 *
 * Every .c file includes this first, before any system header, because
 * feature-test macros only work when they come first.
 *
 * Linux (glibc) hides POSIX and BSD names when compiling with -std=c11
 * unless asked; _GNU_SOURCE asks for everything, including accept4(),
 * which hands back a non-blocking, close-on-exec client in one system call
 * instead of three.
 *
 * macOS and the BSDs show every name by default. Defining _POSIX_C_SOURCE
 * there would hide SO_NOSIGPIPE, so nothing is defined for them.
 *
 * PARROT_PORTABLE (set by the Makefile for the kqueue build on Linux) turns
 * accept4 off, so that the kqueue build on Linux runs exactly the calls a
 * macOS or BSD build runs: accept() followed by fcntl().
 */
#ifndef PARROT_PLATFORM_H
#define PARROT_PLATFORM_H

#if defined(__linux__)
#define _GNU_SOURCE
#if !defined(PARROT_PORTABLE)
#define HAVE_ACCEPT4 1
#endif
#endif

#endif
