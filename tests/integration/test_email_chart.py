"""Scenario: an alarm's email carries that alarm's own chart (issue 15).

A real mosquitto, the real labqcd and a real SMTP server (aiosmtpd,
tests/files/smtp_receiver.py), all on loopback, started here and stopped
by PID.

1. A fridge (temp min 2, max 8, delay 0) sends 12.0 C two seconds after
   labqcd's start; its route sends email with group_wait 0s. Before this
   issue the first email had no chart at all (the dashboard had drawn
   none yet), or a graph drawn before the excursion. Now the one email
   that arrives has one image/png part, a PNG of 700x240 that decodes,
   and it shows the excursion: graph.c draws the hard limits as dashed
   lines of #C62828 across the plot and the alert's sample as a disc of
   the average line's colour #1F3F7F where librrd's axes put it, so
   pixels of that colour lie above the max limit's row, in the last
   quarter of the plot (the time axis ends 5 minutes after the alert).
   The text says nothing about a missing chart.
2. A QC run rejected by 1-3s (L1 at z = +3.5): the email carries the
   analyte's Levey-Jennings charts, L1's first; on L1's chart the
   rejected result (a cross in a ring of ljchart.c's reject red) lies
   above the +3 SD line (the topmost long dashed row of pale red), inside
   the plot; on L2's, with no result, nothing of that red is above it.

The PNGs are decoded here with zlib (filters 0-4, colour types 2 and 6):
no imaging library is needed.
"""
import email
import email.policy
import json
import os
import time

import pngread
from harness import Receiver, publish, wait_for


class Smtp(Receiver):
    def __init__(self, outdir):
        super().__init__("smtp_receiver.py", outdir)

    def messages(self):
        out = []
        for name in self.files(".eml"):
            with open(os.path.join(self.out, name), "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out


def near(px, rgb, tol=3):
    return all(abs(a - b) <= tol for a, b in zip(px, rgb))


def long_rows(rows, rgb, x0, x1, min_count):
    """Rows with at least min_count pixels of colour rgb between x0 and x1."""
    return [y for y, row in enumerate(rows)
            if sum(1 for x in range(x0, x1) if near(row[x], rgb)) >= min_count]


def pngs_of(msg):
    out = []
    for part in msg.walk():
        if part.get_content_type() == "image/png":
            out.append((part.get_filename(), part.get_content()))
    return out


def text_of(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def start(env, config_body):
    smtp = Smtp(os.path.join(env.dir, "smtp")).start()
    env.procs.append(smtp)
    broker = env.broker()
    d = env.labqcd(broker.port, start=False,
                   config_body="smtp:\n"
                   f"  url: smtp://127.0.0.1:{smtp.port}\n"
                   "  from: labqcd@lab.example\n"
                   "  timeout: 10s\n" + config_body)
    return smtp, broker, d


# graph.c's layout: the plot starts at x 66 and is 618 pixels wide
PLOT_X0, PLOT_W = 66, 618
LIMIT = (0xC6, 0x28, 0x28)
AVERAGE = (0x1F, 0x3F, 0x7F)


def test_first_alarm_email_has_its_chart(env):
    smtp, broker, d = start(env, (
        "profiles:\n"
        "  fridge:\n"
        "    temp: { unit: C, min: 2, max: 8, delay: 0s }\n"
        "instruments:\n"
        "  main/fridge-01: { profile: fridge }\n"
        "receivers:\n"
        "  team: { email: [qc-lead@lab.example] }\n"
        "routes:\n"
        "  - match: { kind: equipment }\n"
        "    receivers: [team]\n"
        "    group_wait: 0s\n"))
    t_start = time.monotonic()
    d.start()
    time.sleep(max(0.0, 2.0 - (time.monotonic() - t_start)))
    publish(broker.port, "lab/main/fridge-01/temp",
            json.dumps({"v": 12.0, "t": round(time.time(), 3)}))
    wait_for(lambda: smtp.messages(), 30, 0.1, "the alarm email")
    time.sleep(2)  # a second email would be a duplicate
    msgs = smtp.messages()
    assert len(msgs) == 1, [m["Subject"] for m in msgs]
    msg = msgs[0]
    assert "FIRING" in msg["Subject"], msg["Subject"]
    assert "not attached" not in text_of(msg), text_of(msg)
    pngs = pngs_of(msg)
    assert len(pngs) == 1, [n for n, _ in pngs]
    name, data = pngs[0]
    assert name == "fridge-01-temp.png", name
    w, h, rows = pngread.decode(data)
    assert (w, h) == (700, 240), (w, h)

    limit_rows = long_rows(rows, LIMIT, PLOT_X0, PLOT_X0 + PLOT_W, 100)
    # two dashed lines (min 2 and max 8), each a row or two thick
    assert limit_rows, "no limit line drawn"
    max_row = min(limit_rows)
    assert max(limit_rows) - max_row > 20, f"one limit line only: rows {limit_rows}"
    right = PLOT_X0 + int(PLOT_W * 0.75)
    above = [(x, y) for y in range(0, max_row - 1) for x in range(right, PLOT_X0 + PLOT_W)
             if near(rows[y][x], AVERAGE)]
    assert len(above) >= 5, f"the 12.0 C sample is not drawn above the max line (row {max_row})"
    # and nothing of that colour above the line in the first three quarters
    left = [(x, y) for y in range(0, max_row - 1) for x in range(PLOT_X0, right)
            if near(rows[y][x], AVERAGE)]
    assert not left, f"line colour above max where there was no excursion: {left[:5]}"


QC_REJECT = (199, 40, 40)  # ljchart.c c_reject (0.78, 0.16, 0.16), the rejected marker
SD3_LINE = (227, 147, 147)  # the +-3 SD dashed lines: c_reject at half opacity on white
LJ_PLOT_X0, LJ_PLOT_X1 = 118, 684  # MARGIN_L, DASH_LJ_W - MARGIN_R


def red_above_3sd(rows):
    lines = long_rows(rows, SD3_LINE, LJ_PLOT_X0, LJ_PLOT_X1, 300)
    assert lines, "no +3 SD line"
    top = min(lines)
    return [(x, y) for y in range(0, top - 1) for x in range(LJ_PLOT_X0, LJ_PLOT_X1)
            if near(rows[y][x], QC_REJECT)]


def test_qc_rejection_email_has_lj_chart(env):
    smtp, broker, d = start(env, (
        "instruments:\n"
        "  main/chem-01:\n"
        "    qc:\n"
        "      glucose:\n"
        "        rules: 1-3s/2-2s/R-4s\n"
        "        warning: none\n"
        "        levels:\n"
        "          L1: { mean: 100, sd: 2 }\n"
        "          L2: { mean: 250, sd: 5 }\n"
        "receivers:\n"
        "  qc: { email: [qc-lead@lab.example] }\n"
        "routes:\n"
        "  - match: { kind: qc }\n"
        "    receivers: [qc]\n"
        "    group_wait: 0s\n"))
    d.start()
    publish(broker.port, "lab/main/chem-01/qc/glucose/L1",
            json.dumps({"value": 107.0, "t": round(time.time(), 3), "run": "r1"}))
    wait_for(lambda: smtp.messages(), 30, 0.1, "the QC rejection email")
    msg = smtp.messages()[0]
    assert "FIRING" in msg["Subject"] and "glucose" in msg["Subject"], msg["Subject"]
    assert "not attached" not in text_of(msg), text_of(msg)
    pngs = pngs_of(msg)
    names = [n for n, _ in pngs]
    assert names == ["chem-01-glucose-L1-lj.png", "chem-01-glucose-L2-lj.png"], names
    decoded = [pngread.decode(data) for _, data in pngs]
    for w, h, _ in decoded:
        assert (w, h) == (700, 300), (w, h)
    red_l1 = red_above_3sd(decoded[0][2])
    assert len(red_l1) >= 10, "L1's rejected result (z +3.5) is not drawn above +3 SD"
    assert not red_above_3sd(decoded[1][2]), "L2 has no result, yet red above +3 SD"
