#include "routes.hpp"

namespace quant::http {

namespace {

Param id_param(const char* sql_name) {
    return {.name = sql_name,
            .sql_type = "uuid",
            .source = Source::path_id,
            .type = JsonType::string,
            .required = true,
            .description = "the object's id (UUID)"};
}
// A path segment that is a key other than a UUID, e.g. a product's internal_cusip.
Param key_param(const char* sql_name, const char* what) {
    return {.name = sql_name,
            .sql_type = "text",
            .source = Source::path_id,
            .type = JsonType::string,
            .required = true,
            .description = what};
}
Param body_param(const char* sql_name, const char* what) {
    return {.name = sql_name,
            .sql_type = "jsonb",
            .source = Source::body,
            .type = JsonType::object,
            .required = true,
            .description = what};
}
Param field(const char* name, const char* sql_type, JsonType type, bool required, const char* what) {
    return {.name = name,
            .sql_type = sql_type,
            .source = Source::body_field,
            .type = type,
            .required = required,
            .description = what};
}

Param query(const char* name, const char* sql_type, JsonType type, const char* what) {
    return {.name = name,
            .sql_type = sql_type,
            .source = Source::query,
            .type = type,
            .required = false,
            .description = what};
}

std::vector<Route> build() {
    const Param config = field("config", "jsonb", JsonType::object, true, "a StrategyConfig (seed 1.1)");
    const Param grid = field("grid", "jsonb", JsonType::array_or_object, true,
                             R"(per substrategy {"window": [..] | {min,max,step}, "signal": same})");
    const Param fee =
        field("fee_bps", "double precision", JsonType::number, false, "fee in basis points (default 5)");
    const Param from =
        field("from_ts", "timestamptz", JsonType::string, false, "first bar (ISO 8601), default: all");
    const Param to =
        field("to_ts", "timestamptz", JsonType::string, false, "last bar (ISO 8601), default: all");
    const Param include_stopped{.name = "include_stopped",
                                .sql_type = "boolean",
                                .source = Source::query,
                                .type = JsonType::boolean,
                                .required = false,
                                .description = "also the stopped ones (default false)"};
    return {
        // strategies
        {.method = "POST",
         .path = "/api/v1/strategies",
         .target = "quant.create_strategy",
         .status = 201,
         .params = {body_param("config", "a StrategyConfig")},
         .summary = "Create a strategy (or return/update the existing one)",
         .tag = "strategies",
         .request_schema = "StrategyConfig",
         .response_schema = "Strategy"},
        {.method = "GET",
         .path = "/api/v1/strategies",
         .target = "quant.list_strategies",
         .shape = Shape::set,
         .summary = "List your strategies",
         .tag = "strategies",
         .response_schema = "Strategy"},
        {.method = "GET",
         .path = "/api/v1/strategies/{id}",
         .target = "quant.get_strategy",
         .params = {id_param("id")},
         .summary = "A strategy with its latest backtest result",
         .tag = "strategies",
         .response_schema = "Strategy"},
        {.method = "PUT",
         .path = "/api/v1/strategies/{id}",
         .target = "quant.update_strategy",
         .params = {id_param("id"), body_param("config", "a StrategyConfig")},
         .summary = "Update a strategy (a new version when the parameters change)",
         .tag = "strategies",
         .request_schema = "StrategyConfig",
         .response_schema = "Strategy"},
        {.method = "DELETE",
         .path = "/api/v1/strategies/{id}",
         .target = "quant.delete_strategy",
         .params = {id_param("id")},
         .summary = "Soft-delete a strategy",
         .tag = "strategies",
         .response_schema = "Strategy"},
        {.method = "GET",
         .path = "/api/v1/strategies/{id}/versions",
         .target = "quant.strategy_versions",
         .shape = Shape::set,
         .params = {id_param("id")},
         .summary = "Every version of a strategy, oldest first (also of a deleted one)",
         .tag = "strategies",
         .response_schema = "StrategyVersion"},
        {.method = "POST",
         .path = "/api/v1/strategies/{id}/clone",
         .target = "quant.clone_strategy",
         .status = 201,
         .params = {id_param("id"), field("name", "text", JsonType::string, false,
                                          "the new strategy's name (default: \"<name> (copy)\")")},
         .summary = "Clone a strategy: a new strategy (version 1) with the current version's parameters",
         .tag = "strategies",
         .request_schema = "CloneStrategy",
         .response_schema = "Strategy"},
        // results
        {.method = "POST",
         .path = "/api/v1/strategies/{id}/results",
         .target = "quant.store_result",
         .status = 201,
         .params = {id_param("strategy_id"), body_param("result", "a BacktestResults")},
         .summary = "Store a backtest result of a strategy",
         .tag = "results",
         .request_schema = "BacktestResults",
         .response_schema = "BacktestResults"},
        {.method = "GET",
         .path = "/api/v1/strategies/{id}/results",
         .target = "quant.list_results",
         .shape = Shape::set,
         .params = {id_param("strategy_id")},
         .summary = "A strategy's stored backtest results",
         .tag = "results",
         .response_schema = "BacktestResults"},
        // deployments
        {.method = "POST",
         .path = "/api/v1/deployments",
         .target = "quant.deploy",
         .status = 201,
         .params = {body_param("deployment", "a DeploymentConfig")},
         .summary = "Deploy a strategy (paper=false needs confirm_live and trade_password)",
         .tag = "deployments",
         .request_schema = "DeploymentConfig",
         .response_schema = "Deployment",
         .live_switch = true},
        {.method = "GET",
         .path = "/api/v1/deployments",
         .target = "quant.list_deployments",
         .shape = Shape::set,
         .params = {include_stopped},
         .summary = "List your deployments",
         .tag = "deployments",
         .response_schema = "Deployment"},
        {.method = "GET",
         .path = "/api/v1/deployments/{id}",
         .target = "quant.get_deployment",
         .params = {id_param("id")},
         .summary = "A deployment with its status, last signal and recent trades",
         .tag = "deployments",
         .response_schema = "Deployment"},
        {.method = "PATCH",
         .path = "/api/v1/deployments/{id}",
         .target = "quant.update_deployment",
         .params = {id_param("id"), body_param("patch", "the fields to change")},
         .summary = "Change enabled, qty, risk_limits, schedule, portfolio or paper",
         .tag = "deployments",
         .request_schema = "DeploymentPatch",
         .response_schema = "Deployment",
         .live_switch = true},
        {.method = "DELETE",
         .path = "/api/v1/deployments/{id}",
         .target = "quant.stop_deployment",
         .params = {id_param("id")},
         .summary = "Stop a deployment (never deleted)",
         .tag = "deployments",
         .response_schema = "Deployment"},
        // the execution log
        {.method = "GET",
         .path = "/api/v1/deployments/{id}/trades",
         .target = "quant.deployment_trades",
         .shape = Shape::set,
         .params = {id_param("id")},
         .summary = "A deployment's trade history",
         .tag = "deployments",
         .response_schema = "Trade"},
        {.method = "GET",
         .path = "/api/v1/deployments/{id}/signals",
         .target = "quant.deployment_signals",
         .shape = Shape::set,
         .params = {id_param("id")},
         .summary = "A deployment's signal log",
         .tag = "deployments",
         .response_schema = "Signal"},
        // the kill switches and breakers (sql/TRADE/kill_switch.sql, breaker.sql)
        {.method = "POST",
         .path = "/api/v1/deployments/{id}/flatten",
         .target = "quant.flatten_deployment",
         .params = {id_param("id")},
         .summary = "Flatten a deployment: disable it and close its position through the checked path",
         .tag = "deployments",
         .response_schema = "Deployment"},
        {.method = "POST",
         .path = "/api/v1/deployments/disable_all",
         .target = "quant.disable_all_deployments",
         .summary = "Disable every deployment of yours (no new entries; exits and stop losses still run)",
         .tag = "deployments",
         .response_schema = "DisableAllResult"},
        {.method = "GET",
         .path = "/api/v1/dashboard",
         .target = "quant.deployment_dashboard",
         .shape = Shape::set,
         .params = {include_stopped},
         .summary = "The deployments dashboard in one call: each deployment with its last signal and trade, "
                    "trades today against the limit, position and P&L",
         .tag = "deployments",
         .response_schema = "DashboardRow"},
        {.method = "GET",
         .path = "/api/v1/breakers",
         .target = "quant.list_breakers",
         .shape = Shape::set,
         .params = {{.name = "include_reset",
                     .sql_type = "boolean",
                     .source = Source::query,
                     .type = JsonType::boolean,
                     .required = false,
                     .description = "also the breakers already reset (default false)"}},
         .summary = "Your loss and drawdown breakers that tripped (open ones by default)",
         .tag = "deployments",
         .response_schema = "Breaker"},
        {.method = "POST",
         .path = "/api/v1/breakers/{id}/reset",
         .target = "quant.reset_breaker",
         .params = {id_param("breaker_id")},
         .summary = "Reset a breaker (the deployments it disabled stay disabled until you enable them)",
         .tag = "deployments",
         .response_schema = "Breaker"},
        {.method = "GET",
         .path = "/api/v1/deployments/{id}/position",
         .target = "quant.deployment_position",
         .params = {id_param("id")},
         .summary = "A deployment's booked position: symbol, signed qty, avg_price, realized_pnl",
         .tag = "deployments",
         .response_schema = "Position"},
        {.method = "GET",
         .path = "/api/v1/deployments/{id}/audit",
         .target = "quant.audit_trail",
         .shape = Shape::set,
         .params = {id_param("entity_id")},
         .summary = "The audit trail of a deployment or strategy of yours, oldest first",
         .tag = "deployments",
         .response_schema = "AuditEntry"},
        {.method = "POST",
         .path = "/api/v1/deployments/{id}/run",
         .target = "quant.run_deployment",
         .params = {id_param("id")},
         .summary = "Evaluate a deployment now",
         .tag = "deployments",
         .response_schema = "RunResult"},
        // computation
        {.method = "POST",
         .path = "/api/v1/backtest",
         .target = "quant.backtest",
         .params = {config, fee, from, to},
         .summary = "Backtest a StrategyConfig over its ticker's bars",
         .tag = "backtests",
         .request_schema = "BacktestRequest",
         .response_schema = "BacktestResults"},
        {.method = "POST",
         .path = "/api/v1/backtest_series",
         .target = "quant.backtest_series",
         .shape = Shape::table,
         .params = {config, fee, from, to},
         .summary = "The per-bar series behind a backtest (price, position, equity, drawdown, buy and hold)",
         .tag = "backtests",
         .request_schema = "BacktestRequest",
         .response_schema = "SeriesRow"},
        {.method = "POST",
         .path = "/api/v1/optimize",
         .target = "quant.optimize",
         .params = {config, grid, fee, from, to,
                    field("objective", "text", JsonType::string, false,
                          "metric to optimise (default sharpe_ratio)"),
                    field("top_n", "integer", JsonType::integer, false,
                          "distinct best cells returned (default 10)"),
                    field("include_cells", "boolean", JsonType::boolean, false,
                          "every cell too (default false)")},
         .summary = "Exhaustive grid search",
         .tag = "backtests",
         .request_schema = "OptimizeRequest",
         .response_schema = "OptimizeResult",
         .long_running = true},
        {.method = "POST",
         .path = "/api/v1/walk_forward",
         .target = "quant.walk_forward",
         .params = {config, grid,
                    field("split_ratio", "double precision", JsonType::number, false,
                          "in-sample share (default 0.5)"),
                    fee, from, to,
                    field("warmup", "text", JsonType::string, false, "restart (default) or full")},
         .summary = "Walk-forward analysis",
         .tag = "backtests",
         .request_schema = "WalkForwardRequest",
         .response_schema = "WalkForwardResult",
         .long_running = true},
        // reference data
        {.method = "GET",
         .path = "/api/v1/indicators",
         .target = "refdata.indicator",
         .shape = Shape::rows,
         .summary = "The indicator catalog",
         .tag = "refdata",
         .response_schema = "Indicator"},
        {.method = "GET",
         .path = "/api/v1/signal_functions",
         .target = "refdata.signal_func",
         .shape = Shape::rows,
         .summary = "The signal-function catalog",
         .tag = "refdata",
         .response_schema = "SignalFunction"},
        {.method = "GET",
         .path = "/api/v1/products",
         .target = "quant.list_products",
         .shape = Shape::set,
         .summary =
             "Products you can name by internal_cusip (shared and your own): data ticker, broker symbols",
         .tag = "refdata",
         .response_schema = "Product"},
        {.method = "POST",
         .path = "/api/v1/products",
         .target = "quant.add_product",
         .status = 201,
         .params = {body_param("product", "a product")},
         .summary =
             "Add a product of yours (internal_cusip -> data ticker; brokers become your ticker mappings)",
         .tag = "refdata",
         .request_schema = "ProductInput",
         .response_schema = "Product"},
        {.method = "PATCH",
         .path = "/api/v1/products/{internal_cusip}",
         .target = "quant.update_product",
         .params = {key_param("internal_cusip", "one of your own products (shared ones are read-only)"),
                    body_param("patch",
                               "the fields to change (those of POST /products; internal_cusip stays)")},
         .summary = "Change one of your own products (strategies stored earlier keep their data ticker)",
         .tag = "refdata",
         .request_schema = "ProductPatch",
         .response_schema = "Product"},
        {.method = "GET",
         .path = "/api/v1/intervals",
         .target = "quant.list_intervals",
         .shape = Shape::set,
         .summary = "The bar intervals (1m 5m 15m 30m 1h 4h 1d 1w) with their lengths and bars a year",
         .tag = "bars",
         .response_schema = "BarInterval"},
        {.method = "GET",
         .path = "/api/v1/bars",
         .target = "quant.bars_page",
         .params = {Param{.name = "ticker",
                          .sql_type = "text",
                          .source = Source::query,
                          .type = JsonType::string,
                          .required = false,
                          .description = "the data ticker (or give internal_cusip)"},
                    Param{.name = "internal_cusip",
                          .sql_type = "text",
                          .source = Source::query,
                          .type = JsonType::string,
                          .required = false,
                          .description = "a product's internal_cusip (instead of ticker)"},
                    Param{.name = "interval",
                          .sql_type = "text",
                          .source = Source::query,
                          .type = JsonType::string,
                          .required = false,
                          .description = "the bar interval (default 1d)"},
                    Param{.name = "from",
                          .sql_type = "timestamptz",
                          .source = Source::query,
                          .type = JsonType::string,
                          .required = false,
                          .description = "first bar open time (ISO 8601), default: all"},
                    Param{.name = "to",
                          .sql_type = "timestamptz",
                          .source = Source::query,
                          .type = JsonType::string,
                          .required = false,
                          .description = "last bar open time (ISO 8601), default: all"},
                    Param{.name = "limit",
                          .sql_type = "integer",
                          .source = Source::query,
                          .type = JsonType::integer,
                          .required = false,
                          .description = "bars per page, 1 to 10000 (default 1000)"},
                    Param{.name = "cursor",
                          .sql_type = "timestamptz",
                          .source = Source::query,
                          .type = JsonType::string,
                          .required = false,
                          .description = "next_cursor of the previous page"}},
         .summary = "A page of bars of a product in an interval, oldest first; next_cursor continues it",
         .tag = "bars",
         .response_schema = "BarPage"},
        {.method = "POST",
         .path = "/api/v1/bars",
         .target = "quant.upload_bars_any",
         .status = 201,
         .params = {field("ticker", "text", JsonType::string, true,
                          "the data ticker the bars are stored under"),
                    field("interval", "text", JsonType::string, false, "the bar interval (default 1d)"),
                    field("bars", "jsonb", JsonType::array_or_object, false,
                          "[{ts (open time), open, high, low, close, volume}], or give csv"),
                    field("csv", "text", JsonType::string, false,
                          "CSV text with the header date,open,high,low,close,volume, or give bars")},
         .summary = "Upload bars (JSON rows or CSV text), all or nothing; each row checked",
         .tag = "bars",
         .request_schema = "BarUpload",
         .response_schema = "BarUploadResult"},
        {.method = "GET",
         .path = "/api/v1/ticker_mappings",
         .target = "quant.list_ticker_mappings",
         .shape = Shape::set,
         .summary = "Ticker mappings you see (shared and your own)",
         .tag = "refdata",
         .response_schema = "TickerMapping"},
        // the live feed (sql/MD/feed.sql): sources and the fetch log
        {.method = "GET",
         .path = "/api/v1/feeds",
         .target = "quant.list_feeds",
         .shape = Shape::set,
         .summary = "Market-data sources per data ticker and interval, with their fetch state",
         .tag = "feed",
         .response_schema = "Feed"},
        {.method = "GET",
         .path = "/api/v1/feed/log",
         .target = "quant.fetch_log",
         .shape = Shape::set,
         .params = {query("ticker", "text", JsonType::string, "only this data ticker"),
                    query("bar_interval", "text", JsonType::string, "only this bar interval (1m .. 1w)"),
                    query("max_rows", "integer", JsonType::integer,
                          "at most this many (1..1000, default 100)"),
                    query("before_id", "bigint", JsonType::integer,
                          "older than this fetch_id (the next page)")},
         .summary = "The fetch log, newest first: each fetch's product, times, rows, gaps and error",
         .tag = "feed",
         .response_schema = "Fetch"},
        // people's logins, by an administrator person (sql/TRADE/ui.sql; 403 for anyone else)
        {.method = "GET",
         .path = "/api/v1/admin/me",
         .target = "quant.person_is_admin",
         .summary = "Whether you are an administrator of logins: {user, admin} (never 403)",
         .tag = "admin",
         .response_schema = "AdminMe"},
        {.method = "GET",
         .path = "/api/v1/admin/users",
         .target = "quant.admin_list_users",
         .shape = Shape::set,
         .summary = "Every web UI login: admin, failures since the last success or reset, locked_until",
         .tag = "admin",
         .response_schema = "Login"},
        {.method = "POST",
         .path = "/api/v1/admin/users",
         .target = "quant.admin_create_user",
         .status = 201,
         .params = {field("user_id", "text", JsonType::string, true,
                          "the quant user name (1 to 64 of A-Z a-z 0-9 _ . @ -)"),
                    field("password", "text", JsonType::string, true,
                          "8 to 200 characters; stored as Argon2id only"),
                    field("admin", "boolean", JsonType::boolean, false,
                          "an administrator of logins too (default false)")},
         .summary = "Create a web UI login",
         .tag = "admin",
         .request_schema = "LoginCreate",
         .response_schema = "Login"},
        {.method = "POST",
         .path = "/api/v1/admin/users/reset_password",
         .target = "quant.admin_reset_password",
         .params = {field("user_id", "text", JsonType::string, true, "the login"),
                    field("password", "text", JsonType::string, true,
                          "the new password, 8 to 200 characters")},
         .summary = "Reset a login's password (clears its lockout, ends its sessions)",
         .tag = "admin",
         .request_schema = "LoginReset",
         .response_schema = "Login"},
        {.method = "POST",
         .path = "/api/v1/admin/users/unlock",
         .target = "quant.admin_unlock_user",
         .params = {field("user_id", "text", JsonType::string, true, "the login")},
         .summary = "End a login's lockout (the password stays)",
         .tag = "admin",
         .request_schema = "LoginUnlock",
         .response_schema = "Login"},
        // broker credentials (the secret goes in once and never comes back: only a fingerprint)
        {.method = "GET",
         .path = "/api/v1/broker_credentials",
         .target = "quant.list_broker_credentials",
         .shape = Shape::table,
         .summary = "Your broker credentials: broker, environment, a hint of the key and its fingerprint, "
                    "never the secret",
         .tag = "credentials",
         .response_schema = "BrokerCredential"},
        {.method = "PUT",
         .path = "/api/v1/broker_credentials",
         .target = "quant.set_broker_credential",
         .params = {field("broker", "text", JsonType::string, true, "BYBIT"),
                    field("environment", "text", JsonType::string, true,
                          "mainnet, testnet or demo (paper deployments trade on demo unless they name one)"),
                    field("api_key", "text", JsonType::string, true,
                          "the API key (1 to 128 of A-Z a-z 0-9 _ -)"),
                    field("api_secret", "text", JsonType::string, true,
                          "the API secret: encrypted at once, never returned or logged")},
         .summary = "Store or rotate your API key and secret for a broker and environment",
         .tag = "credentials",
         .request_schema = "BrokerCredentialInput",
         .response_schema = "BrokerCredentialStored"},
        {.method = "DELETE",
         .path = "/api/v1/broker_credentials",
         .target = "quant.delete_broker_credential",
         .params = {{.name = "broker",
                     .sql_type = "text",
                     .source = Source::query,
                     .type = JsonType::string,
                     .required = true,
                     .description = "BYBIT"},
                    {.name = "environment",
                     .sql_type = "text",
                     .source = Source::query,
                     .type = JsonType::string,
                     .required = true,
                     .description = "mainnet, testnet or demo"}},
         .summary = "Delete your credentials for a broker and environment (true when there were some)",
         .tag = "credentials",
         .response_schema = "Deleted"},
        // people's sessions (the web UI's cookie login; session.hpp)
        {.method = "POST",
         .path = "/api/v1/session",
         .params = {body_param("login", "user name and password")},
         .summary = "Log in with a user name and password: sets the HttpOnly session cookie",
         .tag = "session",
         .request_schema = "LoginRequest",
         .response_schema = "Session",
         .builtin = Builtin::session_login},
        {.method = "GET",
         .path = "/api/v1/session",
         .target = "quant.whoami",
         .summary = "Who is logged in (by session cookie or API key)",
         .tag = "session",
         .response_schema = "Whoami"},
        {.method = "DELETE",
         .path = "/api/v1/session",
         .summary = "Log out: ends the session and clears its cookie (needs X-Quant-Csrf)",
         .tag = "session",
         .response_schema = "Logout",
         .builtin = Builtin::session_logout},
        // operations, no key (/metrics is on its own address: main.cpp)
        {.method = "GET",
         .path = "/healthz",
         .summary = "The process is up",
         .tag = "operations",
         .response_schema = "Health",
         .builtin = Builtin::healthz},
        {.method = "GET",
         .path = "/readyz",
         .summary = "The database is reachable",
         .tag = "operations",
         .response_schema = "Health",
         .builtin = Builtin::readyz},
        {.method = "GET",
         .path = "/api/v1/openapi.json",
         .summary = "This document",
         .tag = "operations",
         .builtin = Builtin::openapi},
    };
}

// Segment-wise match; a placeholder ("{id}", "{internal_cusip}") matches one non-empty segment
// (its text in id, not copied). A route has at most one.
bool path_matches(std::string_view pattern, std::string_view path, std::string_view& id) {
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < pattern.size() && j < path.size()) {
        if (pattern[i] == '{') {
            const std::size_t close = pattern.find('}', i);
            const std::size_t end = path.find('/', j);
            const std::size_t stop = end == std::string_view::npos ? path.size() : end;
            if (close == std::string_view::npos || stop == j)
                return false;
            id = path.substr(j, stop - j);
            i = close + 1;
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
        args += "\"" + present[i]->name + "\" => $" + std::to_string(i + 1) + "::" + present[i]->sql_type;
    }
    switch (r.shape) {
        case Shape::one:
            return "SELECT " + r.target + "(" + args + ")::text";
        case Shape::set:
            return "SELECT r::text FROM " + r.target + "(" + args + ") AS r";
        case Shape::rows:
            return "SELECT to_jsonb(r)::text FROM " + r.target + " AS r";
        case Shape::table:
            return "SELECT to_jsonb(r)::text FROM " + r.target + "(" + args + ") AS r";
    }
    return {};
}

}  // namespace quant::http
