/*
 * notify_int.h: the notifier's two senders, shared by notify.c (thread,
 * spool walk) and notify_smtp.c / notify_webhook.c. Each sender gets an
 * easy handle owned by the notifier thread (reset before use, so
 * connections are kept) and returns 0 when the server accepted the
 * message, or -1 with the reason in err. `cancel` (may be NULL) aborts
 * a transfer in progress when it becomes true (the daemon is stopping:
 * a server that never answers must not hold the shutdown for its
 * timeout); the entry stays in the spool.
 */
#ifndef LABQCD_NOTIFY_INT_H
#define LABQCD_NOTIFY_INT_H

#include <curl/curl.h>
#include <stdatomic.h>

#include "daemon/notify.h"

/* o: connect_timeout_s, and the chart drawer with its time limit. */
int notify_smtp_send(CURL *c, const struct cfg_smtp *smtp, const struct notification *n,
		     const char *hostname, const struct notify_opts *o, double now,
		     const atomic_bool *cancel, char *err, size_t errlen);
int notify_webhook_send(CURL *c, const struct notification *n, double connect_timeout_s,
			double default_timeout_s, const atomic_bool *cancel, char *err,
			size_t errlen);
/* notify_curl.c: reset `c` for one transfer to `url` over `protocols`
 * ("smtp,smtps"), errors into errbuf (CURL_ERROR_SIZE), aborted once
 * *cancel is true (cancel may be NULL), within the time limits. */
void notify_curl_prepare(CURL *c, const char *url, const char *protocols, char *errbuf,
			 const atomic_bool *cancel, double connect_timeout_s, double timeout_s);

#endif
