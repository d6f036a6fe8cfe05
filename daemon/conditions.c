/*
 * conditions.c: from what rules say to alert transitions.
 *
 * Every rule reports a condition for its key (ok, pending, firing with a
 * severity). This file remembers the last condition of every alert key,
 * and when it changes makes the transition: an `alert` record in the
 * audit log, and for firing and its end an event for the alert engine.
 * The caller then makes the transition durable (audit fsync +
 * alerts.json) before the next input.
 *
 * The states (DESIGN section 5): pending (inside its delay) -> firing ->
 * resolved, or pending -> cleared when it ends inside its delay. A
 * cleared excursion is recorded once, with its peak and how long it
 * lasted (the lab still sees the short door opening), and is never
 * notified: the engine hears only of firing and of the end of a firing.
 * `resolved` follows `firing` only.
 *
 * Planned maintenance: while an instrument is in maintenance its
 * equipment keys make no transitions (their remembered condition is left
 * as it was, so what is still wrong when maintenance ends fires then) and
 * alerts already firing are silenced in the engine; QC keys are never
 * affected.
 */
#include "daemon/labqcd.h"
#include "daemon/alert_chart.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct cond_entry {
	char key[ALERT_KEY_MAX];
	enum cond_state state;
	enum severity severity;
	double since; /* the condition's own start (the sample's clock) */
	double peak;  /* furthest value while pending (NAN: none known) */
	UT_hash_handle hh;
};

/* The record's state for a change from `was` to `now`. */
static const char *cond_name(enum cond_state was, enum cond_state now)
{
	if (now == COND_OK)
		return was == COND_FIRING ? "resolved" : "cleared";
	return now == COND_PENDING ? "pending" : "firing";
}

/* While pending or firing, keep the excursion's furthest value for the
 * records of its end (cleared, resolved; the dashboard's alert history
 * shows it): the rule's own peak when it tracks one (range), else the
 * first value. */
static void track_peak(struct cond_entry *e, const struct condition *c)
{
	if (c->state == COND_OK)
		return;
	if (isfinite(c->peak))
		e->peak = c->peak;
	else if (!isfinite(e->peak))
		e->peak = c->value;
}

static struct cond_entry *entry_get(struct labqcd *d, const char *key, bool create)
{
	struct cond_entry *e;

	HASH_FIND_STR(d->conds, key, e);
	if (e || !create)
		return e;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	snprintf(e->key, sizeof(e->key), "%s", key);
	HASH_ADD_STR(d->conds, key, e);
	return e;
}

void condition_summary(struct condition *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->summary, sizeof(c->summary), fmt, ap); /* truncation is fine */
	va_end(ap);
}

bool conditions_firing(struct labqcd *d, const char *key)
{
	struct cond_entry *e = entry_get(d, key, false);
	return e && e->state == COND_FIRING;
}

int conditions_report(struct labqcd *d, const struct cond_key *k, const struct condition *c,
		      double t, uint64_t seq)
{
	char key[ALERT_KEY_MAX];
	struct cond_entry *e;
	enum cond_state was;
	enum severity was_sev;

	if (k->key)
		snprintf(key, sizeof(key), "%s", k->key);
	else
		snprintf(key, sizeof(key), "%s/%s/%s/%s", k->site, k->instrument, k->channel,
			 k->rule);
	e = entry_get(d, key, c->state != COND_OK);
	if (e == NULL)
		return 0; /* ok, and never reported: nothing to do */
	if (k->hold)
		return 0;
	was = e->state;
	was_sev = e->severity;
	if (was == COND_OK)
		e->peak = NAN;
	track_peak(e, c);
	if (was == c->state && (c->state != COND_FIRING || was_sev == c->severity))
		return 0;
	if (was == COND_OK && c->state == COND_OK)
		return 0;
	e->state = c->state;
	e->severity = c->severity;
	if (was == COND_OK)
		e->since = isfinite(c->since) && c->since > 0 ? c->since : t;

	/* The record. OK after pending is an excursion that ended inside its
	 * delay: "cleared", with its peak and duration, so every pending has
	 * its end in the record and nothing looks resolved that never fired. */
	cJSON *rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "alert");
	cJSON_AddStringToObject(rec, "key", key);
	cJSON_AddStringToObject(rec, "state", cond_name(was, c->state));
	cJSON_AddStringToObject(rec, "severity",
				severity_name(c->state == COND_OK ? was_sev : c->severity));
	if (isfinite(c->value))
		cJSON_AddNumberToObject(rec, "value", c->value);
	if (c->state == COND_OK && was == COND_PENDING) {
		if (isfinite(e->peak))
			cJSON_AddNumberToObject(rec, "peak", e->peak);
		cJSON_AddNumberToObject(rec, "since", e->since);
		cJSON_AddNumberToObject(rec, "duration_s", t - e->since > 0 ? t - e->since : 0);
	} else if (c->state == COND_OK && isfinite(e->peak)) {
		cJSON_AddNumberToObject(rec, "peak", e->peak); /* resolved */
	}
	if (c->summary[0])
		cJSON_AddStringToObject(rec, "summary", c->summary);
	audit_write(d->audit, t, seq, rec);
	d->transitions_pending = true;

	/* The engine hears of firing and of the end of a firing; a pending
	 * that never fired is the record's business only. */
	if (d->alerts && (c->state == COND_FIRING || was == COND_FIRING)) {
		struct alert_event ev;
		memset(&ev, 0, sizeof(ev));
		snprintf(ev.key, sizeof(ev.key), "%s", key);
		ev.kind = k->kind;
		snprintf(ev.site, sizeof(ev.site), "%s", k->site);
		snprintf(ev.instrument, sizeof(ev.instrument), "%s", k->instrument);
		snprintf(ev.channel, sizeof(ev.channel), "%s", k->channel);
		snprintf(ev.rule, sizeof(ev.rule), "%s", k->rule);
		ev.state = c->state == COND_FIRING ? ALERT_FIRING : ALERT_RESOLVED;
		ev.severity = c->state == COND_FIRING ? c->severity : was_sev;
		ev.value = c->value;
		ev.since = e->since; /* when the excursion began, not when it fired */
		snprintf(ev.summary, sizeof(ev.summary), "%s", c->summary);
		/* The engine schedules group_wait, repeats and escalation
		 * on the daemon's clock: a device whose clock runs ahead
		 * must not hold its alarm back. */
		ev.t = d->clock > 0 ? d->clock : t;
		/* The alert's own chart: what it needs is captured now, and
		 * drawn when its email is built (alert_chart.h). */
		if (k->chart && d->spool)
			alert_chart_capture(d, k, c, t, ev.chart, sizeof(ev.chart));
		else if (k->chart)
			snprintf(ev.chart, sizeof(ev.chart), "%s", k->chart);
		alerts_transition(d->alerts, &ev);
	}
	if (c->state == COND_OK) {
		HASH_DEL(d->conds, e);
		free(e);
	}
	return 1;
}

/* Maintenance start/end: silence (or unsilence) the instrument's firing
 * equipment alerts in the engine, so they stay firing without repeats. */
void conditions_maintenance(struct labqcd *d, const char *site, const char *instrument, bool on,
			    double t)
{
	struct cond_entry *e, *tmp;
	char prefix[ALERT_KEY_MAX];
	size_t plen;

	if (d->alerts == NULL)
		return;
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s/%s/", site, instrument);
	HASH_ITER(hh, d->conds, e, tmp)
	{
		size_t klen = strlen(e->key);
		if (strncmp(e->key, prefix, plen) != 0 || e->state != COND_FIRING)
			continue;
		if (klen > 3 && strcmp(e->key + klen - 3, "/qc") == 0)
			continue; /* QC is never silenced by maintenance */
		alerts_silence(d->alerts, e->key, on ? 365.0 * 86400 : 0, "maintenance", t);
	}
	d->transitions_pending = true;
}

cJSON *conditions_to_json(struct labqcd *d)
{
	cJSON *arr = cJSON_CreateArray();
	struct cond_entry *e, *tmp;

	HASH_ITER(hh, d->conds, e, tmp)
	{
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "key", e->key);
		cJSON_AddNumberToObject(o, "state", e->state);
		cJSON_AddNumberToObject(o, "severity", e->severity);
		cJSON_AddNumberToObject(o, "since", e->since);
		if (isfinite(e->peak))
			cJSON_AddNumberToObject(o, "peak", e->peak);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int conditions_from_json(struct labqcd *d, const cJSON *arr)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, arr)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "state");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "severity");
		const cJSON *since = cJSON_GetObjectItemCaseSensitive(o, "since");
		const cJSON *peak = cJSON_GetObjectItemCaseSensitive(o, "peak"); /* added later */
		if (!cJSON_IsString(k) || !cJSON_IsNumber(s) || !cJSON_IsNumber(v) ||
		    s->valueint < COND_OK || s->valueint > COND_FIRING || v->valueint < SEV_NONE ||
		    v->valueint > SEV_CRITICAL)
			return -1;
		struct cond_entry *e = entry_get(d, k->valuestring, true);
		if (e == NULL)
			return -1;
		e->state = (enum cond_state)s->valueint;
		e->severity = (enum severity)v->valueint;
		e->since = cJSON_IsNumber(since) ? since->valuedouble : 0;
		e->peak = cJSON_IsNumber(peak) ? peak->valuedouble : NAN;
	}
	return 0;
}

void conditions_free(struct labqcd *d)
{
	struct cond_entry *e, *tmp;

	HASH_ITER(hh, d->conds, e, tmp)
	{
		HASH_DEL(d->conds, e);
		free(e);
	}
}
