/*
 * journal.h: the sample journal (DESIGN section 6), labqcd's write-ahead log.
 *
 * Every message taken from the broker is appended here, raw (topic,
 * payload, arrival time, sequence number), before anything else is done
 * with it, and is in the page cache (safe from a kill -9) when
 * journal_append returns: copied into a shared mapping of a preallocated
 * segment, or, where the space cannot be preallocated, buffered and
 * written by journal_commit (one write(2) per call). Never fsync'd per
 * sample. The journal lives in
 * <state_dir>/journal/ as segments "seg-<first seq, 16 hex digits>";
 * journal_rotate() starts a new segment and journal_release() deletes the
 * segments whose every record is <= a sequence number that the store and
 * the state checkpoint have both made durable.
 *
 * Record layout (little-endian, as the host writes it): a fixed header
 * (magic, CRC-32 of the rest, seq, arrival, topic length, payload length)
 * then topic and payload bytes. A torn or corrupt record ends the reading
 * of its segment: it is logged and skipped, never fatal.
 */
#ifndef LABQCD_JOURNAL_H
#define LABQCD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/collectors.h"

struct journal;

/* Open (creating) <dir>; does not read it. NULL with errno on error. */
struct journal *journal_open(const char *dir);

/*
 * Read every record of every segment in sequence order, calling cb for
 * each (m->arrival is the recorded arrival). Returns the highest seq
 * seen (0 if none), or -1 on an I/O error reading the directory.
 */
typedef void (*journal_replay_cb)(void *ctx, uint64_t seq, const struct message *m);
int64_t journal_replay(struct journal *j, journal_replay_cb cb, void *ctx);

/* Start a fresh segment whose first record will be `next_seq`. */
int journal_start(struct journal *j, uint64_t next_seq);

/* Append one record. 0, or -1 if the record is too large (> 1 MiB) or
 * cannot be stored (logged through complain()). */
int journal_append(struct journal *j, uint64_t seq, const struct message *m);

/* Write what is buffered (buffered mode) with one write(2); nothing to
 * do for a mapped segment. 0, or -1 (the data stays buffered and the
 * failure is logged through complain()). */
int journal_commit(struct journal *j);

/* journal_commit(), then fsync the segment (at shutdown and checkpoint). */
int journal_sync(struct journal *j);

/* Close the current segment and start a new one at `next_seq`. */
int journal_rotate(struct journal *j, uint64_t next_seq);

/* Delete closed segments whose records are all <= upto. */
void journal_release(struct journal *j, uint64_t upto);

/* Bytes buffered, not yet written. */
size_t journal_pending(const struct journal *j);

/* Whether the current segment is written through a mapping. */
bool journal_mapped(const struct journal *j);

void journal_close(struct journal *j);

#endif
