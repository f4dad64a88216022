#!/usr/bin/env python3
"""quant-http end to end: the real binary against a real PostgreSQL (PG* environment).

usage: test_api.py PATH/TO/quant-http      (test/http/run.sh prepares the database)
Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last.
Standard library only.
"""
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time

import harness
from harness import Server, check, free_port, is_problem, psql

RUN = secrets.token_hex(4)
ALICE, BOB, CAROL = f"http_alice_{RUN}", f"http_bob_{RUN}", f"http_carol_{RUN}"


# ---- a tiny JSON Schema validator: the subset the OpenAPI document uses ----
def validate(value, schema, doc, path="$"):
    """Errors (a list of strings) of value against schema: $ref, type (string or list), enum,
    required, properties, additionalProperties (false), items, format uuid."""
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return validate(value, doc["components"]["schemas"][name], doc, path)
    errs = []
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        def is_type(t):
            return {"object": isinstance(value, dict), "array": isinstance(value, list),
                    "string": isinstance(value, str), "boolean": isinstance(value, bool),
                    "null": value is None,
                    "integer": isinstance(value, int) and not isinstance(value, bool)
                    or isinstance(value, float) and value.is_integer(),
                    "number": isinstance(value, (int, float)) and not isinstance(value, bool)}[t]
        if not any(is_type(t) for t in types):
            return [f"{path}: {type(value).__name__} is not {types}"]
    if "enum" in schema and value not in schema["enum"]:
        errs.append(f"{path}: {value!r} not in {schema['enum']}")
    if schema.get("format") == "uuid" and isinstance(value, str) and \
            not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value):
        errs.append(f"{path}: {value!r} is not a uuid")
    if isinstance(value, dict):
        for k in schema.get("required", []):
            if k not in value:
                errs.append(f"{path}: missing {k}")
        props = schema.get("properties", {})
        for k, v in value.items():
            if k in props:
                errs += validate(v, props[k], doc, f"{path}.{k}")
            elif schema.get("additionalProperties") is False:
                errs.append(f"{path}: unexpected {k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            errs += validate(v, schema["items"], doc, f"{path}[{i}]")
    return errs


def response_schema(doc, method, path, status):
    op = doc["paths"][path][method.lower()]
    content = op["responses"][str(status)]["content"]
    return next(iter(content.values()))["schema"]


def no_internals(r):
    text = r.body.decode(errors="replace")
    return not any(s in text for s in ("PL/pgSQL", "LOCATION", "CONTEXT:", "SELECT ", "errors.c", "terminate"))


# ---- fixtures ----
CFG = {"ticker": "TTRC", "trading_period": 252, "substrategies": [
    {"indicator": "get_bollinger_band", "signal_func": "reversion_band_signal", "window": 20, "signal": 1.0}]}
# ~1.5 million cells on TTRC's 5,550 bars: seconds of work, so that the tests' time limits and caps
# fire before it ends however much faster the grid search gets (131,769 cells took 0.3 s in session 9)
BIG_GRID = [{"window": {"min": 10, "max": 170, "step": 1}, "signal": {"min": 0.25, "max": 2.75, "step": 0.1}},
            {"window": {"min": 5, "max": 37, "step": 1}, "signal": {"min": 50, "max": 100, "step": 5}}]
BIG_CFG = {"ticker": "TTRC", "trading_period": 252, "substrategies": [
    {"indicator": "get_bollinger_band", "signal_func": "reversion_band_signal", "window": 20, "signal": 1.0},
    {"indicator": "get_rsi", "signal_func": "momentum_bounded_signal", "window": 14, "signal": 70}]}

EXPECTED_ROUTES = [
    ("POST", "/api/v1/strategies"), ("GET", "/api/v1/strategies"), ("GET", "/api/v1/strategies/{id}"),
    ("PUT", "/api/v1/strategies/{id}"), ("DELETE", "/api/v1/strategies/{id}"),
    ("POST", "/api/v1/strategies/{id}/results"), ("GET", "/api/v1/strategies/{id}/results"),
    ("POST", "/api/v1/deployments"), ("GET", "/api/v1/deployments"), ("GET", "/api/v1/deployments/{id}"),
    ("PATCH", "/api/v1/deployments/{id}"), ("DELETE", "/api/v1/deployments/{id}"),
    ("GET", "/api/v1/deployments/{id}/trades"), ("GET", "/api/v1/deployments/{id}/signals"),
    ("GET", "/api/v1/deployments/{id}/position"), ("GET", "/api/v1/deployments/{id}/audit"),
    ("GET", "/api/v1/strategies/{id}/versions"),
    ("POST", "/api/v1/deployments/{id}/run"), ("POST", "/api/v1/backtest"), ("POST", "/api/v1/optimize"),
    ("POST", "/api/v1/backtest_series"), ("POST", "/api/v1/session"), ("GET", "/api/v1/session"),
    ("DELETE", "/api/v1/session"), ("POST", "/api/v1/walk_forward"), ("GET", "/api/v1/indicators"), ("GET", "/api/v1/signal_functions"),
    ("GET", "/api/v1/products"), ("POST", "/api/v1/products"), ("PATCH", "/api/v1/products/{internal_cusip}"),
    ("GET", "/api/v1/intervals"), ("GET", "/api/v1/bars"), ("POST", "/api/v1/bars"),
    ("POST", "/api/v1/deployments/{id}/flatten"), ("POST", "/api/v1/deployments/disable_all"),
    ("GET", "/api/v1/breakers"), ("POST", "/api/v1/breakers/{id}/reset"),
    ("GET", "/api/v1/ticker_mappings"), ("GET", "/api/v1/feeds"), ("GET", "/api/v1/feed/log"),
    ("GET", "/api/v1/broker_credentials"), ("PUT", "/api/v1/broker_credentials"),
    ("DELETE", "/api/v1/broker_credentials"),
    # the web UI's (issue 13; test_ui.py exercises them)
    ("GET", "/api/v1/dashboard"), ("POST", "/api/v1/strategies/{id}/clone"), ("GET", "/api/v1/admin/users"), ("GET", "/api/v1/admin/me"),
    ("POST", "/api/v1/admin/users"), ("POST", "/api/v1/admin/users/reset_password"), ("POST", "/api/v1/admin/users/unlock"),
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/api/v1/openapi.json"),
]


def main():
    alice = psql(f"SELECT quant.create_api_key('{ALICE}', 'http test')")
    bob = psql(f"SELECT quant.create_api_key('{BOB}', 'http test')")
    carol = psql(f"SELECT quant.create_api_key('{CAROL}', 'http test')")
    doomed = psql(f"SELECT quant.create_api_key('{ALICE}', 'to revoke')")
    srv = Server("main", QUANT_HTTP_RATE=5000, QUANT_HTTP_BURST=10000)
    strict = Server("strict", QUANT_HTTP_RATE=1, QUANT_HTTP_BURST=5, QUANT_HTTP_LIVE_RATE_PER_MIN=1,
                    QUANT_HTTP_LIVE_BURST=1, QUANT_HTTP_LONG_TIMEOUT_MS=300)
    try:
        run(srv, strict, alice, bob, carol, doomed)
    finally:
        rc = srv.stop() if srv.proc.poll() is None else srv.proc.returncode
        check("SIGTERM: the main server exits 0", rc == 0, rc)
        rc = strict.stop() if strict.proc.poll() is None else strict.proc.returncode
        check("SIGTERM: the strict server exits 0", rc == 0, rc)
        log = srv.log_text()
        check("access log: one JSON line per request (the worker's log format) with request id and user",
              any(is_access_line(line) for line in log.splitlines()), log[-800:])
        check("log: every line is a JSON object with ts, level and event",
              all(is_log_line(line) for line in log.splitlines()), log[-800:])
        check("access log: no API key in it", alice not in log and bob not in log)
        for s in (srv, strict):
            os.unlink(s.log.name) if harness.T.failed == 0 else print(f"# server log kept: {s.log.name}")


def log_record(line):
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None


def is_log_line(line):
    rec = log_record(line)
    return rec is not None and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", str(rec.get("ts"))) is not None \
        and rec.get("level") in ("debug", "info", "warn", "error") and isinstance(rec.get("event"), str)


def is_access_line(line):
    rec = log_record(line)
    return rec is not None and is_log_line(line) and rec["event"] == "request" and rec["level"] == "info" \
        and re.fullmatch(r"[0-9a-f]{16}", str(rec.get("request_id"))) is not None \
        and rec.get("addr") == "127.0.0.1" and rec.get("user") == ALICE and rec.get("method") == "GET" \
        and rec.get("path") == "/api/v1/strategies" and rec.get("status") == 200 \
        and isinstance(rec.get("bytes"), int) and isinstance(rec.get("ms"), (int, float))


def run(srv, strict, alice, bob, carol, doomed):
    R = srv.request
    seen = {}  # (method, path pattern, status) -> a response, validated against the document later

    # ---- operations ----
    r = R("GET", "/healthz")
    check("GET /healthz 200", r.status == 200 and r.json == {"status": "ok"}, r)
    seen[("GET", "/healthz", 200)] = r
    r = R("GET", "/readyz")
    check("GET /readyz 200 (database reachable)", r.status == 200, r)
    seen[("GET", "/readyz", 200)] = r
    r = R("GET", "/api/v1/openapi.json")
    check("GET /api/v1/openapi.json 200 without a key", r.status == 200 and r.json.get("openapi", "").startswith("3"), r)
    doc = r.json

    # ---- auth ----
    r = R("GET", "/api/v1/strategies")
    check("auth: no Authorization -> 401 problem+json", is_problem(r, 401) and "www-authenticate" in r.headers, r)
    seen[("GET", "/api/v1/strategies", 401)] = r
    r = R("GET", "/api/v1/strategies", headers={"Authorization": "Basic YWxpY2U6cHc="})
    check("auth: Basic scheme -> 401", is_problem(r, 401), r)
    r = R("GET", "/api/v1/strategies", headers={"Authorization": "Bearer"})
    check("auth: Bearer without a key -> 401", is_problem(r, 401), r)
    r = R("GET", "/api/v1/strategies", headers={"Authorization": "Bearer not a key!"})
    check("auth: malformed key -> 401", is_problem(r, 401), r)
    r = R("GET", "/api/v1/strategies", key="qk_0123_short")
    check("auth: malformed qk_ key -> 401", is_problem(r, 401), r)
    wrong = alice[:-1] + ("A" if alice[-1] != "A" else "B")
    r = R("GET", "/api/v1/strategies", key=wrong)
    check("auth: wrong key (one character off) -> 401", is_problem(r, 401), r)
    r = R("GET", "/api/v1/strategies", key=doomed)
    check("auth: a fresh key works before it is revoked", r.status == 200, r)
    key_id = doomed.split("_")[1]
    psql(f"SELECT quant.set_user('{ALICE}'); SELECT quant.revoke_api_key('{key_id}'::uuid)")
    r = R("GET", "/api/v1/strategies", key=doomed)
    check("auth: revoked key -> 401", is_problem(r, 401), r)
    r = R("POST", "/api/v1/backtest", {"config": CFG})
    check("auth: computation needs a key too (POST /backtest -> 401)", is_problem(r, 401), r)

    # ---- the one-click deploy flow (seed 3, steps 2-5) ----
    r = R("POST", "/api/v1/strategies", CFG, key=alice)
    check("flow 2: POST /strategies -> 201 with strategy_id", r.status == 201 and "strategy_id" in (r.json or {}), r)
    seen[("POST", "/api/v1/strategies", 201)] = r
    sid = r.json["strategy_id"]
    r = R("POST", "/api/v1/backtest", {"config": dict(CFG, strategy_id=sid), "fee_bps": 5.0}, key=alice)
    check("flow 1: POST /backtest -> 200 BacktestResults", r.status == 200 and "metrics" in (r.json or {}), r)
    seen[("POST", "/api/v1/backtest", 200)] = r
    result = r.json
    r = R("POST", f"/api/v1/strategies/{sid}/results", result, key=alice)
    check("flow 3: POST /strategies/{id}/results -> 201", r.status == 201 and r.json.get("strategy_id") == sid, r)
    seen[("POST", "/api/v1/strategies/{id}/results", 201)] = r
    r = R("POST", "/api/v1/deployments", {"strategy_id": sid, "qty": 10, "broker": "PAPER",
                                           "risk_limits": {"max_position_usd": 5000}}, key=alice)
    check("flow 5: POST /deployments -> 201, paper by default",
          r.status == 201 and r.json.get("paper") is True and r.json.get("status") == "active", r)
    seen[("POST", "/api/v1/deployments", 201)] = r
    did = r.json["deployment_id"]
    r = R("GET", f"/api/v1/deployments/{did}", key=alice)
    check("flow: GET /deployments/{id} -> 200 status and recent trades",
          r.status == 200 and r.json.get("status") == "active" and "recent_trades" in r.json, r)
    seen[("GET", "/api/v1/deployments/{id}", 200)] = r

    # ---- every other endpoint's happy path ----
    r = R("GET", "/api/v1/strategies", key=alice)
    check("GET /strategies lists it", r.status == 200 and [s["strategy_id"] for s in r.json] == [sid], r)
    seen[("GET", "/api/v1/strategies", 200)] = r
    r = R("GET", f"/api/v1/strategies/{sid}", key=alice)
    check("GET /strategies/{id} with latest_result", r.status == 200 and r.json.get("latest_result") is not None, r)
    seen[("GET", "/api/v1/strategies/{id}", 200)] = r
    cfg2 = json.loads(json.dumps(CFG))
    cfg2["substrategies"][0]["window"] = 30
    r = R("PUT", f"/api/v1/strategies/{sid}", cfg2, key=alice)
    check("PUT /strategies/{id} bumps the version", r.status == 200 and r.json.get("version") == 2, r)
    seen[("PUT", "/api/v1/strategies/{id}", 200)] = r
    r = R("GET", f"/api/v1/strategies/{sid}/results", key=alice)
    check("GET /strategies/{id}/results", r.status == 200 and len(r.json) == 1, r)
    seen[("GET", "/api/v1/strategies/{id}/results", 200)] = r
    r = R("GET", "/api/v1/deployments", key=alice)
    check("GET /deployments lists it", r.status == 200 and [d["deployment_id"] for d in r.json] == [did], r)
    seen[("GET", "/api/v1/deployments", 200)] = r
    r = R("PATCH", f"/api/v1/deployments/{did}", {"qty": 20, "enabled": False}, key=alice)
    check("PATCH /deployments/{id} changes qty and the kill switch",
          r.status == 200 and r.json.get("qty") == 20 and r.json.get("status") == "disabled", r)
    seen[("PATCH", "/api/v1/deployments/{id}", 200)] = r
    r = R("POST", f"/api/v1/deployments/{did}/run", key=alice)
    check("POST /deployments/{id}/run on a disabled deployment -> 409", is_problem(r, 409), r)
    R("PATCH", f"/api/v1/deployments/{did}", {"enabled": True}, key=alice)
    r = R("POST", f"/api/v1/deployments/{did}/run", key=alice)
    check("POST /deployments/{id}/run -> 200 with an outcome",
          r.status == 200 and r.json.get("outcome") in ("SIGNAL", "DUPLICATE", "REJECTED"), r)
    seen[("POST", "/api/v1/deployments/{id}/run", 200)] = r
    r = R("GET", f"/api/v1/deployments/{did}/signals", key=alice)
    check("GET /deployments/{id}/signals -> 200 array", r.status == 200 and isinstance(r.json, list), r)
    seen[("GET", "/api/v1/deployments/{id}/signals", 200)] = r
    r = R("GET", f"/api/v1/deployments/{did}/trades", key=alice)
    check("GET /deployments/{id}/trades -> 200 array", r.status == 200 and isinstance(r.json, list), r)
    seen[("GET", "/api/v1/deployments/{id}/trades", 200)] = r
    # the kill switches (issue 15): flatten disables and writes a flattening signal; disable all
    r = R("POST", f"/api/v1/deployments/{did}/flatten", key=alice)
    check("POST /deployments/{id}/flatten -> 200, disabled, with its flatten signal",
          r.status == 200 and r.json.get("status") == "disabled" and r.json.get("flatten_signal_id"), r)
    seen[("POST", "/api/v1/deployments/{id}/flatten", 200)] = r
    R("PATCH", f"/api/v1/deployments/{did}", {"enabled": True}, key=alice)
    r = R("POST", "/api/v1/deployments/disable_all", key=alice)
    check("POST /deployments/disable_all -> 200 naming the deployment",
          r.status == 200 and did in (r.json or {}).get("deployment_ids", []), r)
    seen[("POST", "/api/v1/deployments/disable_all", 200)] = r
    r = R("GET", "/api/v1/breakers", key=alice)
    check("GET /breakers -> 200 [] (none tripped)", r.status == 200 and r.json == [], r)
    seen[("GET", "/api/v1/breakers", 200)] = r
    R("PATCH", f"/api/v1/deployments/{did}", {"enabled": True}, key=alice)
    r = R("GET", f"/api/v1/deployments/{did}/position", key=alice)
    check("GET /deployments/{id}/position -> 200, flat before any fill",
          r.status == 200 and r.json.get("deployment_id") == did and r.json.get("qty") == 0, r)
    seen[("GET", "/api/v1/deployments/{id}/position", 200)] = r
    r = R("GET", f"/api/v1/deployments/{did}/position", key=bob)
    check("GET /deployments/{id}/position of another user's -> 404", is_problem(r, 404), r)
    r = R("GET", f"/api/v1/deployments/{did}/audit", key=alice)
    want = psql(f"SELECT string_agg(action, ',' ORDER BY at, audit_id) FROM trade.audit WHERE entity_id = '{did}'")
    check("GET /deployments/{id}/audit -> the deployment's audit rows, oldest first",
          r.status == 200 and ",".join(a["action"] for a in r.json) == want and r.json[0]["action"] == "deploy", (r, want))
    seen[("GET", "/api/v1/deployments/{id}/audit", 200)] = r
    r = R("GET", f"/api/v1/deployments/{did}/audit", key=bob)
    check("GET /deployments/{id}/audit of another user's -> empty", r.status == 200 and r.json == [], r)
    r = R("GET", f"/api/v1/strategies/{sid}/versions", key=alice)
    check("GET /strategies/{id}/versions -> versions 1 and 2 (window 20, then 30)",
          r.status == 200 and [v["version"] for v in r.json] == [1, 2]
          and [v["substrategies"][0]["window"] for v in r.json] == [20, 30], r)
    seen[("GET", "/api/v1/strategies/{id}/versions", 200)] = r
    r = R("GET", f"/api/v1/strategies/{sid}/versions", key=bob)
    check("GET /strategies/{id}/versions of another user's -> 404", is_problem(r, 404), r)
    r = R("POST", "/api/v1/optimize", {"config": CFG, "grid": [{"window": [10, 20, 30], "signal": [0.5, 1.0]}],
                                       "top_n": 3}, key=alice)
    check("POST /optimize -> 200 grid_size 6", r.status == 200 and r.json.get("grid_size") == 6, r)
    seen[("POST", "/api/v1/optimize", 200)] = r
    r = R("POST", "/api/v1/walk_forward", {"config": CFG, "grid": [{"window": [10, 20, 30]}], "split_ratio": 0.6},
          key=alice)
    check("POST /walk_forward -> 200 with the seed's keys", r.status == 200 and "oos_sharpe" in (r.json or {}), r)
    seen[("POST", "/api/v1/walk_forward", 200)] = r
    for path in ("/api/v1/indicators", "/api/v1/signal_functions", "/api/v1/ticker_mappings"):
        r = R("GET", path, key=alice)
        check(f"GET {path} -> 200 non-empty array", r.status == 200 and isinstance(r.json, list) and r.json, r)
        seen[("GET", path, 200)] = r
    # the live feed: sources and the fetch log (shared, read through quant.list_feeds / fetch_log)
    r = R("GET", "/api/v1/feeds", key=alice)
    check("GET /feeds -> 200 array", r.status == 200 and isinstance(r.json, list), r)
    seen[("GET", "/api/v1/feeds", 200)] = r
    r = R("GET", "/api/v1/feed/log?max_rows=5", key=alice)
    check("GET /feed/log?max_rows=5 -> 200 array of at most 5", r.status == 200 and isinstance(r.json, list)
          and len(r.json) <= 5, r)
    seen[("GET", "/api/v1/feed/log", 200)] = r
    r = R("GET", "/api/v1/feed/log?max_rows=0", key=alice)
    check("GET /feed/log?max_rows=0 -> a problem naming max_rows", r.status in (400, 422) and is_problem(r, r.status)
          and r.json.get("field") == "max_rows", r)
    r = R("DELETE", f"/api/v1/strategies/{sid}", key=alice)
    check("DELETE /strategies/{id} while deployed -> 409 (55006) with hint", is_problem(r, 409) and r.json.get("hint"), r)
    seen[("DELETE", "/api/v1/strategies/{id}", 409)] = r
    r = R("DELETE", f"/api/v1/deployments/{did}", key=alice)
    check("DELETE /deployments/{id} stops it", r.status == 200 and r.json.get("status") == "stopped", r)
    seen[("DELETE", "/api/v1/deployments/{id}", 200)] = r
    r = R("PATCH", f"/api/v1/deployments/{did}", {"qty": 5}, key=alice)
    check("PATCH a stopped deployment -> 409 (55000)", is_problem(r, 409), r)
    r = R("GET", "/api/v1/deployments", key=alice)
    check("GET /deployments leaves stopped ones out", r.status == 200 and r.json == [], r)
    r = R("GET", "/api/v1/deployments?include_stopped=true", key=alice)
    check("GET /deployments?include_stopped=true has it", r.status == 200 and len(r.json) == 1, r)
    r = R("DELETE", f"/api/v1/strategies/{sid}", key=alice)
    check("DELETE /strategies/{id} soft-deletes", r.status == 200 and r.json.get("deleted_at"), r)
    seen[("DELETE", "/api/v1/strategies/{id}", 200)] = r

    # ---- error classes ----
    r = R("POST", "/api/v1/strategies", "{bad json", key=alice)
    check("400: malformed JSON", is_problem(r, 400), r)
    seen[("POST", "/api/v1/strategies", 400)] = r
    r = R("POST", "/api/v1/strategies", "[1, 2]", key=alice)
    check("400: body not an object", is_problem(r, 400), r)
    r = R("POST", "/api/v1/strategies", "", key=alice)
    check("400: empty body", is_problem(r, 400), r)
    bad = json.loads(json.dumps(CFG))
    bad["substrategies"][0]["indicator"] = "get_magic"
    r = R("POST", "/api/v1/strategies", bad, key=alice)
    check("422: invalid indicator names the field and lists valid values",
          is_problem(r, 422) and "indicator" in r.json.get("field", "") and "get_rsi" in r.json.get("hint", ""), r)
    seen[("POST", "/api/v1/strategies", 422)] = r
    r = R("POST", "/api/v1/backtest", {"config": CFG, "fee_bps": "five"}, key=alice)
    check("422: wrong type of an envelope member (fee_bps)", is_problem(r, 422, "fee_bps"), r)
    r = R("POST", "/api/v1/backtest", {"config": "TTRC"}, key=alice)
    check("422: config as a string", is_problem(r, 422, "config"), r)
    r = R("POST", "/api/v1/backtest", {"config": CFG, "threads": 64}, key=alice)
    check("422: unknown envelope member", is_problem(r, 422, "threads"), r)
    r = R("POST", "/api/v1/backtest", {"fee_bps": 1}, key=alice)
    check("422: missing config", is_problem(r, 422, "config"), r)
    r = R("POST", "/api/v1/backtest", {"config": CFG, "from_ts": "last tuesday"}, key=alice)
    check("400: malformed timestamp", is_problem(r, 400), r)
    long_window = json.loads(json.dumps(CFG))
    long_window["substrategies"][0]["window"] = 9000
    r = R("POST", "/api/v1/backtest", {"config": long_window}, key=alice)
    check("422: too few bars (QA002) names the field", is_problem(r, 422) and "window" in r.json.get("field", ""), r)
    r = R("POST", "/api/v1/backtest", {"config": dict(CFG, ticker="NO_SUCH_TICKER")}, key=alice)
    check("404: a ticker without bars (QA001)", is_problem(r, 404), r)
    r = R("POST", "/api/v1/deployments", {"strategy_id": sid, "qty": "ten"}, key=alice)
    check("422: qty as a string (the validator)", is_problem(r, 422), r)
    r = R("POST", "/api/v1/optimize", {"config": CFG, "grid": [{"window": {"min": 1, "max": 100000000, "step": 1}}]},
          key=alice)
    check("413: grid over the limit (54000)", is_problem(r, 413), r)
    r = R("POST", "/api/v1/strategies", '{"ticker":"TTRC","name":"a\\u0000b","substrategies":[]}', key=alice)
    check("4xx: \\u0000 in a string", r.status in (400, 422) and is_problem(r, r.status), r)
    missing = "01900000-0000-7000-8000-000000000000"
    r = R("GET", f"/api/v1/strategies/{missing}", key=alice)
    check("404: unknown strategy id", is_problem(r, 404), r)
    seen[("GET", "/api/v1/strategies/{id}", 404)] = r
    r = R("GET", "/api/v1/strategies/not-a-uuid", key=alice)
    check("404: an id that is not a UUID", is_problem(r, 404, "id"), r)
    r = R("GET", "/api/v1/nothing", key=alice)
    check("404: no such route", is_problem(r, 404), r)
    r = R("PUT", "/api/v1/deployments", {}, key=alice)
    check("405: wrong method, with Allow", is_problem(r, 405) and "GET" in r.headers.get("allow", ""), r)
    r = R("GET", "/api/v1/deployments?include_stopped=maybe", key=alice)
    check("400: malformed query parameter", is_problem(r, 400, "include_stopped"), r)
    r = R("GET", "/api/v1/strategies?limit=5", key=alice)
    check("400: unknown query parameter", is_problem(r, 400, "limit"), r)
    r = R("POST", "/api/v1/strategies", CFG, key=alice)
    sid_live = r.json["strategy_id"]
    r = R("POST", "/api/v1/deployments", {"strategy_id": sid_live, "qty": 1, "broker": "FUTU", "paper": False},
          key=alice)
    check("403: live deploy without confirmation (live gate, 42501)", is_problem(r, 403), r)
    seen[("POST", "/api/v1/deployments", 403)] = r
    r = R("POST", "/api/v1/deployments", {"strategy_id": sid_live, "qty": 1, "broker": "FUTU"}, key=alice)
    did_live = r.json["deployment_id"]
    r = R("PATCH", f"/api/v1/deployments/{did_live}", {"paper": False}, key=alice)
    check("403: PATCH paper=false without confirm_live and trade_password", is_problem(r, 403), r)
    r = R("PATCH", f"/api/v1/deployments/{did_live}", {"user": BOB}, key=alice)
    check("422: PATCH of a field that cannot change (no mass assignment)", is_problem(r, 422, "user"), r)
    r = R("POST", "/api/v1/strategies", b"{" + b" " * (2 << 20) + b"}", key=alice)
    check("413: a 2 MiB body", is_problem(r, 413), r)
    seen[("POST", "/api/v1/strategies", 413)] = r
    deep = "[" * 100 + "]" * 100
    r = R("POST", "/api/v1/backtest", '{"config": ' + deep + "}", key=alice)
    check("413: JSON nested 100 deep (limit 64)", is_problem(r, 413), r)
    for resp in list(seen.values()):
        if resp.status >= 400 and not no_internals(resp):
            check("problem documents carry no SQL internals", False, resp)
            break
    else:
        check("problem documents carry no SQL internals", True)
    r = R("GET", "/api/v1/strategies/" + missing, key=alice, headers={"X-Request-Id": "trace-me-123"})
    check("X-Request-Id is echoed and in the problem",
          r.headers.get("x-request-id") == "trace-me-123" and r.json.get("request_id") == "trace-me-123", r)

    # ---- another user's objects: 404 on every {id} route, read and write ----
    r = R("POST", "/api/v1/strategies", cfg2, key=bob)
    bsid = r.json["strategy_id"]
    R("POST", f"/api/v1/strategies/{bsid}/results", result | {"strategy_id": bsid}, key=bob)
    r = R("POST", "/api/v1/deployments", {"strategy_id": bsid, "qty": 7, "broker": "FUTU"}, key=bob)
    bdid = r.json["deployment_id"]
    attempts = [
        ("GET", f"/api/v1/strategies/{bsid}", None), ("PUT", f"/api/v1/strategies/{bsid}", CFG),
        ("DELETE", f"/api/v1/strategies/{bsid}", None), ("GET", f"/api/v1/strategies/{bsid}/results", None),
        ("POST", f"/api/v1/strategies/{bsid}/results", result),
        ("GET", f"/api/v1/deployments/{bdid}", None), ("PATCH", f"/api/v1/deployments/{bdid}", {"qty": 1}),
        ("DELETE", f"/api/v1/deployments/{bdid}", None), ("GET", f"/api/v1/deployments/{bdid}/trades", None),
        ("GET", f"/api/v1/deployments/{bdid}/signals", None), ("POST", f"/api/v1/deployments/{bdid}/run", None),
        ("POST", f"/api/v1/deployments/{bdid}/flatten", None),
    ]
    for method, path, body in attempts:
        r = R(method, path, body, key=alice)
        check(f"isolation: alice {method} {path.replace(bsid, '{bob strategy}').replace(bdid, '{bob deployment}')}"
              " -> 404", is_problem(r, 404), r)
    r = R("POST", "/api/v1/deployments", {"strategy_id": bsid, "qty": 1}, key=alice)
    check("isolation: alice cannot deploy bob's strategy (404)", is_problem(r, 404), r)
    r = R("GET", f"/api/v1/strategies/{bsid}", key=bob)
    check("isolation: bob's strategy unchanged", r.status == 200 and r.json["version"] == 1 and
          r.json["deleted_at"] is None and r.json["substrategies"][0]["window"] == 30, r)
    r = R("GET", f"/api/v1/deployments/{bdid}", key=bob)
    check("isolation: bob's deployment unchanged", r.status == 200 and r.json["qty"] == 7 and
          r.json["status"] == "active" and r.json["last_signal"] is None, r)
    r = R("GET", "/api/v1/strategies", key=bob)
    check("isolation: bob lists only his own", r.status == 200 and [s["strategy_id"] for s in r.json] == [bsid], r)

    # ---- abuse: 4xx answers, the server stays up ----
    for name, body in [("truncated", '{"ticker": "TT'), ("NaN", '{"ticker": NaN}'), ("trailing", '{} {}'),
                       ("binary", b"\xff\xfe\x00\x01"), ("number overflow", '{"trading_period": 1e999}')]:
        r = R("POST", "/api/v1/strategies", body, key=alice)
        check(f"abuse: malformed JSON ({name}) -> 4xx, server up", 400 <= r.status < 500 and srv.alive(), r)
    for name, body in [("substrategies as a string", dict(CFG, substrategies="x")),
                       ("window as a string", {**CFG, "substrategies": [dict(CFG["substrategies"][0], window="20")]}),
                       ("ticker as a number", dict(CFG, ticker=42))]:
        r = R("POST", "/api/v1/strategies", body, key=alice)
        check(f"abuse: wrong type ({name}) -> 422, server up", is_problem(r, 422) and srv.alive(), r)
    check("abuse: 64 MiB body (Content-Length) -> 413 or closed, server up", huge_body(srv, alice, False))
    check("abuse: 64 MiB body (chunked) -> 413 or closed, server up", huge_body(srv, alice, True))
    deep = "[" * 100000 + "]" * 100000
    r = R("POST", "/api/v1/strategies", deep, key=alice)
    check("abuse: JSON nested 100,000 deep -> 413, server up", is_problem(r, 413) and srv.alive(), r)
    deep_obj = '{"a":' * 100000 + "1" + "}" * 100000
    r = R("POST", "/api/v1/backtest", '{"config": ' + deep_obj + "}", key=alice)
    check("abuse: object nested 100,000 deep inside an envelope -> 413, server up",
          is_problem(r, 413) and srv.alive(), r)
    check("abuse: slow client (headers trickle, then stall) is cut off, others served", slow_client(srv))
    r = R("GET", "/api/v1/strategies", key=alice, headers={"X-Long": "x" * 20000})
    check("abuse: a 20 kB header -> 431 problem+json, server up", is_problem(r, 431) and srv.alive(), r)

    # ---- rate limits, timeouts (the strict server) ----
    statuses = [strict.request("GET", "/api/v1/ticker_mappings", key=carol).status for _ in range(10)]
    limited = strict.request("GET", "/api/v1/ticker_mappings", key=carol)
    check("429: per-key rate limit with Retry-After", 429 in statuses and statuses[0] == 200 and
          (limited.status != 429 or (is_problem(limited, 429) and "retry-after" in limited.headers)), statuses)
    seen[("GET", "/api/v1/ticker_mappings", 429)] = limited if limited.status == 429 else None
    r = strict.request("GET", "/api/v1/ticker_mappings", key=bob)
    check("rate limit is per key: another key still passes", r.status == 200, r)
    r1 = strict.request("PATCH", f"/api/v1/deployments/{bdid}", {"paper": False}, key=bob)
    r2 = strict.request("PATCH", f"/api/v1/deployments/{bdid}", {"paper": False}, key=bob)
    check("429: the stricter limit on switches to live (1 per minute)",
          r1.status == 403 and is_problem(r2, 429) and r2.json.get("field") == "paper", (r1, r2))
    r = strict.request("PATCH", f"/api/v1/deployments/{bdid}", {"qty": 8}, key=bob)
    check("a paper change is not held by the live limit", r.status == 200, r)
    r = strict.request("POST", "/api/v1/optimize", {"config": BIG_CFG, "grid": BIG_GRID}, key=alice)
    check("503: a search over its time limit is cancelled (57014)", is_problem(r, 503) and strict.alive(), r)
    seen[("POST", "/api/v1/optimize", 503)] = r

    # ---- the OpenAPI document ----
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    missing_routes = [x for x in EXPECTED_ROUTES if x not in ops]
    check("openapi: lists every route", not missing_routes, missing_routes)
    extra = sorted(ops - set(EXPECTED_ROUTES))
    check("openapi: no route beyond the table", not extra, extra)
    unreachable = []
    for m, p in sorted(ops):
        r = R(m, p.replace("{id}", missing), "{}" if m in ("POST", "PUT", "PATCH") else None)
        if r.status == 404 and r.json and r.json.get("detail") == "no such route" or r.status == 405:
            unreachable.append((m, p))
    check("openapi: every documented operation is routed", not unreachable, unreachable)
    check("openapi: every operation documents 401 or is public",
          all("401" in op["responses"] or op.get("security") == [] for item in doc["paths"].values()
              for op in item.values()))
    bad_refs = [ref for ref in re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(doc))
                if ref not in doc["components"]["schemas"]]
    check("openapi: every $ref resolves", not bad_refs, bad_refs)
    for (m, p, status), resp in sorted(seen.items(), key=lambda kv: str(kv[0])):
        if resp is None:
            continue
        try:
            schema = response_schema(doc, m, p, status)
        except KeyError:
            check(f"openapi: {m} {p} documents status {status}", False)
            continue
        errs = validate(resp.json, schema, doc)
        check(f"openapi: {m} {p} {status} validates", not errs, errs[:5])
    errs = validate({"name": "x"}, response_schema(doc, "GET", "/api/v1/strategies/{id}", 200), doc)
    check("openapi: the validator rejects a Strategy without its required keys (negative control)", len(errs) >= 3, errs)

    # ---- metrics: on their own address, not on the API's ----
    r = R("GET", "/metrics")
    check("metrics: not served on the API's address (404)", is_problem(r, 404), r)
    r = srv.metrics("/metrics")
    text = r.body.decode()
    check("metrics: text format", r.status == 200 and r.headers.get("content-type", "").startswith("text/plain"), r)
    for needle in ['quant_http_requests_total{route="GET /api/v1/strategies/{id}",status="200"}',
                   'quant_http_requests_total{route="POST /api/v1/strategies",status="201"}',
                   'quant_http_request_duration_seconds_bucket{route="POST /api/v1/backtest",le="+Inf"}',
                   'quant_http_errors_total{type="unauthenticated"}', "quant_http_db_pool_in_use ",
                   "quant_http_db_pool_connections "]:
        check(f"metrics: has {needle}", needle in text)
    r = srv.metrics("/api/v1/strategies", key=alice)
    check("metrics: the metrics address serves nothing else (404)", is_problem(r, 404), r)
    text = strict.metrics("/metrics").body.decode()
    check("metrics: rate-limit refusals counted", 'quant_http_rate_limited_total{limit="key"}' in text and
          'quant_http_rate_limited_total{limit="live"}' in text)

    # ---- graceful shutdown: a request in flight finishes, then exit 0 ----
    box = {}
    def slow():
        box["r"] = srv.request("POST", "/api/v1/walk_forward",
                               {"config": BIG_CFG, "grid": [{"window": {"min": 10, "max": 100, "step": 2}},
                                                            {"window": {"min": 5, "max": 30, "step": 1}}]},
                               key=alice)
    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    rc = srv.stop()
    t.join(60)
    r = box.get("r")
    check("SIGTERM: a request in flight is answered", r is not None and r.status == 200, r)


def huge_body(srv, key, chunked):
    """64 MiB to POST /api/v1/strategies; the server answers 413 (or closes) without reading it all."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    head = (f"POST /api/v1/strategies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\n")
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {64 << 20}\r\n\r\n"
    status = None
    try:
        s.sendall(head.encode())
        chunk = b"[" + b"1," * (512 << 10)
        for _ in range(64):
            s.sendall((f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") if chunked else chunk)
    except OSError:
        pass  # the server stopped reading: expected
    try:
        data = s.recv(4096)
        m = re.match(rb"HTTP/1\.1 (\d+)", data)
        status = int(m.group(1)) if m else None
    except OSError:
        status = None
    s.close()
    ok = status in (None, 413) and srv.alive()
    if not ok:
        print(f"# huge body: status {status}")
    return ok


def slow_client(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    for ch in b"Host: x\r\nX-Slow: ":
        s.sendall(bytes([ch]))
        time.sleep(0.05)
    t0 = time.time()
    others = srv.alive()  # another client is served meanwhile
    data = b""
    try:
        data = s.recv(4096)  # the server gives up after its read timeout (2 s here)
    except OSError:
        pass
    waited = time.time() - t0
    s.close()
    status = re.match(rb"HTTP/1\.1 (\d+)", data)
    answered_4xx = status is None or 400 <= int(status.group(1)) < 500
    ok = others and answered_4xx and waited < 8 and srv.alive()
    if not ok:
        print(f"# slow client: others={others} data={data[:80]!r} waited={waited:.1f}s")
    return ok


if __name__ == "__main__":
    harness.run_main(main)
