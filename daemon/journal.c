/*
 * journal.c: the sample journal; see journal.h for the design.
 *
 * Owned by the main thread only. Appends go to a growable buffer; commit
 * writes it whole with O_APPEND. Segment names carry their first seq so
 * that release can decide from names alone which segments are covered.
 */
#include "journal.h"
#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define JOURNAL_MAGIC 0x4c514a31u /* "LQJ1" */
#define RECORD_MAX (1u << 20)

struct record_header {
	uint32_t magic;
	uint32_t crc; /* CRC-32 of everything after this field */
	uint64_t seq;
	double arrival;
	uint32_t topic_len;
	uint32_t payload_len;
};

struct journal {
	char dir[4096];
	int dirfd;
	int fd; /* current segment, -1 if none */
	uint64_t first_seq;
	char *buf;
	size_t len, cap;
	struct complaint write_complaint;
};

static int segment_name(char *out, size_t len, uint64_t first)
{
	int n = snprintf(out, len, "seg-%016" PRIx64, first);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int segment_parse(const char *name, uint64_t *first)
{
	char *end;

	if (strncmp(name, "seg-", 4) != 0 || strlen(name) != 20)
		return -1;
	errno = 0;
	*first = strtoull(name + 4, &end, 16);
	return errno || *end != '\0' ? -1 : 0;
}

struct journal *journal_open(const char *dir)
{
	struct journal *j;

	if (fs_mkdir_p(dir, 0750) == -1)
		return NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	j->fd = -1;
	j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd == -1) {
		free(j);
		return NULL;
	}
	return j;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorted first-seqs of the segments on disk; caller frees. */
static int list_segments(struct journal *j, uint64_t **out, size_t *n)
{
	DIR *d;
	struct dirent *de;
	uint64_t *v = NULL, first;
	size_t cnt = 0, cap = 0;
	int fd = dup(j->dirfd);

	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (segment_parse(de->d_name, &first) == -1)
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			uint64_t *nv = reallocarray(v, ncap, sizeof(*v));
			if (nv == NULL) {
				free(v);
				closedir(d);
				return -1;
			}
			v = nv;
			cap = ncap;
		}
		v[cnt++] = first;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_u64);
	*out = v;
	*n = cnt;
	return 0;
}

static uint32_t record_crc(const struct record_header *h, const char *topic, const char *payload)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, (const Bytef *)&h->seq,
		    sizeof(*h) - offsetof(struct record_header, seq));
	crc = crc32(crc, (const Bytef *)topic, h->topic_len);
	crc = crc32(crc, (const Bytef *)payload, h->payload_len);
	return (uint32_t)crc;
}

/* Replay one segment file; returns the highest seq read (0 if none). */
static uint64_t replay_segment(struct journal *j, const char *name, journal_replay_cb cb,
			       void *ctx)
{
	int fd = openat(j->dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char *data;
	size_t off = 0;
	uint64_t last = 0;

	if (fd == -1) {
		log_warn("journal: %s/%s", j->dir, name);
		return 0;
	}
	if (fstat(fd, &sb) == -1 || (data = malloc(sb.st_size ? (size_t)sb.st_size : 1)) == NULL) {
		close(fd);
		return 0;
	}
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, data + got, (size_t)sb.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	while (off + sizeof(struct record_header) <= got) {
		struct record_header h;
		memcpy(&h, data + off, sizeof(h));
		size_t body = (size_t)h.topic_len + h.payload_len;
		if (h.magic != JOURNAL_MAGIC || body > RECORD_MAX ||
		    off + sizeof(h) + body > got) {
			log_warnx("journal: %s/%s: torn or corrupt record at offset %zu, "
				  "skipping the rest of the segment",
				  j->dir, name, off);
			break;
		}
		const char *topic = data + off + sizeof(h);
		const char *payload = topic + h.topic_len;
		if (record_crc(&h, topic, payload) != h.crc) {
			log_warnx("journal: %s/%s: checksum mismatch at offset %zu, "
				  "skipping the rest of the segment",
				  j->dir, name, off);
			break;
		}
		struct message m = {.topic = topic,
				    .topic_len = h.topic_len,
				    .payload = payload,
				    .payload_len = h.payload_len,
				    .arrival = h.arrival,
				    .qos = 1};
		cb(ctx, h.seq, &m);
		if (h.seq > last)
			last = h.seq;
		off += sizeof(h) + body;
	}
	free(data);
	return last;
}

int64_t journal_replay(struct journal *j, journal_replay_cb cb, void *ctx)
{
	uint64_t *segs, last = 0;
	size_t n;
	char name[32];

	if (list_segments(j, &segs, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		segment_name(name, sizeof(name), segs[i]);
		uint64_t l = replay_segment(j, name, cb, ctx);
		if (l > last)
			last = l;
	}
	free(segs);
	return (int64_t)last;
}

int journal_start(struct journal *j, uint64_t next_seq)
{
	char name[32];

	if (j->fd != -1)
		return 0;
	segment_name(name, sizeof(name), next_seq);
	j->fd = openat(j->dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (j->fd == -1)
		return -1;
	j->first_seq = next_seq;
	fsync(j->dirfd);
	return 0;
}

int journal_append(struct journal *j, uint64_t seq, const struct message *m)
{
	struct record_header h;
	size_t need;

	if (m->topic_len + m->payload_len > RECORD_MAX)
		return errno = EMSGSIZE, -1;
	need = sizeof(h) + m->topic_len + m->payload_len;
	if (j->len + need > j->cap) {
		size_t ncap = j->cap ? j->cap : 65536;
		while (ncap < j->len + need)
			ncap *= 2;
		char *nb = realloc(j->buf, ncap);
		if (nb == NULL)
			return -1;
		j->buf = nb;
		j->cap = ncap;
	}
	h.magic = JOURNAL_MAGIC;
	h.seq = seq;
	h.arrival = m->arrival;
	h.topic_len = (uint32_t)m->topic_len;
	h.payload_len = (uint32_t)m->payload_len;
	h.crc = record_crc(&h, m->topic, m->payload);
	memcpy(j->buf + j->len, &h, sizeof(h));
	memcpy(j->buf + j->len + sizeof(h), m->topic, m->topic_len);
	memcpy(j->buf + j->len + sizeof(h) + m->topic_len, m->payload, m->payload_len);
	j->len += need;
	return 0;
}

int journal_commit(struct journal *j)
{
	size_t off = 0;

	if (j->len == 0)
		return 0;
	if (j->fd == -1) {
		errno = EBADF;
		complain(&j->write_complaint, "journal: %s: no open segment", j->dir);
		return -1;
	}
	while (off < j->len) {
		ssize_t w = write(j->fd, j->buf + off, j->len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			/* Keep what was not written; a partial record on disk is
			 * detected as torn when read back, so drop the written
			 * prefix from the buffer only when whole. */
			if (off > 0) {
				memmove(j->buf, j->buf + off, j->len - off);
				j->len -= off;
			}
			complain(&j->write_complaint, "journal: %s: write: %s", j->dir,
				 strerror(e));
			errno = e;
			return -1;
		}
		off += (size_t)w;
	}
	j->len = 0;
	complain_release(&j->write_complaint, "journal: %s: writable again", j->dir);
	return 0;
}

int journal_sync(struct journal *j)
{
	if (journal_commit(j) == -1)
		return -1;
	if (j->fd != -1 && fsync(j->fd) == -1)
		return -1;
	return 0;
}

int journal_rotate(struct journal *j, uint64_t next_seq)
{
	if (next_seq == j->first_seq && j->fd != -1)
		return 0; /* nothing was written to the current segment */
	if (journal_commit(j) == -1)
		return -1;
	if (j->fd != -1) {
		fsync(j->fd);
		close(j->fd);
		j->fd = -1;
	}
	return journal_start(j, next_seq);
}

void journal_release(struct journal *j, uint64_t upto)
{
	uint64_t *segs;
	size_t n;
	char name[32];

	if (list_segments(j, &segs, &n) == -1)
		return;
	/* Segment i holds seqs [segs[i], segs[i+1]); the open one is never
	 * released. An empty closed segment is covered by its successor. */
	for (size_t i = 0; i + 1 < n; i++) {
		if (segs[i] == j->first_seq && j->fd != -1)
			break;
		if (segs[i + 1] - 1 > upto)
			break;
		segment_name(name, sizeof(name), segs[i]);
		if (unlinkat(j->dirfd, name, 0) == -1)
			log_warn("journal: unlink %s/%s", j->dir, name);
	}
	fsync(j->dirfd);
	free(segs);
}

size_t journal_pending(const struct journal *j)
{
	return j->len;
}

void journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	journal_sync(j);
	if (j->fd != -1)
		close(j->fd);
	close(j->dirfd);
	free(j->buf);
	free(j);
}
