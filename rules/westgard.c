/*
 * westgard.c: Westgard multirule evaluation of one QC result (DESIGN
 * section 4; Westgard JO, Barry PL, Hunt MR, Groth T, Clin Chem
 * 1981;27:493-501; CLSI C24-Ed4 2016; westgard.com "Westgard Rules" and
 * "Multirule FAQ" pages).
 *
 * This file takes one result through: its lot (westgard_runs.c keeps the
 * lots of a level side by side), its run (westgard_runs.c), its target
 * (configured for its lot, or learnt: below), the rules
 * (westgard_count.c), and the run's status.
 *
 * Targets per level and lot. Configured targets apply to their own lot
 * only; targets without `lot` to results without a lot. A lot without
 * configured targets learns them:
 *  - the level's first lot (nothing to carry from): mean and SD of its
 *    first baseline_n results (sample SD, n-1), accepted meanwhile with
 *    status `baseline`;
 *  - a later lot: a provisional mean from its first lot_baseline_n
 *    results over at least two runs, with the SD carried from the CV of
 *    the level's most recently seen lot that has targets (lot_sd
 *    carry_cv; CLSI C24's practice for a new lot of control material), or
 *    the SD of those results (lot_sd baseline); its results meanwhile
 *    have status `provisional` (the old lot, still running in parallel,
 *    judges the run).
 * A learnt target is fixed when it is made (a `target` record).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rules/westgard.h"

void westgard_init(struct westgard *w)
{
	memset(w, 0, sizeof(*w));
	w->next_seq = 1;
}

void westgard_free(struct westgard *w)
{
	(void)w;
}

/* Truncating copy. A loop, not snprintf: GCC's -Wrestrict cannot tell
 * two ids of one struct westgard apart when lot_begin is inlined. */
static void copy_id(char dst[WG_ID_MAX], const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != '\0' && i < WG_ID_MAX - 1; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

/* A new lot learns provisionally from the CV of the level's most
 * recently seen lot with targets, or of the targets without lot. */
static void lot_begin(struct westgard *w, const struct westgard_params *p, int level, int slot)
{
	struct wg_lot *lt = &w->lv[level].lots[slot];
	const struct westgard_target *none;
	int from = -1;
	double mean, sd;

	for (int i = 0; i < WG_LOTS_MAX; i++) {
		const struct wg_lot *o = &w->lv[level].lots[i];
		double m, s;

		if (i == slot || !o->used || !westgard__lot_target(p, w, level, i, &m, &s) || m == 0)
			continue;
		if (from < 0 || o->last_seq > w->lv[level].lots[from].last_seq)
			from = i;
	}
	lt->learn = WG_LEARN_BASELINE;
	if (from >= 0 && westgard__lot_target(p, w, level, from, &mean, &sd)) {
		lt->learn = WG_LEARN_PROVISIONAL;
		lt->carry_cv = sd / fabs(mean);
		copy_id(lt->carry_from, w->lv[level].lots[from].lot);
	} else if (lt->lot[0] && (none = westgard__target(p, level, "", false)) && none->mean != 0) {
		lt->learn = WG_LEARN_PROVISIONAL;
		lt->carry_cv = none->sd / fabs(none->mean);
		copy_id(lt->carry_from, "");
	}
}

/* One more result of a lot without targets; fixes the target when the
 * lot has enough. */
static void learn(struct wg_lot *lt, const struct westgard_params *p, const struct wg_entry *e,
                  int level, struct qc_verdict *out)
{
	double mean, sd;
	int need;

	{ /* Welford: exact enough, and a restart resumes it bit for bit */
		double d = e->value - lt->bl_mean;

		lt->bl_n++;
		lt->bl_mean += d / lt->bl_n;
		lt->bl_m2 += d * (e->value - lt->bl_mean);
	}
	if (lt->bl_n == 1)
		lt->bl_first_run = e->run_no;
	else if (e->run_no != lt->bl_first_run)
		lt->bl_two_runs = true;
	need = lt->learn == WG_LEARN_PROVISIONAL ? p->lot_baseline_n : p->baseline_n;
	if (lt->bl_n < need || !(lt->bl_m2 > 0))
		return; /* an SD of 0 (identical values) cannot judge anything */
	if (lt->learn == WG_LEARN_PROVISIONAL && !lt->bl_two_runs)
		return;
	mean = lt->bl_mean;
	sd = sqrt(lt->bl_m2 / (lt->bl_n - 1));
	if (lt->learn == WG_LEARN_PROVISIONAL && p->lot_sd == WG_LOT_SD_CARRY_CV &&
	    lt->carry_cv * fabs(mean) > 0)
		sd = lt->carry_cv * fabs(mean);
	lt->established = true;
	lt->est_mean = mean;
	lt->est_sd = sd;
	out->target_established = true;
	out->target_level = level;
	copy_id(out->target_lot, lt->lot);
	out->target_source = lt->learn == WG_LEARN_PROVISIONAL ? "provisional" : "baseline";
	copy_id(out->target_cv_from, lt->learn == WG_LEARN_PROVISIONAL && p->lot_sd == WG_LOT_SD_CARRY_CV
	                                 ? lt->carry_from
	                                 : "");
	out->target_mean = mean;
	out->target_sd = sd;
}

static void run_append(struct wg_run *r, const struct wg_entry *e)
{
	if (r->n == WG_RUN_MAX) {
		memmove(r->res, r->res + 1, (WG_RUN_MAX - 1) * sizeof(*r->res));
		r->n--;
	}
	r->res[r->n++] = *e;
}

static void involve(struct wg_run *r, const struct wg_entry *e)
{
	for (size_t i = 0; i < r->n_involved; i++)
		if (r->involved[i].seq == e->seq)
			return;
	if (r->n_involved == WG_INVOLVED_MAX)
		return;
	r->involved[r->n_involved].seq = e->seq;
	r->involved[r->n_involved].level = e->level;
	copy_id(r->involved[r->n_involved].run, e->run);
	r->n_involved++;
}

static bool input_ok(const struct westgard_params *p, const struct qc_input *in)
{
	char err[8];

	if (westgard_params_check(p, err, sizeof(err)) == -1)
		return false;
	if (in->level < 0 || (size_t)in->level >= p->n_levels)
		return false;
	if (!isfinite(in->value) || !isfinite(in->t))
		return false;
	if (in->run && strlen(in->run) >= WG_ID_MAX)
		return false;
	if (in->lot && strlen(in->lot) >= WG_ID_MAX)
		return false;
	return true;
}

static bool run_complete(const struct wg_run *r, const struct westgard_params *p, int replicates)
{
	for (size_t l = 0; l < p->n_levels; l++) {
		int n = 0;

		for (int s = 0; s < WG_LOTS_MAX; s++)
			n += r->count[l][s];
		if (n < replicates)
			return false;
	}
	return true;
}

int westgard_eval(struct westgard *w, const struct westgard_params *p, const struct qc_input *in,
                  struct qc_verdict *out)
{
	const char *lot = in->lot ? in->lot : "";
	struct westgard_plan plan;
	struct wg_level *lv;
	struct wg_run *r = &w->run;
	struct wg_lot *lt;
	struct wg_entry e;
	struct wg_hits h = {0};
	enum qc_status before;
	unsigned fired = 0;
	bool is_new;
	int slot;

	if (!input_ok(p, in)) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	lv = &w->lv[in->level];
	slot = westgard__lot_slot(w, p, in->level, lot, &is_new);
	if (slot < 0) { /* every kept lot of the level is in the open run */
		errno = ENOSPC;
		return -1;
	}
	lt = &lv->lots[slot];
	if (is_new)
		lot_begin(w, p, in->level, slot);
	out->level = in->level;
	out->target_level = -1;
	out->lot_new = is_new;
	if (lv->seen && strcmp(lv->last_lot, lot) != 0) {
		out->lot_changed = true;
		copy_id(out->prev_lot, lv->last_lot);
	}
	lv->seen = true;
	copy_id(lv->last_lot, lot);

	westgard_plan(w, p, &plan, &out->chosen);
	westgard__place(w, p, in, plan.replicates, out);

	memset(&e, 0, sizeof(e));
	e.seq = w->next_seq++;
	e.run_no = r->run_no;
	e.t = in->t;
	e.value = in->value;
	e.level = in->level;
	e.lot = slot;
	copy_id(e.run, r->id);
	lt->last_seq = e.seq;
	if (westgard__lot_target(p, w, in->level, slot, &out->mean, &out->sd)) {
		out->has_target = true;
		e.z = (in->value - out->mean) / out->sd;
	} else {
		e.z = NAN;
		if (lt->learn == WG_LEARN_PROVISIONAL)
			r->had_provisional = true;
		else
			r->had_baseline = true;
		learn(lt, p, &e, in->level, out);
	}
	out->z = e.z;
	westgard__stats_add(&lt->st, in->t, in->value, false);
	run_append(r, &e);
	r->levels_seen |= 1u << in->level;
	if (r->count[in->level][slot] < 255)
		r->count[in->level][slot]++;

	out->rules_in_force = plan.rules;
	out->replicates = plan.replicates;
	if (isfinite(e.z))
		fired = westgard__rules(w, p, &plan, &r->res[r->n - 1], plan.rules | p->warning, &h);
	for (size_t i = 0; i < h.n; i++)
		involve(r, h.e[i]);

	before = r->status;
	r->fired |= fired;
	if (fired & plan.rules)
		r->status = QC_REJECT;
	else if ((fired & p->warning) && r->status < QC_WARNING)
		r->status = QC_WARNING;
	else if (r->had_baseline && r->status < QC_BASELINE)
		r->status = QC_BASELINE;
	else if (r->had_provisional && r->status < QC_PROVISIONAL)
		r->status = QC_PROVISIONAL;

	out->seq = e.seq;
	copy_id(out->run, r->id);
	copy_id(out->rerun_of, r->rerun_of);
	out->run_no = r->run_no;
	out->status = r->status;
	out->fired = r->fired;
	out->fired_now = fired;
	out->n_involved = r->n_involved;
	memcpy(out->involved, r->involved, r->n_involved * sizeof(r->involved[0]));
	out->run_complete = run_complete(r, p, plan.replicates);
	out->rejected_now = before != QC_REJECT && r->status == QC_REJECT;
	if (out->run_complete && r->status != QC_REJECT && !r->accepted_reported) {
		r->accepted_reported = true;
		out->run_accepted_now = true;
	}
	return 0;
}
