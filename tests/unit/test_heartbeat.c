/* test-links: daemon/heartbeat.c daemon/notify.c daemon/notify_smtp.c daemon/notify_webhook.c daemon/notify_curl.c daemon/clock.c rules/severity.c daemon/mime.c daemon/webhook.c daemon/spool.c daemon/log.c daemon/fsutil.c */
/*
 * The heartbeat's Watchdog notification (issue 15): as an Alertmanager
 * v4 webhook body it has what a dead-man's switch written for
 * Alertmanager's Watchdog looks for (status firing, alertname Watchdog,
 * severity none, startsAt the given start time, endsAt Alertmanager's zero
 * time), and as an email it goes to every address of the receiver. A
 * heartbeat that is not configured never asks for a beat. Expected values
 * are written out by hand: 1765000000 is 2025-12-06T05:46:40Z.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/heartbeat.h"
#include "daemon/webhook.h"

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b != NULL)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	assert_true(cJSON_IsString(x));
	return x->valuestring;
}

static void test_webhook_body(void **state)
{
	struct cfg_receiver rcv;
	struct notification n;
	char *body;
	cJSON *o, *alerts, *a;

	(void)state;
	memset(&rcv, 0, sizeof(rcv));
	snprintf(rcv.name, sizeof(rcv.name), "deadman");
	rcv.has_webhook = true;
	snprintf(rcv.webhook_url, sizeof(rcv.webhook_url), "http://127.0.0.1:9/watchdog");
	rcv.webhook_format = WEBHOOK_ALERTMANAGER;
	rcv.timeout_s = 5;
	assert_int_equal(heartbeat_notification(&rcv, NOTIF_WEBHOOK, "labqcd-a", 1765000000.0,
						1765000123.0, &n),
			 0);
	assert_string_equal(n.url, "http://127.0.0.1:9/watchdog");
	assert_true(n.timeout_s == 5);
	body = webhook_body(&n);
	assert_non_null(body);
	o = cJSON_Parse(body);
	assert_non_null(o);
	assert_string_equal(str_at(o, "version", NULL), "4");
	assert_string_equal(str_at(o, "status", NULL), "firing");
	assert_string_equal(str_at(o, "receiver", NULL), "deadman");
	alerts = cJSON_GetObjectItemCaseSensitive(o, "alerts");
	assert_int_equal(cJSON_GetArraySize(alerts), 1);
	a = cJSON_GetArrayItem(alerts, 0);
	assert_string_equal(str_at(a, "status", NULL), "firing");
	assert_string_equal(str_at(a, "labels", "alertname"), "Watchdog");
	assert_string_equal(str_at(a, "labels", "severity"), "none");
	assert_string_equal(str_at(a, "labels", "key"), "labqcd/labqcd-a/watchdog");
	assert_string_equal(str_at(a, "labels", "kind"), "monitor");
	assert_string_equal(str_at(a, "startsAt", NULL), "2025-12-06T05:46:40.000Z");
	assert_string_equal(str_at(a, "endsAt", NULL), "0001-01-01T00:00:00Z");
	assert_string_equal(str_at(o, "commonLabels", "alertname"), "Watchdog");
	cJSON_Delete(o);
	free(body);
	notification_free(&n);
}

static void test_email(void **state)
{
	char *addrs[] = {"a@lab.example", "b@lab.example"};
	struct cfg_receiver rcv;
	struct notification n;

	(void)state;
	memset(&rcv, 0, sizeof(rcv));
	snprintf(rcv.name, sizeof(rcv.name), "ops");
	rcv.email = addrs;
	rcv.n_email = 2;
	assert_int_equal(heartbeat_notification(&rcv, NOTIF_EMAIL, "x", 1765000000.0, 0, &n), 0);
	assert_int_equal(n.kind, NOTIF_EMAIL);
	assert_int_equal(n.n_to, 2);
	assert_string_equal(n.to[0], "a@lab.example");
	assert_string_equal(n.to[1], "b@lab.example");
	assert_int_equal(n.n_alerts, 1);
	assert_string_equal(n.alerts[0].status, "firing");
	assert_true(n.alerts[0].ends_at == 0);
	notification_free(&n);
}

/* No heartbeat: section: nothing is ever due, whatever the clock says. */
static void test_off(void **state)
{
	struct config cfg;
	struct heartbeat *hb = heartbeat_open();

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_non_null(hb);
	assert_int_equal(heartbeat_configure(hb, &cfg, 1765000000.0), 0);
	assert_int_equal(heartbeat_start(hb), 0); /* running, but configured off */
	assert_true(heartbeat_tick(hb, 1e6) >= 60);
	assert_true(heartbeat_tick(hb, 2e6) >= 60);
	struct heartbeat_counters c;
	heartbeat_get_counters(hb, &c);
	assert_int_equal(c.sent + c.failed + c.dropped, 0);
	heartbeat_close(hb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_body),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
