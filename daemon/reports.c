/*
 * reports.c: the daemon's own reports (reports.h): the schedule, the
 * queue of periods to render, the render child, and the emails.
 *
 * The schedule. `every: month, on: N` makes month M due at local
 * midnight of day N of month M+1 (`every: week, on: N`: ISO weekday N of
 * the next week, 1 = the Monday it ends on). Each tick the latest period
 * that is due is queued once, however long the daemon was down; the
 * file remembers the end of the last one queued, so a restart queues
 * nothing again. On a first start with `reports:` (no file yet) the last
 * due period is queued: the lab gets last month's report at once, not a
 * backlog of every month in the audit log.
 *
 * Exactly once across a crash, as alerts are (alerts.c, spool.h). The
 * durable record is <state_dir>/reports.json: the queue (periods asked
 * for and not yet emailed), the schedule's mark, and "spooled", the ids
 * of email entries staged and not yet known to be committed. A render
 * leaves in three steps, each durable before the next:
 *   1. the child has exited with its files; an email per receiver is
 *      staged, "<id>.json.pending" in the spool, which nothing sends;
 *   2. reports.json is written (write, fsync, rename): the period out of
 *      the queue and the ids under "spooled", in the same write;
 *   3. the ids are committed (renamed "<id>.json"), for the notifier.
 * A crash before 2 leaves the period queued: it is rendered again at the
 * next start, and its staged entries, recorded nowhere, are deleted by
 * the alert engine's spool_recover. A crash between 2 and 3 leaves ids
 * recorded: reports_open commits them (before alerts_open runs its
 * recovery). After 3, the spool sends each entry once (deleted on 250).
 * A crash while the child renders leaves the period queued (the child
 * dies with the daemon, PR_SET_PDEATHSIG) and it is rendered again.
 *
 * Renders go one at a time, the oldest request first. A render that
 * fails is tried again 10 minutes later, then 20, and after 3 failures
 * the period leaves the queue with an error in the log and render.log.
 */
#include "daemon/reports.h"
#include "daemon/fsutil.h"
#include "daemon/log.h"
#include "dashboards/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define QUEUE_MAX 16
#define TRIES_MAX 3
#define RETRY_S 600.0
#define STAGED_MAX 64

struct queued {
	char period[40]; /* a label report_period_parse takes */
	char why[CFG_NAME_MAX + 16]; /* "schedule", or "requested by NAME" */
	int tries;
};

struct reports {
	char state_dir[CFG_PATH_MAX];
	char file[CFG_PATH_MAX + 16];
	char exe[CFG_PATH_MAX];
	struct spool *spool;

	double scheduled_end; /* end of the last period the schedule queued */
	unsigned long job;    /* numbers the render directories */
	struct queued queue[QUEUE_MAX];
	size_t n_queue;
	char staged[STAGED_MAX][NOTIF_ID_MAX]; /* "spooled": staged, commit after the save */
	size_t n_staged;
	bool dirty;      /* the file is behind memory */
	bool staged_due; /* staged ids wait for a save, then their commit */

	pid_t child; /* 0: none */
	char child_dir[CFG_PATH_MAX];
	double next_try;
};

static struct complaint save_complaint;

/* ---- reports.json ---- */

static int save(struct reports *r)
{
	cJSON *o = cJSON_CreateObject(), *q, *sp;
	char *s = NULL;
	int rc = -1;

	if (o == NULL)
		return -1;
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddNumberToObject(o, "scheduled_end", r->scheduled_end);
	cJSON_AddNumberToObject(o, "job", (double)r->job);
	q = cJSON_AddArrayToObject(o, "queue");
	for (size_t i = 0; q && i < r->n_queue; i++) {
		cJSON *e = cJSON_CreateObject();
		if (e == NULL || !cJSON_AddItemToArray(q, e))
			goto out;
		cJSON_AddStringToObject(e, "period", r->queue[i].period);
		cJSON_AddStringToObject(e, "why", r->queue[i].why);
		cJSON_AddNumberToObject(e, "tries", r->queue[i].tries);
	}
	sp = cJSON_AddArrayToObject(o, "spooled");
	for (size_t i = 0; sp && i < r->n_staged; i++)
		cJSON_AddItemToArray(sp, cJSON_CreateString(r->staged[i]));
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	rc = fs_write_atomic(r->file, s, strlen(s), 0640);
out:
	if (rc == -1)
		complain(&save_complaint, "reports: writing %s: %s", r->file, strerror(errno));
	else
		complain_release(&save_complaint, "reports: %s written again", r->file);
	free(s);
	cJSON_Delete(o);
	return rc;
}

static void load(struct reports *r)
{
	char *text = NULL, aside[CFG_PATH_MAX + 64];
	const cJSON *it;
	cJSON *o;
	size_t len;

	if (fs_read_all(r->file, &text, &len) == -1) {
		if (errno != ENOENT)
			log_warn("reports: %s", r->file);
		return;
	}
	o = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(o)) {
		/* What it held is lost: the schedule sends the last period
		 * again rather than never. */
		if (fs_move_aside(r->file, aside, sizeof(aside)) == 0)
			log_warnx("reports: %s is corrupt, moved to %s; starting afresh", r->file,
				  aside);
		cJSON_Delete(o);
		return;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "scheduled_end");
	r->scheduled_end = cJSON_IsNumber(it) ? it->valuedouble : 0;
	it = cJSON_GetObjectItemCaseSensitive(o, "job");
	r->job = cJSON_IsNumber(it) && it->valuedouble > 0 ? (unsigned long)it->valuedouble : 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "queue"))
	{
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "period");
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(it, "why");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "tries");
		struct queued *q = &r->queue[r->n_queue];

		if (r->n_queue == QUEUE_MAX || !cJSON_IsString(p))
			continue;
		snprintf(q->period, sizeof(q->period), "%s", p->valuestring);
		snprintf(q->why, sizeof(q->why), "%s", cJSON_IsString(w) ? w->valuestring : "");
		q->tries = cJSON_IsNumber(t) ? (int)t->valuedouble : 0;
		r->n_queue++;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "spooled"))
		if (cJSON_IsString(it) && r->n_staged < STAGED_MAX &&
		    strlen(it->valuestring) < NOTIF_ID_MAX)
			snprintf(r->staged[r->n_staged++], NOTIF_ID_MAX, "%s", it->valuestring);
	cJSON_Delete(o);
}

/* Step 3 (and the recovery of a crash between 2 and 3): commit the
 * staged ids the file records. An id neither pending nor ready was
 * committed and already sent (spool_commit: ENOENT). */
static void commit_staged(struct reports *r)
{
	size_t keep = 0;

	for (size_t i = 0; i < r->n_staged; i++) {
		if (spool_commit(r->spool, r->staged[i]) == 0 || errno == ENOENT)
			continue;
		log_warn("reports: committing %s (tried again)", r->staged[i]);
		memmove(r->staged[keep++], r->staged[i], NOTIF_ID_MAX);
	}
	if (keep != r->n_staged) {
		r->n_staged = keep;
		r->dirty = true; /* the file may forget them now */
	}
}

struct reports *reports_open(const char *state_dir, struct spool *sp)
{
	struct reports *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->spool = sp;
	snprintf(r->state_dir, sizeof(r->state_dir), "%s", state_dir);
	snprintf(r->file, sizeof(r->file), "%s/reports.json", state_dir);
	if (reports_self_exe(r->exe, sizeof(r->exe)) == -1)
		log_warnx("reports: /proc/self/exe unreadable: reports cannot be rendered");
	load(r);
	if (r->n_staged > 0) {
		log_info("reports: after a crash, committing %zu staged report emails", r->n_staged);
		commit_staged(r);
		if (r->dirty && save(r) == 0)
			r->dirty = false;
	}
	return r;
}

void reports_set_program(struct reports *r, const char *exe)
{
	snprintf(r->exe, sizeof(r->exe), "%s", exe);
}

void reports_close(struct reports *r)
{
	if (r == NULL)
		return;
	if (r->child > 0) {
		/* Queued still: rendered again at the next start. */
		kill(r->child, SIGKILL);
		waitpid(r->child, NULL, 0);
		log_info("reports: render of %s stopped; it runs again at the next start",
			 r->queue[0].period);
	}
	if (r->dirty)
		save(r);
	free(r);
}

/* ---- the queue ---- */

static bool queued(const struct reports *r, const char *period)
{
	for (size_t i = 0; i < r->n_queue; i++)
		if (strcmp(r->queue[i].period, period) == 0)
			return true;
	return false;
}

static int enqueue(struct reports *r, const char *period, const char *why)
{
	struct queued *q;

	if (r->n_queue == QUEUE_MAX)
		return errno = ENOSPC, -1;
	q = &r->queue[r->n_queue++];
	memset(q, 0, sizeof(*q));
	snprintf(q->period, sizeof(q->period), "%s", period);
	snprintf(q->why, sizeof(q->why), "%s", why);
	r->dirty = true;
	return 0;
}

static void dequeue(struct reports *r)
{
	memmove(r->queue, r->queue + 1, (r->n_queue - 1) * sizeof(r->queue[0]));
	r->n_queue--;
	r->dirty = true;
}

int reports_request(struct reports *r, const struct config *cfg, const char *period,
		    const char *by, double now, char *msg, size_t msglen)
{
	struct report_period p;
	char why[sizeof(r->queue[0].why)], err[256];

	(void)now;
	if (report_period_parse(period, &p, err, sizeof(err)) == -1) {
		snprintf(msg, msglen, "%s", err);
		return -1;
	}
	if (queued(r, p.label)) {
		snprintf(msg, msglen, "%s is already queued", p.label);
		return 0;
	}
	snprintf(why, sizeof(why), "requested by %s", by && by[0] ? by : "labqcctl");
	if (enqueue(r, p.label, why) == -1) {
		snprintf(msg, msglen, "%d reports are queued already; ask again later", QUEUE_MAX);
		return -1;
	}
	/* Durable before the answer: an accepted request is not lost. */
	if (save(r) == -1) {
		int e = errno;
		r->n_queue--;
		snprintf(msg, msglen, "%s: %s", r->file, strerror(e));
		return -1;
	}
	r->dirty = false;
	log_info("reports: %s queued (%s)", p.label, why);
	snprintf(msg, msglen, "%s queued: rendered into %s/reports/%s.N/%s%s", p.label, r->state_dir,
		 p.label, cfg->reports.n_receivers ? " and emailed to " : "",
		 cfg->reports.n_receivers ? "the reports: receivers" : "");
	return 0;
}

/* ---- the schedule ---- */

static double local_midnight_after(double t, int days)
{
	time_t tt = (time_t)t + 12 * 3600; /* inside the day t's midnight starts */
	struct tm tm;

	localtime_r(&tt, &tm);
	tm.tm_mday += days;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (double)mktime(&tm);
}

/* The latest period due at `now`: its end plus (on - 1) days passed. */
static void due_period(const struct cfg_reports *c, double now, struct report_period *p)
{
	report_period_previous(now, c->weekly, p);
	if (now < local_midnight_after(p->end, c->on - 1))
		report_period_previous(p->start, c->weekly, p);
}

/* ---- the render and its emails ---- */

static void start_next(struct reports *r, const struct config *cfg, double now)
{
	struct queued *q = &r->queue[0];
	char dir[CFG_PATH_MAX];

	if (r->exe[0] == '\0' || now < r->next_try)
		return;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/reports", r->state_dir) >= sizeof(dir) - 60)
		errno = ENAMETOOLONG;
	else if (fs_mkdir_p(dir, 0750) == 0)
		dir[0] = '\0';
	if (dir[0]) {
		log_warn("reports: %s", dir);
		r->next_try = now + RETRY_S;
		return;
	}
	/* A directory of its own per render: an email still waiting in the
	 * spool keeps its files, whatever is rendered after it. */
	for (int k = 0; k < 1000; k++) {
		r->job++;
		if ((size_t)snprintf(dir, sizeof(dir), "%s/reports/%s.%lu", r->state_dir, q->period,
				     r->job) < sizeof(dir) &&
		    (mkdir(dir, 0750) == 0 || errno != EEXIST))
			break;
	}
	r->dirty = true;
	r->child = reports_spawn(r->exe, cfg->path, q->period, dir);
	if (r->child == -1) {
		log_warn("reports: starting the render of %s", q->period);
		r->child = 0;
		r->next_try = now + RETRY_S;
		return;
	}
	snprintf(r->child_dir, sizeof(r->child_dir), "%s", dir);
	log_info("reports: rendering %s (%s) into %s, pid %d", q->period, q->why, dir,
		 (int)r->child);
}

/* The last line of render.log, for the log when a render failed. */
static void last_line(const char *dir, char *buf, size_t len)
{
	char path[CFG_PATH_MAX + 16], *text = NULL, *end, *start;
	size_t n;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/render.log", dir);
	if (fs_read_all(path, &text, &n) == -1)
		return;
	end = text + n;
	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = strrchr(text, '\n');
	snprintf(buf, len, "%s", start ? start + 1 : text);
	free(text);
}

/* Step 1: an email per receiver, staged. The ids go to r->staged; they
 * are committed only after the file that lists them is written. */
static int stage_emails(struct reports *r, const struct config *cfg, const char *period,
			bool chain_broken, double now)
{
	const struct cfg_reports *c = &cfg->reports;
	struct notification n;
	size_t n_staged = r->n_staged;

	for (size_t i = 0; i < c->n_receivers; i++) {
		const struct cfg_receiver *rv = NULL;

		for (size_t j = 0; j < cfg->n_receivers && rv == NULL; j++)
			if (strcmp(cfg->receivers[j].name, c->receivers[i]) == 0)
				rv = &cfg->receivers[j];
		if (rv == NULL || rv->n_email == 0)
			continue; /* checked at load; a reload may drop it */
		if (r->n_staged == STAGED_MAX)
			return errno = ENOSPC, -1;
		memset(&n, 0, sizeof(n));
		n.kind = NOTIF_EMAIL;
		snprintf(n.receiver, sizeof(n.receiver), "%s", rv->name);
		snprintf(n.status, sizeof(n.status), "report");
		snprintf(n.reason, sizeof(n.reason), "report");
		snprintf(n.group_key, sizeof(n.group_key), "report/%s", period);
		for (size_t k = 0; k < rv->n_email && n.n_to < NOTIF_TO_MAX; k++)
			snprintf(n.to[n.n_to++], sizeof(n.to[0]), "%s", rv->email[k]);
		snprintf(n.report, sizeof(n.report), "%s", period);
		snprintf(n.report_lab, sizeof(n.report_lab), "%s", c->lab);
		snprintf(n.report_dir, sizeof(n.report_dir), "%s", r->child_dir);
		n.report_chain_broken = chain_broken;
		n.created = now;
		if (spool_stage(r->spool, &n, now) == -1) {
			/* What was staged stays pending, recorded nowhere:
			 * spool_recover deletes it at the next start. */
			r->n_staged = n_staged;
			return -1;
		}
		snprintf(r->staged[r->n_staged++], NOTIF_ID_MAX, "%s", n.id);
	}
	return 0;
}

static void render_done(struct reports *r, const struct config *cfg, int status, double now)
{
	struct queued *q = &r->queue[0];
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	char why[512];

	r->child = 0;
	/* --report: 0 written, 3 written over a broken chain (said in them). */
	if (code == 0 || code == 3) {
		if (stage_emails(r, cfg, q->period, code == 3, now) == -1) {
			log_warn("reports: spooling the emails of %s (tried again)", q->period);
			r->next_try = now + RETRY_S;
			return;
		}
		log_info("reports: %s rendered in %s%s; %s", q->period, r->child_dir,
			 code == 3 ? " (the audit chain is BROKEN)" : "",
			 cfg->reports.n_receivers ? "emailing it" : "no receivers to email it to");
		dequeue(r); /* step 2 in the next save, with the staged ids */
		r->staged_due = true;
		return;
	}
	last_line(r->child_dir, why, sizeof(why));
	if (WIFSIGNALED(status))
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%skilled by signal %d",
			 why[0] ? "; " : "", WTERMSIG(status));
	if (++q->tries >= TRIES_MAX) {
		log_warnx("reports: rendering %s failed %d times (%s); given up, see %s/render.log",
			  q->period, q->tries, why, r->child_dir);
		dequeue(r);
	} else {
		log_warnx("reports: rendering %s failed (%s); tried again in %g min", q->period, why,
			  RETRY_S * q->tries / 60);
		r->next_try = now + RETRY_S * q->tries;
		r->dirty = true;
	}
}

void reports_tick(struct reports *r, const struct config *cfg, double now)
{
	if (r == NULL)
		return;
	if (r->child > 0) {
		int status;
		pid_t w = waitpid(r->child, &status, WNOHANG);

		if (w == r->child)
			render_done(r, cfg, status, now);
		else if (w == -1 && errno != EINTR) {
			log_warn("reports: waiting for the render of %s", r->queue[0].period);
			r->child = 0;
		}
	}
	if (cfg->reports.has_every) {
		struct report_period p;

		due_period(&cfg->reports, now, &p);
		if (p.end > r->scheduled_end) {
			if (queued(r, p.label) || enqueue(r, p.label, "schedule") == 0) {
				r->scheduled_end = p.end;
				r->dirty = true;
				log_info("reports: %s is due (every %s, on %d)", p.label,
					 cfg->reports.weekly ? "week" : "month", cfg->reports.on);
			}
		}
	}
	/* Step 2, then 3: only once the file lists the ids may they go. */
	if (r->dirty && save(r) == 0) {
		r->dirty = false;
		if (r->staged_due) {
			r->staged_due = false;
			commit_staged(r);
		}
	}
	if (r->child == 0 && r->n_queue > 0 && !r->staged_due)
		start_next(r, cfg, now);
}
