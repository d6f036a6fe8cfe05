/*
 * health_report.c: labqcd's status as `labqcctl status` shows it, as
 * JSON fields and as text for people, from one table of counters.
 */
#include "daemon/health.h"
#include "daemon/labqcd.h"

#include <inttypes.h>
#include <unistd.h>

static void fmt_time(double t, char *buf, size_t len)
{
	if (t <= 0)
		snprintf(buf, len, "never");
	else
		clock_rfc3339(t, false, buf, len);
}

static void fmt_duration(double s, char *buf, size_t len)
{
	long v = s > 0 ? (long)s : 0;

	if (v >= 86400)
		snprintf(buf, len, "%ldd %02ldh %02ldm", v / 86400, v % 86400 / 3600,
		         v % 3600 / 60);
	else if (v >= 3600)
		snprintf(buf, len, "%ldh %02ldm", v / 3600, v % 3600 / 60);
	else
		snprintf(buf, len, "%ldm %02lds", v / 60, v % 60);
}

struct alert_list {
	cJSON *arr;
	FILE *text;
};

static void list_alert(const struct alert_view *v, void *arg)
{
	struct alert_list *l = arg;
	char since[32];
	cJSON *o = cJSON_CreateObject();

	fmt_time(v->since, since, sizeof(since));
	cJSON_AddStringToObject(o, "key", v->key);
	cJSON_AddStringToObject(o, "state", alert_state_name(v->state));
	cJSON_AddStringToObject(o, "severity", severity_name(v->severity));
	cJSON_AddStringToObject(o, "since", since);
	cJSON_AddBoolToObject(o, "acknowledged", v->acknowledged);
	cJSON_AddBoolToObject(o, "silenced", v->silenced);
	cJSON_AddStringToObject(o, "summary", v->summary ? v->summary : "");
	cJSON_AddItemToArray(l->arr, o);
	fprintf(l->text, "  %-9s %-8s %s since %s%s%s\n", alert_state_name(v->state),
	        severity_name(v->severity), v->key, since,
	        v->acknowledged ? " (acknowledged)" : "", v->silenced ? " (silenced)" : "");
}

/* One group of counters: an object in the JSON, and a line of text whose
 * fields are those with a label (NULL: JSON only). */
struct hfield {
	const char *key, *label;
	uint64_t v;
};

static void put_group(cJSON *obj, FILE *text, const char *name, const char *title,
		      const struct hfield *f, size_t n)
{
	cJSON *o = cJSON_AddObjectToObject(obj, name);
	const char *sep = "";

	fprintf(text, "%-12s", title);
	for (size_t i = 0; i < n; i++) {
		cJSON_AddNumberToObject(o, f[i].key, (double)f[i].v);
		if (f[i].label) {
			fprintf(text, "%s%s %" PRIu64, sep, f[i].label, f[i].v);
			sep = ", ";
		}
	}
	fputc('\n', text);
}

#define GROUP(obj, text, name, title, ...)                                                         \
	do {                                                                                       \
		const struct hfield f_[] = {__VA_ARGS__};                                          \
		put_group(obj, text, name, title, f_, sizeof(f_) / sizeof(f_[0]));                 \
	} while (0)

void health_report(struct labqcd *d, cJSON *obj, FILE *text)
{
	struct health h;
	char up[48], render[32];
	cJSON *o;

	health_collect(d, &h);
	fmt_duration(h.uptime_s, up, sizeof(up));
	fmt_time(h.last_render, render, sizeof(render));

	cJSON_AddStringToObject(obj, "version", LABQCD_VERSION);
	cJSON_AddNumberToObject(obj, "pid", (double)getpid());
	cJSON_AddNumberToObject(obj, "uptime_s", (double)(long)h.uptime_s);
	fprintf(text, "labqcd %s, pid %ld, up %s\n", LABQCD_VERSION, (long)getpid(), up);

	o = cJSON_AddObjectToObject(obj, "broker");
	cJSON_AddStringToObject(o, "url", d->cfg->mqtt.url);
	cJSON_AddBoolToObject(o, "connected", h.broker_connected);
	cJSON_AddBoolToObject(o, "subscribed", h.broker_subscribed);
	cJSON_AddNumberToObject(o, "connects", (double)h.broker_connects);
	cJSON_AddNumberToObject(o, "disconnects", (double)h.broker_disconnects);
	fprintf(text, "broker      %s: %s (connects %" PRIu64 ", disconnects %" PRIu64 ")\n",
	        d->cfg->mqtt.url,
	        !h.broker_connected   ? "NOT connected"
	        : h.broker_subscribed ? "connected"
	                              : "connected, subscription NOT granted",
	        h.broker_connects, h.broker_disconnects);

	GROUP(obj, text, "messages", "messages", {"in", "in", h.messages},
	      {"dropped", "dropped", h.dropped}, {"late", "late", h.late},
	      {"samples", "samples", h.samples}, {"qc_results", "QC results", h.qc_results},
	      {"events", "events", h.events}, {"recovered", NULL, h.recovered});
	cJSON_AddItemToObject(obj, "qc", qc_status_json(d)); /* runs and statistics */
	GROUP(obj, text, "rrd", "RRD writes", {"queued", "queued", h.rrd_queued},
	      {"written", "done", h.rrd_written}, {"pending", "pending", h.rrd_pending},
	      {"errors", "errors", h.rrd_errors}, {"series", "series", h.rrd_series});
	GROUP(obj, text, "alerts", "alerts", {"firing", "firing", h.alerts_firing},
	      {"pending", "pending", h.alerts_pending},
	      {"acknowledged", "acknowledged", h.alerts_acknowledged},
	      {"silenced", "silenced", h.alerts_silenced});
	GROUP(obj, text, "spool", "spool", {"depth", "depth", h.spool_depth},
	      {"sent", "sent", h.notifications_sent},
	      {"failed", "failed attempts", h.notifications_failed});
	if (h.heartbeat_on) {
		o = cJSON_AddObjectToObject(obj, "heartbeat");
		cJSON_AddStringToObject(o, "receiver", d->cfg->heartbeat.receiver);
		cJSON_AddNumberToObject(o, "sent", (double)h.heartbeats_sent);
		cJSON_AddNumberToObject(o, "failed", (double)h.heartbeats_failed);
		cJSON_AddNumberToObject(o, "dropped", (double)h.heartbeats_dropped);
		fprintf(text,
		        "heartbeat   to %s: sent %" PRIu64 ", failed %" PRIu64 ", dropped %" PRIu64
		        "\n",
		        d->cfg->heartbeat.receiver, h.heartbeats_sent, h.heartbeats_failed,
		        h.heartbeats_dropped);
	}

	o = cJSON_AddObjectToObject(obj, "dashboard");
	if (h.last_render > 0) {
		char ago[48];

		cJSON_AddStringToObject(o, "last_render", render);
		fmt_duration(wall_clock() - h.last_render, ago, sizeof(ago));
		fprintf(text, "dashboard   last render %s (%s ago)\n", render, ago);
		/* Freshness (issue 18): the oldest day graph behind its file. */
		cJSON_AddNumberToObject(o, "render_s", h.dash_render_s);
		cJSON_AddNumberToObject(o, "oldest_day_graph_s", h.dash_oldest_day_graph_s);
		cJSON_AddNumberToObject(o, "day_graphs_behind", (double)h.dash_day_graphs_behind);
		cJSON_AddNumberToObject(o, "graphs_written", (double)h.dash_graphs_written);
		cJSON_AddNumberToObject(o, "graphs_deferred", (double)h.dash_graphs_deferred);
		cJSON_AddNumberToObject(o, "sparklines_written", (double)h.dash_sparklines_written);
		cJSON_AddNumberToObject(o, "channels_waiting", (double)h.dash_channels_waiting);
		fprintf(text,
		        "            took %.2f s; oldest day graph behind its data %.0f s "
		        "(%" PRIu64 " behind)\n",
		        h.dash_render_s, h.dash_oldest_day_graph_s, h.dash_day_graphs_behind);
	} else {
		cJSON_AddNullToObject(o, "last_render");
		fprintf(text, "dashboard   last render never\n");
	}
	struct alert_list l = {.arr = cJSON_AddArrayToObject(obj, "alert_list"), .text = text};
	if (d->alerts && alerts_count(d->alerts) > 0) {
		fprintf(text, "alert list:\n");
		alerts_foreach(d->alerts, list_alert, &l);
	}
}
