/*
 * qc_analytes.c: the QC analytes, one struct qc_analyte per
 * <site>/<instrument>/<analyte> in a hash table, with the engine
 * parameters built from the config (rebuilt on reload; the engine state
 * is kept).
 */
#include "daemon/labqcd.h"
#include "dashboards/dashboards.h"
#include "daemon/qc_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

int qc_params_of(const struct cfg_qc_analyte *a, struct westgard_params *p,
		 struct westgard_target targets[WG_LEVELS_MAX][QC_TARGETS_MAX], char *err,
		 size_t errlen)
{
	if (a == NULL || a->n_levels == 0 || a->n_levels > WG_LEVELS_MAX) {
		snprintf(err, errlen, "no control levels configured");
		return -1;
	}
	westgard_params_init(p, a->n_levels);
	p->rules_auto = a->rules_auto;
	if (!a->rules_auto && a->n_rules) {
		p->rules = 0;
		for (size_t i = 0; i < a->n_rules; i++) {
			int r = westgard_rule_parse(a->rules[i]);
			if (r >= 0)
				p->rules |= WG_BIT(r);
		}
	}
	if (a->n_warning) {
		p->warning = 0;
		for (size_t i = 0; i < a->n_warning; i++) {
			int r = westgard_rule_parse(a->warning[i]);
			if (r >= 0)
				p->warning |= WG_BIT(r);
		}
	}
	p->tea_pct = a->has_tea ? a->tea_pct : 0;
	p->run_window_s = a->run_window_s > 0 ? a->run_window_s : WG_RUN_WINDOW_S;
	p->baseline_n = a->baseline_n > 1 ? a->baseline_n : WG_BASELINE_N;
	p->lot_baseline_n = a->lot_baseline_n > 1 ? a->lot_baseline_n : WG_LOT_BASELINE_N;
	p->replicates = a->replicates;
	p->scope = (enum wg_scope)a->scope;
	p->lot_sd = (enum wg_lot_sd)a->lot_sd;
	p->sigma_option = (enum wg_sigma_option)a->sigma_option;
	for (size_t l = 0; l < a->n_levels; l++) {
		size_t n = a->levels[l].n_targets < QC_TARGETS_MAX ? a->levels[l].n_targets
								   : QC_TARGETS_MAX;
		for (size_t i = 0; i < n; i++) {
			const struct cfg_qc_target *ct = &a->levels[l].targets[i];
			struct westgard_target *t = &targets[l][i];
			memset(t, 0, sizeof(*t));
			snprintf(t->lot, sizeof(t->lot), "%s", ct->lot);
			t->has_mean_sd = ct->has_mean_sd;
			t->mean = ct->mean;
			t->sd = ct->sd;
			t->has_bias = ct->has_bias;
			t->bias_pct = ct->bias_pct;
		}
		p->levels[l].name = a->levels[l].name;
		p->levels[l].targets = targets[l];
		p->levels[l].n_targets = n;
	}
	return westgard_params_check(p, err, errlen);
}

/* Build the engine's parameters from the analyte's config. */
static void qc_params(struct labqcd *d, struct qc_analyte *q)
{
	const struct cfg_instrument *ins = config_instrument(d->cfg, q->site, q->instrument);
	const struct cfg_qc_analyte *a = ins ? config_analyte(ins, q->analyte) : NULL;
	char err[160];

	q->cfg = a;
	q->params_ok = false;
	if (a == NULL || a->n_levels == 0 || a->n_levels > WG_LEVELS_MAX)
		return;
	if (qc_params_of(a, &q->p, q->targets, err, sizeof(err)) == -1) {
		log_warnx("qc: %s: %s; its results are stored but not judged", q->key, err);
		return;
	}
	q->params_ok = true;
}

struct qc_analyte *qc_analyte_get(struct labqcd *d, const char *site, const char *instrument,
				  const char *analyte)
{
	char key[ID_MAX * 3 + 3];
	struct qc_analyte *q;

	snprintf(key, sizeof(key), "%s/%s/%s", site, instrument, analyte);
	HASH_FIND_STR(d->qc, key, q);
	if (q)
		return q;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	snprintf(q->key, sizeof(q->key), "%s", key);
	snprintf(q->site, sizeof(q->site), "%s", site);
	snprintf(q->instrument, sizeof(q->instrument), "%s", instrument);
	snprintf(q->analyte, sizeof(q->analyte), "%s", analyte);
	westgard_init(&q->w);
	qc_params(d, q);
	HASH_ADD_STR(d->qc, key, q);
	return q;
}

void qc_reconfigure(struct labqcd *d)
{
	struct qc_analyte *q, *tmp;

	HASH_ITER(hh, d->qc, q, tmp)
	qc_params(d, q);
}

void qc_free(struct labqcd *d)
{
	struct qc_analyte *q, *tmp;

	HASH_ITER(hh, d->qc, q, tmp)
	{
		HASH_DEL(d->qc, q);
		westgard_free(&q->w);
		free(q);
	}
}
