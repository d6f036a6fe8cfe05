/*
 * report_rrd.c: one channel's data over a report's period, from its RRD
 * file through librrd's rrd_fetch_r (thread-safe; reports are made by
 * their own process, so the graphs' fetch lock of graph_data.c is not
 * needed).
 *
 * A day at a time: each call asks for the day at a 60 s step and librrd
 * answers from the finest archive that covers the whole day (1 min for
 * the last 2 days of the file, 5 min for 2 weeks, 1 h for 13 months, as
 * the store creates them), so memory holds one day of one channel and
 * every day gets the best data the file still has; the resolutions used
 * are printed with the figures. AVERAGE gives the mean, the mean kinetic
 * temperature and the minutes by band (each row counts the minutes it
 * covers); MIN and MAX give the lowest and highest values (a 1-hour
 * average hides a 10-minute peak, its MAX does not).
 *
 * A row of librrd covers (t, t + step]; it is counted from t.
 */
#include "dashboards/report_int.h"
#include "daemon/rrdaddr.h"

#include <math.h>
#include <rrd.h>
#include <rrd_client.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fetched {
	time_t start, end;
	unsigned long step, rows;
	rrd_value_t *data;
};

/* Through rrdcached over TCP (daemon/rrdaddr.h) a file is named below
 * rrd_dir and read with rrdc_fetch; librrd 1.7.2 sends it no step, so
 * the daemon reads the finest archive that covers the span (as the
 * graphs' fetches do). `daemon` is NULL otherwise. */
static const char *remote_daemon(const struct report_req *req)
{
	const char *a = req->cfg->daemon.rrdcached;

	return rrdaddr_mode(a) == RRDADDR_REMOTE ? a : NULL;
}

static int fetch(const char *daemon, const char *path, const char *cf, double from, double to,
                 unsigned long step, struct fetched *f, char *err, size_t errlen)
{
	unsigned long ds_cnt = 0;
	char **names = NULL;
	int rc;

	memset(f, 0, sizeof(*f));
	f->start = (time_t)from;
	f->end = (time_t)to;
	f->step = step;
	rrd_clear_error();
	if (daemon == NULL)
		rc = rrd_fetch_r(path, cf, &f->start, &f->end, &f->step, &ds_cnt, &names, &f->data);
	else if (rrdc_connect(daemon) != 0 || !rrdc_is_connected(daemon))
		rc = -1;
	else
		rc = rrdc_fetch(path, cf, &f->start, &f->end, &f->step, &ds_cnt, &names, &f->data);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, rrd_test_error() ? rrd_get_error() : "failed");
		rrd_clear_error();
		return -1;
	}
	for (unsigned long i = 0; i < ds_cnt; i++)
		rrd_freemem(names[i]);
	rrd_freemem(names);
	if (ds_cnt != 1 || f->step == 0) {
		rrd_freemem(f->data);
		f->data = NULL;
		snprintf(err, errlen, "%s: expected one data source", path);
		return -1;
	}
	f->rows = (unsigned long)(f->end - f->start) / f->step;
	return 0;
}

/* The channel's file as librrd is to be given it: its path, or over TCP
 * its name below rrd_dir. */
static void rrd_path(const struct report_req *req, const struct cfg_instrument *ins,
                     const char *channel, char *buf, size_t len)
{
	if (remote_daemon(req) != NULL)
		snprintf(buf, len, "%s/%s/%s.rrd", ins->site, ins->name, channel);
	else
		snprintf(buf, len, "%s/%s/%s/%s.rrd", req->cfg->daemon.rrd_dir, ins->site,
		         ins->name, channel);
}

/* The file is there: stat() here, or rrdcached's LAST over TCP. */
static bool rrd_exists(const struct report_req *req, const char *path)
{
	const char *daemon = remote_daemon(req);
	bool ok;

	if (daemon == NULL)
		return access(path, R_OK) == 0;
	rrd_clear_error();
	ok = rrdc_connect(daemon) == 0 && rrdc_is_connected(daemon) && rrdc_last(path) > 0;
	rrd_clear_error();
	return ok;
}

static bool is_temperature(const struct cfg_channel *c)
{
	if (c->unit[0])
		return strcmp(c->unit, "C") == 0 || strcmp(c->unit, "Cel") == 0 ||
		       strcmp(c->unit, "degC") == 0 || strcmp(c->unit, "\xc2\xb0" "C") == 0;
	return strncmp(c->name, "temp", 4) == 0;
}

static void on_gap(void *ctx, double start, double end)
{
	struct rep_chan *c = ctx;
	struct rep_gap *g = rep_grow(&c->gaps, &c->n_gaps, &c->cap_gaps, sizeof(*g));

	if (g) {
		g->start = start;
		g->end = end;
	}
}

static void bucket_add(struct rep_chan *c, double t0, double t, double vmin, double vavg,
                       double vmax, double minutes, double *wsum)
{
	size_t b = (size_t)((t - t0) / c->bucket_s);

	if (t < t0 || b >= c->n_buckets)
		return;
	if (isfinite(vmin) && (isnan(c->g_min[b]) || vmin < c->g_min[b]))
		c->g_min[b] = vmin;
	if (isfinite(vmax) && (isnan(c->g_max[b]) || vmax > c->g_max[b]))
		c->g_max[b] = vmax;
	if (isfinite(vavg)) {
		c->g_avg[b] = isnan(c->g_avg[b]) ? vavg * minutes : c->g_avg[b] + vavg * minutes;
		wsum[b] += minutes;
	}
}

int rep_chan_read(const struct report_req *req, struct rep_instrument *in,
                  const struct cfg_channel *cc, struct rep_chan *c, char *err, size_t errlen)
{
	const struct report_period *p = &req->period;
	char path[REP_PATH_MAX];
	struct gap_acc gaps;
	double *days = NULL, *wsum = NULL;
	size_t nd;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->cfg = cc;
	c->lim.min = cc->has_min ? cc->min : NAN;
	c->lim.max = cc->has_max ? cc->max : NAN;
	c->lim.warning_min = cc->has_warning_min ? cc->warning_min : NAN;
	c->lim.warning_max = cc->has_warning_max ? cc->warning_max : NAN;
	c->has_limits = cc->has_min || cc->has_max;
	c->temperature = is_temperature(cc);
	chan_acc_init(&c->all);
	mkt_init(&c->mkt, req->cfg->reports.mkt_ea);
	c->finest_s = c->coarsest_s = NAN;
	c->exc = rep_exc_list(in, cc->name, false);
	c->n_buckets = REP_BUCKETS;
	c->bucket_s = ceil((p->end - p->start) / REP_BUCKETS / 60.0) * 60.0;
	if (c->bucket_s < 60)
		c->bucket_s = 60;
	for (size_t b = 0; b < REP_BUCKETS; b++)
		c->g_min[b] = c->g_avg[b] = c->g_max[b] = NAN;
	rrd_path(req, in->cfg, cc->name, path, sizeof(path));
	if (!rrd_exists(req, path))
		return 0; /* never reported: "no data" */
	c->has_file = true;
	nd = rep_days(p, &days);
	c->days = calloc(nd ? nd : 1, sizeof(*c->days));
	wsum = calloc(REP_BUCKETS, sizeof(*wsum));
	if (nd == 0 || c->days == NULL || wsum == NULL) {
		free(days);
		free(wsum);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->n_days = nd;
	gap_init(&gaps, cc->stale_s > 0 ? cc->stale_s : 600, on_gap, c);
	for (size_t d = 0; d < nd && rc == 0; d++) {
		double d0 = days[d], d1 = d + 1 < nd ? days[d + 1] : p->end;
		struct fetched fa, fmin, fmax;
		struct rep_day *day = &c->days[d];

		day->start = d0;
		chan_acc_init(&day->acc);
		if (fetch(remote_daemon(req), path, "AVERAGE", d0, d1, 60, &fa, err, errlen) == -1) {
			rc = -1;
			break;
		}
		/* MIN and MAX at the resolution AVERAGE came at. */
		bool have_mm = fetch(remote_daemon(req), path, "MIN", d0, d1, fa.step, &fmin, err, errlen) == 0;
		if (have_mm && fetch(remote_daemon(req), path, "MAX", d0, d1, fa.step, &fmax, err, errlen) != 0) {
			rrd_freemem(fmin.data);
			have_mm = false;
		}
		if (have_mm && (fmin.step != fa.step || fmax.step != fa.step ||
		                fmin.start != fa.start || fmin.rows != fa.rows ||
		                fmax.start != fa.start || fmax.rows != fa.rows)) {
			rrd_freemem(fmin.data);
			rrd_freemem(fmax.data);
			have_mm = false;
		}
		double step = (double)fa.step, minutes = step / 60.0;
		if (isnan(c->finest_s) || step < c->finest_s)
			c->finest_s = step;
		if (isnan(c->coarsest_s) || step > c->coarsest_s)
			c->coarsest_s = step;
		for (unsigned long i = 0; i < fa.rows; i++) {
			double t = (double)fa.start + (double)i * step;
			double avg = fa.data[i];
			double lo = have_mm ? fmin.data[i] : avg, hi = have_mm ? fmax.data[i] : avg;

			if (t < d0 || t >= d1)
				continue;
			gap_add(&gaps, t, step, isnan(avg));
			if (isnan(avg))
				continue;
			if (isnan(lo))
				lo = avg;
			if (isnan(hi))
				hi = avg;
			/* Bands, mean and MKT from the averages; the extremes
			 * from MIN and MAX, at the same rows. */
			chan_acc_add(&c->all, &c->lim, t, avg, minutes);
			chan_acc_add(&day->acc, &c->lim, t, avg, minutes);
			if (lo < c->all.min) {
				c->all.min = lo;
				c->all.t_min = t;
			}
			if (hi > c->all.max) {
				c->all.max = hi;
				c->all.t_max = t;
			}
			if (lo < day->acc.min)
				day->acc.min = lo;
			if (hi > day->acc.max)
				day->acc.max = hi;
			if (c->temperature)
				mkt_add(&c->mkt, avg, minutes);
			bucket_add(c, p->start, t, lo, avg, hi, minutes, wsum);
			for (size_t k = 0; c->exc && k < c->exc->n; k++) {
				struct excursion *e = &c->exc->v[k];
				double e_end = isnan(e->end) ? p->end : e->end;

				if (!e->cleared && t + step > e->start && t < e_end) {
					excursion_peak(e, &c->lim, lo);
					excursion_peak(e, &c->lim, hi);
				}
			}
		}
		rrd_freemem(fa.data);
		if (have_mm) {
			rrd_freemem(fmin.data);
			rrd_freemem(fmax.data);
		}
	}
	gap_end(&gaps);
	for (size_t b = 0; b < REP_BUCKETS; b++)
		if (wsum[b] > 0)
			c->g_avg[b] /= wsum[b];
	free(wsum);
	free(days);
	return rc;
}

void rep_chan_free(struct rep_chan *c)
{
	free(c->days);
	free(c->gaps);
	c->days = NULL;
	c->gaps = NULL;
}

double rep_counter_at(const struct report_req *req, const struct cfg_instrument *ins,
                      const char *counter, double t)
{
	char path[REP_PATH_MAX], err[256];
	struct fetched f;
	double v = NAN;

	if (counter[0] == '\0')
		return NAN;
	rrd_path(req, ins, counter, path, sizeof(path));
	if (!rrd_exists(req, path) ||
	    fetch(remote_daemon(req), path, "MAX", t - 86400, t, 60, &f, err, sizeof(err)))
		return NAN;
	for (unsigned long i = 0; i < f.rows; i++)
		if (isfinite(f.data[i]) && (double)f.start + (double)i * (double)f.step < t)
			v = f.data[i];
	rrd_freemem(f.data);
	return v;
}
