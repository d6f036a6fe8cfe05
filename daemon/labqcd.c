/*
 * labqcd.c: the running daemon's handle (struct labqcd, labqcd.h):
 * open and close, the clock, making alert transitions durable, the
 * checkpoint, flush and reload. Used by the event loop (daemon.c), the
 * control socket's commands and --replay; it calls down only.
 */
#include "daemon/labqcd.h"
#include "daemon/fleet.h"
#include "daemon/alert_chart.h"
#include "daemon/fsutil.h"
#include "daemon/heartbeat.h"
#include "daemon/rrdaddr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

int labqcd_open(struct labqcd *d, struct config *cfg, FILE *echo, bool replay, bool notify)
{
	const struct cfg_daemon *dc = &cfg->daemon;
	char path[4200];
	struct store_opts so = {
		.rrd_dir = dc->rrd_dir, .rrdcached = dc->rrdcached, .notes_dir = dc->state_dir,
		.heartbeat_s = dc->rrd_heartbeat_s, .layout = &cfg->rrd};

	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->replay = replay;
	d->notify_sends = notify;
	d->started = wall_clock();
	if (fs_mkdir_p(dc->state_dir, 0750) == -1) {
		log_warn("state_dir %s", dc->state_dir);
		return -1;
	}
	/* Over TCP, rrd_dir is the storage host's (daemon/rrdaddr.h). */
	if (rrdaddr_mode(dc->rrdcached) != RRDADDR_REMOTE && fs_mkdir_p(dc->rrd_dir, 0755) == -1) {
		log_warn("rrd_dir %s", dc->rrd_dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/audit.jsonl", dc->state_dir);
	if ((d->audit = audit_open(path, echo)) == NULL) {
		log_warn("audit log %s", path);
		return -1;
	}
	if ((d->store = store_open(&so)) == NULL) {
		log_warn("store %s", dc->rrd_dir);
		return -1;
	}
	/* Notifications: spooled, then sent by the notifier thread. In
	 * --replay without --notify the engine decides but sends nothing. */
	if (!d->replay || d->notify_sends) {
		snprintf(path, sizeof(path), "%s/spool", dc->state_dir);
		struct spool_opts spo = {.retry_initial_s = dc->notify_retry_s,
					  .retry_max_s = dc->notify_retry_max_s};
		if ((d->spool = spool_open(path, &spo)) == NULL) {
			log_warn("spool %s", path);
			return -1;
		}
		struct notify_opts no = {.chart = alert_chart_draw};
		if ((d->notify = notify_open(d->spool, &cfg->smtp, &no)) == NULL) {
			log_warn("notifier");
			return -1;
		}
	}
	/* Before the alert engine's spool recovery: it deletes staged
	 * entries it does not know, and the reports' may be recorded. */
	if (!d->replay && (d->reports = reports_open(dc->state_dir, d->spool)) == NULL) {
		log_warn("reports");
		return -1;
	}
	struct alerts_opts ao = {.state_dir = dc->state_dir, .external_url = NULL, .audit = d->audit};
	if ((d->alerts = alerts_open(cfg, d->spool, &ao)) == NULL) {
		log_warn("alert engine");
		return -1;
	}
	state_load(d);
	equipment_reconfigure(d);
	return 0;
}

/* state_dir full: retried after every input, so logged once (STYLE). */
static struct complaint commit_complaint;

void labqcd_commit_now(struct labqcd *d)
{
	d->transitions_pending = true;
	labqcd_commit_transitions(d);
}

void labqcd_commit_transitions(struct labqcd *d)
{
	if (!d->transitions_pending)
		return;
	d->transitions_pending = false;
	int audit_rc = audit_sync(d->audit), e = errno;
	if (alerts_save(d->alerts) == -1 || audit_rc == -1)
		complain(&commit_complaint, "making alert transitions durable: %s",
			 strerror(audit_rc == -1 ? e : errno));
	else
		complain_release(&commit_complaint, "alert transitions durable again");
}

void labqcd_close(struct labqcd *d)
{
	if (d->alerts) {
		alerts_save(d->alerts);
		alerts_close(d->alerts);
	}
	reports_close(d->reports);
	d->reports = NULL;
	if (d->notify)
		notify_close(d->notify);
	if (d->spool)
		spool_close(d->spool);
	qc_free(d);
	pbrtqc_free(d);
	conditions_free(d);
	equipment_free(d);
	d->alerts = NULL;
	d->notify = NULL;
	d->spool = NULL;
	if (d->store)
		store_close(d->store);
	if (d->audit)
		audit_close(d->audit);
	d->store = NULL;
	d->audit = NULL;
}

double labqcd_set_clock(struct labqcd *d)
{
	return d->clock = wall_clock();
}

void labqcd_checkpoint(struct labqcd *d)
{
	uint64_t upto;

	journal_commit(d->journal);
	/* Segments before this point can go once both the store and the
	 * state hold them; the store's writers catch up asynchronously (they
	 * are handed the values slice by slice over the interval: daemon.c's
	 * "store" timer), so the release covers what they have finished. */
	journal_rotate(d->journal, d->next_seq);
	audit_sync(d->audit);
	audit_publish_head(d); /* the anchor, retained on the broker */
	state_save(d);
	upto = store_done_seq(d->store);
	if (upto > d->state_seq)
		upto = d->state_seq;
	journal_release(d->journal, upto);
}

/* config_load with every error line sent to the log (syslog in daemon
 * mode, where stderr goes nowhere) and, when err is given, kept there
 * (the lines joined by newlines, truncated to errlen). */
static struct config *load_logged(const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&text, &len);
	struct config *cfg = config_load(path, errs);

	if (errs)
		fclose(errs);
	if (err && errlen)
		snprintf(err, errlen, "%.*s", text && len > 0 && text[len - 1] == '\n'
						   ? (int)len - 1 : (int)len,
			 text ? text : "");
	for (char *line = text, *nl; line && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		log_error("%s", line);
		if (!nl)
			break;
	}
	free(text);
	return cfg;
}

struct config *config_load_logged(const char *path)
{
	return load_logged(path, NULL, 0);
}

int labqcd_stop_checkpoint(struct labqcd *d, bool release)
{
	int rc;

	journal_sync(d->journal);
	store_sync(d->store);
	audit_sync(d->audit);
	rc = state_save(d);
	if (alerts_save(d->alerts) == -1)
		rc = -1;
	if (rc == 0 && release) {
		/* Everything the journal holds is in the RRD files and the
		 * state now: a successor replays nothing. */
		journal_rotate(d->journal, d->next_seq);
		uint64_t upto = store_done_seq(d->store);
		journal_release(d->journal, upto < d->state_seq ? upto : d->state_seq);
	}
	return rc;
}

void labqcd_flush(struct labqcd *d)
{
	labqcd_checkpoint(d);
	store_sync(d->store);
	state_save(d);
}

int labqcd_reload(struct labqcd *d, const char *path, char *err, size_t errlen)
{
	struct config *fresh;

	log_info("reloading %s", path);
	sd_notify(0, "RELOADING=1");
	fresh = load_logged(path, err, errlen);
	if (fresh == NULL) {
		log_warnx("reload: %s has errors (above); the running config is kept", path);
		sd_notify(0, "READY=1");
		return -1;
	}
	if (strcmp(fresh->mqtt.url, d->cfg->mqtt.url) != 0 ||
	    strcmp(fresh->mqtt.client_id, d->cfg->mqtt.client_id) != 0 ||
	    strcmp(fresh->daemon.rrd_dir, d->cfg->daemon.rrd_dir) != 0 ||
	    strcmp(fresh->daemon.state_dir, d->cfg->daemon.state_dir) != 0)
		log_warnx("reload: mqtt connection and daemon directories change only at restart");
	/* Keep the sections that only a restart changes, so what runs is
	 * what the log says. */
	fresh->daemon = d->cfg->daemon;
	struct cfg_mqtt running = d->cfg->mqtt; /* swapped: each config frees its own */
	d->cfg->mqtt = fresh->mqtt;
	fresh->mqtt = running;
	/* Everything that points into the config moves to the new one
	 * before the old one is freed. */
	struct config *old = d->cfg;
	d->cfg = fresh;
	alerts_set_config(d->alerts, fresh);
	if (d->notify)
		notify_set_smtp(d->notify, &fresh->smtp);
	if (d->heartbeat && heartbeat_configure(d->heartbeat, fresh, d->started) == -1)
		log_warnx("reload: heartbeat: out of memory; no heartbeat");
	qc_reconfigure(d);
	pbrtqc_reconfigure(d);
	equipment_reconfigure(d);
	if (d->fleet) /* the slice again: the url may have changed, instruments come and go */
		fleet_reload(d->fleet, fresh);
	config_free(old);
	log_set_level(fresh->daemon.log_level);
	log_info("reload: %s loaded (%zu instruments)", path, fresh->n_instruments);
	sd_notify(0, "READY=1");
	return 0;
}
