#!/usr/bin/env python3
"""Read scale-out on a real hot standby (docs/scale.md "Read scale-out").

Makes a streaming standby of the test cluster (pg_basebackup -R from the primary the PG*
variables name, started on a free port as the server's OS user in a temp directory), then:
- quant.backtest, quant.backtest_series, quant.optimize, quant.walk_forward and bar reads on the
  standby equal the primary's bit for bit (run_at aside), also from a warm bar cache after new
  bars replicated (the cache key md.bar_version comes with the WAL);
- nothing a research call or a login does writes on the standby (the login's last_used_at
  worker is not started there); a write there is refused with 25006 and leaves nothing;
- quant-http with both pools answers research from the standby (X-Quant-Pool, the standby's
  pg_stat_activity) and creates on the primary; X-Quant-Consistency: primary goes to the
  primary; a standby that lags more than QUANT_HTTP_STANDBY_MAX_LAG_MS is skipped (replay
  paused, WAL received but not replayed); a quant-http whose primary pool is a standby refuses
  a create with 503 read-only and stores nothing;
- the standby stopped, research falls back to the primary;
- failover: a pair of its own (a promoted copy of the test cluster and its standby), quant-http
  and quant-worker on a multi-host DB_URL with target_session_attrs=read-write; the primary lost
  (pg_ctl stop -m immediate), the standby promoted: both reconnect and go on, no order twice,
  books equal the paper broker's, answers in between are clean 503s.
Synchronisation waits for the standby's replay LSN to reach the primary's, never for a time.
Environment: PG* of the test database (quant and the sample bars installed); argv[1] or
QUANT_HTTP_BIN: quant-http (default build/http/quant-http).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import quanttest  # noqa: E402

REPO = quanttest.REPO
if len(sys.argv) < 2:
    sys.argv.append(os.environ.get("QUANT_HTTP_BIN", os.path.join(REPO, "build", "http", "quant-http")))
import harness  # noqa: E402  (Server, free_port, the tally)

check = harness.check
PGBIN = os.environ.get("QUANT_PGBIN", "/usr/lib/postgresql/15/bin")
PG_OS_USER = "postgres"
AS_ROOT = os.geteuid() == 0
USER = "standby_alice"
CFG = {"ticker": "TTRC", "trading_period": 252, "substrategies": [
    {"indicator": "get_bollinger_band", "signal_func": "reversion_band_signal", "window": 20, "signal": 1.0}]}
GRID = [{"window": [10, 20, 30], "signal": [0.5, 1.0]}]


def cfg_window(w):
    """CFG with another window: a strategy not stored yet."""
    return dict(CFG, substrategies=[dict(CFG["substrategies"][0], window=w)])


def as_pg(cmd, **kw):
    """cmd as the server's OS user (initdb/postgres refuse root), from / (readable by it)."""
    if AS_ROOT:
        cmd = ["runuser", "-u", PG_OS_USER, "--"] + cmd
    return subprocess.run(cmd, cwd="/", capture_output=True, text=True, **kw)


def psql_on(port, sql, host="127.0.0.1", check_rc=True):
    """sql on the test database of the server at port (PG* otherwise); (rc, stdout, stderr)."""
    env = dict(os.environ, PGHOST=host, PGPORT=str(port))
    p = subprocess.run(quanttest.PSQL + ["-F", "\t"], input="SET client_min_messages = warning;\n" + sql,
                       capture_output=True, text=True, env=env)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"psql on port {port} failed: {p.stderr.strip()[:800]}")
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def primary(sql):
    return psql_on(os.environ["PGPORT"], sql, host=os.environ.get("PGHOST", "localhost"))[1]


def strip_run_at(v):
    if isinstance(v, dict):
        return {k: strip_run_at(x) for k, x in v.items() if k != "run_at"}
    if isinstance(v, list):
        return [strip_run_at(x) for x in v]
    return v


def canon(text):
    """JSON text with run_at removed, numbers kept as their exact text."""
    return json.dumps(strip_run_at(json.loads(text, parse_float=str, parse_int=str)), sort_keys=True)


class Standby:
    """A streaming standby of the server at (src_host, src_port) (default: the test cluster)."""

    def __init__(self, src_host=None, src_port=None):
        self.src_host = src_host or os.environ.get("PGHOST", "localhost")
        self.src_port = str(src_port or os.environ["PGPORT"])
        self.dir = tempfile.mkdtemp(prefix="quant-standby-")
        self.data = os.path.join(self.dir, "data")
        self.port = harness.free_port()
        if AS_ROOT:
            shutil.chown(self.dir, PG_OS_USER, PG_OS_USER)
        os.chmod(self.dir, 0o755)
        env = dict(os.environ)
        r = as_pg(["env", f"PGPASSWORD={os.environ.get('PGPASSWORD', '')}", f"{PGBIN}/pg_basebackup",
                   "-h", self.src_host, "-p", self.src_port,
                   "-U", os.environ.get("PGUSER", "postgres"), "-D", self.data, "-R", "-X", "stream",
                   "-c", "fast"], env=env)
        if r.returncode != 0:
            raise RuntimeError("pg_basebackup failed: " + r.stderr[-800:])
        # A hot standby needs these at least as large as the primary's; the primary's own
        # postgresql.conf and pg_hba.conf live outside its data directory (Debian), so the
        # standby gets its own, with the primary's authentication rules.
        keep = ["max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
                "max_locks_per_transaction", "shared_preload_libraries", "cron.use_background_workers",
                "cron.database_name"]
        conf = [f"port = {self.port}", "listen_addresses = '127.0.0.1'",
                f"unix_socket_directories = '{self.dir}'", "hot_standby = on", "logging_collector = off",
                "hot_standby_feedback = on"]
        for name in keep:
            rc, value, _ = psql_on(os.environ["PGPORT"], f"SHOW {name}", host=os.environ.get("PGHOST", "localhost"),
                                   check_rc=False)
            if rc == 0:
                conf.append(f"{name} = '{value}'")
        hba = primary("SHOW hba_file")
        with open(os.path.join(self.data, "postgresql.conf"), "w") as f:
            f.write("\n".join(conf) + "\n")
        shutil.copy(hba, os.path.join(self.data, "pg_hba.conf"))
        if AS_ROOT:
            for n in ("postgresql.conf", "pg_hba.conf"):
                shutil.chown(os.path.join(self.data, n), PG_OS_USER, PG_OS_USER)
        self.log = os.path.join(self.dir, "standby.log")
        self.start()

    def start(self):
        r = as_pg([f"{PGBIN}/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "120", "start"])
        if r.returncode != 0:
            raise RuntimeError("the standby did not start: " + self.log_tail())

    def stop(self):
        as_pg([f"{PGBIN}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop"])

    def log_tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-1500:]
        except OSError:
            return "(no log)"

    def sql(self, sql, check_rc=True):
        return psql_on(self.port, sql, check_rc=check_rc)

    def q(self, sql):
        return self.sql(sql)[1]

    def url(self, extra=""):
        return (f"postgresql://{os.environ.get('PGUSER', 'postgres')}:{os.environ.get('PGPASSWORD', '')}"
                f"@127.0.0.1:{self.port}/{os.environ.get('PGDATABASE', 'postgres')}{extra}")

    def wait_lsn(self, column="pg_last_wal_replay_lsn()", deadline_s=120):
        """Waits until the standby's replay (or receive) LSN reaches the primary's current LSN."""
        target = self.source("SELECT pg_current_wal_lsn()")
        end = time.time() + deadline_s
        while time.time() < end:
            if self.q(f"SELECT {column} >= '{target}'::pg_lsn") == "t":
                return True
            time.sleep(0.05)  # polling a condition, with a deadline
        return False

    def source(self, sql):
        return psql_on(self.src_port, sql, host=self.src_host)[1]

    def promote(self):
        r = as_pg([f"{PGBIN}/pg_ctl", "-D", self.data, "-w", "-t", "120", "promote"])
        if r.returncode != 0:
            raise RuntimeError("promote failed: " + r.stderr + self.log_tail())

    def crash(self):
        """The server is lost at once (pg_ctl stop -m immediate: no shutdown checkpoint)."""
        as_pg([f"{PGBIN}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "-t", "60", "stop"])

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def research_sql(fn):
    c = json.dumps(CFG).replace("'", "''")
    g = json.dumps(GRID).replace("'", "''")
    return {
        "backtest": f"SELECT quant.backtest('{c}')::text",
        "backtest_series": "SELECT md5(string_agg(to_jsonb(s)::text, ';' ORDER BY s.ts)) "
                           f"FROM quant.backtest_series('{c}') s",
        "optimize": f"SELECT quant.optimize('{c}', '{g}', include_cells => true)::text",
        "walk_forward": f"SELECT quant.walk_forward('{c}', '{json.dumps([{'window': [10, 20, 30]}])}', "
                        "split_ratio => 0.6)::text",
        "bars": "SELECT md5(string_agg(concat_ws(',', ts, open, high, low, close, volume), ';' ORDER BY ts)) "
                "FROM md.bar WHERE ticker = 'TTRC'",
        "bars_copy": "SELECT md5(string_agg(concat_ws(',', ts, open, high, low, close, volume), ';' ORDER BY ts))"
                     " FROM md.bar WHERE ticker = 'STANDBY_T'",
        "bar_version": "SELECT version FROM md.bar_version WHERE ticker = 'STANDBY_T'",
    }[fn]


def same(name, a, b):
    ca, cb = (canon(a), canon(b)) if a.startswith("{") else (a, b)
    check(f"{name}: the standby's result equals the primary's", ca == cb and a != "", f"{a[:160]} vs {b[:160]}")


def main():
    sb = Standby()
    servers = []
    key = None
    try:
        key = run(sb, servers)
    finally:
        for s in servers:
            s.stop()
        primary("DELETE FROM md.bar WHERE ticker = 'STANDBY_T'")
        sb.cleanup()
    if key:
        failover(key)


def failover(key):
    """quant-http with a multi-host DB_URL (target_session_attrs=read-write) across a failover:
    a pair of its own (a copy of the test cluster promoted to primary, and its standby), the
    primary lost at once (pg_ctl stop -m immediate), the standby promoted."""
    p2 = Standby()
    p2.promote()
    s2 = Standby(src_host="127.0.0.1", src_port=p2.port)
    srv = None
    try:
        check("failover pair: the new primary is writable, its standby in recovery",
              p2.q("SELECT pg_is_in_recovery()") == "f" and s2.q("SELECT pg_is_in_recovery()") == "t")
        url = (f"postgresql://{os.environ.get('PGUSER', 'postgres')}:{os.environ.get('PGPASSWORD', '')}"
               f"@127.0.0.1:{s2.port},127.0.0.1:{p2.port}/{os.environ.get('PGDATABASE', 'postgres')}"
               "?target_session_attrs=read-write")
        srv = harness.Server("failover", DB_URL=url)
        worker = start_worker(url)
        dep, sig1 = worker_before(p2) if worker else (None, None)
        r = srv.request("POST", "/api/v1/strategies", cfg_window(31), key=key)
        check("multi-host DB_URL, read-write: the create goes to the primary (the standby listed first is skipped)",
              r.status == 201, r)
        sid = (r.json or {}).get("strategy_id")
        check("the standby has the committed strategy", s2.wait_lsn() and
              s2.q(f"SELECT count(*) FROM bt.strategy WHERE strategy_id = '{sid}'") == "1")
        check("the standby has it all (the first signal's order and fill)", s2.wait_lsn())
        p2.crash()
        s2.promote()
        if worker:
            worker_after(s2, dep, sig1)
        statuses = []
        end = time.time() + 60
        ok = None
        while time.time() < end:
            r = srv.request("POST", "/api/v1/strategies", cfg_window(32), key=key)
            statuses.append(r.status)
            if r.status == 201:
                ok = r
                break
            if not harness.is_problem(r, 503):
                break
            time.sleep(0.1)  # polling a condition (the next request), with a deadline
        check("after the primary's loss and the promotion quant-http reconnects: a create -> 201", ok is not None,
              statuses[-5:])
        check("... every answer before it was a clean 503 problem+json (never a 500, never half-done)",
              all(st == 503 for st in statuses[:-1]), statuses)
        if ok is not None:
            sid2 = ok.json.get("strategy_id")
            check("... stored on the promoted node, with the strategy committed before the loss",
                  s2.q(f"SELECT count(*) FROM bt.strategy WHERE strategy_id IN ('{sid}', '{sid2}')") == "2")
    finally:
        if srv:
            srv.stop()
        for w in WORKERS:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
                try:
                    w.wait(20)
                except subprocess.TimeoutExpired:
                    w.kill()
        s2.cleanup()
        p2.cleanup()


# ---- quant-worker across the failover (the paper broker lives in the same database) ----
WORKERS = []
WORKER_STRATEGY = ('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi",'
                   '"signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')


def start_worker(url):
    binary = os.environ.get("QUANT_WORKER_BIN", os.path.join(REPO, "build", "worker", "quant-worker"))
    if not os.access(binary, os.X_OK):
        check("quant-worker is built (for the failover under the worker)", False, binary)
        return None
    log = tempfile.NamedTemporaryFile(prefix="quant-worker-failover-", suffix=".log", delete=False)
    env = dict(os.environ, DB_URL=url, QUANT_WORKER_ID="failover", QUANT_WORKER_POLL_MS="300")
    w = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    w.logname = log.name
    WORKERS.append(w)
    return w


def add_signal(node, dep, minute, value):
    """A PENDING signal for a new bar of the deployment, NOTIFYed (as worker_test.py writes them)."""
    return node.q(f"WITH d AS (SELECT * FROM trade.deployment WHERE deployment_id = '{dep}'), "
                  f"s AS (INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version) "
                  f"SELECT deployment_id, user_id, timestamptz '2031-01-01' + {minute} * interval '1 minute', "
                  f"{value}, 'TTRC', strategy_version FROM d RETURNING signal_id) "
                  f"SELECT signal_id FROM s, pg_notify('quant_signal', (SELECT signal_id::text FROM s))")


def wait_done(node, sig, deadline_s=60):
    end = time.time() + deadline_s
    st = ""
    while time.time() < end:
        st = node.q(f"SELECT status FROM trade.signal WHERE signal_id = '{sig}'")
        if st in ("DONE", "REJECTED"):
            return st
        time.sleep(0.1)  # polling a condition, with a deadline
    return st


def worker_before(p2):
    user = "standby_worker"
    sid = p2.q(f"SELECT quant.set_user('{user}'); SELECT quant.create_strategy('{WORKER_STRATEGY}')->>'strategy_id'"
               ).split("\n")[-1]
    dep = p2.q(f"SELECT quant.set_user('{user}'); SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', "
               "'qty', 10, 'schedule', 'manual', 'risk_limits', '{\"max_bar_age_hours\": null}'::jsonb))"
               "->>'deployment_id'").split("\n")[-1]
    sig1 = add_signal(p2, dep, 1, 1)
    check("quant-worker on the multi-host DB_URL trades a signal on the primary", wait_done(p2, sig1) == "DONE")
    return dep, sig1


def books(node, dep):
    t = node.q(f"SELECT coalesce((SELECT qty FROM trade.position WHERE deployment_id = '{dep}'), 0)::float8")
    b = node.q(f"SELECT coalesce((SELECT sum(qty) FROM paper.position WHERE account = '{dep}'), 0)::float8")
    f = node.q(f"SELECT coalesce(sum(CASE side WHEN 'BUY' THEN qty ELSE -qty END), 0)::float8 FROM trade.fill "
               f"WHERE deployment_id = '{dep}'")
    return float(t), float(b), float(f)


def worker_after(s2, dep, sig1):
    sig2 = add_signal(s2, dep, 2, -1)
    st = wait_done(s2, sig2)
    w = WORKERS[-1]
    check("after the primary's loss and the promotion the worker reconnects and trades the next signal",
          st == "DONE", f"{st}; log {getattr(w, 'logname', '')}")
    check("... the signal committed before the loss is DONE on the promoted node",
          s2.q(f"SELECT status FROM trade.signal WHERE signal_id = '{sig1}'") == "DONE")
    twice = s2.q(f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM paper.\"order\" WHERE account = '{dep}'"
                 " GROUP BY client_order_id) x")
    check("... no order sent twice (one paper order per client order id)", twice == "1", twice)
    t, b, f = books(s2, dep)
    check("... the books equal the broker's (position = paper position = sum of fills = -10)",
          t == b == f == -10.0, (t, b, f))


def run(sb, servers):
    check("the standby is in recovery (hot standby)", sb.q("SELECT pg_is_in_recovery()") == "t")
    key = primary(f"SELECT quant.create_api_key('{USER}', 'standby test')")
    primary("INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) "
            "SELECT 'STANDBY_T', ts, open, high, low, close, volume FROM md.bar WHERE ticker = 'TTRC' "
            "ORDER BY ts LIMIT 600")
    check("the standby replays to the primary's LSN", sb.wait_lsn())

    # 1. research in SQL: equal results
    for fn in ("backtest", "backtest_series", "optimize", "walk_forward", "bars", "bars_copy", "bar_version"):
        same(fn, sb.q(research_sql(fn)), primary(research_sql(fn)))

    # the bar cache on the standby: warm, then new bars arrive by WAL; the same session sees them
    copy_cfg = dict(CFG, ticker="STANDBY_T")
    c = json.dumps(copy_cfg)
    bt = f"SELECT quant.backtest('{c}')::text;"
    warm = sb.q(bt + bt).split("\n")
    check("the bar cache: a warm second backtest on the standby equals the first", len(warm) == 2
          and canon(warm[0]) == canon(warm[1]), warm)
    primary("INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) "
            "SELECT 'STANDBY_T', ts, open, high, low, close, volume FROM md.bar WHERE ticker = 'TTRC' "
            "ORDER BY ts OFFSET 600 LIMIT 300")
    check("the standby replays the new bars", sb.wait_lsn())
    # one psql session: the first backtest (old bars) would have been cached in the same backend
    both = sb.q(bt + "SELECT pg_backend_pid();" + bt).split("\n")
    after_primary = primary(bt.rstrip(";"))
    check("the bar cache on the standby follows replicated bars (equals the primary's 900-bar result)",
          len(both) == 3 and canon(both[2]) == canon(after_primary)
          and json.loads(both[2]).get("bars") == 900, [x[:120] for x in both])

    # 2. nothing writes on the standby: a login, research, catalog reads run as a user there
    rc, out, err = sb.sql(f"BEGIN; SELECT quant.login_api_key('{key}') IS NOT NULL;"
                          f"SELECT count(*) >= 0 FROM quant.list_strategies();"
                          f"SELECT count(*) > 0 FROM refdata.indicator;"
                          f"SELECT count(*) >= 0 FROM quant.list_products(); COMMIT;", check_rc=False)
    check("a login and the list functions run on the standby (read-only)", rc == 0 and out.split("\n")[0] == "t",
          err or out)
    # the login's kept key rows follow a revocation on the primary: its invalidation replays here
    doomed = primary(f"SELECT quant.create_api_key('{USER}', 'revoked while kept on the standby')")
    check("the standby replays a new key", sb.wait_lsn())
    held = quanttest.Session("SET client_min_messages = warning; SET ROLE quant_app;",
                             env=dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(sb.port)))
    kept = [held.one(f"SELECT quant.login_api_key('{doomed}') IS NOT NULL") for _ in range(2)]
    primary(f"SELECT quant.set_user('{USER}'); SELECT quant.revoke_api_key('{doomed[3:35]}'::uuid) ->> 'status'")
    check("the standby replays the revocation", sb.wait_lsn())
    after = held.one(f"SELECT quant.login_api_key('{doomed}') IS NOT NULL")
    held.close()
    check("a standby backend that logged in with a key refuses it once the primary's revocation replayed",
          kept == ["t", "t"] and after == "f", (kept, after))
    key_id = primary(f"SELECT key_id FROM trade.api_key WHERE user_id = '{USER}' LIMIT 1")
    check("the login's last_used_at worker is not started on a standby (it would hold a slot until promotion)",
          sb.q(f"SELECT trade.api_key_used_async('{key_id}'::uuid)") == "f")
    check("... and it is on the primary", primary(f"SELECT trade.api_key_used_async('{key_id}'::uuid)") == "t")
    n_before = primary(f"SELECT count(*) FROM bt.strategy WHERE user_id = '{USER}'")
    rc, out, err = sb.sql(f"SELECT quant.set_user('{USER}'); "
                          f"SELECT quant.create_strategy('{json.dumps(cfg_window(23))}')", check_rc=False)
    check("a write on the standby is refused: read-only transaction (25006)",
          rc != 0 and "read-only transaction" in err, err or out)
    check("... and nothing is stored", primary(f"SELECT count(*) FROM bt.strategy WHERE user_id = '{USER}'")
          == n_before)

    # 3. quant-http with a primary and a standby pool
    srv = harness.Server("standby", QUANT_HTTP_STANDBY_URL=sb.url("?target_session_attrs=standby"),
                         QUANT_HTTP_STANDBY_LAG_CHECK_MS="0")
    servers.append(srv)
    body = {"config": CFG}
    r = srv.request("POST", "/api/v1/backtest", body, key=key)
    check("POST /backtest -> 200 from the standby (X-Quant-Pool: standby, lag header)",
          r.status == 200 and r.headers.get("x-quant-pool") == "standby" and "x-quant-standby-lag" in r.headers,
          (r, r.headers))
    check("... equal to the primary's", r.status == 200 and canon(r.body.decode()) == canon(primary(research_sql(
        "backtest"))))
    seen = sb.q("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'quant-http-standby'")
    check("the standby's pg_stat_activity shows quant-http's standby pool", seen not in ("", "0"), seen)
    r = srv.request("POST", "/api/v1/optimize", {"config": CFG, "grid": GRID, "include_cells": True}, key=key)
    check("POST /optimize -> 200 from the standby, equal to the primary's",
          r.status == 200 and r.headers.get("x-quant-pool") == "standby"
          and canon(r.body.decode()) == canon(primary(research_sql("optimize"))), r)
    for path in ("/api/v1/indicators", "/api/v1/signal_functions", "/api/v1/strategies", "/api/v1/products"):
        r = srv.request("GET", path, key=key)
        check(f"GET {path} -> 200 from the standby", r.status == 200 and r.headers.get("x-quant-pool") == "standby",
              (r, r.headers.get("x-quant-pool")))
    r = srv.request("POST", "/api/v1/backtest", body, key=key, headers={"X-Quant-Consistency": "primary"})
    check("X-Quant-Consistency: primary -> the primary answers", r.status == 200
          and r.headers.get("x-quant-pool") == "primary", (r, r.headers))
    r = srv.request("POST", "/api/v1/strategies", cfg_window(22), key=key)
    check("POST /strategies -> 201 on the primary", r.status == 201 and r.headers.get("x-quant-pool") == "primary",
          (r, r.headers))
    sid = (r.json or {}).get("strategy_id") or (r.json or {}).get("id")
    check("the standby replays the new strategy", sb.wait_lsn())
    r = srv.request("GET", f"/api/v1/strategies/{sid}", key=key)
    check("GET /strategies/{id} -> 200 from the standby after replay", r.status == 200
          and r.headers.get("x-quant-pool") == "standby", (r, r.headers))
    m = srv.metrics().body.decode()
    check("/metrics: the standby's lag gauge and the calls per pool",
          "quant_http_standby_lag_seconds " in m and srv.metric('quant_http_requests_by_pool_total{pool="standby"}')
          >= 6, m[-600:])

    # a lagging standby is skipped: replay paused, WAL received but not replayed
    sb.q("SELECT pg_wal_replay_pause()")
    primary(f"SELECT quant.create_api_key('{USER}', 'lag')")
    check("the standby receives WAL while replay is paused", sb.wait_lsn("pg_last_wal_receive_lsn()"))
    strict = harness.Server("standby-lag", QUANT_HTTP_STANDBY_URL=sb.url("?target_session_attrs=standby"),
                            QUANT_HTTP_STANDBY_LAG_CHECK_MS="0", QUANT_HTTP_STANDBY_MAX_LAG_MS="0")
    servers.append(strict)
    r = strict.request("POST", "/api/v1/backtest", body, key=key)
    check("a standby behind the bound (replay paused) is skipped: the primary answers, lag header set",
          r.status == 200 and r.headers.get("x-quant-pool") == "primary" and "x-quant-standby-lag" in r.headers,
          (r, r.headers))
    check("/metrics counts the skip", (strict.metric('quant_http_standby_skipped_total{reason="lag"}') or 0) >= 1)
    sb.q("SELECT pg_wal_replay_resume()")
    check("the standby catches up after the resume", sb.wait_lsn())

    # a quant-http whose primary pool is (wrongly, or after a failover) a standby: writes refused cleanly
    ro = harness.Server("standby-as-primary", DB_URL=sb.url())
    servers.append(ro)
    n_before = primary(f"SELECT count(*) FROM bt.strategy WHERE user_id = '{USER}'")
    r = ro.request("POST", "/api/v1/strategies", cfg_window(27), key=key)
    check("a create sent to a standby -> 503 problem+json type read-only, Retry-After",
          harness.is_problem(r, 503) and str(r.json.get("type", "")).endswith("read-only")
          and "retry-after" in r.headers, (r, r.headers))
    check("... and nothing is stored", primary(f"SELECT count(*) FROM bt.strategy WHERE user_id = '{USER}'")
          == n_before)

    # the standby stopped: research falls back to the primary
    sb.stop()
    r = srv.request("POST", "/api/v1/backtest", body, key=key)
    check("the standby stopped: POST /backtest -> 200 from the primary", r.status == 200
          and r.headers.get("x-quant-pool") == "primary", (r, r.headers))
    r = srv.request("GET", "/api/v1/strategies", key=key)
    check("... and GET /strategies too", r.status == 200 and r.headers.get("x-quant-pool") == "primary", r)
    check("/metrics counts the fallbacks",
          (srv.metric('quant_http_standby_skipped_total{reason="unavailable"}') or 0) >= 1)
    return key


if __name__ == "__main__":
    harness.run_main(main)
