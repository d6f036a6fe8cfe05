/*
 * severity.c: the names of the severities, written and read in one place
 * (config, records, alert state, notifications, the dashboard).
 */
#include <string.h>

#include "rules/rules.h"

static const char *const names[] = {[SEV_NONE] = "none",
                                    [SEV_INFO] = "info",
                                    [SEV_WARNING] = "warning",
                                    [SEV_CRITICAL] = "critical",
                                    NULL};

const char *severity_name(enum severity s)
{
	return (int)s >= SEV_NONE && s <= SEV_CRITICAL ? names[s] : "none";
}

const char *const *severity_words(void)
{
	return names + SEV_INFO;
}

int severity_parse(const char *s, enum severity *out)
{
	for (int i = SEV_INFO; s != NULL && i <= SEV_CRITICAL; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum severity)i;
			return 0;
		}
	return -1;
}

enum severity severity_from_name(const char *s)
{
	enum severity sev;

	return severity_parse(s, &sev) == 0 ? sev : SEV_NONE;
}
