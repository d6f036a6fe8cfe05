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
 * The re-judging is whatif_engine.c's, shared with the monthly report;
 * this file reads the log and prints.
 *
 * Reads the audit log only: opens no store, state, journal or broker,
 * and writes nothing but stdout.
 */
#include "daemon/labqcd.h"
#include "daemon/whatif.h"
#include "dashboards/report.h"

#include <stdlib.h>
#include <string.h>

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

struct wi_ctx {
	const struct whatif_opts *o;
	struct whatif w;
	const char *period; /* its label, or NULL */
	unsigned long lines, bad;
};

static int read_record(struct wi_ctx *c, FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, in)) != -1) {
		c->lines++;
		cJSON *o = cJSON_ParseWithLength(line, (size_t)len);
		const char *ts = str(o, "ts");
		double t;
		if (!ts || rfc3339_parse(ts, strlen(ts), &t) == -1)
			c->bad += o == NULL; /* a torn last line */
		else
			whatif_record(&c->w, o, t);
		cJSON_Delete(o);
	}
	free(line);
	return 0;
}

static void print_json(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
}

static void add_action(void *ctx, const struct whatif_analyte *a, const struct whatif_action *y)
{
	cJSON *x = cJSON_CreateObject();

	cJSON_AddStringToObject(x, "key", a->key);
	cJSON_AddStringToObject(x, "run", y->run->id);
	cJSON_AddBoolToObject(x, "caught", y->caught);
	if (y->caught) {
		cJSON_AddNumberToObject(x, "runs_earlier", (double)y->runs_earlier);
		cJSON_AddStringToObject(x, "first_rejected", y->first->id);
	}
	cJSON_AddItemToArray(ctx, x);
}

static void report(struct wi_ctx *c)
{
	bool table = c->o->table;
	struct whatif_counts all = {0};
	char ts[40], rules[160];
	cJSON *acts = cJSON_CreateArray();

	westgard_rules_format(c->w.rules, rules, sizeof(rules));
	if (table)
		printf("what-if %s on %s%s%s\n%-32s %-16s %-19s %-9s %-9s %s\n", rules, c->o->from,
		       c->period ? ", " : "", c->period ? c->period : "", "analyte", "run",
		       "first result (UTC)", "before", "after", "rules (candidate)");
	whatif_sort(&c->w);
	for (const struct whatif_analyte *a = c->w.analytes; a; a = a->hh.next) {
		struct whatif_counts n;
		whatif_count(a, &n, add_action, acts);
		all.runs += n.runs;
		all.rejected_before += n.rejected_before;
		all.rejected_after += n.rejected_after;
		all.changed += n.changed;
		all.actions += n.actions;
		all.caught += n.caught;
		for (size_t i = 0; i < a->n_runs; i++) {
			const struct whatif_run_verdict *r = &a->runs[i];
			if (r->before == r->after)
				continue;
			audit_format_ts(r->t, ts, sizeof(ts));
			if (table) {
				char fired[160];
				westgard_rules_format(r->fired, fired, sizeof(fired));
				printf("%-32s %-16s %-19.19s %-9s %-9s %s\n", a->key, r->id, ts,
				       westgard_status_name(r->before), westgard_status_name(r->after),
				       fired);
				continue;
			}
			cJSON *o = cJSON_CreateObject();
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
		       all.runs, all.rejected_before, 100 * whatif_rate(all.rejected_before, all.runs),
		       all.rejected_after, 100 * whatif_rate(all.rejected_after, all.runs),
		       all.changed);
		printf("runs with a corrective action: %zu; the candidate rejected %zu of them or a "
		       "run before\n",
		       all.actions, all.caught);
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
	cJSON_AddItemToObject(o, "rules", westgard_rules_json(c->w.rules));
	if (c->o->analyte)
		cJSON_AddStringToObject(o, "key", c->o->analyte);
	if (c->period)
		cJSON_AddStringToObject(o, "period", c->period);
	cJSON_AddNumberToObject(o, "results", (double)c->w.results);
	cJSON_AddNumberToObject(o, "unjudged", (double)c->w.unjudged);
	cJSON_AddNumberToObject(o, "runs", (double)all.runs);
	cJSON_AddNumberToObject(o, "rejected_before", (double)all.rejected_before);
	cJSON_AddNumberToObject(o, "rejected_after", (double)all.rejected_after);
	cJSON_AddNumberToObject(o, "rejection_rate_before",
				whatif_rate(all.rejected_before, all.runs));
	cJSON_AddNumberToObject(o, "rejection_rate_after", whatif_rate(all.rejected_after, all.runs));
	cJSON_AddNumberToObject(o, "changed", (double)all.changed);
	cJSON_AddNumberToObject(o, "corrective_actions", (double)all.actions);
	cJSON_AddNumberToObject(o, "caught", (double)all.caught);
	cJSON_AddItemToObject(o, "actions", acts);
	print_json(o);
}

int whatif_run(struct config *cfg, const struct whatif_opts *o)
{
	struct wi_ctx c = {.o = o};
	struct report_period period;
	char err[256];
	FILE *in;

	if (whatif_init(&c.w, cfg, o->rules, err, sizeof(err)) == -1) {
		fprintf(stderr, "labqcd: --what-if: %s\n", err);
		config_free(cfg);
		return 2;
	}
	if (o->period && report_period_parse(o->period, &period, err, sizeof(err)) == -1) {
		fprintf(stderr, "labqcd: --period %s\n", err);
		config_free(cfg);
		return 2;
	}
	if (o->period) {
		c.w.have_period = true;
		c.w.start = period.start;
		c.w.end = period.end;
		c.period = period.label;
	}
	c.w.scope = o->scope;
	c.w.replicates = o->replicates;
	c.w.analyte = o->analyte;
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
	whatif_free(&c.w);
	config_free(cfg);
	return 0;
}
