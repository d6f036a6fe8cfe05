/*
 * graph_frame.h: what graph.c draws around librrd's data area with cairo
 * (graph_frame.c): the layout, the colours, the legend and the axes.
 * Internal to dashboards/.
 */
#ifndef LABQCD_GRAPH_FRAME_H
#define LABQCD_GRAPH_FRAME_H

#include <cairo.h>
#include <stdbool.h>

#include "dashboards/dash_int.h"

#define FONT "DejaVu Sans"
#define TITLE_PX 11.0
#define TEXT_PX 9.5
#define TITLE_H 22 /* strip above the data area */
#define AXIS_L 66  /* unit label and value labels */
#define AXIS_R 16
#define XLABEL_H 15 /* time labels under the data area */
#define LEGEND_LINE_H 13
#define BOTTOM_PAD 3
#define MARK_R 3.5 /* the alert's sample: a disc of the average line's colour */

struct rgba {
	double r, g, b, a;
};

static const struct rgba c_text = {0.2, 0.2, 0.2, 1}, c_grid = {0, 0, 0, 0.13},
                         c_axis = {0.55, 0.55, 0.55, 1}, c_band = {0.976, 0.659, 0.145, 0.333},
                         c_spread = {0.310, 0.506, 0.741, 0.314}, c_avg = {0.122, 0.247, 0.498, 1},
                         c_limit = {0.776, 0.157, 0.157, 1}, c_warnlim = {0.902, 0.318, 0, 1};
/* The shaded periods of the full-size graphs, over the data: on white,
 * firing is (247, 204, 204) and maintenance (216, 216, 216). */
static const struct rgba c_firing = {0.85, 0.1, 0.1, 0.22}, c_maint = {0.45, 0.45, 0.45, 0.28};

enum swatch { SW_AREA, SW_LINE, SW_DASH, SW_DOT, SW_NONE };

struct legend_item {
	enum swatch swatch;
	struct rgba colour;
	char text[192];
};

#define LEGEND_MAX 14

struct legend {
	struct legend_item item[LEGEND_MAX];
	int n;
};

void frame_legend_add(struct legend *lg, enum swatch sw, struct rgba colour, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void frame_rgba(cairo_t *cr, struct rgba c);
/* Lay the legend out left to right from (x0, y0), wrapping at x1, one
 * baseline every LEGEND_LINE_H; draw it if `draw`. Returns the lines used. */
int frame_legend_flow(cairo_t *cr, const struct legend *lg, double x0, double x1, double y0,
                      bool draw);
/* Text at (x, y); align 0 left, 0.5 centred, 1 right. */
void frame_text_at(cairo_t *cr, double x, double y, const char *s, double align);
/* Value axis: grid lines at a 1-2-5 step, about five of them. */
void frame_value_axis(cairo_t *cr, double left, double top, double w, double h, double vmin,
                      double vmax);
/* Shade the time span [from, to] of a data area that shows [t0, t1]. */
void frame_shade(cairo_t *cr, double left, double top, double w, double h, double t0, double t1,
                 double from, double to, struct rgba c);
/* Time axis: grid and labels at local-time boundaries for `period`. */
void frame_time_axis(cairo_t *cr, enum dash_period period, double left, double top, double w,
                     double h, double t0, double t1);

#endif
