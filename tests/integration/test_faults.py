"""Scenario: faults lose nothing.

1. kill -9 under load (QoS 1, persistent session): every sample published
   before, during and after is in its RRD file (counted per minute); a
   Westgard 2-2s pattern whose first result came before the kill is caught
   after the restart; an alert that fired (and was notified) before the
   kill has exactly one `firing` record and one webhook, never two.
2. Broker restart under load: labqcd reconnects within 5 s of the broker
   coming back on the same port and the samples published then land.
3. rrd_dir full (a small tmpfs filled up): logged once, QC and alerts go on,
   the samples land once space returns.
4. state_dir full: logged once per cause, samples still land in the RRD
   files, state.json is never half-written, and everything (state, audit,
   notification) resumes once space returns.
5. A corrupt RRD file and a corrupt state file: moved aside, logged,
   rebuilt.
6. SIGHUP with a broken config: logged, the old config keeps running.
"""
import glob
import json
import os
import subprocess
import time

from faults_common import (FRIDGE_KEY, LOAD, QC_KEY, alert_records, check_every_minute,
                           rules_config, start_hook, value, wait_last)
from harness import free_port, publish, publish_lines, rrd_fetch, rrd_lastupdate, wait_for

CHANNELS = LOAD


def hook_url(h):
    return f"http://127.0.0.1:{h.port}/hook"


def qc(port, level, v, run, t=None):
    publish(port, f"lab/main/chem-01/qc/glucose/{level}",
            json.dumps({"value": v, "run": run, "t": round(t or time.time(), 3)}))


def qc_records(d, status=None):
    return [r for r in d.audit() if r.get("type") == "qc"
            and (status is None or r.get("status") == status)]


def test_kill9_keeps_samples_westgard_and_alerts(env):
    broker = env.broker()
    hook = start_hook(env)
    d = env.labqcd(broker.port, config_body=rules_config(hook_url(hook)))
    # an alert fires and is notified before the kill
    publish(broker.port, "lab/main/fridge-01/temp", json.dumps({"v": 9.5, "t": time.time()}))
    wait_for(lambda: hook.notified(FRIDGE_KEY) == 1, 20, what="the fridge alert's webhook")
    # first half of a 2-2s pattern (L1 at +2.4 SD: a 1-2s warning)
    qc(broker.port, "L1", 106.0, "r1")
    wait_for(lambda: len(qc_records(d)) == 1, 15, what="the first QC record")
    assert qc_records(d)[0]["status"] == "warning", qc_records(d)

    n = 450
    t0 = (int(time.time()) // 60) * 60 - 1000 * 60
    feeders = [subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port),
                                 "-q", "1", "-t", f"lab/{s}/{i}/{c}", "-l"],
                                stdin=subprocess.PIPE) for (s, i, c) in CHANNELS]
    for k in range(n):
        for ci, p in enumerate(feeders):
            p.stdin.write((json.dumps({"v": value(ci, k), "t": t0 + 60 * k}) + "\n").encode())
            p.stdin.flush()
        if k == n // 3:
            time.sleep(0.3)
            d.kill9()
        elif k == n // 2:
            d.start()
        time.sleep(0.004)
    for p in feeders:
        p.stdin.close()
        assert p.wait(60) == 0
    # second half after the restart: 2-2s across runs within L1
    qc(broker.port, "L1", 106.5, "r2")
    wait_for(lambda: alert_records(d, QC_KEY, "firing"), 20, what="the 2-2s rejection")
    rej = qc_records(d, "reject")
    assert len(rej) == 1 and "2-2s" in rej[0]["rules"], qc_records(d)
    wait_for(lambda: hook.notified(QC_KEY) == 1, 20, what="the QC alert's webhook")
    wait_last(d, n)
    time.sleep(4)  # room for a duplicate to show up
    assert d.alive(), d.log()
    assert d.stop() == 0, d.log()
    check_every_minute(d, t0, n)
    assert len(alert_records(d, FRIDGE_KEY, "firing")) == 1, alert_records(d, FRIDGE_KEY)
    assert len(alert_records(d, QC_KEY, "firing")) == 1, alert_records(d, QC_KEY)
    assert hook.notified(FRIDGE_KEY) == 1, hook.posts()
    assert hook.notified(QC_KEY) == 1, hook.posts()
    assert len(qc_records(d)) == 2, qc_records(d)


def test_broker_restart_reconnects_within_5s(env):
    broker = env.broker(port=free_port())
    d = env.labqcd(broker.port)
    (s, i, c) = CHANNELS[0]
    t0 = (int(time.time()) // 60) * 60 - 500 * 60
    publish_lines(broker.port, f"lab/{s}/{i}/{c}",
                  [json.dumps({"v": value(0, k), "t": t0 + 60 * k}) for k in range(100)])
    wait_for(lambda: os.path.exists(d.rrd_path(f"{s}/{i}/{c}")) and
             rrd_lastupdate(d.rrd_path(f"{s}/{i}/{c}"))[1] == value(0, 99), 30,
             0.2, "the first samples")
    connects = d.log().count("connected to")
    broker.stop()
    time.sleep(9)   # without a cap the backoff would now be 8 s and growing
    broker.start()
    back = time.monotonic()
    wait_for(lambda: d.log().count("connected to") > connects, 15, 0.05,
             "labqcd to reconnect")
    took = time.monotonic() - back
    assert took <= 5.0, f"reconnected {took:.1f}s after the broker came back\n" + d.log()
    publish_lines(broker.port, f"lab/{s}/{i}/{c}",
                  [json.dumps({"v": value(0, k), "t": t0 + 60 * k}) for k in range(100, 200)])
    wait_for(lambda: rrd_lastupdate(d.rrd_path(f"{s}/{i}/{c}"))[1] == value(0, 199), 30, 0.2,
             "the samples published after the broker came back")
    assert d.stop() == 0, d.log()
    rows = rrd_fetch(d.rrd_path(f"{s}/{i}/{c}"), t0 - 60, t0 + 60 * 200)
    assert len(rows) == 200, len(rows)


class Tmpfs:
    def __init__(self, path, size):
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], check=True)
        self.path = path

    def fill(self):
        filler = os.path.join(self.path, "filler")
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        return filler

    def umount(self):
        subprocess.run(["umount", "-l", self.path], check=False)


def lines_with(log, *words):
    return [l for l in log.splitlines() if all(w in l for w in words)]


def test_rrd_dir_full(env):
    broker = env.broker()
    hook = start_hook(env)
    fs = Tmpfs(os.path.join(env.dir, "rrd"), "8m")
    try:
        filler = fs.fill()
        d = env.labqcd(broker.port, config_body=rules_config(hook_url(hook)))
        t0 = (int(time.time()) // 60) * 60 - 300 * 60
        for ci, (s, i, c) in enumerate(CHANNELS):
            publish_lines(broker.port, f"lab/{s}/{i}/{c}",
                          [json.dumps({"v": value(ci, k), "t": t0 + 60 * k}) for k in range(30)])
        wait_for(lambda: lines_with(d.log(), "store: write failed"), 20, 0.2,
                 "the write failure to be logged")
        # alerting goes on
        publish(broker.port, "lab/main/fridge-01/temp", json.dumps({"v": 9.5, "t": time.time()}))
        wait_for(lambda: hook.notified(FRIDGE_KEY) == 1, 20, what="the alert's webhook")
        time.sleep(3)  # a few more flushes fail
        assert len(lines_with(d.log(), "store: write failed")) == 1, d.log()
        os.unlink(filler)
        wait_last(d, 30)
        wait_for(lambda: lines_with(d.log(), "writable again"), 10, 0.2, "the recovery line")
        assert d.stop() == 0, d.log()
        check_every_minute(d, t0, 30)
    finally:
        for dd in env.daemons:
            if dd.alive():
                dd.proc.kill()
                dd.proc.wait(5)
        fs.umount()


def state_json_ok(path):
    if not os.path.exists(path):
        return True
    with open(path) as f:
        json.load(f)   # raises if half-written
    return True


def test_state_dir_full(env):
    broker = env.broker()
    hook = start_hook(env)
    fs = Tmpfs(os.path.join(env.dir, "state"), "2m")
    try:
        d = env.labqcd(broker.port, config_body=rules_config(hook_url(hook)))
        statef = os.path.join(d.state, "state.json")
        wait_for(lambda: os.path.exists(statef), 10, what="a first state.json")
        filler = fs.fill()
        t0 = (int(time.time()) // 60) * 60 - 300 * 60
        for ci, (s, i, c) in enumerate(CHANNELS):
            publish_lines(broker.port, f"lab/{s}/{i}/{c}",
                          [json.dumps({"v": value(ci, k), "t": t0 + 60 * k}) for k in range(30)])
        publish(broker.port, "lab/main/fridge-01/temp", json.dumps({"v": 9.5, "t": time.time()}))
        qc(broker.port, "L1", 108.0, "r1")   # 1-3s would need > 107.5: a 1-2s warning
        # ingestion goes on while state_dir is full
        wait_last(d, 30)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            assert state_json_ok(statef)
            time.sleep(0.1)
        log = d.log()
        for cause in ("journal:", "state:", "audit:"):
            n = len(lines_with(log, cause, "No space left"))
            assert n <= 1, f"{cause} logged {n} times\n{log}"
        assert lines_with(log, "No space left"), log
        assert not glob.glob(os.path.join(d.state, "state.json.tmp*"))
        os.unlink(filler)
        # writes resume: the alert and QC result are recorded, the state saved
        wait_for(lambda: alert_records(d, FRIDGE_KEY, "firing"), 20, 0.2, "the alert record")
        wait_for(lambda: hook.notified(FRIDGE_KEY) == 1, 20, what="the alert's webhook")
        saved = time.time()
        wait_for(lambda: json.load(open(statef))["saved"] > saved, 10, 0.2,
                 "state.json saved again")
        wait_for(lambda: lines_with(d.log(), "writable again"), 10, 0.2, "a recovery line")
        assert d.stop() == 0, d.log()
        check_every_minute(d, t0, 30)
        assert len(alert_records(d, FRIDGE_KEY, "firing")) == 1
        assert hook.notified(FRIDGE_KEY) == 1
    finally:
        for dd in env.daemons:
            if dd.alive():
                dd.proc.kill()
                dd.proc.wait(5)
        fs.umount()


def test_corrupt_rrd_and_state_files(env):
    broker = env.broker()
    hook = start_hook(env)
    d = env.labqcd(broker.port, config_body=rules_config(hook_url(hook)))
    (s, i, c) = CHANNELS[0]
    path = d.rrd_path(f"{s}/{i}/{c}")
    t0 = (int(time.time()) // 60) * 60 - 300 * 60
    publish_lines(broker.port, f"lab/{s}/{i}/{c}",
                  [json.dumps({"v": value(0, k), "t": t0 + 60 * k}) for k in range(10)])
    wait_for(lambda: os.path.exists(path) and rrd_lastupdate(path)[1] == value(0, 9), 20, 0.2,
             "the first samples")
    assert d.stop() == 0, d.log()
    with open(path, "r+b") as f:
        f.write(b"this is not an RRD file" * 10)
    statef = os.path.join(d.state, "state.json")
    with open(statef, "w") as f:
        f.write('{"version": 1, "seq": 12, "qc": {"bro')
    d.start()
    publish_lines(broker.port, f"lab/{s}/{i}/{c}",
                  [json.dumps({"v": value(0, k), "t": t0 + 60 * k}) for k in range(10, 20)])
    wait_for(lambda: glob.glob(path + ".corrupt-*"), 20, 0.2, "the RRD file moved aside")
    wait_for(lambda: os.path.exists(path) and rrd_lastupdate(path)[1] == value(0, 19), 20, 0.2,
             "a new RRD file with the new samples")
    assert glob.glob(statef + ".corrupt-*"), os.listdir(d.state)
    log = d.log()
    assert lines_with(log, "state:", "moved aside"), log
    assert lines_with(log, "store:", "corrupt"), log
    wait_for(lambda: os.path.exists(statef) and state_json_ok(statef), 10, 0.2,
             "state.json rebuilt")
    # the rule engine still works after the state was rebuilt
    publish(broker.port, "lab/main/fridge-01/temp", json.dumps({"v": 9.5, "t": time.time()}))
    wait_for(lambda: hook.notified(FRIDGE_KEY) == 1, 20, what="the alert's webhook")
    assert d.stop() == 0, d.log()


def test_sighup_with_broken_config_keeps_old(env):
    broker = env.broker()
    hook = start_hook(env)
    d = env.labqcd(broker.port, config_body=rules_config(hook_url(hook)))
    with open(d.cfg) as f:
        good = f.read()
    with open(d.cfg, "w") as f:
        f.write(good.replace("min: 2, max: 8", "min: 2, max: eight"))
    d.proc.send_signal(1)
    wait_for(lambda: "running config is kept" in d.log(), 10, what="the reload failure")
    assert lines_with(d.log(), "labqcd.yaml:", "max"), d.log()   # file:line: error
    with open(d.cfg, "w") as f:
        f.write(good.replace("profile: fridge", "profile: fridge\n  main/@bad: {}"))
    d.proc.send_signal(1)
    wait_for(lambda: d.log().count("running config is kept") == 2, 10, what="second failure")
    assert d.alive(), d.log()
    # the old rules still run: max 8 fires
    publish(broker.port, "lab/main/fridge-01/temp", json.dumps({"v": 8.6, "t": time.time()}))
    wait_for(lambda: hook.notified(FRIDGE_KEY) == 1, 20, what="the alert's webhook")
    (s, i, c) = CHANNELS[0]
    t0 = (int(time.time()) // 60) * 60 - 100 * 60
    publish_lines(broker.port, f"lab/{s}/{i}/{c}",
                  [json.dumps({"v": value(0, k), "t": t0 + 60 * k}) for k in range(5)])
    wait_for(lambda: os.path.exists(d.rrd_path(f"{s}/{i}/{c}")) and
             rrd_lastupdate(d.rrd_path(f"{s}/{i}/{c}"))[1] == value(0, 4), 20, 0.2,
             "samples after the failed reloads")
    assert d.stop() == 0, d.log()
