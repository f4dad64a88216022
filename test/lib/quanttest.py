"""What the Python test scripts share: psql against the test database (the PG* variables of the
environment), counting checks, and the "N passed, N failed" last line that scripts/test.sh reads.

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import quanttest
    T = quanttest.Tally()            # tap=False: only failures are printed, as "FAIL label: detail"
    T.check(ok, "label", "detail")
    sys.exit(T.summary())
"""
import os
import subprocess

REPO = os.environ.get("QUANT_REPO") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PSQL = ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"]


def psql(sql, sep="\t", prelude="SET client_min_messages = warning;\n"):
    """sql (after prelude) in one psql session on stdin; the non-empty output lines."""
    proc = subprocess.run(PSQL + ["-F", sep], input=prelude + sql, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("psql failed (rc %d): %s" % (proc.returncode, proc.stderr.strip()[:2000]))
    return [line for line in proc.stdout.split("\n") if line != ""]


def psql_c(*commands, sep="|"):
    """Each command as its own `psql -c` (autocommit, one after another); psql's whole output."""
    args = PSQL + ["-F", sep]
    for c in commands:
        args += ["-c", c]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"psql failed: {proc.stderr.strip()}\nSQL: {commands[-1]}")
    return proc.stdout


class Tally:
    """Counts checks. tap=True prints "ok - label" / "not ok - label: detail" for each;
    tap=False prints failures only, as "FAIL label: detail"."""

    def __init__(self, tap=False):
        self.tap = tap
        self.passed = 0
        self.failed = 0

    def check(self, ok, label, detail="", quiet=False):
        """One test; quiet suppresses the failure's line (the count still goes up)."""
        if ok:
            self.passed += 1
            if self.tap:
                print(f"ok - {label}", flush=True)
        else:
            self.failed += 1
            if not quiet:
                head = "not ok - " if self.tap else "FAIL "
                print(head + label + (f": {detail}" if detail not in ("", None) else ""), flush=True)
        return ok

    def summary(self):
        """Prints the last line and returns the exit status (1 on any failure)."""
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


class Session:
    """One psql backend kept open: each run() is sent to it and its output read back, so that
    what a backend keeps (caches, an open transaction) is seen across calls. Errors do not end
    the session: their ERROR lines come back with the output."""

    END = "__quant_session_end__"

    def __init__(self, prelude="SET client_min_messages = warning;", env=None):
        """env: psql's environment (default: this process's, the PG* of the test database)."""
        self.proc = subprocess.Popen(PSQL[:-2] + ["-v", "ON_ERROR_STOP=0", "-F", "|"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                     env=env)
        self.run(prelude)
        self.pid = self.one("SELECT pg_backend_pid()")

    def run(self, sql):
        """sql's output lines (ERROR lines among them), in order."""
        self.send(sql)
        return self.receive()

    def send(self, sql):
        """Sends sql without waiting for it (receive() reads its output): for a statement that
        blocks until another session does something."""
        self.proc.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo " + self.END + "\n")
        self.proc.stdin.flush()

    def receive(self):
        """The output lines of the statements sent last."""
        out = []
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line == self.END:
                return out
            if line != "":
                out.append(line)
        raise RuntimeError("psql session ended: " + " / ".join(out))

    def one(self, sql):
        """The one line sql prints (all of them joined by ' / ' when not one)."""
        out = self.run(sql)
        return out[0] if len(out) == 1 else " / ".join(out)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
