/*
 * audit_publish.c: the audit log's anchor (audit.h) published retained
 * on <prefix>/labqcd/audit/head, so a copy of where the chain ends lives
 * off this host: a log cut together with its audit.head still disagrees
 * with what the broker (and any subscriber that logs it) last saw.
 * Called from the checkpoint, every flush_interval; main thread. Sent
 * every time, changed or not: a broker restarted without persistence
 * has it again within one interval.
 */
#include "daemon/labqcd.h"

#include <stdio.h>

void audit_publish_head(struct labqcd *d)
{
	char topic[CFG_NAME_MAX + 32], payload[160], sha[65];
	unsigned long records;

	if (d->mqtt == NULL || d->audit == NULL)
		return;
	audit_head(d->audit, &records, sha);
	snprintf(payload, sizeof(payload), "{\"records\":%lu,\"sha256\":\"%s\"}", records, sha);
	snprintf(topic, sizeof(topic), "%s/labqcd/audit/head", d->cfg->mqtt.prefix);
	mqtt_publish_retained(d->mqtt, topic, payload); /* disconnected: the next one */
}
