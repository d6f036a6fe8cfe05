/* test-links: daemon/fsutil.c */
/*
 * fsutil's two ways of replacing a file. Both: the new bytes replace the
 * old whole (a longer file by a shorter one too), with the mode asked,
 * no temporary file is left, a reader that opened the old file still
 * reads the old bytes (rename, not rewrite in place), and a missing
 * directory is -1/ENOENT with nothing created. fs_write_atomic fsyncs
 * the file and its directory; fs_write_replace (the dashboard's files,
 * drawn again after a crash) fsyncs nothing: fsync is counted by the
 * definition below, which the linker takes over libc's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/fsutil.h"

static int n_fsync;

int fsync(int fd)
{
	n_fsync++;
	return (int)syscall(SYS_fsync, fd);
}

typedef int (*writer_fn)(const char *, const void *, size_t, unsigned);

static int setup(void **state)
{
	char *dir = malloc(64);

	snprintf(dir, 64, "/tmp/labqcd-test-fsutil-XXXXXX");
	assert_non_null(mkdtemp(dir));
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	char *dir = *state;
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
	return 0;
}

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void check_replaces(const char *dir, writer_fn write_fn)
{
	char path[128], buf[64];
	const char *longer = "the first version, longer than the second";
	struct stat sb;
	ssize_t n;
	int old;

	snprintf(path, sizeof(path), "%s/page.html", dir);
	assert_int_equal(write_fn(path, longer, strlen(longer), 0640), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	old = open(path, O_RDONLY);
	assert_true(old >= 0);

	assert_int_equal(write_fn(path, "second", 6, 0644), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 6);
	assert_int_equal(sb.st_mode & 0777, 0644);
	{
		char *data;
		size_t len;

		assert_int_equal(fs_read_all(path, &data, &len), 0);
		assert_int_equal(len, 6);
		assert_string_equal(data, "second");
		free(data);
	}
	/* the reader of the old file still has all of the old bytes */
	n = read(old, buf, sizeof(buf) - 1);
	assert_int_equal(n, (ssize_t)strlen(longer));
	buf[n] = '\0';
	assert_string_equal(buf, longer);
	close(old);
	assert_int_equal(entries(dir), 1); /* no temporary file left */

	snprintf(path, sizeof(path), "%s/no-such-dir/page.html", dir);
	errno = 0;
	assert_int_equal(write_fn(path, "x", 1, 0644), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(entries(dir), 1);
}

static void test_atomic_replaces_and_fsyncs(void **state)
{
	n_fsync = 0;
	check_replaces(*state, fs_write_atomic);
	/* two successful writes: the file and its directory each */
	assert_int_equal(n_fsync, 4);
}

static void test_replace_replaces_without_fsync(void **state)
{
	n_fsync = 0;
	check_replaces(*state, fs_write_replace);
	assert_int_equal(n_fsync, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_atomic_replaces_and_fsyncs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_replaces_without_fsync, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
