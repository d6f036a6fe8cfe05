/*
 * config_pbrtqc.c: an analyte's `pbrtqc:` (issue 22), the patient-based
 * moving statistic: method, block, truncation, target, and limits given
 * or learnt from a training period at a chosen false alarm rate. Read
 * through the field table like every other section; what the rule
 * itself refuses (rules/pbrtqc.c's pbrtqc_params_check) is checked here
 * too, at the key, so `labqcd -t` says it with file:line:column.
 */
#include <math.h>
#include <string.h>

#include "daemon/config_int.h"
#include "rules/pbrtqc.h"

static int get_method(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_pbrtqc *p = base;
	const char *s = cfg_scalar(n);
	char got[96];
	/* enum pbrtqc_method's order; the table is not shared with
	 * rules/pbrtqc.c so that the config parser links alone (fuzz_config) */
	static const char *const words[] = {"ma", "mm", "ewma"};

	for (int m = 0; s && m < 3; m++)
		if (strcmp(s, words[m]) == 0) {
			p->method = m;
			return 0;
		}
	cfg_error(c, n, path, "expected ma, mm or ewma, got %s", cfg_got(n, got, sizeof(got)));
	return -1;
}

/* [low, high], low below high */
static int get_pair(struct cfg_ctx *c, yaml_node_t *n, const char *path, double out[2])
{
	char got[96];
	yaml_node_t *a, *b;

	if (n->type != YAML_SEQUENCE_NODE ||
	    n->data.sequence.items.top - n->data.sequence.items.start != 2) {
		cfg_error(c, n, path, "expected [low, high], got %s", cfg_got(n, got, sizeof(got)));
		return -1;
	}
	a = cfg_node(c, n->data.sequence.items.start[0]);
	b = cfg_node(c, n->data.sequence.items.start[1]);
	if (cfg_get_number(c, a, path, &out[0]) == -1 || cfg_get_number(c, b, path, &out[1]) == -1)
		return -1;
	if (!(out[0] < out[1])) {
		cfg_error(c, b, path, "the low limit (%g) must be below the high one (%g)", out[0],
		          out[1]);
		return -1;
	}
	return 0;
}

static int get_truncate(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_pbrtqc *p = base;

	p->has_truncate = get_pair(c, n, path, p->truncate) == 0;
	return p->has_truncate ? 0 : -1;
}

static int get_limits(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_pbrtqc *p = base;

	p->has_limits = get_pair(c, n, path, p->limits) == 0;
	return p->has_limits ? 0 : -1;
}

static int get_severity(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_pbrtqc *p = base;
	char got[96];

	if (severity_parse(cfg_scalar(n), &p->severity) == 0)
		return 0;
	cfg_error(c, n, path, "expected info, warning or critical, got %s",
	          cfg_got(n, got, sizeof(got)));
	return -1;
}

enum { PB_METHOD, PB_BLOCK, PB_LAMBDA, PB_TRUNCATE, PB_TARGET, PB_LIMITS, PB_TRAIN, PB_FAR,
       PB_SEVERITY, PB_FIELDS };
static const struct cfg_field pbrtqc_fields[PB_FIELDS + 1] = {
    [PB_METHOD] = FN("method", get_method),
    [PB_BLOCK] = FLD(struct cfg_pbrtqc, "block", CT_INT, block, 1, PBRTQC_BLOCK_MAX, 0),
    [PB_LAMBDA] = FLD(struct cfg_pbrtqc, "lambda", CT_NUMBER, lambda, 0, 1, CF_LO_OPEN),
    [PB_TRUNCATE] = FN("truncate", get_truncate),
    [PB_TARGET] = FLDH(struct cfg_pbrtqc, "target", CT_NUMBER, target, -INFINITY, INFINITY, 0,
                       has_target),
    [PB_LIMITS] = FN("limits", get_limits),
    [PB_TRAIN] = FLD(struct cfg_pbrtqc, "train", CT_INT, train, 2, PBRTQC_TRAIN_MAX, 0),
    [PB_FAR] = FLD(struct cfg_pbrtqc, "false_alarm_rate", CT_NUMBER, far, 0, 0.5, CF_LO_OPEN),
    [PB_SEVERITY] = FN("severity", get_severity),
    [PB_FIELDS] = CFG_END,
};

int cfg_get_pbrtqc(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_qc_analyte *a = base;
	struct cfg_pbrtqc *p = &a->pbrtqc;
	struct cfg_origin o[PB_FIELDS] = {{0}};
	char kp[CFG_KEYPATH_MAX];

	memset(p, 0, sizeof(*p));
	p->block = 20;
	p->train = 500;
	p->far = 0.01;
	p->severity = SEV_WARNING;
	if (cfg_expect_map(c, n, path) == -1)
		return -1;
	p->enabled = true;
	if (cfg_apply(c, n, path, pbrtqc_fields, p, o) == -1)
		return -1;
	if (p->has_limits && (o[PB_TRAIN].set || o[PB_FAR].set)) {
		int f = o[PB_TRAIN].set ? PB_TRAIN : PB_FAR;
		cfg_keypath(kp, sizeof(kp), path, pbrtqc_fields[f].key);
		cfg_error_at(c, o[f].mark, kp,
		             "%s: goes with limits learnt, not with limits: given",
		             pbrtqc_fields[f].key);
		return -1;
	}
	if (o[PB_LAMBDA].set && p->method != PBRTQC_EWMA) {
		cfg_keypath(kp, sizeof(kp), path, "lambda");
		cfg_error_at(c, o[PB_LAMBDA].mark, kp, "lambda: is for method: ewma");
		return -1;
	}
	return 0;
}
