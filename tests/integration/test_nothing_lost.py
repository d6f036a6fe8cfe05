"""Scenario: nothing lost, with QoS 1 and a persistent session.

1. Samples published while labqcd is stopped are queued by the broker for
   labqcd's persistent session and land in the RRD files once it starts.
2. labqcd is killed with SIGKILL while samples flow at QoS 1, then started
   again: every sample published before, during and after is in its RRD
   file, each minute holding its own value (rrdtool fetch). Samples that
   labqcd had acknowledged but not yet written come back from its journal;
   those it had not acknowledged are redelivered by the broker.
"""
import json
import os
import subprocess
import time

from harness import publish_lines, rrd_fetch, rrd_lastupdate, wait_for

CHANNELS = [("main", "fridge-01", "temp"), ("main", "freezer-01", "temp"),
            ("east", "incubator-01", "co2")]


def value(ci, k):
    return round(ci * 10000 + k * 0.5 + 0.125, 3)


def check_every_minute(d, t0, n):
    for ci, (s, i, c) in enumerate(CHANNELS):
        path = d.rrd_path(f"{s}/{i}/{c}")
        rows = rrd_fetch(path, t0 - 60, t0 + 60 * n)
        missing = [k for k in range(n) if t0 + 60 * k not in rows]
        assert not missing, f"{path}: {len(missing)} minutes missing, first {missing[:5]}"
        wrong = [(k, rows[t0 + 60 * k]) for k in range(n)
                 if abs(rows[t0 + 60 * k] - value(ci, k)) > 1e-9]
        assert not wrong, f"{path}: wrong values {wrong[:5]}"
        assert len(rows) == n, (path, len(rows), n)


def wait_last(d, n, timeout=60):
    def landed():
        for ci, (s, i, c) in enumerate(CHANNELS):
            p = d.rrd_path(f"{s}/{i}/{c}")
            if not os.path.exists(p) or rrd_lastupdate(p)[1] != value(ci, n - 1):
                return False
        return True
    wait_for(landed, timeout, 0.2, "the last sample of every channel in its RRD")


def test_published_while_stopped_arrive(env):
    broker = env.broker()
    d = env.labqcd(broker.port)      # first start: the broker learns the session
    assert d.stop() == 0
    n = 120
    t0 = (int(time.time()) // 60) * 60 - 400 * 60
    for ci, (s, i, c) in enumerate(CHANNELS):
        publish_lines(broker.port, f"lab/{s}/{i}/{c}",
                      [json.dumps({"v": value(ci, k), "t": t0 + 60 * k}) for k in range(n)])
    d.start()
    wait_last(d, n)
    assert d.stop() == 0, d.log()
    check_every_minute(d, t0, n)


def test_kill9_while_samples_flow(env):
    broker = env.broker()
    d = env.labqcd(broker.port)
    n = 600
    t0 = (int(time.time()) // 60) * 60 - 1000 * 60
    feeders = []
    for ci, (s, i, c) in enumerate(CHANNELS):
        p = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port),
                              "-q", "1", "-t", f"lab/{s}/{i}/{c}", "-l"],
                             stdin=subprocess.PIPE)
        feeders.append(p)
    killed = restarted = False
    kill_at, restart_at = n // 3, n // 2
    for k in range(n):
        for ci, p in enumerate(feeders):
            p.stdin.write((json.dumps({"v": value(ci, k), "t": t0 + 60 * k}) + "\n").encode())
            p.stdin.flush()
        if k == kill_at:
            time.sleep(0.3)       # let some of it be taken and acknowledged
            d.kill9()
            killed = True
        elif k == restart_at:
            d.start()
            restarted = True
        time.sleep(0.004)
    for p in feeders:
        p.stdin.close()
        assert p.wait(60) == 0
    assert killed and restarted
    wait_last(d, n)
    assert d.alive(), d.log()
    assert d.stop() == 0, d.log()
    check_every_minute(d, t0, n)
