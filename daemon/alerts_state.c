/*
 * alerts_state.c: the alert engine's state file, <state_dir>/alerts.json.
 *
 * One JSON document: every alert (with its ack, who was told and with
 * which severity, repeat and escalation times), the groups still inside group_wait (with which of
 * email and webhook were already spooled), the silences, and the ids of
 * notifications staged in the spool ("spooled"; the commit record of
 * the two-phase spooling described in alerts.c). Written
 * whole with write-fsync-rename, only when something changed. A file
 * that does not parse is moved aside with a log line, never silently
 * reset. Main thread only.
 */
#include "daemon/alerts_int.h"
#include "daemon/fsutil.h"
#include "daemon/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- persistence ---- */

static cJSON *strset_json(const struct strset *s)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < s->n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(s->v[i]));
	return arr;
}

static int strset_from_json(const cJSON *arr, struct strset *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it) || strset_add(s, it->valuestring) == -1)
			return -1;
	}
	return 0;
}

static cJSON *alert_json(const struct alert *al)
{
	cJSON *o = cJSON_CreateObject(), *esc;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "key", al->key);
	cJSON_AddStringToObject(o, "kind", alert_kind_name(al->kind));
	cJSON_AddStringToObject(o, "site", al->site);
	cJSON_AddStringToObject(o, "instrument", al->instrument);
	cJSON_AddStringToObject(o, "channel", al->channel);
	cJSON_AddStringToObject(o, "rule", al->rule);
	cJSON_AddStringToObject(o, "state", alert_state_name(al->state));
	cJSON_AddStringToObject(o, "severity", severity_name(al->severity));
	if (isfinite(al->value))
		cJSON_AddNumberToObject(o, "value", al->value);
	cJSON_AddStringToObject(o, "summary", al->summary);
	cJSON_AddStringToObject(o, "chart", al->chart);
	cJSON_AddNumberToObject(o, "since", al->since);
	cJSON_AddNumberToObject(o, "ended", al->ended);
	cJSON_AddBoolToObject(o, "acked", al->acked);
	cJSON_AddStringToObject(o, "ack_by", al->ack_by);
	cJSON_AddStringToObject(o, "ack_comment", al->ack_comment);
	cJSON_AddNumberToObject(o, "ack_t", al->ack_t);
	cJSON_AddBoolToObject(o, "suppressed", al->suppressed);
	cJSON_AddItemToObject(o, "notified", strset_json(&al->notified));
	/* Added later, beside "notified" so older readers still load it. */
	cJSON *sev = cJSON_AddArrayToObject(o, "notified_severity");
	for (size_t i = 0; sev && i < al->notified.n; i++)
		cJSON_AddItemToArray(sev, cJSON_CreateString(severity_name(al->told_sev[i])));
	cJSON_AddNumberToObject(o, "group_wait_s", al->group_wait_s);
	cJSON_AddNumberToObject(o, "repeat_s", al->repeat_s);
	cJSON_AddNumberToObject(o, "next_repeat", al->next_repeat);
	esc = cJSON_AddArrayToObject(o, "escalations");
	for (size_t i = 0; esc && i < al->n_esc; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "at", al->esc[i].at);
		cJSON_AddBoolToObject(s, "done", al->esc[i].done);
		cJSON_AddItemToObject(s, "receivers", strset_json(&al->esc[i].receivers));
		cJSON_AddItemToArray(esc, s);
	}
	return o;
}

/* Step 2: alerts.json, with the staged ids under "spooled". */
static int alerts_write(struct alerts *a)
{
	cJSON *o, *arr;
	const struct alert *al, *tmp;
	char *text;
	int rc;

	if (!a->dirty || a->path[0] == '\0')
		return 0;
	o = cJSON_CreateObject();
	if (o == NULL)
		return errno = ENOMEM, -1;
	cJSON_AddNumberToObject(o, "version", 1);
	arr = cJSON_AddArrayToObject(o, "alerts");
	HASH_ITER(hh, a->alerts, al, tmp)
	cJSON_AddItemToArray(arr, alert_json(al));
	arr = cJSON_AddArrayToObject(o, "groups");
	for (size_t i = 0; i < a->n_groups; i++) {
		const struct group *g = &a->groups[i];
		cJSON *go = cJSON_CreateObject();
		cJSON_AddStringToObject(go, "receiver", g->receiver);
		cJSON_AddStringToObject(go, "reason", g->reason);
		cJSON_AddNumberToObject(go, "due", g->due);
		cJSON_AddBoolToObject(go, "email_done", g->email_done);
		cJSON_AddBoolToObject(go, "webhook_done", g->webhook_done);
		cJSON_AddItemToObject(go, "keys", strset_json(&g->keys));
		cJSON_AddItemToArray(arr, go);
	}
	arr = cJSON_AddArrayToObject(o, "silences");
	for (size_t i = 0; i < a->n_silences; i++) {
		cJSON *so = cJSON_CreateObject();
		cJSON_AddStringToObject(so, "match", a->silences[i].match);
		cJSON_AddStringToObject(so, "by", a->silences[i].by);
		cJSON_AddNumberToObject(so, "until", a->silences[i].until);
		cJSON_AddItemToArray(arr, so);
	}
	cJSON_AddItemToObject(o, "spooled", strset_json(&a->staged));
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		return errno = ENOMEM, -1;
	rc = fs_write_atomic(a->path, text, strlen(text), 0600);
	free(text);
	if (rc == 0)
		a->dirty = false;
	return rc;
}

/* Step 3 of alerts.c's protocol: make what alerts.json now records as
 * staged sendable. 0, or -1 if one stays staged (logged). */
static int commit_staged(struct alerts *a)
{
	int rc = 0;

	if (a->spool == NULL)
		return 0; /* a reader of alerts.json: the daemon commits them */
	for (size_t i = 0; i < a->staged.n;) {
		if (spool_commit(a->spool, a->staged.v[i]) == 0) {
			/* sendable now */
		} else if (errno == ENOENT) {
			log_warnx("alerts: spool entry %s vanished before it was committed",
				  a->staged.v[i]);
		} else {
			/* Still recorded in alerts.json: the next save, or
			 * spool_recover at the next start, tries again. */
			log_warn("alerts: committing spool entry %s", a->staged.v[i]);
			rc = -1;
			i++;
			continue;
		}
		free(a->staged.v[i]);
		a->staged.v[i] = a->staged.v[--a->staged.n];
	}
	return rc;
}

int alerts_save(struct alerts *a)
{
	int rc = alerts_write(a);

	/* Only once alerts.json records the staged ids (or there is no
	 * alerts.json to disagree with) may the notifier see them. */
	if (rc == 0 && a->staged.n > 0)
		rc = commit_staged(a);
	return rc;
}

static void get_s(const cJSON *o, const char *name, char *dst, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	snprintf(dst, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static double get_n(const cJSON *o, const char *name, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static bool get_b(const cJSON *o, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* "notified" with "notified_severity" beside it. A file of the previous
 * version has no severities and listed a receiver as soon as the alert
 * was queued for it: load_doc then drops those still waiting in a group
 * (legacy_told), and the others were told the alert's severity. */
static int load_told(struct alert *al, const cJSON *o)
{
	const cJSON *sev = cJSON_GetObjectItemCaseSensitive(o, "notified_severity"), *it;
	struct strset rcv = {0};
	size_t i = 0;
	int rc = 0;

	if (strset_from_json(cJSON_GetObjectItemCaseSensitive(o, "notified"), &rcv) == -1) {
		strset_free(&rcv);
		return -1;
	}
	if (sev != NULL && (!cJSON_IsArray(sev) || (size_t)cJSON_GetArraySize(sev) != rcv.n))
		rc = -1;
	for (i = 0; rc == 0 && i < rcv.n; i++) {
		enum severity s = al->severity;
		if (sev != NULL) {
			it = cJSON_GetArrayItem(sev, (int)i);
			if (!cJSON_IsString(it)) {
				rc = -1;
				break;
			}
			s = severity_from_name(it->valuestring); /* "none" is none */
		}
		if (alerts_told(al, rcv.v[i], s) == -1)
			rc = -1;
	}
	strset_free(&rcv);
	return rc;
}

/* A previous version's receiver whose "new" or "escalation" group still
 * holds the alert has not been told yet. */
static void legacy_told(struct alerts *a, const cJSON *doc)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "alerts"))
	{
		char key[ALERT_KEY_MAX];
		struct alert *al;

		if (cJSON_GetObjectItemCaseSensitive(it, "notified_severity") != NULL)
			continue;
		get_s(it, "key", key, sizeof(key));
		if ((al = alerts_find(a, key)) == NULL)
			continue;
		for (size_t i = 0; i < a->n_groups; i++) {
			const struct group *g = &a->groups[i];
			if ((strcmp(g->reason, "new") == 0 || strcmp(g->reason, "escalation") == 0) &&
			    !g->email_done && !g->webhook_done && strset_has(&g->keys, key))
				alerts_untold(al, g->receiver);
		}
	}
}

static int load_alert(struct alerts *a, const cJSON *o)
{
	char key[ALERT_KEY_MAX], s[32];
	const cJSON *esc, *it;
	struct alert *al;

	get_s(o, "key", key, sizeof(key));
	if (key[0] == '\0' || alerts_find(a, key) != NULL)
		return -1;
	al = alerts_alert_new(a, key);
	if (al == NULL)
		return -1;
	get_s(o, "kind", s, sizeof(s));
	al->kind = alert_kind_from_name(s);
	get_s(o, "site", al->site, sizeof(al->site));
	get_s(o, "instrument", al->instrument, sizeof(al->instrument));
	get_s(o, "channel", al->channel, sizeof(al->channel));
	get_s(o, "rule", al->rule, sizeof(al->rule));
	get_s(o, "state", s, sizeof(s));
	if (strcmp(s, "pending") == 0)
		al->state = ALERT_PENDING;
	else if (strcmp(s, "firing") == 0)
		al->state = ALERT_FIRING;
	else if (strcmp(s, "resolved") == 0)
		al->state = ALERT_RESOLVED;
	else
		return -1;
	get_s(o, "severity", s, sizeof(s));
	al->severity = severity_from_name(s);
	al->value = get_n(o, "value", NAN);
	get_s(o, "summary", al->summary, sizeof(al->summary));
	get_s(o, "chart", al->chart, sizeof(al->chart));
	al->since = get_n(o, "since", 0);
	al->ended = get_n(o, "ended", 0);
	al->acked = get_b(o, "acked");
	get_s(o, "ack_by", al->ack_by, sizeof(al->ack_by));
	get_s(o, "ack_comment", al->ack_comment, sizeof(al->ack_comment));
	al->ack_t = get_n(o, "ack_t", 0);
	al->suppressed = get_b(o, "suppressed");
	if (load_told(al, o) == -1)
		return -1;
	al->group_wait_s = get_n(o, "group_wait_s", 0);
	al->repeat_s = get_n(o, "repeat_s", 0);
	al->next_repeat = get_n(o, "next_repeat", 0);
	if (al->repeat_s <= 0)
		al->next_repeat = 0;
	esc = cJSON_GetObjectItemCaseSensitive(o, "escalations");
	cJSON_ArrayForEach(it, esc)
	{
		struct esc_step *v = reallocarray(al->esc, al->n_esc + 1, sizeof(*v));
		if (v == NULL)
			return -1;
		al->esc = v;
		v = &al->esc[al->n_esc++];
		memset(v, 0, sizeof(*v));
		v->at = get_n(it, "at", 0);
		v->done = get_b(it, "done");
		if (strset_from_json(cJSON_GetObjectItemCaseSensitive(it, "receivers"),
				     &v->receivers) == -1)
			return -1;
	}
	return 0;
}

static int load_doc(struct alerts *a, const cJSON *doc)
{
	const cJSON *it;

	if (!cJSON_IsObject(doc) || get_n(doc, "version", 0) != 1)
		return -1;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "alerts"))
	{
		if (load_alert(a, it) == -1)
			return -1;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "groups"))
	{
		char rcv[CFG_NAME_MAX], reason[16];
		struct group *g;
		get_s(it, "receiver", rcv, sizeof(rcv));
		get_s(it, "reason", reason, sizeof(reason));
		if (rcv[0] == '\0' || reason[0] == '\0')
			return -1;
		g = alerts_group_open(a, rcv, reason, get_n(it, "due", 0));
		if (g == NULL)
			return -1;
		g->email_done = get_b(it, "email_done");
		g->webhook_done = get_b(it, "webhook_done");
		if (strset_from_json(cJSON_GetObjectItemCaseSensitive(it, "keys"), &g->keys) == -1)
			return -1;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "silences"))
	{
		char match[ALERT_KEY_MAX], by[CFG_TEXT_MAX];
		get_s(it, "match", match, sizeof(match));
		get_s(it, "by", by, sizeof(by));
		/* Re-add with its absolute end: duration from 0. */
		if (match[0] == '\0' || alerts_silence(a, match, get_n(it, "until", 0), by, 0) == -1)
			return -1;
	}
	if (strset_from_json(cJSON_GetObjectItemCaseSensitive(doc, "spooled"), &a->staged) == -1)
		return -1;
	legacy_told(a, doc);
	return 0;
}

int alerts_load(struct alerts *a)
{
	char *text;
	size_t len;
	cJSON *doc;
	char aside[CFG_PATH_MAX + 64];
	struct alert *al, *tmp;

	if (fs_read_all(a->path, &text, &len) == -1)
		return errno == ENOENT ? 0 : -1;
	doc = cJSON_ParseWithLength(text, len);
	free(text);
	if (load_doc(a, doc) == 0) {
		cJSON_Delete(doc);
		a->dirty = false;
		log_info("alerts: %u alerts, %zu groups waiting, %zu silences from %s",
			 HASH_COUNT(a->alerts), a->n_groups, a->n_silences, a->path);
		return 0;
	}
	cJSON_Delete(doc);
	HASH_ITER(hh, a->alerts, al, tmp)
	alerts_alert_delete(a, al);
	while (a->n_groups > 0)
		alerts_group_remove(a, a->n_groups - 1);
	a->n_silences = 0;
	strset_free(&a->staged);
	if (fs_move_aside(a->path, aside, sizeof(aside)) == -1)
		return -1;
	log_warnx("alerts: %s is corrupt, moved to %s; starting with no alerts", a->path, aside);
	a->dirty = true;
	return 0;
}
