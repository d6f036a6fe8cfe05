/*
 * units.h: a SenML unit (RFC 8428 section 12.1) against a channel's
 * configured `unit`, which is free text.
 */
#ifndef LABQCD_UNITS_H
#define LABQCD_UNITS_H

#include <stdbool.h>

/*
 * True when a record in SenML unit `senml` may be stored in a channel
 * configured with unit `config`. A config spelling in the table of
 * units.c matches the SenML names listed for it ("C" and "°C" match
 * "Cel", "rpm" matches "1/min"); any other config unit matches only the
 * identical SenML name. Case matters: SenML "C" is the coulomb.
 */
bool unit_matches(const char *config, const char *senml);

#endif
