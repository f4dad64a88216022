// BybitAdapter: the TradeAdapter of Bybit's V5 REST API (one deployment: a symbol in a
// category, with its user's key for one environment). BybitGateway is what adapters of one
// host share across signals: the keep-alive connection, the server-clock offset, the
// instrument rules cache and the HTTP 403 stop. Protocol facts: ../shared/docs/brokers.md §1;
// the pure parts are bybit_protocol.hpp.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "bybit_http.hpp"
#include "bybit_protocol.hpp"
#include "quant/trade_adapter.hpp"

namespace quant::bybit {

struct Settings {
    std::string base_url;  // checked_base_url
    std::int64_t recv_window_ms = 5000;
    long connect_timeout_ms = 3000;
    long timeout_ms = 5000;   // per request
    long follow_ms = 5000;    // how long place_order follows an order before leaving it SENT
    long poll_ms = 100;       // between follow-up queries
    long max_wait_ms = 2000;  // the longest wait on a rate limit (10006 / 429) before giving up
    std::string kline_interval = "D";
};

class BybitGateway {
public:
    explicit BybitGateway(Settings s);
    const Settings& settings() const { return s_; }

    // Server time minus local time (ms), measured now; resync() again on 10002.
    void resync();
    bool synced() const { return synced_; }
    std::int64_t now_ms() const;  // local clock + offset

    // HTTP 403: every request is refused until then (fail closed, brokers.md §1.10).
    void check_not_banned() const;

    // A public GET (no signature).
    Reply get_public(const std::string& path, const Params& query);
    // A signed GET/POST. payload is the query (GET) or the JSON body (POST), signed as sent.
    // 10002 -> resync once and retry; 10006 / HTTP 429 -> wait (bounded) and retry.
    Reply signed_request(const std::string& method, const std::string& path, const std::string& payload,
                         const std::string& api_key, const std::string& api_secret);

    // instruments-info, cached per category and symbol.
    const InstrumentRules& instrument(Category c, const std::string& symbol);

    std::int64_t requests() const { return requests_; }

private:
    Reply exchange(const std::string& method, const std::string& path, const std::string& payload,
                   const std::vector<std::string>& headers);
    Settings s_;
    HttpClient http_;
    bool synced_ = false;
    std::int64_t offset_ms_ = 0;
    std::chrono::steady_clock::time_point banned_until_{};
    bool banned_ = false;
    std::map<std::string, InstrumentRules> instruments_;
    std::int64_t requests_ = 0;
    std::int64_t reset_at_ms_ = 0;  // X-Bapi-Limit-Reset-Timestamp when the status hit 0
};

struct Target {
    Category category = Category::linear;
    std::string symbol;
    std::string api_key;
    std::string api_secret;  // decrypted just before use; wiped when the adapter goes
    // spot: the position the books hold for the deployment (its fills); the position reported is
    // the base-coin balance, at most this, so coins that were there before it traded never count
    double booked_qty = 0;
};

class BybitAdapter final : public quant::TradeAdapter {
public:
    BybitAdapter(BybitGateway& gateway, Target target) : gw_(gateway), t_(std::move(target)) {}
    ~BybitAdapter() override;
    BybitAdapter(const BybitAdapter&) = delete;
    BybitAdapter& operator=(const BybitAdapter&) = delete;

    Category category() const { return t_.category; }
    void connect() override;
    void disconnect() override { connected_ = false; }
    bool is_connected() const override { return connected_; }
    quant::OrderResult place_order(std::string_view symbol, double qty, quant::Side side,
                                   std::string_view client_order_id, std::string_view order_type = "MARKET",
                                   std::optional<double> price = std::nullopt) override;
    std::vector<quant::PositionInfo> get_positions() override;
    std::vector<quant::OrderResult> get_orders() override;
    quant::AccountInfo get_account_info() override;
    std::optional<quant::OrderResult> order_by_client_id(std::string_view client_order_id) override;
    // POST /v5/order/cancel by orderLinkId, then the order as it is; 110001/170213 (no open
    // order: ended already, or never known) is not an error, the lookup says which.
    std::optional<quant::OrderResult> cancel_order(std::string_view symbol,
                                                   std::string_view client_order_id) override;
    std::vector<quant::BarData> fetch_bars(std::string_view symbol, std::string_view interval,
                                           std::int64_t start_us, std::int64_t now_us) override;

    // Called while place_order follows an order, each time more of it was filled (state SENT,
    // cumulative filled_qty / avg_price / fee): the caller books the new part at once.
    std::function<void(const quant::OrderResult&)> on_progress;

private:
    void require_connected() const;
    Reply get(const std::string& path, const Params& query);
    Reply post(const std::string& path, const Json& body);
    quant::OrderResult follow(const std::string& client_order_id, const quant::OrderResult& ack);
    std::optional<quant::OrderResult> lookup(const std::string& path, std::string_view client_order_id);
    BybitGateway& gw_;
    Target t_;
    bool connected_ = false;
};

}  // namespace quant::bybit
