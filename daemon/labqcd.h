/*
 * labqcd.h: the running daemon, passed explicitly to every part of
 * daemon/ that needs it (no global). Owned by the main thread; the only
 * other threads are the store's writer (store.c) and, later, the
 * notifiers and the dashboard renderer, each behind its own queue.
 *
 * Data flow (DESIGN section 1): collectors hand raw messages to
 * labqcd_input(), which journals them, then dispatch_message() parses
 * them and hands samples to the store and the rules; verdicts become
 * records in the audit log and alerts.
 */
#ifndef LABQCD_LABQCD_H
#define LABQCD_LABQCD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "audit.h"
#include "collectors.h"
#include "config.h"
#include "journal.h"
#include "log.h"
#include "mqtt.h"
#include "store.h"

#define LABQCD_VERSION "0.1.0"

struct counters {
	uint64_t messages;    /* inputs taken (broker or replay) */
	uint64_t samples;     /* samples accepted into the store */
	uint64_t dropped;     /* inputs refused (bad topic, payload) */
	uint64_t late;        /* samples refused: not after the series' last */
	uint64_t qc_results;
	uint64_t events;
	uint64_t recovered;   /* journal records replayed at start */
};

struct labqcd {
	struct config *cfg;
	struct store *store;
	struct journal *journal; /* NULL in --replay */
	struct audit *audit;
	struct mqtt *mqtt;       /* NULL in --replay */

	bool replay;
	bool notify;     /* --replay --notify */
	bool recovering; /* replaying the journal at start */
	double clock;    /* the daemon's clock: wall time, or the input's in replay */
	uint64_t next_seq;
	uint64_t state_seq; /* inputs up to this seq are in the saved state */

	struct counters n;
	struct complaint drop_complaint;
	struct complaint state_complaint;
	double started;
};

/* dispatch.c: parse one input and hand it on. `seq` is its journal
 * sequence number (0 in --replay). */
void dispatch_message(struct labqcd *d, uint64_t seq, const struct message *m);

/* state.c: the checkpoint file <state_dir>/state.json. */
int state_load(struct labqcd *d);
int state_save(struct labqcd *d);

/* daemon.c: config_load() whose errors go to the log. */
struct config *config_load_logged(const char *path);

/* daemon.c: open everything, recover, run the loop until SIGTERM. */
int daemon_run(struct config *cfg, const char *config_path);

/* replay.c: --replay FILE. Returns the exit code. */
int replay_run(struct config *cfg, const char *input, bool notify);

/* Shared by daemon.c and replay.c. */
int labqcd_open(struct labqcd *d, struct config *cfg, FILE *echo);
void labqcd_close(struct labqcd *d);
double wall_clock(void);
double mono_clock(void);

#endif
