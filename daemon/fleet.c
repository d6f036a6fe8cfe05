/*
 * fleet.c: the pure part of the fleet (fleet.h): topic filter overlap,
 * the slice announcement and the status summary as JSON, the start's
 * overlap check. No I/O, no clock, no globals: unit-tested alone
 * (tests/unit/test_fleet.c).
 *
 * Everything parsed here comes from the broker, written by whoever may
 * publish under peers_topic: a payload is refused whole when it is too
 * large, not JSON, or holds a field of the wrong type, a name that is no
 * identifier or a string with control characters; nothing here trusts a
 * length it did not check.
 */
#include "daemon/fleet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"up", "down", "handed-over"};
/* enum dash_status's names, in its order (dashboards.h). */
static const char *const status_names[] = {"ok", "warning", "alarm", "stale", "maintenance"};

const char *fleet_state_name(enum fleet_state s)
{
	return (unsigned)s < 3 ? state_names[s] : "down";
}

int fleet_state_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

/* ---- topic filters ---- */

/* The level of f starting at *p: its start and length; *p moves past
 * the '/' (NULL after the last level). */
static const char *next_level(const char **p, size_t *len)
{
	const char *s = *p, *slash = strchr(s, '/');

	*len = slash ? (size_t)(slash - s) : strlen(s);
	*p = slash ? slash + 1 : NULL;
	return s;
}

static bool is_level(const char *l, size_t n, char c)
{
	return n == 1 && l[0] == c;
}

static bool is_wild(const char *l, size_t n)
{
	return is_level(l, n, '+') || is_level(l, n, '#');
}

/* What is left of a filter after its last matched level: a topic that
 * ends there matches it only when the rest is exactly "#". */
static bool rest_is_hash(const char *p)
{
	return p != NULL && strcmp(p, "#") == 0;
}

bool fleet_filters_overlap(const char *a, const char *b)
{
	const char *pa = a, *pb = b;
	bool first = true;

	/* Bounded: each pass consumes a level of both. */
	while (pa != NULL && pb != NULL) {
		size_t la, lb;
		const char *xa = next_level(&pa, &la), *xb = next_level(&pb, &lb);

		/* MQTT 4.7.2: a wildcard first level matches no $-topic. */
		if (first && ((is_wild(xa, la) && !is_wild(xb, lb) && lb > 0 && xb[0] == '$') ||
		              (is_wild(xb, lb) && !is_wild(xa, la) && la > 0 && xa[0] == '$')))
			return false;
		first = false;
		if (is_level(xa, la, '#') || is_level(xb, lb, '#'))
			return true;
		if (is_level(xa, la, '+') || is_level(xb, lb, '+'))
			continue;
		if (la != lb || memcmp(xa, xb, la) != 0)
			return false;
	}
	if (pa == NULL && pb == NULL)
		return true;
	/* One ended: the other's rest matches that topic only as "#". */
	return pa == NULL ? rest_is_hash(pb) : rest_is_hash(pa);
}

bool fleet_filter_covers(const char *outer, const char *inner)
{
	const char *po = outer, *pi = inner;
	bool first = true;

	while (po != NULL && pi != NULL) {
		size_t lo, li;
		const char *xo = next_level(&po, &lo), *xi = next_level(&pi, &li);

		if (first && is_wild(xo, lo) && !is_wild(xi, li) && li > 0 && xi[0] == '$')
			return false;
		first = false;
		if (is_level(xo, lo, '#'))
			return true;
		if (is_level(xi, li, '#'))
			return false; /* inner takes any rest; outer only one level or a name */
		if (is_level(xo, lo, '+'))
			continue;
		if (is_level(xi, li, '+') || lo != li || memcmp(xo, xi, lo) != 0)
			return false;
	}
	if (po == NULL && pi == NULL)
		return true;
	if (po != NULL) /* inner's topics end here: outer's rest must match the parent */
		return rest_is_hash(po);
	return false; /* inner goes on below outer's last level */
}

/* ---- JSON ---- */

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A string field into dst: absent is "", present must be a string that
 * fits and is printable. */
static int get_str(const cJSON *o, const char *key, char *dst, size_t size, char *err,
                   size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	dst[0] = '\0';
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= size || !printable(v->valuestring)) {
		snprintf(err, errlen, "\"%s\": expected a printable string of at most %zu bytes",
		         key, size - 1);
		return -1;
	}
	snprintf(dst, size, "%s", v->valuestring);
	return 0;
}

static double get_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0
	           ? v->valuedouble
	           : 0;
}

static cJSON *parse_object(const char *buf, size_t len, char *err, size_t errlen)
{
	cJSON *o;

	if (len > FLEET_PAYLOAD_MAX) {
		snprintf(err, errlen, "%zu bytes (at most %d)", len, FLEET_PAYLOAD_MAX);
		return NULL;
	}
	o = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(o)) {
		snprintf(err, errlen, "not a JSON object");
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *fleet_slice_json(const struct fleet_slice *s)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char *out = NULL;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "state", fleet_state_name(s->state));
	arr = cJSON_AddArrayToObject(o, "filters");
	for (size_t i = 0; arr && i < s->n_filters; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(s->filters[i]));
	cJSON_AddStringToObject(o, "client_id", s->client_id);
	cJSON_AddStringToObject(o, "host", s->host);
	cJSON_AddStringToObject(o, "url", s->url);
	cJSON_AddNumberToObject(o, "started", s->started);
	if (s->at > 0)
		cJSON_AddNumberToObject(o, "at", s->at);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

int fleet_slice_parse(const char *buf, size_t len, const char *topic_name, struct fleet_slice *out,
                      char *err, size_t errlen)
{
	cJSON *o = parse_object(buf, len, err, errlen);
	const cJSON *v, *f;
	int st, rc = -1;

	memset(out, 0, sizeof(*out));
	if (o == NULL)
		return -1;
	if (get_str(o, "name", out->name, sizeof(out->name), err, errlen) == -1)
		goto out;
	if (!ident_ok(out->name) || strcmp(out->name, topic_name) != 0) {
		snprintf(err, errlen, "\"name\": expected the identifier of its topic");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "state");
	if (!cJSON_IsString(v) || (st = fleet_state_parse(v->valuestring)) < 0) {
		snprintf(err, errlen, "\"state\": expected up, down or handed-over");
		goto out;
	}
	out->state = (enum fleet_state)st;
	if (get_str(o, "client_id", out->client_id, sizeof(out->client_id), err, errlen) == -1 ||
	    get_str(o, "host", out->host, sizeof(out->host), err, errlen) == -1 ||
	    get_str(o, "url", out->url, sizeof(out->url), err, errlen) == -1)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(o, "filters");
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > FLEET_FILTERS_MAX) {
		snprintf(err, errlen, "\"filters\": expected an array of at most %d topic filters",
		         FLEET_FILTERS_MAX);
		goto out;
	}
	cJSON_ArrayForEach(f, v)
	{
		if (!cJSON_IsString(f) || f->valuestring[0] == '\0' ||
		    strlen(f->valuestring) >= FLEET_FILTER_MAX || !printable(f->valuestring)) {
			snprintf(err, errlen, "\"filters\": a filter is not a printable string of "
			                      "1 to %d bytes", FLEET_FILTER_MAX - 1);
			goto out;
		}
		snprintf(out->filters[out->n_filters++], FLEET_FILTER_MAX, "%s", f->valuestring);
	}
	out->started = get_num(o, "started");
	out->at = get_num(o, "at");
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int fleet_conflict(const struct fleet_slice *self, const struct fleet_slice *peer, char *why,
                   size_t len)
{
	size_t n = 0;

	if (peer->state != FLEET_UP)
		return 0;
	if (strcmp(self->name, peer->name) == 0) {
		if (strcmp(self->client_id, peer->client_id) == 0 &&
		    strcmp(self->host, peer->host) == 0)
			return 0; /* this instance's own announcement from before */
		snprintf(why, len,
		         "instance \"%s\" (client_id %s on %s) is up and claims this slice's name",
		         peer->name, peer->client_id, peer->host);
		return 1;
	}
	why[0] = '\0';
	for (size_t i = 0; i < self->n_filters; i++)
		for (size_t j = 0; j < peer->n_filters; j++) {
			if (!fleet_filters_overlap(self->filters[i], peer->filters[j]))
				continue;
			if (n++ == 0)
				snprintf(why, len, "instance \"%s\" (client_id %s on %s) is up with an "
				                   "overlapping slice:",
				         peer->name, peer->client_id, peer->host);
			size_t w = strlen(why);
			if (w < len)
				snprintf(why + w, len - w, " %s overlaps %s;", self->filters[i],
				         peer->filters[j]);
		}
	if (n > 0 && strlen(why) > 0 && why[strlen(why) - 1] == ';')
		why[strlen(why) - 1] = '\0';
	return n > 0;
}

/* ---- the status summary ---- */

void fleet_summary_add(struct fleet_summary *s, const char *site, const char *name,
                       int dash_status)
{
	size_t i;

	if (dash_status < 0 || dash_status > 4)
		dash_status = 0;
	s->n_instruments++;
	s->by_status[dash_status]++;
	if (s->n_listed < FLEET_LISTED_MAX) {
		snprintf(s->listed[s->n_listed].site, ID_MAX, "%s", site);
		snprintf(s->listed[s->n_listed].name, ID_MAX, "%s", name);
		snprintf(s->listed[s->n_listed].status, sizeof(s->listed[0].status), "%s",
		         status_names[dash_status]);
		s->n_listed++;
	}
	for (i = 0; i < s->n_sites && strcmp(s->sites[i], site) != 0; i++)
		;
	if (i == s->n_sites && s->n_sites < FLEET_SITES_MAX)
		snprintf(s->sites[s->n_sites++], ID_MAX, "%s", site);
}

char *fleet_summary_json(const struct fleet_summary *s)
{
	cJSON *o = cJSON_CreateObject(), *x, *arr;
	char *out;

	if (o == NULL)
		return NULL;
	cJSON_AddNumberToObject(o, "at", s->at);
	x = cJSON_AddObjectToObject(o, "instruments");
	cJSON_AddNumberToObject(x, "total", s->n_instruments);
	for (int i = 0; i < 5; i++)
		cJSON_AddNumberToObject(x, status_names[i], s->by_status[i]);
	arr = cJSON_AddArrayToObject(x, "list");
	for (size_t i = 0; arr && i < s->n_listed; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "site", s->listed[i].site);
		cJSON_AddStringToObject(e, "name", s->listed[i].name);
		cJSON_AddStringToObject(e, "status", s->listed[i].status);
		cJSON_AddItemToArray(arr, e);
	}
	arr = cJSON_AddArrayToObject(o, "sites");
	for (size_t i = 0; arr && i < s->n_sites; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(s->sites[i]));
	x = cJSON_AddObjectToObject(o, "alerts");
	cJSON_AddNumberToObject(x, "critical", s->alerts_critical);
	cJSON_AddNumberToObject(x, "warning", s->alerts_warning);
	cJSON_AddNumberToObject(x, "info", s->alerts_info);
	x = cJSON_AddObjectToObject(o, "qc_today");
	cJSON_AddNumberToObject(x, "accepted", s->qc_accepted);
	cJSON_AddNumberToObject(x, "rejected", s->qc_rejected);
	x = cJSON_AddObjectToObject(o, "dues");
	cJSON_AddNumberToObject(x, "soon", s->dues_soon);
	cJSON_AddNumberToObject(x, "overdue", s->dues_overdue);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

/* A count: a number from 0 to 10^9, else 0 (a hostile peer's 1e300
 * does not become a huge unsigned). */
static unsigned get_count(const cJSON *o, const char *key)
{
	double v = get_num(o, key);

	return v <= 1e9 ? (unsigned)v : 0;
}

int fleet_summary_parse(const char *buf, size_t len, struct fleet_summary *out, char *err,
                        size_t errlen)
{
	cJSON *o = parse_object(buf, len, err, errlen);
	const cJSON *x, *arr, *e;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (o == NULL)
		return -1;
	out->at = get_num(o, "at");
	x = cJSON_GetObjectItemCaseSensitive(o, "instruments");
	if (!cJSON_IsObject(x)) {
		snprintf(err, errlen, "\"instruments\": expected an object");
		goto out;
	}
	out->n_instruments = get_count(x, "total");
	for (int i = 0; i < 5; i++)
		out->by_status[i] = get_count(x, status_names[i]);
	arr = cJSON_GetObjectItemCaseSensitive(x, "list");
	if (!cJSON_IsArray(arr))
		arr = NULL;
	cJSON_ArrayForEach(e, arr)
	{
		char site[ID_MAX], name[ID_MAX], status[16];

		if (out->n_listed >= FLEET_LISTED_MAX)
			break;
		if (!cJSON_IsObject(e) || get_str(e, "site", site, sizeof(site), err, errlen) ||
		    get_str(e, "name", name, sizeof(name), err, errlen) ||
		    get_str(e, "status", status, sizeof(status), err, errlen) || !ident_ok(site) ||
		    !ident_ok(name)) {
			snprintf(err, errlen, "\"instruments.list\": expected {site, name, status} "
			                      "identifiers");
			goto out;
		}
		snprintf(out->listed[out->n_listed].site, ID_MAX, "%s", site);
		snprintf(out->listed[out->n_listed].name, ID_MAX, "%s", name);
		snprintf(out->listed[out->n_listed].status, 16, "%s", status);
		out->n_listed++;
	}
	arr = cJSON_GetObjectItemCaseSensitive(o, "sites");
	if (!cJSON_IsArray(arr))
		arr = NULL;
	cJSON_ArrayForEach(e, arr)
	{
		if (out->n_sites >= FLEET_SITES_MAX)
			break;
		if (!cJSON_IsString(e) || !ident_ok(e->valuestring)) {
			snprintf(err, errlen, "\"sites\": expected identifiers");
			goto out;
		}
		snprintf(out->sites[out->n_sites++], ID_MAX, "%s", e->valuestring);
	}
	x = cJSON_GetObjectItemCaseSensitive(o, "alerts");
	out->alerts_critical = get_count(x, "critical");
	out->alerts_warning = get_count(x, "warning");
	out->alerts_info = get_count(x, "info");
	x = cJSON_GetObjectItemCaseSensitive(o, "qc_today");
	out->qc_accepted = get_count(x, "accepted");
	out->qc_rejected = get_count(x, "rejected");
	x = cJSON_GetObjectItemCaseSensitive(o, "dues");
	out->dues_soon = get_count(x, "soon");
	out->dues_overdue = get_count(x, "overdue");
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}
