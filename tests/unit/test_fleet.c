/* test-links: daemon/fleet.c collectors/topic.c */
/*
 * The fleet's pure parts (issue 21): two MQTT topic filters overlap when
 * some topic matches both (MQTT 3.1.1 section 4.7: '+' one level, '#'
 * the rest and the parent, no wildcard first level matching a $-topic);
 * a filter covers another when every topic of the second matches it;
 * the start's conflict check; announcements and summaries round-trip and
 * hostile payloads are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/fleet.h"

/* Overlap is symmetric: every case is checked both ways. */
static void overlap(const char *a, const char *b, bool want)
{
	if (fleet_filters_overlap(a, b) != want || fleet_filters_overlap(b, a) != want)
		fail_msg("overlap(\"%s\", \"%s\") should be %s", a, b, want ? "true" : "false");
}

static void test_overlap_literals(void **state)
{
	(void)state;
	overlap("lab/east/#", "lab/east/#", true);  /* equal filters */
	overlap("lab/east/hem/temp", "lab/east/hem/temp", true);
	overlap("lab/east/#", "lab/west/#", false); /* disjoint sites */
	overlap("lab/east", "lab/east/x", false);   /* a prefix without '#' */
	overlap("lab/east", "lab/eastern", false);  /* a string prefix is no level prefix */
	overlap("lab/east/#", "lab/eastern/#", false);
	overlap("lab//x", "lab//x", true);          /* empty levels are levels */
	overlap("lab//x", "lab/a/x", false);
}

static void test_overlap_wildcards(void **state)
{
	(void)state;
	overlap("lab/+/hem/#", "lab/east/#", true); /* topic lab/east/hem/t */
	overlap("lab/+/hem/#", "lab/east/bga/#", false);
	overlap("lab/+", "lab/east", true);
	overlap("lab/+", "lab/east/x", false);      /* '+' is exactly one level */
	overlap("lab/#", "lab", true);              /* '#' matches its parent: topic "lab" */
	overlap("lab/east/#", "lab/east", true);
	overlap("lab/+", "lab", false);             /* '+' needs a level */
	overlap("lab/+/#", "lab/east", true);       /* lab/east/# matches lab/east */
	overlap("#", "lab/east/x", true);
	overlap("+/+", "lab/x", true);
	overlap("+/+", "lab/x/y", false);
	overlap("+/east/#", "lab/+/hem", true);
	overlap("+/east/#", "lab/west/#", false);
}

static void test_overlap_dollar(void **state)
{
	(void)state;
	overlap("#", "$SYS/broker/uptime", false); /* 4.7.2: wildcards skip $-topics */
	overlap("+/broker/#", "$SYS/broker/#", false);
	overlap("$SYS/#", "$SYS/broker/+", true);
	overlap("#", "$SYS/#", false);
	overlap("lab/#", "lab/$x", true); /* a $ below the first level is an ordinary level */
}

static void test_covers(void **state)
{
	(void)state;
	assert_true(fleet_filter_covers("lab/east/#", "lab/east/hem-01/#"));
	assert_true(fleet_filter_covers("lab/#", "lab/east/hem-01/#"));
	assert_true(fleet_filter_covers("#", "lab/east/hem-01/#"));
	assert_true(fleet_filter_covers("lab/+/hem-01/#", "lab/east/hem-01/#"));
	assert_true(fleet_filter_covers("lab/east/hem-01/#", "lab/east/hem-01/#"));
	assert_true(fleet_filter_covers("lab/east/hem-01/#", "lab/east/hem-01"));
	assert_false(fleet_filter_covers("lab/east/hem-01/+", "lab/east/hem-01/#"));
	assert_false(fleet_filter_covers("lab/east/hem-01/temp", "lab/east/hem-01/#"));
	assert_false(fleet_filter_covers("lab/west/#", "lab/east/hem-01/#"));
	assert_false(fleet_filter_covers("lab/east/hem-01", "lab/east/hem-01/#"));
	assert_false(fleet_filter_covers("lab/east", "lab/+"));
	assert_false(fleet_filter_covers("#", "$SYS/x"));
	assert_true(fleet_filter_covers("$SYS/#", "$SYS/x"));
}

static struct fleet_slice slice(const char *name, const char *state, const char *f1,
                                const char *f2)
{
	struct fleet_slice s;

	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", name);
	s.state = (enum fleet_state)fleet_state_parse(state);
	snprintf(s.client_id, sizeof(s.client_id), "labqcd-%s", name);
	snprintf(s.host, sizeof(s.host), "host-%s", name);
	snprintf(s.filters[s.n_filters++], FLEET_FILTER_MAX, "%s", f1);
	if (f2)
		snprintf(s.filters[s.n_filters++], FLEET_FILTER_MAX, "%s", f2);
	return s;
}

static void test_conflict(void **state)
{
	struct fleet_slice self = slice("east", "up", "lab/east/#", NULL);
	struct fleet_slice west = slice("west", "up", "lab/west/#", "lab/+/shared/#");
	struct fleet_slice third = slice("third", "up", "lab/north/#", "lab/east/hem/#");
	char why[512];
	(void)state;

	/* lab/+/shared/# reaches into lab/east/ (topic lab/east/shared/x) */
	assert_int_equal(fleet_conflict(&self, &west, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "\"west\""));
	assert_non_null(strstr(why, "lab/east/# overlaps lab/+/shared/#"));
	assert_null(strstr(why, "lab/west/#")); /* only the overlapping pair is named */
	west.n_filters = 1;
	assert_int_equal(fleet_conflict(&self, &west, why, sizeof(why)), 0);
	assert_int_equal(fleet_conflict(&self, &third, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "lab/east/# overlaps lab/east/hem/#"));
	/* Not live: no conflict, whatever it held. */
	third.state = FLEET_DOWN;
	assert_int_equal(fleet_conflict(&self, &third, why, sizeof(why)), 0);
	third.state = FLEET_HANDED_OVER;
	assert_int_equal(fleet_conflict(&self, &third, why, sizeof(why)), 0);
	/* The same name: its own earlier life is fine, another client is not. */
	struct fleet_slice me = self;
	assert_int_equal(fleet_conflict(&self, &me, why, sizeof(why)), 0);
	snprintf(me.host, sizeof(me.host), "other-host");
	assert_int_equal(fleet_conflict(&self, &me, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "other-host"));
	me = self;
	snprintf(me.client_id, sizeof(me.client_id), "other-id");
	assert_int_equal(fleet_conflict(&self, &me, why, sizeof(why)), 1);
}

static void test_slice_round_trip(void **state)
{
	struct fleet_slice s = slice("east", "down", "lab/east/#", "lab/+/x");
	struct fleet_slice back;
	char err[256];
	(void)state;

	snprintf(s.url, sizeof(s.url), "http://east.lab.example/");
	s.started = 1765000000;
	s.at = 1765000100;
	char *j = fleet_slice_json(&s);
	assert_non_null(j);
	assert_int_equal(fleet_slice_parse(j, strlen(j), "east", &back, err, sizeof(err)), 0);
	assert_string_equal(back.name, "east");
	assert_int_equal(back.state, FLEET_DOWN);
	assert_int_equal(back.n_filters, 2);
	assert_string_equal(back.filters[1], "lab/+/x");
	assert_string_equal(back.client_id, "labqcd-east");
	assert_string_equal(back.url, "http://east.lab.example/");
	assert_true(back.started == 1765000000 && back.at == 1765000100);
	/* The topic's last level must be the name it carries. */
	assert_int_equal(fleet_slice_parse(j, strlen(j), "west", &back, err, sizeof(err)), -1);
	free(j);
}

static void refused(const char *payload, const char *topic_name)
{
	struct fleet_slice s;
	char err[256] = "";

	if (fleet_slice_parse(payload, strlen(payload), topic_name, &s, err, sizeof(err)) != -1)
		fail_msg("accepted: %s", payload);
	assert_true(err[0] != '\0');
}

static void test_slice_hostile(void **state)
{
	char *big = malloc(FLEET_PAYLOAD_MAX + 2);
	(void)state;

	refused("", "a");
	refused("not json", "a");
	refused("[1,2]", "a");
	refused("{\"name\":\"a\"}", "a");                          /* no state */
	refused("{\"name\":\"a\",\"state\":\"sideways\",\"filters\":[]}", "a");
	refused("{\"name\":\"../x\",\"state\":\"up\",\"filters\":[]}", "../x");
	refused("{\"name\":\"a\",\"state\":\"up\",\"filters\":\"lab/#\"}", "a");
	refused("{\"name\":\"a\",\"state\":\"up\",\"filters\":[3]}", "a");
	refused("{\"name\":\"a\",\"state\":\"up\",\"filters\":[\"\"]}", "a");
	refused("{\"name\":\"a\",\"state\":\"up\",\"filters\":[],\"url\":\"x\\u0001\"}", "a");
	refused("{\"name\":\"a\",\"state\":\"up\",\"filters\":[],\"host\":7}", "a");
	memset(big, ' ', FLEET_PAYLOAD_MAX + 1);
	big[FLEET_PAYLOAD_MAX + 1] = '\0';
	memcpy(big, "{\"name\":\"a\",\"state\":\"up\",\"filters\":[]}", 38);
	refused(big, "a");
	free(big);
	/* 65 filters: one more than an announcement may carry. */
	char many[FLEET_FILTERS_MAX * 8 + 128] = "{\"name\":\"a\",\"state\":\"up\",\"filters\":[";
	for (int i = 0; i <= FLEET_FILTERS_MAX; i++)
		strcat(many, i ? ",\"a/#\"" : "\"a/#\"");
	strcat(many, "]}");
	refused(many, "a");
}

static void test_summary(void **state)
{
	struct fleet_summary s, back;
	char err[256];
	(void)state;

	memset(&s, 0, sizeof(s));
	s.at = 1765000000;
	fleet_summary_add(&s, "east", "hem-01", 2);
	fleet_summary_add(&s, "east", "fridge-01", 0);
	fleet_summary_add(&s, "annex", "bga-01", 4);
	s.alerts_critical = 1;
	s.qc_accepted = 3;
	s.qc_rejected = 1;
	s.dues_overdue = 2;
	assert_int_equal(s.n_sites, 2); /* east once */
	char *j = fleet_summary_json(&s);
	assert_non_null(j);
	assert_int_equal(fleet_summary_parse(j, strlen(j), &back, err, sizeof(err)), 0);
	free(j);
	assert_int_equal(back.n_instruments, 3);
	assert_int_equal(back.by_status[2], 1);
	assert_int_equal(back.by_status[4], 1);
	assert_int_equal(back.n_listed, 3);
	assert_string_equal(back.listed[0].status, "alarm");
	assert_string_equal(back.sites[1], "annex");
	assert_int_equal(back.alerts_critical, 1);
	assert_int_equal(back.qc_accepted, 3);
	assert_int_equal(back.qc_rejected, 1);
	assert_int_equal(back.dues_overdue, 2);
	/* Hostile: huge counts become 0, bad names refuse the whole. */
	const char *h1 = "{\"instruments\":{\"total\":1e300},\"alerts\":{\"critical\":-5}}";
	assert_int_equal(fleet_summary_parse(h1, strlen(h1), &back, err, sizeof(err)), 0);
	assert_int_equal(back.n_instruments, 0);
	assert_int_equal(back.alerts_critical, 0);
	const char *h2 = "{\"instruments\":{\"list\":[{\"site\":\"<b>\",\"name\":\"x\"}]}}";
	assert_int_equal(fleet_summary_parse(h2, strlen(h2), &back, err, sizeof(err)), -1);
	const char *h3 = "{\"instruments\":{},\"sites\":[\"a/b\"]}";
	assert_int_equal(fleet_summary_parse(h3, strlen(h3), &back, err, sizeof(err)), -1);
	assert_int_equal(fleet_summary_parse("{}", 2, &back, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overlap_literals), cmocka_unit_test(test_overlap_wildcards),
	    cmocka_unit_test(test_overlap_dollar),   cmocka_unit_test(test_covers),
	    cmocka_unit_test(test_conflict),         cmocka_unit_test(test_slice_round_trip),
	    cmocka_unit_test(test_slice_hostile),    cmocka_unit_test(test_summary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
