/* test-links: daemon/journal.c daemon/log.c daemon/fsutil.c */
/*
 * The journal: records appended read back whole and in order; a segment
 * left open by a crash (preallocated, tail of zeros) replays only what was
 * written, quietly; a record cut short by a crash ends the replay of its
 * segment; a segment that fills up continues in a new one with no record
 * lost; rotation truncates the segment to what it holds; release deletes
 * covered segments only; on a file system where the segment cannot be
 * preallocated, records go through buffered write(2) and still replay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/journal.h"

struct seen {
	uint64_t seq[4096];
	char payload[4096][32];
	size_t n;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	char *dir = malloc(64);

	snprintf(dir, 64, "/tmp/labqcd-test-journal-XXXXXX");
	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	nftw(*state, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

static void on_record(void *ctx, uint64_t seq, const struct message *m)
{
	struct seen *s = ctx;

	assert_true(s->n < 4096);
	assert_int_equal(m->topic_len, strlen("lab/main/fridge-01/temp"));
	assert_memory_equal(m->topic, "lab/main/fridge-01/temp", m->topic_len);
	assert_true(m->payload_len < sizeof(s->payload[0]));
	s->seq[s->n] = seq;
	memcpy(s->payload[s->n], m->payload, m->payload_len);
	s->payload[s->n][m->payload_len] = '\0';
	s->n++;
}

static void append(struct journal *j, uint64_t seq)
{
	char payload[32];
	struct message m = {.topic = "lab/main/fridge-01/temp",
			    .topic_len = strlen("lab/main/fridge-01/temp"),
			    .payload = payload,
			    .arrival = 1763884800.0 + (double)seq,
			    .qos = 1};

	m.payload_len = (size_t)snprintf(payload, sizeof(payload), "{\"v\":%llu}",
					 (unsigned long long)seq);
	assert_int_equal(journal_append(j, seq, &m), 0);
	assert_int_equal(journal_commit(j), 0);
}

static size_t segments(const char *dir, off_t *size_of_first)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	char path[4096 + 256];
	struct stat sb;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "seg-", 4) != 0)
			continue;
		if (n++ == 0 && size_of_first != NULL) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			assert_int_equal(stat(path, &sb), 0);
			*size_of_first = sb.st_size;
		}
	}
	closedir(d);
	return n;
}

static void check_seen(const struct seen *s, uint64_t first, size_t n)
{
	char want[32];

	assert_int_equal(s->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s->seq[i], first + i);
		snprintf(want, sizeof(want), "{\"v\":%llu}", (unsigned long long)(first + i));
		assert_string_equal(s->payload[i], want);
	}
}

/* Records appended and the segment closed: all back, in order; the
 * closed segment is cut to its records (no preallocated tail). */
static void test_roundtrip(void **state)
{
	struct journal *j = journal_open(*state);
	struct seen *s = calloc(1, sizeof(*s));
	off_t size = 0;

	assert_non_null(j);
	assert_int_equal(journal_start(j, 1), 0);
	assert_true(journal_mapped(j));
	for (uint64_t q = 1; q <= 1000; q++)
		append(j, q);
	journal_close(j);
	assert_int_equal(segments(*state, &size), 1);
	assert_true(size > 0 && size < 200 * 1000);
	j = journal_open(*state);
	assert_int_equal(journal_replay(j, on_record, s), 1000);
	check_seen(s, 1, 1000);
	journal_close(j);
	free(s);
}

/* A crash (no close): the segment keeps its preallocated zeros; replay
 * reads every record and stops quietly at the zeros. */
static void test_crash_leaves_zero_tail(void **state)
{
	struct journal *j = journal_open(*state);
	struct seen *s = calloc(1, sizeof(*s));
	off_t size = 0;
	pid_t pid;
	int status;

	assert_non_null(j);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (journal_start(j, 10) != 0)
			_exit(1);
		for (uint64_t q = 10; q < 110; q++)
			append(j, q);
		_exit(0); /* no close, no sync: as a kill -9 would leave it */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(segments(*state, &size), 1);
	assert_true(size >= (off_t)1 << 20); /* preallocated, not truncated */
	assert_int_equal(journal_replay(j, on_record, s), 109);
	check_seen(s, 10, 100);
	/* the next start reuses no name of a replayed segment */
	assert_int_equal(journal_start(j, 110), 0);
	append(j, 110);
	journal_close(j);
	free(s);
}

/* A record cut short (its bytes damaged) ends the replay of its segment
 * there: the records before it come back, nothing after it. */
static void test_torn_record(void **state)
{
	struct journal *j = journal_open(*state);
	struct seen *s = calloc(1, sizeof(*s));
	char path[256];
	struct stat sb;
	int fd;

	assert_non_null(j);
	assert_int_equal(journal_start(j, 1), 0);
	for (uint64_t q = 1; q <= 3; q++)
		append(j, q);
	journal_close(j);
	snprintf(path, sizeof(path), "%s/seg-%016x", (char *)*state, 1);
	assert_int_equal(stat(path, &sb), 0);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "XX", 2, sb.st_size - 3), 2); /* inside record 3 */
	close(fd);
	j = journal_open(*state);
	assert_int_equal(journal_replay(j, on_record, s), 2);
	check_seen(s, 1, 2);
	journal_close(j);
	free(s);
}

/* Rotation starts a new segment; release deletes the segments whose
 * records are all covered, never the open one. */
static void test_rotate_release(void **state)
{
	struct journal *j = journal_open(*state);
	struct seen *s = calloc(1, sizeof(*s));

	assert_non_null(j);
	assert_int_equal(journal_start(j, 1), 0);
	for (uint64_t q = 1; q <= 5; q++)
		append(j, q);
	assert_int_equal(journal_rotate(j, 6), 0);
	for (uint64_t q = 6; q <= 9; q++)
		append(j, q);
	assert_int_equal(journal_rotate(j, 10), 0);
	append(j, 10);
	assert_int_equal(segments(*state, NULL), 3);
	journal_release(j, 4); /* seg 1..5 not wholly covered */
	assert_int_equal(segments(*state, NULL), 3);
	journal_release(j, 9);
	assert_int_equal(segments(*state, NULL), 1);
	journal_close(j);
	j = journal_open(*state);
	assert_int_equal(journal_replay(j, on_record, s), 10);
	check_seen(s, 10, 1);
	journal_close(j);
	free(s);
}

struct big_seen {
	size_t n;
	bool ok;
};

static void on_big(void *ctx, uint64_t seq, const struct message *m)
{
	struct big_seen *b = ctx;
	char want = (char)('a' + (int)((seq - 1) % 26));

	b->ok = b->ok && seq == b->n + 1 && m->payload_len == (1u << 20) - 64 &&
		m->payload[0] == want && m->payload[m->payload_len - 1] == want;
	b->n++;
}

/* Records larger than what is left of a mapping window, and enough of
 * them to fill a 64 MiB segment: the journal moves its window and opens
 * a new segment, and every record comes back whole. */
static void test_fills_segment(void **state)
{
	struct journal *j = journal_open(*state);
	static char big[1 << 20];
	const size_t count = 70; /* 70 MiB: more than one segment */
	struct message m = {.topic = "lab/main/fridge-01/temp",
			    .topic_len = strlen("lab/main/fridge-01/temp"),
			    .payload = big,
			    .payload_len = sizeof(big) - 64,
			    .qos = 1};
	struct big_seen b = {0, true};

	assert_non_null(j);
	assert_int_equal(journal_start(j, 1), 0);
	for (size_t i = 0; i < count; i++) {
		memset(big, 'a' + (int)(i % 26), sizeof(big));
		assert_int_equal(journal_append(j, 1 + i, &m), 0);
	}
	journal_close(j);
	assert_int_equal(segments(*state, NULL), 2);
	j = journal_open(*state);
	assert_int_equal(journal_replay(j, on_big, &b), (int64_t)count);
	assert_int_equal(b.n, count);
	assert_true(b.ok);
	journal_close(j);
}

/* Where the segment cannot be preallocated (here a file size limit of
 * 1 MiB, as on a nearly full state_dir), records go through buffered
 * write(2): not mapped, and they still replay. In a child, so the limit
 * stays there. */
static void test_buffered_fallback(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {1 << 20, 1 << 20};
		struct journal *j;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0 || (j = journal_open(*state)) == NULL ||
		    journal_start(j, 1) != 0 || journal_mapped(j))
			_exit(1);
		for (uint64_t q = 1; q <= 50; q++)
			append(j, q);
		if (journal_pending(j) != 0)
			_exit(2);
		journal_close(j);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	struct journal *j = journal_open(*state);
	assert_int_equal(journal_replay(j, on_record, s), 50);
	check_seen(s, 1, 50);
	journal_close(j);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_leaves_zero_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fills_segment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_buffered_fallback, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
