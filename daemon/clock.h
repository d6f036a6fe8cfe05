/*
 * clock.h: the daemon's clocks and its one timestamp format.
 *
 * Part of the bottom layer (with log and fsutil): every folder may use it,
 * it uses nothing of labqcd's.
 */
#ifndef LABQCD_CLOCK_H
#define LABQCD_CLOCK_H

#include <stdbool.h>
#include <stddef.h>

/* CLOCK_REALTIME in seconds: timestamps that are written down. */
double wall_clock(void);
/* CLOCK_MONOTONIC in seconds: timers and deadlines. */
double mono_clock(void);

/* RFC 3339 in UTC, "2026-12-06T10:00:00.250Z" (with `ms`, rounded to the
 * millisecond) or "2026-12-06T10:00:00Z"; the records' `ts` format. */
void clock_rfc3339(double t, bool ms, char *buf, size_t len);

#endif
