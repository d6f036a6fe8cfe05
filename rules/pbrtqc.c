/*
 * pbrtqc.c: the moving statistic of patient results and its limits
 * (pbrtqc.h says what and why). The block is a fixed ring in the state,
 * so evaluation never allocates; the moving average is summed afresh
 * from the ring each time (at most PBRTQC_BLOCK_MAX additions) rather
 * than kept as a running sum, whose rounding would drift over a year of
 * results; the median sorts a copy of the ring.
 */
#include "rules/pbrtqc.h"
#include "rules/rules.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[] = {"ma", "mm", "ewma"};

const char *pbrtqc_method_name(enum pbrtqc_method m)
{
	return (unsigned)m < 3 ? method_names[m] : "?";
}

int pbrtqc_method_parse(const char *s)
{
	for (int i = 0; s && i < 3; i++)
		if (strcmp(s, method_names[i]) == 0)
			return i;
	return -1;
}

void pbrtqc_params_init(struct pbrtqc_params *p)
{
	memset(p, 0, sizeof(*p));
	p->method = PBRTQC_MA;
	p->block = 20;
	p->train_n = 500;
	p->far = 0.01;
}

static int fail(char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return -1;
}

int pbrtqc_params_check(const struct pbrtqc_params *p, char *err, size_t errlen)
{
	if ((unsigned)p->method > PBRTQC_EWMA)
		return fail(err, errlen, "unknown method");
	if (p->block < 1 || p->block > PBRTQC_BLOCK_MAX)
		return fail(err, errlen, "block must be 1 to 1000 results");
	if (p->method == PBRTQC_EWMA && !(p->lambda >= 0 && p->lambda <= 1))
		return fail(err, errlen, "lambda must be in (0, 1]");
	if (p->has_truncate && !(p->trunc_lo < p->trunc_hi))
		return fail(err, errlen, "truncate: the low limit must be below the high one");
	if (p->has_limits && !(p->lo < p->hi))
		return fail(err, errlen, "limits: the low limit must be below the high one");
	if (!p->has_limits && (p->train_n < 2 || p->train_n > PBRTQC_TRAIN_MAX))
		return fail(err, errlen, "train must be 2 to 1000000 statistics");
	if (!p->has_limits && !(p->far > 0 && p->far < 1))
		return fail(err, errlen, "false_alarm_rate must be in (0, 1)");
	return 0;
}

/* P(Z > z) = 0.5 erfc(z / sqrt 2) is decreasing in z: bisection over
 * [0, 40] to well below a double's resolution of the tail. */
double pbrtqc_normal_quantile(double tail)
{
	double lo = 0, hi = 40;

	if (!(tail > 0 && tail <= 0.5))
		return NAN;
	for (int i = 0; i < 200; i++) {
		double mid = (lo + hi) / 2;
		if (0.5 * erfc(mid / sqrt(2.0)) > tail)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

void pbrtqc_init(struct pbrtqc *s)
{
	memset(s, 0, sizeof(*s));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Mean or median of the ring's n values (n >= 1). */
static double block_stat(const struct pbrtqc *s, enum pbrtqc_method m)
{
	double sum = 0, sorted[PBRTQC_BLOCK_MAX];

	if (m == PBRTQC_MA) {
		for (size_t i = 0; i < s->n; i++)
			sum += s->buf[i];
		return sum / (double)s->n;
	}
	memcpy(sorted, s->buf, s->n * sizeof(double));
	qsort(sorted, s->n, sizeof(double), cmp_double);
	if (s->n % 2)
		return sorted[s->n / 2];
	return (sorted[s->n / 2 - 1] + sorted[s->n / 2]) / 2;
}

bool pbrtqc_limits(const struct pbrtqc *s, const struct pbrtqc_params *p, double *lo, double *hi)
{
	if (p->has_limits) {
		*lo = p->lo, *hi = p->hi;
		return true;
	}
	if (s->learnt) {
		*lo = s->lo, *hi = s->hi;
		return true;
	}
	return false;
}

int pbrtqc_eval(struct pbrtqc *s, const struct pbrtqc_params *p, double value,
		struct pbrtqc_verdict *out)
{
	size_t block;

	memset(out, 0, sizeof(*out));
	if (!isfinite(value) || pbrtqc_params_check(p, NULL, 0) == -1) {
		errno = EINVAL;
		return -1;
	}
	block = (size_t)p->block;
	out->side = s->side;
	out->has_limits = pbrtqc_limits(s, p, &out->lo, &out->hi);
	if (p->has_truncate && (value < p->trunc_lo || value > p->trunc_hi)) {
		s->truncated++;
		return 0;
	}
	out->kept = true;
	s->kept++;
	if (p->method == PBRTQC_EWMA) {
		double lambda = p->lambda > 0 ? p->lambda : 2.0 / ((double)block + 1.0);
		if (!s->ewma_started && !p->has_target) {
			s->ewma = value; /* the first result kept is the start itself */
		} else {
			double from = s->ewma_started ? s->ewma : p->target;
			s->ewma = lambda * value + (1 - lambda) * from;
		}
		s->ewma_started = true;
		out->has_stat = s->kept >= block;
		out->stat = s->ewma;
	} else {
		/* Oldest first; a full block (or a smaller block after a
		 * reload) lets the oldest go. */
		if (s->n >= block) {
			size_t drop = s->n - block + 1;
			memmove(s->buf, s->buf + drop, (s->n - drop) * sizeof(double));
			s->n -= drop;
		}
		s->buf[s->n++] = value;
		out->has_stat = s->n == block;
		if (out->has_stat)
			out->stat = block_stat(s, p->method);
	}
	if (!out->has_stat)
		return 0;
	if (!p->has_limits && !s->learnt) {
		double d = out->stat - s->tr_mean;
		s->tr_n += 1;
		s->tr_mean += d / s->tr_n;
		s->tr_m2 += d * (out->stat - s->tr_mean);
		out->training = true;
		if (s->tr_n < (double)p->train_n)
			return 0;
		double sd = sqrt(s->tr_m2 / (s->tr_n - 1));
		double z = pbrtqc_normal_quantile(p->far / 2);
		s->lo = s->tr_mean - z * sd;
		s->hi = s->tr_mean + z * sd;
		s->learnt = true;
		out->limits_learnt_now = true;
		out->train_mean = s->tr_mean;
		out->train_sd = sd;
		out->training = false;
		out->has_limits = pbrtqc_limits(s, p, &out->lo, &out->hi);
	}
	if (!out->has_limits)
		return 0;
	int side = out->stat > out->hi ? 1 : out->stat < out->lo ? -1 : 0;
	out->crossed_now = side != 0 && s->side == 0;
	out->back_now = side == 0 && s->side != 0;
	/* straight from above hi to below lo: still beyond, a new crossing */
	if (side != 0 && s->side != 0 && side != s->side)
		out->crossed_now = true;
	s->side = side;
	out->side = side;
	return 0;
}

/* ---- persistence ---- */

cJSON *pbrtqc_to_json(const struct pbrtqc *s)
{
	cJSON *o = cJSON_CreateObject(), *buf;

	if (o == NULL)
		return NULL;
	buf = cJSON_AddArrayToObject(o, "block");
	cJSON_AddNumberToObject(o, "version", 1);
	for (size_t i = 0; buf && i < s->n; i++)
		cJSON_AddItemToArray(buf, rules_json_exact(s->buf[i]));
	if (s->ewma_started)
		cJSON_AddItemToObject(o, "ewma", rules_json_exact(s->ewma));
	cJSON_AddNumberToObject(o, "kept", (double)s->kept);
	cJSON_AddNumberToObject(o, "truncated", (double)s->truncated);
	cJSON_AddNumberToObject(o, "train_n", s->tr_n);
	cJSON_AddItemToObject(o, "train_mean", rules_json_exact(s->tr_mean));
	cJSON_AddItemToObject(o, "train_m2", rules_json_exact(s->tr_m2));
	if (s->learnt) {
		cJSON_AddItemToObject(o, "lo", rules_json_exact(s->lo));
		cJSON_AddItemToObject(o, "hi", rules_json_exact(s->hi));
	}
	cJSON_AddNumberToObject(o, "side", s->side);
	return o;
}

static bool num(const cJSON *j, const char *k, double *out)
{
	return rules_json_value(cJSON_GetObjectItemCaseSensitive(j, k), out);
}

int pbrtqc_from_json(struct pbrtqc *s, const cJSON *j, char *err, size_t errlen)
{
	struct pbrtqc t;
	const cJSON *buf = cJSON_GetObjectItemCaseSensitive(j, "block"), *x;
	double kept = 0, trunc = 0, side = 0;

	pbrtqc_init(&t);
	if (!cJSON_IsObject(j) || !cJSON_IsArray(buf) || !num(j, "kept", &kept) || !num(j, "truncated", &trunc) || !num(j, "train_n", &t.tr_n) ||
	    !num(j, "train_mean", &t.tr_mean) || !num(j, "train_m2", &t.tr_m2) ||
	    !num(j, "side", &side))
		return fail(err, errlen, "PBRTQC state: missing or bad fields");
	cJSON_ArrayForEach(x, buf)
	{
		if (t.n == PBRTQC_BLOCK_MAX || !rules_json_value(x, &t.buf[t.n]))
			return fail(err, errlen, "PBRTQC state: bad block");
		t.n++;
	}
	if (!(side >= -1 && side <= 1) || kept < 0 || trunc < 0)
		return fail(err, errlen, "PBRTQC state: out of range");
	t.kept = (uint64_t)kept;
	t.truncated = (uint64_t)trunc;
	t.side = (int)side;
	t.ewma_started = num(j, "ewma", &t.ewma);
	t.learnt = num(j, "lo", &t.lo) && num(j, "hi", &t.hi);
	*s = t;
	return 0;
}
