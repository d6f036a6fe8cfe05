/*
 * pbrtqc.c: the patient-based QC path (issue 22): a patient result on
 * <prefix>/<site>/<instrument>/patient/<analyte> -> the analyte's moving
 * statistic (rules/pbrtqc.c) -> its series, its record and its alert.
 *
 * One struct pbrtqc_analyte per <site>/<instrument>/<analyte> in a hash
 * table on the daemon's handle, made on first use, its parameters built
 * from the analyte's `pbrtqc:` (rebuilt on reload; the statistic's state
 * is kept, and saved in state.json's "pbrtqc"). The statistic goes to
 * <rrd_dir>/<site>/<instrument>/pbrtqc/<analyte>.rrd each time it moves;
 * limits learnt from the training period give a `pbrtqc_limits` record;
 * the statistic crossing a limit fires the alert
 * <site>/<instrument>/<analyte>/pbrtqc (kind qc, so QC routes take it),
 * and its coming back inside resolves it. The patient values themselves
 * are not kept: only the journal holds them, until the checkpoint.
 */
#include "daemon/labqcd.h"
#include "dashboards/dashboards.h"
#include "rules/pbrtqc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct pbrtqc_analyte {
	char key[ID_MAX * 3 + 3]; /* site/instrument/analyte */
	char site[ID_MAX], instrument[ID_MAX], analyte[ID_MAX];
	const struct cfg_pbrtqc *cfg; /* NULL: not configured (any more) */
	bool params_ok;
	struct pbrtqc_params p;
	struct pbrtqc s;
	double last_stat, last_t, stored_t; /* NAN / 0 until there is one */
	UT_hash_handle hh;
};

static const struct cfg_pbrtqc *cfg_of(struct labqcd *d, const char *site, const char *instrument,
				       const char *analyte)
{
	const struct cfg_instrument *ins = config_instrument(d->cfg, site, instrument);
	const struct cfg_qc_analyte *a = ins ? config_analyte(ins, analyte) : NULL;

	return a && a->pbrtqc.enabled ? &a->pbrtqc : NULL;
}

/* The rule's parameters from the config (shared with --pbrtqc-design). */
void pbrtqc_params_from_config(const struct cfg_pbrtqc *c, struct pbrtqc_params *p)
{
	pbrtqc_params_init(p);
	p->method = (enum pbrtqc_method)c->method;
	p->block = c->block;
	p->lambda = c->lambda;
	p->has_truncate = c->has_truncate;
	p->trunc_lo = c->truncate[0];
	p->trunc_hi = c->truncate[1];
	p->has_target = c->has_target;
	p->target = c->target;
	p->has_limits = c->has_limits;
	p->lo = c->limits[0];
	p->hi = c->limits[1];
	p->train_n = c->train;
	p->far = c->far;
}

static void params(struct labqcd *d, struct pbrtqc_analyte *a)
{
	char err[160];

	a->cfg = cfg_of(d, a->site, a->instrument, a->analyte);
	a->params_ok = false;
	if (a->cfg == NULL)
		return;
	pbrtqc_params_from_config(a->cfg, &a->p);
	if (pbrtqc_params_check(&a->p, err, sizeof(err)) == -1) {
		log_warnx("pbrtqc: %s: %s; its patient results are not judged", a->key, err);
		return;
	}
	a->params_ok = true;
}

static struct pbrtqc_analyte *get(struct labqcd *d, const char *site, const char *instrument,
				  const char *analyte)
{
	char key[ID_MAX * 3 + 3];
	struct pbrtqc_analyte *a;

	snprintf(key, sizeof(key), "%s/%s/%s", site, instrument, analyte);
	HASH_FIND_STR(d->pbrtqc, key, a);
	if (a)
		return a;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	snprintf(a->key, sizeof(a->key), "%s", key);
	snprintf(a->site, sizeof(a->site), "%s", site);
	snprintf(a->instrument, sizeof(a->instrument), "%s", instrument);
	snprintf(a->analyte, sizeof(a->analyte), "%s", analyte);
	a->last_stat = NAN;
	pbrtqc_init(&a->s);
	params(d, a);
	HASH_ADD_STR(d->pbrtqc, key, a);
	return a;
}

bool pbrtqc_configured(struct labqcd *d, const char *site, const char *instrument,
		       const char *analyte)
{
	return cfg_of(d, site, instrument, analyte) != NULL;
}

static void limits_record(struct labqcd *d, uint64_t seq, const struct pbrtqc_analyte *a,
			  const struct pbrtqc_verdict *v, double t)
{
	cJSON *rec = cJSON_CreateObject();

	cJSON_AddStringToObject(rec, "type", "pbrtqc_limits");
	cJSON_AddStringToObject(rec, "key", a->key);
	cJSON_AddStringToObject(rec, "method", pbrtqc_method_name(a->p.method));
	cJSON_AddNumberToObject(rec, "block", a->p.block);
	cJSON_AddNumberToObject(rec, "lo", v->lo);
	cJSON_AddNumberToObject(rec, "hi", v->hi);
	cJSON_AddNumberToObject(rec, "mean", v->train_mean);
	cJSON_AddNumberToObject(rec, "sd", v->train_sd);
	cJSON_AddNumberToObject(rec, "n", a->p.train_n);
	cJSON_AddNumberToObject(rec, "false_alarm_rate", a->p.far);
	cJSON_AddStringToObject(rec, "source", "training (normal approximation)");
	audit_write(d->audit, t, seq, rec);
}

static void report(struct labqcd *d, uint64_t seq, struct pbrtqc_analyte *a,
		   const struct pbrtqc_verdict *v, double t)
{
	static const char *const stat_names[] = {"moving average", "moving median", "EWMA"};
	struct cond_key k = {.kind = ALERT_QC,
			     .site = a->site,
			     .instrument = a->instrument,
			     .channel = a->analyte,
			     .rule = "pbrtqc"};
	struct condition c = {.value = v->stat, .since = t, .peak = NAN};

	if (v->crossed_now) {
		c.state = COND_FIRING;
		c.severity = a->cfg->severity != SEV_NONE ? a->cfg->severity : SEV_WARNING;
		condition_summary(&c, "%s patient %s %.4g %s the limit %.4g (block %d)", a->analyte,
				  stat_names[a->p.method], v->stat, v->side > 0 ? "above" : "below",
				  v->side > 0 ? v->hi : v->lo, a->p.block);
	} else {
		c.state = COND_OK;
		condition_summary(&c, "%s patient %s %.4g back within %.4g .. %.4g", a->analyte,
				  stat_names[a->p.method], v->stat, v->lo, v->hi);
	}
	conditions_report(d, &k, &c, t, seq);
}

void pbrtqc_result(struct labqcd *d, uint64_t seq, const struct topic *tp, double value, double t)
{
	struct pbrtqc_analyte *a = get(d, tp->site, tp->instrument, tp->channel);
	struct pbrtqc_verdict v;
	char relpath[ID_MAX * 4 + 16];

	if (a == NULL || !a->params_ok)
		return;
	/* after a crash, the saved state has every result up to state_seq */
	if (seq != 0 && seq <= d->state_seq)
		return;
	if (pbrtqc_eval(&a->s, &a->p, value, &v) == -1)
		return;
	if (v.limits_learnt_now)
		limits_record(d, seq, a, &v, t);
	if (!v.has_stat)
		return;
	a->last_stat = v.stat;
	a->last_t = t;
	/* the statistic moves with each result; results a little out of
	 * order still give one point each, a millisecond apart */
	double at = t > a->stored_t ? t : a->stored_t + 0.001;
	snprintf(relpath, sizeof(relpath), "%s/%s/pbrtqc/%s", a->site, a->instrument, a->analyte);
	if (store_put(d->store, relpath, SERIES_QC, at, v.stat, seq) == STORE_QUEUED)
		a->stored_t = at;
	if (v.crossed_now || v.back_now)
		report(d, seq, a, &v, t);
}

void pbrtqc_reconfigure(struct labqcd *d)
{
	struct pbrtqc_analyte *a, *tmp;

	HASH_ITER(hh, d->pbrtqc, a, tmp)
	params(d, a);
}

/* The instrument page: the statistic as a channel of its own,
 * "pbrtqc-<analyte>", its limits as the channel's, its series graphed
 * like any other. */
void pbrtqc_snapshot(struct labqcd *d, const char *site, const char *instrument,
		     struct dash_instrument *di)
{
	struct pbrtqc_analyte *a, *tmp;
	char name[ID_MAX + 8], rel[ID_MAX * 4 + 20];

	HASH_ITER(hh, d->pbrtqc, a, tmp)
	{
		double lo, hi;
		if (strcmp(a->site, site) != 0 || strcmp(a->instrument, instrument) != 0 ||
		    !a->params_ok)
			continue;
		snprintf(name, sizeof(name), "pbrtqc-%s", a->analyte);
		if (strlen(name) >= ID_MAX)
			continue; /* not a name the page can carry */
		snprintf(rel, sizeof(rel), "%s/%s/pbrtqc/%s.rrd", site, instrument, a->analyte);
		struct dash_channel *dc = dash_snap_add_channel(di, name, "", rel);
		if (dc == NULL)
			return;
		dc->last_value = a->last_stat;
		dc->last_time = isfinite(a->last_stat) ? a->last_t : NAN;
		if (pbrtqc_limits(&a->s, &a->p, &lo, &hi)) {
			dc->min = lo;
			dc->max = hi;
		}
	}
}

cJSON *pbrtqc_to_state(struct labqcd *d)
{
	cJSON *o = cJSON_CreateObject();
	struct pbrtqc_analyte *a, *tmp;

	HASH_ITER(hh, d->pbrtqc, a, tmp)
	{
		cJSON *s = pbrtqc_to_json(&a->s);
		if (s == NULL)
			continue;
		if (isfinite(a->last_stat)) {
			cJSON_AddNumberToObject(s, "last_stat", a->last_stat);
			cJSON_AddNumberToObject(s, "last_t", a->last_t);
		}
		cJSON_AddNumberToObject(s, "stored_t", a->stored_t);
		cJSON_AddItemToObject(o, a->key, s);
	}
	return o;
}

int pbrtqc_from_state(struct labqcd *d, const cJSON *o)
{
	const cJSON *j;
	char err[160];

	cJSON_ArrayForEach(j, o)
	{
		char site[ID_MAX], instrument[ID_MAX], analyte[ID_MAX];
		const char *k = j->string, *s1 = strchr(k, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
		if (!s1 || !s2 || s1 - k >= ID_MAX || s2 - s1 - 1 >= ID_MAX || strlen(s2 + 1) >= ID_MAX)
			return -1;
		snprintf(site, sizeof(site), "%.*s", (int)(s1 - k), k);
		snprintf(instrument, sizeof(instrument), "%.*s", (int)(s2 - s1 - 1), s1 + 1);
		snprintf(analyte, sizeof(analyte), "%s", s2 + 1);
		struct pbrtqc_analyte *a = get(d, site, instrument, analyte);
		if (a == NULL || pbrtqc_from_json(&a->s, j, err, sizeof(err)) == -1) {
			log_warnx("state: pbrtqc %s: %s", k, a ? err : "out of memory");
			return -1;
		}
		const cJSON *ls = cJSON_GetObjectItemCaseSensitive(j, "last_stat");
		const cJSON *lt = cJSON_GetObjectItemCaseSensitive(j, "last_t");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "stored_t");
		if (cJSON_IsNumber(ls) && cJSON_IsNumber(lt)) {
			a->last_stat = ls->valuedouble;
			a->last_t = lt->valuedouble;
		}
		if (cJSON_IsNumber(st))
			a->stored_t = st->valuedouble;
	}
	return 0;
}

void pbrtqc_free(struct labqcd *d)
{
	struct pbrtqc_analyte *a, *tmp;

	HASH_ITER(hh, d->pbrtqc, a, tmp)
	{
		HASH_DEL(d->pbrtqc, a);
		free(a);
	}
}
