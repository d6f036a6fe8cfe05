/*
 * notify_smtp.c: send one email notification with libcurl's SMTP.
 *
 * smtp:// (optionally STARTTLS, required when smtp.starttls) or smtps://;
 * AUTH with smtp.username and the password in smtp.password_file (refused
 * if others may read it); TLS verification stays on. The message comes
 * from mime_email(); PNG charts the alerts name are attached when the
 * files exist. curl_easy_perform returns CURLE_OK only after the server
 * answered 250 to the end of DATA, which is when the spool entry may go.
 */
#include "fsutil.h"
#include "log.h"
#include "mime.h"
#include "notify_int.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	char *data[MAX_CHARTS];
	char names[MAX_CHARTS][256];
	size_t n;
};

static void charts_load(const struct notification *n, struct charts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n->n_alerts && c->n < MAX_CHARTS; i++) {
		const char *path = n->alerts[i].chart;
		char tmp[CFG_PATH_MAX];
		size_t len;
		bool dup = false;

		if (path[0] == '\0')
			continue;
		for (size_t j = 0; j < i; j++)
			dup |= strcmp(n->alerts[j].chart, path) == 0;
		if (dup)
			continue;
		if (fs_read_all(path, &c->data[c->n], &len) == -1) {
			if (errno != ENOENT)
				log_warn("notify: chart %s", path);
			continue;
		}
		if (len < 8 || len > MAX_CHART_BYTES || memcmp(c->data[c->n], "\x89PNG", 4) != 0) {
			log_warnx("notify: chart %s is not a PNG of sane size; not attached", path);
			free(c->data[c->n]);
			c->data[c->n] = NULL;
			continue;
		}
		snprintf(tmp, sizeof(tmp), "%s", path);
		snprintf(c->names[c->n], sizeof(c->names[0]), "%s", basename(tmp));
		c->at[c->n].name = c->names[c->n];
		c->at[c->n].data = (const unsigned char *)c->data[c->n];
		c->at[c->n].len = len;
		c->n++;
	}
}

static void charts_free(struct charts *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->data[i]);
}

int notify_smtp_send(CURL *c, const struct cfg_smtp *smtp, const struct notification *n,
		     const char *hostname, double connect_timeout_s, double now,
		     const atomic_bool *cancel, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "", from[CFG_TEXT_MAX + 2], rcpt[CFG_TEXT_MAX + 2];
	char password[512] = "";
	struct curl_slist *rcpts = NULL;
	struct mime_opts mo = {0};
	struct charts charts;
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
	    notify_read_secret(smtp->password_file, password, sizeof(password), err, errlen) == -1)
		return -1;

	charts_load(n, &charts);
	mo.from = smtp->from;
	mo.date = now;
	mo.msgid_host = hostname;
	mo.attachments = charts.at;
	mo.n_attachments = charts.n;
	msg = mime_email(n, &mo, &len);
	charts_free(&charts);
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

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, smtp->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	notify_set_cancel(c, cancel);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(connect_timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
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
