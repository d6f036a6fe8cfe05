/*
 * senml.c: SenML packs (RFC 8428, JSON) to samples, record by record.
 *
 * Base fields (bn, bt, bu, bv) apply to their record and to every later
 * one until replaced (RFC 8428 4.1). One record that cannot be a sample
 * is returned with `refused` saying why, naming the field, and the rest
 * of the pack goes on: a door contact's string label must not cost the
 * temperature beside it. A malformed base field refuses its record and
 * every later record that would use it, until a good one replaces it.
 * Only what is not a pack at all (not an array, empty, more than `max`
 * records, no record with a value) and a pack of a newer SenML version
 * are refused whole: RFC 8428 4.4 says a reader MUST NOT use an object
 * whose version it does not understand.
 *
 * Names: bn + n must follow RFC 8428 4.5.1 ([A-Za-z0-9][A-Za-z0-9:./_-]*).
 * The channel is what follows the last ':' or '/' ("urn:dev:ow:
 * 10e2073a01080063:temp" gives "temp", "2001:db8::2/temperature" gives
 * "temperature") and must be an identity component. No name at all,
 * or one that ends in ':' or '/' (a device's URN alone), means the
 * topic's channel.
 *
 * Values: v (plus bv), and vb, a boolean, as 1 or 0. vs (text) and vd
 * (data) are not numbers and a sum s alone is no sample: such records
 * are refused naming the field; a sum beside v or vb is not stored.
 * bs applies to s only, so it is checked and otherwise unused.
 *
 * Times: bt + t; a result below 2^28 is relative to now (RFC 8428
 * 4.5.3), negative in the past; no time at all is now. The result must
 * lie in [2000, 2200).
 *
 * Text from the payload reaches `record` and `refused` only as
 * printable ASCII ('?' for anything else, quotes too), truncated.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "collectors/collectors.h"
#include "collectors/payload_int.h"

#define SHOW_MAX 100 /* characters of a name or label shown in a reason */

/* The labels of RFC 8428 section 4.3; base fields first. */
enum field { F_BN, F_BT, F_BU, F_BV, F_BS, F_BVER, F_N, F_U, F_V, F_VS, F_VB, F_VD, F_S, F_T,
	     F_UT, F_COUNT };
static const char *const labels[F_COUNT] = {"bn", "bt", "bu", "bv", "bs", "bver", "n", "u",
					    "v",  "vs", "vb", "vd", "s",  "t",    "ut"};

/* What a malformed base field should have been. */
static const char *const base_rule[F_BVER] = {
	[F_BN] = "a string of at most 255 bytes",
	[F_BT] = "a finite number",
	[F_BU] = "a unit (printable ASCII, at most 31 bytes)",
	[F_BV] = "a finite number",
	[F_BS] = "a finite number",
};

struct base {
	char bn[SENML_NAME_MAX];
	size_t bn_len;
	double bt, bv;
	char bu[PAYLOAD_UNIT_MAX];
	long bad[F_BVER]; /* record whose base field was malformed and is in force; -1 */
};

struct record {
	const cJSON *f[F_COUNT];
	const char *twice; /* a label given twice */
	const char *must;  /* an unknown label ending in '_': must be understood (RFC 8428 4.4) */
	bool base, regular; /* has a base field, a regular field */
};

/* `s` as printable ASCII without quotes or backslashes, at most
 * SHOW_MAX characters, "..." when cut. */
static void show(char *dst, size_t size, const char *s)
{
	size_t i, n = strlen(s), k = n > SHOW_MAX ? SHOW_MAX : n;

	if (k > size - 4)
		k = size - 4;
	for (i = 0; i < k; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
	}
	if (k < n)
		memcpy(dst + i, "...", 3), i += 3;
	dst[i] = '\0';
}

__attribute__((format(printf, 2, 3))) static int refuse(struct payload_sample *s,
							const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->refused, sizeof(s->refused), fmt, ap);
	va_end(ap);
	return -1;
}

static bool alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 8428 4.5.1: the characters a resolved name may hold. */
static bool name_valid(const char *s, size_t n)
{
	if (n == 0 || !alnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!alnum((unsigned char)s[i]) && !strchr("-:./_", s[i]))
			return false;
	return true;
}

/* A unit: printable ASCII without spaces, at most 31 bytes; "" = none. */
static bool unit_valid(const cJSON *u)
{
	if (!cJSON_IsString(u) || strlen(u->valuestring) >= PAYLOAD_UNIT_MAX)
		return false;
	for (const char *p = u->valuestring; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

static bool finite_number(const cJSON *it)
{
	return cJSON_IsNumber(it) && isfinite(it->valuedouble);
}

static void collect(const cJSON *rec, struct record *r)
{
	memset(r, 0, sizeof(*r));
	for (const cJSON *it = rec->child; it; it = it->next) {
		int k;
		for (k = 0; k < F_COUNT; k++)
			if (strcmp(it->string, labels[k]) == 0)
				break;
		if (k == F_COUNT) {
			size_t n = strlen(it->string);
			if (n > 0 && it->string[n - 1] == '_' && r->must == NULL)
				r->must = it->string;
			continue; /* other extensions are ignored (RFC 8428 4.4) */
		}
		if (r->f[k]) {
			if (r->twice == NULL)
				r->twice = labels[k];
			continue;
		}
		r->f[k] = it;
		*(k >= F_N ? &r->regular : &r->base) = true;
	}
}

/* Take this record's base fields; returns the first malformed one, or -1. */
static int take_base(const struct record *r, long idx, struct base *b)
{
	int bad = -1;

	for (int k = F_BN; k < F_BVER; k++) {
		const cJSON *it = r->f[k];
		bool ok;

		if (it == NULL)
			continue;
		switch (k) {
		case F_BN:
			ok = cJSON_IsString(it) && strlen(it->valuestring) < sizeof(b->bn);
			if (ok) {
				b->bn_len = strlen(it->valuestring);
				memcpy(b->bn, it->valuestring, b->bn_len + 1);
			}
			break;
		case F_BU:
			ok = unit_valid(it);
			if (ok)
				snprintf(b->bu, sizeof(b->bu), "%s", it->valuestring);
			break;
		default:
			ok = finite_number(it);
			if (ok && k == F_BT)
				b->bt = it->valuedouble;
			else if (ok && k == F_BV)
				b->bv = it->valuedouble;
			break;
		}
		b->bad[k] = ok ? -1 : idx;
		if (!ok && bad == -1)
			bad = k;
	}
	return bad;
}

/* Refuse when base field k, malformed in an earlier record, is in force. */
static bool base_bad(struct payload_sample *s, const struct base *b, int k, long idx)
{
	if (b->bad[k] < 0)
		return false;
	if (b->bad[k] == idx)
		refuse(s, "\"%s\" is not %s", labels[k], base_rule[k]);
	else
		refuse(s, "\"%s\" of record %ld, in force here, is not %s", labels[k], b->bad[k],
		       base_rule[k]);
	return true;
}

/* Name, channel and the label that names the record in reasons. 0 when
 * the sample may go on, else the record is refused. */
static int resolve_name(const struct record *r, long idx, const struct base *b,
			struct payload_sample *s)
{
	char full[SENML_NAME_MAX], shown[SHOW_MAX + 4];
	const cJSON *n = r->f[F_N];
	size_t nlen = 0, len, i;

	if (base_bad(s, b, F_BN, idx))
		return -1;
	if (n && !cJSON_IsString(n))
		return refuse(s, "\"n\" is not a string");
	if (n)
		nlen = strlen(n->valuestring);
	if (b->bn_len + nlen >= sizeof(full))
		return refuse(s, "\"n\": bn + n is longer than %d bytes", SENML_NAME_MAX - 1);
	memcpy(full, b->bn, b->bn_len);
	if (nlen)
		memcpy(full + b->bn_len, n->valuestring, nlen);
	len = b->bn_len + nlen;
	full[len] = '\0';
	if (len == 0)
		return 0; /* the topic's channel */
	show(shown, sizeof(shown), full);
	snprintf(s->record, sizeof(s->record), "SenML record %ld \"%s\"", idx, shown);
	if (!name_valid(full, len))
		return refuse(s, "\"n\": the name bn + n is not [A-Za-z0-9][A-Za-z0-9:./_-]* "
				 "(RFC 8428 4.5.1)");
	for (i = len; i > 0 && full[i - 1] != ':' && full[i - 1] != '/'; i--)
		;
	if (i == len)
		return 0; /* a device's URN or path alone: the topic's channel */
	if (!ident_valid(full + i, len - i))
		return refuse(s, "\"n\": the channel, after the last ':' or '/', is not "
				 "[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
	memcpy(s->name, full + i, len - i + 1);
	return 0;
}

static int value_of(const struct record *r, long idx, const struct base *b,
		    struct payload_sample *s)
{
	const cJSON *v = r->f[F_V], *vb = r->f[F_VB], *sum = r->f[F_S];
	int values = !!v + !!r->f[F_VS] + !!vb + !!r->f[F_VD];

	if (values > 1)
		return refuse(s, "more than one of \"v\", \"vs\", \"vb\", \"vd\" (RFC 8428 4.2: "
				 "exactly one)");
	if (r->f[F_VS])
		return refuse(s, "\"vs\" is a string value, not a number");
	if (r->f[F_VD])
		return refuse(s, "\"vd\" is a data value, not a number");
	if (sum && !finite_number(sum))
		return refuse(s, "\"s\" is not a finite number");
	if (sum && values == 0)
		return refuse(s, "\"s\" (a sum) alone is not a sample: labqcd stores \"v\" and "
				 "\"vb\"");
	if (values == 0)
		return refuse(s, "no value: a sample needs \"v\" or \"vb\"");
	if (vb) {
		if (!cJSON_IsBool(vb))
			return refuse(s, "\"vb\" is not true or false");
		s->value = cJSON_IsTrue(vb) ? 1 : 0;
		return 0;
	}
	if (!finite_number(v))
		return refuse(s, "\"v\" is not a finite number");
	if (base_bad(s, b, F_BV, idx))
		return -1;
	s->value = b->bv + v->valuedouble;
	if (!isfinite(s->value))
		return refuse(s, "\"v\" + \"bv\" is out of range");
	return 0;
}

static int unit_of(const struct record *r, long idx, const struct base *b,
		   struct payload_sample *s)
{
	const cJSON *u = r->f[F_U];

	if (u == NULL) {
		if (base_bad(s, b, F_BU, idx))
			return -1;
		memcpy(s->unit, b->bu, sizeof(s->unit));
		return 0;
	}
	if (!unit_valid(u))
		return refuse(s, "\"u\" is not a unit (printable ASCII, at most %d bytes)",
			      PAYLOAD_UNIT_MAX - 1);
	snprintf(s->unit, sizeof(s->unit), "%s", u->valuestring);
	return 0;
}

static int time_of(const struct record *r, long idx, const struct base *b, double now,
		   struct payload_sample *s)
{
	const cJSON *t = r->f[F_T];
	double rt;

	if (base_bad(s, b, F_BT, idx))
		return -1;
	if (t && !finite_number(t))
		return refuse(s, "\"t\" is not a finite number");
	rt = b->bt + (t ? t->valuedouble : 0);
	s->t = rt < T_RELATIVE ? now + rt : rt;
	if (!payload_time_in_range(s->t))
		return refuse(s, "time (bt + t) outside 2000-01-01 .. 2200-01-01");
	return 0;
}

/* One record into *s: 0 when *s holds a sample or a refused record, 1
 * when the record only sets base fields (RFC 8428's own example of
 * setting an actuator opens with {"bn": ...} alone) and yields nothing. */
static int record(const cJSON *rec, long idx, double now, struct base *b,
		  struct payload_sample *s)
{
	struct record r;
	int bad;

	memset(s, 0, sizeof(*s));
	snprintf(s->record, sizeof(s->record), "SenML record %ld", idx);
	if (!cJSON_IsObject(rec)) {
		refuse(s, "not a JSON object");
		return 0;
	}
	collect(rec, &r);
	/* Base fields first: they hold for later records whatever becomes
	 * of this one. */
	bad = take_base(&r, idx, b);
	if (r.base && !r.regular && bad == -1 && !r.twice && !r.must)
		return 1;
	if (resolve_name(&r, idx, b, s) == -1)
		return 0;
	if (bad != -1) {
		base_bad(s, b, bad, idx);
	} else if (r.twice) {
		refuse(s, "\"%s\" given twice", r.twice);
	} else if (r.must) {
		char shown[SHOW_MAX + 4];
		show(shown, sizeof(shown), r.must);
		refuse(s, "\"%s\": a field that must be understood (RFC 8428 4.4), unknown here",
		       shown);
	} else if (value_of(&r, idx, b, s) == 0 && unit_of(&r, idx, b, s) == 0) {
		time_of(&r, idx, b, now, s);
	}
	return 0;
}

/* RFC 8428 4.4: a version newer than ours, anywhere, refuses the pack
 * before anything of it is used. bver is a positive integer. */
static int check_version(const cJSON *pack, char *err, size_t errlen)
{
	long idx = 0;

	for (const cJSON *rec = pack->child; rec; rec = rec->next, idx++) {
		if (!cJSON_IsObject(rec))
			continue;
		for (const cJSON *it = rec->child; it; it = it->next) {
			if (strcmp(it->string, "bver") != 0)
				continue;
			if (!finite_number(it) || it->valuedouble < 1 ||
			    it->valuedouble != floor(it->valuedouble))
				return payload_fail(err, errlen,
						    "SenML record %ld: \"bver\" is not a positive "
						    "integer; pack refused",
						    idx);
			if (it->valuedouble > SENML_VERSION)
				return payload_fail(err, errlen,
						    "SenML record %ld: \"bver\" %.0f is newer than "
						    "SenML version %d (RFC 8428); pack refused",
						    idx, fmin(it->valuedouble, 1e9), SENML_VERSION);
		}
	}
	return 0;
}

int senml_decode(const cJSON *pack, double now, struct payload_sample *out, size_t max,
		 char *err, size_t errlen)
{
	struct base b = {.bn_len = 0};
	size_t n = 0, records = 0;
	long idx = 0;

	if (!cJSON_IsArray(pack) || pack->child == NULL)
		return payload_fail(err, errlen, "empty SenML pack");
	for (const cJSON *rec = pack->child; rec; rec = rec->next)
		if (++records > max)
			return payload_fail(err, errlen, "SenML pack of more than %zu records", max);
	if (check_version(pack, err, errlen) == -1)
		return -1;
	for (int k = 0; k < F_BVER; k++)
		b.bad[k] = -1;
	for (const cJSON *rec = pack->child; rec; rec = rec->next, idx++)
		if (record(rec, idx, now, &b, &out[n]) == 0)
			n++;
	if (n == 0)
		return payload_fail(err, errlen, "SenML pack of base fields only, no value");
	return (int)n;
}
