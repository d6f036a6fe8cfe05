/*
 * pbrtqc_design.c: the power of a PBRTQC candidate on a lab's own
 * recorded patient results (issue 22; IFCC: false alarm rate and the
 * median number of patient results to detection, MNPed, of an
 * introduced bias). Pure: the results come in an array, the answer goes
 * out in a struct; the rule is pbrtqc_eval itself, so the design judges
 * exactly what the daemon would run. No randomness: the bias is
 * introduced at start points spread evenly over the record.
 */
#include "rules/pbrtqc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(__printf__, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of m counts, missed ones INFINITY: NAN when the median is a miss. */
static double median(double *c, size_t m)
{
	double med;

	if (m == 0)
		return NAN;
	qsort(c, m, sizeof(double), cmp_double);
	med = m % 2 ? c[m / 2] : (c[m / 2 - 1] + c[m / 2]) / 2;
	return isfinite(med) ? med : NAN;
}

/* One trial: warm on values[start - warm .. start), then the bias from
 * start on. Returns the results to detection (1-based), 0 when the
 * statistic was beyond a limit already, or INFINITY when missed. */
static double trial(const double *values, size_t n, const struct pbrtqc_params *q, size_t start,
		    size_t warm, double bias)
{
	struct pbrtqc s;
	struct pbrtqc_verdict v;

	pbrtqc_init(&s);
	for (size_t i = start - warm; i < start; i++)
		pbrtqc_eval(&s, q, values[i], &v);
	if (s.side != 0)
		return 0;
	for (size_t j = 0; j < PBRTQC_DESIGN_MAX_RUN; j++) {
		pbrtqc_eval(&s, q, values[(start + j) % n] + bias, &v);
		if (v.side != 0)
			return (double)(j + 1);
	}
	return INFINITY;
}

int pbrtqc_design_run(const double *values, size_t n, const struct pbrtqc_params *p,
		      const double *biases, size_t n_bias, struct pbrtqc_design *out, char *err,
		      size_t errlen)
{
	struct pbrtqc s;
	struct pbrtqc_verdict v;
	struct pbrtqc_params q;
	size_t train_end = 0, warm, first;
	double counts[PBRTQC_DESIGN_TRIALS];

	memset(out, 0, sizeof(*out));
	if (pbrtqc_params_check(p, err, errlen) == -1)
		return -1;
	if (n_bias > sizeof(out->bias) / sizeof(out->bias[0]))
		return fail(err, errlen, "at most %zu biases", sizeof(out->bias) / sizeof(out->bias[0]));
	/* Pass 1: the limits (the rule's own, or learnt as the rule learns
	 * them), and the false alarms on the statistics after training. */
	pbrtqc_init(&s);
	for (size_t i = 0; i < n; i++) {
		if (pbrtqc_eval(&s, p, values[i], &v) == -1)
			return fail(err, errlen, "result %zu is not a finite number", i + 1);
		if (v.limits_learnt_now)
			train_end = i + 1;
		if (!v.has_stat || v.training || !v.has_limits || v.limits_learnt_now)
			continue;
		out->judged++;
		if (v.side != 0)
			out->false_alarms++;
	}
	if (!pbrtqc_limits(&s, p, &out->lo, &out->hi))
		return fail(err, errlen,
			    "too few results to learn limits (%zu results; the block, then "
			    "train statistics are needed)",
			    n);
	out->has_limits = true;
	if (out->judged == 0)
		return fail(err, errlen, "no statistic left after training among %zu results", n);
	out->far = (double)out->false_alarms / (double)out->judged;

	/* Pass 2: each bias, at start points after training and warm-up,
	 * judged by the limits just found. */
	q = *p;
	q.has_limits = true;
	q.lo = out->lo;
	q.hi = out->hi;
	warm = (size_t)p->block * (p->method == PBRTQC_EWMA ? 5 : 2);
	first = train_end > warm ? train_end : warm;
	if (first >= n)
		return fail(err, errlen, "no results left after training and warm-up among %zu", n);
	size_t trials = n - first < PBRTQC_DESIGN_TRIALS ? n - first : PBRTQC_DESIGN_TRIALS;
	size_t step = (n - first) / trials;
	out->n_bias = n_bias;
	for (size_t b = 0; b < n_bias; b++) {
		struct pbrtqc_design_bias *r = &out->bias[b];
		size_t m = 0;

		r->bias = biases[b];
		for (size_t k = 0; k < trials; k++) {
			double c = trial(values, n, &q, first + k * step, warm, biases[b]);
			if (c == 0)
				continue; /* beyond a limit before the bias: no trial */
			counts[m++] = c;
			if (isfinite(c))
				r->detected++;
		}
		r->trials = m;
		r->mnped = median(counts, m);
	}
	return 0;
}
