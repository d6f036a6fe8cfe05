/*
 * html_graphs.c: one channel's full-size graphs,
 * <site>/<instrument>/<channel>-graphs.html: the last day, week, month
 * and year, DASH_FULL_W pixels wide, with the periods its alerts fired
 * shaded red and the instrument's maintenance grey (from the alert
 * history), and those periods listed in words too.
 */
#include "dashboards/dash_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_periods(struct sbuf *b, const struct dash_instrument *in,
                        const struct dash_channel *c, const struct html_ctx *ctx)
{
	char prefix[300], inst[200];
	size_t n_ep, n_mt, shown = 0;
	const struct dash_episode *ep = history_episodes(ctx->hist, &n_ep);
	const struct dash_maint *mt = history_maint(ctx->hist, &n_mt);
	int pl = snprintf(prefix, sizeof(prefix), "%s/%s/%s/", in->site, in->name, c->name);

	snprintf(inst, sizeof(inst), "%s/%s", in->site, in->name);
	if (pl <= 0 || (size_t)pl >= sizeof(prefix))
		return;
	sbuf_puts(b, "<section>\n<h2>Shaded periods, last 30 days</h2>\n");
	for (size_t k = n_ep; k-- > 0;) {
		if (isnan(ep[k].fired) || strncmp(ep[k].key, prefix, (size_t)pl) != 0)
			continue;
		if (shown++ == 0)
			sbuf_puts(b, "<ul>\n");
		sbuf_puts(b, "<li>Alert ");
		sbuf_html(b, ep[k].key + pl);
		sbuf_printf(b, " (%s) firing from ", severity_name(ep[k].severity));
		html_time(b, ep[k].fired);
		sbuf_puts(b, " to ");
		if (isnan(ep[k].end))
			sbuf_puts(b, "now");
		else
			html_time(b, ep[k].end);
		sbuf_puts(b, " (red)</li>\n");
	}
	for (size_t k = n_mt; k-- > 0;) {
		if (strcmp(mt[k].key, inst) != 0)
			continue;
		if (shown++ == 0)
			sbuf_puts(b, "<ul>\n");
		sbuf_puts(b, "<li>Maintenance from ");
		html_time(b, mt[k].start);
		sbuf_puts(b, " to ");
		if (isnan(mt[k].end))
			sbuf_puts(b, "now");
		else
			html_time(b, mt[k].end);
		sbuf_puts(b, " (grey)</li>\n");
	}
	sbuf_puts(b, shown ? "</ul>\n" : "<p>None: no alert fired and no maintenance.</p>\n");
	sbuf_puts(b, "</section>\n");
}

int html_graphs(struct sbuf *b, const struct dash_snapshot *s, const struct dash_instrument *in,
                const struct dash_channel *c, const struct html_ctx *ctx)
{
	struct sbuf t = {0};
	char rel[600];
	bool any = false;

	sbuf_html(&t, in->name);
	sbuf_puts(&t, " ");
	sbuf_html(&t, c->name);
	sbuf_puts(&t, ": graphs: labqcd");
	html_head(b, t.p ? t.p : "labqcd", ctx, "figure{margin:0 0 16px}\n");
	sbuf_free(&t);
	sbuf_puts(b, "<header>\n<nav><a href=\"index.html\">&#8592; ");
	sbuf_html(b, in->name);
	sbuf_puts(b, "</a><a href=\"../../index.html\">All instruments</a></nav>\n<h1>");
	sbuf_html(b, in->site);
	sbuf_puts(b, " / ");
	sbuf_html(b, in->name);
	sbuf_puts(b, " / ");
	sbuf_html(b, c->name);
	sbuf_puts(b, " ");
	html_badge(b, dash_channel_status(in, c));
	sbuf_puts(b, "</h1>\n<p>Last value <strong>");
	html_value(b, c->last_value, c->unit);
	sbuf_puts(b, "</strong> at ");
	html_time(b, c->last_time);
	sbuf_puts(b, ".</p>\n");
	html_generated(b, s, ctx);
	sbuf_puts(b, "</header>\n<main>\n");
	for (int p = 0; p < DASH_N_FULL; p++) {
		const char *pn = dash_period_name((enum dash_period)p);

		snprintf(rel, sizeof(rel), "%s/%s/%s-%s-full.png", in->site, in->name, c->name, pn);
		if (!html_file_exists(ctx, rel))
			continue;
		any = true;
		sbuf_printf(b, "<figure id=\"%s\"><img src=\"", pn);
		sbuf_html(b, c->name);
		sbuf_printf(b, "-%s-full.png\" width=\"%d\" height=\"%d\" alt=\"", pn, DASH_FULL_W,
		            DASH_FULL_H);
		sbuf_html(b, c->name);
		sbuf_printf(b, ", last %s, full size\"><figcaption>Last %s</figcaption></figure>\n",
		            pn, pn);
	}
	if (!any)
		sbuf_puts(b, "<p class=\"muted\">No graph yet.</p>\n");
	if (ctx->hist)
		put_periods(b, in, c, ctx);
	sbuf_puts(b, "</main>\n</body>\n</html>\n");
	return b->failed ? -1 : 0;
}
