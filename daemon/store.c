/*
 * store.c: the RRD store; see store.h for the design.
 *
 * Threads and ownership. The main thread owns the series table (uthash,
 * keyed by relpath), every series' `fill` buffer and last timestamp; it
 * never does I/O except reading an existing file's last update time the
 * first time a series is touched. The writer thread ("labqcd-rrd") owns
 * every series' `work` buffer and file state and is the only caller of
 * librrd's write functions and of rrdc_* (whose client is process-wide).
 * Between them, each series has a `handed` buffer guarded by st->lock.
 *
 * Buffers rotate instead of being copied: store_flush() swaps `fill` with
 * an empty `handed`, the writer swaps `handed` with an empty `work`, so in
 * steady state the three arrays of a series are reused and nothing is
 * allocated per sample. Only a writer that falls behind (its `work` still
 * holds values kept after a failure) makes the buffers grow.
 *
 * Lock order: st->lock is the only lock of this module and a leaf: it is
 * never held while calling librrd, rrdc_* or the log, so librrd's own
 * locks (taken by the writer only) never nest inside it. The series
 * table itself is main-thread only; the writer reaches series through
 * the handed list and its own work list, never through the table.
 *
 * Journal coupling: every buffer keeps the lowest journal seq it holds;
 * the writer publishes the lowest seq of everything handed over and not
 * yet written (held_min), the main thread the lowest of what it has not
 * handed over yet (fill_min).
 */
#include "store.h"
#include "log.h"

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
#include <uthash.h>

#define STEP_S 60
#define QC_HEARTBEAT_S 259200
#define CHUNK 1000     /* values per rrd_update call */
#define VALUE_STR 64   /* "1763884800.250:-1.2345678901234567e+300" */
#define NO_SEQ UINT64_MAX

struct value {
	double t;
	double v;
	uint64_t seq;
};

struct vbuf {
	struct value *v;
	size_t n, cap;
	uint64_t min_seq; /* lowest nonzero seq held, NO_SEQ if none */
};

struct series {
	UT_hash_handle hh;
	char *relpath; /* the key */
	char *path;    /* <rrd_dir>/<relpath>.rrd */
	enum series_kind kind;

	/* main thread */
	double last_t; /* -INFINITY: none */
	struct vbuf fill;
	bool dirty;
	struct series *dirty_next;

	/* st->lock */
	struct vbuf handed;
	bool queued;
	struct series *handed_next;

	/* writer thread (set by the main thread before the first hand-over) */
	struct vbuf work;
	bool in_work;
	bool file_known; /* the file exists as far as we know */
	struct series *work_next;
};

struct store {
	char *rrd_dir;
	char *rrdcached; /* NULL: direct writes */
	long heartbeat_s;

	/* main thread */
	struct series *table;
	struct series *dirty_head;
	uint64_t fill_min;
	uint64_t max_put;
	uint64_t queued, late;

	/* st->lock */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* writer waits: flush_gen moved, or stop */
	pthread_cond_t done; /* store_sync waits: done_gen caught up */
	struct series *handed_head;
	uint64_t flush_gen, done_gen;
	bool last_pass_ok;
	bool stop;

	/* written by the writer, read by anyone */
	_Atomic uint64_t held_min;
	_Atomic uint64_t written, dropped, write_errors, files_created;

	/* writer thread */
	pthread_t thread;
	struct series *work_head;
	struct complaint write_complaint;
	struct complaint connect_complaint;
	char strs[CHUNK][VALUE_STR];
	const char *argv[CHUNK];
};

/* ---- buffers ---- */

static void vbuf_clear(struct vbuf *b)
{
	b->n = 0;
	b->min_seq = NO_SEQ;
}

static int vbuf_reserve(struct vbuf *b, size_t need)
{
	struct value *nv;
	size_t cap;

	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 16;
	while (cap < need)
		cap *= 2;
	if ((nv = reallocarray(b->v, cap, sizeof(*nv))) == NULL)
		return -1;
	b->v = nv;
	b->cap = cap;
	return 0;
}

static void vbuf_swap(struct vbuf *a, struct vbuf *b)
{
	struct vbuf tmp = *a;

	*a = *b;
	*b = tmp;
}

/* Move everything from `src` to the end of `dst`, by swapping when dst is
 * empty. -1 if dst could not grow (src is left as it was). */
static int vbuf_move(struct vbuf *dst, struct vbuf *src)
{
	if (src->n == 0)
		return 0;
	if (dst->n == 0) {
		vbuf_swap(dst, src);
		vbuf_clear(src);
		return 0;
	}
	if (vbuf_reserve(dst, dst->n + src->n) == -1)
		return -1;
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	if (src->min_seq < dst->min_seq)
		dst->min_seq = src->min_seq;
	vbuf_clear(src);
	return 0;
}

/* Drop the first `k` values (written or refused). */
static void vbuf_consume(struct vbuf *b, size_t k)
{
	if (k == 0)
		return;
	memmove(b->v, b->v + k, (b->n - k) * sizeof(*b->v));
	b->n -= k;
	b->min_seq = NO_SEQ;
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].seq != 0 && b->v[i].seq < b->min_seq)
			b->min_seq = b->v[i].seq;
}

static void vbuf_free(struct vbuf *b)
{
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
}

/* ---- files ---- */

int store_path(const struct store *st, const char *relpath, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s.rrd", st->rrd_dir, relpath);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* mkdir -p for the directories of `path` below rrd_dir (which exists). */
static int make_parents(const struct store *st, const char *path)
{
	char buf[4096];
	size_t base = strlen(st->rrd_dir);

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + base + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

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

static bool valid_relpath(const char *r)
{
	if (*r == '\0' || *r == '/')
		return false;
	for (const char *c = r; *c != '\0';) {
		size_t len = strcspn(c, "/");

		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += len;
		if (*c == '/')
			c++;
		else
			break;
	}
	return r[strlen(r) - 1] != '/';
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

/* ---- writer thread ---- */

static bool error_is(const char *err, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strstr(err, *words) != NULL)
			return true;
	return false;
}

static bool error_is_late(const char *err)
{
	static const char *const words[] = {"illegal attempt to update", "minimum one second step",
					    NULL};
	return error_is(err, words);
}

static bool error_is_corrupt(const char *err)
{
	/* rrd_open's words for a damaged header. Not "another
	 * architecture" or "can't handle RRD file version": such a file is
	 * someone else's, not broken, and is left alone. */
	static const char *const words[] = {"is not an RRD file", "reached EOF while loading header",
					    "short read while reading header", "is too small",
					    NULL};
	return error_is(err, words);
}

/* An empty file (a crash between create and first write on some file
 * systems) only makes librrd's mmap fail with EINVAL. */
static bool file_is_empty(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0;
}

static bool error_is_missing(const char *err)
{
	static const char *const words[] = {"No such file", NULL};
	return error_is(err, words);
}

static bool use_cached(const struct store *st)
{
	return st->rrdcached != NULL;
}

/* Copy librrd's thread-local error text, which the next call may clear. */
static void take_error(char *buf, size_t len)
{
	const char *e = rrd_get_error();

	snprintf(buf, len, "%s", e != NULL && *e != '\0' ? e : "unknown librrd error");
	rrd_clear_error();
}

static int cached_connect(struct store *st, char *err, size_t errlen)
{
	rrd_clear_error();
	if (rrdc_connect(st->rrdcached) != 0 || !rrdc_is_connected(st->rrdcached)) {
		take_error(err, errlen);
		complain(&st->connect_complaint, "store: rrdcached %s: %s", st->rrdcached, err);
		return -1;
	}
	complain_release(&st->connect_complaint, "store: rrdcached %s reachable again",
			 st->rrdcached);
	return 0;
}

/* Create the file to start one step before the value at `from`: a
 * GAUGE value stands for the interval before it, so the first sample
 * then fills its own one-minute row (starting 1 s before it left that
 * row unknown: 59 of its 60 seconds had no data). */
static int file_create(struct store *st, struct series *s, size_t from, char *err, size_t errlen)
{
	char ds[96];
	const char *argv[] = {ds,
			      "RRA:MIN:0.5:1:2880",  "RRA:AVERAGE:0.5:1:2880",  "RRA:MAX:0.5:1:2880",
			      "RRA:MIN:0.5:5:4032",  "RRA:AVERAGE:0.5:5:4032",  "RRA:MAX:0.5:5:4032",
			      "RRA:MIN:0.5:60:9504", "RRA:AVERAGE:0.5:60:9504", "RRA:MAX:0.5:60:9504"};
	int argc = (int)(sizeof(argv) / sizeof(argv[0]));
	time_t start = (time_t)floor(s->work.v[from].t) - STEP_S;
	int rc;

	if (s->kind == SERIES_DERIVE)
		snprintf(ds, sizeof(ds), "DS:value:DERIVE:%ld:0:U", st->heartbeat_s);
	else
		snprintf(ds, sizeof(ds), "DS:value:GAUGE:%ld:U:U",
			 s->kind == SERIES_QC ? (long)QC_HEARTBEAT_S : st->heartbeat_s);
	if (make_parents(st, s->path) == -1) {
		snprintf(err, errlen, "mkdir: %s", strerror(errno));
		return -1;
	}
	rrd_clear_error();
	if (use_cached(st)) {
		if (cached_connect(st, err, errlen) == -1)
			return -1;
		rc = rrdc_create(s->path, STEP_S, start, 1, argc, argv);
	} else {
		/* Created under a temporary name and renamed: a reader (the
		 * dashboard, rrdtool, a backup) never sees a file whose
		 * header is still being written. */
		char tmp[4200];
		if (snprintf(tmp, sizeof(tmp), "%s.new", s->path) >= (int)sizeof(tmp)) {
			snprintf(err, errlen, "path too long");
			return -1;
		}
		unlink(tmp); /* left by a crash inside a create */
		rc = rrd_create_r2(tmp, STEP_S, start, 1, NULL, NULL, argc, argv);
		if (rc == 0 && rename(tmp, s->path) == -1) {
			int e = errno;
			if (snprintf(err, errlen, "rename to %s: %s", s->path, strerror(e)) >=
			    (int)errlen)
				err[errlen - 1] = '\0'; /* a cut message is fine */
			unlink(tmp);
			return -1;
		}
	}
	if (rc != 0) {
		take_error(err, errlen);
		return -1;
	}
	atomic_fetch_add(&st->files_created, 1);
	log_info("store: created %s", s->path);
	return 0;
}

static int file_update(struct store *st, const struct series *s, size_t from, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct value *x = &s->work.v[from + i];

		if (!isfinite(x->v))
			snprintf(st->strs[i], VALUE_STR, "%.3f:U", x->t);
		else if (s->kind == SERIES_DERIVE) /* librrd wants integers */
			snprintf(st->strs[i], VALUE_STR, "%.3f:%.0f", x->t, x->v);
		else
			snprintf(st->strs[i], VALUE_STR, "%.3f:%.17g", x->t, x->v);
		st->argv[i] = st->strs[i];
	}
	rrd_clear_error();
	if (use_cached(st))
		return rrdc_update(s->path, (int)n, st->argv);
	return rrd_update_r(s->path, NULL, (int)n, st->argv);
}

/* A batch was refused because some values are not after the file's last
 * update (the file holds more than its whole-second last time told us,
 * or rrdcached had values the file had not): write one value at a time
 * and drop those refused as late. Returns how many values were settled. */
static size_t write_salvage(struct store *st, struct series *s, size_t from, char *err,
			    size_t errlen, bool *failed)
{
	size_t i, dropped = 0;

	for (i = from; i < s->work.n; i++) {
		if (file_update(st, s, i, 1) == 0) {
			atomic_fetch_add(&st->written, 1);
			continue;
		}
		take_error(err, errlen);
		if (!error_is_late(err)) {
			*failed = true;
			break;
		}
		atomic_fetch_add(&st->dropped, 1);
		dropped++;
	}
	if (dropped)
		log_info("store: %s: %zu value(s) not after the file's last update were dropped",
			 s->path, dropped);
	return i - from;
}

static void move_aside(struct store *st, struct series *s, const char *why)
{
	char aside[4200];

	snprintf(aside, sizeof(aside), "%s.corrupt-%lld", s->path, (long long)time(NULL));
	if (rename(s->path, aside) == -1) {
		log_warn("store: %s is corrupt (%s) but cannot be moved aside", s->path, why);
		return;
	}
	if (use_cached(st))
		(void)rrdc_forget(s->path);
	log_warnx("store: %s is corrupt (%s): moved to %s, a new file is created", s->path, why,
		  aside);
	s->file_known = false;
}

/* Write everything `s` holds. 0, or -1 with the values not written kept
 * and the librrd error in err. */
static int write_series(struct store *st, struct series *s, char *err, size_t errlen)
{
	size_t off = 0;
	bool failed = false;
	int recreated = 0;

	if (use_cached(st) && cached_connect(st, err, errlen) == -1)
		return -1;
	while (off < s->work.n && !failed) {
		size_t n = s->work.n - off < CHUNK ? s->work.n - off : CHUNK;
		struct stat sb;

		if (!s->file_known) {
			int absent = stat(s->path, &sb) == -1 ? errno : 0;

			if (absent != 0 && absent != ENOENT && absent != ENOTDIR) {
				snprintf(err, errlen, "%s", strerror(absent));
				failed = true;
				break;
			}
			if (absent != 0 && file_create(st, s, off, err, errlen) == -1) {
				failed = true;
				break;
			}
			s->file_known = true;
		}
		if (file_update(st, s, off, n) == 0) {
			atomic_fetch_add(&st->written, n);
			off += n;
			continue;
		}
		take_error(err, errlen);
		if (error_is_late(err)) {
			off += write_salvage(st, s, off, err, errlen, &failed);
		} else if (error_is_missing(err) && recreated++ == 0) {
			s->file_known = false; /* removed behind our back */
		} else if ((error_is_corrupt(err) || file_is_empty(s->path)) && recreated++ == 0) {
			move_aside(st, s, err);
			if (s->file_known) /* could not move it: keep the values */
				failed = true;
		} else {
			failed = true;
		}
	}
	vbuf_consume(&s->work, off);
	return failed ? -1 : 0;
}

/* Under st->lock: append every handed buffer to its series' work buffer.
 * A buffer that cannot grow (out of memory) stays handed for next time. */
static void take_handed(struct store *st)
{
	struct series *s, *next, *keep = NULL;

	for (s = st->handed_head; s != NULL; s = next) {
		next = s->handed_next;
		if (vbuf_move(&s->work, &s->handed) == -1) {
			s->handed_next = keep;
			keep = s;
			continue;
		}
		s->handed_next = NULL;
		s->queued = false;
		if (!s->in_work) {
			s->in_work = true;
			s->work_next = st->work_head;
			st->work_head = s;
		}
	}
	st->handed_head = keep;
}

/* One pass over the work list; returns the number of series left failing. */
static size_t write_pass(struct store *st)
{
	struct series **link = &st->work_head;
	char err[512], first_err[600] = "";
	size_t failing = 0, errors = 0;

	while (*link != NULL) {
		struct series *s = *link;

		if (write_series(st, s, err, sizeof(err)) == -1) {
			if (errors++ == 0)
				snprintf(first_err, sizeof(first_err), "%s: %s", s->path, err);
			failing++;
		}
		if (s->work.n == 0) {
			s->in_work = false;
			*link = s->work_next;
			s->work_next = NULL;
		} else {
			link = &s->work_next;
		}
	}
	if (errors) {
		atomic_fetch_add(&st->write_errors, errors);
		complain(&st->write_complaint, "store: write failed (%zu file(s)), values kept: %s",
			 failing, first_err);
	} else {
		complain_release(&st->write_complaint, "store: %s writable again", st->rrd_dir);
	}
	return failing;
}

static uint64_t held_min_locked(struct store *st)
{
	uint64_t m = NO_SEQ;

	for (struct series *s = st->work_head; s != NULL; s = s->work_next)
		if (s->work.min_seq < m)
			m = s->work.min_seq;
	for (struct series *s = st->handed_head; s != NULL; s = s->handed_next)
		if (s->handed.min_seq < m)
			m = s->handed.min_seq;
	return m;
}

static void *writer_main(void *arg)
{
	struct store *st = arg;
	uint64_t seen = 0;

	pthread_setname_np(pthread_self(), "labqcd-rrd");
	pthread_mutex_lock(&st->lock);
	for (;;) {
		uint64_t gen;
		size_t failing;

		while (st->flush_gen == seen && !st->stop)
			pthread_cond_wait(&st->wake, &st->lock);
		if (st->flush_gen == seen && st->stop)
			break;
		gen = seen = st->flush_gen;
		take_handed(st);
		pthread_mutex_unlock(&st->lock);

		failing = write_pass(st);

		pthread_mutex_lock(&st->lock);
		atomic_store(&st->held_min, held_min_locked(st));
		st->done_gen = gen;
		st->last_pass_ok = failing == 0;
		pthread_cond_broadcast(&st->done);
	}
	pthread_mutex_unlock(&st->lock);
	if (use_cached(st))
		rrdc_disconnect();
	return NULL;
}

/* ---- main thread ---- */

struct store *store_open(const struct store_opts *opts)
{
	struct store *st;
	char *abs;
	int err;

	if (opts == NULL || opts->rrd_dir == NULL || *opts->rrd_dir == '\0') {
		errno = EINVAL;
		return NULL;
	}
	if (mkdir_p(opts->rrd_dir) == -1)
		return NULL;
	/* Absolute, so that rrdcached (started elsewhere) finds the files. */
	if ((abs = realpath(opts->rrd_dir, NULL)) == NULL)
		return NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		free(abs);
		return NULL;
	}
	st->rrd_dir = abs;
	if (opts->rrdcached != NULL && *opts->rrdcached != '\0' &&
	    (st->rrdcached = strdup(opts->rrdcached)) == NULL)
		goto fail;
	st->heartbeat_s = opts->heartbeat_s >= 1 ? (long)opts->heartbeat_s : 600;
	st->fill_min = NO_SEQ;
	atomic_init(&st->held_min, NO_SEQ);
	st->last_pass_ok = true;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	pthread_cond_init(&st->done, NULL);
	if ((err = pthread_create(&st->thread, NULL, writer_main, st)) != 0) {
		pthread_cond_destroy(&st->done);
		pthread_cond_destroy(&st->wake);
		pthread_mutex_destroy(&st->lock);
		errno = err;
		goto fail;
	}
	return st;
fail:
	err = errno;
	free(st->rrdcached);
	free(st->rrd_dir);
	free(st);
	errno = err;
	return NULL;
}

static struct series *series_new(struct store *st, const char *relpath, enum series_kind kind)
{
	struct series *s;
	char path[4096];
	bool exists;

	if (store_path(st, relpath, path, sizeof(path)) == -1)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->relpath = strdup(relpath)) == NULL || (s->path = strdup(path)) == NULL) {
		free(s->relpath);
		free(s);
		return NULL;
	}
	s->kind = kind;
	vbuf_clear(&s->fill);
	vbuf_clear(&s->handed);
	vbuf_clear(&s->work);
	s->last_t = file_last_time(path, &exists);
	s->file_known = exists;
	HASH_ADD_KEYPTR(hh, st->table, s->relpath, strlen(s->relpath), s);
	return s;
}

enum store_put_result store_put(struct store *st, const char *relpath, enum series_kind kind,
				double t, double value, uint64_t seq)
{
	struct series *s;
	struct value *x;

	if (seq > st->max_put)
		st->max_put = seq;
	if (!isfinite(t) || t < 2 || t > 1e15 || relpath == NULL || !valid_relpath(relpath)) {
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
	if (vbuf_reserve(&s->fill, s->fill.n + 1) == -1)
		return STORE_ERROR;
	x = &s->fill.v[s->fill.n++];
	x->t = t;
	x->v = value;
	x->seq = seq;
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
	return STORE_QUEUED;
}

static uint64_t store_flush_gen(struct store *st)
{
	struct series *s, *next, *keep = NULL;
	uint64_t gen, held;

	pthread_mutex_lock(&st->lock);
	st->fill_min = NO_SEQ;
	for (s = st->dirty_head; s != NULL; s = next) {
		next = s->dirty_next;
		if (vbuf_move(&s->handed, &s->fill) == -1) {
			/* Out of memory: stays in fill for the next flush. */
			s->dirty_next = keep;
			keep = s;
			if (s->fill.min_seq < st->fill_min)
				st->fill_min = s->fill.min_seq;
			continue;
		}
		s->dirty = false;
		s->dirty_next = NULL;
		if (!s->queued) {
			s->queued = true;
			s->handed_next = st->handed_head;
			st->handed_head = s;
		}
	}
	st->dirty_head = keep;
	held = atomic_load(&st->held_min);
	for (s = st->handed_head; s != NULL; s = s->handed_next)
		if (s->handed.min_seq < held)
			held = s->handed.min_seq;
	atomic_store(&st->held_min, held);
	gen = ++st->flush_gen;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	return gen;
}

void store_flush(struct store *st)
{
	(void)store_flush_gen(st);
}

int store_sync(struct store *st)
{
	uint64_t gen = store_flush_gen(st);
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
	HASH_ITER(hh, st->table, s, next)
	{
		HASH_DEL(st->table, s);
		vbuf_free(&s->fill);
		vbuf_free(&s->handed);
		vbuf_free(&s->work);
		free(s->relpath);
		free(s->path);
		free(s);
	}
	pthread_cond_destroy(&st->done);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	free(st->rrdcached);
	free(st->rrd_dir);
	free(st);
}
