// DeploymentConfig (seed §1.2): where and how a strategy trades. Parsing, validation and the
// normalised form; the one validator for SQL (extension), the worker and the REST layer.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "quant/breakers.hpp"
#include "quant/json.hpp"
#include "quant/no_postgres.hpp"

namespace quant {

struct RiskLimits {
    double max_position_usd = 10000.0;  // reject an order that would hold more than this
    int max_daily_trades = 10;          // reject the trade after this many today
    double stop_loss_pct = 5.0;         // flatten when the unrealised loss passes this
    // Stale-bar limit of the live loop (quant.run_schedule): a bar older than this many hours
    // is refused (a REJECTED log row, no signal). Tri-state: not given (has_ = false) means the
    // schedule's default (daily_close 96, hourly 2); given as JSON null (has_ = true, value
    // NaN) turns the check off, allowed for paper deployments only (historical sample data).
    bool has_max_bar_age_hours = false;
    double max_bar_age_hours = 0.0;            // NaN: null (off); meaningful only when has_ is true
    std::optional<double> max_order_notional;  // per order (qty * price); none when not given
    std::optional<double> max_order_qty;
    int max_orders_per_minute = 6;    // the order-rate throttle
    int max_consecutive_rejects = 3;  // then the deployment pauses until a person re-enables it
    // The deployment's loss and drawdown breakers (quant/breakers.hpp; all off unless given;
    // the percentages are of max_position_usd plus the P&L).
    BreakerLimits breakers;
    // Orders that do not finish at once (issue 15): an order still open at the broker
    // open_order_timeout_s after its send is cancelled ("cancel": the filled part stays booked,
    // the rest is never re-sent) or left open ("leave": reconciled until the broker ends it).
    // Not given: the defaults below (and to_json leaves them out).
    std::optional<std::string> open_order_policy;  // "cancel" | "leave"
    std::optional<int> open_order_timeout_s;       // 1..86400
};
inline constexpr const char* default_open_order_policy = "cancel";
inline constexpr int default_open_order_timeout_s = 60;

// risk_limits of a Deployment JSON (missing keys take the defaults above). The worker reads a
// stored deployment's limits with it.
RiskLimits parse_risk_limits(const Json& doc);
// The normalised risk_limits: defaults filled, optional limits only when given.
Json to_json(const RiskLimits& limits);

struct DeploymentConfig {
    std::string deployment_id;  // empty when not given (the database generates it)
    std::string strategy_id;    // required: the StrategyConfig it trades
    int strategy_version = 0;   // 0: not given (deploy pins the current version)
    std::string portfolio = "DEFAULT";
    std::string user;  // empty when not given; deploy requires the current user
    std::string broker = "PAPER";
    std::string ticker;    // broker symbol; empty: filled from refdata.ticker_mapping
    std::string market;    // empty: filled from refdata.ticker_mapping
    std::string category;  // BYBIT only: "spot" or "linear"; empty: linear
    // BYBIT only: "demo" or "testnet" (paper) or "mainnet" (live); empty: demo when paper, else mainnet
    std::string environment;
    // Position size per signal unit. Decimal on purpose (crypto trades fractions); US and HK
    // take whole shares, so a fractional qty is refused there.
    double qty = 0.0;
    bool paper = true;  // paper-first (seed §4)
    std::string schedule = "daily_close";
    bool enabled = true;  // the kill switch
    RiskLimits risk_limits;
    // The live gate's inputs (seed §4.1): accepted, checked by the caller, never stored or
    // echoed by to_json().
    bool confirm_live = false;
    bool has_trade_password = false;
};

inline constexpr double max_deployment_qty = 1e12;

// Brokers, markets and schedules are the catalogs of quant/catalog.hpp.
// Throws Error{invalid_config} naming the field (JSON path) with a hint listing valid values.
DeploymentConfig parse_deployment_config(const Json& doc);
DeploymentConfig parse_deployment_config(std::string_view text);

// The normalised form: defaults filled, fixed keys, no confirm_live/trade_password.
Json to_json(const DeploymentConfig& cfg);

}  // namespace quant
