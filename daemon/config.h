/*
 * config.h: the parsed form of labqcd.yaml (DESIGN section 3).
 *
 * config_load() parses a file with libyaml into a fresh struct config,
 * validates every key, merges profiles into instruments and reports every
 * error as "file:line:column: key.path: expected ..., got ...". The
 * caller owns the result and frees it with config_free(). Reload parses
 * into a new struct and swaps it in only on success, so a running daemon
 * never sees a half-parsed config.
 *
 * Everything here is plain data: arrays with counts, fixed-size names
 * (every identity component is at most 64 characters, DESIGN section 2).
 */
#ifndef LABQCD_CONFIG_H
#define LABQCD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "rules/rules.h" /* enum severity */

#define CFG_NAME_MAX 65 /* identity component: 64 chars + NUL */
#define CFG_PATH_MAX 4096
#define CFG_TEXT_MAX 256

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Rules that may carry a severity override, in alert-key spelling. */
enum rule_id {
	RULE_RANGE = 0, /* critical; the warning band is RULE_RANGE at warning */
	RULE_STALE,
	RULE_RATE,
	RULE_DRIFT,
	RULE_SERVICE,
	RULE_CALENDAR,
	RULE_TASK,
	RULE_STATUS,
	RULE_QC,
	RULE_COUNT
};

struct cfg_daemon {
	char state_dir[CFG_PATH_MAX];
	char rrd_dir[CFG_PATH_MAX];
	char www_dir[CFG_PATH_MAX];
	char control_socket[CFG_PATH_MAX];
	enum log_level log_level;
	char rrdcached[CFG_PATH_MAX]; /* "" = write files directly */
	char user[CFG_NAME_MAX];      /* "" = do not change user */
	char control_group[CFG_NAME_MAX]; /* the socket's group; default "labqcd" */
	bool control_group_set;           /* written in the file (a missing group is an error) */
	double dashboard_interval_s;  /* default 60 */
	double flush_interval_s;      /* RRD write coalescing, default 60 */
	double state_interval_s;      /* state checkpoint, default 60 */
	double rrd_heartbeat_s;       /* telemetry RRD heartbeat, default 600 */
	double notify_retry_s;        /* first retry of a failed notification, default 30 */
	double notify_retry_max_s;    /* retry backoff cap, default 3600 */
};

struct cfg_mqtt {
	char url[CFG_PATH_MAX]; /* mqtt://host:port or mqtts://host:port */
	/* derived from url by the loader: */
	char host[256];
	int port;
	bool tls;

	char client_id[CFG_NAME_MAX * 2];
	char username[CFG_TEXT_MAX];
	char password_file[CFG_PATH_MAX];
	char ca_file[CFG_PATH_MAX];
	char cert_file[CFG_PATH_MAX]; /* client certificate (optional) */
	char key_file[CFG_PATH_MAX];
	int qos;            /* 0, 1 or 2; default 1 */
	bool clean_session; /* default false */
	int keepalive_s;    /* default 60 */
	char prefix[CFG_NAME_MAX]; /* default "lab" */
	char **subscribe;          /* default { "<prefix>/#" } */
	size_t n_subscribe;
	double lost_after_s; /* broker unreachable this long: alert; default 120 */
};

struct cfg_smtp {
	char url[CFG_PATH_MAX]; /* smtp://, smtps:// */
	char from[CFG_TEXT_MAX];
	char username[CFG_TEXT_MAX];
	char password_file[CFG_PATH_MAX];
	char ca_file[CFG_PATH_MAX];
	bool starttls;
	double timeout_s; /* default 30 */
};

/* One channel's rules after the profile and the instrument's own
 * `channels:` are merged (the instrument's keys override the profile's). */
struct cfg_drift {
	bool on;
	double lambda; /* EWMA weight, 0 < lambda <= 1; default 0.2 */
	double limit;  /* in SD of the EWMA; default 3 */
	int train;     /* samples used to learn mean and SD; default 50 */
};

struct cfg_task {
	char name[CFG_NAME_MAX];
	double every_s;
	int due_by_min; /* minutes after local midnight; -1 = none */
};

struct cfg_channel {
	char name[CFG_NAME_MAX];
	char unit[32];

	bool has_min, has_max, has_warning_min, has_warning_max;
	double min, max, warning_min, warning_max;
	double hysteresis; /* default 0 */
	double delay_s;    /* default 0 */
	double stale_s;    /* 0 = no staleness rule */

	bool has_rate;
	double rate_delta;      /* max_rate: 1.0/10m -> delta 1.0 ... */
	double rate_interval_s; /* ... over 600 s */

	struct cfg_drift drift;

	bool has_service;
	double service_every;
	double warn_at; /* fraction, default 0.9 */
	bool has_service_baseline;
	double service_baseline;

	double every_s; /* calendar rule (e.g. calibration); 0 = none */

	/* status channel: codes that mean "fine"; default { 0 } */
	double *ok_codes;
	size_t n_ok_codes;

	/* severity overrides; SEV_NONE = the rule's default */
	enum severity severity[RULE_COUNT];
};

struct cfg_qc_target {
	char lot[CFG_NAME_MAX]; /* "" = applies to every lot */
	bool has_mean_sd;       /* false: established by the baseline */
	double mean, sd;
	bool has_bias;
	double bias_pct; /* for rules: auto */
};

struct cfg_qc_level {
	char name[CFG_NAME_MAX];
	struct cfg_qc_target *targets;
	size_t n_targets;
};

#define QC_RULES_MAX 16

/* An analyte's patient-based QC (issue 22): values of rules/pbrtqc.h's
 * struct pbrtqc_params, set by config_pbrtqc.c. */
struct cfg_pbrtqc {
	bool enabled;
	int method; /* enum pbrtqc_method: ma (default), mm, ewma */
	int block;  /* default 20 */
	double lambda; /* ewma; 0: 2 / (block + 1) */
	bool has_truncate;
	double truncate[2];
	bool has_target;
	double target;
	bool has_limits;
	double limits[2];
	int train;   /* without limits: statistics learnt from; default 500 */
	double far;  /* without limits: false alarm rate per statistic; default 0.01 */
	enum severity severity; /* default warning */
};

struct cfg_qc_analyte {
	char name[CFG_NAME_MAX];
	bool rules_auto;
	/* Canonical rule names ("1-3s", "2-2s", ...), aliases already resolved. */
	char rules[QC_RULES_MAX][12];
	size_t n_rules;
	char warning[QC_RULES_MAX][12];
	size_t n_warning;
	bool has_tea;
	double tea_pct;      /* allowable total error, percent */
	double run_window_s; /* default 600 */
	int baseline_n;      /* results that establish mean/SD; default 20 */
	/* issue 17 (DESIGN 4): values of rules/westgard.h's enums */
	int scope;           /* enum wg_scope: runs (default), level, both */
	int replicates;      /* per level in a run; 0: 1, or the Sigma chart's N with auto */
	int lot_baseline_n;  /* a new lot's provisional mean; default 10 */
	int lot_sd;          /* enum wg_lot_sd: carry_cv (default), baseline */
	int sigma_option;    /* enum wg_sigma_option: N6R1 (default), N3R2, 9x */
	double qc_every_s;   /* > 0: qc_missing when no complete run for that long */
	int due_by_min;      /* >= 0: qc_missing when no complete run today by then */
	double action_due_s; /* a rejected run's disposition; default 8 h */
	size_t line, column; /* of the analyte in the file, for -t's warnings */
	struct cfg_pbrtqc pbrtqc;
	struct cfg_qc_level *levels;
	size_t n_levels;
};

struct cfg_instrument {
	char site[CFG_NAME_MAX];
	char name[CFG_NAME_MAX]; /* instrument component */
	char profile[CFG_NAME_MAX];
	char location[CFG_TEXT_MAX];
	struct cfg_channel *channels; /* merged from profile + own */
	size_t n_channels;
	struct cfg_task *tasks;
	size_t n_tasks;
	struct cfg_qc_analyte *qc;
	size_t n_qc;
};

enum webhook_format { WEBHOOK_ALERTMANAGER = 0, WEBHOOK_SLACK, WEBHOOK_PLAIN };

struct cfg_receiver {
	char name[CFG_NAME_MAX];
	char **email; /* addresses */
	size_t n_email;
	bool has_webhook;
	char webhook_url[CFG_PATH_MAX];
	enum webhook_format webhook_format;
	char secret_file[CFG_PATH_MAX];
	double timeout_s; /* default 10 */
};

/* A matcher value is a shell glob (fnmatch), "" = any. */
struct cfg_match {
	char kind[16]; /* qc | equipment | monitor */
	char severity[16];
	char site[CFG_NAME_MAX];
	char instrument[CFG_NAME_MAX];
	char channel[CFG_NAME_MAX];
	char rule[CFG_NAME_MAX];
};

struct cfg_escalation {
	double after_s;
	char **receivers;
	size_t n_receivers;
};

struct cfg_route {
	struct cfg_match match;
	char **receivers;
	size_t n_receivers;
	double group_wait_s; /* default 10 */
	double repeat_s;     /* default 4h; 0 = never */
	bool cont;
	bool has_active;
	unsigned active_days;   /* bit 0 = Sunday ... bit 6 = Saturday */
	int active_from_min;    /* minutes after midnight, local time */
	int active_to_min;      /* exclusive; may wrap past midnight */
	struct cfg_escalation *escalate;
	size_t n_escalate;
};

/* reports: (issue 19) what every report prints, and the schedule. */
struct cfg_reports {
	char lab[CFG_TEXT_MAX]; /* the lab's name on every page; default "labqcd" */
	double mkt_ea;          /* activation energy for MKT, kJ/mol; default 83.144 */
	bool has_every;         /* scheduled: every month or week */
	bool weekly;            /* every: week (else month) */
	int on;                 /* month: day 1..28; week: ISO weekday 1 (Mon)..7; default 1 */
	char **receivers;       /* receivers' names whose email gets the PDFs */
	size_t n_receivers;
	char what_if[CFG_TEXT_MAX]; /* a candidate rule set ("1-3s/2-2s/R-4s"), or "" (issue 22) */
};

/* `heartbeat:` an always-firing Watchdog sent to one receiver every
 * `every`, for an outside dead-man's switch (daemon/heartbeat.c). */
struct cfg_heartbeat {
	bool on;                      /* the section is present */
	char receiver[CFG_NAME_MAX];  /* a name from receivers: */
	double every_s;               /* default 60 */
};

/* Issue 20: who may do what. A grant names a Unix group (access:) or an
 * MQTT signer (access_mqtt:), the commands its members may run ("all"
 * for every one) and where: site/instrument globs, none = everywhere. */
struct cfg_grant {
	char who[CFG_NAME_MAX];
	char **may;
	size_t n_may;
	char **on;
	size_t n_on;
	char key_file[CFG_PATH_MAX]; /* access_mqtt only */
};

enum mqtt_ack_mode { MQTT_ACK_SIGNED = 0, MQTT_ACK_OFF };

struct cfg_access {
	bool present; /* access: is in the file: what no grant allows is refused */
	struct cfg_grant *grants;
	size_t n_grants;
	struct cfg_grant *mqtt; /* access_mqtt: the users who may sign on the ack topic */
	size_t n_mqtt;
	enum mqtt_ack_mode mqtt_ack; /* default signed */
	bool ack_comment_required;   /* for critical alerts; default true */
};

/* rrd: the layout of the RRD files created from now on (DESIGN section 6
 * is the default). Files that exist keep the layout they were made with. */
#define CFG_RRA_MAX 16
enum cfg_rrd_cf { RRD_CF_AVERAGE = 1, RRD_CF_MIN = 2, RRD_CF_MAX = 4, RRD_CF_LAST = 8 };

struct cfg_rra {
	long every_steps; /* primary data points a row consolidates */
	long rows;        /* `for` / `every` */
	unsigned cfs;     /* enum cfg_rrd_cf bits, one archive each */
};

struct cfg_rrd {
	long step_s;      /* default 60 */
	long heartbeat_s; /* telemetry; default 600 (daemon.rrd_heartbeat, kept as a synonym) */
	struct cfg_rra rra[CFG_RRA_MAX];
	size_t n_rra;
};

/* `fleet:` (issue 21): this instance's name among the labqcd sharing a
 * broker, where they announce their slices, and its dashboard's address.
 * No section: on is false and labqcd neither announces nor checks. */
struct cfg_fleet {
	bool on;
	char name[CFG_NAME_MAX];   /* default: mqtt.client_id when it is an identifier */
	char peers_topic[CFG_TEXT_MAX]; /* default "<mqtt.prefix>/labqcd/fleet" */
	char url[CFG_TEXT_MAX];    /* http(s):// of its dashboard; "" = none */
};

struct config {
	char path[CFG_PATH_MAX];
	struct cfg_daemon daemon;
	struct cfg_rrd rrd;
	struct cfg_mqtt mqtt;
	struct cfg_smtp smtp;
	struct cfg_instrument *instruments;
	size_t n_instruments;
	struct cfg_receiver *receivers;
	size_t n_receivers;
	struct cfg_route *routes;
	size_t n_routes;
	struct cfg_reports reports;
	struct cfg_heartbeat heartbeat;
	struct cfg_access access;
	struct cfg_fleet fleet;
};

/*
 * Parse and validate `path`. On success returns a new config (free with
 * config_free). On failure returns NULL after writing every error, one a
 * line, "file:line:column: key: message", to `errs` (which may be NULL).
 * Relative paths in the daemon section are kept as written (relative to
 * the working directory, as `make run` expects).
 */
struct config *config_load(const char *path, FILE *errs);
void config_free(struct config *cfg);

/* Lookups; NULL when absent. */
const struct cfg_instrument *config_instrument(const struct config *cfg, const char *site,
					       const char *instrument);
const struct cfg_channel *config_channel(const struct cfg_instrument *ins, const char *channel);
const struct cfg_qc_analyte *config_analyte(const struct cfg_instrument *ins, const char *analyte);

/* Value parsers shared with labqcctl and the rules wiring. They return 0
 * and store the result, or -1 when `s` is not of that form. */
int config_parse_duration(const char *s, double *seconds); /* "90s" "15m" "4h" "30d" "1w" */
int config_parse_percent(const char *s, double *pct);      /* "10%" or "10" */
const char *config_rule_name(enum rule_id id);
/* Canonical Westgard rule name for a spelling such as "13s", "1:3s",
 * "1_3s", "2of32s", "r4s"; NULL when unknown. */
const char *config_qc_rule_canonical(const char *s);

/* The rights a grant may name: the control commands that change
 * something, "override" (a QC override) and "all"; NULL-terminated. */
extern const char *const config_rights[];

/* -t: what access: means for this config, one paragraph to out. */
void config_access_describe(const struct config *cfg, FILE *out);
/* rrd_layout.c: DESIGN section 6's layout (1 min for 2 days, 5 min for 2
 * weeks, 1 h for 396 days; min, average and max; heartbeat 600 s). */
void config_rrd_defaults(struct cfg_rrd *r);
/* The bytes of one RRD file of this layout (librrd's format: a header,
 * then 8 bytes a row and data source). */
unsigned long long config_rrd_file_bytes(const struct cfg_rrd *r);
/* The argv of rrd_create for the archives ("RRA:AVERAGE:0.5:1:2880", ...)
 * into bufs (CFG_RRA_MAX * 4 entries of 64 bytes); returns how many. */
int config_rrd_rra_args(const struct cfg_rrd *r, char bufs[][64], const char **argv);
/* -t: the layout and what it costs a channel and for the configured ones. */
void config_rrd_report(const struct config *cfg, FILE *out);
/* A one-line description of the layout (the store notes a change in the log). */
void config_rrd_describe(const struct cfg_rrd *r, char *buf, size_t len);

/* -t: warnings that do not make the config bad (rules: auto with a level
 * without bias, counted as bias 0); returns how many were printed. */
size_t config_qc_warnings(const struct config *cfg, FILE *out);

#endif
