"""Scenario: installing labqcd, and its manual pages.

1. `make install DESTDIR=...` lays out the programs, the three man pages,
   the systemd unit (Type=notify, watchdog, hardening, ExecReload), the
   sysusers.d and tmpfiles.d entries, the example config (which passes
   `labqcd -t`) and the state directories; `make uninstall` removes the
   files but keeps the config.
2. `systemd-analyze verify` accepts the installed unit (the check is
   skipped, and says so, only where systemd-analyze is absent).
3. The man pages lint clean (`mandoc -T lint -W warning`), and the
   options that `labqcd -h` and `labqcctl -h` list are the ones their man
   pages list (and labqcctl's subcommands too).
"""
import os
import re
import shutil
import stat
import subprocess

from harness import BUILD, LABQCD, ROOT

LABQCCTL = os.path.join(BUILD, "labqcctl")
MANS = [os.path.join(ROOT, "man", m) for m in ("labqcd.8", "labqcd.yaml.5", "labqcctl.1")]


def make(*args):
    # The programs of build/ as they are: same sanitizer mode, no rebuild.
    with open(os.path.join(BUILD, ".mode")) as f:
        mode = f.read().strip()
    r = subprocess.run(["make", "-C", ROOT, f"SANITIZE={mode}"] + list(args),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def test_install_layout_and_uninstall(env):
    root = os.path.join(env.dir, "root")
    make("install", f"DESTDIR={root}")
    want = {
        "usr/local/sbin/labqcd": 0o755, "usr/local/bin/labqcctl": 0o755,
        "usr/local/share/man/man8/labqcd.8": 0o644,
        "usr/local/share/man/man5/labqcd.yaml.5": 0o644,
        "usr/local/share/man/man1/labqcctl.1": 0o644,
        "usr/local/lib/systemd/system/labqcd.service": 0o644,
        "etc/sysusers.d/labqcd.conf": 0o644, "etc/tmpfiles.d/labqcd.conf": 0o644,
        "etc/labqcd/labqcd.yaml": 0o640, "etc/labqcd/labqcd.yaml.example": 0o640,
    }
    for rel, mode in want.items():
        p = os.path.join(root, rel)
        assert os.path.isfile(p), rel
        assert stat.S_IMODE(os.stat(p).st_mode) == mode, (rel, oct(os.stat(p).st_mode))
    for rel in ("var/lib/labqcd", "var/lib/labqcd/rrd", "var/www/labqcd"):
        assert os.path.isdir(os.path.join(root, rel)), rel
    with open(os.path.join(root, "usr/local/lib/systemd/system/labqcd.service")) as f:
        unit = f.read()
    for line in ("Type=notify", "ExecStart=/usr/local/sbin/labqcd -f -c /etc/labqcd/labqcd.yaml",
                 "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "User=labqcd",
                 "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
                 "ReadWritePaths=/var/lib/labqcd /var/lib/labqcd/rrd /var/www/labqcd",
                 "RuntimeDirectory=labqcd"):
        assert line in unit, line
    cfg = os.path.join(root, "etc/labqcd/labqcd.yaml")
    with open(cfg) as f:
        text = f.read()
    assert "state_dir: /var/lib/labqcd " in text and "/run/labqcd/labqcd.sock" in text
    r = subprocess.run([os.path.join(root, "usr/local/sbin/labqcd"), "-t", "-c", cfg],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # A second install keeps an edited config.
    with open(cfg, "a") as f:
        f.write("# edited by the lab\n")
    make("install", f"DESTDIR={root}")
    with open(cfg) as f:
        assert f.read().endswith("# edited by the lab\n")
    make("uninstall", f"DESTDIR={root}")
    assert not os.path.exists(os.path.join(root, "usr/local/sbin/labqcd"))
    assert not os.path.exists(os.path.join(root, "usr/local/lib/systemd/system/labqcd.service"))
    assert os.path.exists(cfg)


def test_systemd_analyze_verify(env):
    if shutil.which("systemd-analyze") is None:
        print("SKIP: systemd-analyze is absent; the unit was not verified")
        return
    # Installed under a prefix of its own (no DESTDIR), so that the paths in
    # the unit exist where systemd-analyze looks for them.
    top = os.path.join(env.dir, "top")
    make("install", f"PREFIX={top}/usr", f"SYSCONFDIR={top}/etc", f"LOCALSTATEDIR={top}/var")
    unit = os.path.join(top, "usr/lib/systemd/system/labqcd.service")
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", unit], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "labqcd.service" not in r.stderr, r.stderr  # no complaint about our unit


def test_man_pages_lint_clean():
    if shutil.which("mandoc"):
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning"] + MANS, capture_output=True,
                           text=True, timeout=60)
        out = r.stdout + r.stderr
    else:
        out = ""
        for m in MANS:
            r = subprocess.run(["man", "--warnings", "-l", m], capture_output=True, text=True,
                               timeout=60, env=dict(os.environ, MANPAGER="cat", PAGER="cat"))
            out += r.stderr
    assert r.returncode == 0 and out.strip() == "", out


def help_options(prog):
    r = subprocess.run([prog, "-h"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    opts = set()
    for line in r.stdout.splitlines():
        m = re.match(r"^\s+(-\w|--[\w-]+)\b", line)
        if m:
            opts.add(m.group(1))
    return opts, r.stdout


def man_options(page):
    """The first flag of each .It Fl entry, \\- unescaped."""
    with open(os.path.join(ROOT, "man", page)) as f:
        text = f.read()
    return {"-" + m.replace("\\-", "-")
            for m in re.findall(r"^\.It Fl (\S+)", text, re.M)}, text


def test_help_matches_man_pages():
    h, _ = help_options(LABQCD)
    m, _ = man_options("labqcd.8")
    assert h == m, ("labqcd -h", sorted(h), "labqcd.8", sorted(m))
    h, usage = help_options(LABQCCTL)
    m, text = man_options("labqcctl.1")
    assert h == m, ("labqcctl -h", sorted(h), "labqcctl.1", sorted(m))
    man_cmds = set(re.findall(r"^\.It Cm ([\w-]+)", text, re.M))
    help_cmds = {c for c in ("status", "ack", "silence", "maintenance", "service-done", "reload",
                             "flush", "verify-audit", "qc-action", "report", "handover")
                 if re.search(rf"\b{c}\b", usage)}
    assert man_cmds == help_cmds, (sorted(man_cmds), sorted(help_cmds))
    assert len(man_cmds) == 11, man_cmds
