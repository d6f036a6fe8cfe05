/*
 * alerts.h: the alert engine (DESIGN section 5).
 *
 * The daemon hands the engine every alert transition the rules produce,
 * every acknowledgement and silence, and ticks it. The engine keeps each
 * alert's state, routes it to receivers (routes in order, fnmatch globs on
 * kind/severity/site/instrument/channel/rule, first match wins unless
 * continue, `active` days and hours in local time), groups what fires
 * together for one receiver within group_wait into one notification,
 * repeats firing unacknowledged alerts every `repeat`, escalates per
 * `escalate`, sends resolved notifications to whoever heard of the
 * firing (only them, with the severity they heard), and writes each notification to the spool (spool.h). Sending
 * is the notifier's job (notify.h).
 *
 * Time is always a parameter (epoch seconds, the daemon's clock); the
 * engine reads no clock. Local time for `active` comes from a callback
 * (default localtime_r) so tests are deterministic.
 *
 * Threads: main thread only. The engine borrows the config (routes and
 * receivers); after a reload call alerts_set_config before freeing the
 * old one.
 *
 * Persistence: <state_dir>/alerts.json (write-fsync-rename) holds alerts,
 * groups waiting out group_wait, acks, silences, next repeat and
 * escalation times, and the ids of notifications staged in the spool.
 * alerts_save() writes it only when something changed; the daemon calls
 * it after each input that made transitions (DESIGN: durable before the
 * next input) and the engine calls it itself right after it staged
 * notifications. Notifications are spooled in two phases (alerts.c):
 * staged (invisible to the notifier), recorded in alerts.json, then
 * committed (sendable) by alerts_save; alerts_open finishes or drops
 * what a crash left staged. So a restart neither loses a group inside
 * group_wait nor sends anything twice: exactly once.
 */
#ifndef LABQCD_ALERTS_H
#define LABQCD_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "daemon/config.h"
#include "rules/rules.h"
#include "daemon/spool.h"

#define ALERT_KEY_MAX NOTIF_KEY_MAX

/* monitor: labqcd's own blindness (the broker alert, daemon/blind.c). */
enum alert_kind { ALERT_QC = 0, ALERT_EQUIPMENT, ALERT_MONITOR };
enum alert_state { ALERT_PENDING = 0, ALERT_FIRING, ALERT_RESOLVED, ALERT_ACKNOWLEDGED };

/* One transition, as the daemon makes it from a rule's condition. */
struct alert_event {
	char key[ALERT_KEY_MAX]; /* <site>/<instrument>/<channel|analyte|task>/<rule> */
	enum alert_kind kind;
	char site[CFG_NAME_MAX];
	char instrument[CFG_NAME_MAX];
	char channel[CFG_NAME_MAX];
	char rule[CFG_NAME_MAX];
	enum alert_state state;
	enum severity severity;
	double value; /* NAN if none */
	char summary[COND_SUMMARY_MAX];
	double t;     /* when it happened, epoch seconds (the daemon's clock) */
	double since; /* when the condition began (the sample's clock); 0 = t */
	char chart[CFG_PATH_MAX]; /* PNG to attach to emails; "" = none */
};

/* What the dashboard and `labqcctl status` see of an alert. */
struct alert_view {
	const char *key;
	enum alert_kind kind;
	enum alert_state state; /* pending | firing | resolved */
	enum severity severity;
	double value;
	const char *summary;
	double since;    /* when its condition began (the sample's clock) */
	double ended;    /* resolved at; 0 = not resolved */
	bool acknowledged;
	const char *ack_by;
	const char *ack_comment;
	bool silenced;
};

/* Local broken-down time of epoch `t`; 0 or -1. */
typedef int (*alerts_localtime_fn)(double t, struct tm *out, void *arg);

struct alerts_opts {
	const char *state_dir;       /* alerts.json lives here */
	const char *external_url;    /* the dashboard, for webhooks; may be NULL */
	const struct audit *audit;   /* its anchor goes into every notification; may be NULL */
	alerts_localtime_fn localtime; /* NULL = localtime_r */
	void *localtime_arg;
};

struct alerts;

/*
 * Create the engine and load <state_dir>/alerts.json if present (a
 * corrupt file is moved aside and logged; the engine starts empty). With
 * a spool, its pending entries are committed or deleted per alerts.json
 * (spool_recover); open the spool first and nothing else may stage.
 * `cfg` and `spool` are borrowed and must outlive the engine (or be
 * replaced by alerts_set_config). NULL and errno on failure.
 */
struct alerts *alerts_open(const struct config *cfg, struct spool *spool,
			   const struct alerts_opts *opts);
/* Frees the engine; does not save (call alerts_save first). */
void alerts_close(struct alerts *a);
void alerts_set_config(struct alerts *a, const struct config *cfg);

/* One transition. Pending and firing update the alert; a first firing (or
 * a rise in severity) is routed and queued for its receivers, the alert
 * starting at ev->since; resolved takes the alert out of every group
 * still waiting (a group left empty sends nothing) and queues a resolved
 * notification for every receiver a firing notification left for, with
 * the severity each was told; acknowledged is alerts_ack without a name.
 * 0, or -1 (EINVAL). */
int alerts_transition(struct alerts *a, const struct alert_event *ev);

/* A person acknowledged `key`: no more repeats or escalation; it still
 * resolves. A resolved critical alert is kept (for the dashboard) until
 * acknowledged. 0, or -1 with errno ENOENT when there is no such alert. */
int alerts_ack(struct alerts *a, const char *key, const char *by, const char *comment,
	       double now);

/* Silence every alert whose key matches the glob `match` for duration_s
 * from now: nothing is sent for it meanwhile (an alert that fired while
 * silenced is notified when the silence ends, if it still fires).
 * duration_s <= 0 removes silences with exactly this match. 0 or -1. */
int alerts_silence(struct alerts *a, const char *match, double duration_s, const char *by,
		   double now);

/* Timers: groups whose group_wait is over are spooled, repeats and
 * escalations that are due are queued (and spooled, the same tick),
 * expired silences go; then alerts_save records and commits what was
 * spooled. Returns the number of notifications spooled, or -1 if a spool
 * write failed (the group is kept and retried next tick). */
int alerts_tick(struct alerts *a, double now);

/* The earliest time alerts_tick has something to do; 0 = nothing. */
double alerts_next_deadline(const struct alerts *a);

/* Write alerts.json if anything changed since the last save, then make
 * the notifications it records as staged sendable (spool_commit). 0, or
 * -1 if the write or a commit failed (what is staged stays staged). */
int alerts_save(struct alerts *a);
bool alerts_dirty(const struct alerts *a);

/* Every alert the engine holds (pending, firing, resolved-but-kept), in
 * no particular order. The view's strings live until the next call into
 * the engine. */
void alerts_foreach(const struct alerts *a, void (*fn)(const struct alert_view *v, void *arg),
		    void *arg);
size_t alerts_count(const struct alerts *a);

/* Name helpers. */
const char *alert_state_name(enum alert_state s);
const char *alert_kind_name(enum alert_kind k);
enum alert_kind alert_kind_from_name(const char *s); /* unknown: equipment */

#endif
