"""Scenario: the monthly report an inspector reads (issue 19).

A month (November 2026, TZ=UTC) is replayed through `labqcd --replay`:
fridge-01 at one sample a minute with a critical excursion (acknowledged
with a comment), a warning-band excursion and a 5-minute excursion that
clears inside its 15-minute delay; fridge-02 at one sample every 5 minutes
with a planned maintenance period (an excursion inside it raises no alert
but its minutes count) and an excursion below its minimum; chem-01 with
two analytes x two levels, glucose L1 changing lot mid-month (targets per
lot), a rejected run (1-3s) with a disposition on the ack topic, and a
warning run. Then `labqcd --report 2026-11` and report.json is checked
against figures computed here from the same month, minute by minute:
minutes by band, min/mean/max, the mean kinetic temperature
(Ea/R = 10,000 K), n/mean/SD/CV per level and lot, runs by verdict and by
rule. pdfinfo reads every PDF (A4, embedded fonts by pdffonts) and
pdftotext finds the instrument names, the MKT and the audit head in them.

The temperature profiles change only on the hour, except on the last day
(which the RRD file still holds at 1 minute), so the figures are the same
whichever archive (1 min, 5 min, 1 h) librrd answers a day from.

Second: one edited line in the audit log, and the report says the chain is
broken on its first page and in report.json (exit 3).
"""
import hashlib
import json
import math
import os
import statistics
import subprocess

from harness import LABQCD
from signing import signed_ack, signed_qc_action

# the acknowledgements are signed (access_mqtt), by ana and by lee
SECRETS = {u: (u + "-").encode() + os.urandom(16).hex().encode() for u in ("ana", "lee")}

T0 = 1793491200  # 2026-11-01T00:00:00Z
DAY = 86400
END = T0 + 30 * DAY

CONFIG = """\
daemon:
  state_dir: {d}/state
  rrd_dir: {d}/rrd
  www_dir: {d}/www
access_mqtt:
  ana: {{ key_file: {d}/ana.key }}
  lee: {{ key_file: {d}/lee.key, may: [ack, qc-action] }}
reports:
  lab: "Central Laboratory"
instruments:
  main/fridge-01:
    channels:
      temp: {{ unit: C, min: 2, max: 8, warning_min: 3, warning_max: 7, delay: 15m }}
  main/fridge-02:
    channels:
      temp: {{ unit: C, min: 2, max: 8, delay: 15m }}
  main/chem-01:
    qc:
      glucose:
        rules: 1-3s/2-2s/R-4s
        warning: 1-2s
        levels:
          L1: [ {{ lot: A1, mean: 100, sd: 2 }}, {{ lot: B2, mean: 104, sd: 2.5 }} ]
          L2: [ {{ lot: C3, mean: 250, sd: 5 }} ]
      chol:
        rules: 1-3s/2-2s/R-4s
        warning: 1-2s
        levels:
          L1: [ {{ lot: K1, mean: 150, sd: 3 }} ]
          L2: [ {{ lot: K2, mean: 220, sd: 4 }} ]
"""


def fridge1(m):
    """Value of fridge-01 over minute m (minutes from T0; may be negative)."""
    t = T0 + m * 60
    if T0 + 4 * DAY + 3 * 3600 <= t < T0 + 4 * DAY + 5 * 3600:
        return 9.5   # Nov 5 03:00-05:00: critical excursion
    if T0 + 9 * DAY + 14 * 3600 <= t < T0 + 9 * DAY + 15 * 3600:
        return 7.5   # Nov 10 14:00-15:00: warning band
    if T0 + 29 * DAY + 10 * 3600 <= t < T0 + 29 * DAY + 10 * 3600 + 300:
        return 8.6   # Nov 30 10:00-10:05: cleared inside the delay
    return 4.0 + 0.5 * ((t // 3600) % 3)   # 4.0, 4.5, 5.0 hour by hour


def fridge2(m):
    t = T0 + m * 60
    if T0 + 11 * DAY + 9 * 3600 <= t < T0 + 11 * DAY + 10 * 3600:
        return 10.0  # Nov 12 09:00-10:00, inside maintenance: no alert
    if T0 + 19 * DAY + 3600 <= t < T0 + 19 * DAY + 3 * 3600:
        return 1.0   # Nov 20 01:00-03:00: below min
    return 5.0


def js(o):
    return json.dumps(o, separators=(",", ":"))


def qc_values():
    """(analyte, level, lot, run, t, value) for one run a day, both levels."""
    out = []
    for day in range(30):
        for ai, (an, lv) in enumerate((("glucose", (("L1", 100, 2, "A1"), ("L2", 250, 5, "C3"))),
                                       ("chol", (("L1", 150, 3, "K1"), ("L2", 220, 4, "K2"))))):
            run = "%s-%02d" % (an[0], day + 1)
            for li, (lev, mean, sd, lot) in enumerate(lv):
                if an == "glucose" and lev == "L1" and day >= 15:
                    mean, sd, lot = 104, 2.5, "B2"
                z = round(1.4 * math.sin(day * 1.7 + li + 3 * ai), 3)
                if an == "glucose" and lev == "L1" and day == 7:
                    z = 3.5   # 1-3s: the run is rejected
                if an == "chol" and lev == "L2" and day == 20:
                    z = 2.3   # 1-2s: a warning run
                t = T0 + day * DAY + 7 * 3600 + ai * 600 + li * 60
                out.append((an, lev, lot, run, t, round(mean + z * sd, 4)))
    return out


def replay_input():
    lines = []
    for m in range(-120, 30 * 1440):   # from Oct 31 22:00
        t = T0 + m * 60 + 60            # the sample closing minute m
        lines.append((t, "lab/main/fridge-01/temp " + js({"value": fridge1(m), "t": t})))
        if m % 5 == 0:
            t5 = T0 + m * 60 + 300
            lines.append((t5, "lab/main/fridge-02/temp " + js({"value": fridge2(m), "t": t5})))
    for an, lev, lot, run, t, v in qc_values():
        lines.append((t, "lab/main/chem-01/qc/%s/%s " % (an, lev) +
                      js({"value": v, "t": t, "run": run, "lot": lot})))
    ev = "lab/main/fridge-02/event "
    lines.append((T0 + 11 * DAY + 8 * 3600, ev + js({"event": "maintenance_start", "by": "bio",
                                                      "t": T0 + 11 * DAY + 8 * 3600})))
    lines.append((T0 + 11 * DAY + 12 * 3600, ev + js({"event": "maintenance_end", "by": "bio",
                                                       "t": T0 + 11 * DAY + 12 * 3600})))
    lines.sort(key=lambda x: x[0])
    out = [x[1] for x in lines]
    # the acknowledgement of fridge-01's excursion, while it lasts (04:00)
    i = next(k for k, (t, _) in enumerate(lines) if t > T0 + 4 * DAY + 4 * 3600)
    out.insert(i, "lab/labqcd/ack " + signed_ack("ana", SECRETS["ana"], "main/fridge-01/temp/range",
                                                 "door left ajar, closed it",
                                                 ts=T0 + 4 * DAY + 4 * 3600))
    # the disposition of the rejected run, the next morning
    i = next(k for k, (t, _) in enumerate(lines) if t > T0 + 8 * DAY + 6 * 3600)
    out.insert(i, "lab/labqcd/ack " + signed_qc_action("lee", SECRETS["lee"], {
        "key": "main/chem-01/glucose", "run": "g-08",
        "action": "recalibrated, reran", "reviewed": True}, T0 + 8 * DAY + 6 * 3600))
    return out


def expected_channel(fn, step_min):
    """Figures of a channel from its profile over the period, by minute."""
    vals = []
    for m in range(0, 30 * 1440):
        block = m - (m % step_min)           # a sample every step_min minutes
        vals.append(fn(block))
    band = {"in": 0, "warning": 0, "out": 0}
    for v in vals:
        if v > 8 or v < 2:
            band["out"] += 1
        elif v > 7 or v < 3:
            band["warning"] += 1
        else:
            band["in"] += 1
    s = sum(math.exp(-10000.0 / (v + 273.15)) for v in vals) / len(vals)
    mkt = 10000.0 / -math.log(s) - 273.15
    return {"min": min(vals), "max": max(vals), "mean": sum(vals) / len(vals), "mkt": mkt,
            "band": band}


def run_report(cfg, out, extra=()):
    return subprocess.run([LABQCD, "-c", cfg, "--report", "2026-11", "--out", out, *extra],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, TZ="UTC"))


def pdftext(path):
    r = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def close(a, b, tol=1e-6):
    return a is not None and abs(a - b) <= tol * max(1.0, abs(b))


def test_report_month(env):
    d = os.path.join(env.dir, "rep")
    os.makedirs(d)
    cfg = os.path.join(d, "labqcd.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(d=d))
    for user, secret in SECRETS.items():
        with open(os.path.join(d, user + ".key"), "wb") as f:
            f.write(secret + b"\n")
        os.chmod(os.path.join(d, user + ".key"), 0o600)
    inp = os.path.join(d, "input.txt")
    with open(inp, "w") as f:
        f.write("\n".join(replay_input()) + "\n")
    r = subprocess.run([LABQCD, "-c", cfg, "--replay", inp], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=900,
                       env=dict(os.environ, TZ="UTC"))
    assert r.returncode == 0, r.stderr[-3000:]

    out = os.path.join(d, "out")
    r = run_report(cfg, out)
    assert r.returncode == 0, r.stderr
    names = sorted(os.listdir(out))
    assert names == ["main_2026-11.pdf", "main_chem-01_2026-11.pdf",
                     "main_fridge-01_2026-11.pdf", "main_fridge-02_2026-11.pdf",
                     "report.json"], names
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    assert rep["lab"] == "Central Laboratory" and rep["period"] == "2026-11"
    ins = {i["instrument"]: i for i in rep["instruments"]}

    # ---- equipment: figures computed here, minute by minute ----
    for name, fn, step in (("fridge-01", fridge1, 1), ("fridge-02", fridge2, 5)):
        want = expected_channel(fn, step)
        ch = ins[name]["channels"][0]
        assert ch["channel"] == "temp"
        assert ch["minutes_out_of_range"] == want["band"]["out"], (name, ch)
        assert ch["minutes_in_warning"] == want["band"]["warning"], (name, ch)
        assert ch["minutes_in_range"] == want["band"]["in"], (name, ch)
        assert close(ch["min"], want["min"]) and close(ch["max"], want["max"]), (name, ch)
        assert close(ch["mean"], want["mean"]), (name, ch["mean"], want["mean"])
        assert close(ch["mkt"], want["mkt"], 1e-9), (name, ch["mkt"], want["mkt"])
        assert len(ch["days"]) == 30
    f1 = ins["fridge-01"]["channels"][0]
    assert f1["minutes_out_of_range"] == 125 and f1["minutes_in_warning"] == 60
    exc = f1["excursions"]
    assert [(e["start"], e["fired"], e["cleared"], e["severity"]) for e in exc] == [
        ("2026-11-05T03:01:00.000Z", True, False, "critical"),
        ("2026-11-10T14:01:00.000Z", True, False, "warning"),
        ("2026-11-30T10:01:00.000Z", False, True, "critical")], exc
    assert exc[0]["end"] == "2026-11-05T05:01:00.000Z" and exc[0]["peak"] == 9.5, exc[0]
    assert exc[0]["acknowledged_by"] == "ana", exc[0]
    assert exc[0]["comment"] == "door left ajar, closed it", exc[0]
    assert exc[0]["acknowledged_at"] == "2026-11-05T04:00:00.000Z", exc[0]
    assert exc[1]["peak"] == 7.5 and exc[1]["acknowledged_by"] is None, exc[1]
    assert exc[2]["peak"] == 8.6, exc[2]
    f2 = ins["fridge-02"]
    # the spike inside maintenance counts as minutes, raises no excursion
    assert f2["channels"][0]["minutes_out_of_range"] == 60 + 120
    assert [e["start"] for e in f2["channels"][0]["excursions"]] == ["2026-11-20T01:05:00.000Z"]
    assert f2["maintenance"]["periods"] == [{"start": "2026-11-12T08:00:00.000Z",
                                             "end": "2026-11-12T12:00:00.000Z"}]

    # ---- QC: per level and lot, over the runs not rejected ----
    qc = {a["analyte"]: a for a in ins["chem-01"]["qc"]}
    vals = {}
    for an, lev, lot, run, t, v in qc_values():
        if run == "g-08":
            continue  # the rejected run
        vals.setdefault((an, lev, lot), []).append(v)
    assert len(vals) == 5  # glucose L1 has two lots
    for (an, lev, lot), vs in vals.items():
        row = [x for x in qc[an]["levels"] if x["level"] == lev and x["lot"] == lot]
        assert len(row) == 1, (an, lev, lot, qc[an]["levels"])
        row = row[0]
        mean, sd = statistics.mean(vs), statistics.stdev(vs)
        assert row["n"] == len(vs), row
        assert close(row["mean"], mean) and close(row["sd"], sd), (row, mean, sd)
        assert close(row["cv"], 100 * sd / mean), row
        target = {"A1": 100, "B2": 104, "C3": 250, "K1": 150, "K2": 220}[lot]
        assert close(row["target_mean"], target) and close(row["bias"], 100 * (mean - target) / target)
    g1a = [x for x in qc["glucose"]["levels"] if x["lot"] == "A1"][0]
    assert g1a["n"] == 14 and g1a["n_all"] == 15, g1a
    assert qc["glucose"]["runs"] == {"accept": 29, "warning": 0, "reject": 1, "other": 0}
    assert qc["glucose"]["rules"] == {"1-2s": 1, "1-3s": 1}, qc["glucose"]["rules"]
    assert qc["chol"]["runs"] == {"accept": 29, "warning": 1, "reject": 0, "other": 0}
    assert qc["chol"]["rules"] == {"1-2s": 1}, qc["chol"]["rules"]
    rej = qc["glucose"]["rejected_runs"]
    assert len(rej) == 1 and rej[0]["run"] == "g-08" and rej[0]["by"] == "lee", rej
    assert rej[0]["action"] == "recalibrated, reran" and rej[0]["reviewed"] is True
    assert qc["glucose"]["missing_days"] == []

    # ---- the record: head = SHA-256 of the period's last line ----
    with open(os.path.join(d, "state", "audit.jsonl"), "rb") as f:
        lines = f.read().split(b"\n")[:-1]
    last = max(i for i, l in enumerate(lines) if json.loads(l)["ts"] < "2026-12-01T00:00:00")
    head = hashlib.sha256(lines[last]).hexdigest()
    assert rep["audit"]["head"] == head and rep["audit"]["chain"] == "ok", rep["audit"]
    if last + 1 < len(lines):
        assert json.loads(lines[last + 1])["prev"] == head

    # ---- the PDFs ----
    for n in names[:-1]:
        p = os.path.join(out, n)
        info = subprocess.run(["pdfinfo", p], capture_output=True, text=True, timeout=60)
        assert info.returncode == 0, info.stderr
        assert "A4" in info.stdout, info.stdout
        fonts = subprocess.run(["pdffonts", p], capture_output=True, text=True, timeout=60)
        rows = fonts.stdout.splitlines()[2:]
        assert rows and all(" yes " in r for r in rows), fonts.stdout  # embedded
        text = pdftext(p)
        assert "Central Laboratory" in text and "2026-11" in text, n
        assert head in text, n
        assert "page 1 of" in text, n
    t1 = pdftext(os.path.join(out, "main_fridge-01_2026-11.pdf"))
    assert "main/fridge-01" in t1
    assert "%.2f" % f1["mkt"] in t1, f1["mkt"]
    assert "door left ajar" in t1
    tq = pdftext(os.path.join(out, "main_chem-01_2026-11.pdf"))
    assert "main/chem-01" in tq and "recalibrated, reran" in tq and "Levey-Jennings" in tq
    ts = pdftext(os.path.join(out, "main_2026-11.pdf"))
    assert "fridge-01" in ts and "fridge-02" in ts and "chem-01" in ts

    # one instrument only
    only = os.path.join(d, "only")
    r = run_report(cfg, only, ("--instrument", "main/fridge-02"))
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(only)) == ["main_2026-11.pdf", "main_fridge-02_2026-11.pdf",
                                        "report.json"]
    # bad arguments: a clear error, nothing written
    r = run_report(cfg, os.path.join(d, "bad"), ("--instrument", "main/nothing"))
    assert r.returncode == 1 and "main/nothing: not in the config" in r.stderr, r.stderr
    r = subprocess.run([LABQCD, "-c", cfg, "--report", "2026-13", "--out", out],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not a period" in r.stderr, r.stderr

    # ---- an edited line: the chain is broken, the report says so ----
    lines[5] = lines[5].replace(b'"value":', b'"value":1', 1)
    with open(os.path.join(d, "state", "audit.jsonl"), "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    broken = os.path.join(d, "broken")
    r = run_report(cfg, broken)
    assert r.returncode == 3, r.stderr
    assert "BROKEN" in r.stderr
    with open(os.path.join(broken, "report.json")) as f:
        rep = json.load(f)
    assert rep["audit"]["chain"] == "broken", rep["audit"]
    assert "line 7" in rep["audit"]["chain_detail"], rep["audit"]
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1",
                            os.path.join(broken, "main_fridge-01_2026-11.pdf"), "-"],
                           capture_output=True, text=True, timeout=60).stdout
    assert "CHAIN IS BROKEN" in first, first[:500]
