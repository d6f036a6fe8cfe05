/* test-links: rules/pbrtqc.c rules/pbrtqc_design.c rules/json_exact.c */
/*
 * test_pbrtqc.c: patient-based real-time QC (issue 22), the pure rule.
 *
 * First hand-computed cases: moving average, moving median, truncation,
 * EWMA (with and without a target, lambda given and from the block),
 * limits strict, crossing and back, limits learnt from a training period,
 * the normal quantile, the saved state.
 *
 * Then two statistical tests on simulated in-control patient results,
 * N(0, 1) from a fixed-seed generator (xorshift64* + Box-Muller, seed
 * stated in each test):
 *  - the false alarm rate with limits target +- z(1 - far/2) times the
 *    statistic's SD (MA: 1/sqrt(N); EWMA: its exact SD after i results
 *    from the target, sqrt(l/(2-l) (1 - (1-l)^2i))), over 400 independent
 *    streams of 2,000 results, is within 3 standard errors of the
 *    expected rate; the standard error is the SD of the 400 streams'
 *    rates over sqrt(400) (the streams are independent, the statistics
 *    within one are not);
 *  - a bias of 2 SD is detected by MA(20) at 1 % in the median number of
 *    results that a separate plain simulation (an array sum, 20,000
 *    trials) gives, +- 1; that simulation's median is itself checked
 *    against bounds from the normal distribution: at most 6 (the first j
 *    at which MA_j's own mean, 2j/20, passes the limit 2.576/sqrt(20) =
 *    0.576, so P(MA_j beyond) >= 1/2) and at least the first j at which
 *    sum_{i<=j} P(MA_i beyond) reaches 1/2 (a union bound), computed here
 *    with erfc: 5. The design's false alarm rate on those 20,000
 *    results is within 3 SE (0.002, scaled from the 400 streams) of 1 %.
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

#include "rules/pbrtqc.h"

/* ---- a fixed-seed normal generator ---- */
static uint64_t rng_state;
static void rng_seed(uint64_t s)
{
	rng_state = s ? s : 1;
}
static double rng_uniform(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return ((rng_state * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}
static double rng_normal(void)
{
	double u1 = rng_uniform(), u2 = rng_uniform();
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static struct pbrtqc_params params(enum pbrtqc_method m, int block)
{
	struct pbrtqc_params p;
	pbrtqc_params_init(&p);
	p.method = m;
	p.block = block;
	p.has_limits = true;
	p.lo = -1e9;
	p.hi = 1e9;
	return p;
}

static struct pbrtqc s;
static struct pbrtqc_verdict v;

static void feed(const struct pbrtqc_params *p, double x)
{
	assert_int_equal(pbrtqc_eval(&s, p, x, &v), 0);
}

/* MA(3) of 1, 2, 3, 4, 10: none until the block is full, then 2, 3, 17/3. */
static void test_ma_by_hand(void **st)
{
	(void)st;
	struct pbrtqc_params p = params(PBRTQC_MA, 3);
	pbrtqc_init(&s);
	feed(&p, 1);
	assert_false(v.has_stat);
	feed(&p, 2);
	assert_false(v.has_stat);
	feed(&p, 3);
	assert_true(v.has_stat);
	assert_float_equal(v.stat, 2.0, 1e-12);
	feed(&p, 4);
	assert_float_equal(v.stat, 3.0, 1e-12);
	feed(&p, 10);
	assert_float_equal(v.stat, 17.0 / 3.0, 1e-12);
}

/* Truncation [0, 5] leaves 9 and 6 out: MA(3) of 1, 2, 3 then 2, 3, 4. */
static void test_truncation_by_hand(void **st)
{
	(void)st;
	struct pbrtqc_params p = params(PBRTQC_MA, 3);
	p.has_truncate = true;
	p.trunc_lo = 0;
	p.trunc_hi = 5;
	pbrtqc_init(&s);
	feed(&p, 1);
	feed(&p, 9);
	assert_false(v.kept);
	assert_false(v.has_stat);
	feed(&p, 2);
	feed(&p, 3);
	assert_true(v.kept);
	assert_float_equal(v.stat, 2.0, 1e-12);
	feed(&p, 6);
	assert_false(v.kept);
	feed(&p, 5); /* at the limit: kept (outside means beyond) */
	assert_true(v.kept);
	assert_float_equal(v.stat, (2.0 + 3 + 5) / 3, 1e-12);
	feed(&p, -0.5);
	assert_false(v.kept);
	assert_int_equal(s.kept, 4);
	assert_int_equal(s.truncated, 3);
}

/* MM(4) of 5, 1, 9, 3 = (3 + 5) / 2 = 4; then 1, 9, 3, 7 -> 5. MM(3): 5. */
static void test_median_by_hand(void **st)
{
	(void)st;
	struct pbrtqc_params p = params(PBRTQC_MM, 4);
	pbrtqc_init(&s);
	feed(&p, 5);
	feed(&p, 1);
	feed(&p, 9);
	assert_false(v.has_stat);
	feed(&p, 3);
	assert_float_equal(v.stat, 4.0, 1e-12);
	feed(&p, 7);
	assert_float_equal(v.stat, 5.0, 1e-12);
	p = params(PBRTQC_MM, 3);
	pbrtqc_init(&s);
	feed(&p, 5);
	feed(&p, 1);
	feed(&p, 9);
	assert_float_equal(v.stat, 5.0, 1e-12);
	feed(&p, 100); /* 1, 9, 100 */
	assert_float_equal(v.stat, 9.0, 1e-12);
}

/* EWMA, lambda 0.5, target 100, block 2: 104 -> 102 (not judged yet:
 * one result), 98 -> 100, 110 -> 105. Without target the first result
 * is the start: 100, then 104 -> 102. Block 3 without lambda: 2/4 = 0.5
 * again, and 0.25 * ... for block 7: lambda 2/8. */
static void test_ewma_by_hand(void **st)
{
	(void)st;
	struct pbrtqc_params p = params(PBRTQC_EWMA, 2);
	p.lambda = 0.5;
	p.has_target = true;
	p.target = 100;
	pbrtqc_init(&s);
	feed(&p, 104);
	assert_false(v.has_stat);
	assert_float_equal(v.stat, 102, 1e-12);
	feed(&p, 98);
	assert_true(v.has_stat);
	assert_float_equal(v.stat, 100, 1e-12);
	feed(&p, 110);
	assert_float_equal(v.stat, 105, 1e-12);

	p = params(PBRTQC_EWMA, 3); /* lambda from the block: 0.5 */
	pbrtqc_init(&s);
	feed(&p, 100);
	assert_float_equal(v.stat, 100, 1e-12);
	feed(&p, 104);
	assert_float_equal(v.stat, 102, 1e-12);
	feed(&p, 90);
	assert_true(v.has_stat);
	assert_float_equal(v.stat, 96, 1e-12);

	p = params(PBRTQC_EWMA, 7); /* lambda 0.25 */
	p.has_target = true;
	p.target = 0;
	pbrtqc_init(&s);
	feed(&p, 8);
	assert_float_equal(v.stat, 2, 1e-12);
	feed(&p, 8); /* 0.25 * 8 + 0.75 * 2 */
	assert_float_equal(v.stat, 3.5, 1e-12);
}

/* Fixed limits [1.5, 4], MA(2): 1,2 -> 1.5 (at the limit: inside), 1 ->
 * 1.5, 5 -> 3, 5 -> 5 (crossed, +1), 6 -> 5.5 (still beyond, no new
 * crossing), 0 -> 3 (back), 0 -> 0 (crossed, -1). */
static void test_limits_cross_and_back(void **st)
{
	(void)st;
	struct pbrtqc_params p = params(PBRTQC_MA, 2);
	p.lo = 1.5;
	p.hi = 4;
	pbrtqc_init(&s);
	feed(&p, 1);
	feed(&p, 2);
	assert_int_equal(v.side, 0);
	assert_false(v.crossed_now);
	feed(&p, 1);
	assert_int_equal(v.side, 0);
	feed(&p, 5);
	assert_float_equal(v.stat, 3, 1e-12);
	assert_int_equal(v.side, 0);
	feed(&p, 5);
	assert_int_equal(v.side, 1);
	assert_true(v.crossed_now);
	feed(&p, 6);
	assert_int_equal(v.side, 1);
	assert_false(v.crossed_now);
	feed(&p, 0);
	assert_int_equal(v.side, 0);
	assert_true(v.back_now);
	feed(&p, 0);
	assert_int_equal(v.side, -1);
	assert_true(v.crossed_now);
	assert_true(v.has_limits);
	assert_float_equal(v.lo, 1.5, 0);
	assert_float_equal(v.hi, 4, 0);
}

/* Learnt limits: MA(1) (the result itself) trained on 4 statistics 1, 2,
 * 3, 6 at 5 %: mean 3, SD sqrt(((4 + 1 + 0 + 9) / 3)) = sqrt(14/3),
 * limits 3 -+ 1.959964 * 2.160247 = [-1.234, 7.234]. Not judged while
 * training; the fourth is judged by the limits it completed. */
static void test_learnt_limits(void **st)
{
	(void)st;
	struct pbrtqc_params p;
	pbrtqc_params_init(&p);
	p.block = 1;
	p.train_n = 4;
	p.far = 0.05;
	pbrtqc_init(&s);
	feed(&p, 1);
	assert_true(v.training);
	assert_false(v.has_limits);
	feed(&p, 2);
	feed(&p, 3);
	assert_true(v.training);
	feed(&p, 6);
	assert_true(v.limits_learnt_now);
	assert_false(v.training);
	double sd = sqrt(14.0 / 3.0);
	assert_float_equal(v.train_mean, 3, 1e-12);
	assert_float_equal(v.train_sd, sd, 1e-12);
	assert_float_equal(v.lo, 3 - 1.959964 * sd, 1e-5);
	assert_float_equal(v.hi, 3 + 1.959964 * sd, 1e-5);
	assert_int_equal(v.side, 0);
	feed(&p, 7.3);
	assert_true(v.crossed_now);
	assert_int_equal(v.side, 1);
}

/* Table values of the standard normal: 1.959964 (2.5 %), 2.575829
 * (0.5 %), 3.090232 (0.1 %). */
static void test_normal_quantile(void **st)
{
	(void)st;
	assert_float_equal(pbrtqc_normal_quantile(0.025), 1.959964, 1e-6);
	assert_float_equal(pbrtqc_normal_quantile(0.005), 2.575829, 1e-6);
	assert_float_equal(pbrtqc_normal_quantile(0.001), 3.090232, 1e-6);
	assert_true(isnan(pbrtqc_normal_quantile(0.7)));
}

static void test_params_check(void **st)
{
	(void)st;
	struct pbrtqc_params p;
	char err[128];
	pbrtqc_params_init(&p);
	assert_int_equal(pbrtqc_params_check(&p, err, sizeof(err)), 0);
	p.block = 0;
	assert_int_equal(pbrtqc_params_check(&p, err, sizeof(err)), -1);
	pbrtqc_params_init(&p);
	p.has_truncate = true;
	p.trunc_lo = 5;
	p.trunc_hi = 1;
	assert_int_equal(pbrtqc_params_check(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncate"));
	pbrtqc_params_init(&p);
	assert_int_equal(pbrtqc_eval(&s, &p, NAN, &v), -1);
}

/* The saved state reads back to the same verdicts. */
static void test_json_roundtrip(void **st)
{
	(void)st;
	struct pbrtqc_params p;
	struct pbrtqc back;
	struct pbrtqc_verdict v2;
	char err[128];
	pbrtqc_params_init(&p);
	p.block = 5;
	p.train_n = 10;
	pbrtqc_init(&s);
	rng_seed(7);
	for (int i = 0; i < 40; i++)
		feed(&p, 100 + rng_normal());
	cJSON *j = pbrtqc_to_json(&s);
	assert_non_null(j);
	assert_int_equal(pbrtqc_from_json(&back, j, err, sizeof(err)), 0);
	cJSON_Delete(j);
	for (int i = 0; i < 10; i++) {
		double x = 100 + 3 * rng_normal();
		feed(&p, x);
		assert_int_equal(pbrtqc_eval(&back, &p, x, &v2), 0);
		assert_true(v.stat == v2.stat && v.side == v2.side && v.lo == v2.lo);
	}
	cJSON *bad = cJSON_Parse("{\"block\": 3}");
	assert_int_equal(pbrtqc_from_json(&back, bad, err, sizeof(err)), -1);
	cJSON_Delete(bad);
}

/* ---- statistical ---- */

#define STREAMS 400
#define STREAM_N 2000

/* Run `streams` streams through p; the mean and SE of their rates. */
static void far_of(const struct pbrtqc_params *p, double *mean, double *se)
{
	double sum = 0, sum2 = 0;
	for (int k = 0; k < STREAMS; k++) {
		size_t judged = 0, beyond = 0;
		pbrtqc_init(&s);
		for (int i = 0; i < STREAM_N; i++) {
			feed(p, rng_normal());
			if (v.has_stat) {
				judged++;
				beyond += v.side != 0;
			}
		}
		double f = (double)beyond / (double)judged;
		sum += f;
		sum2 += f * f;
	}
	*mean = sum / STREAMS;
	*se = sqrt((sum2 / STREAMS - *mean * *mean) * STREAMS / (STREAMS - 1)) / sqrt(STREAMS);
}

/* Seed 22: MA(20), limits +- 2.575829 / sqrt(20), far 1 %. */
static void test_false_alarm_rate_ma(void **st)
{
	(void)st;
	struct pbrtqc_params p = params(PBRTQC_MA, 20);
	double z = pbrtqc_normal_quantile(0.005), mean, se;
	p.lo = -z / sqrt(20);
	p.hi = z / sqrt(20);
	rng_seed(22);
	far_of(&p, &mean, &se);
	print_message("MA(20): false alarm rate %.5f, SE %.5f, expected 0.01000\n", mean, se);
	assert_true(fabs(mean - 0.01) < 3 * se);
	assert_true(se < 0.002); /* the test can tell 1 % from 2 % */
}

/* Seed 23: EWMA lambda 2/21 from target 0, limits +- 2.575829 times the
 * asymptotic SD sqrt(l/(2-l)); the expected rate is the average over the
 * judged results i = 20..2000 of 2 Q(z sd_inf / sd_i), as the SD after i
 * results is sd_inf sqrt(1 - (1-l)^2i). */
static void test_false_alarm_rate_ewma(void **st)
{
	(void)st;
	struct pbrtqc_params p = params(PBRTQC_EWMA, 20);
	double l = 2.0 / 21, z = pbrtqc_normal_quantile(0.005), mean, se, expect = 0;
	double sd_inf = sqrt(l / (2 - l));
	p.has_target = true;
	p.target = 0;
	p.lo = -z * sd_inf;
	p.hi = z * sd_inf;
	for (int i = 20; i <= STREAM_N; i++) {
		double sd_i = sd_inf * sqrt(1 - pow(1 - l, 2 * i));
		expect += erfc(z * sd_inf / sd_i / sqrt(2.0));
	}
	expect /= STREAM_N - 19;
	rng_seed(23);
	far_of(&p, &mean, &se);
	print_message("EWMA(20): false alarm rate %.5f, SE %.5f, expected %.5f\n", mean, se,
		      expect);
	assert_true(fabs(mean - expect) < 3 * se);
}

/* Seed 24: a plain simulation of MA(20) first passage after a 2 SD bias
 * (array sums, not the rule), its median checked against the formula
 * bounds [5, 6]; then the design (the rule) on 20,000 in-control results
 * with the same limits gives that median +- 1, and its false alarm rate
 * is within 3 SE of 1 % (SE from the same 400-stream estimate above). */
static void test_bias_detected_in_expected_results(void **st)
{
	(void)st;
	const int N = 20, TRIALS = 20000, MAXJ = 200;
	double z = pbrtqc_normal_quantile(0.005), hi = z / sqrt(N), lo = -hi, bias = 2.0;
	static int hist[201];
	double win[20];

	/* the formula bounds */
	int upper = 0, lower = 0;
	double cum = 0;
	for (int j = 1; j <= N && !upper; j++)
		if (bias * j / N >= hi)
			upper = j;
	for (int j = 1; j <= N && !lower; j++) {
		double m = bias * j / N, sd = 1 / sqrt(N);
		cum += 0.5 * erfc((hi - m) / sd / sqrt(2.0)) + 0.5 * erfc((m - lo) / sd / sqrt(2.0));
		if (cum >= 0.5)
			lower = j;
	}
	assert_int_equal(upper, 6);
	assert_int_equal(lower, 5);

	rng_seed(24);
	memset(hist, 0, sizeof(hist));
	for (int t = 0, done = 0; done < TRIALS && t < TRIALS * 2; t++) {
		for (int i = 0; i < N; i++)
			win[i] = rng_normal();
		double sum = 0;
		for (int i = 0; i < N; i++)
			sum += win[i];
		if (sum / N > hi || sum / N < lo)
			continue; /* beyond before the bias: no trial (as the design) */
		int j;
		for (j = 1; j <= MAXJ; j++) {
			win[(j - 1) % N] = rng_normal() + bias;
			sum = 0;
			for (int i = 0; i < N; i++)
				sum += win[i];
			if (sum / N > hi || sum / N < lo)
				break;
		}
		hist[j <= MAXJ ? j : 0]++;
		done++;
	}
	int med = 0, acc = 0;
	for (int j = 1; j <= MAXJ && !med; j++)
		if ((acc += hist[j]) * 2 >= TRIALS)
			med = j;
	print_message("plain simulation: median %d results to detection (bounds %d..%d)\n", med,
		      lower, upper);
	assert_true(med >= lower && med <= upper);

	size_t n = 20000;
	double *x = malloc(n * sizeof(double));
	assert_non_null(x);
	for (size_t i = 0; i < n; i++)
		x[i] = rng_normal();
	struct pbrtqc_params p = params(PBRTQC_MA, N);
	p.lo = lo;
	p.hi = hi;
	struct pbrtqc_design d;
	double biases[2] = {bias, -bias};
	char err[160];
	assert_int_equal(pbrtqc_design_run(x, n, &p, biases, 2, &d, err, sizeof(err)), 0);
	free(x);
	print_message("design: MNPed %+g: %g, %+g: %g over %zu trials; false alarms %.4f\n",
		      biases[0], d.bias[0].mnped, biases[1], d.bias[1].mnped, d.bias[0].trials,
		      d.far);
	assert_true(d.bias[0].trials >= 190);
	assert_true(fabs(d.bias[0].mnped - med) <= 1);
	assert_true(fabs(d.bias[1].mnped - med) <= 1);
	assert_int_equal(d.bias[0].detected, d.bias[0].trials);
	/* 19,981 correlated statistics: SE about 0.002 (the 400-stream SE
	 * of test_false_alarm_rate_ma, 0.00031 for 800,000 statistics,
	 * times sqrt(800000 / 19981)) */
	assert_true(fabs(d.far - 0.01) < 3 * 0.002);
}

/* The design learns limits as the rule does, and refuses too few results. */
static void test_design_learns_and_refuses(void **st)
{
	(void)st;
	struct pbrtqc_params p;
	struct pbrtqc_design d;
	double x[100], b = 1;
	char err[160];
	pbrtqc_params_init(&p);
	p.block = 10;
	p.train_n = 500;
	rng_seed(25);
	for (int i = 0; i < 100; i++)
		x[i] = rng_normal();
	assert_int_equal(pbrtqc_design_run(x, 100, &p, &b, 1, &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too few results"));
	p.train_n = 20;
	assert_int_equal(pbrtqc_design_run(x, 100, &p, &b, 1, &d, err, sizeof(err)), 0);
	assert_true(d.has_limits && d.lo < 0 && d.hi > 0);
	assert_true(d.judged == 100 - 9 - 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ma_by_hand),
		cmocka_unit_test(test_truncation_by_hand),
		cmocka_unit_test(test_median_by_hand),
		cmocka_unit_test(test_ewma_by_hand),
		cmocka_unit_test(test_limits_cross_and_back),
		cmocka_unit_test(test_learnt_limits),
		cmocka_unit_test(test_normal_quantile),
		cmocka_unit_test(test_params_check),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_false_alarm_rate_ma),
		cmocka_unit_test(test_false_alarm_rate_ewma),
		cmocka_unit_test(test_bias_detected_in_expected_results),
		cmocka_unit_test(test_design_learns_and_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
