/*
 * whatif.c: labqcd -c FILE --what-if RULES [--analyte KEY] --from audit.jsonl
 * [--period PERIOD] [--scope runs|level|both] [--replicates N] [--format table]
 * (issue 22).
 *
 * Re-judges every QC result the lab's record holds (the `qc` records of
 * an audit log: value, level, run, lot, time) with a candidate set of
 * rejection rules through the same Westgard engine as the daemon
 * (rules/westgard.c), with the analyte's config for everything else
 * (targets, warning rules less the candidate's, run window, baseline) and
 * the candidate's scope and replicates when given. A run is keyed as the
 * record keys it: its id, and whether it is a rerun ("rerun_of"); its
 * status before is the record's final one (the last record of the run),
 * after the engine's on the same record. Prints one `what_if` JSON line
 * per run whose verdict changes, then a `what_if_summary`: runs judged,
 * rejections and rates before and after, and for every run the lab
 * rejected and recorded a corrective action for (a `qc_action` without
 * override), whether the candidate rejected it or a run before it since
 * the previous rejected run, and how many runs earlier. --format table
 * prints the same for people.
 *
 * Reads the audit log only: opens no store, state, journal or broker,
 * and writes nothing but stdout.
 */
#include "daemon/labqcd.h"
#include "dashboards/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct wi_run {
	char id[WG_ID_MAX];
	bool rerun;
	double t;
	enum qc_status before, after;
	unsigned fired; /* the candidate's rules fired in the run */
	bool action;    /* the lab recorded a corrective action for it */
};

struct wi_analyte {
	char key[ID_MAX * 3 + 3];
	const struct cfg_qc_analyte *cfg;
	bool ok;
	struct westgard_params p;
	struct westgard_target targets[WG_LEVELS_MAX][QC_TARGETS_MAX];
	struct westgard w;
	struct wi_run *runs;
	size_t n_runs, cap_runs;
	UT_hash_handle hh;
};

struct wi_ctx {
	const struct whatif_opts *o;
	struct config *cfg;
	unsigned rules;
	bool have_period;
	struct report_period period;
	struct wi_analyte *analytes;
	unsigned long lines, bad, results, unjudged;
};

static int status_parse(const char *s, enum qc_status *out)
{
	for (int i = QC_ACCEPT; i <= QC_REJECT; i++)
		if (strcmp(s, westgard_status_name((enum qc_status)i)) == 0) {
			*out = (enum qc_status)i;
			return 0;
		}
	return -1;
}

static struct wi_analyte *analyte(struct wi_ctx *c, const char *key)
{
	struct wi_analyte *a;
	char site[ID_MAX], instrument[ID_MAX], name[ID_MAX], err[160];

	HASH_FIND_STR(c->analytes, key, a);
	if (a)
		return a;
	if (strlen(key) >= sizeof(a->key) || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	snprintf(a->key, sizeof(a->key), "%s", key);
	westgard_init(&a->w);
	HASH_ADD_STR(c->analytes, key, a);
	const char *s1 = strchr(key, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	if (!s1 || !s2 || s1 - key >= ID_MAX || s2 - s1 - 1 >= ID_MAX || strlen(s2 + 1) >= ID_MAX)
		return a;
	snprintf(site, sizeof(site), "%.*s", (int)(s1 - key), key);
	snprintf(instrument, sizeof(instrument), "%.*s", (int)(s2 - s1 - 1), s1 + 1);
	snprintf(name, sizeof(name), "%s", s2 + 1);
	const struct cfg_instrument *ins = config_instrument(c->cfg, site, instrument);
	a->cfg = ins ? config_analyte(ins, name) : NULL;
	if (a->cfg == NULL || qc_params_of(a->cfg, &a->p, a->targets, err, sizeof(err)) == -1) {
		log_warnx("what-if: %s: %s; its results are not judged", key,
			  a->cfg ? err : "not in the config");
		return a;
	}
	/* the candidate: its rejection rules, the config's warning rules
	 * that are not among them, its scope and replicates when given */
	a->p.rules_auto = false;
	a->p.rules = c->rules;
	a->p.warning &= ~c->rules;
	if (c->o->scope >= 0)
		a->p.scope = (enum wg_scope)c->o->scope;
	if (c->o->replicates > 0)
		a->p.replicates = c->o->replicates;
	a->ok = westgard_params_check(&a->p, err, sizeof(err)) == 0;
	if (!a->ok)
		log_warnx("what-if: %s: %s; its results are not judged", key, err);
	return a;
}

/* The run a record belongs to, as the record names it; made when new. */
static struct wi_run *run_of(struct wi_analyte *a, const char *id, bool rerun, double t)
{
	for (size_t i = a->n_runs; i-- > 0;)
		if (a->runs[i].rerun == rerun && strcmp(a->runs[i].id, id) == 0)
			return &a->runs[i];
	if (a->n_runs == a->cap_runs) {
		size_t cap = a->cap_runs ? a->cap_runs * 2 : 64;
		struct wi_run *r = reallocarray(a->runs, cap, sizeof(*r));
		if (r == NULL)
			return NULL;
		a->runs = r;
		a->cap_runs = cap;
	}
	struct wi_run *r = &a->runs[a->n_runs++];
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

static void on_qc(struct wi_ctx *c, const cJSON *o, double t)
{
	const char *key = str(o, "key"), *level = str(o, "level"), *run = str(o, "run");
	const char *status = str(o, "status"), *lot = str(o, "lot");
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
	enum qc_status before;
	struct qc_verdict v;
	int l = -1;

	if (!key || !level || !run || !status || !cJSON_IsNumber(value))
		return;
	if (c->o->analyte && strcmp(c->o->analyte, key) != 0)
		return;
	c->results++;
	struct wi_analyte *a = analyte(c, key);
	if (a == NULL || !a->ok || status_parse(status, &before) == -1) {
		c->unjudged++; /* unconfigured, invalid, or not judged now */
		return;
	}
	for (size_t i = 0; i < a->cfg->n_levels; i++)
		if (strcmp(a->cfg->levels[i].name, level) == 0)
			l = (int)i;
	struct qc_input in = {.level = l, .value = value->valuedouble, .t = t, .run = run,
			      .lot = lot ? lot : ""};
	if (l < 0 || westgard_eval(&a->w, &a->p, &in, &v) == -1) {
		c->unjudged++;
		return;
	}
	struct wi_run *r = run_of(a, run, str(o, "rerun_of") != NULL, t);
	if (r == NULL)
		return;
	r->before = before;
	r->after = v.status;
	r->fired = v.fired;
}

/* A corrective action marks the latest rejected run of that id; an
 * override is the lab's judgement that the run was fine (or not): not a
 * real problem found, so not counted. */
static void on_action(struct wi_ctx *c, const cJSON *o)
{
	const char *key = str(o, "key"), *run = str(o, "run");
	struct wi_analyte *a;

	if (!key || !run || cJSON_GetObjectItemCaseSensitive(o, "override"))
		return;
	HASH_FIND_STR(c->analytes, key, a);
	for (size_t i = a ? a->n_runs : 0; i-- > 0;)
		if (strcmp(a->runs[i].id, run) == 0 && a->runs[i].before == QC_REJECT) {
			a->runs[i].action = true;
			return;
		}
}

static int read_record(struct wi_ctx *c, FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, in)) != -1) {
		c->lines++;
		cJSON *o = cJSON_ParseWithLength(line, (size_t)len);
		const char *type = str(o, "type"), *ts = str(o, "ts");
		double t;
		if (!type || !ts || rfc3339_parse(ts, strlen(ts), &t) == -1) {
			c->bad += o == NULL; /* a torn last line */
			cJSON_Delete(o);
			continue;
		}
		if (!c->have_period || (t >= c->period.start && t < c->period.end)) {
			if (strcmp(type, "qc") == 0)
				on_qc(c, o, t);
			else if (strcmp(type, "qc_action") == 0)
				on_action(c, o);
		}
		cJSON_Delete(o);
	}
	free(line);
	return 0;
}

static int cmp_key(const struct wi_analyte *x, const struct wi_analyte *y)
{
	return strcmp(x->key, y->key);
}

static void print_json(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
}

static double rate(size_t k, size_t n)
{
	return n ? round((double)k / (double)n * 1e6) / 1e6 : 0;
}

static void report(struct wi_ctx *c)
{
	bool table = c->o->table;
	size_t runs = 0, rej_before = 0, rej_after = 0, changed = 0, actions = 0, caught = 0;
	char ts[40], rules[160];
	cJSON *acts = cJSON_CreateArray();

	westgard_rules_format(c->rules, rules, sizeof(rules));
	if (table)
		printf("what-if %s on %s%s%s\n%-32s %-16s %-19s %-9s %-9s %s\n", rules, c->o->from,
		       c->have_period ? ", " : "", c->have_period ? c->period.label : "", "analyte",
		       "run", "first result (UTC)", "before", "after", "rules (candidate)");
	HASH_SORT(c->analytes, cmp_key);
	for (struct wi_analyte *a = c->analytes; a; a = a->hh.next) {
		size_t last_reject = 0; /* index + 1 of the record's previous rejected run */
		for (size_t i = 0; i < a->n_runs; i++) {
			struct wi_run *r = &a->runs[i];
			runs++;
			rej_before += r->before == QC_REJECT;
			rej_after += r->after == QC_REJECT;
			if (r->action) {
				/* the candidate's first rejection since the previous rejected run */
				size_t j = last_reject;
				while (j <= i && a->runs[j].after != QC_REJECT)
					j++;
				cJSON *x = cJSON_CreateObject();
				cJSON_AddStringToObject(x, "key", a->key);
				cJSON_AddStringToObject(x, "run", r->id);
				cJSON_AddBoolToObject(x, "caught", j <= i);
				if (j <= i) {
					cJSON_AddNumberToObject(x, "runs_earlier", (double)(i - j));
					cJSON_AddStringToObject(x, "first_rejected", a->runs[j].id);
				}
				cJSON_AddItemToArray(acts, x);
				actions++;
				caught += j <= i;
			}
			if (r->before == QC_REJECT)
				last_reject = i + 1;
			if (r->before == r->after)
				continue;
			changed++;
			if (table) {
				audit_format_ts(r->t, ts, sizeof(ts));
				char fired[160];
				westgard_rules_format(r->fired, fired, sizeof(fired));
				printf("%-32s %-16s %-19.19s %-9s %-9s %s\n", a->key, r->id, ts,
				       westgard_status_name(r->before), westgard_status_name(r->after),
				       fired);
				continue;
			}
			cJSON *o = cJSON_CreateObject();
			audit_format_ts(r->t, ts, sizeof(ts));
			cJSON_AddStringToObject(o, "type", "what_if");
			cJSON_AddStringToObject(o, "key", a->key);
			cJSON_AddStringToObject(o, "run", r->id);
			if (r->rerun)
				cJSON_AddStringToObject(o, "rerun_of", r->id);
			cJSON_AddStringToObject(o, "ts", ts);
			cJSON_AddStringToObject(o, "before", westgard_status_name(r->before));
			cJSON_AddStringToObject(o, "after", westgard_status_name(r->after));
			cJSON_AddItemToObject(o, "rules", westgard_rules_json(r->fired));
			print_json(o);
		}
	}
	if (table) {
		printf("\nruns judged: %zu; rejected before: %zu (%.2f %%), after: %zu (%.2f %%); "
		       "verdicts changed: %zu\n",
		       runs, rej_before, 100 * rate(rej_before, runs), rej_after,
		       100 * rate(rej_after, runs), changed);
		printf("runs with a corrective action: %zu; the candidate rejected %zu of them or a "
		       "run before\n",
		       actions, caught);
		const cJSON *x;
		cJSON_ArrayForEach(x, acts)
		{
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(x, "runs_earlier");
			printf("  %s run %s: %s", str(x, "key"), str(x, "run"),
			       e ? "rejected" : "not rejected\n");
			if (e)
				printf(" %d runs earlier (run %s)\n", e->valueint, str(x, "first_rejected"));
		}
		cJSON_Delete(acts);
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "what_if_summary");
	cJSON_AddItemToObject(o, "rules", westgard_rules_json(c->rules));
	if (c->o->analyte)
		cJSON_AddStringToObject(o, "key", c->o->analyte);
	if (c->have_period)
		cJSON_AddStringToObject(o, "period", c->period.label);
	cJSON_AddNumberToObject(o, "results", (double)c->results);
	cJSON_AddNumberToObject(o, "unjudged", (double)c->unjudged);
	cJSON_AddNumberToObject(o, "runs", (double)runs);
	cJSON_AddNumberToObject(o, "rejected_before", (double)rej_before);
	cJSON_AddNumberToObject(o, "rejected_after", (double)rej_after);
	cJSON_AddNumberToObject(o, "rejection_rate_before", rate(rej_before, runs));
	cJSON_AddNumberToObject(o, "rejection_rate_after", rate(rej_after, runs));
	cJSON_AddNumberToObject(o, "changed", (double)changed);
	cJSON_AddNumberToObject(o, "corrective_actions", (double)actions);
	cJSON_AddNumberToObject(o, "caught", (double)caught);
	cJSON_AddItemToObject(o, "actions", acts);
	print_json(o);
}

int whatif_run(struct config *cfg, const struct whatif_opts *o)
{
	struct wi_ctx c = {.o = o, .cfg = cfg};
	char err[256];
	FILE *in;
	int rc = 0;

	int parsed = westgard_rules_parse(o->rules, &c.rules, err, sizeof(err));
	if (parsed == -1 || c.rules == 0) {
		fprintf(stderr, "labqcd: --what-if: %s\n",
			parsed == -1 ? err : "no rules given (such as 1-3s/2-2s/R-4s)");
		config_free(cfg);
		return 2;
	}
	if (o->period && report_period_parse(o->period, &c.period, err, sizeof(err)) == -1) {
		fprintf(stderr, "labqcd: --period %s\n", err);
		config_free(cfg);
		return 2;
	}
	c.have_period = o->period != NULL;
	if ((in = fopen(o->from, "r")) == NULL) {
		log_warn("what-if: %s", o->from);
		config_free(cfg);
		return 1;
	}
	read_record(&c, in);
	fclose(in);
	report(&c);
	if (c.bad)
		log_warnx("what-if: %s: %lu unreadable lines of %lu skipped", o->from, c.bad,
			  c.lines);
	struct wi_analyte *a, *tmp;
	HASH_ITER(hh, c.analytes, a, tmp)
	{
		HASH_DEL(c.analytes, a);
		free(a->runs);
		free(a);
	}
	config_free(cfg);
	return rc;
}
