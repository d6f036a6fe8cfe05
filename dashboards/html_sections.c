/*
 * html_sections.c: the sections two pages share: the table of active
 * alerts (index and instrument page) and of what falls due.
 */
#include "dashboards/dash_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- order ---- */

int html_cmp_time(double x, double y)
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
	int c = html_cmp_time(x->since, y->since);

	return c ? c : strcmp(x->key, y->key);
}

static int cmp_due(const void *a, const void *b)
{
	const struct due_ref *x = a, *y = b;
	int c = html_cmp_time(x->due->due, y->due->due);

	return c ? c : strcmp(x->due->name, y->due->name);
}

/* ---- shared sections ---- */

/* Alerts oldest first; `page_prefix` is how to reach the site root. */
void html_alerts(struct sbuf *b, const struct dash_alert **alerts, size_t n)
{
	if (n == 0) {
		sbuf_puts(b, "<p>No active alerts.</p>\n");
		return;
	}
	qsort(alerts, n, sizeof(*alerts), cmp_alert);
	sbuf_puts(b, "<div class=\"scroll\" tabindex=\"0\"><table>\n<thead><tr><th>Since</th><th>Severity</th>"
	             "<th>Alert</th><th>State</th><th>What</th><th>Acknowledged</th></tr></thead>"
	             "\n<tbody>\n");
	for (size_t i = 0; i < n; i++) {
		const struct dash_alert *a = alerts[i];

		sbuf_puts(b, "<tr><td>");
		html_time(b, a->since);
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
				html_time(b, a->ack_time);
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

void html_dues(struct sbuf *b, struct due_ref *dues, size_t n, double now,
                     bool with_instrument)
{
	qsort(dues, n, sizeof(*dues), cmp_due);
	sbuf_printf(b,
	            "<div class=\"scroll\" tabindex=\"0\"><table>\n<thead><tr><th>Due</th>%s<th>What</th></tr>"
	            "</thead>\n<tbody>\n",
	            with_instrument ? "<th>Instrument</th>" : "");
	for (size_t i = 0; i < n; i++) {
		bool overdue = dues[i].due->due <= now;

		sbuf_printf(b, "<tr><td%s>", overdue ? " class=\"overdue\"" : "");
		html_time(b, dues[i].due->due);
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

