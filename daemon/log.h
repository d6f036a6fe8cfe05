/*
 * log.h: labqcd's one logging API, in the shape of OpenBSD ntpd's log.c.
 *
 * log_warn() appends strerror(errno), log_warnx() does not. Messages go to
 * stderr (foreground, -f) or syslog (daemon mode). A failure that repeats
 * goes through complain(): logged once, then at growing intervals, then
 * once more by complain_release() when it clears (collectd's
 * utils_complain idea).
 */
#ifndef LABQCD_LOG_H
#define LABQCD_LOG_H

#include <stdbool.h>
#include <time.h>

#define LOG_FMT(a, b) __attribute__((format(printf, a, b)))

void log_init(const char *ident, bool to_stderr, int level); /* level: enum log_level */
void log_set_level(int level);
void log_warn(const char *fmt, ...) LOG_FMT(1, 2);
void log_warnx(const char *fmt, ...) LOG_FMT(1, 2);
void log_error(const char *fmt, ...) LOG_FMT(1, 2);
void log_info(const char *fmt, ...) LOG_FMT(1, 2);
void log_debug(const char *fmt, ...) LOG_FMT(1, 2);
void fatal(const char *fmt, ...) LOG_FMT(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_FMT(1, 2) __attribute__((noreturn));

struct complaint {
	time_t last;      /* when last logged, monotonic seconds; 0 = not complaining */
	unsigned backoff; /* seconds until the next message */
	unsigned long suppressed;
};

/* Log at warning level the first time, then only after a doubling
 * interval (capped at one day), saying how many were suppressed. */
void complain(struct complaint *c, const char *fmt, ...) LOG_FMT(2, 3);
/* If c was complaining, log the recovery at info level and reset it. */
void complain_release(struct complaint *c, const char *fmt, ...) LOG_FMT(2, 3);

#endif
