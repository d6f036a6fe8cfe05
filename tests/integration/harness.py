"""Integration-test harness: real servers on loopback, started and stopped by PID.

Every test gets a fresh temporary directory, a mosquitto broker on a free
127.0.0.1 port, and labqcd run from build/ with a config written for that
directory. Nothing here is faked: the broker, the RRD files, the audit log
are the real ones. Every server is stopped by the PID we started it with;
nothing is ever killed by name. Loops are bounded by deadlines.

Run with /usr/bin/python3 (Debian's, which has python3-aiosmtpd).
"""
import email
import email.policy
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
LABQCD = os.path.join(BUILD, "labqcd")

# Under the sanitized build: fontconfig's process-lifetime caches are not
# leaks (tests/lsan.supp says why); everything else is.
os.environ.setdefault("LSAN_OPTIONS", "suppressions=" + os.path.join(ROOT, "tests", "lsan.supp"))


def stop_by_pid(proc, timeout=10):
    """SIGTERM the process we started, then SIGKILL it if it lingers."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class Mosquitto:
    """A real mosquitto broker on 127.0.0.1:<free port>."""

    def __init__(self, workdir, port=None, extra=""):
        self.dir = os.path.join(workdir, "broker")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(
                f"listener {self.port} 127.0.0.1\n"
                "allow_anonymous true\n"
                "persistence false\n"
                "max_queued_messages 1000000\n"
                "max_inflight_messages 100\n"
                "log_dest stderr\n"
                "log_type error\nlog_type warning\n"
                + extra
            )
        self.proc = None
        self.log = os.path.join(self.dir, "mosquitto.log")

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=logf, stderr=logf)
        logf.close()
        wait_port(self.port)
        return self

    def stop(self):
        stop_by_pid(self.proc)
        self.proc = None


class Labqcd:
    """labqcd -f with a config written into the test's directory."""

    def __init__(self, workdir, broker_port, config_body="", flush="1s", prefix="lab",
                 client_id=None, daemon_extra=""):
        self.dir = workdir
        self.state = os.path.join(workdir, "state")
        self.rrd = os.path.join(workdir, "rrd")
        self.www = os.path.join(workdir, "www")
        self.cfg = os.path.join(workdir, "labqcd.yaml")
        self.logpath = os.path.join(workdir, "labqcd.log")
        self.client_id = client_id or f"labqcd-test-{os.getpid()}-{broker_port}"
        with open(self.cfg, "w") as f:
            f.write(
                "daemon:\n"
                f"  state_dir: {self.state}\n"
                f"  rrd_dir: {self.rrd}\n"
                f"  www_dir: {self.www}\n"
                f"  control_socket: {os.path.join(workdir, 'labqcd.sock')}\n"
                f"  flush_interval: {flush}\n"
                f"  state_interval: {flush}\n"
                "  log_level: debug\n"
                + daemon_extra
                + "mqtt:\n"
                f"  url: mqtt://127.0.0.1:{broker_port}\n"
                f"  client_id: {self.client_id}\n"
                "  qos: 1\n"
                "  clean_session: false\n"
                f"  prefix: {prefix}\n"
                + config_body
            )
        self.proc = None

    def start(self, wait_connected=True):
        logf = open(self.logpath, "ab")
        # make valgrind: LABQCD_VALGRIND is the valgrind command line to run labqcd under
        wrap = os.environ.get("LABQCD_VALGRIND", "").split()
        self.proc = subprocess.Popen(wrap + [LABQCD, "-f", "-c", self.cfg], stdout=logf,
                                     stderr=logf)
        logf.close()
        if wait_connected:
            wait_for(lambda: "connected to" in self.log() or self.proc.poll() is not None,
                     60 if wrap else 10, what="labqcd to connect to the broker")
            assert self.proc.poll() is None, "labqcd died at start:\n" + self.log()
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGTERM; returns the exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("labqcd did not stop within %ds of SIGTERM" % timeout)
        self.proc = None
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def audit(self):
        path = os.path.join(self.state, "audit.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def rrd_path(self, relpath):
        return os.path.join(self.rrd, relpath + ".rrd")


def publish_lines(port, topic, lines, qos=1):
    """Publish each line as one message with mosquitto_pub -l (one connection)."""
    data = "".join(l + "\n" for l in lines).encode()
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", str(qos),
                        "-t", topic, "-l"], input=data, capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"mosquitto_pub -t {topic!r}: {r.stderr.decode(errors='replace')}")


def publish(port, topic, payload, qos=1):
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", str(qos),
                        "-t", topic, "-m", payload], capture_output=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"mosquitto_pub -t {topic!r}: {r.stderr.decode(errors='replace')}")


def rrd_lastupdate(path):
    """(epoch, value) of the last update, from `rrdtool lastupdate`."""
    out = subprocess.run(["rrdtool", "lastupdate", path], capture_output=True, text=True,
                         check=True, timeout=30).stdout.strip().splitlines()
    t, v = out[-1].split(":", 1)
    return float(t), float(v)


def rrd_fetch(path, start, end, cf="AVERAGE", res=60):
    """{row time: value} of the known rows, from `rrdtool fetch`."""
    out = subprocess.run(["rrdtool", "fetch", path, cf, "-r", str(res), "-s", str(int(start)),
                          "-e", str(int(end))], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    rows = {}
    for line in out.splitlines():
        if ":" not in line:
            continue
        t, v = line.split(":", 1)
        v = v.strip()
        if v.lower().startswith(("nan", "-nan")):
            continue
        rows[int(t)] = float(v)
    return rows


class Env:
    """What one test started; the runner stops all of it afterwards, by PID."""

    def __init__(self, workdir):
        self.dir = workdir
        self.procs = []  # objects with stop()
        self.daemons = []

    def broker(self, **kw):
        b = Mosquitto(self.dir, **kw).start()
        self.procs.append(b)
        return b

    def labqcd(self, broker_port, start=True, **kw):
        d = Labqcd(self.dir, broker_port, **kw)
        self.daemons.append(d)
        if start:
            d.start()
        return d

    def cleanup(self):
        for d in self.daemons:
            if d.proc and d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait(5)
        for p in reversed(self.procs):
            p.stop()

    def logs(self):
        return "\n".join(f"--- labqcd log ({d.logpath}) ---\n{d.log()[-6000:]}"
                         for d in self.daemons)


class Receiver:
    """smtp_receiver.py or http_receiver.py, in its own directory; stop() by PID."""

    def __init__(self, script, outdir, port=None, extra=()):
        self.script = script
        self.out = outdir
        os.makedirs(outdir, exist_ok=True)
        self.portfile = os.path.join(outdir, "port")
        self.port = port
        self.extra = list(extra)
        self.proc = None

    def start(self):
        if os.path.exists(self.portfile):
            os.unlink(self.portfile)
        args = ["/usr/bin/python3", os.path.join(ROOT, "tests", "files", self.script), self.out, self.portfile]
        args += self.extra
        if self.port:
            args += [str(self.port)]
        logf = open(os.path.join(self.out, "server.log"), "ab")
        self.proc = subprocess.Popen(args, stdout=logf, stderr=logf)
        logf.close()
        wait_for(lambda: os.path.exists(self.portfile) or self.proc.poll() is not None, 15,
                 what=f"{self.script} to listen")
        assert self.proc.poll() is None, f"{self.script} died at start"
        with open(self.portfile) as f:
            self.port = int(f.read())
        wait_port(self.port)
        return self

    def stop(self):
        stop_by_pid(self.proc)
        self.proc = None

    def files(self, suffix):
        return sorted((f for f in os.listdir(self.out) if f.endswith(suffix)),
                      key=lambda f: int(f.split("-")[1].split(".")[0]))


class Smtp(Receiver):
    def __init__(self, outdir, port=None):
        super().__init__("smtp_receiver.py", outdir, port)

    def messages(self):
        out = []
        for name in self.files(".eml"):
            with open(os.path.join(self.out, name), "rb") as f:
                raw = f.read()
            out.append((raw, email.message_from_bytes(raw, policy=email.policy.default)))
        return out


def tree_sums(*dirs):
    """{path: SHA-256} of every file under dirs: to show a run wrote nothing."""
    sums = {}
    for d in dirs:
        for root, _, files in os.walk(d):
            for name in files:
                p = os.path.join(root, name)
                with open(p, "rb") as f:
                    sums[p] = hashlib.sha256(f.read()).hexdigest()
    return sums


class Rrdcached:
    """rrdcached -g on 127.0.0.1:<free port>, stopped by PID."""

    def __init__(self, workdir, port=None):
        self.base = os.path.join(workdir, "rrd")
        self.journal = os.path.join(workdir, "rrdcached-journal")
        os.makedirs(self.base, exist_ok=True)
        os.makedirs(self.journal, exist_ok=True)
        self.port = port or free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.logpath = os.path.join(workdir, "rrdcached.log")
        self.proc = None

    def start(self):
        logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen(
            ["rrdcached", "-g", "-l", self.addr, "-b", self.base, "-B", "-R",
             "-j", self.journal, "-w", "3600", "-f", "7200", "-F",
             "-p", os.path.join(self.journal, "..", "rrdcached.pid")],
            stdout=logf, stderr=logf)
        logf.close()
        wait_port(self.port)
        return self

    def stop(self):
        """SIGTERM: with -F it writes everything it holds to the files."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.proc = None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None
