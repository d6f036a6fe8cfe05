/*
 * rrdaddr.h: the `daemon.rrdcached` address and the file names librrd's
 * client is given for it (bottom layer: libc only; the store, the
 * config check and the dashboards use it).
 *
 * librrd 1.7.2 tells the two modes apart by the address alone
 * (rrd_client.c, client_connect and get_path): "unix:PATH" or "/PATH" is
 * a local socket, and then file names are turned into absolute paths
 * that the daemon opens as they are; anything else is a TCP address
 * ("host", "host:port", "[v6]:port", port 42217 when none) of a daemon
 * that may run on another machine, and then it refuses absolute names:
 * a name is relative to the daemon's base directory (rrdcached -b).
 * labqcd then names each file by its path below rrd_dir, which must be
 * that base directory as the storage host sees it.
 */
#ifndef LABQCD_RRDADDR_H
#define LABQCD_RRDADDR_H

#include <stdbool.h>
#include <stddef.h>

enum rrdaddr_mode {
	RRDADDR_DIRECT = 0, /* no daemon: labqcd writes the files itself */
	RRDADDR_LOCAL,      /* rrdcached on a unix socket */
	RRDADDR_REMOTE,     /* rrdcached over TCP: names relative to its -b */
};

/* The mode librrd will use for `addr` (NULL or "" is direct). */
enum rrdaddr_mode rrdaddr_mode(const char *addr);

/* Check an address as librrd will read it. 0, or -1 with a message in
 * err and *col the 0-based offset in addr of what is wrong. */
int rrdaddr_check(const char *addr, char *err, size_t errlen, size_t *col);

/* The name of the file at `path` that librrd's client is given for
 * `addr`: `path` itself unless remote, else the part below rrd_dir
 * (NULL when `path` is not below rrd_dir). A pointer into path. */
const char *rrdaddr_name(const char *addr, const char *rrd_dir, const char *path);

/* One line for `labqcd -t`: which mode, and what it asks of the host. */
void rrdaddr_describe(const char *addr, const char *rrd_dir, char *buf, size_t len);

#endif
