"""Test PKI made with openssl inside the test: a CA, a server certificate
for 127.0.0.1 (CN and subjectAltName IP) and a client certificate. Not a
test file."""
import os
import subprocess


def _run(*args):
    subprocess.run(args, check=True, capture_output=True, timeout=60)


def make_ca(d, name="ca"):
    key, pem = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
         "-out", pem, "-days", "2", "-subj", f"/CN=labqcd test {name}")
    return key, pem


def make_cert(d, ca, name, cn, san=None):
    key, csr, pem = (os.path.join(d, name + ext) for ext in (".key", ".csr", ".pem"))
    _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", f"/CN={cn}")
    args = ["openssl", "x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0],
            "-CAcreateserial", "-out", pem, "-days", "2"]
    if san:
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\n")
        args += ["-extfile", ext]
    _run(*args)
    os.chmod(key, 0o600)
    return key, pem


def self_signed(d, name="selfsigned"):
    key, pem = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
         "-out", pem, "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1")
    return key, pem
