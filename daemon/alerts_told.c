/*
 * alerts_told.c: the alert engine's bookkeeping of receivers: string
 * sets (receivers of a route, keys of a group), and per alert who was
 * told it fired and with which severity (`notified`, `told_sev`), so a
 * resolution goes to exactly them and says what they were told (as
 * Alertmanager's notification log and send_resolved). routes.c marks a
 * receiver told when a notification for it is spooled; alerts.c reads
 * the marks when the alert resolves. Main thread only.
 */
#include "daemon/alerts_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- string sets ---- */

bool strset_has(const struct strset *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], v) == 0)
			return true;
	return false;
}

int strset_add(struct strset *s, const char *v)
{
	char **nv;

	if (strset_has(s, v))
		return 0;
	nv = reallocarray(s->v, s->n + 1, sizeof(*nv));
	if (nv == NULL)
		return -1;
	s->v = nv;
	s->v[s->n] = strdup(v);
	if (s->v[s->n] == NULL)
		return -1;
	s->n++;
	return 0;
}

void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* ---- who was told ---- */

static size_t told_index(const struct alert *al, const char *rcv)
{
	size_t i;

	for (i = 0; i < al->notified.n; i++)
		if (strcmp(al->notified.v[i], rcv) == 0)
			break;
	return i;
}

int alerts_told(struct alert *al, const char *rcv, enum severity sev)
{
	size_t i = told_index(al, rcv);
	enum severity *ns;

	if (i == al->notified.n) {
		/* Grow the severities first: a failed strset_add leaves both as
		 * they were (the extra slot is harmless). */
		ns = reallocarray(al->told_sev, al->notified.n + 1, sizeof(*ns));
		if (ns == NULL)
			return -1;
		al->told_sev = ns;
		if (strset_add(&al->notified, rcv) == -1)
			return -1;
	}
	al->told_sev[i] = sev;
	return 0;
}

bool alerts_was_told(const struct alert *al, const char *rcv, enum severity *sev)
{
	size_t i = told_index(al, rcv);

	if (i == al->notified.n)
		return false;
	*sev = al->told_sev[i];
	return true;
}

void alerts_untold(struct alert *al, const char *rcv)
{
	size_t i = told_index(al, rcv), last;

	if (i == al->notified.n)
		return;
	last = al->notified.n - 1;
	free(al->notified.v[i]);
	al->notified.v[i] = al->notified.v[last];
	al->told_sev[i] = al->told_sev[last];
	al->notified.n = last;
}
