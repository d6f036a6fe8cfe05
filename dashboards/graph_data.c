/*
 * graph_data.c: what a channel graph or sparkline plots, read from its
 * RRD file with librrd's rrd_fetch_r() and cut into pixel columns.
 *
 * The graphs used to have librrd's rrd_graph_v() draw their data area:
 * it draws into a PNG that graph.c then decoded to draw the frame around
 * it and encoded again, three PNG codings a graph, most of a render's
 * time (see png_write.c). Now librrd reads the archives and cairo draws
 * everything: per column the MIN..MAX envelope and the AVERAGE line.
 *
 * Columns as rrd_graph makes them: the span [start, end] cut into n equal
 * columns; a row of the archive (its time t covers (t - step, t]) counts
 * towards every column it overlaps. A column's average is the mean of its
 * rows' averages, its low the least MIN, its high the greatest MAX; a
 * column no row with data reaches is NaN (a gap in the line).
 *
 * Threads: the fetches run under graph_rrd_lock(), since through
 * rrdcached librrd uses one process-wide client connection: over a local
 * socket rrdc_flush_if_daemon first, so the file holds what rrdcached
 * holds; over TCP (daemon/rrdaddr.h) the caller names the file below
 * rrd_dir and rrdcached reads it (rrdc_fetch).
 */
#include "dashboards/graph_data.h"
#include "daemon/rrdaddr.h"

#include <errno.h>
#include <math.h>
#include <rrd.h>
#include <rrd_client.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t rrd_lock = PTHREAD_MUTEX_INITIALIZER;

pthread_mutex_t *graph_rrd_lock(void)
{
	return &rrd_lock;
}

static int lock_until(double deadline)
{
	if (deadline <= 0)
		return pthread_mutex_lock(graph_rrd_lock());
	struct timespec ts;

	ts.tv_sec = (time_t)deadline;
	ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
	return pthread_mutex_timedlock(graph_rrd_lock(), &ts);
}

int graph_fetch(const char *rrd_path, const char *rrdcached, const char *cf, long start, long end,
                unsigned long step, double deadline, struct graph_rows *r, char *err,
                size_t errlen)
{
	time_t t_start = (time_t)start, t_end = (time_t)end;
	unsigned long ds_cnt = 0;
	char **ds_names = NULL;
	rrd_value_t *data = NULL;
	int rc, e;

	memset(r, 0, sizeof(*r));
	if ((e = lock_until(deadline)) != 0) {
		snprintf(err, errlen, "%s",
		         e == ETIMEDOUT ? "another graph was being drawn" : strerror(e));
		return e == ETIMEDOUT ? -2 : -1;
	}
	rrd_clear_error();
	if (rrdaddr_mode(rrdcached) == RRDADDR_REMOTE) {
		/* Over TCP the name is below rrd_dir and the daemon reads the
		 * file; librrd 1.7.2's rrdc_fetch sends no step, so the finest
		 * archive covering the span comes back (folded all the same). */
		rc = rrdc_connect(rrdcached) != 0 || !rrdc_is_connected(rrdcached)
		         ? -1
		         : rrdc_fetch(rrd_path, cf, &t_start, &t_end, &step, &ds_cnt, &ds_names, &data);
	} else {
		if (rrdcached && rrdcached[0])
			rrdc_flush_if_daemon(rrdcached, rrd_path);
		rc = rrd_fetch_r(rrd_path, cf, &t_start, &t_end, &step, &ds_cnt, &ds_names, &data);
	}
	if (rc != 0)
		snprintf(err, errlen, "rrd_fetch %s: %s", cf,
		         rrd_test_error() ? rrd_get_error() : "failed");
	rrd_clear_error();
	pthread_mutex_unlock(graph_rrd_lock());
	if (rc != 0)
		return -1;
	for (unsigned long i = 0; i < ds_cnt; i++)
		rrd_freemem(ds_names[i]);
	rrd_freemem(ds_names);
	/* librrd's rows: (start, end], one every step, ds_cnt values each;
	 * the first data source is the channel's "value". */
	size_t n = step && t_end > t_start ? (size_t)((t_end - t_start) / (time_t)step) : 0;
	if ((r->v = calloc(n + 1, sizeof(*r->v))) == NULL) {
		rrd_freemem(data);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n && ds_cnt > 0; i++)
		r->v[i] = data[i * ds_cnt];
	rrd_freemem(data);
	r->n = n;
	r->t_first = (double)t_start + (double)step;
	r->step = (double)step;
	return 0;
}

void graph_rows_free(struct graph_rows *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Fold one archive's rows into the columns with op: 0 sum (with count),
 * 1 least, 2 greatest. */
static void fold(const struct graph_rows *r, struct graph_series *s, double *acc, int *cnt, int op)
{
	const double colw = (s->t1 - s->t0) / s->n;

	for (size_t i = 0; i < r->n; i++) {
		double v = r->v[i], t_hi = r->t_first + (double)i * r->step, t_lo = t_hi - r->step;
		long a, b;

		if (!isfinite(v) || t_hi <= s->t0 || t_lo >= s->t1)
			continue;
		a = (long)floor((t_lo - s->t0) / colw);
		b = (long)ceil((t_hi - s->t0) / colw) - 1;
		if (a < 0)
			a = 0;
		if (b >= s->n)
			b = s->n - 1;
		for (long c = a; c <= b; c++) {
			if (op == 0) {
				acc[c] = cnt[c] ? acc[c] + v : v;
				cnt[c]++;
			} else if (cnt[c] == 0 || (op == 1 ? v < acc[c] : v > acc[c])) {
				acc[c] = v;
				cnt[c] = 1;
			}
		}
	}
}

int graph_series_read(const char *rrd_path, const char *rrdcached, long start, long end, int n,
                      double deadline, struct graph_series *s, char *err, size_t errlen)
{
	static const char *const cfs[3] = {"AVERAGE", "MIN", "MAX"};
	struct graph_rows rows;
	unsigned long step = n > 0 && end > start ? (unsigned long)((end - start) / n) : 1;
	int *cnt = NULL, rc = 0;

	memset(s, 0, sizeof(*s));
	s->t0 = (double)start;
	s->t1 = (double)end;
	s->n = n;
	s->last = s->lowest = s->highest = NAN;
	if (n <= 0 || end <= start) {
		snprintf(err, errlen, "empty graph");
		return -1;
	}
	s->avg = calloc((size_t)n, sizeof(double));
	s->lo = calloc((size_t)n, sizeof(double));
	s->hi = calloc((size_t)n, sizeof(double));
	cnt = calloc((size_t)n, sizeof(int));
	if (!s->avg || !s->lo || !s->hi || !cnt) {
		snprintf(err, errlen, "out of memory");
		free(cnt);
		graph_series_free(s);
		return -1;
	}
	double *const out[3] = {s->avg, s->lo, s->hi};
	for (int k = 0; k < 3 && rc == 0; k++) {
		if ((rc = graph_fetch(rrd_path, rrdcached, cfs[k], start, end, step ? step : 1, deadline,
		                      &rows, err, errlen)) != 0)
			break;
		memset(cnt, 0, (size_t)n * sizeof(int));
		fold(&rows, s, out[k], cnt, k);
		for (int c = 0; c < n; c++) {
			if (cnt[c] == 0)
				out[k][c] = NAN;
			else if (k == 0)
				out[k][c] /= cnt[c];
		}
		/* The legend's figures, from the rows in view. */
		for (size_t i = 0; i < rows.n; i++) {
			double v = rows.v[i], t = rows.t_first + (double)i * rows.step;

			if (!isfinite(v) || t <= s->t0 || t - rows.step >= s->t1)
				continue;
			if (k == 0)
				s->last = v;
			else if (k == 1 && !(v >= s->lowest))
				s->lowest = v;
			else if (k == 2 && !(v <= s->highest))
				s->highest = v;
		}
		graph_rows_free(&rows);
	}
	free(cnt);
	if (rc != 0)
		graph_series_free(s);
	return rc;
}

void graph_series_free(struct graph_series *s)
{
	free(s->avg);
	free(s->lo);
	free(s->hi);
	s->avg = s->lo = s->hi = NULL;
}
