/*
 * mqtt.c: libmosquitto client driven by the daemon's poll loop; see mqtt.h.
 *
 * Single-threaded: no mosquitto_loop_start(). Connection states are
 * "down" (waiting for the backoff deadline), "up" (socket polled). A
 * failed connect or a lost connection doubles the backoff (1 s .. 60 s),
 * but for the first minutes of an outage it stays at most 4 s, so a
 * broker that restarts is back in use within 5 s; a successful CONNACK
 * resets it. Failures are logged through complain()
 * so a broker down for a night gives a handful of lines, not thousands.
 *
 * Healthy means connected (CONNACK accepted) and every filter of
 * `subscribe` granted in the SUBACK. All filters go in one SUBSCRIBE, so
 * one SUBACK tells; a refused filter (0x80, e.g. the broker's ACL) is
 * asked for again every RESUBSCRIBE_S while connected. `blind_since` is
 * when the client last stopped being healthy (or its first mqtt_io), for
 * the daemon's broker alert (daemon/blind.c); `failed` says a failure was
 * seen in this episode (a start that is still connecting has seen none).
 */
#include "collectors/mqtt.h"
#include "daemon/clock.h"
#include "daemon/log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mosquitto.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_MIN_S 1.0
#define BACKOFF_MAX_S 60.0
#define BACKOFF_EARLY_MAX_S 4.0   /* cap while the outage is young ... */
#define BACKOFF_EARLY_FOR_S 300.0 /* ... that is, this long */
#define READ_BURST 4096 /* packets read before returning to poll */
#define RESUBSCRIBE_S 30.0 /* a refused subscription is asked for again */

struct mqtt {
	struct mosquitto *mosq;
	struct mqtt_opts o; /* strings below are owned copies */
	char **subs;
	message_cb cb;
	void *ctx;
	bool up;              /* TCP connected (CONNACK may be pending) */
	bool ever_connected;
	bool stopped;         /* mqtt_disconnect ran: never connect again */
	double retry_at;      /* monotonic seconds */
	double backoff_s;
	double down_since;    /* monotonic start of the outage; 0 while connected */
	double last_misc;
	struct mqtt_stats stats;
	struct complaint conn_complaint;
	int sub_mid;          /* SUBSCRIBE awaiting its SUBACK; 0 = none */
	bool subscribed;      /* every filter granted on this connection */
	bool failed;          /* a failure seen since healthy (or start) */
	bool resubscribe;     /* refused: ask again at resub_at */
	double resub_at;
	double blind_since;   /* monotonic; 0 while healthy */
	char problem[256];    /* the last failure, for the alert's summary */
	unsigned unacked;     /* publishes not yet written (QoS 0) or acknowledged (mqtt_flush) */
};



/* A failure: remembered for the broker alert's summary. */
static void note_failure(struct mqtt *m, const char *fmt, ...) LOG_FMT(2, 3);
static void note_failure(struct mqtt *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->problem, sizeof(m->problem), fmt, ap);
	va_end(ap);
	m->failed = true;
}

static void subscribe_all(struct mqtt *m)
{
	int r;

	m->resubscribe = false;
	if (m->o.n_subscribe == 0) {
		m->subscribed = true;
		return;
	}
	r = mosquitto_subscribe_multiple(m->mosq, &m->sub_mid, (int)m->o.n_subscribe, m->subs,
					 m->o.qos, 0, NULL);
	if (r != MOSQ_ERR_SUCCESS) {
		log_warnx("mqtt: subscribe: %s", mosquitto_strerror(r));
		note_failure(m, "subscribing failed: %s", mosquitto_strerror(r));
		m->sub_mid = 0;
		m->resubscribe = true;
		m->resub_at = 0; /* set from the caller's clock at the end of mqtt_io */
	}
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
			 const int *granted_qos)
{
	struct mqtt *m = obj;
	int refused = 0;

	(void)mosq;
	if (mid != m->sub_mid)
		return;
	m->sub_mid = 0;
	for (int i = 0; i < qos_count; i++) {
		if (granted_qos[i] >= 0 && granted_qos[i] <= 2)
			continue;
		if (refused++ == 0)
			note_failure(m, "the broker refused the subscription to %s",
				     i < (int)m->o.n_subscribe ? m->o.subscribe[i] : "?");
		complain(&m->conn_complaint, "mqtt: %s:%d refused the subscription to %s",
			 m->o.host, m->o.port, i < (int)m->o.n_subscribe ? m->o.subscribe[i] : "?");
	}
	if (refused == 0 && qos_count == (int)m->o.n_subscribe) {
		m->subscribed = true;
		if (m->conn_complaint.last) /* refused before, on this connection */
			complain_release(&m->conn_complaint, "mqtt: subscribed to %zu topic filters",
					 m->o.n_subscribe);
		else if (m->failed)
			log_info("mqtt: subscribed to %zu topic filters", m->o.n_subscribe);
		return;
	}
	m->subscribed = false;
	m->resubscribe = true;
	m->resub_at = 0; /* set from the caller's clock at the end of mqtt_io */
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct mqtt *m = obj;
	struct message out;

	(void)mosq;
	out.topic = msg->topic;
	out.topic_len = strlen(msg->topic);
	out.payload = msg->payload ? msg->payload : "";
	out.payload_len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	out.arrival = wall_clock();
	out.qos = msg->qos;
	m->stats.messages++;
	m->cb(m->ctx, &out);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct mqtt *m = obj;

	(void)mosq, (void)mid;
	if (m->unacked > 0)
		m->unacked--;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt *m = obj;

	if (rc != 0) {
		complain(&m->conn_complaint, "mqtt: %s:%d refused the connection: %s", m->o.host,
			 m->o.port, mosquitto_connack_string(rc));
		note_failure(m, "%s:%d refused the connection: %s", m->o.host, m->o.port,
			     mosquitto_connack_string(rc));
		return;
	}
	m->stats.connected = true;
	m->stats.connects++;
	m->backoff_s = BACKOFF_MIN_S;
	m->down_since = 0;
	if (m->conn_complaint.last)
		complain_release(&m->conn_complaint, "mqtt: connected to %s:%d again", m->o.host,
				 m->o.port);
	else
		log_info("mqtt: connected to %s:%d as %s", m->o.host, m->o.port, m->o.client_id);
	(void)mosq;
	m->subscribed = false;
	subscribe_all(m);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt *m = obj;

	(void)mosq;
	if (m->stats.connected) {
		m->stats.disconnects++;
		if (rc != 0)
			complain(&m->conn_complaint, "mqtt: connection to %s:%d lost", m->o.host,
				 m->o.port);
	}
	if (rc != 0)
		note_failure(m, "connection to %s:%d lost", m->o.host, m->o.port);
	m->stats.connected = false;
	m->subscribed = false;
	m->sub_mid = 0;
	m->unacked = 0; /* a new session: nothing left to wait for */
}

struct mqtt *mqtt_new(const struct mqtt_opts *o, message_cb cb, void *ctx)
{
	struct mqtt *m = calloc(1, sizeof(*m));
	int rc;

	if (m == NULL)
		return NULL;
	mosquitto_lib_init();
	m->o = *o;
	/* Own copies: the config they came from is freed on reload. */
	m->o.host = strdup(o->host);
	m->o.client_id = strdup(o->client_id);
	m->o.subscribe = m->subs = calloc(o->n_subscribe ? o->n_subscribe : 1, sizeof(char *));
	if (m->o.host == NULL || m->o.client_id == NULL || m->subs == NULL)
		goto fail_alloc;
	for (size_t i = 0; i < o->n_subscribe; i++)
		if ((m->subs[i] = strdup(o->subscribe[i])) == NULL)
			goto fail_alloc;
	m->o.username = m->o.password = m->o.ca_file = m->o.cert_file = m->o.key_file = NULL;
	m->cb = cb;
	m->ctx = ctx;
	m->backoff_s = BACKOFF_MIN_S;
	m->mosq = mosquitto_new(o->client_id, o->clean_session, m);
	if (m->mosq == NULL) {
		log_warn("mqtt: mosquitto_new");
		goto fail_alloc;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
	mosquitto_message_callback_set(m->mosq, on_message);
	mosquitto_publish_callback_set(m->mosq, on_publish);
	if (o->will_topic != NULL) {
		const char *wp = o->will_payload ? o->will_payload : "";
		rc = mosquitto_will_set(m->mosq, o->will_topic, (int)strlen(wp), wp, 1, true);
		if (rc != MOSQ_ERR_SUCCESS)
			goto fail;
	}
	m->o.will_topic = m->o.will_payload = NULL; /* libmosquitto keeps its copy */
	if (o->username && o->username[0]) {
		rc = mosquitto_username_pw_set(m->mosq, o->username, o->password);
		if (rc != MOSQ_ERR_SUCCESS)
			goto fail;
	}
	if (o->tls) {
		rc = mosquitto_tls_set(m->mosq, o->ca_file && o->ca_file[0] ? o->ca_file : NULL,
				       o->ca_file && o->ca_file[0] ? NULL : "/etc/ssl/certs",
				       o->cert_file && o->cert_file[0] ? o->cert_file : NULL,
				       o->key_file && o->key_file[0] ? o->key_file : NULL, NULL);
		if (rc != MOSQ_ERR_SUCCESS)
			goto fail;
		/* Verification stays on (mosquitto's default): a broker whose
		 * certificate does not match is refused. */
	}
	return m;
fail:
	log_warnx("mqtt: setup: %s", mosquitto_strerror(rc));
fail_alloc:
	mqtt_free(m);
	return NULL;
}

int mqtt_fd(struct mqtt *m)
{
	return m->up ? mosquitto_socket(m->mosq) : -1;
}

bool mqtt_want_write(struct mqtt *m)
{
	return m->up && mosquitto_want_write(m->mosq);
}

static void schedule_retry(struct mqtt *m, double now)
{
	m->up = false;
	m->stats.connected = false;
	m->subscribed = false;
	m->sub_mid = 0;
	if (m->down_since == 0)
		m->down_since = now;
	m->retry_at = now + m->backoff_s;
	m->backoff_s = fmin(m->backoff_s * 2, now - m->down_since < BACKOFF_EARLY_FOR_S
						      ? BACKOFF_EARLY_MAX_S
						      : BACKOFF_MAX_S);
}

static void try_connect(struct mqtt *m, double now)
{
	int rc;

	if (!m->ever_connected)
		rc = mosquitto_connect(m->mosq, m->o.host, m->o.port, m->o.keepalive_s);
	else
		rc = mosquitto_reconnect(m->mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		const char *why = rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
		complain(&m->conn_complaint, "mqtt: cannot connect to %s:%d: %s (retrying)",
			 m->o.host, m->o.port, why);
		note_failure(m, "cannot connect to %s:%d: %s", m->o.host, m->o.port, why);
		schedule_retry(m, now);
		return;
	}
	m->ever_connected = true;
	m->up = true;
	m->last_misc = now;
}

/* After every mqtt_io: when the blindness began, and the retry of a
 * refused subscription (the callbacks have no clock). */
static void update_health(struct mqtt *m, double now)
{
	if (mqtt_healthy(m)) {
		m->blind_since = 0;
		m->failed = false;
		return;
	}
	if (m->blind_since == 0)
		m->blind_since = now;
	if (m->resubscribe && m->stats.connected) {
		if (m->resub_at == 0)
			m->resub_at = now + RESUBSCRIBE_S;
		else if (now >= m->resub_at && m->sub_mid == 0)
			subscribe_all(m);
	}
}

static int io(struct mqtt *m, bool readable, bool writable, double now);

int mqtt_io(struct mqtt *m, bool readable, bool writable, double now)
{
	int n = io(m, readable, writable, now);

	update_health(m, now);
	return n;
}

static int io(struct mqtt *m, bool readable, bool writable, double now)
{
	uint64_t before = m->stats.messages;
	int rc = MOSQ_ERR_SUCCESS;

	if (m->stopped)
		return 0;
	if (!m->up) {
		if (now >= m->retry_at)
			try_connect(m, now);
		if (!m->up)
			return 0;
	}
	if (readable) {
		for (int i = 0; i < READ_BURST; i++) {
			errno = 0;
			rc = mosquitto_loop_read(m->mosq, 1);
			/* libmosquitto reads one packet a call and leaves errno
			 * EAGAIN once the socket is drained. */
			if (rc != MOSQ_ERR_SUCCESS || errno == EAGAIN || errno == EWOULDBLOCK)
				break;
		}
	}
	if (rc == MOSQ_ERR_SUCCESS && (writable || mosquitto_want_write(m->mosq)))
		rc = mosquitto_loop_write(m->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && now - m->last_misc >= 1.0) {
		rc = mosquitto_loop_misc(m->mosq);
		m->last_misc = now;
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		if (m->stats.connected || m->up)
			complain(&m->conn_complaint, "mqtt: connection to %s:%d lost: %s",
				 m->o.host, m->o.port,
				 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		if (m->stats.connected)
			m->stats.disconnects++;
		note_failure(m, "connection to %s:%d lost: %s", m->o.host, m->o.port,
			     rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		schedule_retry(m, now);
	}
	return (int)(m->stats.messages - before);
}

bool mqtt_healthy(const struct mqtt *m)
{
	return m->up && m->stats.connected && m->subscribed;
}

double mqtt_blind_since(const struct mqtt *m)
{
	return m->blind_since;
}

bool mqtt_failed(const struct mqtt *m, char *why, size_t len)
{
	if (why && len)
		snprintf(why, len, "%s", m->problem[0] ? m->problem : "not connected yet");
	return m->failed;
}

double mqtt_next_deadline(struct mqtt *m, double now)
{
	if (!m->up)
		return m->retry_at > now ? m->retry_at - now : 0;
	return 1.0; /* keepalive bookkeeping once a second */
}

int mqtt_publish(struct mqtt *m, const char *topic, const char *payload)
{
	return mqtt_send(m, topic, payload, 0, false);
}

int mqtt_publish_retained(struct mqtt *m, const char *topic, const char *payload)
{
	return mqtt_send(m, topic, payload, 1, true);
}

int mqtt_send(struct mqtt *m, const char *topic, const char *payload, int qos, bool retain)
{
	if (!m->stats.connected)
		return -1;
	int rc = mosquitto_publish(m->mosq, NULL, topic, (int)strlen(payload), payload, qos, retain);
	if (rc != MOSQ_ERR_SUCCESS)
		return -1;
	m->unacked++; /* on_publish comes for every QoS: 0 once written */
	return 0;
}

int mqtt_flush(struct mqtt *m, double timeout_s)
{
	double until = mono_clock() + timeout_s;

	/* Bounded: the deadline ends it whatever the broker does. */
	while (m->unacked > 0 && m->stats.connected && mono_clock() < until) {
		int rc = mosquitto_loop(m->mosq, 100, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			return -1;
	}
	return m->unacked == 0 && m->stats.connected ? 0 : -1;
}

void mqtt_get_stats(const struct mqtt *m, struct mqtt_stats *out)
{
	*out = m->stats;
}

/* Write what libmosquitto has queued (the PUBACKs of messages taken,
 * then the DISCONNECT) until the deadline; reads nothing. -1 when it
 * could not all go out. */
static int flush_out(struct mqtt *m, double deadline)
{
	int fd;

	while ((fd = mosquitto_socket(m->mosq)) != -1 && mosquitto_want_write(m->mosq)) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		double left = deadline - mono_clock();

		if (left <= 0 || (poll(&p, 1, (int)ceil(left * 1000)) == -1 && errno != EINTR))
			return -1;
		if (mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS)
			return -1;
	}
	return 0;
}

int mqtt_disconnect(struct mqtt *m, double timeout_s, size_t *unread)
{
	double deadline = mono_clock() + timeout_s;
	int fd, keep, rc = 0;
	char buf[4096];

	*unread = 0;
	m->stopped = true;
	if (!m->up || (fd = mosquitto_socket(m->mosq)) == -1) {
		m->up = false;
		return 0;
	}
	if (flush_out(m, deadline) == -1)
		rc = -1;
	/* libmosquitto closes its socket as soon as the DISCONNECT is
	 * written. A close with unread data (PUBLISHes the broker sent
	 * meanwhile) makes the kernel answer RST, which can throw away the
	 * PUBACKs and the DISCONNECT still in the send queue: the broker
	 * would then send messages already taken to the successor again. A
	 * second descriptor keeps the socket open until the broker has
	 * closed its side (it has read everything before the DISCONNECT);
	 * what arrives meanwhile is discarded here and, never acknowledged,
	 * stays queued in the session. */
	keep = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	mosquitto_disconnect(m->mosq);
	if (flush_out(m, deadline) == -1 || mosquitto_socket(m->mosq) != -1)
		rc = -1;
	while (keep != -1) {
		struct pollfd p = {.fd = keep, .events = POLLIN};
		double left = deadline - mono_clock();
		ssize_t k;

		if (left <= 0) {
			rc = -1;
			break;
		}
		if (poll(&p, 1, (int)ceil(left * 1000)) == -1 && errno != EINTR) {
			rc = -1;
			break;
		}
		k = recv(keep, buf, sizeof(buf), MSG_DONTWAIT);
		if (k > 0) {
			*unread += (size_t)k;
		} else if (k == 0) {
			break; /* the broker closed: everything before was read */
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			rc = -1;
			break;
		}
	}
	if (keep != -1)
		close(keep);
	else
		rc = -1;
	m->up = false;
	m->stats.connected = false;
	m->subscribed = false;
	m->sub_mid = 0;
	return rc;
}

void mqtt_free(struct mqtt *m)
{
	size_t unread;

	if (m == NULL)
		return;
	if (m->mosq) {
		/* A clean stop leaves the session as a hand-over does. */
		if (m->up && mqtt_disconnect(m, 5.0, &unread) == -1)
			log_warnx("mqtt: the broker did not confirm the disconnect; messages "
				  "taken last may be delivered again after the restart");
		mosquitto_destroy(m->mosq);
	}
	mosquitto_lib_cleanup();
	for (size_t i = 0; m->subs && i < m->o.n_subscribe; i++)
		free(m->subs[i]);
	free(m->subs);
	free((char *)m->o.host);
	free((char *)m->o.client_id);
	free(m);
}
