#!/usr/bin/env python3
"""quant-worker acceptance tests, part 2 (issue 4): the minute stop loss end to end, the
fail-closed checks (connection, unknown_cash, unknown_position), and crash safety when the
database itself goes down (`pg_ctl stop -m immediate`) in the middle of a stream of signals.

Run by test/worker/run.sh after worker_test.py, with the same environment (PG* = a superuser on
a database with quant and the TTRC sample bars; $QUANT_WORKER_BIN). It reuses worker_test.py's
helpers. The database crash runs against a small cluster of its own (initdb + pg_ctl in a
temporary directory, as the postgres OS user when run as root), so the shared test cluster is
never stopped. Last line: "N passed, N failed".
"""
import json
import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import worker_test as wt  # noqa: E402  (its main() is not run on import)

from worker_test import check, eq, q, qrows, start_worker, stop_worker, wait_final, wait_until  # noqa: E402

RUN = wt.RUN
_slbar = [0]


def sl_ticker():
    """A data ticker of its own (the TTRC bars, copied), so a test can move its price."""
    t = f"SL{RUN}_{len(_slbar)}"
    _slbar.append(t)
    q(f"INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) "
      f"SELECT '{t}', ts, open, high, low, close, volume FROM md.bar WHERE ticker = 'TTRC'")
    return t


def deploy_on(user, ticker, qty=10, **limits):
    limits.setdefault("max_bar_age_hours", None)
    cfg = json.loads(wt.STRATEGY)
    cfg["ticker"] = ticker
    sid = q(f"SELECT quant.create_strategy('{json.dumps(cfg)}')->>'strategy_id'", user)
    rl = json.dumps(limits).replace("'", "''")
    return q(f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'qty', {qty}, 'schedule', 'manual',"
             f" 'ticker', '{ticker}', 'market', 'US', 'risk_limits', '{rl}'::jsonb))->>'deployment_id'", user)


def new_bar(ticker, factor):
    """A bar one day after the ticker's latest, its close = the latest close x factor."""
    q(f"INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) "
      f"SELECT ticker, ts + interval '1 day', close, close, close, close * {factor}, volume FROM md.bar "
      f"WHERE ticker = '{ticker}' ORDER BY ts DESC LIMIT 1")


def stop_loss_signals(dep):
    return qrows(f"SELECT signal_id, status, signal::int, bar_ts FROM trade.signal "
                 f"WHERE deployment_id = '{dep}' AND source = 'stop_loss' ORDER BY created_at")


# ---------------------------------------------------------------------------------------------
def test_stop_loss(user):
    print("# stop loss every minute: quant.check_stop_losses -> signal 0 -> worker -> flat")
    eq("the core's rule: long 10 @ 100, now 94, 5 % -> triggered", "t",
       q("SELECT quant.stop_loss_triggered(10, 100, 94, 5)"))
    eq("...now 96 -> not; short -10 @ 100 now 106 -> triggered; flat -> not", "f|t|f",
       q("SELECT concat_ws('|', quant.stop_loss_triggered(10, 100, 96, 5)::char,"
         " quant.stop_loss_triggered(-10::numeric, 100, 106, 5)::char, quant.stop_loss_triggered(0, 100, 1, 5)::char)"))

    # a long position, then the price falls 10 %
    tk = sl_ticker()
    dep = deploy_on(user, tk, stop_loss_pct=5)
    p = start_worker("sl", QUANT_WORKER_POLL_MS=30000)
    s = wt.add_signal(dep, 1, ticker=tk)
    eq("long: bought", "DONE", wait_final(s))
    eq("long 10 at the broker and in the books", (10.0, 10.0, 10.0), wt.positions(dep))
    q("SELECT quant.check_stop_losses()")
    eq("no loss yet (only the slippage): check_stop_losses writes nothing for it", 0, len(stop_loss_signals(dep)))
    stop_worker(p)
    new_bar(tk, 0.9)
    n = int(q("SELECT quant.check_stop_losses()"))
    check("price -10 %: check_stop_losses wrote a signal", n >= 1, str(n))
    sl = stop_loss_signals(dep)
    eq("one stop-loss signal, signal 0, PENDING, on the new bar", [["PENDING", "0"]], [r[1:3] for r in sl])
    eq("...its bar is the latest bar", "t",
       q(f"SELECT bar_ts = (SELECT max(ts) FROM md.bar WHERE ticker = '{tk}') FROM trade.signal "
         f"WHERE signal_id = '{sl[0][0]}'"))
    lg = qrows(f"SELECT action, reason, success, qty::float8 FROM trade.log WHERE signal_id = '{sl[0][0]}'")
    eq("a trade.log row: HOLD, reason stop_loss, qty 10", [["HOLD", "stop_loss", "t", "10"]], lg)
    q("SELECT quant.check_stop_losses()")
    eq("idempotent: checking again writes no second signal (one per deployment and bar)", 1,
       len(stop_loss_signals(dep)))
    t0 = time.time()
    p = start_worker("sl", QUANT_WORKER_POLL_MS=30000)
    eq("the worker flattens it", "DONE", wait_final(sl[0][0]))
    print(f"# stop loss flattened {time.time() - t0:.2f} s after the worker started")
    eq("flat: books, broker and fills agree", (0.0, 0.0, 0.0), wt.positions(dep))
    eq("the flatten is one reduce-only SELL 10 (close leg), FILLED", [["close", "SELL", "10", "t", "FILLED"]],
       qrows(f"SELECT leg, side, qty::float8, reduce_only, status FROM trade.\"order\" WHERE signal_id = '{sl[0][0]}'"))
    eq("the deployment's log shows the SELL of the stop loss", "SELL",
       q(f"SELECT action FROM trade.log WHERE signal_id = '{sl[0][0]}' AND order_id IS NOT NULL"))
    q("SELECT quant.check_stop_losses()")
    eq("flat: no further stop-loss signal", 1, len(stop_loss_signals(dep)))
    run = json.loads(q(f"SELECT quant.run_deployment('{dep}')", user))
    eq("no re-entry on the same bar: run_deployment is a DUPLICATE, nothing written", "DUPLICATE",
       run.get("outcome"))
    eq("...and the position stays flat", (0.0, 0.0, 0.0), wt.positions(dep))
    new_bar(tk, 1.0)
    run = json.loads(q(f"SELECT quant.run_deployment('{dep}')", user))
    eq("the next bar is evaluated again (outcome SIGNAL)", "SIGNAL", run.get("outcome"))
    wait_final(run.get("signal_id"))

    # a short position, then the price rises 10 %
    tk = sl_ticker()
    dep = deploy_on(user, tk, stop_loss_pct=5)
    s = wt.add_signal(dep, -1, ticker=tk)
    eq("short: sold", "DONE", wait_final(s))
    new_bar(tk, 1.1)
    q("SELECT quant.check_stop_losses()")
    sl = stop_loss_signals(dep)
    eq("short, price +10 %: one stop-loss signal", 1, len(sl))
    eq("...flattened by a BUY", ["DONE", "BUY"],
       [wait_final(sl[0][0]) if sl else "", q(f"SELECT min(side) FROM trade.\"order\" WHERE signal_id = "
                                              f"'{sl[0][0] if sl else wt.uuid.uuid4()}'")])
    eq("...flat, the broker agrees", (0.0, 0.0, 0.0), wt.positions(dep))

    # a loss below the limit: nothing; a higher stop_loss_pct: nothing
    tk = sl_ticker()
    dep = deploy_on(user, tk, stop_loss_pct=20)
    s = wt.add_signal(dep, 1, ticker=tk)
    eq("stop_loss_pct 20: bought", "DONE", wait_final(s))
    new_bar(tk, 0.9)
    q("SELECT quant.check_stop_losses()")
    eq("stop_loss_pct 20, price -10 %: no stop-loss signal", 0, len(stop_loss_signals(dep)))
    q(f"SELECT quant.update_deployment('{dep}', '{{\"enabled\": false}}')", user)
    new_bar(tk, 0.5)
    q("SELECT quant.check_stop_losses()")
    sl = stop_loss_signals(dep)
    eq("a disabled deployment (kill switch) is still checked: the stop loss is an exit", 1, len(sl))
    eq("...and its flatten runs while disabled (reduce-only)", ["DONE", (0.0, 0.0, 0.0)],
       [wait_final(sl[0][0]) if sl else "", wt.positions(dep)])

    # the flatten blocked (max_daily_trades 1 used by the entry): REJECTED, and once per bar
    tk = sl_ticker()
    dep = deploy_on(user, tk, stop_loss_pct=5, max_daily_trades=1)
    s = wt.add_signal(dep, 1, ticker=tk)
    eq("max_daily_trades 1: bought", "DONE", wait_final(s))
    new_bar(tk, 0.9)
    q("SELECT quant.check_stop_losses()")
    sl = stop_loss_signals(dep)
    st = wait_final(sl[0][0]) if sl else ""
    eq("the flatten is blocked by max_daily_trades (REJECTED row, still long)",
       ["REJECTED", "max_daily_trades", (10.0, 10.0, 10.0)], [st, wt.last_log(sl[0][0])[1] if sl else "",
                                                              wt.positions(dep)])
    q("SELECT quant.check_stop_losses()")
    q("SELECT quant.check_stop_losses()")
    eq("...the same bar is not tried again every minute", 1, len(stop_loss_signals(dep)))
    new_bar(tk, 1.0)
    q("SELECT quant.check_stop_losses()")
    eq("...the next bar is (a second stop-loss signal)", 2, len(stop_loss_signals(dep)))
    wait_final(stop_loss_signals(dep)[-1][0])
    stop_worker(p, "stop-loss worker exits 0 on SIGTERM")


def test_fail_closed(user):
    print("# fail closed: connection, unknown_cash, unknown_position block (REJECTED with the reason, no order)")
    p = start_worker("fc", QUANT_WORKER_POLL_MS=30000)

    def blocked(desc, dep, value, code):
        s = wt.add_signal(dep, value)
        st = wait_final(s)
        lg = wt.last_log(s)
        eq(f"{desc}: REJECTED {code}", ["REJECTED", "REJECTED", code], [st, lg[0], lg[1]])
        eq(f"{desc}: no order sent", "0", q(f"SELECT count(*) FROM trade.\"order\" WHERE signal_id = '{s}'"))
        return s

    # connection: a broker without an adapter (FUTU) is never reachable
    sid = q(f"SELECT quant.create_strategy('{wt.STRATEGY}')->>'strategy_id'", user)
    q("SELECT quant.set_ticker_mapping('TTRC', 'FUTU', 'US.TTRC', 'US')", user)  # deploy needs a mapping
    dep = q(f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'qty', 1, 'schedule', 'manual',"
            f" 'broker', 'FUTU', 'ticker', 'US.TTRC', 'market', 'US',"
            f" 'risk_limits', '{{\"max_bar_age_hours\": null}}'::jsonb))->>'deployment_id'", user)
    blocked("connection (no reachable broker)", dep, 1, "connection")

    # unknown_cash: the broker reports no usable cash figure (NaN)
    dep = wt.deploy(user)
    q(f"SELECT paper.open_account('{dep}', '{user}')")
    q(f"UPDATE paper.account SET cash = 'NaN' WHERE account = '{dep}'")
    blocked("unknown_cash (the broker's cash is NaN)", dep, 1, "unknown_cash")
    q(f"UPDATE paper.account SET cash = 100000 WHERE account = '{dep}'")
    s = wt.add_signal(dep, 1)
    eq("unknown_cash: with a cash figure the buy passes", "DONE", wait_final(s))

    # unknown_position: an order we sent that the broker does not know (reconciled to UNKNOWN)
    dep = wt.deploy(user)
    s0 = wt.add_signal(dep, 1)
    eq("unknown_position: first a filled buy", "DONE", wait_final(s0))
    stop_worker(p)
    q(f"INSERT INTO trade.\"order\" (client_order_id, deployment_id, signal_id, user_id, leg, side, qty, symbol, broker,"
      f" status, sent_at) SELECT 'lost-{dep}', deployment_id, signal_id, user_id, 'close', 'BUY', 10, 'TTRC', 'PAPER',"
      f" 'SENT', now() FROM trade.signal WHERE signal_id = '{s0}'")
    p = start_worker("fc", QUANT_WORKER_POLL_MS=30000)  # start-up reconciliation finds it
    eq("unknown_position: the broker does not know the SENT order -> UNKNOWN", "UNKNOWN",
       wait_until(lambda: q(f"SELECT status FROM trade.\"order\" WHERE client_order_id = 'lost-{dep}'") == "UNKNOWN"
                  and "UNKNOWN", 15) or q(f"SELECT status FROM trade.\"order\" WHERE client_order_id = 'lost-{dep}'"))
    blocked("unknown_position (an order in doubt)", dep, -1, "unknown_position")
    blocked("unknown_position: even an exit waits for a person", dep, 0, "unknown_position")
    stop_worker(p, "fail-closed worker exits 0 on SIGTERM")


# ---------------------------------------------------------------------------------------------
class OwnCluster:
    """A throw-away PostgreSQL 15 cluster in a temporary directory (unix socket only)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="quant_crash_pg_")
        self.data = os.path.join(self.dir, "data")
        self.port = str(random.randint(20000, 30000))
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.dir, 0o755)
        self.bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DB_URL"}
        self.env.update({"PGHOST": self.dir, "PGPORT": self.port, "PGUSER": "postgres", "PGDATABASE": "postgres"})
        self.env["DB_URL"] = f"postgresql:///postgres?host={self.dir}&port={self.port}&user=postgres"

    def run(self, *args):
        return subprocess.run(self.as_user + list(args), capture_output=True, text=True, cwd=self.dir)

    def init(self):
        r = self.run(os.path.join(self.bindir, "initdb"), "-D", self.data, "-A", "trust", "-U", "postgres",
                     "--no-sync")
        return r.returncode == 0 or print(r.stdout + r.stderr)

    def start(self):
        r = self.run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"),
                     "-w", "-t", "60", "-o", f"-k {self.dir} -p {self.port} -c listen_addresses='' "
                     f"-c fsync=on -c synchronous_commit=on", "start")
        return r.returncode == 0 or print(r.stdout + r.stderr)

    def stop(self, mode="fast"):
        r = self.run(os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop")
        return r.returncode == 0 or print(r.stdout + r.stderr)

    def q(self, sql):
        r = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            raise RuntimeError(f"psql (own cluster) failed: {r.stderr.strip()}\nSQL: {sql}")
        lines = [x for x in r.stdout.splitlines() if x.strip()]
        return lines[-1] if lines else ""

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def test_db_crash(user):
    print("# pg_ctl stop -m immediate mid-stream (a cluster of its own), worker restarted")
    if not shutil.which("runuser") and os.geteuid() == 0:
        check("runuser is available to run initdb as postgres", False)
        return
    pg = OwnCluster()
    try:
        if not (pg.init() and pg.start()):
            check("an own cluster started (initdb, pg_ctl start)", False, pg.dir)
            return
        pg.q("CREATE EXTENSION quant")
        bars = subprocess.run(["psql", "-X", "-q", "-c",
                               "COPY (SELECT ticker, ts, open, high, low, close, volume FROM md.bar "
                               "WHERE ticker = 'TTRC') TO STDOUT"], capture_output=True, text=True).stdout
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                        "COPY md.bar (ticker, ts, open, high, low, close, volume) FROM STDIN"],
                       input=bars, text=True, env=pg.env, check=True, capture_output=True)
        sid = pg.q(f"SELECT quant.set_user('{user}'); SELECT quant.create_strategy('{wt.STRATEGY}')->>'strategy_id'")
        deps = [pg.q(f"SELECT quant.set_user('{user}'); SELECT quant.deploy(jsonb_build_object('strategy_id', "
                     f"'{sid}', 'qty', 10, 'schedule', 'manual', 'risk_limits', "
                     f"'{{\"max_bar_age_hours\": null, \"max_daily_trades\": 1000, \"max_orders_per_minute\": 1000}}'"
                     f"::jsonb))->>'deployment_id'") for _ in range(8)]
        # the stream: 29 bars x 8 deployments, signals cycling 1, -1, 0 (flips need two legs)
        cycle = [1, -1, 0, -1, 1, 0]
        nbars = 29  # ends on a long bar: every deployment at +10
        pg.q("INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version) "
             "SELECT d.deployment_id, d.user_id, timestamptz '2030-01-01' + b * interval '1 minute', "
             f"(ARRAY{cycle})[1 + b % {len(cycle)}], 'TTRC', d.strategy_version "
             f"FROM trade.deployment d, generate_series(0, {nbars - 1}) b ORDER BY b, d.deployment_id")
        total = nbars * len(deps)
        want_last = cycle[(nbars - 1) % len(cycle)] * 10.0

        def done():
            return int(pg.q("SELECT count(*) FROM trade.signal WHERE status IN ('DONE', 'REJECTED')"))

        env = dict(pg.env, QUANT_WORKER_LOG_LEVEL="info")
        w = start_worker("dbcrash", QUANT_WORKER_POLL_MS=200, **{k: v for k, v in env.items()
                                                                 if k.startswith("PG") or k == "DB_URL"})
        crashes = 0
        # crash 1: the database goes down under a running worker, which reconnects by itself
        wait_until(lambda: done() >= total // 5, 60, 0.02)
        before = done()
        ok = pg.stop("immediate")
        crashes += ok
        check(f"crash 1: pg_ctl stop -m immediate with {before}/{total} signals finished", ok and before < total,
              str(before))
        time.sleep(1.0)
        check("crash 1: the worker survives the outage (reconnect with backoff)", w.poll() is None)
        pg.start()
        wait_until(lambda: done() >= before + total // 5, 60, 0.05)
        # crash 2: the database down and the worker killed, both restarted
        before2 = done()
        ok = pg.stop("immediate")
        crashes += ok
        w.kill()
        w.wait()
        check(f"crash 2: pg_ctl stop -m immediate and SIGKILL of the worker with {before2}/{total} finished",
              ok and before2 < total, str(before2))
        pg.start()
        w = start_worker("dbcrash", QUANT_WORKER_POLL_MS=200, **{k: v for k, v in env.items()
                                                                 if k.startswith("PG") or k == "DB_URL"})
        finished = wait_until(lambda: done() == total and done(), 120, 0.2)
        eq("after the restarts every signal is finished (none lost)", total, finished or done())
        stop_worker(w, "the restarted worker exits 0 on SIGTERM")
        eq("every signal DONE (none REJECTED: nothing was in doubt)", f"{total}|0",
           pg.q("SELECT count(*) FILTER (WHERE status = 'DONE') || '|' || count(*) FILTER (WHERE status <> 'DONE') "
                "FROM trade.signal"))
        eq("exactly one paper order per client order id", "1",
           pg.q("SELECT coalesce(max(n), 1) FROM (SELECT count(*) n FROM paper.\"order\" GROUP BY client_order_id) x"))
        eq("every intent is at the broker with the same side, qty and status (FILLED), and nothing else is", "0|0",
           pg.q("SELECT (SELECT count(*) FROM trade.\"order\" o LEFT JOIN paper.\"order\" p USING (client_order_id) "
                "WHERE p.order_id IS NULL OR o.status <> 'FILLED' OR p.status <> 'FILLED' OR o.side <> p.side "
                "OR o.qty <> p.qty OR o.filled_qty <> p.filled_qty OR o.avg_fill_price <> p.fill_price) || '|' || "
                "(SELECT count(*) FROM paper.\"order\" p LEFT JOIN trade.\"order\" o USING (client_order_id) "
                "WHERE o.order_id IS NULL)"))
        eq("no signal acted on twice: one fill and one BUY/SELL log row per order, no duplicate rows", "0|0|0",
           pg.q("SELECT (SELECT count(*) FROM trade.\"order\" o WHERE (SELECT count(*) FROM trade.fill f "
                "WHERE f.order_id = o.order_id) <> 1) || '|' || "
                "(SELECT count(*) FROM trade.\"order\" o WHERE (SELECT count(*) FROM trade.log l "
                "WHERE l.order_id = o.client_order_id AND l.action IN ('BUY', 'SELL')) <> 1) || '|' || "
                "(SELECT count(*) FROM trade.log l WHERE l.action = 'REJECTED')"))
        eq("the orders are exactly the legs apply_signal plans for the stream",
           pg.q("SELECT count(*) FROM trade.\"order\""),
           str(len(deps) * sum(legs(cycle[(b - 1) % len(cycle)] if b else 0, cycle[b % len(cycle)])
                               for b in range(nbars))))
        bad = pg.q("SELECT count(*) FROM trade.deployment d "
                   "LEFT JOIN trade.position t ON t.deployment_id = d.deployment_id "
                   "LEFT JOIN paper.position p ON p.account = d.deployment_id::text "
                   f"WHERE coalesce(t.qty, 0) <> {want_last} OR coalesce(p.qty, 0) <> {want_last} "
                   "OR coalesce(t.qty, 0) <> (SELECT coalesce(sum(CASE side WHEN 'BUY' THEN qty ELSE -qty END), 0) "
                   "FROM trade.fill f WHERE f.deployment_id = d.deployment_id) "
                   "OR t.realized_pnl <> p.realized_pnl "
                   "OR (SELECT cash FROM paper.account a WHERE a.account = d.deployment_id::text) <> "
                   "100000 - (SELECT sum(CASE side WHEN 'BUY' THEN qty * price ELSE -qty * price END + fee) "
                   "FROM trade.fill f WHERE f.deployment_id = d.deployment_id)")
        eq(f"database = broker for every deployment: position {want_last}, realised P&L, cash = fills", "0", bad)
        print(f"# {crashes} immediate stops; {pg.q('SELECT count(*) FROM trade.order')} orders")
    except Exception as e:
        check("the database crash test ran to the end", False, repr(e))
    finally:
        pg.remove()


def legs(prev, sig):
    """How many orders apply_signal makes from position prev x qty to sig x qty."""
    if prev == sig:
        return 0
    if prev != 0 and sig != 0:
        return 2  # a flip: close, then open
    return 1


def main():
    user = f"lt_{RUN}"
    try:
        test_stop_loss(user)
        test_fail_closed(user)
        test_db_crash(user)
    except Exception as e:
        check("the test harness ran to the end", False, repr(e))
    finally:
        for p in wt.workers:
            if p.poll() is None:
                p.kill()
                p.wait()
        q(f"UPDATE trade.deployment SET enabled = false, stopped_at = now() WHERE user_id = '{user}' "
          f"AND stopped_at IS NULL")
    if wt.T.failed:
        print(f"# worker logs: {wt.LOGDIR}")
        for name in sorted(os.listdir(wt.LOGDIR)):
            lines = open(os.path.join(wt.LOGDIR, name)).read().splitlines()
            errs = [x for x in lines if '"level":"error"' in x or '"level":"warn"' in x][-5:]
            for x in errs:
                print(f"# {name}: {x}")
    return wt.T.summary()


if __name__ == "__main__":
    sys.exit(main())
