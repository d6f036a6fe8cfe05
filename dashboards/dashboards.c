/*
 * dashboards.c: dash_render(), deciding what to draw and write.
 *
 * The handle remembers, per output file (keyed by its path under
 * www_dir, in a uthash table), what it was made from: the RRD file's
 * mtime, size and last update for a channel graph, a signature of the
 * drawn data for an LJ chart or a page, and when it was rendered. A file
 * is redrawn only when that changed (see dashboards.h for the periods'
 * intervals), or when it is missing on disk. Entries for files no longer
 * in the snapshot are forgotten at the end of each render.
 *
 * Threads: one thread at a time per handle (the daemon's "labqcd-dash");
 * no global state of its own. Failures are logged through one
 * complaint per handle, so a full disk is logged once, not per file.
 */
#include "dashboards/dash_int.h"
#include "daemon/clock.h"
#include "daemon/fsutil.h"

#include <errno.h>
#include <math.h>
#include <rrd.h>
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
static const double min_interval_s[DASH_N_PERIODS] = {120, 900, 3600};
static const double refresh_age_s[DASH_N_PERIODS] = {900, 7200, 43200};

struct out_file {
	char *path; /* relative to www_dir; the hash key */
	uint64_t sig;
	int64_t src_mtime_ns;
	int64_t src_size;
	long src_last;
	double rendered_at;
	unsigned seen;
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

/* ---- handle ---- */

struct dash *dash_new(const char *www_dir, const char *rrd_dir)
{
	struct dash *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->www_dir = strdup(www_dir);
	d->rrd_dir = strdup(rrd_dir);
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

static void do_channel(struct dash *d, const struct dash_instrument *in,
                       const struct dash_channel *c, double now, struct dash_stats *st)
{
	char rrd_path[4096], rel[1024], out[4096], err[512];
	struct stat sb;
	uint64_t sig = graph_signature(in, c);
	int64_t mtime_ns;
	long last;

	if (snprintf(rrd_path, sizeof(rrd_path), "%s/%s", d->rrd_dir, c->rrd_relpath) >=
	    (int)sizeof(rrd_path)) {
		failed(d, c->rrd_relpath, "path too long");
		return;
	}
	if (stat(rrd_path, &sb) == -1)
		return; /* no sample stored yet: nothing to draw, the page says so */
	mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	last = (long)rrd_last_r(rrd_path);

	for (int p = 0; p < DASH_N_PERIODS; p++) {
		struct out_file *f;
		bool src_changed, due;
		double age;

		snprintf(rel, sizeof(rel), "%s/%s/%s-%s.png", in->site, in->name, c->name,
		         dash_period_name((enum dash_period)p));
		snprintf(out, sizeof(out), "%s/%s", d->www_dir, rel);
		if ((f = file_entry(d, rel)) == NULL) {
			failed(d, rel, strerror(ENOMEM));
			return;
		}
		f->seen = d->generation;
		age = isnan(f->rendered_at) ? INFINITY : now - f->rendered_at;
		src_changed = f->src_mtime_ns != mtime_ns || f->src_size != (int64_t)sb.st_size ||
		              f->src_last != last;
		due = isnan(f->rendered_at) || f->sig != sig || !exists(out) ||
		      (src_changed && !(age < min_interval_s[p])) || !(age < refresh_age_s[p]) ||
		      age < 0; /* the clock went back (replay): redraw */
		if (!due) {
			st->graphs_skipped++;
			continue;
		}
		if (out_of_time(d)) {
			st->graphs_deferred++;
			continue;
		}
		if (graph_render(rrd_path, out, d->rrdcached, in, c, (enum dash_period)p, now, err,
		                 sizeof(err)) == -1) {
			failed(d, rel, err);
			continue;
		}
		f->sig = sig;
		f->src_mtime_ns = mtime_ns;
		f->src_size = (int64_t)sb.st_size;
		f->src_last = last;
		f->rendered_at = now;
		st->graphs_written++;
	}
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
	if (fs_write_atomic(out, b->p, b->len, 0644) == -1) {
		failed(d, rel, strerror(errno));
		return;
	}
	f->sig = sig;
	f->rendered_at = now;
	st->pages_written++;
}

static void do_instrument(struct dash *d, const struct dash_snapshot *snap,
                          const struct dash_instrument *in, double now, struct dash_stats *st)
{
	char dir[4096], rel[1024];
	struct html_ctx ctx = {.now = now, .www_dir = d->www_dir};
	struct sbuf b = {0};

	snprintf(dir, sizeof(dir), "%s/%s/%s", d->www_dir, in->site, in->name);
	if (fs_mkdir_p(dir, 0755) == -1) {
		failed(d, dir, strerror(errno));
		return;
	}
	for (size_t i = 0; i < in->n_channels; i++)
		if (dash_channel_has_graphs(in, &in->channels[i]))
			do_channel(d, in, &in->channels[i], now, st);
	for (size_t i = 0; i < in->n_analytes; i++) {
		const struct dash_qc_analyte *a = &in->analytes[i];

		if (!ident_ok(a->name))
			continue;
		for (size_t j = 0; j < a->n_levels; j++)
			if (ident_ok(a->levels[j].name))
				do_level(d, in, a, &a->levels[j], now, st);
	}
	/* After the graphs, so the page links exactly what exists. */
	html_instrument(&b, snap, in, &ctx);
	snprintf(rel, sizeof(rel), "%s/%s/index.html", in->site, in->name);
	write_page(d, rel, &b, now, st);
	sbuf_free(&b);
}

int dash_render(struct dash *d, const struct dash_snapshot *snap, double now,
                struct dash_stats *out)
{
	struct dash_stats st = {0};
	struct timespec t0, t1;
	struct html_ctx ctx = {.now = now, .www_dir = d->www_dir};
	struct sbuf b = {0};
	struct out_file *f, *tmp;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	d->generation++;
	d->errors_this_render = 0;
	d->graphs_until = mono_clock() + d->budget_s;
	/* Start at a different instrument each time, so that under a
	 * budget no instrument waits behind the same ones for ever. */
	size_t n = snap->n_instruments, first = n ? d->generation % n : 0;
	for (size_t k = 0; k < n && !atomic_load(&d->cancel); k++) {
		const struct dash_instrument *in = &snap->instruments[(first + k) % n];
		if (dash_instrument_has_page(in))
			do_instrument(d, snap, in, now, &st);
	}
	html_index(&b, snap, &ctx);
	write_page(d, "index.html", &b, now, &st);
	sbuf_free(&b);

	HASH_ITER(hh, d->files, f, tmp)
	{
		if (f->seen != d->generation) {
			HASH_DEL(d->files, f);
			free(f->path);
			free(f);
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
