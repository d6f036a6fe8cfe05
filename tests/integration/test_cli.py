"""Scenario: the command line of DESIGN section 8, without a broker.

- `labqcd -t` on the bundled etc/labqcd.yaml exits 0; on a config with
  errors it exits 1 and names file:line:column for each.
- `labqcd --replay FILE` runs recorded `mosquitto_sub -v` lines through the
  pipeline on the input's own timestamps: RRD files written, `dropped`
  records for refused input printed on stdout as JSON lines (the audit
  log's format, also written to state_dir/audit.jsonl), exit 0.
- `labqcctl verify-audit` accepts the log it wrote and detects an edit.
- -V and -h answer.
"""
import json
import os
import re
import subprocess

from harness import LABQCD, ROOT, BUILD, rrd_fetch, rrd_lastupdate

LABQCCTL = os.path.join(BUILD, "labqcctl")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def test_check_bundled_config_ok():
    r = run([LABQCD, "-t", "-c", os.path.join(ROOT, "etc", "labqcd.yaml")])
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout


def test_check_bad_config_names_file_line_column(env):
    bad = os.path.join(env.dir, "bad.yaml")
    with open(bad, "w") as f:
        f.write("daemon:\n"
                "  state_dir: /tmp/x\n"
                "  flush_intervall: 10s\n"        # unknown key, line 3
                "mqtt:\n"
                "  qos: 7\n"                      # out of range, line 5
                "instruments:\n"
                "  main/fridge-02:\n"
                "    channels:\n"
                "      temp: { min: 2, max: 8, delay: soon }\n")   # bad duration, line 9
    r = run([LABQCD, "-t", "-c", bad])
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    for lineno in (3, 5, 9):
        assert any(re.match(rf"{re.escape(bad)}:{lineno}:\d+: ", l) for l in lines), \
            (lineno, r.stderr)
    assert "delay" in r.stderr and "soon" in r.stderr


def test_version_and_help():
    r = run([LABQCD, "-V"])
    assert r.returncode == 0 and r.stdout.startswith("labqcd ")
    r = run([LABQCD, "-h"])
    assert r.returncode == 0 and "--replay" in r.stdout and "-t" in r.stdout
    r = run([LABQCD, "--no-such-option"])
    assert r.returncode == 2


def write_config(env):
    cfg = os.path.join(env.dir, "replay.yaml")
    with open(cfg, "w") as f:
        f.write("daemon:\n"
                f"  state_dir: {env.dir}/state\n"
                f"  rrd_dir: {env.dir}/rrd\n"
                f"  www_dir: {env.dir}/www\n"
                "mqtt:\n  prefix: lab\n")
    return cfg


def test_replay_writes_rrd_and_prints_records(env):
    cfg = write_config(env)
    t0 = 1763884800  # 2025-11-23T08:00:00Z, a minute boundary
    lines = []
    for k in range(30):
        lines.append(f'lab/main/fridge-01/temp {{"value": {4 + k / 100}, "t": {t0 + 60 * k}}}')
    lines.append("lab/../etc/passwd 1.0")
    lines.append("lab/main/fridge-01/temp NaN")
    lines.append('lab/main/fridge-01/temp {"value": 3.0, "t": %d}' % (t0 + 60))  # late
    lines.append("no-space-line")
    inp = os.path.join(env.dir, "input.txt")
    with open(inp, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = run([LABQCD, "-c", cfg, "--replay", inp])
    assert r.returncode == 0, r.stderr
    records = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    dropped = [x for x in records if x["type"] == "dropped"]
    reasons = " | ".join(x["reason"] for x in dropped)
    assert len(dropped) == 3, records
    assert any("late" in x["reason"] for x in dropped), reasons
    for x in records:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", x["ts"]), x
    # The refused late sample is stamped with the input's clock, not the wall clock.
    assert dropped[-1]["ts"].startswith("2025-11-23T08:29"), dropped[-1]
    path = os.path.join(env.dir, "rrd", "main", "fridge-01", "temp.rrd")
    assert rrd_lastupdate(path) == (t0 + 60 * 29, 4.29)
    rows = rrd_fetch(path, t0 - 60, t0 + 60 * 29)
    assert len(rows) == 30 and abs(rows[t0 + 60] - 4.01) < 1e-9
    assert not os.path.exists(os.path.join(env.dir, "etc"))
    # The audit log holds the same records, chained.
    audit = os.path.join(env.dir, "state", "audit.jsonl")
    with open(audit) as f:
        assert [json.loads(l)["reason"] for l in f] == [x["reason"] for x in dropped]
    r = run([LABQCCTL, "verify-audit", audit])
    assert r.returncode == 0, r.stderr
    # An edited line breaks the chain (at the line after it).
    with open(audit) as f:
        lines = f.readlines()
    first = json.loads(lines[0])
    first["reason"] = "edited by hand"
    lines[0] = json.dumps(first, separators=(",", ":")) + "\n"
    with open(audit, "w") as f:
        f.writelines(lines)
    r = run([LABQCCTL, "verify-audit", audit])
    assert r.returncode == 1 and "line" in r.stderr, (r.stdout, r.stderr)
