#include "quant/signal_outcome.hpp"

#include <cmath>

#include "quant/error.hpp"

namespace quant {

namespace {

std::string shown(double v) {
    if (std::isnan(v))
        return "NaN";
    if (std::isinf(v))
        return v > 0 ? "infinite (out of range)" : "-infinite (out of range)";
    return Json(v).dump();
}

}  // namespace

std::string_view signal_finish_name(SignalFinish f) {
    switch (f) {
        case SignalFinish::none:
            return "";
        case SignalFinish::done:
            return "DONE";
        case SignalFinish::rejected:
            return "REJECTED";
    }
    return "";
}

std::string qty_problem(std::optional<double> qty) {
    if (!qty)
        return "the deployment's qty is missing or not a number (fail closed)";
    if (!std::isfinite(*qty) || !(*qty > 0.0) || *qty > max_deployment_qty) {
        return "the deployment's qty " + shown(*qty) +
               " cannot be traded: it must be greater than 0 and at most 1e12 (fail closed)";
    }
    return {};
}

SignalStart start_signal(double signal, std::optional<double> qty, const RiskLimits& limits,
                         const RiskFacts& facts, int signal_orders) {
    SignalStart out;
    if (std::string why = qty_problem(qty); !why.empty()) {
        out.code = "invalid_qty";
        out.message = std::move(why);
        return out;
    }
    try {
        validate_signal(signal);
    } catch (const Error& e) {
        out.code = "invalid_signal";
        out.message = e.what();
        return out;
    }
    if (!facts.position || !std::isfinite(*facts.position)) {
        // nothing to plan from: let the checks say why (kill switch, connection, position)
        const PlannedOrder probe{Side::buy, *qty, false, "open"};
        const RiskDecision d = check_order(probe, limits, facts);
        out.code = d.allowed ? "unknown_position" : d.code;
        out.message = d.allowed ? "the current position is unknown (fail closed)" : d.message;
        return out;
    }
    out.legs = plan_orders(*facts.position, signal, *qty);
    if (out.legs.empty()) {
        out.kind = signal_orders > 0 ? SignalStart::Kind::finished : SignalStart::Kind::hold;
        return out;
    }
    out.kind = SignalStart::Kind::trade;
    return out;
}

SignalFinish finish_after_block(bool earlier_leg_filled) {
    return earlier_leg_filled ? SignalFinish::done : SignalFinish::rejected;
}

SignalFinish finish_after_answer(OrderState state, bool last_leg, bool earlier_leg_filled) {
    if (!is_terminal(state))
        return SignalFinish::none;  // open at the broker: reconciliation finishes it
    const bool filled = state == OrderState::filled;
    if (filled && !last_leg)
        return SignalFinish::none;
    return filled || earlier_leg_filled ? SignalFinish::done : SignalFinish::rejected;
}

bool next_leg_allowed(OrderState state) {
    return state == OrderState::filled;
}

}  // namespace quant
