"""Scenario: Westgard QC through the real daemon (issue 4, acceptance 3).

1. One rich QC input (generated here, every result with its own "t") goes
   through `labqcd --replay` and, published in the same order at QoS 1 by
   `labsim --publish`, through a real mosquitto to `labqcd -f`. The two
   give the same records, `ts` included (the input carries the time);
   only `prev` (the audit chain) and `seq` (journal numbers) may differ.
   The input covers: 2 analytes with 2 and 3 levels, runs with explicit
   ids and runs grouped by run_window without ids, a 1-2s warning, a 1-3s
   reject, an R-4s within a run, a 2-2s across runs, a 2-2s across
   levels within a run, a 4-1s across levels and runs, a lot change that
   restarts the history, a level without targets going through its
   baseline (20 results, then a `target` record), rejected runs followed
   by accepted runs (the qc alert firing, then resolved), and `rules:
   auto` with tea (a `qc_rules` record, and its rule set in force).
   The records are checked one by one, and every QC value is in its
   level's RRD file.
2. A 2-2s whose two runs straddle a SIGTERM and a restart is still
   caught: the Westgard history survives in the saved state.
"""
import contextlib
import json
import os
import subprocess

from harness import BUILD, LABQCD, rrd_fetch, rrd_lastupdate, wait_for

LABSIM = os.path.join(BUILD, "labsim")
T0 = 1763884800  # 2025-11-23T08:00:00Z, a minute boundary

QC_CONFIG = """\
instruments:
  main/chem-01:
    qc:
      glucose:
        rules: 1-3s/2-2s/R-4s/4-1s/10x
        warning: 1-2s
        action_due: 0   # off: replay's clock and the wall clock differ (test_qc_record has it)
        levels:   # targets apply to their own lot (issue 17)
          L1: [{ lot: A, mean: 100, sd: 2 }, { lot: B, mean: 100, sd: 2 }]
          L2: [{ lot: A, mean: 250, sd: 5 }, { lot: B, mean: 250, sd: 5 }]
      potassium:
        rules: 1-3s/2-2s/R-4s/4-1s
        run_window: 10m
        action_due: 0
        levels:
          L1: { lot: K1, mean: 3.0, sd: 0.05 }
          L2: { lot: K1, mean: 5.0, sd: 0.1 }
          L3:
  main/hem-01:
    qc:
      hgb:
        rules: auto
        tea: 7%
        action_due: 0
        levels:
          low: { mean: 8.0, sd: 0.1, bias: 1.0% }
          high: { mean: 17.0, sd: 0.17, bias: 1.5% }
"""

GLUCOSE = {"L1": (100.0, 2.0), "L2": (250.0, 5.0)}
POTASSIUM = {"L1": (3.0, 0.05), "L2": (5.0, 0.1)}
HGB = {"low": (8.0, 0.1), "high": (17.0, 0.17)}


@contextlib.contextmanager
def utc():
    """labqcd processes started inside run with TZ=UTC (the harness passes
    its own environment on)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old


def qc_line(inst, analyte, level, value, t, run=None, lot=None):
    p = {"value": round(value, 6), "t": t}
    if run is not None:
        p["run"] = run
    if lot is not None:
        p["lot"] = lot
    return f"lab/main/{inst}/qc/{analyte}/{level} " + json.dumps(p, separators=(",", ":"))


def qc_input():
    """(lines, expectations). Every result is on a minute boundary, so each
    is its own row of the level's RRD file."""
    lines = []
    expect = {}   # name -> the (analyte, level, t) of a result worth checking
    t = T0

    # --- glucose: explicit run ids, 2 levels, lot A then B -----------------
    g_runs = [
        ("r01", 0.5, -0.4, "A"),    # accept
        ("r02", 2.2, 0.1, "A"),     # 1-2s: warning
        ("r03", 3.5, 0.0, "A"),     # 1-3s: reject, alert fires
        ("r04", 0.2, -0.3, "A"),    # accepted: alert resolved
        ("r05", 2.5, -2.5, "A"),    # R-4s within the run (and 1-2s): reject
        ("r06", -0.3, 0.4, "A"),    # accepted: resolved
        ("r07", 2.3, 0.0, "A"),     # 1-2s warning
        ("r08", 2.4, -0.2, "A"),    # 2-2s across runs (L1): reject
        ("r09", -0.5, -0.6, "A"),   # accepted: resolved
        ("r10", 1.2, 1.3, "A"),     # nothing yet
        ("r11", 1.4, 1.1, "A"),     # 4-1s across levels and runs: reject
        ("r12", -0.2, 0.3, "A"),    # accepted: resolved
        ("r13", 2.2, -0.1, "A"),    # 1-2s warning
        ("r14", 2.3, 0.2, "B"),     # new lot: history restarted, only 1-2s
        ("r15", 0.1, -0.1, "B"),    # accept
    ]
    # --- potassium: no run ids (run_window 10m), 3 levels, L3 baseline -----
    import random
    rnd = random.Random(4)
    l3_base = [4.0 + rnd.gauss(0, 0.1) for _ in range(20)]
    k_runs = []
    for i in range(20):
        k_runs.append((rnd.uniform(-0.9, 0.9), rnd.uniform(-0.9, 0.9), l3_base[i]))
    mean3 = sum(l3_base) / 20
    k_runs.append((0.3, -0.2, mean3))          # run 21: L3 judged now
    k_runs.append((2.5, 2.6, mean3))           # run 22: 2-2s across levels within the run
    k_runs.append((-0.4, 0.1, mean3))          # run 23: accepted, resolved
    # --- hgb: rules auto, sigma 4.8: 1-3s/2-2s/R-4s/4-1s, N=4 (2 results
    # per level a run), R=1: 4-1s within one run (issue 17: N and R applied)
    h_runs = [(0.2, -0.1, 0.3, 0.0), (1.3, 0.5, 1.2, 1.1),  # r2: 3 of 4: no
              (1.1, 1.2, 1.4, 1.3), (0.0, 0.1, -0.2, 0.3)]  # 4-1s in run 3

    # Interleave the three analytes in time: every 30 minutes one run each.
    n = max(len(g_runs), len(k_runs), len(h_runs))
    for i in range(n):
        base = T0 + i * 1800
        if i < len(g_runs):
            run, z1, z2, lot = g_runs[i]
            for k, (lv, z) in enumerate((("L1", z1), ("L2", z2))):
                m, sd = GLUCOSE[lv]
                tt = base + 60 * k
                lines.append(qc_line("chem-01", "glucose", lv, m + z * sd, tt, run, lot))
                expect[f"g.{run}.{lv}"] = ("glucose", lv, tt, m + z * sd)
        if i < len(k_runs):
            z1, z2, v3 = k_runs[i]
            for k, (lv, v) in enumerate((("L1", POTASSIUM["L1"][0] + z1 * POTASSIUM["L1"][1]),
                                         ("L2", POTASSIUM["L2"][0] + z2 * POTASSIUM["L2"][1]),
                                         ("L3", v3))):
                tt = base + 600 + 60 * k   # 3 results within 2 minutes: one run
                lines.append(qc_line("chem-01", "potassium", lv, v, tt, lot="K1"))
                expect[f"k.{i + 1}.{lv}"] = ("potassium", lv, tt, round(v, 6))
        if i < len(h_runs):
            for k, (lv, z) in enumerate(zip(("low", "low", "high", "high"), h_runs[i])):
                m, sd = HGB[lv]
                tt = base + 1200 + 60 * k
                lines.append(qc_line("hem-01", "hgb", lv, m + z * sd, tt, f"h{i + 1}"))
                expect[f"h.{i + 1}.{lv}{'' if k % 2 == 0 else '2'}"] = \
                    ("hgb", lv, tt, round(m + z * sd, 6))
    return lines, expect


def replay_config(env, name):
    d = os.path.join(env.dir, name)
    os.makedirs(d, exist_ok=True)
    cfg = os.path.join(d, "labqcd.yaml")
    with open(cfg, "w") as f:
        f.write("daemon:\n"
                f"  state_dir: {d}/state\n"
                f"  rrd_dir: {d}/rrd\n"
                f"  www_dir: {d}/www\n"
                "mqtt:\n  prefix: lab\n" + QC_CONFIG)
    return cfg, d


def replay(env, lines, name="replay"):
    cfg, d = replay_config(env, name)
    inp = os.path.join(d, "input.txt")
    with open(inp, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([LABQCD, "-c", cfg, "--replay", inp], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, TZ="UTC"))
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()], d


def strip(rec):
    return {k: v for k, v in rec.items() if k not in ("prev", "seq")}


def iso(t):
    import datetime
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")


def find_qc(records, analyte, level, t):
    key = "main/%s/%s" % ("hem-01" if analyte == "hgb" else "chem-01", analyte)
    hits = [r for r in records if r["type"] == "qc" and r["key"] == key and
            r["level"] == level and r["ts"] == iso(t)]
    assert len(hits) == 1, (analyte, level, t, hits)
    return hits[0]


def check_records(records, expect):
    def qc(name):
        a, lv, t, _ = expect[name]
        return find_qc(records, a, lv, t)

    def alerts(key):
        return [(r["state"], r["ts"]) for r in records if r["type"] == "alert" and r["key"] == key]

    assert not [r for r in records if r["type"] == "dropped"], records
    # glucose
    assert qc("g.r01.L2")["status"] == "accept" and qc("g.r01.L2")["rules"] == []
    r = qc("g.r02.L1")
    assert (r["status"], r["rules"], r["z"], r["run"], r["lot"]) == \
        ("warning", ["1-2s"], 2.2, "r02", "A"), r
    r = qc("g.r03.L1")
    assert r["status"] == "reject" and "1-3s" in r["rules"] and r["z"] == 3.5, r
    r = qc("g.r03.L2")   # a later level of a rejected run: still rejected
    assert r["status"] == "reject" and "1-3s" in r["rules"] and r["z"] == 0, r
    r = qc("g.r05.L2")
    assert r["status"] == "reject" and "R-4s" in r["rules"], r
    assert {"level": "L1", "run": "r05"} in r["involved"], r
    assert {"level": "L2", "run": "r05"} in r["involved"], r
    r = qc("g.r07.L1")
    assert (r["status"], r["rules"]) == ("warning", ["1-2s"]), r
    r = qc("g.r08.L1")
    assert r["status"] == "reject" and "2-2s" in r["rules"], r
    assert {"level": "L1", "run": "r07"} in r["involved"], r
    r = qc("g.r10.L2")
    assert r["status"] == "accept", r
    r = qc("g.r11.L1")
    assert r["status"] == "accept", r   # three results beyond +1 SD: not yet
    r = qc("g.r11.L2")
    assert r["status"] == "reject" and r["rules"] == ["4-1s"], r
    assert {"level": "L1", "run": "r10"} in r["involved"], r
    r = qc("g.r13.L1")
    assert (r["status"], r["rules"]) == ("warning", ["1-2s"]), r
    r = qc("g.r14.L1")   # 2-2s with r13 were lot B's history not its own
    assert (r["status"], r["rules"], r["lot"]) == ("warning", ["1-2s"], "B"), r
    assert qc("g.r15.L2")["status"] == "accept"
    # the glucose qc alert: fired by each rejected run, resolved by the next accepted one
    fired_resolved = [("firing", iso(expect[n][2])) if s == "f" else
                      ("resolved", iso(expect[n][2])) for s, n in
                      (("f", "g.r03.L1"), ("r", "g.r04.L2"), ("f", "g.r05.L2"),
                       ("r", "g.r06.L2"), ("f", "g.r08.L1"), ("r", "g.r09.L2"),
                       ("f", "g.r11.L2"), ("r", "g.r12.L2"))]
    assert alerts("main/chem-01/glucose/qc") == fired_resolved, alerts("main/chem-01/glucose/qc")
    a = [r for r in records if r["type"] == "alert" and r["key"] == "main/chem-01/glucose/qc"]
    assert a[0]["severity"] == "critical" and "1-3s" in a[0]["summary"], a[0]
    assert "R-4s" in a[2]["summary"] and "2-2s" in a[4]["summary"], a
    # potassium: runs made from run_window, L3 through its baseline
    runs = set()
    for i in range(1, 24):
        ids = {qc(f"k.{i}.{lv}")["run"] for lv in ("L1", "L2", "L3")}
        assert len(ids) == 1, (i, ids)
        runs |= ids
    assert len(runs) == 23, runs
    assert qc("k.1.L1")["run"] == "t%d" % expect["k.1.L1"][2], qc("k.1.L1")
    for i in range(1, 20):
        r = qc(f"k.{i}.L3")
        assert r["status"] == "baseline" and r["z"] is None, r
    targets = [r for r in records if r["type"] == "target"]
    assert len(targets) == 1, targets
    tg = targets[0]
    vals = [expect[f"k.{i}.L3"][3] for i in range(1, 21)]
    mean = sum(vals) / 20
    sd = (sum((v - mean) ** 2 for v in vals) / 19) ** 0.5
    assert tg["key"] == "main/chem-01/potassium/L3" and tg["source"] == "baseline", tg
    assert abs(tg["mean"] - mean) < 1e-9 and abs(tg["sd"] - sd) < 1e-9, (tg, mean, sd)
    assert tg["ts"] == iso(expect["k.20.L3"][2]), tg
    r = qc("k.21.L3")
    assert r["status"] == "accept" and r["z"] is not None and abs(r["z"]) < 0.01, r
    r = qc("k.22.L2")
    assert r["status"] == "reject" and "2-2s" in r["rules"], r
    assert {"level": "L1", "run": r["run"]} in r["involved"], r
    assert alerts("main/chem-01/potassium/qc") == [
        ("firing", iso(expect["k.22.L2"][2])), ("resolved", iso(expect["k.23.L3"][2]))]
    # hgb: rules auto
    qr = [r for r in records if r["type"] == "qc_rules"]
    assert len(qr) == 1, qr
    assert qr[0]["key"] == "main/hem-01/hgb" and qr[0]["sigma"] == 4.8, qr[0]
    assert qr[0]["rules"] == ["1-3s", "2-2s", "R-4s", "4-1s"], qr[0]
    assert (qr[0]["n"], qr[0]["replicates"], qr[0]["runs"]) == (4, 2, 1), qr[0]
    assert qr[0]["bias"] == 1.0 and "bias_note" not in qr[0], qr[0]
    assert qr[0]["ts"] == iso(expect["h.1.low"][2]), qr[0]
    assert qc("h.2.high2")["status"] == "accept"   # 4-1s within the run only
    r = qc("h.3.high2")
    assert r["status"] == "reject" and r["rules"] == ["4-1s"], r
    assert alerts("main/hem-01/hgb/qc") == [
        ("firing", iso(expect["h.3.high2"][2])), ("resolved", iso(expect["h.4.high2"][2]))]
    # every result has its record, once
    assert len([r for r in records if r["type"] == "qc"]) == len(expect)


def check_rrd(rrd_dir, expect):
    last = {}
    for name, (analyte, lv, t, v) in expect.items():
        inst = "hem-01" if analyte == "hgb" else "chem-01"
        path = os.path.join(rrd_dir, "main", inst, "qc", analyte, lv + ".rrd")
        rows = rrd_fetch(path, t - 60, t)
        assert t in rows and abs(rows[t] - v) < 1e-6 * max(1, abs(v)), (name, path, rows.get(t), v)
        if t > last.get(path, (0, 0))[0]:
            last[path] = (t, v)
    for path, (t, v) in last.items():
        lt, lv_ = rrd_lastupdate(path)
        assert lt == t and abs(lv_ - v) < 1e-6 * max(1, abs(v)), (path, lt, lv_, t, v)


def test_qc_replay_and_mqtt_give_the_same_records(env):
    lines, expect = qc_input()
    records, rdir = replay(env, lines)
    check_records(records, expect)
    check_rrd(os.path.join(rdir, "rrd"), expect)

    broker = env.broker()
    with utc():
        d = env.labqcd(broker.port, config_body=QC_CONFIG)
    inp = os.path.join(env.dir, "publish.txt")
    with open(inp, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([LABSIM, "-p", str(broker.port), "--publish", inp], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: len([x for x in d.audit() if x["type"] == "qc"]) >= len(expect), 60, 0.2,
             "every QC result in the audit log")
    assert d.stop() == 0, d.log()
    live = d.audit()
    assert [strip(x) for x in live] == [strip(x) for x in records], \
        "\n".join(json.dumps(strip(x)) for x in live[:5])
    assert all("seq" in x for x in live), live[0]
    check_rrd(d.rrd, expect)


def test_qc_2_2s_across_a_restart(env):
    broker = env.broker()
    with utc():
        d = env.labqcd(broker.port, config_body=QC_CONFIG)
    from harness import publish_lines
    t = T0
    publish_lines(broker.port, "lab/main/chem-01/qc/glucose/L1",
                  [json.dumps({"value": 104.6, "t": t, "run": "a1", "lot": "A"})])
    publish_lines(broker.port, "lab/main/chem-01/qc/glucose/L2",
                  [json.dumps({"value": 250.0, "t": t + 60, "run": "a1", "lot": "A"})])
    wait_for(lambda: len([x for x in d.audit() if x["type"] == "qc"]) >= 2, 30, 0.1,
             "the first run's records")
    assert d.stop() == 0, d.log()
    with utc():
        d.start()
    publish_lines(broker.port, "lab/main/chem-01/qc/glucose/L1",
                  [json.dumps({"value": 104.8, "t": t + 3600, "run": "a2", "lot": "A"})])
    publish_lines(broker.port, "lab/main/chem-01/qc/glucose/L2",
                  [json.dumps({"value": 249.0, "t": t + 3660, "run": "a2", "lot": "A"})])
    wait_for(lambda: len([x for x in d.audit() if x["type"] == "qc"]) >= 4, 30, 0.1,
             "the second run's records")
    assert d.stop() == 0, d.log()
    recs = d.audit()
    qcs = [x for x in recs if x["type"] == "qc"]
    assert [(x["run"], x["level"], x["status"]) for x in qcs] == [
        ("a1", "L1", "warning"), ("a1", "L2", "warning"),
        ("a2", "L1", "reject"), ("a2", "L2", "reject")], qcs
    assert "2-2s" in qcs[2]["rules"], qcs[2]
    assert {"level": "L1", "run": "a1"} in qcs[2]["involved"], qcs[2]
    fired = [x for x in recs if x["type"] == "alert" and x["key"] == "main/chem-01/glucose/qc"]
    assert [x["state"] for x in fired] == ["firing"], fired
    assert fired[0]["ts"] == iso(t + 3600), fired[0]
    r = subprocess.run([os.path.join(BUILD, "labqcctl"), "verify-audit",
                        os.path.join(d.state, "audit.jsonl")], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
