#!/usr/bin/env python3
"""quant-http: products and the user's pipeline's documents (../shared/docs/user-pipeline.md).

usage: test_products.py PATH/TO/quant-http      (test/http/run.sh prepares the database)
GET/POST /api/v1/products; the pipeline's Strategy JSON (internal_cusip, no name) and
BacktestResults (internal_cusip, display-name metrics, NaN written by Python's json.dumps)
through POST /strategies and /strategies/{id}/results; a round trip gives the same backtest;
unknown products are 422 naming the field and store nothing.
Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed" last. Standard library only.
"""
import json
import secrets
import sys

import harness
from harness import Server, check, is_problem, psql

RUN = secrets.token_hex(4)
ALICE, BOB = f"http_prod_alice_{RUN}", f"http_prod_bob_{RUN}"
NAN = float("nan")

# the pipeline's Strategy JSON, on the sample bars (ttrc: the shared product of TTRC)
PIPELINE_CFG = {
    "strategy_id": "01a2356e-92bc-78a0-b67c-7ec2bfc98ccb", "version": 1,
    "created_at": "2026-12-02T06:26:08.700143+00:00",
    "internal_cusip": "ttrc", "conjunction": "AND", "trading_period": 252,
    "substrategies": [
        {"id": 1, "indicator": "get_sma_distance", "signal_func": "momentum_band_signal", "window": 20,
         "signal": 1.0e-2, "data_column": "v"},
        {"id": 2, "indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14,
         "signal": 30.0, "data_column": "v", "internal_cusip": "ttrc"}]}
SEED_CFG = {"ticker": "TTRC", "conjunction": "AND", "trading_period": 252, "substrategies": [
    {"id": 1, "indicator": "get_sma_distance", "signal_func": "momentum_band_signal", "window": 20, "signal": 0.01},
    {"id": 2, "indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 30.0}]}


def validate(value, schema, doc):
    """The few JSON Schema keywords the Product schema uses: $ref, type, required, properties."""
    if "$ref" in schema:
        return validate(value, doc["components"]["schemas"][schema["$ref"].split("/")[-1]], doc)
    errs = []
    if schema.get("type") == "object":
        if not isinstance(value, dict):
            return [f"{value!r} is not an object"]
        errs += [f"missing {k}" for k in schema.get("required", []) if k not in value]
        for k, v in value.items():
            sub = schema.get("properties", {}).get(k)
            if sub and "enum" in sub and v not in sub["enum"]:
                errs.append(f"{k}: {v!r} not in the enum")
    return errs


def main():
    alice = psql(f"SELECT quant.create_api_key('{ALICE}', 'http products test')")
    bob = psql(f"SELECT quant.create_api_key('{BOB}', 'http products test')")
    srv = Server("products", QUANT_HTTP_RATE=5000, QUANT_HTTP_BURST=10000)
    try:
        run(srv, alice, bob)
    finally:
        rc = srv.stop() if srv.proc.poll() is None else srv.proc.returncode
        check("SIGTERM: the server exits 0", rc == 0, rc)
        if harness.T.failed == 0:
            import os
            os.unlink(srv.log.name)
        else:
            print(f"# server log kept: {srv.log.name}")


def run(srv, alice, bob):
    def R(method, path, body=None, key=alice):
        return srv.request(method, path, body, key=key)

    doc = R("GET", "/api/v1/openapi.json", key=None).json
    product_schema = doc["paths"]["/api/v1/products"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    check("openapi: GET /products answers an array of Product",
          product_schema == {"type": "array", "items": {"$ref": "#/components/schemas/Product"}}, product_schema)
    check("openapi: POST /products takes a ProductInput",
          "ProductInput" in doc["components"]["schemas"] and "post" in doc["paths"]["/api/v1/products"])

    # ---- products ----
    r = R("GET", "/api/v1/products")
    ttrc = next((p for p in (r.json or []) if p.get("internal_cusip") == "ttrc"), None)
    check("GET /products -> 200 with the shared product ttrc (data ticker TTRC)",
          r.status == 200 and ttrc is not None and ttrc["data_ticker"] == "TTRC" and ttrc["shared"], r)
    check("GET /products: each is a Product of the document",
          r.status == 200 and not [e for p in r.json for e in validate(p, {"$ref": "#/components/schemas/Product"}, doc)])
    check("GET /products without a key -> 401", is_problem(R("GET", "/api/v1/products", key=None), 401))
    spy = {"internal_cusip": "spy.arca", "display_name": "SPDR S&P 500 ETF", "asset_type": "etf", "exchange": "ARCA",
           "currency": "USD", "data_ticker": "SPY", "market": "US", "brokers": {"FUTU": "US.SPY"}}
    r = R("POST", "/api/v1/products", spy)
    check("POST /products -> 201 the product with its broker symbol",
          r.status == 201 and r.json.get("internal_cusip") == "spy.arca"
          and r.json.get("brokers", {}).get("FUTU", {}).get("symbol") == "US.SPY", r)
    check("POST /products: the answer is a Product", r.status == 201 and not validate(r.json, {"$ref": "#/components/schemas/Product"}, doc))
    r = R("GET", "/api/v1/ticker_mappings")
    check("... its broker symbol is a ticker mapping (the one place)",
          any(m["data_ticker"] == "SPY" and m["broker"] == "FUTU" and m["broker_ticker"] == "US.SPY" for m in r.json or []), r)
    check("POST /products again -> 409", is_problem(R("POST", "/api/v1/products", spy), 409))
    r = R("POST", "/api/v1/products", {**spy, "internal_cusip": "qqq.nasdaq", "asset_type": "stock"})
    check("POST /products with an unknown asset_type -> 422 naming asset_type, hint lists them",
          is_problem(r, 422, "asset_type") and "equity" in r.json.get("hint", ""), r)
    r = R("GET", "/api/v1/products", key=bob)
    check("another user does not see my product",
          r.status == 200 and not any(p["internal_cusip"] in ("spy.arca", "qqq.nasdaq") for p in r.json), r)

    # ---- PATCH /products/{internal_cusip}: one of your own ----
    r = R("PATCH", "/api/v1/products/spy.arca", {"display_name": "SPDR S&P 500 ETF Trust", "brokers": {"FUTU": "US.SPY", "PAPER": "SPY"}})
    check("PATCH /products/spy.arca -> 200 the changed product",
          r.status == 200 and r.json.get("display_name") == "SPDR S&P 500 ETF Trust"
          and r.json.get("data_ticker") == "SPY", r)
    check("... it is a Product of the document", r.status == 200 and not validate(r.json, {"$ref": "#/components/schemas/Product"}, doc))
    check("... the change is what GET /products lists",
          any(p["internal_cusip"] == "spy.arca" and p["display_name"] == "SPDR S&P 500 ETF Trust"
              for p in R("GET", "/api/v1/products").json or []))
    r = R("PATCH", "/api/v1/products/spy.arca", {"internal_cusip": "spy.nyse"})
    check("PATCH that changes internal_cusip -> 422 naming it", is_problem(r, 422, "internal_cusip"), r)
    r = R("PATCH", "/api/v1/products/spy.arca", {"asset_type": "stock"})
    check("PATCH with an unknown asset_type -> 422 naming asset_type", is_problem(r, 422, "asset_type"), r)
    check("PATCH a shared product -> 404 (a shared one is changed by adding your own)",
          is_problem(R("PATCH", "/api/v1/products/ttrc", {"display_name": "x"}), 404))
    check("PATCH another user's product -> 404, the same answer",
          is_problem(R("PATCH", "/api/v1/products/spy.arca", {"display_name": "bob was here"}, key=bob), 404))
    check("... and it is unchanged",
          any(p["internal_cusip"] == "spy.arca" and p["display_name"] == "SPDR S&P 500 ETF Trust"
              for p in R("GET", "/api/v1/products").json or []))
    check("PATCH /products/{key} with a key over 128 bytes -> 404",
          is_problem(R("PATCH", "/api/v1/products/" + "a" * 129, {"display_name": "x"}), 404))
    check("openapi: PATCH /products/{internal_cusip} takes a ProductPatch, its path parameter is internal_cusip",
          doc["paths"].get("/api/v1/products/{internal_cusip}", {}).get("patch", {}).get("parameters", [{}])[0].get("name")
          == "internal_cusip" and "ProductPatch" in doc["components"]["schemas"])

    # ---- the pipeline's Strategy JSON ----
    r = R("POST", "/api/v1/strategies", PIPELINE_CFG)
    s = r.json or {}
    check("POST /strategies with the pipeline's form (internal_cusip, no name) -> 201",
          r.status == 201 and s.get("ticker") == "TTRC" and s.get("internal_cusip") == "ttrc", r)
    check("... the pipeline's default name", s.get("name") == "ttrc_strategy_01a2356e", s.get("name"))
    check("... the substrategy's product comes back", (s.get("substrategies") or [{}, {}])[1].get("internal_cusip") == "ttrc", s)
    sid = s.get("strategy_id")
    bad = {**PIPELINE_CFG, "internal_cusip": "nope.nyse"}
    bad.pop("strategy_id")
    r = R("POST", "/api/v1/strategies", bad)
    check("POST /strategies with an unknown product -> 422 naming internal_cusip",
          is_problem(r, 422, "internal_cusip") and "nope.nyse" in r.json.get("detail", ""), r)
    check("... the hint says how to add it", "add_product" in (r.json or {}).get("hint", "")
          and "/api/v1/products" in (r.json or {}).get("hint", ""), r)
    bad = json.loads(json.dumps(PIPELINE_CFG))
    bad["substrategies"][1]["internal_cusip"] = "nope.crypto"
    r = R("POST", "/api/v1/strategies", bad)
    check("an unknown indicator underlying -> 422 naming substrategies[1].internal_cusip",
          is_problem(r, 422, "substrategies[1].internal_cusip"), r)
    r = R("GET", "/api/v1/strategies")
    check("... nothing stored", r.status == 200 and [x["strategy_id"] for x in r.json] == [sid], r)

    # ---- round trip: the stored strategy gives the same backtest ----
    stored = R("GET", f"/api/v1/strategies/{sid}").json
    m_round = R("POST", "/api/v1/backtest", {"config": stored}).json
    m_pipe = R("POST", "/api/v1/backtest", {"config": PIPELINE_CFG}).json
    m_seed = R("POST", "/api/v1/backtest", {"config": SEED_CFG}).json
    check("round trip: GET /strategies/{id} backtests like the pipeline's document and the seed's form",
          m_round and m_seed and m_pipe and m_round["metrics"] == m_seed["metrics"] == m_pipe["metrics"]
          and m_round["bars"] == m_seed["bars"] > 5000, (m_round, m_seed))

    # ---- the pipeline's BacktestResults: NaN in the text, display-name metrics, internal_cusip ----
    result = {"strategy_id": sid, "run_at": "2026-12-02T06:26:17.329389+00:00",
              "data_range": {"start": "1985-01-02", "end": "2006-12-29"}, "internal_cusip": "ttrc", "fee_bps": 5.0,
              "metrics": {"Total Return": -0.674, "Annualized Return": -0.0307, "Sharpe Ratio": -0.178,
                          "Max Drawdown": 0.894, "Calmar Ratio": NAN},
              "buy_hold_metrics": {"Total Return": 3.29, "Sharpe Ratio": NAN}}
    text = json.dumps(result)  # Python's default: NaN in the text, as the pipeline sends it
    check("the body really has NaN in it", "NaN" in text)
    r = R("POST", f"/api/v1/strategies/{sid}/results", text)
    res = r.json or {}
    check("POST /strategies/{id}/results with NaN -> 201", r.status == 201, r)
    check("... metrics under the seed's keys, NaN as null",
          res.get("metrics") == {"total_return": -0.674, "annualized_return": -0.0307, "sharpe_ratio": -0.178,
                                 "max_drawdown": 0.894, "calmar_ratio": None}, res.get("metrics"))
    check("... buy_hold_metrics likewise", res.get("buy_hold_metrics") == {"total_return": 3.29, "sharpe_ratio": None}, res)
    check("... ticker_backtested from internal_cusip, which comes back",
          res.get("ticker_backtested") == "TTRC" and res.get("internal_cusip") == "ttrc", res)
    r = R("POST", f"/api/v1/strategies/{sid}/results", {**result, "internal_cusip": "nope.nyse", "metrics": {"Sharpe Ratio": 1}})
    check("a result of an unknown product -> 422 naming internal_cusip", is_problem(r, 422, "internal_cusip"), r)
    r = R("GET", f"/api/v1/strategies/{sid}/results")
    check("... nothing stored: one result", r.status == 200 and len(r.json) == 1
          and r.json[0]["metrics"]["calmar_ratio"] is None, r)
    r = R("POST", "/api/v1/backtest", '{"config": {"ticker": "TTRC", "trading_period": 252, "substrategies": '
          '[{"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": NaN}]}}')
    check("NaN where a number is required -> 422 naming the field (not a parse error)",
          is_problem(r, 422, "substrategies[0].signal"), r)

    # ---- the one-click flow with the pipeline's own strategy_id (its results carry it) ----
    cid = PIPELINE_CFG["strategy_id"]
    check("the pipeline's strategy_id is kept as client_strategy_id beside an id of our own",
          s.get("client_strategy_id") == cid and sid != cid, s)
    r = R("POST", f"/api/v1/strategies/{cid}/results", json.dumps({**result, "strategy_id": cid}))
    check("POST /strategies/{the pipeline's id}/results -> 201, stored against the strategy",
          r.status == 201 and (r.json or {}).get("strategy_id") == sid, r)
    r = R("GET", f"/api/v1/strategies/{cid}")
    check("GET /strategies/{the pipeline's id} is the same strategy", r.status == 200 and r.json.get("strategy_id") == sid, r)
    r = R("GET", f"/api/v1/strategies/{cid}", key=bob)
    check("... and another user's 404", r.status == 404, r)


if __name__ == "__main__":
    harness.run_main(main)
