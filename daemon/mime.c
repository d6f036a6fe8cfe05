/*
 * mime.c: a notification as an email: RFC 5322 headers, a text/plain
 * body for people, and PNG charts (or a report's PDFs) as base64 parts
 * of a multipart/mixed message. Pure: everything it needs comes in as arguments.
 *
 * Header values that come from config or input are stripped of CR and LF
 * (no header injection). The body is UTF-8, 8bit; every line ends in
 * CRLF, as SMTP DATA wants.
 */
#include "daemon/mime.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *np;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		sb_add(b, tmp, (size_t)n);
		return;
	}
	{
		char *big = malloc((size_t)n + 1);
		if (big == NULL) {
			b->oom = true;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		sb_add(b, big, (size_t)n);
		free(big);
	}
}

/* A header value from config or input: no CR, LF or other controls. */
static void sb_header_value(struct sbuf *b, const char *s)
{
	for (; *s; s++)
		sb_add(b, (unsigned char)*s < 0x20 || *s == 0x7f ? " " : s, 1);
}

static char *sb_finish(struct sbuf *b, size_t *len)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	if (b->p == NULL)
		sb_add(b, "", 0);
	if (len)
		*len = b->len;
	return b->p;
}

void mime_date(double t, char *buf, size_t len)
{
	static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)floor(t);
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void utc_text(double t, char *buf, size_t len)
{
	time_t tt = (time_t)floor(t);
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

char *mime_base64(const unsigned char *data, size_t len, size_t *outlen)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t quads = (len + 2) / 3, lines = (quads * 4 + 75) / 76;
	char *out = malloc(quads * 4 + lines * 2 + 1), *o = out;
	size_t col = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)data[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		*o++ = tab[(v >> 18) & 63];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
		col += 4;
		if (col == 76 || i + 3 >= len) {
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
		}
	}
	*o = '\0';
	if (outlen)
		*outlen = (size_t)(o - out);
	return out;
}

const char *mime_rule_words(const char *rule)
{
	static const struct {
		const char *rule, *words;
	} w[] = {
		{"qc", "a QC run was rejected by the Westgard multirule: the control results say "
		       "the assay is out of control"},
		{"range", "the reading is outside its allowed range (and stayed there longer than "
			  "the configured delay)"},
		{"stale", "no reading arrived within the stale interval: communication with the "
			  "sensor is lost"},
		{"rate", "the reading changes faster than allowed"},
		{"drift", "the reading drifts slowly away from its normal level (EWMA beyond its "
			  "limit), before any hard limit"},
		{"service", "the usage counter reached its service interval"},
		{"calendar", "a calibration or preventive maintenance is due"},
		{"task", "a scheduled task was not checked off in time"},
		{"status", "the instrument reports an error code"},
		{"broker", "labqcd lost its MQTT broker (unreachable, or the subscription "
			   "refused) for longer than mqtt.lost_after: it cannot see the lab"},
		{"Watchdog", "labqcd's heartbeat: it always fires while labqcd runs"},
	};

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(rule, w[i].rule) == 0)
			return w[i].words;
	return "a monitoring rule fired";
}

const char *mime_next_step(const char *rule, const char *channel)
{
	if (strcmp(rule, "qc") == 0)
		return "quarantine the run's patient results; investigate, correct, rerun controls";
	if (strcmp(rule, "range") == 0 || strcmp(rule, "rate") == 0) {
		if (strncmp(channel, "temp", 4) == 0)
			return "move specimens to a backup fridge, check door and compressor";
		return "check the instrument now; take it out of use if the reading is real";
	}
	if (strcmp(rule, "stale") == 0)
		return "check the sensor's power and network; read the value by hand meanwhile";
	if (strcmp(rule, "drift") == 0)
		return "schedule a check or calibration before the reading reaches its limit";
	if (strcmp(rule, "service") == 0)
		return "book the service; record service_done when it is finished";
	if (strcmp(rule, "calendar") == 0)
		return "perform the calibration or maintenance; record calibration_done";
	if (strcmp(rule, "task") == 0)
		return "do the task and record task_done";
	if (strcmp(rule, "status") == 0)
		return "read the error code on the instrument and follow its manual";
	if (strcmp(rule, "broker") == 0)
		return "get the broker running and reachable from labqcd (network, credentials, "
		       "ACL); meanwhile nothing is monitored: check fridges and freezers by hand";
	if (strcmp(rule, "Watchdog") == 0)
		return "nothing: an alarm when it stops arriving is the point";
	return "look at the instrument and the dashboard";
}

static const char *worst_severity(const struct notification *n)
{
	static const char *order[] = {"critical", "warning", "info"};

	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < n->n_alerts; i++)
			if (strcmp(n->alerts[i].severity, order[k]) == 0)
				return order[k];
	return n->n_alerts ? n->alerts[0].severity : "none";
}

void mime_subject(const struct notification *n, char *buf, size_t len)
{
	const struct notif_alert *a = n->n_alerts ? &n->alerts[0] : NULL;
	char more[32] = "";
	const char *status = strcmp(n->status, "resolved") == 0 ? "RESOLVED" : "FIRING";

	if (n->report[0]) {
		snprintf(buf, len, "[labqcd] Report %s: %s%s", n->report, n->report_lab,
			 n->report_chain_broken ? " (audit chain BROKEN)" : "");
		return;
	}
	if (n->n_alerts > 1)
		snprintf(more, sizeof(more), " (+%zu more)", n->n_alerts - 1);
	if (a == NULL)
		snprintf(buf, len, "[labqcd] %s", status);
	else
		snprintf(buf, len, "[labqcd] %s%s %s: %s/%s %s %s%s", status,
			 strcmp(n->reason, "repeat") == 0 ? " (repeat)" : "", worst_severity(n),
			 a->site, a->instrument, a->channel, a->rule, more);
}

static char *report_body_text(const struct notification *n)
{
	struct sbuf b = {0};

	sb_printf(&b, "The QC and equipment report of %s for %s is attached: a PDF per\n"
		      "instrument, a summary PDF per site, and report.json with every figure\n"
		      "printed (for a LIS or a spreadsheet).\n\n",
		  n->report_lab, n->report);
	if (n->report_chain_broken)
		sb_str(&b, "The audit log's hash chain did NOT verify up to the period's end: the\n"
			   "record was edited, removed or reordered. The reports say so on their\n"
			   "first page; check it with: labqcctl verify-audit\n\n");
	else
		sb_str(&b, "The audit log's hash chain verified up to the period's end; each report\n"
			   "ends with its head hash.\n\n");
	sb_printf(&b, "The same files stay on the server in %s\n", n->report_dir);
	sb_str(&b, "\n-- \n");
	sb_printf(&b, "labqcd, receiver %s\n", n->receiver);
	return sb_finish(&b, NULL);
}

char *mime_body_text(const struct notification *n)
{
	struct sbuf b = {0};
	char when[64];

	if (n->report[0])
		return report_body_text(n);
	if (strcmp(n->reason, "escalation") == 0)
		sb_str(&b, "Nobody has acknowledged this alert yet; you are told as the next step.\n\n");
	else if (strcmp(n->reason, "repeat") == 0)
		sb_str(&b, "Still firing and not acknowledged (repeat).\n\n");
	for (size_t i = 0; i < n->n_alerts; i++) {
		const struct notif_alert *a = &n->alerts[i];
		bool firing = strcmp(a->status, "firing") == 0;

		if (n->n_alerts > 1)
			sb_printf(&b, "%zu. ", i + 1);
		sb_printf(&b, "%s %s: %s\n", firing ? "FIRING" : "RESOLVED", a->severity, a->key);
		sb_printf(&b, "What:   %s\n", a->summary);
		sb_printf(&b, "Where:  site %s, instrument %s, %s %s\n", a->site, a->instrument,
			  strcmp(a->kind, "qc") == 0 ? "analyte" : "channel", a->channel);
		utc_text(a->starts_at, when, sizeof(when));
		sb_printf(&b, "Since:  %s\n", when);
		if (!firing && a->ends_at > 0) {
			utc_text(a->ends_at, when, sizeof(when));
			sb_printf(&b, "Ended:  %s\n", when);
		}
		if (isfinite(a->value))
			sb_printf(&b, "Value:  %.10g\n", a->value);
		sb_printf(&b, "Rule:   %s: %s\n", a->rule, mime_rule_words(a->rule));
		if (firing)
			sb_printf(&b, "Next:   %s%s\n", mime_next_step(a->rule, a->channel),
				  a->acknowledged ? " (acknowledged)" : "");
		else
			sb_str(&b, "Next:   check that the cause was dealt with and record it\n");
		sb_str(&b, "\n");
	}
	sb_printf(&b, "Acknowledge with: labqcctl ack %s \"comment\"\n",
		  n->n_alerts ? n->alerts[0].key : "KEY");
	if (n->external_url[0])
		sb_printf(&b, "Dashboard: %s\n", n->external_url);
	sb_str(&b, "\n-- \n");
	sb_printf(&b, "labqcd, receiver %s\n", n->receiver);
	return sb_finish(&b, NULL);
}

/* Append text with every LF (and lone CR) made CRLF. */
static void sb_crlf(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\r')
			continue;
		if (*s == '\n')
			sb_add(b, "\r\n", 2);
		else
			sb_add(b, s, 1);
	}
}

char *mime_email(const struct notification *n, const struct mime_opts *o, size_t *len)
{
	struct sbuf b = {0};
	char subject[512], date[64], boundary[128];
	char *body;

	mime_subject(n, subject, sizeof(subject));
	mime_date(o->date, date, sizeof(date));
	if (o->boundary)
		snprintf(boundary, sizeof(boundary), "%s", o->boundary);
	else {
		/* At most 70 characters (RFC 2046), unique per message. */
		unsigned long long h = 0xcbf29ce484222325ULL;
		for (const char *p = n->id; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
		snprintf(boundary, sizeof(boundary), "=_labqcd_%016llx", h);
	}

	sb_printf(&b, "Date: %s\r\n", date);
	sb_str(&b, "Message-ID: <");
	sb_header_value(&b, n->id);
	sb_str(&b, "@");
	sb_header_value(&b, o->msgid_host && o->msgid_host[0] ? o->msgid_host : "labqcd");
	sb_str(&b, ">\r\nFrom: ");
	sb_header_value(&b, o->from);
	sb_str(&b, "\r\nTo: ");
	for (size_t i = 0; i < n->n_to; i++) {
		if (i)
			sb_str(&b, ",\r\n ");
		sb_header_value(&b, n->to[i]);
	}
	sb_str(&b, "\r\nSubject: ");
	sb_header_value(&b, subject);
	sb_str(&b, "\r\nMIME-Version: 1.0\r\n");
	sb_str(&b, "Auto-Submitted: auto-generated\r\n");
	sb_str(&b, "X-Labqcd-Status: ");
	sb_header_value(&b, n->status);
	sb_str(&b, "\r\n");
	if (n->audit_head[0]) {
		sb_str(&b, "X-Labqcd-Audit-Head: ");
		sb_header_value(&b, n->audit_head);
		sb_str(&b, "\r\n");
	}

	body = mime_body_text(n);
	if (body == NULL) {
		free(b.p);
		return NULL;
	}
	if (o->chart_note && o->chart_note[0]) {
		/* Before the signature ("-- " on a line of its own, RFC 3676). */
		char *sig = NULL, *nb;
		for (char *p = strstr(body, "\n-- \n"); p; p = strstr(p + 1, "\n-- \n"))
			sig = p;
		size_t at = sig ? (size_t)(sig - body) + 1 : strlen(body);
		size_t nlen = strlen(o->chart_note), blen = strlen(body);

		if ((nb = malloc(blen + nlen + 2)) == NULL) {
			free(body);
			free(b.p);
			return NULL;
		}
		memcpy(nb, body, at);
		memcpy(nb + at, o->chart_note, nlen);
		size_t k = at + nlen;
		if (nlen > 0 && o->chart_note[nlen - 1] != '\n')
			nb[k++] = '\n';
		memcpy(nb + k, body + at, blen - at + 1);
		free(body);
		body = nb;
	}
	if (o->n_attachments == 0) {
		sb_str(&b, "Content-Type: text/plain; charset=utf-8\r\n"
			   "Content-Transfer-Encoding: 8bit\r\n\r\n");
		sb_crlf(&b, body);
	} else {
		sb_printf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary);
		sb_str(&b, "This is a multi-part message in MIME format.\r\n");
		sb_printf(&b, "--%s\r\n", boundary);
		sb_str(&b, "Content-Type: text/plain; charset=utf-8\r\n"
			   "Content-Transfer-Encoding: 8bit\r\n\r\n");
		sb_crlf(&b, body);
		for (size_t i = 0; i < o->n_attachments; i++) {
			const struct mime_attachment *at = &o->attachments[i];
			char *enc = mime_base64(at->data, at->len, NULL);
			if (enc == NULL) {
				b.oom = true;
				break;
			}
			sb_printf(&b, "--%s\r\n", boundary);
			sb_str(&b, "Content-Type: ");
			sb_header_value(&b, at->type ? at->type : "image/png");
			sb_str(&b, "; name=\"");
			sb_header_value(&b, at->name);
			sb_str(&b, "\"\r\nContent-Transfer-Encoding: base64\r\n"
				   "Content-Disposition: attachment; filename=\"");
			sb_header_value(&b, at->name);
			sb_str(&b, "\"\r\n\r\n");
			sb_str(&b, enc);
			free(enc);
		}
		sb_printf(&b, "--%s--\r\n", boundary);
	}
	free(body);
	return sb_finish(&b, len);
}
