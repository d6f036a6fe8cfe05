/* test-links: collectors/payload.c collectors/senml.c collectors/timefmt.c collectors/topic.c */
/*
 * Payloads: bare numbers, JSON objects with value/time/run/lot/operator,
 * SenML packs with base name and time and relative times, events, and
 * RFC 3339 times each decode to the values a user would expect; a table
 * of malformed and hostile payloads is refused whole with a reason.
 * SenML in depth (RFC 8428's examples, records refused one by one) is
 * in test_senml.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/collectors.h"

#define NOW 1763884800.0 /* 2025-11-23T08:00:00Z */

static struct payload_sample s[PAYLOAD_SAMPLES_MAX + 1];

static int decode(const char *p, struct payload_meta *meta)
{
	char err[128];
	return payload_decode(p, strlen(p), NOW, s, PAYLOAD_SAMPLES_MAX, meta, err, sizeof(err));
}

static void test_numbers(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		double v;
	} good[] = {
		{"4.2", 4.2},   {"-0.5", -0.5}, {" 4.2\n", 4.2}, {"1e3", 1000}, {"0", 0},
		{"+7", 7},      {".5", 0.5},    {"\t-12.25\r\n", -12.25},       {"1E-3", 0.001},
		{"1e-400", 0},  /* underflow to zero is a number, not an error */
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(s, 0x55, sizeof(s[0]));
		if (decode(good[i].in, NULL) != 1)
			fail_msg("refused \"%s\"", good[i].in);
		assert_float_equal(s[0].value, good[i].v, 1e-12);
		assert_float_equal(s[0].t, NOW, 0);
		assert_string_equal(s[0].name, "");
	}
}

static void test_object(void **state)
{
	struct payload_meta meta;
	(void)state;

	assert_int_equal(decode("{\"value\": 4.2}", &meta), 1);
	assert_float_equal(s[0].value, 4.2, 1e-12);
	assert_float_equal(s[0].t, NOW, 0);
	assert_string_equal(meta.run, "");

	assert_int_equal(decode("{\"v\": -3, \"t\": 1763884800}", NULL), 1);
	assert_float_equal(s[0].value, -3, 0);
	assert_float_equal(s[0].t, 1763884800.0, 0);

	assert_int_equal(decode("{\"value\": 4.2, \"t\": 1763884800.25}", NULL), 1);
	assert_float_equal(s[0].t, 1763884800.25, 1e-6);

	assert_int_equal(decode("{\"value\": 1, \"ts\": \"2025-11-23T08:00:00Z\"}", NULL), 1);
	assert_float_equal(s[0].t, 1763884800.0, 0);
	assert_int_equal(decode("{\"value\": 1, \"t\": \"2025-11-23T10:00:00+02:00\"}", NULL), 1);
	assert_float_equal(s[0].t, 1763884800.0, 0);
	assert_int_equal(decode("{\"value\": 1, \"t\": \"2025-11-23T08:00:00.250Z\"}", NULL), 1);
	assert_float_equal(s[0].t, 1763884800.25, 1e-6);

	/* devices add fields: unknown keys are ignored */
	assert_int_equal(decode("{\"unit\":\"C\",\"value\":5,\"fw\":{\"v\":[1,2]},\"ok\":true}",
				NULL),
			 1);
	assert_float_equal(s[0].value, 5, 0);

	/* run, lot, operator for QC */
	assert_int_equal(decode("{\"value\":103.1,\"run\":\"r7\",\"lot\":\"A1.2024-x\","
				"\"operator\":\"J. M\xc3\xbcller (night)\"}",
				&meta),
			 1);
	assert_string_equal(meta.run, "r7");
	assert_string_equal(meta.lot, "A1.2024-x");
	assert_string_equal(meta.operator_, "J. M\xc3\xbcller (night)");
	/* on telemetry they are just extra keys */
	assert_int_equal(decode("{\"value\":1,\"run\":\"../x\"}", NULL), 1);
}

static void test_qc_meta_refused(void **state)
{
	struct payload_meta meta;
	char op[100];
	(void)state;

	static const char *const bad[] = {
		"{\"value\":1,\"run\":\"../x\"}",
		"{\"value\":1,\"run\":\"a b\"}",
		"{\"value\":1,\"run\":7}",
		"{\"value\":1,\"lot\":\"\"}",
		"{\"value\":1,\"lot\":\"x/y\"}",
		"{\"value\":1,\"operator\":\"a\\nb\"}",
		"{\"value\":1,\"operator\":\"\\u001b[31m\"}",
		"{\"value\":1,\"operator\":null}",
		"{\"value\":1,\"run\":\"ok\\u0000../x\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&meta, 'x', sizeof(meta));
		if (decode(bad[i], &meta) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_string_equal(meta.run, "");
	}
	snprintf(op, sizeof(op), "{\"value\":1,\"operator\":\"%065d\"}", 0);
	assert_int_equal(decode(op, &meta), -1);
	snprintf(op, sizeof(op), "{\"value\":1,\"operator\":\"%064d\"}", 0);
	assert_int_equal(decode(op, &meta), 1);
}

static void test_senml(void **state)
{
	(void)state;

	assert_int_equal(decode("[{\"bn\":\"fridge-\",\"bt\":1763884800,\"n\":\"temp\",\"v\":4.5},"
				"{\"n\":\"door\",\"v\":0,\"t\":-10},"
				"{\"n\":\"temp\",\"v\":4.7,\"t\":60}]",
				NULL),
			 3);
	assert_string_equal(s[0].name, "fridge-temp");
	assert_float_equal(s[0].value, 4.5, 0);
	assert_float_equal(s[0].t, 1763884800.0, 0);
	assert_string_equal(s[1].name, "fridge-door");
	assert_float_equal(s[1].t, 1763884790.0, 0);
	assert_string_equal(s[2].name, "fridge-temp");
	assert_float_equal(s[2].t, 1763884860.0, 0);

	/* no name: the topic's channel; relative times against now */
	assert_int_equal(decode("[{\"v\":1},{\"v\":2,\"t\":-60},{\"v\":3,\"t\":5.5}]", NULL), 3);
	assert_string_equal(s[0].name, "");
	assert_float_equal(s[0].t, NOW, 0);
	assert_float_equal(s[1].t, NOW - 60, 0);
	assert_float_equal(s[2].t, NOW + 5.5, 0);

	/* base value, units passed on, a later bn replaces the first */
	assert_int_equal(decode("[{\"bn\":\"a\",\"bu\":\"Cel\",\"bv\":10,\"v\":0.5,\"u\":\"Cel\"},"
				"{\"bn\":\"b\",\"n\":\"1\",\"v\":1}]",
				NULL),
			 2);
	assert_string_equal(s[0].name, "a");
	assert_string_equal(s[0].unit, "Cel");
	assert_string_equal(s[1].unit, "Cel");
	assert_float_equal(s[0].value, 10.5, 0);
	assert_string_equal(s[1].name, "b1");
	assert_float_equal(s[1].value, 11, 0);

	/* absolute t in a record, bt absent */
	assert_int_equal(decode("[{\"n\":\"x\",\"v\":1,\"t\":1700000000}]", NULL), 1);
	assert_float_equal(s[0].t, 1700000000.0, 0);
}

static void test_senml_max(void **state)
{
	char buf[256], err[128];
	(void)state;

	snprintf(buf, sizeof(buf), "%s", "[{\"v\":1},{\"v\":2},{\"v\":3}]");
	assert_int_equal(payload_decode(buf, strlen(buf), NOW, s, 3, NULL, err, sizeof(err)), 3);
	assert_int_equal(payload_decode(buf, strlen(buf), NOW, s, 2, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 2"));
	/* a QC topic decodes with max 1 */
	assert_int_equal(payload_decode("5", 1, NOW, s, 1, NULL, err, sizeof(err)), 1);
	assert_int_equal(payload_decode("5", 1, NOW, s, 0, NULL, err, sizeof(err)), -1);
}

static void test_refused(void **state)
{
	static char big[PAYLOAD_MAX + 16];
	struct payload_meta meta;
	char err[128];
	(void)state;

	static const struct {
		const char *p;
		size_t len; /* 0: strlen */
	} bad[] = {
		{"", 0},
		{" ", 0},
		{"\n\t ", 0},
		{"abc", 0},
		{"4.2x", 0},
		{"4.2 5.3", 0},
		{"4,2", 0},
		{"NaN", 0},
		{"nan", 0},
		{"inf", 0},
		{"-Infinity", 0},
		{"1e999", 0},
		{"-1e999", 0},
		{"0x10", 0},
		{"0x1p3", 0},
		{"--1", 0},
		{"-", 0},
		{".", 0},
		{"1e", 0},
		{"1.2.3", 0},
		{"\"4.2\"", 0},
		{"true", 0},
		{"null", 0},
		{"4\0.2", 3},
		{"{\"value\":1}\0", 12},
		{"{", 0},
		{"{}", 0},
		{"{\"value\":\"4\"}", 0},
		{"{\"value\":true}", 0},
		{"{\"value\":null}", 0},
		{"{\"value\":[1]}", 0},
		{"{\"value\":{\"v\":1}}", 0},
		{"{\"value\":1e999}", 0},
		{"{\"value\":NaN}", 0},
		{"{\"value\":1,\"v\":2}", 0},
		{"{\"value\":1,\"value\":2}", 0},
		{"{\"value\":1} x", 0},
		{"{\"value\":1}}", 0},
		{"{\"value\":1,}", 0},
		{"{'value':1}", 0},
		{"{\"value\":1,\"t\":\"yesterday\"}", 0},
		{"{\"value\":1,\"t\":-5}", 0},
		{"{\"value\":1,\"t\":0}", 0},
		{"{\"value\":1,\"t\":946684799}", 0},
		{"{\"value\":1,\"t\":7258118400}", 0},
		{"{\"value\":1,\"t\":1e999}", 0},
		{"{\"value\":1,\"t\":true}", 0},
		{"{\"value\":1,\"t\":\"2025-11-23T08:00:00\"}", 0},
		{"{\"value\":1,\"t\":\"2025-02-29T08:00:00Z\"}", 0},
		{"{\"value\":1,\"t\":\"1999-12-31T23:59:59Z\"}", 0},
		{"{\"value\":1,\"t\":1,\"ts\":2}", 0},
		{"[]", 0},
		{"[{\"v\":1}] [", 0},
		{"[{\"v\":1}", 0},
		/* SenML records that cannot be samples are refused one by one,
		 * not the pack: tests/unit/test_senml.c */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].p);
		err[0] = '\0';
		memset(&meta, 'x', sizeof(meta));
		if (payload_decode(bad[i].p, len, NOW, s, PAYLOAD_SAMPLES_MAX, &meta, err,
				   sizeof(err)) != -1)
			fail_msg("accepted bad payload #%zu: %s", i, bad[i].p);
		assert_true(err[0] != '\0');
		assert_string_equal(meta.operator_, "");
	}

	/* oversized: PAYLOAD_MAX + 1 bytes, though it would be a number */
	memset(big, ' ', sizeof(big));
	big[0] = '1';
	assert_int_equal(payload_decode(big, PAYLOAD_MAX + 1, NOW, s, 1, NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "larger"));
	assert_int_equal(payload_decode(big, PAYLOAD_MAX, NOW, s, 1, NULL, err, sizeof(err)), 1);
	/* a bare number of 64+ digits */
	memset(big, '1', 80);
	assert_int_equal(payload_decode(big, 80, NOW, s, 1, NULL, err, sizeof(err)), -1);
	/* more SenML records than PAYLOAD_SAMPLES_MAX */
	size_t n = 0;
	big[n++] = '[';
	for (int i = 0; i <= PAYLOAD_SAMPLES_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s{\"v\":%d}", i ? "," : "", i);
	big[n++] = ']';
	assert_int_equal(payload_decode(big, n, NOW, s, PAYLOAD_SAMPLES_MAX, NULL, err, sizeof(err)),
			 -1);
	assert_int_equal(payload_decode(big, n, NOW, s, PAYLOAD_SAMPLES_MAX + 1, NULL, err,
					sizeof(err)),
			 PAYLOAD_SAMPLES_MAX + 1);
	/* not NUL-terminated: only len bytes count */
	assert_int_equal(payload_decode("4.25", 3, NOW, s, 1, NULL, err, sizeof(err)), 1);
	assert_float_equal(s[0].value, 4.2, 1e-12);
	assert_int_equal(payload_decode("{\"v\":1}xyz", 7, NOW, s, 1, NULL, err, sizeof(err)), 1);
}

static void test_rfc3339(void **state)
{
	double t;
	(void)state;

	static const struct {
		const char *in;
		double t;
	} good[] = {
		{"2025-11-23T08:00:00Z", 1763884800.0},
		{"2025-11-23t08:00:00z", 1763884800.0},
		{"2025-11-23 08:00:00Z", 1763884800.0},
		{"2025-11-23T08:00:00.250Z", 1763884800.25},
		{"2025-11-23T08:00:00.123456789Z", 1763884800.123456789},
		{"2025-11-23T10:30:00+02:30", 1763884800.0},
		{"2025-11-23T03:00:00-05:00", 1763884800.0},
		{"2024-02-29T23:59:59Z", 1709251199.0},
		{"2000-01-01T00:00:00Z", 946684800.0},
		{"1970-01-01T00:00:00Z", 0},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (rfc3339_parse(good[i].in, strlen(good[i].in), &t) != 0)
			fail_msg("refused %s", good[i].in);
		assert_float_equal(t, good[i].t, 1e-6);
	}
	static const char *const bad[] = {
		"",
		"2025-11-23",
		"2025-11-23T08:00:00",
		"2025-11-23T08:00Z",
		"2025-13-01T00:00:00Z",
		"2025-00-01T00:00:00Z",
		"2025-04-31T00:00:00Z",
		"2025-02-29T00:00:00Z",
		"2025-11-23T24:00:00Z",
		"2025-11-23T08:60:00Z",
		"2025-11-23T08:00:61Z",
		"2025-11-23T08:00:00.Z",
		"2025-11-23T08:00:00+2:00",
		"2025-11-23T08:00:00+02",
		"2025-11-23T08:00:00+24:00",
		"2025-11-23T08:00:00Zx",
		"2025-11-23X08:00:00Z",
		"+025-11-23T08:00:00Z",
		"yesterday",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rfc3339_parse(bad[i], strlen(bad[i]), &t) != -1)
			fail_msg("accepted %s", bad[i]);
	/* len, not the NUL, ends the string */
	assert_int_equal(rfc3339_parse("2025-11-23T08:00:00Z", 19, &t), -1);
}

static void test_events(void **state)
{
	struct payload_event ev;
	char err[128];
	const char *p;
	(void)state;

	p = "{\"event\":\"service_done\",\"counter\":\"run_count\",\"by\":\"biomed J. Doe\","
	    "\"comment\":\"bearings replaced\",\"t\":\"2025-11-23T08:00:00Z\",\"extra\":1}";
	assert_int_equal(payload_decode_event(p, strlen(p), 1, &ev, err, sizeof(err)), 0);
	assert_int_equal(ev.type, EV_SERVICE_DONE);
	assert_string_equal(ev.counter, "run_count");
	assert_string_equal(ev.by, "biomed J. Doe");
	assert_string_equal(ev.comment, "bearings replaced");
	assert_float_equal(ev.t, 1763884800.0, 0);
	assert_string_equal(payload_event_name(ev.type), "service_done");

	p = "{\"event\":\"task_done\",\"task\":\"daily-clean\"}";
	assert_int_equal(payload_decode_event(p, strlen(p), NOW, &ev, err, sizeof(err)), 0);
	assert_int_equal(ev.type, EV_TASK_DONE);
	assert_string_equal(ev.task, "daily-clean");
	assert_float_equal(ev.t, NOW, 0);

	static const struct {
		const char *p;
		enum event_type t;
		const char *name;
	} kinds[] = {
		{"{\"event\":\"calibration_done\"}", EV_CALIBRATION_DONE, "calibration_done"},
		{" {\"event\":\"maintenance_start\",\"ts\":1763884800}\n", EV_MAINTENANCE_START,
		 "maintenance_start"},
		{"{\"event\":\"maintenance_end\"}", EV_MAINTENANCE_END, "maintenance_end"},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		assert_int_equal(payload_decode_event(kinds[i].p, strlen(kinds[i].p), NOW, &ev, err,
						      sizeof(err)),
				 0);
		assert_int_equal(ev.type, kinds[i].t);
		assert_string_equal(payload_event_name(kinds[i].t), kinds[i].name);
	}
}

static void test_events_refused(void **state)
{
	struct payload_event ev;
	char err[128], big[400];
	(void)state;

	static const char *const bad[] = {
		"",
		"4.2",
		"[{\"event\":\"service_done\"}]",
		"{}",
		"{\"event\":\"reboot\"}",
		"{\"event\":\"SERVICE_DONE\"}",
		"{\"event\":7}",
		"{\"event\":\"task_done\"}",
		"{\"event\":\"task_done\",\"task\":\"../x\"}",
		"{\"event\":\"service_done\",\"counter\":\"a b\"}",
		"{\"event\":\"service_done\",\"counter\":5}",
		"{\"event\":\"service_done\",\"by\":\"x\\r\\nBcc: y\"}",
		"{\"event\":\"service_done\",\"t\":\"soon\"}",
		"{\"event\":\"service_done\",\"t\":12}",
		"{\"event\":\"service_done\",\"event\":\"task_done\"}",
		"{\"event\":\"service_done\"",
		"{\"event\":\"service_done\"} {}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (payload_decode_event(bad[i], strlen(bad[i]), NOW, &ev, err, sizeof(err)) != -1)
			fail_msg("accepted event #%zu: %s", i, bad[i]);
		assert_true(err[0] != '\0');
		assert_int_equal(ev.type, EV_NONE);
	}
	/* "by" up to 127 bytes, comment up to 255 */
	int n = snprintf(big, sizeof(big), "{\"event\":\"service_done\",\"by\":\"%0128d\"}", 0);
	assert_int_equal(payload_decode_event(big, (size_t)n, NOW, &ev, err, sizeof(err)), -1);
	n = snprintf(big, sizeof(big), "{\"event\":\"service_done\",\"by\":\"%0127d\"}", 0);
	assert_int_equal(payload_decode_event(big, (size_t)n, NOW, &ev, err, sizeof(err)), 0);
	n = snprintf(big, sizeof(big), "{\"event\":\"service_done\",\"comment\":\"%0256d\"}", 0);
	assert_int_equal(payload_decode_event(big, (size_t)n, NOW, &ev, err, sizeof(err)), -1);
	assert_string_equal(payload_event_name((enum event_type)99), "unknown");
}

/* Patient results (issue 22): value, time and unit only; any other
 * field refuses the payload, naming the field when it is a plain name. */
static void test_patient(void **state)
{
	struct payload_sample ps;
	char err[160];
	(void)state;

	assert_int_equal(payload_decode_patient("141", 3, 1800000000.0, &ps, err, sizeof(err)), 0);
	assert_true(ps.value == 141 && ps.t == 1800000000.0 && ps.arrival_time);
	const char *ok = "{\"value\": 4.1, \"t\": 1800000100, \"unit\": \"mmol/L\"}";
	assert_int_equal(payload_decode_patient(ok, strlen(ok), 1.0, &ps, err, sizeof(err)), 0);
	assert_true(ps.value == 4.1 && ps.t == 1800000100.0 && !ps.arrival_time);
	assert_string_equal(ps.unit, "mmol/L");
	const char *ok2 = "{\"v\": 5, \"time\": \"2027-01-15T08:00:00Z\"}";
	assert_int_equal(payload_decode_patient(ok2, strlen(ok2), 1.0, &ps, err, sizeof(err)), 0);
	assert_true(ps.value == 5 && ps.t == 1800000000.0);

	const char *mrn = "{\"value\": 141, \"mrn\": \"00123456\"}";
	assert_int_equal(payload_decode_patient(mrn, strlen(mrn), 1.0, &ps, err, sizeof(err)), -1);
	assert_string_equal(err, "patient result carries field \"mrn\" (only value, time and unit "
				 "are accepted)");
	const char *run = "{\"value\": 141, \"run\": \"r1\"}";
	assert_int_equal(payload_decode_patient(run, strlen(run), 1.0, &ps, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"run\""));
	const char *odd = "{\"value\": 141, \"name\\n<x>\": \"Doe\"}";
	assert_int_equal(payload_decode_patient(odd, strlen(odd), 1.0, &ps, err, sizeof(err)), -1);
	assert_string_equal(err, "patient result carries a field other than value, time and unit");
	assert_int_equal(payload_decode_patient("[{\"v\":1}]", 9, 1.0, &ps, err, sizeof(err)), -1);
	assert_int_equal(payload_decode_patient("{\"t\": 1800000000}", 17, 1.0, &ps, err,
						sizeof(err)), -1);
	assert_int_equal(payload_decode_patient("nan", 3, 1.0, &ps, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),     cmocka_unit_test(test_object),
		cmocka_unit_test(test_qc_meta_refused), cmocka_unit_test(test_senml),
		cmocka_unit_test(test_senml_max),   cmocka_unit_test(test_refused),
		cmocka_unit_test(test_rfc3339),     cmocka_unit_test(test_events),
		cmocka_unit_test(test_events_refused), cmocka_unit_test(test_patient),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
