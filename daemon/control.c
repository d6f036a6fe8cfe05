/*
 * control.c: the control socket that `labqcctl` talks to (control.h has
 * the protocol).
 *
 * Main thread only, inside the daemon's poll() loop: the listener and
 * every client are non-blocking; a client sends one line, the handler
 * runs to completion on the main thread (so it sees and changes the
 * same state as an MQTT input would, between two inputs), the answer is
 * written as the socket accepts it, and the connection is closed. A
 * client that says nothing for CLIENT_TIMEOUT_S is dropped. The commands
 * are in control_cmds.c, found by name in its table.
 *
 * Who did it: acknowledgements and events carry the peer's account
 * (SO_PEERCRED), never a name the request gives; a request may add a
 * display name ("name=" before the command), recorded beside it. With
 * `access:` in the config every command is checked here, at dispatch,
 * against the peer's groups (access.c); a refusal is a `denied` record.
 * The socket belongs to daemon.control_group, mode 0660.
 */
#include "daemon/control.h"
#include "daemon/access.h"
#include "daemon/control_int.h"
#include "daemon/fsutil.h"
#include "daemon/health.h"
#include "daemon/labqcd.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_MAX 4096
#define CLIENT_TIMEOUT_S 10.0

struct client {
	int fd;
	char in[REQUEST_MAX];
	size_t in_len;
	char *out; /* the response, malloc'ed; NULL while reading */
	size_t out_len, out_off;
	double deadline; /* monotonic */
	struct access_peer peer;
};

struct control {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct labqcd *d;
	const char *config_path;
	struct client clients[CONTROL_CLIENTS_MAX];
	int n_clients;
};

/* ---- the socket ---- */

static int parent_dir(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || slash == path)
		return -1;
	if ((size_t)(slash - path) >= len)
		return -1;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return 0;
}

/* A socket file someone still answers on is in use; one nobody answers
 * on is what a previous run left behind. */
static bool socket_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd == -1)
		return false;
	used = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return used;
}

int control_group_gid(const struct cfg_daemon *dc, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[16384];
	int e = getgrnam_r(dc->control_group, &gr, buf, sizeof(buf), &res);

	if (e == 0 && res != NULL) {
		*gid = res->gr_gid;
		return 0;
	}
	if (dc->control_group_set) {
		log_warnx("daemon.control_group %s: %s", dc->control_group,
		          e ? strerror(e) : "no such group (groupadd it, or change the config)");
		return -1;
	}
	log_warnx("control socket: no group %s (the default daemon.control_group): the socket "
	          "keeps the daemon's own group",
	          dc->control_group);
	return 1;
}

struct control *control_open(const char *path, mode_t mode, struct labqcd *d,
                             const char *config_path)
{
	struct sockaddr_un sun;
	struct control *c;
	struct stat st;
	char dir[sizeof(sun.sun_path)];
	bool made_dir = false;
	gid_t gid = (gid_t)-1;
	int have_group = control_group_gid(&d->cfg->daemon, &gid);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (have_group == -1) {
		errno = ENOENT;
		return NULL;
	}
	if (parent_dir(path, dir, sizeof(dir)) == 0) {
		made_dir = stat(dir, &st) == -1;
		if (fs_mkdir_p(dir, 0750) == -1)
			return NULL;
		/* A directory we made must let the group reach the socket. */
		if (made_dir && have_group == 0 && chown(dir, (uid_t)-1, gid) == -1)
			log_warn("control socket directory %s: chown to group %s", dir,
			         d->cfg->daemon.control_group);
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("control socket %s: exists and is not a socket; not touching it",
			          path);
			errno = EEXIST;
			return NULL;
		}
		if (socket_in_use(&sun)) {
			log_warnx("control socket %s: another process answers on it", path);
			errno = EADDRINUSE;
			return NULL;
		}
		if (unlink(path) == -1)
			return NULL;
	} else if (errno != ENOENT) {
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->d = d;
	c->config_path = config_path;
	memcpy(c->path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		goto fail;
	if (bind(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	/* Nobody can connect before listen(), so owner and mode are right
	 * by then. An unprivileged daemon may give the socket only to a
	 * group it is in: main.c adds the control group when it drops
	 * privileges. */
	if ((have_group == 0 && chown(path, (uid_t)-1, gid) == -1) || chmod(path, mode) == -1 ||
	    listen(c->fd, CONTROL_CLIENTS_MAX) == -1) {
		int e = errno;
		if (have_group == 0)
			log_warn("control socket %s: group %s", path, d->cfg->daemon.control_group);
		unlink(path);
		errno = e;
		goto fail;
	}
	log_info("control socket %s (mode %04o, group %s)", path, (unsigned)mode,
	         have_group == 0 ? d->cfg->daemon.control_group : "the daemon's");
	return c;
fail:;
	int e = errno;
	if (c->fd != -1)
		close(c->fd);
	free(c);
	errno = e;
	return NULL;
}

static void client_drop(struct control *c, int i)
{
	close(c->clients[i].fd);
	free(c->clients[i].out);
	c->clients[i] = c->clients[--c->n_clients];
}

void control_close(struct control *c)
{
	if (c == NULL)
		return;
	while (c->n_clients > 0)
		client_drop(c, c->n_clients - 1);
	close(c->fd);
	unlink(c->path);
	free(c);
}

int control_pollfds(struct control *c, struct pollfd *pfd, int max)
{
	int n = 0;

	if (c == NULL || max < 1)
		return 0;
	pfd[n].fd = c->n_clients < CONTROL_CLIENTS_MAX ? c->fd : -1;
	pfd[n].events = POLLIN;
	pfd[n++].revents = 0;
	for (int i = 0; i < c->n_clients && n < max; i++, n++) {
		pfd[n].fd = c->clients[i].fd;
		pfd[n].events = c->clients[i].out ? POLLOUT : POLLIN;
		pfd[n].revents = 0;
	}
	return n;
}

/* Who is on the other end: uid, account and every group, from the
 * kernel (SO_PEERCRED, SO_PEERGROUPS), not from anything it sends. A
 * peer whose credentials cannot be read is nobody: uid -1, no groups. */
static void peer_identify(int fd, struct access_peer *p)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred), glen;
	struct passwd pw, *res = NULL;
	char buf[4096];

	memset(p, 0, sizeof(*p));
	p->uid = (uid_t)-1;
	snprintf(p->account, sizeof(p->account), "unknown");
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1)
		return;
	p->uid = cred.uid;
	p->gids[p->n_gids++] = cred.gid;
	glen = (socklen_t)(sizeof(p->gids) - sizeof(p->gids[0]));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->gids + 1, &glen) == 0)
		p->n_gids += glen / sizeof(p->gids[0]);
	else
		log_warn("control: SO_PEERGROUPS (uid %u): only its primary group counts",
		         (unsigned)cred.uid);
	if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
	    strlen(res->pw_name) < sizeof(p->account))
		snprintf(p->account, sizeof(p->account), "%s", res->pw_name);
	else
		snprintf(p->account, sizeof(p->account), "uid:%u", (unsigned)cred.uid);
}

static void accept_clients(struct control *c, double now)
{
	while (c->n_clients < CONTROL_CLIENTS_MAX) {
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("control: accept");
			return;
		}
		struct client *cl = &c->clients[c->n_clients++];
		memset(cl, 0, sizeof(*cl));
		cl->fd = fd;
		cl->deadline = now + CLIENT_TIMEOUT_S;
		peer_identify(fd, &cl->peer);
	}
}

/* ---- requests ---- */

/* "name=Jane%20Doe": a display name, percent-encoded by labqcctl (a
 * name has blanks); printable, at most 64 bytes. 0 or -1. */
static int display_name(const char *enc, char *out, size_t len)
{
	size_t n = 0;

	for (const char *s = enc; *s; s++) {
		unsigned v = (unsigned char)*s;
		if (*s == '%') {
			static const char hex[] = "0123456789abcdef";
			const char *hi = s[1] ? strchr(hex, s[1] | 0x20) : NULL;
			const char *lo = hi && s[2] ? strchr(hex, s[2] | 0x20) : NULL;
			if (lo == NULL)
				return -1;
			v = (unsigned)((hi - hex) * 16 + (lo - hex));
			s += 2;
		}
		if (v < 0x20 || v == 0x7f || n + 1 >= len || n >= 64)
			return -1;
		out[n++] = (char)v;
	}
	out[n] = '\0';
	return 0;
}

/* Run the command `k` if the peer may (access.c); -1 with r->err and a
 * `denied` record if not. */
static int dispatch(struct control *c, const struct control_cmd *k, char *args, struct reply *r,
                    const struct access_peer *peer)
{
	char right[32], target[ALERT_KEY_MAX], why[384];

	if (access_right_of(k->name, args, right, sizeof(right), target, sizeof(target)) &&
	    !access_allowed(&c->d->cfg->access, peer, right, target, why, sizeof(why))) {
		c->d->clock = wall_clock();
		access_denied(c->d, 0, "control", peer->account, right, target, why);
		snprintf(r->err, sizeof(r->err), "denied: %s", why);
		return -1;
	}
	return k->fn(c->d, c->config_path, args, r, peer->account);
}

/* One request line into a malloc'ed response (JSON line or text). */
static char *handle(struct control *c, char *line, const struct access_peer *peer,
                    size_t *out_len)
{
	struct reply r;
	char *text = NULL, *out = NULL, name[ACCESS_NAME_MAX * 3] = "";
	size_t text_len = 0;
	bool json = false;
	int rc = -1;
	char *p = line, *cmd;

	memset(&r, 0, sizeof(r));
	if (strncmp(p, "json ", 5) == 0 || strcmp(p, "json") == 0) {
		json = true;
		p += 4;
	}
	while (*p == ' ')
		p++;
	if (strncmp(p, "name=", 5) == 0) {
		char *w = control_next_word(&p);
		if (display_name(w + 5, name, sizeof(name)) == -1)
			snprintf(r.err, sizeof(r.err), "a display name is printable, at most 64 bytes");
		r.name = name;
	}
	r.obj = cJSON_CreateObject();
	cJSON_AddTrueToObject(r.obj, "ok");
	r.text = open_memstream(&text, &text_len);
	if (r.obj == NULL || r.text == NULL) {
		snprintf(r.err, sizeof(r.err), "out of memory");
	} else if (r.err[0] != '\0') {
		/* the display name was refused */
	} else if ((cmd = control_next_word(&p)) == NULL) {
		snprintf(r.err, sizeof(r.err), "empty request");
	} else {
		const struct control_cmd *k = control_cmds;

		while (k->name != NULL && strcmp(k->name, cmd) != 0)
			k++;
		if (k->name != NULL)
			rc = dispatch(c, k, p, &r, peer);
		else
			snprintf(r.err, sizeof(r.err), "unknown command \"%.64s\"", cmd);
	}
	if (r.text)
		fclose(r.text);
	if (rc == -1 && r.err[0] == '\0')
		snprintf(r.err, sizeof(r.err), "failed");
	if (json) {
		if (rc == -1) {
			cJSON_Delete(r.obj);
			r.obj = cJSON_CreateObject();
			cJSON_AddFalseToObject(r.obj, "ok");
			cJSON_AddStringToObject(r.obj, "error", r.err);
		}
		char *s = r.obj ? cJSON_PrintUnformatted(r.obj) : NULL;
		if (s && asprintf(&out, "%s\n", s) == -1)
			out = NULL;
		free(s);
	} else if (rc == -1) {
		if (asprintf(&out, "error: %s\n", r.err) == -1)
			out = NULL;
	} else {
		out = text;
		text = NULL;
	}
	cJSON_Delete(r.obj);
	free(text);
	if (out == NULL)
		out = strdup(json ? "{\"ok\":false,\"error\":\"out of memory\"}\n"
		                  : "error: out of memory\n");
	*out_len = out ? strlen(out) : 0;
	return out;
}

/* Read what the client sent; true once a whole request line is in. */
static bool client_read(struct client *cl, bool *gone)
{
	for (;;) {
		if (cl->in_len >= sizeof(cl->in) - 1)
			return true; /* too long: handled as an error */
		ssize_t k = recv(cl->fd, cl->in + cl->in_len, sizeof(cl->in) - 1 - cl->in_len, 0);
		if (k > 0) {
			if (memchr(cl->in + cl->in_len, '\n', (size_t)k)) {
				cl->in_len += (size_t)k;
				return true;
			}
			cl->in_len += (size_t)k;
			continue;
		}
		if (k == 0) {
			*gone = cl->in_len == 0;
			return cl->in_len > 0; /* a last line without newline */
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			*gone = true;
		return false;
	}
}

/* Write what the socket takes; true when the response is all out or the
 * client went away. */
static bool client_write(struct client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t k = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			cl->out_off += (size_t)k;
			continue;
		}
		if (k == -1 && errno == EINTR)
			continue;
		return k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) ? false : true;
	}
	return true;
}

static void client_request(struct control *c, struct client *cl)
{
	char *nl;

	cl->in[cl->in_len] = '\0';
	if ((nl = memchr(cl->in, '\n', cl->in_len)) != NULL) {
		*nl = '\0';
		if (nl > cl->in && nl[-1] == '\r')
			nl[-1] = '\0';
		cl->out = handle(c, cl->in, &cl->peer, &cl->out_len);
	} else if (cl->in_len >= sizeof(cl->in) - 1) {
		cl->out = strdup("error: request longer than 4 KiB\n");
		cl->out_len = cl->out ? strlen(cl->out) : 0;
	} else {
		cl->out = handle(c, cl->in, &cl->peer, &cl->out_len);
	}
}

void control_io(struct control *c, const struct pollfd *pfd, int n, double now_mono)
{
	if (c == NULL || n < 1)
		return;
	/* Clients first, found by fd: accepting changes the list. */
	for (int k = 1; k < n; k++) {
		int i;
		for (i = 0; i < c->n_clients; i++)
			if (c->clients[i].fd == pfd[k].fd)
				break;
		if (i == c->n_clients || pfd[k].revents == 0)
			continue;
		struct client *cl = &c->clients[i];
		bool gone = false, done = false;
		if (cl->out == NULL) {
			if (client_read(cl, &gone) && !gone) {
				client_request(c, cl);
				if (cl->out == NULL)
					gone = true;
			}
		}
		if (cl->out && !gone)
			done = client_write(cl);
		if (gone || done || (pfd[k].revents & (POLLERR | POLLNVAL)))
			client_drop(c, i);
	}
	for (int i = c->n_clients - 1; i >= 0; i--)
		if (now_mono > c->clients[i].deadline)
			client_drop(c, i);
	if (pfd[0].fd == c->fd && (pfd[0].revents & POLLIN))
		accept_clients(c, now_mono);
}
