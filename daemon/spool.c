/*
 * spool.c: the notification spool, one JSON file per notification.
 *
 * File names are "<created ms, 13 digits>-<seq, 8 digits>-<receiver>.json"
 * so a directory listing sorted by name is creation order; seq starts
 * past the highest one found at open (ready or pending), so names never
 * repeat across restarts. Temporary files of fs_write_atomic
 * ("*.json.tmp.<pid>"), pending entries ("<id>.json.pending") and anything
 * else not ending in ".json" are ignored by spool_list, so the notifier
 * never sees them.
 *
 * Two phases (exactly once across a crash, with the alert engine):
 * spool_stage writes "<id>.json.pending" (write-fsync-rename); the caller
 * records <id> in its own durable state; spool_commit then renames the
 * entry to "<id>.json" and fsyncs the directory. spool_recover, at start,
 * finishes what a crash interrupted: a pending entry the caller recorded
 * is committed, any other is deleted (the caller will stage it again).
 *
 * The JSON (de)serialisation of struct notification lives here too: the
 * spool is its only on-disk form.
 */
#include "daemon/spool.h"
#include "daemon/fsutil.h"
#include "daemon/log.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct spool {
	char dir[CFG_PATH_MAX];
	struct spool_opts opts;
	unsigned long long seq;
	void (*wake)(void *arg);
	void *wake_arg;
	pthread_mutex_t lock; /* counters and seq; a leaf lock */
	struct spool_counters n;
};

void notification_free(struct notification *n)
{
	free(n->alerts);
	n->alerts = NULL;
	n->n_alerts = 0;
}

int notification_add_alert(struct notification *n, const struct notif_alert *a)
{
	struct notif_alert *v = reallocarray(n->alerts, n->n_alerts + 1, sizeof(*v));

	if (v == NULL)
		return -1;
	v[n->n_alerts++] = *a;
	n->alerts = v;
	return 0;
}

/* ---- JSON ---- */

static const char *kind_name(enum notif_kind k)
{
	return k == NOTIF_EMAIL ? "email" : "webhook";
}

static const char *format_name(enum webhook_format f)
{
	switch (f) {
	case WEBHOOK_SLACK:
		return "slack";
	case WEBHOOK_PLAIN:
		return "plain";
	default:
		return "alertmanager";
	}
}

static cJSON *alert_to_json(const struct notif_alert *a)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "key", a->key);
	cJSON_AddStringToObject(o, "kind", a->kind);
	cJSON_AddStringToObject(o, "site", a->site);
	cJSON_AddStringToObject(o, "instrument", a->instrument);
	cJSON_AddStringToObject(o, "channel", a->channel);
	cJSON_AddStringToObject(o, "rule", a->rule);
	cJSON_AddStringToObject(o, "severity", a->severity);
	cJSON_AddStringToObject(o, "status", a->status);
	if (isfinite(a->value))
		cJSON_AddNumberToObject(o, "value", a->value);
	else
		cJSON_AddNullToObject(o, "value");
	cJSON_AddStringToObject(o, "summary", a->summary);
	cJSON_AddNumberToObject(o, "starts_at", a->starts_at);
	cJSON_AddNumberToObject(o, "ends_at", a->ends_at);
	cJSON_AddBoolToObject(o, "acknowledged", a->acknowledged);
	cJSON_AddStringToObject(o, "chart", a->chart);
	return o;
}

char *notification_to_json(const struct notification *n)
{
	cJSON *o = cJSON_CreateObject(), *to, *arr;
	char *s = NULL;

	if (o == NULL)
		return NULL;
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddStringToObject(o, "kind", kind_name(n->kind));
	cJSON_AddStringToObject(o, "receiver", n->receiver);
	cJSON_AddStringToObject(o, "status", n->status);
	cJSON_AddStringToObject(o, "reason", n->reason);
	cJSON_AddStringToObject(o, "group_key", n->group_key);
	cJSON_AddStringToObject(o, "external_url", n->external_url);
	if (n->audit_head[0])
		cJSON_AddStringToObject(o, "audit_head", n->audit_head);
	cJSON_AddNumberToObject(o, "created", n->created);
	if (n->kind == NOTIF_EMAIL) {
		to = cJSON_AddArrayToObject(o, "to");
		for (size_t i = 0; to && i < n->n_to; i++)
			cJSON_AddItemToArray(to, cJSON_CreateString(n->to[i]));
	} else {
		cJSON_AddStringToObject(o, "url", n->url);
		cJSON_AddStringToObject(o, "format", format_name(n->format));
		cJSON_AddStringToObject(o, "secret_file", n->secret_file);
	}
	cJSON_AddNumberToObject(o, "timeout_s", n->timeout_s);
	cJSON_AddNumberToObject(o, "attempts", n->attempts);
	/* Exactly, not through cJSON's number printing, which settles for 15
	 * digits when they are within an epsilon: read back, the time could
	 * come out a hair later than written, and an entry due "now" would
	 * wait for the next pass (seen as a flaky test_notify_live). */
	if (isfinite(n->next_attempt)) {
		char t[32];
		snprintf(t, sizeof(t), "%.17g", n->next_attempt);
		cJSON_AddRawToObject(o, "next_attempt", t);
	} else {
		cJSON_AddNumberToObject(o, "next_attempt", 0);
	}
	cJSON_AddStringToObject(o, "last_error", n->last_error);
	if (n->report[0]) {
		cJSON *r = cJSON_AddObjectToObject(o, "report");
		if (r == NULL)
			goto out;
		cJSON_AddStringToObject(r, "period", n->report);
		cJSON_AddStringToObject(r, "lab", n->report_lab);
		cJSON_AddStringToObject(r, "dir", n->report_dir);
		cJSON_AddBoolToObject(r, "chain_broken", n->report_chain_broken);
	}
	arr = cJSON_AddArrayToObject(o, "alerts");
	for (size_t i = 0; arr && i < n->n_alerts; i++) {
		cJSON *a = alert_to_json(&n->alerts[i]);
		if (a == NULL || !cJSON_AddItemToArray(arr, a))
			goto out;
	}
	s = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return s;
}

static int get_str(const cJSON *o, const char *name, char *dst, size_t len, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsString(v)) {
		dst[0] = '\0';
		return required ? -1 : 0;
	}
	if (strlen(v->valuestring) >= len)
		return -1;
	snprintf(dst, len, "%s", v->valuestring);
	return 0;
}

static double get_num(const cJSON *o, const char *name, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int alert_from_json(const cJSON *o, struct notif_alert *a)
{
	memset(a, 0, sizeof(*a));
	if (!cJSON_IsObject(o) || get_str(o, "key", a->key, sizeof(a->key), true) == -1 ||
	    get_str(o, "kind", a->kind, sizeof(a->kind), false) == -1 ||
	    get_str(o, "site", a->site, sizeof(a->site), false) == -1 ||
	    get_str(o, "instrument", a->instrument, sizeof(a->instrument), false) == -1 ||
	    get_str(o, "channel", a->channel, sizeof(a->channel), false) == -1 ||
	    get_str(o, "rule", a->rule, sizeof(a->rule), false) == -1 ||
	    get_str(o, "severity", a->severity, sizeof(a->severity), false) == -1 ||
	    get_str(o, "status", a->status, sizeof(a->status), false) == -1 ||
	    get_str(o, "summary", a->summary, sizeof(a->summary), false) == -1 ||
	    get_str(o, "chart", a->chart, sizeof(a->chart), false) == -1)
		return -1;
	a->value = get_num(o, "value", NAN);
	a->starts_at = get_num(o, "starts_at", 0);
	a->ends_at = get_num(o, "ends_at", 0);
	a->acknowledged = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "acknowledged"));
	return 0;
}

int notification_from_json(const char *text, struct notification *n, char *err, size_t errlen)
{
	cJSON *o = cJSON_Parse(text);
	const cJSON *v, *it;
	char kind[16], format[16];
	int rc = -1;

	memset(n, 0, sizeof(*n));
	if (!cJSON_IsObject(o)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	if (get_str(o, "kind", kind, sizeof(kind), true) == -1 ||
	    get_str(o, "receiver", n->receiver, sizeof(n->receiver), true) == -1 ||
	    get_str(o, "status", n->status, sizeof(n->status), true) == -1 ||
	    get_str(o, "reason", n->reason, sizeof(n->reason), false) == -1 ||
	    get_str(o, "group_key", n->group_key, sizeof(n->group_key), false) == -1 ||
	    get_str(o, "external_url", n->external_url, sizeof(n->external_url), false) == -1 ||
	    get_str(o, "audit_head", n->audit_head, sizeof(n->audit_head), false) == -1 ||
	    get_str(o, "last_error", n->last_error, sizeof(n->last_error), false) == -1) {
		snprintf(err, errlen, "missing or oversized string field");
		goto out;
	}
	if (strcmp(kind, "email") == 0) {
		n->kind = NOTIF_EMAIL;
		v = cJSON_GetObjectItemCaseSensitive(o, "to");
		cJSON_ArrayForEach(it, v)
		{
			if (!cJSON_IsString(it) || n->n_to >= NOTIF_TO_MAX ||
			    strlen(it->valuestring) >= sizeof(n->to[0])) {
				snprintf(err, errlen, "bad \"to\"");
				goto out;
			}
			snprintf(n->to[n->n_to++], sizeof(n->to[0]), "%s", it->valuestring);
		}
	} else if (strcmp(kind, "webhook") == 0) {
		n->kind = NOTIF_WEBHOOK;
		if (get_str(o, "url", n->url, sizeof(n->url), true) == -1 ||
		    get_str(o, "format", format, sizeof(format), false) == -1 ||
		    get_str(o, "secret_file", n->secret_file, sizeof(n->secret_file), false) == -1) {
			snprintf(err, errlen, "bad webhook fields");
			goto out;
		}
		n->format = strcmp(format, "slack") == 0   ? WEBHOOK_SLACK
			    : strcmp(format, "plain") == 0 ? WEBHOOK_PLAIN
							   : WEBHOOK_ALERTMANAGER;
	} else {
		snprintf(err, errlen, "unknown kind \"%s\"", kind);
		goto out;
	}
	n->created = get_num(o, "created", 0);
	n->timeout_s = get_num(o, "timeout_s", 0);
	n->attempts = (int)get_num(o, "attempts", 0);
	n->next_attempt = get_num(o, "next_attempt", 0);
	v = cJSON_GetObjectItemCaseSensitive(o, "report");
	if (v != NULL &&
	    (!cJSON_IsObject(v) || get_str(v, "period", n->report, sizeof(n->report), true) == -1 ||
	     get_str(v, "lab", n->report_lab, sizeof(n->report_lab), false) == -1 ||
	     get_str(v, "dir", n->report_dir, sizeof(n->report_dir), true) == -1)) {
		snprintf(err, errlen, "bad \"report\"");
		goto out;
	}
	n->report_chain_broken =
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "chain_broken"));
	v = cJSON_GetObjectItemCaseSensitive(o, "alerts");
	cJSON_ArrayForEach(it, v)
	{
		struct notif_alert a;
		if (alert_from_json(it, &a) == -1) {
			snprintf(err, errlen, "bad alert in \"alerts\"");
			goto out;
		}
		if (notification_add_alert(n, &a) == -1) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	if (rc == -1)
		notification_free(n);
	cJSON_Delete(o);
	return rc;
}

/* ---- the directory ---- */

#define PENDING_SUFFIX ".json.pending"

static bool has_suffix(const char *name, const char *suffix)
{
	size_t len = strlen(name), slen = strlen(suffix);

	return len > slen && name[0] != '.' && strcmp(name + len - slen, suffix) == 0 &&
	       strncmp(name, "corrupt-", 8) != 0;
}

/* A ready entry: the notifier's to send. */
static bool is_spool_name(const char *name)
{
	return has_suffix(name, ".json");
}

/* Staged, not yet committed: nobody sends it. */
static bool is_pending_name(const char *name)
{
	return has_suffix(name, PENDING_SUFFIX);
}

struct spool *spool_open(const char *dir, const struct spool_opts *opts)
{
	struct spool *sp;
	DIR *d;
	struct dirent *de;

	if (fs_mkdir_p(dir, 0700) == -1)
		return NULL;
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return NULL;
	if (snprintf(sp->dir, sizeof(sp->dir), "%s", dir) >= (int)sizeof(sp->dir)) {
		free(sp);
		errno = ENAMETOOLONG;
		return NULL;
	}
	sp->opts.retry_initial_s = opts && opts->retry_initial_s > 0 ? opts->retry_initial_s : 30;
	sp->opts.retry_max_s = opts && opts->retry_max_s > 0 ? opts->retry_max_s : 3600;
	pthread_mutex_init(&sp->lock, NULL);
	d = opendir(dir);
	if (d == NULL) {
		spool_close(sp);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		unsigned long long ms, seq;
		if ((is_spool_name(de->d_name) || is_pending_name(de->d_name)) && sscanf(de->d_name, "%13llu-%8llu-", &ms, &seq) == 2 &&
		    seq >= sp->seq)
			sp->seq = seq + 1;
	}
	closedir(d);
	return sp;
}

void spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}

const char *spool_dir(const struct spool *sp)
{
	return sp->dir;
}

void spool_set_wake(struct spool *sp, void (*wake)(void *arg), void *arg)
{
	pthread_mutex_lock(&sp->lock);
	sp->wake = wake;
	sp->wake_arg = arg;
	pthread_mutex_unlock(&sp->lock);
}

static int path_of(const struct spool *sp, const char *id, char *path, size_t len)
{
	if (snprintf(path, len, "%s/%s.json", sp->dir, id) >= (int)len)
		return errno = ENAMETOOLONG, -1;
	return 0;
}

static int pending_path_of(const struct spool *sp, const char *id, char *path, size_t len)
{
	if (snprintf(path, len, "%s/%s" PENDING_SUFFIX, sp->dir, id) >= (int)len)
		return errno = ENAMETOOLONG, -1;
	return 0;
}

/* Write n as "<id>.json", or as "<id>.json.pending" when `pending`. */
static int write_entry_as(struct spool *sp, const struct notification *n, bool pending)
{
	char path[CFG_PATH_MAX + NOTIF_ID_MAX + 16];
	char *json;
	int rc;

	if ((pending ? pending_path_of : path_of)(sp, n->id, path, sizeof(path)) == -1)
		return -1;
	json = notification_to_json(n);
	if (json == NULL)
		return errno = ENOMEM, -1;
	rc = fs_write_atomic(path, json, strlen(json), 0600);
	free(json);
	return rc;
}

static int write_entry(struct spool *sp, const struct notification *n)
{
	return write_entry_as(sp, n, false);
}

int spool_stage(struct spool *sp, struct notification *n, double now)
{
	char rcv[CFG_NAME_MAX];
	unsigned long long seq;
	size_t i;

	/* The receiver name goes into a file name: keep it to a safe set. */
	for (i = 0; n->receiver[i] && i < sizeof(rcv) - 1; i++) {
		char c = n->receiver[i];
		rcv[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				 c == '-' || c == '_' || c == '.'
			     ? c
			     : '_';
	}
	rcv[i] = '\0';
	pthread_mutex_lock(&sp->lock);
	seq = sp->seq++;
	pthread_mutex_unlock(&sp->lock);
	snprintf(n->id, sizeof(n->id), "%013llu-%08llu-%s",
		 (unsigned long long)(now > 0 ? now * 1000.0 : 0), seq % 100000000ULL, rcv);
	if (n->created == 0)
		n->created = now;
	n->attempts = 0;
	n->next_attempt = now;
	return write_entry_as(sp, n, true);
}

int spool_commit(struct spool *sp, const char *id)
{
	char from[CFG_PATH_MAX + NOTIF_ID_MAX + 16], to[CFG_PATH_MAX + NOTIF_ID_MAX + 8];
	void (*wake)(void *);
	void *wake_arg;

	if (pending_path_of(sp, id, from, sizeof(from)) == -1 ||
	    path_of(sp, id, to, sizeof(to)) == -1)
		return -1;
	if (rename(from, to) == -1) {
		/* Committed before (a second call, or a crash after the
		 * rename and before the caller forgot the id): done. */
		if (errno == ENOENT && access(to, F_OK) == 0)
			return 0;
		return -1;
	}
	/* The new name must survive a crash before the notifier deletes it. */
	if (fs_fsync_dir(sp->dir) == -1)
		log_warn("spool: fsync %s", sp->dir);
	pthread_mutex_lock(&sp->lock);
	sp->n.spooled++;
	wake = sp->wake;
	wake_arg = sp->wake_arg;
	pthread_mutex_unlock(&sp->lock);
	if (wake)
		wake(wake_arg);
	return 0;
}

int spool_put(struct spool *sp, struct notification *n, double now)
{
	if (spool_stage(sp, n, now) == -1)
		return -1;
	return spool_commit(sp, n->id);
}

int spool_recover(struct spool *sp, bool (*committed)(const char *id, void *arg), void *arg)
{
	DIR *d = opendir(sp->dir);
	struct dirent *de;
	char id[NOTIF_ID_MAX], path[CFG_PATH_MAX + NOTIF_ID_MAX + 16];
	int n_committed = 0, n_dropped = 0, rc = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name) - strlen(PENDING_SUFFIX);
		if (!is_pending_name(de->d_name) || len >= sizeof(id))
			continue;
		memcpy(id, de->d_name, len);
		id[len] = '\0';
		if (committed(id, arg)) {
			/* The caller's state was saved after the stage:
			 * the crash fell before the rename. Finish it. */
			if (spool_commit(sp, id) == -1) {
				log_warn("spool: committing %s", id);
				rc = -1;
			} else {
				n_committed++;
			}
			continue;
		}
		/* Not recorded: the caller still holds what made it and
		 * will stage it again. Sending this copy would be twice. */
		if (pending_path_of(sp, id, path, sizeof(path)) == 0 && unlink(path) == -1 &&
		    errno != ENOENT) {
			log_warn("spool: removing %s", path);
			rc = -1;
		} else {
			n_dropped++;
		}
	}
	closedir(d);
	if (n_dropped > 0 && fs_fsync_dir(sp->dir) == -1)
		log_warn("spool: fsync %s", sp->dir);
	if (n_committed + n_dropped > 0)
		log_info("spool: after a crash, %d staged notifications committed, %d dropped "
			 "(to be spooled again)",
			 n_committed, n_dropped);
	return rc == -1 ? -1 : n_committed;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int spool_list(struct spool *sp, char ***ids, size_t *n)
{
	DIR *d = opendir(sp->dir);
	struct dirent *de;
	char **v = NULL;
	size_t cnt = 0;

	*ids = NULL;
	*n = 0;
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char **nv;
		if (!is_spool_name(de->d_name))
			continue;
		nv = reallocarray(v, cnt + 1, sizeof(*v));
		if (nv == NULL)
			goto nomem;
		v = nv;
		v[cnt] = strndup(de->d_name, strlen(de->d_name) - 5);
		if (v[cnt] == NULL)
			goto nomem;
		cnt++;
	}
	closedir(d);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*ids = v;
	*n = cnt;
	return 0;
nomem:
	closedir(d);
	spool_list_free(v, cnt);
	return errno = ENOMEM, -1;
}

void spool_list_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int spool_load(struct spool *sp, const char *id, struct notification *n)
{
	char path[CFG_PATH_MAX + NOTIF_ID_MAX + 8], aside[CFG_PATH_MAX + NOTIF_ID_MAX + 32];
	char err[128];
	char *text;
	size_t len;

	memset(n, 0, sizeof(*n));
	if (path_of(sp, id, path, sizeof(path)) == -1 || fs_read_all(path, &text, &len) == -1)
		return -1;
	if (notification_from_json(text, n, err, sizeof(err)) == -1) {
		free(text);
		/* Keep the bytes for a person to look at, out of the queue. */
		snprintf(aside, sizeof(aside), "%s/corrupt-%s.json", sp->dir, id);
		if (rename(path, aside) == -1)
			log_warn("spool: %s: corrupt (%s), and moving it aside failed", path, err);
		else
			log_warnx("spool: %s: corrupt (%s), moved to %s", path, err, aside);
		return errno = EBADMSG, -1;
	}
	free(text);
	snprintf(n->id, sizeof(n->id), "%s", id);
	return 0;
}

int spool_done(struct spool *sp, const struct notification *n)
{
	char path[CFG_PATH_MAX + NOTIF_ID_MAX + 8];

	if (path_of(sp, n->id, path, sizeof(path)) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	pthread_mutex_lock(&sp->lock);
	sp->n.sent++;
	if (n->attempts > 0)
		sp->n.retried++;
	pthread_mutex_unlock(&sp->lock);
	return 0;
}

double spool_backoff(const struct spool_opts *opts, int attempts)
{
	double initial = opts && opts->retry_initial_s > 0 ? opts->retry_initial_s : 30;
	double cap = opts && opts->retry_max_s > 0 ? opts->retry_max_s : 3600;
	double d = initial;

	for (int i = 1; i < attempts && d < cap; i++)
		d *= 2;
	return d < cap ? d : cap;
}

int spool_failed(struct spool *sp, struct notification *n, double now, const char *error)
{
	pthread_mutex_lock(&sp->lock);
	sp->n.failed++;
	if (n->attempts > 0)
		sp->n.retried++;
	pthread_mutex_unlock(&sp->lock);
	n->attempts++;
	n->next_attempt = now + spool_backoff(&sp->opts, n->attempts);
	snprintf(n->last_error, sizeof(n->last_error), "%s", error ? error : "");
	return write_entry(sp, n);
}

void spool_get_counters(struct spool *sp, struct spool_counters *out)
{
	pthread_mutex_lock(&sp->lock);
	*out = sp->n;
	pthread_mutex_unlock(&sp->lock);
}
