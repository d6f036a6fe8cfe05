/*
 * equipment_state.c: the equipment part of the checkpoint (the
 * "equipment" object of state.json, written and read by state.c).
 *
 * "channels", keyed "site/instrument/channel": the states of the rules
 * the channel's config enables (only those: a rule that is off is not
 * saved) and its last sample. "instruments", keyed "site/instrument":
 * maintenance and since when, task states by task name and the recent
 * events.
 *
 * Loading reads into the rules the config enables now, armed first as a
 * newly configured channel's are, so files of an older format or config
 * load: the state of a rule that is not enabled (saved before only
 * enabled rules were, or a rule since taken out of the config) is
 * ignored, and a rule or task whose state the file lacks keeps its init
 * state.
 */
#include "daemon/labqcd.h"
#include "daemon/equipment_int.h"

#include <math.h>
#include <string.h>
#include <uthash.h>

#define SAVE(o, name, fn, st)                                                                      \
	do {                                                                                       \
		cJSON *x = fn(st);                                                                 \
		if (x)                                                                             \
			cJSON_AddItemToObject(o, name, x);                                         \
	} while (0)
#define SAVE_RULE(o, r, rule)                                                                      \
	do {                                                                                       \
		if ((r)->has_##rule)                                                               \
			SAVE(o, #rule, rule##_to_json, &(r)->rule);                                \
	} while (0)

/* Only the enabled rules' states: the rate rule's ring alone is some 400
 * nodes, too many to build for every channel at every checkpoint. */
static void rules_to_json(cJSON *o, const struct equip_rules *r)
{
	SAVE_RULE(o, r, range);
	SAVE_RULE(o, r, stale);
	SAVE_RULE(o, r, rate);
	SAVE_RULE(o, r, drift);
	SAVE_RULE(o, r, service);
	SAVE_RULE(o, r, status);
	SAVE_RULE(o, r, calendar);
}

cJSON *equipment_to_json(struct labqcd *d)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *chans = cJSON_AddObjectToObject(root, "channels");
	cJSON *insts = cJSON_AddObjectToObject(root, "instruments");
	struct equip_channel *c, *tmp;
	struct equip_instrument *in, *itmp;
	char key[ID_MAX * 3 + 3];

	HASH_ITER(hh, d->channels, c, tmp)
	{
		cJSON *o = cJSON_CreateObject();
		if (c->rules)
			rules_to_json(o, c->rules);
		if (isfinite(c->last_t)) {
			cJSON_AddNumberToObject(o, "last_value", c->last_value);
			cJSON_AddNumberToObject(o, "last_t", c->last_t);
		}
		cJSON_AddItemToObject(chans, chan_key(c, key, sizeof(key)), o);
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

#define LOAD_RULE(o, r, rule)                                                                      \
	do {                                                                                       \
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, #rule);                       \
		if ((r)->has_##rule && x &&                                                        \
		    rule##_from_json(&(r)->rule, x, err, sizeof(err)) == -1) {                     \
			log_warnx("state: %s %s: %s", o->string, #rule, err);                      \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

/* The states of the enabled rules. One the file lacks (the rule was off
 * when it was saved) stays as set_params() initialised it; one of a rule
 * that is off (in files from before only enabled rules were saved, or
 * for a rule taken out of the config) is ignored. */
static int rules_from_json(struct equip_rules *r, const cJSON *o)
{
	char err[160];

	LOAD_RULE(o, r, range);
	LOAD_RULE(o, r, stale);
	LOAD_RULE(o, r, rate);
	LOAD_RULE(o, r, drift);
	LOAD_RULE(o, r, service);
	LOAD_RULE(o, r, status);
	LOAD_RULE(o, r, calendar);
	return 0;
}

/* Called with the config already in d->cfg (state_load runs before
 * equipment_reconfigure, after the config is read), so
 * equip_channel_get gives each channel the rules its config enables,
 * armed as a newly configured channel's are, before their states are
 * read. */
int equipment_from_json(struct labqcd *d, const cJSON *root)
{
	const cJSON *o;
	char parts[3][ID_MAX];
	double now = wall_clock(), arm_at = equip_arm_time(d);

	if (root == NULL)
		return 0;
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(root, "channels"))
	{
		if (split_key(o->string, 3, parts) == -1)
			return -1;
		struct equip_channel *c =
			equip_channel_get(d, parts[0], parts[1], parts[2], arm_at);
		if (c == NULL)
			return -1;
		if (c->rules && rules_from_json(c->rules, o) == -1)
			return -1;
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
		struct equip_instrument *in = equip_instrument_get(d, parts[0], parts[1], now);
		if (in == NULL)
			return -1;
		bool maint = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "maintenance"));
		if (maint != in->maintenance)
			d->n_maintenance += maint ? 1 : -1;
		in->maintenance = maint;
		const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "maintenance_since");
		in->maintenance_since = cJSON_IsNumber(ms) ? ms->valuedouble : 0;
		cJSON_Delete(in->saved_tasks);
		in->saved_tasks =
			cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(o, "tasks"), 1);
		equip_instrument_tasks(in, config_instrument(d->cfg, in->site, in->instrument),
				       now);
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "events"))
		{
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "t");
			const cJSON *text = cJSON_GetObjectItemCaseSensitive(e, "text");
			if (cJSON_IsNumber(t) && cJSON_IsString(text))
				equip_remember_event(in, t->valuedouble, text->valuestring);
		}
	}
	return 0;
}
