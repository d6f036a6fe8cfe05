/*
 * alerts.c: the alert engine: alert states, groups, timers, persistence.
 *
 * Alerts live in a hash table by key (uthash). A firing alert is routed
 * (routes.c) at the time it fires; each receiver it goes to gets the key
 * added to that receiver's open group of the same reason (new, repeat,
 * escalation, resolved), which is due group_wait after it opened. So
 * twelve fridges that warm up in one power cut land in one group per
 * receiver and leave as one notification each. alerts_tick() queues due
 * repeats and escalations (due at once, so the alerts of one tick share a
 * message), then turns every due group into notifications in the spool,
 * then forgets resolved alerts nobody needs any more (a resolved critical
 * alert waits for its acknowledgement, DESIGN section 5).
 *
 * Receivers told of a firing are remembered per alert (`notified`, with
 * the severity each was told), once a notification actually left for
 * them (spooled, routes.c), and its resolution goes to exactly them with
 * that severity, whatever the routes' active hours say by then (as
 * Alertmanager's send_resolved). An alert that resolves while still
 * waiting in a group is taken out of it, and a group left empty sends
 * nothing: nobody hears "resolved" of what they never heard fire.
 * Escalation steps are fixed when the alert fires (absolute times), so a
 * config reload does not reshuffle them.
 *
 * Exactly once across a crash (issue 7). A notification leaves in three
 * steps, each durable before the next:
 *   1. alerts_flush_group stages it: "<id>.json.pending" in the spool,
 *      which the notifier does not send; its group leaves memory and the
 *      id goes to a->staged.
 *   2. alerts_save writes alerts.json: the group gone (or marked
 *      email_done/webhook_done), repeat and escalation timers advanced,
 *      and the id listed under "spooled".
 *   3. alerts_save then commits it: renamed to "<id>.json", sendable.
 * At start alerts_open has the spool finish the job (spool_recover): a
 * pending entry listed under "spooled" crashed between 2 and 3 and is
 * committed; any other crashed between 1 and 2, where alerts.json still
 * holds its group (or the repeat, escalation or resolution not yet
 * queued), so it is deleted and the engine spools it again. A crash
 * after 3 leaves a ready entry and a state that no longer asks for it.
 * The same holds for every reason (new, repeat, escalation, resolved):
 * whatever queued the group is in the same alerts.json write as the id.
 *
 * Main thread only; persistence is in alerts_state.c.
 */
#include "daemon/alerts.h"
#include "daemon/alerts_int.h"
#include "daemon/log.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Queue `al` for `receiver`; 0 or -1 (ENOMEM, logged). */
static int queue(struct alerts *a, struct alert *al, const char *receiver, const char *reason,
		 double due)
{
	struct group *g = alerts_group_open(a, receiver, reason, due);

	if (g == NULL || strset_add(&g->keys, al->key) == -1) {
		log_warnx("alerts: %s: out of memory queueing for %s", al->key, receiver);
		return -1;
	}
	a->dirty = true;
	return 0;
}

static bool group_refers(const struct alerts *a, const char *key)
{
	for (size_t i = 0; i < a->n_groups; i++)
		if (strset_has(&a->groups[i].keys, key))
			return true;
	return false;
}

/* ---- open, close ---- */

static int default_localtime(double t, struct tm *out, void *arg)
{
	time_t tt = (time_t)floor(t);

	(void)arg;
	return localtime_r(&tt, out) ? 0 : -1;
}

static bool staged_recorded(const char *id, void *arg)
{
	const struct alerts *a = arg;

	return strset_has(&a->staged, id);
}

/* Finish what a crash interrupted (see the top of this file). The ids
 * loaded from alerts.json are then ready or already delivered: forget
 * them, and let the next save drop them from the file. */
static void recover_spool(struct alerts *a)
{
	if (a->spool == NULL)
		return; /* a reader of alerts.json (dashboard, replay): hands off */
	if (spool_recover(a->spool, staged_recorded, a) == -1) {
		log_warnx("alerts: spool recovery incomplete; retried at the next start");
		return; /* keep the ids recorded */
	}
	if (a->staged.n > 0) {
		strset_free(&a->staged);
		a->dirty = true;
	}
}

struct alerts *alerts_open(const struct config *cfg, struct spool *spool,
			   const struct alerts_opts *opts)
{
	struct alerts *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->cfg = cfg;
	a->spool = spool;
	a->localtime = opts && opts->localtime ? opts->localtime : default_localtime;
	a->localtime_arg = opts ? opts->localtime_arg : NULL;
	a->audit = opts ? opts->audit : NULL;
	if (opts && opts->external_url)
		snprintf(a->external_url, sizeof(a->external_url), "%s", opts->external_url);
	if (opts && opts->state_dir && opts->state_dir[0] &&
	    snprintf(a->path, sizeof(a->path), "%s/alerts.json", opts->state_dir) >=
		    (int)sizeof(a->path)) {
		free(a);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (a->path[0] && alerts_load(a) == -1) {
		alerts_close(a);
		return NULL;
	}
	recover_spool(a);
	return a;
}

void alerts_close(struct alerts *a)
{
	struct alert *al, *tmp;

	if (a == NULL)
		return;
	HASH_ITER(hh, a->alerts, al, tmp)
	alerts_alert_delete(a, al);
	while (a->n_groups > 0)
		alerts_group_remove(a, a->n_groups - 1);
	free(a->groups);
	free(a->silences);
	strset_free(&a->staged);
	free(a);
}

void alerts_set_config(struct alerts *a, const struct config *cfg)
{
	a->cfg = cfg;
}

/* ---- transitions ---- */

/* Route a firing alert at time `t` and queue it as new for every
 * receiver; set its repeat and escalation timers counted from `base`. */
static void fire(struct alerts *a, struct alert *al, double t, double base)
{
	struct route_result rr;

	if (alerts_silenced(a, al->key, t)) {
		al->suppressed = true;
		a->dirty = true;
		return;
	}
	al->suppressed = false;
	if (routes_resolve(a, al, t, &rr) == -1) {
		log_warnx("alerts: %s: out of memory routing", al->key);
		return;
	}
	for (size_t i = 0; i < rr.receivers.n; i++)
		queue(a, al, rr.receivers.v[i], "new", t + rr.group_wait_s);
	if (rr.receivers.n == 0)
		log_debug("alerts: %s: no route matches, nobody is told", al->key);
	alerts_clear_timers(al);
	al->group_wait_s = rr.group_wait_s;
	al->repeat_s = rr.repeat_s;
	al->next_repeat = rr.repeat_s > 0 ? base + rr.repeat_s : 0;
	al->esc = rr.esc;
	al->n_esc = rr.n_esc;
	for (size_t i = 0; i < al->n_esc; i++)
		al->esc[i].at += base;
	strset_free(&rr.receivers);
	a->dirty = true;
}

static void copy_event(struct alert *al, const struct alert_event *ev)
{
	al->kind = ev->kind;
	snprintf(al->site, sizeof(al->site), "%s", ev->site);
	snprintf(al->instrument, sizeof(al->instrument), "%s", ev->instrument);
	snprintf(al->channel, sizeof(al->channel), "%s", ev->channel);
	snprintf(al->rule, sizeof(al->rule), "%s", ev->rule);
	al->value = ev->value;
	snprintf(al->summary, sizeof(al->summary), "%s", ev->summary);
	if (ev->chart[0])
		snprintf(al->chart, sizeof(al->chart), "%s", ev->chart);
}

/* The alert's own start: when its condition began (the sample's clock),
 * else when the event happened. */
static double event_since(const struct alert_event *ev)
{
	return ev->since > 0 ? ev->since : ev->t;
}

/* A new pending or firing episode. `notified` stays: a receiver told of
 * the last firing and not yet of its end is still owed the end. */
static void new_episode(struct alert *al, const struct alert_event *ev, enum alert_state st)
{
	al->state = st;
	al->since = event_since(ev);
	al->ended = 0;
	al->acked = false;
	al->ack_by[0] = al->ack_comment[0] = '\0';
	al->ack_t = 0;
	al->suppressed = false;
	alerts_clear_timers(al);
}

/* Take `key` out of every group still waiting to leave (not the resolved
 * ones); a group left empty goes: nothing is sent for it (Alertmanager's
 * dedup never sends a first notification of resolved alerts only). A
 * group partly spooled (email out, webhook not) keeps it: routes.c leaves
 * a resolved alert out of any but a resolved group anyway. */
static void unqueue(struct alerts *a, const char *key)
{
	for (size_t i = 0; i < a->n_groups;) {
		struct group *g = &a->groups[i];
		size_t j;

		if (strcmp(g->reason, "resolved") == 0 || g->email_done || g->webhook_done) {
			i++;
			continue;
		}
		for (j = 0; j < g->keys.n && strcmp(g->keys.v[j], key) != 0; j++)
			;
		if (j < g->keys.n) {
			free(g->keys.v[j]);
			g->keys.v[j] = g->keys.v[--g->keys.n];
			a->dirty = true;
		}
		if (g->keys.n == 0)
			alerts_group_remove(a, i);
		else
			i++;
	}
}

static void resolve(struct alerts *a, struct alert *al, double t)
{
	al->state = ALERT_RESOLVED;
	al->ended = t;
	alerts_clear_timers(al);
	a->dirty = true;
	unqueue(a, al->key);
	if (al->suppressed || alerts_silenced(a, al->key, t))
		return;
	/* Only those a firing notification left for (routes.c marks them
	 * when it spools one). */
	for (size_t i = 0; i < al->notified.n; i++)
		queue(a, al, al->notified.v[i], "resolved", t + al->group_wait_s);
}

int alerts_transition(struct alerts *a, const struct alert_event *ev)
{
	struct alert *al = alerts_find(a, ev->key);

	if (ev->key[0] == '\0' || strlen(ev->key) >= ALERT_KEY_MAX)
		return errno = EINVAL, -1;
	switch (ev->state) {
	case ALERT_PENDING:
		if (al == NULL && (al = alerts_alert_new(a, ev->key)) == NULL)
			return -1;
		if (al->state == ALERT_FIRING)
			break; /* already firing: pending says nothing new */
		if (al->state != ALERT_PENDING || al->since == 0)
			new_episode(al, ev, ALERT_PENDING);
		al->severity = ev->severity;
		copy_event(al, ev);
		a->dirty = true;
		break;
	case ALERT_FIRING:
		if (al == NULL && (al = alerts_alert_new(a, ev->key)) == NULL)
			return -1;
		if (al->state != ALERT_FIRING) {
			double since = al->state == ALERT_PENDING && al->since > 0 ? al->since
										     : event_since(ev);
			new_episode(al, ev, ALERT_FIRING);
			al->since = since;
			al->severity = ev->severity;
			copy_event(al, ev);
			fire(a, al, ev->t, ev->t);
		} else if (ev->severity > al->severity) {
			/* Worse than what people acknowledged: tell again. */
			al->severity = ev->severity;
			al->acked = false;
			copy_event(al, ev);
			fire(a, al, ev->t, ev->t);
		} else {
			al->severity = ev->severity;
			copy_event(al, ev);
		}
		a->dirty = true;
		break;
	case ALERT_RESOLVED:
		if (al == NULL)
			return 0;
		copy_event(al, ev);
		if (al->state == ALERT_PENDING) {
			/* Never fired: nothing to tell anyone. */
			if (!group_refers(a, al->key))
				alerts_alert_delete(a, al);
			else
				al->state = ALERT_RESOLVED, al->ended = ev->t;
			a->dirty = true;
		} else if (al->state == ALERT_FIRING) {
			resolve(a, al, ev->t);
		}
		break;
	case ALERT_ACKNOWLEDGED:
		if (al == NULL)
			return 0;
		return alerts_ack(a, ev->key, "", ev->summary, ev->t);
	default:
		return errno = EINVAL, -1;
	}
	return 0;
}

int alerts_ack(struct alerts *a, const char *key, const char *by, const char *comment,
	       double now)
{
	struct alert *al = alerts_find(a, key);

	if (al == NULL)
		return errno = ENOENT, -1;
	al->acked = true;
	al->ack_t = now;
	snprintf(al->ack_by, sizeof(al->ack_by), "%s", by ? by : "");
	snprintf(al->ack_comment, sizeof(al->ack_comment), "%s", comment ? comment : "");
	a->dirty = true;
	return 0;
}

/* ---- timers ---- */

static void tick_alert(struct alerts *a, struct alert *al, double now)
{
	if (al->state != ALERT_FIRING)
		return;
	if (al->suppressed) {
		if (!alerts_silenced(a, al->key, now))
			fire(a, al, now, now); /* the silence is over and it still fires */
		return;
	}
	if (al->acked)
		return;
	for (size_t i = 0; i < al->n_esc; i++) {
		struct esc_step *st = &al->esc[i];
		if (st->done || st->at > now)
			continue;
		st->done = true;
		a->dirty = true;
		if (alerts_silenced(a, al->key, now))
			continue;
		for (size_t j = 0; j < st->receivers.n; j++)
			queue(a, al, st->receivers.v[j], "escalation", now);
	}
	if (al->next_repeat > 0 && al->next_repeat <= now) {
		struct route_result rr;
		while (al->next_repeat <= now)
			al->next_repeat += al->repeat_s;
		a->dirty = true;
		if (alerts_silenced(a, al->key, now))
			return;
		/* The routes as they are now (active hours), plus whoever an
		 * escalation brought in. */
		if (routes_resolve(a, al, now, &rr) == 0) {
			for (size_t i = 0; i < al->n_esc; i++)
				for (size_t j = 0; al->esc[i].done && j < al->esc[i].receivers.n; j++)
					strset_add(&rr.receivers, al->esc[i].receivers.v[j]);
			for (size_t i = 0; i < rr.receivers.n; i++)
				queue(a, al, rr.receivers.v[i], "repeat", now);
			routes_result_free(&rr);
		}
	}
}

static void gc(struct alerts *a)
{
	struct alert *al, *tmp;

	HASH_ITER(hh, a->alerts, al, tmp)
	{
		if (al->state != ALERT_RESOLVED || group_refers(a, al->key))
			continue;
		if (al->severity == SEV_CRITICAL && !al->acked)
			continue; /* stays on the dashboard until seen */
		alerts_alert_delete(a, al);
		a->dirty = true;
	}
}

int alerts_tick(struct alerts *a, double now)
{
	struct alert *al, *tmp;
	int spooled = 0, rc = 0;

	for (size_t i = 0; i < a->n_silences;) {
		if (a->silences[i].until <= now) {
			memmove(&a->silences[i], &a->silences[i + 1],
				(a->n_silences - i - 1) * sizeof(a->silences[0]));
			a->n_silences--;
			a->dirty = true;
		} else {
			i++;
		}
	}
	HASH_ITER(hh, a->alerts, al, tmp)
	tick_alert(a, al, now);

	for (size_t i = 0; i < a->n_groups;) {
		int n;
		if (a->groups[i].due > now) {
			i++;
			continue;
		}
		n = alerts_flush_group(a, &a->groups[i], now);
		if (n == -1) {
			rc = -1; /* keep it; the next tick tries again */
			i++;
			continue;
		}
		spooled += n;
		alerts_group_remove(a, i);
		a->dirty = true;
	}
	gc(a);
	/* Step 2 and 3: record what was staged, then make it sendable.
	 * Until a save succeeds it stays staged (retried at every tick and
	 * save); a crash meanwhile drops it and the old alerts.json has it
	 * spooled again. */
	if (a->staged.n > 0 && alerts_save(a) == -1)
		complain(&a->save_complaint, "alerts: saving %s: %s; %zu notifications held back",
			 a->path, strerror(errno), a->staged.n);
	else if (a->staged.n == 0)
		complain_release(&a->save_complaint, "alerts: %s saved again", a->path);
	return rc == -1 ? -1 : spooled;
}

double alerts_next_deadline(const struct alerts *a)
{
	const struct alert *al, *tmp;
	double next = 0;

#define EARLIER(t)                                                                                 \
	do {                                                                                       \
		if ((t) > 0 && (next == 0 || (t) < next))                                          \
			next = (t);                                                                \
	} while (0)
	for (size_t i = 0; i < a->n_groups; i++)
		EARLIER(a->groups[i].due);
	for (size_t i = 0; i < a->n_silences; i++)
		EARLIER(a->silences[i].until);
	HASH_ITER(hh, a->alerts, al, tmp)
	{
		if (al->state != ALERT_FIRING || al->acked || al->suppressed)
			continue;
		EARLIER(al->next_repeat);
		for (size_t i = 0; i < al->n_esc; i++)
			if (!al->esc[i].done)
				EARLIER(al->esc[i].at);
	}
#undef EARLIER
	return next;
}

bool alerts_dirty(const struct alerts *a)
{
	return a->dirty;
}

size_t alerts_count(const struct alerts *a)
{
	return HASH_COUNT(a->alerts);
}

void alerts_foreach(const struct alerts *a, void (*fn)(const struct alert_view *v, void *arg),
		    void *arg)
{
	const struct alert *al, *tmp;

	HASH_ITER(hh, a->alerts, al, tmp)
	{
		struct alert_view v = {
			.key = al->key,
			.kind = al->kind,
			.state = al->state,
			.severity = al->severity,
			.value = al->value,
			.summary = al->summary,
			.since = al->since,
			.ended = al->ended,
			.acknowledged = al->acked,
			.ack_by = al->ack_by,
			.ack_comment = al->ack_comment,
			.silenced = al->suppressed,
		};
		fn(&v, arg);
	}
}
