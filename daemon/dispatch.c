/*
 * dispatch.c: one input, from raw message to store, rules and records.
 *
 * Runs on the main thread for every message (live, journal recovery and
 * --replay alike, so the three give the same results). The hot path is
 * a telemetry number: topic_parse, payload_decode, store_put; no malloc
 * besides the JSON parser's. Anything refused becomes a `dropped`
 * record, a counter and a rate-limited log line, never an error; in a
 * SenML pack that is one record, named by index and name, and the rest
 * of the pack is stored.
 */
#include "daemon/labqcd.h"
#include "daemon/access.h"
#include "daemon/ack_sign.h"
#include "daemon/units.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define RELPATH_MAX (ID_MAX * 5 + 8)

/* A topic as it may be shown in a record or a log line: printable ASCII,
 * the rest as '?', at most 200 characters. */
static void printable(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, n = len < outlen - 1 ? len : outlen - 1;

	if (n > 200)
		n = 200;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[i] = '\0';
}

static void drop_topic(struct labqcd *d, uint64_t seq, const char *raw_topic, size_t topic_len,
		       double arrival, const char *reason)
{
	char topic[256];
	cJSON *rec;

	d->n.dropped++;
	printable(raw_topic, topic_len, topic, sizeof(topic));
	if (!d->recovering)
		complain(&d->drop_complaint, "dropped input on \"%s\": %s", topic, reason);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "dropped");
	cJSON_AddStringToObject(rec, "topic", topic);
	cJSON_AddStringToObject(rec, "reason", reason);
	audit_write(d->audit, d->clock > 0 ? d->clock : arrival, seq, rec);
}

static void drop(struct labqcd *d, uint64_t seq, const struct message *m, const char *reason)
{
	drop_topic(d, seq, m->topic, m->topic_len, m->arrival, reason);
}

/* One SenML record refused, the rest of its pack kept: the reason names
 * the record (index and resolved name, from payload_decode). */
static void drop_record(struct labqcd *d, uint64_t seq, const struct message *m,
			const char *record, const char *why)
{
	char reason[PAYLOAD_RECORD_MAX + PAYLOAD_REASON_MAX + 8];

	if (record == NULL || record[0] == '\0')
		snprintf(reason, sizeof(reason), "%s", why);
	else
		snprintf(reason, sizeof(reason), "%s: %s", record, why);
	drop(d, seq, m, reason);
}

/* In --replay the clock follows the input. Time-driven rules (stale,
 * calendar, tasks, delays) and the alert engine's timers run at the
 * times in between, on a grid of a minute (coarser over long gaps, at
 * most 2,000 steps a gap) from the old time (after every input at that
 * time) strictly before the new time: the sample that moves the clock
 * is then evaluated at its own time, and input a minute apart still
 * gets its tick. */
static void advance_clock(struct labqcd *d, double t)
{
	if (!d->replay || !(t > d->clock))
		return;
	if (d->clock > 0) {
		double step = fmax(60.0, (t - d->clock) / 2000.0);
		for (double c = ceil(d->clock / step) * step; c < t; c += step) {
			equipment_tick(d, c);
			qc_tick(d, c);
			alerts_tick(d->alerts, c);
		}
	}
	d->clock = t;
}

/* Store one sample; true when the rules should see it: it was taken,
 * or (journal replay after a crash) the store had it already but the
 * rule state, saved at the last checkpoint, does not. */
static bool put_sample(struct labqcd *d, uint64_t seq, const struct message *m,
		       const char *record, const char *relpath, enum series_kind kind, double t,
		       double v)
{
	bool rules_lack_it = seq == 0 || seq > d->state_seq;

	switch (store_put(d->store, relpath, kind, t, v, seq)) {
	case STORE_QUEUED:
		d->n.samples++;
		return rules_lack_it;
	case STORE_LATE:
		/* In recovery a late sample is one already written before
		 * the crash: expected, not news. */
		if (d->recovering)
			return rules_lack_it;
		d->n.late++;
		drop_record(d, seq, m, record,
			    kind == SERIES_QC
				    ? "late or duplicate QC result (not after the level's last)"
				    : "late or duplicate timestamp");
		return false;
	case STORE_ERROR:
		drop_record(d, seq, m, record, "store refused the sample");
		return false;
	}
	return false;
}

/*
 * A SenML record's unit against its channel: the configured `unit`,
 * where one is set, must match (units.c). Where none is, one pack may
 * not give one channel two units: RFC 8428's own example of a mobile
 * hygrometer sends humidity, latitude, longitude and battery level under
 * one name, told apart by unit only, and they must not become one
 * series. True, with the reason in why, when the record is refused.
 */
static bool unit_refused(const struct cfg_instrument *ci, const struct topic *tp,
			 const struct payload_sample *s, int i, const char *channel, char *why,
			 size_t len)
{
	const struct cfg_channel *cc = ci ? config_channel(ci, channel) : NULL;

	if (cc && cc->unit[0]) {
		if (unit_matches(cc->unit, s[i].unit))
			return false;
		snprintf(why, len, "\"u\" %s does not match the unit of channel %s, %s", s[i].unit,
			 channel, cc->unit);
		return true;
	}
	for (int j = 0; j < i; j++) {
		if (s[j].refused[0] || s[j].unit[0] == '\0' ||
		    strcmp(s[j].name[0] ? s[j].name : tp->channel, channel) != 0)
			continue;
		if (strcmp(s[j].unit, s[i].unit) == 0)
			return false;
		snprintf(why, len, "\"u\" %s differs from %s, the unit of channel %s earlier in the pack",
			 s[i].unit, s[j].unit, channel);
		return true;
	}
	return false;
}

/* Up to PAYLOAD_SAMPLES_MAX decoded records (about 500 KiB): static, off
 * the stack; dispatch runs on the main thread only. */
static struct payload_sample samples[PAYLOAD_SAMPLES_MAX];

static void on_telemetry(struct labqcd *d, uint64_t seq, const struct message *m,
			 const struct topic *tp)
{
	struct payload_sample *s = samples;
	const struct cfg_instrument *ci = NULL;
	char err[128], why[PAYLOAD_REASON_MAX], relpath[RELPATH_MAX];
	int n = payload_decode(m->payload, m->payload_len, m->arrival, s, PAYLOAD_SAMPLES_MAX,
			       NULL, err, sizeof(err));

	if (n < 0) {
		drop(d, seq, m, err);
		return;
	}
	if (n > 1 || s[0].unit[0])
		ci = config_instrument(d->cfg, tp->site, tp->instrument);
	/* Record by record, in order: a refused one takes nothing else with it. */
	for (int i = 0; i < n; i++) {
		const char *channel = s[i].name[0] ? s[i].name : tp->channel;
		if (s[i].refused[0]) {
			drop_record(d, seq, m, s[i].record, s[i].refused);
			continue;
		}
		if (strcmp(channel, "event") == 0 || strcmp(channel, "qc") == 0) {
			drop_record(d, seq, m, s[i].record, "names a reserved channel (event, qc)");
			continue;
		}
		if (s[i].unit[0] && unit_refused(ci, tp, s, i, channel, why, sizeof(why))) {
			drop_record(d, seq, m, s[i].record, why);
			continue;
		}
		if (snprintf(relpath, sizeof(relpath), "%s/%s/%s", tp->site, tp->instrument,
			     channel) >= (int)sizeof(relpath))
			continue; /* cannot happen: every component is < ID_MAX */
		if (s[i].arrival_time) {
			/* Our own timestamp: arrival order is the order, and two
			 * samples within a millisecond are both kept (the store
			 * keeps milliseconds). */
			double last = store_last_time(d->store, relpath);
			if (isfinite(last) && s[i].t < last + 0.001)
				s[i].t = last + 0.001;
		}
		advance_clock(d, s[i].t);
		if (put_sample(d, seq, m, s[i].record, relpath, SERIES_GAUGE, s[i].t, s[i].value))
			equipment_sample(d, seq, tp->site, tp->instrument, channel, s[i].value,
					 s[i].t);
	}
}

static void on_qc(struct labqcd *d, uint64_t seq, const struct message *m, const struct topic *tp)
{
	struct payload_sample s[1];
	struct payload_meta meta;
	char err[128], relpath[RELPATH_MAX];
	int n;

	memset(&meta, 0, sizeof(meta));
	n = payload_decode(m->payload, m->payload_len, m->arrival, s, 1, &meta, err, sizeof(err));
	if (n < 0) {
		drop(d, seq, m, err);
		return;
	}
	if (s[0].refused[0]) {
		drop_record(d, seq, m, s[0].record, s[0].refused);
		return;
	}
	if (s[0].name[0]) {
		drop(d, seq, m, "a QC result is one value, not a SenML pack of channels");
		return;
	}
	d->n.qc_results++;
	advance_clock(d, s[0].t);
	snprintf(relpath, sizeof(relpath), "%s/%s/qc/%s/%s", tp->site, tp->instrument, tp->channel,
		 tp->level);
	/* A QC result not after its level's last one is a duplicate or out
	 * of order: judging it would corrupt the across-run rules, so it is
	 * refused whole. */
	if (put_sample(d, seq, m, s[0].record, relpath, SERIES_QC, s[0].t, s[0].value))
		qc_result(d, seq, tp, &meta, s[0].value, s[0].t);
}

/* A patient result (issue 22): value and time only, to the analyte's
 * moving statistic; its value is not stored, only the statistic. */
static void on_patient(struct labqcd *d, uint64_t seq, const struct message *m,
		       const struct topic *tp)
{
	struct payload_sample s;
	char err[160];

	if (payload_decode_patient(m->payload, m->payload_len, m->arrival, &s, err, sizeof(err)) ==
	    -1) {
		drop(d, seq, m, err);
		return;
	}
	if (!pbrtqc_configured(d, tp->site, tp->instrument, tp->channel)) {
		drop(d, seq, m, "patient results of an analyte without pbrtqc: in the config");
		return;
	}
	advance_clock(d, s.t);
	pbrtqc_result(d, seq, tp, s.value, s.t);
}

static void on_event(struct labqcd *d, uint64_t seq, const struct message *m,
		     const struct topic *tp)
{
	struct payload_event ev;
	char err[128];

	if (payload_decode_event(m->payload, m->payload_len, m->arrival, &ev, err, sizeof(err)) ==
	    -1) {
		drop(d, seq, m, err);
		return;
	}
	advance_clock(d, ev.t);
	labqcd_event(d, seq, tp->site, tp->instrument, &ev);
}

void labqcd_event(struct labqcd *d, uint64_t seq, const char *site, const char *instrument,
		  const struct payload_event *ev)
{
	char key[ID_MAX * 2 + 2];
	cJSON *rec;

	d->n.events++;
	snprintf(key, sizeof(key), "%s/%s", site, instrument);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "event");
	cJSON_AddStringToObject(rec, "key", key);
	cJSON_AddStringToObject(rec, "event", payload_event_name(ev->type));
	if (ev->counter[0])
		cJSON_AddStringToObject(rec, "counter", ev->counter);
	if (ev->task[0])
		cJSON_AddStringToObject(rec, "task", ev->task);
	if (ev->by[0])
		cJSON_AddStringToObject(rec, "by", ev->by);
	if (ev->comment[0])
		cJSON_AddStringToObject(rec, "comment", ev->comment);
	audit_write(d->audit, ev->t, seq, rec);
	if (seq == 0 || seq > d->state_seq)
		equipment_event(d, seq, site, instrument, ev);
}

/* <prefix>/labqcd/ack: {"key", "comment", "name", "user", "ts", "nonce",
 * "sig"}, or {"qc_action": {...}, "user", "ts", "nonce", "sig"}: signed
 * by its user (ack_sign.h), who is the record's "by". */
static void on_ack(struct labqcd *d, uint64_t seq, const struct message *m)
{
	char text[4096], err[256];
	cJSON *o;

	/* cJSON may read one byte past a buffer that is not NUL-terminated
	 * (a journal record is not): parse a terminated copy. */
	if (m->payload_len >= sizeof(text)) {
		drop(d, seq, m, "acknowledgement larger than 4 KiB");
		return;
	}
	memcpy(text, m->payload, m->payload_len);
	text[m->payload_len] = '\0';
	o = cJSON_Parse(text);
	if (seq != 0 && seq <= d->state_seq) {
		cJSON_Delete(o); /* the saved state has it */
		return;
	}
	/* {"qc_action": {...}}: a rejected run's disposition (qc_runs.c) */
	cJSON *qa = cJSON_GetObjectItemCaseSensitive(o, "qc_action");
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(o, "user");
	if (cJSON_IsObject(qa)) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(qa, "key");
		const char *target = cJSON_IsString(key) ? key->valuestring : "";
		const char *right = cJSON_GetObjectItemCaseSensitive(qa, "override") ? "override"
		                                                                     : "qc-action";
		if (ack_sign_check(d, seq, "qc_action", o, qa, right, target) == 0) {
			/* the signer is "by"; a "by" in the message was never signed */
			cJSON_DeleteItemFromObjectCaseSensitive(qa, "by");
			cJSON_AddStringToObject(qa, "by", user->valuestring);
			if (qc_action_json(d, seq, qa, err, sizeof(err)) == -1)
				drop(d, seq, m, err);
		}
		cJSON_Delete(o);
		return;
	}
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
	const cJSON *comment = cJSON_GetObjectItemCaseSensitive(o, "comment");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");

	if (!cJSON_IsString(key) || strlen(key->valuestring) >= ALERT_KEY_MAX ||
	    (comment && (!cJSON_IsString(comment) || strlen(comment->valuestring) > 1024)) ||
	    (name && (!cJSON_IsString(name) || strlen(name->valuestring) > 64))) {
		drop(d, seq, m,
		     "an acknowledgement needs {\"key\", \"comment\", \"user\", \"ts\", "
		     "\"nonce\", \"sig\"}");
		cJSON_Delete(o);
		return;
	}
	if (ack_sign_check(d, seq, "ack", o, o, "ack", key->valuestring) == 0)
		labqcd_ack(d, seq, "mqtt", key->valuestring, user->valuestring,
			   name ? name->valuestring : "", comment ? comment->valuestring : "", err,
			   sizeof(err));
	cJSON_Delete(o);
}

struct severity_of {
	const char *key;
	enum severity sev;
	bool found;
};

static void find_severity(const struct alert_view *v, void *arg)
{
	struct severity_of *s = arg;

	if (strcmp(v->key, s->key) == 0) {
		s->sev = v->severity;
		s->found = true;
	}
}

int labqcd_ack(struct labqcd *d, uint64_t seq, const char *via, const char *key, const char *by,
	       const char *name, const char *comment, char *err, size_t errlen)
{
	struct severity_of sv = {.key = key};

	/* 21 CFR 11.50: the meaning of a signature; for a critical alarm
	 * the comment is it. */
	alerts_foreach(d->alerts, find_severity, &sv);
	if (sv.found && sv.sev == SEV_CRITICAL && comment[0] == '\0' &&
	    d->cfg->access.ack_comment_required) {
		snprintf(err, errlen, "%s is critical: acknowledging it needs a comment "
			 "(what was found or done)", key);
		access_denied(d, seq, via, by, "ack", key, "a critical alert's ack needs a comment");
		return -1;
	}
	if (alerts_ack(d->alerts, key, by, comment, d->clock) == -1) {
		char topic[ID_MAX + 16];
		snprintf(topic, sizeof(topic), "%s/labqcd/ack", d->cfg->mqtt.prefix);
		drop_topic(d, seq, topic, strlen(topic), d->clock,
			   "acknowledgement of an alert that does not exist");
		snprintf(err, errlen, "no alert %s", key);
		return -1;
	}
	cJSON *rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "alert");
	cJSON_AddStringToObject(rec, "key", key);
	cJSON_AddStringToObject(rec, "state", "acknowledged");
	cJSON_AddStringToObject(rec, "by", by);
	if (name[0])
		cJSON_AddStringToObject(rec, "name", name);
	cJSON_AddStringToObject(rec, "comment", comment);
	if (strcmp(via, "control") != 0)
		cJSON_AddStringToObject(rec, "via", via);
	audit_write(d->audit, d->clock, seq, rec);
	d->transitions_pending = true;
	return 0;
}

void dispatch_message(struct labqcd *d, uint64_t seq, const struct message *m)
{
	struct topic tp;
	char err[128];

	d->n.messages++;
	if (!d->replay)
		d->clock = m->arrival;
	if (topic_parse(d->cfg->mqtt.prefix, m->topic, m->topic_len, &tp, err, sizeof(err)) == -1) {
		drop(d, seq, m, err);
		return;
	}
	switch (tp.kind) {
	case TOPIC_TELEMETRY:
		on_telemetry(d, seq, m, &tp);
		break;
	case TOPIC_QC:
		on_qc(d, seq, m, &tp);
		break;
	case TOPIC_PATIENT:
		on_patient(d, seq, m, &tp);
		break;
	case TOPIC_EVENT:
		on_event(d, seq, m, &tp);
		break;
	case TOPIC_ACK:
		on_ack(d, seq, m);
		break;
	case TOPIC_SELF:
		break;
	}
}
