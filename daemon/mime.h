/*
 * mime.h: the email a notification becomes (RFC 5322 + MIME), built by
 * pure functions: no I/O, no clock (the date comes in as a value), so
 * tests compare bytes. notify_smtp.c reads the chart files and sends.
 */
#ifndef LABQCD_MIME_H
#define LABQCD_MIME_H

#include <stddef.h>

#include "daemon/spool.h"

struct mime_attachment {
	const char *name;          /* file name shown to the reader, "fridge-02-temp.png" */
	const unsigned char *data; /* the file's bytes */
	size_t len;
	const char *type;          /* Content-Type, "application/pdf"; NULL = image/png */
};

struct mime_opts {
	const char *from;       /* From address */
	double date;            /* Date header, epoch seconds */
	const char *msgid_host; /* right side of Message-ID, e.g. the host name */
	const char *boundary;   /* multipart boundary; NULL = derived from n->id */
	const struct mime_attachment *attachments;
	size_t n_attachments;
	/* Lines for the reader about the charts (one that could not be
	 * drawn, and why), put in the body before the signature; NULL or
	 * "" = none. */
	const char *chart_note;
};

/* The whole message, CRLF line endings, ready for SMTP DATA. malloc'ed:
 * the caller frees. *len gets its length. NULL on ENOMEM. */
char *mime_email(const struct notification *n, const struct mime_opts *o, size_t *len);

/* "[labqcd] FIRING critical: main/fridge-02 temp range (+11 more)";
 * for a report, "[labqcd] Report 2026-11: Central Laboratory". */
void mime_subject(const struct notification *n, char *buf, size_t len);

/* The plain-text body (LF line endings; mime_email makes them CRLF):
 * what, where, since when, the value, the rule in words, the next step
 * (for a report: what is attached and whether the audit chain held).
 * malloc'ed; NULL on ENOMEM. */
char *mime_body_text(const struct notification *n);

/* What a rule means and what to do about it, for people. */
const char *mime_rule_words(const char *rule);
const char *mime_next_step(const char *rule, const char *channel);

/* Base64 (RFC 2045), lines of 76 characters ending in CRLF. malloc'ed. */
char *mime_base64(const unsigned char *data, size_t len, size_t *outlen);

/* RFC 5322 date, "Wed, 19 Nov 2025 09:00:00 +0000" (UTC). */
void mime_date(double t, char *buf, size_t len);

#endif
