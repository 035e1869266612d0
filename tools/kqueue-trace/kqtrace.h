/*
 * kqtrace.h - the kqueue microscope's only hook into a program: its kevent() calls become calls
 * of kqtrace_kevent() (kqtrace.c), which prints them when PARROT_TRACE=1 is in the environment.
 *
 * A program does not include this file: trace.mk puts `-include kqtrace.h` on its compile line,
 * so that the compiler reads it before the first line of every source file. The program's own
 * source stays what its reader reads. See README.md.
 *
 * It includes no header on purpose. It comes before everything, the _POSIX_C_SOURCE a file
 * defines on its first line included, and that macro counts only if no system header was read
 * before it; the declarations below need no header (a pointer to a struct that is only named is
 * fine in C).
 */
#ifndef PARROT_KQTRACE_H
#define PARROT_KQTRACE_H

/* NetBSD's <sys/event.h> declares kevent() with size_t counts and renames it for the linker
 * (__RENAME(__kevent50)); renaming it again would either clash with the prototype below or be
 * bypassed by the linker's name. The microscope is not offered there: programs build unchanged,
 * and print nothing. */
#ifndef __NetBSD__

struct kevent;
struct timespec;

int kqtrace_kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
                   int nevents, const struct timespec *timeout);

/* A function-like macro: only `kevent(` is replaced, never the struct name in `struct kevent`.
 * The system header's own declaration of kevent(), read after this, is replaced too: it then
 * declares kqtrace_kevent() once more, with the same types as above (the compiler checks). */
#define kevent(...) kqtrace_kevent(__VA_ARGS__)

#endif
#endif
