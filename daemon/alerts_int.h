/*
 * alerts_int.h: the alert engine's insides, shared by alerts.c (states,
 * timers), alerts_state.c (alerts.json), routes.c (routing, groups into
 * notifications) and alerts_told.c (string sets, who was told what).
 * Nothing outside those files includes it.
 */
#ifndef LABQCD_ALERTS_INT_H
#define LABQCD_ALERTS_INT_H

#include <uthash.h>

#include "daemon/alerts.h"
#include "daemon/log.h"

struct strset {
	char **v;
	size_t n;
};

/* alerts_told.c */
struct alert;
bool strset_has(const struct strset *s, const char *v);
int strset_add(struct strset *s, const char *v); /* no duplicates; 0 or -1 */
void strset_free(struct strset *s);
/* A firing notification of al left for rcv with severity sev; 0 or -1. */
int alerts_told(struct alert *al, const char *rcv, enum severity sev);
/* Whether rcv was told of al's firing (and not yet of its end); *sev: as what. */
bool alerts_was_told(const struct alert *al, const char *rcv, enum severity *sev);
/* A resolved notification of al left for rcv: it has heard the end. */
void alerts_untold(struct alert *al, const char *rcv);

struct esc_step {
	double at; /* absolute once the alert fired; relative (after_s) in a route_result */
	bool done;
	struct strset receivers;
};

struct alert {
	char key[ALERT_KEY_MAX];
	enum alert_kind kind;
	char site[CFG_NAME_MAX];
	char instrument[CFG_NAME_MAX];
	char channel[CFG_NAME_MAX];
	char rule[CFG_NAME_MAX];
	enum alert_state state; /* pending | firing | resolved */
	enum severity severity;
	double value;
	char summary[COND_SUMMARY_MAX];
	char chart[CFG_PATH_MAX];
	double since, ended;
	bool acked;
	char ack_by[CFG_TEXT_MAX];
	char ack_comment[CFG_TEXT_MAX];
	double ack_t;
	bool suppressed;         /* fired while silenced: nobody told yet */
	/* Receivers a firing notification of this alert was spooled for, and
	 * not yet a resolved one, with the severity each was told (as
	 * Alertmanager's notification log): a resolution goes to exactly
	 * them, each with its own severity. told_sev[i] goes with notified.v[i]. */
	struct strset notified;
	enum severity *told_sev;
	double group_wait_s;     /* of the routes it fired on */
	double repeat_s;         /* 0 = no repeats */
	double next_repeat;      /* 0 = none */
	struct esc_step *esc;
	size_t n_esc;
	UT_hash_handle hh;
};

/* Alerts waiting for one receiver; reason: new | repeat | escalation | resolved. */
struct group {
	char receiver[CFG_NAME_MAX];
	char reason[16];
	double due;
	bool email_done, webhook_done; /* spooled already (a partial flush) */
	struct strset keys;
};

struct silence {
	char match[ALERT_KEY_MAX];
	char by[CFG_TEXT_MAX];
	double until;
};

struct alerts {
	const struct config *cfg;
	struct spool *spool;
	alerts_localtime_fn localtime;
	void *localtime_arg;
	char path[CFG_PATH_MAX + 16];
	char external_url[CFG_PATH_MAX];
	const struct audit *audit; /* borrowed: the anchor for notifications */
	bool dirty;

	struct alert *alerts; /* uthash by key */
	struct group *groups;
	size_t n_groups;
	struct silence *silences;
	size_t n_silences;
	/* Ids of notifications staged in the spool (spool_stage) whose groups
	 * are gone from memory: alerts_save writes them into alerts.json as
	 * "spooled", then commits them (spool_commit) and forgets them. */
	struct strset staged;
	struct complaint save_complaint; /* alerts.json not writable */
};

struct route_result {
	struct strset receivers;
	double group_wait_s; /* smallest of the matched routes */
	double repeat_s;     /* smallest non-zero */
	struct esc_step *esc; /* at = after_s, relative */
	size_t n_esc;
};

/* routes.c */
int routes_resolve(const struct alerts *a, const struct alert *al, double t,
		   struct route_result *rr);
void routes_result_free(struct route_result *rr);
bool routes_match(const struct cfg_route *r, const struct alert *al, const struct tm *local);
/* Spool the notifications of group g; number spooled, or -1. */
int alerts_flush_group(struct alerts *a, struct group *g, double now);

/* alerts.c */
struct alert *alerts_find(const struct alerts *a, const char *key);
bool alerts_silenced(const struct alerts *a, const char *key, double now);
struct group *alerts_group_open(struct alerts *a, const char *receiver, const char *reason,
				double due);
struct alert *alerts_alert_new(struct alerts *a, const char *key);
void alerts_alert_delete(struct alerts *a, struct alert *al);
void alerts_group_remove(struct alerts *a, size_t i);
struct group *alerts_group_find(struct alerts *a, const char *receiver, const char *reason);
/* An alert's repeat and escalation timers cleared (its escalation
 * steps freed). */
void alerts_clear_timers(struct alert *al);

/* alerts_state.c */
int alerts_load(struct alerts *a);

#endif
