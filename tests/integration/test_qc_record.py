"""Scenario: the CLIA record of QC (issue 17) through `labqcd --replay`
(its clock follows the input, so the time-driven alerts are exact), then
`labqcd --render`:

- run r1 rejected (1-3s); nobody records a disposition: after action_due
  (8 h) the alert main/chem-01/glucose/qc_action fires;
- run r2 has L1 only: recorded `incomplete` once its run_window is over,
  and main/chem-01/glucose/qc_missing fires; the complete run r3 resolves it;
- a disposition of r1 on the ack topic (corrective action, patient results
  reviewed): a `qc_action` record, and the qc_action alert resolves;
- an override of the accepted run r3 to reject, with a reason: a
  `qc_action` record saying what it was and what it is now;
- a disposition of a run that was not rejected, without override, is
  refused (a `dropped` record says why);
- then no complete run for more than qc_every (24 h): qc_missing fires;
- the dashboard's QC table shows each run's verdict and disposition.
"""
import json
import os
import subprocess

from harness import LABQCD
from signing import signed_qc_action

T0 = 1763884800  # 2025-11-23T08:00:00Z

CONFIG = """\
daemon:
  state_dir: {d}/state
  rrd_dir: {d}/rrd
  www_dir: {d}/www
mqtt:
  prefix: lab
instruments:
  main/chem-01:
    qc:
      glucose:
        rules: 1-3s/2-2s/R-4s/4-1s/10x
        qc_every: 24h
        action_due: 8h
        levels:
          L1: {{ mean: 100, sd: 2 }}
          L2: {{ mean: 250, sd: 5 }}
access_mqtt:
  ana: {{ key_file: {d}/ana.key, may: [qc-action] }}
  lead: {{ key_file: {d}/lead.key, may: [qc-action, override] }}
"""
KEYS = {"ana": b"ana-key-4711", "lead": b"lead-key-0815"}


def iso(t):
    import datetime
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")


def qc(level, value, t, run):
    return "lab/main/chem-01/qc/glucose/%s %s" % (
        level, json.dumps({"value": value, "t": t, "run": run}))


def ack(obj, ts=T0 + 9 * 3600 + 60):
    """A disposition on the ack topic, signed by its "by" (issue 20), at
    the replay's clock then (the last QC result's time)."""
    user = obj.pop("by")
    return "lab/labqcd/ack " + signed_qc_action(user, KEYS[user], obj, ts)


def test_qc_record(env):
    d = os.path.join(env.dir, "rec")
    os.makedirs(d)
    cfg = os.path.join(d, "labqcd.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(d=d))
    for user, secret in KEYS.items():
        with open(os.path.join(d, user + ".key"), "wb") as f:
            f.write(secret)
        os.chmod(os.path.join(d, user + ".key"), 0o600)
    key = "main/chem-01/glucose"
    lines = [
        qc("L1", 107.0, T0, "r1"),            # z 3.5: 1-3s, rejected
        qc("L2", 250.0, T0 + 60, "r1"),
        qc("L1", 100.0, T0 + 3600, "r2"),     # L2 never comes
        qc("L1", 100.5, T0 + 9 * 3600, "r3"),
        qc("L2", 251.0, T0 + 9 * 3600 + 60, "r3"),
        ack({"key": key, "run": "r1", "by": "ana", "action": "recalibrated, reran",
             "reviewed": True}),
        ack({"key": key, "run": "r3", "by": "lead", "override": "reject",
             "reason": "L2 vial found expired"}),
        ack({"key": key, "run": "r2", "by": "ana", "action": "nothing"}),
        qc("L1", 100.0, T0 + 40 * 3600, "r4"),
        qc("L2", 250.0, T0 + 40 * 3600 + 60, "r4"),
    ]
    inp = os.path.join(d, "input.txt")
    with open(inp, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([LABQCD, "-c", cfg, "--replay", inp], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, TZ="UTC"))
    assert r.returncode == 0, r.stderr
    recs = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]

    def alerts(rule):
        return [(x["state"], x["ts"]) for x in recs
                if x["type"] == "alert" and x["key"] == key + "/" + rule]

    # r1 rejected at T0; 8 h later (on replay's minute grid) qc_action fires
    fired = [x for x in recs if x["type"] == "alert" and x["key"] == key + "/qc_action"]
    assert fired and fired[0]["state"] == "firing" and fired[0]["severity"] == "warning", fired
    assert T0 + 8 * 3600 <= _t(fired[0]["ts"]) <= T0 + 8 * 3600 + 60, fired[0]
    assert "r1" in fired[0]["summary"], fired[0]
    # r2: incomplete after its 10 min window
    inc = [x for x in recs if x["type"] == "qc_run"]
    assert [(x["run"], x["status"], x["missing"]) for x in inc] == [("r2", "incomplete", ["L2"])]
    assert T0 + 3600 + 600 < _t(inc[0]["ts"]) <= T0 + 3600 + 660, inc[0]
    miss = alerts("qc_missing")
    assert miss[0] == ("firing", inc[0]["ts"]), miss
    assert miss[1] == ("resolved", iso(T0 + 9 * 3600 + 60)), miss  # r3 complete
    # the disposition of r1, and the qc_action alert resolved by it
    acts = [x for x in recs if x["type"] == "qc_action"]
    assert len(acts) == 2, acts
    a = {k: v for k, v in acts[0].items() if k not in ("ts", "prev", "seq")}
    assert a == {"type": "qc_action", "key": key, "run": "r1", "by": "ana",
                 "action": "recalibrated, reran", "reviewed": True, "status": "reject"}, a
    assert alerts("qc_action")[-1][0] == "resolved", alerts("qc_action")
    o = {k: v for k, v in acts[1].items() if k not in ("ts", "prev", "seq")}
    assert o == {"type": "qc_action", "key": key, "run": "r3", "by": "lead", "reviewed": False,
                 "override": "reject", "reason": "L2 vial found expired", "was": "accept",
                 "status": "reject"}, o
    # a corrective action for a run that was not rejected: refused, with why
    dropped = [x for x in recs if x["type"] == "dropped"]
    assert len(dropped) == 1 and "not rejected" in dropped[0]["reason"], dropped
    # no complete run for 24 h after r3 (T0 + 9 h): qc_missing again
    assert miss[2][0] == "firing", miss
    assert T0 + 33 * 3600 + 60 < _t(miss[2][1]) <= T0 + 33 * 3600 + 180, miss
    assert miss[3] == ("resolved", iso(T0 + 40 * 3600 + 60)), miss

    # the dashboard: each run's verdict and disposition
    r = subprocess.run([LABQCD, "-c", cfg, "--render"], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, TZ="UTC"))
    assert r.returncode == 0, r.stderr
    with open(os.path.join(d, "www", "main", "chem-01", "index.html")) as f:
        page = f.read()
    assert "corrective action by ana: recalibrated, reran (patient results reviewed)" in page
    assert "override reject by lead: L2 vial found expired" in page
    assert "incomplete" in page
    # per-lot statistics
    assert "runs not rejected" in page


def _t(ts):
    import datetime
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
