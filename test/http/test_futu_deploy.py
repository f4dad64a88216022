#!/usr/bin/env python3
"""quant-http: a REAL FUTU deployment needs the Futu trade password in the credential store (issue 14).

usage: test_futu_deploy.py PATH/TO/quant-http      (test/http/run.sh prepares the database)
POST /api/v1/deployments with broker FUTU, paper false (through the live gate) is refused with 422
naming broker while no FUTU real credential is stored; the detail names the credential and the
hint says how to store it (SQL and PUT /api/v1/broker_credentials); nothing is stored. A paper
FUTU deployment needs none; once PUT /api/v1/broker_credentials stored it, the same POST deploys.
Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last. Standard library only.
"""
import os
import secrets
import stat
import tempfile

import harness
from harness import Server, check, is_problem, psql

RUN = secrets.token_hex(4)
ALICE = f"http_futu_alice_{RUN}"
LIVE_PW = f"live-gate-{RUN}"
FUTU_PW = f"futu-Trade-{secrets.token_hex(8)}"
CFG = {"ticker": "MSFT", "trading_period": 252,
       "substrategies": [{"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 30}]}


def main():
    keydir = tempfile.mkdtemp(prefix="quant_http_futu_")
    os.chmod(keydir, 0o755)
    keyfile = os.path.join(keydir, "credential.key")
    with open(keyfile, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(keyfile, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    alice = psql(f"SELECT quant.create_api_key('{ALICE}', 'http futu deploy test')")
    psql(f"SELECT quant.set_user('{ALICE}'); SELECT quant.set_trade_password('{LIVE_PW}')")
    opts = (os.environ.get("PGOPTIONS", "") + f" -c quant.credential_key_file={keyfile}").strip()
    srv = Server("futu_deploy", QUANT_HTTP_RATE=5000, QUANT_HTTP_BURST=10000, PGOPTIONS=opts)
    try:
        run(srv, alice)
    finally:
        rc = srv.stop() if srv.proc.poll() is None else srv.proc.returncode
        check("the server stopped cleanly", rc == 0, rc)
    check("the Futu trade password is not in the server's log", FUTU_PW not in srv.log_text())


def run(srv, alice):
    r = srv.request("POST", "/api/v1/strategies", CFG, key=alice)
    sid = (r.json or {}).get("strategy_id")
    check("a strategy", r.status in (200, 201) and sid, r)
    live = {"strategy_id": sid, "qty": 1, "broker": "FUTU", "paper": False, "confirm_live": True,
            "trade_password": LIVE_PW, "schedule": "manual"}

    def count():
        return psql(f"SELECT count(*) FROM trade.deployment WHERE user_id = '{ALICE}'")

    r = srv.request("POST", "/api/v1/deployments", live, key=alice)
    check("REAL FUTU without a stored trade password: 422 naming broker", is_problem(r, 422, "broker"), r)
    j = r.json or {}
    check("...the detail names the missing credential (Futu trade password, FUTU real)",
          "Futu trade password" in j.get("detail", "") and "environment real" in j.get("detail", ""), j)
    check("...the hint says how to store it (SQL and REST)",
          "set_broker_credential('FUTU', 'real'" in j.get("hint", "")
          and "PUT /api/v1/broker_credentials" in j.get("hint", ""), j)
    eq_count = count()
    check("...nothing stored", eq_count == "0", eq_count)
    audit = psql(f"SELECT count(*) FROM trade.audit WHERE user_id = '{ALICE}' AND action = 'live_enabled'")
    check("...no live_enabled audit row", audit == "0", audit)

    r = srv.request("POST", "/api/v1/deployments", {"strategy_id": sid, "qty": 1, "broker": "FUTU", "schedule": "manual"},
                    key=alice)
    check("a paper FUTU deployment (SIMULATE) needs no credential", r.status in (200, 201)
          and (r.json or {}).get("paper") is True, r)
    paper_id = (r.json or {}).get("deployment_id")
    r = srv.request("PATCH", f"/api/v1/deployments/{paper_id}",
                    {"paper": False, "confirm_live": True, "trade_password": LIVE_PW}, key=alice)
    check("PATCH it to paper = false without the credential: 422 naming broker", is_problem(r, 422, "broker"), r)
    still = psql(f"SELECT paper FROM trade.deployment WHERE deployment_id = '{paper_id}'")
    check("...it stays paper", still == "t", still)

    r = srv.request("PUT", "/api/v1/broker_credentials",
                    {"broker": "FUTU", "environment": "real", "api_key": "default", "api_secret": FUTU_PW}, key=alice)
    check("PUT /api/v1/broker_credentials FUTU real (the trade password): 200, no secret in the answer",
          r.status == 200 and FUTU_PW not in r.body.decode(), r)
    r = srv.request("POST", "/api/v1/deployments", live, key=alice)
    check("then the same POST deploys REAL (paper false)", r.status in (200, 201) and (r.json or {}).get("paper") is False, r)
    check("...and no answer carried the trade password", FUTU_PW not in r.body.decode())


if __name__ == "__main__":
    harness.run_main(main)
