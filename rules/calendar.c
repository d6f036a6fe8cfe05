/*
 * calendar.c: the time-driven maintenance rules (DESIGN section 4,
 * "calendar"): a calibration or preventive maintenance due `every` after
 * it was last done, and recurring tasks (daily cleaning, weekly
 * decontamination) due by a time of day. The semantics are in
 * equipment.h.
 *
 * Both keep only two times: when the rule first saw the instrument and
 * when the job was last done. The due time follows from them and the
 * params, so a reload that changes `every` moves the due date at once,
 * and the condition at any time is a pure function of (state, params,
 * now). Local time is UTC + tz_offset_s from the caller: no time zone
 * database here (and no clock).
 */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "rules/rules.h"

#define DAY_S 86400.0

/* "2025-03-14 10:00" for the epoch time t shifted by offset_s. */
static void fmt_time(double t, double offset_s, char *buf, size_t len)
{
	time_t tt = (time_t)floor(t + offset_s);
	struct tm tm;

	if (!isfinite(t) || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, len, "?");
}

/* ---- calendar ---- */

void calendar_init(struct calendar_state *st, double now)
{
	st->first_seen = now;
	st->last_done = NAN;
}

double calendar_due(const struct calendar_state *st, const struct calendar_params *p)
{
	double ref = isnan(st->last_done) ? st->first_seen : st->last_done;

	return p->every_s > 0 ? ref + p->every_s : NAN;
}

static double warn_before(const struct calendar_params *p)
{
	if (p->warn_before_s < 0)
		return 0;
	return p->warn_before_s == 0 ? p->every_s / 10 : p->warn_before_s;
}

struct condition calendar_tick(struct calendar_state *st, const struct calendar_params *p,
                               double now)
{
	enum severity top = equip__severity(p->severity, SEV_CRITICAL);
	double due, warn = warn_before(p);
	char when[40];

	if (isnan(st->first_seen))
		st->first_seen = now;
	due = calendar_due(st, p);
	if (isnan(due))
		return equip__cond(COND_OK, SEV_NONE, NAN, NAN, "not configured");
	fmt_time(due, 0, when, sizeof(when));
	if (now >= due)
		return equip__cond(COND_FIRING, top, due, warn > 0 ? due - warn : due,
		                   "overdue since %s UTC%s", when,
		                   isnan(st->last_done) ? " (never recorded as done)" : "");
	if (warn > 0 && now >= due - warn)
		return equip__cond(COND_FIRING, equip__lower(top), due, due - warn, "due %s UTC",
		                   when);
	return equip__cond(COND_OK, SEV_NONE, due, NAN, "next due %s UTC", when);
}

struct condition calendar_done(struct calendar_state *st, const struct calendar_params *p, double t)
{
	if (isnan(st->last_done) || t > st->last_done)
		st->last_done = t;
	return calendar_tick(st, p, t);
}

double calendar_next(const struct calendar_state *st, const struct calendar_params *p, double now)
{
	double due = calendar_due(st, p), warn = warn_before(p);

	if (isnan(due))
		return INFINITY;
	if (warn > 0 && due - warn > now)
		return due - warn;
	return due > now ? due : INFINITY;
}

/* Both rules persist the same two times. */
static cJSON *times_to_json(const char *rule, double first_seen, double last_done)
{
	cJSON *o = equip__json_new(rule);

	if (o == NULL)
		return NULL;
	if (!(equip__json_num(o, "first_seen", first_seen) &&
	      equip__json_num(o, "last_done", last_done))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int times_from_json(const char *rule, double *first_seen, double *last_done, const cJSON *j,
                           char *err, size_t errlen)
{
	struct equip_loader ld = {err, errlen, false};
	double fs, ld_t;

	if (!equip__json_check(&ld, j, rule))
		return -1;
	fs = equip__json_get_num(&ld, j, "first_seen", true, -HUGE_VAL, HUGE_VAL);
	ld_t = equip__json_get_num(&ld, j, "last_done", true, -HUGE_VAL, HUGE_VAL);
	if (ld.failed)
		return -1;
	*first_seen = fs;
	*last_done = ld_t;
	return 0;
}

cJSON *calendar_to_json(const struct calendar_state *st)
{
	return times_to_json("calendar", st->first_seen, st->last_done);
}

int calendar_from_json(struct calendar_state *st, const cJSON *j, char *err, size_t errlen)
{
	return times_from_json("calendar", &st->first_seen, &st->last_done, j, err, errlen);
}

/* ---- tasks ---- */

void task_init(struct task_state *st, double now)
{
	st->first_seen = now;
	st->last_done = NAN;
}

double task_due(const struct task_state *st, const struct task_params *p)
{
	double ref = isnan(st->last_done) ? st->first_seen : st->last_done, midnight;

	if (!(p->every_s > 0) || isnan(ref))
		return NAN;
	if (p->due_by_min < 0)
		return ref + p->every_s;
	midnight = floor((ref + p->tz_offset_s) / DAY_S) * DAY_S - p->tz_offset_s;
	return midnight + p->every_s + 60.0 * p->due_by_min;
}

struct condition task_tick(struct task_state *st, const struct task_params *p, double now)
{
	double due;
	char when[40];

	if (isnan(st->first_seen))
		st->first_seen = now;
	due = task_due(st, p);
	if (isnan(due))
		return equip__cond(COND_OK, SEV_NONE, NAN, NAN, "not configured");
	fmt_time(due, p->tz_offset_s, when, sizeof(when));
	if (now >= due)
		return equip__cond(COND_FIRING, equip__severity(p->severity, SEV_WARNING), due, due,
		                   "not done by %s (local)", when);
	return equip__cond(COND_OK, SEV_NONE, due, NAN, "due by %s (local)", when);
}

struct condition task_done(struct task_state *st, const struct task_params *p, double t)
{
	if (isnan(st->last_done) || t > st->last_done)
		st->last_done = t;
	return task_tick(st, p, t);
}

double task_next(const struct task_state *st, const struct task_params *p, double now)
{
	double due = task_due(st, p);

	return !isnan(due) && due > now ? due : INFINITY;
}

cJSON *task_to_json(const struct task_state *st)
{
	return times_to_json("task", st->first_seen, st->last_done);
}

int task_from_json(struct task_state *st, const cJSON *j, char *err, size_t errlen)
{
	return times_from_json("task", &st->first_seen, &st->last_done, j, err, errlen);
}
