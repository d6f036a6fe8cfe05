/*
 * report_pages.c: what a report's pages say (issue 19). An instrument's
 * PDF: its equipment pages (per channel: figures, the period's graph,
 * excursions, gaps, the day-by-day table), its QC pages (per analyte:
 * statistics per level and lot, runs by verdict and rule, rejected runs
 * with their disposition, a Levey-Jennings chart per level drawn by
 * ljchart.c onto the page, days without QC, then its patient-based QC
 * and "what if" by report_pbrtqc.c), its maintenance page, and
 * the record's head and chain result. A site's PDF: one summary table
 * from report.json's figures. Every number printed is one report.json
 * holds.
 */
#include "dashboards/report_pdf.h"
#include "dashboards/dash_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ins_ctx {
	const struct rep_model *m;
	const struct rep_instrument *in;
	struct rep_chan *chans;
	size_t n_chans;
	struct rep_analyte_fig *figs;
	size_t n_figs;
};

static void duration(double s, char *buf, size_t len)
{
	if (!isfinite(s))
		snprintf(buf, len, "-");
	else if (s < 3600)
		snprintf(buf, len, "%.0f min", s / 60);
	else
		snprintf(buf, len, "%.0f h %02.0f min", floor(s / 3600), fmod(s, 3600) / 60);
}

static void record_section(struct rep_doc *d, const struct rep_model *m)
{
	char buf[400];

	rep_doc_heading(d, 1, "The record");
	snprintf(buf, sizeof(buf),
	         "Audit log head at the end of the period (SHA-256 of line %lu, the period's last "
	         "record, as the next record's \"prev\" names it):",
	         m->audit.head_line);
	rep_doc_text(d, buf, 9, 0);
	rep_doc_text(d, m->audit.head[0] ? m->audit.head : "(no record in the period)", 9, 0);
	if (m->audit.chain_ok)
		snprintf(buf, sizeof(buf),
		         "Chain verified up to the head (labqcctl verify-audit's check): whole.%s%s",
		         m->audit.chain_err[0] ? " " : "", m->audit.chain_err);
	else
		snprintf(buf, sizeof(buf), "CHAIN BROKEN: %s. This report cannot vouch for the record.",
		         m->audit.chain_err);
	rep_doc_text(d, buf, 9, m->audit.chain_ok ? 0 : 1);
}

static void channel_pages(struct rep_doc *d, const struct ins_ctx *x, struct rep_chan *c)
{
	const struct report_period *p = &x->m->req->period;
	char a[48], b[48], e[48], f[48], g[48], h[48], buf[400];
	double total = c->all.minutes;

	snprintf(buf, sizeof(buf), "%s%s%s%s", c->cfg->name, c->cfg->unit[0] ? " (" : "",
	         c->cfg->unit, c->cfg->unit[0] ? ")" : "");
	rep_doc_heading(d, 2, buf);
	snprintf(buf, sizeof(buf), "limits: min %s, max %s; warning band below %s and above %s",
	         rep_fmt(a, sizeof(a), c->lim.min, 2), rep_fmt(b, sizeof(b), c->lim.max, 2),
	         rep_fmt(e, sizeof(e), c->lim.warning_min, 2),
	         rep_fmt(f, sizeof(f), c->lim.warning_max, 2));
	rep_doc_text(d, buf, 8.5, 2);
	if (total <= 0) {
		rep_doc_text(d, "no data in the period", 9, 1);
		return;
	}
	{
		static const double w[] = {50, 50, 50, 50, 105, 105, 101};
		const char *hd[] = {"min", "mean", "max", "MKT", "in range", "in warning band",
		                    "out of range"};
		char r1[48], r2[48], r3[48];
		const char *row[7];

		rep_doc_row(d, 7, w, hd, true);
		snprintf(r1, sizeof(r1), "%.0f min (%.2f %%)", c->all.band_minutes[BAND_IN],
		         100 * c->all.band_minutes[BAND_IN] / total);
		snprintf(r2, sizeof(r2), "%.0f min (%.2f %%)", c->all.band_minutes[BAND_WARNING],
		         100 * c->all.band_minutes[BAND_WARNING] / total);
		snprintf(r3, sizeof(r3), "%.0f min (%.2f %%)", c->all.band_minutes[BAND_OUT],
		         100 * c->all.band_minutes[BAND_OUT] / total);
		row[0] = rep_fmt(a, sizeof(a), c->all.min, 2);
		row[1] = rep_fmt(b, sizeof(b), chan_acc_mean(&c->all), 2);
		row[2] = rep_fmt(e, sizeof(e), c->all.max, 2);
		row[3] = c->temperature ? rep_fmt(f, sizeof(f), mkt_celsius(&c->mkt), 2) : "n/a";
		row[4] = r1;
		row[5] = r2;
		row[6] = r3;
		rep_doc_row(d, 7, w, row, false);
	}
	snprintf(buf, sizeof(buf),
	         "MKT: mean kinetic temperature, activation energy %.3f kJ/mol, from the averages; "
	         "data resolution %.0f to %.0f s (the RRD file's finest archive for each day).",
	         x->m->req->cfg->reports.mkt_ea, c->finest_s, c->coarsest_s);
	rep_doc_text(d, buf, 7.5, 2);
	rep_doc_channel_graph(d, x->m, x->in, c);

	rep_doc_text(d, "Excursions", 9.5, 0);
	if (c->exc == NULL || c->exc->n == 0) {
		rep_doc_text(d, "none", 8.5, 2);
	} else {
		static const double w[] = {72, 72, 52, 36, 66, 48, 72, 93};
		const char *hd[] = {"start", "end", "duration", "peak", "", "ack by", "ack at",
		                    "comment"};

		rep_doc_row(d, 8, w, hd, true);
		for (size_t i = 0; i < c->exc->n; i++) {
			const struct excursion *ex = &c->exc->v[i];
			double end = isnan(ex->end) ? p->end : ex->end;
			const char *row[8];

			rep_time(ex->start, a, sizeof(a));
			if (isnan(ex->end))
				snprintf(b, sizeof(b), "(open)");
			else
				rep_time(ex->end, b, sizeof(b));
			duration(end - ex->start, e, sizeof(e));
			rep_time(ex->ack_t, g, sizeof(g));
			snprintf(h, sizeof(h), "%s%s",
			         ex->fired ? "fired " : (ex->cleared ? "cleared" : "pending"),
			         ex->fired ? severity_name((enum severity)ex->severity) : "");
			row[0] = a;
			row[1] = b;
			row[2] = e;
			row[3] = rep_fmt(f, sizeof(f), ex->peak, 2);
			row[4] = h;
			row[5] = ex->ack_by[0] ? ex->ack_by : "-";
			row[6] = g;
			row[7] = ex->comment;
			rep_doc_row(d, 8, w, row, false);
		}
	}
	rep_doc_text(d, "Data gaps", 9.5, 0);
	bool any = false;
	for (size_t i = 0; i < c->n_gaps; i++) {
		rep_time(c->gaps[i].start, a, sizeof(a));
		rep_time(c->gaps[i].end, b, sizeof(b));
		duration(c->gaps[i].end - c->gaps[i].start, e, sizeof(e));
		snprintf(buf, sizeof(buf), "no data %s to %s (%s)", a, b, e);
		rep_doc_text(d, buf, 8.5, 0);
		any = true;
	}
	for (size_t i = 0; i < x->in->n_stale; i++) {
		if (strcmp(x->in->stale[i].what, c->cfg->name) != 0)
			continue;
		rep_time(x->in->stale[i].start, a, sizeof(a));
		rep_time(isnan(x->in->stale[i].end) ? p->end : x->in->stale[i].end, b, sizeof(b));
		snprintf(buf, sizeof(buf), "communication lost (stale alert) %s to %s", a, b);
		rep_doc_text(d, buf, 8.5, 0);
		any = true;
	}
	if (!any)
		rep_doc_text(d, "none", 8.5, 2);

	rep_doc_text(d, "Day by day", 9.5, 0);
	{
		static const double w[] = {70, 60, 60, 60, 80};
		const char *hd[] = {"date", "min", "max", "mean", "out of range"};

		rep_doc_row(d, 5, w, hd, true);
		for (size_t i = 0; i < c->n_days; i++) {
			const struct chan_acc *da = &c->days[i].acc;
			const char *row[5];

			rep_date(c->days[i].start, a, sizeof(a));
			snprintf(g, sizeof(g), "%.0f min", da->band_minutes[BAND_OUT]);
			row[0] = a;
			row[1] = rep_fmt(b, sizeof(b), da->min, 2);
			row[2] = rep_fmt(e, sizeof(e), da->max, 2);
			row[3] = rep_fmt(f, sizeof(f), chan_acc_mean(da), 2);
			row[4] = da->minutes > 0 ? g : "no data";
			rep_doc_row(d, 5, w, row, false);
		}
	}
}

static enum dash_qc_status dash_status(const char *s)
{
	if (strcmp(s, "accept") == 0)
		return DASH_QC_ACCEPT;
	if (strcmp(s, "warning") == 0)
		return DASH_QC_WARNING;
	if (strcmp(s, "reject") == 0)
		return DASH_QC_REJECT;
	return DASH_QC_BASELINE;
}

/* The level's Levey-Jennings chart over the period, by ljchart.c. */
static int lj_chart(struct rep_doc *d, const struct ins_ctx *x, const struct rep_analyte_fig *f,
                    const char *level)
{
	const struct rep_instrument *in = x->in;
	struct dash_snapshot *s = dash_snapshot_new(0);
	struct dash_instrument *di;
	struct dash_qc_analyte *da;
	struct dash_qc_level *dl;
	double mean = NAN, sd = NAN;
	int rc = -1;

	if (s == NULL)
		return -1;
	/* Lines at the targets of the last lot in the period. */
	for (size_t i = 0; i < f->n_lots; i++)
		if (strcmp(f->lots[i].level, level) == 0) {
			mean = f->lots[i].target_mean;
			sd = f->lots[i].target_sd;
		}
	if ((di = dash_snap_add_instrument(s, in->cfg->site, in->cfg->name, "", DASH_OK)) == NULL ||
	    (da = dash_snap_add_analyte(di, f->cfg->name, DASH_QC_NONE)) == NULL ||
	    (dl = dash_snap_add_level(da, level, mean, sd)) == NULL)
		goto out;
	for (size_t i = 0; i < in->n_qc; i++) {
		const struct rep_qc *q = &in->qc[i];
		const char *st = q->status;

		if (strcmp(q->analyte, f->cfg->name) != 0 || strcmp(q->level, level) != 0)
			continue;
		/* Marked by the run's final verdict (a later level's rejection
		 * or an override counts). */
		for (size_t k = in->n_runs; k-- > 0;)
			if (in->runs[k].rerun == q->rerun && strcmp(in->runs[k].id, q->run) == 0 &&
			    strcmp(in->runs[k].analyte, q->analyte) == 0) {
				st = in->runs[k].final;
				break;
			}
		if (dash_snap_add_result(dl, q->t, q->value, q->z, dash_status(st), q->run, q->lot,
		                         q->rules) == NULL)
			goto out;
	}
	for (size_t i = 0; i < in->n_targets; i++) {
		const struct rep_target *g = &in->targets[i];
		char label[96];

		if (g->t < x->m->req->period.start || strcmp(g->analyte, f->cfg->name) != 0 ||
		    strcmp(g->level, level) != 0)
			continue;
		snprintf(label, sizeof(label), "mean %.4g sd %.4g", g->mean, g->sd);
		if (dash_snap_add_change(dl, g->t, DASH_CHANGE_TARGET, label) == NULL)
			goto out;
	}
	{
		const double scale = (PDF_RIGHT - PDF_LEFT) / DASH_LJ_W;
		size_t n = dl->n_results > 400 ? 400 : dl->n_results;

		rep_doc_need(d, DASH_LJ_H * scale + 8);
		cairo_save(d->cr);
		cairo_translate(d->cr, PDF_LEFT, d->y);
		cairo_scale(d->cr, scale, scale);
		rc = ljchart_paint(d->cr, di, da, dl, dl->n_results - n, n, x->m->req->period.label);
		cairo_restore(d->cr);
		d->y += DASH_LJ_H * scale + 8;
	}
out:
	dash_snapshot_free(s);
	return rc;
}

static int qc_pages(struct rep_doc *d, const struct ins_ctx *x, const struct rep_analyte_fig *f)
{
	const struct rep_instrument *in = x->in;
	char buf[600], a[48], b[48], c[48], e[48], g[48], h[48], k[48], l[48];

	snprintf(buf, sizeof(buf), "QC: %s", f->cfg->name);
	rep_doc_heading(d, 2, buf);
	{
		static const double w[] = {44, 50, 28, 54, 48, 40, 54, 48, 44, 44};
		const char *hd[] = {"level", "lot", "n", "mean", "SD", "CV %", "target", "target SD",
		                    "bias %", "Sigma"};

		rep_doc_row(d, 10, w, hd, true);
		for (size_t i = 0; i < f->n_lots; i++) {
			const struct rep_lot_fig *lf = &f->lots[i];
			char n[32];
			const char *row[10];

			snprintf(n, sizeof(n), "%.0f", lf->f.n);
			row[0] = lf->level;
			row[1] = lf->lot[0] ? lf->lot : "-";
			row[2] = n;
			row[3] = rep_fmt(a, sizeof(a), lf->f.mean, 3);
			row[4] = rep_fmt(b, sizeof(b), lf->f.sd, 3);
			row[5] = rep_fmt(c, sizeof(c), lf->f.cv, 2);
			row[6] = rep_fmt(e, sizeof(e), lf->target_mean, 3);
			row[7] = rep_fmt(g, sizeof(g), lf->target_sd, 3);
			row[8] = rep_fmt(h, sizeof(h), lf->f.bias, 2);
			row[9] = rep_fmt(k, sizeof(k), lf->f.sigma, 2);
			rep_doc_row(d, 10, w, row, false);
		}
	}
	rep_doc_text(d, "Statistics of the results of runs not rejected.", 7.5, 2);
	size_t o = (size_t)snprintf(buf, sizeof(buf),
	                            "Runs: %u accepted, %u warning, %u rejected, %u other "
	                            "(baseline, provisional). By rule:",
	                            f->runs_accept, f->runs_warning, f->runs_reject, f->runs_other);
	for (size_t i = 0; i < f->n_rules && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %s %u run%s", f->rule[i],
		                      f->rule_runs[i], f->rule_runs[i] == 1 ? "" : "s");
	if (f->n_rules == 0 && o < sizeof(buf))
		snprintf(buf + o, sizeof(buf) - o, " none fired");
	rep_doc_text(d, buf, 9, 0);

	rep_doc_text(d, "Rejected runs", 9.5, 0);
	static const double w[] = {44, 72, 56, 44, 230, 65};
	const char *hd[] = {"run", "time", "rules", "verdict", "disposition", "recorded"};
	bool any = false;
	for (size_t i = 0; i < in->n_runs; i++) {
		const struct rep_run *r = &in->runs[i];
		const char *row[6];
		char disp[800], run[80];

		if (strcmp(r->analyte, f->cfg->name) != 0 ||
		    (strcmp(r->status, "reject") != 0 && strcmp(r->final, "reject") != 0))
			continue;
		if (!any)
			rep_doc_row(d, 6, w, hd, true);
		any = true;
		if (!r->has_action)
			snprintf(disp, sizeof(disp), "AWAITING CORRECTIVE ACTION");
		else if (r->override_to[0])
			snprintf(disp, sizeof(disp), "override %s by %s: %s", r->override_to, r->by,
			         r->reason);
		else
			snprintf(disp, sizeof(disp), "by %s: %s%s", r->by, r->action,
			         r->reviewed ? " (patient results reviewed)" : "");
		snprintf(run, sizeof(run), "%s%s", r->id, r->rerun ? " rerun" : "");
		rep_time(r->t, a, sizeof(a));
		rep_time(r->action_t, l, sizeof(l));
		row[0] = run;
		row[1] = a;
		row[2] = r->rules;
		row[3] = r->final;
		row[4] = disp;
		row[5] = r->has_action ? l : "-";
		rep_doc_row(d, 6, w, row, false);
	}
	if (!any)
		rep_doc_text(d, "none", 8.5, 2);
	/* One chart per level. */
	for (size_t i = 0; i < f->n_lots; i++) {
		bool first = true;

		for (size_t j = 0; j < i; j++)
			first = first && strcmp(f->lots[j].level, f->lots[i].level) != 0;
		if (first && lj_chart(d, x, f, f->lots[i].level) == -1)
			return -1;
	}
	o = (size_t)snprintf(buf, sizeof(buf), "Days without a QC result: ");
	for (size_t i = 0; i < f->n_missing_days && o + 16 < sizeof(buf); i++) {
		rep_date(f->missing_days[i], a, sizeof(a));
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? ", " : "", a + 5);
	}
	if (f->n_missing_days == 0)
		snprintf(buf + o, sizeof(buf) - o, "none");
	rep_doc_text(d, buf, 9, f->n_missing_days ? 1 : 0);
	rep_pdf_analyte_extra(d, x->m, in, f);
	return 0;
}

static void maintenance_page(struct rep_doc *d, const struct ins_ctx *x)
{
	const struct rep_instrument *in = x->in;
	const struct report_period *p = &x->m->req->period;
	char a[48], b[48], c[REP_TEXT], buf[400];
	static const double w[] = {72, 90, 80, 70, 120};
	const char *hd[] = {"time", "event", "by", "counter / task", "reading / comment"};

	rep_doc_heading(d, 1, "Maintenance");
	for (size_t i = 0; i < in->n_maint; i++) {
		rep_time(fmax(in->maint[i].start, p->start), a, sizeof(a));
		rep_time(isnan(in->maint[i].end) ? p->end : in->maint[i].end, b, sizeof(b));
		snprintf(buf, sizeof(buf), "planned maintenance %s to %s%s", a, b,
		         isnan(in->maint[i].end) ? " (still going on)" : "");
		rep_doc_text(d, buf, 9, 0);
	}
	rep_doc_text(d, "Services, calibrations and tasks done", 9.5, 0);
	if (in->n_events == 0)
		rep_doc_text(d, "none", 8.5, 2);
	else
		rep_doc_row(d, 5, w, hd, true);
	for (size_t i = 0; i < in->n_events; i++) {
		const struct rep_event *e = &in->events[i];
		const char *row[5];

		rep_time(e->t, a, sizeof(a));
		if (strcmp(e->event, "service_done") == 0 && e->counter[0])
			rep_fmt(c, sizeof(c), rep_counter_at(x->m->req, in->cfg, e->counter, e->t), 0);
		else
			snprintf(c, sizeof(c), "%s", e->comment);
		row[0] = a;
		row[1] = e->event;
		row[2] = e->by[0] ? e->by : "-";
		row[3] = e->counter[0] ? e->counter : e->task;
		row[4] = c;
		rep_doc_row(d, 5, w, row, false);
	}
	for (size_t i = 0; i < in->cfg->n_channels; i++) {
		const struct cfg_channel *ch = &in->cfg->channels[i];

		if (ch->every_s <= 0)
			continue;
		rep_time(in->last_calibration, a, sizeof(a));
		rep_time(in->last_calibration + ch->every_s, b, sizeof(b));
		snprintf(buf, sizeof(buf), "%s: every %.0f days; last done %s; due %s", ch->name,
		         ch->every_s / 86400, a, isfinite(in->last_calibration) ? b : "now (never recorded)");
		rep_doc_text(d, buf, 9, 0);
	}
	rep_doc_text(d, "Tasks missed (not done by their due time)", 9.5, 0);
	for (size_t i = 0; i < in->n_missed; i++) {
		rep_time(in->missed[i].start, a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s: %s", a, in->missed[i].what);
		rep_doc_text(d, buf, 8.5, 1);
	}
	if (in->n_missed == 0)
		rep_doc_text(d, "none", 8.5, 2);
}

static int instrument_body(struct rep_doc *d, void *ctx)
{
	const struct ins_ctx *x = ctx;
	char a[48], b[48], buf[400];

	rep_time(x->m->req->period.start, a, sizeof(a));
	rep_time(x->m->req->period.end, b, sizeof(b));
	snprintf(buf, sizeof(buf),
	         "From %s to %s (local time). Every figure comes from the audit log and the RRD "
	         "files; report.json holds the same numbers.",
	         a, b);
	rep_doc_text(d, buf, 9, 0);
	if (x->in->cfg->location[0]) {
		snprintf(buf, sizeof(buf), "Location: %s", x->in->cfg->location);
		rep_doc_text(d, buf, 9, 0);
	}
	bool any = false;
	for (size_t i = 0; i < x->n_chans; i++)
		any = any || x->chans[i].has_file;
	if (any) {
		rep_doc_heading(d, 1, "Equipment");
		for (size_t i = 0; i < x->n_chans; i++)
			if (x->chans[i].has_file)
				channel_pages(d, x, &x->chans[i]);
	}
	if (x->n_figs > 0)
		rep_doc_heading(d, 1, "Quality control");
	for (size_t i = 0; i < x->n_figs; i++)
		if (qc_pages(d, x, &x->figs[i]) == -1)
			return -1;
	maintenance_page(d, x);
	record_section(d, x->m);
	return 0;
}

static const char *banner(const struct rep_model *m, char *buf, size_t len)
{
	if (m->audit.chain_ok)
		return NULL;
	snprintf(buf, len, "THE AUDIT LOG'S CHAIN IS BROKEN: %s. The record cannot be vouched for.",
	         m->audit.chain_err);
	return buf;
}

int rep_pdf_instrument(const struct rep_model *m, const struct rep_instrument *in,
                       struct rep_chan *chans, size_t n_chans, struct rep_analyte_fig *figs,
                       size_t n_figs, const char *path, char *err, size_t errlen)
{
	struct ins_ctx x = {m, in, chans, n_chans, figs, n_figs};
	char title[2 * CFG_NAME_MAX + 64], bn[400];

	snprintf(title, sizeof(title), "%s/%s", in->cfg->site, in->cfg->name);
	return rep_doc_write(path, m->req->cfg->reports.lab, title, m->req->period.label,
	                     banner(m, bn, sizeof(bn)), instrument_body, &x, err, errlen);
}

struct site_ctx {
	const struct rep_model *m;
	const char *site;
	const cJSON *instruments;
};

static double jnum_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int site_body(struct rep_doc *d, void *ctx)
{
	const struct site_ctx *x = ctx;
	const cJSON *ins;
	char a[48], b[48], c[48], e[48], f[48];
	static const double w1[] = {90, 70, 50, 50, 50, 90, 60};
	const char *h1[] = {"instrument", "channel", "min", "max", "MKT", "out of range", "excursions"};
	static const double w2[] = {90, 80, 60, 60, 60, 100};
	const char *h2[] = {"instrument", "analyte", "accepted", "warning", "rejected",
	                    "without disposition"};

	rep_doc_heading(d, 1, "Equipment");
	rep_doc_row(d, 7, w1, h1, true);
	cJSON_ArrayForEach(ins, x->instruments)
	{
		const cJSON *ch;

		if (strcmp(cJSON_GetObjectItemCaseSensitive(ins, "site")->valuestring, x->site) != 0)
			continue;
		cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(ins, "channels"))
		{
			const char *row[7];
			const cJSON *ex;
			int n = 0;

			cJSON_ArrayForEach(ex, cJSON_GetObjectItemCaseSensitive(ch, "excursions"))
				n += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "fired"));
			snprintf(f, sizeof(f), "%d", n);
			snprintf(e, sizeof(e), "%.0f min", jnum_of(ch, "minutes_out_of_range"));
			row[0] = cJSON_GetObjectItemCaseSensitive(ins, "instrument")->valuestring;
			row[1] = cJSON_GetObjectItemCaseSensitive(ch, "channel")->valuestring;
			row[2] = rep_fmt(a, sizeof(a), jnum_of(ch, "min"), 2);
			row[3] = rep_fmt(b, sizeof(b), jnum_of(ch, "max"), 2);
			row[4] = rep_fmt(c, sizeof(c), jnum_of(ch, "mkt"), 2);
			row[5] = isfinite(jnum_of(ch, "minutes_out_of_range")) ? e : "-";
			row[6] = f;
			rep_doc_row(d, 7, w1, row, false);
		}
	}
	rep_doc_heading(d, 1, "Quality control");
	rep_doc_row(d, 6, w2, h2, true);
	cJSON_ArrayForEach(ins, x->instruments)
	{
		const cJSON *q;

		if (strcmp(cJSON_GetObjectItemCaseSensitive(ins, "site")->valuestring, x->site) != 0)
			continue;
		cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(ins, "qc"))
		{
			const cJSON *runs = cJSON_GetObjectItemCaseSensitive(q, "runs"), *r;
			const char *row[6];
			int open = 0;

			cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(q, "rejected_runs"))
				open += cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "by"));
			row[0] = cJSON_GetObjectItemCaseSensitive(ins, "instrument")->valuestring;
			row[1] = cJSON_GetObjectItemCaseSensitive(q, "analyte")->valuestring;
			row[2] = rep_fmt(a, sizeof(a), jnum_of(runs, "accept"), 0);
			row[3] = rep_fmt(b, sizeof(b), jnum_of(runs, "warning"), 0);
			row[4] = rep_fmt(c, sizeof(c), jnum_of(runs, "reject"), 0);
			snprintf(e, sizeof(e), "%d", open);
			row[5] = e;
			rep_doc_row(d, 6, w2, row, false);
		}
	}
	record_section(d, x->m);
	return 0;
}

int rep_pdf_site(const struct rep_model *m, const char *site, const cJSON *instruments,
                 const char *path, char *err, size_t errlen)
{
	struct site_ctx x = {m, site, instruments};
	char title[CFG_NAME_MAX + 32], bn[400];

	snprintf(title, sizeof(title), "site %s: summary", site);
	return rep_doc_write(path, m->req->cfg->reports.lab, title, m->req->period.label,
	                     banner(m, bn, sizeof(bn)), site_body, &x, err, errlen);
}
