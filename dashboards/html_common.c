/*
 * html_common.c: what the dashboard's pages share: which names get
 * files, a channel's state, the page head with its CSS, the formatting
 * of times, numbers and badges, and the worst-first order.
 *
 * Plain HTML5 with the CSS inline, no script, refreshed every
 * dashboard_interval by a meta tag (live monitoring: WCAG 2.2.1's
 * real-time exception), readable on a phone (viewport meta, images
 * scale down, wide tables scroll inside their box). Every string that
 * comes from a topic or the config goes through sbuf_html(). Status is
 * a badge with its word in it, never colour alone. Pure functions over
 * the snapshot; the only I/O is stat() to link only files that exist.
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
	/* A site called index.html (or the other top-level pages) would
	 * collide with them. */
	return ident_ok(in->site) && ident_ok(in->name) && strcmp(in->site, "index.html") != 0 &&
	       strcmp(in->site, "wall.html") != 0 && strcmp(in->site, "wall-dark.html") != 0 &&
	       strcmp(in->site, "history.html") != 0;
}

bool dash_channel_has_graphs(const struct dash_instrument *in, const struct dash_channel *c)
{
	/* "qc" is where LJ charts live; a telemetry channel cannot have that name. */
	return dash_instrument_has_page(in) && ident_ok(c->name) && strcmp(c->name, "qc") != 0 &&
	       strcmp(c->name, "index.html") != 0 && strcmp(c->name, "history.html") != 0 &&
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
	case DASH_YEAR:
		return "year";
	}
	return "day";
}

enum dash_status dash_channel_status(const struct dash_instrument *in,
                                     const struct dash_channel *c)
{
	size_t plen = strlen(in->site) + strlen(in->name) + 2, clen = strlen(c->name);
	enum dash_status st = in->status == DASH_MAINTENANCE ? DASH_MAINTENANCE : DASH_OK;

	for (size_t i = 0; i < in->n_alerts; i++) {
		const struct dash_alert *a = &in->alerts[i];
		const char *k = a->key;
		enum dash_status this;

		/* site/instrument/channel/rule, firing only */
		if (strcmp(a->state, "firing") != 0 || strlen(k) <= plen + clen ||
		    strncmp(k + plen, c->name, clen) != 0 || k[plen + clen] != '/')
			continue;
		if (strcmp(k + plen + clen + 1, "stale") == 0)
			this = DASH_STALE;
		else if (a->severity == SEV_CRITICAL)
			this = DASH_ALARM;
		else if (a->severity == SEV_WARNING)
			this = DASH_WARNING;
		else
			continue;
		if (dash_status_rank(this) < dash_status_rank(st))
			st = this;
	}
	return st;
}

int dash_status_rank(enum dash_status st)
{
	switch (st) {
	case DASH_ALARM:
		return 0;
	case DASH_WARNING:
		return 1;
	case DASH_STALE:
		return 2;
	case DASH_MAINTENANCE:
		return 3;
	case DASH_OK:
		return 4;
	}
	return 4;
}

/* ---- formatting ---- */

void html_time(struct sbuf *b, double t)
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

void html_duration(struct sbuf *b, double s)
{
	if (!isfinite(s) || s < 0) {
		sbuf_puts(b, "&#8212;");
		return;
	}
	if (s < 60)
		sbuf_printf(b, "%.0f s", s);
	else if (s < 3600)
		sbuf_printf(b, "%.0f min", floor(s / 60));
	else if (s < 86400)
		sbuf_printf(b, "%.0f h %02.0f min", floor(s / 3600), floor(fmod(s, 3600) / 60));
	else
		sbuf_printf(b, "%.0f d %.0f h", floor(s / 86400), floor(fmod(s, 86400) / 3600));
}

void html_ago(struct sbuf *b, double now, double t)
{
	if (!isfinite(t)) {
		sbuf_puts(b, "never");
		return;
	}
	if (now - t < 1) {
		sbuf_puts(b, "just now");
		return;
	}
	html_duration(b, now - t);
	sbuf_puts(b, " ago");
}

void html_num(struct sbuf *b, double v)
{
	if (isfinite(v))
		sbuf_printf(b, "%.6g", v);
	else
		sbuf_puts(b, "&#8212;");
}

void html_value(struct sbuf *b, double v, const char *unit)
{
	html_num(b, v);
	if (unit && unit[0] && isfinite(v)) {
		sbuf_puts(b, " ");
		sbuf_html(b, unit);
	}
}

void html_badge(struct sbuf *b, enum dash_status st)
{
	sbuf_printf(b, "<span class=\"badge st-%s\">%s</span>", dash_status_name(st),
	            dash_status_name(st));
}

void html_qc_badge(struct sbuf *b, enum dash_qc_status st)
{
	sbuf_printf(b, "<span class=\"badge qc-%s\">%s</span>", dash_qc_status_name(st),
	            st == DASH_QC_NONE ? "no QC today" : dash_qc_status_name(st));
}

/* Colours checked for contrast (WCAG AA, 4.5:1) against their text. */
static const char css[] =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0 auto;"
    "max-width:1200px;padding:0 12px 24px;color:#1b1b1b;background:#fff;line-height:1.4}\n"
    "a{color:#0b57d0}\n"
    "h1{font-size:1.5em;margin:.6em 0 .2em}h2{font-size:1.2em;margin:1.2em 0 .4em;"
    "border-bottom:2px solid #ccc}h3{font-size:1.05em;margin:1em 0 .3em}\n"
    "img{max-width:100%;height:auto;display:block;margin:4px 0}\n"
    /* .scroll boxes have tabindex=0: scrolled by keyboard too */
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
    "figure{margin:0}figcaption{font-size:.85em;color:#555}\n"
    "nav a{margin-right:1em}\n";

void html_head(struct sbuf *b, const char *title_html, const struct html_ctx *ctx,
               const char *extra_css)
{
	double refresh = ctx && ctx->refresh_s > 0 ? ctx->refresh_s : 60;

	sbuf_printf(b,
	            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	            "<meta http-equiv=\"refresh\" content=\"%.0f\">\n<title>",
	            ceil(refresh));
	sbuf_puts(b, title_html);
	sbuf_puts(b, "</title>\n<style>\n");
	sbuf_puts(b, css);
	if (extra_css)
		sbuf_puts(b, extra_css);
	sbuf_puts(b, "</style>\n</head>\n<body>\n");
}

void html_generated(struct sbuf *b, const struct dash_snapshot *s, const struct html_ctx *ctx)
{
	double refresh = ctx && ctx->refresh_s > 0 ? ctx->refresh_s : 60;

	sbuf_puts(b, "<p class=\"muted\">Generated ");
	html_time(b, s->generated_at);
	sbuf_puts(b, " by labqcd; this page reloads every ");
	html_duration(b, refresh);
	sbuf_puts(b, ".</p>\n");
}

bool html_file_exists(const struct html_ctx *ctx, const char *relpath)
{
	char path[4096];
	struct stat st;

	if (ctx->www_dir == NULL)
		return true;
	if (snprintf(path, sizeof(path), "%s/%s", ctx->www_dir, relpath) >= (int)sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- order ---- */

static int cmp_worst(const void *a, const void *b)
{
	const struct dash_instrument *x = *(const struct dash_instrument *const *)a;
	const struct dash_instrument *y = *(const struct dash_instrument *const *)b;
	int c = dash_status_rank(x->status) - dash_status_rank(y->status);

	if (c == 0)
		c = strcmp(x->site, y->site);
	return c ? c : strcmp(x->name, y->name);
}

static int cmp_site_worst(const void *a, const void *b)
{
	const struct dash_instrument *x = *(const struct dash_instrument *const *)a;
	const struct dash_instrument *y = *(const struct dash_instrument *const *)b;
	int c = strcmp(x->site, y->site);

	return c ? c : cmp_worst(a, b);
}

const struct dash_instrument **html_sorted(const struct dash_snapshot *s, bool by_site)
{
	const struct dash_instrument **ins = calloc(s->n_instruments + 1, sizeof(*ins));

	if (ins == NULL)
		return NULL;
	for (size_t i = 0; i < s->n_instruments; i++)
		ins[i] = &s->instruments[i];
	qsort(ins, s->n_instruments, sizeof(*ins), by_site ? cmp_site_worst : cmp_worst);
	return ins;
}
