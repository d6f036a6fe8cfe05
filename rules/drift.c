/*
 * drift.c: an EWMA chart on a channel, to catch a slow rise long before
 * it reaches a hard limit (DESIGN section 4, "drift").
 *
 * The EWMA z_i = lambda * x_i + (1 - lambda) * z_{i-1}, z_0 = mu, was
 * introduced by S. W. Roberts, "Control chart tests based on geometric
 * moving averages", Technometrics 1 (1959) 239-250 (see also D. C.
 * Montgomery, Introduction to Statistical Quality Control, the chapter
 * on the EWMA chart). mu and sigma are the mean and sample SD of the
 * channel's first `train` samples (Welford's update), then fixed: the
 * chart judges later samples against that in-control state and never
 * re-learns from a drifting signal.
 *
 * The limit: DESIGN section 4 gives `limit` "in SD of the channel's
 * in-control spread", so the rule fires when |z - mu| > limit * sigma,
 * sigma being the channel's own SD, not the EWMA's (which is
 * sigma * sqrt(lambda / (2 - lambda)), a third of it at lambda 0.2). The
 * textbook EWMA limits (L = 2.6-3 EWMA SDs) are tuned for an in-control
 * run length of a few hundred samples, which telemetry at one sample a
 * minute exhausts in hours: they alarm on plain noise several times a
 * week. lambda 0.2 with limit 3 channel SDs (9 EWMA SDs) stays quiet over
 * a week of in-control noise and still catches a rise of 0.45 SD per hour
 * (1 % per hour of a hard limit of 4.5 on a 2.0 +- 0.1 signal) within
 * hours, some 40 hours before the hard limit (tests/unit/test_drift.c).
 * Once firing,
 * the rule resolves when the EWMA is back within DRIFT_RESOLVE of the
 * limit distance, so an EWMA hovering at the limit does not flap.
 */
#include <math.h>
#include <stdio.h>

#include "rules/rules.h"

void drift_init(struct drift_state *st)
{
	st->n = 0;
	st->mean = 0;
	st->m2 = 0;
	st->sd = NAN;
	st->ewma = NAN;
	st->firing_since = NAN;
	st->high = false;
}

static int train_of(const struct drift_params *p)
{
	return p->train >= 2 ? p->train : 2;
}

struct condition drift_sample(struct drift_state *st, const struct drift_params *p, double value,
                              double t)
{
	enum severity sev = equip__severity(p->severity, SEV_WARNING);
	double lambda = p->lambda, dist, off;

	if (!(lambda > 0 && lambda <= 1 && p->limit > 0))
		return equip__cond(COND_OK, SEV_NONE, NAN, NAN, "not configured");
	if (isnan(value) || isinf(value))
		goto verdict;
	if (isnan(st->sd)) {
		double d = value - st->mean;

		st->n++;
		st->mean += d / st->n;
		st->m2 += d * (value - st->mean);
		if (st->n < train_of(p))
			return equip__cond(COND_OK, SEV_NONE, value, NAN,
			                   "learning the in-control spread (%d of %d samples)",
			                   st->n, train_of(p));
		st->sd = sqrt(st->m2 / (st->n - 1));
		st->ewma = st->mean;
		return equip__cond(COND_OK, SEV_NONE, value, NAN, "learnt mean %g, SD %g", st->mean,
		                   st->sd);
	}
	st->ewma = lambda * value + (1 - lambda) * st->ewma;

verdict:
	if (isnan(st->sd))
		return equip__cond(COND_OK, SEV_NONE, NAN, NAN,
		                   "learning the in-control spread (%d of %d samples)", st->n,
		                   train_of(p));
	if (st->sd == 0)
		return equip__cond(COND_OK, SEV_NONE, st->ewma, NAN,
		                   "no spread in the training samples: drift not judged");
	dist = p->limit * st->sd; /* channel SDs, see the top of the file */
	off = st->ewma - st->mean;
	if (fabs(off) > dist) {
		if (isnan(st->firing_since))
			st->firing_since = t;
		st->high = off > 0;
	} else if (!isnan(st->firing_since) && fabs(off) <= DRIFT_RESOLVE * dist) {
		st->firing_since = NAN;
	}
	if (isnan(st->firing_since))
		return equip__cond(COND_OK, SEV_NONE, st->ewma, NAN, "EWMA %g, mean %g +- %g",
		                   st->ewma, st->mean, dist);
	return equip__cond(COND_FIRING, sev, st->ewma, st->firing_since,
	                   "drifting %s: EWMA %g, in-control mean %g %c %g (%g SD)",
	                   st->high ? "up" : "down", st->ewma, st->mean, st->high ? '+' : '-', dist,
	                   p->limit);
}

cJSON *drift_to_json(const struct drift_state *st)
{
	cJSON *o = equip__json_new("drift");

	if (o == NULL)
		return NULL;
	if (!(equip__json_num(o, "n", st->n) && equip__json_num(o, "mean", st->mean) &&
	      equip__json_num(o, "m2", st->m2) && equip__json_num(o, "sd", st->sd) &&
	      equip__json_num(o, "ewma", st->ewma) &&
	      equip__json_num(o, "firing_since", st->firing_since) &&
	      equip__json_bool(o, "high", st->high))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int drift_from_json(struct drift_state *st, const cJSON *j, char *err, size_t errlen)
{
	struct equip_loader ld = {err, errlen, false};
	struct drift_state s;

	if (!equip__json_check(&ld, j, "drift"))
		return -1;
	s.n = (int)equip__json_get_num(&ld, j, "n", false, 0, 1e9);
	s.mean = equip__json_get_num(&ld, j, "mean", false, -HUGE_VAL, HUGE_VAL);
	s.m2 = equip__json_get_num(&ld, j, "m2", false, 0, HUGE_VAL);
	s.sd = equip__json_get_num(&ld, j, "sd", true, 0, HUGE_VAL);
	s.ewma = equip__json_get_num(&ld, j, "ewma", true, -HUGE_VAL, HUGE_VAL);
	s.firing_since = equip__json_get_num(&ld, j, "firing_since", true, -HUGE_VAL, HUGE_VAL);
	s.high = equip__json_get_bool(&ld, j, "high");
	if (!ld.failed && isnan(s.sd) != isnan(s.ewma)) {
		snprintf(err, errlen, "drift: sd and ewma disagree");
		return -1;
	}
	if (ld.failed)
		return -1;
	*st = s;
	return 0;
}
