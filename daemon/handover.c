/*
 * handover.c: `labqcctl handover [SLICE]` (issue 21): this instance
 * gives its slice to a successor, for maintenance of its machine.
 *
 * The successor is started with the same mqtt.client_id and a copy of
 * state_dir (and rrd_dir, unless it is shared or behind rrdcached). The
 * broker is what carries the messages across: the persistent session
 * (qos 1 or 2, clean_session false) of that client_id queues what
 * arrives while no one is connected, and delivers again what the broker
 * sent but was never acknowledged. So the hand-over
 *
 *   1. stops taking messages: the broker connection is closed without
 *      cleaning the session, after the PUBACK of every message taken
 *      (mqtt_disconnect), so the successor gets neither a gap nor a
 *      message taken twice;
 *   2. finishes what was taken: every message taken was journaled and
 *      went through the rules as it was read (on the main thread, before
 *      the next one), so what is left is to make it durable: the clean
 *      stop's checkpoint (RRD writes done, audit log, state.json with
 *      Westgard history and rule state, alerts.json with every alert's
 *      state and what was told, the journal emptied);
 *   3. stops the notifier: what is spooled and not yet sent stays in
 *      state_dir/spool and is the successor's to send, once;
 *   4. sets d->handed_over: the loop exits before any timer runs again,
 *      and labqcd exits 0.
 *
 * The answer goes out after all of this, so state_dir is final when the
 * operator reads it; labqcctl then waits for the process to exit.
 */
#include "daemon/labqcd.h"
#include "daemon/fleet.h"

#include <inttypes.h>
#include <string.h>

#define DISCONNECT_TIMEOUT_S 10.0

/* The name `labqcctl handover` takes for this instance's slice. */
static bool names_this_slice(const struct labqcd *d, const char *slice)
{
	/* With a fleet block its `name` is the slice's name; the
	 * client_id (and "self") name it too, with or without one. */
	return slice[0] == '\0' || strcmp(slice, "self") == 0 ||
	       strcmp(slice, d->cfg->mqtt.client_id) == 0 ||
	       (d->cfg->fleet.on && strcmp(slice, d->cfg->fleet.name) == 0);
}

/* Run once the slice is given up, while the broker connection is still
 * up: a retained message published here is written before the
 * DISCONNECT (mqtt_disconnect flushes what is queued). */
static void announce_handed_over(struct labqcd *d)
{
	/* The peers see the slice free to take (not a conflict for the
	 * successor); the clean stop after this does not say "down" over it. */
	if (d->fleet)
		fleet_announce_state(d->fleet, FLEET_HANDED_OVER);
}

static size_t spooled(struct labqcd *d)
{
	char **ids;
	size_t n = 0;

	if (d->spool == NULL || spool_list(d->spool, &ids, &n) == -1)
		return 0;
	spool_list_free(ids, n);
	return n;
}

int labqcd_handover(struct labqcd *d, const char *slice, char *msg, size_t len)
{
	const struct cfg_mqtt *mc = &d->cfg->mqtt;
	const struct cfg_daemon *dc = &d->cfg->daemon;
	size_t unread = 0, n_spooled;
	int confirmed = 1;

	if (!names_this_slice(d, slice)) {
		snprintf(msg, len,
			 "this instance runs slice \"%s\" (%s), not \"%s\": nothing was stopped",
			 d->cfg->fleet.on ? d->cfg->fleet.name : mc->client_id,
			 d->cfg->fleet.on ? "fleet.name" : "mqtt.client_id", slice);
		return -1;
	}
	if (mc->clean_session || mc->qos < 1) {
		snprintf(msg, len,
			 "a hand-over needs a persistent session (mqtt.qos 1 or 2 and clean_session "
			 "false; this config has qos %d, clean_session %s): the broker would drop what "
			 "arrives before the successor connects; nothing was stopped",
			 mc->qos, mc->clean_session ? "true" : "false");
		return -1;
	}
	if (d->mqtt == NULL || d->journal == NULL) {
		snprintf(msg, len, "no broker connection in this mode: nothing to hand over");
		return -1;
	}
	log_info("handover: slice %s: closing the broker connection, keeping session %s",
		 mc->client_id, mc->client_id);
	announce_handed_over(d);
	if (mqtt_disconnect(d->mqtt, DISCONNECT_TIMEOUT_S, &unread) == -1) {
		confirmed = 0;
		log_warnx("handover: the broker did not confirm the disconnect within %.0fs; the "
			  "successor may receive the last messages again (refused as duplicates)",
			  DISCONNECT_TIMEOUT_S);
	}
	labqcd_set_clock(d);
	labqcd_commit_transitions(d);
	if (labqcd_stop_checkpoint(d, true) == -1) {
		/* The broker connection is gone either way: exit, and say so. */
		log_warnx("handover: the state could not be saved; the successor recovers from "
			  "the journal");
	}
	notify_stop(d->notify);
	n_spooled = spooled(d);
	d->handed_over = true;
	snprintf(msg, len,
		 "slice %s handed over: %" PRIu64 " messages taken since the start are in %s "
		 "(journal, audit log, state), their samples in %s; %zu notification%s left in the "
		 "spool for the successor; the broker %s keeps session %s and queues for it%s. "
		 "Start the successor with client_id %s and a copy of state_dir %s (and of rrd_dir "
		 "%s unless shared or behind rrdcached), once this labqcd has exited.",
		 mc->client_id, d->n.messages, dc->state_dir, dc->rrd_dir, n_spooled,
		 n_spooled == 1 ? "" : "s", mc->url, mc->client_id,
		 confirmed ? "" : " (the disconnect was not confirmed: the last messages may come "
				  "again and are refused as duplicates)",
		 mc->client_id, dc->state_dir, dc->rrd_dir);
	log_info("handover: %s", msg);
	log_debug("handover: %zu bytes the broker sent were not taken; it delivers them again",
		  unread);
	return 0;
}
