/* test-links: rules/report_stats.c */
/*
 * test_report_stats.c: the figures of a periodic report (issue 19) on
 * hand-worked cases.
 *
 * MKT: with Ea = 83.144 kJ/mol and R = 8.3144, Ea/R = 10,000 K exactly,
 * so MKT = 10000 / -ln(mean of exp(-10000 / T_k)) - 273.15:
 *   5 and 25 C, equal time:  exp(-10000/278.15) = 2.4021e-16,
 *                            exp(-10000/298.15) = 2.8067e-15,
 *                            mean 1.5235e-15, -ln = 34.1178,
 *                            10000 / 34.1178 = 293.10 K = 19.70 C
 *   3 h at 4 C, 1 h at 12 C: 6.82 C (the same sum, weights 3:1)
 *   a constant: itself.
 * QC: 100, 102, 98, 104: mean 101, squares of deviations 1+1+9+9 = 20,
 * SD = sqrt(20/3) = 2.5820, CV = 2.5564 %, bias to 100 = +1 %, Sigma with
 * TEa 10 % = (10 - 1) / 2.5564 = 3.5205.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rules/report_stats.h"
#include "rules/rules.h"

static void assert_near(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.9g, want %.9g (+-%g)", got, want, tol);
}

static void test_mkt(void **st)
{
	struct mkt_acc m;

	(void)st;
	mkt_init(&m, MKT_EA_DEFAULT);
	assert_near(m.ea_over_r, 10000.0, 1e-9);
	assert_true(isnan(mkt_celsius(&m)));
	mkt_add(&m, 5, 1);
	mkt_add(&m, 25, 1);
	assert_near(mkt_celsius(&m), 19.6977, 5e-4);
	/* above the arithmetic mean (15): the point of MKT */
	assert_true(mkt_celsius(&m) > 15.0);

	mkt_init(&m, MKT_EA_DEFAULT);
	mkt_add(&m, 4, 180);
	mkt_add(&m, 12, 60);
	assert_near(mkt_celsius(&m), 6.8184, 5e-4);

	mkt_init(&m, MKT_EA_DEFAULT);
	for (int i = 0; i < 1440; i++)
		mkt_add(&m, 4.5, 1);
	assert_near(mkt_celsius(&m), 4.5, 1e-9);
	mkt_add(&m, NAN, 1); /* a missing minute changes nothing */
	assert_near(mkt_celsius(&m), 4.5, 1e-9);
}

static void test_bands(void **st)
{
	struct band_limits l = {.min = 2, .max = 8, .warning_min = 3, .warning_max = 7};
	struct band_limits freezer = {.min = NAN, .max = -15, .warning_min = NAN,
	                              .warning_max = -18};
	struct chan_acc a;

	(void)st;
	assert_int_equal(band_of(&l, 5), BAND_IN);
	assert_int_equal(band_of(&l, 7), BAND_IN); /* at the limit: inside */
	assert_int_equal(band_of(&l, 7.01), BAND_WARNING);
	assert_int_equal(band_of(&l, 8), BAND_WARNING);
	assert_int_equal(band_of(&l, 8.01), BAND_OUT);
	assert_int_equal(band_of(&l, 1.99), BAND_OUT);
	assert_int_equal(band_of(&l, 2.5), BAND_WARNING);
	assert_int_equal(band_of(&freezer, -30), BAND_IN);
	assert_int_equal(band_of(&freezer, -16), BAND_WARNING);
	assert_int_equal(band_of(&freezer, -14), BAND_OUT);

	chan_acc_init(&a);
	assert_true(isnan(chan_acc_mean(&a)));
	chan_acc_add(&a, &l, 0, 5, 60);    /* an hour in range */
	chan_acc_add(&a, &l, 3600, 7.5, 5); /* 5 min warning */
	chan_acc_add(&a, &l, 3900, 9, 1);   /* 1 min out */
	chan_acc_add(&a, &l, 3960, NAN, 1); /* missing: not counted */
	assert_near(a.band_minutes[BAND_IN], 60, 0);
	assert_near(a.band_minutes[BAND_WARNING], 5, 0);
	assert_near(a.band_minutes[BAND_OUT], 1, 0);
	assert_near(a.minutes, 66, 0);
	assert_near(a.min, 5, 0);
	assert_near(a.max, 9, 0);
	assert_near(a.t_max, 3900, 0);
	/* (5*60 + 7.5*5 + 9) / 66 = 346.5 / 66 */
	assert_near(chan_acc_mean(&a), 5.25, 1e-12);
}

struct gaps {
	double s[4], e[4];
	int n;
};

static void on_gap(void *ctx, double s, double e)
{
	struct gaps *g = ctx;

	g->s[g->n] = s;
	g->e[g->n] = e;
	g->n++;
}

static void test_gaps(void **st)
{
	struct gaps found = {0};
	struct gap_acc g;

	(void)st;
	gap_init(&g, 600, on_gap, &found);
	for (int i = 0; i < 60; i++) {
		/* minutes 10..14 missing (5 min: too short), 20..39 missing */
		bool miss = (i >= 10 && i < 15) || (i >= 20 && i < 40) || i >= 55;
		gap_add(&g, i * 60.0, 60, miss);
	}
	gap_end(&g); /* 55..59: 5 min, too short */
	assert_int_equal(found.n, 1);
	assert_near(found.s[0], 1200, 0);
	assert_near(found.e[0], 2400, 0);
}

static void test_excursions(void **st)
{
	struct excursion v[4];
	struct excursion_list l = {.v = v, .cap = 4};
	struct band_limits lim = {.min = 2, .max = 8, .warning_min = NAN, .warning_max = NAN};

	(void)st;
	/* a resolved without a start (the start before the period) is not one */
	assert_int_equal(excursion_feed(&l, EXC_RESOLVED, 50, SEV_CRITICAL, 5, NAN, NAN, NULL,
	                                NULL),
	                 -1);
	/* pending at 100, firing at 1000, peak 9.5 seen in the data, resolved
	 * at 2000, acknowledged after it at 2100 */
	assert_int_equal(excursion_feed(&l, EXC_PENDING, 100, SEV_CRITICAL, 8.4, NAN, NAN, NULL,
	                                NULL),
	                 0);
	excursion_feed(&l, EXC_FIRING, 1000, SEV_CRITICAL, 8.9, NAN, NAN, NULL, NULL);
	excursion_peak(&v[0], &lim, 9.5);
	excursion_peak(&v[0], &lim, 8.6);
	excursion_feed(&l, EXC_RESOLVED, 2000, SEV_CRITICAL, 7.5, NAN, NAN, NULL, NULL);
	excursion_feed(&l, EXC_ACKNOWLEDGED, 2100, 0, NAN, NAN, NAN, "ana", "door left open");
	assert_int_equal(l.n, 1);
	assert_true(v[0].fired);
	assert_false(v[0].cleared);
	assert_near(v[0].start, 100, 0);
	assert_near(v[0].end, 2000, 0);
	assert_near(v[0].peak, 9.5, 0);
	assert_near(v[0].ack_t, 2100, 0);
	assert_string_equal(v[0].ack_by, "ana");
	assert_string_equal(v[0].comment, "door left open");
	/* a short one below the minimum, cleared inside its delay: its own
	 * since and peak */
	excursion_feed(&l, EXC_PENDING, 5000, SEV_CRITICAL, 1.8, NAN, NAN, NULL, NULL);
	excursion_feed(&l, EXC_CLEARED, 5300, SEV_CRITICAL, 2.5, 1.2, 4990, NULL, NULL);
	assert_int_equal(l.n, 2);
	assert_false(v[1].fired);
	assert_true(v[1].cleared);
	assert_near(v[1].start, 4990, 0);
	assert_near(v[1].end, 5300, 0);
	assert_near(v[1].peak, 1.2, 0);
	assert_true(isnan(v[1].ack_t));
	/* still open at the end of the period */
	excursion_feed(&l, EXC_FIRING, 9000, SEV_WARNING, 8.2, NAN, NAN, NULL, NULL);
	assert_true(l.open);
	assert_true(isnan(v[2].end));
	assert_true(v[2].fired);
	assert_near(v[2].start, 9000, 0);
	/* the list is full: refused, nothing overwritten */
	excursion_feed(&l, EXC_RESOLVED, 9500, SEV_WARNING, 7, NAN, NAN, NULL, NULL);
	excursion_feed(&l, EXC_PENDING, 9600, SEV_WARNING, 8.2, NAN, NAN, NULL, NULL);
	assert_int_equal(excursion_feed(&l, EXC_RESOLVED, 9700, 0, NAN, NAN, NAN, NULL, NULL), 3);
	assert_int_equal(excursion_feed(&l, EXC_PENDING, 9800, 0, 9, NAN, NAN, NULL, NULL), -1);
	assert_int_equal(l.n, 4);
}

static void test_qc(void **st)
{
	struct welford w = {0};
	struct qc_figures f;
	const double x[] = {100, 102, 98, 104};

	(void)st;
	for (size_t i = 0; i < 4; i++)
		welford_add(&w, x[i]);
	qc_figures(&w, 100, 10, &f);
	assert_near(f.n, 4, 0);
	assert_near(f.mean, 101, 1e-12);
	assert_near(f.sd, 2.5819889, 1e-6);
	assert_near(f.cv, 2.5564247, 1e-6);
	assert_near(f.bias, 1.0, 1e-12);
	assert_near(f.sigma, 3.5205419, 1e-6);
	/* no target, no TEa: no bias, no Sigma */
	qc_figures(&w, NAN, NAN, &f);
	assert_true(isnan(f.bias));
	assert_true(isnan(f.sigma));
	/* one result: no SD */
	struct welford one = {0};
	welford_add(&one, 5);
	qc_figures(&one, 5, 10, &f);
	assert_true(isnan(f.sd));
	assert_true(isnan(f.sigma));
	assert_near(f.bias, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mkt),   cmocka_unit_test(test_bands),
	    cmocka_unit_test(test_gaps),  cmocka_unit_test(test_excursions),
	    cmocka_unit_test(test_qc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
