/*
 * rrdaddr.c: the `daemon.rrdcached` address: its mode, its check, and
 * the file names librrd's client is given (rrdaddr.h says why).
 */
#include "daemon/rrdaddr.h"

#include <stdio.h>
#include <string.h>
#include <sys/un.h>

enum rrdaddr_mode rrdaddr_mode(const char *addr)
{
	if (addr == NULL || *addr == '\0')
		return RRDADDR_DIRECT;
	/* librrd's own test (rrd_client.c: client_connect, get_path) */
	if (*addr == '/' || strncmp(addr, "unix:", 5) == 0)
		return RRDADDR_LOCAL;
	return RRDADDR_REMOTE;
}

static int fail(char *err, size_t errlen, size_t *col, size_t at, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	*col = at;
	return -1;
}

static bool host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '-' || ch == '_';
}

/* ":PORT" at s[at] to the end, or nothing. */
static int check_port(const char *s, size_t at, char *err, size_t errlen, size_t *col)
{
	unsigned long port = 0;
	size_t i = at + 1;

	if (s[at] == '\0')
		return 0;
	if (s[at] != ':')
		return fail(err, errlen, col, at, "expected \":PORT\" after the host");
	if (s[i] == '\0')
		return fail(err, errlen, col, i, "expected a port number after \":\"");
	for (; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return fail(err, errlen, col, i, "the port is a number, 1 to 65535");
		port = port * 10 + (unsigned long)(s[i] - '0');
		if (port > 65535)
			return fail(err, errlen, col, at + 1, "the port is a number, 1 to 65535");
	}
	if (port == 0)
		return fail(err, errlen, col, at + 1, "the port is a number, 1 to 65535");
	return 0;
}

int rrdaddr_check(const char *addr, char *err, size_t errlen, size_t *col)
{
	size_t i;

	*col = 0;
	if (addr == NULL || *addr == '\0')
		return 0;
	for (i = 0; addr[i] != '\0'; i++)
		if (addr[i] == ' ' || addr[i] == '\t')
			return fail(err, errlen, col, i, "no blanks in an address");
	if (rrdaddr_mode(addr) == RRDADDR_LOCAL) {
		size_t at = strncmp(addr, "unix:", 5) == 0 ? 5 : 0;
		const char *path = addr + at;

		if (*path != '/')
			return fail(err, errlen, col, at,
			            "a unix socket is named by its absolute path (unix:/run/...)");
		if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return fail(err, errlen, col, at, "socket path too long");
		return 0;
	}
	if (addr[0] == '[') {
		for (i = 1; addr[i] != ']'; i++) {
			char ch = addr[i];
			if (ch == '\0')
				return fail(err, errlen, col, 0, "\"[\" without its \"]\"");
			if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
			      (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.'))
				return fail(err, errlen, col, i,
				            "expected an IPv6 address inside \"[...]\"");
		}
		if (i == 1)
			return fail(err, errlen, col, 1, "expected an IPv6 address inside \"[...]\"");
		return check_port(addr, i + 1, err, errlen, col);
	}
	for (i = 0; addr[i] != '\0' && addr[i] != ':'; i++)
		if (!host_char(addr[i]))
			return fail(err, errlen, col, i,
			            "expected HOST:PORT, unix:/PATH or /PATH (a host name or "
			            "address: letters, digits, \".\", \"-\")");
	if (i == 0)
		return fail(err, errlen, col, 0, "expected a host name or address before \":\"");
	if (addr[i] == ':' && strchr(addr + i + 1, ':') != NULL)
		return fail(err, errlen, col, i, "an IPv6 address goes in brackets: [::1]:42217");
	return check_port(addr, i, err, errlen, col);
}

const char *rrdaddr_name(const char *addr, const char *rrd_dir, const char *path)
{
	size_t n;

	if (rrdaddr_mode(addr) != RRDADDR_REMOTE)
		return path;
	n = strlen(rrd_dir);
	while (n > 0 && rrd_dir[n - 1] == '/')
		n--;
	if (strncmp(path, rrd_dir, n) != 0 || path[n] != '/')
		return NULL;
	path += n;
	while (*path == '/')
		path++;
	return *path != '\0' ? path : NULL;
}

void rrdaddr_describe(const char *addr, const char *rrd_dir, char *buf, size_t len)
{
	switch (rrdaddr_mode(addr)) {
	case RRDADDR_DIRECT:
		snprintf(buf, len, "RRD files written directly in %s", rrd_dir);
		break;
	case RRDADDR_LOCAL:
		snprintf(buf, len, "RRD files written through rrdcached on the local socket %s, in %s",
		         addr, rrd_dir);
		break;
	case RRDADDR_REMOTE:
		snprintf(buf, len,
		         "RRD files written through rrdcached over TCP at %s (remote mode): files "
		         "named relative to rrd_dir %s, which must be the daemon's base directory "
		         "(rrdcached -b %s -B -R)",
		         addr, rrd_dir, rrd_dir);
		break;
	}
}
