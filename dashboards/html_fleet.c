/*
 * html_fleet.c: the index page's Fleet section (issue 21): every labqcd
 * sharing the broker, this one first, each with its state and since
 * when, its slice, the sites and counts of its status summary, and a
 * link to its own dashboard. Everything a peer sent is escaped; its url
 * becomes a link only when it is http:// or https:// (a javascript: or
 * data: URL from a hostile publisher stays text).
 */
#include "dashboards/dash_int.h"

#include <math.h>
#include <string.h>

static bool web_url(const char *u)
{
	return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

static void put_member(struct sbuf *b, const struct dash_fleet_member *m, double now)
{
	const char *cls = strcmp(m->state, "up") == 0       ? "fl-up"
	                  : strcmp(m->state, "handed-over") == 0 ? "fl-handed-over"
	                                                          : "fl-down";

	sbuf_puts(b, "<tr><td>");
	sbuf_html(b, m->name);
	if (m->self)
		sbuf_puts(b, " <span class=\"muted\">(this one)</span>");
	sbuf_printf(b, "</td><td><span class=\"%s\">", cls);
	sbuf_html(b, m->state);
	sbuf_puts(b, "</span>");
	if (isfinite(m->since)) {
		sbuf_puts(b, " <span class=\"muted\">since ");
		html_ago(b, now, m->since);
		sbuf_puts(b, "</span>");
	}
	sbuf_puts(b, "</td><td><code>");
	sbuf_html(b, m->slice);
	sbuf_puts(b, "</code></td><td>");
	sbuf_html(b, m->sites[0] ? m->sites : "\xe2\x80\x94");
	sbuf_puts(b, "</td><td>");
	if (m->has_summary) {
		sbuf_printf(b, "%u, %u need%s attention", m->instruments, m->attention,
		            m->attention == 1 ? "s" : "");
		sbuf_printf(b, "</td><td>%u critical, %u warning</td><td>%u accepted, %u rejected"
		               "</td><td>%u soon, %u overdue",
		            m->alerts_critical, m->alerts_warning, m->qc_accepted, m->qc_rejected,
		            m->dues_soon, m->dues_overdue);
		if (isfinite(m->status_at)) {
			sbuf_puts(b, " <span class=\"muted\">(as of ");
			html_ago(b, now, m->status_at);
			sbuf_puts(b, ")</span>");
		}
	} else {
		sbuf_puts(b, "<span class=\"muted\">no summary yet</span></td><td></td><td></td>"
		             "<td>");
	}
	sbuf_puts(b, "</td><td>");
	if (m->self)
		sbuf_puts(b, "this page");
	else if (web_url(m->url)) {
		sbuf_puts(b, "<a class=\"fleet-link\" href=\"");
		sbuf_html(b, m->url);
		sbuf_puts(b, "\">");
		sbuf_html(b, m->url);
		sbuf_puts(b, "</a>");
	} else if (m->url[0]) {
		sbuf_html(b, m->url);
	} else {
		sbuf_puts(b, "<span class=\"muted\">no url</span>");
	}
	sbuf_puts(b, "</td></tr>\n");
}

void html_fleet(struct sbuf *b, const struct dash_snapshot *s, const struct html_ctx *ctx)
{
	if (s->n_fleet == 0)
		return;
	sbuf_printf(b, "<section id=\"fleet\">\n<h2>Fleet: %zu instance%s</h2>\n", s->n_fleet,
	            s->n_fleet == 1 ? "" : "s");
	sbuf_puts(b, "<div class=\"scroll\" tabindex=\"0\"><table class=\"fleet\">\n<thead><tr>"
	             "<th>Instance</th><th>State</th><th>Slice</th><th>Sites</th>"
	             "<th>Instruments</th><th>Alerts firing</th><th>QC today</th><th>Due</th>"
	             "<th>Dashboard</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < s->n_fleet; i++)
		put_member(b, &s->fleet[i], ctx->now);
	sbuf_puts(b, "</tbody>\n</table></div>\n</section>\n");
}
