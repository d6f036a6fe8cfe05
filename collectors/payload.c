/*
 * payload.c: MQTT payloads to samples (DESIGN section 2).
 *
 * Three shapes: a bare number, a JSON object {"value"|"v", "t"|"ts",
 * "run", "lot", "operator"}, and a SenML pack (RFC 8428). A bare number,
 * the common case at 100k messages/s, is read with strtod from a stack
 * copy and never reaches the JSON parser; JSON goes through cJSON, whose
 * tree is the only allocation and is freed before returning. Output goes
 * into the caller's arrays; a number or an object is accepted whole or
 * refused whole. SenML packs are decoded record by record in senml.c.
 *
 * Times: a payload's absolute time must lie in [2000-01-01, 2200-01-01)
 * UTC. There is no "not in the future" check against `now`, because
 * --replay feeds old and new data against a clock that follows the
 * input.
 *
 * Reasons written to err are fixed text and numbers only: they are
 * logged and recorded, and must not echo bytes from the payload.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/collectors.h"
#include "collectors/payload_int.h"

#define NUMBER_MAX 64 /* bare number, with its NUL */

/* cJSON 1.7.15 may read one byte past a buffer that is not
 * NUL-terminated (cJSON issue #800), so JSON is parsed from a
 * terminated copy. One per thread: the MQTT and replay paths may run on
 * different threads. */
static _Thread_local char json_copy[PAYLOAD_MAX + 1];

/* A sample of the topic's channel, no unit, not refused. */
static void plain_sample(struct payload_sample *s)
{
	s->name[0] = '\0';
	s->unit[0] = '\0';
	s->record[0] = '\0';
	s->refused[0] = '\0';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Trim JSON whitespace; refuse what no payload may be. */
static int frame(const char **buf, size_t *len, char *err, size_t errlen)
{
	const char *s = *buf;
	size_t n = *len;

	if (s == NULL || n == 0)
		return payload_fail(err, errlen, "empty payload");
	if (n > PAYLOAD_MAX)
		return payload_fail(err, errlen, "payload larger than %d bytes", PAYLOAD_MAX);
	if (memchr(s, '\0', n) != NULL)
		return payload_fail(err, errlen, "NUL byte in payload");
	while (n > 0 && is_space(s[0]))
		s++, n--;
	while (n > 0 && is_space(s[n - 1]))
		n--;
	if (n == 0)
		return payload_fail(err, errlen, "empty payload");
	*buf = s;
	*len = n;
	return 0;
}

/* A bare decimal number. Only digits, sign, point and exponent are let
 * through to strtod, which would otherwise also take hex, "inf", "nan". */
static int bare_number(const char *s, size_t n, double *v, char *err, size_t errlen)
{
	char copy[NUMBER_MAX];
	char *end;

	if (n >= sizeof(copy))
		return payload_fail(err, errlen, "number longer than %d characters", NUMBER_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789+-.eE", s[i]) || s[i] == '\0')
			return payload_fail(err, errlen, "not a number");
	memcpy(copy, s, n);
	copy[n] = '\0';
	*v = strtod(copy, &end);
	if (end == copy || *end != '\0')
		return payload_fail(err, errlen, "not a number");
	if (!isfinite(*v))
		return payload_fail(err, errlen, "number out of range");
	return 0;
}

/* "t"/"ts": epoch seconds or RFC 3339, absolute. */
static int json_time(const cJSON *item, double *t, char *err, size_t errlen)
{
	if (cJSON_IsNumber(item)) {
		*t = item->valuedouble;
		if (!isfinite(*t))
			return payload_fail(err, errlen, "time is not a finite number");
	} else if (cJSON_IsString(item)) {
		if (rfc3339_parse(item->valuestring, strlen(item->valuestring), t) == -1)
			return payload_fail(err, errlen, "time is neither epoch seconds nor RFC 3339");
	} else {
		return payload_fail(err, errlen, "time is neither epoch seconds nor RFC 3339");
	}
	if (!payload_time_in_range(*t))
		return payload_fail(err, errlen, "time outside 2000-01-01 .. 2200-01-01");
	return 0;
}

static int json_value(const cJSON *item, double *v, char *err, size_t errlen)
{
	if (!cJSON_IsNumber(item))
		return payload_fail(err, errlen, "value is not a number");
	if (!isfinite(item->valuedouble))
		return payload_fail(err, errlen, "value out of range");
	*v = item->valuedouble;
	return 0;
}

/* Valid UTF-8 without control characters (C0, DEL, C1): safe to put in
 * a log line, an email and the audit record. */
static bool printable_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned int cp;
		size_t k;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return false;
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += k + 1;
	}
	return true;
}

/* A string field: absent leaves dst "", anything else must be a string
 * that fits and is an identity component (ident) or printable text. */
static int text_field(const cJSON *item, const char *key, char *dst, size_t size, bool ident,
		      char *err, size_t errlen)
{
	size_t n;

	dst[0] = '\0';
	if (item == NULL)
		return 0;
	if (!cJSON_IsString(item))
		return payload_fail(err, errlen, "\"%s\" is not a string", key);
	n = strlen(item->valuestring);
	if (n >= size)
		return payload_fail(err, errlen, "\"%s\" longer than %zu bytes", key, size - 1);
	if (ident ? !ident_valid(item->valuestring, n)
		  : !printable_utf8((const unsigned char *)item->valuestring, n))
		return payload_fail(err, errlen,
			    ident ? "\"%s\" is not a valid identifier ([A-Za-z0-9][A-Za-z0-9._-]*)"
				  : "\"%s\" has control characters or invalid UTF-8",
			    key);
	memcpy(dst, item->valuestring, n + 1);
	return 0;
}

/* Take the member for one of two spellings; refuse it given twice. */
static int take(const cJSON **slot, const cJSON *item, char *err, size_t errlen)
{
	if (*slot)
		return payload_fail(err, errlen, "\"%s\" given twice", item->string);
	*slot = item;
	return 0;
}

static bool key_is(const cJSON *item, const char *a, const char *b)
{
	return strcmp(item->string, a) == 0 || (b && strcmp(item->string, b) == 0);
}

static int decode_object(const cJSON *o, double now, struct payload_sample *out,
			 struct payload_meta *meta, char *err, size_t errlen)
{
	const cJSON *value = NULL, *t = NULL, *run = NULL, *lot = NULL, *op = NULL;

	for (const cJSON *it = o->child; it; it = it->next) {
		const cJSON **slot = key_is(it, "value", "v")  ? &value
				     : key_is(it, "t", "ts")    ? &t
				     : key_is(it, "run", NULL)  ? &run
				     : key_is(it, "lot", NULL)  ? &lot
				     : key_is(it, "operator", NULL) ? &op
								    : NULL;
		if (slot && take(slot, it, err, errlen) == -1)
			return -1;
	}
	if (value == NULL)
		return payload_fail(err, errlen, "JSON object without \"value\"");
	plain_sample(out);
	if (json_value(value, &out->value, err, errlen) == -1)
		return -1;
	out->t = now;
	out->arrival_time = t == NULL;
	if (t && json_time(t, &out->t, err, errlen) == -1)
		return -1;
	/* run, lot and operator mean something on QC topics only; on
	 * telemetry (meta == NULL) they are extra keys and ignored. */
	if (meta) {
		if (text_field(run, "run", meta->run, sizeof(meta->run), true, err, errlen) == -1 ||
		    text_field(lot, "lot", meta->lot, sizeof(meta->lot), true, err, errlen) == -1 ||
		    text_field(op, "operator", meta->operator_, sizeof(meta->operator_), false, err,
			       errlen) == -1)
			return -1;
	}
	return 1;
}

/* Parse JSON text (already framed) into a tree, refusing trailing bytes. */
static cJSON *parse_json(const char *s, size_t n, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *root;

	/* cJSON decodes "\u0000" into a NUL that silently cuts the string
	 * short ("ok\u0000../x" would read as "ok"): refuse it. */
	if (memmem(s, n, "\\u0000", 6) != NULL) {
		payload_fail(err, errlen, "NUL escape in JSON string");
		return NULL;
	}
	memcpy(json_copy, s, n);
	json_copy[n] = '\0';
	root = cJSON_ParseWithLengthOpts(json_copy, n, &end, 0);
	if (root == NULL) {
		payload_fail(err, errlen, "invalid JSON");
		return NULL;
	}
	if (end != json_copy + n) {
		cJSON_Delete(root);
		payload_fail(err, errlen, "trailing bytes after JSON");
		return NULL;
	}
	return root;
}

int payload_decode(const char *buf, size_t len, double now, struct payload_sample *out,
		   size_t max, struct payload_meta *meta, char *err, size_t errlen)
{
	cJSON *root;
	int n;

	if (meta)
		memset(meta, 0, sizeof(*meta));
	if (out == NULL || max == 0)
		return payload_fail(err, errlen, "no room for samples");
	if (frame(&buf, &len, err, errlen) == -1)
		return -1;
	if (buf[0] != '{' && buf[0] != '[') {
		if (bare_number(buf, len, &out[0].value, err, errlen) == -1)
			return -1;
		plain_sample(&out[0]);
		out[0].t = now;
		out[0].arrival_time = true;
		return 1;
	}
	if ((root = parse_json(buf, len, err, errlen)) == NULL)
		return -1;
	if (cJSON_IsObject(root))
		n = decode_object(root, now, out, meta, err, errlen);
	else
		n = senml_decode(root, now, out, max, err, errlen);
	cJSON_Delete(root);
	if (n < 0 && meta)
		memset(meta, 0, sizeof(*meta));
	return n;
}

int payload_decode_patient(const char *buf, size_t len, double now, struct payload_sample *out,
			   char *err, size_t errlen)
{
	const cJSON *value = NULL, *t = NULL, *unit = NULL;
	cJSON *root;
	int rc = -1;

	if (out == NULL)
		return payload_fail(err, errlen, "no room for the result");
	if (frame(&buf, &len, err, errlen) == -1)
		return -1;
	plain_sample(out);
	if (buf[0] != '{') {
		if (buf[0] == '[')
			return payload_fail(err, errlen, "a patient result is one value, not a SenML pack");
		if (bare_number(buf, len, &out->value, err, errlen) == -1)
			return -1;
		out->t = now;
		out->arrival_time = true;
		return 0;
	}
	if ((root = parse_json(buf, len, err, errlen)) == NULL)
		return -1;
	for (const cJSON *it = root->child; it; it = it->next) {
		const cJSON **slot = key_is(it, "value", "v")  ? &value
				     : key_is(it, "t", "ts")    ? &t
				     : key_is(it, "time", NULL) ? &t
				     : key_is(it, "unit", "u")  ? &unit
								: NULL;
		if (slot == NULL) {
			/* no identifiers: nothing but the value may travel with it */
			if (ident_ok(it->string))
				payload_fail(err, errlen,
					     "patient result carries field \"%s\" (only value, time and "
					     "unit are accepted)",
					     it->string);
			else
				payload_fail(err, errlen,
					     "patient result carries a field other than value, time "
					     "and unit");
			goto out;
		}
		if (take(slot, it, err, errlen) == -1)
			goto out;
	}
	if (value == NULL) {
		payload_fail(err, errlen, "JSON object without \"value\"");
		goto out;
	}
	if (json_value(value, &out->value, err, errlen) == -1)
		goto out;
	out->t = now;
	out->arrival_time = t == NULL;
	if (t && json_time(t, &out->t, err, errlen) == -1)
		goto out;
	if (text_field(unit, "unit", out->unit, sizeof(out->unit), false, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

static const char *const event_names[] = {
	[EV_NONE] = "none",
	[EV_SERVICE_DONE] = "service_done",
	[EV_CALIBRATION_DONE] = "calibration_done",
	[EV_MAINTENANCE_START] = "maintenance_start",
	[EV_MAINTENANCE_END] = "maintenance_end",
	[EV_TASK_DONE] = "task_done",
};

const char *payload_event_name(enum event_type t)
{
	if ((unsigned)t >= sizeof(event_names) / sizeof(event_names[0]))
		return "unknown";
	return event_names[t];
}

int payload_decode_event(const char *buf, size_t len, double now, struct payload_event *ev,
			 char *err, size_t errlen)
{
	const cJSON *event = NULL, *counter = NULL, *task = NULL, *by = NULL, *comment = NULL,
		    *t = NULL;
	cJSON *root;
	int rc = -1;

	if (ev == NULL)
		return payload_fail(err, errlen, "no event");
	memset(ev, 0, sizeof(*ev));
	if (frame(&buf, &len, err, errlen) == -1)
		return -1;
	if (buf[0] != '{')
		return payload_fail(err, errlen, "an event is a JSON object {\"event\": ...}");
	if ((root = parse_json(buf, len, err, errlen)) == NULL)
		return -1;
	for (const cJSON *it = root->child; it; it = it->next) {
		const cJSON **slot = key_is(it, "event", NULL)     ? &event
				     : key_is(it, "counter", NULL) ? &counter
				     : key_is(it, "task", NULL)    ? &task
				     : key_is(it, "by", NULL)      ? &by
				     : key_is(it, "comment", NULL) ? &comment
				     : key_is(it, "t", "ts")       ? &t
								   : NULL;
		if (slot && take(slot, it, err, errlen) == -1)
			goto out;
	}
	if (!cJSON_IsString(event)) {
		payload_fail(err, errlen, "event payload without \"event\" name");
		goto out;
	}
	for (size_t i = EV_NONE + 1; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if (strcmp(event->valuestring, event_names[i]) == 0)
			ev->type = (enum event_type)i;
	if (ev->type == EV_NONE) {
		payload_fail(err, errlen,
		     "unknown event (want service_done, calibration_done, maintenance_start, "
		     "maintenance_end or task_done)");
		goto out;
	}
	ev->t = now;
	if (text_field(counter, "counter", ev->counter, sizeof(ev->counter), true, err, errlen) ==
		    -1 ||
	    text_field(task, "task", ev->task, sizeof(ev->task), true, err, errlen) == -1 ||
	    text_field(by, "by", ev->by, sizeof(ev->by), false, err, errlen) == -1 ||
	    text_field(comment, "comment", ev->comment, sizeof(ev->comment), false, err, errlen) ==
		    -1 ||
	    (t && json_time(t, &ev->t, err, errlen) == -1))
		goto out;
	if (ev->type == EV_TASK_DONE && ev->task[0] == '\0') {
		payload_fail(err, errlen, "task_done needs \"task\"");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	if (rc == -1)
		memset(ev, 0, sizeof(*ev));
	return rc;
}
