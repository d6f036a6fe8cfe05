/*
 * config_routes.c: the `receivers`, `routes` and `heartbeat` sections.
 *
 * Receivers come first (config.c loads them before the instruments and
 * routes), so a route can check every receiver it names. Matchers are
 * fnmatch globs; a matcher without a glob character is checked against
 * what it can match (kind qc|equipment|monitor, a severity, a rule name, an
 * identity component), so a typo is an error, not a route that never
 * fires.
 */
#include <string.h>

#include "daemon/config_int.h"

#define DAY 86400.0

/* ---- receivers ---- */

static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || strchr("<>,;:\"()[]\\", *s) != NULL)
			return false;
	return true;
}

static int get_email(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_receiver *r = base;
	int rc = cfg_get_strlist(c, n, path, &r->email, &r->n_email);

	for (size_t i = 0; rc == 0 && i < r->n_email; i++)
		if (!email_ok(r->email[i])) {
			cfg_error(
			    c,
			    n->type == YAML_SEQUENCE_NODE
			        ? cfg_node(c, n->data.sequence.items.start[i])
			        : n,
			    path,
			    "expected an email address such as qc-lead@lab.example, got \"%s\"",
			    r->email[i]);
			rc = -1;
		}
	return rc;
}

static int get_webhook_url(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	static const char *const schemes[] = {"http", "https", NULL};
	struct cfg_receiver *r = base;
	char url[CFG_PATH_MAX];

	if (cfg_get_string(c, n, path, url, sizeof(url), CF_NONEMPTY) == -1 ||
	    cfg_check_url(c, n, path, url, schemes, true, NULL, 0, NULL, NULL) == -1)
		return -1;
	memcpy(r->webhook_url, url, sizeof(url));
	return 0;
}

static int get_format(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	static const char *const names[] = {[WEBHOOK_ALERTMANAGER] = "alertmanager",
	                                    [WEBHOOK_SLACK] = "slack",
	                                    [WEBHOOK_PLAIN] = "plain"};
	struct cfg_receiver *r = base;
	const char *s = cfg_scalar(n);
	char got[96];

	for (int i = 0; s != NULL && i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			r->webhook_format = (enum webhook_format)i;
			return 0;
		}
	cfg_error(c, n, path, "expected alertmanager, slack or plain, got %s",
	          cfg_got(n, got, sizeof(got)));
	return -1;
}

static const struct cfg_field webhook_fields[] = {
    FN("url", get_webhook_url),
    FN("format", get_format),
    FLD(struct cfg_receiver, "secret_file", CT_STRING, secret_file, 0, 0, 0),
    FLD(struct cfg_receiver, "timeout", CT_DURATION, timeout_s, 0, 3600, CF_LO_OPEN),
    CFG_END,
};

static int get_webhook(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_receiver *r = base;
	int rc;

	if (cfg_expect_map(c, n, path) == -1)
		return -1;
	rc = cfg_apply(c, n, path, webhook_fields, r, NULL);
	if (cfg_map_get(c, n, "url") == NULL) {
		cfg_error(c, n, path, "url: missing (such as https://chat.example/hook)");
		rc = -1;
	}
	r->has_webhook = true;
	return rc;
}

static const struct cfg_field receiver_fields[] = {
    FN("email", get_email),
    FN("webhook", get_webhook),
    CFG_END,
};

void cfg_load_receivers(struct cfg_ctx *c, yaml_node_t *n)
{
	struct config *cfg = c->cfg;
	size_t cnt;

	if (cfg_is_null(n) || cfg_expect_map(c, n, "receivers") == -1)
		return;
	cfg_check_keys(c, n, "receivers");
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	cfg->receivers = calloc(cnt ? cnt : 1, sizeof(*cfg->receivers));
	if (cfg->receivers == NULL) {
		cfg_error(c, n, "receivers", "out of memory");
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = cfg_node(c, p->key), *vn = cfg_node(c, p->value);
		struct cfg_receiver *r = &cfg->receivers[cfg->n_receivers];
		char kp[CFG_KEYPATH_MAX];

		if (cfg_scalar(kn) == NULL)
			continue;
		cfg_keypath(kp, sizeof(kp), "receivers", cfg_scalar(kn));
		cfg->n_receivers++;
		r->timeout_s = 10;
		if (cfg_get_name(c, kn, kp, r->name, sizeof(r->name)) == -1)
			continue;
		if (cfg_apply(c, vn, kp, receiver_fields, r, NULL) == -1)
			continue;
		if (r->n_email == 0 && !r->has_webhook)
			cfg_error(c, vn, kp, "a receiver needs email: or webhook:");
		if (r->n_email > 0 && cfg->smtp.url[0] == '\0')
			cfg_error(c, cfg_map_get(c, vn, "email"), kp,
			          "email needs smtp.url (such as smtp://127.0.0.1:25)");
	}
}

void cfg_receiver_free(struct cfg_receiver *r)
{
	cfg_strlist_free(r->email, r->n_email);
	memset(r, 0, sizeof(*r));
}

/* ---- routes ---- */

/* A list of receiver names that must all exist. */
static int get_receivers(struct cfg_ctx *c, yaml_node_t *n, const char *path, char ***list,
                         size_t *count)
{
	const struct config *cfg = c->cfg;

	if (cfg_get_strlist(c, n, path, list, count) == -1)
		return -1;
	for (size_t i = 0; i < *count; i++) {
		size_t j;

		for (j = 0; j < cfg->n_receivers && strcmp(cfg->receivers[j].name, (*list)[i]); j++)
			;
		if (j == cfg->n_receivers)
			cfg_error(c,
			          n->type == YAML_SEQUENCE_NODE
			              ? cfg_node(c, n->data.sequence.items.start[i])
			              : n,
			          path, "unknown receiver \"%s\"", (*list)[i]);
	}
	return 0;
}

static int get_route_receivers(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_route *r = base;

	return get_receivers(c, n, path, &r->receivers, &r->n_receivers);
}

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* A matcher: a glob, or one of `words`, or (words NULL) an identity component. */
static int get_matcher(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *dst, size_t size,
                       const char *const *words, const char *expect)
{
	char buf[CFG_NAME_MAX];
	bool ok;

	if (cfg_get_string(c, n, path, buf, sizeof(buf) < size ? sizeof(buf) : size, 0) == -1)
		return -1;
	ok = buf[0] == '\0' || is_glob(buf);
	for (size_t i = 0; !ok && words != NULL && words[i] != NULL; i++)
		ok = strcmp(buf, words[i]) == 0;
	if (!ok && words == NULL)
		ok = ident_ok(buf);
	if (!ok) {
		cfg_error(c, n, path, "expected %s (or a glob such as *), got \"%s\"", expect, buf);
		return -1;
	}
	memcpy(dst, buf, strlen(buf) + 1);
	return 0;
}

#define MATCHER(fn, member, words, expect)                                                         \
	static int fn(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)             \
	{                                                                                          \
		struct cfg_match *m = base;                                                        \
		return get_matcher(c, n, path, m->member, sizeof(m->member), words, expect);       \
	}

static const char *const kinds[] = {"qc", "equipment", "monitor", NULL};
static const char *const rules[] = {"range",    "stale", "rate",   "drift", "service",
                                    "calendar", "task",  "status", "qc",    "pbrtqc",
                                    "broker",   NULL};

MATCHER(get_match_kind, kind, kinds, "qc, equipment or monitor")
MATCHER(get_match_severity, severity, severity_words(), "info, warning or critical")
MATCHER(get_match_site, site, NULL, "a site name")
MATCHER(get_match_instrument, instrument, NULL, "an instrument name")
MATCHER(get_match_channel, channel, NULL, "a channel, analyte or task name")
MATCHER(get_match_rule, rule, rules,
        "range, stale, rate, drift, service, calendar, task, status, qc, pbrtqc or broker")

static const struct cfg_field match_fields[] = {
    FN("kind", get_match_kind),
    FN("severity", get_match_severity),
    FN("site", get_match_site),
    FN("instrument", get_match_instrument),
    FN("channel", get_match_channel),
    FN("rule", get_match_rule),
    CFG_END,
};

static int get_match(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_route *r = base;

	return cfg_apply(c, n, path, match_fields, &r->match, NULL);
}

static int day_bit(const char *s)
{
	static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

	for (int i = 0; i < 7; i++)
		if (strcmp(s, days[i]) == 0)
			return i;
	return -1;
}

/* days: [mon, tue] or [mon-fri]; a range may wrap (fri-mon). */
static int get_days(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_route *r = base;
	char **days = NULL;
	size_t nd = 0;
	unsigned mask = 0;
	int rc = 0;

	if (cfg_get_strlist(c, n, path, &days, &nd) == -1) {
		cfg_strlist_free(days, nd);
		return -1;
	}
	for (size_t i = 0; i < nd; i++) {
		char *dash = strchr(days[i], '-');
		int a, b;

		if (dash != NULL)
			*dash = '\0';
		a = day_bit(days[i]);
		b = dash != NULL ? day_bit(dash + 1) : a;
		if (dash != NULL)
			*dash = '-';
		if (a < 0 || b < 0) {
			cfg_error(c, n, path,
			          "expected days mon tue wed thu fri sat sun (or mon-fri), "
			          "got \"%s\"",
			          days[i]);
			rc = -1;
			continue;
		}
		for (int d = a;; d = (d + 1) % 7) {
			mask |= 1u << d;
			if (d == b)
				break;
		}
	}
	if (rc == 0 && mask == 0) {
		cfg_error(c, n, path, "expected at least one day");
		rc = -1;
	}
	cfg_strlist_free(days, nd);
	r->active_days = mask;
	return rc;
}

static int hhmm(const char *s, bool end_ok)
{
	int h, m;

	if (!(s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' &&
	      s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9'))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h < 24 || (end_ok && h == 24 && m == 0))
		return h * 60 + m;
	return -1;
}

/* hours: "07:00-19:00"; "19:00-07:00" runs past midnight. */
static int get_hours(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_route *r = base;
	const char *s = cfg_scalar(n);
	char got[96];
	int from, to;

	if (s == NULL || strlen(s) != 11 || s[5] != '-' || (from = hhmm(s, false)) < 0 ||
	    (to = hhmm(s + 6, true)) < 0 || from == to) {
		cfg_error(c, n, path, "expected a range of times such as \"07:00-19:00\", got %s",
		          cfg_got(n, got, sizeof(got)));
		return -1;
	}
	r->active_from_min = from;
	r->active_to_min = to;
	return 0;
}

static const struct cfg_field active_fields[] = {
    FN("days", get_days),
    FN("hours", get_hours),
    CFG_END,
};

static int get_active(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_route *r = base;

	if (cfg_expect_map(c, n, path) == -1)
		return -1;
	r->has_active = true;
	r->active_days = 0x7f;
	return cfg_apply(c, n, path, active_fields, r, NULL);
}

static int get_esc_receivers(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_escalation *e = base;

	return get_receivers(c, n, path, &e->receivers, &e->n_receivers);
}

static const struct cfg_field escalation_fields[] = {
    FLD(struct cfg_escalation, "after", CT_DURATION, after_s, 0, 30 * DAY, CF_LO_OPEN),
    FN("receivers", get_esc_receivers),
    CFG_END,
};

static int get_escalate(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_route *r = base;
	size_t cnt;
	char got[96];

	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, path, "expected a list of {after, receivers}, got %s",
		          cfg_got(n, got, sizeof(got)));
		return -1;
	}
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	r->escalate = calloc(cnt ? cnt : 1, sizeof(*r->escalate));
	if (r->escalate == NULL) {
		cfg_error(c, n, path, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *en = cfg_node(c, n->data.sequence.items.start[i]);
		struct cfg_escalation *e = &r->escalate[r->n_escalate++];
		char kp[CFG_KEYPATH_MAX];

		cfg_indexpath(kp, sizeof(kp), path, i);
		if (cfg_apply(c, en, kp, escalation_fields, e, NULL) == -1)
			continue;
		if (cfg_map_get(c, en, "after") == NULL || e->n_receivers == 0)
			cfg_error(c, en, kp, "an escalation step needs after: and receivers:");
		if (i > 0 && e->after_s <= r->escalate[i - 1].after_s)
			cfg_error(c, en, kp, "after: must grow from one step to the next");
	}
	return 0;
}

static const struct cfg_field route_fields[] = {
    FN("match", get_match),
    FN("receivers", get_route_receivers),
    FLD(struct cfg_route, "group_wait", CT_DURATION, group_wait_s, 0, DAY, 0),
    FLD(struct cfg_route, "repeat", CT_DURATION, repeat_s, 0, 365 * DAY, 0),
    FLD(struct cfg_route, "continue", CT_BOOL, cont, 0, 0, 0),
    FN("active", get_active),
    FN("escalate", get_escalate),
    CFG_END,
};

void cfg_load_routes(struct cfg_ctx *c, yaml_node_t *n)
{
	struct config *cfg = c->cfg;
	size_t cnt;
	char got[96];

	if (cfg_is_null(n))
		return;
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, "routes", "expected a list of routes (- match: ...), got %s",
		          cfg_got(n, got, sizeof(got)));
		return;
	}
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	cfg->routes = calloc(cnt ? cnt : 1, sizeof(*cfg->routes));
	if (cfg->routes == NULL) {
		cfg_error(c, n, "routes", "out of memory");
		return;
	}
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *rn = cfg_node(c, n->data.sequence.items.start[i]);
		struct cfg_route *r = &cfg->routes[cfg->n_routes++];
		char kp[CFG_KEYPATH_MAX];

		cfg_indexpath(kp, sizeof(kp), "routes", i);
		r->group_wait_s = 10;
		r->repeat_s = 4 * 3600;
		if (cfg_apply(c, rn, kp, route_fields, r, NULL) == -1 &&
		    rn->type != YAML_MAPPING_NODE)
			continue;
		if (cfg_map_get(c, rn, "receivers") == NULL)
			cfg_error(c, rn, kp, "receivers: missing (use [] to drop what matches)");
	}
}

void cfg_route_free(struct cfg_route *r)
{
	cfg_strlist_free(r->receivers, r->n_receivers);
	for (size_t i = 0; i < r->n_escalate; i++)
		cfg_strlist_free(r->escalate[i].receivers, r->escalate[i].n_receivers);
	free(r->escalate);
	memset(r, 0, sizeof(*r));
}

/* ---- heartbeat ---- */

static int get_heartbeat_receiver(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_heartbeat *h = base;
	const struct config *cfg = c->cfg;

	if (cfg_get_string(c, n, path, h->receiver, sizeof(h->receiver), CF_NONEMPTY) == -1)
		return -1;
	for (size_t j = 0; j < cfg->n_receivers; j++)
		if (strcmp(cfg->receivers[j].name, h->receiver) == 0)
			return 0;
	cfg_error(c, n, path, "unknown receiver \"%s\"", h->receiver);
	return -1;
}

static const struct cfg_field heartbeat_fields[] = {
    FN("receiver", get_heartbeat_receiver),
    FLD(struct cfg_heartbeat, "every", CT_DURATION, every_s, 1, DAY, 0),
    CFG_END,
};

/* Loaded after the receivers, so the name can be checked. */
void cfg_load_heartbeat(struct cfg_ctx *c, yaml_node_t *n)
{
	struct cfg_heartbeat *h = &c->cfg->heartbeat;

	h->every_s = 60;
	if (cfg_is_null(n))
		return;
	if (cfg_apply(c, n, "heartbeat", heartbeat_fields, h, NULL) == -1 &&
	    n->type != YAML_MAPPING_NODE)
		return;
	if (cfg_map_get(c, n, "receiver") == NULL)
		cfg_error(c, n, "heartbeat", "receiver: missing (a name from receivers:)");
	h->on = true;
}
