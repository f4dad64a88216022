#!/usr/bin/env python3
"""Automatic failover during order flow (issue 17 part 2, docs/scale.md §2).

Builds the pg_auto_failover topology of scripts/failover-cluster.sh (a monitor, a primary and a
synchronous secondary on free ports, pg_cron and quant installed), then runs quant-worker
(trading a PAPER deployment and a BYBIT deployment against test/fakes/bybit) and quant-http,
both on the multi-host DB_URL with target_session_attrs=read-write. A driver inserts signals
(+1/-1, so every signal trades) through the same multi-host URL the whole time. Each repeat:
the primary machine is lost (its pg_autoctl SIGKILLed, then `pg_ctl stop -m immediate`), the
monitor promotes the secondary, the failover time (loss -> the first order filled after it, the
trade.fill's own timestamp) is measured, the old primary rejoins as a secondary. After the last
repeat:
- no committed intent lost: every signal the driver saw committed is on the final primary, and
  every order the Bybit fake or the paper broker holds has its trade."order" intent there;
- no order sent twice: one accepted create per orderLinkId at the fake, one paper order per
  client order id;
- every signal terminal (DONE or REJECTED), none stuck claimed;
- books equal the broker: each Bybit order's status and filled qty equal the books', the fake's
  net position equals trade.position, the paper position equals trade.position and the fills;
- quant-http answered only 201s or clean 503s across the failovers.
Waits poll a condition with a deadline, never a time. Last line: "N passed, N failed".
  usage: failover.py [--repeats N] [--standbys N] [--json FILE]
Environment: QUANT_PGBIN (PostgreSQL 15 with quant, pg_cron, pgautofailover installed),
QUANT_WORKER_BIN, QUANT_HTTP_BIN, FAILOVER_PORTS (else free ports), FAILOVER_DIR (else a temp dir).
"""
import argparse
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "lib"))
sys.path.insert(0, os.path.join(REPO, "test", "http"))
sys.path.insert(0, os.path.join(REPO, "test", "fakes", "bybit"))

ap = argparse.ArgumentParser()
ap.add_argument("--repeats", type=int, default=1)
ap.add_argument("--standbys", type=int, default=1)
ap.add_argument("--json", default="")
ARGS = ap.parse_args()
HTTP_BIN = os.environ.get("QUANT_HTTP_BIN", os.path.join(REPO, "build", "http", "quant-http"))
sys.argv = [sys.argv[0], HTTP_BIN]
import harness  # noqa: E402
import quanttest  # noqa: E402

T = harness.T
check = harness.check
PGBIN = os.environ.get("QUANT_PGBIN", "/usr/lib/postgresql/15/bin")
CLUSTER = os.path.join(REPO, "scripts", "failover-cluster.sh")
WORKER_BIN = os.environ.get("QUANT_WORKER_BIN", os.path.join(REPO, "build", "worker", "quant-worker"))

if not (shutil.which("pg_autoctl") or os.access(os.path.join(PGBIN, "pg_autoctl"), os.X_OK)):
    print("# SKIP: pg_autoctl is missing (Debian postgresql-15-auto-failover; scripts/install-deps.sh installs it)")
    print("0 passed, 0 failed")
    sys.exit(0)

from fakebybit import FakeBybit  # noqa: E402

RUN = uuid.uuid4().hex[:8]
USER = f"failover_{RUN}"
API_KEY, SECRET = f"FOKEY{RUN}", f"fo-SeCrEt-{uuid.uuid4().hex}"
OWN_DIR = "FAILOVER_DIR" not in os.environ
DIR = os.environ.get("FAILOVER_DIR") or tempfile.mkdtemp(prefix="quant-failover-")
PORTS = os.environ.get("FAILOVER_PORTS") or " ".join(str(harness.free_port()) for _ in range(2 + ARGS.standbys))
CENV = dict(os.environ, FAILOVER_DIR=DIR, FAILOVER_PORTS=PORTS, QUANT_PGBIN=PGBIN)
NODE_PORTS = PORTS.split()[1:]
LOGDIR = tempfile.mkdtemp(prefix="quant-failover-logs-")
os.chmod(LOGDIR, 0o755)


def cluster(*args, timeout=600):
    p = subprocess.run([CLUSTER, *args], env=CENV, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"failover-cluster.sh {' '.join(args)}: {p.stderr.strip()[-1500:]}")
    return p.stdout.strip()


# psql (quanttest) goes to whichever node is primary: libpq's multi-host variables
os.environ.update(PGHOST=",".join("127.0.0.1" for _ in NODE_PORTS), PGPORT=",".join(NODE_PORTS),
                  PGUSER="postgres", PGDATABASE="quant", PGTARGETSESSIONATTRS="read-write", PGCONNECT_TIMEOUT="2",
                  PGPASSWORD="")


def q(*sql):
    lines = [x for x in quanttest.psql_c(*sql).splitlines() if x.strip()]
    return lines[-1] if lines else ""


def q_retry(*sql, deadline_s=120):
    """q on the primary, retried while there is none (a failover in progress)."""
    end = time.time() + deadline_s
    while True:
        try:
            return q(*sql)
        except RuntimeError:
            if time.time() > end:
                raise
            time.sleep(0.2)  # polling for a primary, with a deadline


def on_node(port, sql):
    p = subprocess.run(quanttest.PSQL + ["-h", "127.0.0.1", "-p", port, "-d", "quant", "-c", sql],
                       capture_output=True, text=True, env=dict(os.environ, PGTARGETSESSIONATTRS="any"))
    return p.stdout.strip() if p.returncode == 0 else None


def wait_until(fn, deadline_s=60, step=0.1):
    end = time.time() + deadline_s
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)  # polling a condition, with a deadline
    return fn()


class Driver(threading.Thread):
    """Inserts a signal per deployment in turn (alternating +1/-1) through the multi-host URL."""

    def __init__(self, deps):
        super().__init__(daemon=True)
        self.deps, self.stop_flag = deps, threading.Event()
        self.committed, self.unknown, self.bar = [], 0, 0
        self.value = {d: 1 for d in deps}

    def run(self):
        while not self.stop_flag.is_set():
            for d in self.deps:
                self.bar += 1
                v = self.value[d]
                try:
                    sig = q(f"WITH d AS (SELECT * FROM trade.deployment WHERE deployment_id = '{d}'), "
                            f"s AS (INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, "
                            f"strategy_version) SELECT deployment_id, user_id, timestamptz '2031-01-01' + "
                            f"{self.bar} * interval '1 minute', {v}, ticker, strategy_version FROM d "
                            f"RETURNING signal_id) SELECT signal_id, pg_notify('quant_signal', signal_id::text) FROM s"
                            ).split("|")[0]
                    self.committed.append(sig)
                    self.value[d] = -v
                except RuntimeError:
                    self.unknown += 1  # no answer: committed or not, the final check covers both
                    time.sleep(0.2)  # no primary right now; the next try is a new bar
            time.sleep(0.15)  # the pace of the signals (order flow, not a benchmark)


def fills_after(t):
    return q(f"SELECT coalesce(extract(epoch FROM min(ts)), 0) FROM trade.fill WHERE user_id = '{USER}' "
             f"AND ts > to_timestamp({t})")


def main():
    results = {"repeats": [], "standbys": ARGS.standbys}
    fake = worker = srv = None
    t_up = time.time()
    try:
        cluster("up")
        results["topology_s"] = round(time.time() - t_up, 1)
        uri = cluster("uri")
        check("topology up: one primary, the secondaries streaming", q("SELECT NOT pg_is_in_recovery()") == "t")
        ssn = q("SHOW synchronous_standby_names")
        states = q("SELECT string_agg(sync_state, ',') FROM pg_stat_replication")
        check("synchronous replication: synchronous_standby_names set, the standby(s) sync or quorum",
              ssn.startswith("ANY") and states and all(s in ("sync", "quorum") for s in states.split(",")),
              f"{ssn} / {states}")
        check("synchronous_commit is on (a commit returns once a standby has the WAL)",
              q("SHOW synchronous_commit") == "on")
        check("pg_cron is preloaded on every node and quant is installed",
              all(on_node(p, "SHOW shared_preload_libraries") == "pg_cron" for p in NODE_PORTS)
              and q("SELECT count(*) FROM pg_extension WHERE extname IN ('quant', 'pg_cron')") == "2")

        keydir = tempfile.mkdtemp(prefix="quant_cred_")
        os.chmod(keydir, 0o755)
        keyfile = os.path.join(keydir, "credential.key")
        with open(keyfile, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chmod(keyfile, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
        q("INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) VALUES "
          "('BTC-USD', timestamptz '2031-01-01', 50000, 50000, 50000, 50000, 1), "
          "('TTRC', timestamptz '2031-01-01', 10, 10, 10, 10, 1) ON CONFLICT DO NOTHING")
        risk = ("jsonb_build_object('max_bar_age_hours', null, 'max_orders_per_minute', 10000, "
                "'max_daily_trades', 10000, 'max_consecutive_rejects', 1000)")

        def deploy(ticker, broker, qty):
            sid = q(f"SELECT quant.set_user('{USER}')", "SELECT quant.create_strategy('{\"ticker\":\"" + ticker +
                    "\",\"trading_period\":252,\"substrategies\":[{\"indicator\":\"get_rsi\",\"signal_func\":"
                    "\"reversion_bounded_signal\",\"window\":14,\"signal\":30}]}')->>'strategy_id'")
            return q(f"SELECT quant.set_user('{USER}')",
                     f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'broker', '{broker}', "
                     f"'qty', {qty}, 'schedule', 'manual', 'risk_limits', {risk}))->>'deployment_id'")

        q(f"SET quant.credential_key_file = '{keyfile}'", f"SELECT quant.set_user('{USER}')",
          f"SELECT quant.set_broker_credential('BYBIT', 'demo', '{API_KEY}', '{SECRET}')")
        dep_bybit = deploy("BTC-USD", "BYBIT", "0.01")
        dep_paper = deploy("TTRC", "PAPER", "10")
        check("a BYBIT and a PAPER deployment", len(dep_bybit) == 36 and len(dep_paper) == 36, (dep_bybit, dep_paper))

        fake = FakeBybit(keys={API_KEY: SECRET}, balances={"USDT": "1000000"}, prices={"BTCUSDT": "50000"}).start()
        wlog = open(os.path.join(LOGDIR, "worker.log"), "a")
        worker = subprocess.Popen([WORKER_BIN], stdout=wlog, stderr=wlog, stdin=subprocess.DEVNULL, env=dict(
            os.environ, DB_URL=uri, QUANT_WORKER_ID=f"failover-{RUN}", QUANT_WORKER_POLL_MS="300",
            QUANT_BYBIT_BASE_URL=fake.url, QUANT_CREDENTIAL_KEY_FILE=keyfile, QUANT_BYBIT_FOLLOW_MS="1500",
            QUANT_BYBIT_POLL_MS="50", QUANT_BYBIT_TIMEOUT_MS="2000"))
        api_key = q(f"SELECT quant.create_api_key('{USER}', 'failover test')")
        srv = harness.Server("failover", DB_URL=uri)

        driver = Driver([dep_bybit, dep_paper])
        driver.start()
        http_statuses = []
        for i in range(ARGS.repeats):
            n0 = int(q_retry(f"SELECT count(*) FROM trade.fill WHERE user_id = '{USER}'"))
            check(f"repeat {i + 1}: orders fill before the loss",
                  wait_until(lambda: int(q_retry(f"SELECT count(*) FROM trade.fill WHERE user_id = '{USER}'"))
                             >= n0 + 4, 90), n0)
            old_port = q_retry("SHOW port")
            t_loss = time.time()
            lost = cluster("kill-primary")
            t_kill = time.time()
            # quant-http across it: a create until one is 201; every answer before it a clean 503
            statuses = []
            end = time.time() + 120
            while time.time() < end:
                r = srv.request("POST", "/api/v1/strategies", {"ticker": "TTRC", "trading_period": 252,
                                "substrategies": [{"indicator": "get_rsi", "signal_func": "reversion_bounded_signal",
                                                   "window": 14 + i, "signal": 30}]}, key=api_key, timeout=30)
                statuses.append(r.status)
                if r.status == 201 or not harness.is_problem(r, 503):
                    break
                time.sleep(0.1)  # the next request, with a deadline
            http_statuses.append(statuses)
            t_http = time.time()
            first = float(wait_until(lambda: float(fills_after(t_kill) or 0), 120) or 0)
            new_port = q_retry("SHOW port")
            rec = {"repeat": i + 1, "lost": lost, "new_primary_port": new_port,
                   "failover_s": round(first - t_loss, 2) if first else None,
                   "http_201_s": round(t_http - t_loss, 2)}
            results["repeats"].append(rec)
            print(f"# repeat {i + 1}: {json.dumps(rec)}", flush=True)
            check(f"repeat {i + 1}: the secondary was promoted ({lost} lost, port {old_port} -> {new_port})",
                  new_port != old_port, rec)
            check(f"repeat {i + 1}: an order filled again after the loss (failover {rec['failover_s']} s)",
                  first > 0, rec)
            check(f"repeat {i + 1}: quant-http: 201 after only clean 503s", statuses and statuses[-1] == 201
                  and all(s == 503 for s in statuses[:-1]), statuses[-6:])
            if ARGS.standbys >= 2:
                # the remaining secondary is synchronous at once: no window with one copy
                ssn_after = wait_until(lambda: q_retry("SELECT setting FROM pg_settings "
                                                       "WHERE name = 'synchronous_standby_names'"), 30)
                check(f"repeat {i + 1}: with {lost} still down the new primary replicates synchronously",
                      str(ssn_after).startswith("ANY"), ssn_after)
            cluster("rejoin", lost)
            cluster("wait-healthy", "240", timeout=300)
            check(f"repeat {i + 1}: {lost} rejoined as a secondary (synchronous again)",
                  q_retry("SELECT string_agg(sync_state, ',') FROM pg_stat_replication") in ("quorum", "sync",
                                                                                           "quorum,quorum"))
        driver.stop_flag.set()
        driver.join(60)

        # ---- after the last failover ----
        committed = driver.committed
        present = int(q("SELECT count(*) FROM trade.signal WHERE signal_id = ANY('{" + ",".join(committed) + "}')"))
        check(f"no committed signal lost: all {len(committed)} acknowledged signals are on the final primary "
              f"({driver.unknown} inserts had no answer)", present == len(committed), f"{present}/{len(committed)}")
        deps = f"('{dep_bybit}', '{dep_paper}')"

        def open_signals():
            return q(f"SELECT count(*) FROM trade.signal WHERE deployment_id IN {deps} "
                     "AND status NOT IN ('DONE', 'REJECTED')") == "0"
        check("every signal terminal (DONE or REJECTED)", wait_until(open_signals, 120),
              q(f"SELECT string_agg(status || ':' || n, ',') FROM (SELECT status, count(*) n FROM trade.signal "
                f"WHERE deployment_id IN {deps} GROUP BY status) x"))
        done = q(f"SELECT count(*) FILTER (WHERE status = 'DONE') || '/' || count(*) FROM trade.signal "
                 f"WHERE deployment_id IN {deps}")
        rejected = q(f"SELECT coalesce(string_agg(DISTINCT coalesce(reason, '') || ' ' || coalesce(message, ''), '; '), '')"
                     f" FROM trade.log WHERE deployment_id IN {deps} AND action = 'REJECTED'")
        results["signals_done"] = done
        print(f"# signals DONE/all: {done}; rejections: {rejected[:300]}", flush=True)

        st = fake.state()["accounts"][API_KEY]
        rows = {r.split("|")[0]: r.split("|")[1:] for r in quanttest.psql_c(
            "SELECT client_order_id || '|' || status || '|' || coalesce(filled_qty, 0)::text || '|' || "
            "coalesce((SELECT sum(f.qty) FROM trade.fill f WHERE f.client_order_id = o.client_order_id), 0)::text "
            f"FROM trade.\"order\" o WHERE deployment_id = '{dep_bybit}'").splitlines() if r.strip()}
        bad = []
        for x in st["orders"]:
            r = rows.get(x.get("orderLinkId"))
            want = {"Filled": "FILLED", "New": "SENT", "PartiallyFilled": "SENT"}.get(x["orderStatus"], "?")
            if r is None or r[0] != want or abs(float(r[1]) - float(x["cumExecQty"])) > 1e-9 \
                    or abs(float(r[2]) - float(x["cumExecQty"])) > 1e-9:
                bad.append((x.get("orderLinkId"), x["orderStatus"], x["cumExecQty"], r))
        check(f"Bybit: every one of the fake's {len(st['orders'])} orders has its committed intent in the books, "
              "same status and filled qty, fills summing to it", len(st["orders"]) > 0 and not bad, bad[:3])
        creates = [c["orderLinkId"] for c in fake.state()["creates"] if c.get("retCode") == 0]
        check("Bybit: no orderLinkId accepted twice (no order sent twice)", len(creates) == len(set(creates)),
              len(creates) - len(set(creates)))
        net = sum(float(p["size"]) * (1 if p["side"] == "Buy" else -1) for p in st["positions"]
                  if p["symbol"] == "BTCUSDT" and float(p["size"]) > 0)
        booked = float(q(f"SELECT coalesce(sum(qty), 0) FROM trade.position WHERE deployment_id = '{dep_bybit}'"))
        check("Bybit: the fake's position equals the books' position", abs(net - booked) < 1e-9, (net, booked))
        twice = q(f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM paper.\"order\" "
                  f"WHERE account = '{dep_paper}' GROUP BY client_order_id) x")
        check("PAPER: one paper order per client order id (none sent twice)", twice == "1", twice)
        lost_intents = q(f"SELECT count(*) FROM paper.\"order\" p WHERE account = '{dep_paper}' AND NOT EXISTS "
                         "(SELECT 1 FROM trade.\"order\" o WHERE o.client_order_id = p.client_order_id)")
        check("PAPER: every paper order has its intent in trade.order", lost_intents == "0", lost_intents)
        t = float(q(f"SELECT coalesce((SELECT qty FROM trade.position WHERE deployment_id = '{dep_paper}'), 0)"))
        b = float(q(f"SELECT coalesce((SELECT sum(qty) FROM paper.position WHERE account = '{dep_paper}'), 0)"))
        f = float(q("SELECT coalesce(sum(CASE side WHEN 'BUY' THEN qty ELSE -qty END), 0) FROM trade.fill "
                    f"WHERE deployment_id = '{dep_paper}'"))
        check("PAPER: position = paper position = sum of fills", t == b == f, (t, b, f))
        check("quant-worker rode every failover (still running)", worker.poll() is None)
        # orders in flight at a loss: their intent committed, the outcome unknown; the worker's
        # reconciliation after the reconnect resolved them (the checks above say how)
        with open(os.path.join(LOGDIR, "worker.log")) as fh:
            rec = [json.loads(x) for x in fh if '"reconcile_done"' in x]
        with open(os.path.join(LOGDIR, "worker.log")) as fh:
            intents = [json.loads(x)["client_order_id"] for x in fh if '"order_intent"' in x]
        kept = int(q("SELECT count(*) FROM trade.\"order\" WHERE client_order_id = ANY('{"
                     + ",".join(intents) + "}')")) if intents else 0
        check(f"no committed intent lost: each of the {len(intents)} intents the worker saw committed "
              "(its order_intent log line, written after COMMIT returned) is on the final primary",
              intents and kept == len(set(intents)), f"{kept}/{len(set(intents))}")
        results["reconnects"] = len(rec) - 1
        results["in_flight_reconciled"] = sum(int(x.get("resolved", 0)) for x in rec)
        print(f"# worker reconnects: {results['reconnects']}, orders in flight at a loss reconciled: "
              f"{results['in_flight_reconciled']}", flush=True)
        check("the worker reconnected once per failover", results["reconnects"] == ARGS.repeats, results["reconnects"])
        cron = [on_node(p, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'")
                for p in NODE_PORTS]
        primary_port = q("SHOW port")
        check("pg_cron's launcher runs on the primary only (a standby runs none)",
              all(c == ("1" if p == primary_port else "0") for p, c in zip(NODE_PORTS, cron)), cron)
    finally:
        if srv:
            srv.stop()
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        if fake:
            fake.stop()
        try:
            cluster("destroy" if OWN_DIR else "down", timeout=180)
        except Exception as e:  # noqa: BLE001 (cleanup: report, go on)
            print(f"# cleanup: {e}")
        ok = [r["failover_s"] for r in results["repeats"] if r.get("failover_s")]
        if ok:
            results["failover_s_min_median_max"] = [min(ok), sorted(ok)[len(ok) // 2], max(ok)]
        print(f"# results: {json.dumps(results)}", flush=True)
        print(f"# logs: {LOGDIR} (worker), {DIR}", flush=True)
        if ARGS.json:
            with open(ARGS.json, "w") as fh:
                json.dump(results, fh, indent=1)


harness.run_main(main)
