// The worker's half of the kill switches and the breakers (issue 15), kept apart from the
// signal loop (processor.cpp calls these three hooks):
//   open_send_gate: the last check right before a send, in the transaction that stays open
//     until the broker answered (trade.worker_send_gate locks the halt and the deployment);
//   check_breakers: the loss and drawdown breakers (core: quant::evaluate_breakers) at the
//     start of a signal and after a fill; a breach is recorded by trade.worker_trip_breaker;
//   alert: a NOTIFY on quant_alert (the webhook forwards what arrives there, main.cpp).
#include "processor.hpp"
#include "quant/breakers.hpp"
#include "quant/error.hpp"
#include "quant/pq/log.hpp"

namespace quant::worker {

bool Processor::open_send_gate(const std::string& client_order_id) {
    work_.exec("BEGIN");
    return send_gate_answer(client_order_id,
                            work_.exec_prepared("worker_send_gate", kSendGateSql, {client_order_id}));
}

bool Processor::send_gate_answer(const std::string& client_order_id, const pq::Result& r) {
    const quant::Json g = quant::parse_json(r.view(0, 0));
    if (g.value("allowed", false))
        return true;       // the transaction stays open over the send: a halt or a disable waits for it
    work_.exec("COMMIT");  // the refusal: the order REJECTED (never sent), its log row, the signal's status
    ++counters_.sends_refused;
    pq::log_warn("send_refused", {{"client_order_id", client_order_id},
                                  {"code", g.value("code", std::string())},
                                  {"message", g.value("message", std::string())}});
    return false;
}

void Processor::close_send_gate() {
    work_.exec("COMMIT");
}

bool Processor::check_breakers(const std::string& signal_id, const std::string& deployment_id,
                               const pq::Result* facts, int facts_column) {
    pq::Result fetched;
    if (facts == nullptr) {
        facts_column = 0;
        fetched = work_.exec_prepared("worker_breaker_facts", "SELECT trade.worker_breaker_facts($1)::text",
                                      {deployment_id});
        facts = &fetched;
    }
    const pq::Result& r = *facts;
    if (r.rows() != 1 || r.is_null(0, facts_column))
        return false;
    std::optional<quant::ScopedTrip> trip;
    try {
        trip = quant::evaluate_breakers(quant::parse_json(r.view(0, facts_column)));
    } catch (const quant::Error& e) {
        // limits that no longer parse: the deployment's parser refused them when stored; log loudly
        pq::log_error("breaker_facts_invalid", {{"deployment_id", deployment_id}, {"error", e.what()}});
        return false;
    }
    if (!trip)
        return false;
    const pq::Result t = work_.exec_prepared(
        "worker_trip_breaker",
        "SELECT trade.worker_trip_breaker($1, $2, $3, $4, $5::float8, $6::float8, $7)::text",
        {deployment_id, signal_id.empty() ? pq::Param() : pq::Param(signal_id), trip->scope,
         trip->trip.breaker, format_number(trip->trip.value), format_number(trip->trip.limit),
         trip->trip.message});
    const quant::Json out = quant::parse_json(t.view(0, 0));
    if (out.value("tripped", false)) {
        ++counters_.breakers_tripped;
        pq::log_warn("breaker_tripped", {{"deployment_id", deployment_id},
                                         {"scope", trip->scope},
                                         {"breaker", trip->trip.breaker},
                                         {"value", trip->trip.value},
                                         {"limit", trip->trip.limit},
                                         {"message", trip->trip.message}});
    }
    return true;
}

void Processor::alert(const std::string& kind, const quant::Json& payload) {
    try {
        work_.exec_prepared("worker_alert", "SELECT trade.worker_alert($1, $2::jsonb)",
                            {kind, payload.dump()});
    } catch (const pq::SqlError& e) {
        if (e.connection_lost())
            throw;
        work_.rollback_quietly();
        pq::log_warn("alert_failed", {{"kind", kind}, {"error", e.what()}});
    }
    if (kind == "unknown_position")
        ++counters_.unknown_position_alerts;
    else if (kind == "repeated_rejects")
        ++counters_.repeated_reject_alerts;
}

std::string Processor::metrics_text() const {
    const auto line = [](const char* name, const char* help, const std::string& labels, long v) {
        return std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
               labels + " " + std::to_string(v) + "\n";
    };
    std::string out;
    out += line("quant_worker_sends_refused_total",
                "orders refused right before the send (halted, kill_switch, breaker)", "",
                counters_.sends_refused);
    out += line("quant_worker_breakers_tripped_total", "loss and drawdown breakers tripped", "",
                counters_.breakers_tripped);
    out +=
        "# HELP quant_worker_alerts_total alerts raised by this worker on quant_alert\n"
        "# TYPE quant_worker_alerts_total counter\n";
    out += "quant_worker_alerts_total{kind=\"breaker\"} " + std::to_string(counters_.breakers_tripped) + "\n";
    out += "quant_worker_alerts_total{kind=\"unknown_position\"} " +
           std::to_string(counters_.unknown_position_alerts) + "\n";
    out += "quant_worker_alerts_total{kind=\"repeated_rejects\"} " +
           std::to_string(counters_.repeated_reject_alerts) + "\n";
    out += "quant_worker_alerts_total{kind=\"reconnect_storm\"} " +
           std::to_string(counters_.reconnect_storm_alerts) + "\n";
    out += line("quant_worker_open_orders_cancelled_total",
                "orders cancelled after open_order_timeout_s (open_order_policy cancel)", "",
                counters_.open_orders_cancelled);
    out += line("quant_worker_open_orders_left_total",
                "orders past open_order_timeout_s left open (open_order_policy leave)", "",
                counters_.open_orders_left);
    out += line("quant_worker_open_order_parts_booked_total", "partial fills booked by the open-order sweep",
                "", counters_.open_order_parts_booked);
    out += line("quant_worker_breaker_timer_checks_total",
                "deployments measured by the breaker timer on the latest prices", "",
                counters_.breaker_timer_checks);
    return out;
}

}  // namespace quant::worker
