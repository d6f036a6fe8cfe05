/* test-links: daemon/config.c daemon/config_yaml.c daemon/config_fields.c daemon/config_values.c daemon/config_instruments.c daemon/config_qc.c daemon/config_pbrtqc.c daemon/config_routes.c daemon/config_rrd.c daemon/rrd_layout.c daemon/config_reports.c daemon/config_access.c rules/westgard_names.c collectors/topic.c rules/severity.c daemon/rrdaddr.c daemon/config_fleet.c */
/*
 * The config loader: a good file loads with the values a user wrote
 * (profile merge, overrides, defaults, QC levels and lots, routes with
 * active and escalate); each class of mistake is reported as
 * "file:line:column: key: message" at the offending node; every error of
 * a file is reported, not only the first; etc/labqcd.yaml, the example
 * that is the manual, loads without error. Run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "tests/unit/config_fixture.h"

#define DIR "tests/files/config/"

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The file must fail with exactly one error starting with `prefix`. */
static void expect_error(const char *file, const char *prefix)
{
	char *errs = NULL;
	struct config *cfg = load(file, &errs);

	assert_null(cfg);
	if (strncmp(errs, prefix, strlen(prefix)) != 0)
		fail_msg("expected \"%s...\", got \"%s\"", prefix, errs);
	assert_int_equal(count_lines(errs), 1);
	free(errs);
}

static void test_good_file(void **state)
{
	char *errs = NULL;
	struct config *cfg = load(DIR "good.yaml", &errs);
	const struct cfg_instrument *fr, *cf, *chem;
	const struct cfg_channel *ch;
	const struct cfg_qc_analyte *a;
	const struct cfg_route *r;

	(void)state;
	if (cfg == NULL)
		fail_msg("good.yaml: %s", errs);
	assert_string_equal(errs, "");
	free(errs);

	/* daemon: set and default */
	assert_string_equal(cfg->daemon.state_dir, "/tmp/lq/lib");
	assert_string_equal(cfg->daemon.rrd_dir, "var/rrd");
	assert_string_equal(cfg->daemon.control_socket, "var/run/labqcd.sock");
	assert_int_equal(cfg->daemon.log_level, LOG_LVL_DEBUG);
	assert_true(cfg->daemon.flush_interval_s == 120);
	assert_true(cfg->daemon.state_interval_s == 60);
	assert_true(cfg->daemon.rrd_heartbeat_s == 600);
	assert_true(cfg->daemon.dashboard_interval_s == 60);
	assert_true(cfg->daemon.notify_retry_s == 30);
	assert_true(cfg->daemon.notify_retry_max_s == 3600);

	/* mqtt: url split, default port for mqtts, subscribe from prefix */
	assert_string_equal(cfg->mqtt.host, "broker.lab.example");
	assert_int_equal(cfg->mqtt.port, 8883);
	assert_true(cfg->mqtt.tls);
	assert_int_equal(cfg->mqtt.qos, 1);
	assert_int_equal(cfg->mqtt.keepalive_s, 30);
	assert_true(cfg->mqtt.clean_session);
	assert_string_equal(cfg->mqtt.client_id, "labqcd");
	assert_int_equal(cfg->mqtt.n_subscribe, 1);
	assert_string_equal(cfg->mqtt.subscribe[0], "site7/lab/#");

	assert_string_equal(cfg->smtp.url, "smtps://mail.lab.example:465");
	assert_true(cfg->smtp.starttls);
	assert_true(cfg->smtp.timeout_s == 30);

	assert_int_equal(cfg->n_instruments, 3);

	/* profile merge: the instrument's max overrides, the profile's min stays */
	fr = config_instrument(cfg, "main", "fridge-02");
	assert_non_null(fr);
	assert_string_equal(fr->profile, "fridge");
	assert_string_equal(fr->location, "Specimen receiving");
	assert_int_equal(fr->n_channels, 3);
	ch = config_channel(fr, "temp");
	assert_non_null(ch);
	assert_string_equal(ch->unit, "C");
	assert_true(ch->has_min && ch->min == 2);
	assert_true(ch->has_max && ch->max == 6);
	assert_true(ch->hysteresis == 0.3);
	assert_true(ch->delay_s == 900 && ch->stale_s == 600);
	assert_true(ch->has_rate && ch->rate_delta == 1.0 && ch->rate_interval_s == 600);
	assert_int_equal(ch->severity[RULE_STALE], SEV_CRITICAL);
	assert_int_equal(ch->severity[RULE_RANGE], SEV_WARNING);
	assert_int_equal(ch->severity[RULE_RATE], SEV_NONE);
	assert_false(ch->drift.on);
	assert_true(ch->warn_at == 0.9);
	ch = config_channel(fr, "door");
	assert_non_null(ch);
	assert_int_equal(ch->severity[RULE_RANGE], SEV_WARNING);
	assert_int_equal(ch->severity[RULE_STALE], SEV_WARNING);
	ch = config_channel(fr, "humidity");
	assert_true(ch != NULL && ch->has_max && ch->max == 80 && !ch->has_min);
	assert_null(config_channel(fr, "tasks"));
	/* tasks: the profile's, overridden per key, plus the instrument's */
	assert_int_equal(fr->n_tasks, 2);
	assert_string_equal(fr->tasks[0].name, "daily-clean");
	assert_true(fr->tasks[0].every_s == 86400);
	assert_int_equal(fr->tasks[0].due_by_min, 8 * 60 + 30);
	assert_string_equal(fr->tasks[1].name, "weekly-defrost");
	assert_true(fr->tasks[1].every_s == 7 * 86400);
	assert_int_equal(fr->tasks[1].due_by_min, -1);

	cf = config_instrument(cfg, "main", "centrifuge-01");
	assert_non_null(cf);
	assert_int_equal(cf->n_tasks, 0);
	ch = config_channel(cf, "run_count");
	assert_true(ch->has_service && ch->service_every == 5000);
	assert_true(ch->warn_at == 0.8);
	assert_true(ch->has_service_baseline && ch->service_baseline == 1200);
	ch = config_channel(cf, "vibration");
	assert_true(ch->drift.on && ch->drift.lambda == 0.3 && ch->drift.limit == 3);
	assert_int_equal(ch->drift.train, 50);
	ch = config_channel(cf, "calibration");
	assert_true(ch->every_s == 365 * 86400.0);
	ch = config_channel(cf, "status");
	assert_int_equal(ch->n_ok_codes, 2);
	assert_true(ch->ok_codes[0] == 0 && ch->ok_codes[1] == 4);
	assert_null(config_instrument(cfg, "main", "nothing"));

	/* QC: aliases resolved, defaults, lots, baseline level */
	chem = config_instrument(cfg, "main", "chem-01");
	assert_non_null(chem);
	a = config_analyte(chem, "glucose");
	assert_non_null(a);
	assert_false(a->rules_auto);
	assert_int_equal(a->n_rules, 5);
	assert_string_equal(a->rules[0], "1-3s");
	assert_string_equal(a->rules[1], "2-2s");
	assert_string_equal(a->rules[2], "R-4s");
	assert_string_equal(a->rules[3], "4-1s");
	assert_string_equal(a->rules[4], "10x");
	assert_int_equal(a->n_warning, 1);
	assert_string_equal(a->warning[0], "1-2s");
	assert_true(a->has_tea && a->tea_pct == 10);
	assert_true(a->run_window_s == 600);
	assert_int_equal(a->baseline_n, 20);
	assert_int_equal(a->n_levels, 3);
	assert_string_equal(a->levels[0].name, "L1");
	assert_int_equal(a->levels[0].n_targets, 1);
	assert_string_equal(a->levels[0].targets[0].lot, "");
	assert_true(a->levels[0].targets[0].has_mean_sd);
	assert_true(a->levels[0].targets[0].mean == 100 && a->levels[0].targets[0].sd == 2.5);
	assert_int_equal(a->levels[1].n_targets, 2);
	assert_string_equal(a->levels[1].targets[0].lot, "A1");
	assert_true(a->levels[1].targets[0].mean == 250);
	assert_string_equal(a->levels[1].targets[1].lot, "B2");
	assert_false(a->levels[1].targets[1].has_mean_sd);
	assert_true(a->levels[1].targets[1].has_bias && a->levels[1].targets[1].bias_pct == 1.5);
	assert_string_equal(a->levels[2].name, "L3");
	assert_int_equal(a->levels[2].n_targets, 0);
	a = config_analyte(chem, "hgb");
	assert_true(a->rules_auto && a->has_tea && a->tea_pct == 7);
	assert_int_equal(a->baseline_n, 30);
	assert_true(a->run_window_s == 300);
	assert_true(a->levels[0].targets[0].bias_pct == -1);

	/* receivers */
	assert_int_equal(cfg->n_receivers, 2);
	assert_string_equal(cfg->receivers[0].name, "qc-team");
	assert_int_equal(cfg->receivers[0].n_email, 2);
	assert_string_equal(cfg->receivers[0].email[1], "qc2@lab.example");
	assert_false(cfg->receivers[0].has_webhook);
	assert_true(cfg->receivers[1].has_webhook);
	assert_string_equal(cfg->receivers[1].webhook_url, "https://chat.lab.example/hook");
	assert_int_equal(cfg->receivers[1].webhook_format, WEBHOOK_SLACK);
	assert_true(cfg->receivers[1].timeout_s == 5);
	assert_true(cfg->receivers[0].timeout_s == 10);

	/* routes */
	assert_int_equal(cfg->n_routes, 2);
	r = &cfg->routes[0];
	assert_string_equal(r->match.kind, "qc");
	assert_string_equal(r->match.severity, "");
	assert_int_equal(r->n_receivers, 2);
	assert_true(r->cont);
	assert_true(r->group_wait_s == 10 && r->repeat_s == 4 * 3600);
	assert_false(r->has_active);
	r = &cfg->routes[1];
	assert_string_equal(r->match.severity, "critical");
	assert_string_equal(r->match.instrument, "fridge-*");
	assert_true(r->group_wait_s == 30 && r->repeat_s == 0);
	assert_false(r->cont);
	assert_true(r->has_active);
	assert_int_equal(r->active_days, 0x3f); /* sun..fri */
	assert_int_equal(r->active_from_min, 19 * 60);
	assert_int_equal(r->active_to_min, 7 * 60);
	assert_int_equal(r->n_escalate, 2);
	assert_true(r->escalate[0].after_s == 1200);
	assert_string_equal(r->escalate[0].receivers[0], "qc-team");
	assert_true(r->escalate[1].after_s == 3600);
	assert_int_equal(r->escalate[1].n_receivers, 2);

	config_free(cfg);
}

static void test_example_config(void **state)
{
	char *errs = NULL;
	struct config *cfg = load("etc/labqcd.yaml", &errs);
	const struct cfg_instrument *ins;

	(void)state;
	if (cfg == NULL)
		fail_msg("etc/labqcd.yaml: %s", errs);
	assert_string_equal(errs, "");
	free(errs);
	assert_int_equal(cfg->mqtt.port, 18830);
	assert_int_equal(cfg->n_instruments, 11);
	ins = config_instrument(cfg, "main", "hem-01");
	assert_non_null(ins);
	assert_true(ins->qc[0].rules_auto);
	ins = config_instrument(cfg, "main", "chem-01");
	assert_int_equal(config_analyte(ins, "potassium")->n_levels, 3);
	config_free(cfg);
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error(DIR "unknown_key.yaml",
		     DIR "unknown_key.yaml:3:3: daemon.stat_dir: unknown key");
}

static void test_wrong_type(void **state)
{
	(void)state;
	expect_error(DIR "wrong_type.yaml",
		     DIR "wrong_type.yaml:2:8: mqtt.qos: expected a whole number, got a sequence");
}

static void test_bad_duration(void **state)
{
	(void)state;
	expect_error(DIR "bad_duration.yaml",
		     DIR "bad_duration.yaml:4:30: instruments.main/fridge-02.channels.temp.delay: "
			 "expected a duration such as 90s or 15m, got \"soon\"");
}

static void test_bad_percent(void **state)
{
	(void)state;
	expect_error(DIR "bad_percent.yaml",
		     DIR "bad_percent.yaml:5:14: instruments.main/chem-01.qc.glucose.tea: ");
}

static void test_bad_identity(void **state)
{
	(void)state;
	expect_error(DIR "bad_identity.yaml",
		     DIR "bad_identity.yaml:2:3: instruments.main/fridge 02: ");
}

static void test_unknown_profile(void **state)
{
	(void)state;
	expect_error(DIR "unknown_profile.yaml",
		     DIR "unknown_profile.yaml:5:30: instruments.main/fridge-01.profile: "
			 "unknown profile \"fridg\"");
}

static void test_unknown_receiver(void **state)
{
	(void)state;
	expect_error(DIR "unknown_receiver.yaml",
		     DIR "unknown_receiver.yaml:5:23: routes[0].receivers: "
			 "unknown receiver \"qc-team\"");
}

/* mqtt.lost_after and heartbeat: (issue 15): the values, the defaults, a
 * route on the broker alert, and each mistake at its line and column. */
static void test_heartbeat_lost_after(void **state)
{
	char *errs = NULL;
	struct config *cfg = load(DIR "heartbeat.yaml", &errs);

	(void)state;
	if (cfg == NULL)
		fail_msg("heartbeat.yaml: %s", errs);
	free(errs);
	assert_true(cfg->mqtt.lost_after_s == 45);
	assert_true(cfg->heartbeat.on);
	assert_string_equal(cfg->heartbeat.receiver, "deadman");
	assert_true(cfg->heartbeat.every_s == 30);
	assert_string_equal(cfg->routes[0].match.kind, "monitor");
	assert_string_equal(cfg->routes[0].match.rule, "broker");
	config_free(cfg);

	/* Without them: 2 minutes, no heartbeat. */
	cfg = load(DIR "good.yaml", &errs);
	assert_non_null(cfg);
	free(errs);
	assert_true(cfg->mqtt.lost_after_s == 120);
	assert_false(cfg->heartbeat.on);
	config_free(cfg);

	expect_error(DIR "heartbeat_unknown_receiver.yaml",
		     DIR "heartbeat_unknown_receiver.yaml:4:13: heartbeat.receiver: "
			 "unknown receiver \"pager\"");
	expect_error(DIR "heartbeat_bad_every.yaml",
		     DIR "heartbeat_bad_every.yaml:5:10: heartbeat.every: "
			 "expected a duration such as 90s or 15m, got \"often\"");
	expect_error(DIR "heartbeat_no_receiver.yaml",
		     DIR "heartbeat_no_receiver.yaml:1:12: heartbeat: receiver: missing");
	expect_error(DIR "lost_after_bad.yaml",
		     DIR "lost_after_bad.yaml:3:15: mqtt.lost_after: "
			 "must be greater than 0 and at most 86400, got \"0s\"");
}

/* The profile says 2..8, the instrument's max: 1 makes min > max: the
 * error is the instrument's, at its max. */
static void test_min_max(void **state)
{
	(void)state;
	expect_error(DIR "min_max.yaml",
		     DIR "min_max.yaml:8:20: instruments.main/fridge-01.channels.temp.max: ");
}

static void test_bad_url(void **state)
{
	(void)state;
	expect_error(DIR "bad_url.yaml", DIR "bad_url.yaml:2:8: mqtt.url: ");
}

static void test_bad_rule(void **state)
{
	(void)state;
	expect_error(DIR "bad_rule.yaml",
		     DIR "bad_rule.yaml:5:16: instruments.main/chem-01.qc.glucose.rules: "
			 "unknown Westgard rule \"5-5s\"");
}

static void test_auto_without_tea(void **state)
{
	(void)state;
	expect_error(DIR "auto_no_tea.yaml",
		     DIR "auto_no_tea.yaml:5:16: instruments.main/hem-01.qc.hgb.rules: "
			 "rules: auto needs tea");
}

static void test_syntax_error(void **state)
{
	(void)state;
	expect_error(DIR "syntax.yaml", DIR "syntax.yaml:3:11: ");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	expect_error(DIR "duplicate.yaml",
		     DIR "duplicate.yaml:4:3: mqtt.qos: duplicate key (first at line 2)");
}

static void test_cannot_open(void **state)
{
	char *errs = NULL;

	(void)state;
	assert_null(load(DIR "no-such-file.yaml", &errs));
	assert_string_equal(errs, DIR "no-such-file.yaml: cannot open: No such file or directory\n");
	free(errs);
}

/* Every error of the file, in file order, one a line. */
static void test_many_errors(void **state)
{
	static const char *const want[] = {
		"many_errors.yaml:2:14: daemon.log_level: ",
		"many_errors.yaml:4:8: mqtt.qos: ",
		"many_errors.yaml:5:8: mqtt.url: ",
		"many_errors.yaml:8:26: profiles.fridge.temp.max: ",
		"many_errors.yaml:8:41: profiles.fridge.temp.hysteresis: must not be negative",
		"many_errors.yaml:10:38: instruments.main/fridge-01.colour: unknown key",
		"many_errors.yaml:11:3: instruments.lab/../x: ",
		"many_errors.yaml:11:24: instruments.lab/../x.profile: unknown profile",
		"many_errors.yaml:13:27: receivers.chat.webhook.url: ",
		"many_errors.yaml:13:51: receivers.chat.webhook.format: ",
		"many_errors.yaml:15:20: routes[0].match.kind: ",
		"many_errors.yaml:16:17: routes[0].receivers: unknown receiver \"nobody\"",
	};
	char *errs = NULL, *line, *save = NULL;
	size_t i = 0;

	(void)state;
	assert_null(load(DIR "many_errors.yaml", &errs));
	assert_int_equal(count_lines(errs), sizeof(want) / sizeof(want[0]));
	for (line = strtok_r(errs, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		char prefix[256];

		snprintf(prefix, sizeof(prefix), DIR "%s", want[i]);
		if (strncmp(line, prefix, strlen(prefix)) != 0)
			fail_msg("line %zu: expected \"%s...\", got \"%s\"", i + 1, prefix, line);
	}
	free(errs);
}

static void test_value_parsers(void **state)
{
	double v;
	enum severity sev;

	(void)state;
	assert_int_equal(config_parse_duration("90s", &v), 0);
	assert_true(v == 90);
	assert_int_equal(config_parse_duration("15m", &v), 0);
	assert_true(v == 900);
	assert_int_equal(config_parse_duration("4h", &v), 0);
	assert_true(v == 14400);
	assert_int_equal(config_parse_duration("30d", &v), 0);
	assert_true(v == 30 * 86400.0);
	assert_int_equal(config_parse_duration("1w", &v), 0);
	assert_true(v == 604800);
	assert_int_equal(config_parse_duration("42", &v), 0);
	assert_true(v == 42);
	assert_int_equal(config_parse_duration("soon", &v), -1);
	assert_int_equal(config_parse_duration("-5m", &v), -1);
	assert_int_equal(config_parse_duration("5 m", &v), -1);
	assert_int_equal(config_parse_duration("", &v), -1);
	assert_int_equal(config_parse_duration("nan", &v), -1);
	assert_int_equal(config_parse_percent("10%", &v), 0);
	assert_true(v == 10);
	assert_int_equal(config_parse_percent("2.5", &v), 0);
	assert_true(v == 2.5);
	assert_int_equal(config_parse_percent("ten", &v), -1);
	assert_int_equal(severity_parse("critical", &sev), 0);
	assert_int_equal(sev, SEV_CRITICAL);
	assert_int_equal(severity_parse("loud", &sev), -1);
	assert_string_equal(severity_name(SEV_WARNING), "warning");
	assert_string_equal(config_rule_name(RULE_CALENDAR), "calendar");

	static const char *const aliases[][2] = {
		{"13s", "1-3s"},       {"1:3s", "1-3s"}, {"1_3s", "1-3s"},   {"1-3s", "1-3s"},
		{"22s", "2-2s"},       {"r4s", "R-4s"},  {"R-4s", "R-4s"},   {"41s", "4-1s"},
		{"10x", "10x"},        {"2of32s", "2of3-2s"}, {"7T", "7T"},  {"12.5s", "1-2.5s"},
		{"1-3.5s", "1-3.5s"},  {"31s", "3-1s"}, {"6x", "6x"},       {"12x", "12x"},
	};
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		const char *c = config_qc_rule_canonical(aliases[i][0]);

		if (c == NULL || strcmp(c, aliases[i][1]) != 0)
			fail_msg("%s: expected %s, got %s", aliases[i][0], aliases[i][1],
				 c ? c : "NULL");
	}
	assert_null(config_qc_rule_canonical("5-5s"));
	assert_null(config_qc_rule_canonical("auto"));
}

/* reports: (issue 19): values, defaults, and every mistake at its place. */
static void test_reports(void **state)
{
	char *errs = NULL;
	struct config *cfg;

	(void)state;
	cfg = load(DIR "reports.yaml", &errs);
	if (cfg == NULL)
		fail_msg("%s", errs);
	free(errs);
	assert_string_equal(cfg->reports.lab, "Central Laboratory, Main St");
	assert_true(cfg->reports.mkt_ea == 90.5);
	assert_true(cfg->reports.has_every);
	assert_true(cfg->reports.weekly);
	assert_int_equal(cfg->reports.on, 7);
	assert_int_equal(cfg->reports.n_receivers, 1);
	assert_string_equal(cfg->reports.receivers[0], "qc-team");
	config_free(cfg);

	/* without the section: the defaults, no schedule */
	cfg = load(DIR "good.yaml", &errs);
	assert_non_null(cfg);
	free(errs);
	assert_string_equal(cfg->reports.lab, "labqcd");
	assert_true(cfg->reports.mkt_ea == 83.144);
	assert_false(cfg->reports.has_every);
	assert_int_equal(cfg->reports.on, 1);
	config_free(cfg);

	cfg = load(DIR "reports_bad.yaml", &errs);
	assert_null(cfg);
	const char *want[] = {
	    DIR "reports_bad.yaml:6:10: reports.every: expected month or week, got \"fortnight\"",
	    DIR "reports_bad.yaml:7:7: reports.on: ",
	    DIR "reports_bad.yaml:8:15: reports.receivers: receiver \"chat\" has no email",
	    DIR "reports_bad.yaml:8:21: reports.receivers: unknown receiver \"nobody\"",
	    DIR "reports_bad.yaml:9:8: reports.lab: ",
	};
	const char *line = errs;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strncmp(line, want[i], strlen(want[i])) != 0)
			fail_msg("error %zu: expected \"%s...\", got \"%s\"", i, want[i], line);
		line = strchr(line, '\n');
		assert_non_null(line);
		line++;
	}
	assert_string_equal(line, "");
	free(errs);

	expect_error(DIR "reports_week_day.yaml",
	             DIR "reports_week_day.yaml:7:7: reports.on: with every: week, on is an ISO "
	                 "weekday, 1 (Monday) to 7 (Sunday), got 8");
}

/* pbrtqc: (issue 22): every key read, defaults, an analyte with
 * patient-based QC only needs no levels; bad values each at their key. */
static void test_pbrtqc(void **state)
{
	char *errs = NULL;
	struct config *cfg;

	(void)state;
	cfg = load(DIR "pbrtqc.yaml", &errs);
	if (cfg == NULL)
		fail_msg("%s", errs);
	free(errs);
	const struct cfg_instrument *ins = config_instrument(cfg, "main", "chem-01");
	const struct cfg_qc_analyte *na = config_analyte(ins, "sodium");
	const struct cfg_qc_analyte *glu = config_analyte(ins, "glucose");
	assert_non_null(na);
	assert_true(na->pbrtqc.enabled);
	assert_int_equal(na->n_levels, 0);
	assert_int_equal(na->pbrtqc.method, 1); /* mm */
	assert_int_equal(na->pbrtqc.block, 50);
	assert_true(na->pbrtqc.has_truncate && na->pbrtqc.truncate[0] == 130 &&
		    na->pbrtqc.truncate[1] == 150);
	assert_true(na->pbrtqc.has_target && na->pbrtqc.target == 140);
	assert_true(na->pbrtqc.has_limits && na->pbrtqc.limits[0] == 138.5 &&
		    na->pbrtqc.limits[1] == 141.5);
	assert_int_equal(na->pbrtqc.severity, SEV_WARNING);
	assert_int_equal(glu->pbrtqc.method, 2); /* ewma */
	assert_true(glu->pbrtqc.lambda == 0.1);
	assert_int_equal(glu->pbrtqc.train, 300);
	assert_true(glu->pbrtqc.far == 0.005);
	assert_false(glu->pbrtqc.has_limits);
	assert_int_equal(glu->pbrtqc.severity, SEV_CRITICAL);
	assert_int_equal(glu->n_levels, 1);
	config_free(cfg);

	cfg = load(DIR "good.yaml", &errs);
	assert_non_null(cfg);
	free(errs);
	for (size_t i = 0; i < cfg->n_instruments; i++)
		for (size_t q = 0; q < cfg->instruments[i].n_qc; q++)
			assert_false(cfg->instruments[i].qc[q].pbrtqc.enabled);
	config_free(cfg);

	cfg = load(DIR "pbrtqc_bad.yaml", &errs);
	assert_null(cfg);
	const char *want[] = {
	    DIR "pbrtqc_bad.yaml:7:27: instruments.main/chem-01.qc.sodium.pbrtqc.method: expected ma, mm or ewma, got \"mean\"",
	    DIR "pbrtqc_bad.yaml:7:40: instruments.main/chem-01.qc.sodium.pbrtqc.block: must be from 1 to 1000, got \"0\"",
	    DIR "pbrtqc_bad.yaml:7:59: instruments.main/chem-01.qc.sodium.pbrtqc.truncate: the low limit (150) must be below the high one (130)",
	    DIR "pbrtqc_bad.yaml:9:46: instruments.main/chem-01.qc.potassium.pbrtqc.train: train: goes with limits learnt",
	    DIR "pbrtqc_bad.yaml:11:27: instruments.main/chem-01.qc.chloride.pbrtqc.lambda: lambda: is for method: ewma",
	};
	const char *line = errs;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strncmp(line, want[i], strlen(want[i])) != 0)
			fail_msg("error %zu: expected \"%s...\", got \"%s\"", i, want[i], line);
		line = strchr(line, '\n');
		assert_non_null(line);
		line++;
	}
	assert_string_equal(line, "");
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_example_config),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_bad_duration),
		cmocka_unit_test(test_bad_percent),
		cmocka_unit_test(test_bad_identity),
		cmocka_unit_test(test_unknown_profile),
		cmocka_unit_test(test_unknown_receiver),
		cmocka_unit_test(test_heartbeat_lost_after),
		cmocka_unit_test(test_min_max),
		cmocka_unit_test(test_bad_url),
		cmocka_unit_test(test_bad_rule),
		cmocka_unit_test(test_auto_without_tea),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_cannot_open),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_value_parsers),
		cmocka_unit_test(test_reports),
		cmocka_unit_test(test_pbrtqc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
