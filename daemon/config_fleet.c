/*
 * config_fleet.c: the `fleet:` section (issue 21): one labqcd among
 * several on a shared broker, each owning a disjoint slice of the lab
 * (its mqtt.subscribe filters).
 *
 *   fleet:
 *     name: east                       # default: mqtt.client_id
 *     peers_topic: lab/labqcd/fleet    # default: <mqtt.prefix>/labqcd/fleet
 *     url: http://east.lab.example/    # its dashboard, linked from the others'
 *
 * Every key is optional; `fleet: {}` takes every default. Without the
 * section labqcd neither announces a slice nor checks for overlaps.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/config_int.h"

static int get_peers_topic(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_fleet *f = base;

	return cfg_get_topic_levels(c, n, path, f->peers_topic, sizeof(f->peers_topic));
}

static int get_url(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	static const char *const schemes[] = {"http", "https", NULL};
	struct cfg_fleet *f = base;
	char host[256];
	int port, scheme;

	if (cfg_get_string(c, n, path, f->url, sizeof(f->url), CF_NONEMPTY) == -1)
		return -1;
	if (strpbrk(f->url, " \"'<>") != NULL) {
		cfg_error(c, n, path, "a URL holds no blank, quote or angle bracket");
		return -1;
	}
	return cfg_check_url(c, n, path, f->url, schemes, true, host, sizeof(host), &port,
	                     &scheme);
}

static const struct cfg_field fleet_fields[] = {
    FLD(struct cfg_fleet, "name", CT_NAME, name, 0, 0, 0),
    FN("peers_topic", get_peers_topic),
    FN("url", get_url),
    CFG_END,
};

void cfg_load_fleet(struct cfg_ctx *c, yaml_node_t *n)
{
	struct cfg_fleet *f = &c->cfg->fleet;

	if (n == NULL)
		return;
	f->on = true;
	if (cfg_is_null(n))
		; /* `fleet:` alone: every default */
	else if (cfg_apply(c, n, "fleet", fleet_fields, f, NULL) == -1 &&
	         n->type != YAML_MAPPING_NODE)
		return;
	if (f->peers_topic[0] == '\0')
		snprintf(f->peers_topic, sizeof(f->peers_topic), "%s/labqcd/fleet",
		         c->cfg->mqtt.prefix);
	if (f->name[0] == '\0') {
		if (ident_ok(c->cfg->mqtt.client_id)) /* at most 64 characters */
			memcpy(f->name, c->cfg->mqtt.client_id, strlen(c->cfg->mqtt.client_id) + 1);
		else
			cfg_error(c, n, "fleet.name",
			          "missing, and mqtt.client_id \"%s\" is not an identifier to "
			          "take its place",
			          c->cfg->mqtt.client_id);
	}
}
