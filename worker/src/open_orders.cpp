// Orders that do not finish at once, the breakers on a timer and the reconnect-storm alert
// (issue 15, parts 3 and 4). main.cpp calls sweep_open_orders and watch_breakers every
// QUANT_WORKER_SWEEP_MS while it waits, and reconnect_storm when it counted too many reconnects.
//
// The open-order policy (a deployment's risk_limits, worker/README.md "Open orders"):
//   open_order_timeout_s (default 60): how long an order may stay open at the broker after it
//     was sent (a Limit that does not cross, a Market order the broker holds, a partial fill);
//   open_order_policy "cancel" (default): then it is cancelled by its client order id; what was
//     filled before the cancel stays booked as fills (the position is what was filled) and the
//     signal ends (DONE with a fill, REJECTED without); the remainder is never re-sent;
//   open_order_policy "leave": it stays open; each sweep books its new fills until the broker
//     ends it (the deployment trades again only then: an open order makes its position unknown).
// The cancel is idempotent on the client order id: a cancel repeated after a crash finds the
// order ended and books it as it is.
#include "processor.hpp"
#include "quant/error.hpp"
#include "quant/pq/log.hpp"
#include "quant/trading.hpp"

namespace quant::worker {

using pq::log_info;
using pq::log_warn;

void Processor::sweep_open_orders() {
    const pq::Result r = work_.exec_prepared(
        "worker_overdue_orders",
        "SELECT client_order_id, deployment_id, signal_id, user_id, status, symbol, side, qty::text AS qty, "
        "broker, policy, timeout_s FROM trade.worker_overdue_orders($1, $2)",
        {cfg_.worker_id, format_number(cfg_.lease_s)});
    for (int i = 0; i < r.rows(); ++i) {
        OpenOrder o{r.get(i, "client_order_id"),
                    r.get(i, "deployment_id"),
                    r.get(i, "signal_id"),
                    r.get(i, "user_id"),
                    r.get(i, "status"),
                    r.get(i, "symbol"),
                    r.get(i, "side"),
                    r.get(i, "broker"),
                    r.get_double(i, "qty").value_or(0.0)};
        const std::string policy = r.get(i, "policy");
        set_user(o.user_id);
        auto adapter = adapter_for(o.broker, o.deployment_id, o.user_id, o.symbol);
        if (!adapter)
            continue;
        adapter->connect();  // BrokerError: the caller reconnects and reconciles
        const auto found = adapter->order_by_client_id(o.client_order_id);
        if (!found)
            continue;  // not known to the broker: reconciliation marks it UNKNOWN (fail closed)
        if (quant::is_terminal(found->state)) {
            record_outcome(o.client_order_id, *found, quant::SignalFinish::none);
            work_.exec_prepared("worker_hand_back", "SELECT trade.worker_release($1)", {o.signal_id});
            continue;
        }
        if (found->filled_qty > 0) {  // the parts so far, booked as fills (SENT stays SENT)
            record_outcome(o.client_order_id, *found, quant::SignalFinish::none);
            ++counters_.open_order_parts_booked;
        }
        if (policy == "leave") {
            if (left_logged_.insert(o.client_order_id).second) {
                ++counters_.open_orders_left;
                log_info("open_order_left", {{"client_order_id", o.client_order_id},
                                             {"deployment_id", o.deployment_id},
                                             {"filled_qty", found->filled_qty},
                                             {"of", found->qty},
                                             {"timeout_s", r.get(i, "timeout_s")},
                                             {"note", "open_order_policy leave: reconciled until it ends"}});
            }
            continue;
        }
        std::optional<quant::OrderResult> after;
        try {
            after = adapter->cancel_order(o.symbol, o.client_order_id);
        } catch (const quant::BrokerError& e) {
            if (std::string(e.what()).find("cannot cancel") == std::string::npos)
                throw;
            log_warn("open_order_not_cancelled", {{"client_order_id", o.client_order_id},
                                                  {"broker", o.broker},
                                                  {"error", e.what()},
                                                  {"note", "left open: reconciled until it ends"}});
            continue;
        }
        crash_point("after_cancel");
        if (!after || !quant::is_terminal(after->state)) {
            log_warn("open_order_cancel_pending", {{"client_order_id", o.client_order_id}});
            continue;  // the next sweep looks again
        }
        const bool filled = after->state == quant::OrderState::filled;
        quant::OrderResult booked = *after;
        if (!filled && booked.message.empty())
            booked.message = "cancelled: still open " + r.get(i, "timeout_s") + " s after the send";
        record_outcome(o.client_order_id, booked,
                       filled ? quant::SignalFinish::done : quant::SignalFinish::rejected);
        ++counters_.open_orders_cancelled;
        log_info("open_order_cancelled", {{"client_order_id", o.client_order_id},
                                          {"deployment_id", o.deployment_id},
                                          {"status", quant::order_state_name(after->state)},
                                          {"filled_qty", after->filled_qty},
                                          {"of", o.qty},
                                          {"timeout_s", r.get(i, "timeout_s")}});
    }
}

void Processor::watch_breakers() {
    const pq::Result r = work_.exec_prepared("worker_breaker_watch",
                                             "SELECT deployment_id FROM trade.worker_breaker_watch()", {});
    for (int i = 0; i < r.rows(); ++i) {
        ++counters_.breaker_timer_checks;
        check_breakers("", r.get(i, "deployment_id"));
    }
}

void Processor::reconnect_storm(int reconnects, int window_s, const std::string& last_error) {
    ++counters_.reconnect_storm_alerts;
    log_warn("reconnect_storm", {{"reconnects", reconnects}, {"window_s", window_s}, {"error", last_error}});
    alert("reconnect_storm", {{"worker_id", cfg_.worker_id},
                              {"reconnects", reconnects},
                              {"window_s", window_s},
                              {"message", std::to_string(reconnects) + " reconnects within " +
                                              std::to_string(window_s) + " s; last: " + last_error}});
}

}  // namespace quant::worker
