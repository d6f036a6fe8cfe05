/*
 * fnv.c: FNV-1a signatures of what a page or a graph is drawn from, so
 * that only what changed is drawn again.
 */
#include "dashboards/dash_int.h"

#include <math.h>
#include <string.h>

uint64_t dash_fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t dash_fnv_str(uint64_t h, const char *s)
{
	s = s ? s : "";
	return dash_fnv(h, s, strlen(s) + 1);
}

uint64_t dash_fnv_double(uint64_t h, double v)
{
	if (isnan(v))
		v = NAN; /* one bit pattern for every NaN */
	return dash_fnv(h, &v, sizeof(v));
}
