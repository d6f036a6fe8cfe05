/*
 * bench_clock.h: what every tests/bench/bench_*.c program times with: the
 * monotonic clock in seconds, and the comparison qsort needs to take a
 * median of doubles.
 */
#ifndef LABQCD_BENCH_CLOCK_H
#define LABQCD_BENCH_CLOCK_H

#include <time.h>

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#endif
