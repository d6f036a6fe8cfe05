"""Scenario: SenML as devices send it (RFC 8428), issue 15.

Every example pack of RFC 8428 section 5.1, verbatim, plus a door
contact's booleans under a device URN, a unit that does not match the
channel's configured unit, and a pack mixing good records with refused
ones (vs, vd, s, a bad name), go through `labqcd --replay` and through a
real mosquitto into labqcd -f. Each pack is published on its own
instrument. Checked afterwards:

- every sample lands in its RRD file (`rrdtool lastupdate`, and for the
  packs with a series `rrdtool fetch` of the first row), the channel
  being the name's last component after ':' or '/';
- every refused record is a `dropped` record whose reason names the
  record (index and resolved name) and the field, and the rest of its
  pack is stored;
- a pack of a newer SenML version (bver 11) is refused whole: one
  `dropped` record, no RRD file.

Times: packs without a time are "now" (the replay clock, which the first
line sets to T0; the arrival time over MQTT); the RFC's absolute times are
2010 and 2011.
"""
import json
import os
import re
import subprocess
import time

from harness import LABQCD, publish, rrd_fetch, rrd_lastupdate, wait_for

T0 = 1763884800  # 2025-11-23T08:00:00Z
NOW = "now"
URN = "urn:dev:ow:10e2073a01080063"

CONFIG = """instruments:
  main/hygro-01:
    channels:
      10e2073a01080063: { unit: "%RH" }
  main/ow-7:
    channels:
      temp: { unit: C }
  main/probe-01:
    channels:
      temp: { unit: C }
"""

# RFC 8428 5.1.3 Multiple Measurements and 5.1.4, the same resolved.
RFC_513 = """[
  {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,
   "bu":"%RH","v":20},
  {"u":"lon","v":24.30621},
  {"u":"lat","v":60.07965},
  {"t":60,"v":20.3},
  {"u":"lon","t":60,"v":24.30622},
  {"u":"lat","t":60,"v":60.07965},
  {"t":120,"v":20.7},
  {"u":"lon","t":120,"v":24.30623},
  {"u":"lat","t":120,"v":60.07966},
  {"u":"%EL","t":150,"v":98},
  {"t":180,"v":21.2},
  {"u":"lon","t":180,"v":24.30628},
  {"u":"lat","t":180,"v":60.07967}
]"""
RFC_514 = """[
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067464e+09,
   "v":20},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067464e+09,
   "v":24.30621},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067464e+09,
   "v":60.07965},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067524e+09,
   "v":20.3},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067524e+09,
   "v":24.30622},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067524e+09,
   "v":60.07965},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067584e+09,
   "v":20.7},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067584e+09,
   "v":24.30623},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067584e+09,
   "v":60.07966},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%EL","t":1.320067614e+09,
   "v":98},
  {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067644e+09,
   "v":21.2},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067644e+09,
   "v":24.30628},
  {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067644e+09,
   "v":60.07967}
]"""
# The humidity is kept (20 at 13:24:24 UTC ... 21.2 three minutes later);
# latitude, longitude and battery share its name, so their records are
# refused by unit: against the configured "%RH" on hygro-01, against the
# pack's first unit for that channel elsewhere.
UNIT_REFUSED_513 = [(1, "lon"), (2, "lat"), (4, "lon"), (5, "lat"), (7, "lon"), (8, "lat"),
                    (9, "%EL"), (11, "lon"), (12, "lat")]


def measurements(ins, pack, configured):
    why = "does not match the unit of channel" if configured else "differs from %RH"
    return (f"lab/main/{ins}/humidity", pack,
            {f"main/{ins}/10e2073a01080063": (1320067644, 21.2)},
            {f"main/{ins}/10e2073a01080063": (1320067440, 20)},
            [(f'SenML record {i} "{URN}"', f'"u" {u} {why}') for i, u in UNIT_REFUSED_513])


# (topic, payload, {series: (last time, last value)}, {series: (first row, value)},
#  [(record named in the reason, field/why in the reason)])
PACKS = [
    # 5.1.1 Single Datapoint
    ("lab/main/ow-1/temp",
     '[\n  {"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}\n]',
     {"main/ow-1/10e2073a01080063": (NOW, 23.1)}, {}, []),
    # 5.1.2 Multiple Datapoints
    ("lab/main/ow-2/power",
     '[\n  {"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},\n'
     '  {"n":"current","u":"A","v":1.2}\n]',
     {"main/ow-2/voltage": (NOW, 120.1), "main/ow-2/current": (NOW, 1.2)}, {}, []),
    # 5.1.2, with base time 2010-06-08T18:01:16.001Z, base unit and bver 5;
    # current at t -5 .. 0 s: the first row of the file (the minute to
    # 18:01:00) holds the first value, 1.2
    ("lab/main/ow-3/power",
     """[
  {"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,
   "bu":"A","bver":5,
   "n":"voltage","u":"V","v":120.1},
  {"n":"current","t":-5,"v":1.2},
  {"n":"current","t":-4,"v":1.3},
  {"n":"current","t":-3,"v":1.4},
  {"n":"current","t":-2,"v":1.5},
  {"n":"current","t":-1,"v":1.6},
  {"n":"current","v":1.7}
]""",
     {"main/ow-3/voltage": (1276020076.001, 120.1),
      "main/ow-3/current": (1276020076.001, 1.7)},
     {"main/ow-3/voltage": (1276020060, 120.1), "main/ow-3/current": (1276020060, 1.2)}, []),
    # 5.1.3 Multiple Measurements, on a channel configured "%RH" and not
    measurements("hygro-01", RFC_513, True),
    measurements("hygro-02", RFC_513, False),
    # 5.1.4 Resolved Data
    measurements("hygro-03", RFC_514, False),
    # 5.1.5 Multiple Data Types: temp in Cel on a channel configured "C"
    ("lab/main/ow-7/state",
     '[\n  {"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},\n'
     '  {"n":"label","vs":"Machine Room"},\n  {"n":"open","vb":false},\n'
     '  {"n":"nfc-reader","vd":"aGkgCg"}\n]',
     {"main/ow-7/temp": (NOW, 23.1), "main/ow-7/open": (NOW, 0)}, {},
     [(f'SenML record 1 "{URN}:label"', '"vs"'),
      (f'SenML record 3 "{URN}:nfc-reader"', '"vd"')]),
    # 5.1.6 Collection of Resources: two devices' temperature and
    # humidity at one time (16:27:09 UTC); on one topic they are the same
    # channels, so the second device's records are duplicates
    ("lab/main/gw-1/env",
     """[
  {"bn":"2001:db8::2/","bt":1.320078429e+09,
   "n":"temperature","u":"Cel","v":25.2},
  {"n":"humidity","u":"%RH","v":30},
  {"bn":"2001:db8::1/","n":"temperature","u":"Cel","v":12.3},
  {"n":"humidity","u":"%RH","v":67}
]""",
     {"main/gw-1/temperature": (1320078429, 25.2), "main/gw-1/humidity": (1320078429, 30)},
     {}, [('SenML record 2 "2001:db8::1/temperature"', "late or duplicate"),
          ('SenML record 3 "2001:db8::1/humidity"', "late or duplicate")]),
    # 5.1.7 Setting an Actuator: a record of base name only, then three
    ("lab/main/thermo-1/set",
     '[\n  {"bn":"urn:dev:ow:10e2073a01080063:"},\n  {"n":"temp","u":"Cel","v":23.1},\n'
     '  {"n":"heat","u":"/","v":1},\n  {"n":"fan","u":"/","v":0}\n]',
     {"main/thermo-1/temp": (NOW, 23.1), "main/thermo-1/heat": (NOW, 1),
      "main/thermo-1/fan": (NOW, 0)}, {}, []),
    ("lab/main/lights-1/on",
     '[\n  {"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":1},\n'
     '  {"n":"2001:db8::4","v":1}\n]',
     {"main/lights-1/3": (1320078429, 1), "main/lights-1/4": (1320078429, 1)}, {}, []),
    ("lab/main/lights-2/off",
     '[\n  {"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":0.5},\n'
     '  {"n":"2001:db8::4","v":0.5},\n  {"n":"2001:db8::3","t":0.1,"v":0},\n'
     '  {"n":"2001:db8::4","t":0.1,"v":0}\n]',
     {"main/lights-2/3": (1320078429.1, 0), "main/lights-2/4": (1320078429.1, 0)}, {}, []),
    # a door contact under its device URN: booleans, relative times
    ("lab/main/fridge-09/door",
     '[{"bn":"urn:dev:mac:0024befffe804ff1:","n":"door","vb":true,"t":-60},'
     '{"n":"door","vb":false}]',
     {"main/fridge-09/door": (NOW, 0)}, {}, []),
    # a unit that is not the channel's ("C"): kelvin refused, Cel kept
    ("lab/main/probe-01/x",
     '[{"bn":"urn:dev:ow:abc:","n":"temp","u":"K","v":277.15,"t":-60},'
     '{"n":"temp","u":"Cel","v":4.0}]',
     {"main/probe-01/temp": (NOW, 4.0)}, {},
     [('SenML record 0 "urn:dev:ow:abc:temp"', '"u" K does not match the unit of channel temp, C')]),
    # what cannot be a sample, record by record; a and g are kept
    ("lab/main/mixed-01/x",
     '[{"bn":"urn:dev:ow:m1:","n":"a","v":1},{"n":"b","vs":"on"},{"n":"c","vd":"aGk"},'
     '{"n":"d","s":5},{"n":"e f","v":2},{"n":"g","v":3}]',
     {"main/mixed-01/a": (NOW, 1), "main/mixed-01/g": (NOW, 3)}, {},
     [('SenML record 1 "urn:dev:ow:m1:b"', '"vs"'),
      ('SenML record 2 "urn:dev:ow:m1:c"', '"vd"'),
      ('SenML record 3 "urn:dev:ow:m1:d"', '"s"'),
      ('SenML record 4 "urn:dev:ow:m1:e f"', '"n"')]),
    # a newer SenML version: the whole pack
    ("lab/main/mixed-02/x", '[{"bver":11,"n":"a","v":1},{"n":"b","v":2}]', {}, {},
     [("SenML record 0", '"bver" 11 is newer')]),
]
CLOCK_LINE = 'lab/main/clock-01/temp {"value": 4.0, "t": %d}' % T0


def check_dropped(dropped):
    """Each expected refusal is a dropped record on its topic naming the
    record and the field; there are no others."""
    want = [(topic, rec, why) for topic, _, _, _, refs in PACKS for rec, why in refs]
    got = [(r["topic"], r["reason"]) for r in dropped]
    for topic, rec, why in want:
        hits = [reason for t, reason in got
                if t == topic and reason.startswith(rec + ":") and why in reason]
        assert len(hits) == 1, (topic, rec, why, [g for g in got if g[0] == topic])
    assert len(got) == len(want), "\n".join(f"{t}: {r}" for t, r in got)


def check_rrds(rrd_dir, now_lo, now_hi):
    for _, _, last, first, _ in PACKS:
        for series, (t, v) in last.items():
            path = os.path.join(rrd_dir, series + ".rrd")
            assert os.path.exists(path), series
            lt, lv = rrd_lastupdate(path)
            assert abs(lv - v) < 1e-9, (series, lv, v)
            if t == NOW:
                assert now_lo - 61 <= lt <= now_hi + 1, (series, lt, now_lo, now_hi)
            else:  # rrdtool lastupdate prints whole seconds
                assert abs(lt - t) < 1, (series, lt, t)
        for series, (row, v) in first.items():
            rows = rrd_fetch(os.path.join(rrd_dir, series + ".rrd"), row - 60, row)
            assert abs(rows.get(row, float("nan")) - v) < 1e-9, (series, row, rows)
    # the refused pack made no file, and no file is named after a refused record
    assert not os.path.exists(os.path.join(rrd_dir, "main", "mixed-02"))
    assert sorted(os.listdir(os.path.join(rrd_dir, "main", "mixed-01"))) == ["a.rrd", "g.rrd"]
    assert sorted(os.listdir(os.path.join(rrd_dir, "main", "ow-7"))) == ["open.rrd", "temp.rrd"]


def test_senml_replay(env):
    cfg = os.path.join(env.dir, "replay.yaml")
    with open(cfg, "w") as f:
        f.write("daemon:\n"
                f"  state_dir: {env.dir}/state\n"
                f"  rrd_dir: {env.dir}/rrd\n"
                f"  www_dir: {env.dir}/www\n"
                "mqtt:\n  prefix: lab\n" + CONFIG)
    # one pack a line: mosquitto_sub -v prints the payload as sent, and a
    # pack sent on one line is what most devices do
    lines = [CLOCK_LINE] + [f"{topic} {json.dumps(json.loads(p))}" for topic, p, *_ in PACKS]
    inp = os.path.join(env.dir, "input.txt")
    with open(inp, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([LABQCD, "-c", cfg, "--replay", inp], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    check_dropped([x for x in recs if x["type"] == "dropped"])
    # In replay "now" is the clock, which the first line set to T0.
    check_rrds(os.path.join(env.dir, "rrd"), T0, T0)
    m = re.search(r"(\d+) samples stored, (\d+) inputs dropped", r.stderr)
    assert m, r.stderr
    # every sample of every pack: 1 clock + 41 from the packs, below
    assert int(m.group(1)) == 1 + 1 + 2 + 7 + 4 * 3 + 2 + 2 + 3 + 2 + 4 + 2 + 1 + 2, r.stderr
    assert int(m.group(2)) == sum(len(p[4]) for p in PACKS), r.stderr


def test_senml_mqtt(env):
    broker = env.broker()
    d = env.labqcd(broker.port, config_body=CONFIG)
    start = time.time()
    publish(broker.port, "lab/main/clock-01/temp", json.dumps({"value": 4.0, "t": T0}))
    for topic, payload, *_ in PACKS:
        publish(broker.port, topic, payload)  # as written, newlines and all
    want = sum(len(p[4]) for p in PACKS)

    def landed():
        if len([r for r in d.audit() if r["type"] == "dropped"]) < want:
            return False
        for _, _, last, _, _ in PACKS:
            for series, (_, v) in last.items():
                path = d.rrd_path(series)
                if not os.path.exists(path) or abs(rrd_lastupdate(path)[1] - v) > 1e-9:
                    return False
        return True

    wait_for(landed, 60, 0.2, "every SenML sample in its RRD and every refusal recorded")
    end = time.time()
    assert d.alive(), "labqcd died:\n" + d.log()
    assert d.stop() == 0, d.log()
    check_dropped([r for r in d.audit() if r["type"] == "dropped"])
    check_rrds(d.rrd, start, end)
