/*
 * report_audit.c: what the audit log says of each instrument over a
 * report's period (issue 19), and whether the log vouches for itself.
 *
 * The log is read once, a line at a time (getline), so memory holds one
 * line and the period's records of the instruments reported, never the
 * whole log. Records before the period still matter for some things: an
 * excursion or a maintenance period that began before it, the targets in
 * force, the last calibration; those are followed from the start of the
 * log and kept only when they reach into the period.
 *
 * The head: the SHA-256 (hex) of the last line whose ts falls before the
 * period's end, i.e. what the next record's "prev" names. The chain is
 * checked by audit_verify() (the check of labqcctl verify-audit, not a
 * second one): it reports the first line where the chain breaks; the
 * period is vouched for when that line comes after the line following
 * the head (that line's "prev" is the link that names the head).
 */
#include "dashboards/report_int.h"
#include "collectors/collectors.h"
#include "daemon/audit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *rep_grow(void *arrp, size_t *n, size_t *cap, size_t size)
{
	char **arr = arrp;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		char *nb = reallocarray(*arr, ncap, size);

		if (nb == NULL)
			return NULL;
		*arr = nb;
		*cap = ncap;
	}
	memset(*arr + *n * size, 0, size);
	return *arr + (*n)++ * size;
}

struct excursion_list *rep_exc_list(struct rep_instrument *in, const char *channel, bool create)
{
	struct rep_exc *e;

	for (size_t i = 0; i < in->n_exc; i++)
		if (strcmp(in->exc[i].channel, channel) == 0)
			return &in->exc[i].list;
	if (!create || (e = rep_grow(&in->exc, &in->n_exc, &in->cap_exc, sizeof(*e))) == NULL)
		return NULL;
	snprintf(e->channel, sizeof(e->channel), "%s", channel);
	e->list.v = calloc(REP_EXC_MAX, sizeof(*e->list.v));
	e->list.cap = e->list.v ? REP_EXC_MAX : 0;
	return &e->list;
}

bool rep_pbrtqc_name(const char *analyte, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "pbrtqc/%s", analyte) < len;
}

void rep_instrument_free(struct rep_instrument *in)
{
	free(in->qc);
	free(in->runs);
	free(in->targets);
	free(in->events);
	free(in->maint);
	free(in->stale);
	free(in->missed);
	for (size_t i = 0; i < in->n_exc; i++)
		free(in->exc[i].list.v);
	free(in->exc);
	free(in->pbl);
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void copy(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s);
}

/* "a b c" from a JSON array of strings. */
static void join(const cJSON *arr, char *buf, size_t len)
{
	const cJSON *it;
	size_t o = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(it, arr)
	{
		if (cJSON_IsString(it) && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "", it->valuestring);
	}
}

/* Add the rules of `add` to the space-separated set `set`. */
static void add_rules(char *set, size_t len, const char *add)
{
	char tmp[128], *save = NULL;

	copy(tmp, sizeof(tmp), add);
	for (char *tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		size_t tl = strlen(tok), o = strlen(set);
		const char *p = set;
		bool have = false;

		while ((p = strstr(p, tok)) != NULL && !have) {
			have = (p == set || p[-1] == ' ') && (p[tl] == ' ' || p[tl] == '\0');
			p += tl;
		}
		if (!have && o + tl + 2 < len)
			snprintf(set + o, len - o, "%s%s", o ? " " : "", tok);
	}
}

static struct rep_instrument *find_ins(struct rep_model *m, const char *site, const char *name)
{
	for (size_t i = 0; i < m->n_ins; i++)
		if (strcmp(m->ins[i].cfg->site, site) == 0 && strcmp(m->ins[i].cfg->name, name) == 0)
			return &m->ins[i];
	return NULL;
}

/* The latest run of that id; rerun -1: either the run or its rerun. */
static struct rep_run *find_run(struct rep_instrument *in, const char *analyte, const char *id,
                                int rerun)
{
	for (size_t i = in->n_runs; i-- > 0;)
		if (strcmp(in->runs[i].analyte, analyte) == 0 && strcmp(in->runs[i].id, id) == 0 &&
		    (rerun < 0 || in->runs[i].rerun == (rerun == 1)))
			return &in->runs[i];
	return NULL;
}

static void on_qc(struct rep_instrument *in, const cJSON *o, double t, const char *analyte)
{
	struct rep_qc *q = rep_grow(&in->qc, &in->n_qc, &in->cap_qc, sizeof(*q));
	struct rep_run *r;

	if (q == NULL)
		return;
	q->t = t;
	q->value = num(o, "value");
	q->z = num(o, "z");
	copy(q->analyte, sizeof(q->analyte), analyte);
	copy(q->level, sizeof(q->level), str(o, "level"));
	copy(q->lot, sizeof(q->lot), str(o, "lot"));
	copy(q->run, sizeof(q->run), str(o, "run"));
	copy(q->status, sizeof(q->status), str(o, "status"));
	join(cJSON_GetObjectItemCaseSensitive(o, "rules"), q->rules, sizeof(q->rules));
	q->rerun = str(o, "rerun_of")[0] != '\0';
	if (q->run[0] == '\0')
		return;
	r = find_run(in, analyte, q->run, q->rerun);
	if (r == NULL && (r = rep_grow(&in->runs, &in->n_runs, &in->cap_runs, sizeof(*r)))) {
		copy(r->analyte, sizeof(r->analyte), analyte);
		copy(r->id, sizeof(r->id), q->run);
		r->rerun = q->rerun;
		r->t = t;
	}
	if (r == NULL)
		return;
	/* Each result carries its run's status so far: the last one is the
	 * run's verdict (a rejected run stays rejected). */
	copy(r->status, sizeof(r->status), q->status);
	if (!(r->has_action && r->override_to[0]))
		copy(r->final, sizeof(r->final), q->status);
	add_rules(r->rules, sizeof(r->rules), q->rules);
}

static void on_qc_run(struct rep_instrument *in, const cJSON *o, double t, const char *analyte)
{
	struct rep_run *r = find_run(in, analyte, str(o, "run"), -1);

	if (r == NULL && (r = rep_grow(&in->runs, &in->n_runs, &in->cap_runs, sizeof(*r)))) {
		copy(r->analyte, sizeof(r->analyte), analyte);
		copy(r->id, sizeof(r->id), str(o, "run"));
		r->t = t;
	}
	if (r == NULL || strcmp(str(o, "status"), "incomplete") != 0)
		return;
	r->incomplete = true;
	join(cJSON_GetObjectItemCaseSensitive(o, "missing"), r->missing, sizeof(r->missing));
}

static void on_qc_action(struct rep_instrument *in, const cJSON *o, double t, const char *analyte)
{
	struct rep_run *r = find_run(in, analyte, str(o, "run"), -1);

	if (r == NULL)
		return; /* a run before the period */
	r->has_action = true;
	r->action_t = t;
	r->reviewed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "reviewed"));
	copy(r->by, sizeof(r->by), str(o, "by"));
	copy(r->action, sizeof(r->action), str(o, "action"));
	copy(r->override_to, sizeof(r->override_to), str(o, "override"));
	copy(r->reason, sizeof(r->reason), str(o, "reason"));
	if (str(o, "status")[0])
		copy(r->final, sizeof(r->final), str(o, "status"));
}

static enum exc_state exc_state(const char *s, bool *ok)
{
	static const char *const names[] = {"pending", "firing", "resolved", "cleared",
	                                    "acknowledged"};

	for (int i = 0; i < 5; i++)
		if (strcmp(s, names[i]) == 0) {
			*ok = true;
			return (enum exc_state)i;
		}
	*ok = false;
	return EXC_PENDING;
}

static int severity_of(const char *s)
{
	enum severity sev = SEV_NONE;

	severity_parse(s, &sev);
	return (int)sev;
}

/* A span list: open at `t` (if not open already), or close the open one. */
static void span(struct rep_span **v, size_t *n, size_t *cap, const char *what, double t,
                 bool open, double period_start)
{
	struct rep_span *s = NULL;

	for (size_t i = *n; i-- > 0;)
		if (isnan((*v)[i].end) && strcmp((*v)[i].what, what) == 0) {
			s = &(*v)[i];
			break;
		}
	if (open) {
		if (s == NULL && (s = rep_grow(v, n, cap, sizeof(*s))) != NULL) {
			s->start = t;
			s->end = NAN;
			copy(s->what, sizeof(s->what), what);
		}
		return;
	}
	if (s == NULL)
		return;
	s->end = t;
	if (t < period_start) /* over before the period: not the report's */
		(*n)--;
}

static void on_alert(struct rep_model *m, struct rep_instrument *in, const cJSON *o, double t,
                     const char *channel, const char *rule)
{
	const char *state = str(o, "state");
	double start = m->req->period.start;
	char pbname[CFG_NAME_MAX];
	bool ok;

	/* A PBRTQC alert (<analyte>/pbrtqc) is an excursion of its
	 * statistic, kept under the name of the statistic's series. */
	if (strcmp(rule, "pbrtqc") == 0 && rep_pbrtqc_name(channel, pbname, sizeof(pbname))) {
		rule = "range";
		channel = pbname;
	}
	if (strcmp(rule, "range") == 0) {
		enum exc_state st = exc_state(state, &ok);
		struct excursion_list *l = rep_exc_list(in, channel, true);
		int i;

		if (!ok || l == NULL)
			return;
		i = excursion_feed(l, st, t, severity_of(str(o, "severity")), num(o, "value"),
		                   num(o, "peak"), num(o, "since"), str(o, "by"), str(o, "comment"));
		/* Ended before the period: not the period's excursion. */
		if (i >= 0 && (size_t)i == l->n - 1 && !l->open && l->v[i].end < start &&
		    st != EXC_ACKNOWLEDGED)
			l->n--;
	} else if (strcmp(rule, "stale") == 0) {
		if (strcmp(state, "firing") == 0 || strcmp(state, "resolved") == 0)
			span(&in->stale, &in->n_stale, &in->cap_stale, channel, t,
			     state[0] == 'f', start);
	} else if (strcmp(rule, "task") == 0 && strcmp(state, "firing") == 0 && t >= start) {
		struct rep_span *s = rep_grow(&in->missed, &in->n_missed, &in->cap_missed,
		                              sizeof(*s));
		if (s) {
			s->start = s->end = t;
			copy(s->what, sizeof(s->what), channel);
		}
	}
}

static void on_event(struct rep_model *m, struct rep_instrument *in, const cJSON *o, double t)
{
	const char *ev = str(o, "event");
	double start = m->req->period.start;

	if (strcmp(ev, "maintenance_start") == 0 || strcmp(ev, "maintenance_end") == 0)
		span(&in->maint, &in->n_maint, &in->cap_maint, "maintenance", t,
		     strcmp(ev, "maintenance_start") == 0, start);
	if (strcmp(ev, "calibration_done") == 0)
		in->last_calibration = t;
	if (t < start)
		return;
	struct rep_event *e = rep_grow(&in->events, &in->n_events, &in->cap_events, sizeof(*e));
	if (e == NULL)
		return;
	e->t = t;
	copy(e->event, sizeof(e->event), ev);
	copy(e->counter, sizeof(e->counter), str(o, "counter"));
	copy(e->task, sizeof(e->task), str(o, "task"));
	copy(e->by, sizeof(e->by), str(o, "by"));
	copy(e->comment, sizeof(e->comment), str(o, "comment"));
}

/* The latest learnt limits of an analyte before the period's end. */
static void on_pb_limits(struct rep_instrument *in, const cJSON *o, double t, const char *analyte)
{
	struct rep_pb_limits *l = NULL;

	for (size_t i = 0; i < in->n_pbl && l == NULL; i++)
		if (strcmp(in->pbl[i].analyte, analyte) == 0)
			l = &in->pbl[i];
	if (l == NULL && (l = rep_grow(&in->pbl, &in->n_pbl, &in->cap_pbl, sizeof(*l))) == NULL)
		return;
	copy(l->analyte, sizeof(l->analyte), analyte);
	l->t = t;
	l->lo = num(o, "lo");
	l->hi = num(o, "hi");
	l->mean = num(o, "mean");
	l->sd = num(o, "sd");
	l->n = num(o, "n");
	l->far = num(o, "false_alarm_rate");
	l->block = num(o, "block");
	copy(l->method, sizeof(l->method), str(o, "method"));
	copy(l->source, sizeof(l->source), str(o, "source"));
}

/* One record, already known to fall before the period's end. */
static void on_record(struct rep_model *m, const cJSON *o, double t)
{
	const char *type = str(o, "type");
	char key[4 * CFG_NAME_MAX], *part[4] = {NULL}, *save = NULL;
	struct rep_instrument *in;
	bool in_period = t >= m->req->period.start;
	int np = 0;

	copy(key, sizeof(key), str(o, "key"));
	for (char *tok = strtok_r(key, "/", &save); tok && np < 4; tok = strtok_r(NULL, "/", &save))
		part[np++] = tok;
	if (np < 2 || (in = find_ins(m, part[0], part[1])) == NULL)
		return;
	if (m->whatif && np == 3)
		whatif_record(m->whatif, o, t); /* it keeps the period's own */
	if (strcmp(type, "event") == 0 && np == 2) {
		on_event(m, in, o, t);
	} else if (strcmp(type, "alert") == 0 && np == 4) {
		on_alert(m, in, o, t, part[2], part[3]);
	} else if (strcmp(type, "target") == 0 && np == 4) {
		struct rep_target *g = rep_grow(&in->targets, &in->n_targets, &in->cap_targets,
		                                sizeof(*g));
		if (g) {
			g->t = t;
			copy(g->analyte, sizeof(g->analyte), part[2]);
			copy(g->level, sizeof(g->level), part[3]);
			copy(g->lot, sizeof(g->lot), str(o, "lot"));
			g->mean = num(o, "mean");
			g->sd = num(o, "sd");
			copy(g->source, sizeof(g->source), str(o, "source"));
		}
	} else if (strcmp(type, "pbrtqc_limits") == 0 && np == 3) {
		on_pb_limits(in, o, t, part[2]);
	} else if (in_period && np == 3 && strcmp(type, "qc") == 0) {
		on_qc(in, o, t, part[2]);
	} else if (in_period && np == 3 && strcmp(type, "qc_run") == 0) {
		on_qc_run(in, o, t, part[2]);
	} else if (in_period && np == 3 && strcmp(type, "qc_action") == 0) {
		on_qc_action(in, o, t, part[2]);
	}
}

int rep_read_audit(struct rep_model *m, char *err, size_t errlen)
{
	char path[CFG_PATH_MAX + 16], *line = NULL, *head_text = NULL;
	size_t cap = 0, head_len = 0, head_cap = 0;
	ssize_t len;
	unsigned long lineno = 0, bad_at = 0;
	FILE *f;
	double end = m->req->period.end;

	snprintf(path, sizeof(path), "%s/audit.jsonl", m->req->cfg->daemon.state_dir);
	m->audit.chain_ok = true;
	f = fopen(path, "r");
	if (f == NULL) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		snprintf(m->audit.chain_err, sizeof(m->audit.chain_err), "no audit log (%.200s)", path);
		m->audit.chain_ok = false;
		return 0;
	}
	while ((len = getline(&line, &cap, f)) != -1) {
		size_t l = (size_t)len;
		cJSON *o;
		double t;
		const cJSON *ts;

		lineno++;
		if (l > 0 && line[l - 1] == '\n')
			l--;
		o = cJSON_ParseWithLength(line, l);
		ts = cJSON_GetObjectItemCaseSensitive(o, "ts");
		if (!cJSON_IsString(ts) ||
		    rfc3339_parse(ts->valuestring, strlen(ts->valuestring), &t) == -1) {
			if (bad_at == 0)
				bad_at = lineno;
			cJSON_Delete(o);
			continue;
		}
		if (t < end) {
			if (l + 1 > head_cap) {
				char *nb = realloc(head_text, l + 1);
				if (nb == NULL) {
					cJSON_Delete(o);
					continue;
				}
				head_text = nb;
				head_cap = l + 1;
			}
			memcpy(head_text, line, l);
			head_len = l;
			m->audit.head_line = lineno;
			on_record(m, o, t);
		}
		cJSON_Delete(o);
	}
	free(line);
	fclose(f);
	m->audit.lines = lineno;
	if (m->audit.head_line > 0)
		audit_sha256_hex(head_text, head_len, m->audit.head);
	free(head_text);

	/* The chain, by labqcctl verify-audit's own check. */
	unsigned long broken_at = 0;
	char why[200];
	if (audit_verify(path, why, sizeof(why), &broken_at, NULL) == -1) {
		/* The link naming the head is the next line's prev. */
		if (broken_at <= m->audit.head_line + 1 || m->audit.head_line == 0) {
			m->audit.chain_ok = false;
			snprintf(m->audit.chain_err, sizeof(m->audit.chain_err), "%s", why);
		} else {
			snprintf(m->audit.chain_err, sizeof(m->audit.chain_err),
			         "whole up to the head; after the period: %s", why);
		}
	}
	if (bad_at && m->audit.chain_ok) {
		m->audit.chain_ok = bad_at > m->audit.head_line;
		if (!m->audit.chain_ok)
			snprintf(m->audit.chain_err, sizeof(m->audit.chain_err),
			         "line %lu: not a record with a ts", bad_at);
	}
	return 0;
}
