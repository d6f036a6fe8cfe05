/*
 * replay.c: labqcd --replay FILE.
 *
 * Reads "topic payload" lines (mosquitto_sub -v output) and runs each
 * through the same dispatch code as live input, on a clock that follows
 * the input's own timestamps (a line without one takes the clock as it
 * stands: the last timestamp seen, or the wall time before the first).
 * RRD files, state and the audit log are written as in normal running;
 * every record is also printed on stdout. No broker, no journal (the
 * input file is the source), nothing sent unless --notify.
 */
#include "daemon/labqcd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int replay_run(struct config *cfg, const char *input, bool notify)
{
	struct labqcd d;
	FILE *in;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0, bad = 0;

	in = strcmp(input, "-") == 0 ? stdin : fopen(input, "r");
	if (in == NULL) {
		log_warn("replay: %s", input);
		config_free(cfg);
		return 1;
	}
	if (labqcd_open(&d, cfg, stdout, true, notify) == -1) {
		if (in != stdin)
			fclose(in);
		config_free(cfg);
		return 1;
	}
	d.clock = wall_clock();
	bool clock_from_input = false;

	while ((len = getline(&line, &cap, in)) != -1) {
		const char *topic, *payload;
		size_t tlen, plen;
		char err[128];

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (replay_split_line(line, (size_t)len, &topic, &tlen, &payload, &plen, err,
				      sizeof(err)) == -1) {
			log_warnx("replay: %s:%lu: %s", input, lineno, err);
			bad++;
			continue;
		}
		struct message m = {.topic = topic,
				    .topic_len = tlen,
				    .payload = payload,
				    .payload_len = plen,
				    .arrival = d.clock,
				    .qos = 1};
		if (!clock_from_input) {
			/* Until the input gives a time, the clock is unset:
			 * let the first timestamp set it even if it is older
			 * than the wall time. */
			d.clock = 0;
			dispatch_message(&d, 0, &m);
			if (d.clock == 0)
				d.clock = m.arrival;
			else
				clock_from_input = true;
		} else {
			dispatch_message(&d, 0, &m);
		}
	}
	free(line);
	if (in != stdin)
		fclose(in);
	store_sync(d.store);
	state_save(&d);
	log_info("replay: %lu lines, %llu samples stored, %llu inputs dropped, %lu unreadable lines",
		 lineno, (unsigned long long)d.n.samples, (unsigned long long)d.n.dropped, bad);
	labqcd_close(&d);
	config_free(d.cfg);
	return 0;
}
