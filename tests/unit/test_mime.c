/* test-links: daemon/mime.c daemon/spool.c daemon/log.c daemon/fsutil.c */
/*
 * The email a notification becomes: every RFC 5322 header a mail client
 * and a spam filter look for, the Subject people read, CRLF on every
 * line, the body saying what, where, since when and what to do, and a
 * PNG attachment as base64 in multipart/mixed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>

#include "daemon/mime.h"
#include "tests/unit/notif_fixture.h"

static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
				    'I', 'H', 'D', 'R', 1, 2, 3, 4, 5, 0xff, 0xfe};

/* Every LF is preceded by CR, and no CR stands alone. */
static void assert_crlf(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			assert_true(i > 0 && s[i - 1] == '\r');
		if (s[i] == '\r')
			assert_true(i + 1 < len && s[i + 1] == '\n');
	}
}

/* The header block (up to the first empty line) holds `line` at a line start. */
static bool has_header(const char *msg, const char *line)
{
	const char *end = strstr(msg, "\r\n\r\n");
	size_t n = strlen(line);

	for (const char *p = msg; p && p < end; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL)
		if (strncmp(p, line, n) == 0)
			return true;
	return false;
}

static void test_headers_and_body(void **state)
{
	struct notification n;
	struct mime_opts o = {.from = "labqcd@lab.example", .date = FIXTURE_T0 + 10,
			      .msgid_host = "lab-host"};
	size_t len;
	char *msg;

	(void)state;
	fixture_notification(&n, NOTIF_EMAIL);
	msg = mime_email(&n, &o, &len);
	assert_non_null(msg);
	assert_int_equal(strlen(msg), len);
	assert_crlf(msg, len);
	assert_true(has_header(msg, "Date: Wed, 19 Nov 2025 09:00:10 +0000\r\n"));
	assert_true(has_header(msg, "Message-ID: <1763542810000-00000007-chat@lab-host>\r\n"));
	assert_true(has_header(msg, "From: labqcd@lab.example\r\n"));
	assert_true(has_header(msg, "To: qc-lead@lab.example,\r\n Lab Manager <manager@lab.example>\r\n"));
	assert_true(has_header(msg, "Subject: [labqcd] FIRING critical: main/fridge-02 temp range "
				    "(+1 more)\r\n"));
	assert_true(has_header(msg, "MIME-Version: 1.0\r\n"));
	assert_true(has_header(msg, "Content-Type: text/plain; charset=utf-8\r\n"));
	/* The body: what, where, since, value, rule, next step. */
	assert_non_null(strstr(msg, "What:   temp 9.1 C above max 8 C for 15m\r\n"));
	assert_non_null(strstr(msg, "Where:  site main, instrument fridge-02, channel temp\r\n"));
	assert_non_null(strstr(msg, "Since:  2025-11-19 09:00:00 UTC\r\n"));
	assert_non_null(strstr(msg, "Value:  9.1\r\n"));
	assert_non_null(strstr(msg, "Rule:   range: the reading is outside its allowed range"));
	assert_non_null(strstr(msg, "Next:   move specimens to a backup fridge, check door and "
				    "compressor\r\n"));
	assert_non_null(strstr(msg, "Ended:  2025-11-19 09:05:00 UTC\r\n"));
	free(msg);
	notification_free(&n);
}

static void test_subject_qc_and_resolved(void **state)
{
	struct notification n;
	char subject[256];
	char *body;

	(void)state;
	fixture_notification(&n, NOTIF_EMAIL);
	n.n_alerts = 1;
	snprintf(n.alerts[0].instrument, sizeof(n.alerts[0].instrument), "chem-01");
	snprintf(n.alerts[0].channel, sizeof(n.alerts[0].channel), "glucose");
	snprintf(n.alerts[0].rule, sizeof(n.alerts[0].rule), "qc");
	snprintf(n.alerts[0].kind, sizeof(n.alerts[0].kind), "qc");
	mime_subject(&n, subject, sizeof(subject));
	assert_string_equal(subject, "[labqcd] FIRING critical: main/chem-01 glucose qc");
	body = mime_body_text(&n);
	assert_non_null(strstr(body, "quarantine the run's patient results; investigate, correct, "
				     "rerun controls"));
	assert_non_null(strstr(body, "analyte glucose"));
	free(body);
	snprintf(n.status, sizeof(n.status), "resolved");
	mime_subject(&n, subject, sizeof(subject));
	assert_string_equal(subject, "[labqcd] RESOLVED critical: main/chem-01 glucose qc");
	n.n_alerts = 2;
	notification_free(&n);
}

static void test_no_header_injection(void **state)
{
	struct notification n;
	struct mime_opts o = {.from = "labqcd@lab.example\r\nBcc: evil@x", .date = FIXTURE_T0};
	char *msg;
	size_t len;

	(void)state;
	fixture_notification(&n, NOTIF_EMAIL);
	snprintf(n.to[0], sizeof(n.to[0]), "a@b\nBcc: evil@x");
	msg = mime_email(&n, &o, &len);
	assert_crlf(msg, len);
	assert_false(has_header(msg, "Bcc:"));
	free(msg);
	notification_free(&n);
}

static void test_png_attachment(void **state)
{
	struct notification n;
	struct mime_attachment at = {.name = "fridge-02-temp.png", .data = png, .len = sizeof(png)};
	struct mime_opts o = {.from = "labqcd@lab.example", .date = FIXTURE_T0,
			      .boundary = "BOUNDARY", .attachments = &at, .n_attachments = 1};
	char *msg, *b64, *part;
	size_t len, blen;

	(void)state;
	fixture_notification(&n, NOTIF_EMAIL);
	msg = mime_email(&n, &o, &len);
	assert_non_null(msg);
	assert_crlf(msg, len);
	assert_true(has_header(msg, "Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n"));
	assert_non_null(strstr(msg, "\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\n"));
	part = strstr(msg, "--BOUNDARY\r\nContent-Type: image/png; name=\"fridge-02-temp.png\"\r\n"
			   "Content-Transfer-Encoding: base64\r\n"
			   "Content-Disposition: attachment; filename=\"fridge-02-temp.png\"\r\n\r\n");
	assert_non_null(part);
	b64 = mime_base64(png, sizeof(png), &blen);
	assert_string_equal(b64, "iVBORw0KGgoAAAANSUhEUgECAwQF//4=\r\n");
	assert_non_null(strstr(part, b64));
	assert_non_null(strstr(msg, "\r\n--BOUNDARY--\r\n"));
	free(b64);
	free(msg);
	notification_free(&n);
}

/* A report (issue 19): its subject, a body about the files and the
 * chain, a PDF part with its own content type, and the report fields
 * surviving the spool's JSON (the notifier reads them back from it). */
static void test_report_email(void **state)
{
	static const unsigned char pdf[] = "%PDF-1.5\n%\xe2\xe3";
	struct notification n, back;
	struct mime_attachment at = {.name = "main_fridge-01_2026-11.pdf", .data = pdf,
				     .len = sizeof(pdf) - 1, .type = "application/pdf"};
	struct mime_opts o = {.from = "labqcd@lab.example", .date = FIXTURE_T0,
			      .boundary = "B", .attachments = &at, .n_attachments = 1};
	char subject[256], err[128], *msg, *json, *body;
	size_t len;

	(void)state;
	memset(&n, 0, sizeof(n));
	snprintf(n.id, sizeof(n.id), "1763542810000-00000008-qc-team");
	snprintf(n.receiver, sizeof(n.receiver), "qc-team");
	snprintf(n.status, sizeof(n.status), "report");
	snprintf(n.to[n.n_to++], sizeof(n.to[0]), "qc-lead@lab.example");
	snprintf(n.report, sizeof(n.report), "2026-11");
	snprintf(n.report_lab, sizeof(n.report_lab), "Central Laboratory");
	snprintf(n.report_dir, sizeof(n.report_dir), "/var/lib/labqcd/reports/2026-11.1");
	mime_subject(&n, subject, sizeof(subject));
	assert_string_equal(subject, "[labqcd] Report 2026-11: Central Laboratory");
	msg = mime_email(&n, &o, &len);
	assert_non_null(msg);
	assert_crlf(msg, len);
	assert_non_null(strstr(msg, "--B\r\nContent-Type: application/pdf; "
				    "name=\"main_fridge-01_2026-11.pdf\"\r\n"
				    "Content-Transfer-Encoding: base64\r\n"
				    "Content-Disposition: attachment; "
				    "filename=\"main_fridge-01_2026-11.pdf\"\r\n\r\n"
				    /* base64 of "%PDF-1.5\n%\xe2\xe3", by hand */
				    "JVBERi0xLjUKJeLj\r\n"));
	assert_non_null(strstr(msg, "report of Central Laboratory for 2026-11 is attached"));
	assert_non_null(strstr(msg, "chain verified"));
	assert_null(strstr(msg, "Acknowledge with"));
	free(msg);

	n.report_chain_broken = true;
	mime_subject(&n, subject, sizeof(subject));
	assert_string_equal(subject,
			    "[labqcd] Report 2026-11: Central Laboratory (audit chain BROKEN)");
	body = mime_body_text(&n);
	assert_non_null(strstr(body, "did NOT verify"));
	free(body);

	json = notification_to_json(&n);
	assert_non_null(json);
	assert_int_equal(notification_from_json(json, &back, err, sizeof(err)), 0);
	assert_string_equal(back.report, "2026-11");
	assert_string_equal(back.report_lab, "Central Laboratory");
	assert_string_equal(back.report_dir, "/var/lib/labqcd/reports/2026-11.1");
	assert_true(back.report_chain_broken);
	free(json);
	notification_free(&back);
	/* An alert's entry has no report. */
	fixture_notification(&n, NOTIF_EMAIL);
	json = notification_to_json(&n);
	assert_null(strstr(json, "\"report\""));
	assert_int_equal(notification_from_json(json, &back, err, sizeof(err)), 0);
	assert_string_equal(back.report, "");
	free(json);
	notification_free(&back);
	notification_free(&n);
}

static void test_base64_lines(void **state)
{
	unsigned char data[200];
	char *b64;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)i;
	b64 = mime_base64(data, sizeof(data), &len);
	/* 200 bytes -> 268 characters -> lines of 76, 76, 76, 40. */
	assert_int_equal(len, 268 + 4 * 2);
	assert_int_equal(strchr(b64, '\r') - b64, 76);
	assert_crlf(b64, len);
	free(b64);
	b64 = mime_base64((const unsigned char *)"f", 1, &len);
	assert_string_equal(b64, "Zg==\r\n");
	free(b64);
	b64 = mime_base64((const unsigned char *)"fo", 2, &len);
	assert_string_equal(b64, "Zm8=\r\n");
	free(b64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_and_body),
		cmocka_unit_test(test_subject_qc_and_resolved),
		cmocka_unit_test(test_no_header_injection),
		cmocka_unit_test(test_png_attachment),
		cmocka_unit_test(test_base64_lines),
		cmocka_unit_test(test_report_email),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
