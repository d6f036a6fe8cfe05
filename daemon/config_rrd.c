/*
 * config_rrd.c: the `rrd:` section (DESIGN section 6): the layout of the
 * RRD files the store creates, as rrdtool users write it: a step, a
 * heartbeat, and archives that each keep `every` (a multiple of the step)
 * for `for` (a multiple of `every`) with one or more consolidation
 * functions. DESIGN's layout is the default. Also what a layout costs,
 * for -t (the layout's own helpers, which the store uses too, are in
 * rrd_layout.c).
 *
 *   rrd:
 *     step: 1m
 *     heartbeat: 10m
 *     archives:
 *       - { every: 1m, for: 2d, cf: [min, average, max] }
 *       - { every: 5m, for: 2w, cf: [min, average, max] }
 *       - { every: 1h, for: 396d, cf: [min, average, max] }
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/config_int.h"

#define ALL_CF (RRD_CF_AVERAGE | RRD_CF_MIN | RRD_CF_MAX)
#define ROWS_MAX 100000000L /* 800 MB an archive: a typo, not a plan */

static const char *const cf_names[] = {"average", "min", "max", "last"};

/* The section as read, before the step is known (keys come in any order). */
struct rrd_raw {
	double step, heartbeat;
	yaml_node_t *archives;
};

struct rra_raw {
	double every, span;
	unsigned cfs;
	bool has_cf;
};

static int get_archives(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct rrd_raw *raw = base;
	(void)path;
	(void)c;
	raw->archives = n;
	return 0;
}

static int get_cf(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct rra_raw *a = base;
	char **list = NULL;
	size_t k = 0;
	int rc = 0;

	if (cfg_get_strlist(c, n, path, &list, &k) == -1)
		return -1;
	a->cfs = 0;
	for (size_t i = 0; i < k; i++) {
		size_t j;
		for (j = 0; j < 4 && strcmp(list[i], cf_names[j]) != 0; j++)
			;
		if (j == 4) {
			cfg_error(c, n, path, "expected average, min, max or last, got \"%s\"",
				  list[i]);
			rc = -1;
		} else if (a->cfs & (1u << j)) {
			cfg_error(c, n, path, "\"%s\" given twice", list[i]);
			rc = -1;
		}
		if (j < 4)
			a->cfs |= 1u << j;
	}
	if (rc == 0 && k == 0) {
		cfg_error(c, n, path, "expected at least one of average, min, max, last");
		rc = -1;
	}
	cfg_strlist_free(list, k);
	a->has_cf = rc == 0;
	return rc;
}

static const struct cfg_field rrd_fields[] = {
    FLD(struct rrd_raw, "step", CT_DURATION, step, 1, 86400, 0),
    FLD(struct rrd_raw, "heartbeat", CT_DURATION, heartbeat, 1, 30 * 86400.0, 0),
    FN("archives", get_archives),
    CFG_END,
};

enum { F_EVERY, F_FOR, F_CF };
static const struct cfg_field rra_fields[] = {
    FLD(struct rra_raw, "every", CT_DURATION, every, 0, 100 * 366 * 86400.0, CF_LO_OPEN),
    FLD(struct rra_raw, "for", CT_DURATION, span, 0, 100 * 366 * 86400.0, CF_LO_OPEN),
    FN("cf", get_cf),
    CFG_END,
};

static bool whole(double x)
{
	return x == floor(x);
}

/* One archive of the list; its errors at the key they are about. */
static void load_archive(struct cfg_ctx *c, yaml_node_t *n, const char *path, long step,
			 struct cfg_rra *out)
{
	struct rra_raw a = {0, 0, ALL_CF, false};
	struct cfg_origin o[3] = {{0}};
	char kp[CFG_KEYPATH_MAX];

	if (cfg_is_null(n) || cfg_expect_map(c, n, path) == -1) {
		if (cfg_is_null(n))
			cfg_error(c, n, path, "expected a mapping with every, for and cf");
		return;
	}
	if (cfg_apply(c, n, path, rra_fields, &a, o) == -1)
		return;
	if (!o[F_EVERY].set || !o[F_FOR].set) {
		cfg_error(c, n, path, "an archive needs both every and for");
		return;
	}
	cfg_keypath(kp, sizeof(kp), path, "every");
	if (!whole(a.every / step)) {
		cfg_error_at(c, o[F_EVERY].mark, kp, "must be a whole number of steps (step %lds)",
			     step);
		return;
	}
	cfg_keypath(kp, sizeof(kp), path, "for");
	if (!whole(a.span / a.every) || a.span < a.every) {
		cfg_error_at(c, o[F_FOR].mark, kp, "must be a whole number of `every` (%gs)",
			     a.every);
		return;
	}
	if (a.span / a.every > ROWS_MAX) {
		cfg_error_at(c, o[F_FOR].mark, kp, "%.0f rows: at most %ld", a.span / a.every,
			     ROWS_MAX);
		return;
	}
	*out = (struct cfg_rra){(long)(a.every / step), (long)(a.span / a.every), a.cfs};
}

void cfg_load_rrd(struct cfg_ctx *c, yaml_node_t *n, bool daemon_heartbeat_set)
{
	struct cfg_rrd *r = &c->cfg->rrd;
	struct rrd_raw raw = {(double)r->step_s, (double)r->heartbeat_s, NULL};
	struct cfg_origin o[3] = {{0}};
	yaml_node_item_t *it;
	size_t i = 0;
	unsigned seen = 0;

	if (cfg_apply(c, n, "rrd", rrd_fields, &raw, o) == -1)
		return;
	if (o[0].set && !whole(raw.step)) {
		cfg_error_at(c, o[0].mark, "rrd.step", "expected whole seconds, got %gs", raw.step);
		return;
	}
	if (o[1].set && !whole(raw.heartbeat)) {
		cfg_error_at(c, o[1].mark, "rrd.heartbeat", "expected whole seconds, got %gs",
			     raw.heartbeat);
		return;
	}
	if (o[1].set && daemon_heartbeat_set) {
		cfg_error_at(c, o[1].mark, "rrd.heartbeat",
			     "daemon.rrd_heartbeat is set too: keep one of them");
		return;
	}
	r->step_s = (long)raw.step;
	if (o[1].set)
		r->heartbeat_s = (long)raw.heartbeat;
	if (r->heartbeat_s < r->step_s) {
		cfg_error_at(c, o[1].set ? o[1].mark : o[0].mark,
			     o[1].set ? "rrd.heartbeat" : "rrd.step",
			     "the heartbeat (%lds) must be at least the step (%lds)",
			     r->heartbeat_s, r->step_s);
		return;
	}
	if (raw.archives == NULL)
		return;
	if (raw.archives->type != YAML_SEQUENCE_NODE ||
	    raw.archives->data.sequence.items.top == raw.archives->data.sequence.items.start) {
		cfg_error(c, raw.archives, "rrd.archives",
			  "expected a list of archives ({ every: 1m, for: 2d, cf: [average] })");
		return;
	}
	if (raw.archives->data.sequence.items.top - raw.archives->data.sequence.items.start >
	    CFG_RRA_MAX) {
		cfg_error(c, raw.archives, "rrd.archives", "at most %d archives", CFG_RRA_MAX);
		return;
	}
	struct cfg_rra tmp[CFG_RRA_MAX];
	bool ok = true;
	size_t errs0 = c->n_errs;
	for (it = raw.archives->data.sequence.items.start;
	     it < raw.archives->data.sequence.items.top; it++, i++) {
		char kp[CFG_KEYPATH_MAX];
		cfg_indexpath(kp, sizeof(kp), "rrd.archives", i);
		tmp[i] = (struct cfg_rra){0, 0, 0};
		load_archive(c, cfg_node(c, *it), kp, r->step_s, &tmp[i]);
		seen |= tmp[i].cfs;
	}
	ok = c->n_errs == errs0;
	if (ok && (seen & ALL_CF) != ALL_CF) {
		/* The dashboard draws the AVERAGE line in its MIN..MAX band. */
		cfg_error(c, raw.archives, "rrd.archives",
			  "average, min and max must each be kept by some archive (the dashboard "
			  "draws all three)");
		ok = false;
	}
	if (ok) {
		memcpy(r->rra, tmp, i * sizeof(tmp[0]));
		r->n_rra = i;
	}
}

/* ---- -t ---- */

static size_t n_archives(const struct cfg_rrd *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_rra; i++)
		for (unsigned b = 0; b < 4; b++)
			n += (r->rra[i].cfs >> b) & 1;
	return n;
}

void config_rrd_report(const struct config *cfg, FILE *out)
{
	char desc[1024];
	unsigned long long bytes = config_rrd_file_bytes(&cfg->rrd);
	size_t channels = 0;

	for (size_t i = 0; i < cfg->n_instruments; i++) {
		channels += cfg->instruments[i].n_channels;
		for (size_t q = 0; q < cfg->instruments[i].n_qc; q++)
			channels += cfg->instruments[i].qc[q].n_levels;
	}
	config_rrd_describe(&cfg->rrd, desc, sizeof(desc));
	fprintf(out, "rrd: %s\n", desc);
	fprintf(out,
		"rrd: %zu archives, %llu bytes (%.1f KiB) a channel; %zu configured channels "
		"and QC levels: %.1f MiB\n",
		n_archives(&cfg->rrd), bytes, bytes / 1024.0, channels,
		(double)bytes * (double)channels / (1024.0 * 1024.0));
}
