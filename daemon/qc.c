/*
 * qc.c: the QC path: a QC result -> Westgard engine -> records and alert.
 *
 * The analytes are in qc_analytes.c, their runs in qc_runs.c, their
 * saved state in qc_state.c. Each result gives a `qc` record; a baseline that fixes a target
 * gives a `target` record; a Sigma Rules choice that changes gives a
 * `qc_rules` record; a run that becomes rejected fires the alert
 * <site>/<instrument>/<analyte>/qc, and the next run completed without a
 * rejection resolves it.
 */
#include "daemon/labqcd.h"
#include "dashboards/dashboards.h"
#include "daemon/qc_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

static struct qc_analyte *qc_get(struct labqcd *d, const struct topic *tp)
{
	return qc_analyte_get(d, tp->site, tp->instrument, tp->channel);
}

static int level_index(const struct qc_analyte *q, const char *level)
{
	for (size_t i = 0; q->cfg && i < q->cfg->n_levels; i++)
		if (strcmp(q->cfg->levels[i].name, level) == 0)
			return (int)i;
	return -1;
}

static void qc_record(struct labqcd *d, uint64_t seq, const struct qc_analyte *q,
		      const char *level, const struct payload_meta *meta, double value, double t,
		      const struct qc_verdict *v, const char *status)
{
	cJSON *rec = cJSON_CreateObject();

	cJSON_AddStringToObject(rec, "type", "qc");
	cJSON_AddStringToObject(rec, "key", q->key);
	cJSON_AddStringToObject(rec, "level", level);
	cJSON_AddStringToObject(rec, "run", v ? v->run : meta->run);
	if (v && v->rerun_of[0])
		cJSON_AddStringToObject(rec, "rerun_of", v->rerun_of);
	if (meta->lot[0])
		cJSON_AddStringToObject(rec, "lot", meta->lot);
	if (meta->operator_[0])
		cJSON_AddStringToObject(rec, "operator", meta->operator_);
	cJSON_AddNumberToObject(rec, "value", value);
	if (v && isfinite(v->z))
		cJSON_AddNumberToObject(rec, "z", round(v->z * 1000) / 1000);
	else
		cJSON_AddNullToObject(rec, "z");
	cJSON_AddStringToObject(rec, "status", status);
	cJSON_AddItemToObject(rec, "rules", westgard_rules_json(v ? v->fired : 0));
	if (v && v->n_involved) {
		cJSON *inv = cJSON_CreateArray();
		for (size_t i = 0; i < v->n_involved; i++) {
			cJSON *o = cJSON_CreateObject();
			int l = v->involved[i].level;
			cJSON_AddStringToObject(o, "level",
						q->cfg && l >= 0 && (size_t)l < q->cfg->n_levels
							? q->cfg->levels[l].name
							: "?");
			cJSON_AddStringToObject(o, "run", v->involved[i].run);
			cJSON_AddItemToArray(inv, o);
		}
		cJSON_AddItemToObject(rec, "involved", inv);
	}
	audit_write(d->audit, t, seq, rec);
}

static void target_record(struct labqcd *d, uint64_t seq, const struct qc_analyte *q,
			  const struct qc_verdict *v, double t)
{
	char key[ID_MAX * 4 + 4];
	cJSON *rec = cJSON_CreateObject();

	snprintf(key, sizeof(key), "%s/%s", q->key, q->cfg->levels[v->target_level].name);
	cJSON_AddStringToObject(rec, "type", "target");
	cJSON_AddStringToObject(rec, "key", key);
	if (v->target_lot[0])
		cJSON_AddStringToObject(rec, "lot", v->target_lot);
	cJSON_AddNumberToObject(rec, "mean", v->target_mean);
	cJSON_AddNumberToObject(rec, "sd", v->target_sd);
	cJSON_AddStringToObject(rec, "source", v->target_source ? v->target_source : "baseline");
	if (v->target_source && strcmp(v->target_source, "provisional") == 0 &&
	    v->target_cv_from[0])
		cJSON_AddStringToObject(rec, "cv_from_lot", v->target_cv_from);
	audit_write(d->audit, t, seq, rec);
}

static void auto_record(struct labqcd *d, uint64_t seq, struct qc_analyte *q,
			const struct westgard_auto *ch, double t)
{
	cJSON *rec;

	if (!ch->have_sigma || ch->rules == q->last_auto_rules)
		return;
	q->last_auto_rules = ch->rules;
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "qc_rules");
	cJSON_AddStringToObject(rec, "key", q->key);
	cJSON_AddNumberToObject(rec, "sigma", round(ch->sigma * 100) / 100);
	cJSON_AddItemToObject(rec, "rules", westgard_rules_json(ch->rules));
	cJSON_AddNumberToObject(rec, "n", ch->n_per_run);
	cJSON_AddNumberToObject(rec, "replicates", q->p.replicates > 0 ? q->p.replicates : ch->replicates);
	cJSON_AddNumberToObject(rec, "runs", ch->runs);
	/* a missing bias counts as 0: say so in the record */
	cJSON_AddNumberToObject(rec, "bias", ch->bias_pct);
	if (ch->bias_missing)
		cJSON_AddStringToObject(rec, "bias_note", "bias not given");
	cJSON_AddStringToObject(rec, "source", "Westgard Sigma Rules");
	audit_write(d->audit, t, seq, rec);
}

void qc_lj_change_add(struct qc_analyte *q, int level, double t, bool lot, const char *label)
{
	size_t cap = sizeof(q->changes[0]) / sizeof(q->changes[0][0]);
	struct lj_change *c;

	if (q->n_changes[level] == cap) { /* keep the newest */
		memmove(&q->changes[level][0], &q->changes[level][1], (cap - 1) * sizeof(*c));
		q->n_changes[level]--;
	}
	c = &q->changes[level][q->n_changes[level]++];
	c->t = t;
	c->lot = lot;
	snprintf(c->label, sizeof(c->label), "%s", label);
}

/* Keep the result for the Levey-Jennings chart, and give the points of
 * its run already kept the run's status so far. */
static void lj_remember(struct qc_analyte *q, int level, double t, double value,
			const struct payload_meta *meta, const struct qc_verdict *v)
{
	char rules[64];

	westgard_rules_format(v->fired, rules, sizeof(rules));
	for (int l = 0; l < WG_LEVELS_MAX; l++)
		for (size_t i = 0; i < q->lj_n[l]; i++) {
			struct lj_point *p = &q->lj[l][i];
			if (strcmp(p->run, v->run) == 0 && !p->unjudged) {
				p->status = v->status;
				snprintf(p->rules, sizeof(p->rules), "%s", rules);
			}
		}
	struct lj_point *p = &q->lj[level][q->lj_next[level]];
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->value = value;
	p->z = v->z;
	p->status = v->status;
	p->unjudged = !v->has_target;
	snprintf(p->run, sizeof(p->run), "%s", v->run);
	snprintf(p->lot, sizeof(p->lot), "%s", meta->lot);
	snprintf(p->rules, sizeof(p->rules), "%s", rules);
	q->lj_next[level] = (q->lj_next[level] + 1) % LJ_KEPT;
	if (q->lj_n[level] < LJ_KEPT)
		q->lj_n[level]++;
	if (v->lot_changed) {
		char label[80];
		snprintf(label, sizeof(label), "lot %s", meta->lot);
		qc_lj_change_add(q, level, t, true, label);
	}
	if (v->target_established) {
		char label[80];
		snprintf(label, sizeof(label), "mean %.4g sd %.3g", v->target_mean, v->target_sd);
		qc_lj_change_add(q, v->target_level, t, false, label);
	}
}

void qc_result(struct labqcd *d, uint64_t seq, const struct topic *tp,
	       const struct payload_meta *meta, double value, double t)
{
	struct qc_analyte *q = qc_get(d, tp);
	struct qc_verdict v;
	int level;

	if (q == NULL)
		return;
	level = level_index(q, tp->level);
	if (!q->params_ok || level < 0) {
		/* Stored and recorded, but no configured targets to judge it
		 * by: say so instead of inventing a verdict. */
		qc_record(d, seq, q, tp->level, meta, value, t, NULL, "unconfigured");
		return;
	}
	struct qc_input in = {
		.level = level, .value = value, .t = t, .run = meta->run, .lot = meta->lot};
	if (westgard_eval(&q->w, &q->p, &in, &v) == -1) {
		qc_record(d, seq, q, tp->level, meta, value, t, NULL, "invalid");
		return;
	}
	qc_record(d, seq, q, tp->level, meta, value, t, &v, westgard_status_name(v.status));
	lj_remember(q, level, t, value, meta, &v);
	qc_runs_note(d, seq, q, &v, t);
	if (v.target_established)
		target_record(d, seq, q, &v, t);
	if (q->p.rules_auto)
		auto_record(d, seq, q, &v.chosen, t);

	char chart[CFG_PATH_MAX + ID_MAX * 4 + 16];
	/* The Levey-Jennings chart of the level that made the verdict. */
	snprintf(chart, sizeof(chart), "%s/%s/%s/qc/%s/%s.png", d->cfg->daemon.www_dir, q->site,
		 q->instrument, q->analyte, tp->level);
	struct cond_key k = {.kind = ALERT_QC,
			     .site = q->site,
			     .instrument = q->instrument,
			     .channel = q->analyte,
			     .rule = "qc",
			     .chart = chart,
			     .snapshot = qc_snapshot};
	struct condition c = {.value = value, .since = t};
	if (v.rejected_now) {
		char fired[128];
		c.state = COND_FIRING;
		c.severity = SEV_CRITICAL;
		condition_summary(&c, "%s run %s rejected: %s (level %s, value %g, z %+.2f)", q->analyte, v.run,
			 westgard_rules_format(v.fired & ~q->p.warning, fired, sizeof(fired)),
			 tp->level, value, v.z);
		conditions_report(d, &k, &c, t, seq);
	}
	if (v.run_accepted_now) {
		char key[ALERT_KEY_MAX];
		snprintf(key, sizeof(key), "%s/qc", q->key);
		if (conditions_firing(d, key)) {
			c.state = COND_OK;
			condition_summary(&c, "%s run %s accepted", q->analyte, v.run);
			conditions_report(d, &k, &c, t, seq);
		}
	}
}

static enum dash_qc_status dash_status_of(enum qc_status s)
{
	switch (s) {
	case QC_ACCEPT:
		return DASH_QC_ACCEPT;
	case QC_WARNING:
		return DASH_QC_WARNING;
	case QC_REJECT:
		return DASH_QC_REJECT;
	case QC_BASELINE:
	case QC_PROVISIONAL:
		return DASH_QC_BASELINE;
	}
	return DASH_QC_NONE;
}

/* Per lot of a level: n, mean, SD, CV, cumulative and this month, of all
 * results and of runs not rejected (DASH_STAT_* order). */
static void qc_stats_snapshot(const struct qc_analyte *q, int level, struct dash_qc_level *lv)
{
	for (int s = 0; s < WG_LOTS_MAX; s++) {
		const struct wg_lot *lt = &q->w.lv[level].lots[s];
		const struct wg_sum *sums[DASH_STAT_ROWS] = {&lt->st.all, &lt->st.acc,
							     &lt->st.month_all, &lt->st.month_acc};
		double v[DASH_STAT_ROWS][4];

		if (!lt->used)
			continue;
		for (int r = 0; r < DASH_STAT_ROWS; r++) {
			struct westgard_stat st;
			westgard_stat_of(sums[r], &st);
			v[r][0] = st.n, v[r][1] = st.mean, v[r][2] = st.sd, v[r][3] = st.cv;
		}
		if (dash_snap_add_stat(lv, lt->lot, v) == NULL)
			return;
	}
}

/* The dashboard's view of an instrument's QC: per analyte today's worst
 * run status (since `day_start`), per level the targets in force and the
 * kept results, oldest first. */
void qc_snapshot(struct labqcd *d, const char *site, const char *instrument,
		 struct dash_instrument *di, double day_start)
{
	struct qc_analyte *q, *tmp;
	static const int worst[] = {[DASH_QC_NONE] = 0, [DASH_QC_BASELINE] = 1, [DASH_QC_ACCEPT] = 2,
				    [DASH_QC_WARNING] = 3, [DASH_QC_REJECT] = 4};

	HASH_ITER(hh, d->qc, q, tmp)
	{
		if (strcmp(q->site, site) != 0 || strcmp(q->instrument, instrument) != 0 || !q->cfg)
			continue;
		enum dash_qc_status today = DASH_QC_NONE;
		for (size_t l = 0; l < q->cfg->n_levels && l < WG_LEVELS_MAX; l++)
			for (size_t i = 0; i < q->lj_n[l]; i++) {
				const struct lj_point *p = &q->lj[l][i];
				enum dash_qc_status st = dash_status_of(p->status);
				if (p->t >= day_start && !p->unjudged && worst[st] > worst[today])
					today = st;
			}
		struct dash_qc_analyte *a = dash_snap_add_analyte(di, q->analyte, today);
		if (a == NULL)
			return;
		qc_runs_snapshot(q, a);
		for (size_t l = 0; l < q->cfg->n_levels && l < WG_LEVELS_MAX; l++) {
			double mean = NAN, sd = NAN;
			const struct wg_level *wl = &q->w.lv[l];
			for (int s = 0; s < WG_LOTS_MAX; s++)
				if (wl->lots[s].used && strcmp(wl->lots[s].lot, wl->last_lot) == 0 &&
				    !westgard__lot_target(&q->p, &q->w, (int)l, s, &mean, &sd))
					mean = sd = NAN;
			struct dash_qc_level *lv =
				dash_snap_add_level(a, q->cfg->levels[l].name, mean, sd);
			if (lv == NULL)
				return;
			qc_stats_snapshot(q, (int)l, lv);
			for (size_t i = 0; i < q->lj_n[l]; i++) {
				const struct lj_point *p =
					&q->lj[l][(q->lj_next[l] + LJ_KEPT - q->lj_n[l] + i) % LJ_KEPT];
				/* the chart takes rules space-separated */
				char rules[64];
				snprintf(rules, sizeof(rules), "%s", p->rules);
				for (char *c = rules; *c; c++)
					if (*c == '/')
						*c = ' ';
				dash_snap_add_result(lv, p->t, p->value, p->z,
						     p->unjudged ? DASH_QC_BASELINE
								 : dash_status_of(p->status),
						     p->run, p->lot, rules);
			}
			for (size_t i = 0; i < q->n_changes[l]; i++)
				dash_snap_add_change(lv, q->changes[l][i].t,
						     q->changes[l][i].lot ? DASH_CHANGE_LOT
									  : DASH_CHANGE_TARGET,
						     q->changes[l][i].label);
		}
	}
}
