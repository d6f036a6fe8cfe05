/*
 * report_qc.c: an analyte's QC figures over a report's period (issue 19):
 * per level and lot n, mean, SD, CV, the target in force, bias to it and
 * Sigma where TEa is given; runs by final verdict and by rule; the days
 * without a QC result.
 *
 * Which results count: every result of a run whose final verdict (after
 * an override) is not a rejection, as the lab's cumulative statistics
 * leave rejected runs out (CLSI C24; the dashboard's "runs not
 * rejected"); unconfigured and invalid results never. n_all counts the
 * rejected ones too.
 */
#include "dashboards/report_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct rep_run *run_of(const struct rep_instrument *in, const struct rep_qc *q)
{
	for (size_t i = in->n_runs; i-- > 0;) {
		const struct rep_run *r = &in->runs[i];

		if (r->rerun == q->rerun && strcmp(r->analyte, q->analyte) == 0 &&
		    strcmp(r->id, q->run) == 0)
			return r;
	}
	return NULL;
}

static bool judged(const char *status)
{
	return strcmp(status, "unconfigured") != 0 && strcmp(status, "invalid") != 0;
}

/* The target of a level and lot: the config's, else the last target
 * record before the period's end (a baseline or provisional one). */
static void target_of(const struct rep_instrument *in, const struct cfg_qc_analyte *a,
                      const char *level, const char *lot, double *mean, double *sd)
{
	*mean = *sd = NAN;
	for (size_t i = 0; i < a->n_levels; i++) {
		const struct cfg_qc_level *l = &a->levels[i];

		if (strcmp(l->name, level) != 0)
			continue;
		for (size_t k = 0; k < l->n_targets; k++)
			if (l->targets[k].has_mean_sd && strcmp(l->targets[k].lot, lot) == 0) {
				*mean = l->targets[k].mean;
				*sd = l->targets[k].sd;
				return;
			}
	}
	for (size_t i = in->n_targets; i-- > 0;) {
		const struct rep_target *g = &in->targets[i];

		if (strcmp(g->analyte, a->name) == 0 && strcmp(g->level, level) == 0 &&
		    strcmp(g->lot, lot) == 0) {
			*mean = g->mean;
			*sd = g->sd;
			return;
		}
	}
}

int rep_analyte_figures(const struct rep_model *m, const struct rep_instrument *in,
                        const struct cfg_qc_analyte *a, struct rep_analyte_fig *out)
{
	struct welford *w = NULL;
	size_t cap = 0;
	double *days = NULL;
	size_t nd;

	memset(out, 0, sizeof(*out));
	out->cfg = a;
	for (size_t i = 0; i < in->n_qc; i++) {
		const struct rep_qc *q = &in->qc[i];
		const struct rep_run *r;
		size_t k;

		if (strcmp(q->analyte, a->name) != 0 || !judged(q->status))
			continue;
		for (k = 0; k < out->n_lots; k++)
			if (strcmp(out->lots[k].level, q->level) == 0 &&
			    strcmp(out->lots[k].lot, q->lot) == 0)
				break;
		if (k == out->n_lots) {
			size_t c2 = cap;
			struct rep_lot_fig *f = rep_grow(&out->lots, &out->n_lots, &cap, sizeof(*f));
			if (f == NULL)
				goto oom;
			if (cap != c2) {
				struct welford *nw = reallocarray(w, cap, sizeof(*w));
				if (nw == NULL)
					goto oom;
				w = nw;
			}
			memset(&w[k], 0, sizeof(w[k]));
			snprintf(f->level, sizeof(f->level), "%s", q->level);
			snprintf(f->lot, sizeof(f->lot), "%s", q->lot);
		}
		out->lots[k].n_all++;
		r = run_of(in, q);
		if (r == NULL || strcmp(r->final, "reject") != 0)
			welford_add(&w[k], q->value);
	}
	for (size_t k = 0; k < out->n_lots; k++) {
		struct rep_lot_fig *f = &out->lots[k];

		target_of(in, a, f->level, f->lot, &f->target_mean, &f->target_sd);
		f->tea = a->has_tea ? a->tea_pct : NAN;
		qc_figures(&w[k], f->target_mean, f->tea, &f->f);
	}
	free(w);
	w = NULL;

	for (size_t i = 0; i < in->n_runs; i++) {
		const struct rep_run *r = &in->runs[i];
		char tmp[sizeof(r->rules)], *save = NULL;

		if (strcmp(r->analyte, a->name) != 0 || r->final[0] == '\0')
			continue;
		if (strcmp(r->final, "accept") == 0)
			out->runs_accept++;
		else if (strcmp(r->final, "warning") == 0)
			out->runs_warning++;
		else if (strcmp(r->final, "reject") == 0)
			out->runs_reject++;
		else
			out->runs_other++;
		snprintf(tmp, sizeof(tmp), "%s", r->rules);
		for (char *tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			size_t k;

			for (k = 0; k < out->n_rules && strcmp(out->rule[k], tok) != 0; k++)
				;
			if (k == out->n_rules) {
				if (k == REP_RULES_MAX)
					continue;
				snprintf(out->rule[k], sizeof(out->rule[k]), "%s", tok);
				out->n_rules++;
			}
			out->rule_runs[k]++;
		}
	}

	nd = rep_days(&m->req->period, &days);
	out->missing_days = calloc(nd ? nd : 1, sizeof(double));
	if (out->missing_days == NULL)
		goto oom;
	for (size_t d = 0; d < nd; d++) {
		double d1 = d + 1 < nd ? days[d + 1] : m->req->period.end;
		bool seen = false;

		for (size_t i = 0; i < in->n_qc && !seen; i++)
			seen = strcmp(in->qc[i].analyte, a->name) == 0 && in->qc[i].t >= days[d] &&
			       in->qc[i].t < d1;
		if (!seen)
			out->missing_days[out->n_missing_days++] = days[d];
	}
	free(days);
	return 0;
oom:
	free(w);
	free(days);
	rep_analyte_fig_free(out);
	return -1;
}

void rep_analyte_fig_free(struct rep_analyte_fig *f)
{
	free(f->lots);
	free(f->missing_days);
	f->lots = NULL;
	f->missing_days = NULL;
}
