/*
 * pbrtqc.h: patient-based real-time QC (issue 22): a moving statistic of
 * one analyte's patient results, judged against limits. Pure: no I/O, no
 * clock, no globals, no logging (DESIGN section 4).
 *
 * IFCC recommendations (Badrick et al., Clin Chem 2019;65:962): results
 * outside the truncation limits are left out (not clipped); the
 * statistic is the moving average (ma) or moving median (mm) of the last
 * `block` results kept, or their exponentially weighted moving average
 * (ewma, lambda = 2 / (block + 1) unless given: the EWMA whose results
 * have the same mean age as a block of that size). It is judged once the
 * block is full (ewma: once `block` results were kept) against fixed
 * limits, or against limits learnt from the first `train_n` statistics
 * for a chosen false alarm rate: mean +- z(1 - far/2) SD of those
 * statistics (the statistic of a block of results is close to normal;
 * say so wherever learnt limits are shown).
 *
 * "Beyond a limit" is strict, as in the Westgard rules: stat > hi or
 * stat < lo.
 *
 * Use:
 *	struct pbrtqc s;  pbrtqc_init(&s);
 *	struct pbrtqc_verdict v;
 *	if (pbrtqc_eval(&s, &params, value, &v) == 0) ...
 *	  v.has_stat: store v.stat; v.crossed_now: fire <analyte>/pbrtqc;
 *	  v.back_now: resolve it; v.limits_learnt_now: record the limits.
 */
#ifndef LABQCD_PBRTQC_H
#define LABQCD_PBRTQC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#define PBRTQC_BLOCK_MAX 1000
#define PBRTQC_TRAIN_MAX 1000000

enum pbrtqc_method { PBRTQC_MA = 0, PBRTQC_MM, PBRTQC_EWMA };

/* "ma", "mm", "ewma"; and back (-1 when unknown). */
const char *pbrtqc_method_name(enum pbrtqc_method m);
int pbrtqc_method_parse(const char *s);

struct pbrtqc_params {
	enum pbrtqc_method method;
	int block;       /* 1..PBRTQC_BLOCK_MAX */
	double lambda;   /* ewma weight in (0, 1]; 0: 2 / (block + 1) */
	bool has_truncate;
	double trunc_lo, trunc_hi; /* results outside [lo, hi] are left out */
	bool has_target;
	double target;   /* ewma's starting value (else the first result kept) */
	bool has_limits;
	double lo, hi;   /* fixed limits of the statistic */
	int train_n;     /* without limits: statistics learnt from (default 500) */
	double far;      /* without limits: false alarm rate per statistic (0.01) */
};

/* Defaults: ma, block 20, no truncation, learnt from 500 at 1 %. */
void pbrtqc_params_init(struct pbrtqc_params *p);
/* 0 if usable, else -1 and why in err. */
int pbrtqc_params_check(const struct pbrtqc_params *p, char *err, size_t errlen);

/* z with P(Z > z) = tail for a standard normal Z (tail in (0, 0.5]). */
double pbrtqc_normal_quantile(double tail);

struct pbrtqc {
	double buf[PBRTQC_BLOCK_MAX]; /* the last results kept, oldest first */
	size_t n;
	double ewma;
	bool ewma_started;
	uint64_t kept, truncated; /* results kept and left out */
	double tr_n, tr_mean, tr_m2; /* training: Welford sums of the statistic */
	bool learnt;
	double lo, hi;  /* the learnt limits */
	int side;       /* -1 below lo, 0 inside, +1 above hi, as last judged */
};

void pbrtqc_init(struct pbrtqc *s);

struct pbrtqc_verdict {
	bool kept;       /* false: outside the truncation limits, left out */
	bool has_stat;   /* the statistic exists (block full / ewma warm) */
	double stat;
	bool training;   /* limits are being learnt: not judged yet */
	bool has_limits;
	double lo, hi;
	bool limits_learnt_now; /* lo/hi just learnt (mean, sd of the training) */
	double train_mean, train_sd;
	int side;        /* -1 below lo, 0 inside, +1 above hi */
	bool crossed_now; /* the statistic went beyond a limit (from inside) */
	bool back_now;    /* it came back inside */
};

/* One patient result. 0 and *out filled, or -1 with errno EINVAL (value
 * not finite, bad params) and the state unchanged. */
int pbrtqc_eval(struct pbrtqc *s, const struct pbrtqc_params *p, double value,
		struct pbrtqc_verdict *out);

/* The limits in force: fixed, or learnt; false while none. */
bool pbrtqc_limits(const struct pbrtqc *s, const struct pbrtqc_params *p, double *lo, double *hi);

/* The state as a new cJSON object (caller frees), NULL when out of
 * memory; and back: 0, or -1 with why in err and *s unchanged. */
cJSON *pbrtqc_to_json(const struct pbrtqc *s);
int pbrtqc_from_json(struct pbrtqc *s, const cJSON *j, char *err, size_t errlen);

/* ---- design (pbrtqc_design.c): the power of a candidate on recorded data ---- */

#define PBRTQC_DESIGN_TRIALS 200  /* bias introduced at up to this many points */
#define PBRTQC_DESIGN_MAX_RUN 2000 /* results after which a bias counts as missed */

struct pbrtqc_design_bias {
	double bias;       /* added to every result from the trial's start */
	size_t trials;     /* trials run */
	size_t detected;   /* trials in which the statistic crossed a limit */
	double mnped;      /* median number of patient results to detection; NAN: > half missed */
};

struct pbrtqc_design {
	bool has_limits;
	double lo, hi;          /* the limits judged by (fixed, or learnt on the data) */
	size_t judged;          /* statistics judged after training */
	size_t false_alarms;    /* of them beyond a limit */
	double far;             /* false_alarms / judged */
	size_t n_bias;
	struct pbrtqc_design_bias bias[8];
};

/*
 * Run the candidate p over `n` recorded results in order: limits are p's
 * own or learnt by the rule from the first statistics (p->train_n); the
 * false alarm rate is the share of the statistics after that beyond the
 * limits. For each bias (at most 8), at up to PBRTQC_DESIGN_TRIALS start
 * points spread evenly over the results after training, the rule is
 * warmed on the unbiased results before the start (2 blocks; 5 for
 * ewma), then the bias is added to the results from the start (taken
 * cyclically) until the statistic crosses a limit, at most
 * PBRTQC_DESIGN_MAX_RUN results; a start where the statistic was beyond
 * a limit already is skipped. 0, or -1 with why in err (too few results,
 * no limits learnt, bad params).
 */
int pbrtqc_design_run(const double *values, size_t n, const struct pbrtqc_params *p,
		      const double *biases, size_t n_bias, struct pbrtqc_design *out, char *err,
		      size_t errlen);

#endif
