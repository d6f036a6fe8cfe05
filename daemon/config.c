/*
 * config.c: load labqcd.yaml (DESIGN section 3) into a struct config.
 *
 * config_load() reads the whole file with libyaml's document API, then
 * walks the tree section by section into a fresh struct config: daemon,
 * mqtt and smtp here, profiles and instruments in config_instruments.c
 * (their qc: in config_qc.c), receivers and routes in config_routes.c;
 * config_yaml.c walks nodes and tables, config_values.c reads values.
 * Every value goes through a reader that checks its type and range and,
 * when it is wrong, records
 * "file:line:column: key.path: message" at the node's position and lets
 * the walk go on, so one run reports every error. The errors are written
 * sorted by position; if there was any, the half-built config is freed
 * and NULL returned. Single-threaded; the result is plain data owned by
 * the caller (config_free).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "daemon/config_int.h"
#include "daemon/rrdaddr.h"

/* ---- daemon, mqtt, smtp ---- */

static int get_log_level(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	struct cfg_daemon *d = base;
	const char *s = cfg_scalar(n);
	char got[96];

	for (int i = 0; s != NULL && i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			d->log_level = (enum log_level)i;
			return 0;
		}
	cfg_error(c, n, path, "expected error, warning, info or debug, got %s",
	          cfg_got(n, got, sizeof(got)));
	return -1;
}

static int get_mqtt_url(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	static const char *const schemes[] = {"mqtt", "mqtts", NULL};
	struct cfg_mqtt *m = base;
	char url[CFG_PATH_MAX], host[sizeof(m->host)];
	int port, scheme;

	if (cfg_get_string(c, n, path, url, sizeof(url), CF_NONEMPTY) == -1 ||
	    cfg_check_url(c, n, path, url, schemes, false, host, sizeof(host), &port, &scheme) ==
	        -1)
		return -1;
	memcpy(m->url, url, sizeof(url));
	memcpy(m->host, host, sizeof(host));
	m->tls = scheme == 1;
	m->port = port ? port : m->tls ? 8883 : 1883;
	return 0;
}

/* rrdcached's address as librrd reads it (daemon/rrdaddr.h); the error
 * points at the character that is wrong, not at the value's start. */
static int get_rrdcached(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_daemon *d = base;
	char buf[sizeof(d->rrdcached)], why[160];
	size_t col;
	yaml_mark_t m;

	if (cfg_get_string(c, n, path, buf, sizeof(buf), 0) == -1)
		return -1;
	if (rrdaddr_check(buf, why, sizeof(why), &col) == -1) {
		m = n->start_mark;
		/* a quoted value starts one column after its quote */
		m.column += col + (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? 0 : 1);
		cfg_error_at(c, m, path, "%s, got \"%s\"", why, buf);
		return -1;
	}
	memcpy(d->rrdcached, buf, sizeof(buf));
	return 0;
}

/* A topic prefix: one or more '/'-separated identity components. */
static int get_prefix(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_mqtt *m = base;

	return cfg_get_topic_levels(c, n, path, m->prefix, sizeof(m->prefix));
}

static bool topic_filter_ok(const char *f)
{
	for (const char *lvl = f; lvl != NULL;) {
		const char *end = strchr(lvl, '/');
		size_t len = end ? (size_t)(end - lvl) : strlen(lvl);

		for (size_t i = 0; i < len; i++)
			if ((lvl[i] == '+' || lvl[i] == '#') && len != 1)
				return false;
		if (len == 1 && lvl[0] == '#' && end != NULL)
			return false;
		lvl = end ? end + 1 : NULL;
	}
	return true;
}

static int get_subscribe(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	struct cfg_mqtt *m = base;
	int rc = cfg_get_strlist(c, n, path, &m->subscribe, &m->n_subscribe);

	for (size_t i = 0; rc == 0 && i < m->n_subscribe; i++)
		if (!topic_filter_ok(m->subscribe[i])) {
			cfg_error(c, n, path,
			          "\"%s\" is not an MQTT topic filter ('+' and '#' stand for whole "
			          "levels, '#' only last)",
			          m->subscribe[i]);
			rc = -1;
		}
	return rc;
}

static int get_smtp_url(struct cfg_ctx *c, yaml_node_t *n, const char *path, void *base)
{
	static const char *const schemes[] = {"smtp", "smtps", NULL};
	struct cfg_smtp *s = base;
	char url[CFG_PATH_MAX];

	if (cfg_get_string(c, n, path, url, sizeof(url), 0) == -1)
		return -1;
	if (url[0] != '\0' &&
	    cfg_check_url(c, n, path, url, schemes, true, NULL, 0, NULL, NULL) == -1)
		return -1;
	memcpy(s->url, url, sizeof(url));
	return 0;
}

#define DAY 86400.0

static const struct cfg_field daemon_fields[] = {
    FLD(struct cfg_daemon, "state_dir", CT_STRING, state_dir, 0, 0, CF_NONEMPTY),
    FLD(struct cfg_daemon, "rrd_dir", CT_STRING, rrd_dir, 0, 0, CF_NONEMPTY),
    FLD(struct cfg_daemon, "www_dir", CT_STRING, www_dir, 0, 0, CF_NONEMPTY),
    FLD(struct cfg_daemon, "control_socket", CT_STRING, control_socket, 0, 0, CF_NONEMPTY),
    FN("log_level", get_log_level),
    FN("rrdcached", get_rrdcached),
    FLD(struct cfg_daemon, "user", CT_STRING, user, 0, 0, 0),
    FLDH(struct cfg_daemon, "control_group", CT_STRING, control_group, 0, 0, CF_NONEMPTY,
         control_group_set),
    FLD(struct cfg_daemon, "dashboard_interval", CT_DURATION, dashboard_interval_s, 0, DAY,
        CF_LO_OPEN),
    FLD(struct cfg_daemon, "flush_interval", CT_DURATION, flush_interval_s, 0, DAY, CF_LO_OPEN),
    FLD(struct cfg_daemon, "state_interval", CT_DURATION, state_interval_s, 0, DAY, CF_LO_OPEN),
    FLD(struct cfg_daemon, "rrd_heartbeat", CT_DURATION, rrd_heartbeat_s, 0, 30 * DAY, CF_LO_OPEN),
    FLD(struct cfg_daemon, "notify_retry", CT_DURATION, notify_retry_s, 0, DAY, CF_LO_OPEN),
    FLD(struct cfg_daemon, "notify_retry_max", CT_DURATION, notify_retry_max_s, 0, 7 * DAY,
        CF_LO_OPEN),
    CFG_END,
};

static const struct cfg_field mqtt_fields[] = {
    FN("url", get_mqtt_url),
    FLD(struct cfg_mqtt, "client_id", CT_STRING, client_id, 0, 0, CF_NONEMPTY),
    FLD(struct cfg_mqtt, "username", CT_STRING, username, 0, 0, 0),
    FLD(struct cfg_mqtt, "password_file", CT_STRING, password_file, 0, 0, 0),
    FLD(struct cfg_mqtt, "ca_file", CT_STRING, ca_file, 0, 0, 0),
    FLD(struct cfg_mqtt, "cert_file", CT_STRING, cert_file, 0, 0, 0),
    FLD(struct cfg_mqtt, "key_file", CT_STRING, key_file, 0, 0, 0),
    FLD(struct cfg_mqtt, "qos", CT_INT, qos, 0, 2, 0),
    FLD(struct cfg_mqtt, "clean_session", CT_BOOL, clean_session, 0, 0, 0),
    FLD(struct cfg_mqtt, "keepalive", CT_INT, keepalive_s, 5, 65535, 0),
    FN("prefix", get_prefix),
    FN("subscribe", get_subscribe),
    FLD(struct cfg_mqtt, "lost_after", CT_DURATION, lost_after_s, 0, DAY, CF_LO_OPEN),
    CFG_END,
};

static const struct cfg_field smtp_fields[] = {
    FN("url", get_smtp_url),
    FLD(struct cfg_smtp, "from", CT_STRING, from, 0, 0, CF_NONEMPTY),
    FLD(struct cfg_smtp, "username", CT_STRING, username, 0, 0, 0),
    FLD(struct cfg_smtp, "password_file", CT_STRING, password_file, 0, 0, 0),
    FLD(struct cfg_smtp, "ca_file", CT_STRING, ca_file, 0, 0, 0),
    FLD(struct cfg_smtp, "starttls", CT_BOOL, starttls, 0, 0, 0),
    FLD(struct cfg_smtp, "timeout", CT_DURATION, timeout_s, 0, 3600, CF_LO_OPEN),
    CFG_END,
};

static void defaults(struct config *cfg)
{
	struct cfg_daemon *d = &cfg->daemon;
	struct cfg_mqtt *m = &cfg->mqtt;
	struct cfg_smtp *s = &cfg->smtp;

	snprintf(d->state_dir, sizeof(d->state_dir), "var/lib");
	snprintf(d->rrd_dir, sizeof(d->rrd_dir), "var/rrd");
	snprintf(d->www_dir, sizeof(d->www_dir), "var/www");
	snprintf(d->control_socket, sizeof(d->control_socket), "var/run/labqcd.sock");
	snprintf(d->control_group, sizeof(d->control_group), "labqcd");
	d->log_level = LOG_LVL_INFO;
	d->dashboard_interval_s = 60;
	d->flush_interval_s = 60;
	d->state_interval_s = 60;
	d->rrd_heartbeat_s = 600;
	d->notify_retry_s = 30;
	d->notify_retry_max_s = 3600;

	config_rrd_defaults(&cfg->rrd);

	snprintf(m->url, sizeof(m->url), "mqtt://127.0.0.1:1883");
	snprintf(m->host, sizeof(m->host), "127.0.0.1");
	m->port = 1883;
	snprintf(m->client_id, sizeof(m->client_id), "labqcd");
	m->qos = 1;
	m->keepalive_s = 60;
	snprintf(m->prefix, sizeof(m->prefix), "lab");
	m->lost_after_s = 120;

	snprintf(s->from, sizeof(s->from), "labqcd@localhost");
	s->timeout_s = 30;
	cfg_reports_defaults(&cfg->reports);
	cfg->access.ack_comment_required = true;
}

static void load_daemon(struct cfg_ctx *c, yaml_node_t *n)
{
	struct cfg_daemon *d = &c->cfg->daemon;
	struct sockaddr_un sun;

	cfg_apply(c, n, "daemon", daemon_fields, d, NULL);
	if (strlen(d->control_socket) >= sizeof(sun.sun_path))
		cfg_error(c, cfg_map_get(c, n, "control_socket"), "daemon.control_socket",
		          "too long for a unix socket (at most %zu characters)",
		          sizeof(sun.sun_path) - 1);
	if (d->user[0] != '\0' && !ident_ok(d->user))
		cfg_error(c, cfg_map_get(c, n, "user"), "daemon.user", "not a user name: \"%s\"",
		          d->user);
	if (!ident_ok(d->control_group))
		cfg_error(c, cfg_map_get(c, n, "control_group"), "daemon.control_group",
		          "not a group name: \"%s\"", d->control_group);
}

static void load_mqtt(struct cfg_ctx *c, yaml_node_t *n)
{
	struct cfg_mqtt *m = &c->cfg->mqtt;

	cfg_apply(c, n, "mqtt", mqtt_fields, m, NULL);
	if ((m->cert_file[0] == '\0') != (m->key_file[0] == '\0'))
		cfg_error(c, n, "mqtt", "cert_file and key_file go together");
	if (m->n_subscribe == 0) {
		char def[CFG_NAME_MAX + 3];

		cfg_strlist_free(m->subscribe, 0);
		snprintf(def, sizeof(def), "%s/#", m->prefix);
		m->subscribe = calloc(1, sizeof(*m->subscribe));
		if (m->subscribe == NULL || (m->subscribe[0] = strdup(def)) == NULL) {
			cfg_error(c, n, "mqtt.subscribe", "out of memory");
			return;
		}
		m->n_subscribe = 1;
	}
}

/* ---- the whole file ---- */

static int err_cmp(const void *a, const void *b)
{
	const struct cfg_err *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void syntax_error(struct cfg_ctx *c, yaml_parser_t *p)
{
	yaml_mark_t m = p->problem_mark;

	if (p->error == YAML_READER_ERROR) {
		cfg_error_at(c, m, "yaml", "%s at byte %zu",
		             p->problem ? p->problem : "cannot read", p->problem_offset);
		return;
	}
	if (p->context != NULL)
		cfg_error_at(c, m, "yaml", "syntax error: %s (%s at line %zu column %zu)",
		             p->problem ? p->problem : "?", p->context, p->context_mark.line + 1,
		             p->context_mark.column + 1);
	else
		cfg_error_at(c, m, "yaml", "syntax error: %s", p->problem ? p->problem : "?");
}

static void load_root(struct cfg_ctx *c, yaml_node_t *root)
{
	static const char *const sections[] = {
	    "daemon",    "mqtt",   "smtp",        "profiles", "receivers",   "instruments", "routes",
	    "reports",   "heartbeat", "access",   "access_mqtt", "mqtt_ack", "ack_comment", "rrd",
	    "fleet",     NULL};
	yaml_node_t *sec[15] = {NULL};
	yaml_node_pair_t *p;

	if (cfg_is_null(root))
		root = NULL; /* an empty file: every default */
	else if (cfg_expect_map(c, root, "") == -1)
		return;
	else
		cfg_check_keys(c, root, "");
	for (p = root ? root->data.mapping.pairs.start : NULL;
	     root != NULL && p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = cfg_node(c, p->key);
		const char *k = cfg_scalar(kn);
		int i;

		if (k == NULL)
			continue;
		for (i = 0; sections[i] && strcmp(sections[i], k) != 0; i++)
			;
		if (sections[i] == NULL)
			cfg_error(c, kn, k,
			          "unknown key (expected one of: daemon, mqtt, smtp, profiles, "
			          "instruments, receivers, routes, reports, heartbeat, access, "
			          "access_mqtt, mqtt_ack, ack_comment, rrd, fleet)");
		else if (sec[i] == NULL)
			sec[i] = cfg_node(c, p->value);
	}
	load_daemon(c, sec[0]);
	c->cfg->rrd.heartbeat_s = (long)c->cfg->daemon.rrd_heartbeat_s;
	cfg_load_rrd(c, sec[13], sec[0] != NULL && sec[0]->type == YAML_MAPPING_NODE &&
	                            cfg_map_get(c, sec[0], "rrd_heartbeat") != NULL);
	c->cfg->daemon.rrd_heartbeat_s = (double)c->cfg->rrd.heartbeat_s;
	load_mqtt(c, sec[1]);
	cfg_load_fleet(c, sec[14]);
	cfg_apply(c, sec[2], "smtp", smtp_fields, &c->cfg->smtp, NULL);
	cfg_load_profiles(c, sec[3]);
	cfg_load_receivers(c, sec[4]);
	cfg_load_instruments(c, sec[5]);
	cfg_load_routes(c, sec[6]);
	cfg_load_reports(c, sec[7]);
	cfg_load_heartbeat(c, sec[8]);
	cfg_load_access(c, sec[9], sec[10], sec[11], sec[12]);
}

static void parse_file(struct cfg_ctx *c, FILE *f)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;

	if (!yaml_parser_initialize(&parser)) {
		cfg_error_at(c, (yaml_mark_t){0, 0, 0}, "yaml", "cannot initialise the parser");
		return;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(c, &parser);
		yaml_parser_delete(&parser);
		return;
	}
	c->doc = &doc;
	load_root(c, yaml_document_get_root_node(&doc));
	if (!yaml_parser_load(&parser, &extra)) {
		syntax_error(c, &parser);
	} else {
		yaml_node_t *r = yaml_document_get_root_node(&extra);

		if (r != NULL)
			cfg_error_at(c, r->start_mark, "yaml",
			             "a second YAML document; labqcd.yaml holds one");
		yaml_document_delete(&extra);
	}
	c->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}

struct config *config_load(const char *path, FILE *errs)
{
	struct cfg_ctx ctx = {.file = path};
	struct config *cfg;
	struct stat st;
	FILE *f = fopen(path, "r");

	if (f != NULL && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		f = NULL;
		errno = EISDIR;
	}
	if (f == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		fclose(f);
		if (errs != NULL)
			fprintf(errs, "%s: out of memory\n", path);
		return NULL;
	}
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	defaults(cfg);
	ctx.cfg = cfg;
	parse_file(&ctx, f);
	fclose(f);
	free(ctx.profiles);

	if (ctx.n_errs > 0) {
		size_t stored = ctx.n_errs < ctx.cap_errs ? ctx.n_errs : ctx.cap_errs;

		qsort(ctx.errs, stored, sizeof(*ctx.errs), err_cmp);
		for (size_t i = 0; i < stored; i++) {
			if (errs != NULL && ctx.errs[i].text != NULL)
				fprintf(errs, "%s\n", ctx.errs[i].text);
			free(ctx.errs[i].text);
		}
		if (errs != NULL)
			fflush(errs);
		free(ctx.errs);
		config_free(cfg);
		return NULL;
	}
	free(ctx.errs);
	return cfg;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	cfg_strlist_free(cfg->mqtt.subscribe, cfg->mqtt.n_subscribe);
	for (size_t i = 0; i < cfg->n_instruments; i++)
		cfg_instrument_free(&cfg->instruments[i]);
	free(cfg->instruments);
	for (size_t i = 0; i < cfg->n_receivers; i++)
		cfg_receiver_free(&cfg->receivers[i]);
	free(cfg->receivers);
	for (size_t i = 0; i < cfg->n_routes; i++)
		cfg_route_free(&cfg->routes[i]);
	free(cfg->routes);
	cfg_reports_free(&cfg->reports);
	cfg_access_free(&cfg->access);
	free(cfg);
}

/* ---- lookups ---- */

const struct cfg_instrument *config_instrument(const struct config *cfg, const char *site,
                                               const char *instrument)
{
	for (size_t i = 0; i < cfg->n_instruments; i++)
		if (strcmp(cfg->instruments[i].site, site) == 0 &&
		    strcmp(cfg->instruments[i].name, instrument) == 0)
			return &cfg->instruments[i];
	return NULL;
}

const struct cfg_channel *config_channel(const struct cfg_instrument *ins, const char *channel)
{
	for (size_t i = 0; i < ins->n_channels; i++)
		if (strcmp(ins->channels[i].name, channel) == 0)
			return &ins->channels[i];
	return NULL;
}

const struct cfg_qc_analyte *config_analyte(const struct cfg_instrument *ins, const char *analyte)
{
	for (size_t i = 0; i < ins->n_qc; i++)
		if (strcmp(ins->qc[i].name, analyte) == 0)
			return &ins->qc[i];
	return NULL;
}
