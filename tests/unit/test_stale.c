/* test-links: rules/stale.c rules/equipment.c rules/json_exact.c */
/*
 * test_stale.c: "communication lost" after `stale` seconds of silence,
 * once per silence however often the timer ticks, resolved by the next
 * sample; a channel that never reports; the deadline for the timer; and
 * the state across a JSON round trip (a silence spanning a restart).
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

static void test_fires_once_per_silence(void **unused)
{
	struct stale_params p = {.stale_s = 600, .severity = SEV_NONE};
	struct stale_state st;
	enum cond_state was = COND_OK;
	int fired = 0, resolved = 0;
	double first_fire = NAN;

	(void)unused;
	stale_init(&st, T0);
	for (double t = T0; t < T0 + 4 * 3600; t += 10) {
		struct condition c;
		bool sending = t < T0 + 600 || (t >= T0 + 7200 && t < T0 + 7800);

		if (sending && fmod(t - T0, 60) == 0) {
			c = stale_sample(&st, t);
			assert_int_equal(c.state, COND_OK);
			if (was == COND_FIRING)
				resolved++;
			was = c.state;
		}
		c = stale_tick(&st, &p, t);
		if (c.state == COND_FIRING && was != COND_FIRING) {
			fired++;
			if (isnan(first_fire)) {
				first_fire = t;
				assert_true(c.since == T0 + 540 + 600); /* last sample + stale */
				assert_int_equal(c.severity, SEV_WARNING);
				assert_non_null(strstr(c.summary, "communication lost"));
			}
		}
		if (c.state == COND_OK && was == COND_FIRING)
			resolved++;
		was = c.state;
	}
	/* two silences (after T0+540 and after T0+7740): two firings, one resolution */
	assert_int_equal(fired, 2);
	assert_int_equal(resolved, 1);
	assert_true(first_fire == T0 + 1140);
}

static void test_deadline_and_near_miss(void **unused)
{
	struct stale_params p = {.stale_s = 600, .severity = SEV_CRITICAL};
	struct stale_state st;
	struct condition c;

	(void)unused;
	stale_init(&st, T0);
	stale_sample(&st, T0 + 100);
	assert_true(stale_next(&st, &p, T0 + 100) == T0 + 700);
	assert_int_equal(stale_tick(&st, &p, T0 + 699.9).state, COND_OK); /* near miss */
	c = stale_tick(&st, &p, T0 + 700);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_CRITICAL);
	assert_true(isinf(stale_next(&st, &p, T0 + 700)));
	/* a late, out-of-order sample does not move the last sample back */
	stale_sample(&st, T0 + 800);
	stale_sample(&st, T0 + 50);
	assert_true(stale_next(&st, &p, T0 + 800) == T0 + 1400);
	/* off */
	p.stale_s = 0;
	assert_int_equal(stale_tick(&st, &p, T0 + 1e6).state, COND_OK);
	assert_true(isinf(stale_next(&st, &p, T0)));
}

/* A device silent since before labqcd started: its first sample (a
 * back-fill, or what the broker queued) is 15 min old, so with stale 10m
 * it has been silent past its limit and fires at once, not 10 min after
 * the start. */
static void test_first_sample_older_than_start(void **unused)
{
	struct stale_params p = {.stale_s = 600};
	struct stale_state st;
	struct condition c;

	(void)unused;
	stale_init(&st, T0); /* armed at daemon start */
	stale_sample(&st, T0 - 900);
	assert_true(st.last_t == T0 - 900);
	c = stale_tick(&st, &p, T0 + 1);
	assert_int_equal(c.state, COND_FIRING);
	assert_true(c.since == T0 - 300); /* silent past its limit since then */
	assert_non_null(strstr(c.summary, "no sample"));
	/* later ones still never move it back */
	stale_sample(&st, T0 - 1000);
	assert_true(st.last_t == T0 - 900);
}

static void test_never_a_sample(void **unused)
{
	struct stale_params p = {.stale_s = 300};
	struct stale_state st;
	struct condition c;

	(void)unused;
	stale_init(&st, T0); /* armed at daemon start */
	assert_int_equal(stale_tick(&st, &p, T0 + 299).state, COND_OK);
	c = stale_tick(&st, &p, T0 + 300);
	assert_int_equal(c.state, COND_FIRING);
	assert_non_null(strstr(c.summary, "never a sample"));
}

static void test_json_round_trip(void **unused)
{
	struct stale_params p = {.stale_s = 600};
	struct stale_state a, b;
	char err[128], *s1, *s2;
	cJSON *j;

	(void)unused;
	stale_init(&a, T0);
	stale_sample(&a, T0 + 123.456789012345);
	j = stale_to_json(&a);
	assert_non_null(j);
	s1 = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	j = cJSON_Parse(s1);
	stale_init(&b, 0);
	assert_int_equal(stale_from_json(&b, j, err, sizeof(err)), 0);
	cJSON_Delete(j);
	assert_memory_equal(&a.last_t, &b.last_t, sizeof(double));
	assert_true(b.seen);
	j = stale_to_json(&b);
	s2 = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	assert_string_equal(s1, s2);
	/* the silence goes on across the restart */
	assert_int_equal(stale_tick(&b, &p, T0 + 800).state, COND_FIRING);
	free(s1);
	free(s2);

	j = cJSON_Parse("{\"rule\":\"stale\",\"version\":1,\"last_t\":\"x\",\"seen\":true}");
	assert_int_equal(stale_from_json(&b, j, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "last_t"));
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fires_once_per_silence),
	    cmocka_unit_test(test_deadline_and_near_miss),
	    cmocka_unit_test(test_first_sample_older_than_start),
	    cmocka_unit_test(test_never_a_sample),
	    cmocka_unit_test(test_json_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
