/* test-links: rules/rate.c rules/equipment.c rules/json_exact.c */
/*
 * test_rate.c: max_rate 1.0 per 10 min. A steady noisy signal and a slow
 * rise stay quiet; a fast rise and a step fire; a step resolves about one
 * interval later; one sample a second (far more than the ring holds)
 * still sees the whole window; the state survives a JSON round trip.
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

static const struct rate_params P = {.delta = 1.0, .interval_s = 600, .severity = SEV_NONE};

/* Feeds v(t) = f(i) at t = T0 + i * step for n samples; returns the
 * number of samples that fired and the first firing time. */
static int run(struct rate_state *st, double step, int n, double (*f)(double t), double *first)
{
	int firing = 0;

	*first = NAN;
	for (int i = 0; i < n; i++) {
		double t = T0 + i * step;
		struct condition c = rate_sample(st, &P, f(t - T0), t);

		if (c.state == COND_FIRING) {
			if (firing++ == 0)
				*first = t;
			assert_int_equal(c.severity, SEV_WARNING);
		}
	}
	return firing;
}

static double steady(double t)
{
	return 5.0 + 0.2 * sin(t / 97.0) + 0.1 * cos(t / 13.0); /* peak to peak < 0.6 */
}
static double slow(double t)
{
	return 5.0 + t * (0.9 / 600); /* 0.9 per 10 min */
}
static double fast(double t)
{
	return t < 3600 ? 5.0 : 5.0 + (t - 3600) * (1.2 / 600); /* 1.2 per 10 min from 1 h */
}
static double step(double t)
{
	return t < 3600 ? 5.0 : 7.0;
}

static void test_quiet_and_near_miss(void **unused)
{
	struct rate_state st;
	double first;

	(void)unused;
	rate_init(&st);
	assert_int_equal(run(&st, 60, 24 * 60, steady, &first), 0);
	rate_init(&st);
	assert_int_equal(run(&st, 60, 6 * 60, slow, &first), 0);
	rate_init(&st); /* the near miss at one sample a second */
	assert_int_equal(run(&st, 1, 3 * 3600, slow, &first), 0);
}

static void test_fast_rise_fires(void **unused)
{
	struct rate_state st;
	double first;

	(void)unused;
	rate_init(&st);
	assert_true(run(&st, 60, 3 * 60, fast, &first) > 0);
	/* 1.2 per 600 s exceeds 1.0 once the window holds more than 500 s of it */
	assert_true(first > T0 + 3600 + 500 && first <= T0 + 3600 + 600);
	/* one sample a second: the ring keeps min/max per bucket, nothing is missed */
	rate_init(&st);
	assert_true(run(&st, 1, 2 * 3600, fast, &first) > 0);
	assert_true(first > T0 + 3600 + 500 && first <= T0 + 3600 + 600);
}

static void test_step_fires_then_resolves(void **unused)
{
	struct rate_state st;
	struct condition c;
	double last_firing = NAN, first = NAN;

	(void)unused;
	rate_init(&st);
	for (int i = 0; i < 120; i++) {
		double t = T0 + i * 60;

		c = rate_sample(&st, &P, step(t - T0), t);
		if (c.state == COND_FIRING) {
			if (isnan(first)) {
				first = t;
				assert_true(c.value == 2.0);
				assert_non_null(strstr(c.summary, "rose 2"));
			}
			assert_true(c.since == T0 + 3600);
			last_firing = t;
		}
	}
	assert_true(first == T0 + 3600);
	/* the last 5.0 (at the step - 60 s) leaves the window between 15/16
	 * and 16/16 of an interval after it was taken */
	assert_true(last_firing >= T0 + 3600 - 60 + 562.5 - 60 && last_firing <= T0 + 3600 + 540);
	assert_int_equal(c.state, COND_OK);

	/* a fall fires too; NaN and late samples change nothing */
	c = rate_sample(&st, &P, 5.5, T0 + 7200);
	assert_int_equal(c.state, COND_FIRING);
	assert_non_null(strstr(c.summary, "fell 1.5"));
	assert_int_equal(rate_sample(&st, &P, NAN, T0 + 7201).state, COND_FIRING);
	assert_int_equal(rate_sample(&st, &P, 7.0, T0 + 3000).state, COND_FIRING);
}

static void test_json_round_trip(void **unused)
{
	struct rate_state a, b;
	char err[128], *s1, *s2;
	cJSON *j;

	(void)unused;
	rate_init(&a);
	for (int i = 0; i < 30; i++)
		rate_sample(&a, &P, fast(3000 + i * 37.3), T0 + i * 37.3);
	j = rate_to_json(&a);
	assert_non_null(j);
	s1 = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	j = cJSON_Parse(s1);
	rate_init(&b);
	assert_int_equal(rate_from_json(&b, j, err, sizeof(err)), 0);
	cJSON_Delete(j);
	j = rate_to_json(&b);
	s2 = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	assert_string_equal(s1, s2);
	for (int i = 30; i < 60; i++) {
		double t = T0 + i * 37.3;
		struct condition ca = rate_sample(&a, &P, fast(3000 + i * 37.3), t);
		struct condition cb = rate_sample(&b, &P, fast(3000 + i * 37.3), t);

		assert_int_equal(ca.state, cb.state);
		assert_memory_equal(&ca.value, &cb.value, sizeof(double));
	}
	free(s1);
	free(s2);

	j = cJSON_Parse("{\"rule\":\"rate\",\"version\":1,\"newest\":0,\"width\":null,"
	                "\"firing_since\":null,\"last_change\":null,\"buckets\":[]}");
	assert_int_equal(rate_from_json(&b, j, err, sizeof(err)), -1);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quiet_and_near_miss),
	    cmocka_unit_test(test_fast_rise_fires),
	    cmocka_unit_test(test_step_fires_then_resolves),
	    cmocka_unit_test(test_json_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
