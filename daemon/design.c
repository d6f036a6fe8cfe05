/*
 * design.c: labqcd -c FILE --pbrtqc-design --analyte SITE/INSTRUMENT/ANALYTE
 * --from FILE [--blocks 10,20,40,80] [--period PERIOD] [--format table]
 * (issue 22).
 *
 * The power of the analyte's `pbrtqc:` on the lab's own patient results,
 * per candidate block size, as the IFCC guidance asks: the false alarm
 * rate and the median number of patient results to detection (MNPed) of
 * a bias of -2, -1, +1 and +2 x TEa/4 (of the target, or of the median
 * result without one; without `tea`, of -1, -0.5, +0.5, +1 SD of the
 * results). The results are "topic payload" lines as mosquitto_sub -v
 * writes them (labqcd keeps no patient values: capture them with
 * `mosquitto_sub -v -t 'lab/+/+/patient/#'`); payloads as the daemon
 * takes them. For each block the limits are learnt as the rule learns
 * them, from its first `train` statistics at its `false_alarm_rate` (a
 * block needs its own limits: fixed limits of the config belong to its
 * block), and judged on the rest (rules/pbrtqc_design.c). Reads FILE
 * only; writes nothing but stdout.
 */
#include "daemon/labqcd.h"
#include "dashboards/report.h"
#include "rules/pbrtqc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKS_MAX 16

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The patient results of `key` in the capture, in order (caller frees). */
static double *read_capture(const struct config *cfg, const struct whatif_opts *o,
			    const struct report_period *period, size_t *n)
{
	FILE *in = fopen(o->from, "r");
	char *line = NULL;
	size_t cap = 0, have = 0;
	ssize_t len;
	double *v = NULL;

	*n = 0;
	if (in == NULL) {
		log_warn("pbrtqc-design: %s", o->from);
		return NULL;
	}
	while ((len = getline(&line, &cap, in)) != -1) {
		const char *topic, *payload;
		size_t tlen, plen;
		char err[160], key[ID_MAX * 3 + 3];
		struct topic tp;
		struct payload_sample s;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 ||
		    replay_split_line(line, (size_t)len, &topic, &tlen, &payload, &plen, err,
				      sizeof(err)) == -1 ||
		    topic_parse(cfg->mqtt.prefix, topic, tlen, &tp, err, sizeof(err)) == -1 ||
		    tp.kind != TOPIC_PATIENT)
			continue;
		snprintf(key, sizeof(key), "%s/%s/%s", tp.site, tp.instrument, tp.channel);
		if (strcmp(key, o->analyte) != 0 ||
		    payload_decode_patient(payload, plen, NAN, &s, err, sizeof(err)) == -1)
			continue;
		/* a result without its own time passes any period */
		if (period && isfinite(s.t) && (s.t < period->start || s.t >= period->end))
			continue;
		if (*n == have) {
			size_t want = have ? have * 2 : 4096;
			double *nv = reallocarray(v, want, sizeof(double));
			if (nv == NULL)
				break;
			v = nv;
			have = want;
		}
		v[(*n)++] = s.value;
	}
	free(line);
	fclose(in);
	return v;
}

static int parse_blocks(const char *s, int *out, size_t *n)
{
	char *end;

	*n = 0;
	for (const char *p = s; *p && *n < BLOCKS_MAX; p = *end ? end + 1 : end) {
		long b = strtol(p, &end, 10);
		if (end == p || (*end && *end != ',') || b < 1 || b > PBRTQC_BLOCK_MAX)
			return -1;
		out[(*n)++] = (int)b;
	}
	return *n ? 0 : -1;
}

int design_run(struct config *cfg, const struct whatif_opts *o)
{
	static const int default_blocks[] = {10, 20, 40, 80};
	int blocks[BLOCKS_MAX];
	size_t n_blocks = 4, n = 0;
	struct report_period period;
	char err[256], site[ID_MAX], instrument[ID_MAX], name[ID_MAX];
	int rc = 2;
	double *v = NULL;

	memcpy(blocks, default_blocks, sizeof(default_blocks));
	if (o->blocks && parse_blocks(o->blocks, blocks, &n_blocks) == -1) {
		fprintf(stderr, "labqcd: --blocks: block sizes 1 to %d, such as 10,20,40\n",
			PBRTQC_BLOCK_MAX);
		goto out;
	}
	if (o->period && report_period_parse(o->period, &period, err, sizeof(err)) == -1) {
		fprintf(stderr, "labqcd: --period %s\n", err);
		goto out;
	}
	const char *s1 = strchr(o->analyte, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	const struct cfg_qc_analyte *a = NULL;
	if (s1 && s2 && s1 - o->analyte < ID_MAX && s2 - s1 - 1 < ID_MAX && strlen(s2 + 1) < ID_MAX) {
		snprintf(site, sizeof(site), "%.*s", (int)(s1 - o->analyte), o->analyte);
		snprintf(instrument, sizeof(instrument), "%.*s", (int)(s2 - s1 - 1), s1 + 1);
		snprintf(name, sizeof(name), "%s", s2 + 1);
		const struct cfg_instrument *ins = config_instrument(cfg, site, instrument);
		a = ins ? config_analyte(ins, name) : NULL;
	}
	if (a == NULL || !a->pbrtqc.enabled) {
		fprintf(stderr, "labqcd: --pbrtqc-design: %s has no pbrtqc: in %s\n", o->analyte,
			cfg->path);
		goto out;
	}
	rc = 1;
	if ((v = read_capture(cfg, o, o->period ? &period : NULL, &n)) == NULL || n == 0) {
		fprintf(stderr, "labqcd: --pbrtqc-design: no patient results of %s in %s\n",
			o->analyte, o->from);
		goto out;
	}

	/* the biases: k x TEa/4 of the target, or k/2 SD of the results */
	struct pbrtqc_params p;
	double biases[4], k[4] = {-2, -1, 1, 2}, center = a->pbrtqc.target, sum = 0, ss = 0;
	pbrtqc_params_from_config(&a->pbrtqc, &p);
	if (!a->pbrtqc.has_target) {
		double *sorted = malloc(n * sizeof(double));
		if (sorted == NULL)
			goto out;
		memcpy(sorted, v, n * sizeof(double));
		qsort(sorted, n, sizeof(double), cmp_double);
		center = sorted[n / 2];
		free(sorted);
	}
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - sum / n) * (v[i] - sum / n);
	double sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
	for (int i = 0; i < 4; i++)
		biases[i] = a->has_tea ? k[i] * a->tea_pct / 4 / 100 * fabs(center) : k[i] / 2 * sd;
	p.has_limits = false;
	if (o->table)
		printf("PBRTQC design for %s: %s, %zu results, limits learnt from %d statistics at "
		       "a false alarm rate of %g\nbias: %s\n%6s %12s %12s %8s   MNPed at bias %+.4g "
		       "%+.4g %+.4g %+.4g\n",
		       o->analyte, pbrtqc_method_name(p.method), n, p.train_n, p.far,
		       a->has_tea ? "-2, -1, +1, +2 x TEa/4" : "-1, -0.5, +0.5, +1 SD (no tea)",
		       "block", "lo", "hi", "FAR", biases[0], biases[1], biases[2], biases[3]);
	rc = 0;
	for (size_t b = 0; b < n_blocks; b++) {
		struct pbrtqc_design d;
		p.block = blocks[b];
		if (pbrtqc_design_run(v, n, &p, biases, 4, &d, err, sizeof(err)) == -1) {
			fprintf(stderr, "labqcd: --pbrtqc-design: block %d: %s\n", blocks[b], err);
			rc = 1;
			continue;
		}
		if (o->table) {
			printf("%6d %12.5g %12.5g %8.4f", blocks[b], d.lo, d.hi, d.far);
			for (int i = 0; i < 4; i++)
				if (isfinite(d.bias[i].mnped))
					printf(" %10g", d.bias[i].mnped);
				else
					printf(" %10s", "missed");
			printf("\n");
			continue;
		}
		cJSON *r = cJSON_CreateObject(), *arr;
		cJSON_AddStringToObject(r, "type", "pbrtqc_design");
		cJSON_AddStringToObject(r, "key", o->analyte);
		cJSON_AddStringToObject(r, "method", pbrtqc_method_name(p.method));
		cJSON_AddNumberToObject(r, "block", blocks[b]);
		cJSON_AddNumberToObject(r, "results", (double)n);
		cJSON_AddNumberToObject(r, "lo", d.lo);
		cJSON_AddNumberToObject(r, "hi", d.hi);
		cJSON_AddNumberToObject(r, "judged", (double)d.judged);
		cJSON_AddNumberToObject(r, "false_alarm_rate", d.far);
		arr = cJSON_AddArrayToObject(r, "biases");
		for (int i = 0; i < 4; i++) {
			cJSON *x = cJSON_CreateObject();
			cJSON_AddNumberToObject(x, "bias", d.bias[i].bias);
			if (a->has_tea)
				cJSON_AddNumberToObject(x, "tea_quarters", k[i]);
			else
				cJSON_AddNumberToObject(x, "sd", k[i] / 2);
			cJSON_AddNumberToObject(x, "trials", (double)d.bias[i].trials);
			cJSON_AddNumberToObject(x, "detected", (double)d.bias[i].detected);
			if (isfinite(d.bias[i].mnped))
				cJSON_AddNumberToObject(x, "mnped", d.bias[i].mnped);
			else
				cJSON_AddNullToObject(x, "mnped");
			cJSON_AddItemToArray(arr, x);
		}
		char *text = cJSON_PrintUnformatted(r);
		if (text)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(r);
	}
out:
	free(v);
	config_free(cfg);
	return rc;
}
