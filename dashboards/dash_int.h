/*
 * dash_int.h: what the files of dashboards/ share among themselves
 * (html.c, graph.c, ljchart.c, dashboards.c). Not for the daemon: its
 * interface is dashboards.h.
 */
#ifndef LABQCD_DASH_INT_H
#define LABQCD_DASH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/collectors.h"
#include "dashboards/dashboards.h"
#include "daemon/log.h"

#define DASH_DUE_WINDOW_S (14 * 86400.0) /* "due soon" on the index */
#define DASH_LJ_MAX_POINTS 31            /* an LJ chart shows the last 31 results */
#define DASH_LJ_MAX_AGE_S (30 * 86400.0) /* ... of the last 30 days */

/* Channel graphs and LJ charts: the size of the whole PNG. */
#define DASH_GRAPH_W 700
#define DASH_GRAPH_H 240
#define DASH_LJ_W 700
#define DASH_LJ_H 300

/* ---- snapshot.c ---- */

/* Which results an LJ chart (and the page's table) shows: the last
 * DASH_LJ_MAX_POINTS of those not older than DASH_LJ_MAX_AGE_S before
 * now (results are oldest first). Sets *first; returns the count. */
size_t dash_qc_window(const struct dash_qc_level *l, double now, size_t *first);

/* ---- sbuf.c: a growing string buffer ---- */

struct sbuf {
	char *p; /* NUL-terminated once anything was added */
	size_t len, cap;
	bool failed; /* an allocation failed: the text is incomplete */
};

void sbuf_free(struct sbuf *b);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_append(struct sbuf *b, const void *data, size_t n);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s escaped for HTML text and attribute values; invalid UTF-8 and
 * control characters become U+FFFD. */
void sbuf_html(struct sbuf *b, const char *s);

/* ---- html.c: the pages ---- */

/* An instrument gets a page (and files) only if both names are usable. */
bool dash_instrument_has_page(const struct dash_instrument *in);
bool dash_channel_has_graphs(const struct dash_instrument *in, const struct dash_channel *c);

enum dash_period { DASH_DAY = 0, DASH_WEEK, DASH_MONTH };
#define DASH_N_PERIODS 3
const char *dash_period_name(enum dash_period p); /* "day", "week", "month" */

struct html_ctx {
	double now;
	/* If set, a graph or chart is linked only if its file exists under
	 * www_dir; NULL links every graph a valid name allows (unit tests). */
	const char *www_dir;
};

/* The pages, into b (which the caller frees). 0, or -1 if out of memory. */
int html_index(struct sbuf *b, const struct dash_snapshot *s, const struct html_ctx *ctx);
int html_instrument(struct sbuf *b, const struct dash_snapshot *s, const struct dash_instrument *in,
                    const struct html_ctx *ctx);

/* ---- graph.c: channel graphs by librrd ---- */

/* Render one channel graph of `period` ending at `now` from rrd_path into
 * png_path (atomically). rrdcached may be NULL. 0, or -1 with the error
 * text in err. */
int graph_render(const char *rrd_path, const char *png_path, const char *rrdcached,
                 const struct dash_instrument *in, const struct dash_channel *c,
                 enum dash_period period, double now, char *err, size_t errlen);

/* A signature of what a channel graph draws besides the data (title,
 * unit, limits, size), to re-render when the config changes. */
uint64_t graph_signature(const struct dash_instrument *in, const struct dash_channel *c);

/* The lock every rrd_graph_v() call in the process is made under (a
 * leaf); for tests that play another graphing thread. */
pthread_mutex_t *graph_rrd_lock(void);

/* ---- ljchart.c: Levey-Jennings charts by cairo ---- */

/* Draw the LJ chart of one level to png_path (atomically). 0 or -1 with
 * err set. */
int ljchart_render(const char *png_path, const struct dash_instrument *in,
                   const struct dash_qc_analyte *a, const struct dash_qc_level *l, double now,
                   char *err, size_t errlen);

/* The chart of results first..first+n-1 of l drawn on cr, in a
 * DASH_LJ_W x DASH_LJ_H box at cr's origin (the caller scales and
 * translates): the dashboard's PNG and a report's page (issue 19). `what`
 * ends the title ("2026-11"); NULL: "last N results". 0; -1 out of
 * memory. */
struct _cairo;
int ljchart_paint(struct _cairo *cr, const struct dash_instrument *in,
                  const struct dash_qc_analyte *a, const struct dash_qc_level *l, size_t first,
                  size_t n, const char *what);

/* A signature of everything an LJ chart draws, given `now`. */
uint64_t ljchart_signature(const struct dash_instrument *in, const struct dash_qc_analyte *a,
                           const struct dash_qc_level *l, double now);

/* ---- shared small helpers (dashboards.c) ---- */

/* FNV-1a over bytes, chainable from DASH_FNV_INIT. */
#define DASH_FNV_INIT 0xcbf29ce484222325ULL
uint64_t dash_fnv(uint64_t h, const void *data, size_t len);
uint64_t dash_fnv_str(uint64_t h, const char *s);
uint64_t dash_fnv_double(uint64_t h, double v);

#endif
