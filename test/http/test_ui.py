#!/usr/bin/env python3
"""quant-http: the web UI's own routes (issue 13, sql/TRADE/ui.sql).

usage: test_ui.py PATH/TO/quant-http      (test/http/run.sh prepares the database)
- GET /api/v1/dashboard: one row per deployment with last_signal, last_trade, trades_today,
  max_daily_trades and the P&L; each value against the tables, queried independently.
- /api/v1/admin/users (list, create, reset_password, unlock): an administrator person only;
  anyone else 403 problem+json; bad fields 422 naming the field; an unknown login 404; the
  passwords sent are in no answer and not in the server's log.
- POST /api/v1/strategies/{id}/clone: a new strategy with the same parameters (201), another
  user's is 404.
Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last. Standard library only.
"""
import secrets

import harness
from harness import Server, check, is_problem, psql

RUN = secrets.token_hex(4)
ADMIN, JOE, NEW = f"http_ui_admin_{RUN}", f"http_ui_joe_{RUN}", f"http_ui_new_{RUN}"
PW_NEW = f"new-pw-{secrets.token_hex(8)}"
PW_RESET = f"reset-pw-{secrets.token_hex(8)}"
CONFIG = ('{"name":"http ui","ticker":"TTRC","trading_period":252,"substrategies":'
          '[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')


def main():
    psql(f"SELECT quant.set_person_password('{ADMIN}', 'admin-pw-1234')")
    psql(f"SELECT quant.set_person_admin('{ADMIN}', true)")
    psql(f"SELECT quant.set_person_password('{JOE}', 'joe-pw-12345')")
    admin = psql(f"SELECT quant.create_api_key('{ADMIN}', 'http ui test')")
    joe = psql(f"SELECT quant.create_api_key('{JOE}', 'http ui test')")
    sid = psql(f"SELECT quant.set_user('{JOE}'); SELECT quant.create_strategy('{CONFIG}')->>'strategy_id'").split("\n")[-1]
    did = psql(f"SELECT quant.set_user('{JOE}'); "
               f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}'::uuid, 'qty', 7))->>'deployment_id'"
               ).split("\n")[-1]
    # a booked position and orders today, written as the worker would have (the tables directly)
    psql(f"INSERT INTO trade.position (deployment_id, user_id, symbol, qty, avg_price, realized_pnl) "
         f"VALUES ('{did}', '{JOE}', 'TTRC', 7, 40.5, 12.25)")
    srv = Server("ui", QUANT_HTTP_RATE=5000, QUANT_HTTP_BURST=10000)
    answers = []
    try:
        run(srv, admin, joe, sid, did, answers)
    finally:
        rc = srv.stop() if srv.proc.poll() is None else srv.proc.returncode
        check("the server stopped cleanly", rc == 0, rc)
    log = srv.log_text()
    every = b"".join(a.body for a in answers).decode(errors="replace")
    for name, pw in (("created", PW_NEW), ("reset", PW_RESET)):
        check(f"the {name} password is in no answer", pw not in every)
        check(f"the {name} password is not in the server's log", pw not in log and "/api/v1/admin/users" in log)


def run(srv, admin, joe, sid, did, answers):
    def req(method, path, body=None, key=None):
        r = srv.request(method, path, body=body, key=key)
        answers.append(r)
        return r

    # ---- the dashboard ----
    r = req("GET", "/api/v1/dashboard", key=joe)
    rows = r.json if r.status == 200 else []
    check("dashboard: 200, one row (joe's deployment)", r.status == 200 and [x["deployment_id"] for x in rows] == [did], r)
    row = rows[0] if rows else {}
    price = float(psql("SELECT paper.price_of('TTRC')"))
    check("dashboard: the position and realised P&L are the booked ones",
          row.get("position_qty") == 7 and row.get("realized_pnl") == 12.25 and row.get("avg_price") == 40.5, row)
    want_u = (price - 40.5) * 7
    check("dashboard: unrealised = (paper price - avg) x qty, pnl = realised + unrealised",
          abs(row.get("unrealized_pnl", 1e9) - want_u) < 1e-6 and abs(row.get("pnl", 1e9) - (12.25 + want_u)) < 1e-6,
          (row.get("unrealized_pnl"), want_u))
    check("dashboard: trades today against the limit (0 of the default 10)",
          row.get("trades_today") == 0 and row.get("max_daily_trades") == 10, row)
    psql(f"SELECT quant.set_user('{JOE}'); SELECT quant.run_deployment('{did}')")
    r = req("GET", "/api/v1/dashboard", key=joe)
    row = r.json[0] if r.status == 200 and r.json else {}
    want_log = psql(f"SELECT log_id FROM trade.log WHERE deployment_id = '{did}' ORDER BY ts DESC, log_id DESC LIMIT 1")
    want_sig = psql(f"SELECT coalesce(signal_id::text, '') FROM trade.signal WHERE deployment_id = '{did}' "
                    "ORDER BY bar_ts DESC, created_at DESC LIMIT 1")
    check("dashboard: last_trade is the newest trade.log row", (row.get("last_trade") or {}).get("log_id") == want_log,
          (row.get("last_trade"), want_log))
    check("dashboard: last_signal is the newest signal (or null)",
          ((row.get("last_signal") or {}).get("signal_id") or "") == want_sig, (row.get("last_signal"), want_sig))
    r = req("GET", "/api/v1/dashboard", key=admin)
    check("dashboard: another user sees none of joe's", r.status == 200 and r.json == [], r)

    # ---- logins, by an administrator ----
    r = req("GET", "/api/v1/admin/me", key=joe)
    check("admin/me: joe is no administrator (200, not 403)", r.status == 200 and r.json == {"user": JOE, "admin": False}, r)
    r = req("GET", "/api/v1/admin/me", key=admin)
    check("admin/me: the administrator is one", r.status == 200 and r.json == {"user": ADMIN, "admin": True}, r)
    r = req("GET", "/api/v1/admin/users", key=joe)
    check("admin: a user who is not an administrator gets 403 problem+json", is_problem(r, 403), r)
    r = req("POST", "/api/v1/admin/users", {"user_id": NEW, "password": PW_NEW}, key=joe)
    check("admin: create by a non-administrator is 403 and creates nothing",
          is_problem(r, 403) and psql(f"SELECT count(*) FROM trade.person WHERE user_id = '{NEW}'") == "0", r)
    r = req("POST", "/api/v1/admin/users", {"user_id": NEW, "password": "short"}, key=admin)
    check("admin: a short password is 422 naming password", is_problem(r, 422, "password"), r)
    r = req("POST", "/api/v1/admin/users", {"user_id": "bad name!", "password": PW_NEW}, key=admin)
    check("admin: a bad user name is 422 naming user_id", is_problem(r, 422, "user_id"), r)
    r = req("POST", "/api/v1/admin/users", {"user_id": NEW, "password": PW_NEW}, key=admin)
    check("admin: create is 201 with the login (never a hash)",
          r.status == 201 and r.json.get("user") == NEW and r.json.get("admin") is False and "password_hash" not in r.json, r)
    r = req("POST", "/api/v1/admin/users", {"user_id": NEW, "password": PW_NEW}, key=admin)
    check("admin: creating it again is 409", is_problem(r, 409, "user_id"), r)
    login = srv.request("POST", "/api/v1/session", {"user": NEW, "password": PW_NEW})
    check("admin: the new login logs in", login.status == 200, login)
    for _ in range(5):
        srv.request("POST", "/api/v1/session", {"user": NEW, "password": "wrong-password"})
    locked = srv.request("POST", "/api/v1/session", {"user": NEW, "password": PW_NEW})
    check("admin: 5 wrong passwords lock it", locked.status == 429, locked)
    r = req("GET", "/api/v1/admin/users", key=admin)
    mine = [u for u in (r.json or []) if u.get("user") == NEW]
    check("admin: the list shows it locked with 5 failures",
          r.status == 200 and len(mine) == 1 and mine[0]["failures"] == 5 and mine[0]["locked_until"] is not None, mine)
    r = req("POST", "/api/v1/admin/users/unlock", {"user_id": NEW}, key=joe)
    check("admin: unlock by a non-administrator is 403", is_problem(r, 403), r)
    r = req("POST", "/api/v1/admin/users/unlock", {"user_id": NEW}, key=admin)
    check("admin: unlock is 200, failures 0", r.status == 200 and r.json["failures"] == 0 and r.json["locked_until"] is None, r)
    login = srv.request("POST", "/api/v1/session", {"user": NEW, "password": PW_NEW})
    check("admin: after unlock the same password logs in", login.status == 200, login)
    r = req("POST", "/api/v1/admin/users/reset_password", {"user_id": NEW, "password": PW_RESET}, key=joe)
    check("admin: reset by a non-administrator is 403", is_problem(r, 403), r)
    r = req("POST", "/api/v1/admin/users/reset_password", {"user_id": NEW, "password": PW_RESET}, key=admin)
    check("admin: reset is 200", r.status == 200 and r.json["user"] == NEW, r)
    check("admin: the reset ended the login's sessions",
          psql(f"SELECT count(*) FROM trade.session WHERE user_id = '{NEW}' AND revoked_at IS NULL") == "0")
    old = srv.request("POST", "/api/v1/session", {"user": NEW, "password": PW_NEW})
    new = srv.request("POST", "/api/v1/session", {"user": NEW, "password": PW_RESET})
    check("admin: the old password no longer works, the new one does", old.status == 401 and new.status == 200, (old, new))
    r = req("POST", "/api/v1/admin/users/unlock", {"user_id": f"nobody_{RUN}"}, key=admin)
    check("admin: an unknown login is 404", is_problem(r, 404), r)
    r = req("POST", "/api/v1/admin/users/reset_password", {"user_id": NEW}, key=admin)
    check("admin: a missing password is 422 naming it", is_problem(r, 422, "password"), r)

    # ---- clone ----
    r = req("POST", f"/api/v1/strategies/{sid}/clone", {"name": "http ui clone"}, key=joe)
    check("clone: 201, a new id, the name given, version 1",
          r.status == 201 and r.json["strategy_id"] != sid and r.json["name"] == "http ui clone" and r.json["version"] == 1, r)
    if r.status == 201:
        same = psql(f"SELECT (SELECT params_hash FROM bt.strategy_version WHERE strategy_id = '{sid}') = "
                    f"(SELECT params_hash FROM bt.strategy_version WHERE strategy_id = '{r.json['strategy_id']}')")
        check("clone: the same parameters (params_hash)", same == "t", same)
    r = req("POST", f"/api/v1/strategies/{sid}/clone", {}, key=joe)
    check("clone: without a name it is \"<name> (copy)\"", r.status == 201 and r.json["name"] == "http ui (copy)", r)
    r = req("POST", f"/api/v1/strategies/{sid}/clone", {}, key=admin)
    check("clone: another user's strategy is 404", is_problem(r, 404), r)

    # ---- the document ----
    doc = srv.request("GET", "/api/v1/openapi.json").json
    p = doc["paths"]
    check("openapi: the dashboard, admin and clone operations",
          "get" in p.get("/api/v1/dashboard", {}) and "post" in p.get("/api/v1/admin/users", {})
          and "post" in p.get("/api/v1/admin/users/unlock", {}) and "post" in p.get("/api/v1/strategies/{id}/clone", {})
          and "403" in p["/api/v1/admin/users"]["get"]["responses"], sorted(p)[:5])


if __name__ == "__main__":
    harness.run_main(main)
