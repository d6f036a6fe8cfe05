/*
 * count_sub: a bare libmosquitto subscriber that only counts messages,
 * the physical limit the benchmarks compare labqcd against.
 *
 *   count_sub [-h HOST] [-p PORT] [-t FILTER] [-q 0|1] [-n N] [-i IDLE_S] [-c CLIENT_ID]
 *
 * Subscribes to FILTER (default lab/#) and exits after N messages (0: no
 * limit) or IDLE_S seconds without a message (default 5; counted from
 * the start until the first message arrives), printing
 *   count_sub: N messages in S s (R msg/s)
 * with S from the first message to the last. "count_sub: subscribed" goes
 * to stderr once the broker granted the subscription. Exit 1 when fewer
 * than N messages came.
 *
 * Threads: libmosquitto's network thread (mosquitto_loop_start) counts in
 * the message callback; the main thread polls the counters (atomics).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

static volatile sig_atomic_t want_stop;
static atomic_ullong received;
static atomic_llong first_ns, last_ns;
static atomic_int subscribed;

static void on_signal(int sig)
{
	(void)sig;
	want_stop = 1;
}

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct sub {
	const char *filter;
	int qos;
};

static void on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	const struct sub *s = arg;
	if (rc != 0) {
		fprintf(stderr, "count_sub: connection refused: %s\n", mosquitto_connack_string(rc));
		want_stop = 1;
		return;
	}
	if (mosquitto_subscribe(mosq, NULL, s->filter, s->qos) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "count_sub: subscribe failed\n");
		want_stop = 1;
	}
}

static void on_subscribe(struct mosquitto *mosq, void *arg, int mid, int n, const int *granted)
{
	(void)mosq;
	(void)arg;
	(void)mid;
	if (n < 1 || granted[0] > 2) {
		fprintf(stderr, "count_sub: subscription refused\n");
		want_stop = 1;
		return;
	}
	if (!atomic_exchange(&subscribed, 1)) {
		fprintf(stderr, "count_sub: subscribed\n");
		fflush(stderr);
	}
}

static void on_message(struct mosquitto *mosq, void *arg, const struct mosquitto_message *msg)
{
	(void)mosq;
	(void)arg;
	(void)msg;
	long long now = mono_ns();
	if (atomic_fetch_add_explicit(&received, 1, memory_order_relaxed) == 0)
		atomic_store(&first_ns, now);
	atomic_store_explicit(&last_ns, now, memory_order_relaxed);
}

static int number(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: count_sub [-h HOST] [-p PORT] [-t FILTER] [-q 0|1] [-n N] "
	    "[-i IDLE_S] [-c CLIENT_ID]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	char default_id[64];
	snprintf(default_id, sizeof(default_id), "count_sub-%ld", (long)getpid());
	const char *client_id = default_id;
	struct sub s = { .filter = "lab/#", .qos = 0 };
	long long port = 1883, limit = 0, idle_s = 5, v;
	int c;

	while ((c = getopt(argc, argv, "h:p:t:q:n:i:c:")) != -1) {
		switch (c) {
		case 'h': host = optarg; break;
		case 't': s.filter = optarg; break;
		case 'c': client_id = optarg; break;
		case 'p': if (number(optarg, 1, 65535, &port) == -1) return usage(); break;
		case 'q': if (number(optarg, 0, 2, &v) == -1) return usage(); s.qos = (int)v; break;
		case 'n': if (number(optarg, 0, 1LL << 62, &limit) == -1) return usage(); break;
		case 'i': if (number(optarg, 1, 86400, &idle_s) == -1) return usage(); break;
		default: return usage();
		}
	}
	if (optind != argc)
		return usage();

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	mosquitto_lib_init();
	struct mosquitto *mosq = mosquitto_new(client_id, true, &s);
	if (!mosq) {
		fprintf(stderr, "count_sub: mosquitto_new: %s\n", strerror(errno));
		return 1;
	}
	mosquitto_connect_callback_set(mosq, on_connect);
	mosquitto_subscribe_callback_set(mosq, on_subscribe);
	mosquitto_message_callback_set(mosq, on_message);
	int rc = mosquitto_connect(mosq, host, (int)port, 30);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "count_sub: cannot connect to %s:%lld: %s\n", host, port,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		return 1;
	}
	if (mosquitto_loop_start(mosq) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "count_sub: mosquitto_loop_start failed\n");
		return 1;
	}

	long long idle_ns = idle_s * 1000000000LL;
	long long quiet_since = mono_ns();
	unsigned long long seen = 0;
	while (!want_stop) {
		struct timespec pause = { 0, 10 * 1000000L };
		nanosleep(&pause, NULL);
		unsigned long long n = atomic_load(&received);
		long long now = mono_ns();
		if (n != seen) {
			seen = n;
			quiet_since = now;
		}
		if (limit > 0 && n >= (unsigned long long)limit)
			break;
		if (now - quiet_since >= idle_ns)
			break;
	}
	mosquitto_disconnect(mosq);
	mosquitto_loop_stop(mosq, false);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();

	unsigned long long n = atomic_load(&received);
	double span = n ? (double)(atomic_load(&last_ns) - atomic_load(&first_ns)) / 1e9 : 0;
	printf("count_sub: %llu messages in %.3f s (%.0f msg/s)\n", n, span,
	    span > 0 ? (double)n / span : 0.0);
	return limit > 0 && n < (unsigned long long)limit ? 1 : 0;
}
