/* test-links: dashboards/graph.c dashboards/graph_data.c dashboards/png_write.c dashboards/graph_frame.c dashboards/html_common.c dashboards/html_sections.c dashboards/html_index.c dashboards/html_instrument.c dashboards/html_wall.c dashboards/html_history.c dashboards/html_graphs.c dashboards/history.c dashboards/sparkline.c collectors/timefmt.c dashboards/sbuf.c dashboards/fnv.c collectors/topic.c daemon/clock.c dashboards/dashboards.c dashboards/ljchart.c dashboards/snapshot.c daemon/fsutil.c daemon/log.c rules/severity.c daemon/rrdaddr.c dashboards/html_fleet.c */
/*
 * An alert's graph for its email (dash_alert_graph_png), as the reader
 * of the email would check it:
 * - a fridge at 4 C for three hours (a real RRD file written with
 *   librrd), then an alert sample of 12 C that the file does not hold:
 *   the PNG decodes at 700x240, the average line (#1F3F7F) is drawn
 *   below the max limit's dashed row (#C62828) and the sample's disc, of
 *   the same colour, above it, at the right place in time;
 * - a channel whose file does not exist yet: the limits and the sample;
 * - another thread graphing (holding the rrd_graph lock): the call
 *   returns -2 once its deadline passes, not later, and draws once the
 *   lock is free.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cairo.h>
#include <ftw.h>
#include <math.h>
#include <rrd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dashboards/dash_int.h"
#include "dashboards/dashboards.h"

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}

#define NOW 1763884800.0 /* 2025-11-23 08:00 UTC, a step boundary */
#define PLOT_X0 66       /* graph_frame.h AXIS_L */
#define PLOT_W 618       /* DASH_GRAPH_W - AXIS_L - AXIS_R */

struct fixture {
	char base[64], rrd[128];
};

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *create_argv[] = {"DS:value:GAUGE:600:U:U", "RRA:MIN:0.5:1:2880",
				     "RRA:AVERAGE:0.5:1:2880", "RRA:MAX:0.5:1:2880"};
	char upd[200][40];
	const char *argv[200];

	assert_non_null(f);
	setenv("TZ", "UTC", 1);
	snprintf(f->base, sizeof(f->base), "/tmp/labqcd-agraph-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->rrd, sizeof(f->rrd), "%s/temp.rrd", f->base);
	assert_int_equal(rrd_create_r(f->rrd, 60, (time_t)(NOW - 4 * 3600), 4, create_argv), 0);
	/* 4 C every minute for the three hours before the alert (not 5: the
	 * value grid has a line there, drawn over the data) */
	for (int i = 0; i < 180; i++) {
		snprintf(upd[i], sizeof(upd[i]), "%ld:4", (long)(NOW - 3 * 3600 + 60 * (i + 1)));
		argv[i] = upd[i];
	}
	if (rrd_update_r(f->rrd, NULL, 180, argv) != 0)
		fail_msg("rrd_update_r: %s", rrd_get_error());
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->base, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct dash_alert_graph alert(const char *rrd)
{
	return (struct dash_alert_graph){
		.rrd_path = rrd,
		.instrument = "fridge-01",
		.channel = "temp",
		.unit = "C",
		.min = 2,
		.max = 8,
		.warning_min = NAN,
		.warning_max = NAN,
		.at = NOW + 30, /* not in the file: it stops at NOW */
		.value = 12,
		.start = NOW + 300 - 4 * 3600,
		.end = NOW + 300,
	};
}

struct blob {
	const unsigned char *p;
	size_t left;
};

static cairo_status_t read_blob(void *closure, unsigned char *data, unsigned int len)
{
	struct blob *b = closure;

	if (len > b->left)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, b->p, len);
	b->p += len;
	b->left -= len;
	return CAIRO_STATUS_SUCCESS;
}

static cairo_surface_t *decode(const unsigned char *png, size_t len)
{
	struct blob b = {png, len};
	cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_blob, &b);

	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
		fail_msg("PNG: %s", cairo_status_to_string(cairo_surface_status(s)));
	assert_int_equal(cairo_image_surface_get_width(s), DASH_GRAPH_W);
	assert_int_equal(cairo_image_surface_get_height(s), DASH_GRAPH_H);
	return s;
}

static bool is(cairo_surface_t *s, int x, int y, unsigned rgb)
{
	const unsigned char *d = cairo_image_surface_get_data(s);
	uint32_t px = *(const uint32_t *)(d + y * cairo_image_surface_get_stride(s) + x * 4);
	int dr = (int)((px >> 16) & 255) - (int)(rgb >> 16),
	    dg = (int)((px >> 8) & 255) - (int)((rgb >> 8) & 255),
	    db = (int)(px & 255) - (int)(rgb & 255);

	return abs(dr) <= 3 && abs(dg) <= 3 && abs(db) <= 3;
}

/* The topmost row with 100 or more pixels of the limit colour in the plot. */
static int max_row(cairo_surface_t *s)
{
	for (int y = 0; y < DASH_GRAPH_H; y++) {
		int n = 0;
		for (int x = PLOT_X0; x < PLOT_X0 + PLOT_W; x++)
			n += is(s, x, y, 0xC62828);
		if (n >= 100)
			return y;
	}
	fail_msg("no max limit line");
	return -1;
}

/* Pixels of the average line's colour in [x0, x1) x [y0, y1). */
static int count_avg(cairo_surface_t *s, int x0, int x1, int y0, int y1)
{
	int n = 0;

	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			n += is(s, x, y, 0x1F3F7F);
	return n;
}

static void test_alert_graph_marks_the_sample(void **state)
{
	struct fixture *f = *state;
	struct dash_alert_graph g = alert(f->rrd);
	unsigned char *png;
	size_t len;
	char err[256];

	if (dash_alert_graph_png(&g, 0, &png, &len, err, sizeof(err)) != 0)
		fail_msg("dash_alert_graph_png: %s", err);
	cairo_surface_t *s = decode(png, len);
	if (getenv("AGRAPH_DUMP"))
		cairo_surface_write_to_png(s, getenv("AGRAPH_DUMP"));
	int top = max_row(s);
	/* The sample, 12 C at NOW + 30 s: x is 4 h - 270 s into 4 h of 618 px. */
	int x_at = PLOT_X0 + (int)lround((4 * 3600 - 270) / (4 * 3600.0) * PLOT_W);
	assert_true(count_avg(s, x_at - 5, x_at + 6, 0, top - 1) >= 10);
	/* Nothing above the limit anywhere else: the data is 4 C. */
	assert_int_equal(count_avg(s, PLOT_X0, x_at - 5, 0, top - 1), 0);
	/* The average line is there, below the max line, over the last three hours. */
	assert_true(count_avg(s, PLOT_X0 + PLOT_W / 4 + 5, x_at - 10, top + 2, DASH_GRAPH_H - 40) >=
		    300);
	cairo_surface_destroy(s);
	free(png);
}

static void test_alert_graph_without_file(void **state)
{
	struct fixture *f = *state;
	char missing[160], err[256];
	unsigned char *png;
	size_t len;

	snprintf(missing, sizeof(missing), "%s/not-yet.rrd", f->base);
	struct dash_alert_graph g = alert(missing);
	if (dash_alert_graph_png(&g, 0, &png, &len, err, sizeof(err)) != 0)
		fail_msg("dash_alert_graph_png: %s", err);
	cairo_surface_t *s = decode(png, len);
	int top = max_row(s);
	assert_true(count_avg(s, PLOT_X0 + PLOT_W * 3 / 4, PLOT_X0 + PLOT_W, 0, top - 1) >= 10);
	cairo_surface_destroy(s);
	free(png);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_alert_graph_waits_only_until_deadline(void **state)
{
	struct fixture *f = *state;
	struct dash_alert_graph g = alert(f->rrd);
	unsigned char *png = NULL;
	size_t len = 0;
	char err[256];
	double t0, waited;

	/* Another thread is in rrd_graph_v: here, the test holds its lock. */
	assert_int_equal(pthread_mutex_lock(graph_rrd_lock()), 0);
	t0 = now_s();
	assert_int_equal(dash_alert_graph_png(&g, t0 + 0.3, &png, &len, err, sizeof(err)), -2);
	waited = now_s() - t0;
	assert_null(png);
	assert_true(waited >= 0.28 && waited < 2.0);
	assert_int_equal(pthread_mutex_unlock(graph_rrd_lock()), 0);
	if (dash_alert_graph_png(&g, now_s() + 5, &png, &len, err, sizeof(err)) != 0)
		fail_msg("dash_alert_graph_png: %s", err);
	cairo_surface_destroy(decode(png, len));
	free(png);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_alert_graph_marks_the_sample, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alert_graph_without_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alert_graph_waits_only_until_deadline, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
