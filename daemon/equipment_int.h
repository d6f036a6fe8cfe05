/*
 * equipment_int.h: the equipment rules' insides, shared by equipment.c
 * (evaluation, reconfigure, dashboard) and equipment_state.c (saving and
 * loading them). Private to daemon/equipment*.c: nothing else includes it.
 */
#ifndef LABQCD_EQUIPMENT_INT_H
#define LABQCD_EQUIPMENT_INT_H

#include <stdio.h>
#include <uthash.h>

#include "daemon/labqcd.h"

#define EVENTS_KEPT 20

/* The enabled rules of a channel; the state of a rule that is not
 * enabled is unused (and not saved). */
struct equip_rules {
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
};

struct equip_channel {
	UT_hash_handle hh;             /* key: all of names[] */
	const struct cfg_channel *cfg; /* NULL: auto-discovered */
	struct equip_rules *rules;     /* NULL: no rule enabled */
	double last_value, last_t;
	struct equip_channel *next_of_instrument; /* its equip_group's list */
	unsigned char instrument_at, channel_at;  /* offsets into names[] */
	char names[];                             /* "site\0instrument\0channel\0" */
};

/* The channels of one site/instrument, in the order they were first
 * seen. What concerns one instrument (its dashboard snapshot, a service
 * event) walks these, not every channel: a snapshot of every instrument
 * was instruments × channels string compares on the main thread, 10^8 at
 * 100k channels over 1,000 instruments. Channels are only freed all
 * together (equipment_free), so the lists need no unlinking. */
struct equip_group {
	UT_hash_handle hh;
	struct equip_channel *first, *last;
	char key[ID_MAX * 2 + 2]; /* "site/instrument", as equip_instrument's */
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

static inline const char *chan_site(const struct equip_channel *c)
{
	return c->names;
}

static inline const char *chan_instrument(const struct equip_channel *c)
{
	return c->names + c->instrument_at;
}

static inline const char *chan_name(const struct equip_channel *c)
{
	return c->names + c->channel_at;
}

/* "site/instrument/channel": the channel's key in the state file and logs. */
static inline const char *chan_key(const struct equip_channel *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%s", chan_site(c), chan_instrument(c), chan_name(c));
	return buf;
}

/* equipment.c: what the state file's loader needs of it. */
struct equip_channel *equip_channel_get(struct labqcd *d, const char *site, const char *ins,
					const char *channel, double now);
struct equip_instrument *equip_instrument_get(struct labqcd *d, const char *site, const char *ins,
					      double now);
void equip_instrument_tasks(struct equip_instrument *in, const struct cfg_instrument *ci,
			    double now);
void equip_remember_event(struct equip_instrument *in, double t, const char *text);
double equip_arm_time(const struct labqcd *d);

#endif
