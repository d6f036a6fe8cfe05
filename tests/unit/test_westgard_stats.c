/* test-links: rules/westgard.c rules/westgard_runs.c rules/westgard_count.c rules/westgard_names.c */
/*
 * test_westgard_stats.c: statistical acceptance of the Westgard engine.
 *
 * Two control levels, one result each per run (N=2), z ~ N(0,1) in
 * control; a systematic shift of 2 SD on both levels for Ped. We measure
 * the probability of false rejection (Pfr, per run, steady state) and of
 * error detection (Ped) and compare with
 *
 *  - Westgard JO, Groth T, Aronsson T, Falk H, de Verdier CH. Performance
 *    characteristics of rules for internal quality control: probabilities
 *    for false rejection and error detection. Clin Chem 1977;23:1857-67;
 *  - Westgard JO, Barry PL, Hunt MR, Groth T. A multi-rule Shewhart chart
 *    for quality control in clinical chemistry. Clin Chem 1981;27:493-501;
 *  - westgard.com, "Power function graphs of multirules", figure "Ns of 2
 *    for systematic error" (curves 1-3s; 1-3s/2-2s/R-4s; + 4-1s, R=2;
 *    + 10x, R=5).
 *
 * The published figures are power curves read off graphs, not tables we
 * could quote to three digits, so the test checks against values derived
 * exactly from the rule definitions, which are what those curves plot:
 *  - single rules: Pfr = 1 - (1 - p)^2 with p = P(|z| > k), Ped the same
 *    with z shifted by 2 (the 1977 paper's formula for N independent
 *    results); e.g. Pfr(1-3s, N=2) = 1 - 0.9973^2 = 0.0054 and
 *    Pfr(1-2s, N=2) = 0.089, the figures both papers give;
 *  - 1-3s/2-2s/R-4s: an exact Markov chain over the classes (beyond +2,
 *    beyond -2, within 2) of each level's last accepted result, since 2-2s
 *    also looks back one run per level and a rejected run leaves that
 *    history. It gives Pfr = 0.0089 and Ped(first run) = 0.416, which is
 *    the "about 0.01" and "about 0.4" read off the 1981 paper and the
 *    N=2 power curve at 2 SD.
 *  - 1-3s/2-2s/R-4s/4-1s/10x, run-aligned (scope runs, the default): an
 *    exact Markov chain over the classes of the last accepted run and the
 *    streak of runs on one side of the mean (below), written from the
 *    rule definitions and not from the engine: Pfr = 0.0119 (issue 17's
 *    Monte Carlo said about 0.011), Ped at 2 SD 0.426 in the first run,
 *    0.810 within 2 runs, 0.995 within 5. The engine must match within
 *    5 SE (SE = 0.00024 at 200,000 runs, seed 31); the old semantics
 *    (scope both, about 0.0199) is then 33 SE away, and the test checks
 *    that it fails the band.
 *  - the 3-level sets of `auto` below 4 sigma: engine Monte Carlo, 100,000
 *    runs each (seeds 41-43), checked against the band their single rules
 *    give. Measured: N=6 R=1 0.098, N=3 R=2 0.066, 9x N=3 R=3 0.041;
 *    below the old 0.186, but not "a few per cent" for N=6, which the
 *    rules' own definitions exclude (see test_three_level_auto).
 *
 * Tolerances: 4 binomial standard errors, sqrt(p(1-p)/n), of the sample
 * size used (5 for the steady-state multirule Pfr, whose runs are
 * slightly correlated through the look-back rules). With a fixed seed the
 * test is deterministic; 4 SE would be exceeded by chance 6 times in
 * 100,000 seeds.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/westgard.h"

#define B(r) WG_BIT(r)
#define SET_13 (B(WG_1_3S))
#define SET_3R (B(WG_1_3S) | B(WG_2_2S) | B(WG_R_4S))
#define SET_5R (SET_3R | B(WG_4_1S) | B(WG_10X))

#define PFR_RUNS 200000
#define PED_TRIALS 20000
#define WARMUP_RUNS 12

/* ---- random numbers: xorshift64* and Box-Muller ---- */

struct rng {
	uint64_t s;
	bool have_spare;
	double spare;
};

static double uniform(struct rng *g) /* (0, 1) */
{
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return ((double)((g->s * 2685821657736338717ull) >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(struct rng *g)
{
	double u1, u2, rad;

	if (g->have_spare) {
		g->have_spare = false;
		return g->spare;
	}
	u1 = uniform(g);
	u2 = uniform(g);
	rad = sqrt(-2.0 * log(u1));
	g->spare = rad * sin(2 * M_PI * u2);
	g->have_spare = true;
	return rad * cos(2 * M_PI * u2);
}

/* ---- exact values ---- */

static double upper(double x) /* P(Z > x) */
{
	return 0.5 * erfc(x / sqrt(2.0));
}

static double single_rule(double k, double shift)
{
	double p = upper(k - shift) + upper(k + shift); /* P(|z + shift| > k) */

	return 1 - (1 - p) * (1 - p);
}

/*
 * 1-3s/2-2s/R-4s, N=2, one result per level per run. Classes of a result:
 * 0 = beyond +3, 1 = (+2, +3], 2 = [-2, +2], 3 = [-3, -2), 4 = beyond -3.
 * The state is the pair of classes (1..3 each) of the levels' last
 * accepted results. A run is rejected if a result is beyond 3, both are
 * beyond 2 (same side: 2-2s; opposite: R-4s), or a level is beyond the
 * same 2 SD limit as its last accepted result (2-2s across runs).
 */
static void classes(double shift, double c[5])
{
	c[0] = upper(3 - shift);
	c[1] = upper(2 - shift) - c[0];
	c[4] = upper(3 + shift);
	c[3] = upper(2 + shift) - c[4];
	c[2] = 1 - c[0] - c[1] - c[3] - c[4];
}

static bool rejects(int h1, int h2, int c1, int c2)
{
	if (c1 == 0 || c1 == 4 || c2 == 0 || c2 == 4)
		return true;
	if (c1 != 2 && c2 != 2)
		return true;
	if ((c1 == 1 || c1 == 3) && c1 == h1)
		return true;
	if ((c2 == 1 || c2 == 3) && c2 == h2)
		return true;
	return false;
}

/* One run: from the state distribution pi (3x3, classes 1..3), the
 * probability of rejection; pi becomes the distribution after the run,
 * accepted runs only (rejected mass is removed when `absorb`, kept in
 * place otherwise: a rejected run leaves the history as it was). */
static double chain_step(double pi[3][3], double shift, bool absorb)
{
	double c[5], next[3][3] = {{0}}, rej = 0;

	classes(shift, c);
	for (int h1 = 1; h1 <= 3; h1++)
		for (int h2 = 1; h2 <= 3; h2++)
			for (int c1 = 0; c1 < 5; c1++)
				for (int c2 = 0; c2 < 5; c2++) {
					double p = pi[h1 - 1][h2 - 1] * c[c1] * c[c2];

					if (rejects(h1, h2, c1, c2)) {
						rej += p;
						if (!absorb)
							next[h1 - 1][h2 - 1] += p;
					} else {
						next[c1 - 1][c2 - 1] += p;
					}
				}
	memcpy(pi, next, sizeof(next));
	return rej;
}

static void steady_state(double pi[3][3])
{
	memset(pi, 0, 9 * sizeof(double));
	pi[1][1] = 1;
	for (int i = 0; i < 2000; i++)
		chain_step(pi, 0, false);
}

/* ---- simulation ---- */

static struct westgard_params params(unsigned rules, struct westgard_target tg[2])
{
	struct westgard_params p;

	westgard_params_init(&p, 2);
	p.rules = rules;
	p.warning = 0;
	memset(tg, 0, 2 * sizeof(*tg));
	for (int l = 0; l < 2; l++) {
		tg[l].has_mean_sd = true;
		tg[l].sd = 1;
		p.levels[l].targets = &tg[l];
		p.levels[l].n_targets = 1;
	}
	return p;
}

/* One run of both levels; true if it was rejected. */
static bool one_run(struct westgard *w, const struct westgard_params *p, struct rng *g,
                    double shift, long n)
{
	struct qc_verdict v;
	char id[24];

	snprintf(id, sizeof(id), "r%ld", n);
	for (int l = 0; l < 2; l++) {
		struct qc_input in = {
		    .level = l, .value = gauss(g) + shift, .t = 600.0 * n, .run = id, .lot = ""};

		assert_int_equal(westgard_eval(w, p, &in, &v), 0);
	}
	return v.status == QC_REJECT;
}

static double measure_pfr(unsigned rules, uint64_t seed)
{
	struct westgard_target tg[2];
	struct westgard_params p = params(rules, tg);
	struct westgard *w = calloc(1, sizeof(*w));
	struct rng g = {.s = seed};
	long rej = 0;

	assert_non_null(w);
	westgard_init(w);
	for (long i = 0; i < WARMUP_RUNS; i++)
		one_run(w, &p, &g, 0, i);
	for (long i = 0; i < PFR_RUNS; i++)
		rej += one_run(w, &p, &g, 0, WARMUP_RUNS + i);
	free(w);
	return (double)rej / PFR_RUNS;
}

/* Ped: in-control history, then the shift persists; detected[r] counts
 * trials first rejected within r+1 runs after the shift. */
static void measure_ped(unsigned rules, uint64_t seed, int max_runs, double *ped)
{
	struct westgard_target tg[2];
	struct westgard_params p = params(rules, tg);
	struct westgard *w = calloc(1, sizeof(*w));
	struct rng g = {.s = seed};
	long detected[8] = {0};

	assert_non_null(w);
	for (long t = 0; t < PED_TRIALS; t++) {
		westgard_init(w);
		for (long i = 0; i < WARMUP_RUNS; i++)
			one_run(w, &p, &g, 0, i);
		for (int r = 0; r < max_runs; r++)
			if (one_run(w, &p, &g, 2.0, WARMUP_RUNS + r)) {
				for (int k = r; k < max_runs; k++)
					detected[k]++;
				break;
			}
	}
	for (int r = 0; r < max_runs; r++)
		ped[r] = (double)detected[r] / PED_TRIALS;
	free(w);
}

static void check(const char *what, double got, double want, double n, double n_se)
{
	double se = sqrt(want * (1 - want) / n);

	print_message("%-44s measured %.4f  expected %.4f  (+- %.4f = %.0f SE)\n", what, got, want,
	              n_se * se, n_se);
	if (fabs(got - want) > n_se * se)
		fail_msg("%s: %.4f is more than %.0f SE from %.4f", what, got, n_se, want);
}

static void test_single_rules(void **state)
{
	double ped[1];

	(void)state;
	check("Pfr 1-2s N=2 (exact 1-(1-0.0455)^2)", measure_pfr(B(WG_1_2S), 11), single_rule(2, 0),
	      PFR_RUNS, 4);
	check("Pfr 1-3s N=2 (exact 1-(1-0.0027)^2)", measure_pfr(SET_13, 12), single_rule(3, 0),
	      PFR_RUNS, 4);
	measure_ped(B(WG_1_2S), 13, 1, ped);
	check("Ped 1-2s N=2 SE=2s", ped[0], single_rule(2, 2), PED_TRIALS, 4);
	measure_ped(SET_13, 14, 1, ped);
	check("Ped 1-3s N=2 SE=2s", ped[0], single_rule(3, 2), PED_TRIALS, 4);
}

static void test_three_rules(void **state)
{
	double pi[3][3], pfr, ped1, ped[1];

	(void)state;
	steady_state(pi);
	pfr = chain_step(pi, 0, false);
	steady_state(pi);
	ped1 = chain_step(pi, 2.0, true);
	/* the exact values, and what the 1981 paper and the graph show */
	assert_true(pfr > 0.0085 && pfr < 0.0095);
	assert_true(ped1 > 0.40 && ped1 < 0.43);
	check("Pfr 1-3s/2-2s/R-4s N=2 (Markov chain)", measure_pfr(SET_3R, 21), pfr, PFR_RUNS, 5);
	measure_ped(SET_3R, 22, 1, ped);
	check("Ped 1-3s/2-2s/R-4s N=2 SE=2s first run", ped[0], ped1, PED_TRIALS, 4);
}

/*
 * 1-3s/2-2s/R-4s/4-1s/10x, N=2, scope runs: an exact Markov chain written
 * from the rule definitions (DESIGN 4, issue 17), not from the engine.
 * Classes of a result: 0 beyond +3, 1 (+2,+3], 2 (+1,+2], 3 (0,+1],
 * 4 [-1,0), 5 [-2,-1), 6 [-3,-2), 7 beyond -3. The state: the classes of
 * both levels in the last accepted run (1..6) and k, how many accepted
 * runs in a row up to it had both results on one side of the mean (the
 * side of that run), capped at 4. A new run (d1, d2) is rejected when
 *  1-3s   a result beyond 3;
 *  2-2s   both beyond the same 2 SD limit, or a level beyond the same 2 SD
 *         limit as its previous accepted result;
 *  R-4s   one beyond +2, the other beyond -2;
 *  4-1s   the four results of this and the previous accepted run beyond
 *         the same 1 SD limit (a window of 4 reaches back ceil(4/2) = 2
 *         runs: only the one ending at this run's L2 fits);
 *  10x    this run's two on one side and k >= 4 on that side (five runs).
 * Rejected runs leave the history, so the state stays as it was.
 */
static void classes8(double shift, double c[8])
{
	double cut[7] = {3, 2, 1, 0, -1, -2, -3};
	double prev = 0;

	for (int i = 0; i < 7; i++) {
		double up = upper(cut[i] - shift); /* P(z > cut) */

		c[i] = up - prev;
		prev = up;
	}
	c[7] = 1 - prev;
}

static int side8(int c)
{
	return c <= 3 ? 1 : -1;
}

static bool rejects5(int c1, int c2, int k, int d1, int d2)
{
	bool beyond2_hi[8] = {1, 1, 0, 0, 0, 0, 0, 0}, beyond2_lo[8] = {0, 0, 0, 0, 0, 0, 1, 1};
	bool beyond1_hi[8] = {1, 1, 1, 0, 0, 0, 0, 0}, beyond1_lo[8] = {0, 0, 0, 0, 0, 1, 1, 1};

	if (d1 == 0 || d1 == 7 || d2 == 0 || d2 == 7)
		return true;
	if ((beyond2_hi[d1] && beyond2_hi[d2]) || (beyond2_lo[d1] && beyond2_lo[d2]))
		return true;
	if ((beyond2_hi[d1] && beyond2_lo[d2]) || (beyond2_lo[d1] && beyond2_hi[d2]))
		return true;
	if ((beyond2_hi[d1] && beyond2_hi[c1]) || (beyond2_lo[d1] && beyond2_lo[c1]) ||
	    (beyond2_hi[d2] && beyond2_hi[c2]) || (beyond2_lo[d2] && beyond2_lo[c2]))
		return true;
	if (c1 >= 0 && ((beyond1_hi[c1] && beyond1_hi[c2] && beyond1_hi[d1] && beyond1_hi[d2]) ||
	                (beyond1_lo[c1] && beyond1_lo[c2] && beyond1_lo[d1] && beyond1_lo[d2])))
		return true;
	if (side8(d1) == side8(d2) && k >= 4 && side8(c1) == side8(d1))
		return true;
	return false;
}

/* pi[c1][c2][k], c in 1..6; returns P(reject) for one run and moves pi on. */
static double chain5_step(double pi[8][8][5], double shift, bool absorb)
{
	static double next[8][8][5];
	double c[8], rej = 0;

	classes8(shift, c);
	memset(next, 0, sizeof(next));
	for (int c1 = 1; c1 <= 6; c1++)
		for (int c2 = 1; c2 <= 6; c2++)
			for (int k = 0; k < 5; k++) {
				if (pi[c1][c2][k] == 0)
					continue;
				for (int d1 = 0; d1 < 8; d1++)
					for (int d2 = 0; d2 < 8; d2++) {
						double p = pi[c1][c2][k] * c[d1] * c[d2];
						int k2;

						if (rejects5(c1, c2, k, d1, d2)) {
							rej += p;
							if (!absorb)
								next[c1][c2][k] += p;
							continue;
						}
						if (side8(d1) != side8(d2))
							k2 = 0;
						else if (k > 0 && side8(c1) == side8(d1))
							k2 = k + 1 > 4 ? 4 : k + 1;
						else
							k2 = 1;
						next[d1][d2][k2] += p;
					}
			}
	memcpy(pi, next, sizeof(next));
	return rej;
}

static void steady5(double pi[8][8][5])
{
	memset(pi, 0, 8 * 8 * 5 * sizeof(double));
	pi[3][4][0] = 1; /* one run on either side of the mean */
	for (int i = 0; i < 3000; i++)
		chain5_step(pi, 0, false);
}

static double measure_pfr_scope(unsigned rules, enum wg_scope scope, uint64_t seed)
{
	struct westgard_target tg[2];
	struct westgard_params p = params(rules, tg);
	struct westgard *w = calloc(1, sizeof(*w));
	struct rng g = {.s = seed};
	long rej = 0;

	assert_non_null(w);
	p.scope = scope;
	westgard_init(w);
	for (long i = 0; i < WARMUP_RUNS; i++)
		one_run(w, &p, &g, 0, i);
	for (long i = 0; i < PFR_RUNS; i++)
		rej += one_run(w, &p, &g, 0, WARMUP_RUNS + i);
	free(w);
	return (double)rej / PFR_RUNS;
}

static void test_five_rules(void **state)
{
	static double pi[8][8][5];
	double pfr, ped_exact[5], ped[5], both;

	(void)state;
	steady5(pi);
	pfr = chain5_step(pi, 0, false);
	steady5(pi);
	for (int r = 0; r < 5; r++)
		ped_exact[r] = (r ? ped_exact[r - 1] : 0) + chain5_step(pi, 2.0, true);
	print_message("exact Pfr 1-3s/2-2s/R-4s/4-1s/10x N=2, runs: %.5f\n", pfr);
	/* the value of the run-aligned definition, about 0.011 (issue 17) */
	assert_true(pfr > 0.0105 && pfr < 0.0120);

	check("Pfr 1-3s/2-2s/R-4s/4-1s/10x N=2 scope runs", measure_pfr_scope(SET_5R, WG_SCOPE_RUNS, 31),
	      pfr, PFR_RUNS, 5);
	measure_ped(SET_5R, 32, 5, ped);
	check("Ped 5 rules SE=2s first run", ped[0], ped_exact[0], PED_TRIALS, 4);
	check("Ped 5 rules SE=2s within 2 runs", ped[1], ped_exact[1], PED_TRIALS, 4);
	check("Ped 5 rules SE=2s within 5 runs", ped[4], ped_exact[4], PED_TRIALS, 4);
	/* The old semantics (scope both) must fail this test: its Pfr lies
	 * far outside the 5 SE band (about 0.019 measured in issue 17). */
	both = measure_pfr_scope(SET_5R, WG_SCOPE_BOTH, 33);
	print_message("%-44s measured %.4f (must be outside the band above)\n",
	              "Pfr 5 rules N=2 scope both", both);
	assert_true(fabs(both - pfr) > 5 * sqrt(pfr * (1 - pfr) / PFR_RUNS));
	assert_true(both > 0.015);
}

/* The 3-level sets `auto` picks below 4 sigma, in control, each with its
 * N and R (engine measurement, 100,000 runs each, seed stated). What
 * the rules alone allow, from their definitions: at N=6, 1-3s alone
 * rejects 1 - 0.9973^6 = 1.6 % and 6x over one run of six 2 x 0.5^6 =
 * 3.1 %, so the N=6 set cannot reach "a few per cent"; it is pinned to
 * the band its single rules give (at least their largest, at most their
 * sum as if disjoint), as are the others. Measured with these seeds:
 * 0.0977, 0.0661, 0.0414 (SE about 0.0009, 0.0008, 0.0006). */
static double measure_pfr3(enum wg_sigma_option opt, uint64_t seed, long runs)
{
	struct westgard_target tg[3];
	struct westgard_params p;
	struct westgard *w = calloc(1, sizeof(*w));
	struct rng g = {.s = seed};
	struct qc_verdict v;
	long rej = 0;

	assert_non_null(w);
	westgard_params_init(&p, 3);
	p.rules_auto = true;
	p.tea_pct = 10;
	p.sigma_option = opt;
	p.warning = 0;
	memset(tg, 0, sizeof(tg));
	for (int l = 0; l < 3; l++) {
		tg[l].has_mean_sd = true, tg[l].mean = 100, tg[l].sd = 3; /* sigma 3.3 */
		tg[l].has_bias = true;
		p.levels[l].targets = &tg[l];
		p.levels[l].n_targets = 1;
	}
	westgard_init(w);
	for (long n = 0; n < runs + WARMUP_RUNS; n++) {
		char id[24];
		int reps = opt == WG_SIGMA_N6R1 ? 2 : 1;

		snprintf(id, sizeof(id), "r%ld", n);
		for (int l = 0; l < 3; l++)
			for (int k = 0; k < reps; k++) {
				struct qc_input in = {.level = l, .value = 100 + 3 * gauss(&g),
				                      .t = 600.0 * n, .run = id};

				assert_int_equal(westgard_eval(w, &p, &in, &v), 0);
			}
		if (n >= WARMUP_RUNS)
			rej += v.status == QC_REJECT;
	}
	free(w);
	return (double)rej / runs;
}

static void test_three_level_auto(void **state)
{
	static const struct {
		enum wg_sigma_option o;
		const char *what;
		double lo, hi;
	} sets[] = {
	    /* N6 R1: 6x in-run 0.031 alone; sum of singles about 0.11 */
	    {WG_SIGMA_N6R1, "N=6 R=1 .../3-1s/6x", 0.031, 0.11},
	    /* N3 R2 and 9x N3 R3: 1-3s 0.008, 6x/9x over 2/3 runs */
	    {WG_SIGMA_N3R2, "N=3 R=2 .../3-1s/6x", 0.016, 0.08},
	    {WG_SIGMA_9X, "N=3 R=3 .../3-1s/9x", 0.008, 0.06},
	};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		double pfr = measure_pfr3(sets[i].o, 41 + i, 100000);

		print_message("Pfr 3 levels auto below 4 sigma %-22s measured %.4f\n", sets[i].what,
		              pfr);
		assert_true(pfr >= sets[i].lo && pfr <= sets[i].hi);
		assert_true(pfr < 0.186); /* below the old semantics. 0.186 */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_rules),
	    cmocka_unit_test(test_three_rules),
	    cmocka_unit_test(test_five_rules),
	    cmocka_unit_test(test_three_level_auto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
