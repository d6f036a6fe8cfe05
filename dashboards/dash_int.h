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
#define DASH_FULL_W 1200 /* a channel's full-size graphs */
#define DASH_FULL_H 400
#define DASH_SPARK_W 160 /* the index's sparklines: the last 24 hours */
#define DASH_SPARK_H 36
#define DASH_LJ_W 700
#define DASH_LJ_H 300
#define DASH_HISTORY_S (30 * 86400.0) /* the alert history's reach */

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
/* Write the buffer to path with fs_write_replace (mode 0644: a reader
 * sees the old file or the new, no fsync: it is drawn again); 0, or -1
 * with err. */
int sbuf_write_file(const struct sbuf *b, const char *path, char *err, size_t errlen);

/* ---- history.c: the alert history, from the audit log ---- */

/* One alert from its first record to its end: pending (or firing) to
 * resolved or cleared, with who acknowledged it. */
struct dash_episode {
	char *key;        /* site/instrument/channel/rule */
	size_t inst_len;  /* strlen("site/instrument") */
	enum severity severity; /* the highest it reached */
	double start;     /* first record (or the excursion's own start) */
	double fired;     /* first firing; NAN: never fired */
	double end;       /* resolved or cleared; NAN: still open */
	double peak;      /* furthest value; NAN: not known */
	bool cleared;     /* ended inside its delay: a short excursion */
	char *ack_by, *ack_comment; /* NULL: not acknowledged */
	double ack_time;
	char *summary;
};

/* An instrument's maintenance, from maintenance_start to _end. */
struct dash_maint {
	char *key; /* site/instrument */
	double start, end; /* end NAN: still in maintenance */
};

struct dash_history; /* history.c's; owned by the renderer's struct dash */

/* NULL path: an empty history. NULL on ENOMEM. */
struct dash_history *history_new(const char *path);
void history_free(struct dash_history *h);
/* Read what the audit log gained since the last call (all of it the
 * first time, or after the file was replaced or cut), then forget what
 * ended before now - DASH_HISTORY_S. 0, or -1 with err (the history
 * keeps what it had). */
int history_update(struct dash_history *h, double now, char *err, size_t errlen);
/* Episodes oldest first (by start), and maintenance periods. */
const struct dash_episode *history_episodes(const struct dash_history *h, size_t *n);
const struct dash_maint *history_maint(const struct dash_history *h, size_t *n);

/* ---- html_common.c: what the pages share ---- */

/* An instrument gets a page (and files) only if both names are usable. */
bool dash_instrument_has_page(const struct dash_instrument *in);
bool dash_channel_has_graphs(const struct dash_instrument *in, const struct dash_channel *c);

enum dash_period { DASH_DAY = 0, DASH_WEEK, DASH_MONTH, DASH_YEAR };
#define DASH_N_PERIODS 3 /* thumbnails: day, week, month */
#define DASH_N_FULL 4    /* full-size graphs: and year */
const char *dash_period_name(enum dash_period p); /* "day", "week", "month", "year" */

/* A channel's state: its worst firing alert (critical: alarm, warning,
 * stale), else maintenance if the instrument is in it, else ok. */
enum dash_status dash_channel_status(const struct dash_instrument *in,
                                     const struct dash_channel *c);
/* Worst first: alarm 0, warning 1, stale 2, maintenance 3, ok 4. */
int dash_status_rank(enum dash_status st);

struct html_ctx {
	double now;
	/* If set, a graph or chart is linked only if its file exists under
	 * www_dir; NULL links every graph a valid name allows (unit tests). */
	const char *www_dir;
	double refresh_s; /* meta refresh; 0: 60 s */
	const struct dash_history *hist; /* NULL: none */
};

/* Page pieces (html_common.c). html_head writes the doctype, the meta
 * refresh (ctx->refresh_s), the title and the shared CSS plus
 * extra_css (may be NULL). */
void html_head(struct sbuf *b, const char *title_html, const struct html_ctx *ctx,
               const char *extra_css);
void html_time(struct sbuf *b, double t);
void html_ago(struct sbuf *b, double now, double t); /* "3 min ago" */
void html_num(struct sbuf *b, double v);
/* A value and its unit ("4.2 C"; a dash when unknown, then no unit). */
void html_value(struct sbuf *b, double v, const char *unit);
void html_badge(struct sbuf *b, enum dash_status st);
void html_qc_badge(struct sbuf *b, enum dash_qc_status st);
void html_generated(struct sbuf *b, const struct dash_snapshot *s, const struct html_ctx *ctx);
bool html_file_exists(const struct html_ctx *ctx, const char *relpath);
void html_duration(struct sbuf *b, double seconds); /* "2 h 05 min" */
/* html_sections.c. Times compare with unknown (NAN) last. */
int html_cmp_time(double x, double y);
struct due_ref {
	const struct dash_instrument *in;
	const struct dash_due *due;
};
/* Active alerts, oldest first (sorts `alerts`). */
void html_alerts(struct sbuf *b, const struct dash_alert **alerts, size_t n);
/* What falls due, soonest first (sorts `dues`). */
void html_dues(struct sbuf *b, struct due_ref *dues, size_t n, double now, bool with_instrument);
/* The instruments worst first (then site, name); the caller frees. */
const struct dash_instrument **html_sorted(const struct dash_snapshot *s, bool by_site);

/* The index's Fleet section (html_fleet.c); nothing when s has no fleet. */
void html_fleet(struct sbuf *b, const struct dash_snapshot *s, const struct html_ctx *ctx);

/* The pages, into b (which the caller frees). 0, or -1 if out of memory. */
int html_index(struct sbuf *b, const struct dash_snapshot *s, const struct html_ctx *ctx);
int html_instrument(struct sbuf *b, const struct dash_snapshot *s, const struct dash_instrument *in,
                    const struct html_ctx *ctx);
/* The wall view; `dark` forces the dark theme (wall-dark.html). */
int html_wall(struct sbuf *b, const struct dash_snapshot *s, const struct html_ctx *ctx, bool dark);
/* The alert history: every site (in NULL) or one instrument. */
int html_history(struct sbuf *b, const struct dash_snapshot *s, const struct dash_instrument *in,
                 const struct html_ctx *ctx);
/* A channel's full-size graphs (<channel>-graphs.html). */
int html_graphs(struct sbuf *b, const struct dash_snapshot *s, const struct dash_instrument *in,
                const struct dash_channel *c, const struct html_ctx *ctx);

/* ---- graph.c: channel graphs by librrd ---- */

/* A shaded time span on a full-size graph. */
struct graph_band {
	double from, to;
	bool maintenance; /* grey; else an alert firing, red */
};

/* How a graph looks: NULL for a thumbnail (DASH_GRAPH_W x DASH_GRAPH_H,
 * no bands). */
struct graph_look {
	int w, h;
	const struct graph_band *bands;
	size_t n_bands;
};

/* Render one channel graph of `period` ending at `now` from rrd_path into
 * png_path (atomically). rrdcached may be NULL. 0, or -1 with the error
 * text in err. */
int graph_render(const char *rrd_path, const char *png_path, const char *rrdcached,
                 const struct dash_instrument *in, const struct dash_channel *c,
                 enum dash_period period, double now, const struct graph_look *look, char *err,
                 size_t errlen);

/* ---- sparkline.c: the index's small graphs, rrd_fetch and cairo ---- */

/* The last 24 hours of the channel's AVERAGE as a line, its limits as
 * faint lines, DASH_SPARK_W x DASH_SPARK_H, into png_path (atomically).
 * 0, or -1 with err set. */
int sparkline_render(const char *rrd_path, const char *png_path, const char *rrdcached,
                     const struct dash_channel *c, double now, char *err, size_t errlen);

/* A signature of what a channel graph draws besides the data (title,
 * unit, limits, size), to re-render when the config changes. */
uint64_t graph_signature(const struct dash_instrument *in, const struct dash_channel *c);

/* The lock every graph fetch in the process is made under (a
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
