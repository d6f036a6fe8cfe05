"""Signing messages for <prefix>/labqcd/ack as a gateway would (issue 20),
from the canonical text labqcd(8) and README describe, with Python's own
hmac: an implementation apart from the daemon's. Not a test file."""
import hashlib
import hmac
import json
import os
import time


def canonical(kind, user, ts, nonce, body):
    if kind == "ack":
        fields = ["ack", user, str(ts), nonce, body["key"], body.get("name", ""),
                  body.get("comment", "")]
    else:
        fields = ["qc_action", user, str(ts), nonce, body["key"], body.get("run", ""),
                  body.get("name", ""), body.get("action", ""),
                  "true" if body.get("reviewed") else "false", body.get("override", ""),
                  body.get("reason", "")]
    return "\n".join(fields)


def signed_ack(user, secret, key, comment="", ts=None, nonce=None, name=None):
    ts = int(time.time()) if ts is None else int(ts)
    nonce = nonce or os.urandom(12).hex()
    body = {"key": key, "comment": comment}
    if name is not None:
        body["name"] = name
    sig = hmac.new(secret, canonical("ack", user, ts, nonce, body).encode(),
                   hashlib.sha256).hexdigest()
    return json.dumps(dict(body, user=user, ts=ts, nonce=nonce, sig=sig))


def signed_qc_action(user, secret, qa, ts, nonce=None):
    nonce = nonce or os.urandom(12).hex()
    sig = hmac.new(secret, canonical("qc_action", user, int(ts), nonce, qa).encode(),
                   hashlib.sha256).hexdigest()
    return json.dumps({"qc_action": qa, "user": user, "ts": int(ts), "nonce": nonce, "sig": sig})
