/*
 * libFuzzer target for payload_decode() and payload_decode_event().
 * Besides not crashing, checks what callers rely on: a count in
 * 1..max, finite values and times, names that are "" or valid
 * identities, NUL-terminated strings, record labels and reasons of
 * printable ASCII.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. -Icollectors \
 *     tests/fuzz/fuzz_payload.c collectors/payload.c collectors/senml.c collectors/timefmt.c \
 *     collectors/topic.c $(pkg-config --cflags --libs libcjson)
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/collectors.h"

#define MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* NUL-terminated within size, printable ASCII only: fit for a log line. */
static bool printable(const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	if (len == size)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct payload_sample s[MAX];
	struct payload_meta meta;
	struct payload_event ev;
	char err[128];
	const double now = 1763884800.0;
	/* an exact-size copy so ASan sees any read past the end */
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	int n = payload_decode(buf, size, now, s, MAX, &meta, err, sizeof(err));
	if (n == 0 || n > MAX)
		abort();
	for (int i = 0; i < n; i++) {
		size_t len = strnlen(s[i].name, ID_MAX);
		if (!printable(s[i].record, sizeof(s[i].record)) ||
		    !printable(s[i].refused, sizeof(s[i].refused)))
			abort();
		if (s[i].refused[0]) /* a SenML record refused alone: named, with a reason */
			continue;
		if (!isfinite(s[i].value) || !isfinite(s[i].t) || len == ID_MAX ||
		    (len > 0 && !ident_valid(s[i].name, len)) ||
		    !printable(s[i].unit, sizeof(s[i].unit)))
			abort();
	}
	if (strnlen(meta.run, ID_MAX) == ID_MAX || strnlen(meta.operator_, ID_MAX) == ID_MAX)
		abort();
	if (n < 0 && strnlen(err, sizeof(err)) == 0)
		abort();
	if (payload_decode_event(buf, size, now, &ev, err, sizeof(err)) == 0) {
		if (ev.type == EV_NONE || !isfinite(ev.t) ||
		    (ev.type == EV_TASK_DONE && ev.task[0] == '\0') ||
		    strnlen(ev.by, sizeof(ev.by)) == sizeof(ev.by) ||
		    strnlen(ev.comment, sizeof(ev.comment)) == sizeof(ev.comment))
			abort();
	}
	double t;
	(void)rfc3339_parse(buf, size, &t);
	free(buf);
	return 0;
}
