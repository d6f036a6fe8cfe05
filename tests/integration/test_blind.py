"""Scenario: the monitor's own blindness is an alarm (issue 15).

A real mosquitto, the real labqcd, a real SMTP server (aiosmtpd,
tests/files/smtp_receiver.py) and a real HTTP receiver
(tests/files/http_receiver.py), all on loopback, started here and stopped
by PID.

1. Broker outage: three fridges with `stale: 1m` send samples, then the
   broker is stopped for 3 minutes under a running labqcd with
   `mqtt.lost_after: 30s`. Exactly one email for the broker alert
   labqcd/<client_id>/broker (routed by `severity: critical`), none for
   any channel's stale rule, and in the audit log the broker alert goes
   pending -> firing (30 s later) -> resolved, with no stale record at
   all during the outage. After the broker is back: one resolved email.
   Two fridges resume; the third stays silent and goes stale one stale
   period after the reconnection (the countdown restarts there), not
   before.
2. Subscription refused: the broker (mosquitto's dynamic-security plugin)
   refuses the subscription (SUBACK 0x80) while the connection stands: the
   broker alert goes pending at once, fires after lost_after (a webhook
   names it); once the broker allows it, labqcd's next try (every 30 s)
   succeeds and the alert resolves.
3. Heartbeat every 2s to a webhook receiver (format alertmanager): posts
   arrive about 2 s apart, each an Alertmanager v4 body, status firing,
   alertname Watchdog, severity none, the same startsAt. With the receiver
   replaced by a listener that never answers, beats are dropped (at most
   one outstanding, nothing in the spool) while samples are still taken;
   once the real receiver is back, beats resume at the interval with no
   burst of late ones.
"""
import base64
import email
import email.policy
import hashlib
import json
import os
import socket
import subprocess
import time

from harness import BUILD, Receiver, publish, rrd_lastupdate, wait_for

LOST_AFTER = 30
STALE = 60
OUTAGE = 180


class Smtp(Receiver):
    def __init__(self, outdir, port=None):
        super().__init__("smtp_receiver.py", outdir, port)

    def messages(self):
        out = []
        for name in self.files(".eml"):
            with open(os.path.join(self.out, name), "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out


class Http(Receiver):
    def __init__(self, outdir, port=None):
        super().__init__("http_receiver.py", outdir, port, extra=["200"] if port else [])

    def posts(self):
        """(arrival time, parsed body) of every post, in order."""
        out = []
        for name in self.files(".body"):
            path = os.path.join(self.out, name)
            with open(path, "rb") as f:
                out.append((os.stat(path).st_mtime, json.loads(f.read())))
        return out


def status(d):
    """labqcctl --json status."""
    r = subprocess.run([os.path.join(BUILD, "labqcctl"), "-s", os.path.join(d.dir, "labqcd.sock"),
                        "--json", "status"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    return json.loads(r.stdout)


def sample(port, fridge, value):
    publish(port, f"lab/main/fridge-{fridge:02d}/temp",
            json.dumps({"v": value, "t": round(time.time(), 3)}))


def alert_records(d, key=None):
    return [r for r in d.audit() if r.get("type") == "alert"
            and (key is None or r.get("key") == key)]


def epoch(ts):
    """RFC 3339 UTC with milliseconds (the audit log's ts) to epoch seconds."""
    import datetime
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def test_broker_outage_one_alarm_no_stale(env):
    smtp = Smtp(os.path.join(env.dir, "smtp")).start()
    env.procs.append(smtp)
    broker = env.broker()
    body = (
        f"  lost_after: {LOST_AFTER}s\n"          # continues the harness's mqtt: section
        "smtp:\n"
        f"  url: smtp://127.0.0.1:{smtp.port}\n"
        "  from: labqcd@lab.example\n"
        "profiles:\n"
        "  fridge:\n"
        f"    temp: {{ unit: C, min: 2, max: 8, stale: {STALE}s }}\n"
        "instruments:\n"
        "  main/fridge-01: { profile: fridge }\n"
        "  main/fridge-02: { profile: fridge }\n"
        "  main/fridge-03: { profile: fridge }\n"
        "receivers:\n"
        "  oncall: { email: [oncall@lab.example] }\n"
        "routes:\n"
        "  - match: { severity: critical }\n"
        "    receivers: [oncall]\n"
        "    group_wait: 1s\n"
        "    repeat: 0\n"
        "  - match: { rule: stale }\n"          # a stale alert would be mailed too
        "    receivers: [oncall]\n"
        "    group_wait: 1s\n"
        "    repeat: 0\n"
    )
    d = env.labqcd(broker.port, config_body=body)
    key = f"labqcd/{d.client_id}/broker"
    for i in (1, 2, 3):
        sample(broker.port, i, 5.0)
    wait_for(lambda: all(os.path.exists(d.rrd_path(f"main/fridge-{i:02d}/temp"))
                         for i in (1, 2, 3)), 15, 0.2, "the three samples stored")

    broker.stop()
    t_stop = time.time()
    # The broker alert, once, by email: lost_after + group_wait later.
    wait_for(lambda: len(smtp.messages()) >= 1, LOST_AFTER + 30, 0.5, "the broker alert email")
    t_mail = time.time()
    assert t_mail - t_stop >= LOST_AFTER - 1, (t_mail - t_stop, d.log()[-3000:])
    time.sleep(max(0.0, t_stop + OUTAGE - time.time()))
    msgs = smtp.messages()
    assert len(msgs) == 1, [m["Subject"] for m in msgs]
    subj = msgs[0]["Subject"]
    for word in ("FIRING", "critical", f"labqcd/{d.client_id}", "broker"):
        assert word in subj, (word, subj)
    text = msgs[0].get_body(preferencelist=("plain",)).get_content()
    assert key in text and "cannot see the lab" in text, text
    assert "oncall@lab.example" in msgs[0]["To"]

    broker.start()
    t_back = time.time()
    wait_for(lambda: len(smtp.messages()) >= 2, 30, 0.5, "the resolved email")
    msgs = smtp.messages()
    assert len(msgs) == 2, [m["Subject"] for m in msgs]
    assert "RESOLVED" in msgs[1]["Subject"] and "broker" in msgs[1]["Subject"], msgs[1]["Subject"]

    # The audit log: pending at the loss, firing lost_after later, resolved
    # once the broker is back; and no stale record at all meanwhile.
    recs = alert_records(d, key)
    assert [r["state"] for r in recs] == ["pending", "firing", "resolved"], recs
    assert all(r["severity"] == "critical" for r in recs), recs
    t_pending, t_firing, t_resolved = (epoch(r["ts"]) for r in recs)
    assert t_pending - t_stop < 5, (t_pending, t_stop)
    assert LOST_AFTER - 1 <= t_firing - t_pending <= LOST_AFTER + 5, (t_firing - t_pending)
    assert t_back - 1 <= t_resolved <= t_back + 15, (t_resolved, t_back)
    stale = [r for r in alert_records(d) if r["key"].endswith("/stale")]
    assert stale == [], stale

    # Back: two fridges resume, the third stays silent and goes stale one
    # stale period after the reconnection, not before.
    def fridge3_stale():
        return any(r["key"] == "main/fridge-03/temp/stale" and r["state"] == "firing"
                   for r in alert_records(d))

    deadline = time.monotonic() + STALE + 30
    while not fridge3_stale():
        assert time.monotonic() < deadline, "fridge-03 never went stale\n" + d.log()[-3000:]
        for i in (1, 2):
            sample(broker.port, i, 5.1)
        time.sleep(5)
    stale = [r for r in alert_records(d) if r["key"].endswith("/stale")]
    assert [(r["key"], r["state"]) for r in stale] == [("main/fridge-03/temp/stale", "firing")], stale
    t_stale = epoch(stale[0]["ts"])
    assert t_back + STALE - 2 <= t_stale <= t_back + STALE + 15, (t_stale - t_back)
    # Its email, and nothing about fridge-01/02.
    wait_for(lambda: len(smtp.messages()) >= 3, 20, 0.5, "the stale email")
    for i in (1, 2):
        sample(broker.port, i, 5.2)
    time.sleep(3)
    msgs = smtp.messages()
    assert len(msgs) == 3 and "fridge-03" in msgs[2]["Subject"], [m["Subject"] for m in msgs]
    assert d.alive()


DYNSEC = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"


def dynsec_config(path):
    """mosquitto's dynamic-security plugin refusing every subscription of the
    anonymous clients (labqcd's among them: SUBACK 0x80), with an admin
    client that may change that through $CONTROL (mosquitto's own acl_file
    refuses no subscription, it filters at delivery)."""
    salt = os.urandom(12)
    pw = hashlib.pbkdf2_hmac("sha512", b"admin-pw", salt, 101)
    cfg = {
        "defaultACLAccess": {"publishClientSend": True, "publishClientReceive": True,
                             "subscribe": False, "unsubscribe": True},
        "clients": [{"username": "admin", "roles": [{"rolename": "admin"}],
                     "password": base64.b64encode(pw).decode(),
                     "salt": base64.b64encode(salt).decode(), "iterations": 101}],
        "groups": [{"groupname": "anon", "roles": []}],
        "roles": [{"rolename": "admin", "acls": [
            {"acltype": "publishClientSend", "topic": "$CONTROL/dynamic-security/#",
             "allow": True},
            {"acltype": "subscribePattern", "topic": "$CONTROL/dynamic-security/#",
             "allow": True}]}],
        "anonymousGroup": "anon",
    }
    with open(path, "w") as f:
        json.dump(cfg, f)


def test_subscription_refused(env):
    http = Http(os.path.join(env.dir, "http")).start()
    env.procs.append(http)
    dynsec = os.path.join(env.dir, "dynsec.json")
    dynsec_config(dynsec)
    broker = env.broker(extra=f"plugin {DYNSEC}\nplugin_opt_config_file {dynsec}\n"
                              "user root\n")  # the test files are root's (mkdtemp 0700)
    body = (
        "  lost_after: 5s\n"
        "receivers:\n"
        f"  hook: {{ webhook: {{ url: \"http://127.0.0.1:{http.port}/hook\", format: plain }} }}\n"
        "routes:\n"
        "  - match: { kind: monitor, rule: broker }\n"
        "    receivers: [hook]\n"
        "    group_wait: 0s\n"
        "    repeat: 0\n"
    )
    d = env.labqcd(broker.port, config_body=body)
    key = f"labqcd/{d.client_id}/broker"
    wait_for(lambda: [r["state"] for r in alert_records(d, key)][:2] == ["pending", "firing"],
             20, 0.2, "the broker alert to fire")
    pending, firing = alert_records(d, key)[:2]
    assert "refused the subscription to lab/#" in pending["summary"], pending
    assert 4 <= epoch(firing["ts"]) - epoch(pending["ts"]) <= 8, (pending, firing)
    wait_for(lambda: len(http.posts()) >= 1, 15, 0.2, "the firing webhook")
    rec = http.posts()[0][1]["records"][0]
    assert rec["key"] == key and rec["state"] == "firing" and rec["severity"] == "critical", rec
    st = status(d)["broker"]
    assert st["connected"] is True and st["subscribed"] is False, st

    # The broker now allows it; labqcd asks again within 30 s.
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port),
                        "-u", "admin", "-P", "admin-pw", "-t", "$CONTROL/dynamic-security/v1",
                        "-m", json.dumps({"commands": [{"command": "setDefaultACLAccess",
                                                        "acls": [{"acltype": "subscribe",
                                                                  "allow": True}]}]})],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    t_allowed = time.time()
    wait_for(lambda: [r["state"] for r in alert_records(d, key)][-1] == "resolved", 45, 0.5,
             "the broker alert to resolve once the subscription is allowed")
    t_resolved = epoch(alert_records(d, key)[-1]["ts"])
    assert t_resolved - t_allowed <= 35, t_resolved - t_allowed
    wait_for(lambda: len(http.posts()) >= 2, 15, 0.2, "the resolved webhook")
    rec = http.posts()[1][1]["records"][0]
    assert rec["key"] == key and rec["state"] == "resolved", rec
    st = status(d)["broker"]
    assert st["connected"] is True and st["subscribed"] is True, st
    # And it sees again: a sample lands.
    sample(broker.port, 1, 5.0)
    wait_for(lambda: os.path.exists(d.rrd_path("main/fridge-01/temp")), 10, 0.2,
             "a sample after the subscription was granted")


def test_heartbeat_watchdog(env):
    http = Http(os.path.join(env.dir, "http")).start()
    env.procs.append(http)
    broker = env.broker()
    body = (
        "profiles:\n"
        "  fridge:\n"
        "    temp: { unit: C, min: 2, max: 8 }\n"
        "instruments:\n"
        "  main/fridge-01: { profile: fridge }\n"
        "receivers:\n"
        f"  deadman: {{ webhook: {{ url: \"http://127.0.0.1:{http.port}/watchdog\", "
        "format: alertmanager, timeout: 5s } }\n"
        "heartbeat:\n"
        "  receiver: deadman\n"
        "  every: 2s\n"
    )
    d = env.labqcd(broker.port, config_body=body)
    time.sleep(11)
    posts = http.posts()
    first = len(posts)
    assert first >= 5, (first, d.log()[-2000:])
    gaps = [b[0] - a[0] for a, b in zip(posts, posts[1:])]
    assert all(1.5 <= g <= 2.6 for g in gaps), gaps
    starts = set()
    for _, wh in posts:
        assert wh["version"] == "4" and wh["status"] == "firing", wh
        assert wh["receiver"] == "deadman", wh
        assert len(wh["alerts"]) == 1, wh
        a = wh["alerts"][0]
        assert a["status"] == "firing"
        assert a["labels"]["alertname"] == "Watchdog", a
        assert a["labels"]["severity"] == "none", a
        assert a["endsAt"] == "0001-01-01T00:00:00Z", a
        assert not a["startsAt"].startswith("0001"), a
        starts.add(a["startsAt"])
    assert len(starts) == 1, starts          # a stable startsAt

    # The receiver hangs: it accepts connections and never answers. Beats
    # are dropped, not queued; the spool holds none; samples still land.
    port = http.port
    http.stop()
    env.procs.remove(http)
    hang = socket.socket()
    hang.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hang.bind(("127.0.0.1", port))
    hang.listen(16)
    try:
        t0 = time.time()
        sample(broker.port, 1, 5.0)
        path = d.rrd_path("main/fridge-01/temp")
        wait_for(lambda: os.path.exists(path) and rrd_lastupdate(path)[0] >= int(t0) - 1,
                 10, 0.2, "a sample stored while the heartbeat receiver hangs")
        time.sleep(12)
        spool = os.path.join(d.state, "spool")
        left = os.listdir(spool) if os.path.isdir(spool) else []
        assert left == [], left
        wait_for(lambda: "heartbeat" in d.log() and "dropped" in d.log(), 10, 0.5,
                 "the log to say beats were dropped")
    finally:
        hang.close()

    http2 = Http(os.path.join(env.dir, "http2"), port).start()
    env.procs.append(http2)
    t_back = time.time()
    time.sleep(9)
    posts = http2.posts()
    # No burst of late beats: one every 2 s from the return on.
    assert 3 <= len(posts) <= 6, [p[0] - t_back for p in posts]
    gaps = [b[0] - a[0] for a, b in zip(posts, posts[1:])]
    assert all(1.5 <= g <= 2.6 for g in gaps), gaps
    hb = status(d)["heartbeat"]
    assert hb["receiver"] == "deadman" and hb["dropped"] >= 1 and hb["failed"] >= 1, hb
    assert hb["sent"] >= first + len(posts) - 1, hb   # the last may still be in flight
    assert d.alive()
