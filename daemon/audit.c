/*
 * audit.c: the hash-chained audit log; see audit.h.
 *
 * Owned by the main thread. The SHA-256 of the last line is kept in
 * memory so an append costs one hash and one write(2). Deduplication
 * after a crash: the log remembers the last seq it holds and how many
 * records carry it; a replayed input with a smaller seq is skipped, and
 * with that seq only as many records as were already written.
 *
 * A write that fails (state_dir full) does not lose the record: the line
 * is already chained (prev advanced) and waits, with any after it, in a
 * bounded in-memory queue that every later write and audit_sync() try
 * to append first, in order.
 *
 * The anchor (issue 20): after every append batch that reached the disk
 * (audit_sync, audit_close) the record count and the hash of the last
 * line are written to audit.head, write-fsync-rename, so a cut or an
 * edited end is seen by audit_verify and at the next open. A log that
 * does not reach its anchor at open is moved aside with its anchor and
 * a new one started whose first record (audit_reset) names both heads.
 */
#include "daemon/audit.h"
#include "daemon/clock.h"
#include "daemon/fsutil.h"
#include "daemon/log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HASH_HEX 65
#define PENDING_MAX (16u << 20) /* lines held while the log is not writable */

struct audit {
	char path[4096];
	char head_path[4200];
	int fd;
	unsigned long records;      /* lines chained so far (in the file or pending) */
	unsigned long head_records; /* what audit.head says */
	char head_hash[HASH_HEX];
	bool head_written;
	FILE *echo;
	char prev[HASH_HEX];
	uint64_t last_seq;        /* highest seq in the log */
	uint64_t open_seq;        /* last seq at open */
	unsigned long open_count; /* records carrying open_seq at open */
	unsigned long seen_count; /* records with open_seq offered since open */
	struct complaint write_complaint;
	char *pending; /* whole lines not yet written, in order */
	size_t pending_len, pending_cap;
	unsigned long pending_dropped;
};

/* Append what is pending; 0 when all of it is in the file. A partial
 * write keeps the rest queued: the line is completed by the next try
 * (only we append to the file). */
static int flush_pending(struct audit *a)
{
	size_t off = 0;
	int rc = 0;

	while (off < a->pending_len) {
		ssize_t w = write(a->fd, a->pending + off, a->pending_len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			complain(&a->write_complaint, "audit: %s: write: %s (%zu bytes held)",
				 a->path, strerror(w == -1 ? errno : ENOSPC), a->pending_len - off);
			rc = -1;
			break;
		}
		off += (size_t)w;
	}
	memmove(a->pending, a->pending + off, a->pending_len - off);
	a->pending_len -= off;
	if (rc == 0)
		complain_release(&a->write_complaint, "audit: %s: writable again", a->path);
	return rc;
}

static int queue_line(struct audit *a, const char *line, size_t len)
{
	if (a->pending_len + len > a->pending_cap) {
		size_t ncap = a->pending_cap ? a->pending_cap : 65536;
		while (ncap < a->pending_len + len)
			ncap *= 2;
		char *nb = ncap <= PENDING_MAX ? realloc(a->pending, ncap) : NULL;
		if (nb == NULL) {
			a->pending_dropped++;
			log_warnx("audit: %s: not writable and %zu bytes held: a record is lost",
				  a->path, a->pending_len);
			return -1;
		}
		a->pending = nb;
		a->pending_cap = ncap;
	}
	memcpy(a->pending + a->pending_len, line, len);
	a->pending_len += len;
	return 0;
}

void audit_sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < mdlen && i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

void audit_format_ts(double t, char *buf, size_t len)
{
	clock_rfc3339(t, true, buf, len);
}

static uint64_t line_seq(const char *line, size_t len)
{
	/* "seq" is written by us, near the end: parse the line properly. */
	cJSON *o = cJSON_ParseWithLength(line, len);
	uint64_t seq = 0;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "seq");

	if (cJSON_IsNumber(s) && s->valuedouble > 0)
		seq = (uint64_t)s->valuedouble;
	cJSON_Delete(o);
	return seq;
}

/* ---- the anchor ---- */

void audit_head_path(const char *log, char *buf, size_t len)
{
	size_t n = strlen(log);

	if (n > 6 && strcmp(log + n - 6, ".jsonl") == 0)
		snprintf(buf, len, "%.*s.head", (int)(n - 6), log);
	else
		snprintf(buf, len, "%s.head", log);
}

/* Read an anchor: 1 read, 0 there is none, -1 unreadable or not one. */
static int head_read(const char *path, unsigned long *records, char hash[HASH_HEX])
{
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	if (fs_read_all(path, &text, &len) == -1)
		return errno == ENOENT ? 0 : -1;
	cJSON *o = cJSON_Parse(text);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "records");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "sha256");
	if (cJSON_IsNumber(r) && r->valuedouble >= 0 && cJSON_IsString(h) &&
	    strlen(h->valuestring) == 64) {
		*records = (unsigned long)r->valuedouble;
		memcpy(hash, h->valuestring, HASH_HEX);
		rc = 1;
	}
	cJSON_Delete(o);
	free(text);
	return rc;
}

static int head_write(struct audit *a)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "{\"records\":%lu,\"sha256\":\"%s\"}\n", a->records,
	                 a->prev);

	if (fs_write_atomic(a->head_path, buf, (size_t)n, 0640) == -1) {
		log_warn("audit: anchor %s", a->head_path);
		return -1;
	}
	a->head_records = a->records;
	memcpy(a->head_hash, a->prev, HASH_HEX);
	a->head_written = true;
	return 0;
}

/* The hash of line k (1-based) of data into out; false when there are
 * fewer lines. */
static bool line_hash(const char *data, size_t len, unsigned long k, char out[HASH_HEX])
{
	size_t off = 0;

	for (unsigned long i = 1; off < len; i++) {
		const char *nl = memchr(data + off, '\n', len - off);
		if (nl == NULL)
			return false;
		if (i == k) {
			audit_sha256_hex(data + off, (size_t)(nl - (data + off)), out);
			return true;
		}
		off = (size_t)(nl - data) + 1;
	}
	return false;
}

/* Does the log (whole lines) reach its anchor: at least as many lines,
 * and the anchored last one unchanged? No anchor: yes (a log from before
 * anchors, or a new one). */
static bool anchor_matches(struct audit *a, const char *data, size_t len)
{
	char hash[HASH_HEX];
	int rc = head_read(a->head_path, &a->head_records, a->head_hash);

	if (rc == 0) {
		a->head_records = 0;
		memset(a->head_hash, '0', 64);
		a->head_hash[64] = '\0';
		return true;
	}
	if (rc == -1)
		return false;
	if (a->head_records == 0)
		return true;
	return line_hash(data, len, a->head_records, hash) && strcmp(hash, a->head_hash) == 0;
}

/* Read the existing log: cut a torn tail, find the last hash and seqs. */
static int audit_scan(struct audit *a, bool *anchor_ok)
{
	char *data = NULL;
	size_t len = 0;

	memset(a->prev, '0', 64);
	a->prev[64] = '\0';
	if (fs_read_all(a->path, &data, &len) == -1) {
		if (errno != ENOENT)
			return -1;
		*anchor_ok = anchor_matches(a, "", 0); /* a log removed whole */
		return 0;
	}
	if (len > 0 && data[len - 1] != '\n') {
		size_t keep = len;
		while (keep > 0 && data[keep - 1] != '\n')
			keep--;
		log_warnx("audit: %s: torn last line (%zu bytes, a crash inside a write) cut off",
			  a->path, len - keep);
		if (truncate(a->path, (off_t)keep) == -1)
			log_warn("audit: truncate %s", a->path);
		len = keep;
	}
	for (size_t i = 0; i < len; i++)
		a->records += data[i] == '\n';
	*anchor_ok = anchor_matches(a, data, len);
	/* Walk lines backwards for the hash of the last one and the seq. */
	size_t end = len;
	bool have_hash = false;
	while (end > 0) {
		size_t start = end - 1;
		while (start > 0 && data[start - 1] != '\n')
			start--;
		size_t llen = end - 1 - start; /* without '\n' */
		if (!have_hash) {
			audit_sha256_hex(data + start, llen, a->prev);
			have_hash = true;
		}
		uint64_t seq = line_seq(data + start, llen);
		if (seq != 0) {
			if (a->open_seq == 0)
				a->open_seq = seq;
			if (seq == a->open_seq)
				a->open_count++;
			else
				break;
		}
		end = start;
	}
	a->last_seq = a->open_seq;
	free(data);
	return 0;
}

/* The log does not reach its anchor: move both aside and start afresh.
 * 0, or -1 when the log cannot be moved (nothing is appended to it). */
static int move_aside(struct audit *a, struct cJSON **reset)
{
	char aside[4300], aside_head[4400];
	unsigned long found = a->records;
	char found_hash[HASH_HEX];
	bool had_head = access(a->head_path, F_OK) == 0;

	memcpy(found_hash, a->prev, HASH_HEX);
	if (access(a->path, F_OK) == -1 && errno == ENOENT) {
		/* The log was removed whole: only its anchor goes aside. */
		snprintf(aside, sizeof(aside), "(missing)");
		if (fs_move_aside(a->head_path, aside_head, sizeof(aside_head)) == -1)
			log_warn("audit: moving %s aside", a->head_path);
	} else if (fs_move_aside(a->path, aside, sizeof(aside)) == -1) {
		log_warn("audit: %s does not match its anchor and cannot be moved aside", a->path);
		return -1;
	} else {
		audit_head_path(aside, aside_head, sizeof(aside_head));
		if (had_head && rename(a->head_path, aside_head) == -1)
			log_warn("audit: moving %s to %s", a->head_path, aside_head);
	}
	log_warnx("audit: %s does not match its anchor %s (%lu records, anchor %lu): moved to %s; "
	          "starting a new log",
	          a->path, a->head_path, found, a->head_records, aside);
	*reset = cJSON_CreateObject();
	cJSON_AddStringToObject(*reset, "type", "audit_reset");
	cJSON_AddStringToObject(*reset, "reason",
	                        had_head && a->head_records > found
	                            ? "the log ends before its anchor: records were cut"
	                        : had_head ? "the anchored last record was changed"
	                                   : "the anchor is unreadable");
	cJSON_AddStringToObject(*reset, "moved_to", aside);
	cJSON *anchor = cJSON_AddObjectToObject(*reset, "anchor");
	cJSON_AddNumberToObject(anchor, "records", (double)a->head_records);
	cJSON_AddStringToObject(anchor, "sha256", a->head_hash);
	cJSON *f = cJSON_AddObjectToObject(*reset, "found");
	cJSON_AddNumberToObject(f, "records", (double)found);
	cJSON_AddStringToObject(f, "sha256", found_hash);
	/* A fresh chain; last_seq is kept so sequence numbers are not
	 * reused, but nothing is skipped as already written: the records
	 * the journal replays belong in the new log too. */
	a->records = 0;
	memset(a->prev, '0', 64);
	a->open_seq = 0;
	a->open_count = 0;
	return 0;
}

struct audit *audit_open(const char *path, FILE *echo)
{
	struct audit *a = calloc(1, sizeof(*a));
	cJSON *reset = NULL;
	bool anchor_ok = true;

	if (a == NULL)
		return NULL;
	snprintf(a->path, sizeof(a->path), "%s", path);
	audit_head_path(path, a->head_path, sizeof(a->head_path));
	a->echo = echo;
	if (audit_scan(a, &anchor_ok) == -1 || (!anchor_ok && move_aside(a, &reset) == -1)) {
		free(a);
		return NULL;
	}
	a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (a->fd == -1) {
		cJSON_Delete(reset);
		free(a);
		return NULL;
	}
	if (reset)
		audit_write(a, wall_clock(), 0, reset);
	/* Anchor what is there now: a log from before anchors, or records
	 * written after the last anchor before a crash. */
	if (audit_sync(a) == -1)
		log_warn("audit: %s", a->path);
	return a;
}

void audit_head(const struct audit *a, unsigned long *records, char sha256[65])
{
	*records = a->head_records;
	memcpy(sha256, a->head_hash, HASH_HEX);
}

uint64_t audit_last_seq(const struct audit *a)
{
	return a->last_seq;
}

static bool already_written(struct audit *a, uint64_t seq)
{
	if (seq == 0 || a->open_seq == 0)
		return false;
	if (seq < a->open_seq)
		return true;
	if (seq == a->open_seq && a->seen_count < a->open_count) {
		a->seen_count++;
		return true;
	}
	return false;
}

int audit_write(struct audit *a, double t, uint64_t seq, cJSON *rec)
{
	char ts[40];
	cJSON *out;
	char *line;
	int rc = 0;

	if (already_written(a, seq)) {
		cJSON_Delete(rec);
		return 1;
	}
	/* Rebuild with ts first and seq, prev last: readers see the record
	 * in the order of DESIGN section 8. */
	out = cJSON_CreateObject();
	audit_format_ts(t, ts, sizeof(ts));
	cJSON_AddStringToObject(out, "ts", ts);
	while (rec->child) {
		cJSON *item = cJSON_DetachItemViaPointer(rec, rec->child);
		cJSON_AddItemToObject(out, item->string, item);
	}
	cJSON_Delete(rec);
	if (seq != 0)
		cJSON_AddNumberToObject(out, "seq", (double)seq);
	cJSON_AddStringToObject(out, "prev", a->prev);
	line = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	if (line == NULL)
		return -1;
	size_t n = strlen(line);
	char hash[HASH_HEX];
	audit_sha256_hex(line, n, hash);
	line[n] = '\n'; /* overwrite the NUL: one write(2) of the whole line */
	if (queue_line(a, line, n + 1) == -1) {
		rc = -1;
	} else {
		/* Chained and queued: it reaches the file now or with a
		 * later write once there is room again. */
		memcpy(a->prev, hash, HASH_HEX);
		a->records++;
		if (seq > a->last_seq)
			a->last_seq = seq;
		if (flush_pending(a) == -1)
			rc = -1;
	}
	if (a->echo) {
		fwrite(line, 1, n + 1, a->echo);
		fflush(a->echo);
	}
	free(line);
	return rc;
}

int audit_sync(struct audit *a)
{
	if (a->pending_len > 0 && flush_pending(a) == -1)
		return -1;
	if (fsync(a->fd) == -1)
		return -1;
	/* Everything chained is on disk: anchor it. */
	if (a->head_written && a->head_records == a->records)
		return 0;
	return head_write(a);
}

void audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	audit_sync(a);
	close(a->fd);
	free(a->pending);
	free(a);
}

/* After the chain: the anchor beside the log. */
static int verify_anchor(const char *path, const char *data, size_t len, unsigned long n,
                         char *err, size_t errlen, unsigned long *unanchored)
{
	char head[4200], hash[HASH_HEX], want[HASH_HEX];
	unsigned long records = 0;
	int rc;

	audit_head_path(path, head, sizeof(head));
	rc = head_read(head, &records, want);
	if (rc == 0) {
		snprintf(err, errlen, "no anchor %s: where the log ends cannot be checked", head);
		return -1;
	}
	if (rc == -1) {
		snprintf(err, errlen, "anchor %s: unreadable or not an anchor", head);
		return -1;
	}
	if (records > n) {
		snprintf(err, errlen,
		         "cut: the anchor %s says %lu records, the log has %lu (the last %lu removed)",
		         head, records, n, records - n);
		return -1;
	}
	if (records > 0 && (!line_hash(data, len, records, hash) || strcmp(hash, want) != 0)) {
		snprintf(err, errlen, "line %lu: differs from the anchor %s (the anchored last record "
		                      "was edited)",
		         records, head);
		return -1;
	}
	if (unanchored)
		*unanchored = n - records;
	return 0;
}

int audit_verify(const char *path, char *err, size_t errlen, unsigned long *lines,
                 unsigned long *unanchored)
{
	char *data = NULL;
	size_t len = 0, off = 0;
	unsigned long n = 0;
	char prev[HASH_HEX];
	int rc = 0;

	memset(prev, '0', 64);
	prev[64] = '\0';
	if (fs_read_all(path, &data, &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (off < len) {
		char *nl = memchr(data + off, '\n', len - off);
		size_t llen = nl ? (size_t)(nl - (data + off)) : len - off;
		n++;
		if (nl == NULL) {
			snprintf(err, errlen, "line %lu: torn (no newline)", n);
			rc = -1;
			break;
		}
		cJSON *o = cJSON_ParseWithLength(data + off, llen);
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prev");
		if (!cJSON_IsString(p)) {
			snprintf(err, errlen, "line %lu: not a record with \"prev\"", n);
			rc = -1;
		} else if (strcmp(p->valuestring, prev) != 0) {
			snprintf(err, errlen,
				 "line %lu: chain broken (prev does not match the line before: "
				 "a line was edited, removed or reordered)",
				 n);
			rc = -1;
		}
		cJSON_Delete(o);
		if (rc)
			break;
		audit_sha256_hex(data + off, llen, prev);
		off += llen + 1;
	}
	if (rc == 0)
		rc = verify_anchor(path, data, len, n, err, errlen, unanchored);
	free(data);
	if (lines)
		*lines = n;
	return rc;
}
