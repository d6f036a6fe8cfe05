/*
 * qc_int.h: what qc.c and qc_runs.c share: one analyte's QC state in the
 * daemon (engine state and parameters, the Levey-Jennings points, the
 * record of recent runs with their dispositions). Nothing else includes it.
 */
#ifndef LABQCD_QC_INT_H
#define LABQCD_QC_INT_H

#include "daemon/labqcd.h"

#include <uthash.h>

#define QC_RUNS_KEPT 32
#define QC_TEXT_MAX 256

/* One run as the record keeps it: its status, whether it was complete,
 * and what was done about it (DESIGN 4, 42 CFR 493.1282(b)(2)). */
enum qc_override { QC_OVERRIDE_NONE = 0, QC_OVERRIDE_ACCEPT, QC_OVERRIDE_REJECT };

struct qc_run {
	uint64_t run_no;
	char id[WG_ID_MAX];
	char rerun_of[WG_ID_MAX];
	double first_t, rejected_t;
	enum qc_status status; /* the engine's */
	bool complete, closed, incomplete_reported, action_alerted;
	bool has_action; /* a corrective action was recorded */
	char action[QC_TEXT_MAX];
	char by[ID_MAX];
	bool reviewed; /* patient results since the last accepted run reviewed */
	enum qc_override override;
	char reason[QC_TEXT_MAX];
};

#define TARGETS_MAX QC_TARGETS_MAX
#define LJ_KEPT 31 /* the Levey-Jennings chart shows the last 31 results */

/* A result as the Levey-Jennings chart shows it. Its status is its
 * run's, updated while the run stays open (a run rejected by its second
 * level marks the first level's point rejected too). */
struct lj_point {
	double t, value, z;
	enum qc_status status;
	bool unjudged; /* no targets to judge it by */
	char run[WG_ID_MAX], lot[WG_ID_MAX];
	char rules[64];
};

struct lj_change {
	double t;
	bool lot; /* else a target change */
	char label[80];
};

struct qc_analyte {
	char key[ID_MAX * 3 + 3]; /* site/instrument/analyte */
	char site[ID_MAX], instrument[ID_MAX], analyte[ID_MAX];
	const struct cfg_qc_analyte *cfg; /* NULL: not configured */
	bool params_ok;
	struct westgard_params p;
	struct westgard_target targets[WG_LEVELS_MAX][TARGETS_MAX];
	unsigned last_auto_rules;
	struct lj_point lj[WG_LEVELS_MAX][LJ_KEPT]; /* ring, oldest at lj_next */
	size_t lj_n[WG_LEVELS_MAX], lj_next[WG_LEVELS_MAX];
	struct lj_change changes[WG_LEVELS_MAX][8];
	size_t n_changes[WG_LEVELS_MAX];
	struct westgard w;
	/* qc_runs.c: the record of recent runs, missing QC */
	struct qc_run runs[QC_RUNS_KEPT]; /* ring, oldest at runs_next */
	size_t n_runs, runs_next;
	double last_complete_t; /* the latest complete run; 0: none yet */
	double watch_since;     /* when missing QC began to be watched */
	bool missing_firing;
	UT_hash_handle hh;
};


/* qc.c: the analyte's state, made on first use */
struct qc_analyte *qc_analyte_get(struct labqcd *d, const char *site, const char *instrument,
                                  const char *analyte);

/* qc_runs.c */
/* qc.c: a lot change or target change marked on the level's LJ chart. */
void qc_lj_change_add(struct qc_analyte *q, int level, double t, bool lot, const char *label);
struct qc_run *qc_run_find(struct qc_analyte *q, const char *id);
void qc_runs_note(struct labqcd *d, uint64_t seq, struct qc_analyte *q,
                  const struct qc_verdict *v, double t);
cJSON *qc_runs_to_json(const struct qc_analyte *q);
void qc_runs_from_json(struct qc_analyte *q, const cJSON *o);
void qc_runs_snapshot(const struct qc_analyte *q, struct dash_qc_analyte *a);
const char *qc_run_final(const struct qc_run *r);

#endif
