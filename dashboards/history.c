/*
 * history.c: the alert history the dashboard shows (history.html, the
 * shaded periods of the full-size graphs), read from the audit log.
 *
 * Why the audit log and not a ring kept by the main thread: the log is
 * already the durable record of every transition and acknowledgement,
 * so the history survives a restart and `labqcd --render` draws it with
 * no state of its own, and the main thread does no work for it at all.
 * The renderer (idle priority) reads it incrementally: it remembers the
 * file's inode and how far it has read, and each render reads only the
 * whole lines appended since (a line still being written waits for the
 * next render). A file that was replaced or cut is read again from the
 * start. Lines are pre-filtered by a substring before cJSON parses them,
 * so a month of QC records costs little even on the first read.
 *
 * Episodes: an `alert` record with state pending (or firing when there
 * was no pending) opens an episode for its key; resolved and cleared
 * close it; acknowledged attaches to the open one (or, a critical alert
 * being acknowledged after it resolved, the key's last one). `event`
 * records maintenance_start and maintenance_end make maintenance
 * periods. What ended more than DASH_HISTORY_S ago is forgotten, and at
 * most HISTORY_MAX episodes are kept (the oldest go first), so memory
 * stays bounded whatever the log holds.
 *
 * Threads: a history belongs to the renderer's struct dash.
 */
#include "dashboards/dash_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uthash.h>

#define HISTORY_MAX 20000 /* episodes; and as many maintenance periods */
#define CHUNK (1u << 20)

struct open_ep {
	char *key;
	size_t idx_plus1; /* 1 + index of the key's last episode in h->ep; 0: none */
	UT_hash_handle hh;
};

struct dash_history {
	char *path;
	ino_t ino;
	off_t offset;
	struct dash_episode *ep;
	size_t n_ep, cap_ep;
	struct dash_maint *mt;
	size_t n_mt, cap_mt;
	struct open_ep *last; /* key -> its last episode */
	struct open_ep *maint_open; /* site/instrument -> its open maintenance */
};

struct dash_history *history_new(const char *path)
{
	struct dash_history *h = calloc(1, sizeof(*h));

	if (h && path && (h->path = strdup(path)) == NULL) {
		free(h);
		return NULL;
	}
	return h;
}

static void free_map(struct open_ep **map)
{
	struct open_ep *o, *tmp;

	HASH_ITER(hh, *map, o, tmp)
	{
		HASH_DEL(*map, o);
		free(o->key);
		free(o);
	}
}

static void free_episode(struct dash_episode *e)
{
	free(e->key);
	free(e->ack_by);
	free(e->ack_comment);
	free(e->summary);
}

static void clear(struct dash_history *h)
{
	for (size_t i = 0; i < h->n_ep; i++)
		free_episode(&h->ep[i]);
	for (size_t i = 0; i < h->n_mt; i++)
		free(h->mt[i].key);
	h->n_ep = h->n_mt = 0;
	free_map(&h->last);
	free_map(&h->maint_open);
	h->offset = 0;
}

void history_free(struct dash_history *h)
{
	if (h == NULL)
		return;
	clear(h);
	free(h->ep);
	free(h->mt);
	free(h->path);
	free(h);
}

const struct dash_episode *history_episodes(const struct dash_history *h, size_t *n)
{
	*n = h ? h->n_ep : 0;
	return h ? h->ep : NULL;
}

const struct dash_maint *history_maint(const struct dash_history *h, size_t *n)
{
	*n = h ? h->n_mt : 0;
	return h ? h->mt : NULL;
}

/* The map's entry for key, created if asked. */
static struct open_ep *map_get(struct open_ep **map, const char *key, bool create)
{
	struct open_ep *o;

	HASH_FIND_STR(*map, key, o);
	if (o || !create)
		return o;
	if ((o = calloc(1, sizeof(*o))) == NULL || (o->key = strdup(key)) == NULL) {
		free(o);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, *map, o->key, strlen(o->key), o);
	return o;
}

/* Forget what ended before `horizon`, and the oldest beyond the caps;
 * then point the maps at the new indexes. */
static void prune(struct dash_history *h, double horizon)
{
	size_t w = 0, excess = h->n_ep > HISTORY_MAX ? h->n_ep - HISTORY_MAX : 0;

	for (size_t i = 0; i < h->n_ep; i++) {
		struct dash_episode *e = &h->ep[i];
		bool old = !isnan(e->end) && e->end < horizon;

		if (old || excess) {
			if (excess && !old)
				excess--;
			free_episode(e);
			continue;
		}
		h->ep[w++] = *e;
	}
	h->n_ep = w;
	free_map(&h->last);
	for (size_t i = 0; i < h->n_ep; i++) {
		struct open_ep *o = map_get(&h->last, h->ep[i].key, true);
		if (o)
			o->idx_plus1 = i + 1;
	}
	w = 0;
	excess = h->n_mt > HISTORY_MAX ? h->n_mt - HISTORY_MAX : 0;
	for (size_t i = 0; i < h->n_mt; i++) {
		bool old = !isnan(h->mt[i].end) && h->mt[i].end < horizon;

		if (old || excess) {
			if (excess && !old)
				excess--;
			free(h->mt[i].key);
			continue;
		}
		h->mt[w++] = h->mt[i];
	}
	h->n_mt = w;
	free_map(&h->maint_open);
	for (size_t i = 0; i < h->n_mt; i++) {
		if (!isnan(h->mt[i].end))
			continue;
		struct open_ep *o = map_get(&h->maint_open, h->mt[i].key, true);
		if (o)
			o->idx_plus1 = i + 1;
	}
}

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static enum severity severity_of(const char *s)
{
	if (s == NULL)
		return SEV_NONE;
	if (strcmp(s, "critical") == 0)
		return SEV_CRITICAL;
	if (strcmp(s, "warning") == 0)
		return SEV_WARNING;
	if (strcmp(s, "info") == 0)
		return SEV_INFO;
	return SEV_NONE;
}

static int replace_str(char **dst, const char *s)
{
	char *c = strdup(s ? s : "");

	if (c == NULL)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

static struct dash_episode *open_episode(struct dash_history *h, const char *key, double t)
{
	const char *slash = strchr(key, '/');
	struct open_ep *o;
	struct dash_episode *e;

	if (slash == NULL || (slash = strchr(slash + 1, '/')) == NULL)
		return NULL; /* not site/instrument/...: not ours to show */
	if (h->n_ep == h->cap_ep) {
		size_t ncap = h->cap_ep ? h->cap_ep * 2 : 64;
		struct dash_episode *p = reallocarray(h->ep, ncap, sizeof(*p));
		if (p == NULL)
			return NULL;
		h->ep = p;
		h->cap_ep = ncap;
	}
	if ((o = map_get(&h->last, key, true)) == NULL)
		return NULL;
	e = &h->ep[h->n_ep];
	memset(e, 0, sizeof(*e));
	if ((e->key = strdup(key)) == NULL)
		return NULL;
	e->inst_len = (size_t)(slash - key);
	e->start = t;
	e->fired = e->end = e->peak = e->ack_time = NAN;
	o->idx_plus1 = ++h->n_ep;
	return e;
}

static void note_value(struct dash_episode *e, const cJSON *rec)
{
	double peak = num_of(rec, "peak");

	if (isfinite(peak))
		e->peak = peak; /* the rule's own furthest value */
	else if (isnan(e->peak))
		e->peak = num_of(rec, "value");
}

static void on_alert(struct dash_history *h, const cJSON *rec, double t)
{
	const char *key = str_of(rec, "key"), *state = str_of(rec, "state");
	struct open_ep *o;
	struct dash_episode *e = NULL;

	if (key == NULL || state == NULL)
		return;
	o = map_get(&h->last, key, false);
	if (o && o->idx_plus1)
		e = &h->ep[o->idx_plus1 - 1];
	bool open = e && isnan(e->end);

	if (strcmp(state, "acknowledged") == 0) {
		if (e == NULL)
			return;
		replace_str(&e->ack_by, str_of(rec, "by"));
		replace_str(&e->ack_comment, str_of(rec, "comment"));
		e->ack_time = t;
		return;
	}
	if (strcmp(state, "pending") == 0 || strcmp(state, "firing") == 0) {
		if (!open && (e = open_episode(h, key, t)) == NULL)
			return;
		enum severity sev = severity_of(str_of(rec, "severity"));
		if (sev > e->severity)
			e->severity = sev;
		if (strcmp(state, "firing") == 0 && isnan(e->fired))
			e->fired = t;
		note_value(e, rec);
		if (str_of(rec, "summary"))
			replace_str(&e->summary, str_of(rec, "summary"));
		return;
	}
	if (strcmp(state, "resolved") != 0 && strcmp(state, "cleared") != 0)
		return;
	if (!open) {
		/* Its start is older than what was read (a log begun
		 * mid-excursion): the record's own "since" if it has one. */
		double since = num_of(rec, "since");
		if ((e = open_episode(h, key, isfinite(since) ? since : t)) == NULL)
			return;
		e->severity = severity_of(str_of(rec, "severity"));
		if (str_of(rec, "summary"))
			replace_str(&e->summary, str_of(rec, "summary"));
	}
	e->end = t;
	e->cleared = strcmp(state, "cleared") == 0;
	if (e->cleared) {
		double since = num_of(rec, "since");
		if (isfinite(since) && since < e->start)
			e->start = since;
	}
	if (isfinite(num_of(rec, "peak")))
		e->peak = num_of(rec, "peak");
}

static void on_event(struct dash_history *h, const cJSON *rec, double t)
{
	const char *key = str_of(rec, "key"), *ev = str_of(rec, "event");
	struct open_ep *o;

	if (key == NULL || ev == NULL)
		return;
	o = map_get(&h->maint_open, key, false);
	if (strcmp(ev, "maintenance_end") == 0) {
		if (o && o->idx_plus1) {
			h->mt[o->idx_plus1 - 1].end = t;
			o->idx_plus1 = 0;
		}
		return;
	}
	if (strcmp(ev, "maintenance_start") != 0 || (o && o->idx_plus1))
		return;
	if (h->n_mt == h->cap_mt) {
		size_t ncap = h->cap_mt ? h->cap_mt * 2 : 16;
		struct dash_maint *p = reallocarray(h->mt, ncap, sizeof(*p));
		if (p == NULL)
			return;
		h->mt = p;
		h->cap_mt = ncap;
	}
	if ((o = map_get(&h->maint_open, key, true)) == NULL ||
	    (h->mt[h->n_mt].key = strdup(key)) == NULL)
		return;
	h->mt[h->n_mt].start = t;
	h->mt[h->n_mt].end = NAN;
	o->idx_plus1 = ++h->n_mt;
}

static void on_line(struct dash_history *h, const char *line, size_t len)
{
	bool alert = memmem(line, len, "\"type\":\"alert\"", 14) != NULL;
	bool maint = !alert && memmem(line, len, "\"maintenance_", 13) != NULL;
	double t;

	if (!alert && !maint)
		return; /* most lines: QC results, targets, drops */
	cJSON *rec = cJSON_ParseWithLength(line, len);
	const char *ts = str_of(rec, "ts"), *type = str_of(rec, "type");

	if (ts && type && rfc3339_parse(ts, strlen(ts), &t) == 0) {
		if (strcmp(type, "alert") == 0)
			on_alert(h, rec, t);
		else if (strcmp(type, "event") == 0)
			on_event(h, rec, t);
	}
	cJSON_Delete(rec);
}

int history_update(struct dash_history *h, double now, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	char *buf;
	size_t have = 0;
	int rc = 0;

	if (h->path == NULL)
		return 0;
	if (stat(h->path, &st) == -1) {
		if (errno == ENOENT) {
			clear(h); /* no log (yet): no history */
			return 0;
		}
		snprintf(err, errlen, "%s: %s", h->path, strerror(errno));
		return -1;
	}
	if (st.st_ino != h->ino || st.st_size < h->offset) {
		clear(h); /* a new file, or cut: from the start */
		h->ino = st.st_ino;
	}
	if (st.st_size == h->offset)
		goto done;
	if ((f = fopen(h->path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", h->path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(CHUNK)) == NULL || fseeko(f, h->offset, SEEK_SET) == -1) {
		snprintf(err, errlen, "%s: %s", h->path, strerror(buf ? errno : ENOMEM));
		free(buf);
		fclose(f);
		return -1;
	}
	for (;;) {
		size_t got = fread(buf + have, 1, CHUNK - have, f), start = 0;

		if (got == 0)
			break;
		have += got;
		for (size_t i = 0; i < have; i++) {
			if (buf[i] != '\n')
				continue;
			on_line(h, buf + start, i - start);
			start = i + 1;
		}
		h->offset += (off_t)start;
		if (start == 0 && have == CHUNK) {
			/* A line of a megabyte is none of ours: skip it. */
			snprintf(err, errlen, "%s: a line longer than %u bytes skipped", h->path,
			         CHUNK);
			rc = -1;
			h->offset += (off_t)have;
			have = 0;
			continue;
		}
		memmove(buf, buf + start, have - start);
		have -= start; /* a line not yet whole: read again next time */
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read: %s", h->path, strerror(errno));
		rc = -1;
	}
	free(buf);
	fclose(f);
done:
	prune(h, now - DASH_HISTORY_S);
	return rc;
}
