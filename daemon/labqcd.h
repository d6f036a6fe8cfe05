/*
 * labqcd.h: the running daemon, passed explicitly to every part of
 * daemon/ that needs it (no global). Owned by the main thread; the only
 * other threads are the store's two writers (store_writer.c), the
 * notifier and the dashboard renderer, each behind its own queue.
 *
 * Data flow (DESIGN section 1): collectors hand raw messages to
 * labqcd_input(), which journals them, then dispatch_message() parses
 * them and hands samples to the store and the rules; verdicts become
 * records in the audit log and alerts.
 */
#ifndef LABQCD_LABQCD_H
#define LABQCD_LABQCD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/alerts.h"
#include "daemon/audit.h"
#include "daemon/clock.h"
#include "collectors/collectors.h"
#include "daemon/config.h"
#include "daemon/journal.h"
#include "daemon/log.h"
#include "collectors/mqtt.h"
#include "daemon/notify.h"
#include "daemon/reports.h"
#include "daemon/spool.h"
#include "daemon/store.h"

#define LABQCD_VERSION "0.1.0"

struct counters {
	uint64_t messages;    /* inputs taken (broker or replay) */
	uint64_t samples;     /* samples accepted into the store */
	uint64_t dropped;     /* inputs refused (bad topic, payload) */
	uint64_t late;        /* samples refused: not after the series' last */
	uint64_t qc_results;
	uint64_t events;
	uint64_t recovered;   /* journal records replayed at start */
};

struct cond_entry;
struct labqcd;
struct heartbeat;
struct fleet;
struct dashboard;
struct dash_instrument;
struct dash_snapshot;
struct dash_stats;
struct qc_analyte;
struct pbrtqc_analyte;
struct pbrtqc_params;
struct equip_channel;
struct equip_group;
struct equip_instrument;

/* Where a condition belongs: its alert key is site/instrument/channel/rule. */
struct cond_key {
	enum alert_kind kind;
	const char *site;
	const char *instrument;
	const char *channel; /* channel, analyte or task */
	const char *rule;
	const char *chart; /* PNG for emails, or NULL */
	/* The reporter's say: no transition now (an instrument in planned
	 * maintenance: equipment.c decides, conditions.c asks nothing back). */
	bool hold;
	/* For a QC chart: how the analyte's Levey-Jennings history is taken
	 * (qc_snapshot), so the chart's capture calls nothing back. */
	void (*snapshot)(struct labqcd *d, const char *site, const char *instrument,
			 struct dash_instrument *di, double day_start);
	const char *key;   /* the alert key as is (monitor alerts); NULL = built from the above */
};

struct labqcd {
	struct config *cfg;
	struct store *store;
	struct journal *journal; /* NULL in --replay */
	struct audit *audit;
	struct mqtt *mqtt;       /* NULL in --replay */

	bool replay;
	bool notify_sends; /* --replay --notify */
	bool recovering; /* replaying the journal at start */
	double clock;    /* the daemon's clock: wall time, or the input's in replay */
	uint64_t next_seq;
	uint64_t state_seq; /* inputs up to this seq are in the saved state */

	struct spool *spool;     /* NULL in --replay without --notify */
	struct notify *notify;   /* the sender thread (not started in --replay) */
	struct alerts *alerts;
	struct dashboard *dashboard; /* renderer thread; NULL in --replay */
	struct reports *reports;     /* reports.c: scheduled and asked-for reports; NULL in --replay */
	struct cond_entry *conds;         /* conditions.c: last condition per alert key */
	struct qc_analyte *qc;            /* qc.c: Westgard state per analyte */
	struct pbrtqc_analyte *pbrtqc;    /* pbrtqc.c: patient-based QC per analyte */
	struct equip_channel *channels;   /* equipment.c: rule state per channel */
	struct equip_group *channel_groups; /* equipment.c: the channels of each instrument */
	struct equip_instrument *instruments; /* equipment.c: maintenance, calendar, tasks */
	bool transitions_pending;         /* make durable before the next input */
	unsigned n_maintenance;           /* equipment.c: instruments in planned maintenance */
	bool broker_blind;                /* blind.c: not subscribed; stale rules held */
	bool broker_seen;                 /* blind.c: subscribed at least once since the start */
	double stale_settle_until;        /* blind.c: stale rules held until then (wall clock) */
	struct heartbeat *heartbeat;      /* heartbeat.c: the Watchdog sender; NULL = none */
	struct fleet *fleet;              /* fleet_link.c: this instance among others; NULL = none */
	bool handed_over;                 /* handover.c: done; the loop exits at once */

	struct counters n;
	struct complaint drop_complaint;
	struct complaint state_complaint;
	double started;
};

/* dispatch.c: parse one input and hand it on. `seq` is its journal
 * sequence number (0 in --replay). */
void dispatch_message(struct labqcd *d, uint64_t seq, const struct message *m);
/* dispatch.c: a maintenance event (MQTT or labqcctl): recorded, then
 * handed to the equipment rules. `seq` 0 for one that is not an input. */
void labqcd_event(struct labqcd *d, uint64_t seq, const char *site, const char *instrument,
		  const struct payload_event *ev);
/* dispatch.c: a person acknowledged an alert (MQTT or labqcctl): `by`
 * the account or signer, `name` a display name ("" = none). -1 with
 * err when there is no such alert (a `dropped` record) or a critical
 * alert's ack has no comment and ack_comment is required (a `denied`
 * record, via "control" or "mqtt"). */
int labqcd_ack(struct labqcd *d, uint64_t seq, const char *via, const char *key, const char *by,
	       const char *name, const char *comment, char *err, size_t errlen);

/* conditions.c: rule conditions -> alert transitions (records + engine).
 * Returns 1 when a transition was made. */
int conditions_report(struct labqcd *d, const struct cond_key *k, const struct condition *c,
		      double t, uint64_t seq);
bool conditions_firing(struct labqcd *d, const char *key);
/* printf into c->summary, truncated to fit. */
void condition_summary(struct condition *c, const char *fmt, ...) LOG_FMT(2, 3);
void conditions_maintenance(struct labqcd *d, const char *site, const char *instrument, bool on,
			    double t);
cJSON *conditions_to_json(struct labqcd *d);
int conditions_from_json(struct labqcd *d, const cJSON *arr);
void conditions_free(struct labqcd *d);

/* qc_analytes.c: the engine's parameters of an analyte's config (the
 * daemon's and --what-if's): p points into targets and into a. 0, or -1
 * with why in err (no levels, a bad target). */
#define QC_TARGETS_MAX 16
int qc_params_of(const struct cfg_qc_analyte *a, struct westgard_params *p,
		 struct westgard_target targets[WG_LEVELS_MAX][QC_TARGETS_MAX], char *err,
		 size_t errlen);

/* qc.c: one QC result through the Westgard engine. */
void qc_result(struct labqcd *d, uint64_t seq, const struct topic *tp,
	       const struct payload_meta *meta, double value, double t);
void qc_reconfigure(struct labqcd *d);
/* Missing QC, incomplete runs, overdue corrective actions (qc_runs.c),
 * once a second on the daemon's clock. */
void qc_tick(struct labqcd *d, double now);
/* A rejected run's disposition (labqcctl qc-action, the ack topic). */
struct qc_action_req {
	const char *key, *run, *by, *action; /* action "" with an override only */
	const char *name;                    /* display name beside by; "" = none */
	bool reviewed;                       /* patient results since the last accepted run */
	int override;                        /* 0 none, 1 accept, 2 reject */
	const char *reason;                  /* the override's */
};
int qc_action(struct labqcd *d, uint64_t seq, const struct qc_action_req *req, char *err,
	      size_t errlen);
/* Per analyte: recent runs with dispositions, per level and lot n, mean,
 * SD, CV (cumulative and this month, all and runs not rejected). */
cJSON *qc_status_json(struct labqcd *d);
/* The same from its JSON form (control socket, ack topic "qc_action"). */
int qc_action_json(struct labqcd *d, uint64_t seq, const cJSON *o, char *err, size_t errlen);
cJSON *qc_to_json(struct labqcd *d);
int qc_from_json(struct labqcd *d, const cJSON *o);
void qc_free(struct labqcd *d);

/* pbrtqc.c: one patient result through the analyte's moving statistic
 * (issue 22); pbrtqc_configured: whether the analyte has pbrtqc:. */
void pbrtqc_result(struct labqcd *d, uint64_t seq, const struct topic *tp, double value, double t);
bool pbrtqc_configured(struct labqcd *d, const char *site, const char *instrument,
		       const char *analyte);
void pbrtqc_params_from_config(const struct cfg_pbrtqc *c, struct pbrtqc_params *p);
void pbrtqc_reconfigure(struct labqcd *d);
void pbrtqc_snapshot(struct labqcd *d, const char *site, const char *instrument,
		     struct dash_instrument *di);
cJSON *pbrtqc_to_state(struct labqcd *d);
int pbrtqc_from_state(struct labqcd *d, const cJSON *o);
void pbrtqc_free(struct labqcd *d);

/* equipment.c: telemetry and events through the equipment rules (state: equipment_state.c). */
void equipment_sample(struct labqcd *d, uint64_t seq, const char *site, const char *instrument,
		      const char *channel, double value, double t);
void equipment_event(struct labqcd *d, uint64_t seq, const char *site, const char *instrument,
		     const struct payload_event *ev);
void equipment_tick(struct labqcd *d, double now);
/* The broker is back at `t`: every stale countdown that is not firing
 * restarts from t (blind.c). */
void equipment_stale_restart(struct labqcd *d, double t);
bool instrument_in_maintenance(struct labqcd *d, const char *site, const char *instrument);
void equipment_reconfigure(struct labqcd *d);
cJSON *equipment_to_json(struct labqcd *d);
int equipment_from_json(struct labqcd *d, const cJSON *o);
void equipment_free(struct labqcd *d);
void equipment_snapshot(struct labqcd *d, const char *site, const char *instrument,
			struct dash_instrument *di);
bool equipment_alert_text(struct labqcd *d, const char *site, const char *instrument,
			  const char *channel, const char *rule, double now, char *buf, size_t len);
void equipment_foreach_instrument(struct labqcd *d,
				  void (*fn)(const char *site, const char *instrument, bool maint,
					     void *arg),
				  void *arg);
void qc_snapshot(struct labqcd *d, const char *site, const char *instrument,
		 struct dash_instrument *di, double day_start);

/* blind.c: the broker alert labqcd/<client_id>/broker and the hold on
 * stale rules while labqcd cannot see; after every mqtt_io. */
void blind_check(struct labqcd *d, double mono_now, double wall_now);
/* blind.c: the broker alert's key into buf. */
const char *blind_key(const struct labqcd *d, char *buf, size_t len);

/* dashboard.c: the renderer thread and its snapshots. */
struct dashboard *dashboard_open(const struct config *cfg, bool thread);
struct dash_snapshot *dashboard_snapshot(struct labqcd *d, double now);
/* The same picture without the renderer's bookkeeping (the fleet's
 * status summary between renders). */
struct dash_snapshot *dashboard_build(struct labqcd *d, double now);
void dashboard_post(struct dashboard *db, struct dash_snapshot *s); /* takes s */
int dashboard_render_now(struct dashboard *db, struct dash_snapshot *s, struct dash_stats *out);
/* From the main loop (now: monotonic): render before the interval is up,
 * because the store has just written data the dashboard did not show
 * yet (after start, or for new channels). Cheap; checks once a second. */
bool dashboard_want_early(struct dashboard *db, struct labqcd *d, double now);
/* Time of the last render (0 = never); its stats into out (may be NULL). */
double dashboard_last_render(struct dashboard *db, struct dash_stats *out);
void dashboard_close(struct dashboard *db);


/* state.c: the checkpoint file <state_dir>/state.json. */
int state_load(struct labqcd *d);
int state_save(struct labqcd *d);

/* labqcd.c: the handle. After each input: make alert transitions
 * durable (audit fsync and alerts.json) before the next input is taken;
 * labqcd_commit_now also when no transition is pending (alerts.json after
 * a silence, an event record). */
void labqcd_commit_transitions(struct labqcd *d);
void labqcd_commit_now(struct labqcd *d);
/* The daemon's clock set to the wall clock now (inputs from labqcctl). */
double labqcd_set_clock(struct labqcd *d);
/* audit_publish.c: the audit log's anchor, retained on
 * <prefix>/labqcd/audit/head (each checkpoint, every flush_interval). */
void audit_publish_head(struct labqcd *d);
/* config_load() whose errors go to the log. */
struct config *config_load_logged(const char *path);
/* Reload `path` (SIGHUP and labqcctl reload): 0, or -1 when it has
 * errors (logged, and into err when given) and the running config is
 * kept. */
int labqcd_reload(struct labqcd *d, const char *path, char *err, size_t errlen);
/* The checkpoint: journal rotated, the store's pending writes handed
 * over, the state saved, what both hold released from the journal. */
void labqcd_checkpoint(struct labqcd *d);
/* Checkpoint now and wait until every RRD write is done (labqcctl flush). */
void labqcd_flush(struct labqcd *d);
/* The clean stop's checkpoint (SIGTERM, and a hand-over before it exits):
 * journal synced, every RRD write done, audit log synced, state.json and
 * alerts.json saved, and with `release` the journal emptied of what they
 * hold. 0, or -1 when the state could not be saved. */
int labqcd_stop_checkpoint(struct labqcd *d, bool release);

/* handover.c: `labqcctl handover [SLICE]` (issue 21): refused (-1, why
 * in msg) unless `slice` names this instance ("self", "" or its
 * client_id; the fleet name once there is one) and the session is
 * persistent; otherwise the broker connection is closed keeping the
 * session, everything taken is made durable, the notifier is stopped,
 * d->handed_over is set (the loop then exits 0) and msg says how to
 * resume. */
int labqcd_handover(struct labqcd *d, const char *slice, char *msg, size_t len);

/* daemon.c: open everything, recover, run the loop until SIGTERM. */
int daemon_run(struct config *cfg, const char *config_path);

/* render.c: --render. Returns the exit code. */
int render_run(struct config *cfg);

/* replay.c: --replay FILE. Returns the exit code. */
int replay_run(struct config *cfg, const char *input, bool notify);

/* report_run.c: labqcd --report PERIOD (issue 19); takes cfg. Exit code. */
int report_run(struct config *cfg, const char *period, const char *const *only, size_t n_only,
	       const char *out_dir);

/* whatif.c: --what-if RULES (issue 22): the record re-judged by a
 * candidate rule set; design.c: --pbrtqc-design. Take cfg; exit code. */
struct whatif_opts {
	const char *rules;   /* the candidate's rejection rules, "1-3s/2-2s/R-4s" */
	const char *analyte; /* "site/instrument/analyte", or NULL: all */
	const char *from;    /* an audit log (whatif), a capture of patient results (design) */
	const char *period;  /* as --report takes it, or NULL */
	const char *blocks;  /* design: block sizes "10,20,40", or NULL */
	int scope;           /* enum wg_scope, or -1: the config's */
	int replicates;      /* > 0: per level, else the config's */
	bool table;          /* --format table */
};
int whatif_run(struct config *cfg, const struct whatif_opts *o);
int design_run(struct config *cfg, const struct whatif_opts *o);

/* Shared by daemon.c and replay.c. */
int labqcd_open(struct labqcd *d, struct config *cfg, FILE *echo, bool replay, bool notify);
void labqcd_close(struct labqcd *d);

#endif
