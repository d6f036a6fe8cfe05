/* test-links: rules/status.c rules/equipment.c rules/json_exact.c */
/*
 * test_status.c: an instrument's status channel: ok codes (default 0)
 * are fine, any other code fires critical with the code in the summary,
 * a change between bad codes stays one alert, an ok code resolves; the
 * JSON round trip.
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

static void test_default_ok_code(void **unused)
{
	struct status_params p = {0};
	struct status_state st;
	struct condition c;

	(void)unused;
	status_init(&st);
	assert_int_equal(status_sample(&st, &p, 0, T0).state, COND_OK);
	c = status_sample(&st, &p, 42, T0 + 60);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_CRITICAL);
	assert_true(c.value == 42);
	assert_true(c.since == T0 + 60);
	assert_non_null(strstr(c.summary, "error code 42"));
	c = status_sample(&st, &p, 43, T0 + 120); /* another bad code: same alert */
	assert_int_equal(c.state, COND_FIRING);
	assert_true(c.since == T0 + 60);
	assert_non_null(strstr(c.summary, "43"));
	assert_int_equal(status_sample(&st, &p, NAN, T0 + 150).state, COND_FIRING);
	c = status_sample(&st, &p, 0, T0 + 180);
	assert_int_equal(c.state, COND_OK);
	assert_int_equal(c.severity, SEV_NONE);
}

static void test_ok_list_and_severity(void **unused)
{
	const double ok[] = {0, 3, 7};
	struct status_params p = {.ok_codes = ok, .n_ok_codes = 3, .severity = SEV_WARNING};
	struct status_state st;

	(void)unused;
	status_init(&st);
	assert_int_equal(status_sample(&st, &p, 3, T0).state, COND_OK);
	assert_int_equal(status_sample(&st, &p, 7, T0 + 1).state, COND_OK);
	assert_int_equal(status_sample(&st, &p, 7.5, T0 + 2).severity, SEV_WARNING);
	assert_int_equal(status_sample(&st, &p, 0, T0 + 3).state, COND_OK);
	assert_int_equal(status_sample(&st, &p, -1, T0 + 4).state, COND_FIRING);
}

static void test_json_round_trip(void **unused)
{
	struct status_params p = {0};
	struct status_state a, b;
	char err[128], *s1;
	cJSON *j;

	(void)unused;
	status_init(&a);
	status_sample(&a, &p, 17, T0 + 0.25);
	j = status_to_json(&a);
	assert_non_null(j);
	s1 = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	j = cJSON_Parse(s1);
	status_init(&b);
	assert_int_equal(status_from_json(&b, j, err, sizeof(err)), 0);
	cJSON_Delete(j);
	free(s1);
	assert_true(b.code == 17 && b.bad_since == T0 + 0.25);
	assert_true(status_sample(&b, &p, 18, T0 + 10).since == T0 + 0.25);

	status_init(&b);
	j = cJSON_Parse("{\"rule\":\"status\",\"version\":1,\"code\":true,\"bad_since\":null}");
	assert_int_equal(status_from_json(&b, j, err, sizeof(err)), -1);
	assert_true(isnan(b.code));
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_ok_code),
	    cmocka_unit_test(test_ok_list_and_severity),
	    cmocka_unit_test(test_json_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
