/*
 * html_wall.c: the wall view, www_dir/wall.html and wall-dark.html, for
 * the screen on the lab's wall: one large tile per instrument, alarms
 * first, readable from 3 metres (values in 36 px type, the state in
 * words on every tile), no script, reloaded every dashboard_interval by
 * its meta tag. Up to 24 tiles fit 1920x1080 without scrolling (six
 * columns of four rows, at most WALL_CHANNELS values a tile: the worst
 * ones, and how many more there are). wall.html is light, or dark when
 * the screen prefers it (prefers-color-scheme); wall-dark.html is dark
 * for screens that state no preference.
 */
#include "dashboards/dash_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALL_CHANNELS 3

static const char wall_css[] =
    "body{max-width:none;padding:8px 14px}\n"
    ".top{display:flex;flex-wrap:wrap;gap:0 2em;align-items:baseline}\n"
    ".top h1{font-size:28px;margin:0 0 6px}.top p{margin:0}\n"
    ".tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:10px;"
    "list-style:none;margin:0;padding:0}\n"
    ".tile{border:2px solid #999;border-left:14px solid #616161;border-radius:6px;"
    "padding:6px 10px;background:#fff;overflow:hidden}\n"
    ".tile.st-ok{border-left-color:#2e7d32}.tile.st-alarm{border-left-color:#c62828;"
    "border-color:#c62828}\n"
    ".tile.st-warning{border-left-color:#f9a825}.tile.st-maintenance{border-left-color:#1565c0}\n"
    ".tile h2{font-size:24px;margin:0;border:0;white-space:nowrap;overflow:hidden;"
    "text-overflow:ellipsis}\n"
    ".tile .badge{font-size:20px}\n"
    ".ch{margin:2px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\n"
    ".ch .cn{font-size:18px}.ch .v{font-size:36px;font-weight:bold}\n"
    ".tile .foot{font-size:16px;margin:2px 0 0}\n";

/* The dark theme: on its own (wall-dark.html) or inside a media query. */
static const char wall_dark_css[] =
    "body{background:#121212;color:#f0f0f0}\n"
    /* the .st-* classes colour badges; on a tile only the border */
    ".tile,.tile.st-ok,.tile.st-alarm,.tile.st-warning,.tile.st-stale,.tile.st-maintenance"
    "{background:#1e1e1e;color:#f0f0f0}\n"
    ".tile{border-color:#777}.muted{color:#c8c8c8}a{color:#9ecbff}\n";

static void put_tile(struct sbuf *b, const struct dash_instrument *in, double now)
{
	const struct dash_channel *show[WALL_CHANNELS];
	size_t n_show = 0;
	double newest = NAN;

	for (size_t i = 0; i < in->n_channels; i++)
		if (isfinite(in->channels[i].last_time) && !(in->channels[i].last_time <= newest))
			newest = in->channels[i].last_time;
	/* The worst channels, in their own order within a state. */
	for (int rank = 0; rank <= dash_status_rank(DASH_OK); rank++)
		for (size_t i = 0; i < in->n_channels && n_show < WALL_CHANNELS; i++)
			if (dash_status_rank(dash_channel_status(in, &in->channels[i])) == rank)
				show[n_show++] = &in->channels[i];
	sbuf_printf(b, "<li class=\"tile st-%s\">\n<h2>", dash_status_name(in->status));
	sbuf_html(b, in->name);
	sbuf_puts(b, "</h2>\n<p>");
	html_badge(b, in->status);
	sbuf_puts(b, " <span class=\"muted\">");
	sbuf_html(b, in->site);
	if (in->location[0]) {
		sbuf_puts(b, ", ");
		sbuf_html(b, in->location);
	}
	sbuf_puts(b, "</span></p>\n");
	for (size_t i = 0; i < n_show; i++) {
		const struct dash_channel *c = show[i];
		enum dash_status st = dash_channel_status(in, c);

		sbuf_puts(b, "<p class=\"ch\"><span class=\"cn\">");
		sbuf_html(b, c->name);
		sbuf_puts(b, "</span> <span class=\"v\">");
		html_value(b, c->last_value, c->unit);
		sbuf_puts(b, "</span>");
		if (st != DASH_OK) {
			sbuf_puts(b, " ");
			html_badge(b, st);
		}
		sbuf_puts(b, "</p>\n");
	}
	if (in->n_channels > n_show)
		sbuf_printf(b, "<p class=\"foot\">and %zu more channel%s</p>\n",
		            in->n_channels - n_show, in->n_channels - n_show == 1 ? "" : "s");
	for (size_t i = 0; i < in->n_analytes && i < 2; i++) {
		sbuf_puts(b, "<p class=\"foot\">QC ");
		sbuf_html(b, in->analytes[i].name);
		sbuf_puts(b, " ");
		html_qc_badge(b, in->analytes[i].today);
		sbuf_puts(b, "</p>\n");
	}
	if (in->n_channels) {
		sbuf_puts(b, "<p class=\"foot muted\">updated ");
		html_ago(b, now, newest);
		sbuf_puts(b, "</p>\n");
	}
	sbuf_puts(b, "</li>\n");
}

int html_wall(struct sbuf *b, const struct dash_snapshot *s, const struct html_ctx *ctx, bool dark)
{
	const struct dash_instrument **ins = html_sorted(s, false);
	struct sbuf css = {0};
	size_t n_bad = 0;

	if (ins == NULL)
		return b->failed = true, -1;
	sbuf_puts(&css, wall_css);
	if (dark) {
		sbuf_puts(&css, wall_dark_css);
	} else {
		sbuf_puts(&css, "@media (prefers-color-scheme: dark){\n");
		sbuf_puts(&css, wall_dark_css);
		sbuf_puts(&css, "}\n");
	}
	html_head(b, "labqcd: wall", ctx, css.p);
	if (css.failed)
		b->failed = true;
	sbuf_free(&css);
	for (size_t i = 0; i < s->n_instruments; i++)
		n_bad += s->instruments[i].status != DASH_OK;
	sbuf_puts(b, "<header class=\"top\">\n<h1>Laboratory status</h1>\n");
	if (n_bad)
		sbuf_printf(b, "<p><strong>%zu of %zu instrument%s need%s attention</strong></p>\n",
		            n_bad, s->n_instruments, s->n_instruments == 1 ? "" : "s",
		            n_bad == 1 ? "s" : "");
	else
		sbuf_printf(b, "<p>All %zu instrument%s ok</p>\n", s->n_instruments,
		            s->n_instruments == 1 ? "" : "s");
	sbuf_puts(b, "<p class=\"muted\">as of ");
	html_time(b, s->generated_at);
	sbuf_puts(b, " &#183; <a href=\"index.html\">details</a></p>\n</header>\n<main>\n"
	             "<ul class=\"tiles\">\n");
	for (size_t i = 0; i < s->n_instruments; i++)
		put_tile(b, ins[i], ctx->now);
	sbuf_puts(b, "</ul>\n</main>\n</body>\n</html>\n");
	free(ins);
	return b->failed ? -1 : 0;
}
