"""Scenario: the scheduled report reaches the lab by email, once (issue 19).

The month before the current one (UTC) is replayed into the state
directory with `labqcd --replay`: a fridge at a sample every 10 minutes
with a 2-hour excursion above its max, and a QC analyte with two levels
once a day. Then the daemon starts, on the wall clock, with

    reports: { every: month, on: 1, receivers: [qc-team] }

so that month has ended and is due. A real SMTP server (aiosmtpd) must
receive exactly one email: subject "[labqcd] Report <month>: <lab>", a
PDF attachment (application/pdf) per instrument and the site's summary
that pdfinfo reads as a PDF of the right period, byte-identical to the
file kept in state_dir/reports/, plus report.json. Restarts after it was
sent, by SIGTERM and by kill -9, send nothing again.

Then `labqcctl report <month>` asks the running daemon for the same
period again; the daemon is killed with -9 as soon as it logs that the
render started (the child dies with it), and after the restart exactly
one more email arrives: a crash between render and send neither loses
nor duplicates it, and no render child is left behind.
"""
import calendar
import email
import email.policy
import json
import os
import subprocess
import time

from harness import BUILD, LABQCD, Receiver, wait_for

LABQCCTL = os.path.join(BUILD, "labqcctl")


class Smtp(Receiver):
    def __init__(self, outdir):
        super().__init__("smtp_receiver.py", outdir)

    def messages(self):
        out = []
        for name in self.files(".eml"):
            with open(os.path.join(self.out, name), "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out


def previous_month():
    now = time.gmtime()
    y, m = (now.tm_year, now.tm_mon - 1) if now.tm_mon > 1 else (now.tm_year - 1, 12)
    t0 = calendar.timegm((y, m, 1, 0, 0, 0))
    days = calendar.monthrange(y, m)[1]
    return "%04d-%02d" % (y, m), t0, days


def js(o):
    return json.dumps(o, separators=(",", ":"))


def replay_input(t0, days):
    lines = []
    exc0, exc1 = t0 + 3 * 86400 + 2 * 3600, t0 + 3 * 86400 + 4 * 3600
    for k in range(days * 144):
        t = t0 + k * 600 + 600
        v = 9.5 if exc0 <= t < exc1 else 4.0 + 0.5 * (k % 3)
        lines.append((t, "lab/main/fridge-01/temp " + js({"value": v, "t": t})))
    for day in range(days):
        for li, (lev, mean, sd) in enumerate((("L1", 100, 2), ("L2", 250, 5))):
            t = t0 + day * 86400 + 7 * 3600 + li * 60
            v = mean + sd * (0.5 if (day + li) % 2 else -0.5)
            lines.append((t, "lab/main/chem-01/qc/glucose/%s " % lev +
                          js({"value": v, "t": t, "run": "r%d" % day, "lot": "A1"})))
    lines.sort(key=lambda x: x[0])
    return [x[1] for x in lines]


CONFIG = """\
smtp:
  url: smtp://127.0.0.1:{port}
  from: labqcd@lab.example
  timeout: 10s
reports:
  lab: "Central Laboratory"
  every: month
  on: 1
  receivers: [qc-team]
receivers:
  qc-team: {{ email: [qc-lead@lab.example, manager@lab.example] }}
instruments:
  main/fridge-01:
    channels:
      temp: {{ unit: C, min: 2, max: 8, delay: 15m }}
  main/chem-01:
    qc:
      glucose:
        rules: 1-3s/2-2s/R-4s
        levels:
          L1: [ {{ lot: A1, mean: 100, sd: 2 }} ]
          L2: [ {{ lot: A1, mean: 250, sd: 5 }} ]
"""


def gone(pid):
    """No such process, or a zombie waiting for its new parent to reap it."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def pdfinfo(data, path):
    with open(path, "wb") as f:
        f.write(data)
    r = subprocess.run(["pdfinfo", path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def check_report_email(msg, label, state):
    assert msg["Subject"] == "[labqcd] Report %s: Central Laboratory" % label, msg["Subject"]
    assert "qc-lead@lab.example" in msg["To"] and "manager@lab.example" in msg["To"]
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "report of Central Laboratory for %s is attached" % label in text, text
    assert "chain verified" in text, text
    parts = {p.get_filename(): p for p in msg.iter_attachments()}
    want = sorted(["main_%s.pdf" % label, "main_chem-01_%s.pdf" % label,
                   "main_fridge-01_%s.pdf" % label, "report.json"])
    assert sorted(parts) == want, sorted(parts)
    # the files kept on the server, in the directory the body names
    rdir = [l.split(" in ", 1)[1].strip() for l in text.splitlines()
            if l.startswith("The same files stay on the server in ")][0]
    assert rdir.startswith(os.path.join(state, "reports", label + ".")), rdir
    for name, p in parts.items():
        data = p.get_content()
        with open(os.path.join(rdir, name), "rb") as f:
            assert f.read() == data, name + " differs from the file on the server"
        if name.endswith(".pdf"):
            assert p.get_content_type() == "application/pdf", p.get_content_type()
            assert data[:5] == b"%PDF-"
            info = pdfinfo(data, os.path.join(os.path.dirname(state), "check-" + name))
            assert "Pages:" in info and "A4" in info, info
        else:
            assert p.get_content_type() == "application/json"
            rep = json.loads(data)
            assert json.dumps(rep).find("fridge-01") >= 0


def test_scheduled_report_emailed_once(env):
    label, t0, days = previous_month()
    smtp = Smtp(os.path.join(env.dir, "smtp")).start()
    env.procs.append(smtp)
    broker = env.broker()
    d = env.labqcd(broker.port, start=False, config_body=CONFIG.format(port=smtp.port))
    inp = os.path.join(env.dir, "input.txt")
    with open(inp, "w") as f:
        f.write("\n".join(replay_input(t0, days)) + "\n")
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"   # the daemon and its render child: months in UTC
    try:
        r = subprocess.run([LABQCD, "-c", d.cfg, "--replay", inp], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]

        d.start()
        wait_for(lambda: len(smtp.messages()) >= 1, 240, 0.2, "the scheduled report's email")
        assert "reports: %s is due (every month, on 1)" % label in d.log()
        check_report_email(smtp.messages()[0], label, d.state)

        # restarts after it was sent: nothing again
        assert d.stop() == 0
        d.start()
        time.sleep(4)   # four ticks of the schedule
        d.kill9()
        d.start()
        time.sleep(4)
        assert len(smtp.messages()) == 1, [m["Subject"] for m in smtp.messages()]
        assert d.log().count("reports: %s is due" % label) == 1, d.log()[-3000:]

        # asked for again, and killed while it renders
        sock = os.path.join(env.dir, "labqcd.sock")
        r = subprocess.run([LABQCCTL, "-s", sock, "report", label], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert "%s queued" % label in r.stdout, r.stdout
        n_render = d.log().count("reports: rendering %s" % label)
        wait_for(lambda: d.log().count("reports: rendering %s" % label) > n_render, 30, 0.01,
                 "the asked-for render to start")
        d.kill9()
        # no render child left behind (PR_SET_PDEATHSIG; a month this small
        # renders in under a second, so this does not prove the signal)
        line = [l for l in d.log().splitlines() if "reports: rendering %s" % label in l][-1]
        child = int(line.rsplit("pid ", 1)[1])
        wait_for(lambda: gone(child), 10, 0.05, "the render child to die with the daemon")
        d.start()
        wait_for(lambda: len(smtp.messages()) >= 2, 240, 0.2, "the asked-for report's email")
        time.sleep(4)
        msgs = smtp.messages()
        assert len(msgs) == 2, [m["Subject"] for m in msgs]
        # the kill did land inside the render: it was started again
        assert d.log().count("reports: rendering %s" % label) == n_render + 2, d.log()[-4000:]
        check_report_email(msgs[1], label, d.state)

        # a bad period is refused with a reason, and nothing is queued
        r = subprocess.run([LABQCCTL, "-s", sock, "report", "2026-13"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1 and "2026-13" in r.stderr, (r.returncode, r.stderr)
        with open(os.path.join(d.state, "reports.json")) as f:
            st = json.load(f)
        assert st["queue"] == [] and st["spooled"] == [], st
        assert d.stop() == 0
    finally:
        if old_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old_tz
