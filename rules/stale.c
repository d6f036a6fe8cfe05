/*
 * stale.c: "communication lost" when a channel sends nothing for
 * `stale` seconds (DESIGN section 4). The state is the time of the last
 * sample (or of arming); the condition at a time follows from it, so the
 * rule fires once per silence however often the daemon ticks, and the
 * next sample resolves it.
 */
#include <math.h>

#include "rules/rules.h"

void stale_init(struct stale_state *st, double now)
{
	st->last_t = now;
	st->seen = false;
}

struct condition stale_sample(struct stale_state *st, double t)
{
	/* The first sample sets the time even when it is older than the
	 * arming (a device silent since before labqcd started is silent
	 * since its last sample); after that a late (replayed, out of
	 * order) sample never moves it back. */
	if (!st->seen || isnan(st->last_t) || t > st->last_t)
		st->last_t = t;
	st->seen = true;
	return equip__cond(COND_OK, SEV_NONE, NAN, st->last_t, "receiving");
}

void stale_restart(struct stale_state *st, double t)
{
	/* Never back: a sample newer than t (a device clock ahead) stays. */
	if (isnan(st->last_t) || t > st->last_t)
		st->last_t = t;
}

struct condition stale_tick(const struct stale_state *st, const struct stale_params *p, double now)
{
	double deadline;

	if (p->stale_s <= 0 || isnan(st->last_t))
		return equip__cond(COND_OK, SEV_NONE, NAN, NAN, "not watched");
	deadline = st->last_t + p->stale_s;
	if (now < deadline)
		return equip__cond(COND_OK, SEV_NONE, NAN, st->last_t, "receiving");
	return equip__cond(COND_FIRING, equip__severity(p->severity, SEV_WARNING), now - st->last_t,
	                   deadline, "communication lost: %s for %g s",
	                   st->seen ? "no sample" : "never a sample", p->stale_s);
}

double stale_next(const struct stale_state *st, const struct stale_params *p, double now)
{
	double deadline;

	if (p->stale_s <= 0 || isnan(st->last_t))
		return INFINITY;
	deadline = st->last_t + p->stale_s;
	return deadline > now ? deadline : INFINITY;
}

cJSON *stale_to_json(const struct stale_state *st)
{
	cJSON *o = equip__json_new("stale");

	if (o == NULL)
		return NULL;
	if (!(equip__json_num(o, "last_t", st->last_t) && equip__json_bool(o, "seen", st->seen))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int stale_from_json(struct stale_state *st, const cJSON *j, char *err, size_t errlen)
{
	struct equip_loader ld = {err, errlen, false};
	struct stale_state s;

	if (!equip__json_check(&ld, j, "stale"))
		return -1;
	s.last_t = equip__json_get_num(&ld, j, "last_t", true, -HUGE_VAL, HUGE_VAL);
	s.seen = equip__json_get_bool(&ld, j, "seen");
	if (ld.failed)
		return -1;
	*st = s;
	return 0;
}
