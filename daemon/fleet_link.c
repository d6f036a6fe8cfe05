/*
 * fleet_link.c: this labqcd among the others on the broker (issue 21);
 * see fleet.h for the topics.
 *
 * The fleet has its own MQTT connection (client id "<client_id>-fleet",
 * clean session, QoS 1), apart from the one that takes the slice's input:
 * at start it must read the peers' announcements before a single sample
 * is consumed, and the input connection's persistent session delivers
 * queued messages as soon as it connects. This connection carries the
 * last will ("down", retained, on P/<name>), so an instance killed or cut
 * off from the broker shows down on every peer's dashboard.
 *
 * The start's wait is bounded: after the SUBACK of P/+ and P/+/status it
 * publishes a marker (QoS 1) on P/<name>/sync, which only it subscribes
 * to; the broker sends a subscription's retained messages before anything
 * published after it, so when the marker comes back every announcement
 * retained at the time has come. A broker not reached, or a marker not
 * back, within the timeout: a warning, and the instance starts unchecked.
 *
 * Peers: at most FLEET_PEERS_MAX, kept sorted by name; a payload that is
 * too large, not of the form, or from a topic that is no identifier is
 * refused and logged (rate-limited), and changes nothing.
 *
 * Single-threaded: everything runs on the main loop's thread.
 */
#include "daemon/fleet.h"
#include "daemon/clock.h"
#include "daemon/config.h"
#include "daemon/fsutil.h"
#include "daemon/log.h"
#include "collectors/mqtt.h"
#include "dashboards/dashboards.h"

#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STATUS_EVERY_S 60.0 /* the summary again, changed or not */
#define DUE_WINDOW_S (14 * 86400.0)

struct peer {
	struct fleet_slice slice;
	bool has_slice;
	double since; /* wall clock: its announcement's time, or when first seen in this state */
	struct fleet_summary sum;
	bool has_sum;
	bool warned_conflict; /* a live overlap seen at run time, logged once */
};

struct fleet {
	struct mqtt *mqtt;
	struct fleet_slice self;
	char prefix[CFG_NAME_MAX]; /* mqtt.prefix: an instrument's topics */
	char peers_topic[CFG_TEXT_MAX];
	char topic[CFG_TEXT_MAX + ID_MAX + 1];        /* P/<name> */
	char status_topic[CFG_TEXT_MAX + ID_MAX + 8]; /* P/<name>/status */
	char marker_topic[CFG_TEXT_MAX + ID_MAX + 6]; /* P/<name>/sync */
	struct peer *peers[FLEET_PEERS_MAX];
	size_t n_peers;
	bool checking, marker_seen;
	uint64_t announced_on; /* the connection (mqtt connects count) last announced on */
	struct fleet_summary own;
	bool has_own;
	char *own_json;   /* the last summary published, made with at = 0 */
	double own_published; /* monotonic */
	char **warned;    /* "site/instrument" logged as in no slice */
	size_t n_warned;
	struct complaint bad_complaint, full_complaint;
};

/* ---- peers ---- */

static struct peer *find_peer(struct fleet *f, const char *name, bool create)
{
	size_t i;
	int c = 1;

	for (i = 0; i < f->n_peers && (c = strcmp(f->peers[i]->slice.name, name)) < 0; i++)
		;
	if (i < f->n_peers && c == 0)
		return f->peers[i];
	if (!create)
		return NULL;
	if (f->n_peers >= FLEET_PEERS_MAX) {
		complain(&f->full_complaint, "fleet: %s/%s refused: already %d peers known",
		         f->peers_topic, name, FLEET_PEERS_MAX);
		return NULL;
	}
	struct peer *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	snprintf(p->slice.name, sizeof(p->slice.name), "%s", name);
	memmove(&f->peers[i + 1], &f->peers[i], (f->n_peers - i) * sizeof(f->peers[0]));
	f->peers[i] = p;
	f->n_peers++;
	return p;
}

static void forget_peer(struct fleet *f, const char *name)
{
	for (size_t i = 0; i < f->n_peers; i++)
		if (strcmp(f->peers[i]->slice.name, name) == 0) {
			free(f->peers[i]);
			memmove(&f->peers[i], &f->peers[i + 1],
			        (f->n_peers - i - 1) * sizeof(f->peers[0]));
			f->n_peers--;
			return;
		}
}

static void take_slice(struct fleet *f, const char *name, const struct message *m)
{
	struct fleet_slice s;
	char err[160], why[1024];
	struct peer *p;

	if (fleet_slice_parse(m->payload, m->payload_len, name, &s, err, sizeof(err)) == -1) {
		complain(&f->bad_complaint, "fleet: %s/%s: announcement refused: %s",
		         f->peers_topic, name, err);
		return;
	}
	if ((p = find_peer(f, name, true)) == NULL)
		return;
	if (!p->has_slice || p->slice.state != s.state)
		p->since = s.at > 0 ? s.at : wall_clock();
	else if (s.at > 0)
		p->since = s.at;
	p->slice = s;
	p->has_slice = true;
	if (s.state != FLEET_UP)
		p->warned_conflict = false;
	/* At run time an overlap can only be told (the start's check refuses). */
	if (!f->checking && !p->warned_conflict && fleet_conflict(&f->self, &s, why, sizeof(why))) {
		log_warnx("fleet: %s", why);
		p->warned_conflict = true;
	}
}

static void take_status(struct fleet *f, const char *name, const struct message *m)
{
	struct fleet_summary sum;
	char err[160];
	struct peer *p;

	if (fleet_summary_parse(m->payload, m->payload_len, &sum, err, sizeof(err)) == -1) {
		complain(&f->bad_complaint, "fleet: %s/%s/status: summary refused: %s",
		         f->peers_topic, name, err);
		return;
	}
	if ((p = find_peer(f, name, true)) == NULL)
		return;
	p->sum = sum;
	p->has_sum = true;
}

static void on_message(void *ctx, const struct message *m)
{
	struct fleet *f = ctx;
	size_t plen = strlen(f->peers_topic);
	char name[ID_MAX];
	const char *rest, *slash;
	size_t nlen;

	if (m->topic_len <= plen + 1 || strncmp(m->topic, f->peers_topic, plen) != 0 ||
	    m->topic[plen] != '/')
		return;
	rest = m->topic + plen + 1;
	slash = memchr(rest, '/', m->topic_len - plen - 1);
	nlen = slash ? (size_t)(slash - rest) : m->topic_len - plen - 1;
	if (nlen >= sizeof(name) || !ident_valid(rest, nlen)) {
		complain(&f->bad_complaint, "fleet: a message under %s refused: the level after it "
		                            "is no instance name", f->peers_topic);
		return;
	}
	memcpy(name, rest, nlen);
	name[nlen] = '\0';
	if (slash == NULL) {
		if (m->payload_len == 0)
			forget_peer(f, name); /* its retained announcement was cleared */
		else
			take_slice(f, name, m);
	} else if (strcmp(slash, "/status") == 0 && (size_t)(slash - m->topic) + 7 == m->topic_len) {
		if (m->payload_len > 0 && strcmp(name, f->self.name) != 0)
			take_status(f, name, m);
	} else if (strcmp(name, f->self.name) == 0 && m->topic_len == strlen(f->marker_topic) &&
	           memcmp(m->topic, f->marker_topic, m->topic_len) == 0) {
		f->marker_seen = true;
	}
}

/* ---- opening, the start's check ---- */

struct fleet *fleet_open(const struct config *cfg, bool *failed)
{
	const struct cfg_mqtt *mc = &cfg->mqtt;
	char password[512] = "", client_id[sizeof(mc->client_id) + 8], err[256];
	struct fleet *f;

	*failed = false;
	if (!cfg->fleet.on)
		return NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto fail;
	snprintf(f->self.name, sizeof(f->self.name), "%s", cfg->fleet.name);
	snprintf(f->self.client_id, sizeof(f->self.client_id), "%s", mc->client_id);
	if (gethostname(f->self.host, sizeof(f->self.host) - 1) == -1)
		snprintf(f->self.host, sizeof(f->self.host), "unknown");
	snprintf(f->self.url, sizeof(f->self.url), "%s", cfg->fleet.url);
	for (size_t i = 0; i < mc->n_subscribe && i < FLEET_FILTERS_MAX; i++)
		snprintf(f->self.filters[f->self.n_filters++], FLEET_FILTER_MAX, "%s",
		         mc->subscribe[i]);
	if (mc->n_subscribe > FLEET_FILTERS_MAX)
		log_warnx("fleet: only the first %d of %zu filters are announced",
		          FLEET_FILTERS_MAX, mc->n_subscribe);
	f->self.started = wall_clock();
	f->self.state = FLEET_DOWN; /* the will: no "at", it is not known when */
	snprintf(f->prefix, sizeof(f->prefix), "%s", mc->prefix);
	snprintf(f->peers_topic, sizeof(f->peers_topic), "%s", cfg->fleet.peers_topic);
	snprintf(f->topic, sizeof(f->topic), "%s/%s", f->peers_topic, f->self.name);
	snprintf(f->status_topic, sizeof(f->status_topic), "%s/status", f->topic);
	snprintf(f->marker_topic, sizeof(f->marker_topic), "%s/sync", f->topic);

	char sub_all[sizeof(f->peers_topic) + 3], sub_status[sizeof(f->peers_topic) + 10];
	char *subs[3] = {sub_all, sub_status, f->marker_topic};
	snprintf(sub_all, sizeof(sub_all), "%s/+", f->peers_topic);
	snprintf(sub_status, sizeof(sub_status), "%s/+/status", f->peers_topic);
	snprintf(client_id, sizeof(client_id), "%s-fleet", mc->client_id);
	if (mc->password_file[0] &&
	    fs_read_secret(mc->password_file, password, sizeof(password), err, sizeof(err)) == -1) {
		log_warnx("fleet: mqtt password_file %s: %s", mc->password_file, err);
		goto fail;
	}
	char *will = fleet_slice_json(&f->self);
	struct mqtt_opts o = {.host = mc->host, .port = mc->port, .tls = mc->tls,
	                      .client_id = client_id, .username = mc->username,
	                      .password = password, .ca_file = mc->ca_file,
	                      .cert_file = mc->cert_file, .key_file = mc->key_file, .qos = 1,
	                      .clean_session = true, .keepalive_s = mc->keepalive_s,
	                      .subscribe = subs, .n_subscribe = 3, .will_topic = f->topic,
	                      .will_payload = will};
	f->mqtt = will ? mqtt_new(&o, on_message, f) : NULL;
	free(will);
	explicit_bzero(password, sizeof(password));
	if (f->mqtt == NULL)
		goto fail;
	return f;
fail:
	log_warnx("fleet: cannot set up the fleet connection");
	fleet_close(f);
	*failed = true;
	return NULL;
}

static void announce(struct fleet *f, enum fleet_state st)
{
	struct mqtt_stats ms;
	char *j;

	f->self.state = st;
	f->self.at = wall_clock();
	if ((j = fleet_slice_json(&f->self)) == NULL)
		return;
	if (mqtt_send(f->mqtt, f->topic, j, 1, true) == 0) {
		mqtt_get_stats(f->mqtt, &ms);
		f->announced_on = ms.connects;
		if (st == FLEET_UP)
			log_info("fleet: announced %s up on %s", f->self.name, f->topic);
	}
	free(j);
}

void fleet_announce_state(struct fleet *f, enum fleet_state st)
{
	announce(f, st);
}

/* Every instrument of cfg whose topics no filter of a live slice
 * covers: one warning each, once. */
static void check_coverage(struct fleet *f, const struct config *cfg)
{
	char inner[CFG_NAME_MAX * 3 + 8], key[CFG_NAME_MAX * 2 + 2];

	for (size_t i = 0; i < cfg->n_instruments; i++) {
		const struct cfg_instrument *in = &cfg->instruments[i];
		bool covered = false;

		snprintf(inner, sizeof(inner), "%s/%s/%s/#", f->prefix, in->site, in->name);
		for (size_t k = 0; !covered && k < f->self.n_filters; k++)
			covered = fleet_filter_covers(f->self.filters[k], inner);
		for (size_t p = 0; !covered && p < f->n_peers; p++) {
			const struct fleet_slice *s = &f->peers[p]->slice;
			if (!f->peers[p]->has_slice || s->state != FLEET_UP ||
			    strcmp(s->name, f->self.name) == 0)
				continue;
			for (size_t k = 0; !covered && k < s->n_filters; k++)
				covered = fleet_filter_covers(s->filters[k], inner);
		}
		snprintf(key, sizeof(key), "%s/%s", in->site, in->name);
		size_t w;
		for (w = 0; w < f->n_warned && strcmp(f->warned[w], key) != 0; w++)
			;
		if (covered || w < f->n_warned)
			continue;
		log_warnx("fleet: instrument %s is in no slice: no filter of this instance "
		          "(mqtt.subscribe) or of a live peer covers %s", key, inner);
		char **grown = reallocarray(f->warned, f->n_warned + 1, sizeof(*grown));
		if (grown == NULL || (grown[f->n_warned] = strdup(key)) == NULL) {
			f->warned = grown ? grown : f->warned;
			continue;
		}
		f->warned = grown;
		f->n_warned++;
	}
}

int fleet_check(struct fleet *f, const struct config *cfg, double timeout_s, char *err,
                size_t errlen)
{
	double start = mono_clock(), now = start;
	bool marker_sent = false;

	f->checking = true;
	f->marker_seen = false;
	/* Bounded by the deadline; each pass sleeps in poll at most 100 ms. */
	while (!f->marker_seen && now - start < timeout_s) {
		struct pollfd pfd = {.fd = mqtt_fd(f->mqtt), .events = POLLIN};
		if (mqtt_want_write(f->mqtt))
			pfd.events |= POLLOUT;
		int n = poll(&pfd, 1, 100);
		now = mono_clock();
		mqtt_io(f->mqtt, n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)),
		        n > 0 && (pfd.revents & POLLOUT), now);
		if (!marker_sent && mqtt_healthy(f->mqtt))
			marker_sent = mqtt_send(f->mqtt, f->marker_topic, "sync", 1, false) == 0;
	}
	f->checking = false;
	if (!f->marker_seen) {
		log_warnx("fleet: the announcements under %s/+ were not read within %.0f s (%s): "
		          "starting without the overlap check",
		          f->peers_topic, timeout_s,
		          marker_sent ? "the marker did not come back" : "broker not reached");
		return 0;
	}
	for (size_t i = 0; i < f->n_peers; i++) {
		if (!f->peers[i]->has_slice)
			continue;
		if (fleet_conflict(&f->self, &f->peers[i]->slice, err, errlen)) {
			f->peers[i]->warned_conflict = true;
			return -1;
		}
	}
	size_t others = f->n_peers - (find_peer(f, f->self.name, false) ? 1 : 0);
	log_info("fleet: %s: %zu other instance%s known under %s", f->self.name, others,
	         others == 1 ? "" : "s", f->peers_topic);
	announce(f, FLEET_UP);
	check_coverage(f, cfg);
	return 0;
}

/* ---- the loop ---- */

int fleet_fd(struct fleet *f)
{
	return mqtt_fd(f->mqtt);
}

bool fleet_want_write(struct fleet *f)
{
	return mqtt_want_write(f->mqtt);
}

double fleet_next_deadline(struct fleet *f, double now_mono)
{
	return mqtt_next_deadline(f->mqtt, now_mono);
}

void fleet_io(struct fleet *f, bool readable, bool writable, double now_mono)
{
	struct mqtt_stats ms;

	mqtt_io(f->mqtt, readable, writable, now_mono);
	mqtt_get_stats(f->mqtt, &ms);
	/* A new connection: the will may have marked this instance down
	 * meanwhile, and the summary may have been lost with the broker. */
	if (ms.connected && ms.connects != f->announced_on) {
		announce(f, FLEET_UP);
		if (f->own_json)
			f->own_published = -INFINITY; /* again at the next summary */
	}
}

void fleet_reload(struct fleet *f, const struct config *cfg)
{
	if (strcmp(cfg->fleet.name, f->self.name) != 0 ||
	    strcmp(cfg->fleet.peers_topic, f->peers_topic) != 0 || !cfg->fleet.on)
		log_warnx("reload: fleet.name and fleet.peers_topic change only at restart");
	if (cfg->fleet.on)
		snprintf(f->self.url, sizeof(f->self.url), "%s", cfg->fleet.url);
	announce(f, FLEET_UP);
	check_coverage(f, cfg);
}

/* ---- the status summary ---- */

static double local_day_start(double now)
{
	time_t t = (time_t)now;
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (double)mktime(&tm);
}

static void summarize(const struct dash_snapshot *s, struct fleet_summary *sum)
{
	double now = s->generated_at, day = local_day_start(now);

	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i < s->n_instruments; i++) {
		const struct dash_instrument *in = &s->instruments[i];

		fleet_summary_add(sum, in->site, in->name, (int)in->status);
		for (size_t k = 0; k < in->n_alerts; k++) {
			if (strcmp(in->alerts[k].state, "firing") != 0)
				continue;
			if (in->alerts[k].severity == SEV_CRITICAL)
				sum->alerts_critical++;
			else if (in->alerts[k].severity == SEV_WARNING)
				sum->alerts_warning++;
			else
				sum->alerts_info++;
		}
		for (size_t a = 0; a < in->n_analytes; a++)
			for (size_t r = 0; r < in->analytes[a].n_runs; r++) {
				const struct dash_qc_run *run = &in->analytes[a].runs[r];
				if (run->t < day)
					continue;
				if (strcmp(run->status, "reject") == 0)
					sum->qc_rejected++;
				else if (strcmp(run->status, "accept") == 0 ||
				         strcmp(run->status, "warning") == 0)
					sum->qc_accepted++;
			}
		for (size_t k = 0; k < in->n_dues; k++) {
			if (in->dues[k].due <= now)
				sum->dues_overdue++;
			else if (in->dues[k].due <= now + DUE_WINDOW_S)
				sum->dues_soon++;
		}
	}
}

void fleet_publish_status(struct fleet *f, const struct dash_snapshot *s)
{
	struct fleet_summary sum;
	double now = mono_clock();
	char *cmp, *j;

	summarize(s, &sum);
	if ((cmp = fleet_summary_json(&sum)) == NULL)
		return;
	f->own = sum;
	f->own.at = s->generated_at;
	f->has_own = true;
	if (f->own_json && strcmp(cmp, f->own_json) == 0 &&
	    now - f->own_published < STATUS_EVERY_S) {
		free(cmp);
		return;
	}
	if ((j = fleet_summary_json(&f->own)) != NULL &&
	    mqtt_send(f->mqtt, f->status_topic, j, 1, true) == 0) {
		free(f->own_json);
		f->own_json = cmp;
		cmp = NULL;
		f->own_published = now;
	}
	free(j);
	free(cmp);
}

/* ---- what people see ---- */

/* n strings of a char[n][stride] array, joined by sep, into buf. */
static void join_text(const char *items, size_t stride, size_t n, const char *sep, char *buf,
                      size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		snprintf(buf + used, len - used, "%s%s", i ? sep : "", items + i * stride);
		used += strlen(buf + used);
	}
}

static void slice_text(const struct fleet_slice *s, char *buf, size_t len)
{
	join_text(s->filters[0], sizeof(s->filters[0]), s->n_filters, " ", buf, len);
}

static void sites_text(const struct fleet_summary *sum, char *buf, size_t len)
{
	join_text(sum->sites[0], sizeof(sum->sites[0]), sum->n_sites, ", ", buf, len);
}

static void fill_member(struct dash_fleet_member *m, const struct fleet_summary *sum)
{
	m->has_summary = true;
	m->status_at = sum->at > 0 ? sum->at : NAN;
	m->instruments = sum->n_instruments;
	m->attention = sum->n_instruments - (sum->by_status[0] <= sum->n_instruments
	                                         ? sum->by_status[0]
	                                         : sum->n_instruments);
	m->alerts_critical = sum->alerts_critical;
	m->alerts_warning = sum->alerts_warning;
	m->qc_accepted = sum->qc_accepted;
	m->qc_rejected = sum->qc_rejected;
	m->dues_soon = sum->dues_soon;
	m->dues_overdue = sum->dues_overdue;
}

void fleet_snapshot(struct fleet *f, struct dash_snapshot *s)
{
	char slice[FLEET_FILTERS_MAX * 64], sites[FLEET_SITES_MAX * (ID_MAX + 2)];
	struct dash_fleet_member *m;

	slice_text(&f->self, slice, sizeof(slice));
	sites_text(&f->own, sites, sizeof(sites));
	if ((m = dash_snap_add_fleet(s, f->self.name, "up", f->self.url, slice, sites)) != NULL) {
		m->self = true;
		m->since = f->self.started;
		if (f->has_own)
			fill_member(m, &f->own);
	}
	for (size_t i = 0; i < f->n_peers; i++) {
		const struct peer *p = f->peers[i];

		if (strcmp(p->slice.name, f->self.name) == 0)
			continue;
		slice_text(&p->slice, slice, sizeof(slice));
		sites_text(&p->sum, sites, sizeof(sites));
		m = dash_snap_add_fleet(s, p->slice.name,
		                        p->has_slice ? fleet_state_name(p->slice.state) : "unknown",
		                        p->slice.url, slice, sites);
		if (m == NULL)
			return;
		m->since = p->has_slice ? p->since : NAN;
		if (p->has_sum)
			fill_member(m, &p->sum);
	}
}

static void report_one(cJSON *arr, FILE *text, const struct fleet_slice *s, bool has_slice,
                       double since, const struct fleet_summary *sum, bool self, double now)
{
	cJSON *o = cJSON_CreateObject(), *fl;
	char slice[FLEET_FILTERS_MAX * 64], sites[FLEET_SITES_MAX * (ID_MAX + 2)];
	const char *state = has_slice ? fleet_state_name(s->state) : "unknown";

	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddBoolToObject(o, "self", self);
	cJSON_AddStringToObject(o, "state", state);
	if (since > 0)
		cJSON_AddNumberToObject(o, "state_age_s", floor(now - since));
	fl = cJSON_AddArrayToObject(o, "filters");
	for (size_t i = 0; i < s->n_filters; i++)
		cJSON_AddItemToArray(fl, cJSON_CreateString(s->filters[i]));
	cJSON_AddStringToObject(o, "client_id", s->client_id);
	cJSON_AddStringToObject(o, "host", s->host);
	cJSON_AddStringToObject(o, "url", s->url);
	slice_text(s, slice, sizeof(slice));
	fprintf(text, "%-16s %-11s", s->name, state);
	if (since > 0)
		fprintf(text, " for %.0f s", floor(now - since));
	fprintf(text, "%s  slice %s%s%s\n", self ? " (this one)" : "", slice,
	        s->url[0] ? "  " : "", s->url);
	if (sum != NULL) {
		char *j = fleet_summary_json(sum);
		cJSON *so = j ? cJSON_Parse(j) : NULL;
		free(j);
		if (so)
			cJSON_AddItemToObject(o, "summary", so);
		sites_text(sum, sites, sizeof(sites));
		fprintf(text,
		        "                 sites %s; %u instruments (%u ok); alerts firing %u critical, "
		        "%u warning; QC today %u accepted, %u rejected; due %u soon, %u overdue\n",
		        sites[0] ? sites : "-", sum->n_instruments, sum->by_status[0],
		        sum->alerts_critical, sum->alerts_warning, sum->qc_accepted, sum->qc_rejected,
		        sum->dues_soon, sum->dues_overdue);
	}
	cJSON_AddItemToArray(arr, o);
}

void fleet_report(struct fleet *f, cJSON *obj, FILE *text, double now)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, "fleet");

	cJSON_AddStringToObject(obj, "peers_topic", f->peers_topic);
	fprintf(text, "fleet under %s\n", f->peers_topic);
	report_one(arr, text, &f->self, true, f->self.started, f->has_own ? &f->own : NULL, true,
	           now);
	for (size_t i = 0; i < f->n_peers; i++) {
		const struct peer *p = f->peers[i];
		if (strcmp(p->slice.name, f->self.name) != 0)
			report_one(arr, text, &p->slice, p->has_slice, p->since,
			           p->has_sum ? &p->sum : NULL, false, now);
	}
}

void fleet_close(struct fleet *f)
{
	if (f == NULL)
		return;
	if (f->mqtt) {
		struct mqtt_stats ms;
		mqtt_get_stats(f->mqtt, &ms);
		/* A clean DISCONNECT sends no will: say "down" first, and wait
		 * (briefly) for the broker to have it. */
		if (ms.connected) {
			/* "handed-over" (labqcctl handover) stays: the slice is
			 * free to take, and the broker must have that too. */
			if (f->self.state == FLEET_UP)
				announce(f, FLEET_DOWN);
			if (mqtt_flush(f->mqtt, 3.0) == -1)
				log_warnx("fleet: the broker did not acknowledge \"%s\" in time",
					  f->self.state == FLEET_HANDED_OVER ? "handed-over" : "down");
		}
		mqtt_free(f->mqtt);
	}
	for (size_t i = 0; i < f->n_peers; i++)
		free(f->peers[i]);
	for (size_t i = 0; i < f->n_warned; i++)
		free(f->warned[i]);
	free(f->warned);
	free(f->own_json);
	free(f);
}
