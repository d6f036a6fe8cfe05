"""Scenario: the equipment rules through `labqcd --replay` (issue 5,
acceptance 2 and 3), each on an input generated here with explicit "t"
timestamps, so the daemon's clock (and its one-minute rule tick) follows
the input. Each scenario checks the records labqcd prints:

- a 5-minute door opening under a 15-minute delay raises nothing: a
  `pending` record and its end as `cleared` (with its peak and duration;
  `resolved` follows `firing` only), no `firing`;
- a door contact (1 = open) under `max: 0`: closing clears it (a value
  back at the limit is inside); 5 minutes under a 15-minute delay is one
  `cleared` record and nothing on the rendered dashboard's active list,
  40 minutes is `pending`, `firing`, `resolved`; the dashboard's text of
  a firing alert shows the channel's latest value;
- a sustained excursion fires at its delay (firing ts = start + delay,
  within the one-minute tick) and resolves only once back inside by more
  than the hysteresis;
- values oscillating around a limit fire once and do not flap;
- staleness fires once per silence, resolved by the next sample;
- a counter reaching warn_at, then the limit: firing warning, then firing
  critical; a service_done event resolves it;
- a calibration fires `every` after the last calibration_done (warning in
  the last 10 %, critical when overdue); calibration_done resolves it;
- a task not done by its due time fires; task_done resolves it;
- maintenance_start..end: no equipment alert record meanwhile, but a QC
  reject still fires; what is still wrong at the end fires then;
- a status code fires, a change of bad code is the same alert, ok resolves;
- drift catches a slow ramp long before the hard limit, and a week of
  in-control noise (fixed seed) raises nothing.
"""
import calendar
import json
import os
import random
import subprocess
import time

from harness import LABQCD

T0 = 1763884800  # 2025-11-23T08:00:00Z (a Sunday), a minute boundary


def epoch(ts):
    base, ms = ts[:-1].split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + int(ms) / 1000


def sample(inst, channel, value, t):
    return f"lab/main/{inst}/{channel} " + json.dumps({"value": value, "t": t})


def event(inst, t, **kw):
    return f"lab/main/{inst}/event " + json.dumps(dict(kw, t=t))


def replay(env, name, config_body, lines):
    d = os.path.join(env.dir, name)
    os.makedirs(d)
    cfg = os.path.join(d, "labqcd.yaml")
    with open(cfg, "w") as f:
        f.write("daemon:\n"
                f"  state_dir: {d}/state\n"
                f"  rrd_dir: {d}/rrd\n"
                f"  www_dir: {d}/www\n"
                "mqtt:\n  prefix: lab\n" + config_body)
    inp = os.path.join(d, "input.txt")
    with open(inp, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([LABQCD, "-c", cfg, "--replay", inp], capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, TZ="UTC"))
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    assert not [x for x in recs if x["type"] == "dropped"], recs
    return recs


def alerts(recs, key=None):
    """[(state, severity, epoch)] of the alert records (of one key)."""
    return [(x["state"], x["severity"], epoch(x["ts"])) for x in recs
            if x["type"] == "alert" and (key is None or x["key"] == key)]


def keys(recs):
    return sorted({x["key"] for x in recs if x["type"] == "alert"})


FRIDGE = """\
instruments:
  main/fridge-01:
    channels:
      temp: { unit: C, min: 2, max: 8, hysteresis: 0.3, delay: 15m }
"""


def test_door_opening_shorter_than_delay_raises_nothing(env):
    lines = []
    for k in range(60):
        v = 9.5 if 10 <= k < 15 else 5.0       # door open minutes 10..14
        lines.append(sample("fridge-01", "temp", v, T0 + 60 * k))
    recs = replay(env, "door", FRIDGE, lines)
    key = "main/fridge-01/temp/range"
    assert alerts(recs) == [("pending", "critical", T0 + 600),
                            ("cleared", "critical", T0 + 900)], alerts(recs)
    cleared = [x for x in recs if x["type"] == "alert" and x["state"] == "cleared"][0]
    assert cleared["key"] == key and cleared["peak"] == 9.5, cleared
    assert cleared["duration_s"] == 300 and cleared["value"] == 5.0, cleared
    assert not [x for x in recs if x.get("state") in ("firing", "resolved")]


DOORS = """\
instruments:
  main/fridge-01:
    channels:
      door: { max: 0, delay: 15m }
  main/fridge-02:
    channels:
      door: { max: 0, delay: 15m }
  main/fridge-03:
    channels:
      temp: { unit: C, min: 2, max: 8, delay: 0s }
"""


def test_door_contact_max_0_clears_and_the_dashboard_agrees(env):
    lines = []
    for k in range(90):
        t = T0 + 60 * k
        lines.append(sample("fridge-01", "door", 1 if 10 <= k < 15 else 0, t))  # 5 min
        lines.append(sample("fridge-02", "door", 1 if 10 <= k < 50 else 0, t))  # 40 min
        # fridge-03 warms at minute 60 and is still warming at the end
        lines.append(sample("fridge-03", "temp", 5.0 if k < 60 else 9.5 if k < 80 else 11.0, t))
    recs = replay(env, "doors", DOORS, lines)
    d1, d2 = "main/fridge-01/door/range", "main/fridge-02/door/range"
    # 5 minutes: pending at minute 10, cleared at 15 (0 is at max 0: inside)
    assert alerts(recs, d1) == [("pending", "critical", T0 + 600),
                                ("cleared", "critical", T0 + 900)], alerts(recs, d1)
    cleared = [x for x in recs if x.get("key") == d1 and x["state"] == "cleared"][0]
    assert cleared["peak"] == 1 and cleared["duration_s"] == 300, cleared
    # 40 minutes: fires at 10 + 15 = minute 25, resolves when closed at minute 50
    assert alerts(recs, d2) == [("pending", "critical", T0 + 600),
                                ("firing", "critical", T0 + 1500),
                                ("resolved", "critical", T0 + 3000)], alerts(recs, d2)
    # the audit log on disk says the same
    d = os.path.join(env.dir, "doors")
    with open(os.path.join(d, "state", "audit.jsonl")) as f:
        logged = [json.loads(l) for l in f if l.strip()]
    assert [x["state"] for x in logged if x.get("key") == d1] == ["pending", "cleared"]

    r = subprocess.run([LABQCD, "-c", os.path.join(d, "labqcd.yaml"), "--render"],
                       capture_output=True, text=True, timeout=300, env=dict(os.environ, TZ="UTC"))
    assert r.returncode == 0, r.stderr[-3000:]
    with open(os.path.join(d, "www", "index.html")) as f:
        index = f.read()
    active = index.split("Active alerts", 1)[1].split("</section>", 1)[0]
    assert d1 not in active, active            # cleared: never an active alert
    assert d2 in active, active                # fired: critical, kept until acknowledged
    # fridge-03 fired at 9.5 and reads 11 now: the text says now 11
    assert "main/fridge-03/temp/range" in active, active
    assert "(now 11)" in active and "(now 9.5)" not in active, active
    with open(os.path.join(d, "www", "main", "fridge-01", "index.html")) as f:
        page = f.read()
    assert d1 not in page.split("Open alerts", 1)[1].split("</section>", 1)[0]


def test_sustained_excursion_fires_at_delay_and_respects_hysteresis(env):
    lines = [sample("fridge-01", "temp", 5.0, T0 + 60 * k) for k in range(10)]
    start = T0 + 600
    # samples every 7 minutes: the firing comes from the clock's tick
    for k in range(6):
        lines.append(sample("fridge-01", "temp", 9.5, start + 420 * k))
    t = start + 420 * 6
    for k in range(5):                  # inside by 0.2 < hysteresis 0.3: still firing
        lines.append(sample("fridge-01", "temp", 7.8, t + 60 * k))
    back = t + 300
    for k in range(10):                 # inside by 0.4: resolved at the first one
        lines.append(sample("fridge-01", "temp", 7.6, back + 60 * k))
    recs = replay(env, "excursion", FRIDGE, lines)
    a = alerts(recs, "main/fridge-01/temp/range")
    assert [s for s, _, _ in a] == ["pending", "firing", "resolved"], a
    assert a[0][2] == start
    assert a[1][1] == "critical" and start + 900 <= a[1][2] <= start + 960, (a, start + 900)
    assert a[2][2] == back, (a, back)
    firing = [x for x in recs if x["type"] == "alert" and x["state"] == "firing"][0]
    assert firing["value"] == 9.5 and firing["summary"], firing


def test_oscillation_around_a_limit_does_not_flap(env):
    cfg = """\
instruments:
  main/incubator-01:
    channels:
      temp: { unit: C, min: 36, max: 38, hysteresis: 0.3 }
"""
    lines = [sample("incubator-01", "temp", 37.0, T0 + 60 * k) for k in range(5)]
    for k in range(40):
        lines.append(sample("incubator-01", "temp", 38.1 if k % 2 == 0 else 37.8,
                            T0 + 300 + 60 * k))
    end = T0 + 300 + 60 * 40
    lines += [sample("incubator-01", "temp", 37.5, end + 60 * k) for k in range(5)]
    recs = replay(env, "oscillation", cfg, lines)
    assert alerts(recs) == [("firing", "critical", T0 + 300),
                            ("resolved", "critical", end)], alerts(recs)


def test_stale_fires_once_per_silence(env):
    # fridge-01 falls silent twice while fridge-02 keeps reporting every
    # minute (so the replay clock never has a gap); fridge-03 never reports.
    cfg = """\
instruments:
  main/fridge-01:
    channels:
      temp: { unit: C, stale: 10m }
  main/fridge-02:
    channels:
      temp: { unit: C, stale: 10m }
  main/fridge-03:
    channels:
      temp: { unit: C, stale: 10m }
"""
    a_times = [T0 + 60 * k for k in range(30)]
    last1 = a_times[-1]
    resume1 = T0 + 3600
    a_times += [resume1 + 60 * k for k in range(11)]
    last2 = a_times[-1]
    resume2 = last2 + 20 * 60 + 30      # a 20.5-minute silence
    a_times += [resume2 + 60 * k for k in range(5)]
    end = a_times[-1]
    lines = [(t, sample("fridge-01", "temp", 5.0, t)) for t in a_times]
    lines += [(t + 15, sample("fridge-02", "temp", 4.0, t + 15))
              for t in range(T0, end + 60, 60)]
    lines = [l for _, l in sorted(lines)]
    recs = replay(env, "stale", cfg, lines)
    a = alerts(recs, "main/fridge-01/temp/stale")
    assert [s for s, _, _ in a] == ["firing", "resolved", "firing", "resolved"], a
    assert a[0][1] == "warning"
    assert last1 + 600 <= a[0][2] <= last1 + 660 and a[1][2] == resume1, (a, last1)
    assert last2 + 600 <= a[2][2] <= last2 + 660 and a[3][2] == resume2, (a, last2)
    # never a sample: stale 10 minutes after the input began, once
    n = alerts(recs, "main/fridge-03/temp/stale")
    assert [s for s, _, _ in n] == ["firing"], n
    assert T0 + 600 <= n[0][2] <= T0 + 720, (n, T0 + 600)
    never = [x for x in recs if x["key"] == "main/fridge-03/temp/stale"][0]
    assert "never" in never["summary"], never
    assert keys(recs) == ["main/fridge-01/temp/stale", "main/fridge-03/temp/stale"]


def test_counter_escalates_and_service_done_resolves(env):
    cfg = """\
instruments:
  main/centrifuge-01:
    channels:
      run_count: { service_every: 100, warn_at: 0.9 }
"""
    lines = [sample("centrifuge-01", "run_count", 5 * k, T0 + 600 * k) for k in range(22)]
    t_done = T0 + 600 * 22
    lines.append(event("centrifuge-01", t_done, event="service_done", counter="run_count",
                       by="biomed"))
    lines += [sample("centrifuge-01", "run_count", 105 + 5 * k, t_done + 600 * (k + 1))
              for k in range(10)]               # 50 more since the service: nothing
    recs = replay(env, "counter", cfg, lines)
    a = alerts(recs, "main/centrifuge-01/run_count/service")
    assert a == [("firing", "warning", T0 + 600 * 18), ("firing", "critical", T0 + 600 * 20),
                 ("resolved", "critical", t_done)], a
    ev = [x for x in recs if x["type"] == "event"]
    assert len(ev) == 1 and ev[0]["event"] == "service_done" and ev[0]["by"] == "biomed", ev
    assert ev[0]["counter"] == "run_count" and ev[0]["key"] == "main/centrifuge-01"
    assert keys(recs) == ["main/centrifuge-01/run_count/service"]


def test_calibration_overdue_fires_every_after_calibration_done(env):
    cfg = """\
instruments:
  main/microscope-01:
    channels:
      calibration: { every: 30d }
"""
    day = 86400
    lines = [event("microscope-01", T0, event="calibration_done", by="biomed")]
    # an unrelated channel moves the clock, one sample an hour for 32 days
    lines += [sample("microscope-01", "lamp_hours", 100 + h, T0 + 3600 * h)
              for h in range(1, 32 * 24)]
    t_done = T0 + 31 * day + 1800
    lines.insert(1 + 31 * 24, event("microscope-01", t_done, event="calibration_done",
                                    by="biomed"))
    recs = replay(env, "calibration", cfg, lines)
    a = alerts(recs, "main/microscope-01/calibration/calendar")
    assert [(s, sev) for s, sev, _ in a] == [("firing", "warning"), ("firing", "critical"),
                                            ("resolved", "critical")], a
    assert T0 + 27 * day <= a[0][2] <= T0 + 27 * day + 60, (a, T0 + 27 * day)
    assert T0 + 30 * day <= a[1][2] <= T0 + 30 * day + 60, (a, T0 + 30 * day)
    assert a[2][2] == t_done
    assert keys(recs) == ["main/microscope-01/calibration/calendar"]


def test_task_not_done_by_due_time_fires(env):
    cfg = """\
instruments:
  main/fridge-01:
    channels:
      temp: { unit: C }
    tasks:
      daily-clean: { every: 1d, due_by: "10:00" }
"""
    lines = [event("fridge-01", T0 + 3600, event="task_done", task="daily-clean", by="ann")]
    # Sunday 09:00 done: due Monday 10:00
    due = T0 + 86400 + 7200
    done = due + 3600
    lines += [sample("fridge-01", "temp", 5.0, T0 + 3600 + 600 * k) for k in range(1, 170)]
    idx = next(i for i, l in enumerate(lines) if json.loads(l.split(" ", 1)[1])["t"] > done)
    lines.insert(idx, event("fridge-01", done, event="task_done", task="daily-clean", by="ann"))
    recs = replay(env, "task", cfg, lines)
    a = alerts(recs, "main/fridge-01/daily-clean/task")
    assert [(s, sev) for s, sev, _ in a] == [("firing", "warning"), ("resolved", "warning")], a
    assert due <= a[0][2] <= due + 60, (a, due)
    assert a[1][2] == done
    assert keys(recs) == ["main/fridge-01/daily-clean/task"]


def test_maintenance_silences_equipment_not_qc(env):
    cfg = """\
instruments:
  main/chem-01:
    channels:
      temp: { unit: C, max: 8 }
    qc:
      glucose:
        levels:
          L1: { mean: 100, sd: 2 }
          L2: { mean: 250, sd: 5 }
"""
    lines = [sample("chem-01", "temp", 5.0, T0 + 60 * k) for k in range(5)]
    m_start, m_end = T0 + 300, T0 + 3600
    lines.append(event("chem-01", m_start, event="maintenance_start", by="biomed"))
    lines += [sample("chem-01", "temp", 9.5, m_start + 60 * (k + 1)) for k in range(20)]
    qc_t = m_start + 1500
    lines.append("lab/main/chem-01/qc/glucose/L1 " +
                 json.dumps({"value": 107.0, "t": qc_t, "run": "m1"}))
    lines.append("lab/main/chem-01/qc/glucose/L2 " +
                 json.dumps({"value": 250.0, "t": qc_t + 60, "run": "m1"}))
    lines += [sample("chem-01", "temp", 9.5, qc_t + 120 + 60 * k) for k in range(20)]
    lines.append(event("chem-01", m_end, event="maintenance_end", by="biomed"))
    lines += [sample("chem-01", "temp", 9.5, m_end + 60 * (k + 1)) for k in range(3)]
    back = m_end + 240
    lines += [sample("chem-01", "temp", 5.0, back + 60 * k) for k in range(3)]
    recs = replay(env, "maintenance", cfg, lines)
    rng = alerts(recs, "main/chem-01/temp/range")
    assert rng == [("firing", "critical", m_end), ("resolved", "critical", back)], rng
    q = alerts(recs, "main/chem-01/glucose/qc")
    assert q == [("firing", "critical", qc_t)], q
    ev = [(x["event"], epoch(x["ts"])) for x in recs if x["type"] == "event"]
    assert ev == [("maintenance_start", m_start), ("maintenance_end", m_end)], ev
    # in the record, nothing of the equipment between start and end
    during = [x for x in recs if x["type"] == "alert" and m_start <= epoch(x["ts"]) < m_end and
              not x["key"].endswith("/qc")]
    assert not during, during


def test_status_code_fires(env):
    cfg = """\
instruments:
  main/ulf-01:
    channels:
      status: { ok: [0, 3] }
"""
    codes = [0, 0, 3, 0, 5, 5, 7, 0, 0]
    lines = [sample("ulf-01", "status", c, T0 + 60 * k) for k, c in enumerate(codes)]
    recs = replay(env, "status", cfg, lines)
    a = alerts(recs, "main/ulf-01/status/status")
    assert a == [("firing", "critical", T0 + 240), ("resolved", "critical", T0 + 420)], a
    firing = [x for x in recs if x["type"] == "alert" and x["state"] == "firing"][0]
    assert "5" in firing["summary"] and firing["value"] == 5, firing


DRIFT = """\
instruments:
  main/centrifuge-01:
    channels:
      vibration: { unit: g, max: 4.5, drift: { lambda: 0.2, limit: 3, train: 50 } }
"""


def test_drift_catches_a_slow_ramp(env):
    rnd = random.Random(7)
    lines = []
    v_at = []
    for k in range(60 * 72):                # 72 hours, one sample a minute
        ramp = 0 if k < 120 else 0.045 * (k - 120) / 60   # 0.45 SD an hour after 2 h
        v = 2.0 + ramp + rnd.gauss(0, 0.1)
        v_at.append(v)
        lines.append(sample("centrifuge-01", "vibration", round(v, 4), T0 + 60 * k))
    recs = replay(env, "drift-ramp", DRIFT, lines)
    d = alerts(recs, "main/centrifuge-01/vibration/drift")
    r = alerts(recs, "main/centrifuge-01/vibration/range")
    assert d and d[0][:2] == ("firing", "warning"), d
    assert r and r[0][0] == "firing", r
    # drift fires at least a day before the hard limit does
    assert d[0][2] + 86400 < r[0][2], (d[0], r[0])
    assert d[0][2] > T0 + 120 * 60, d       # not during the in-control start
    firing = [x for x in recs if x["type"] == "alert" and x["key"].endswith("/drift")][0]
    assert "drifting up" in firing["summary"], firing


def test_drift_quiet_over_a_week_of_in_control_noise(env):
    rnd = random.Random(20251123)
    lines = [sample("centrifuge-01", "vibration", round(2.0 + rnd.gauss(0, 0.1), 4),
                    T0 + 60 * k) for k in range(7 * 1440)]
    recs = replay(env, "drift-week", DRIFT, lines)
    assert alerts(recs) == [], alerts(recs)
