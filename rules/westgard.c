/*
 * westgard.c: Westgard multirule evaluation of one QC result (DESIGN
 * section 4; Westgard JO, Barry PL, Hunt MR, Groth T, Clin Chem
 * 1981;27:493-501; CLSI C24-Ed4 2016; westgard.com "Westgard Rules" and
 * "Multirule FAQ" pages).
 *
 * State per analyte (struct westgard, fixed size, no heap):
 *  - per level: its lot, its baseline accumulator, and the committed
 *    history (last WG_HIST results of closed, not rejected runs);
 *  - the interleaved committed history of all levels (last WG_HIST);
 *  - the open run: its results in arrival order, status, fired rules and
 *    the results involved.
 * A rule sees the committed history followed by the open run's results,
 * so while a run is open its own results count (a second level of a
 * rejected run is judged with the first), and when it closes it joins the
 * history only if it was not rejected (the lab fixed the problem before it
 * ran the controls again, so those results say nothing about the method
 * now).
 *
 * Runs: a result with a run id belongs to the open run with that id, or
 * opens a new run. A result without one joins the open run if it lies
 * within run_window of the run's first result and its level has no result
 * in the run yet (a repeat of a level is a new run: the rerun after a
 * rejection must not inherit the rejection); otherwise it opens a run with
 * the made-up id "t<epoch of its first result>". Results are taken in
 * arrival order, which the daemon keeps in time order.
 *
 * Baseline results (no target yet) have no z and enter no history; the
 * baseline_n-th one fixes mean and SD (sample SD, n-1), and results after
 * it are judged.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "westgard.h"

#define VIEW_MAX (WG_HIST + WG_RUN_MAX)

/* A sequence of results for the rules, oldest first; the last is the
 * result being judged. */
struct view {
	size_t n;
	const struct wg_entry *e[VIEW_MAX];
};

/* Results involved in the rules fired by this result. */
struct hits {
	size_t n;
	const struct wg_entry *e[WG_INVOLVED_MAX];
};

void westgard_init(struct westgard *w)
{
	memset(w, 0, sizeof(*w));
	w->next_seq = 1;
}

void westgard_free(struct westgard *w)
{
	(void)w;
}

static void copy_id(char dst[WG_ID_MAX], const char *src)
{
	snprintf(dst, WG_ID_MAX, "%s", src ? src : "");
}

static void hist_push(struct wg_entry *hist, size_t *n, const struct wg_entry *e)
{
	if (*n == WG_HIST) {
		memmove(hist, hist + 1, (WG_HIST - 1) * sizeof(*hist));
		(*n)--;
	}
	hist[(*n)++] = *e;
}

/* A closed run joins the history unless it was rejected. */
static void close_run(struct westgard *w)
{
	struct wg_run *r = &w->run;

	if (r->open && r->status != QC_REJECT) {
		for (size_t i = 0; i < r->n; i++) {
			const struct wg_entry *e = &r->res[i];

			if (!e->in_view)
				continue;
			hist_push(w->lv[e->level].hist, &w->lv[e->level].n_hist, e);
			hist_push(w->inter, &w->n_inter, e);
		}
	}
	r->open = false;
}

static void open_run(struct westgard *w, const char *id, double t, uint64_t seq)
{
	struct wg_run *r = &w->run;
	char prev[WG_ID_MAX];

	copy_id(prev, r->id);
	memset(r, 0, sizeof(*r));
	r->open = true;
	r->first_t = t;
	if (id[0]) {
		copy_id(r->id, id);
		return;
	}
	r->id_assigned = true;
	snprintf(r->id, sizeof(r->id), "t%lld", (long long)floor(t));
	if (strcmp(r->id, prev) == 0) /* two runs within one second */
		snprintf(r->id, sizeof(r->id), "t%lld-%llu", (long long)floor(t),
		         (unsigned long long)seq);
}

static bool joins_open_run(const struct westgard *w, const struct westgard_params *p,
                           const struct qc_input *in, const char *id)
{
	const struct wg_run *r = &w->run;

	if (!r->open)
		return false;
	if (id[0])
		return strcmp(id, r->id) == 0;
	if (fabs(in->t - r->first_t) > p->run_window_s)
		return false;
	return !(r->levels_seen & (1u << in->level));
}

/* The level's history restarts with its new lot: committed results of the
 * level leave both histories, and its earlier results in the open run stop
 * counting for the rules (they stay in the run's status). */
static void restart_level(struct westgard *w, int level)
{
	struct wg_level *lv = &w->lv[level];
	size_t k = 0;

	lv->n_hist = 0;
	lv->bl_n = 0;
	lv->bl_mean = lv->bl_m2 = 0;
	lv->established = false;
	lv->est_mean = lv->est_sd = 0;
	for (size_t i = 0; i < w->n_inter; i++)
		if (w->inter[i].level != level)
			w->inter[k++] = w->inter[i];
	w->n_inter = k;
	for (size_t i = 0; i < w->run.n; i++)
		if (w->run.res[i].level == level)
			w->run.res[i].in_view = false;
}

static void run_append(struct wg_run *r, const struct wg_entry *e)
{
	if (r->n == WG_RUN_MAX) {
		memmove(r->res, r->res + 1, (WG_RUN_MAX - 1) * sizeof(*r->res));
		r->n--;
	}
	r->res[r->n++] = *e;
}

/* level < 0: the interleaved view of all levels. */
static void build_view(const struct westgard *w, int level, struct view *v)
{
	const struct wg_entry *hist = level < 0 ? w->inter : w->lv[level].hist;
	size_t n_hist = level < 0 ? w->n_inter : w->lv[level].n_hist;

	v->n = 0;
	for (size_t i = 0; i < n_hist; i++)
		v->e[v->n++] = &hist[i];
	for (size_t i = 0; i < w->run.n; i++) {
		const struct wg_entry *e = &w->run.res[i];

		if (e->in_view && (level < 0 || e->level == level))
			v->e[v->n++] = e;
	}
}

static void hit(struct hits *h, const struct wg_entry *e)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->e[i] == e)
			return;
	if (h->n < WG_INVOLVED_MAX)
		h->e[h->n++] = e;
}

static int side_beyond(double z, double k)
{
	return z > k ? 1 : z < -k ? -1 : 0;
}

/* The last m results of v all beyond k SD on the same side (k = 0: the
 * same side of the mean). */
static bool last_m_beyond(const struct view *v, size_t m, double k, struct hits *h)
{
	int side;

	if (v->n < m)
		return false;
	side = side_beyond(v->e[v->n - 1]->z, k);
	if (side == 0)
		return false;
	for (size_t i = v->n - m; i < v->n; i++)
		if (side_beyond(v->e[i]->z, k) != side)
			return false;
	for (size_t i = v->n - m; i < v->n; i++)
		hit(h, v->e[i]);
	return true;
}

/* 2 of the last 3 beyond the same 2 SD limit, the newest one of them. */
static bool two_of_three(const struct view *v, struct hits *h)
{
	const struct wg_entry *x = v->e[v->n - 1];
	int side = side_beyond(x->z, 2);
	size_t from = v->n >= 3 ? v->n - 3 : 0;

	if (side == 0)
		return false;
	for (size_t i = from; i + 1 < v->n; i++)
		if (side_beyond(v->e[i]->z, 2) == side) {
			hit(h, v->e[i]);
			hit(h, x);
			return true;
		}
	return false;
}

/* 7 consecutive results each higher (or each lower) than the one before. */
static bool trend7(const struct view *v, struct hits *h)
{
	bool up = true, down = true;

	if (v->n < 7)
		return false;
	for (size_t i = v->n - 6; i < v->n; i++) {
		up = up && v->e[i]->z > v->e[i - 1]->z;
		down = down && v->e[i]->z < v->e[i - 1]->z;
	}
	if (!up && !down)
		return false;
	for (size_t i = v->n - 7; i < v->n; i++)
		hit(h, v->e[i]);
	return true;
}

/* A rule that looks back over results fires if its pattern, ending with
 * this result, holds in this level's own sequence (across runs, within the
 * control material) or in the interleaved sequence of all levels (across
 * materials and runs). Westgard's multirule pages and CLSI C24 apply the
 * counting rules both ways: 4-1s "within a material across 4 runs" or
 * "across materials, 2 runs of 2 levels"; 10x "within one material over
 * 10 runs" or "across materials, 5 runs of 2 levels"; 3-1s, 2of3-2s and
 * 6x/9x are their 3-level counterparts and 8x/12x the N=4 variants. 7T
 * is listed with them by DESIGN section 4 and is checked the same way (a
 * drift moves every level's z together, so the interleaved z still
 * trends). */
static bool both_views(const struct view *lv, const struct view *iv,
                       bool (*fn)(const struct view *, size_t, double, struct hits *), size_t m,
                       double k, struct hits *h)
{
	bool a = fn(lv, m, k, h);
	bool b = fn(iv, m, k, h);

	return a || b;
}

static unsigned eval_rules(const struct westgard *w, const struct wg_entry *x, unsigned mask,
                           struct hits *h)
{
	static const struct {
		enum westgard_rule r;
		double k;
	} one[] = {{WG_1_2S, 2}, {WG_1_2_5S, 2.5}, {WG_1_3S, 3}, {WG_1_3_5S, 3.5}};
	static const struct {
		enum westgard_rule r;
		size_t m;
		double k;
	} count[] = {{WG_4_1S, 4, 1}, {WG_3_1S, 3, 1}, {WG_6X, 6, 0},  {WG_8X, 8, 0},
	             {WG_9X, 9, 0},   {WG_10X, 10, 0}, {WG_12X, 12, 0}};
	struct view lv, iv;
	unsigned fired = 0;
	const struct wg_entry *run_prev = NULL;

	build_view(w, x->level, &lv);
	build_view(w, -1, &iv);

	/* 1-ks: this result alone. */
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if ((mask & WG_BIT(one[i].r)) && fabs(x->z) > one[i].k) {
			fired |= WG_BIT(one[i].r);
			hit(h, x);
		}

	/* 2-2s: two consecutive results beyond the same 2 SD limit, either
	 * within the run across levels (the result before this one in the
	 * run) or across runs within this level (its previous result).
	 * Westgard 1981 and C24 define it both ways. */
	for (size_t i = 0; i < w->run.n; i++) {
		const struct wg_entry *e = &w->run.res[i];

		if (e == x)
			break;
		if (e->in_view)
			run_prev = e;
	}
	if (mask & WG_BIT(WG_2_2S)) {
		int side = side_beyond(x->z, 2);
		const struct wg_entry *lprev = lv.n >= 2 ? lv.e[lv.n - 2] : NULL;

		if (side && run_prev && side_beyond(run_prev->z, 2) == side) {
			fired |= WG_BIT(WG_2_2S);
			hit(h, run_prev);
			hit(h, x);
		}
		if (side && lprev && side_beyond(lprev->z, 2) == side) {
			fired |= WG_BIT(WG_2_2S);
			hit(h, lprev);
			hit(h, x);
		}
	}

	/* R-4s: within the run only, one level beyond +2 SD and another
	 * beyond -2 SD. Westgard restricts it to one run so that random
	 * error is told apart from a between-run shift (westgard.com,
	 * "Power function graphs of multirules"; C24). */
	if (mask & WG_BIT(WG_R_4S)) {
		int side = side_beyond(x->z, 2);

		for (size_t i = 0; side && i < w->run.n; i++) {
			const struct wg_entry *e = &w->run.res[i];

			if (e != x && e->in_view && e->level != x->level &&
			    side_beyond(e->z, 2) == -side) {
				fired |= WG_BIT(WG_R_4S);
				hit(h, e);
				hit(h, x);
			}
		}
	}

	for (size_t i = 0; i < sizeof(count) / sizeof(count[0]); i++)
		if ((mask & WG_BIT(count[i].r)) &&
		    both_views(&lv, &iv, last_m_beyond, count[i].m, count[i].k, h))
			fired |= WG_BIT(count[i].r);

	if (mask & WG_BIT(WG_2OF3_2S)) {
		bool a = two_of_three(&lv, h);
		bool b = two_of_three(&iv, h);

		if (a || b)
			fired |= WG_BIT(WG_2OF3_2S);
	}
	if (mask & WG_BIT(WG_7T)) {
		bool a = trend7(&lv, h);
		bool b = trend7(&iv, h);

		if (a || b)
			fired |= WG_BIT(WG_7T);
	}
	return fired;
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

int westgard_eval(struct westgard *w, const struct westgard_params *p, const struct qc_input *in,
                  struct qc_verdict *out)
{
	const char *lot = in->lot ? in->lot : "";
	const char *id = in->run ? in->run : "";
	struct wg_level *lv;
	struct wg_run *r = &w->run;
	const struct westgard_target *tg;
	struct wg_entry e;
	struct hits h = {0};
	enum qc_status before;
	unsigned reject_mask, fired = 0;

	if (!input_ok(p, in)) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	lv = &w->lv[in->level];
	out->level = in->level;
	out->target_level = -1;

	if (lv->seen && strcmp(lv->lot, lot) != 0) {
		out->lot_changed = true;
		copy_id(out->prev_lot, lv->lot);
		restart_level(w, in->level);
	}
	lv->seen = true;
	copy_id(lv->lot, lot);

	if (!joins_open_run(w, p, in, id)) {
		close_run(w);
		open_run(w, id, in->t, w->next_seq);
	}

	memset(&e, 0, sizeof(e));
	e.seq = w->next_seq++;
	e.t = in->t;
	e.level = in->level;
	copy_id(e.run, r->id);
	tg = westgard__target(p, in->level, lot, false);
	if (tg || lv->established) {
		out->has_target = true;
		out->mean = tg ? tg->mean : lv->est_mean;
		out->sd = tg ? tg->sd : lv->est_sd;
		e.z = (in->value - out->mean) / out->sd;
		e.in_view = true;
	} else {
		/* Welford: exact enough, and a restart resumes it bit for bit */
		double d = in->value - lv->bl_mean;

		lv->bl_n++;
		lv->bl_mean += d / lv->bl_n;
		lv->bl_m2 += d * (in->value - lv->bl_mean);
		e.z = NAN;
		r->had_baseline = true;
		if (lv->bl_n >= p->baseline_n && lv->bl_m2 > 0) {
			/* an SD of 0 (identical values) cannot judge anything:
			 * the baseline goes on until the values vary */
			lv->established = true;
			lv->est_mean = lv->bl_mean;
			lv->est_sd = sqrt(lv->bl_m2 / (lv->bl_n - 1));
			out->target_established = true;
			out->target_level = in->level;
			out->target_mean = lv->est_mean;
			out->target_sd = lv->est_sd;
		}
	}
	out->z = e.z;
	run_append(r, &e);
	r->levels_seen |= 1u << in->level;

	westgard_choose_auto(w, p, &out->chosen);
	reject_mask = p->rules_auto ? out->chosen.rules : p->rules;
	out->rules_in_force = reject_mask;
	if (e.in_view)
		fired = eval_rules(w, &r->res[r->n - 1], reject_mask | p->warning, &h);
	for (size_t i = 0; i < h.n; i++)
		involve(r, h.e[i]);

	before = r->status;
	r->fired |= fired;
	if (fired & reject_mask)
		r->status = QC_REJECT;
	else if ((fired & p->warning) && r->status < QC_WARNING)
		r->status = QC_WARNING;
	else if (r->had_baseline && r->status < QC_BASELINE)
		r->status = QC_BASELINE;

	out->seq = e.seq;
	copy_id(out->run, r->id);
	out->status = r->status;
	out->fired = r->fired;
	out->fired_now = fired;
	out->n_involved = r->n_involved;
	memcpy(out->involved, r->involved, r->n_involved * sizeof(r->involved[0]));
	out->run_complete = r->levels_seen == (1u << p->n_levels) - 1;
	out->rejected_now = before != QC_REJECT && r->status == QC_REJECT;
	if (out->run_complete && r->status != QC_REJECT && !r->accepted_reported) {
		r->accepted_reported = true;
		out->run_accepted_now = true;
	}
	return 0;
}
