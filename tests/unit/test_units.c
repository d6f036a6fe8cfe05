/* test-links: daemon/units.c */
/*
 * A SenML unit against a channel's configured unit: the spellings of
 * labqcd.yaml that differ from RFC 8428's unit registry map to it, the
 * same spelling matches itself, and nothing else matches; case matters
 * (SenML "C" is the coulomb, not Celsius).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/units.h"

static void test_units(void **state)
{
	static const struct {
		const char *config, *senml;
		bool match;
	} cases[] = {
		{"C", "Cel", true},
		{"\xc2\xb0" "C", "Cel", true}, /* °C */
		{"degC", "Cel", true},
		{"Cel", "Cel", true},
		{"C", "C", false}, /* SenML C is the coulomb */
		{"C", "K", false},
		{"C", "cel", false},
		{"%RH", "%RH", true},
		{"RH", "%RH", true},
		{"%", "%RH", false},
		{"rpm", "1/min", true},
		{"rpm", "rpm", false}, /* not a SenML unit */
		{"1/min", "1/min", true},
		{"L", "l", true},
		{"V", "V", true},
		{"V", "A", false},
		{"A", "A", true},
		{"Pa", "Pa", true},
		{"Pa", "hPa", false},
		{"/", "/", true},
		{"g", "g", true},       /* unknown to the table: only itself */
		{"MOhm.cm", "Ohm", false},
		{"MOhm.cm", "MOhm.cm", true},
		{"h", "s", false},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (unit_matches(cases[i].config, cases[i].senml) != cases[i].match)
			fail_msg("config \"%s\" vs SenML \"%s\": want %s", cases[i].config,
				 cases[i].senml, cases[i].match ? "match" : "no match");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
