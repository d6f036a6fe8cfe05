"""Scenario: operating a running labqcd with labqcctl over its control socket.

A real mosquitto, the real labqcd and a real webhook receiver
(tests/files/http_receiver.py) on loopback, started here, stopped by PID.
Every labqcctl subcommand is driven against the daemon and its effect is
checked where a user would look:

- status (text and --json) shows uptime, broker, messages, RRD writes,
  alerts, spool and dashboard; the daemon publishes its own counters to
  lab/labqcd/<client_id>/<counter>;
- ack stops the repeats of a firing alert and writes an `alert` record
  with state acknowledged (an unknown key exits 1);
- maintenance start holds a fridge's alerts (an excursion makes no alert
  record), maintenance end lets what is still wrong fire;
- service-done resets a service counter: its `service` alert resolves;
- silence: an alert matching it fires (recorded) but is not sent;
- flush writes pending RRD updates at once (flush_interval is 1h);
- reload picks up a new instrument; a broken config is refused (exit 1,
  file:line in the answer) and the old one keeps running;
- exit codes: 2 for usage errors, 3 when no daemon answers;
- the socket is mode 0660; a stale socket is replaced at start, a
  non-socket file at that path is refused.
"""
import json
import os
import stat
import subprocess
import time

from harness import Receiver, BUILD, ROOT, publish, rrd_lastupdate, wait_for, wait_port

LABQCCTL = os.path.join(BUILD, "labqcctl")
FILES = os.path.join(ROOT, "tests", "files")
FRIDGE1 = "main/fridge-01/temp/range"
SERVICE = "main/centrifuge-01/run_count/service"


class Http(Receiver):
    """http_receiver.py in its own directory; stop() by PID."""

    def __init__(self, outdir):
        super().__init__("http_receiver.py", outdir)

    def bodies(self):
        out = []
        for name in sorted(os.listdir(self.out)):
            if name.endswith(".body"):
                with open(os.path.join(self.out, name), "rb") as f:
                    out.append(f.read().decode(errors="replace"))
        return out


def config_body(http_port, extra_instruments=""):
    return (
        "profiles:\n"
        "  fridge:\n"
        "    temp: { unit: C, min: 2, max: 8, delay: 0s }\n"
        "  centrifuge:\n"
        "    run_count: { service_every: 100, warn_at: 0.9 }\n"
        "instruments:\n"
        "  main/fridge-01: { profile: fridge }\n"
        "  main/fridge-02: { profile: fridge }\n"
        "  main/fridge-03: { profile: fridge }\n"
        "  main/centrifuge-01: { profile: centrifuge }\n"
        + extra_instruments +
        "receivers:\n"
        f"  hook: {{ webhook: {{ url: \"http://127.0.0.1:{http_port}/hook\", format: plain }} }}\n"
        "routes:\n"
        "  - match: { kind: equipment }\n"
        "    receivers: [hook]\n"
        "    group_wait: 1s\n"
        "    repeat: 2s\n"
    )


def ctl(d, *args, json_out=False):
    sock = os.path.join(d.dir, "labqcd.sock")
    argv = [LABQCCTL, "-s", sock] + (["--json"] if json_out else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=150)


def status(d):
    r = ctl(d, "status", json_out=True)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout)


def records(d, type_, key=None, state=None):
    return [r for r in d.audit() if r.get("type") == type_
            and (key is None or r.get("key") == key) and (state is None or r.get("state") == state)]


def wait_messages(d, n, what):
    wait_for(lambda: status(d)["messages"]["in"] >= n, 20, 0.2, what)


def sample(port, path, value):
    publish(port, f"lab/{path}", json.dumps({"v": value, "t": round(time.time(), 3)}))


def test_every_subcommand(env):
    broker = env.broker()
    http = Http(os.path.join(env.dir, "http")).start()
    env.procs.append(http)
    d = env.labqcd(broker.port, start=False, config_body=config_body(http.port), flush="1h")
    # labqcd's own counters, published a few seconds after start
    health = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-v",
                               "-t", f"lab/labqcd/{d.client_id}/#", "-C", "3", "-W", "90"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        drive_every_subcommand(broker, http, d)
    finally:
        if health.poll() is None:
            health.kill()
        out, err = health.communicate(timeout=10)
    topics = [l.split()[0] for l in out.splitlines() if l.strip()]
    assert len(topics) == 3, (out, err)
    assert all(t.startswith(f"lab/labqcd/{d.client_id}/") for t in topics), topics


def drive_every_subcommand(broker, http, d):
    time.sleep(0.5)  # mosquitto_sub subscribed
    d.start()
    sock = os.path.join(d.dir, "labqcd.sock")
    assert stat.S_ISSOCK(os.stat(sock).st_mode)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o660, oct(os.stat(sock).st_mode)

    # status, text and JSON
    r = ctl(d, "status")
    assert r.returncode == 0, r.stderr
    for word in ("up ", "broker", "connected", "messages", "RRD writes", "alerts", "spool",
                 "dashboard"):
        assert word in r.stdout, (word, r.stdout)
    s = status(d)
    assert s["ok"] is True and s["broker"]["connected"] is True
    assert s["uptime_s"] >= 0 and "in" in s["messages"] and "queued" in s["rrd"]
    assert {"firing", "pending", "acknowledged"} <= set(s["alerts"])
    assert "depth" in s["spool"] and "last_render" in s["dashboard"]

    # ack: repeats every 2 s until acknowledged
    sample(broker.port, "main/fridge-01/temp", 12.0)
    wait_for(lambda: records(d, "alert", FRIDGE1, "firing"), 20, 0.2, "fridge-01 firing")
    wait_for(lambda: sum(FRIDGE1 in b for b in http.bodies()) >= 2, 30, 0.2,
             "the alert sent and repeated")
    r = ctl(d, "ack", FRIDGE1, "specimens", "moved", "to", "fridge-04")
    assert r.returncode == 0, (r.stdout, r.stderr)
    acks = records(d, "alert", FRIDGE1, "acknowledged")
    assert len(acks) == 1 and acks[0]["comment"] == "specimens moved to fridge-04", acks
    assert acks[0]["by"], acks
    sent_at_ack = sum(FRIDGE1 in b for b in http.bodies())
    time.sleep(7)
    assert sum(FRIDGE1 in b for b in http.bodies()) <= sent_at_ack + 1, "repeats went on"
    assert status(d)["alerts"]["acknowledged"] >= 1
    r = ctl(d, "ack", "main/no-such/temp/range")
    assert r.returncode == 1 and "no alert" in r.stderr, (r.returncode, r.stderr)

    # maintenance: an excursion during maintenance makes no alert record
    r = ctl(d, "maintenance", "main/fridge-02", "start")
    assert r.returncode == 0, r.stderr
    ev = records(d, "event", "main/fridge-02")
    assert ev and ev[-1]["event"] == "maintenance_start", ev
    n = status(d)["messages"]["in"]
    sample(broker.port, "main/fridge-02/temp", 15.0)
    wait_messages(d, n + 1, "the fridge-02 sample")
    time.sleep(1.5)
    assert not records(d, "alert", "main/fridge-02/temp/range"), records(d, "alert")
    r = ctl(d, "maintenance", "main/fridge-02", "end")
    assert r.returncode == 0, r.stderr
    assert records(d, "event", "main/fridge-02")[-1]["event"] == "maintenance_end"
    r = ctl(d, "maintenance", "main/nope-01", "start")
    assert r.returncode == 1, (r.returncode, r.stderr)

    # service-done resets the counter: the service alert resolves
    sample(broker.port, "main/centrifuge-01/run_count", 95)
    wait_for(lambda: records(d, "alert", SERVICE, "firing"), 20, 0.2, "service alert firing")
    r = ctl(d, "service-done", "main/centrifuge-01", "run_count")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: records(d, "alert", SERVICE, "resolved"), 10, 0.2, "service alert resolved")
    sd = [e for e in records(d, "event", "main/centrifuge-01") if e["event"] == "service_done"]
    assert sd and sd[-1].get("counter") == "run_count", sd

    # silence: fires and is recorded, but nothing is sent
    r = ctl(d, "silence", "main/fridge-03/*", "1h")
    assert r.returncode == 0, r.stderr
    sample(broker.port, "main/fridge-03/temp", 20.0)
    wait_for(lambda: records(d, "alert", "main/fridge-03/temp/range", "firing"), 20, 0.2,
             "fridge-03 firing")
    time.sleep(5)
    assert not any("fridge-03" in b for b in http.bodies()), "a silenced alert was sent"
    assert status(d)["alerts"]["silenced"] >= 1
    assert ctl(d, "silence", "main/x", "soon").returncode == 1

    # flush: flush_interval is 1h, so only the flush writes this sample
    n = status(d)["messages"]["in"]
    sample(broker.port, "main/incubator-09/temp", 37.25)
    wait_messages(d, n + 1, "the incubator sample")
    path = d.rrd_path("main/incubator-09/temp")
    assert not os.path.exists(path) or rrd_lastupdate(path)[1] != 37.25
    r = ctl(d, "flush")
    assert r.returncode == 0, r.stderr
    assert os.path.exists(path) and rrd_lastupdate(path)[1] == 37.25

    # reload: a new instrument; then a broken config is refused
    with open(d.cfg) as f:
        good = f.read()
    assert ctl(d, "maintenance", "main/fridge-09", "start").returncode == 1
    with open(d.cfg, "w") as f:
        f.write(good.replace("  main/fridge-03: { profile: fridge }\n",
                             "  main/fridge-03: { profile: fridge }\n"
                             "  main/fridge-09: { profile: fridge }\n"))
    r = ctl(d, "reload")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert ctl(d, "maintenance", "main/fridge-09", "start").returncode == 0
    with open(d.cfg, "a") as f:
        f.write("bogus_section: { x: 1 }\n")
    r = ctl(d, "reload", json_out=True)
    assert r.returncode == 1, (r.stdout, r.stderr)
    answer = json.loads(r.stdout)
    assert answer["ok"] is False and d.cfg in answer["error"], answer
    assert "running config is kept" in answer["error"]
    assert ctl(d, "maintenance", "main/fridge-09", "end").returncode == 0  # old one runs
    assert d.alive()

    # exit codes for scripts
    assert ctl(d, "frobnicate").returncode == 2
    assert ctl(d, "silence", "only-one-arg").returncode == 2
    r = subprocess.run([LABQCCTL, "-s", os.path.join(d.dir, "nothing.sock"), "status"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 3, (r.returncode, r.stderr)

    assert d.stop() == 0, d.log()
    assert not os.path.exists(sock), "the socket was left behind"


def test_socket_stale_and_foreign(env):
    broker = env.broker()
    d = env.labqcd(broker.port)
    sock = os.path.join(d.dir, "labqcd.sock")
    d.kill9()
    assert os.path.exists(sock)          # left behind by the killed daemon
    d.start(wait_connected=False)        # a stale socket is replaced
    wait_for(lambda: ctl(d, "status").returncode == 0 or not d.alive(), 20, 0.2,
             "the control socket after a restart")
    assert d.alive(), d.log()
    assert d.stop() == 0
    with open(sock, "w") as f:           # something that is not a socket
        f.write("precious\n")
    d.start(wait_connected=False)
    wait_for(lambda: not d.alive(), 20, 0.1, "labqcd to refuse the path")
    assert d.proc.returncode != 0
    with open(sock) as f:
        assert f.read() == "precious\n"
    assert "not a socket" in d.log()
    d.proc = None
