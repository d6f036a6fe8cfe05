/*
 * alert_chart.c: an alert's own chart for its email; see alert_chart.h
 * for the two halves and their threads.
 *
 * Capture forms (the alert's `chart` field):
 *   {"graph":1,"rrd":"<file>","instrument":..,"channel":..,"unit":..,
 *    "min":..,"max":..,"warning_min":..,"warning_max":..,"at":T,"value":V
 *    [,"rrdcached":".."]}                 a channel; absent limits: none
 *   {"lj":"<state_dir>/charts/<name>.json"} a QC analyte; the file holds
 *    {"instrument","analyte","now","levels":[{"name","mean","sd",
 *     "results":[[t,value,z,"status","run","lot","rules"],...],
 *     "changes":[[t,"lot"|"target","label"],...]},...]}
 *    with the level that made the verdict first.
 * Anything else is a PNG path (what earlier versions stored), which the
 * notifier attaches as a file.
 *
 * The graph's time axis: 4 hours ending at the email's time, held
 * between 5 minutes and 1 hour after the alert, so a first email shows
 * the hours up to the alert and a repeat still shows the alert.
 */
#include "daemon/alert_chart.h"
#include "dashboards/dashboards.h"
#include "daemon/fsutil.h"
#include "daemon/log.h"
#include "daemon/rrdaddr.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GRAPH_SPAN_S (4 * 3600.0)
#define GRAPH_AFTER_MIN_S 300.0
#define GRAPH_AFTER_MAX_S 3600.0
#define PRUNE_EVERY_S 3600.0

/* ---- capture (main thread) ---- */

static void add_finite(cJSON *o, const char *name, bool has, double v)
{
	if (has && isfinite(v))
		cJSON_AddNumberToObject(o, name, v);
}

/* A file name from identity components: anything else becomes '_'. */
static void name_part(char *out, size_t len, const char *s)
{
	size_t i = 0;

	for (; *s && i + 1 < len; s++)
		out[i++] = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
				   (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'
			       ? *s
			       : '_';
	out[i] = '\0';
}

static int capture_graph(struct labqcd *d, const struct cond_key *k, const struct condition *c,
			 double t, cJSON *o)
{
	char rel[CFG_NAME_MAX * 3 + 4], path[CFG_PATH_MAX];
	const struct cfg_instrument *ci = config_instrument(d->cfg, k->site, k->instrument);
	const struct cfg_channel *cc = ci ? config_channel(ci, k->channel) : NULL;

	snprintf(rel, sizeof(rel), "%s/%s/%s", k->site, k->instrument, k->channel);
	if (d->store ? store_path(d->store, rel, path, sizeof(path)) == -1
		     : snprintf(path, sizeof(path), "%s/%s.rrd", d->cfg->daemon.rrd_dir, rel) >=
			       (int)sizeof(path))
		return -1;
	/* Over TCP the graph names the file below rrd_dir (daemon/rrdaddr.h). */
	if (rrdaddr_mode(d->cfg->daemon.rrdcached) == RRDADDR_REMOTE)
		snprintf(path, sizeof(path), "%s.rrd", rel);
	cJSON_AddNumberToObject(o, "graph", 1);
	cJSON_AddStringToObject(o, "rrd", path);
	if (d->cfg->daemon.rrdcached[0])
		cJSON_AddStringToObject(o, "rrdcached", d->cfg->daemon.rrdcached);
	cJSON_AddStringToObject(o, "instrument", k->instrument);
	cJSON_AddStringToObject(o, "channel", k->channel);
	cJSON_AddStringToObject(o, "unit", cc ? cc->unit : "");
	if (cc) {
		add_finite(o, "min", cc->has_min, cc->min);
		add_finite(o, "max", cc->has_max, cc->max);
		add_finite(o, "warning_min", cc->has_warning_min, cc->warning_min);
		add_finite(o, "warning_max", cc->has_warning_max, cc->warning_max);
	}
	cJSON_AddNumberToObject(o, "at", t);
	add_finite(o, "value", true, c->value);
	return 0;
}

/* Old QC captures go, at most once an hour (QC transitions only). */
static void prune(const char *dir, double now)
{
	static double last;
	DIR *dp;
	struct dirent *de;
	char path[CFG_PATH_MAX + 300];
	struct stat st;

	if (now - last < PRUNE_EVERY_S)
		return;
	last = now;
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && (double)st.st_mtime < now - ALERT_CHART_KEEP_S &&
		    unlink(path) == -1)
			log_warn("alert chart: removing %s", path);
	}
	closedir(dp);
}

static cJSON *level_json(const struct dash_qc_level *l)
{
	cJSON *o = cJSON_CreateObject(), *rs, *cs;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "name", l->name);
	add_finite(o, "mean", true, l->mean);
	add_finite(o, "sd", true, l->sd);
	rs = cJSON_AddArrayToObject(o, "results");
	for (size_t i = 0; rs && i < l->n_results; i++) {
		const struct dash_qc_result *r = &l->results[i];
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(rs, a);
		cJSON_AddItemToArray(a, cJSON_CreateNumber(r->t));
		cJSON_AddItemToArray(a, cJSON_CreateNumber(r->value));
		cJSON_AddItemToArray(a, isfinite(r->z) ? cJSON_CreateNumber(r->z) : cJSON_CreateNull());
		cJSON_AddItemToArray(a, cJSON_CreateString(dash_qc_status_name(r->status)));
		cJSON_AddItemToArray(a, cJSON_CreateString(r->run));
		cJSON_AddItemToArray(a, cJSON_CreateString(r->lot));
		cJSON_AddItemToArray(a, cJSON_CreateString(r->rules));
	}
	cs = cJSON_AddArrayToObject(o, "changes");
	for (size_t i = 0; cs && i < l->n_changes; i++) {
		const struct dash_change *ch = &l->changes[i];
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(cs, a);
		cJSON_AddItemToArray(a, cJSON_CreateNumber(ch->t));
		cJSON_AddItemToArray(a, cJSON_CreateString(ch->kind == DASH_CHANGE_LOT ? "lot"
										   : "target"));
		cJSON_AddItemToArray(a, cJSON_CreateString(ch->label));
	}
	return o;
}

/* The level qc.c names in the dashboard path it gives: ".../<level>.png". */
static void chart_level(const char *png_path, char *out, size_t len)
{
	const char *slash = strrchr(png_path, '/'), *base = slash ? slash + 1 : png_path;
	size_t n = strlen(base);

	if (n > 4 && strcmp(base + n - 4, ".png") == 0)
		n -= 4;
	snprintf(out, len, "%.*s", (int)n, base);
}

static int capture_lj(struct labqcd *d, const struct cond_key *k, double t, cJSON *o)
{
	static unsigned long counter;
	struct dash_snapshot *s = dash_snapshot_new(t);
	struct dash_instrument *di;
	const struct dash_qc_analyte *a = NULL;
	char dir[CFG_PATH_MAX + 16], path[CFG_PATH_MAX + 420], site[CFG_NAME_MAX],
		ins[CFG_NAME_MAX], an[CFG_NAME_MAX], first[CFG_NAME_MAX];
	cJSON *f = NULL, *levels;
	char *text = NULL;
	int fd, rc = -1;

	if (k->snapshot == NULL || s == NULL ||
	    (di = dash_snap_add_instrument(s, k->site, k->instrument, "", DASH_OK)) == NULL)
		goto out;
	k->snapshot(d, k->site, k->instrument, di, 0);
	for (size_t i = 0; i < di->n_analytes; i++)
		if (strcmp(di->analytes[i].name, k->channel) == 0)
			a = &di->analytes[i];
	if (a == NULL || a->n_levels == 0) {
		errno = ENOENT;
		goto out;
	}
	chart_level(k->chart, first, sizeof(first));
	if ((f = cJSON_CreateObject()) == NULL)
		goto out;
	cJSON_AddStringToObject(f, "instrument", k->instrument);
	cJSON_AddStringToObject(f, "analyte", k->channel);
	cJSON_AddNumberToObject(f, "now", t);
	levels = cJSON_AddArrayToObject(f, "levels");
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; levels && i < a->n_levels; i++)
			if ((strcmp(a->levels[i].name, first) == 0) == (pass == 0))
				cJSON_AddItemToArray(levels, level_json(&a->levels[i]));
	if ((text = cJSON_PrintUnformatted(f)) == NULL)
		goto out;

	snprintf(dir, sizeof(dir), "%s/charts", d->cfg->daemon.state_dir);
	if (fs_mkdir_p(dir, 0750) == -1)
		goto out;
	name_part(site, sizeof(site), k->site);
	name_part(ins, sizeof(ins), k->instrument);
	name_part(an, sizeof(an), k->channel);
	snprintf(path, sizeof(path), "%s/%s+%s+%s-%013.0f-%lu.json", dir, site, ins, an,
		 floor(t * 1000), counter++);
	/* No fsync: lost in a power cut, the email says its chart is
	 * missing; a notification is never held for it. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) == -1)
		goto out;
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	if (close(fd) == -1 || w != (ssize_t)len) {
		unlink(path);
		errno = errno ? errno : EIO;
		goto out;
	}
	cJSON_AddStringToObject(o, "lj", path);
	prune(dir, t);
	rc = 0;
out:
	free(text);
	cJSON_Delete(f);
	dash_snapshot_free(s);
	return rc;
}

int alert_chart_capture(struct labqcd *d, const struct cond_key *k, const struct condition *c,
			double t, char *spec, size_t len)
{
	cJSON *o;
	char *text = NULL;
	int rc = -1;

	/* A calendar "channel" (calibration) has no series to draw. */
	if (k->kind == ALERT_EQUIPMENT && strcmp(k->rule, "calendar") == 0) {
		spec[0] = '\0';
		return 0;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		goto out;
	if ((k->kind == ALERT_QC ? capture_lj(d, k, t, o) : capture_graph(d, k, c, t, o)) == -1)
		goto out;
	if ((text = cJSON_PrintUnformatted(o)) == NULL)
		goto out;
	if (strlen(text) >= len) {
		errno = ENAMETOOLONG;
		goto out;
	}
	snprintf(spec, len, "%s", text);
	rc = 0;
out:
	if (rc == -1) {
		log_warn("alert chart: capturing %s/%s/%s/%s", k->site, k->instrument, k->channel,
			 k->rule);
		snprintf(spec, len, "%s", k->chart ? k->chart : "");
	}
	free(text);
	cJSON_Delete(o);
	return rc;
}

/* ---- drawing (the notifier) ---- */

static double num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int draw_graph(const cJSON *o, double now, double deadline, struct notify_png *out,
		      char *why, size_t whylen)
{
	struct dash_alert_graph g = {
		.rrd_path = str(o, "rrd"),
		.rrdcached = str(o, "rrdcached"),
		.instrument = str(o, "instrument"),
		.channel = str(o, "channel"),
		.unit = str(o, "unit"),
		.min = num(o, "min"),
		.max = num(o, "max"),
		.warning_min = num(o, "warning_min"),
		.warning_max = num(o, "warning_max"),
		.at = num(o, "at"),
		.value = num(o, "value"),
	};
	char ins[CFG_NAME_MAX], ch[CFG_NAME_MAX];
	int rc;

	if (g.rrd_path[0] == '\0' || !isfinite(g.at)) {
		snprintf(why, whylen, "the alert's chart data is incomplete");
		return -1;
	}
	g.end = fmin(fmax(now, g.at + GRAPH_AFTER_MIN_S), g.at + GRAPH_AFTER_MAX_S);
	g.start = g.end - GRAPH_SPAN_S;
	rc = dash_alert_graph_png(&g, deadline, &out->data, &out->len, why, whylen);
	if (rc != 0)
		return rc;
	name_part(ins, sizeof(ins), g.instrument);
	name_part(ch, sizeof(ch), g.channel);
	snprintf(out->name, sizeof(out->name), "%s-%s.png", ins, ch);
	return 1;
}

static enum dash_qc_status status_of(const char *name)
{
	for (int st = DASH_QC_NONE; st <= DASH_QC_BASELINE; st++)
		if (strcmp(dash_qc_status_name((enum dash_qc_status)st), name) == 0)
			return (enum dash_qc_status)st;
	return DASH_QC_NONE;
}

static const char *item_str(const cJSON *a, int i)
{
	const cJSON *v = cJSON_GetArrayItem(a, i);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double item_num(const cJSON *a, int i)
{
	const cJSON *v = cJSON_GetArrayItem(a, i);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The captured history back into the dashboard's structures. */
static struct dash_snapshot *lj_load(const cJSON *f, struct dash_instrument **in,
				     struct dash_qc_analyte **an)
{
	struct dash_snapshot *s = dash_snapshot_new(num(f, "now"));
	const cJSON *lv, *it;

	if (s == NULL ||
	    (*in = dash_snap_add_instrument(s, "", str(f, "instrument"), "", DASH_OK)) == NULL ||
	    (*an = dash_snap_add_analyte(*in, str(f, "analyte"), DASH_QC_NONE)) == NULL) {
		dash_snapshot_free(s);
		return NULL;
	}
	cJSON_ArrayForEach(lv, cJSON_GetObjectItemCaseSensitive(f, "levels"))
	{
		struct dash_qc_level *l =
			dash_snap_add_level(*an, str(lv, "name"), num(lv, "mean"), num(lv, "sd"));
		if (l == NULL)
			break;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(lv, "results"))
		dash_snap_add_result(l, item_num(it, 0), item_num(it, 1), item_num(it, 2),
				     status_of(item_str(it, 3)), item_str(it, 4), item_str(it, 5),
				     item_str(it, 6));
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(lv, "changes"))
		dash_snap_add_change(l, item_num(it, 0),
				     strcmp(item_str(it, 1), "lot") == 0 ? DASH_CHANGE_LOT
									 : DASH_CHANGE_TARGET,
				     item_str(it, 2));
	}
	return s;
}

static int draw_lj(const char *path, struct notify_png *out, size_t max, char *why,
		   size_t whylen)
{
	char *text = NULL;
	size_t len, n = 0;
	cJSON *f = NULL;
	struct dash_snapshot *s = NULL;
	struct dash_instrument *in;
	struct dash_qc_analyte *a;
	char ins[CFG_NAME_MAX], an[CFG_NAME_MAX], lv[CFG_NAME_MAX];
	int rc = -1;

	if (fs_read_all(path, &text, &len) == -1) {
		snprintf(why, whylen, "its QC history (%s): %s", path, strerror(errno));
		return -1;
	}
	if ((f = cJSON_Parse(text)) == NULL || !isfinite(num(f, "now")) ||
	    (s = lj_load(f, &in, &a)) == NULL) {
		snprintf(why, whylen, "its QC history (%s) is unreadable", path);
		goto out;
	}
	name_part(ins, sizeof(ins), in->name);
	name_part(an, sizeof(an), a->name);
	for (size_t i = 0; i < a->n_levels && n < max; i++) {
		if (dash_lj_png(in, a, &a->levels[i], s->generated_at, &out[n].data, &out[n].len,
				why, whylen) == -1) {
			while (n > 0)
				free(out[--n].data);
			goto out;
		}
		name_part(lv, sizeof(lv), a->levels[i].name);
		snprintf(out[n].name, sizeof(out[n].name), "%s-%s-%s-lj.png", ins, an, lv);
		n++;
	}
	rc = (int)n;
out:
	dash_snapshot_free(s);
	cJSON_Delete(f);
	free(text);
	return rc;
}

int alert_chart_draw(const char *spec, double now, double deadline, struct notify_png *out,
		     size_t max, char *why, size_t whylen)
{
	cJSON *o = cJSON_Parse(spec);
	int rc = -1;

	snprintf(why, whylen, "the alert's chart data is unreadable");
	if (max == 0 || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return max == 0 ? 0 : -1;
	}
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "lj")))
		rc = draw_lj(str(o, "lj"), out, max, why, whylen);
	else if (cJSON_GetObjectItemCaseSensitive(o, "graph"))
		rc = draw_graph(o, now, deadline, out, why, whylen);
	cJSON_Delete(o);
	return rc;
}
