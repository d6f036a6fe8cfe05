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
 * an empty `handed`, the writer swaps `handed` with an empty `work`. The
 * writer frees a `work` array once written, so a series that waits holds
 * one small array (16 bytes a value), not three: with 100k series, memory
 * is what is pending, not the high-water mark of every series.
 *
 * Memory bound: besides the timer (the daemon's flush_interval) and
 * store_sync(), the main thread hands everything over when the values
 * pending in `fill` buffers pass FLUSH_PER_SERIES a series (and at least
 * FLUSH_MIN, 16 MiB): under a heavy load the writer works all the time
 * on batches of a hundred-odd values a file (librrd's cost is mostly per
 * call: open, map, lock, unmap), instead of a minute's worth piling up
 * in memory and going out in one burst.
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
#define FLUSH_PER_SERIES 64 /* pending values a series, on average, before a hand-over */
#define FLUSH_MIN (1 << 20) /* values (16 MiB), unless store_opts says otherwise */
#define PARALLEL_MIN 256 /* series in a pass worth a second writer */
#define VALUE_STR 64   /* "1763884800.250:-1.2345678901234567e+300" */
#define NO_SEQ UINT64_MAX

struct value {
	double t;
	double v;
};

struct vbuf {
	struct value *v;
	uint32_t n, cap;
	/* Lowest nonzero journal seq of the values held, NO_SEQ if none.
	 * After a partial write it is kept as it was: lower than needed,
	 * which only keeps a journal segment longer. */
	uint64_t min_seq;
};

struct series {
	UT_hash_handle hh;
	char *path;    /* <rrd_dir>/<relpath>.rrd, one allocation */
	const char *relpath; /* the key: inside path, strlen(relpath) - 4 bytes */
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

/* What one writing thread needs of its own: librrd takes the values as
 * strings, formatted here. */
struct wctx {
	char strs[CHUNK][VALUE_STR];
	const char *argv[CHUNK];
};

struct pass_result {
	size_t failing, errors;
	char first_err[600];
};

struct store {
	char *rrd_dir;
	char *rrdcached; /* NULL: direct writes */
	long heartbeat_s;

	/* main thread */
	struct series *table;
	struct series *dirty_head;
	size_t fill_values; /* values in fill buffers */
	size_t flush_at;    /* fill_values that trigger a hand-over */
	size_t flush_min;   /* the least flush_at */
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
	struct wctx wmain;

	/* The second writer ("labqcd-rrd2"): takes half of a large pass
	 * (files written directly only: the rrdcached client is one per
	 * process). helper_lock guards the hand-over fields. */
	bool helper_running;
	pthread_t helper;
	pthread_mutex_t helper_lock;
	pthread_cond_t helper_cv;
	struct series *helper_list; /* given; on return, the series left with values */
	struct pass_result helper_res;
	bool helper_go, helper_done, helper_stop;
	struct wctx whelper;
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
	if (need > UINT32_MAX / 2) {
		errno = ENOMEM;
		return -1;
	}
	cap = b->cap ? b->cap : 4;
	while (cap < need)
		cap *= 2;
	if ((nv = reallocarray(b->v, cap, sizeof(*nv))) == NULL)
		return -1;
	b->v = nv;
	b->cap = (uint32_t)cap;
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

static void vbuf_free(struct vbuf *b)
{
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
	b->min_seq = NO_SEQ;
}

/* Drop the first `k` values (written or refused); a buffer emptied is
 * freed (see the header comment). */
static void vbuf_consume(struct vbuf *b, size_t k)
{
	if (k == 0)
		return;
	if (k == b->n) {
		vbuf_free(b);
		return;
	}
	memmove(b->v, b->v + k, (b->n - k) * sizeof(*b->v));
	b->n -= (uint32_t)k;
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

static int file_update(struct store *st, struct wctx *w, const struct series *s, size_t from,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct value *x = &s->work.v[from + i];
		/* Times are whole milliseconds (store_put rounds them):
		 * printed from integers, which is exact and several times
		 * cheaper than glibc's "%.3f" of a double. */
		long long ms = llround(x->t * 1000);
		int k = snprintf(w->strs[i], VALUE_STR, "%lld.%03lld:", ms / 1000, ms % 1000);
		char *p = w->strs[i] + k;
		size_t left = VALUE_STR - (size_t)k;

		if (!isfinite(x->v))
			snprintf(p, left, "U");
		else if (s->kind == SERIES_DERIVE) /* librrd wants integers */
			snprintf(p, left, "%.0f", x->v);
		else
			snprintf(p, left, "%.17g", x->v);
		w->argv[i] = w->strs[i];
	}
	rrd_clear_error();
	if (use_cached(st))
		return rrdc_update(s->path, (int)n, w->argv);
	return rrd_update_r(s->path, NULL, (int)n, w->argv);
}

/* A batch was refused because some values are not after the file's last
 * update (the file holds more than its whole-second last time told us,
 * or rrdcached had values the file had not): write one value at a time
 * and drop those refused as late. Returns how many values were settled. */
static size_t write_salvage(struct store *st, struct wctx *w, struct series *s, size_t from,
			    char *err, size_t errlen, bool *failed)
{
	size_t i, dropped = 0;

	for (i = from; i < s->work.n; i++) {
		if (file_update(st, w, s, i, 1) == 0) {
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
static int write_series(struct store *st, struct wctx *w, struct series *s, char *err,
			size_t errlen)
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
		if (file_update(st, w, s, off, n) == 0) {
			atomic_fetch_add(&st->written, n);
			off += n;
			continue;
		}
		take_error(err, errlen);
		if (error_is_late(err)) {
			off += write_salvage(st, w, s, off, err, errlen, &failed);
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

/* Write every series of `head` (linked by work_next); returns the list of
 * those left with values (kept after a failure), counting into r. */
static struct series *write_list(struct store *st, struct wctx *w, struct series *head,
				 struct pass_result *r)
{
	struct series **link = &head;
	char err[512];

	while (*link != NULL) {
		struct series *s = *link;

		if (write_series(st, w, s, err, sizeof(err)) == -1) {
			if (r->errors++ == 0)
				snprintf(r->first_err, sizeof(r->first_err), "%s: %s", s->path, err);
			r->failing++;
		}
		if (s->work.n == 0) {
			s->in_work = false;
			*link = s->work_next;
			s->work_next = NULL;
		} else {
			link = &s->work_next;
		}
	}
	return head;
}

static void *helper_main(void *arg)
{
	struct store *st = arg;

	pthread_setname_np(pthread_self(), "labqcd-rrd2");
	pthread_mutex_lock(&st->helper_lock);
	for (;;) {
		while (!st->helper_go && !st->helper_stop)
			pthread_cond_wait(&st->helper_cv, &st->helper_lock);
		if (st->helper_stop)
			break;
		struct series *list = st->helper_list;
		st->helper_go = false;
		pthread_mutex_unlock(&st->helper_lock);

		struct pass_result r = {0, 0, ""};
		list = write_list(st, &st->whelper, list, &r);

		pthread_mutex_lock(&st->helper_lock);
		st->helper_list = list;
		st->helper_res = r;
		st->helper_done = true;
		pthread_cond_broadcast(&st->helper_cv);
	}
	pthread_mutex_unlock(&st->helper_lock);
	return NULL;
}

static struct series *list_concat(struct series *a, struct series *b)
{
	struct series **link = &a;

	while (*link != NULL)
		link = &(*link)->work_next;
	*link = b;
	return a;
}

/* One pass over the work list; returns the number of series left failing.
 * A large pass (the final flush, a minute of 100k channels) is split
 * between the two writers: each file is still written by one thread at
 * a time, and librrd's *_r calls keep their errors per thread. */
static size_t write_pass(struct store *st)
{
	struct pass_result r = {0, 0, ""};
	struct series *mine = NULL, *theirs = NULL, *s, *next;
	size_t n = 0;

	for (s = st->work_head; s != NULL && n < PARALLEL_MIN; s = s->work_next)
		n++;
	if (!st->helper_running || n < PARALLEL_MIN) {
		st->work_head = write_list(st, &st->wmain, st->work_head, &r);
	} else {
		bool odd = false;
		for (s = st->work_head; s != NULL; s = next, odd = !odd) {
			struct series **to = odd ? &theirs : &mine;
			next = s->work_next;
			s->work_next = *to;
			*to = s;
		}
		pthread_mutex_lock(&st->helper_lock);
		st->helper_list = theirs;
		st->helper_done = false;
		st->helper_go = true;
		pthread_cond_broadcast(&st->helper_cv);
		pthread_mutex_unlock(&st->helper_lock);

		mine = write_list(st, &st->wmain, mine, &r);

		pthread_mutex_lock(&st->helper_lock);
		while (!st->helper_done)
			pthread_cond_wait(&st->helper_cv, &st->helper_lock);
		theirs = st->helper_list;
		st->helper_list = NULL;
		if (r.errors == 0)
			snprintf(r.first_err, sizeof(r.first_err), "%s", st->helper_res.first_err);
		r.errors += st->helper_res.errors;
		r.failing += st->helper_res.failing;
		pthread_mutex_unlock(&st->helper_lock);
		st->work_head = list_concat(mine, theirs);
	}
	if (r.errors) {
		atomic_fetch_add(&st->write_errors, r.errors);
		complain(&st->write_complaint, "store: write failed (%zu file(s)), values kept: %s",
			 r.failing, r.first_err);
	} else {
		complain_release(&st->write_complaint, "store: %s writable again", st->rrd_dir);
	}
	return r.failing;
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
	st->flush_min = opts->pending_min > 0 ? opts->pending_min : FLUSH_MIN;
	st->flush_at = st->flush_min;
	atomic_init(&st->held_min, NO_SEQ);
	st->last_pass_ok = true;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	pthread_cond_init(&st->done, NULL);
	pthread_mutex_init(&st->helper_lock, NULL);
	pthread_cond_init(&st->helper_cv, NULL);
	/* Without it (rrdcached, or no thread to be had) the writer does
	 * every pass alone. */
	if (!use_cached(st) && pthread_create(&st->helper, NULL, helper_main, st) == 0)
		st->helper_running = true;
	if ((err = pthread_create(&st->thread, NULL, writer_main, st)) != 0) {
		helper_join(st);
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
	if ((s->path = strdup(path)) == NULL) {
		free(s);
		return NULL;
	}
	s->relpath = s->path + strlen(st->rrd_dir) + 1;
	s->kind = kind;
	vbuf_clear(&s->fill);
	vbuf_clear(&s->handed);
	vbuf_clear(&s->work);
	s->last_t = file_last_time(path, &exists);
	s->file_known = exists;
	HASH_ADD_KEYPTR(hh, st->table, s->relpath, strlen(relpath), s);
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
	if (++st->fill_values >= st->flush_at)
		store_flush(st);
	return STORE_QUEUED;
}

static uint64_t store_flush_gen(struct store *st)
{
	struct series *s, *next, *keep = NULL;
	uint64_t gen, held;

	pthread_mutex_lock(&st->lock);
	st->fill_min = NO_SEQ;
	st->fill_values = 0;
	for (s = st->dirty_head; s != NULL; s = next) {
		next = s->dirty_next;
		if (vbuf_move(&s->handed, &s->fill) == -1) {
			/* Out of memory: stays in fill for the next flush. */
			s->dirty_next = keep;
			keep = s;
			if (s->fill.min_seq < st->fill_min)
				st->fill_min = s->fill.min_seq;
			st->fill_values += s->fill.n;
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
	st->flush_at = HASH_COUNT(st->table) * FLUSH_PER_SERIES;
	if (st->flush_at < st->flush_min)
		st->flush_at = st->flush_min;
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
	helper_join(st);
	HASH_ITER(hh, st->table, s, next)
	{
		HASH_DEL(st->table, s);
		vbuf_free(&s->fill);
		vbuf_free(&s->handed);
		vbuf_free(&s->work);
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
