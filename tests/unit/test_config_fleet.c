/* test-links: daemon/config.c daemon/config_fleet.c daemon/config_yaml.c daemon/config_fields.c daemon/config_values.c daemon/config_instruments.c daemon/config_qc.c daemon/config_pbrtqc.c daemon/config_routes.c daemon/config_rrd.c daemon/rrd_layout.c daemon/config_reports.c daemon/config_access.c rules/westgard_names.c collectors/topic.c rules/severity.c daemon/rrdaddr.c */
/*
 * The fleet: section (issue 21): the values written, the defaults
 * (name from mqtt.client_id, peers_topic under mqtt.prefix), no section
 * meaning no fleet, and every mistake reported at its file:line:column.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "tests/unit/config_fixture.h"

#define DIR "tests/files/config/"

static void test_fleet_values(void **state)
{
	char *errs = NULL;
	struct config *cfg = load(DIR "fleet.yaml", &errs);

	(void)state;
	if (cfg == NULL)
		fail_msg("fleet.yaml: %s", errs);
	free(errs);
	assert_true(cfg->fleet.on);
	assert_string_equal(cfg->fleet.name, "east");
	assert_string_equal(cfg->fleet.peers_topic, "lab/labqcd/fleet");
	assert_string_equal(cfg->fleet.url, "http://east.lab.example/");
	config_free(cfg);
}

static void test_fleet_defaults(void **state)
{
	char *errs = NULL;
	struct config *cfg = load(DIR "fleet_defaults.yaml", &errs);

	(void)state;
	if (cfg == NULL)
		fail_msg("fleet_defaults.yaml: %s", errs);
	free(errs);
	assert_true(cfg->fleet.on);
	assert_string_equal(cfg->fleet.name, "west-01");            /* mqtt.client_id */
	assert_string_equal(cfg->fleet.peers_topic, "hosp/labqcd/fleet"); /* mqtt.prefix */
	assert_string_equal(cfg->fleet.url, "");
	config_free(cfg);
	/* No section: no fleet. */
	cfg = load(DIR "good.yaml", &errs);
	assert_non_null(cfg);
	free(errs);
	assert_false(cfg->fleet.on);
	config_free(cfg);
}

static void test_fleet_errors(void **state)
{
	char *errs = NULL;
	struct config *cfg = load(DIR "fleet_bad.yaml", &errs);

	(void)state;
	assert_null(cfg);
	/* Every mistake, each at its own line and column, in file order. */
	const char *want[] = {
	    DIR "fleet_bad.yaml:4:9: fleet.name:",
	    DIR "fleet_bad.yaml:5:16: fleet.peers_topic: expected topic levels",
	    DIR "fleet_bad.yaml:6:8: fleet.url: expected a URL starting with http:// or https://",
	    DIR "fleet_bad.yaml:7:3: fleet.peers: unknown key",
	};
	const char *p = errs;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (p == NULL || strncmp(p, want[i], strlen(want[i])) != 0)
			fail_msg("error %zu: expected \"%s...\" in:\n%s", i, want[i], errs);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	assert_true(p == NULL || *p == '\0');
	free(errs);

	cfg = load(DIR "fleet_noname.yaml", &errs);
	assert_null(cfg);
	if (strstr(errs, "fleet_noname.yaml:4:3: fleet.name: missing, and mqtt.client_id "
	                 "\"labqcd east\" is not an identifier") == NULL)
		fail_msg("got %s", errs);
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fleet_values),
	    cmocka_unit_test(test_fleet_defaults),
	    cmocka_unit_test(test_fleet_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
