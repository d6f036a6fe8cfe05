/*
 * libFuzzer target for topic_parse() and replay_split_line(). Checks
 * that whatever is accepted is made of valid identity components, so
 * no topic can become a path outside rrd_dir.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. -Icollectors \
 *     tests/fuzz/fuzz_topic.c collectors/topic.c collectors/replay_line.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/collectors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const char *s, bool may_be_empty)
{
	size_t len = strnlen(s, ID_MAX);
	if (len == ID_MAX || (len == 0 && !may_be_empty) || (len > 0 && !ident_valid(s, len)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefixes[] = {"lab", "hospital/lab", ""};
	char *buf = malloc(size ? size : 1);
	struct topic tp;
	char err[128];

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (topic_parse(prefixes[i], buf, size, &tp, err, sizeof(err)) == -1)
			continue;
		switch (tp.kind) {
		case TOPIC_TELEMETRY:
			check_id(tp.channel, false);
			if (!strcmp(tp.channel, "event") || !strcmp(tp.channel, "qc"))
				abort();
			/* fall through */
		case TOPIC_EVENT:
			check_id(tp.site, false);
			check_id(tp.instrument, false);
			if (!strcmp(tp.site, "labqcd"))
				abort();
			break;
		case TOPIC_PATIENT:
		case TOPIC_QC:
			check_id(tp.site, false);
			check_id(tp.instrument, false);
			check_id(tp.channel, false);
			if (tp.kind == TOPIC_QC)
				check_id(tp.level, false);
			break;
		case TOPIC_ACK:
		case TOPIC_SELF:
			break;
		default:
			abort();
		}
	}
	const char *topic, *payload;
	size_t tlen, plen;
	if (replay_split_line(buf, size, &topic, &tlen, &payload, &plen, err, sizeof(err)) == 0) {
		if (tlen == 0 || topic != buf || tlen + 1 + plen > size || memchr(topic, ' ', tlen))
			abort();
	}
	free(buf);
	return 0;
}
