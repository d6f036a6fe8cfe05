/*
 * qc_state.c: the QC part of the checkpoint (the "qc" object of
 * state.json, written and read by state.c): per analyte the engine's
 * state, the Levey-Jennings points and the runs.
 */
#include "daemon/labqcd.h"
#include "dashboards/dashboards.h"
#include "daemon/qc_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

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
				qc_lj_change_add(q, l, t->valuedouble,
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
		struct qc_analyte *q = qc_analyte_get(d, tp.site, tp.instrument, tp.channel);
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
