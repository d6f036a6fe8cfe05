/* test-links: dashboards/dashboards.c dashboards/fnv.c daemon/clock.c dashboards/html_common.c dashboards/html_sections.c dashboards/html_index.c dashboards/html_instrument.c dashboards/html_wall.c dashboards/html_history.c dashboards/html_graphs.c dashboards/history.c dashboards/sparkline.c collectors/timefmt.c dashboards/sbuf.c collectors/topic.c dashboards/graph.c dashboards/graph_data.c dashboards/png_write.c dashboards/graph_frame.c dashboards/ljchart.c dashboards/snapshot.c daemon/fsutil.c daemon/log.c rules/severity.c daemon/rrdaddr.c dashboards/html_fleet.c */
/*
 * The dashboard end to end, as a person opening it would check it: real
 * RRD files holding a day of data for three channels (written with
 * librrd), a snapshot with two sites and one QC analyte of two levels
 * with a rejected run, a lot change and a target change; dash_render()
 * must write every page and image, every PNG must decode at its
 * documented size, every link must lead to a file, `tidy -q -e` must
 * find nothing, and a second render with nothing changed must draw no
 * graph, while one new sample redraws just that channel's day graph.
 *
 * With DASH_TEST_OUT=DIR (e.g. build/test-render) the site is built in
 * DIR and left there, for tests/browser/check.mjs; otherwise in a
 * mkdtemp directory that is removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cairo.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <math.h>
#include <rrd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dashboards/dash_int.h"
#include "dashboards/dashboards.h"
#include "dashboards/graph_frame.h" /* the layout: where the plot area is */
#include "daemon/fsutil.h"

/* fontconfig keeps caches for the life of the process. Nothing else is
 * suppressed: librrd's per-graph leaks are avoided by graph.c (see there)
 * and test_graph_no_leak checks it. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}

#if defined(__SANITIZE_ADDRESS__)
#define RENDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RENDER_ASAN 1
#endif
#endif
#ifdef RENDER_ASAN
/* From <sanitizer/allocator_interface.h> and <sanitizer/lsan_interface.h>,
 * which not every compiler installs. */
size_t __sanitizer_get_current_allocated_bytes(void);
int __lsan_do_recoverable_leak_check(void);
#else
#include <malloc.h>
#endif

/* Bytes the process has allocated and not freed, by ASan's allocator when
 * it replaces malloc, else by glibc's. */
static size_t heap_in_use(void)
{
#ifdef RENDER_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

/* Sunday 2025-11-23 08:00:00 UTC. */
#define NOW 1763884800.0

struct fixture {
	char base[512];
	char rrd_dir[600];
	char www_dir[600];
	bool keep;
	struct dash_snapshot *snap;
};

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A day of one-minute samples, f(minute) -> value, into a fresh RRD. */
static void make_rrd(const char *rrd_dir, const char *relpath, double (*f)(int))
{
	char path[1024], dir[1024];
	const char *create_argv[] = {
	    "DS:value:GAUGE:600:U:U", "RRA:MIN:0.5:1:2880",  "RRA:AVERAGE:0.5:1:2880",
	    "RRA:MAX:0.5:1:2880",     "RRA:MIN:0.5:5:4032",  "RRA:AVERAGE:0.5:5:4032",
	    "RRA:MAX:0.5:5:4032",     "RRA:MIN:0.5:60:9504", "RRA:AVERAGE:0.5:60:9504",
	    "RRA:MAX:0.5:60:9504",
	};
	enum { N = 1440 };
	char **upd = calloc(N, sizeof(*upd));

	assert_non_null(upd);
	snprintf(path, sizeof(path), "%s/%s", rrd_dir, relpath);
	snprintf(dir, sizeof(dir), "%s", path);
	assert_int_equal(fs_mkdir_p(dirname(dir), 0755), 0);
	assert_int_equal(rrd_create_r(path, 60, (time_t)(NOW - 86400 - 60),
	                              (int)(sizeof(create_argv) / sizeof(create_argv[0])),
	                              create_argv),
	                 0);
	for (int i = 0; i < N; i++) {
		upd[i] = malloc(64);
		assert_non_null(upd[i]);
		snprintf(upd[i], 64, "%ld:%.3f", (long)(NOW - 86400 + 60.0 * i), f(i));
	}
	if (rrd_update_r(path, NULL, N, (const char **)upd) != 0)
		fail_msg("rrd_update_r: %s", rrd_get_error());
	for (int i = 0; i < N; i++)
		free(upd[i]);
	free(upd);
}

static double temp_fn(int m)
{
	/* 5 C with the door-opening wiggle, and an excursion to 9.3 C for the
	 * last 40 minutes: the alarm the page shows. */
	return m > 1400 ? 9.3 : 5.0 + 0.8 * sin(m / 45.0) + 0.3 * sin(m / 7.0);
}

static double humidity_fn(int m)
{
	return 45 + 5 * sin(m / 200.0);
}

static double vibration_fn(int m)
{
	return 1.0 + 0.002 * m / 10.0 + 0.2 * sin(m / 13.0);
}

static void add_levels(struct dash_qc_analyte *a)
{
	static const char *names[] = {"L1", "L2"};
	static const double means[] = {100, 250}, sds[] = {2.5, 5.0};

	for (int k = 0; k < 2; k++) {
		struct dash_qc_level *l = dash_snap_add_level(a, names[k], means[k], sds[k]);

		assert_non_null(l);
		for (int i = 0; i < 24; i++) {
			/* Two runs a day for 12 days; run 17 is rejected (1-3s on
			 * L1 and 2-2s across levels), run 9 a 1-2s warning. */
			double t = NOW - (24 - i) * 43200.0 + 3600;
			double z = 0.9 * sin(i * 1.7 + k);
			enum dash_qc_status st = DASH_QC_ACCEPT;
			const char *rules = "";
			char run[16];

			if (i == 9 && k == 0) {
				z = 2.3;
				st = DASH_QC_WARNING;
				rules = "1-2s";
			} else if (i == 9) {
				st = DASH_QC_WARNING;
				rules = "1-2s";
			}
			if (i == 17) {
				z = k == 0 ? 3.4 : 2.2;
				st = DASH_QC_REJECT;
				rules = k == 0 ? "1-3s 2-2s" : "2-2s";
			}
			snprintf(run, sizeof(run), "r%d", i);
			assert_non_null(dash_snap_add_result(l, t, means[k] + z * sds[k], z, st,
			                                     run, i < 12 ? "A1" : "B2", rules));
		}
		assert_non_null(
		    dash_snap_add_change(l, NOW - 12 * 43200.0 + 1800, DASH_CHANGE_LOT, "lot B2"));
		assert_non_null(dash_snap_add_change(l, NOW - 5 * 43200.0 + 1800,
		                                     DASH_CHANGE_TARGET, "new mean/sd"));
	}
}

static struct dash_snapshot *make_snapshot(void)
{
	struct dash_snapshot *s = dash_snapshot_new(NOW);
	struct dash_instrument *in;
	struct dash_channel *c;
	struct dash_qc_analyte *a;

	assert_non_null(s);
	in = dash_snap_add_instrument(s, "main", "fridge-02", "Specimen receiving <room 1>",
	                              DASH_ALARM);
	c = dash_snap_add_channel(in, "temp", "C", "main/fridge-02/temp.rrd");
	c->min = 2;
	c->max = 8;
	c->warning_min = 3;
	c->warning_max = 7;
	c->last_value = 9.3;
	c->last_time = NOW;
	c = dash_snap_add_channel(in, "humidity", "%RH", "main/fridge-02/humidity.rrd");
	c->warning_max = 60;
	c->last_value = 45;
	c->last_time = NOW;
	/* Configured but no sample stored yet: listed, no graph. */
	dash_snap_add_channel(in, "door", "", "main/fridge-02/door.rrd");
	dash_snap_add_alert(in, "main/fridge-02/temp/range", SEV_CRITICAL, "firing", NOW - 2400,
	                    "temp 9.3 C above max 8 C for 40 min", NULL, NULL);
	dash_snap_add_due(in, "calibration", NOW + 5 * 86400);
	dash_snap_add_event(in, NOW - 7200, "door opened & closed by \"night shift\"");

	in = dash_snap_add_instrument(s, "main", "centrifuge-01", "", DASH_OK);
	c = dash_snap_add_channel(in, "vibration", "mm/s", "main/centrifuge-01/vibration.rrd");
	c->max = 2.5;
	c->last_value = 1.3;
	c->last_time = NOW;
	dash_snap_add_due(in, "service run_count", NOW + 40 * 86400);
	dash_snap_add_due(in, "task daily-clean", NOW - 3600);

	in = dash_snap_add_instrument(s, "main", "chem-01", "Core lab", DASH_ALARM);
	a = dash_snap_add_analyte(in, "glucose", DASH_QC_REJECT);
	add_levels(a);
	dash_snap_add_alert(in, "main/chem-01/glucose/qc", SEV_CRITICAL, "firing", NOW - 4 * 43200,
	                    "run r17 rejected: 1-3s 2-2s", "qc-lead", "recalibrated, rerun ok");

	in = dash_snap_add_instrument(s, "annex", "incubator-01", "Annex B", DASH_MAINTENANCE);
	dash_snap_add_event(in, NOW - 600, "maintenance_start by biomed");
	/* A name that is no valid identity: on the index, no page, no files. */
	dash_snap_add_instrument(s, "annex", "<script>alert(1)</script>", "", DASH_STALE);
	return s;
}

static int setup_in(void **state, const char *out)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	setenv("TZ", "UTC", 1);
	if (out && out[0]) {
		snprintf(f->base, sizeof(f->base), "%s", out);
		nftw(f->base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		assert_int_equal(fs_mkdir_p(f->base, 0755), 0);
		f->keep = true;
	} else {
		snprintf(f->base, sizeof(f->base), "/tmp/labqcd-render-XXXXXX");
		assert_non_null(mkdtemp(f->base));
	}
	snprintf(f->rrd_dir, sizeof(f->rrd_dir), "%s/rrd", f->base);
	snprintf(f->www_dir, sizeof(f->www_dir), "%s/www", f->base);
	make_rrd(f->rrd_dir, "main/fridge-02/temp.rrd", temp_fn);
	make_rrd(f->rrd_dir, "main/fridge-02/humidity.rrd", humidity_fn);
	make_rrd(f->rrd_dir, "main/centrifuge-01/vibration.rrd", vibration_fn);
	f->snap = make_snapshot();
	*state = f;
	return 0;
}

static int setup_kept(void **state)
{
	return setup_in(state, getenv("DASH_TEST_OUT"));
}

static int setup(void **state)
{
	return setup_in(state, NULL);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dash_snapshot_free(f->snap);
	if (!f->keep)
		nftw(f->base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- checks over the written site ---- */

static char **found;
static size_t n_found;

static int collect_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_F) {
		found = realloc(found, (n_found + 1) * sizeof(*found));
		assert_non_null(found);
		found[n_found++] = strdup(path);
	}
	return 0;
}

static void collect(const char *dir)
{
	for (size_t i = 0; i < n_found; i++)
		free(found[i]);
	free(found);
	found = NULL;
	n_found = 0;
	assert_int_equal(nftw(dir, collect_cb, 16, FTW_PHYS), 0);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void check_png(const char *path, int w, int h)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(path);

	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
		fail_msg("%s: %s", path, cairo_status_to_string(cairo_surface_status(s)));
	if (cairo_image_surface_get_width(s) != w || cairo_image_surface_get_height(s) != h)
		fail_msg("%s: %dx%d, expected %dx%d", path, cairo_image_surface_get_width(s),
		         cairo_image_surface_get_height(s), w, h);
	cairo_surface_destroy(s);
}

/* Every href="..." and src="..." of an HTML file names an existing file. */
static int check_links(const char *html_path)
{
	char *text, dir[1024], target[2048];
	size_t len;
	int links = 0;

	assert_int_equal(fs_read_all(html_path, &text, &len), 0);
	snprintf(dir, sizeof(dir), "%s", html_path);
	dirname(dir);
	for (const char *p = text; (p = strstr(p, "=\"")) != NULL; p += 2) {
		const char *attr = p;
		const char *end;
		struct stat st;

		if (!(attr - text >= 4 && strncmp(attr - 4, "href", 4) == 0) &&
		    !(attr - text >= 3 && strncmp(attr - 3, "src", 3) == 0))
			continue;
		end = strchr(p + 2, '"');
		assert_non_null(end);
		if (strncmp(p + 2, "http", 4) == 0 || p[2] == '/')
			fail_msg("%s: link not relative: %.*s", html_path, (int)(end - p - 2),
			         p + 2);
		/* A fragment (#day) names a place in the page. */
		const char *hash = memchr(p + 2, '#', (size_t)(end - p - 2));
		if (hash)
			end = hash;
		snprintf(target, sizeof(target), "%s/%.*s", dir, (int)(end - p - 2), p + 2);
		if (stat(target, &st) != 0 || !S_ISREG(st.st_mode))
			fail_msg("%s: broken link %s", html_path, target);
		links++;
	}
	free(text);
	return links;
}

/* Run `tidy -q -e FILE` (no shell); return its output, which must be empty. */
static void check_tidy(const char *html_path)
{
	int pipefd[2], status;
	char out[4096];
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execlp("tidy", "tidy", "-q", "-e", html_path, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], out + used, sizeof(out) - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || used > 0)
		fail_msg("tidy %s (exit %d):\n%s", html_path,
		         WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
}

static void test_render_site(void **state)
{
	struct fixture *f = *state;
	struct dash *d = dash_new(f->www_dir, f->rrd_dir);
	struct dash_stats st;
	char path[1024];
	int pngs = 0, pages = 0, links = 0;

	assert_non_null(d);
	assert_int_equal(dash_render(d, f->snap, NOW, &st), 0);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.graphs_written, 9); /* 3 channels with data x day/week/month */
	assert_int_equal(st.sparklines_written, 3);
	assert_int_equal(st.full_written, 12); /* 3 channels x day/week/month/year */
	assert_int_equal(st.charts_written, 2); /* glucose L1, L2 */
	/* index, wall, wall-dark, history; 4 valid instruments x (page,
	 * history); a graphs page for each of the 4 channels with a file
	 * name (door has no data: its page says so) */
	assert_int_equal(st.pages_written, 4 + 8 + 4);
	assert_int_equal(st.channels_waiting, 0); /* door has no sample either */
	assert_true(st.oldest_day_graph_s == 0 && st.day_graphs_behind == 0);

	static const char *expect[] = {
	    "index.html",
	    "main/fridge-02/index.html",
	    "main/fridge-02/temp-day.png",
	    "main/fridge-02/temp-week.png",
	    "main/fridge-02/temp-month.png",
	    "main/fridge-02/humidity-day.png",
	    "main/centrifuge-01/vibration-month.png",
	    "main/chem-01/index.html",
	    "main/chem-01/qc/glucose/L1.png",
	    "main/chem-01/qc/glucose/L2.png",
	    "annex/incubator-01/index.html",
	    "wall.html",
	    "wall-dark.html",
	    "history.html",
	    "main/fridge-02/history.html",
	    "main/fridge-02/temp-graphs.html",
	    "main/fridge-02/temp-spark.png",
	    "main/fridge-02/temp-year-full.png",
	};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->www_dir, expect[i]);
		if (access(path, R_OK) != 0)
			fail_msg("missing %s", path);
	}
	snprintf(path, sizeof(path), "%s/main/fridge-02/door-day.png", f->www_dir);
	assert_int_not_equal(access(path, F_OK), 0);

	collect(f->www_dir);
	for (size_t i = 0; i < n_found; i++) {
		if (strstr(found[i], ".tmp."))
			fail_msg("temporary file left: %s", found[i]);
		if (ends_with(found[i], ".png")) {
			if (strstr(found[i], "/qc/"))
				check_png(found[i], DASH_LJ_W, DASH_LJ_H);
			else if (ends_with(found[i], "-spark.png"))
				check_png(found[i], DASH_SPARK_W, DASH_SPARK_H);
			else if (ends_with(found[i], "-full.png"))
				check_png(found[i], DASH_FULL_W, DASH_FULL_H);
			else
				check_png(found[i], DASH_GRAPH_W, DASH_GRAPH_H);
			pngs++;
		} else if (ends_with(found[i], ".html")) {
			links += check_links(found[i]);
			check_tidy(found[i]);
			pages++;
		}
	}
	assert_int_equal(pngs, 9 + 2 + 3 + 12);
	assert_int_equal(pages, 16);
	assert_true(links >= 4 + 4 + 9 + 2 + 3 + 12); /* + sparklines, full-size graphs */

	/* The hostile name is shown, escaped, never run. */
	{
		char *text;
		size_t len;

		snprintf(path, sizeof(path), "%s/index.html", f->www_dir);
		assert_int_equal(fs_read_all(path, &text, &len), 0);
		assert_null(strstr(text, "<script"));
		assert_non_null(strstr(text, "&lt;script&gt;alert(1)&lt;/script&gt;"));
		free(text);
	}

	/* Nothing changed: nothing redrawn. */
	assert_int_equal(dash_render(d, f->snap, NOW, &st), 0);
	assert_int_equal(st.graphs_written, 0);
	assert_int_equal(st.graphs_skipped, 9 + 12);
	assert_int_equal(st.sparklines_written, 0);
	assert_int_equal(st.sparklines_skipped, 3);
	assert_int_equal(st.charts_written, 0);
	assert_int_equal(st.pages_written, 0);

	/* One new temperature sample three minutes later (a day graph and a
	 * sparkline are redrawn at most once per interval, 60 s; the
	 * full-size day graph every 5 min): only its day graph and its
	 * sparkline. */
	{
		char rrd[1024], upd[64];
		const char *argv[] = {upd};

		snprintf(rrd, sizeof(rrd), "%s/main/fridge-02/temp.rrd", f->rrd_dir);
		snprintf(upd, sizeof(upd), "%ld:9.4", (long)NOW + 180);
		assert_int_equal(rrd_update_r(rrd, NULL, 1, argv), 0);
		assert_int_equal(dash_render(d, f->snap, NOW + 180, &st), 0);
		assert_int_equal(st.graphs_written, 1);
		assert_int_equal(st.sparklines_written, 1);
		assert_int_equal(st.full_written, 0);
		assert_int_equal(st.charts_written, 0);
		/* The full-size day graph is behind its file, not a day graph. */
		assert_int_equal(st.day_graphs_behind, 0);
	}

	/* A new QC result redraws its chart only. */
	{
		struct dash_qc_level *l = &f->snap->instruments[2].analytes[0].levels[1];

		assert_non_null(
		    dash_snap_add_result(l, NOW + 30, 251, 0.2, DASH_QC_ACCEPT, "r24", "B2", ""));
		assert_int_equal(dash_render(d, f->snap, NOW + 240, &st), 0);
		assert_int_equal(st.charts_written, 1);
		assert_int_equal(st.graphs_written, 0);
	}

	/* A graph deleted behind our back comes back. */
	snprintf(path, sizeof(path), "%s/main/centrifuge-01/vibration-week.png", f->www_dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(dash_render(d, f->snap, NOW + 240, &st), 0);
	assert_int_equal(st.graphs_written, 1);
	assert_int_equal(access(path, R_OK), 0);

	/* Past its time budget a render defers the graphs it did not
	 * reach; they are drawn by the next render. */
	assert_int_equal(unlink(path), 0);
	dash_set_budget(d, 1e-9);
	assert_int_equal(dash_render(d, f->snap, NOW + 300, &st), 0);
	assert_int_equal(st.graphs_written, 0);
	assert_true(st.graphs_deferred >= 1);
	assert_int_equal(access(path, R_OK), -1);
	dash_set_budget(d, 0);
	assert_int_equal(dash_render(d, f->snap, NOW + 300, &st), 0);
	assert_true(st.graphs_written >= 1);
	assert_int_equal(access(path, R_OK), 0);

	/* A cancelled renderer draws no more graphs. */
	assert_int_equal(unlink(path), 0);
	dash_cancel(d);
	assert_int_equal(dash_render(d, f->snap, NOW + 400, &st), 0);
	assert_int_equal(st.graphs_written, 0);

	dash_free(d);
	for (size_t i = 0; i < n_found; i++)
		free(found[i]);
	free(found);
	found = NULL;
	n_found = 0;
}

/* A missing rrd_dir or a www_dir that cannot be written is reported, not fatal. */
static void test_render_errors(void **state)
{
	struct fixture *f = *state;
	char www[700];
	struct dash *d;
	struct dash_stats st;

	snprintf(www, sizeof(www), "%s/ro-www", f->base);
	d = dash_new(www, f->rrd_dir);
	assert_non_null(d);
	if (geteuid() != 0) { /* root writes anywhere */
		assert_int_equal(chmod(www, 0555), 0);
		assert_int_equal(dash_render(d, f->snap, NOW, &st), -1);
		assert_true(st.errors > 0);
		assert_int_equal(st.pages_written, 0);
		chmod(www, 0755);
	}
	assert_int_equal(dash_render(d, f->snap, NOW, &st), 0);
	assert_int_equal(st.pages_written, 16);
	dash_free(d);
	assert_null(dash_new("/proc/no/such/dir", f->rrd_dir));
}

/*
 * The daemon redraws graphs every minute for years: drawing the same
 * graph 200 times must not grow the heap. librrd 1.7.2 leaked a few
 * hundred bytes per graph when it drew the title and legend (~130 KB
 * here); allow 8 KB for caches that fill once.
 */
static void test_graph_no_leak(void **state)
{
	struct fixture *f = *state;
	const struct dash_instrument *in = &f->snap->instruments[0];
	const struct dash_channel *c = &in->channels[0]; /* temp: every limit and band */
	char rrd[1024], png[1024], err[256];
	size_t before, after;

	snprintf(rrd, sizeof(rrd), "%s/%s", f->rrd_dir, c->rrd_relpath);
	snprintf(png, sizeof(png), "%s/leak.png", f->base);
	for (int i = 0; i < 5; i++) /* warm fontconfig, cairo and librrd caches */
		if (graph_render(rrd, png, NULL, in, c, DASH_DAY, NOW, NULL, err, sizeof(err)) != 0)
			fail_msg("graph_render: %s", err);
	before = heap_in_use();
	for (int i = 0; i < 200; i++)
		if (graph_render(rrd, png, NULL, in, c, DASH_DAY, NOW, NULL, err, sizeof(err)) != 0)
			fail_msg("graph_render: %s", err);
	after = heap_in_use();
	if (after > before + 8192)
		fail_msg("heap grew by %zu bytes over 200 graphs", after - before);
	check_png(png, DASH_GRAPH_W, DASH_GRAPH_H);
#ifdef RENDER_ASAN
	assert_int_equal(__lsan_do_recoverable_leak_check(), 0);
#endif
}

/* Pixels of column x of a PNG within 3 of (r, g, b), rows top..bottom. */
static int count_colour(const char *png, int x, int top, int bottom, int r, int g, int b)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(png);
	int n = 0;

	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	const unsigned char *data = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);
	for (int y = top; y < bottom; y++) {
		uint32_t px = *(const uint32_t *)(data + y * stride + x * 4);
		int pr = (px >> 16) & 255, pg = (px >> 8) & 255, pb = px & 255;

		if (abs(pr - r) <= 3 && abs(pg - g) <= 3 && abs(pb - b) <= 3)
			n++;
	}
	cairo_surface_destroy(s);
	return n;
}

/*
 * Issue 23, acceptance 3: a firing period and a maintenance period from
 * the audit log are shaded in the full-size day graph. Expected colours,
 * by hand from the documented shades over the white plot: firing
 * rgba(0.85, 0.1, 0.1, 0.22) gives 0.22*0.85 + 0.78 = 0.967 -> 247 and
 * 0.22*0.1 + 0.78 = 0.802 -> 204 (247, 204, 204); maintenance
 * rgba(0.45, 0.45, 0.45, 0.28) gives 0.28*0.45 + 0.72 = 0.846 -> 216.
 */
static void test_full_graph_shading(void **state)
{
	struct fixture *f = *state;
	struct dash *d = dash_new(f->www_dir, f->rrd_dir);
	struct dash_stats st;
	char audit[700], png[1024], *text;
	size_t len;
	static const char log[] =
	    "{\"ts\":\"2025-11-22T22:00:00.000Z\",\"type\":\"event\",\"key\":\"main/fridge-02\","
	    "\"event\":\"maintenance_start\",\"by\":\"biomed\"}\n"
	    "{\"ts\":\"2025-11-23T00:00:00.000Z\",\"type\":\"event\",\"key\":\"main/fridge-02\","
	    "\"event\":\"maintenance_end\",\"by\":\"biomed\"}\n"
	    "{\"ts\":\"2025-11-23T02:00:00.000Z\",\"type\":\"alert\",\"key\":\"main/fridge-02/temp/"
	    "range\",\"state\":\"pending\",\"severity\":\"critical\",\"value\":8.4}\n"
	    "{\"ts\":\"2025-11-23T02:10:00.000Z\",\"type\":\"alert\",\"key\":\"main/fridge-02/temp/"
	    "range\",\"state\":\"firing\",\"severity\":\"critical\",\"value\":8.9}\n"
	    "{\"ts\":\"2025-11-23T04:00:00.000Z\",\"type\":\"alert\",\"key\":\"main/fridge-02/temp/"
	    "range\",\"state\":\"resolved\",\"severity\":\"critical\",\"value\":7.1,\"peak\":9.6}\n";
	const double t0 = NOW - 86400, plot_w = DASH_FULL_W - AXIS_L - AXIS_R;
#define COL(t) ((int)(AXIS_L + ((t) - t0) / 86400.0 * plot_w))
	const int top = TITLE_H, bottom = DASH_FULL_H - 80;

	assert_non_null(d);
	snprintf(audit, sizeof(audit), "%s/audit.jsonl", f->base);
	assert_int_equal(fs_write_atomic(audit, log, sizeof(log) - 1, 0644), 0);
	assert_int_equal(dash_set_audit_log(d, audit), 0);
	assert_int_equal(dash_render(d, f->snap, NOW, &st), 0);
	assert_int_equal(st.history_alerts, 1);
	snprintf(png, sizeof(png), "%s/main/fridge-02/temp-day-full.png", f->www_dir);

	/* Firing 02:10-04:00: its middle, 03:05, is red over much of the column. */
	assert_true(count_colour(png, COL(NOW - 4 * 3600 - 55 * 60), top, bottom, 247, 204, 204) > 50);
	/* Maintenance 22:00-00:00: 23:00 is grey. */
	assert_true(count_colour(png, COL(NOW - 9 * 3600), top, bottom, 216, 216, 216) > 50);
	/* 18:00, neither: no shade of either. */
	assert_int_equal(count_colour(png, COL(NOW - 14 * 3600), top, bottom, 247, 204, 204), 0);
	assert_int_equal(count_colour(png, COL(NOW - 14 * 3600), top, bottom, 216, 216, 216), 0);
	/* The thumbnails stay unshaded (their legend has no room). */
	snprintf(png, sizeof(png), "%s/main/fridge-02/temp-day.png", f->www_dir);
	assert_int_equal(count_colour(png, AXIS_L + (int)((DASH_GRAPH_W - AXIS_L - AXIS_R) *
	                                                  (86400 - 4 * 3600 - 55 * 60) / 86400.0),
	                              top, DASH_GRAPH_H - 60, 247, 204, 204),
	                 0);
#undef COL
	/* The history page and the graphs page say it in words. */
	snprintf(png, sizeof(png), "%s/main/fridge-02/history.html", f->www_dir);
	assert_int_equal(fs_read_all(png, &text, &len), 0);
	assert_non_null(strstr(text, "main/fridge-02/temp/range"));
	assert_non_null(strstr(text, "9.6 C")); /* the peak, with its unit */
	assert_non_null(strstr(text, "2025-11-23 02:00")); /* start: the pending record */
	assert_non_null(strstr(text, "2025-11-23 04:00"));
	assert_non_null(strstr(text, "2 h 00 min"));
	free(text);
	snprintf(png, sizeof(png), "%s/main/fridge-02/temp-graphs.html", f->www_dir);
	assert_int_equal(fs_read_all(png, &text, &len), 0);
	assert_non_null(strstr(text, "firing from 2025-11-23 02:10 to 2025-11-23 04:00 (red)"));
	assert_non_null(strstr(text, "Maintenance from 2025-11-22 22:00 to 2025-11-23 00:00 (grey)"));
	free(text);
	dash_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_render_site, setup_kept, teardown),
	    cmocka_unit_test_setup_teardown(test_render_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_graph_no_leak, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_graph_shading, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
