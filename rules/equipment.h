/*
 * equipment.h: the equipment and maintenance rules (DESIGN section 4):
 * range, stale, rate, drift, service counters, calendar, tasks, status.
 * Pure: no I/O, no clock, no globals, no logging. Time is always a
 * parameter, epoch seconds as a double.
 *
 * Every rule has
 *  - a params struct, filled by the daemon from config (read only here);
 *  - a state struct, owned by the daemon, zeroed by X_init(), persisted
 *    with X_to_json() / X_from_json();
 *  - functions that take the state, the params and a time and return a
 *    struct condition (rules.h): COND_OK, COND_PENDING (range inside its
 *    delay) or COND_FIRING, with severity, value, since and a summary.
 *    The condition says how things are now; the daemon's conditions.c
 *    turns changes of (state, severity) into alert transitions, so calling
 *    a function twice in the same situation is harmless.
 *
 * What the daemon calls (per channel, for the rules configured on it):
 *	on a sample (value v at time t):
 *		range_sample, stale_sample, rate_sample, drift_sample,
 *		service_sample (counter channels), status_sample
 *	on its timer (now = the daemon's clock, which follows input in replay):
 *		range_tick, stale_tick, calendar_tick, task_tick
 *		and X_next(state, params, now) gives the next time > now at
 *		which X_tick's answer can change (INFINITY: none), for the timer;
 *	on events:
 *		service_done (service_done, counter: <channel>),
 *		calendar_done (calibration_done), task_done (task_done, task: <name>),
 *		each followed by the matching eval/tick to report the resolution.
 * Planned maintenance is the daemon's business: rules keep evaluating and
 * the daemon suppresses the transitions.
 *
 * Default severities (params.severity == SEV_NONE): range critical (the
 * warning band warning), stale warning, rate warning, drift warning,
 * service warning at warn_at and critical when due, calendar warning
 * before due and critical when overdue, task warning, status critical.
 * An override replaces the top severity of a rule; a rule's lower step
 * (range warning band, service warn_at, calendar due soon) is then
 * warning, or the override if that is lower.
 *
 * X_to_json() returns a new cJSON object the caller frees with
 * cJSON_Delete(), NULL when out of memory. X_from_json() replaces *state
 * with the state in j and returns 0, or -1 with why in err and *state
 * unchanged (the caller moves a corrupt state aside). Doubles are written
 * with 17 significant digits, so a restart continues bit for bit.
 */
#ifndef LABQCD_EQUIPMENT_H
#define LABQCD_EQUIPMENT_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "rules/rules.h"

/* ---- range: rules/range.c ----
 *
 * Levels: inside, the warning band (beyond warning_min / warning_max) and
 * beyond a hard limit (min / max). A level is entered when the value is
 * strictly beyond its limit (v > max, v < min: a value exactly at a limit
 * is inside) and left when it is at or inside the limit less the
 * hysteresis (v <= max - hysteresis, v >= min + hysteresis), so values
 * oscillating around a limit do not flap, and with hysteresis 0 a value
 * back at the limit is inside (a door, 1 = open, under max 0 clears at
 * 0). This holds during the delay too: a sample that leaves the level
 * cancels a pending excursion (the daemon records it as cleared).
 *
 * Delay: each level must last delay_s before it fires; until then the
 * condition is PENDING. The warning band and the hard band keep separate
 * clocks: an excursion in the warning band for longer than the delay
 * fires warning while a shorter visit beyond the hard limit is pending,
 * and fires critical only once the hard excursion itself lasted delay_s
 * (a door opened during a warm spell is not a critical alarm). A firing
 * alert that drops from the hard band into the warning band is reported
 * with severity warning, and back. The condition's `since` is the start
 * of the whole excursion (first sample outside), for pending and firing,
 * and its `peak` the value furthest beyond the limit so far (the largest
 * above, the smallest below; NAN when inside).
 *
 * range_sample() on each sample; range_tick() on the timer, at
 * range_next() at the latest, so a pending excursion fires exactly at its
 * delay even when no new sample arrives. NaN samples are ignored.
 */
struct range_params {
	bool has_min, has_max, has_warning_min, has_warning_max;
	double min, max, warning_min, warning_max;
	double hysteresis;      /* >= 0 */
	double delay_s;         /* >= 0 */
	enum severity severity; /* hard limits; SEV_NONE = critical */
};

enum range_level { RANGE_INSIDE = 0, RANGE_WARNING, RANGE_HARD };

struct range_state {
	enum range_level level;
	bool high;              /* the excursion is above (max side), else below */
	double excursion_since; /* level >= WARNING since; NAN when inside */
	double hard_since;      /* level == HARD since; NAN otherwise */
	double last_value;      /* NAN before the first sample */
	double last_t;
	double peak;            /* furthest value of the excursion; NAN when inside */
};

void range_init(struct range_state *st);
struct condition range_sample(struct range_state *st, const struct range_params *p, double value,
                              double t);
struct condition range_tick(const struct range_state *st, const struct range_params *p, double now);
double range_next(const struct range_state *st, const struct range_params *p, double now);
cJSON *range_to_json(const struct range_state *st);
int range_from_json(struct range_state *st, const cJSON *j, char *err, size_t errlen);

/* ---- stale: rules/stale.c ----
 *
 * No sample for stale_s seconds: FIRING "communication lost", since the
 * moment the silence passed stale_s. It stays firing through the silence
 * (one transition per silence) and resolves on the next sample.
 * stale_init() arms the rule at `now` (daemon start or configuration), so
 * a channel that never reports goes stale too; its first sample sets the
 * last sample time even when older than the arming (a device silent since
 * before labqcd started); a restored state keeps its last sample time.
 * stale_restart() restarts the countdown at `t` when labqcd could not see
 * (its broker was away): the daemon calls it for every channel not firing
 * once it is subscribed again (daemon/blind.c).
 */
struct stale_params {
	double stale_s;         /* <= 0: rule off */
	enum severity severity; /* SEV_NONE = warning */
};

struct stale_state {
	double last_t; /* last sample, or when armed; NAN = not armed */
	bool seen;     /* a sample arrived (else last_t is the arming time) */
};

void stale_init(struct stale_state *st, double now);
struct condition stale_sample(struct stale_state *st, double t);
void stale_restart(struct stale_state *st, double t);
struct condition stale_tick(const struct stale_state *st, const struct stale_params *p, double now);
double stale_next(const struct stale_state *st, const struct stale_params *p, double now);
cJSON *stale_to_json(const struct stale_state *st);
int stale_from_json(struct stale_state *st, const cJSON *j, char *err, size_t errlen);

/* ---- rate: rules/rate.c ----
 *
 * max_rate: delta per interval_s. On each sample (v, t) the rule looks at
 * the samples of the trailing window and fires when |v - v'| > delta for
 * any of them: a rise or fall of more than delta within one interval.
 * Bounded memory: the window is kept as RATE_BUCKETS buckets of
 * interval_s / RATE_BUCKETS each (aligned on multiples of that width),
 * with the min and max of the samples in each. The buckets compared are
 * the current one and those that start at or after t - interval_s, so the
 * look-back reaches between (1 - 1/RATE_BUCKETS) and 1 interval. It
 * resolves on the first sample that differs from all of the window by at
 * most delta (so a step stays firing for about one interval). Samples
 * older than the newest bucket and NaN samples are ignored. A change of
 * interval_s (reload) restarts the window.
 */
#define RATE_BUCKETS 16

struct rate_params {
	double delta;           /* > 0 */
	double interval_s;      /* > 0 */
	enum severity severity; /* SEV_NONE = warning */
};

struct rate_bucket {
	double index; /* floor(t / width); NAN = empty */
	double min, max;
};

struct rate_state {
	struct rate_bucket b[RATE_BUCKETS + 1]; /* ring */
	int newest;                             /* index into b of the newest bucket */
	double width;                           /* bucket width the ring was built with */
	double firing_since;                    /* NAN when not firing */
	double last_change;                     /* signed change that fired */
};

void rate_init(struct rate_state *st);
struct condition rate_sample(struct rate_state *st, const struct rate_params *p, double value,
                             double t);
cJSON *rate_to_json(const struct rate_state *st);
int rate_from_json(struct rate_state *st, const cJSON *j, char *err, size_t errlen);

/* ---- drift: rules/drift.c ----
 *
 * EWMA chart. The first `train` samples give the channel's in-control
 * mean and SD (then fixed; the rule says OK meanwhile). From then on
 * z = lambda * x + (1 - lambda) * z, starting at the mean, and the rule
 * fires when z leaves mean +- limit * sd, sd being the channel's own
 * in-control SD (not the EWMA's, which is sd * sqrt(lambda / (2 - lambda)));
 * it resolves when z is back within DRIFT_RESOLVE of that distance. See
 * drift.c for the choice: lambda 0.2 / limit 3 stays quiet over a week of
 * in-control noise at a sample a minute and still catches a slow rise.
 */
#define DRIFT_RESOLVE 0.8

struct drift_params {
	double lambda;          /* 0 < lambda <= 1 */
	double limit;           /* in SD of the channel's in-control spread */
	int train;              /* >= 2 */
	enum severity severity; /* SEV_NONE = warning */
};

struct drift_state {
	int n;               /* training samples so far (stops at train) */
	double mean, m2;     /* Welford sums while training, then mean and ... */
	double sd;           /* ... the fixed SD; NAN while training */
	double ewma;         /* NAN while training */
	double firing_since; /* NAN when not firing */
	bool high;           /* the EWMA is above the mean (when firing) */
};

void drift_init(struct drift_state *st);
struct condition drift_sample(struct drift_state *st, const struct drift_params *p, double value,
                              double t);
cJSON *drift_to_json(const struct drift_state *st);
int drift_from_json(struct drift_state *st, const cJSON *j, char *err, size_t errlen);

/* ---- service counters: rules/counter.c ----
 *
 * `used` is how far the counter went since the last service_done:
 * before any service_done it is the counter itself (the instrument's
 * total, so a machine already past its interval is due at once), or the
 * counter minus service_baseline when one is configured.
 * FIRING warning when used >= warn_at * every, critical when used >=
 * every. service_done() records the current counter as the new start.
 *
 * A counter that goes down was reset (instrument reset or replaced, or
 * it wrapped): it is taken to have restarted from 0, so the amount used
 * after the reset is the new reading, and it is added on top of what
 * had been counted before, so the service interval keeps running.
 * (A wrap loses what lay between the last reading and the wrap point;
 * the rule does not know the modulus.) A dip of less than
 * SERVICE_JITTER of the last reading is taken for jitter of a
 * floating-point counter (run hours) and ignored.
 */
#define SERVICE_JITTER 0.01

struct service_params {
	double every;   /* > 0 */
	double warn_at; /* fraction of every; <= 0 or >= 1: no warning */
	bool has_baseline;
	double baseline;
	enum severity severity; /* when due; SEV_NONE = critical */
};

struct service_state {
	double last_raw;   /* last reading; NAN before the first */
	double offset;     /* added to readings: what was counted before resets */
	double mark;       /* continuous count at the last service_done; NAN: none yet */
	bool done_pending; /* service_done arrived before any reading */
	double done_t;     /* time of the last service_done; NAN: none */
	double warn_since; /* NAN when below warn_at */
	double due_since;  /* NAN when not due */
	int resets;        /* counter resets seen since the last service_done */
};

void service_init(struct service_state *st);
struct condition service_sample(struct service_state *st, const struct service_params *p,
                                double value, double t);
struct condition service_done(struct service_state *st, const struct service_params *p, double t);
/* Used since the last service (NAN before any reading). */
double service_used(const struct service_state *st, const struct service_params *p);
cJSON *service_to_json(const struct service_state *st);
int service_from_json(struct service_state *st, const cJSON *j, char *err, size_t errlen);

/* ---- calendar: rules/calendar.c ----
 *
 * Due `every_s` after the last calibration_done, or, never done, after
 * the rule first saw the instrument (calendar_init(), or the first tick).
 * FIRING warning in the last warn_before_s before due (0: the last 10 %
 * of every_s), critical from due on (overdue); calendar_done() resets.
 * calendar_due() is the next due time, for the dashboard's "due soon".
 */
struct calendar_params {
	double every_s;         /* > 0 */
	double warn_before_s;   /* 0: every_s / 10; < 0: no warning */
	enum severity severity; /* when overdue; SEV_NONE = critical */
};

struct calendar_state {
	double first_seen; /* NAN until init or the first tick */
	double last_done;  /* NAN: never done */
};

void calendar_init(struct calendar_state *st, double now);
struct condition calendar_tick(struct calendar_state *st, const struct calendar_params *p,
                               double now);
struct condition calendar_done(struct calendar_state *st, const struct calendar_params *p,
                               double t);
double calendar_due(const struct calendar_state *st, const struct calendar_params *p);
double calendar_next(const struct calendar_state *st, const struct calendar_params *p, double now);
cJSON *calendar_to_json(const struct calendar_state *st);
int calendar_from_json(struct calendar_state *st, const cJSON *j, char *err, size_t errlen);

/* ---- tasks: rules/calendar.c ----
 *
 * A task is due every_s after it was last done (or first seen). With
 * due_by (minutes after local midnight) it is due at that time of day:
 * local midnight of the day it was last done + every_s + due_by, so a
 * daily task done at 11:00 today is due by 10:00 tomorrow, and a weekly
 * task done on Monday is due next Monday by 10:00. FIRING from due until
 * task_done(); then the next period starts. Local time is UTC plus
 * tz_offset_s, which the caller supplies (the offset now; a DST change
 * moves that day's due time by the hour).
 */
struct task_params {
	double every_s;         /* > 0 */
	int due_by_min;         /* 0..1439; < 0: none, due every_s after done */
	double tz_offset_s;     /* local time - UTC, seconds */
	enum severity severity; /* SEV_NONE = warning */
};

struct task_state {
	double first_seen; /* NAN until init or the first tick */
	double last_done;  /* NAN: never done */
};

void task_init(struct task_state *st, double now);
struct condition task_tick(struct task_state *st, const struct task_params *p, double now);
struct condition task_done(struct task_state *st, const struct task_params *p, double t);
double task_due(const struct task_state *st, const struct task_params *p);
double task_next(const struct task_state *st, const struct task_params *p, double now);
cJSON *task_to_json(const struct task_state *st);
int task_from_json(struct task_state *st, const cJSON *j, char *err, size_t errlen);

/* ---- status: rules/status.c ----
 *
 * The value is an error code. Codes in ok_codes (default { 0 } when
 * n_ok_codes is 0) are fine; any other code fires with the code in the
 * summary, and the alert stays one alert while the code changes between
 * bad codes (the summary shows the latest). An ok code resolves it. NaN
 * samples are ignored. ok_codes points into the daemon's config.
 */
struct status_params {
	const double *ok_codes;
	size_t n_ok_codes;
	enum severity severity; /* SEV_NONE = critical */
};

struct status_state {
	double code;      /* last code; NAN before the first */
	double bad_since; /* NAN when ok */
};

void status_init(struct status_state *st);
struct condition status_sample(struct status_state *st, const struct status_params *p, double value,
                               double t);
cJSON *status_to_json(const struct status_state *st);
int status_from_json(struct status_state *st, const cJSON *j, char *err, size_t errlen);

/* ---- shared helpers: rules/equipment.c (internal to rules/) ---- */

enum severity equip__severity(enum severity override, enum severity dflt);
/* The lower step of a rule whose top severity is `top`: warning, or top if lower. */
enum severity equip__lower(enum severity top);
struct condition equip__cond(enum cond_state state, enum severity sev, double value, double since,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* JSON: a state object {"rule": name, "version": 1, ...}. */
cJSON *equip__json_new(const char *rule);
bool equip__json_num(cJSON *o, const char *key, double x); /* NAN -> null */
bool equip__json_bool(cJSON *o, const char *key, bool b);

struct equip_loader {
	char *err;
	size_t errlen;
	bool failed;
};
/* Checks {"rule": rule, "version": 1}; false (and err) if not. */
bool equip__json_check(struct equip_loader *ld, const cJSON *j, const char *rule);
/* A number in [lo, hi], or null for NAN when nan_ok. */
double equip__json_get_num(struct equip_loader *ld, const cJSON *j, const char *key, bool nan_ok,
                           double lo, double hi);
bool equip__json_get_bool(struct equip_loader *ld, const cJSON *j, const char *key);

#endif
