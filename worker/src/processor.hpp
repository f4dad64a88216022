// The signal processor and reconciliation of quant-worker: everything between "a signal is
// PENDING" and "its orders are booked". Synchronous; the caller (main.cpp's state machine)
// owns the connections and decides when to call.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bybit_adapter.hpp"
#include "config.hpp"
#include "futu_adapter.hpp"
#include "paper_adapter.hpp"
#include "quant/json.hpp"
#include "quant/pq/connection.hpp"
#include "quant/signal_outcome.hpp"
#include "quant/trade_adapter.hpp"

namespace quant::worker {

constexpr const char* kSendGateSql = "SELECT trade.worker_send_gate($1)::text";

class Processor {
public:
    Processor(const Config& cfg, pq::Connection& work, PaperGateway& paper)
        : cfg_(cfg), work_(work), paper_(paper) {}

    // Claims one signal and processes it. false when nothing was claimable.
    // Throws pq::SqlError (work connection) or quant::BrokerError (broker): the caller reconnects
    // and reconciles; the claim stays, so the signal is taken up again.
    bool process_next();

    // Resolves every order not in a terminal state with its broker, by client order id; hands
    // the signals of the resolved orders back (PENDING) so they are finished at once.
    void reconcile_all();

    // What the kill switches, breakers and alerts did (safety.cpp), for the logs and /metrics.
    struct SafetyCounters {
        long sends_refused = 0;  // refused right before the send (halted, kill_switch, breaker)
        long breakers_tripped = 0;
        long unknown_position_alerts = 0;
        long repeated_reject_alerts = 0;
        // issue 15 (open_orders.cpp): the sweep of orders past their deadline and the timer
        long open_orders_cancelled = 0;    // cancelled by open_order_policy cancel
        long open_orders_left = 0;         // past the deadline, left open (policy leave)
        long open_order_parts_booked = 0;  // partial fills booked by the sweep
        long breaker_timer_checks = 0;     // deployments measured by the timer
        long reconnect_storm_alerts = 0;
    };
    // open_orders.cpp: every order still open (SENT) past its deployment's open_order_timeout_s
    // is looked up, its new fills booked, then cancelled (open_order_policy cancel, the default)
    // or left open (leave). Never re-sends anything.
    void sweep_open_orders();
    // The breakers on a timer: every enabled deployment with fills and a breaker configured is
    // measured on the latest prices (trade.worker_breaker_facts), with no signal needed.
    void watch_breakers();
    // N reconnects within the window (main.cpp counts them): an alert, kind reconnect_storm.
    void reconnect_storm(int reconnects, int window_s, const std::string& last_error);
    const SafetyCounters& safety_counters() const { return counters_; }
    // The counters in the Prometheus text format (main.cpp writes QUANT_WORKER_METRICS_FILE).
    std::string metrics_text() const;

private:
    struct OpenOrder {
        std::string client_order_id, deployment_id, signal_id, user_id, status, symbol, side, broker;
        double qty = 0;
    };

    // What trade.worker_context says, with the deployment's qty read apart (as text, so that a
    // value JSON cannot hold, such as 1e400, is refused by the policy instead of the parser).
    struct Context {        // NOLINT(bugprone-exception-escape): nlohmann::json's noexcept moves only assert
        quant::Json facts;  // null: the signal is gone
        std::optional<double> qty;  // nullopt: missing or not a number
    };

    // first: the row of kClaimedContextSql read in the claim's round trip (its facts, qty and
    // the breakers' facts; nullptr when that read failed: read again, and thrown, here)
    void process_signal(const std::string& signal_id, const std::string& user_id,
                        const std::string& claimed_deployment_id, const pq::Result* first);
    Context context(const std::string& signal_id, const std::string& leg);
    static Context context_of(const pq::Result& r);
    std::vector<OpenOrder> open_orders(const pq::Result& r) const;
    void set_user(const std::string& user_id);
    std::unique_ptr<quant::TradeAdapter> adapter_for(const std::string& broker,
                                                     const std::string& deployment_id,
                                                     const std::string& user_id, const std::string& symbol);
    // BYBIT: the deployment's environment, category and opened credentials; nullptr (logged)
    // when it cannot trade (no credentials, no key file, a box that does not open).
    std::unique_ptr<quant::TradeAdapter> bybit_adapter(const std::string& deployment_id,
                                                       const std::string& user_id, const std::string& symbol);
    // FUTU: the deployment's environment (SIMULATE / REAL), account and trade password (REAL).
    std::unique_ptr<quant::TradeAdapter> futu_adapter(const std::string& deployment_id,
                                                      const std::string& user_id, const std::string& symbol);
    void reconcile_order(quant::TradeAdapter& adapter, const OpenOrder& o);
    void record_outcome(const std::string& client_order_id, const quant::OrderResult& r,
                        quant::SignalFinish finish);
    static pq::Params outcome_params(const std::string& client_order_id, const quant::OrderResult& r,
                                     quant::SignalFinish finish);
    // After a send: the send gate's COMMIT and the outcome (record_outcome) in one round trip,
    // with the breakers' facts of breaker_deployment_id read after it (when not empty).
    std::optional<pq::Result> close_gate_and_record(const std::string& client_order_id,
                                                    const quant::OrderResult& r, quant::SignalFinish finish,
                                                    const std::string& breaker_deployment_id);
    void mark(const std::string& client_order_id, const char* status, const std::string& message);
    void log_row(const std::string& signal_id, const char* action, const std::string& reason,
                 const std::string& message, std::optional<double> qty, quant::SignalFinish finish);
    void crash_point(const char* where) const;
    std::set<std::string> left_logged_;  // client ids already logged as left open

    // safety.cpp. open_send_gate: BEGIN + trade.worker_send_gate; true: the transaction stays
    // open over the send (close_send_gate commits after the broker answered); false: refused
    // (REJECTED, never sent; committed). check_breakers: true when a breaker tripped (the
    // deployment's facts changed). alert: NOTIFY quant_alert (+ the webhook).
    bool open_send_gate(const std::string& client_order_id);
    // The gate's answer (open: the transaction stays open; refused: committed, counted, logged).
    bool send_gate_answer(const std::string& client_order_id, const pq::Result& r);
    void close_send_gate();
    // facts: trade.worker_breaker_facts already read in a pipeline, in column facts_column of
    // its one row (nullptr: read it now).
    bool check_breakers(const std::string& signal_id, const std::string& deployment_id,
                        const pq::Result* facts = nullptr, int facts_column = 0);
    void alert(const std::string& kind, const quant::Json& payload);

    const Config& cfg_;
    pq::Connection& work_;
    PaperGateway& paper_;
    std::map<std::string, std::unique_ptr<quant::bybit::BybitGateway>> bybit_;  // by base URL
    SafetyCounters counters_;
    std::unique_ptr<quant::futu::FutuGateway> futu_;  // the one OpenD
};

}  // namespace quant::worker
