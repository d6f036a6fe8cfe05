/*
 * reports.h: reports the daemon renders and emails by itself (issue 19,
 * point 6): the `reports:` schedule (every month or week, `on` a day
 * after the period ends) and `labqcctl report PERIOD`.
 *
 * A report is rendered by a child process, `labqcd -c CONFIG --report
 * PERIOD --out DIR` (the same mode an operator runs), at idle priority,
 * into <state_dir>/reports/<period>.<job>/; the event loop only starts it
 * and, once a second, asks whether it has exited. Its PDFs and
 * report.json then go by email to reports.receivers through the spool,
 * exactly once (reports.c's header says how a crash is survived).
 *
 * Main thread only.
 */
#ifndef LABQCD_REPORTS_H
#define LABQCD_REPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "daemon/config.h"
#include "daemon/spool.h"

struct reports;

/* Load <state_dir>/reports.json and finish what a crash interrupted: the
 * email entries it records as staged are committed. Call after the spool
 * is open and BEFORE the alert engine's spool_recover (alerts_open),
 * which deletes every staged entry its own state does not record. NULL
 * and errno on failure (a corrupt file is moved aside and logged: the
 * schedule starts afresh, sending at most the last period again). */
struct reports *reports_open(const char *state_dir, struct spool *sp);
/* The program reports_tick runs to render (default: this executable,
 * /proc/self/exe); tests give a stand-in. */
void reports_set_program(struct reports *r, const char *exe);
/* Stops a render still running (it is started again at the next start:
 * the queue is durable). */
void reports_close(struct reports *r);

/* Once a second on the daemon's clock (wall time): a render that ended
 * is picked up and its emails spooled; the period that is due by the
 * schedule is queued once; the next queued one is started. Never blocks. */
void reports_tick(struct reports *r, const struct config *cfg, double now);

/* labqcctl report PERIOD: queue it (durably) for rendering and emailing.
 * 0 with a sentence for the operator in msg, or -1 with the reason in
 * msg (bad period, queue full, state not writable). */
int reports_request(struct reports *r, const struct config *cfg, const char *period,
		    const char *by, double now, char *msg, size_t msglen);

/* reports_spawn.c: start `exe -c config --report label --out dir` as a
 * child at idle priority (nice 19, SCHED_IDLE), killed if the daemon
 * dies, stdout and stderr into dir/render.log. The pid, or -1 with errno. */
pid_t reports_spawn(const char *exe, const char *config, const char *label, const char *dir);
/* This program's own executable, for reports_spawn (read once). */
int reports_self_exe(char *buf, size_t len);

#endif
