/*
 * dashboards.h: the interface of dashboards/, the static dashboard
 * (DESIGN section 7).
 *
 * The daemon builds a struct dash_snapshot on its own thread (plain data,
 * every string copied, nothing pointing into daemon state), hands it to
 * the dashboard thread ("labqcd-dash") and that thread calls
 * dash_render(). dashboards/ reads the RRD files and the snapshot, and
 * writes only under www_dir:
 *
 *   www_dir/index.html                              every instrument, by site
 *   www_dir/<site>/<instrument>/index.html          one instrument
 *   www_dir/<site>/<instrument>/<channel>-day.png   channel graphs (also
 *                                   -week.png, -month.png), 700x240 pixels
 *   www_dir/<site>/<instrument>/qc/<analyte>/<level>.png
 *                                   Levey-Jennings chart, 700x300 pixels
 *   www_dir/<site>/<instrument>/<channel>-spark.png the last 24 hours,
 *                                   160x36 pixels, on the index
 *   www_dir/<site>/<instrument>/<channel>-graphs.html one channel's
 *                                   full-size graphs <channel>-<period>-full.png
 *                                   (day, week, month, year), 1200x400 pixels
 *   www_dir/<site>/<instrument>/history.html  the instrument's alerts, 30 days
 *   www_dir/history.html                      every site's alerts, 30 days
 *   www_dir/wall.html, wall-dark.html         the wall view (tiles, no script)
 *
 * File names are made only from names that pass the identity check of
 * DESIGN section 2 ([A-Za-z0-9][A-Za-z0-9._-]{0,63}); an instrument whose
 * site or name fails it is listed on the index (escaped) without a page,
 * a channel or QC level that fails it is listed without a chart. Every
 * file is written to a temporary name, fsynced and renamed.
 *
 * Threads: a struct dash belongs to one thread at a time. dash_render()
 * keeps its state in the handle and touches nothing global of its own;
 * librrd keeps its error text per thread (rrd_get_context() is a pthread
 * key), but its rrdcached client connection is process-wide, so every
 * fetch a graph makes runs under one mutex (graph_data.c; the dashboard
 * thread and the notifier, which draws an alert's chart for its email,
 * both graph). cairo is safe with one surface per thread.
 */
#ifndef LABQCD_DASHBOARDS_H
#define LABQCD_DASHBOARDS_H

#include <stdbool.h>
#include <stddef.h>

#include "rules/rules.h" /* enum severity */

enum dash_status {
	DASH_OK = 0,
	DASH_WARNING,
	DASH_ALARM,
	DASH_STALE,
	DASH_MAINTENANCE,
};

enum dash_qc_status {
	DASH_QC_NONE = 0, /* no result today */
	DASH_QC_ACCEPT,
	DASH_QC_WARNING,
	DASH_QC_REJECT,
	DASH_QC_BASELINE,
};

/* Numbers that are not known are NAN (limits, last value, targets, z).
 * Times are epoch seconds. */

struct dash_channel {
	char *name;
	char *unit;                      /* "" if none */
	double min, max;                 /* hard limits (critical) */
	double warning_min, warning_max; /* inner band (warning) */
	double last_value, last_time;
	char *rrd_relpath; /* relative to rrd_dir: "main/fridge-02/temp.rrd" */
};

struct dash_alert {
	char *key; /* site/instrument/channel/rule */
	enum severity severity;
	char *state; /* "pending", "firing", "resolved" */
	double since;
	char *summary;
	char *ack_by; /* NULL: not acknowledged */
	char *ack_comment;
	double ack_time;
};

struct dash_qc_result {
	double t;
	double value;
	double z; /* against the targets in force at the time */
	enum dash_qc_status status;
	char *run, *lot; /* "" if none */
	char *rules;     /* rules fired, space separated: "1-3s 2-2s"; "" if none */
};

enum dash_change_kind { DASH_CHANGE_TARGET = 0, DASH_CHANGE_LOT };

struct dash_change {
	double t;
	enum dash_change_kind kind;
	char *label; /* "lot B2", "mean 100.2 sd 2.4"; may be "" */
};

/* Statistics of one lot of a level (issue 17): rows cumulative all,
 * cumulative of runs not rejected, this month all, this month not
 * rejected; columns n, mean, SD, CV %. NAN where undefined. */
#define DASH_STAT_ROWS 4
struct dash_qc_stat {
	char *lot; /* "" if none */
	double v[DASH_STAT_ROWS][4];
};

/* A QC run and what was done about it. */
struct dash_qc_run {
	double t;
	char *id;
	char *status;      /* final verdict: "accept", "reject" (an override wins), ... */
	char *note;        /* "incomplete" or "" */
	char *disposition; /* "corrective action by ...: ...", "awaiting corrective action", "" */
};

struct dash_qc_level {
	struct dash_qc_stat *stats; /* per lot */
	size_t n_stats;
	char *name;
	double mean, sd;                /* targets in force now; NAN while baseline */
	struct dash_qc_result *results; /* oldest first */
	size_t n_results;
	struct dash_change *changes; /* target and lot changes, any order */
	size_t n_changes;
};

struct dash_qc_analyte {
	struct dash_qc_run *runs; /* newest first */
	size_t n_runs;
	char *name;
	enum dash_qc_status today; /* worst run status of the local day */
	struct dash_qc_level *levels;
	size_t n_levels;
};

struct dash_due {
	char *name; /* "calibration", "service run_count", "task daily-clean" */
	double due;
};

struct dash_event {
	double t;
	char *text;
};

struct dash_instrument {
	char *site, *name, *location; /* location "" if none */
	enum dash_status status;
	struct dash_channel *channels;
	size_t n_channels;
	struct dash_alert *alerts; /* active ones, any order */
	size_t n_alerts;
	struct dash_qc_analyte *analytes;
	size_t n_analytes;
	struct dash_due *dues; /* maintenance and calibration */
	size_t n_dues;
	struct dash_event *events; /* recent, any order */
	size_t n_events;
};

/* One labqcd of the fleet (issue 21) as the index's Fleet section shows
 * it: this instance (self) and each peer, from its announcement and its
 * status summary. Counts are 0 and has_summary false until a summary came. */
struct dash_fleet_member {
	char *name;
	char *state; /* "up", "down", "handed-over" */
	char *url;   /* its dashboard; "" = none; linked only when http(s) */
	char *slice; /* its topic filters, blank-separated */
	char *sites; /* the sites its summary names, ", "-separated */
	bool self;
	double since;     /* when the state was announced or seen; NAN unknown */
	bool has_summary;
	double status_at; /* when the summary was made; NAN none */
	unsigned instruments, attention; /* all, and those not ok */
	unsigned alerts_critical, alerts_warning;
	unsigned qc_accepted, qc_rejected; /* runs today */
	unsigned dues_soon, dues_overdue;
};

struct dash_snapshot {
	double generated_at;
	struct dash_instrument *instruments; /* any order: pages sort by site, name */
	size_t n_instruments;
	struct dash_fleet_member *fleet; /* this instance first; none without fleet: */
	size_t n_fleet;
};

/*
 * Building a snapshot. Each dash_snap_add_* copies every string it is
 * given (NULL is stored as "", except ack_by which stays NULL) and
 * returns a pointer to the new element with every number not given set
 * to NAN; that pointer stays valid until the next add to the same
 * parent (the arrays grow with reallocarray). NULL on allocation failure
 * (errno ENOMEM); the snapshot stays consistent and must still be freed.
 */
struct dash_snapshot *dash_snapshot_new(double generated_at);
void dash_snapshot_free(struct dash_snapshot *s); /* frees everything; NULL ok */

struct dash_instrument *dash_snap_add_instrument(struct dash_snapshot *s, const char *site,
                                                 const char *name, const char *location,
                                                 enum dash_status status);
struct dash_channel *dash_snap_add_channel(struct dash_instrument *in, const char *name,
                                           const char *unit, const char *rrd_relpath);
struct dash_alert *dash_snap_add_alert(struct dash_instrument *in, const char *key,
                                       enum severity sev, const char *state, double since,
                                       const char *summary, const char *ack_by,
                                       const char *ack_comment);
struct dash_qc_analyte *dash_snap_add_analyte(struct dash_instrument *in, const char *name,
                                              enum dash_qc_status today);
struct dash_qc_level *dash_snap_add_level(struct dash_qc_analyte *a, const char *name, double mean,
                                          double sd);
struct dash_qc_result *dash_snap_add_result(struct dash_qc_level *l, double t, double value,
                                            double z, enum dash_qc_status status, const char *run,
                                            const char *lot, const char *rules);
struct dash_qc_stat *dash_snap_add_stat(struct dash_qc_level *l, const char *lot,
                                        const double v[DASH_STAT_ROWS][4]);
struct dash_qc_run *dash_snap_add_run(struct dash_qc_analyte *a, double t, const char *id,
                                      const char *status, const char *note,
                                      const char *disposition);
struct dash_change *dash_snap_add_change(struct dash_qc_level *l, double t,
                                         enum dash_change_kind kind, const char *label);
struct dash_due *dash_snap_add_due(struct dash_instrument *in, const char *name, double due);
struct dash_event *dash_snap_add_event(struct dash_instrument *in, double t, const char *text);
/* Numbers as for the others (since and status_at NAN), counts 0. */
struct dash_fleet_member *dash_snap_add_fleet(struct dash_snapshot *s, const char *name,
                                              const char *state, const char *url,
                                              const char *slice, const char *sites);

/* Names for the enums, as shown on the pages ("ok", "alarm", "reject"). */
const char *dash_status_name(enum dash_status st);
const char *dash_qc_status_name(enum dash_qc_status st);

/* ---- rendering ---- */

struct dash_stats {
	unsigned graphs_written; /* channel PNGs rendered by librrd */
	unsigned graphs_skipped; /* unchanged since the last render */
	unsigned graphs_deferred; /* due, left for a later render (budget, cancel) */
	unsigned charts_written; /* Levey-Jennings PNGs */
	unsigned charts_skipped;
	unsigned pages_written; /* HTML files (unchanged pages are not rewritten) */
	unsigned errors;        /* files that failed; each is logged (rate-limited) */
	double elapsed_s;       /* wall time of dash_render */
	unsigned sparklines_written, sparklines_skipped;
	unsigned full_written; /* full-size graphs (1200 px) */
	/* Freshness, after this render: the age (now - when drawn) of the
	 * oldest day graph of a channel whose file changed since (0 when
	 * every day graph shows its file's last update), and how many day
	 * graphs are behind their file. */
	double oldest_day_graph_s;
	unsigned day_graphs_behind;
	/* Channels with samples in the snapshot whose RRD file does not
	 * exist yet (the store has not written it): the daemon renders
	 * again soon after the store writes. */
	unsigned channels_waiting;
	unsigned history_alerts; /* alert episodes of the last 30 days known */
};

struct dash;

/* A renderer writing under www_dir (created if missing) from RRD files
 * under rrd_dir. The strings are copied. NULL with errno on error. */
struct dash *dash_new(const char *www_dir, const char *rrd_dir);

/* Optional: rrdcached address ("unix:/run/rrdcached.sock"); librrd then
 * asks rrdcached to flush a file before graphing it. NULL or "" = none. */
int dash_set_rrdcached(struct dash *d, const char *address);
/* Time one dash_render may spend drawing graphs (0, the default: no
 * limit). Graphs not reached stay due for the next render; pages and
 * Levey-Jennings charts are always written. */
void dash_set_budget(struct dash *d, double seconds);
/* From any thread: make a dash_render in progress stop between two
 * files (at shutdown). */
void dash_cancel(struct dash *d);
/* The render cadence (daemon.dashboard_interval): pages reload after it,
 * day graphs and sparklines are redrawn at most once per interval. The
 * default is 60 s. */
void dash_set_interval(struct dash *d, double seconds);
/* The audit log the alert history and the shaded periods of the
 * full-size graphs are read from (state_dir/audit.jsonl). Read by the
 * renderer, incrementally: each render reads only what was appended
 * since the last one. NULL: no history. 0, or -1 (ENOMEM). */
int dash_set_audit_log(struct dash *d, const char *path);

/*
 * Render what changed: a channel graph when its RRD file changed since it
 * was last drawn (day graph and sparkline at most once per interval,
 * week graph at most every 15 min, month graph at most hourly; the
 * full-size graphs day every 5 min, week 30 min, month hourly, year
 * every 6 h), or when its limits, unit, shaded periods or the period's
 * refresh age passed (day 15 min, week 2 h, month 12 h, year a day, so a
 * silent channel's gap shows); an LJ chart when its data changed; a
 * page when its text changed. Sparklines and day graphs of every
 * instrument come first, then the slower graphs, then the pages, so
 * under a budget the day graphs stay fresh. `now` is the end of the graphs' time axis and what
 * "today" and "due in 14 days" are measured from. `out` may be NULL.
 * Returns 0, or -1 if any file failed (the rest are still written).
 * The snapshot is only read; the caller frees it.
 */
int dash_render(struct dash *d, const struct dash_snapshot *snap, double now,
                struct dash_stats *out);

void dash_free(struct dash *d); /* NULL ok */

/* ---- an alert's chart, for its email (DESIGN section 5) ---- */

/* A channel's graph over the hours around an alert: the data in its RRD
 * file, its limits, and the sample the alert is about drawn on top (the
 * file may not hold it yet). DASH_GRAPH_W x DASH_GRAPH_H. */
struct dash_alert_graph {
	const char *rrd_path;  /* missing file: the limits and the sample only */
	const char *rrdcached; /* NULL or "" */
	const char *instrument, *channel, *unit;
	double min, max, warning_min, warning_max; /* NAN: none */
	double at, value; /* the alert's sample; value NAN: none */
	double start, end; /* the time axis, epoch seconds */
};

/* Draw into a malloc'ed PNG (*png, *len; the caller frees it). If
 * another thread is graphing, wait for it until `deadline` (epoch
 * seconds; 0 = no limit). 0; -1 with the reason in err; -2 when the
 * deadline passed first. */
int dash_alert_graph_png(const struct dash_alert_graph *g, double deadline, unsigned char **png,
                         size_t *len, char *err, size_t errlen);

/* The Levey-Jennings chart of one level (as the dashboard draws it),
 * into a malloc'ed PNG. 0, or -1 with err set. */
int dash_lj_png(const struct dash_instrument *in, const struct dash_qc_analyte *a,
                const struct dash_qc_level *l, double now, unsigned char **png, size_t *len,
                char *err, size_t errlen);

#endif
