"""Scenario: a fleet of labqcd on one broker, each owning one site (issue 21,
acceptance 1).

One real mosquitto, one real rrdcached on a loopback TCP port (the storage
host: `daemon.rrdcached: 127.0.0.1:PORT`, files named below its base
directory), two labqcd ("east" subscribing lab/east/#, "west"
lab/west/#), each with its own state_dir, client_id and SMTP receiver, and
a `fleet:` block (peers_topic lab/labqcd/fleet):

1. both start; each announces its slice; east's config also names an
   instrument of a site nobody subscribes to, and east logs it once as in
   no slice;
2. samples for both sites (QoS 1, with their times): every one is in its
   RRD file on the storage host, one row a minute, exact values; nothing
   on the instances' own disks;
3. one out-of-range sample per site: each alert is mailed exactly once, by
   the instance that owns the site (its own SMTP receiver), never by the
   other;
4. both dashboards' index pages list both sites in their Fleet section,
   the peer with a link to its fleet.url; `labqcctl status --fleet`
   prints both;
5. a third labqcd whose subscribe (lab/#) overlaps both refuses to start
   (exit 1) naming the other instance and the overlapping filters, and
   takes no input (no journal); one that claims east's name with another
   client_id is refused too;
6. west is killed with SIGKILL while samples keep coming for both sites:
   its last will shows it "down" to east (status --fleet and east's
   dashboard) before it is started again with the same client_id and
   state_dir; afterwards every sample of its slice is in its file (the
   broker kept them in its persistent session), east never stopped (same
   PID, its samples exact), and no alert was mailed a second time.
"""
import json
import os
import subprocess
import time

from harness import (BUILD, Labqcd, Rrdcached, Smtp, publish, rrd_fetch, rrd_lastupdate,
                     wait_for)

LABQCCTL = os.path.join(BUILD, "labqcctl")
PEERS = "lab/labqcd/fleet"
SITES = {"east": ("fridge-e1", 0), "west": ("fridge-w1", 1)}  # instrument, value offset


CACHED = {}  # the storage host of the test running: env.dir -> Rrdcached


def storage(env, name):
    """The daemon: lines for the instance's storage: one rrdcached on a
    loopback TCP port for the whole fleet, its base directory the storage
    host's RRD directory (every labqcd names its files below rrd_dir)."""
    if env.dir not in CACHED:
        CACHED[env.dir] = Rrdcached(os.path.join(env.dir, "storage")).start()
        env.procs.append(CACHED[env.dir])
    return f"  rrdcached: {CACHED[env.dir].addr}\n"


def storage_file(rel):
    """A file as the storage host holds it (labqcd confirms each write with
    rrdcached's FLUSH, so the file is current once labqcd wrote it)."""
    (cached,) = CACHED.values()
    return os.path.join(cached.base, rel + ".rrd")


def instance(env, name, broker_port, smtp_port, subscribe, client_id=None, fleet_name=None,
             extra_instruments=""):
    """One labqcd of the fleet in env.dir/<name>, not started."""
    ins, _ = SITES.get(name, ("fridge-x1", 0))
    site = name if name in SITES else "north"
    body = (
        f"  subscribe: [{subscribe}]\n"        # continues mqtt:
        "fleet:\n"
        f"  name: {fleet_name or name}\n"
        f"  peers_topic: {PEERS}\n"
        f"  url: http://{name}.lab.example/\n"
        "smtp:\n"
        f"  url: smtp://127.0.0.1:{smtp_port}\n"
        f"  from: labqcd-{name}@lab.example\n"
        "  timeout: 10s\n"
        "profiles:\n"
        "  fridge:\n"
        "    temp: { unit: C, min: 2, max: 8, delay: 0s }\n"
        "instruments:\n"
        f"  {site}/{ins}: {{ profile: fridge }}\n"
        + extra_instruments +
        "receivers:\n"
        f"  team: {{ email: [qc-{name}@lab.example] }}\n"
        "routes:\n"
        "  - match: { kind: equipment }\n"
        "    receivers: [team]\n"
        "    group_wait: 1s\n"
        "    repeat: 0\n"
    )
    wd = os.path.join(env.dir, name if client_id is None else name + "-" + client_id)
    os.makedirs(wd, exist_ok=True)
    d = Labqcd(wd, broker_port, config_body=body,
               client_id=client_id or f"labqcd-fleet-{name}-{os.getpid()}",
               daemon_extra="  dashboard_interval: 1s\n" + storage(env, name))
    env.daemons.append(d)
    return d


def ctl(d, *args):
    r = subprocess.run([LABQCCTL, "-s", os.path.join(d.dir, "labqcd.sock"), "--json"] +
                       list(args), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return json.loads(r.stdout)


def fleet_of(d):
    """{name: member} from `labqcctl status --fleet --json`."""
    out = ctl(d, "status", "--fleet")
    return {m["name"]: m for m in out["fleet"]}


def index(d):
    try:
        with open(os.path.join(d.www, "index.html")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def fleet_section(d):
    html = index(d)
    start = html.find('<section id="fleet">')
    return html[start:html.find("</section>", start)] if start >= 0 else ""


def member_row(section, name):
    """The Fleet table's row of one instance ("" when absent)."""
    for row in section.split("<tr>")[1:]:
        if row.startswith(f"<td>{name}"):
            return row
    return ""


def wait_subscribed(d, what):
    """The input connection's SUBACK: from then on the broker keeps the
    slice's messages for the persistent session (the harness's "connected
    to" may be the fleet connection's line)."""
    wait_for(lambda: ctl(d, "status")["broker"]["subscribed"], 20, 0.1,
             what=f"{what} to subscribe")


def value(name, k):
    return round(4 + SITES[name][1] * 0.5 + k * 0.001, 3)


def history_topic(name):
    return f"lab/{name}/{SITES[name][0]}/load"


def history_path(d, name):
    return storage_file(f"{name}/{SITES[name][0]}/load")


def check_rows(d, name, t0, n):
    path = history_path(d, name)
    rows = rrd_fetch(path, t0 - 60, t0 + 60 * n)
    missing = [k for k in range(n) if t0 + 60 * k not in rows]
    assert not missing, f"{path}: {len(missing)} minutes missing, first {missing[:5]}"
    wrong = [(k, rows[t0 + 60 * k]) for k in range(n)
             if abs(rows[t0 + 60 * k] - value(name, k)) > 1e-9]
    assert not wrong, f"{path}: wrong values {wrong[:5]}"
    assert len(rows) == n, (path, len(rows), n)


def wait_last(d, name, n, timeout=90):
    p = history_path(d, name)
    wait_for(lambda: os.path.exists(p) and rrd_lastupdate(p)[1] == value(name, n - 1),
             timeout, 0.2, f"the last sample of {name} in {p}")


def feeders(port):
    return {name: subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port),
                                    "-q", "1", "-t", history_topic(name), "-l"],
                                   stdin=subprocess.PIPE) for name in SITES}


def feed(fs, t0, k):
    for name, p in fs.items():
        p.stdin.write((json.dumps({"v": value(name, k), "t": t0 + 60 * k}) + "\n").encode())
        p.stdin.flush()


def test_fleet(env):
    broker = env.broker()
    smtp = {name: Smtp(os.path.join(env.dir, "smtp-" + name)).start() for name in SITES}
    env.procs += list(smtp.values())
    east = instance(env, "east", broker.port, smtp["east"].port, "lab/east/#",
                    extra_instruments="  lost/fridge-z9: { profile: fridge }\n")
    west = instance(env, "west", broker.port, smtp["west"].port, "lab/west/#")

    # 1. Both start and announce; the instrument of no slice is logged once.
    east.start()
    west.start()
    for d, name in ((east, "east"), (west, "west")):
        wait_for(lambda: f"fleet: announced {name} up" in d.log(), 15,
                 what=f"{name}'s announcement")
        wait_subscribed(d, name)
    assert east.log().count("instrument lost/fridge-z9 is in no slice") == 1, east.log()
    assert "in no slice" not in west.log(), west.log()
    assert "east/fridge-e1 is in no slice" not in east.log()
    east_pid = east.proc.pid

    # 2. Samples for both sites, with their times, 2 hours ago.
    fs = feeders(broker.port)
    n, kill_at, restart_at = 300, 100, 200
    t0 = (int(time.time()) // 60) * 60 - (n + 60) * 60
    for k in range(kill_at):
        feed(fs, t0, k)

    # 3. One alert per site, each mailed once by its owner.
    for name in SITES:
        publish(broker.port, f"lab/{name}/{SITES[name][0]}/temp",
                json.dumps({"v": 12.5, "t": round(time.time(), 3)}))
    for name in SITES:
        wait_for(lambda: len(smtp[name].messages()) >= 1, 30, 0.2,
                 what=f"{name}'s alert email")

    # 4. One view: each index lists both sites, the peer with its link.
    for d, me, peer in ((east, "east", "west"), (west, "west", "east")):
        def both_listed():
            sec = fleet_section(d)
            mine, theirs = member_row(sec, me), member_row(sec, peer)
            return (mine != "" and theirs != "" and
                    f'href="http://{peer}.lab.example/"' in theirs and "no summary" not in theirs)
        wait_for(both_listed, 40, 0.3, what=f"{me}'s index to list {peer} with its summary")
        sec = fleet_section(d)
        assert "(this one)" in member_row(sec, me)
        assert ">up<" in member_row(sec, peer), member_row(sec, peer)
        members = fleet_of(d)
        assert set(members) == {"east", "west"}, members
        assert members[me]["self"] and not members[peer]["self"]
        assert members[peer]["state"] == "up"
        assert members[peer]["filters"] == [f"lab/{peer}/#"]
        assert members[peer]["url"] == f"http://{peer}.lab.example/"
        wait_for(lambda: fleet_of(d)[peer].get("summary", {}).get("sites") is not None and
                 peer in fleet_of(d)[peer]["summary"]["sites"], 40, 0.5,
                 what=f"{peer}'s summary at {me}")
    # east's summary counts its firing alert (critical) and two instruments.
    s = fleet_of(west)["east"]["summary"]
    wait_for(lambda: fleet_of(west)["east"]["summary"]["alerts"]["critical"] == 1, 40, 0.5,
             what="east's firing alert in its summary at west")
    assert s["instruments"]["total"] == 2 and sorted(s["sites"]) == ["east", "lost"], s

    # Hostile publishers under peers_topic: refused and logged, nothing
    # breaks; a peer's javascript: url is shown escaped, never as a link.
    publish(broker.port, f"{PEERS}/evil", "not json")
    publish(broker.port, f"{PEERS}/evil/status", '{"instruments":{"list":[{"site":"<b>"}]}}')
    publish(broker.port, f"{PEERS}/evil", json.dumps({"name": "other", "state": "up",
                                                      "filters": ["lab/#"]}))
    publish(broker.port, f"{PEERS}/mallory", json.dumps(
        {"name": "mallory", "state": "down", "filters": ["lab/m/#"],
         "url": "javascript:alert(1)//<script>"}))
    wait_for(lambda: member_row(fleet_section(east), "mallory") != "", 20, 0.2,
             what="mallory on east's index")
    row = member_row(fleet_section(east), "mallory")
    assert "href" not in row and "<script>" not in row and "&lt;script&gt;" in row, row
    # The first refusal is logged; the next ones are rate-limited (complain).
    assert "lab/labqcd/fleet/evil: announcement refused: not a JSON object" in east.log()
    assert "evil" not in fleet_of(east)  # neither the bad status nor the wrong name made it
    assert east.alive() and west.alive()

    # 5. An overlapping third instance and a second "east" are refused.
    for name, sub, cid, fname, why in (
            ("north", "lab/#", None, None, "overlaps"),
            ("east", "lab/east/#", "other", "east", "claims this slice's name")):
        third = instance(env, name, broker.port, smtp["east"].port, sub, client_id=cid,
                         fleet_name=fname)
        third.start(wait_connected=False)
        third.proc.wait(30)
        rc = third.proc.returncode
        third.proc = None
        log = third.log()
        assert rc == 1, (rc, log)
        assert "refusing to start" in log, log
        assert why in log, log
        if name == "north":
            assert '"east"' in log or '"west"' in log, log
            assert "lab/# overlaps lab/east/#" in log or "lab/# overlaps lab/west/#" in log, log
        assert not os.path.exists(os.path.join(third.state, "journal")), "it took input"
    assert fleet_of(east)["east"]["state"] == "up"  # the refused one changed nothing

    # 6. kill -9 of west while samples keep coming.
    for k in range(kill_at, restart_at):
        if k == kill_at + 20:
            time.sleep(0.3)  # some of it taken and acknowledged
            west.kill9()
            wait_for(lambda: fleet_of(east)["west"]["state"] == "down", 15, 0.2,
                     what="west's last will at east")
            wait_for(lambda: ">down<" in member_row(fleet_section(east), "west"), 15, 0.2,
                     what="west down on east's dashboard")
        feed(fs, t0, k)
        time.sleep(0.004)
    assert west.proc is None
    west.start()
    wait_for(lambda: fleet_of(east)["west"]["state"] == "up", 20, 0.2,
             what="west up again at east")
    for k in range(restart_at, n):
        feed(fs, t0, k)
        time.sleep(0.004)
    for p in fs.values():
        p.stdin.close()
        assert p.wait(60) == 0
    for d, name in ((east, "east"), (west, "west")):
        wait_last(d, name, n)
    assert east.alive() and east.proc.pid == east_pid, "east stopped"
    time.sleep(3)  # a second email would come within group_wait
    for name in SITES:
        msgs = smtp[name].messages()
        assert len(msgs) == 1, (name, [m["Subject"] for _, m in msgs])
        subject = msgs[0][1]["Subject"]
        assert f"{name}/{SITES[name][0]}" in subject, subject
        other = "west" if name == "east" else "east"
        assert SITES[other][0] not in subject
    assert east.stop() == 0, east.log()
    # A clean stop says "down" itself (no will is sent for a DISCONNECT).
    wait_for(lambda: fleet_of(west)["east"]["state"] == "down", 10, 0.2,
             what="east's clean stop at west")
    assert west.stop() == 0, west.log()
    for d, name in ((east, "east"), (west, "west")):
        check_rows(d, name, t0, n)
        # over TCP nothing is written on the instance's own disk
        assert not os.path.exists(d.rrd_path(f"{name}/{SITES[name][0]}/load"))
