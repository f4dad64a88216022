#!/usr/bin/env python3
"""quant-worker acceptance tests, part 4 (issue 15): the alerts still missing after safety_test.py,
against real quant-worker processes, the paper broker and a local webhook receiver.

- the breakers on a timer: a long position, then the price falls (a new bar) and no signal
  comes; the worker's timer (QUANT_WORKER_SWEEP_MS) measures the deployment on the latest price
  and trips max_daily_loss: disabled, a trade.breaker row, an alert (kind breaker) on
  quant_alert and at the webhook; a deployment whose loss stays inside its limit is not tripped;
- a reconnect storm: the worker's connections are terminated N times within the window
  (QUANT_ALERT_RECONNECT_STORM_COUNT=3): one alert, kind reconnect_storm, on quant_alert and at
  the webhook (signed), once the database is back; fewer reconnects than N: none;
- /metrics: the worker's textfile counts each alert kind (quant_worker_alerts_total{kind} for
  its own, quant_worker_alerts_seen_total{kind} for every alert seen on quant_alert).

Run by test/worker/run.sh (PG* = a superuser on a database with quant and the TTRC bars;
$QUANT_WORKER_BIN). Last line: "N passed, N failed".
"""
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import worker_test as wt  # noqa: E402
import live_test as lt  # noqa: E402
from safety_test import Session, alerts, enabled  # noqa: E402

from worker_test import check, eq, q, start_worker, stop_worker, wait_final, wait_until  # noqa: E402

RUN = wt.RUN


class Receiver(http.server.BaseHTTPRequestHandler):
    posts = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Receiver.posts.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def posted(kind):
    out = []
    for h, b in list(Receiver.posts):
        try:
            j = json.loads(b)
        except ValueError:
            continue
        if j.get("kind") == kind:
            out.append((h, b, j))
    return out


def signed(secret, h, body):
    h = {k.lower(): v for k, v in h.items()}
    want = "sha256=" + hmac.new(secret.encode(), h.get("x-quant-timestamp", "").encode() + b"." + body,
                                hashlib.sha256).hexdigest()
    return h.get("x-quant-signature") == want


def metric(path, line):
    try:
        return line in open(path).read()
    except OSError:
        return False


def main():
    user = f"al_{RUN}"
    listener = Session()
    listener.send("LISTEN quant_alert;")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    secret = f"alert-secret-{RUN}"
    keyfile = os.path.join(wt.LOGDIR, "alerts-webhook.key")
    metrics = os.path.join(wt.LOGDIR, "alerts.prom")
    with open(keyfile, "w") as f:
        f.write(secret + "\n")
    hook = dict(QUANT_ALERT_WEBHOOK_URL=f"http://127.0.0.1:{srv.server_address[1]}/hook",
                QUANT_ALERT_WEBHOOK_SECRET_FILE=keyfile, QUANT_ALERT_WEBHOOK_BACKOFF_MS=50,
                QUANT_WORKER_METRICS_FILE=metrics)
    try:
        print("# the breakers on a timer: a price move with no signal trips max_daily_loss")
        p = start_worker("alerts-timer", QUANT_WORKER_SWEEP_MS=300, **hook)
        try:
            tk = lt.sl_ticker()
            trip = lt.deploy_on(user, tk, max_daily_loss=100, stop_loss_pct=99)
            tk2 = lt.sl_ticker()
            keep = lt.deploy_on(user, tk2, max_daily_loss=100000, stop_loss_pct=99)
            eq("long 10 (the deployment to trip)", "DONE", wait_final(wt.add_signal(trip, 1, ticker=tk)))
            eq("long 10 (the deployment inside its limit)", "DONE", wait_final(wt.add_signal(keep, 1, ticker=tk2)))
            signals_before = q(f"SELECT count(*) FROM trade.signal WHERE deployment_id IN ('{trip}', '{keep}')")
            lt.new_bar(tk, 0.5)   # ~half the position's value lost: far over 100
            lt.new_bar(tk2, 0.5)  # the same loss, far inside 100000
            got = wait_until(lambda: enabled(trip) == "f", 20)
            check("no signal, only the price moved: the timer tripped the breaker (the deployment disabled)", bool(got))
            eq("...no signal was written or needed for it", signals_before,
               q(f"SELECT count(*) FROM trade.signal WHERE deployment_id IN ('{trip}', '{keep}') AND source <> 'flatten'"))
            eq("...a trade.breaker row names max_daily_loss (scope deployment)", "max_daily_loss|deployment",
               q(f"SELECT breaker || '|' || scope FROM trade.breaker WHERE deployment_id = '{trip}'"))
            a = wait_until(lambda: [x for x in alerts(listener, "breaker") if x.get("deployment_id") == trip], 10)
            check("...an alert on quant_alert (kind breaker)", bool(a), str(a))
            w = wait_until(lambda: [x for x in posted("breaker") if x[2].get("deployment_id") == trip], 10)
            check("...and POSTed to the webhook, signed", bool(w) and signed(secret, w[0][0], w[0][1]), str(w)[:300])
            eq("the deployment inside its limit stays enabled, untripped", ["t", "0"],
               [enabled(keep), q(f"SELECT count(*) FROM trade.breaker WHERE deployment_id = '{keep}'")])
            check("the worker measured deployments on its timer (metrics)",
                  bool(wait_until(lambda: metric(metrics, "quant_worker_breaker_timer_checks_total "), 10))
                  and not metric(metrics, "quant_worker_breaker_timer_checks_total 0\n"))
            check("/metrics: quant_worker_alerts_total{kind=\"breaker\"} 1",
                  bool(wait_until(lambda: metric(metrics, 'quant_worker_alerts_total{kind="breaker"} 1'), 10)))
            check("/metrics: the breaker alert seen on quant_alert is counted by kind",
                  bool(wait_until(lambda: metric(metrics, 'quant_worker_alerts_seen_total{kind="breaker"}'), 10)))
        finally:
            stop_worker(p, "the timer's worker exits 0 on SIGTERM")

        print("# a reconnect storm: N reconnects within the window -> one alert")
        p = start_worker("alerts-storm", QUANT_ALERT_RECONNECT_STORM_COUNT=3,
                         QUANT_ALERT_RECONNECT_STORM_WINDOW_S=120, **hook)
        name = f"alerts-storm-{RUN}"

        def connected():
            return open(p.logname).read().count('"connected"')

        def kick():
            n = connected()
            q("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
              "WHERE application_name LIKE 'quant-worker%' AND pid <> pg_backend_pid()")
            return wait_until(lambda: connected() > n, 20)

        try:
            check("the worker connected", bool(wait_until(lambda: connected() >= 1, 20)))
            check("two reconnects (terminated backends)", bool(kick()) and bool(kick()))
            check("...below the count of 3: no reconnect_storm alert",
                  not [x for x in alerts(listener, "reconnect_storm") if x.get("worker_id") == name])
            check("a third reconnect", bool(kick()))
            a = wait_until(lambda: [x for x in alerts(listener, "reconnect_storm") if x.get("worker_id") == name], 15)
            check("...one alert on quant_alert, kind reconnect_storm, with the count and the window",
                  len(a) == 1 and a[0].get("reconnects") == 3 and a[0].get("window_s") == 120, str(a))
            w = wait_until(lambda: [x for x in posted("reconnect_storm") if x[2].get("worker_id") == name], 15)
            check("...POSTed to the webhook, signed", bool(w) and signed(secret, w[0][0], w[0][1]), str(w)[:300])
            check("/metrics: quant_worker_alerts_total{kind=\"reconnect_storm\"} 1",
                  bool(wait_until(lambda: metric(metrics, 'quant_worker_alerts_total{kind="reconnect_storm"} 1'), 15)))
            check("/metrics: seen on quant_alert by kind",
                  bool(wait_until(lambda: metric(metrics, 'quant_worker_alerts_seen_total{kind="reconnect_storm"}'), 15)))
            check("the worker logged reconnect_storm", "reconnect_storm" in open(p.logname).read())
            check("one more reconnect: the count starts again, no second alert", bool(kick()))
            eq("...still one reconnect_storm alert", 1,
               len([x for x in alerts(listener, "reconnect_storm") if x.get("worker_id") == name]))
            s = wt.add_signal(lt.deploy_on(user, lt.sl_ticker()), 1)
            eq("after the storm the worker still trades", "DONE", wait_final(s))
        finally:
            stop_worker(p, "the storm's worker exits 0 on SIGTERM")
    except Exception as e:  # a harness failure is a failed test, with the worker logs kept
        check("the test harness ran to the end", False, repr(e))
    finally:
        for w in wt.workers:
            if w.poll() is None:
                w.kill()
                w.wait()
        listener.close()
        srv.shutdown()
        q(f"UPDATE trade.deployment SET enabled = false, stopped_at = now() WHERE user_id LIKE '{user}%' "
          f"AND stopped_at IS NULL")
    if wt.T.failed:
        print(f"# worker logs: {wt.LOGDIR}")
    return wt.T.summary()


if __name__ == "__main__":
    sys.exit(main())
