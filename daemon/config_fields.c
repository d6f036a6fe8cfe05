/*
 * config_fields.c: cfg_apply() reads a mapping through a table of fields
 * (key, type, offset, bounds), the one place that knows every key a
 * section takes; unknown and duplicate keys are errors. It uses the value
 * readers of config_values.c and the node walkers of config_yaml.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config_int.h"

static int apply_field(struct cfg_ctx *c, yaml_node_t *n, const char *path,
                       const struct cfg_field *f, void *base)
{
	char *dst = (char *)base + f->off;
	double d;
	long long ll;

	switch (f->type) {
	case CT_STRING:
		return cfg_get_string(c, n, path, dst, f->size, f->flags);
	case CT_NAME:
		return cfg_get_name(c, n, path, dst, f->size);
	case CT_NUMBER:
		if (cfg_get_number(c, n, path, &d) == -1 || cfg_in_range(c, n, path, d, f) == -1)
			return -1;
		memcpy(dst, &d, sizeof(d));
		return 0;
	case CT_DURATION:
		if (cfg_get_duration(c, n, path, &d) == -1 || cfg_in_range(c, n, path, d, f) == -1)
			return -1;
		memcpy(dst, &d, sizeof(d));
		return 0;
	case CT_PERCENT:
		if (config_parse_percent(cfg_scalar(n), &d) == -1) {
			char got[96];

			cfg_error(c, n, path, "expected a percentage such as 10%%, got %s",
			          cfg_got(n, got, sizeof(got)));
			return -1;
		}
		if (cfg_in_range(c, n, path, d, f) == -1)
			return -1;
		memcpy(dst, &d, sizeof(d));
		return 0;
	case CT_INT: {
		int iv;

		if (cfg_get_int(c, n, path, &ll) == -1 ||
		    cfg_in_range(c, n, path, (double)ll, f) == -1)
			return -1;
		iv = (int)ll;
		memcpy(dst, &iv, sizeof(iv));
		return 0;
	}
	case CT_BOOL: {
		bool b;

		if (cfg_get_bool(c, n, path, &b) == -1)
			return -1;
		memcpy(dst, &b, sizeof(b));
		return 0;
	}
	case CT_FUNC:
		return f->fn(c, n, path, base);
	}
	return -1;
}

int cfg_apply(struct cfg_ctx *c, yaml_node_t *map, const char *path, const struct cfg_field *tab,
              void *base, struct cfg_origin *origins)
{
	yaml_node_pair_t *p;
	int rc = 0;

	if (cfg_is_null(map))
		return 0;
	if (cfg_expect_map(c, map, path) == -1)
		return -1;
	if (cfg_check_keys(c, map, path) == -1)
		rc = -1;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = cfg_node(c, p->key), *vn = cfg_node(c, p->value);
		const char *key = cfg_scalar(kn);
		char kp[CFG_KEYPATH_MAX];
		size_t i;

		if (key == NULL)
			continue;
		/* A repeated key was reported by cfg_check_keys; applying it
		 * twice would append a second list to the first one's
		 * allocation (found by tests/fuzz/fuzz_config.c). */
		bool repeated = false;
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p && !repeated; q++) {
			const char *qk = cfg_scalar(cfg_node(c, q->key));
			repeated = qk != NULL && strcmp(qk, key) == 0;
		}
		if (repeated)
			continue;
		cfg_keypath(kp, sizeof(kp), path, key);
		for (i = 0; tab[i].key != NULL; i++)
			if (strcmp(tab[i].key, key) == 0)
				break;
		if (tab[i].key == NULL) {
			char list[512];
			size_t o = 0;

			list[0] = '\0';
			for (size_t j = 0; tab[j].key != NULL && o < sizeof(list); j++) {
				snprintf(list + o, sizeof(list) - o, "%s%s", j ? ", " : "",
				         tab[j].key);
				o += strlen(list + o);
			}
			cfg_error(c, kn, kp, "unknown key (expected one of: %s)", list);
			rc = -1;
			continue;
		}
		if (apply_field(c, vn, kp, &tab[i], base) == -1) {
			rc = -1;
			continue;
		}
		if (tab[i].has_off)
			*(bool *)((char *)base + tab[i].has_off - 1) = true;
		if (origins != NULL) {
			origins[i].set = true;
			origins[i].loud = c->quiet == 0;
			origins[i].mark = vn->start_mark;
		}
	}
	return rc;
}
