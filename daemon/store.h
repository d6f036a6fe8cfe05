/*
 * store.h: the RRD store (DESIGN section 6).
 *
 * One RRD file per series, <rrd_dir>/<relpath>.rrd, created on its first
 * sample with the configured layout (struct cfg_rrd, the `rrd:` section;
 * DESIGN's by default: step 60 s, GAUGE (or DERIVE), MIN/AVERAGE/MAX RRAs
 * at 1 min for 2 days, 5 min for 2 weeks, 1 h for 13 months). Files that
 * exist keep their own layout; a change is noted once in the log.
 *
 * Threads: store_put() is called by the main loop only; it checks the
 * timestamp against the series' last one (late or duplicate samples are
 * counted and refused, never handed to librrd) and appends to the
 * series' pending buffer, with no I/O and no lock. store_flush() moves
 * every pending buffer into a batch for the writer thread (one mutex,
 * held only for the hand-over) and returns at once; the writer creates
 * missing files (so no sample is lost while a file is being created) and
 * writes each file's values with one rrd_update_r() call (or rrdc_update()
 * through rrdcached; over TCP, followed by rrdc_flush: see store.c,
 * "Remote mode"). A write that fails (disk full, read-only) keeps its
 * values and is retried on the next flush; the failure is logged once
 * through complain().
 *
 * Journal coupling: every sample carries the journal sequence number of
 * the message it came from. store_done_seq() is the highest seq S such
 * that every sample with seq <= S has been written to its file, so the
 * daemon may drop journal segments up to S.
 */
#ifndef LABQCD_STORE_H
#define LABQCD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h" /* struct cfg_rrd */

enum series_kind {
	SERIES_GAUGE = 0, /* telemetry: heartbeat = opts.heartbeat_s */
	SERIES_DERIVE,    /* counters where a rate is wanted */
	SERIES_QC,        /* QC results: GAUGE with a long heartbeat (3 days) */
};

struct store_opts {
	const char *rrd_dir;   /* must exist or be creatable */
	const char *rrdcached; /* NULL or "" = write files directly; see daemon/rrdaddr.h */
	/* Over TCP (remote mode) rrd_dir is rrdcached's -b on the storage
	 * host, not a local directory: the store's own notes (.layout,
	 * .last-updates) go to notes_dir, this instance's (state_dir). */
	const char *notes_dir;
	double heartbeat_s;    /* telemetry heartbeat, e.g. 600 (the layout's when it has one) */
	const struct cfg_rrd *layout; /* NULL = DESIGN's (config_rrd_defaults) */
	size_t pending_min;    /* values waiting before the memory bound hands them
				* to the writer (at least 64 a series); 0 = 1 Mi */
};

struct store_stats {
	uint64_t queued;      /* samples accepted by store_put */
	uint64_t written;     /* samples written to files */
	uint64_t late;        /* refused: timestamp <= the series' last */
	uint64_t write_errors; /* failed rrd_update/rrd_create calls */
	uint64_t files_created;
	uint64_t pending;     /* samples queued, not yet written */
	size_t series;        /* series known */
};

enum store_put_result { STORE_QUEUED = 0, STORE_LATE = 1, STORE_ERROR = -1 };

struct store;

/* Open the store and start its writer thread. NULL with errno on error. */
struct store *store_open(const struct store_opts *opts);

/*
 * Queue one sample for `relpath` ("site/instrument/channel" or
 * "site/instrument/qc/analyte/level"; components already validated by
 * topic_parse, so no ".." can appear). `t` is epoch seconds, fractions
 * kept. For a series not seen since start, the last timestamp is read
 * from its file if it exists. Returns STORE_QUEUED, STORE_LATE (t is not
 * after the series' last accepted sample: counted, dropped) or
 * STORE_ERROR (errno set).
 */
enum store_put_result store_put(struct store *st, const char *relpath, enum series_kind kind,
				double t, double value, uint64_t seq);

/* Hand all pending samples to the writer thread; returns at once. */
void store_flush(struct store *st);

/*
 * Every series belongs to one of STORE_SLICES slices (by its path's
 * hash). store_flush_slices() hands over the pending samples of `count`
 * slices from `from` on (mod STORE_SLICES; count >= STORE_SLICES: all),
 * and of every series whose file is still to be made; returns at once.
 * The daemon calls it STORE_SLICES times a flush_interval, so that each
 * series is written once an interval, as with one store_flush(), but the
 * files' writes (and the pages they dirty: ~4 GB a pass over 100k files
 * of DESIGN's layout) are spread over the interval instead of one burst.
 */
#define STORE_SLICES 60
void store_flush_slices(struct store *st, unsigned from, unsigned count);

/* Wait until the writers have tried what was handed over so far, handing
 * over nothing more. 0 if all was written. */
int store_drain(struct store *st);

/* store_flush(), then wait until the writer has tried every one of them
 * (written, or kept for retry after an error). 0 if all were written. */
int store_sync(struct store *st);

/* See the header comment. */
uint64_t store_done_seq(const struct store *st);

/* The writers are behind by more than two hand-overs' worth of values
 * while writing fine: the caller stops taking input until they catch up
 * (so memory stays bounded). False while writes fail (disk full): input,
 * and the alerts it drives, go on; values wait in memory for the retry. */
bool store_backlogged(const struct store *st);

void store_get_stats(const struct store *st, struct store_stats *out);

/* Last accepted timestamp of a series, or NAN if none (for tests and
 * the dashboard). */
double store_last_time(struct store *st, const char *relpath);

/* Full path of a series' file into buf: <rrd_dir>/<relpath>.rrd. */
int store_path(const struct store *st, const char *relpath, char *buf, size_t len);

/* store_sync(), stop the writer thread, free everything. */
void store_close(struct store *st);

#endif
