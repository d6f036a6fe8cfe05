/*
 * report_stats.c: the figures of a periodic report; see report_stats.h.
 * Pure: values and times in, figures out.
 */
#include "rules/report_stats.h"

#include <math.h>
#include <string.h>

void mkt_init(struct mkt_acc *m, double ea_kj_mol)
{
	m->ea_over_r = ea_kj_mol * 1000.0 / MKT_R;
	m->sum_w = 0;
	m->sum_exp = 0;
}

void mkt_add(struct mkt_acc *m, double temp_c, double weight)
{
	double tk = temp_c + 273.15;

	if (!isfinite(temp_c) || !(weight > 0) || !(tk > 0))
		return;
	m->sum_w += weight;
	m->sum_exp += weight * exp(-m->ea_over_r / tk);
}

double mkt_celsius(const struct mkt_acc *m)
{
	if (!(m->sum_w > 0) || !(m->sum_exp > 0))
		return NAN;
	return m->ea_over_r / -log(m->sum_exp / m->sum_w) - 273.15;
}

/* Strictly beyond a limit counts, as the range rule enters an excursion
 * (README "Equipment rules"); a value at the limit is inside. */
enum band band_of(const struct band_limits *l, double v)
{
	if ((!isnan(l->max) && v > l->max) || (!isnan(l->min) && v < l->min))
		return BAND_OUT;
	if ((!isnan(l->warning_max) && v > l->warning_max) ||
	    (!isnan(l->warning_min) && v < l->warning_min))
		return BAND_WARNING;
	return BAND_IN;
}

void chan_acc_init(struct chan_acc *a)
{
	memset(a, 0, sizeof(*a));
	a->min = a->max = a->t_min = a->t_max = NAN;
}

void chan_acc_add(struct chan_acc *a, const struct band_limits *l, double t, double v,
                  double minutes)
{
	if (!isfinite(v) || !(minutes > 0))
		return;
	if (isnan(a->min) || v < a->min) {
		a->min = v;
		a->t_min = t;
	}
	if (isnan(a->max) || v > a->max) {
		a->max = v;
		a->t_max = t;
	}
	a->sum += v * minutes;
	a->minutes += minutes;
	a->band_minutes[band_of(l, v)] += minutes;
}

double chan_acc_mean(const struct chan_acc *a)
{
	return a->minutes > 0 ? a->sum / a->minutes : NAN;
}

void gap_init(struct gap_acc *g, double min_s, void (*found)(void *, double, double), void *ctx)
{
	g->min_s = min_s;
	g->start = NAN;
	g->end = NAN;
	g->found = found;
	g->ctx = ctx;
}

void gap_add(struct gap_acc *g, double t, double step_s, bool missing)
{
	if (missing) {
		if (isnan(g->start))
			g->start = t;
		g->end = t + step_s;
		return;
	}
	gap_end(g);
}

void gap_end(struct gap_acc *g)
{
	if (!isnan(g->start) && g->end - g->start >= g->min_s && g->found)
		g->found(g->ctx, g->start, g->end);
	g->start = NAN;
}

/* How far v lies beyond the limits (negative: inside). */
static double beyond(const struct band_limits *lim, double v)
{
	double hi = !isnan(lim->max) ? lim->max : lim->warning_max;
	double lo = !isnan(lim->min) ? lim->min : lim->warning_min;
	double d = -INFINITY;

	if (!isnan(hi))
		d = v - hi;
	if (!isnan(lo) && lo - v > d)
		d = lo - v;
	return d;
}

void excursion_peak(struct excursion *e, const struct band_limits *lim, double v)
{
	if (!isfinite(v))
		return;
	if (isnan(e->peak) || beyond(lim, v) > beyond(lim, e->peak))
		e->peak = v;
}

static int excursion_new(struct excursion_list *l, double start)
{
	struct excursion *e;

	if (l->n == l->cap)
		return -1;
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->start = start;
	e->end = NAN;
	e->peak = NAN;
	e->ack_t = NAN;
	l->open = true;
	return (int)(l->n - 1);
}

static void copy_text(char *dst, size_t size, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= size)
		n = size - 1;
	memcpy(dst, s ? s : "", n);
	dst[n] = '\0';
}

int excursion_feed(struct excursion_list *l, enum exc_state st, double t, int severity,
                   double value, double peak, double since, const char *by,
                   const char *comment)
{
	int i = l->open ? (int)l->n - 1 : -1;
	struct excursion *e;

	switch (st) {
	case EXC_PENDING:
	case EXC_FIRING:
		if (i < 0 && (i = excursion_new(l, isfinite(since) ? since : t)) < 0)
			return -1;
		e = &l->v[i];
		if (st == EXC_FIRING)
			e->fired = true;
		if (severity > e->severity)
			e->severity = severity;
		if (isfinite(value) && isnan(e->peak))
			e->peak = value; /* widened by the data (excursion_peak) */
		return i;
	case EXC_CLEARED:
		/* A cleared record carries its own start and peak: enough even
		 * when its pending fell before the period. */
		if (i < 0 && (i = excursion_new(l, isfinite(since) ? since : t)) < 0)
			return -1;
		e = &l->v[i];
		e->cleared = true;
		if (isfinite(since))
			e->start = since;
		if (isfinite(peak))
			e->peak = peak;
		if (severity > e->severity)
			e->severity = severity;
		e->end = t;
		l->open = false;
		return i;
	case EXC_RESOLVED:
		if (i < 0)
			return -1;
		l->v[i].end = t;
		l->open = false;
		return i;
	case EXC_ACKNOWLEDGED:
		/* The acknowledgement is of the excursion going on, or of the
		 * last one (acknowledged after it resolved). */
		if (i < 0)
			i = l->n > 0 ? (int)l->n - 1 : -1;
		if (i < 0)
			return -1;
		e = &l->v[i];
		e->ack_t = t;
		copy_text(e->ack_by, sizeof(e->ack_by), by);
		copy_text(e->comment, sizeof(e->comment), comment);
		return i;
	}
	return -1;
}

void welford_add(struct welford *w, double x)
{
	double d;

	if (!isfinite(x))
		return;
	w->n += 1;
	d = x - w->mean;
	w->mean += d / w->n;
	w->m2 += d * (x - w->mean);
}

double welford_sd(const struct welford *w)
{
	return w->n >= 2 ? sqrt(w->m2 / (w->n - 1)) : NAN;
}

void qc_figures(const struct welford *w, double target_mean, double tea_pct,
                struct qc_figures *out)
{
	out->n = w->n;
	out->mean = w->n > 0 ? w->mean : NAN;
	out->sd = welford_sd(w);
	out->cv = isfinite(out->sd) && out->mean != 0 ? 100.0 * out->sd / fabs(out->mean) : NAN;
	out->bias = isfinite(target_mean) && target_mean != 0 && w->n > 0
	                ? 100.0 * (out->mean - target_mean) / target_mean
	                : NAN;
	out->sigma = isfinite(tea_pct) && isfinite(out->bias) && isfinite(out->cv) && out->cv > 0
	                 ? (tea_pct - fabs(out->bias)) / out->cv
	                 : NAN;
}
