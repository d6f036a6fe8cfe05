/*
 * notify_webhook.c: POST one webhook notification with libcurl.
 *
 * The body comes from webhook_body() (format alertmanager, slack or
 * plain); with a secret_file, the header X-Labqcd-Signature carries
 * "sha256=" and the hex HMAC-SHA256 of the exact body bytes. Only http
 * and https; redirects are not followed; TLS verification stays on.
 * Accepted means a 2xx status; anything else is retried later.
 */
#include "daemon/fsutil.h"
#include "daemon/log.h"
#include "daemon/notify_int.h"
#include "daemon/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t discard_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr, (void)arg;
	return size * nmemb;
}

int notify_webhook_send(CURL *c, const struct notification *n, double connect_timeout_s,
			double default_timeout_s, const atomic_bool *cancel, char *err,
			size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "", secret[1024], hex[65], sig[100];
	struct curl_slist *hdrs = NULL, *l;
	double timeout_s = n->timeout_s > 0 ? n->timeout_s : default_timeout_s;
	char *body = webhook_body(n);
	long code = 0;
	CURLcode rc;
	int ret = -1;

	if (body == NULL) {
		snprintf(err, errlen, "out of memory building the body");
		return -1;
	}
	if (n->secret_file[0]) {
		if (fs_read_secret(n->secret_file, secret, sizeof(secret), err, errlen) == -1)
			goto out;
		if (webhook_hmac_hex(secret, strlen(secret), body, strlen(body), hex) == -1) {
			explicit_bzero(secret, sizeof(secret));
			snprintf(err, errlen, "HMAC failed");
			goto out;
		}
		explicit_bzero(secret, sizeof(secret));
		snprintf(sig, sizeof(sig), "X-Labqcd-Signature: sha256=%s", hex);
		if ((l = curl_slist_append(hdrs, sig)) == NULL)
			goto nomem;
		hdrs = l;
	}
	if ((l = curl_slist_append(hdrs, "Content-Type: application/json")) == NULL)
		goto nomem;
	hdrs = l;
	if ((l = curl_slist_append(hdrs, "Expect:")) == NULL) /* no 100-continue round trip */
		goto nomem;
	hdrs = l;

	notify_curl_prepare(c, n->url, "http,https", errbuf, cancel, connect_timeout_s, timeout_s);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "labqcd");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK)
		snprintf(err, errlen, "%s: %s (%s)", n->url, curl_easy_strerror(rc),
			 errbuf[0] ? errbuf : "no detail");
	else if (code < 200 || code > 299)
		snprintf(err, errlen, "%s: HTTP status %ld", n->url, code);
	else
		ret = 0;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	curl_slist_free_all(hdrs);
	free(body);
	return ret;
}
