/*
 * resources.h - what this process holds, for the status line (SIGUSR1,
 * SIGINFO): its resident memory and its open descriptors. Nothing is
 * allocated; each call costs a few system calls.
 */
#ifndef PARROT_RESOURCES_H
#define PARROT_RESOURCES_H

/* Resident memory in bytes, or -1 if the system does not say. */
long long resources_resident(void);

/* Descriptors open among 0 .. below-1 (one fcntl each). */
int resources_descriptors(int below);

#endif
