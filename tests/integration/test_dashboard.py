"""Scenario: a simulated day through --replay, then --render, then a browser.

labsim writes a day of a simulated lab (--no-broker --replay-out) with a
systematic QC shift on chem-01 from the afternoon, so runs get rejected;
the lines of three instruments (fridge-01, centrifuge-01, chem-01) are
replayed into labqcd; `labqcd --render` draws the site from the saved
state. Checked: the pages and images exist, every PNG decodes (zlib) to
the size its header says and the size the dashboard promises, every link
and image in every page resolves to a file, tidy finds nothing wrong in
the HTML, chem-01's page shows the Levey-Jennings charts and a rejected
point, and a name that arrives through a topic is escaped. Issue 23: the
index text holds each channel's latest value with its unit, as the RRD
file's last update says, a sparkline per instrument with telemetry and a
link to wall.html; the wall holds the same values and no script. Then
headless Chromium (Debian's, driven by playwright-core) opens every page
(index, instrument, full-size graphs, histories, wall views) at 390 and
1920 px: every image loaded, no horizontal overflow on the phone, the
instrument in alarm shows the alarm badge, axe-core finds no serious or
critical violation, and the wall of a second site of 24 instruments
fits 1920x1080; screenshots are left in build/screenshots.
"""
import html
import html.parser
import json
import os
import re
import struct
import subprocess
import zlib

from harness import LABQCD, ROOT, BUILD, rrd_lastupdate

LABSIM = os.path.join(BUILD, "labsim")
KEEP = ("/fridge-01/", "/centrifuge-01/", "/chem-01/")


def write_config(d):
    cfg = os.path.join(d, "labqcd.yaml")
    with open(cfg, "w") as f:
        f.write(f"""daemon:
  state_dir: {d}/state
  rrd_dir: {d}/rrd
  www_dir: {d}/www
profiles:
  fridge:
    temp: {{ unit: C, min: 2, max: 8, hysteresis: 0.3, delay: 15m, stale: 10m }}
  centrifuge:
    vibration: {{ unit: mm/s, max: 2.5, drift: {{ lambda: 0.2, limit: 3 }} }}
    run_count: {{ service_every: 5000, warn_at: 0.9 }}
instruments:
  main/fridge-01: {{ profile: fridge, location: "Specimen receiving" }}
  main/centrifuge-01: {{ profile: centrifuge }}
  main/chem-01:
    location: "Core lab"
    qc:
      glucose:
        rules: 1-3s/2-2s/R-4s/4-1s/10x
        warning: 1-2s
        levels:   # labsim's lot; targets apply to their own lot (issue 17)
          L1: {{ lot: GLU-4101, mean: 100, sd: 2.5 }}
          L2: {{ lot: GLU-4101, mean: 250, sd: 5.0 }}
""")
    return cfg


def png_size_and_decode(path):
    """(width, height) from IHDR, after checking the image data inflates to
    exactly the size the header implies."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if ctype == b"IHDR":
            w, h, depth, color = struct.unpack(">IIBB", body[:10])
        elif ctype == b"IDAT":
            idat += body
        pos += 12 + length
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    raw = zlib.decompress(idat)
    assert len(raw) == h * (1 + (w * channels * depth + 7) // 8), (path, len(raw))
    return w, h


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src") and v:
                self.refs.append(v)

    def handle_data(self, data):
        self.text.append(data)


def test_day_replayed_rendered_and_seen_in_chromium(env):
    d = env.dir
    sim = os.path.join(d, "day.txt")
    r = subprocess.run([LABSIM, "--lab", "--no-broker", "--duration", "86400", "--seed", "7",
                        "--fault", "qc-shift:chem-01:12h", "--fault", "compressor:fridge-01:20h",
                        "--replay-out", sim],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # labsim's simulated day starts now; move it a day back so that it
    # ends before the render and the "last day" graphs show it.
    shift = 86400 + 600
    lines = []
    with open(sim) as f:
        for l in f:
            topic, payload = l.rstrip("\n").split(" ", 1)
            if not any(k in topic + "/" for k in KEEP):
                continue
            obj = json.loads(payload)
            if isinstance(obj, dict) and "t" in obj:
                obj["t"] -= shift
            lines.append(topic + " " + json.dumps(obj) + "\n")
    # A hostile-looking but valid name arrives through a topic: shown escaped.
    first_t = json.loads(lines[0].split(" ", 1)[1])["t"]
    lines.insert(1, 'lab/main/fridge-01/x<b>y {"value": 1, "t": %s}\n' % first_t)
    feed = os.path.join(d, "three.txt")
    with open(feed, "w") as f:
        f.writelines(lines)
    cfg = write_config(d)
    envv = dict(os.environ, TZ="UTC")
    r = subprocess.run([LABQCD, "-c", cfg, "--replay", feed], capture_output=True, text=True,
                       timeout=300, env=envv)
    assert r.returncode == 0, r.stderr[-3000:]
    records = [json.loads(l) for l in r.stdout.splitlines()]
    rejects = [x for x in records if x["type"] == "qc" and x["status"] == "reject"]
    assert rejects, "the QC shift gave no rejected run"
    r = subprocess.run([LABQCD, "-c", cfg, "--render"], capture_output=True, text=True,
                       timeout=300, env=envv)
    assert r.returncode == 0, r.stderr[-3000:]

    www = os.path.join(d, "www")
    index = os.path.join(www, "index.html")
    assert os.path.exists(index)
    pages = []
    for root, _, files in os.walk(www):
        pages += [os.path.join(root, f) for f in files if f.endswith(".html")]
    assert len(pages) >= 4, pages   # index + one page per instrument
    pngs = 0
    for page in pages:
        p = Links()
        with open(page) as f:
            p.feed(f.read())
        for ref in p.refs:
            if re.match(r"^[a-z]+:", ref) or ref.startswith("#"):
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(page), ref.split("#")[0]))
            assert target.startswith(www), (page, ref)
            assert os.path.exists(target), (page, ref)
            if target.endswith(".png"):
                w, h = png_size_and_decode(target)
                if "/qc/" in target:
                    assert (w, h) == (700, 300), (target, w, h)
                elif target.endswith("-spark.png"):
                    assert (w, h) == (160, 36), (target, w, h)
                elif target.endswith("-full.png"):
                    assert (w, h) == (1200, 400), (target, w, h)
                else:
                    assert (w, h) == (700, 240), (target, w, h)
                pngs += 1
        r = subprocess.run(["tidy", "-q", "-e", page], capture_output=True, text=True)
        assert r.returncode == 0, (page, r.stderr)
    assert pngs >= 3 * 3 + 2, pngs   # day/week/month of 3+ channels, 2 LJ charts

    # Each instrument's page draws exactly its own channels (those with an
    # RRD file under its directory) and lists only its own alerts: the
    # replay interleaves the three instruments' first samples, and the
    # snapshot takes an instrument's channels and alerts from its own
    # lists. fridge-01's compressor fault is open on its page.
    for inst in ("fridge-01", "centrifuge-01", "chem-01"):
        rdir = os.path.join(d, "rrd", "main", inst)
        files = {fn[:-4] for fn in os.listdir(rdir) if fn.endswith(".rrd")}
        assert files or inst == "chem-01", inst
        with open(os.path.join(www, "main", inst, "index.html")) as f:
            page = f.read()
        drawn = {html.unescape(m) for m in re.findall(r'<img src="([^"/]+)-day\.png"', page)}
        assert drawn == files, (inst, drawn, files)
        keys = set(re.findall(r"\bmain/([a-z0-9-]+)/[^/\s<]+/[a-z0-9-]+\b", page))
        assert keys <= {inst}, (inst, keys)
        if inst == "fridge-01":
            assert "main/fridge-01/temp/range" in page, page[:3000]

    # Issue 23: each channel's latest value with its unit, as its RRD
    # file's last update says, on the index and on the wall.
    with open(os.path.join(www, "index.html")) as f:
        itext = f.read()
    with open(os.path.join(www, "wall.html")) as f:
        wtext = f.read()
    units = {"temp": "C", "vibration": "mm/s"}
    checked = 0
    for inst in ("fridge-01", "centrifuge-01"):
        rdir = os.path.join(d, "rrd", "main", inst)
        for fn in sorted(os.listdir(rdir)):
            ch = fn[:-4]
            if ch not in units:
                continue
            _, v = rrd_lastupdate(os.path.join(rdir, fn))
            shown = "%.6g %s" % (v, units[ch])
            assert '<span class="val">%s</span>' % shown in itext, (inst, ch, shown)
            assert '<span class="v">%s</span>' % shown in wtext, (inst, ch, shown)
            checked += 1
        assert re.search(r'<img class="spark" src="main/%s/[a-z_]+-spark\.png"' % inst, itext), inst
    assert checked >= 2, checked
    assert 'href="wall.html"' in itext
    assert "<script" not in wtext and "<script" not in open(os.path.join(www, "wall-dark.html")).read()
    # The alert history (from the audit log): fridge-01's compressor alarm.
    with open(os.path.join(www, "main", "fridge-01", "history.html")) as f:
        htext = f.read()
    assert "main/fridge-01/temp/range" in htext, htext[-2000:]

    chem = os.path.join(www, "main", "chem-01", "index.html")
    with open(chem) as f:
        text = f.read()
    assert "qc/glucose/L1.png" in text and "qc/glucose/L2.png" in text
    assert "reject" in text
    with open(index) as f:
        itext = f.read()
    assert "x<b>y" not in itext and "<b>" not in open(
        os.path.join(www, "main", "fridge-01", "index.html")).read()

    # A second site of 24 instruments, one sample each, two in alarm: its
    # wall must fit 1920x1080.
    d24 = os.path.join(d, "wall24")
    os.makedirs(d24)
    cfg24 = os.path.join(d24, "labqcd.yaml")
    with open(cfg24, "w") as f:
        f.write(f"""daemon:
  state_dir: {d24}/state
  rrd_dir: {d24}/rrd
  www_dir: {d24}/www
profiles:
  fridge:
    temp: {{ unit: C, min: 2, max: 8 }}
    door: {{ unit: "" }}
instruments:
""")
        for i in range(24):
            f.write(f"  main/fridge-{i:02d}: {{ profile: fridge, location: \"Room {i}\" }}\n")
    t0 = int(first_t)
    with open(os.path.join(d24, "feed.txt"), "w") as f:
        for i in range(24):
            for k in range(3):
                v = 9.5 if i in (5, 17) else 4.0 + i / 10
                f.write('lab/main/fridge-%02d/temp {"value": %s, "t": %d}\n' % (i, v, t0 + 60 * k))
                f.write('lab/main/fridge-%02d/door {"value": 0, "t": %d}\n' % (i, t0 + 60 * k))
    r = subprocess.run([LABQCD, "-c", cfg24, "--replay", os.path.join(d24, "feed.txt")],
                       capture_output=True, text=True, timeout=300, env=envv)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([LABQCD, "-c", cfg24, "--render"], capture_output=True, text=True,
                       timeout=300, env=envv)
    assert r.returncode == 0, r.stderr[-3000:]

    # The browser: fridge-01's compressor failed at hour 20: still in alarm.
    node_modules = os.path.join(ROOT, "tests", "browser", "node_modules")
    for mod in ("playwright-core", "axe-core"):
        assert os.path.isdir(os.path.join(node_modules, mod)), \
            "make deps installs playwright-core and axe-core into tests/browser"
    r = subprocess.run(["node", os.path.join(ROOT, "tests", "browser", "check.mjs"), www,
                        "fridge-01", "main/fridge-01/index.html", os.path.join(d24, "www")],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
