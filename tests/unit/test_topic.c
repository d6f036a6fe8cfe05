/* test-links: collectors/topic.c */
/*
 * Topics: every kind parses into the right identity; every hostile
 * topic (path traversal, empty levels, spaces, non-ASCII, NUL, over-long
 * levels, wildcards, wrong depth, outside the prefix) is refused before
 * it can become a file path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "collectors/collectors.h"

static int parse(const char *prefix, const char *topic, struct topic *tp)
{
	char err[128];
	return topic_parse(prefix, topic, strlen(topic), tp, err, sizeof(err));
}

static void test_telemetry(void **state)
{
	struct topic tp;
	(void)state;

	assert_int_equal(parse("lab", "lab/main/fridge-02/temp", &tp), 0);
	assert_int_equal(tp.kind, TOPIC_TELEMETRY);
	assert_string_equal(tp.site, "main");
	assert_string_equal(tp.instrument, "fridge-02");
	assert_string_equal(tp.channel, "temp");
	assert_string_equal(tp.level, "");

	assert_int_equal(parse("lab", "lab/B2/centrifuge_01.a/run_count", &tp), 0);
	assert_string_equal(tp.instrument, "centrifuge_01.a");
	assert_string_equal(tp.channel, "run_count");
}

static void test_qc_event_ack_self(void **state)
{
	struct topic tp;
	(void)state;

	assert_int_equal(parse("lab", "lab/main/chem-01/qc/glucose/L1", &tp), 0);
	assert_int_equal(tp.kind, TOPIC_QC);
	assert_string_equal(tp.site, "main");
	assert_string_equal(tp.instrument, "chem-01");
	assert_string_equal(tp.channel, "glucose");
	assert_string_equal(tp.level, "L1");

	assert_int_equal(parse("lab", "lab/main/centrifuge-01/event", &tp), 0);
	assert_int_equal(tp.kind, TOPIC_EVENT);
	assert_string_equal(tp.instrument, "centrifuge-01");
	assert_string_equal(tp.channel, "");

	/* patient results (issue 22): patient/<analyte>, nothing deeper */
	assert_int_equal(parse("lab", "lab/main/chem-01/patient/sodium", &tp), 0);
	assert_int_equal(tp.kind, TOPIC_PATIENT);
	assert_string_equal(tp.instrument, "chem-01");
	assert_string_equal(tp.channel, "sodium");
	assert_int_equal(parse("lab", "lab/main/chem-01/patient/sodium/x", &tp), -1);
	assert_int_equal(parse("lab", "lab/main/chem-01/patient/..", &tp), -1);
	assert_int_equal(parse("lab", "lab/main/chem-01/other/sodium", &tp), -1);

	assert_int_equal(parse("lab", "lab/labqcd/ack", &tp), 0);
	assert_int_equal(tp.kind, TOPIC_ACK);
	assert_int_equal(parse("lab", "lab/labqcd/health", &tp), 0);
	assert_int_equal(tp.kind, TOPIC_SELF);
	assert_int_equal(parse("lab", "lab/labqcd/health/rate/in/1m/x", &tp), 0);
	assert_int_equal(tp.kind, TOPIC_SELF);
	assert_int_equal(parse("lab", "lab/labqcd/ack/x", &tp), 0);
	assert_int_equal(tp.kind, TOPIC_SELF);
	/* even our own namespace takes no traversal */
	assert_int_equal(parse("lab", "lab/labqcd/../x", &tp), -1);
}

static void test_prefix_with_slashes(void **state)
{
	struct topic tp;
	(void)state;

	assert_int_equal(parse("hospital/lab", "hospital/lab/main/fridge-02/temp", &tp), 0);
	assert_int_equal(tp.kind, TOPIC_TELEMETRY);
	assert_string_equal(tp.site, "main");
	assert_string_equal(tp.channel, "temp");
	assert_int_equal(parse("hospital/lab", "hospital/lab/labqcd/ack", &tp), 0);
	assert_int_equal(tp.kind, TOPIC_ACK);
	assert_int_equal(parse("hospital/lab/", "hospital/lab/main/f/temp", &tp), 0);
	assert_int_equal(parse("hospital/lab", "hospital/main/fridge-02/temp", &tp), -1);
	assert_int_equal(parse("hospital/lab", "hospital/labx/main/fridge-02/temp", &tp), -1);
	assert_int_equal(parse("hospital/lab", "lab/main/fridge-02/temp", &tp), -1);
}

static void test_reason(void **state)
{
	struct topic tp;
	char err[128];
	(void)state;

	assert_int_equal(topic_parse("lab", "x/a/b/c", 7, &tp, err, sizeof(err)), -1);
	assert_string_equal(err, "topic not under prefix");
	assert_int_equal(topic_parse("lab", "lab/a/../c", 10, &tp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ".."));
	assert_int_equal(topic_parse("lab", "lab/a/b/c/d", 11, &tp, err, sizeof(err)), -1);
	assert_string_equal(err, "too many levels in topic");
	/* a tiny error buffer is truncated, never overrun */
	char small[4];
	assert_int_equal(topic_parse("lab", "lab/a", 5, &tp, small, sizeof(small)), -1);
	assert_int_equal(strlen(small), 3);
	assert_int_equal(topic_parse("lab", "lab/a", 5, &tp, NULL, 0), -1);
}

static void test_embedded_nul(void **state)
{
	struct topic tp;
	char err[128];
	static const char t[] = "lab/main/fridge\0/../x/temp";
	(void)state;

	assert_int_equal(topic_parse("lab", t, sizeof(t) - 1, &tp, err, sizeof(err)), -1);
	assert_string_equal(err, "NUL byte in topic");
	/* a topic that is not NUL-terminated: only len bytes count */
	static const char u[] = "lab/main/fridge/tempXXXX";
	assert_int_equal(topic_parse("lab", u, 20, &tp, err, sizeof(err)), 0);
	assert_string_equal(tp.channel, "temp");
}

static void test_hostile(void **state)
{
	char big[400], long_topic[1100];
	struct topic tp;
	(void)state;

	static const char *const bad[] = {
		"lab/../x/y",
		"lab/a/../../b",
		"lab/a/b/../c",
		"lab/a/b/..",
		"lab/./b/c",
		"lab/a/b/.",
		"lab/a b/c/d",
		"lab/a/b/c ",
		"lab/main/fridge/t\xc3\xa9mp", /* é */
		"lab/main/fridge/t\xe9mp",     /* Latin-1 é */
		"lab/a//c",
		"lab//a/b",
		"lab/a/b/",
		"lab/",
		"lab",
		"lab/a/b/+",
		"lab/a/#",
		"lab/+/b/c",
		"lab/a/b/c#",
		"lab/a/b/c/d",
		"lab/a/b/event/x",
		"lab/a/b/qc",
		"lab/a/b/qc/glucose",
		"lab/a/b/qc/glucose/L1/x",
		"lab/a",
		"lab/a/b",
		"lab/.hidden/b/c",
		"lab/a/-b/c",
		"lab/a/b/_c",
		"lab/a/b\\c/d",
		"lab/a/b/c\td",
		"lab/a/b/c\n",
		"lab/a:1/b/c",
		"lab/a/b/c%2e",
		"labx/a/b/c",
		"LAB/a/b/c",
		"/lab/a/b/c",
		"x/lab/a/b/c",
		"$SYS/broker/load",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[128] = "";
		if (topic_parse("lab", bad[i], strlen(bad[i]), &tp, err, sizeof(err)) != -1)
			fail_msg("accepted hostile topic #%zu \"%s\"", i, bad[i]);
		assert_true(err[0] != '\0');
	}

	/* 64 characters is the limit, 65 and 300 are refused */
	memset(big, 'a', sizeof(big));
	memcpy(big, "lab/s/i/", 8);
	assert_int_equal(topic_parse("lab", big, 8 + 64, &tp, NULL, 0), 0);
	assert_int_equal(strlen(tp.channel), 64);
	assert_int_equal(topic_parse("lab", big, 8 + 65, &tp, NULL, 0), -1);
	assert_int_equal(topic_parse("lab", big, 8 + 300, &tp, NULL, 0), -1);

	/* total length cap */
	memset(long_topic, 'a', sizeof(long_topic));
	memcpy(long_topic, "lab/", 4);
	for (size_t i = 60; i < sizeof(long_topic); i += 60)
		long_topic[i] = '/';
	assert_int_equal(topic_parse("lab", long_topic, 1025, &tp, NULL, 0), -1);
}

static void test_ident_valid(void **state)
{
	(void)state;
	assert_true(ident_valid("a", 1));
	assert_true(ident_valid("0", 1));
	assert_true(ident_valid("L1.x_y-z", 8));
	assert_false(ident_valid("", 0));
	assert_false(ident_valid(".", 1));
	assert_false(ident_valid("..", 2));
	assert_false(ident_valid(".a", 2));
	assert_false(ident_valid("-a", 2));
	assert_false(ident_valid("_a", 2));
	assert_false(ident_valid("a/b", 3));
	assert_false(ident_valid("a b", 3));
	assert_false(ident_valid("a\0b", 3));
	assert_false(ident_valid("\xc3\xa9", 2));
	assert_false(ident_valid(NULL, 0));
	assert_true(ident_valid("abcX", 3)); /* only len bytes count */
	char s[66];
	memset(s, 'x', sizeof(s));
	assert_true(ident_valid(s, 64));
	assert_false(ident_valid(s, 65));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_telemetry),
		cmocka_unit_test(test_qc_event_ack_self),
		cmocka_unit_test(test_prefix_with_slashes),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_ident_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
