/*
 * control.h: the control socket (DESIGN section 8, `labqcctl`).
 *
 * A unix stream socket at daemon.control_socket, mode 0660, owned by the
 * daemon's user and daemon.control_group (so members of that group, the
 * lab's operators, may use it; with `access:` only for what their other
 * groups are granted, access.h). One request line, one response, then
 * the daemon closes the connection. A request is
 *
 *     [json ][name=DISPLAY-NAME ]COMMAND [ARG ...]
 *
 * (the display name percent-encoded: %20 for a blank), and COMMAND one of
 *
 *     status
 *     ack KEY [COMMENT...]          (the comment is the rest of the line)
 *     silence MATCH DURATION        (DURATION 0 removes the silence)
 *     maintenance SITE/INSTRUMENT start|end
 *     service-done SITE/INSTRUMENT [COUNTER]
 *     reload
 *     flush
 *     handover [SLICE]              (answers, then the daemon exits 0)
 *
 * With the "json " prefix the response is one JSON object line with
 * "ok" (true/false) and either the result or "error"; otherwise it is
 * human text whose first line begins with "error: " on failure.
 *
 * Main thread only: the daemon's loop polls the listening socket and the
 * clients alongside the broker socket (control_pollfds, control_io).
 */
#ifndef LABQCD_CONTROL_H
#define LABQCD_CONTROL_H

#include <poll.h>
#include <sys/types.h>

#include "daemon/config.h"

#define CONTROL_CLIENTS_MAX 16

struct labqcd;
struct control;

/* daemon.control_group's gid: 0; 1 when the default group does not
 * exist (logged; the socket keeps the daemon's group); -1 when the
 * configured one does not (logged; fatal at start). */
int control_group_gid(const struct cfg_daemon *dc, gid_t *gid);

/*
 * Listen on `path` with `mode` (0660), group daemon.control_group. A stale socket left by a previous
 * run is removed first; a path that is not a socket, or a socket another
 * process still answers on, is refused. `d` and `config_path` are
 * borrowed for the handlers (reload reads config_path). NULL and errno.
 */
struct control *control_open(const char *path, mode_t mode, struct labqcd *d,
                             const char *config_path);

/* Fill up to `max` pollfd entries (the listener, then the clients);
 * returns how many. */
int control_pollfds(struct control *c, struct pollfd *pfd, int max);

/* After poll(): accept, read, answer, close, as the entries filled by
 * control_pollfds say; idle clients are dropped after a timeout. */
void control_io(struct control *c, const struct pollfd *pfd, int n, double now_mono);

/* Close every client and the listener, and remove the socket file. */
void control_close(struct control *c);

#endif
