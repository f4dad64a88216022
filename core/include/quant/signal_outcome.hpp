// What becomes of one live signal (the worker's policy, pure): refused before any order, a
// HOLD, finished already, or legs to trade; and the signal's final status after a leg is
// blocked or answered. The worker gathers the facts and records what this decides.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quant/deployment_config.hpp"
#include "quant/no_postgres.hpp"
#include "quant/trade_adapter.hpp"
#include "quant/trading.hpp"

namespace quant {

// A signal's final status as trade.signal spells it; none leaves it PROCESSING (an order is
// open at the broker, or more legs follow).
enum class SignalFinish { none, done, rejected };
std::string_view signal_finish_name(SignalFinish f);  // "", "DONE", "REJECTED"

// The deployment's qty as the worker read it (nullopt: missing or not a number). "" when it can
// be traded (finite, > 0, at most max_deployment_qty), else why not.
std::string qty_problem(std::optional<double> qty);

struct SignalStart {
    enum class Kind {
        reject,    // one REJECTED row with code and message; the signal is REJECTED
        hold,      // already at signal x qty: a HOLD row, the signal DONE
        finished,  // taken up again after a crash with its orders booked: the signal DONE
        trade      // send legs, in order
    } kind = Kind::reject;
    std::string code;  // reject: invalid_qty, invalid_signal, unknown_position or a check's code
    std::string message;
    std::vector<PlannedOrder> legs;
};

// Before any order: the qty, the signal value, the position (unknown: a probe order goes
// through the checks so that the row names the first that fails), then the plan.
// signal_orders: the orders this signal has already (a crash between legs).
SignalStart start_signal(double signal, std::optional<double> qty, const RiskLimits& limits,
                         const RiskFacts& facts, int signal_orders);

// A leg refused by a check: DONE when an earlier leg of the signal filled, else REJECTED.
SignalFinish finish_after_block(bool earlier_leg_filled);

// The broker answered a leg. A terminal answer finishes the signal when it was the last leg or
// did not fill (DONE when this or an earlier leg filled, else REJECTED); an open order, or a
// fill with legs to come, leaves it PROCESSING.
SignalFinish finish_after_answer(OrderState state, bool last_leg, bool earlier_leg_filled);

// Whether the next leg may be sent after this answer: only after a fill.
bool next_leg_allowed(OrderState state);

}  // namespace quant
