/*
 * equipment.c: telemetry and events through the equipment rules.
 *
 * One struct equip_channel per <site>/<instrument>/<channel> seen or
 * configured. Most channels are auto-discovered and have no rule, so a
 * channel is only its hash entry, its last sample and its names; the
 * rules its config enables (range, stale, rate, drift, service counter,
 * status, calendar), their parameters and state live in a struct
 * equip_rules that exists only while at least one rule is enabled
 * (rebuilt on reload; the rules that stay keep their state, and only
 * enabled rules are saved). One struct equip_instrument per
 * instrument: planned maintenance, task states and the recent events the
 * dashboard shows.
 *
 * Samples and events are evaluated as they come (dispatch.c); the
 * time-driven rules (stale, pending range delays, calendar, tasks) run
 * from equipment_tick() on the daemon's clock. Every condition goes to
 * conditions_report(), which makes the transitions and suppresses the
 * equipment ones while the instrument is in maintenance.
 *
 * The structs are in equipment_int.h; saving and loading their state
 * (the equipment part of the state file) is equipment_state.c.
 */
#include "daemon/labqcd.h"
#include "dashboards/dashboards.h"
#include "daemon/equipment_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>

static double tz_offset(double t)
{
	time_t s = isfinite(t) ? (time_t)t : 0;
	struct tm tm;

	if (!isfinite(t) || localtime_r(&s, &tm) == NULL)
		return 0;
	return (double)tm.tm_gmtoff;
}

/*
 * Sets a channel's config and the parameters of the rules it enables.
 * A rule that stays enabled keeps its state (a reload changes limits,
 * not history); one that becomes enabled starts from its init state at
 * `now`. The rules block goes when no rule is left. -1 when out of
 * memory: the channel then has no rules.
 */
static int set_params(struct equip_channel *c, const struct cfg_channel *cc, double now)
{
	struct equip_rules *r = c->rules;

	c->cfg = cc;
	bool range = cc && (cc->has_min || cc->has_max || cc->has_warning_min ||
			    cc->has_warning_max);
	bool stale = cc && cc->stale_s > 0;
	bool rate = cc && cc->has_rate;
	bool drift = cc && cc->drift.on;
	bool service = cc && cc->has_service;
	bool status = cc && cc->n_ok_codes > 0;
	bool calendar = cc && cc->every_s > 0;
	if (!(range || stale || rate || drift || service || status || calendar)) {
		free(r);
		c->rules = NULL;
		return 0;
	}
	if (r == NULL && (r = c->rules = calloc(1, sizeof(*r))) == NULL)
		return -1;
	if (range && !r->has_range)
		range_init(&r->range);
	if (stale && !r->has_stale)
		stale_init(&r->stale, now);
	if (rate && !r->has_rate)
		rate_init(&r->rate);
	if (drift && !r->has_drift)
		drift_init(&r->drift);
	if (service && !r->has_service)
		service_init(&r->service);
	if (status && !r->has_status)
		status_init(&r->status);
	if (calendar && !r->has_calendar)
		calendar_init(&r->calendar, now);
	r->has_range = range;
	r->has_stale = stale;
	r->has_rate = rate;
	r->has_drift = drift;
	r->has_service = service;
	r->has_status = status;
	r->has_calendar = calendar;
	r->range_p = (struct range_params){.has_min = cc->has_min,
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
	r->stale_p = (struct stale_params){.stale_s = cc->stale_s,
					   .severity = cc->severity[RULE_STALE]};
	r->rate_p = (struct rate_params){.delta = cc->rate_delta,
					 .interval_s = cc->rate_interval_s,
					 .severity = cc->severity[RULE_RATE]};
	r->drift_p = (struct drift_params){.lambda = cc->drift.lambda,
					   .limit = cc->drift.limit,
					   .train = cc->drift.train,
					   .severity = cc->severity[RULE_DRIFT]};
	r->service_p = (struct service_params){.every = cc->service_every,
					       .warn_at = cc->warn_at,
					       .has_baseline = cc->has_service_baseline,
					       .baseline = cc->service_baseline,
					       .severity = cc->severity[RULE_SERVICE]};
	r->status_p = (struct status_params){.ok_codes = cc->ok_codes,
					     .n_ok_codes = cc->n_ok_codes,
					     .severity = cc->severity[RULE_STATUS]};
	r->calendar_p = (struct calendar_params){
		.every_s = cc->every_s, .warn_before_s = 0, .severity = cc->severity[RULE_CALENDAR]};
	return 0;
}

/* The hash key, the three names each with its NUL, is built for every
 * sample: with memcpy rather than snprintf. */
/* The hash key "site\0instrument\0channel\0" into names; its length. */
static size_t channel_names(const char *site, const char *ins, const char *channel,
			    char names[ID_MAX * 3], size_t at[3])
{
	const char *part[3] = {site, ins, channel};
	size_t len = 0;

	for (int i = 0; i < 3; i++) {
		size_t n = strnlen(part[i], ID_MAX - 1); /* what an ID_MAX array holds */
		at[i] = len;
		memcpy(names + len, part[i], n);
		names[len + n] = '\0';
		len += n + 1;
	}
	return len;
}

/* The group of site/instrument; made if it is new and `make` is set. */
static struct equip_group *group_get(struct labqcd *d, const char *site, const char *ins,
				     bool make)
{
	char key[ID_MAX * 2 + 2];
	struct equip_group *g;

	snprintf(key, sizeof(key), "%s/%s", site, ins);
	HASH_FIND_STR(d->channel_groups, key, g);
	if (g == NULL && make && (g = calloc(1, sizeof(*g))) != NULL) {
		memcpy(g->key, key, sizeof(g->key));
		HASH_ADD_STR(d->channel_groups, key, g);
	}
	return g;
}

/* The first of the instrument's channels; NULL if it has none. */
static struct equip_channel *group_first(struct labqcd *d, const char *site, const char *ins)
{
	struct equip_group *g = group_get(d, site, ins, false);

	return g ? g->first : NULL;
}

struct equip_channel *equip_channel_get(struct labqcd *d, const char *site, const char *ins,
					const char *channel, double now)
{
	char names[ID_MAX * 3];
	size_t at[3], len = channel_names(site, ins, channel, names, at);
	struct equip_channel *c;
	struct equip_group *g;

	HASH_FIND(hh, d->channels, names, len, c);
	if (c)
		return c;
	/* The names as stored (cut at ID_MAX - 1), as the group is found by. */
	if ((g = group_get(d, names + at[0], names + at[1], true)) == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c) + len)) == NULL)
		return NULL;
	memcpy(c->names, names, len);
	c->instrument_at = (unsigned char)at[1];
	c->channel_at = (unsigned char)at[2];
	c->last_value = NAN;
	c->last_t = NAN;
	const struct cfg_instrument *ci = config_instrument(d->cfg, site, ins);
	if (set_params(c, ci ? config_channel(ci, channel) : NULL, now) == -1) {
		free(c);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, d->channels, c->names, len, c);
	if (g->last)
		g->last->next_of_instrument = c;
	else
		g->first = c;
	g->last = c;
	return c;
}

void equip_instrument_tasks(struct equip_instrument *in, const struct cfg_instrument *ci,
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

struct equip_instrument *equip_instrument_get(struct labqcd *d, const char *site, const char *ins,
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
	equip_instrument_tasks(in, config_instrument(d->cfg, site, ins), now);
	HASH_ADD_STR(d->instruments, key, in);
	return in;
}

/* `channel` is a channel, or a task with rule "task". */
static void report(struct labqcd *d, const char *site, const char *instrument,
		   const char *channel, const char *rule, struct condition cond, double t,
		   uint64_t seq)
{
	char chart[CFG_PATH_MAX + ID_MAX * 3 + 16] = "";
	/* The day graph the dashboard draws for this channel (attached to
	 * emails when it exists); built only when something is wrong, as
	 * this runs for every rule of every channel every second. */
	if (cond.state != COND_OK)
		snprintf(chart, sizeof(chart), "%s/%s/%s/%s-day.png", d->cfg->daemon.www_dir,
			 site, instrument, channel);
	struct cond_key k = {.kind = ALERT_EQUIPMENT,
			     .site = site,
			     .instrument = instrument,
			     .channel = channel,
			     .rule = rule,
			     .chart = strcmp(rule, "task") == 0 || !chart[0] ? NULL : chart,
			     /* Planned maintenance: no transitions (the lookup
			      * only while some instrument is in maintenance) */
			     .hold = d->n_maintenance > 0 &&
				     instrument_in_maintenance(d, site, instrument)};
	conditions_report(d, &k, &cond, t, seq);
}

static void report_channel(struct labqcd *d, const struct equip_channel *c, const char *rule,
			   struct condition cond, double t, uint64_t seq)
{
	report(d, chan_site(c), chan_instrument(c), chan_name(c), rule, cond, t, seq);
}

void equip_remember_event(struct equip_instrument *in, double t, const char *text)
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
	struct equip_channel *c = equip_channel_get(d, site, instrument, channel, t);
	struct equip_rules *r;

	if (c == NULL)
		return;
	c->last_value = value;
	c->last_t = t;
	if ((r = c->rules) == NULL)
		return;
	if (r->has_stale)
		report_channel(d, c, "stale", stale_sample(&r->stale, t), t, seq);
	if (r->has_range)
		report_channel(d, c, "range", range_sample(&r->range, &r->range_p, value, t), t,
			       seq);
	if (r->has_rate)
		report_channel(d, c, "rate", rate_sample(&r->rate, &r->rate_p, value, t), t, seq);
	if (r->has_drift)
		report_channel(d, c, "drift", drift_sample(&r->drift, &r->drift_p, value, t), t,
			       seq);
	if (r->has_service)
		report_channel(d, c, "service",
			       service_sample(&r->service, &r->service_p, value, t), t, seq);
	if (r->has_status)
		report_channel(d, c, "status", status_sample(&r->status, &r->status_p, value, t),
			       t, seq);
}

void equipment_event(struct labqcd *d, uint64_t seq, const char *site, const char *instrument,
		     const struct payload_event *ev)
{
	struct equip_instrument *in = equip_instrument_get(d, site, instrument, ev->t);
	struct equip_channel *c;
	char text[ID_MAX + sizeof(ev->by) + 48];

	if (in == NULL)
		return;
	snprintf(text, sizeof(text), "%s%s%s%s%s", payload_event_name(ev->type),
		 ev->counter[0] || ev->task[0] ? " " : "", ev->counter[0] ? ev->counter : ev->task,
		 ev->by[0] ? " by " : "", ev->by);
	equip_remember_event(in, ev->t, text);
	switch (ev->type) {
	case EV_MAINTENANCE_START:
		if (!in->maintenance) {
			in->maintenance = true;
			d->n_maintenance++;
			in->maintenance_since = ev->t;
			conditions_maintenance(d, site, instrument, true, ev->t);
		}
		return;
	case EV_MAINTENANCE_END:
		if (in->maintenance) {
			in->maintenance = false;
			d->n_maintenance--;
			conditions_maintenance(d, site, instrument, false, ev->t);
			equipment_tick(d, ev->t); /* what is still wrong fires now */
		}
		return;
	case EV_TASK_DONE:
		for (size_t i = 0; i < in->n_tasks; i++) {
			struct equip_task *t = &in->tasks[i];
			if (strcmp(t->cfg->name, ev->task) == 0)
				report(d, site, instrument, t->cfg->name, "task",
				       task_done(&t->st, &t->p, ev->t), ev->t, seq);
		}
		return;
	case EV_SERVICE_DONE:
	case EV_CALIBRATION_DONE:
		/* service_done names its counter (every counter of the
		 * instrument when it does not); calibration_done resets the
		 * calendar channel it names, or all of the instrument's. */
		for (c = group_first(d, site, instrument); c; c = c->next_of_instrument) {
			struct equip_rules *r = c->rules;
			if (r == NULL)
				continue;
			if (ev->counter[0] && strcmp(ev->counter, chan_name(c)) != 0)
				continue;
			if (ev->type == EV_SERVICE_DONE && r->has_service)
				report_channel(d, c, "service",
					       service_done(&r->service, &r->service_p, ev->t),
					       ev->t, seq);
			if (ev->type == EV_CALIBRATION_DONE && r->has_calendar)
				report_channel(d, c, "calendar",
					       calendar_done(&r->calendar, &r->calendar_p, ev->t),
					       ev->t, seq);
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
		struct equip_rules *r = c->rules;
		if (r == NULL)
			continue;
		/* Armed before the clock was known (--replay): from now. */
		if (r->has_stale && isnan(r->stale.last_t))
			stale_init(&r->stale, now);
		/* Held while labqcd cannot see (blind.c): one broker alert,
		 * not one stale alert per channel; and just after its first
		 * subscription, while the broker hands over what it queued. */
		if (r->has_stale && !d->broker_blind && now >= d->stale_settle_until)
			report_channel(d, c, "stale", stale_tick(&r->stale, &r->stale_p, now), now,
				       0);
		/* A device whose clock runs ahead has had its excursion judged
		 * on its own times: the tick must not take it back. */
		if (r->has_range && r->range.level != RANGE_INSIDE) {
			double at = isfinite(c->last_t) && c->last_t > now ? c->last_t : now;
			report_channel(d, c, "range", range_tick(&r->range, &r->range_p, at), at,
				       0);
		}
		if (r->has_calendar)
			report_channel(d, c, "calendar",
				       calendar_tick(&r->calendar, &r->calendar_p, now), now, 0);
	}
	HASH_ITER(hh, d->instruments, in, itmp)
	{
		for (size_t i = 0; i < in->n_tasks; i++) {
			struct equip_task *t = &in->tasks[i];
			t->p.tz_offset_s = tz_offset(now);
			report(d, in->site, in->instrument, t->cfg->name, "task",
			       task_tick(&t->st, &t->p, now), now, 0);
		}
	}
}

void equipment_stale_restart(struct labqcd *d, double t)
{
	struct equip_channel *c, *ctmp;
	char key[ALERT_KEY_MAX];

	HASH_ITER(hh, d->channels, c, ctmp)
	{
		struct equip_rules *r = c->rules;
		if (r == NULL || !r->has_stale)
			continue;
		snprintf(key, sizeof(key), "%s/%s/%s/stale", chan_site(c), chan_instrument(c),
			 chan_name(c));
		if (!conditions_firing(d, key)) /* stale before the outage: stays so */
			stale_restart(&r->stale, t);
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

/* The time rules armed now count from (stale, calendar, tasks): the
 * daemon's clock, else the wall time. In --replay the clock is not known
 * before the first input (it follows the input, which may be older than
 * the wall time): the rules are then armed unset (NAN) and start counting
 * at the first tick. */
double equip_arm_time(const struct labqcd *d)
{
	return d->clock > 0 ? d->clock : d->replay ? NAN : wall_clock();
}

/* Every configured instrument and channel gets its state now, so a
 * channel that never reports goes stale and calendars start counting. */
void equipment_reconfigure(struct labqcd *d)
{
	struct equip_channel *c, *tmp;
	struct equip_instrument *in, *itmp;
	double now = equip_arm_time(d);
	char key[ID_MAX * 3 + 3];

	HASH_ITER(hh, d->channels, c, tmp)
	{
		const struct cfg_instrument *ci =
			config_instrument(d->cfg, chan_site(c), chan_instrument(c));
		if (set_params(c, ci ? config_channel(ci, chan_name(c)) : NULL, now) == -1)
			log_warn("equipment: %s: rules off", chan_key(c, key, sizeof(key)));
	}
	HASH_ITER(hh, d->instruments, in, itmp)
	equip_instrument_tasks(in, config_instrument(d->cfg, in->site, in->instrument), now);
	for (size_t i = 0; i < d->cfg->n_instruments; i++) {
		const struct cfg_instrument *ci = &d->cfg->instruments[i];
		equip_instrument_get(d, ci->site, ci->name, now);
		for (size_t j = 0; j < ci->n_channels; j++)
			equip_channel_get(d, ci->site, ci->name, ci->channels[j].name, now);
	}
}

void equipment_free(struct labqcd *d)
{
	struct equip_channel *c, *tmp;
	struct equip_group *g, *gtmp;
	struct equip_instrument *in, *itmp;

	HASH_ITER(hh, d->channels, c, tmp)
	{
		HASH_DEL(d->channels, c);
		free(c->rules);
		free(c);
	}
	HASH_ITER(hh, d->channel_groups, g, gtmp)
	{
		HASH_DEL(d->channel_groups, g);
		free(g);
	}
	HASH_ITER(hh, d->instruments, in, itmp)
	{
		HASH_DEL(d->instruments, in);
		if (in->maintenance)
			d->n_maintenance--;
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
	struct equip_channel *c;
	struct equip_instrument *in;
	char key[ID_MAX * 2 + 2], rel[ID_MAX * 3 + 8], name[ID_MAX + 16];

	for (c = group_first(d, site, instrument); c; c = c->next_of_instrument) {
		bool has_calendar = c->rules && c->rules->has_calendar;
		if (has_calendar) {
			snprintf(name, sizeof(name), "%s", chan_name(c));
			dash_snap_add_due(di, name,
					  calendar_due(&c->rules->calendar, &c->rules->calendar_p));
		}
		/* A calendar-only channel (calibration) has no series. */
		if (!isfinite(c->last_t) && has_calendar)
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/%s.rrd", site, instrument, chan_name(c));
		struct dash_channel *dc =
			dash_snap_add_channel(di, chan_name(c), c->cfg ? c->cfg->unit : "", rel);
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

/* The dashboard's text for an equipment alert on a range rule: what the
 * rule says now, from the channel's latest sample, so a value from the
 * time it fired is not shown as "now". false: keep the alert's summary
 * (the other rules' summaries name no current value). */
bool equipment_alert_text(struct labqcd *d, const char *site, const char *instrument,
			  const char *channel, const char *rule, double now, char *buf, size_t len)
{
	char names[ID_MAX * 3];
	size_t at[3], n = channel_names(site, instrument, channel, names, at);
	struct equip_channel *c;

	if (strcmp(rule, "range") != 0)
		return false;
	HASH_FIND(hh, d->channels, names, n, c);
	if (c == NULL || c->rules == NULL || !c->rules->has_range ||
	    isnan(c->rules->range.last_value))
		return false;
	snprintf(buf, len, "%s", range_tick(&c->rules->range, &c->rules->range_p, now).summary);
	return true;
}

/* Instruments the daemon knows of (configured or seen), for the
 * dashboard's list. */
void equipment_foreach_instrument(struct labqcd *d,
				  void (*fn)(const char *site, const char *instrument, bool maint,
					     void *arg),
				  void *arg)
{
	struct equip_instrument *in, *tmp;
	struct equip_group *g, *gtmp;

	HASH_ITER(hh, d->instruments, in, tmp)
	fn(in->site, in->instrument, in->maintenance, arg);
	/* instruments with channels but no entry yet (telemetry only) */
	HASH_ITER(hh, d->channel_groups, g, gtmp)
	{
		const struct equip_channel *c = g->first;
		HASH_FIND_STR(d->instruments, g->key, in);
		if (in == NULL && c != NULL &&
		    (in = equip_instrument_get(d, chan_site(c), chan_instrument(c), c->last_t)) != NULL)
			fn(in->site, in->instrument, false, arg);
	}
}
