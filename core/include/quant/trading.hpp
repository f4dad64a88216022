// The pure rules of the live loop (seed §4 and §5), shared by the worker and by SQL: which
// orders move a position to `signal x qty` (apply_signal), and whether the risk checks let each
// one through. No I/O: the worker gathers the facts (cash, position, price, counts) and records
// every decision.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quant/deployment_config.hpp"
#include "quant/json.hpp"
#include "quant/no_postgres.hpp"

namespace quant {

enum class Side { buy, sell };
std::string_view side_name(Side s);  // "BUY" / "SELL"

struct PlannedOrder {
    Side side = Side::buy;
    double qty = 0;            // > 0
    bool reduce_only = false;  // only brings the position towards 0
    std::string leg;           // "close" (flatten the opposite side first) or "open"
};

// The orders that move `position` to `signal * qty`, closing the opposite side first (seed §5
// apply_signal). An empty plan is a HOLD. signal must be -1, 0 or 1 (validate_signal).
std::vector<PlannedOrder> plan_orders(double position, double signal, double qty);

// Throws Error{invalid_argument} unless signal is exactly -1, 0 or 1 (seed §4 "signal validation").
void validate_signal(double signal);

// What the worker knows when it checks one order. An unknown fact is nullopt, and an unknown
// fact the check needs fails closed.
struct RiskFacts {
    bool enabled = false;            // the kill switch: false stops entries, exits still run
    bool halted = false;             // the administrators' halt (quant.halt_trading): no order at all
    std::string breaker;             // an open loss/drawdown breaker (why), "" when none: entries stop
    bool broker_connected = false;   // connection check
    bool already_acted = false;      // duplicate guard: this signal was acted on
    std::optional<double> price;     // latest price of price_symbol
    std::optional<double> cash;      // available cash at the broker
    std::optional<double> position;  // current position (signed qty)
    int trades_today = 0;            // this deployment's orders this UTC day
    int orders_last_minute = 0;
    int consecutive_rejects = 0;
    // The limits are priced on what is traded: a price of any other instrument (the strategy's
    // data ticker, say) is no price at all, so both must be given and equal.
    std::string symbol;        // the broker symbol the order trades
    std::string price_symbol;  // the symbol `price` is the price of
    // The equity beyond its own proceeds that a short must keep, as a fraction of the short's
    // value (Reg T initial margin: 150 % of the value, the proceeds being 100 %).
    double short_margin = 0.5;
};

struct RiskDecision {
    bool allowed = false;
    std::string code;     // "" when allowed, else e.g. "kill_switch", "max_position"
    std::string message;  // for the REJECTED log row
};

// The checks, in order; the first that blocks decides. The halt blocks every order; an open
// breaker and the kill switch (enabled = false) block only orders that are not reduce-only, so exits and the
// stop loss still run. Reduce-only orders are never blocked by the position, notional, cash or margin checks
// (an exit is never trapped). Longs and shorts meet the same limits (|position| x price); a buy needs the
// cash, a sell that leaves a short needs cash after its proceeds of (1 + short_margin) x the short's value.
RiskDecision check_order(const PlannedOrder& order, const RiskLimits& limits, const RiskFacts& facts);

// Stop loss: true when a position's unrealised loss is past stop_loss_pct of its entry value.
bool stop_loss_triggered(double position, double average_price, double last_price, double stop_loss_pct);

// The deterministic client order id of a leg: the idempotency key at the broker. Built from the
// random tails of the deployment's and the signal's UUIDs; 36 characters (Bybit's orderLinkId).
std::string client_order_id(std::string_view deployment_id, std::string_view signal_id, std::string_view leg);

}  // namespace quant
