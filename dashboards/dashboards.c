/*
 * dashboards.c: dash_render(), deciding what to draw and write.
 *
 * The handle remembers, per output file (keyed by its path under
 * www_dir, in a uthash table), what it was made from: the RRD file's
 * mtime, size and last update for a channel graph or sparkline, a
 * signature of the drawn data for an LJ chart or a page, and when it was
 * rendered. A file is redrawn only when that changed (see dashboards.h
 * for each kind's cadence), or when it is missing on disk. Entries for
 * files no longer in the snapshot are forgotten at the end of each
 * render.
 *
 * A render goes in three passes over the instruments: first what must
 * stay fresh (sparklines and day graphs), then the slower graphs (week,
 * month, full size, Levey-Jennings), then every page, so that under a
 * budget the day graphs are never starved by the year graphs, and a
 * page links only files that exist. The alert history (history.c) is
 * brought up to date from the audit log before the passes.
 *
 * Threads: one thread at a time per handle (the daemon's "labqcd-dash");
 * no global state of its own. Failures are logged through one
 * complaint per handle, so a full disk is logged once, not per file.
 */
#include "dashboards/dash_int.h"
#include "daemon/clock.h"
#include "daemon/fsutil.h"
#include "daemon/rrdaddr.h"

#include <errno.h>
#include <math.h>
#include <rrd.h>
#include <rrd_client.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <uthash.h>

/* A graph is redrawn when its RRD changed, but not more often than its
 * resolution makes worth it, and at the latest after its refresh age so
 * the time axis moves on for a channel that went silent. */
struct cadence {
	double min_interval_s; /* redraw a changed source at most this often */
	double refresh_age_s;  /* redraw at least this often (the axis moves on) */
};
/* Thumbnails' week and month; their day graph and the sparklines use the
 * render interval. Full-size graphs: day, week, month, year. */
static const struct cadence thumb_cadence[DASH_N_PERIODS] = {
    {0, 900}, {900, 7200}, {3600, 43200}};
static const struct cadence full_cadence[DASH_N_FULL] = {
    {300, 900}, {1800, 7200}, {3600, 43200}, {21600, 86400}};
#define MAX_BANDS 256 /* shaded spans a full-size graph draws, the latest */

/* What a channel's graphs are drawn from, stat()ed once per render. */
struct source {
	char rrd_path[4096];
	const char *name; /* what librrd is given: rrd_path, or below rrd_dir over TCP */
	int64_t mtime_ns, size;
	long last;
	bool exists;
};

struct out_file {
	char *path; /* relative to www_dir; the hash key */
	uint64_t sig;
	int64_t src_mtime_ns;
	int64_t src_size;
	long src_last;
	double rendered_at;
	unsigned seen;
	bool day_graph; /* a thumbnail day graph: counted for freshness */
	bool behind;    /* its source changed since it was drawn */
	double known_since; /* when this render's handle first met the file */
	UT_hash_handle hh;
};

struct dash {
	char *www_dir, *rrd_dir, *rrdcached;
	struct out_file *files;
	unsigned generation;
	struct complaint complaint;
	unsigned errors_this_render;
	double budget_s;         /* graph time per render; 0 = unlimited */
	double graphs_until;     /* monotonic deadline of this render's graphs */
	atomic_bool cancel;      /* dash_cancel(): stop between two files */
	double interval_s;       /* dash_set_interval() */
	struct dash_history *hist; /* NULL until dash_set_audit_log() */
	struct complaint hist_complaint;
};

/* A render stops drawing graphs when cancelled or past its budget; the
 * graphs it did not reach stay due and are drawn by a later render. */
static bool out_of_time(struct dash *d)
{
	return atomic_load(&d->cancel) || (d->budget_s > 0 && mono_clock() > d->graphs_until);
}

void dash_set_budget(struct dash *d, double seconds)
{
	d->budget_s = seconds > 0 ? seconds : 0;
}

void dash_cancel(struct dash *d)
{
	atomic_store(&d->cancel, true);
}

void dash_set_interval(struct dash *d, double seconds)
{
	d->interval_s = seconds > 0 ? seconds : 60;
}

int dash_set_audit_log(struct dash *d, const char *path)
{
	struct dash_history *h = NULL;

	if (path && (h = history_new(path)) == NULL)
		return -1;
	history_free(d->hist);
	d->hist = h;
	return 0;
}

/* ---- handle ---- */

struct dash *dash_new(const char *www_dir, const char *rrd_dir)
{
	struct dash *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->www_dir = strdup(www_dir);
	d->rrd_dir = strdup(rrd_dir);
	d->interval_s = 60;
	if (!d->www_dir || !d->rrd_dir) {
		dash_free(d);
		return errno = ENOMEM, NULL;
	}
	if (fs_mkdir_p(www_dir, 0755) == -1) {
		int e = errno;

		dash_free(d);
		errno = e;
		return NULL;
	}
	return d;
}

int dash_set_rrdcached(struct dash *d, const char *address)
{
	char *copy = NULL;

	if (address && address[0] && (copy = strdup(address)) == NULL)
		return -1;
	free(d->rrdcached);
	d->rrdcached = copy;
	return 0;
}

void dash_free(struct dash *d)
{
	struct out_file *f, *tmp;

	if (d == NULL)
		return;
	HASH_ITER(hh, d->files, f, tmp)
	{
		HASH_DEL(d->files, f);
		free(f->path);
		free(f);
	}
	history_free(d->hist);
	free(d->www_dir);
	free(d->rrd_dir);
	free(d->rrdcached);
	free(d);
}

static struct out_file *file_entry(struct dash *d, const char *rel)
{
	struct out_file *f;

	HASH_FIND_STR(d->files, rel, f);
	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->path = strdup(rel)) == NULL) {
		free(f);
		return NULL;
	}
	f->rendered_at = NAN;
	f->known_since = NAN;
	f->src_last = -1;
	HASH_ADD_KEYPTR(hh, d->files, f->path, strlen(f->path), f);
	return f;
}

static void failed(struct dash *d, const char *what, const char *why)
{
	d->errors_this_render++;
	complain(&d->complaint, "dashboard: %s: %s", what, why);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* ---- graphs ---- */

static int source_stat(struct dash *d, const struct dash_channel *c, struct source *src)
{
	struct stat sb;

	memset(src, 0, sizeof(*src));
	if (snprintf(src->rrd_path, sizeof(src->rrd_path), "%s/%s", d->rrd_dir, c->rrd_relpath) >=
	    (int)sizeof(src->rrd_path)) {
		failed(d, c->rrd_relpath, "path too long");
		return -1;
	}
	src->name = src->rrd_path;
	if (rrdaddr_mode(d->rrdcached) == RRDADDR_REMOTE) {
		/* The file is on the storage host: its last update (in whole
		 * steps) tells a graph that is behind. */
		src->name = rrdaddr_name(d->rrdcached, d->rrd_dir, src->rrd_path);
		rrd_clear_error();
		if (src->name != NULL && rrdc_connect(d->rrdcached) == 0 &&
		    rrdc_is_connected(d->rrdcached))
			src->last = (long)rrdc_last(src->name);
		rrd_clear_error();
		src->exists = src->last > 0;
		return 0;
	}
	if (stat(src->rrd_path, &sb) == -1)
		return 0; /* no sample stored yet: nothing to draw, the page says so */
	src->exists = true;
	src->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	src->size = (int64_t)sb.st_size;
	src->last = (long)rrd_last_r(src->rrd_path);
	return 0;
}

enum drawing { DRAW_SPARK, DRAW_THUMB, DRAW_FULL };

/* Draw one file of a channel if it is due. */
static void do_graph(struct dash *d, const struct dash_instrument *in, const struct dash_channel *c,
                     const struct source *src, enum drawing kind, enum dash_period p,
                     const struct graph_look *look, uint64_t sig, double now,
                     struct dash_stats *st)
{
	char rel[1024], out[4096], err[512];
	struct out_file *f;
	struct cadence cad;
	double age;
	int rc;

	if (kind == DRAW_SPARK) {
		snprintf(rel, sizeof(rel), "%s/%s/%s-spark.png", in->site, in->name, c->name);
		cad = (struct cadence){d->interval_s, 900};
	} else if (kind == DRAW_THUMB) {
		snprintf(rel, sizeof(rel), "%s/%s/%s-%s.png", in->site, in->name, c->name,
		         dash_period_name(p));
		cad = thumb_cadence[p];
		if (p == DASH_DAY)
			cad.min_interval_s = d->interval_s;
	} else {
		snprintf(rel, sizeof(rel), "%s/%s/%s-%s-full.png", in->site, in->name, c->name,
		         dash_period_name(p));
		cad = full_cadence[p];
	}
	snprintf(out, sizeof(out), "%s/%s", d->www_dir, rel);
	if ((f = file_entry(d, rel)) == NULL) {
		failed(d, rel, strerror(ENOMEM));
		return;
	}
	f->seen = d->generation;
	f->day_graph = kind == DRAW_THUMB && p == DASH_DAY;
	if (isnan(f->known_since))
		f->known_since = now;
	age = isnan(f->rendered_at) ? INFINITY : now - f->rendered_at;
	f->behind = f->src_mtime_ns != src->mtime_ns || f->src_size != src->size ||
	            f->src_last != src->last;
	/* A render comes every interval, give or take the loop's second:
	 * a graph drawn one interval ago is due again. */
	bool due = isnan(f->rendered_at) || f->sig != sig || !exists(out) ||
	           (f->behind && !(age < cad.min_interval_s - 2)) || !(age < cad.refresh_age_s) ||
	           age < 0; /* the clock went back (replay): redraw */
	if (!due) {
		*(kind == DRAW_SPARK ? &st->sparklines_skipped : &st->graphs_skipped) += 1;
		return;
	}
	if (out_of_time(d)) {
		st->graphs_deferred++;
		return;
	}
	if (kind == DRAW_SPARK)
		rc = sparkline_render(src->name, out, d->rrdcached, c, now, err, sizeof(err));
	else
		rc = graph_render(src->name, out, d->rrdcached, in, c, p, now, look, err,
		                  sizeof(err));
	if (rc == -1) {
		failed(d, rel, err);
		return;
	}
	f->sig = sig;
	f->src_mtime_ns = src->mtime_ns;
	f->src_size = src->size;
	f->src_last = src->last;
	f->rendered_at = now;
	f->behind = false;
	if (kind == DRAW_SPARK)
		st->sparklines_written++;
	else if (kind == DRAW_FULL)
		st->full_written++;
	else
		st->graphs_written++;
}

/* The spans a channel's full-size graphs shade: its alerts' firing,
 * its instrument's maintenance; the latest MAX_BANDS of the last year. */
static size_t collect_bands(const struct dash *d, const struct dash_instrument *in,
                            const struct dash_channel *c, double now, struct graph_band *bands)
{
	char prefix[300], inst[200];
	size_t n_ep, n_mt, n = 0;
	const struct dash_episode *ep = history_episodes(d->hist, &n_ep);
	const struct dash_maint *mt = history_maint(d->hist, &n_mt);
	int pl = snprintf(prefix, sizeof(prefix), "%s/%s/%s/", in->site, in->name, c->name);

	snprintf(inst, sizeof(inst), "%s/%s", in->site, in->name);
	if (pl <= 0 || (size_t)pl >= sizeof(prefix))
		return 0;
	for (size_t k = n_ep; k-- > 0 && n < MAX_BANDS;)
		if (!isnan(ep[k].fired) && strncmp(ep[k].key, prefix, (size_t)pl) == 0)
			bands[n++] = (struct graph_band){
			    ep[k].fired, isnan(ep[k].end) ? now : ep[k].end, false};
	for (size_t k = n_mt; k-- > 0 && n < MAX_BANDS;)
		if (strcmp(mt[k].key, inst) == 0)
			bands[n++] = (struct graph_band){
			    mt[k].start, isnan(mt[k].end) ? now : mt[k].end, true};
	return n;
}

/* Pass 1: what must stay fresh. */
static void do_channel_fresh(struct dash *d, const struct dash_instrument *in,
                             const struct dash_channel *c, double now, struct dash_stats *st)
{
	struct source src;

	if (source_stat(d, c, &src) == -1)
		return;
	if (!src.exists) {
		if (isfinite(c->last_time))
			st->channels_waiting++; /* samples, but no file yet */
		return;
	}
	uint64_t sig = graph_signature(in, c);
	do_graph(d, in, c, &src, DRAW_SPARK, DASH_DAY, NULL, sig, now, st);
	do_graph(d, in, c, &src, DRAW_THUMB, DASH_DAY, NULL, sig, now, st);
}

/* Pass 2: the slower graphs. */
static void do_channel_slow(struct dash *d, const struct dash_instrument *in,
                            const struct dash_channel *c, double now, struct dash_stats *st)
{
	struct source src;
	struct graph_band *bands;

	if (source_stat(d, c, &src) == -1 || !src.exists)
		return;
	uint64_t sig = graph_signature(in, c);
	for (int p = DASH_WEEK; p < DASH_N_PERIODS; p++)
		do_graph(d, in, c, &src, DRAW_THUMB, (enum dash_period)p, NULL, sig, now, st);
	if ((bands = calloc(MAX_BANDS, sizeof(*bands))) == NULL) {
		failed(d, c->name, strerror(ENOMEM));
		return;
	}
	struct graph_look look = {DASH_FULL_W, DASH_FULL_H, bands,
	                          collect_bands(d, in, c, now, bands)};
	uint64_t fsig = dash_fnv_double(sig, DASH_FULL_W * 10000.0 + DASH_FULL_H);
	for (size_t i = 0; i < look.n_bands; i++) {
		/* An open span ends "now": hash it to the minute's quarter, so
		 * an open firing alone does not redraw the graph every render. */
		fsig = dash_fnv_double(fsig, bands[i].from);
		fsig = dash_fnv_double(fsig, floor(bands[i].to / 900));
		fsig = dash_fnv_double(fsig, bands[i].maintenance);
	}
	for (int p = 0; p < DASH_N_FULL; p++)
		do_graph(d, in, c, &src, DRAW_FULL, (enum dash_period)p, &look, fsig, now, st);
	free(bands);
}

static void do_level(struct dash *d, const struct dash_instrument *in,
                     const struct dash_qc_analyte *a, const struct dash_qc_level *l, double now,
                     struct dash_stats *st)
{
	char rel[1024], out[4096], err[512];
	struct out_file *f;
	uint64_t sig = ljchart_signature(in, a, l, now);

	snprintf(rel, sizeof(rel), "%s/%s/qc/%s", in->site, in->name, a->name);
	snprintf(out, sizeof(out), "%s/%s", d->www_dir, rel);
	if (fs_mkdir_p(out, 0755) == -1) {
		failed(d, rel, strerror(errno));
		return;
	}
	snprintf(rel, sizeof(rel), "%s/%s/qc/%s/%s.png", in->site, in->name, a->name, l->name);
	snprintf(out, sizeof(out), "%s/%s", d->www_dir, rel);
	if ((f = file_entry(d, rel)) == NULL) {
		failed(d, rel, strerror(ENOMEM));
		return;
	}
	f->seen = d->generation;
	if (!isnan(f->rendered_at) && f->sig == sig && exists(out)) {
		st->charts_skipped++;
		return;
	}
	if (ljchart_render(out, in, a, l, now, err, sizeof(err)) == -1) {
		failed(d, rel, err);
		return;
	}
	f->sig = sig;
	f->rendered_at = now;
	st->charts_written++;
}

/* ---- pages ---- */

static void write_page(struct dash *d, const char *rel, struct sbuf *b, double now,
                       struct dash_stats *st)
{
	char out[4096];
	struct out_file *f;
	uint64_t sig;

	if (b->failed) {
		failed(d, rel, strerror(ENOMEM));
		return;
	}
	sig = dash_fnv(DASH_FNV_INIT, b->p, b->len);
	snprintf(out, sizeof(out), "%s/%s", d->www_dir, rel);
	if ((f = file_entry(d, rel)) == NULL) {
		failed(d, rel, strerror(ENOMEM));
		return;
	}
	f->seen = d->generation;
	if (!isnan(f->rendered_at) && f->sig == sig && exists(out))
		return;
	if (fs_write_replace(out, b->p, b->len, 0644) == -1) {
		failed(d, rel, strerror(errno));
		return;
	}
	f->sig = sig;
	f->rendered_at = now;
	st->pages_written++;
}

static bool instrument_dir(struct dash *d, const struct dash_instrument *in)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/%s/%s", d->www_dir, in->site, in->name);
	if (fs_mkdir_p(dir, 0755) == -1) {
		failed(d, dir, strerror(errno));
		return false;
	}
	return true;
}

static void do_instrument_slow(struct dash *d, const struct dash_instrument *in, double now,
                               struct dash_stats *st)
{
	for (size_t i = 0; i < in->n_channels; i++)
		if (dash_channel_has_graphs(in, &in->channels[i]))
			do_channel_slow(d, in, &in->channels[i], now, st);
	for (size_t i = 0; i < in->n_analytes; i++) {
		const struct dash_qc_analyte *a = &in->analytes[i];

		if (!ident_ok(a->name))
			continue;
		for (size_t j = 0; j < a->n_levels; j++)
			if (ident_ok(a->levels[j].name))
				do_level(d, in, a, &a->levels[j], now, st);
	}
}

/* Pass 3: an instrument's pages, after its graphs, so they link
 * exactly what exists. */
static void do_instrument_pages(struct dash *d, const struct dash_snapshot *snap,
                                const struct dash_instrument *in, const struct html_ctx *ctx,
                                struct dash_stats *st)
{
	char rel[1024];
	struct sbuf b = {0};

	html_instrument(&b, snap, in, ctx);
	snprintf(rel, sizeof(rel), "%s/%s/index.html", in->site, in->name);
	write_page(d, rel, &b, ctx->now, st);
	sbuf_free(&b);
	memset(&b, 0, sizeof(b));
	html_history(&b, snap, in, ctx);
	snprintf(rel, sizeof(rel), "%s/%s/history.html", in->site, in->name);
	write_page(d, rel, &b, ctx->now, st);
	sbuf_free(&b);
	for (size_t i = 0; i < in->n_channels; i++) {
		const struct dash_channel *c = &in->channels[i];

		if (!dash_channel_has_graphs(in, c))
			continue;
		memset(&b, 0, sizeof(b));
		html_graphs(&b, snap, in, c, ctx);
		snprintf(rel, sizeof(rel), "%s/%s/%s-graphs.html", in->site, in->name, c->name);
		write_page(d, rel, &b, ctx->now, st);
		sbuf_free(&b);
	}
}

static void do_top_page(struct dash *d, const char *rel, int which, const struct dash_snapshot *snap,
                        const struct html_ctx *ctx, struct dash_stats *st)
{
	struct sbuf b = {0};

	if (which == 0)
		html_index(&b, snap, ctx);
	else if (which == 3)
		html_history(&b, snap, NULL, ctx);
	else
		html_wall(&b, snap, ctx, which == 2);
	write_page(d, rel, &b, ctx->now, st);
	sbuf_free(&b);
}

int dash_render(struct dash *d, const struct dash_snapshot *snap, double now,
                struct dash_stats *out)
{
	struct dash_stats st = {0};
	struct timespec t0, t1;
	struct html_ctx ctx = {.now = now, .www_dir = d->www_dir, .refresh_s = d->interval_s,
	                       .hist = d->hist};
	struct out_file *f, *tmp;
	char err[512];
	bool *has_dir;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	d->generation++;
	d->errors_this_render = 0;
	d->graphs_until = mono_clock() + d->budget_s;
	if (d->hist) {
		if (history_update(d->hist, now, err, sizeof(err)) == -1)
			complain(&d->hist_complaint, "dashboard: alert history: %s", err);
		else
			complain_release(&d->hist_complaint, "dashboard: alert history read again");
		size_t n;
		history_episodes(d->hist, &n);
		st.history_alerts = (unsigned)n;
	}
	/* Start at a different instrument each time, so that under a
	 * budget no instrument waits behind the same ones for ever. */
	size_t n = snap->n_instruments, first = n ? d->generation % n : 0;
	if ((has_dir = calloc(n + 1, sizeof(*has_dir))) == NULL) {
		failed(d, "render", strerror(ENOMEM));
		n = 0;
	}
	for (int pass = 0; pass < 3; pass++)
		for (size_t k = 0; k < n && !atomic_load(&d->cancel); k++) {
			size_t i = (first + k) % n;
			const struct dash_instrument *in = &snap->instruments[i];

			if (!dash_instrument_has_page(in))
				continue;
			if (pass == 0) {
				if (!(has_dir[i] = instrument_dir(d, in)))
					continue;
				for (size_t j = 0; j < in->n_channels; j++)
					if (dash_channel_has_graphs(in, &in->channels[j]))
						do_channel_fresh(d, in, &in->channels[j], now, &st);
			} else if (has_dir[i] && pass == 1) {
				do_instrument_slow(d, in, now, &st);
			} else if (has_dir[i]) {
				do_instrument_pages(d, snap, in, &ctx, &st);
			}
		}
	free(has_dir);
	do_top_page(d, "index.html", 0, snap, &ctx, &st);
	do_top_page(d, "wall.html", 1, snap, &ctx, &st);
	do_top_page(d, "wall-dark.html", 2, snap, &ctx, &st);
	do_top_page(d, "history.html", 3, snap, &ctx, &st);

	HASH_ITER(hh, d->files, f, tmp)
	{
		if (f->seen != d->generation) {
			HASH_DEL(d->files, f);
			free(f->path);
			free(f);
			continue;
		}
		if (f->day_graph && f->behind) {
			/* Never drawn: behind since the file first appeared. */
			double age = now - (isnan(f->rendered_at) ? f->known_since : f->rendered_at);
			st.day_graphs_behind++;
			if (age > st.oldest_day_graph_s)
				st.oldest_day_graph_s = age;
		}
	}
	if (d->errors_this_render == 0)
		complain_release(&d->complaint, "dashboard: rendering again");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st.errors = d->errors_this_render;
	st.elapsed_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (out)
		*out = st;
	return st.errors ? -1 : 0;
}
