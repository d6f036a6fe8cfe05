/*
 * access.h: who may do what (issue 20; README "Security").
 *
 * The control socket's peer is known by its credentials (SO_PEERCRED:
 * uid; SO_PEERGROUPS: every group of the process, as the kernel saw it
 * at connect). With `access:` in the config a command runs only when a
 * grant to one of those groups names its right (or "all") and, when the
 * grant has `on:`, the command's place (site/instrument) matches one of
 * its globs; root may always. Without `access:` every peer may (the
 * socket's group, daemon.control_group, is then the only gate).
 *
 * A refusal is recorded as a `denied` record in the audit log (the
 * shape is in labqcd(8)). Main thread only.
 */
#ifndef LABQCD_ACCESS_H
#define LABQCD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/config.h"

#define ACCESS_GROUPS_MAX 64
#define ACCESS_NAME_MAX 65 /* an account or a display name: 64 bytes + NUL */

struct labqcd;

struct access_peer {
	uid_t uid;
	gid_t gids[ACCESS_GROUPS_MAX]; /* primary first, then supplementary */
	size_t n_gids;
	char account[ACCESS_NAME_MAX]; /* "uid:N" when it has no passwd entry */
};

/* The right a control command needs, its target (the alert key, silence
 * match or instrument it names; "" for none) and place (the target's
 * site/instrument; "" for none), read from the request's arguments
 * without changing them. False for a command anyone on the socket may
 * run (status). */
bool access_right_of(const char *cmd, const char *args, char *right, size_t rlen, char *target,
                     size_t tlen);

/* True when `g` gives `right` at `target` (its site/instrument part
 * against the grant's `on:` globs; a target of "" only when the grant
 * has no `on:`). */
bool access_grant_allows(const struct cfg_grant *g, const char *right, const char *target);

/* True when the peer may; otherwise false with why (for the caller and
 * the record). */
bool access_allowed(const struct cfg_access *a, const struct access_peer *p, const char *right,
                    const char *target, char *why, size_t whylen);

/* Write a `denied` record (via "control" or "mqtt") and make it durable.
 * `target` may be "" (left out). */
void access_denied(struct labqcd *d, uint64_t seq, const char *via, const char *by,
                   const char *command, const char *target, const char *reason);

#endif
