/* test-links: daemon/config.c daemon/config_yaml.c daemon/config_fields.c daemon/config_values.c daemon/config_instruments.c daemon/config_qc.c daemon/config_routes.c daemon/config_rrd.c daemon/rrd_layout.c rules/westgard_names.c collectors/topic.c daemon/store.c daemon/store_series.c daemon/store_writer.c daemon/store_vbuf.c daemon/fsutil.c daemon/log.c daemon/config_reports.c daemon/config_access.c daemon/config_pbrtqc.c rules/severity.c daemon/rrdaddr.c daemon/config_fleet.c */
/*
 * test_rrd_layout.c: the `rrd:` section from a file to the files the
 * store creates (read back with `rrdtool info`), its errors with
 * file:line:column, the bytes a layout costs against a file librrd made,
 * files made from a kept template, and the last-update times a clean stop
 * leaves for the next start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <rrd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/store.h"

#define T0 1763884800.0 /* a multiple of 60 */

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_rrd_layout.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Write `text` to <dir>/labqcd.yaml and load it; errors into *errs. */
static struct config *load_text(const char *text, char **errs, char *path, size_t len)
{
	size_t elen = 0;
	FILE *f;
	struct config *cfg;

	snprintf(path, len, "%s/labqcd.yaml", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	assert_non_null(f = open_memstream(errs, &elen));
	cfg = config_load(path, f);
	fclose(f);
	return cfg;
}

/* `rrdtool info FILE` as key -> value text, looked up by key. */
static char *info_text(const char *file)
{
	char cmd[4200], *out = NULL;
	size_t len = 0;
	FILE *p, *o;
	int c;

	snprintf(cmd, sizeof(cmd), "rrdtool info '%s'", file);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(o = open_memstream(&out, &len));
	while ((c = fgetc(p)) != EOF)
		fputc(c, o);
	fclose(o);
	assert_int_equal(pclose(p), 0);
	return out;
}

static void expect_info(const char *info, const char *line)
{
	char want[256];

	snprintf(want, sizeof(want), "\n%s\n", line);
	if (strstr(info, want) == NULL)
		fail_msg("rrdtool info lacks \"%s\"", line);
}

static off_t file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

/* A layout in the config is the layout of the files created. Rows and
 * steps by hand: 1h / 30s = 120 rows of 1 step; 1d / 5m = 288 rows of
 * 10 steps; min, average, max in that order, then last. */
static void test_layout_from_config(void **state)
{
	char path[256], rrd[4200], *errs = NULL, *info;
	struct config *cfg;
	struct store *st;

	(void)state;
	cfg = load_text("rrd:\n"
			"  step: 30s\n"
			"  heartbeat: 2m\n"
			"  archives:\n"
			"    - { every: 30s, for: 1h, cf: [average, min, max] }\n"
			"    - { every: 5m, for: 1d, cf: [last, max, min, average] }\n",
			&errs, path, sizeof(path));
	if (cfg == NULL)
		fail_msg("%s", errs);
	free(errs);
	snprintf(rrd, sizeof(rrd), "%s/rrd", dir);
	struct store_opts o = {.rrd_dir = rrd, .heartbeat_s = 999, .layout = &cfg->rrd};
	assert_non_null(st = store_open(&o));
	assert_int_equal(store_put(st, "s/i/c", SERIES_GAUGE, T0 + 30, 1.5, 1), STORE_QUEUED);
	assert_int_equal(store_sync(st), 0);
	assert_int_equal(store_path(st, "s/i/c", rrd, sizeof(rrd)), 0);
	store_close(st);

	info = info_text(rrd);
	expect_info(info, "step = 30");
	expect_info(info, "ds[value].type = \"GAUGE\"");
	expect_info(info, "ds[value].minimal_heartbeat = 120");
	expect_info(info, "rra[0].cf = \"MIN\"");
	expect_info(info, "rra[0].rows = 120");
	expect_info(info, "rra[0].pdp_per_row = 1");
	expect_info(info, "rra[1].cf = \"AVERAGE\"");
	expect_info(info, "rra[2].cf = \"MAX\"");
	expect_info(info, "rra[3].cf = \"MIN\"");
	expect_info(info, "rra[3].rows = 288");
	expect_info(info, "rra[3].pdp_per_row = 10");
	expect_info(info, "rra[4].cf = \"AVERAGE\"");
	expect_info(info, "rra[5].cf = \"MAX\"");
	expect_info(info, "rra[6].cf = \"LAST\"");
	expect_info(info, "rra[6].xff = 5.0000000000e-01");
	assert_null(strstr(info, "rra[7]"));
	free(info);
	/* What -t says a channel costs is what the file takes. */
	assert_int_equal(file_size(rrd), (off_t)config_rrd_file_bytes(&cfg->rrd));
	config_free(cfg);
}

/* DESIGN's layout, the default: 396,232 bytes, the size of the file
 * `rrdtool create` makes with its nine RRAs (checked by hand once:
 * 2880*3 + 4032*3 + 9504*3 rows of 8 bytes and a 2,248-byte header). */
static void test_default_layout(void **state)
{
	char path[256], *errs = NULL, out[512];
	struct config *cfg;
	FILE *f;

	(void)state;
	cfg = load_text("daemon:\n  rrd_heartbeat: 5m\n", &errs, path, sizeof(path));
	assert_non_null(cfg);
	free(errs);
	assert_int_equal(cfg->rrd.step_s, 60);
	assert_int_equal(cfg->rrd.heartbeat_s, 300); /* the older key still counts */
	assert_int_equal(cfg->rrd.n_rra, 3);
	assert_int_equal(config_rrd_file_bytes(&cfg->rrd), 396232);
	assert_non_null(f = fmemopen(out, sizeof(out), "w"));
	config_rrd_report(cfg, f);
	fclose(f);
	assert_non_null(strstr(out, "1m for 2d (min average max); 5m for 2w (min average max); "
				    "1h for 396d (min average max)"));
	assert_non_null(strstr(out, "396232 bytes (386.9 KiB) a channel"));
	config_free(cfg);
}

struct bad {
	const char *text;
	const char *error; /* after "<path>:" */
};

/* A bad layout is a config error at the key it is about. */
static void test_bad_layouts(void **state)
{
	static const struct bad cases[] = {
	    {"rrd:\n  archives:\n    - { every: 1m, for: 1d }\n    - { every: 90s, for: 1d }\n",
	     "4:16: rrd.archives[1].every: must be a whole number of steps (step 60s)"},
	    {"rrd:\n  archives:\n    - { every: 5m, for: 7m }\n",
	     "3:25: rrd.archives[0].for: must be a whole number of `every` (300s)"},
	    {"rrd:\n  archives:\n    - every: 1m\n      for: 1d\n      cf: [average, median]\n",
	     "5:11: rrd.archives[0].cf: expected average, min, max or last, got \"median\""},
	    {"rrd:\n  archives:\n    - { every: 1m, for: 1d, cf: [average, max] }\n",
	     "3:5: rrd.archives: average, min and max must each be kept by some archive"},
	    {"rrd:\n  step: 5m\n  heartbeat: 1m\n",
	     "3:14: rrd.heartbeat: the heartbeat (60s) must be at least the step (300s)"},
	    {"rrd:\n  archives:\n    - { every: 1m, rows: 10 }\n",
	     "3:20: rrd.archives[0].rows: unknown key (expected one of: every, for, cf)"},
	    {"daemon:\n  rrd_heartbeat: 5m\nrrd:\n  heartbeat: 10m\n",
	     "4:14: rrd.heartbeat: daemon.rrd_heartbeat is set too: keep one of them"},
	    {"rrd:\n  step: 1.5s\n", "2:9: rrd.step: expected whole seconds, got 1.5s"},
	    {"rrd:\n  archives: []\n", "2:13: rrd.archives: expected a list of archives"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[256], want[512], *errs = NULL;
		struct config *cfg = load_text(cases[i].text, &errs, path, sizeof(path));

		if (cfg != NULL)
			fail_msg("case %zu loaded", i);
		snprintf(want, sizeof(want), "%s:%s", path, cases[i].error);
		if (strncmp(errs, want, strlen(want)) != 0)
			fail_msg("case %zu: expected \"%s...\", got \"%s\"", i, want, errs);
		assert_non_null(strchr(errs, '\n'));
		assert_int_equal(strchr(errs, '\n')[1], '\0'); /* one error only */
		free(errs);
	}
}

/* The value of the one-minute AVERAGE row ending at t. */
static double row_at(const char *path, time_t t)
{
	time_t start = t - 60, end = t;
	unsigned long step = 60, ds_cnt;
	char **names;
	rrd_value_t *data;
	double v;

	if (rrd_fetch_r(path, "AVERAGE", &start, &end, &step, &ds_cnt, &names, &data) != 0)
		fail_msg("fetch %s: %s", path, rrd_get_error());
	assert_int_equal(step, 60);
	v = data[(t - start) / 60 - 1];
	free(names[0]);
	free(names);
	free(data);
	return v;
}

/* Many new series whose first samples share their second: the first
 * file is made by librrd, the others from its bytes; every one holds its
 * own values, and writing one leaves the others as they were. */
static void test_files_from_template(void **state)
{
	char rrd[4200], a[4200], b[4200];
	struct store_stats s;
	struct store *st;

	(void)state;
	snprintf(rrd, sizeof(rrd), "%s/rrd", dir);
	struct store_opts o = {.rrd_dir = rrd, .heartbeat_s = 600};
	assert_non_null(st = store_open(&o));
	for (int k = 1; k <= 3; k++)
		for (int i = 0; i < 300; i++) {
			char rel[64];
			snprintf(rel, sizeof(rel), "s/i%d/c", i);
			assert_int_equal(store_put(st, rel, SERIES_GAUGE, T0 + 60.0 * k,
						   i * 10 + k, 0), STORE_QUEUED);
		}
	assert_int_equal(store_sync(st), 0);
	store_get_stats(st, &s);
	assert_int_equal(s.files_created, 300);
	assert_int_equal(s.written, 900);
	assert_int_equal(store_put(st, "s/i7/c", SERIES_GAUGE, T0 + 240, 5000, 0), STORE_QUEUED);
	assert_int_equal(store_sync(st), 0);
	assert_int_equal(store_path(st, "s/i7/c", a, sizeof(a)), 0);
	assert_int_equal(store_path(st, "s/i8/c", b, sizeof(b)), 0);
	for (int i = 0; i < 300; i += 29) {
		char rel[64], p[4200];
		snprintf(rel, sizeof(rel), "s/i%d/c", i);
		assert_int_equal(store_path(st, rel, p, sizeof(p)), 0);
		assert_int_equal(file_size(p), 396232);
		for (int k = 1; k <= 3; k++)
			assert_float_equal(row_at(p, (time_t)(T0 + 60 * k)), i * 10 + k, 1e-9);
	}
	assert_float_equal(row_at(a, (time_t)T0 + 240), 5000, 1e-9);
	assert_true(isnan(row_at(b, (time_t)T0 + 240)));
	assert_int_equal(rrd_last_r(a), (time_t)T0 + 240);
	assert_int_equal(rrd_last_r(b), (time_t)T0 + 180);
	store_close(st);
}

/* A clean stop leaves every series' last update time for the next start,
 * which takes it from there, not from the file (moved away here), and
 * removes it (a crash must not leave old times behind). */
static void test_saved_last_times(void **state)
{
	char rrd[4200], file[4200], aside[4300], saved[4300];
	struct store *st;
	struct stat sb;

	(void)state;
	snprintf(rrd, sizeof(rrd), "%s/rrd", dir);
	snprintf(saved, sizeof(saved), "%s/.last-updates", rrd);
	struct store_opts o = {.rrd_dir = rrd, .heartbeat_s = 600};
	assert_non_null(st = store_open(&o));
	assert_int_equal(store_put(st, "s/i/c", SERIES_GAUGE, T0 + 60.25, 1, 0), STORE_QUEUED);
	assert_int_equal(store_put(st, "s/i/q/a/L1", SERIES_QC, T0 + 120, 2, 0), STORE_QUEUED);
	assert_int_equal(store_path(st, "s/i/c", file, sizeof(file)), 0);
	store_close(st);
	assert_int_equal(stat(saved, &sb), 0);

	snprintf(aside, sizeof(aside), "%s.away", file);
	assert_int_equal(rename(file, aside), 0);
	assert_non_null(st = store_open(&o));
	assert_int_not_equal(stat(saved, &sb), 0);
	/* exact: (cmocka's float_equal compares floats, too coarse here) */
	assert_true(store_last_time(st, "s/i/c") == T0 + 60.25);
	assert_true(store_last_time(st, "s/i/q/a/L1") == T0 + 120);
	/* Finer than rrd_last's whole seconds: T0+60.1 is late. */
	assert_int_equal(store_put(st, "s/i/c", SERIES_GAUGE, T0 + 60.1, 9, 0), STORE_LATE);
	assert_int_equal(rename(aside, file), 0);
	assert_int_equal(store_put(st, "s/i/c", SERIES_GAUGE, T0 + 180, 3, 0), STORE_QUEUED);
	assert_int_equal(store_sync(st), 0);
	assert_int_equal(rrd_last_r(file), (time_t)T0 + 180);
	store_close(st);
}

/* Files that exist keep their layout; new ones get the configured one,
 * and <rrd_dir>/.layout says which that is. */
static void test_layout_change(void **state)
{
	char rrd[4200], old[4200], fresh[4200], note[4300], *info, text[256] = "";
	struct cfg_rrd small;
	struct store *st;
	FILE *f;

	(void)state;
	snprintf(rrd, sizeof(rrd), "%s/rrd", dir);
	snprintf(note, sizeof(note), "%s/.layout", rrd);
	struct store_opts o = {.rrd_dir = rrd, .heartbeat_s = 600};
	assert_non_null(st = store_open(&o));
	assert_int_equal(store_put(st, "s/i/old", SERIES_GAUGE, T0 + 60, 1, 0), STORE_QUEUED);
	assert_int_equal(store_path(st, "s/i/old", old, sizeof(old)), 0);
	store_close(st);

	config_rrd_defaults(&small);
	small.rra[0].rows = 60;
	small.n_rra = 1;
	o.layout = &small;
	assert_non_null(st = store_open(&o));
	assert_int_equal(store_put(st, "s/i/old", SERIES_GAUGE, T0 + 120, 2, 0), STORE_QUEUED);
	assert_int_equal(store_put(st, "s/i/new", SERIES_GAUGE, T0 + 120, 3, 0), STORE_QUEUED);
	assert_int_equal(store_path(st, "s/i/new", fresh, sizeof(fresh)), 0);
	store_close(st);
	assert_int_equal(file_size(old), 396232);
	info = info_text(fresh);
	expect_info(info, "rra[0].rows = 60");
	assert_null(strstr(info, "rra[3]"));
	free(info);
	assert_non_null(f = fopen(note, "r"));
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_string_equal(text, "step 1m, heartbeat 10m: 1m for 1h (min average max)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_layout_from_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_default_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_layouts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_files_from_template, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_saved_last_times, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_layout_change, setup, teardown),
	};

	log_init("test_rrd_layout", true, 2);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
