/*
 * bench_westgard.c: Westgard evaluations per second on one core.
 *
 * Build: cc -O2 -std=c11 -D_GNU_SOURCE -I. -Irules $(pkg-config --cflags libcjson) \
 *	tests/bench/bench_westgard.c rules/westgard.c rules/westgard_runs.c rules/westgard_count.c rules/westgard_names.c \
 *	rules/westgard_json.c -lcjson -lm -o build/bench_westgard
 * One analyte, 2 levels, rules 1-3s/2-2s/R-4s/4-1s/10x + warning 1-2s,
 * in-control Gaussian data with run ids; median of 5 runs of 2,000,000
 * evaluations. Prints one markdown table row.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rules/westgard.h"

#include "tests/bench/bench_clock.h"

#define EVALS 2000000
#define REPEATS 5

static uint64_t s = 0x9e3779b97f4a7c15ull;

static double uniform(void)
{
	s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
	return ((double)((s * 2685821657736338717ull) >> 11) + 0.5) / 9007199254740992.0;
}

int main(void)
{
	static double values[EVALS];
	static char ids[EVALS / 2][16];
	struct westgard_target tg[2] = {{.has_mean_sd = true, .mean = 100, .sd = 2},
	                                {.has_mean_sd = true, .mean = 250, .sd = 5}};
	struct westgard_params p;
	struct westgard *w = malloc(sizeof(*w));
	double rate[REPEATS];
	unsigned rejected = 0;

	if (w == NULL)
		return 1;
	westgard_params_init(&p, 2);
	for (int l = 0; l < 2; l++) {
		p.levels[l].targets = &tg[l];
		p.levels[l].n_targets = 1;
	}
	for (long i = 0; i < EVALS; i++) {
		double z = sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform());

		values[i] = tg[i % 2].mean + z * tg[i % 2].sd;
	}
	for (long i = 0; i < EVALS / 2; i++)
		snprintf(ids[i], sizeof(ids[i]), "r%ld", i);
	for (int rep = 0; rep < REPEATS; rep++) {
		struct qc_verdict v;
		double t0;

		westgard_init(w);
		t0 = now_s();
		for (long i = 0; i < EVALS; i++) {
			struct qc_input in = {.level = (int)(i % 2),
			                      .value = values[i],
			                      .t = 1.7e9 + 60.0 * i,
			                      .run = ids[i / 2],
			                      .lot = "A"};

			if (westgard_eval(w, &p, &in, &v) == 0 && v.rejected_now)
				rejected++;
		}
		rate[rep] = EVALS / (now_s() - t0);
	}
	qsort(rate, REPEATS, sizeof(rate[0]), cmp_double);
	printf("| westgard_eval (2 levels, 1-3s/2-2s/R-4s/4-1s/10x + 1-2s) | %.0f evals/s | "
	       "median of %d x %d, %u rejections |\n",
	       rate[REPEATS / 2], REPEATS, EVALS, rejected);
	free(w);
	return 0;
}
