/*
 * access.c: roles on the control socket (access.h) and the `denied`
 * record shared with the signed acknowledgements (ack_sign.c).
 *
 * Group names in grants are looked up (getgrnam_r) when a request
 * comes: a group created after the daemon started counts at once, and
 * -t does not depend on /etc/group. A grant naming a group that does
 * not exist allows nobody.
 */
#include "daemon/access.h"
#include "daemon/labqcd.h"

#include <fnmatch.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>

/* The first word of args into w (empty when none). */
static void first_word(const char *args, char *w, size_t len)
{
	size_t n = 0;

	while (*args == ' ' || *args == '\t')
		args++;
	while (args[n] && args[n] != ' ' && args[n] != '\t')
		n++;
	snprintf(w, len, "%.*s", (int)n, args);
}

bool access_right_of(const char *cmd, const char *args, char *right, size_t rlen, char *target,
                     size_t tlen)
{
	target[0] = '\0';
	if (strcmp(cmd, "status") == 0)
		return false;
	snprintf(right, rlen, "%s", cmd);
	if (strcmp(cmd, "qc-action") == 0) {
		/* {"key": ..., "override": ...}: an override is its own right. */
		cJSON *o = cJSON_Parse(args);
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");

		if (cJSON_IsString(key))
			snprintf(target, tlen, "%s", key->valuestring);
		if (cJSON_GetObjectItemCaseSensitive(o, "override") != NULL)
			snprintf(right, rlen, "override");
		cJSON_Delete(o);
	} else if (strcmp(cmd, "ack") == 0 || strcmp(cmd, "silence") == 0 ||
	           strcmp(cmd, "maintenance") == 0 || strcmp(cmd, "service-done") == 0) {
		first_word(args, target, tlen);
	}
	return true;
}

/* site/instrument of a target (an alert key, a silence glob, an
 * instrument): its first two levels, taken literally. */
static void place_of(const char *target, char *place, size_t len)
{
	const char *slash = strchr(target, '/');
	const char *end = slash ? strchr(slash + 1, '/') : NULL;
	size_t n = end ? (size_t)(end - target) : strlen(target);

	snprintf(place, len, "%.*s", (int)n, target);
}

bool access_grant_allows(const struct cfg_grant *g, const char *right, const char *target)
{
	char place[2 * CFG_NAME_MAX + 2];
	bool may = false;

	for (size_t i = 0; i < g->n_may && !may; i++)
		may = strcmp(g->may[i], "all") == 0 || strcmp(g->may[i], right) == 0;
	if (!may)
		return false;
	if (g->n_on == 0)
		return true;
	if (target[0] == '\0')
		return false;
	/* A silence glob is taken literally ('*' in the target is a
	 * character), so a grant on main's instruments covers the glob of
	 * all of main's instruments and narrower ones, never "*" (all
	 * sites). FNM_PATHNAME: a '*' of the grant stays within a level. */
	place_of(target, place, sizeof(place));
	for (size_t i = 0; i < g->n_on; i++)
		if (fnmatch(g->on[i], place, FNM_PATHNAME) == 0)
			return true;
	return false;
}

static bool in_group(const struct access_peer *p, const char *group)
{
	struct group gr, *res = NULL;
	char buf[16384];

	if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
		return false;
	for (size_t i = 0; i < p->n_gids; i++)
		if (p->gids[i] == res->gr_gid)
			return true;
	return false;
}

bool access_allowed(const struct cfg_access *a, const struct access_peer *p, const char *right,
                    const char *target, char *why, size_t whylen)
{
	bool member = false;

	if (!a->present || p->uid == 0)
		return true;
	for (size_t i = 0; i < a->n_grants; i++) {
		const struct cfg_grant *g = &a->grants[i];

		if (!in_group(p, g->who))
			continue;
		member = true;
		if (access_grant_allows(g, right, target))
			return true;
	}
	if (!member)
		snprintf(why, whylen, "%s is in no group that access: names", p->account);
	else
		snprintf(why, whylen, "no grant of %s's groups allows %s%s%s", p->account, right,
		         target[0] ? " on " : "", target);
	return false;
}

void access_denied(struct labqcd *d, uint64_t seq, const char *via, const char *by,
                   const char *command, const char *target, const char *reason)
{
	cJSON *rec = cJSON_CreateObject();

	cJSON_AddStringToObject(rec, "type", "denied");
	cJSON_AddStringToObject(rec, "via", via);
	cJSON_AddStringToObject(rec, "by", by);
	cJSON_AddStringToObject(rec, "command", command);
	if (target[0])
		cJSON_AddStringToObject(rec, "target", target);
	cJSON_AddStringToObject(rec, "reason", reason);
	audit_write(d->audit, d->clock > 0 ? d->clock : wall_clock(), seq, rec);
	log_warnx("denied: %s (%s) %s%s%s: %s", by, via, command, target[0] ? " " : "", target,
	          reason);
	/* Durable (and anchored) before the answer goes out. */
	if (audit_sync(d->audit) == -1)
		log_warn("denied record: audit log");
}
