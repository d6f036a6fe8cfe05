/*
 * counter.c: service intervals on a usage counter (cycles, run hours,
 * lamp hours): `service_every` since the last service_done, a warning at
 * `warn_at` of it (DESIGN section 4, "counters"). The semantics,
 * including resets and wraps of the instrument's counter, are in
 * equipment.h.
 *
 * The state keeps a continuous count, reading + offset, where offset is
 * the sum of the readings seen just before each reset; the service mark
 * is a point on that continuous count, so a reset between two services
 * never loses or double-counts usage.
 */
#include <math.h>
#include <stdio.h>

#include "rules/rules.h"

void service_init(struct service_state *st)
{
	st->last_raw = NAN;
	st->offset = 0;
	st->mark = NAN;
	st->done_pending = false;
	st->done_t = NAN;
	st->warn_since = NAN;
	st->due_since = NAN;
	st->resets = 0;
}

double service_used(const struct service_state *st, const struct service_params *p)
{
	double start;

	if (isnan(st->last_raw))
		return NAN;
	if (!isnan(st->mark))
		start = st->mark;
	else
		start = p->has_baseline ? p->baseline : 0;
	return st->last_raw + st->offset - start;
}

static bool warns(const struct service_params *p)
{
	return p->warn_at > 0 && p->warn_at < 1;
}

static struct condition verdict(struct service_state *st, const struct service_params *p, double t)
{
	enum severity top = equip__severity(p->severity, SEV_CRITICAL);
	double used = service_used(st, p);
	const char *from;
	char resets[48] = "";

	if (!(p->every > 0))
		return equip__cond(COND_OK, SEV_NONE, NAN, NAN, "not configured");
	if (isnan(used))
		return equip__cond(COND_OK, SEV_NONE, NAN, NAN, "no counter reading yet");
	if (used >= p->every) {
		if (isnan(st->due_since))
			st->due_since = t;
	} else {
		st->due_since = NAN;
	}
	if (warns(p) && used >= p->warn_at * p->every) {
		if (isnan(st->warn_since))
			st->warn_since = t;
	} else {
		st->warn_since = NAN;
	}
	from = !isnan(st->mark)  ? "since the last service"
	       : p->has_baseline ? "since service_baseline"
	                         : "on the instrument's counter";
	if (st->resets > 0)
		snprintf(resets, sizeof(resets), " (counter reset %d time%s)", st->resets,
		         st->resets == 1 ? "" : "s");
	if (!isnan(st->due_since))
		return equip__cond(
		    COND_FIRING, top, used, isnan(st->warn_since) ? st->due_since : st->warn_since,
		    "service due: %g used %s, interval %g%s", used, from, p->every, resets);
	if (!isnan(st->warn_since))
		return equip__cond(COND_FIRING, equip__lower(top), used, st->warn_since,
		                   "service due soon: %g used %s, %.0f %% of the interval %g%s",
		                   used, from, 100 * used / p->every, p->every, resets);
	return equip__cond(COND_OK, SEV_NONE, used, NAN, "%g used %s, interval %g%s", used, from,
	                   p->every, resets);
}

struct condition service_sample(struct service_state *st, const struct service_params *p,
                                double value, double t)
{
	if (isnan(value) || isinf(value))
		return verdict(st, p, t);
	if (isnan(st->last_raw)) {
		st->last_raw = value;
		if (st->done_pending) {
			st->mark = value + st->offset;
			st->done_pending = false;
		}
	} else if (value >= st->last_raw) {
		st->last_raw = value;
	} else if (st->last_raw - value > SERVICE_JITTER * fabs(st->last_raw)) {
		/* reset, replacement or wrap: the counter restarted from 0 */
		st->offset += st->last_raw;
		st->last_raw = value;
		st->resets++;
	} /* else a small dip: jitter, keep the higher reading */
	return verdict(st, p, t);
}

struct condition service_done(struct service_state *st, const struct service_params *p, double t)
{
	if (isnan(st->last_raw)) {
		st->mark = NAN;
		st->done_pending = true; /* the next reading is the start */
	} else {
		st->mark = st->last_raw + st->offset;
		st->done_pending = false;
	}
	st->done_t = t;
	st->resets = 0;
	st->warn_since = NAN;
	st->due_since = NAN;
	return verdict(st, p, t);
}

cJSON *service_to_json(const struct service_state *st)
{
	cJSON *o = equip__json_new("service");

	if (o == NULL)
		return NULL;
	if (!(equip__json_num(o, "last_raw", st->last_raw) &&
	      equip__json_num(o, "offset", st->offset) && equip__json_num(o, "mark", st->mark) &&
	      equip__json_bool(o, "done_pending", st->done_pending) &&
	      equip__json_num(o, "done_t", st->done_t) &&
	      equip__json_num(o, "warn_since", st->warn_since) &&
	      equip__json_num(o, "due_since", st->due_since) &&
	      equip__json_num(o, "resets", st->resets))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int service_from_json(struct service_state *st, const cJSON *j, char *err, size_t errlen)
{
	struct equip_loader ld = {err, errlen, false};
	struct service_state s;

	if (!equip__json_check(&ld, j, "service"))
		return -1;
	s.last_raw = equip__json_get_num(&ld, j, "last_raw", true, -HUGE_VAL, HUGE_VAL);
	s.offset = equip__json_get_num(&ld, j, "offset", false, -HUGE_VAL, HUGE_VAL);
	s.mark = equip__json_get_num(&ld, j, "mark", true, -HUGE_VAL, HUGE_VAL);
	s.done_pending = equip__json_get_bool(&ld, j, "done_pending");
	s.done_t = equip__json_get_num(&ld, j, "done_t", true, -HUGE_VAL, HUGE_VAL);
	s.warn_since = equip__json_get_num(&ld, j, "warn_since", true, -HUGE_VAL, HUGE_VAL);
	s.due_since = equip__json_get_num(&ld, j, "due_since", true, -HUGE_VAL, HUGE_VAL);
	s.resets = (int)equip__json_get_num(&ld, j, "resets", false, 0, 1e9);
	if (ld.failed)
		return -1;
	*st = s;
	return 0;
}
