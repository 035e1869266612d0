/*
 * activation.h - listening sockets handed over by a service manager, so
 * that parrot can serve a port it could not bind itself (the echo
 * protocol's port 7 needs root) and start only when a client comes:
 *
 *   - systemd's socket activation: LISTEN_PID is our process id and
 *     LISTEN_FDS the number of descriptors, from 3 up (sd_listen_fds(3):
 *     the protocol is those two variables, no library needed);
 *   - launchd on macOS: launch_activate_socket(3) for the socket the job's
 *     plist names "Listeners".
 */
#ifndef PARROT_ACTIVATION_H
#define PARROT_ACTIVATION_H

#include <stddef.h>

#include "net.h"

/* Fill ls with the sockets a service manager passed, if it passed any.
 * Returns 1 if it did (ls->where says who), 0 if this process was started
 * by hand, and -1 with one line in why when the hand-over is wrong (a
 * descriptor that is not a listening TCP socket, a malformed count). */
int activation_listeners(net_listeners *ls, char *why, size_t why_cap);

#endif
