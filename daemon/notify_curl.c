/*
 * notify_curl.c: the one preparation of a libcurl easy handle that both
 * senders (SMTP and webhook) share: reset (connections are kept), the
 * URL and the protocols it may use, no signals (a thread), an error
 * buffer, the time limits, and the cancel flag that aborts a transfer in
 * progress when the daemon stops.
 */
#include "daemon/notify_int.h"

#include <stdbool.h>

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return atomic_load((const atomic_bool *)arg) ? 1 : 0; /* non-zero aborts */
}

static void set_cancel(CURL *c, const atomic_bool *cancel)
{
	if (cancel == NULL)
		return;
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)cancel);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

void notify_curl_prepare(CURL *c, const char *url, const char *protocols, char *errbuf,
			 const atomic_bool *cancel, double connect_timeout_s, double timeout_s)
{
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	set_cancel(c, cancel);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(connect_timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
}
