/*
 * whatif.h: the "what if" engine (issue 22): the lab's recorded QC
 * results re-judged by a candidate set of rejection rules through the
 * daemon's Westgard engine (rules/westgard.c). Shared by `labqcd
 * --what-if` (whatif.c, which prints) and the monthly report
 * (dashboards/report*.c, which prints the same figures per analyte).
 *
 * Fed one audit record at a time (whatif_record), it keeps per analyte
 * key (site/instrument/analyte) the runs as the record keys them (id,
 * rerun or not), with the record's final verdict (before) and the
 * candidate's (after). It reads nothing and writes nothing itself: no
 * store, state, journal or broker.
 *
 * The candidate: its rejection rules, the analyte config's warning rules
 * less the candidate's, its scope and replicates when given, the config
 * for everything else (targets, run window, baseline).
 */
#ifndef LABQCD_WHATIF_H
#define LABQCD_WHATIF_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>
#include <uthash.h>

#include "daemon/config.h"
#include "rules/westgard.h"

#define WHATIF_TARGETS_MAX 16 /* = qc_analytes.c's QC_TARGETS_MAX */

struct whatif_run_verdict {
	char id[WG_ID_MAX];
	bool rerun;
	double t; /* its first result */
	enum qc_status before, after;
	unsigned fired; /* the candidate's rules fired in the run */
	bool action;    /* the lab recorded a corrective action for it */
};

struct whatif_analyte {
	char key[CFG_NAME_MAX * 3 + 3];
	const struct cfg_qc_analyte *cfg;
	bool ok; /* judged: configured, and the candidate valid for it */
	struct westgard_params p;
	struct westgard_target targets[WG_LEVELS_MAX][WHATIF_TARGETS_MAX];
	struct westgard w;
	struct whatif_run_verdict *runs; /* in record order */
	size_t n_runs, cap_runs;
	unsigned long results, unjudged;
	UT_hash_handle hh;
};

struct whatif {
	const struct config *cfg;
	unsigned rules;      /* the candidate's rejection rules (mask) */
	int scope;           /* enum wg_scope, or -1: the config's */
	int replicates;      /* > 0: per level, else the config's */
	const char *analyte; /* only this key, or NULL: all */
	bool have_period;
	double start, end;   /* with a period: records with start <= ts < end */
	struct whatif_analyte *analytes;
	unsigned long results, unjudged;
};

/* A corrective action of the record, and whether the candidate caught
 * it: rejected that run, or one before it since the record's previous
 * rejected run (first: that run; runs_earlier: how many runs before). */
struct whatif_action {
	const struct whatif_run_verdict *run, *first;
	bool caught;
	size_t runs_earlier;
};

struct whatif_counts {
	size_t runs, rejected_before, rejected_after, changed, actions, caught;
};

/* Set up with the candidate `rules` ("1-3s/2-2s/R-4s"), scope -1 and
 * replicates 0 (the config's), all analytes, no period. 0, or -1 with
 * why in err (bad rules, none given). */
int whatif_init(struct whatif *w, const struct config *cfg, const char *rules, char *err,
		size_t errlen);
/* One record of the audit log, its ts parsed into t: `qc` and
 * `qc_action` records count, the rest are ignored. */
void whatif_record(struct whatif *w, const cJSON *rec, double t);
/* Analytes in key order (for printing). */
void whatif_sort(struct whatif *w);
struct whatif_analyte *whatif_find(const struct whatif *w, const char *key);
/* The analyte's counts; on_action, when given, is called for each
 * corrective action in run order. */
void whatif_count(const struct whatif_analyte *a, struct whatif_counts *c,
		  void (*on_action)(void *ctx, const struct whatif_analyte *a,
				    const struct whatif_action *x),
		  void *ctx);
/* k / n rounded to 6 decimals; 0 when n is 0. */
double whatif_rate(size_t k, size_t n);
void whatif_free(struct whatif *w);

#endif
