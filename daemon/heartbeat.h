/*
 * heartbeat.h: the Watchdog, an always-firing alert sent to one receiver
 * every `heartbeat.every` (config `heartbeat:`), as Prometheus
 * Alertmanager's Watchdog is: an outside dead-man's switch alarms when it
 * stops arriving, that is when labqcd died, hangs, or cannot send.
 *
 * The main loop decides when a beat is due (heartbeat_tick), so a main
 * loop that hangs stops the beats too; a thread of its own,
 * "labqcd-beat", sends it with its own curl handles, so neither a slow
 * receiver nor the notifier's queue delays ingestion or the beats.
 * Heartbeats never go through the spool and are never retried: a late
 * heartbeat is useless. At most one is outstanding: a beat that falls
 * due while the previous one is still being sent is dropped (and logged).
 *
 * Threads: heartbeat_open/configure/tick/close on the main thread; the
 * sender thread only reads what configure copied, under the lock.
 * curl_global_init must have run (notify_open) before heartbeat_start.
 */
#ifndef LABQCD_HEARTBEAT_H
#define LABQCD_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/config.h"
#include "daemon/spool.h"

struct heartbeat;

/* The Watchdog notification for receiver `rcv`, as email or webhook
 * (n is zeroed first; free with notification_free): status firing,
 * alert labqcd/<client_id>/watchdog of kind monitor, rule (the
 * Alertmanager alertname) "Watchdog", severity "none", startsAt
 * `started` (stable while labqcd runs). 0, or -1 (ENOMEM). */
int heartbeat_notification(const struct cfg_receiver *rcv, enum notif_kind kind,
			   const char *client_id, double started, double now,
			   struct notification *n);

struct heartbeat *heartbeat_open(void);
/* Take cfg's heartbeat: section (off when absent), its receiver and the
 * smtp section, copied. `started` is labqcd's start (startsAt). 0 or -1. */
int heartbeat_configure(struct heartbeat *hb, const struct config *cfg, double started);
int heartbeat_start(struct heartbeat *hb);
/* Main loop: queue a beat when one is due at monotonic `now`. Returns the
 * seconds until the next is due (a large number when off). */
double heartbeat_tick(struct heartbeat *hb, double now);
struct heartbeat_counters {
	uint64_t sent, failed, dropped;
};
void heartbeat_get_counters(struct heartbeat *hb, struct heartbeat_counters *out);
/* Stop the thread (aborting a send in progress) and free. */
void heartbeat_close(struct heartbeat *hb);

#endif
