// FutuAdapter: the TradeAdapter of Futu's OpenD gateway (one deployment: a US or HK symbol in the
// SIMULATE or REAL environment). FutuGateway is what the adapters of one OpenD share: the TCP
// connection (InitConnect first, KeepAlive on a thread at the interval OpenD returns, reconnect
// with back-off), the serials, the account list, the unlock state (it acts on the whole OpenD),
// lot sizes and the client-side rate limits. Protocol facts: ../shared/docs/brokers.md §2; the
// pure parts are futu_protocol.hpp; the messages are Futu's own (futu-api's proto/, protoc).
#pragma once
#include <google/protobuf/message.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "futu_protocol.hpp"
#include "quant/trade_adapter.hpp"

namespace quant::futu {

struct Settings {
    std::string host = "127.0.0.1";  // loopback only: the trade API needs encryption otherwise (§2.3)
    int port = 11111;
    long connect_timeout_ms = 3000;
    long timeout_ms = 5000;  // per request
    long follow_ms = 5000;   // how long place_order follows an order before leaving it SENT
    long poll_ms = 100;      // between follow-up queries
    int reconnect_attempts = 3;
    std::set<std::uint64_t> fractional_accounts;  // accIDs that may trade fractional US shares
    std::string kline = "D";                      // fetch_bars' interval: D or 60
    int place_per_30s = 15;                       // Trd_PlaceOrder's limit (brokers.md §2.5)
};

// "host:port" with a loopback host; throws std::invalid_argument naming the rule.
Settings parse_opend_address(std::string_view text, Settings base = {});

struct Account {
    Env env = Env::simulate;
    std::uint64_t acc_id = 0;
    std::vector<std::int32_t> markets;  // TrdMarket
};

class FutuGateway {
public:
    explicit FutuGateway(Settings s);
    ~FutuGateway();
    FutuGateway(const FutuGateway&) = delete;
    FutuGateway& operator=(const FutuGateway&) = delete;

    const Settings& settings() const { return s_; }
    // Connects (InitConnect) when not connected; BrokerError when OpenD is not reachable.
    void ensure();
    void close();
    bool connected() const;
    std::uint64_t conn_id() const { return conn_id_; }
    std::int32_t keepalive_s() const { return keepalive_s_; }
    std::int64_t keepalives() const { return keepalives_; }
    std::int64_t reconnects() const { return reconnects_; }

    // One request and its reply, matched by (proto id, serial); pushes and stray replies are
    // skipped. A lost connection or a bad frame drops the connection and throws BrokerError
    // (the outcome of a write is then unknown). The reply's retType is the caller's to read.
    void call(std::uint32_t proto, const google::protobuf::Message& req, google::protobuf::Message& rsp);
    // The serial a PlaceOrder's packetID uses (the connection id comes from conn_id()).
    std::uint32_t next_packet_serial();

    const std::vector<Account>& accounts();  // Trd_GetAccList, cached per connection
    // Trd_UnlockTrade with the MD5 of the password (once per connection while it holds); throws
    // BrokerError with OpenD's reason when refused (fail closed).
    void unlock(const std::string& password);
    std::int32_t lot_size(const Symbol& sym);  // Qot_GetStaticInfo, cached

    // Order pushes (Trd_SubAccPush, brokers.md §2.5): OpenD pushes Trd_UpdateOrder and
    // Trd_UpdateOrderFill only for the accounts a connection subscribed, and each subscription
    // names the full list. subscribe() adds an account and sends the list (again after every
    // reconnect); a refusal is logged and the orders are followed by polling only.
    void subscribe(std::uint64_t acc_id);
    bool pushes_for(std::uint64_t acc_id) const;
    // The order of that remark (or orderID) as the pushes tell it, waiting up to wait_ms for one
    // that is final: a Trd_UpdateOrder push, or Trd_UpdateOrderFill pushes adding up to qty.
    // nullopt when nothing final was pushed; a lost connection is not thrown (polling decides).
    std::optional<quant::OrderResult> pushed_order(const std::string& remark, std::uint64_t order_id,
                                                   const quant::OrderResult& ack, long wait_ms);
    void forget_pushes(const std::string& remark, std::uint64_t order_id);
    std::int64_t pushes() const { return pushes_; }

    RateLimit& place_limit() { return place_rl_; }
    RateLimit& kline_limit() { return kline_rl_; }
    void wait_for(RateLimit& rl);

private:
    void open_locked();
    void close_locked();
    void call_locked(std::uint32_t proto, const google::protobuf::Message& req,
                     google::protobuf::Message& rsp);
    void send_all(const std::string& bytes);
    void keepalive_loop();
    void subscribe_locked();
    void pump_locked(long wait_ms);
    void handle_push_locked(std::uint32_t proto, const std::string& body);

    struct PushedFills {
        double qty = 0;
        double value = 0;
        std::set<std::uint64_t> fill_ids;
    };

    Settings s_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    int fd_ = -1;
    std::uint64_t conn_id_ = 0;
    std::int32_t keepalive_s_ = 10;
    std::uint32_t serial_ = 0;
    std::uint32_t packet_serial_ = 0;
    FrameReader reader_;
    std::vector<Account> accounts_;
    bool accounts_loaded_ = false;
    bool unlocked_ = false;
    std::set<std::uint64_t> push_accounts_;  // the accounts to subscribe (kept over reconnects)
    bool push_subscribed_ = false;           // this connection's Trd_SubAccPush succeeded
    std::map<std::string, quant::OrderResult> pushed_orders_;  // the latest Trd_UpdateOrder per remark
    std::map<std::uint64_t, PushedFills> pushed_fills_;        // Trd_UpdateOrderFill per orderID
    std::int64_t pushes_ = 0;
    std::map<std::string, std::int32_t> lots_;
    // OpenD's cache answers Funds/Positions/OrderList without a limit (refreshCache is never set: 10 per
    // 30 s when it is, brokers.md §2.5)
    RateLimit place_rl_;
    RateLimit unlock_rl_{10, std::chrono::seconds(30), std::chrono::milliseconds(0)};
    RateLimit kline_rl_{60, std::chrono::seconds(30), std::chrono::milliseconds(0)};
    std::int64_t keepalives_ = 0;
    std::int64_t reconnects_ = 0;
    bool stop_ = false;
    std::thread keepalive_;
    std::chrono::steady_clock::time_point last_sent_{};
};

struct Target {
    std::string symbol;  // "US.AAPL", "HK.00700"
    Env env = Env::simulate;
    std::optional<std::uint64_t> acc_id;  // the configured account; else the first of env and market
    std::string trade_password;           // REAL only; wiped when the adapter goes
};

class FutuAdapter final : public quant::TradeAdapter {
public:
    FutuAdapter(FutuGateway& gateway, Target target);
    ~FutuAdapter() override;
    FutuAdapter(const FutuAdapter&) = delete;
    FutuAdapter& operator=(const FutuAdapter&) = delete;

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
    std::vector<quant::BarData> fetch_bars(std::string_view symbol, std::string_view interval,
                                           std::int64_t start_us, std::int64_t now_us) override;

    // K-lines of an interval ("D" or "60") from start_us on, oldest first, the forming bar dropped
    // (Qot_RequestHistoryKL, paged with nextReqKey): what fetch_bars uses, kept apart for the
    // feed's interval + start signature.
    std::vector<quant::BarData> fetch_klines(std::string_view symbol, std::string_view interval,
                                             std::int64_t start_us, std::size_t limit);
    std::uint64_t acc_id() const { return acc_id_; }

private:
    void require_connected() const;
    quant::OrderResult follow(const std::string& client_order_id, const quant::OrderResult& ack);
    std::optional<quant::OrderResult> find(std::string_view remark, bool history);
    FutuGateway& gw_;
    Target t_;
    Symbol sym_;
    std::uint64_t acc_id_ = 0;
    bool connected_ = false;
};

}  // namespace quant::futu
