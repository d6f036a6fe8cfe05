/*
 * control.c: the control socket that `labqcctl` talks to (control.h has
 * the protocol).
 *
 * Main thread only, inside the daemon's poll() loop: the listener and
 * every client are non-blocking; a client sends one line, the handler
 * runs to completion on the main thread (so it sees and changes the
 * same state as an MQTT input would, between two inputs), the answer is
 * written as the socket accepts it, and the connection is closed. A
 * client that says nothing for CLIENT_TIMEOUT_S is dropped. Each state
 * change is made durable (labqcd_commit_transitions) before the answer
 * goes out. The handlers reuse the code paths of MQTT inputs and
 * signals: labqcd_ack, alerts_silence, labqcd_event, labqcd_reload (the
 * SIGHUP path) and labqcd_flush.
 *
 * Who did it: acknowledgements and events carry the peer's user name
 * (SO_PEERCRED), or "labqcctl" when it has none.
 */
#include "control.h"
#include "fsutil.h"
#include "health.h"
#include "labqcd.h"

#include <errno.h>
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
#define BY_MAX 128

struct client {
	int fd;
	char in[REQUEST_MAX];
	size_t in_len;
	char *out; /* the response, malloc'ed; NULL while reading */
	size_t out_len, out_off;
	double deadline; /* monotonic */
	char by[BY_MAX];
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

struct control *control_open(const char *path, mode_t mode, struct labqcd *d,
                             const char *config_path)
{
	struct sockaddr_un sun;
	struct control *c;
	struct stat st;
	char dir[sizeof(sun.sun_path)];

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (parent_dir(path, dir, sizeof(dir)) == 0 && fs_mkdir_p(dir, 0750) == -1)
		return NULL;
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
	/* Nobody can connect before listen(), so the mode is right by then. */
	if (chmod(path, mode) == -1 || listen(c->fd, CONTROL_CLIENTS_MAX) == -1) {
		int e = errno;
		unlink(path);
		errno = e;
		goto fail;
	}
	log_info("control socket %s (mode %04o)", path, (unsigned)mode);
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

static void peer_name(int fd, char *by, size_t len)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct passwd pw, *res = NULL;
	char buf[4096];

	snprintf(by, len, "labqcctl");
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1)
		return;
	if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
	    strlen(res->pw_name) < len)
		snprintf(by, len, "%s", res->pw_name);
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
		peer_name(fd, cl->by, sizeof(cl->by));
	}
}

/* ---- requests ---- */

struct reply {
	cJSON *obj; /* JSON result fields */
	FILE *text; /* human text */
	char err[512];
};

static char *next_word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

static char *rest_of_line(char **p)
{
	char *s = *p;
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	*p = s + n;
	return s;
}

static bool component_ok(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 1; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static void fmt_time(double t, char *buf, size_t len)
{
	struct tm tm;
	time_t s = (time_t)t;

	if (t <= 0 || gmtime_r(&s, &tm) == NULL) {
		snprintf(buf, len, "never");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fmt_duration(double s, char *buf, size_t len)
{
	long v = s > 0 ? (long)s : 0;

	if (v >= 86400)
		snprintf(buf, len, "%ldd %02ldh %02ldm", v / 86400, v % 86400 / 3600,
		         v % 3600 / 60);
	else if (v >= 3600)
		snprintf(buf, len, "%ldh %02ldm", v / 3600, v % 3600 / 60);
	else
		snprintf(buf, len, "%ldm %02lds", v / 60, v % 60);
}

struct alert_list {
	cJSON *arr;
	FILE *text;
};

static void list_alert(const struct alert_view *v, void *arg)
{
	struct alert_list *l = arg;
	char since[32];
	cJSON *o = cJSON_CreateObject();

	fmt_time(v->since, since, sizeof(since));
	cJSON_AddStringToObject(o, "key", v->key);
	cJSON_AddStringToObject(o, "state", alert_state_name(v->state));
	cJSON_AddStringToObject(o, "severity", alert_severity_name(v->severity));
	cJSON_AddStringToObject(o, "since", since);
	cJSON_AddBoolToObject(o, "acknowledged", v->acknowledged);
	cJSON_AddBoolToObject(o, "silenced", v->silenced);
	cJSON_AddStringToObject(o, "summary", v->summary ? v->summary : "");
	cJSON_AddItemToArray(l->arr, o);
	fprintf(l->text, "  %-9s %-8s %s since %s%s%s\n", alert_state_name(v->state),
	        alert_severity_name(v->severity), v->key, since,
	        v->acknowledged ? " (acknowledged)" : "", v->silenced ? " (silenced)" : "");
}

static int cmd_status(struct control *c, char *args, struct reply *r)
{
	struct labqcd *d = c->d;
	struct health h;
	char up[48], render[32];
	cJSON *o;

	(void)args;
	health_collect(d, &h);
	fmt_duration(h.uptime_s, up, sizeof(up));
	fmt_time(h.last_render, render, sizeof(render));

	cJSON_AddStringToObject(r->obj, "version", LABQCD_VERSION);
	cJSON_AddNumberToObject(r->obj, "pid", (double)getpid());
	cJSON_AddNumberToObject(r->obj, "uptime_s", (double)(long)h.uptime_s);
	o = cJSON_AddObjectToObject(r->obj, "broker");
	cJSON_AddStringToObject(o, "url", d->cfg->mqtt.url);
	cJSON_AddBoolToObject(o, "connected", h.broker_connected);
	cJSON_AddBoolToObject(o, "subscribed", h.broker_subscribed);
	cJSON_AddNumberToObject(o, "connects", (double)h.broker_connects);
	cJSON_AddNumberToObject(o, "disconnects", (double)h.broker_disconnects);
	o = cJSON_AddObjectToObject(r->obj, "messages");
	cJSON_AddNumberToObject(o, "in", (double)h.messages);
	cJSON_AddNumberToObject(o, "dropped", (double)h.dropped);
	cJSON_AddNumberToObject(o, "late", (double)h.late);
	cJSON_AddNumberToObject(o, "samples", (double)h.samples);
	cJSON_AddNumberToObject(o, "qc_results", (double)h.qc_results);
	cJSON_AddNumberToObject(o, "events", (double)h.events);
	cJSON_AddNumberToObject(o, "recovered", (double)h.recovered);
	o = cJSON_AddObjectToObject(r->obj, "rrd");
	cJSON_AddNumberToObject(o, "queued", (double)h.rrd_queued);
	cJSON_AddNumberToObject(o, "written", (double)h.rrd_written);
	cJSON_AddNumberToObject(o, "pending", (double)h.rrd_pending);
	cJSON_AddNumberToObject(o, "errors", (double)h.rrd_errors);
	cJSON_AddNumberToObject(o, "series", (double)h.rrd_series);
	o = cJSON_AddObjectToObject(r->obj, "alerts");
	cJSON_AddNumberToObject(o, "firing", (double)h.alerts_firing);
	cJSON_AddNumberToObject(o, "pending", (double)h.alerts_pending);
	cJSON_AddNumberToObject(o, "acknowledged", (double)h.alerts_acknowledged);
	cJSON_AddNumberToObject(o, "silenced", (double)h.alerts_silenced);
	o = cJSON_AddObjectToObject(r->obj, "spool");
	cJSON_AddNumberToObject(o, "depth", (double)h.spool_depth);
	cJSON_AddNumberToObject(o, "sent", (double)h.notifications_sent);
	cJSON_AddNumberToObject(o, "failed", (double)h.notifications_failed);
	if (h.heartbeat_on) {
		o = cJSON_AddObjectToObject(r->obj, "heartbeat");
		cJSON_AddStringToObject(o, "receiver", d->cfg->heartbeat.receiver);
		cJSON_AddNumberToObject(o, "sent", (double)h.heartbeats_sent);
		cJSON_AddNumberToObject(o, "failed", (double)h.heartbeats_failed);
		cJSON_AddNumberToObject(o, "dropped", (double)h.heartbeats_dropped);
	}
	o = cJSON_AddObjectToObject(r->obj, "dashboard");
	if (h.last_render > 0)
		cJSON_AddStringToObject(o, "last_render", render);
	else
		cJSON_AddNullToObject(o, "last_render");

	fprintf(r->text, "labqcd %s, pid %ld, up %s\n", LABQCD_VERSION, (long)getpid(), up);
	fprintf(r->text, "broker      %s: %s (connects %" PRIu64 ", disconnects %" PRIu64 ")\n",
	        d->cfg->mqtt.url,
	        !h.broker_connected   ? "NOT connected"
	        : h.broker_subscribed ? "connected"
	                              : "connected, subscription NOT granted",
	        h.broker_connects, h.broker_disconnects);
	fprintf(r->text,
	        "messages    in %" PRIu64 ", dropped %" PRIu64 ", late %" PRIu64
	        ", samples %" PRIu64 ", QC results %" PRIu64 ", events %" PRIu64 "\n",
	        h.messages, h.dropped, h.late, h.samples, h.qc_results, h.events);
	fprintf(r->text,
	        "RRD writes  queued %" PRIu64 ", done %" PRIu64 ", pending %" PRIu64
	        ", errors %" PRIu64 ", series %" PRIu64 "\n",
	        h.rrd_queued, h.rrd_written, h.rrd_pending, h.rrd_errors, h.rrd_series);
	fprintf(r->text,
	        "alerts      firing %" PRIu64 ", pending %" PRIu64 ", acknowledged %" PRIu64
	        ", silenced %" PRIu64 "\n",
	        h.alerts_firing, h.alerts_pending, h.alerts_acknowledged, h.alerts_silenced);
	fprintf(r->text,
	        "spool       depth %" PRIu64 ", sent %" PRIu64 ", failed attempts %" PRIu64 "\n",
	        h.spool_depth, h.notifications_sent, h.notifications_failed);
	if (h.heartbeat_on)
		fprintf(r->text,
		        "heartbeat   to %s: sent %" PRIu64 ", failed %" PRIu64 ", dropped %" PRIu64
		        "\n",
		        d->cfg->heartbeat.receiver, h.heartbeats_sent, h.heartbeats_failed,
		        h.heartbeats_dropped);
	if (h.last_render > 0) {
		char ago[48];
		fmt_duration(wall_clock() - h.last_render, ago, sizeof(ago));
		fprintf(r->text, "dashboard   last render %s (%s ago)\n", render, ago);
	} else {
		fprintf(r->text, "dashboard   last render never\n");
	}
	struct alert_list l = {.arr = cJSON_AddArrayToObject(r->obj, "alert_list"),
	                       .text = r->text};
	if (d->alerts && alerts_count(d->alerts) > 0) {
		fprintf(r->text, "alert list:\n");
		alerts_foreach(d->alerts, list_alert, &l);
	}
	return 0;
}

static int cmd_ack(struct control *c, char *args, struct reply *r, const char *by)
{
	char *key = next_word(&args);
	char *comment = rest_of_line(&args);

	if (key == NULL) {
		snprintf(r->err, sizeof(r->err), "usage: ack KEY [COMMENT]");
		return -1;
	}
	if (strlen(key) >= ALERT_KEY_MAX || strlen(comment) > 1024) {
		snprintf(r->err, sizeof(r->err), "key or comment too long");
		return -1;
	}
	c->d->clock = wall_clock();
	if (labqcd_ack(c->d, 0, key, by, comment) == -1) {
		labqcd_commit_transitions(c->d);
		snprintf(r->err, sizeof(r->err), "no alert %s", key);
		return -1;
	}
	labqcd_commit_transitions(c->d);
	log_info("control: %s acknowledged %s", by, key);
	cJSON_AddStringToObject(r->obj, "key", key);
	cJSON_AddStringToObject(r->obj, "by", by);
	fprintf(r->text, "%s acknowledged by %s\n", key, by);
	return 0;
}

static int cmd_silence(struct control *c, char *args, struct reply *r, const char *by)
{
	char *match = next_word(&args), *dur = next_word(&args);
	double duration_s;

	if (match == NULL || dur == NULL || next_word(&args) != NULL) {
		snprintf(r->err, sizeof(r->err), "usage: silence MATCH DURATION");
		return -1;
	}
	if (strlen(match) >= ALERT_KEY_MAX) {
		snprintf(r->err, sizeof(r->err), "match too long");
		return -1;
	}
	if (config_parse_duration(dur, &duration_s) == -1) {
		snprintf(r->err, sizeof(r->err),
		         "expected a duration such as 90s, 15m, 4h or 0 (remove), got \"%s\"", dur);
		return -1;
	}
	c->d->clock = wall_clock();
	if (alerts_silence(c->d->alerts, match, duration_s, by, c->d->clock) == -1) {
		snprintf(r->err, sizeof(r->err), "silence %s refused", match);
		return -1;
	}
	c->d->transitions_pending = true; /* alerts.json now, not at the next input */
	labqcd_commit_transitions(c->d);
	log_info("control: %s silenced %s for %.0fs", by, match, duration_s);
	cJSON_AddStringToObject(r->obj, "match", match);
	cJSON_AddNumberToObject(r->obj, "duration_s", duration_s);
	if (duration_s > 0) {
		char until[32];
		fmt_time(c->d->clock + duration_s, until, sizeof(until));
		cJSON_AddStringToObject(r->obj, "until", until);
		fprintf(r->text, "%s silenced until %s\n", match, until);
	} else {
		fprintf(r->text, "silence %s removed\n", match);
	}
	return 0;
}

/* "site/instrument" of a configured instrument into site and instrument. */
static const struct cfg_instrument *instrument_arg(struct control *c, const char *arg, char *site,
                                                   char *instrument, struct reply *r)
{
	const char *slash = arg ? strchr(arg, '/') : NULL;
	const struct cfg_instrument *ins;

	if (slash == NULL || !component_ok(arg, (size_t)(slash - arg)) ||
	    !component_ok(slash + 1, strlen(slash + 1))) {
		snprintf(r->err, sizeof(r->err), "expected SITE/INSTRUMENT, got \"%s\"",
		         arg ? arg : "");
		return NULL;
	}
	memcpy(site, arg, (size_t)(slash - arg));
	site[slash - arg] = '\0';
	snprintf(instrument, ID_MAX, "%s", slash + 1);
	if ((ins = config_instrument(c->d->cfg, site, instrument)) == NULL)
		snprintf(r->err, sizeof(r->err), "no instrument %s in the config", arg);
	return ins;
}

static int send_event(struct control *c, const char *site, const char *instrument,
                      struct payload_event *ev, const char *by)
{
	snprintf(ev->by, sizeof(ev->by), "%s", by);
	c->d->clock = wall_clock();
	ev->t = c->d->clock;
	labqcd_event(c->d, 0, site, instrument, ev);
	c->d->transitions_pending = true; /* the event record is durable now */
	labqcd_commit_transitions(c->d);
	return 0;
}

static int cmd_maintenance(struct control *c, char *args, struct reply *r, const char *by)
{
	char *inst = next_word(&args), *what = next_word(&args);
	char site[ID_MAX], instrument[ID_MAX];
	struct payload_event ev;

	if (inst == NULL || what == NULL || next_word(&args) != NULL ||
	    (strcmp(what, "start") != 0 && strcmp(what, "end") != 0)) {
		snprintf(r->err, sizeof(r->err), "usage: maintenance SITE/INSTRUMENT start|end");
		return -1;
	}
	if (instrument_arg(c, inst, site, instrument, r) == NULL)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.type = strcmp(what, "start") == 0 ? EV_MAINTENANCE_START : EV_MAINTENANCE_END;
	send_event(c, site, instrument, &ev, by);
	log_info("control: %s: maintenance %s by %s", inst, what, by);
	cJSON_AddStringToObject(r->obj, "instrument", inst);
	cJSON_AddStringToObject(r->obj, "maintenance", what);
	cJSON_AddBoolToObject(r->obj, "in_maintenance",
	                      instrument_in_maintenance(c->d, site, instrument));
	fprintf(r->text, "%s: maintenance %s%s\n", inst, what == NULL ? "" : what,
	        strcmp(what, "start") == 0 ? "ed; its alerts are held until it ends" : "ed");
	return 0;
}

static int cmd_service_done(struct control *c, char *args, struct reply *r, const char *by)
{
	char *inst = next_word(&args), *counter = next_word(&args);
	char site[ID_MAX], instrument[ID_MAX];
	const struct cfg_instrument *ins;
	struct payload_event ev;
	size_t n_service = 0;

	if (inst == NULL || next_word(&args) != NULL) {
		snprintf(r->err, sizeof(r->err), "usage: service-done SITE/INSTRUMENT [COUNTER]");
		return -1;
	}
	if ((ins = instrument_arg(c, inst, site, instrument, r)) == NULL)
		return -1;
	for (size_t i = 0; i < ins->n_channels; i++)
		if (ins->channels[i].has_service &&
		    (counter == NULL || strcmp(counter, ins->channels[i].name) == 0))
			n_service++;
	if (n_service == 0) {
		snprintf(r->err, sizeof(r->err), "%s has no service counter%s%s", inst,
		         counter ? " " : "", counter ? counter : "");
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = EV_SERVICE_DONE;
	if (counter)
		snprintf(ev.counter, sizeof(ev.counter), "%s", counter);
	send_event(c, site, instrument, &ev, by);
	log_info("control: %s: service done (%s) by %s", inst, counter ? counter : "all counters",
	         by);
	cJSON_AddStringToObject(r->obj, "instrument", inst);
	if (counter)
		cJSON_AddStringToObject(r->obj, "counter", counter);
	cJSON_AddNumberToObject(r->obj, "counters_reset", (double)n_service);
	fprintf(r->text, "%s: service recorded, %zu counter%s reset\n", inst, n_service,
	        n_service == 1 ? "" : "s");
	return 0;
}

static int cmd_reload(struct control *c, char *args, struct reply *r)
{
	(void)args;
	if (labqcd_reload(c->d, c->config_path) == -1) {
		/* Parse once more to tell the operator why, not only the log. */
		char *text = NULL;
		size_t len = 0;
		FILE *errs = open_memstream(&text, &len);
		struct config *cfg = config_load(c->config_path, errs);
		if (errs)
			fclose(errs);
		config_free(cfg);
		if (text && len > 0 && text[len - 1] == '\n')
			text[len - 1] = '\0';
		snprintf(r->err, sizeof(r->err), "%s has errors; the running config is kept%s%s",
		         c->config_path, text && *text ? "\n" : "", text ? text : "");
		free(text);
		return -1;
	}
	cJSON_AddStringToObject(r->obj, "config", c->config_path);
	cJSON_AddNumberToObject(r->obj, "instruments", (double)c->d->cfg->n_instruments);
	fprintf(r->text, "%s reloaded (%zu instruments)\n", c->config_path,
	        c->d->cfg->n_instruments);
	return 0;
}

static int cmd_flush(struct control *c, char *args, struct reply *r)
{
	struct store_stats ss;

	(void)args;
	labqcd_flush(c->d);
	store_get_stats(c->d->store, &ss);
	cJSON_AddNumberToObject(r->obj, "written", (double)ss.written);
	cJSON_AddNumberToObject(r->obj, "pending", (double)ss.pending);
	fprintf(r->text, "flushed: %" PRIu64 " samples written in all, %" PRIu64 " pending\n",
	        ss.written, ss.pending);
	return 0;
}

/* One request line into a malloc'ed response (JSON line or text). */
static char *handle(struct control *c, char *line, const char *by, size_t *out_len)
{
	struct reply r;
	char *text = NULL, *out = NULL;
	size_t text_len = 0;
	bool json = false;
	int rc = -1;
	char *p = line, *cmd;

	memset(&r, 0, sizeof(r));
	if (strncmp(p, "json ", 5) == 0 || strcmp(p, "json") == 0) {
		json = true;
		p += 4;
	}
	r.obj = cJSON_CreateObject();
	cJSON_AddTrueToObject(r.obj, "ok");
	r.text = open_memstream(&text, &text_len);
	if (r.obj == NULL || r.text == NULL) {
		snprintf(r.err, sizeof(r.err), "out of memory");
	} else if ((cmd = next_word(&p)) == NULL) {
		snprintf(r.err, sizeof(r.err), "empty request");
	} else if (strcmp(cmd, "status") == 0) {
		rc = cmd_status(c, p, &r);
	} else if (strcmp(cmd, "ack") == 0) {
		rc = cmd_ack(c, p, &r, by);
	} else if (strcmp(cmd, "silence") == 0) {
		rc = cmd_silence(c, p, &r, by);
	} else if (strcmp(cmd, "maintenance") == 0) {
		rc = cmd_maintenance(c, p, &r, by);
	} else if (strcmp(cmd, "service-done") == 0) {
		rc = cmd_service_done(c, p, &r, by);
	} else if (strcmp(cmd, "reload") == 0) {
		rc = cmd_reload(c, p, &r);
	} else if (strcmp(cmd, "flush") == 0) {
		rc = cmd_flush(c, p, &r);
	} else {
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
		cl->out = handle(c, cl->in, cl->by, &cl->out_len);
	} else if (cl->in_len >= sizeof(cl->in) - 1) {
		cl->out = strdup("error: request longer than 4 KiB\n");
		cl->out_len = cl->out ? strlen(cl->out) : 0;
	} else {
		cl->out = handle(c, cl->in, cl->by, &cl->out_len);
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
