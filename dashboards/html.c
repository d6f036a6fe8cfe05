/*
 * html.c: the dashboard's HTML pages, built in memory from a snapshot.
 *
 * Plain HTML5 with the CSS inline, no script, refreshed every 60 s by a
 * meta tag, readable on a phone (viewport meta, images scale down, wide
 * tables scroll). Every string that comes from a topic or the config goes
 * through sbuf_html(). Links are relative, so the site opens from the
 * file system as well as from a web server. Status is shown by a badge
 * with its word in it, never by colour alone.
 *
 * Pure functions over the snapshot; the only I/O is stat() to link only
 * graphs that exist when html_ctx.www_dir is set. dashboards.c writes
 * the result with fs_write_atomic().
 */
#include "dashboards/dash_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- names ---- */

bool dash_instrument_has_page(const struct dash_instrument *in)
{
	/* A site called index.html would collide with the index page. */
	return ident_ok(in->site) && ident_ok(in->name) &&
	       strcmp(in->site, "index.html") != 0;
}

bool dash_channel_has_graphs(const struct dash_instrument *in, const struct dash_channel *c)
{
	/* "qc" is where LJ charts live; a telemetry channel cannot have that name. */
	return dash_instrument_has_page(in) && ident_ok(c->name) &&
	       strcmp(c->name, "qc") != 0 && strcmp(c->name, "index.html") != 0 &&
	       c->rrd_relpath[0] != '\0';
}

const char *dash_period_name(enum dash_period p)
{
	switch (p) {
	case DASH_DAY:
		return "day";
	case DASH_WEEK:
		return "week";
	case DASH_MONTH:
		return "month";
	}
	return "day";
}

/* ---- formatting ---- */

static void put_time(struct sbuf *b, double t)
{
	char buf[64];
	struct tm tm;
	time_t tt;

	if (!isfinite(t)) {
		sbuf_puts(b, "&#8212;");
		return;
	}
	tt = (time_t)t;
	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm) == 0) {
		sbuf_puts(b, "?");
		return;
	}
	sbuf_puts(b, buf);
}

static void put_num(struct sbuf *b, double v)
{
	if (isfinite(v))
		sbuf_printf(b, "%.6g", v);
	else
		sbuf_puts(b, "&#8212;");
}

static void put_badge(struct sbuf *b, enum dash_status st)
{
	sbuf_printf(b, "<span class=\"badge st-%s\">%s</span>", dash_status_name(st),
	            dash_status_name(st));
}

static void put_qc_badge(struct sbuf *b, enum dash_qc_status st)
{
	sbuf_printf(b, "<span class=\"badge qc-%s\">%s</span>", dash_qc_status_name(st),
	            st == DASH_QC_NONE ? "no QC today" : dash_qc_status_name(st));
}

static const char css[] =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0 auto;"
    "max-width:1120px;padding:0 12px 24px;color:#1b1b1b;background:#fff;line-height:1.4}\n"
    "h1{font-size:1.5em;margin:.6em 0 .2em}h2{font-size:1.2em;margin:1.2em 0 .4em;"
    "border-bottom:2px solid #ccc}h3{font-size:1.05em;margin:1em 0 .3em}\n"
    "img{max-width:100%;height:auto;display:block;margin:4px 0}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}\n"
    "th{background:#f2f2f2}\n"
    ".badge{display:inline-block;padding:1px 8px;border-radius:9px;font-weight:bold;"
    "font-size:.85em;color:#fff;white-space:nowrap}\n"
    ".st-ok,.qc-accept{background:#2e7d32}\n"
    ".st-warning,.qc-warning,.sev-warning{background:#f9a825;color:#000}\n"
    ".st-alarm,.qc-reject,.sev-critical{background:#c62828}\n"
    ".st-stale,.qc-none,.sev-info,.sev-none{background:#616161}\n"
    ".st-maintenance,.qc-baseline{background:#1565c0}\n"
    ".muted{color:#555}.overdue{font-weight:bold;color:#b71c1c}\n"
    ".graphs{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:8px}\n"
    "figure{margin:0}figcaption{font-size:.85em;color:#555}\n";

static void put_head(struct sbuf *b, const char *title_html, const char *what_escaped)
{
	sbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	             "<meta http-equiv=\"refresh\" content=\"60\">\n<title>");
	sbuf_puts(b, title_html);
	if (what_escaped) {
		sbuf_puts(b, " ");
		sbuf_html(b, what_escaped);
	}
	sbuf_puts(b, "</title>\n<style>\n");
	sbuf_puts(b, css);
	sbuf_puts(b, "</style>\n</head>\n<body>\n");
}

static void put_generated(struct sbuf *b, const struct dash_snapshot *s)
{
	sbuf_puts(b, "<p class=\"muted\">Generated ");
	put_time(b, s->generated_at);
	sbuf_puts(b, " by labqcd; this page reloads every minute.</p>\n");
}

static bool file_exists(const struct html_ctx *ctx, const char *relpath)
{
	char path[4096];
	struct stat st;

	if (ctx->www_dir == NULL)
		return true;
	if (snprintf(path, sizeof(path), "%s/%s", ctx->www_dir, relpath) >= (int)sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- sorting ---- */

static int cmp_instrument(const void *a, const void *b)
{
	const struct dash_instrument *x = *(const struct dash_instrument *const *)a;
	const struct dash_instrument *y = *(const struct dash_instrument *const *)b;
	int c = strcmp(x->site, y->site);

	return c ? c : strcmp(x->name, y->name);
}

static int cmp_double(double x, double y)
{
	/* Unknown times sort last. */
	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return (x > y) - (x < y);
}

static int cmp_alert(const void *a, const void *b)
{
	const struct dash_alert *x = *(const struct dash_alert *const *)a;
	const struct dash_alert *y = *(const struct dash_alert *const *)b;
	int c = cmp_double(x->since, y->since);

	return c ? c : strcmp(x->key, y->key);
}

struct due_ref {
	const struct dash_instrument *in;
	const struct dash_due *due;
};

static int cmp_due(const void *a, const void *b)
{
	const struct due_ref *x = a, *y = b;
	int c = cmp_double(x->due->due, y->due->due);

	return c ? c : strcmp(x->due->name, y->due->name);
}

static int cmp_event_newest(const void *a, const void *b)
{
	const struct dash_event *x = *(const struct dash_event *const *)a;
	const struct dash_event *y = *(const struct dash_event *const *)b;

	return cmp_double(y->t, x->t);
}

/* ---- shared sections ---- */

/* Alerts oldest first; `page_prefix` is how to reach the site root. */
static void put_alerts(struct sbuf *b, const struct dash_alert **alerts, size_t n)
{
	if (n == 0) {
		sbuf_puts(b, "<p>No active alerts.</p>\n");
		return;
	}
	qsort(alerts, n, sizeof(*alerts), cmp_alert);
	sbuf_puts(b, "<div class=\"scroll\"><table>\n<thead><tr><th>Since</th><th>Severity</th>"
	             "<th>Alert</th><th>State</th><th>What</th><th>Acknowledged</th></tr></thead>"
	             "\n<tbody>\n");
	for (size_t i = 0; i < n; i++) {
		const struct dash_alert *a = alerts[i];

		sbuf_puts(b, "<tr><td>");
		put_time(b, a->since);
		sbuf_printf(b, "</td><td><span class=\"badge sev-%s\">%s</span></td><td>",
		            severity_name(a->severity), severity_name(a->severity));
		sbuf_html(b, a->key);
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, a->state);
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, a->summary);
		sbuf_puts(b, "</td><td>");
		if (a->ack_by) {
			sbuf_puts(b, "yes, by ");
			sbuf_html(b, a->ack_by);
			if (isfinite(a->ack_time)) {
				sbuf_puts(b, " at ");
				put_time(b, a->ack_time);
			}
			if (a->ack_comment && a->ack_comment[0]) {
				sbuf_puts(b, ": ");
				sbuf_html(b, a->ack_comment);
			}
		} else {
			sbuf_puts(b, "<strong>not acknowledged</strong>");
		}
		sbuf_puts(b, "</td></tr>\n");
	}
	sbuf_puts(b, "</tbody>\n</table></div>\n");
}

static void put_dues(struct sbuf *b, struct due_ref *dues, size_t n, double now,
                     bool with_instrument)
{
	qsort(dues, n, sizeof(*dues), cmp_due);
	sbuf_printf(b,
	            "<div class=\"scroll\"><table>\n<thead><tr><th>Due</th>%s<th>What</th></tr>"
	            "</thead>\n<tbody>\n",
	            with_instrument ? "<th>Instrument</th>" : "");
	for (size_t i = 0; i < n; i++) {
		bool overdue = dues[i].due->due <= now;

		sbuf_printf(b, "<tr><td%s>", overdue ? " class=\"overdue\"" : "");
		put_time(b, dues[i].due->due);
		if (overdue)
			sbuf_puts(b, " (overdue)");
		sbuf_puts(b, "</td>");
		if (with_instrument) {
			sbuf_puts(b, "<td>");
			sbuf_html(b, dues[i].in->site);
			sbuf_puts(b, "/");
			sbuf_html(b, dues[i].in->name);
			sbuf_puts(b, "</td>");
		}
		sbuf_puts(b, "<td>");
		sbuf_html(b, dues[i].due->name);
		sbuf_puts(b, "</td></tr>\n");
	}
	sbuf_puts(b, "</tbody>\n</table></div>\n");
}

/* ---- index ---- */

static void put_qc_today(struct sbuf *b, const struct dash_instrument *in)
{
	if (in->n_analytes == 0) {
		sbuf_puts(b, "<span class=\"muted\">no QC</span>");
		return;
	}
	for (size_t i = 0; i < in->n_analytes; i++) {
		if (i)
			sbuf_puts(b, "<br>");
		sbuf_html(b, in->analytes[i].name);
		sbuf_puts(b, " ");
		put_qc_badge(b, in->analytes[i].today);
	}
}

int html_index(struct sbuf *b, const struct dash_snapshot *s, const struct html_ctx *ctx)
{
	const struct dash_instrument **ins = NULL;
	const struct dash_alert **alerts = NULL;
	struct due_ref *dues = NULL;
	size_t n_alerts = 0, n_dues = 0, total_alerts = 0, total_dues = 0;
	size_t n_ok = 0, n_bad = 0;

	for (size_t i = 0; i < s->n_instruments; i++) {
		total_alerts += s->instruments[i].n_alerts;
		total_dues += s->instruments[i].n_dues;
	}
	ins = calloc(s->n_instruments + 1, sizeof(*ins));
	alerts = calloc(total_alerts + 1, sizeof(*alerts));
	dues = calloc(total_dues + 1, sizeof(*dues));
	if (!ins || !alerts || !dues) {
		free(ins);
		free(alerts);
		free(dues);
		return b->failed = true, -1;
	}
	for (size_t i = 0; i < s->n_instruments; i++) {
		const struct dash_instrument *in = &s->instruments[i];

		ins[i] = in;
		if (in->status == DASH_OK)
			n_ok++;
		else
			n_bad++;
		for (size_t j = 0; j < in->n_alerts; j++)
			alerts[n_alerts++] = &in->alerts[j];
		for (size_t j = 0; j < in->n_dues; j++)
			if (in->dues[j].due <= ctx->now + DASH_DUE_WINDOW_S)
				dues[n_dues++] = (struct due_ref){in, &in->dues[j]};
	}
	qsort(ins, s->n_instruments, sizeof(*ins), cmp_instrument);

	put_head(b, "labqcd: laboratory status", NULL);
	sbuf_puts(b, "<header>\n<h1>Laboratory status</h1>\n");
	sbuf_printf(b,
	            "<p>%zu instrument%s: %zu ok, %zu need%s attention; %zu active alert%s.</p>\n",
	            s->n_instruments, s->n_instruments == 1 ? "" : "s", n_ok, n_bad,
	            n_bad == 1 ? "s" : "", n_alerts, n_alerts == 1 ? "" : "s");
	put_generated(b, s);
	sbuf_puts(b, "</header>\n<main>\n<section>\n<h2>Active alerts, oldest first</h2>\n");
	put_alerts(b, alerts, n_alerts);
	sbuf_puts(b, "</section>\n<section>\n<h2>Instruments</h2>\n");
	if (s->n_instruments == 0)
		sbuf_puts(b, "<p>No instruments yet.</p>\n");
	for (size_t i = 0; i < s->n_instruments; i++) {
		const struct dash_instrument *in = ins[i];

		if (i == 0 || strcmp(in->site, ins[i - 1]->site) != 0) {
			sbuf_puts(b, "<h3>Site ");
			sbuf_html(b, in->site);
			sbuf_puts(b,
			          "</h3>\n<div class=\"scroll\"><table>\n<thead><tr><th>Instrument"
			          "</th><th>Location</th><th>Status</th><th>QC today</th></tr>"
			          "</thead>\n<tbody>\n");
		}
		sbuf_puts(b, "<tr><td>");
		if (dash_instrument_has_page(in)) {
			sbuf_puts(b, "<a href=\"");
			sbuf_html(b, in->site);
			sbuf_puts(b, "/");
			sbuf_html(b, in->name);
			sbuf_puts(b, "/index.html\">");
			sbuf_html(b, in->name);
			sbuf_puts(b, "</a>");
		} else {
			sbuf_html(b, in->name);
		}
		sbuf_puts(b, "</td><td>");
		if (in->location[0])
			sbuf_html(b, in->location);
		else
			sbuf_puts(b, "&#8212;");
		sbuf_puts(b, "</td><td>");
		put_badge(b, in->status);
		sbuf_puts(b, "</td><td>");
		put_qc_today(b, in);
		sbuf_puts(b, "</td></tr>\n");
		if (i + 1 == s->n_instruments || strcmp(in->site, ins[i + 1]->site) != 0)
			sbuf_puts(b, "</tbody>\n</table></div>\n");
	}
	sbuf_puts(b, "</section>\n<section>\n<h2>Maintenance and calibration due in the next 14 "
	             "days</h2>\n");
	if (n_dues == 0)
		sbuf_puts(b, "<p>Nothing due.</p>\n");
	else
		put_dues(b, dues, n_dues, ctx->now, true);
	sbuf_puts(b, "</section>\n</main>\n</body>\n</html>\n");
	free(ins);
	free(alerts);
	free(dues);
	return b->failed ? -1 : 0;
}

/* ---- instrument page ---- */

static void put_limits(struct sbuf *b, const struct dash_channel *c)
{
	bool any = false;
	const struct {
		const char *label;
		double v;
	} lim[] = {{"min", c->min},
	           {"warning below", c->warning_min},
	           {"warning above", c->warning_max},
	           {"max", c->max}};

	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		if (!isfinite(lim[i].v))
			continue;
		sbuf_puts(b, any ? ", " : "; limits: ");
		sbuf_printf(b, "%s %.6g", lim[i].label, lim[i].v);
		any = true;
	}
}

static void put_channel(struct sbuf *b, const struct dash_instrument *in,
                        const struct dash_channel *c, const struct html_ctx *ctx)
{
	char rel[512];
	bool any = false;

	sbuf_puts(b, "<h3>");
	sbuf_html(b, c->name);
	if (c->unit[0]) {
		sbuf_puts(b, " (");
		sbuf_html(b, c->unit);
		sbuf_puts(b, ")");
	}
	sbuf_puts(b, "</h3>\n<p>Last value ");
	put_num(b, c->last_value);
	if (c->unit[0] && isfinite(c->last_value)) {
		sbuf_puts(b, " ");
		sbuf_html(b, c->unit);
	}
	sbuf_puts(b, " at ");
	put_time(b, c->last_time);
	put_limits(b, c);
	sbuf_puts(b, ".</p>\n");
	if (dash_channel_has_graphs(in, c)) {
		for (int p = 0; p < DASH_N_PERIODS; p++) {
			const char *pn = dash_period_name((enum dash_period)p);

			snprintf(rel, sizeof(rel), "%s/%s/%s-%s.png", in->site, in->name, c->name,
			         pn);
			if (!file_exists(ctx, rel))
				continue;
			if (!any)
				sbuf_puts(b, "<div class=\"graphs\">\n");
			any = true;
			/* The page is in <site>/<instrument>/, next to its graphs. */
			sbuf_puts(b, "<figure><img src=\"");
			sbuf_html(b, c->name);
			sbuf_printf(b, "-%s.png\" width=\"%d\" height=\"%d\" alt=\"", pn,
			            DASH_GRAPH_W, DASH_GRAPH_H);
			sbuf_html(b, c->name);
			sbuf_printf(b, ", last %s\"><figcaption>Last %s</figcaption></figure>\n",
			            pn, pn);
		}
		if (any)
			sbuf_puts(b, "</div>\n");
	}
	if (!any)
		sbuf_puts(b, "<p class=\"muted\">No graph yet.</p>\n");
}

/* Per lot: n, mean, SD, CV cumulative and this month, all results and
 * runs not rejected (issue 17). */
static void put_stats(struct sbuf *b, const struct dash_qc_level *l)
{
	static const char *const rows[DASH_STAT_ROWS] = {"all", "runs not rejected",
	                                                 "this month, all",
	                                                 "this month, not rejected"};

	if (l->n_stats == 0)
		return;
	sbuf_puts(b, "<div class=\"scroll\"><table class=\"qc-stats\">\n<thead><tr><th>Lot</th>"
	             "<th>Results</th><th>n</th><th>Mean</th><th>SD</th><th>CV %</th></tr>"
	             "</thead>\n<tbody>\n");
	for (size_t i = 0; i < l->n_stats; i++)
		for (int r = 0; r < DASH_STAT_ROWS; r++) {
			sbuf_puts(b, "<tr><td>");
			sbuf_html(b, l->stats[i].lot[0] ? l->stats[i].lot : "(none)");
			sbuf_printf(b, "</td><td>%s</td><td>%.0f</td><td>", rows[r], l->stats[i].v[r][0]);
			for (int c = 1; c < 4; c++) {
				put_num(b, l->stats[i].v[r][c]);
				sbuf_puts(b, c < 3 ? "</td><td>" : "</td></tr>\n");
			}
		}
	sbuf_puts(b, "</tbody>\n</table></div>\n");
}

/* Each run with its final verdict and disposition, newest first. */
static void put_runs(struct sbuf *b, const struct dash_qc_analyte *a)
{
	if (a->n_runs == 0)
		return;
	sbuf_puts(b, "<div class=\"scroll\"><table class=\"qc-runs\">\n<thead><tr><th>Time</th>"
	             "<th>Run</th><th>Verdict</th><th>Disposition</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < a->n_runs; i++) {
		const struct dash_qc_run *r = &a->runs[i];

		sbuf_puts(b, "<tr><td>");
		put_time(b, r->t);
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, r->id);
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, r->status);
		if (r->note[0]) {
			sbuf_puts(b, " (");
			sbuf_html(b, r->note);
			sbuf_puts(b, ")");
		}
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, r->disposition);
		sbuf_puts(b, "</td></tr>\n");
	}
	sbuf_puts(b, "</tbody>\n</table></div>\n");
}

static void put_level(struct sbuf *b, const struct dash_instrument *in,
                      const struct dash_qc_analyte *a, const struct dash_qc_level *l,
                      const struct html_ctx *ctx)
{
	char rel[512];
	size_t first, n;

	sbuf_puts(b, "<h4>");
	sbuf_html(b, a->name);
	sbuf_puts(b, " ");
	sbuf_html(b, l->name);
	sbuf_puts(b, "</h4>\n<p>Target mean ");
	put_num(b, l->mean);
	sbuf_puts(b, ", SD ");
	put_num(b, l->sd);
	if (!isfinite(l->mean) || !isfinite(l->sd))
		sbuf_puts(b, " (being established from the first results)");
	sbuf_puts(b, ".</p>\n");
	if (dash_instrument_has_page(in) && ident_ok(a->name) && ident_ok(l->name)) {
		snprintf(rel, sizeof(rel), "%s/%s/qc/%s/%s.png", in->site, in->name, a->name,
		         l->name);
		if (file_exists(ctx, rel)) {
			sbuf_puts(b, "<figure><img src=\"qc/");
			sbuf_html(b, a->name);
			sbuf_puts(b, "/");
			sbuf_html(b, l->name);
			sbuf_printf(b,
			            ".png\" width=\"%d\" height=\"%d\" alt=\"Levey-Jennings chart ",
			            DASH_LJ_W, DASH_LJ_H);
			sbuf_html(b, a->name);
			sbuf_puts(b, " ");
			sbuf_html(b, l->name);
			sbuf_puts(b, "\"></figure>\n");
		}
	}
	put_stats(b, l);
	n = dash_qc_window(l, ctx->now, &first);
	if (n == 0) {
		sbuf_puts(b, "<p class=\"muted\">No results in the last 30 days.</p>\n");
		return;
	}
	/* The last few results in words, newest first, for who can't read the chart. */
	sbuf_puts(b, "<div class=\"scroll\"><table>\n<thead><tr><th>Time</th><th>Value</th>"
	             "<th>z</th><th>Status</th><th>Run</th><th>Lot</th><th>Rules</th></tr></thead>"
	             "\n<tbody>\n");
	for (size_t k = 0; k < n && k < 10; k++) {
		const struct dash_qc_result *r = &l->results[first + n - 1 - k];

		sbuf_puts(b, "<tr><td>");
		put_time(b, r->t);
		sbuf_puts(b, "</td><td>");
		put_num(b, r->value);
		sbuf_puts(b, "</td><td>");
		if (isfinite(r->z))
			sbuf_printf(b, "%+.2f", r->z);
		else
			sbuf_puts(b, "&#8212;");
		sbuf_puts(b, "</td><td>");
		put_qc_badge(b, r->status);
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, r->run);
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, r->lot);
		sbuf_puts(b, "</td><td>");
		sbuf_html(b, r->rules);
		sbuf_puts(b, "</td></tr>\n");
	}
	sbuf_puts(b, "</tbody>\n</table></div>\n");
}

int html_instrument(struct sbuf *b, const struct dash_snapshot *s, const struct dash_instrument *in,
                    const struct html_ctx *ctx)
{
	const struct dash_alert **alerts = calloc(in->n_alerts + 1, sizeof(*alerts));
	const struct dash_event **events = calloc(in->n_events + 1, sizeof(*events));
	struct due_ref *dues = calloc(in->n_dues + 1, sizeof(*dues));

	if (!alerts || !events || !dues) {
		free(alerts);
		free(events);
		free(dues);
		return b->failed = true, -1;
	}
	for (size_t i = 0; i < in->n_alerts; i++)
		alerts[i] = &in->alerts[i];
	for (size_t i = 0; i < in->n_events; i++)
		events[i] = &in->events[i];
	for (size_t i = 0; i < in->n_dues; i++)
		dues[i] = (struct due_ref){in, &in->dues[i]};

	{
		struct sbuf t = {0};

		sbuf_html(&t, in->site);
		sbuf_puts(&t, "/");
		sbuf_html(&t, in->name);
		sbuf_puts(&t, ": labqcd");
		put_head(b, t.p ? t.p : "labqcd", NULL);
		if (t.failed)
			b->failed = true;
		sbuf_free(&t);
	}
	sbuf_puts(b, "<header>\n<p><a href=\"../../index.html\">&#8592; All instruments</a></p>\n"
	             "<h1>");
	sbuf_html(b, in->site);
	sbuf_puts(b, " / ");
	sbuf_html(b, in->name);
	sbuf_puts(b, " ");
	put_badge(b, in->status);
	sbuf_puts(b, "</h1>\n");
	if (in->location[0]) {
		sbuf_puts(b, "<p>Location: ");
		sbuf_html(b, in->location);
		sbuf_puts(b, "</p>\n");
	}
	put_generated(b, s);
	sbuf_puts(b, "</header>\n<main>\n<section>\n<h2>Open alerts</h2>\n");
	put_alerts(b, alerts, in->n_alerts);
	sbuf_puts(b, "</section>\n");

	if (in->n_channels) {
		sbuf_puts(b, "<section>\n<h2>Channels</h2>\n");
		for (size_t i = 0; i < in->n_channels; i++)
			put_channel(b, in, &in->channels[i], ctx);
		sbuf_puts(b, "</section>\n");
	}
	if (in->n_analytes) {
		sbuf_puts(b, "<section>\n<h2>Quality control</h2>\n");
		for (size_t i = 0; i < in->n_analytes; i++) {
			const struct dash_qc_analyte *a = &in->analytes[i];

			sbuf_puts(b, "<h3>");
			sbuf_html(b, a->name);
			sbuf_puts(b, " today: ");
			put_qc_badge(b, a->today);
			sbuf_puts(b, "</h3>\n");
			put_runs(b, a);
			for (size_t j = 0; j < a->n_levels; j++)
				put_level(b, in, a, &a->levels[j], ctx);
			if (a->n_levels == 0)
				sbuf_puts(b, "<p class=\"muted\">No levels.</p>\n");
		}
		sbuf_puts(b, "</section>\n");
	}
	sbuf_puts(b, "<section>\n<h2>Maintenance and calibration</h2>\n");
	if (in->n_dues)
		put_dues(b, dues, in->n_dues, ctx->now, false);
	else
		sbuf_puts(b, "<p>Nothing scheduled.</p>\n");
	sbuf_puts(b, "</section>\n<section>\n<h2>Recent events</h2>\n");
	if (in->n_events) {
		qsort(events, in->n_events, sizeof(*events), cmp_event_newest);
		sbuf_puts(b, "<ul>\n");
		for (size_t i = 0; i < in->n_events; i++) {
			sbuf_puts(b, "<li>");
			put_time(b, events[i]->t);
			sbuf_puts(b, ": ");
			sbuf_html(b, events[i]->text);
			sbuf_puts(b, "</li>\n");
		}
		sbuf_puts(b, "</ul>\n");
	} else {
		sbuf_puts(b, "<p>No recent events.</p>\n");
	}
	sbuf_puts(b, "</section>\n</main>\n</body>\n</html>\n");
	free(alerts);
	free(events);
	free(dues);
	return b->failed ? -1 : 0;
}
