/*
 * alerts_table.c: the alert engine's tables and names: alerts by key (a
 * uthash table), silences, and the open notification groups per receiver
 * and reason. alerts.c (transitions, timers), alerts_state.c (alerts.json)
 * and routes.c (groups into notifications) share them.
 */
#include "daemon/alerts.h"
#include "daemon/alerts_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *alert_state_name(enum alert_state s)
{
	switch (s) {
	case ALERT_PENDING:
		return "pending";
	case ALERT_FIRING:
		return "firing";
	case ALERT_RESOLVED:
		return "resolved";
	case ALERT_ACKNOWLEDGED:
		return "acknowledged";
	}
	return "unknown";
}

const char *alert_kind_name(enum alert_kind k)
{
	return k == ALERT_QC ? "qc" : k == ALERT_MONITOR ? "monitor" : "equipment";
}

enum alert_kind alert_kind_from_name(const char *s)
{
	return strcmp(s, "qc") == 0 ? ALERT_QC : strcmp(s, "monitor") == 0 ? ALERT_MONITOR
									     : ALERT_EQUIPMENT;
}

/* ---- alerts ---- */

void alerts_clear_timers(struct alert *al)
{
	for (size_t i = 0; i < al->n_esc; i++)
		strset_free(&al->esc[i].receivers);
	free(al->esc);
	al->esc = NULL;
	al->n_esc = 0;
	al->next_repeat = 0;
}

static void alert_free(struct alert *al)
{
	alerts_clear_timers(al);
	strset_free(&al->notified);
	free(al->told_sev);
	free(al);
}

void alerts_alert_delete(struct alerts *a, struct alert *al)
{
	HASH_DEL(a->alerts, al);
	alert_free(al);
}

struct alert *alerts_find(const struct alerts *a, const char *key)
{
	struct alert *al = NULL;

	HASH_FIND_STR(a->alerts, key, al);
	return al;
}

struct alert *alerts_alert_new(struct alerts *a, const char *key)
{
	struct alert *al = calloc(1, sizeof(*al));

	if (al == NULL)
		return NULL;
	snprintf(al->key, sizeof(al->key), "%s", key);
	HASH_ADD_STR(a->alerts, key, al);
	return al;
}

bool alerts_silenced(const struct alerts *a, const char *key, double now)
{
	for (size_t i = 0; i < a->n_silences; i++)
		if (a->silences[i].until > now && fnmatch(a->silences[i].match, key, 0) == 0)
			return true;
	return false;
}

/* ---- groups ---- */

struct group *alerts_group_find(struct alerts *a, const char *receiver, const char *reason)
{
	for (size_t i = 0; i < a->n_groups; i++)
		if (strcmp(a->groups[i].receiver, receiver) == 0 &&
		    strcmp(a->groups[i].reason, reason) == 0)
			return &a->groups[i];
	return NULL;
}

struct group *alerts_group_open(struct alerts *a, const char *receiver, const char *reason,
				double due)
{
	struct group *g = alerts_group_find(a, receiver, reason), *ng;

	if (g != NULL) {
		if (due < g->due)
			g->due = due;
		return g;
	}
	ng = reallocarray(a->groups, a->n_groups + 1, sizeof(*ng));
	if (ng == NULL)
		return NULL;
	a->groups = ng;
	g = &a->groups[a->n_groups++];
	memset(g, 0, sizeof(*g));
	snprintf(g->receiver, sizeof(g->receiver), "%s", receiver);
	snprintf(g->reason, sizeof(g->reason), "%s", reason);
	g->due = due;
	return g;
}

void alerts_group_remove(struct alerts *a, size_t i)
{
	strset_free(&a->groups[i].keys);
	memmove(&a->groups[i], &a->groups[i + 1], (a->n_groups - i - 1) * sizeof(a->groups[0]));
	a->n_groups--;
}

int alerts_silence(struct alerts *a, const char *match, double duration_s, const char *by,
		   double now)
{
	struct silence *ns;

	if (match == NULL || match[0] == '\0' || strlen(match) >= sizeof(ns->match))
		return errno = EINVAL, -1;
	if (duration_s <= 0) {
		for (size_t i = 0; i < a->n_silences;) {
			if (strcmp(a->silences[i].match, match) == 0) {
				memmove(&a->silences[i], &a->silences[i + 1],
					(a->n_silences - i - 1) * sizeof(*ns));
				a->n_silences--;
			} else {
				i++;
			}
		}
		a->dirty = true;
		return 0;
	}
	ns = reallocarray(a->silences, a->n_silences + 1, sizeof(*ns));
	if (ns == NULL)
		return -1;
	a->silences = ns;
	ns = &a->silences[a->n_silences++];
	memset(ns, 0, sizeof(*ns));
	snprintf(ns->match, sizeof(ns->match), "%s", match);
	snprintf(ns->by, sizeof(ns->by), "%s", by ? by : "");
	ns->until = now + duration_s;
	a->dirty = true;
	return 0;
}
