/*
 * notify.c: the "labqcd-notify" thread and the walk over the spool.
 *
 * The thread sleeps on a condition variable until spool_put wakes it,
 * the earliest retry is due, or idle_poll_s passed; then it makes one
 * pass over the spool, oldest first, sending what is due. Sends are
 * sequential in this thread (a slow server delays the others by at most
 * its timeouts); the main loop only ever writes files and signals.
 * Failures that repeat are logged through complain(), once per kind.
 * An email's charts are drawn here as it is built (opts.chart, see
 * alert_chart.h), within opts.chart_timeout_s: a chart not drawn by then
 * is left out and the email says so; the send is never held for it.
 * The spool's counters (spooled, sent, failed, retried) are logged when
 * they change, at most once a minute. notify_stop sets `cancel`, which
 * aborts a transfer in progress (a server that accepts and never answers
 * would otherwise hold the shutdown for smtp.timeout).
 */
#include "daemon/notify.h"
#include "daemon/log.h"
#include "daemon/notify_int.h"
#include "daemon/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct notify {
	struct spool *spool;
	struct notify_opts opts;
	char hostname[256];

	pthread_mutex_t lock; /* smtp, stop, woken; taken before the spool's */
	pthread_cond_t cond;
	struct cfg_smtp smtp;
	bool stop, woken, running;
	pthread_t thread;
	atomic_bool cancel; /* set with stop; read by curl's progress callback */

	/* Notifier thread only: the counters as last logged, and when. */
	struct spool_counters logged;
	double logged_at;

	/* Owned by whichever thread sends (the notifier, or a notify_drain caller). */
	CURL *smtp_handle, *http_handle;
	struct complaint smtp_complaint, webhook_complaint;
};

struct notify *notify_open(struct spool *sp, const struct cfg_smtp *smtp,
			   const struct notify_opts *opts)
{
	struct notify *nt = calloc(1, sizeof(*nt));

	if (nt == NULL)
		return NULL;
	atomic_init(&nt->cancel, false);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(nt);
		errno = EIO;
		return NULL;
	}
	nt->spool = sp;
	if (opts)
		nt->opts = *opts;
	if (nt->opts.connect_timeout_s <= 0)
		nt->opts.connect_timeout_s = 10;
	if (nt->opts.webhook_timeout_s <= 0)
		nt->opts.webhook_timeout_s = 10;
	if (nt->opts.idle_poll_s <= 0)
		nt->opts.idle_poll_s = 60;
	if (nt->opts.chart_timeout_s <= 0)
		nt->opts.chart_timeout_s = 10;
	if (opts && opts->hostname)
		snprintf(nt->hostname, sizeof(nt->hostname), "%s", opts->hostname);
	else if (gethostname(nt->hostname, sizeof(nt->hostname)) == -1)
		snprintf(nt->hostname, sizeof(nt->hostname), "labqcd");
	nt->hostname[sizeof(nt->hostname) - 1] = '\0';
	nt->opts.hostname = NULL;
	if (smtp)
		nt->smtp = *smtp;
	pthread_mutex_init(&nt->lock, NULL);
	pthread_cond_init(&nt->cond, NULL);
	nt->smtp_handle = curl_easy_init();
	nt->http_handle = curl_easy_init();
	if (nt->smtp_handle == NULL || nt->http_handle == NULL) {
		notify_close(nt);
		errno = ENOMEM;
		return NULL;
	}
	return nt;
}

void notify_set_smtp(struct notify *nt, const struct cfg_smtp *smtp)
{
	pthread_mutex_lock(&nt->lock);
	nt->smtp = *smtp;
	pthread_mutex_unlock(&nt->lock);
}

static bool stopping(struct notify *nt)
{
	bool s;

	pthread_mutex_lock(&nt->lock);
	s = nt->stop;
	pthread_mutex_unlock(&nt->lock);
	return s;
}

static int send_one(struct notify *nt, const struct cfg_smtp *smtp, struct notification *n,
		    double now, char *err, size_t errlen)
{
	if (n->kind == NOTIF_EMAIL)
		return notify_smtp_send(nt->smtp_handle, smtp, n, nt->hostname, &nt->opts, now,
					&nt->cancel, err, errlen);
	return notify_webhook_send(nt->http_handle, n, nt->opts.connect_timeout_s,
				   nt->opts.webhook_timeout_s, &nt->cancel, err, errlen);
}

/* Log the spool's counters if they changed since the last line and the
 * last line is a minute old (or `force`). Returns when a pending change
 * may be logged (0 = nothing pending). Notifier thread (or drain caller). */
static double log_counters(struct notify *nt, double now, bool force)
{
	struct spool_counters c;

	spool_get_counters(nt->spool, &c);
	if (c.spooled == nt->logged.spooled && c.sent == nt->logged.sent &&
	    c.failed == nt->logged.failed && c.retried == nt->logged.retried)
		return 0;
	if (!force && nt->logged_at > 0 && now - nt->logged_at < 60)
		return nt->logged_at + 60;
	log_info("notify: %llu spooled, %llu sent, %llu failed, %llu retried since start",
		 (unsigned long long)c.spooled, (unsigned long long)c.sent,
		 (unsigned long long)c.failed, (unsigned long long)c.retried);
	nt->logged = c;
	nt->logged_at = now;
	return 0;
}

/* One pass; `now` < 0 means "read the clock for each entry". */
static int pass(struct notify *nt, double fixed_now, size_t *remaining, double *next_due,
		bool in_thread)
{
	struct cfg_smtp *smtp = malloc(sizeof(*smtp));
	char **ids;
	size_t n_ids, left = 0;
	double next = 0;
	int sent = 0;

	if (smtp == NULL)
		return -1;
	pthread_mutex_lock(&nt->lock);
	*smtp = nt->smtp;
	pthread_mutex_unlock(&nt->lock);
	if (spool_list(nt->spool, &ids, &n_ids) == -1) {
		log_warn("notify: listing %s", spool_dir(nt->spool));
		free(smtp);
		return -1;
	}
	for (size_t i = 0; i < n_ids; i++) {
		struct notification n;
		char err[CURL_ERROR_SIZE + 128] = "";
		double now = fixed_now >= 0 ? fixed_now : wall_clock();
		struct complaint *c;

		if (in_thread && stopping(nt)) {
			left += n_ids - i;
			break;
		}
		if (spool_load(nt->spool, ids[i], &n) == -1) {
			if (errno != ENOENT && errno != EBADMSG)
				log_warn("notify: reading spool entry %s", ids[i]);
			continue;
		}
		if (n.next_attempt > now) {
			left++;
			if (next == 0 || n.next_attempt < next)
				next = n.next_attempt;
			notification_free(&n);
			continue;
		}
		c = n.kind == NOTIF_EMAIL ? &nt->smtp_complaint : &nt->webhook_complaint;
		if (send_one(nt, smtp, &n, now, err, sizeof(err)) == 0) {
			if (spool_done(nt->spool, &n) == -1)
				log_warn("notify: removing sent %s", n.id);
			log_info("notify: %s to %s sent (%s, %zu alerts)",
				 n.kind == NOTIF_EMAIL ? "email" : "webhook", n.receiver, n.status,
				 n.n_alerts);
			complain_release(c, "notify: %s sending works again",
					 n.kind == NOTIF_EMAIL ? "email" : "webhook");
			sent++;
		} else if (in_thread && atomic_load(&nt->cancel)) {
			/* Cut short by the shutdown: not a failure; the entry is
			 * due again at the next start. */
			left++;
		} else {
			complain(c, "notify: %s to %s failed (attempt %d): %s",
				 n.kind == NOTIF_EMAIL ? "email" : "webhook", n.receiver,
				 n.attempts + 1, err);
			if (spool_failed(nt->spool, &n, now, err) == -1)
				log_warn("notify: rescheduling %s", n.id);
			left++;
			if (next == 0 || n.next_attempt < next)
				next = n.next_attempt;
		}
		notification_free(&n);
	}
	spool_list_free(ids, n_ids);
	free(smtp);
	if (remaining)
		*remaining = left;
	if (next_due)
		*next_due = next;
	return sent;
}

int notify_drain(struct notify *nt, double now, size_t *remaining, double *next_due)
{
	return pass(nt, now, remaining, next_due, false);
}

static void *notify_main(void *arg)
{
	struct notify *nt = arg;

	pthread_mutex_lock(&nt->lock);
	while (!nt->stop) {
		size_t left;
		double next, now, wake_at;
		struct timespec ts;

		nt->woken = false;
		pthread_mutex_unlock(&nt->lock);
		pass(nt, -1, &left, &next, true);
		now = wall_clock();
		wake_at = now + nt->opts.idle_poll_s;
		if (next > 0 && next < wake_at)
			wake_at = next;
		double log_at = log_counters(nt, now, false);
		if (log_at > 0 && log_at < wake_at)
			wake_at = log_at;
		ts.tv_sec = (time_t)wake_at;
		ts.tv_nsec = (long)((wake_at - (double)ts.tv_sec) * 1e9);
		pthread_mutex_lock(&nt->lock);
		while (!nt->stop && !nt->woken) {
			if (pthread_cond_timedwait(&nt->cond, &nt->lock, &ts) == ETIMEDOUT)
				break;
		}
	}
	pthread_mutex_unlock(&nt->lock);
	log_counters(nt, wall_clock(), true);
	return NULL;
}

int notify_start(struct notify *nt)
{
	int e;

	pthread_mutex_lock(&nt->lock);
	nt->stop = false;
	atomic_store(&nt->cancel, false);
	nt->woken = true;
	pthread_mutex_unlock(&nt->lock);
	e = pthread_create(&nt->thread, NULL, notify_main, nt);
	if (e != 0)
		return errno = e, -1;
	pthread_setname_np(nt->thread, "labqcd-notify");
	nt->running = true;
	spool_set_wake(nt->spool, notify_wake, nt);
	return 0;
}

void notify_wake(void *arg)
{
	struct notify *nt = arg;

	pthread_mutex_lock(&nt->lock);
	nt->woken = true;
	pthread_cond_signal(&nt->cond);
	pthread_mutex_unlock(&nt->lock);
}

void notify_stop(struct notify *nt)
{
	if (!nt->running)
		return;
	spool_set_wake(nt->spool, NULL, NULL);
	pthread_mutex_lock(&nt->lock);
	nt->stop = true;
	atomic_store(&nt->cancel, true);
	pthread_cond_signal(&nt->cond);
	pthread_mutex_unlock(&nt->lock);
	pthread_join(nt->thread, NULL);
	nt->running = false;
}

void notify_close(struct notify *nt)
{
	if (nt == NULL)
		return;
	notify_stop(nt);
	if (nt->smtp_handle)
		curl_easy_cleanup(nt->smtp_handle);
	if (nt->http_handle)
		curl_easy_cleanup(nt->http_handle);
	pthread_cond_destroy(&nt->cond);
	pthread_mutex_destroy(&nt->lock);
	free(nt);
}
