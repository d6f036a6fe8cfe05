/*
 * graph.c: one channel graph. librrd's rrd_graph_v() (the library; the
 * rrdtool program is never run) draws the data area only (--only-graph):
 * the MIN..MAX envelope shaded behind the AVERAGE line, the hard limits
 * as red dashed HRULEs and the warning zones (between a hard limit and
 * its warning limit) shaded amber. Its PNG comes back in the "image"
 * entry of the info list (file name "-"); cairo decodes it and draws the
 * rest of the DASH_GRAPH_W x DASH_GRAPH_H image around it: the title
 * "<instrument> <channel>, last <period>", the unit on the vertical axis,
 * the value and time axes with their grid, and the legend with the last,
 * lowest and highest value (from PRINT entries). The PNG is encoded into
 * memory and written with fs_write_atomic(), so a browser never sees
 * half a PNG.
 *
 * The frame is graph_frame.c's.
 *
 * Why not let librrd draw the frame: librrd 1.7.2 leaks on every graph
 * whose frame it paints. grid_paint() calls graph_title_split(), which
 * mallocs a line array and strdup()s the title and never frees them
 * (with or without --title; graph_size_location() calls it once more
 * when there is a title), and for each legend entry it pushes
 * sprintf_alloc()ed strings into the info list, which rrd_info_push()
 * copies, so the originals leak. With --only-graph neither runs, and
 * nothing else graph.c asks for allocates beyond what im_free() and
 * rrd_info_free() release (checked against the v1.7.2 source, and by
 * test_render's leak case under LeakSanitizer).
 *
 * The same drawing serves an alert's email (dash_alert_graph_png): the
 * hours around the alert, the sample the alert is about marked on top
 * (it may not be in the file yet: librrd shows a 60 s step only once a
 * later sample completes it, and the store writes on a timer), into
 * memory. A channel whose file does not exist yet gets its limits and
 * that sample only.
 *
 * Threads: librrd's graphing is not safe to run twice at once (see
 * dashboards.h), and two threads draw: the dashboard's renderer and the
 * notifier. Every rrd_graph_v() call in the process is made under
 * rrd_graph_lock, a leaf lock held for that call only (no other lock is
 * taken inside it); the frame around it is cairo, safe with one surface
 * per thread. The renderer waits for the lock; the notifier waits only
 * until its deadline, so a busy renderer delays an email's chart by at
 * most that, never the email.
 */
#include "dashboards/dash_int.h"
#include "daemon/fsutil.h"
#include "dashboards/graph_frame.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <rrd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define GRAPH_MAX_ARGS 64

static pthread_mutex_t rrd_graph_lock = PTHREAD_MUTEX_INITIALIZER;

pthread_mutex_t *graph_rrd_lock(void)
{
	return &rrd_graph_lock;
}

struct args {
	char *v[GRAPH_MAX_ARGS];
	int n;
	bool overflow;
	char pool[16384];
	size_t used;
};

static void arg_add(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void arg_add(struct args *a, const char *fmt, ...)
{
	va_list ap;
	size_t room = sizeof(a->pool) - a->used;
	int n;

	if (a->overflow || a->n == GRAPH_MAX_ARGS) {
		a->overflow = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(a->pool + a->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		a->overflow = true;
		return;
	}
	a->v[a->n++] = a->pool + a->used;
	a->used += (size_t)n + 1;
}

/*
 * Make a file name safe inside an rrd_graph element: ':' separates fields
 * (so "\:"), and a backslash starts a legend code such as \l (replaced by
 * '/').
 */
static void rrd_escape(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == ':') {
			out[o++] = '\\';
			out[o++] = ':';
		} else if (*s == '\\') {
			out[o++] = '/';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

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
static void add_band(struct args *a, int *band, double from, double to, const char *colour)
{
	int k = (*band)++;

	arg_add(a, "CDEF:b%dlo=avg,UN,%.10g,%.10g,IF", k, from, from);
	arg_add(a, "CDEF:b%dh=avg,UN,%.10g,%.10g,IF", k, to - from, to - from);
	arg_add(a, "AREA:b%dlo", k);
	arg_add(a, "AREA:b%dh%s::STACK", k, colour);
}

struct png_reader {
	const unsigned char *p;
	size_t left;
};

static cairo_status_t png_from_blob(void *closure, unsigned char *data, unsigned int len)
{
	struct png_reader *r = closure;

	if (len > r->left)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, r->p, len);
	r->p += len;
	r->left -= len;
	return CAIRO_STATUS_SUCCESS;
}

static cairo_status_t png_to_sbuf(void *closure, const unsigned char *data, unsigned int len)
{
	struct sbuf *b = closure;

	sbuf_append(b, data, len);
	return b->failed ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

/* "9.30 C" from a PRINT value, or "n/a" when there was no data. */
static void format_stat(char *out, size_t len, const char *printed, const char *unit)
{
	char *end;
	double v = printed ? strtod(printed, &end) : NAN;

	if (printed == NULL || end == printed || !isfinite(v))
		snprintf(out, len, "n/a");
	else
		snprintf(out, len, "%s%s%s", printed, unit[0] ? " " : "", unit);
}

/* ---- the graph ---- */

/* What one graph draws: a dashboard period, or an alert's hours. */
struct graph_req {
	const char *rrd_path, *rrdcached; /* rrdcached may be NULL */
	const char *instrument, *channel, *unit;
	double min, max, warning_min, warning_max; /* NAN: none */
	long start, end;
	enum dash_period period; /* the time axis' labels */
	const char *title;
	double mark_t, mark_v; /* the alert's sample; mark_v NAN: none */
	bool no_data;          /* the file does not exist yet: limits and mark only */
	double deadline;       /* wait for rrd_graph_lock until then (epoch s); 0: no limit */
	int w, h;              /* the whole PNG */
	const struct graph_band *bands; /* shaded spans (full-size graphs) */
	size_t n_bands;
};

struct rrd_result {
	rrd_info_t *info; /* owns everything below */
	const unsigned char *img;
	size_t img_len;
	const char *print[3];
	double vmin, vmax, t0, t1;
};

static void rrd_result_scan(struct rrd_result *r)
{
	r->vmin = r->vmax = r->t0 = r->t1 = NAN;
	for (rrd_info_t *it = r->info; it; it = it->next) {
		if (it->type == RD_I_BLO && strcmp(it->key, "image") == 0) {
			r->img = it->value.u_blo.ptr;
			r->img_len = it->value.u_blo.size;
		} else if (it->type == RD_I_STR && strncmp(it->key, "print[", 6) == 0) {
			unsigned k = (unsigned)(it->key[6] - '0');

			if (k < 3 && it->key[7] == ']')
				r->print[k] = it->value.u_str;
		} else if (it->type == RD_I_VAL && strcmp(it->key, "value_min") == 0) {
			r->vmin = it->value.u_val;
		} else if (it->type == RD_I_VAL && strcmp(it->key, "value_max") == 0) {
			r->vmax = it->value.u_val;
		} else if (it->type == RD_I_CNT && strcmp(it->key, "graph_start") == 0) {
			r->t0 = (double)it->value.u_cnt;
		} else if (it->type == RD_I_CNT && strcmp(it->key, "graph_end") == 0) {
			r->t1 = (double)it->value.u_cnt;
		}
	}
}

static bool has_band(const struct graph_req *g)
{
	return (isfinite(g->min) && isfinite(g->warning_min) && g->warning_min > g->min) ||
	       (isfinite(g->max) && isfinite(g->warning_max) && g->warning_max < g->max);
}

/* rrd_graph_v() under rrd_graph_lock; NULL with err set (*busy when the
 * deadline passed before the lock was free). */
static rrd_info_t *graph_locked(const struct graph_req *g, struct args *a, bool *busy, char *err,
                                size_t errlen)
{
	rrd_info_t *info;
	int e;

	if (g->deadline > 0) {
		struct timespec ts;

		ts.tv_sec = (time_t)g->deadline;
		ts.tv_nsec = (long)((g->deadline - (double)ts.tv_sec) * 1e9);
		e = pthread_mutex_timedlock(&rrd_graph_lock, &ts);
	} else {
		e = pthread_mutex_lock(&rrd_graph_lock);
	}
	if (e != 0) {
		*busy = e == ETIMEDOUT;
		snprintf(err, errlen, "%s", *busy ? "another graph was being drawn" : strerror(e));
		return NULL;
	}
	rrd_clear_error();
	info = rrd_graph_v(a->n, a->v);
	if (info == NULL)
		snprintf(err, errlen, "rrd_graph: %s",
		         rrd_test_error() ? rrd_get_error() : "failed");
	rrd_clear_error();
	pthread_mutex_unlock(&rrd_graph_lock);
	return info;
}

/* The data area, plot_w x plot_h, by librrd. 0, or -1 with err set, -2
 * if the deadline passed while another thread was graphing. */
static int rrd_draw_data(struct rrd_result *r, const struct graph_req *g, int plot_w, int plot_h,
                         char *err, size_t errlen)
{
	struct args *a = calloc(1, sizeof(*a));
	char path_esc[4200];
	double lo = INFINITY, hi = -INFINITY;
	const double lims[] = {g->min, g->max, g->warning_min, g->warning_max, g->mark_v};
	int band = 0;

	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rrd_escape(path_esc, sizeof(path_esc), g->rrd_path);

	arg_add(a, "graphv");
	arg_add(a, "-");
	arg_add(a, "--imgformat=PNG");
	arg_add(a, "--only-graph"); /* see the top of the file */
	arg_add(a, "--start=%ld", g->start);
	arg_add(a, "--end=%ld", g->end);
	arg_add(a, "--width=%d", plot_w);
	arg_add(a, "--height=%d", plot_h);
	arg_add(a, "--slope-mode");
	arg_add(a, "--border=0");
	arg_add(a, "--color=BACK#FFFFFF");
	arg_add(a, "--color=CANVAS#FFFFFF");
	if (g->rrdcached && g->rrdcached[0] && !g->no_data)
		arg_add(a, "--daemon=%s", g->rrdcached);

	/* Keep every limit, and the alert's sample, in view; the data can
	 * still widen the axis. */
	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
		if (isfinite(lims[i])) {
			lo = fmin(lo, lims[i]);
			hi = fmax(hi, lims[i]);
		}
	}
	if (isfinite(lo)) {
		double margin = hi > lo ? (hi - lo) * 0.15 : fabs(lo) * 0.1 + 1.0;

		arg_add(a, "--lower-limit=%.10g", lo - margin);
		arg_add(a, "--upper-limit=%.10g", hi + margin);
	}

	if (!g->no_data) {
		arg_add(a, "DEF:avg=%s:value:AVERAGE", path_esc);
		arg_add(a, "DEF:lo=%s:value:MIN", path_esc);
		arg_add(a, "DEF:hi=%s:value:MAX", path_esc);
		arg_add(a, "CDEF:spread=hi,lo,-");

		/* Warning zones, behind the data. */
		if (isfinite(g->min) && isfinite(g->warning_min) && g->warning_min > g->min)
			add_band(a, &band, g->min, g->warning_min, "#F9A82555");
		if (isfinite(g->max) && isfinite(g->warning_max) && g->warning_max < g->max)
			add_band(a, &band, g->warning_max, g->max, "#F9A82555");

		arg_add(a, "AREA:lo");
		arg_add(a, "AREA:spread#4F81BD50::STACK");
		arg_add(a, "LINE1.5:avg#1F3F7F");
	}

	if (isfinite(g->min))
		arg_add(a, "HRULE:%.10g#C62828::dashes", g->min);
	if (isfinite(g->max))
		arg_add(a, "HRULE:%.10g#C62828::dashes", g->max);
	/* A warning limit without its hard limit has no zone to shade
	 * (nor, without data, a zone at all: then its line). */
	if (isfinite(g->warning_min) &&
	    (g->no_data || !(isfinite(g->min) && g->warning_min > g->min)))
		arg_add(a, "HRULE:%.10g#E65100::dashes=2", g->warning_min);
	if (isfinite(g->warning_max) &&
	    (g->no_data || !(isfinite(g->max) && g->warning_max < g->max)))
		arg_add(a, "HRULE:%.10g#E65100::dashes=2", g->warning_max);

	if (!g->no_data) {
		/* PRINT (unlike GPRINT) frees what it formats. */
		arg_add(a, "PRINT:avg:LAST:%%.2lf");
		arg_add(a, "PRINT:lo:MIN:%%.2lf");
		arg_add(a, "PRINT:hi:MAX:%%.2lf");
	}

	if (a->overflow) {
		snprintf(err, errlen, "graph arguments too long");
		free(a);
		return -1;
	}

	bool busy = false;
	r->info = graph_locked(g, a, &busy, err, errlen);
	free(a);
	if (r->info == NULL)
		return busy ? -2 : -1;
	rrd_result_scan(r);
	if (r->img == NULL || r->img_len == 0) {
		snprintf(err, errlen, "rrd_graph returned no image");
		return -1;
	}
	return 0;
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

/* The alert's sample on top of the data, where librrd's axes put it. */
static void draw_mark(cairo_t *cr, const struct graph_req *g, const struct rrd_result *r,
                      int plot_w, int plot_h)
{
	double t0 = isfinite(r->t0) ? r->t0 : (double)g->start;
	double t1 = isfinite(r->t1) ? r->t1 : (double)g->end;
	double x, y;

	if (!isfinite(g->mark_v) || !(t1 > t0) || !isfinite(r->vmin) || !(r->vmax > r->vmin))
		return;
	x = AXIS_L + (g->mark_t - t0) / (t1 - t0) * plot_w;
	y = TITLE_H + plot_h - (g->mark_v - r->vmin) / (r->vmax - r->vmin) * plot_h;
	x = fmin(fmax(x, AXIS_L + MARK_R), AXIS_L + plot_w - MARK_R);
	y = fmin(fmax(y, TITLE_H + MARK_R), TITLE_H + plot_h - MARK_R);
	cairo_new_path(cr);
	frame_rgba(cr, c_avg);
	cairo_arc(cr, x, y, MARK_R, 0, 2 * M_PI);
	cairo_fill(cr);
}

/* The whole picture into png (the caller frees it). 0, or -1 with err,
 * -2 as rrd_draw_data. */
static int graph_draw(const struct graph_req *g, struct sbuf *png, char *err, size_t errlen)
{
	struct rrd_result r = {0};
	struct legend *lg = calloc(1, sizeof(*lg));
	const char *stats_in[3] = {"", "", ""};
	char stats[3][96];
	cairo_surface_t *out = NULL, *data = NULL;
	cairo_t *cr = NULL;
	struct png_reader rd;
	const int W = g->w, H = g->h;
	int lines, plot_w = W - AXIS_L - AXIS_R, plot_h, rc = -1;

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

	if ((rc = rrd_draw_data(&r, g, plot_w, plot_h, err, errlen)) != 0)
		goto done;
	rc = -1;
	rd.p = r.img;
	rd.left = r.img_len;
	data = cairo_image_surface_create_from_png_stream(png_from_blob, &rd);
	if (cairo_surface_status(data) != CAIRO_STATUS_SUCCESS) {
		snprintf(err, errlen, "rrd_graph image: %s",
		         cairo_status_to_string(cairo_surface_status(data)));
		goto done;
	}
	if (cairo_image_surface_get_width(data) != plot_w ||
	    cairo_image_surface_get_height(data) != plot_h) {
		snprintf(err, errlen, "rrd_graph image is %dx%d, expected %dx%d",
		         cairo_image_surface_get_width(data), cairo_image_surface_get_height(data),
		         plot_w, plot_h);
		goto done;
	}

	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_set_source_surface(cr, data, AXIS_L, TITLE_H);
	cairo_paint(cr);
	for (size_t i = 0; i < g->n_bands; i++)
		frame_shade(cr, AXIS_L, TITLE_H, plot_w, plot_h, isfinite(r.t0) ? r.t0 : (double)g->start,
		            isfinite(r.t1) ? r.t1 : (double)g->end, g->bands[i].from, g->bands[i].to,
		            g->bands[i].maintenance ? c_maint : c_firing);

	frame_value_axis(cr, AXIS_L, TITLE_H, plot_w, plot_h, r.vmin, r.vmax);
	frame_time_axis(cr, g->period, AXIS_L, TITLE_H, plot_w, plot_h,
	                isfinite(r.t0) ? r.t0 : (double)g->start,
	                isfinite(r.t1) ? r.t1 : (double)g->end);
	draw_mark(cr, g, &r, plot_w, plot_h);
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

	for (int i = 0; i < 3; i++) {
		format_stat(stats[i], sizeof(stats[i]), r.print[i], g->unit);
		stats_in[i] = stats[i];
	}
	memset(lg, 0, sizeof(*lg));
	legend_build(lg, g, stats_in);
	frame_legend_flow(cr, lg, AXIS_L, W - AXIS_R,
	                  TITLE_H + plot_h + XLABEL_H + LEGEND_LINE_H - 2, true);

	/* The title, centred in its strip. */
	cairo_set_font_size(cr, TITLE_PX);
	frame_rgba(cr, c_text);
	frame_text_at(cr, W / 2.0, 15, g->title, 0.5);

	cairo_surface_flush(out);
	if (cairo_surface_write_to_png_stream(out, png_to_sbuf, png) != CAIRO_STATUS_SUCCESS ||
	    png->failed)
		snprintf(err, errlen, "PNG encoding failed");
	else
		rc = 0;
done:
	if (data)
		cairo_surface_destroy(data);
	cairo_destroy(cr);
	cairo_surface_destroy(out);
	if (r.info)
		rrd_info_free(r.info);
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
