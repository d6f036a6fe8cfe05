"""Scenario: labqcd keeps secrets, paths and privileges in check.

1. No shell: the C sources call no system(), popen(), exec*() or "sh -c".
2. Secrets come only from files: one readable by others is refused (labqcd
   does not start, says why), and no secret ever reaches the log.
3. Started as root with daemon.user, labqcd runs as that user (checked in
   /proc/PID/status), the directories it creates are the user's, and the
   control socket is mode 0660.
4. No input names a path outside its directory: ".." as a topic level, a
   SenML name or base name, a replay line or a config key is refused.
5. TLS verification is on by default: a webhook to an HTTPS receiver with
   a self-signed certificate and no ca configured is not delivered.
"""
import glob
import json
import os
import pwd
import re
import signal
import stat
import subprocess
import sys
import time

from faults_common import FRIDGE_KEY, rules_config, start_hook
from harness import LABQCD, ROOT, publish, rrd_lastupdate, wait_for, wait_port
from tls_common import self_signed

SECRET = "hmac-Secret-never-in-logs-8731"


def test_no_shell_in_sources():
    pat = re.compile(r"\b(system|popen|execl|execlp|execle|execv|execvp|execvpe|fexecve)\s*\(|"
                     r"\"sh -c|/bin/sh")
    hits = []
    for d in ("daemon", "collectors", "rules", "dashboards"):
        for path in glob.glob(os.path.join(ROOT, d, "*.[ch]")):
            with open(path, errors="replace") as f:
                for n, line in enumerate(f, 1):
                    if pat.search(line):
                        hits.append(f"{path}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_secret_file_readable_by_others_refused(env):
    broker = env.broker()
    pw = os.path.join(env.dir, "mqtt.password")
    with open(pw, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(pw, 0o644)
    d = env.labqcd(broker.port, start=False)
    with open(d.cfg) as f:
        text = f.read()
    with open(d.cfg, "w") as f:
        f.write(text.replace("  qos: 1\n", f"  qos: 1\n  username: labqcd\n  password_file: {pw}\n"))
    d.start(wait_connected=False)
    assert d.proc.wait(20) != 0, d.log()
    d.proc = None
    assert "others may read it" in d.log(), d.log()
    assert SECRET not in d.log()


def test_webhook_secret_never_logged(env):
    broker = env.broker()
    hook = start_hook(env)
    sf = os.path.join(env.dir, "hook.secret")
    with open(sf, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(sf, 0o600)
    body = rules_config(f"http://127.0.0.1:{hook.port}/hook").replace(
        "format: alertmanager", f"format: alertmanager, secret_file: \"{sf}\"")
    d = env.labqcd(broker.port, config_body=body)
    publish(broker.port, "lab/main/fridge-01/temp", json.dumps({"v": 9.5, "t": time.time()}))
    wait_for(lambda: hook.notified(FRIDGE_KEY) == 1, 20, what="the webhook")
    assert d.stop() == 0, d.log()
    assert SECRET not in d.log()
    for path in glob.glob(os.path.join(d.state, "**"), recursive=True):
        if os.path.isfile(path) and not path.endswith(".secret"):
            with open(path, "rb") as f:
                assert SECRET.encode() not in f.read(), path


def test_drops_privileges_to_daemon_user(env):
    user = "nobody"
    pw = pwd.getpwnam(user)
    os.chmod(env.dir, 0o755)   # mkdtemp's 0700 would keep the user out
    broker = env.broker()
    d = env.labqcd(broker.port, start=False, daemon_extra=f"  user: {user}\n")
    sock = os.path.join(env.dir, "run", "labqcd.sock")   # a directory labqcd creates
    with open(d.cfg) as f:
        text = f.read()
    with open(d.cfg, "w") as f:
        f.write(re.sub(r"control_socket: .*", f"control_socket: {sock}", text))
    d.start()
    assert f"running as user {user}" in d.log(), d.log()
    with open(f"/proc/{d.proc.pid}/status") as f:
        status = f.read()
    uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
    gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
    assert uids == [str(pw.pw_uid)] * 4, status
    assert gids == [str(pw.pw_gid)] * 4, status
    for path in (d.state, d.rrd, d.www):
        assert os.stat(path).st_uid == pw.pw_uid, path
    publish(broker.port, "lab/main/fridge-03/temp", json.dumps({"v": 5.5, "t": time.time()}))
    p = d.rrd_path("main/fridge-03/temp")
    wait_for(lambda: os.path.exists(p) and rrd_lastupdate(p)[1] == 5.5, 20, 0.2, "a sample")
    assert os.stat(p).st_uid == pw.pw_uid
    if os.path.exists(os.path.join(ROOT, "daemon", "control.c")):
        wait_for(lambda: os.path.exists(sock), 10, what="the control socket")
        st = os.stat(sock)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
        assert st.st_uid == pw.pw_uid
    assert d.stop() == 0, d.log()


def files_outside(workdir, d):
    """Every file under workdir but outside labqcd's own and the test's dirs."""
    keep = (d.state, d.rrd, d.www, os.path.join(workdir, "broker"))
    out = []
    for root, _, files in os.walk(workdir):
        if any(root == k or root.startswith(k + os.sep) for k in keep):
            continue
        out += [os.path.join(root, f) for f in files if not f.endswith(".sock")]
    return sorted(out)


def test_dotdot_never_becomes_a_path(env):
    broker = env.broker()
    d = env.labqcd(broker.port)
    before = files_outside(env.dir, d)
    t = time.time()
    bad = [("lab/main/../temp", "1"), ("lab/../fridge-01/temp", "1"),
           ("lab/main/fridge-01/..", "1"),
           ("lab/main/fridge-01/temp", json.dumps([{"n": "..", "v": 1, "t": t}])),
           ("lab/main/fridge-01/temp", json.dumps([{"bn": "../", "n": "x", "v": 1, "t": t}])),
           ("lab/main/fridge-01/temp", json.dumps([{"bn": "..", "n": "", "v": 1, "t": t}])),
           ("lab/main/chem-01/qc/../L1", "1")]
    for topic, payload in bad:
        publish(broker.port, topic, payload)
    publish(broker.port, "lab/main/fridge-01/temp", json.dumps({"v": 4.5, "t": t}))
    p = d.rrd_path("main/fridge-01/temp")
    wait_for(lambda: os.path.exists(p) and rrd_lastupdate(p)[1] == 4.5, 20, 0.2, "the good one")
    wait_for(lambda: len([r for r in d.audit() if r.get("type") == "dropped"]) >= len(bad), 10,
             0.2, "a dropped record for each bad input")
    assert d.stop() == 0, d.log()
    rrds = sorted(os.path.relpath(f, d.rrd) for f in glob.glob(d.rrd + "/**", recursive=True)
                  if os.path.isfile(f))
    assert rrds == ["main/fridge-01/temp.rrd"], rrds
    assert files_outside(env.dir, d) == before, (files_outside(env.dir, d), before)

    # replay lines
    lines = os.path.join(env.dir, "replay.txt")
    with open(lines, "w") as f:
        for topic, payload in bad:
            f.write(f"{topic} {payload}\n")
    before.append(lines)
    r = subprocess.run([LABQCD, "-c", d.cfg, "--replay", lines], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    dropped = [json.loads(l) for l in r.stdout.splitlines() if '"dropped"' in l]
    assert len(dropped) == len(bad), r.stdout
    assert files_outside(env.dir, d) == before, (files_outside(env.dir, d), before)
    assert not glob.glob(os.path.join(env.dir, "*.rrd"))

    # config keys
    for key in ("main/..", "../fridge", "main/fridge-01:\n    channels:\n      ..: { max: 1 }\n  x/y"):
        cfg = os.path.join(env.dir, "bad.yaml")
        with open(d.cfg) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(text + f"instruments:\n  {key}: {{}}\n")
        r = subprocess.run([LABQCD, "-t", "-c", cfg], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1, (key, r.stdout, r.stderr)


HTTPS_SERVER = r'''
import http.server, os, ssl, sys
out, portfile, cert, key = sys.argv[1:5]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        open(os.path.join(out, "post-%d" % len(os.listdir(out))), "w").close()
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(portfile + ".tmp", "w").write(str(srv.server_address[1])); os.rename(portfile + ".tmp", portfile)
srv.serve_forever(poll_interval=0.2)
'''


class HttpsServer:
    def __init__(self, workdir):
        self.out = os.path.join(workdir, "https-posts")
        os.makedirs(self.out)
        key, cert = self_signed(workdir)
        self.portfile = os.path.join(workdir, "https.port")
        script = os.path.join(workdir, "https_server.py")
        with open(script, "w") as f:
            f.write(HTTPS_SERVER)
        self.proc = subprocess.Popen([sys.executable, script, self.out, self.portfile, cert, key],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.portfile), 15, what="the https server")
        with open(self.portfile) as f:
            self.port = int(f.read())
        wait_port(self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


def test_https_webhook_verifies_certificates_by_default(env):
    broker = env.broker()
    srv = HttpsServer(env.dir)
    env.procs.append(srv)
    d = env.labqcd(broker.port, config_body=rules_config(f"https://127.0.0.1:{srv.port}/hook")
                   .replace("group_wait: 1s", "group_wait: 0s"),
                   daemon_extra="  notify_retry: 1s\n  notify_retry_max: 2s\n")
    publish(broker.port, "lab/main/fridge-01/temp", json.dumps({"v": 9.5, "t": time.time()}))
    wait_for(lambda: re.search(r"notify: webhook .*failed", d.log()), 20, 0.2,
             "the failed webhook to be logged")
    time.sleep(3)
    assert os.listdir(srv.out) == [], "a webhook went to a server with an unverified certificate"
    assert d.stop() == 0, d.log()
