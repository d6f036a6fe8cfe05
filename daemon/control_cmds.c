/*
 * control_cmds.c: the control socket's commands (control.h lists them),
 * one handler each, found by name in control_cmds[]. Each runs on the
 * main thread between two inputs and reuses the code paths of MQTT
 * inputs and signals: labqcd_ack, alerts_silence, labqcd_event,
 * qc_action_json, labqcd_reload (the SIGHUP path) and labqcd_flush; each
 * state change is made durable (labqcd_commit_transitions) before the
 * answer goes out.
 */
#include "daemon/control_int.h"
#include "daemon/fleet.h"
#include "daemon/health.h"
#include "daemon/labqcd.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

char *control_next_word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

static char *rest_of_line(char **p)
{
	char *s = *p;
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	*p = s + n;
	return s;
}

static int cmd_status(struct labqcd *d, const char *config_path, char *args,
                      struct reply *r, const char *by)
{
	(void)config_path, (void)by;
	char *opt = control_next_word(&args);

	if (opt != NULL && (strcmp(opt, "--fleet") != 0 || control_next_word(&args) != NULL)) {
		snprintf(r->err, sizeof(r->err), "usage: status [--fleet]");
		return -1;
	}
	if (opt != NULL) { /* issue 21: every instance sharing the broker */
		if (d->fleet == NULL) {
			snprintf(r->err, sizeof(r->err), "no fleet: this instance has no fleet: "
			                                 "section in its config");
			return -1;
		}
		fleet_report(d->fleet, r->obj, r->text, wall_clock());
		return 0;
	}
	health_report(d, r->obj, r->text);
	return 0;
}

static int cmd_ack(struct labqcd *d, const char *config_path, char *args,
                    struct reply *r, const char *by)
{
	(void)config_path;
	char *key = control_next_word(&args);
	char *comment = rest_of_line(&args);

	if (key == NULL) {
		snprintf(r->err, sizeof(r->err), "usage: ack KEY [COMMENT]");
		return -1;
	}
	if (strlen(key) >= ALERT_KEY_MAX || strlen(comment) > 1024) {
		snprintf(r->err, sizeof(r->err), "key or comment too long");
		return -1;
	}
	labqcd_set_clock(d);
	if (labqcd_ack(d, 0, "control", key, by, r->name ? r->name : "", comment, r->err,
	               sizeof(r->err)) == -1) {
		labqcd_commit_transitions(d);
		return -1;
	}
	labqcd_commit_transitions(d);
	log_info("control: %s acknowledged %s", by, key);
	cJSON_AddStringToObject(r->obj, "key", key);
	cJSON_AddStringToObject(r->obj, "by", by);
	if (r->name && r->name[0])
		cJSON_AddStringToObject(r->obj, "name", r->name);
	fprintf(r->text, "%s acknowledged by %s%s%s%s\n", key, by, r->name && r->name[0] ? " (" : "",
	        r->name ? r->name : "", r->name && r->name[0] ? ")" : "");
	return 0;
}

/* qc-action {JSON}: a rejected run's disposition (labqcctl builds the
 * JSON). The record's "by" is the socket's peer, whatever the JSON says;
 * a "by" or "name" given there becomes the display name beside it. */
static int cmd_qc_action(struct labqcd *d, const char *config_path, char *args,
                          struct reply *r, const char *peer)
{
	(void)config_path;
	cJSON *o = cJSON_Parse(args);
	const cJSON *given;
	int rc;

	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		snprintf(r->err, sizeof(r->err), "usage: qc-action {JSON}");
		return -1;
	}
	if (r->name && r->name[0]) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "name");
		cJSON_AddStringToObject(o, "name", r->name);
	} else if (cJSON_GetObjectItemCaseSensitive(o, "name") == NULL &&
	           cJSON_IsString(given = cJSON_GetObjectItemCaseSensitive(o, "by")) &&
	           strcmp(given->valuestring, peer) != 0) {
		cJSON_AddStringToObject(o, "name", given->valuestring);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(o, "by");
	cJSON_AddStringToObject(o, "by", peer);
	labqcd_set_clock(d);
	rc = qc_action_json(d, 0, o, r->err, sizeof(r->err));
	labqcd_commit_transitions(d);
	if (rc == 0) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
		const cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "run");

		log_info("control: %s recorded a disposition of %s run %s", peer, key->valuestring,
		         run->valuestring);
		cJSON_AddStringToObject(r->obj, "key", key->valuestring);
		cJSON_AddStringToObject(r->obj, "run", run->valuestring);
		fprintf(r->text, "%s run %s: disposition recorded\n", key->valuestring,
		        run->valuestring);
	}
	cJSON_Delete(o);
	return rc;
}

static int cmd_silence(struct labqcd *d, const char *config_path, char *args,
                        struct reply *r, const char *by)
{
	(void)config_path;
	char *match = control_next_word(&args), *dur = control_next_word(&args);
	double duration_s;

	if (match == NULL || dur == NULL || control_next_word(&args) != NULL) {
		snprintf(r->err, sizeof(r->err), "usage: silence MATCH DURATION");
		return -1;
	}
	if (strlen(match) >= ALERT_KEY_MAX) {
		snprintf(r->err, sizeof(r->err), "match too long");
		return -1;
	}
	if (config_parse_duration(dur, &duration_s) == -1) {
		snprintf(r->err, sizeof(r->err),
		         "expected a duration such as 90s, 15m, 4h or 0 (remove), got \"%s\"", dur);
		return -1;
	}
	labqcd_set_clock(d);
	if (alerts_silence(d->alerts, match, duration_s, by, d->clock) == -1) {
		snprintf(r->err, sizeof(r->err), "silence %s refused", match);
		return -1;
	}
	labqcd_commit_now(d); /* alerts.json now, not at the next input */
	log_info("control: %s silenced %s for %.0fs", by, match, duration_s);
	cJSON_AddStringToObject(r->obj, "match", match);
	cJSON_AddNumberToObject(r->obj, "duration_s", duration_s);
	if (duration_s > 0) {
		char until[32];
		clock_rfc3339(d->clock + duration_s, false, until, sizeof(until));
		cJSON_AddStringToObject(r->obj, "until", until);
		fprintf(r->text, "%s silenced until %s\n", match, until);
	} else {
		fprintf(r->text, "silence %s removed\n", match);
	}
	return 0;
}

/* "site/instrument" of a configured instrument into site and instrument. */
static const struct cfg_instrument *instrument_arg(struct labqcd *d, const char *arg, char *site,
                                                   char *instrument, struct reply *r)
{
	const char *slash = arg ? strchr(arg, '/') : NULL;
	const struct cfg_instrument *ins;

	if (slash == NULL || !ident_valid(arg, (size_t)(slash - arg)) ||
	    !ident_valid(slash + 1, strlen(slash + 1))) {
		snprintf(r->err, sizeof(r->err), "expected SITE/INSTRUMENT, got \"%s\"",
		         arg ? arg : "");
		return NULL;
	}
	memcpy(site, arg, (size_t)(slash - arg));
	site[slash - arg] = '\0';
	snprintf(instrument, ID_MAX, "%s", slash + 1);
	if ((ins = config_instrument(d->cfg, site, instrument)) == NULL)
		snprintf(r->err, sizeof(r->err), "no instrument %s in the config", arg);
	return ins;
}

static int send_event(struct labqcd *d, const char *site, const char *instrument,
                      struct payload_event *ev, const char *by)
{
	snprintf(ev->by, sizeof(ev->by), "%s", by);
	labqcd_set_clock(d);
	ev->t = d->clock;
	labqcd_event(d, 0, site, instrument, ev);
	labqcd_commit_now(d); /* the event record is durable now */
	return 0;
}

static int cmd_maintenance(struct labqcd *d, const char *config_path, char *args,
                            struct reply *r, const char *by)
{
	(void)config_path;
	char *inst = control_next_word(&args), *what = control_next_word(&args);
	char site[ID_MAX], instrument[ID_MAX];
	struct payload_event ev;

	if (inst == NULL || what == NULL || control_next_word(&args) != NULL ||
	    (strcmp(what, "start") != 0 && strcmp(what, "end") != 0)) {
		snprintf(r->err, sizeof(r->err), "usage: maintenance SITE/INSTRUMENT start|end");
		return -1;
	}
	if (instrument_arg(d, inst, site, instrument, r) == NULL)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.type = strcmp(what, "start") == 0 ? EV_MAINTENANCE_START : EV_MAINTENANCE_END;
	send_event(d, site, instrument, &ev, by);
	log_info("control: %s: maintenance %s by %s", inst, what, by);
	cJSON_AddStringToObject(r->obj, "instrument", inst);
	cJSON_AddStringToObject(r->obj, "maintenance", what);
	cJSON_AddBoolToObject(r->obj, "in_maintenance",
	                      instrument_in_maintenance(d, site, instrument));
	fprintf(r->text, "%s: maintenance %s%s\n", inst, what == NULL ? "" : what,
	        strcmp(what, "start") == 0 ? "ed; its alerts are held until it ends" : "ed");
	return 0;
}

static int cmd_service_done(struct labqcd *d, const char *config_path, char *args,
                             struct reply *r, const char *by)
{
	(void)config_path;
	char *inst = control_next_word(&args), *counter = control_next_word(&args);
	char site[ID_MAX], instrument[ID_MAX];
	const struct cfg_instrument *ins;
	struct payload_event ev;
	size_t n_service = 0;

	if (inst == NULL || control_next_word(&args) != NULL) {
		snprintf(r->err, sizeof(r->err), "usage: service-done SITE/INSTRUMENT [COUNTER]");
		return -1;
	}
	if ((ins = instrument_arg(d, inst, site, instrument, r)) == NULL)
		return -1;
	for (size_t i = 0; i < ins->n_channels; i++)
		if (ins->channels[i].has_service &&
		    (counter == NULL || strcmp(counter, ins->channels[i].name) == 0))
			n_service++;
	if (n_service == 0) {
		snprintf(r->err, sizeof(r->err), "%s has no service counter%s%s", inst,
		         counter ? " " : "", counter ? counter : "");
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = EV_SERVICE_DONE;
	if (counter)
		snprintf(ev.counter, sizeof(ev.counter), "%s", counter);
	send_event(d, site, instrument, &ev, by);
	log_info("control: %s: service done (%s) by %s", inst, counter ? counter : "all counters",
	         by);
	cJSON_AddStringToObject(r->obj, "instrument", inst);
	if (counter)
		cJSON_AddStringToObject(r->obj, "counter", counter);
	cJSON_AddNumberToObject(r->obj, "counters_reset", (double)n_service);
	fprintf(r->text, "%s: service recorded, %zu counter%s reset\n", inst, n_service,
	        n_service == 1 ? "" : "s");
	return 0;
}

static int cmd_reload(struct labqcd *d, const char *config_path, char *args,
                       struct reply *r, const char *by)
{
	(void)by;
	(void)args;
	char errs[sizeof(r->err) - 128];

	if (labqcd_reload(d, config_path, errs, sizeof(errs)) == -1) {
		/* The errors themselves, for the operator, not only the log. */
		snprintf(r->err, sizeof(r->err), "%s has errors; the running config is kept%s%s",
		         config_path, errs[0] ? "\n" : "", errs);
		return -1;
	}
	cJSON_AddStringToObject(r->obj, "config", config_path);
	cJSON_AddNumberToObject(r->obj, "instruments", (double)d->cfg->n_instruments);
	fprintf(r->text, "%s reloaded (%zu instruments)\n", config_path,
	        d->cfg->n_instruments);
	return 0;
}

static int cmd_flush(struct labqcd *d, const char *config_path, char *args,
                      struct reply *r, const char *by)
{
	(void)config_path, (void)by;
	struct store_stats ss;

	(void)args;
	labqcd_flush(d);
	store_get_stats(d->store, &ss);
	cJSON_AddNumberToObject(r->obj, "written", (double)ss.written);
	cJSON_AddNumberToObject(r->obj, "pending", (double)ss.pending);
	fprintf(r->text, "flushed: %" PRIu64 " samples written in all, %" PRIu64 " pending\n",
	        ss.written, ss.pending);
	return 0;
}

/* report PERIOD: queued (durably) and rendered by a child process off
 * the event loop (reports.c); the answer does not wait for it. */
static int cmd_report(struct labqcd *d, const char *config_path, char *args,
                      struct reply *r, const char *by)
{
	(void)config_path;
	char *period = control_next_word(&args), msg[400];

	if (period == NULL || control_next_word(&args) != NULL) {
		snprintf(r->err, sizeof(r->err), "usage: report PERIOD (2026-11, 2026-W47 or "
		                                 "2026-11-01..2026-11-15)");
		return -1;
	}
	if (d->reports == NULL) {
		snprintf(r->err, sizeof(r->err), "reports are not available in this mode");
		return -1;
	}
	if (reports_request(d->reports, d->cfg, period, by, labqcd_set_clock(d), msg,
	                    sizeof(msg)) == -1) {
		snprintf(r->err, sizeof(r->err), "report %s: %s", period, msg);
		return -1;
	}
	cJSON_AddStringToObject(r->obj, "period", period);
	cJSON_AddStringToObject(r->obj, "queued", msg);
	fprintf(r->text, "%s\n", msg);
	return 0;
}

/* handover [SLICE]: give this instance's slice to a successor and exit
 * (handover.c). The answer is written after everything is durable; the
 * loop ends right after this pass (d->handed_over). */
static int cmd_handover(struct labqcd *d, const char *config_path, char *args,
                        struct reply *r, const char *by)
{
	(void)config_path;
	char *slice = control_next_word(&args), msg[sizeof(r->err) * 2];

	if (control_next_word(&args) != NULL) {
		snprintf(r->err, sizeof(r->err), "usage: handover [SLICE]");
		return -1;
	}
	log_info("control: %s asked to hand over slice %s", by, slice ? slice : "self");
	if (labqcd_handover(d, slice ? slice : "", msg, sizeof(msg)) == -1) {
		snprintf(r->err, sizeof(r->err), "handover %.32s refused: %.440s", slice ? slice : "self",
		         msg);
		return -1;
	}
	cJSON_AddStringToObject(r->obj, "slice", d->cfg->mqtt.client_id);
	cJSON_AddStringToObject(r->obj, "client_id", d->cfg->mqtt.client_id);
	cJSON_AddStringToObject(r->obj, "state_dir", d->cfg->daemon.state_dir);
	cJSON_AddStringToObject(r->obj, "rrd_dir", d->cfg->daemon.rrd_dir);
	cJSON_AddStringToObject(r->obj, "message", msg);
	fprintf(r->text, "%s\n", msg);
	return 0;
}

const struct control_cmd control_cmds[] = {
    {"status", cmd_status},
    {"ack", cmd_ack},
    {"silence", cmd_silence},
    {"qc-action", cmd_qc_action},
    {"maintenance", cmd_maintenance},
    {"service-done", cmd_service_done},
    {"reload", cmd_reload},
    {"flush", cmd_flush},
    {"report", cmd_report},
    {"handover", cmd_handover},
    {NULL, NULL},
};
