// PaperAdapter: the TradeAdapter of the embedded paper broker (sql/PAPER/broker.sql). Its
// gateway is a database connection of its own (PaperGateway), shared by the adapters of every
// paper account; an adapter is one account (= one deployment).
#pragma once
#include <string>

#include "config.hpp"
#include "quant/pq/connection.hpp"
#include "quant/pq/pipeline.hpp"
#include "quant/trade_adapter.hpp"

namespace quant::worker {

class PaperGateway {
public:
    explicit PaperGateway(pq::ConnectOptions options) : options_(std::move(options)) {}
    // Opens the connection when it is not up; throws quant::BrokerError when it cannot.
    void ensure();
    bool ok() const { return conn_.ok(); }
    void close() { conn_.close(); }
    // Runs a statement at the broker; a failure is a BrokerError (and drops a lost connection).
    // Each statement is prepared once per connection under name.
    pq::Result call(const std::string& name, const std::string& sql, const pq::Params& params);
    // Several statements in one round trip (libpq pipeline mode); name nullptr: unprepared.
    // A lost connection is dropped; the outcome carries the first error.
    struct Step {
        const char* name;
        std::string sql;
        pq::Params params;
    };
    pq::Pipeline::Outcome pipeline(const std::vector<Step>& steps);

private:
    pq::ConnectOptions options_;
    pq::Connection conn_;
};

class PaperAdapter final : public quant::TradeAdapter {
public:
    PaperAdapter(PaperGateway& gateway, std::string account, std::string user_id, const Config& cfg)
        : gw_(gateway), account_(std::move(account)), user_id_(std::move(user_id)), cfg_(cfg) {}

    void connect() override;
    void disconnect() override {
        connected_ = false;
        drop_prefetched();
    }
    bool is_connected() const override { return connected_ && gw_.ok(); }
    quant::OrderResult place_order(std::string_view symbol, double qty, quant::Side side,
                                   std::string_view client_order_id, std::string_view order_type = "MARKET",
                                   std::optional<double> price = std::nullopt) override;
    std::vector<quant::PositionInfo> get_positions() override;
    std::vector<quant::OrderResult> get_orders() override;
    quant::AccountInfo get_account_info() override;
    std::optional<quant::OrderResult> order_by_client_id(std::string_view client_order_id) override;
    // The paper broker fills or refuses at once: an order is never open, so a cancel is the
    // order as it is (idempotent on the client id).
    std::optional<quant::OrderResult> cancel_order(std::string_view symbol,
                                                   std::string_view client_order_id) override {
        (void)symbol;
        return order_by_client_id(client_order_id);
    }
    std::vector<quant::BarData> fetch_bars(std::string_view symbol, std::string_view interval,
                                           std::int64_t start_us, std::int64_t now_us) override;

private:
    void require_connected() const;
    void drop_prefetched();
    quant::AccountInfo account_from(const pq::Result& r) const;
    static std::vector<quant::PositionInfo> positions_from(const pq::Result& r);
    // what connect() read along (the first get_account_info / get_positions after it)
    std::optional<quant::AccountInfo> prefetched_account_;
    std::optional<std::vector<quant::PositionInfo>> prefetched_positions_;
    PaperGateway& gw_;
    std::string account_;
    std::string user_id_;
    const Config& cfg_;
    bool connected_ = false;
};

}  // namespace quant::worker
