/*
 * webhook.h: the JSON bodies a notification becomes, and their HMAC
 * signature. Pure functions (no I/O, no clock); notify_webhook.c posts
 * them.
 *
 *   alertmanager  the Prometheus Alertmanager webhook body, version "4",
 *                 so receivers written for Alertmanager work unchanged
 *   slack         {"text": ..., "blocks": [{"type": "section", mrkdwn}]}
 *   plain         labqcd's own alert records (DESIGN section 8)
 */
#ifndef LABQCD_WEBHOOK_H
#define LABQCD_WEBHOOK_H

#include <stddef.h>

#include "daemon/spool.h"

/* The body for n->format; malloc'ed, the caller frees. NULL on ENOMEM. */
char *webhook_body(const struct notification *n);
char *webhook_alertmanager(const struct notification *n);
char *webhook_slack(const struct notification *n);
char *webhook_plain(const struct notification *n);

/* HMAC-SHA256 of data with key, as 64 lowercase hex digits + NUL. 0 or -1. */
int webhook_hmac_hex(const void *key, size_t keylen, const void *data, size_t len,
		     char hex[65]);

/* RFC 3339 UTC with milliseconds, "2025-11-19T09:00:00.000Z"; t <= 0
 * gives Alertmanager's zero time "0001-01-01T00:00:00Z". */
void webhook_rfc3339(double t, char *buf, size_t len);

#endif
