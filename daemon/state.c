/*
 * state.c: the checkpoint, <state_dir>/state.json.
 *
 * Holds the journal sequence number up to which everything is in the
 * checkpoint (and, as the rule issues land, rule history, counters and
 * alert states). Written whole with write-fsync-rename on a timer and at
 * shutdown; read at start. A corrupt file is moved aside and logged,
 * never silently reset: the journal then replays what it still holds.
 */
#include "daemon/labqcd.h"
#include "daemon/fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STATE_VERSION 1

static void state_path(const struct labqcd *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/state.json", d->cfg->daemon.state_dir);
}

int state_load(struct labqcd *d)
{
	char path[4200], aside[4300];
	char *data;
	size_t len;
	cJSON *o;
	const cJSON *v, *seq;

	state_path(d, path, sizeof(path));
	if (fs_read_all(path, &data, &len) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("state: %s", path);
		return -1;
	}
	o = cJSON_ParseWithLength(data, len);
	free(data);
	v = cJSON_GetObjectItemCaseSensitive(o, "version");
	seq = cJSON_GetObjectItemCaseSensitive(o, "seq");
	if (!cJSON_IsNumber(v) || v->valueint != STATE_VERSION || !cJSON_IsNumber(seq) ||
	    seq->valuedouble < 0) {
		cJSON_Delete(o);
		if (fs_move_aside(path, aside, sizeof(aside)) == 0)
			log_warnx("state: %s is corrupt or of another version; moved aside to %s",
				  path, aside);
		else
			log_warn("state: %s is corrupt and cannot be moved aside", path);
		return -1;
	}
	d->state_seq = (uint64_t)seq->valuedouble;
	if (qc_from_json(d, cJSON_GetObjectItemCaseSensitive(o, "qc")) == -1 ||
	    equipment_from_json(d, cJSON_GetObjectItemCaseSensitive(o, "equipment")) == -1 ||
	    pbrtqc_from_state(d, cJSON_GetObjectItemCaseSensitive(o, "pbrtqc")) == -1 ||
	    conditions_from_json(d, cJSON_GetObjectItemCaseSensitive(o, "conditions")) == -1) {
		cJSON_Delete(o);
		qc_free(d);
		pbrtqc_free(d);
		equipment_free(d);
		conditions_free(d);
		d->state_seq = 0;
		if (fs_move_aside(path, aside, sizeof(aside)) == 0)
			log_warnx("state: %s holds unreadable rule state; moved aside to %s", path,
				  aside);
		return -1;
	}
	cJSON_Delete(o);
	return 0;
}

int state_save(struct labqcd *d)
{
	char path[4200];
	char *text;
	cJSON *o = cJSON_CreateObject();
	uint64_t seq = d->next_seq ? d->next_seq - 1 : 0;
	int rc;

	cJSON_AddNumberToObject(o, "version", STATE_VERSION);
	cJSON_AddNumberToObject(o, "seq", (double)seq);
	cJSON_AddNumberToObject(o, "saved", wall_clock());
	cJSON_AddItemToObject(o, "qc", qc_to_json(d));
	cJSON_AddItemToObject(o, "conditions", conditions_to_json(d));
	cJSON_AddItemToObject(o, "equipment", equipment_to_json(d));
	cJSON_AddItemToObject(o, "pbrtqc", pbrtqc_to_state(d));
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		return -1;
	state_path(d, path, sizeof(path));
	rc = fs_write_atomic(path, text, strlen(text), 0640);
	free(text);
	if (rc == -1) {
		complain(&d->state_complaint, "state: %s: %s", path, strerror(errno));
		return -1;
	}
	complain_release(&d->state_complaint, "state: %s writable again", path);
	d->state_seq = seq;
	return 0;
}
