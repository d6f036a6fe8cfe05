/*
 * report_pdf.h: a report's PDF document (issue 19), shared by
 * report_pdf.c (the page machinery, tables, the channel graph) and
 * report_pages.c (what the pages say).
 *
 * A4 portrait in points. Every page carries the lab's name, the title and
 * the period at the top, "page N of M" at the bottom. The document is
 * drawn twice: once onto a PDF surface that discards its bytes, to count
 * the pages, then for real into memory and written atomically.
 */
#ifndef LABQCD_REPORT_PDF_H
#define LABQCD_REPORT_PDF_H

#include <cairo.h>
#include <stdbool.h>
#include <stddef.h>

#include "dashboards/report_int.h"

#define PDF_W 595.276 /* A4 */
#define PDF_H 841.890
#define PDF_LEFT 42.0
#define PDF_RIGHT (PDF_W - 42.0)
#define PDF_TOP 78.0
#define PDF_BOTTOM (PDF_H - 48.0)

struct rep_doc {
	cairo_t *cr;
	const char *lab, *title, *period;
	const char *banner; /* on the first page, in red (a broken chain); NULL */
	int page, pages;    /* pages: the count from the first pass; 0 in it */
	double y;           /* the next line's top */
};

/* Draw the document `body` into `path`. 0, or -1 with err set. */
int rep_doc_write(const char *path, const char *lab, const char *title, const char *period,
                  const char *banner, int (*body)(struct rep_doc *, void *), void *ctx,
                  char *err, size_t errlen);

/* Start a new page when less than h points are left. */
void rep_doc_need(struct rep_doc *d, double h);
void rep_doc_page(struct rep_doc *d);
/* A heading (level 1: a section, 2: a sub-section). */
void rep_doc_heading(struct rep_doc *d, int level, const char *text);
/* A paragraph wrapped at the margins; colour 0 black, 1 red, 2 grey. */
void rep_doc_text(struct rep_doc *d, const char *text, double size, int colour);
/* A row of a table: n cells in columns of the given widths (points);
 * header rows are bold on grey. Long cells are cut. */
void rep_doc_row(struct rep_doc *d, size_t n, const double *widths, const char *const *cells,
                 bool header);
/* Vertical space. */
void rep_doc_space(struct rep_doc *d, double h);

/* A channel's graph over the period: min..max envelope, mean line,
 * limits, maintenance periods shaded, excursions marked. */
void rep_doc_channel_graph(struct rep_doc *d, const struct rep_model *m,
                           const struct rep_instrument *in, const struct rep_chan *c);

/* report_pbrtqc.c: an analyte's PBRTQC and "what if" sections, after
 * its QC pages (each only when there is one). */
void rep_pdf_analyte_extra(struct rep_doc *d, const struct rep_model *m,
                           const struct rep_instrument *in, const struct rep_analyte_fig *f);

/* "1.23" or "-" for NAN, with `dec` decimals. */
const char *rep_fmt(char *buf, size_t len, double v, int dec);

#endif
