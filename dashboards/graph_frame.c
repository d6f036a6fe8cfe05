/*
 * graph_frame.c: the frame graph.c draws with cairo around librrd's data
 * area (see the top of graph.c for why librrd does not draw it): the
 * legend, the value axis and the time axis. Each call draws on the
 * caller's own cairo context; nothing global.
 */
#include "dashboards/graph_frame.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void frame_legend_add(struct legend *lg, enum swatch sw, struct rgba colour, const char *fmt, ...)
{
	struct legend_item *it;
	va_list ap;

	if (lg->n == LEGEND_MAX)
		return;
	it = &lg->item[lg->n++];
	it->swatch = sw;
	it->colour = colour;
	va_start(ap, fmt);
	vsnprintf(it->text, sizeof(it->text), fmt, ap);
	va_end(ap);
}

void frame_rgba(cairo_t *cr, struct rgba c)
{
	cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a);
}

/* Lay the legend out left to right from (x0, y0), wrapping at x1, one
 * baseline every LEGEND_LINE_H; draw it if `draw`. Returns the lines used. */
int frame_legend_flow(cairo_t *cr, const struct legend *lg, double x0, double x1, double y0,
                      bool draw)
{
	const double box = 8, gap = 4, spacing = 14;
	double x = x0, y = y0;
	int lines = lg->n > 0;

	for (int i = 0; i < lg->n; i++) {
		const struct legend_item *it = &lg->item[i];
		cairo_text_extents_t ext;
		double w, sw = it->swatch == SW_NONE ? 0 : box + gap;

		if (it->text[0] == '\n') { /* forced line break */
			x = x0;
			y += LEGEND_LINE_H;
			lines++;
			continue;
		}
		cairo_text_extents(cr, it->text, &ext);
		w = sw + ext.x_advance;
		if (x > x0 && x + w > x1) {
			x = x0;
			y += LEGEND_LINE_H;
			lines++;
		}
		if (draw) {
			cairo_new_path(cr);
			switch (it->swatch) {
			case SW_AREA:
				frame_rgba(cr, it->colour);
				cairo_rectangle(cr, x, y - box, box, box);
				cairo_fill(cr);
				cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
				cairo_set_line_width(cr, 0.5);
				cairo_rectangle(cr, x + 0.25, y - box + 0.25, box - 0.5, box - 0.5);
				cairo_stroke(cr);
				break;
			case SW_LINE:
			case SW_DASH: {
				const double dash[] = {3, 2};

				frame_rgba(cr, it->colour);
				cairo_set_line_width(cr, 1.5);
				if (it->swatch == SW_DASH)
					cairo_set_dash(cr, dash, 2, 0);
				cairo_move_to(cr, x, y - box / 2);
				cairo_line_to(cr, x + box, y - box / 2);
				cairo_stroke(cr);
				cairo_set_dash(cr, NULL, 0, 0);
				break;
			}
			case SW_DOT:
				frame_rgba(cr, it->colour);
				cairo_arc(cr, x + box / 2, y - box / 2, MARK_R, 0, 2 * M_PI);
				cairo_fill(cr);
				break;
			case SW_NONE:
				break;
			}
			frame_rgba(cr, c_text);
			cairo_move_to(cr, x + sw, y);
			cairo_show_text(cr, it->text);
		}
		x += w + spacing;
	}
	return lines;
}

void frame_text_at(cairo_t *cr, double x, double y, const char *s, double align)
{
	cairo_text_extents_t ext;

	cairo_text_extents(cr, s, &ext);
	cairo_move_to(cr, x - ext.x_advance * align, y);
	cairo_show_text(cr, s);
}

/* Value axis: grid lines at a 1-2-5 step, about five of them. */
void frame_value_axis(cairo_t *cr, double left, double top, double w, double h, double vmin,
                      double vmax)
{
	double range = vmax - vmin, raw, mag, step;
	int decimals;

	if (!isfinite(vmin) || !isfinite(vmax) || !(range > 0))
		return;
	raw = range / 5;
	mag = pow(10, floor(log10(raw)));
	step = raw / mag < 1.5   ? mag
	       : raw / mag < 3.5 ? 2 * mag
	       : raw / mag < 7.5 ? 5 * mag
	                         : 10 * mag;
	decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
	for (double v = ceil(vmin / step - 1e-9) * step; v <= vmax + step * 1e-9; v += step) {
		double y = round(top + h - (v - vmin) / range * h) + 0.5;
		char label[48];

		if (fabs(v) < step * 1e-9)
			v = 0; /* no "-0" */
		frame_rgba(cr, c_grid);
		cairo_set_line_width(cr, 1);
		cairo_move_to(cr, left, y);
		cairo_line_to(cr, left + w, y);
		cairo_stroke(cr);
		frame_rgba(cr, c_text);
		snprintf(label, sizeof(label), "%.*f", decimals > 9 ? 9 : decimals, v);
		frame_text_at(cr, left - 5, y + 3.5, label, 1.0);
	}
}

void frame_shade(cairo_t *cr, double left, double top, double w, double h, double t0, double t1,
                 double from, double to, struct rgba c)
{
	double x0, x1;

	if (!(t1 > t0) || !(to > t0) || !(from < t1))
		return;
	x0 = left + (fmax(from, t0) - t0) / (t1 - t0) * w;
	x1 = left + (fmin(to, t1) - t0) / (t1 - t0) * w;
	/* At least a pixel, so a short firing still shows. */
	x0 = floor(x0);
	x1 = fmax(ceil(x1), x0 + 1);
	cairo_new_path(cr);
	frame_rgba(cr, c);
	cairo_rectangle(cr, x0, top, x1 - x0, h);
	cairo_fill(cr);
}

/* Time axis: grid and labels at local-time boundaries (3 h for a day,
 * midnight for a week, Monday midnight for a month with a line each
 * midnight), found by walking the axis in quarter hours so DST and
 * half-hour zones need no arithmetic. A span of 6 h or less (an alert's
 * chart) is labelled every hour. */
void frame_time_axis(cairo_t *cr, enum dash_period period, double left, double top, double w,
                     double h, double t0, double t1)
{
	/* An alert's few hours: a label every hour. */
	int hour_step = t1 - t0 <= 6 * 3600.0 ? 1 : 3;

	if (!(t1 > t0))
		return;
	/* A year is walked in hours: its ticks are at midnights. */
	double step = period == DASH_YEAR ? 3600 : 900;

	for (double t = ceil(t0 / step) * step; t <= t1; t += step) {
		time_t tt = (time_t)t;
		struct tm tm;
		enum { NO_TICK, GRID_ONLY, HOUR, WEEKDAY, MONTHDAY } tick = NO_TICK;
		double x;
		char label[48] = "";

		if (localtime_r(&tt, &tm) == NULL || tm.tm_min != 0)
			continue;
		switch (period) {
		case DASH_DAY:
			if (tm.tm_hour % hour_step == 0)
				tick = HOUR;
			break;
		case DASH_WEEK:
			if (tm.tm_hour == 0)
				tick = WEEKDAY;
			break;
		case DASH_MONTH:
			if (tm.tm_hour == 0)
				tick = tm.tm_wday == 1 ? MONTHDAY : GRID_ONLY;
			break;
		case DASH_YEAR:
			if (tm.tm_hour == 0 && tm.tm_mday == 1)
				tick = MONTHDAY;
			break;
		}
		if (tick == NO_TICK)
			continue;
		/* Literal formats, so the compiler checks them. */
		if (tick == HOUR)
			strftime(label, sizeof(label), "%H:%M", &tm);
		else if (tick == WEEKDAY)
			strftime(label, sizeof(label), "%a %d", &tm);
		else if (tick == MONTHDAY)
			strftime(label, sizeof(label), "%b %d", &tm);
		x = round(left + (t - t0) / (t1 - t0) * w) + 0.5;
		frame_rgba(cr, c_grid);
		cairo_set_line_width(cr, 1);
		cairo_move_to(cr, x, top);
		cairo_line_to(cr, x, top + h);
		cairo_stroke(cr);
		if (label[0]) {
			frame_rgba(cr, c_text);
			frame_text_at(cr, x, top + h + 11, label, 0.5);
		}
	}
}
