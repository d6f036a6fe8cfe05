/*
 * config_reports.c: the `reports` section (issue 19): the lab's name and
 * the activation energy every report prints with, and the schedule
 * (every month or week, on which day, to which receivers' email).
 *
 *   reports:
 *     lab: "Central Laboratory"
 *     mkt_ea: 83.144          # kJ/mol
 *     every: month            # or week
 *     on: 1                   # month: day 1..28; week: ISO weekday 1 (Mon)..7
 *     receivers: [qc-team]
 *     what_if: 1-3s/2-2s/R-4s/4-1s   # a candidate rule set, re-judged in each report
 */
#include <stdio.h>
#include <string.h>

#include "daemon/config_int.h"
#include "rules/westgard.h"

static int get_every(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_reports *r = base;
	const char *s = cfg_scalar(n);
	char got[96];

	if (s != NULL && (strcmp(s, "month") == 0 || strcmp(s, "week") == 0)) {
		r->weekly = s[0] == 'w';
		r->has_every = true;
		return 0;
	}
	cfg_error(c, n, path, "expected month or week, got %s", cfg_got(n, got, sizeof(got)));
	return -1;
}

/* Receivers that exist and have an email address: a report goes by email. */
static int get_receivers(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_reports *r = base;
	const struct config *cfg = c->cfg;
	int rc = 0;

	if (cfg_get_strlist(c, n, path, &r->receivers, &r->n_receivers) == -1)
		return -1;
	for (size_t i = 0; i < r->n_receivers; i++) {
		const struct cfg_receiver *rv = NULL;
		yaml_node_t *at = n->type == YAML_SEQUENCE_NODE
		                      ? cfg_node(c, n->data.sequence.items.start[i])
		                      : n;

		for (size_t j = 0; j < cfg->n_receivers && rv == NULL; j++)
			if (strcmp(cfg->receivers[j].name, r->receivers[i]) == 0)
				rv = &cfg->receivers[j];
		if (rv == NULL) {
			cfg_error(c, at, path, "unknown receiver \"%s\"", r->receivers[i]);
			rc = -1;
		} else if (rv->n_email == 0) {
			cfg_error(c, at, path, "receiver \"%s\" has no email: a report is sent by email",
			          r->receivers[i]);
			rc = -1;
		}
	}
	return rc;
}

/* A candidate set of rejection rules, as --what-if takes it: every QC
 * analyte's record of the period re-judged with it in the report. */
static int get_what_if(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_reports *r = base;
	const char *s = cfg_scalar(n);
	char got[96], err[160] = "";
	unsigned mask = 0;

	if (s == NULL || strlen(s) >= sizeof(r->what_if)) {
		cfg_error(c, n, path, "expected rules such as 1-3s/2-2s/R-4s, got %s",
		          cfg_got(n, got, sizeof(got)));
		return -1;
	}
	if (westgard_rules_parse(s, &mask, err, sizeof(err)) == -1 || mask == 0) {
		cfg_error(c, n, path, "%s", err[0] ? err : "no rules given");
		return -1;
	}
	snprintf(r->what_if, sizeof(r->what_if), "%s", s);
	return 0;
}

static const struct cfg_field reports_fields[] = {
    FLD(struct cfg_reports, "lab", CT_STRING, lab, 0, 0, CF_NONEMPTY),
    FLD(struct cfg_reports, "mkt_ea", CT_NUMBER, mkt_ea, 0, 1000, CF_LO_OPEN),
    FN("every", get_every),
    FLD(struct cfg_reports, "on", CT_INT, on, 1, 28, 0),
    FN("receivers", get_receivers),
    FN("what_if", get_what_if),
    CFG_END,
};

void cfg_reports_defaults(struct cfg_reports *r)
{
	snprintf(r->lab, sizeof(r->lab), "labqcd");
	r->mkt_ea = 83.144;
	r->on = 1;
}

void cfg_load_reports(struct cfg_ctx *c, yaml_node_t *n)
{
	struct cfg_reports *r = &c->cfg->reports;

	if (cfg_apply(c, n, "reports", reports_fields, r, NULL) == -1)
		return;
	if (r->weekly && r->on > 7)
		cfg_error(c, cfg_map_get(c, n, "on"), "reports.on",
		          "with every: week, on is an ISO weekday, 1 (Monday) to 7 (Sunday), got %d",
		          r->on);
	if (r->has_every && r->n_receivers == 0)
		cfg_error(c, n, "reports", "every: needs receivers: to send the reports to");
}

void cfg_reports_free(struct cfg_reports *r)
{
	cfg_strlist_free(r->receivers, r->n_receivers);
}
