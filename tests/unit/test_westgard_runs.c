/* test-links: rules/westgard.c rules/westgard_runs.c rules/westgard_count.c rules/westgard_names.c rules/westgard_json.c rules/json_exact.c */
/*
 * test_westgard_runs.c: the semantics issue 17 set, each worked by hand:
 * count rules aligned to runs (a 4-1s pattern spanning three runs does
 * not fire), 7T on one level whatever the arrival order, 2-2s of L1 and
 * L3 with L2 between, R-4s on replicates, a rerun after a rejection,
 * lots side by side (crossover) and provisional targets with the CV
 * carried, incomplete runs, statistics per lot, and the Sigma Rules'
 * N and R applied.
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
	struct westgard_target tg[WG_LEVELS_MAX][4];
	double t;
};

static struct fx *fx_new(size_t n_levels, unsigned rules)
{
	struct fx *f = calloc(1, sizeof(*f));
	static const char *names[] = {"L1", "L2", "L3"};

	assert_non_null(f);
	westgard_init(&f->w);
	westgard_params_init(&f->p, n_levels);
	f->p.rules = rules;
	f->p.warning = 0;
	for (size_t l = 0; l < n_levels; l++) {
		f->tg[l][0].has_mean_sd = true;
		f->tg[l][0].sd = 1;
		f->p.levels[l].targets = f->tg[l];
		f->p.levels[l].n_targets = 1;
		f->p.levels[l].name = names[l];
	}
	f->t = 1700000000;
	return f;
}

/* a target for one lot of a level */
static void lot_target(struct fx *f, int level, const char *lot, double mean, double sd)
{
	struct westgard_target *t = &f->tg[level][f->p.levels[level].n_targets++];

	memset(t, 0, sizeof(*t));
	snprintf(t->lot, sizeof(t->lot), "%s", lot);
	t->has_mean_sd = true;
	t->mean = mean;
	t->sd = sd;
}

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

/* 4-1s, 2 levels: run order r1L1 r1L2 r2L1 r2L2 r3L1 ... A window of 4
 * ending at r3's L1 reaches r1's L2: three runs, more than
 * ceil(4 / 2) = 2, so it must not fire; ending at r3's L2 it spans r2
 * and r3 and fires. The old interleaved check (scope both) fired at r3's
 * L1 already. */
static void test_4_1s_spanning_three_runs(void **state)
{
	struct fx *f;
	struct qc_verdict v;

	(void)state;
	for (int scope = WG_SCOPE_RUNS; scope <= WG_SCOPE_BOTH; scope += 2) {
		f = fx_new(2, B(WG_4_1S));
		f->p.scope = (enum wg_scope)scope;
		r(f, 0, 0.0, "r1");
		r(f, 1, 1.5, "r1");
		r(f, 0, 1.5, "r2");
		v = r(f, 1, 1.5, "r2");
		assert_int_equal(v.fired, 0);
		v = r(f, 0, 1.5, "r3");
		assert_int_equal(v.fired, scope == WG_SCOPE_RUNS ? 0 : B(WG_4_1S));
		v = r(f, 1, 1.5, "r3");
		assert_int_equal(v.fired, B(WG_4_1S));
		assert_int_equal(v.status, QC_REJECT);
		free(f);
	}
	/* the same run arriving L2 first gets the same verdict: the window
	 * ending at L2 is judged again when L1 comes */
	f = fx_new(2, B(WG_4_1S));
	r(f, 0, 0.0, "r1");
	r(f, 1, 1.5, "r1");
	r(f, 0, 1.5, "r2");
	r(f, 1, 1.5, "r2");
	v = r(f, 1, 1.5, "r3");
	assert_int_equal(v.fired, 0); /* r1L2 r2L1 r2L2 r3L2 would be 3 runs: no */
	v = r(f, 0, 1.5, "r3");
	assert_int_equal(v.fired, B(WG_4_1S));
	free(f);
	/* 10x, 2 levels: five runs, not six */
	f = fx_new(2, B(WG_10X));
	r(f, 0, -0.5, "r0");
	r(f, 1, 0.5, "r0");
	for (int i = 1; i <= 4; i++) {
		char id[8];

		snprintf(id, sizeof(id), "r%d", i);
		r(f, 0, 0.5, id);
		v = r(f, 1, 0.5, id);
		assert_int_equal(v.fired, 0);
	}
	v = r(f, 0, 0.5, "r5"); /* 10 in a row from r0L2: six runs */
	assert_int_equal(v.fired, 0);
	v = r(f, 1, 0.5, "r5");
	assert_int_equal(v.fired, B(WG_10X));
	free(f);
}

/* 7T on one level: four runs where the interleaved z rise when L1 comes
 * first (0.1 0.2 0.3 ...) and zigzag when L2 does. No level alone has 7
 * results: quiet either way. Seven runs of a rising L1: fires either way. */
static void test_7t_either_level_first(void **state)
{
	for (int l2_first = 0; l2_first <= 1; l2_first++) {
		struct fx *f = fx_new(2, B(WG_7T));
		struct qc_verdict v;

		(void)state;
		for (int i = 0; i < 4; i++) {
			char id[8];

			snprintf(id, sizeof(id), "r%d", i);
			for (int k = 0; k < 2; k++) {
				int l = l2_first ? 1 - k : k;

				v = r(f, l, 0.1 + 0.2 * i + 0.1 * l, id);
				assert_int_equal(v.fired, 0);
			}
		}
		for (int i = 4; i < 7; i++) {
			char id[8];

			snprintf(id, sizeof(id), "r%d", i);
			for (int k = 0; k < 2; k++) {
				int l = l2_first ? 1 - k : k;

				v = r(f, l, l == 0 ? 0.1 + 0.2 * i : -0.3, id);
			}
		}
		assert_int_equal(v.fired, B(WG_7T));
		free(f);
	}
}

static void test_2_2s_l1_l3(void **state)
{
	struct fx *f = fx_new(3, B(WG_2_2S) | B(WG_2OF3_2S));
	struct qc_verdict v;

	(void)state;
	r(f, 0, 2.5, "r1");
	v = r(f, 1, 0.0, "r1");
	assert_int_equal(v.fired, 0);
	v = r(f, 2, 2.5, "r1");
	assert_int_equal(v.fired, B(WG_2_2S) | B(WG_2OF3_2S));
	assert_int_equal(v.n_involved, 2);
	assert_int_equal(v.involved[0].level, 0);
	assert_int_equal(v.involved[1].level, 2);
	free(f);
}

static void test_r_4s_replicates(void **state)
{
	struct fx *f = fx_new(2, B(WG_R_4S));
	struct qc_verdict v;
	struct qc_input in = {.level = 0, .value = 2.5, .t = 1000};

	(void)state;
	/* with a run id: both replicates of L1 in one run */
	r(f, 0, 2.5, "r1");
	v = r(f, 0, -2.5, "r1");
	assert_int_equal(v.fired, B(WG_R_4S));
	assert_string_equal(v.run, "r1");
	free(f);
	/* without one: replicates 2 groups them within run_window */
	f = fx_new(2, B(WG_R_4S));
	f->p.replicates = 2;
	assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), 0);
	in.value = -2.5, in.t = 1060;
	assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), 0);
	assert_string_equal(v.run, "t1000");
	assert_int_equal(v.fired, B(WG_R_4S));
	assert_false(v.run_complete);
	/* a third L1 result is a new run */
	in.value = 0.1, in.t = 1120;
	assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), 0);
	assert_string_equal(v.run, "t1120");
	assert_string_equal(v.rerun_of, "t1000"); /* the run before was rejected */
	free(f);
}

static void test_rerun(void **state)
{
	struct fx *f = fx_new(2, B(WG_1_3S));
	struct qc_verdict v;

	(void)state;
	v = r(f, 0, 3.5, "r7");
	assert_true(v.rejected_now);
	v = r(f, 1, 0.1, "r7"); /* a level not seen yet joins the rejected run */
	assert_int_equal(v.status, QC_REJECT);
	assert_true(v.run_complete);
	assert_false(v.run_accepted_now);
	uint64_t first = v.run_no;
	v = r(f, 0, 0.2, "r7"); /* L1 again: the rerun */
	assert_string_equal(v.run, "r7");
	assert_string_equal(v.rerun_of, "r7");
	assert_true(v.run_no == first + 1);
	assert_int_equal(v.status, QC_ACCEPT);
	assert_true(v.closed);
	assert_true(v.closed_complete);
	assert_int_equal(v.closed_status, QC_REJECT);
	v = r(f, 1, -0.3, "r7");
	assert_string_equal(v.rerun_of, "r7");
	assert_int_equal(v.status, QC_ACCEPT);
	assert_true(v.run_accepted_now);
	/* a run that is not rejected takes replicates under its id */
	v = r(f, 0, 0.5, "r7");
	assert_true(v.run_no == first + 1);
	free(f);
}

/* Lots A and B of L1 alternating over 20 runs (L2 without lot): each
 * judged against its own targets throughout, and neither's history
 * wiped: after the 20 runs each lot holds its 10 results. */
static void test_lot_crossover(void **state)
{
	struct fx *f = fx_new(2, B(WG_1_3S) | B(WG_2_2S) | B(WG_4_1S) | B(WG_10X));
	struct qc_verdict v;
	int slot[2] = {-1, -1};

	(void)state;
	lot_target(f, 0, "A", 100, 2);
	lot_target(f, 0, "B", 120, 3);
	for (int i = 0; i < 20; i++) {
		char id[8];
		bool b = i % 2;
		double z = (i % 4 < 2) ? 0.5 : -0.5;

		snprintf(id, sizeof(id), "r%d", i);
		v = put(f, 0, b ? 120 + 3 * z : 100 + 2 * z, id, b ? "B" : "A");
		assert_true(v.has_target);
		assert_true(v.mean == (b ? 120 : 100) && v.sd == (b ? 3 : 2));
		assert_true(fabs(v.z - z) < 1e-12);
		assert_int_equal(v.lot_new, i < 2);
		assert_int_equal(v.lot_changed, i > 0);
		v = r(f, 1, 0.1, id);
		assert_int_equal(v.status, QC_ACCEPT);
	}
	for (int s = 0; s < WG_LOTS_MAX; s++)
		if (f->w.lv[0].lots[s].used)
			slot[f->w.lv[0].lots[s].lot[0] == 'B'] = s;
	assert_true(slot[0] >= 0 && slot[1] >= 0);
	assert_int_equal(f->w.lv[0].lots[slot[0]].n_hist, 10);
	assert_int_equal(f->w.lv[0].lots[slot[1]].n_hist, 9); /* the last run is still open */
	/* both lots in one run (the parallel run): each judged */
	v = put(f, 0, 102, "p1", "A");
	assert_true(v.has_target && fabs(v.z - 1) < 1e-12);
	v = put(f, 0, 130, "p1", "B");
	assert_int_equal(v.fired, B(WG_1_3S));
	assert_int_equal(v.n_involved, 1);
	free(f);
}

/* Lot A has targets (mean 100, SD 2: CV 2 %); lot B none. B's first 10
 * results over at least two runs give its provisional mean 120; its SD
 * is carried: 2 % of 120 = 2.4. Meanwhile status provisional. */
static void test_provisional_carry_cv(void **state)
{
	static const double b[10] = {118, 122, 119, 121, 120, 120, 117, 123, 120, 120};

	for (int lot_sd = 0; lot_sd <= 1; lot_sd++) {
		struct fx *f = fx_new(1, B(WG_1_3S));
		struct qc_verdict v;
		double ss = 0;

		(void)state;
		f->p.lot_sd = (enum wg_lot_sd)lot_sd;
		f->p.levels[0].n_targets = 0;
		lot_target(f, 0, "A", 100, 2);
		put(f, 0, 101, "r0", "A");
		for (int i = 0; i < 10; i++) {
			char id[8];

			snprintf(id, sizeof(id), "r%d", 1 + i / 5); /* two runs of five */
			v = put(f, 0, b[i], id, "B");
			ss += (b[i] - 120) * (b[i] - 120);
			assert_false(v.has_target);
			assert_int_equal(v.status, QC_PROVISIONAL);
			assert_int_equal(v.target_established, i == 9);
		}
		assert_string_equal(v.target_lot, "B");
		assert_string_equal(v.target_source, "provisional");
		assert_true(fabs(v.target_mean - 120) < 1e-12);
		if (lot_sd == WG_LOT_SD_CARRY_CV) {
			assert_true(fabs(v.target_sd - 2.4) < 1e-12);
			assert_string_equal(v.target_cv_from, "A");
		} else {
			assert_true(fabs(v.target_sd - sqrt(ss / 9)) < 1e-12);
			assert_string_equal(v.target_cv_from, "");
		}
		v = put(f, 0, 120 + 3.5 * v.target_sd, "r3", "B");
		assert_true(v.has_target);
		assert_int_equal(v.status, QC_REJECT);
		/* lot A goes on with its own targets */
		v = put(f, 0, 102, "r4", "A");
		assert_true(v.mean == 100 && fabs(v.z - 1) < 1e-12);
		free(f);
	}
	/* ten results in one run: not yet (at least two runs) */
	{
		struct fx *f = fx_new(1, B(WG_1_3S));
		struct qc_verdict v;

		(void)state;
		lot_target(f, 0, "A", 100, 2);
		put(f, 0, 101, "r0", "A");
		for (int i = 0; i < 10; i++)
			v = put(f, 0, b[i], "r1", "B");
		assert_false(v.target_established);
		v = put(f, 0, 120, "r2", "B");
		assert_true(v.target_established);
		free(f);
	}
}

static void test_incomplete_run(void **state)
{
	struct fx *f = fx_new(3, B(WG_1_3S));
	struct qc_verdict v;

	(void)state;
	r(f, 0, 0.1, "r1");
	v = r(f, 2, 0.1, "r1");
	assert_false(v.run_complete);
	v = r(f, 0, 0.1, "r2");
	assert_true(v.closed);
	assert_string_equal(v.closed_run, "r1");
	assert_false(v.closed_complete);
	assert_int_equal(v.closed_levels_seen, 5);
	free(f);
}

/* Per lot: n, mean, SD, CV of all results and of those of runs closed
 * without a rejection; this month's apart. */
static void test_stats(void **state)
{
	struct fx *f = fx_new(1, B(WG_1_3S));
	struct qc_input in = {.level = 0, .run = "", .lot = ""};
	struct qc_verdict v;
	struct westgard_stat s;
	const struct wg_stats *st = &f->w.lv[0].lots[0].st;
	static const double jan[] = {1, 2, 3, 10}; /* 10: rejected (z 10) */

	(void)state;
	f->p.levels[0].targets = f->tg[0];
	f->tg[0][0].mean = 2;
	f->tg[0][0].sd = 0.5;
	for (int i = 0; i < 4; i++) {
		in.value = jan[i];
		in.t = 1704067200.0 + 86400 * i; /* 2024-01-01 onwards */
		assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), 0);
	}
	in.value = 2, in.t = 1706745600.0 + 3600; /* 2024-02-01 01:00 */
	assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), 0);
	assert_int_equal(westgard_month(1706745600.0 - 1), 2024 * 12 + 0);
	assert_int_equal(westgard_month(1706745600.0), 2024 * 12 + 1);
	westgard_stat_of(&st->all, &s);
	assert_true(s.n == 5 && fabs(s.mean - 18.0 / 5) < 1e-12);
	westgard_stat_of(&st->acc, &s); /* 1 2 3 (the Feb run still open) */
	assert_true(s.n == 3 && fabs(s.mean - 2) < 1e-12 && fabs(s.sd - 1) < 1e-12);
	assert_true(fabs(s.cv - 50) < 1e-9);
	westgard_stat_of(&st->month_all, &s);
	assert_true(s.n == 1 && s.mean == 2 && isnan(s.sd));
	westgard_stat_of(&st->month_acc, &s);
	assert_true(s.n == 0 && isnan(s.mean));
	free(f);
}

/* rules: auto applies N and R: below 4 sigma with 2 levels, N=4 (2 per
 * level) and R=2; a run without ids holds two of each level. */
static void test_auto_applied(void **state)
{
	struct fx *f = fx_new(2, 0);
	struct qc_verdict v;
	struct qc_input in = {.level = 0, .value = 100, .t = 1000};

	(void)state;
	f->p.rules_auto = true;
	f->p.tea_pct = 10;
	for (int l = 0; l < 2; l++)
		f->tg[l][0].mean = 100, f->tg[l][0].sd = 3; /* sigma 3.33 */
	for (int i = 0; i < 4; i++) {
		in.level = i / 2;
		in.t = 1000 + 60 * i;
		assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), 0);
		assert_string_equal(v.run, "t1000");
		assert_int_equal(v.run_complete, i == 3);
	}
	assert_int_equal(v.replicates, 2);
	assert_int_equal(v.chosen.runs, 2);
	assert_true(v.chosen.bias_missing);
	assert_int_equal(westgard_lookback(2, 2, 2, 8), 2);
	assert_int_equal(westgard_lookback(2, 1, 0, 10), 5);
	assert_int_equal(westgard_lookback(3, 1, 0, 4), 2);
	free(f);
	/* 3 levels below 4 sigma: the chart's alternatives */
	static const struct {
		enum wg_sigma_option o;
		unsigned x;
		int n, runs;
	} alt[] = {{WG_SIGMA_N6R1, B(WG_6X), 6, 1},
	           {WG_SIGMA_N3R2, B(WG_6X), 3, 2},
	           {WG_SIGMA_9X, B(WG_9X), 3, 3}};
	for (size_t i = 0; i < 3; i++) {
		f = fx_new(3, 0);
		f->p.rules_auto = true;
		f->p.tea_pct = 10;
		f->p.sigma_option = alt[i].o;
		for (int l = 0; l < 3; l++)
			f->tg[l][0].mean = 100, f->tg[l][0].sd = 3, f->tg[l][0].has_bias = true;
		in.level = 0, in.t = 5000;
		assert_int_equal(westgard_eval(&f->w, &f->p, &in, &v), 0);
		assert_int_equal(v.rules_in_force, B(WG_1_3S) | B(WG_2OF3_2S) | B(WG_R_4S) |
		                                       B(WG_3_1S) | alt[i].x);
		assert_int_equal(v.chosen.n_per_run, alt[i].n);
		assert_int_equal(v.chosen.runs, alt[i].runs);
		assert_int_equal(v.replicates, alt[i].n / 3);
		assert_false(v.chosen.bias_missing);
		free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_4_1s_spanning_three_runs),
	    cmocka_unit_test(test_7t_either_level_first),
	    cmocka_unit_test(test_2_2s_l1_l3),
	    cmocka_unit_test(test_r_4s_replicates),
	    cmocka_unit_test(test_rerun),
	    cmocka_unit_test(test_lot_crossover),
	    cmocka_unit_test(test_provisional_carry_cv),
	    cmocka_unit_test(test_incomplete_run),
	    cmocka_unit_test(test_stats),
	    cmocka_unit_test(test_auto_applied),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
