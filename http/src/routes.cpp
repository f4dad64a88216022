#include "routes.hpp"

namespace quant::http {

namespace {

Param id_param(const char* sql_name) {
    return {sql_name, "uuid", Source::path_id, JsonType::string, true, "the object's id (UUID)"};
}
Param body_param(const char* sql_name, const char* what) {
    return {sql_name, "jsonb", Source::body, JsonType::object, true, what};
}
Param field(const char* name, const char* sql_type, JsonType type, bool required, const char* what) {
    return {name, sql_type, Source::body_field, type, required, what};
}

std::vector<Route> build() {
    const Param config = field("config", "jsonb", JsonType::object, true, "a StrategyConfig (seed 1.1)");
    const Param grid = field("grid", "jsonb", JsonType::array_or_object, true,
                             "per substrategy {\"window\": [..] | {min,max,step}, \"signal\": same}");
    const Param fee =
        field("fee_bps", "double precision", JsonType::number, false, "fee in basis points (default 5)");
    const Param from =
        field("from_ts", "timestamptz", JsonType::string, false, "first bar (ISO 8601), default: all");
    const Param to =
        field("to_ts", "timestamptz", JsonType::string, false, "last bar (ISO 8601), default: all");
    std::vector<Route> r;
    // seed 2.1: strategies
    r.push_back({"POST",
                 "/api/v1/strategies",
                 "quant.create_strategy",
                 Shape::one,
                 201,
                 {body_param("config", "a StrategyConfig")},
                 "Create a strategy (or return/update the existing one)",
                 "strategies",
                 "StrategyConfig",
                 "Strategy"});
    r.push_back({"GET",
                 "/api/v1/strategies",
                 "quant.list_strategies",
                 Shape::set,
                 200,
                 {},
                 "List your strategies",
                 "strategies",
                 "",
                 "Strategy"});
    r.push_back({"GET",
                 "/api/v1/strategies/{id}",
                 "quant.get_strategy",
                 Shape::one,
                 200,
                 {id_param("id")},
                 "A strategy with its latest backtest result",
                 "strategies",
                 "",
                 "Strategy"});
    r.push_back({"PUT",
                 "/api/v1/strategies/{id}",
                 "quant.update_strategy",
                 Shape::one,
                 200,
                 {id_param("id"), body_param("config", "a StrategyConfig")},
                 "Update a strategy (a new version when the parameters change)",
                 "strategies",
                 "StrategyConfig",
                 "Strategy"});
    r.push_back({"DELETE",
                 "/api/v1/strategies/{id}",
                 "quant.delete_strategy",
                 Shape::one,
                 200,
                 {id_param("id")},
                 "Soft-delete a strategy",
                 "strategies",
                 "",
                 "Strategy"});
    // seed 2.4: results
    r.push_back({"POST",
                 "/api/v1/strategies/{id}/results",
                 "quant.store_result",
                 Shape::one,
                 201,
                 {id_param("strategy_id"), body_param("result", "a BacktestResults")},
                 "Store a backtest result of a strategy",
                 "results",
                 "BacktestResults",
                 "BacktestResults"});
    r.push_back({"GET",
                 "/api/v1/strategies/{id}/results",
                 "quant.list_results",
                 Shape::set,
                 200,
                 {id_param("strategy_id")},
                 "A strategy's stored backtest results",
                 "results",
                 "",
                 "BacktestResults"});
    // seed 2.2: deployments
    Route deploy{"POST",
                 "/api/v1/deployments",
                 "quant.deploy",
                 Shape::one,
                 201,
                 {body_param("deployment", "a DeploymentConfig")},
                 "Deploy a strategy (paper=false needs confirm_live and trade_password)",
                 "deployments",
                 "DeploymentConfig",
                 "Deployment"};
    deploy.live_switch = true;
    r.push_back(deploy);
    r.push_back({"GET",
                 "/api/v1/deployments",
                 "quant.list_deployments",
                 Shape::set,
                 200,
                 {{"include_stopped", "boolean", Source::query, JsonType::boolean, false,
                   "also the stopped ones (default false)"}},
                 "List your deployments",
                 "deployments",
                 "",
                 "Deployment"});
    r.push_back({"GET",
                 "/api/v1/deployments/{id}",
                 "quant.get_deployment",
                 Shape::one,
                 200,
                 {id_param("id")},
                 "A deployment with its status, last signal and recent trades",
                 "deployments",
                 "",
                 "Deployment"});
    Route patch{"PATCH",
                "/api/v1/deployments/{id}",
                "quant.update_deployment",
                Shape::one,
                200,
                {id_param("id"), body_param("patch", "the fields to change")},
                "Change enabled, qty, risk_limits, schedule, portfolio or paper",
                "deployments",
                "DeploymentPatch",
                "Deployment"};
    patch.live_switch = true;
    r.push_back(patch);
    r.push_back({"DELETE",
                 "/api/v1/deployments/{id}",
                 "quant.stop_deployment",
                 Shape::one,
                 200,
                 {id_param("id")},
                 "Stop a deployment (never deleted)",
                 "deployments",
                 "",
                 "Deployment"});
    // seed 2.3: the execution log
    r.push_back({"GET",
                 "/api/v1/deployments/{id}/trades",
                 "quant.deployment_trades",
                 Shape::set,
                 200,
                 {id_param("id")},
                 "A deployment's trade history",
                 "deployments",
                 "",
                 "Trade"});
    r.push_back({"GET",
                 "/api/v1/deployments/{id}/signals",
                 "quant.deployment_signals",
                 Shape::set,
                 200,
                 {id_param("id")},
                 "A deployment's signal log",
                 "deployments",
                 "",
                 "Signal"});
    r.push_back({"POST",
                 "/api/v1/deployments/{id}/run",
                 "quant.run_deployment",
                 Shape::one,
                 200,
                 {id_param("id")},
                 "Evaluate a deployment now",
                 "deployments",
                 "",
                 "RunResult"});
    // computation
    r.push_back({"POST",
                 "/api/v1/backtest",
                 "quant.backtest",
                 Shape::one,
                 200,
                 {config, fee, from, to},
                 "Backtest a StrategyConfig over its ticker's bars",
                 "backtests",
                 "BacktestRequest",
                 "BacktestResults"});
    Route opt{
        "POST",
        "/api/v1/optimize",
        "quant.optimize",
        Shape::one,
        200,
        {config, grid, fee, from, to,
         field("objective", "text", JsonType::string, false, "metric to optimise (default sharpe_ratio)"),
         field("top_n", "integer", JsonType::integer, false, "distinct best cells returned (default 10)"),
         field("include_cells", "boolean", JsonType::boolean, false, "every cell too (default false)")},
        "Exhaustive grid search",
        "backtests",
        "OptimizeRequest",
        "OptimizeResult"};
    opt.long_running = true;
    r.push_back(opt);
    Route wf{
        "POST",
        "/api/v1/walk_forward",
        "quant.walk_forward",
        Shape::one,
        200,
        {config, grid,
         field("split_ratio", "double precision", JsonType::number, false, "in-sample share (default 0.5)"),
         fee, from, to, field("warmup", "text", JsonType::string, false, "restart (default) or full")},
        "Walk-forward analysis",
        "backtests",
        "WalkForwardRequest",
        "WalkForwardResult"};
    wf.long_running = true;
    r.push_back(wf);
    // reference data
    r.push_back({"GET",
                 "/api/v1/indicators",
                 "refdata.indicator",
                 Shape::rows,
                 200,
                 {},
                 "The indicator catalog",
                 "refdata",
                 "",
                 "Indicator"});
    r.push_back({"GET",
                 "/api/v1/signal_functions",
                 "refdata.signal_func",
                 Shape::rows,
                 200,
                 {},
                 "The signal-function catalog",
                 "refdata",
                 "",
                 "SignalFunction"});
    r.push_back({"GET",
                 "/api/v1/ticker_mappings",
                 "quant.list_ticker_mappings",
                 Shape::set,
                 200,
                 {},
                 "Ticker mappings you see (shared and your own)",
                 "refdata",
                 "",
                 "TickerMapping"});
    // operations (no key)
    Route b{"GET", "/healthz", "", Shape::one, 200, {}, "The process is up", "operations", "", "Health"};
    b.builtin = Builtin::healthz;
    r.push_back(b);
    b.path = "/readyz";
    b.summary = "The database is reachable";
    b.builtin = Builtin::readyz;
    r.push_back(b);
    b.path = "/metrics";
    b.summary = "Prometheus metrics (text format)";
    b.response_schema = "";
    b.builtin = Builtin::metrics;
    r.push_back(b);
    b.path = "/api/v1/openapi.json";
    b.summary = "This document";
    b.builtin = Builtin::openapi;
    r.push_back(b);
    return r;
}

// Segment-wise match; "{id}" matches one non-empty segment (its text in id, not copied).
bool path_matches(std::string_view pattern, std::string_view path, std::string_view& id) {
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < pattern.size() && j < path.size()) {
        if (pattern.compare(i, 4, "{id}") == 0) {
            const std::size_t end = path.find('/', j);
            const std::size_t stop = end == std::string_view::npos ? path.size() : end;
            if (stop == j)
                return false;
            id = path.substr(j, stop - j);
            i += 4;
            j = stop;
            continue;
        }
        if (pattern[i] != path[j])
            return false;
        ++i;
        ++j;
    }
    return i == pattern.size() && j == path.size();
}

}  // namespace

bool Route::has_body() const {
    for (const auto& p : params) {
        if (p.source == Source::body || p.source == Source::body_field)
            return true;
    }
    return false;
}

const std::vector<Route>& routes() {
    static const std::vector<Route> table = build();
    return table;
}

const Route* match_route(std::string_view method, std::string_view path, std::string& id, bool& path_known,
                         std::string& allowed_methods) {
    path_known = false;
    allowed_methods.clear();
    const Route* found = nullptr;
    for (const auto& r : routes()) {
        std::string_view seg;
        if (!path_matches(r.path, path, seg))
            continue;
        path_known = true;
        if (!allowed_methods.empty())
            allowed_methods += ", ";
        allowed_methods += r.method;
        if (found == nullptr && r.method == method) {
            found = &r;
            id.assign(seg);
        }
    }
    return found;
}

std::string call_sql(const Route& r, const std::vector<const Param*>& present) {
    std::string args;
    for (std::size_t i = 0; i < present.size(); ++i) {
        if (i > 0)
            args += ", ";
        args += present[i]->name + " => $" + std::to_string(i + 1) + "::" + present[i]->sql_type;
    }
    switch (r.shape) {
        case Shape::one:
            return "SELECT " + r.target + "(" + args + ")::text";
        case Shape::set:
            return "SELECT r::text FROM " + r.target + "(" + args + ") AS r";
        case Shape::rows:
            return "SELECT to_jsonb(r)::text FROM " + r.target + " AS r";
    }
    return {};
}

}  // namespace quant::http
