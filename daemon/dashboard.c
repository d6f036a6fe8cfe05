/*
 * dashboard.c: feeding dashboards/ from the daemon.
 *
 * Every daemon.dashboard_interval the main thread builds a snapshot of
 * what it knows (instruments, channels, alerts, QC results, what falls
 * due, recent events: all strings copied) and posts it to the renderer
 * thread, "labqcd-dash", which draws the graphs and pages that changed.
 * The mailbox holds one snapshot: if the renderer is still busy with the
 * last one, a newer snapshot replaces the waiting one (it is a picture
 * of now; an old one has no value), so rendering never holds up
 * ingestion and memory stays bounded. --render builds one snapshot and
 * draws it on the calling thread.
 *
 * A prompt first picture: until a render has drawn a day graph, and
 * while the last render saw channels with samples but no RRD file yet,
 * the main loop asks dashboard_want_early() (once a second, cheap: two
 * counters) and renders again as soon as the store has written since the
 * last snapshot, instead of a whole dashboard_interval later. The
 * drawing still happens on the renderer thread only.
 *
 * The renderer reads the alert history from state_dir/audit.jsonl
 * itself, incrementally (dashboards/history.c): the main thread does
 * nothing for it.
 *
 * Lock: dash->lock guards the mailbox, the last stats and the fields
 * marked below.
 */
#include "daemon/labqcd.h"
#include "dashboards/dashboards.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>

struct dashboard {
	struct dash *dash;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct dash_snapshot *waiting; /* posted, not yet taken */
	bool stop;
	struct dash_stats last;
	double last_render; /* epoch seconds; 0 = never */
	bool busy;          /* a render is running (lock) */
	bool drew_day_graph; /* some render drew a day graph (lock) */
	double interval_s;  /* posted with each snapshot (lock) */
	/* main thread only: */
	uint64_t written_at_snapshot; /* the store's samples written */
	double last_snapshot_mono, next_early_check;
};

struct instrument_status {
	struct labqcd *d;
	double now;
	const char *site, *instrument;
	const char *prefix; /* "site/instrument/" */
	size_t plen;
	bool critical, warning, stale;
	struct dash_instrument *di;
};

/* An equipment alert's text as its rule sees the channel now (latest
 * value); the summary it fired with otherwise. Keys are
 * site/instrument/channel/rule and no part holds a '/'. */
static const char *alert_text(const struct instrument_status *st, const struct alert_view *v,
			      char *buf, size_t len)
{
	char channel[ID_MAX];
	const char *ch = v->key + st->plen, *slash = strchr(ch, '/');

	if (v->kind != ALERT_EQUIPMENT || slash == NULL || (size_t)(slash - ch) >= sizeof(channel))
		return v->summary;
	memcpy(channel, ch, (size_t)(slash - ch));
	channel[slash - ch] = '\0';
	if (!equipment_alert_text(st->d, st->site, st->instrument, channel, slash + 1, st->now,
				  buf, len))
		return v->summary;
	return buf;
}

static void scan_alert(const struct alert_view *v, void *arg)
{
	struct instrument_status *st = arg;
	char text[COND_SUMMARY_MAX];

	if (strncmp(v->key, st->prefix, st->plen) != 0)
		return;
	if (st->di)
		dash_snap_add_alert(st->di, v->key, v->severity, alert_state_name(v->state), v->since,
				    alert_text(st, v, text, sizeof(text)),
				    v->acknowledged ? v->ack_by : NULL,
				    v->acknowledged ? v->ack_comment : NULL);
	if (v->state != ALERT_FIRING)
		return;
	size_t klen = strlen(v->key);
	if (klen > 6 && strcmp(v->key + klen - 6, "/stale") == 0)
		st->stale = true;
	else if (v->severity == SEV_CRITICAL)
		st->critical = true;
	else if (v->severity == SEV_WARNING)
		st->warning = true;
}

/* The alerts of one instrument, gathered in one pass over every alert
 * before the instruments are walked. Each instrument looking through
 * every alert (twice) made a snapshot instruments × alerts compares on
 * the main thread: with 1,000 instruments gone stale together, 10^8. */
struct alert_bucket {
	UT_hash_handle hh;
	struct alert_view *v; /* strings borrowed from the alerts: the build is
				 synchronous, nothing changes them meanwhile */
	size_t n, cap;
	char prefix[ID_MAX * 2 + 3]; /* "site/instrument/" */
};

struct snap_ctx {
	struct labqcd *d;
	struct dash_snapshot *s;
	double day_start;
	struct alert_bucket *buckets;
	bool no_buckets; /* out of memory: each instrument reads every alert */
};

static void bucket_alert(const struct alert_view *v, void *arg)
{
	struct snap_ctx *ctx = arg;
	const char *s1 = strchr(v->key, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	struct alert_bucket *b;
	size_t plen;

	if (s2 == NULL || (plen = (size_t)(s2 - v->key) + 1) >= sizeof(b->prefix))
		return; /* no instrument's (the broker's own) */
	HASH_FIND(hh, ctx->buckets, v->key, plen, b);
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL) {
			ctx->no_buckets = true;
			return;
		}
		memcpy(b->prefix, v->key, plen);
		HASH_ADD(hh, ctx->buckets, prefix, plen, b);
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4;
		struct alert_view *nv = reallocarray(b->v, cap, sizeof(*nv));
		if (nv == NULL) {
			ctx->no_buckets = true;
			return;
		}
		b->v = nv;
		b->cap = cap;
	}
	b->v[b->n++] = *v;
}

static void free_buckets(struct snap_ctx *ctx)
{
	struct alert_bucket *b, *tmp;

	HASH_ITER(hh, ctx->buckets, b, tmp)
	{
		HASH_DEL(ctx->buckets, b);
		free(b->v);
		free(b);
	}
}

/* scan_alert over the instrument's alerts, in the alerts' own order. */
static void scan_alerts(const struct snap_ctx *ctx, struct instrument_status *st)
{
	struct alert_bucket *b;

	if (ctx->no_buckets) {
		alerts_foreach(ctx->d->alerts, scan_alert, st);
		return;
	}
	HASH_FIND(hh, ctx->buckets, st->prefix, st->plen, b);
	for (size_t i = 0; b != NULL && i < b->n; i++)
		scan_alert(&b->v[i], st);
}

static void add_instrument(const char *site, const char *instrument, bool maint, void *arg)
{
	struct snap_ctx *ctx = arg;
	char prefix[ID_MAX * 2 + 3];
	const struct cfg_instrument *ci = config_instrument(ctx->d->cfg, site, instrument);
	struct instrument_status st;

	snprintf(prefix, sizeof(prefix), "%s/%s/", site, instrument);
	memset(&st, 0, sizeof(st));
	st.d = ctx->d;
	st.now = ctx->s->generated_at;
	st.site = site;
	st.instrument = instrument;
	st.prefix = prefix;
	st.plen = strlen(prefix);
	scan_alerts(ctx, &st);
	enum dash_status status = maint         ? DASH_MAINTENANCE
				  : st.critical ? DASH_ALARM
				  : st.stale    ? DASH_STALE
				  : st.warning  ? DASH_WARNING
						: DASH_OK;
	struct dash_instrument *di = dash_snap_add_instrument(ctx->s, site, instrument,
							      ci ? ci->location : "", status);
	if (di == NULL)
		return;
	st.di = di;
	scan_alerts(ctx, &st);
	equipment_snapshot(ctx->d, site, instrument, di);
	qc_snapshot(ctx->d, site, instrument, di, ctx->day_start);
	pbrtqc_snapshot(ctx->d, site, instrument, di);
}

struct dash_snapshot *dashboard_snapshot(struct labqcd *d, double now)
{
	if (d->dashboard) {
		struct dashboard *db = d->dashboard;
		struct store_stats ss;

		if (d->store) {
			store_get_stats(d->store, &ss);
			db->written_at_snapshot = ss.written;
		}
		db->last_snapshot_mono = mono_clock();
		pthread_mutex_lock(&db->lock);
		db->interval_s = d->cfg->daemon.dashboard_interval_s; /* follows a reload */
		pthread_mutex_unlock(&db->lock);
	}
	return dashboard_build(d, now);
}

struct dash_snapshot *dashboard_build(struct labqcd *d, double now)
{
	struct snap_ctx ctx = {.d = d, .s = dash_snapshot_new(now)};
	time_t t = (time_t)now;
	struct tm tm;

	if (ctx.s == NULL)
		return NULL;
	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	ctx.day_start = (double)mktime(&tm);
	alerts_foreach(d->alerts, bucket_alert, &ctx);
	equipment_foreach_instrument(d, add_instrument, &ctx);
	free_buckets(&ctx);
	return ctx.s;
}

/* Graph time a render may take: most of the interval. The renderer runs
 * at idle priority, so what it takes is only what ingestion leaves idle;
 * with a third of the interval (as before) the day graphs of 10k
 * channels lagged 518 s behind their files under a steady 1k msg/s
 * (make bench row 7f, 2026-12-07). What a render did not reach is drawn
 * by the next; the rest of the interval is for the pages. */
static double render_budget(double interval_s)
{
	return interval_s * 0.9;
}

static void *render_thread(void *arg)
{
	struct dashboard *db = arg;

	/* Drawing is background work: under SCHED_IDLE (per thread on
	 * Linux) it runs only on CPU time nothing else wants, so on a busy
	 * machine graphs lag but ingestion, rules and alerts never slow
	 * down for them. Where SCHED_IDLE is refused, the lowest nice. */
	struct sched_param sp = {.sched_priority = 0};
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0 &&
	    setpriority(PRIO_PROCESS, (id_t)gettid(), 19) == -1)
		log_warn("dashboard: cannot lower the renderer's priority");
	pthread_mutex_lock(&db->lock);
	for (;;) {
		while (!db->stop && db->waiting == NULL)
			pthread_cond_wait(&db->cond, &db->lock);
		if (db->stop)
			break;
		struct dash_snapshot *s = db->waiting;
		db->waiting = NULL;
		db->busy = true;
		dash_set_interval(db->dash, db->interval_s);
		dash_set_budget(db->dash, render_budget(db->interval_s)); /* follows a reload */
		pthread_mutex_unlock(&db->lock);

		struct dash_stats stats;
		memset(&stats, 0, sizeof(stats));
		dash_render(db->dash, s, s->generated_at, &stats);
		double at = s->generated_at;
		dash_snapshot_free(s);

		pthread_mutex_lock(&db->lock);
		db->last = stats;
		db->last_render = at;
		db->busy = false;
		if (stats.graphs_written > 0)
			db->drew_day_graph = true;
	}
	pthread_mutex_unlock(&db->lock);
	return NULL;
}

struct dashboard *dashboard_open(const struct config *cfg, bool thread)
{
	struct dashboard *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return NULL;
	pthread_mutex_init(&db->lock, NULL);
	pthread_cond_init(&db->cond, NULL);
	if ((db->dash = dash_new(cfg->daemon.www_dir, cfg->daemon.rrd_dir)) == NULL) {
		free(db);
		return NULL;
	}
	char audit[4200];
	snprintf(audit, sizeof(audit), "%s/audit.jsonl", cfg->daemon.state_dir);
	db->interval_s = cfg->daemon.dashboard_interval_s;
	dash_set_interval(db->dash, db->interval_s);
	if (dash_set_audit_log(db->dash, audit) == -1)
		log_warn("dashboard: alert history");
	if (cfg->daemon.rrdcached[0])
		dash_set_rrdcached(db->dash, cfg->daemon.rrdcached);
	if (thread) {
		dash_set_budget(db->dash, render_budget(db->interval_s));
		if (pthread_create(&db->thread, NULL, render_thread, db) != 0) {
			dash_free(db->dash);
			free(db);
			return NULL;
		}
		pthread_setname_np(db->thread, "labqcd-dash");
		db->running = true;
	}
	return db;
}

void dashboard_post(struct dashboard *db, struct dash_snapshot *s)
{
	struct dash_snapshot *old;

	pthread_mutex_lock(&db->lock);
	old = db->waiting;
	db->waiting = s;
	pthread_cond_signal(&db->cond);
	pthread_mutex_unlock(&db->lock);
	dash_snapshot_free(old); /* the renderer was busy: this one is newer */
}

int dashboard_render_now(struct dashboard *db, struct dash_snapshot *s, struct dash_stats *out)
{
	int rc = dash_render(db->dash, s, s->generated_at, out);

	pthread_mutex_lock(&db->lock);
	db->last = *out;
	db->last_render = s->generated_at;
	pthread_mutex_unlock(&db->lock);
	return rc;
}

bool dashboard_want_early(struct dashboard *db, struct labqcd *d, double now)
{
	struct store_stats ss;
	bool idle, wanted;

	if (db == NULL || d->store == NULL || now < db->next_early_check)
		return false;
	db->next_early_check = now + 1.0;
	pthread_mutex_lock(&db->lock);
	idle = db->waiting == NULL && !db->busy;
	wanted = !db->drew_day_graph || db->last.channels_waiting > 0;
	pthread_mutex_unlock(&db->lock);
	/* At most one early render every 2 s, and only once the store
	 * wrote what the last snapshot could not show. */
	if (!idle || !wanted || now - db->last_snapshot_mono < 2.0)
		return false;
	store_get_stats(d->store, &ss);
	return ss.written != db->written_at_snapshot;
}

double dashboard_last_render(struct dashboard *db, struct dash_stats *out)
{
	double at;

	pthread_mutex_lock(&db->lock);
	at = db->last_render;
	if (out)
		*out = db->last;
	pthread_mutex_unlock(&db->lock);
	return at;
}

void dashboard_close(struct dashboard *db)
{
	if (db == NULL)
		return;
	if (db->running) {
		dash_cancel(db->dash); /* a render in progress stops between files */
		pthread_mutex_lock(&db->lock);
		db->stop = true;
		pthread_cond_signal(&db->cond);
		pthread_mutex_unlock(&db->lock);
		pthread_join(db->thread, NULL);
	}
	dash_snapshot_free(db->waiting);
	dash_free(db->dash);
	pthread_mutex_destroy(&db->lock);
	pthread_cond_destroy(&db->cond);
	free(db);
}
