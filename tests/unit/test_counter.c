/* test-links: rules/counter.c rules/equipment.c rules/json_exact.c */
/*
 * test_counter.c: service intervals on a run counter, every 5000 runs,
 * warning at 90 %: warning then critical, service_done resolving and
 * restarting the interval, the instrument's total and service_baseline
 * before the first service, a reset and a wrap of the device counter
 * (usage carried across), jitter, service_done before any reading, and
 * the JSON round trip.
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
#define H 3600.0

static struct service_params runs(void)
{
	struct service_params p = {.every = 5000, .warn_at = 0.9, .severity = SEV_NONE};
	return p;
}

static void test_warning_then_critical_then_done(void **unused)
{
	struct service_params p = runs();
	struct service_state st;
	struct condition c;
	int n_ok = 0, n_warn = 0, n_crit = 0;
	double t = T0;

	(void)unused;
	service_init(&st);
	for (double v = 0; v <= 5200; v += 100, t += H) {
		c = service_sample(&st, &p, v, t);
		if (c.state == COND_OK)
			n_ok++;
		else if (c.severity == SEV_WARNING)
			n_warn++;
		else if (c.severity == SEV_CRITICAL)
			n_crit++;
		if (v == 4400)
			assert_int_equal(c.state, COND_OK); /* near miss: 88 % */
		if (v == 4500) {
			assert_int_equal(c.state, COND_FIRING);
			assert_int_equal(c.severity, SEV_WARNING);
			assert_non_null(strstr(c.summary, "due soon"));
		}
		if (v == 5000) {
			assert_int_equal(c.severity, SEV_CRITICAL);
			assert_true(c.value == 5000);
			assert_true(c.since == T0 + 45 * H); /* the alert began with the warning */
			assert_non_null(strstr(c.summary, "service due"));
		}
	}
	assert_int_equal(n_ok, 45);
	assert_int_equal(n_warn, 5);
	assert_int_equal(n_crit, 3);
	c = service_done(&st, &p, t);
	assert_int_equal(c.state, COND_OK);
	assert_true(c.value == 0);
	/* the next interval counts from the service */
	assert_int_equal(service_sample(&st, &p, 5200 + 4499, t + H).state, COND_OK);
	c = service_sample(&st, &p, 5200 + 4500, t + 2 * H);
	assert_int_equal(c.severity, SEV_WARNING);
	assert_non_null(strstr(c.summary, "since the last service"));
}

static void test_before_first_service(void **unused)
{
	struct service_params p = runs();
	struct service_state st;
	struct condition c;

	(void)unused;
	/* the instrument's own total: already past the interval, due at once */
	service_init(&st);
	c = service_sample(&st, &p, 12000, T0);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_CRITICAL);
	/* with service_baseline: counted from there */
	p.has_baseline = true;
	p.baseline = 10000;
	service_init(&st);
	c = service_sample(&st, &p, 12000, T0);
	assert_int_equal(c.state, COND_OK);
	assert_true(c.value == 2000);
	assert_int_equal(service_sample(&st, &p, 15000, T0 + H).severity, SEV_CRITICAL);
	/* no warning when warn_at is off; override of the due severity */
	p.warn_at = 0;
	p.severity = SEV_WARNING;
	service_init(&st);
	assert_int_equal(service_sample(&st, &p, 14999, T0).state, COND_OK);
	assert_int_equal(service_sample(&st, &p, 15000, T0 + 1).severity, SEV_WARNING);
}

static void test_counter_reset_and_wrap(void **unused)
{
	struct service_params p = runs();
	struct service_state st;
	struct condition c;

	(void)unused;
	service_init(&st);
	service_sample(&st, &p, 1000, T0);
	service_done(&st, &p, T0);
	service_sample(&st, &p, 4000, T0 + H); /* 3000 used */
	/* the board was replaced: the counter starts again from 0 */
	c = service_sample(&st, &p, 200, T0 + 2 * H);
	assert_int_equal(c.state, COND_OK);
	assert_true(c.value == 3200);
	assert_non_null(strstr(c.summary, "reset 1 time"));
	c = service_sample(&st, &p, 1300, T0 + 3 * H);
	assert_true(c.value == 4300);
	c = service_sample(&st, &p, 2000, T0 + 4 * H);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_CRITICAL);
	assert_true(c.value == 5000);
	assert_int_equal(service_done(&st, &p, T0 + 5 * H).state, COND_OK);
	assert_int_equal(st.resets, 0);

	/* a 16-bit counter wraps: 65000 -> 300 counts the 300 on top */
	service_init(&st);
	p.has_baseline = true;
	p.baseline = 62000;
	assert_true(service_sample(&st, &p, 65000, T0).value == 3000);
	c = service_sample(&st, &p, 300, T0 + H);
	assert_true(c.value == 3300);
	c = service_sample(&st, &p, 2000, T0 + 2 * H);
	assert_int_equal(c.severity, SEV_CRITICAL);

	/* a run-hours counter that dips by rounding is not a reset */
	p = runs();
	p.every = 2000;
	service_init(&st);
	service_sample(&st, &p, 1234.5, T0);
	c = service_sample(&st, &p, 1234.4, T0 + 60);
	assert_true(c.value == 1234.5);
	assert_int_equal(st.resets, 0);
	assert_true(service_sample(&st, &p, 1236, T0 + 120).value == 1236);
}

static void test_done_before_any_reading(void **unused)
{
	struct service_params p = runs();
	struct service_state st;
	struct condition c;

	(void)unused;
	service_init(&st);
	assert_int_equal(service_done(&st, &p, T0).state, COND_OK);
	c = service_sample(&st, &p, 70000, T0 + 1); /* this reading is the start */
	assert_int_equal(c.state, COND_OK);
	assert_true(c.value == 0);
	assert_int_equal(service_sample(&st, &p, 75000, T0 + 2).severity, SEV_CRITICAL);
	assert_int_equal(service_sample(&st, &p, NAN, T0 + 3).severity, SEV_CRITICAL);
}

static void test_json_round_trip(void **unused)
{
	struct service_params p = runs();
	struct service_state a, b;
	char err[128], *s1, *s2;
	cJSON *j;

	(void)unused;
	service_init(&a);
	service_sample(&a, &p, 1000.25, T0);
	service_done(&a, &p, T0 + 0.5);
	service_sample(&a, &p, 5000, T0 + H);
	service_sample(&a, &p, 10, T0 + 2 * H);
	j = service_to_json(&a);
	assert_non_null(j);
	s1 = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	j = cJSON_Parse(s1);
	service_init(&b);
	assert_int_equal(service_from_json(&b, j, err, sizeof(err)), 0);
	cJSON_Delete(j);
	j = service_to_json(&b);
	s2 = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	assert_string_equal(s1, s2);
	for (double v = 100; v < 2000; v += 100) {
		struct condition ca = service_sample(&a, &p, v, T0 + 3 * H + v);
		struct condition cb = service_sample(&b, &p, v, T0 + 3 * H + v);

		assert_int_equal(ca.state, cb.state);
		assert_int_equal(ca.severity, cb.severity);
		assert_true(ca.value == cb.value);
	}
	free(s1);
	free(s2);

	j = cJSON_Parse("{\"rule\":\"service\",\"version\":1,\"last_raw\":1,\"offset\":null}");
	assert_int_equal(service_from_json(&b, j, err, sizeof(err)), -1);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_warning_then_critical_then_done),
	    cmocka_unit_test(test_before_first_service),
	    cmocka_unit_test(test_counter_reset_and_wrap),
	    cmocka_unit_test(test_done_before_any_reading),
	    cmocka_unit_test(test_json_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
