/*
 * libFuzzer target for the replay line reader: one "topic payload" line
 * (mosquitto_sub -v output) through replay_split_line(), topic_parse()
 * and payload_decode(), as replay.c and dispatch.c take it. Checks that
 * every series path that could reach the store is made of valid identity
 * components: no line can name a file outside rrd_dir ("..", "/", "").
 *   see the Makefile's fuzz target for the build line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/collectors.h"

#define MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const char *s)
{
	size_t len = strnlen(s, ID_MAX);
	if (len == 0 || len == ID_MAX || !ident_valid(s, len) || !strcmp(s, "..") ||
	    !strcmp(s, "."))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	const char *topic, *payload;
	size_t tlen, plen;
	struct topic tp;
	struct payload_sample s[MAX];
	struct payload_meta meta;
	char err[128];

	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	if (replay_split_line(line, size, &topic, &tlen, &payload, &plen, err, sizeof(err)) == -1)
		goto out;
	if (tlen == 0 || topic + tlen + 1 != payload || payload + plen > line + size)
		abort();
	if (topic_parse("lab", topic, tlen, &tp, err, sizeof(err)) == -1)
		goto out;
	if (tp.kind != TOPIC_TELEMETRY && tp.kind != TOPIC_QC)
		goto out;
	int n = payload_decode(payload, plen, 1763884800.0, s, MAX, &meta, err, sizeof(err));
	for (int i = 0; i < n; i++) {
		if (s[i].refused[0]) /* refused alone: never stored */
			continue;
		check_id(tp.site);
		check_id(tp.instrument);
		/* a SenML name replaces the topic's channel: it becomes a file name */
		check_id(s[i].name[0] ? s[i].name : tp.channel);
	}
out:
	free(line);
	return 0;
}
