/* test-links: daemon/rrdaddr.c daemon/config.c daemon/config_yaml.c daemon/config_fields.c daemon/config_values.c daemon/config_instruments.c daemon/config_qc.c daemon/config_pbrtqc.c daemon/config_routes.c daemon/config_rrd.c daemon/rrd_layout.c daemon/config_reports.c daemon/config_access.c rules/westgard_names.c collectors/topic.c rules/severity.c daemon/config_fleet.c */
/*
 * daemon.rrdcached's address (daemon/rrdaddr.c): the mode librrd 1.7.2
 * takes from it (rrd_client.c: "unix:" or "/" is a local socket,
 * anything else TCP), the check that names the wrong character, the
 * file names given to a daemon over TCP (below rrd_dir, its -b), and a
 * malformed address in a config file reported as file:line:column.
 * Expected columns are counted by hand on the strings below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/rrdaddr.h"

static void test_mode(void **state)
{
	(void)state;
	assert_int_equal(rrdaddr_mode(NULL), RRDADDR_DIRECT);
	assert_int_equal(rrdaddr_mode(""), RRDADDR_DIRECT);
	assert_int_equal(rrdaddr_mode("unix:/run/rrdcached.sock"), RRDADDR_LOCAL);
	assert_int_equal(rrdaddr_mode("/run/rrdcached.sock"), RRDADDR_LOCAL);
	assert_int_equal(rrdaddr_mode("127.0.0.1:42217"), RRDADDR_REMOTE);
	assert_int_equal(rrdaddr_mode("storage.lab.example"), RRDADDR_REMOTE);
	assert_int_equal(rrdaddr_mode("[::1]:42217"), RRDADDR_REMOTE);
}

static void good(const char *a)
{
	char err[160] = "";
	size_t col = 99;

	if (rrdaddr_check(a, err, sizeof(err), &col) != 0)
		fail_msg("%s refused: %s", a, err);
}

static void bad(const char *a, size_t want_col, const char *want_words)
{
	char err[160] = "";
	size_t col = 99;

	assert_int_equal(rrdaddr_check(a, err, sizeof(err), &col), -1);
	if (col != want_col || strstr(err, want_words) == NULL)
		fail_msg("%s: column %zu \"%s\", wanted column %zu and \"%s\"", a, col, err,
		         want_col, want_words);
}

static void test_check(void **state)
{
	(void)state;
	good("");
	good("unix:/run/rrdcached.sock");
	good("/run/rrdcached.sock");
	good("127.0.0.1:42217");
	good("127.0.0.1");
	good("storage-01.lab.example:65535");
	good("[::1]:42217");
	good("[2001:db8::7]");
	bad("127.0.0.1:", 10, "port");
	bad("127.0.0.1:0", 10, "1 to 65535");
	bad("127.0.0.1:65536", 10, "1 to 65535");
	bad("127.0.0.1:42x17", 12, "port");
	bad("host name:1", 4, "blanks");
	bad("st@rage:1", 2, "HOST:PORT");
	bad(":42217", 0, "host");
	bad("::1:42217", 0, "host");
	bad("fe80::1:42217", 4, "brackets");
	bad("[::1", 0, "]");
	bad("[::g]:1", 3, "IPv6");
	bad("[::1]x", 5, ":PORT");
	bad("unix:run/rrdcached.sock", 5, "absolute path");
}

static void test_name(void **state)
{
	(void)state;
	const char *p = "/srv/rrd/main/fridge-01/temp.rrd";

	/* local modes: the path as it is, librrd makes it absolute itself */
	assert_ptr_equal(rrdaddr_name("", "/srv/rrd", p), p);
	assert_ptr_equal(rrdaddr_name("unix:/run/r.sock", "/srv/rrd", p), p);
	/* TCP: below rrd_dir, whatever slashes end rrd_dir */
	assert_string_equal(rrdaddr_name("127.0.0.1:42217", "/srv/rrd", p),
	                    "main/fridge-01/temp.rrd");
	assert_string_equal(rrdaddr_name("127.0.0.1:42217", "/srv/rrd//", p),
	                    "main/fridge-01/temp.rrd");
	assert_string_equal(rrdaddr_name("h:1", "/", p), "srv/rrd/main/fridge-01/temp.rrd");
	/* not below it: no name (librrd would refuse an absolute one) */
	assert_null(rrdaddr_name("h:1", "/srv/rr", p));
	assert_null(rrdaddr_name("h:1", "/srv/rrd/main/fridge-01/temp.rrd", p));
	assert_null(rrdaddr_name("h:1", "/other", p));
}

static void test_describe(void **state)
{
	char buf[600];

	(void)state;
	rrdaddr_describe("10.0.0.5:42217", "/srv/rrd", buf, sizeof(buf));
	assert_non_null(strstr(buf, "over TCP at 10.0.0.5:42217"));
	assert_non_null(strstr(buf, "rrdcached -b /srv/rrd -B -R"));
	rrdaddr_describe("unix:/run/r.sock", "/srv/rrd", buf, sizeof(buf));
	assert_non_null(strstr(buf, "local socket unix:/run/r.sock"));
	rrdaddr_describe("", "/srv/rrd", buf, sizeof(buf));
	assert_non_null(strstr(buf, "directly in /srv/rrd"));
}

/* A config file with `text`; the loader's messages, or NULL if it loaded. */
static char *load_errors(const char *text, struct config **out)
{
	char path[] = "/tmp/test_rrdaddr_XXXXXX";
	int fd = mkstemp(path);
	char *errs = NULL;
	size_t len = 0;
	FILE *f;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	f = open_memstream(&errs, &len);
	*out = config_load(path, f);
	fclose(f);
	unlink(path);
	/* the message names the file: keep only from its first ':' on */
	char *colon = strstr(errs, path);
	if (colon != NULL)
		memmove(errs, colon + strlen(path), strlen(colon + strlen(path)) + 1);
	return errs;
}

static void test_config_column(void **state)
{
	struct config *cfg;
	char *errs;

	(void)state;
	/* line 2; the value starts at column 14 (1-based), the ':' after
	 * "127.0.0.1" is 9 further on, the 'x' of "42x17" 12 further */
	errs = load_errors("daemon:\n  rrdcached: 127.0.0.1:42x17\n", &cfg);
	assert_null(cfg);
	if (strstr(errs, ":2:26: daemon.rrdcached: the port is a number") != errs)
		fail_msg("got: %s", errs);
	free(errs);
	/* quoted: one column further for the quote */
	errs = load_errors("daemon:\n  rrdcached: \"fe80::1:42217\"\n", &cfg);
	assert_null(cfg);
	if (strstr(errs, ":2:19: daemon.rrdcached: an IPv6 address goes in brackets") != errs)
		fail_msg("got: %s", errs);
	free(errs);
	errs = load_errors("daemon:\n  rrdcached: 127.0.0.1:42217\n", &cfg);
	assert_non_null(cfg);
	assert_string_equal(cfg->daemon.rrdcached, "127.0.0.1:42217");
	config_free(cfg);
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mode),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_name),
	    cmocka_unit_test(test_describe),
	    cmocka_unit_test(test_config_column),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
