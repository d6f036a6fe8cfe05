/*
 * spool.h: notifications waiting to be sent (DESIGN section 5).
 *
 * Every notification the alert engine decides to send is first written
 * here, one JSON file per notification in <state_dir>/spool/, with
 * write-fsync-rename. The file is self-contained: the receiver's address
 * (email recipients, or webhook URL, format and secret file), the alerts
 * it reports, and its delivery state (attempts, next attempt time). The
 * notifier renders the message from it at send time and deletes the file
 * only after the server accepted it; a failure rewrites it with the next
 * attempt time (capped exponential backoff), so retries survive restarts.
 *
 * Exactly once across a crash (issue 7): the alert engine spools in two
 * phases. spool_stage writes "<id>.json.pending", which the notifier
 * never lists; the engine saves its state recording <id> as spooled; then
 * spool_commit renames the entry to "<id>.json", ready to send. At start
 * spool_recover commits the pending entries the engine's state records
 * (the crash fell between the save and the rename) and deletes the others
 * (the crash fell before the save: the engine still holds the group and
 * spools it again). spool_put is stage + commit, for callers without
 * state of their own.
 *
 * Threads: spool_stage/commit/put/recover are called by the main thread
 * (the alert engine), spool_list/load/done/failed by the notifier thread.
 * They touch different files (a file is complete before its ready name
 * appears, and only the notifier rewrites or deletes a ready one); the
 * counters are under a mutex.
 */
#ifndef LABQCD_SPOOL_H
#define LABQCD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h"

#define NOTIF_KEY_MAX 300
#define NOTIF_TO_MAX 16
#define NOTIF_ID_MAX 160

enum notif_kind { NOTIF_EMAIL = 0, NOTIF_WEBHOOK };

/* One alert as a notification reports it (a copy: the engine may forget
 * the alert before the notification is sent). */
struct notif_alert {
	char key[NOTIF_KEY_MAX];
	char kind[16];     /* qc | equipment */
	char site[CFG_NAME_MAX];
	char instrument[CFG_NAME_MAX];
	char channel[CFG_NAME_MAX]; /* channel, analyte or task */
	char rule[CFG_NAME_MAX];
	char severity[16]; /* info | warning | critical */
	char status[16];   /* firing | resolved */
	double value;      /* NAN if none */
	char summary[256];
	double starts_at;  /* epoch seconds */
	double ends_at;    /* 0 = still firing */
	bool acknowledged;
	char chart[CFG_PATH_MAX]; /* PNG to attach; "" = none */
};

struct notification {
	char id[NOTIF_ID_MAX]; /* spool file name without ".json"; set by spool_put */
	enum notif_kind kind;
	char receiver[CFG_NAME_MAX];
	char status[16];       /* firing | resolved: firing if any alert fires */
	char reason[16];       /* new | repeat | escalation | resolved */
	char group_key[NOTIF_KEY_MAX];
	char external_url[CFG_PATH_MAX];
	char audit_head[128];  /* "records=N sha256=HEX": the audit log's anchor; "" = none */
	double created;        /* epoch seconds */

	/* email */
	char to[NOTIF_TO_MAX][CFG_TEXT_MAX];
	size_t n_to;
	/* webhook */
	char url[CFG_PATH_MAX];
	enum webhook_format format;
	char secret_file[CFG_PATH_MAX];
	double timeout_s;

	/* delivery */
	int attempts;
	double next_attempt; /* epoch seconds */
	char last_error[256];

	struct notif_alert *alerts; /* owned; free with notification_free */
	size_t n_alerts;

	/* A scheduled or requested report (issue 19) instead of alerts:
	 * report[0] != '\0'. Every "*.pdf" of report_dir, then its
	 * report.json, is attached when the email is built. */
	char report[40];               /* the period's label, "2026-11" */
	char report_lab[CFG_TEXT_MAX]; /* reports.lab */
	char report_dir[CFG_PATH_MAX];
	bool report_chain_broken;      /* the audit log's chain failed to verify */
};

/* Frees n->alerts (not n itself) and zeroes the count. */
void notification_free(struct notification *n);
/* Appends a copy of `a` to n->alerts. 0 or -1 (ENOMEM). */
int notification_add_alert(struct notification *n, const struct notif_alert *a);

/* JSON form of a notification, as stored in the spool. The string is
 * malloc'ed; the caller frees it. NULL on ENOMEM. */
char *notification_to_json(const struct notification *n);
/* Parse a spool file's text into *n (zeroed first; free with
 * notification_free). 0 or -1 with a reason in err. */
int notification_from_json(const char *text, struct notification *n, char *err, size_t errlen);

struct spool_opts {
	double retry_initial_s; /* first retry delay; default 30 */
	double retry_max_s;     /* cap; default 3600 */
};

struct spool_counters {
	uint64_t spooled; /* notifications written */
	uint64_t sent;    /* accepted by the server, deleted */
	uint64_t failed;  /* send attempts that failed */
	uint64_t retried; /* send attempts after the first */
};

struct spool;

/* Open (create with mkdir -p) the spool directory `dir`. opts may be
 * NULL for the defaults. NULL and errno on failure. */
struct spool *spool_open(const char *dir, const struct spool_opts *opts);
void spool_close(struct spool *sp);
const char *spool_dir(const struct spool *sp);

/* Phase one: write `n` as a new pending entry due at once (attempts 0,
 * next_attempt = now), invisible to spool_list; n->id is set to its id.
 * 0 or -1/errno. */
int spool_stage(struct spool *sp, struct notification *n, double now);
/* Phase two: make pending entry `id` ready (rename, fsync the directory),
 * count it spooled and run the wake callback. 0 if it is ready now (also
 * when it already was), -1/errno. */
int spool_commit(struct spool *sp, const char *id);
/* spool_stage then spool_commit: ready at once. 0 or -1/errno. */
int spool_put(struct spool *sp, struct notification *n, double now);
/* At start, before anything is staged: every pending entry whose id
 * committed() accepts is committed, every other one deleted. Returns the
 * number committed, or -1 if a rename or unlink failed (logged). */
int spool_recover(struct spool *sp, bool (*committed)(const char *id, void *arg), void *arg);
void spool_set_wake(struct spool *sp, void (*wake)(void *arg), void *arg);

/* The ids of every spool file, oldest first (ids sort by creation).
 * *ids is a malloc'ed array of malloc'ed strings: free with
 * spool_list_free. 0 or -1/errno. */
int spool_list(struct spool *sp, char ***ids, size_t *n);
void spool_list_free(char **ids, size_t n);

/* Read one spool file; 0, or -1 (errno, or a corrupt file: it is moved
 * aside to spool/corrupt-* and logged, errno EBADMSG). */
int spool_load(struct spool *sp, const char *id, struct notification *n);

/* The server accepted n: delete its file, count it sent. 0 or -1/errno. */
int spool_done(struct spool *sp, const struct notification *n);
/* A send failed at `now`: attempts + 1, next attempt after the backoff,
 * error text kept, file rewritten. 0 or -1/errno. */
int spool_failed(struct spool *sp, struct notification *n, double now, const char *error);

/* Delay before the next attempt after `attempts` failed ones (1 = the
 * first failure): initial * 2^(attempts-1), capped. */
double spool_backoff(const struct spool_opts *opts, int attempts);

void spool_get_counters(struct spool *sp, struct spool_counters *out);

#endif
