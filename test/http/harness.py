"""What the quant-http tests share: the checks (counted by test/lib/quanttest.py's Tally, as every
Python test script is), psql, and a Server that starts the real binary on free loopback ports (the
API's and the metrics'), optionally with TLS. Standard library only.
"""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import quanttest  # noqa: E402  (test/lib: psql, the tally, the last line)

BIN = sys.argv[1] if len(sys.argv) > 1 else ""
T = quanttest.Tally(tap=True)


def check(name, cond, info=""):
    """One check, printed as "ok - name" / "not ok - name: info"."""
    return T.check(cond, name, str(info)[:400] if info not in ("", None) else "")


def psql(sql):
    """sql as one `psql -c` (autocommit); its output, stripped."""
    return quanttest.psql_c(sql).strip()


def run_main(main):
    """Runs main() and exits with the tally: a crash of the test itself is a failure, not a
    silence; the last line is "N passed, N failed"."""
    try:
        main()
    except Exception as e:
        traceback.print_exc()
        check("the test ran to the end", False, e)
    sys.exit(T.summary())


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        self.json = None
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            pass

    def __repr__(self):
        return f"{self.status} {self.body[:300]!r}"


def is_problem(r, status, field=None):
    ok = r.status == status and r.headers.get("content-type", "").startswith("application/problem+json") \
        and isinstance(r.json, dict) and r.json.get("status") == status and "request_id" in r.json
    if ok and field is not None:
        ok = r.json.get("field") == field
    return ok


class Server:
    """quant-http on 127.0.0.1:<free port>, /metrics on another free port. tls=(cert, key) for HTTPS."""

    def __init__(self, name, tls=None, wait=True, **env):
        self.port = free_port()
        self.metrics_port = free_port()
        self.tls = tls
        self.log = tempfile.NamedTemporaryFile(prefix=f"quant-http-{name}-", suffix=".log", delete=False)
        e = dict(os.environ, QUANT_HTTP_ADDR=f"127.0.0.1:{self.port}",
                 QUANT_HTTP_METRICS_ADDR=f"127.0.0.1:{self.metrics_port}", QUANT_HTTP_HEAD_TIMEOUT_MS="2000",
                 QUANT_HTTP_BODY_TIMEOUT_MS="2000", QUANT_HTTP_KEEPALIVE_S="2")
        if tls:
            e.update(QUANT_HTTP_TLS_CERT=tls[0], QUANT_HTTP_TLS_KEY=tls[1])
        e.update({k: str(v) for k, v in env.items()})
        self.proc = subprocess.Popen([BIN], env=e, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait:
            return
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                if self.request("GET", "/healthz", timeout=2).status == 200:
                    return
            except (OSError, http.client.HTTPException):
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"quant-http did not start, log {self.log.name}")

    def connection(self, port=None, timeout=60, source=None):
        src = (source, 0) if source else None
        if self.tls and port is None:
            ctx = ssl.create_default_context(cafile=self.tls[0])
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx,
                                               source_address=src)
        return http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout, source_address=src)

    def request(self, method, path, body=None, key=None, headers=None, timeout=60, source=None, port=None):
        h = dict(headers or {})
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        c = self.connection(port, timeout, source)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            c.close()

    def metrics(self, path="/metrics", **kw):
        return self.request("GET", path, port=self.metrics_port, **kw)

    def metric(self, name):
        """The value of one sample line of /metrics (name with its labels), or None."""
        for line in self.metrics().body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return None

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def alive(self):
        try:
            return self.proc.poll() is None and self.request("GET", "/healthz", timeout=5).status == 200
        except (OSError, http.client.HTTPException):
            return False

    def stop(self):
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return "timeout"

    def log_text(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()
