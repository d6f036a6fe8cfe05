#!/usr/bin/python3
"""A real HTTP webhook receiver for the notifier tests.

usage: http_receiver.py DIR PORTFILE [STATUS [PORT]]

Listens on 127.0.0.1 on PORT (default a free port) (written to PORTFILE once it
listens), answers every POST with STATUS (default 200) and saves it as
DIR/post-N.body (the exact bytes) and DIR/post-N.headers ("Name: value"
lines). Runs until SIGTERM; the test stops it by PID.
"""
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

OUT = sys.argv[1]
STATUS = int(sys.argv[3]) if len(sys.argv) > 3 else 200
counter = [0]
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with lock:
            counter[0] += 1
            base = os.path.join(OUT, "post-%d" % counter[0])
        with open(base + ".headers.tmp", "w") as f:
            f.write("Path: %s\n" % self.path)
            for k, v in self.headers.items():
                f.write("%s: %s\n" % (k, v))
        os.rename(base + ".headers.tmp", base + ".headers")
        with open(base + ".body.tmp", "wb") as f:
            f.write(body)
        os.rename(base + ".body.tmp", base + ".body")
        self.send_response(STATUS)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


def main():
    srv = HTTPServer(("127.0.0.1", int(sys.argv[4]) if len(sys.argv) > 4 else 0), Handler)
    portfile = sys.argv[2]
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + ".tmp", portfile)

    def stop(*a):
        threading.Thread(target=srv.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
