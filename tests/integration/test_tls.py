"""Scenario: MQTT over TLS with a client certificate and a password.

A test CA and certificates (CN and subjectAltName 127.0.0.1) are made with
openssl; mosquitto listens with TLS, requires a client certificate and
checks a password file (mosquitto_passwd). labqcd connects with mqtts://,
ca_file, cert_file/key_file, username and password_file:
1. samples land; the password is nowhere in the (debug level) log;
2. with a CA that did not sign the broker's certificate labqcd does not
   connect, and says why in the log;
3. with a wrong password the broker refuses it, logged, password not.
"""
import json
import os
import subprocess
import time

from harness import rrd_lastupdate, wait_for
from tls_common import make_ca, make_cert

PASSWORD = "Tr0ub4dor-and-3-horses"


def pki(env):
    d = os.path.join(env.dir, "pki")
    os.makedirs(d)
    ca = make_ca(d)
    server = make_cert(d, ca, "server", "127.0.0.1", "IP:127.0.0.1")
    client = make_cert(d, ca, "client", "labqcd")
    other = make_ca(d, "other-ca")
    pwfile = os.path.join(d, "mosquitto.passwd")
    subprocess.run(["mosquitto_passwd", "-c", "-b", pwfile, "labqcd", PASSWORD], check=True,
                   capture_output=True, timeout=30)
    subprocess.run(["mosquitto_passwd", "-b", pwfile, "feeder", "feeder-pw"], check=True,
                   capture_output=True, timeout=30)
    return d, ca, server, client, other, pwfile


def tls_broker(env, ca, server, pwfile):
    return env.broker(extra=(
        f"cafile {ca[1]}\ncertfile {server[1]}\nkeyfile {server[0]}\n"
        "require_certificate true\n"
        f"password_file {pwfile}\n"
        "allow_anonymous false\n"
        "user root\n"))  # the test files are root's (mkdtemp 0700)


def tls_labqcd(env, broker, ca_pem, client, password):
    pw = os.path.join(env.dir, "mqtt.password")
    with open(pw, "w") as f:
        f.write(password + "\n")
    os.chmod(pw, 0o600)
    d = env.labqcd(broker.port, start=False)
    with open(d.cfg) as f:
        text = f.read()
    text = text.replace(f"  url: mqtt://127.0.0.1:{broker.port}\n",
                        f"  url: mqtts://127.0.0.1:{broker.port}\n"
                        f"  ca_file: {ca_pem}\n"
                        f"  cert_file: {client[1]}\n  key_file: {client[0]}\n"
                        "  username: labqcd\n"
                        f"  password_file: {pw}\n")
    with open(d.cfg, "w") as f:
        f.write(text)
    return d


def pub(broker, ca, client, topic, payload):
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                        "--cafile", ca[1], "--cert", client[1], "--key", client[0],
                        "-u", "feeder", "-P", "feeder-pw", "-t", topic, "-m", payload],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr


def test_tls_with_client_cert_and_password(env):
    _, ca, server, client, _, pwfile = pki(env)
    broker = tls_broker(env, ca, server, pwfile)
    d = tls_labqcd(env, broker, ca[1], client, PASSWORD)
    d.start()
    t = time.time()
    pub(broker, ca, client, "lab/main/fridge-07/temp", json.dumps({"v": 4.25, "t": t}))
    path = d.rrd_path("main/fridge-07/temp")
    wait_for(lambda: os.path.exists(path) and rrd_lastupdate(path)[1] == 4.25, 20, 0.2,
             "the sample sent over TLS")
    assert d.stop() == 0, d.log()
    assert PASSWORD not in d.log()


def test_tls_wrong_ca_does_not_connect(env):
    _, ca, server, client, other, pwfile = pki(env)
    broker = tls_broker(env, ca, server, pwfile)
    d = tls_labqcd(env, broker, other[1], client, PASSWORD)
    d.start(wait_connected=False)
    wait_for(lambda: "cannot connect" in d.log() or "lost" in d.log(), 15, 0.2,
             "the failed TLS connection to be logged")
    time.sleep(3)
    assert d.alive(), d.log()
    assert "connected to" not in d.log(), d.log()
    assert PASSWORD not in d.log()
    assert d.stop() == 0, d.log()


def test_wrong_password_refused_and_not_logged(env):
    _, ca, server, client, _, pwfile = pki(env)
    broker = tls_broker(env, ca, server, pwfile)
    wrong = "not-the-Password-42"
    d = tls_labqcd(env, broker, ca[1], client, wrong)
    d.start(wait_connected=False)
    wait_for(lambda: "refused the connection" in d.log(), 15, 0.2, "the refusal to be logged")
    assert d.alive(), d.log()
    assert "connected to" not in d.log()
    assert wrong not in d.log() and PASSWORD not in d.log()
    assert d.stop() == 0, d.log()
