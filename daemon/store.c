/*
 * store.c: the RRD store; see store.h for the design. This file is the
 * main thread's side (store_put, the hand-over, stats); the series
 * table's entries and their saved last-update times are in
 * store_series.c, the writer threads in store_writer.c, what they share
 * in store_int.h.
 *
 * Threads and ownership. The main thread owns the series table (uthash,
 * keyed by relpath), every series' `fill` buffer and last timestamp; it
 * never does I/O except reading an existing file's last update time the
 * first time a series is touched, when the times saved at the last stop
 * (below, "last-update times") do not have it. The writer thread ("labqcd-rrd") owns
 * every series' `work` buffer and file state and is the only caller of
 * librrd's write functions and of rrdc_* (whose client is process-wide),
 * except that it lends half of a large pass to a second writer
 * ("labqcd-rrd2", direct writes only), which owns those series' `work`
 * buffers and files until it hands the list back. Between the main
 * thread and the writer, each series has a `handed` buffer guarded by
 * st->lock.
 *
 * Buffers rotate instead of being copied: store_flush() swaps `fill` with
 * an empty `handed`, the writer swaps `handed` with an empty `work`. The
 * writer frees a `work` array once written, so a series that waits holds
 * one small array (16 bytes a value), not three: with 100k series, memory
 * is what is pending, not the high-water mark of every series.
 *
 * Spread: the daemon hands over one slice of the series at a time
 * (store_flush_slices, 1/STORE_SLICES of them, STORE_SLICES times a
 * flush_interval), so each file is written once an interval but the
 * writes, and the dirty pages the kernel must write back, come evenly
 * instead of as one pass over every file (at 100k files, ~4 GB dirtied
 * in seconds: past the kernel's dirty limit, which then stalls every
 * writer of the machine, the journal's included).
 *
 * Memory bound: besides the slices and store_sync(), the main thread
 * hands everything over when the values
 * pending in `fill` buffers pass FLUSH_PER_SERIES a series (and at least
 * FLUSH_MIN, 16 MiB): under a heavy load the writer works all the time
 * on batches of a hundred-odd values a file (librrd's cost is mostly per
 * call: open, map, lock, unmap), instead of a minute's worth piling up
 * in memory and going out in one burst.
 *
 * Lock order: st->lock and helper_lock (the second writer's hand-over)
 * are this module's locks, and both are leaves: never held together, nor
 * while calling librrd, rrdc_* or the log, so librrd's own locks (taken
 * by the writers only) never nest inside them. The series table itself
 * is main-thread only; the writer reaches series through the handed list
 * and its own work list, never through the table.
 *
 * Remote mode (daemon.rrdcached is a TCP address, daemon/rrdaddr.h):
 * every file is named to librrd by its path below rrd_dir, created with
 * rrdc_create (the daemon's CREATE; rrdcached needs -R for the site and
 * instrument directories), and written with rrdc_update followed by
 * rrdc_flush. The flush is what makes a value count as written: the
 * journal of rrdcached 1.7.2 goes through a stdio buffer that is not
 * flushed after each update (rrd_daemon.c, journal_write), so a kill -9
 * of rrdcached loses the updates it acknowledged last (tried: 20 of 20).
 * Values taken by rrdcached but not confirmed stay in the series' work
 * buffer, and so in labqcd's journal, and go again on the next pass;
 * rrdcached refuses those it still has as late, which the writer counts
 * as written (series.resent). This keeps a series' values in order: no
 * newer value goes out while an older one may be missing. It costs
 * rrdcached one file write a series a pass, which labqcd's own batching
 * (flush_interval) already bounds; rrdcached's -w does not delay them.
 * Files are not stat()ed, templated or moved aside (they are on the
 * storage host); the last update of a series first seen is asked of the
 * daemon (rrdc_last, whole steps), at most once every few seconds while
 * it is unreachable. The second writer is not used: librrd's client is
 * one connection per process.
 *
 * Journal coupling: every buffer keeps the lowest journal seq it holds;
 * the writer publishes the lowest seq of everything handed over and not
 * yet written (held_min), the main thread the lowest of what it has not
 * handed over yet (fill_min).
 */
#include "daemon/store.h"
#include "daemon/store_int.h"
#include "daemon/fsutil.h"
#include "daemon/log.h"
#include "daemon/rrdaddr.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <rrd.h>
#include <rrd_client.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>

#define FLUSH_PER_SERIES 64 /* pending values a series, on average, before a hand-over */
#define FLUSH_MIN (1 << 20) /* values (16 MiB), unless store_opts says otherwise */
#define NEW_FILES_BATCH 64  /* series without a file that start a hand-over */
#define REMOTE_RETRY_S 5    /* main thread: rrdc_last not tried again sooner */

/* ---- files ---- */

static int mkdir_p(const char *dir)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* The file's last update time, or -INFINITY if it has none we can read
 * (absent, or corrupt: the writer will find out and move it aside).
 * librrd keeps whole seconds here; a sample later in that same second
 * that the file already holds is refused by librrd itself and dropped by
 * write_salvage(). */
static double file_last_time(const char *path, bool *exists)
{
	struct stat sb;
	time_t last;

	*exists = stat(path, &sb) == 0;
	if (!*exists)
		return -INFINITY;
	rrd_clear_error();
	last = rrd_last_r(path);
	if (last <= 0) {
		log_warnx("store: %s: cannot read last update: %s", path, rrd_get_error());
		rrd_clear_error();
		return -INFINITY;
	}
	return (double)last;
}

static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The same, asked of rrdcached over TCP: its LAST counts the values it
 * holds, rounded down to the file's step, so samples in that last step
 * may still go out and be refused as late (write_salvage). Unreachable
 * (or any other answer): unknown, and *exists false; the writer's
 * create then finds the file there (CREATE without overwrite) and
 * rrdcached refuses what it already has. */
static double remote_last_time(struct store *st, const char *name, bool *exists)
{
	time_t last;
	double now = monotonic_s();

	*exists = false;
	if (now < st->last_retry)
		return -INFINITY;
	rrd_clear_error();
	if (rrdc_connect(st->rrdcached) != 0 || !rrdc_is_connected(st->rrdcached)) {
		st->last_retry = now + REMOTE_RETRY_S;
		log_debug("store: rrdcached %s: %s", st->rrdcached, rrd_get_error());
		rrd_clear_error();
		return -INFINITY;
	}
	last = rrdc_last(name);
	if (last <= 0) {
		const char *e = rrd_get_error();
		if (e == NULL || strstr(e, "No such file") == NULL) {
			log_warnx("store: %s: cannot read last update through rrdcached: %s", name,
			          e != NULL ? e : "?");
			if (!rrdc_is_connected(st->rrdcached))
				st->last_retry = now + REMOTE_RETRY_S;
		}
		rrd_clear_error();
		return -INFINITY;
	}
	*exists = true;
	return (double)last;
}

static bool dir_has_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool any = false;

	while (d != NULL && !any && (e = readdir(d)) != NULL)
		any = e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return any;
}

/* Files keep the layout they were made with: when the configured one
 * differs from the one noted in <rrd_dir>/.layout (by the last start),
 * say so once, and note the new one. */
static void note_layout(const char *notes_dir, bool remote, const struct cfg_rrd *lay)
{
	char path[4200], now[1100], *was = NULL;
	size_t len = 0;

	config_rrd_describe(lay, now, sizeof(now) - 1);
	strcat(now, "\n");
	snprintf(path, sizeof(path), "%s/%s", notes_dir, remote ? "rrd.layout" : ".layout");
	if (fs_read_all(path, &was, &len) == -1 && !remote && dir_has_files(notes_dir)) {
		/* Made before layouts were noted: DESIGN's, the only one then. */
		struct cfg_rrd def;
		config_rrd_defaults(&def);
		if ((was = malloc(1100)) != NULL) {
			config_rrd_describe(&def, was, 1098);
			strcat(was, "\n");
			len = strlen(was);
		}
	}
	if (was != NULL && (len != strlen(now) || memcmp(was, now, len))) {
		was[len ? len - 1 : 0] = '\0';
		log_info("store: the RRD layout changed (was %s; now %.*s): files that exist keep "
			 "theirs, new files get the new one",
			 was, (int)strlen(now) - 1, now);
	}
	if (was == NULL || len != strlen(now) || memcmp(was, now, len) != 0)
		if (fs_write_atomic(path, now, strlen(now), 0644) == -1)
			log_warn("store: %s", path);
	free(was);
}

/* ---- main thread ---- */

static void helper_join(struct store *st)
{
	if (st->helper_running) {
		pthread_mutex_lock(&st->helper_lock);
		st->helper_stop = true;
		pthread_cond_broadcast(&st->helper_cv);
		pthread_mutex_unlock(&st->helper_lock);
		pthread_join(st->helper, NULL);
		st->helper_running = false;
	}
	pthread_cond_destroy(&st->helper_cv);
	pthread_mutex_destroy(&st->helper_lock);
}

struct store *store_open(const struct store_opts *opts)
{
	struct store *st;
	char *abs;
	int err;

	if (opts == NULL || opts->rrd_dir == NULL || *opts->rrd_dir == '\0') {
		errno = EINVAL;
		return NULL;
	}
	if (rrdaddr_mode(opts->rrdcached) == RRDADDR_REMOTE) {
		/* rrd_dir is the storage host's; the notes stay here. */
		if (opts->notes_dir == NULL || mkdir_p(opts->notes_dir) == -1 ||
		    (abs = strdup(opts->rrd_dir)) == NULL)
			return NULL;
		for (size_t n = strlen(abs); n > 1 && abs[n - 1] == '/'; n--)
			abs[n - 1] = '\0';
	} else {
		if (mkdir_p(opts->rrd_dir) == -1)
			return NULL;
		/* Absolute, so that rrdcached (started elsewhere) finds the files. */
		if ((abs = realpath(opts->rrd_dir, NULL)) == NULL)
			return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		free(abs);
		return NULL;
	}
	st->rrd_dir = abs;
	st->remote = rrdaddr_mode(opts->rrdcached) == RRDADDR_REMOTE;
	if (opts->rrdcached != NULL && *opts->rrdcached != '\0' &&
	    (st->rrdcached = strdup(opts->rrdcached)) == NULL)
		goto fail;
	if ((st->notes_dir = strdup(st->remote ? opts->notes_dir : st->rrd_dir)) == NULL)
		goto fail;
	struct cfg_rrd def;
	const struct cfg_rrd *lay = opts->layout;
	if (lay == NULL) {
		config_rrd_defaults(&def);
		lay = &def;
	}
	st->step_s = lay->step_s;
	st->rra_argc = config_rrd_rra_args(lay, st->rra_bufs, st->rra_argv);
	st->heartbeat_s = opts->layout != NULL ? lay->heartbeat_s
			  : opts->heartbeat_s >= 1 ? (long)opts->heartbeat_s
						   : 600;
	note_layout(st->notes_dir, st->remote, lay);
	if (st->rrdcached != NULL) {
		char mode[1200];
		rrdaddr_describe(st->rrdcached, st->rrd_dir, mode, sizeof(mode));
		log_info("store: %s", mode);
	}
	st->fill_min = NO_SEQ;
	st->flush_min = opts->pending_min > 0 ? opts->pending_min : FLUSH_MIN;
	st->flush_at = st->flush_min;
	atomic_init(&st->held_min, NO_SEQ);
	atomic_init(&st->healthy, true);
	st->last_pass_ok = true;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	pthread_cond_init(&st->done, NULL);
	pthread_mutex_init(&st->helper_lock, NULL);
	pthread_cond_init(&st->helper_cv, NULL);
	/* Without it (rrdcached, or no thread to be had) the writer does
	 * every pass alone. */
	if (!use_cached(st) && pthread_create(&st->helper, NULL, writer_helper_main, st) == 0)
		st->helper_running = true;
	if ((err = pthread_create(&st->thread, NULL, writer_main, st)) != 0) {
		helper_join(st);
		pthread_cond_destroy(&st->done);
		pthread_cond_destroy(&st->wake);
		pthread_mutex_destroy(&st->lock);
		errno = err;
		goto fail;
	}
	store_last_load(st);
	return st;
fail:
	err = errno;
	free(st->notes_dir);
	free(st->rrdcached);
	free(st->rrd_dir);
	free(st);
	errno = err;
	return NULL;
}

/* A series not in the table (nor in the last-update times saved at the
 * last stop): its file's last update, if it has a file. */
static struct series *series_new(struct store *st, const char *relpath, enum series_kind kind)
{
	struct series *s = store_series_alloc(st, relpath, kind);
	bool exists;

	if (s == NULL)
		return NULL;
	s->last_t = st->remote ? remote_last_time(st, series_name(st, s), &exists)
	                       : file_last_time(s->path, &exists);
	s->file_known = exists;
	s->new_file = !exists;
	return s;
}

enum store_put_result store_put(struct store *st, const char *relpath, enum series_kind kind,
				double t, double value, uint64_t seq)
{
	struct series *s;
	struct value *x;

	if (seq > st->max_put)
		st->max_put = seq;
	if (!isfinite(t) || t < 2 || t > 1e15 || relpath == NULL || !store_valid_relpath(relpath)) {
		errno = EINVAL;
		return STORE_ERROR;
	}
	/* The file keeps milliseconds: compare what will be written. */
	t = round(t * 1000) / 1000;
	HASH_FIND_STR(st->table, relpath, s);
	if (s == NULL && (s = series_new(st, relpath, kind)) == NULL)
		return STORE_ERROR;
	if (t <= s->last_t) {
		st->late++;
		return STORE_LATE;
	}
	if (store_vbuf_reserve(&s->fill, s->fill.n + 1) == -1)
		return STORE_ERROR;
	x = &s->fill.v[s->fill.n++];
	x->t = t;
	x->v = value;
	if (seq != 0 && seq < s->fill.min_seq)
		s->fill.min_seq = seq;
	if (seq != 0 && seq < st->fill_min)
		st->fill_min = seq;
	s->last_t = t;
	st->queued++;
	if (!s->dirty) {
		s->dirty = true;
		s->dirty_next = st->dirty_head;
		st->dirty_head = s;
	}
	/* A series without a file goes to the writer soon, not at the next
	 * flush: its file is made while the load goes on, instead of all
	 * files of a first day (or a wiped rrd_dir) at once at the end. */
	if (s->new_file) {
		s->new_file = false;
		s->new_pending = true;
		st->new_files++;
	}
	if (++st->fill_values >= st->flush_at || st->new_files >= NEW_FILES_BATCH)
		store_flush(st);
	return STORE_QUEUED;
}

/* Is slice k among the `count` slices from `from` on (mod STORE_SLICES)?
 * A series' slice is its path's hash mod STORE_SLICES (uthash's hash,
 * already computed). */
static bool slice_in(unsigned k, unsigned from, unsigned count)
{
	return count >= STORE_SLICES || (k + STORE_SLICES - from) % STORE_SLICES < count;
}

/* Hand the pending values of the series in `count` slices from `from`
 * over to the writers (count >= STORE_SLICES: all), with every series
 * whose file is still to be made; returns the hand-over's generation. */
static uint64_t hand_over(struct store *st, unsigned from, unsigned count)
{
	struct series *s, *next, *keep = NULL;
	uint64_t gen, held;
	size_t moved = 0;

	pthread_mutex_lock(&st->lock);
	st->fill_min = NO_SEQ;
	st->fill_values = 0;
	st->new_files = 0;
	for (s = st->dirty_head; s != NULL; s = next) {
		next = s->dirty_next;
		if ((!s->new_pending && !slice_in(s->hh.hashv % STORE_SLICES, from, count)) ||
		    store_vbuf_move(&s->handed, &s->fill) == -1) {
			/* Not its slice, or out of memory: stays in fill
			 * for the next hand-over. */
			s->dirty_next = keep;
			if (s->new_pending)
				st->new_files++;
			keep = s;
			if (s->fill.min_seq < st->fill_min)
				st->fill_min = s->fill.min_seq;
			st->fill_values += s->fill.n;
			continue;
		}
		s->dirty = false;
		s->new_pending = false;
		s->dirty_next = NULL;
		moved++;
		if (!s->queued) {
			s->queued = true;
			s->handed_next = st->handed_head;
			st->handed_head = s;
		}
	}
	st->dirty_head = keep;
	st->flush_at = HASH_COUNT(st->table) * FLUSH_PER_SERIES;
	if (st->flush_at < st->flush_min)
		st->flush_at = st->flush_min;
	held = atomic_load(&st->held_min);
	for (s = st->handed_head; s != NULL; s = s->handed_next)
		if (s->handed.min_seq < held)
			held = s->handed.min_seq;
	atomic_store(&st->held_min, held);
	/* A full hand-over always counts (store_sync waits for it), and so
	 * does slice 0, once an interval: the writers retry then what they
	 * could not write (a full disk), as they did at every flush_interval
	 * before the slices, even when no new value comes for those series.
	 * Any other slice with nothing in it does not wake them. */
	if (moved > 0 || slice_in(0, from, count)) {
		gen = ++st->flush_gen;
		pthread_cond_signal(&st->wake);
	} else {
		gen = st->flush_gen;
	}
	pthread_mutex_unlock(&st->lock);
	return gen;
}

void store_flush(struct store *st)
{
	(void)hand_over(st, 0, STORE_SLICES);
}

void store_flush_slices(struct store *st, unsigned from, unsigned count)
{
	(void)hand_over(st, from % STORE_SLICES, count);
}

static int wait_done(struct store *st, uint64_t gen)
{
	bool ok;

	pthread_mutex_lock(&st->lock);
	while (st->done_gen < gen)
		pthread_cond_wait(&st->done, &st->lock);
	ok = st->last_pass_ok;
	pthread_mutex_unlock(&st->lock);
	if (!ok) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int store_sync(struct store *st)
{
	return wait_done(st, hand_over(st, 0, STORE_SLICES));
}

int store_drain(struct store *st)
{
	uint64_t gen;

	pthread_mutex_lock(&st->lock);
	gen = st->flush_gen;
	pthread_mutex_unlock(&st->lock);
	return wait_done(st, gen);
}

bool store_backlogged(const struct store *st)
{
	uint64_t done = atomic_load(&st->written) + atomic_load(&st->dropped);
	uint64_t handed = st->queued - st->fill_values;

	return atomic_load(&st->healthy) && handed > done && handed - done > 2 * st->flush_at;
}

uint64_t store_done_seq(const struct store *st)
{
	uint64_t held = atomic_load(&st->held_min);
	uint64_t low = held < st->fill_min ? held : st->fill_min;

	return low == NO_SEQ ? st->max_put : low - 1;
}

void store_get_stats(const struct store *st, struct store_stats *out)
{
	uint64_t done = atomic_load(&st->written) + atomic_load(&st->dropped);

	memset(out, 0, sizeof(*out));
	out->queued = st->queued;
	out->written = atomic_load(&st->written);
	out->late = st->late + atomic_load(&st->dropped);
	out->write_errors = atomic_load(&st->write_errors);
	out->files_created = atomic_load(&st->files_created);
	out->pending = st->queued > done ? st->queued - done : 0;
	out->series = HASH_COUNT(st->table);
}

double store_last_time(struct store *st, const char *relpath)
{
	struct series *s;

	HASH_FIND_STR(st->table, relpath, s);
	return s == NULL || s->last_t == -INFINITY ? NAN : s->last_t;
}

void store_close(struct store *st)
{
	struct series *s, *next;

	if (st == NULL)
		return;
	store_sync(st);
	pthread_mutex_lock(&st->lock);
	st->stop = true;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->thread, NULL);
	helper_join(st);
	store_last_save(st);
	store_templates_free(&st->wmain);
	store_templates_free(&st->whelper);
	HASH_ITER(hh, st->table, s, next)
	{
		HASH_DEL(st->table, s);
		store_vbuf_free(&s->fill);
		store_vbuf_free(&s->handed);
		store_vbuf_free(&s->work);
		free(s->path);
		free(s);
	}
	pthread_cond_destroy(&st->done);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	free(st->notes_dir);
	free(st->rrdcached);
	free(st->rrd_dir);
	free(st);
}
