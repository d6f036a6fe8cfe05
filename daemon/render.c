/*
 * render.c: `labqcd --render`, a mode of main beside --replay: the
 * dashboard drawn once from the saved state, then exit (for cron).
 */
#include "daemon/labqcd.h"
#include "dashboards/dashboards.h"

#include <string.h>

/* labqcd --render: draw the site once from the saved state and exit.
 * Reads state.json and alerts.json (both replaced whole by the daemon,
 * so a running daemon is no obstacle) and the RRD files; writes only
 * under www_dir. Opens no audit log, journal or store. */
int render_run(struct config *cfg)
{
	struct labqcd d;
	struct dashboard *db;
	struct dash_stats stats;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.replay = true; /* nothing to send */
	struct alerts_opts ao = {.state_dir = cfg->daemon.state_dir};
	if ((d.alerts = alerts_open(cfg, NULL, &ao)) == NULL) {
		log_warn("alert engine");
		goto out;
	}
	state_load(&d);
	d.clock = wall_clock();
	equipment_reconfigure(&d);
	if ((db = dashboard_open(cfg, false)) == NULL) {
		log_warn("dashboard %s", cfg->daemon.www_dir);
		goto out;
	}
	struct dash_snapshot *s = dashboard_snapshot(&d, d.clock);
	if (s) {
		memset(&stats, 0, sizeof(stats));
		rc = dashboard_render_now(db, s, &stats) == 0 ? 0 : 1;
		log_info("render: %u graphs, %u charts, %u pages written in %.2f s (%u errors)",
			 stats.graphs_written, stats.charts_written, stats.pages_written,
			 stats.elapsed_s, stats.errors);
		dash_snapshot_free(s);
	}
	dashboard_close(db);
out:
	if (d.alerts)
		alerts_close(d.alerts);
	qc_free(&d);
	pbrtqc_free(&d);
	equipment_free(&d);
	conditions_free(&d);
	config_free(cfg);
	return rc;
}
