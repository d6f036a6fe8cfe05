/*
 * webhook.c: webhook bodies (cJSON) and the HMAC-SHA256 signature
 * (OpenSSL libcrypto). Pure; see webhook.h.
 *
 * Alertmanager labels of an alert: alertname (= rule), key, site,
 * instrument, channel, severity, kind; annotations: summary. The
 * fingerprint is FNV-1a 64 of the key in hex, stable for one alert as in
 * Alertmanager (which hashes the label set).
 */
#include "daemon/webhook.h"
#include "daemon/clock.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void webhook_rfc3339(double t, char *buf, size_t len)
{
	if (t <= 0) {
		snprintf(buf, len, "0001-01-01T00:00:00Z");
		return;
	}
	clock_rfc3339(t, true, buf, len);
}

static void add_time(cJSON *o, const char *name, double t)
{
	char buf[40];

	webhook_rfc3339(t, buf, sizeof(buf));
	cJSON_AddStringToObject(o, name, buf);
}

static cJSON *labels_of(const struct notif_alert *a)
{
	cJSON *l = cJSON_CreateObject();

	cJSON_AddStringToObject(l, "alertname", a->rule);
	cJSON_AddStringToObject(l, "key", a->key);
	cJSON_AddStringToObject(l, "site", a->site);
	cJSON_AddStringToObject(l, "instrument", a->instrument);
	cJSON_AddStringToObject(l, "channel", a->channel);
	cJSON_AddStringToObject(l, "severity", a->severity);
	cJSON_AddStringToObject(l, "kind", a->kind);
	return l;
}

static cJSON *annotations_of(const struct notif_alert *a)
{
	cJSON *an = cJSON_CreateObject();

	cJSON_AddStringToObject(an, "summary", a->summary);
	return an;
}

/* The members every object of objs shares with the same string value. */
static cJSON *common_of(cJSON **objs, size_t n)
{
	cJSON *common = cJSON_CreateObject(), *it;

	if (n == 0)
		return common;
	cJSON_ArrayForEach(it, objs[0])
	{
		bool same = true;
		for (size_t i = 1; i < n && same; i++) {
			const cJSON *o = cJSON_GetObjectItemCaseSensitive(objs[i], it->string);
			same = cJSON_IsString(o) && strcmp(o->valuestring, it->valuestring) == 0;
		}
		if (same)
			cJSON_AddStringToObject(common, it->string, it->valuestring);
	}
	return common;
}

static void fingerprint(const char *key, char out[17])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static char *print_and_free(cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	return s;
}

char *webhook_alertmanager(const struct notification *n)
{
	cJSON *o = cJSON_CreateObject(), *arr, *gl;
	cJSON **labels = calloc(n->n_alerts ? n->n_alerts : 1, sizeof(*labels));
	cJSON **annos = calloc(n->n_alerts ? n->n_alerts : 1, sizeof(*annos));

	if (o == NULL || labels == NULL || annos == NULL) {
		cJSON_Delete(o);
		free(labels);
		free(annos);
		return NULL;
	}
	cJSON_AddStringToObject(o, "version", "4");
	cJSON_AddStringToObject(o, "groupKey", n->group_key);
	cJSON_AddNumberToObject(o, "truncatedAlerts", 0);
	cJSON_AddStringToObject(o, "status", n->status);
	cJSON_AddStringToObject(o, "receiver", n->receiver);
	gl = cJSON_AddObjectToObject(o, "groupLabels");
	cJSON_AddStringToObject(gl, "receiver", n->receiver);
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < n->n_alerts; i++) {
		const struct notif_alert *a = &n->alerts[i];
		cJSON *ao = cJSON_CreateObject();
		char fp[17];

		cJSON_AddStringToObject(ao, "status", a->status);
		labels[i] = labels_of(a);
		annos[i] = annotations_of(a);
		cJSON_AddItemToObject(ao, "labels", labels[i]);
		cJSON_AddItemToObject(ao, "annotations", annos[i]);
		add_time(ao, "startsAt", a->starts_at);
		add_time(ao, "endsAt", strcmp(a->status, "resolved") == 0 ? a->ends_at : 0);
		cJSON_AddStringToObject(ao, "generatorURL", n->external_url);
		fingerprint(a->key, fp);
		cJSON_AddStringToObject(ao, "fingerprint", fp);
		cJSON_AddItemToArray(arr, ao);
	}
	cJSON_AddItemToObject(o, "commonLabels", common_of(labels, n->n_alerts));
	cJSON *common = common_of(annos, n->n_alerts);
	if (n->audit_head[0]) /* issue 20: the audit log's anchor */
		cJSON_AddStringToObject(common, "audit_head", n->audit_head);
	cJSON_AddItemToObject(o, "commonAnnotations", common);
	cJSON_AddStringToObject(o, "externalURL", n->external_url);
	cJSON_AddItemToObject(o, "alerts", arr);
	free(labels);
	free(annos);
	return print_and_free(o);
}

char *webhook_slack(const struct notification *n)
{
	cJSON *o = cJSON_CreateObject(), *blocks, *sec, *txt;
	size_t cap = 512 + n->n_alerts * 600, off = 0;
	char *md = malloc(cap), head[NOTIF_KEY_MAX + 64], when[40];
	const char *status = strcmp(n->status, "resolved") == 0 ? "RESOLVED" : "FIRING";

	if (o == NULL || md == NULL) {
		cJSON_Delete(o);
		free(md);
		return NULL;
	}
	snprintf(head, sizeof(head), "[%s:%zu] %s%s", status, n->n_alerts,
		 n->n_alerts ? n->alerts[0].key : "", n->n_alerts > 1 ? " and others" : "");
	off += (size_t)snprintf(md + off, cap - off, "*[%s:%zu] labqcd, %s*", status, n->n_alerts,
				n->receiver);
	for (size_t i = 0; i < n->n_alerts && off < cap; i++) {
		const struct notif_alert *a = &n->alerts[i];
		webhook_rfc3339(a->starts_at, when, sizeof(when));
		off += (size_t)snprintf(md + off, cap - off, "\n• *%s* (%s, %s) %s, since %s",
					a->key, a->severity, a->status, a->summary, when);
	}
	if (n->audit_head[0] && off < cap)
		snprintf(md + off, cap - off, "\naudit head: %s", n->audit_head);
	cJSON_AddStringToObject(o, "text", head);
	blocks = cJSON_AddArrayToObject(o, "blocks");
	sec = cJSON_CreateObject();
	cJSON_AddStringToObject(sec, "type", "section");
	txt = cJSON_AddObjectToObject(sec, "text");
	cJSON_AddStringToObject(txt, "type", "mrkdwn");
	cJSON_AddStringToObject(txt, "text", md);
	cJSON_AddItemToArray(blocks, sec);
	free(md);
	return print_and_free(o);
}

char *webhook_plain(const struct notification *n)
{
	cJSON *o = cJSON_CreateObject(), *arr;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "receiver", n->receiver);
	cJSON_AddStringToObject(o, "status", n->status);
	cJSON_AddStringToObject(o, "reason", n->reason);
	cJSON_AddStringToObject(o, "group_key", n->group_key);
	if (n->audit_head[0])
		cJSON_AddStringToObject(o, "audit_head", n->audit_head);
	arr = cJSON_AddArrayToObject(o, "records");
	for (size_t i = 0; i < n->n_alerts; i++) {
		const struct notif_alert *a = &n->alerts[i];
		bool resolved = strcmp(a->status, "resolved") == 0;
		cJSON *r = cJSON_CreateObject();

		add_time(r, "ts", resolved && a->ends_at > 0 ? a->ends_at : a->starts_at);
		cJSON_AddStringToObject(r, "type", "alert");
		cJSON_AddStringToObject(r, "key", a->key);
		cJSON_AddStringToObject(r, "state", a->status);
		cJSON_AddStringToObject(r, "severity", a->severity);
		if (isfinite(a->value))
			cJSON_AddNumberToObject(r, "value", a->value);
		else
			cJSON_AddNullToObject(r, "value");
		cJSON_AddStringToObject(r, "summary", a->summary);
		add_time(r, "since", a->starts_at);
		cJSON_AddBoolToObject(r, "acknowledged", a->acknowledged);
		cJSON_AddItemToArray(arr, r);
	}
	return print_and_free(o);
}

char *webhook_body(const struct notification *n)
{
	switch (n->format) {
	case WEBHOOK_SLACK:
		return webhook_slack(n);
	case WEBHOOK_PLAIN:
		return webhook_plain(n);
	default:
		return webhook_alertmanager(n);
	}
}

int webhook_hmac_hex(const void *key, size_t keylen, const void *data, size_t len,
		     char hex[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (keylen > (size_t)INT32_MAX ||
	    HMAC(EVP_sha256(), key, (int)keylen, data, len, mac, &maclen) == NULL || maclen != 32)
		return -1;
	for (unsigned i = 0; i < maclen; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return 0;
}
