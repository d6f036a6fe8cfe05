"""Scenario: samples arrive for 2,000 channels that have no RRD file yet.

A real mosquitto and labqcd -f with a retention layout of its own in the
config (`rrd:`). labsim publishes 3 samples to each of 2,000 new channels
as fast as the broker takes them (QoS 1), so the files are made while the
samples keep coming. Every one of the 2,000 files must then hold exactly
its 3 rows (rrdtool fetch, values from labsim's load formula), each file's
layout must be the configured one (rrdtool info), and after a clean stop
the next start must take the series' last update times from what the stop
left (no file read), refusing a sample already stored as late.
"""
import os
import subprocess
import time

from harness import BUILD, rrd_fetch, wait_for

CHANNELS = 2000
PER_CHANNEL = 3
INSTRUMENTS = (CHANNELS + 99) // 100  # labsim's default

LAYOUT = """rrd:
  step: 1m
  heartbeat: 5m
  archives:
    - { every: 1m, for: 1d, cf: [min, average, max] }
    - { every: 10m, for: 30d, cf: [average, min, max, last] }
"""


def load_value(j, k):
    """labsim's --load value (tests/sim/load.c)."""
    return (j % 10000) + (k % 1000) / 1000


def rel(j):
    return f"load/ins-{j % INSTRUMENTS}/ch-{j}"


def labqcctl(d, *args):
    r = subprocess.run([os.path.join(BUILD, "labqcctl"), "-s",
                        os.path.join(d.dir, "labqcd.sock"), *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_2000_new_channels_at_once(env):
    broker = env.broker()
    d = env.labqcd(broker.port, config_body=LAYOUT, flush="60s")
    t0 = (int(time.time()) // 60) * 60 - 60 * (PER_CHANNEL + 10)
    r = subprocess.run([os.path.join(BUILD, "labsim"), "-p", str(broker.port), "--load",
                        "--channels", str(CHANNELS), "--messages", str(CHANNELS * PER_CHANNEL),
                        "--qos", "1", "--format", "json", "--max", "--base", str(t0)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr

    def written():
        import json
        return json.loads(labqcctl(d, "--json", "flush"))["written"]

    wait_for(lambda: written() >= CHANNELS * PER_CHANNEL, 240, 0.5,
             "every sample written to its file")
    assert d.alive(), d.log()
    assert d.stop() == 0, d.log()

    bad = []
    for j in range(CHANNELS):
        rows = rrd_fetch(d.rrd_path(rel(j)), t0 - 60, t0 + 60 * PER_CHANNEL)
        want = {t0 + 60 * k: load_value(j, k) for k in range(PER_CHANNEL)}
        got = {t: v for t, v in rows.items() if v == v}  # known rows only
        if set(got) != set(want) or any(abs(got[t] - want[t]) > 1e-9 for t in want):
            bad.append((j, got))
    assert not bad, f"{len(bad)} of {CHANNELS} files wrong, e.g. {bad[:3]}"

    # The configured layout is the layout of every file made (a sample).
    for j in (0, 777, CHANNELS - 1):
        info = subprocess.run(["rrdtool", "info", d.rrd_path(rel(j))], capture_output=True,
                              text=True, check=True).stdout.splitlines()
        assert "step = 60" in info
        assert "ds[value].minimal_heartbeat = 300" in info
        assert 'rra[0].cf = "MIN"' in info and "rra[0].rows = 1440" in info
        assert 'rra[3].cf = "MIN"' in info and "rra[3].rows = 4320" in info
        assert "rra[3].pdp_per_row = 10" in info
        assert 'rra[6].cf = "LAST"' in info
        assert not [l for l in info if l.startswith("rra[7]")]

    # A clean stop leaves the last update times; the next start uses them.
    saved = os.path.join(d.rrd, ".last-updates")
    with open(saved) as f:
        assert sum(1 for _ in f) == CHANNELS
    d.start()
    wait_for(lambda: f"last update times of {CHANNELS} series read" in d.log(), 10,
             what="the saved times read at start")
    assert not os.path.exists(saved)
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                        "-t", "lab/" + rel(5),
                        "-m", '{"value": 1, "t": %d}' % (t0 + 60)], capture_output=True)
    assert r.returncode == 0
    wait_for(lambda: [a for a in d.audit() if a["type"] == "dropped"
                      and a["topic"] == "lab/" + rel(5)], 10,
             what="the stored sample refused as late")
    assert d.stop() == 0, d.log()
