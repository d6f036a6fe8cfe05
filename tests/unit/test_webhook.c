/* test-links: daemon/webhook.c daemon/clock.c daemon/spool.c daemon/log.c daemon/fsutil.c */
/*
 * Webhook bodies against the fixtures in tests/files/webhook/ (compared
 * as JSON, not as bytes), the Alertmanager fields a receiver relies on,
 * and the HMAC-SHA256 signature against RFC 4231 test case 2.
 * Set LABQCD_WRITE_FIXTURES=1 to rewrite the fixture files (then read
 * the diff before keeping it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "daemon/fsutil.h"
#include "tests/unit/notif_fixture.h"
#include "daemon/webhook.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/files/webhook"
#endif

static void check_fixture(const char *name, const char *body)
{
	char path[256], *want_text;
	size_t len;
	cJSON *got = cJSON_Parse(body), *want;

	assert_non_null(got);
	snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, name);
	if (getenv("LABQCD_WRITE_FIXTURES")) {
		char *pretty = cJSON_Print(got);
		size_t n = strlen(pretty);
		pretty = realloc(pretty, n + 2);
		pretty[n] = '\n';
		pretty[n + 1] = '\0';
		assert_int_equal(fs_write_atomic(path, pretty, n + 1, 0644), 0);
		free(pretty);
	}
	assert_int_equal(fs_read_all(path, &want_text, &len), 0);
	want = cJSON_Parse(want_text);
	assert_non_null(want);
	if (!cJSON_Compare(got, want, true)) {
		char *g = cJSON_Print(got);
		fprintf(stderr, "%s differs; got:\n%s\n", path, g);
		free(g);
		fail();
	}
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(want_text);
}

static void test_alertmanager(void **state)
{
	struct notification n;
	char *body;
	cJSON *o, *a0, *labels;

	(void)state;
	fixture_notification(&n, NOTIF_WEBHOOK);
	n.format = WEBHOOK_ALERTMANAGER;
	body = webhook_body(&n);
	assert_non_null(body);
	check_fixture("alertmanager.json", body);

	o = cJSON_Parse(body);
	assert_string_equal(cJSON_GetObjectItem(o, "version")->valuestring, "4");
	assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "firing");
	assert_string_equal(cJSON_GetObjectItem(o, "receiver")->valuestring, "chat");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "alerts")), 2);
	a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "alerts"), 0);
	labels = cJSON_GetObjectItem(a0, "labels");
	assert_string_equal(cJSON_GetObjectItem(labels, "alertname")->valuestring, "range");
	assert_string_equal(cJSON_GetObjectItem(labels, "key")->valuestring,
			    "main/fridge-02/temp/range");
	assert_string_equal(cJSON_GetObjectItem(a0, "startsAt")->valuestring,
			    "2025-11-19T09:00:00.000Z");
	assert_string_equal(cJSON_GetObjectItem(a0, "endsAt")->valuestring, "0001-01-01T00:00:00Z");
	assert_int_equal(strlen(cJSON_GetObjectItem(a0, "fingerprint")->valuestring), 16);
	/* Labels both alerts share; the instrument differs. */
	labels = cJSON_GetObjectItem(o, "commonLabels");
	assert_string_equal(cJSON_GetObjectItem(labels, "alertname")->valuestring, "range");
	assert_null(cJSON_GetObjectItem(labels, "instrument"));
	cJSON_Delete(o);
	free(body);
	notification_free(&n);
}

/* Issue 20: the audit anchor rides in commonAnnotations (the body stays
 * Alertmanager's: every other field as without it), and in plain's. */
static void test_audit_head(void **state)
{
	static const char head[] = "records=12 sha256="
	                           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	struct notification n;
	char *body, *without;
	cJSON *o, *w, *common;

	(void)state;
	fixture_notification(&n, NOTIF_WEBHOOK);
	n.format = WEBHOOK_ALERTMANAGER;
	without = webhook_body(&n);
	snprintf(n.audit_head, sizeof(n.audit_head), "%s", head);
	body = webhook_body(&n);
	o = cJSON_Parse(body);
	w = cJSON_Parse(without);
	assert_non_null(o);
	common = cJSON_GetObjectItem(o, "commonAnnotations");
	assert_string_equal(cJSON_GetObjectItem(common, "audit_head")->valuestring, head);
	cJSON_DeleteItemFromObject(common, "audit_head");
	assert_true(cJSON_Compare(o, w, true));
	cJSON_Delete(o);
	cJSON_Delete(w);
	free(body);
	free(without);
	n.format = WEBHOOK_PLAIN;
	body = webhook_body(&n);
	o = cJSON_Parse(body);
	assert_string_equal(cJSON_GetObjectItem(o, "audit_head")->valuestring, head);
	cJSON_Delete(o);
	free(body);
	notification_free(&n);
}

static void test_slack(void **state)
{
	struct notification n;
	char *body;

	(void)state;
	fixture_notification(&n, NOTIF_WEBHOOK);
	n.format = WEBHOOK_SLACK;
	body = webhook_body(&n);
	assert_non_null(body);
	check_fixture("slack.json", body);
	free(body);
	notification_free(&n);
}

static void test_plain(void **state)
{
	struct notification n;
	char *body;

	(void)state;
	fixture_notification(&n, NOTIF_WEBHOOK);
	n.format = WEBHOOK_PLAIN;
	n.alerts[0].value = NAN; /* no value: null, not a bogus number */
	body = webhook_body(&n);
	assert_non_null(body);
	check_fixture("plain.json", body);
	free(body);
	notification_free(&n);
}

static void test_hmac_rfc4231_case2(void **state)
{
	char hex[65];
	const char *data = "what do ya want for nothing?";

	(void)state;
	assert_int_equal(webhook_hmac_hex("Jefe", 4, data, strlen(data), hex), 0);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_rfc3339(void **state)
{
	char buf[40];

	(void)state;
	webhook_rfc3339(FIXTURE_T0 + 0.9996, buf, sizeof(buf));
	assert_string_equal(buf, "2025-11-19T09:00:01.000Z");
	webhook_rfc3339(0, buf, sizeof(buf));
	assert_string_equal(buf, "0001-01-01T00:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alertmanager),
		cmocka_unit_test(test_audit_head),
		cmocka_unit_test(test_slack),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_hmac_rfc4231_case2),
		cmocka_unit_test(test_rfc3339),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
