/*
 * graph.c: one channel graph, drawn by librrd's rrd_graph_v() (the
 * library; the rrdtool program is never run).
 *
 * A graph is DASH_GRAPH_W x DASH_GRAPH_H pixels for the whole image
 * (--full-size-mode), titled "<instrument> <channel>, last <period>", the
 * unit on the vertical axis, the MIN..MAX envelope shaded behind the
 * AVERAGE line, the hard limits as red dashed HRULEs and the warning
 * zones (between a hard limit and its warning limit) shaded amber. The
 * image comes back in the "image" entry of rrd_graph_v's info list
 * (file name "-") and is written with fs_write_atomic(), so a browser
 * never sees half a PNG.
 *
 * Threads: see dashboards.h; one caller at a time.
 */
#include "dash_int.h"
#include "fsutil.h"

#include <errno.h>
#include <math.h>
#include <rrd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAPH_MAX_ARGS 64

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
 * Make text safe inside an rrd_graph element: ':' separates fields (so
 * "\:"), '%' starts a format in GPRINT (so "%%" where `in_format`), and a
 * backslash starts a legend code such as \l (replaced by '/').
 */
static void rrd_escape(char *out, size_t len, const char *s, bool in_format)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == ':') {
			out[o++] = '\\';
			out[o++] = ':';
		} else if (*s == '%' && in_format) {
			out[o++] = '%';
			out[o++] = '%';
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
static void add_band(struct args *a, int *band, double from, double to, const char *colour,
                     const char *legend)
{
	int k = (*band)++;

	arg_add(a, "CDEF:b%dlo=avg,UN,%.10g,%.10g,IF", k, from, from);
	arg_add(a, "CDEF:b%dh=avg,UN,%.10g,%.10g,IF", k, to - from, to - from);
	arg_add(a, "AREA:b%dlo", k);
	arg_add(a, "AREA:b%dh%s:%s:STACK", k, colour, legend);
}

int graph_render(const char *rrd_path, const char *png_path, const char *rrdcached,
                 const struct dash_instrument *in, const struct dash_channel *c,
                 enum dash_period period, double now, char *err, size_t errlen)
{
	struct args *a = calloc(1, sizeof(*a));
	char path_esc[4200], unit_fmt[128], unit_lbl[128];
	rrd_info_t *info, *it;
	const void *img = NULL;
	size_t img_len = 0;
	double lo = INFINITY, hi = -INFINITY;
	const double lims[] = {c->min, c->max, c->warning_min, c->warning_max};
	bool warned_legend = false;
	int band = 0, rc = -1;
	long end = (long)now, start = (long)(now - period_seconds(period));

	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rrd_escape(path_esc, sizeof(path_esc), rrd_path, false);
	rrd_escape(unit_fmt, sizeof(unit_fmt), c->unit, true);
	rrd_escape(unit_lbl, sizeof(unit_lbl), c->unit, false);

	arg_add(a, "graphv");
	arg_add(a, "-");
	arg_add(a, "--imgformat=PNG");
	arg_add(a, "--start=%ld", start);
	arg_add(a, "--end=%ld", end);
	arg_add(a, "--width=%d", DASH_GRAPH_W);
	arg_add(a, "--height=%d", DASH_GRAPH_H);
	arg_add(a, "--full-size-mode");
	arg_add(a, "--slope-mode");
	arg_add(a, "--border=0");
	arg_add(a, "--color=BACK#FFFFFF");
	arg_add(a, "--color=CANVAS#FFFFFF");
	arg_add(a, "--title=%s %s, last %s", in->name, c->name, dash_period_name(period));
	arg_add(a, "--vertical-label=%s", c->unit[0] ? c->unit : " ");
	if (rrdcached && rrdcached[0])
		arg_add(a, "--daemon=%s", rrdcached);

	/* Keep every limit in view; the data can still widen the axis. */
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

	arg_add(a, "DEF:avg=%s:value:AVERAGE", path_esc);
	arg_add(a, "DEF:lo=%s:value:MIN", path_esc);
	arg_add(a, "DEF:hi=%s:value:MAX", path_esc);
	arg_add(a, "CDEF:spread=hi,lo,-");

	/* Warning zones, behind the data. */
	if (isfinite(c->min) && isfinite(c->warning_min) && c->warning_min > c->min) {
		add_band(a, &band, c->min, c->warning_min, "#F9A82555", "warning zone");
		warned_legend = true;
	}
	if (isfinite(c->max) && isfinite(c->warning_max) && c->warning_max < c->max)
		add_band(a, &band, c->warning_max, c->max, "#F9A82555",
		         warned_legend ? "" : "warning zone");

	arg_add(a, "AREA:lo");
	arg_add(a, "AREA:spread#4F81BD50:min to max:STACK");
	arg_add(a, "LINE1.5:avg#1F3F7F:average");

	if (isfinite(c->min))
		arg_add(a, "HRULE:%.10g#C62828:min %.6g %s:dashes", c->min, c->min, unit_lbl);
	if (isfinite(c->max))
		arg_add(a, "HRULE:%.10g#C62828:max %.6g %s:dashes", c->max, c->max, unit_lbl);
	/* A warning limit without its hard limit has no zone to shade. */
	if (isfinite(c->warning_min) && !(isfinite(c->min) && c->warning_min > c->min))
		arg_add(a, "HRULE:%.10g#E65100:warning below %.6g:dashes=2", c->warning_min,
		        c->warning_min);
	if (isfinite(c->warning_max) && !(isfinite(c->max) && c->warning_max < c->max))
		arg_add(a, "HRULE:%.10g#E65100:warning above %.6g:dashes=2", c->warning_max,
		        c->warning_max);

	arg_add(a, "COMMENT:\\n");
	arg_add(a, "GPRINT:avg:LAST:last %%.2lf %s", unit_fmt);
	arg_add(a, "GPRINT:lo:MIN:lowest %%.2lf %s", unit_fmt);
	arg_add(a, "GPRINT:hi:MAX:highest %%.2lf %s\\l", unit_fmt);

	if (a->overflow) {
		snprintf(err, errlen, "graph arguments too long");
		free(a);
		return -1;
	}

	rrd_clear_error();
	info = rrd_graph_v(a->n, a->v);
	if (info == NULL) {
		snprintf(err, errlen, "rrd_graph: %s",
		         rrd_test_error() ? rrd_get_error() : "failed");
		rrd_clear_error();
		free(a);
		return -1;
	}
	for (it = info; it; it = it->next) {
		if (it->type == RD_I_BLO && strcmp(it->key, "image") == 0) {
			img = it->value.u_blo.ptr;
			img_len = it->value.u_blo.size;
		}
	}
	if (img == NULL || img_len == 0) {
		snprintf(err, errlen, "rrd_graph returned no image%s%s",
		         rrd_test_error() ? ": " : "", rrd_test_error() ? rrd_get_error() : "");
	} else if (fs_write_atomic(png_path, img, img_len, 0644) == -1) {
		snprintf(err, errlen, "%s: %s", png_path, strerror(errno));
	} else {
		rc = 0;
	}
	rrd_info_free(info);
	rrd_clear_error();
	free(a);
	return rc;
}
