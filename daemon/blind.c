/*
 * blind.c: the monitor's own blindness is an alarm (issue 15).
 *
 * labqcd sees the lab only through its broker subscription. When the
 * broker is unreachable, or it refused the subscription, every channel
 * falls silent at once: without this file each channel's `stale` rule
 * would fire on its own, hundreds of alerts for one cause, and nobody
 * would be told that the cause is labqcd itself.
 *
 * So, after every mqtt_io (daemon.c), blind_check looks at the client's
 * health (mqtt_healthy: connected and every filter granted):
 * - not healthy: d->broker_blind is set and equipment_tick holds every
 *   stale rule (no stale transition at all meanwhile). The alert key
 *   labqcd/<client_id>/broker goes pending once a failure was seen (a
 *   start that is still connecting has none), and firing, critical,
 *   once it has not been healthy for mqtt.lost_after;
 * - healthy again: the alert resolves (a pending one ends in the record
 *   only), and every stale countdown that is not firing restarts from
 *   now (equipment_stale_restart): a channel that still sends nothing
 *   goes stale one stale period after labqcd could see again (its
 *   device had to reconnect to the broker too), and a channel that was
 *   already stale before stays firing until it sends.
 *   The first subscription after a start is different: the broker was
 *   there all along and hands over what it queued for labqcd's
 *   persistent session at once. Stale rules are held for
 *   STALE_SETTLE_S while it does, then judged on the last sample
 *   received: a probe that fell silent while labqcd was stopped (or
 *   before a first start) fires then, not a whole stale period later.
 *
 * The alert goes through conditions_report like any other: audit records
 * (pending, firing, resolved), the engine, the routes (kind monitor,
 * site labqcd, instrument <client_id>, channel and rule broker), email
 * and webhooks, which do not need the broker. Its condition is in the
 * state file, so a firing broker alert survives a restart and resolves
 * when the broker is back. Main thread only.
 */
#include "daemon/labqcd.h"

#include <math.h>
#include <stdio.h>

/* After the first subscription: the broker's queue delivered, the back-fill
 * of a simulator taken, before silence is judged. */
#define STALE_SETTLE_S 30.0

const char *blind_key(const struct labqcd *d, char *buf, size_t len)
{
	snprintf(buf, len, "labqcd/%s/broker", d->cfg->mqtt.client_id);
	return buf;
}

static void report(struct labqcd *d, enum cond_state st, double t, const char *why,
		   double blind_s)
{
	char key[ALERT_KEY_MAX];
	struct cond_key k = {.kind = ALERT_MONITOR,
			     .site = "labqcd",
			     .instrument = d->cfg->mqtt.client_id,
			     .channel = "broker",
			     .rule = "broker",
			     .key = blind_key(d, key, sizeof(key))};
	struct condition c = {.state = st,
			      .severity = st == COND_OK ? SEV_NONE : SEV_CRITICAL,
			      .value = NAN};

	if (st == COND_OK)
		condition_summary(&c, "labqcd receives from its broker %s again", d->cfg->mqtt.url);
	else if (st == COND_PENDING)
		condition_summary(&c, "labqcd cannot see the lab: %s", why);
	else
		condition_summary(&c,
				  "labqcd cannot see the lab: %s (for %.0f s); no telemetry or QC "
				  "result is received, stale alerts are held",
				  why, blind_s);
	conditions_report(d, &k, &c, t, 0);
}

void blind_check(struct labqcd *d, double mono_now, double wall_now)
{
	char key[ALERT_KEY_MAX], why[256];

	if (d->mqtt == NULL)
		return;
	if (mqtt_healthy(d->mqtt)) {
		if (!d->broker_seen) {
			d->broker_seen = true;
			d->broker_blind = false;
			d->stale_settle_until = wall_now + STALE_SETTLE_S;
			report(d, COND_OK, wall_now, "", 0);
		} else if (d->broker_blind) {
			d->broker_blind = false;
			equipment_stale_restart(d, wall_now);
			report(d, COND_OK, wall_now, "", 0);
		}
		return;
	}
	if (!d->broker_blind) {
		d->broker_blind = true;
		log_debug("blind: not subscribed; stale rules held");
	}
	double since = mqtt_blind_since(d->mqtt);
	double blind_s = since > 0 ? mono_now - since : 0;
	bool failed = mqtt_failed(d->mqtt, why, sizeof(why));
	bool firing = conditions_firing(d, blind_key(d, key, sizeof(key)));

	if (blind_s >= d->cfg->mqtt.lost_after_s) {
		if (!firing)
			log_warnx("blind: %s for %.0f s: broker alert %s fires", why, blind_s, key);
		report(d, COND_FIRING, wall_now, why, blind_s);
	} else if (failed && !firing) {
		/* Inside lost_after; a firing one (restored at a start while the
		 * broker is still away) stays firing. */
		report(d, COND_PENDING, wall_now, why, blind_s);
	}
}
