/*
 * store_writer.c: the RRD store's writer threads, "labqcd-rrd" and the
 * second writer "labqcd-rrd2": file creation, updates, salvage of late
 * values, corrupt files moved aside. Threads, ownership and lock order
 * are described at the top of store.c.
 */
#include "daemon/store.h"
#include "daemon/store_int.h"
#include "daemon/fsutil.h"
#include "daemon/log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <rrd.h>
#include <rrd_client.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QC_HEARTBEAT_S 259200
#define PARALLEL_MIN 256 /* series in a pass worth a second writer */
#define WRITER_NICE 5
/* One request to rrdcached is at most RRD_CMD_MAX (4096) bytes
 * (rrd_client.c): "update NAME v v ...\n", each value under VALUE_STR. */
#define CMD_VALUES(name) ((RRD_CMD_MAX - 16 - strlen(name)) / VALUE_STR)

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

/* The template of this kind and start, or NULL. */
static const struct tmpl *tmpl_find(const struct wctx *w, enum series_kind kind, long long start)
{
	for (unsigned i = 0; i < TEMPLATES; i++)
		if (w->tmpl[i].bytes != NULL && w->tmpl[i].kind == kind &&
		    w->tmpl[i].start == start)
			return &w->tmpl[i];
	return NULL;
}

/* Keep the file librrd just made at `path` as the template of its kind
 * and start (the oldest one goes). Nothing is lost if it cannot be read:
 * the next file is made by librrd again. */
static void tmpl_keep(struct wctx *w, const char *path, enum series_kind kind, long long start)
{
	struct tmpl *t = &w->tmpl[w->tmpl_next++ % TEMPLATES];
	char *bytes;
	size_t len;

	if (fs_read_all(path, &bytes, &len) == -1)
		return;
	free(t->bytes);
	*t = (struct tmpl){bytes, len, start, kind};
}

void store_templates_free(struct wctx *w)
{
	for (unsigned i = 0; i < TEMPLATES; i++) {
		free(w->tmpl[i].bytes);
		w->tmpl[i].bytes = NULL;
	}
}

static int write_bytes(const char *path, const struct tmpl *t)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t off = 0;

	if (fd == -1)
		return -1;
	while (off < t->len) {
		ssize_t k = write(fd, t->bytes + off, t->len - off);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k == 0 ? EIO : errno;
			close(fd);
			errno = e;
			return -1;
		}
		off += (size_t)k;
	}
	return close(fd);
}

/* Create the file to start one step before the value at `from`: a
 * GAUGE value stands for the interval before it, so the first sample
 * then fills its own one-minute row (starting 1 s before it left that
 * row unknown: 59 of its 60 seconds had no data).
 *
 * What a create costs (measured: README, Benchmarks): librrd fills the
 * whole file with NaN rows and writes it in a dozen pieces through a
 * temporary name; of ~0.5-0.8 ms a file of DESIGN's layout, a third is
 * the file system allocating the inode, a third writing 396 KB, a sixth
 * librrd setting the NaNs. An empty file depends only on its layout,
 * kind and start time (librrd's random starting row aside), so the
 * first file of a kind and start is made by librrd and kept; the next
 * ones of that kind and start (a new instrument's channels, a first day,
 * a wiped rrd_dir: thousands of files whose first samples share their
 * second) are those same bytes written in one write(2), a quarter of
 * the cost. */
static int file_create(struct store *st, struct wctx *w, struct series *s, size_t from, char *err,
		       size_t errlen)
{
	char ds[96];
	const char *argv[1 + CFG_RRA_MAX * 4];
	int argc = 1 + st->rra_argc;
	long long start = (long long)floor(s->work.v[from].t) - st->step_s;
	int rc;

	argv[0] = ds;
	memcpy(argv + 1, st->rra_argv, (size_t)st->rra_argc * sizeof(argv[0]));
	if (s->kind == SERIES_DERIVE)
		snprintf(ds, sizeof(ds), "DS:value:DERIVE:%ld:0:U", st->heartbeat_s);
	else
		snprintf(ds, sizeof(ds), "DS:value:GAUGE:%ld:U:U",
			 s->kind == SERIES_QC ? (long)QC_HEARTBEAT_S : st->heartbeat_s);
	rrd_clear_error();
	if (st->remote) {
		/* The daemon makes the file (and with -R its directories);
		 * one that is there already is kept as it is. */
		if (cached_connect(st, err, errlen) == -1)
			return -1;
		rc = rrdc_create(series_name(st, s), (unsigned long)st->step_s, (time_t)start, 1,
		                 argc, argv);
		if (rc != 0) {
			take_error(err, errlen);
			if (strstr(err, "File exists") != NULL)
				return 0;
			return -1;
		}
	} else if (make_parents(st, s->path) == -1) {
		snprintf(err, errlen, "mkdir: %s", strerror(errno));
		return -1;
	} else if (use_cached(st)) {
		if (cached_connect(st, err, errlen) == -1)
			return -1;
		rc = rrdc_create(s->path, (unsigned long)st->step_s, (time_t)start, 1, argc, argv);
	} else {
		/* Created under a temporary name and renamed: a reader (the
		 * dashboard, rrdtool, a backup) never sees a file whose
		 * header is still being written. */
		char tmp[4200];
		const struct tmpl *t = tmpl_find(w, s->kind, start);
		if (snprintf(tmp, sizeof(tmp), "%s.new", s->path) >= (int)sizeof(tmp)) {
			snprintf(err, errlen, "path too long");
			return -1;
		}
		unlink(tmp); /* left by a crash inside a create */
		if (t != NULL) {
			if (write_bytes(tmp, t) == -1) {
				snprintf(err, errlen, "writing the new file: %s", strerror(errno));
				unlink(tmp);
				return -1;
			}
			rc = 0;
		} else {
			rc = rrd_create_r2(tmp, (unsigned long)st->step_s, (time_t)start, 1, NULL,
					   NULL, argc, argv);
			if (rc == 0)
				tmpl_keep(w, tmp, s->kind, start);
		}
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
	log_debug("store: created %s", s->path);
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
		return rrdc_update(series_name(st, s), (int)n, w->argv);
	return rrd_update_r(s->path, NULL, (int)n, w->argv);
}

/* A batch was refused because some values are not after the file's last
 * update (the file holds more than its whole-second last time told us,
 * or rrdcached had values the file had not): write one value at a time
 * and drop those refused as late, except a value rrdcached took before
 * (s->resent): that one it has. *ok counts the values now in rrdcached
 * or the file. Returns how many values were settled. */
static size_t write_salvage(struct store *st, struct wctx *w, struct series *s, size_t from,
			    char *err, size_t errlen, bool *failed, size_t *ok)
{
	size_t i, dropped = 0;

	for (i = from; i < s->work.n; i++) {
		if (file_update(st, w, s, i, 1) == 0) {
			(*ok)++;
			continue;
		}
		take_error(err, errlen);
		if (!error_is_late(err)) {
			*failed = true;
			break;
		}
		if (i < s->resent) {
			(*ok)++;
			continue;
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

	if (fs_move_aside(s->path, aside, sizeof(aside)) == -1) {
		log_warn("store: %s is corrupt (%s) but cannot be moved aside", s->path, why);
		return;
	}
	if (use_cached(st))
		(void)rrdc_forget(series_name(st, s));
	log_warnx("store: %s is corrupt (%s): moved to %s, a new file is created", s->path, why,
		  aside);
	s->file_known = false;
}

/* Remote mode: have rrdcached write the file now, so that the values it
 * took are on the storage host's disk (store.c, "Remote mode"). */
static int remote_confirm(struct store *st, const struct series *s, char *err, size_t errlen)
{
	rrd_clear_error();
	if (rrdc_flush(series_name(st, s)) != 0) {
		take_error(err, errlen);
		return -1;
	}
	return 0;
}

/* Write everything `s` holds. 0, or -1 with the values not written kept
 * and the librrd error in err. */
static int write_series(struct store *st, struct wctx *w, struct series *s, char *err,
			size_t errlen)
{
	size_t off = 0, ok = 0;
	size_t chunk = st->remote ? CMD_VALUES(series_name(st, s)) : CHUNK;
	bool failed = false;
	int recreated = 0;

	if (use_cached(st) && cached_connect(st, err, errlen) == -1)
		return -1;
	while (off < s->work.n && !failed) {
		size_t n = s->work.n - off < chunk ? s->work.n - off : chunk;
		struct stat sb;

		if (!s->file_known) {
			int absent = st->remote ? ENOENT : stat(s->path, &sb) == -1 ? errno : 0;

			if (absent != 0 && absent != ENOENT && absent != ENOTDIR) {
				snprintf(err, errlen, "%s", strerror(absent));
				failed = true;
				break;
			}
			if (absent != 0 && file_create(st, w, s, off, err, errlen) == -1) {
				failed = true;
				break;
			}
			s->file_known = true;
		}
		if (file_update(st, w, s, off, n) == 0) {
			ok += n;
			off += n;
			continue;
		}
		take_error(err, errlen);
		if (error_is_late(err)) {
			off += write_salvage(st, w, s, off, err, errlen, &failed, &ok);
		} else if (error_is_missing(err) && recreated++ == 0) {
			s->file_known = false; /* removed behind our back */
		} else if (!st->remote && (error_is_corrupt(err) || file_is_empty(s->path)) &&
		           recreated++ == 0) {
			move_aside(st, s, err);
			if (s->file_known) /* could not move it: keep the values */
				failed = true;
		} else {
			failed = true;
		}
	}
	if (st->remote && off > 0) {
		char why[512];
		/* Not confirmed: everything rrdcached took goes again. */
		if (remote_confirm(st, s, why, sizeof(why)) == -1) {
			if (!failed)
				snprintf(err, errlen, "%s", why);
			if (off > s->resent)
				s->resent = (uint32_t)off;
			return -1;
		}
	}
	atomic_fetch_add(&st->written, ok);
	store_vbuf_consume(&s->work, off);
	s->resent = s->resent > off ? s->resent - (uint32_t)off : 0;
	return failed ? -1 : 0;
}

/* Under st->lock: append every handed buffer to its series' work buffer.
 * A buffer that cannot grow (out of memory) stays handed for next time. */
static void take_handed(struct store *st)
{
	struct series *s, *next, *keep = NULL;

	for (s = st->handed_head; s != NULL; s = next) {
		next = s->handed_next;
		if (store_vbuf_move(&s->work, &s->handed) == -1) {
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

/* The writers yield to the main thread (and the broker on the same
 * machine): a burst of new files must not slow the taking of messages,
 * which is what bounds what the broker holds. When the main thread has
 * nothing to do the writers get every cycle anyway; when they fall far
 * behind, store_backlogged() makes the main thread wait for them. */
static void writer_priority(void)
{
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), WRITER_NICE) == -1)
		log_debug("store: writer priority: %s", strerror(errno));
}

void *writer_helper_main(void *arg)
{
	struct store *st = arg;

	pthread_setname_np(pthread_self(), "labqcd-rrd2");
	writer_priority();
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

void *writer_main(void *arg)
{
	struct store *st = arg;
	uint64_t seen = 0;

	pthread_setname_np(pthread_self(), "labqcd-rrd");
	writer_priority();
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
		atomic_store(&st->healthy, failing == 0);
		pthread_cond_broadcast(&st->done);
	}
	pthread_mutex_unlock(&st->lock);
	if (use_cached(st))
		rrdc_disconnect();
	return NULL;
}
