/*
 * config_instruments.c: profiles, instruments, channels, tasks and QC.
 *
 * A profile is a mapping of channel name -> channel rules (plus the
 * pseudo-channel `tasks`). It is checked once, where it is written; an
 * instrument then builds its channels from "sources" applied in order:
 * the profile's mapping (quietly, its errors were reported already), then
 * the instrument's own `channels:` and `tasks:`. A key of a later source
 * overrides the same key of an earlier one, per channel, so
 * `channels: {temp: {max: 6}}` keeps the profile's min. Checks between
 * two keys (min > max) run on the merged channel and speak up only when
 * one of the keys was written in the place being checked.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config_int.h"

#define DAY 86400.0
#define YEARS_100 (100 * 365 * DAY)

/* ---- one channel ---- */

static int get_max_rate(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_channel *ch = base;
	const char *s = cfg_scalar(n), *slash;
	char num[64], got[96];
	double delta, interval;

	slash = s ? strrchr(s, '/') : NULL;
	if (slash == NULL || (size_t)(slash - s) >= sizeof(num))
		goto bad;
	memcpy(num, s, (size_t)(slash - s));
	num[slash - s] = '\0';
	if (cfg_parse_double(num, &delta) == -1 || delta <= 0 ||
	    config_parse_duration(slash + 1, &interval) == -1 || interval <= 0)
		goto bad;
	ch->has_rate = true;
	ch->rate_delta = delta;
	ch->rate_interval_s = interval;
	return 0;
bad:
	cfg_error(c, n, path, "expected a change per interval such as 1.0/10m, got %s",
	          cfg_got(n, got, sizeof(got)));
	return -1;
}

static const struct cfg_field drift_fields[] = {
    FLD(struct cfg_drift, "lambda", CT_NUMBER, lambda, 0, 1, CF_LO_OPEN),
    FLD(struct cfg_drift, "limit", CT_NUMBER, limit, 0, INFINITY, CF_LO_OPEN),
    FLD(struct cfg_drift, "train", CT_INT, train, 2, 1000000, 0),
    CFG_END,
};

/* drift: true | false | { lambda, limit, train } */
static int get_drift(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_channel *ch = base;
	const char *s = cfg_scalar(n);
	char got[96];

	if (n->type == YAML_MAPPING_NODE) {
		ch->drift.on = true;
		return cfg_apply(c, n, path, drift_fields, &ch->drift, NULL);
	}
	if (s != NULL && (strcmp(s, "true") == 0 || cfg_is_null(n))) {
		ch->drift.on = true;
		return 0;
	}
	if (s != NULL && strcmp(s, "false") == 0) {
		ch->drift.on = false;
		return 0;
	}
	cfg_error(c, n, path, "expected true, false or a mapping {lambda, limit, train}, got %s",
	          cfg_got(n, got, sizeof(got)));
	return -1;
}

/* ok: [0, 3] or ok: 0 -- the codes of a status channel that mean fine */
static int get_ok_codes(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_channel *ch = base;
	size_t cnt = 1, k = 0;
	double *codes;
	int rc = 0;

	if (n->type == YAML_MAPPING_NODE) {
		cfg_error(c, n, path, "expected a number or a list of numbers, got a mapping");
		return -1;
	}
	if (n->type == YAML_SEQUENCE_NODE)
		cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	codes = calloc(cnt ? cnt : 1, sizeof(*codes));
	if (codes == NULL) {
		cfg_error(c, n, path, "out of memory");
		return -1;
	}
	if (n->type == YAML_SCALAR_NODE) {
		rc = cfg_get_number(c, n, path, &codes[0]);
		k = rc == 0;
	} else {
		for (size_t i = 0; i < cnt; i++) {
			char kp[CFG_KEYPATH_MAX];

			cfg_indexpath(kp, sizeof(kp), path, i);
			if (cfg_get_number(c, cfg_node(c, n->data.sequence.items.start[i]), kp,
			                   &codes[k]) == 0)
				k++;
			else
				rc = -1;
		}
	}
	free(ch->ok_codes);
	ch->ok_codes = codes;
	ch->n_ok_codes = k;
	return rc;
}

static int rule_by_name(const char *s)
{
	for (int r = 0; r < RULE_COUNT; r++)
		if (s != NULL && strcmp(s, config_rule_name((enum rule_id)r)) == 0)
			return r;
	return -1;
}

static int get_sev(struct cfg_ctx *c, yaml_node_t *n, const char *path, enum severity *sev)
{
	char got[96];

	if (severity_parse(cfg_scalar(n), sev) == 0)
		return 0;
	cfg_error(c, n, path, "expected info, warning or critical, got %s",
	          cfg_got(n, got, sizeof(got)));
	return -1;
}

/* severity: critical (every rule of the channel) or {range: warning, ...} */
static int get_severity(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_channel *ch = base;
	enum severity sev;
	int rc = 0;

	if (n->type != YAML_MAPPING_NODE) {
		if (get_sev(c, n, path, &sev) == -1)
			return -1;
		for (int r = 0; r < RULE_COUNT; r++)
			ch->severity[r] = sev;
		return 0;
	}
	if (cfg_check_keys(c, n, path) == -1)
		rc = -1;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = cfg_node(c, p->key);
		const char *k = cfg_scalar(kn);
		char kp[CFG_KEYPATH_MAX];
		int r;

		if (k == NULL)
			continue;
		cfg_keypath(kp, sizeof(kp), path, k);
		r = rule_by_name(k);
		if (r < 0 || r == RULE_QC || r == RULE_TASK) {
			cfg_error(c, kn, kp,
			          "unknown rule (expected one of: range, stale, rate, drift, "
			          "service, calendar, status)");
			rc = -1;
			continue;
		}
		if (get_sev(c, cfg_node(c, p->value), kp, &sev) == -1)
			rc = -1;
		else
			ch->severity[r] = sev;
	}
	return rc;
}

enum {
	CH_UNIT,
	CH_MIN,
	CH_MAX,
	CH_WARNING_MIN,
	CH_WARNING_MAX,
	CH_HYSTERESIS,
	CH_DELAY,
	CH_STALE,
	CH_MAX_RATE,
	CH_DRIFT,
	CH_SERVICE_EVERY,
	CH_WARN_AT,
	CH_SERVICE_BASELINE,
	CH_EVERY,
	CH_OK,
	CH_SEVERITY,
	CH_FIELDS
};

#define CH struct cfg_channel
static const struct cfg_field channel_fields[CH_FIELDS + 1] = {
    [CH_UNIT] = FLD(CH, "unit", CT_STRING, unit, 0, 0, 0),
    [CH_MIN] = FLDH(CH, "min", CT_NUMBER, min, -INFINITY, INFINITY, 0, has_min),
    [CH_MAX] = FLDH(CH, "max", CT_NUMBER, max, -INFINITY, INFINITY, 0, has_max),
    [CH_WARNING_MIN] =
        FLDH(CH, "warning_min", CT_NUMBER, warning_min, -INFINITY, INFINITY, 0, has_warning_min),
    [CH_WARNING_MAX] =
        FLDH(CH, "warning_max", CT_NUMBER, warning_max, -INFINITY, INFINITY, 0, has_warning_max),
    [CH_HYSTERESIS] = FLD(CH, "hysteresis", CT_NUMBER, hysteresis, 0, INFINITY, 0),
    [CH_DELAY] = FLD(CH, "delay", CT_DURATION, delay_s, 0, YEARS_100, 0),
    [CH_STALE] = FLD(CH, "stale", CT_DURATION, stale_s, 0, YEARS_100, 0),
    [CH_MAX_RATE] = FN("max_rate", get_max_rate),
    [CH_DRIFT] = FN("drift", get_drift),
    [CH_SERVICE_EVERY] =
        FLDH(CH, "service_every", CT_NUMBER, service_every, 0, INFINITY, CF_LO_OPEN, has_service),
    [CH_WARN_AT] = FLD(CH, "warn_at", CT_NUMBER, warn_at, 0, 1, CF_LO_OPEN),
    [CH_SERVICE_BASELINE] = FLDH(CH, "service_baseline", CT_NUMBER, service_baseline, 0, INFINITY,
                                 0, has_service_baseline),
    [CH_EVERY] = FLD(CH, "every", CT_DURATION, every_s, 0, YEARS_100, CF_LO_OPEN),
    [CH_OK] = FN("ok", get_ok_codes),
    [CH_SEVERITY] = FN("severity", get_severity),
    [CH_FIELDS] = CFG_END,
};
#undef CH

struct chan_origins {
	struct cfg_origin o[CH_FIELDS];
};

static void channel_init(struct cfg_channel *ch, const char *name)
{
	memset(ch, 0, sizeof(*ch));
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	ch->drift.lambda = 0.2;
	ch->drift.limit = 3;
	ch->drift.train = 50;
	ch->warn_at = 0.9;
}

/* a must not exceed b; told at the loud one of the two, if any. */
static void check_order(struct cfg_ctx *c, const char *chpath, const struct chan_origins *o, int ia,
                        double a, int ib, double b, const char *why)
{
	int at;
	char kp[CFG_KEYPATH_MAX];

	if (a <= b || !(o->o[ia].loud || o->o[ib].loud))
		return;
	at = o->o[ib].loud ? ib : ia;
	cfg_keypath(kp, sizeof(kp), chpath, channel_fields[at].key);
	cfg_error_at(c, o->o[at].mark, kp, "%s (%g) is greater than %s (%g)%s",
	             channel_fields[ia].key, a, channel_fields[ib].key, b, why);
}

static void channel_check(struct cfg_ctx *c, struct cfg_channel *ch, const char *chpath,
                          const struct chan_origins *o)
{
	static const char band[] = "; the warning band lies inside min..max";

	if (ch->has_min && ch->has_max)
		check_order(c, chpath, o, CH_MIN, ch->min, CH_MAX, ch->max, "");
	if (ch->has_warning_min && ch->has_warning_max)
		check_order(c, chpath, o, CH_WARNING_MIN, ch->warning_min, CH_WARNING_MAX,
		            ch->warning_max, "");
	if (ch->has_min && ch->has_warning_min)
		check_order(c, chpath, o, CH_MIN, ch->min, CH_WARNING_MIN, ch->warning_min, band);
	if (ch->has_max && ch->has_warning_max)
		check_order(c, chpath, o, CH_WARNING_MAX, ch->warning_max, CH_MAX, ch->max, band);
	/* A status channel: its codes that mean fine, default { 0 }. */
	if (strcmp(ch->name, "status") == 0 && !o->o[CH_OK].set && ch->ok_codes == NULL) {
		ch->ok_codes = calloc(1, sizeof(*ch->ok_codes));
		ch->n_ok_codes = ch->ok_codes != NULL;
	}
}

/* ---- tasks ---- */

static int get_due_by(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_task *t = base;
	const char *s = cfg_scalar(n);
	char got[96];

	if (s != NULL && strlen(s) == 5 && s[2] == ':' && s[0] >= '0' && s[0] <= '2' &&
	    s[1] >= '0' && s[1] <= '9' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' &&
	    s[4] <= '9') {
		int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');

		if (h < 24) {
			t->due_by_min = h * 60 + m;
			return 0;
		}
	}
	cfg_error(c, n, path, "expected a time of day HH:MM such as \"10:00\", got %s",
	          cfg_got(n, got, sizeof(got)));
	return -1;
}

static const struct cfg_field task_fields[] = {
    FLD(struct cfg_task, "every", CT_DURATION, every_s, 0, YEARS_100, CF_LO_OPEN),
    FN("due_by", get_due_by),
    CFG_END,
};

struct task_origin {
	struct cfg_origin every; /* was every: given */
	bool loud;               /* the task was first named loudly ... */
	yaml_mark_t mark;        /* ... here */
};

struct build {
	struct cfg_instrument *ins;
	size_t cap_channels, cap_corig, cap_tasks, cap_torig;
	struct chan_origins *corig; /* parallel to ins->channels */
	struct task_origin *torig;  /* parallel to ins->tasks */
};

static void add_tasks(struct cfg_ctx *c, struct build *b, yaml_node_t *n, const char *path)
{
	struct cfg_instrument *ins = b->ins;
	struct cfg_each it;

	if (cfg_each_begin(c, &it, n, path, true) <= 0)
		return;
	while (cfg_each_next(c, &it, "task")) {
		yaml_node_t *kn = it.kn;
		const char *k = it.key, *kp = it.path;
		size_t i;

		for (i = 0; i < ins->n_tasks && strcmp(ins->tasks[i].name, k) != 0; i++)
			;
		if (i == ins->n_tasks) {
			void *t = cfg_grow(c, kn, kp, ins->tasks, &b->cap_tasks, i + 1,
			                   sizeof(*ins->tasks));

			if (t == NULL)
				return;
			ins->tasks = t;
			t = cfg_grow(c, kn, kp, b->torig, &b->cap_torig, i + 1, sizeof(*b->torig));
			if (t == NULL)
				return;
			b->torig = t;
			snprintf(ins->tasks[i].name, sizeof(ins->tasks[i].name), "%s", k);
			ins->tasks[i].due_by_min = -1;
			b->torig[i].loud = c->quiet == 0;
			b->torig[i].mark = kn->start_mark;
			ins->n_tasks++;
		}
		{
			struct cfg_origin o[3] = {{0}};

			cfg_apply(c, it.vn, kp, task_fields, &ins->tasks[i], o);
			if (o[0].set)
				b->torig[i].every = o[0];
		}
	}
}

/* ---- channels of an instrument or a profile ---- */

static void add_channels(struct cfg_ctx *c, struct build *b, yaml_node_t *n, const char *path)
{
	struct cfg_instrument *ins = b->ins;
	struct cfg_each it;

	if (cfg_each_begin(c, &it, n, path, true) <= 0)
		return;
	/* "tasks" is a valid name too: the name check cannot catch it first */
	while (cfg_each_next(c, &it, "channel")) {
		yaml_node_t *kn = it.kn;
		const char *k = it.key, *kp = it.path;
		size_t i;

		if (strcmp(k, "tasks") == 0) {
			add_tasks(c, b, it.vn, kp);
			continue;
		}
		if (strcmp(k, "qc") == 0 || strcmp(k, "event") == 0) {
			cfg_error(c, kn, kp, "\"%s\" is a reserved topic level, not a channel", k);
			continue;
		}
		for (i = 0; i < ins->n_channels && strcmp(ins->channels[i].name, k) != 0; i++)
			;
		if (i == ins->n_channels) {
			void *ch = cfg_grow(c, kn, kp, ins->channels, &b->cap_channels, i + 1,
			                    sizeof(*ins->channels));

			if (ch == NULL)
				return;
			ins->channels = ch;
			ch = cfg_grow(c, kn, kp, b->corig, &b->cap_corig, i + 1, sizeof(*b->corig));
			if (ch == NULL)
				return;
			b->corig = ch;
			channel_init(&ins->channels[i], k);
			ins->n_channels++;
		}
		cfg_apply(c, it.vn, kp, channel_fields, &ins->channels[i],
		          b->corig[i].o);
	}
}

/* After every source: the checks between keys, defaults that depend on
 * the merged result. chpath: where the channels were written. */
static void build_finish(struct cfg_ctx *c, struct build *b, const char *chpath,
                         const char *taskpath)
{
	struct cfg_instrument *ins = b->ins;

	for (size_t i = 0; i < ins->n_channels; i++) {
		char kp[CFG_KEYPATH_MAX];

		cfg_keypath(kp, sizeof(kp), chpath, ins->channels[i].name);
		channel_check(c, &ins->channels[i], kp, &b->corig[i]);
	}
	for (size_t i = 0; i < ins->n_tasks; i++) {
		char kp[CFG_KEYPATH_MAX];

		if (b->torig[i].every.set || !b->torig[i].loud)
			continue;
		cfg_keypath(kp, sizeof(kp), taskpath, ins->tasks[i].name);
		cfg_error_at(c, b->torig[i].mark, kp, "a task needs every: (such as 1d)");
	}
	free(b->corig);
	free(b->torig);
}

void cfg_load_profiles(struct cfg_ctx *c, yaml_node_t *n)
{
	struct cfg_each it;
	int cnt = cfg_each_begin(c, &it, n, "profiles", true);

	if (cnt <= 0)
		return;
	c->profiles = calloc((size_t)cnt, sizeof(*c->profiles));
	if (c->profiles == NULL) {
		cfg_error(c, n, "profiles", "out of memory");
		return;
	}
	while (cfg_each_next(c, &it, NULL)) {
		struct cfg_instrument tmp;
		struct build b = {.ins = &tmp};

		memset(&tmp, 0, sizeof(tmp));
		if (!ident_ok(it.key))
			cfg_error_name(c, it.kn, it.path, "profile");
		/* Checked here once; instruments apply it again quietly. */
		add_channels(c, &b, it.vn, it.path);
		build_finish(c, &b, it.path, it.path);
		cfg_instrument_free(&tmp);
		c->profiles[c->n_profiles].name = it.key;
		c->profiles[c->n_profiles].channels = it.vn;
		c->n_profiles++;
	}
}

/* ---- instruments ---- */

static int ignore(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	(void)c, (void)n, (void)path, (void)base;
	return 0; /* read by instrument_load once the profile is known */
}

static const struct cfg_field instrument_fields[] = {
    FLD(struct cfg_instrument, "profile", CT_NAME, profile, 0, 0, 0),
    FLD(struct cfg_instrument, "location", CT_STRING, location, 0, 0, 0),
    FN("channels", ignore),
    FN("tasks", ignore),
    FN("qc", cfg_get_qc),
    CFG_END,
};

static bool split_identity(const char *key, struct cfg_instrument *ins)
{
	const char *slash = strchr(key, '/');
	size_t sl;

	if (slash == NULL)
		return false;
	sl = (size_t)(slash - key);
	if (sl >= sizeof(ins->site))
		return false;
	memcpy(ins->site, key, sl);
	ins->site[sl] = '\0';
	if (!ident_ok(ins->site) || !ident_ok(slash + 1))
		return false;
	snprintf(ins->name, sizeof(ins->name), "%s", slash + 1);
	return true;
}

static void instrument_load(struct cfg_ctx *c, struct cfg_instrument *ins, yaml_node_t *kn,
                            yaml_node_t *vn, const char *path)
{
	struct build b = {.ins = ins};
	yaml_node_t *prof_node = NULL;
	char chpath[CFG_KEYPATH_MAX], tpath[CFG_KEYPATH_MAX];

	if (!split_identity(cfg_scalar(kn), ins))
		cfg_error(c, kn, path,
		          "expected site/instrument, each of letters, digits, '.', '_' and '-' "
		          "starting with a letter or digit (at most 64)");
	if (cfg_apply(c, vn, path, instrument_fields, ins, NULL) == -1 && !cfg_is_null(vn) &&
	    vn->type != YAML_MAPPING_NODE)
		return;
	if (ins->profile[0] != '\0') {
		size_t i;

		for (i = 0; i < c->n_profiles && strcmp(c->profiles[i].name, ins->profile); i++)
			;
		if (i == c->n_profiles) {
			char pp[CFG_KEYPATH_MAX];

			cfg_keypath(pp, sizeof(pp), path, "profile");
			cfg_error(c, cfg_map_get(c, vn, "profile"), pp, "unknown profile \"%s\"",
			          ins->profile);
		} else {
			prof_node = c->profiles[i].channels;
		}
	}
	cfg_keypath(chpath, sizeof(chpath), path, "channels");
	cfg_keypath(tpath, sizeof(tpath), path, "tasks");
	c->quiet++;
	add_channels(c, &b, prof_node, "profiles");
	c->quiet--;
	add_channels(c, &b, cfg_map_get(c, vn, "channels"), chpath);
	add_tasks(c, &b, cfg_map_get(c, vn, "tasks"), tpath);
	build_finish(c, &b, chpath, tpath);
}

void cfg_load_instruments(struct cfg_ctx *c, yaml_node_t *n)
{
	struct config *cfg = c->cfg;
	struct cfg_each it;
	int cnt = cfg_each_begin(c, &it, n, "instruments", true);

	if (cnt <= 0)
		return;
	cfg->instruments = calloc((size_t)cnt, sizeof(*cfg->instruments));
	if (cfg->instruments == NULL) {
		cfg_error(c, n, "instruments", "out of memory");
		return;
	}
	while (cfg_each_next(c, &it, NULL))
		instrument_load(c, &cfg->instruments[cfg->n_instruments++], it.kn, it.vn, it.path);
}

void cfg_instrument_free(struct cfg_instrument *ins)
{
	for (size_t i = 0; i < ins->n_channels; i++)
		free(ins->channels[i].ok_codes);
	free(ins->channels);
	free(ins->tasks);
	for (size_t i = 0; i < ins->n_qc; i++)
		cfg_analyte_free(&ins->qc[i]);
	free(ins->qc);
	memset(ins, 0, sizeof(*ins));
}
