/*
 * rrd_layout.c: an RRD layout (struct cfg_rrd, the `rrd:` section that
 * config_rrd.c reads): DESIGN section 6's default, the rrd_create
 * arguments, the bytes of a file, a one-line description. Plain
 * functions of the struct, shared by the config (-t) and the store.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/config.h"

#define ALL_CF (RRD_CF_AVERAGE | RRD_CF_MIN | RRD_CF_MAX)

static const char *const cf_names[] = {"average", "min", "max", "last"};
static const char *const cf_rrd[] = {"AVERAGE", "MIN", "MAX", "LAST"};

/* DESIGN's order within an archive: min, average, max (then last). */
static const unsigned order[] = {1, 0, 2, 3};

static bool whole(double x)
{
	return x == floor(x);
}

void config_rrd_defaults(struct cfg_rrd *r)
{
	static const long every[] = {1, 5, 60}, rows[] = {2880, 4032, 9504};

	memset(r, 0, sizeof(*r));
	r->step_s = 60;
	r->heartbeat_s = 600;
	for (size_t i = 0; i < 3; i++)
		r->rra[i] = (struct cfg_rra){every[i], rows[i], ALL_CF};
	r->n_rra = 3;
}

/* librrd 1.x on 64-bit Linux: stat_head 128 bytes, a data source's
 * ds_def 120, live_head 16, pdp_prep 112; an archive's rra_def 120,
 * cdp_prep 80 a data source, rra_ptr 8; then 8 bytes a row and data
 * source (tests/unit/test_config_rrd.c checks this against a file
 * rrd_create made). */
unsigned long long config_rrd_file_bytes(const struct cfg_rrd *r)
{
	unsigned long long bytes = 128 + 120 + 16 + 112;

	for (size_t i = 0; i < r->n_rra; i++)
		for (unsigned b = 0; b < 4; b++)
			if ((r->rra[i].cfs >> b) & 1)
				bytes += 120 + 80 + 8 + 8ULL * (unsigned long long)r->rra[i].rows;
	return bytes;
}

int config_rrd_rra_args(const struct cfg_rrd *r, char bufs[][64], const char **argv)
{
	int k = 0;

	for (size_t i = 0; i < r->n_rra; i++)
		for (unsigned o = 0, b; o < 4; o++)
			if ((r->rra[i].cfs >> (b = order[o])) & 1) {
				snprintf(bufs[k], 64, "RRA:%s:0.5:%ld:%ld", cf_rrd[b],
					 r->rra[i].every_steps, r->rra[i].rows);
				argv[k] = bufs[k];
				k++;
			}
	return k;
}

static void human(double s, char *buf, size_t len)
{
	static const struct {
		double secs;
		const char *unit;
	} u[] = {{604800, "w"}, {86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (s >= u[i].secs && whole(s / u[i].secs)) {
			snprintf(buf, len, "%.0f%s", s / u[i].secs, u[i].unit);
			return;
		}
	snprintf(buf, len, "%.0fs", s);
}

void config_rrd_describe(const struct cfg_rrd *r, char *buf, size_t len)
{
	size_t o = 0;
	char a[32], b[32];

	human((double)r->step_s, a, sizeof(a));
	human((double)r->heartbeat_s, b, sizeof(b));
	o += (size_t)snprintf(buf, len, "step %s, heartbeat %s", a, b);
	for (size_t i = 0; i < r->n_rra && o < len; i++) {
		human((double)(r->rra[i].every_steps * r->step_s), a, sizeof(a));
		human((double)(r->rra[i].every_steps * r->step_s * r->rra[i].rows), b, sizeof(b));
		o += (size_t)snprintf(buf + o, len - o, "%s %s for %s (", i ? ";" : ":", a, b);
		for (unsigned k = 0, first = 1, cf; k < 4 && o < len; k++)
			if ((r->rra[i].cfs >> (cf = order[k])) & 1) {
				o += (size_t)snprintf(buf + o, len - o, "%s%s", first ? "" : " ",
						      cf_names[cf]);
				first = 0;
			}
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, ")");
	}
}

