/*
 * equipment.c: telemetry and events through the equipment rules.
 *
 * One struct equip_channel per <site>/<instrument>/<channel> seen or
 * configured, holding the state of every rule its config names (range,
 * stale, rate, drift, service counter, status, calendar) and the rules'
 * parameters built from the config (rebuilt on reload, state kept). One
 * struct equip_instrument per instrument: planned maintenance, task
 * states and the recent events the dashboard shows.
 *
 * Samples and events are evaluated as they come (dispatch.c); the
 * time-driven rules (stale, pending range delays, calendar, tasks) run
 * from equipment_tick() on the daemon's clock. Every condition goes to
 * conditions_report(), which makes the transitions and suppresses the
 * equipment ones while the instrument is in maintenance.
 */
#include "labqcd.h"
#include "dashboards.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>

#define EVENTS_KEPT 20

struct equip_channel {
	char key[ID_MAX * 3 + 3];
	char site[ID_MAX], instrument[ID_MAX], channel[ID_MAX];
	const struct cfg_channel *cfg; /* NULL: auto-discovered, no rules */
	bool has_range, has_stale, has_rate, has_drift, has_service, has_status, has_calendar;
	struct range_params range_p;
	struct stale_params stale_p;
	struct rate_params rate_p;
	struct drift_params drift_p;
	struct service_params service_p;
	struct status_params status_p;
	struct calendar_params calendar_p;
	struct range_state range;
	struct stale_state stale;
	struct rate_state rate;
	struct drift_state drift;
	struct service_state service;
	struct status_state status;
	struct calendar_state calendar;
	double last_value, last_t;
	UT_hash_handle hh;
};

struct equip_task {
	const struct cfg_task *cfg;
	struct task_params p;
	struct task_state st;
};

struct equip_event {
	double t;
	char text[256];
};

struct equip_instrument {
	char key[ID_MAX * 2 + 2];
	char site[ID_MAX], instrument[ID_MAX];
	bool maintenance;
	double maintenance_since;
	struct equip_task *tasks;
	size_t n_tasks;
	cJSON *saved_tasks; /* task states read from the state file, by name */
	struct equip_event events[EVENTS_KEPT];
	size_t n_events, next_event;
	UT_hash_handle hh;
};

static double tz_offset(double t)
{
	time_t s = isfinite(t) ? (time_t)t : 0;
	struct tm tm;

	if (!isfinite(t) || localtime_r(&s, &tm) == NULL)
		return 0;
	return (double)tm.tm_gmtoff;
}

static void set_params(struct equip_channel *c, const struct cfg_channel *cc)
{
	c->cfg = cc;
	c->has_range = c->has_stale = c->has_rate = c->has_drift = false;
	c->has_service = c->has_status = c->has_calendar = false;
	if (cc == NULL)
		return;
	c->has_range = cc->has_min || cc->has_max || cc->has_warning_min || cc->has_warning_max;
	c->range_p = (struct range_params){.has_min = cc->has_min,
					   .has_max = cc->has_max,
					   .has_warning_min = cc->has_warning_min,
					   .has_warning_max = cc->has_warning_max,
					   .min = cc->min,
					   .max = cc->max,
					   .warning_min = cc->warning_min,
					   .warning_max = cc->warning_max,
					   .hysteresis = cc->hysteresis,
					   .delay_s = cc->delay_s,
					   .severity = cc->severity[RULE_RANGE]};
	c->has_stale = cc->stale_s > 0;
	c->stale_p = (struct stale_params){.stale_s = cc->stale_s,
					   .severity = cc->severity[RULE_STALE]};
	c->has_rate = cc->has_rate;
	c->rate_p = (struct rate_params){.delta = cc->rate_delta,
					 .interval_s = cc->rate_interval_s,
					 .severity = cc->severity[RULE_RATE]};
	c->has_drift = cc->drift.on;
	c->drift_p = (struct drift_params){.lambda = cc->drift.lambda,
					   .limit = cc->drift.limit,
					   .train = cc->drift.train,
					   .severity = cc->severity[RULE_DRIFT]};
	c->has_service = cc->has_service;
	c->service_p = (struct service_params){.every = cc->service_every,
					       .warn_at = cc->warn_at,
					       .has_baseline = cc->has_service_baseline,
					       .baseline = cc->service_baseline,
					       .severity = cc->severity[RULE_SERVICE]};
	c->has_status = cc->n_ok_codes > 0;
	c->status_p = (struct status_params){.ok_codes = cc->ok_codes,
					     .n_ok_codes = cc->n_ok_codes,
					     .severity = cc->severity[RULE_STATUS]};
	c->has_calendar = cc->every_s > 0;
	c->calendar_p = (struct calendar_params){
		.every_s = cc->every_s, .warn_before_s = 0, .severity = cc->severity[RULE_CALENDAR]};
}

static struct equip_channel *channel_get(struct labqcd *d, const char *site, const char *ins,
					 const char *channel, double now)
{
	char key[ID_MAX * 3 + 3];
	struct equip_channel *c;

	snprintf(key, sizeof(key), "%s/%s/%s", site, ins, channel);
	HASH_FIND_STR(d->channels, key, c);
	if (c)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	snprintf(c->key, sizeof(c->key), "%s", key);
	snprintf(c->site, sizeof(c->site), "%s", site);
	snprintf(c->instrument, sizeof(c->instrument), "%s", ins);
	snprintf(c->channel, sizeof(c->channel), "%s", channel);
	range_init(&c->range);
	stale_init(&c->stale, now);
	rate_init(&c->rate);
	drift_init(&c->drift);
	service_init(&c->service);
	status_init(&c->status);
	calendar_init(&c->calendar, now);
	c->last_value = NAN;
	c->last_t = NAN;
	const struct cfg_instrument *ci = config_instrument(d->cfg, site, ins);
	set_params(c, ci ? config_channel(ci, channel) : NULL);
	HASH_ADD_STR(d->channels, key, c);
	return c;
}

static void instrument_tasks(struct equip_instrument *in, const struct cfg_instrument *ci,
			     double now)
{
	struct equip_task *old = in->tasks;
	size_t n_old = in->n_tasks;

	in->tasks = NULL;
	in->n_tasks = 0;
	if (ci && ci->n_tasks && (in->tasks = calloc(ci->n_tasks, sizeof(*in->tasks))) != NULL) {
		for (size_t i = 0; i < ci->n_tasks; i++) {
			struct equip_task *t = &in->tasks[i];
			t->cfg = &ci->tasks[i];
			t->p = (struct task_params){.every_s = ci->tasks[i].every_s,
						    .due_by_min = ci->tasks[i].due_by_min,
						    .tz_offset_s = tz_offset(now),
						    .severity = SEV_NONE};
			task_init(&t->st, now);
			/* keep the state of a task that was there before */
			for (size_t j = 0; j < n_old; j++)
				if (strcmp(old[j].cfg->name, ci->tasks[i].name) == 0)
					t->st = old[j].st;
			const cJSON *saved =
				cJSON_GetObjectItemCaseSensitive(in->saved_tasks, ci->tasks[i].name);
			char err[128];
			if (saved && task_from_json(&t->st, saved, err, sizeof(err)) == -1)
				log_warnx("state: task %s/%s: %s", in->key, ci->tasks[i].name, err);
		}
		in->n_tasks = ci->n_tasks;
	}
	free(old);
	cJSON_Delete(in->saved_tasks);
	in->saved_tasks = NULL;
}

static struct equip_instrument *instrument_get(struct labqcd *d, const char *site, const char *ins,
					       double now)
{
	char key[ID_MAX * 2 + 2];
	struct equip_instrument *in;

	snprintf(key, sizeof(key), "%s/%s", site, ins);
	HASH_FIND_STR(d->instruments, key, in);
	if (in)
		return in;
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return NULL;
	snprintf(in->key, sizeof(in->key), "%s", key);
	snprintf(in->site, sizeof(in->site), "%s", site);
	snprintf(in->instrument, sizeof(in->instrument), "%s", ins);
	instrument_tasks(in, config_instrument(d->cfg, site, ins), now);
	HASH_ADD_STR(d->instruments, key, in);
	return in;
}

static void report(struct labqcd *d, const struct equip_channel *c, const char *rule,
		   struct condition cond, double t, uint64_t seq)
{
	char chart[CFG_PATH_MAX + ID_MAX * 3 + 16] = "";
	/* The day graph the dashboard draws for this channel (attached to
	 * emails when it exists); built only when something is wrong, as
	 * this runs for every rule of every channel every second. */
	if (cond.state != COND_OK)
		snprintf(chart, sizeof(chart), "%s/%s/%s/%s-day.png", d->cfg->daemon.www_dir,
			 c->site, c->instrument, c->channel);
	struct cond_key k = {.kind = ALERT_EQUIPMENT,
			     .site = c->site,
			     .instrument = c->instrument,
			     .channel = c->channel,
			     .rule = rule,
			     .chart = strcmp(rule, "task") == 0 || !chart[0] ? NULL : chart};
	conditions_report(d, &k, &cond, t, seq);
}

static void remember_event(struct equip_instrument *in, double t, const char *text)
{
	struct equip_event *e = &in->events[in->next_event];

	size_t n = strlen(text);

	e->t = t;
	if (n >= sizeof(e->text))
		n = sizeof(e->text) - 1; /* shown on the dashboard: a cut is fine */
	memcpy(e->text, text, n);
	e->text[n] = '\0';
	in->next_event = (in->next_event + 1) % EVENTS_KEPT;
	if (in->n_events < EVENTS_KEPT)
		in->n_events++;
}

void equipment_sample(struct labqcd *d, uint64_t seq, const char *site, const char *instrument,
		      const char *channel, double value, double t)
{
	struct equip_channel *c = channel_get(d, site, instrument, channel, t);

	if (c == NULL)
		return;
	c->last_value = value;
	c->last_t = t;
	if (c->has_stale)
		report(d, c, "stale", stale_sample(&c->stale, t), t, seq);
	if (c->has_range)
		report(d, c, "range", range_sample(&c->range, &c->range_p, value, t), t, seq);
	if (c->has_rate)
		report(d, c, "rate", rate_sample(&c->rate, &c->rate_p, value, t), t, seq);
	if (c->has_drift)
		report(d, c, "drift", drift_sample(&c->drift, &c->drift_p, value, t), t, seq);
	if (c->has_service)
		report(d, c, "service", service_sample(&c->service, &c->service_p, value, t), t,
		       seq);
	if (c->has_status)
		report(d, c, "status", status_sample(&c->status, &c->status_p, value, t), t, seq);
}

void equipment_event(struct labqcd *d, uint64_t seq, const char *site, const char *instrument,
		     const struct payload_event *ev)
{
	struct equip_instrument *in = instrument_get(d, site, instrument, ev->t);
	struct equip_channel *c, *tmp;
	char text[ID_MAX + sizeof(ev->by) + 48];

	if (in == NULL)
		return;
	snprintf(text, sizeof(text), "%s%s%s%s%s", payload_event_name(ev->type),
		 ev->counter[0] || ev->task[0] ? " " : "", ev->counter[0] ? ev->counter : ev->task,
		 ev->by[0] ? " by " : "", ev->by);
	remember_event(in, ev->t, text);
	switch (ev->type) {
	case EV_MAINTENANCE_START:
		if (!in->maintenance) {
			in->maintenance = true;
			in->maintenance_since = ev->t;
			conditions_maintenance(d, site, instrument, true, ev->t);
		}
		return;
	case EV_MAINTENANCE_END:
		if (in->maintenance) {
			in->maintenance = false;
			conditions_maintenance(d, site, instrument, false, ev->t);
			equipment_tick(d, ev->t); /* what is still wrong fires now */
		}
		return;
	case EV_TASK_DONE:
		for (size_t i = 0; i < in->n_tasks; i++) {
			struct equip_task *t = &in->tasks[i];
			if (strcmp(t->cfg->name, ev->task) != 0)
				continue;
			struct equip_channel pseudo;
			memset(&pseudo, 0, sizeof(pseudo));
			snprintf(pseudo.site, sizeof(pseudo.site), "%s", site);
			snprintf(pseudo.instrument, sizeof(pseudo.instrument), "%s", instrument);
			snprintf(pseudo.channel, sizeof(pseudo.channel), "%s", t->cfg->name);
			report(d, &pseudo, "task", task_done(&t->st, &t->p, ev->t), ev->t, seq);
		}
		return;
	case EV_SERVICE_DONE:
	case EV_CALIBRATION_DONE:
		/* service_done names its counter (every counter of the
		 * instrument when it does not); calibration_done resets the
		 * calendar channel it names, or all of the instrument's. */
		HASH_ITER(hh, d->channels, c, tmp)
		{
			if (strcmp(c->site, site) != 0 || strcmp(c->instrument, instrument) != 0)
				continue;
			if (ev->counter[0] && strcmp(ev->counter, c->channel) != 0)
				continue;
			if (ev->type == EV_SERVICE_DONE && c->has_service)
				report(d, c, "service",
				       service_done(&c->service, &c->service_p, ev->t), ev->t, seq);
			if (ev->type == EV_CALIBRATION_DONE && c->has_calendar)
				report(d, c, "calendar",
				       calendar_done(&c->calendar, &c->calendar_p, ev->t), ev->t,
				       seq);
		}
		return;
	case EV_NONE:
		return;
	}
}

void equipment_tick(struct labqcd *d, double now)
{
	struct equip_channel *c, *ctmp;
	struct equip_instrument *in, *itmp;

	HASH_ITER(hh, d->channels, c, ctmp)
	{
		/* Armed before the clock was known (--replay): from now. */
		if (c->has_stale && isnan(c->stale.last_t))
			stale_init(&c->stale, now);
		if (c->has_stale)
			report(d, c, "stale", stale_tick(&c->stale, &c->stale_p, now), now, 0);
		/* A device whose clock runs ahead has had its excursion judged
		 * on its own times: the tick must not take it back. */
		if (c->has_range && c->range.level != RANGE_INSIDE) {
			double at = isfinite(c->last_t) && c->last_t > now ? c->last_t : now;
			report(d, c, "range", range_tick(&c->range, &c->range_p, at), at, 0);
		}
		if (c->has_calendar)
			report(d, c, "calendar", calendar_tick(&c->calendar, &c->calendar_p, now),
			       now, 0);
	}
	HASH_ITER(hh, d->instruments, in, itmp)
	{
		for (size_t i = 0; i < in->n_tasks; i++) {
			struct equip_task *t = &in->tasks[i];
			struct equip_channel pseudo;
			t->p.tz_offset_s = tz_offset(now);
			memset(&pseudo, 0, sizeof(pseudo));
			snprintf(pseudo.site, sizeof(pseudo.site), "%s", in->site);
			snprintf(pseudo.instrument, sizeof(pseudo.instrument), "%s", in->instrument);
			snprintf(pseudo.channel, sizeof(pseudo.channel), "%s", t->cfg->name);
			report(d, &pseudo, "task", task_tick(&t->st, &t->p, now), now, 0);
		}
	}
}

bool instrument_in_maintenance(struct labqcd *d, const char *site, const char *instrument)
{
	char key[ID_MAX * 2 + 2];
	struct equip_instrument *in;

	snprintf(key, sizeof(key), "%s/%s", site, instrument);
	HASH_FIND_STR(d->instruments, key, in);
	return in && in->maintenance;
}

/* Every configured instrument and channel gets its state now, so a
 * channel that never reports goes stale and calendars start counting.
 * In --replay the clock is not known before the first input (it follows
 * the input, which may be older than the wall time): the rules are then
 * armed unset (NAN) and start counting at the first tick. */
void equipment_reconfigure(struct labqcd *d)
{
	struct equip_channel *c, *tmp;
	struct equip_instrument *in, *itmp;
	double now = d->clock > 0 ? d->clock : d->replay ? NAN : wall_clock();

	HASH_ITER(hh, d->channels, c, tmp)
	{
		const struct cfg_instrument *ci = config_instrument(d->cfg, c->site, c->instrument);
		set_params(c, ci ? config_channel(ci, c->channel) : NULL);
	}
	HASH_ITER(hh, d->instruments, in, itmp)
	instrument_tasks(in, config_instrument(d->cfg, in->site, in->instrument), now);
	for (size_t i = 0; i < d->cfg->n_instruments; i++) {
		const struct cfg_instrument *ci = &d->cfg->instruments[i];
		instrument_get(d, ci->site, ci->name, now);
		for (size_t j = 0; j < ci->n_channels; j++)
			channel_get(d, ci->site, ci->name, ci->channels[j].name, now);
	}
}

/* ---- persistence ---- */

#define SAVE(o, name, fn, st)                                                                      \
	do {                                                                                       \
		cJSON *x = fn(st);                                                                 \
		if (x)                                                                             \
			cJSON_AddItemToObject(o, name, x);                                         \
	} while (0)

cJSON *equipment_to_json(struct labqcd *d)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *chans = cJSON_AddObjectToObject(root, "channels");
	cJSON *insts = cJSON_AddObjectToObject(root, "instruments");
	struct equip_channel *c, *tmp;
	struct equip_instrument *in, *itmp;

	HASH_ITER(hh, d->channels, c, tmp)
	{
		cJSON *o = cJSON_CreateObject();
		SAVE(o, "range", range_to_json, &c->range);
		SAVE(o, "stale", stale_to_json, &c->stale);
		SAVE(o, "rate", rate_to_json, &c->rate);
		SAVE(o, "drift", drift_to_json, &c->drift);
		SAVE(o, "service", service_to_json, &c->service);
		SAVE(o, "status", status_to_json, &c->status);
		SAVE(o, "calendar", calendar_to_json, &c->calendar);
		if (isfinite(c->last_t)) {
			cJSON_AddNumberToObject(o, "last_value", c->last_value);
			cJSON_AddNumberToObject(o, "last_t", c->last_t);
		}
		cJSON_AddItemToObject(chans, c->key, o);
	}
	HASH_ITER(hh, d->instruments, in, itmp)
	{
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "maintenance", in->maintenance);
		cJSON_AddNumberToObject(o, "maintenance_since", in->maintenance_since);
		cJSON *tasks = cJSON_AddObjectToObject(o, "tasks");
		for (size_t i = 0; i < in->n_tasks; i++)
			SAVE(tasks, in->tasks[i].cfg->name, task_to_json, &in->tasks[i].st);
		cJSON *evs = cJSON_AddArrayToObject(o, "events");
		for (size_t i = 0; i < in->n_events; i++) {
			const struct equip_event *e =
				&in->events[(in->next_event + EVENTS_KEPT - in->n_events + i) %
					    EVENTS_KEPT];
			cJSON *eo = cJSON_CreateObject();
			cJSON_AddNumberToObject(eo, "t", e->t);
			cJSON_AddStringToObject(eo, "text", e->text);
			cJSON_AddItemToArray(evs, eo);
		}
		cJSON_AddItemToObject(insts, in->key, o);
	}
	return root;
}

static int split_key(const char *key, int parts, char out[][ID_MAX])
{
	const char *p = key;

	for (int i = 0; i < parts; i++) {
		const char *slash = i + 1 < parts ? strchr(p, '/') : p + strlen(p);
		if (slash == NULL || slash == p || slash - p >= ID_MAX)
			return -1;
		memcpy(out[i], p, (size_t)(slash - p));
		out[i][slash - p] = '\0';
		p = slash + 1;
	}
	return 0;
}

#define LOAD(o, name, fn, st)                                                                      \
	do {                                                                                       \
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);                        \
		if (x && fn(st, x, err, sizeof(err)) == -1) {                                      \
			log_warnx("state: %s %s: %s", c->key, name, err);                          \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

int equipment_from_json(struct labqcd *d, const cJSON *root)
{
	const cJSON *o;
	char err[160], parts[3][ID_MAX];
	double now = wall_clock();

	if (root == NULL)
		return 0;
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(root, "channels"))
	{
		if (split_key(o->string, 3, parts) == -1)
			return -1;
		struct equip_channel *c = channel_get(d, parts[0], parts[1], parts[2], now);
		if (c == NULL)
			return -1;
		LOAD(o, "range", range_from_json, &c->range);
		LOAD(o, "stale", stale_from_json, &c->stale);
		LOAD(o, "rate", rate_from_json, &c->rate);
		LOAD(o, "drift", drift_from_json, &c->drift);
		LOAD(o, "service", service_from_json, &c->service);
		LOAD(o, "status", status_from_json, &c->status);
		LOAD(o, "calendar", calendar_from_json, &c->calendar);
		const cJSON *lv = cJSON_GetObjectItemCaseSensitive(o, "last_value");
		const cJSON *lt = cJSON_GetObjectItemCaseSensitive(o, "last_t");
		if (cJSON_IsNumber(lv) && cJSON_IsNumber(lt)) {
			c->last_value = lv->valuedouble;
			c->last_t = lt->valuedouble;
		}
	}
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(root, "instruments"))
	{
		if (split_key(o->string, 2, parts) == -1)
			return -1;
		struct equip_instrument *in = instrument_get(d, parts[0], parts[1], now);
		if (in == NULL)
			return -1;
		in->maintenance = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "maintenance"));
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "maintenance_since");
		in->maintenance_since = cJSON_IsNumber(ms) ? ms->valuedouble : 0;
		cJSON_Delete(in->saved_tasks);
		in->saved_tasks =
			cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(o, "tasks"), 1);
		instrument_tasks(in, config_instrument(d->cfg, in->site, in->instrument), now);
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "events"))
		{
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "t");
			const cJSON *text = cJSON_GetObjectItemCaseSensitive(e, "text");
			if (cJSON_IsNumber(t) && cJSON_IsString(text))
				remember_event(in, t->valuedouble, text->valuestring);
		}
	}
	return 0;
}

void equipment_free(struct labqcd *d)
{
	struct equip_channel *c, *tmp;
	struct equip_instrument *in, *itmp;

	HASH_ITER(hh, d->channels, c, tmp)
	{
		HASH_DEL(d->channels, c);
		free(c);
	}
	HASH_ITER(hh, d->instruments, in, itmp)
	{
		HASH_DEL(d->instruments, in);
		free(in->tasks);
		cJSON_Delete(in->saved_tasks);
		free(in);
	}
}

/* The dashboard's view of an instrument's channels, what falls due and
 * its recent events. */
void equipment_snapshot(struct labqcd *d, const char *site, const char *instrument,
			struct dash_instrument *di)
{
	struct equip_channel *c, *tmp;
	struct equip_instrument *in;
	char key[ID_MAX * 2 + 2], rel[ID_MAX * 3 + 8], name[ID_MAX + 16];

	HASH_ITER(hh, d->channels, c, tmp)
	{
		if (strcmp(c->site, site) != 0 || strcmp(c->instrument, instrument) != 0)
			continue;
		if (c->has_calendar) {
			snprintf(name, sizeof(name), "%s", c->channel);
			dash_snap_add_due(di, name, calendar_due(&c->calendar, &c->calendar_p));
		}
		/* A calendar-only channel (calibration) has no series. */
		if (!isfinite(c->last_t) && c->has_calendar)
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/%s.rrd", site, instrument, c->channel);
		struct dash_channel *dc =
			dash_snap_add_channel(di, c->channel, c->cfg ? c->cfg->unit : "", rel);
		if (dc == NULL)
			return;
		dc->last_value = c->last_value;
		dc->last_time = c->last_t;
		if (c->cfg) {
			dc->min = c->cfg->has_min ? c->cfg->min : NAN;
			dc->max = c->cfg->has_max ? c->cfg->max : NAN;
			dc->warning_min = c->cfg->has_warning_min ? c->cfg->warning_min : NAN;
			dc->warning_max = c->cfg->has_warning_max ? c->cfg->warning_max : NAN;
		}
	}
	snprintf(key, sizeof(key), "%s/%s", site, instrument);
	HASH_FIND_STR(d->instruments, key, in);
	if (in == NULL)
		return;
	for (size_t i = 0; i < in->n_tasks; i++) {
		snprintf(name, sizeof(name), "task %s", in->tasks[i].cfg->name);
		dash_snap_add_due(di, name, task_due(&in->tasks[i].st, &in->tasks[i].p));
	}
	for (size_t i = 0; i < in->n_events; i++)
		dash_snap_add_event(di, in->events[i].t, in->events[i].text);
}

/* Instruments the daemon knows of (configured or seen), for the
 * dashboard's list. */
void equipment_foreach_instrument(struct labqcd *d,
				  void (*fn)(const char *site, const char *instrument, bool maint,
					     void *arg),
				  void *arg)
{
	struct equip_instrument *in, *tmp;
	struct equip_channel *c, *ctmp;

	HASH_ITER(hh, d->instruments, in, tmp)
	fn(in->site, in->instrument, in->maintenance, arg);
	/* channels of instruments with no entry (telemetry only) */
	HASH_ITER(hh, d->channels, c, ctmp)
	{
		char key[ID_MAX * 2 + 2];
		snprintf(key, sizeof(key), "%s/%s", c->site, c->instrument);
		HASH_FIND_STR(d->instruments, key, in);
		if (in == NULL && instrument_get(d, c->site, c->instrument, c->last_t) != NULL) {
			HASH_FIND_STR(d->instruments, key, in);
			if (in)
				fn(in->site, in->instrument, false, arg);
		}
	}
}
