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
 *
 * Started by a running daemon (reports_spawn.c), LABQCD_REPORT_PARENT
 * holds the daemon's pid: the render then dies with the daemon and runs
 * at nice 19, which posix_spawn cannot set for it.
 */
#include "daemon/labqcd.h"
#include "dashboards/report.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* Started by the daemon: die with it (its queue renders this again at
 * its next start), and yield the CPU. -1 if it is gone already. */
static int bind_to_parent(void)
{
	const char *parent = getenv("LABQCD_REPORT_PARENT");

	if (parent == NULL)
		return 0;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != (pid_t)atol(parent))
		return -1;
	setpriority(PRIO_PROCESS, 0, 19);
	return 0;
}

int report_run(struct config *cfg, const char *period, const char *const *only, size_t n_only,
	       const char *out_dir)
{
	struct report_req req = {.cfg = cfg, .only = only, .n_only = n_only, .out_dir = out_dir};
	struct report_result res;
	char err[512];
	int rc;

	if (bind_to_parent() == -1) {
		fprintf(stderr, "labqcd: report %s: the daemon that asked for it is gone\n", period);
		config_free(cfg);
		return 1;
	}
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
