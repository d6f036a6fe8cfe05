/*
 * graph.c: one channel graph, drawn with cairo from the channel's RRD
 * archives (graph_data.c reads them with librrd's rrd_fetch_r(); the
 * rrdtool program is never run). The data area holds the MIN..MAX
 * envelope shaded behind the AVERAGE line, the hard limits as red dashed
 * lines and the warning zones (between a hard limit and its warning
 * limit) shaded amber; around it the title "<instrument> <channel>, last
 * <period>", the unit on the vertical axis, the value and time axes with
 * their grid, and the legend with the last, lowest and highest value. The
 * PNG (png_write.c) is encoded into memory and written with
 * fs_write_replace(), so a browser never sees half a PNG.
 *
 * The frame is graph_frame.c's.
 *
 * Why not librrd's rrd_graph_v(): it can only hand back a PNG, which had
 * to be decoded to draw the frame around it (librrd 1.7.2 leaks on every
 * graph whose frame it paints: graph_title_split() and the legend's
 * sprintf_alloc()ed info entries) and encoded again; three PNG codings a
 * graph made a full render of 1k channels take over four minutes.
 *
 * The same drawing serves an alert's email (dash_alert_graph_png): the
 * hours around the alert, the sample the alert is about marked on top
 * (it may not be in the file yet: librrd shows a 60 s step only once a
 * later sample completes it, and the store writes on a timer), into
 * memory. A channel whose file does not exist yet gets its limits and
 * that sample only.
 *
 * Threads: two threads draw, the dashboard's renderer and the notifier.
 * Every fetch is made under graph_rrd_lock(), a leaf lock held for that
 * call only (through rrdcached librrd has one client connection for the
 * process); the drawing is cairo, safe with one surface per thread. The
 * renderer waits for the lock; the notifier waits only until its
 * deadline, so a busy renderer delays an email's chart by at most that,
 * never the email.
 */
#include "dashboards/dash_int.h"
#include "daemon/fsutil.h"
#include "dashboards/graph_data.h"
#include "dashboards/graph_frame.h"
#include "dashboards/png_write.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double period_seconds(enum dash_period p)
{
	switch (p) {
	case DASH_DAY:
		return 86400.0;
	case DASH_WEEK:
		return 7 * 86400.0;
	case DASH_MONTH:
		return 30 * 86400.0;
	case DASH_YEAR:
		return 365 * 86400.0;
	}
	return 86400.0;
}

uint64_t graph_signature(const struct dash_instrument *in, const struct dash_channel *c)
{
	uint64_t h = DASH_FNV_INIT;

	h = dash_fnv_str(h, in->name);
	h = dash_fnv_str(h, c->name);
	h = dash_fnv_str(h, c->unit);
	h = dash_fnv_double(h, c->min);
	h = dash_fnv_double(h, c->max);
	h = dash_fnv_double(h, c->warning_min);
	h = dash_fnv_double(h, c->warning_max);
	h = dash_fnv_double(h, DASH_GRAPH_W * 10000.0 + DASH_GRAPH_H);
	return h;
}

/* Shade the band [from, to] with an invisible base area and a stacked one. */

struct graph_req {
	const char *rrd_path, *rrdcached; /* rrdcached may be NULL */
	const char *instrument, *channel, *unit;
	double min, max, warning_min, warning_max; /* NAN: none */
	long start, end;
	enum dash_period period; /* the time axis' labels */
	const char *title;
	double mark_t, mark_v; /* the alert's sample; mark_v NAN: none */
	bool no_data;          /* the file does not exist yet: limits and mark only */
	double deadline;       /* wait for graph_rrd_lock() until then (epoch s); 0: no limit */
	int w, h;              /* the whole PNG */
	const struct graph_band *bands; /* shaded spans (full-size graphs) */
	size_t n_bands;
};

static bool has_band(const struct graph_req *g)
{
	return (isfinite(g->min) && isfinite(g->warning_min) && g->warning_min > g->min) ||
	       (isfinite(g->max) && isfinite(g->warning_max) && g->warning_max < g->max);
}

static void legend_build(struct legend *lg, const struct graph_req *g, const char *stats[3])
{
	const char *u = g->unit, *sp = g->unit[0] ? " " : "";
	bool bands = has_band(g) && !g->no_data, firing = false, maint = false;

	for (size_t i = 0; i < g->n_bands; i++)
		*(g->bands[i].maintenance ? &maint : &firing) = true;
	if (firing)
		frame_legend_add(lg, SW_AREA, c_firing, "alert firing");
	if (maint)
		frame_legend_add(lg, SW_AREA, c_maint, "maintenance");
	if (bands)
		frame_legend_add(lg, SW_AREA, c_band, "warning zone");
	if (g->no_data) {
		frame_legend_add(lg, SW_NONE, c_text, "no data stored yet");
	} else {
		frame_legend_add(lg, SW_AREA, c_spread, "min to max");
		frame_legend_add(lg, SW_LINE, c_avg, "average");
	}
	if (isfinite(g->mark_v))
		frame_legend_add(lg, SW_DOT, c_avg, "alert %.6g%s%s", g->mark_v, sp, u);
	if (isfinite(g->min))
		frame_legend_add(lg, SW_DASH, c_limit, "min %.6g%s%s", g->min, sp, u);
	if (isfinite(g->max))
		frame_legend_add(lg, SW_DASH, c_limit, "max %.6g%s%s", g->max, sp, u);
	if (isfinite(g->warning_min) &&
	    (g->no_data || !(isfinite(g->min) && g->warning_min > g->min)))
		frame_legend_add(lg, SW_DASH, c_warnlim, "warning below %.6g", g->warning_min);
	if (isfinite(g->warning_max) &&
	    (g->no_data || !(isfinite(g->max) && g->warning_max < g->max)))
		frame_legend_add(lg, SW_DASH, c_warnlim, "warning above %.6g", g->warning_max);
	if (g->no_data)
		return;
	frame_legend_add(lg, SW_NONE, c_text, "\n");
	frame_legend_add(lg, SW_NONE, c_text, "last %s", stats[0]);
	frame_legend_add(lg, SW_NONE, c_text, "lowest %s", stats[1]);
	frame_legend_add(lg, SW_NONE, c_text, "highest %s", stats[2]);
}

/* "9.30 C", or "n/a" when there was no data. */
static void format_stat(char *out, size_t len, double v, const char *unit)
{
	if (!isfinite(v))
		snprintf(out, len, "n/a");
	else
		snprintf(out, len, "%.2f%s%s", v, unit[0] ? " " : "", unit);
}

/* Where the data area maps values and times. */
struct plot {
	double x0, y0, w, h; /* the data area on the image */
	double vmin, vmax, t0, t1;
};

static double px_x(const struct plot *p, double t)
{
	return p->x0 + (t - p->t0) / (p->t1 - p->t0) * p->w;
}

static double px_y(const struct plot *p, double v)
{
	return p->y0 + p->h - (v - p->vmin) / (p->vmax - p->vmin) * p->h;
}

/* The value axis' span: every limit and the alert's sample in view with a
 * margin (as the old --lower-limit/--upper-limit did), widened by the
 * data, which keeps a small margin of its own. */
static void value_span(const struct graph_req *g, const struct graph_series *s, double *vmin,
                       double *vmax)
{
	const double lims[] = {g->min, g->max, g->warning_min, g->warning_max, g->mark_v};
	double lo = INFINITY, hi = -INFINITY, dlo = INFINITY, dhi = -INFINITY;

	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
		if (isfinite(lims[i])) {
			lo = fmin(lo, lims[i]);
			hi = fmax(hi, lims[i]);
		}
	}
	if (isfinite(lo)) {
		double margin = hi > lo ? (hi - lo) * 0.15 : fabs(lo) * 0.1 + 1.0;

		lo -= margin;
		hi += margin;
	}
	for (int c = 0; s && c < s->n; c++) {
		if (isfinite(s->lo[c]))
			dlo = fmin(dlo, s->lo[c]);
		if (isfinite(s->hi[c]))
			dhi = fmax(dhi, s->hi[c]);
		if (isfinite(s->avg[c])) {
			dlo = fmin(dlo, s->avg[c]);
			dhi = fmax(dhi, s->avg[c]);
		}
	}
	if (isfinite(dlo)) {
		double pad = dhi > dlo ? (dhi - dlo) * 0.05 : fabs(dlo) * 0.1 + 1.0;

		if (dlo < lo || !isfinite(lo))
			lo = dlo - pad;
		if (dhi > hi || !isfinite(hi))
			hi = dhi + pad;
	}
	if (!isfinite(lo) || !isfinite(hi)) {
		lo = 0;
		hi = 1;
	}
	*vmin = lo;
	*vmax = hi;
}

/* A horizontal dashed line across the data area. */
static void hrule(cairo_t *cr, const struct plot *p, double v, struct rgba c, double dash)
{
	double y = floor(px_y(p, v)) + 0.5;

	if (y < p->y0 || y > p->y0 + p->h)
		return;
	cairo_save(cr);
	cairo_set_dash(cr, (double[]){dash, dash}, 2, 0);
	cairo_set_line_width(cr, 1);
	frame_rgba(cr, c);
	cairo_move_to(cr, p->x0, y);
	cairo_line_to(cr, p->x0 + p->w, y);
	cairo_stroke(cr);
	cairo_restore(cr);
}

/* The warning zone between a and b, across the whole span. */
static void hband(cairo_t *cr, const struct plot *p, double a, double b)
{
	double ya = px_y(p, a), yb = px_y(p, b);

	frame_rgba(cr, c_band);
	cairo_rectangle(cr, p->x0, fmin(ya, yb), p->w, fabs(ya - yb));
	cairo_fill(cr);
}

/* The envelope (MIN..MAX) of each run of columns with data, then the
 * AVERAGE line through the columns' centres, broken where there is none. */
static void draw_series(cairo_t *cr, const struct plot *p, const struct graph_series *s)
{
	const double colw = p->w / s->n;

	cairo_save(cr);
	cairo_rectangle(cr, p->x0, p->y0, p->w, p->h);
	cairo_clip(cr);
	frame_rgba(cr, c_spread);
	for (int c = 0; c < s->n;) {
		int e = c;

		if (!isfinite(s->lo[c]) || !isfinite(s->hi[c])) {
			c++;
			continue;
		}
		while (e + 1 < s->n && isfinite(s->lo[e + 1]) && isfinite(s->hi[e + 1]))
			e++;
		cairo_move_to(cr, p->x0 + c * colw, px_y(p, s->hi[c]));
		for (int k = c; k <= e; k++) {
			cairo_line_to(cr, p->x0 + k * colw, px_y(p, s->hi[k]));
			cairo_line_to(cr, p->x0 + (k + 1) * colw, px_y(p, s->hi[k]));
		}
		for (int k = e; k >= c; k--) {
			cairo_line_to(cr, p->x0 + (k + 1) * colw, px_y(p, s->lo[k]));
			cairo_line_to(cr, p->x0 + k * colw, px_y(p, s->lo[k]));
		}
		cairo_close_path(cr);
		c = e + 1;
	}
	cairo_fill(cr);

	/* The line's centre on a pixel row's middle, so a flat stretch is one
	 * row in the line's own colour, not two paler ones. */
#define LINE_Y(v) (floor(px_y(p, (v))) + 0.5)
	frame_rgba(cr, c_avg);
	cairo_set_line_width(cr, 1.5);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	bool pen = false;
	for (int c = 0; c < s->n; c++) {
		double x = p->x0 + (c + 0.5) * colw;

		if (!isfinite(s->avg[c])) {
			pen = false;
			continue;
		}
		if (!pen) {
			cairo_move_to(cr, x - 0.5 * colw, LINE_Y(s->avg[c]));
			pen = true;
		}
		cairo_line_to(cr, x, LINE_Y(s->avg[c]));
		if (c + 1 == s->n || !isfinite(s->avg[c + 1]))
			cairo_line_to(cr, x + 0.5 * colw, LINE_Y(s->avg[c]));
	}
#undef LINE_Y
	cairo_stroke(cr);
	cairo_restore(cr);
}

/* The warning zones (between a hard limit and its warning limit). */
static void draw_zones(cairo_t *cr, const struct graph_req *g, const struct plot *p)
{
	if (g->no_data)
		return;
	if (isfinite(g->min) && isfinite(g->warning_min) && g->warning_min > g->min)
		hband(cr, p, g->min, g->warning_min);
	if (isfinite(g->max) && isfinite(g->warning_max) && g->warning_max < g->max)
		hband(cr, p, g->warning_max, g->max);
}

/* The limits, over the data and the grid (a grid line may fall on one). */
static void draw_limits(cairo_t *cr, const struct graph_req *g, const struct plot *p)
{
	if (isfinite(g->min))
		hrule(cr, p, g->min, c_limit, 5);
	if (isfinite(g->max))
		hrule(cr, p, g->max, c_limit, 5);
	/* A warning limit without its hard limit has no zone to shade (nor,
	 * without data, a zone at all: then its line). */
	if (isfinite(g->warning_min) &&
	    (g->no_data || !(isfinite(g->min) && g->warning_min > g->min)))
		hrule(cr, p, g->warning_min, c_warnlim, 2);
	if (isfinite(g->warning_max) &&
	    (g->no_data || !(isfinite(g->max) && g->warning_max < g->max)))
		hrule(cr, p, g->warning_max, c_warnlim, 2);
}

/* The alert's sample on top of the data. */
static void draw_mark(cairo_t *cr, const struct graph_req *g, const struct plot *p)
{
	double x, y;

	if (!isfinite(g->mark_v))
		return;
	x = fmin(fmax(px_x(p, g->mark_t), p->x0 + MARK_R), p->x0 + p->w - MARK_R);
	y = fmin(fmax(px_y(p, g->mark_v), p->y0 + MARK_R), p->y0 + p->h - MARK_R);
	cairo_new_path(cr);
	frame_rgba(cr, c_avg);
	cairo_arc(cr, x, y, MARK_R, 0, 2 * M_PI);
	cairo_fill(cr);
}

/* The whole picture into png (the caller frees it). 0, or -1 with err,
 * -2 as graph_fetch. */
static int graph_draw(const struct graph_req *g, struct sbuf *png, char *err, size_t errlen)
{
	struct graph_series s = {0};
	struct legend *lg = calloc(1, sizeof(*lg));
	const char *stats_in[3] = {"", "", ""};
	char stats[3][96];
	cairo_surface_t *out = NULL;
	cairo_t *cr = NULL;
	const int W = g->w, H = g->h;
	int lines, plot_w = W - AXIS_L - AXIS_R, plot_h, rc = -1;
	struct plot p;

	if (lg == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	out = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
	cr = cairo_create(out);
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
		snprintf(err, errlen, "cairo: %s", cairo_status_to_string(cairo_status(cr)));
		goto done;
	}
	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, TEXT_PX);

	/* The legend's height (the stats line has the widest numbers) sets
	 * the data area's. */
	legend_build(lg, g, (const char *[]){"-00000.00", "-00000.00", "-00000.00"});
	lines = frame_legend_flow(cr, lg, AXIS_L, W - AXIS_R, 0, false);
	plot_h = H - TITLE_H - XLABEL_H - lines * LEGEND_LINE_H - BOTTOM_PAD;
	if (plot_h < 40) {
		snprintf(err, errlen, "legend too long for a %dx%d graph", W, H);
		goto done;
	}

	if (!g->no_data && (rc = graph_series_read(g->rrd_path, g->rrdcached, g->start, g->end,
	                                           plot_w, g->deadline, &s, err, errlen)) != 0)
		goto done;
	rc = -1;
	p = (struct plot){.x0 = AXIS_L, .y0 = TITLE_H, .w = plot_w, .h = plot_h,
	                  .t0 = (double)g->start, .t1 = (double)g->end};
	value_span(g, g->no_data ? NULL : &s, &p.vmin, &p.vmax);

	/* Back to front: the warning zones, the grid, the data, the firing
	 * and maintenance shading, the limits, the alert's sample. */
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	draw_zones(cr, g, &p);
	frame_value_axis(cr, p.x0, p.y0, p.w, p.h, p.vmin, p.vmax);
	frame_time_axis(cr, g->period, p.x0, p.y0, p.w, p.h, p.t0, p.t1);
	if (!g->no_data)
		draw_series(cr, &p, &s);
	for (size_t i = 0; i < g->n_bands; i++)
		frame_shade(cr, p.x0, p.y0, p.w, p.h, p.t0, p.t1, g->bands[i].from, g->bands[i].to,
		            g->bands[i].maintenance ? c_maint : c_firing);
	draw_limits(cr, g, &p);
	draw_mark(cr, g, &p);
	frame_rgba(cr, c_axis);
	cairo_set_line_width(cr, 1);
	cairo_rectangle(cr, AXIS_L - 0.5, TITLE_H - 0.5, plot_w + 1, plot_h + 1);
	cairo_stroke(cr);

	/* The unit, up the value axis. */
	if (g->unit[0]) {
		cairo_save(cr);
		cairo_translate(cr, 13, TITLE_H + plot_h / 2.0);
		cairo_rotate(cr, -M_PI / 2);
		frame_rgba(cr, c_text);
		frame_text_at(cr, 0, 0, g->unit, 0.5);
		cairo_restore(cr);
	}

	format_stat(stats[0], sizeof(stats[0]), s.last, g->unit);
	format_stat(stats[1], sizeof(stats[1]), s.lowest, g->unit);
	format_stat(stats[2], sizeof(stats[2]), s.highest, g->unit);
	for (int i = 0; i < 3; i++)
		stats_in[i] = stats[i];
	memset(lg, 0, sizeof(*lg));
	legend_build(lg, g, stats_in);
	frame_legend_flow(cr, lg, AXIS_L, W - AXIS_R,
	                  TITLE_H + plot_h + XLABEL_H + LEGEND_LINE_H - 2, true);

	/* The title, centred in its strip. */
	cairo_set_font_size(cr, TITLE_PX);
	frame_rgba(cr, c_text);
	frame_text_at(cr, W / 2.0, 15, g->title, 0.5);

	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
		snprintf(err, errlen, "cairo: %s", cairo_status_to_string(cairo_status(cr)));
	else if (dash_png_encode(out, png) != 0)
		snprintf(err, errlen, "PNG encoding failed");
	else
		rc = 0;
done:
	cairo_destroy(cr);
	cairo_surface_destroy(out);
	graph_series_free(&s);
	free(lg);
	return rc;
}

int graph_render(const char *rrd_path, const char *png_path, const char *rrdcached,
                 const struct dash_instrument *in, const struct dash_channel *c,
                 enum dash_period period, double now, const struct graph_look *look, char *err,
                 size_t errlen)
{
	char title[300];
	struct sbuf png = {0};
	struct graph_req g = {
	    .rrd_path = rrd_path,
	    .rrdcached = rrdcached,
	    .instrument = in->name,
	    .channel = c->name,
	    .unit = c->unit,
	    .min = c->min,
	    .max = c->max,
	    .warning_min = c->warning_min,
	    .warning_max = c->warning_max,
	    .start = (long)(now - period_seconds(period)),
	    .end = (long)now,
	    .period = period,
	    .title = title,
	    .mark_v = NAN,
	    .w = look ? look->w : DASH_GRAPH_W,
	    .h = look ? look->h : DASH_GRAPH_H,
	    .bands = look ? look->bands : NULL,
	    .n_bands = look ? look->n_bands : 0,
	};
	int rc = -1;

	snprintf(title, sizeof(title), "%s %s, last %s", in->name, c->name,
	         dash_period_name(period));
	if (graph_draw(&g, &png, err, errlen) == 0)
		rc = sbuf_write_file(&png, png_path, err, errlen);
	sbuf_free(&png);
	return rc;
}

int dash_alert_graph_png(const struct dash_alert_graph *ag, double deadline, unsigned char **png,
                         size_t *len, char *err, size_t errlen)
{
	char title[300], when[64];
	struct sbuf buf = {0};
	struct stat st;
	time_t at = (time_t)ag->at;
	struct tm tm;
	struct graph_req g = {
	    .rrd_path = ag->rrd_path,
	    .rrdcached = ag->rrdcached,
	    .instrument = ag->instrument,
	    .channel = ag->channel,
	    .unit = ag->unit ? ag->unit : "",
	    .min = ag->min,
	    .max = ag->max,
	    .warning_min = ag->warning_min,
	    .warning_max = ag->warning_max,
	    .start = (long)floor(ag->start),
	    .end = (long)ceil(ag->end),
	    .period = DASH_DAY,
	    .title = title,
	    .mark_t = ag->at,
	    .mark_v = ag->value,
	    .deadline = deadline,
	    .w = DASH_GRAPH_W,
	    .h = DASH_GRAPH_H,
	};

	*png = NULL;
	*len = 0;
	if (!(g.end > g.start)) {
		snprintf(err, errlen, "empty time span");
		return -1;
	}
	/* Created by the store's writer on its first flush; until then the
	 * limits and the sample are all there is to draw. Through rrdcached
	 * the file may exist only there: ask it. */
	g.no_data = stat(ag->rrd_path, &st) == -1 && errno == ENOENT &&
	            !(ag->rrdcached && ag->rrdcached[0]);
	if (localtime_r(&at, &tm) == NULL || strftime(when, sizeof(when), "%d %b %H:%M", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	snprintf(title, sizeof(title), "%s %s around the alert of %s", ag->instrument, ag->channel,
	         when);
	int rc = graph_draw(&g, &buf, err, errlen);
	if (rc == -1 && !g.no_data && g.rrdcached && g.rrdcached[0]) {
		/* rrdcached may not have created the file yet either. */
		sbuf_free(&buf);
		memset(&buf, 0, sizeof(buf));
		g.no_data = true;
		rc = graph_draw(&g, &buf, err, errlen);
	}
	if (rc != 0) {
		sbuf_free(&buf);
		return rc;
	}
	*png = (unsigned char *)buf.p;
	*len = buf.len;
	return 0;
}
