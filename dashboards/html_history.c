/*
 * html_history.c: the alert history of the last 30 days (history.c reads
 * it from the audit log): www_dir/history.html, a section per site, and
 * <site>/<instrument>/history.html for one instrument. Newest first:
 * start, end, duration, the alert, its severity, its peak, who
 * acknowledged it and their comment. A `cleared` excursion (ended
 * inside its delay, never notified) is a lighter row that says so in
 * words.
 */
#include "dashboards/dash_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char history_css[] =
    "tr.cleared td{color:#555;background:#f7f7f7}\n"
    "td.num{white-space:nowrap}\n";

/* The unit of the channel an alert key names, if the snapshot knows it. */
static const char *unit_of(const struct dash_snapshot *s, const struct dash_episode *e)
{
	const char *ch = e->key + e->inst_len + 1, *slash = strchr(ch, '/');

	if (slash == NULL)
		return "";
	for (size_t i = 0; i < s->n_instruments; i++) {
		const struct dash_instrument *in = &s->instruments[i];
		size_t sl = strlen(in->site);

		if (strncmp(e->key, in->site, sl) != 0 || e->key[sl] != '/' ||
		    strncmp(e->key + sl + 1, in->name, e->inst_len - sl - 1) != 0 ||
		    strlen(in->name) != e->inst_len - sl - 1)
			continue;
		for (size_t j = 0; j < in->n_channels; j++)
			if (strlen(in->channels[j].name) == (size_t)(slash - ch) &&
			    strncmp(in->channels[j].name, ch, (size_t)(slash - ch)) == 0)
				return in->channels[j].unit;
	}
	return "";
}

static void put_row(struct sbuf *b, const struct dash_snapshot *s, const struct dash_episode *e,
                    double now)
{
	const char *unit = unit_of(s, e);

	sbuf_printf(b, "<tr%s><td class=\"num\">", e->cleared ? " class=\"cleared\"" : "");
	html_time(b, e->start);
	sbuf_puts(b, "</td><td class=\"num\">");
	if (isnan(e->end))
		sbuf_puts(b, "<strong>still open</strong>");
	else
		html_time(b, e->end);
	if (e->cleared)
		sbuf_puts(b, " (cleared: a short excursion, never fired)");
	sbuf_puts(b, "</td><td class=\"num\">");
	html_duration(b, (isnan(e->end) ? now : e->end) - e->start);
	sbuf_puts(b, "</td><td>");
	sbuf_html(b, e->key);
	if (e->summary && e->summary[0]) {
		sbuf_puts(b, "<br><span class=\"muted\">");
		sbuf_html(b, e->summary);
		sbuf_puts(b, "</span>");
	}
	sbuf_printf(b, "</td><td><span class=\"badge sev-%s\">%s</span></td><td class=\"num\">",
	            severity_name(e->severity), severity_name(e->severity));
	html_num(b, e->peak);
	if (isfinite(e->peak) && unit[0]) {
		sbuf_puts(b, " ");
		sbuf_html(b, unit);
	}
	sbuf_puts(b, "</td><td>");
	if (e->ack_by) {
		sbuf_html(b, e->ack_by);
		sbuf_puts(b, " at ");
		html_time(b, e->ack_time);
	} else {
		sbuf_puts(b, e->cleared ? "&#8212;" : "not acknowledged");
	}
	sbuf_puts(b, "</td><td>");
	if (e->ack_comment)
		sbuf_html(b, e->ack_comment);
	sbuf_puts(b, "</td></tr>\n");
}

/* The episodes whose key starts with prefix (plen bytes, then '/'),
 * newest first. */
static size_t put_table(struct sbuf *b, const struct dash_snapshot *s, const char *prefix,
                        size_t plen, const struct html_ctx *ctx)
{
	size_t n, shown = 0;
	const struct dash_episode *ep = history_episodes(ctx->hist, &n);

	for (size_t k = n; k-- > 0;) {
		const struct dash_episode *e = &ep[k];

		if (strncmp(e->key, prefix, plen) != 0 || e->key[plen] != '/')
			continue;
		if (shown++ == 0)
			sbuf_puts(b, "<div class=\"scroll\" tabindex=\"0\"><table class=\"history\">\n<thead><tr>"
			             "<th>Start</th><th>End</th><th>Duration</th><th>Alert</th>"
			             "<th>Severity</th><th>Peak</th><th>Acknowledged by</th>"
			             "<th>Comment</th></tr></thead>\n<tbody>\n");
		put_row(b, s, e, ctx->now);
	}
	if (shown)
		sbuf_puts(b, "</tbody>\n</table></div>\n");
	else
		sbuf_puts(b, "<p>No alerts in the last 30 days.</p>\n");
	return shown;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int html_history(struct sbuf *b, const struct dash_snapshot *s, const struct dash_instrument *in,
                 const struct html_ctx *ctx)
{
	struct sbuf t = {0};

	if (in) {
		sbuf_html(&t, in->site);
		sbuf_puts(&t, "/");
		sbuf_html(&t, in->name);
		sbuf_puts(&t, ": alert history: labqcd");
	}
	html_head(b, in ? (t.p ? t.p : "labqcd") : "labqcd: alert history", ctx, history_css);
	sbuf_free(&t);
	if (in) {
		sbuf_puts(b, "<header>\n<nav><a href=\"index.html\">&#8592; ");
		sbuf_html(b, in->name);
		sbuf_puts(b, "</a><a href=\"../../history.html\">Every site's alerts</a></nav>\n<h1>");
		sbuf_html(b, in->site);
		sbuf_puts(b, " / ");
		sbuf_html(b, in->name);
		sbuf_puts(b, ": alerts of the last 30 days</h1>\n");
	} else {
		sbuf_puts(b, "<header>\n<nav><a href=\"index.html\">&#8592; All instruments</a>"
		             "</nav>\n<h1>Alerts of the last 30 days</h1>\n");
	}
	html_generated(b, s, ctx);
	sbuf_puts(b, "<p class=\"muted\">Newest first. A lighter row marked cleared is a short "
	             "excursion that ended inside its delay and was never notified.</p>\n"
	             "</header>\n<main>\n");
	if (ctx->hist == NULL) {
		sbuf_puts(b, "<p>No audit log to read the history from.</p>\n");
	} else if (in) {
		char prefix[300];
		int n = snprintf(prefix, sizeof(prefix), "%s/%s", in->site, in->name);
		if (n > 0 && (size_t)n < sizeof(prefix))
			put_table(b, s, prefix, (size_t)n, ctx);
	} else {
		/* Every site the snapshot or the history names, by name. */
		size_t n_ep, n_sites = 0;
		const struct dash_episode *ep = history_episodes(ctx->hist, &n_ep);
		const char **sites = calloc(s->n_instruments + n_ep + 1, sizeof(*sites));
		char **owned = calloc(n_ep + 1, sizeof(*owned));

		if (sites == NULL || owned == NULL) {
			free(sites);
			free(owned);
			return b->failed = true, -1;
		}
		for (size_t i = 0; i < s->n_instruments; i++)
			sites[n_sites++] = s->instruments[i].site;
		for (size_t i = 0; i < n_ep; i++) {
			const char *slash = strchr(ep[i].key, '/');
			owned[i] = slash ? strndup(ep[i].key, (size_t)(slash - ep[i].key)) : NULL;
			if (owned[i])
				sites[n_sites++] = owned[i];
		}
		qsort(sites, n_sites, sizeof(*sites), cmp_str);
		for (size_t i = 0; i < n_sites; i++) {
			if (i && strcmp(sites[i], sites[i - 1]) == 0)
				continue;
			sbuf_puts(b, "<section id=\"site-");
			sbuf_html(b, sites[i]);
			sbuf_puts(b, "\">\n<h2>Site ");
			sbuf_html(b, sites[i]);
			sbuf_puts(b, "</h2>\n");
			put_table(b, s, sites[i], strlen(sites[i]), ctx);
			sbuf_puts(b, "</section>\n");
		}
		if (n_sites == 0)
			sbuf_puts(b, "<p>No alerts in the last 30 days.</p>\n");
		for (size_t i = 0; i < n_ep; i++)
			free(owned[i]);
		free(owned);
		free(sites);
	}
	sbuf_puts(b, "</main>\n</body>\n</html>\n");
	return b->failed ? -1 : 0;
}
