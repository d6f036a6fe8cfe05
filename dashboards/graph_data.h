/*
 * graph_data.h: a channel's RRD archives read for drawing (graph_data.c).
 * Internal to dashboards/.
 */
#ifndef LABQCD_GRAPH_DATA_H
#define LABQCD_GRAPH_DATA_H

#include "dashboards/dash_int.h"

#include <stddef.h>

/* One archive's rows of the first data source: row i holds the value of
 * (t_first + (i - 1) * step, t_first + i * step]. */
struct graph_rows {
	double *v; /* n values, NaN where unknown */
	size_t n;
	double t_first, step;
};

/* rrd_fetch_r() of cf over [start, end] at (at least) step under
 * graph_rrd_lock(), waiting for it until deadline (epoch s; 0: no limit).
 * 0; -1 with err; -2 when the deadline passed while another thread held
 * the lock. */
int graph_fetch(const char *rrd_path, const char *rrdcached, const char *cf, long start, long end,
                unsigned long step, double deadline, struct graph_rows *r, char *err,
                size_t errlen);
void graph_rows_free(struct graph_rows *r);

/* [t0, t1] cut into n columns: the mean AVERAGE, least MIN and greatest
 * MAX of each (NaN: no data), and over the span the last AVERAGE, the
 * lowest MIN and the highest MAX (NaN: none). */
struct graph_series {
	int n;
	double *avg, *lo, *hi;
	double t0, t1;
	double last, lowest, highest;
};

/* Read AVERAGE, MIN and MAX of [start, end] into n columns. 0, -1 or -2
 * as graph_fetch. */
int graph_series_read(const char *rrd_path, const char *rrdcached, long start, long end, int n,
                      double deadline, struct graph_series *s, char *err, size_t errlen);
void graph_series_free(struct graph_series *s);

#endif
