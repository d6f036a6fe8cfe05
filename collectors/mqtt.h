/*
 * mqtt.h: the MQTT subscription (libmosquitto), driven by the daemon's
 * own poll loop: the daemon polls mqtt_fd() and calls mqtt_io(); this
 * module reconnects with capped exponential backoff (1 s doubling to
 * 60 s) and re-subscribes on every connect. Messages go to the callback
 * from inside mqtt_io(), on the caller's thread. For QoS 1 libmosquitto
 * has already sent the PUBACK when the callback runs, so the callback's
 * first act must be to journal the message.
 */
#ifndef LABQCD_MQTT_H
#define LABQCD_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/collectors.h"

struct mqtt_opts {
	const char *host;
	int port;
	bool tls;
	const char *client_id;
	const char *username; /* NULL or "" = none */
	const char *password; /* read from password_file by the daemon */
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	int qos;
	bool clean_session;
	int keepalive_s;
	char *const *subscribe;
	size_t n_subscribe;
	/* The last will, published by the broker (QoS 1, retained) when the
	 * connection ends without a DISCONNECT (a kill -9, a lost link).
	 * NULL topic = none. Copied by mqtt_new. */
	const char *will_topic;
	const char *will_payload;
};

struct mqtt_stats {
	uint64_t messages;
	uint64_t connects;
	uint64_t disconnects;
	bool connected;
};

struct mqtt;

/* Create the client; does not connect yet. NULL on error (logged). */
struct mqtt *mqtt_new(const struct mqtt_opts *o, message_cb cb, void *ctx);

/* Socket to poll (-1 while disconnected), and whether to poll for write. */
int mqtt_fd(struct mqtt *m);
bool mqtt_want_write(struct mqtt *m);

/*
 * Do I/O: read when `readable`, write when `writable`, keepalive, and
 * (re)connect when the backoff deadline `now_mono` has passed. Returns
 * the number of messages delivered to the callback. `batch_done` (may be
 * NULL) is called after each burst of reads, before returning to poll.
 */
int mqtt_io(struct mqtt *m, bool readable, bool writable, double now_mono);

/* Seconds (monotonic) until mqtt_io must be called even without I/O. */
double mqtt_next_deadline(struct mqtt *m, double now_mono);

/* Publish (labqcd's own health telemetry); QoS 0, not retained. */
int mqtt_publish(struct mqtt *m, const char *topic, const char *payload);
/* The same, QoS 1 and retained (a value a late subscriber must see). */
int mqtt_publish_retained(struct mqtt *m, const char *topic, const char *payload);

/* Any QoS and retain flag (the fleet's announcements and marker). */
int mqtt_send(struct mqtt *m, const char *topic, const char *payload, int qos, bool retain);
/* Before a clean stop: wait (at most timeout_s) until the broker has
 * acknowledged every QoS 1 or 2 message sent on this connection (and
 * written every QoS 0 one). 0 when
 * it has, -1 otherwise (not connected, timeout). */
int mqtt_flush(struct mqtt *m, double timeout_s);

void mqtt_get_stats(const struct mqtt *m, struct mqtt_stats *out);

/* Connected and every topic filter granted (SUBACK): labqcd can see. */
bool mqtt_healthy(const struct mqtt *m);
/* Monotonic time since which it has not been healthy (its first
 * mqtt_io at start); 0 while healthy. */
double mqtt_blind_since(const struct mqtt *m);
/* Whether a failure (connect refused or failed, connection lost,
 * subscription refused) was seen since it was last healthy, and the last
 * one's text into why (may be NULL). A start still connecting has none. */
bool mqtt_failed(const struct mqtt *m, char *why, size_t len);

/*
 * Stop taking messages and disconnect, keeping the persistent session
 * (clean_session false: the broker goes on queueing QoS 1 and 2 messages
 * for this client_id). Nothing more is read: what libmosquitto has
 * queued to send (the PUBACKs of every message already handed to the
 * callback) is written, then a DISCONNECT (so no last will is sent), and
 * the socket is held open until the broker closes it, so the broker has
 * seen every PUBACK before the connection ends. Messages the broker sent
 * but labqcd had not taken are discarded unacknowledged (*unread bytes
 * of them); the broker delivers them again to the next connection with
 * this client_id. Never connects again afterwards. 0, or -1 when not all
 * of it was confirmed within timeout_s (the session is still kept; some
 * messages taken last may then be delivered again, and are refused as
 * duplicates by their timestamps).
 */
int mqtt_disconnect(struct mqtt *m, double timeout_s, size_t *unread);

/* mqtt_disconnect (5 s at most) when connected, then free. */
void mqtt_free(struct mqtt *m);

#endif
