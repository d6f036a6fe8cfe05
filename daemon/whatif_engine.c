/*
 * whatif_engine.c: the "what if" engine (issue 22); see whatif.h. One
 * function re-judges the record for both callers: `labqcd --what-if`
 * (whatif.c) and the monthly report (dashboards/report_audit.c feeds it
 * the records it reads, dashboards/report_whatif.c prints its counts).
 *
 * A run is keyed as the record keys it: its id, and whether it is a
 * rerun ("rerun_of"); its status before is the record's final one (the
 * last record of the run), after the engine's on the same results.
 */
#include "daemon/labqcd.h"
#include "daemon/whatif.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(WHATIF_TARGETS_MAX == QC_TARGETS_MAX, "whatif.h's targets as qc_analytes.c's");

int whatif_init(struct whatif *w, const struct config *cfg, const char *rules, char *err,
		size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->scope = -1;
	if (westgard_rules_parse(rules, &w->rules, err, errlen) == -1)
		return -1;
	if (w->rules == 0) {
		snprintf(err, errlen, "no rules given (such as 1-3s/2-2s/R-4s)");
		return -1;
	}
	return 0;
}

static int status_parse(const char *s, enum qc_status *out)
{
	for (int i = QC_ACCEPT; i <= QC_REJECT; i++)
		if (strcmp(s, westgard_status_name((enum qc_status)i)) == 0) {
			*out = (enum qc_status)i;
			return 0;
		}
	return -1;
}

struct whatif_analyte *whatif_find(const struct whatif *w, const char *key)
{
	struct whatif_analyte *a;

	HASH_FIND_STR(w->analytes, key, a);
	return a;
}

static struct whatif_analyte *analyte(struct whatif *w, const char *key)
{
	struct whatif_analyte *a = whatif_find(w, key);
	char site[CFG_NAME_MAX], instrument[CFG_NAME_MAX], name[CFG_NAME_MAX], err[160];

	if (a)
		return a;
	if (strlen(key) >= sizeof(a->key) || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	snprintf(a->key, sizeof(a->key), "%s", key);
	westgard_init(&a->w);
	HASH_ADD_STR(w->analytes, key, a);
	const char *s1 = strchr(key, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	if (!s1 || !s2 || s1 - key >= CFG_NAME_MAX || s2 - s1 - 1 >= CFG_NAME_MAX ||
	    strlen(s2 + 1) >= CFG_NAME_MAX)
		return a;
	snprintf(site, sizeof(site), "%.*s", (int)(s1 - key), key);
	snprintf(instrument, sizeof(instrument), "%.*s", (int)(s2 - s1 - 1), s1 + 1);
	snprintf(name, sizeof(name), "%s", s2 + 1);
	const struct cfg_instrument *ins = config_instrument(w->cfg, site, instrument);
	a->cfg = ins ? config_analyte(ins, name) : NULL;
	if (a->cfg == NULL || qc_params_of(a->cfg, &a->p, a->targets, err, sizeof(err)) == -1) {
		log_warnx("what-if: %s: %s; its results are not judged", key,
			  a->cfg ? err : "not in the config");
		return a;
	}
	a->p.rules_auto = false;
	a->p.rules = w->rules;
	a->p.warning &= ~w->rules;
	if (w->scope >= 0)
		a->p.scope = (enum wg_scope)w->scope;
	if (w->replicates > 0)
		a->p.replicates = w->replicates;
	a->ok = westgard_params_check(&a->p, err, sizeof(err)) == 0;
	if (!a->ok)
		log_warnx("what-if: %s: %s; its results are not judged", key, err);
	return a;
}

/* The run a record belongs to, as the record names it; made when new. */
static struct whatif_run_verdict *run_of(struct whatif_analyte *a, const char *id, bool rerun, double t)
{
	for (size_t i = a->n_runs; i-- > 0;)
		if (a->runs[i].rerun == rerun && strcmp(a->runs[i].id, id) == 0)
			return &a->runs[i];
	if (a->n_runs == a->cap_runs) {
		size_t cap = a->cap_runs ? a->cap_runs * 2 : 64;
		struct whatif_run_verdict *r = reallocarray(a->runs, cap, sizeof(*r));
		if (r == NULL)
			return NULL;
		a->runs = r;
		a->cap_runs = cap;
	}
	struct whatif_run_verdict *r = &a->runs[a->n_runs++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->rerun = rerun;
	r->t = t;
	return r;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static void on_qc(struct whatif *w, const cJSON *o, double t)
{
	const char *key = str(o, "key"), *level = str(o, "level"), *run = str(o, "run");
	const char *status = str(o, "status"), *lot = str(o, "lot");
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
	enum qc_status before;
	struct qc_verdict v;
	int l = -1;

	if (!key || !level || !run || !status || !cJSON_IsNumber(value))
		return;
	if (w->analyte && strcmp(w->analyte, key) != 0)
		return;
	w->results++;
	struct whatif_analyte *a = analyte(w, key);
	if (a)
		a->results++;
	if (a == NULL || !a->ok || status_parse(status, &before) == -1)
		goto unjudged; /* unconfigured, invalid, or not judged now */
	for (size_t i = 0; i < a->cfg->n_levels; i++)
		if (strcmp(a->cfg->levels[i].name, level) == 0)
			l = (int)i;
	struct qc_input in = {.level = l, .value = value->valuedouble, .t = t, .run = run,
			      .lot = lot ? lot : ""};
	if (l < 0 || westgard_eval(&a->w, &a->p, &in, &v) == -1)
		goto unjudged;
	struct whatif_run_verdict *r = run_of(a, run, str(o, "rerun_of") != NULL, t);
	if (r == NULL)
		return;
	r->before = before;
	r->after = v.status;
	r->fired = v.fired;
	return;
unjudged:
	w->unjudged++;
	if (a)
		a->unjudged++;
}

/* A corrective action marks the latest rejected run of that id; an
 * override is the lab's judgement that the run was fine (or not): not a
 * real problem found, so not counted. */
static void on_action(struct whatif *w, const cJSON *o)
{
	const char *key = str(o, "key"), *run = str(o, "run");
	struct whatif_analyte *a;

	if (!key || !run || cJSON_GetObjectItemCaseSensitive(o, "override"))
		return;
	a = whatif_find(w, key);
	for (size_t i = a ? a->n_runs : 0; i-- > 0;)
		if (strcmp(a->runs[i].id, run) == 0 && a->runs[i].before == QC_REJECT) {
			a->runs[i].action = true;
			return;
		}
}

void whatif_record(struct whatif *w, const cJSON *rec, double t)
{
	const char *type = str(rec, "type");

	if (type == NULL || (w->have_period && (t < w->start || t >= w->end)))
		return;
	if (strcmp(type, "qc") == 0)
		on_qc(w, rec, t);
	else if (strcmp(type, "qc_action") == 0)
		on_action(w, rec);
}

static int cmp_key(const struct whatif_analyte *x, const struct whatif_analyte *y)
{
	return strcmp(x->key, y->key);
}

void whatif_sort(struct whatif *w)
{
	HASH_SORT(w->analytes, cmp_key);
}

void whatif_count(const struct whatif_analyte *a, struct whatif_counts *c,
		  void (*on_act)(void *ctx, const struct whatif_analyte *a,
				 const struct whatif_action *x),
		  void *ctx)
{
	size_t last_reject = 0; /* index + 1 of the record's previous rejected run */

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < a->n_runs; i++) {
		const struct whatif_run_verdict *r = &a->runs[i];
		c->runs++;
		c->rejected_before += r->before == QC_REJECT;
		c->rejected_after += r->after == QC_REJECT;
		c->changed += r->before != r->after;
		if (r->action) {
			/* the candidate's first rejection since the previous rejected run */
			size_t j = last_reject;
			while (j <= i && a->runs[j].after != QC_REJECT)
				j++;
			struct whatif_action x = {.run = r, .caught = j <= i};
			if (x.caught) {
				x.first = &a->runs[j];
				x.runs_earlier = i - j;
			}
			c->actions++;
			c->caught += x.caught;
			if (on_act)
				on_act(ctx, a, &x);
		}
		if (r->before == QC_REJECT)
			last_reject = i + 1;
	}
}

double whatif_rate(size_t k, size_t n)
{
	return n ? round((double)k / (double)n * 1e6) / 1e6 : 0;
}

void whatif_free(struct whatif *w)
{
	struct whatif_analyte *a, *tmp;

	HASH_ITER(hh, w->analytes, a, tmp)
	{
		HASH_DEL(w->analytes, a);
		free(a->runs);
		free(a);
	}
}
