/*
 * html_instrument.c: one instrument's page: its open alerts, each
 * channel's value, state and graphs (each thumbnail links to the
 * channel's full-size graphs), its QC with Levey-Jennings charts, runs
 * and statistics, what falls due and its recent events, and a link to
 * its alert history. See html_common.c for what every page shares.
 */
#include "dashboards/dash_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- instrument page ---- */

static int cmp_event_newest(const void *a, const void *b)
{
	const struct dash_event *x = *(const struct dash_event *const *)a;
	const struct dash_event *y = *(const struct dash_event *const *)b;

	return html_cmp_time(y->t, x->t);
}

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
	bool any = false, has_graphs = dash_channel_has_graphs(in, c);

	sbuf_puts(b, "<h3>");
	sbuf_html(b, c->name);
	if (c->unit[0]) {
		sbuf_puts(b, " (");
		sbuf_html(b, c->unit);
		sbuf_puts(b, ")");
	}
	sbuf_puts(b, " ");
	html_badge(b, dash_channel_status(in, c));
	sbuf_puts(b, "</h3>\n<p>Last value <strong>");
	html_value(b, c->last_value, c->unit);
	sbuf_puts(b, "</strong> at ");
	html_time(b, c->last_time);
	sbuf_puts(b, " (");
	html_ago(b, ctx->now, c->last_time);
	sbuf_puts(b, ")");
	put_limits(b, c);
	sbuf_puts(b, ".</p>\n");
	if (has_graphs) {
		for (int p = 0; p < DASH_N_PERIODS; p++) {
			const char *pn = dash_period_name((enum dash_period)p);

			snprintf(rel, sizeof(rel), "%s/%s/%s-%s.png", in->site, in->name, c->name,
			         pn);
			if (!html_file_exists(ctx, rel))
				continue;
			if (!any)
				sbuf_puts(b, "<div class=\"graphs\">\n");
			any = true;
			/* The page is in <site>/<instrument>/, next to its graphs;
			 * each opens the channel's full-size graphs. */
			sbuf_puts(b, "<figure><a href=\"");
			sbuf_html(b, c->name);
			sbuf_printf(b, "-graphs.html#%s\"><img src=\"", pn);
			sbuf_html(b, c->name);
			sbuf_printf(b, "-%s.png\" width=\"%d\" height=\"%d\" alt=\"", pn,
			            DASH_GRAPH_W, DASH_GRAPH_H);
			sbuf_html(b, c->name);
			sbuf_printf(b, ", last %s (opens the full-size graphs)\"></a>"
			            "<figcaption>Last %s</figcaption></figure>\n", pn, pn);
		}
		if (any)
			sbuf_puts(b, "</div>\n");
	}
	if (!any)
		sbuf_puts(b, "<p class=\"muted\">No graph yet.</p>\n");
	else {
		sbuf_puts(b, "<p><a href=\"");
		sbuf_html(b, c->name);
		sbuf_puts(b, "-graphs.html\">Full-size graphs of ");
		sbuf_html(b, c->name);
		sbuf_puts(b, "</a> (day, week, month, year, with alert and maintenance periods)</p>\n");
	}
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
	sbuf_puts(b, "<div class=\"scroll\" tabindex=\"0\"><table class=\"qc-stats\">\n<thead><tr><th>Lot</th>"
	             "<th>Results</th><th>n</th><th>Mean</th><th>SD</th><th>CV %</th></tr>"
	             "</thead>\n<tbody>\n");
	for (size_t i = 0; i < l->n_stats; i++)
		for (int r = 0; r < DASH_STAT_ROWS; r++) {
			sbuf_puts(b, "<tr><td>");
			sbuf_html(b, l->stats[i].lot[0] ? l->stats[i].lot : "(none)");
			sbuf_printf(b, "</td><td>%s</td><td>%.0f</td><td>", rows[r], l->stats[i].v[r][0]);
			for (int c = 1; c < 4; c++) {
				html_num(b, l->stats[i].v[r][c]);
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
	sbuf_puts(b, "<div class=\"scroll\" tabindex=\"0\"><table class=\"qc-runs\">\n<thead><tr><th>Time</th>"
	             "<th>Run</th><th>Verdict</th><th>Disposition</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < a->n_runs; i++) {
		const struct dash_qc_run *r = &a->runs[i];

		sbuf_puts(b, "<tr><td>");
		html_time(b, r->t);
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
	html_num(b, l->mean);
	sbuf_puts(b, ", SD ");
	html_num(b, l->sd);
	if (!isfinite(l->mean) || !isfinite(l->sd))
		sbuf_puts(b, " (being established from the first results)");
	sbuf_puts(b, ".</p>\n");
	if (dash_instrument_has_page(in) && ident_ok(a->name) && ident_ok(l->name)) {
		snprintf(rel, sizeof(rel), "%s/%s/qc/%s/%s.png", in->site, in->name, a->name,
		         l->name);
		if (html_file_exists(ctx, rel)) {
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
	sbuf_puts(b, "<div class=\"scroll\" tabindex=\"0\"><table>\n<thead><tr><th>Time</th><th>Value</th>"
	             "<th>z</th><th>Status</th><th>Run</th><th>Lot</th><th>Rules</th></tr></thead>"
	             "\n<tbody>\n");
	for (size_t k = 0; k < n && k < 10; k++) {
		const struct dash_qc_result *r = &l->results[first + n - 1 - k];

		sbuf_puts(b, "<tr><td>");
		html_time(b, r->t);
		sbuf_puts(b, "</td><td>");
		html_num(b, r->value);
		sbuf_puts(b, "</td><td>");
		if (isfinite(r->z))
			sbuf_printf(b, "%+.2f", r->z);
		else
			sbuf_puts(b, "&#8212;");
		sbuf_puts(b, "</td><td>");
		html_qc_badge(b, r->status);
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
		html_head(b, t.p ? t.p : "labqcd", ctx, NULL);
		if (t.failed)
			b->failed = true;
		sbuf_free(&t);
	}
	sbuf_puts(b, "<header>\n<nav><a href=\"../../index.html\">&#8592; All instruments</a>"
	             "<a href=\"history.html\">Alert history of this instrument</a>"
	             "<a href=\"../../wall.html\">Wall view</a></nav>\n<h1>");
	sbuf_html(b, in->site);
	sbuf_puts(b, " / ");
	sbuf_html(b, in->name);
	sbuf_puts(b, " ");
	html_badge(b, in->status);
	sbuf_puts(b, "</h1>\n");
	if (in->location[0]) {
		sbuf_puts(b, "<p>Location: ");
		sbuf_html(b, in->location);
		sbuf_puts(b, "</p>\n");
	}
	html_generated(b, s, ctx);
	sbuf_puts(b, "</header>\n<main>\n<section>\n<h2>Open alerts</h2>\n");
	html_alerts(b, alerts, in->n_alerts);
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
			html_qc_badge(b, a->today);
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
		html_dues(b, dues, in->n_dues, ctx->now, false);
	else
		sbuf_puts(b, "<p>Nothing scheduled.</p>\n");
	sbuf_puts(b, "</section>\n<section>\n<h2>Recent events</h2>\n");
	if (in->n_events) {
		qsort(events, in->n_events, sizeof(*events), cmp_event_newest);
		sbuf_puts(b, "<ul>\n");
		for (size_t i = 0; i < in->n_events; i++) {
			sbuf_puts(b, "<li>");
			html_time(b, events[i]->t);
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
