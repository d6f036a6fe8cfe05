/*
 * status.c: an instrument's status channel carrying error codes (DESIGN
 * section 4, "status"). A code outside the ok list fires, an ok code
 * resolves; the semantics are in equipment.h.
 */
#include <math.h>

#include "rules/rules.h"

void status_init(struct status_state *st)
{
	st->code = NAN;
	st->bad_since = NAN;
}

static bool is_ok(const struct status_params *p, double code)
{
	if (p->n_ok_codes == 0 || p->ok_codes == NULL)
		return code == 0;
	for (size_t i = 0; i < p->n_ok_codes; i++)
		if (p->ok_codes[i] == code)
			return true;
	return false;
}

struct condition status_sample(struct status_state *st, const struct status_params *p, double value,
                               double t)
{
	if (!isnan(value)) {
		if (is_ok(p, value))
			st->bad_since = NAN;
		else if (isnan(st->bad_since))
			st->bad_since = t;
		st->code = value;
	}
	if (isnan(st->code))
		return equip__cond(COND_OK, SEV_NONE, NAN, NAN, "no status yet");
	if (isnan(st->bad_since))
		return equip__cond(COND_OK, SEV_NONE, st->code, NAN, "status %g: ok", st->code);
	return equip__cond(COND_FIRING, equip__severity(p->severity, SEV_CRITICAL), st->code,
	                   st->bad_since, "error code %g", st->code);
}

cJSON *status_to_json(const struct status_state *st)
{
	cJSON *o = equip__json_new("status");

	if (o == NULL)
		return NULL;
	if (!(equip__json_num(o, "code", st->code) &&
	      equip__json_num(o, "bad_since", st->bad_since))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int status_from_json(struct status_state *st, const cJSON *j, char *err, size_t errlen)
{
	struct equip_loader ld = {err, errlen, false};
	struct status_state s;

	if (!equip__json_check(&ld, j, "status"))
		return -1;
	s.code = equip__json_get_num(&ld, j, "code", true, -HUGE_VAL, HUGE_VAL);
	s.bad_since = equip__json_get_num(&ld, j, "bad_since", true, -HUGE_VAL, HUGE_VAL);
	if (ld.failed)
		return -1;
	*st = s;
	return 0;
}
