/*
 * sbuf.c: a growing string buffer for the dashboard's pages, and HTML
 * escaping of every string that comes from a topic or the config.
 */
#include "dashboards/dash_int.h"
#include "daemon/fsutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sbuf_free(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static bool sbuf_reserve(struct sbuf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (b->failed)
		return false;
	if (extra > SIZE_MAX / 2 - b->len)
		return b->failed = true, false;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < need)
		ncap *= 2;
	p = realloc(b->p, ncap);
	if (p == NULL)
		return b->failed = true, false;
	b->p = p;
	b->cap = ncap;
	return true;
}

void sbuf_append(struct sbuf *b, const void *s, size_t n)
{
	if (!sbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_append(b, s, strlen(s));
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!sbuf_reserve(b, 256))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!sbuf_reserve(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* Non-characters and C1 controls make tidy and validators complain. */
	if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
		return 0;
	return n;
}

void sbuf_html(struct sbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t n;

		switch (*p) {
		case '&':
			sbuf_puts(b, "&amp;");
			p++;
			continue;
		case '<':
			sbuf_puts(b, "&lt;");
			p++;
			continue;
		case '>':
			sbuf_puts(b, "&gt;");
			p++;
			continue;
		case '"':
			sbuf_puts(b, "&quot;");
			p++;
			continue;
		case '\'':
			sbuf_puts(b, "&#39;");
			p++;
			continue;
		default:
			break;
		}
		if (*p < 0x20 || *p == 0x7f) {
			sbuf_puts(b, *p == '\t' || *p == '\n' ? " " : "\xef\xbf\xbd");
			p++;
			continue;
		}
		n = utf8_len(p);
		if (n == 0) {
			sbuf_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
			p++;
			continue;
		}
		sbuf_append(b, (const char *)p, n);
		p += n;
	}
}

int sbuf_write_file(const struct sbuf *b, const char *path, char *err, size_t errlen)
{
	if (fs_write_replace(path, b->p, b->len, 0644) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
