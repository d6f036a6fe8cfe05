/*
 * equipment.c: what the equipment rules share: severity defaults, building
 * a condition, and the JSON helpers their state (de)serializers use.
 * Internal to rules/ (the equip__ prefix); pure like the rest of rules/.
 *
 * Doubles go out exactly (json_exact.c), NAN as null.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

enum severity equip__severity(enum severity override, enum severity dflt)
{
	return override == SEV_NONE ? dflt : override;
}

enum severity equip__lower(enum severity top)
{
	return top < SEV_WARNING ? top : SEV_WARNING;
}

struct condition equip__cond(enum cond_state state, enum severity sev, double value, double since,
                             const char *fmt, ...)
{
	struct condition c = {.state = state, .value = value, .since = since, .peak = NAN};
	va_list ap;

	c.severity = state == COND_OK ? SEV_NONE : sev;
	va_start(ap, fmt);
	vsnprintf(c.summary, sizeof(c.summary), fmt, ap); /* truncation is fine */
	va_end(ap);
	return c;
}

cJSON *equip__json_new(const char *rule)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "rule", rule) == NULL ||
	    cJSON_AddNumberToObject(o, "version", 1) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

bool equip__json_num(cJSON *o, const char *key, double x)
{
	/* NAN is null; no infinities in state */
	cJSON *item = isnan(x) ? cJSON_CreateNull() : rules_json_exact(x);

	if (item == NULL)
		return false;
	if (!cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

bool equip__json_bool(cJSON *o, const char *key, bool b)
{
	return cJSON_AddBoolToObject(o, key, b) != NULL;
}

static void fail(struct equip_loader *ld, const char *key, const char *why)
{
	if (!ld->failed)
		snprintf(ld->err, ld->errlen, "%s: %s", key, why);
	ld->failed = true;
}

bool equip__json_check(struct equip_loader *ld, const cJSON *j, const char *rule)
{
	const cJSON *r;

	if (!cJSON_IsObject(j)) {
		fail(ld, rule, "state is not a JSON object");
		return false;
	}
	r = cJSON_GetObjectItemCaseSensitive(j, "rule");
	if (!cJSON_IsString(r) || strcmp(r->valuestring, rule) != 0) {
		fail(ld, "rule", "not a state of this rule");
		return false;
	}
	return equip__json_get_num(ld, j, "version", false, 1, 1) == 1;
}

double equip__json_get_num(struct equip_loader *ld, const cJSON *j, const char *key, bool nan_ok,
                           double lo, double hi)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);
	double v;

	if (x == NULL) {
		fail(ld, key, "missing");
		return NAN;
	}
	if (cJSON_IsNull(x)) {
		if (!nan_ok)
			fail(ld, key, "null where a number is needed");
		return NAN;
	}
	if (!rules_json_value(x, &v)) {
		fail(ld, key, "not a number");
		return NAN;
	}
	if (!isfinite(v) || v < lo || v > hi) {
		fail(ld, key, "out of range");
		return NAN;
	}
	return v;
}

bool equip__json_get_bool(struct equip_loader *ld, const cJSON *j, const char *key)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);

	if (!cJSON_IsBool(x)) {
		fail(ld, key, "missing or not true/false");
		return false;
	}
	return cJSON_IsTrue(x);
}
