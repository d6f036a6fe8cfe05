/*
 * labsim --lab: the pace of the simulated clock, and the back-fill.
 *
 * Three paces. --no-broker: as fast as it goes, over [start - backfill,
 * start + duration). --speed X: simulated time starts at the real now and
 * runs X times faster than the monotonic clock (the tests' accelerated
 * lab; its samples lie ahead of the wall clock). --backfill B: simulated
 * time starts B before the real now and every message goes out once the
 * wall clock has reached its time stamp, so nothing is ever stamped in
 * the future: the past (every sample of those B seconds) goes out as
 * fast as the broker acknowledges it (QoS 1, at most the out's window
 * unacknowledged), then the lab carries on in real time. `make run` uses
 * it so the dashboard opens on a lab with a day behind it.
 */
#include <math.h>
#include <stdio.h>

#include "tests/sim/labsim.h"

void pace_init(struct pace *p, const struct options *o, double start)
{
	p->o = o;
	p->start = start;
	p->from = start - (o->backfill_s > 0 ? o->backfill_s : 0);
	p->end = o->no_broker ? start + o->duration_s : INFINITY;
	p->mono_start = now_mono();
	p->live = o->backfill_s <= 0;
}

/* The back-fill has caught up with the wall clock: wait for the broker
 * to acknowledge all of it, and say so (run-local shows the line). */
static void backfill_done(struct pace *p, struct out *out, unsigned long long messages)
{
	int drained = out_drain(out, 60);
	p->live = 1;
	printf("labsim: back-fill of %.0f s done: %llu messages in %.1f s%s; now in real time\n",
	    p->o->backfill_s, messages, now_mono() - p->mono_start,
	    drained == -1 ? " (not all acknowledged yet)" : "");
	fflush(stdout);
}

int pace_wait(struct pace *p, struct out *out, double t, unsigned long long messages)
{
	const struct options *o = p->o;

	if (o->no_broker)
		return t > p->end ? -1 : 0;
	for (;;) {
		if (labsim_stop)
			return -1;
		double mono = now_mono();
		if (o->duration_s >= 0 && mono - p->mono_start >= o->duration_s)
			return -1;
		double wait;
		if (o->backfill_s > 0) {
			wait = t - now_real();
			if (wait > 0 && !p->live) {
				backfill_done(p, out, messages);
				continue;
			}
		} else {
			wait = p->mono_start + (t - p->start) / o->speed - mono;
		}
		if (wait <= 0)
			return 0;
		sleep_s(fmin(wait, 0.1));
	}
}
