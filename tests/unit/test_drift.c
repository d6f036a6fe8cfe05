/* test-links: rules/drift.c rules/equipment.c rules/json_exact.c */
/*
 * test_drift.c: the EWMA drift rule on a vibration channel, 2.0 mm/s with
 * an in-control SD of 0.1 and a hard limit of 4.5, one sample a minute,
 * lambda 0.2, limit 3 channel SDs, trained on the first 50 samples (the
 * config's defaults; drift.c says why the limit is in channel SDs). It
 * stays quiet over a week of in-control
 * Gaussian noise and catches a rise of 1 % of the hard limit per hour
 * long before the hard limit; the noise comes from a fixed-seed PRNG.
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

#include "rules/rules.h"

#define T0 1700000000.0
#define MEAN 2.0
#define SD 0.1
#define HARD 4.5
#define WEEK_MIN (7 * 24 * 60)

static const struct drift_params P = {.lambda = 0.2, .limit = 3, .train = 50};

/* xorshift64* and Box-Muller: the same noise on every machine. */
static uint64_t rng = 0x2545F4914F6CDD1DULL;

static double uniform(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return ((rng * 0x2545F4914F6CDD1DULL >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

static double gauss(void)
{
	return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

static void train(struct drift_state *st, double *t)
{
	drift_init(st);
	for (int i = 0; i < P.train; i++, *t += 60) {
		struct condition c = drift_sample(st, &P, MEAN + SD * gauss(), *t);

		assert_int_equal(c.state, COND_OK);
	}
	assert_false(isnan(st->sd));
	assert_true(fabs(st->mean - MEAN) < 0.05 && fabs(st->sd - SD) < 0.03);
}

static void test_quiet_over_a_week_of_noise(void **unused)
{
	struct drift_state st;
	double t = T0, max_excursion = 0;
	int firing = 0;

	(void)unused;
	rng = 0x2545F4914F6CDD1DULL;
	train(&st, &t);
	for (int i = 0; i < WEEK_MIN; i++, t += 60) {
		struct condition c = drift_sample(&st, &P, MEAN + SD * gauss(), t);

		firing += c.state != COND_OK;
		if (fabs(st.ewma - st.mean) > max_excursion)
			max_excursion = fabs(st.ewma - st.mean);
	}
	assert_int_equal(firing, 0);
	/* the noise did reach the EWMA: the test is not vacuous */
	assert_true(max_excursion > 2 * st.sd * sqrt(P.lambda / (2 - P.lambda)));
}

/* In control for a day after training, then rising 1 % of HARD per hour. */
static double ramp_detect_hours(double sign)
{
	struct drift_state st;
	double t = T0, ramp_start;
	struct condition c;

	train(&st, &t);
	for (int i = 0; i < 24 * 60; i++, t += 60)
		assert_int_equal(drift_sample(&st, &P, MEAN + SD * gauss(), t).state, COND_OK);
	ramp_start = t;
	for (;; t += 60) {
		double h = (t - ramp_start) / 3600, trend = MEAN + sign * 0.01 * HARD * h;

		assert_true(trend < HARD && trend > 0); /* it must fire before the hard limit */
		c = drift_sample(&st, &P, trend + SD * gauss(), t);
		if (c.state == COND_FIRING)
			break;
	}
	assert_int_equal(c.severity, SEV_WARNING);
	assert_true(c.since == t);
	assert_non_null(strstr(c.summary, sign > 0 ? "drifting up" : "drifting down"));
	return (t - ramp_start) / 3600;
}

static void test_catches_slow_ramp(void **unused)
{
	double up, down;

	(void)unused;
	rng = 0x9E3779B97F4A7C15ULL;
	up = ramp_detect_hours(+1);
	print_message("ramp caught after %.2f h\n", up);
	/* the trend reaches the hard limit after (4.5 - 2.0) / 0.045 = 55.6 h */
	assert_true(up > 1 && up < 8); /* the value is still below 2.4 */
	down = ramp_detect_hours(-1);
	assert_true(down > 1 && down < 8);
}

static void test_resolves_without_flapping(void **unused)
{
	struct drift_state st;
	double t = T0;
	int transitions = 0;
	enum cond_state was = COND_OK;

	(void)unused;
	rng = 42;
	train(&st, &t);
	/* a shift of 4 SD (beyond the 3 SD limit) for two hours, then back */
	for (int i = 0; i < 240; i++, t += 60) {
		double x = (i < 120 ? MEAN + 4 * SD : MEAN) + SD * gauss();
		struct condition c = drift_sample(&st, &P, x, t);

		transitions += c.state != was;
		was = c.state;
	}
	assert_int_equal(transitions, 2);
	assert_int_equal(was, COND_OK);
}

static void test_training_edge_cases(void **unused)
{
	struct drift_state st;
	struct drift_params p = P;
	struct condition c;

	(void)unused;
	drift_init(&st);
	c = drift_sample(&st, &p, 1.0, T0);
	assert_int_equal(c.state, COND_OK);
	assert_non_null(strstr(c.summary, "1 of 50"));
	/* a constant channel learns no spread and is not judged */
	p.train = 5;
	drift_init(&st);
	for (int i = 0; i < 5; i++)
		drift_sample(&st, &p, 3.0, T0 + i);
	c = drift_sample(&st, &p, 300.0, T0 + 10);
	assert_int_equal(c.state, COND_OK);
	assert_non_null(strstr(c.summary, "no spread"));
	/* NaN is ignored */
	p.train = 2;
	drift_init(&st);
	drift_sample(&st, &p, NAN, T0);
	assert_int_equal(st.n, 0);
	/* not configured */
	p.lambda = 0;
	assert_int_equal(drift_sample(&st, &p, 1, T0).state, COND_OK);
}

static void test_json_round_trip(void **unused)
{
	struct drift_state a, b;
	char err[128], *s1, *s2;
	double t = T0;
	cJSON *j;

	(void)unused;
	rng = 7;
	train(&a, &t);
	for (int i = 0; i < 50; i++, t += 60)
		drift_sample(&a, &P, MEAN + SD * gauss(), t);
	j = drift_to_json(&a);
	assert_non_null(j);
	s1 = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	j = cJSON_Parse(s1);
	drift_init(&b);
	assert_int_equal(drift_from_json(&b, j, err, sizeof(err)), 0);
	cJSON_Delete(j);
	j = drift_to_json(&b);
	s2 = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	assert_string_equal(s1, s2);
	for (int i = 0; i < 600; i++, t += 60) { /* into a ramp: both fire at the same sample */
		double x = MEAN + 0.002 * i + SD * gauss();
		struct condition ca = drift_sample(&a, &P, x, t), cb = drift_sample(&b, &P, x, t);

		assert_int_equal(ca.state, cb.state);
		assert_memory_equal(&a.ewma, &b.ewma, sizeof(double));
	}
	assert_false(isnan(a.firing_since));
	free(s1);
	free(s2);

	j = cJSON_Parse("{\"rule\":\"drift\",\"version\":1,\"n\":100,\"mean\":2,\"m2\":1,"
	                "\"sd\":0.1,\"ewma\":null,\"firing_since\":null,\"high\":false}");
	assert_int_equal(drift_from_json(&b, j, err, sizeof(err)), -1);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quiet_over_a_week_of_noise),
	    cmocka_unit_test(test_catches_slow_ramp),
	    cmocka_unit_test(test_resolves_without_flapping),
	    cmocka_unit_test(test_training_edge_cases),
	    cmocka_unit_test(test_json_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
