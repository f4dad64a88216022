#!/usr/bin/env python3
"""quant-worker acceptance tests, part 3 (issue 15): the kill switches and the loss and drawdown
breakers, end to end against real quant-worker processes and the paper broker.

- enabled = false stops entries, exits still run; flatten really closes; disable all; the
  administrators' halt stops exits too;
- an order already claimed, its intent committed, but not yet sent: a halt or a disable that
  commits while the worker waits at the gate (trade.worker_send_gate) refuses it, and so does
  the gate after a crash between the intent and the send (reconciliation);
- each breaker trips once and does not once (max_daily_loss, max_daily_loss_pct, max_drawdown,
  max_consecutive_losses per deployment; max_open_exposure, max_daily_loss per account), with
  the REJECTED row naming it, the audit row, the NOTIFY on quant_alert, the optional flatten,
  and the reset by a person;
- the webhook: alerts POSTed as JSON with an HMAC-SHA-256 signature, retried with back-off,
  against a local receiver that fails the first attempts.

Run by test/worker/run.sh (PG* = a superuser on a database with quant and the TTRC bars;
$QUANT_WORKER_BIN). Reuses worker_test.py's and live_test.py's helpers. Last line:
"N passed, N failed".
"""
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import worker_test as wt  # noqa: E402
import live_test as lt  # noqa: E402

from worker_test import check, eq, q, qrows, start_worker, stop_worker, wait_final, wait_until  # noqa: E402

RUN = wt.RUN


def orders(sig):
    return qrows(f"SELECT leg, side, status, (sent_at IS NULL)::text FROM trade.\"order\" "
                 f"WHERE signal_id = '{sig}' ORDER BY created_at")


def paper_orders(dep):
    return int(q(f"SELECT count(*) FROM paper.\"order\" WHERE account = '{dep}'"))


def enabled(dep):
    return q(f"SELECT enabled FROM trade.deployment WHERE deployment_id = '{dep}'")


def log_reasons(dep):
    return [r[0] for r in qrows(f"SELECT coalesce(reason, action) FROM trade.log WHERE deployment_id = '{dep}' "
                                f"ORDER BY ts, log_id")]


class Session:
    """A psql session kept open (a transaction held across steps, or LISTEN)."""

    def __init__(self):
        self.p = subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=0"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def send(self, sql):
        self.p.stdin.write(sql + "\n")
        self.p.stdin.flush()

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()


def alerts(session, kind):
    """The quant_alert payloads of `kind` the LISTENing session has received so far."""
    session.send("SELECT 1;")  # psql prints notifications after a command; the caller polls
    out = []
    for line in list(session.lines):
        if 'notification "quant_alert" with payload "' in line:
            payload = line.split('with payload "', 1)[1].rsplit('" received', 1)[0]
            try:
                j = json.loads(payload)
            except ValueError:
                continue
            if j.get("kind") == kind:
                out.append(j)
    return out


# ---------------------------------------------------------------------------------------------
def test_kill_switch(user):
    print("# enabled = false: no new entries, exits still run")
    dep = wt.deploy(user)
    s = wt.add_signal(dep, 1)
    eq("long 10", ["DONE", (10.0, 10.0, 10.0)], [wait_final(s), wt.positions(dep)])
    q(f"SELECT quant.update_deployment('{dep}', '{{\"enabled\": false}}')", user)
    s = wt.add_signal(dep, -1)
    eq("disabled, signal -1: DONE (the exit ran)", "DONE", wait_final(s))
    eq("...the close leg FILLED; the opening leg never made an order", [["close", "SELL", "FILLED", "false"]],
       orders(s))
    eq("...its REJECTED row says kill_switch", "REJECTED|kill_switch", "|".join(wt.last_log(s)[:2]))
    eq("...flat, the broker agrees", (0.0, 0.0, 0.0), wt.positions(dep))
    s = wt.add_signal(dep, 1)
    eq("disabled, an entry from flat: REJECTED kill_switch, no order", ["REJECTED", "kill_switch", []],
       [wait_final(s), wt.last_log(s)[1], orders(s)])

    print("# flatten: disables, then closes through the checked path")
    dep = wt.deploy(user)
    s = wt.add_signal(dep, -1)
    eq("short 10", ["DONE", (-10.0, -10.0, -10.0)], [wait_final(s), wt.positions(dep)])
    fl = json.loads(q(f"SELECT quant.flatten_deployment('{dep}')", user))
    eq("flatten: the deployment is disabled at once", ["disabled", "f"], [fl.get("status"), enabled(dep)])
    fs = fl.get("flatten_signal_id") or "00000000-0000-0000-0000-000000000000"
    eq("the flatten signal is DONE", "DONE", wait_final(fs))
    eq("...one reduce-only BUY 10, FILLED", [["close", "BUY", "10", "t", "FILLED"]],
       qrows(f"SELECT leg, side, qty::float8, reduce_only, status FROM trade.\"order\" WHERE signal_id = '{fs}'"))
    eq("...flat: books, broker and fills agree", (0.0, 0.0, 0.0), wt.positions(dep))
    eq("...audited (action flatten)", "1",
       q(f"SELECT count(*) FROM trade.audit WHERE entity_id = '{dep}' AND action = 'flatten'"))
    s = wt.add_signal(dep, 1)
    eq("after the flatten no new entry: REJECTED kill_switch", ["REJECTED", "kill_switch"],
       [wait_final(s), wt.last_log(s)[1]])

    print("# disable all (the user's kill switch)")
    deps = [wt.deploy(user) for _ in range(2)]
    for d in deps:
        eq("long before disable all", "DONE", wait_final(wt.add_signal(d, 1)))
    r = json.loads(q("SELECT quant.disable_all_deployments()", user))
    check("disable_all named both", set(deps) <= set(r.get("deployment_ids", [])), str(r))
    for d in deps:
        s = wt.add_signal(d, -1)
        eq("disabled by disable_all: the flip's exit runs, its entry does not", ["DONE", (0.0, 0.0, 0.0), "kill_switch"],
           [wait_final(s), wt.positions(d), wt.last_log(s)[1]])

    print("# the administrators' halt: no order at all, exits included")
    dep = wt.deploy(user)
    eq("long 10", "DONE", wait_final(wt.add_signal(dep, 1)))
    q("SELECT quant.halt_trading('safety test')")
    s = wt.add_signal(dep, 0)
    eq("halted: even the exit is REJECTED (halted), no order", ["REJECTED", "halted", []],
       [wait_final(s), wt.last_log(s)[1], orders(s)])
    eq("...still long, the broker agrees", (10.0, 10.0, 10.0), wt.positions(dep))
    q("SELECT quant.resume_trading()")
    s = wt.add_signal(dep, 0)
    eq("resumed: the exit runs", ["DONE", (0.0, 0.0, 0.0)], [wait_final(s), wt.positions(dep)])


def test_claimed_not_sent(user):
    print("# an order claimed, its intent committed, not yet sent: the gate right before the send")
    p = start_worker("gate", QUANT_WORKER_LOCK_TIMEOUT_MS=60000)
    try:
        for what, hold, code in (
                ("halt", "UPDATE trade.trading_halt SET halted = true, reason = 'gate test';", "halted"),
                ("disable", None, "kill_switch")):
            dep = wt.deploy(user)
            sess = Session()
            sess.send("BEGIN;")
            # a switch in progress: its row lock is held, its change not yet committed
            sess.send(hold or f"UPDATE trade.deployment SET enabled = false WHERE deployment_id = '{dep}';")
            held = wait_until(lambda: q("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                                        "AND backend_type = 'client backend'") != "0", 20)
            check(f"{what}: the switch's transaction holds its row", bool(held))
            s = wt.add_signal(dep, 1)
            # the worker claims it, passes the checks (the switch is not committed), commits the
            # intent and waits at the gate for the switch's row lock
            got = wait_until(lambda: q(f"SELECT count(*) FROM trade.\"order\" WHERE signal_id = '{s}'") == "1", 20)
            check(f"{what}: the intent was committed before the switch", bool(got))
            waiting = wait_until(lambda: q(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'quant-worker' "
                "AND wait_event_type = 'Lock'") != "0", 20)
            check(f"{what}: the worker waits at the gate for the switch", bool(waiting))
            eq(f"{what}: not sent while it waits", 0, paper_orders(dep))
            sess.send("COMMIT;")
            eq(f"{what}: after the switch commits the signal is REJECTED", "REJECTED", wait_final(s))
            eq(f"{what}: the order is REJECTED and was never sent", [["open", "BUY", "REJECTED", "true"]], orders(s))
            eq(f"{what}: nothing at the paper broker", 0, paper_orders(dep))
            eq(f"{what}: the REJECTED row says {code}", code, wt.last_log(s)[1])
            sess.close()
            q("SELECT quant.resume_trading()")
    finally:
        stop_worker(p)

    print("# a crash between the intent and the send, the switch, then the restart (reconciliation)")
    for what, switch, code in (("disable", "kill_switch", "kill_switch"), ("halt", "halt", "halted")):
        dep = wt.deploy(user)
        p = start_worker(f"gate-crash-{what}", QUANT_WORKER_CRASH_AT="after_intent")
        s = wt.add_signal(dep, 1)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        eq(f"{what}: the worker died after the intent", -9, p.returncode)
        if switch == "halt":
            q("SELECT quant.halt_trading('crash test')")
        else:
            q(f"SELECT quant.update_deployment('{dep}', '{{\"enabled\": false}}')", user)
        p = start_worker(f"gate-crash-{what}")
        eq(f"{what}: after the restart the signal is REJECTED", "REJECTED", wait_final(s))
        stop_worker(p)
        eq(f"{what}: its intent REJECTED, never sent; nothing at the broker", [[["open", "BUY", "REJECTED", "true"]], 0],
           [orders(s), paper_orders(dep)])
        check(f"{what}: the row says {code}", code in log_reasons(dep), str(log_reasons(dep)))
        q("SELECT quant.resume_trading()")


def test_breakers(user, listener):
    print("# breakers: each trips once and does not once")
    dep = wt.q(f"SELECT quant.deploy(jsonb_build_object('strategy_id', quant.create_strategy('{wt.STRATEGY}')->>'strategy_id',"
                f" 'qty', 10, 'schedule', 'manual'))->>'deployment_id'", user)  # default stale-bar check: TTRC ends in 2006
    run = json.loads(q(f"SELECT quant.run_deployment('{dep}')", user))
    eq("a stale bar: run_deployment REJECTED stale_bars", ["REJECTED", "stale_bars"], [run.get("outcome"), run.get("reason")])
    got = wait_until(lambda: [a for a in alerts(listener, "stale_data") if a.get("deployment_id") == dep], 10)
    check("...and an alert on quant_alert (kind stale_data)", bool(got), str(got))
    p = start_worker("breakers")
    try:
        # max_daily_loss: long 10 (~52 each), the price halves: ~260 lost today
        for limit, trips in ((100, True), (1000, False)):
            tk = lt.sl_ticker()
            dep = lt.deploy_on(user, tk, max_daily_loss=limit, stop_loss_pct=99)
            eq(f"max_daily_loss {limit}: long", "DONE", wait_final(wt.add_signal(dep, 1, ticker=tk)))
            lt.new_bar(tk, 0.5)
            s = wt.add_signal(dep, -1, ticker=tk)  # an exit and an entry
            st = wait_final(s)
            if trips:
                eq(f"max_daily_loss {limit}: tripped: the exit ran, the entry was refused (breaker)",
                   ["DONE", (0.0, 0.0, 0.0), "breaker"], [st, wt.positions(dep), wt.last_log(s)[1]])
                check("...a REJECTED row names the breaker", "max_daily_loss" in log_reasons(dep), str(log_reasons(dep)))
                eq("...the deployment is disabled", "f", enabled(dep))
                eq("...an audit row (action breaker)", "1",
                   q(f"SELECT count(*) FROM trade.audit WHERE entity_id = '{dep}' AND action = 'breaker'"))
                got = wait_until(lambda: [a for a in alerts(listener, "breaker") if a.get("deployment_id") == dep], 10)
                check("...an alert on quant_alert (kind breaker, the breaker named)",
                      bool(got) and got[0].get("breaker") == "max_daily_loss", str(got))
                b = json.loads(q("SELECT j FROM quant.list_breakers() j WHERE j->>'deployment_id' = "
                                 f"'{dep}'", user) or "{}")
                eq("...listed open", [True, "max_daily_loss"], [b.get("open"), b.get("breaker")])
                # reset by a person: still disabled until enabled; then entries run again
                q(f"SELECT quant.reset_breaker('{b.get('breaker_id')}')", user)
                s = wt.add_signal(dep, 1, ticker=tk)
                eq("...reset, not yet enabled: REJECTED kill_switch", ["REJECTED", "kill_switch"],
                   [wait_final(s), wt.last_log(s)[1]])
                q(f"SELECT quant.update_deployment('{dep}', '{{\"enabled\": true}}')", user)
                s = wt.add_signal(dep, 1, ticker=tk)
                eq("...reset and enabled: the entry runs (losses count from the reset)", ["DONE", (10.0, 10.0, 10.0)],
                   [wait_final(s), wt.positions(dep)])
            else:
                eq(f"max_daily_loss {limit}: not tripped: flipped short", ["DONE", (-10.0, -10.0, -10.0), "t"],
                   [st, wt.positions(dep), enabled(dep)])

        # max_daily_loss_pct (of max_position_usd 1000 + P&L at the day's start), with flatten_on_breach
        for pct, trips in ((10, True), (50, False)):
            tk = lt.sl_ticker()
            dep = lt.deploy_on(user, tk, max_position_usd=1000, max_daily_loss_pct=pct, flatten_on_breach=True,
                               stop_loss_pct=99)
            eq(f"max_daily_loss_pct {pct}: long", "DONE", wait_final(wt.add_signal(dep, 1, ticker=tk)))
            lt.new_bar(tk, 0.8)  # ~104 lost: ~10.4 % of 1000
            s = wt.add_signal(dep, 1, ticker=tk)  # a HOLD, but the breakers are measured first
            wait_final(s)
            if trips:
                eq(f"max_daily_loss_pct {pct}: tripped and disabled", "f", enabled(dep))
                fs = q(f"SELECT signal_id FROM trade.signal WHERE deployment_id = '{dep}' AND source = 'flatten'")
                eq("...flatten_on_breach: a flatten signal, DONE, flat", ["DONE", (0.0, 0.0, 0.0)],
                   [wait_final(fs) if fs else "", wt.positions(dep)])
            else:
                eq(f"max_daily_loss_pct {pct}: not tripped, still long", ["t", (10.0, 10.0, 10.0)],
                   [enabled(dep), wt.positions(dep)])

        # max_drawdown: up, then down from the peak (a realised gain, then a loss)
        for limit, trips in ((20, True), (500, False)):
            tk = lt.sl_ticker()
            dep = lt.deploy_on(user, tk, max_drawdown=limit, stop_loss_pct=99)
            eq(f"max_drawdown {limit}: long", "DONE", wait_final(wt.add_signal(dep, 1, ticker=tk)))
            lt.new_bar(tk, 1.2)
            eq(f"max_drawdown {limit}: sold higher", "DONE", wait_final(wt.add_signal(dep, 0, ticker=tk)))
            eq(f"max_drawdown {limit}: long again", "DONE", wait_final(wt.add_signal(dep, 1, ticker=tk)))
            lt.new_bar(tk, 0.9)  # ~-62 from the peak
            s = wt.add_signal(dep, 1, ticker=tk)
            wait_final(s)
            eq(f"max_drawdown {limit}: {'tripped' if trips else 'not tripped'}", "f" if trips else "t", enabled(dep))
            if trips:
                check("...named max_drawdown", "max_drawdown" in log_reasons(dep), str(log_reasons(dep)))

        # max_consecutive_losses 2: two losing round trips
        for limit, trips in ((2, True), (3, False)):
            tk = lt.sl_ticker()
            dep = lt.deploy_on(user, tk, max_consecutive_losses=limit, stop_loss_pct=99)
            for k in range(2):
                eq(f"max_consecutive_losses {limit}: long ({k + 1})", "DONE", wait_final(wt.add_signal(dep, 1, ticker=tk)))
                lt.new_bar(tk, 0.95)
                eq(f"max_consecutive_losses {limit}: sold lower ({k + 1})", "DONE",
                   wait_final(wt.add_signal(dep, 0, ticker=tk)))
            s = wt.add_signal(dep, 1, ticker=tk)
            st = wait_final(s)
            if trips:
                eq(f"max_consecutive_losses {limit}: tripped after the 2nd losing fill; the entry refused",
                   ["REJECTED", "f", 0.0], [st, enabled(dep), wt.positions(dep)[0]])
                check("...named max_consecutive_losses", "max_consecutive_losses" in log_reasons(dep),
                      str(log_reasons(dep)))
            else:
                eq(f"max_consecutive_losses {limit}: not tripped; the entry runs", ["DONE", "t", 10.0],
                   [st, enabled(dep), wt.positions(dep)[0]])

        # account: max_open_exposure across the user's deployments
        for limit, trips in ((700, True), (5000, False)):
            acct = f"{user}_acct{limit}"
            q(f"SELECT quant.set_account_limits('{{\"max_open_exposure\": {limit}}}')", acct)
            a = wt.deploy(acct)
            b = wt.deploy(acct)
            eq(f"account exposure {limit}: A long (~520)", "DONE", wait_final(wt.add_signal(a, 1)))
            eq(f"account exposure {limit}: B long (~1040 in all)", "DONE", wait_final(wt.add_signal(b, 1)))
            s = wt.add_signal(a, 1)
            wait_final(s)
            if trips:
                eq(f"account exposure {limit}: tripped: both deployments disabled", ["f", "f"], [enabled(a), enabled(b)])
                eq("...one account breaker", "account|max_open_exposure",
                   q("SELECT scope || '|' || breaker FROM trade.breaker WHERE user_id = "
                     f"'{acct}' AND reset_at IS NULL"))
                s = wt.add_signal(b, -1)
                eq("...B's flip: the exit runs, the entry is refused (breaker)", ["DONE", 0.0, "breaker"],
                   [wait_final(s), wt.positions(b)[0], wt.last_log(s)[1]])
            else:
                eq(f"account exposure {limit}: not tripped", ["t", "t"], [enabled(a), enabled(b)])
    finally:
        stop_worker(p, "the breakers' worker exits 0 on SIGTERM")


# ---------------------------------------------------------------------------------------------
class Receiver(http.server.BaseHTTPRequestHandler):
    """A local webhook receiver: answers 503 to the first `fail_first` POSTs, then 200."""
    fail_first = 2
    posts = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Receiver.posts.append((dict(self.headers), body))
        code = 503 if len(Receiver.posts) <= Receiver.fail_first else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook(user):
    print("# the webhook: alerts POSTed as JSON, HMAC-signed, retried with back-off")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    secret = f"hook-secret-{RUN}"
    keyfile = os.path.join(wt.LOGDIR, "webhook.key")
    metrics = os.path.join(wt.LOGDIR, "worker.prom")
    with open(keyfile, "w") as f:
        f.write(secret + "\n")
    p = start_worker("webhook", QUANT_ALERT_WEBHOOK_URL=f"http://127.0.0.1:{srv.server_address[1]}/hook",
                     QUANT_ALERT_WEBHOOK_SECRET_FILE=keyfile, QUANT_ALERT_WEBHOOK_BACKOFF_MS=50,
                     QUANT_WORKER_METRICS_FILE=metrics)
    try:
        wait_until(lambda: "webhook_ready" in open(p.logname).read() or "alerts_listening" in open(p.logname).read(), 10)
        q("SELECT quant.halt_trading('webhook test')")
        q("SELECT quant.resume_trading()")
        got = wait_until(lambda: len([x for x in Receiver.posts if b'"halt"' in x[1]]) >= 4, 20)
        check("the receiver got the halt and the resume after two refused attempts (3 + 1 POSTs)", bool(got),
              str(len(Receiver.posts)))
        ok = 0
        for headers, body in Receiver.posts:
            h = {k.lower(): v for k, v in headers.items()}
            ts = h.get("x-quant-timestamp", "")
            want = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            ok += int(h.get("x-quant-signature") == want and h.get("content-type", "").startswith("application/json"))
        eq("every POST is JSON with a valid X-Quant-Signature over timestamp.body", len(Receiver.posts), ok)
        kinds = [json.loads(b).get("halted") for _, b in Receiver.posts]
        eq("the same alert was retried (halted true x3), then the resume (false)", [True, True, True, False], kinds[:4])

        def sent():
            try:
                return 'quant_worker_webhook_posts_total{result="sent"} 2' in open(metrics).read()
            except OSError:
                return False
        check("the metrics textfile counts 2 alerts sent", bool(wait_until(sent, 10)))
    finally:
        stop_worker(p, "the webhook's worker exits 0 on SIGTERM")
        srv.shutdown()
    log = open(p.logname).read()
    check("the worker logged the retries", "webhook_retry" in log)


def main():
    user = f"st_{RUN}"
    listener = Session()
    listener.send("LISTEN quant_alert;")
    main_worker = start_worker("safety-main")
    try:
        test_kill_switch(user)
        stop_worker(main_worker, "the main worker exits 0 on SIGTERM")
        test_claimed_not_sent(user)
        test_breakers(user, listener)
        test_webhook(user)
    except Exception as e:  # a harness failure is a failed test, with the worker logs kept
        check("the test harness ran to the end", False, repr(e))
    finally:
        for p in wt.workers:
            if p.poll() is None:
                p.kill()
                p.wait()
        listener.close()
        q("SELECT quant.resume_trading()")
        q(f"UPDATE trade.deployment SET enabled = false, stopped_at = now() WHERE user_id LIKE '{user}%' "
          f"AND stopped_at IS NULL")
    if wt.T.failed:
        print(f"# worker logs: {wt.LOGDIR}")
        for name in sorted(os.listdir(wt.LOGDIR)):
            if not name.endswith(".log"):
                continue
            lines = open(os.path.join(wt.LOGDIR, name)).read().splitlines()
            errs = [x for x in lines if '"level":"error"' in x or '"level":"warn"' in x][-5:]
            for x in errs:
                print(f"# {name}: {x}")
    return wt.T.summary()


if __name__ == "__main__":
    sys.exit(main())
