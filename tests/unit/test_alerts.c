/* test-links: daemon/alerts.c daemon/alerts_table.c daemon/alerts_told.c daemon/alerts_state.c daemon/routes.c daemon/spool.c daemon/log.c daemon/fsutil.c daemon/audit.c daemon/clock.c rules/severity.c */
/*
 * The alert engine on a fake clock: routing (first match, continue,
 * globs, active hours), grouping of a power cut's alarms into one
 * notification per receiver, repeat, resolved, ack, silence, escalation,
 * and a restart inside group_wait; a resolution only for receivers told
 * of the firing, with the severity they were told. Assertions read the spool files, what
 * the notifier would send. A crash at each step of the two-phase
 * spooling (after the pending write, after the alerts.json save, after
 * the rename), rebuilt on disk and reopened, still sends each new,
 * repeat, escalation and resolved notification exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/alerts.h"
#include "daemon/fsutil.h"
#include "daemon/spool.h"

/* Wednesday 2025-11-19 09:00:00 UTC. */
#define WED_0900 1763542800.0
#define LOCAL_OFFSET_S 3600 /* the lab is at UTC+1 */

static int fixed_localtime(double t, struct tm *out, void *arg)
{
	time_t tt = (time_t)t + *(long *)arg;

	(void)arg;
	return gmtime_r(&tt, out) ? 0 : -1;
}

static long offset = LOCAL_OFFSET_S;

/* ---- a config built in code ---- */

static char *qc_email[] = {"qc-lead@lab.example", "qc-2@lab.example"};
static char *mgr_email[] = {"manager@lab.example"};
static char *r_qc[] = {"qc-team"};
static char *r_chat[] = {"chat"};
static char *r_night[] = {"night"};
static char *r_mgr[] = {"manager"};

struct fixture {
	char dir[256];
	char spool_dir[300];
	struct config cfg;
	struct cfg_receiver rcv[4];
	struct cfg_route routes[4];
	struct cfg_escalation esc[1];
	struct spool *spool;
	struct alerts *a;
};

static void base_config(struct fixture *f)
{
	memset(&f->cfg, 0, sizeof(f->cfg));
	memset(f->rcv, 0, sizeof(f->rcv));
	memset(f->routes, 0, sizeof(f->routes));
	snprintf(f->rcv[0].name, sizeof(f->rcv[0].name), "qc-team");
	f->rcv[0].email = qc_email;
	f->rcv[0].n_email = 2;
	snprintf(f->rcv[1].name, sizeof(f->rcv[1].name), "chat");
	f->rcv[1].has_webhook = true;
	snprintf(f->rcv[1].webhook_url, sizeof(f->rcv[1].webhook_url), "http://127.0.0.1:9/hook");
	f->rcv[1].timeout_s = 10;
	snprintf(f->rcv[2].name, sizeof(f->rcv[2].name), "night");
	f->rcv[2].has_webhook = true;
	snprintf(f->rcv[2].webhook_url, sizeof(f->rcv[2].webhook_url), "http://127.0.0.1:9/night");
	snprintf(f->rcv[3].name, sizeof(f->rcv[3].name), "manager");
	f->rcv[3].email = mgr_email;
	f->rcv[3].n_email = 1;
	f->cfg.receivers = f->rcv;
	f->cfg.n_receivers = 4;

	/* 0: qc -> qc-team; 1: critical -> chat */
	snprintf(f->routes[0].match.kind, sizeof(f->routes[0].match.kind), "qc");
	f->routes[0].receivers = r_qc;
	f->routes[0].n_receivers = 1;
	f->routes[0].group_wait_s = 10;
	f->routes[0].repeat_s = 4 * 3600;
	snprintf(f->routes[1].match.severity, sizeof(f->routes[1].match.severity), "critical");
	f->routes[1].receivers = r_chat;
	f->routes[1].n_receivers = 1;
	f->routes[1].group_wait_s = 10;
	f->routes[1].repeat_s = 4 * 3600;
	f->cfg.routes = f->routes;
	f->cfg.n_routes = 2;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void open_engine(struct fixture *f)
{
	struct alerts_opts o = {.state_dir = f->dir,
				.external_url = "http://lab.example/",
				.localtime = fixed_localtime,
				.localtime_arg = &offset};

	f->spool = spool_open(f->spool_dir, NULL);
	assert_non_null(f->spool);
	f->a = alerts_open(&f->cfg, f->spool, &o);
	assert_non_null(f->a);
}

static void close_engine(struct fixture *f)
{
	alerts_close(f->a);
	spool_close(f->spool);
	f->a = NULL;
	f->spool = NULL;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/labqcd-test-alerts-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->spool_dir, sizeof(f->spool_dir), "%s/spool", f->dir);
	base_config(f);
	open_engine(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close_engine(f);
	nftw(f->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct alert_event ev(const char *site, const char *ins, const char *ch, const char *rule,
			     enum alert_kind kind, enum alert_state st, enum severity sev, double t)
{
	struct alert_event e;

	memset(&e, 0, sizeof(e));
	snprintf(e.key, sizeof(e.key), "%s/%s/%s/%s", site, ins, ch, rule);
	snprintf(e.site, sizeof(e.site), "%s", site);
	snprintf(e.instrument, sizeof(e.instrument), "%s", ins);
	snprintf(e.channel, sizeof(e.channel), "%s", ch);
	snprintf(e.rule, sizeof(e.rule), "%s", rule);
	e.kind = kind;
	e.state = st;
	e.severity = sev;
	e.value = 9.1;
	snprintf(e.summary, sizeof(e.summary), "temp 9.1 C above max 8 C");
	e.t = t;
	return e;
}

static struct alert_event fridge(int i, enum alert_state st, double t)
{
	char ins[32];

	snprintf(ins, sizeof(ins), "fridge-%02d", i);
	return ev("main", ins, "temp", "range", ALERT_EQUIPMENT, st, SEV_CRITICAL, t);
}

static struct alert_event qc_reject(enum alert_state st, double t)
{
	return ev("main", "chem-01", "glucose", "qc", ALERT_QC, st, SEV_CRITICAL, t);
}

/* Every spool entry, loaded; returns the count. Removes them when `take`. */
static size_t spooled(struct fixture *f, struct notification *out, size_t max, bool take)
{
	char **ids;
	size_t n;

	assert_int_equal(spool_list(f->spool, &ids, &n), 0);
	for (size_t i = 0; i < n; i++) {
		struct notification nt;
		assert_int_equal(spool_load(f->spool, ids[i], &nt), 0);
		if (i < max)
			out[i] = nt;
		else
			notification_free(&nt);
		if (take)
			assert_int_equal(spool_done(f->spool, &nt), 0);
	}
	spool_list_free(ids, n);
	return n;
}

static void free_all(struct notification *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		notification_free(&v[i]);
}

static const struct notification *for_receiver(const struct notification *v, size_t n,
					       const char *rcv)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].receiver, rcv) == 0)
			return &v[i];
	return NULL;
}

/* ---- cases ---- */

static void test_first_match_wins(void **state)
{
	struct fixture *f = *state;
	struct alert_event e = qc_reject(ALERT_FIRING, WED_0900);
	struct notification v[4];
	size_t n;

	assert_int_equal(alerts_transition(f->a, &e), 0);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 10), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1); /* qc-team only: the critical route is not reached */
	assert_string_equal(v[0].receiver, "qc-team");
	assert_int_equal(v[0].kind, NOTIF_EMAIL);
	assert_int_equal(v[0].n_to, 2);
	assert_string_equal(v[0].alerts[0].key, "main/chem-01/glucose/qc");
	free_all(v, n);
}

static void test_continue(void **state)
{
	struct fixture *f = *state;
	struct alert_event e = qc_reject(ALERT_FIRING, WED_0900);
	struct notification v[4];
	size_t n;

	f->routes[0].cont = true;
	assert_int_equal(alerts_transition(f->a, &e), 0);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 10), 2);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 2);
	assert_non_null(for_receiver(v, n, "qc-team"));
	assert_non_null(for_receiver(v, n, "chat"));
	assert_int_equal(for_receiver(v, n, "chat")->kind, NOTIF_WEBHOOK);
	free_all(v, n);
}

static void test_globs(void **state)
{
	struct fixture *f = *state;
	struct alert_event e;
	struct notification v[4];
	size_t n;

	/* Only fridges, any site, warning or critical. */
	memset(&f->routes[0].match, 0, sizeof(f->routes[0].match));
	snprintf(f->routes[0].match.instrument, sizeof(f->routes[0].match.instrument), "fridge-*");
	snprintf(f->routes[0].match.severity, sizeof(f->routes[0].match.severity), "[cw]*");
	f->cfg.n_routes = 1;

	e = fridge(2, ALERT_FIRING, WED_0900);
	assert_int_equal(alerts_transition(f->a, &e), 0);
	e = ev("main", "centrifuge-01", "vibration", "range", ALERT_EQUIPMENT, ALERT_FIRING,
	       SEV_CRITICAL, WED_0900);
	assert_int_equal(alerts_transition(f->a, &e), 0);
	e = ev("main", "fridge-03", "temp", "range", ALERT_EQUIPMENT, ALERT_FIRING, SEV_INFO,
	       WED_0900);
	assert_int_equal(alerts_transition(f->a, &e), 0);
	alerts_tick(f->a, WED_0900 + 10);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].n_alerts, 1);
	assert_string_equal(v[0].alerts[0].instrument, "fridge-02");
	free_all(v, n);
}

static void test_active_hours(void **state)
{
	struct fixture *f = *state;
	struct alert_event e;
	struct notification v[4];
	size_t n;

	/* Day team Mon-Fri 07:00-19:00 local; otherwise the night on-call. */
	memset(f->routes, 0, sizeof(f->routes));
	f->routes[0].receivers = r_chat;
	f->routes[0].n_receivers = 1;
	f->routes[0].has_active = true;
	f->routes[0].active_days = 0x3e; /* mon..fri */
	f->routes[0].active_from_min = 7 * 60;
	f->routes[0].active_to_min = 19 * 60;
	f->routes[1].receivers = r_night;
	f->routes[1].n_receivers = 1;
	f->cfg.n_routes = 2;

	/* Wednesday 09:00 UTC = 10:00 local: day. */
	e = fridge(1, ALERT_FIRING, WED_0900);
	alerts_transition(f->a, &e);
	alerts_tick(f->a, WED_0900);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].receiver, "chat");
	free_all(v, n);

	/* 18:30 UTC = 19:30 local: night (19:00 is exclusive). */
	e = fridge(2, ALERT_FIRING, WED_0900 + 9.5 * 3600);
	alerts_transition(f->a, &e);
	alerts_tick(f->a, WED_0900 + 9.5 * 3600);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].receiver, "night");
	free_all(v, n);

	/* Saturday 10:00 local: not a weekday, night on-call. */
	e = fridge(3, ALERT_FIRING, WED_0900 + 3 * 86400);
	alerts_transition(f->a, &e);
	alerts_tick(f->a, WED_0900 + 3 * 86400);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].receiver, "night");
	free_all(v, n);

	/* A window across midnight, Mon-Fri 19:00-07:00: Saturday 03:00 local
	 * is Friday's night, Sunday 03:00 is Saturday's (not active). */
	f->routes[0].active_from_min = 19 * 60;
	f->routes[0].active_to_min = 7 * 60;
	e = fridge(4, ALERT_FIRING, WED_0900 + 2 * 86400 + 17 * 3600); /* Sat 03:00 local */
	alerts_transition(f->a, &e);
	alerts_tick(f->a, e.t);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].receiver, "chat");
	free_all(v, n);
	e = fridge(5, ALERT_FIRING, WED_0900 + 3 * 86400 + 17 * 3600); /* Sun 03:00 local */
	alerts_transition(f->a, &e);
	alerts_tick(f->a, e.t);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].receiver, "night");
	free_all(v, n);
}

static void test_power_cut_grouped(void **state)
{
	struct fixture *f = *state;
	struct notification v[8];
	size_t n;

	/* Critical -> chat (webhook) and, continuing, manager (email). */
	f->routes[1].cont = true;
	f->routes[2] = f->routes[1];
	f->routes[2].receivers = r_mgr;
	f->cfg.n_routes = 3;
	for (int i = 1; i <= 12; i++) {
		struct alert_event e = fridge(i, ALERT_FIRING, WED_0900 + i * 0.5);
		assert_int_equal(alerts_transition(f->a, &e), 0);
	}
	assert_int_equal(alerts_tick(f->a, WED_0900 + 9.9), 0);
	assert_int_equal(spooled(f, v, 8, false), 0);
	assert_true(alerts_next_deadline(f->a) <= WED_0900 + 10.5);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 10.5), 2);
	n = spooled(f, v, 8, true);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i].n_alerts, 12);
		assert_string_equal(v[i].status, "firing");
		assert_string_equal(v[i].reason, "new");
	}
	assert_non_null(for_receiver(v, n, "chat"));
	assert_non_null(for_receiver(v, n, "manager"));
	free_all(v, n);
	/* Nothing more until the repeat. */
	assert_int_equal(alerts_tick(f->a, WED_0900 + 3600), 0);
}

static void test_repeat_and_ack(void **state)
{
	struct fixture *f = *state;
	struct alert_event e = fridge(2, ALERT_FIRING, WED_0900);
	struct notification v[4];
	size_t n;

	alerts_transition(f->a, &e);
	alerts_tick(f->a, WED_0900 + 10);
	assert_int_equal(spooled(f, v, 0, true), 1);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 4 * 3600 - 1), 0);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 4 * 3600), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].reason, "repeat");
	assert_string_equal(v[0].receiver, "chat");
	free_all(v, n);
	/* Acknowledged: no more repeats. */
	assert_int_equal(alerts_ack(f->a, e.key, "ana", "moved specimens to fridge-05",
				    WED_0900 + 5 * 3600),
			 0);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 8 * 3600), 0);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 12 * 3600), 0);
	assert_int_equal(alerts_ack(f->a, "main/nope/x/range", "ana", "", 0), -1);
}

static void test_resolved(void **state)
{
	struct fixture *f = *state;
	struct alert_event e = fridge(2, ALERT_FIRING, WED_0900);
	struct notification v[4];
	size_t n;

	alerts_transition(f->a, &e);
	alerts_tick(f->a, WED_0900 + 10);
	assert_int_equal(spooled(f, v, 0, true), 1);
	e = fridge(2, ALERT_RESOLVED, WED_0900 + 600);
	e.value = 5.0;
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 605), 0);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 610), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].status, "resolved");
	assert_string_equal(v[0].alerts[0].status, "resolved");
	assert_true(v[0].alerts[0].ends_at == WED_0900 + 600);
	free_all(v, n);
	/* A resolved critical alert stays until acknowledged, with no repeat. */
	assert_int_equal(alerts_count(f->a), 1);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 5 * 3600), 0);
	alerts_ack(f->a, e.key, "ana", "", WED_0900 + 6 * 3600);
	alerts_tick(f->a, WED_0900 + 6 * 3600);
	assert_int_equal(alerts_count(f->a), 0);
}

/* Fired and resolved inside group_wait: the "new" message never left, so
 * nobody was told it fired, and nobody hears it resolved (Alertmanager
 * never sends a first notification of resolved alerts only). */
static void test_resolved_inside_group_wait(void **state)
{
	struct fixture *f = *state;
	struct alert_event e = fridge(2, ALERT_FIRING, WED_0900);
	struct notification v[4];
	size_t n;

	alerts_transition(f->a, &e);
	e = fridge(2, ALERT_RESOLVED, WED_0900 + 5);
	alerts_transition(f->a, &e);
	assert_true(alerts_next_deadline(f->a) == 0); /* its group went with it */
	assert_int_equal(alerts_tick(f->a, WED_0900 + 20), 0);
	assert_int_equal(spooled(f, v, 0, true), 0);
	/* It did fire: a critical one stays on the dashboard until seen. */
	assert_int_equal(alerts_count(f->a), 1);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 5 * 3600), 0);
	assert_int_equal(spooled(f, v, 0, true), 0);

	/* Two in one group, one over before it leaves: the message holds
	 * the other one only, firing. */
	e = fridge(3, ALERT_FIRING, WED_0900 + 30);
	alerts_transition(f->a, &e);
	e = fridge(4, ALERT_FIRING, WED_0900 + 31);
	alerts_transition(f->a, &e);
	e = fridge(3, ALERT_RESOLVED, WED_0900 + 35);
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 40), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].status, "firing");
	assert_int_equal(v[0].n_alerts, 1);
	assert_string_equal(v[0].alerts[0].key, "main/fridge-04/temp/range");
	free_all(v, n);
	/* and fridge-03's end is never sent: chat never heard it fire */
	assert_int_equal(alerts_tick(f->a, WED_0900 + 100), 0);
	assert_int_equal(spooled(f, v, 0, true), 0);

	/* A pending alert that never fired tells nobody. */
	e = fridge(5, ALERT_PENDING, WED_0900 + 30);
	alerts_transition(f->a, &e);
	e = fridge(5, ALERT_RESOLVED, WED_0900 + 40);
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 100), 0);
}

/* A route that takes warnings only (night) and one that takes critical
 * (chat). An alert fires as a warning, worsens to critical, resolves:
 * night hears firing warning and resolved warning, never "critical";
 * chat hears firing critical and resolved critical. The alert starts at
 * its condition's own start (since), not when it fired. */
static void test_resolved_says_what_was_told(void **state)
{
	struct fixture *f = *state;
	struct alert_event e = fridge(2, ALERT_FIRING, WED_0900);
	struct notification v[4];
	const struct notification *nt;
	size_t n;

	snprintf(f->routes[2].match.severity, sizeof(f->routes[2].match.severity), "warning");
	f->routes[2].receivers = r_night;
	f->routes[2].n_receivers = 1;
	f->routes[2].group_wait_s = 10;
	f->cfg.n_routes = 3;

	e.severity = SEV_WARNING;
	e.since = WED_0900 - 900; /* the excursion began 15 min before it fired */
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 10), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].receiver, "night");
	assert_string_equal(v[0].alerts[0].severity, "warning");
	assert_string_equal(v[0].alerts[0].status, "firing");
	assert_true(v[0].alerts[0].starts_at == WED_0900 - 900);
	free_all(v, n);

	e = fridge(2, ALERT_FIRING, WED_0900 + 100); /* now critical */
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 110), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].receiver, "chat");
	assert_string_equal(v[0].alerts[0].severity, "critical");
	assert_true(v[0].alerts[0].starts_at == WED_0900 - 900); /* one alert, one start */
	free_all(v, n);

	/* what each was told survives a restart */
	assert_int_equal(alerts_save(f->a), 0);
	close_engine(f);
	open_engine(f);

	e = fridge(2, ALERT_RESOLVED, WED_0900 + 600);
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 610), 2);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 2);
	nt = for_receiver(v, n, "night");
	assert_non_null(nt);
	assert_string_equal(nt->status, "resolved");
	assert_string_equal(nt->alerts[0].severity, "warning");
	nt = for_receiver(v, n, "chat");
	assert_non_null(nt);
	assert_string_equal(nt->status, "resolved");
	assert_string_equal(nt->alerts[0].severity, "critical");
	free_all(v, n);

	/* Critical from the start: night hears nothing, not even the end. */
	e = fridge(3, ALERT_FIRING, WED_0900 + 700);
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 710), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].receiver, "chat");
	free_all(v, n);
	e = fridge(3, ALERT_RESOLVED, WED_0900 + 800);
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 810), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].receiver, "chat");
	assert_string_equal(v[0].alerts[0].severity, "critical");
	free_all(v, n);
}

/* alerts.json of the previous version: "notified" listed a receiver as
 * soon as the alert was queued for it, with no severities. One told
 * already (its group left) hears the end; one whose "new" group still
 * holds the alert was never told, and hears nothing. */
static void test_previous_alerts_json_loads(void **state)
{
	struct fixture *f = *state;
	struct alert_event e;
	struct notification v[4];
	char path[400];
	size_t n;
	FILE *fp;

	close_engine(f);
	snprintf(path, sizeof(path), "%s/alerts.json", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp,
		"{\"version\":1,\"alerts\":["
		"{\"key\":\"main/fridge-02/temp/range\",\"kind\":\"equipment\",\"site\":\"main\","
		"\"instrument\":\"fridge-02\",\"channel\":\"temp\",\"rule\":\"range\","
		"\"state\":\"firing\",\"severity\":\"critical\",\"value\":9.1,\"summary\":\"x\","
		"\"chart\":\"\",\"since\":%.0f,\"ended\":0,\"acked\":false,\"ack_by\":\"\","
		"\"ack_comment\":\"\",\"ack_t\":0,\"suppressed\":false,\"notified\":[\"chat\"],"
		"\"group_wait_s\":10,\"repeat_s\":0,\"next_repeat\":0,\"escalations\":[]},"
		"{\"key\":\"main/fridge-03/temp/range\",\"kind\":\"equipment\",\"site\":\"main\","
		"\"instrument\":\"fridge-03\",\"channel\":\"temp\",\"rule\":\"range\","
		"\"state\":\"firing\",\"severity\":\"critical\",\"value\":9.1,\"summary\":\"x\","
		"\"chart\":\"\",\"since\":%.0f,\"ended\":0,\"acked\":false,\"ack_by\":\"\","
		"\"ack_comment\":\"\",\"ack_t\":0,\"suppressed\":false,\"notified\":[\"chat\"],"
		"\"group_wait_s\":10,\"repeat_s\":0,\"next_repeat\":0,\"escalations\":[]}],"
		"\"groups\":[{\"receiver\":\"chat\",\"reason\":\"new\",\"due\":%.0f,"
		"\"email_done\":false,\"webhook_done\":false,"
		"\"keys\":[\"main/fridge-03/temp/range\"]}],\"silences\":[],\"spooled\":[]}",
		WED_0900, WED_0900 + 500, WED_0900 + 510);
	fclose(fp);
	open_engine(f);
	assert_int_equal(alerts_count(f->a), 2);
	e = fridge(2, ALERT_RESOLVED, WED_0900 + 505);
	alerts_transition(f->a, &e);
	e = fridge(3, ALERT_RESOLVED, WED_0900 + 505);
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 520), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].status, "resolved");
	assert_int_equal(v[0].n_alerts, 1);
	assert_string_equal(v[0].alerts[0].key, "main/fridge-02/temp/range");
	assert_string_equal(v[0].alerts[0].severity, "critical");
	free_all(v, n);
}

static void test_silence(void **state)
{
	struct fixture *f = *state;
	struct alert_event e;
	struct notification v[4];
	size_t n;

	assert_int_equal(alerts_silence(f->a, "main/fridge-0[1-3]/*", 3600, "bob", WED_0900), 0);
	e = fridge(2, ALERT_FIRING, WED_0900 + 60);
	alerts_transition(f->a, &e);
	e = fridge(4, ALERT_FIRING, WED_0900 + 60); /* not silenced */
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 100), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].n_alerts, 1);
	assert_string_equal(v[0].alerts[0].instrument, "fridge-04");
	free_all(v, n);
	/* Silence over, fridge-02 still firing: now it is told. */
	assert_int_equal(alerts_tick(f->a, WED_0900 + 3600), 0);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 3610), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].alerts[0].instrument, "fridge-02");
	free_all(v, n);

	/* Resolved during a silence: nothing. */
	alerts_silence(f->a, "main/fridge-04/*", 3600, "bob", WED_0900 + 3700);
	e = fridge(4, ALERT_RESOLVED, WED_0900 + 3800);
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 3900), 0);
}

static void test_escalation(void **state)
{
	struct fixture *f = *state;
	struct alert_event e;
	struct notification v[4];
	size_t n;

	f->esc[0].after_s = 20 * 60;
	f->esc[0].receivers = r_mgr;
	f->esc[0].n_receivers = 1;
	f->routes[1].escalate = f->esc;
	f->routes[1].n_escalate = 1;

	e = fridge(2, ALERT_FIRING, WED_0900);
	alerts_transition(f->a, &e);
	e = fridge(3, ALERT_FIRING, WED_0900);
	alerts_transition(f->a, &e);
	alerts_tick(f->a, WED_0900 + 10);
	assert_int_equal(spooled(f, v, 0, true), 2 - 1); /* one group, chat */
	alerts_ack(f->a, "main/fridge-03/temp/range", "ana", "on it", WED_0900 + 600);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 1199), 0);
	assert_true(alerts_next_deadline(f->a) == WED_0900 + 1200);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 1200), 1);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].receiver, "manager");
	assert_string_equal(v[0].reason, "escalation");
	assert_int_equal(v[0].n_alerts, 1); /* fridge-03 was acknowledged */
	assert_string_equal(v[0].alerts[0].instrument, "fridge-02");
	free_all(v, n);
	/* Once only; the repeat then goes to the escalated receivers too. */
	assert_int_equal(alerts_tick(f->a, WED_0900 + 1300), 0);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 4 * 3600), 2);
	n = spooled(f, v, 4, true);
	assert_int_equal(n, 2);
	assert_non_null(for_receiver(v, n, "manager"));
	assert_non_null(for_receiver(v, n, "chat"));
	free_all(v, n);
	/* The resolution goes to everyone who heard of it. */
	e = fridge(2, ALERT_RESOLVED, WED_0900 + 5 * 3600);
	alerts_transition(f->a, &e);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 5 * 3600 + 10), 2);
	assert_int_equal(spooled(f, v, 0, true), 2);
}

static void test_restart_inside_group_wait(void **state)
{
	struct fixture *f = *state;
	struct notification v[4];
	size_t n;

	for (int i = 1; i <= 3; i++) {
		struct alert_event e = fridge(i, ALERT_FIRING, WED_0900);
		alerts_transition(f->a, &e);
	}
	alerts_silence(f->a, "other/*", 86400, "bob", WED_0900);
	alerts_ack(f->a, "main/fridge-01/temp/range", "ana", "seen", WED_0900 + 1);
	assert_true(alerts_dirty(f->a));
	assert_int_equal(alerts_save(f->a), 0);
	assert_false(alerts_dirty(f->a));
	/* Crash (no further save) and restart. */
	close_engine(f);
	open_engine(f);
	assert_int_equal(alerts_count(f->a), 3);
	assert_true(alerts_next_deadline(f->a) == WED_0900 + 10);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 10), 1);
	n = spooled(f, v, 4, false);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].n_alerts, 3);
	free_all(v, n);
	/* Restart again: what was spooled is not spooled again. */
	close_engine(f);
	open_engine(f);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 20), 0);
	assert_int_equal(spooled(f, v, 0, false), 1);
	/* Timers survived: the repeat for the two unacknowledged ones. */
	assert_int_equal(alerts_tick(f->a, WED_0900 + 4 * 3600), 1);
	n = spooled(f, v, 4, false);
	assert_int_equal(n, 2);
	assert_int_equal(v[1].n_alerts, 2);
	free_all(v, n);
}

static void test_corrupt_state_moved_aside(void **state)
{
	struct fixture *f = *state;
	char path[400];
	FILE *fp;

	close_engine(f);
	snprintf(path, sizeof(path), "%s/alerts.json", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"version\":1,\"alerts\":[{\"key\":", fp);
	fclose(fp);
	open_engine(f);
	assert_int_equal(alerts_count(f->a), 0);
	assert_int_equal(access(path, F_OK), -1);
}

/* ---- a crash at each step of the two-phase spooling ---- */

enum crash_point { CRASH_AFTER_STAGE, CRASH_AFTER_SAVE, CRASH_AFTER_COMMIT };

/* Ready spool entries, as a set of ids (sorted); caller frees. */
static size_t ready_ids(struct fixture *f, char ***ids)
{
	size_t n;

	assert_int_equal(spool_list(f->spool, ids, &n), 0);
	return n;
}

/*
 * The daemon's tick at `now` (with everything before it saved), then the
 * disk as SIGKILL at `at` leaves it, then a restart. The rename of every
 * entry this tick made ready is undone for a crash before it, and the
 * alerts.json from before the tick put back for a crash before the save.
 */
static void tick_and_crash(struct fixture *f, double now, enum crash_point at)
{
	char path[400], from[700], to[700], **old_ids, **ids, *before;
	size_t n_old, n, before_len;

	assert_int_equal(alerts_save(f->a), 0); /* durable before the tick (DESIGN) */
	snprintf(path, sizeof(path), "%s/alerts.json", f->dir);
	assert_int_equal(fs_read_all(path, &before, &before_len), 0);
	n_old = ready_ids(f, &old_ids);
	assert_true(alerts_tick(f->a, now) > 0);
	n = ready_ids(f, &ids);
	assert_true(n > n_old);
	close_engine(f); /* no save: killed */
	for (size_t i = 0; at != CRASH_AFTER_COMMIT && i < n; i++) {
		bool old = false;
		for (size_t j = 0; j < n_old; j++)
			old |= strcmp(ids[i], old_ids[j]) == 0;
		if (old)
			continue;
		snprintf(from, sizeof(from), "%s/%s.json", f->spool_dir, ids[i]);
		snprintf(to, sizeof(to), "%s/%s.json.pending", f->spool_dir, ids[i]);
		assert_int_equal(rename(from, to), 0);
	}
	if (at == CRASH_AFTER_STAGE)
		assert_int_equal(fs_write_atomic(path, before, before_len, 0600), 0);
	free(before);
	spool_list_free(old_ids, n_old);
	spool_list_free(ids, n);
	open_engine(f);
}

/* What the notifier sends now (and deletes); checks every one's reason
 * and receiver. Returns how many. */
static size_t deliver(struct fixture *f, const char *reason, const char *receiver)
{
	struct notification v[8];
	size_t n = spooled(f, v, 8, true);

	for (size_t i = 0; i < n && i < 8; i++) {
		assert_string_equal(v[i].reason, reason);
		assert_string_equal(v[i].receiver, receiver);
	}
	free_all(v, n < 8 ? n : 8);
	return n;
}

/* After a restart nothing that was delivered comes back, and no
 * staged leftovers hide in the spool. */
static void restart_sends_nothing(struct fixture *f, double now)
{
	char **ids;
	size_t n;

	close_engine(f);
	open_engine(f);
	assert_int_equal(alerts_tick(f->a, now), 0);
	n = ready_ids(f, &ids);
	spool_list_free(ids, n);
	assert_int_equal(n, 0);
}

static void pending_left(struct fixture *f, size_t expect)
{
	DIR *d = opendir(f->spool_dir);
	struct dirent *de;
	size_t n = 0, len;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if ((len = strlen(de->d_name)) > 13 &&
		    strcmp(de->d_name + len - 13, ".json.pending") == 0)
			n++;
	closedir(d);
	assert_int_equal(n, expect);
}

static void each_crash_point(void **state, void (*scenario)(struct fixture *f,
							      enum crash_point at))
{
	for (int at = CRASH_AFTER_STAGE; at <= CRASH_AFTER_COMMIT; at++) {
		if (at > CRASH_AFTER_STAGE) {
			teardown(state);
			setup(state);
		}
		scenario(*state, (enum crash_point)at);
	}
}

static void crash_new(struct fixture *f, enum crash_point at)
{
	struct alert_event e = fridge(2, ALERT_FIRING, WED_0900);

	alerts_transition(f->a, &e);
	tick_and_crash(f, WED_0900 + 10, at);
	pending_left(f, 0); /* recovery committed or dropped every one */
	alerts_tick(f->a, WED_0900 + 11); /* the restarted daemon's first tick */
	assert_int_equal(deliver(f, "new", "chat"), 1);
	restart_sends_nothing(f, WED_0900 + 20);
}

static void crash_repeat(struct fixture *f, enum crash_point at)
{
	struct alert_event e = fridge(2, ALERT_FIRING, WED_0900);

	alerts_transition(f->a, &e);
	alerts_tick(f->a, WED_0900 + 10);
	assert_int_equal(deliver(f, "new", "chat"), 1);
	tick_and_crash(f, WED_0900 + 4 * 3600, at);
	pending_left(f, 0);
	alerts_tick(f->a, WED_0900 + 4 * 3600 + 1);
	assert_int_equal(deliver(f, "repeat", "chat"), 1);
	restart_sends_nothing(f, WED_0900 + 4 * 3600 + 60);
}

static void crash_escalation(struct fixture *f, enum crash_point at)
{
	struct alert_event e = fridge(2, ALERT_FIRING, WED_0900);

	f->esc[0].after_s = 20 * 60;
	f->esc[0].receivers = r_mgr;
	f->esc[0].n_receivers = 1;
	f->routes[1].escalate = f->esc;
	f->routes[1].n_escalate = 1;
	alerts_transition(f->a, &e);
	alerts_tick(f->a, WED_0900 + 10);
	assert_int_equal(deliver(f, "new", "chat"), 1);
	tick_and_crash(f, WED_0900 + 1200, at);
	pending_left(f, 0);
	alerts_tick(f->a, WED_0900 + 1201);
	assert_int_equal(deliver(f, "escalation", "manager"), 1);
	restart_sends_nothing(f, WED_0900 + 1300);
}

static void crash_resolved(struct fixture *f, enum crash_point at)
{
	struct alert_event e = fridge(2, ALERT_FIRING, WED_0900);

	alerts_transition(f->a, &e);
	alerts_tick(f->a, WED_0900 + 10);
	assert_int_equal(deliver(f, "new", "chat"), 1);
	e = fridge(2, ALERT_RESOLVED, WED_0900 + 600);
	alerts_transition(f->a, &e);
	tick_and_crash(f, WED_0900 + 610, at);
	pending_left(f, 0);
	alerts_tick(f->a, WED_0900 + 611);
	assert_int_equal(deliver(f, "resolved", "chat"), 1);
	restart_sends_nothing(f, WED_0900 + 700);
	assert_int_equal(alerts_count(f->a), 1); /* critical: kept until acknowledged */
}

/* A receiver with email and a webhook: one group, two notifications
 * staged in one tick, each sent once. */
static void crash_email_and_webhook(struct fixture *f, enum crash_point at)
{
	struct alert_event e = qc_reject(ALERT_FIRING, WED_0900);
	struct notification v[8];
	size_t n;

	f->rcv[0].has_webhook = true;
	snprintf(f->rcv[0].webhook_url, sizeof(f->rcv[0].webhook_url), "http://127.0.0.1:9/qc");
	alerts_transition(f->a, &e);
	tick_and_crash(f, WED_0900 + 10, at);
	pending_left(f, 0);
	alerts_tick(f->a, WED_0900 + 11);
	n = spooled(f, v, 8, true);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].receiver, "qc-team");
	assert_string_equal(v[1].receiver, "qc-team");
	assert_true(v[0].kind != v[1].kind);
	free_all(v, n);
	restart_sends_nothing(f, WED_0900 + 20);
}

static void test_crash_new_once(void **state)
{
	each_crash_point(state, crash_new);
}

static void test_crash_repeat_once(void **state)
{
	each_crash_point(state, crash_repeat);
}

static void test_crash_escalation_once(void **state)
{
	each_crash_point(state, crash_escalation);
}

static void test_crash_resolved_once(void **state)
{
	each_crash_point(state, crash_resolved);
}

static void test_crash_email_and_webhook_once(void **state)
{
	each_crash_point(state, crash_email_and_webhook);
}

/* A save that fails holds the notification back (staged), and the next
 * save that succeeds lets it go: late, not lost, not twice. */
static void test_failed_save_holds_back(void **state)
{
	struct fixture *f = *state;
	struct alert_event e = fridge(2, ALERT_FIRING, WED_0900);
	char path[400], dir[400];

	alerts_transition(f->a, &e);
	assert_int_equal(alerts_save(f->a), 0);
	/* alerts.json cannot be replaced: a directory stands in its way. */
	snprintf(path, sizeof(path), "%s/alerts.json", f->dir);
	snprintf(dir, sizeof(dir), "%s/alerts.json.keep", f->dir);
	assert_int_equal(rename(path, dir), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(alerts_tick(f->a, WED_0900 + 10), 1);
	assert_int_equal(deliver(f, "new", "chat"), 0);
	pending_left(f, 1);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rename(dir, path), 0);
	alerts_tick(f->a, WED_0900 + 11);
	assert_int_equal(deliver(f, "new", "chat"), 1);
	pending_left(f, 0);
	restart_sends_nothing(f, WED_0900 + 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_match_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_globs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_hours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power_cut_grouped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeat_and_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolved_inside_group_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolved_says_what_was_told, setup, teardown),
		cmocka_unit_test_setup_teardown(test_previous_alerts_json_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escalation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_inside_group_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_state_moved_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_new_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_repeat_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_escalation_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_resolved_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_email_and_webhook_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_save_holds_back, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
