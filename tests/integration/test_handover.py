"""Scenario: a slice handed over from one labqcd to another under load
(issue 21, acceptance 2).

One real mosquitto, a real SMTP server and a real HTTP receiver. A
publisher sends samples at QoS 1 the whole time: two fridges with a range
rule, an unconfigured channel, and a QC analyte's results. Instance A
runs the slice; on it fridge-01 goes out of range (and stays out) and
fridge-02 goes out of range, both notified, and the first run of a 2-2s
(a 1-2s warning) is judged. `labqcctl handover` on A: A answers, exits 0;
the state_dir is copied with `cp -a` as an operator would, and B starts
with the same config but that copy as state_dir (same client_id, same
subscription) while the publisher goes on. Meanwhile the second run of
the 2-2s arrives (queued by the broker in the session), and fridge-02
comes back in range once B runs. At the end:

- every published sample and QC result is in its RRD file, each its own
  row with its own value: no gap, nothing twice (and no `dropped` record:
  B was given nothing A had taken);
- each QC result has exactly one `qc` record;
- fridge-01's firing was notified once (by A) and never again; fridge-02's
  firing once (by A) and its resolution once (by B);
- B catches the 2-2s: the second run's L1 record is a reject naming the
  first run (judged by A) among the results involved;
- the audit log's chain, A's records then B's, verifies.

Before that, `labqcctl handover` naming another slice is refused with a
clear error, and A goes on taking messages.
"""
import json
import os
import subprocess
import threading
import time

from harness import BUILD, Labqcd, Receiver, rrd_fetch, rrd_lastupdate, wait_for

LABQCCTL = os.path.join(BUILD, "labqcctl")
QC_T0_MIN = 50  # the 2-2s runs: at minutes 50 and 110 of the sample clock


class Http(Receiver):
    def __init__(self, outdir):
        super().__init__("http_receiver.py", outdir)

    def alerts(self):
        """(key, status) of every alert of every webhook post, in order."""
        out = []
        for name in self.files(".body"):
            with open(os.path.join(self.out, name), "rb") as f:
                post = json.loads(f.read())
            out += [(a["labels"]["key"], a["status"]) for a in post["alerts"]]
        return out


class Smtp(Receiver):
    def __init__(self, outdir):
        super().__init__("smtp_receiver.py", outdir)

    def subjects(self):
        import email
        import email.policy
        out = []
        for name in self.files(".eml"):
            with open(os.path.join(self.out, name), "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default)
                           ["Subject"])
        return out


def config(smtp_port, http_port):
    routes = ("  - match: { kind: equipment }\n"
              "    receivers: [team, hook]\n"
              "    group_wait: 1s\n"
              "    repeat: 0\n")
    return (
        "smtp:\n"
        f"  url: smtp://127.0.0.1:{smtp_port}\n"
        "  from: labqcd@lab.example\n"
        "  timeout: 10s\n"
        "profiles:\n"
        "  fridge:\n"
        "    temp: { unit: C, min: 2, max: 8, hysteresis: 0.3, delay: 0s }\n"
        "instruments:\n"
        "  main/fridge-01: { profile: fridge }\n"
        "  main/fridge-02: { profile: fridge }\n"
        "  main/chem-01:\n"
        "    qc:\n"
        "      glucose:\n"
        "        rules: 1-3s/2-2s\n"
        "        warning: 1-2s\n"
        "        action_due: 0\n"
        "        levels:\n"
        "          L1: { mean: 100, sd: 2 }\n"
        "          L2: { mean: 250, sd: 5 }\n"
        "  main/chem-02:\n"
        "    qc:\n"
        "      albumin:\n"
        "        rules: 1-3s\n"
        "        action_due: 0\n"
        "        levels:\n"
        "          L1: { mean: 40, sd: 1 }\n"
        "receivers:\n"
        "  team: { email: [qc-lead@lab.example] }\n"
        f"  hook: {{ webhook: {{ url: \"http://127.0.0.1:{http_port}/hook\", "
        "format: alertmanager } }\n"
        "routes:\n" + routes
    )


class Publisher(threading.Thread):
    """Samples at QoS 1 through one mosquitto_pub -l per topic, one sample
    clock minute per step k, until stopped; remembers what it sent."""

    CH = ("main/fridge-01/temp", "main/fridge-02/temp", "main/incubator-01/co2")
    QC = "main/chem-02/qc/albumin/L1"

    def __init__(self, port, t0, k_out, max_k=2600, period=0.02):
        super().__init__(daemon=True)
        self.t0, self.k_out, self.max_k, self.period = t0, k_out, max_k, period
        self.sent = {c: {} for c in self.CH + (self.QC,)}
        self.k = 0
        self.resolve = threading.Event()  # fridge-02 back in range from now
        self.stop = threading.Event()
        self.pubs = {c: subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port),
                                          "-q", "1", "-t", "lab/" + c, "-l"],
                                         stdin=subprocess.PIPE)
                     for c in self.sent}

    def value(self, c, k):
        small = (k % 7) * 0.01
        if c == "main/fridge-01/temp":
            return 12.0 + small if k >= self.k_out else 5.0 + small
        if c == "main/fridge-02/temp":
            if self.resolve.is_set():
                return 4.0 + small
            return 13.0 + small if k >= self.k_out + 5 else 5.0 + small
        return 400.0 + k * 0.5  # the unconfigured channel

    def send(self, c, t, payload):
        self.pubs[c].stdin.write((json.dumps(payload) + "\n").encode())
        self.pubs[c].stdin.flush()

    def run(self):
        for k in range(self.max_k):
            if self.stop.is_set():
                break
            t = self.t0 + 60 * k
            for c in self.CH:
                v = round(self.value(c, k), 3)
                self.send(c, t, {"v": v, "t": t})
                self.sent[c][t] = v
            if k % 5 == 0:  # in control: z -0.5, 0 or 0.5
                v = 40.0 + ((k // 5) % 3 - 1) * 0.5
                self.send(self.QC, t, {"value": v, "t": t, "run": f"p{k}"})
                self.sent[self.QC][t] = v
            self.k = k
            time.sleep(self.period)

    def finish(self):
        self.stop.set()
        self.join(30)
        for p in self.pubs.values():
            p.stdin.close()
            assert p.wait(60) == 0


def ctl(sock, *args):
    return subprocess.run([LABQCCTL, "-s", sock] + list(args), capture_output=True, text=True,
                          timeout=120)


def qc_records(records, key):
    return [r for r in records if r["type"] == "qc" and r["key"] == key]


def test_handover_under_load(env):
    broker = env.broker()
    smtp = Smtp(os.path.join(env.dir, "smtp")).start()
    http = Http(os.path.join(env.dir, "http")).start()
    env.procs += [smtp, http]
    a = env.labqcd(broker.port, config_body=config(smtp.port, http.port))
    sock = os.path.join(env.dir, "labqcd.sock")

    # In the past (within the 1-minute archive's 2 days), beyond the last k.
    t0 = (int(time.time()) // 60) * 60 - 2700 * 60
    pub = Publisher(broker.port, t0, k_out=60)
    pub.start()
    try:
        # On A: both fridges fire and are notified.
        wait_for(lambda: sorted(set(http.alerts())) == [
            ("main/fridge-01/temp/range", "firing"), ("main/fridge-02/temp/range", "firing")],
            60, 0.1, "both fridges' firing webhooks from A")
        # The 2-2s's first run: L1 at +2.3 SD, a 1-2s warning.
        tq = t0 + 60 * QC_T0_MIN
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                        "-t", "lab/main/chem-01/qc/glucose/L1", "-m",
                        json.dumps({"value": 104.6, "t": tq, "run": "a1"})], check=True)
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                        "-t", "lab/main/chem-01/qc/glucose/L2", "-m",
                        json.dumps({"value": 250.0, "t": tq + 60, "run": "a1"})], check=True)
        wait_for(lambda: len(qc_records(a.audit(), "main/chem-01/glucose")) == 2, 30, 0.1,
                 "A's records of the first run")

        # Another slice's name: refused, and A goes on.
        r = ctl(sock, "handover", "west")
        assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
        assert "handover west refused" in r.stderr and \
            f'this instance runs slice "{a.client_id}"' in r.stderr and \
            "nothing was stopped" in r.stderr, r.stderr
        r = ctl(sock, "handover", "self", "extra")
        assert r.returncode == 2 and "wrong number of arguments" in r.stderr, r.stderr
        n_before = len(qc_records(a.audit(), "main/chem-02/albumin"))
        wait_for(lambda: len(qc_records(a.audit(), "main/chem-02/albumin")) > n_before + 3,
                 30, 0.1, "A still taking messages after the refusal")
        assert a.alive(), a.log()

        # The hand-over, under load.
        n_posts = len(http.files(".body"))  # one or two groups: an email each
        wait_for(lambda: len(smtp.subjects()) == n_posts, 30, 0.1, "A's emails")
        told_before, subjects_before = list(http.alerts()), smtp.subjects()
        r = ctl(sock, "handover", a.client_id)
        assert r.returncode == 0, (r.stdout, r.stderr, a.log()[-3000:])
        assert f"slice {a.client_id} handed over" in r.stdout, r.stdout
        assert f"client_id {a.client_id} and a copy of state_dir {a.state}" in r.stdout, r.stdout
        assert "has exited" in r.stdout, r.stdout
        assert a.proc.wait(30) == 0, a.log()[-3000:]
        a.proc = None
        assert "handover: slice %s handed over" % a.client_id in a.log(), a.log()[-3000:]
        a_audit = a.audit()
        k_handover = pub.k

        # The 2-2s's second run arrives while nobody is connected: the
        # broker queues it in the session.
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                        "-t", "lab/main/chem-01/qc/glucose/L1", "-m",
                        json.dumps({"value": 104.8, "t": tq + 3600, "run": "a2"})], check=True)
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                        "-t", "lab/main/chem-01/qc/glucose/L2", "-m",
                        json.dumps({"value": 249.0, "t": tq + 3660, "run": "a2"})], check=True)

        # The operator's copy, then B: the same config but state_dir.
        b_state = os.path.join(env.dir, "state-b")
        subprocess.run(["cp", "-a", a.state, b_state], check=True)
        b = Labqcd.__new__(Labqcd)
        b.__dict__.update(a.__dict__)
        b.state = b_state
        b.cfg = os.path.join(env.dir, "labqcd-b.yaml")
        b.logpath = os.path.join(env.dir, "labqcd-b.log")
        with open(a.cfg) as f:
            text = f.read()
        assert f"  state_dir: {a.state}\n" in text
        with open(b.cfg, "w") as f:
            f.write(text.replace(f"  state_dir: {a.state}\n", f"  state_dir: {b_state}\n"))
        env.daemons.append(b)
        b.start()
        assert pub.k > k_handover, "the publisher stalled"

        # fridge-02 back in range: B resolves it.
        time.sleep(1.0)
        pub.resolve.set()
        wait_for(lambda: ("main/fridge-02/temp/range", "resolved") in http.alerts(), 60, 0.1,
                 "fridge-02's resolved webhook from B")
        time.sleep(2.0)  # more load on B
    finally:
        pub.finish()
    assert pub.k > k_handover + 50, (pub.k, k_handover)

    def landed():
        for c in Publisher.CH:
            path = b.rrd_path(c)
            last_t = max(pub.sent[c])
            if not os.path.exists(path) or rrd_lastupdate(path) != (last_t, pub.sent[c][last_t]):
                return False
        return len(qc_records(b.audit(), "main/chem-02/albumin")) >= len(pub.sent[Publisher.QC])
    wait_for(landed, 60, 0.2, "every last sample in its RRD file and every QC record")
    time.sleep(1.5)  # a late duplicate would show by now
    assert b.stop() == 0, b.log()[-3000:]
    records = b.audit()

    # Samples: every one in its own row, with its own value, none twice.
    for c in Publisher.CH:
        rows = rrd_fetch(b.rrd_path(c), t0 - 60, t0 + 60 * (pub.k + 1))
        want = pub.sent[c]
        missing = sorted(set(want) - set(rows))
        assert not missing, f"{c}: {len(missing)} samples missing, first {missing[:5]}"
        extra = sorted(set(rows) - set(want))
        assert not extra, f"{c}: rows never published {extra[:5]}"
        wrong = [(t, rows[t], v) for t, v in want.items() if abs(rows[t] - v) > 1e-9]
        assert not wrong, f"{c}: wrong values {wrong[:5]}"
    qpath = os.path.join(b.rrd, "main", "chem-02", "qc", "albumin", "L1.rrd")
    rows = rrd_fetch(qpath, t0 - 60, t0 + 60 * (pub.k + 1))
    # (the minutes between two results are the RRD's own interpolation)
    wrong = [(t, rows.get(t), v) for t, v in pub.sent[Publisher.QC].items()
             if t not in rows or abs(rows[t] - v) > 1e-9]
    assert not wrong, f"QC results missing or wrong in {qpath}: {wrong[:5]}"
    # Nothing A took came to B again, and nothing was lost in between:
    # one record per QC result.
    assert not [r for r in records if r["type"] == "dropped"], \
        [r for r in records if r["type"] == "dropped"][:3]
    albumin = qc_records(records, "main/chem-02/albumin")
    assert len(albumin) == len(pub.sent[Publisher.QC]), (len(albumin), len(pub.sent[Publisher.QC]))
    assert len({r["run"] for r in albumin}) == len(albumin)
    assert len(qc_records(a_audit, "main/chem-02/albumin")) < len(albumin)  # both took some

    # Notifications: A told both firings; B told fridge-02's end, nothing else.
    assert sorted(told_before) == [("main/fridge-01/temp/range", "firing"),
                                   ("main/fridge-02/temp/range", "firing")], told_before
    told = http.alerts()
    assert sorted(told) == [("main/fridge-01/temp/range", "firing"),
                            ("main/fridge-02/temp/range", "firing"),
                            ("main/fridge-02/temp/range", "resolved")], told
    # The emails: the firings from A (in one group, or two), then from B
    # the end of fridge-02 and nothing else.
    subjects = smtp.subjects()
    assert all(s.startswith("[labqcd] FIRING critical: main/fridge-0") for s in subjects_before) \
        and "main/fridge-01" in subjects_before[0], subjects_before
    assert subjects == subjects_before + [
        "[labqcd] RESOLVED critical: main/fridge-02 temp range"], subjects

    def states(key):
        return [r["state"] for r in records if r["type"] == "alert" and r["key"] == key]
    assert states("main/fridge-01/temp/range") == ["firing"], states("main/fridge-01/temp/range")
    assert states("main/fridge-02/temp/range") == ["firing", "resolved"]

    # Westgard history across the hand-over: the first run judged by A,
    # the second by B, which rejects it naming the first.
    glucose = qc_records(records, "main/chem-01/glucose")
    assert [(r["run"], r["level"], r["status"]) for r in glucose] == [
        ("a1", "L1", "warning"), ("a1", "L2", "warning"),  # a level takes its run's status
        ("a2", "L1", "reject"), ("a2", "L2", "reject")], glucose
    assert [r["run"] for r in qc_records(a_audit, "main/chem-01/glucose")] == ["a1", "a1"]
    assert "2-2s" in glucose[2]["rules"], glucose[2]
    assert {"level": "L1", "run": "a1"} in glucose[2]["involved"], glucose[2]
    assert {"level": "L1", "run": "a2"} in glucose[2]["involved"], glucose[2]

    r = subprocess.run([LABQCCTL, "verify-audit", os.path.join(b_state, "audit.jsonl")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
