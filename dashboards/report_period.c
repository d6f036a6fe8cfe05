/*
 * report_period.c: a report's period (a month, an ISO week, a range of
 * days, in local time), its days, and the times its pages print. The
 * bottom of the report's files: it calls none of them.
 */
#include "dashboards/report_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the period ---- */

static double local_midnight(int y, int m, int d)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1};

	return (double)mktime(&tm);
}

static bool valid_date(int y, int m, int d)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12,
	                .tm_isdst = -1};

	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31 || mktime(&tm) == -1)
		return false;
	return tm.tm_mon == m - 1 && tm.tm_mday == d; /* 2026-02-30 normalised away */
}

/* Monday of ISO week `w` of ISO year `y`: week 1 holds 4 January. */
static double iso_week_start(int y, int w)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = 0, .tm_mday = 4, .tm_hour = 12,
	                .tm_isdst = -1};
	int wday;

	mktime(&tm);
	wday = tm.tm_wday == 0 ? 7 : tm.tm_wday;
	return local_midnight(y, 1, 4 - (wday - 1) + 7 * (w - 1));
}

static int iso_weeks_in(int y)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = 11, .tm_mday = 28, .tm_hour = 12,
	                .tm_isdst = -1};
	char buf[8];

	mktime(&tm); /* 28 December is always in the year's last ISO week */
	strftime(buf, sizeof(buf), "%V", &tm);
	return atoi(buf) == 53 ? 53 : 52;
}

int report_period_parse(const char *s, struct report_period *p, char *err, size_t errlen)
{
	int y, m, d, y2, m2, d2, w, n = -1;
	size_t len = strlen(s);

	memset(p, 0, sizeof(*p));
	if (len == 7 && sscanf(s, "%4d-%2d%n", &y, &m, &n) == 2 && n == 7 && valid_date(y, m, 1)) {
		p->start = local_midnight(y, m, 1);
		p->end = local_midnight(y, m + 1, 1);
	} else if (len == 8 && sscanf(s, "%4d-W%2d%n", &y, &w, &n) == 2 && n == 8 && y >= 1970 &&
	           w >= 1 && w <= iso_weeks_in(y)) {
		p->start = iso_week_start(y, w);
		p->end = iso_week_start(y, w + 1);
	} else if (len == 22 &&
	           sscanf(s, "%4d-%2d-%2d..%4d-%2d-%2d%n", &y, &m, &d, &y2, &m2, &d2, &n) == 6 &&
	           n == 22 && valid_date(y, m, d) && valid_date(y2, m2, d2)) {
		p->start = local_midnight(y, m, d);
		p->end = local_midnight(y2, m2, d2 + 1);
		if (!(p->end > p->start) || p->end - p->start > 400 * 86400.0) {
			snprintf(err, errlen, "\"%s\": the last day comes before the first, or the "
			                      "range passes 400 days", s);
			return -1;
		}
	} else {
		snprintf(err, errlen,
		         "\"%s\" is not a period: a month (2026-11), an ISO week (2026-W47) or "
		         "days (2026-11-01..2026-11-15)",
		         s);
		return -1;
	}
	snprintf(p->label, sizeof(p->label), "%s", s);
	return 0;
}

void report_period_previous(double now, bool weekly, struct report_period *p)
{
	time_t tt = (time_t)now;
	struct tm tm;

	memset(p, 0, sizeof(*p));
	localtime_r(&tt, &tm);
	if (weekly) {
		int wday = tm.tm_wday == 0 ? 7 : tm.tm_wday;
		struct tm s;
		time_t st;

		p->end = local_midnight(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday - (wday - 1));
		p->start = local_midnight(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday - (wday - 1) - 7);
		st = (time_t)p->start + 12 * 3600;
		localtime_r(&st, &s);
		strftime(p->label, sizeof(p->label), "%G-W%V", &s);
	} else {
		p->end = local_midnight(tm.tm_year + 1900, tm.tm_mon + 1, 1);
		p->start = local_midnight(tm.tm_year + 1900, tm.tm_mon, 1);
		snprintf(p->label, sizeof(p->label), "%04d-%02d",
		         tm.tm_mon == 0 ? tm.tm_year + 1899 : tm.tm_year + 1900,
		         tm.tm_mon == 0 ? 12 : tm.tm_mon);
	}
}

size_t rep_days(const struct report_period *p, double **days)
{
	time_t tt = (time_t)p->start;
	struct tm tm;
	size_t n = 0, cap = (size_t)((p->end - p->start) / 82800.0) + 2;

	*days = calloc(cap, sizeof(double));
	if (*days == NULL)
		return 0;
	localtime_r(&tt, &tm);
	for (int i = 0; n < cap; i++) {
		double d = local_midnight(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday + i);

		if (d >= p->end)
			break;
		(*days)[n++] = d;
	}
	return n;
}

void rep_time(double t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!isfinite(t) || localtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

void rep_date(double t, char *buf, size_t len)
{
	time_t tt = (time_t)(t + 1); /* a local midnight is that day */
	struct tm tm;

	if (!isfinite(t) || localtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d", &tm);
}

