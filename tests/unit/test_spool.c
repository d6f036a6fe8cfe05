/* test-links: daemon/spool.c daemon/log.c daemon/fsutil.c */
/*
 * The spool: a notification written is listed in order and reads back
 * whole; a failure reschedules it on the backoff (30 s doubling, capped
 * at 1 h) and the schedule survives closing and reopening; success
 * deletes it; counters count; a corrupt file is moved aside. A staged
 * entry is invisible until committed; recovery after a crash commits the
 * staged entries the caller recorded and deletes the others.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ftw.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/notif_fixture.h"

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	char *dir = malloc(64);

	snprintf(dir, 64, "/tmp/labqcd-test-spool-XXXXXX");
	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	nftw(*state, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

static struct spool *open_in(const char *dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/spool", dir);
	return spool_open(path, NULL);
}

static void test_write_list_load(void **state)
{
	struct spool *sp = open_in(*state);
	struct notification n, back;
	char **ids;
	size_t cnt;

	assert_non_null(sp);
	fixture_notification(&n, NOTIF_EMAIL);
	assert_int_equal(spool_put(sp, &n, FIXTURE_T0), 0);
	notification_free(&n);
	fixture_notification(&n, NOTIF_WEBHOOK);
	snprintf(n.receiver, sizeof(n.receiver), "../evil name");
	n.format = WEBHOOK_SLACK;
	snprintf(n.url, sizeof(n.url), "https://hooks.example/x");
	snprintf(n.secret_file, sizeof(n.secret_file), "/etc/labqcd/hook.secret");
	assert_int_equal(spool_put(sp, &n, FIXTURE_T0), 0);
	assert_null(strchr(n.id, '/'));
	assert_null(strchr(n.id, ' '));

	assert_int_equal(spool_list(sp, &ids, &cnt), 0);
	assert_int_equal(cnt, 2);
	assert_true(strcmp(ids[0], ids[1]) < 0);
	assert_int_equal(spool_load(sp, ids[0], &back), 0);
	assert_int_equal(back.kind, NOTIF_EMAIL);
	assert_int_equal(back.n_to, 2);
	assert_string_equal(back.to[1], "Lab Manager <manager@lab.example>");
	assert_int_equal(back.n_alerts, 2);
	assert_string_equal(back.alerts[1].status, "resolved");
	assert_true(back.alerts[1].ends_at == FIXTURE_T0 + 300);
	assert_true(back.alerts[0].value == 9.1);
	assert_true(back.next_attempt == FIXTURE_T0);
	assert_int_equal(back.attempts, 0);
	notification_free(&back);
	assert_int_equal(spool_load(sp, ids[1], &back), 0);
	assert_int_equal(back.kind, NOTIF_WEBHOOK);
	assert_int_equal(back.format, WEBHOOK_SLACK);
	assert_string_equal(back.url, "https://hooks.example/x");
	assert_string_equal(back.secret_file, "/etc/labqcd/hook.secret");
	assert_string_equal(back.receiver, "../evil name");
	notification_free(&back);
	spool_list_free(ids, cnt);
	notification_free(&n);
	spool_close(sp);
}

/* A time that 15 digits come within an epsilon of, but not exactly (the
 * shortcut cJSON's number printing takes), reads back exactly: else an
 * entry due now could load as due a hair later and wait a pass. */
static void test_next_attempt_exact(void **state)
{
	struct spool *sp = open_in(*state);
	struct notification n, back;
	char buf[32], **ids;
	size_t cnt;
	double t = 0;

	assert_non_null(sp);
	for (long k = 0; k < 1000000 && t == 0; k++) {
		double d = 1795000000.0 + (double)k * 1.1e-7, r;
		snprintf(buf, sizeof(buf), "%1.15g", d);
		r = strtod(buf, NULL);
		if (r != d && fabs(r - d) <= fabs(d) * DBL_EPSILON)
			t = d;
	}
	assert_true(t != 0); /* such a time exists near now */
	fixture_notification(&n, NOTIF_EMAIL);
	assert_int_equal(spool_put(sp, &n, t), 0);
	notification_free(&n);
	assert_int_equal(spool_list(sp, &ids, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(spool_load(sp, ids[0], &back), 0);
	assert_true(back.next_attempt == t);
	notification_free(&back);
	spool_list_free(ids, cnt);
	spool_close(sp);
}

static void test_backoff_schedule(void **state)
{
	struct spool_opts o = {0};
	const double want[] = {30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600};

	(void)state;
	for (int i = 0; i < 10; i++)
		assert_true(spool_backoff(&o, i + 1) == want[i]);
	o.retry_initial_s = 5;
	o.retry_max_s = 15;
	assert_true(spool_backoff(&o, 1) == 5);
	assert_true(spool_backoff(&o, 2) == 10);
	assert_true(spool_backoff(&o, 3) == 15);
	assert_true(spool_backoff(&o, 1000) == 15);
}

static void test_retry_survives_reopen_then_done(void **state)
{
	struct spool *sp = open_in(*state);
	struct notification n, back;
	struct spool_counters c;
	char **ids;
	size_t cnt;
	char first_id[NOTIF_ID_MAX];

	fixture_notification(&n, NOTIF_EMAIL);
	assert_int_equal(spool_put(sp, &n, FIXTURE_T0), 0);
	snprintf(first_id, sizeof(first_id), "%s", n.id);
	assert_int_equal(spool_failed(sp, &n, FIXTURE_T0, "connection refused"), 0);
	assert_int_equal(spool_failed(sp, &n, FIXTURE_T0 + 30, "connection refused"), 0);
	notification_free(&n);
	spool_get_counters(sp, &c);
	assert_int_equal(c.spooled, 1);
	assert_int_equal(c.failed, 2);
	assert_int_equal(c.retried, 1);
	spool_close(sp);

	/* Restart: the schedule is in the file. */
	sp = open_in(*state);
	assert_int_equal(spool_list(sp, &ids, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_string_equal(ids[0], first_id);
	assert_int_equal(spool_load(sp, ids[0], &back), 0);
	assert_int_equal(back.attempts, 2);
	assert_true(back.next_attempt == FIXTURE_T0 + 30 + 60);
	assert_string_equal(back.last_error, "connection refused");
	spool_list_free(ids, cnt);
	/* A new entry after the restart gets a later, unused name. */
	fixture_notification(&n, NOTIF_EMAIL);
	assert_int_equal(spool_put(sp, &n, FIXTURE_T0), 0);
	assert_true(strcmp(n.id, first_id) > 0);
	assert_int_equal(spool_done(sp, &n), 0);
	notification_free(&n);

	assert_int_equal(spool_done(sp, &back), 0);
	notification_free(&back);
	assert_int_equal(spool_list(sp, &ids, &cnt), 0);
	assert_int_equal(cnt, 0);
	spool_list_free(ids, cnt);
	spool_get_counters(sp, &c);
	assert_int_equal(c.sent, 2);
	assert_int_equal(c.retried, 1); /* this process saw one retry succeed */
	spool_close(sp);
}

static void test_corrupt_and_temp_files(void **state)
{
	struct spool *sp = open_in(*state);
	struct notification n;
	char path[256], **ids;
	size_t cnt;
	FILE *f;

	snprintf(path, sizeof(path), "%s/spool/0000000000001-00000001-x.json", (char *)*state);
	f = fopen(path, "w");
	fputs("{\"kind\":\"email\",\"receiver\":", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/spool/0000000000002-00000002-x.json.tmp.123",
		 (char *)*state);
	f = fopen(path, "w");
	fclose(f);
	assert_int_equal(spool_list(sp, &ids, &cnt), 0);
	assert_int_equal(cnt, 1); /* the temporary file is not an entry */
	assert_int_equal(spool_load(sp, ids[0], &n), -1);
	spool_list_free(ids, cnt);
	assert_int_equal(spool_list(sp, &ids, &cnt), 0);
	assert_int_equal(cnt, 0); /* moved aside, out of the queue */
	spool_list_free(ids, cnt);
	snprintf(path, sizeof(path), "%s/spool/corrupt-0000000000001-00000001-x.json",
		 (char *)*state);
	assert_int_equal(access(path, F_OK), 0);
	spool_close(sp);
}

static size_t count_ready(struct spool *sp)
{
	char **ids;
	size_t cnt;

	assert_int_equal(spool_list(sp, &ids, &cnt), 0);
	spool_list_free(ids, cnt);
	return cnt;
}

static bool recorded(const char *id, void *arg)
{
	return strcmp(id, (const char *)arg) == 0;
}

static int wakes;
static void on_wake(void *arg)
{
	(void)arg;
	wakes++;
}

static void test_stage_commit_recover(void **state)
{
	struct spool *sp = open_in(*state);
	struct notification n;
	struct spool_counters c;
	char keep[NOTIF_ID_MAX], drop[NOTIF_ID_MAX], path[512];

	wakes = 0;
	spool_set_wake(sp, on_wake, NULL);
	fixture_notification(&n, NOTIF_EMAIL);
	assert_int_equal(spool_stage(sp, &n, FIXTURE_T0), 0);
	assert_int_equal(count_ready(sp), 0); /* the notifier does not see it */
	assert_int_equal(wakes, 0);
	assert_int_equal(spool_commit(sp, n.id), 0);
	assert_int_equal(count_ready(sp), 1);
	assert_int_equal(wakes, 1);
	assert_int_equal(spool_commit(sp, n.id), 0); /* again: already ready */
	assert_int_equal(count_ready(sp), 1);
	assert_int_equal(spool_done(sp, &n), 0);
	assert_int_equal(spool_commit(sp, n.id), -1); /* gone */

	/* A crash with two staged: one recorded by the caller, one not. */
	assert_int_equal(spool_stage(sp, &n, FIXTURE_T0 + 1), 0);
	snprintf(keep, sizeof(keep), "%s", n.id);
	assert_int_equal(spool_stage(sp, &n, FIXTURE_T0 + 2), 0);
	snprintf(drop, sizeof(drop), "%s", n.id);
	spool_close(sp);
	sp = open_in(*state);
	assert_int_equal(count_ready(sp), 0);
	assert_int_equal(spool_recover(sp, recorded, keep), 1);
	assert_int_equal(count_ready(sp), 1);
	snprintf(path, sizeof(path), "%s/spool/%s.json", (char *)*state, keep);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/spool/%s.json.pending", (char *)*state, drop);
	assert_int_equal(access(path, F_OK), -1);
	spool_get_counters(sp, &c);
	assert_int_equal(c.spooled, 1);
	/* Nothing left to recover; new ids go past the staged ones. */
	assert_int_equal(spool_recover(sp, recorded, keep), 0);
	assert_int_equal(spool_stage(sp, &n, FIXTURE_T0 + 1), 0);
	assert_true(strcmp(n.id + 14, drop + 14) > 0);
	notification_free(&n);
	spool_close(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_list_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_attempt_exact, setup, teardown),
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test_setup_teardown(test_retry_survives_reopen_then_done, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_and_temp_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stage_commit_recover, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
