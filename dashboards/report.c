/*
 * report.c: a periodic report (issue 19); see report.h. The
 * order of the work (the audit log once, then one instrument at a time:
 * its channels' data, its QC figures, its JSON, its PDF, freed before
 * the next), and report.json, which holds every figure the PDFs print
 * under plain names so a LIS or a spreadsheet can take them.
 */
#include "dashboards/report_int.h"
#include "daemon/audit.h"
#include "daemon/fsutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- report.json ---- */

static void jnum(cJSON *o, const char *name, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static void jtime(cJSON *o, const char *name, double t)
{
	char buf[40];

	if (!isfinite(t)) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	audit_format_ts(t, buf, sizeof(buf));
	cJSON_AddStringToObject(o, name, buf);
}

static const char *sev_name(int s)
{
	return severity_name((enum severity)s);
}

static cJSON *excursion_json(const struct report_period *p, const struct excursion *e)
{
	cJSON *x = cJSON_CreateObject();
	double end = isnan(e->end) ? p->end : e->end;

	jtime(x, "start", e->start);
	jtime(x, "end", e->end);
	jnum(x, "duration_s", end - e->start);
	jnum(x, "peak", e->peak);
	cJSON_AddStringToObject(x, "severity", sev_name(e->severity));
	cJSON_AddBoolToObject(x, "fired", e->fired);
	cJSON_AddBoolToObject(x, "cleared", e->cleared);
	if (e->ack_by[0])
		cJSON_AddStringToObject(x, "acknowledged_by", e->ack_by);
	else
		cJSON_AddNullToObject(x, "acknowledged_by");
	jtime(x, "acknowledged_at", e->ack_t);
	cJSON_AddStringToObject(x, "comment", e->comment);
	return x;
}

static cJSON *chan_json(const struct report_period *p, const struct rep_chan *c)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	double total = c->all.minutes;
	char date[16];

	cJSON_AddStringToObject(o, "channel", c->cfg->name);
	cJSON_AddStringToObject(o, "unit", c->cfg->unit);
	cJSON *lim = cJSON_AddObjectToObject(o, "limits");
	jnum(lim, "min", c->lim.min);
	jnum(lim, "max", c->lim.max);
	jnum(lim, "warning_min", c->lim.warning_min);
	jnum(lim, "warning_max", c->lim.warning_max);
	cJSON_AddBoolToObject(o, "data", c->has_file && total > 0);
	jnum(o, "min", c->all.min);
	jnum(o, "mean", chan_acc_mean(&c->all));
	jnum(o, "max", c->all.max);
	jnum(o, "mkt", c->temperature ? mkt_celsius(&c->mkt) : NAN);
	jnum(o, "minutes", total);
	jnum(o, "minutes_in_range", c->all.band_minutes[BAND_IN]);
	jnum(o, "minutes_in_warning", c->all.band_minutes[BAND_WARNING]);
	jnum(o, "minutes_out_of_range", c->all.band_minutes[BAND_OUT]);
	jnum(o, "percent_in_range", total > 0 ? 100 * c->all.band_minutes[BAND_IN] / total : NAN);
	jnum(o, "percent_in_warning",
	     total > 0 ? 100 * c->all.band_minutes[BAND_WARNING] / total : NAN);
	jnum(o, "percent_out_of_range",
	     total > 0 ? 100 * c->all.band_minutes[BAND_OUT] / total : NAN);
	jnum(o, "resolution_finest_s", c->finest_s);
	jnum(o, "resolution_coarsest_s", c->coarsest_s);
	arr = cJSON_AddArrayToObject(o, "excursions");
	for (size_t i = 0; c->exc && i < c->exc->n; i++)
		cJSON_AddItemToArray(arr, excursion_json(p, &c->exc->v[i]));
	arr = cJSON_AddArrayToObject(o, "gaps");
	for (size_t i = 0; i < c->n_gaps; i++) {
		cJSON *x = cJSON_CreateObject();
		jtime(x, "start", c->gaps[i].start);
		jtime(x, "end", c->gaps[i].end);
		jnum(x, "minutes", (c->gaps[i].end - c->gaps[i].start) / 60);
		cJSON_AddItemToArray(arr, x);
	}
	arr = cJSON_AddArrayToObject(o, "days");
	for (size_t i = 0; i < c->n_days; i++) {
		cJSON *x = cJSON_CreateObject();
		rep_date(c->days[i].start, date, sizeof(date));
		cJSON_AddStringToObject(x, "date", date);
		jnum(x, "min", c->days[i].acc.min);
		jnum(x, "max", c->days[i].acc.max);
		jnum(x, "mean", chan_acc_mean(&c->days[i].acc));
		jnum(x, "minutes_out_of_range", c->days[i].acc.band_minutes[BAND_OUT]);
		cJSON_AddItemToArray(arr, x);
	}
	return o;
}

/* The analyte's PBRTQC (issue 22): its method, block, limits (with the
 * learnt limits' record), the statistic's figures and its alerts. */
static cJSON *pbrtqc_json(const struct report_period *p, const struct rep_analyte_fig *f)
{
	static const char *const methods[] = {"ma", "mm", "ewma"};
	const struct cfg_pbrtqc *c = &f->cfg->pbrtqc;
	const struct rep_pbrtqc *pb = f->pb;
	const struct rep_chan *ch = &pb->chan;
	cJSON *o = cJSON_CreateObject(), *x, *arr;
	size_t fired = 0;

	cJSON_AddStringToObject(o, "method", methods[c->method >= 0 && c->method < 3 ? c->method : 0]);
	cJSON_AddNumberToObject(o, "block", c->block);
	if (c->has_truncate) {
		x = cJSON_AddArrayToObject(o, "truncate");
		cJSON_AddItemToArray(x, cJSON_CreateNumber(c->truncate[0]));
		cJSON_AddItemToArray(x, cJSON_CreateNumber(c->truncate[1]));
	} else {
		cJSON_AddNullToObject(o, "truncate");
	}
	cJSON_AddStringToObject(o, "limits_source", pb->limits_source);
	jnum(o, "lo", pb->lo);
	jnum(o, "hi", pb->hi);
	if (pb->rec) {
		x = cJSON_AddObjectToObject(o, "learnt");
		jtime(x, "t", pb->rec->t);
		cJSON_AddStringToObject(x, "method", pb->rec->method);
		jnum(x, "block", pb->rec->block);
		jnum(x, "lo", pb->rec->lo);
		jnum(x, "hi", pb->rec->hi);
		jnum(x, "mean", pb->rec->mean);
		jnum(x, "sd", pb->rec->sd);
		jnum(x, "n", pb->rec->n);
		jnum(x, "false_alarm_rate", pb->rec->far);
		cJSON_AddStringToObject(x, "source", pb->rec->source);
	} else {
		cJSON_AddNullToObject(o, "learnt");
	}
	cJSON_AddStringToObject(o, "series", ch->cfg->name);
	cJSON_AddBoolToObject(o, "data", ch->has_file && ch->all.minutes > 0);
	jnum(o, "min", ch->all.min);
	jnum(o, "mean", chan_acc_mean(&ch->all));
	jnum(o, "max", ch->all.max);
	jnum(o, "minutes", ch->all.minutes);
	jnum(o, "minutes_beyond_limits", ch->all.band_minutes[BAND_OUT]);
	arr = cJSON_AddArrayToObject(o, "alerts");
	for (size_t i = 0; ch->exc && i < ch->exc->n; i++) {
		cJSON_AddItemToArray(arr, excursion_json(p, &ch->exc->v[i]));
		fired += ch->exc->v[i].fired;
	}
	cJSON_AddNumberToObject(o, "alerts_fired", (double)fired);
	return o;
}

static cJSON *rule_names(unsigned mask)
{
	const char *names[WG_RULE_COUNT];
	size_t n = westgard_rules_names(mask, names, WG_RULE_COUNT);
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
	return arr;
}

/* The candidate's re-judging of the analyte's period (issue 22): the
 * figures `labqcd --what-if --analyte KEY --period PERIOD` prints. */
static cJSON *whatif_json(const struct whatif *w, const struct whatif_analyte *a)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	struct whatif_counts n = {0};

	cJSON_AddItemToObject(o, "rules", rule_names(w->rules));
	if (a)
		whatif_count(a, &n, NULL, NULL);
	cJSON_AddNumberToObject(o, "results", a ? (double)a->results : 0);
	cJSON_AddNumberToObject(o, "unjudged", a ? (double)a->unjudged : 0);
	cJSON_AddNumberToObject(o, "runs", (double)n.runs);
	cJSON_AddNumberToObject(o, "rejected_before", (double)n.rejected_before);
	cJSON_AddNumberToObject(o, "rejected_after", (double)n.rejected_after);
	cJSON_AddNumberToObject(o, "rejection_rate_before", whatif_rate(n.rejected_before, n.runs));
	cJSON_AddNumberToObject(o, "rejection_rate_after", whatif_rate(n.rejected_after, n.runs));
	cJSON_AddNumberToObject(o, "changed", (double)n.changed);
	cJSON_AddNumberToObject(o, "corrective_actions", (double)n.actions);
	cJSON_AddNumberToObject(o, "caught", (double)n.caught);
	arr = cJSON_AddArrayToObject(o, "changed_runs");
	for (size_t i = 0; a && i < a->n_runs; i++) {
		const struct whatif_run_verdict *r = &a->runs[i];
		cJSON *x;

		if (r->before == r->after)
			continue;
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "run", r->id);
		cJSON_AddBoolToObject(x, "rerun", r->rerun);
		jtime(x, "t", r->t);
		cJSON_AddStringToObject(x, "before", westgard_status_name(r->before));
		cJSON_AddStringToObject(x, "after", westgard_status_name(r->after));
		cJSON_AddItemToObject(x, "rules", rule_names(r->fired));
		cJSON_AddItemToArray(arr, x);
	}
	return o;
}

static cJSON *analyte_json(const struct report_period *p, const struct whatif *wi,
                           const struct rep_instrument *in, const struct rep_analyte_fig *f)
{
	cJSON *o = cJSON_CreateObject(), *arr, *runs, *rules;
	char date[16];

	cJSON_AddStringToObject(o, "analyte", f->cfg->name);
	jnum(o, "tea", f->cfg->has_tea ? f->cfg->tea_pct : NAN);
	arr = cJSON_AddArrayToObject(o, "levels");
	for (size_t i = 0; i < f->n_lots; i++) {
		const struct rep_lot_fig *l = &f->lots[i];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "level", l->level);
		cJSON_AddStringToObject(x, "lot", l->lot);
		jnum(x, "n", l->f.n);
		jnum(x, "mean", l->f.mean);
		jnum(x, "sd", l->f.sd);
		jnum(x, "cv", l->f.cv);
		jnum(x, "target_mean", l->target_mean);
		jnum(x, "target_sd", l->target_sd);
		jnum(x, "bias", l->f.bias);
		jnum(x, "sigma", l->f.sigma);
		jnum(x, "n_all", (double)l->n_all);
		cJSON_AddItemToArray(arr, x);
	}
	runs = cJSON_AddObjectToObject(o, "runs");
	cJSON_AddNumberToObject(runs, "accept", f->runs_accept);
	cJSON_AddNumberToObject(runs, "warning", f->runs_warning);
	cJSON_AddNumberToObject(runs, "reject", f->runs_reject);
	cJSON_AddNumberToObject(runs, "other", f->runs_other);
	rules = cJSON_AddObjectToObject(o, "rules");
	for (size_t i = 0; i < f->n_rules; i++)
		cJSON_AddNumberToObject(rules, f->rule[i], f->rule_runs[i]);
	arr = cJSON_AddArrayToObject(o, "rejected_runs");
	for (size_t i = 0; i < in->n_runs; i++) {
		const struct rep_run *r = &in->runs[i];
		cJSON *x;

		if (strcmp(r->analyte, f->cfg->name) != 0 ||
		    (strcmp(r->status, "reject") != 0 && strcmp(r->final, "reject") != 0))
			continue;
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "run", r->id);
		cJSON_AddBoolToObject(x, "rerun", r->rerun);
		jtime(x, "t", r->t);
		cJSON_AddStringToObject(x, "rules", r->rules);
		cJSON_AddStringToObject(x, "status", r->final);
		if (r->has_action) {
			cJSON_AddStringToObject(x, "by", r->by);
			cJSON_AddStringToObject(x, "action", r->action);
			cJSON_AddBoolToObject(x, "reviewed", r->reviewed);
			cJSON_AddStringToObject(x, "override", r->override_to);
			cJSON_AddStringToObject(x, "reason", r->reason);
			jtime(x, "recorded_at", r->action_t);
		} else {
			cJSON_AddNullToObject(x, "by");
		}
		cJSON_AddItemToArray(arr, x);
	}
	arr = cJSON_AddArrayToObject(o, "missing_days");
	for (size_t i = 0; i < f->n_missing_days; i++) {
		rep_date(f->missing_days[i], date, sizeof(date));
		cJSON_AddItemToArray(arr, cJSON_CreateString(date));
	}
	if (f->pb)
		cJSON_AddItemToObject(o, "pbrtqc", pbrtqc_json(p, f));
	if (wi)
		cJSON_AddItemToObject(o, "what_if", whatif_json(wi, f->wi));
	return o;
}

static cJSON *maintenance_json(const struct rep_model *m, const struct rep_instrument *in)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	const struct report_period *p = &m->req->period;

	arr = cJSON_AddArrayToObject(o, "periods");
	for (size_t i = 0; i < in->n_maint; i++) {
		cJSON *x = cJSON_CreateObject();
		jtime(x, "start", in->maint[i].start);
		jtime(x, "end", in->maint[i].end);
		cJSON_AddItemToArray(arr, x);
	}
	arr = cJSON_AddArrayToObject(o, "events");
	for (size_t i = 0; i < in->n_events; i++) {
		const struct rep_event *e = &in->events[i];
		cJSON *x = cJSON_CreateObject();

		jtime(x, "t", e->t);
		cJSON_AddStringToObject(x, "event", e->event);
		cJSON_AddStringToObject(x, "by", e->by);
		if (e->counter[0]) {
			cJSON_AddStringToObject(x, "counter", e->counter);
			if (strcmp(e->event, "service_done") == 0)
				jnum(x, "reading", rep_counter_at(m->req, in->cfg, e->counter, e->t));
		}
		if (e->task[0])
			cJSON_AddStringToObject(x, "task", e->task);
		cJSON_AddStringToObject(x, "comment", e->comment);
		cJSON_AddItemToArray(arr, x);
	}
	jtime(o, "last_calibration", in->last_calibration);
	for (size_t i = 0; i < in->cfg->n_channels; i++)
		if (in->cfg->channels[i].every_s > 0)
			jtime(o, "calibration_due",
			      isfinite(in->last_calibration)
			          ? in->last_calibration + in->cfg->channels[i].every_s
			          : NAN);
	arr = cJSON_AddArrayToObject(o, "tasks_missed");
	for (size_t i = 0; i < in->n_missed; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "task", in->missed[i].what);
		jtime(x, "t", in->missed[i].start);
		cJSON_AddItemToArray(arr, x);
	}
	arr = cJSON_AddArrayToObject(o, "stale");
	for (size_t i = 0; i < in->n_stale; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "channel", in->stale[i].what);
		jtime(x, "start", in->stale[i].start);
		jtime(x, "end", isnan(in->stale[i].end) ? p->end : in->stale[i].end);
		cJSON_AddItemToArray(arr, x);
	}
	return o;
}

/* ---- the whole ---- */

static int add_file(struct report_result *res, const char *path)
{
	char **nv = reallocarray(res->files, res->n_files + 1, sizeof(*nv));

	if (nv == NULL)
		return -1;
	res->files = nv;
	if ((nv[res->n_files] = strdup(path)) == NULL)
		return -1;
	res->n_files++;
	return 0;
}

/* One instrument: its channels' data, QC figures, JSON and PDF. */
static int do_instrument(struct rep_model *m, struct rep_instrument *in, cJSON *jins,
                         struct report_result *res, char *err, size_t errlen)
{
	const struct cfg_instrument *ci = in->cfg;
	const struct report_req *req = m->req;
	struct rep_chan *chans = calloc(ci->n_channels ? ci->n_channels : 1, sizeof(*chans));
	struct rep_analyte_fig *figs = calloc(ci->n_qc ? ci->n_qc : 1, sizeof(*figs));
	char path[CFG_PATH_MAX + 256];
	cJSON *arr;
	int rc = -1;
	size_t nc = 0, nf = 0;

	if (chans == NULL || figs == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (; nc < ci->n_channels; nc++)
		if (ci->channels[nc].every_s > 0 && !ci->channels[nc].has_min &&
		    !ci->channels[nc].has_max && !ci->channels[nc].has_service) {
			memset(&chans[nc], 0, sizeof(chans[nc])); /* a calendar: no data */
			chans[nc].cfg = &ci->channels[nc];
		} else if (rep_chan_read(req, in, &ci->channels[nc], &chans[nc], err, errlen) == -1) {
			nc++;
			goto out;
		}
	for (; nf < ci->n_qc; nf++) {
		if (rep_analyte_figures(m, in, &ci->qc[nf], &figs[nf]) == -1) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (rep_pbrtqc_figures(m, in, &figs[nf], err, errlen) == -1) {
			nf++;
			goto out;
		}
	}
	snprintf(path, sizeof(path), "%s/%s_%s_%s.pdf", req->out_dir, ci->site, ci->name,
	         req->period.label);
	cJSON_AddStringToObject(jins, "site", ci->site);
	cJSON_AddStringToObject(jins, "instrument", ci->name);
	cJSON_AddStringToObject(jins, "location", ci->location);
	cJSON_AddStringToObject(jins, "pdf", strrchr(path, '/') + 1);
	arr = cJSON_AddArrayToObject(jins, "channels");
	for (size_t i = 0; i < nc; i++)
		if (chans[i].has_file)
			cJSON_AddItemToArray(arr, chan_json(&req->period, &chans[i]));
	arr = cJSON_AddArrayToObject(jins, "qc");
	for (size_t i = 0; i < nf; i++)
		cJSON_AddItemToArray(arr, analyte_json(&req->period, m->whatif, in, &figs[i]));
	cJSON_AddItemToObject(jins, "maintenance", maintenance_json(m, in));
	if (rep_pdf_instrument(m, in, chans, nc, figs, nf, path, err, errlen) == -1 ||
	    add_file(res, path) == -1)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; chans && i < nc; i++)
		rep_chan_free(&chans[i]);
	for (size_t i = 0; figs && i < nf; i++) {
		rep_pbrtqc_free(&figs[i]);
		rep_analyte_fig_free(&figs[i]);
	}
	free(chans);
	free(figs);
	return rc;
}

static int set_up(struct rep_model *m, const struct report_req *req, char *err, size_t errlen)
{
	const struct config *cfg = req->cfg;

	m->req = req;
	for (size_t k = 0; k < req->n_only; k++) {
		const char *slash = strchr(req->only[k], '/');
		char site[CFG_NAME_MAX];

		if (slash == NULL || (size_t)(slash - req->only[k]) >= sizeof(site)) {
			snprintf(err, errlen, "--instrument %s: expected SITE/INSTRUMENT", req->only[k]);
			return -1;
		}
		snprintf(site, sizeof(site), "%.*s", (int)(slash - req->only[k]), req->only[k]);
		if (config_instrument(cfg, site, slash + 1) == NULL) {
			snprintf(err, errlen, "--instrument %s: not in the config", req->only[k]);
			return -1;
		}
	}
	m->ins = calloc(cfg->n_instruments ? cfg->n_instruments : 1, sizeof(*m->ins));
	if (m->ins == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->n_instruments; i++) {
		const struct cfg_instrument *ci = &cfg->instruments[i];
		bool want = req->n_only == 0;
		char name[2 * CFG_NAME_MAX + 2];

		snprintf(name, sizeof(name), "%s/%s", ci->site, ci->name);
		for (size_t k = 0; k < req->n_only && !want; k++)
			want = strcmp(req->only[k], name) == 0;
		if (want) {
			m->ins[m->n_ins].cfg = ci;
			m->ins[m->n_ins].last_calibration = NAN;
			m->n_ins++;
		}
	}
	return 0;
}

int report_render(const struct report_req *req, struct report_result *res, char *err,
                  size_t errlen)
{
	struct rep_model m = {0};
	struct whatif wi = {0};
	cJSON *root = NULL, *jins, *audit;
	char path[CFG_PATH_MAX + 64], *text = NULL;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (req->cfg->reports.what_if[0]) {
		/* reports.what_if: the period's record re-judged with it, by
		 * --what-if's engine, as rep_read_audit reads the record */
		if (whatif_init(&wi, req->cfg, req->cfg->reports.what_if, err, errlen) == -1)
			goto out;
		wi.have_period = true;
		wi.start = req->period.start;
		wi.end = req->period.end;
		m.whatif = &wi;
	}
	if (set_up(&m, req, err, errlen) == -1 || rep_read_audit(&m, err, errlen) == -1)
		goto out;
	if (fs_mkdir_p(req->out_dir, 0755) == -1) {
		snprintf(err, errlen, "%s: %s", req->out_dir, strerror(errno));
		goto out;
	}
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "lab", req->cfg->reports.lab);
	cJSON_AddStringToObject(root, "period", req->period.label);
	jtime(root, "start", req->period.start);
	jtime(root, "end", req->period.end);
	cJSON_AddStringToObject(root, "generator", "labqcd");
	if (m.whatif)
		cJSON_AddItemToObject(root, "what_if_rules", rule_names(wi.rules));
	jnum(root, "mkt_ea", req->cfg->reports.mkt_ea);
	audit = cJSON_AddObjectToObject(root, "audit");
	cJSON_AddStringToObject(audit, "head", m.audit.head);
	cJSON_AddNumberToObject(audit, "head_line", (double)m.audit.head_line);
	cJSON_AddNumberToObject(audit, "lines", (double)m.audit.lines);
	cJSON_AddStringToObject(audit, "chain", m.audit.chain_ok ? "ok" : "broken");
	cJSON_AddStringToObject(audit, "chain_detail", m.audit.chain_err);
	jins = cJSON_AddArrayToObject(root, "instruments");
	for (size_t i = 0; i < m.n_ins; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToArray(jins, o);
		if (do_instrument(&m, &m.ins[i], o, res, err, errlen) == -1)
			goto out;
	}
	/* A summary per site, from the figures already in the JSON. */
	for (size_t i = 0; i < m.n_ins; i++) {
		bool first = true;

		for (size_t k = 0; k < i && first; k++)
			first = strcmp(m.ins[k].cfg->site, m.ins[i].cfg->site) != 0;
		if (!first)
			continue;
		snprintf(path, sizeof(path), "%s/%s_%s.pdf", req->out_dir, m.ins[i].cfg->site,
		         req->period.label);
		if (rep_pdf_site(&m, m.ins[i].cfg->site, jins, path, err, errlen) == -1 ||
		    add_file(res, path) == -1)
			goto out;
	}
	text = cJSON_Print(root);
	snprintf(path, sizeof(path), "%s/report.json", req->out_dir);
	if (text == NULL || fs_write_atomic(path, text, strlen(text), 0644) == -1) {
		snprintf(err, errlen, "%s: %s", path, text ? strerror(errno) : "out of memory");
		goto out;
	}
	if (add_file(res, path) == -1)
		goto out;
	res->chain_ok = m.audit.chain_ok;
	snprintf(res->head, sizeof(res->head), "%s", m.audit.head);
	rc = 0;
out:
	free(text);
	cJSON_Delete(root);
	for (size_t i = 0; i < m.n_ins; i++)
		rep_instrument_free(&m.ins[i]);
	free(m.ins);
	whatif_free(&wi);
	if (rc == -1)
		report_result_free(res);
	return rc;
}

void report_result_free(struct report_result *res)
{
	for (size_t i = 0; i < res->n_files; i++)
		free(res->files[i]);
	free(res->files);
	res->files = NULL;
	res->n_files = 0;
}
