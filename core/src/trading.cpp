#include "quant/trading.hpp"

#include <cmath>

#include "quant/error.hpp"
#include "quant/live_rules.hpp"

namespace quant {

std::string_view side_name(Side s) {
    return s == Side::buy ? "BUY" : "SELL";
}

void validate_signal(double signal) {
    if (!(signal == -1.0 || signal == 0.0 || signal == 1.0)) {
        throw Error(ErrorCode::invalid_argument, "signal",
                    "signal: must be -1, 0 or 1, got " +
                        (std::isnan(signal) ? std::string("NaN") : Json(signal).dump()),
                    "signals are positions: -1 short, 0 flat, 1 long");
    }
}

std::vector<PlannedOrder> plan_orders(double position, double signal, double qty) {
    validate_signal(signal);
    if (!(qty > 0.0) || !std::isfinite(qty)) {
        throw Error(ErrorCode::invalid_argument, "qty", "qty: must be a positive number");
    }
    if (!std::isfinite(position)) {
        throw Error(ErrorCode::invalid_argument, "position", "position: unknown (not a finite number)");
    }
    const double target = signal * qty;
    std::vector<PlannedOrder> plan;
    if (position == target)
        return plan;
    const bool opposite = (position > 0 && target < 0) || (position < 0 && target > 0);
    if (opposite || target == 0.0) {
        // Flatten first: a reduce-only leg that never flips the position by itself.
        plan.push_back({position > 0 ? Side::sell : Side::buy, std::fabs(position), true, "close"});
        if (target != 0.0)
            plan.push_back({target > 0 ? Side::buy : Side::sell, std::fabs(target), false, "open"});
        return plan;
    }
    const double diff = target - position;  // same side (or flat -> target)
    const bool reduces = std::fabs(target) < std::fabs(position);
    plan.push_back({diff > 0 ? Side::buy : Side::sell, std::fabs(diff), reduces, reduces ? "close" : "open"});
    return plan;
}

namespace {

RiskDecision reject(std::string code, std::string message) {
    return {false, std::move(code), std::move(message)};
}

}  // namespace

RiskDecision check_order(const PlannedOrder& order, const RiskLimits& limits, const RiskFacts& facts) {
    if (facts.halted)
        return reject("halted", "trading is halted by an administrator (quant.halt_trading)");
    if (!facts.breaker.empty() && !order.reduce_only)
        return reject("breaker", facts.breaker);
    if (!facts.enabled && !order.reduce_only)
        return reject("kill_switch", "deployment is disabled (kill switch): no new entries, exits only");
    if (facts.already_acted)
        return reject("duplicate", "this signal was already acted on (duplicate guard)");
    if (!facts.broker_connected)
        return reject("connection", "broker is not reachable (connection check)");
    if (facts.consecutive_rejects >= limits.max_consecutive_rejects) {
        return reject("paused", "paused after " + std::to_string(facts.consecutive_rejects) +
                                    " consecutive rejects; re-enable the deployment to resume");
    }
    if (!(order.qty > 0.0) || !(order.qty <= max_deployment_qty))
        return reject("invalid_order", "order quantity is not positive and at most 1e12");
    if (facts.trades_today >= limits.max_daily_trades) {
        return reject("max_daily_trades", "max_daily_trades reached: " + std::to_string(facts.trades_today) +
                                              " of " + std::to_string(limits.max_daily_trades) +
                                              " today (UTC)");
    }
    if (facts.orders_last_minute >= limits.max_orders_per_minute) {
        return reject("throttle", "order rate limit: " + std::to_string(facts.orders_last_minute) +
                                      " orders in the last minute");
    }
    if (!facts.position.has_value() || !std::isfinite(*facts.position)) {
        return reject("unknown_position", "the current position is unknown (fail closed)");
    }
    if (order.reduce_only)
        return {true, "", ""};  // an exit is never trapped by the checks below

    if (!facts.price.has_value() || !(*facts.price > 0.0) || !std::isfinite(*facts.price)) {
        return reject("unknown_price", "no valid latest price (fail closed)");
    }
    if (facts.symbol.empty() || facts.price_symbol != facts.symbol) {
        return reject("price_symbol", "the latest price is of " +
                                          (facts.price_symbol.empty() ? std::string("an unnamed instrument")
                                                                      : "\"" + facts.price_symbol + "\"") +
                                          ", not of the traded symbol \"" + facts.symbol +
                                          "\" (fail closed)");
    }
    const double price = *facts.price;
    const double notional = order.qty * price;
    if (limits.max_order_qty && order.qty > *limits.max_order_qty) {
        return reject("max_order_qty", "order qty " + Json(order.qty).dump() + " > max_order_qty " +
                                           Json(*limits.max_order_qty).dump());
    }
    if (limits.max_order_notional && notional > *limits.max_order_notional) {
        return reject("max_order_notional", "order notional " + Json(notional).dump() +
                                                " > max_order_notional " +
                                                Json(*limits.max_order_notional).dump());
    }
    const double after = *facts.position + (order.side == Side::buy ? order.qty : -order.qty);
    if (std::fabs(after) * price > limits.max_position_usd) {
        return reject("max_position", "position value after the order " +
                                          Json(std::fabs(after) * price).dump() + " > max_position_usd " +
                                          Json(limits.max_position_usd).dump());
    }
    if (!facts.cash.has_value() || !std::isfinite(*facts.cash)) {
        return reject("unknown_cash", "available cash is unknown (fail closed)");
    }
    if (order.side == Side::buy) {
        if (!(notional <= *facts.cash)) {
            return reject("cash", "order notional " + Json(notional).dump() + " > available cash " +
                                      Json(*facts.cash).dump());
        }
    } else if (after < 0.0) {
        // the short must be bought back: its proceeds stay, plus the margin on top
        const double short_value = -after * price;
        const double needed = (1.0 + facts.short_margin) * short_value;
        const double cash_after = *facts.cash + notional;
        if (!(facts.short_margin >= 0.0) || !(cash_after >= needed)) {
            return reject("margin", "a short worth " + Json(short_value).dump() + " needs cash of " +
                                        Json(needed).dump() + " after the sale (proceeds plus " +
                                        Json(facts.short_margin * 100.0).dump() + " % margin), would have " +
                                        Json(cash_after).dump());
        }
    }
    return {true, "", ""};
}

bool stop_loss_triggered(double position, double average_price, double last_price, double stop_loss_pct) {
    // NaN (flat, no price) compares false
    return stop_loss_pct > 0.0 && unrealised_loss_pct(position, average_price, last_price) > stop_loss_pct;
}

std::string client_order_id(std::string_view deployment_id, std::string_view signal_id,
                            std::string_view leg) {
    const auto tail = [](std::string_view id) {
        std::string hex;
        for (char c : id) {
            if (c != '-')
                hex += c;
        }
        return hex.size() > 16 ? hex.substr(hex.size() - 16) : hex;
    };
    std::string id = "q";
    id += tail(deployment_id);
    id += '-';
    id += tail(signal_id);
    id += '-';
    id += leg.substr(0, 1);
    return id;
}

}  // namespace quant
