// quant-feed's work: one fetch of the live feed (sql/MD/feed.sql). Claims a PENDING md.bar_fetch,
// fetches the bars with the source's TradeAdapter::fetch_bars, keeps the closed ones, checks them
// with the core's rules (quant/bar_feed.hpp), and stores them in ONE transaction with the fetch's
// record (COPY into pg_temp.feed_bars, then md.store_fetch, which also evaluates the deployments
// that were waiting for them). A kill at any point leaves either nothing or everything.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "bybit_adapter.hpp"
#include "config.hpp"
#include "futu_adapter.hpp"
#include "quant/pq/connection.hpp"
#include "quant/trade_adapter.hpp"

namespace quant::worker {

struct FeedConfig {
    std::string feed_id;   // QUANT_FEED_ID: the claim owner (unique per running feed process)
    int poll_ms = 5000;    // QUANT_FEED_POLL_MS: the safety-net poll when no NOTIFY quant_feed comes
    double lease_s = 120;  // QUANT_FEED_LEASE_S: a FETCHING claim older than this is another's to take
    int max_attempts = 5;  // QUANT_FEED_MAX_ATTEMPTS: claims of one fetch before it is FAILED
    std::string crash_at;  // QUANT_FEED_CRASH_AT (TEST ONLY): after_claim, before_commit
};

// Throws std::runtime_error naming the variable when a value is invalid.
FeedConfig load_feed_config();

// The rows of the binary COPY of pg_temp.feed_bars (PostgreSQL's binary COPY format: the header,
// one tuple per bar, the trailer); pure, for the tests and the bench.
std::string copy_binary(const std::vector<quant::BarData>& bars);

class Feeder {
public:
    Feeder(const Config& cfg, const FeedConfig& fcfg, pq::Connection& work)
        : cfg_(cfg), fcfg_(fcfg), work_(work) {}

    // Once per connection: the session's temp table.
    void prepare();
    // Claims and completes one fetch; false when nothing was claimable.
    bool fetch_next();
    // Stores bars for a claimed fetch in one transaction (the path the bench measures). Returns
    // md.store_fetch's JSON answer.
    std::string store(const std::string& fetch_id, std::int64_t start_us,
                      const std::vector<quant::BarData>& bars, std::size_t received,
                      const std::string& gaps_json, const std::string& error);

private:
    quant::TradeAdapter& adapter(const std::string& source, const std::string& category,
                                 const std::string& symbol);
    const Config& cfg_;
    const FeedConfig& fcfg_;
    pq::Connection& work_;
    std::unique_ptr<quant::bybit::BybitGateway> bybit_;
    std::unique_ptr<quant::futu::FutuGateway> futu_;  // one OpenD connection (QUANT_FUTU_OPEND)
    std::map<std::string, std::unique_ptr<quant::TradeAdapter>>
        adapters_;  // by source and category (FUTU: symbol)
};

}  // namespace quant::worker
