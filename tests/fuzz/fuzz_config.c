/*
 * libFuzzer target for config_load(). config_load() takes a path, so
 * the input is written to a memfd and loaded through /proc/self/fd/N
 * (no file left behind). Besides not crashing or leaking, checks what
 * the daemon relies on from an accepted config: every instrument key,
 * channel, analyte and level is a valid identity component, so no config can name a path
 * outside rrd_dir.
 *   see the Makefile's fuzz target for the build line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "collectors/collectors.h"
#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const char *s)
{
	size_t len = strnlen(s, ID_MAX);
	if (len == 0 || len == ID_MAX || !ident_valid(s, len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	char path[64];
	int fd;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		return 0;
	if ((fd = memfd_create("fuzz_config", MFD_CLOEXEC)) == -1)
		return 0;
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0) {
			close(fd);
			return 0;
		}
		off += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct config *cfg = config_load(path, devnull);
	close(fd);
	if (cfg == NULL)
		return 0;
	for (size_t i = 0; i < cfg->n_instruments; i++) {
		check_id(cfg->instruments[i].site);
		check_id(cfg->instruments[i].name);
		const struct cfg_instrument *in = &cfg->instruments[i];
		for (size_t c = 0; c < in->n_channels; c++)
			check_id(in->channels[c].name);
		for (size_t q = 0; q < in->n_qc; q++) {
			check_id(in->qc[q].name);
			for (size_t l = 0; l < in->qc[q].n_levels; l++)
				check_id(in->qc[q].levels[l].name);
		}
	}
	config_free(cfg);
	return 0;
}
