/*
 * range.c: min/max limits with hysteresis, a delay and an outer warning
 * band (DESIGN section 4, "range"). The semantics are in equipment.h.
 *
 * The state is a level (inside, warning band, beyond a hard limit) with
 * the time each level began. A sample moves the level: into a band when
 * it is strictly beyond that band's limit (v > max), out of it when it is
 * at or inside the limit less the hysteresis (v <= max - hysteresis), so
 * with hysteresis 0 the limit itself is inside both ways: a door (1 =
 * open) under max 0 clears the moment it reads 0 again. What the
 * condition is at a time follows from the level and how long it has
 * lasted, so range_sample() and range_tick() share one function and
 * agree. The excursion's peak (the value furthest beyond, on its side)
 * rides along, for the record of an excursion that ended inside its
 * delay.
 */
#include <math.h>
#include <stdio.h>

#include "rules/rules.h"

void range_init(struct range_state *st)
{
	st->level = RANGE_INSIDE;
	st->high = false;
	st->excursion_since = NAN;
	st->hard_since = NAN;
	st->last_value = NAN;
	st->last_t = NAN;
	st->peak = NAN;
}

/* Strictly beyond the hard limits; *high says which side. */
static bool beyond_hard(const struct range_params *p, double v, bool *high)
{
	if (p->has_max && v > p->max)
		return *high = true;
	if (p->has_min && v < p->min) {
		*high = false;
		return true;
	}
	return false;
}

static bool beyond_warning(const struct range_params *p, double v, bool *high)
{
	if (p->has_warning_max && v > p->warning_max)
		return *high = true;
	if (p->has_warning_min && v < p->warning_min) {
		*high = false;
		return true;
	}
	return false;
}

/* Not yet back at or inside the limit less the hysteresis on side `high`
 * (leaving takes v <= max - hyst, or v >= min + hyst). */
static bool holds(bool has, double limit, bool high, double hyst, double v)
{
	if (!has)
		return false;
	return high ? v > limit - hyst : v < limit + hyst;
}

static enum range_level level_of(const struct range_state *st, const struct range_params *p,
                                 double v, bool *high)
{
	double hyst = p->hysteresis > 0 ? p->hysteresis : 0;

	if (beyond_hard(p, v, high))
		return RANGE_HARD;
	*high = st->high;
	if (st->level == RANGE_HARD && holds(st->high ? p->has_max : p->has_min,
	                                     st->high ? p->max : p->min, st->high, hyst, v))
		return RANGE_HARD;
	if (beyond_warning(p, v, high))
		return RANGE_WARNING;
	*high = st->high;
	if (st->level >= RANGE_WARNING &&
	    holds(st->high ? p->has_warning_max : p->has_warning_min,
	          st->high ? p->warning_max : p->warning_min, st->high, hyst, v))
		return RANGE_WARNING;
	return RANGE_INSIDE;
}

/* "above max 8 (now 8.6)" for the level `lv` on the state's side. */
static void describe(const struct range_state *st, const struct range_params *p,
                     enum range_level lv, char *buf, size_t len)
{
	const char *name;
	double limit;

	if (lv == RANGE_HARD) {
		name = st->high ? "max" : "min";
		limit = st->high ? p->max : p->min;
	} else {
		name = st->high ? "warning_max" : "warning_min";
		limit = st->high ? p->warning_max : p->warning_min;
	}
	snprintf(buf, len, "%s %s %g (now %g)", st->high ? "above" : "below", name, limit,
	         st->last_value);
}

static double delay_of(const struct range_params *p)
{
	return p->delay_s > 0 ? p->delay_s : 0;
}

static struct condition verdict(const struct range_state *st, const struct range_params *p,
                                double now)
{
	enum severity hard = equip__severity(p->severity, SEV_CRITICAL);
	enum severity warn = equip__lower(hard);
	double delay = delay_of(p);
	char what[120];

	if (st->level == RANGE_INSIDE) {
		if (isnan(st->last_value))
			return equip__cond(COND_OK, SEV_NONE, NAN, NAN, "no sample yet");
		return equip__cond(COND_OK, SEV_NONE, st->last_value, st->last_t, "inside (now %g)",
		                   st->last_value);
	}
	describe(st, p, st->level, what, sizeof(what));
	if (st->level == RANGE_HARD && now - st->hard_since >= delay)
		return equip__cond(COND_FIRING, hard, st->last_value, st->excursion_since, "%s",
		                   what);
	if (now - st->excursion_since >= delay) {
		if (st->level == RANGE_HARD)
			return equip__cond(COND_FIRING, warn, st->last_value, st->excursion_since,
			                   "%s, %s once it lasts %g s", what,
			                   hard == SEV_CRITICAL ? "critical" : "worse", delay);
		return equip__cond(COND_FIRING, warn, st->last_value, st->excursion_since, "%s",
		                   what);
	}
	return equip__cond(COND_PENDING, st->level == RANGE_HARD ? hard : warn, st->last_value,
	                   st->excursion_since, "%s, fires if it lasts %g s", what, delay);
}

struct condition range_tick(const struct range_state *st, const struct range_params *p, double now)
{
	struct condition c = verdict(st, p, now);

	if (c.state != COND_OK)
		c.peak = st->peak;
	return c;
}

struct condition range_sample(struct range_state *st, const struct range_params *p, double value,
                              double t)
{
	enum range_level lv;
	bool high = st->high;

	if (isnan(value))
		return range_tick(st, p, t);
	lv = level_of(st, p, value, &high);
	if (lv >= RANGE_WARNING && st->level == RANGE_INSIDE)
		st->excursion_since = t;
	if (lv == RANGE_HARD && st->level != RANGE_HARD)
		st->hard_since = t;
	if (lv != RANGE_HARD)
		st->hard_since = NAN;
	if (lv == RANGE_INSIDE)
		st->excursion_since = NAN;
	if (lv == RANGE_INSIDE)
		st->peak = NAN;
	else if (st->level == RANGE_INSIDE || high != st->high || isnan(st->peak) ||
		 (high ? value > st->peak : value < st->peak))
		st->peak = value; /* a new excursion, a change of side, or further out */
	st->level = lv;
	st->high = high;
	st->last_value = value;
	st->last_t = t;
	return range_tick(st, p, t);
}

double range_next(const struct range_state *st, const struct range_params *p, double now)
{
	double delay = delay_of(p), next = INFINITY, d;

	if (st->level >= RANGE_WARNING) {
		d = st->excursion_since + delay;
		if (d > now && d < next)
			next = d;
	}
	if (st->level == RANGE_HARD) {
		d = st->hard_since + delay;
		if (d > now && d < next)
			next = d;
	}
	return next;
}

cJSON *range_to_json(const struct range_state *st)
{
	cJSON *o = equip__json_new("range");

	if (o == NULL)
		return NULL;
	if (!(equip__json_num(o, "level", st->level) && equip__json_bool(o, "high", st->high) &&
	      equip__json_num(o, "excursion_since", st->excursion_since) &&
	      equip__json_num(o, "hard_since", st->hard_since) &&
	      equip__json_num(o, "last_value", st->last_value) &&
	      equip__json_num(o, "last_t", st->last_t) && equip__json_num(o, "peak", st->peak))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int range_from_json(struct range_state *st, const cJSON *j, char *err, size_t errlen)
{
	struct equip_loader ld = {err, errlen, false};
	struct range_state s;

	if (!equip__json_check(&ld, j, "range"))
		return -1;
	s.level =
	    (enum range_level)equip__json_get_num(&ld, j, "level", false, RANGE_INSIDE, RANGE_HARD);
	s.high = equip__json_get_bool(&ld, j, "high");
	s.excursion_since =
	    equip__json_get_num(&ld, j, "excursion_since", true, -HUGE_VAL, HUGE_VAL);
	s.hard_since = equip__json_get_num(&ld, j, "hard_since", true, -HUGE_VAL, HUGE_VAL);
	s.last_value = equip__json_get_num(&ld, j, "last_value", true, -HUGE_VAL, HUGE_VAL);
	s.last_t = equip__json_get_num(&ld, j, "last_t", true, -HUGE_VAL, HUGE_VAL);
	/* "peak" came later: a state without it takes the last value. */
	if (cJSON_GetObjectItemCaseSensitive(j, "peak") != NULL)
		s.peak = equip__json_get_num(&ld, j, "peak", true, -HUGE_VAL, HUGE_VAL);
	else
		s.peak = s.level == RANGE_INSIDE ? NAN : s.last_value;
	if (s.level == RANGE_INSIDE)
		s.peak = NAN;
	if (!ld.failed && (isnan(s.excursion_since) != (s.level == RANGE_INSIDE) ||
	                   isnan(s.hard_since) != (s.level != RANGE_HARD))) {
		snprintf(err, errlen, "range: level and its times disagree");
		return -1;
	}
	if (ld.failed)
		return -1;
	*st = s;
	return 0;
}
