#!/usr/bin/env python3
"""quant-worker acceptance tests (issue 4), against real PostgreSQL and worker processes.

Python stdlib only: SQL goes through psql (PG* from the environment, a superuser), workers are
subprocesses of $QUANT_WORKER_BIN with their JSON logs in a temporary directory. Every scenario
uses deployments of its own, so the checks of one never see another's orders. Signals are
written by quant.run_deployment (end to end) or inserted directly as PENDING rows plus
pg_notify (the worker does not care who wrote them), which lets a test choose signal values.
Last line: "N passed, N failed".
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import quanttest  # noqa: E402  (test/lib: psql, the tally, the last line)

BIN = os.environ["QUANT_WORKER_BIN"]
LOGDIR = tempfile.mkdtemp(prefix="quant_worker_test_")
RUN = uuid.uuid4().hex[:8]
T = quanttest.Tally(tap=True)
workers = []


def check(desc, ok, detail=""):
    T.check(ok, desc, detail)


def eq(desc, want, got):
    check(desc, want == got, f"expected {want!r}, got {got!r}")


def q(sql, user=None):
    """Runs SQL as the superuser (optionally as quant user `user`); returns the last line."""
    out = quanttest.psql_c(*([f"SELECT quant.set_user('{user}')"] if user else []), sql)
    lines = [line for line in out.splitlines() if line.strip() != ""]
    return lines[-1] if lines else ""


def qrows(sql):
    return [line.split("|") for line in quanttest.psql_c(sql).splitlines() if line.strip() != ""]


def start_worker(name, **env):
    e = dict(os.environ)
    e.update({"QUANT_WORKER_ID": f"{name}-{RUN}", "QUANT_WORKER_POLL_MS": "300", "QUANT_WORKER_LOG_LEVEL": "info"})
    e.pop("QUANT_WORKER_CRASH_AT", None)
    e.update({k: str(v) for k, v in env.items()})
    log = open(os.path.join(LOGDIR, f"{name}.log"), "a")
    p = subprocess.Popen([BIN], env=e, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    p.logname = log.name
    workers.append(p)
    return p


def stop_worker(p, desc=None):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if desc:
        eq(desc, 0, p.returncode)


def wait_until(fn, timeout=20.0, step=0.1):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


STRATEGY = ('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi",'
            '"signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')


def deploy(user, qty=10, **limits):
    limits.setdefault("max_bar_age_hours", None)
    sid = q(f"SELECT quant.create_strategy('{STRATEGY}')->>'strategy_id'", user)
    rl = json.dumps(limits).replace("'", "''")
    return q(f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'qty', {qty}, 'schedule', 'manual',"
             f" 'risk_limits', '{rl}'::jsonb))->>'deployment_id'", user)


_bar = [0]


def add_signal(dep, value, ticker="TTRC", notify=True):
    """A PENDING signal for a new (fictitious) bar of the deployment; NOTIFYed."""
    _bar[0] += 1
    sql = (f"WITH d AS (SELECT * FROM trade.deployment WHERE deployment_id = '{dep}'), "
           f"s AS (INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version) "
           f"SELECT deployment_id, user_id, timestamptz '2030-01-01' + {_bar[0]} * interval '1 minute', {value}, "
           f"'{ticker}', strategy_version FROM d RETURNING signal_id) "
           f"SELECT signal_id{', pg_notify(' + chr(39) + 'quant_signal' + chr(39) + ', signal_id::text)' if notify else ''} FROM s")
    return q(sql).split("|")[0]


def status(sig):
    return q(f"SELECT status FROM trade.signal WHERE signal_id = '{sig}'")


def wait_final(sig, timeout=20.0):
    return wait_until(lambda: status(sig) in ("DONE", "REJECTED") and status(sig), timeout) or status(sig)


def last_log(sig):
    r = qrows(f"SELECT action, coalesce(reason, ''), coalesce(message, '') FROM trade.log "
              f"WHERE signal_id = '{sig}' ORDER BY ts DESC, log_id DESC LIMIT 1")
    return r[0] if r else ["", "", ""]


def positions(dep):
    t = q(f"SELECT coalesce((SELECT qty FROM trade.position WHERE deployment_id = '{dep}'), 0)::float8")
    p = q(f"SELECT coalesce((SELECT sum(qty) FROM paper.position WHERE account = '{dep}'), 0)::float8")
    f = q(f"SELECT coalesce(sum(CASE side WHEN 'BUY' THEN qty ELSE -qty END), 0)::float8 FROM trade.fill "
          f"WHERE deployment_id = '{dep}'")
    return float(t), float(p), float(f)


def max_paper_per_coid(deps):
    lst = ",".join(f"'{d}'" for d in deps)
    return int(q(f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM paper.\"order\" "
                 f"WHERE account IN ({lst}) GROUP BY client_order_id) x"))


# ---------------------------------------------------------------------------------------------
def test_end_to_end(user):
    print("# end to end: deploy -> run_deployment -> signal -> worker -> paper order -> fill -> position -> log")
    dep = deploy(user)
    run = json.loads(q(f"SELECT quant.run_deployment('{dep}')", user))
    eq("run_deployment wrote a signal", "SIGNAL", run.get("outcome"))
    sig = run.get("signal_id", "00000000-0000-0000-0000-000000000000")
    value = int(run.get("signal", 0))
    t0 = time.time()
    eq("the worker finished the signal (woken by NOTIFY; its poll is 30 s)", "DONE", wait_final(sig, 10))
    print(f"# the worker finished it {time.time() - t0:.2f} s after the signal (measured, not asserted)")
    coid = q(f"SELECT client_order_id FROM trade.\"order\" WHERE signal_id = '{sig}'")
    eq("one order intent, deterministic client order id of 36 characters", 36, len(coid))
    eq("the order is FILLED", "FILLED", q(f"SELECT status FROM trade.\"order\" WHERE client_order_id = '{coid}'"))
    eq("the paper broker has exactly that order, FILLED", "1|FILLED",
       q(f"SELECT count(*) || '|' || min(status) FROM paper.\"order\" WHERE client_order_id = '{coid}'"))
    eq("a fill was booked", "1", q(f"SELECT count(*) FROM trade.fill WHERE client_order_id = '{coid}'"))
    t, p, f = positions(dep)
    eq("trade.position = signal x qty", value * 10.0, t)
    eq("the paper broker agrees", t, p)
    eq("the position is the sum of the fills", t, f)
    act = "BUY" if value > 0 else "SELL"
    eq("trade.log has the BUY/SELL row with order_id and success",
       f"{act}|true|{coid}", q(f"SELECT action || '|' || success || '|' || order_id FROM trade.log WHERE signal_id = '{sig}'"))
    tr = json.loads(q(f"SELECT quant.deployment_trades('{dep}')", user))
    check("quant.deployment_trades shows it (action, qty, success, order_id, timestamp)",
          tr.get("action") == act and tr.get("order_id") == coid and tr.get("success") is True and tr.get("timestamp"),
          str(tr))
    cash = float(q(f"SELECT cash FROM paper.account WHERE account = '{dep}'"))
    check("paper cash moved by the notional plus the fee", abs(cash - 100000) > 100, str(cash))
    eq("the signal is DONE in quant.deployment_signals", "DONE",
       json.loads(q(f"SELECT quant.deployment_signals('{dep}')", user)).get("status"))

    print("# the apply_signal path: hold, flatten, short, flip (close the opposite side first)")
    s = add_signal(dep, value)
    eq("same signal again -> HOLD", ["DONE", "HOLD"], [wait_final(s), last_log(s)[0]])
    for v, want in ((0, 0.0), (-1, -10.0), (1, 10.0)):
        s = add_signal(dep, v)
        eq(f"signal {v}: DONE", "DONE", wait_final(s))
        t, p, f = positions(dep)
        eq(f"signal {v}: position {want}, broker agrees, = sum of fills", (want, want, want), (t, p, f))
    legs = q(f"SELECT string_agg(leg || ':' || side || ':' || qty::float8, ',' ORDER BY created_at) "
             f"FROM trade.\"order\" WHERE signal_id = '{s}'")
    eq("the flip from -10 to 10 closed first, then opened", "close:BUY:10,open:BUY:10", legs)
    eq("exactly one paper order per client order id", 1, max_paper_per_coid([dep]))


def test_risk_checks(user):
    print("# risk checks: each blocks once (REJECTED with its reason) and passes once")

    def blocked(desc, dep, value, code, **kw):
        s = add_signal(dep, value, **kw)
        st = wait_final(s)
        lg = last_log(s)
        eq(f"{desc}: blocked, REJECTED {code}", ["REJECTED", "REJECTED", code], [st, lg[0], lg[1]])
        eq(f"{desc}: no order sent", "0", q(f"SELECT count(*) FROM trade.\"order\" WHERE signal_id = '{s}'"))
        return s

    def passes(desc, dep, value):
        s = add_signal(dep, value)
        st = wait_final(s)
        eq(f"{desc}: passes (DONE, an order FILLED)", ["DONE", "FILLED"],
           [st, q(f"SELECT min(status) FROM trade.\"order\" WHERE signal_id = '{s}'")])
        return s

    # kill switch
    dep = deploy(user)
    q(f"SELECT quant.update_deployment('{dep}', '{{\"enabled\": false}}')", user)
    blocked("kill switch", dep, 1, "kill_switch")
    q(f"SELECT quant.update_deployment('{dep}', '{{\"enabled\": true}}')", user)
    passes("kill switch off", dep, 1)

    # max position (10 x ~52 = ~520 USD)
    dep = deploy(user, max_position_usd=100)
    blocked("max position 100 USD", dep, 1, "max_position")
    q(f"SELECT quant.update_deployment('{dep}', '{{\"risk_limits\": {{\"max_position_usd\": 1000}}}}')", user)
    passes("max position 1000 USD", dep, 1)
    # reduce-only: the limit now breached, the exit still goes through
    q(f"SELECT quant.update_deployment('{dep}', '{{\"risk_limits\": {{\"max_position_usd\": 100}}}}')", user)
    s = add_signal(dep, -1)
    eq("reduce-only close leg passes a breached max position (signal DONE)", "DONE", wait_final(s))
    rows = qrows(f"SELECT leg, status FROM trade.\"order\" WHERE signal_id = '{s}' ORDER BY created_at")
    eq("...the close leg FILLED, the opening leg not sent", [["close", "FILLED"]], rows)
    eq("...and the opening leg REJECTED max_position", "REJECTED|max_position", "|".join(last_log(s)[:2]))
    eq("...position flat, broker agrees", (0.0, 0.0, 0.0), positions(dep))

    # max daily trades (per deployment per UTC day)
    dep = deploy(user, max_daily_trades=1)
    passes("max daily trades 1: the first trade", dep, 1)
    blocked("max daily trades 1: the second", dep, 0, "max_daily_trades")

    # throttle: orders per minute
    dep = deploy(user, max_orders_per_minute=1)
    passes("throttle 1/min: the first order", dep, 1)
    blocked("throttle 1/min: the second within the minute", dep, 0, "throttle")

    # cash (the worker's check, from the broker's cash)
    dep = deploy(user)
    q(f"SELECT paper.open_account('{dep}', '{user}', 100)")
    blocked("cash 100 for a ~520 USD buy", dep, 1, "cash")
    q(f"UPDATE paper.account SET cash = 100000 WHERE account = '{dep}'")
    passes("cash 100000", dep, 1)
    # a short sale needs no cash (margin is the broker's), and the exit needs none either
    q(f"UPDATE paper.account SET cash = 0 WHERE account = '{dep}'")
    s = add_signal(dep, 0)
    eq("an exit with zero cash passes (reduce-only)", "DONE", wait_final(s))

    # duplicate guard: the same leg of the same signal is never acted on twice
    dep = deploy(user)
    s = passes("duplicate guard: first time", dep, 1)
    q(f"SELECT paper.place_order('{dep}', 'manual-{dep}', 'TTRC', 'SELL', 10)")  # someone flattens at the broker
    q(f"UPDATE trade.signal SET status = 'PENDING' WHERE signal_id = '{s}'; SELECT pg_notify('quant_signal', '{s}')")
    st = wait_final(s)
    lg = last_log(s)
    eq("duplicate guard: the redelivered signal gets a REJECTED duplicate row (and stays DONE: it was acted on)",
       ["DONE", "REJECTED", "duplicate"], [st, lg[0], lg[1]])
    eq("duplicate guard: still one order for the signal, one at the broker", "1|1",
       q(f"SELECT (SELECT count(*) FROM trade.\"order\" WHERE signal_id = '{s}') || '|' || "
         f"(SELECT count(*) FROM paper.\"order\" p JOIN trade.\"order\" o USING (client_order_id) WHERE o.signal_id = '{s}')"))

    # unknown price: no price for the symbol the broker trades -> fail closed (the signal's data
    # ticker never prices an order)
    nobars = f"NOBARS{RUN}"
    sid = q(f"SELECT quant.create_strategy('{STRATEGY.replace('TTRC', nobars)}')->>'strategy_id'", user)
    dep = q(f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'qty', 10, 'schedule', 'manual',"
            f" 'ticker', '{nobars}', 'market', 'US', 'risk_limits', '{{\"max_bar_age_hours\": null}}'::jsonb))"
            f"->>'deployment_id'", user)
    blocked("unknown price (no bars for the broker symbol)", dep, 1, "unknown_price")
    q(f"INSERT INTO md.bar (ticker, ts, close) VALUES ('{nobars}', '2001-01-01', 52)")
    passes("known price", dep, 1)

    # max order qty and notional
    dep = deploy(user, max_order_qty=5)
    blocked("max order qty 5 for qty 10", dep, 1, "max_order_qty")
    dep = deploy(user, max_order_notional=100)
    blocked("max order notional 100 for ~520", dep, 1, "max_order_notional")

    # pause after repeated rejects (max_consecutive_rejects 2), until a person changes the deployment
    dep = deploy(user, max_position_usd=100, max_consecutive_rejects=2)
    blocked("pause: reject 1", dep, 1, "max_position")
    blocked("pause: reject 2", dep, 1, "max_position")
    blocked("pause: then paused", dep, 1, "paused")
    q(f"SELECT quant.update_deployment('{dep}', '{{\"risk_limits\": {{\"max_position_usd\": 1000}}}}')", user)
    passes("pause: a change by a person resumes", dep, 1)


def test_unusable_qty(user):
    print("# a deployment qty the worker cannot use: one REJECTED invalid_qty, never a retry loop")
    for text in ("1e400", "'NaN'", "1e13"):
        dep = deploy(user)
        try:
            q(f"UPDATE trade.deployment SET qty = {text} WHERE deployment_id = '{dep}'")
        except RuntimeError as e:  # the database refuses it: as good (validated where it is stored)
            check(f"qty {text}: refused by the database", "violates check constraint" in str(e), str(e))
            continue
        s = add_signal(dep, 1)
        st = wait_final(s)
        lg = last_log(s)
        eq(f"qty {text}: REJECTED invalid_qty", ["REJECTED", "REJECTED", "invalid_qty"], [st, lg[0], lg[1]])
        check(f"qty {text}: the reason says why", "cannot be traded" in lg[2] or "not a number" in lg[2], lg[2])
        eq(f"qty {text}: claimed once, one log row, no order", "1|1|0",
           q(f"SELECT (SELECT attempts FROM trade.signal WHERE signal_id = '{s}') || '|' || "
             f"(SELECT count(*) FROM trade.log WHERE signal_id = '{s}') || '|' || "
             f"(SELECT count(*) FROM trade.\"order\" WHERE signal_id = '{s}')"))


def test_role(main_log):
    print("# the worker's role: quant_worker when it exists and the login may, else the login (logged)")
    exists = q("SELECT count(*) FROM pg_roles WHERE rolname = 'quant_worker'") == "1"
    events = [json.loads(x) for x in open(main_log).read().splitlines() if x.startswith("{")]
    connected = [e for e in events if e.get("event") == "connected"]
    check("the worker logged its connection", len(connected) >= 1)
    if connected:
        if exists:
            eq("connected as role quant_worker", "quant_worker", connected[0].get("role"))
        else:
            check("no quant_worker role: role_not_assumed logged, running as the login",
                  any(e.get("event") == "role_not_assumed" for e in events) and
                  "does not exist" in connected[0].get("role_note", ""), connected[0])


def test_crash_safety(user):
    print("# crash safety: SIGKILL at each point, restart without the hook")
    for point in ("after_claim", "after_intent", "after_send", "before_outcome"):
        dep = deploy(user)
        wid = f"crash-{point}"
        p = start_worker(wid, QUANT_WORKER_CRASH_AT=point)
        time.sleep(0.5)
        s = add_signal(dep, 1)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        eq(f"{point}: the worker died by SIGKILL", -9, p.returncode)
        p2 = start_worker(wid)  # same id: its own claim is taken up at once
        st = wait_final(s, 20)
        eq(f"{point}: after the restart the signal is DONE", "DONE", st)
        stop_worker(p2, f"{point}: SIGTERM stops the worker with exit 0")
        eq(f"{point}: exactly one order at the paper broker", "1",
           q(f"SELECT count(*) FROM paper.\"order\" WHERE account = '{dep}'"))
        eq(f"{point}: one intent, FILLED, same client id as the broker's", "1|FILLED|1",
           q(f"SELECT count(*) || '|' || min(o.status) || '|' || count(p.order_id) FROM trade.\"order\" o "
             f"LEFT JOIN paper.\"order\" p USING (client_order_id) WHERE o.deployment_id = '{dep}'"))
        eq(f"{point}: one BUY log row", "1",
           q(f"SELECT count(*) FROM trade.log WHERE deployment_id = '{dep}' AND action = 'BUY'"))
        eq(f"{point}: trade.position = paper.position = fills = 10", (10.0, 10.0, 10.0), positions(dep))

    print("# crash between the two legs of a flip, and a claim taken over after the lease by another worker")
    dep = deploy(user)
    p = start_worker("flip")
    s = add_signal(dep, -1)
    eq("flip: short first", "DONE", wait_final(s))
    stop_worker(p)
    p = start_worker("flip-crash", QUANT_WORKER_CRASH_AT="after_send")
    s = add_signal(dep, 1)
    p.wait(timeout=15)
    eq("flip: killed after sending the close leg", -9, p.returncode)
    p = start_worker("flip-other", QUANT_WORKER_LEASE_S=2)  # another id: waits for the lease
    eq("flip: another worker finishes it after the lease", "DONE", wait_final(s, 25))
    stop_worker(p)
    eq("flip: two orders, one per client id at the broker", "2|1",
       q(f"SELECT count(*) || '|' || (SELECT max(n) FROM (SELECT count(*) n FROM paper.\"order\" "
         f"WHERE account = '{dep}' GROUP BY client_order_id) x) FROM trade.\"order\" WHERE signal_id = '{s}'"))
    eq("flip: position 10, broker agrees", (10.0, 10.0, 10.0), positions(dep))


def test_two_workers(user):
    print("# two workers at once on 20 signals (10 deployments x 2 bars)")
    deps = [deploy(user) for _ in range(10)]
    sigs = []
    for d in deps:
        sigs.append(add_signal(d, 1, notify=False))
    for d in deps:
        sigs.append(add_signal(d, -1, notify=False))
    a = start_worker("twin-a")
    b = start_worker("twin-b")
    q("SELECT pg_notify('quant_signal', 'go')")
    done = wait_until(lambda: q("SELECT count(*) FROM trade.signal WHERE signal_id IN (" +
                                ",".join(f"'{s}'" for s in sigs) + ") AND status = 'DONE'") == "20", 60)
    check("all 20 signals DONE", bool(done))
    stop_worker(a, "worker a exits 0 on SIGTERM")
    stop_worker(b, "worker b exits 0 on SIGTERM")
    eq("never sent twice: at most one paper order per client id", 1, max_paper_per_coid(deps))
    lst = ",".join(f"'{d}'" for d in deps)
    eq("30 intents (1 + close + open per deployment), 30 paper orders", "30|30",
       q(f"SELECT (SELECT count(*) FROM trade.\"order\" WHERE deployment_id IN ({lst})) || '|' || "
         f"(SELECT count(*) FROM paper.\"order\" WHERE account IN ({lst}))"))
    bad = [d for d in deps if positions(d) != (-10.0, -10.0, -10.0)]
    eq("every deployment ends at -10, database = broker = fills (bars in order)", [], bad)
    both = q("SELECT count(DISTINCT worker_id) FROM trade.\"order\" WHERE deployment_id IN (" + lst + ")")
    print(f"# orders were sent by {both} worker(s)")


def test_listener_drop(user):
    print("# the LISTEN connection dropped: the worker reconnects, reconciles and catches up")
    dep = deploy(user)
    p = start_worker("drop", QUANT_WORKER_POLL_MS=60000)
    time.sleep(1)
    s = add_signal(dep, 1, notify=False)  # no NOTIFY and a 60 s poll: only the catch-up finds it
    time.sleep(0.3)
    n = q("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
          f"WHERE application_name = 'quant-worker-listen' AND datname = current_database() AND pid <> pg_backend_pid()")
    check("terminated the listener connection(s)", int(n) >= 1, n)
    eq("the signal is processed after the reconnect (catch-up scan)", "DONE", wait_final(s, 15))
    stop_worker(p, "exit 0 on SIGTERM")


def main():
    user = f"wt_{RUN}"
    main_worker = start_worker("main", QUANT_WORKER_POLL_MS=30000)
    try:
        time.sleep(0.5)
        test_end_to_end(user)
        test_risk_checks(user)
        test_unusable_qty(user)
        test_role(main_worker.logname)
        stop_worker(main_worker, "the main worker exits 0 on SIGTERM")
        test_crash_safety(user)
        test_two_workers(user)
        test_listener_drop(user)
    except Exception as e:  # a harness failure is a failed test, with the worker logs kept
        check("the test harness ran to the end", False, repr(e))
    finally:
        for p in workers:
            if p.poll() is None:
                p.kill()
                p.wait()
        # no worker of ours is left; everything the workers did is checked above
        q(f"UPDATE trade.deployment SET enabled = false, stopped_at = now() WHERE user_id = '{user}' "
          f"AND stopped_at IS NULL")
    if T.failed:
        print(f"# worker logs: {LOGDIR}")
        for name in sorted(os.listdir(LOGDIR)):
            lines = open(os.path.join(LOGDIR, name)).read().splitlines()
            errs = [x for x in lines if '"level":"error"' in x or '"level":"warn"' in x][-5:]
            for x in errs:
                print(f"# {name}: {x}")
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
