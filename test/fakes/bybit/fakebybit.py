"""Start and drive fake-bybit from a Python test (standard library only).

    sys.path.insert(0, os.path.join(REPO, "test", "fakes", "bybit"))
    from fakebybit import FakeBybit
    with FakeBybit(keys={"K": "S"}, balances={"USDT": "100000"}, prices={"BTCUSDT": "50000"}) as fake:
        fake.url                                   # http://127.0.0.1:PORT
        fake.control(op="set_price", symbol="BTCUSDT", price="51000")
        fake.fault("drop", path="/v5/order/create")
        status, headers, body = fake.request("POST", "/v5/order/create", {"category": "linear", ...})
        fake.state()["accounts"]["K"]["orders"]

`request` signs as Bybit documents (timestamp + key + recv_window + query|body, HMAC-SHA256 hex);
it is a test client of the fake, independent of the C++ adapter.
"""
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_bybit.py")


def sign(secret, timestamp, key, recv_window, payload):
    """Bybit V5 HMAC signature: lowercase hex of HMAC-SHA256(secret, ts + key + recv_window + payload)."""
    origin = f"{timestamp}{key}{recv_window}{payload}"
    return hmac.new(secret.encode(), origin.encode(), hashlib.sha256).hexdigest()


class FakeBybit:
    def __init__(self, keys=None, balances=None, prices=None, extra_args=(), log=None):
        self.keys = dict(keys or {"test-key": "test-secret"})
        self.key, self.secret = next(iter(self.keys.items()))
        self.balances = balances or {"USDT": "100000"}
        self.prices = prices or {"BTCUSDT": "50000", "ETHUSDT": "3000"}
        self.extra_args = list(extra_args)
        self.log = log
        self.proc = None
        self.port = None
        self.offset_ms = 0  # our idea of server time - local time, set by sync_clock()

    # ---- process -----------------------------------------------------------------------
    def start(self):
        tmp = tempfile.mkdtemp(prefix="fake-bybit-")
        port_file = os.path.join(tmp, "port")
        cmd = [sys.executable, SERVER, "--listen", "127.0.0.1:0", "--port-file", port_file]
        for k, s in self.keys.items():
            cmd += ["--key", k, "--secret", s]
        for c, a in self.balances.items():
            cmd += ["--balance", f"{c}={a}"]
        for s, p in self.prices.items():
            cmd += ["--price", f"{s}={p}"]
        cmd += ["--log", self.log or os.path.join(tmp, "requests.log")] + self.extra_args
        self.stderr_path = os.path.join(tmp, "stderr.log")  # a file, never a pipe nobody drains
        with open(self.stderr_path, "w", encoding="utf-8") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("fake-bybit listening on "):
            self.proc.wait(5)
            with open(self.stderr_path, encoding="utf-8") as err:
                raise RuntimeError(f"fake-bybit did not start: {line!r} {err.read()[:2000]}")
        self.port = int(line.rsplit(":", 1)[1])
        self.url = f"http://127.0.0.1:{self.port}"
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

    def __exit__(self, *exc):
        self.stop()

    # ---- HTTP --------------------------------------------------------------------------
    def raw(self, method, target, body=None, headers=None, timeout=10):
        """One request on a fresh connection: (status, headers dict, body text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = body.encode() if isinstance(body, str) else body
            conn.request(method, target, body=data, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read().decode()
        finally:
            conn.close()

    def public(self, path, query=""):
        status, headers, text = self.raw("GET", path + ("?" + query if query else ""))
        return status, headers, json.loads(text)

    def request(self, method, path, params=None, key=None, secret=None, timestamp=None, recv_window="5000",
                query=None, body=None, sign_payload=None, timeout=10):
        """A signed request. params: dict (GET: k=v&k=v in that order; POST: compact JSON), or pass
        the exact query/body text. sign_payload overrides what is signed (to test mismatches)."""
        key = self.key if key is None else key
        secret = self.keys.get(key, self.secret) if secret is None else secret
        if timestamp is None:
            timestamp = int(time.time() * 1000) + self.offset_ms
        if method == "GET":
            payload = query if query is not None else "&".join(f"{k}={v}" for k, v in (params or {}).items())
            target = path + ("?" + payload if payload else "")
            data = None
        else:
            payload = body if body is not None else json.dumps(params or {}, separators=(",", ":"))
            target, data = path, payload
        headers = {
            "X-BAPI-API-KEY": key,
            "X-BAPI-TIMESTAMP": str(timestamp),
            "X-BAPI-RECV-WINDOW": str(recv_window),
            "X-BAPI-SIGN": sign(secret, timestamp, key, recv_window, payload if sign_payload is None else sign_payload),
            "Content-Type": "application/json",
        }
        status, hdrs, text = self.raw(method, target, data, headers, timeout)
        try:
            return status, hdrs, json.loads(text)
        except ValueError:
            return status, hdrs, text

    def sync_clock(self):
        _s, _h, body = self.public("/v5/market/time")
        self.offset_ms = body["time"] - int(time.time() * 1000)

    # ---- control -----------------------------------------------------------------------
    def control(self, **cmd):
        status, _h, text = self.raw("POST", "/__control", json.dumps(cmd))
        reply = json.loads(text)
        if status != 200 or not reply.get("ok"):
            raise RuntimeError(f"control {cmd}: HTTP {status} {reply}")
        return reply

    def fault(self, fault, **spec):
        return self.control(op="fault", fault=fault, **spec)

    def state(self):
        return self.control(op="state")
