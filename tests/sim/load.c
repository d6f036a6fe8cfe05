/*
 * labsim --load: deterministic samples on many channels, at a given rate
 * or as fast as the broker takes them, for the benchmarks and the
 * "nothing lost" tests. Message m is sample k = m / C of channel
 * j = m mod C; its value and time follow from (j, k) alone (see
 * load_value and labsim --help), so a checker can recompute every one.
 */
#include <math.h>
#include <stdio.h>

#include "tests/sim/labsim.h"

#define LOAD_WINDOW 1000	/* messages outstanding (QoS 1: unacknowledged) */

double load_value(long channel, long long k)
{
	return (double)(channel % 10000) + (double)(k % 1000) / 1000.0;
}

static int load_payload(char *buf, size_t len, enum load_format format, double v, long long t)
{
	switch (format) {
	case FORMAT_JSON:
		return snprintf(buf, len, "{\"value\":%.3f,\"t\":%lld}", v, t);
	case FORMAT_SENML:
		return snprintf(buf, len, "[{\"bt\":%lld,\"v\":%.3f}]", t, v);
	case FORMAT_NUMBER:
	default:
		return snprintf(buf, len, "%.3f", v);
	}
}

int load_run(const struct options *o)
{
	long channels = o->channels;
	long instruments = o->instruments > 0 ? o->instruments : (channels + 99) / 100;
	int qos = o->qos < 0 ? 0 : o->qos;
	long long total = o->messages;
	if (total < 0 && o->duration_s < 0)
		total = 10LL * channels;

	long long samples_per_channel;	/* how far back the first sample lies */
	if (total >= 0)
		samples_per_channel = (total + channels - 1) / channels;
	else if (o->rate > 0)
		samples_per_channel = (long long)ceil(o->rate * o->duration_s / (double)channels);
	else
		samples_per_channel = 1440;
	long long base = o->base_t;
	if (base < 0)
		base = (long long)(now_real() / 60) * 60 - 60 * samples_per_channel;

	struct out *out = out_open(o, qos, LOAD_WINDOW);
	if (!out)
		return 1;
	printf("labsim: load: %ld channels on %ld instruments, qos %d, base t %lld\n",
	    channels, instruments, qos, base);
	fflush(stdout);

	double start = now_mono();
	double burst = o->rate > 0 ? fmax(1.0, o->rate / 100) : 0;	/* 10 ms of tokens */
	char topic[256], payload[128];
	long long m;
	for (m = 0; (total < 0 || m < total) && !labsim_stop; m++) {
		double now = now_mono();
		if (o->duration_s >= 0 && now - start >= o->duration_s)
			break;
		if (o->rate > 0) {
			double tokens = (now - start) * o->rate + burst - (double)m;
			if (tokens < 1) {
				sleep_s((1 - tokens) / o->rate);
				if (labsim_stop)
					break;
			}
		}
		long j = (long)(m % channels);
		long long k = m / channels;
		snprintf(topic, sizeof(topic), "%s/load/ins-%ld/ch-%ld", o->prefix, j % instruments, j);
		int len = load_payload(payload, sizeof(payload), o->format, load_value(j, k),
		    base + 60 * k);
		if (out_publish(out, topic, payload, len) == -1 && out_failed(out) == 1)
			fprintf(stderr, "labsim: publish refused (not connected?)\n");
	}
	int drained = out_drain(out, 120);
	double elapsed = now_mono() - start;
	unsigned long long published = out_published(out), failed = out_failed(out);
	printf("labsim: published %llu messages in %.3f s (%.0f msg/s)\n", published, elapsed,
	    elapsed > 0 ? (double)published / elapsed : 0.0);
	if (failed)
		fprintf(stderr, "labsim: %llu messages refused by libmosquitto\n", failed);
	if (drained == -1)
		fprintf(stderr, "labsim: not every message was acknowledged\n");
	out_close(out);
	return failed || drained == -1 || (total >= 0 && m < total) ? 1 : 0;
}
