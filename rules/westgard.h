/*
 * westgard.h: Westgard multirule QC for one instrument + analyte
 * (DESIGN section 4). Pure: no I/O, no clock, no globals, no logging.
 *
 * One struct westgard holds the whole state of one analyte (2 or 3 control
 * levels): the per-level and interleaved histories the across-run rules
 * look back over, each level's lot and baseline, and the open run. It is a
 * fixed-size plain struct (no heap), so evaluation never allocates.
 *
 * Use:
 *	struct westgard w;  westgard_init(&w);
 *	struct westgard_params p;  westgard_params_init(&p, 2);  ...fill...
 *	struct qc_input in = { .level = 0, .value = 103.1, .t = now, .run = "r7", .lot = "A1" };
 *	struct qc_verdict v;
 *	if (westgard_eval(&w, &p, &in, &v) == 0) ...write the qc record...
 *
 * What the daemon does with a verdict:
 *  - a `qc` record with v.z, westgard_status_name(v.status) and the names
 *    of v.fired (westgard_rules_names());
 *  - v.target_established: a `target` record for level v.target_level with
 *    v.target_mean / v.target_sd, source "baseline";
 *  - v.rejected_now: the run just became rejected: fire the `qc` alert;
 *  - v.run_accepted_now: a run just completed (every configured level has
 *    a result in it) without being rejected: resolve the `qc` alert.
 *    "Accepted" here means not rejected: status accept, warning (a warning
 *    rule only) or baseline (results accepted while targets are learnt).
 *    A run can report run_accepted_now and later, if a repeated level of it
 *    breaks a rule, rejected_now; never the reverse (a rejected run stays
 *    rejected).
 *  - persistence: westgard_to_json() / westgard_from_json().
 */
#ifndef LABQCD_WESTGARD_H
#define LABQCD_WESTGARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

enum westgard_rule {
	WG_1_2S = 0,
	WG_1_2_5S,
	WG_1_3S,
	WG_1_3_5S,
	WG_2_2S,
	WG_R_4S,
	WG_4_1S,
	WG_3_1S,
	WG_2OF3_2S,
	WG_6X,
	WG_8X,
	WG_9X,
	WG_10X,
	WG_12X,
	WG_7T,
	WG_RULE_COUNT
};

/* A set of rules is a bit mask: WG_BIT(WG_1_3S) | WG_BIT(WG_2_2S). */
#define WG_BIT(r) (1u << (r))
#define WG_ALL_RULES ((1u << WG_RULE_COUNT) - 1u)

enum qc_status {
	QC_ACCEPT = 0,
	QC_BASELINE, /* no rule fired; a result was judged against no target yet */
	QC_WARNING,  /* only warning rules fired */
	QC_REJECT,
};

#define WG_LEVELS_MAX 3
#define WG_ID_MAX 65  /* run ids and lots: 64 characters + NUL (DESIGN 2) */
#define WG_HIST 12    /* longest look-back: 12x */
#define WG_RUN_MAX 16 /* results of one run kept for the rules (repeats beyond drop the oldest) */
#define WG_INVOLVED_MAX 48
#define WG_BASELINE_N 20
#define WG_RUN_WINDOW_S 600.0

/* Canonical name ("1-3s", "R-4s", "2of3-2s", "10x", "7T"); NULL if out of range. */
const char *westgard_rule_name(enum westgard_rule r);

/* Parse one rule name, canonical or alias, case-insensitive: "13s",
 * "1:3s", "1_3s", "1-3s", "22s", "r4s", "R:4s", "41s", "2of32s",
 * "2/3 2s", "10x", "7t" ... Returns the rule id, or -1. */
int westgard_rule_parse(const char *s);

/* Parse a list "1-3s/2-2s/R-4s" (separators '/', ',', '+', spaces) into a
 * mask. Returns 0, or -1 with the offending name in err. "auto" is not a
 * rule: the config sets westgard_params.rules_auto instead. */
int westgard_rules_parse(const char *list, unsigned *mask, char *err, size_t errlen);

/* Names of the rules in mask, in canonical order, as pointers to constant
 * strings; returns how many were stored (at most max). */
size_t westgard_rules_names(unsigned mask, const char **names, size_t max);

/* Writes "1-3s/2-2s/R-4s" into buf (truncated to buflen); returns buf. */
char *westgard_rules_format(unsigned mask, char *buf, size_t buflen);

/* "accept", "warning", "reject", "baseline". */
const char *westgard_status_name(enum qc_status s);

/* ---- parameters (from the config; owned by the caller) ---- */

/* Target of one level: lot "" applies to every lot, lot "X" to X only (and
 * wins over ""). has_mean_sd false: only a bias for rules: auto. */
struct westgard_target {
	char lot[WG_ID_MAX];
	bool has_mean_sd;
	double mean, sd;
	bool has_bias;
	double bias_pct;
};

struct westgard_level_params {
	const struct westgard_target *targets; /* not owned; may be NULL */
	size_t n_targets;
};

struct westgard_params {
	unsigned rules;      /* rejection rules (mask); ignored when rules_auto */
	unsigned warning;    /* warning rules: they mark a run warning only */
	bool rules_auto;     /* Westgard Sigma Rules choose `rules` (needs tea) */
	double tea_pct;      /* allowable total error, percent; <= 0: none */
	double run_window_s; /* default WG_RUN_WINDOW_S */
	int baseline_n;      /* default WG_BASELINE_N, at least 2 */
	size_t n_levels;     /* 1..WG_LEVELS_MAX */
	struct westgard_level_params levels[WG_LEVELS_MAX];
};

/* Defaults: rules 1-3s/2-2s/R-4s/4-1s/10x, warning 1-2s, 600 s, 20. */
void westgard_params_init(struct westgard_params *p, size_t n_levels);

/* 0 if usable, else -1 and why in err (sd <= 0, no levels, ...). */
int westgard_params_check(const struct westgard_params *p, char *err, size_t errlen);

/* The Westgard Sigma Rules choice for `rules: auto`. */
struct westgard_auto {
	bool have_sigma; /* false: some level has no target or no CV, or no TEa */
	double sigma;    /* lowest level sigma */
	int sigma_level; /* the level it came from */
	unsigned rules;
	int n_per_run; /* control measurements per run (N) */
	int runs;      /* R: runs the across-run rules look back over */
};

/* ---- state ---- */

struct wg_entry {
	uint64_t seq;
	double t, z; /* z is NAN for a baseline result (no target yet) */
	int level;
	bool in_view; /* counts for the rules (false once its lot changed) */
	char run[WG_ID_MAX];
};

struct wg_level {
	bool seen;
	char lot[WG_ID_MAX];
	/* baseline (Welford) since the level's current lot began */
	int bl_n;
	double bl_mean, bl_m2;
	bool established;
	double est_mean, est_sd;
	/* committed history: this level's results of closed, not rejected
	 * runs, oldest first */
	size_t n_hist;
	struct wg_entry hist[WG_HIST];
};

struct wg_ref {
	uint64_t seq;
	int level;
	char run[WG_ID_MAX];
};

struct wg_run {
	bool open;
	bool id_assigned; /* id made up by us ("t<epoch>") */
	char id[WG_ID_MAX];
	double first_t;
	enum qc_status status;
	unsigned fired;
	unsigned levels_seen;
	bool had_baseline;
	bool accepted_reported;
	size_t n;
	struct wg_entry res[WG_RUN_MAX];
	size_t n_involved;
	struct wg_ref involved[WG_INVOLVED_MAX];
};

struct westgard {
	uint64_t next_seq;
	struct wg_level lv[WG_LEVELS_MAX];
	size_t n_inter; /* interleaved committed history, all levels */
	struct wg_entry inter[WG_HIST];
	struct wg_run run;
};

void westgard_init(struct westgard *w);
void westgard_free(struct westgard *w); /* nothing to free today; call it anyway */

/* ---- evaluation ---- */

struct qc_input {
	int level; /* 0 .. n_levels-1 */
	double value;
	double t;        /* epoch seconds, from the daemon's clock or the payload */
	const char *run; /* "" or NULL: grouped by run_window */
	const char *lot; /* "" or NULL: no lot */
};

struct qc_verdict {
	uint64_t seq; /* this result's sequence number (per analyte) */
	int level;
	char run[WG_ID_MAX]; /* given, or assigned "t<epoch of the run's first result>" */
	double z;            /* NAN while the level has no target */
	bool has_target;
	double mean, sd;       /* the target z was computed with */
	enum qc_status status; /* the run's status so far */
	unsigned fired;        /* every rule that fired in the run so far */
	unsigned fired_now;    /* rules fired by this result */
	size_t n_involved;     /* results involved in the run's fired rules */
	struct wg_ref involved[WG_INVOLVED_MAX];
	bool run_complete;       /* every configured level has a result in the run */
	bool rejected_now;       /* the run just became rejected: fire the qc alert */
	bool run_accepted_now;   /* the run just completed, not rejected: resolve it */
	bool target_established; /* baseline just fixed mean/sd of target_level */
	int target_level;
	double target_mean, target_sd;
	bool lot_changed; /* this level's lot differs from its previous result's */
	char prev_lot[WG_ID_MAX];
	unsigned rules_in_force;     /* the rejection rules this result was judged by */
	struct westgard_auto chosen; /* rules_auto: the Sigma Rules choice */
};

/* Evaluate one QC result. Returns 0 and fills *out, or -1 with errno
 * EINVAL (level out of range, value or t not finite, bad params) and the
 * state unchanged. */
int westgard_eval(struct westgard *w, const struct westgard_params *p, const struct qc_input *in,
                  struct qc_verdict *out);

/* The Sigma Rules choice for the state's current targets (what the next
 * result would be judged by); also filled in every verdict. */
void westgard_choose_auto(const struct westgard *w, const struct westgard_params *p,
                          struct westgard_auto *out);

/* Internal to rules/westgard*.c: the configured target of a level for a
 * lot (lot X wins over lot ""), one with mean/sd or, want_bias, a bias. */
const struct westgard_target *westgard__target(const struct westgard_params *p, int level,
                                               const char *lot, bool want_bias);

/* ---- persistence ---- */

/* The whole state as a new cJSON object; the caller frees it with
 * cJSON_Delete(). NULL when out of memory. */
cJSON *westgard_to_json(const struct westgard *w);

/* Replace *w with the state in j. Returns 0, or -1 with why in err and *w
 * unchanged (the caller moves a corrupt state file aside). */
int westgard_from_json(struct westgard *w, const cJSON *j, char *err, size_t errlen);

#endif
