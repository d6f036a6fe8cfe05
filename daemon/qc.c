/*
 * qc.c: the QC path: a QC result -> Westgard engine -> records and alert.
 *
 * One struct qc_analyte per <site>/<instrument>/<analyte>, found in a
 * hash table, holding the engine state (rules/westgard) and the engine
 * parameters built from the config (rebuilt on reload; the state is
 * kept). Each result gives a `qc` record; a baseline that fixes a target
 * gives a `target` record; a Sigma Rules choice that changes gives a
 * `qc_rules` record; a run that becomes rejected fires the alert
 * <site>/<instrument>/<analyte>/qc, and the next run completed without a
 * rejection resolves it.
 */
#include "labqcd.h"
#include "dashboards.h"
#include "qc_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

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
	westgard_params_init(&q->p, a->n_levels);
	q->p.rules_auto = a->rules_auto;
	if (!a->rules_auto && a->n_rules) {
		q->p.rules = 0;
		for (size_t i = 0; i < a->n_rules; i++) {
			int r = westgard_rule_parse(a->rules[i]);
			if (r >= 0)
				q->p.rules |= WG_BIT(r);
		}
	}
	if (a->n_warning) {
		q->p.warning = 0;
		for (size_t i = 0; i < a->n_warning; i++) {
			int r = westgard_rule_parse(a->warning[i]);
			if (r >= 0)
				q->p.warning |= WG_BIT(r);
		}
	}
	q->p.tea_pct = a->has_tea ? a->tea_pct : 0;
	q->p.run_window_s = a->run_window_s > 0 ? a->run_window_s : WG_RUN_WINDOW_S;
	q->p.baseline_n = a->baseline_n > 1 ? a->baseline_n : WG_BASELINE_N;
	q->p.lot_baseline_n = a->lot_baseline_n > 1 ? a->lot_baseline_n : WG_LOT_BASELINE_N;
	q->p.replicates = a->replicates;
	q->p.scope = (enum wg_scope)a->scope;
	q->p.lot_sd = (enum wg_lot_sd)a->lot_sd;
	q->p.sigma_option = (enum wg_sigma_option)a->sigma_option;
	for (size_t l = 0; l < a->n_levels; l++) {
		size_t n = a->levels[l].n_targets < TARGETS_MAX ? a->levels[l].n_targets : TARGETS_MAX;
		for (size_t i = 0; i < n; i++) {
			const struct cfg_qc_target *ct = &a->levels[l].targets[i];
			struct westgard_target *t = &q->targets[l][i];
			memset(t, 0, sizeof(*t));
			snprintf(t->lot, sizeof(t->lot), "%s", ct->lot);
			t->has_mean_sd = ct->has_mean_sd;
			t->mean = ct->mean;
			t->sd = ct->sd;
			t->has_bias = ct->has_bias;
			t->bias_pct = ct->bias_pct;
		}
		q->p.levels[l].name = a->levels[l].name;
		q->p.levels[l].targets = q->targets[l];
		q->p.levels[l].n_targets = n;
	}
	if (westgard_params_check(&q->p, err, sizeof(err)) == -1) {
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

static cJSON *rule_names(unsigned mask)
{
	const char *names[WG_RULE_COUNT];
	size_t n = westgard_rules_names(mask, names, WG_RULE_COUNT);
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
	return arr;
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
	cJSON_AddItemToObject(rec, "rules", rule_names(v ? v->fired : 0));
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
	cJSON_AddItemToObject(rec, "rules", rule_names(ch->rules));
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

static void lj_change_add(struct qc_analyte *q, int level, double t, bool lot, const char *label)
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
		lj_change_add(q, level, t, true, label);
	}
	if (v->target_established) {
		char label[80];
		snprintf(label, sizeof(label), "mean %.4g sd %.3g", v->target_mean, v->target_sd);
		lj_change_add(q, v->target_level, t, false, label);
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
			     .chart = chart};
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

void qc_reconfigure(struct labqcd *d)
{
	struct qc_analyte *q, *tmp;

	HASH_ITER(hh, d->qc, q, tmp)
	qc_params(d, q);
}

static cJSON *lj_to_json(const struct qc_analyte *q)
{
	cJSON *levels = cJSON_CreateArray();

	for (int l = 0; l < WG_LEVELS_MAX; l++) {
		cJSON *lv = cJSON_CreateObject(), *pts = cJSON_AddArrayToObject(lv, "points");
		cJSON *chs = cJSON_AddArrayToObject(lv, "changes");
		for (size_t i = 0; i < q->lj_n[l]; i++) {
			const struct lj_point *p =
				&q->lj[l][(q->lj_next[l] + LJ_KEPT - q->lj_n[l] + i) % LJ_KEPT];
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "t", p->t);
			cJSON_AddNumberToObject(o, "value", p->value);
			if (isfinite(p->z))
				cJSON_AddNumberToObject(o, "z", p->z);
			cJSON_AddNumberToObject(o, "status", p->status);
			cJSON_AddBoolToObject(o, "unjudged", p->unjudged);
			cJSON_AddStringToObject(o, "run", p->run);
			cJSON_AddStringToObject(o, "lot", p->lot);
			cJSON_AddStringToObject(o, "rules", p->rules);
			cJSON_AddItemToArray(pts, o);
		}
		for (size_t i = 0; i < q->n_changes[l]; i++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "t", q->changes[l][i].t);
			cJSON_AddBoolToObject(o, "lot", q->changes[l][i].lot);
			cJSON_AddStringToObject(o, "label", q->changes[l][i].label);
			cJSON_AddItemToArray(chs, o);
		}
		cJSON_AddItemToArray(levels, lv);
	}
	return levels;
}

static void lj_from_json(struct qc_analyte *q, const cJSON *levels)
{
	const cJSON *lv;
	int l = 0;

	cJSON_ArrayForEach(lv, levels)
	{
		const cJSON *o;
		if (l >= WG_LEVELS_MAX)
			break;
		q->lj_n[l] = q->lj_next[l] = q->n_changes[l] = 0;
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(lv, "points"))
		{
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "t");
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "value");
			const cJSON *z = cJSON_GetObjectItemCaseSensitive(o, "z");
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
			const cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "run");
			const cJSON *lot = cJSON_GetObjectItemCaseSensitive(o, "lot");
			const cJSON *rules = cJSON_GetObjectItemCaseSensitive(o, "rules");
			if (!cJSON_IsNumber(t) || !cJSON_IsNumber(v) || !cJSON_IsNumber(st) ||
			    st->valueint < QC_ACCEPT || st->valueint > QC_REJECT)
				continue;
			struct lj_point *p = &q->lj[l][q->lj_next[l]];
			memset(p, 0, sizeof(*p));
			p->t = t->valuedouble;
			p->value = v->valuedouble;
			p->z = cJSON_IsNumber(z) ? z->valuedouble : NAN;
			p->status = (enum qc_status)st->valueint;
			p->unjudged = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "unjudged"));
			snprintf(p->run, sizeof(p->run), "%s", cJSON_IsString(run) ? run->valuestring : "");
			snprintf(p->lot, sizeof(p->lot), "%s", cJSON_IsString(lot) ? lot->valuestring : "");
			snprintf(p->rules, sizeof(p->rules), "%s",
				 cJSON_IsString(rules) ? rules->valuestring : "");
			q->lj_next[l] = (q->lj_next[l] + 1) % LJ_KEPT;
			if (q->lj_n[l] < LJ_KEPT)
				q->lj_n[l]++;
		}
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(lv, "changes"))
		{
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "t");
			const cJSON *label = cJSON_GetObjectItemCaseSensitive(o, "label");
			if (cJSON_IsNumber(t) && cJSON_IsString(label))
				lj_change_add(q, l, t->valuedouble,
					      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "lot")),
					      label->valuestring);
		}
		l++;
	}
}

cJSON *qc_to_json(struct labqcd *d)
{
	cJSON *o = cJSON_CreateObject();
	struct qc_analyte *q, *tmp;

	HASH_ITER(hh, d->qc, q, tmp)
	{
		cJSON *w = westgard_to_json(&q->w);
		if (w) {
			cJSON_AddNumberToObject(w, "last_auto_rules", q->last_auto_rules);
			cJSON_AddItemToObject(w, "lj", lj_to_json(q));
			cJSON_AddItemToObject(w, "record", qc_runs_to_json(q));
			cJSON_AddItemToObject(o, q->key, w);
		}
	}
	return o;
}

int qc_from_json(struct labqcd *d, const cJSON *o)
{
	const cJSON *w;
	char err[160];

	cJSON_ArrayForEach(w, o)
	{
		struct topic tp;
		const char *k = w->string;
		const char *s1 = strchr(k, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
		if (!s1 || !s2 || s1 - k >= ID_MAX || s2 - s1 - 1 >= ID_MAX || strlen(s2 + 1) >= ID_MAX)
			return -1;
		memset(&tp, 0, sizeof(tp));
		memcpy(tp.site, k, (size_t)(s1 - k));
		memcpy(tp.instrument, s1 + 1, (size_t)(s2 - s1 - 1));
		snprintf(tp.channel, sizeof(tp.channel), "%s", s2 + 1);
		struct qc_analyte *q = qc_get(d, &tp);
		const cJSON *ver = cJSON_GetObjectItemCaseSensitive(w, "version");
		if (q && cJSON_IsNumber(ver) && ver->valuedouble == 1) {
			/* before issue 17: one lot per level, interleaved histories;
			 * the rules' history restarts, the rest of the state stays */
			log_warnx("state: qc %s: Westgard state of version 1 not carried over; "
				  "its history and targets learnt restart", k);
			continue;
		}
		if (q == NULL || westgard_from_json(&q->w, w, err, sizeof(err)) == -1) {
			log_warnx("state: qc %s: %s", k, err);
			return -1;
		}
		qc_runs_from_json(q, cJSON_GetObjectItemCaseSensitive(w, "record"));
		const cJSON *la = cJSON_GetObjectItemCaseSensitive(w, "last_auto_rules");
		if (cJSON_IsNumber(la))
			q->last_auto_rules = (unsigned)la->valuedouble;
		lj_from_json(q, cJSON_GetObjectItemCaseSensitive(w, "lj"));
	}
	return 0;
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
