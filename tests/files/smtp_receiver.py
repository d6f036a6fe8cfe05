#!/usr/bin/python3
"""A real SMTP server for the notifier tests (aiosmtpd, Debian python3-aiosmtpd).

usage: smtp_receiver.py DIR PORTFILE [PORT]

Listens on 127.0.0.1 on PORT (default a free port), writes the port number to PORTFILE
once it accepts connections, and saves every message it accepts as
DIR/msg-N.eml (the DATA bytes as received) with DIR/msg-N.env (MAIL FROM
and RCPT TO, one a line). Runs until SIGTERM; the test stops it by PID.
"""
import os
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Saver:
    def __init__(self, out):
        self.out = out
        self.n = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            base = os.path.join(self.out, "msg-%d" % self.n)
        with open(base + ".env.tmp", "w") as f:
            f.write(envelope.mail_from + "\n")
            for r in envelope.rcpt_tos:
                f.write(r + "\n")
        os.rename(base + ".env.tmp", base + ".env")
        data = envelope.original_content or envelope.content
        with open(base + ".eml.tmp", "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK saved"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    out, portfile = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else free_port()
    ctl = Controller(Saver(out), hostname="127.0.0.1", port=port)
    ctl.start()
    with open(portfile + ".tmp", "w") as f:
        f.write(str(ctl.port))
    os.rename(portfile + ".tmp", portfile)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(0.2):
        pass
    ctl.stop()


if __name__ == "__main__":
    main()
