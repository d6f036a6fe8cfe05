/*
 * health.c: labqcd's own health, gathered from the counters of each
 * module (dispatch, store, broker client, alert engine, spool,
 * dashboard) for the control socket's `status` and for the telemetry
 * that the main loop publishes every minute. Main thread only.
 *
 * The telemetry goes to <prefix>/labqcd/<client_id>/<counter>; labqcd's
 * own topic parser classifies <prefix>/labqcd/... as TOPIC_SELF, so
 * what comes back through a wildcard subscription is ignored.
 */
#include "daemon/health.h"
#include "daemon/labqcd.h"
#include "daemon/heartbeat.h"
#include "dashboards/dashboards.h"

#include <inttypes.h>
#include <string.h>

static void tally(const struct alert_view *v, void *arg)
{
	struct health *h = arg;

	if (v->acknowledged && v->state != ALERT_RESOLVED)
		h->alerts_acknowledged++;
	if (v->silenced)
		h->alerts_silenced++;
	if (v->state == ALERT_FIRING)
		h->alerts_firing++;
	else if (v->state == ALERT_PENDING)
		h->alerts_pending++;
}

void health_collect(struct labqcd *d, struct health *h)
{
	struct store_stats ss;
	memset(h, 0, sizeof(*h));
	h->uptime_s = wall_clock() - d->started;
	if (d->mqtt) {
		struct mqtt_stats ms;
		mqtt_get_stats(d->mqtt, &ms);
		h->broker_connected = ms.connected;
		h->broker_subscribed = mqtt_healthy(d->mqtt);
		h->broker_connects = ms.connects;
		h->broker_disconnects = ms.disconnects;
	}
	h->messages = d->n.messages;
	h->dropped = d->n.dropped;
	h->late = d->n.late;
	h->samples = d->n.samples;
	h->qc_results = d->n.qc_results;
	h->events = d->n.events;
	h->recovered = d->n.recovered;
	if (d->store) {
		store_get_stats(d->store, &ss);
		h->rrd_queued = ss.queued;
		h->rrd_written = ss.written;
		h->rrd_pending = ss.pending;
		h->rrd_errors = ss.write_errors;
		h->rrd_series = ss.series;
	}
	if (d->alerts)
		alerts_foreach(d->alerts, tally, h);
	if (d->spool) {
		struct spool_counters sc;
		char **ids;
		size_t n;
		spool_get_counters(d->spool, &sc);
		h->notifications_sent = sc.sent;
		h->notifications_failed = sc.failed;
		if (spool_list(d->spool, &ids, &n) == 0) {
			h->spool_depth = n;
			spool_list_free(ids, n);
		}
	}
	if (d->dashboard) {
		struct dash_stats ds;
		h->last_render = dashboard_last_render(d->dashboard, &ds);
		h->dash_render_s = ds.elapsed_s;
		h->dash_oldest_day_graph_s = ds.oldest_day_graph_s;
		h->dash_day_graphs_behind = ds.day_graphs_behind;
		h->dash_graphs_written = ds.graphs_written + ds.full_written;
		h->dash_graphs_deferred = ds.graphs_deferred;
		h->dash_sparklines_written = ds.sparklines_written;
		h->dash_channels_waiting = ds.channels_waiting;
	}
	if (d->heartbeat && d->cfg->heartbeat.on) {
		struct heartbeat_counters hc;
		heartbeat_get_counters(d->heartbeat, &hc);
		h->heartbeat_on = true;
		h->heartbeats_sent = hc.sent;
		h->heartbeats_failed = hc.failed;
		h->heartbeats_dropped = hc.dropped;
	}
}

/* A client id goes into a topic level: no wildcards, no separators. */
static bool level_ok(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s; s++)
		if (*s == '+' || *s == '#' || *s == '/')
			return false;
	return true;
}

int health_publish(struct labqcd *d)
{
	struct health h;
	struct mqtt_stats ms;
	char topic[512], value[64];
	int sent = 0;

	if (d->mqtt == NULL || !level_ok(d->cfg->mqtt.client_id))
		return 0;
	mqtt_get_stats(d->mqtt, &ms);
	if (!ms.connected)
		return 0;
	health_collect(d, &h);
	const struct {
		const char *name;
		uint64_t v;
	} counters[] = {
	    {"uptime_s", (uint64_t)(h.uptime_s > 0 ? h.uptime_s : 0)},
	    {"messages", h.messages},
	    {"dropped", h.dropped},
	    {"late", h.late},
	    {"samples", h.samples},
	    {"qc_results", h.qc_results},
	    {"events", h.events},
	    {"broker_connects", h.broker_connects},
	    {"rrd_queued", h.rrd_queued},
	    {"rrd_written", h.rrd_written},
	    {"rrd_pending", h.rrd_pending},
	    {"rrd_errors", h.rrd_errors},
	    {"alerts_firing", h.alerts_firing},
	    {"alerts_pending", h.alerts_pending},
	    {"alerts_acknowledged", h.alerts_acknowledged},
	    {"spool_depth", h.spool_depth},
	    {"notifications_sent", h.notifications_sent},
	    {"notifications_failed", h.notifications_failed},
	};
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		snprintf(topic, sizeof(topic), "%s/labqcd/%s/%s", d->cfg->mqtt.prefix,
		         d->cfg->mqtt.client_id, counters[i].name);
		snprintf(value, sizeof(value), "%" PRIu64, counters[i].v);
		if (mqtt_publish(d->mqtt, topic, value) == 0)
			sent++;
	}
	return sent;
}
