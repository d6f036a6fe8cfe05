/*
 * audit.h: the audit log, state_dir/audit.jsonl (DESIGN sections 6 and 8).
 *
 * Append-only, one JSON object a line, written whole with one write(2)
 * (O_APPEND). Each line ends with "prev": the SHA-256 (hex) of the line
 * before it (64 zeros for the first), so an edited, removed or reordered
 * line is detected by audit_verify(). Records that come from an input
 * also carry "seq", the journal sequence number of that input: after a
 * crash the journal is replayed and records whose seq the log already
 * holds are not written twice.
 *
 * At open, a torn last line (no newline: a crash inside a write) is cut
 * off and logged, so the chain stays whole.
 */
#ifndef LABQCD_AUDIT_H
#define LABQCD_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

struct audit;

/* Open (creating) the log at `path`; NULL with errno on error. `echo`,
 * if not NULL, receives every written line too (--replay's stdout). */
struct audit *audit_open(const char *path, FILE *echo);

/* Highest "seq" found in the log at open or written since (0 if none). */
uint64_t audit_last_seq(const struct audit *a);

/*
 * Append one record. `rec` must hold "type" and the record's fields;
 * "ts" (from `t`, epoch seconds, as RFC 3339 UTC with milliseconds) is
 * put first, "seq" (when seq != 0) and "prev" last. The object is
 * consumed (freed) either way. When seq != 0 and seq <= the log's last
 * seq the record was already written before a crash and is skipped.
 * Returns 0, 1 when skipped, -1 on a write error (logged once).
 */
int audit_write(struct audit *a, double t, uint64_t seq, cJSON *rec);

/* fsync the log (alert transitions are durable before the next input). */
int audit_sync(struct audit *a);

void audit_close(struct audit *a);

/* Format epoch seconds as RFC 3339 UTC with milliseconds into buf (>= 32). */
void audit_format_ts(double t, char *buf, size_t len);

/*
 * Check the chain of the log at `path`. Returns 0 if whole; otherwise -1
 * with "line N: why" in err. `lines` (may be NULL) receives the count.
 */
int audit_verify(const char *path, char *err, size_t errlen, unsigned long *lines);

#endif
