/*
 * config_int.h: what the parts of the config loader share (config.c,
 * config_yaml.c, config_values.c, config_instruments.c, config_qc.c,
 * config_routes.c); nothing outside daemon/config*.c includes it.
 *
 * The loader walks a libyaml document. Every reader takes the node, the
 * key path for messages ("instruments.main/fridge-02.channels.temp") and
 * a destination; on a bad value it records one error at the node's mark
 * and returns -1, and the caller carries on so that every error in the
 * file is reported. Errors are collected and written sorted by position.
 */
#ifndef LABQCD_CONFIG_INT_H
#define LABQCD_CONFIG_INT_H

#include <yaml.h>

#include "collectors/collectors.h" /* ident_ok: the identifier grammar */
#include "daemon/config.h"

#define CFG_KEYPATH_MAX 512

struct cfg_err {
	size_t line, column, seq;
	char *text;
};

struct cfg_profile {
	const char *name;
	yaml_node_t *channels; /* a mapping of channel name -> channel rules */
};

struct cfg_ctx {
	const char *file;
	yaml_document_t *doc;
	struct config *cfg;
	int quiet; /* > 0: values are applied again (a profile), errors not reported */
	struct cfg_err *errs;
	size_t n_errs, cap_errs;
	struct cfg_profile *profiles;
	size_t n_profiles;
};

/* Where a field got its value: checks that involve two fields (min > max)
 * report at the later one and only if it was applied loudly. */
struct cfg_origin {
	bool set;
	bool loud;
	yaml_mark_t mark;
};

enum cfg_type {
	CT_STRING,   /* char[size]; control characters refused */
	CT_NAME,     /* identity component, [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
	CT_NUMBER,   /* double within lo..hi */
	CT_INT,      /* int within lo..hi */
	CT_BOOL,     /* bool */
	CT_DURATION, /* double seconds within lo..hi */
	CT_PERCENT,  /* double percent within lo..hi */
	CT_FUNC,     /* fn does it */
};

#define CF_NONEMPTY 0x1 /* CT_STRING: "" refused */
#define CF_LO_OPEN 0x2  /* lo itself is out of range */

struct cfg_field {
	const char *key;
	enum cfg_type type;
	size_t off;
	size_t size; /* CT_STRING, CT_NAME: size of the array */
	double lo, hi;
	unsigned flags;
	size_t has_off; /* offset of a bool set when the key is present, + 1; 0 = none */
	int (*fn)(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base);
};

#define FLD(st, k, t, member, lo, hi, fl)                                                          \
	{                                                                                          \
		k, t, offsetof(st, member), sizeof(((st *)0)->member), lo, hi, fl, 0, NULL         \
	}
#define FN(k, f)                                                                                   \
	{                                                                                          \
		k, CT_FUNC, 0, 0, 0, 0, 0, 0, f                                                    \
	}
#define FLDH(st, k, t, member, lo, hi, fl, has)                                                    \
	{                                                                                          \
		k, t, offsetof(st, member), sizeof(((st *)0)->member), lo, hi, fl,                 \
		    offsetof(st, has) + 1, NULL                                                    \
	}
#define CFG_END                                                                                    \
	{                                                                                          \
		NULL, CT_FUNC, 0, 0, 0, 0, 0, 0, NULL                                              \
	}

/* config_yaml.c */
void cfg_error(struct cfg_ctx *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cfg_error_at(struct cfg_ctx *c, yaml_mark_t m, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cfg_keypath(char *buf, size_t len, const char *parent, const char *key);
void cfg_indexpath(char *buf, size_t len, const char *parent, size_t index);
const char *cfg_got(const yaml_node_t *n, char *buf, size_t len);
const char *cfg_scalar(const yaml_node_t *n);
bool cfg_is_null(const yaml_node_t *n);
yaml_node_t *cfg_node(struct cfg_ctx *c, yaml_node_item_t id);
int cfg_expect_map(struct cfg_ctx *c, yaml_node_t *n, const char *path);
int cfg_check_keys(struct cfg_ctx *c, yaml_node_t *map, const char *path);

/* Walking a mapping of named entries (profiles, channels, tasks, analytes,
 * levels, receivers): cfg_each_begin checks that n is a mapping without
 * repeated keys (a null node is an empty one when null_ok) and returns
 * how many entries it has, or -1; cfg_each_next moves to the next entry
 * with a scalar key, its key path in it->path. With `what` ("task"), a key
 * that is not an identifier is an error naming it, and is skipped. */
struct cfg_each {
	yaml_node_pair_t *p, *end;
	const char *parent;
	yaml_node_t *kn, *vn;
	const char *key;
	char path[CFG_KEYPATH_MAX];
};
int cfg_each_begin(struct cfg_ctx *c, struct cfg_each *it, yaml_node_t *n, const char *path,
                   bool null_ok);
bool cfg_each_next(struct cfg_ctx *c, struct cfg_each *it, const char *what);
/* The error for a key that is not an identifier: "bad <what> name: ..." */
void cfg_error_name(struct cfg_ctx *c, const yaml_node_t *kn, const char *path, const char *what);
yaml_node_t *cfg_map_get(struct cfg_ctx *c, yaml_node_t *map, const char *key);
int cfg_apply(struct cfg_ctx *c, yaml_node_t *map, const char *path, const struct cfg_field *tab,
              void *base, struct cfg_origin *origins);

/* config_values.c */
int cfg_get_string(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *dst, size_t size,
                   unsigned flags);
int cfg_get_name(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *dst, size_t size);
/* Topic levels of identifiers separated by '/' (mqtt.prefix,
 * fleet.peers_topic) into out (at most outlen, CFG_TEXT_MAX). */
int cfg_get_topic_levels(struct cfg_ctx *c, yaml_node_t *n, const char *path, char *out,
                         size_t outlen);
int cfg_parse_double(const char *s, double *out);
int cfg_get_number(struct cfg_ctx *c, yaml_node_t *n, const char *path, double *out);
int cfg_get_duration(struct cfg_ctx *c, yaml_node_t *n, const char *path, double *out);
int cfg_get_int(struct cfg_ctx *c, yaml_node_t *n, const char *path, long long *out);
int cfg_get_bool(struct cfg_ctx *c, yaml_node_t *n, const char *path, bool *out);
int cfg_in_range(struct cfg_ctx *c, yaml_node_t *n, const char *path, double v,
                 const struct cfg_field *f);
int cfg_get_strlist(struct cfg_ctx *c, yaml_node_t *n, const char *path, char ***list,
                    size_t *count);
void cfg_strlist_free(char **list, size_t n);
int cfg_check_url(struct cfg_ctx *c, yaml_node_t *n, const char *path, const char *s,
                  const char *const *schemes, bool path_ok, char *host, size_t hostlen, int *port,
                  int *scheme);
void *cfg_grow(struct cfg_ctx *c, const yaml_node_t *n, const char *path, void *arr, size_t *cap,
               size_t want, size_t size);

/* config_instruments.c */
void cfg_load_profiles(struct cfg_ctx *c, yaml_node_t *n);
void cfg_load_instruments(struct cfg_ctx *c, yaml_node_t *n);
void cfg_instrument_free(struct cfg_instrument *ins);

/* config_qc.c */
int cfg_get_qc(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base);
void cfg_analyte_free(struct cfg_qc_analyte *a);

/* config_access.c */
void cfg_load_access(struct cfg_ctx *c, yaml_node_t *access, yaml_node_t *access_mqtt,
                     yaml_node_t *mqtt_ack, yaml_node_t *ack_comment);
void cfg_access_free(struct cfg_access *a);
/* config_pbrtqc.c: an analyte's pbrtqc: (a CT_FUNC of config_qc.c's table) */
int cfg_get_pbrtqc(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base);
/* config_rrd.c */
void cfg_load_rrd(struct cfg_ctx *c, yaml_node_t *n, bool daemon_heartbeat_set);

/* config_fleet.c: fleet: (after mqtt:, whose client_id and prefix give
 * its defaults) */
void cfg_load_fleet(struct cfg_ctx *c, yaml_node_t *n);

/* config_routes.c */
void cfg_load_receivers(struct cfg_ctx *c, yaml_node_t *n);
void cfg_load_routes(struct cfg_ctx *c, yaml_node_t *n);
void cfg_load_heartbeat(struct cfg_ctx *c, yaml_node_t *n);
void cfg_receiver_free(struct cfg_receiver *r);
void cfg_route_free(struct cfg_route *r);

/* config_reports.c */
void cfg_reports_defaults(struct cfg_reports *r);
void cfg_load_reports(struct cfg_ctx *c, yaml_node_t *n);
void cfg_reports_free(struct cfg_reports *r);

#endif
