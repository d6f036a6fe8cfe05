/*
 * dispatch.c: one input, from raw message to store, rules and records.
 *
 * Runs on the main thread for every message (live, journal recovery and
 * --replay alike, so the three give the same results). The hot path is
 * a telemetry number: topic_parse, payload_decode, store_put; no malloc
 * besides the JSON parser's. Anything refused becomes a `dropped`
 * record, a counter and a rate-limited log line, never an error.
 */
#include "labqcd.h"

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

static void drop(struct labqcd *d, uint64_t seq, const struct message *m, const char *reason)
{
	char topic[256];
	cJSON *rec;

	d->n.dropped++;
	printable(m->topic, m->topic_len, topic, sizeof(topic));
	if (!d->recovering)
		complain(&d->drop_complaint, "dropped input on \"%s\": %s", topic, reason);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "dropped");
	cJSON_AddStringToObject(rec, "topic", topic);
	cJSON_AddStringToObject(rec, "reason", reason);
	audit_write(d->audit, d->clock > 0 ? d->clock : m->arrival, seq, rec);
}

static void advance_clock(struct labqcd *d, double t)
{
	if (d->replay && t > d->clock)
		d->clock = t;
}

static void put_sample(struct labqcd *d, uint64_t seq, const struct message *m,
		       const char *relpath, enum series_kind kind, double t, double v)
{
	switch (store_put(d->store, relpath, kind, t, v, seq)) {
	case STORE_QUEUED:
		d->n.samples++;
		break;
	case STORE_LATE:
		/* In recovery a late sample is one already written before
		 * the crash: expected, not news. */
		if (!d->recovering) {
			d->n.late++;
			drop(d, seq, m, "late or duplicate timestamp");
		}
		break;
	case STORE_ERROR:
		drop(d, seq, m, "store refused the sample");
		break;
	}
}

static void on_telemetry(struct labqcd *d, uint64_t seq, const struct message *m,
			 const struct topic *tp)
{
	struct payload_sample s[PAYLOAD_SAMPLES_MAX];
	char err[128], relpath[RELPATH_MAX];
	int n = payload_decode(m->payload, m->payload_len, m->arrival, s, PAYLOAD_SAMPLES_MAX,
			       NULL, err, sizeof(err));

	if (n < 0) {
		drop(d, seq, m, err);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *channel = s[i].name[0] ? s[i].name : tp->channel;
		if (strcmp(channel, "event") == 0 || strcmp(channel, "qc") == 0) {
			drop(d, seq, m, "SenML record names a reserved channel");
			continue;
		}
		snprintf(relpath, sizeof(relpath), "%s/%s/%s", tp->site, tp->instrument, channel);
		advance_clock(d, s[i].t);
		put_sample(d, seq, m, relpath, SERIES_GAUGE, s[i].t, s[i].value);
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
	if (s[0].name[0]) {
		drop(d, seq, m, "a QC result is one value, not a SenML pack of channels");
		return;
	}
	d->n.qc_results++;
	advance_clock(d, s[0].t);
	snprintf(relpath, sizeof(relpath), "%s/%s/qc/%s/%s", tp->site, tp->instrument, tp->channel,
		 tp->level);
	put_sample(d, seq, m, relpath, SERIES_QC, s[0].t, s[0].value);
	/* The Westgard evaluation of this result is wired in by the QC
	 * engine (issue 4). */
}

static void on_event(struct labqcd *d, uint64_t seq, const struct message *m,
		     const struct topic *tp)
{
	struct payload_event ev;
	char err[128], key[ID_MAX * 2 + 2];
	cJSON *rec;

	if (payload_decode_event(m->payload, m->payload_len, m->arrival, &ev, err, sizeof(err)) ==
	    -1) {
		drop(d, seq, m, err);
		return;
	}
	d->n.events++;
	advance_clock(d, ev.t);
	snprintf(key, sizeof(key), "%s/%s", tp->site, tp->instrument);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "event");
	cJSON_AddStringToObject(rec, "key", key);
	cJSON_AddStringToObject(rec, "event", payload_event_name(ev.type));
	if (ev.counter[0])
		cJSON_AddStringToObject(rec, "counter", ev.counter);
	if (ev.task[0])
		cJSON_AddStringToObject(rec, "task", ev.task);
	if (ev.by[0])
		cJSON_AddStringToObject(rec, "by", ev.by);
	if (ev.comment[0])
		cJSON_AddStringToObject(rec, "comment", ev.comment);
	audit_write(d->audit, ev.t, seq, rec);
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
	case TOPIC_EVENT:
		on_event(d, seq, m, &tp);
		break;
	case TOPIC_ACK:
		/* Acknowledgements are taken by the alert engine (issue 7). */
		break;
	case TOPIC_SELF:
		break;
	}
}
