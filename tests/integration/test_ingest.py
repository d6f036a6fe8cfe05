"""Scenario: MQTT ingestion into RRD files, with hostile input mixed in.

A real mosquitto on a free loopback port and labqcd -f. mosquitto_pub
publishes 1,000 samples over 10 channels in the three payload forms (JSON
objects with epoch and RFC 3339 times, SenML packs with bn/bt and relative
t, bare numbers), plus hostile topics and payloads. After SIGTERM every
channel's RRD must hold the right last value (rrdtool lastupdate) and, for
the timestamped channels, exactly one known row per published minute with
that minute's value (rrdtool fetch); no file may exist outside rrd_dir;
the daemon must never have died and must exit 0.
"""
import datetime
import json
import os
import time

from harness import (publish, publish_lines, rrd_fetch, rrd_lastupdate, wait_for)

CHANNELS = [
    ("main", "fridge-01", "temp", "json"),
    ("main", "fridge-02", "temp", "json-rfc3339"),
    ("main", "freezer-01", "temp", "json"),
    ("main", "centrifuge-01", "rpm", "json-v"),
    ("main", "centrifuge-01", "vibration", "senml"),
    ("east", "incubator-01", "temp", "senml"),
    ("east", "incubator-01", "co2", "senml-pairs"),
    ("east", "water-01", "resistivity", "number"),
    ("main", "microscope-01", "lamp_hours", "number"),
    ("main", "ulf-01", "temp", "number"),
]
PER_CHANNEL = 100

HOSTILE_TOPICS = [
    "lab/../x/y",
    "lab/a/../../b",
    "lab/main/../../../escape",
    "lab/main/fridge 01/temp",
    "lab/main/fr\u00efdge/temp",
    "lab/" + "a" * 300 + "/x/y",
    "lab/main/.hidden/temp",
    "lab/main//temp",
    "lab/main/fridge-01/temp/extra/deep",
    "lab/main/-dash/temp",
]
HOSTILE_PAYLOADS = [
    "NaN", "inf", "-Infinity", "abc", "{", "1e999", "4.2.1", "",
    '{"value":"x"}', '{"value":true}', '{"t":1}',
    '[{"n":"../../etc","v":1}]', '[{"n":"a b","v":1}]',
    "9" * 100000,
]


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")


def value(ci, k):
    return ci * 1000 + k + 0.25


def payloads(ci, form, t0):
    out = []
    if form == "senml-pairs":
        for k in range(0, PER_CHANNEL, 2):
            rec = [{"bn": "", "bt": t0 + 60 * k, "n": "co2", "v": value(ci, k), "t": 0},
                   {"n": "co2", "v": value(ci, k + 1), "t": 60}]
            out.append(json.dumps(rec))
        return out
    for k in range(PER_CHANNEL):
        t = t0 + 60 * k
        v = value(ci, k)
        if form == "json":
            out.append(json.dumps({"value": v, "t": t}))
        elif form == "json-rfc3339":
            out.append(json.dumps({"value": v, "ts": iso(t), "extra": "ignored"}))
        elif form == "json-v":
            out.append(json.dumps({"v": v, "t": t + 0.0}))
        elif form == "senml":
            out.append(json.dumps([{"bt": t, "v": v}]))
        elif form == "number":
            out.append(repr(v))
    return out


def test_ingest_three_forms_and_hostile_input(env):
    parent = os.path.dirname(env.dir)
    escapes = ("x", "b", "escape", "etc")
    before = {n for n in escapes if os.path.exists(os.path.join(parent, n))}
    broker = env.broker()
    d = env.labqcd(broker.port)
    t0 = (int(time.time()) // 60) * 60 - 300 * 60

    for ci, (site, ins, ch, form) in enumerate(CHANNELS):
        publish_lines(broker.port, f"lab/{site}/{ins}/{ch}", payloads(ci, form, t0))
        # hostile input interleaved with the good
        if ci < len(HOSTILE_TOPICS):
            publish(broker.port, HOSTILE_TOPICS[ci], "1.0")
    for p in HOSTILE_PAYLOADS:
        publish(broker.port, "lab/main/fridge-01/temp", p)

    def all_landed():
        for ci, (site, ins, ch, form) in enumerate(CHANNELS):
            path = d.rrd_path(f"{site}/{ins}/{ch}")
            if not os.path.exists(path):
                return False
            if rrd_lastupdate(path)[1] != value(ci, PER_CHANNEL - 1):
                return False
        return True

    wait_for(all_landed, 60, 0.2, "every channel's last value in its RRD")
    assert d.alive(), "labqcd died:\n" + d.log()
    assert d.stop() == 0, "labqcd did not exit 0 on SIGTERM:\n" + d.log()

    for ci, (site, ins, ch, form) in enumerate(CHANNELS):
        path = d.rrd_path(f"{site}/{ins}/{ch}")
        last_t, last_v = rrd_lastupdate(path)
        assert last_v == value(ci, PER_CHANNEL - 1), (path, last_v)
        if form == "number":
            # Bare numbers take their arrival time: all 100 arrive within a
            # second or two, so minute rows cannot tell them apart. The
            # last value is checked above; none may have been refused.
            continue
        rows = rrd_fetch(path, t0 - 60, t0 + 60 * PER_CHANNEL)
        want = {t0 + 60 * k: value(ci, k) for k in range(PER_CHANNEL)}
        assert len(rows) == PER_CHANNEL, (path, len(rows))
        for t, v in want.items():
            assert abs(rows.get(t, float("nan")) - v) < 1e-9, (path, t, rows.get(t), v)

    # Only the expected files exist: nothing escaped rrd_dir.
    want_rrds = {os.path.join(d.rrd, s, i, c + ".rrd") for s, i, c, _ in CHANNELS}
    found_rrds = set()
    for root, dirs, files in os.walk(env.dir):
        for f in files:
            p = os.path.join(root, f)
            if p.endswith(".rrd"):
                found_rrds.add(p)
    assert found_rrds == want_rrds, found_rrds ^ want_rrds
    top = set(os.listdir(env.dir))
    assert top <= {"broker", "state", "rrd", "www", "labqcd.yaml", "labqcd.log"}, top
    after = {n for n in escapes if os.path.exists(os.path.join(parent, n))}
    assert after == before, f"escaped the test directory: {after - before}"

    # Every hostile input is in the record as dropped, with a reason.
    dropped = [r for r in d.audit() if r["type"] == "dropped"]
    assert len(dropped) >= len(HOSTILE_TOPICS) + len(HOSTILE_PAYLOADS) - 1, len(dropped)
    assert all(r.get("reason") for r in dropped)
    # No bare-number sample was refused.
    number_topics = {f"lab/{s}/{i}/{c}" for s, i, c, f in CHANNELS if f == "number"}
    assert not [r for r in dropped if r["topic"] in number_topics]
