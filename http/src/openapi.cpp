#include "openapi.hpp"

#include <nlohmann/json.hpp>

#include "quant/config_schema.hpp"
#include "routes.hpp"

namespace quant::http {

namespace {

using nlohmann::json;

json ref(const std::string& name) {
    return {{"$ref", "#/components/schemas/" + name}};
}

// Schemas of the JSON the SQL functions take and return. The Strategy and Deployment configs
// (and SubStrategy, RiskLimits, DeploymentPatch from them) are the core's schemas, exactly the keys
// its validators accept; the other shapes list only the keys a client relies on (the rest is open).
json schemas() {
    const json num_or_null = {{"type", json::array({"number", "null"})}};
    const json str = {{"type", "string"}};
    const json uuid = {{"type", "string"}, {"format", "uuid"}};
    const json metrics = {{"type", "object"},
                          {"properties",
                           {{"total_return", num_or_null},
                            {"annualized_return", num_or_null},
                            {"sharpe_ratio", num_or_null},
                            {"max_drawdown", num_or_null},
                            {"calmar_ratio", num_or_null}}}};
    json s;
    s["Metrics"] = metrics;
    // The config schemas are the core's, built from its validators' key tables.
    json strategy_config = quant::strategy_config_schema();
    strategy_config.erase("$schema");
    const json& strategy_props = strategy_config["properties"];
    s["SubStrategy"] = strategy_props["substrategies"]["items"];
    s["StrategyConfig"] = strategy_config;
    s["Strategy"] = {
        {"type", "object"},
        {"required", {"strategy_id", "name", "version", "ticker", "substrategies", "created_at"}},
        {"properties",
         {{"strategy_id", uuid},
          {"client_strategy_id",
           {{"type", "string"},
            {"format", "uuid"},
            {"description",
             "the strategy_id the client sent when it was not one of yours; accepted wherever a strategy id "
             "is"}}},
          {"name", str},
          {"version", {{"type", "integer"}}},
          {"ticker", str},
          {"internal_cusip", strategy_props["internal_cusip"]},
          {"conjunction", strategy_props["conjunction"]},
          {"trading_period", strategy_props["trading_period"]},
          {"fill_delay_bars", strategy_props["fill_delay_bars"]},
          {"substrategies", {{"type", "array"}, {"items", ref("SubStrategy")}}},
          {"created_at", str},
          {"updated_at", str},
          {"deleted_at", {{"type", json::array({"string", "null"})}}},
          {"latest_result", {{"type", json::array({"object", "null"})}}}}}};
    s["BacktestResults"] = {
        {"type", "object"},
        {"required", {"metrics"}},
        {"properties",
         {{"strategy_id", uuid},
          {"result_id", uuid},
          {"run_at", str},
          {"data_range", {{"type", "object"}, {"properties", {{"start", str}, {"end", str}}}}},
          {"ticker_backtested", str},
          {"internal_cusip", {{"type", "string"}, {"description", "the product the client named, as sent"}}},
          {"fee_bps", {{"type", "number"}}},
          {"metrics", ref("Metrics")},
          {"buy_hold_metrics", ref("Metrics")},
          {"walk_forward", {{"type", json::array({"object", "null"})}}}}}};
    json deployment_config = quant::deployment_config_schema();
    deployment_config.erase("$schema");
    const json& deployment_props = deployment_config["properties"];
    s["RiskLimits"] = deployment_props["risk_limits"];
    s["DeploymentConfig"] = deployment_config;
    json patch = {{"type", "object"}, {"additionalProperties", false}, {"properties", json::object()}};
    for (const char* key : {"enabled", "qty", "risk_limits", "schedule", "portfolio", "paper", "confirm_live",
                            "trade_password"}) {
        patch["properties"][key] = deployment_props[key];
    }
    s["DeploymentPatch"] = patch;
    s["Deployment"] = {{"type", "object"},
                       {"required",
                        {"deployment_id", "strategy_id", "user", "broker", "ticker", "qty", "paper", "status",
                         "risk_limits"}},
                       {"properties",
                        {{"deployment_id", uuid},
                         {"strategy_id", uuid},
                         {"strategy_version", {{"type", "integer"}}},
                         {"user", str},
                         {"portfolio", str},
                         {"broker", str},
                         {"ticker", str},
                         {"market", str},
                         {"qty", {{"type", "number"}}},
                         {"paper", {{"type", "boolean"}}},
                         {"schedule", str},
                         {"enabled", {{"type", "boolean"}}},
                         {"status", {{"type", "string"}, {"enum", {"active", "disabled", "stopped"}}}},
                         {"risk_limits", ref("RiskLimits")},
                         {"recent_trades", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                         {"last_signal", {{"type", json::array({"object", "null"})}}}}}};
    s["Position"] = {{"type", "object"},
                     {"required", {"deployment_id", "symbol", "qty", "realized_pnl"}},
                     {"properties",
                      {{"deployment_id", uuid},
                       {"symbol", str},
                       {"qty", {{"type", "number"}, {"description", "signed: > 0 long, < 0 short"}}},
                       {"avg_price", {{"type", json::array({"number", "null"})}}},
                       {"realized_pnl", {{"type", "number"}}},
                       {"updated_at", {{"type", json::array({"string", "null"})}}}}}};
    s["AuditEntry"] = {{"type", "object"},
                       {"required", {"audit_id", "at", "entity", "entity_id", "action"}},
                       {"properties",
                        {{"audit_id", uuid},
                         {"at", str},
                         {"user", {{"type", json::array({"string", "null"})}}},
                         {"db_role", {{"type", json::array({"string", "null"})}}},
                         {"entity", str},
                         {"entity_id", uuid},
                         {"action", str},
                         {"old", {{"type", json::array({"object", "null"})}}},
                         {"new", {{"type", json::array({"object", "null"})}}},
                         {"message", {{"type", json::array({"string", "null"})}}}}}};
    s["StrategyVersion"] = {
        {"type", "object"},
        {"description", "one stored version: its normalised StrategyConfig with these keys"},
        {"required", {"strategy_id", "version", "created_at", "params_hash", "substrategies"}},
        {"properties",
         {{"strategy_id", uuid},
          {"version", {{"type", "integer"}}},
          {"created_at", str},
          {"params_hash", str},
          {"name", str},
          {"ticker", str},
          {"substrategies", {{"type", "array"}, {"items", ref("SubStrategy")}}}}}};
    s["Trade"] = {{"type", "object"},
                  {"required", {"log_id", "deployment_id", "action", "success"}},
                  {"properties",
                   {{"log_id", uuid},
                    {"deployment_id", uuid},
                    {"action", {{"type", "string"}, {"enum", {"BUY", "SELL", "HOLD", "REJECTED"}}}},
                    {"success", {{"type", "boolean"}}}}}};
    s["Signal"] = {{"type", "object"},
                   {"required", {"signal_id", "deployment_id", "signal", "bar_ts"}},
                   {"properties",
                    {{"signal_id", uuid},
                     {"deployment_id", uuid},
                     {"signal", {{"type", "integer"}, {"enum", {-1, 0, 1}}}},
                     {"bar_ts", str}}}};
    s["DashboardRow"] = {
        {"allOf",
         {ref("Deployment"),
          {{"type", "object"},
           {"required", {"trades_today", "max_daily_trades", "position_qty", "realized_pnl"}},
           {"properties",
            {{"last_trade", {{"type", json::array({"object", "null"})}}},
             {"trades_today", {{"type", "integer"}, {"description", "orders today (UTC), not rejected"}}},
             {"max_daily_trades", {{"type", "integer"}}},
             {"position_qty", {{"type", "number"}}},
             {"avg_price", num_or_null},
             {"last_price", num_or_null},
             {"realized_pnl", {{"type", "number"}}},
             {"unrealized_pnl", num_or_null},
             {"pnl", num_or_null}}}}}}};
    s["AdminMe"] = {{"type", "object"},
                    {"required", {"user", "admin"}},
                    {"properties", {{"user", str}, {"admin", {{"type", "boolean"}}}}}};
    s["Login"] = {{"type", "object"},
                  {"required", {"user", "admin", "failures"}},
                  {"properties",
                   {{"user", str},
                    {"admin", {{"type", "boolean"}}},
                    {"created_at", str},
                    {"password_set_at", str},
                    {"failures", {{"type", "integer"}}},
                    {"locked_until", {{"type", json::array({"string", "null"})}}}}}};
    s["DisableAllResult"] = {
        {"type", "object"},
        {"required", {"disabled", "deployment_ids"}},
        {"properties",
         {{"disabled", {{"type", "integer"}}}, {"deployment_ids", {{"type", "array"}, {"items", uuid}}}}}};
    s["Breaker"] = {{"type", "object"},
                    {"required", {"breaker_id", "scope", "breaker", "message", "tripped_at", "open"}},
                    {"properties",
                     {{"breaker_id", uuid},
                      {"scope", {{"type", "string"}, {"enum", {"deployment", "account"}}}},
                      {"deployment_id", {{"type", json::array({"string", "null"})}}},
                      {"breaker", str},
                      {"message", str},
                      {"tripped_at", str},
                      {"open", {{"type", "boolean"}}}}}};
    s["RunResult"] = {
        {"type", "object"},
        {"description", "the new or existing signal (outcome SIGNAL or DUPLICATE) or the rejection"},
        {"properties", {{"outcome", {{"type", "string"}, {"enum", {"SIGNAL", "DUPLICATE", "REJECTED"}}}}}}};
    s["OptimizeResult"] = {{"type", "object"},
                           {"required", {"best", "top", "grid_size", "evaluated", "valid", "search"}},
                           {"properties",
                            {{"best", {{"type", json::array({"object", "null"})}}},
                             {"top", {{"type", "array"}}},
                             {"grid_size", {{"type", "integer"}}},
                             {"evaluated", {{"type", "integer"}}},
                             {"valid", {{"type", "integer"}}},
                             {"search", str}}}};
    s["WalkForwardResult"] = {
        {"type", "object"},
        {"required", {"best_window", "best_signal", "is_sharpe", "oos_sharpe", "overfitting_ratio"}},
        {"properties",
         {{"best_window", {{"type", json::array({"integer", "null"})}}},
          {"best_signal", num_or_null},
          {"is_sharpe", num_or_null},
          {"oos_sharpe", num_or_null},
          {"overfitting_ratio", num_or_null}}}};
    s["Indicator"] = {
        {"type", "object"},
        {"required", {"name", "description"}},
        {"properties", {{"name", str}, {"description", str}, {"bounded", {{"type", "boolean"}}}}}};
    s["SignalFunction"] = {{"type", "object"},
                           {"required", {"name", "description"}},
                           {"properties", {{"name", str}, {"description", str}, {"kind", str}}}};
    s["TickerMapping"] = {{"type", "object"},
                          {"required", {"data_ticker", "broker", "broker_ticker", "market", "shared"}},
                          {"properties",
                           {{"data_ticker", str},
                            {"broker", str},
                            {"broker_ticker", str},
                            {"market", str},
                            {"shared", {{"type", "boolean"}}}}}};
    s["SeriesRow"] = {{"type", "object"},
                      {"required", {"ts", "price", "cumulative", "buy_hold_cumulative"}},
                      {"properties",
                       {{"ts", str},
                        {"price", num_or_null},
                        {"position", num_or_null},
                        {"pnl", num_or_null},
                        {"cumulative", num_or_null},
                        {"drawdown", num_or_null},
                        {"buy_hold_cumulative", num_or_null},
                        {"buy_hold_drawdown", num_or_null},
                        {"indicator_values", {{"type", json::array({"array", "null"})}}},
                        {"substrategy_positions", {{"type", json::array({"array", "null"})}}}}}};
    s["LoginRequest"] = {{"type", "object"},
                         {"additionalProperties", false},
                         {"required", {"user", "password"}},
                         {"properties", {{"user", str}, {"password", str}}}};
    s["Session"] = {{"type", "object"},
                    {"required", {"user", "expires_at"}},
                    {"properties", {{"user", str}, {"expires_at", str}}}};
    s["Whoami"] = {{"type", "object"}, {"required", {"user"}}, {"properties", {{"user", str}}}};
    s["Logout"] = {{"type", "object"},
                   {"required", {"logged_out"}},
                   {"properties", {{"logged_out", {{"type", "boolean"}}}}}};
    const json product_props = {
        {"internal_cusip", {{"type", "string"}, {"description", "the user's identifier, e.g. aapl.nyse"}}},
        {"display_name", str},
        {"asset_type",
         {{"type", "string"},
          {"enum", {"equity", "etf", "index", "crypto", "fx", "future", "commodity", "bond"}}}},
        {"exchange", {{"type", json::array({"string", "null"})}}},
        {"currency", str},
        {"data_ticker", {{"type", "string"}, {"description", "the ticker of its bars in md.bar"}}},
        {"market", {{"type", json::array({"string", "null"})}}},
        {"brokers",
         {{"type", "object"},
          {"description", "per broker its symbol (the ticker mapping of the data ticker)"},
          {"additionalProperties",
           {{"oneOf", json::array({str,
                                   {{"type", "object"},
                                    {"required", {"symbol"}},
                                    {"properties", {{"symbol", str}, {"market", str}}}}})}}}}}};
    s["ProductInput"] = {
        {"type", "object"},
        {"required", {"internal_cusip", "display_name", "asset_type", "currency", "data_ticker"}},
        {"properties", product_props}};
    s["ProductPatch"] = {{"type", "object"},
                         {"description", "the fields of ProductInput to change; internal_cusip stays"},
                         {"properties", product_props}};
    json product_out = product_props;
    product_out["shared"] = {{"type", "boolean"}};
    s["Product"] = {
        {"type", "object"},
        {"required",
         {"internal_cusip", "display_name", "asset_type", "currency", "data_ticker", "brokers", "shared"}},
        {"properties", product_out}};
    // the live feed (sql/MD/feed.sql)
    const json nstr = {{"type", json::array({"string", "null"})}};
    const json nint = {{"type", json::array({"integer", "null"})}};
    s["Feed"] = {{"type", "object"},
                 {"required", {"ticker", "interval", "source", "enabled", "failures"}},
                 {"properties",
                  {{"ticker", str},
                   {"interval", str},
                   {"source", {{"type", "string"}, {"description", "manual, or the broker (BYBIT)"}}},
                   {"symbol", nstr},
                   {"category", nstr},
                   {"continuous", {{"type", "boolean"}}},
                   {"enabled", {{"type", "boolean"}}},
                   {"min_bars", {{"type", "integer"}}},
                   {"last_bar_ts", nstr},
                   {"last_fetch_id", nint},
                   {"last_ok_at", nstr},
                   {"last_error", nstr},
                   {"failures", {{"type", "integer"}}},
                   {"updated_at", str}}}};
    s["Fetch"] = {{"type", "object"},
                  {"required", {"fetch_id", "ticker", "interval", "source", "status", "requested_at"}},
                  {"properties",
                   {{"fetch_id", {{"type", "integer"}}},
                    {"run_id", nint},
                    {"ticker", str},
                    {"interval", str},
                    {"source", str},
                    {"symbol", str},
                    {"status", {{"type", "string"}, {"enum", {"PENDING", "FETCHING", "DONE", "FAILED"}}}},
                    {"requested_at", str},
                    {"started_at", nstr},
                    {"finished_at", nstr},
                    {"attempts", {{"type", "integer"}}},
                    {"start_ts", nstr},
                    {"rows_received", nint},
                    {"rows_stored", nint},
                    {"first_bar_ts", nstr},
                    {"last_bar_ts", nstr},
                    {"gaps", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                    {"error", nstr}}}};
    const json num = {{"type", "number"}};
    s["BarInterval"] = {{"type", "object"},
                        {"required", {"name", "seconds"}},
                        {"properties",
                         {{"name", str},
                          {"seconds", {{"type", "integer"}}},
                          {"offset_seconds", {{"type", "integer"}}},
                          {"equity_bars_per_year", {{"type", "integer"}}},
                          {"crypto_bars_per_year", {{"type", "integer"}}},
                          {"description", str}}}};
    const json bar = {{"type", "object"},
                      {"required", {"ts", "close"}},
                      {"properties",
                       {{"ts", {{"type", "string"}, {"description", "the bar's open time (UTC)"}}},
                        {"close_ts", {{"type", "string"}, {"description", "ts + the interval"}}},
                        {"open", num_or_null},
                        {"high", num_or_null},
                        {"low", num_or_null},
                        {"close", num},
                        {"volume", num_or_null}}}};
    s["BarPage"] = {{"type", "object"},
                    {"required", {"ticker", "interval", "bars", "next_cursor"}},
                    {"properties",
                     {{"ticker", str},
                      {"interval", str},
                      {"bars", {{"type", "array"}, {"items", bar}}},
                      {"next_cursor", {{"type", json::array({"string", "null"})}}}}}};
    s["BarUpload"] = {
        {"type", "object"},
        {"required", {"ticker"}},
        {"properties",
         {{"ticker", str},
          {"interval", str},
          {"bars", {{"type", "array"}, {"items", bar}}},
          {"csv", {{"type", "string"}, {"description", "header date,open,high,low,close,volume"}}}}}};
    s["BarUploadResult"] = {{"type", "object"},
                            {"required", {"ticker", "interval", "rows"}},
                            {"properties",
                             {{"ticker", str},
                              {"interval", str},
                              {"rows", {{"type", "integer"}}},
                              {"first", str},
                              {"last", str}}}};
    s["BrokerCredential"] = {
        {"type", "object"},
        {"description", "never the secret"},
        {"required", {"broker", "environment", "api_key_hint", "fingerprint", "created_at"}},
        {"properties",
         {{"broker", str},
          {"environment", {{"type", "string"}, {"enum", {"mainnet", "testnet", "demo"}}}},
          {"api_key_hint", str},
          {"fingerprint", str},
          {"created_at", str},
          {"rotated_at", {{"type", json::array({"string", "null"})}}}}}};
    s["BrokerCredentialStored"] = {
        {"type", "object"},
        {"description", "never the secret"},
        {"required", {"broker", "environment", "api_key_hint", "fingerprint", "rotated"}},
        {"properties",
         {{"broker", str},
          {"environment", str},
          {"api_key_hint", str},
          {"fingerprint", str},
          {"rotated", {{"type", "boolean"}, {"description", "true when it replaced a stored key"}}}}}};
    s["Deleted"] = {{"type", "boolean"}, {"description", "true when something was deleted"}};
    s["Health"] = {{"type", "object"}, {"required", {"status"}}, {"properties", {{"status", str}}}};
    s["Problem"] = {{"type", "object"},
                    {"description", "RFC 9457 problem details"},
                    {"required", {"type", "title", "status", "detail", "request_id"}},
                    {"properties",
                     {{"type", str},
                      {"title", str},
                      {"status", {{"type", "integer"}}},
                      {"detail", str},
                      {"instance", str},
                      {"field", {{"type", "string"}, {"description", "the offending field (SQL COLUMN)"}}},
                      {"hint", {{"type", "string"}, {"description", "valid values or the way out"}}},
                      {"request_id", str}}}};
    return s;
}

json json_type_schema(JsonType t) {
    switch (t) {
        case JsonType::object:
            return {{"type", "object"}};
        case JsonType::array_or_object:
            return {{"type", json::array({"array", "object"})}};
        case JsonType::number:
            return {{"type", "number"}};
        case JsonType::integer:
            return {{"type", "integer"}};
        case JsonType::string:
            return {{"type", "string"}};
        case JsonType::boolean:
            return {{"type", "boolean"}};
    }
    return json::object();
}

json problem_response(const char* description) {
    return {{"description", description},
            {"content", {{"application/problem+json", {{"schema", ref("Problem")}}}}}};
}

}  // namespace

std::string openapi_document() {
    json doc;
    doc["openapi"] = "3.1.0";
    doc["info"] = {
        {"title", "quant Trade API"},
        {"version", "0.1.0"},
        {"description",
         "The Trade API (seed section 2) over HTTP: each operation calls one SQL function of the quant "
         "extension as the API key's user. Errors are RFC 9457 problem details."}};
    doc["servers"] = json::array({{{"url", "/"}}});
    json comps;
    comps["schemas"] = schemas();
    comps["securitySchemes"] = {{"apiKey",
                                 {{"type", "http"},
                                  {"scheme", "bearer"},
                                  {"description", "an API key from quant.create_api_key(user)"}}},
                                {"session",
                                 {{"type", "apiKey"},
                                  {"in", "cookie"},
                                  {"name", "quant_session"},
                                  {"description",
                                   "the web UI's session cookie from POST /api/v1/session; mutations "
                                   "also send the header X-Quant-Csrf"}}}};
    json paths = json::object();
    for (const auto& r : routes()) {
        json op;
        // a readable, unique id: the SQL function's (or view's) name, or the operational path
        op["operationId"] = r.builtin == Builtin::none             ? r.target.substr(r.target.find('.') + 1)
                            : r.builtin == Builtin::session_login  ? std::string("login")
                            : r.builtin == Builtin::session_logout ? std::string("logout")
                                                                   : r.path.substr(r.path.rfind('/') + 1);
        op["summary"] = r.summary;
        op["tags"] = json::array({r.tag});
        if (r.builtin == Builtin::none) {
            op["x-sql-function"] = r.target;
            op["security"] = json::array({{{"apiKey", json::array()}}, {{"session", json::array()}}});
        } else {
            op["security"] = json::array();
        }
        json params = json::array();
        json body_props = json::object();
        json body_required = json::array();
        json body_schema;
        for (const auto& p : r.params) {
            switch (p.source) {
                case Source::path_id:
                    if (p.sql_type == "uuid") {
                        params.push_back({{"name", "id"},
                                          {"in", "path"},
                                          {"required", true},
                                          {"description", p.description + "; not a UUID: 404"},
                                          {"schema", {{"type", "string"}, {"format", "uuid"}}}});
                    } else {
                        params.push_back({{"name", p.name},
                                          {"in", "path"},
                                          {"required", true},
                                          {"description", p.description},
                                          {"schema", {{"type", "string"}, {"maxLength", 128}}}});
                    }
                    break;
                case Source::query:
                    params.push_back({{"name", p.name},
                                      {"in", "query"},
                                      {"required", p.required},
                                      {"description", p.description},
                                      {"schema", json_type_schema(p.type)}});
                    break;
                case Source::body:
                    body_schema = ref(r.request_schema);
                    break;
                case Source::body_field: {
                    json f = p.name == "config" ? ref("StrategyConfig") : json_type_schema(p.type);
                    f["description"] = p.description;
                    body_props[p.name] = f;
                    if (p.required)
                        body_required.push_back(p.name);
                    break;
                }
            }
        }
        if (!body_props.empty()) {
            comps["schemas"][r.request_schema] = {{"type", "object"},
                                                  {"additionalProperties", false},
                                                  {"required", body_required},
                                                  {"properties", body_props}};
            body_schema = ref(r.request_schema);
        }
        if (!params.empty())
            op["parameters"] = params;
        if (!body_schema.is_null()) {
            op["requestBody"] = {{"required", true},
                                 {"content", {{"application/json", {{"schema", body_schema}}}}}};
        }
        json ok_schema;
        if (!r.response_schema.empty()) {
            ok_schema = r.shape == Shape::one ? ref(r.response_schema)
                                              : json{{"type", "array"}, {"items", ref(r.response_schema)}};
        }
        json responses;
        const std::string code = std::to_string(r.status);
        if (r.builtin == Builtin::openapi) {
            responses[code] = {{"description", "this document"},
                               {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
        } else {
            responses[code] = {{"description", "success"},
                               {"content", {{"application/json", {{"schema", ok_schema}}}}}};
        }
        if (r.builtin == Builtin::readyz)
            responses["503"] = problem_response("the database is not reachable");
        if (r.builtin == Builtin::session_login) {
            responses["401"] = problem_response("the user name or password is wrong");
            responses["429"] =
                problem_response("the login is locked, or too many failures from this address");
        }
        if (r.authenticated()) {
            if (r.has_body()) {
                responses["400"] = problem_response("malformed JSON, NULL or malformed value (22P02, 22004)");
                responses["413"] =
                    problem_response("body over the size or nesting limit, or a grid too big (54000)");
                responses["422"] =
                    problem_response("an invalid field value (22023, QA003) or too few bars (QA002)");
            } else {
                responses["400"] = problem_response("a malformed query parameter");
            }
            responses["401"] = problem_response("missing, malformed, unknown or revoked API key");
            if (r.live_switch) {
                responses["403"] =
                    problem_response("the live gate refused (42501): confirm_live and trade_password");
            }
            if (r.path.rfind("/api/v1/admin/", 0) == 0 && r.path != "/api/v1/admin/me")
                responses["403"] = problem_response("not an administrator of logins (42501)");
            responses["404"] = problem_response(
                "not found (also another user's object, an id that is not a UUID, or a ticker without "
                "bars: QA001)");
            responses["409"] = problem_response("a state conflict (55000, 55006) or a concurrent change");
            responses["429"] = problem_response("rate limit of the API key (see Retry-After)");
            responses["503"] = problem_response("timed out (57014), or the database is unavailable");
        }
        op["responses"] = responses;
        std::string method = r.method;
        for (auto& c : method)
            c = static_cast<char>(c | 0x20);
        paths[r.path][method] = op;
    }
    doc["paths"] = paths;
    doc["components"] = comps;
    return doc.dump(2);
}

}  // namespace quant::http
