/*
 * config_qc.c: an instrument's `qc:` section, the Westgard multirule
 * settings of each analyte (DESIGN section 4).
 *
 * Rule names are resolved to their canonical spelling here (13s -> 1-3s)
 * with the Westgard engine's own table, so the config and the engine can
 * never disagree on a name. A level holds one target for every lot, a
 * list of per-lot targets, or nothing (the baseline establishes it).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config_int.h"

#define DAY 86400.0

/* "1-3s/2-2s/R-4s", a YAML list of names, or (rules only) "auto". */
static int get_rule_list(struct cfg_ctx *c, yaml_node_t *n, const char *path, bool allow_auto,
                         bool *is_auto, char (*out)[12], size_t *count)
{
	char buf[256], got[96];
	const char *items[64];
	yaml_node_t *nodes[64];
	size_t ni = 0;
	int rc = 0;

	*count = 0;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top && ni < 64; it++) {
			nodes[ni] = cfg_node(c, *it);
			items[ni] = cfg_scalar(nodes[ni]);
			if (items[ni] == NULL) {
				cfg_error(c, nodes[ni], path, "expected a rule name, got %s",
				          cfg_got(nodes[ni], got, sizeof(got)));
				return -1;
			}
			ni++;
		}
	} else {
		char *save = NULL;

		if (cfg_get_string(c, n, path, buf, sizeof(buf), 0) == -1)
			return -1;
		if (allow_auto && strcmp(buf, "auto") == 0) {
			*is_auto = true;
			return 0;
		}
		if (!allow_auto && strcmp(buf, "none") == 0)
			return 0;
		for (char *t = strtok_r(buf, "/, +", &save); t && ni < 64;
		     t = strtok_r(NULL, "/, +", &save)) {
			nodes[ni] = n;
			items[ni++] = t;
		}
		if (ni == 0 && allow_auto) {
			cfg_error(c, n, path, "expected rules such as 1-3s/2-2s/R-4s or auto");
			return -1;
		}
	}
	if (is_auto != NULL)
		*is_auto = false;
	for (size_t i = 0; i < ni; i++) {
		const char *canon = config_qc_rule_canonical(items[i]);
		size_t j;

		if (canon == NULL) {
			cfg_error(c, nodes[i], path,
			          "unknown Westgard rule \"%s\" (expected 1-2s 1-2.5s 1-3s 1-3.5s "
			          "2-2s R-4s 4-1s 3-1s 2of3-2s 6x 8x 9x 10x 12x 7T%s)",
			          items[i], allow_auto ? " or auto" : "");
			rc = -1;
			continue;
		}
		for (j = 0; j < *count && strcmp(out[j], canon) != 0; j++)
			;
		if (j == *count && *count < QC_RULES_MAX)
			snprintf(out[(*count)++], sizeof(out[0]), "%s", canon);
	}
	return rc;
}

static int get_rules(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_qc_analyte *a = base;

	return get_rule_list(c, n, path, true, &a->rules_auto, a->rules, &a->n_rules);
}

static int get_warning(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_qc_analyte *a = base;

	if (cfg_is_null(n)) {
		a->n_warning = 0;
		return 0;
	}
	return get_rule_list(c, n, path, false, NULL, a->warning, &a->n_warning);
}

enum { TG_MEAN, TG_SD, TG_LOT, TG_BIAS, TG_FIELDS };
static const struct cfg_field target_fields[TG_FIELDS + 1] = {
    [TG_MEAN] = FLD(struct cfg_qc_target, "mean", CT_NUMBER, mean, -INFINITY, INFINITY, 0),
    [TG_SD] = FLD(struct cfg_qc_target, "sd", CT_NUMBER, sd, 0, INFINITY, CF_LO_OPEN),
    [TG_LOT] = FLD(struct cfg_qc_target, "lot", CT_NAME, lot, 0, 0, 0),
    [TG_BIAS] = FLDH(struct cfg_qc_target, "bias", CT_PERCENT, bias_pct, -100, 100, 0, has_bias),
    [TG_FIELDS] = CFG_END,
};

static void level_load(struct cfg_ctx *c, struct cfg_qc_level *lv, yaml_node_t *n, const char *path)
{
	size_t cnt = 1;

	if (cfg_is_null(n))
		return; /* no targets: the baseline establishes them */
	if (n->type == YAML_SEQUENCE_NODE)
		cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	lv->targets = calloc(cnt ? cnt : 1, sizeof(*lv->targets));
	if (lv->targets == NULL) {
		cfg_error(c, n, path, "out of memory");
		return;
	}
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *tn = n->type == YAML_SEQUENCE_NODE
		                      ? cfg_node(c, n->data.sequence.items.start[i])
		                      : n;
		struct cfg_qc_target *t = &lv->targets[lv->n_targets];
		struct cfg_origin o[TG_FIELDS] = {{0}};
		char kp[CFG_KEYPATH_MAX];

		if (n->type == YAML_SEQUENCE_NODE)
			cfg_indexpath(kp, sizeof(kp), path, i);
		else
			snprintf(kp, sizeof(kp), "%s", path);
		if (cfg_apply(c, tn, kp, target_fields, t, o) == -1 &&
		    tn->type != YAML_MAPPING_NODE)
			continue;
		if (o[TG_MEAN].set != o[TG_SD].set) {
			cfg_error(c, tn, kp,
			          "mean and sd go together (neither: the first "
			          "results establish them)");
			continue;
		}
		t->has_mean_sd = o[TG_MEAN].set;
		for (size_t j = 0; j < lv->n_targets; j++)
			if (strcmp(lv->targets[j].lot, t->lot) == 0) {
				if (t->lot[0])
					cfg_error(c, tn, kp, "lot \"%s\" has two targets", t->lot);
				else
					cfg_error(c, tn, kp, "two targets without lot:");
				break;
			}
		lv->n_targets++;
	}
}

void cfg_analyte_free(struct cfg_qc_analyte *a)
{
	for (size_t i = 0; i < a->n_levels; i++)
		free(a->levels[i].targets);
	free(a->levels);
	a->levels = NULL;
	a->n_levels = 0;
}

/* levels: { L1: {mean, sd}, L2: [{lot: A, mean, sd}, {lot: B}], L3: } */
static int get_levels(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_qc_analyte *a = base;
	size_t cnt;
	size_t before;

	cfg_analyte_free(a);
	if (cfg_expect_map(c, n, path) == -1)
		return -1;
	before = c->n_errs;
	cfg_check_keys(c, n, path);
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (cnt < 1 || cnt > WG_LEVELS_MAX) {
		cfg_error(c, n, path, "expected 1 to %d control levels, got %zu", WG_LEVELS_MAX,
		          cnt);
		return -1;
	}
	a->levels = calloc(cnt, sizeof(*a->levels));
	if (a->levels == NULL) {
		cfg_error(c, n, path, "out of memory");
		return -1;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = cfg_node(c, p->key);
		struct cfg_qc_level *lv = &a->levels[a->n_levels];
		const char *k = cfg_scalar(kn);
		char kp[CFG_KEYPATH_MAX];

		if (k == NULL)
			continue;
		cfg_keypath(kp, sizeof(kp), path, k);
		if (cfg_get_name(c, kn, kp, lv->name, sizeof(lv->name)) == -1)
			continue;
		level_load(c, lv, cfg_node(c, p->value), kp);
		a->n_levels++;
	}
	return c->n_errs > before ? -1 : 0;
}

/* scope, lot_sd, sigma_option: one of a few words */
static int get_word(struct cfg_ctx *c, yaml_node_t *n, const char *path, int *out,
                    const char *const *words, size_t n_words)
{
	const char *s = cfg_scalar(n);
	char got[96], list[128] = "";

	for (size_t i = 0; s && i < n_words; i++)
		if (strcmp(s, words[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	for (size_t i = 0; i < n_words; i++) {
		size_t k = strlen(list);

		snprintf(list + k, sizeof(list) - k, "%s%s", i ? (i + 1 == n_words ? " or " : ", ") : "",
		         words[i]);
	}
	cfg_error(c, n, path, "expected %s, got %s", list, cfg_got(n, got, sizeof(got)));
	return -1;
}

static int get_scope(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	static const char *const w[] = {"runs", "level", "both"}; /* enum wg_scope */

	return get_word(c, n, path, &((struct cfg_qc_analyte *)base)->scope, w, 3);
}

static int get_lot_sd(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	static const char *const w[] = {"carry_cv", "baseline"}; /* enum wg_lot_sd */

	return get_word(c, n, path, &((struct cfg_qc_analyte *)base)->lot_sd, w, 2);
}

static int get_sigma_option(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	static const char *const w[] = {"N6R1", "N3R2", "9x"}; /* enum wg_sigma_option */

	return get_word(c, n, path, &((struct cfg_qc_analyte *)base)->sigma_option, w, 3);
}

/* due_by: "HH:MM", local time */
static int get_qc_due_by(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_qc_analyte *a = base;
	const char *s = cfg_scalar(n);
	char got[96];

	if (s != NULL && strlen(s) == 5 && s[2] == ':' && s[0] >= '0' && s[0] <= '2' &&
	    s[1] >= '0' && s[1] <= '9' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' &&
	    s[4] <= '9' && (s[0] - '0') * 10 + (s[1] - '0') < 24) {
		a->due_by_min = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 +
		                (s[4] - '0');
		return 0;
	}
	cfg_error(c, n, path, "expected a time of day HH:MM such as \"09:00\", got %s",
	          cfg_got(n, got, sizeof(got)));
	return -1;
}

enum {
	AN_RULES,
	AN_WARNING,
	AN_TEA,
	AN_RUN_WINDOW,
	AN_BASELINE_N,
	AN_SCOPE,
	AN_REPLICATES,
	AN_LOT_BASELINE_N,
	AN_LOT_SD,
	AN_SIGMA_OPTION,
	AN_QC_EVERY,
	AN_DUE_BY,
	AN_ACTION_DUE,
	AN_LEVELS,
	AN_PBRTQC,
	AN_FIELDS
};
static const struct cfg_field analyte_fields[AN_FIELDS + 1] = {
    [AN_RULES] = FN("rules", get_rules),
    [AN_WARNING] = FN("warning", get_warning),
    [AN_TEA] = FLDH(struct cfg_qc_analyte, "tea", CT_PERCENT, tea_pct, 0, 100, CF_LO_OPEN, has_tea),
    [AN_RUN_WINDOW] =
        FLD(struct cfg_qc_analyte, "run_window", CT_DURATION, run_window_s, 0, DAY, 0),
    [AN_BASELINE_N] = FLD(struct cfg_qc_analyte, "baseline_n", CT_INT, baseline_n, 2, 100000, 0),
    [AN_SCOPE] = FN("scope", get_scope),
    [AN_REPLICATES] = FLD(struct cfg_qc_analyte, "replicates", CT_INT, replicates, 1,
                          WG_REPLICATES_MAX, 0),
    [AN_LOT_BASELINE_N] =
        FLD(struct cfg_qc_analyte, "lot_baseline_n", CT_INT, lot_baseline_n, 2, 100000, 0),
    [AN_LOT_SD] = FN("lot_sd", get_lot_sd),
    [AN_SIGMA_OPTION] = FN("sigma_option", get_sigma_option),
    [AN_QC_EVERY] =
        FLD(struct cfg_qc_analyte, "qc_every", CT_DURATION, qc_every_s, 60, 366 * DAY, 0),
    [AN_DUE_BY] = FN("due_by", get_qc_due_by),
    [AN_ACTION_DUE] =
        FLD(struct cfg_qc_analyte, "action_due", CT_DURATION, action_due_s, 0, 366 * DAY, 0),
    [AN_LEVELS] = FN("levels", get_levels),
    [AN_PBRTQC] = FN("pbrtqc", cfg_get_pbrtqc),
    [AN_FIELDS] = CFG_END,
};

static void analyte_init(struct cfg_qc_analyte *a, const char *name)
{
	static const char *const rules[] = {"1-3s", "2-2s", "R-4s", "4-1s", "10x"};

	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	for (size_t i = 0; i < 5; i++)
		snprintf(a->rules[i], sizeof(a->rules[i]), "%s", rules[i]);
	a->n_rules = 5;
	snprintf(a->warning[0], sizeof(a->warning[0]), "1-2s");
	a->n_warning = 1;
	a->run_window_s = 600;
	a->baseline_n = 20;
	a->lot_baseline_n = 10;
	a->due_by_min = -1;
	a->action_due_s = 8 * 3600.0;
}

int cfg_get_qc(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_instrument *ins = base;
	struct cfg_each it;
	int cnt = cfg_each_begin(c, &it, n, path, true);

	if (cnt <= 0)
		return cnt;
	free(ins->qc); /* only a duplicate qc: key gets here twice; it is an error already */
	ins->qc = calloc((size_t)cnt, sizeof(*ins->qc));
	ins->n_qc = 0;
	if (ins->qc == NULL) {
		cfg_error(c, n, path, "out of memory");
		return -1;
	}
	while (cfg_each_next(c, &it, "analyte")) {
		yaml_node_t *vn = it.vn;
		struct cfg_qc_analyte *a = &ins->qc[ins->n_qc];
		struct cfg_origin o[AN_FIELDS] = {{0}};
		const char *k = it.key, *kp = it.path;
		char rp[CFG_KEYPATH_MAX];

		analyte_init(a, k);
		a->line = vn->start_mark.line + 1;
		a->column = vn->start_mark.column + 1;
		ins->n_qc++;
		cfg_apply(c, vn, kp, analyte_fields, a, o);
		/* an analyte watched by patient results only needs no levels */
		if (cfg_map_get(c, vn, "levels") == NULL && !a->pbrtqc.enabled)
			cfg_error(c, vn, kp,
			          "levels: missing (the control levels, such as L1, L2)");
		if (a->rules_auto && cfg_map_get(c, vn, "tea") == NULL) {
			cfg_keypath(rp, sizeof(rp), kp, "rules");
			cfg_error_at(c, o[AN_RULES].mark, rp,
			             "rules: auto needs tea (the allowable total error, such as "
			             "10%%)");
		}
	}
	return 0;
}

size_t config_qc_warnings(const struct config *cfg, FILE *out)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_instruments; i++) {
		const struct cfg_instrument *ins = &cfg->instruments[i];

		for (size_t q = 0; q < ins->n_qc; q++) {
			const struct cfg_qc_analyte *a = &ins->qc[q];

			for (size_t l = 0; a->rules_auto && l < a->n_levels; l++) {
				bool bias = false;

				for (size_t t = 0; t < a->levels[l].n_targets; t++)
					bias = bias || a->levels[l].targets[t].has_bias;
				if (bias)
					continue;
				fprintf(out,
				        "%s:%zu:%zu: warning: %s/%s qc %s level %s: rules: auto "
				        "without bias: sigma counts it as 0 (bias not given)\n",
				        cfg->path, a->line, a->column, ins->site, ins->name, a->name,
				        a->levels[l].name);
				n++;
			}
		}
	}
	return n;
}
