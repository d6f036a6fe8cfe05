/* test-links: daemon/store.c daemon/store_series.c daemon/store_writer.c daemon/store_vbuf.c daemon/rrd_layout.c daemon/fsutil.c daemon/log.c daemon/rrdaddr.c */
/*
 * test_store.c: the RRD store against real RRD files in a temporary
 * directory, read back with librrd (rrd_info_r, rrd_fetch_r), and through
 * a real rrdcached started by the test and stopped by its PID.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <rrd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/store.h"

#define T0 1763884800.0 /* a multiple of 60 */

struct fixture {
	char dir[64];
	struct store_opts opts;
	struct store *st;
	pid_t rrdcached; /* 0: none running */
};

static int rm_rf(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) == -1)
		return 0;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;

		if (d == NULL)
			return -1;
		while ((e = readdir(d)) != NULL) {
			char sub[4096];

			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			rm_rf(sub);
		}
		closedir(d);
		return rmdir(path);
	}
	return unlink(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->opts.rrd_dir = f->dir;
	f->opts.heartbeat_s = 600;
	f->st = store_open(&f->opts);
	assert_non_null(f->st);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	if (f->rrdcached > 0) { /* a failed test left it running */
		kill(f->rrdcached, SIGTERM);
		waitpid(f->rrdcached, NULL, 0);
	}
	rm_rf(f->dir);
	free(f);
	return 0;
}

static void path_of(struct fixture *f, const char *rel, char *buf, size_t len)
{
	assert_int_equal(store_path(f->st, rel, buf, len), 0);
}

/* The last-update times a clean stop leaves for the next start. */
static void forget_saved_times(struct fixture *f)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/.last-updates", f->dir);
	assert_int_equal(unlink(p), 0);
}

/* The AVERAGE (or cf) value of the one-minute row ending at `t`. */
static double fetch_at(const char *path, const char *cf, time_t t)
{
	time_t start = t - 600, end = t + 60;
	unsigned long step = 60, ds_cnt;
	char **names;
	rrd_value_t *data;
	double v;
	long row;

	rrd_clear_error();
	if (rrd_fetch_r(path, cf, &start, &end, &step, &ds_cnt, &names, &data) != 0)
		fail_msg("rrd_fetch_r %s: %s", path, rrd_get_error());
	assert_int_equal(step, 60);
	assert_int_equal(ds_cnt, 1);
	row = (long)((t - start) / (time_t)step) - 1;
	assert_true(row >= 0);
	v = data[row];
	for (unsigned long i = 0; i < ds_cnt; i++)
		rrd_freemem(names[i]);
	rrd_freemem(names);
	rrd_freemem(data);
	return v;
}

static time_t file_last(const char *path)
{
	time_t t;

	rrd_clear_error();
	t = rrd_last_r(path);
	if (t <= 0)
		fail_msg("rrd_last_r %s: %s", path, rrd_get_error());
	return t;
}

static void test_create_layout(void **state)
{
	struct fixture *f = *state;
	char path[4096], qc[4096], der[4096];
	struct store_stats s;

	assert_int_equal(store_put(f->st, "lab1/fridge/temp", SERIES_GAUGE, T0 + 60, 4.2, 1),
			 STORE_QUEUED);
	assert_int_equal(store_put(f->st, "lab1/an/qc/glucose/L1", SERIES_QC, T0 + 60, 5.5, 2),
			 STORE_QUEUED);
	assert_int_equal(store_put(f->st, "lab1/an/runs", SERIES_DERIVE, T0 + 60, 10, 3),
			 STORE_QUEUED);
	assert_int_equal(store_sync(f->st), 0);
	path_of(f, "lab1/fridge/temp", path, sizeof(path));
	path_of(f, "lab1/an/qc/glucose/L1", qc, sizeof(qc));
	path_of(f, "lab1/an/runs", der, sizeof(der));

	rrd_info_t *info = rrd_info_r(path), *i;
	int seen = 0;

	assert_non_null(info);
	for (i = info; i != NULL; i = i->next) {
		if (strcmp(i->key, "step") == 0) {
			assert_int_equal(i->value.u_cnt, 60);
			seen++;
		} else if (strcmp(i->key, "ds[value].type") == 0) {
			assert_string_equal(i->value.u_str, "GAUGE");
			seen++;
		} else if (strcmp(i->key, "ds[value].minimal_heartbeat") == 0) {
			assert_int_equal(i->value.u_cnt, 600);
			seen++;
		} else if (strcmp(i->key, "rra[8].cf") == 0) {
			assert_string_equal(i->value.u_str, "MAX");
			seen++;
		} else if (strcmp(i->key, "rra[0].cf") == 0) {
			assert_string_equal(i->value.u_str, "MIN");
			seen++;
		} else if (strcmp(i->key, "rra[1].rows") == 0) {
			assert_int_equal(i->value.u_cnt, 2880);
			seen++;
		} else if (strcmp(i->key, "rra[4].rows") == 0) {
			assert_int_equal(i->value.u_cnt, 4032);
			seen++;
		} else if (strcmp(i->key, "rra[4].pdp_per_row") == 0) {
			assert_int_equal(i->value.u_cnt, 5);
			seen++;
		} else if (strcmp(i->key, "rra[7].rows") == 0) {
			assert_int_equal(i->value.u_cnt, 9504);
			seen++;
		} else if (strcmp(i->key, "rra[7].pdp_per_row") == 0) {
			assert_int_equal(i->value.u_cnt, 60);
			seen++;
		} else if (strcmp(i->key, "rra[7].xff") == 0) {
			assert_true(i->value.u_val == 0.5);
			seen++;
		} else if (strncmp(i->key, "rra[9]", 6) == 0) {
			fail_msg("more than 9 RRAs");
		}
	}
	assert_int_equal(seen, 11);
	rrd_info_free(info);

	info = rrd_info_r(qc);
	assert_non_null(info);
	for (i = info; i != NULL; i = i->next)
		if (strcmp(i->key, "ds[value].minimal_heartbeat") == 0)
			assert_int_equal(i->value.u_cnt, 259200);
	rrd_info_free(info);
	info = rrd_info_r(der);
	assert_non_null(info);
	for (i = info; i != NULL; i = i->next) {
		if (strcmp(i->key, "ds[value].type") == 0)
			assert_string_equal(i->value.u_str, "DERIVE");
		if (strcmp(i->key, "ds[value].min") == 0)
			assert_true(i->value.u_val == 0);
	}
	rrd_info_free(info);

	/* Created just before the first sample, which is its last update. */
	assert_int_equal(file_last(path), (time_t)T0 + 60);
	store_get_stats(f->st, &s);
	assert_int_equal(s.files_created, 3);
	assert_int_equal(s.written, 3);
	assert_int_equal(s.pending, 0);
	assert_int_equal(s.series, 3);
}

static void test_values_in_rows(void **state)
{
	struct fixture *f = *state;
	char path[4096];

	for (int k = 1; k <= 20; k++)
		assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60.0 * k, 1.5 * k, k),
				 STORE_QUEUED);
	assert_int_equal(store_sync(f->st), 0);
	path_of(f, "s/i/c", path, sizeof(path));
	for (int k = 2; k <= 20; k++) {
		assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 60 * k), 1.5 * k, 1e-9);
		assert_float_equal(fetch_at(path, "MIN", (time_t)T0 + 60 * k), 1.5 * k, 1e-9);
		assert_float_equal(fetch_at(path, "MAX", (time_t)T0 + 60 * k), 1.5 * k, 1e-9);
	}
}

static void test_fractional(void **state)
{
	struct fixture *f = *state;
	char path[4096];

	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60, 1, 1), STORE_QUEUED);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60.25, 2, 2), STORE_QUEUED);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60.5, 3, 3), STORE_QUEUED);
	/* Same millisecond as the last one: written as the same time. */
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60.5001, 3, 4), STORE_LATE);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 120, 4, 5), STORE_QUEUED);
	assert_int_equal(store_sync(f->st), 0);
	assert_float_equal(store_last_time(f->st, "s/i/c"), T0 + 120, 1e-9);
	path_of(f, "s/i/c", path, sizeof(path));
	/* (60,60.25]=2, (60.25,60.5]=3, (60.5,120]=4: time-weighted. */
	assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 120),
			   (0.25 * 2 + 0.25 * 3 + 59.5 * 4) / 60, 1e-9);
	assert_float_equal(fetch_at(path, "MAX", (time_t)T0 + 120),
			   (0.25 * 2 + 0.25 * 3 + 59.5 * 4) / 60, 1e-9);

	struct store_stats s;
	store_get_stats(f->st, &s);
	assert_int_equal(s.written, 4);
	assert_int_equal(s.late, 1);
}

static void test_late_and_duplicate(void **state)
{
	struct fixture *f = *state;
	char path[4096];
	struct store_stats s;

	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60, 1, 1), STORE_QUEUED);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 120, 2, 2), STORE_QUEUED);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 120, 99, 3), STORE_LATE);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 90, 99, 4), STORE_LATE);
	assert_int_equal(store_sync(f->st), 0);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 100, 99, 5), STORE_LATE);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 180, 3, 6), STORE_QUEUED);
	assert_int_equal(store_sync(f->st), 0);
	store_get_stats(f->st, &s);
	assert_int_equal(s.late, 3);
	assert_int_equal(s.queued, 3);
	assert_int_equal(s.written, 3);
	assert_int_equal(s.write_errors, 0);
	path_of(f, "s/i/c", path, sizeof(path));
	assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 120), 2, 1e-9);
	assert_float_equal(fetch_at(path, "MAX", (time_t)T0 + 180), 3, 1e-9);
	assert_int_equal(store_done_seq(f->st), 6);
	/* Bad input is an error, not a crash. */
	assert_int_equal(store_put(f->st, "s/../x", SERIES_GAUGE, T0 + 900, 1, 7), STORE_ERROR);
	assert_int_equal(store_put(f->st, "/abs", SERIES_GAUGE, T0 + 900, 1, 8), STORE_ERROR);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, NAN, 1, 9), STORE_ERROR);
}

static void test_many_series_coalesced(void **state)
{
	struct fixture *f = *state;
	char rel[64], path[4096];
	struct store_stats s;
	uint64_t seq = 0;

	/* Five samples per file; new series go to the writer 64 at a time
	 * (their files are made while samples go on arriving), the rest at
	 * store_sync. */
	for (int k = 1; k <= 5; k++)
		for (int i = 0; i < 300; i++) {
			snprintf(rel, sizeof(rel), "site%d/inst%d/ch", i % 7, i);
			assert_int_equal(store_put(f->st, rel, SERIES_GAUGE, T0 + 60.0 * k,
						   i + k / 10.0, ++seq),
					 STORE_QUEUED);
		}
	store_get_stats(f->st, &s);
	assert_int_equal(s.pending + s.written, 1500);
	assert_int_equal(store_sync(f->st), 0);
	store_get_stats(f->st, &s);
	assert_int_equal(s.series, 300);
	assert_int_equal(s.files_created, 300);
	assert_int_equal(s.written, 1500);
	assert_int_equal(s.pending, 0);
	assert_int_equal(store_done_seq(f->st), 1500);
	for (int i = 0; i < 300; i += 37) {
		snprintf(rel, sizeof(rel), "site%d/inst%d/ch", i % 7, i);
		path_of(f, rel, path, sizeof(path));
		for (int k = 2; k <= 5; k++)
			assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 60 * k),
					   i + k / 10.0, 1e-9);
		assert_int_equal(file_last(path), (time_t)T0 + 300);
	}
}

/* More than one rrd_update call's worth (CHUNK) for one file. */
static void test_big_batch(void **state)
{
	struct fixture *f = *state;
	char path[4096];
	struct store_stats s;

	for (int k = 1; k <= 2500; k++)
		assert_int_equal(store_put(f->st, "s/i/big", SERIES_GAUGE, T0 + 60.0 * k, k, k),
				 STORE_QUEUED);
	assert_int_equal(store_sync(f->st), 0);
	store_get_stats(f->st, &s);
	assert_int_equal(s.written, 2500);
	path_of(f, "s/i/big", path, sizeof(path));
	assert_int_equal(file_last(path), (time_t)T0 + 60 * 2500);
	assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 60 * 1001), 1001, 1e-9);
	assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 60 * 2500), 2500, 1e-9);
}

/* Values piling up past the memory bound (here 64k values; by default
 * 1 Mi, or 64 a series) go to the writer without a flush: under a heavy
 * load the writer works all the time instead of a minute's worth waiting
 * in memory. */
static void test_memory_bound_hands_over(void **state)
{
	struct fixture *f = *state;
	struct store_stats s;
	char rel[64];
	uint64_t seq = 0;

	store_close(f->st);
	f->opts.pending_min = 65536;
	assert_non_null(f->st = store_open(&f->opts));

	for (int k = 1; k <= 7000; k++)
		for (int i = 0; i < 10; i++) {
			snprintf(rel, sizeof(rel), "s/i/c%d", i);
			assert_int_equal(store_put(f->st, rel, SERIES_GAUGE, T0 + 60.0 * k, k, ++seq),
					 STORE_QUEUED);
		}
	for (int tries = 0; tries < 1000; tries++) { /* at most 10 s */
		store_get_stats(f->st, &s);
		if (s.written >= 65536)
			break;
		usleep(10000);
	}
	store_get_stats(f->st, &s);
	assert_true(s.written >= 65536);  /* handed over by the bound alone */
	assert_true(s.pending <= 70000 - 65536);
	assert_int_equal(store_sync(f->st), 0);
	store_get_stats(f->st, &s);
	assert_int_equal(s.written, 70000);
	assert_int_equal(store_done_seq(f->st), 70000);
}

/* Slices (store_flush_slices, the daemon's "store" timer): each hands
 * over only its share of the series, so one interval's writes are spread
 * over it; after STORE_SLICES of them every series is written, none
 * twice; a series whose file is to be made goes with whichever slice
 * comes first; done_seq holds back until the last slice. */
static void test_slices_spread(void **state)
{
	struct fixture *f = *state;
	enum { N = 600 };
	struct store_stats s;
	char rel[64];
	uint64_t seq = 0, written0, most = 0;

	for (int i = 0; i < N; i++) { /* the files, made */
		snprintf(rel, sizeof(rel), "s/i%d/c", i);
		assert_int_equal(store_put(f->st, rel, SERIES_GAUGE, T0 + 60, i, ++seq), STORE_QUEUED);
	}
	assert_int_equal(store_sync(f->st), 0);
	for (int i = 0; i < N; i++) {
		snprintf(rel, sizeof(rel), "s/i%d/c", i);
		assert_int_equal(store_put(f->st, rel, SERIES_GAUGE, T0 + 120, i, ++seq), STORE_QUEUED);
	}
	store_get_stats(f->st, &s);
	written0 = s.written;
	assert_int_equal(s.pending, N);
	for (unsigned k = 0; k < STORE_SLICES; k++) {
		uint64_t before = s.written;
		if (k == STORE_SLICES / 2) /* a new series: goes now, not with its slice */
			assert_int_equal(store_put(f->st, "s/new/c", SERIES_GAUGE, T0 + 120, 1, ++seq),
					 STORE_QUEUED);
		store_flush_slices(f->st, k, 1);
		assert_int_equal(store_drain(f->st), 0);
		store_get_stats(f->st, &s);
		if (s.written - before > most)
			most = s.written - before;
		if (k == STORE_SLICES / 2) {
			char path[4096];
			path_of(f, "s/new/c", path, sizeof(path));
			assert_int_equal(access(path, F_OK), 0);
		}
		if (k + 1 < STORE_SLICES)
			assert_true(store_done_seq(f->st) < seq); /* some still waiting */
	}
	store_get_stats(f->st, &s);
	assert_int_equal(s.written - written0, N + 1); /* each once */
	assert_int_equal(s.pending, 0);
	assert_int_equal(store_done_seq(f->st), seq);
	/* 600 series in 60 slices: about 10 a slice; none near all of them */
	assert_true(most < N / 6);
	/* count >= STORE_SLICES hands over everything at once */
	for (int i = 0; i < N; i++) {
		snprintf(rel, sizeof(rel), "s/i%d/c", i);
		assert_int_equal(store_put(f->st, rel, SERIES_GAUGE, T0 + 180, i, ++seq), STORE_QUEUED);
	}
	store_flush_slices(f->st, 7, STORE_SLICES);
	assert_int_equal(store_drain(f->st), 0);
	store_get_stats(f->st, &s);
	assert_int_equal(s.pending, 0);
	assert_int_equal(store_done_seq(f->st), seq);
}

static void test_done_seq(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_done_seq(f->st), 0);
	for (int k = 1; k <= 5; k++)
		store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60.0 * k, k, 10 + k);
	/* Nothing written yet: everything below the lowest pending seq. */
	assert_int_equal(store_done_seq(f->st), 10);
	store_flush(f->st);
	assert_true(store_done_seq(f->st) == 10 || store_done_seq(f->st) == 15);
	assert_int_equal(store_sync(f->st), 0);
	assert_int_equal(store_done_seq(f->st), 15);
	/* A late sample is done at once. */
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0, 0, 16), STORE_LATE);
	assert_int_equal(store_done_seq(f->st), 16);
	assert_int_equal(store_put(f->st, "s/i/d", SERIES_GAUGE, T0 + 60, 0, 17), STORE_QUEUED);
	assert_int_equal(store_done_seq(f->st), 16);
	assert_int_equal(store_sync(f->st), 0);
	assert_int_equal(store_done_seq(f->st), 17);
}

/* A directory that cannot be made (its name is taken by a regular file:
 * this fails for root too) keeps the samples pending and holds back
 * done_seq; once the way is clear the next flush writes them. */
static void test_unwritable_then_recovers(void **state)
{
	struct fixture *f = *state;
	char block[128], path[4096], ok[4096];
	struct store_stats s;
	int fd;

	snprintf(block, sizeof(block), "%s/blocked", f->dir);
	assert_true((fd = open(block, O_CREAT | O_WRONLY, 0644)) >= 0);
	close(fd);
	assert_int_equal(store_put(f->st, "blocked/inst/ch", SERIES_GAUGE, T0 + 60, 1, 1),
			 STORE_QUEUED);
	assert_int_equal(store_put(f->st, "blocked/inst/ch", SERIES_GAUGE, T0 + 120, 2, 2),
			 STORE_QUEUED);
	assert_int_equal(store_put(f->st, "fine/inst/ch", SERIES_GAUGE, T0 + 60, 7, 3),
			 STORE_QUEUED);
	assert_int_equal(store_sync(f->st), -1);
	assert_int_equal(store_done_seq(f->st), 0);
	store_get_stats(f->st, &s);
	assert_int_equal(s.pending, 2);
	assert_int_equal(s.written, 1);
	assert_true(s.write_errors >= 1);
	/* Still failing: more samples join the kept ones. */
	assert_int_equal(store_put(f->st, "blocked/inst/ch", SERIES_GAUGE, T0 + 180, 3, 4),
			 STORE_QUEUED);
	assert_int_equal(store_put(f->st, "fine/inst/ch", SERIES_GAUGE, T0 + 120, 8, 5),
			 STORE_QUEUED);
	assert_int_equal(store_sync(f->st), -1);
	assert_int_equal(store_done_seq(f->st), 0);
	store_get_stats(f->st, &s);
	assert_int_equal(s.pending, 3);

	assert_int_equal(unlink(block), 0);
	assert_int_equal(mkdir(block, 0755), 0);
	assert_int_equal(store_sync(f->st), 0);
	assert_int_equal(store_done_seq(f->st), 5);
	store_get_stats(f->st, &s);
	assert_int_equal(s.pending, 0);
	assert_int_equal(s.written, 5);
	path_of(f, "blocked/inst/ch", path, sizeof(path));
	path_of(f, "fine/inst/ch", ok, sizeof(ok));
	assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 120), 2, 1e-9);
	assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 180), 3, 1e-9);
	assert_float_equal(fetch_at(ok, "AVERAGE", (time_t)T0 + 120), 8, 1e-9);
}

static int count_aside(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char prefix[256];
	int n = 0;

	assert_non_null(d);
	snprintf(prefix, sizeof(prefix), "%s.corrupt-", base);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

/* A truncated file is moved aside and a new one created; the sample that
 * found it corrupt is written to the new file. */
static void test_corrupt_file(void **state)
{
	struct fixture *f = *state;
	char path[4096], dir[4096], empty[4096];
	int fd;

	for (int k = 1; k <= 3; k++)
		store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60.0 * k, k, k);
	assert_int_equal(store_sync(f->st), 0);
	store_close(f->st);
	snprintf(path, sizeof(path), "%s/s/i/c.rrd", f->dir);
	snprintf(dir, sizeof(dir), "%s/s/i", f->dir);
	assert_int_equal(truncate(path, 1000), 0);
	snprintf(empty, sizeof(empty), "%s/s/i/e.rrd", f->dir);
	assert_true((fd = open(empty, O_CREAT | O_WRONLY | O_TRUNC, 0644)) >= 0);
	close(fd);

	assert_non_null(f->st = store_open(&f->opts));
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 600, 6, 4), STORE_QUEUED);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 660, 7, 5), STORE_QUEUED);
	assert_int_equal(store_put(f->st, "s/i/e", SERIES_GAUGE, T0 + 60, 8, 6), STORE_QUEUED);
	assert_int_equal(store_sync(f->st), 0);
	assert_int_equal(count_aside(dir, "c.rrd"), 1);
	assert_int_equal(count_aside(dir, "e.rrd"), 1);
	assert_int_equal(file_last(empty), (time_t)T0 + 60);
	assert_int_equal(file_last(path), (time_t)T0 + 660);
	assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 660), 7, 1e-9);
	assert_int_equal(store_done_seq(f->st), 6);
}

/* After a restart the file's last update is read on first touch, so
 * samples already written are refused. */
static void test_restart_reads_last(void **state)
{
	struct fixture *f = *state;
	char path[4096];
	struct store_stats s;

	for (int k = 1; k <= 5; k++)
		store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60.0 * k, k, k);
	store_close(f->st);
	forget_saved_times(f); /* as after a crash: read from the file */
	assert_non_null(f->st = store_open(&f->opts));
	assert_true(isnan(store_last_time(f->st, "s/i/c")));
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 180, 99, 3), STORE_LATE);
	assert_float_equal(store_last_time(f->st, "s/i/c"), T0 + 300, 1e-9);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 300, 99, 5), STORE_LATE);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 360, 6, 6), STORE_QUEUED);
	assert_int_equal(store_sync(f->st), 0);
	store_get_stats(f->st, &s);
	assert_int_equal(s.late, 2);
	assert_int_equal(s.files_created, 0);
	path_of(f, "s/i/c", path, sizeof(path));
	assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 180), 3, 1e-9);
	assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 360), 6, 1e-9);
}

/* The file holds T0+60.5 but whole seconds are all rrd_last tells: a
 * sample at T0+60.25 is accepted by the store, refused by librrd, and
 * dropped as late; the one after it is still written. */
static void test_restart_subsecond(void **state)
{
	struct fixture *f = *state;
	char path[4096];
	struct store_stats s;

	store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60.5, 1, 1);
	store_close(f->st);
	forget_saved_times(f); /* as after a crash: read from the file */
	assert_non_null(f->st = store_open(&f->opts));
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60.25, 2, 2), STORE_QUEUED);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 120, 3, 3), STORE_QUEUED);
	assert_int_equal(store_sync(f->st), 0);
	store_get_stats(f->st, &s);
	assert_int_equal(s.late, 1);
	assert_int_equal(s.written, 1);
	assert_int_equal(s.pending, 0);
	assert_int_equal(store_done_seq(f->st), 3);
	path_of(f, "s/i/c", path, sizeof(path));
	assert_int_equal(file_last(path), (time_t)T0 + 120);
}

/* ---- through rrdcached ---- */

static pid_t start_rrdcached(const char *dir, char *addr, size_t addrlen)
{
	char sock[256], listen[300], pidfile[256], base[256];
	struct stat sb;
	pid_t pid;

	snprintf(sock, sizeof(sock), "%s/rrdcached.sock", dir);
	snprintf(listen, sizeof(listen), "unix:%s", sock);
	snprintf(pidfile, sizeof(pidfile), "%s/rrdcached.pid", dir);
	snprintf(base, sizeof(base), "%s", dir);
	snprintf(addr, addrlen, "unix:%s", sock);
	if (access("/usr/bin/rrdcached", X_OK) != 0 && access("/usr/sbin/rrdcached", X_OK) != 0)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		/* -g: foreground, so this child's PID is the daemon's. */
		execlp("rrdcached", "rrdcached", "-g", "-l", listen, "-p", pidfile, "-b", base, "-B",
		       "-F", "-w", "3600", "-f", "7200", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (stat(sock, &sb) == 0)
			return pid;
		usleep(20000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return -1;
}

static void test_rrdcached(void **state)
{
	struct fixture *f = *state;
	char addr[300], path[4096], cdir[128];
	struct store_stats s;
	pid_t pid;
	int status;

	snprintf(cdir, sizeof(cdir), "%s/cached", f->dir);
	assert_int_equal(mkdir(cdir, 0755), 0);
	if ((pid = start_rrdcached(cdir, addr, sizeof(addr))) == -1)
		fail_msg("cannot start rrdcached (apt-get install rrdcached)");
	f->rrdcached = pid;
	store_close(f->st);
	f->opts.rrd_dir = cdir;
	f->opts.rrdcached = addr;
	f->st = store_open(&f->opts);
	assert_non_null(f->st);
	for (int k = 1; k <= 10; k++)
		assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 60.0 * k, 2.5 * k, k),
				 STORE_QUEUED);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 600.5, 30, 11),
			 STORE_QUEUED);
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 600.75, 31, 12),
			 STORE_QUEUED);
	assert_int_equal(store_put(f->st, "s/i/q", SERIES_QC, T0 + 60, 5.5, 13), STORE_QUEUED);
	assert_int_equal(store_sync(f->st), 0);
	store_get_stats(f->st, &s);
	assert_int_equal(s.written, 13);
	assert_int_equal(s.files_created, 2);
	assert_int_equal(store_done_seq(f->st), 13);
	store_close(f->st);
	f->st = NULL;

	/* -F: rrdcached writes everything to the files when it stops. */
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	f->rrdcached = 0;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof(path), "%s/s/i/c.rrd", cdir);
	assert_int_equal(file_last(path), (time_t)T0 + 600);
	for (int k = 2; k <= 10; k++)
		assert_float_equal(fetch_at(path, "AVERAGE", (time_t)T0 + 60 * k), 2.5 * k, 1e-9);

	/* Restart with the daemon gone: direct writes see the same file. */
	f->opts.rrdcached = NULL;
	assert_non_null(f->st = store_open(&f->opts));
	assert_int_equal(store_put(f->st, "s/i/c", SERIES_GAUGE, T0 + 540, 1, 14), STORE_LATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_values_in_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fractional, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_and_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_series_coalesced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_bound_hands_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slices_spread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_then_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_reads_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_subsecond, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rrdcached, setup, teardown),
	};

	log_init("test_store", true, 2);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
