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
#include "daemon/fleet.h"
#include "daemon/fsutil.h"
#include "daemon/health.h"
#include "daemon/heartbeat.h"
#include "dashboards/dashboards.h"

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

#define FLEET_CHECK_S 10.0 /* the start's wait for the peers' announcements */

static volatile sig_atomic_t want_stop, want_reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		want_reload = 1;
	else
		want_stop = 1;
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

/* ---- the event loop's timers ---- */

/* What the timers work on. */
struct loop {
	struct labqcd *d;
	double watchdog_s; /* systemd's watchdog at half its interval; 0 = none */
	double render_at;  /* the next render at dashboard_interval (monotonic) */
	double slices_t0;     /* when the store's slices started (monotonic) */
	uint64_t slices_done; /* store slices handed over since slices_t0 */
};

/*
 * A timer runs when the monotonic clock passes `next`, and returns the
 * delay until it runs again; `due` (may be NULL), asked on every pass,
 * may bring it forward (an alert group due sooner, a render wanted now).
 * The loop sleeps in poll() until the earliest `next`, at most a second,
 * as ntpd computes its next action; the transitions every timer made are
 * made durable once at the end of the pass.
 */
struct timer {
	const char *name;
	double next;
	double (*run)(struct loop *l, double now);
	double (*due)(struct loop *l, double now);
};

static double run_watchdog(struct loop *l, double now)
{
	(void)now;
	if (l->watchdog_s <= 0)
		return 3600;
	sd_notify(0, "WATCHDOG=1");
	return l->watchdog_s;
}

static double run_health(struct loop *l, double now)
{
	(void)now;
	health_publish(l->d);
	return 60.0;
}

/* Asked at least once a second, so a reload's new interval takes. */
static double run_heartbeat(struct loop *l, double now)
{
	return fmin(heartbeat_tick(l->d->heartbeat, now), 1.0);
}

/* Time-driven rules once a second, not once per burst of messages. */
static double run_rules(struct loop *l, double now)
{
	struct labqcd *d = l->d;

	(void)now;
	equipment_tick(d, d->clock);
	qc_tick(d, d->clock);
	reports_tick(d->reports, d->cfg, d->clock); /* never blocks: a child renders */
	alerts_tick(d->alerts, d->clock);
	return 1.0;
}

/* The alert engine's own deadlines (group_wait, repeats) as they fall. */
static double run_alerts(struct loop *l, double now)
{
	(void)now;
	alerts_tick(l->d->alerts, l->d->clock);
	return 1.0;
}

static double due_alerts(struct loop *l, double now)
{
	double at = alerts_next_deadline(l->d->alerts); /* wall clock; 0 = none */

	return at > 0 ? now + (at - l->d->clock) : INFINITY;
}

/* At dashboard_interval, or earlier when the renderer wants a picture of
 * data just written (the first after a start): asked once a second. */
static double run_render(struct loop *l, double now)
{
	struct labqcd *d = l->d;
	struct dash_snapshot *snap;

	if (d->dashboard == NULL)
		return 3600;
	if (now >= l->render_at || dashboard_want_early(d->dashboard, d, now)) {
		if ((snap = dashboard_snapshot(d, wall_clock())) != NULL) {
			if (d->fleet) { /* the summary of this picture, and the others' */
				fleet_publish_status(d->fleet, snap);
				fleet_snapshot(d->fleet, snap);
			}
			dashboard_post(d->dashboard, snap);
		}
		l->render_at = now + d->cfg->daemon.dashboard_interval_s;
	}
	return fmax(0.01, fmin(1.0, l->render_at - now));
}

/* The fleet's status summary between renders: published when it
 * changed, and once a minute whatever (fleet_link.c decides). */
static double run_fleet(struct loop *l, double now)
{
	struct dash_snapshot *snap;

	(void)now;
	if (l->d->fleet == NULL)
		return 3600;
	if ((snap = dashboard_build(l->d, wall_clock())) != NULL) {
		fleet_publish_status(l->d->fleet, snap);
		dash_snapshot_free(snap);
	}
	return 15.0;
}

/* The store's slices: STORE_SLICES a flush_interval, each series written
 * once an interval, the writes spread over it (store.h). A late pass (the
 * loop was busy, or the interval shrank at a reload) hands over every
 * slice it missed, so no series waits longer than an interval. */
static double run_store(struct loop *l, double now)
{
	double per = l->d->cfg->daemon.flush_interval_s / (double)STORE_SLICES;
	uint64_t due = (uint64_t)floor((now - l->slices_t0) / per);

	if (due > l->slices_done) {
		uint64_t n = due - l->slices_done;
		store_flush_slices(l->d->store, (unsigned)(l->slices_done % STORE_SLICES),
				   n >= STORE_SLICES ? STORE_SLICES : (unsigned)n);
		l->slices_done = due;
	}
	return fmax(per, 0.05);
}

static double run_checkpoint(struct loop *l, double now)
{
	(void)now;
	labqcd_checkpoint(l->d);
	return l->d->cfg->daemon.flush_interval_s;
}

static void run_timers(struct loop *l, struct timer *t, size_t n, double now)
{
	for (size_t i = 0; i < n; i++) {
		double due = t[i].due ? t[i].due(l, now) : INFINITY;

		if (now >= t[i].next || now >= due)
			t[i].next = now + t[i].run(l, now);
	}
}

static double next_timer(struct loop *l, const struct timer *t, size_t n, double now)
{
	double next = INFINITY;

	for (size_t i = 0; i < n; i++) {
		double due = t[i].due ? t[i].due(l, now) : INFINITY;

		next = fmin(next, fmin(t[i].next, due));
	}
	return next;
}

int daemon_run(struct config *cfg, const char *config_path)
{
	struct labqcd d;
	struct control *ctl = NULL;
	char path[4200], why[2048];
	int rc = 0;
	bool fleet_failed;
	struct fleet *fleet;

	install_signals();
	/* The fleet first: a start refused because its slice is another's
	 * has taken no input and touched no file. */
	fleet = fleet_open(cfg, &fleet_failed);
	if (fleet_failed) {
		config_free(cfg);
		return 1;
	}
	if (fleet && fleet_check(fleet, cfg, FLEET_CHECK_S, why, sizeof(why)) == -1) {
		log_warnx("fleet: refusing to start as \"%s\": %s", cfg->fleet.name, why);
		fleet_close(fleet);
		config_free(cfg);
		return 1;
	}
	if (labqcd_open(&d, cfg, NULL, false, false) == -1) {
		fleet_close(fleet);
		config_free(cfg);
		return 1;
	}
	d.fleet = fleet;
	snprintf(path, sizeof(path), "%s/journal", cfg->daemon.state_dir);
	if ((d.journal = journal_open(path)) == NULL) {
		log_warn("journal %s", path);
		fleet_close(d.fleet);
		labqcd_close(&d);
		config_free(cfg);
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
	/* The Watchdog: after notify_open (curl_global_init), own thread. */
	if ((d.heartbeat = heartbeat_open()) == NULL ||
	    heartbeat_configure(d.heartbeat, cfg, d.started) == -1 ||
	    heartbeat_start(d.heartbeat) == -1) {
		log_warn("heartbeat thread");
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
	if ((d.dashboard = dashboard_open(d.cfg, true)) == NULL)
		log_warn("dashboard %s: not rendering", d.cfg->daemon.www_dir);

	struct loop l = {.d = &d, .render_at = mono_clock() + 1.0}; /* a first picture soon */
	uint64_t watchdog_usec = 0;
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
		l.watchdog_s = watchdog_usec / 2e6;
	double start = mono_clock();
	l.slices_t0 = start;
	/* In the order they run within a pass. */
	struct timer timers[] = {
	    {"watchdog", start, run_watchdog, NULL},
	    {"health", start + 5.0, run_health, NULL}, /* telemetry soon after start */
	    {"heartbeat", start, run_heartbeat, NULL}, /* the first beat at once */
	    {"rules", start, run_rules, NULL},
	    {"alerts", start + 1.0, run_alerts, due_alerts},
	    {"render", start + 1.0, run_render, NULL},
	    {"fleet", start + 15.0, run_fleet, NULL}, /* the first summary comes with the first render */
	    {"store", start, run_store, NULL},
	    {"checkpoint", start + d.cfg->daemon.flush_interval_s, run_checkpoint, NULL},
	};
	const size_t n_timers = sizeof(timers) / sizeof(timers[0]);

	while (!want_stop) {
		struct pollfd pfds[3 + CONTROL_CLIENTS_MAX];
		/* Writers far behind: let the broker hold messages a moment. */
		bool hold = store_backlogged(d.store);
		struct pollfd pfd = {.fd = mqtt_fd(d.mqtt), .events = hold ? 0 : POLLIN};
		double now = mono_clock();
		double wait = fmin(next_timer(&l, timers, n_timers, now) - now,
				   mqtt_next_deadline(d.mqtt, now));
		if (d.fleet)
			wait = fmin(wait, fleet_next_deadline(d.fleet, now));
		int timeout_ms;

		d.clock = wall_clock();
		wait = fmin(wait, hold ? 0.01 : 1.0);
		timeout_ms = wait <= 0 ? 0 : (int)ceil(wait * 1000);
		if (want_reload) {
			want_reload = 0;
			labqcd_reload(&d, config_path, NULL, 0);
		}
		if (mqtt_want_write(d.mqtt))
			pfd.events |= POLLOUT;
		/* pfds[0] the broker (fd -1 while disconnected: poll skips it),
		 * pfds[1] the fleet's connection (-1: none), then the control
		 * socket and its clients. */
		pfds[0] = pfd;
		pfds[1] = (struct pollfd){.fd = d.fleet ? fleet_fd(d.fleet) : -1, .events = POLLIN};
		if (d.fleet && fleet_want_write(d.fleet))
			pfds[1].events |= POLLOUT;
		int n_ctl = control_pollfds(ctl, pfds + 2, CONTROL_CLIENTS_MAX + 1);
		int n = poll(pfds, (nfds_t)(2 + n_ctl), timeout_ms);
		if (n == -1 && errno != EINTR) {
			log_warn("poll");
			continue;
		}
		pfd = pfds[0];
		now = mono_clock();
		mqtt_io(d.mqtt, n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)),
			n > 0 && (pfd.revents & POLLOUT), now);
		journal_commit(d.journal);
		if (d.fleet)
			fleet_io(d.fleet, n > 0 && (pfds[1].revents & (POLLIN | POLLHUP | POLLERR)),
				 n > 0 && (pfds[1].revents & POLLOUT), now);
		if (n > 0)
			control_io(ctl, pfds + 2, n_ctl, now); /* commits its own changes */
		/* Handed over (labqcctl handover): the broker connection is
		 * closed and the state saved; no timer may change it now. */
		if (d.handed_over)
			break;
		d.clock = wall_clock();
		/* Before the rules: the broker alert, and whether stale is held. */
		blind_check(&d, now, d.clock);
		run_timers(&l, timers, n_timers, now);
		/* Durable before the next input is taken. */
		labqcd_commit_transitions(&d);
	}
	control_close(ctl);
	ctl = NULL;
	if (!d.handed_over)
		log_info("stopping: flushing samples and state");
	sd_notify(0, "STOPPING=1");
out:
	control_close(ctl);
	if (d.journal && !d.handed_over) /* a hand-over made its own, before its answer */
		labqcd_stop_checkpoint(&d, rc == 0);
	heartbeat_close(d.heartbeat);
	d.heartbeat = NULL;
	fleet_close(d.fleet); /* "down", before the input connection goes */
	d.fleet = NULL;
	mqtt_free(d.mqtt);
	dashboard_close(d.dashboard);
	labqcd_close(&d);
	journal_close(d.journal);
	config_free(d.cfg);
	return rc;
}
