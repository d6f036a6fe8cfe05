/*
 * westgard.h: Westgard multirule QC for one instrument + analyte
 * (DESIGN section 4). Pure: no I/O, no clock, no globals, no logging.
 *
 * One struct westgard holds the whole state of one analyte (1 to 3
 * control levels): per level and lot its targets, baseline and history;
 * the history of all levels in run order the count rules look back over;
 * and the open run. It is a fixed-size plain struct (no heap), so
 * evaluation never allocates.
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
 *    of v.fired (westgard_rules_names()); v.rerun_of when the run is the
 *    rerun of a rejected run under the same id;
 *  - v.target_established: a `target` record for level v.target_level and
 *    lot v.target_lot with v.target_mean / v.target_sd, source
 *    v.target_source ("baseline", or "provisional" with the SD carried
 *    from lot v.target_cv_from's CV);
 *  - v.rejected_now: the run just became rejected: fire the `qc` alert;
 *  - v.run_accepted_now: a run just completed (every configured level has
 *    its replicates in it) without being rejected: resolve the `qc` alert.
 *    "Accepted" here means not rejected: status accept, warning (a warning
 *    rule only), provisional or baseline. A run can report
 *    run_accepted_now and later, if a repeated level of it breaks a rule,
 *    rejected_now; never the reverse (a rejected run stays rejected).
 *  - v.closed: the result opened a new run and so closed the previous one
 *    (v.closed_run): incomplete when not every level was in it;
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
	QC_PROVISIONAL, /* no rule fired; a new lot's result waited for its provisional target */
	QC_BASELINE,    /* no rule fired; a result was judged against no target yet */
	QC_WARNING,     /* only warning rules fired */
	QC_REJECT,
};

/* Where the count rules (4-1s 3-1s 6x 8x 9x 10x 12x) look (DESIGN 4). */
enum wg_scope {
	WG_SCOPE_RUNS = 0, /* across levels in run order, at most R runs back (default) */
	WG_SCOPE_LEVEL,    /* the level's (and lot's) own last n results */
	WG_SCOPE_BOTH,     /* either, unaligned: the old behaviour, more false rejections */
};

/* The SD a new lot gets with its provisional mean. */
enum wg_lot_sd {
	WG_LOT_SD_CARRY_CV = 0, /* the previous lot's CV times the new mean (CLSI C24) */
	WG_LOT_SD_BASELINE,     /* the SD of the new lot's own first results */
};

/* Westgard Sigma Rules, 3 levels below 4 sigma: the chart's alternatives. */
enum wg_sigma_option {
	WG_SIGMA_N6R1 = 0, /* 1-3s/2of3-2s/R-4s/3-1s/6x, N=6 (2 per level), R=1 (default) */
	WG_SIGMA_N3R2,     /* the same rules, N=3, R=2 */
	WG_SIGMA_9X,       /* 1-3s/2of3-2s/R-4s/3-1s/9x, N=3, R=3 */
};

#define WG_LEVELS_MAX 3
#define WG_LOTS_MAX 4 /* lots kept per level (crossover); the least recently seen goes */
#define WG_ID_MAX 65  /* run ids and lots: 64 characters + NUL (DESIGN 2) */
#define WG_HIST 12    /* longest look-back: 12x */
#define WG_RUN_MAX 16 /* results of one run kept for the rules (repeats beyond drop the oldest) */
#define WG_INVOLVED_MAX 48
#define WG_BASELINE_N 20
#define WG_LOT_BASELINE_N 10
#define WG_RUN_WINDOW_S 600.0
#define WG_REPLICATES_MAX 4

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

/* "accept", "provisional", "baseline", "warning", "reject". */
const char *westgard_status_name(enum qc_status s);

/* "runs", "level", "both"; and back (-1 when unknown). */
const char *westgard_scope_name(enum wg_scope s);
int westgard_scope_parse(const char *s);

/* ---- parameters (from the config; owned by the caller) ---- */

/* Target of one level for one lot: lot "" applies to results without a
 * lot, lot "X" to lot X only. has_mean_sd false: only a bias for rules:
 * auto (a bias without lot applies to every lot). */
struct westgard_target {
	char lot[WG_ID_MAX];
	bool has_mean_sd;
	double mean, sd;
	bool has_bias;
	double bias_pct;
};

struct westgard_level_params {
	const char *name; /* orders a run's results (by name); NULL: by index */
	const struct westgard_target *targets; /* not owned; may be NULL */
	size_t n_targets;
};

struct westgard_params {
	unsigned rules;      /* rejection rules (mask); ignored when rules_auto */
	unsigned warning;    /* warning rules: they mark a run warning only */
	bool rules_auto;     /* Westgard Sigma Rules choose rules, N and R (needs tea) */
	double tea_pct;      /* allowable total error, percent; <= 0: none */
	double run_window_s; /* default WG_RUN_WINDOW_S */
	int baseline_n;      /* default WG_BASELINE_N, at least 2 */
	int lot_baseline_n;  /* a new lot's provisional mean: default WG_LOT_BASELINE_N */
	int replicates;      /* results per level in a run; 0: 1, or the chart's N with auto */
	enum wg_scope scope;
	enum wg_lot_sd lot_sd;
	enum wg_sigma_option sigma_option;
	size_t n_levels;     /* 1..WG_LEVELS_MAX */
	struct westgard_level_params levels[WG_LEVELS_MAX];
};

/* Defaults: rules 1-3s/2-2s/R-4s/4-1s/10x, warning 1-2s, 600 s, 20,
 * lot baseline 10, scope runs, carry the CV. */
void westgard_params_init(struct westgard_params *p, size_t n_levels);

/* 0 if usable, else -1 and why in err (sd <= 0, no levels, ...). */
int westgard_params_check(const struct westgard_params *p, char *err, size_t errlen);

/* The Westgard Sigma Rules choice for `rules: auto`. */
struct westgard_auto {
	bool have_sigma;   /* false: some level has no target or no CV, or no TEa */
	bool bias_missing; /* some level had no bias: counted as 0 */
	double sigma;      /* lowest level sigma */
	double bias_pct;   /* the bias of that level (0 when missing) */
	int sigma_level;   /* the level it came from */
	unsigned rules;
	int n_per_run;  /* control measurements per run (N) */
	int replicates; /* N per level */
	int runs;       /* R: runs the count rules look back over */
};

struct westgard;

/* What a result is judged by: the rejection rules, replicates per level
 * and, per count rule, the runs it may reach back over (scope runs). */
struct westgard_plan {
	unsigned rules;
	int replicates;
	int runs_auto; /* > 0: the chart's R for every count rule */
};
void westgard_plan(const struct westgard *w, const struct westgard_params *p,
                   struct westgard_plan *out, struct westgard_auto *chosen);

/* Runs a count rule of n results may reach back over: ceil(n / (levels
 * x replicates)), or R from the chart. */
int westgard_lookback(size_t n_levels, int replicates, int runs_auto, int n);

/* ---- state ---- */

struct wg_entry {
	uint64_t seq;
	uint64_t run_no; /* runs counted from 1, reruns included */
	double t, value, z; /* z is NAN for a result with no target yet */
	int level;
	int lot; /* slot in the level's lots */
	char run[WG_ID_MAX];
};

/* Welford sums: n, mean, sum of squared deviations. */
struct wg_sum {
	double n, mean, m2;
};

/* Per level and lot: cumulative and this month's values, all results
 * and those of runs that closed without a rejection. */
struct wg_stats {
	int month; /* year * 12 + month - 1 of `month_*` (UTC) */
	struct wg_sum all, acc, month_all, month_acc;
};

enum wg_learn {
	WG_LEARN_BASELINE = 0, /* mean and SD from the first baseline_n results */
	WG_LEARN_PROVISIONAL,  /* mean from the first lot_baseline_n, SD from the CV */
};

struct wg_lot {
	bool used;
	char lot[WG_ID_MAX];
	uint64_t last_seq; /* the lot's latest result (least recently seen goes first) */
	enum wg_learn learn;
	double carry_cv;             /* provisional: the previous lot's SD / |mean| */
	char carry_from[WG_ID_MAX];  /* that lot ("" = the targets without lot) */
	int bl_n;
	double bl_mean, bl_m2;
	uint64_t bl_first_run;
	bool bl_two_runs;
	bool established;
	double est_mean, est_sd;
	/* this level's and lot's results of closed, not rejected runs, oldest first */
	size_t n_hist;
	struct wg_entry hist[WG_HIST];
	struct wg_stats st;
};

struct wg_level {
	char last_lot[WG_ID_MAX]; /* lot of the level's latest result */
	bool seen;
	struct wg_lot lots[WG_LOTS_MAX];
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
	char rerun_of[WG_ID_MAX]; /* "" or the rejected run this one reruns */
	uint64_t run_no;
	double first_t;
	enum qc_status status;
	unsigned fired;
	unsigned levels_seen;
	unsigned char count[WG_LEVELS_MAX][WG_LOTS_MAX]; /* results per level and lot */
	bool had_baseline, had_provisional;
	bool accepted_reported;
	size_t n;
	struct wg_entry res[WG_RUN_MAX]; /* arrival order */
	size_t n_involved;
	struct wg_ref involved[WG_INVOLVED_MAX];
};

struct westgard {
	uint64_t next_seq;
	uint64_t next_run_no;
	struct wg_level lv[WG_LEVELS_MAX];
	/* committed results of all levels in run order (by run, then level
	 * name, then arrival), rejected runs left out */
	size_t n_inter;
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
	uint64_t run_no;     /* the run's number (reruns share an id, not a number) */
	char rerun_of[WG_ID_MAX]; /* "" or the id of the rejected run this one reruns */
	double z;            /* NAN while the level's lot has no target */
	bool has_target;
	double mean, sd;       /* the target z was computed with */
	enum qc_status status; /* the run's status so far */
	unsigned fired;        /* every rule that fired in the run so far */
	unsigned fired_now;    /* rules fired by this result */
	size_t n_involved;     /* results involved in the run's fired rules */
	struct wg_ref involved[WG_INVOLVED_MAX];
	bool run_complete;       /* every configured level has its replicates in the run */
	bool rejected_now;       /* the run just became rejected: fire the qc alert */
	bool run_accepted_now;   /* the run just completed, not rejected: resolve it */
	bool target_established; /* baseline or provisional just fixed a target */
	int target_level;
	char target_lot[WG_ID_MAX];
	const char *target_source; /* "baseline" or "provisional" */
	char target_cv_from[WG_ID_MAX];
	double target_mean, target_sd;
	bool lot_changed; /* this level's lot differs from its previous result's */
	bool lot_new;     /* the first result of this lot on this level (kept lots) */
	char prev_lot[WG_ID_MAX];
	/* the run this result closed by opening a new one */
	bool closed;
	char closed_run[WG_ID_MAX];
	uint64_t closed_run_no;
	bool closed_complete;
	unsigned closed_levels_seen;
	enum qc_status closed_status;
	unsigned rules_in_force;     /* the rejection rules this result was judged by */
	int replicates;              /* per level, in force */
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

/* Statistics of one level and lot: n, mean, SD (n-1), CV in per cent
 * (NAN when undefined). */
struct westgard_stat {
	double n, mean, sd, cv;
};
void westgard_stat_of(const struct wg_sum *s, struct westgard_stat *out);
/* year * 12 + month - 1 of an epoch time, UTC */
int westgard_month(double t);

/* ---- internal to rules/westgard*.c ---- */

/* The configured target of a level for a lot (exact lot), one with
 * mean/sd or, want_bias, a bias (a bias without lot applies to all). */
const struct westgard_target *westgard__target(const struct westgard_params *p, int level,
                                               const char *lot, bool want_bias);
/* Mean and SD of a lot slot: configured, else established; false: none. */
bool westgard__lot_target(const struct westgard_params *p, const struct westgard *w, int level,
                          int slot, double *mean, double *sd);
/* westgard_runs.c: the run a result belongs to, and its lot slot. */
int westgard__lot_slot(struct westgard *w, const struct westgard_params *p, int level,
                       const char *lot, bool *is_new);
void westgard__place(struct westgard *w, const struct westgard_params *p, const struct qc_input *in,
                     int replicates, struct qc_verdict *out);
int westgard__rank(const struct westgard_params *p, int level);
void westgard__sum_add(struct wg_sum *s, double x);
void westgard__stats_add(struct wg_stats *st, double t, double value, bool accepted);
/* westgard_count.c: the rules fired by the newest result of the open run */
struct wg_hits {
	size_t n;
	const struct wg_entry *e[WG_INVOLVED_MAX];
};
unsigned westgard__rules(const struct westgard *w, const struct westgard_params *p,
                         const struct westgard_plan *plan, const struct wg_entry *x,
                         unsigned mask, struct wg_hits *h);

/* ---- persistence ---- */

/* The whole state as a new cJSON object; the caller frees it with
 * cJSON_Delete(). NULL when out of memory. */
/* The rules of `mask` as a JSON array of their canonical names (records). */
cJSON *westgard_rules_json(unsigned mask);
cJSON *westgard_to_json(const struct westgard *w);

/* Replace *w with the state in j. Returns 0, or -1 with why in err and *w
 * unchanged (the caller moves a corrupt state file aside). A state of an
 * older version (1: interleaved histories, one lot per level) is refused
 * with a message saying so. */
int westgard_from_json(struct westgard *w, const cJSON *j, char *err, size_t errlen);

#endif
