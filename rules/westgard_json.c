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
 * Shape (version 2; version 1, before per-lot histories and run-aligned
 * count rules, is refused with a message saying so):
 *   {"version":2,"next_seq":N,"next_run_no":N,
 *    "levels":[{"seen":b,"last_lot":s,"lots":[LOT x WG_LOTS_MAX]}...],
 *    "inter":[E...],
 *    "run":{"open":b,"id_assigned":b,"id":s,"rerun_of":s,"run_no":N,"first_t":x,
 *           "status":n,"fired":n,"levels_seen":n,"count":[[n...]...],
 *           "had_baseline":b,"had_provisional":b,"accepted_reported":b,
 *           "res":[E...],"involved":[[seq,level,run]...]}}
 *   LOT = {"used":b,"lot":s,"last_seq":N,"learn":n,"carry_cv":x,"carry_from":s,
 *          "bl_n":n,"bl_mean":x,"bl_m2":x,"bl_first_run":N,"bl_two_runs":b,
 *          "established":b,"est_mean":x,"est_sd":x,"hist":[E...],
 *          "stats":{"month":n,"all":S,"acc":S,"month_all":S,"month_acc":S}}
 *   E = [seq, run_no, t, value, z or null, level, lot slot, run];  S = [n, mean, m2]
 * Loading checks every field and refuses the whole object on any error.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

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
	cJSON_AddItemToArray(a, num((double)e->run_no));
	cJSON_AddItemToArray(a, num(e->t));
	cJSON_AddItemToArray(a, num(e->value));
	cJSON_AddItemToArray(a, num(e->z));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(e->level));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(e->lot));
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

static cJSON *sum_to_json(const struct wg_sum *s)
{
	cJSON *a = cJSON_CreateArray();

	if (a) {
		cJSON_AddItemToArray(a, num(s->n));
		cJSON_AddItemToArray(a, num(s->mean));
		cJSON_AddItemToArray(a, num(s->m2));
	}
	return a;
}

static cJSON *lot_to_json(const struct wg_lot *lt)
{
	cJSON *x = cJSON_CreateObject(), *st;

	if (x == NULL)
		return NULL;
	cJSON_AddBoolToObject(x, "used", lt->used);
	cJSON_AddStringToObject(x, "lot", lt->lot);
	add_num(x, "last_seq", (double)lt->last_seq);
	cJSON_AddNumberToObject(x, "learn", lt->learn);
	add_num(x, "carry_cv", lt->carry_cv);
	cJSON_AddStringToObject(x, "carry_from", lt->carry_from);
	cJSON_AddNumberToObject(x, "bl_n", lt->bl_n);
	add_num(x, "bl_mean", lt->bl_mean);
	add_num(x, "bl_m2", lt->bl_m2);
	add_num(x, "bl_first_run", (double)lt->bl_first_run);
	cJSON_AddBoolToObject(x, "bl_two_runs", lt->bl_two_runs);
	cJSON_AddBoolToObject(x, "established", lt->established);
	add_num(x, "est_mean", lt->est_mean);
	add_num(x, "est_sd", lt->est_sd);
	cJSON_AddItemToObject(x, "hist", entries_to_json(lt->hist, lt->n_hist));
	st = cJSON_AddObjectToObject(x, "stats");
	if (st) {
		cJSON_AddNumberToObject(st, "month", lt->st.month);
		cJSON_AddItemToObject(st, "all", sum_to_json(&lt->st.all));
		cJSON_AddItemToObject(st, "acc", sum_to_json(&lt->st.acc));
		cJSON_AddItemToObject(st, "month_all", sum_to_json(&lt->st.month_all));
		cJSON_AddItemToObject(st, "month_acc", sum_to_json(&lt->st.month_acc));
	}
	if (!cJSON_GetObjectItem(x, "hist") || !st || !cJSON_GetObjectItem(st, "month_acc")) {
		cJSON_Delete(x);
		return NULL;
	}
	return x;
}

cJSON *westgard_to_json(const struct westgard *w)
{
	cJSON *o = cJSON_CreateObject(), *levels, *run, *inv, *cnt;
	const struct wg_run *r = &w->run;
	bool ok = true;

	if (o == NULL)
		return NULL;
	cJSON_AddNumberToObject(o, "version", 2);
	add_num(o, "next_seq", (double)w->next_seq);
	add_num(o, "next_run_no", (double)w->next_run_no);
	levels = cJSON_AddArrayToObject(o, "levels");
	for (size_t l = 0; levels && l < WG_LEVELS_MAX; l++) {
		const struct wg_level *lv = &w->lv[l];
		cJSON *x = cJSON_CreateObject(), *lots;

		if (x == NULL)
			break;
		cJSON_AddBoolToObject(x, "seen", lv->seen);
		cJSON_AddStringToObject(x, "last_lot", lv->last_lot);
		lots = cJSON_AddArrayToObject(x, "lots");
		for (int i = 0; lots && i < WG_LOTS_MAX; i++) {
			cJSON *lj = lot_to_json(&lv->lots[i]);

			ok = ok && lj;
			if (lj)
				cJSON_AddItemToArray(lots, lj);
		}
		ok = ok && lots;
		cJSON_AddItemToArray(levels, x);
	}
	cJSON_AddItemToObject(o, "inter", entries_to_json(w->inter, w->n_inter));
	run = cJSON_AddObjectToObject(o, "run");
	if (run) {
		cJSON_AddBoolToObject(run, "open", r->open);
		cJSON_AddBoolToObject(run, "id_assigned", r->id_assigned);
		cJSON_AddStringToObject(run, "id", r->id);
		cJSON_AddStringToObject(run, "rerun_of", r->rerun_of);
		add_num(run, "run_no", (double)r->run_no);
		add_num(run, "first_t", r->first_t);
		cJSON_AddNumberToObject(run, "status", r->status);
		cJSON_AddNumberToObject(run, "fired", r->fired);
		cJSON_AddNumberToObject(run, "levels_seen", r->levels_seen);
		cnt = cJSON_AddArrayToObject(run, "count");
		for (int l = 0; cnt && l < WG_LEVELS_MAX; l++) {
			cJSON *a = cJSON_CreateArray();

			for (int i = 0; a && i < WG_LOTS_MAX; i++)
				cJSON_AddItemToArray(a, cJSON_CreateNumber(r->count[l][i]));
			ok = ok && a;
			cJSON_AddItemToArray(cnt, a);
		}
		ok = ok && cnt;
		cJSON_AddBoolToObject(run, "had_baseline", r->had_baseline);
		cJSON_AddBoolToObject(run, "had_provisional", r->had_provisional);
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
	if (!ok || cJSON_GetArraySize(levels) != WG_LEVELS_MAX || !cJSON_GetObjectItem(o, "inter") ||
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
	double seq = 0, rn = 0, t = NAN, v = NAN, z = NAN;
	const cJSON *zj = cJSON_GetArrayItem(a, 4), *lvl = cJSON_GetArrayItem(a, 5),
	            *lot = cJSON_GetArrayItem(a, 6);

	memset(e, 0, sizeof(*e));
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 8 ||
	    !rules_json_value(cJSON_GetArrayItem(a, 0), &seq) || !is_whole(seq, 1, SEQ_MAX) ||
	    !rules_json_value(cJSON_GetArrayItem(a, 1), &rn) || !is_whole(rn, 0, SEQ_MAX) ||
	    !rules_json_value(cJSON_GetArrayItem(a, 2), &t) || !isfinite(t) ||
	    !rules_json_value(cJSON_GetArrayItem(a, 3), &v) || !isfinite(v) ||
	    !(cJSON_IsNull(zj) || (rules_json_value(zj, &z) && isfinite(z))) ||
	    !cJSON_IsNumber(lvl) || !is_whole(lvl->valuedouble, 0, WG_LEVELS_MAX - 1) ||
	    !cJSON_IsNumber(lot) || !is_whole(lot->valuedouble, 0, WG_LOTS_MAX - 1)) {
		fail(ld, "bad history entry");
		return;
	}
	e->seq = (uint64_t)seq;
	e->run_no = (uint64_t)rn;
	e->t = t;
	e->value = v;
	e->z = z;
	e->level = (int)lvl->valuedouble;
	e->lot = (int)lot->valuedouble;
	get_str(ld, cJSON_GetArrayItem(a, 7), e->run, "entry run");
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

static void get_sum(struct loader *ld, const cJSON *o, const char *key, struct wg_sum *s)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 3 ||
	    !rules_json_value(cJSON_GetArrayItem(a, 0), &s->n) || !is_whole(s->n, 0, SEQ_MAX) ||
	    !rules_json_value(cJSON_GetArrayItem(a, 1), &s->mean) || !isfinite(s->mean) ||
	    !rules_json_value(cJSON_GetArrayItem(a, 2), &s->m2) || !(s->m2 >= 0) ||
	    !isfinite(s->m2))
		fail(ld, key);
}

static void get_lot(struct loader *ld, const cJSON *x, struct wg_lot *lt, int level, int slot)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(x, "stats");

	lt->used = get_bool(ld, x, "used");
	get_str(ld, cJSON_GetObjectItemCaseSensitive(x, "lot"), lt->lot, "lot");
	lt->last_seq = (uint64_t)get_num(ld, x, "last_seq", 0, SEQ_MAX);
	lt->learn = (enum wg_learn)get_num(ld, x, "learn", WG_LEARN_BASELINE, WG_LEARN_PROVISIONAL);
	lt->carry_cv = get_num(ld, x, "carry_cv", 0, HUGE_VAL);
	get_str(ld, cJSON_GetObjectItemCaseSensitive(x, "carry_from"), lt->carry_from, "carry_from");
	lt->bl_n = (int)get_num(ld, x, "bl_n", 0, 1e9);
	lt->bl_mean = get_num(ld, x, "bl_mean", -HUGE_VAL, HUGE_VAL);
	lt->bl_m2 = get_num(ld, x, "bl_m2", 0, HUGE_VAL);
	lt->bl_first_run = (uint64_t)get_num(ld, x, "bl_first_run", 0, SEQ_MAX);
	lt->bl_two_runs = get_bool(ld, x, "bl_two_runs");
	lt->established = get_bool(ld, x, "established");
	lt->est_mean = get_num(ld, x, "est_mean", -HUGE_VAL, HUGE_VAL);
	lt->est_sd = get_num(ld, x, "est_sd", 0, HUGE_VAL);
	if (lt->established && !(lt->est_sd > 0))
		fail(ld, "est_sd");
	lt->n_hist = get_entries(ld, x, "hist", lt->hist, WG_HIST);
	for (size_t i = 0; i < lt->n_hist; i++)
		if (lt->hist[i].level != level || lt->hist[i].lot != slot ||
		    !isfinite(lt->hist[i].z))
			fail(ld, "hist entry of another level or lot");
	if (!cJSON_IsObject(st)) {
		fail(ld, "stats");
		return;
	}
	lt->st.month = (int)get_num(ld, st, "month", 0, 1e9);
	get_sum(ld, st, "all", &lt->st.all);
	get_sum(ld, st, "acc", &lt->st.acc);
	get_sum(ld, st, "month_all", &lt->st.month_all);
	get_sum(ld, st, "month_acc", &lt->st.month_acc);
}

int westgard_from_json(struct westgard *w, const cJSON *j, char *err, size_t errlen)
{
	struct westgard *s;
	struct loader ld = {err, errlen, 0};
	const cJSON *levels, *run, *inv, *x, *ver;
	size_t l = 0;

	ver = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "version") : NULL;
	if (cJSON_IsNumber(ver) && ver->valuedouble == 1) {
		snprintf(err, errlen,
		         "westgard state of version 1 (one lot per level, interleaved "
		         "histories): not carried over");
		return -1;
	}
	/* a struct westgard is a few tens of kB: not for the stack */
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "westgard state: out of memory");
		return -1;
	}
	if (!cJSON_IsObject(j) || get_num(&ld, j, "version", 2, 2) != 2)
		fail(&ld, "not a version 2 Westgard state");
	s->next_seq = (uint64_t)get_num(&ld, j, "next_seq", 1, SEQ_MAX);
	s->next_run_no = (uint64_t)get_num(&ld, j, "next_run_no", 0, SEQ_MAX);
	levels = cJSON_GetObjectItemCaseSensitive(j, "levels");
	if (!cJSON_IsArray(levels) || cJSON_GetArraySize(levels) != WG_LEVELS_MAX)
		fail(&ld, "levels");
	else
		cJSON_ArrayForEach(x, levels)
		{
			struct wg_level *lv = &s->lv[l];
			const cJSON *lots = cJSON_GetObjectItemCaseSensitive(x, "lots"), *y;
			int i = 0;

			lv->seen = get_bool(&ld, x, "seen");
			get_str(&ld, cJSON_GetObjectItemCaseSensitive(x, "last_lot"), lv->last_lot,
			        "last_lot");
			if (!cJSON_IsArray(lots) || cJSON_GetArraySize(lots) != WG_LOTS_MAX)
				fail(&ld, "lots");
			else
				cJSON_ArrayForEach(y, lots)
				{
					get_lot(&ld, y, &lv->lots[i], (int)l, i);
					i++;
				}
			l++;
		}
	s->n_inter = get_entries(&ld, j, "inter", s->inter, WG_HIST);
	for (size_t i = 0; i < s->n_inter; i++)
		if (!isfinite(s->inter[i].z))
			fail(&ld, "history entry without z");
	run = cJSON_GetObjectItemCaseSensitive(j, "run");
	if (!cJSON_IsObject(run)) {
		fail(&ld, "run");
	} else {
		struct wg_run *r = &s->run;
		const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(run, "count"), *c;
		int cl = 0;

		r->open = get_bool(&ld, run, "open");
		r->id_assigned = get_bool(&ld, run, "id_assigned");
		get_str(&ld, cJSON_GetObjectItemCaseSensitive(run, "id"), r->id, "run id");
		get_str(&ld, cJSON_GetObjectItemCaseSensitive(run, "rerun_of"), r->rerun_of,
		        "rerun_of");
		r->run_no = (uint64_t)get_num(&ld, run, "run_no", 0, SEQ_MAX);
		r->first_t = get_num(&ld, run, "first_t", -HUGE_VAL, HUGE_VAL);
		r->status = (enum qc_status)get_num(&ld, run, "status", QC_ACCEPT, QC_REJECT);
		r->fired = (unsigned)get_num(&ld, run, "fired", 0, WG_ALL_RULES);
		r->levels_seen =
		    (unsigned)get_num(&ld, run, "levels_seen", 0, (1u << WG_LEVELS_MAX) - 1);
		if (!cJSON_IsArray(cnt) || cJSON_GetArraySize(cnt) != WG_LEVELS_MAX)
			fail(&ld, "count");
		else
			cJSON_ArrayForEach(c, cnt)
			{
				for (int i = 0; i < WG_LOTS_MAX; i++) {
					const cJSON *n = cJSON_GetArrayItem(c, i);

					if (!cJSON_IsNumber(n) || !is_whole(n->valuedouble, 0, 255))
						fail(&ld, "count");
					else
						r->count[cl][i] = (unsigned char)n->valuedouble;
				}
				cl++;
			}
		r->had_baseline = get_bool(&ld, run, "had_baseline");
		r->had_provisional = get_bool(&ld, run, "had_provisional");
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

cJSON *westgard_rules_json(unsigned mask)
{
	const char *names[WG_RULE_COUNT];
	size_t n = westgard_rules_names(mask, names, WG_RULE_COUNT);
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr != NULL && i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
	return arr;
}
