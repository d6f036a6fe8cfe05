/*
 * ljchart.c: Levey-Jennings charts, drawn with cairo from the snapshot's
 * QC results (no RRD read: a QC chart is about runs, not time buckets).
 *
 * Layout, DASH_LJ_W x DASH_LJ_H pixels: the x axis is the result index
 * (the last 31 results of the last 30 days, oldest left), with the date
 * written under the first result of each day; the y axis is z, from -4 to
 * +4 SD, with the mean and +-1/2/3 SD lines labelled by SD and by value
 * at the current targets. Points are placed by the z they were judged
 * with, so a target change does not move earlier points. Status has a
 * colour and a shape, for readers who do not tell colours apart:
 * accept = green disc, warning = amber square, reject = red cross in a
 * red ring, baseline = blue ring; a point beyond 4 SD sits on the edge
 * with an arrow. A lot change (from the snapshot, or two results whose
 * lot differs) is a grey vertical line between the results, a target
 * change a purple dashed one. Rules that fired are written by the point.
 *
 * The PNG is encoded into memory and written with fs_write_replace(), or
 * handed back (dash_lj_png: a QC alert's email). ljchart_paint draws the
 * same chart on the caller's cairo context (a report's PDF page). cairo only, no lock:
 * each call has its own surface.
 */
#include "dashboards/dash_int.h"
#include "daemon/fsutil.h"
#include "dashboards/png_write.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define Z_RANGE 4.0
#define MARGIN_L 118.0
#define MARGIN_R 16.0
#define MARGIN_T 34.0
#define MARGIN_B 58.0

struct rgb {
	double r, g, b;
};

static const struct rgb c_accept = {0.18, 0.49, 0.20}, c_warning = {0.98, 0.66, 0.15},
                        c_reject = {0.78, 0.16, 0.16}, c_baseline = {0.08, 0.40, 0.75},
                        c_text = {0.1, 0.1, 0.1}, c_lot = {0.35, 0.35, 0.35},
                        c_target = {0.48, 0.12, 0.64};

static void set_rgb(cairo_t *cr, struct rgb c)
{
	cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

uint64_t ljchart_signature(const struct dash_instrument *in, const struct dash_qc_analyte *a,
                           const struct dash_qc_level *l, double now)
{
	uint64_t h = DASH_FNV_INIT;
	size_t first, n = dash_qc_window(l, now, &first);

	h = dash_fnv_str(h, in->name);
	h = dash_fnv_str(h, a->name);
	h = dash_fnv_str(h, l->name);
	h = dash_fnv_double(h, l->mean);
	h = dash_fnv_double(h, l->sd);
	h = dash_fnv_double(h, (double)first);
	h = dash_fnv_double(h, (double)n);
	for (size_t i = first ? first - 1 : 0; i < first + n; i++) {
		const struct dash_qc_result *r = &l->results[i];

		h = dash_fnv_double(h, r->t);
		h = dash_fnv_double(h, r->value);
		h = dash_fnv_double(h, r->z);
		h = dash_fnv_double(h, (double)r->status);
		h = dash_fnv_str(h, r->lot);
		h = dash_fnv_str(h, r->rules);
	}
	for (size_t i = 0; i < l->n_changes; i++) {
		h = dash_fnv_double(h, l->changes[i].t);
		h = dash_fnv_double(h, (double)l->changes[i].kind);
		h = dash_fnv_str(h, l->changes[i].label);
	}
	h = dash_fnv_double(h, DASH_LJ_W * 10000.0 + DASH_LJ_H);
	return h;
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double align)
{
	cairo_text_extents_t ext;

	cairo_text_extents(cr, s, &ext);
	cairo_move_to(cr, x - ext.x_advance * align, y);
	cairo_show_text(cr, s);
}

static void draw_marker(cairo_t *cr, double x, double y, enum dash_qc_status st)
{
	const double r = 5.0;

	cairo_new_path(cr);
	switch (st) {
	case DASH_QC_ACCEPT:
	case DASH_QC_NONE:
		set_rgb(cr, c_accept);
		cairo_arc(cr, x, y, r, 0, 2 * M_PI);
		cairo_fill(cr);
		break;
	case DASH_QC_WARNING:
		set_rgb(cr, c_warning);
		cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r);
		cairo_fill_preserve(cr);
		cairo_set_source_rgb(cr, 0, 0, 0);
		cairo_set_line_width(cr, 1.0);
		cairo_stroke(cr);
		break;
	case DASH_QC_REJECT:
		set_rgb(cr, c_reject);
		cairo_set_line_width(cr, 2.5);
		cairo_move_to(cr, x - r, y - r);
		cairo_line_to(cr, x + r, y + r);
		cairo_move_to(cr, x + r, y - r);
		cairo_line_to(cr, x - r, y + r);
		cairo_stroke(cr);
		cairo_set_line_width(cr, 1.5);
		cairo_arc(cr, x, y, r + 3, 0, 2 * M_PI);
		cairo_stroke(cr);
		break;
	case DASH_QC_BASELINE:
		set_rgb(cr, c_baseline);
		cairo_set_line_width(cr, 2.0);
		cairo_arc(cr, x, y, r, 0, 2 * M_PI);
		cairo_stroke(cr);
		break;
	}
}

/* The mean and SD the lines are labelled with: the targets, or, while a
 * baseline is being established, the shown results' own. */
static bool display_targets(const struct dash_qc_level *l, size_t first, size_t n, double *mean,
                            double *sd)
{
	double s = 0, ss = 0;

	if (isfinite(l->mean) && isfinite(l->sd) && l->sd > 0) {
		*mean = l->mean;
		*sd = l->sd;
		return true;
	}
	for (size_t i = first; i < first + n; i++)
		s += l->results[i].value;
	*mean = n ? s / (double)n : NAN;
	for (size_t i = first; i < first + n; i++)
		ss += (l->results[i].value - *mean) * (l->results[i].value - *mean);
	*sd = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
	return false;
}

/* Gap g (0..n) of the window: between shown results g-1 and g. A change
 * at time t falls in the gap before the first shown result at or after
 * t; -1 if it is outside what the chart shows. */
static int change_gap(const struct dash_qc_level *l, size_t first, size_t n, double t)
{
	size_t g = 0;

	while (g < n && l->results[first + g].t < t)
		g++;
	if (g == 0 && (first == 0 || l->results[first - 1].t >= t))
		return -1; /* before anything shown could tell */
	return (int)g;
}

int ljchart_paint(cairo_t *cr, const struct dash_instrument *in, const struct dash_qc_analyte *a,
                  const struct dash_qc_level *l, size_t first, size_t n, const char *what)
{
	const double plot_w = DASH_LJ_W - MARGIN_L - MARGIN_R;
	const double plot_h = DASH_LJ_H - MARGIN_T - MARGIN_B;
	size_t slots = n < 10 ? 10 : n;
	double mean, sd, slot_w = plot_w / (double)slots;
	bool real_targets = display_targets(l, first, n, &mean, &sd);
	char buf[200];
	unsigned char *gap_lot = calloc(n + 1, 1), *gap_target = calloc(n + 1, 1);
	double last_label_x = -1e9;

	if (!gap_lot || !gap_target) {
		free(gap_lot);
		free(gap_target);
		return -1;
	}
	/* A white box, not cairo_paint: the caller's surface may be a page. */
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_rectangle(cr, 0, 0, DASH_LJ_W, DASH_LJ_H);
	cairo_fill(cr);
	cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	cairo_set_font_size(cr, 13);
	set_rgb(cr, c_text);
	if (what != NULL)
		snprintf(buf, sizeof(buf), "%s  %s %s: Levey-Jennings, %s", in->name, a->name,
		         l->name, what);
	else
		snprintf(buf, sizeof(buf), "%s  %s %s: Levey-Jennings, last %zu result%s", in->name,
		         a->name, l->name, n, n == 1 ? "" : "s");
	text_at(cr, DASH_LJ_W / 2.0, 20, buf, 0.5);
	cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

#define ZY(z) (MARGIN_T + plot_h / 2.0 - (z)*plot_h / (2.0 * Z_RANGE))
#define SX(i) (MARGIN_L + ((double)(i) + 0.5) * slot_w)

	/* SD lines and their labels. */
	cairo_set_font_size(cr, 10.5);
	for (int k = -3; k <= 3; k++) {
		double y = ZY(k);
		static const double dash_1[] = {2, 3}, dash_2[] = {6, 4}, dash_3[] = {10, 3};

		switch (abs(k)) {
		case 0:
			cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
			cairo_set_dash(cr, NULL, 0, 0);
			break;
		case 1:
			cairo_set_source_rgb(cr, 0.55, 0.55, 0.55);
			cairo_set_dash(cr, dash_1, 2, 0);
			break;
		case 2:
			set_rgb(cr, c_warning);
			cairo_set_dash(cr, dash_2, 2, 0);
			break;
		default:
			set_rgb(cr, c_reject);
			cairo_set_dash(cr, dash_3, 2, 0);
			break;
		}
		cairo_set_line_width(cr, k == 0 ? 1.5 : 1.0);
		cairo_move_to(cr, MARGIN_L, y);
		cairo_line_to(cr, MARGIN_L + plot_w, y);
		cairo_stroke(cr);
		cairo_set_dash(cr, NULL, 0, 0);
		set_rgb(cr, c_text);
		if (k == 0)
			snprintf(buf, sizeof(buf), "mean");
		else
			snprintf(buf, sizeof(buf), "%+d SD", k);
		text_at(cr, 6, y + 4, buf, 0);
		if (isfinite(mean) && isfinite(sd)) {
			snprintf(buf, sizeof(buf), "%.4g", mean + k * sd);
			text_at(cr, MARGIN_L - 6, y + 4, buf, 1.0);
		}
	}
	if (!real_targets) {
		set_rgb(cr, c_baseline);
		text_at(cr, MARGIN_L + 4, MARGIN_T - 4,
		        "no targets yet: lines from these results (provisional)", 0);
	}

	/* Lot and target changes, as vertical lines in the gaps. */
	for (size_t i = 0; i < l->n_changes; i++) {
		int g = change_gap(l, first, n, l->changes[i].t);

		if (g < 0)
			continue;
		if (l->changes[i].kind == DASH_CHANGE_LOT)
			gap_lot[g] = 1;
		else
			gap_target[g] = 1;
	}
	for (size_t g = 0; g < n; g++) {
		const struct dash_qc_result *r = &l->results[first + g];

		if ((first + g) > 0 && r->lot[0] && l->results[first + g - 1].lot[0] &&
		    strcmp(r->lot, l->results[first + g - 1].lot) != 0)
			gap_lot[g] = 1;
	}
	cairo_set_font_size(cr, 9.5);
	for (size_t g = 0; g <= n; g++) {
		double x = MARGIN_L + (double)g * slot_w;
		static const double dash_t[] = {5, 3};

		if (gap_lot[g]) {
			set_rgb(cr, c_lot);
			cairo_set_line_width(cr, 2.0);
			cairo_move_to(cr, x - (gap_target[g] ? 2 : 0), MARGIN_T);
			cairo_line_to(cr, x - (gap_target[g] ? 2 : 0), MARGIN_T + plot_h);
			cairo_stroke(cr);
			if (g < n && l->results[first + g].lot[0]) {
				snprintf(buf, sizeof(buf), "lot %s", l->results[first + g].lot);
				text_at(cr, x + 3, MARGIN_T + plot_h - 4, buf, 0);
			} else {
				text_at(cr, x + 3, MARGIN_T + plot_h - 4, "lot", 0);
			}
		}
		if (gap_target[g]) {
			set_rgb(cr, c_target);
			cairo_set_line_width(cr, 2.0);
			cairo_set_dash(cr, dash_t, 2, 0);
			cairo_move_to(cr, x + (gap_lot[g] ? 2 : 0), MARGIN_T);
			cairo_line_to(cr, x + (gap_lot[g] ? 2 : 0), MARGIN_T + plot_h);
			cairo_stroke(cr);
			cairo_set_dash(cr, NULL, 0, 0);
			text_at(cr, x + 3, MARGIN_T + 10, "new targets", 0);
		}
	}

	/* Frame. */
	cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
	cairo_set_line_width(cr, 1.0);
	cairo_rectangle(cr, MARGIN_L + 0.5, MARGIN_T + 0.5, plot_w - 1, plot_h - 1);
	cairo_stroke(cr);

	/* The results: a thin line in run order, then the markers. */
	cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
	cairo_set_line_width(cr, 1.0);
	for (size_t i = 0; i < n; i++) {
		const struct dash_qc_result *r = &l->results[first + i];
		double z = isfinite(r->z) ? r->z : (r->value - mean) / sd;

		if (!isfinite(z))
			continue;
		z = fmax(-Z_RANGE, fmin(Z_RANGE, z));
		if (i == 0)
			cairo_move_to(cr, SX(i), ZY(z));
		else
			cairo_line_to(cr, SX(i), ZY(z));
	}
	cairo_stroke(cr);
	for (size_t i = 0; i < n; i++) {
		const struct dash_qc_result *r = &l->results[first + i];
		double z = isfinite(r->z) ? r->z : (r->value - mean) / sd;
		double x = SX(i), y;
		struct tm tm;
		time_t tt = (time_t)r->t;

		if (isfinite(z)) {
			double zc = fmax(-Z_RANGE + 0.15, fmin(Z_RANGE - 0.15, z));

			y = ZY(zc);
			draw_marker(cr, x, y, r->status);
			if (fabs(z) > Z_RANGE - 0.15) { /* off the scale: an arrow */
				double dir = z > 0 ? -1 : 1;

				set_rgb(cr, c_text);
				cairo_move_to(cr, x - 4, y + dir * 9);
				cairo_line_to(cr, x + 4, y + dir * 9);
				cairo_line_to(cr, x, y + dir * 14);
				cairo_close_path(cr);
				cairo_fill(cr);
			}
			if (r->rules[0] &&
			    (r->status == DASH_QC_REJECT || r->status == DASH_QC_WARNING)) {
				set_rgb(cr, r->status == DASH_QC_REJECT ? c_reject : c_text);
				cairo_set_font_size(cr, 9.5);
				text_at(cr, x, zc > 0 ? y + 20 : y - 12, r->rules,
				        x > MARGIN_L + plot_w - 60 ? 1.0 : 0.5);
			}
		}
		/* Date under the first result of each day. */
		if (localtime_r(&tt, &tm) && x - last_label_x >= 40) {
			struct tm prev;
			time_t pt = i ? (time_t)l->results[first + i - 1].t : 0;

			if (i == 0 || !localtime_r(&pt, &prev) || prev.tm_yday != tm.tm_yday ||
			    prev.tm_year != tm.tm_year) {
				strftime(buf, sizeof(buf), "%m-%d", &tm);
				set_rgb(cr, c_text);
				cairo_set_font_size(cr, 10);
				text_at(cr, x, MARGIN_T + plot_h + 14, buf, 0.5);
				cairo_move_to(cr, x, MARGIN_T + plot_h);
				cairo_line_to(cr, x, MARGIN_T + plot_h + 4);
				cairo_stroke(cr);
				last_label_x = x;
			}
		}
	}
	if (n == 0) {
		set_rgb(cr, c_text);
		cairo_set_font_size(cr, 13);
		text_at(cr, MARGIN_L + plot_w / 2, MARGIN_T + plot_h / 2 - 8,
		        what ? "no results" : "no results in the last 30 days", 0.5);
	}

	/* Legend. */
	{
		double y = DASH_LJ_H - 14, x = MARGIN_L;
		static const struct {
			enum dash_qc_status st;
			const char *label;
		} items[] = {{DASH_QC_ACCEPT, "accepted"},
		             {DASH_QC_WARNING, "warning"},
		             {DASH_QC_REJECT, "rejected"},
		             {DASH_QC_BASELINE, "baseline"}};
		cairo_text_extents_t ext;

		cairo_set_font_size(cr, 10.5);
		for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
			draw_marker(cr, x + 6, y - 4, items[i].st);
			set_rgb(cr, c_text);
			text_at(cr, x + 16, y, items[i].label, 0);
			cairo_text_extents(cr, items[i].label, &ext);
			x += 16 + ext.x_advance + 16;
		}
		set_rgb(cr, c_lot);
		cairo_set_line_width(cr, 2.0);
		cairo_move_to(cr, x + 4, y - 11);
		cairo_line_to(cr, x + 4, y + 2);
		cairo_stroke(cr);
		set_rgb(cr, c_text);
		text_at(cr, x + 10, y, "lot change", 0);
		cairo_text_extents(cr, "lot change", &ext);
		x += 10 + ext.x_advance + 16;
		{
			static const double dash_t[] = {4, 2};

			set_rgb(cr, c_target);
			cairo_set_dash(cr, dash_t, 2, 0);
			cairo_move_to(cr, x + 4, y - 11);
			cairo_line_to(cr, x + 4, y + 2);
			cairo_stroke(cr);
			cairo_set_dash(cr, NULL, 0, 0);
		}
		set_rgb(cr, c_text);
		text_at(cr, x + 10, y, "target change", 0);
	}
#undef ZY
#undef SX
	free(gap_lot);
	free(gap_target);
	return 0;
}

/* The chart into png (the caller frees it). 0, or -1 with err set. */
static int ljchart_draw(const struct dash_instrument *in, const struct dash_qc_analyte *a,
                        const struct dash_qc_level *l, double now, struct sbuf *png, char *err,
                        size_t errlen)
{
	cairo_surface_t *surf;
	cairo_t *cr;
	size_t first, n = dash_qc_window(l, now, &first);
	int rc = -1;

	surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, DASH_LJ_W, DASH_LJ_H);
	cr = cairo_create(surf);
	if (ljchart_paint(cr, in, a, l, first, n, NULL) == -1) {
		snprintf(err, errlen, "out of memory");
		cairo_destroy(cr);
		cairo_surface_destroy(surf);
		return -1;
	}
	cairo_surface_flush(surf);
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
		snprintf(err, errlen, "cairo: %s", cairo_status_to_string(cairo_status(cr)));
	} else if (dash_png_encode(surf, png) != 0) {
		snprintf(err, errlen, "cairo: cannot encode PNG");
	} else {
		rc = 0;
	}
	cairo_destroy(cr);
	cairo_surface_destroy(surf);
	return rc;
}

int ljchart_render(const char *png_path, const struct dash_instrument *in,
                   const struct dash_qc_analyte *a, const struct dash_qc_level *l, double now,
                   char *err, size_t errlen)
{
	struct sbuf png = {0};
	int rc = -1;

	if (ljchart_draw(in, a, l, now, &png, err, errlen) == 0)
		rc = sbuf_write_file(&png, png_path, err, errlen);
	sbuf_free(&png);
	return rc;
}

int dash_lj_png(const struct dash_instrument *in, const struct dash_qc_analyte *a,
                const struct dash_qc_level *l, double now, unsigned char **png, size_t *len,
                char *err, size_t errlen)
{
	struct sbuf buf = {0};

	*png = NULL;
	*len = 0;
	if (ljchart_draw(in, a, l, now, &buf, err, errlen) == -1) {
		sbuf_free(&buf);
		return -1;
	}
	*png = (unsigned char *)buf.p;
	*len = buf.len;
	return 0;
}
