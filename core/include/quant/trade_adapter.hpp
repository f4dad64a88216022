// The broker interface of the live loop (seed §5 TradeAdapter), plus what reconciliation needs
// (an order by its client order id) and bar fetching for later adapters. Plain structs, no I/O
// here: quant-worker's PaperAdapter implements it over the embedded paper broker (SQL), later
// adapters (Bybit, Futu) over their gateways. apply_signal of the seed is not a method: the
// worker plans with quant::plan_orders and checks every leg before it calls place_order.
//
// Errors: a method that cannot reach the broker, or gets an answer it cannot trust, throws
// BrokerError. The outcome of a place_order that threw is UNKNOWN: the caller must not re-send
// blindly, but look the order up by its client order id (order_by_client_id) once connected.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "quant/catalog.hpp"
#include "quant/no_postgres.hpp"
#include "quant/trading.hpp"

namespace quant {

class BrokerError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// OrderState, its names and the terminal rule: quant/catalog.hpp (the order_status catalog).

struct OrderResult {
    std::string client_order_id;
    std::string broker_order_id;
    std::string symbol;
    Side side = Side::buy;
    double qty = 0;         // ordered
    double filled_qty = 0;  // so far
    double avg_price = 0;   // of the fills; 0 when none
    double fee = 0;
    OrderState state = OrderState::unknown;
    std::string message;  // the broker's reason for a rejection, or a summary
};

struct PositionInfo {
    std::string symbol;
    double qty = 0;        // signed: negative is short
    double avg_price = 0;  // 0 when flat or unknown
};

struct AccountInfo {
    std::string account;
    double cash = 0;  // available for buys
    double starting_cash = 0;
    std::string currency = "USD";
};

struct BarData {
    std::int64_t ts_us =
        0;  // bar open time, microseconds since the Unix epoch (UTC); closes at ts + interval
    double open = 0, high = 0, low = 0, close = 0, volume = 0;
};

class TradeAdapter {
public:
    virtual ~TradeAdapter() = default;

    virtual void connect() = 0;  // BrokerError when the broker is not reachable
    virtual void disconnect() = 0;
    virtual bool is_connected() const = 0;

    // A MARKET order unless order_type says otherwise (price: the limit). The broker
    // de-duplicates on client_order_id where it can; the result carries the broker's state
    // (REJECTED with its reason is an answer, not an error).
    virtual OrderResult place_order(std::string_view symbol, double qty, Side side,
                                    std::string_view client_order_id, std::string_view order_type = "MARKET",
                                    std::optional<double> price = std::nullopt) = 0;
    // The broker's complete position report: a symbol missing from it is flat.
    virtual std::vector<PositionInfo> get_positions() = 0;
    virtual std::vector<OrderResult> get_orders() = 0;
    virtual AccountInfo get_account_info() = 0;
    // Reconciliation: the order with this client id, or nullopt when the broker has none.
    virtual std::optional<OrderResult> order_by_client_id(std::string_view client_order_id) = 0;
    // Cancels the open order with this client id and returns its state after the cancel
    // (issue 15, open orders): CANCELLED, or FILLED for the part that was filled before the
    // cancel. Idempotent on the client id: an order already ended (filled, cancelled, rejected)
    // is returned as it is, without an error; nullopt when the broker has no such order.
    // A broker that cannot cancel says so with a BrokerError (the worker then leaves the order).
    virtual std::optional<OrderResult> cancel_order(std::string_view symbol,
                                                    std::string_view client_order_id) {
        (void)symbol;
        (void)client_order_id;
        throw BrokerError("this broker's adapter cannot cancel orders");
    }
    // The live feed (worker/src/feed.cpp): the CLOSED bars of a symbol at an interval (a name of
    // the bar interval catalog: 1m 5m 15m 30m 1h 4h 1d 1w) whose open time is at or after
    // start_us, oldest first. A bar whose close (ts + interval) is after now_us is still forming
    // and is not returned. An interval the broker does not serve is a BrokerError naming it.
    // Need not connect(): market data may be public.
    virtual std::vector<BarData> fetch_bars(std::string_view symbol, std::string_view interval,
                                            std::int64_t start_us, std::int64_t now_us) = 0;
};

// The signed position of a symbol in a complete position report (0 when it is not listed).
inline double position_in(const std::vector<PositionInfo>& report, std::string_view symbol) {
    double qty = 0;
    for (const auto& p : report) {
        if (p.symbol == symbol)
            qty += p.qty;
    }
    return qty;
}

}  // namespace quant
