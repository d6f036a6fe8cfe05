/*
 * notify.h: the notifier, which sends what is in the spool.
 *
 * One thread, "labqcd-notify", owns libcurl easy handles and works
 * through the spool directory oldest first: each entry due now is
 * rendered (mime.c for email, webhook.c for webhooks), sent, and deleted
 * when the server accepted it (SMTP 250 after DATA, HTTP 2xx); a failure
 * reschedules it with backoff (spool_failed). The main loop never waits
 * for it: spool_put wakes the thread through a condition variable.
 *
 * Lock order: notify->lock, then the spool's lock (spool.c takes its own
 * leaf lock only). curl_global_init runs in notify_open, which must be
 * called from the main thread before any other thread uses libcurl.
 */
#ifndef LABQCD_NOTIFY_H
#define LABQCD_NOTIFY_H

#include <stddef.h>

#include "daemon/config.h"
#include "daemon/spool.h"

/* A chart drawn for an email. */
struct notify_png {
	unsigned char *data; /* PNG bytes, malloc'ed */
	size_t len;
	char name[256];      /* the file name the reader sees, "fridge-02-temp.png" */
};

struct notify_opts {
	double connect_timeout_s;  /* default 10 */
	double webhook_timeout_s;  /* default 10, when the receiver says 0 */
	double idle_poll_s;        /* the thread looks at the spool at least this often; 60 */
	const char *hostname;      /* Message-ID host; NULL = gethostname */
	/* Draws the charts an alert's `chart` field describes (a capture,
	 * text that begins with '{'; alert_chart_draw) when its email is
	 * built, waiting for other graphing until `deadline` at most.
	 * Returns how many went into out, -1 or -2 (the deadline passed)
	 * with the reason in why: the email then says the chart is
	 * missing, and why. NULL: only PNG files the field names are
	 * attached (spool entries of earlier versions are such). */
	int (*chart)(const char *spec, double now, double deadline, struct notify_png *out,
		     size_t max, char *why, size_t whylen);
	double chart_timeout_s;    /* the most an email waits for its charts; default 10 */
};

struct notify;

/* smtp is copied. The spool is borrowed and must outlive the notifier.
 * NULL and errno on failure. */
struct notify *notify_open(struct spool *sp, const struct cfg_smtp *smtp,
			   const struct notify_opts *opts);
/* After a config reload (copied under the lock). */
void notify_set_smtp(struct notify *nt, const struct cfg_smtp *smtp);

/* Start the sender thread; it sets itself as the spool's wake callback. */
int notify_start(struct notify *nt);
/* Wake the thread (spool_put does this); safe from any thread. */
void notify_wake(void *nt);
/* Stop the thread after its current send and join it. */
void notify_stop(struct notify *nt);
/* notify_stop if running, then free. */
void notify_close(struct notify *nt);

/* One synchronous pass over the spool in the caller's thread, for tests
 * and for --replay --notify: sends every entry due at `now`. Returns the
 * number sent; *remaining (may be NULL) gets how many entries are left,
 * *next_due (may be NULL) the earliest next attempt among them (0 if
 * none). Do not call while the thread runs. */
int notify_drain(struct notify *nt, double now, size_t *remaining, double *next_due);


#endif
