"""Shared by test_faults.py, test_tls.py and test_security.py: a webhook
receiver (tests/files/http_receiver.py) started and stopped by PID, and a
config with a fridge range rule, a Westgard QC analyte and one webhook
route. Not a test file (no test_ prefix)."""
import json
import os
import signal
import subprocess

from harness import Receiver, ROOT, wait_for, wait_port

FILES = os.path.join(ROOT, "tests", "files")
FRIDGE_KEY = "main/fridge-01/temp/range"
QC_KEY = "main/chem-01/glucose/qc"


class Hook(Receiver):
    def __init__(self, outdir):
        super().__init__("http_receiver.py", outdir)

    def posts(self):
        out = []
        for name in sorted(os.listdir(self.out)):
            if name.endswith(".body"):
                with open(os.path.join(self.out, name), "rb") as f:
                    out.append(json.loads(f.read()))
        return out

    def notified(self, key, status="firing"):
        """How many posts told of `key` with `status`."""
        n = 0
        for p in self.posts():
            for a in p.get("alerts", []):
                if a.get("labels", {}).get("key") == key and a.get("status") == status:
                    n += 1
        return n


def start_hook(env, tag="hook"):
    h = Hook(os.path.join(env.dir, tag)).start()
    env.procs.append(h)
    return h


def rules_config(hook_url, group_wait="1s"):
    return (
        "profiles:\n"
        "  fridge:\n"
        "    temp: { unit: C, min: 2, max: 8, hysteresis: 0.3, delay: 0s }\n"
        "instruments:\n"
        "  main/fridge-01: { profile: fridge }\n"
        "  main/chem-01:\n"
        "    qc:\n"
        "      glucose:\n"
        "        rules: 1-3s/2-2s/R-4s\n"
        "        warning: 1-2s\n"
        "        levels:\n"
        "          L1: { mean: 100, sd: 2.5 }\n"
        "          L2: { mean: 250, sd: 5.0 }\n"
        "receivers:\n"
        f"  hook: {{ webhook: {{ url: \"{hook_url}\", format: alertmanager }} }}\n"
        "routes:\n"
        "  - match: { kind: qc }\n"
        "    receivers: [hook]\n"
        f"    group_wait: {group_wait}\n"
        "    repeat: 0\n"
        "  - match: { kind: equipment }\n"
        "    receivers: [hook]\n"
        f"    group_wait: {group_wait}\n"
        "    repeat: 0\n"
    )


def alert_records(d, key, state=None):
    return [r for r in d.audit() if r.get("type") == "alert" and r.get("key") == key
            and (state is None or r.get("state") == state)]


# Load channels: auto-discovered, no rules, none of the rule channels above.
LOAD = [("main", "freezer-09", "temp"), ("east", "incubator-09", "co2"),
        ("west", "bath-09", "temp")]


def value(ci, k):
    return round(ci * 10000 + k * 0.5 + 0.125, 3)


def check_every_minute(d, t0, n, channels=LOAD):
    from harness import rrd_fetch
    for ci, (s, i, c) in enumerate(channels):
        path = d.rrd_path(f"{s}/{i}/{c}")
        rows = rrd_fetch(path, t0 - 60, t0 + 60 * n)
        missing = [k for k in range(n) if t0 + 60 * k not in rows]
        assert not missing, f"{path}: {len(missing)} minutes missing, first {missing[:5]}"
        wrong = [(k, rows[t0 + 60 * k]) for k in range(n)
                 if abs(rows[t0 + 60 * k] - value(ci, k)) > 1e-9]
        assert not wrong, f"{path}: wrong values {wrong[:5]}"
        assert len(rows) == n, (path, len(rows), n)


def wait_last(d, n, timeout=60, channels=LOAD):
    from harness import rrd_lastupdate
    def landed():
        for ci, (s, i, c) in enumerate(channels):
            p = d.rrd_path(f"{s}/{i}/{c}")
            if not os.path.exists(p) or rrd_lastupdate(p)[1] != value(ci, n - 1):
                return False
        return True
    wait_for(landed, timeout, 0.2, "the last sample of every channel in its RRD")
