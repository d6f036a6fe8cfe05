/*
 * labsim --lab: a laboratory on one site, on a simulated clock.
 *
 * Simulated time starts at the real now (whole seconds), or --backfill
 * before it, and backfill.c paces it (--speed times faster, or a past
 * published as fast as the broker takes it and then real time); with
 * --no-broker it runs as fast as it can. A small discrete-event loop: every
 * instrument samples its channels once a simulated minute (each at its
 * own second of the minute), analysers run QC every few hours, and a
 * fault announces itself when its time comes. Physics is stepped at
 * each sample from the previous one. Every instrument draws from its own
 * random stream (seed + name), so a fault on one instrument leaves the
 * others' data unchanged for a given seed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/sim/labsim.h"

#define SAMPLE_PERIOD_S 60.0
#define QC_PERIOD_S (4 * 3600.0)
#define VIBRATION_DRIFT_PER_H 0.05

enum kind { K_FRIDGE, K_FREEZER, K_ULF, K_INCUBATOR, K_CENTRIFUGE, K_MICROSCOPE,
	K_PIPETTE, K_WATER, K_ANALYSER };

struct qc_level {
	const char *name;
	double mean, sd;
};

struct qc_analyte {
	const char *name;
	const char *lot_prefix;	/* lot id: prefix, then first_lot + lot changes */
	int first_lot;
	int decimals;
	int nlevels;
	struct qc_level levels[3];
};

/* As etc/labqcd.yaml configures them (potassium L1's lot K2402), so an
 * analyser in control is judged in control. */
static const struct qc_analyte chem_qc[] = {
	{ "glucose", "GLU-", 4101, 1, 2, { { "L1", 100, 2.5 }, { "L2", 250, 5.0 } } },
	{ "potassium", "K", 2402, 2, 3, { { "L1", 3.1, 0.06 }, { "L2", 5.0, 0.08 }, { "L3", 7.0, 0.14 } } },
};

static const struct qc_analyte hem_qc[] = {
	{ "wbc", "WBC-", 4101, 2, 3, { { "L1", 3.0, 0.15 }, { "L2", 7.5, 0.25 }, { "L3", 18.0, 0.50 } } },
	/* hgb as etc/labqcd.yaml configures it (Sigma rules) */
	{ "hgb", "HGB-", 4101, 2, 3, { { "low", 8.0, 0.12 }, { "normal", 13.5, 0.18 }, { "high", 17.0, 0.25 } } },
};

/* Thermal units: setpoint, measurement noise, compressor cycling, how
 * fast the door pulls toward ambient, recovery and warm-up constants. */
struct thermal {
	double setpoint, noise, cycle_amp, door_rate_per_min, recover_tau_s, warm_tau_s;
	double door_gap_s, door_min_s, door_max_s;
};

static const struct thermal thermal_of[] = {
	[K_FRIDGE] = { 4.5, 0.05, 0.3, 0.5, 300, 3 * 3600, 2 * 3600, 30, 150 },
	[K_FREEZER] = { -20, 0.15, 0.8, 0.5, 600, 6 * 3600, 6 * 3600, 20, 60 },
	[K_ULF] = { -80, 0.3, 1.0, 0.5, 900, 10 * 3600, 12 * 3600, 20, 60 },
	[K_INCUBATOR] = { 37, 0.03, 0.05, 0.3, 300, 3 * 3600, 4 * 3600, 20, 60 },
};

#define AMBIENT_C 22.0
#define CO2_SETPOINT 5.0

struct instrument {
	const char *name;
	enum kind kind;
	struct rng rng;
	double next_sample, last_step;

	/* a daily chore checked off (task_done) at this UTC hour */
	const char *task;
	double task_at_h;
	long task_day;

	/* thermal */
	double temp, co2, cycle_phase;
	double door_open_at, door_close_at;	/* the next (or current) random opening */

	/* centrifuge */
	long run_count;
	int running;
	double run_end, next_run_at, rpm_set;

	/* microscope lamp_hours, pipette cycles */
	double counter;

	/* analysers */
	const struct qc_analyte *analytes;
	int nanalytes;
	double next_qc;
};

static struct instrument lab_instruments[] = {
	{ .name = "fridge-01", .kind = K_FRIDGE, .task = "daily-check", .task_at_h = 8.25 },
	{ .name = "fridge-02", .kind = K_FRIDGE, .task = "daily-check", .task_at_h = 8.5 },
	{ .name = "freezer-01", .kind = K_FREEZER },
	{ .name = "ulf-01", .kind = K_ULF },
	{ .name = "incubator-01", .kind = K_INCUBATOR },
	{ .name = "centrifuge-01", .kind = K_CENTRIFUGE, .task = "daily-clean", .task_at_h = 7.5 },
	{ .name = "microscope-01", .kind = K_MICROSCOPE },
	{ .name = "pipette-p200-01", .kind = K_PIPETTE },
	{ .name = "water-01", .kind = K_WATER },
	{ .name = "chem-01", .kind = K_ANALYSER, .analytes = chem_qc, .nanalytes = 2 },
	{ .name = "hem-01", .kind = K_ANALYSER, .analytes = hem_qc, .nanalytes = 2 },
};
#define NINSTRUMENTS (sizeof(lab_instruments) / sizeof(lab_instruments[0]))

static const char *const operators[] = { "amartin", "bchen", "cdiallo", "dkowalski" };

struct lab {
	const struct options *o;
	struct out *out;
	double start;		/* simulated epoch of the start */
	struct fault faults[LABSIM_MAX_FAULTS];
	struct instrument *fault_ins[LABSIM_MAX_FAULTS];
	size_t nfaults;
	unsigned long long messages;
};

/* ---- faults ---- */

static const char *fault_name(enum fault_kind k)
{
	static const char *const names[] = { "door", "compressor", "silent", "vibration-drift",
		"qc-shift", "qc-random", "lot-change" };
	return names[k];
}

static int fault_fits(enum fault_kind f, enum kind k)
{
	switch (f) {
	case FAULT_DOOR: return k == K_FRIDGE || k == K_FREEZER || k == K_ULF || k == K_INCUBATOR;
	case FAULT_COMPRESSOR: return k == K_FRIDGE || k == K_FREEZER || k == K_ULF;
	case FAULT_SILENT: return 1;
	case FAULT_VIBRATION_DRIFT: return k == K_CENTRIFUGE;
	case FAULT_QC_SHIFT:
	case FAULT_QC_RANDOM:
	case FAULT_LOT_CHANGE: return k == K_ANALYSER;
	}
	return 0;
}

static double fault_begin(const struct lab *lab, size_t i)
{
	return lab->start + lab->faults[i].at_s;
}

static double fault_end(const struct lab *lab, size_t i)
{
	const struct fault *f = &lab->faults[i];
	return f->duration_s < 0 ? INFINITY : lab->start + f->at_s + f->duration_s;
}

static int fault_active(const struct lab *lab, const struct instrument *ins, enum fault_kind k,
    double t)
{
	for (size_t i = 0; i < lab->nfaults; i++)
		if (lab->fault_ins[i] == ins && lab->faults[i].kind == k &&
		    t >= fault_begin(lab, i) && t < fault_end(lab, i))
			return 1;
	return 0;
}

static double overlap(double a0, double a1, double b0, double b1)
{
	double lo = fmax(a0, b0), hi = fmin(a1, b1);
	return hi > lo ? hi - lo : 0;
}

/* Seconds of [t0, t1) with the door open, by chance or by fault. */
static double door_open_s(const struct lab *lab, const struct instrument *ins, double t0, double t1)
{
	double s = overlap(t0, t1, ins->door_open_at, ins->door_close_at);
	for (size_t i = 0; i < lab->nfaults; i++)
		if (lab->fault_ins[i] == ins && lab->faults[i].kind == FAULT_DOOR)
			s += overlap(t0, t1, fault_begin(lab, i), fault_end(lab, i));
	return fmin(s, t1 - t0);
}

/* Elapsed simulated hours of a vibration drift at t. */
static double drift_hours(const struct lab *lab, const struct instrument *ins, double t)
{
	double h = 0;
	for (size_t i = 0; i < lab->nfaults; i++)
		if (lab->fault_ins[i] == ins && lab->faults[i].kind == FAULT_VIBRATION_DRIFT &&
		    t > fault_begin(lab, i))
			h += (fmin(t, fault_end(lab, i)) - fault_begin(lab, i)) / 3600;
	return h;
}

static int lot_changes(const struct lab *lab, const struct instrument *ins, double t)
{
	int n = 0;
	for (size_t i = 0; i < lab->nfaults; i++)
		if (lab->fault_ins[i] == ins && lab->faults[i].kind == FAULT_LOT_CHANGE &&
		    t >= fault_begin(lab, i))
			n++;
	return n;
}

static void iso_time(char *buf, size_t len, double t)
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void announce_faults(struct lab *lab, double t)
{
	for (size_t i = 0; i < lab->nfaults; i++) {
		struct fault *f = &lab->faults[i];
		if (f->announced || fault_begin(lab, i) > t)
			continue;
		f->announced = 1;
		char when[32], dur[64];
		iso_time(when, sizeof(when), fault_begin(lab, i));
		if (f->duration_s < 0)
			snprintf(dur, sizeof(dur), "until the end");
		else
			snprintf(dur, sizeof(dur), "for %.0f s", f->duration_s);
		printf("labsim: fault %s on %s/%s starts at %s (%+.0f s simulated), %s\n",
		    fault_name(f->kind), lab->o->site, f->instrument, when, f->at_s, dur);
		fflush(stdout);
	}
}

/* ---- publishing ---- */

static void publish(struct lab *lab, const struct instrument *ins, double t, const char *channel,
    const char *payload, int len)
{
	if (fault_active(lab, ins, FAULT_SILENT, t))
		return;
	char topic[256];
	snprintf(topic, sizeof(topic), "%s/%s/%s/%s", lab->o->prefix, lab->o->site, ins->name,
	    channel);
	out_publish(lab->out, topic, payload, len);
	lab->messages++;
}

static void publish_value(struct lab *lab, const struct instrument *ins, double t,
    const char *channel, double value, int decimals)
{
	char payload[128];
	int len = snprintf(payload, sizeof(payload), "{\"value\":%.*f,\"t\":%.0f}", decimals, value,
	    t);
	publish(lab, ins, t, channel, payload, len);
}

/* ---- instruments ---- */

static double hour_of_day(double t)
{
	return fmod(t, 86400) / 3600;
}

static void thermal_next_door(struct instrument *ins, double after)
{
	const struct thermal *th = &thermal_of[ins->kind];
	ins->door_open_at = after + rng_exp(&ins->rng, th->door_gap_s);
	ins->door_close_at = ins->door_open_at + th->door_min_s +
	    rng_uniform(&ins->rng) * (th->door_max_s - th->door_min_s);
}

static double approach(double from, double to, double dt, double tau)
{
	return to + (from - to) * exp(-dt / tau);
}

/* Moves x toward target by at most rate * dt. */
static double drift_toward(double x, double target, double rate_per_s, double dt)
{
	double step = rate_per_s * dt;
	if (x < target)
		return fmin(target, x + step);
	return fmax(target, x - step);
}

static void thermal_step(struct lab *lab, struct instrument *ins, double t)
{
	const struct thermal *th = &thermal_of[ins->kind];
	double dt = t - ins->last_step;
	double open_s = door_open_s(lab, ins, ins->last_step, t);
	if (ins->door_close_at <= t)
		thermal_next_door(ins, t);

	if (fault_active(lab, ins, FAULT_COMPRESSOR, t)) {
		ins->temp = approach(ins->temp, AMBIENT_C, dt, th->warm_tau_s);
	} else {
		ins->temp = drift_toward(ins->temp, AMBIENT_C, th->door_rate_per_min / 60, open_s);
		ins->temp = approach(ins->temp, th->setpoint, dt - open_s, th->recover_tau_s);
	}
	double cycle = th->cycle_amp * sin(2 * M_PI * t / 1800 + ins->cycle_phase);
	publish_value(lab, ins, t, "temp", ins->temp + cycle + th->noise * rng_gauss(&ins->rng), 2);
	/* The door switch: 1 while open at the sample's time, else 0. */
	publish_value(lab, ins, t, "door", door_open_s(lab, ins, t, t + 1) > 0, 0);

	if (ins->kind == K_INCUBATOR) {
		ins->co2 = drift_toward(ins->co2, 0.04, 1.0 / 60, open_s);
		ins->co2 = approach(ins->co2, CO2_SETPOINT, dt - open_s, 300);
		publish_value(lab, ins, t, "co2", ins->co2 + 0.03 * rng_gauss(&ins->rng), 2);
	}
}

static void centrifuge_step(struct lab *lab, struct instrument *ins, double t)
{
	static const double speeds[] = { 1500, 3000, 4000, 4500 };
	if (ins->running && t >= ins->run_end) {
		ins->running = 0;
		ins->next_run_at = ins->run_end + 300 + rng_exp(&ins->rng, 35 * 60);
	}
	if (!ins->running && t >= ins->next_run_at) {
		ins->running = 1;
		ins->run_count++;
		ins->run_end = ins->next_run_at + 300 + rng_uniform(&ins->rng) * 600;
		ins->rpm_set = speeds[(int)(rng_uniform(&ins->rng) * 4)];
	}
	double rpm = ins->running ? ins->rpm_set + 5 * rng_gauss(&ins->rng) : 0;
	double vibration = 1.0 + VIBRATION_DRIFT_PER_H * drift_hours(lab, ins, t) +
	    0.03 * rng_gauss(&ins->rng);
	publish_value(lab, ins, t, "rpm", rpm, 0);
	publish_value(lab, ins, t, "vibration", vibration, 3);
	publish_value(lab, ins, t, "run_count", (double)ins->run_count, 0);
}

/* The instrument's daily chore is checked off once a day, at its hour (UTC). */
static long task_day_of(const struct instrument *ins, double t)
{
	return (long)floor((t - ins->task_at_h * 3600) / 86400);
}

static void daily_task_step(struct lab *lab, struct instrument *ins, double t)
{
	long day = task_day_of(ins, t);
	if (!ins->task || day == ins->task_day)
		return;
	ins->task_day = day;
	char payload[160];
	int len = snprintf(payload, sizeof(payload),
	    "{\"event\":\"task_done\",\"task\":\"%s\",\"by\":\"%s\",\"t\":%.0f}", ins->task,
	    operators[(int)(rng_uniform(&ins->rng) * 4)], t);
	publish(lab, ins, t, "event", payload, len);
}

static void instrument_step(struct lab *lab, struct instrument *ins, double t)
{
	double dt = t - ins->last_step;
	int working = hour_of_day(t) >= 7 && hour_of_day(t) < 19;
	switch (ins->kind) {
	case K_FRIDGE:
	case K_FREEZER:
	case K_ULF:
	case K_INCUBATOR:
		thermal_step(lab, ins, t);
		break;
	case K_CENTRIFUGE:
		centrifuge_step(lab, ins, t);
		break;
	case K_MICROSCOPE:
		if (working)
			ins->counter += dt / 3600;
		publish_value(lab, ins, t, "lamp_hours", ins->counter, 2);
		break;
	case K_PIPETTE:
		if (working)
			ins->counter += floor(rng_uniform(&ins->rng) * 12);
		publish_value(lab, ins, t, "cycles", ins->counter, 0);
		break;
	case K_WATER:
		/* type I water: 18.2 MOhm.cm at best, above etc/labqcd.yaml's
		 * warning_min 15 when the cartridge is fine */
		publish_value(lab, ins, t, "resistivity",
		    fmin(18.2, 17.6 + 0.2 * rng_gauss(&ins->rng)), 2);
		break;
	case K_ANALYSER:
		publish_value(lab, ins, t, "status", 0, 0);
		break;
	}
	daily_task_step(lab, ins, t);
	ins->last_step = t;
}

/* One QC run at t: every level of every analyte, 20 s apart, ending at t,
 * with one run id. */
static void qc_run(struct lab *lab, struct instrument *ins, double t)
{
	int shift = fault_active(lab, ins, FAULT_QC_SHIFT, t);
	double sd_factor = fault_active(lab, ins, FAULT_QC_RANDOM, t) ? 2.5 : 1.0;
	int changes = lot_changes(lab, ins, t);
	const char *op = operators[(int)(rng_uniform(&ins->rng) * 4)];
	char run[96], stamp[32];
	time_t ts = (time_t)t;
	struct tm tm;
	gmtime_r(&ts, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(run, sizeof(run), "%s-%s", ins->name, stamp);

	int total = 0;
	for (int a = 0; a < ins->nanalytes; a++)
		total += ins->analytes[a].nlevels;
	int idx = 0;
	for (int a = 0; a < ins->nanalytes; a++) {
		const struct qc_analyte *an = &ins->analytes[a];
		for (int l = 0; l < an->nlevels; l++, idx++) {
			const struct qc_level *lv = &an->levels[l];
			double v = lv->mean + (shift ? 2 * lv->sd : 0) +
			    lv->sd * sd_factor * rng_gauss(&ins->rng);
			double rt = t - 20.0 * (total - 1 - idx);
			char channel[96], payload[256];
			snprintf(channel, sizeof(channel), "qc/%s/%s", an->name, lv->name);
			int len = snprintf(payload, sizeof(payload),
			    "{\"value\":%.*f,\"t\":%.0f,\"run\":\"%s\",\"lot\":\"%s%d\","
			    "\"operator\":\"%s\"}", an->decimals, v, rt, run, an->lot_prefix, an->first_lot + changes, op);
			publish(lab, ins, t, channel, payload, len);
		}
	}
}

/* Every instrument as it is at `from`, the first simulated second. */
static void lab_init(struct lab *lab, double from)
{
	for (size_t i = 0; i < NINSTRUMENTS; i++) {
		struct instrument *ins = &lab_instruments[i];
		rng_seed(&ins->rng, lab->o->seed, ins->name);
		ins->task_day = task_day_of(ins, from);
		ins->next_sample = from + floor(rng_uniform(&ins->rng) * SAMPLE_PERIOD_S);
		ins->last_step = ins->next_sample - SAMPLE_PERIOD_S;
		switch (ins->kind) {
		case K_FRIDGE:
		case K_FREEZER:
		case K_ULF:
		case K_INCUBATOR:
			ins->temp = thermal_of[ins->kind].setpoint;
			ins->co2 = CO2_SETPOINT;
			ins->cycle_phase = rng_uniform(&ins->rng) * 2 * M_PI;
			thermal_next_door(ins, from);
			break;
		case K_CENTRIFUGE:
			ins->run_count = 1000 + (long)(rng_uniform(&ins->rng) * 3000);
			ins->next_run_at = from + rng_uniform(&ins->rng) * 900;
			break;
		case K_MICROSCOPE:
			ins->counter = 1200 + rng_uniform(&ins->rng) * 600;
			break;
		case K_PIPETTE:
			ins->counter = 20000 + floor(rng_uniform(&ins->rng) * 5000);
			break;
		case K_ANALYSER:
			ins->next_qc = from + 300 + floor(rng_uniform(&ins->rng) * 300);
			break;
		default:
			break;
		}
	}
}

static int lab_faults(struct lab *lab)
{
	const struct options *o = lab->o;
	for (size_t i = 0; i < o->nfaults; i++) {
		const struct fault *f = &o->faults[i];
		struct instrument *ins = NULL;
		for (size_t j = 0; j < NINSTRUMENTS; j++)
			if (strcmp(lab_instruments[j].name, f->instrument) == 0)
				ins = &lab_instruments[j];
		if (!ins) {
			fprintf(stderr, "labsim: --fault %s:%s: no such instrument\n",
			    fault_name(f->kind), f->instrument);
			return -1;
		}
		if (!fault_fits(f->kind, ins->kind)) {
			fprintf(stderr, "labsim: --fault %s:%s: does not apply to that instrument\n",
			    fault_name(f->kind), f->instrument);
			return -1;
		}
		lab->faults[i] = *f;
		lab->fault_ins[i] = ins;
	}
	lab->nfaults = o->nfaults;
	return 0;
}

int lab_run(const struct options *o)
{
	struct lab lab = { .o = o, .start = floor(now_real()) };
	struct pace pace;
	if (lab_faults(&lab) == -1)
		return 2;
	lab.out = out_open(o, o->qos < 0 ? 1 : o->qos, 1000);
	if (!lab.out)
		return 1;
	pace_init(&pace, o, lab.start);
	lab_init(&lab, pace.from);

	double t = pace.from;
	for (;;) {
		double next = INFINITY;
		for (size_t i = 0; i < NINSTRUMENTS; i++) {
			next = fmin(next, lab_instruments[i].next_sample);
			if (lab_instruments[i].kind == K_ANALYSER)
				next = fmin(next, lab_instruments[i].next_qc);
		}
		for (size_t i = 0; i < lab.nfaults; i++)
			if (!lab.faults[i].announced)
				next = fmin(next, fault_begin(&lab, i));
		if (pace_wait(&pace, lab.out, next, lab.messages) == -1)
			break;
		t = next;
		announce_faults(&lab, t);
		for (size_t i = 0; i < NINSTRUMENTS; i++) {
			struct instrument *ins = &lab_instruments[i];
			if (ins->next_sample <= t) {
				instrument_step(&lab, ins, ins->next_sample);
				ins->next_sample += SAMPLE_PERIOD_S;
			}
			if (ins->kind == K_ANALYSER && ins->next_qc <= t) {
				qc_run(&lab, ins, ins->next_qc);
				ins->next_qc += QC_PERIOD_S + floor((rng_uniform(&ins->rng) - 0.5) * 2400);
			}
		}
	}
	int drained = out_drain(lab.out, 10);
	fprintf(stderr, "labsim: lab: %llu messages over %.0f simulated seconds%s\n", lab.messages,
	    t - pace.from, drained == -1 ? ", some not acknowledged" : "");
	out_close(lab.out);
	return 0;
}
