/*
 * report_run.c: labqcd -c FILE --report PERIOD [--instrument SITE/INSTRUMENT]...
 * --out DIR (issue 19).
 *
 * A process of its own, apart from a running daemon's ingest: it reads
 * state_dir/audit.jsonl and the RRD files (never writes them), renders
 * the reports into DIR and prints the files it wrote, then whether the
 * audit log's chain is whole up to the period's head. Exit 0 when the
 * reports were written (a broken chain is said in them and on stderr,
 * and exits 3, so a script notices), 1 on an error, 2 on bad arguments.
 */
#include "daemon/labqcd.h"
#include "dashboards/report.h"

#include <stdio.h>

int report_run(struct config *cfg, const char *period, const char *const *only, size_t n_only,
	       const char *out_dir)
{
	struct report_req req = {.cfg = cfg, .only = only, .n_only = n_only, .out_dir = out_dir};
	struct report_result res;
	char err[512];
	int rc;

	if (report_period_parse(period, &req.period, err, sizeof(err)) == -1) {
		fprintf(stderr, "labqcd: --report %s\n", err);
		config_free(cfg);
		return 2;
	}
	if (report_render(&req, &res, err, sizeof(err)) == -1) {
		fprintf(stderr, "labqcd: report %s: %s\n", req.period.label, err);
		config_free(cfg);
		return 1;
	}
	for (size_t i = 0; i < res.n_files; i++)
		printf("%s\n", res.files[i]);
	if (res.chain_ok)
		fprintf(stderr, "labqcd: report %s: audit log head %s, chain whole\n",
			req.period.label, res.head[0] ? res.head : "(none)");
	else
		fprintf(stderr, "labqcd: report %s: the audit log's chain is BROKEN (see the "
				"reports)\n",
			req.period.label);
	rc = res.chain_ok ? 0 : 3;
	report_result_free(&res);
	config_free(cfg);
	return rc;
}
