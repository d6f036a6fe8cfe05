/*
 * heartbeat.c: the Watchdog sender; see heartbeat.h.
 *
 * The beat is one slot: `queued` (the main loop asked for a beat) and
 * `busy` (the thread is sending one). heartbeat_tick queues only when
 * both are clear, so nothing piles up behind a receiver that is down or
 * slow; such a beat is counted as dropped. The thread copies the
 * notifications configure built (email and/or webhook, as the receiver
 * has them) and sends each once with notify_smtp_send/notify_webhook_send
 * (the notifier's own senders), stamped with the time of sending.
 */
#include "daemon/heartbeat.h"
#include "daemon/clock.h"
#include "daemon/log.h"
#include "daemon/notify_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 10.0
#define WEBHOOK_TIMEOUT_S 10.0
#define OFF_WAIT_S 3600.0 /* what tick returns when there is no heartbeat */

struct heartbeat {
	pthread_mutex_t lock; /* everything below but the main-thread part */
	pthread_cond_t cond;
	bool stop, running, queued, busy;
	pthread_t thread;
	atomic_bool cancel;
	/* What configure built; n_tmpl 0 = off. */
	struct notification tmpl[2];
	size_t n_tmpl;
	struct cfg_smtp smtp;
	struct heartbeat_counters counters;

	/* Main thread only. */
	bool on;
	double every_s;
	double next_due; /* monotonic; 0 = at once */
	char receiver[CFG_NAME_MAX];
	struct complaint drop_complaint;

	/* Sender thread only. */
	char hostname[256];
	CURL *smtp_handle, *http_handle;
	struct complaint send_complaint;
};

int heartbeat_notification(const struct cfg_receiver *rcv, enum notif_kind kind,
			   const char *client_id, double started, double now,
			   struct notification *n)
{
	struct notif_alert a;

	memset(n, 0, sizeof(*n));
	memset(&a, 0, sizeof(a));
	snprintf(a.key, sizeof(a.key), "labqcd/%s/watchdog", client_id);
	snprintf(a.kind, sizeof(a.kind), "monitor");
	snprintf(a.site, sizeof(a.site), "labqcd");
	snprintf(a.instrument, sizeof(a.instrument), "%s", client_id);
	snprintf(a.channel, sizeof(a.channel), "watchdog");
	snprintf(a.rule, sizeof(a.rule), "Watchdog");
	snprintf(a.severity, sizeof(a.severity), "none");
	snprintf(a.status, sizeof(a.status), "firing");
	a.value = NAN;
	snprintf(a.summary, sizeof(a.summary),
		 "labqcd %s is running. This alert always fires, so that an outside dead-man's "
		 "switch alarms when it stops arriving.",
		 client_id);
	a.starts_at = started;
	n->kind = kind;
	snprintf(n->receiver, sizeof(n->receiver), "%s", rcv->name);
	snprintf(n->status, sizeof(n->status), "firing");
	snprintf(n->reason, sizeof(n->reason), "heartbeat");
	snprintf(n->group_key, sizeof(n->group_key), "{}:{alertname=\"Watchdog\"}");
	n->created = now;
	if (kind == NOTIF_EMAIL) {
		for (size_t i = 0; i < rcv->n_email && n->n_to < NOTIF_TO_MAX; i++)
			snprintf(n->to[n->n_to++], sizeof(n->to[0]), "%s", rcv->email[i]);
	} else {
		snprintf(n->url, sizeof(n->url), "%s", rcv->webhook_url);
		n->format = rcv->webhook_format;
		snprintf(n->secret_file, sizeof(n->secret_file), "%s", rcv->secret_file);
		n->timeout_s = rcv->timeout_s;
	}
	return notification_add_alert(n, &a);
}

struct heartbeat *heartbeat_open(void)
{
	struct heartbeat *hb = calloc(1, sizeof(*hb));

	if (hb == NULL)
		return NULL;
	atomic_init(&hb->cancel, false);
	pthread_mutex_init(&hb->lock, NULL);
	pthread_cond_init(&hb->cond, NULL);
	if (gethostname(hb->hostname, sizeof(hb->hostname)) == -1)
		snprintf(hb->hostname, sizeof(hb->hostname), "labqcd");
	hb->hostname[sizeof(hb->hostname) - 1] = '\0';
	return hb;
}

static void clear_tmpl(struct heartbeat *hb)
{
	for (size_t i = 0; i < hb->n_tmpl; i++)
		notification_free(&hb->tmpl[i]);
	hb->n_tmpl = 0;
}

int heartbeat_configure(struct heartbeat *hb, const struct config *cfg, double started)
{
	const struct cfg_heartbeat *h = &cfg->heartbeat;
	const struct cfg_receiver *rcv = NULL;
	int rc = 0;

	for (size_t i = 0; h->on && i < cfg->n_receivers; i++)
		if (strcmp(cfg->receivers[i].name, h->receiver) == 0)
			rcv = &cfg->receivers[i];
	pthread_mutex_lock(&hb->lock);
	clear_tmpl(hb);
	hb->smtp = cfg->smtp;
	if (rcv != NULL && rcv->n_email > 0 &&
	    heartbeat_notification(rcv, NOTIF_EMAIL, cfg->mqtt.client_id, started, 0,
				   &hb->tmpl[hb->n_tmpl++]) == -1)
		rc = -1;
	if (rcv != NULL && rcv->has_webhook &&
	    heartbeat_notification(rcv, NOTIF_WEBHOOK, cfg->mqtt.client_id, started, 0,
				   &hb->tmpl[hb->n_tmpl++]) == -1)
		rc = -1;
	if (rc == -1)
		clear_tmpl(hb);
	pthread_mutex_unlock(&hb->lock);

	hb->on = hb->n_tmpl > 0;
	if (hb->on && hb->next_due > 0 && h->every_s < hb->every_s)
		hb->next_due -= hb->every_s - h->every_s; /* a shorter interval: not a long wait */
	hb->every_s = h->every_s;
	snprintf(hb->receiver, sizeof(hb->receiver), "%s", h->receiver);
	if (hb->on)
		log_info("heartbeat: Watchdog to %s every %g s", hb->receiver, hb->every_s);
	return rc == -1 ? (errno = ENOMEM, -1) : 0;
}

static int send_one(struct heartbeat *hb, const struct cfg_smtp *smtp, struct notification *n,
		    char *err, size_t errlen)
{
	n->created = wall_clock();
	if (n->kind == NOTIF_EMAIL) {
		struct notify_opts o = {.connect_timeout_s = CONNECT_TIMEOUT_S}; /* no chart */
		return notify_smtp_send(hb->smtp_handle, smtp, n, hb->hostname, &o, n->created,
					&hb->cancel, err, errlen);
	}
	return notify_webhook_send(hb->http_handle, n, CONNECT_TIMEOUT_S, WEBHOOK_TIMEOUT_S,
				   &hb->cancel, err, errlen);
}

/* One beat: copies of the templates, sent once each, outside the lock. */
static void beat(struct heartbeat *hb)
{
	struct notification n[2];
	struct cfg_smtp *smtp = malloc(sizeof(*smtp));
	size_t count = 0;
	bool ok = true;

	memset(n, 0, sizeof(n));
	pthread_mutex_lock(&hb->lock);
	if (smtp != NULL)
		*smtp = hb->smtp;
	for (size_t i = 0; smtp != NULL && i < hb->n_tmpl; i++) {
		n[count] = hb->tmpl[i];
		n[count].alerts = NULL;
		n[count].n_alerts = 0;
		if (notification_add_alert(&n[count], &hb->tmpl[i].alerts[0]) == 0)
			count++;
	}
	pthread_mutex_unlock(&hb->lock);
	for (size_t i = 0; i < count; i++) {
		char err[CURL_ERROR_SIZE + 128] = "";
		const char *what = n[i].kind == NOTIF_EMAIL ? "email" : "webhook";

		if (send_one(hb, smtp, &n[i], err, sizeof(err)) == 0) {
			log_debug("heartbeat: %s to %s sent", what, n[i].receiver);
		} else if (!atomic_load(&hb->cancel)) {
			ok = false;
			complain(&hb->send_complaint, "heartbeat: %s to %s failed: %s", what,
				 n[i].receiver, err);
		}
		notification_free(&n[i]);
	}
	free(smtp);
	pthread_mutex_lock(&hb->lock);
	if (count == 0 || !ok)
		hb->counters.failed++;
	else
		hb->counters.sent++;
	pthread_mutex_unlock(&hb->lock);
	if (count > 0 && ok)
		complain_release(&hb->send_complaint, "heartbeat: sending works again");
}

static void *heartbeat_main(void *arg)
{
	struct heartbeat *hb = arg;

	pthread_mutex_lock(&hb->lock);
	for (;;) {
		while (!hb->stop && !hb->queued)
			pthread_cond_wait(&hb->cond, &hb->lock);
		if (hb->stop)
			break;
		hb->queued = false;
		hb->busy = true;
		pthread_mutex_unlock(&hb->lock);
		beat(hb);
		pthread_mutex_lock(&hb->lock);
		hb->busy = false;
	}
	pthread_mutex_unlock(&hb->lock);
	return NULL;
}

int heartbeat_start(struct heartbeat *hb)
{
	int e;

	hb->smtp_handle = curl_easy_init();
	hb->http_handle = curl_easy_init();
	if (hb->smtp_handle == NULL || hb->http_handle == NULL)
		return errno = ENOMEM, -1;
	e = pthread_create(&hb->thread, NULL, heartbeat_main, hb);
	if (e != 0)
		return errno = e, -1;
	pthread_setname_np(hb->thread, "labqcd-beat");
	hb->running = true;
	return 0;
}

double heartbeat_tick(struct heartbeat *hb, double now)
{
	bool dropped = false;

	if (hb == NULL || !hb->on || !hb->running)
		return OFF_WAIT_S;
	if (now < hb->next_due)
		return hb->next_due - now;
	pthread_mutex_lock(&hb->lock);
	if (hb->queued || hb->busy) {
		dropped = true;
		hb->counters.dropped++;
	} else {
		hb->queued = true;
		pthread_cond_signal(&hb->cond);
	}
	pthread_mutex_unlock(&hb->lock);
	if (dropped)
		complain(&hb->drop_complaint,
			 "heartbeat: the previous one to %s is still being sent; this one is "
			 "dropped (a late heartbeat is useless)",
			 hb->receiver);
	else
		complain_release(&hb->drop_complaint, "heartbeat: beats leave on time again");
	/* On the grid of the first beat; a loop that fell behind (a
	 * stopped process) starts a new grid rather than catching up. */
	hb->next_due = hb->next_due > 0 ? hb->next_due + hb->every_s : now + hb->every_s;
	if (hb->next_due <= now)
		hb->next_due = now + hb->every_s;
	return hb->next_due - now;
}

void heartbeat_get_counters(struct heartbeat *hb, struct heartbeat_counters *out)
{
	pthread_mutex_lock(&hb->lock);
	*out = hb->counters;
	pthread_mutex_unlock(&hb->lock);
}

void heartbeat_close(struct heartbeat *hb)
{
	if (hb == NULL)
		return;
	if (hb->running) {
		pthread_mutex_lock(&hb->lock);
		hb->stop = true;
		atomic_store(&hb->cancel, true);
		pthread_cond_signal(&hb->cond);
		pthread_mutex_unlock(&hb->lock);
		pthread_join(hb->thread, NULL);
	}
	if (hb->smtp_handle)
		curl_easy_cleanup(hb->smtp_handle);
	if (hb->http_handle)
		curl_easy_cleanup(hb->http_handle);
	clear_tmpl(hb);
	pthread_cond_destroy(&hb->cond);
	pthread_mutex_destroy(&hb->lock);
	free(hb);
}
