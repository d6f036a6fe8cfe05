/*
 * routes.c: who is told of an alert, and what they get.
 *
 * routes_resolve() walks the config's routes in order: a route applies
 * when every non-empty matcher (kind, severity, site, instrument,
 * channel, rule; fnmatch globs) matches the alert and, if it has
 * `active`, the local time lies in its days and hours. The first route
 * that applies ends the walk unless it says continue: true.
 *
 * alerts_flush_group() turns one group into notifications for its
 * receiver: one email (to every address of the receiver) and/or one
 * webhook, staged in the spool (spool_stage: not yet sendable) and their
 * ids kept in a->staged. alerts_save() commits them once alerts.json
 * says the group was spooled (alerts.c, "exactly once"). Once one left,
 * the receiver counts as told: of each firing alert in it (with the
 * severity it said), or of the end of each resolved one. A resolved
 * notification goes only with alerts the receiver was told were firing,
 * and says the severity it was told. Main thread only.
 */
#include "daemon/alerts_int.h"
#include "daemon/audit.h"
#include "daemon/log.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool glob_ok(const char *pattern, const char *value)
{
	return pattern[0] == '\0' || fnmatch(pattern, value, 0) == 0;
}

static bool active_at(const struct cfg_route *r, const struct tm *tm)
{
	int now_min = tm->tm_hour * 60 + tm->tm_min;
	int wday = tm->tm_wday;
	int from = r->active_from_min, to = r->active_to_min;
	unsigned days = r->active_days ? r->active_days : 0x7f;
	bool in;

	if (!r->has_active)
		return true;
	if (from == to) {
		in = true; /* days only */
	} else if (from < to) {
		in = now_min >= from && now_min < to;
	} else if (now_min >= from) {
		in = true;
	} else if (now_min < to) {
		/* 19:00-07:00: Saturday 03:00 belongs to Friday's night. */
		in = true;
		wday = (wday + 6) % 7;
	} else {
		in = false;
	}
	return in && (days & (1u << wday));
}

bool routes_match(const struct cfg_route *r, const struct alert *al, const struct tm *local)
{
	const struct cfg_match *m = &r->match;

	return glob_ok(m->kind, alert_kind_name(al->kind)) &&
	       glob_ok(m->severity, severity_name(al->severity)) &&
	       glob_ok(m->site, al->site) && glob_ok(m->instrument, al->instrument) &&
	       glob_ok(m->channel, al->channel) && glob_ok(m->rule, al->rule) &&
	       (local == NULL || active_at(r, local));
}

void routes_result_free(struct route_result *rr)
{
	strset_free(&rr->receivers);
	for (size_t i = 0; i < rr->n_esc; i++)
		strset_free(&rr->esc[i].receivers);
	free(rr->esc);
	memset(rr, 0, sizeof(*rr));
}

int routes_resolve(const struct alerts *a, const struct alert *al, double t,
		   struct route_result *rr)
{
	struct tm local;
	bool have_local;
	bool any = false;

	memset(rr, 0, sizeof(*rr));
	if (a->cfg == NULL)
		return 0;
	have_local = a->localtime(t, &local, a->localtime_arg) == 0;
	for (size_t i = 0; i < a->cfg->n_routes; i++) {
		const struct cfg_route *r = &a->cfg->routes[i];
		if (r->has_active && !have_local)
			continue;
		if (!routes_match(r, al, r->has_active ? &local : NULL))
			continue;
		for (size_t j = 0; j < r->n_receivers; j++)
			if (strset_add(&rr->receivers, r->receivers[j]) == -1)
				goto nomem;
		if (!any || r->group_wait_s < rr->group_wait_s)
			rr->group_wait_s = r->group_wait_s;
		if (r->repeat_s > 0 && (rr->repeat_s == 0 || r->repeat_s < rr->repeat_s))
			rr->repeat_s = r->repeat_s;
		for (size_t j = 0; j < r->n_escalate; j++) {
			struct esc_step *v = reallocarray(rr->esc, rr->n_esc + 1, sizeof(*v));
			if (v == NULL)
				goto nomem;
			rr->esc = v;
			v = &rr->esc[rr->n_esc++];
			memset(v, 0, sizeof(*v));
			v->at = r->escalate[j].after_s;
			for (size_t k = 0; k < r->escalate[j].n_receivers; k++)
				if (strset_add(&v->receivers, r->escalate[j].receivers[k]) == -1)
					goto nomem;
		}
		any = true;
		if (!r->cont)
			break;
	}
	if (rr->group_wait_s < 0)
		rr->group_wait_s = 0;
	return 0;
nomem:
	routes_result_free(rr);
	return -1;
}

static const struct cfg_receiver *find_receiver(const struct config *cfg, const char *name)
{
	for (size_t i = 0; cfg && i < cfg->n_receivers; i++)
		if (strcmp(cfg->receivers[i].name, name) == 0)
			return &cfg->receivers[i];
	return NULL;
}

static void notif_alert_of(const struct alert *al, struct notif_alert *na)
{
	memset(na, 0, sizeof(*na));
	snprintf(na->key, sizeof(na->key), "%s", al->key);
	snprintf(na->kind, sizeof(na->kind), "%s", alert_kind_name(al->kind));
	snprintf(na->site, sizeof(na->site), "%s", al->site);
	snprintf(na->instrument, sizeof(na->instrument), "%s", al->instrument);
	snprintf(na->channel, sizeof(na->channel), "%s", al->channel);
	snprintf(na->rule, sizeof(na->rule), "%s", al->rule);
	snprintf(na->severity, sizeof(na->severity), "%s", severity_name(al->severity));
	snprintf(na->status, sizeof(na->status), "%s",
		 al->state == ALERT_FIRING ? "firing" : "resolved");
	na->value = al->value;
	snprintf(na->summary, sizeof(na->summary), "%s", al->summary);
	na->starts_at = al->since;
	na->ends_at = al->state == ALERT_FIRING ? 0 : al->ended;
	na->acknowledged = al->acked;
	snprintf(na->chart, sizeof(na->chart), "%s", al->chart);
}

/* Stage n in the spool and remember its id for alerts_save to commit.
 * If remembering fails the pending file is orphaned: nobody sends it,
 * and spool_recover deletes it at the next start. 0 or -1. */
static int stage(struct alerts *a, struct notification *n, double now)
{
	if (spool_stage(a->spool, n, now) == -1)
		return -1;
	if (strset_add(&a->staged, n->id) == -1)
		return errno = ENOMEM, -1;
	return 0;
}

/* A spool that cannot be written (state_dir full) is retried every tick:
 * log it once (STYLE, "a failure that repeats"). */
static struct complaint spool_complaint;

int alerts_flush_group(struct alerts *a, struct group *g, double now)
{
	const struct cfg_receiver *rcv = find_receiver(a->cfg, g->receiver);
	struct notification *n;
	struct alert **sent = NULL; /* the alerts in n, to mark told */
	bool firing = false, resolved = strcmp(g->reason, "resolved") == 0;
	int spooled = 0, rc = 0;

	if (rcv == NULL) {
		log_warnx("alerts: receiver \"%s\" is not in the config (any more); %zu alerts "
			  "not sent to it",
			  g->receiver, g->keys.n);
		return 0;
	}
	if (a->spool == NULL)
		return 0; /* --replay without --notify: decide, send nothing */
	n = calloc(1, sizeof(*n));
	sent = calloc(g->keys.n + 1, sizeof(*sent));
	if (n == NULL || sent == NULL) {
		free(n);
		free(sent);
		return -1;
	}
	for (size_t i = 0; i < g->keys.n; i++) {
		struct alert *al = alerts_find(a, g->keys.v[i]);
		struct notif_alert na;
		enum severity told = SEV_NONE;
		if (al == NULL || al->state == ALERT_PENDING || alerts_silenced(a, al->key, now))
			continue;
		if (resolved && al->state != ALERT_RESOLVED)
			continue; /* fired again meanwhile */
		if (!resolved && al->state != ALERT_FIRING)
			continue; /* over before this left: the receiver hears nothing of it */
		if (resolved && !alerts_was_told(al, rcv->name, &told))
			continue; /* never told it fired (or told of its end already) */
		notif_alert_of(al, &na);
		if (resolved) /* what it was told, not what it became */
			snprintf(na.severity, sizeof(na.severity), "%s", severity_name(told));
		if (notification_add_alert(n, &na) == -1) {
			rc = -1;
			goto out;
		}
		sent[n->n_alerts - 1] = al;
		firing |= al->state == ALERT_FIRING;
	}
	if (n->n_alerts == 0)
		goto out;
	snprintf(n->receiver, sizeof(n->receiver), "%s", rcv->name);
	snprintf(n->status, sizeof(n->status), "%s", firing ? "firing" : "resolved");
	snprintf(n->reason, sizeof(n->reason), "%s", g->reason);
	snprintf(n->group_key, sizeof(n->group_key), "{}:{receiver=\"%s\"}", rcv->name);
	snprintf(n->external_url, sizeof(n->external_url), "%s", a->external_url);
	if (a->audit) { /* issue 20: a copy of the chain's end outside the host */
		unsigned long records;
		char sha[65];
		audit_head(a->audit, &records, sha);
		snprintf(n->audit_head, sizeof(n->audit_head), "records=%lu sha256=%s", records, sha);
	}
	n->created = now;
	if (rcv->n_email > 0 && !g->email_done) {
		n->kind = NOTIF_EMAIL;
		n->n_to = 0;
		for (size_t i = 0; i < rcv->n_email && n->n_to < NOTIF_TO_MAX; i++)
			snprintf(n->to[n->n_to++], sizeof(n->to[0]), "%s", rcv->email[i]);
		n->timeout_s = 0; /* the smtp section's */
		if (stage(a, n, now) == -1) {
			complain(&spool_complaint, "alerts: spooling email for %s: %s", rcv->name,
				 strerror(errno));
			rc = -1;
			goto out;
		}
		g->email_done = true;
		a->dirty = true;
		spooled++;
	}
	if (rcv->has_webhook && !g->webhook_done) {
		n->kind = NOTIF_WEBHOOK;
		n->n_to = 0;
		snprintf(n->url, sizeof(n->url), "%s", rcv->webhook_url);
		n->format = rcv->webhook_format;
		snprintf(n->secret_file, sizeof(n->secret_file), "%s", rcv->secret_file);
		n->timeout_s = rcv->timeout_s;
		if (stage(a, n, now) == -1) {
			complain(&spool_complaint, "alerts: spooling webhook for %s: %s", rcv->name,
				 strerror(errno));
			rc = -1;
			goto out;
		}
		g->webhook_done = true;
		a->dirty = true;
		spooled++;
	}
	complain_release(&spool_complaint, "alerts: spooling works again");
	log_info("alerts: %s notification (%s, %zu alerts) for %s spooled", n->status, g->reason,
		 n->n_alerts, rcv->name);
out:
	/* Something left for this receiver (or had left at an earlier
	 * partial flush): it was told. */
	if (spooled > 0 || g->email_done || g->webhook_done) {
		for (size_t i = 0; i < n->n_alerts; i++) {
			if (sent[i]->state == ALERT_FIRING &&
			    alerts_told(sent[i], rcv->name, sent[i]->severity) == -1)
				log_warnx("alerts: %s: out of memory remembering %s was told",
					  sent[i]->key, rcv->name);
			else if (sent[i]->state == ALERT_RESOLVED)
				alerts_untold(sent[i], rcv->name);
		}
		a->dirty = true;
	}
	notification_free(n);
	free(n);
	free(sent);
	return rc == -1 ? -1 : spooled;
}
