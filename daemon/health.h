/*
 * health.h: labqcd's own counters, for `labqcctl status` and for the
 * health telemetry published every minute to
 * <prefix>/labqcd/<client_id>/<counter> (QoS 0, not retained).
 */
#ifndef LABQCD_HEALTH_H
#define LABQCD_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

struct labqcd;

struct health {
	double uptime_s;
	bool broker_connected;
	bool broker_subscribed; /* every filter granted: labqcd can see */
	uint64_t broker_connects, broker_disconnects;
	uint64_t messages, dropped, late, samples, qc_results, events, recovered;
	uint64_t rrd_queued, rrd_written, rrd_pending, rrd_errors, rrd_series;
	uint64_t alerts_firing, alerts_pending, alerts_acknowledged, alerts_silenced;
	uint64_t spool_depth, notifications_sent, notifications_failed;
	double last_render; /* epoch seconds; 0 = never */
	bool heartbeat_on;
	uint64_t heartbeats_sent, heartbeats_failed, heartbeats_dropped;
	/* the last render's (dashboards.h struct dash_stats) */
	double dash_render_s, dash_oldest_day_graph_s;
	uint64_t dash_day_graphs_behind, dash_graphs_written, dash_graphs_deferred;
	uint64_t dash_sparklines_written, dash_channels_waiting;
};

/* Gather every counter (reads the spool directory for its depth). */
void health_collect(struct labqcd *d, struct health *h);

/* `labqcctl status`: the counters, the QC runs and statistics and the
 * alert list, as JSON fields into obj and as text into text
 * (health_report.c). */
void health_report(struct labqcd *d, cJSON *obj, FILE *text);

/* Publish the counters as <prefix>/labqcd/<client_id>/<name>; returns
 * how many were handed to the broker client (0 when disconnected). */
int health_publish(struct labqcd *d);

#endif
