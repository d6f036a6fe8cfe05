/*
 * ack_sign.c: signed acknowledgements and QC dispositions on the ack
 * topic (ack_sign.h). The HMAC is webhook.c's (libcrypto), compared in
 * constant time. Keys are read from key_file at each message (fs_read_
 * secret: a file others may read is refused), so a key can be changed
 * without a reload; acknowledgements are rare.
 *
 * Nonces: a fixed table, each kept until its timestamp is out of the
 * window (after that the timestamp check refuses the message anyway).
 * A full table refuses new messages rather than forget one that could
 * then be replayed. Saved with write-fsync-rename after each accepted
 * message (not in --replay), loaded on first use.
 */
#include "daemon/ack_sign.h"
#include "daemon/access.h"
#include "daemon/fsutil.h"
#include "daemon/labqcd.h"
#include "daemon/webhook.h"

#include <math.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define NONCES_MAX 4096
#define NONCE_MAX 65
#define KEY_MAX 1024

struct nonce {
	char user[CFG_NAME_MAX];
	char nonce[NONCE_MAX];
	double ts;
};

static struct nonce nonces[NONCES_MAX];
static size_t n_nonces;
static bool nonces_loaded;

static void nonces_path(struct labqcd *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/ack_nonces.json", d->cfg->daemon.state_dir);
}

static void nonces_expire(double now)
{
	size_t k = 0;

	for (size_t i = 0; i < n_nonces; i++)
		if (nonces[i].ts + ACK_SIGN_WINDOW_S >= now)
			nonces[k++] = nonces[i];
	n_nonces = k;
}

static void nonces_load(struct labqcd *d)
{
	char path[CFG_PATH_MAX + 32], *text = NULL;
	size_t len = 0;
	cJSON *arr, *it;

	nonces_loaded = true;
	if (d->replay)
		return;
	nonces_path(d, path, sizeof(path));
	if (fs_read_all(path, &text, &len) == -1)
		return; /* none yet */
	arr = cJSON_Parse(text);
	free(text);
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(it, "user");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "nonce");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "ts");
		if (n_nonces < NONCES_MAX && cJSON_IsString(u) && cJSON_IsString(n) &&
		    cJSON_IsNumber(t) && strlen(u->valuestring) < CFG_NAME_MAX &&
		    strlen(n->valuestring) < NONCE_MAX) {
			struct nonce *e = &nonces[n_nonces++];
			snprintf(e->user, sizeof(e->user), "%s", u->valuestring);
			snprintf(e->nonce, sizeof(e->nonce), "%s", n->valuestring);
			e->ts = t->valuedouble;
		}
	}
	if (arr == NULL)
		log_warnx("ack nonces %s: not JSON; replays within %.0f s of the last stop are not "
		          "detected",
		          path, ACK_SIGN_WINDOW_S);
	cJSON_Delete(arr);
}

static void nonces_save(struct labqcd *d)
{
	char path[CFG_PATH_MAX + 32], *s;
	cJSON *arr = cJSON_CreateArray();

	if (d->replay || arr == NULL) {
		cJSON_Delete(arr);
		return;
	}
	for (size_t i = 0; i < n_nonces; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "user", nonces[i].user);
		cJSON_AddStringToObject(e, "nonce", nonces[i].nonce);
		cJSON_AddNumberToObject(e, "ts", nonces[i].ts);
		cJSON_AddItemToArray(arr, e);
	}
	s = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	nonces_path(d, path, sizeof(path));
	if (s == NULL || fs_write_atomic(path, s, strlen(s), 0640) == -1)
		log_warn("ack nonces %s", path);
	free(s);
}

static bool nonce_seen(const char *user, const char *nonce)
{
	for (size_t i = 0; i < n_nonces; i++)
		if (strcmp(nonces[i].user, user) == 0 && strcmp(nonces[i].nonce, nonce) == 0)
			return true;
	return false;
}

static bool nonce_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 8 || n >= NONCE_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* ---- the canonical text ---- */

struct text {
	char *p;
	size_t len, cap;
	bool bad;
};

static void add_line(struct text *t, const char *s)
{
	size_t n = strlen(s);

	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			t->bad = true;
	if (t->len + n + 2 > t->cap) {
		size_t cap = (t->len + n + 2) * 2;
		char *np = realloc(t->p, cap);
		if (np == NULL) {
			t->bad = true;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
	if (t->len > 0)
		t->p[t->len++] = '\n';
	memcpy(t->p + t->len, s, n + 1);
	t->len += n;
}

/* A string field (absent: ""); a field of another type makes it bad. */
static void add_field(struct text *t, const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v != NULL && !cJSON_IsString(v))
		t->bad = true;
	add_line(t, cJSON_IsString(v) ? v->valuestring : "");
}

char *ack_sign_canonical(const char *kind, const cJSON *msg, const cJSON *body, char *why,
                         size_t whylen)
{
	struct text t = {0};
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(msg, "ts");
	char num[32];

	if (!cJSON_IsNumber(ts) || !isfinite(ts->valuedouble) || ts->valuedouble < 0 ||
	    ts->valuedouble > 1e11 || ts->valuedouble != floor(ts->valuedouble)) {
		snprintf(why, whylen, "\"ts\" must be integer epoch seconds");
		return NULL;
	}
	snprintf(num, sizeof(num), "%.0f", ts->valuedouble);
	add_line(&t, kind);
	add_field(&t, msg, "user");
	add_line(&t, num);
	add_field(&t, msg, "nonce");
	add_field(&t, body, "key");
	if (strcmp(kind, "qc_action") == 0) {
		const cJSON *rv = cJSON_GetObjectItemCaseSensitive(body, "reviewed");

		add_field(&t, body, "run");
		add_field(&t, body, "name");
		add_field(&t, body, "action");
		if (rv != NULL && !cJSON_IsBool(rv))
			t.bad = true;
		add_line(&t, cJSON_IsTrue(rv) ? "true" : "false");
		add_field(&t, body, "override");
		add_field(&t, body, "reason");
	} else {
		add_field(&t, body, "name");
		add_field(&t, body, "comment");
	}
	if (t.bad || t.p == NULL) {
		free(t.p);
		snprintf(why, whylen, "a field is not a string or holds a control character");
		return NULL;
	}
	return t.p;
}

/* ---- the check ---- */

static const struct cfg_grant *signer(const struct cfg_access *a, const char *user)
{
	for (size_t i = 0; i < a->n_mqtt; i++)
		if (strcmp(a->mqtt[i].who, user) == 0)
			return &a->mqtt[i];
	return NULL;
}

/* 0 when the signature is the user's; -1 with why. */
static int signature_ok(const struct cfg_grant *g, const char *canon, const char *sig, char *why,
                        size_t whylen)
{
	char key[KEY_MAX], err[256], want[65];
	int rc = -1;

	if (fs_read_secret(g->key_file, key, sizeof(key), err, sizeof(err)) == -1) {
		log_warnx("access_mqtt.%s.key_file: %s", g->who, err);
		snprintf(why, whylen, "the key of %s cannot be read (see the daemon's log)", g->who);
		return -1;
	}
	if (webhook_hmac_hex(key, strlen(key), canon, strlen(canon), want) == 0 &&
	    strlen(sig) == 64 && CRYPTO_memcmp(want, sig, 64) == 0)
		rc = 0;
	else
		snprintf(why, whylen, "bad signature");
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int ack_sign_check(struct labqcd *d, uint64_t seq, const char *kind, const cJSON *msg,
                   const cJSON *body, const char *right, const char *target)
{
	const struct cfg_access *a = &d->cfg->access;
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(msg, "user");
	const cJSON *nonce = cJSON_GetObjectItemCaseSensitive(msg, "nonce");
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(msg, "sig");
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(msg, "ts");
	const char *who = cJSON_IsString(user) && strlen(user->valuestring) < CFG_NAME_MAX
	                      ? user->valuestring
	                      : "";
	const struct cfg_grant *g = NULL;
	char why[256] = "", *canon = NULL;
	double now = d->clock;

	if (!nonces_loaded)
		nonces_load(d);
	if (a->mqtt_ack == MQTT_ACK_OFF) {
		snprintf(why, sizeof(why), "mqtt_ack is off: acknowledge with labqcctl");
	} else if (who[0] == '\0' || !cJSON_IsString(sig) || !cJSON_IsString(nonce) ||
	           !cJSON_IsNumber(ts)) {
		snprintf(why, sizeof(why), "not signed (needs user, ts, nonce and sig)");
	} else if ((g = signer(a, who)) == NULL) {
		snprintf(why, sizeof(why), "%s is not a user of access_mqtt", who);
	} else if (!nonce_ok(nonce->valuestring)) {
		snprintf(why, sizeof(why), "bad nonce (8 to 64 of A-Z a-z 0-9 _ -)");
	} else if ((canon = ack_sign_canonical(kind, msg, body, why, sizeof(why))) == NULL) {
		/* why says */
	} else if (fabs(ts->valuedouble - now) > ACK_SIGN_WINDOW_S) {
		snprintf(why, sizeof(why), "timestamp %.0f s from the daemon's clock (at most %.0f)",
		         ts->valuedouble - now, ACK_SIGN_WINDOW_S);
	} else if (signature_ok(g, canon, sig->valuestring, why, sizeof(why)) == -1) {
		/* why says */
	} else {
		nonces_expire(now);
		if (!d->recovering && nonce_seen(who, nonce->valuestring)) {
			snprintf(why, sizeof(why), "replay (nonce %s already used)", nonce->valuestring);
		} else if (!d->recovering && n_nonces == NONCES_MAX) {
			snprintf(why, sizeof(why), "more than %d signed messages within %.0f s",
			         NONCES_MAX, ACK_SIGN_WINDOW_S);
		} else {
			if (n_nonces < NONCES_MAX && !nonce_seen(who, nonce->valuestring)) {
				struct nonce *e = &nonces[n_nonces++];
				snprintf(e->user, sizeof(e->user), "%s", who);
				snprintf(e->nonce, sizeof(e->nonce), "%s", nonce->valuestring);
				e->ts = ts->valuedouble;
				nonces_save(d);
			}
			if (!access_grant_allows(g, right, target))
				snprintf(why, sizeof(why), "access_mqtt.%s does not allow %s on %s", who,
				         right, target);
		}
	}
	free(canon);
	if (why[0] == '\0')
		return 0;
	access_denied(d, seq, "mqtt", who[0] ? who : "unknown", right, target, why);
	return -1;
}
