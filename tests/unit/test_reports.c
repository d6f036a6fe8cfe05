/* test-links: daemon/reports.c daemon/reports_spawn.c daemon/spool.c daemon/fsutil.c daemon/log.c dashboards/report_period.c */
/*
 * The daemon's reports (reports.c): when the schedule makes a period
 * due, and exactly once across a crash at each step of the email's way
 * into the spool (staged, recorded in reports.json, committed).
 *
 * Times in UTC (TZ set here): 2026-11-01 is a Sunday, 2026-11-30 a
 * Monday, so ISO week 48 is 23-29 November and 3 December is a Thursday
 * of week 49 (checked with Python's isocalendar).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/fsutil.h"
#include "daemon/reports.h"

#define NOV_1 1793491200.0       /* 2026-11-01T00:00:00Z */
#define DEC_1 1796083200.0
#define DEC_3_NOON 1796299200.0
#define DEC_5_AFTER 1796428801.0 /* 2026-12-05T00:00:01Z */
#define NOV_30 1795996800.0      /* Monday: week 48 ends */

struct fix {
	char dir[128], spool_dir[160], file[160];
	struct spool *sp;
	struct config cfg;
	struct cfg_receiver rcv;
	char *rcv_names[1];
	char *emails[1];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_reports.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->spool_dir, sizeof(f->spool_dir), "%s/spool", f->dir);
	snprintf(f->file, sizeof(f->file), "%s/reports.json", f->dir);
	assert_non_null(f->sp = spool_open(f->spool_dir, NULL));
	snprintf(f->cfg.path, sizeof(f->cfg.path), "/nonexistent/labqcd.yaml");
	snprintf(f->cfg.reports.lab, sizeof(f->cfg.reports.lab), "Central Laboratory");
	f->cfg.reports.on = 1;
	snprintf(f->rcv.name, sizeof(f->rcv.name), "qc-team");
	f->emails[0] = "qc-lead@lab.example";
	f->rcv.email = f->emails;
	f->rcv.n_email = 1;
	f->cfg.receivers = &f->rcv;
	f->cfg.n_receivers = 1;
	f->rcv_names[0] = "qc-team";
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[200];

	spool_close(f->sp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* reports.json as JSON (NULL if absent). */
static cJSON *state_file(struct fix *f)
{
	char *text;
	size_t len;
	cJSON *o;

	if (fs_read_all(f->file, &text, &len) == -1)
		return NULL;
	o = cJSON_Parse(text);
	free(text);
	return o;
}

static size_t queue_len(struct fix *f, const char *first)
{
	cJSON *o = state_file(f);
	const cJSON *q = cJSON_GetObjectItem(o, "queue");
	size_t n = (size_t)cJSON_GetArraySize(q);

	if (first)
		assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(q, 0), "period")->valuestring,
				    first);
	cJSON_Delete(o);
	return n;
}

static size_t ready_entries(struct fix *f)
{
	char **ids;
	size_t n;

	assert_int_equal(spool_list(f->sp, &ids, &n), 0);
	spool_list_free(ids, n);
	return n;
}

static void write_state(struct fix *f, const char *json)
{
	assert_int_equal(fs_write_atomic(f->file, json, strlen(json), 0640), 0);
}

/* Month, on 5: on 3 December November is not due yet (5 December is),
 * so October is the latest due; on 5 December November is queued, once. */
static void test_schedule_month(void **state)
{
	struct fix *f = *state;
	struct reports *r = reports_open(f->dir, f->sp);

	assert_non_null(r);
	reports_set_program(r, ""); /* no render started: only the queue is looked at */
	f->cfg.reports.has_every = true;
	f->cfg.reports.on = 5;
	reports_tick(r, &f->cfg, DEC_3_NOON);
	assert_int_equal(queue_len(f, "2026-10"), 1);
	reports_tick(r, &f->cfg, DEC_3_NOON + 3600);
	assert_int_equal(queue_len(f, "2026-10"), 1);
	reports_tick(r, &f->cfg, DEC_5_AFTER);
	assert_int_equal(queue_len(f, "2026-10"), 2);
	reports_close(r);
	/* After a restart the mark holds: nothing queued again. */
	r = reports_open(f->dir, f->sp);
	reports_set_program(r, "");
	reports_tick(r, &f->cfg, DEC_5_AFTER + 86400);
	assert_int_equal(queue_len(f, "2026-10"), 2);
	cJSON *o = state_file(f);
	assert_true(cJSON_GetObjectItem(o, "scheduled_end")->valuedouble == DEC_1);
	cJSON_Delete(o);
	reports_close(r);
}

/* Week, on 5 (Friday): on Thursday 3 December week 48 is not due (its
 * Friday is 4 December), week 47 is; with on 1, week 48 is due from
 * Monday 30 November. */
static void test_schedule_week(void **state)
{
	struct fix *f = *state;
	struct reports *r = reports_open(f->dir, f->sp);

	reports_set_program(r, "");
	f->cfg.reports.has_every = true;
	f->cfg.reports.weekly = true;
	f->cfg.reports.on = 5;
	reports_tick(r, &f->cfg, DEC_3_NOON);
	assert_int_equal(queue_len(f, "2026-W47"), 1);
	reports_close(r);
	unlink(f->file);
	r = reports_open(f->dir, f->sp);
	reports_set_program(r, "");
	f->cfg.reports.on = 1;
	reports_tick(r, &f->cfg, NOV_30 - 1);
	assert_int_equal(queue_len(f, "2026-W47"), 1);
	reports_close(r);
	unlink(f->file);
	r = reports_open(f->dir, f->sp);
	reports_set_program(r, "");
	reports_tick(r, &f->cfg, NOV_30);
	assert_int_equal(queue_len(f, "2026-W48"), 1);
	reports_close(r);
}

/* A request through to the spool: the render (here /bin/true, which
 * writes nothing) exits 0, an email per receiver is staged, the file
 * drops the period, then the entry is committed, ready to send. */
static void test_request_to_spool(void **state)
{
	struct fix *f = *state;
	struct reports *r = reports_open(f->dir, f->sp);
	char msg[400];

	reports_set_program(r, "/bin/true");
	f->cfg.reports.receivers = f->rcv_names;
	f->cfg.reports.n_receivers = 1;
	assert_int_equal(reports_request(r, &f->cfg, "2026-13", "ana", NOV_1, msg, sizeof(msg)), -1);
	assert_int_equal(reports_request(r, &f->cfg, "2026-11", "ana", DEC_3_NOON, msg, sizeof(msg)),
			 0);
	assert_non_null(strstr(msg, "2026-11 queued"));
	assert_int_equal(queue_len(f, "2026-11"), 1); /* durable before the answer */
	for (int i = 0; i < 500 && ready_entries(f) == 0; i++) {
		reports_tick(r, &f->cfg, DEC_3_NOON + i);
		usleep(10000);
	}
	assert_int_equal(ready_entries(f), 1);
	assert_int_equal(queue_len(f, NULL), 0);
	char **ids;
	size_t n;
	struct notification nt;
	assert_int_equal(spool_list(f->sp, &ids, &n), 0);
	assert_int_equal(spool_load(f->sp, ids[0], &nt), 0);
	assert_string_equal(nt.report, "2026-11");
	assert_string_equal(nt.report_lab, "Central Laboratory");
	assert_string_equal(nt.to[0], "qc-lead@lab.example");
	assert_non_null(strstr(nt.report_dir, "/reports/2026-11.1"));
	notification_free(&nt);
	spool_list_free(ids, n);
	reports_close(r);
}

static bool none_recorded(const char *id, void *arg)
{
	(void)id, (void)arg;
	return false; /* the alert engine's state knows no report entry */
}

/* The crash windows: an entry staged and recorded in reports.json but
 * not committed is committed by reports_open (before the alert engine's
 * recovery, which would delete it); one staged and not recorded is left
 * to that recovery to delete, and its period is still queued. */
static void test_crash_windows(void **state)
{
	struct fix *f = *state;
	struct notification a = {.kind = NOTIF_EMAIL, .n_to = 1}, b = a;
	char json[512];
	struct reports *r;

	snprintf(a.receiver, sizeof(a.receiver), "qc-team");
	snprintf(a.status, sizeof(a.status), "report");
	snprintf(a.report, sizeof(a.report), "2026-10");
	snprintf(a.report_dir, sizeof(a.report_dir), "%s", f->dir);
	b = a;
	snprintf(b.report, sizeof(b.report), "2026-11");
	assert_int_equal(spool_stage(f->sp, &a, NOV_1), 0);
	assert_int_equal(spool_stage(f->sp, &b, NOV_1), 0);
	snprintf(json, sizeof(json),
		 "{\"version\":1,\"scheduled_end\":%.0f,\"job\":2,"
		 "\"queue\":[{\"period\":\"2026-11\",\"why\":\"schedule\",\"tries\":0}],"
		 "\"spooled\":[\"%s\"]}",
		 DEC_1, a.id);
	write_state(f, json);
	assert_int_equal(ready_entries(f), 0);

	r = reports_open(f->dir, f->sp);
	assert_non_null(r);
	assert_int_equal(ready_entries(f), 1); /* a: committed */
	assert_int_equal(spool_recover(f->sp, none_recorded, NULL), 0); /* b: deleted */
	char **ids;
	size_t n;
	assert_int_equal(spool_list(f->sp, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], a.id);
	spool_list_free(ids, n);
	assert_int_equal(queue_len(f, "2026-11"), 1); /* b's period: rendered again */
	cJSON *o = state_file(f);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "spooled")), 0);
	cJSON_Delete(o);
	reports_close(r);

	/* Recorded, committed, sent and deleted before the crash: nothing
	 * to do, and the id is forgotten. */
	snprintf(json, sizeof(json), "{\"version\":1,\"queue\":[],\"spooled\":[\"%s\"]}",
		 "1793491200000-00000099-qc-team");
	write_state(f, json);
	r = reports_open(f->dir, f->sp);
	o = state_file(f);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "spooled")), 0);
	cJSON_Delete(o);
	reports_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schedule_month, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schedule_week, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_to_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_windows, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
