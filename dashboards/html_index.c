/*
 * html_index.c: the first page, www_dir/index.html. It answers "is
 * everything all right, and if not, what and since when": the active
 * alerts, then every instrument worst first (alarm, warning, stale,
 * maintenance, ok), each with every channel's latest value and unit, how
 * long ago it came, its state in words and colour, and a sparkline of
 * its last 24 hours; QC today per analyte with its last run's verdict
 * and time; then what falls due. Links to the wall view and the alert
 * history. In a fleet (issue 21), after the alerts, every instance's
 * summary with a link to its dashboard (html_fleet.c).
 */
#include "dashboards/dash_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char index_css[] =
    ".inst{border:1px solid #ccc;border-left:8px solid #616161;border-radius:4px;"
    "padding:4px 10px 8px;margin:10px 0}\n"
    ".inst.st-ok{border-left-color:#2e7d32}.inst.st-alarm{border-left-color:#c62828}\n"
    ".inst.st-warning{border-left-color:#f9a825}.inst.st-maintenance{border-left-color:#1565c0}\n"
    /* the card keeps a white background: .st-* colours only its border */
    ".inst,.inst.st-ok,.inst.st-alarm,.inst.st-warning,.inst.st-stale,.inst.st-maintenance"
    "{background:#fff}\n"
    ".inst h3{margin:.3em 0}\n"
    ".val{font-size:1.25em;font-weight:bold;white-space:nowrap}\n"
    ".chan td{vertical-align:middle}\n"
    ".chan img{margin:0}\n"
    /* the Fleet section (html_fleet.c) */
    ".fleet td{vertical-align:top}\n"
    ".fl-up{color:#2e7d32;font-weight:bold}.fl-down{color:#c62828;font-weight:bold}\n"
    ".fl-handed-over{color:#1565c0;font-weight:bold}\n";

/* One instrument's QC today: each analyte's badge, and its last run. */
static void put_qc_today(struct sbuf *b, const struct dash_instrument *in)
{
	sbuf_puts(b, "<p>QC today: ");
	for (size_t i = 0; i < in->n_analytes; i++) {
		const struct dash_qc_analyte *a = &in->analytes[i];

		if (i)
			sbuf_puts(b, "; ");
		sbuf_html(b, a->name);
		sbuf_puts(b, " ");
		html_qc_badge(b, a->today);
		if (a->n_runs) { /* runs are newest first */
			sbuf_puts(b, " <span class=\"muted\">last run ");
			sbuf_html(b, a->runs[0].id);
			sbuf_puts(b, " ");
			sbuf_html(b, a->runs[0].status);
			sbuf_puts(b, " at ");
			html_time(b, a->runs[0].t);
			sbuf_puts(b, "</span>");
		}
	}
	sbuf_puts(b, "</p>\n");
}

static void put_channels(struct sbuf *b, const struct dash_instrument *in,
                         const struct html_ctx *ctx)
{
	char rel[512];

	if (in->n_channels == 0)
		return;
	sbuf_puts(b, "<div class=\"scroll\" tabindex=\"0\"><table class=\"chan\">\n<thead><tr><th>Channel</th>"
	             "<th>Value</th><th>Updated</th><th>State</th><th>Last 24 h</th></tr></thead>"
	             "\n<tbody>\n");
	for (size_t i = 0; i < in->n_channels; i++) {
		const struct dash_channel *c = &in->channels[i];

		sbuf_puts(b, "<tr><td>");
		sbuf_html(b, c->name);
		sbuf_puts(b, "</td><td><span class=\"val\">");
		html_value(b, c->last_value, c->unit);
		sbuf_puts(b, "</span></td><td>");
		html_ago(b, ctx->now, c->last_time);
		sbuf_puts(b, "</td><td>");
		html_badge(b, dash_channel_status(in, c));
		sbuf_puts(b, "</td><td>");
		snprintf(rel, sizeof(rel), "%s/%s/%s-spark.png", in->site, in->name, c->name);
		if (dash_channel_has_graphs(in, c) && html_file_exists(ctx, rel)) {
			/* Opens the channel's full-size graphs. */
			sbuf_puts(b, "<a href=\"");
			sbuf_html(b, in->site);
			sbuf_puts(b, "/");
			sbuf_html(b, in->name);
			sbuf_puts(b, "/");
			sbuf_html(b, c->name);
			sbuf_puts(b, "-graphs.html\"><img class=\"spark\" src=\"");
			sbuf_html(b, rel);
			sbuf_printf(b, "\" width=\"%d\" height=\"%d\" alt=\"", DASH_SPARK_W,
			            DASH_SPARK_H);
			sbuf_html(b, c->name);
			sbuf_puts(b, ", last 24 hours\"></a>");
		} else {
			sbuf_puts(b, "<span class=\"muted\">no data yet</span>");
		}
		sbuf_puts(b, "</td></tr>\n");
	}
	sbuf_puts(b, "</tbody>\n</table></div>\n");
}

static void put_instrument(struct sbuf *b, const struct dash_instrument *in,
                           const struct html_ctx *ctx)
{
	sbuf_printf(b, "<article class=\"inst st-%s\">\n<h3>", dash_status_name(in->status));
	if (dash_instrument_has_page(in)) {
		sbuf_puts(b, "<a href=\"");
		sbuf_html(b, in->site);
		sbuf_puts(b, "/");
		sbuf_html(b, in->name);
		sbuf_puts(b, "/index.html\">");
	}
	sbuf_html(b, in->site);
	sbuf_puts(b, " / ");
	sbuf_html(b, in->name);
	if (dash_instrument_has_page(in))
		sbuf_puts(b, "</a>");
	sbuf_puts(b, " ");
	html_badge(b, in->status);
	sbuf_puts(b, "</h3>\n");
	if (in->location[0]) {
		sbuf_puts(b, "<p class=\"muted\">");
		sbuf_html(b, in->location);
		sbuf_puts(b, "</p>\n");
	}
	put_channels(b, in, ctx);
	if (in->n_analytes)
		put_qc_today(b, in);
	sbuf_puts(b, "</article>\n");
}

int html_index(struct sbuf *b, const struct dash_snapshot *s, const struct html_ctx *ctx)
{
	const struct dash_instrument **ins = html_sorted(s, false);
	const struct dash_alert **alerts = NULL;
	struct due_ref *dues = NULL;
	size_t n_alerts = 0, n_dues = 0, total_alerts = 0, total_dues = 0;
	size_t n_ok = 0, n_bad = 0;

	for (size_t i = 0; i < s->n_instruments; i++) {
		total_alerts += s->instruments[i].n_alerts;
		total_dues += s->instruments[i].n_dues;
	}
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

	html_head(b, "labqcd: laboratory status", ctx, index_css);
	sbuf_puts(b, "<header>\n<h1>Laboratory status</h1>\n");
	sbuf_printf(b,
	            "<p>%zu instrument%s: %zu ok, %zu need%s attention; %zu active alert%s.</p>\n",
	            s->n_instruments, s->n_instruments == 1 ? "" : "s", n_ok, n_bad,
	            n_bad == 1 ? "s" : "", n_alerts, n_alerts == 1 ? "" : "s");
	sbuf_puts(b, "<nav><a href=\"wall.html\">Wall view</a><a href=\"wall-dark.html\">Wall "
	             "view, dark</a><a href=\"history.html\">Alert history, 30 days</a></nav>\n");
	html_generated(b, s, ctx);
	sbuf_puts(b, "</header>\n<main>\n<section>\n<h2>Active alerts, oldest first</h2>\n");
	html_alerts(b, alerts, n_alerts);
	sbuf_puts(b, "</section>\n");
	html_fleet(b, s, ctx); /* every instance of the fleet, when there is one */
	sbuf_puts(b, "<section>\n<h2>Instruments, worst first</h2>\n");
	if (s->n_instruments == 0)
		sbuf_puts(b, "<p>No instruments yet.</p>\n");
	for (size_t i = 0; i < s->n_instruments; i++)
		put_instrument(b, ins[i], ctx);
	sbuf_puts(b, "</section>\n<section>\n<h2>Maintenance and calibration due in the next 14 "
	             "days</h2>\n");
	if (n_dues == 0)
		sbuf_puts(b, "<p>Nothing due.</p>\n");
	else
		html_dues(b, dues, n_dues, ctx->now, true);
	sbuf_puts(b, "</section>\n</main>\n</body>\n</html>\n");
	free(ins);
	free(alerts);
	free(dues);
	return b->failed ? -1 : 0;
}
