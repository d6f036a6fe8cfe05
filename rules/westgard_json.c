/*
 * westgard_json.c: the state of one analyte's Westgard engine to a cJSON
 * object and back, so a restart in the middle of a run gives the verdicts
 * an uninterrupted run would have given. cJSON prints a double with up to
 * raw 17-digit numbers (below), so every z, time and baseline sum comes
 * back bit for bit.
 *
 * Doubles are written as raw JSON numbers with 17 significant digits:
 * cJSON's own printer (1.7.x) settles for 15 when they compare equal
 * within DBL_EPSILON, which is not bit for bit, and a restart must give
 * exactly the verdicts an uninterrupted run gives. Reading accepts either
 * form (a raw item from an object never printed, or a parsed number).
 *
 * Shape (version 1):
 *   {"version":1,"next_seq":N,
 *    "levels":[{"seen":b,"lot":s,"bl_n":n,"bl_mean":x,"bl_m2":x,
 *               "established":b,"est_mean":x,"est_sd":x,"hist":[E...]}...],
 *    "inter":[E...],
 *    "run":{"open":b,"id_assigned":b,"id":s,"first_t":x,"status":n,"fired":n,
 *           "levels_seen":n,"had_baseline":b,"accepted_reported":b,
 *           "res":[E...],"involved":[[seq,level,run]...]}}
 *   E = [seq, t, z or null, level, in_view, run]
 * Loading checks every field and refuses the whole object on any error.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define SEQ_MAX 9007199254740992.0 /* 2^53: exact in a JSON number */

static cJSON *num(double x)
{
	return isfinite(x) ? rules_json_exact(x) : cJSON_CreateNull();
}

static void add_num(cJSON *o, const char *key, double x)
{
	cJSON_AddItemToObject(o, key, num(x));
}

static cJSON *entry_to_json(const struct wg_entry *e)
{
	cJSON *a = cJSON_CreateArray();

	if (a == NULL)
		return NULL;
	cJSON_AddItemToArray(a, num((double)e->seq));
	cJSON_AddItemToArray(a, num(e->t));
	cJSON_AddItemToArray(a, num(e->z));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(e->level));
	cJSON_AddItemToArray(a, cJSON_CreateBool(e->in_view));
	cJSON_AddItemToArray(a, cJSON_CreateString(e->run));
	return a;
}

static cJSON *entries_to_json(const struct wg_entry *e, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, entry_to_json(&e[i]));
	return a;
}

cJSON *westgard_to_json(const struct westgard *w)
{
	cJSON *o = cJSON_CreateObject(), *levels, *run, *inv;
	const struct wg_run *r = &w->run;

	if (o == NULL)
		return NULL;
	cJSON_AddNumberToObject(o, "version", 1);
	add_num(o, "next_seq", (double)w->next_seq);
	levels = cJSON_AddArrayToObject(o, "levels");
	for (size_t l = 0; levels && l < WG_LEVELS_MAX; l++) {
		const struct wg_level *lv = &w->lv[l];
		cJSON *x = cJSON_CreateObject();

		if (x == NULL)
			break;
		cJSON_AddBoolToObject(x, "seen", lv->seen);
		cJSON_AddStringToObject(x, "lot", lv->lot);
		cJSON_AddNumberToObject(x, "bl_n", lv->bl_n);
		add_num(x, "bl_mean", lv->bl_mean);
		add_num(x, "bl_m2", lv->bl_m2);
		cJSON_AddBoolToObject(x, "established", lv->established);
		add_num(x, "est_mean", lv->est_mean);
		add_num(x, "est_sd", lv->est_sd);
		cJSON_AddItemToObject(x, "hist", entries_to_json(lv->hist, lv->n_hist));
		cJSON_AddItemToArray(levels, x);
	}
	cJSON_AddItemToObject(o, "inter", entries_to_json(w->inter, w->n_inter));
	run = cJSON_AddObjectToObject(o, "run");
	if (run) {
		cJSON_AddBoolToObject(run, "open", r->open);
		cJSON_AddBoolToObject(run, "id_assigned", r->id_assigned);
		cJSON_AddStringToObject(run, "id", r->id);
		add_num(run, "first_t", r->first_t);
		cJSON_AddNumberToObject(run, "status", r->status);
		cJSON_AddNumberToObject(run, "fired", r->fired);
		cJSON_AddNumberToObject(run, "levels_seen", r->levels_seen);
		cJSON_AddBoolToObject(run, "had_baseline", r->had_baseline);
		cJSON_AddBoolToObject(run, "accepted_reported", r->accepted_reported);
		cJSON_AddItemToObject(run, "res", entries_to_json(r->res, r->n));
		inv = cJSON_AddArrayToObject(run, "involved");
		for (size_t i = 0; inv && i < r->n_involved; i++) {
			cJSON *a = cJSON_CreateArray();

			if (a == NULL)
				break;
			cJSON_AddItemToArray(a, num((double)r->involved[i].seq));
			cJSON_AddItemToArray(a, cJSON_CreateNumber(r->involved[i].level));
			cJSON_AddItemToArray(a, cJSON_CreateString(r->involved[i].run));
			cJSON_AddItemToArray(inv, a);
		}
	}
	/* any allocation that failed above left a member out: refuse */
	if (cJSON_GetArraySize(levels) != WG_LEVELS_MAX || !cJSON_GetObjectItem(o, "inter") ||
	    !run || !cJSON_GetObjectItem(run, "involved") || !cJSON_GetObjectItem(run, "res")) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- loading ---- */

struct loader {
	char *err;
	size_t errlen;
	int failed;
};

static void fail(struct loader *ld, const char *what)
{
	if (!ld->failed)
		snprintf(ld->err, ld->errlen, "westgard state: %s", what);
	ld->failed = 1;
}

static double get_num(struct loader *ld, const cJSON *o, const char *key, double lo, double hi)
{
	double v;

	if (!rules_json_value(cJSON_GetObjectItemCaseSensitive(o, key), &v) || !isfinite(v) || v < lo ||
	    v > hi) {
		fail(ld, key);
		return 0;
	}
	return v;
}

static bool get_bool(struct loader *ld, const cJSON *o, const char *key)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsBool(x)) {
		fail(ld, key);
		return false;
	}
	return cJSON_IsTrue(x);
}

static void get_str(struct loader *ld, const cJSON *x, char dst[WG_ID_MAX], const char *what)
{
	if (!cJSON_IsString(x) || strlen(x->valuestring) >= WG_ID_MAX) {
		fail(ld, what);
		return;
	}
	snprintf(dst, WG_ID_MAX, "%s", x->valuestring);
}

static bool is_whole(double x, double lo, double hi)
{
	return isfinite(x) && x >= lo && x <= hi && x == floor(x);
}

static void get_entry(struct loader *ld, const cJSON *a, struct wg_entry *e)
{
	const cJSON *seq = cJSON_GetArrayItem(a, 0), *t = cJSON_GetArrayItem(a, 1),
	            *z = cJSON_GetArrayItem(a, 2), *lvl = cJSON_GetArrayItem(a, 3),
	            *view = cJSON_GetArrayItem(a, 4);
	double tv = NAN, zv = NAN, sv = 0;

	memset(e, 0, sizeof(*e));
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 6 || !rules_json_value(seq, &sv) ||
	    !is_whole(sv, 1, SEQ_MAX) || !rules_json_value(t, &tv) || !isfinite(tv) ||
	    !(cJSON_IsNull(z) || (rules_json_value(z, &zv) && isfinite(zv))) || !cJSON_IsNumber(lvl) ||
	    !is_whole(lvl->valuedouble, 0, WG_LEVELS_MAX - 1) || !cJSON_IsBool(view)) {
		fail(ld, "bad history entry");
		return;
	}
	e->seq = (uint64_t)sv;
	e->t = tv;
	e->z = zv;
	e->level = (int)lvl->valuedouble;
	e->in_view = cJSON_IsTrue(view);
	if (e->in_view && !isfinite(e->z))
		fail(ld, "history entry without z");
	get_str(ld, cJSON_GetArrayItem(a, 5), e->run, "entry run");
}

static size_t get_entries(struct loader *ld, const cJSON *o, const char *key, struct wg_entry *e,
                          size_t max)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *x;
	size_t n = 0;

	if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) > max) {
		fail(ld, key);
		return 0;
	}
	cJSON_ArrayForEach(x, a) get_entry(ld, x, &e[n++]);
	return n;
}

int westgard_from_json(struct westgard *w, const cJSON *j, char *err, size_t errlen)
{
	struct westgard *s;
	struct loader ld = {err, errlen, 0};
	const cJSON *levels, *run, *inv, *x;
	size_t l = 0;

	/* a struct westgard is a few tens of kB: not for the stack */
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "westgard state: out of memory");
		return -1;
	}
	if (!cJSON_IsObject(j) || get_num(&ld, j, "version", 1, 1) != 1)
		fail(&ld, "not a version 1 Westgard state");
	s->next_seq = (uint64_t)get_num(&ld, j, "next_seq", 1, SEQ_MAX);
	levels = cJSON_GetObjectItemCaseSensitive(j, "levels");
	if (!cJSON_IsArray(levels) || cJSON_GetArraySize(levels) != WG_LEVELS_MAX)
		fail(&ld, "levels");
	else
		cJSON_ArrayForEach(x, levels)
		{
			struct wg_level *lv = &s->lv[l++];

			lv->seen = get_bool(&ld, x, "seen");
			get_str(&ld, cJSON_GetObjectItemCaseSensitive(x, "lot"), lv->lot, "lot");
			lv->bl_n = (int)get_num(&ld, x, "bl_n", 0, 1e9);
			lv->bl_mean = get_num(&ld, x, "bl_mean", -HUGE_VAL, HUGE_VAL);
			lv->bl_m2 = get_num(&ld, x, "bl_m2", 0, HUGE_VAL);
			lv->established = get_bool(&ld, x, "established");
			lv->est_mean = get_num(&ld, x, "est_mean", -HUGE_VAL, HUGE_VAL);
			lv->est_sd = get_num(&ld, x, "est_sd", 0, HUGE_VAL);
			if (lv->established && !(lv->est_sd > 0))
				fail(&ld, "est_sd");
			lv->n_hist = get_entries(&ld, x, "hist", lv->hist, WG_HIST);
			for (size_t i = 0; i < lv->n_hist; i++)
				if (lv->hist[i].level != (int)l - 1 || !lv->hist[i].in_view)
					fail(&ld, "hist entry of another level");
		}
	s->n_inter = get_entries(&ld, j, "inter", s->inter, WG_HIST);
	run = cJSON_GetObjectItemCaseSensitive(j, "run");
	if (!cJSON_IsObject(run)) {
		fail(&ld, "run");
	} else {
		struct wg_run *r = &s->run;

		r->open = get_bool(&ld, run, "open");
		r->id_assigned = get_bool(&ld, run, "id_assigned");
		get_str(&ld, cJSON_GetObjectItemCaseSensitive(run, "id"), r->id, "run id");
		r->first_t = get_num(&ld, run, "first_t", -HUGE_VAL, HUGE_VAL);
		r->status = (enum qc_status)get_num(&ld, run, "status", QC_ACCEPT, QC_REJECT);
		r->fired = (unsigned)get_num(&ld, run, "fired", 0, WG_ALL_RULES);
		r->levels_seen =
		    (unsigned)get_num(&ld, run, "levels_seen", 0, (1u << WG_LEVELS_MAX) - 1);
		r->had_baseline = get_bool(&ld, run, "had_baseline");
		r->accepted_reported = get_bool(&ld, run, "accepted_reported");
		r->n = get_entries(&ld, run, "res", r->res, WG_RUN_MAX);
		inv = cJSON_GetObjectItemCaseSensitive(run, "involved");
		if (!cJSON_IsArray(inv) || cJSON_GetArraySize(inv) > WG_INVOLVED_MAX) {
			fail(&ld, "involved");
		} else {
			cJSON_ArrayForEach(x, inv)
			{
				struct wg_ref *ref = &r->involved[r->n_involved++];
				const cJSON *seq = cJSON_GetArrayItem(x, 0);
				const cJSON *lvl = cJSON_GetArrayItem(x, 1);
				double sv = 0;

				if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) != 3 ||
				    !rules_json_value(seq, &sv) || !is_whole(sv, 1, SEQ_MAX) ||
				    !cJSON_IsNumber(lvl) ||
				    !is_whole(lvl->valuedouble, 0, WG_LEVELS_MAX - 1)) {
					fail(&ld, "involved entry");
					break;
				}
				ref->seq = (uint64_t)sv;
				ref->level = (int)lvl->valuedouble;
				get_str(&ld, cJSON_GetArrayItem(x, 2), ref->run, "involved run");
			}
		}
	}
	if (ld.failed) {
		free(s);
		return -1;
	}
	*w = *s;
	free(s);
	return 0;
}
