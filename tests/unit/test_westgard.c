/* test-links: rules/westgard.c rules/westgard_runs.c rules/westgard_count.c rules/westgard_names.c rules/westgard_json.c rules/json_exact.c */
/*
 * test_westgard.c: every Westgard rule fires where it must and stays quiet
 * on its near miss; run grouping, cumulative run status, rejected runs
 * leaving the history, lot changes, the baseline, auto rule choice and a
 * restart through the JSON state in the middle of a run.
 *
 * Targets are mean 0, SD 1 unless a test says otherwise, so a value is its z.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/westgard.h"

#define B(r) WG_BIT(r)

struct fx {
	struct westgard w;
	struct westgard_params p;
	struct westgard_target tg[WG_LEVELS_MAX];
	double t;
};

static struct fx *fx_new(size_t n_levels, unsigned rules, unsigned warning)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	westgard_init(&f->w);
	westgard_params_init(&f->p, n_levels);
	f->p.rules = rules;
	f->p.warning = warning;
	for (size_t l = 0; l < n_levels; l++) {
		f->tg[l].has_mean_sd = true;
		f->tg[l].mean = 0;
		f->tg[l].sd = 1;
		f->p.levels[l].targets = &f->tg[l];
		f->p.levels[l].n_targets = 1;
	}
	f->t = 1700000000;
	return f;
}

/* One result with a run id and lot. */
static struct qc_verdict put(struct fx *f, int level, double value, const char *run,
                             const char *lot)
{
	struct qc_verdict v;
	struct qc_input in = {.level = level, .value = value, .t = f->t, .run = run, .lot = lot};

	f->t += 60;
	assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), 0);
	return v;
}

static struct qc_verdict r(struct fx *f, int level, double value, const char *run)
{
	return put(f, level, value, run, "");
}

/* One run of all levels (2 or 3 values), run id "r<n>". */
static struct qc_verdict run2(struct fx *f, int n, double a, double b)
{
	char id[16];

	snprintf(id, sizeof(id), "r%d", n);
	r(f, 0, a, id);
	return r(f, 1, b, id);
}

static struct qc_verdict run3(struct fx *f, int n, double a, double b, double c)
{
	char id[16];

	snprintf(id, sizeof(id), "r%d", n);
	r(f, 0, a, id);
	r(f, 1, b, id);
	return r(f, 2, c, id);
}

static void test_names_aliases(void **state)
{
	static const struct {
		const char *s;
		int rule;
	} cases[] = {
	    {"13s", WG_1_3S},
	    {"1:3s", WG_1_3S},
	    {"1_3s", WG_1_3S},
	    {"1-3s", WG_1_3S},
	    {"1-3S", WG_1_3S},
	    {"12s", WG_1_2S},
	    {"1:2.5s", WG_1_2_5S},
	    {"13.5s", WG_1_3_5S},
	    {"22s", WG_2_2S},
	    {"2:2s", WG_2_2S},
	    {"r4s", WG_R_4S},
	    {"R:4s", WG_R_4S},
	    {"R-4s", WG_R_4S},
	    {"41s", WG_4_1S},
	    {"4:1s", WG_4_1S},
	    {"31s", WG_3_1S},
	    {"2of32s", WG_2OF3_2S},
	    {"2of3:2s", WG_2OF3_2S},
	    {"6x", WG_6X},
	    {"8X", WG_8X},
	    {"9x", WG_9X},
	    {"10x", WG_10X},
	    {"10X", WG_10X},
	    {"12x", WG_12X},
	    {"7t", WG_7T},
	    {"7T", WG_7T},
	    {"14s", -1},
	    {"", -1},
	    {"3s", -1},
	    {"10xx", -1},
	};
	unsigned mask;
	char err[200], buf[200];
	const char *names[WG_RULE_COUNT];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(westgard_rule_parse(cases[i].s), cases[i].rule);
	for (int i = 0; i < WG_RULE_COUNT; i++)
		assert_int_equal(westgard_rule_parse(westgard_rule_name(i)), i);
	assert_null(westgard_rule_name(WG_RULE_COUNT));
	assert_int_equal(westgard_rules_parse("13s/22s r4s,41s/10x", &mask, err, sizeof(err)), 0);
	assert_int_equal(mask, B(WG_1_3S) | B(WG_2_2S) | B(WG_R_4S) | B(WG_4_1S) | B(WG_10X));
	assert_string_equal(westgard_rules_format(mask, buf, sizeof(buf)),
	                    "1-3s/2-2s/R-4s/4-1s/10x");
	assert_int_equal(westgard_rules_names(mask, names, WG_RULE_COUNT), 5);
	assert_string_equal(names[2], "R-4s");
	assert_int_equal(westgard_rules_parse("1-3s/2-3s", &mask, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2-3s"));
	assert_int_equal(westgard_rules_parse("", &mask, err, sizeof(err)), -1);
	assert_string_equal(westgard_status_name(QC_REJECT), "reject");
	assert_string_equal(westgard_status_name(QC_BASELINE), "baseline");
}

static void test_1ks_limits(void **state)
{
	static const struct {
		int rule;
		double k;
	} one[] = {{WG_1_2S, 2}, {WG_1_2_5S, 2.5}, {WG_1_3S, 3}, {WG_1_3_5S, 3.5}};

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct fx *f = fx_new(2, B(one[i].rule), 0);
		struct qc_verdict v;

		v = r(f, 0, one[i].k, "a"); /* exactly at the limit: no */
		assert_int_equal(v.fired, 0);
		assert_int_equal(v.status, QC_ACCEPT);
		v = r(f, 0, -one[i].k, "b");
		assert_int_equal(v.fired, 0);
		v = r(f, 0, one[i].k + 1e-9, "c");
		assert_int_equal(v.fired, B(one[i].rule));
		assert_int_equal(v.status, QC_REJECT);
		assert_true(v.rejected_now);
		v = r(f, 0, -one[i].k - 1e-9, "d");
		assert_int_equal(v.fired, B(one[i].rule));
		assert_int_equal(v.n_involved, 1);
		assert_int_equal(v.involved[0].seq, v.seq);
		assert_string_equal(v.involved[0].run, "d");
		free(f);
	}
}

static void test_z_from_target(void **state)
{
	struct fx *f = fx_new(2, B(WG_1_3S), 0);
	struct qc_verdict v;

	(void)state;
	f->tg[0].mean = 100;
	f->tg[0].sd = 10;
	v = r(f, 0, 130, "a"); /* z = 3.0 exactly */
	assert_true(v.z == 3.0);
	assert_int_equal(v.fired, 0);
	v = r(f, 0, 130.01, "b");
	assert_int_equal(v.fired, B(WG_1_3S));
	assert_true(v.has_target && v.mean == 100 && v.sd == 10);
	free(f);
}

static void test_warning_does_not_gate(void **state)
{
	struct fx *f = fx_new(2, B(WG_1_3S) | B(WG_2_2S) | B(WG_R_4S), B(WG_1_2S));
	struct qc_verdict v;

	(void)state;
	/* 2-2s needs no 1-2s trigger first: both are evaluated on every result */
	v = r(f, 0, 2.5, "a");
	assert_int_equal(v.status, QC_WARNING);
	assert_int_equal(v.fired, B(WG_1_2S));
	assert_false(v.rejected_now);
	v = r(f, 1, 2.5, "a");
	assert_int_equal(v.status, QC_REJECT);
	assert_int_equal(v.fired, B(WG_1_2S) | B(WG_2_2S));
	assert_true(v.rejected_now);
	assert_int_equal(v.n_involved, 2);
	/* a rejection rule with no warning at all */
	f->p.warning = 0;
	v = r(f, 0, 0.5, "b");
	v = r(f, 1, 3.2, "b");
	assert_int_equal(v.fired, B(WG_1_3S));
	assert_int_equal(v.status, QC_REJECT);
	free(f);
}

static void test_2_2s(void **state)
{
	struct fx *f;
	struct qc_verdict v;

	(void)state;
	/* within run, across levels, same side */
	f = fx_new(2, B(WG_2_2S), 0);
	v = run2(f, 1, -2.1, -2.2);
	assert_int_equal(v.fired, B(WG_2_2S));
	free(f);
	/* within run, opposite sides: not 2-2s */
	f = fx_new(2, B(WG_2_2S), 0);
	v = run2(f, 1, 2.1, -2.2);
	assert_int_equal(v.fired, 0);
	free(f);
	/* within run, one exactly at the limit */
	f = fx_new(2, B(WG_2_2S), 0);
	v = run2(f, 1, 2.0, 2.5);
	assert_int_equal(v.fired, 0);
	free(f);
	/* across runs within one level */
	f = fx_new(2, B(WG_2_2S), 0);
	run2(f, 1, 2.3, 0);
	v = r(f, 0, 2.1, "r2");
	assert_int_equal(v.fired, B(WG_2_2S));
	assert_int_equal(v.n_involved, 2);
	assert_string_equal(v.involved[0].run, "r1");
	assert_string_equal(v.involved[1].run, "r2");
	free(f);
	/* across runs within one level, opposite sides */
	f = fx_new(2, B(WG_2_2S), 0);
	run2(f, 1, 2.3, 0);
	v = r(f, 0, -2.1, "r2");
	assert_int_equal(v.fired, 0);
	free(f);
	/* across runs and across levels: not consecutive results of one level */
	f = fx_new(2, B(WG_2_2S), 0);
	run2(f, 1, 0, 2.3);
	v = r(f, 0, 2.4, "r2");
	assert_int_equal(v.fired, 0);
	free(f);
}

static void test_r_4s(void **state)
{
	struct fx *f;
	struct qc_verdict v;

	(void)state;
	f = fx_new(2, B(WG_R_4S), 0);
	v = run2(f, 1, 2.1, -2.1);
	assert_int_equal(v.fired, B(WG_R_4S));
	free(f);
	/* a range of 4.2 SD, but one of them inside 2 SD: no */
	f = fx_new(2, B(WG_R_4S), 0);
	v = run2(f, 1, 2.2, -2.0);
	assert_int_equal(v.fired, 0);
	free(f);
	/* same side: no */
	f = fx_new(2, B(WG_R_4S), 0);
	v = run2(f, 1, 2.5, 2.5);
	assert_int_equal(v.fired, 0);
	free(f);
	/* across runs: never */
	f = fx_new(2, B(WG_R_4S), 0);
	run2(f, 1, 0, 2.5);
	v = run2(f, 2, -2.5, 0);
	assert_int_equal(v.fired, 0);
	r(f, 0, 2.5, "r3");
	v = r(f, 0, -2.5, "r4");
	assert_int_equal(v.fired, 0);
	free(f);
}

static void test_4_1s(void **state)
{
	struct fx *f;
	struct qc_verdict v;

	(void)state;
	/* within one level over 4 runs (the other level in between stays low):
	 * scope level only; in run order (the default) it spans 4 runs */
	f = fx_new(2, B(WG_4_1S), 0);
	f->p.scope = WG_SCOPE_LEVEL;
	for (int i = 1; i <= 3; i++) {
		v = run2(f, i, 1.5, -0.2);
		assert_int_equal(v.fired, 0);
	}
	v = r(f, 0, 1.1, "r4");
	assert_int_equal(v.fired, B(WG_4_1S));
	assert_int_equal(v.n_involved, 4);
	free(f);
	/* across levels: 2 runs of 2 levels */
	f = fx_new(2, B(WG_4_1S), 0);
	v = run2(f, 1, -1.5, -1.2);
	assert_int_equal(v.fired, 0);
	r(f, 0, -1.3, "r2");
	v = r(f, 1, -1.01, "r2");
	assert_int_equal(v.fired, B(WG_4_1S));
	free(f);
	/* near misses: one exactly at 1 SD, one on the other side */
	f = fx_new(2, B(WG_4_1S), 0);
	run2(f, 1, 1.5, 1.5);
	v = run2(f, 2, 1.0, 1.5);
	assert_int_equal(v.fired, 0);
	free(f);
	f = fx_new(2, B(WG_4_1S), 0);
	run2(f, 1, 1.5, -1.5);
	v = run2(f, 2, 1.5, -1.5);
	assert_int_equal(v.fired, 0); /* 2 per level, alternating sides interleaved */
	free(f);
}

static void test_mean_rules_2_levels(void **state)
{
	static const struct {
		int rule, n;
	} xr[] = {{WG_8X, 8}, {WG_10X, 10}, {WG_12X, 12}};

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		int n = xr[k].n;
		struct fx *f;
		struct qc_verdict v;
		char id[16];

		/* within one level: n runs, the other level alternating
		 * (scope level; in run order a level alone is not n in a row) */
		f = fx_new(2, B(xr[k].rule), 0);
		f->p.scope = WG_SCOPE_LEVEL;
		for (int i = 1; i < n; i++) {
			v = run2(f, i, 0.3, i % 2 ? 0.4 : -0.4);
			assert_int_equal(v.fired, 0);
		}
		snprintf(id, sizeof(id), "r%d", n);
		v = r(f, 0, 0.01, id);
		assert_int_equal(v.fired, B(xr[k].rule));
		free(f);
		/* across levels: n/2 runs of 2 levels */
		f = fx_new(2, B(xr[k].rule), 0);
		for (int i = 1; i < n / 2; i++) {
			v = run2(f, i, -0.2, -0.1);
			assert_int_equal(v.fired, 0);
		}
		v = run2(f, n / 2, -0.2, -0.1);
		assert_int_equal(v.fired, B(xr[k].rule));
		free(f);
		/* near miss: a zero breaks the row */
		f = fx_new(2, B(xr[k].rule), 0);
		for (int i = 1; i < n / 2; i++)
			run2(f, i, 0.2, 0.1);
		v = run2(f, n / 2, 0.0, 0.1);
		assert_int_equal(v.fired, 0);
		free(f);
	}
}

static void test_three_levels(void **state)
{
	struct fx *f;
	struct qc_verdict v;

	(void)state;
	/* 2of3-2s within run */
	f = fx_new(3, B(WG_2OF3_2S) | B(WG_2_2S), 0);
	v = run3(f, 1, 2.5, 0.5, 2.1);
	/* 2-2s within a run takes any two of its results (issue 17) */
	assert_int_equal(v.fired, B(WG_2OF3_2S) | B(WG_2_2S));
	free(f);
	f = fx_new(3, B(WG_2OF3_2S), 0);
	v = run3(f, 1, 2.5, 0.5, -2.1);
	assert_int_equal(v.fired, 0);
	free(f);
	/* 2of3-2s across runs: two of a level's last three */
	f = fx_new(3, B(WG_2OF3_2S), 0);
	run3(f, 1, 0, 0, -2.4);
	run3(f, 2, 0, 0, 0.3);
	r(f, 0, 0.3, "r3");
	v = r(f, 1, 0.2, "r3");
	assert_int_equal(v.fired, 0);
	v = r(f, 2, -2.2, "r3");
	assert_int_equal(v.fired, B(WG_2OF3_2S));
	free(f);
	/* but not two of different levels in different runs (the old
	 * interleaved reading) */
	f = fx_new(3, B(WG_2OF3_2S), 0);
	run3(f, 1, 0, 0, -2.4);
	r(f, 0, 0.3, "r2");
	v = r(f, 1, -2.2, "r2");
	assert_int_equal(v.fired, 0);
	free(f);
	/* 3-1s within a run of 3 levels */
	f = fx_new(3, B(WG_3_1S), 0);
	v = run3(f, 1, 1.2, 1.3, 1.01);
	assert_int_equal(v.fired, B(WG_3_1S));
	free(f);
	f = fx_new(3, B(WG_3_1S), 0);
	v = run3(f, 1, 1.2, 1.3, 1.0);
	assert_int_equal(v.fired, 0);
	free(f);
	/* 6x: 2 runs of 3 levels */
	f = fx_new(3, B(WG_6X), 0);
	v = run3(f, 1, 0.1, 0.2, 0.3);
	assert_int_equal(v.fired, 0);
	r(f, 0, 0.1, "r2");
	r(f, 1, 0.2, "r2");
	v = r(f, 2, 0.3, "r2");
	assert_int_equal(v.fired, B(WG_6X));
	free(f);
	/* 9x: 3 runs of 3 levels */
	f = fx_new(3, B(WG_9X), 0);
	run3(f, 1, -0.1, -0.2, -0.3);
	v = run3(f, 2, -0.1, -0.2, -0.3);
	assert_int_equal(v.fired, 0);
	r(f, 0, -0.1, "r3");
	v = r(f, 1, -0.1, "r3");
	assert_int_equal(v.fired, 0);
	v = r(f, 2, -0.1, "r3");
	assert_int_equal(v.fired, B(WG_9X));
	free(f);
	f = fx_new(3, B(WG_6X) | B(WG_9X), 0);
	run3(f, 1, 0.1, 0.2, 0.3);
	v = run3(f, 2, 0.1, -0.2, 0.3);
	assert_int_equal(v.fired, 0);
	free(f);
}

static void test_7t(void **state)
{
	struct fx *f;
	struct qc_verdict v;

	(void)state;
	/* one level rising over 7 runs, the other flat */
	f = fx_new(2, B(WG_7T), 0);
	for (int i = 1; i <= 6; i++) {
		v = run2(f, i, -1.5 + 0.4 * i, 0.1);
		assert_int_equal(v.fired, 0);
	}
	v = r(f, 0, 1.5, "r7");
	assert_int_equal(v.fired, B(WG_7T));
	assert_int_equal(v.n_involved, 7);
	free(f);
	/* falling across levels: 7T is one level's trend only (Bio-Rad) */
	f = fx_new(2, B(WG_7T), 0);
	run2(f, 1, 1.0, 0.9);
	run2(f, 2, 0.8, 0.7);
	run2(f, 3, 0.6, 0.5);
	v = r(f, 0, 0.4, "r4");
	assert_int_equal(v.fired, 0);
	free(f);
	/* a tie breaks the trend */
	f = fx_new(2, B(WG_7T), 0);
	for (int i = 1; i <= 6; i++)
		run2(f, i, i == 3 ? -1.5 + 0.4 * 2 : -1.5 + 0.4 * i, 0.1);
	v = r(f, 0, 1.5, "r7");
	assert_int_equal(v.fired, 0);
	free(f);
}

static void test_run_grouping(void **state)
{
	struct fx *f;
	struct qc_verdict v;
	struct qc_input in = {.level = 0, .value = 2.5, .t = 1000, .run = "", .lot = ""};

	(void)state;
	/* different run ids: separate runs, so no R-4s */
	f = fx_new(2, B(WG_R_4S), 0);
	r(f, 0, 2.5, "x1");
	v = r(f, 1, -2.5, "x2");
	assert_int_equal(v.fired, 0);
	assert_string_equal(v.run, "x2");
	assert_false(v.run_complete);
	free(f);
	/* no run id: within run_window of the first result is one run */
	f = fx_new(2, B(WG_R_4S), 0);
	assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), 0);
	assert_string_equal(v.run, "t1000");
	in.level = 1, in.value = -2.5, in.t = 1600;
	assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), 0);
	assert_string_equal(v.run, "t1000");
	assert_int_equal(v.fired, B(WG_R_4S));
	assert_true(v.run_complete);
	free(f);
	/* just outside the window: two runs */
	f = fx_new(2, B(WG_R_4S), 0);
	in.level = 0, in.value = 2.5, in.t = 1000;
	westgard_eval(&f->w, &f->p, &in, &v);
	in.level = 1, in.value = -2.5, in.t = 1600.5;
	westgard_eval(&f->w, &f->p, &in, &v);
	assert_int_equal(v.fired, 0);
	assert_string_equal(v.run, "t1600");
	free(f);
	/* a repeated level without run id opens a new run */
	f = fx_new(2, B(WG_1_3S), 0);
	in.level = 0, in.value = 3.5, in.t = 1000;
	westgard_eval(&f->w, &f->p, &in, &v);
	assert_int_equal(v.status, QC_REJECT);
	in.value = 0.1, in.t = 1100;
	westgard_eval(&f->w, &f->p, &in, &v);
	assert_int_equal(v.status, QC_ACCEPT);
	assert_string_equal(v.run, "t1100");
	in.level = 1, in.t = 1120;
	westgard_eval(&f->w, &f->p, &in, &v);
	assert_string_equal(v.run, "t1100");
	assert_true(v.run_accepted_now);
	free(f);
}

static void test_cumulative_status(void **state)
{
	struct fx *f = fx_new(2, B(WG_1_3S) | B(WG_2_2S) | B(WG_R_4S), B(WG_1_2S));
	struct qc_verdict v;

	(void)state;
	v = r(f, 0, 3.4, "r1");
	assert_int_equal(v.status, QC_REJECT);
	assert_true(v.rejected_now);
	assert_false(v.run_accepted_now);
	v = r(f, 1, 0.2, "r1");
	assert_int_equal(v.status, QC_REJECT); /* stays rejected */
	assert_false(v.rejected_now);
	assert_int_equal(v.fired, B(WG_1_3S) | B(WG_1_2S));
	assert_int_equal(v.fired_now, 0);
	assert_true(v.run_complete);
	assert_false(v.run_accepted_now);
	assert_int_equal(v.n_involved, 1);
	/* warning, then accepted run */
	v = r(f, 0, 2.2, "r2");
	assert_int_equal(v.status, QC_WARNING);
	v = r(f, 1, 0.2, "r2");
	assert_int_equal(v.status, QC_WARNING);
	assert_true(v.run_accepted_now);
	v = run2(f, 3, 0.1, 0.2);
	assert_int_equal(v.status, QC_ACCEPT);
	assert_true(v.run_accepted_now);
	assert_true(v.seq == 6);
	free(f);
}

static void test_rejected_run_leaves_history(void **state)
{
	struct fx *f;
	struct qc_verdict v;

	(void)state;
	/* run 1 rejected by 1-3s on L2; its L1 at +2.5 must not pair with
	 * run 2's L1 */
	f = fx_new(2, B(WG_1_3S) | B(WG_2_2S), 0);
	v = run2(f, 1, 2.5, 3.5);
	assert_int_equal(v.status, QC_REJECT);
	v = r(f, 0, 2.5, "r2");
	assert_int_equal(v.fired, 0);
	assert_int_equal(v.status, QC_ACCEPT);
	free(f);
	/* the same with run 1 accepted: 2-2s fires */
	f = fx_new(2, B(WG_1_3S) | B(WG_2_2S), 0);
	run2(f, 1, 2.5, 0);
	v = r(f, 0, 2.5, "r2");
	assert_int_equal(v.fired, B(WG_2_2S));
	free(f);
	/* while the rejected run is open, its own results count */
	f = fx_new(2, B(WG_1_3S) | B(WG_2_2S), 0);
	r(f, 0, 3.5, "r1");
	v = r(f, 1, 3.2, "r1");
	assert_int_equal(v.fired, B(WG_1_3S) | B(WG_2_2S));
	free(f);
	/* 10x: a rejected run in the middle of a row breaks it for later */
	for (int rejected = 0; rejected <= 1; rejected++) {
		f = fx_new(2, B(WG_10X) | B(WG_1_3S), 0);
		for (int i = 1; i <= 3; i++)
			run2(f, i, 0.5, 0.5);
		v = run2(f, 4, rejected ? 3.5 : 0.5, 0.5);
		assert_int_equal(v.status, rejected ? QC_REJECT : QC_ACCEPT);
		v = run2(f, 5, 0.5, 0.5);
		assert_int_equal(v.fired, rejected ? 0 : B(WG_10X));
		free(f);
	}
}

static void test_lot_change(void **state)
{
	struct fx *f;
	struct qc_verdict v;
	struct westgard_target tg[3];

	(void)state;
	/* a lot's history is its own: lot B's first result does not pair
	 * with lot A's last (targets per lot; mean 0 SD 1 each) */
	f = fx_new(2, B(WG_2_2S), 0);
	memset(tg, 0, sizeof(tg));
	for (int i = 0; i < 2; i++) {
		snprintf(tg[i].lot, sizeof(tg[i].lot), "%s", i ? "B" : "A");
		tg[i].has_mean_sd = true, tg[i].mean = 0, tg[i].sd = 1;
	}
	f->p.levels[0].targets = tg;
	f->p.levels[0].n_targets = 2;
	put(f, 0, 2.5, "r2", "A");
	put(f, 1, 0, "r2", "");
	v = put(f, 0, 2.5, "r3", "B");
	assert_true(v.lot_changed);
	assert_string_equal(v.prev_lot, "A");
	assert_int_equal(v.fired, 0);
	v = put(f, 0, 2.5, "r4", "B");
	assert_false(v.lot_changed);
	assert_int_equal(v.fired, B(WG_2_2S));
	free(f);
	/* targets apply to their own lot only: lot Y goes through the
	 * provisional procedure with the CV of the targets without lot */
	f = fx_new(2, B(WG_1_3S), 0);
	memset(tg, 0, sizeof(tg));
	tg[0].has_mean_sd = true, tg[0].mean = 100, tg[0].sd = 2;
	snprintf(tg[1].lot, sizeof(tg[1].lot), "X");
	tg[1].has_mean_sd = true, tg[1].mean = 10, tg[1].sd = 2;
	f->p.levels[0].targets = tg;
	f->p.levels[0].n_targets = 2;
	v = put(f, 0, 14, "r1", "X");
	assert_true(v.z == 2.0 && v.mean == 10);
	v = put(f, 0, 2, "r2", "Y");
	assert_true(v.lot_changed && v.lot_new && !v.has_target);
	assert_int_equal(v.status, QC_PROVISIONAL);
	/* level 2: a lot-X target only, lot Z has nothing to carry: baseline */
	f->p.levels[1].targets = &tg[1];
	f->p.levels[1].n_targets = 1;
	v = put(f, 1, 7, "r3", "Z");
	assert_false(v.has_target);
	assert_true(isnan(v.z));
	assert_int_equal(v.status, QC_BASELINE);
	free(f);
}

static void test_baseline(void **state)
{
	struct fx *f = fx_new(2, B(WG_1_3S) | B(WG_2_2S), B(WG_1_2S));
	struct qc_verdict v;
	double sum = 0, ss = 0, mean, sd;
	double vals[20];
	char id[16];

	(void)state;
	f->p.levels[1].n_targets = 0; /* level 2 learns its target */
	for (int i = 0; i < 20; i++) {
		vals[i] = 200 + ((i * 7) % 11) - 5; /* 195..205 */
		sum += vals[i];
	}
	mean = sum / 20;
	for (int i = 0; i < 20; i++)
		ss += (vals[i] - mean) * (vals[i] - mean);
	sd = sqrt(ss / 19);
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		v = r(f, 0, 0.1, id);
		assert_int_equal(v.status, QC_ACCEPT);
		v = r(f, 1, vals[i], id);
		assert_int_equal(v.status, QC_BASELINE);
		assert_false(v.has_target);
		assert_true(v.run_accepted_now);
		assert_int_equal(v.target_established, i == 19);
	}
	assert_int_equal(v.target_level, 1);
	assert_true(fabs(v.target_mean - mean) < 1e-12);
	assert_true(fabs(v.target_sd - sd) < 1e-12);
	/* from now on judged against it */
	r(f, 0, 0.1, "r20");
	v = r(f, 1, mean + 3.5 * sd, "r20");
	assert_true(v.has_target);
	assert_true(fabs(v.z - 3.5) < 1e-9);
	assert_int_equal(v.status, QC_REJECT);
	/* a new lot of that level learns provisionally (the CV carried
	 * from the learnt target); level 1 keeps its target */
	v = put(f, 1, 200, "r21", "L2");
	assert_true(v.lot_changed);
	assert_true(v.lot_new);
	assert_false(v.has_target);
	assert_int_equal(v.status, QC_PROVISIONAL);
	free(f);
}

static void test_baseline_n_and_zero_sd(void **state)
{
	struct fx *f = fx_new(1, B(WG_1_3S), 0);
	struct qc_verdict v;

	(void)state;
	f->p.levels[0].n_targets = 0;
	f->p.baseline_n = 3;
	for (int i = 0; i < 5; i++) {
		v = r(f, 0, 5.0, "");
		assert_false(v.target_established); /* SD 0: keeps learning */
	}
	v = r(f, 0, 6.0, "");
	assert_true(v.target_established);
	assert_true(v.target_sd > 0);
	free(f);
}

static void test_auto_sigma(void **state)
{
	static const struct {
		double sd1, sd2, bias1;
		unsigned rules;
		int n, runs;
	} cases[] = {
	    /* TEa 10 %, mean 100: CV = sd %, sigma = (10 - |bias|) / CV */
	    {1.0, 1.5, 0, B(WG_1_3S), 2, 1},                                          /* 6.67 */
	    {1.0, 1.9, 0, B(WG_1_3S) | B(WG_2_2S) | B(WG_R_4S), 2, 1},                /* 5.26 */
	    {2.0, 1.0, 0, B(WG_1_3S) | B(WG_2_2S) | B(WG_R_4S), 2, 1},                /* 5.0 */
	    {1.0, 1.0, 5.5, B(WG_1_3S) | B(WG_2_2S) | B(WG_R_4S) | B(WG_4_1S), 4, 1}, /* 4.5 */
	    {3.0, 1.0, 0, B(WG_1_3S) | B(WG_2_2S) | B(WG_R_4S) | B(WG_4_1S) | B(WG_8X), 4,
	     2}, /* 3.33 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx *f = fx_new(2, 0, 0);
		struct qc_verdict v;

		f->p.rules_auto = true;
		f->p.tea_pct = 10;
		f->tg[0].mean = 100, f->tg[0].sd = cases[i].sd1;
		f->tg[0].has_bias = cases[i].bias1 != 0, f->tg[0].bias_pct = -cases[i].bias1;
		f->tg[1].mean = 100, f->tg[1].sd = cases[i].sd2;
		v = r(f, 0, 100, "a");
		assert_true(v.chosen.have_sigma);
		assert_int_equal(v.chosen.rules, cases[i].rules);
		assert_int_equal(v.rules_in_force, cases[i].rules);
		assert_int_equal(v.chosen.n_per_run, cases[i].n);
		assert_int_equal(v.chosen.runs, cases[i].runs);
		free(f);
	}
	/* the chosen set is what judges: 1-3s only, so a 2-2s pattern passes */
	{
		struct fx *f = fx_new(2, 0, 0);
		struct qc_verdict v;

		f->p.rules_auto = true;
		f->p.tea_pct = 10;
		f->tg[0].mean = 100, f->tg[0].sd = 1;
		f->tg[1].mean = 100, f->tg[1].sd = 1;
		r(f, 0, 102.5, "a");
		v = r(f, 1, 102.5, "a");
		assert_int_equal(v.fired, 0);
		assert_true(fabs(v.chosen.sigma - 10) < 1e-12);
		free(f);
	}
	/* baseline, no TEa, 3 levels: the full set */
	{
		struct fx *f = fx_new(3, 0, 0);
		struct qc_verdict v;

		f->p.rules_auto = true;
		f->p.tea_pct = 10;
		f->p.levels[2].n_targets = 0;
		v = r(f, 0, 0.1, "a");
		assert_false(v.chosen.have_sigma);
		assert_int_equal(v.rules_in_force,
		                 B(WG_1_3S) | B(WG_2OF3_2S) | B(WG_R_4S) | B(WG_3_1S) | B(WG_6X));
		assert_int_equal(v.chosen.n_per_run, 6);
		free(f);
	}
}

static void test_bad_input(void **state)
{
	struct fx *f = fx_new(2, B(WG_1_3S), 0);
	struct qc_verdict v;
	struct qc_input in = {.level = 2, .value = 1, .t = 1};
	char err[100];

	(void)state;
	errno = 0;
	assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), -1);
	assert_int_equal(errno, EINVAL);
	in.level = 0, in.value = NAN;
	assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), -1);
	in.value = 1;
	f->tg[0].sd = 0;
	assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), -1);
	assert_int_equal(westgard_params_check(&f->p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sd"));
	assert_int_equal(f->w.next_seq, 1);
	free(f);
}

/* ---- restart through the JSON state ---- */

static uint64_t rng_state = 88172645463325252ull;
static double rnd(void) /* xorshift64, uniform [0, 1) */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void assert_same_verdict(const struct qc_verdict *a, const struct qc_verdict *b)
{
	assert_int_equal(a->seq, b->seq);
	assert_string_equal(a->run, b->run);
	if (memcmp(&a->z, &b->z, sizeof(a->z)) != 0)
		fail_msg("seq %llu: z %.17g != %.17g", (unsigned long long)a->seq, a->z, b->z);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->fired, b->fired);
	assert_int_equal(a->fired_now, b->fired_now);
	assert_int_equal(a->n_involved, b->n_involved);
	for (size_t i = 0; i < a->n_involved; i++) {
		assert_int_equal(a->involved[i].seq, b->involved[i].seq);
		assert_string_equal(a->involved[i].run, b->involved[i].run);
	}
	assert_int_equal(a->rejected_now, b->rejected_now);
	assert_int_equal(a->run_accepted_now, b->run_accepted_now);
	assert_int_equal(a->target_established, b->target_established);
	assert_true(a->target_mean == b->target_mean && a->target_sd == b->target_sd);
	assert_int_equal(a->lot_changed, b->lot_changed);
	assert_int_equal(a->rules_in_force, b->rules_in_force);
}

static void restart(struct westgard *w, bool print)
{
	cJSON *j = westgard_to_json(w), *back;
	char *text, err[200];

	assert_non_null(j);
	if (!print) { /* the object as built, never printed */
		memset(w, 0x5a, sizeof(*w));
		assert_int_equal(westgard_from_json(w, j, err, sizeof(err)), 0);
		cJSON_Delete(j);
		return;
	}
	text = cJSON_PrintUnformatted(j);
	assert_non_null(text);
	cJSON_Delete(j);
	back = cJSON_Parse(text);
	free(text);
	assert_non_null(back);
	memset(w, 0xa5, sizeof(*w)); /* nothing may survive but the JSON */
	assert_int_equal(westgard_from_json(w, back, err, sizeof(err)), 0);
	cJSON_Delete(back);
}

static void test_restart_mid_run(void **state)
{
	struct fx *a = fx_new(3,
	                      B(WG_1_3S) | B(WG_2_2S) | B(WG_R_4S) | B(WG_4_1S) | B(WG_10X) |
	                          B(WG_2OF3_2S) | B(WG_7T) | B(WG_12X),
	                      B(WG_1_2S));
	struct fx *b = fx_new(3, a->p.rules, a->p.warning);
	int restarts = 0;

	(void)state;
	a->p.levels[2].n_targets = b->p.levels[2].n_targets = 0; /* a baseline too */
	for (int i = 0; i < 3000; i++) {
		struct qc_verdict va, vb;
		struct qc_input in;
		char run[16];
		int level = i % 3;
		double u1 = rnd(), u2 = rnd();
		double z = sqrt(-2 * log(1 - u1)) * cos(6.283185307179586 * u2) * 1.3 + 0.4;

		snprintf(run, sizeof(run), "r%d", i / 3);
		in.level = level;
		in.value = level == 2 ? 50 + 3 * z : z;
		in.t = 1700000000 + i * 100;
		in.run = (i / 3) % 4 == 0 ? "" : run; /* some runs by window */
		in.lot = i < 1500 ? "A" : "B";
		assert_int_equal(westgard_eval(&a->w, &a->p, &in, &va), 0);
		if (rnd() < 0.3) {
			restart(&b->w, rnd() < 0.8);
			restarts++;
		}
		assert_int_equal(westgard_eval(&b->w, &b->p, &in, &vb), 0);
		assert_same_verdict(&va, &vb);
	}
	assert_true(restarts > 500);
	free(a);
	free(b);
}

static void test_json_refuses_garbage(void **state)
{
	struct westgard w;
	char err[200];
	cJSON *j;
	static const char *bad[] = {
	    "[]",
	    "{\"version\":2}",
	    "{\"version\":1,\"next_seq\":1}",
	};

	(void)state;
	westgard_init(&w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = cJSON_Parse(bad[i]);
		assert_int_equal(westgard_from_json(&w, j, err, sizeof(err)), -1);
		cJSON_Delete(j);
	}
	/* a history entry with a level out of range */
	j = westgard_to_json(&w);
	cJSON_AddItemToArray(cJSON_GetObjectItem(j, "inter"),
	                     cJSON_Parse("[1, 5.0, 1.0, 7, true, \"r\"]"));
	assert_int_equal(westgard_from_json(&w, j, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "history"));
	cJSON_Delete(j);
	assert_int_equal(w.next_seq, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_aliases),
	    cmocka_unit_test(test_1ks_limits),
	    cmocka_unit_test(test_z_from_target),
	    cmocka_unit_test(test_warning_does_not_gate),
	    cmocka_unit_test(test_2_2s),
	    cmocka_unit_test(test_r_4s),
	    cmocka_unit_test(test_4_1s),
	    cmocka_unit_test(test_mean_rules_2_levels),
	    cmocka_unit_test(test_three_levels),
	    cmocka_unit_test(test_7t),
	    cmocka_unit_test(test_run_grouping),
	    cmocka_unit_test(test_cumulative_status),
	    cmocka_unit_test(test_rejected_run_leaves_history),
	    cmocka_unit_test(test_lot_change),
	    cmocka_unit_test(test_baseline),
	    cmocka_unit_test(test_baseline_n_and_zero_sd),
	    cmocka_unit_test(test_auto_sigma),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_restart_mid_run),
	    cmocka_unit_test(test_json_refuses_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
