"""Scenario: patient-based QC and "what if" in the monthly report (issue 22,
deliver point 4).

A month (November 2026, TZ=UTC) of chem-01 is replayed through
`labqcd --replay`: glucose patient results every 20 minutes, N(140, 6)
with a fixed seed, a few values beyond the truncation limits (left out),
and two shifts (+12 for 6 hours on Nov 20, -12 for 4 hours on Nov 25);
glucose `pbrtqc: { method: ma, block: 20, truncate: [50, 300], train: 200,
false_alarm_rate: 0.001 }` learns its limits in the first days. QC: two
runs a day of L1/L2 from N(target, SD) with a fixed seed, plus an L1 at
+2.7 SD (a 1-2s warning under the lab's 1-3s/2-2s/R-4s) and one at +3.5 SD
(1-3s: rejected). The PBRTQC alert of the first shift is acknowledged by a
signed ack (access_mqtt). `reports: { what_if: 1-2.5s/2-2s/R-4s/4-1s }`.

Then `labqcd --report 2026-11`, and report.json is checked against
figures computed here, apart from the report:
- PBRTQC: the limits are the `pbrtqc_limits` record's, which are the mean
  +- z(1 - far/2) SD of the first 200 moving averages computed here; the
  alerts are as many as the moving averages computed here cross the limits
  from inside, and as many as the `firing` alert records; each starts at
  its firing record, its peak is the furthest moving average while it
  lasted; the acknowledged one names the gateway's user; the statistic's
  min and max over the period are those of the moving averages.
- What if: the counts and changed runs are exactly what
  `labqcd --what-if CANDIDATE --period 2026-11 --analyte KEY` prints, and
  the runs rejected after are exactly those a direct replay of the QC
  with the candidate as the config's rules rejects.
- The report writes nothing under state_dir or rrd_dir (SHA-256 before
  and after), and pdftotext finds the sections' headings.
"""
import json
import os
import random
import statistics
import subprocess

from harness import LABQCD, tree_sums
from signing import signed_ack

T0 = 1793491200  # 2026-11-01T00:00:00Z
DAY = 86400
KEY = "main/chem-01/glucose"
LAB_RULES = "1-3s/2-2s/R-4s"
CANDIDATE = "1-2.5s/2-2s/R-4s/4-1s"
MEAN = {"L1": 100.0, "L2": 250.0}
SD = {"L1": 2.0, "L2": 5.0}
BLOCK, TRAIN, FAR = 20, 200, 0.001


def write_cfg(path, base, rules, keyfile, patients=True):
    with open(path, "w") as f:
        f.write(
            "daemon:\n"
            f"  state_dir: {base}/state\n"
            f"  rrd_dir: {base}/rrd\n"
            f"  www_dir: {base}/www\n"
            "access_mqtt:\n"
            f"  gateway: {{ key_file: {keyfile} }}\n"
            "reports:\n"
            "  lab: \"Central Laboratory\"\n"
            f"  what_if: {CANDIDATE}\n"
            "instruments:\n"
            "  main/chem-01:\n"
            "    qc:\n"
            "      glucose:\n"
            f"        rules: {rules}\n"
            "        warning: 1-2s\n"
            "        action_due: 0\n"
            "        levels:\n"
            "          L1: { mean: 100, sd: 2 }\n"
            "          L2: { mean: 250, sd: 5 }\n"
            + (f"        pbrtqc: {{ method: ma, block: {BLOCK}, truncate: [50, 300], "
               f"train: {TRAIN}, false_alarm_rate: {FAR} }}\n" if patients else ""))


def patients(rng):
    """(t, value) every 20 minutes over the month."""
    out = []
    for k in range(30 * 72):
        t = T0 + 60 + k * 1200
        v = rng.gauss(140, 6)
        if T0 + 19 * DAY + 8 * 3600 <= t < T0 + 19 * DAY + 14 * 3600:
            v += 12
        if T0 + 24 * DAY + 8 * 3600 <= t < T0 + 24 * DAY + 12 * 3600:
            v -= 12
        if k % 500 == 250:
            v = 400.0  # beyond the truncation limits: left out
        out.append((t, round(v, 2)))
    return out


def qc_runs(rng):
    """(t, level, value, run) for two runs a day."""
    out = []
    for r in range(60):
        t = T0 + (r // 2) * DAY + (7 if r % 2 == 0 else 19) * 3600 + 30
        for i, lv in enumerate(("L1", "L2")):
            z = rng.gauss(0, 1)
            if r == 20 and lv == "L1":
                z = 2.7
            if r == 24 and lv == "L1":
                z = 3.5
            out.append((t + i, lv, round(MEAN[lv] + z * SD[lv], 3), "r%02d" % (r + 1)))
    return out


def moving_averages(values):
    kept, stats = [], []
    for t, v in values:
        if not 50 <= v <= 300:
            continue
        kept.append(v)
        if len(kept) >= BLOCK:
            stats.append((t, sum(kept[-BLOCK:]) / BLOCK))
    return stats


def run(args, **kw):
    return subprocess.run([LABQCD, *args], capture_output=True, text=True,
                          env=dict(os.environ, TZ="UTC"), **kw)


def final_status(lines):
    out = {}
    for x in lines:
        if x["type"] == "qc":
            out[(x["run"], "rerun_of" in x)] = x["status"]
    return out


def test_report_pbrtqc_and_what_if(env):
    rng = random.Random(2211)
    pv = patients(rng)
    qc = qc_runs(rng)
    secret = b"gw-" + os.urandom(16).hex().encode()
    keyfile = os.path.join(env.dir, "gateway.key")
    with open(keyfile, "wb") as f:
        f.write(secret + b"\n")
    os.chmod(keyfile, 0o600)

    lines = [(t, "lab/main/chem-01/patient/glucose " + json.dumps({"value": v, "t": t}))
             for t, v in pv]
    lines += [(t, f"lab/main/chem-01/qc/glucose/{lv} "
               + json.dumps({"value": v, "t": t, "run": run_id})) for t, lv, v, run_id in qc]
    # the first shift's alert acknowledged at 11:01 on Nov 20, while it
    # lasts, just after the patient result of that minute (the replay's
    # clock, which the signature's ts must be near)
    t_ack = T0 + 19 * DAY + 11 * 3600 + 60
    lines.append((t_ack, "lab/labqcd/ack " + signed_ack(
        "gateway", secret, KEY + "/pbrtqc", "patient glucose high, checked calibration",
        ts=t_ack)))
    lines.sort(key=lambda x: x[0])
    base = os.path.join(env.dir, "lab")
    os.makedirs(base)
    cfg = os.path.join(base, "labqcd.yaml")
    write_cfg(cfg, base, LAB_RULES, keyfile)
    inp = os.path.join(base, "input.txt")
    with open(inp, "w") as f:
        f.write("\n".join(x[1] for x in lines) + "\n")
    r = run(["-c", cfg, "--replay", inp], timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    records = [json.loads(l) for l in r.stdout.splitlines()]

    # ---- figures computed here ----
    stats = moving_averages(pv)
    train = [s for _, s in stats[:TRAIN]]
    z = statistics.NormalDist().inv_cdf(1 - FAR / 2)
    lo = statistics.mean(train) - z * statistics.stdev(train)
    hi = statistics.mean(train) + z * statistics.stdev(train)
    lim_recs = [x for x in records if x["type"] == "pbrtqc_limits" and x["key"] == KEY]
    assert len(lim_recs) == 1, lim_recs
    rec = lim_recs[0]
    assert abs(rec["lo"] - lo) < 1e-6 and abs(rec["hi"] - hi) < 1e-6, (rec, lo, hi)
    # crossings from inside, judged from the statistic that completed training
    crossings, side, episodes = [], 0, []
    for t, s in stats[TRAIN - 1:]:
        now = 1 if s > rec["hi"] else -1 if s < rec["lo"] else 0
        if now != 0 and now != side:
            crossings.append(t)
            episodes.append([t, None, s])
        elif now != 0:
            episodes[-1][2] = s if abs(s - (rec["hi"] + rec["lo"]) / 2) > abs(
                episodes[-1][2] - (rec["hi"] + rec["lo"]) / 2) else episodes[-1][2]
        if now == 0 and side != 0:
            episodes[-1][1] = t
        side = now
    assert len(crossings) >= 2, crossings  # the two shifts at least
    firing = [x for x in records if x["type"] == "alert" and x["key"] == KEY + "/pbrtqc"
              and x["state"] == "firing"]
    assert len(firing) == len(crossings), (firing, crossings)

    # ---- the report; nothing written to the live record ----
    sums = tree_sums(os.path.join(base, "state"), os.path.join(base, "rrd"))
    assert any(p.endswith("pbrtqc/glucose.rrd") for p in sums), sorted(sums)
    out = os.path.join(base, "out")
    r = run(["-c", cfg, "--report", "2026-11", "--out", out], timeout=600)
    assert r.returncode == 0, r.stderr
    assert tree_sums(os.path.join(base, "state"), os.path.join(base, "rrd")) == sums
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    assert rep["what_if_rules"] == ["1-2.5s", "2-2s", "R-4s", "4-1s"], rep["what_if_rules"]
    g = [a for a in rep["instruments"][0]["qc"] if a["analyte"] == "glucose"][0]

    pb = g["pbrtqc"]
    assert pb["method"] == "ma" and pb["block"] == BLOCK and pb["truncate"] == [50, 300], pb
    assert pb["limits_source"] == "learnt", pb
    assert pb["lo"] == rec["lo"] and pb["hi"] == rec["hi"], pb
    assert pb["learnt"]["mean"] == rec["mean"] and pb["learnt"]["sd"] == rec["sd"], pb
    assert pb["learnt"]["n"] == TRAIN and pb["learnt"]["false_alarm_rate"] == FAR, pb
    assert pb["learnt"]["t"] == rec["ts"], pb
    assert pb["data"] is True
    period = [s for t, s in stats if T0 < t < T0 + 30 * DAY]
    assert abs(pb["max"] - max(period)) < 1e-6 and abs(pb["min"] - min(period)) < 1e-6, pb
    assert pb["alerts_fired"] == len(crossings) == len(pb["alerts"]), pb["alerts"]
    def iso(t):
        import datetime
        return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z")
    assert [a["start"] for a in pb["alerts"]] == [x["ts"] for x in firing], pb["alerts"]
    assert [a["start"] for a in pb["alerts"]] == [iso(t) for t in crossings]
    for a, (t0, t1, peak) in zip(pb["alerts"], episodes):
        assert a["end"] == (iso(t1) if t1 else None), (a, t1)
        assert abs(a["peak"] - peak) < 1e-6, (a, peak)
    acked = [a for a in pb["alerts"] if a["acknowledged_by"]]
    assert len(acked) == 1 and acked[0]["acknowledged_by"] == "gateway", pb["alerts"]
    assert acked[0]["start"] < iso(t_ack) < acked[0]["end"], acked[0]
    assert acked[0]["comment"] == "patient glucose high, checked calibration"

    # ---- what if: --what-if's own figures for the same period ----
    wi = g["what_if"]
    audit = os.path.join(base, "state", "audit.jsonl")
    r = run(["-c", cfg, "--what-if", CANDIDATE, "--from", audit, "--period", "2026-11",
             "--analyte", KEY], timeout=300)
    assert r.returncode == 0, r.stderr
    printed = [json.loads(l) for l in r.stdout.splitlines()]
    summary = printed[-1]
    assert summary["type"] == "what_if_summary"
    for k in ("results", "unjudged", "runs", "rejected_before", "rejected_after",
              "rejection_rate_before", "rejection_rate_after", "changed",
              "corrective_actions", "caught"):
        assert wi[k] == summary[k], (k, wi[k], summary[k])
    assert [(x["run"], x["before"], x["after"], x["rules"]) for x in wi["changed_runs"]] == [
        (x["run"], x["before"], x["after"], x["rules"]) for x in printed[:-1]]
    assert wi["runs"] == 60 and wi["changed"] >= 1, wi
    assert ("r21", "warning", "reject") in [(x["run"], x["before"], x["after"])
                                             for x in wi["changed_runs"]], wi
    # and against a direct replay of the QC with the candidate as the rules
    ref = os.path.join(env.dir, "ref")
    os.makedirs(ref)
    ref_cfg = os.path.join(ref, "labqcd.yaml")
    write_cfg(ref_cfg, ref, CANDIDATE, keyfile, patients=False)
    ref_inp = os.path.join(ref, "qc.txt")
    with open(ref_inp, "w") as f:
        f.write("\n".join(x[1] for x in lines if "/qc/" in x[1]) + "\n")
    r = run(["-c", ref_cfg, "--replay", ref_inp], timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    direct = final_status(json.loads(l) for l in r.stdout.splitlines())
    before = final_status(records)
    assert wi["rejected_after"] == sum(s == "reject" for s in direct.values()), (wi, direct)
    assert wi["rejected_before"] == sum(s == "reject" for s in before.values())
    changed = {x["run"]: x["after"] for x in wi["changed_runs"]}
    for (run_id, _), s in before.items():
        assert changed.get(run_id, s) == direct[(run_id, False)], run_id

    # ---- the PDF ----
    text = subprocess.run(["pdftotext", "-layout", os.path.join(out, "main_chem-01_2026-11.pdf"),
                           "-"], capture_output=True, text=True, timeout=60).stdout
    assert "Patient-based QC (PBRTQC): glucose" in text
    assert "Limits (learnt 2026-11-" in text and "PBRTQC alerts" in text
    assert "What if: glucose under 1-2.5s/2-2s/R-4s/4-1s" in text, text[-3000:]
    assert "Runs judged: %d" % wi["runs"] in text
    assert "gateway" in text


def test_what_if_key_checked(env):
    cfg = os.path.join(env.dir, "bad.yaml")
    with open(cfg, "w") as f:
        f.write(f"daemon:\n  state_dir: {env.dir}/s\n  rrd_dir: {env.dir}/r\n"
                f"  www_dir: {env.dir}/w\nreports:\n  what_if: 1-9s\n")
    r = run(["-t", "-c", cfg], timeout=60)
    assert r.returncode != 0 and "reports.what_if" in r.stderr and "1-9s" in r.stderr, r.stderr
