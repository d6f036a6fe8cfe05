/*
 * log.c: stderr or syslog, one line per message, and the complaint
 * rate-limiter. Thread-safe: each message is one fprintf/syslog call.
 */
#include "daemon/log.h"
#include "daemon/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static bool log_stderr = true;
static int log_level = LOG_LVL_INFO;

void log_init(const char *ident, bool to_stderr, int level)
{
	log_stderr = to_stderr;
	log_level = level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(int level)
{
	log_level = level;
}

static void vlog(int lvl, int prio, const char *errstr, const char *fmt, va_list ap)
{
	char msg[2048];

	if (lvl > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_stderr) {
		static const char *names[] = {"error", "warning", "info", "debug"};
		if (errstr)
			fprintf(stderr, "labqcd: %s: %s: %s\n", names[lvl], msg, errstr);
		else
			fprintf(stderr, "labqcd: %s: %s\n", names[lvl], msg);
	} else {
		if (errstr)
			syslog(prio, "%s: %s", msg, errstr);
		else
			syslog(prio, "%s", msg);
	}
}

#define LOG_BODY(lvl, prio, err)                                                                   \
	do {                                                                                       \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		vlog(lvl, prio, err, fmt, ap);                                                     \
		va_end(ap);                                                                        \
	} while (0)

void log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);
	LOG_BODY(LOG_LVL_WARNING, LOG_WARNING, e);
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARNING, LOG_WARNING, NULL);
}

void log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, LOG_ERR, NULL);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, LOG_INFO, NULL);
}

void log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, LOG_DEBUG, NULL);
}

void fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);
	LOG_BODY(LOG_LVL_ERROR, LOG_CRIT, e);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, LOG_CRIT, NULL);
	exit(1);
}

static time_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1; /* never 0, which means "not complaining" */
}

void complain(struct complaint *c, const char *fmt, ...)
{
	time_t now = mono_s();
	char msg[1024];
	va_list ap;

	if (c->last != 0 && now - c->last < (time_t)c->backoff) {
		c->suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->suppressed)
		log_warnx("%s (%lu similar messages suppressed)", msg, c->suppressed);
	else
		log_warnx("%s", msg);
	c->backoff = c->last == 0 ? 60 : (c->backoff >= 43200 ? 86400 : c->backoff * 2);
	c->last = now;
	c->suppressed = 0;
}

void complain_release(struct complaint *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (c->last == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("%s", msg);
	c->last = 0;
	c->backoff = 0;
	c->suppressed = 0;
}
