#!/usr/bin/env python3
"""The chaos soak (issue 15, parts 5 and 7): many deployments of many users trade through real
quant-worker processes against the paper broker and fake-bybit, while the driver kills workers
(SIGKILL at the four crash points and at random moments), stops the database with
`pg_ctl stop -m immediate` and restarts it, injects broker faults, and flips the kill switches
(an admin halt, a deployment's enabled flag through the REST role). Then it lets everything
settle and runs the invariant checker (invariants.py) and the checker's self-test.

Everything runs with the least-privilege roles: the worker logs in as a role that is only a
member of quant_worker (and SET ROLEs to it), users act through a login that is only a member of
quant_app (SET ROLE quant_app, quant.login_api_key, the API functions: no table grants), the
halts through a member of quant_admin. Only the scheduler's part (inserting PENDING signals, as
pg_cron would) and the final read of the books run as the superuser.

    python3 test/chaos/chaos.py --seed 1 --duration 120            # what make test runs
    python3 test/chaos/chaos.py --seed 7 --kills 200 --db-stops 20 --faults 1000 --duration 3600

The cluster is the driver's own (initdb in a temporary directory with $QUANT_PGBIN, default
the bin dir of `pg_config`; the quant extension must be installed there). The last line is
"N passed, N failed" (scripts/test-in-cluster.sh reads it); the figures are printed before it.
"""
import argparse
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "lib"))
sys.path.insert(0, os.path.join(REPO, "test", "fakes", "bybit"))
sys.path.insert(0, HERE)
import quanttest  # noqa: E402
import invariants  # noqa: E402
from fakebybit import FakeBybit  # noqa: E402

CRASH_POINTS = ["after_claim", "after_intent", "after_send", "before_outcome"]
PAPER_PRICE = {"CHA": 100.0, "CHB": 40.0}
BTC_PRICE = 50000.0
ETH_PRICE = 3000.0
STARTING_CASH = 100000.0
START_USDT = 100000.0


def log(msg):
    print(f"# [{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- the cluster -------------------------------------------------------------------------------
class Cluster:
    def __init__(self, port=None):
        self.bindir = os.environ.get("QUANT_PGBIN") or subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        self.dir = tempfile.mkdtemp(prefix="quant_chaos_pg_")
        self.data = os.path.join(self.dir, "data")
        self.port = port or free_port()
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.dir, 0o755)

    def run(self, *args):
        return subprocess.run(self.as_user + list(args), capture_output=True, text=True, cwd="/")

    def init(self, keyfile):
        r = self.run(os.path.join(self.bindir, "initdb"), "-D", self.data, "-A", "trust", "-U", "postgres",
                     "--no-sync")
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stdout + r.stderr)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                    "max_connections = 100\nfsync = off\nfull_page_writes = off\nsynchronous_commit = on\n"
                    "track_commit_timestamp = on\nlog_min_messages = warning\n"
                    f"quant.credential_key_file = '{keyfile}'\n")

    def start(self):
        r = self.run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"),
                     "-w", "-t", "120", "start")
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed: " + r.stdout + r.stderr)

    def stop(self, mode="fast"):
        r = self.run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")
        return r.returncode == 0

    def url(self, user="postgres", db="quant"):
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def psql(self, sql, user="postgres", db="quant", retry=True):
        """sql in one psql session (ON_ERROR_STOP); the non-empty output lines. retry: while the
        database is down (a chaos stop), try again for up to 120 s."""
        t0 = time.time()
        while True:
            r = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-q", "-t", "-A", "-F", "|",
                                "-v", "ON_ERROR_STOP=1", self.url(user, db)],
                               input="SET client_min_messages = warning;\n" + sql, capture_output=True, text=True)
            if r.returncode == 0:
                return [x for x in r.stdout.split("\n") if x != ""]
            down = any(s in r.stderr for s in ("Connection refused", "server closed", "shutting down",
                                               "starting up", "terminating connection", "recovery mode",
                                               "no connection to the server", "could not connect"))
            if not (retry and down) or time.time() - t0 > 120:
                raise RuntimeError(f"psql as {user} failed: {r.stderr.strip()[:1500]}\nSQL: {sql[:500]}")
            time.sleep(0.3)

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- the soak ---------------------------------------------------------------------------------
class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.run_id = uuid.UUID(int=random.Random(args.seed).getrandbits(128)).hex[:6]
        self.logdir = tempfile.mkdtemp(prefix="quant_chaos_")
        self.worker_bin = os.environ.get("QUANT_WORKER_BIN") or os.path.join(REPO, "build", "worker", "quant-worker")
        self.workers = {}  # wid -> (Popen, crash_at or None, log path)
        self.stats = {"kills_" + p: 0 for p in CRASH_POINTS}
        self.stats.update({"kills_random": 0, "db_stops": 0, "faults": 0, "halts": 0, "disables": 0,
                           "signals": 0, "worker_starts": 0})
        self.fault_kinds = {}
        self.windows = []
        self.users = []
        self.deps = {}  # deployment_id -> {user_id, broker, key, limits, price, starting_cash}
        self.bar = {}
        self.halted = None  # start time of the open halt window
        self.disabled = {}  # dep -> start of its open disable window
        self.breaker_windows = {}  # breaker_id -> (trip commit, reset call) of the breakers a person reset

    # -- setup --
    def setup(self):
        a = self.args
        keydir = tempfile.mkdtemp(prefix="quant_chaos_key_")
        os.chmod(keydir, 0o755)
        self.keyfile = os.path.join(keydir, "credential.key")
        with open(self.keyfile, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chmod(self.keyfile, 0o644)
        self.pg = Cluster(a.port)
        self.pg.init(self.keyfile)
        self.pg.start()
        self.pg.psql("CREATE DATABASE quant", db="postgres")
        self.pg.psql("CREATE EXTENSION quant")
        # the least-privilege logins: each is only a member of one of the project's NOLOGIN roles
        self.pg.psql("CREATE ROLE chaos_worker LOGIN IN ROLE quant_worker;"
                     "CREATE ROLE chaos_app LOGIN IN ROLE quant_app;"
                     "CREATE ROLE chaos_admin LOGIN IN ROLE quant_admin;")
        bars = []
        for t, p in PAPER_PRICE.items():
            bars.append(f"INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) SELECT '{t}', "
                        f"timestamptz '2026-01-01' + g * interval '1 day', {p}, {p}, {p}, {p}, 1000 "
                        f"FROM generate_series(0, 59) g;")
        for t, p in (("BTC-USD", BTC_PRICE), ("ETH-USD", ETH_PRICE)):
            bars.append(f"INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) SELECT '{t}', "
                        f"timestamptz '2026-01-01' + g * interval '1 day', {p}, {p}, {p}, {p}, 10 "
                        f"FROM generate_series(0, 59) g;")
        self.pg.psql("\n".join(bars))
        self.keys = {}
        for i in range(a.users):
            u = f"chaos{self.run_id}u{i}"
            self.users.append(u)
            self.keys[u] = (f"CK{self.run_id}{i}", f"cs-{uuid.uuid4().hex}")
        self.fake = FakeBybit(keys=dict(self.keys.values()), balances={"USDT": str(int(START_USDT))},
                              prices={"BTCUSDT": str(int(BTC_PRICE)), "ETHUSDT": str(int(ETH_PRICE))},
                              log=os.path.join(self.logdir, "fake-bybit.log")).start()
        base = {"max_bar_age_hours": None, "max_orders_per_minute": 10000, "max_daily_trades": 100000,
                "max_consecutive_rejects": 10000}
        for i, u in enumerate(self.users):
            api_key = self.pg.psql(f"SELECT quant.create_api_key('{u}')")[0]
            self.keys[u] = self.keys[u] + (api_key,)
            ck, cs, _ = self.keys[u]
            self.rest(u, f"SELECT quant.set_broker_credential('BYBIT', 'demo', '{ck}', '{cs}')")
            if i % 3 == 1:  # an account breaker that the fees trip after a few round trips
                self.rest(u, "SELECT quant.set_account_limits('{\"max_daily_loss\": 6, \"flatten_on_breach\": true}')")
            for t in PAPER_PRICE:
                sid = self.strategy(u, t)
                for k in range(a.deps_per_ticker):
                    lim = dict(base)
                    kind = self.rng.random()
                    if kind < 0.15:
                        lim["max_daily_trades"] = self.rng.randint(3, 12)
                    elif kind < 0.25:
                        lim["max_position_usd"] = 1  # every entry refused
                    elif kind < 0.35:
                        lim["max_orders_per_minute"] = 3
                    elif kind < 0.45:
                        lim["max_consecutive_losses"] = 3
                        lim["flatten_on_breach"] = True
                    self.deploy(u, sid, "PAPER", 10, lim, PAPER_PRICE[t], t)
            for tk, qty, px in (("BTC-USD", 0.01, BTC_PRICE), ("ETH-USD", 0.1, ETH_PRICE)):
                sid = self.strategy(u, tk)
                lim = dict(base)
                if i % 4 == 3:
                    lim["max_daily_trades"] = self.rng.randint(4, 12)
                self.deploy(u, sid, "BYBIT", qty, lim, px, tk)
        self.bybit_deps = [d for d, x in self.deps.items() if x["broker"] == "BYBIT"]
        self.paper_deps = [d for d, x in self.deps.items() if x["broker"] == "PAPER"]
        log(f"{len(self.users)} users, {len(self.deps)} deployments "
            f"({sum(1 for d in self.deps.values() if d['broker'] == 'BYBIT')} on Bybit); logs in {self.logdir}")

    def rest(self, user, sql):
        """sql as the REST layer would run it: the quant_app login, SET ROLE quant_app, the user's
        API key (quant.login_api_key), one transaction."""
        key = self.keys[user][2]
        out = self.pg.psql(f"BEGIN; SET LOCAL ROLE quant_app; SELECT quant.login_api_key('{key}') \\g /dev/null\n"
                           f"{sql};\nCOMMIT;", user="chaos_app")
        return out[-1] if out else ""

    def strategy(self, user, ticker):
        cfg = {"ticker": ticker, "trading_period": 252, "substrategies": [
            {"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 30}]}
        return self.rest(user, f"SELECT quant.create_strategy('{json.dumps(cfg)}')->>'strategy_id'")

    def deploy(self, user, sid, broker, qty, limits, price, ticker):
        rl = json.dumps(limits)
        extra = f", 'ticker', '{ticker}', 'market', 'US'" if broker == "PAPER" else ""
        dep = self.rest(user, f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'broker', '{broker}', "
                              f"'qty', {qty}, 'schedule', 'manual', 'risk_limits', '{rl}'::jsonb{extra}))->>'deployment_id'")
        self.deps[dep] = {"user_id": user, "broker": broker, "key": self.keys[user][0] if broker == "BYBIT" else None,
                          "limits": limits, "price": price, "starting_cash": STARTING_CASH, "ticker": ticker,
                          "symbol": ticker.replace("-USD", "USDT") if broker == "BYBIT" else ticker}
        self.bar[dep] = 0
        return dep

    # -- workers --
    def start_worker(self, wid, crash_at=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        e.update({"DB_URL": self.pg.url("chaos_worker"), "QUANT_WORKER_ID": f"{wid}-{self.run_id}",
                  "QUANT_WORKER_ROLE": "quant_worker", "QUANT_WORKER_POLL_MS": "300", "QUANT_WORKER_LEASE_S": "20",
                  "QUANT_WORKER_MAX_ATTEMPTS": str(self.args.max_attempts), "QUANT_WORKER_LOG_LEVEL": "info",
                  "QUANT_BYBIT_BASE_URL": self.fake.url, "QUANT_CREDENTIAL_KEY_FILE": self.keyfile,
                  "QUANT_BYBIT_FOLLOW_MS": "1500", "QUANT_BYBIT_POLL_MS": "50", "QUANT_BYBIT_TIMEOUT_MS": "1500",
                  "QUANT_BYBIT_CONNECT_TIMEOUT_MS": "1000", "QUANT_PAPER_STARTING_CASH": str(int(STARTING_CASH))})
        e.pop("QUANT_WORKER_CRASH_AT", None)
        if crash_at:
            e["QUANT_WORKER_CRASH_AT"] = crash_at
        path = os.path.join(self.logdir, f"{wid}.log")
        with open(path, "a") as fh:
            fh.write(json.dumps({"driver": "start", "crash_at": crash_at, "t": time.time()}) + "\n")
            p = subprocess.Popen([self.worker_bin], env=e, stdout=fh, stderr=fh, stdin=subprocess.DEVNULL)
        self.workers[wid] = (p, crash_at, path)
        self.stats["worker_starts"] += 1

    def reap(self, allow_crash=True):
        """Count the workers that died: at their crash point (rc -9 with a crash_hook in its log)."""
        for wid, (p, crash_at, path) in list(self.workers.items()):
            rc = p.poll()
            if rc is None:
                continue
            if rc == -signal.SIGKILL and crash_at:
                self.stats["kills_" + crash_at] += 1
            elif rc != -signal.SIGKILL and not (rc == 0 and getattr(p, "terminated", False)):
                log(f"worker {wid} exited with {rc} (see {path})")
                self.stats.setdefault("worker_exits", 0)
                self.stats["worker_exits"] += 1
            del self.workers[wid]

    def ensure_workers(self, chaos=True):
        for i in range(self.args.workers):
            wid = f"w{i}"
            if wid not in self.workers:
                crash_at = None
                if chaos and self.rng.random() < self.args.crash_point_share:
                    # the crash point least reached so far, so the four fill up evenly
                    crash_at = min(CRASH_POINTS, key=lambda c: (self.stats["kills_" + c], self.rng.random()))
                self.start_worker(wid, crash_at)

    def kill_random(self):
        live = [w for w, (p, c, _) in self.workers.items() if p.poll() is None and not c]
        if not live:
            return
        wid = self.rng.choice(live)
        p = self.workers[wid][0]
        p.send_signal(signal.SIGKILL)
        p.wait()
        self.stats["kills_random"] += 1
        del self.workers[wid]

    def stop_workers(self):
        for wid, (p, _c, _path) in list(self.workers.items()):
            if p.poll() is None:
                p.terminated = True
                p.send_signal(signal.SIGTERM)
        for wid, (p, _c, _path) in list(self.workers.items()):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.reap()
        self.workers.clear()

    # -- signals --
    def top_up(self):
        """Keep about --backlog PENDING signals: new bars of random deployments (as pg_cron's
        schedule would write them, as the superuser), NOTIFYed."""
        pending = int(self.pg.psql("SELECT count(*) FROM trade.signal WHERE status IN ('PENDING', 'PROCESSING')")[0])
        want = self.args.backlog - pending
        if want <= 0:
            return
        rows = []
        for _ in range(want):
            pool = self.bybit_deps if self.rng.random() < self.args.bybit_share else self.paper_deps
            dep = self.rng.choice(pool)
            self.bar[dep] += 1
            rows.append(f"('{dep}', {self.bar[dep]}, {self.rng.choice([-1, 0, 1, 1, -1])}, '{self.deps[dep]['ticker']}')")
        self.pg.psql("WITH v (dep, n, sig, tk) AS (VALUES " + ", ".join(rows) + "), "
                     "s AS (INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version) "
                     "SELECT d.deployment_id, d.user_id, timestamptz '2030-01-01' + v.n * interval '1 minute', v.sig, "
                     "v.tk, d.strategy_version FROM v JOIN trade.deployment d ON d.deployment_id = v.dep::uuid "
                     "RETURNING signal_id) SELECT count(pg_notify('quant_signal', signal_id::text)) FROM s")
        self.stats["signals"] += want

    # -- faults --
    def pending_faults(self):
        return len(self.fake.state()["faults"])

    def broker_fault(self):
        """One fault queued at the fake, when fewer than four wait (so each one hits a request:
        the figures count the faults that were used, not the ones queued)."""
        if self.pending_faults() >= 4:
            return
        r = self.rng.random()
        create = "/v5/order/create"
        if r < 0.16:
            spec = ("timeout", {"ms": 2500, "process": self.rng.random() < 0.5, "path": create})
        elif r < 0.32:
            spec = ("drop", {"path": create})  # taken, then the connection is dropped
        elif r < 0.44:
            spec = ("http_error", {"status": self.rng.choice([500, 502, 503, 504]),
                                   "path": self.rng.choice([create, "/v5/order/realtime", "/v5/position/list",
                                                            "/v5/account/wallet-balance"])})
        elif r < 0.56:
            spec = ("rate_limit", {"reset_ms": 300, "path": self.rng.choice([create, "/v5/order/realtime"])})
        elif r < 0.66:
            spec = ("retcode", {"retCode": self.rng.choice([10000, 10016]), "path": create})
        elif r < 0.80:
            spec = ("partial_fill", {"parts": self.rng.randint(2, 4)})
        elif r < 0.88:
            spec = ("stay_new", {})
        elif r < 0.94:
            spec = ("duplicate_ack", {})
        else:
            spec = ("latency", {"ms": self.rng.randint(100, 900), "path": self.rng.choice([create, "/v5/order/realtime"])})
        kind, fields = spec
        self.fake.fault(kind, **fields)
        self.stats["faults"] += 1
        self.fault_kinds[kind] = self.fault_kinds.get(kind, 0) + 1

    def release_held(self):
        """Orders the fake holds New (stay_new) are filled now and then, as a market would."""
        st = self.fake.state()
        for key, acct in st["accounts"].items():
            for o in acct["orders"]:
                if o["orderStatus"] in ("New", "PartiallyFilled") and self.rng.random() < 0.5:
                    try:
                        self.fake.control(op="fill", orderLinkId=o["orderLinkId"], key=key)
                    except RuntimeError:
                        pass

    def db_stop(self):
        self.pg.stop("immediate")
        self.stats["db_stops"] += 1
        time.sleep(self.rng.uniform(0.2, 1.5))
        self.pg.start()

    def toggle_halt(self):
        if self.halted is None:
            self.pg.psql("SET ROLE quant_admin; SELECT quant.halt_trading('chaos soak')", user="chaos_admin")
            self.halted = time.time()  # after the commit
            self.stats["halts"] += 1
        else:
            end = time.time()  # before the resume
            self.pg.psql("SET ROLE quant_admin; SELECT quant.resume_trading()", user="chaos_admin")
            self.windows.append({"kind": "halt", "deployment_id": None, "start": self.halted, "end": end})
            self.halted = None

    def toggle_disable(self):
        if self.disabled and self.rng.random() < 0.6:
            dep = self.rng.choice(list(self.disabled))
            end = time.time()
            self.rest(self.deps[dep]["user_id"], f"SELECT quant.update_deployment('{dep}', '{{\"enabled\": true}}')")
            self.windows.append({"kind": "disable", "deployment_id": dep, "start": self.disabled.pop(dep), "end": end})
        else:
            dep = self.rng.choice(list(self.deps))
            if dep in self.disabled:
                return
            self.rest(self.deps[dep]["user_id"], f"SELECT quant.update_deployment('{dep}', '{{\"enabled\": false}}')")
            self.disabled[dep] = time.time()
            self.stats["disables"] += 1

    def reset_breakers(self):
        """A person looks at the open breakers and resets them (quant.reset_breaker through the
        REST role), then enables the deployments they disabled: the trading goes on. Each reset
        breaker's window (its trip's commit .. the reset call) is kept for the checker."""
        open_ = self.rows("SELECT breaker_id, user_id, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS c "
                          "FROM trade.breaker WHERE reset_at IS NULL")
        for b in open_:
            end = time.time()
            self.rest(b["user_id"], f"SELECT quant.reset_breaker('{b['breaker_id']}')")
            self.breaker_windows[b["breaker_id"]] = (b["c"], end)
            self.stats["breaker_resets"] = self.stats.get("breaker_resets", 0) + 1
        for u in {b["user_id"] for b in open_}:
            for dep, d in self.deps.items():
                if d["user_id"] == u and dep not in self.disabled:
                    self.rest(u, f"SELECT quant.update_deployment('{dep}', '{{\"enabled\": true}}')")

    # -- the run --
    def targets_met(self):
        a = self.args
        kills = sum(self.stats["kills_" + p] for p in CRASH_POINTS) + self.stats["kills_random"]
        used = self.stats["faults"] - (self.pending_faults() if self.stats["faults"] >= a.faults else 0)
        return (kills >= a.kills and self.stats["db_stops"] >= a.db_stops and used >= a.faults
                and all(self.stats["kills_" + p] >= a.kills // 8 for p in CRASH_POINTS))

    def chaos(self):
        a = self.args
        t0 = time.time()
        next_db = t0 + a.db_every * self.rng.uniform(0.5, 1.5)
        last_report = t0
        next_reset = t0 + a.reset_breakers_every
        self.ensure_workers()
        self.stop_now = False
        signal.signal(signal.SIGUSR1, lambda *_: setattr(self, "stop_now", True))  # end the chaos now, then check
        while time.time() - t0 < a.duration and not (a.kills and self.targets_met()) and not self.stop_now:
            now = time.time()
            self.reap()
            if self.rng.random() < 0.7:
                self.ensure_workers()
            try:
                self.top_up()
                if self.rng.random() < a.fault_rate:
                    self.broker_fault()
                if self.rng.random() < 0.05:
                    self.release_held()
                if self.rng.random() < a.kill_rate:
                    self.kill_random()
                if self.rng.random() < 0.006 or (self.halted and now - self.halted > 3):
                    self.toggle_halt()
                if self.rng.random() < 0.05:
                    self.toggle_disable()
                if a.reset_breakers_every and now >= next_reset:
                    self.reset_breakers()
                    next_reset = time.time() + a.reset_breakers_every
                if now >= next_db:
                    self.db_stop()
                    next_db = time.time() + a.db_every * self.rng.uniform(0.5, 1.5)
            except RuntimeError as e:
                log(f"driver step failed (the chaos goes on): {str(e)[:300]}")
            if now - last_report > 60:
                last_report = now
                log("progress: " + json.dumps(self.stats))
            time.sleep(a.tick)
        log(f"chaos phase over after {time.time() - t0:.0f} s: " + json.dumps(self.stats))

    def settle(self):
        """No more chaos: clear faults, let the market fill what it holds, end the halt and the
        disables, restart the workers (they reconcile), wait for every signal and order to end."""
        unused = self.pending_faults()
        self.fake.control(op="clear_faults")
        self.stats["faults_queued"] = self.stats["faults"]
        self.stats["faults"] -= unused  # the ones that hit a request
        if self.halted is not None:
            self.toggle_halt()
        for dep in list(self.disabled):
            end = time.time()
            self.rest(self.deps[dep]["user_id"], f"SELECT quant.update_deployment('{dep}', '{{\"enabled\": true}}')")
            self.windows.append({"kind": "disable", "deployment_id": dep, "start": self.disabled.pop(dep), "end": end})
        self.stop_workers()
        t0 = time.time()
        while time.time() - t0 < self.args.settle_timeout:
            st = self.fake.state()
            for key, acct in st["accounts"].items():
                for o in acct["orders"]:
                    if o["orderStatus"] in ("New", "PartiallyFilled"):
                        self.fake.control(op="fill", orderLinkId=o["orderLinkId"], key=key)
            if not self.workers:
                self.ensure_workers(chaos=False)
            left = self.pg.psql("SELECT (SELECT count(*) FROM trade.signal WHERE status NOT IN ('DONE', 'REJECTED')) "
                                "+ (SELECT count(*) FROM trade.\"order\" WHERE status IN ('NEW', 'SENT'))")[0]
            if left == "0":
                break
            time.sleep(1)
            if time.time() - t0 > 30 and int(time.time() - t0) % 30 == 0:
                # open orders are reconciled on start: a restart looks at them again
                self.stop_workers()
        self.stop_workers()
        log(f"settled in {time.time() - t0:.0f} s")

    # -- the snapshot --
    def rows(self, sql):
        return [json.loads(x) for x in self.pg.psql(f"SELECT row_to_json(t) FROM ({sql}) t")]

    def snapshot(self):
        epoch = "extract(epoch FROM {})::float8"
        snap = {
            "signals": self.rows("SELECT signal_id, deployment_id, status FROM trade.signal"),
            "orders": self.rows(f"SELECT client_order_id, deployment_id, signal_id, status, side, qty::float8 AS qty, "
                                f"filled_qty::float8 AS filled_qty, reduce_only, {epoch.format('created_at')} AS created_at "
                                f"FROM trade.\"order\""),
            "fills": self.rows(f"SELECT client_order_id, deployment_id, side, qty::float8 AS qty, price::float8 AS price, "
                               f"fee::float8 AS fee, {epoch.format('ts')} AS ts FROM trade.fill ORDER BY ts, fill_id"),
            "positions": {r["deployment_id"]: r["qty"] for r in self.rows(
                "SELECT deployment_id, qty::float8 AS qty FROM trade.position")},
            "logs": self.rows("SELECT signal_id, deployment_id, action, order_id, qty::float8 AS qty, reason FROM trade.log"),
            "deployments": self.deps,
            "breakers": self.rows(f"SELECT breaker_id, user_id, deployment_id, scope, breaker, "
                                  f"{epoch.format('pg_xact_commit_timestamp(xmin)')} AS committed_at FROM trade.breaker"),
            "audits": self.rows(f"SELECT entity, entity_id, action, {epoch.format('pg_xact_commit_timestamp(xmin)')} AS committed_at "
                                f"FROM trade.audit WHERE entity = 'breaker' OR action = 'breaker'"),
            "windows": self.windows,
            "paper": {
                "orders": self.rows(f"SELECT client_order_id, account, side, status, filled_qty::float8 AS filled_qty, "
                                    f"{epoch.format('created_at')} AS created_at FROM paper.\"order\""),
                "fills": self.rows("SELECT o.client_order_id, f.account, f.side, f.qty::float8 AS qty, "
                                   "f.price::float8 AS price, f.fee::float8 AS fee FROM paper.fill f "
                                   "JOIN paper.\"order\" o USING (order_id)"),
                "positions": {r["account"]: r["qty"] for r in self.rows(
                    "SELECT account, sum(qty)::float8 AS qty FROM paper.position GROUP BY 1")},
                "cash": {r["account"]: r["cash"] for r in self.rows(
                    "SELECT account, cash::float8 AS cash FROM paper.account")},
            },
        }
        st = self.fake.state()
        by = {"creates": st["creates"], "orders": [], "executions": [], "positions": {}, "wallet": {},
              "starting_wallet": START_USDT}
        for key, acct in st["accounts"].items():
            by["orders"] += [dict(o, key=key) for o in acct["orders"]]
            by["executions"] += [dict(e, key=key) for e in acct["executions"]]
            for p in acct["positions"]:
                by["positions"][f"{key}/{p['symbol']}"] = float(p["size"]) * (1 if p["side"] == "Buy" else -1)
            by["wallet"][key] = acct["balances"].get("USDT", "0")
        snap["bybit"] = by
        for br in snap["breakers"]:  # a reset one: its trip's commit (xmin is the reset's now) and the reset
            if br["breaker_id"] in self.breaker_windows:
                br["committed_at"], br["reset_call"] = self.breaker_windows[br["breaker_id"]]
        return snap

    def close(self):
        try:
            self.stop_workers()
        finally:
            if hasattr(self, "fake"):
                self.fake.stop()
            if hasattr(self, "pg") and not self.args.keep:
                self.pg.remove()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=120, help="the chaos phase's time limit, seconds")
    ap.add_argument("--kills", type=int, default=0, help="end the chaos when these many worker kills, --db-stops "
                                                         "and --faults are reached (0: run --duration)")
    ap.add_argument("--db-stops", type=int, default=0)
    ap.add_argument("--faults", type=int, default=0)
    ap.add_argument("--users", type=int, default=6)
    ap.add_argument("--deps-per-ticker", type=int, default=2, help="PAPER deployments per user and ticker (2 tickers)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backlog", type=int, default=20, help="PENDING signals kept in the queue")
    ap.add_argument("--tick", type=float, default=0.25)
    ap.add_argument("--bybit-share", type=float, default=0.5, help="share of the signals for Bybit deployments")
    ap.add_argument("--fault-rate", type=float, default=0.5, help="chance per tick of a broker fault")
    ap.add_argument("--kill-rate", type=float, default=0.05, help="chance per tick of a SIGKILL at a random moment")
    ap.add_argument("--crash-point-share", type=float, default=0.6, help="share of worker starts with a crash point")
    ap.add_argument("--db-every", type=float, default=40, help="mean seconds between immediate stops")
    ap.add_argument("--max-attempts", type=int, default=12)
    ap.add_argument("--reset-breakers-every", type=float, default=45,
                    help="seconds between a person's resets of the open breakers (0: never)")
    ap.add_argument("--settle-timeout", type=float, default=240)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the cluster's directory")
    ap.add_argument("--snapshot", help="write the final snapshot (JSON) here")
    args = ap.parse_args()

    T = quanttest.Tally(tap=True)
    soak = Soak(args)
    t0 = time.time()
    try:
        soak.setup()
        soak.chaos()
        soak.settle()
        snap = soak.snapshot()
        if args.snapshot:
            with open(args.snapshot, "w") as f:
                json.dump(snap, f)
        violations = invariants.check(snap)
        by_inv = {}
        for inv, detail in violations:
            by_inv.setdefault(inv, []).append(detail)
        for inv in ["one_broker_order_per_id", "orders_terminal", "signals_terminal", "risk_limits", "breakers",
                    "kill_switches", "books_equal_broker", "audit_trail"]:
            T.check(inv not in by_inv, f"invariant {inv}", f"{len(by_inv.get(inv, []))} violations, e.g. "
                                                           + "; ".join(by_inv.get(inv, [])[:5]))
        invariants.self_test(snap, T)
        s = soak.stats
        kills_points = sum(s["kills_" + p] for p in CRASH_POINTS)
        n_orders = len(snap["orders"])
        n_broker = len(snap["paper"]["orders"]) + len(snap["bybit"]["orders"])
        log("figures: " + json.dumps({
            "seed": args.seed, "seconds": round(time.time() - t0), "signals": len(snap["signals"]),
            "signals_done": sum(1 for x in snap["signals"] if x["status"] == "DONE"),
            "orders": n_orders, "broker_orders": n_broker, "bybit_orders": len(snap["bybit"]["orders"]), "fills": len(snap["fills"]),
            "breakers_tripped": len(snap["breakers"]), "worker_kills_at_points": kills_points,
            "worker_kills_by_point": {p: s["kills_" + p] for p in CRASH_POINTS},
            "worker_kills_random": s["kills_random"], "db_immediate_stops": s["db_stops"],
            "broker_faults": s["faults"], "broker_faults_queued": s.get("faults_queued"), "faults_by_kind": soak.fault_kinds, "halts": s["halts"],
            "disables": s["disables"], "worker_starts": s["worker_starts"],
            "rejected_rows_by_reason": dict(sorted(Counter(lg.get("reason") or "-" for lg in snap["logs"]
                                                           if lg["action"] == "REJECTED").items())),
            "violations": len(violations)}))
        if args.kills:
            T.check(soak.targets_met(), "the targets were reached (kills, immediate stops, faults)", json.dumps(s))
    except Exception as e:  # noqa: BLE001 - reported as a failed check, with the logs' place
        import traceback
        traceback.print_exc()
        T.check(False, "the soak ran", f"{e!r}; logs in {soak.logdir}")
    finally:
        soak.close()
    sys.exit(T.summary())


if __name__ == "__main__":
    main()
