/*
 * report_stats.h: the figures of a periodic report (issue 19), pure.
 *
 * Nothing here reads a file or a clock: the report's reader streams the
 * RRD data and the audit records through these accumulators and prints
 * what they hold. Each accumulator is a plain struct the caller owns,
 * zeroed by its _init.
 *
 *   mean kinetic temperature  USP <1079.2> / ICH Q1A:
 *                             Tk = (Ea/R) / -ln( sum w_i exp(-Ea/(R T_i)) / sum w_i ),
 *                             R = 8.3144 J/(mol K), so the default Ea
 *                             83.144 kJ/mol gives Ea/R = 10,000 K
 *   time in range             each value counts its minutes in range, in
 *                             the warning band (between a hard limit and
 *                             its warning limit) or out of range (strictly
 *                             beyond a hard limit, as the range rule)
 *   excursions                built from a range alert's transitions
 *                             (pending, firing, resolved, cleared,
 *                             acknowledged), the peak from the data
 *   gaps                      runs of missing values of at least a length
 *   QC statistics             Welford's mean and SD; CV %, bias % to the
 *                             target mean, Sigma = (TEa - |bias|) / CV
 */
#ifndef LABQCD_REPORT_STATS_H
#define LABQCD_REPORT_STATS_H

#include <stdbool.h>
#include <stddef.h>

#define MKT_R 8.3144           /* J/(mol K), as USP <1079.2> */
#define MKT_EA_DEFAULT 83.144  /* kJ/mol */

struct mkt_acc {
	double ea_over_r; /* kelvin */
	double sum_w, sum_exp;
};
void mkt_init(struct mkt_acc *m, double ea_kj_mol);
/* One average temperature (Celsius) weighted by the minutes it covers. */
void mkt_add(struct mkt_acc *m, double temp_c, double weight);
double mkt_celsius(const struct mkt_acc *m); /* NAN when nothing was added */

/* Limits; NAN where a limit is not set. */
struct band_limits {
	double min, max, warning_min, warning_max;
};
enum band { BAND_IN = 0, BAND_WARNING, BAND_OUT };
enum band band_of(const struct band_limits *l, double v);

/* Min, mean, max and minutes by band of one channel (or one day of it). */
struct chan_acc {
	double min, max, sum, minutes; /* sum: value x minutes */
	double t_min, t_max;           /* when the min and max were seen */
	double band_minutes[3];        /* by enum band */
};
void chan_acc_init(struct chan_acc *a);
void chan_acc_add(struct chan_acc *a, const struct band_limits *l, double t, double v,
                  double minutes);
double chan_acc_mean(const struct chan_acc *a); /* NAN when empty */

/* Gaps: runs of missing values at least min_s long. Feed each row (time
 * its interval starts, length, missing or not) in time order; a gap is
 * reported to the callback when it ends (or at gap_end). */
struct gap_acc {
	double min_s;
	double start; /* NAN: not in a gap */
	double end;
	void (*found)(void *ctx, double start, double end);
	void *ctx;
};
void gap_init(struct gap_acc *g, double min_s, void (*found)(void *, double, double), void *ctx);
void gap_add(struct gap_acc *g, double t, double step_s, bool missing);
void gap_end(struct gap_acc *g);

/* One excursion of a range alert key. Strings are fixed-size copies. */
#define EXC_TEXT_MAX 256
struct excursion {
	double start, end; /* end NAN: still open at the period's end */
	bool fired;        /* reached firing (else cleared inside its delay) */
	bool cleared;
	int severity;   /* highest enum severity seen */
	double peak;    /* the furthest value from the limits (NAN: none seen) */
	double ack_t;   /* NAN: not acknowledged */
	char ack_by[128];
	char comment[EXC_TEXT_MAX];
};

/* Excursions of one key, in order. The array grows by the caller's
 * allocator: excursion_feed returns the index it touched, or -1 when the
 * transition belongs to none (a resolved without a start) or the list is
 * full (cap). */
struct excursion_list {
	struct excursion *v;
	size_t n, cap;
	bool open; /* v[n-1] has not ended */
};
enum exc_state { EXC_PENDING, EXC_FIRING, EXC_RESOLVED, EXC_CLEARED, EXC_ACKNOWLEDGED };
/* `value`, `peak`, `since`: NAN when the record has none; `by`,
 * `comment` NULL when none. severity: enum severity of the record. */
int excursion_feed(struct excursion_list *l, enum exc_state st, double t, int severity,
                   double value, double peak, double since, const char *by,
                   const char *comment);
/* Widen the excursion's peak with a value seen inside it: the value
 * furthest beyond the limits, or from the middle of them. */
void excursion_peak(struct excursion *e, const struct band_limits *lim, double v);

/* QC statistics of one level and lot. */
struct welford {
	double n, mean, m2;
};
void welford_add(struct welford *w, double x);
double welford_sd(const struct welford *w); /* sample SD; NAN below 2 */

struct qc_figures {
	double n, mean, sd, cv;  /* cv in % */
	double bias;             /* % of the target mean; NAN without target */
	double sigma;            /* (tea - |bias|) / cv; NAN without tea or target */
};
void qc_figures(const struct welford *w, double target_mean, double tea_pct,
                struct qc_figures *out);

#endif
