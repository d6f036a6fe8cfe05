/* test-links: rules/calendar.c rules/equipment.c rules/json_exact.c */
/*
 * test_calendar.c: calibration every 365 days (warning in the last 10 %,
 * critical when overdue, calibration_done resets, next-due for the
 * dashboard), never done (due `every` after first seen), and a daily
 * cleaning task due by 10:00 local time (UTC+1): not done by 10:00 fires,
 * done resolves, the next day again; a weekly task without due_by; the
 * JSON round trips.
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

#define DAY 86400.0
#define HOUR 3600.0
#define JAN1 1704067200.0 /* 2024-01-01 00:00 UTC */

static void test_calibration_overdue(void **unused)
{
	struct calendar_params p = {.every_s = 365 * DAY};
	struct calendar_state st;
	struct condition c;
	double done = JAN1 + 10 * DAY, due = done + 365 * DAY;

	(void)unused;
	calendar_init(&st, JAN1);
	c = calendar_done(&st, &p, done);
	assert_int_equal(c.state, COND_OK);
	assert_true(calendar_due(&st, &p) == due);
	assert_non_null(strstr(c.summary, "2025-01-10"));
	/* quiet until the last 36.5 days, then warning, then critical at due */
	assert_int_equal(calendar_tick(&st, &p, due - 36.5 * DAY - 1).state, COND_OK);
	assert_true(calendar_next(&st, &p, due - 40 * DAY) == due - 36.5 * DAY);
	c = calendar_tick(&st, &p, due - 36.5 * DAY);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_WARNING);
	assert_true(calendar_next(&st, &p, due - DAY) == due);
	c = calendar_tick(&st, &p, due - 1);
	assert_int_equal(c.severity, SEV_WARNING);
	c = calendar_tick(&st, &p, due);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_CRITICAL);
	assert_true(c.since == due - 36.5 * DAY);
	assert_non_null(strstr(c.summary, "overdue"));
	assert_true(isinf(calendar_next(&st, &p, due)));
	/* calibration_done resolves and starts the next year */
	c = calendar_done(&st, &p, due + 3 * DAY);
	assert_int_equal(c.state, COND_OK);
	assert_true(calendar_due(&st, &p) == due + 368 * DAY);
	/* an older event replayed late does not move it back */
	calendar_done(&st, &p, done);
	assert_true(calendar_due(&st, &p) == due + 368 * DAY);
}

static void test_calibration_never_done(void **unused)
{
	struct calendar_params p = {
	    .every_s = 30 * DAY, .warn_before_s = -1, .severity = SEV_WARNING};
	struct calendar_state st;
	struct condition c;

	(void)unused;
	calendar_init(&st, JAN1);
	assert_int_equal(calendar_tick(&st, &p, JAN1 + 30 * DAY - 1).state, COND_OK);
	c = calendar_tick(&st, &p, JAN1 + 30 * DAY);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_WARNING); /* the override; no pre-warning */
	assert_non_null(strstr(c.summary, "never recorded"));
	/* a state never initialised starts at its first tick */
	st.first_seen = NAN;
	assert_int_equal(calendar_tick(&st, &p, JAN1 + 100 * DAY).state, COND_OK);
	assert_true(calendar_due(&st, &p) == JAN1 + 130 * DAY);
}

static const struct task_params DAILY = {
    .every_s = DAY, .due_by_min = 10 * 60, .tz_offset_s = HOUR, .severity = SEV_NONE};

static void test_daily_task(void **unused)
{
	struct task_state st;
	struct condition c;
	/* 10:00 local (UTC+1) on Jan 2 is 09:00 UTC */
	double due2 = JAN1 + DAY + 9 * HOUR, due3 = due2 + DAY;

	(void)unused;
	task_init(&st, JAN1 + 7 * HOUR); /* first seen 08:00 local on Jan 1 */
	assert_true(task_due(&st, &DAILY) == due2);
	assert_true(task_next(&st, &DAILY, JAN1 + 7 * HOUR) == due2);
	assert_int_equal(task_tick(&st, &DAILY, due2 - 1).state, COND_OK);
	c = task_tick(&st, &DAILY, due2);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_WARNING);
	assert_true(c.since == due2);
	assert_non_null(strstr(c.summary, "2024-01-02 10:00"));
	assert_true(isinf(task_next(&st, &DAILY, due2)));
	/* done at 10:30: resolved, due again tomorrow by 10:00 */
	c = task_done(&st, &DAILY, due2 + 30 * 60);
	assert_int_equal(c.state, COND_OK);
	assert_true(task_due(&st, &DAILY) == due3);
	assert_int_equal(task_tick(&st, &DAILY, due3 - 1).state, COND_OK);
	assert_int_equal(task_tick(&st, &DAILY, due3).state, COND_FIRING);
	/* stays firing (one alert) while nobody does it, however long */
	assert_int_equal(task_tick(&st, &DAILY, due3 + 2 * DAY).state, COND_FIRING);
	/* done on time (09:00 local on Jan 5): nothing fires that day */
	c = task_done(&st, &DAILY, JAN1 + 4 * DAY + 8 * HOUR);
	assert_int_equal(c.state, COND_OK);
	assert_int_equal(task_tick(&st, &DAILY, JAN1 + 4 * DAY + 12 * HOUR).state, COND_OK);
	assert_true(task_due(&st, &DAILY) == JAN1 + 5 * DAY + 9 * HOUR);
	/* done just before local midnight counts for that day only */
	task_done(&st, &DAILY, JAN1 + 5 * DAY + 22 * HOUR + 59 * 60); /* 23:59 local, Jan 6 */
	assert_true(task_due(&st, &DAILY) == JAN1 + 6 * DAY + 9 * HOUR);
	task_done(&st, &DAILY, JAN1 + 5 * DAY + 23 * HOUR); /* 00:00 local, Jan 7 */
	assert_true(task_due(&st, &DAILY) == JAN1 + 7 * DAY + 9 * HOUR);
}

static void test_weekly_task_without_due_by(void **unused)
{
	struct task_params p = {.every_s = 7 * DAY, .due_by_min = -1};
	struct task_state st;

	(void)unused;
	task_init(&st, JAN1);
	task_done(&st, &p, JAN1 + 5 * HOUR);
	assert_int_equal(task_tick(&st, &p, JAN1 + 7 * DAY + 5 * HOUR - 1).state, COND_OK);
	assert_int_equal(task_tick(&st, &p, JAN1 + 7 * DAY + 5 * HOUR).state, COND_FIRING);
	assert_int_equal(task_done(&st, &p, JAN1 + 8 * DAY).state, COND_OK);
}

static void test_json_round_trips(void **unused)
{
	struct calendar_state ca, cb;
	struct task_state ta, tb;
	char err[128];
	cJSON *j;
	char *s;

	(void)unused;
	calendar_init(&ca, JAN1 + 0.125);
	calendar_done(&ca, &(struct calendar_params){.every_s = DAY}, JAN1 + 1e-3);
	j = calendar_to_json(&ca);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	j = cJSON_Parse(s);
	free(s);
	calendar_init(&cb, 0);
	assert_int_equal(calendar_from_json(&cb, j, err, sizeof(err)), 0);
	cJSON_Delete(j);
	assert_memory_equal(&ca.first_seen, &cb.first_seen, sizeof(double));
	assert_memory_equal(&ca.last_done, &cb.last_done, sizeof(double));

	task_init(&ta, JAN1 + 7 * HOUR);
	j = task_to_json(&ta);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	j = cJSON_Parse(s);
	free(s);
	task_init(&tb, 0);
	assert_int_equal(task_from_json(&tb, j, err, sizeof(err)), 0);
	assert_true(tb.first_seen == ta.first_seen && isnan(tb.last_done));
	/* a task state is not a calendar state */
	assert_int_equal(calendar_from_json(&cb, j, err, sizeof(err)), -1);
	cJSON_Delete(j);
	assert_true(task_due(&tb, &DAILY) == task_due(&ta, &DAILY));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_calibration_overdue),
	    cmocka_unit_test(test_calibration_never_done),
	    cmocka_unit_test(test_daily_task),
	    cmocka_unit_test(test_weekly_task_without_due_by),
	    cmocka_unit_test(test_json_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
