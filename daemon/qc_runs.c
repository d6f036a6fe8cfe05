/*
 * qc_runs.c: the QC record around runs (DESIGN 4, issue 17):
 *  - each run's status, completeness and disposition, kept for the last
 *    QC_RUNS_KEPT runs of an analyte (state, dashboard);
 *  - a run that closes (or stays open past run_window) without every
 *    level: a `qc_run` record with status `incomplete`, and the
 *    `<key>/qc_missing` alert (warning);
 *  - no complete run for `qc_every`, or none today by `due_by`:
 *    `<key>/qc_missing` (42 CFR 493.1256(d)(3)(i): two levels each day
 *    of testing); a complete run resolves it;
 *  - a rejected run without a disposition after `action_due`:
 *    `<key>/qc_action` (warning), resolved by the disposition;
 *  - dispositions from labqcctl qc-action or the ack topic: a `qc_action`
 *    record (42 CFR 493.1282(b)(2): the corrective action, and the review
 *    of patient results since the last acceptable run); an override
 *    changes the run's final verdict in the record, with a reason.
 * Time-driven parts run from qc_tick() on the daemon's clock (the input's
 * in --replay).
 */
#include "daemon/labqcd.h"
#include "dashboards/dashboards.h"
#include "daemon/qc_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct qc_run *nth_newest(struct qc_analyte *q, size_t k)
{
	return &q->runs[(q->runs_next + QC_RUNS_KEPT - 1 - k) % QC_RUNS_KEPT];
}

/* A run by id: the newest rejected one with that id (a rerun shares its
 * id with the run it reruns, and a disposition is for the rejected one),
 * else the newest. */
struct qc_run *qc_run_find(struct qc_analyte *q, const char *id)
{
	struct qc_run *any = NULL;

	for (size_t k = 0; k < q->n_runs; k++) {
		struct qc_run *r = nth_newest(q, k);

		if (strcmp(r->id, id) != 0)
			continue;
		if (r->status == QC_REJECT)
			return r;
		if (any == NULL)
			any = r;
	}
	return any;
}

static struct qc_run *run_by_no(struct qc_analyte *q, uint64_t run_no)
{
	for (size_t k = 0; k < q->n_runs; k++)
		if (nth_newest(q, k)->run_no == run_no)
			return nth_newest(q, k);
	return NULL;
}

/* "accept", "reject", ... or the override. */
const char *qc_run_final(const struct qc_run *r)
{
	if (r->override == QC_OVERRIDE_ACCEPT)
		return "accept";
	if (r->override == QC_OVERRIDE_REJECT)
		return "reject";
	return westgard_status_name(r->status);
}

static void alert(struct labqcd *d, uint64_t seq, struct qc_analyte *q, const char *rule,
                  bool firing, double t, const char *summary)
{
	char key[ALERT_KEY_MAX];
	struct cond_key k = {.kind = ALERT_QC,
	                     .site = q->site,
	                     .instrument = q->instrument,
	                     .channel = q->analyte,
	                     .rule = rule};
	struct condition c = {.value = NAN, .since = t};

	snprintf(key, sizeof(key), "%s/%s", q->key, rule);
	if (!firing && !conditions_firing(d, key))
		return;
	c.state = firing ? COND_FIRING : COND_OK;
	c.severity = SEV_WARNING;
	condition_summary(&c, "%s", summary);
	conditions_report(d, &k, &c, t, seq);
}

/* A run without every level: recorded once, and qc_missing fires. */
static void incomplete(struct labqcd *d, uint64_t seq, struct qc_analyte *q, struct qc_run *r,
                       unsigned levels_seen, double t)
{
	cJSON *rec, *miss;
	char summary[COND_SUMMARY_MAX], names[128] = "";

	if (r == NULL || r->incomplete_reported || r->complete)
		return;
	r->incomplete_reported = true;
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "qc_run");
	cJSON_AddStringToObject(rec, "key", q->key);
	cJSON_AddStringToObject(rec, "run", r->id);
	cJSON_AddStringToObject(rec, "status", "incomplete");
	miss = cJSON_AddArrayToObject(rec, "missing");
	for (size_t l = 0; q->cfg && l < q->cfg->n_levels; l++)
		if (!(levels_seen & (1u << l))) {
			size_t n = strlen(names);

			cJSON_AddItemToArray(miss, cJSON_CreateString(q->cfg->levels[l].name));
			snprintf(names + n, sizeof(names) - n, "%s%s", n ? " " : "",
			         q->cfg->levels[l].name);
		}
	audit_write(d->audit, t, seq, rec);
	snprintf(summary, sizeof(summary), "%s run %s incomplete: %s missing", q->analyte, r->id,
	         names);
	alert(d, seq, q, "qc_missing", true, t, summary);
	q->missing_firing = true;
}

void qc_runs_note(struct labqcd *d, uint64_t seq, struct qc_analyte *q,
                  const struct qc_verdict *v, double t)
{
	struct qc_run *r;

	if (v->closed) {
		r = run_by_no(q, v->closed_run_no);
		if (r) {
			r->closed = true;
			incomplete(d, seq, q, r, v->closed_levels_seen, t);
		}
	}
	r = run_by_no(q, v->run_no);
	if (r == NULL) {
		r = &q->runs[q->runs_next];
		memset(r, 0, sizeof(*r));
		r->run_no = v->run_no;
		snprintf(r->id, sizeof(r->id), "%s", v->run);
		snprintf(r->rerun_of, sizeof(r->rerun_of), "%s", v->rerun_of);
		r->first_t = t;
		q->runs_next = (q->runs_next + 1) % QC_RUNS_KEPT;
		if (q->n_runs < QC_RUNS_KEPT)
			q->n_runs++;
	}
	r->status = v->status;
	if (v->rejected_now)
		r->rejected_t = t;
	if (v->run_complete && !r->complete) {
		r->complete = true;
		q->last_complete_t = t;
		if (q->missing_firing) {
			char summary[COND_SUMMARY_MAX];

			snprintf(summary, sizeof(summary), "%s run %s complete", q->analyte, r->id);
			alert(d, seq, q, "qc_missing", false, t, summary);
			q->missing_firing = false;
		}
	}
}

static double tz_offset(double t)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (!isfinite(t) || localtime_r(&s, &tm) == NULL)
		return 0;
	return (double)tm.tm_gmtoff;
}

/* Missing QC by qc_every or due_by; the open run incomplete past its
 * window; rejected runs past action_due without a disposition. */
static void tick_one(struct labqcd *d, struct qc_analyte *q, double now)
{
	const struct cfg_qc_analyte *a = q->cfg;
	double since, off, day_start, due;
	bool missing = false;
	char summary[COND_SUMMARY_MAX] = "";

	if (a == NULL)
		return;
	if (q->watch_since == 0)
		q->watch_since = now;
	since = fmax(q->last_complete_t, q->watch_since);
	if (a->qc_every_s > 0 && now - since > a->qc_every_s) {
		missing = true;
		snprintf(summary, sizeof(summary), "%s: no complete QC run for %.0f h", q->analyte,
		         (now - since) / 3600.0);
	}
	if (a->due_by_min >= 0) {
		off = tz_offset(now);
		day_start = floor((now + off) / 86400.0) * 86400.0 - off;
		due = day_start + a->due_by_min * 60.0;
		if (now >= due && q->last_complete_t < day_start && q->watch_since < due) {
			missing = true;
			snprintf(summary, sizeof(summary), "%s: no complete QC run today by %02d:%02d",
			         q->analyte, a->due_by_min / 60, a->due_by_min % 60);
		}
	}
	if (missing && !q->missing_firing) {
		alert(d, 0, q, "qc_missing", true, now, summary);
		q->missing_firing = true;
	}
	if (q->w.run.open && now - q->w.run.first_t > q->p.run_window_s) {
		struct qc_run *r = run_by_no(q, q->w.run.run_no);

		incomplete(d, 0, q, r, q->w.run.levels_seen, now);
	}
	for (size_t k = 0; k < q->n_runs; k++) {
		struct qc_run *r = nth_newest(q, k);

		if (a->action_due_s <= 0 || /* 0: off */
		    r->status != QC_REJECT || r->has_action || r->override || r->action_alerted ||
		    now - r->rejected_t < a->action_due_s)
			continue;
		r->action_alerted = true;
		snprintf(summary, sizeof(summary),
		         "%s run %s rejected %.0f h ago: no corrective action recorded", q->analyte,
		         r->id, (now - r->rejected_t) / 3600.0);
		alert(d, 0, q, "qc_action", true, now, summary);
	}
}

void qc_tick(struct labqcd *d, double now)
{
	for (size_t i = 0; i < d->cfg->n_instruments; i++) {
		const struct cfg_instrument *ins = &d->cfg->instruments[i];

		for (size_t k = 0; k < ins->n_qc; k++) {
			struct qc_analyte *q =
			    qc_analyte_get(d, ins->site, ins->name, ins->qc[k].name);

			if (q)
				tick_one(d, q, now);
		}
	}
}

int qc_action(struct labqcd *d, uint64_t seq, const struct qc_action_req *req, char *err,
              size_t errlen)
{
	struct qc_analyte *q;
	struct qc_run *r;
	cJSON *rec;
	const char *was;
	bool pending = false;

	HASH_FIND_STR(d->qc, req->key, q);
	if (q == NULL || (r = qc_run_find(q, req->run)) == NULL) {
		snprintf(err, errlen, "no run %s of %s in the record", req->run, req->key);
		return -1;
	}
	if (req->by[0] == '\0') {
		snprintf(err, errlen, "a disposition needs --by NAME");
		return -1;
	}
	if (req->override && req->reason[0] == '\0') {
		snprintf(err, errlen, "an override needs --reason");
		return -1;
	}
	if (!req->override && req->action[0] == '\0') {
		snprintf(err, errlen, "say what was done (or --override accept|reject --reason)");
		return -1;
	}
	if (!req->override && r->status != QC_REJECT) {
		snprintf(err, errlen, "run %s of %s was not rejected (%s): no corrective action to "
		         "record; an override needs --override", req->run, req->key,
		         westgard_status_name(r->status));
		return -1;
	}
	was = qc_run_final(r);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "type", "qc_action");
	cJSON_AddStringToObject(rec, "key", q->key);
	cJSON_AddStringToObject(rec, "run", r->id);
	if (r->rerun_of[0])
		cJSON_AddStringToObject(rec, "rerun_of", r->rerun_of);
	cJSON_AddStringToObject(rec, "by", req->by);
	if (req->name && req->name[0])
		cJSON_AddStringToObject(rec, "name", req->name);
	if (req->action[0])
		cJSON_AddStringToObject(rec, "action", req->action);
	cJSON_AddBoolToObject(rec, "reviewed", req->reviewed);
	if (req->override) {
		cJSON_AddStringToObject(rec, "override",
		                        req->override == QC_OVERRIDE_ACCEPT ? "accept" : "reject");
		cJSON_AddStringToObject(rec, "reason", req->reason);
		cJSON_AddStringToObject(rec, "was", was);
		r->override = (enum qc_override)req->override;
		snprintf(r->reason, sizeof(r->reason), "%s", req->reason);
	}
	if (req->action[0]) {
		r->has_action = true;
		snprintf(r->action, sizeof(r->action), "%s", req->action);
	}
	cJSON_AddStringToObject(rec, "status", qc_run_final(r));
	snprintf(r->by, sizeof(r->by), "%s", req->by);
	r->reviewed = r->reviewed || req->reviewed;
	audit_write(d->audit, d->clock, seq, rec);
	for (size_t k = 0; k < q->n_runs; k++) {
		const struct qc_run *o = nth_newest(q, k);

		pending = pending || (o->action_alerted && o->status == QC_REJECT && !o->has_action &&
		                      !o->override);
	}
	if (!pending) {
		char summary[COND_SUMMARY_MAX];

		snprintf(summary, sizeof(summary), "%s run %s: disposition recorded by %s",
		         q->analyte, r->id, req->by);
		alert(d, seq, q, "qc_action", false, d->clock, summary);
	}
	return 0;
}

/* {"key":K,"run":R,"by":B,"action":"...","reviewed":b,"override":"accept"|"reject",
 *  "reason":"..."}: from the control socket and the ack topic alike. */
int qc_action_json(struct labqcd *d, uint64_t seq, const cJSON *o, char *err, size_t errlen)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "run");
	const cJSON *by = cJSON_GetObjectItemCaseSensitive(o, "by");
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(o, "action");
	const cJSON *reviewed = cJSON_GetObjectItemCaseSensitive(o, "reviewed");
	const cJSON *ov = cJSON_GetObjectItemCaseSensitive(o, "override");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(o, "reason");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
	struct qc_action_req req = {.action = "", .reason = "", .name = ""};

	if (!cJSON_IsObject(o) || !cJSON_IsString(key) || !cJSON_IsString(run) ||
	    !cJSON_IsString(by) || (action && !cJSON_IsString(action)) ||
	    (reviewed && !cJSON_IsBool(reviewed)) || (ov && !cJSON_IsString(ov)) ||
	    (reason && !cJSON_IsString(reason)) || (name && !cJSON_IsString(name))) {
		snprintf(err, errlen, "a qc_action needs {\"key\", \"run\", \"by\", \"action\"} "
		                      "(strings), \"reviewed\" (true/false), \"override\" and "
		                      "\"reason\" (strings)");
		return -1;
	}
	if (strlen(by->valuestring) >= ID_MAX || (name && strlen(name->valuestring) >= ID_MAX) ||
	    (action && strlen(action->valuestring) >= QC_TEXT_MAX) ||
	    (reason && strlen(reason->valuestring) >= QC_TEXT_MAX)) {
		snprintf(err, errlen, "by, action or reason too long");
		return -1;
	}
	for (const char *c = by->valuestring; *c; c++)
		if ((unsigned char)*c < 0x20) {
			snprintf(err, errlen, "control character in by");
			return -1;
		}
	for (const char *c = name ? name->valuestring : ""; *c; c++)
		if ((unsigned char)*c < 0x20) {
			snprintf(err, errlen, "control character in name");
			return -1;
		}
	if (name)
		req.name = name->valuestring;
	req.key = key->valuestring;
	req.run = run->valuestring;
	req.by = by->valuestring;
	if (action)
		req.action = action->valuestring;
	req.reviewed = cJSON_IsTrue(reviewed);
	if (reason)
		req.reason = reason->valuestring;
	if (ov) {
		if (strcmp(ov->valuestring, "accept") == 0)
			req.override = QC_OVERRIDE_ACCEPT;
		else if (strcmp(ov->valuestring, "reject") == 0)
			req.override = QC_OVERRIDE_REJECT;
		else {
			snprintf(err, errlen, "override is accept or reject");
			return -1;
		}
	}
	return qc_action(d, seq, &req, err, errlen);
}

cJSON *qc_runs_to_json(const struct qc_analyte *q)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "runs");

	cJSON_AddNumberToObject(o, "last_complete_t", q->last_complete_t);
	cJSON_AddNumberToObject(o, "watch_since", q->watch_since);
	cJSON_AddBoolToObject(o, "missing_firing", q->missing_firing);
	for (size_t k = 0; arr && k < q->n_runs; k++) {
		const struct qc_run *r = &q->runs[(q->runs_next + QC_RUNS_KEPT - q->n_runs + k) %
		                                  QC_RUNS_KEPT];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddNumberToObject(x, "run_no", (double)r->run_no);
		cJSON_AddStringToObject(x, "id", r->id);
		cJSON_AddStringToObject(x, "rerun_of", r->rerun_of);
		cJSON_AddNumberToObject(x, "first_t", r->first_t);
		cJSON_AddNumberToObject(x, "rejected_t", r->rejected_t);
		cJSON_AddNumberToObject(x, "status", r->status);
		cJSON_AddBoolToObject(x, "complete", r->complete);
		cJSON_AddBoolToObject(x, "closed", r->closed);
		cJSON_AddBoolToObject(x, "incomplete_reported", r->incomplete_reported);
		cJSON_AddBoolToObject(x, "action_alerted", r->action_alerted);
		cJSON_AddBoolToObject(x, "has_action", r->has_action);
		cJSON_AddStringToObject(x, "action", r->action);
		cJSON_AddStringToObject(x, "by", r->by);
		cJSON_AddBoolToObject(x, "reviewed", r->reviewed);
		cJSON_AddNumberToObject(x, "override", r->override);
		cJSON_AddStringToObject(x, "reason", r->reason);
		cJSON_AddItemToArray(arr, x);
	}
	return o;
}

static void str_of(const cJSON *o, const char *k, char *dst, size_t len)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	snprintf(dst, len, "%s", cJSON_IsString(x) ? x->valuestring : "");
}

static double num_of(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(x) ? x->valuedouble : 0;
}

void qc_runs_from_json(struct qc_analyte *q, const cJSON *o)
{
	const cJSON *x;

	q->n_runs = q->runs_next = 0;
	if (!cJSON_IsObject(o))
		return;
	q->last_complete_t = num_of(o, "last_complete_t");
	q->watch_since = num_of(o, "watch_since");
	q->missing_firing = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "missing_firing"));
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "runs"))
	{
		struct qc_run *r = &q->runs[q->runs_next];
		double st = num_of(x, "status"), ov = num_of(x, "override");

		memset(r, 0, sizeof(*r));
		r->run_no = (uint64_t)num_of(x, "run_no");
		str_of(x, "id", r->id, sizeof(r->id));
		str_of(x, "rerun_of", r->rerun_of, sizeof(r->rerun_of));
		r->first_t = num_of(x, "first_t");
		r->rejected_t = num_of(x, "rejected_t");
		r->status = st >= QC_ACCEPT && st <= QC_REJECT ? (enum qc_status)st : QC_ACCEPT;
		r->complete = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "complete"));
		r->closed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "closed"));
		r->incomplete_reported =
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "incomplete_reported"));
		r->action_alerted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "action_alerted"));
		r->has_action = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "has_action"));
		str_of(x, "action", r->action, sizeof(r->action));
		str_of(x, "by", r->by, sizeof(r->by));
		r->reviewed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "reviewed"));
		r->override = ov == 1 ? QC_OVERRIDE_ACCEPT : ov == 2 ? QC_OVERRIDE_REJECT
		                                                     : QC_OVERRIDE_NONE;
		str_of(x, "reason", r->reason, sizeof(r->reason));
		q->runs_next = (q->runs_next + 1) % QC_RUNS_KEPT;
		if (q->n_runs < QC_RUNS_KEPT)
			q->n_runs++;
	}
}

/* The dashboard's runs, newest first, with what was done. */
void qc_runs_snapshot(const struct qc_analyte *q, struct dash_qc_analyte *a)
{
	for (size_t k = 0; k < q->n_runs && k < 10; k++) {
		const struct qc_run *r = &q->runs[(q->runs_next + QC_RUNS_KEPT - 1 - k) % QC_RUNS_KEPT];
		char disp[QC_TEXT_MAX * 2 + ID_MAX + 96] = "";

		if (r->override)
			snprintf(disp, sizeof(disp), "override %s by %s: %s%s%s",
			         r->override == QC_OVERRIDE_ACCEPT ? "accept" : "reject", r->by,
			         r->reason, r->has_action ? "; " : "", r->has_action ? r->action : "");
		else if (r->has_action)
			snprintf(disp, sizeof(disp), "corrective action by %s: %s", r->by, r->action);
		else if (r->status == QC_REJECT)
			snprintf(disp, sizeof(disp), "awaiting corrective action");
		if ((r->has_action || r->override) && r->reviewed) {
			size_t n = strlen(disp);

			snprintf(disp + n, sizeof(disp) - n, " (patient results reviewed)");
		}
		if (!dash_snap_add_run(a, r->first_t, r->id, qc_run_final(r),
		                       r->closed && !r->complete ? "incomplete" : "", disp))
			return;
	}
}

static cJSON *stat_json(const struct wg_sum *sum)
{
	struct westgard_stat st;
	cJSON *o = cJSON_CreateObject();
	westgard_stat_of(sum, &st);
	cJSON_AddNumberToObject(o, "n", st.n);
	if (isfinite(st.mean))
		cJSON_AddNumberToObject(o, "mean", st.mean);
	if (isfinite(st.sd))
		cJSON_AddNumberToObject(o, "sd", st.sd);
	if (isfinite(st.cv))
		cJSON_AddNumberToObject(o, "cv", st.cv);
	return o;
}

cJSON *qc_status_json(struct labqcd *d)
{
	cJSON *all = cJSON_CreateObject();
	struct qc_analyte *q, *tmp;

	HASH_ITER(hh, d->qc, q, tmp)
	{
		cJSON *o = cJSON_CreateObject(), *runs, *levels;

		if (q->cfg == NULL || o == NULL)
			continue;
		runs = cJSON_AddArrayToObject(o, "runs");
		for (size_t k = 0; runs && k < q->n_runs && k < 10; k++) {
			const struct qc_run *r = nth_newest(q, k);
			cJSON *x = cJSON_CreateObject();

			cJSON_AddStringToObject(x, "run", r->id);
			if (r->rerun_of[0])
				cJSON_AddStringToObject(x, "rerun_of", r->rerun_of);
			cJSON_AddStringToObject(x, "status", qc_run_final(r));
			cJSON_AddBoolToObject(x, "complete", r->complete);
			if (r->has_action)
				cJSON_AddStringToObject(x, "action", r->action);
			if (r->override)
				cJSON_AddStringToObject(x, "override",
				                        r->override == QC_OVERRIDE_ACCEPT ? "accept"
				                                                          : "reject");
			if (r->has_action || r->override) {
				cJSON_AddStringToObject(x, "by", r->by);
				cJSON_AddBoolToObject(x, "reviewed", r->reviewed);
			}
			cJSON_AddItemToArray(runs, x);
		}
		levels = cJSON_AddObjectToObject(o, "levels");
		for (size_t l = 0; levels && l < q->cfg->n_levels && l < WG_LEVELS_MAX; l++) {
			cJSON *lots = cJSON_AddObjectToObject(levels, q->cfg->levels[l].name);

			for (int s = 0; lots && s < WG_LOTS_MAX; s++) {
				const struct wg_lot *lt = &q->w.lv[l].lots[s];
				cJSON *x;

				if (!lt->used)
					continue;
				x = cJSON_AddObjectToObject(lots, lt->lot);
				cJSON_AddItemToObject(x, "all", stat_json(&lt->st.all));
				cJSON_AddItemToObject(x, "accepted", stat_json(&lt->st.acc));
				cJSON_AddItemToObject(x, "month_all", stat_json(&lt->st.month_all));
				cJSON_AddItemToObject(x, "month_accepted", stat_json(&lt->st.month_acc));
			}
		}
		cJSON_AddItemToObject(all, q->key, o);
	}
	return all;
}
