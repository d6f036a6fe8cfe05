/*
 * notif_fixture.h: the notification the mime and webhook tests render:
 * two fridges of one power cut, one firing with a chart, one resolved.
 * Header-only so each test stays one file plus what it links.
 */
#ifndef LABQCD_NOTIF_FIXTURE_H
#define LABQCD_NOTIF_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/spool.h"

/* Wednesday 2025-11-19 09:00:00 UTC. */
#define FIXTURE_T0 1763542800.0

static void fixture_alert(struct notif_alert *a, const char *ins, const char *status,
			  double value, double starts, double ends)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->key, sizeof(a->key), "main/%s/temp/range", ins);
	snprintf(a->kind, sizeof(a->kind), "equipment");
	snprintf(a->site, sizeof(a->site), "main");
	snprintf(a->instrument, sizeof(a->instrument), "%s", ins);
	snprintf(a->channel, sizeof(a->channel), "temp");
	snprintf(a->rule, sizeof(a->rule), "range");
	snprintf(a->severity, sizeof(a->severity), "critical");
	snprintf(a->status, sizeof(a->status), "%s", status);
	a->value = value;
	snprintf(a->summary, sizeof(a->summary), "temp %.1f C above max 8 C for 15m", value);
	a->starts_at = starts;
	a->ends_at = ends;
}

static void fixture_notification(struct notification *n, enum notif_kind kind)
{
	struct notif_alert a;

	memset(n, 0, sizeof(*n));
	snprintf(n->id, sizeof(n->id), "1763542810000-00000007-chat");
	n->kind = kind;
	snprintf(n->receiver, sizeof(n->receiver), "chat");
	snprintf(n->status, sizeof(n->status), "firing");
	snprintf(n->reason, sizeof(n->reason), "new");
	snprintf(n->group_key, sizeof(n->group_key), "{}:{receiver=\"chat\"}");
	snprintf(n->external_url, sizeof(n->external_url), "http://lab.example/labqcd/");
	n->created = FIXTURE_T0 + 10;
	snprintf(n->to[n->n_to++], sizeof(n->to[0]), "qc-lead@lab.example");
	snprintf(n->to[n->n_to++], sizeof(n->to[0]), "Lab Manager <manager@lab.example>");
	fixture_alert(&a, "fridge-02", "firing", 9.1, FIXTURE_T0, 0);
	notification_add_alert(n, &a);
	fixture_alert(&a, "fridge-03", "resolved", 8.4, FIXTURE_T0 + 0.25, FIXTURE_T0 + 300);
	notification_add_alert(n, &a);
}

#endif
