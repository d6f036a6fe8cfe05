/*
 * bench_snapshot.c: what the dashboard's snapshot (dashboard_build) costs
 * the main thread at a large site. The daemon builds one every
 * dashboard_interval on the thread that takes the broker's messages, so
 * its time is time no message is taken.
 *
 * Build: make build/bench_snapshot (links build/obj/liblabqcd.a).
 * Each case: a labqcd state of 100,000 channels in 1,000 instruments of
 * one site (as `labsim --load` names them: channel j on instrument j %
 * 1000), each with one sample, and a number of firing stale alerts, one
 * per channel from the first; no RRD file, no rules (auto-discovered
 * channels), the config empty but for its directories under $TMPDIR.
 * The snapshot is built and freed 5 times; the median is printed as one
 * markdown table row per case.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/labqcd.h"
#include "dashboards/dashboards.h"

#include "tests/bench/bench_clock.h"

#define CHANNELS 100000
#define INSTRUMENTS 1000
#define REPEATS 5
#define T0 1763884800.0

static struct config *empty_config(const char *dir)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/labqcd.yaml", dir);
	if ((f = fopen(path, "w")) == NULL)
		return NULL;
	fprintf(f, "daemon:\n  state_dir: %s/state\n  rrd_dir: %s/rrd\n  www_dir: %s/www\n", dir,
		dir, dir);
	fclose(f);
	return config_load(path, stderr);
}

static int fire_stale(struct alerts *a, size_t j)
{
	struct alert_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = ALERT_EQUIPMENT;
	snprintf(ev.site, sizeof(ev.site), "load");
	snprintf(ev.instrument, sizeof(ev.instrument), "ins-%zu", j % INSTRUMENTS);
	snprintf(ev.channel, sizeof(ev.channel), "ch-%zu", j);
	snprintf(ev.rule, sizeof(ev.rule), "stale");
	snprintf(ev.key, sizeof(ev.key), "%s/%s/%s/stale", ev.site, ev.instrument, ev.channel);
	ev.state = ALERT_FIRING;
	ev.severity = SEV_WARNING;
	ev.value = NAN;
	snprintf(ev.summary, sizeof(ev.summary), "no sample for 10m");
	ev.t = ev.since = T0 + 600;
	return alerts_transition(a, &ev);
}

/* The median time of a snapshot with `alerts` stale alerts firing; the
 * snapshot's channel and alert counts checked against what was made. */
static int one_case(const char *dir, size_t alerts)
{
	struct labqcd d;
	struct config *cfg = empty_config(dir);
	double times[REPEATS];
	int rc = -1;

	memset(&d, 0, sizeof(d));
	if (cfg == NULL)
		return -1;
	d.cfg = cfg;
	d.replay = true; /* nothing to send */
	struct alerts_opts ao = {.state_dir = cfg->daemon.state_dir};
	if ((d.alerts = alerts_open(cfg, NULL, &ao)) == NULL)
		goto out;
	for (size_t j = 0; j < CHANNELS; j++) {
		char ins[32], ch[32];
		snprintf(ins, sizeof(ins), "ins-%zu", j % INSTRUMENTS);
		snprintf(ch, sizeof(ch), "ch-%zu", j);
		equipment_sample(&d, 0, "load", ins, ch, (double)j, T0);
	}
	for (size_t j = 0; j < alerts; j++)
		if (fire_stale(d.alerts, j) != 0)
			goto out;
	for (int r = 0; r < REPEATS; r++) {
		double t0 = now_s();
		struct dash_snapshot *s = dashboard_build(&d, T0 + 660);
		times[r] = now_s() - t0;
		if (s == NULL)
			goto out;
		size_t n_ins = 0, n_ch = 0, n_al = 0;
		for (size_t i = 0; i < s->n_instruments; i++, n_ins++) {
			n_ch += s->instruments[i].n_channels;
			n_al += s->instruments[i].n_alerts;
		}
		dash_snapshot_free(s);
		if (n_ins != INSTRUMENTS || n_ch != CHANNELS || n_al != alerts) {
			fprintf(stderr, "bench_snapshot: %zu instruments, %zu channels, %zu alerts\n",
				n_ins, n_ch, n_al);
			goto out;
		}
	}
	qsort(times, REPEATS, sizeof(times[0]), cmp_double);
	printf("| dashboard snapshot on the main thread: 100k channels in 1,000 instruments, "
	       "%zu alerts firing | %.1f ms | median of %d |\n",
	       alerts, times[REPEATS / 2] * 1e3, REPEATS);
	rc = 0;
out:
	if (d.alerts)
		alerts_close(d.alerts);
	equipment_free(&d);
	config_free(cfg);
	return rc;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[512];
	static const size_t cases[] = {1000, CHANNELS};

	log_init("bench_snapshot", true, LOG_LVL_WARNING);
	snprintf(dir, sizeof(dir), "%s/bench_snapshot.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (one_case(dir, cases[i]) != 0) {
			fprintf(stderr, "bench_snapshot: case %zu failed\n", i);
			return 1;
		}
	/* state/, alerts.json: nothing saved, so only the config to remove */
	char path[600];
	snprintf(path, sizeof(path), "%s/labqcd.yaml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state", dir);
	rmdir(path);
	rmdir(dir);
	return 0;
}
