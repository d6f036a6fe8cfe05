#!/usr/bin/python3
"""Benchmark: a stalled SMTP server does not slow ingestion.

labqcd runs against a real mosquitto with alarms firing to an email
receiver, and `labsim --load --qos 1` publishes N samples at full speed.
The time measured runs from labsim's start until the last sample is in
its RRD file (`rrdtool lastupdate` of the last channel). Two setups:

  normal   the SMTP server is tests/files/smtp_receiver.py (answers at once)
  stalled  the SMTP server accepts every connection and never says a word;
           notify_retry 1s keeps the notifier stuck in such a connection
           for the whole run

Median of RUNS runs each way; prints a markdown table row with both rates
and their ratio (stalled / normal; 1.0 = no effect).

usage: tests/bench/bench_stall.py [--labqcd build/labqcd] [--messages 100000]
                                  [--channels 1000] [--runs 3]
Use an optimised build (`make bench` builds one); every server is started
here on a free loopback port and stopped by its PID.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402
from harness import Mosquitto, free_port, wait_for, wait_port  # noqa: E402

STALL_SERVER = r"""
import signal, socket, sys, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
def serve():
    while True:
        c, _ = s.accept()
        held.append(c)          # accepted, never answered, never closed
threading.Thread(target=serve, daemon=True).start()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
while not stop.wait(0.2):
    pass
print("stall server: %d connections held" % len(held), file=sys.stderr)
"""

ALARM_CHANNELS = (10, 20, 30)  # on load/ins-0, values 10.x..30.x: above max 5


class Proc:
    def __init__(self, args, log):
        logf = open(log, "ab")
        self.proc = subprocess.Popen(args, stdout=logf, stderr=logf)
        logf.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def smtp_server(workdir, stalled):
    port = free_port()
    if stalled:
        p = Proc([sys.executable, "-c", STALL_SERVER, str(port)], os.path.join(workdir, "smtp.log"))
    else:
        out = os.path.join(workdir, "mail")
        os.makedirs(out)
        p = Proc(["/usr/bin/python3", os.path.join(ROOT, "tests", "files", "smtp_receiver.py"),
                  out, os.path.join(workdir, "smtp.port"), str(port)],
                 os.path.join(workdir, "smtp.log"))
    wait_port(port, 15)
    return p, port


def write_config(workdir, broker_port, smtp_port):
    path = os.path.join(workdir, "labqcd.yaml")
    chans = ", ".join(f"ch-{j}: {{ max: 5, delay: 0s }}" for j in ALARM_CHANNELS)
    with open(path, "w") as f:
        f.write(
            "daemon:\n"
            f"  state_dir: {workdir}/state\n"
            f"  rrd_dir: {workdir}/rrd\n"
            f"  www_dir: {workdir}/www\n"
            f"  control_socket: {workdir}/labqcd.sock\n"
            "  log_level: info\n"
            "  flush_interval: 1s\n"
            "  state_interval: 5s\n"
            "  notify_retry: 1s\n"
            "  notify_retry_max: 1s\n"
            "mqtt:\n"
            f"  url: mqtt://127.0.0.1:{broker_port}\n"
            f"  client_id: labqcd-bench-{os.getpid()}\n"
            "  qos: 1\n"
            "  clean_session: false\n"
            "  prefix: lab\n"
            "smtp:\n"
            f"  url: smtp://127.0.0.1:{smtp_port}\n"
            "  from: labqcd@lab.example\n"
            "  timeout: 10m\n"
            "instruments:\n"
            f"  load/ins-0: {{ channels: {{ {chans} }} }}\n"
            "receivers:\n"
            "  team: { email: [qc-lead@lab.example] }\n"
            "routes:\n"
            "  - match: { kind: equipment }\n"
            "    receivers: [team]\n"
            "    group_wait: 0s\n"
            "    repeat: 0\n")
    return path


def one_run(labqcd, labsim, messages, channels, stalled):
    workdir = tempfile.mkdtemp(prefix="labqcd-bench-stall-")
    started = []
    try:
        broker = Mosquitto(workdir).start()
        started.append(broker)
        smtp, smtp_port = smtp_server(workdir, stalled)
        started.append(smtp)
        cfg = write_config(workdir, broker.port, smtp_port)
        log = os.path.join(workdir, "labqcd.log")
        d = Proc([labqcd, "-f", "-c", cfg], log)
        started.append(d)

        def logtext():
            with open(log, errors="replace") as f:
                return f.read()
        wait_for(lambda: "connected to" in logtext() or d.proc.poll() is not None, 15,
                 what="labqcd to connect")
        assert d.proc.poll() is None, logtext()

        instruments = -(-channels // 100)
        last = messages - 1
        j, k = last % channels, last // channels
        rrd = os.path.join(workdir, "rrd", "load", f"ins-{j % instruments}", f"ch-{j}.rrd")
        t0 = time.monotonic()
        r = subprocess.run([labsim, "-p", str(broker.port), "--load", "--channels", str(channels),
                            "--messages", str(messages), "--qos", "1", "--format", "json"],
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout + r.stderr
        base = int(r.stdout.split("base t ")[1].split()[0])
        want = base + 60 * k

        def landed():
            if not os.path.exists(rrd):
                return False
            try:
                return harness.rrd_lastupdate(rrd)[0] >= want
            except subprocess.CalledProcessError:
                return False
        wait_for(landed, 900, 0.05, "the last sample in its RRD file")
        elapsed = time.monotonic() - t0
        text = logtext()
        if stalled:
            assert "notify: email to team sent" not in text, "the stalled server took mail?"
        else:
            wait_for(lambda: "notify: email to team sent" in logtext(), 30,
                     what="the alarm email (normal run)")
        return messages / elapsed
    finally:
        for p in reversed(started):
            p.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labqcd", default=os.path.join(ROOT, "build", "labqcd"))
    ap.add_argument("--labsim", default=os.path.join(ROOT, "build", "labsim"))
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--channels", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    rates = {False: [], True: []}
    for i in range(a.runs):
        for stalled in (False, True):
            rate = one_run(a.labqcd, a.labsim, a.messages, a.channels, stalled)
            rates[stalled].append(rate)
            print(f"# run {i + 1} {'stalled' if stalled else 'normal '}: {rate:.0f} msg/s",
                  file=sys.stderr, flush=True)
    normal, stalled = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"| ingest, SMTP server stalled vs. answering ({a.messages} msgs, {a.channels} ch, "
          f"QoS 1, median of {a.runs}) | {normal:.0f} msg/s answering, {stalled:.0f} msg/s "
          f"stalled | ratio {stalled / normal:.2f} |")


if __name__ == "__main__":
    main()
