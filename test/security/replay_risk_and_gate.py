#!/usr/bin/env python3
"""Replays of the audit's attacks on the risk checks, the live gate and the database's own
validation; each must now fail with a clean refusal.

- risk limits priced on the wrong symbol: a strategy on a 0.52 ticker deployed on MSFT (49.96)
  with qty 1,500 and max_position_usd 10,000 bought 1,500 MSFT. Now: quant.deploy refuses a
  broker symbol that is not a mapping of the strategy's ticker; with a mapping of the user's own,
  the worker prices on MSFT and refuses (max_position); shorts meet the limits and the margin.
- quant.set_trade_password by anyone: a plain login set another user's first password, and six
  wrong old_passwords locked the owner out. Now: not executable by PUBLIC; an administrator may
  set a first password, but only the user may try the password, so nobody else locks them out.
- passwords in the server log: a failed call's statement text (with the password) was logged.
  Now: bound parameters (the REST server's path) and the gate's own refusals, also from psql,
  keep the password out of the server log (the log is read back and searched).
- create_strategy told bob that alice's strategy id exists; the deployment qty CHECK admitted
  NaN and 1e400.

Needs PG* for a superuser on a database with quant and the MSFT sample bars (as
scripts/test-in-cluster.sh prepares it) and a built quant-worker ($QUANT_WORKER_BIN, else
build/worker/quant-worker, else on PATH). The server log is searched when it can be found
($QUANT_TEST_SERVER_LOG, else pg_virtualenv's log directory); otherwise those checks are skipped.
Python stdlib only (libpq through ctypes for bound parameters). Last line: "N passed, N failed".
"""
import ctypes
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RUN = uuid.uuid4().hex[:8]
LOGDIR = tempfile.mkdtemp(prefix="quant_security_")
passed = failed = skipped = 0
workers = []
roles = []


def check(desc, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {desc}", flush=True)
    else:
        failed += 1
        print(f"not ok - {desc}" + (f": {str(detail)[:600]}" if detail != "" else ""), flush=True)
    return ok


def eq(desc, want, got):
    return check(desc, want == got, f"expected {want!r}, got {got!r}")


def skip(desc, why):
    global skipped
    skipped += 1
    print(f"ok - {desc} # SKIP {why}", flush=True)


# ---- psql (superuser, or a login of the test) -------------------------------------------------
class SqlError(Exception):
    def __init__(self, text):
        super().__init__(text)
        self.text = text
        m = re.search(r"ERROR:\s+([0-9A-Z]{5}):", text)
        self.sqlstate = m.group(1) if m else None
        m = re.search(r"COLUMN NAME:\s+(\S+)", text)
        self.column = m.group(1) if m else None
        m = re.search(r"HINT:\s+(.*)", text)
        self.hint = m.group(1) if m else ""


def psql(sql, user=None, login=None):
    """Runs SQL (after quant.set_user(user) when given); returns the last output line.
    login=(role, password) connects as that login instead of PGUSER."""
    env = dict(os.environ)
    if login:
        env["PGUSER"], env["PGPASSWORD"] = login
    cmd = ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"]
    if user:
        cmd += ["-c", f"SELECT quant.set_user('{user}')"]
    cmd += ["-c", sql]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SqlError(r.stderr.strip())
    lines = [line for line in r.stdout.splitlines() if line.strip() != ""]
    return lines[-1] if lines else ""


def q(sql, user=None, login=None):
    return psql(sql, user, login)


def err(sql, user=None, login=None):
    """The SqlError of a statement that must fail (None when it succeeded)."""
    try:
        psql(sql, user, login)
    except SqlError as e:
        return e
    return None


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def store_futu_trade_password(user):
    """A REAL FUTU deployment also needs the Futu trade password in the credential store (issue 14)."""
    keyf = os.path.join(tempfile.gettempdir(), f"quant_sec_credential_{RUN}.key")
    q(f"COPY (SELECT repeat('5c', 32)) TO {lit(keyf)}")
    q(f"SET quant.credential_key_file = {lit(keyf)}; "
      f"SELECT quant.set_broker_credential('FUTU', 'real', 'default', 'sec-futu-trade-pw')", user)


# ---- libpq through ctypes: bound parameters, as quant-http sends them -------------------------
class Pq:
    lib = None

    def __init__(self, conninfo=""):
        if Pq.lib is None:
            lib = ctypes.CDLL("libpq.so.5")
            vp, cp = ctypes.c_void_p, ctypes.c_char_p
            lib.PQconnectdb.restype, lib.PQconnectdb.argtypes = vp, [cp]
            lib.PQstatus.restype, lib.PQstatus.argtypes = ctypes.c_int, [vp]
            lib.PQerrorMessage.restype, lib.PQerrorMessage.argtypes = cp, [vp]
            lib.PQexecParams.restype = vp
            lib.PQexecParams.argtypes = [vp, cp, ctypes.c_int, vp, ctypes.POINTER(cp), vp, vp, ctypes.c_int]
            lib.PQresultStatus.restype, lib.PQresultStatus.argtypes = ctypes.c_int, [vp]
            lib.PQresultErrorField.restype, lib.PQresultErrorField.argtypes = cp, [vp, ctypes.c_int]
            lib.PQntuples.restype, lib.PQntuples.argtypes = ctypes.c_int, [vp]
            lib.PQgetvalue.restype, lib.PQgetvalue.argtypes = cp, [vp, ctypes.c_int, ctypes.c_int]
            lib.PQclear.argtypes = [vp]
            lib.PQfinish.argtypes = [vp]
            Pq.notice_t = ctypes.CFUNCTYPE(None, vp, cp)
            Pq.quiet = Pq.notice_t(lambda arg, msg: None)  # the gate's WARNINGs are expected
            lib.PQsetNoticeProcessor.restype = vp
            lib.PQsetNoticeProcessor.argtypes = [vp, Pq.notice_t, vp]
            Pq.lib = lib
        self.conn = Pq.lib.PQconnectdb(conninfo.encode())
        if Pq.lib.PQstatus(self.conn) != 0:
            raise RuntimeError("libpq: " + Pq.lib.PQerrorMessage(self.conn).decode())
        Pq.lib.PQsetNoticeProcessor(self.conn, Pq.quiet, None)

    def exec(self, sql, *params):
        """(sqlstate or None, first value or None) of one statement with bound text parameters."""
        arr = (ctypes.c_char_p * max(1, len(params)))(*[p.encode() for p in params])
        res = Pq.lib.PQexecParams(self.conn, sql.encode(), len(params), None, arr, None, None, 0)
        try:
            st = Pq.lib.PQresultStatus(res)
            if st not in (1, 2):  # PGRES_COMMAND_OK, PGRES_TUPLES_OK
                code = Pq.lib.PQresultErrorField(res, ord("C"))
                return (code.decode() if code else "?????"), None
            if st == 2 and Pq.lib.PQntuples(res) > 0:
                v = Pq.lib.PQgetvalue(res, 0, 0)
                return None, v.decode() if v is not None else None
            return None, None
        finally:
            Pq.lib.PQclear(res)

    def close(self):
        Pq.lib.PQfinish(self.conn)


def rest_call(pq, user, sql, *params):
    """One request the way the REST server runs it: a transaction as quant_app, the user set
    for that transaction, the statement with bound parameters. Returns its sqlstate or None."""
    pq.exec("BEGIN")
    state, _ = pq.exec("SELECT quant.set_user($1, true)", user)
    if state is None:
        state, _ = pq.exec("SET LOCAL ROLE quant_app")
    if state is None:
        state, _ = pq.exec(sql, *params)
    pq.exec("ROLLBACK" if state else "COMMIT")
    return state


# ---- the worker ------------------------------------------------------------------------------
def worker_bin():
    b = os.environ.get("QUANT_WORKER_BIN")
    if b:
        return b
    b = os.path.join(REPO, "build", "worker", "quant-worker")
    if os.access(b, os.X_OK):
        return b
    for d in os.environ.get("PATH", "").split(":"):
        if os.access(os.path.join(d, "quant-worker"), os.X_OK):
            return os.path.join(d, "quant-worker")
    return None


def start_worker(name):
    e = dict(os.environ)
    e.update({"QUANT_WORKER_ID": f"{name}-{RUN}", "QUANT_WORKER_POLL_MS": "300", "QUANT_WORKER_LOG_LEVEL": "info"})
    e.pop("QUANT_WORKER_CRASH_AT", None)
    log = open(os.path.join(LOGDIR, f"{name}.log"), "a")
    p = subprocess.Popen([worker_bin()], env=e, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    workers.append(p)
    return p


def stop_workers():
    for p in workers:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def wait_until(fn, timeout=20.0, step=0.1):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


_bar = [0]


def add_signal(dep, value):
    """A PENDING signal of the deployment for a new (fictitious) bar, NOTIFYed."""
    _bar[0] += 1
    return q(f"WITH d AS (SELECT * FROM trade.deployment WHERE deployment_id = '{dep}'), "
             f"s AS (INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version) "
             f"SELECT deployment_id, user_id, timestamptz '2031-01-01' + {_bar[0]} * interval '1 minute', {value}, "
             f"'PENNY{RUN}', strategy_version FROM d RETURNING signal_id) "
             f"SELECT signal_id, pg_notify('quant_signal', signal_id::text) FROM s").split("|")[0]


def final(sig, timeout=20.0):
    st = lambda: q(f"SELECT status FROM trade.signal WHERE signal_id = '{sig}'")  # noqa: E731
    return wait_until(lambda: st() in ("DONE", "REJECTED") and st(), timeout) or st()


def last_log(sig):
    r = q(f"SELECT action || '|' || coalesce(reason, '') || '|' || coalesce(message, '') FROM trade.log "
          f"WHERE signal_id = '{sig}' ORDER BY ts DESC, log_id DESC LIMIT 1")
    return (r.split("|", 2) + ["", "", ""])[:3]


def paper_position(dep):
    return float(q(f"SELECT coalesce(sum(qty), 0)::float8 FROM paper.position WHERE account = '{dep}'"))


# ---------------------------------------------------------------------------------------------
PENNY = f"PENNY{RUN}"


def strategy(ticker, window=14):
    return json.dumps({"ticker": ticker, "trading_period": 252, "substrategies": [
        {"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": window, "signal": 30}]})


def deploy_sql(sid, **kw):
    d = {"strategy_id": sid, "broker": "PAPER", "schedule": "manual",
         "risk_limits": {"max_position_usd": 10000, "max_bar_age_hours": None}}
    if kw.get("paper") is False:
        d["risk_limits"] = {"max_position_usd": 10000}  # the stale-bar check may be off on paper only
    d.update(kw)
    return f"SELECT quant.deploy({lit(json.dumps(d))}::jsonb)->>'deployment_id'"


def test_wrong_symbol(bob):
    print("# risk limits are priced on what is traded; the broker symbol must map the strategy's ticker")
    # a 0.52 ticker (its own bars) and MSFT (sample bars, last close 49.96)
    q(f"INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) "
      f"SELECT '{PENNY}', timestamptz '2001-01-01' + g * interval '1 day', 0.52, 0.53, 0.51, 0.52, 1000 "
      f"FROM generate_series(1, 40) g")
    msft = float(q("SELECT close FROM md.bar WHERE ticker = 'MSFT' ORDER BY ts DESC LIMIT 1"))
    sid = q(f"SELECT quant.create_strategy({lit(strategy(PENNY))})->>'strategy_id'", bob)

    e = err(deploy_sql(sid, ticker="MSFT", market="US", qty=1500), bob)
    check("deploy of a PENNY strategy on MSFT is refused (22023)", e is not None and e.sqlstate == "22023",
          e.text if e else "it was accepted")
    check("...naming ticker (COLUMN) and hinting at the valid mapping",
          e is not None and e.column == "ticker" and PENNY in e.hint, e.text if e else "")
    e = err(deploy_sql(sid, broker="BYBIT", ticker="BTCUSDT", market="CRYPTO", qty=1), bob)
    check("deploy on a BYBIT symbol that maps another ticker is refused (22023 ticker)",
          e is not None and e.sqlstate == "22023" and e.column == "ticker", e.text if e else "accepted")

    # the user's own mapping makes MSFT a valid symbol: then the worker prices on MSFT
    q(f"SELECT quant.set_ticker_mapping('{PENNY}', 'PAPER', 'MSFT', 'US')", bob)
    dep = q(deploy_sql(sid, ticker="MSFT", market="US", qty=1500), bob)
    check("with bob's own mapping PENNY -> MSFT the deployment is accepted", len(dep) == 36, dep)
    e = err(deploy_sql(sid, ticker="MSFT", market="CRYPTO", qty=1500), bob)
    check("...but not with a market other than the mapping's (22023 market)",
          e is not None and e.sqlstate == "22023" and e.column == "market", e.text if e else "accepted")
    sig = add_signal(dep, 1)
    ctx = json.loads(q(f"SELECT trade.worker_context('{sig}')", bob))
    eq("the worker's context prices the order on MSFT (the broker's symbol)",
       (msft, "MSFT"), (ctx.get("price"), ctx.get("price_symbol")))

    if worker_bin() is None:
        skip("the worker refuses the 74,940 USD buy", "quant-worker is not built")
        return
    start_worker("sec")
    st = final(sig)
    lg = last_log(sig)
    eq("the attack's buy of 1,500 MSFT is REJECTED max_position", ["REJECTED", "REJECTED", "max_position"],
       [st, lg[0], lg[1]])
    check("...valued at 1,500 x 49.96 = 74,940 USD", "74940" in lg[2].replace(",", ""), lg[2])
    eq("...nothing was bought at the broker", 0.0, paper_position(dep))
    sig = add_signal(dep, -1)
    eq("the short of 1,500 MSFT is REJECTED max_position as well", ["REJECTED", "max_position"],
       [final(sig), last_log(sig)[1]])

    # a short needs its margin: 100 MSFT (~4,996 USD) with 1,000 cash
    dep2 = q(deploy_sql(sid, ticker="MSFT", market="US", qty=100), bob)
    q(f"SELECT paper.open_account('{dep2}', '{bob}', 1000)")
    sig = add_signal(dep2, -1)
    eq("a short without the cash it needs is REJECTED margin", ["REJECTED", "margin"], [final(sig), last_log(sig)[1]])
    eq("...no order was sent", "0", q(f"SELECT count(*) FROM trade.\"order\" WHERE signal_id = '{sig}'"))
    q(f"UPDATE paper.account SET cash = 100000 WHERE account = '{dep2}'")
    sig = add_signal(dep2, -1)
    eq("with the cash the short of 100 MSFT goes through", ["DONE", -100.0], [final(sig), paper_position(dep2)])

    # the mapping moved on: enabling updates are refused, the kill switch never is
    q(f"SELECT quant.set_ticker_mapping('{PENNY}', 'PAPER', 'AAPL', 'US')", bob)
    e = err(f"SELECT quant.update_deployment('{dep2}', '{{\"qty\": 10}}')", bob)
    check("an update of a deployment whose symbol is no longer a mapping is refused (22023 ticker)",
          e is not None and e.sqlstate == "22023" and e.column == "ticker", e.text if e else "accepted")
    eq("...but switching it off is not", "disabled",
       json.loads(q(f"SELECT quant.update_deployment('{dep2}', '{{\"enabled\": false}}')", bob)).get("status"))


def test_strategy_id_leak(alice, bob):
    print("# create_strategy with someone else's strategy_id behaves exactly like one never used")
    a = q(f"SELECT quant.create_strategy({lit(strategy('MSFT', 15))})->>'strategy_id'", alice)
    fresh = str(uuid.uuid4())
    outs = {}
    for name, sid in (("alice's", a), ("an unused", fresh)):
        cfg = json.loads(strategy("MSFT", 16 if name == "alice's" else 17))
        cfg["strategy_id"] = sid
        env = dict(os.environ)
        r = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
                            "-c", f"SELECT quant.set_user('{bob}')",
                            "-c", f"SELECT quant.create_strategy({lit(json.dumps(cfg))})"],
                           capture_output=True, text=True, env=env)
        out = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else ""
        j = json.loads(out) if out else {}
        outs[name] = (r.returncode, r.stderr.replace(sid, "<id>").strip(), sorted(j.keys()), j.get("version"))
        check(f"bob's create_strategy with {name} id succeeds with a new id of his own",
              r.returncode == 0 and j.get("strategy_id") not in (None, sid), r.stderr.strip() or out)
    eq("...and both answers look the same (status, notices, keys, version)", outs["alice's"], outs["an unused"])
    eq("alice's strategy is untouched (version 1, still hers)", "1|" + alice,
       q(f"SELECT current_version || '|' || user_id FROM bt.strategy WHERE strategy_id = '{a}'"))


def test_qty_bounds(bob):
    print("# the database itself refuses a deployment qty that is NaN, infinite or past 1e12")
    sid = q(f"SELECT quant.create_strategy({lit(strategy('MSFT', 18))})->>'strategy_id'", bob)
    dep = q(deploy_sql(sid, qty=10), bob)
    for bad in ("'NaN'", "'Infinity'", "1e400", "1000000000001", "0", "-1"):
        e = err(f"UPDATE trade.deployment SET qty = {bad} WHERE deployment_id = '{dep}'")
        check(f"a direct UPDATE to qty {bad} is refused (23514)", e is not None and e.sqlstate == "23514",
              e.text if e else "accepted")
    e = err(f"INSERT INTO trade.deployment (user_id, strategy_id, strategy_version, broker, ticker, market, qty, "
            f"schedule, risk_limits, config) SELECT user_id, strategy_id, strategy_version, broker, ticker, market, "
            f"1e400, schedule, risk_limits, config FROM trade.deployment WHERE deployment_id = '{dep}'")
    check("a direct INSERT with qty 1e400 is refused (23514)", e is not None and e.sqlstate == "23514",
          e.text if e else "accepted")
    eq("qty 1e12 (the bound) is allowed", "1000000000000",
       q(f"UPDATE trade.deployment SET qty = 1e12 WHERE deployment_id = '{dep}' RETURNING qty::text"))
    e = err(deploy_sql(sid, qty=1e13), bob)
    check("quant.deploy with qty 1e13 is 22023 qty (the same bound)",
          e is not None and e.sqlstate == "22023" and e.column == "qty", e.text if e else "accepted")
    for bad in ("'NaN'", "1e400"):
        e = err(f"INSERT INTO trade.\"order\" (client_order_id, deployment_id, signal_id, user_id, leg, side, qty, "
                f"symbol, broker) SELECT 'sec-{RUN}-' || {lit(bad)}, d.deployment_id, s.signal_id, d.user_id, 'open', "
                f"'BUY', {bad}, d.ticker, d.broker FROM trade.deployment d, LATERAL (SELECT quant.uuid_generate_v7() "
                f"AS signal_id) s WHERE d.deployment_id = '{dep}'")
        check(f"an order intent with qty {bad} is refused (23514 before any foreign key)",
              e is not None and e.sqlstate == "23514", e.text if e else "accepted")
    q(f"SELECT quant.stop_deployment('{dep}')", bob)


def make_login(name, *grants):
    pw = "login-" + uuid.uuid4().hex
    q(f"CREATE ROLE {name} LOGIN PASSWORD {lit(pw)}")
    roles.append(name)
    for g in grants:
        q(f"GRANT {g} TO {name}")
    return (name, pw)


def as_login(login, user, sql):
    """The error of `sql` run by the login after trying quant.set_user(user) (which may itself be
    refused to that login), or None when sql succeeded."""
    env = dict(os.environ)
    env["PGUSER"], env["PGPASSWORD"] = login
    r = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "VERBOSITY=verbose",
                        "-c", f"SELECT quant.set_user('{user}')", "-c", "\\warn ==sql==", "-c", sql],
                       capture_output=True, text=True, env=env)
    after = r.stderr.split("==sql==", 1)[-1]
    return SqlError(after) if "ERROR:" in after else None


def failures(user):
    return int(q(f"SELECT count(*) FROM trade.live_gate_failure WHERE user_id = '{user}'"))


def test_trade_password(bob, dave):
    print("# quant.set_trade_password: not for PUBLIC; nobody but the user tries the password")
    mallory = make_login(f"sec_mallory_{RUN}")
    carol = make_login(f"sec_carol_{RUN}", "quant_admin")
    # a plain login cannot set bob's first password (whether or not it may name bob)
    e = as_login(mallory, bob, "SELECT quant.set_trade_password('mallory-sets-it')")
    check("a plain login acting as bob cannot set bob's first password (42501, permission denied)",
          e is not None and e.sqlstate == "42501" and "set_trade_password" in e.text, e.text if e else "accepted")
    eq("...bob still has no trade password", "0",
       q(f"SELECT count(*) FROM trade.trade_password WHERE user_id = '{bob}'"))
    # bob sets his own
    right = f"bob-right-{RUN}"
    q(f"SELECT quant.set_trade_password({lit(right)})", bob)
    for i in range(6):
        e = as_login(mallory, bob, f"SELECT quant.set_trade_password('mallory-new-pw', 'wrong-{i}-old-pw')")
    check("six wrong old_passwords of the plain login are refused (42501)",
          e is not None and e.sqlstate == "42501" and "set_trade_password" in e.text, e.text if e else "accepted")
    eq("...and none counted against bob", 0, failures(bob))
    # an administrator may set a first password, but never tries one
    eq("an administrator sets dave's first password", dave,
       json.loads(q("SELECT quant.set_trade_password('dave-first-pw')", dave, login=carol)).get("user"))
    for i in range(6):
        e = err(f"SELECT quant.set_trade_password('carol-new-pw', 'wrong-{i}-old-pw')", bob, login=carol)
    check("an administrator acting as bob cannot try his password (42501)",
          e is not None and e.sqlstate == "42501", e.text if e else "accepted")
    eq("...no failure was counted against bob", 0, failures(bob))
    # bob is not locked out: he goes live with his password
    store_futu_trade_password(bob)
    sid = q(f"SELECT quant.create_strategy({lit(strategy('MSFT', 19))})->>'strategy_id'", bob)
    live = q(deploy_sql(sid, broker="FUTU", qty=1, paper=False, confirm_live=True, trade_password=right)
             .replace("->>'deployment_id'", "->>'status'"), bob)
    eq("bob goes live with his own password afterwards (not locked)", "active", live)
    dep = q(f"SELECT deployment_id FROM trade.deployment WHERE strategy_id = '{sid}'")
    q(f"SELECT quant.stop_deployment('{dep}')", bob)
    # ...and his own wrong attempts still count and lock (the gate works)
    for i in range(5):
        err(f"SELECT quant.set_trade_password('bob-new-pw-1', 'bob-wrong-{i}')", bob)
    eq("bob's own five wrong attempts count", 5, failures(bob))
    e = err(f"SELECT quant.set_trade_password('bob-new-pw-1', {lit(right)})", bob)
    check("...and lock the gate, even for the right password (42501 locked)",
          e is not None and e.sqlstate == "42501" and "locked" in e.text, e.text if e else "accepted")


def server_log():
    p = os.environ.get("QUANT_TEST_SERVER_LOG")
    if p and os.path.isfile(p):
        return p
    cands = []
    conf = os.environ.get("PGSYSCONFDIR")
    if conf:
        cands += glob.glob(os.path.join(os.path.dirname(conf), "log", "postgresql-*.log"))
    try:
        cur = q("SELECT pg_current_logfile()")
        if cur:
            cands.append(cur if cur.startswith("/") else os.path.join(q("SHOW data_directory"), cur))
    except SqlError:
        pass
    cands = [c for c in cands if os.path.isfile(c) and os.access(c, os.R_OK)]
    return max(cands, key=os.path.getmtime) if cands else None


def test_password_log(erin):
    print("# passwords never reach the server log: bound parameters, and the gate's refusals from psql")
    log = server_log()
    start = os.path.getsize(log) if log else 0
    right, wrong = f"Erin-Right-{RUN}", f"Erin-Wrong-{RUN}"
    lit_right, lit_wrong = f"Erin-Literal-Right-{RUN}", f"Erin-Literal-Wrong-{RUN}"
    pq = Pq()
    pq.exec("SET log_min_error_statement = warning")  # the strictest: warnings log their statement too
    eq("REST path: set_trade_password with a bound password", None,
       rest_call(pq, erin, "SELECT quant.set_trade_password($1)", right))
    eq("REST path: a wrong old_password is refused (42501)", "42501",
       rest_call(pq, erin, "SELECT quant.set_trade_password($1, $2)", "Erin-New-Pw", wrong))
    store_futu_trade_password(erin)
    sid = q(f"SELECT quant.create_strategy({lit(strategy('MSFT', 21))})->>'strategy_id'", erin)
    dep = {"strategy_id": sid, "broker": "FUTU", "qty": 1, "paper": False, "confirm_live": True,
           "schedule": "manual", "trade_password": wrong}
    eq("REST path: deploy live with a wrong password is refused (42501)", "42501",
       rest_call(pq, erin, "SELECT quant.deploy($1::jsonb)", json.dumps(dep)))
    dep["trade_password"], dep["qty"] = right, -5
    eq("REST path: deploy with the password and a bad qty is 22023", "22023",
       rest_call(pq, erin, "SELECT quant.deploy($1::jsonb)", json.dumps(dep)))
    dep["qty"] = 1
    eq("REST path: deploy live with the right password succeeds", None,
       rest_call(pq, erin, "SELECT quant.deploy($1::jsonb)", json.dumps(dep)))
    pq.close()
    # psql with literals: the gate's own refusals keep the statement out of the log
    e = err(f"SET log_min_error_statement = warning; SELECT quant.set_trade_password({lit(lit_right)}, {lit(lit_wrong)})",
            erin)
    check("psql: a wrong old_password literal is refused (42501)", e is not None and e.sqlstate == "42501",
          e.text if e else "accepted")
    dep["trade_password"], dep["qty"] = lit_wrong, 1
    e = err(f"SET log_min_error_statement = warning; SELECT quant.deploy({lit(json.dumps(dep))})", erin)
    check("psql: deploy live with a wrong literal password is refused (42501)",
          e is not None and e.sqlstate == "42501", e.text if e else "accepted")
    dep["trade_password"], dep["qty"] = lit_right, 2.5  # whole shares only on US: 22023 from the validator
    e = err(f"SET log_min_error_statement = warning; SELECT quant.deploy({lit(json.dumps(dep))})", erin)
    check("psql: deploy with a literal password and a bad qty is 22023", e is not None and e.sqlstate == "22023",
          e.text if e else "accepted")
    # the psql path without a literal (sql/README.md): the password arrives by \copy
    copy_pw = f"Erin-Copy-Wrong-{RUN}"
    r = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "VERBOSITY=verbose", "-f", "-"], text=True,
                       capture_output=True,
                       input=f"SELECT quant.set_user('{erin}');\nSET log_min_error_statement = warning;\n"
                             f"CREATE TEMP TABLE pw (p text);\n\\copy pw FROM pstdin\n{copy_pw}\n\\.\n"
                             f"SELECT quant.set_trade_password('Erin-New-Pw-1', (SELECT p FROM pw));\n")
    check("psql with \\copy: the password reaches the function (a wrong old_password: 42501)",
          "ERROR:  42501" in r.stderr, r.stderr)
    # the documented caveat: an error before any function runs logs the statement, literal and all
    caveat = f"Erin-Caveat-{RUN}"
    e = err(f"SELECT quant.set_trade_password({lit(caveat)}, 'x', 'no such argument')", erin)
    check("psql: a call that matches no function fails before it runs (42883)", e is not None and e.sqlstate == "42883",
          e.text if e else "accepted")
    if not log:
        skip("the server log holds none of the passwords", "server log not found (set QUANT_TEST_SERVER_LOG)")
        return
    time.sleep(0.5)
    with open(log, "rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    check("the server log has this test's refusals (the right log is read)",
          f"live trading refused for user {erin}" in text, f"{log}: {len(text)} new bytes")
    for pw in (right, wrong, lit_right, lit_wrong, copy_pw):
        check(f"the server log does not hold the password {pw}", pw not in text,
              [line for line in text.splitlines() if pw in line][:3])
    check("...while the caveat's statement is there (the search would see a logged password)", caveat in text,
          f"{log}: {len(text)} new bytes")


def main():
    users = {n: f"sec_{n}_{RUN}" for n in ("alice", "bob", "carl", "dave", "erin")}
    try:
        test_wrong_symbol(users["bob"])
        test_strategy_id_leak(users["alice"], users["bob"])
        test_qty_bounds(users["carl"])
        test_trade_password(users["carl"], users["dave"])
        test_password_log(users["erin"])
    except Exception as e:  # a broken step is a failure, not a crash without a summary
        check("the replay ran to the end", False, repr(e))
    finally:
        stop_workers()
        for r in roles:
            try:
                q(f"DROP ROLE IF EXISTS {r}")
            except SqlError:
                pass
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
