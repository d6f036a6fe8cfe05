/*
 * store_int.h: the RRD store's insides, shared by store.c (the main
 * thread's side: store_put, hand-over), store_series.c (the series table's
 * entries and their saved last-update times) and store_writer.c (the
 * writer threads). Private to store*.c: nothing else includes it.
 * Who owns which field, and the lock order, are in the comment at the
 * top of store.c.
 */
#ifndef LABQCD_STORE_INT_H
#define LABQCD_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "daemon/log.h"
#include "daemon/store.h"

#define CHUNK 1000   /* values per rrd_update call */
#define VALUE_STR 64 /* "1763884800.250:-1.2345678901234567e+300" */
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
	bool new_file;   /* main thread: no file when first seen, not counted yet */
	bool new_pending; /* main thread: counted in new_files, not handed over yet */
	/* remote mode: the first `resent` values of work were taken by
	 * rrdcached once and not confirmed on disk; a "late" refusal of one
	 * of them means rrdcached has it. */
	uint32_t resent;
	struct series *work_next;
};

/* An empty file librrd made for one kind of series and start time,
 * kept to be written again for the next file of that kind and start
 * (store_writer.c, file_create). */
#define TEMPLATES 4
struct tmpl {
	char *bytes; /* NULL: slot empty */
	size_t len;
	long long start;
	enum series_kind kind;
};

/* What one writing thread needs of its own: librrd takes the values as
 * strings, formatted here; its templates. */
struct wctx {
	char strs[CHUNK][VALUE_STR];
	const char *argv[CHUNK];
	struct tmpl tmpl[TEMPLATES];
	unsigned tmpl_next;
};

struct pass_result {
	size_t failing, errors;
	char first_err[600];
};

struct store {
	char *rrd_dir;
	char *rrdcached; /* NULL: direct writes */
	bool remote;     /* rrdcached over TCP (daemon/rrdaddr.h) */
	char *notes_dir; /* .layout, .last-updates: rrd_dir, or opts.notes_dir when remote */
	double last_retry; /* main thread, remote: no rrdc_last before this (monotonic s) */
	long heartbeat_s;
	/* the layout of files created: rrd_create's step and RRA arguments */
	long step_s;
	char rra_bufs[CFG_RRA_MAX * 4][64];
	const char *rra_argv[CFG_RRA_MAX * 4];
	int rra_argc;

	/* main thread */
	struct series *table;
	struct series *dirty_head;
	size_t fill_values; /* values in fill buffers */
	size_t new_files;   /* series without a file among them */
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
	_Atomic bool healthy; /* the last pass wrote everything it had */

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

/* Writes go through rrdcached (store_open decides whether to start the
 * second writer on it). */
static inline bool use_cached(const struct store *st)
{
	return st->rrdcached != NULL;
}

/* The name librrd's client is given for a series' file: its path, or
 * over TCP its path below rrd_dir (relpath runs on into ".rrd"). */
static inline const char *series_name(const struct store *st, const struct series *s)
{
	return st->remote ? s->relpath : s->path;
}

/* store_series.c: a path below rrd_dir as topic_parse would let it
 * through; a new series in the table (its file's last update not read);
 * every series' last update time, saved at a clean stop and read back
 * (and removed) at the next start. */
bool store_valid_relpath(const char *r);
struct series *store_series_alloc(struct store *st, const char *relpath, enum series_kind kind);
void store_last_load(struct store *st);
void store_last_save(struct store *st);

/* store_vbuf.c: buffers the main thread fills and the writers consume. */
void store_vbuf_clear(struct vbuf *b);
int store_vbuf_reserve(struct vbuf *b, size_t need);
void store_vbuf_free(struct vbuf *b);
int store_vbuf_move(struct vbuf *dst, struct vbuf *src);
void store_vbuf_consume(struct vbuf *b, size_t k);

/* store_writer.c: the threads store_open() starts, each given the store. */
void *writer_main(void *arg);
void *writer_helper_main(void *arg);
void store_templates_free(struct wctx *w);

#endif
