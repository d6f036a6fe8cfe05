/* test-links: dashboards/html_common.c dashboards/html_sections.c dashboards/html_index.c dashboards/html_fleet.c dashboards/html_instrument.c dashboards/html_wall.c dashboards/html_history.c dashboards/html_graphs.c dashboards/history.c collectors/timefmt.c dashboards/fnv.c dashboards/sbuf.c daemon/fsutil.c collectors/topic.c dashboards/snapshot.c rules/severity.c */
/*
 * The dashboard's HTML as a reader sees it, built from snapshots in
 * memory (no files): every name from a topic or the config is escaped,
 * status badges carry their word, the index groups two sites, an
 * instrument page links its graphs and LJ charts by relative paths, the
 * "due in 14 days" list keeps what is due (or overdue) and drops the
 * rest, and alerts are listed oldest first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dashboards/dash_int.h"

#define NOW 1763884800.0

static char *render_index(const struct dash_snapshot *s)
{
	struct sbuf b = {0};
	struct html_ctx ctx = {.now = NOW, .www_dir = NULL};

	assert_int_equal(html_index(&b, s, &ctx), 0);
	return b.p;
}

static char *render_page(const struct dash_snapshot *s, const struct dash_instrument *in)
{
	struct sbuf b = {0};
	struct html_ctx ctx = {.now = NOW, .www_dir = NULL};

	assert_int_equal(html_instrument(&b, s, in, &ctx), 0);
	return b.p;
}

static void test_escape(void **state)
{
	struct sbuf b = {0};

	(void)state;
	sbuf_html(&b, "<script>alert('x')</script> & \"q\" Zürich 温度 \x01\xff");
	assert_string_equal(b.p,
	                    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; "
	                    "Zürich 温度 \xef\xbf\xbd\xef\xbf\xbd");
	sbuf_free(&b);
}

static void test_names_escaped_everywhere(void **state)
{
	struct dash_snapshot *s = dash_snapshot_new(NOW);
	struct dash_instrument *in;
	struct dash_channel *c;
	struct dash_qc_analyte *a;
	struct dash_qc_level *l;
	char *html;

	(void)state;
	in = dash_snap_add_instrument(s, "main", "fridge-02", "Room \"B\" & <lab>", DASH_OK);
	c = dash_snap_add_channel(in, "<script>", "°C<b>", "main/fridge-02/x.rrd");
	c->last_value = 4;
	dash_snap_add_alert(in, "main/fridge-02/<script>/range", SEV_CRITICAL, "firing", NOW - 60,
	                    "temp <b>high</b>", "Zoë <i>", "it's & fine");
	a = dash_snap_add_analyte(in, "glu<cose>", DASH_QC_ACCEPT);
	l = dash_snap_add_level(a, "L'1", 100, 2);
	dash_snap_add_result(l, NOW - 100, 101, 0.5, DASH_QC_ACCEPT, "<run>", "lot&1", "<rule>");
	dash_snap_add_due(in, "task <clean>", NOW + 3600);
	dash_snap_add_event(in, NOW - 10, "by \"<img src=x>\"");

	html = render_page(s, in);
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<b>"));
	assert_null(strstr(html, "<i>"));
	assert_null(strstr(html, "<img src=x"));
	assert_null(strstr(html, "<run>"));
	assert_non_null(strstr(html, "&lt;script&gt;"));
	assert_non_null(strstr(html, "Room &quot;B&quot; &amp; &lt;lab&gt;"));
	assert_non_null(strstr(html, "°C&lt;b&gt;"));
	assert_non_null(strstr(html, "Zoë &lt;i&gt;"));
	assert_non_null(strstr(html, "it&#39;s &amp; fine"));
	assert_non_null(strstr(html, "glu&lt;cose&gt;"));
	assert_non_null(strstr(html, "lot&amp;1"));
	assert_non_null(strstr(html, "task &lt;clean&gt;"));
	/* No graph or chart from a name that is not a valid identity. */
	assert_null(strstr(html, ".png"));
	free(html);

	html = render_index(s);
	assert_null(strstr(html, "<script"));
	assert_non_null(strstr(html, "glu&lt;cose&gt;"));
	free(html);
	dash_snapshot_free(s);
}

static void test_badges(void **state)
{
	struct dash_snapshot *s = dash_snapshot_new(NOW);
	static const char *word[] = {"ok", "warning", "alarm", "stale", "maintenance"};
	char name[32], want[128], *html;

	(void)state;
	for (int st = DASH_OK; st <= DASH_MAINTENANCE; st++) {
		snprintf(name, sizeof(name), "inst-%d", st);
		dash_snap_add_instrument(s, "main", name, "", (enum dash_status)st);
	}
	html = render_index(s);
	for (int st = DASH_OK; st <= DASH_MAINTENANCE; st++) {
		/* The class colours it, the word says it. */
		snprintf(want, sizeof(want), "<span class=\"badge st-%s\">%s</span>", word[st],
		         word[st]);
		assert_non_null(strstr(html, want));
	}
	free(html);
	dash_snapshot_free(s);
}

/* Worst first: alarm, warning, stale, ok, whatever the site or name. */
static void test_index_worst_first(void **state)
{
	struct dash_snapshot *s = dash_snapshot_new(NOW);
	struct dash_instrument *in;
	char *html, *alarm, *warn, *stale, *ok;

	(void)state;
	dash_snap_add_instrument(s, "annex", "a-ok", "", DASH_OK);
	dash_snap_add_instrument(s, "main", "z-stale", "", DASH_STALE);
	in = dash_snap_add_instrument(s, "main", "y-alarm", "Annex", DASH_ALARM);
	dash_snap_add_analyte(in, "glucose", DASH_QC_REJECT);
	dash_snap_add_instrument(s, "main", "b-warning", "", DASH_WARNING);
	html = render_index(s);
	alarm = strstr(html, "href=\"main/y-alarm/index.html\"");
	warn = strstr(html, "href=\"main/b-warning/index.html\"");
	stale = strstr(html, "href=\"main/z-stale/index.html\"");
	ok = strstr(html, "href=\"annex/a-ok/index.html\"");
	assert_non_null(alarm);
	assert_non_null(warn);
	assert_non_null(stale);
	assert_non_null(ok);
	assert_true(alarm < warn && warn < stale && stale < ok);
	assert_non_null(strstr(html, "glucose <span class=\"badge qc-reject\">reject</span>"));
	assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" content=\"60\">"));
	assert_non_null(strstr(html, "name=\"viewport\""));
	assert_non_null(strstr(html, "href=\"wall.html\""));
	assert_non_null(strstr(html, "href=\"history.html\""));
	free(html);
	dash_snapshot_free(s);
}

/* Each channel's value with its unit, its age, its state in words, its
 * sparkline; QC today with the last run. */
static void test_index_values(void **state)
{
	struct dash_snapshot *s = dash_snapshot_new(NOW);
	struct dash_instrument *in = dash_snap_add_instrument(s, "main", "fridge-02", "", DASH_ALARM);
	struct dash_channel *c;
	struct dash_qc_analyte *a;
	char *html, *row;

	(void)state;
	c = dash_snap_add_channel(in, "temp", "\xc2\xb0""C", "main/fridge-02/temp.rrd");
	c->last_value = 9.3;
	c->last_time = NOW - 180;
	c = dash_snap_add_channel(in, "door", "", "main/fridge-02/door.rrd");
	c->last_value = 0;
	c->last_time = NOW - 7200 - 300;
	dash_snap_add_alert(in, "main/fridge-02/temp/range", SEV_CRITICAL, "firing", NOW - 600, "hot",
	                    NULL, NULL);
	a = dash_snap_add_analyte(in, "glucose", DASH_QC_ACCEPT);
	dash_snap_add_run(a, NOW - 3600, "r9", "accept", "", "");
	html = render_index(s);
	row = strstr(html, "<td>temp</td>");
	assert_non_null(row);
	assert_non_null(strstr(row, "<span class=\"val\">9.3 \xc2\xb0""C</span></td><td>3 min ago</td>"
	                            "<td><span class=\"badge st-alarm\">alarm</span>"));
	assert_non_null(strstr(html, "<img class=\"spark\" src=\"main/fridge-02/temp-spark.png\""));
	assert_non_null(strstr(html, "href=\"main/fridge-02/temp-graphs.html\""));
	row = strstr(html, "<td>door</td>");
	assert_non_null(row);
	assert_non_null(strstr(row, "<span class=\"val\">0</span></td><td>2 h 05 min ago</td>"
	                            "<td><span class=\"badge st-ok\">ok</span>"));
	assert_non_null(strstr(html, "last run r9 accept at 2025-11-23 07:00"));
	free(html);

	/* The wall: the same values, large, no script, refreshed by meta. */
	struct sbuf b = {0};
	struct html_ctx ctx = {.now = NOW, .refresh_s = 30};
	assert_int_equal(html_wall(&b, s, &ctx, false), 0);
	assert_non_null(strstr(b.p, "<span class=\"v\">9.3 \xc2\xb0""C</span>"));
	assert_non_null(strstr(b.p, "<span class=\"v\">0</span>"));
	assert_null(strstr(b.p, "<script"));
	assert_non_null(strstr(b.p, ".ch .v{font-size:36px"));
	assert_non_null(strstr(b.p, "@media (prefers-color-scheme: dark)"));
	assert_non_null(strstr(b.p, "content=\"30\""));
	sbuf_free(&b);
	memset(&b, 0, sizeof(b));
	assert_int_equal(html_wall(&b, s, &ctx, true), 0);
	assert_null(strstr(b.p, "prefers-color-scheme"));
	assert_non_null(strstr(b.p, "body{background:#121212"));
	sbuf_free(&b);
	dash_snapshot_free(s);
}

static void test_instrument_links_graphs(void **state)
{
	struct dash_snapshot *s = dash_snapshot_new(NOW);
	struct dash_instrument *in = dash_snap_add_instrument(s, "main", "chem-01", "", DASH_OK);
	struct dash_qc_analyte *a;
	struct dash_qc_level *l;
	char *html;

	(void)state;
	dash_snap_add_channel(in, "temp", "C", "main/chem-01/temp.rrd");
	a = dash_snap_add_analyte(in, "glucose", DASH_QC_ACCEPT);
	l = dash_snap_add_level(a, "L1", 100, 2.5);
	dash_snap_add_result(l, NOW - 60, 100, 0, DASH_QC_ACCEPT, "r1", "A", "");
	html = render_page(s, in);
	assert_non_null(strstr(html, "src=\"temp-day.png\""));
	assert_non_null(strstr(html, "src=\"temp-week.png\""));
	assert_non_null(strstr(html, "src=\"temp-month.png\""));
	assert_non_null(strstr(html, "src=\"qc/glucose/L1.png\""));
	assert_non_null(strstr(html, "href=\"../../index.html\""));
	free(html);
	dash_snapshot_free(s);
}

static void test_due_window(void **state)
{
	struct dash_snapshot *s = dash_snapshot_new(NOW);
	struct dash_instrument *in = dash_snap_add_instrument(s, "main", "cf-01", "", DASH_OK);
	char *html, *over, *soon;

	(void)state;
	dash_snap_add_due(in, "due-in-13-days", NOW + 13 * 86400);
	dash_snap_add_due(in, "due-in-15-days", NOW + 15 * 86400);
	dash_snap_add_due(in, "overdue-task", NOW - 86400);
	dash_snap_add_due(in, "due-at-14-days", NOW + 14 * 86400);
	html = render_index(s);
	assert_null(strstr(html, "due-in-15-days"));
	over = strstr(html, "overdue-task");
	soon = strstr(html, "due-in-13-days");
	assert_non_null(over);
	assert_non_null(soon);
	assert_true(over < soon); /* soonest first */
	assert_non_null(strstr(html, "due-at-14-days"));
	assert_non_null(strstr(html, "(overdue)"));
	free(html);
	/* The instrument page lists them all. */
	html = render_page(s, in);
	assert_non_null(strstr(html, "due-in-15-days"));
	free(html);
	dash_snapshot_free(s);
}

static void test_alerts_oldest_first(void **state)
{
	struct dash_snapshot *s = dash_snapshot_new(NOW);
	struct dash_instrument *a, *b;
	char *html, *p1, *p2, *p3;

	(void)state;
	/* Pointers from dash_snap_add_* last until the next add to the same parent. */
	dash_snap_add_instrument(s, "main", "a", "", DASH_ALARM);
	dash_snap_add_instrument(s, "main", "b", "", DASH_ALARM);
	a = &s->instruments[0];
	b = &s->instruments[1];
	dash_snap_add_alert(a, "main/a/temp/range", SEV_CRITICAL, "firing", NOW - 60, "newest",
	                    NULL, NULL);
	dash_snap_add_alert(b, "main/b/temp/stale", SEV_WARNING, "firing", NOW - 7200, "oldest",
	                    "ann", "looking");
	dash_snap_add_alert(a, "main/a/door/range", SEV_WARNING, "pending", NOW - 600, "middle",
	                    NULL, NULL);
	html = render_index(s);
	p1 = strstr(html, "<td>oldest</td>");
	p2 = strstr(html, "<td>middle</td>");
	p3 = strstr(html, "<td>newest</td>");
	assert_non_null(p1);
	assert_non_null(p2);
	assert_non_null(p3);
	assert_true(p1 < p2 && p2 < p3);
	assert_non_null(strstr(html, "yes, by ann: looking"));
	assert_non_null(strstr(html, "not acknowledged"));
	free(html);
	dash_snapshot_free(s);
}

static void test_name_check(void **state)
{
	(void)state;
	assert_true(ident_ok("fridge-02"));
	assert_true(ident_ok("a.b_c"));
	assert_false(ident_ok(".."));
	assert_false(ident_ok("-x"));
	assert_false(ident_ok("a/b"));
	assert_false(ident_ok("a b"));
	assert_false(ident_ok(""));
	assert_false(ident_ok("Zürich"));
	assert_true(
	    ident_ok("a234567890123456789012345678901234567890123456789012345678901234"));
	assert_false(
	    ident_ok("a2345678901234567890123456789012345678901234567890123456789012345"));
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define REC(ts, rest) "{\"ts\":\"" ts "\",\"type\":\"alert\",\"key\":\"main/fridge-02/temp/range\"," rest "}"

/* The history from the audit log: episodes from pending to resolved or
 * cleared, acknowledgements, read incrementally (a line not yet whole
 * waits), read again when the file is replaced, pruned after 30 days. */
static void test_history_incremental(void **state)
{
	char dir[] = "/tmp/labqcd-hist-XXXXXX", path[64];
	struct dash_history *h;
	const struct dash_episode *ep;
	size_t n;
	char err[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	append(path, REC("2025-11-23T02:00:00.000Z", "\"state\":\"pending\",\"severity\":\"warning\",\"value\":8.2") "\n"
	             "{\"ts\":\"2025-11-23T02:01:00.000Z\",\"type\":\"qc\",\"key\":\"main/chem-01/glucose\"}\n"
	             REC("2025-11-23T02:10:00.000Z", "\"state\":\"firing\",\"severity\":\"critical\",\"value\":8.9") "\n"
	             REC("2025-11-23T03:00:00.000Z", "\"state\":\"acknowledged\",\"by\":\"ann\",\"comment\":\"door left open\"") "\n"
	             /* half a line: still being written */
	             REC("2025-11-23T04:00:00.000Z", "\"state\":\"resolved\",\"severity\":\"critical\",\"peak\":9.6"));
	h = history_new(path);
	assert_non_null(h);
	assert_int_equal(history_update(h, NOW, err, sizeof(err)), 0);
	ep = history_episodes(h, &n);
	assert_int_equal(n, 1);
	assert_string_equal(ep[0].key, "main/fridge-02/temp/range");
	assert_int_equal(ep[0].inst_len, strlen("main/fridge-02"));
	assert_true(ep[0].start == NOW - 6 * 3600 && ep[0].fired == NOW - 6 * 3600 + 600);
	assert_true(isnan(ep[0].end)); /* the resolved line is not whole yet */
	assert_int_equal(ep[0].severity, SEV_CRITICAL);
	assert_string_equal(ep[0].ack_by, "ann");
	assert_string_equal(ep[0].ack_comment, "door left open");
	append(path, "\n" REC("2025-11-23T05:00:00.000Z", "\"state\":\"pending\",\"severity\":\"warning\",\"value\":8.1") "\n"
	             REC("2025-11-23T05:04:00.000Z", "\"state\":\"cleared\",\"severity\":\"warning\",\"peak\":8.3,\"since\":1763873950,\"duration_s\":290") "\n");
	assert_int_equal(history_update(h, NOW, err, sizeof(err)), 0);
	ep = history_episodes(h, &n);
	assert_int_equal(n, 2);
	assert_true(ep[0].end == NOW - 4 * 3600 && ep[0].peak == 9.6 && !ep[0].cleared);
	assert_true(ep[1].cleared && ep[1].peak == 8.3 && isnan(ep[1].fired));
	assert_true(ep[1].start == 1763873950); /* the excursion's own start */

	/* The page: newest first, the cleared one a lighter row saying so. */
	struct dash_snapshot *s = dash_snapshot_new(NOW);
	struct dash_instrument *in = dash_snap_add_instrument(s, "main", "fridge-02", "", DASH_OK);
	dash_snap_add_channel(in, "temp", "C", "main/fridge-02/temp.rrd");
	struct sbuf b = {0};
	struct html_ctx ctx = {.now = NOW, .hist = h};
	assert_int_equal(html_history(&b, s, NULL, &ctx), 0);
	char *cleared = strstr(b.p, "<tr class=\"cleared\">");
	char *fired = strstr(b.p, "not acknowledged");
	assert_non_null(cleared);
	assert_null(fired); /* the one that fired was acknowledged */
	assert_true(cleared < strstr(b.p, "ann at 2025-11-23 03:00"));
	assert_non_null(strstr(b.p, "(cleared: a short excursion, never fired)"));
	assert_non_null(strstr(b.p, "<td class=\"num\">9.6 C</td><td>ann at 2025-11-23 03:00</td><td>door left open</td>"));
	assert_non_null(strstr(b.p, "<section id=\"site-main\">"));
	sbuf_free(&b);
	dash_snapshot_free(s);

	/* 31 days later both ended more than 30 days ago: forgotten. */
	assert_int_equal(history_update(h, NOW + 31 * 86400.0, err, sizeof(err)), 0);
	history_episodes(h, &n);
	assert_int_equal(n, 0);
	/* A replaced file is read from its start. */
	char tmp[80];
	snprintf(tmp, sizeof(tmp), "%s/new", dir);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(REC("2025-11-23T06:00:00.000Z", "\"state\":\"firing\",\"severity\":\"critical\",\"value\":9") "\n", f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0);
	assert_int_equal(history_update(h, NOW, err, sizeof(err)), 0);
	ep = history_episodes(h, &n);
	assert_int_equal(n, 1);
	assert_true(ep[0].start == NOW - 2 * 3600 && ep[0].fired == ep[0].start && ep[0].peak == 9);
	history_free(h);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_names_escaped_everywhere),
	    cmocka_unit_test(test_badges),
	    cmocka_unit_test(test_index_worst_first),
	    cmocka_unit_test(test_index_values),
	    cmocka_unit_test(test_instrument_links_graphs),
	    cmocka_unit_test(test_due_window),
	    cmocka_unit_test(test_alerts_oldest_first),
	    cmocka_unit_test(test_name_check),
	    cmocka_unit_test(test_history_incremental),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
