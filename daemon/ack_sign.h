/*
 * ack_sign.h: signed messages on <prefix>/labqcd/ack (issue 20).
 *
 * Anyone who can publish to the broker could otherwise acknowledge in
 * anyone's name. A message on the ack topic carries
 *
 *   "user"   a user of access_mqtt: (the signer; the record's "by")
 *   "ts"     when it was signed, integer epoch seconds
 *   "nonce"  8 to 64 of [A-Za-z0-9_-], never used twice
 *   "sig"    HMAC-SHA256, lowercase hex, with the user's key (the
 *            bytes of key_file, a trailing newline removed) over the
 *            canonical message: the lines (joined by "\n", none after
 *            the last) of ack_sign_canonical()
 *
 * and is refused (a `denied` record) when mqtt_ack is off, it is not
 * signed, the user is unknown, the timestamp is more than 5 minutes
 * from the daemon's clock, the nonce was seen within that window (a
 * replay; remembered in <state_dir>/ack_nonces.json across restarts),
 * the signature does not match, or the user's `may:`/`on:` do not
 * cover it. Main thread only (module state: the nonces).
 */
#ifndef LABQCD_ACK_SIGN_H
#define LABQCD_ACK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#define ACK_SIGN_WINDOW_S 300.0

struct labqcd;

/*
 * The canonical text of a message, into buf (malloc'ed, caller frees):
 *   ack:        ack USER TS NONCE KEY NAME COMMENT
 *   qc_action:  qc_action USER TS NONCE KEY RUN NAME ACTION REVIEWED OVERRIDE REASON
 * one a line; an absent field is an empty line, REVIEWED is true or
 * false, TS the integer. `body` is the message (ack) or its "qc_action"
 * object. NULL with why when a field is of the wrong type or holds a
 * control character.
 */
char *ack_sign_canonical(const char *kind, const cJSON *msg, const cJSON *body, char *why,
                         size_t whylen);

/*
 * Check a message of `kind` ("ack" or "qc_action") from the ack topic,
 * for `right` at `target`. 0 when it may go on; -1 after writing the
 * `denied` record. `seq` is the input's; in journal recovery the nonce
 * is not checked again (it was taken before the crash).
 */
int ack_sign_check(struct labqcd *d, uint64_t seq, const char *kind, const cJSON *msg,
                   const cJSON *body, const char *right, const char *target);

#endif
