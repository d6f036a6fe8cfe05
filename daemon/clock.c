/*
 * clock.c: wall and monotonic clocks, and the RFC 3339 formatter used by
 * the audit log, the webhooks and the control socket.
 */
#include "daemon/clock.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

double wall_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double mono_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void clock_rfc3339(double t, bool ms, char *buf, size_t len)
{
	time_t s = (time_t)floor(t);
	int milli = ms ? (int)llround((t - (double)s) * 1000.0) : 0;
	struct tm tm;

	if (milli >= 1000) {
		s++;
		milli -= 1000;
	}
	if (gmtime_r(&s, &tm) == NULL) {
		snprintf(buf, len, "%s", ms ? "0001-01-01T00:00:00.000Z" : "0001-01-01T00:00:00Z");
		return;
	}
	if (ms)
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
	else
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
