/*
 * rules.h: the interface of rules/, labqcd's pure evaluation code.
 *
 * Nothing in rules/ does I/O, reads a clock or keeps a global: every
 * function takes its state, its parameters, the value and the time as
 * arguments and returns a verdict. The daemon owns the state, persists it
 * and turns verdicts into records and alerts.
 *
 * Shared vocabulary lives here; each rule family has its own header:
 * westgard.h (QC multirule) and equipment.h (range, stale, rate, drift,
 * service counters, calendar, tasks, status).
 */
#ifndef LABQCD_RULES_H
#define LABQCD_RULES_H

#include <stdbool.h>
#include <stddef.h>

enum severity { SEV_NONE = 0, SEV_INFO, SEV_WARNING, SEV_CRITICAL };

/* severity.c: "none", "info", "warning", "critical" (out of range:
 * "none"); severity_parse takes the three that a config may name (0, or
 * -1 for anything else); severity_from_name reads any of the four back
 * (anything else: SEV_NONE). */
const char *severity_name(enum severity s);
int severity_parse(const char *s, enum severity *out);
enum severity severity_from_name(const char *s);
/* The names a config may give, NULL-terminated: "info", "warning", "critical". */
const char *const *severity_words(void);

/* What a rule says about its key right now. The daemon's alert engine
 * compares it with the key's previous condition to make transitions
 * (pending -> firing -> resolved, and severity changes). */
enum cond_state {
	COND_OK = 0,  /* nothing wrong (an alert, if any, resolves) */
	COND_PENDING, /* out of bounds, still inside its delay */
	COND_FIRING,  /* an alert condition */
};

#define COND_SUMMARY_MAX 200

struct condition {
	enum cond_state state;
	enum severity severity; /* for PENDING and FIRING */
	double value;           /* the value that caused it (NAN if none) */
	double since;           /* epoch seconds the condition began */
	double peak;            /* furthest value of the excursion so far (range; else NAN) */
	char summary[COND_SUMMARY_MAX]; /* one line for people */
};

#include <cJSON.h>

/* json_exact.c: a finite double as a raw JSON number that reads back to
 * the same double (NULL for NaN and infinities: the caller decides); and
 * a number read back from a parsed number or a raw item. */
cJSON *rules_json_exact(double x);
bool rules_json_value(const cJSON *x, double *out);

#include "rules/westgard.h"
#include "rules/equipment.h"

#endif
