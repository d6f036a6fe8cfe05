/*
 * report.h: periodic reports an inspector reads (issue 19): for a period
 * (a month, an ISO week or a range of days), from state_dir/audit.jsonl
 * and the RRD files only, per instrument a PDF (equipment pages, QC
 * pages, maintenance page, the audit log's head and chain result), per
 * site a summary PDF, and report.json holding every printed figure.
 *
 *   <out_dir>/<site>_<instrument>_<period>.pdf
 *   <out_dir>/<site>_<period>.pdf
 *   <out_dir>/report.json
 *
 * report_render() runs on the caller's thread (labqcd --report's own
 * process, or the daemon's report thread at idle priority), reads the
 * audit log once, then streams each channel's RRD data a day at a time
 * and draws one instrument at a time, so memory is bounded by one day of
 * one channel plus one instrument's figures, whatever the number of
 * channels. cairo's PDF surface draws (A4, page numbers, the lab's name
 * and the period on every page, fonts embedded by cairo).
 */
#ifndef LABQCD_REPORT_H
#define LABQCD_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/config.h"

struct report_period {
	double start, end; /* epoch seconds, local midnights; end exclusive */
	char label[40];    /* "2026-11", "2026-W47", "2026-11-01..2026-11-15" */
};

/* PERIOD as the command line takes it: "2026-11", "2026-W47" or
 * "2026-11-01..2026-11-15" (both days included), in local time. 0, or -1
 * with err set. */
int report_period_parse(const char *s, struct report_period *p, char *err, size_t errlen);

/* The last whole period (month, or ISO week when `weekly`) that ended
 * at or before `now`. */
void report_period_previous(double now, bool weekly, struct report_period *p);

struct report_req {
	const struct config *cfg;
	struct report_period period;
	const char *const *only; /* "site/instrument" filters; none: every instrument */
	size_t n_only;
	const char *out_dir; /* created if missing */
};

struct report_result {
	char **files; /* paths written, PDFs then report.json; caller frees */
	size_t n_files;
	bool chain_ok;
	char head[65]; /* SHA-256 hex of the period's last record line; "" if none */
};

/* Render the reports. 0; -1 with err set (nothing usable written). */
int report_render(const struct report_req *req, struct report_result *res, char *err,
                  size_t errlen);
void report_result_free(struct report_result *res);

#endif
