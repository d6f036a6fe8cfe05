/*
 * labsim: the equipment simulator of labqcd's tests (tests/sim/).
 *
 * labsim.c holds the command line, the random numbers and the output
 * (MQTT through libmosquitto's own network thread, and the replay file);
 * lab.c simulates a laboratory on the clock of simulated time, which
 * backfill.c paces (accelerated, or a past back-filled then real time); load.c
 * publishes deterministic samples as fast as asked for the benchmarks.
 * One thread of ours publishes; libmosquitto's thread (mosquitto_loop_start)
 * does the network and reports completions through the out's mutex.
 */
#ifndef LABSIM_H
#define LABSIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define LABSIM_MAX_FAULTS 64

enum fault_kind {
	FAULT_DOOR,
	FAULT_COMPRESSOR,
	FAULT_SILENT,
	FAULT_VIBRATION_DRIFT,
	FAULT_QC_SHIFT,
	FAULT_QC_RANDOM,
	FAULT_LOT_CHANGE,
};

struct fault {
	enum fault_kind kind;
	char instrument[64];
	double at_s;		/* simulated seconds after the start (< 0: in the back-fill) */
	double duration_s;	/* < 0: until the end */
	int announced;
};

enum load_format { FORMAT_NUMBER, FORMAT_JSON, FORMAT_SENML };

struct options {
	const char *host;
	int port;
	const char *prefix;
	const char *site;
	int qos;		/* -1: the mode's default */
	const char *replay_out;
	int no_broker;
	double duration_s;	/* < 0: not given */

	/* --lab */
	double speed;
	double backfill_s;	/* 0: none */
	uint64_t seed;
	struct fault faults[LABSIM_MAX_FAULTS];
	size_t nfaults;

	/* --load */
	long channels;
	long instruments;
	double rate;		/* messages per second overall; <= 0: --max */
	enum load_format format;
	long long messages;	/* < 0: not given */
	long long base_t;	/* < 0: computed */
};

extern volatile sig_atomic_t labsim_stop;

/* The output: an MQTT connection (absent with --no-broker) and the
 * optional replay file. Completions (QoS 0 written, QoS 1 acknowledged)
 * are counted by libmosquitto's thread. */
struct out;

struct out *out_open(const struct options *o, int qos, unsigned window);
/* Publishes one message and appends it to the replay file. Blocks while
 * `window` messages are outstanding. 0 on success, -1 if the message
 * could not be handed to libmosquitto (counted in out_failed). */
int out_publish(struct out *out, const char *topic, const char *payload, int len);
/* Waits until every published message is complete, or timeout_s. 0 when
 * all are complete. */
int out_drain(struct out *out, double timeout_s);
unsigned long long out_failed(const struct out *out);
unsigned long long out_published(const struct out *out);
void out_close(struct out *out);

/* Random numbers: splitmix64, one stream per instrument. */
struct rng {
	uint64_t s;
};
void rng_seed(struct rng *r, uint64_t seed, const char *name);
double rng_uniform(struct rng *r);	/* [0, 1) */
double rng_gauss(struct rng *r);	/* N(0, 1) */
double rng_exp(struct rng *r, double mean);

double now_real(void);		/* CLOCK_REALTIME, seconds */
double now_mono(void);		/* CLOCK_MONOTONIC, seconds */
void sleep_s(double s);

/* The pace of the lab's simulated clock (backfill.c). `start` is t = 0
 * of the faults, the real now in whole seconds; the clock runs from
 * `from` (start - backfill) to `end` (--no-broker) or the end of the run. */
struct pace {
	const struct options *o;
	double start, from, end, mono_start;
	int live;		/* the back-fill is over (or there is none) */
};
void pace_init(struct pace *p, const struct options *o, double start);
/* Waits until a message stamped t may go out (with --backfill: not
 * before the wall clock reaches t). -1: the run is over (signal,
 * --duration, or past the end with --no-broker). */
int pace_wait(struct pace *p, struct out *out, double t, unsigned long long messages);

int lab_run(const struct options *o);
int load_run(const struct options *o);
/* The value of sample k of load channel j, as load mode prints it. */
double load_value(long channel, long long k);

#endif
