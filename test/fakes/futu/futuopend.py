"""Start and drive fake-opend from a Python test.

    sys.path.insert(0, os.path.join(REPO, "test", "fakes", "futu"))
    from futuopend import FakeOpenD
    with FakeOpenD(trade_password="654321") as fake:
        fake.addr                         # ("127.0.0.1", PORT): where quant-worker connects
        fake.fault("drop_after_accept")
        fake.state()["accounts"]["2001"]["orders"]
        c = fake.client()                 # a test client (framing by struct/hashlib, not the C++ adapter)
        c.init(); rsp = c.call(2001, Trd_GetAccList.Request(...))

The fake needs google.protobuf (Debian python3-protobuf): python_with_protobuf() finds an
interpreter that has it (this one, else /usr/bin/python3).
"""
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SERVER = os.path.join(HERE, "fake_opend.py")
HEAD = struct.Struct("<2sIBBII20s8s")


def pb_dir():
    return os.environ.get("QUANT_FUTU_PB_DIR") or os.path.join(REPO, "build", "worker", "futu_pb")


def python_with_protobuf():
    for exe in (sys.executable, "/usr/bin/python3"):
        if exe and os.path.exists(exe) and subprocess.run(
                [exe, "-c", "import google.protobuf"], capture_output=True).returncode == 0:
            return exe
    return None


class FakeOpenD:
    def __init__(self, accounts=None, trade_password="123456", prices=None, lots=None, cash="1000000",
                 keepalive=10, log=None):
        self.accounts = accounts
        self.trade_password = trade_password
        self.prices = prices or {}
        self.lots = lots or {}
        self.cash = cash
        self.keepalive = keepalive
        self.log = log
        self.proc = None

    def start(self):
        exe = python_with_protobuf()
        if exe is None:
            raise RuntimeError("no Python with google.protobuf (apt-get install python3-protobuf)")
        tmp = tempfile.mkdtemp(prefix="fake-opend-")
        cmd = [exe, SERVER, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--pb-dir", pb_dir(),
               "--trade-password", self.trade_password, "--cash", str(self.cash),
               "--keepalive", str(self.keepalive), "--log", self.log or os.path.join(tmp, "requests.log")]
        for a in self.accounts or []:
            cmd += ["--account", a]
        for s, p in self.prices.items():
            cmd += ["--price", f"{s}={p}"]
        for s, n in self.lots.items():
            cmd += ["--lot", f"{s}={n}"]
        self.logpath = cmd[cmd.index("--log") + 1]
        self.stderr_path = os.path.join(tmp, "stderr.log")
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("fake-opend listening on "):
            self.proc.wait(5)
            raise RuntimeError(f"fake-opend did not start: {line!r} {open(self.stderr_path).read()[:2000]}")
        parts = line.split()
        self.port = int(parts[3].rsplit(":", 1)[1])
        self.control_port = int(parts[5].rsplit(":", 1)[1])
        self.addr = ("127.0.0.1", self.port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def control(self, **body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.control_port}/control",
                                     data=json.dumps(body).encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError(json.loads(e.read()).get("error"))

    def fault(self, fault, **fields):
        return self.control(op="fault", fault=fault, **fields)

    def state(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.control_port}/state", timeout=10) as r:
            return json.loads(r.read())

    def client(self):
        return Client(self.addr)


class Client:
    """A test client: OpenD's framing written from brokers.md §2.1 with struct and hashlib."""

    def __init__(self, addr):
        self.sock = socket.create_connection(addr, timeout=10)
        self.serial = 100
        self.conn_id = 0

    def send_raw(self, proto, body, serial=None, sha=None, flag=b"FT"):
        if serial is None:
            self.serial += 1
            serial = self.serial
        self.sock.sendall(HEAD.pack(flag, proto, 0, 0, serial, len(body), sha or hashlib.sha1(body).digest(),
                                    b"\0" * 8) + body)
        return serial

    def recv(self):
        head = self._read(44)
        flag, proto, fmt, ver, serial, blen, sha, _ = HEAD.unpack(head)
        body = self._read(blen)
        return {"flag": flag, "proto": proto, "serial": serial, "sha_ok": hashlib.sha1(body).digest() == sha,
                "body": body}

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            c = self.sock.recv(n - len(buf))
            if not c:
                raise ConnectionError("closed by fake-opend")
            buf += c
        return buf

    def call(self, proto, request, response_cls):
        serial = self.send_raw(proto, request.SerializeToString())
        r = self.recv()
        assert r["serial"] == serial and r["proto"] == proto, r
        return response_cls.FromString(r["body"])

    def close(self):
        self.sock.close()
