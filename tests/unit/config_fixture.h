/*
 * config_fixture.h: loading a config file in a unit test, its error text
 * kept. Header-only so each test stays one file plus what it links.
 */
#ifndef LABQCD_CONFIG_FIXTURE_H
#define LABQCD_CONFIG_FIXTURE_H

#include <stdio.h>

#include "daemon/config.h"

/* Load path; the error text goes to *errs (caller frees). */
static struct config *load(const char *path, char **errs)
{
	size_t len = 0;
	FILE *f = open_memstream(errs, &len);
	struct config *cfg;

	assert_non_null(f);
	cfg = config_load(path, f);
	fclose(f);
	return cfg;
}

#endif
