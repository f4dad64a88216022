#include "quant/deployment_config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>
#include <optional>

#include "config_fields.hpp"
#include "quant/catalog.hpp"
#include "quant/error.hpp"
#include "quant/uuid.hpp"
#include "table_names.hpp"

namespace quant {

namespace {

using fields::fail;
using fields::FieldSpec;
using fields::join_keys;
using fields::reject_unknown_keys;
using fields::shown;
using fields::Type;
using fields::type_name;

std::vector<std::string> open_order_policy_choices() {
    return {"cancel", "leave"};
}

std::vector<std::string> category_choices() {
    return {"spot", "linear"};
}

std::vector<std::string> environment_choices() {
    return {"demo", "testnet", "mainnet"};
}

std::vector<std::string> broker_choices() {
    return names::list(broker_catalog(), &BrokerInfo::name);
}

std::vector<std::string> market_choices() {
    return names::list(market_catalog(), &MarketInfo::name);
}

std::vector<std::string> schedule_choices() {
    return names::list(schedule_catalog(), &ScheduleInfo::name);
}

// JSON null is "not given" for every key but max_bar_age_hours (null: the check is off).
const std::array<FieldSpec, 16> risk_limit_table{{
    {.key = "max_position_usd",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .maximum = max_deployment_qty,
     .exclusive_minimum = true,
     .description = "reject an order that would hold more than this (USD); default 10000"},
    {.key = "max_daily_trades",
     .type = Type::integer,
     .nullable = true,
     .minimum = 1,
     .maximum = 100000,
     .description = "reject the trade after this many today (UTC); default 10"},
    {.key = "stop_loss_pct",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .maximum = 100,
     .exclusive_minimum = true,
     .description = "flatten when the unrealised loss passes this percentage; default 5"},
    {.key = "max_bar_age_hours",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .maximum = 1000000,
     .exclusive_minimum = true,
     .description =
         "refuse a bar older than this; default per schedule (daily_close 96, hourly 2); null turns "
         "the check off (paper only)"},
    {.key = "max_order_notional",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .exclusive_minimum = true,
     .description = "the largest order value (qty x price); none when not given"},
    {.key = "max_order_qty",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .exclusive_minimum = true,
     .description = "the largest order quantity; none when not given"},
    {.key = "max_orders_per_minute",
     .type = Type::integer,
     .nullable = true,
     .minimum = 1,
     .maximum = 10000,
     .description = "the order-rate throttle per deployment; default 6"},
    {.key = "max_consecutive_rejects",
     .type = Type::integer,
     .nullable = true,
     .minimum = 1,
     .maximum = 10000,
     .description = "rejects in a row before the deployment pauses; default 3"},
    {.key = "max_daily_loss",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .exclusive_minimum = true,
     .description = "breaker: the largest loss in a UTC day (account currency); off when not given"},
    {.key = "max_daily_loss_pct",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .maximum = 100,
     .exclusive_minimum = true,
     .description =
         "breaker: the largest loss in a UTC day in % of max_position_usd plus the P&L at the day's start"},
    {.key = "max_drawdown",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .exclusive_minimum = true,
     .description = "breaker: the largest fall of P&L below its peak (account currency)"},
    {.key = "max_drawdown_pct",
     .type = Type::number,
     .nullable = true,
     .minimum = 0,
     .maximum = 100,
     .exclusive_minimum = true,
     .description = "breaker: the largest fall below the peak in % of max_position_usd plus the peak P&L"},
    {.key = "max_consecutive_losses",
     .type = Type::integer,
     .nullable = true,
     .minimum = 1,
     .maximum = 10000,
     .description = "breaker: losing trades in a row that trip it"},
    {.key = "flatten_on_breach",
     .type = Type::boolean,
     .nullable = true,
     .description = "when a breaker trips, also flatten the position; default false"},
    {.key = "open_order_policy",
     .nullable = true,
     .choices = open_order_policy_choices,
     .description = "an order still open at the broker open_order_timeout_s after it was sent: cancel it "
                    "(the filled part stays booked) or leave it open (reconciled until it ends); default "
                    "cancel"},
    {.key = "open_order_timeout_s",
     .type = Type::integer,
     .nullable = true,
     .minimum = 1,
     .maximum = 86400,
     .description = "seconds an order may stay open after it was sent before open_order_policy applies; "
                    "default 60"},
}};

const std::array<FieldSpec, 19> deployment_table{{
    {.key = "deployment_id",
     .nullable = true,
     .format = "uuid",
     .description = "leave it out to have one generated"},
    {.key = "strategy_id",
     .required = true,
     .format = "uuid",
     .description = "the id of a strategy of yours"},
    {.key = "strategy_version",
     .type = Type::integer,
     .nullable = true,
     .minimum = 1,
     .maximum = 1000000000,
     .description = "leave it out to pin the current version"},
    {.key = "portfolio",
     .nullable = true,
     .min_length = 1,
     .max_length = 64,
     .description = "a portfolio label, default DEFAULT"},
    {.key = "user", .nullable = true, .min_length = 1, .max_length = 64, .description = "your user name"},
    {.key = "broker",
     .nullable = true,
     .choices = broker_choices,
     .fold_case = true,
     .description = "refdata.broker; default PAPER"},
    {.key = "ticker",
     .nullable = true,
     .min_length = 1,
     .max_length = 64,
     .description = "the broker's symbol; leave it out to use refdata.ticker_mapping"},
    {.key = "category",
     .nullable = true,
     .choices = category_choices,
     .description = "BYBIT only: spot or linear (USDT perpetuals); default linear"},
    {.key = "environment",
     .nullable = true,
     .choices = environment_choices,
     .description = "BYBIT only: demo or testnet with paper=true (default demo), mainnet with paper=false"},
    {.key = "qty",
     .type = Type::number,
     .required = true,
     .minimum = 0,
     .maximum = max_deployment_qty,
     .exclusive_minimum = true,
     .description = "position size per signal unit; whole shares for markets that trade them (US, HK)"},
    {.key = "paper", .type = Type::boolean, .nullable = true, .description = "default true"},
    {.key = "market",
     .nullable = true,
     .choices = market_choices,
     .fold_case = true,
     .description = "refdata.market; leave it out to use refdata.ticker_mapping"},
    {.key = "schedule",
     .nullable = true,
     .choices = schedule_choices,
     .fold_case = true,
     .description = "refdata.schedule; default daily_close"},
    {.key = "enabled",
     .type = Type::boolean,
     .nullable = true,
     .description = "the kill switch; default true"},
    {.key = "risk_limits", .type = Type::object, .nullable = true, .children = fields::risk_limit_fields},
    {.key = "confirm_live",
     .type = Type::boolean,
     .nullable = true,
     .description = "required (true) with paper=false; never stored"},
    {.key = "trade_password",
     .nullable = true,
     .min_length = 1,
     .max_length = 1024,
     .description = "required with paper=false; never stored"},
    {.key = "created_at", .ignored = true},
    {.key = "updated_at", .ignored = true},
}};

// Present and not null: JSON null means "not given" for optional fields.
bool given(const Json& obj, std::string_view key) {
    const auto it = obj.find(key);
    return it != obj.end() && !it->is_null();
}

std::string get_string(const Json& v, const std::string& field, std::size_t max_len,
                       const std::string& hint = {}) {
    if (!v.is_string())
        fail(field, "must be a string, got " + type_name(v), hint);
    auto s = v.get<std::string>();
    if (s.empty() || s.size() > max_len) {
        fail(field, "must be 1 to " + std::to_string(max_len) + " characters", hint);
    }
    return s;
}

bool get_bool(const Json& v, const std::string& field) {
    if (!v.is_boolean())
        fail(field, "must be true or false, got " + type_name(v), "true, false");
    return v.get<bool>();
}

double get_number(const Json& v, const std::string& field, const std::string& hint) {
    if (!v.is_number())
        fail(field, "must be a number, got " + type_name(v), hint);
    const double d = v.get<double>();
    if (!std::isfinite(d))
        fail(field, "must be finite, got " + shown(v), hint);
    return d;
}

int get_int(const Json& v, const std::string& field, long long lo, long long hi, const std::string& hint) {
    const double d = get_number(v, field, hint);
    if (d != std::floor(d))
        fail(field, "must be an integer, got " + shown(v), hint);
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
        fail(field,
             "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + shown(v),
             hint);
    }
    return static_cast<int>(d);
}

std::string get_uuid(const Json& v, const std::string& field, const std::string& hint) {
    std::string s = get_string(v, field, 36, hint);
    if (!is_uuid(s))
        fail(field, "must be a UUID, got \"" + s + "\"", hint);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// One of `valid`, compared after folding to the list's case (brokers and markets are upper
// case, schedules lower case).
std::string get_enum(const Json& v, const std::string& field, const std::vector<std::string>& valid,
                     bool upper, const std::string& what) {
    std::string names;
    for (const auto& n : valid)
        names += (names.empty() ? "" : ", ") + n;
    const std::string hint = "valid " + what + ": " + names;
    std::string s = get_string(v, field, 64, hint);
    std::transform(s.begin(), s.end(), s.begin(),
                   [upper](unsigned char c) { return upper ? std::toupper(c) : std::tolower(c); });
    if (std::find(valid.begin(), valid.end(), s) == valid.end()) {
        fail(field, "unknown " + what.substr(0, what.size() - 1) + " \"" + v.get<std::string>() + "\"", hint);
    }
    return s;
}

}  // namespace

namespace fields {
std::span<const FieldSpec> deployment_fields() {
    return deployment_table;
}
std::span<const FieldSpec> risk_limit_fields() {
    return risk_limit_table;
}
}  // namespace fields

RiskLimits parse_risk_limits(const Json& r) {
    RiskLimits out;
    if (!r.is_object()) {
        fail("risk_limits", "must be an object, got " + type_name(r),
             "fields: " + join_keys(risk_limit_table));
    }
    reject_unknown_keys(r, risk_limit_table, "risk_limits.");
    if (given(r, "max_position_usd")) {
        out.max_position_usd = get_number(r["max_position_usd"], "risk_limits.max_position_usd",
                                          "a positive amount in USD, default 10000");
        if (out.max_position_usd <= 0 || out.max_position_usd > max_deployment_qty) {
            fail("risk_limits.max_position_usd",
                 "must be greater than 0 and at most 1e12, got " + shown(r["max_position_usd"]),
                 "a positive amount in USD, default 10000");
        }
    }
    if (given(r, "max_daily_trades")) {
        out.max_daily_trades = get_int(r["max_daily_trades"], "risk_limits.max_daily_trades", 1, 100000,
                                       "a whole number of trades per day, default 10");
    }
    if (given(r, "stop_loss_pct")) {
        out.stop_loss_pct = get_number(r["stop_loss_pct"], "risk_limits.stop_loss_pct",
                                       "a percentage above 0 and at most 100, default 5.0");
        if (out.stop_loss_pct <= 0 || out.stop_loss_pct > 100) {
            fail("risk_limits.stop_loss_pct",
                 "must be greater than 0 and at most 100, got " + shown(r["stop_loss_pct"]),
                 "a percentage above 0 and at most 100, default 5.0");
        }
    }
    // Present as null: the stale-bar check is off (paper only, checked by the caller below).
    if (const auto it = r.find("max_bar_age_hours"); it != r.end()) {
        out.has_max_bar_age_hours = true;
        if (it->is_null()) {
            out.max_bar_age_hours = std::numeric_limits<double>::quiet_NaN();
        } else {
            const std::string hint =
                "hours (above 0, at most 1000000), or null to turn the check off (paper only); "
                "default 96 for daily_close, 2 for hourly";
            out.max_bar_age_hours = get_number(*it, "risk_limits.max_bar_age_hours", hint);
            if (out.max_bar_age_hours <= 0 || out.max_bar_age_hours > 1000000) {
                fail("risk_limits.max_bar_age_hours",
                     "must be greater than 0 and at most 1000000, got " + shown(*it), hint);
            }
        }
    }
    const auto optional_positive = [&](const char* key, const char* hint) -> std::optional<double> {
        if (!given(r, key))
            return std::nullopt;
        const std::string field = std::string("risk_limits.") + key;
        const double v = get_number(r[key], field, hint);
        if (v <= 0)
            fail(field, "must be greater than 0, got " + shown(r[key]), hint);
        return v;
    };
    out.max_order_notional =
        optional_positive("max_order_notional", "the largest order value in USD; leave it out for none");
    out.max_order_qty =
        optional_positive("max_order_qty", "the largest order quantity; leave it out for none");
    if (given(r, "max_orders_per_minute")) {
        out.max_orders_per_minute = get_int(r["max_orders_per_minute"], "risk_limits.max_orders_per_minute",
                                            1, 10000, "orders per minute per deployment, default 6");
    }
    if (given(r, "max_consecutive_rejects")) {
        out.max_consecutive_rejects =
            get_int(r["max_consecutive_rejects"], "risk_limits.max_consecutive_rejects", 1, 10000,
                    "rejects in a row before the deployment pauses, default 3");
    }
    if (given(r, "open_order_policy")) {
        const Json& v = r["open_order_policy"];
        if (!v.is_string() || (v.get<std::string>() != "cancel" && v.get<std::string>() != "leave")) {
            fail("risk_limits.open_order_policy", "must be cancel or leave, got " + shown(v),
                 "cancel, leave");
        }
        out.open_order_policy = v.get<std::string>();
    }
    if (given(r, "open_order_timeout_s")) {
        out.open_order_timeout_s = get_int(r["open_order_timeout_s"], "risk_limits.open_order_timeout_s", 1,
                                           86400, "seconds from 1 to 86400, default 60");
    }
    out.breakers = parse_breaker_fields(r, "risk_limits.");
    return out;
}

DeploymentConfig parse_deployment_config(const Json& doc) {
    if (!doc.is_object()) {
        throw Error(ErrorCode::invalid_config, "",
                    "a deployment config must be a JSON object, got " + type_name(doc),
                    "fields: " + join_keys(deployment_table));
    }
    reject_unknown_keys(doc, deployment_table, "");
    DeploymentConfig cfg;

    if (given(doc, "deployment_id")) {
        cfg.deployment_id =
            get_uuid(doc["deployment_id"], "deployment_id", "leave it out to have one generated");
    }
    if (!given(doc, "strategy_id"))
        fail("strategy_id", "is required", "the id of a strategy of yours");
    cfg.strategy_id = get_uuid(doc["strategy_id"], "strategy_id", "the id of a strategy of yours");
    if (given(doc, "strategy_version")) {
        cfg.strategy_version = get_int(doc["strategy_version"], "strategy_version", 1, 1000000000,
                                       "a version of the strategy; leave it out to pin the current one");
    }
    if (given(doc, "portfolio")) {
        cfg.portfolio = get_string(doc["portfolio"], "portfolio", 64, "a portfolio label, default DEFAULT");
    }
    if (given(doc, "user"))
        cfg.user = get_string(doc["user"], "user", 64, "your user name, or leave it out");
    if (given(doc, "broker"))
        cfg.broker = get_enum(doc["broker"], "broker", broker_choices(), true, "brokers");
    if (given(doc, "ticker")) {
        cfg.ticker =
            get_string(doc["ticker"], "ticker", 64,
                       "the broker's symbol, e.g. \"US.AAPL\"; leave it out to use the ticker mapping");
    }
    if (given(doc, "market"))
        cfg.market = get_enum(doc["market"], "market", market_choices(), true, "markets");
    if (given(doc, "category")) {
        cfg.category = get_enum(doc["category"], "category", category_choices(), false, "categories");
        if (cfg.broker != "BYBIT")
            fail("category", "is for broker BYBIT only, got broker " + cfg.broker, "leave it out");
    }

    if (given(doc, "environment")) {
        cfg.environment =
            get_enum(doc["environment"], "environment", environment_choices(), false, "environments");
        if (cfg.broker != "BYBIT")
            fail("environment", "is for broker BYBIT only, got broker " + cfg.broker, "leave it out");
    }

    const std::string qty_hint =
        "a positive position size per signal; whole shares for US and HK, decimals for CRYPTO";
    if (!given(doc, "qty"))
        fail("qty", "is required", qty_hint);
    cfg.qty = get_number(doc["qty"], "qty", qty_hint);
    if (cfg.qty <= 0 || cfg.qty > max_deployment_qty) {
        fail("qty", "must be greater than 0 and at most 1e12, got " + shown(doc["qty"]), qty_hint);
    }
    if (const MarketInfo* m = find_market(cfg.market);
        m != nullptr && m->whole_shares && cfg.qty != std::floor(cfg.qty)) {
        fail("qty",
             "must be a whole number of shares for market " + cfg.market + ", got " + shown(doc["qty"]),
             qty_hint);
    }

    if (given(doc, "paper"))
        cfg.paper = get_bool(doc["paper"], "paper");
    if (given(doc, "schedule"))
        cfg.schedule = get_enum(doc["schedule"], "schedule", schedule_choices(), false, "schedules");
    if (given(doc, "enabled"))
        cfg.enabled = get_bool(doc["enabled"], "enabled");
    if (given(doc, "risk_limits"))
        cfg.risk_limits = parse_risk_limits(doc["risk_limits"]);
    if (given(doc, "confirm_live"))
        cfg.confirm_live = get_bool(doc["confirm_live"], "confirm_live");
    if (given(doc, "trade_password")) {
        if (!doc["trade_password"].is_string()) {
            fail("trade_password", "must be a string, got " + type_name(doc["trade_password"]));
        }
        const auto n = doc["trade_password"].get_ref<const std::string&>().size();
        if (n == 0 || n > 1024)
            fail("trade_password", "must be 1 to 1024 characters");
        cfg.has_trade_password = true;
    }
    if (!cfg.paper && cfg.risk_limits.has_max_bar_age_hours &&
        std::isnan(cfg.risk_limits.max_bar_age_hours)) {
        fail("risk_limits.max_bar_age_hours",
             "null (no stale-bar check) is allowed for paper deployments only",
             "give a number of hours, or leave it out for the schedule's default (96 daily_close, 2 hourly)");
    }
    if (!cfg.paper && !find_broker(cfg.broker)->trades_live) {
        std::string live;
        for (const auto& b : broker_catalog()) {
            if (b.trades_live)
                live += std::string(live.empty() ? "" : " or ") + std::string(b.name);
        }
        fail("paper",
             "must be true for broker " + cfg.broker + " (the embedded paper broker cannot trade live)",
             "choose broker " + live + " to trade live");
    }
    // simulated funds (demo, testnet) are paper; real funds (mainnet) are live, behind the gate
    if (!cfg.environment.empty() && cfg.paper == (cfg.environment == "mainnet")) {
        fail("environment",
             cfg.paper ? "mainnet trades real funds: it needs paper=false, got paper=true"
                       : "paper=false trades on mainnet, got environment " + cfg.environment,
             cfg.paper ? "demo or testnet (or leave it out) with paper=true" : "mainnet (or leave it out)");
    }
    return cfg;
}

DeploymentConfig parse_deployment_config(std::string_view text) {
    return parse_deployment_config(parse_json(text));
}

Json to_json(const RiskLimits& limits) {
    Json out{{"max_position_usd", limits.max_position_usd},
             {"max_daily_trades", limits.max_daily_trades},
             {"stop_loss_pct", limits.stop_loss_pct}};
    if (limits.max_order_notional)
        out["max_order_notional"] = *limits.max_order_notional;
    if (limits.max_order_qty)
        out["max_order_qty"] = *limits.max_order_qty;
    out["max_orders_per_minute"] = limits.max_orders_per_minute;
    out["max_consecutive_rejects"] = limits.max_consecutive_rejects;
    if (limits.has_max_bar_age_hours) {
        out["max_bar_age_hours"] =
            std::isnan(limits.max_bar_age_hours) ? Json(nullptr) : Json(limits.max_bar_age_hours);
    }
    const BreakerLimits& b = limits.breakers;
    const auto put = [&](const char* k, const std::optional<double>& v) {
        if (v)
            out[k] = *v;
    };
    put("max_daily_loss", b.max_daily_loss);
    put("max_daily_loss_pct", b.max_daily_loss_pct);
    put("max_drawdown", b.max_drawdown);
    put("max_drawdown_pct", b.max_drawdown_pct);
    if (b.max_consecutive_losses)
        out["max_consecutive_losses"] = *b.max_consecutive_losses;
    if (b.flatten_on_breach)
        out["flatten_on_breach"] = true;
    if (limits.open_order_policy)
        out["open_order_policy"] = *limits.open_order_policy;
    if (limits.open_order_timeout_s)
        out["open_order_timeout_s"] = *limits.open_order_timeout_s;
    return out;
}

Json to_json(const DeploymentConfig& cfg) {
    Json out = Json::object();
    if (!cfg.deployment_id.empty())
        out["deployment_id"] = cfg.deployment_id;
    out["strategy_id"] = cfg.strategy_id;
    if (cfg.strategy_version > 0)
        out["strategy_version"] = cfg.strategy_version;
    out["portfolio"] = cfg.portfolio;
    if (!cfg.user.empty())
        out["user"] = cfg.user;
    out["broker"] = cfg.broker;
    if (!cfg.ticker.empty())
        out["ticker"] = cfg.ticker;
    out["qty"] = cfg.qty == std::floor(cfg.qty) && std::fabs(cfg.qty) < 9e15
                     ? Json(static_cast<long long>(cfg.qty))
                     : Json(cfg.qty);
    out["paper"] = cfg.paper;
    if (!cfg.market.empty())
        out["market"] = cfg.market;
    if (!cfg.category.empty())
        out["category"] = cfg.category;
    if (!cfg.environment.empty())
        out["environment"] = cfg.environment;
    out["schedule"] = cfg.schedule;
    out["enabled"] = cfg.enabled;
    out["risk_limits"] = to_json(cfg.risk_limits);
    return out;
}

}  // namespace quant
