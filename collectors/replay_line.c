/*
 * replay_line.c: split one "topic payload" line, as mosquitto_sub -v
 * prints it, for --replay. The pointers returned point into `line`;
 * nothing is copied or allocated.
 */
#include <stdio.h>
#include <string.h>

#include "collectors/collectors.h"

int replay_split_line(const char *line, size_t len, const char **topic, size_t *topic_len,
		      const char **payload, size_t *payload_len, char *err, size_t errlen)
{
	const char *space;

	if (line == NULL) {
		if (err && errlen)
			snprintf(err, errlen, "no line");
		return -1;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	space = memchr(line, ' ', len);
	if (space == NULL || space == line) {
		if (err && errlen)
			snprintf(err, errlen, "%s",
				 space ? "empty topic" : "no space between topic and payload");
		return -1;
	}
	*topic = line;
	*topic_len = (size_t)(space - line);
	*payload = space + 1;
	*payload_len = len - *topic_len - 1;
	return 0;
}
