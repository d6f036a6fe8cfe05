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
 *
 * The anchor: <name>.head beside <name>.jsonl (audit.head beside
 * audit.jsonl; any other log name gets ".head" appended) holds
 * {"records":N,"sha256":"<hash of line N>"}, rewritten (write-fsync-
 * rename) after every audit_sync that appended something. At open a log
 * that does not reach its anchor (fewer lines, or line N changed) is not
 * appended to: it is moved aside with its anchor ("<path>.corrupt-<epoch>"
 * and "<that>.head"), logged, and a new log begun whose first record is
 *   {"type":"audit_reset","reason":...,"moved_to":...,
 *    "anchor":{"records","sha256"},"found":{"records","sha256"}}
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

/* fsync the log (alert transitions are durable before the next input),
 * then write the anchor if anything was appended since the last. */
int audit_sync(struct audit *a);

/* The last anchor written: record count and hash of that record. */
void audit_head(const struct audit *a, unsigned long *records, char sha256[65]);

/* The anchor's path for the log at `log`. */
void audit_head_path(const char *log, char *buf, size_t len);

void audit_close(struct audit *a);

/* Format epoch seconds as RFC 3339 UTC with milliseconds into buf (>= 32). */
void audit_format_ts(double t, char *buf, size_t len);

/*
 * Check the chain of the log at `path`, then its anchor: a log shorter
 * than its anchor (cut), an anchored last line that differs (edited) or
 * no anchor at all fail. Returns 0 if whole; otherwise -1 with the
 * reason in err. `lines` (may be NULL) receives the count, `unanchored`
 * (may be NULL) how many records follow the anchored one (written since
 * the last anchor: a running daemon, or a crash).
 */
int audit_verify(const char *path, char *err, size_t errlen, unsigned long *lines,
                 unsigned long *unanchored);

/* The SHA-256 of data as 64 hex digits and a NUL (how a record's `prev`
 * names the line before it). */
void audit_sha256_hex(const char *data, size_t len, char out[65]);

#endif
