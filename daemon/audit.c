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
	int fd;
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

static void sha256_hex(const char *data, size_t len, char out[HASH_HEX])
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

/* Read the existing log: cut a torn tail, find the last hash and seqs. */
static int audit_scan(struct audit *a)
{
	char *data = NULL;
	size_t len = 0;

	memset(a->prev, '0', 64);
	a->prev[64] = '\0';
	if (fs_read_all(a->path, &data, &len) == -1)
		return errno == ENOENT ? 0 : -1;
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
	/* Walk lines backwards for the hash of the last one and the seq. */
	size_t end = len;
	bool have_hash = false;
	while (end > 0) {
		size_t start = end - 1;
		while (start > 0 && data[start - 1] != '\n')
			start--;
		size_t llen = end - 1 - start; /* without '\n' */
		if (!have_hash) {
			sha256_hex(data + start, llen, a->prev);
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

struct audit *audit_open(const char *path, FILE *echo)
{
	struct audit *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	snprintf(a->path, sizeof(a->path), "%s", path);
	a->echo = echo;
	if (audit_scan(a) == -1) {
		free(a);
		return NULL;
	}
	a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (a->fd == -1) {
		free(a);
		return NULL;
	}
	return a;
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
	sha256_hex(line, n, hash);
	line[n] = '\n'; /* overwrite the NUL: one write(2) of the whole line */
	if (queue_line(a, line, n + 1) == -1) {
		rc = -1;
	} else {
		/* Chained and queued: it reaches the file now or with a
		 * later write once there is room again. */
		memcpy(a->prev, hash, HASH_HEX);
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
	return fsync(a->fd);
}

void audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->pending_len > 0)
		flush_pending(a);
	fsync(a->fd);
	close(a->fd);
	free(a->pending);
	free(a);
}

int audit_verify(const char *path, char *err, size_t errlen, unsigned long *lines)
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
		sha256_hex(data + off, llen, prev);
		off += llen + 1;
	}
	free(data);
	if (lines)
		*lines = n;
	return rc;
}
