"""Scenario: "what if" on the lab's own record, and the PBRTQC design
(issue 22, acceptance 3).

1. A QC record is made by `labqcd --replay` with the lab's rule set
   (1-3s/2-2s/R-4s/4-1s/10x, warning 1-2s) from 150 runs of 2 levels
   drawn from N(target, SD) with a fixed seed, plus a shift the lab
   missed at first: L1 at +2.7 SD in run r120 (a 1-2s warning only),
   then at +3.5 SD in r123 (1-3s: rejected), for which a corrective
   action is recorded on the ack topic. A stricter candidate,
   1-2.5s/2-2s/R-4s/4-1s/8x, goes through `--what-if` on that record.
   The same input replayed directly with the candidate as the config's
   rules is the reference: the runs --what-if says the candidate rejects
   (rejected before and not changed, or changed to reject) are exactly
   the runs the direct replay rejects, and the other changed runs are
   exactly those the direct replay does not reject. The corrective
   action is reported caught, as many runs earlier as the direct replay's
   first rejection after the record's previous rejected run. Every file
   under state_dir and rrd_dir has the same SHA-256 before and after
   --what-if (and --format table), which writes nothing.
2. `--pbrtqc-design` on a capture of 3,000 patient results gives, per
   block, its limits, a false alarm rate and an MNPed for each bias; a
   larger bias is found in no more results than a smaller one, every
   bias is detected in most trials, and results of another analyte in
   the capture are not counted.
"""
import json
import os
import random
import subprocess

from harness import LABQCD, tree_sums
from signing import signed_qc_action

T0 = 1800000000
MEAN = {"L1": 100.0, "L2": 250.0}
SD = {"L1": 2.0, "L2": 5.0}
LAB_RULES = "1-3s/2-2s/R-4s/4-1s/10x"
CANDIDATE = "1-2.5s/2-2s/R-4s/4-1s/8x"


SECRET = b"ana-" + os.urandom(16).hex().encode()


def write_cfg(path, base, rules):
    keyfile = os.path.join(base, "ana.key")
    with open(keyfile, "wb") as f:
        f.write(SECRET + b"\n")
    os.chmod(keyfile, 0o600)
    with open(path, "w") as f:
        f.write(
            "daemon:\n"
            f"  state_dir: {base}/state\n"
            f"  rrd_dir: {base}/rrd\n"
            f"  www_dir: {base}/www\n"
            "access_mqtt:\n"
            f"  ana: {{ key_file: {keyfile}, may: [ack, qc-action] }}\n"
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
            "        pbrtqc: { method: ma, block: 20, truncate: [50, 300], train: 500, false_alarm_rate: 0.01 }\n"
        )


def qc_input(rng):
    lines = []
    for r in range(1, 151):
        t = T0 + r * 3600
        for i, lv in enumerate(("L1", "L2")):
            z = rng.gauss(0, 1)
            if r == 120 and lv == "L1":
                z = 2.7
            if r == 123 and lv == "L1":
                z = 3.5
            v = round(MEAN[lv] + z * SD[lv], 3)
            lines.append(f"lab/main/chem-01/qc/glucose/{lv} "
                         + json.dumps({"value": v, "t": t + i, "run": f"r{r}"}))
        if r == 123:
            # signed by ana (access_mqtt), at the replay's clock
            lines.append("lab/labqcd/ack " + signed_qc_action("ana", SECRET, {
                "key": "main/chem-01/glucose", "run": "r123",
                "action": "recalibrated, reran"}, t + 1))
    return lines


def replay(cfg, inp):
    r = subprocess.run([LABQCD, "-c", cfg, "--replay", inp], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines()]


def final_status(records):
    """run -> the run's final status in the record (its last record)."""
    out = {}
    for x in records:
        if x["type"] == "qc":
            out[(x["run"], "rerun_of" in x)] = x["status"]
    return out


def test_what_if_matches_direct_replay_and_writes_nothing(env):
    rng = random.Random(22)
    inp = os.path.join(env.dir, "qc.txt")
    with open(inp, "w") as f:
        f.write("\n".join(qc_input(rng)) + "\n")

    lab = os.path.join(env.dir, "lab")
    os.makedirs(lab)
    lab_cfg = os.path.join(lab, "labqcd.yaml")
    write_cfg(lab_cfg, lab, LAB_RULES)
    lab_recs = replay(lab_cfg, inp)
    before = final_status(lab_recs)
    assert before[("r123", False)] == "reject" and before[("r120", False)] == "warning"
    assert any(x["type"] == "qc_action" and x["run"] == "r123" for x in lab_recs)

    ref = os.path.join(env.dir, "ref")
    os.makedirs(ref)
    ref_cfg = os.path.join(ref, "labqcd.yaml")
    write_cfg(ref_cfg, ref, CANDIDATE)
    direct = final_status(replay(ref_cfg, inp))
    direct_rejected = {k for k, s in direct.items() if s == "reject"}

    audit = os.path.join(lab, "state", "audit.jsonl")
    sums = tree_sums(os.path.join(lab, "state"), os.path.join(lab, "rrd"))
    assert any(p.endswith(".rrd") for p in sums) and any(p.endswith("state.json") for p in sums)

    r = subprocess.run([LABQCD, "-c", lab_cfg, "--what-if", CANDIDATE, "--from", audit],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = [json.loads(l) for l in r.stdout.splitlines()]
    changes = [x for x in out if x["type"] == "what_if"]
    summary = out[-1]
    assert summary["type"] == "what_if_summary" and len(out) == len(changes) + 1
    changed = {(x["run"], "rerun_of" in x): x for x in changes}
    for x in changes:
        assert x["key"] == "main/chem-01/glucose"
        assert x["before"] == before[(x["run"], "rerun_of" in x)], x
    after_rejected = {k for k, s in before.items() if s == "reject" and k not in changed}
    after_rejected |= {k for k, x in changed.items() if x["after"] == "reject"}
    assert after_rejected == direct_rejected, (sorted(after_rejected ^ direct_rejected))
    # and every other change is to what the direct replay says
    for k, x in changed.items():
        assert x["after"] == direct[k], (k, x, direct[k])
    assert ("r120", False) in changed and "1-2.5s" in changed[("r120", False)]["rules"]

    runs = len(before)
    assert summary["runs"] == runs
    assert summary["rejected_before"] == sum(s == "reject" for s in before.values())
    assert summary["rejected_after"] == len(direct_rejected)
    assert abs(summary["rejection_rate_after"] - len(direct_rejected) / runs) < 1e-6
    # the corrective action: caught, as many runs earlier as the direct
    # replay's first rejection after the record's previous rejected run
    order = [k for k in before]  # runs in record order (dicts keep insertion order)
    i = order.index(("r123", False))
    prev = max([j for j in range(i) if before[order[j]] == "reject"], default=-1)
    first = next(j for j in range(prev + 1, i + 1) if direct[order[j]] == "reject")
    assert summary["corrective_actions"] == 1 and summary["caught"] == 1
    act = summary["actions"][0]
    assert act["run"] == "r123" and act["caught"] is True
    assert act["runs_earlier"] == i - first and i - first >= 3, (act, i, first)

    t = subprocess.run([LABQCD, "-c", lab_cfg, "--what-if", CANDIDATE, "--from", audit,
                        "--format", "table", "--analyte", "main/chem-01/glucose"],
                       capture_output=True, text=True, timeout=120)
    assert t.returncode == 0, t.stderr
    assert "r120" in t.stdout and "runs judged: %d" % runs in t.stdout
    assert "run r123: rejected %d runs earlier" % (i - first) in t.stdout

    assert tree_sums(os.path.join(lab, "state"), os.path.join(lab, "rrd")) == sums

    bad = subprocess.run([LABQCD, "-c", lab_cfg, "--what-if", "1-9s", "--from", audit],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "1-9s" in bad.stderr


def test_pbrtqc_design(env):
    rng = random.Random(23)
    cap = os.path.join(env.dir, "patients.txt")
    with open(cap, "w") as f:
        for i in range(3000):
            v = round(rng.gauss(140, 3), 1)
            f.write(f"lab/main/chem-01/patient/glucose "
                    + json.dumps({"value": v, "t": T0 + 60 * i}) + "\n")
        f.write("lab/main/chem-01/patient/other 1\n")
    cfg = os.path.join(env.dir, "labqcd.yaml")
    write_cfg(cfg, env.dir, LAB_RULES)
    r = subprocess.run([LABQCD, "-c", cfg, "--pbrtqc-design", "--analyte",
                        "main/chem-01/glucose", "--from", cap, "--blocks", "10,40"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in r.stdout.splitlines()]
    assert [x["block"] for x in rows] == [10, 40]
    for x in rows:
        assert x["results"] == 3000 and x["type"] == "pbrtqc_design"
        assert 0 <= x["false_alarm_rate"] < 0.05
        b = {y["sd"]: y for y in x["biases"]}  # no tea: -1, -0.5, +0.5, +1 SD
        assert b[1.0]["mnped"] <= b[0.5]["mnped"] and b[-1.0]["mnped"] <= b[-0.5]["mnped"]
        assert all(y["detected"] * 2 > y["trials"] > 100 for y in x["biases"])
        assert x["lo"] < 140 < x["hi"]
    t = subprocess.run([LABQCD, "-c", cfg, "--pbrtqc-design", "--analyte",
                        "main/chem-01/glucose", "--from", cap, "--format", "table"],
                       capture_output=True, text=True, timeout=300)
    assert t.returncode == 0 and "MNPed" in t.stdout and len(t.stdout.splitlines()) == 3 + 4
