"""Scenario: who did it (issue 20), tried as real other users.

The test creates system users and groups (useradd, groupadd; names carry
the test's PID, so two runs never collide) and removes them afterwards,
whatever happened. labqcd runs as its own created user and hands its
socket to a created control group; labqcctl runs as each person with
runuser.

1. Roles: a member of the control group whose groups no grant names is
   refused `ack` (exit 1) and a `denied` record names account, command
   and target; a bench technician with the right is recorded by account
   whatever display name they pass ("root" included); a grant limited by
   `on: [main/*]` refuses another site; no comment on a critical alert is
   refused; reload needs `all` but root may always; someone outside the
   control group cannot reach the socket at all (exit 3).
2. Signed acknowledgements over MQTT: one signed with the README's shell
   recipe (openssl) is accepted and recorded by its user; a bad
   signature, an old timestamp, a replay and an unsigned ack are refused
   with `denied` records; with mqtt_ack: off a good one is refused too.
   The webhook a firing alert sends carries the audit anchor.
3. The anchor: a log with its last line cut, and one with its last line
   edited, fail verify-audit; labqcd started on either moves it aside and
   goes on with a new log whose first record names the old head; the
   anchor is retained on lab/labqcd/audit/head.
4. -t says what access: means, and that without it every member of the
   control group may do everything.
"""
import grp
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import time

from faults_common import start_hook
from harness import BUILD, LABQCD, ROOT, publish, wait_for
from signing import signed_ack

LABQCCTL = os.path.join(BUILD, "labqcctl")
KEY1 = "main/fridge-01/temp/range"
KEY2 = "main/fridge-02/temp/range"
KEY9 = "annex/fridge-09/temp/range"


class Accounts:
    """System users and groups made for one test, removed on exit (even on
    failure); every name ends in the test's PID."""

    def __init__(self):
        self.tag = str(os.getpid())
        self.users, self.groups = [], []

    def name(self, base):
        return f"lq{base}{self.tag}"

    def group(self, base):
        n = self.name(base)
        subprocess.run(["groupadd", "--system", n], check=True, capture_output=True)
        self.groups.append(n)
        return n

    def user(self, base, groups=()):
        n = self.name(base)
        argv = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                "--user-group"]
        if groups:
            argv += ["--groups", ",".join(groups)]
        subprocess.run(argv + [n], check=True, capture_output=True)
        self.users.append(n)
        return n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for u in reversed(self.users):
            subprocess.run(["userdel", u], capture_output=True)
        for g in reversed(self.groups):
            subprocess.run(["groupdel", g], capture_output=True)
        left = [u for u in self.users if _exists(pwd.getpwnam, u)] + \
               [g for g in self.groups if _exists(grp.getgrnam, g)]
        assert not left, f"accounts left behind: {left}"


def _exists(lookup, name):
    try:
        lookup(name)
        return True
    except KeyError:
        return False


# The other users run a copy of labqcctl the test puts where they can reach
# it: the build's may be under a directory only root may enter (a checkout
# in /root, as on a fresh machine).
CTL_COPY = {}


def as_user(user, sock, *args):
    prog = CTL_COPY.get("path", LABQCCTL)
    argv = ["runuser", "-u", user, "--", prog, "-s", sock] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def reachable_labqcctl(directory):
    """A copy of labqcctl in `directory` (mode 0755) for as_user."""
    path = os.path.join(directory, "labqcctl")
    shutil.copy(LABQCCTL, path)
    os.chmod(path, 0o755)
    CTL_COPY["path"] = path


def as_root(sock, *args):
    return subprocess.run([LABQCCTL, "-s", sock] + list(args), capture_output=True, text=True,
                          timeout=60)


def fridges(extra=""):
    return (
        "profiles:\n"
        "  fridge:\n"
        "    temp: { unit: C, min: 2, max: 8, delay: 0s }\n"
        "instruments:\n"
        "  main/fridge-01: { profile: fridge }\n"
        "  main/fridge-02: { profile: fridge }\n"
        "  annex/fridge-09: { profile: fridge }\n"
        + extra
    )


def fire(port, *paths):
    for p in paths:
        publish(port, f"lab/{p}/temp", json.dumps({"v": 9.5, "t": round(time.time(), 3)}))


def records(d, type_, **kw):
    return [r for r in d.audit() if r.get("type") == type_
            and all(r.get(k) == v for k, v in kw.items())]


def firing(d, key):
    return records(d, "alert", key=key, state="firing")


def is_root():
    if os.geteuid() != 0:
        print("    (needs root: it creates users and groups; skipped)")
        return False
    return True


def test_roles_on_the_control_socket(env):
    if not is_root():
        return
    with Accounts() as acc:
        ctl = acc.group("ctl")
        bench = acc.group("bench")
        qc = acc.group("qc")
        daemon_user = acc.user("dmn")                      # not in ctl: labqcd joins it
        tech = acc.user("tech", groups=(ctl, bench))
        clerk = acc.user("clerk", groups=(ctl,))          # in the control group, no grant
        lead = acc.user("lead", groups=(ctl, qc))
        outsider = acc.user("out")
        os.chmod(env.dir, 0o755)  # mkdtemp's 0700 keeps every user out
        reachable_labqcctl(env.dir)
        broker = env.broker()
        access = (
            "access:\n"
            f"  - group: {bench}\n"
            "    may: [ack]\n"
            "    on: [\"main/*\"]\n"
            f"  - group: {qc}\n"
            "    may: [ack, silence]\n"
        )
        d = env.labqcd(broker.port, start=False, config_body=fridges(access),
                       daemon_extra=f"  user: {daemon_user}\n  control_group: {ctl}\n")
        sock = os.path.join(env.dir, "run", "labqcd.sock")  # a directory labqcd creates
        with open(d.cfg) as f:
            text = f.read()
        with open(d.cfg, "w") as f:
            f.write(re.sub(r"control_socket: .*", f"control_socket: {sock}", text))
        d.start()
        wait_for(lambda: os.path.exists(sock), 10, what="the control socket")
        st = os.stat(sock)
        assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
        assert st.st_gid == grp.getgrnam(ctl).gr_gid, st
        assert st.st_uid == pwd.getpwnam(daemon_user).pw_uid, st
        assert os.stat(os.path.dirname(sock)).st_gid == grp.getgrnam(ctl).gr_gid

        fire(broker.port, "main/fridge-01", "main/fridge-02", "annex/fridge-09")
        wait_for(lambda: firing(d, KEY1) and firing(d, KEY2) and firing(d, KEY9), 20, 0.1,
                 "three critical alerts")

        # In the control group, but no grant names any of clerk's groups.
        r = as_user(clerk, sock, "ack", KEY1, "I", "was", "told", "to")
        assert r.returncode == 1 and "denied" in r.stderr, (r.returncode, r.stdout, r.stderr)
        den = records(d, "denied", by=clerk)
        assert len(den) == 1, d.audit()
        assert den[0]["command"] == "ack" and den[0]["target"] == KEY1, den
        assert den[0]["via"] == "control" and den[0]["reason"], den
        assert not records(d, "alert", key=KEY1, state="acknowledged")

        # The bench technician may: recorded by account, the display name beside it.
        r = as_user(tech, sock, "--name", "root", "ack", KEY1, "door", "closed")
        assert r.returncode == 0, (r.stdout, r.stderr)
        acks = records(d, "alert", key=KEY1, state="acknowledged")
        assert len(acks) == 1, acks
        assert acks[0]["by"] == tech and acks[0]["name"] == "root", acks[0]
        assert acks[0]["comment"] == "door closed", acks[0]
        r = as_user(tech, sock, "-n", "Jane Q. Tech", "--json", "ack", KEY2, "checked")
        assert r.returncode == 0, r.stderr
        ans = json.loads(r.stdout)
        assert ans["by"] == tech and ans["name"] == "Jane Q. Tech", ans

        # on: ["main/*"]: another site is refused.
        r = as_user(tech, sock, "ack", KEY9, "not", "my", "site")
        assert r.returncode == 1 and "denied" in r.stderr, r.stderr
        den = records(d, "denied", by=tech)
        assert [(x["command"], x["target"]) for x in den] == [("ack", KEY9)], den
        # no silence right
        r = as_user(tech, sock, "silence", "main/*", "1h")
        assert r.returncode == 1, r.stderr
        assert records(d, "denied", by=tech, command="silence")

        # A critical alert's ack needs a comment (ack_comment: required).
        r = as_user(lead, sock, "ack", KEY9)
        assert r.returncode == 1 and "comment" in r.stderr, r.stderr
        assert records(d, "denied", by=lead, command="ack", target=KEY9)
        r = as_user(lead, sock, "ack", KEY9, "annex", "door", "fixed")
        assert r.returncode == 0, r.stderr
        assert records(d, "alert", key=KEY9, state="acknowledged", by=lead)

        # reload is for `all`; root may always.
        r = as_user(lead, sock, "reload")
        assert r.returncode == 1 and records(d, "denied", by=lead, command="reload"), r.stderr
        r = as_root(sock, "reload")
        assert r.returncode == 0, r.stderr
        # status is anyone's on the socket; outside the group, no socket at all.
        assert as_user(clerk, sock, "status").returncode == 0
        r = as_user(outsider, sock, "status")
        assert r.returncode == 3 and "Permission denied" in r.stderr, (r.returncode, r.stderr)

        assert d.stop() == 0, d.log()
        r = as_root(sock, "verify-audit", os.path.join(d.state, "audit.jsonl"))
        assert r.returncode == 0, r.stderr


def gateway_ack_shell(port, keyfile, key, comment):
    """README's recipe (Security: "a gateway signs an acknowledgement"),
    with the broker's port."""
    script = (
        f'key={key} user=gateway comment="{comment}"\n'
        "ts=$(date +%s) nonce=$(openssl rand -hex 16)\n"
        "sig=$(printf 'ack\\n%s\\n%s\\n%s\\n%s\\n\\n%s' \"$user\" \"$ts\" \"$nonce\" \"$key\" "
        "\"$comment\" |\n"
        f"      openssl dgst -sha256 -hmac \"$(cat {keyfile})\" -r | cut -d' ' -f1)\n"
        f"mosquitto_pub -h 127.0.0.1 -p {port} -q 1 -t lab/labqcd/ack -m "
        "\"{\\\"key\\\":\\\"$key\\\",\\\"user\\\":\\\"$user\\\",\\\"ts\\\":$ts,"
        "\\\"nonce\\\":\\\"$nonce\\\",\\\"comment\\\":\\\"$comment\\\",\\\"sig\\\":\\\"$sig\\\"}\"\n"
        "echo \"{\\\"key\\\":\\\"$key\\\",\\\"user\\\":\\\"$user\\\",\\\"ts\\\":$ts,"
        "\\\"nonce\\\":\\\"$nonce\\\",\\\"comment\\\":\\\"$comment\\\",\\\"sig\\\":\\\"$sig\\\"}\"\n"
    )
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_readme_shows_the_recipe():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    assert ("printf 'ack\\n%s\\n%s\\n%s\\n%s\\n\\n%s' \"$user\" \"$ts\" \"$nonce\" \"$key\" "
            "\"$comment\"") in readme
    assert "openssl dgst -sha256 -hmac" in readme
    assert "acl_file" in readme and "topic write lab/labqcd/ack" in readme


def test_signed_acks_over_mqtt(env):
    broker = env.broker()
    hook = start_hook(env)
    secret = b"gw-" + os.urandom(16).hex().encode()
    keyfile = os.path.join(env.dir, "gateway.key")
    with open(keyfile, "wb") as f:
        f.write(secret + b"\n")
    os.chmod(keyfile, 0o600)
    body = fridges(
        "access_mqtt:\n"
        f"  gateway: {{ key_file: {keyfile} }}\n"
        "receivers:\n"
        f"  hook: {{ webhook: {{ url: \"http://127.0.0.1:{hook.port}/hook\", "
        "format: alertmanager } }\n"
        "routes:\n"
        "  - match: { kind: equipment }\n"
        "    receivers: [hook]\n"
        "    group_wait: 1s\n"
        "    repeat: 0\n")
    d = env.labqcd(broker.port, config_body=body)
    fire(broker.port, "main/fridge-01", "main/fridge-02")
    wait_for(lambda: firing(d, KEY1) and firing(d, KEY2), 20, 0.1, "two alerts")
    # The notification carries the anchor, in commonAnnotations (the body stays Alertmanager's).
    wait_for(lambda: hook.notified(KEY1) >= 1, 20, 0.1, "the webhook")
    post = hook.posts()[0]
    assert post["version"] == "4" and isinstance(post["alerts"], list), post
    assert re.fullmatch(r"records=\d+ sha256=[0-9a-f]{64}",
                        post["commonAnnotations"]["audit_head"]), post

    def denied(reason_part):
        return [x for x in records(d, "denied", via="mqtt") if reason_part in x["reason"]]

    # Unsigned, in anyone's name: refused.
    publish(broker.port, "lab/labqcd/ack",
            json.dumps({"key": KEY1, "by": "mallory", "comment": "fine"}))
    wait_for(lambda: denied("not signed"), 10, 0.1, "the unsigned ack refused")
    # A bad signature (signed with another key).
    publish(broker.port, "lab/labqcd/ack", signed_ack("gateway", b"not-the-key", KEY1, "x"))
    wait_for(lambda: denied("bad signature"), 10, 0.1, "the forged ack refused")
    # An old timestamp (10 minutes), correctly signed.
    publish(broker.port, "lab/labqcd/ack",
            signed_ack("gateway", secret, KEY1, "late", ts=time.time() - 600))
    wait_for(lambda: denied("timestamp"), 10, 0.1, "the old ack refused")
    assert not records(d, "alert", key=KEY1, state="acknowledged")

    # The README's shell recipe: accepted, recorded by its user.
    payload = gateway_ack_shell(broker.port, keyfile, KEY1, "door closed at 03:12")
    wait_for(lambda: records(d, "alert", key=KEY1, state="acknowledged"), 10, 0.1,
             "the signed ack")
    ack = records(d, "alert", key=KEY1, state="acknowledged")[0]
    assert ack["by"] == "gateway" and ack["comment"] == "door closed at 03:12", ack
    assert ack["via"] == "mqtt", ack
    # The same message again: a replay.
    publish(broker.port, "lab/labqcd/ack", payload)
    wait_for(lambda: denied("replay"), 10, 0.1, "the replay refused")
    assert len(records(d, "alert", key=KEY1, state="acknowledged")) == 1
    den = denied("replay")[0]
    assert den["by"] == "gateway" and den["command"] == "ack" and den["target"] == KEY1, den

    # mqtt_ack: off refuses even a good one.
    with open(d.cfg, "a") as f:
        f.write("mqtt_ack: off\n")
    r = as_root(os.path.join(env.dir, "labqcd.sock"), "reload")
    assert r.returncode == 0, r.stderr
    publish(broker.port, "lab/labqcd/ack", signed_ack("gateway", secret, KEY2, "ok"))
    wait_for(lambda: denied("mqtt_ack is off"), 10, 0.1, "the ack refused (off)")
    assert not records(d, "alert", key=KEY2, state="acknowledged")
    assert d.stop() == 0, d.log()


def verify(path):
    return subprocess.run([LABQCCTL, "verify-audit", path], capture_output=True, text=True,
                          timeout=30)


def make_log(env, broker):
    """A stopped labqcd with a few records in its anchored log."""
    d = env.labqcd(broker.port, config_body=fridges())
    head = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port),
                           "-t", "lab/labqcd/audit/head",
                           "-C", "1", "-W", "20"], capture_output=True, text=True, timeout=30)
    for i in range(4):
        publish(broker.port, "lab/main/fridge-01/temp", f"not a number {i}")
    wait_for(lambda: len(records(d, "dropped")) == 4, 10, 0.1, "four dropped records")
    assert d.stop() == 0, d.log()
    return d, head


def test_anchor_detects_a_cut_and_an_edit(env):
    broker = env.broker()
    d, head = make_log(env, broker)
    log = os.path.join(d.state, "audit.jsonl")
    anchor = os.path.join(d.state, "audit.head")
    with open(anchor) as f:
        a = json.load(f)
    with open(log) as f:
        lines = f.readlines()
    assert a["records"] == len(lines) == 4, (a, lines)
    # retained on the broker (published at a checkpoint, flush 1s)
    assert head.returncode == 0 and json.loads(head.stdout)["sha256"], head
    r = verify(log)
    assert r.returncode == 0 and "end anchored" in r.stdout, (r.stdout, r.stderr)

    # The last line cut: the chain alone still holds, the anchor does not.
    with open(log, "w") as f:
        f.writelines(lines[:-1])
    r = verify(log)
    assert r.returncode == 1 and "cut" in r.stderr, (r.stdout, r.stderr)
    # The last line edited.
    last = json.loads(lines[-1])
    last["reason"] = "nothing to see"
    with open(log, "w") as f:
        f.writelines(lines[:-1] + [json.dumps(last, separators=(",", ":")) + "\n"])
    r = verify(log)
    assert r.returncode == 1 and "edited" in r.stderr, (r.stdout, r.stderr)

    # labqcd started on the edited log moves it aside and begins anew.
    os.rename(d.logpath, d.logpath + ".1")  # start() waits for its own "connected"
    d2 = env.labqcd(broker.port, config_body=fridges())
    assert "does not match its anchor" in d2.log(), d2.log()
    assert d2.stop() == 0, d2.log()
    aside = [f for f in os.listdir(d.state) if f.startswith("audit.jsonl.corrupt-")
             and not f.endswith(".head")]
    assert len(aside) == 1, os.listdir(d.state)
    moved = os.path.join(d.state, aside[0])
    with open(moved) as f:
        assert f.readlines()[-1] == json.dumps(last, separators=(",", ":")) + "\n"
    assert verify(moved).returncode == 1  # its anchor went with it
    first = d2.audit()[0]
    assert first["type"] == "audit_reset" and first["moved_to"] == moved, first
    assert first["anchor"] == {"records": 4, "sha256": a["sha256"]}, first
    assert first["found"]["records"] == 4 and first["found"]["sha256"] != a["sha256"], first
    r = verify(log)
    assert r.returncode == 0, r.stderr


def test_labqcd_moves_a_cut_log_aside(env):
    broker = env.broker()
    d, _ = make_log(env, broker)
    log = os.path.join(d.state, "audit.jsonl")
    with open(log) as f:
        lines = f.readlines()
    with open(log, "w") as f:
        f.writelines(lines[:-1])
    os.rename(d.logpath, d.logpath + ".1")  # start() waits for its own "connected"
    d2 = env.labqcd(broker.port, config_body=fridges())
    assert "does not match its anchor" in d2.log(), d2.log()
    # The journal's inputs since the last checkpoint are replayed into the
    # new log (the old one is not trusted); then new input goes on.
    n = len(records(d2, "dropped"))
    publish(broker.port, "lab/main/fridge-01/temp", "not a number")
    wait_for(lambda: len(records(d2, "dropped")) == n + 1, 10, 0.1, "a record in the new log")
    assert d2.stop() == 0, d2.log()
    recs = d2.audit()
    assert recs[0]["type"] == "audit_reset" and "cut" in recs[0]["reason"], recs[0]
    assert recs[0]["anchor"]["records"] == 4 and recs[0]["found"]["records"] == 3, recs[0]
    assert [x["type"] for x in recs[1:]] == ["dropped"] * (n + 1), recs
    assert verify(log).returncode == 0
    moved = recs[0]["moved_to"]
    r = verify(moved)
    assert r.returncode == 1 and "cut" in r.stderr, r.stderr


def test_check_says_what_access_means(env):
    cfg = os.path.join(env.dir, "labqcd.yaml")
    with open(cfg, "w") as f:
        f.write("daemon:\n  control_group: labops\n" + fridges())
    r = subprocess.run([LABQCD, "-t", "-c", cfg], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "every member of group labops" in r.stdout and "may do everything" in r.stdout, r.stdout
    with open(cfg, "a") as f:
        f.write("access:\n  - group: lab-bench\n    may: [ack]\n    on: [\"main/*\"]\n")
    r = subprocess.run([LABQCD, "-t", "-c", cfg], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "group lab-bench may ack on main/*" in r.stdout, r.stdout
    assert "may do everything" not in r.stdout, r.stdout
    with open(cfg, "a") as f:
        f.write("  - group: lab-qc\n    may: [ack, acknowledge]\n")
    r = subprocess.run([LABQCD, "-t", "-c", cfg], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and re.search(r"labqcd.yaml:\d+:\d+: access\[1\]", r.stderr), r.stderr
    assert "\"acknowledge\" is not a right" in r.stderr, r.stderr
