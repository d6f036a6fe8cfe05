"""Scenario: patient-based real-time QC through the real daemon (issue 22,
acceptance 2).

1. Patient sodium results go over a real mosquitto to `labqcd -f`, on
   lab/main/chem-01/patient/sodium: 30 in control (139, 141 in turn: the
   moving average of 10 is 140), one outside the truncation limits (left
   out), one carrying a patient identifier (refused whole, a `dropped`
   record naming the field "mrn"), then a bias of +3 (143 each). Each
   143 pushes out a 139 (+0.4) or a 141 (+0.2), oldest first, starting
   with a 139: the moving average goes 140.4, 140.6, 141.0, 141.2, 141.6,
   and passes the limit 141.5 at the fifth biased result (and is 142.4
   after the eighth). The alert main/chem-01/sodium/pbrtqc fires there,
   with that value, and a real HTTP receiver gets it as an Alertmanager
   webhook through a route matching kind qc and rule pbrtqc. The
   statistic is in main/chem-01/pbrtqc/sodium.rrd, and the instrument
   page shows it with its limits.
2. Limits learnt from a training period (`--replay`): after `train`
   statistics a `pbrtqc_limits` record gives mean +- z(1 - far/2) SD of
   those statistics, the same numbers computed here from the input.
"""
import json
import math
import os
import statistics
import subprocess
import time

from harness import LABQCD, Receiver, rrd_lastupdate, publish, publish_lines, wait_for

KEY = "main/chem-01/sodium/pbrtqc"


class Http(Receiver):
    def __init__(self, outdir):
        super().__init__("http_receiver.py", outdir)

    def bodies(self):
        out = []
        for name in self.files(".body"):
            with open(os.path.join(self.out, name), "rb") as f:
                out.append(json.loads(f.read()))
        return out


def test_bias_fires_pbrtqc_webhook_and_extra_field_refused(env):
    broker = env.broker()
    hook = Http(os.path.join(env.dir, "http")).start()
    env.procs.append(hook)
    cfg = (
        "instruments:\n"
        "  main/chem-01:\n"
        "    qc:\n"
        "      sodium:\n"
        "        pbrtqc: { method: ma, block: 10, truncate: [120, 160], limits: [138.5, 141.5] }\n"
        "receivers:\n"
        f"  hook: {{ webhook: {{ url: \"http://127.0.0.1:{hook.port}/hook\" }} }}\n"
        "routes:\n"
        "  - match: { kind: qc, rule: pbrtqc }\n"
        "    receivers: [hook]\n"
        "    group_wait: 1s\n"
        "    repeat: 0\n"
    )
    d = env.labqcd(broker.port, config_body=cfg)
    topic = "lab/main/chem-01/patient/sodium"
    publish_lines(broker.port, topic, [str(139 + 2 * (i % 2)) for i in range(30)])
    publish(broker.port, topic, "250")  # truncated: left out
    publish(broker.port, topic, json.dumps({"value": 140, "mrn": "00123456"}))
    # the bias, one result at a time so that the alert carries the 6th
    for _ in range(8):
        publish(broker.port, topic, json.dumps({"value": 143, "unit": "mmol/L"}))

    wait_for(lambda: any(a["labels"]["key"] == KEY and a["status"] == "firing"
                         for b in hook.bodies() for a in b["alerts"]), 30, 0.1,
             "the pbrtqc webhook")
    firing = [r for r in d.audit() if r.get("type") == "alert" and r.get("key") == KEY]
    assert [r["state"] for r in firing] == ["firing"], firing
    assert math.isclose(firing[0]["value"], 141.6, abs_tol=1e-9), firing[0]
    assert "above the limit 141.5" in firing[0]["summary"], firing[0]["summary"]
    # the fifth biased result: 30 + the dropped one + 5 inputs after the truncated one
    assert firing[0]["seq"] == 30 + 1 + 1 + 5, firing[0]
    assert firing[0]["severity"] == "warning"

    dropped = [r for r in d.audit() if r.get("type") == "dropped"]
    assert len(dropped) == 1, dropped
    assert dropped[0]["topic"] == topic
    assert '"mrn"' in dropped[0]["reason"], dropped[0]
    # no identifier reached the record
    assert not any("00123456" in json.dumps(r) for r in d.audit())

    alerts = [a for b in hook.bodies() for a in b["alerts"] if a["labels"]["key"] == KEY]
    assert alerts[0]["labels"]["kind"] == "qc" and alerts[0]["labels"]["alertname"] == "pbrtqc"

    rrd = d.rrd_path("main/chem-01/pbrtqc/sodium")
    wait_for(lambda: os.path.exists(rrd), 15, 0.2, "the statistic's RRD file")
    # 8 biased results: 140 + 4 x 0.4 + 4 x 0.2
    wait_for(lambda: math.isclose(rrd_lastupdate(rrd)[1], 142.4, abs_tol=1e-6), 15, 0.2,
             "the last statistic in the RRD file")
    assert d.stop() == 0

    # the instrument page: the statistic with its limits
    r = subprocess.run([LABQCD, "-c", d.cfg, "--render"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(d.www, "main", "chem-01", "index.html")) as f:
        page = f.read()
    assert "pbrtqc-sodium" in page
    assert "141.5" in page and "138.5" in page


def test_limits_learnt_from_training(env):
    """--replay: MA(5) trained on 40 statistics at a false alarm rate of 2 %."""
    cfg = os.path.join(env.dir, "labqcd.yaml")
    with open(cfg, "w") as f:
        f.write(
            "daemon:\n"
            f"  state_dir: {env.dir}/state\n"
            f"  rrd_dir: {env.dir}/rrd\n"
            f"  www_dir: {env.dir}/www\n"
            "instruments:\n"
            "  main/chem-01:\n"
            "    qc:\n"
            "      potassium:\n"
            "        pbrtqc: { method: ma, block: 5, train: 40, false_alarm_rate: 0.02 }\n"
        )
    t0 = 1800000000
    values = [4.0 + 0.1 * math.sin(i * 1.7) + 0.05 * ((i * 7) % 5 - 2) for i in range(60)]
    lines = [f"lab/main/chem-01/patient/potassium {json.dumps({'v': v, 't': t0 + 60 * i})}"
             for i, v in enumerate(values)]
    inp = os.path.join(env.dir, "in.txt")
    with open(inp, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([LABQCD, "-c", cfg, "--replay", inp], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in r.stdout.splitlines()]
    lim = [x for x in recs if x["type"] == "pbrtqc_limits"]
    assert len(lim) == 1, recs
    ma = [sum(values[i - 4:i + 1]) / 5 for i in range(4, 4 + 40)]
    mean, sd = statistics.fmean(ma), statistics.stdev(ma)
    z = statistics.NormalDist().inv_cdf(1 - 0.02 / 2)
    assert lim[0]["key"] == "main/chem-01/potassium"
    assert math.isclose(lim[0]["mean"], mean, rel_tol=1e-9)
    assert math.isclose(lim[0]["sd"], sd, rel_tol=1e-9)
    assert math.isclose(lim[0]["lo"], mean - z * sd, rel_tol=1e-7)
    assert math.isclose(lim[0]["hi"], mean + z * sd, rel_tol=1e-7)
    # recorded at the result that completed the training: the 44th
    assert lim[0]["ts"].startswith(time.strftime("%Y-%m-%dT%H:%M", time.gmtime(t0 + 60 * 43)))
