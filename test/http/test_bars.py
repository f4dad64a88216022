#!/usr/bin/env python3
"""quant-http: bar intervals and bars (issue 11 part 5).

usage: test_bars.py PATH/TO/quant-http      (test/http/run.sh prepares the database)
GET /api/v1/intervals; POST /api/v1/bars (JSON rows or CSV text in the envelope; all or nothing,
a bad row is 422 naming it and the field; an oversized body is 413); GET /api/v1/bars paginated
with next_cursor, by ticker or internal_cusip, 1d and 1h series of one ticker independent.
Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last. Standard library only.
"""
import secrets
from datetime import datetime, timedelta, timezone

import harness
from harness import Server, check, is_problem, psql

RUN = secrets.token_hex(4)
ALICE = f"http_bars_alice_{RUN}"
TICKER = f"ZZB{RUN}".upper()


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    alice = psql(f"SELECT quant.create_api_key('{ALICE}', 'http bars test')")
    srv = Server("bars", QUANT_HTTP_RATE=5000, QUANT_HTTP_BURST=10000)
    try:
        run(srv, alice)
    finally:
        rc = srv.stop() if srv.proc.poll() is None else srv.proc.returncode
        check("SIGTERM: the server exits 0", rc == 0, rc)
        psql(f"DELETE FROM md.bar WHERE ticker = '{TICKER}'")
        if harness.T.failed == 0:
            import os
            os.unlink(srv.log.name)
        else:
            print(f"# server log kept: {srv.log.name}")


def run(srv, key):
    def R(method, path, body=None):
        return srv.request(method, path, body, key=key)

    doc = R("GET", "/api/v1/openapi.json").json
    check("openapi: /intervals and /bars (GET, POST) are documented",
          "get" in doc["paths"].get("/api/v1/intervals", {}) and
          {"get", "post"} <= set(doc["paths"].get("/api/v1/bars", {})), sorted(doc["paths"]))
    check("openapi: BarPage and BarUpload schemas", {"BarPage", "BarUpload", "BarInterval"} <= set(doc["components"]["schemas"]))

    r = R("GET", "/api/v1/intervals")
    check("GET /intervals: 200", r.status == 200, r.status)
    check("... the eight intervals, shortest first",
          [i["name"] for i in r.json] == ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"], r.body[:200])
    check("... with their lengths", {i["name"]: i["seconds"] for i in r.json}.get("1h") == 3600, r.body[:200])
    check("GET /intervals without a key: 401", srv.request("GET", "/api/v1/intervals").status == 401)

    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    hourly = [{"ts": iso(t0 + timedelta(hours=i)), "open": 100 + i, "high": 101 + i, "low": 99 + i, "close": 100.5 + i,
               "volume": 10} for i in range(30)]
    r = R("POST", "/api/v1/bars", {"ticker": TICKER, "interval": "1h", "bars": hourly})
    check("POST /bars (JSON rows, 1h): 201", r.status == 201, r.body[:300])
    check("... 30 rows stored", r.json and r.json.get("rows") == 30, r.body[:300])
    lines = ["date,open,high,low,close,volume"] + [
        f"{(t0 + timedelta(days=i)).date()},{50 - i},{51 - i},{49 - i},{50.5 - i},5" for i in range(10)]
    r = R("POST", "/api/v1/bars", {"ticker": TICKER, "csv": "\n".join(lines) + "\n"})
    check("POST /bars (CSV, default 1d): 201 with 10 rows", r.status == 201 and r.json.get("rows") == 10, r.body[:300])

    r = R("GET", f"/api/v1/bars?ticker={TICKER}&interval=1h&limit=20")
    check("GET /bars 1h page 1: 200, 20 bars", r.status == 200 and len(r.json["bars"]) == 20, r.body[:300])
    check("... oldest first, close_ts = ts + 1h",
          r.json["bars"][0]["close"] == 100.5 and
          datetime.fromisoformat(r.json["bars"][0]["close_ts"]) - datetime.fromisoformat(r.json["bars"][0]["ts"])
          == timedelta(hours=1), r.json["bars"][0])
    cursor = r.json["next_cursor"]
    check("... a next_cursor", cursor is not None, r.body[-200:])
    from urllib.parse import quote
    r2 = R("GET", f"/api/v1/bars?ticker={TICKER}&interval=1h&limit=20&cursor={quote(cursor)}")
    check("page 2: the other 10, no next_cursor",
          r2.status == 200 and len(r2.json["bars"]) == 10 and r2.json["next_cursor"] is None, r2.body[:300])
    check("... continuing where page 1 stopped", r2.json["bars"][0]["close"] == 120.5, r2.json["bars"][:1])
    r = R("GET", f"/api/v1/bars?ticker={TICKER}")
    check("GET /bars default 1d: the 10 daily bars only (the 1h series is independent)",
          r.status == 200 and [b["close"] for b in r.json["bars"]] == [50.5 - i for i in range(10)], r.body[:300])
    r = R("GET", f"/api/v1/bars?ticker={TICKER}&from=2024-01-03T00:00:00Z&to=2024-01-04T00:00:00Z")
    check("from/to select by open time, inclusive", r.status == 200 and len(r.json["bars"]) == 2, r.body[:300])
    r = R("GET", "/api/v1/bars?internal_cusip=ttrc&limit=3")
    check("GET /bars by internal_cusip: the product's data ticker", r.status == 200 and r.json["ticker"] == "TTRC"
          and len(r.json["bars"]) == 3, r.body[:300])
    r = R("GET", "/api/v1/bars?internal_cusip=no.such&limit=3")
    check("an unknown product: 422 naming internal_cusip", is_problem(r, 422, "internal_cusip"), r.body[:300])
    r = R("GET", f"/api/v1/bars?ticker={TICKER}&interval=2h")
    check("an unknown interval: 422 naming interval", is_problem(r, 422, "interval"), r.body[:300])
    r = R("GET", f"/api/v1/bars?ticker={TICKER}&limit=0")
    check("limit 0: 422 naming limit", is_problem(r, 422, "limit"), r.body[:300])

    # all or nothing
    bad = [dict(b) for b in hourly[:3]]
    for i, b in enumerate(bad):
        b["ts"] = iso(t0 + timedelta(days=40, hours=i))
    bad[2]["high"] = 1
    r = R("POST", "/api/v1/bars", {"ticker": TICKER, "interval": "1h", "bars": bad})
    check("a row with high < low: 422 naming bars[2].high", is_problem(r, 422, "bars[2].high"), r.body[:300])
    r = R("GET", f"/api/v1/bars?ticker={TICKER}&interval=1h&from={iso(t0 + timedelta(days=40))}")
    check("... nothing stored", r.status == 200 and r.json["bars"] == [], r.body[:300])
    r = R("POST", "/api/v1/bars", {"ticker": TICKER, "csv": "date,open,high,low,close,volume\n2024-02-01,1,2,1,-3,1\n"})
    check("CSV with a negative close: 422 naming line 2.close", is_problem(r, 422, "line 2.close"), r.body[:300])
    r = R("POST", "/api/v1/bars", {"ticker": TICKER, "interval": "1h",
                                   "bars": [{"ts": "2999-01-01T00:00:00Z", "open": 1, "high": 1, "low": 1, "close": 1}]})
    check("a future bar: 422 naming bars[0].ts", is_problem(r, 422, "bars[0].ts"), r.body[:300])
    r = R("POST", "/api/v1/bars", {"ticker": TICKER})
    check("neither bars nor csv: 422", is_problem(r, 422, "bars"), r.body[:300])
    big = "date,open,high,low,close,volume\n" + "2024-01-01,1,1,1,1,1\n" * 120000
    r = R("POST", "/api/v1/bars", {"ticker": TICKER, "csv": big})
    check("a body over the size limit: 413", is_problem(r, 413), f"{r.status} {r.body[:200]}")
    check("the server is still up", R("GET", "/api/v1/intervals").status == 200)


if __name__ == "__main__":
    harness.run_main(main)
