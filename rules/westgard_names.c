/*
 * westgard_names.c: the vocabulary of the Westgard engine: rule names and
 * their aliases, status names, parameter defaults and checks, and the
 * Westgard Sigma Rules choice behind `rules: auto`. Pure functions over
 * constant tables.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rules/westgard.h"

static const struct {
	const char *name; /* canonical spelling (DESIGN section 4) */
	const char *norm; /* lower case, without '-', ':', '_' and spaces */
} rule_names[WG_RULE_COUNT] = {
    [WG_1_2S] = {"1-2s", "12s"},
    [WG_1_2_5S] = {"1-2.5s", "12.5s"},
    [WG_1_3S] = {"1-3s", "13s"},
    [WG_1_3_5S] = {"1-3.5s", "13.5s"},
    [WG_2_2S] = {"2-2s", "22s"},
    [WG_R_4S] = {"R-4s", "r4s"},
    [WG_4_1S] = {"4-1s", "41s"},
    [WG_3_1S] = {"3-1s", "31s"},
    [WG_2OF3_2S] = {"2of3-2s", "2of32s"},
    [WG_6X] = {"6x", "6x"},
    [WG_8X] = {"8x", "8x"},
    [WG_9X] = {"9x", "9x"},
    [WG_10X] = {"10x", "10x"},
    [WG_12X] = {"12x", "12x"},
    [WG_7T] = {"7T", "7t"},
};

const char *westgard_rule_name(enum westgard_rule r)
{
	if ((int)r < 0 || r >= WG_RULE_COUNT)
		return NULL;
	return rule_names[r].name;
}

int westgard_rule_parse(const char *s)
{
	char norm[16];
	size_t n = 0;

	if (s == NULL)
		return -1;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '-' || c == ':' || c == '_' || c == ' ')
			continue;
		if (n + 1 >= sizeof(norm))
			return -1;
		norm[n++] = (char)tolower(c);
	}
	norm[n] = '\0';
	for (int r = 0; r < WG_RULE_COUNT; r++)
		if (strcmp(norm, rule_names[r].norm) == 0)
			return r;
	return -1;
}

int westgard_rules_parse(const char *list, unsigned *mask, char *err, size_t errlen)
{
	unsigned m = 0;
	const char *p = list;

	if (list == NULL) {
		snprintf(err, errlen, "no rules");
		return -1;
	}
	while (*p) {
		char name[32];
		size_t n = 0;
		int r;

		while (*p == '/' || *p == ',' || *p == '+' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		while (*p && *p != '/' && *p != ',' && *p != '+' && !isspace((unsigned char)*p)) {
			if (n + 1 < sizeof(name))
				name[n++] = *p;
			p++;
		}
		name[n] = '\0';
		r = westgard_rule_parse(name);
		if (r < 0) {
			snprintf(err, errlen,
			         "unknown Westgard rule \"%s\" (expected e.g. 1-2s 1-3s 2-2s R-4s "
			         "4-1s 3-1s 2of3-2s 10x 7T)",
			         name);
			return -1;
		}
		m |= WG_BIT(r);
	}
	if (m == 0) {
		snprintf(err, errlen, "no rules");
		return -1;
	}
	*mask = m;
	return 0;
}

size_t westgard_rules_names(unsigned mask, const char **names, size_t max)
{
	size_t n = 0;

	for (int r = 0; r < WG_RULE_COUNT && n < max; r++)
		if (mask & WG_BIT(r))
			names[n++] = rule_names[r].name;
	return n;
}

char *westgard_rules_format(unsigned mask, char *buf, size_t buflen)
{
	size_t off = 0;

	if (buflen == 0)
		return buf;
	buf[0] = '\0';
	for (int r = 0; r < WG_RULE_COUNT; r++) {
		int k;

		if (!(mask & WG_BIT(r)))
			continue;
		k = snprintf(buf + off, buflen - off, "%s%s", off ? "/" : "", rule_names[r].name);
		if (k < 0 || (size_t)k >= buflen - off)
			break;
		off += (size_t)k;
	}
	return buf;
}

const char *westgard_status_name(enum qc_status s)
{
	switch (s) {
	case QC_ACCEPT:
		return "accept";
	case QC_PROVISIONAL:
		return "provisional";
	case QC_BASELINE:
		return "baseline";
	case QC_WARNING:
		return "warning";
	case QC_REJECT:
		return "reject";
	}
	return "?";
}

static const char *const scope_names[] = {
    [WG_SCOPE_RUNS] = "runs", [WG_SCOPE_LEVEL] = "level", [WG_SCOPE_BOTH] = "both"};

const char *westgard_scope_name(enum wg_scope s)
{
	return (int)s >= 0 && s <= WG_SCOPE_BOTH ? scope_names[s] : "?";
}

int westgard_scope_parse(const char *s)
{
	for (int i = 0; s && i <= WG_SCOPE_BOTH; i++)
		if (strcmp(s, scope_names[i]) == 0)
			return i;
	return -1;
}

void westgard_params_init(struct westgard_params *p, size_t n_levels)
{
	memset(p, 0, sizeof(*p));
	p->rules =
	    WG_BIT(WG_1_3S) | WG_BIT(WG_2_2S) | WG_BIT(WG_R_4S) | WG_BIT(WG_4_1S) | WG_BIT(WG_10X);
	p->warning = WG_BIT(WG_1_2S);
	p->run_window_s = WG_RUN_WINDOW_S;
	p->baseline_n = WG_BASELINE_N;
	p->lot_baseline_n = WG_LOT_BASELINE_N;
	p->scope = WG_SCOPE_RUNS;
	p->lot_sd = WG_LOT_SD_CARRY_CV;
	p->sigma_option = WG_SIGMA_N6R1;
	p->n_levels = n_levels;
}

int westgard_params_check(const struct westgard_params *p, char *err, size_t errlen)
{
	if (p->n_levels < 1 || p->n_levels > WG_LEVELS_MAX) {
		snprintf(err, errlen, "%zu control levels, expected 1 to %d", p->n_levels,
		         WG_LEVELS_MAX);
		return -1;
	}
	if ((p->rules | p->warning) & ~WG_ALL_RULES) {
		snprintf(err, errlen, "unknown rule bits");
		return -1;
	}
	if (!(p->run_window_s >= 0) || !isfinite(p->run_window_s)) {
		snprintf(err, errlen, "run_window must be a duration >= 0");
		return -1;
	}
	if (p->baseline_n < 2) {
		snprintf(err, errlen, "baseline_n must be at least 2, got %d", p->baseline_n);
		return -1;
	}
	if (p->lot_baseline_n < 2) {
		snprintf(err, errlen, "lot_baseline_n must be at least 2, got %d", p->lot_baseline_n);
		return -1;
	}
	if (p->replicates < 0 || p->replicates > WG_REPLICATES_MAX) {
		snprintf(err, errlen, "replicates must be 1 to %d, got %d", WG_REPLICATES_MAX,
		         p->replicates);
		return -1;
	}
	if ((int)p->scope < 0 || p->scope > WG_SCOPE_BOTH || (int)p->lot_sd < 0 ||
	    p->lot_sd > WG_LOT_SD_BASELINE || (int)p->sigma_option < 0 ||
	    p->sigma_option > WG_SIGMA_9X) {
		snprintf(err, errlen, "bad scope, lot_sd or sigma option");
		return -1;
	}
	for (size_t l = 0; l < p->n_levels; l++) {
		const struct westgard_level_params *lp = &p->levels[l];

		if (lp->n_targets > 0 && lp->targets == NULL) {
			snprintf(err, errlen, "level %zu: targets missing", l + 1);
			return -1;
		}
		for (size_t i = 0; i < lp->n_targets; i++) {
			const struct westgard_target *t = &lp->targets[i];

			if (t->has_mean_sd &&
			    (!isfinite(t->mean) || !isfinite(t->sd) || t->sd <= 0)) {
				snprintf(err, errlen, "level %zu lot \"%s\": sd must be > 0", l + 1,
				         t->lot);
				return -1;
			}
			if (t->has_bias && !isfinite(t->bias_pct)) {
				snprintf(err, errlen, "level %zu lot \"%s\": bad bias", l + 1,
				         t->lot);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Westgard Sigma Rules (J.O. Westgard, S.A. Westgard, "Westgard Sigma
 * Rules", westgard.com 2014; Westgard JO, Westgard SA, Clin Lab Med
 * 2017;37:35-45, Fig. 1 for 2 levels and its 3-level companion chart):
 *
 *   sigma      2 levels                              3 levels
 *   >= 6       1-3s                 N=2 R=1          1-3s                     N=3 R=1
 *   5 to 6     1-3s/2-2s/R-4s       N=2 R=1          1-3s/2of3-2s/R-4s        N=3 R=1
 *   4 to 5     + 4-1s               N=4 R=1          + 3-1s                   N=3 R=1
 *   < 4        + 4-1s/8x            N=4 R=2          + 3-1s/6x                N=6 R=1
 *                                                    or the same              N=3 R=2
 *                                                    or 9x for 6x             N=3 R=3
 *
 * N is control measurements per run (replicates = N / levels); R the runs
 * the count rules look back over. Both are applied: auto sets the
 * replicates a run holds per level (unless the config sets them) and R
 * for every count rule. The 3-level alternatives below 4 sigma are the
 * ones the issue (17) and the chart list; sigma_option picks one, the
 * first by default. The 2-level chart is read as printing one choice per
 * row; if it offers alternatives there (such as N=2 R=2 at 4 sigma), they
 * are not offered here. With one level, the 2-level column.
 */
static void sigma_row(double sigma, bool have, const struct westgard_params *p,
                      struct westgard_auto *a)
{
	bool three = p->n_levels >= 3;
	unsigned base = WG_BIT(WG_1_3S);
	unsigned pair = three ? WG_BIT(WG_2OF3_2S) : WG_BIT(WG_2_2S);
	unsigned run1s = three ? WG_BIT(WG_3_1S) : WG_BIT(WG_4_1S);
	unsigned meanx = three ? WG_BIT(WG_6X) : WG_BIT(WG_8X);

	a->runs = 1;
	a->n_per_run = three ? 3 : 2;
	if (have && sigma >= 6) {
		a->rules = base;
	} else if (have && sigma >= 5) {
		a->rules = base | pair | WG_BIT(WG_R_4S);
	} else if (have && sigma >= 4) {
		a->rules = base | pair | WG_BIT(WG_R_4S) | run1s;
		a->n_per_run = three ? 3 : 4;
	} else if (!three) {
		/* below 4 sigma, and before targets exist: the full set */
		a->rules = base | pair | WG_BIT(WG_R_4S) | run1s | meanx;
		a->n_per_run = 4;
		a->runs = 2;
	} else {
		a->rules = base | pair | WG_BIT(WG_R_4S) | run1s | meanx;
		a->n_per_run = 6;
		if (p->sigma_option == WG_SIGMA_N3R2) {
			a->n_per_run = 3;
			a->runs = 2;
		} else if (p->sigma_option == WG_SIGMA_9X) {
			a->rules = (a->rules & ~WG_BIT(WG_6X)) | WG_BIT(WG_9X);
			a->n_per_run = 3;
			a->runs = 3;
		}
	}
	a->replicates = a->n_per_run / (int)(three ? 3 : 2);
	if (a->replicates < 1)
		a->replicates = 1;
}

int westgard_lookback(size_t n_levels, int replicates, int runs_auto, int n)
{
	int per_run = (int)n_levels * (replicates > 0 ? replicates : 1);

	if (runs_auto > 0)
		return runs_auto;
	return per_run > 0 ? (n + per_run - 1) / per_run : n;
}

void westgard_plan(const struct westgard *w, const struct westgard_params *p,
                   struct westgard_plan *out, struct westgard_auto *chosen)
{
	westgard_choose_auto(w, p, chosen);
	out->rules = p->rules_auto ? chosen->rules : p->rules;
	out->runs_auto = p->rules_auto ? chosen->runs : 0;
	if (p->replicates > 0)
		out->replicates = p->replicates;
	else
		out->replicates = p->rules_auto ? chosen->replicates : 1;
}

/* Targets of a level for a lot: in westgard_names.c, as the config
 * checks and the Sigma choice need them without the engine. */
const struct westgard_target *westgard__target(const struct westgard_params *p, int level,
                                               const char *lot, bool want_bias)
{
	const struct westgard_level_params *lp = &p->levels[level];
	const struct westgard_target *any = NULL;

	for (size_t i = 0; i < lp->n_targets; i++) {
		const struct westgard_target *t = &lp->targets[i];

		if (want_bias ? !t->has_bias : !t->has_mean_sd)
			continue;
		if (strcmp(t->lot, lot) == 0)
			return t;
		/* a bias is the method's, not the lot's: one without lot
		 * applies to every lot */
		if (want_bias && t->lot[0] == '\0' && any == NULL)
			any = t;
	}
	return any;
}

bool westgard__lot_target(const struct westgard_params *p, const struct westgard *w, int level,
                          int slot, double *mean, double *sd)
{
	const struct wg_lot *lt = &w->lv[level].lots[slot];
	const struct westgard_target *t = westgard__target(p, level, lt->lot, false);

	if (t) {
		*mean = t->mean;
		*sd = t->sd;
		return true;
	}
	if (lt->established) {
		*mean = lt->est_mean;
		*sd = lt->est_sd;
		return true;
	}
	return false;
}

void westgard_choose_auto(const struct westgard *w, const struct westgard_params *p,
                          struct westgard_auto *out)
{
	memset(out, 0, sizeof(*out));
	out->have_sigma = p->tea_pct > 0;
	out->sigma = INFINITY;
	out->sigma_level = -1;
	for (size_t l = 0; l < p->n_levels && out->have_sigma; l++) {
		const struct wg_level *lv = &w->lv[l];
		const char *lot = lv->seen ? lv->last_lot : "";
		const struct westgard_target *b = westgard__target(p, (int)l, lot, true);
		double mean = 0, sd = 0, cv, sigma;
		bool have = false;

		for (int s = 0; s < WG_LOTS_MAX && !have; s++)
			if (lv->lots[s].used && strcmp(lv->lots[s].lot, lot) == 0)
				have = westgard__lot_target(p, w, (int)l, s, &mean, &sd);
		if (!have) {
			const struct westgard_target *t = westgard__target(p, (int)l, lot, false);

			if (t) {
				have = true;
				mean = t->mean;
				sd = t->sd;
			}
		}
		if (!have || mean == 0) {
			out->have_sigma = false;
			break;
		}
		if (b == NULL)
			out->bias_missing = true;
		cv = sd / fabs(mean) * 100.0;
		sigma = (p->tea_pct - (b ? fabs(b->bias_pct) : 0.0)) / cv;
		if (sigma < out->sigma) {
			out->sigma = sigma;
			out->sigma_level = (int)l;
			out->bias_pct = b ? b->bias_pct : 0.0;
		}
	}
	if (!out->have_sigma) {
		out->sigma = NAN;
		out->sigma_level = -1;
		out->bias_missing = false;
	}
	sigma_row(out->sigma, out->have_sigma, p, out);
}
