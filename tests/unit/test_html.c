/* test-links: dashboards/html_common.c dashboards/html_sections.c dashboards/html_index.c dashboards/html_instrument.c dashboards/html_wall.c dashboards/html_history.c dashboards/html_graphs.c dashboards/history.c collectors/timefmt.c dashboards/fnv.c dashboards/sbuf.c collectors/topic.c dashboards/snapshot.c */
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

static void test_index_two_sites(void **state)
{
	struct dash_snapshot *s = dash_snapshot_new(NOW);
	struct dash_instrument *in;
	char *html, *annex, *main_site, *a1, *z9;

	(void)state;
	dash_snap_add_instrument(s, "main", "z9", "", DASH_OK);
	in = dash_snap_add_instrument(s, "annex", "inc-01", "Annex", DASH_ALARM);
	dash_snap_add_analyte(in, "glucose", DASH_QC_REJECT);
	dash_snap_add_instrument(s, "main", "a1", "", DASH_STALE);
	html = render_index(s);
	annex = strstr(html, "<h3>Site annex</h3>");
	main_site = strstr(html, "<h3>Site main</h3>");
	a1 = strstr(html, "href=\"main/a1/index.html\"");
	z9 = strstr(html, "href=\"main/z9/index.html\"");
	assert_non_null(annex);
	assert_non_null(main_site);
	assert_non_null(a1);
	assert_non_null(z9);
	assert_true(annex < main_site && main_site < a1 && a1 < z9);
	assert_non_null(strstr(html, "href=\"annex/inc-01/index.html\""));
	assert_non_null(strstr(html, "glucose <span class=\"badge qc-reject\">reject</span>"));
	assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" content=\"60\">"));
	assert_non_null(strstr(html, "name=\"viewport\""));
	free(html);
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
	p1 = strstr(html, "oldest");
	p2 = strstr(html, "middle");
	p3 = strstr(html, "newest");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_names_escaped_everywhere),
	    cmocka_unit_test(test_badges),
	    cmocka_unit_test(test_index_two_sites),
	    cmocka_unit_test(test_instrument_links_graphs),
	    cmocka_unit_test(test_due_window),
	    cmocka_unit_test(test_alerts_oldest_first),
	    cmocka_unit_test(test_name_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
