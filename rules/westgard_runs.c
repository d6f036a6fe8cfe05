/*
 * westgard_runs.c: which run a QC result belongs to, which lot slot of its
 * level it goes to, what happens to a run when it closes, and the
 * per-lot statistics (DESIGN section 4, "Within run" and "Lots").
 *
 * Runs as labs make them:
 *  - with a run id, every result with that id is one run, replicates
 *    included; without one, results within run_window of the run's first
 *    result, up to `replicates` per level and lot;
 *  - once a run is rejected, a level it has not seen yet still joins it
 *    (and is rejected with it: the run was the problem, not the level),
 *    but a result of a level and lot of which the run already holds its
 *    replicates starts a new run under the same id: the rerun after the
 *    corrective action, judged on its own.
 * A closed run that was not rejected joins the histories (per level and
 * lot, and all levels in run order); a rejected run's results leave them
 * (the lab dealt with the problem before it ran the controls again).
 *
 * Lots: each level keeps up to WG_LOTS_MAX lots side by side, so a new
 * lot run in parallel with the old one (crossover) wipes nothing; the
 * least recently seen lot makes room for a new one.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rules/westgard.h"

static void copy_id(char dst[WG_ID_MAX], const char *src)
{
	snprintf(dst, WG_ID_MAX, "%s", src ? src : "");
}

void westgard__sum_add(struct wg_sum *s, double x)
{
	double d = x - s->mean;

	s->n += 1;
	s->mean += d / s->n;
	s->m2 += d * (x - s->mean);
}

/* Days from 1970-01-01 to a civil date and back (H. Hinnant's
 * algorithms, proleptic Gregorian calendar). */
int westgard_month(double t)
{
	long long z = (long long)floor(t / 86400.0) + 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long y = yoe + era * 400;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153;
	long long m = mp < 10 ? mp + 3 : mp - 9;

	if (m <= 2)
		y++;
	return (int)(y * 12 + m - 1);
}

/* Every result counts in `all` when it arrives; in `acc` when its run
 * closes without a rejection. A month's sums start again with the month
 * of the newest result. */
void westgard__stats_add(struct wg_stats *st, double t, double value, bool accepted)
{
	int m = westgard_month(t);

	if (m > st->month) {
		st->month = m;
		memset(&st->month_all, 0, sizeof(st->month_all));
		memset(&st->month_acc, 0, sizeof(st->month_acc));
	}
	westgard__sum_add(accepted ? &st->acc : &st->all, value);
	if (m == st->month)
		westgard__sum_add(accepted ? &st->month_acc : &st->month_all, value);
}

void westgard_stat_of(const struct wg_sum *s, struct westgard_stat *out)
{
	out->n = s->n;
	out->mean = s->n > 0 ? s->mean : NAN;
	out->sd = s->n > 1 ? sqrt(s->m2 / (s->n - 1)) : NAN;
	out->cv = s->n > 1 && s->mean != 0 ? out->sd / fabs(s->mean) * 100.0 : NAN;
}

/* Order of levels within a run: by name when the levels have names. */
int westgard__rank(const struct westgard_params *p, int level)
{
	int rank = 0;
	const char *me = p->levels[level].name;

	if (me == NULL)
		return level;
	for (size_t l = 0; l < p->n_levels; l++) {
		const char *o = p->levels[l].name;
		int c = o ? strcmp(o, me) : 0;

		if (c < 0 || (c == 0 && (int)l < level))
			rank++;
	}
	return rank;
}

static bool entry_before(const struct westgard_params *p, const struct wg_entry *a,
                         const struct wg_entry *b)
{
	int ra = westgard__rank(p, a->level), rb = westgard__rank(p, b->level);

	if (ra != rb)
		return ra < rb;
	return a->seq < b->seq;
}

static void hist_push(struct wg_entry *hist, size_t *n, const struct wg_entry *e)
{
	if (*n == WG_HIST) {
		memmove(hist, hist + 1, (WG_HIST - 1) * sizeof(*hist));
		(*n)--;
	}
	hist[(*n)++] = *e;
}

/* Close the open run: a run not rejected joins the histories in run
 * order, and its values count in the statistics of accepted runs. */
static void close_run(struct westgard *w, const struct westgard_params *p, struct qc_verdict *out)
{
	struct wg_run *r = &w->run;
	const struct wg_entry *sorted[WG_RUN_MAX];
	size_t n = 0;

	if (!r->open)
		return;
	out->closed = true;
	copy_id(out->closed_run, r->id);
	out->closed_run_no = r->run_no;
	out->closed_levels_seen = r->levels_seen;
	out->closed_complete = r->levels_seen == (1u << p->n_levels) - 1;
	out->closed_status = r->status;
	r->open = false;
	if (r->status == QC_REJECT)
		return;
	for (size_t i = 0; i < r->n; i++) { /* insertion sort into run order */
		size_t j = n++;

		while (j > 0 && entry_before(p, &r->res[i], sorted[j - 1])) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = &r->res[i];
	}
	for (size_t i = 0; i < n; i++) {
		const struct wg_entry *e = sorted[i];
		struct wg_lot *lt = &w->lv[e->level].lots[e->lot];

		westgard__stats_add(&lt->st, e->t, e->value, true);
		if (!isfinite(e->z))
			continue;
		hist_push(lt->hist, &lt->n_hist, e);
		hist_push(w->inter, &w->n_inter, e);
	}
}

static void open_run(struct westgard *w, const char *id, double t)
{
	struct wg_run *r = &w->run;
	char prev[WG_ID_MAX];

	copy_id(prev, r->id);
	memset(r, 0, sizeof(*r));
	r->open = true;
	r->first_t = t;
	r->run_no = ++w->next_run_no;
	if (id[0]) {
		copy_id(r->id, id);
		return;
	}
	r->id_assigned = true;
	snprintf(r->id, sizeof(r->id), "t%lld", (long long)floor(t));
	if (strcmp(r->id, prev) == 0) /* two runs within one second */
		snprintf(r->id, sizeof(r->id), "t%lld-%llu", (long long)floor(t),
		         (unsigned long long)w->next_seq);
}

/* The lot's slot on the level, made (or taken from the least recently
 * seen lot not in the open run) for a new lot. */
int westgard__lot_slot(struct westgard *w, const struct westgard_params *p, int level,
                       const char *lot, bool *is_new)
{
	struct wg_level *lv = &w->lv[level];
	int free_slot = -1, lru = -1;

	(void)p;
	*is_new = false;
	for (int i = 0; i < WG_LOTS_MAX; i++) {
		const struct wg_lot *lt = &lv->lots[i];
		bool in_run = false;

		if (lt->used && strcmp(lt->lot, lot) == 0)
			return i;
		if (!lt->used) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		for (size_t k = 0; w->run.open && k < w->run.n; k++)
			in_run = in_run || (w->run.res[k].level == level && w->run.res[k].lot == i);
		if (!in_run && (lru < 0 || lt->last_seq < lv->lots[lru].last_seq))
			lru = i;
	}
	if (free_slot < 0)
		free_slot = lru;
	if (free_slot < 0)
		return -1; /* every lot of the level is in the open run */
	memset(&lv->lots[free_slot], 0, sizeof(lv->lots[free_slot]));
	lv->lots[free_slot].used = true;
	copy_id(lv->lots[free_slot].lot, lot);
	*is_new = true;
	return free_slot;
}

static int run_count(const struct wg_run *r, int level, int slot)
{
	return r->count[level][slot];
}

/* Put the result's run in place: the open run, a new run, or a rerun
 * of the open run when it is rejected and already holds this level's
 * (and lot's) replicates. */
void westgard__place(struct westgard *w, const struct westgard_params *p, const struct qc_input *in,
                     int replicates, struct qc_verdict *out)
{
	struct wg_run *r = &w->run;
	const char *id = in->run ? in->run : "";
	const char *lot = in->lot ? in->lot : "";
	char rerun_of[WG_ID_MAX] = "";
	bool full = false, join, within;

	if (!r->open) {
		open_run(w, id, in->t);
		return;
	}
	for (int s = 0; s < WG_LOTS_MAX; s++)
		if (w->lv[in->level].lots[s].used && strcmp(w->lv[in->level].lots[s].lot, lot) == 0)
			full = run_count(r, in->level, s) >= replicates;
	within = fabs(in->t - r->first_t) <= p->run_window_s;
	if (id[0])
		join = !r->id_assigned && strcmp(id, r->id) == 0;
	else
		join = r->id_assigned && within;
	if (join && full && (id[0] ? r->status == QC_REJECT : true)) {
		if (r->status == QC_REJECT)
			copy_id(rerun_of, r->id);
		join = false;
	}
	if (join)
		return;
	close_run(w, p, out);
	open_run(w, id, in->t);
	copy_id(r->rerun_of, rerun_of);
}
