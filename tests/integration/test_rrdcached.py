"""Scenario: the RRD store on rrdcached over TCP (`daemon.rrdcached: host:port`).

A real rrdcached listens on a free 127.0.0.1 port with its base directory
(-b) as labqcd's rrd_dir, -B -R (writes only below it, site and
instrument directories made by CREATE), a journal (-j) and a write delay
of an hour (-w 3600), so that what it holds is in its cache, not its
files. labqcd runs with `daemon.rrdcached: 127.0.0.1:PORT`:

1. New channels: their files are created through rrdcached, every sample
   is in its file with exact rows (read with `rrdtool fetch` on the files
   after rrdcached flushed them at its stop, and with `rrdtool fetch
   --daemon` while it runs); a second labqcd writes its own site to the
   same rrdcached.
2. rrdcached is killed with SIGKILL while labqcd keeps receiving, and
   started again on the same journal: nothing is lost. (rrdcached 1.7.2
   loses the updates it acknowledged last on a kill -9: its journal goes
   through a stdio buffer; labqcd keeps every value until rrdcached has
   flushed its file.) The log says once that rrdcached is unreachable and
   once that it is back.
3. The dashboard's graphs are drawn (non-empty PNG files) through it.
"""
import json
import os
import signal
import subprocess
import time

from harness import Labqcd, Rrdcached, publish_lines, wait_for

SITE = "main"
INSTRUMENTS = ("fridge-01", "fridge-02")
CONFIG = """profiles:
  fridge:
    temp: { unit: C, min: 2, max: 8, stale: 10m }
instruments:
  main/fridge-01: { profile: fridge }
  main/fridge-02: { profile: fridge }
"""


def value(ii, k):
    return round(ii * 100 + 4 + k * 0.001, 4)


def publish(port, site, inst, ii, ks, t0):
    publish_lines(port, f"lab/{site}/{inst}/temp",
                  [json.dumps({"v": value(ii, k), "t": t0 + 60 * k}) for k in ks])


def fetch(path, t0, n, daemon=None):
    cmd = ["rrdtool", "fetch", path, "AVERAGE", "-r", "60", "-s", str(t0 - 60),
           "-e", str(t0 + 60 * (n - 1))]
    if daemon:
        cmd[3:3] = ["--daemon", daemon]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30).stdout
    rows = {}
    for line in out.splitlines():
        if ":" in line:
            t, v = line.split(":", 1)
            if not v.strip().lower().startswith(("nan", "-nan")):
                rows[int(t)] = float(v)
    return rows


def exact(rows, ii, t0, n, where):
    want = {t0 + 60 * k: value(ii, k) for k in range(n)}
    assert set(rows) == set(want), f"{where}: rows {sorted(set(want) ^ set(rows))[:5]} differ"
    wrong = [(t, rows[t], v) for t, v in want.items() if abs(rows[t] - v) > 1e-9]
    assert not wrong, f"{where}: wrong values {wrong[:5]}"


def test_store_over_tcp_and_rrdcached_killed(env):
    broker = env.broker()
    cached = Rrdcached(env.dir).start()
    env.procs.append(cached)
    d = env.labqcd(broker.port, config_body='  subscribe: ["lab/main/#"]\n' + CONFIG,
                   daemon_extra=f"  rrdcached: {cached.addr}\n  dashboard_interval: 2s\n")
    # a second instance, another site, the same rrdcached
    os.makedirs(os.path.join(env.dir, "east"))
    e = Labqcd(os.path.join(env.dir, "east"), broker.port,
               client_id="labqcd-test-east",
               config_body='  subscribe: ["lab/east/#"]\n' + CONFIG.replace("main/", "east/"),
               daemon_extra=f"  rrdcached: {cached.addr}\n")
    env.daemons.append(e)
    e.start()
    t0 = (int(time.time()) // 60) * 60 - 300 * 60
    n1, n2, n3 = 60, 120, 180
    for ii, inst in enumerate(INSTRUMENTS):
        publish(broker.port, SITE, inst, ii, range(n1), t0)
        publish(broker.port, "east", inst, ii + 10, range(n1), t0)

    # 1. files made through rrdcached; every row there while it holds them
    def landed(n):
        def f():
            try:
                return all(len(fetch(f"{SITE}/{inst}/temp.rrd", t0, n, cached.addr)) == n
                           for inst in INSTRUMENTS)
            except subprocess.CalledProcessError:
                return False
        return f
    wait_for(landed(n1), 60, 0.3, "the first samples through rrdcached")
    for ii, inst in enumerate(INSTRUMENTS):
        exact(fetch(f"{SITE}/{inst}/temp.rrd", t0, n1, cached.addr), ii, t0, n1,
              f"{inst} through rrdcached")
        assert os.path.exists(os.path.join(cached.base, SITE, inst, "temp.rrd"))
        exact(fetch(f"east/{inst}/temp.rrd", t0, n1, cached.addr), ii + 10, t0, n1,
              f"east/{inst} (the second labqcd) through rrdcached")
    assert e.stop() == 0, e.log()
    assert f"through rrdcached over TCP at {cached.addr} (remote mode)" in d.log()

    # 2. kill -9 rrdcached while labqcd receives; start it again
    cached.kill9()
    for ii, inst in enumerate(INSTRUMENTS):
        publish(broker.port, SITE, inst, ii, range(n1, n2), t0)
    wait_for(lambda: "unreachable" in d.log() or "Connection refused" in d.log(), 30, 0.2,
             "labqcd to say rrdcached is unreachable")
    time.sleep(2)
    cached.start()
    for ii, inst in enumerate(INSTRUMENTS):
        publish(broker.port, SITE, inst, ii, range(n2, n3), t0)
    wait_for(landed(n3), 60, 0.3, "every sample after rrdcached came back")
    log = d.log()
    assert log.count("store: rrdcached %s:" % cached.addr) == 1, log
    assert log.count("reachable again") == 1, log

    # 3. the dashboard's graphs, drawn through rrdcached
    def graphs():
        pngs = [os.path.join(d.www, SITE, inst, f) for inst in INSTRUMENTS
                for f in ("temp-spark.png", "temp-day.png")]
        return all(os.path.exists(p) and os.path.getsize(p) > 100 for p in pngs)
    wait_for(graphs, 60, 0.5, "the dashboard's graphs in TCP mode")
    for inst in INSTRUMENTS:
        with open(os.path.join(d.www, SITE, inst, "temp-day.png"), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"

    assert d.stop() == 0, d.log()
    cached.stop()   # -F: everything it holds goes to the files
    for ii, inst in enumerate(INSTRUMENTS):
        exact(fetch(os.path.join(cached.base, SITE, inst, "temp.rrd"), t0, n3), ii, t0, n3,
              f"{inst}'s file")
