/* test-links: daemon/notify.c daemon/notify_smtp.c daemon/notify_webhook.c daemon/notify_curl.c daemon/mime.c daemon/webhook.c daemon/clock.c daemon/spool.c daemon/log.c daemon/fsutil.c */
/*
 * The notifier against real servers: an aiosmtpd SMTP server
 * (tests/files/smtp_receiver.py) and an HTTP receiver
 * (tests/files/http_receiver.py), each started here with posix_spawn on a
 * free loopback port and stopped by its PID. One email (with a PNG chart)
 * and one signed webhook are spooled; the "labqcd-notify" thread sends
 * them and empties the spool; the email and the body with its
 * X-Labqcd-Signature arrived. Then, with the servers down, a notification
 * stays in the spool with its retry scheduled on the backoff; a secret
 * file others can read is refused. A chart that cannot be drawn within
 * its time goes unattached, and the email's text says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/fsutil.h"
#include "tests/unit/notif_fixture.h"
#include "daemon/notify.h"
#include "daemon/webhook.h"

extern char **environ;

struct server {
	pid_t pid;
	int port;
	char dir[300];
};

struct live {
	char dir[64];
	char spool_dir[128];
	char secret[128];
	char chart[128];
	struct server smtp, http;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void start_server(struct live *l, struct server *s, const char *script, const char *name)
{
	char portfile[400], *text;
	char *argv[] = {"/usr/bin/python3", (char *)script, s->dir, portfile, NULL};
	size_t len;
	int status;

	snprintf(s->dir, sizeof(s->dir), "%s/%s", l->dir, name);
	assert_int_equal(fs_mkdir_p(s->dir, 0700), 0);
	snprintf(portfile, sizeof(portfile), "%s/%s.port", l->dir, name);
	assert_int_equal(posix_spawn(&s->pid, argv[0], NULL, NULL, argv, environ), 0);
	for (int i = 0; i < 200; i++) { /* up to 10 s */
		if (fs_read_all(portfile, &text, &len) == 0) {
			s->port = atoi(text);
			free(text);
			return;
		}
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			fail_msg("%s exited before listening (status %d)", script, status);
		}
		sleep_ms(50);
	}
	fail_msg("%s did not write its port within 10 s", script);
}

static void stop_server(struct server *s)
{
	int status;

	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return;
		}
		sleep_ms(50);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &status, 0);
	s->pid = 0;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static int write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd == -1 || write(fd, data, len) != (ssize_t)len)
		return -1;
	fchmod(fd, mode);
	return close(fd);
}

static int setup(void **state)
{
	struct live *l = calloc(1, sizeof(*l));
	static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDRfake-chart-bytes";

	snprintf(l->dir, sizeof(l->dir), "/tmp/labqcd-test-notify-XXXXXX");
	assert_non_null(mkdtemp(l->dir));
	snprintf(l->spool_dir, sizeof(l->spool_dir), "%s/spool", l->dir);
	snprintf(l->secret, sizeof(l->secret), "%s/hook.secret", l->dir);
	assert_int_equal(write_file(l->secret, "s3cret-key\n", 11, 0600), 0);
	snprintf(l->chart, sizeof(l->chart), "%s/fridge-02-temp.png", l->dir);
	assert_int_equal(write_file(l->chart, png, sizeof(png) - 1, 0644), 0);
	start_server(l, &l->smtp, "tests/files/smtp_receiver.py", "smtp");
	start_server(l, &l->http, "tests/files/http_receiver.py", "http");
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	struct live *l = *state;

	stop_server(&l->smtp);
	stop_server(&l->http);
	nftw(l->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(l);
	return 0;
}

static void smtp_cfg(const struct live *l, struct cfg_smtp *smtp)
{
	memset(smtp, 0, sizeof(*smtp));
	snprintf(smtp->url, sizeof(smtp->url), "smtp://127.0.0.1:%d", l->smtp.port);
	snprintf(smtp->from, sizeof(smtp->from), "labqcd <labqcd@lab.example>");
	smtp->timeout_s = 10;
}

static void webhook_notification(const struct live *l, struct notification *n)
{
	fixture_notification(n, NOTIF_WEBHOOK);
	snprintf(n->url, sizeof(n->url), "http://127.0.0.1:%d/hook", l->http.port);
	n->format = WEBHOOK_ALERTMANAGER;
	snprintf(n->secret_file, sizeof(n->secret_file), "%s", l->secret);
	n->timeout_s = 5;
}

static size_t spool_size(struct spool *sp)
{
	char **ids;
	size_t n;

	assert_int_equal(spool_list(sp, &ids, &n), 0);
	spool_list_free(ids, n);
	return n;
}

static char *read_text(const char *path)
{
	char *text = NULL;
	size_t len;

	if (fs_read_all(path, &text, &len) == -1)
		return NULL;
	return text;
}

static void test_sent_through_real_servers(void **state)
{
	struct live *l = *state;
	struct cfg_smtp smtp;
	struct spool *sp = spool_open(l->spool_dir, NULL);
	struct notify_opts o = {.connect_timeout_s = 5, .hostname = "test-host"};
	struct notify *nt;
	struct notification n;
	struct spool_counters c;
	char path[512], *eml, *env, *body, *hdrs, hex[65], want[100];
	int waited = 0;

	assert_non_null(sp);
	smtp_cfg(l, &smtp);
	nt = notify_open(sp, &smtp, &o);
	assert_non_null(nt);
	assert_int_equal(notify_start(nt), 0);

	fixture_notification(&n, NOTIF_EMAIL);
	snprintf(n.alerts[0].chart, sizeof(n.alerts[0].chart), "%s", l->chart);
	assert_int_equal(spool_put(sp, &n, now_s()), 0);
	notification_free(&n);
	webhook_notification(l, &n);
	assert_int_equal(spool_put(sp, &n, now_s()), 0);
	notification_free(&n);

	while (spool_size(sp) > 0 && waited < 15000) {
		sleep_ms(50);
		waited += 50;
	}
	notify_stop(nt);
	assert_int_equal(spool_size(sp), 0);
	spool_get_counters(sp, &c);
	assert_int_equal(c.sent, 2);
	assert_int_equal(c.failed, 0);

	/* The email, as the SMTP server took it. */
	snprintf(path, sizeof(path), "%s/msg-1.eml", l->smtp.dir);
	eml = read_text(path);
	assert_non_null(eml);
	assert_non_null(strstr(eml, "Subject: [labqcd] FIRING critical: main/fridge-02 temp range "
				    "(+1 more)\r\n"));
	assert_non_null(strstr(eml, "From: labqcd <labqcd@lab.example>\r\n"));
	assert_non_null(strstr(eml, "Message-ID: <"));
	assert_non_null(strstr(eml, "@test-host>\r\n"));
	assert_non_null(strstr(eml, "Content-Type: image/png; name=\"fridge-02-temp.png\""));
	assert_non_null(strstr(eml, "move specimens to a backup fridge"));
	snprintf(path, sizeof(path), "%s/msg-1.env", l->smtp.dir);
	env = read_text(path);
	assert_non_null(env);
	assert_string_equal(env, "labqcd@lab.example\nqc-lead@lab.example\nmanager@lab.example\n");

	/* The webhook: body and its signature. */
	snprintf(path, sizeof(path), "%s/post-1.body", l->http.dir);
	body = read_text(path);
	assert_non_null(body);
	assert_non_null(strstr(body, "\"version\":\"4\""));
	snprintf(path, sizeof(path), "%s/post-1.headers", l->http.dir);
	hdrs = read_text(path);
	assert_non_null(hdrs);
	assert_non_null(strstr(hdrs, "Path: /hook\n"));
	assert_non_null(strstr(hdrs, "Content-Type: application/json\n"));
	assert_int_equal(webhook_hmac_hex("s3cret-key", 10, body, strlen(body), hex), 0);
	snprintf(want, sizeof(want), "X-Labqcd-Signature: sha256=%s\n", hex);
	assert_non_null(strstr(hdrs, want));

	free(eml);
	free(env);
	free(body);
	free(hdrs);
	notify_close(nt);
	spool_close(sp);
}

/* The chart drawer of a busy renderer: nothing drawn by the deadline. */
static int busy_chart(const char *spec, double now, double deadline, struct notify_png *out,
		      size_t max, char *why, size_t whylen)
{
	(void)spec, (void)now, (void)out, (void)max;
	while (now_s() < deadline)
		sleep_ms(10);
	snprintf(why, whylen, "another graph was being drawn");
	return -2;
}

/* A chart that cannot be drawn in time: the email goes at the deadline,
 * without a PNG, and its text says which chart is missing and why. */
static void test_chart_not_drawn_in_time(void **state)
{
	struct live *l = *state;
	struct cfg_smtp smtp;
	struct spool *sp = spool_open(l->spool_dir, NULL);
	struct notify_opts o = {.connect_timeout_s = 5, .chart = busy_chart, .chart_timeout_s = 0.5};
	struct notify *nt;
	struct notification n;
	char path[512], *eml;
	double t0;

	assert_non_null(sp);
	smtp_cfg(l, &smtp);
	nt = notify_open(sp, &smtp, &o);
	assert_non_null(nt);
	fixture_notification(&n, NOTIF_EMAIL);
	snprintf(n.alerts[0].chart, sizeof(n.alerts[0].chart), "{\"graph\":1}");
	assert_int_equal(spool_put(sp, &n, now_s()), 0);
	notification_free(&n);
	t0 = now_s();
	assert_int_equal(notify_drain(nt, now_s(), NULL, NULL), 1);
	assert_true(now_s() - t0 >= 0.45 && now_s() - t0 < 5);
	snprintf(path, sizeof(path), "%s/msg-1.eml", l->smtp.dir);
	eml = read_text(path);
	assert_non_null(eml);
	assert_null(strstr(eml, "image/png"));
	assert_non_null(strstr(eml, "Chart of main/fridge-02/temp/range: not attached: it could "
				    "not be drawn within 0.5 s (another graph was being drawn).\r\n"
				    "-- \r\n"));
	free(eml);
	notify_close(nt);
	spool_close(sp);
}

static void test_servers_down_retry_scheduled(void **state)
{
	struct live *l = *state;
	struct cfg_smtp smtp;
	struct spool *sp = spool_open(l->spool_dir, NULL);
	struct notify_opts o = {.connect_timeout_s = 2};
	struct notify *nt;
	struct notification n;
	struct spool_counters c;
	char **ids;
	size_t cnt, left;
	double next, t0;

	smtp_cfg(l, &smtp);
	stop_server(&l->smtp);
	stop_server(&l->http);
	nt = notify_open(sp, &smtp, &o);
	assert_non_null(nt);
	fixture_notification(&n, NOTIF_EMAIL);
	t0 = now_s();
	assert_int_equal(spool_put(sp, &n, t0), 0);
	notification_free(&n);
	webhook_notification(l, &n);
	assert_int_equal(spool_put(sp, &n, t0), 0);
	notification_free(&n);

	assert_int_equal(notify_drain(nt, t0, &left, &next), 0);
	assert_int_equal(left, 2);
	assert_true(next == t0 + 30);
	/* Nothing is due before the backoff: a second pass sends nothing. */
	assert_int_equal(notify_drain(nt, t0 + 29, &left, &next), 0);
	spool_get_counters(sp, &c);
	assert_int_equal(c.failed, 2);
	/* Still failing at t0+30: the next wait doubles. */
	assert_int_equal(notify_drain(nt, t0 + 30, &left, &next), 0);
	assert_true(next == t0 + 30 + 60);
	assert_int_equal(spool_list(sp, &ids, &cnt), 0);
	assert_int_equal(cnt, 2);
	for (size_t i = 0; i < cnt; i++) {
		assert_int_equal(spool_load(sp, ids[i], &n), 0);
		assert_int_equal(n.attempts, 2);
		assert_true(n.last_error[0] != '\0');
		notification_free(&n);
	}
	spool_list_free(ids, cnt);
	notify_close(nt);
	spool_close(sp);
}

static void test_secret_readable_by_others_refused(void **state)
{
	struct live *l = *state;
	struct spool *sp = spool_open(l->spool_dir, NULL);
	struct notify *nt = notify_open(sp, NULL, NULL);
	struct notification n;
	size_t left;
	double next;
	char path[512], err[256], buf[64];

	assert_int_equal(chmod(l->secret, 0644), 0);
	assert_int_equal(fs_read_secret(l->secret, buf, sizeof(buf), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "others may read it"));
	webhook_notification(l, &n);
	assert_int_equal(spool_put(sp, &n, 1000), 0);
	notification_free(&n);
	assert_int_equal(notify_drain(nt, 1000, &left, &next), 0);
	assert_int_equal(left, 1);
	snprintf(path, sizeof(path), "%s/post-1.body", l->http.dir);
	assert_int_equal(access(path, F_OK), -1); /* nothing unsigned went out */
	assert_int_equal(chmod(l->secret, 0600), 0);
	assert_int_equal(fs_read_secret(l->secret, buf, sizeof(buf), err, sizeof(err)), 0);
	assert_string_equal(buf, "s3cret-key");
	notify_close(nt);
	spool_close(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sent_through_real_servers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chart_not_drawn_in_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_servers_down_retry_scheduled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_readable_by_others_refused, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
