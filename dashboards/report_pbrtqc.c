/*
 * report_pbrtqc.c: an analyte's patient-based QC and "what if" in the
 * monthly report (issue 22).
 *
 * PBRTQC: the moving statistic's series
 * (<rrd_dir>/<site>/<instrument>/pbrtqc/<analyte>.rrd) read as a channel
 * named "pbrtqc/<analyte>" by report_rrd.c, so its graph, its extremes
 * and the minutes it spent beyond its limits come the way every
 * channel's do; the limits are the config's, else those of the last
 * `pbrtqc_limits` record before the period's end (learnt), else none yet
 * (learning); the alerts <analyte>/pbrtqc are the excursions of that
 * name (report_audit.c), their peaks widened by the series.
 *
 * What if: reports.what_if's candidate re-judged the period's record by
 * daemon/whatif_engine.c, the engine of `labqcd --what-if` (report_audit.c
 * feeds it the records as it reads them); here its counts are printed.
 */
#include "dashboards/report_pdf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rep_pbrtqc_figures(const struct rep_model *m, struct rep_instrument *in,
                       struct rep_analyte_fig *f, char *err, size_t errlen)
{
	const struct cfg_pbrtqc *c = &f->cfg->pbrtqc;
	char key[3 * CFG_NAME_MAX + 3];
	struct rep_pbrtqc *pb;

	if (m->whatif) {
		snprintf(key, sizeof(key), "%s/%s/%s", in->cfg->site, in->cfg->name, f->cfg->name);
		f->wi = whatif_find(m->whatif, key);
	}
	if (!c->enabled)
		return 0;
	if ((pb = f->pb = calloc(1, sizeof(*pb))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pb->limits_source = "learning";
	pb->lo = pb->hi = NAN;
	if (c->has_limits) {
		pb->has_limits = true;
		pb->lo = c->limits[0];
		pb->hi = c->limits[1];
		pb->limits_source = "configured";
	} else {
		for (size_t i = 0; i < in->n_pbl; i++)
			if (strcmp(in->pbl[i].analyte, f->cfg->name) == 0)
				pb->rec = &in->pbl[i];
		if (pb->rec && isfinite(pb->rec->lo) && isfinite(pb->rec->hi)) {
			pb->has_limits = true;
			pb->lo = pb->rec->lo;
			pb->hi = pb->rec->hi;
			pb->limits_source = "learnt";
		}
	}
	pb->graphable = rep_pbrtqc_name(f->cfg->name, pb->ch.name, sizeof(pb->ch.name));
	pb->ch.has_min = pb->ch.has_max = pb->has_limits;
	pb->ch.min = pb->lo;
	pb->ch.max = pb->hi;
	pb->ch.stale_s = 86400; /* patient results pause at night: a gap is a day without */
	if (!pb->graphable) {
		pb->chan.cfg = &pb->ch;
		return 0;
	}
	return rep_chan_read(m->req, in, &pb->ch, &pb->chan, err, errlen);
}

void rep_pbrtqc_free(struct rep_analyte_fig *f)
{
	if (f->pb)
		rep_chan_free(&f->pb->chan);
	free(f->pb);
	f->pb = NULL;
}

static const char *method_name(int m)
{
	static const char *const names[] = {"moving average (ma)", "moving median (mm)",
	                                    "EWMA (ewma)"};
	return m >= 0 && m < 3 ? names[m] : "?";
}

static void pbrtqc_section(struct rep_doc *d, const struct rep_model *m,
                           const struct rep_instrument *in, const struct rep_analyte_fig *f)
{
	const struct rep_pbrtqc *pb = f->pb;
	const struct cfg_pbrtqc *c = &f->cfg->pbrtqc;
	const struct rep_chan *ch = &pb->chan;
	char buf[600], a[48], b[48], e[48], g[48], h[48], k[48];
	size_t o;

	snprintf(buf, sizeof(buf), "Patient-based QC (PBRTQC): %s", f->cfg->name);
	rep_doc_heading(d, 2, buf);
	o = (size_t)snprintf(buf, sizeof(buf), "Method: %s of blocks of %d patient results",
	                     method_name(c->method), c->block);
	if (c->method == 2 && c->lambda > 0 && o < sizeof(buf))
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, ", lambda %.4g", c->lambda);
	if (c->has_truncate && o < sizeof(buf))
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
		                      "; results outside %.4g .. %.4g left out (truncation)",
		                      c->truncate[0], c->truncate[1]);
	if (c->has_target && o < sizeof(buf))
		snprintf(buf + o, sizeof(buf) - o, "; target %.4g", c->target);
	rep_doc_text(d, buf, 9, 0);
	if (strcmp(pb->limits_source, "configured") == 0) {
		snprintf(buf, sizeof(buf), "Limits (configured): %s .. %s",
		         rep_fmt(a, sizeof(a), pb->lo, 4), rep_fmt(b, sizeof(b), pb->hi, 4));
	} else if (pb->rec && strcmp(pb->limits_source, "learnt") == 0) {
		rep_time(pb->rec->t, e, sizeof(e));
		snprintf(buf, sizeof(buf),
		         "Limits (learnt %s from %.0f statistics, %s, block %.0f): %s .. %s; "
		         "training mean %s, SD %s, false alarm rate %s (%s)",
		         e, pb->rec->n, pb->rec->method, pb->rec->block,
		         rep_fmt(a, sizeof(a), pb->lo, 4), rep_fmt(b, sizeof(b), pb->hi, 4),
		         rep_fmt(g, sizeof(g), pb->rec->mean, 4), rep_fmt(h, sizeof(h), pb->rec->sd, 4),
		         rep_fmt(k, sizeof(k), pb->rec->far, 4), pb->rec->source);
	} else {
		snprintf(buf, sizeof(buf),
		         "Limits: none yet; being learnt from the first %d statistics at a false "
		         "alarm rate of %.4g",
		         c->train, c->far);
	}
	rep_doc_text(d, buf, 9, 0);
	if (!pb->graphable) {
		rep_doc_text(d, "the analyte's name is too long for its series' name: not graphed", 8.5,
		             1);
	} else if (!ch->has_file || ch->all.minutes <= 0) {
		rep_doc_text(d, "no statistic in the period", 9, 2);
	} else {
		snprintf(buf, sizeof(buf),
		         "The statistic over the period: min %s, mean %s, max %s; %.0f min beyond "
		         "the limits.",
		         rep_fmt(a, sizeof(a), ch->all.min, 4),
		         rep_fmt(b, sizeof(b), chan_acc_mean(&ch->all), 4),
		         rep_fmt(e, sizeof(e), ch->all.max, 4), ch->all.band_minutes[BAND_OUT]);
		rep_doc_text(d, buf, 9, 0);
		rep_doc_channel_graph(d, m, in, ch);
	}
	rep_doc_text(d, "PBRTQC alerts", 9.5, 0);
	if (ch->exc == NULL || ch->exc->n == 0) {
		rep_doc_text(d, "none", 8.5, 2);
		return;
	}
	static const double w[] = {80, 80, 50, 60, 60, 80, 101};
	const char *hd[] = {"start", "end", "peak", "", "ack by", "ack at", "comment"};
	rep_doc_row(d, 7, w, hd, true);
	for (size_t i = 0; i < ch->exc->n; i++) {
		const struct excursion *x = &ch->exc->v[i];
		const char *row[7];

		rep_time(x->start, a, sizeof(a));
		if (isnan(x->end))
			snprintf(b, sizeof(b), "(open)");
		else
			rep_time(x->end, b, sizeof(b));
		rep_time(x->ack_t, g, sizeof(g));
		row[0] = a;
		row[1] = b;
		row[2] = rep_fmt(e, sizeof(e), x->peak, 4);
		row[3] = x->fired ? severity_name((enum severity)x->severity) : "not fired";
		row[4] = x->ack_by[0] ? x->ack_by : "-";
		row[5] = g;
		row[6] = x->comment;
		rep_doc_row(d, 7, w, row, false);
	}
}

static void whatif_section(struct rep_doc *d, const struct rep_model *m,
                           const struct rep_analyte_fig *f)
{
	const struct whatif_analyte *a = f->wi;
	struct whatif_counts n;
	char buf[600], rules[160], t[48], fired[160];

	westgard_rules_format(m->whatif->rules, rules, sizeof(rules));
	snprintf(buf, sizeof(buf), "What if: %s under %s", f->cfg->name, rules);
	rep_doc_heading(d, 2, buf);
	if (a == NULL || a->n_runs == 0) {
		rep_doc_text(d, "no run of the period could be re-judged with the candidate", 9, 2);
		return;
	}
	whatif_count(a, &n, NULL, NULL);
	snprintf(buf, sizeof(buf),
	         "The period's recorded QC results re-judged with the candidate rule set (the "
	         "engine of labqcd --what-if; nothing recorded). Runs judged: %zu; rejected as "
	         "recorded: %zu (%.2f %%), with the candidate: %zu (%.2f %%); verdicts changed: "
	         "%zu; runs with a corrective action: %zu, caught by the candidate (that run or "
	         "one before it): %zu.",
	         n.runs, n.rejected_before, 100 * whatif_rate(n.rejected_before, n.runs),
	         n.rejected_after, 100 * whatif_rate(n.rejected_after, n.runs), n.changed,
	         n.actions, n.caught);
	rep_doc_text(d, buf, 9, 0);
	if (n.changed == 0)
		return;
	static const double w[] = {80, 90, 70, 70, 201};
	const char *hd[] = {"run", "first result", "recorded", "candidate", "candidate's rules"};
	rep_doc_row(d, 5, w, hd, true);
	for (size_t i = 0; i < a->n_runs; i++) {
		const struct whatif_run_verdict *r = &a->runs[i];
		const char *row[5];
		char run[WG_ID_MAX + 8];

		if (r->before == r->after)
			continue;
		snprintf(run, sizeof(run), "%s%s", r->id, r->rerun ? " rerun" : "");
		rep_time(r->t, t, sizeof(t));
		westgard_rules_format(r->fired, fired, sizeof(fired));
		row[0] = run;
		row[1] = t;
		row[2] = westgard_status_name(r->before);
		row[3] = westgard_status_name(r->after);
		row[4] = fired;
		rep_doc_row(d, 5, w, row, false);
	}
}

void rep_pdf_analyte_extra(struct rep_doc *d, const struct rep_model *m,
                           const struct rep_instrument *in, const struct rep_analyte_fig *f)
{
	if (f->pb)
		pbrtqc_section(d, m, in, f);
	if (m->whatif)
		whatif_section(d, m, f);
}
