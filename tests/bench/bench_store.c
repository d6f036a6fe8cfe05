/*
 * bench_store.c: samples per second through store_put + store_sync,
 * direct librrd writes to real files.
 *
 * Build: cc -O2 -std=c11 -D_GNU_SOURCE -I. -Idaemon -Irules -Icollectors \
 *	$(pkg-config --cflags libcjson) tests/bench/bench_store.c daemon/store.c \
 *	daemon/store_writer.c daemon/log.c -lrrd -lpthread -lm -o build/bench_store
 * Each run: a fresh directory under $TMPDIR (default /tmp), 1,000 series
 * whose files are created by one untimed sample each, then 60 one-minute
 * samples per series put in time order (as the daemon sees them) and
 * written with one store_sync (60 values per rrd_update call). Median of
 * 3 runs. Prints one markdown table row.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/store.h"

#include "tests/bench/bench_clock.h"

#define SERIES 1000
#define SAMPLES 60
#define REPEATS 3
#define T0 1763884800.0

static void rm_rf(const char *path)
{
	struct stat sb;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &sb) == -1)
		return;
	if (!S_ISDIR(sb.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char sub[4096];

			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			rm_rf(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static int run(double *rate)
{
	static char rel[SERIES][48];
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	struct store_opts opts = {.heartbeat_s = 600};
	struct store *st;
	uint64_t seq = 0;
	double t0;
	int rc;

	snprintf(dir, sizeof(dir), "%s/bench_store.XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	opts.rrd_dir = dir;
	if ((st = store_open(&opts)) == NULL)
		return -1;
	for (int i = 0; i < SERIES; i++) {
		snprintf(rel[i], sizeof(rel[i]), "site%d/inst%d/ch%d", i % 4, i / 10, i % 10);
		store_put(st, rel[i], SERIES_GAUGE, T0, i, ++seq);
	}
	if (store_sync(st) == -1)
		return -1;

	t0 = now_s();
	for (int k = 1; k <= SAMPLES; k++)
		for (int i = 0; i < SERIES; i++)
			if (store_put(st, rel[i], SERIES_GAUGE, T0 + 60.0 * k, i + k * 0.01, ++seq) !=
			    STORE_QUEUED)
				return -1;
	rc = store_sync(st);
	*rate = (double)SERIES * SAMPLES / (now_s() - t0);
	store_close(st);
	rm_rf(dir);
	return rc;
}

int main(void)
{
	double rate[REPEATS];

	log_init("bench_store", true, 1);
	for (int rep = 0; rep < REPEATS; rep++)
		if (run(&rate[rep]) == -1) {
			fprintf(stderr, "bench_store: run %d failed\n", rep);
			return 1;
		}
	qsort(rate, REPEATS, sizeof(rate[0]), cmp_double);
	printf("| store_put + store_sync (1k series x 60 samples, direct librrd) | %.0f samples/s | "
	       "median of %d, one rrd_update per file |\n",
	       rate[REPEATS / 2], REPEATS);
	return 0;
}
