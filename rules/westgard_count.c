/*
 * westgard_count.c: the rules a QC result breaks (DESIGN section 4;
 * Westgard JO, Barry PL, Hunt MR, Groth T, Clin Chem 1981;27:493-501;
 * westgard.com "Westgard Rules", "Multirule FAQ" and "Power function
 * graphs of multirules"; CLSI C24-Ed4 2016; Bio-Rad Unity Real Time help
 * for 7T).
 *
 * The results the rules look at, oldest first:
 *  - the run order: committed results of all levels (closed runs that
 *    were not rejected), then the open run's, ordered by run, within a
 *    run by level name, within a level by arrival;
 *  - a level's own results, per lot (z of different lots' targets are
 *    not one series): its history, then its results in the open run.
 * A result without a target (baseline, provisional) is in neither.
 *
 *  1-ks      this result beyond k SD
 *  2-2s      within the run: it and any other result of the run beyond
 *            the same 2 SD limit (levels and replicates alike); across
 *            runs: it and its level's previous result
 *  R-4s      within the run only: one beyond +2 SD and another beyond -2 SD
 *  n-ks, nx  (4-1s 3-1s 6x 8x 9x 10x 12x) scope runs: the last n results
 *            of the run order ending at a result of the open run, all
 *            beyond k SD (x: k = 0, the mean) on one side, spanning at
 *            most R runs (R = ceil(n / (levels x replicates)): with 2
 *            levels 4-1s covers this run and the previous, 10x five runs,
 *            the form Westgard characterised); scope level: the level's
 *            own last n; scope both: either, the run order without the
 *            run limit (the old behaviour, which doubles false rejections)
 *  2of3-2s   two of the run's results beyond the same 2 SD limit, or two
 *            of the level's last three
 *  7T        seven results of one level each higher (or each lower) than
 *            the one before
 * "Beyond k SD" is |z| > k: a result exactly at the limit does not count.
 *
 * Results of the open run arrive in any order; a count rule is judged on
 * the window ending at each result of the run that sorts at or after the
 * new one, so a complete run gets the same verdict whichever level came
 * first.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rules/westgard.h"

#define SEQ_MAX (WG_HIST + WG_RUN_MAX)

struct seq {
	size_t n;
	const struct wg_entry *e[SEQ_MAX];
};

static void hit(struct wg_hits *h, const struct wg_entry *e)
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

static bool before(const struct westgard_params *p, const struct wg_entry *a,
                   const struct wg_entry *b)
{
	int ra = westgard__rank(p, a->level), rb = westgard__rank(p, b->level);

	return ra != rb ? ra < rb : a->seq < b->seq;
}

/* The run order: committed history, then the open run sorted. */
static void run_order(const struct westgard *w, const struct westgard_params *p, struct seq *s)
{
	size_t first;

	s->n = 0;
	for (size_t i = 0; i < w->n_inter; i++)
		s->e[s->n++] = &w->inter[i];
	first = s->n;
	for (size_t i = 0; i < w->run.n; i++) {
		const struct wg_entry *e = &w->run.res[i];
		size_t j;

		if (!isfinite(e->z))
			continue;
		j = s->n++;
		while (j > first && before(p, e, s->e[j - 1])) {
			s->e[j] = s->e[j - 1];
			j--;
		}
		s->e[j] = e;
	}
}

/* A level's and lot's own results. */
static void level_order(const struct westgard *w, int level, int lot, struct seq *s)
{
	const struct wg_lot *lt = &w->lv[level].lots[lot];

	s->n = 0;
	for (size_t i = 0; i < lt->n_hist; i++)
		s->e[s->n++] = &lt->hist[i];
	for (size_t i = 0; i < w->run.n; i++) {
		const struct wg_entry *e = &w->run.res[i];

		if (isfinite(e->z) && e->level == level && e->lot == lot)
			s->e[s->n++] = e;
	}
}

/* The m results of s ending at index end all beyond k SD on one side,
 * spanning at most max_runs runs (0: any). */
static bool window_beyond(const struct seq *s, size_t end, size_t m, double k, int max_runs,
                          struct wg_hits *h)
{
	int side, runs = 1;

	if (end + 1 < m)
		return false;
	side = side_beyond(s->e[end]->z, k);
	if (side == 0)
		return false;
	for (size_t i = end + 1 - m; i <= end; i++) {
		if (side_beyond(s->e[i]->z, k) != side)
			return false;
		if (i > end + 1 - m && s->e[i]->run_no != s->e[i - 1]->run_no)
			runs++;
	}
	if (max_runs > 0 && runs > max_runs)
		return false;
	for (size_t i = end + 1 - m; i <= end; i++)
		hit(h, s->e[i]);
	return true;
}

static size_t index_of(const struct seq *s, const struct wg_entry *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i] == x)
			return i;
	return s->n;
}

/* A count rule of m results beyond k, in the analyte's scope. */
static bool count_rule(const struct westgard_params *p, const struct westgard_plan *plan,
                       const struct seq *ro, const struct seq *lo, const struct wg_entry *x,
                       size_t m, double k, struct wg_hits *h)
{
	bool fired = false;
	size_t xi = index_of(ro, x);

	if (p->scope == WG_SCOPE_LEVEL || p->scope == WG_SCOPE_BOTH)
		fired = window_beyond(lo, lo->n - 1, m, k, 0, h);
	if (p->scope == WG_SCOPE_RUNS || p->scope == WG_SCOPE_BOTH) {
		int max_runs = p->scope == WG_SCOPE_BOTH
		                   ? 0
		                   : westgard_lookback(p->n_levels, plan->replicates,
		                                       plan->runs_auto, (int)m);

		/* the windows holding x: ending at x or at a result of the
		 * open run sorted after it */
		for (size_t i = xi; i < ro->n && i < xi + m; i++)
			if (window_beyond(ro, i, m, k, max_runs, h))
				fired = true;
	}
	return fired;
}

/* x and another result of the open run beyond the same (same_side) or
 * the opposite 2 SD limit. */
static bool within_run_pair(const struct westgard *w, const struct wg_entry *x, bool same_side,
                            struct wg_hits *h)
{
	int side = side_beyond(x->z, 2);
	bool fired = false;

	for (size_t i = 0; side && i < w->run.n; i++) {
		const struct wg_entry *e = &w->run.res[i];

		if (e == x || !isfinite(e->z))
			continue;
		if (side_beyond(e->z, 2) == (same_side ? side : -side)) {
			hit(h, e);
			hit(h, x);
			fired = true;
		}
	}
	return fired;
}

/* Two of the last three of s ending at its end beyond the same 2 SD
 * limit, x one of them. */
static bool two_of_last_three(const struct seq *s, struct wg_hits *h)
{
	const struct wg_entry *x;
	int side;

	if (s->n == 0)
		return false;
	x = s->e[s->n - 1];
	side = side_beyond(x->z, 2);
	for (size_t i = s->n >= 3 ? s->n - 3 : 0; side && i + 1 < s->n; i++)
		if (side_beyond(s->e[i]->z, 2) == side) {
			hit(h, s->e[i]);
			hit(h, x);
			return true;
		}
	return false;
}

static bool trend7(const struct seq *s, struct wg_hits *h)
{
	bool up = true, down = true;

	if (s->n < 7)
		return false;
	for (size_t i = s->n - 6; i < s->n; i++) {
		up = up && s->e[i]->z > s->e[i - 1]->z;
		down = down && s->e[i]->z < s->e[i - 1]->z;
	}
	if (!up && !down)
		return false;
	for (size_t i = s->n - 7; i < s->n; i++)
		hit(h, s->e[i]);
	return true;
}

unsigned westgard__rules(const struct westgard *w, const struct westgard_params *p,
                         const struct westgard_plan *plan, const struct wg_entry *x,
                         unsigned mask, struct wg_hits *h)
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
	/* two sequences of up to 28 pointers: fine on the stack */
	struct seq ro, lo;
	unsigned fired = 0;

	run_order(w, p, &ro);
	level_order(w, x->level, x->lot, &lo);

	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if ((mask & WG_BIT(one[i].r)) && fabs(x->z) > one[i].k) {
			fired |= WG_BIT(one[i].r);
			hit(h, x);
		}

	if (mask & WG_BIT(WG_2_2S)) {
		const struct wg_entry *prev = lo.n >= 2 ? lo.e[lo.n - 2] : NULL;
		int side = side_beyond(x->z, 2);

		if (within_run_pair(w, x, true, h))
			fired |= WG_BIT(WG_2_2S);
		if (side && prev && prev->run_no != x->run_no && side_beyond(prev->z, 2) == side) {
			fired |= WG_BIT(WG_2_2S);
			hit(h, prev);
			hit(h, x);
		}
	}
	if ((mask & WG_BIT(WG_R_4S)) && within_run_pair(w, x, false, h))
		fired |= WG_BIT(WG_R_4S);

	for (size_t i = 0; i < sizeof(count) / sizeof(count[0]); i++)
		if ((mask & WG_BIT(count[i].r)) &&
		    count_rule(p, plan, &ro, &lo, x, count[i].m, count[i].k, h))
			fired |= WG_BIT(count[i].r);

	if (mask & WG_BIT(WG_2OF3_2S)) {
		bool a = within_run_pair(w, x, true, h);
		bool b = two_of_last_three(&lo, h);
		bool c = false;

		if (p->scope == WG_SCOPE_BOTH) { /* the old interleaved last three */
			struct seq upto = ro;

			upto.n = index_of(&ro, x) + 1;
			c = two_of_last_three(&upto, h);
		}
		if (a || b || c)
			fired |= WG_BIT(WG_2OF3_2S);
	}
	if ((mask & WG_BIT(WG_7T)) && trend7(&lo, h))
		fired |= WG_BIT(WG_7T);
	return fired;
}
