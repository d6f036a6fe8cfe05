/*
 * payload_int.h: what payload.c shares with senml.c. Not an interface:
 * the rest of labqcd calls payload_decode() (collectors.h).
 */
#ifndef LABQCD_PAYLOAD_INT_H
#define LABQCD_PAYLOAD_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "collectors/collectors.h"

#define T_MIN 946684800.0      /* 2000-01-01T00:00:00Z */
#define T_MAX 7258118400.0     /* 2200-01-01T00:00:00Z */
#define T_RELATIVE 268435456.0 /* 2^28: SenML times below are relative to now */

/* Write the reason to err (bounded) and return -1. Inline, as both
 * decoders use it and neither should call back into the other. */
__attribute__((format(printf, 3, 4))) static inline int payload_fail(char *err, size_t errlen,
								      const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* An absolute time labqcd accepts: [2000-01-01, 2200-01-01) UTC. */
static inline bool payload_time_in_range(double t)
{
	return t >= T_MIN && t < T_MAX;
}

/* Decode a SenML pack (a JSON array) record by record (senml.c). Same
 * contract as payload_decode(). */
int senml_decode(const cJSON *pack, double now, struct payload_sample *out, size_t max,
		 char *err, size_t errlen);

#endif
