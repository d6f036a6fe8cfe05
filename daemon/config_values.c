/*
 * config_values.c: the typed readers of config values (strings, names,
 * numbers, durations, percentages, booleans, URLs, lists) and the value
 * parsers that labqcctl and the rules wiring share (config_parse_*).
 * Numbers go through strtod/strtoll with end-pointer and range checks;
 * a refused value is reported at its node and the reader returns -1.
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

/* ---- value readers ---- */

int cfg_get_string(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *dst, size_t size,
                   unsigned flags)
{
	char got[96];
	const char *s = cfg_scalar(n);
	size_t len;

	if (s == NULL) {
		cfg_error(c, n, path, "expected a string, got %s", cfg_got(n, got, sizeof(got)));
		return -1;
	}
	if (cfg_is_null(n))
		s = "";
	len = strlen(s);
	if (len == 0 && (flags & CF_NONEMPTY)) {
		cfg_error(c, n, path, "must not be empty");
		return -1;
	}
	if (len >= size) {
		cfg_error(c, n, path, "too long (at most %zu characters), got %s", size - 1,
		          cfg_got(n, got, sizeof(got)));
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			cfg_error(c, n, path, "contains a control character");
			return -1;
		}
	memcpy(dst, s, len + 1);
	return 0;
}

int cfg_get_name(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *dst, size_t size)
{
	char got[96];
	const char *s = cfg_scalar(n);

	if (s == NULL || !ident_ok(s) || strlen(s) >= size) {
		cfg_error(c, n, path,
		          "expected a name of letters, digits, '.', '_' and '-' starting with a "
		          "letter or digit (at most 64), got %s",
		          cfg_got(n, got, sizeof(got)));
		return -1;
	}
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

int cfg_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || s[0] == '\0' || isspace((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int cfg_get_number(struct cfg_ctx *c, yaml_node_t *n, const char *path, double *out)
{
	char got[96];

	if (cfg_parse_double(cfg_scalar(n), out) == -1) {
		cfg_error(c, n, path, "expected a number, got %s", cfg_got(n, got, sizeof(got)));
		return -1;
	}
	return 0;
}

int config_parse_duration(const char *s, double *seconds)
{
	static const struct {
		char unit;
		double mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
	char num[64];
	size_t len;
	double v, mult = 1;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, s, len + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (num[len - 1] == units[i].unit) {
			mult = units[i].mult;
			num[--len] = '\0';
			break;
		}
	if (cfg_parse_double(num, &v) == -1 || v < 0 || !isfinite(v * mult))
		return -1;
	*seconds = v * mult;
	return 0;
}

int cfg_get_duration(struct cfg_ctx *c, yaml_node_t *n, const char *path, double *out)
{
	char got[96];
	const char *s = cfg_scalar(n);
	double v;

	if (s != NULL && s[0] == '-' && config_parse_duration(s + 1, &v) == 0) {
		cfg_error(c, n, path, "a duration must not be negative, got %s",
		          cfg_got(n, got, sizeof(got)));
		return -1;
	}
	if (config_parse_duration(s, out) == -1) {
		cfg_error(c, n, path, "expected a duration such as 90s or 15m, got %s",
		          cfg_got(n, got, sizeof(got)));
		return -1;
	}
	return 0;
}

int config_parse_percent(const char *s, double *pct)
{
	char num[64];
	size_t len;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, s, len + 1);
	if (num[len - 1] == '%')
		num[--len] = '\0';
	return cfg_parse_double(num, pct);
}

int cfg_get_int(struct cfg_ctx *c, yaml_node_t *n, const char *path, long long *out)
{
	char got[96], *end;
	const char *s = cfg_scalar(n);

	if (s == NULL || s[0] == '\0' || isspace((unsigned char)s[0]))
		goto bad;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno == ERANGE)
		goto bad;
	return 0;
bad:
	cfg_error(c, n, path, "expected a whole number, got %s", cfg_got(n, got, sizeof(got)));
	return -1;
}

int cfg_get_bool(struct cfg_ctx *c, yaml_node_t *n, const char *path, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no",
	                                                                       "off"};
	char got[96];
	const char *s = cfg_scalar(n);

	for (size_t i = 0; s != NULL && i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	cfg_error(c, n, path, "expected true or false, got %s", cfg_got(n, got, sizeof(got)));
	return -1;
}

int cfg_in_range(struct cfg_ctx *c, yaml_node_t *n, const char *path, double v,
                 const struct cfg_field *f)
{
	char got[96];
	bool lo_open = f->flags & CF_LO_OPEN;

	if ((lo_open ? v > f->lo : v >= f->lo) && v <= f->hi)
		return 0;
	cfg_got(n, got, sizeof(got));
	if (isinf(f->hi) && f->lo == 0 && !lo_open)
		cfg_error(c, n, path, "must not be negative, got %s", got);
	else if (isinf(f->hi))
		cfg_error(c, n, path, "must be %s %g, got %s",
		          lo_open ? "greater than" : "at least", f->lo, got);
	else if (lo_open)
		cfg_error(c, n, path, "must be greater than %g and at most %g, got %s", f->lo,
		          f->hi, got);
	else
		cfg_error(c, n, path, "must be from %g to %g, got %s", f->lo, f->hi, got);
	return -1;
}

int cfg_get_strlist(struct cfg_ctx *c, yaml_node_t *n, const char *path, char ***list,
                    size_t *count)
{
	yaml_node_item_t *it;
	char **v = NULL;
	size_t k = 0;
	int rc = 0;

	cfg_strlist_free(*list, *count);
	*list = NULL;
	*count = 0;
	if (cfg_is_null(n))
		return 0;
	if (n->type == YAML_SCALAR_NODE) {
		char buf[CFG_PATH_MAX];

		if (cfg_get_string(c, n, path, buf, sizeof(buf), CF_NONEMPTY) == -1)
			return -1;
		if ((v = calloc(1, sizeof(*v))) == NULL || (v[0] = strdup(buf)) == NULL) {
			free(v);
			cfg_error(c, n, path, "out of memory");
			return -1;
		}
		*list = v;
		*count = 1;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, path, "expected a list of strings, got a mapping");
		return -1;
	}
	v = calloc((size_t)(n->data.sequence.items.top - n->data.sequence.items.start) + 1,
	           sizeof(*v));
	if (v == NULL) {
		cfg_error(c, n, path, "out of memory");
		return -1;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		char buf[CFG_PATH_MAX], kp[CFG_KEYPATH_MAX];

		cfg_indexpath(kp, sizeof(kp), path, (size_t)(it - n->data.sequence.items.start));
		if (cfg_get_string(c, cfg_node(c, *it), kp, buf, sizeof(buf), CF_NONEMPTY) == -1) {
			rc = -1;
			continue;
		}
		if ((v[k] = strdup(buf)) == NULL) {
			cfg_error(c, n, path, "out of memory");
			rc = -1;
			break;
		}
		k++;
	}
	*list = v;
	*count = k;
	return rc;
}

void cfg_strlist_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/*
 * scheme://host[:port][/path]. Credentials in the URL are refused: they
 * belong in password_file, not in a file that is often world-readable.
 */
int cfg_check_url(struct cfg_ctx *c, yaml_node_t *n, const char *path, const char *s,
                  const char *const *schemes, bool path_ok, char *host, size_t hostlen, int *port,
                  int *scheme)
{
	char got[96], expect[128] = "";
	const char *p = NULL, *h, *he;
	int which = -1;
	size_t el = 0;

	for (int i = 0; schemes[i]; i++) {
		size_t sl = strlen(schemes[i]);

		snprintf(expect + el, sizeof(expect) - el, "%s%s://", i ? " or " : "", schemes[i]);
		el = strlen(expect);
		if (p == NULL && strncmp(s, schemes[i], sl) == 0 &&
		    strncmp(s + sl, "://", 3) == 0) {
			p = s + sl + 3;
			which = i;
		}
	}
	cfg_got(n, got, sizeof(got));
	if (p == NULL) {
		cfg_error(c, n, path, "expected a URL starting with %s, got %s", expect, got);
		return -1;
	}
	h = p;
	if (*h == '[') {
		he = strchr(h, ']');
		if (he == NULL)
			goto bad_host;
		h++;
		p = he + 1;
	} else {
		he = h + strcspn(h, ":/");
		p = he;
	}
	if (he == h)
		goto bad_host;
	for (const char *q = h; q < he; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f || *q == '@') {
			if (*q == '@') {
				cfg_error(c, n, path,
				          "user names and passwords do not belong in the URL "
				          "(use username and password_file), got %s",
				          got);
				return -1;
			}
			goto bad_host;
		}
	if (host != NULL) {
		if ((size_t)(he - h) >= hostlen)
			goto bad_host;
		memcpy(host, h, (size_t)(he - h));
		host[he - h] = '\0';
	}
	if (port != NULL)
		*port = 0;
	if (*p == ':') {
		char *end;
		long v;

		errno = 0;
		v = strtol(p + 1, &end, 10);
		if (end == p + 1 || !isdigit((unsigned char)p[1]) || errno || v < 1 || v > 65535 ||
		    (*end != '\0' && *end != '/')) {
			cfg_error(c, n, path, "expected a port from 1 to 65535 in the URL, got %s",
			          got);
			return -1;
		}
		if (port != NULL)
			*port = (int)v;
		p = end;
	}
	if (*p != '\0' && !(*p == '/' && (path_ok || p[1] == '\0'))) {
		cfg_error(c, n, path, "expected scheme://host[:port], got %s", got);
		return -1;
	}
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			cfg_error(c, n, path, "spaces or control characters in the URL %s", got);
			return -1;
		}
	if (scheme != NULL)
		*scheme = which;
	return 0;
bad_host:
	cfg_error(c, n, path, "expected a host name or address after %s://, got %s", schemes[which],
	          got);
	return -1;
}

/* ---- shared names ---- */

const char *config_rule_name(enum rule_id id)
{
	static const char *const names[RULE_COUNT] = {
	    [RULE_RANGE] = "range", [RULE_STALE] = "stale",     [RULE_RATE] = "rate",
	    [RULE_DRIFT] = "drift", [RULE_SERVICE] = "service", [RULE_CALENDAR] = "calendar",
	    [RULE_TASK] = "task",   [RULE_STATUS] = "status",   [RULE_QC] = "qc"};

	if ((int)id < 0 || id >= RULE_COUNT)
		return NULL;
	return names[id];
}

const char *config_qc_rule_canonical(const char *s)
{
	int r = westgard_rule_parse(s);

	return r < 0 ? NULL : westgard_rule_name((enum westgard_rule)r);
}

/* Topic levels of identifiers separated by '/' (no wildcard, no empty
 * level) into out; shared by mqtt.prefix and fleet.peers_topic. */
int cfg_get_topic_levels(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *out,
                         size_t outlen)
{
	char buf[CFG_TEXT_MAX], got[96];
	char *save = NULL, *tok;
	bool ok = true;

	if (outlen > sizeof(buf))
		outlen = sizeof(buf);
	if (cfg_get_string(c, n, path, buf, outlen, CF_NONEMPTY) == -1)
		return -1;
	memcpy(out, buf, outlen);
	if (buf[0] == '/' || buf[strlen(buf) - 1] == '/' || strstr(buf, "//") != NULL)
		ok = false;
	for (tok = strtok_r(buf, "/", &save); ok && tok; tok = strtok_r(NULL, "/", &save))
		ok = ident_ok(tok);
	if (!ok) {
		cfg_error(c, n, path,
		          "expected topic levels of letters, digits, '.', '_' and '-' separated "
		          "by '/' (no wildcards), got %s",
		          cfg_got(n, got, sizeof(got)));
		return -1;
	}
	return 0;
}
