/*
 * fleet.h: several labqcd on one broker, each owning a slice of the lab
 * (issue 21). Pure parts (fleet.c: no I/O, no clock): whether two MQTT
 * topic filters overlap, the slice announcement and the status summary
 * in their JSON forms, the overlap check of a start. The running part
 * (fleet_link.c: its own MQTT connection, the peers' table, what the
 * dashboard and `labqcctl status --fleet` show) is declared below too.
 *
 * Topics, under fleet.peers_topic (P):
 *   P/<name>         the slice, retained: {"name", "state", "filters",
 *                    "client_id", "host", "url", "started", "at"}; state
 *                    "up" (announced at start and reload), "down" (a clean
 *                    stop, or the broker's last will when the instance died
 *                    or lost the broker), "handed-over" (labqcctl handover:
 *                    the slice went to another instance; not live)
 *   P/<name>/status  the status summary, retained (fleet_summary)
 */
#ifndef LABQCD_FLEET_H
#define LABQCD_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cJSON.h>

#include "collectors/collectors.h" /* ID_MAX */

#define FLEET_PEERS_MAX 256        /* peers kept; more are refused and logged */
#define FLEET_PAYLOAD_MAX 65536    /* larger announcements or summaries are refused */
#define FLEET_FILTERS_MAX 64       /* filters in one announcement */
#define FLEET_FILTER_MAX 256       /* bytes of one filter, with its NUL */
#define FLEET_TEXT_MAX 256         /* client_id, host, url */
#define FLEET_LISTED_MAX 64        /* instruments named in a summary (the rest counted) */
#define FLEET_SITES_MAX 64         /* sites named in a summary */

enum fleet_state { FLEET_UP = 0, FLEET_DOWN, FLEET_HANDED_OVER };

/* One instance's slice as announced. */
struct fleet_slice {
	char name[ID_MAX];
	enum fleet_state state;
	char client_id[FLEET_TEXT_MAX];
	char host[FLEET_TEXT_MAX];
	char url[FLEET_TEXT_MAX]; /* "" = none; shown as a link only when http(s) */
	char filters[FLEET_FILTERS_MAX][FLEET_FILTER_MAX];
	size_t n_filters;
	double started; /* epoch seconds; 0 = not said */
	double at;      /* when the state was announced; 0 = not said (a last will) */
};

/* One instance's status, as the index page and `labqcctl status` have it. */
struct fleet_summary {
	double at; /* when it was made */
	unsigned n_instruments;
	unsigned by_status[5]; /* enum dash_status: ok, warning, alarm, stale, maintenance */
	struct {
		char site[ID_MAX], name[ID_MAX];
		char status[16];
	} listed[FLEET_LISTED_MAX];
	size_t n_listed;
	char sites[FLEET_SITES_MAX][ID_MAX];
	size_t n_sites;
	unsigned alerts_critical, alerts_warning, alerts_info; /* firing */
	unsigned qc_accepted, qc_rejected;                     /* runs today */
	unsigned dues_soon, dues_overdue;                      /* within 14 days / past */
};

const char *fleet_state_name(enum fleet_state s); /* "up", "down", "handed-over" */
/* -1 for anything else. */
int fleet_state_parse(const char *s);

/* True when some topic matches both MQTT filters a and b ('+' one level,
 * '#' the rest including the parent; a filter beginning with a wildcard
 * matches no topic beginning with '$'). */
bool fleet_filters_overlap(const char *a, const char *b);
/* True when every topic that matches `inner` matches `outer`. */
bool fleet_filter_covers(const char *outer, const char *inner);

/* The announcement's JSON (the caller frees it with free()), or NULL. */
char *fleet_slice_json(const struct fleet_slice *s);
/* Parse an announcement from `topic_name` (the last level of its topic,
 * which must be the name it carries). Anything not of the form, oversized,
 * a name that is no identifier, control characters: -1 with err. */
int fleet_slice_parse(const char *buf, size_t len, const char *topic_name, struct fleet_slice *out,
                      char *err, size_t errlen);

/* Why `self` may not start beside `peer`: 1 with the reason in why (the
 * other's name and the overlapping filters), 0 when it may (the peer is
 * not up, or is this very instance: same name, client_id and host). */
int fleet_conflict(const struct fleet_slice *self, const struct fleet_slice *peer, char *why,
                   size_t len);

/* The summary's JSON, and back. */
char *fleet_summary_json(const struct fleet_summary *s);
int fleet_summary_parse(const char *buf, size_t len, struct fleet_summary *out, char *err,
                        size_t errlen);
/* Count a listed instrument into s (site list and counts kept bounded). */
void fleet_summary_add(struct fleet_summary *s, const char *site, const char *name,
                       int dash_status);

/* ---- fleet_link.c: the running part ---- */

struct fleet;
struct config;
struct dash_snapshot;

/* The fleet connection of cfg (NULL when cfg has no fleet: section, or
 * on error: *failed then true, logged). Connects at fleet_check. */
struct fleet *fleet_open(const struct config *cfg, bool *failed);
/* Before any input is taken: read the retained announcements under
 * P/+ (until a marker published after subscribing comes back, at most
 * timeout_s), refuse when another live instance's slice overlaps (-1,
 * the reason in err), then announce "up" and log the instruments no
 * slice covers. A broker not reached in time: a warning, 0. */
int fleet_check(struct fleet *f, const struct config *cfg, double timeout_s, char *err,
                size_t errlen);
/* The poll loop's part, as mqtt.h's. */
int fleet_fd(struct fleet *f);
bool fleet_want_write(struct fleet *f);
void fleet_io(struct fleet *f, bool readable, bool writable, double now_mono);
double fleet_next_deadline(struct fleet *f, double now_mono);
/* Reload: announce again (the url may change) and log instruments no
 * slice covers that were not logged yet. */
void fleet_reload(struct fleet *f, const struct config *cfg);
/* The status summary from a snapshot of this instance: published when
 * it changed, or when the last one is a minute old. */
void fleet_publish_status(struct fleet *f, const struct dash_snapshot *s);
/* Every instance (this one first) into a snapshot for the index page. */
void fleet_snapshot(struct fleet *f, struct dash_snapshot *s);
/* Announce this instance's state now (retained): FLEET_HANDED_OVER when
 * its slice went to another instance (labqcctl handover). A state other
 * than up is kept: fleet_close then publishes no "down" over it. */
void fleet_announce_state(struct fleet *f, enum fleet_state st);
/* `labqcctl status --fleet`: JSON fields and text. */
void fleet_report(struct fleet *f, cJSON *obj, FILE *text, double now);
/* A clean stop: "down" retained, acknowledged by the broker (at most a
 * few seconds), then disconnect and free. NULL ok. */
void fleet_close(struct fleet *f);

#endif
