/*
 * topic.c: MQTT topics to identities (DESIGN section 2).
 *
 * A topic is <prefix>/<site>/<instrument>/... and every level after the
 * prefix must be a clean path component, because the identity becomes
 * a file path under rrd_dir. Nothing is allocated; the topic need not
 * be NUL-terminated. Reasons are fixed strings: they are logged, and
 * must not echo hostile bytes from the topic.
 */
#include <stdio.h>
#include <string.h>

#include "collectors/collectors.h"

#define TOPIC_MAX 1024
#define LEVELS_MAX 5 /* site/instrument/qc/analyte/level */

static int fail(char *err, size_t errlen, const char *reason)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", reason);
	return -1;
}

static bool ident_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool ident_valid(const char *s, size_t len)
{
	if (s == NULL || len == 0 || len > ID_MAX - 1 || !alnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!ident_char((unsigned char)s[i]))
			return false;
	/* The first character already excludes "." and ".."; a component
	 * is never a path operator. */
	return true;
}

/* Why a level is refused, most specific first. */
static const char *level_reason(const char *s, size_t len)
{
	if (len == 0)
		return "empty level in topic";
	if (len > ID_MAX - 1)
		return "topic level longer than 64 characters";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+' || c == '#')
			return "wildcard in topic";
		if (c >= 0x80)
			return "non-ASCII character in topic";
		if (c == ' ')
			return "space in topic";
		if (c < 0x20 || c == 0x7f)
			return "control character in topic";
	}
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return "'.' or '..' in topic";
	return "bad topic level (want [A-Za-z0-9][A-Za-z0-9._-]{0,63})";
}

static void copy_level(char dst[ID_MAX], const char *s, size_t len)
{
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static bool level_is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(s, word, len) == 0;
}

int topic_parse(const char *prefix, const char *topic, size_t len, struct topic *out, char *err,
		size_t errlen)
{
	const char *lv[LEVELS_MAX];
	size_t lvlen[LEVELS_MAX];
	size_t plen, nlevels = 0, i;

	if (prefix == NULL || topic == NULL || out == NULL)
		return fail(err, errlen, "no topic");
	if (len > TOPIC_MAX)
		return fail(err, errlen, "topic longer than 1024 bytes");
	if (memchr(topic, '\0', len) != NULL)
		return fail(err, errlen, "NUL byte in topic");
	plen = strlen(prefix);
	while (plen > 0 && prefix[plen - 1] == '/')
		plen--;
	if (plen > 0) {
		if (len <= plen || memcmp(topic, prefix, plen) != 0 || topic[plen] != '/')
			return fail(err, errlen, "topic not under prefix");
		i = plen + 1;
	} else {
		i = 0;
	}

	/* Split and check every level, including those past LEVELS_MAX, so
	 * a refusal names the real fault rather than "too many levels". */
	bool too_many = false;
	for (;;) {
		const char *s = topic + i;
		const char *slash = memchr(s, '/', len - i);
		size_t n = slash ? (size_t)(slash - s) : len - i;

		if (!ident_valid(s, n))
			return fail(err, errlen, level_reason(s, n));
		if (nlevels < LEVELS_MAX) {
			lv[nlevels] = s;
			lvlen[nlevels] = n;
		} else {
			too_many = true;
		}
		nlevels++;
		if (!slash)
			break;
		i += n + 1;
	}

	memset(out, 0, sizeof(*out));
	if (level_is(lv[0], lvlen[0], "labqcd")) {
		out->kind = nlevels == 2 && level_is(lv[1], lvlen[1], "ack") ? TOPIC_ACK : TOPIC_SELF;
		return 0;
	}
	if (too_many)
		return fail(err, errlen, "too many levels in topic");
	if (nlevels < 3)
		return fail(err, errlen, "too few levels in topic (want <site>/<instrument>/<channel>)");
	copy_level(out->site, lv[0], lvlen[0]);
	copy_level(out->instrument, lv[1], lvlen[1]);
	if (level_is(lv[2], lvlen[2], "qc")) {
		if (nlevels != 5)
			return fail(err, errlen, "QC topic needs qc/<analyte>/<level>");
		out->kind = TOPIC_QC;
		copy_level(out->channel, lv[3], lvlen[3]);
		copy_level(out->level, lv[4], lvlen[4]);
		return 0;
	}
	if (nlevels == 4 && level_is(lv[2], lvlen[2], "patient")) {
		out->kind = TOPIC_PATIENT;
		copy_level(out->channel, lv[3], lvlen[3]);
		return 0;
	}
	if (nlevels != 3)
		return fail(err, errlen, "too many levels in topic");
	if (level_is(lv[2], lvlen[2], "event")) {
		out->kind = TOPIC_EVENT;
		return 0;
	}
	out->kind = TOPIC_TELEMETRY;
	copy_level(out->channel, lv[2], lvlen[2]);
	return 0;
}
