/*
 * report_pdf.c: the page machinery of a report's PDF (issue 19): cairo's
 * PDF surface (the library that draws the charts; cairo embeds a subset
 * of every font it uses), A4, the header (lab, title, period) and footer
 * (page N of M) on every page, headings, wrapped text, table rows, and a
 * channel's graph over the period drawn from the figures report_rrd.c
 * kept (the axes are graph_frame.c's, as on the dashboard's graphs).
 *
 * The page count is known only once everything is laid out, so the body
 * runs twice: onto a surface whose bytes are dropped, then for real into
 * memory, written with fs_write_atomic (write, fsync, rename).
 */
#include "dashboards/report_pdf.h"
#include "daemon/fsutil.h"
#include "dashboards/dash_int.h"
#include "dashboards/graph_frame.h"

#include <cairo-pdf.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define LINE_H 12.5

const char *rep_fmt(char *buf, size_t len, double v, int dec)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", dec, v);
	return buf;
}

static void font(cairo_t *cr, double size, bool bold)
{
	cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
	                       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
}

static void header_footer(struct rep_doc *d)
{
	cairo_t *cr = d->cr;
	char buf[256];

	cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
	font(cr, 9, true);
	frame_text_at(cr, PDF_LEFT, 34, d->lab, 0);
	font(cr, 9, false);
	snprintf(buf, sizeof(buf), "period %s", d->period);
	frame_text_at(cr, PDF_RIGHT, 34, buf, 1.0);
	font(cr, 12, true);
	frame_text_at(cr, PDF_LEFT, 54, d->title, 0);
	cairo_set_line_width(cr, 0.8);
	cairo_move_to(cr, PDF_LEFT, 62);
	cairo_line_to(cr, PDF_RIGHT, 62);
	cairo_stroke(cr);
	font(cr, 8, false);
	if (d->pages > 0)
		snprintf(buf, sizeof(buf), "page %d of %d", d->page, d->pages);
	else
		snprintf(buf, sizeof(buf), "page %d", d->page);
	frame_text_at(cr, PDF_W / 2, PDF_H - 24, buf, 0.5);
	snprintf(buf, sizeof(buf), "%s, %s", d->lab, d->period);
	frame_text_at(cr, PDF_LEFT, PDF_H - 24, buf, 0);
	frame_text_at(cr, PDF_RIGHT, PDF_H - 24, "labqcd", 1.0);
	d->y = PDF_TOP;
}

void rep_doc_page(struct rep_doc *d)
{
	cairo_show_page(d->cr);
	d->page++;
	header_footer(d);
}

void rep_doc_need(struct rep_doc *d, double h)
{
	if (d->y + h > PDF_BOTTOM)
		rep_doc_page(d);
}

void rep_doc_space(struct rep_doc *d, double h)
{
	d->y += h;
}

void rep_doc_heading(struct rep_doc *d, int level, const char *text)
{
	double size = level == 1 ? 13 : 10.5;

	rep_doc_need(d, size + 60); /* not alone at the bottom of a page */
	d->y += level == 1 ? 8 : 5;
	cairo_set_source_rgb(d->cr, 0.05, 0.2, 0.45);
	font(d->cr, size, true);
	frame_text_at(d->cr, PDF_LEFT, d->y + size, text, 0);
	d->y += size + 6;
}

void rep_doc_text(struct rep_doc *d, const char *text, double size, int colour)
{
	static const double rgb[3][3] = {{0.1, 0.1, 0.1}, {0.75, 0.1, 0.1}, {0.4, 0.4, 0.4}};
	char line[512];
	const char *p = text;

	font(d->cr, size, colour == 1);
	while (*p) {
		size_t n = 0, fit = 0;
		cairo_text_extents_t ext;

		/* The longest run of whole words that fits the width. */
		while (p[n] && n < sizeof(line) - 1) {
			size_t k = n;
			while (p[k] && p[k] != ' ' && k < sizeof(line) - 1)
				k++;
			memcpy(line, p, k);
			line[k] = '\0';
			cairo_text_extents(d->cr, line, &ext);
			if (ext.x_advance > PDF_RIGHT - PDF_LEFT && fit > 0)
				break;
			fit = k;
			n = p[k] == ' ' ? k + 1 : k;
			if (p[k] != ' ')
				break;
		}
		if (fit == 0)
			fit = n = strlen(p) < sizeof(line) - 1 ? strlen(p) : sizeof(line) - 1;
		memcpy(line, p, fit);
		line[fit] = '\0';
		rep_doc_need(d, size + 3);
		cairo_set_source_rgb(d->cr, rgb[colour][0], rgb[colour][1], rgb[colour][2]);
		frame_text_at(d->cr, PDF_LEFT, d->y + size, line, 0);
		d->y += size + 3;
		p += n;
	}
}

void rep_doc_row(struct rep_doc *d, size_t n, const double *widths, const char *const *cells,
                 bool header)
{
	cairo_t *cr = d->cr;
	double x = PDF_LEFT, total = 0;

	for (size_t i = 0; i < n; i++)
		total += widths[i];
	rep_doc_need(d, LINE_H);
	if (header) {
		cairo_set_source_rgb(cr, 0.9, 0.92, 0.95);
		cairo_rectangle(cr, PDF_LEFT, d->y, total, LINE_H);
		cairo_fill(cr);
	}
	font(cr, 8, header);
	for (size_t i = 0; i < n; i++) {
		char cell[256];
		cairo_text_extents_t ext;
		size_t len;

		snprintf(cell, sizeof(cell), "%s", cells[i] ? cells[i] : "");
		len = strlen(cell);
		cairo_text_extents(cr, cell, &ext);
		/* Cut what does not fit (at a character boundary of UTF-8). */
		while (len > 0 && ext.x_advance > widths[i] - 4) {
			do
				len--;
			while (len > 0 && ((unsigned char)cell[len] & 0xC0) == 0x80);
			cell[len] = '\0';
			cairo_text_extents(cr, cell, &ext);
		}
		cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
		frame_text_at(cr, x + 2, d->y + 9, cell, 0);
		x += widths[i];
	}
	cairo_set_source_rgb(cr, 0.82, 0.82, 0.82);
	cairo_set_line_width(cr, 0.4);
	cairo_move_to(cr, PDF_LEFT, d->y + LINE_H);
	cairo_line_to(cr, PDF_LEFT + total, d->y + LINE_H);
	cairo_stroke(cr);
	d->y += LINE_H;
}

static void hline(cairo_t *cr, double x0, double x1, double y, double r, double g, double b,
                  bool dashed)
{
	static const double dash[] = {4, 2};

	cairo_set_source_rgb(cr, r, g, b);
	cairo_set_line_width(cr, 1);
	cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
	cairo_move_to(cr, x0, y);
	cairo_line_to(cr, x1, y);
	cairo_stroke(cr);
	cairo_set_dash(cr, NULL, 0, 0);
}

void rep_doc_channel_graph(struct rep_doc *d, const struct rep_model *m,
                           const struct rep_instrument *in, const struct rep_chan *c)
{
	const struct report_period *p = &m->req->period;
	const double left = PDF_LEFT + 40, w = PDF_RIGHT - left, h = 150;
	cairo_t *cr = d->cr;
	double vmin = NAN, vmax = NAN, top;
	const double lims[4] = {c->lim.min, c->lim.max, c->lim.warning_min, c->lim.warning_max};

	rep_doc_need(d, h + 40);
	top = d->y + 4;
	for (size_t b = 0; b < c->n_buckets; b++) {
		if (isfinite(c->g_min[b]) && (isnan(vmin) || c->g_min[b] < vmin))
			vmin = c->g_min[b];
		if (isfinite(c->g_max[b]) && (isnan(vmax) || c->g_max[b] > vmax))
			vmax = c->g_max[b];
	}
	for (int i = 0; i < 4; i++)
		if (isfinite(lims[i])) {
			vmin = isnan(vmin) || lims[i] < vmin ? lims[i] : vmin;
			vmax = isnan(vmax) || lims[i] > vmax ? lims[i] : vmax;
		}
	if (!isfinite(vmin) || !isfinite(vmax)) {
		rep_doc_text(d, "no data to draw", 9, 2);
		return;
	}
	if (vmax - vmin < 1e-9) {
		vmin -= 1;
		vmax += 1;
	}
	double pad = (vmax - vmin) * 0.08;
	vmin -= pad;
	vmax += pad;
#define X(t) (left + ((t)-p->start) / (p->end - p->start) * w)
#define Y(v) (top + h - ((v)-vmin) / (vmax - vmin) * h)
	/* Maintenance periods, shaded under everything. */
	for (size_t i = 0; i < in->n_maint; i++) {
		double s = fmax(in->maint[i].start, p->start);
		double e = fmin(isnan(in->maint[i].end) ? p->end : in->maint[i].end, p->end);

		if (e > s) {
			cairo_set_source_rgb(cr, 0.86, 0.86, 0.86);
			cairo_rectangle(cr, X(s), top, fmax(X(e) - X(s), 1.5), h);
			cairo_fill(cr);
		}
	}
	font(cr, 7, false);
	frame_value_axis(cr, left, top, w, h, vmin, vmax);
	frame_time_axis(cr, p->end - p->start > 8 * 86400.0 ? DASH_MONTH : DASH_WEEK, left, top, w,
	                h, p->start, p->end);
	/* The envelope and the mean. */
	cairo_set_source_rgba(cr, 0.3, 0.5, 0.85, 0.35);
	for (size_t b = 0; b < c->n_buckets; b++)
		if (isfinite(c->g_min[b]) && isfinite(c->g_max[b])) {
			double t = p->start + (double)b * c->bucket_s;
			double y0 = Y(c->g_max[b]), y1 = Y(c->g_min[b]);
			cairo_rectangle(cr, X(t), y0, fmax(X(t + c->bucket_s) - X(t), 0.6),
			                fmax(y1 - y0, 0.6));
		}
	cairo_fill(cr);
	cairo_set_source_rgb(cr, 0.1, 0.25, 0.6);
	cairo_set_line_width(cr, 0.8);
	bool pen = false;
	for (size_t b = 0; b < c->n_buckets; b++) {
		double t = p->start + ((double)b + 0.5) * c->bucket_s;

		if (!isfinite(c->g_avg[b]) || t > p->end) {
			pen = false;
			continue;
		}
		if (pen)
			cairo_line_to(cr, X(t), Y(c->g_avg[b]));
		else
			cairo_move_to(cr, X(t), Y(c->g_avg[b]));
		pen = true;
	}
	cairo_stroke(cr);
	/* Limits: hard red, warning amber. */
	for (int i = 0; i < 4; i++)
		if (isfinite(lims[i]))
			hline(cr, left, left + w, Y(lims[i]), i < 2 ? 0.8 : 0.95, i < 2 ? 0.1 : 0.6,
			      0.1, true);
	/* Excursions: a red bar along the top, grey when cleared. */
	for (size_t i = 0; c->exc && i < c->exc->n; i++) {
		const struct excursion *e = &c->exc->v[i];
		double s = fmax(e->start, p->start), en = isnan(e->end) ? p->end : e->end;

		if (e->fired)
			cairo_set_source_rgb(cr, 0.8, 0.1, 0.1);
		else
			cairo_set_source_rgb(cr, 0.55, 0.55, 0.55);
		cairo_rectangle(cr, X(s), top - 4, fmax(X(fmin(en, p->end)) - X(s), 2), 4);
		cairo_fill(cr);
	}
#undef X
#undef Y
	cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
	cairo_set_line_width(cr, 0.6);
	cairo_rectangle(cr, left, top, w, h);
	cairo_stroke(cr);
	d->y = top + h + 16;
	font(cr, 7, false);
	cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
	frame_text_at(cr, left, d->y,
	              "blue: min..max and mean; dashed: limits (red), warning (amber); grey: "
	              "maintenance; top bars: excursions (red fired, grey cleared)",
	              0);
	d->y += 8;
}

/* ---- the document ---- */

static cairo_status_t discard(void *closure, const unsigned char *data, unsigned int len)
{
	(void)closure;
	(void)data;
	(void)len;
	return CAIRO_STATUS_SUCCESS;
}

static cairo_status_t to_sbuf(void *closure, const unsigned char *data, unsigned int len)
{
	struct sbuf *b = closure;

	sbuf_append(b, data, len);
	return b->failed ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

static int one_pass(struct rep_doc *d, cairo_write_func_t out, void *closure,
                    int (*body)(struct rep_doc *, void *), void *ctx, char *err, size_t errlen)
{
	cairo_surface_t *s = cairo_pdf_surface_create_for_stream(out, closure, PDF_W, PDF_H);
	int rc = 0;

	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, d->title);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "labqcd");
	d->cr = cairo_create(s);
	d->page = 1;
	header_footer(d);
	if (d->banner) {
		rep_doc_text(d, d->banner, 11, 1);
		rep_doc_space(d, 6);
	}
	if (body(d, ctx) == -1) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	cairo_show_page(d->cr);
	if (rc == 0 && cairo_status(d->cr) != CAIRO_STATUS_SUCCESS) {
		snprintf(err, errlen, "cairo: %s", cairo_status_to_string(cairo_status(d->cr)));
		rc = -1;
	}
	cairo_destroy(d->cr);
	d->cr = NULL;
	cairo_surface_finish(s);
	if (rc == 0 && cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		snprintf(err, errlen, "cairo: %s", cairo_status_to_string(cairo_surface_status(s)));
		rc = -1;
	}
	cairo_surface_destroy(s);
	return rc;
}

int rep_doc_write(const char *path, const char *lab, const char *title, const char *period,
                  const char *banner, int (*body)(struct rep_doc *, void *), void *ctx,
                  char *err, size_t errlen)
{
	struct rep_doc d = {.lab = lab, .title = title, .period = period, .banner = banner};
	struct sbuf pdf = {0};
	int rc = -1;

	if (one_pass(&d, discard, NULL, body, ctx, err, errlen) == -1)
		return -1;
	d.pages = d.page;
	if (one_pass(&d, to_sbuf, &pdf, body, ctx, err, errlen) == -1)
		goto out;
	if (pdf.failed) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (fs_write_atomic(path, pdf.p, pdf.len, 0644) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sbuf_free(&pdf);
	return rc;
}
