/*
 * labsim: the equipment simulator. This file: the command line, the
 * random numbers, the clocks and the output (MQTT and the replay file).
 *
 * Output threads: the caller publishes; libmosquitto's network thread
 * (mosquitto_loop_start) calls on_publish when a QoS 0 message has been
 * written or a QoS 1 message acknowledged. `sent` and `done` are guarded
 * by out->mu; the publisher waits on out->cv while `window` messages are
 * outstanding, so neither libmosquitto's queue nor the broker's grows
 * without bound.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "tests/sim/labsim.h"

volatile sig_atomic_t labsim_stop;

static void on_signal(int sig)
{
	(void)sig;
	labsim_stop = 1;
}

/* ---- clocks and random numbers ---- */

double now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !labsim_stop)
		;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed, const char *name)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a of the name */
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	r->s = seed ^ h;
	splitmix64(&r->s);
}

double rng_uniform(struct rng *r)
{
	return (double)(splitmix64(&r->s) >> 11) / 9007199254740992.0;
}

double rng_gauss(struct rng *r)
{
	double u1 = rng_uniform(r), u2 = rng_uniform(r);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double rng_exp(struct rng *r, double mean)
{
	return -mean * log(1.0 - rng_uniform(r));
}

/* ---- output ---- */

struct out {
	struct mosquitto *mosq;
	FILE *replay;
	int qos;
	unsigned window;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned long long sent, done, failed;
	int connected;
};

static void out_on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	struct out *out = arg;
	(void)mosq;
	pthread_mutex_lock(&out->mu);
	out->connected = rc == 0 ? 1 : -1;
	pthread_cond_broadcast(&out->cv);
	pthread_mutex_unlock(&out->mu);
	if (rc != 0)
		fprintf(stderr, "labsim: broker refused the connection: %s\n",
		    mosquitto_connack_string(rc));
}

static void out_on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
	struct out *out = arg;
	(void)mosq;
	pthread_mutex_lock(&out->mu);
	out->connected = 0;
	pthread_mutex_unlock(&out->mu);
	if (rc != 0 && !labsim_stop)
		fprintf(stderr, "labsim: disconnected from the broker, reconnecting\n");
}

static void out_on_publish(struct mosquitto *mosq, void *arg, int mid)
{
	struct out *out = arg;
	(void)mosq;
	(void)mid;
	pthread_mutex_lock(&out->mu);
	out->done++;
	if (out->sent - out->done < out->window || out->done == out->sent)
		pthread_cond_broadcast(&out->cv);
	pthread_mutex_unlock(&out->mu);
}

static void deadline_in(struct timespec *ts, double s)
{
	clock_gettime(CLOCK_REALTIME, ts);
	double ns = ts->tv_nsec + s * 1e9;
	ts->tv_sec += (time_t)(ns / 1e9);
	ts->tv_nsec = (long)fmod(ns, 1e9);
}

struct out *out_open(const struct options *o, int qos, unsigned window)
{
	struct out *out = calloc(1, sizeof(*out));
	if (!out)
		return NULL;
	out->qos = qos;
	out->window = window ? window : 1;
	pthread_mutex_init(&out->mu, NULL);
	pthread_cond_init(&out->cv, NULL);
	if (o->replay_out) {
		out->replay = fopen(o->replay_out, "w");
		if (!out->replay) {
			fprintf(stderr, "labsim: %s: %s\n", o->replay_out, strerror(errno));
			free(out);
			return NULL;
		}
	}
	if (o->no_broker)
		return out;

	char id[64];
	snprintf(id, sizeof(id), "labsim-%ld", (long)getpid());
	out->mosq = mosquitto_new(id, true, out);
	if (!out->mosq) {
		fprintf(stderr, "labsim: mosquitto_new: %s\n", strerror(errno));
		out_close(out);
		return NULL;
	}
	mosquitto_connect_callback_set(out->mosq, out_on_connect);
	mosquitto_disconnect_callback_set(out->mosq, out_on_disconnect);
	mosquitto_publish_callback_set(out->mosq, out_on_publish);
	mosquitto_max_inflight_messages_set(out->mosq, window > 65535 ? 65535 : window);
	mosquitto_int_option(out->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_reconnect_delay_set(out->mosq, 1, 10, false);
	int rc = mosquitto_connect(out->mosq, o->host, o->port, 30);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "labsim: cannot connect to %s:%d: %s\n", o->host, o->port,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		out_close(out);
		return NULL;
	}
	if ((rc = mosquitto_loop_start(out->mosq)) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "labsim: mosquitto_loop_start: %s\n", mosquitto_strerror(rc));
		out_close(out);
		return NULL;
	}
	/* Wait for CONNACK, so the first messages are not refused. */
	pthread_mutex_lock(&out->mu);
	double give_up = now_mono() + 10;
	while (out->connected == 0 && !labsim_stop && now_mono() < give_up) {
		struct timespec ts;
		deadline_in(&ts, 0.1);
		pthread_cond_timedwait(&out->cv, &out->mu, &ts);
	}
	int connected = out->connected;
	pthread_mutex_unlock(&out->mu);
	if (connected != 1) {
		if (connected == 0)
			fprintf(stderr, "labsim: no CONNACK from %s:%d\n", o->host, o->port);
		out_close(out);
		return NULL;
	}
	return out;
}

int out_publish(struct out *out, const char *topic, const char *payload, int len)
{
	if (out->replay)
		fprintf(out->replay, "%s %.*s\n", topic, len, payload);
	if (!out->mosq) {
		out->sent++;
		out->done++;
		return 0;
	}
	pthread_mutex_lock(&out->mu);
	while (out->sent - out->done >= out->window && !labsim_stop) {
		struct timespec ts;
		deadline_in(&ts, 0.1);
		pthread_cond_timedwait(&out->cv, &out->mu, &ts);
	}
	out->sent++;
	pthread_mutex_unlock(&out->mu);

	int rc = mosquitto_publish(out->mosq, NULL, topic, len, payload, out->qos, false);
	if (rc != MOSQ_ERR_SUCCESS) {
		pthread_mutex_lock(&out->mu);
		out->sent--;
		out->failed++;
		pthread_mutex_unlock(&out->mu);
		return -1;
	}
	return 0;
}

int out_drain(struct out *out, double timeout_s)
{
	if (!out->mosq)
		return 0;
	double give_up = now_mono() + timeout_s;
	pthread_mutex_lock(&out->mu);
	while (out->done < out->sent && now_mono() < give_up) {
		struct timespec ts;
		deadline_in(&ts, 0.1);
		pthread_cond_timedwait(&out->cv, &out->mu, &ts);
	}
	int rc = out->done < out->sent ? -1 : 0;
	pthread_mutex_unlock(&out->mu);
	return rc;
}

unsigned long long out_failed(const struct out *out)
{
	return out->failed;
}

unsigned long long out_published(const struct out *out)
{
	return out->sent;
}

void out_close(struct out *out)
{
	if (!out)
		return;
	if (out->mosq) {
		mosquitto_disconnect(out->mosq);
		mosquitto_loop_stop(out->mosq, false);
		mosquitto_destroy(out->mosq);
	}
	if (out->replay && fclose(out->replay) == EOF)
		fprintf(stderr, "labsim: replay file: %s\n", strerror(errno));
	pthread_mutex_destroy(&out->mu);
	pthread_cond_destroy(&out->cv);
	free(out);
}

/* ---- command line ---- */

static const char usage_text[] =
"usage:\n"
"  labsim [-h HOST] [-p PORT] [--prefix lab] [--site main] --lab\n"
"         [--speed X | --backfill B]\n"
"         [--duration S] [--seed N] [--fault KIND:INSTRUMENT[:AT[:DUR]] ...]\n"
"         [--qos 0|1] [--replay-out FILE [--no-broker]]\n"
"  labsim [-h HOST] [-p PORT] [--prefix lab] --load --channels C [--instruments I]\n"
"         [--rate R | --max] [--qos 0|1] [--format number|json|senml]\n"
"         [--messages N | --duration S] [--base EPOCH] [--replay-out FILE]\n"
"  labsim --expect CHANNEL K\n"
"  labsim [-h H] [-p P] [--qos 0|1] --publish FILE   (\"topic payload\" lines, in order)\n"
"\n"
"--lab: a laboratory on site `main` publishing to PREFIX/SITE/INSTRUMENT/CHANNEL\n"
"  (JSON {\"value\":v,\"t\":epoch}), QC results to .../qc/ANALYTE/LEVEL\n"
"  ({\"value\",\"t\",\"run\",\"lot\",\"operator\"}) and events to .../event.\n"
"  Simulated time starts at the real now and runs --speed times faster\n"
"  (default 1); every channel publishes once a simulated minute.\n"
"  --backfill B (e.g. 24h): simulated time starts B before the real now;\n"
"  each message goes out once the wall clock has reached its time, so the\n"
"  past goes out as fast as the broker acknowledges it (then one line\n"
"  \"labsim: back-fill of B s done: ...\" on stdout) and the lab goes on\n"
"  in real time: no time stamp is ever ahead of the wall clock.\n"
"  --duration: real seconds (with --no-broker: simulated seconds, written to\n"
"  --replay-out as fast as possible). --qos defaults to 1. --seed defaults\n"
"  to the time (printed on stderr).\n"
"  Faults (AT, DUR: simulated time after the start, the real now: 90, 90s,\n"
"  10m, 2h, 1d; AT may be negative, -40m, inside the back-fill; AT defaults\n"
"  to 0, DUR to the end, door to 5m):\n"
"    door:FRIDGE          door open (its door channel 1, else 0): temperature\n"
"                         drifts ~0.5 C/min to ambient\n"
"    compressor:FRIDGE    fridge or freezer warms steadily\n"
"    silent:INSTRUMENT    publishes nothing\n"
"    vibration-drift:CENTRIFUGE  vibration rises 0.05 per simulated hour\n"
"    qc-shift:ANALYSER    QC results shifted by +2 SD\n"
"    qc-random:ANALYSER   QC SD multiplied by 2.5\n"
"    lot-change:ANALYSER  new control lot ids\n"
"  One line on stdout per fault when it starts.\n"
"\n"
"--load: C channels PREFIX/load/ins-I/ch-J, J = 0..C-1, I = J mod INSTRUMENTS\n"
"  (default INSTRUMENTS = ceil(C/100)). Message m is sample k = m / C of\n"
"  channel J = m mod C. Its value is\n"
"      value(J, k) = (J mod 10000) + (k mod 1000) / 1000     printed %.3f\n"
"  and, for json ({\"value\":v,\"t\":t}) and senml ([{\"bt\":t,\"v\":v}]),\n"
"      t = BASE + 60 k,  BASE = now rounded down to the minute - 60 ceil(N/C)\n"
"  (printed on stdout; --base overrides; with --duration N is R*S, or a\n"
"  day of minutes with --max). number format: the bare value.\n"
"  --rate R: R messages/s overall (token bucket); --max: as fast as the\n"
"  broker takes them (default). Up to 1000 QoS 1 messages in flight; waits\n"
"  for every PUBACK before it prints\n"
"      labsim: published N messages in S s (R msg/s)\n"
"  --messages defaults to 10 C.\n"
"--expect CHANNEL K: print value(CHANNEL, K).\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

static int parse_long(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* "90", "90s", "10m", "2h", "1d" -> seconds; "-40m" too when `negative`. */
static int parse_time(const char *s, int negative, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || (v < 0 && !negative))
		return -1;
	double unit = 1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		unit = 60, end++;
	else if (*end == 'h')
		unit = 3600, end++;
	else if (*end == 'd')
		unit = 86400, end++;
	if (*end)
		return -1;
	*out = v * unit;
	return 0;
}

static int parse_duration(const char *s, double *out)
{
	return parse_time(s, 0, out);
}

static const struct {
	const char *name;
	enum fault_kind kind;
} fault_names[] = {
	{ "door", FAULT_DOOR },
	{ "compressor", FAULT_COMPRESSOR },
	{ "silent", FAULT_SILENT },
	{ "vibration-drift", FAULT_VIBRATION_DRIFT },
	{ "qc-shift", FAULT_QC_SHIFT },
	{ "qc-random", FAULT_QC_RANDOM },
	{ "lot-change", FAULT_LOT_CHANGE },
};

static int parse_fault(const char *spec, struct fault *f)
{
	char buf[256];
	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return -1;
	char *save = NULL;
	char *kind = strtok_r(buf, ":", &save);
	char *ins = strtok_r(NULL, ":", &save);
	char *at = strtok_r(NULL, ":", &save);
	char *dur = strtok_r(NULL, ":", &save);
	if (!kind || !ins || strtok_r(NULL, ":", &save))
		return -1;
	size_t i;
	for (i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
		if (strcmp(kind, fault_names[i].name) == 0)
			break;
	if (i == sizeof(fault_names) / sizeof(fault_names[0]))
		return -1;
	memset(f, 0, sizeof(*f));
	f->kind = fault_names[i].kind;
	if (snprintf(f->instrument, sizeof(f->instrument), "%s", ins) >= (int)sizeof(f->instrument))
		return -1;
	f->at_s = 0;
	f->duration_s = f->kind == FAULT_DOOR ? 300 : -1;
	if (at && parse_time(at, 1, &f->at_s) == -1)
		return -1;
	if (dur && parse_duration(dur, &f->duration_s) == -1)
		return -1;
	return 0;
}

enum opt_id {
	OPT_PREFIX = 256, OPT_SITE, OPT_QOS, OPT_REPLAY_OUT, OPT_NO_BROKER, OPT_DURATION,
	OPT_LAB, OPT_SPEED, OPT_SEED, OPT_FAULT, OPT_LOAD, OPT_CHANNELS, OPT_INSTRUMENTS,
	OPT_RATE, OPT_MAX, OPT_FORMAT, OPT_MESSAGES, OPT_BASE, OPT_EXPECT, OPT_HELP,
	OPT_PUBLISH, OPT_BACKFILL,
};

static const struct option long_opts[] = {
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "site", required_argument, NULL, OPT_SITE },
	{ "qos", required_argument, NULL, OPT_QOS },
	{ "replay-out", required_argument, NULL, OPT_REPLAY_OUT },
	{ "no-broker", no_argument, NULL, OPT_NO_BROKER },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "lab", no_argument, NULL, OPT_LAB },
	{ "speed", required_argument, NULL, OPT_SPEED },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "fault", required_argument, NULL, OPT_FAULT },
	{ "load", no_argument, NULL, OPT_LOAD },
	{ "channels", required_argument, NULL, OPT_CHANNELS },
	{ "instruments", required_argument, NULL, OPT_INSTRUMENTS },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "max", no_argument, NULL, OPT_MAX },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "messages", required_argument, NULL, OPT_MESSAGES },
	{ "base", required_argument, NULL, OPT_BASE },
	{ "expect", required_argument, NULL, OPT_EXPECT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "publish", required_argument, NULL, OPT_PUBLISH },
	{ "backfill", required_argument, NULL, OPT_BACKFILL },
	{ NULL, 0, NULL, 0 },
};

/* --publish FILE: publish "topic payload" lines (mosquitto_sub -v
 * output, or --replay-out) in file order over one connection, then wait
 * for every acknowledgement. Tests use it to send a scenario to the
 * broker in exactly the order --replay reads it. */
static int publish_run(const struct options *o, const char *path)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long n = 0, bad_lines = 0;
	struct out *out;

	if (!in) {
		fprintf(stderr, "labsim: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if ((out = out_open(o, o->qos < 0 ? 1 : o->qos, 100)) == NULL) {
		if (in != stdin)
			fclose(in);
		return 1;
	}
	while (!labsim_stop && (len = getline(&line, &cap, in)) != -1) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *sp = memchr(line, ' ', (size_t)len);
		if (len == 0 || !sp || sp == line) {
			bad_lines++;
			continue;
		}
		*sp = '\0';
		if (out_publish(out, line, sp + 1, (int)(len - (sp + 1 - line))) == -1)
			bad_lines++;
		n++;
	}
	free(line);
	if (in != stdin)
		fclose(in);
	int rc = out_drain(out, 60);
	out_close(out);
	printf("labsim: published %ld messages (%ld lines refused)\n", n, bad_lines);
	return rc == 0 && bad_lines == 0 ? 0 : 1;
}

static int bad(const char *opt, const char *arg)
{
	fprintf(stderr, "labsim: %s: bad value \"%s\" (labsim --help)\n", opt, arg);
	return 2;
}

int main(int argc, char **argv)
{
	struct options o = {
		.host = "127.0.0.1", .port = 1883, .prefix = "lab", .site = "main", .qos = -1,
		.duration_s = -1, .speed = 1, .rate = 0, .format = FORMAT_NUMBER,
		.messages = -1, .base_t = -1,
	};
	int lab = 0, load = 0, seeded = 0;
	const char *expect_channel = NULL, *publish_file = NULL;
	long long ll;
	int c;

	while ((c = getopt_long(argc, argv, "h:p:", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h': o.host = optarg; break;
		case 'p':
			if (parse_long(optarg, 1, 65535, &ll) == -1)
				return bad("-p", optarg);
			o.port = (int)ll;
			break;
		case OPT_PREFIX: o.prefix = optarg; break;
		case OPT_SITE: o.site = optarg; break;
		case OPT_QOS:
			if (parse_long(optarg, 0, 1, &ll) == -1)
				return bad("--qos", optarg);
			o.qos = (int)ll;
			break;
		case OPT_REPLAY_OUT: o.replay_out = optarg; break;
		case OPT_NO_BROKER: o.no_broker = 1; break;
		case OPT_DURATION:
			if (parse_duration(optarg, &o.duration_s) == -1)
				return bad("--duration", optarg);
			break;
		case OPT_LAB: lab = 1; break;
		case OPT_SPEED:
			if (parse_double(optarg, 1e-3, 1e9, &o.speed) == -1)
				return bad("--speed", optarg);
			break;
		case OPT_BACKFILL:
			if (parse_duration(optarg, &o.backfill_s) == -1 || o.backfill_s > 366 * 86400.0)
				return bad("--backfill", optarg);
			break;
		case OPT_SEED:
			if (parse_long(optarg, 0, INT64_MAX, &ll) == -1)
				return bad("--seed", optarg);
			o.seed = (uint64_t)ll;
			seeded = 1;
			break;
		case OPT_FAULT:
			if (o.nfaults == LABSIM_MAX_FAULTS)
				return bad("--fault", "too many faults");
			if (parse_fault(optarg, &o.faults[o.nfaults]) == -1)
				return bad("--fault", optarg);
			o.nfaults++;
			break;
		case OPT_LOAD: load = 1; break;
		case OPT_CHANNELS:
			if (parse_long(optarg, 1, 100000000, &ll) == -1)
				return bad("--channels", optarg);
			o.channels = (long)ll;
			break;
		case OPT_INSTRUMENTS:
			if (parse_long(optarg, 1, 100000000, &ll) == -1)
				return bad("--instruments", optarg);
			o.instruments = (long)ll;
			break;
		case OPT_RATE:
			if (parse_double(optarg, 1e-6, 1e9, &o.rate) == -1)
				return bad("--rate", optarg);
			break;
		case OPT_MAX: o.rate = 0; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "number") == 0)
				o.format = FORMAT_NUMBER;
			else if (strcmp(optarg, "json") == 0)
				o.format = FORMAT_JSON;
			else if (strcmp(optarg, "senml") == 0)
				o.format = FORMAT_SENML;
			else
				return bad("--format", optarg);
			break;
		case OPT_MESSAGES:
			if (parse_long(optarg, 0, INT64_MAX / 2, &o.messages) == -1)
				return bad("--messages", optarg);
			break;
		case OPT_BASE:
			if (parse_long(optarg, 0, INT64_MAX / 2, &o.base_t) == -1)
				return bad("--base", optarg);
			break;
		case OPT_EXPECT: expect_channel = optarg; break;
		case OPT_PUBLISH: publish_file = optarg; break;
		case OPT_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}

	if (expect_channel) {
		long long k;
		if (parse_long(expect_channel, 0, 100000000, &ll) == -1)
			return bad("--expect CHANNEL", expect_channel);
		if (optind != argc - 1 || parse_long(argv[optind], 0, INT64_MAX / 2, &k) == -1)
			return bad("--expect K", optind < argc ? argv[optind] : "");
		printf("%.3f\n", load_value((long)ll, k));
		return 0;
	}
	if (publish_file) {
		signal(SIGPIPE, SIG_IGN);
		mosquitto_lib_init();
		int prc = publish_run(&o, publish_file);
		mosquitto_lib_cleanup();
		return prc;
	}
	if (optind != argc || lab + load != 1) {
		usage(stderr);
		return 2;
	}
	if (o.no_broker && (!o.replay_out || o.duration_s < 0 || load)) {
		fprintf(stderr, "labsim: --no-broker needs --lab, --replay-out and --duration\n");
		return 2;
	}
	if (o.backfill_s > 0 && (o.speed != 1 || load)) {
		fprintf(stderr, "labsim: --backfill is for --lab in real time (no --speed)\n");
		return 2;
	}
	if (!seeded)
		o.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	mosquitto_lib_init();
	int rc;
	if (lab) {
		if (!seeded)
			fprintf(stderr, "labsim: seed %llu\n", (unsigned long long)o.seed);
		rc = lab_run(&o);
	} else {
		if (o.channels <= 0) {
			fprintf(stderr, "labsim: --load needs --channels\n");
			return 2;
		}
		rc = load_run(&o);
	}
	mosquitto_lib_cleanup();
	return rc;
}
