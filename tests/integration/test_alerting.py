"""Scenario: alerts reach people by email and webhook, exactly once.

A real mosquitto, the real labqcd, a real SMTP server (aiosmtpd,
tests/files/smtp_receiver.py) and a real HTTP receiver
(tests/files/http_receiver.py), all on loopback, started here and stopped
by PID. Fridges have a range rule (min 2, max 8, delay 0); samples are
JSON with their time, published through the broker.

1. One excursion: exactly one email (Subject with severity, instrument and
   rule; body with What/Where/Since/Value/Rule/Next; valid MIME, a PNG
   attachment only if a chart exists) and one Alertmanager v4 webhook with
   the right labels and a correct X-Labqcd-Signature HMAC; back in range:
   one resolved email and one resolved webhook, nothing more.
2. Twelve fridges out of range in one burst: one grouped message per
   receiver, naming all twelve.
3. With `repeat: 3s` the alert is sent again until an acknowledgement on
   <prefix>/labqcd/ack (signed by its user, issue 20); the ack writes an `alert` record with state
   acknowledged and the repeats stop.
4. Outage: one alarm delivered, receivers down, a second alarm fires and
   its first send fails, labqcd is SIGKILLed at once (whatever alerts.json
   and the spool hold at that instant) and restarted, receivers come back:
   the second alarm arrives exactly once, the first never again, and the
   notifier's counters are in the log.
5. labqcd SIGKILLed inside group_wait: after the restart the notification
   is still sent, once.
6. Routes by severity, a warning-only webhook and a critical webhook plus
   email: an alert that fires as a warning, worsens to critical and
   resolves tells the warning receiver "firing warning" and "resolved
   warning" only, never anything critical; the critical receivers hear
   firing and resolved critical. A critical-only alert never reaches the
   warning receiver, not even its end. Every notification carries the
   excursion's own start (the sample's time), not when it was sent.
"""
import email
import email.policy
import hashlib
import hmac
import json
import os
import signal
import subprocess
import time

from harness import ROOT, BUILD, Receiver, free_port, publish, wait_for, wait_port
from signing import signed_ack

FILES = os.path.join(ROOT, "tests", "files")
SECRET = "s3cret-key-for-hmac"
KEY1 = "main/fridge-01/temp/range"


class Smtp(Receiver):
    def __init__(self, outdir, port=None):
        super().__init__("smtp_receiver.py", outdir, port)

    def messages(self):
        out = []
        for name in self.files(".eml"):
            with open(os.path.join(self.out, name), "rb") as f:
                raw = f.read()
            out.append((raw, email.message_from_bytes(raw, policy=email.policy.default)))
        return out


class Http(Receiver):
    def __init__(self, outdir, port=None):
        super().__init__("http_receiver.py", outdir, port, extra=["200"] if port else [])

    def posts(self):
        out = []
        for name in self.files(".body"):
            base = os.path.join(self.out, name[:-len(".body")])
            with open(base + ".body", "rb") as f:
                body = f.read()
            headers = {}
            with open(base + ".headers") as f:
                for line in f:
                    k, _, v = line.rstrip("\n").partition(": ")
                    headers[k.lower()] = v
            out.append((body, headers))
        return out


def start_receivers(env, tag="", smtp_port=None, http_port=None):
    s = Smtp(os.path.join(env.dir, "smtp" + tag), smtp_port).start()
    h = Http(os.path.join(env.dir, "http" + tag), http_port).start()
    env.procs += [s, h]
    return s, h


def config(env, smtp_port, http_port, fridges=1, group_wait="2s", repeat="0",
           secret=True):
    secret_file = ""
    if secret:
        secret_file = os.path.join(env.dir, "hook.secret")
        with open(secret_file, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(secret_file, 0o600)
    ins = "".join(f"  main/fridge-{i:02d}: {{ profile: fridge, location: \"Room {i}\" }}\n"
                  for i in range(1, fridges + 1))
    return (
        "smtp:\n"
        f"  url: smtp://127.0.0.1:{smtp_port}\n"
        "  from: labqcd@lab.example\n"
        "  timeout: 10s\n"
        "profiles:\n"
        "  fridge:\n"
        "    temp: { unit: C, min: 2, max: 8, hysteresis: 0.3, delay: 0s }\n"
        "instruments:\n" + ins +
        "receivers:\n"
        "  team: { email: [qc-lead@lab.example] }\n"
        f"  hook: {{ webhook: {{ url: \"http://127.0.0.1:{http_port}/hook\", "
        f"format: alertmanager, secret_file: \"{secret_file}\" }} }}\n"
        "routes:\n"
        "  - match: { kind: equipment }\n"
        "    receivers: [team, hook]\n"
        f"    group_wait: {group_wait}\n"
        f"    repeat: {repeat}\n"
    )


FAST_RETRY = "  notify_retry: 1s\n  notify_retry_max: 2s\n"


def sample(port, fridge, value, t=None):
    t = time.time() if t is None else t
    publish(port, f"lab/main/fridge-{fridge:02d}/temp", json.dumps({"v": value, "t": round(t, 3)}))


def burst(port, lines, workdir):
    """Publish "topic payload" lines in order, one connection (labsim --publish)."""
    path = os.path.join(workdir, f"burst-{time.monotonic_ns()}.txt")
    with open(path, "w") as f:
        f.writelines(f"{t} {p}\n" for t, p in lines)
    r = subprocess.run([os.path.join(BUILD, "labsim"), "--publish", path, "-p", str(port)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def alert_records(d, key=None, state=None):
    return [r for r in d.audit() if r.get("type") == "alert"
            and (key is None or r.get("key") == key) and (state is None or r.get("state") == state)]


def text_of(msg):
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None, "no text/plain part"
    return body.get_content()


def check_mime(raw, msg):
    assert not msg.defects, msg.defects
    for h in ("Date", "Message-ID", "From", "To", "Subject"):
        assert msg[h], f"no {h} header"
    assert b"\r\n" in raw
    pngs = []
    for part in msg.walk():
        assert not part.defects, part.defects
        if part.get_content_type() == "image/png":
            data = part.get_content()
            assert data[:8] == b"\x89PNG\r\n\x1a\n", "attachment is not a PNG"
            pngs.append(part.get_filename())
    return pngs


def check_signature(body, headers):
    want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers.get("x-labqcd-signature") == want, (headers.get("x-labqcd-signature"), want)


def settle(seconds=4.0):
    """Nothing must arrive during this: give a wrong duplicate its chance."""
    time.sleep(seconds)


def test_excursion_email_webhook_resolved(env):
    smtp, http = start_receivers(env)
    broker = env.broker()
    d = env.labqcd(broker.port, config_body=config(env, smtp.port, http.port))
    t0 = time.time()
    sample(broker.port, 1, 5.0, t0 - 2)
    sample(broker.port, 1, 9.4, t0)
    wait_for(lambda: len(smtp.messages()) >= 1 and len(http.posts()) >= 1, 30, 0.1,
             "the firing email and webhook")
    settle()
    assert len(smtp.messages()) == 1, [m["Subject"] for _, m in smtp.messages()]
    assert len(http.posts()) == 1

    raw, msg = smtp.messages()[0]
    check_mime(raw, msg)
    subj = msg["Subject"]
    for word in ("FIRING", "critical", "main/fridge-01", "temp", "range"):
        assert word in subj, (word, subj)
    assert "qc-lead@lab.example" in msg["To"]
    text = text_of(msg)
    for label in ("What:", "Where:", "Since:", "Value:", "Rule:", "Next:"):
        assert label in text, (label, text)
    assert "9.4" in text and "fridge-01" in text and "range" in text, text
    with open(os.path.join(smtp.out, "msg-1.env")) as f:
        env_lines = f.read().split()
    assert env_lines[0] == "labqcd@lab.example" and "qc-lead@lab.example" in env_lines[1:]

    body, headers = http.posts()[0]
    check_signature(body, headers)
    assert headers.get("path") == "/hook"
    assert headers.get("content-type", "").startswith("application/json")
    wh = json.loads(body)
    assert wh["version"] == "4" and wh["status"] == "firing" and wh["receiver"] == "hook", wh
    assert len(wh["alerts"]) == 1
    a = wh["alerts"][0]
    assert a["status"] == "firing"
    assert a["labels"] == {"alertname": "range", "key": KEY1, "site": "main",
                           "instrument": "fridge-01", "channel": "temp",
                           "severity": "critical", "kind": "equipment"}, a["labels"]
    assert a["annotations"]["summary"], a
    assert a["startsAt"].startswith(time.strftime("%Y-%m-%dT", time.gmtime(t0)))
    for k in ("groupKey", "groupLabels", "commonLabels", "commonAnnotations", "externalURL"):
        assert k in wh, k

    # Back in range (past the hysteresis): resolved, once per receiver.
    sample(broker.port, 1, 5.0, time.time())
    wait_for(lambda: len(smtp.messages()) >= 2 and len(http.posts()) >= 2, 30, 0.1,
             "the resolved email and webhook")
    settle()
    assert len(smtp.messages()) == 2 and len(http.posts()) == 2
    raw, msg = smtp.messages()[1]
    check_mime(raw, msg)
    assert "RESOLVED" in msg["Subject"] and "main/fridge-01" in msg["Subject"], msg["Subject"]
    assert "Ended:" in text_of(msg)
    body, headers = http.posts()[1]
    check_signature(body, headers)
    wh = json.loads(body)
    assert wh["status"] == "resolved" and wh["alerts"][0]["status"] == "resolved", wh
    assert not wh["alerts"][0]["endsAt"].startswith("0001"), wh
    states = [r["state"] for r in alert_records(d, KEY1)]
    assert states == ["firing", "resolved"], states
    assert d.stop() == 0, d.log()


def test_twelve_alarms_one_message_each(env):
    smtp, http = start_receivers(env)
    broker = env.broker()
    env.labqcd(broker.port, config_body=config(env, smtp.port, http.port, fridges=12,
                                               group_wait="3s"))
    t = time.time()
    burst(broker.port, [(f"lab/main/fridge-{i:02d}/temp", json.dumps({"v": 5.0, "t": t - 5}))
                        for i in range(1, 13)] +
          [(f"lab/main/fridge-{i:02d}/temp", json.dumps({"v": 10.0 + i / 10, "t": t}))
           for i in range(1, 13)], env.dir)
    wait_for(lambda: smtp.messages() and http.posts(), 30, 0.1, "the grouped notifications")
    settle(5)
    assert len(smtp.messages()) == 1, [m["Subject"] for _, m in smtp.messages()]
    assert len(http.posts()) == 1
    raw, msg = smtp.messages()[0]
    check_mime(raw, msg)
    assert "(+11 more)" in msg["Subject"], msg["Subject"]
    text = text_of(msg)
    for i in range(1, 13):
        assert f"main/fridge-{i:02d}/temp/range" in text, i
    wh = json.loads(http.posts()[0][0])
    keys = sorted(a["labels"]["key"] for a in wh["alerts"])
    assert keys == [f"main/fridge-{i:02d}/temp/range" for i in range(1, 13)], keys
    assert wh["commonLabels"].get("alertname") == "range", wh["commonLabels"]


def test_ack_stops_repeats(env):
    smtp, http = start_receivers(env)
    broker = env.broker()
    alice_key = os.path.join(env.dir, "alice.key")
    with open(alice_key, "wb") as f:
        f.write(b"alice-hmac-key\n")
    os.chmod(alice_key, 0o600)
    d = env.labqcd(broker.port, config_body=config(env, smtp.port, http.port, group_wait="1s",
                                                   repeat="3s")
                   + f"access_mqtt:\n  alice: {{ key_file: {alice_key} }}\n")
    sample(broker.port, 1, 5.0, time.time() - 2)
    sample(broker.port, 1, 9.4)
    # The first message and at least one repeat.
    wait_for(lambda: len(smtp.messages()) >= 2 and len(http.posts()) >= 2, 40, 0.1,
             "the first notification and a repeat")
    assert "(repeat)" in smtp.messages()[1][1]["Subject"], smtp.messages()[1][1]["Subject"]
    assert "repeat" in text_of(smtp.messages()[1][1]).lower()

    publish(broker.port, "lab/labqcd/ack",
            signed_ack("alice", b"alice-hmac-key", KEY1, "door was open, closed it"))
    wait_for(lambda: alert_records(d, KEY1, "acknowledged"), 15, 0.1,
             "the acknowledged record")
    rec = alert_records(d, KEY1, "acknowledged")
    assert len(rec) == 1 and rec[0]["by"] == "alice", rec
    assert rec[0]["comment"] == "door was open, closed it", rec
    time.sleep(1.5)  # one repeat may have been spooled just before the ack
    n_mail, n_post = len(smtp.messages()), len(http.posts())
    settle(9)  # three repeat periods
    assert len(smtp.messages()) == n_mail, "repeats went on after the acknowledgement"
    assert len(http.posts()) == n_post
    # Still firing (an ack stops repeats, not resolution): it resolves later.
    sample(broker.port, 1, 5.0)
    wait_for(lambda: len(smtp.messages()) == n_mail + 1, 30, 0.1, "the resolved email")
    assert "RESOLVED" in smtp.messages()[-1][1]["Subject"]
    assert d.stop() == 0, d.log()


def spool_entries(d):
    sp = os.path.join(d.state, "spool")
    return [f for f in os.listdir(sp) if f.endswith(".json")] if os.path.isdir(sp) else []


def test_outage_kill9_delivered_once(env):
    smtp, http = start_receivers(env, "-1")
    broker = env.broker()
    d = env.labqcd(broker.port, daemon_extra=FAST_RETRY,
                   config_body=config(env, smtp.port, http.port, fridges=2, group_wait="1s"))
    # Alarm A is delivered while the receivers are up.
    sample(broker.port, 1, 5.0, time.time() - 2)
    sample(broker.port, 1, 9.4)
    wait_for(lambda: smtp.messages() and http.posts(), 30, 0.1, "alarm A delivered")
    wait_for(lambda: not spool_entries(d), 10, 0.1, "the spool to empty")

    # Outage: both receivers stop; alarm B fires and cannot be sent.
    smtp.stop()
    http.stop()
    sample(broker.port, 2, 5.0, time.time() - 2)
    sample(broker.port, 2, 1.0)
    # Killed right after the first failed send, without waiting for
    # anything else to settle: the other notification of the group may be
    # staged, recorded or ready. Two-phase spooling makes every one of
    # those restart into exactly one copy.
    wait_for(lambda: "failed (attempt 1)" in d.log(), 30, 0.02, "a send of alarm B to fail")
    d.kill9()

    d.start()
    wait_for(lambda: len(spool_entries(d)) == 2, 10, 0.1, "alarm B's two entries after restart")
    time.sleep(2)
    assert len(spool_entries(d)) == 2, spool_entries(d)
    smtp2, http2 = start_receivers(env, "-2", smtp.port, http.port)
    wait_for(lambda: smtp2.messages() and http2.posts(), 40, 0.1, "alarm B after the outage")
    wait_for(lambda: not spool_entries(d), 10, 0.1, "the spool to empty")
    settle(5)
    assert len(smtp.messages()) == 1 and len(http.posts()) == 1
    assert len(smtp2.messages()) == 1, [m["Subject"] for _, m in smtp2.messages()]
    assert len(http2.posts()) == 1
    assert "main/fridge-01" in smtp.messages()[0][1]["Subject"]
    subj = smtp2.messages()[0][1]["Subject"]
    assert "main/fridge-02" in subj and "+" not in subj, subj
    wh = json.loads(http2.posts()[0][0])
    assert [a["labels"]["key"] for a in wh["alerts"]] == ["main/fridge-02/temp/range"], wh
    # Each firing recorded once, whatever the restart replayed.
    assert len(alert_records(d, KEY1, "firing")) == 1
    assert len(alert_records(d, "main/fridge-02/temp/range", "firing")) == 1
    # The notifier's counters are logged.
    assert "notify: " in d.log() and " sent, " in d.log() and " retried since start" in d.log()
    assert d.stop() == 0, d.log()


def test_kill9_inside_group_wait(env):
    smtp, http = start_receivers(env)
    broker = env.broker()
    d = env.labqcd(broker.port, config_body=config(env, smtp.port, http.port, group_wait="8s"))
    sample(broker.port, 1, 5.0, time.time() - 2)
    fired_at = time.time()
    sample(broker.port, 1, 9.4, fired_at)
    wait_for(lambda: alert_records(d, KEY1, "firing"), 15, 0.05, "the firing record")
    d.kill9()
    assert not smtp.messages() and not http.posts(), "sent before group_wait ended"
    d.start()
    wait_for(lambda: smtp.messages() and http.posts(), 40, 0.1, "the notification after restart")
    assert time.time() >= fired_at + 7, "sent before group_wait ended"
    settle(5)
    assert len(smtp.messages()) == 1 and len(http.posts()) == 1
    assert "main/fridge-01" in smtp.messages()[0][1]["Subject"]
    assert len(alert_records(d, KEY1, "firing")) == 1
    assert d.stop() == 0, d.log()


def rfc3339(t):
    """For times with a whole number of milliseconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int(
        round((t - int(t)) * 1000))


def test_resolved_only_to_who_heard_it_fire_with_what_they_heard(env):
    smtp = Smtp(os.path.join(env.dir, "smtp")).start()
    warn = Http(os.path.join(env.dir, "warn")).start()
    crit = Http(os.path.join(env.dir, "crit")).start()
    env.procs += [smtp, warn, crit]
    broker = env.broker()
    body = (
        "smtp:\n"
        f"  url: smtp://127.0.0.1:{smtp.port}\n"
        "  from: labqcd@lab.example\n"
        "profiles:\n"
        "  fridge:\n"
        "    temp: { unit: C, min: 2, max: 8, warning_min: 3, warning_max: 7,\n"
        "            hysteresis: 0.3, delay: 0s }\n"
        "instruments:\n"
        "  main/fridge-01: { profile: fridge }\n"
        "  main/fridge-02: { profile: fridge }\n"
        "receivers:\n"
        "  team: { email: [qc-lead@lab.example] }\n"
        f"  warn-chat: {{ webhook: {{ url: \"http://127.0.0.1:{warn.port}/warn\", format: plain }} }}\n"
        f"  crit-hook: {{ webhook: {{ url: \"http://127.0.0.1:{crit.port}/crit\" }} }}\n"
        "routes:\n"
        "  - match: { severity: warning }\n"
        "    receivers: [warn-chat]\n"
        "    group_wait: 1s\n"
        "  - match: { severity: critical }\n"
        "    receivers: [team, crit-hook]\n"
        "    group_wait: 1s\n")
    d = env.labqcd(broker.port, config_body=body)
    t0 = time.time()
    start = int(t0) - 40 + 0.25        # the excursion began 40 s ago (the sample's clock)
    sample(broker.port, 1, 5.0, t0 - 60)
    sample(broker.port, 1, 7.5, start)  # warning band, delay 0: fires warning
    wait_for(lambda: len(warn.posts()) >= 1, 30, 0.1, "the warning webhook")
    w = json.loads(warn.posts()[0][0])
    assert w["status"] == "firing" and w["records"][0]["severity"] == "warning", w
    assert w["records"][0]["since"] == rfc3339(start), (w, rfc3339(start))

    sample(broker.port, 1, 9.0)         # beyond max: critical at once
    wait_for(lambda: crit.posts() and smtp.messages(), 30, 0.1, "the critical notifications")
    c = json.loads(crit.posts()[0][0])
    assert c["status"] == "firing" and c["alerts"][0]["labels"]["severity"] == "critical", c
    assert c["alerts"][0]["startsAt"] == rfc3339(start), (c, rfc3339(start))
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(start)))
    assert "Since:  " + since in text_of(smtp.messages()[0][1]), text_of(smtp.messages()[0][1])

    sample(broker.port, 1, 5.0)         # back inside: resolved
    wait_for(lambda: len(warn.posts()) >= 2 and len(crit.posts()) >= 2 and
             len(smtp.messages()) >= 2, 30, 0.1, "the resolved notifications")
    w = json.loads(warn.posts()[1][0])
    assert w["status"] == "resolved", w
    assert [(r["key"], r["state"], r["severity"]) for r in w["records"]] == [
        (KEY1, "resolved", "warning")], w
    c = json.loads(crit.posts()[1][0])
    assert c["status"] == "resolved" and c["alerts"][0]["labels"]["severity"] == "critical", c
    assert "RESOLVED" in smtp.messages()[1][1]["Subject"]

    # critical from the start: the warning receiver hears nothing of it
    sample(broker.port, 2, 5.0, time.time() - 5)
    sample(broker.port, 2, 9.0)
    wait_for(lambda: len(crit.posts()) >= 3, 30, 0.1, "fridge-02 firing")
    sample(broker.port, 2, 5.0)
    wait_for(lambda: len(crit.posts()) >= 4, 30, 0.1, "fridge-02 resolved")
    settle()
    assert len(warn.posts()) == 2, [p for p, _ in warn.posts()]
    for raw, _ in warn.posts():
        assert b"critical" not in raw and b"fridge-02" not in raw, raw
    assert len(crit.posts()) == 4 and len(smtp.messages()) == 4
    assert d.stop() == 0, d.log()
