/*
 * config_yaml.c: walking the libyaml document for the config loader.
 *
 * Errors are collected in the load context (cfg_error) with the position
 * of the node they are about, and written sorted by config.c at the end.
 * Unknown and duplicate keys are errors (cfg_check_keys). The field
 * tables are read in config_fields.c. Single-threaded, load time only.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/config_int.h"

/* ---- errors and nodes ---- */

void cfg_error_at(struct cfg_ctx *c, yaml_mark_t m, const char *path, const char *fmt, ...)
{
	char msg[768], line[1024];
	va_list ap;
	struct cfg_err *e;

	if (c->quiet > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s:%zu:%zu: %s: %s", c->file, m.line + 1, m.column + 1,
	         path[0] ? path : "(top)", msg);
	if (c->n_errs == c->cap_errs) {
		size_t cap = c->cap_errs ? c->cap_errs * 2 : 16;
		void *p = reallocarray(c->errs, cap, sizeof(*c->errs));

		if (p == NULL) {
			c->n_errs++; /* still an error, only its text is lost */
			return;
		}
		c->errs = p;
		c->cap_errs = cap;
	}
	if (c->n_errs >= c->cap_errs) {
		c->n_errs++;
		return;
	}
	e = &c->errs[c->n_errs];
	e->line = m.line;
	e->column = m.column;
	e->seq = c->n_errs;
	e->text = strdup(line);
	c->n_errs++;
}

void cfg_error(struct cfg_ctx *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	yaml_mark_t m = {0, 0, 0};

	if (c->quiet > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n != NULL)
		m = n->start_mark;
	cfg_error_at(c, m, path, "%s", msg);
}

void cfg_keypath(char *buf, size_t len, const char *parent, const char *key)
{
	int n = parent[0] == '\0' ? snprintf(buf, len, "%s", key)
	                          : snprintf(buf, len, "%s.%s", parent, key);

	if (n >= (int)len && len > 0)
		buf[len - 1] = '\0';
}

/* A long path is cut short; a message about it is still useful. */
void cfg_indexpath(char *buf, size_t len, const char *parent, size_t index)
{
	if (snprintf(buf, len, "%s[%zu]", parent, index) >= (int)len && len > 0)
		buf[len - 1] = '\0';
}

yaml_node_t *cfg_node(struct cfg_ctx *c, yaml_node_item_t id)
{
	return yaml_document_get_node(c->doc, id);
}

const char *cfg_scalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

bool cfg_is_null(const yaml_node_t *n)
{
	const char *s = cfg_scalar(n);

	if (n == NULL)
		return true;
	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* How a value that was refused looks in a message: "soon" (quoted,
 * shortened, control characters shown as '?'), a mapping, a sequence. */
const char *cfg_got(const yaml_node_t *n, char *buf, size_t len)
{
	const char *s = cfg_scalar(n);
	size_t o = 0;

	if (n == NULL || cfg_is_null(n))
		return "nothing";
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a sequence";
	if (len < 8)
		return "a value";
	buf[o++] = '"';
	for (; *s && o + 5 < len; s++)
		buf[o++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	if (*s) {
		buf[o++] = '.';
		buf[o++] = '.';
		buf[o++] = '.';
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

int cfg_expect_map(struct cfg_ctx *c, yaml_node_t *n, const char *path)
{
	char got[96];

	if (n != NULL && n->type == YAML_MAPPING_NODE)
		return 0;
	cfg_error(c, n, path, "expected a mapping, got %s", cfg_got(n, got, sizeof(got)));
	return -1;
}

/* ---- walking a mapping of named entries ---- */

void cfg_error_name(struct cfg_ctx *c, const yaml_node_t *kn, const char *path, const char *what)
{
	cfg_error(c, kn, path,
	          "bad %s name: expected letters, digits, '.', '_' and '-' starting with a "
	          "letter or digit (at most 64)",
	          what);
}

int cfg_each_begin(struct cfg_ctx *c, struct cfg_each *it, yaml_node_t *n, const char *path,
                   bool null_ok)
{
	memset(it, 0, sizeof(*it));
	it->parent = path;
	if (null_ok && cfg_is_null(n))
		return 0;
	if (cfg_expect_map(c, n, path) == -1)
		return -1;
	cfg_check_keys(c, n, path);
	it->p = n->data.mapping.pairs.start;
	it->end = n->data.mapping.pairs.top;
	return (int)(it->end - it->p);
}

bool cfg_each_next(struct cfg_ctx *c, struct cfg_each *it, const char *what)
{
	while (it->p != NULL && it->p < it->end) {
		yaml_node_pair_t *p = it->p++;

		it->kn = cfg_node(c, p->key);
		it->vn = cfg_node(c, p->value);
		if ((it->key = cfg_scalar(it->kn)) == NULL)
			continue; /* not a scalar: cfg_check_keys said so */
		cfg_keypath(it->path, sizeof(it->path), it->parent, it->key);
		if (what != NULL && !ident_ok(it->key)) {
			cfg_error_name(c, it->kn, it->path, what);
			continue;
		}
		return true;
	}
	return false;
}

struct keyref {
	const char *key;
	const yaml_node_t *node;
	size_t idx;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int r = strcmp(x->key, y->key);

	if (r != 0)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Every key of a mapping must be a scalar and appear once. Sorting the
 * keys keeps this O(n log n) for a config with 100,000 instruments. */
int cfg_check_keys(struct cfg_ctx *c, yaml_node_t *map, const char *path)
{
	size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	struct keyref *refs;
	size_t k = 0;
	int bad = 0;

	if (n == 0)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (refs == NULL) {
		cfg_error(c, map, path, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *kn = cfg_node(c, map->data.mapping.pairs.start[i].key);

		if (cfg_scalar(kn) == NULL) {
			cfg_error(c, kn, path, "keys must be plain strings");
			bad = -1;
			continue;
		}
		refs[k].key = cfg_scalar(kn);
		refs[k].node = kn;
		refs[k].idx = i;
		k++;
	}
	qsort(refs, k, sizeof(*refs), keyref_cmp);
	for (size_t i = 1; i < k; i++) {
		size_t first = i - 1;
		char kp[CFG_KEYPATH_MAX];

		if (strcmp(refs[i].key, refs[i - 1].key) != 0)
			continue;
		while (first > 0 && strcmp(refs[first - 1].key, refs[i].key) == 0)
			first--;
		cfg_keypath(kp, sizeof(kp), path, refs[i].key);
		cfg_error(c, refs[i].node, kp, "duplicate key (first at line %zu)",
		          refs[first].node->start_mark.line + 1);
		bad = -1;
	}
	free(refs);
	return bad;
}

yaml_node_t *cfg_map_get(struct cfg_ctx *c, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = cfg_scalar(cfg_node(c, p->key));

		if (k != NULL && strcmp(k, key) == 0)
			return cfg_node(c, p->value);
	}
	return NULL;
}

void *cfg_grow(struct cfg_ctx *c, const yaml_node_t *n, const char *path, void *arr, size_t *cap,
               size_t want, size_t size)
{
	size_t ncap;
	char *p;

	if (want <= *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 4;
	if (ncap < want)
		ncap = want;
	p = reallocarray(arr, ncap, size);
	if (p == NULL) {
		cfg_error(c, n, path, "out of memory");
		return NULL;
	}
	memset(p + *cap * size, 0, (ncap - *cap) * size);
	*cap = ncap;
	return p;
}
