/*
 * notify_smtp.c: send one email notification with libcurl's SMTP.
 *
 * smtp:// (optionally STARTTLS, required when smtp.starttls) or smtps://;
 * AUTH with smtp.username and the password in smtp.password_file (refused
 * if others may read it); TLS verification stays on. The message comes
 * from mime_email(), with each alert's chart drawn for it now (see
 * charts_load), or, for a spool entry of an earlier version, the PNG
 * file it names; a report's email carries its PDFs and report.json
 * (report_files_load). curl_easy_perform returns CURLE_OK only after the server
 * answered 250 to the end of DATA, which is when the spool entry may go.
 */
#include "daemon/clock.h"
#include "daemon/fsutil.h"
#include "daemon/log.h"
#include "daemon/mime.h"
#include "daemon/notify_int.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#define MAX_CHARTS 4
#define MAX_CHART_BYTES (8u << 20)

struct reader {
	const char *data;
	size_t len, off;
};

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct reader *r = arg;
	size_t n = size * nmemb;

	if (n > r->len - r->off)
		n = r->len - r->off;
	memcpy(buf, r->data + r->off, n);
	r->off += n;
	return n;
}

/* "Lab QC <qc@lab.example>" -> "<qc@lab.example>"; "qc@lab" -> "<qc@lab>". */
static void envelope(const char *addr, char *out, size_t len)
{
	const char *lt = strrchr(addr, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	if (lt && gt)
		snprintf(out, len, "%.*s", (int)(gt - lt + 1), lt);
	else
		snprintf(out, len, "<%s>", addr);
}

struct charts {
	struct mime_attachment at[MAX_CHARTS];
	struct notify_png png[MAX_CHARTS];
	size_t n;
	char note[1024];
	size_t note_len;
};

static void note_add(struct charts *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note_add(struct charts *c, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (c->note_len + 1 >= sizeof(c->note))
		return;
	va_start(ap, fmt);
	k = vsnprintf(c->note + c->note_len, sizeof(c->note) - c->note_len, fmt, ap);
	va_end(ap);
	if (k > 0)
		c->note_len += (size_t)k < sizeof(c->note) - c->note_len
				       ? (size_t)k
				       : sizeof(c->note) - c->note_len - 1;
}

/* A PNG file the field names (spool entries of earlier versions). */
static int chart_file(const char *path, struct notify_png *p, char *why, size_t whylen)
{
	char tmp[CFG_PATH_MAX];
	char *data;
	size_t len;

	if (fs_read_all(path, &data, &len) == -1) {
		int e = errno;
		if (e != ENOENT)
			log_warn("notify: chart %s", path);
		snprintf(why, whylen, "%.200s: %s", path, strerror(e));
		return -1;
	}
	if (len < 8 || len > MAX_CHART_BYTES || memcmp(data, "\x89PNG", 4) != 0) {
		log_warnx("notify: chart %s is not a PNG of sane size; not attached", path);
		snprintf(why, whylen, "%.200s is not a PNG", path);
		free(data);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(p->name, sizeof(p->name), "%s", basename(tmp));
	p->data = (unsigned char *)data;
	p->len = len;
	return 1;
}

/* Every alert's chart, drawn now (o->chart) within o->chart_timeout_s
 * for the whole email; what could not be drawn is said in c->note. */
static void charts_load(const struct notification *n, const struct notify_opts *o, double now,
			struct charts *c)
{
	double deadline = wall_clock() + (o->chart_timeout_s > 0 ? o->chart_timeout_s : 10);

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n->n_alerts; i++) {
		const char *spec = n->alerts[i].chart;
		char why[512] = "";
		bool dup = false;
		int k;

		if (spec[0] == '\0')
			continue;
		for (size_t j = 0; j < i; j++)
			dup |= strcmp(n->alerts[j].chart, spec) == 0;
		if (dup)
			continue;
		if (c->n == MAX_CHARTS) {
			note_add(c, "Chart of %s: not attached (at most %d charts an email).\n",
				 n->alerts[i].key, MAX_CHARTS);
			continue;
		}
		if (spec[0] != '{')
			k = chart_file(spec, &c->png[c->n], why, sizeof(why));
		else if (o->chart == NULL)
			k = -1, snprintf(why, sizeof(why), "no chart drawer");
		else
			k = o->chart(spec, now, deadline, &c->png[c->n], MAX_CHARTS - c->n, why,
				     sizeof(why));
		if (k == -2) {
			log_warnx("notify: chart of %s not drawn within %g s (%s); sent without it",
				  n->alerts[i].key, o->chart_timeout_s, why);
			note_add(c, "Chart of %s: not attached: it could not be drawn within %g s (%s).\n",
				 n->alerts[i].key, o->chart_timeout_s, why);
		} else if (k < 0) {
			if (spec[0] == '{')
				log_warnx("notify: chart of %s: %s; sent without it", n->alerts[i].key,
					  why);
			note_add(c, "Chart of %s: not attached: %s.\n", n->alerts[i].key, why);
		} else {
			c->n += (size_t)k;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		c->at[i].name = c->png[i].name;
		c->at[i].data = c->png[i].data;
		c->at[i].len = c->png[i].len;
	}
}

static void charts_free(struct charts *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->png[i].data);
}

/* A report's files: every "*.pdf" of its directory by name, then
 * report.json, up to REPORT_MAX_FILES and REPORT_MAX_BYTES in all (SMTP
 * servers refuse larger messages); what is left out is named in the
 * note, and stays in the directory on the server. */
#define REPORT_MAX_FILES 64
#define REPORT_MAX_BYTES (20u << 20)

struct report_files {
	struct mime_attachment at[REPORT_MAX_FILES];
	char *data[REPORT_MAX_FILES];
	char *names[REPORT_MAX_FILES];
	size_t n;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_report_file(const char *name)
{
	size_t len = strlen(name);

	return strcmp(name, "report.json") == 0 ||
	       (len > 4 && strcmp(name + len - 4, ".pdf") == 0 && name[0] != '.');
}

static void report_files_load(const struct notification *n, struct report_files *rf,
			      struct charts *c)
{
	char *names[REPORT_MAX_FILES + 1], path[CFG_PATH_MAX + 300];
	size_t n_names = 0, total = 0;
	struct dirent *de;
	DIR *dir;

	memset(rf, 0, sizeof(*rf));
	if ((dir = opendir(n->report_dir)) == NULL) {
		log_warn("notify: report %s: %s", n->report, n->report_dir);
		note_add(c, "The report's files could not be read from %.300s: %s.\n", n->report_dir,
			 strerror(errno));
		return;
	}
	while ((de = readdir(dir)) != NULL && n_names <= REPORT_MAX_FILES)
		if (is_report_file(de->d_name) && (names[n_names] = strdup(de->d_name)) != NULL)
			n_names++;
	closedir(dir);
	/* PDFs by name, report.json last ('r' sorts after the site names
	 * only by chance: put it there on purpose). */
	qsort(names, n_names, sizeof(names[0]), by_name);
	for (size_t i = 0; i + 1 < n_names; i++)
		if (strcmp(names[i], "report.json") == 0) {
			char *j = names[i];
			memmove(names + i, names + i + 1, (n_names - i - 1) * sizeof(names[0]));
			names[n_names - 1] = j;
			break;
		}
	for (size_t i = 0; i < n_names; i++) {
		char *data = NULL;
		size_t len = 0;

		snprintf(path, sizeof(path), "%s/%s", n->report_dir, names[i]);
		if (rf->n == REPORT_MAX_FILES || fs_read_all(path, &data, &len) == -1 ||
		    total + len > REPORT_MAX_BYTES) {
			note_add(c, "%s: not attached (%s); it is in %.300s on the server.\n", names[i],
				 data == NULL && rf->n < REPORT_MAX_FILES ? strerror(errno)
									   : "too many or too large",
				 n->report_dir);
			free(data);
			free(names[i]);
			continue;
		}
		total += len;
		rf->data[rf->n] = data;
		rf->names[rf->n] = names[i];
		rf->at[rf->n] = (struct mime_attachment){
			.name = names[i],
			.data = (const unsigned char *)data,
			.len = len,
			.type = strcmp(names[i], "report.json") == 0 ? "application/json"
								     : "application/pdf"};
		rf->n++;
	}
}

static void report_files_free(struct report_files *rf)
{
	for (size_t i = 0; i < rf->n; i++) {
		free(rf->data[i]);
		free(rf->names[i]);
	}
	rf->n = 0;
}

int notify_smtp_send(CURL *c, const struct cfg_smtp *smtp, const struct notification *n,
		     const char *hostname, const struct notify_opts *o, double now,
		     const atomic_bool *cancel, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "", from[CFG_TEXT_MAX + 2], rcpt[CFG_TEXT_MAX + 2];
	char password[512] = "";
	struct curl_slist *rcpts = NULL;
	struct mime_opts mo = {0};
	struct charts charts;
	struct report_files *rf = NULL;
	struct reader rd = {0};
	double timeout_s = smtp->timeout_s > 0 ? smtp->timeout_s : 30;
	char *msg;
	size_t len;
	CURLcode rc;
	int ret = -1;

	if (smtp->url[0] == '\0') {
		snprintf(err, errlen, "no smtp.url configured");
		return -1;
	}
	if (n->n_to == 0) {
		snprintf(err, errlen, "no recipients");
		return -1;
	}
	if (smtp->password_file[0] &&
	    fs_read_secret(smtp->password_file, password, sizeof(password), err, errlen) == -1)
		return -1;

	if (n->report[0] && (rf = malloc(sizeof(*rf))) == NULL) {
		snprintf(err, errlen, "out of memory for the report's files");
		return -1;
	}
	charts_load(n, o, now, &charts);
	mo.chart_note = charts.note;
	mo.from = smtp->from;
	mo.date = now;
	mo.msgid_host = hostname;
	mo.attachments = charts.at;
	mo.n_attachments = charts.n;
	if (rf) {
		report_files_load(n, rf, &charts);
		mo.attachments = rf->at;
		mo.n_attachments = rf->n;
	}
	msg = mime_email(n, &mo, &len);
	charts_free(&charts);
	if (rf)
		report_files_free(rf);
	free(rf);
	if (msg == NULL) {
		snprintf(err, errlen, "out of memory building the message");
		return -1;
	}
	for (size_t i = 0; i < n->n_to; i++) {
		struct curl_slist *l;
		envelope(n->to[i], rcpt, sizeof(rcpt));
		l = curl_slist_append(rcpts, rcpt);
		if (l == NULL)
			goto out;
		rcpts = l;
	}
	envelope(smtp->from, from, sizeof(from));
	rd.data = msg;
	rd.len = len;

	notify_curl_prepare(c, smtp->url, "smtp,smtps", errbuf, cancel, o->connect_timeout_s,
			    timeout_s);
	if (smtp->starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (smtp->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, smtp->ca_file);
	if (smtp->username[0]) {
		curl_easy_setopt(c, CURLOPT_USERNAME, smtp->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, password);
	}
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		ret = 0;
	} else {
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code > 0)
			snprintf(err, errlen, "%s: %s (%s), server said %ld", smtp->url,
				 curl_easy_strerror(rc), errbuf[0] ? errbuf : "no detail", code);
		else
			snprintf(err, errlen, "%s: %s (%s)", smtp->url, curl_easy_strerror(rc),
				 errbuf[0] ? errbuf : "no detail");
	}
	/* The handle keeps pointers to our stack: clear them. */
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_READDATA, NULL);
out:
	explicit_bzero(password, sizeof(password));
	curl_slist_free_all(rcpts);
	free(msg);
	return ret;
}
