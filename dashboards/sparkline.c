/*
 * sparkline.c: the index's small graph of a channel's last 24 hours.
 *
 * librrd's rrd_fetch_r() reads the AVERAGE archive that covers the day
 * (the file's 5-minute one in DESIGN's layout: 288 points), and cairo
 * draws it as one line, DASH_SPARK_W x DASH_SPARK_H, with the channel's
 * limits as faint dashed lines in view: no text, no envelope, since the
 * index shows one per channel.
 *
 * The fetch is graph_data.c's, under graph_rrd_lock() like every graph.
 */
#include "dashboards/dash_int.h"
#include "daemon/fsutil.h"
#include "dashboards/graph_data.h"
#include "dashboards/png_write.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fetch_day(const char *rrd_path, const char *rrdcached, double now, double **vals,
                     size_t *n, double *t0, double *step_s, char *err, size_t errlen)
{
	struct graph_rows r;

	if (graph_fetch(rrd_path, rrdcached, "AVERAGE", (long)(now - 86400), (long)now, 300, 0, &r,
	                err, errlen) != 0)
		return -1;
	*vals = r.v;
	*n = r.n;
	*t0 = r.t_first;
	*step_s = r.step;
	return 0;
}

int sparkline_render(const char *rrd_path, const char *png_path, const char *rrdcached,
                     const struct dash_channel *c, double now, char *err, size_t errlen)
{
	double *v = NULL, t0 = 0, step = 300, lo = INFINITY, hi = -INFINITY;
	size_t n = 0;
	const double lims[] = {c->min, c->max, c->warning_min, c->warning_max};
	const double W = DASH_SPARK_W, H = DASH_SPARK_H, pad = 3;
	struct sbuf png = {0};
	int rc = -1;

	if (fetch_day(rrd_path, rrdcached, now, &v, &n, &t0, &step, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i])) {
			lo = fmin(lo, v[i]);
			hi = fmax(hi, v[i]);
		}
	/* Limits near the data stay in view; far ones would flatten it. */
	double span = isfinite(lo) ? fmax(hi - lo, fabs(hi) * 0.02 + 0.1) : 0;
	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++)
		if (isfinite(lims[i]) && (!isfinite(lo) || fabs(lims[i] - (lo + hi) / 2) < 2 * span)) {
			lo = fmin(lo, lims[i]);
			hi = fmax(hi, lims[i]);
		}
	if (!isfinite(lo)) {
		lo = 0;
		hi = 1;
	}
	if (!(hi > lo)) {
		lo -= 0.5;
		hi += 0.5;
	}

	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)W, (int)H);
	cairo_t *cr = cairo_create(s);
	double x0 = now - 86400;
#define X(t) (pad + ((t) - x0) / 86400.0 * (W - 2 * pad))
#define Y(val) (H - pad - ((val) - lo) / (hi - lo) * (H - 2 * pad))
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	const double dash[] = {3, 2};
	cairo_set_line_width(cr, 1);
	cairo_set_dash(cr, dash, 2, 0);
	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
		if (!isfinite(lims[i]) || lims[i] < lo || lims[i] > hi)
			continue;
		if (i < 2)
			cairo_set_source_rgba(cr, 0.776, 0.157, 0.157, 0.55); /* hard limit */
		else
			cairo_set_source_rgba(cr, 0.902, 0.318, 0, 0.45); /* warning */
		cairo_move_to(cr, pad, round(Y(lims[i])) + 0.5);
		cairo_line_to(cr, W - pad, round(Y(lims[i])) + 0.5);
		cairo_stroke(cr);
	}
	cairo_set_dash(cr, NULL, 0, 0);
	cairo_set_source_rgb(cr, 0.122, 0.247, 0.498);
	cairo_set_line_width(cr, 1.5);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	bool pen = false;
	for (size_t i = 0; i < n; i++) {
		double t = t0 + (double)i * step;

		if (!isfinite(v[i])) {
			pen = false; /* a gap stays a gap */
			continue;
		}
		if (pen)
			cairo_line_to(cr, X(t), Y(v[i]));
		else
			cairo_move_to(cr, X(t), Y(v[i]));
		/* A lone point is a dot, not nothing. */
		if (!pen && (i + 1 >= n || !isfinite(v[i + 1])))
			cairo_line_to(cr, X(t) + 1, Y(v[i]));
		pen = true;
	}
	cairo_stroke(cr);
#undef X
#undef Y
	cairo_surface_flush(s);
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
		snprintf(err, errlen, "cairo: %s", cairo_status_to_string(cairo_status(cr)));
	else if (dash_png_encode(s, &png) != 0)
		snprintf(err, errlen, "PNG encoding failed");
	else if (fs_write_replace(png_path, png.p, png.len, 0644) == -1)
		snprintf(err, errlen, "%s: %s", png_path, strerror(errno));
	else
		rc = 0;
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	sbuf_free(&png);
	free(v);
	return rc;
}
