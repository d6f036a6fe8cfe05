/*
 * units.c: config unit spellings to SenML unit names.
 *
 * A channel's `unit` in labqcd.yaml is free text written for people
 * ("C", "°C", "rpm"); SenML devices send the names of RFC 8428's unit
 * registry (section 12.1: "Cel", "1/min", "%RH"). The table holds only
 * the spellings that differ from the SenML name; one that is spelled
 * the same ("V", "A", "Pa", "%RH", "K", "Hz") matches itself and needs
 * no entry. Comparison is case-sensitive, as SenML's is: "C" in SenML
 * is the coulomb, so it never matches a Celsius channel.
 */
#include <string.h>

#include "daemon/units.h"

static const struct {
	const char *config;
	const char *senml;
} spellings[] = {
	{"C", "Cel"},      /* labqcd's own example config writes Celsius as C */
	{"\xc2\xb0" "C", "Cel"}, /* °C in UTF-8 */
	{"degC", "Cel"},
	{"RH", "%RH"},
	{"rpm", "1/min"},  /* the registry: 1/min, 1 per minute ("rpm") */
	{"L", "l"},        /* litre */
	{"\xce\xa9", "Ohm"}, /* Ω in UTF-8 */
};

bool unit_matches(const char *config, const char *senml)
{
	bool listed = false;

	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		if (strcmp(config, spellings[i].config) != 0)
			continue;
		listed = true;
		if (strcmp(senml, spellings[i].senml) == 0)
			return true;
	}
	return !listed && strcmp(config, senml) == 0;
}
