/*
 * daemon.c: the running daemon: open, recover, loop, checkpoint, stop.
 *
 * One thread owns all state and runs one poll() loop over the broker
 * socket with monotonic deadlines (flush/checkpoint, broker keepalive
 * and reconnect). Signal handlers only set flags.
 *
 * Nothing lost: each message is journaled (journal_append, in the
 * message callback, puts it in the page cache) before it is parsed. A checkpoint
 * (every flush_interval) rotates the journal, hands the store's pending
 * writes to its writer thread and saves the state; journal segments are
 * deleted only once the store has written, and the state and audit log
 * hold, everything they contain. At start, the journal is replayed
 * through the same dispatch code before the broker is contacted: samples
 * already in their RRD files are refused as late, the rest land, and
 * records already in the audit log are not written twice.
 */
#include "daemon/labqcd.h"
#include "daemon/alert_chart.h"
#include "daemon/control.h"
#include "daemon/fsutil.h"
#include "daemon/health.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t want_stop, want_reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		want_reload = 1;
	else
		want_stop = 1;
}

int labqcd_open(struct labqcd *d, struct config *cfg, FILE *echo, bool replay, bool notify)
{
	const struct cfg_daemon *dc = &cfg->daemon;
	char path[4200];
	struct store_opts so = {
		.rrd_dir = dc->rrd_dir, .rrdcached = dc->rrdcached, .heartbeat_s = dc->rrd_heartbeat_s,
		.layout = &cfg->rrd};

	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->replay = replay;
	d->notify_sends = notify;
	d->started = wall_clock();
	if (fs_mkdir_p(dc->state_dir, 0750) == -1) {
		log_warn("state_dir %s", dc->state_dir);
		return -1;
	}
	if (fs_mkdir_p(dc->rrd_dir, 0755) == -1) {
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
	struct alerts_opts ao = {.state_dir = dc->state_dir, .external_url = NULL};
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
	if (d->notify)
		notify_close(d->notify);
	if (d->spool)
		spool_close(d->spool);
	qc_free(d);
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

/* ---- live input ---- */

static void on_input(void *ctx, const struct message *m)
{
	struct labqcd *d = ctx;
	uint64_t seq = d->next_seq++;

	/* First the journal: the broker already has its PUBACK. In the page
	 * cache now, not after the read burst: a kill -9 inside a burst of
	 * thousands of acknowledged messages would lose them (test_faults
	 * under valgrind). A copy into the mapped segment, or one write(2)
	 * where the segment is buffered; no fsync. */
	if (journal_append(d->journal, seq, m) == -1)
		log_warnx("journal: record of %zu bytes refused", m->topic_len + m->payload_len);
	else
		journal_commit(d->journal);
	dispatch_message(d, seq, m);
}

static void on_recovered(void *ctx, uint64_t seq, const struct message *m)
{
	struct labqcd *d = ctx;

	d->n.recovered++;
	dispatch_message(d, seq, m);
	if (seq >= d->next_seq)
		d->next_seq = seq + 1;
}

/* Replay what the journal holds from before this start. */
static int recover(struct labqcd *d)
{
	int64_t last;

	d->recovering = true;
	d->next_seq = d->state_seq + 1;
	if (audit_last_seq(d->audit) >= d->next_seq)
		d->next_seq = audit_last_seq(d->audit) + 1;
	last = journal_replay(d->journal, on_recovered, d);
	d->recovering = false;
	if (last < 0)
		return -1;
	if (d->n.recovered)
		log_info("journal: %llu records replayed from before the last stop",
			 (unsigned long long)d->n.recovered);
	/* Make the replayed samples durable before the journal goes. */
	store_sync(d->store);
	state_save(d);
	if (journal_start(d->journal, d->next_seq) == -1)
		return -1;
	audit_sync(d->audit);
	journal_release(d->journal, store_done_seq(d->store) < d->state_seq
					    ? store_done_seq(d->store)
					    : d->state_seq);
	return 0;
}

static void checkpoint(struct labqcd *d)
{
	uint64_t upto;

	journal_commit(d->journal);
	/* Segments before this point can go once both the store and the
	 * state hold them; the store's writer catches up asynchronously, so
	 * the release covers what it has finished. */
	journal_rotate(d->journal, d->next_seq);
	store_flush(d->store);
	audit_sync(d->audit);
	state_save(d);
	upto = store_done_seq(d->store);
	if (upto > d->state_seq)
		upto = d->state_seq;
	journal_release(d->journal, upto);
}

/* config_load with every error line sent to the log (syslog in daemon
 * mode, where stderr goes nowhere). */
struct config *config_load_logged(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&text, &len);
	struct config *cfg = config_load(path, errs);

	if (errs)
		fclose(errs);
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

void labqcd_flush(struct labqcd *d)
{
	checkpoint(d);
	store_sync(d->store);
	state_save(d);
}

int labqcd_reload(struct labqcd *d, const char *path)
{
	struct config *fresh;

	log_info("reloading %s", path);
	sd_notify(0, "RELOADING=1");
	fresh = config_load_logged(path);
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
	qc_reconfigure(d);
	equipment_reconfigure(d);
	config_free(old);
	log_set_level(fresh->daemon.log_level);
	log_info("reload: %s loaded (%zu instruments)", path, fresh->n_instruments);
	sd_notify(0, "READY=1");
	return 0;
}

static struct mqtt *open_mqtt(struct labqcd *d)
{
	const struct cfg_mqtt *mc = &d->cfg->mqtt;
	char password[512] = "";
	struct mqtt *m;

	if (mc->password_file[0]) {
		char err[256];
		if (fs_read_secret(mc->password_file, password, sizeof(password), err,
				       sizeof(err)) == -1) {
			log_warnx("mqtt: password_file %s: %s", mc->password_file, err);
			return NULL;
		}
	}
	struct mqtt_opts o = {.host = mc->host,
			      .port = mc->port,
			      .tls = mc->tls,
			      .client_id = mc->client_id,
			      .username = mc->username,
			      .password = password,
			      .ca_file = mc->ca_file,
			      .cert_file = mc->cert_file,
			      .key_file = mc->key_file,
			      .qos = mc->qos,
			      .clean_session = mc->clean_session,
			      .keepalive_s = mc->keepalive_s,
			      .subscribe = mc->subscribe,
			      .n_subscribe = mc->n_subscribe};
	m = mqtt_new(&o, on_input, d);
	explicit_bzero(password, sizeof(password));
	return m;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int daemon_run(struct config *cfg, const char *config_path)
{
	struct labqcd d;
	struct control *ctl = NULL;
	char path[4200];
	double next_checkpoint;
	int rc = 0;

	install_signals();
	if (labqcd_open(&d, cfg, NULL, false, false) == -1)
		return 1;
	snprintf(path, sizeof(path), "%s/journal", cfg->daemon.state_dir);
	if ((d.journal = journal_open(path)) == NULL) {
		log_warn("journal %s", path);
		labqcd_close(&d);
		return 1;
	}
	if (recover(&d) == -1) {
		log_warn("journal recovery");
		rc = 1;
		goto out;
	}
	if ((d.mqtt = open_mqtt(&d)) == NULL) {
		rc = 1;
		goto out;
	}
	if (notify_start(d.notify) == -1) {
		log_warn("notifier thread");
		rc = 1;
		goto out;
	}
	if ((ctl = control_open(cfg->daemon.control_socket, 0660, &d, config_path)) == NULL) {
		log_warn("control socket %s", cfg->daemon.control_socket);
		rc = 1;
		goto out;
	}
	log_info("labqcd %s started: %zu instruments configured, broker %s", LABQCD_VERSION,
		 cfg->n_instruments, cfg->mqtt.url);
	sd_notify(0, "READY=1\nSTATUS=running");
	next_checkpoint = mono_clock() + d.cfg->daemon.flush_interval_s;
	double next_render = mono_clock() + 1.0; /* a first picture soon after start */
	double next_rule_tick = mono_clock();
	if ((d.dashboard = dashboard_open(d.cfg, true)) == NULL)
		log_warn("dashboard %s: not rendering", d.cfg->daemon.www_dir);
	/* Health telemetry soon after start, then once a minute; the
	 * systemd watchdog at half its
	 * interval (the loop wakes at least once a second). */
	double next_health = mono_clock() + 5.0, next_watchdog = 0, watchdog_s = 0;
	uint64_t watchdog_usec = 0;
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
		watchdog_s = watchdog_usec / 2e6;

	while (!want_stop) {
		struct pollfd pfds[2 + CONTROL_CLIENTS_MAX];
		/* Writers far behind: let the broker hold messages a moment. */
		bool hold = store_backlogged(d.store);
		struct pollfd pfd = {.fd = mqtt_fd(d.mqtt), .events = hold ? 0 : POLLIN};
		double now = mono_clock();
		double wait = fmin(next_checkpoint - now, mqtt_next_deadline(d.mqtt, now));
		double alert_due = alerts_next_deadline(d.alerts);
		if (alert_due > 0)
			wait = fmin(wait, alert_due - wall_clock());
		wait = fmin(wait, hold ? 0.01 : 1.0); /* time-driven rules run once a second */
		int timeout_ms = wait <= 0 ? 0 : (int)ceil(wait * 1000);

		if (want_reload) {
			want_reload = 0;
			labqcd_reload(&d, config_path);
		}
		if (mqtt_want_write(d.mqtt))
			pfd.events |= POLLOUT;
		/* pfds[0] the broker (fd -1 while disconnected: poll skips it),
		 * then the control socket and its clients. */
		pfds[0] = pfd;
		int n_ctl = control_pollfds(ctl, pfds + 1, CONTROL_CLIENTS_MAX + 1);
		int n = poll(pfds, (nfds_t)(1 + n_ctl), timeout_ms);
		if (n == -1 && errno != EINTR) {
			log_warn("poll");
			continue;
		}
		pfd = pfds[0];
		now = mono_clock();
		mqtt_io(d.mqtt, n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)),
			n > 0 && (pfd.revents & POLLOUT), now);
		journal_commit(d.journal);
		labqcd_commit_transitions(&d);
		if (n > 0)
			control_io(ctl, pfds + 1, n_ctl, now);
		if (watchdog_s > 0 && now >= next_watchdog) {
			sd_notify(0, "WATCHDOG=1");
			next_watchdog = now + watchdog_s;
		}
		if (now >= next_health) {
			health_publish(&d);
			next_health = now + 60.0;
		}
		journal_commit(d.journal);
		labqcd_commit_transitions(&d);
		d.clock = wall_clock();
		/* Time-driven rules once a second (not once per burst of
		 * messages); the alert engine's own deadlines as they fall. */
		if (now >= next_rule_tick) {
			equipment_tick(&d, d.clock);
			qc_tick(&d, d.clock);
			alerts_tick(d.alerts, d.clock);
			next_rule_tick = now + 1.0;
		} else if (alert_due > 0 && d.clock >= alert_due) {
			alerts_tick(d.alerts, d.clock);
		}
		labqcd_commit_transitions(&d);
		if (d.dashboard && now >= next_render) {
			struct dash_snapshot *snap = dashboard_snapshot(&d, wall_clock());
			if (snap)
				dashboard_post(d.dashboard, snap);
			next_render = now + d.cfg->daemon.dashboard_interval_s;
		}
		if (now >= next_checkpoint) {
			checkpoint(&d);
			next_checkpoint = now + d.cfg->daemon.flush_interval_s;
		}
	}
	control_close(ctl);
	ctl = NULL;
	log_info("stopping: flushing samples and state");
	sd_notify(0, "STOPPING=1");
out:
	control_close(ctl);
	if (d.journal) {
		journal_sync(d.journal);
		store_sync(d.store);
		audit_sync(d.audit);
		if (state_save(&d) == 0 && rc == 0) {
			journal_rotate(d.journal, d.next_seq);
			uint64_t upto = store_done_seq(d.store);
			journal_release(d.journal, upto < d.state_seq ? upto : d.state_seq);
		}
	}
	mqtt_free(d.mqtt);
	dashboard_close(d.dashboard);
	labqcd_close(&d);
	journal_close(d.journal);
	config_free(d.cfg);
	return rc;
}
