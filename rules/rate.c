/*
 * rate.c: max_rate, a change of more than delta within interval_s
 * (DESIGN section 4). The definition and its bounds are in equipment.h.
 *
 * The window is a ring of RATE_BUCKETS + 1 buckets of width
 * interval_s / RATE_BUCKETS, each with the min and max of its samples:
 * fixed memory whatever the sample rate, and exact extremes, so a rise
 * is never missed because the sample that began it was thinned out.
 */
#include <math.h>
#include <stdio.h>

#include "rules/rules.h"

#define RING (RATE_BUCKETS + 1)

static void clear(struct rate_state *st, double width)
{
	for (int i = 0; i < RING; i++) {
		st->b[i].index = NAN;
		st->b[i].min = NAN;
		st->b[i].max = NAN;
	}
	st->newest = 0;
	st->width = width;
}

void rate_init(struct rate_state *st)
{
	clear(st, NAN);
	st->firing_since = NAN;
	st->last_change = NAN;
}

/* Puts v into the bucket of t. False if t is older than the newest bucket. */
static bool add(struct rate_state *st, double k, double v)
{
	struct rate_bucket *nb = &st->b[st->newest];

	if (!isnan(nb->index) && k < nb->index)
		return false;
	if (isnan(nb->index) || k > nb->index) {
		if (!isnan(nb->index))
			st->newest = (st->newest + 1) % RING;
		nb = &st->b[st->newest];
		nb->index = k;
		nb->min = nb->max = v;
		return true;
	}
	if (v < nb->min)
		nb->min = v;
	if (v > nb->max)
		nb->max = v;
	return true;
}

struct condition rate_sample(struct rate_state *st, const struct rate_params *p, double value,
                             double t)
{
	enum severity sev = equip__severity(p->severity, SEV_WARNING);
	double width, k, oldest, change = 0;

	if (!(p->delta > 0 && p->interval_s > 0))
		return equip__cond(COND_OK, SEV_NONE, NAN, NAN, "not configured");
	width = p->interval_s / RATE_BUCKETS;
	if (st->width != width)
		clear(st, width);
	k = floor(t / width);
	if (isnan(value) || !add(st, k, value))
		goto verdict; /* nothing new to judge: the condition stands */

	oldest = ceil((t - p->interval_s) / width); /* first bucket wholly inside the window */
	for (int i = 0; i < RING; i++) {
		const struct rate_bucket *b = &st->b[i];

		if (isnan(b->index) || (b->index < oldest && b->index != k))
			continue;
		if (fabs(value - b->min) > fabs(change))
			change = value - b->min;
		if (fabs(value - b->max) > fabs(change))
			change = value - b->max;
	}
	if (fabs(change) > p->delta) {
		if (isnan(st->firing_since))
			st->firing_since = t;
		st->last_change = change;
	} else {
		st->firing_since = NAN;
		st->last_change = change;
	}
verdict:
	if (isnan(st->firing_since))
		return equip__cond(COND_OK, SEV_NONE, st->last_change, NAN,
		                   "changes within %g per %g s", p->delta, p->interval_s);
	return equip__cond(COND_FIRING, sev, st->last_change, st->firing_since,
	                   "%s %g within %g s (max_rate %g per %g s)",
	                   st->last_change > 0 ? "rose" : "fell", fabs(st->last_change),
	                   p->interval_s, p->delta, p->interval_s);
}

cJSON *rate_to_json(const struct rate_state *st)
{
	cJSON *o = equip__json_new("rate"), *a, *b;
	bool ok;

	if (o == NULL)
		return NULL;
	ok = equip__json_num(o, "newest", st->newest) && equip__json_num(o, "width", st->width) &&
	     equip__json_num(o, "firing_since", st->firing_since) &&
	     equip__json_num(o, "last_change", st->last_change);
	a = ok ? cJSON_AddArrayToObject(o, "buckets") : NULL;
	for (int i = 0; a != NULL && i < RING; i++) {
		if ((b = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(a, b)) {
			cJSON_Delete(b);
			a = NULL;
			break;
		}
		if (!(equip__json_num(b, "index", st->b[i].index) &&
		      equip__json_num(b, "min", st->b[i].min) &&
		      equip__json_num(b, "max", st->b[i].max)))
			a = NULL;
	}
	if (a == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int rate_from_json(struct rate_state *st, const cJSON *j, char *err, size_t errlen)
{
	struct equip_loader ld = {err, errlen, false};
	struct rate_state s;
	const cJSON *a, *b;
	int i = 0;

	if (!equip__json_check(&ld, j, "rate"))
		return -1;
	s.newest = (int)equip__json_get_num(&ld, j, "newest", false, 0, RING - 1);
	s.width = equip__json_get_num(&ld, j, "width", true, 0, HUGE_VAL);
	s.firing_since = equip__json_get_num(&ld, j, "firing_since", true, -HUGE_VAL, HUGE_VAL);
	s.last_change = equip__json_get_num(&ld, j, "last_change", true, -HUGE_VAL, HUGE_VAL);
	a = cJSON_GetObjectItemCaseSensitive(j, "buckets");
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != RING) {
		snprintf(err, errlen, "buckets: expected an array of %d", RING);
		return -1;
	}
	cJSON_ArrayForEach(b, a)
	{
		s.b[i].index = equip__json_get_num(&ld, b, "index", true, -HUGE_VAL, HUGE_VAL);
		s.b[i].min = equip__json_get_num(&ld, b, "min", true, -HUGE_VAL, HUGE_VAL);
		s.b[i].max = equip__json_get_num(&ld, b, "max", true, -HUGE_VAL, HUGE_VAL);
		i++;
	}
	if (ld.failed)
		return -1;
	*st = s;
	return 0;
}
