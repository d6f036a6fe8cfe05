/*
 * journal.c: the sample journal; see journal.h for the design.
 *
 * Owned by the main thread only. Two ways to write a segment:
 *
 * - mapped (the normal case): the segment is preallocated
 *   (posix_fallocate, SEGMENT_SIZE) and written through a MAP_SHARED
 *   window of it. A record copied into the window is in the page cache
 *   at once, so it survives a kill -9 of labqcd without a system call
 *   per message (one write(2) per message cost a fifth of the main
 *   thread at 100k messages/s). Preallocation also means the copy can
 *   never fault for lack of space (a SIGBUS on a full disk). The window
 *   (WINDOW bytes) slides along the segment, so the mapped pages counted
 *   in labqcd's RSS stay bounded. Closing a segment truncates it to what
 *   was written; after a crash the unused tail reads as zeros, which
 *   replay takes as the end.
 * - buffered (when the space cannot be preallocated: a small or full
 *   state_dir): appends go to a growable buffer and journal_commit()
 *   writes it with one write(2) with O_APPEND. A segment that starts
 *   buffered stays so; the next segment tries to map again.
 *
 * Segment names carry their first seq so that release can decide from
 * names alone which segments are covered.
 */
#include "daemon/journal.h"
#include "daemon/fsutil.h"
#include "daemon/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define JOURNAL_MAGIC 0x4c514a31u /* "LQJ1" */
#define RECORD_MAX (1u << 20)
#define SEGMENT_SIZE ((off_t)64 << 20)
#define WINDOW ((size_t)4 << 20) /* > RECORD_MAX + a header + a page */

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
	/* mapped mode */
	bool mapped;
	char *map;      /* window, NULL if none */
	off_t map_off;  /* file offset of the window (page aligned) */
	size_t map_len;
	off_t end;      /* bytes of records in the segment */
	/* buffered mode */
	char *buf;
	size_t len, cap;
	struct complaint write_complaint;
	bool buffered_logged; /* the fallback to buffered writes was logged */
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
		if (h.magic == 0 && h.crc == 0 && h.seq == 0)
			break; /* the preallocated tail of a segment left open */
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

/* Map the window that holds [from, from + need). */
static int window_at(struct journal *j, off_t from, size_t need)
{
	long page = sysconf(_SC_PAGESIZE);
	off_t off = from - from % page;
	size_t len = WINDOW;
	void *p;

	if (j->map != NULL && from >= j->map_off && from + (off_t)need <= j->map_off + (off_t)j->map_len)
		return 0;
	if (j->map != NULL)
		munmap(j->map, j->map_len);
	j->map = NULL;
	if (off + (off_t)len > SEGMENT_SIZE)
		len = (size_t)(SEGMENT_SIZE - off);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, j->fd, off);
	if (p == MAP_FAILED)
		return -1;
	j->map = p;
	j->map_off = off;
	j->map_len = len;
	return 0;
}

/* Close the current segment: unmap, cut the unused tail, optionally fsync. */
static void segment_close(struct journal *j, bool sync)
{
	if (j->fd == -1)
		return;
	if (j->map != NULL) {
		munmap(j->map, j->map_len);
		j->map = NULL;
	}
	if (j->mapped && ftruncate(j->fd, j->end) == -1)
		log_warn("journal: %s: truncate segment", j->dir);
	if (sync)
		fsync(j->fd);
	close(j->fd);
	j->fd = -1;
	j->mapped = false;
}

int journal_start(struct journal *j, uint64_t next_seq)
{
	char name[32];
	int e;

	if (j->fd != -1)
		return 0;
	segment_name(name, sizeof(name), next_seq);
	j->fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (j->fd == -1)
		return -1;
	/* A segment of this name can only hold what replay could not read
	 * (a torn first record, or zeros): its records would otherwise be
	 * below next_seq. */
	if (ftruncate(j->fd, 0) == -1)
		log_warn("journal: %s/%s: truncate", j->dir, name);
	j->first_seq = next_seq;
	j->end = 0;
	j->mapped = false;
	if ((e = posix_fallocate(j->fd, 0, SEGMENT_SIZE)) == 0 && window_at(j, 0, 0) == 0) {
		j->mapped = true;
		if (j->buffered_logged)
			log_info("journal: %s: segments preallocated again", j->dir);
		j->buffered_logged = false;
	} else {
		/* Said once: a full disk's own error is told by the
		 * write that fails, if one does. */
		if (!j->buffered_logged)
			log_info("journal: %s: a %lld MiB segment cannot be preallocated: "
				 "buffered writes", j->dir, (long long)(SEGMENT_SIZE >> 20));
		j->buffered_logged = true;
		if (ftruncate(j->fd, 0) == -1)
			log_warn("journal: %s/%s: truncate", j->dir, name);
	}
	fsync(j->dirfd);
	return 0;
}

static void record_header_fill(struct record_header *h, uint64_t seq, const struct message *m)
{
	h->magic = JOURNAL_MAGIC;
	h->seq = seq;
	h->arrival = m->arrival;
	h->topic_len = (uint32_t)m->topic_len;
	h->payload_len = (uint32_t)m->payload_len;
	h->crc = record_crc(h, m->topic, m->payload);
}

static int append_mapped(struct journal *j, uint64_t seq, const struct message *m, size_t need)
{
	struct record_header h;
	char *at;

	if (j->end + (off_t)need > SEGMENT_SIZE) {
		/* full: a new segment starting at this record; no fsync here
		 * (the checkpoint syncs), this is the ingest path */
		segment_close(j, false);
		if (journal_start(j, seq) == -1) {
			complain(&j->write_complaint, "journal: %s: new segment: %s", j->dir,
				 strerror(errno));
			return -1;
		}
		if (!j->mapped)
			return 1; /* the caller buffers it */
	}
	if (window_at(j, j->end, need) == -1) {
		complain(&j->write_complaint, "journal: %s: mmap: %s", j->dir, strerror(errno));
		return -1;
	}
	record_header_fill(&h, seq, m);
	at = j->map + (j->end - j->map_off);
	/* Body first, header last: a copy cut short by a crash leaves a
	 * zero header, which replay takes as the end. */
	memcpy(at + sizeof(h), m->topic, m->topic_len);
	memcpy(at + sizeof(h) + m->topic_len, m->payload, m->payload_len);
	memcpy(at, &h, sizeof(h));
	j->end += (off_t)need;
	return 0;
}

int journal_append(struct journal *j, uint64_t seq, const struct message *m)
{
	struct record_header h;
	size_t need;

	if (m->topic_len + m->payload_len > RECORD_MAX)
		return errno = EMSGSIZE, -1;
	need = sizeof(h) + m->topic_len + m->payload_len;
	if (j->mapped) {
		int rc = append_mapped(j, seq, m, need);
		if (rc <= 0)
			return rc;
	}
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
	record_header_fill(&h, seq, m);
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
	if (j->fd == -1 || j->mapped) {
		/* buffered records with no buffered segment to take them
		 * (the segment opened since is mapped): start a new one */
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
	if (j->map != NULL && msync(j->map, j->map_len, MS_SYNC) == -1)
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
	segment_close(j, true);
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

bool journal_mapped(const struct journal *j)
{
	return j->mapped;
}

void journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	journal_sync(j);
	segment_close(j, false);
	close(j->dirfd);
	free(j->buf);
	free(j);
}
