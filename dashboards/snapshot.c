/*
 * snapshot.c: building and freeing struct dash_snapshot.
 *
 * The snapshot is plain data the daemon fills on its own thread and hands
 * to the dashboard thread: every string is a private copy, every array is
 * owned by its parent, dash_snapshot_free() frees the whole tree.
 */
#include "dashboards/dash_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* Grow *arr (of *n elements of size sz) by one zeroed element and return
 * it. The capacity stays implicit: the next power of two >= n, so the
 * array is reallocated (doubled) exactly when n is 0 or a power of two. */
static void *grow(void *arr_ptr, size_t *n, size_t sz)
{
	void **arr = arr_ptr;
	char *p;

	if ((*n & (*n - 1)) == 0) {
		size_t ncap = *n ? *n * 2 : 1;

		p = reallocarray(*arr, ncap, sz);
		if (p == NULL)
			return NULL;
		*arr = p;
	}
	p = (char *)*arr + *n * sz;
	memset(p, 0, sz);
	(*n)++;
	return p;
}

struct dash_snapshot *dash_snapshot_new(double generated_at)
{
	struct dash_snapshot *s = calloc(1, sizeof(*s));

	if (s)
		s->generated_at = generated_at;
	return s;
}

static void free_level(struct dash_qc_level *l)
{
	for (size_t i = 0; i < l->n_results; i++) {
		free(l->results[i].run);
		free(l->results[i].lot);
		free(l->results[i].rules);
	}
	free(l->results);
	for (size_t i = 0; i < l->n_changes; i++)
		free(l->changes[i].label);
	free(l->changes);
	for (size_t i = 0; i < l->n_stats; i++)
		free(l->stats[i].lot);
	free(l->stats);
	free(l->name);
}

static void free_instrument(struct dash_instrument *in)
{
	for (size_t i = 0; i < in->n_channels; i++) {
		free(in->channels[i].name);
		free(in->channels[i].unit);
		free(in->channels[i].rrd_relpath);
	}
	free(in->channels);
	for (size_t i = 0; i < in->n_alerts; i++) {
		free(in->alerts[i].key);
		free(in->alerts[i].state);
		free(in->alerts[i].summary);
		free(in->alerts[i].ack_by);
		free(in->alerts[i].ack_comment);
	}
	free(in->alerts);
	for (size_t i = 0; i < in->n_analytes; i++) {
		for (size_t j = 0; j < in->analytes[i].n_levels; j++)
			free_level(&in->analytes[i].levels[j]);
		free(in->analytes[i].levels);
		for (size_t j = 0; j < in->analytes[i].n_runs; j++) {
			struct dash_qc_run *r = &in->analytes[i].runs[j];
			free(r->id);
			free(r->status);
			free(r->note);
			free(r->disposition);
		}
		free(in->analytes[i].runs);
		free(in->analytes[i].name);
	}
	free(in->analytes);
	for (size_t i = 0; i < in->n_dues; i++)
		free(in->dues[i].name);
	free(in->dues);
	for (size_t i = 0; i < in->n_events; i++)
		free(in->events[i].text);
	free(in->events);
	free(in->site);
	free(in->name);
	free(in->location);
}

void dash_snapshot_free(struct dash_snapshot *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_instruments; i++)
		free_instrument(&s->instruments[i]);
	free(s->instruments);
	for (size_t i = 0; i < s->n_fleet; i++) {
		struct dash_fleet_member *m = &s->fleet[i];
		free(m->name);
		free(m->state);
		free(m->url);
		free(m->slice);
		free(m->sites);
	}
	free(s->fleet);
	free(s);
}

/* Strings of a new element are copied first, so a failed copy leaves the
 * parent's array unchanged (the element is dropped again). */

struct dash_instrument *dash_snap_add_instrument(struct dash_snapshot *s, const char *site,
                                                 const char *name, const char *location,
                                                 enum dash_status status)
{
	struct dash_instrument *in = grow(&s->instruments, &s->n_instruments, sizeof(*in));

	if (in == NULL)
		return NULL;
	in->site = dup_or_empty(site);
	in->name = dup_or_empty(name);
	in->location = dup_or_empty(location);
	in->status = status;
	if (!in->site || !in->name || !in->location) {
		free_instrument(in);
		s->n_instruments--;
		return errno = ENOMEM, NULL;
	}
	return in;
}

struct dash_channel *dash_snap_add_channel(struct dash_instrument *in, const char *name,
                                           const char *unit, const char *rrd_relpath)
{
	struct dash_channel *c = grow(&in->channels, &in->n_channels, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->name = dup_or_empty(name);
	c->unit = dup_or_empty(unit);
	c->rrd_relpath = dup_or_empty(rrd_relpath);
	c->min = c->max = c->warning_min = c->warning_max = NAN;
	c->last_value = c->last_time = NAN;
	if (!c->name || !c->unit || !c->rrd_relpath) {
		free(c->name);
		free(c->unit);
		free(c->rrd_relpath);
		in->n_channels--;
		return errno = ENOMEM, NULL;
	}
	return c;
}

struct dash_alert *dash_snap_add_alert(struct dash_instrument *in, const char *key,
                                       enum severity sev, const char *state, double since,
                                       const char *summary, const char *ack_by,
                                       const char *ack_comment)
{
	struct dash_alert *a = grow(&in->alerts, &in->n_alerts, sizeof(*a));
	bool ok;

	if (a == NULL)
		return NULL;
	a->key = dup_or_empty(key);
	a->severity = sev;
	a->state = dup_or_empty(state);
	a->since = since;
	a->summary = dup_or_empty(summary);
	a->ack_by = ack_by ? strdup(ack_by) : NULL;
	a->ack_comment = dup_or_empty(ack_comment);
	a->ack_time = NAN;
	ok = a->key && a->state && a->summary && a->ack_comment && (ack_by == NULL || a->ack_by);
	if (!ok) {
		free(a->key);
		free(a->state);
		free(a->summary);
		free(a->ack_by);
		free(a->ack_comment);
		in->n_alerts--;
		return errno = ENOMEM, NULL;
	}
	return a;
}

struct dash_qc_analyte *dash_snap_add_analyte(struct dash_instrument *in, const char *name,
                                              enum dash_qc_status today)
{
	struct dash_qc_analyte *a = grow(&in->analytes, &in->n_analytes, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->name = dup_or_empty(name);
	a->today = today;
	if (a->name == NULL) {
		in->n_analytes--;
		return errno = ENOMEM, NULL;
	}
	return a;
}

struct dash_qc_level *dash_snap_add_level(struct dash_qc_analyte *a, const char *name, double mean,
                                          double sd)
{
	struct dash_qc_level *l = grow(&a->levels, &a->n_levels, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->name = dup_or_empty(name);
	l->mean = mean;
	l->sd = sd;
	if (l->name == NULL) {
		a->n_levels--;
		return errno = ENOMEM, NULL;
	}
	return l;
}

struct dash_qc_result *dash_snap_add_result(struct dash_qc_level *l, double t, double value,
                                            double z, enum dash_qc_status status, const char *run,
                                            const char *lot, const char *rules)
{
	struct dash_qc_result *r = grow(&l->results, &l->n_results, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->t = t;
	r->value = value;
	r->z = z;
	r->status = status;
	r->run = dup_or_empty(run);
	r->lot = dup_or_empty(lot);
	r->rules = dup_or_empty(rules);
	if (!r->run || !r->lot || !r->rules) {
		free(r->run);
		free(r->lot);
		free(r->rules);
		l->n_results--;
		return errno = ENOMEM, NULL;
	}
	return r;
}

struct dash_qc_stat *dash_snap_add_stat(struct dash_qc_level *l, const char *lot,
                                        const double v[DASH_STAT_ROWS][4])
{
	struct dash_qc_stat *st = grow(&l->stats, &l->n_stats, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->lot = dup_or_empty(lot);
	memcpy(st->v, v, sizeof(st->v));
	if (st->lot == NULL) {
		l->n_stats--;
		return errno = ENOMEM, NULL;
	}
	return st;
}

struct dash_qc_run *dash_snap_add_run(struct dash_qc_analyte *a, double t, const char *id,
                                      const char *status, const char *note,
                                      const char *disposition)
{
	struct dash_qc_run *r = grow(&a->runs, &a->n_runs, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->t = t;
	r->id = dup_or_empty(id);
	r->status = dup_or_empty(status);
	r->note = dup_or_empty(note);
	r->disposition = dup_or_empty(disposition);
	if (!r->id || !r->status || !r->note || !r->disposition) {
		free(r->id);
		free(r->status);
		free(r->note);
		free(r->disposition);
		a->n_runs--;
		return errno = ENOMEM, NULL;
	}
	return r;
}

struct dash_change *dash_snap_add_change(struct dash_qc_level *l, double t,
                                         enum dash_change_kind kind, const char *label)
{
	struct dash_change *c = grow(&l->changes, &l->n_changes, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->t = t;
	c->kind = kind;
	c->label = dup_or_empty(label);
	if (c->label == NULL) {
		l->n_changes--;
		return errno = ENOMEM, NULL;
	}
	return c;
}

struct dash_due *dash_snap_add_due(struct dash_instrument *in, const char *name, double due)
{
	struct dash_due *d = grow(&in->dues, &in->n_dues, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->name = dup_or_empty(name);
	d->due = due;
	if (d->name == NULL) {
		in->n_dues--;
		return errno = ENOMEM, NULL;
	}
	return d;
}

struct dash_event *dash_snap_add_event(struct dash_instrument *in, double t, const char *text)
{
	struct dash_event *e = grow(&in->events, &in->n_events, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->t = t;
	e->text = dup_or_empty(text);
	if (e->text == NULL) {
		in->n_events--;
		return errno = ENOMEM, NULL;
	}
	return e;
}

const char *dash_status_name(enum dash_status st)
{
	switch (st) {
	case DASH_OK:
		return "ok";
	case DASH_WARNING:
		return "warning";
	case DASH_ALARM:
		return "alarm";
	case DASH_STALE:
		return "stale";
	case DASH_MAINTENANCE:
		return "maintenance";
	}
	return "unknown";
}

const char *dash_qc_status_name(enum dash_qc_status st)
{
	switch (st) {
	case DASH_QC_NONE:
		return "none";
	case DASH_QC_ACCEPT:
		return "accept";
	case DASH_QC_WARNING:
		return "warning";
	case DASH_QC_REJECT:
		return "reject";
	case DASH_QC_BASELINE:
		return "baseline";
	}
	return "unknown";
}

size_t dash_qc_window(const struct dash_qc_level *l, double now, size_t *first)
{
	size_t start = l->n_results;

	while (start > 0 && l->n_results - start < DASH_LJ_MAX_POINTS &&
	       !(l->results[start - 1].t < now - DASH_LJ_MAX_AGE_S))
		start--;
	*first = start;
	return l->n_results - start;
}

struct dash_fleet_member *dash_snap_add_fleet(struct dash_snapshot *s, const char *name,
                                              const char *state, const char *url,
                                              const char *slice, const char *sites)
{
	struct dash_fleet_member *m = grow(&s->fleet, &s->n_fleet, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->name = dup_or_empty(name);
	m->state = dup_or_empty(state);
	m->url = dup_or_empty(url);
	m->slice = dup_or_empty(slice);
	m->sites = dup_or_empty(sites);
	m->since = m->status_at = NAN;
	if (!m->name || !m->state || !m->url || !m->slice || !m->sites) {
		free(m->name);
		free(m->state);
		free(m->url);
		free(m->slice);
		free(m->sites);
		s->n_fleet--;
		errno = ENOMEM;
		return NULL;
	}
	return m;
}
