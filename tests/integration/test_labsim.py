"""Scenario: the equipment simulator publishes what the other tests rely on.

1. Load mode against a real mosquitto: `labsim --load --messages 2000 --qos 1`
   while a mosquitto_sub -v (QoS 1) captures lab/load/#. Every one of the
   2000 messages arrives exactly once, on the topic of its channel, with
   t = base + 60 k, and the values match `labsim --expect CHANNEL K`.
2. Lab mode without a broker: `--lab --no-broker --duration 86400
   --replay-out FILE` writes a simulated day as "topic payload" lines: every
   instrument, every payload valid JSON with a time inside the day, one
   sample a minute per channel, QC runs whose levels share a run id and a
   lot, the announced faults visible in the data (qc-shift, lot-change),
   a door channel (0/1) on the thermal units.
3. Back-fill against a real mosquitto: `--lab --backfill 2h --duration 6`
   publishes the last two hours at once, says so, then goes on in real
   time; no time stamp is after the wall clock when it arrives, every
   channel has its sample a minute over the two hours, and a door fault
   begun 30 minutes back (AT -30m) shows in fridge-02's door channel.
"""
import json
import os
import signal
import statistics
import subprocess
import time

from harness import BUILD, publish, wait_for

LABSIM = os.environ.get("LABSIM", os.path.join(BUILD, "labsim"))

INSTRUMENTS = ["fridge-01", "fridge-02", "freezer-01", "ulf-01", "incubator-01",
               "centrifuge-01", "microscope-01", "pipette-p200-01", "water-01",
               "chem-01", "hem-01"]
CHEM_QC = {"glucose": {"L1": (100, 2.5), "L2": (250, 5.0)},
           "potassium": {"L1": (3.1, 0.06), "L2": (5.0, 0.08), "L3": (7.0, 0.14)}}


class Proc:
    """A subprocess the runner stops by PID."""

    def __init__(self, argv, stdout):
        self.proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def labsim(*args, timeout=120):
    assert os.access(LABSIM, os.X_OK), f"{LABSIM} not built (make build/labsim)"
    r = subprocess.run([LABSIM, *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)
    return r


def read_lines(path):
    with open(path, errors="replace") as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def test_load_qos1_every_message_once(env):
    broker = env.broker()
    capture = os.path.join(env.dir, "sub.txt")
    with open(capture, "wb") as out:
        sub = Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                    "-v", "-t", "lab/load/#"], out)
    env.procs.append(sub)

    # mosquitto_sub says nothing when subscribed: probe until a probe arrives.
    def probed():
        publish(broker.port, "lab/load/probe", "probe")
        return any(l.startswith("lab/load/probe ") for l in read_lines(capture))
    wait_for(probed, 10, 0.2, "mosquitto_sub to subscribe")

    channels, total = 100, 2000
    r = labsim("-p", broker.port, "--load", "--channels", channels, "--instruments", 4,
               "--messages", total, "--qos", 1, "--format", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"labsim: published {total} messages in " in r.stdout, r.stdout
    base = int(r.stdout.split("base t ")[1].split()[0])

    def data():
        return [l for l in read_lines(capture) if not l.startswith("lab/load/probe ")]
    wait_for(lambda: len(data()) >= total, 30, 0.2, f"{total} messages at mosquitto_sub")
    time.sleep(0.5)  # nothing more may come
    lines = data()
    assert len(lines) == total, len(lines)

    seen = {}
    for line in lines:
        topic, payload = line.split(" ", 1)
        parts = topic.split("/")
        assert parts[:2] == ["lab", "load"] and len(parts) == 4, topic
        j = int(parts[3][len("ch-"):])
        assert parts[2] == f"ins-{j % 4}", topic
        msg = json.loads(payload)
        k, rem = divmod(msg["t"] - base, 60)
        assert rem == 0 and 0 <= k < total // channels, (topic, msg)
        assert (j, k) not in seen, ("duplicate", topic, msg)
        seen[(j, k)] = msg["value"]
    assert set(seen) == {(j, k) for j in range(channels) for k in range(total // channels)}

    for j, k in [(0, 0), (1, 1), (42, 7), (99, 19), (57, 13)]:
        want = labsim("--expect", j, k)
        assert want.returncode == 0, want.stderr
        assert abs(seen[(j, k)] - float(want.stdout)) < 1e-9, (j, k, seen[(j, k)], want.stdout)


def test_lab_day_replay_file(env):
    path = os.path.join(env.dir, "day.txt")
    t0 = time.time()
    r = labsim("--lab", "--no-broker", "--duration", 86400, "--seed", 42, "--replay-out", path,
               "--fault", "qc-shift:chem-01:12h", "--fault", "lot-change:chem-01:12h",
               timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "labsim: fault qc-shift on main/chem-01 " in r.stdout, r.stdout
    assert "labsim: fault lot-change on main/chem-01 " in r.stdout, r.stdout
    start = int(t0) - 1

    by_topic = {}
    for line in read_lines(path):
        topic, payload = line.split(" ", 1)
        msg = json.loads(payload)
        assert isinstance(msg, dict) and isinstance(msg["t"], (int, float)), line
        assert start <= msg["t"] <= start + 86400 + 60, line
        by_topic.setdefault(topic, []).append(msg)

    for ins in INSTRUMENTS:
        assert any(t.startswith(f"lab/main/{ins}/") for t in by_topic), ins
    for topic, msgs in by_topic.items():
        ts = [m["t"] for m in msgs]
        if "/qc/" not in topic and not topic.endswith("/event"):
            assert ts == sorted(set(ts)), f"{topic}: times not strictly increasing"
            assert 1438 <= len(msgs) <= 1441, (topic, len(msgs))
            assert all(isinstance(m["value"], (int, float)) for m in msgs), topic

    def mean(topic):
        return statistics.mean(m["value"] for m in by_topic[topic])
    assert 3.5 < mean("lab/main/fridge-01/temp") < 6, mean("lab/main/fridge-01/temp")
    assert -22 < mean("lab/main/freezer-01/temp") < -18
    assert -82 < mean("lab/main/ulf-01/temp") < -78
    assert 36.5 < mean("lab/main/incubator-01/temp") < 37.5
    assert 4.5 < mean("lab/main/incubator-01/co2") < 5.5
    assert 17 < mean("lab/main/water-01/resistivity") < 18.2
    assert 0.9 < mean("lab/main/centrifuge-01/vibration") < 1.1
    for ins in ("fridge-01", "fridge-02", "freezer-01", "ulf-01", "incubator-01"):
        doors = [m["value"] for m in by_topic[f"lab/main/{ins}/door"]]
        assert set(doors) <= {0, 1} and doors.count(0) > 0.9 * len(doors), (ins, doors)
    counts = [m["value"] for m in by_topic["lab/main/centrifuge-01/run_count"]]
    assert counts == sorted(counts) and counts[-1] > counts[0], "run_count must increase"
    events = by_topic.get("lab/main/centrifuge-01/event", [])
    assert events and all(e["event"] == "task_done" for e in events), events

    # QC: every chem-01 run measures every level, with one run id and lot.
    runs = {}
    for analyte, levels in CHEM_QC.items():
        for level in levels:
            msgs = by_topic[f"lab/main/chem-01/qc/{analyte}/{level}"]
            for m in msgs:
                assert {"value", "t", "run", "lot", "operator"} <= set(m), m
                runs.setdefault(m["run"], []).append((analyte, level, m))
    assert len(runs) >= 4, sorted(runs)
    for run, results in runs.items():
        assert len(results) == 5, (run, results)
        assert len({m["lot"] for a, l, m in results if a == "glucose"}) == 1, results
    # The shift and the new lot start together at +12 h; a run takes its
    # lot and shift at its last result's time.
    boundary = start + 12 * 3600
    before, after = [], []
    for run, results in runs.items():
        (after if max(m["t"] for a, l, m in results) >= boundary else before).append(results)
    assert before and after, sorted(runs)
    lots_before = {m["lot"] for rs in before for a, l, m in rs if a == "glucose"}
    lots_after = {m["lot"] for rs in after for a, l, m in rs if a == "glucose"}
    assert len(lots_before) == 1 and len(lots_after) == 1 and lots_before != lots_after, \
        (lots_before, lots_after)

    def mean_z(group):
        return statistics.mean((m["value"] - CHEM_QC[a][l][0]) / CHEM_QC[a][l][1]
                               for rs in group for a, l, m in rs)
    z_before, z_after = mean_z(before), mean_z(after)
    assert z_after - z_before > 1.2, (z_before, z_after)

    hem = [t for t in by_topic if t.startswith("lab/main/hem-01/qc/")]
    assert len(hem) >= 2, hem


def test_lab_backfill_then_real_time(env):
    broker = env.broker()
    capture = os.path.join(env.dir, "sub.txt")
    with open(capture, "wb") as out:
        sub = Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                    "-v", "-t", "lab/#"], out)
    env.procs.append(sub)

    def probed():
        publish(broker.port, "lab/probe", "probe")
        return any(l.startswith("lab/probe ") for l in read_lines(capture))
    wait_for(probed, 10, 0.2, "mosquitto_sub to subscribe")

    t0 = time.time()
    r = labsim("-p", broker.port, "--lab", "--backfill", "2h", "--duration", 6, "--seed", 5,
               "--fault", "door:fridge-02:-30m:1h", timeout=60)
    t_end = time.time()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "labsim: fault door on main/fridge-02 " in r.stdout, r.stdout
    assert "(-1800 s simulated), for 3600 s" in r.stdout, r.stdout
    done = [l for l in r.stdout.splitlines() if l.startswith("labsim: back-fill of 7200 s done: ")]
    assert done, r.stdout
    start = int(t0)  # labsim's start: the real now in whole seconds

    def data():
        return [l for l in read_lines(capture) if not l.startswith("lab/probe ")]
    n = int(done[0].split("done: ")[1].split()[0])
    wait_for(lambda: len(data()) >= n, 30, 0.2, f"{n} back-filled messages at mosquitto_sub")
    time.sleep(0.5)
    by_topic = {}
    for line in data():
        topic, payload = line.split(" ", 1)
        msg = json.loads(payload)
        # never ahead of the wall clock: nothing after the run's end
        assert start - 7200 - 1 <= msg["t"] <= t_end, (line, start, t_end)
        by_topic.setdefault(topic, []).append(msg)
    for topic in ("lab/main/fridge-01/temp", "lab/main/fridge-02/door",
                  "lab/main/centrifuge-01/vibration", "lab/main/water-01/resistivity"):
        ts = [m["t"] for m in by_topic[topic] if m["t"] < start]
        assert 119 <= len(ts) <= 121 and ts == sorted(set(ts)), (topic, len(ts))
    door = [(m["t"], m["value"]) for m in by_topic["lab/main/fridge-02/door"]]
    assert all(v == 1 for t, v in door if t >= start - 1800), door
    assert any(v == 0 for t, v in door if t < start - 1800), door
