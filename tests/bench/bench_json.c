/*
 * bench_json: decoding cost of typical payloads with cJSON and jansson,
 * to choose the JSON library of the hot path (collectors/payload.c).
 * Each case parses, reads the fields labqcd reads, and frees the tree;
 * median of 5 runs of N iterations; a markdown table on stdout.
 *   cc -std=c11 -O2 -D_GNU_SOURCE -o build/bench_json tests/bench/bench_json.c \
 *     $(pkg-config --cflags --libs libcjson jansson)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <jansson.h>

#include "tests/bench/bench_clock.h"

#define RUNS 5

static const char object_payload[] =
	"{\"value\": 103.1, \"t\": 1763884800.25, \"run\": \"r7\", \"lot\": \"A1\", "
	"\"operator\": \"J. Doe\"}";

static const char senml_payload[] =
	"[{\"bn\":\"fridge-\",\"bt\":1763884800,\"bu\":\"Cel\",\"n\":\"temp\",\"v\":4.5},"
	"{\"n\":\"temp\",\"v\":4.6,\"t\":10},{\"n\":\"temp\",\"v\":4.7,\"t\":20},"
	"{\"n\":\"temp\",\"v\":4.8,\"t\":30},{\"n\":\"temp\",\"v\":4.7,\"t\":40},"
	"{\"n\":\"door\",\"v\":0,\"t\":50},{\"n\":\"temp\",\"v\":4.6,\"t\":60},"
	"{\"n\":\"temp\",\"v\":4.5,\"t\":70},{\"n\":\"temp\",\"v\":4.4,\"t\":80},"
	"{\"n\":\"door\",\"v\":1,\"t\":90}]";

static volatile double sink;

static void cjson_object(const char *p, size_t n)
{
	cJSON *o = cJSON_ParseWithLength(p, n);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "value");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "t");
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "run");
	sink = v->valuedouble + t->valuedouble + (double)strlen(run->valuestring);
	cJSON_Delete(o);
}

static void jansson_object(const char *p, size_t n)
{
	json_error_t e;
	json_t *o = json_loadb(p, n, 0, &e);
	json_t *v = json_object_get(o, "value"), *t = json_object_get(o, "t");
	json_t *run = json_object_get(o, "run");
	sink = json_number_value(v) + json_number_value(t) + (double)strlen(json_string_value(run));
	json_decref(o);
}

static void cjson_senml(const char *p, size_t n)
{
	cJSON *a = cJSON_ParseWithLength(p, n);
	double acc = 0;
	for (const cJSON *r = a->child; r; r = r->next)
		for (const cJSON *it = r->child; it; it = it->next)
			if (cJSON_IsNumber(it))
				acc += it->valuedouble;
	sink = acc;
	cJSON_Delete(a);
}

static void jansson_senml(const char *p, size_t n)
{
	json_error_t e;
	json_t *a = json_loadb(p, n, 0, &e);
	double acc = 0;
	size_t i;
	json_t *r;
	json_array_foreach(a, i, r)
	{
		const char *k;
		json_t *it;
		json_object_foreach(r, k, it)
		{
			if (json_is_number(it))
				acc += json_number_value(it);
		}
	}
	sink = acc;
	json_decref(a);
}

/* Median over RUNS of the time per decode, in nanoseconds. */
static double bench(void (*fn)(const char *, size_t), const char *p, long iters)
{
	double per[RUNS];
	size_t n = strlen(p);
	for (int r = 0; r < RUNS; r++) {
		double t0 = now_s();
		for (long i = 0; i < iters; i++)
			fn(p, n);
		per[r] = (now_s() - t0) / iters * 1e9;
	}
	qsort(per, RUNS, sizeof(per[0]), cmp_double);
	return per[RUNS / 2];
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	if (iters <= 0)
		iters = 200000;
	json_object_seed(1); /* no getrandom per process start noise */
	double co = bench(cjson_object, object_payload, iters);
	double jo = bench(jansson_object, object_payload, iters);
	double cs = bench(cjson_senml, senml_payload, iters / 5);
	double js = bench(jansson_senml, senml_payload, iters / 5);

	printf("JSON decode, median of %d runs (N = %ld object, %ld SenML); cJSON %s, jansson %s\n\n",
	       RUNS, iters, iters / 5, cJSON_Version(), JANSSON_VERSION);
	printf("| payload | cJSON ns/msg | jansson ns/msg | jansson/cJSON |\n");
	printf("|---|---:|---:|---:|\n");
	printf("| JSON object sample (%zu B) | %.0f | %.0f | %.2f |\n", strlen(object_payload), co, jo,
	       jo / co);
	printf("| SenML pack, 10 records (%zu B) | %.0f | %.0f | %.2f |\n", strlen(senml_payload), cs,
	       js, js / cs);
	return 0;
}
