/* test-links: collectors/replay_line.c */
/*
 * Replay lines (mosquitto_sub -v): the topic ends at the first space,
 * the payload is the rest without its newline, spaces inside it kept;
 * a line without a space or with an empty topic is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "collectors/collectors.h"

static void test_split(void **state)
{
	const char *topic, *payload;
	size_t tlen, plen;
	char err[64];
	const char *line = "lab/main/fridge-02/temp {\"value\": 4.2, \"t\": 1}\n";
	(void)state;

	assert_int_equal(
		replay_split_line(line, strlen(line), &topic, &tlen, &payload, &plen, err, sizeof(err)),
		0);
	assert_int_equal(tlen, strlen("lab/main/fridge-02/temp"));
	assert_memory_equal(topic, "lab/main/fridge-02/temp", tlen);
	assert_int_equal(plen, strlen("{\"value\": 4.2, \"t\": 1}"));
	assert_memory_equal(payload, "{\"value\": 4.2, \"t\": 1}", plen);

	line = "lab/a/b/c 4.2\r\n";
	assert_int_equal(
		replay_split_line(line, strlen(line), &topic, &tlen, &payload, &plen, err, sizeof(err)),
		0);
	assert_int_equal(plen, 3);

	/* empty payload: split, and left to the payload decoder to refuse */
	line = "lab/a/b/c ";
	assert_int_equal(
		replay_split_line(line, strlen(line), &topic, &tlen, &payload, &plen, err, sizeof(err)),
		0);
	assert_int_equal(tlen, 9);
	assert_int_equal(plen, 0);
}

static void test_refused(void **state)
{
	const char *topic, *payload;
	size_t tlen, plen;
	char err[64];
	(void)state;

	static const char *const bad[] = {"", "\n", "lab/a/b/c", "lab/a/b/c\n", " 4.2", " "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(replay_split_line(bad[i], strlen(bad[i]), &topic, &tlen, &payload,
						   &plen, err, sizeof(err)),
				 -1);
		assert_true(err[0] != '\0');
	}
	/* only len bytes count: the space is past the end */
	assert_int_equal(replay_split_line("abc def", 3, &topic, &tlen, &payload, &plen, err,
					   sizeof(err)),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
