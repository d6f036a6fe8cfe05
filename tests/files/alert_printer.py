#!/usr/bin/python3
"""The local alert receiver of `make run`: prints every alert it gets.

usage: alert_printer.py [--config etc/labqcd.yaml] [--http PORT] [--smtp PORT]
                        [--jsonl FILE]

An HTTP webhook receiver (POST, any path, answered 200) and an SMTP server
(aiosmtpd, Debian's python3-aiosmtpd: run with /usr/bin/python3), both on
127.0.0.1. Ports default to the ones the config names: the `smtp: url:`
and the first `webhook: { url: ... }` on 127.0.0.1. One line per alert on
stdout, flushed at once:

  12:00:01 webhook chat     firing   critical main/fridge-02/temp/range  summary
  12:00:02 email   biomed@lab.example  Subject line

--jsonl FILE appends one JSON record per alert (receive time "t_recv",
epoch seconds; "via"; the alert's labels, or the email's subject), which
the benchmarks read. A port already in use is an error (exit 1), never a
silent retry. Runs until SIGTERM or SIGINT; `make run` stops it by PID.
"""
import argparse
import email
import email.policy
import json
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

out_lock = threading.Lock()
jsonl = None


def emit(line, record):
    with out_lock:
        print(line, flush=True)
        if jsonl:
            jsonl.write(json.dumps(record) + "\n")
            jsonl.flush()


def hhmmss(t):
    return time.strftime("%H:%M:%S", time.localtime(t))


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        t = time.time()
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        try:
            doc = json.loads(body)
        except ValueError:
            emit(f"{hhmmss(t)} webhook (not JSON, {len(body)} bytes)",
                 {"t_recv": t, "via": "webhook", "raw": body.decode(errors="replace")})
            return
        alerts = doc.get("alerts") if isinstance(doc, dict) else None
        if not isinstance(alerts, list):  # slack or plain format
            text = doc.get("text", "") if isinstance(doc, dict) else str(doc)
            emit(f"{hhmmss(t)} webhook {text.splitlines()[0] if text else body[:120]!r}",
                 {"t_recv": t, "via": "webhook", "text": text})
            return
        receiver = doc.get("receiver", "")
        for a in alerts:
            lab = a.get("labels", {})
            summ = a.get("annotations", {}).get("summary", "")
            emit(f"{hhmmss(t)} webhook {receiver:<8} {a.get('status', ''):<8} "
                 f"{lab.get('severity', ''):<8} {lab.get('key', '')}  {summ}",
                 {"t_recv": t, "via": "webhook", "receiver": receiver,
                  "status": a.get("status"), "labels": lab, "summary": summ})

    def log_message(self, *args):  # keep the terminal for alerts
        pass


class Mail:
    async def handle_DATA(self, server, session, envelope):
        t = time.time()
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode()
        msg = email.message_from_bytes(data, policy=email.policy.default)
        subject = str(msg.get("Subject", "")).replace("\n", " ")
        rcpts = ",".join(envelope.rcpt_tos)
        emit(f"{hhmmss(t)} email   {rcpts}  {subject}",
             {"t_recv": t, "via": "email", "rcpt": envelope.rcpt_tos, "subject": subject})
        return "250 OK"


def ports_from_config(path):
    """(smtp port, webhook port) named in the config, or None each."""
    try:
        text = open(path).read()
    except OSError as e:
        sys.exit(f"alert_printer: {path}: {e.strerror}")
    smtp = re.search(r"^\s*url:\s*smtp://127\.0\.0\.1:(\d+)", text, re.M)
    hook = re.search(r"webhook:\s*\{\s*url:\s*\"?http://127\.0\.0\.1:(\d+)/", text)
    return (int(smtp.group(1)) if smtp else None, int(hook.group(1)) if hook else None)


def main():
    global jsonl
    ap = argparse.ArgumentParser(description="print the alerts labqcd sends")
    ap.add_argument("--config")
    ap.add_argument("--http", type=int)
    ap.add_argument("--smtp", type=int)
    ap.add_argument("--jsonl")
    o = ap.parse_args()
    smtp_port, http_port = o.smtp, o.http
    if o.config:
        cs, ch = ports_from_config(o.config)
        smtp_port = smtp_port or cs
        http_port = http_port or ch
    if not smtp_port and not http_port:
        sys.exit("alert_printer: no port: give --http, --smtp or --config")
    if o.jsonl:
        jsonl = open(o.jsonl, "a")

    servers = []
    if http_port:
        try:
            httpd = ThreadingHTTPServer(("127.0.0.1", http_port), Hook)
        except OSError as e:
            sys.exit(f"alert_printer: webhook port 127.0.0.1:{http_port}: {e.strerror}")
        threading.Thread(target=httpd.serve_forever, name="http", daemon=True).start()
        servers.append(f"webhook http://127.0.0.1:{http_port}/")
    ctl = None
    if smtp_port:
        from aiosmtpd.controller import Controller
        ctl = Controller(Mail(), hostname="127.0.0.1", port=smtp_port)
        try:
            ctl.start()
        except (OSError, RuntimeError) as e:
            sys.exit(f"alert_printer: smtp port 127.0.0.1:{smtp_port}: {e}")
        servers.append(f"smtp 127.0.0.1:{smtp_port}")
    print("alert_printer: listening: " + ", ".join(servers), file=sys.stderr, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(0.2):
        pass
    if ctl:
        ctl.stop()


if __name__ == "__main__":
    main()
