/*
 * store_series.c: the RRD store's series table, its paths and entries,
 * and the last-update times across a restart (store.c is the rest of the
 * main thread's side and calls this; store_int.h what they share).
 *
 * At a clean stop every series' last update time goes to
 * <rrd_dir>/.last-updates ("kind<TAB>milliseconds<TAB>relpath" a line),
 * and the next start reads it back (and removes it): the first sample of
 * each series after a restart costs no rrd_last on the main thread (at
 * 100k series, seconds of it). Only series whose every value is in its
 * file are saved; the others, a file not listed, and every series after
 * a crash (no file: it was removed when read) are read from their files
 * as before. The file sits with the RRD files: a wiped rrd_dir loses both
 * (over TCP it is <state_dir>/rrd.last-updates, this instance's own). */
#include "daemon/store.h"
#include "daemon/store_int.h"
#include "daemon/fsutil.h"
#include "daemon/log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int store_path(const struct store *st, const char *relpath, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s.rrd", st->rrd_dir, relpath);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

bool store_valid_relpath(const char *r)
{
	if (*r == '\0' || *r == '/')
		return false;
	for (const char *c = r; *c != '\0';) {
		size_t len = strcspn(c, "/");

		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += len;
		if (*c == '/')
			c++;
		else
			break;
	}
	return r[strlen(r) - 1] != '/';
}

struct series *store_series_alloc(struct store *st, const char *relpath, enum series_kind kind)
{
	struct series *s;
	char path[4096];

	if (store_path(st, relpath, path, sizeof(path)) == -1)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->path = strdup(path)) == NULL) {
		free(s);
		return NULL;
	}
	s->relpath = s->path + strlen(st->rrd_dir) + 1;
	s->kind = kind;
	store_vbuf_clear(&s->fill);
	store_vbuf_clear(&s->handed);
	store_vbuf_clear(&s->work);
	HASH_ADD_KEYPTR(hh, st->table, s->relpath, strlen(relpath), s);
	return s;
}

static void last_path(const struct store *st, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", st->notes_dir, st->remote ? "rrd.last-updates" : ".last-updates");
}

void store_last_load(struct store *st)
{
	char path[4200], *data, *line, *next;
	size_t len, n = 0;

	last_path(st, path, sizeof(path));
	if (fs_read_all(path, &data, &len) == -1) {
		if (errno != ENOENT)
			log_warn("store: %s", path);
		return;
	}
	if (unlink(path) == -1)
		log_warn("store: %s", path);
	for (line = data; line < data + len && *line != '\0'; line = next) {
		char *tab1, *tab2, *end;
		struct series *s;
		long kind;
		long long ms;

		next = strchr(line, '\n');
		next = next ? next + 1 : data + len;
		if (next[-1] == '\n')
			next[-1] = '\0';
		kind = strtol(line, &tab1, 10);
		if (*tab1 != '\t' || kind < SERIES_GAUGE || kind > SERIES_QC)
			continue;
		ms = strtoll(tab1 + 1, &tab2, 10);
		if (*tab2 != '\t' || ms <= 0 || !store_valid_relpath(tab2 + 1))
			continue;
		end = tab2 + 1;
		HASH_FIND_STR(st->table, end, s);
		if (s != NULL || (s = store_series_alloc(st, end, (enum series_kind)kind)) == NULL)
			continue;
		s->last_t = (double)ms / 1000;
		s->file_known = true;
		n++;
	}
	free(data);
	log_info("store: last update times of %zu series read from %s", n, path);
}

void store_last_save(struct store *st)
{
	char path[4200];
	struct series *s, *tmp;
	char *buf = NULL;
	size_t len = 0, n = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return;
	last_path(st, path, sizeof(path));
	HASH_ITER(hh, st->table, s, tmp)
	{
		if (s->fill.n || s->handed.n || s->work.n || !s->file_known ||
		    s->last_t == -INFINITY)
			continue;
		/* relpath runs on into ".rrd" (store_int.h) */
		fprintf(f, "%d\t%lld\t%.*s\n", (int)s->kind, llround(s->last_t * 1000),
			(int)strlen(s->relpath) - 4, s->relpath);
		n++;
	}
	if (fclose(f) == 0 && n > 0 && fs_write_atomic(path, buf, len, 0644) == -1)
		log_warn("store: %s", path);
	free(buf);
}
