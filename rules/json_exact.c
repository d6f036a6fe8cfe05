/*
 * json_exact.c: doubles in the rules' saved state, exactly. cJSON's own
 * printer may settle for 15 significant digits, which does not read back
 * to the same double; these go out as raw JSON numbers with 17, and read
 * back from a parsed number or a raw item alike.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "rules/rules.h"

cJSON *rules_json_exact(double x)
{
	char buf[40];

	if (!isfinite(x))
		return NULL;
	snprintf(buf, sizeof(buf), "%.17g", x);
	return cJSON_CreateRaw(buf);
}

bool rules_json_value(const cJSON *x, double *out)
{
	char *end;

	if (cJSON_IsNumber(x)) {
		*out = x->valuedouble;
		return true;
	}
	if (!cJSON_IsRaw(x) || x->valuestring == NULL)
		return false;
	errno = 0;
	*out = strtod(x->valuestring, &end);
	return end != x->valuestring && *end == '\0' && errno == 0;
}
