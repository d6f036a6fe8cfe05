/*
 * alert_chart.h: the chart an alert's email carries (DESIGN section 5),
 * drawn for that alert when its email is built.
 *
 * Two halves on two threads. At the transition, the main thread captures
 * what the chart needs and nothing more (alert_chart_capture): for a
 * channel, its file, unit and limits and the sample the alert is about,
 * as a short JSON text that travels in the alert's `chart` field (into
 * alerts.json and the spool); for a QC rejection, the analyte's
 * Levey-Jennings history as the main thread holds it, written to
 * <state_dir>/charts/ (QC transitions are rare; the history is too long
 * for the field), which the field names. No drawing, no librrd call.
 *
 * When an email is built, the notifier thread draws from that capture
 * (alert_chart_draw): the channel's graph over the hours around the
 * alert with the sample marked (the RRD file may not hold it yet: the
 * store writes on a timer, and librrd shows a 60 s step only once a
 * later sample completes it), or one LJ chart per level. Graphing waits
 * for the dashboard's renderer (one graph fetch at a time, graph_data.c) until
 * the deadline only; then the email goes without the chart and says so.
 */
#ifndef LABQCD_ALERT_CHART_H
#define LABQCD_ALERT_CHART_H

#include <stddef.h>

#include "daemon/labqcd.h"
#include "daemon/notify.h"

/* Main thread, at a transition the alert engine hears of: the capture
 * for `k` (whose `chart` is set) and condition `c` at `t`, into spec
 * (the alert's `chart` field, `len` bytes). 0, or -1 (logged; spec is
 * then the old dashboard PNG path, k->chart). */
int alert_chart_capture(struct labqcd *d, const struct cond_key *k, const struct condition *c,
			double t, char *spec, size_t len);

/* Any thread (the notifier): draw the charts `spec` describes, at
 * `now` (epoch seconds), waiting for another thread's graph until
 * `deadline` at most. Fills out[0..max-1] (free each .data). Returns
 * how many, -1 with the reason in why (a spec it cannot use, an
 * unreadable capture, a drawing error), or -2 when the deadline
 * passed first. */
int alert_chart_draw(const char *spec, double now, double deadline, struct notify_png *out,
		     size_t max, char *why, size_t whylen);

/* Delete QC captures older than this (an alert still firing after it
 * has its emails without the chart). */
#define ALERT_CHART_KEEP_S (30 * 86400.0)

#endif
