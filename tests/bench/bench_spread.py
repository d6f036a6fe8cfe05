#!/usr/bin/python3
"""Benchmark: the store's writes spread over flush_interval, or one burst.

100k channels of DESIGN's layout (files made first, untimed), a steady
load of one sample a channel a minute (`labsim --load --rate`, QoS 1) for
DURATION seconds with flush_interval 60 s, and meanwhile an alert probe
every PERIOD seconds (a fridge's temperature out of range and back, raw
MQTT at QoS 0; the webhook's receipt time minus the publish time), as row
3 of tests/bench/run does. Two labqcd binaries, one after the other, on
the same broker and files:

  burst   --burst LABQCD: every series handed to the writers at once at
          each flush_interval (labqcd before the slices, e.g. built from
          commit 876cf39)
  spread  --spread LABQCD: one slice of the series at a time, STORE_SLICES
          a flush_interval (store_flush_slices)

A pass over 100k files dirties ~4 GB of page cache, near the kernel's
dirty limit (a fifth of memory here): past it the kernel stalls every
process that writes, the journal's writes on labqcd's main thread
included. Prints a markdown table of the probes' latency (p50, p99,
max) for each, one run each. Needs ~45 GB free under build/.

usage: tests/bench/bench_spread.py --burst LABQCD --spread LABQCD
                                   [--channels 100000] [--duration 150] [--rate R]
"""
import argparse
import importlib.machinery
import importlib.util
import json
import os
import shutil
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
loader = importlib.machinery.SourceFileLoader("benchrun", os.path.join(HERE, "run"))
spec = importlib.util.spec_from_loader("benchrun", loader)
B = importlib.util.module_from_spec(spec)
argv, sys.argv = sys.argv, [sys.argv[0]]  # the module reads its own options at import
loader.exec_module(B)
sys.argv = argv

ap = argparse.ArgumentParser()
ap.add_argument("--burst", required=True)
ap.add_argument("--spread", required=True)
ap.add_argument("--channels", type=int, default=100000)
ap.add_argument("--duration", type=int, default=150)
ap.add_argument("--period", type=float, default=0.5)
ap.add_argument("--rate", type=int, default=0, help="msg/s (default: a sample a channel a minute)")
a = ap.parse_args()


def probes(d, port, jl, duration, period):
    """Alternate out-of-range and in-range probes; the firing ones' latency."""
    s = B.mqtt_connect(port)
    lat, seen, i = [], 0, 0
    if os.path.exists(jl):  # an earlier run's records
        with open(jl) as f:
            seen = sum(1 for x in f if x.strip())
    end = time.monotonic() + duration
    while time.monotonic() < end:
        out = i % 2 == 0
        i += 1
        t = time.time()
        B.mqtt_publish(s, "lab/bench/probe-01/temp",
                       json.dumps({"value": 12.0 if out else 5.0, "t": round(t, 3)}))
        rec, until = None, time.monotonic() + 30
        while time.monotonic() < until and rec is None:
            if os.path.exists(jl):
                with open(jl) as f:  # whole lines only: the printer may be mid-line
                    lines = [json.loads(x) for x in f if x.endswith("\n") and x.strip()]
                if len(lines) > seen:
                    rec, seen = lines[seen], len(lines)
                    break
            time.sleep(0.002)
        if out and rec and rec.get("status") == "firing":
            lat.append(rec["t_recv"] - t)
        time.sleep(period)
    s.close()
    return lat


def main():
    shutil.rmtree(B.TMP, ignore_errors=True)
    os.makedirs(B.BIN, exist_ok=True)
    for p in ("labqcctl", "labsim"):
        shutil.copy2(os.path.join(B.BUILD, p), os.path.join(B.BIN, p))
    broker = B.Broker("spread-broker")
    hook_port = B.free_port()
    d = os.path.join(B.TMP, "spread")
    os.makedirs(d, exist_ok=True)
    jl = os.path.join(d, "alerts.jsonl")
    printer = B.start(["/usr/bin/python3", os.path.join(B.ROOT, "tests/files/alert_printer.py"),
                       "--http", str(hook_port), "--jsonl", jl], out=os.path.join(d, "printer.out"))
    B.wait_port(hook_port)
    body = ("profiles:\n  probe:\n    temp: { unit: C, min: 2, max: 8 }\n"
            "instruments:\n  bench/probe-01: { profile: probe }\n"
            "receivers:\n  hook: { webhook: { url: \"http://127.0.0.1:%d/hook\", "
            "format: alertmanager } }\n"
            "routes:\n  - match: {}\n    receivers: [hook]\n    group_wait: 0s\n" % hook_port)
    rows = []
    base = (int(time.time()) // 60) * 60 - 3600
    for i, (name, exe) in enumerate((("burst", a.burst), ("spread", a.spread))):
        shutil.copy2(exe, os.path.join(B.BIN, "labqcd"))
        # its own state (the probe's alert starts resolved), the same files
        q = B.Labqcd(os.path.join(d, name), broker.port, qos=1, body=body,
                     rrd_dir=os.path.join(d, "rrd"))
        q.port = broker.port
        q.start()
        if i == 0:
            t0 = time.monotonic()
            B.warm_up(q, broker.port, a.channels, base)  # the files, made
            B.log(f"{a.channels} files made in {time.monotonic() - t0:.0f} s")
        B.run(["sync"])  # neither run pays for the files' making
        bg = B.start([os.path.join(B.BIN, "labsim"), "-p", str(broker.port), "--load",
                      "--channels", str(a.channels), "--rate", str(a.rate or a.channels // 60), "--qos", "1",
                      "--format", "json", "--duration", str(a.duration)],
                     out=os.path.join(d, f"labsim-{name}.out"))
        lat = probes(q, broker.port, jl, a.duration, a.period)
        B.stop(bg)
        st = q.status()
        q.stop()
        lat.sort()
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None
        rows.append((name, statistics.median(lat) if lat else None, p99, lat[-1] if lat else None,
                     len(lat), st.get("messages", {}).get("in")))
        B.log(f"{name}: {len(lat)} probes, p50 {rows[-1][1]}, p99 {p99}, max {rows[-1][3]}")
    B.stop(printer)
    broker.stop()
    load = f"{a.rate} msg/s" if a.rate else "1 sample a channel a minute"
    print(f"| {a.channels // 1000}k channels, {load}, flush_interval 60 s, "
          f"{a.duration} s | p50 | p99 | max | probes |")
    print("|---|---|---|---|---|")
    for name, p50, p99, mx, n, _ in rows:
        f = (lambda x: f"{x * 1000:.1f} ms" if x is not None else "n/a")
        print(f"| {name} | {f(p50)} | {f(p99)} | {f(mx)} | {n} |")


if __name__ == "__main__":
    try:
        main()
    finally:
        B.stop_all()
        shutil.rmtree(B.TMP, ignore_errors=True)
