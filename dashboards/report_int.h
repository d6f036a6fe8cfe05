/*
 * report_int.h: what the files of a report share (report.c, report_audit.c,
 * report_rrd.c, report_qc.c, report_pdf.c, report_pages.c). The interface
 * to the daemon is report.h.
 *
 * The model: what the audit log says of each instrument in the period
 * (QC results, runs and their dispositions, targets, events, maintenance
 * periods, excursions, stale periods, missed tasks), read once; then per
 * channel what its RRD file says (struct rep_chan), read and freed one
 * instrument at a time.
 */
#ifndef LABQCD_REPORT_INT_H
#define LABQCD_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "daemon/whatif.h"
#include "dashboards/report.h"
#include "rules/report_stats.h"

#define REP_TEXT 256
#define REP_PATH_MAX (CFG_PATH_MAX + 256)
#define REP_EXC_MAX 1000 /* excursions listed per channel */

struct rep_qc {
	double t, value, z; /* z NAN when none */
	char analyte[CFG_NAME_MAX], level[CFG_NAME_MAX], lot[CFG_NAME_MAX], run[CFG_NAME_MAX];
	char status[16];
	char rules[96]; /* space separated */
	bool rerun;
};

struct rep_run {
	char analyte[CFG_NAME_MAX], id[CFG_NAME_MAX];
	bool rerun;
	double t;         /* its first result */
	char status[16];  /* the verdict of its results (accept, warning, reject, ...) */
	char final[16];   /* after an override */
	char rules[128];  /* every rule that fired in it, space separated */
	bool incomplete;
	char missing[96];
	bool has_action;
	double action_t;
	bool reviewed;
	char by[128], action[REP_TEXT], override_to[16], reason[REP_TEXT];
};

struct rep_target {
	double t;
	char analyte[CFG_NAME_MAX], level[CFG_NAME_MAX], lot[CFG_NAME_MAX];
	double mean, sd;
	char source[16];
};

struct rep_event {
	double t;
	char event[32], counter[CFG_NAME_MAX], task[CFG_NAME_MAX], by[128], comment[REP_TEXT];
};

/* A time span: a maintenance period, a stale period (what = channel), a
 * missed task (what = task; end = start). end NAN: still open. */
struct rep_span {
	double start, end;
	char what[CFG_NAME_MAX];
};

/* The last `pbrtqc_limits` record of an analyte before the period's
 * end: the limits its moving statistic learnt (issue 22). */
struct rep_pb_limits {
	char analyte[CFG_NAME_MAX];
	double t, lo, hi, mean, sd, n, far, block;
	char method[8], source[64];
};

struct rep_exc {
	char channel[CFG_NAME_MAX];
	struct excursion_list list;
};

struct rep_instrument {
	const struct cfg_instrument *cfg;
	struct rep_qc *qc;
	size_t n_qc, cap_qc;
	struct rep_run *runs;
	size_t n_runs, cap_runs;
	struct rep_target *targets; /* every one up to the period's end */
	size_t n_targets, cap_targets;
	struct rep_event *events; /* in the period */
	size_t n_events, cap_events;
	struct rep_span *maint, *stale, *missed;
	size_t n_maint, cap_maint, n_stale, cap_stale, n_missed, cap_missed;
	struct rep_exc *exc;
	size_t n_exc, cap_exc;
	double last_calibration; /* the last calibration_done before the end; NAN */
	struct rep_pb_limits *pbl;
	size_t n_pbl, cap_pbl;
};

struct rep_audit {
	unsigned long lines;     /* lines in the log */
	unsigned long head_line; /* the period's last line (0: none) */
	char head[65];
	bool chain_ok;
	char chain_err[256];
};

struct rep_model {
	const struct report_req *req;
	struct rep_instrument *ins;
	size_t n_ins;
	struct rep_audit audit;
	struct whatif *whatif; /* reports.what_if's candidate, fed the period's records; NULL: none */
};

/* ---- report_audit.c ---- */

/* Read state_dir/audit.jsonl into the model's instruments (already set
 * up from the config) and check its chain with audit_verify. A missing
 * log is an empty record. 0, or -1 with err set. */
int rep_read_audit(struct rep_model *m, char *err, size_t errlen);
void rep_instrument_free(struct rep_instrument *in);
/* A new zeroed element at the end of *arr (growing it); NULL when out of
 * memory. */
void *rep_grow(void *arrp, size_t *n, size_t *cap, size_t size);
/* The excursion list of a channel, created on first use; NULL: no memory. */
struct excursion_list *rep_exc_list(struct rep_instrument *in, const char *channel, bool create);

/* ---- report_rrd.c: one channel's data ---- */

struct rep_day {
	double start;
	struct chan_acc acc;
};

struct rep_gap {
	double start, end;
};

#define REP_BUCKETS 744 /* points on a channel's graph: hours of 31 days */

struct rep_chan {
	const struct cfg_channel *cfg;
	bool has_file;
	bool has_limits; /* min or max */
	bool temperature;
	struct band_limits lim;
	struct chan_acc all; /* min, max from the MIN and MAX archives */
	struct mkt_acc mkt;
	double finest_s, coarsest_s; /* resolution of the data librrd gave */
	struct rep_day *days;
	size_t n_days;
	struct rep_gap *gaps;
	size_t n_gaps, cap_gaps;
	struct excursion_list *exc; /* the audit's, peaks widened by the data; may be NULL */
	/* the graph: per bucket min, mean and max (NAN: no data) */
	double bucket_s;
	size_t n_buckets;
	double g_min[REP_BUCKETS], g_avg[REP_BUCKETS], g_max[REP_BUCKETS];
};

/* Read one channel's RRD file over the period, a day at a time. A
 * missing file leaves has_file false. 0, or -1 with err set. */
int rep_chan_read(const struct report_req *req, struct rep_instrument *in,
                  const struct cfg_channel *c, struct rep_chan *out, char *err, size_t errlen);
void rep_chan_free(struct rep_chan *c);
/* The counter's reading at t (the highest value up to t within a day);
 * NAN when unknown. */
double rep_counter_at(const struct report_req *req, const struct cfg_instrument *ins,
                      const char *counter, double t);

/* ---- report_qc.c: QC figures ---- */

#define REP_RULES_MAX 16
struct rep_lot_fig {
	char level[CFG_NAME_MAX], lot[CFG_NAME_MAX];
	struct qc_figures f;
	double target_mean, target_sd, tea;
	size_t n_all; /* results of the level and lot, rejected runs too */
};
struct rep_analyte_fig {
	const struct cfg_qc_analyte *cfg;
	struct rep_lot_fig *lots;
	size_t n_lots;
	unsigned runs_accept, runs_warning, runs_reject, runs_other;
	char rule[REP_RULES_MAX][12];
	unsigned rule_runs[REP_RULES_MAX];
	size_t n_rules;
	double *missing_days; /* local midnights without a QC result */
	size_t n_missing_days;
	struct rep_pbrtqc *pb;            /* with pbrtqc: configured, else NULL */
	const struct whatif_analyte *wi;  /* the candidate's re-judging; NULL: none */
};
int rep_analyte_figures(const struct rep_model *m, const struct rep_instrument *in,
                        const struct cfg_qc_analyte *a, struct rep_analyte_fig *out);
void rep_analyte_fig_free(struct rep_analyte_fig *f);

/* ---- report_pbrtqc.c: patient-based QC and "what if" (issue 22) ---- */

/* An analyte's moving statistic over the period: its series read like a
 * channel's (rep_chan_read of a channel "pbrtqc/<analyte>" whose limits
 * are the statistic's), its alerts the excursions of that name. */
struct rep_pbrtqc {
	struct cfg_channel ch;
	struct rep_chan chan;
	bool has_limits;
	double lo, hi;
	const char *limits_source;        /* "configured", "learnt", "learning" */
	const struct rep_pb_limits *rec;  /* the learnt limits' record; NULL */
	bool graphable;                   /* the name fits: "pbrtqc/<analyte>" */
};
/* report_audit.c: "pbrtqc/<analyte>" into buf; false when it does not fit. */
bool rep_pbrtqc_name(const char *analyte, char *buf, size_t len);
/* f->pb (when the analyte has pbrtqc:) and f->wi (with a candidate). 0,
 * or -1 with err set. */
int rep_pbrtqc_figures(const struct rep_model *m, struct rep_instrument *in,
                       struct rep_analyte_fig *f, char *err, size_t errlen);
void rep_pbrtqc_free(struct rep_analyte_fig *f);

/* ---- report_pdf.c / report_pages.c: drawing ---- */

struct rep_doc; /* one PDF being drawn */

/* The instrument's PDF: equipment, QC, maintenance, the record's head. */
int rep_pdf_instrument(const struct rep_model *m, const struct rep_instrument *in,
                       struct rep_chan *chans, size_t n_chans, struct rep_analyte_fig *figs,
                       size_t n_figs, const char *path, char *err, size_t errlen);
/* The site's summary page from the figures in report.json. */
int rep_pdf_site(const struct rep_model *m, const char *site, const cJSON *instruments,
                 const char *path, char *err, size_t errlen);

/* ---- report_period.c: the period and its times ---- */

/* "2026-11-03 14:05" in local time. */
void rep_time(double t, char *buf, size_t len);
void rep_date(double t, char *buf, size_t len); /* "2026-11-03" */
/* Local midnights of the period, one per day (caller frees); the count. */
size_t rep_days(const struct report_period *p, double **days);

#endif
