/*
 * timefmt.c: RFC 3339 timestamps to epoch seconds.
 *
 * "2025-11-23T08:00:00.250Z" or "...+02:00". The date is turned into a
 * day count with the civil-from-days arithmetic, so no timegm(), no TZ
 * and no locale are involved. Bounds on the result are the caller's.
 */
#include <stdbool.h>
#include <stddef.h>

#include "collectors/collectors.h"

/* Reads exactly n digits at s[*i]; false if any is not a digit. */
static bool digits(const char *s, size_t len, size_t *i, int n, int *out)
{
	int v = 0;

	if (len - *i < (size_t)n)
		return false;
	for (int k = 0; k < n; k++) {
		char c = s[*i + k];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*i += (size_t)n;
	*out = v;
	return true;
}

static bool expect(const char *s, size_t len, size_t *i, const char *set)
{
	if (*i >= len)
		return false;
	for (; *set; set++)
		if (s[*i] == *set) {
			(*i)++;
			return true;
		}
	return false;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static long days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int rfc3339_parse(const char *s, size_t len, double *epoch)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int year, mon, day, hour, min, sec, off_h = 0, off_m = 0, sign = 0;
	double frac = 0, scale = 0.1;
	size_t i = 0;

	if (s == NULL || len > 64)
		return -1;
	if (!digits(s, len, &i, 4, &year) || !expect(s, len, &i, "-") ||
	    !digits(s, len, &i, 2, &mon) || !expect(s, len, &i, "-") ||
	    !digits(s, len, &i, 2, &day) || !expect(s, len, &i, "Tt ") ||
	    !digits(s, len, &i, 2, &hour) || !expect(s, len, &i, ":") ||
	    !digits(s, len, &i, 2, &min) || !expect(s, len, &i, ":") ||
	    !digits(s, len, &i, 2, &sec))
		return -1;
	if (mon < 1 || mon > 12 || day < 1 ||
	    day > mdays[mon - 1] + (mon == 2 && leap(year)) || hour > 23 || min > 59 || sec > 60)
		return -1;
	if (i < len && s[i] == '.') {
		size_t start = ++i;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			frac += (s[i] - '0') * scale;
			scale /= 10;
		}
		if (i == start)
			return -1;
	}
	if (expect(s, len, &i, "Zz")) {
		sign = 0;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		sign = s[i++] == '+' ? 1 : -1;
		if (!digits(s, len, &i, 2, &off_h) || !expect(s, len, &i, ":") ||
		    !digits(s, len, &i, 2, &off_m) || off_h > 23 || off_m > 59)
			return -1;
	} else {
		return -1; /* RFC 3339 requires a zone */
	}
	if (i != len)
		return -1;
	/* a leap second (:60) counts as the first second of the next minute */
	double t = (double)days_from_civil(year, mon, day) * 86400.0 + hour * 3600 + min * 60 +
		   sec + frac;
	t -= sign * (off_h * 3600 + off_m * 60);
	*epoch = t;
	return 0;
}
