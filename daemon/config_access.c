/*
 * config_access.c: who may do what (issue 20): `access:` (grants to Unix
 * groups, for the control socket), `access_mqtt:` (users who sign
 * acknowledgements on the ack topic, with their key files), `mqtt_ack:`
 * and `ack_comment:`.
 *
 * A grant's `may:` names rights from config_rights[] (a typo is an
 * error, not a right nobody has); `on:` holds site/instrument globs
 * (main/fridge-0? or main/ followed by *), checked for their shape here and matched by access.c.
 * Group and user names are not looked up here: -t and reload must not
 * depend on /etc/group; the daemon resolves them when someone asks.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/config_int.h"

const char *const config_rights[] = {"ack",          "silence", "qc-action", "override",
                                     "maintenance",  "service-done", "reload", "flush",
                                     "report",       "handover", "all",    NULL};

static int get_may(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_grant *g = base;
	int rc = cfg_get_strlist(c, n, path, &g->may, &g->n_may);

	for (size_t i = 0; rc == 0 && i < g->n_may; i++) {
		size_t k = 0;

		while (config_rights[k] && strcmp(config_rights[k], g->may[i]) != 0)
			k++;
		if (config_rights[k] == NULL) {
			cfg_error(c, n, path,
			          "\"%s\" is not a right (expected ack, silence, qc-action, override, "
			          "maintenance, service-done, reload, flush, report, handover or all)",
			          g->may[i]);
			rc = -1;
		}
	}
	return rc;
}

/* A glob over "site/instrument": two levels, each an identifier or a
 * glob of identifier characters and * ? [ ]. */
static bool place_glob_ok(const char *s)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL || slash == s || slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._-/*?[]!", *s) != NULL))
			return false;
	return true;
}

static int get_on(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_grant *g = base;
	int rc = cfg_get_strlist(c, n, path, &g->on, &g->n_on);

	for (size_t i = 0; rc == 0 && i < g->n_on; i++)
		if (!place_glob_ok(g->on[i])) {
			cfg_error(c, n, path,
			          "expected SITE/INSTRUMENT globs such as \"main/*\", got \"%s\"",
			          g->on[i]);
			rc = -1;
		}
	return rc;
}

static const struct cfg_field grant_fields[] = {
    FLD(struct cfg_grant, "group", CT_STRING, who, 0, 0, CF_NONEMPTY),
    FN("may", get_may),
    FN("on", get_on),
    CFG_END,
};

static const struct cfg_field signer_fields[] = {
    FLD(struct cfg_grant, "key_file", CT_STRING, key_file, 0, 0, CF_NONEMPTY),
    FN("may", get_may),
    FN("on", get_on),
    CFG_END,
};

static void load_grants(struct cfg_ctx *c, yaml_node_t *n, struct cfg_access *a)
{
	size_t cnt;

	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, "access", "expected a list of grants ({group, may, on})");
		return;
	}
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if ((a->grants = calloc(cnt ? cnt : 1, sizeof(*a->grants))) == NULL) {
		cfg_error(c, n, "access", "out of memory");
		return;
	}
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *gn = cfg_node(c, n->data.sequence.items.start[i]);
		struct cfg_grant *g = &a->grants[a->n_grants++];
		char kp[CFG_KEYPATH_MAX];

		cfg_indexpath(kp, sizeof(kp), "access", i);
		if (cfg_expect_map(c, gn, kp) == -1 || cfg_apply(c, gn, kp, grant_fields, g, NULL) == -1)
			continue;
		if (cfg_map_get(c, gn, "group") == NULL)
			cfg_error(c, gn, kp, "group: missing (a Unix group such as lab-bench)");
		else if (!ident_ok(g->who))
			cfg_error(c, cfg_map_get(c, gn, "group"), kp, "not a group name: \"%s\"",
			          g->who);
		if (g->n_may == 0)
			cfg_error(c, gn, kp, "may: missing (such as [ack])");
	}
}

static void load_signers(struct cfg_ctx *c, yaml_node_t *n, struct cfg_access *a)
{
	struct cfg_each it;
	int cnt = cfg_each_begin(c, &it, n, "access_mqtt", true);

	if (cnt <= 0)
		return;
	if ((a->mqtt = calloc((size_t)cnt, sizeof(*a->mqtt))) == NULL) {
		cfg_error(c, n, "access_mqtt", "out of memory");
		return;
	}
	while (cfg_each_next(c, &it, "user")) {
		struct cfg_grant *g = &a->mqtt[a->n_mqtt++];

		snprintf(g->who, sizeof(g->who), "%s", it.key);
		if (cfg_expect_map(c, it.vn, it.path) == -1 ||
		    cfg_apply(c, it.vn, it.path, signer_fields, g, NULL) == -1)
			continue;
		if (g->key_file[0] == '\0')
			cfg_error(c, it.vn, it.path, "key_file: missing (the user's HMAC key, mode 0600)");
		if (g->n_may == 0) { /* default: acknowledge, everywhere */
			g->may = calloc(2, sizeof(*g->may));
			if (g->may == NULL || (g->may[0] = strdup("ack")) == NULL) {
				cfg_error(c, it.vn, it.path, "out of memory");
				continue;
			}
			g->n_may = 1;
		}
	}
}

void cfg_load_access(struct cfg_ctx *c, yaml_node_t *access, yaml_node_t *access_mqtt,
                     yaml_node_t *mqtt_ack, yaml_node_t *ack_comment)
{
	struct cfg_access *a = &c->cfg->access;
	char got[96];
	const char *s;

	if (access != NULL) {
		a->present = true; /* even empty: then only root may */
		if (!cfg_is_null(access))
			load_grants(c, access, a);
	}
	if (access_mqtt != NULL)
		load_signers(c, access_mqtt, a);
	if (mqtt_ack != NULL) {
		s = cfg_scalar(mqtt_ack);
		if (s && strcmp(s, "signed") == 0)
			a->mqtt_ack = MQTT_ACK_SIGNED;
		else if (s && strcmp(s, "off") == 0)
			a->mqtt_ack = MQTT_ACK_OFF;
		else
			cfg_error(c, mqtt_ack, "mqtt_ack", "expected signed or off, got %s",
			          cfg_got(mqtt_ack, got, sizeof(got)));
	}
	if (ack_comment != NULL) {
		s = cfg_scalar(ack_comment);
		if (s && strcmp(s, "required") == 0)
			a->ack_comment_required = true;
		else if (s && strcmp(s, "optional") == 0)
			a->ack_comment_required = false;
		else
			cfg_error(c, ack_comment, "ack_comment", "expected required or optional, got %s",
			          cfg_got(ack_comment, got, sizeof(got)));
	}
}

static void grant_free(struct cfg_grant *g)
{
	cfg_strlist_free(g->may, g->n_may);
	cfg_strlist_free(g->on, g->n_on);
}

void cfg_access_free(struct cfg_access *a)
{
	for (size_t i = 0; i < a->n_grants; i++)
		grant_free(&a->grants[i]);
	for (size_t i = 0; i < a->n_mqtt; i++)
		grant_free(&a->mqtt[i]);
	free(a->grants);
	free(a->mqtt);
	memset(a, 0, sizeof(*a));
}

static void describe_grant(const struct cfg_grant *g, const char *what, FILE *out)
{
	fprintf(out, "  %s %s may", what, g->who);
	for (size_t k = 0; k < g->n_may; k++)
		fprintf(out, "%s%s", k ? ", " : " ", g->may[k]);
	if (g->n_on == 0)
		fprintf(out, " everywhere\n");
	for (size_t k = 0; k < g->n_on; k++)
		fprintf(out, "%s%s%s", k ? ", " : " on ", g->on[k], k + 1 == g->n_on ? "\n" : "");
}

void config_access_describe(const struct config *cfg, FILE *out)
{
	const struct cfg_access *a = &cfg->access;

	if (!a->present)
		fprintf(out, "access: not set: every member of group %s (the control socket's) "
		             "may do everything\n",
		        cfg->daemon.control_group);
	else {
		fprintf(out, "access: %zu grant%s; root may always, what no grant allows is refused\n",
		        a->n_grants, a->n_grants == 1 ? "" : "s");
		for (size_t i = 0; i < a->n_grants; i++)
			describe_grant(&a->grants[i], "group", out);
	}
	if (a->mqtt_ack == MQTT_ACK_OFF)
		fprintf(out, "mqtt_ack: off: every acknowledgement on the ack topic is refused\n");
	else
		fprintf(out, "mqtt_ack: signed: %zu user%s may sign acknowledgements\n", a->n_mqtt,
		        a->n_mqtt == 1 ? "" : "s");
	for (size_t i = 0; i < a->n_mqtt; i++)
		describe_grant(&a->mqtt[i], "mqtt user", out);
}
