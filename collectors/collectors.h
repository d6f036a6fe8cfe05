/*
 * collectors.h: labqcd's inputs (DESIGN section 2).
 *
 * topic_parse() turns an MQTT topic into an identity, refusing anything
 * that is not a clean path component; payload_decode() turns a payload
 * into samples; the MQTT collector (mqtt.c) and the replay reader
 * (replay.c) hand raw messages to the daemon through a callback. Nothing
 * here knows about rules, the store or alerts.
 */
#ifndef LABQCD_COLLECTORS_H
#define LABQCD_COLLECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ID_MAX 65          /* a path component: 64 characters + NUL */
#define PAYLOAD_MAX 65536  /* larger payloads are refused */
#define PAYLOAD_SAMPLES_MAX 1024 /* records in one SenML pack */
#define PAYLOAD_UNIT_MAX 32      /* a SenML unit, with its NUL (as a channel's config unit) */
#define PAYLOAD_RECORD_MAX 160   /* "SenML record 3 \"urn:dev:...\"" */
#define PAYLOAD_REASON_MAX 160   /* why one SenML record is not a sample */
#define SENML_NAME_MAX 256       /* a resolved SenML name (bn + n), with its NUL */
#define SENML_VERSION 10         /* the SenML version (bver) understood: RFC 8428 */

/* ---- topics ---- */

enum topic_kind {
	TOPIC_TELEMETRY, /* <prefix>/<site>/<instrument>/<channel> */
	TOPIC_QC,        /* <prefix>/<site>/<instrument>/qc/<analyte>/<level> */
	TOPIC_EVENT,     /* <prefix>/<site>/<instrument>/event */
	TOPIC_PATIENT,   /* <prefix>/<site>/<instrument>/patient/<analyte> */
	TOPIC_ACK,       /* <prefix>/labqcd/ack */
	TOPIC_SELF,      /* <prefix>/labqcd/...: our own health telemetry, ignored */
};

struct topic {
	enum topic_kind kind;
	char site[ID_MAX];
	char instrument[ID_MAX];
	char channel[ID_MAX]; /* telemetry channel, or QC or patient analyte */
	char level[ID_MAX];   /* QC level */
};

/* True when s[0..len) matches [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
bool ident_valid(const char *s, size_t len);
/* The same for a NUL-terminated string (NULL is not valid). */
static inline bool ident_ok(const char *s)
{
	return s != NULL && ident_valid(s, strlen(s));
}

/*
 * Parse `topic` (len bytes, not necessarily NUL-terminated) under
 * `prefix`. Returns 0 and fills *out, or -1 with a short reason in err
 * ("bad component", "not under prefix", "too many levels", ...).
 */
int topic_parse(const char *prefix, const char *topic, size_t len, struct topic *out, char *err,
		size_t errlen);

/* ---- payloads ---- */

/*
 * One decoded sample, or (SenML) one record refused on its own: then
 * `refused` says why, naming the field, and only `record` is meaningful.
 * `record` and `refused` hold printable ASCII only: they go into log
 * lines and `dropped` records.
 */
struct payload_sample {
	char name[ID_MAX]; /* channel: SenML: last component of bn+n; "" = the topic's */
	char unit[PAYLOAD_UNIT_MAX]; /* SenML "u", else "bu"; "" = none given */
	double value;
	double t;          /* epoch seconds */
	bool arrival_time; /* the payload had no time: t is the arrival time */
	char record[PAYLOAD_RECORD_MAX]; /* SenML: "SenML record <i> \"<bn+n>\""; else "" */
	char refused[PAYLOAD_REASON_MAX]; /* SenML: why this record is no sample; "" = it is */
};

struct payload_meta { /* optional fields of a JSON object payload */
	char run[ID_MAX];
	char lot[ID_MAX];
	char operator_[ID_MAX];
};

enum event_type {
	EV_NONE = 0,
	EV_SERVICE_DONE,
	EV_CALIBRATION_DONE,
	EV_MAINTENANCE_START,
	EV_MAINTENANCE_END,
	EV_TASK_DONE,
};

struct payload_event {
	enum event_type type;
	char counter[ID_MAX];
	char task[ID_MAX];
	char by[128];
	char comment[256];
	double t;
};

/*
 * Decode a telemetry or QC payload: a bare number, a JSON object
 * {"value"|"v": n, "t"|"ts": epoch or RFC 3339, "run", "lot", "operator"},
 * or a SenML pack (RFC 8428, see senml.c). `now` is the arrival time,
 * used when the payload has no time. Fills up to `max` samples and
 * returns how many (>= 1), or -1 with the reason in err. NaN, Inf,
 * non-numeric, oversized, unparsable and empty payloads are refused
 * whole, and so is a SenML pack of a newer version (bver > 10); any
 * other SenML record that cannot be a sample is returned with
 * `refused` set and takes nothing else with it. `meta` may be NULL.
 */
int payload_decode(const char *buf, size_t len, double now, struct payload_sample *out,
		   size_t max, struct payload_meta *meta, char *err, size_t errlen);

/*
 * Decode a patient result (issue 22): a bare number, or a JSON object
 * with "value"|"v", "t"|"ts"|"time" and "unit"|"u" only. Any other field
 * (an identifier, a name, a date of birth ...) refuses the payload whole,
 * the reason naming the field (its name when it is an identifier, so no
 * hostile bytes reach the record). Fills *out; 0, or -1 with err.
 */
int payload_decode_patient(const char *buf, size_t len, double now, struct payload_sample *out,
			   char *err, size_t errlen);

/* Decode an event payload (DESIGN section 2). 0, or -1 with err. */
int payload_decode_event(const char *buf, size_t len, double now, struct payload_event *ev,
			 char *err, size_t errlen);

const char *payload_event_name(enum event_type t);

/* Parse an RFC 3339 timestamp ("2025-11-23T08:00:00.250Z", offsets
 * allowed) into epoch seconds. 0 or -1. */
int rfc3339_parse(const char *s, size_t len, double *epoch);

/* ---- message sources ---- */

/* One raw message as it came in. `arrival` is epoch seconds. The
 * callback must copy what it keeps; buffers are reused after it returns. */
struct message {
	const char *topic;
	size_t topic_len;
	const char *payload;
	size_t payload_len;
	double arrival;
	int qos;
};

typedef void (*message_cb)(void *ctx, const struct message *m);

/*
 * Replay reader: one "topic payload" line (mosquitto_sub -v) at a time.
 * The topic ends at the first space; the payload is the rest of the line
 * without its newline. Returns 0, or -1 for a line with no space or an
 * empty topic (reason in err).
 */
int replay_split_line(const char *line, size_t len, const char **topic, size_t *topic_len,
		      const char **payload, size_t *payload_len, char *err, size_t errlen);

#endif
