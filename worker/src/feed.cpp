#include "feed.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "quant/bar_feed.hpp"
#include "quant/bars.hpp"
#include "quant/pq/log.hpp"

namespace quant::worker {
namespace {

namespace bb = quant::bybit;

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        return std::nullopt;
    return std::string(v);
}

double env_number(const char* name, double fallback, double lo, double hi) {
    const auto v = env(name);
    if (!v)
        return fallback;
    char* end = nullptr;
    const double x = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end != '\0' || !(x >= lo && x <= hi)) {
        throw std::runtime_error(std::string(name) + ": must be a number from " + format_number(lo) + " to " +
                                 format_number(hi) + ", got \"" + *v + "\"");
    }
    return x;
}

void put_be(std::string& out, std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void put_double(std::string& out, double d) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    put_be(out, 8, 4);
    put_be(out, bits, 8);
}

constexpr std::int64_t pg_epoch_offset_us = 946'684'800'000'000;  // 2000-01-01 in Unix microseconds

std::string gaps_json(const std::vector<quant::BarGap>& gaps) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < gaps.size() && i < 100; ++i) {
        out.push_back({{"after", quant::format_timestamp(gaps[i].after_us)},
                       {"before", quant::format_timestamp(gaps[i].before_us)},
                       {"missing", gaps[i].missing}});
    }
    return out.dump();
}

std::string ts_param(std::int64_t us) {
    return format_number(static_cast<double>(us) / 1e6);
}

}  // namespace

FeedConfig load_feed_config() {
    FeedConfig c;
    if (auto v = env("QUANT_FEED_ID")) {
        c.feed_id = *v;
    } else {
        char host[256] = {0};
        if (gethostname(host, sizeof host - 1) != 0)
            host[0] = '\0';
        c.feed_id = std::string("feed-") + (host[0] ? host : "host") + "-" + std::to_string(getpid());
    }
    if (c.feed_id.size() > 200)
        throw std::runtime_error("QUANT_FEED_ID: at most 200 characters");
    c.poll_ms = static_cast<int>(env_number("QUANT_FEED_POLL_MS", 5000, 10, 3600000));
    c.lease_s = env_number("QUANT_FEED_LEASE_S", 120, 0.1, 86400);
    c.max_attempts = static_cast<int>(env_number("QUANT_FEED_MAX_ATTEMPTS", 5, 1, 1000));
    if (auto v = env("QUANT_FEED_CRASH_AT")) {
        if (*v != "after_claim" && *v != "before_commit")
            throw std::runtime_error(
                "QUANT_FEED_CRASH_AT: one of after_claim, before_commit (test only), got \"" + *v + "\"");
        c.crash_at = *v;
    }
    return c;
}

std::string copy_binary(const std::vector<quant::BarData>& bars) {
    std::string out;
    out.reserve(19 + bars.size() * (2 + 6 * 12) + 2);
    out.append("PGCOPY\n\377\r\n\0", 11);  // the 11-byte signature, its NUL included
    put_be(out, 0, 4);                     // flags
    put_be(out, 0, 4);                     // header extension length
    for (const quant::BarData& b : bars) {
        put_be(out, 6, 2);
        put_be(out, 8, 4);
        put_be(out, static_cast<std::uint64_t>(b.ts_us - pg_epoch_offset_us), 8);
        put_double(out, b.open);
        put_double(out, b.high);
        put_double(out, b.low);
        put_double(out, b.close);
        put_double(out, b.volume);
    }
    put_be(out, 0xFFFF, 2);  // trailer: -1
    return out;
}

void Feeder::prepare() {
    work_.exec(
        "CREATE TEMP TABLE IF NOT EXISTS feed_bars (ts timestamptz NOT NULL, open float8, high float8, "
        "low float8, close float8, volume float8) ON COMMIT DELETE ROWS");
}

quant::TradeAdapter& Feeder::adapter(const std::string& source, const std::string& category,
                                     const std::string& symbol) {
    const std::string key = source + "/" + (source == "FUTU" ? symbol : category);
    auto it = adapters_.find(key);
    if (it != adapters_.end())
        return *it->second;
    if (source == "FUTU") {
        // Qot_RequestHistoryKL through OpenD (FutuAdapter::fetch_bars: 1d and 1h, paged by
        // nextReqKey, the forming bar dropped); quotes need no account, no unlock
        if (cfg_.futu_opend == "off")
            throw quant::BrokerError("futu: QUANT_FUTU_OPEND=off: no OpenD is reached");
        quant::futu::Target t;
        t.symbol = symbol;
        try {
            (void)quant::futu::parse_symbol(symbol);
        } catch (const std::invalid_argument& e) {
            throw quant::BrokerError(std::string("futu: ") + e.what());
        }
        if (!futu_) {
            quant::futu::Settings s = quant::futu::parse_opend_address(cfg_.futu_opend);
            s.timeout_ms = cfg_.futu_timeout_ms;
            futu_ = std::make_unique<quant::futu::FutuGateway>(s);
        }
        auto a = std::make_unique<quant::futu::FutuAdapter>(*futu_, std::move(t));
        return *(adapters_[key] = std::move(a));
    }
    if (source != "BYBIT")
        throw quant::BrokerError("source " + source +
                                 " has no market-data adapter in quant-feed (valid: BYBIT, FUTU)");
    if (cfg_.bybit_off)
        throw quant::BrokerError("bybit: QUANT_BYBIT_BASE_URL=off: no Bybit host is reached");
    if (!bybit_) {
        bb::Settings s;
        s.base_url = cfg_.bybit_base_url.empty() ? std::string(bb::default_base_url(bb::Environment::mainnet))
                                                 : cfg_.bybit_base_url;
        s.connect_timeout_ms = cfg_.bybit_connect_timeout_ms;
        s.timeout_ms = cfg_.bybit_timeout_ms;
        bybit_ = std::make_unique<bb::BybitGateway>(s);
    }
    bb::Target t;
    t.category = category == "spot" ? bb::Category::spot : bb::Category::linear;
    auto a = std::make_unique<bb::BybitAdapter>(*bybit_, std::move(t));
    return *(adapters_[key] = std::move(a));
}

std::string Feeder::store(const std::string& fetch_id, std::int64_t start_us,
                          const std::vector<quant::BarData>& bars, std::size_t received,
                          const std::string& gaps, const std::string& error) {
    work_.exec("BEGIN");
    try {
        if (error.empty() && !bars.empty()) {
            PGconn* c = work_.raw();
            PGresult* r = PQexec(c, "COPY pg_temp.feed_bars FROM STDIN (FORMAT binary)");
            const bool copy_in = PQresultStatus(r) == PGRES_COPY_IN;
            PQclear(r);
            if (!copy_in)
                throw pq::SqlError("08000", std::string("COPY feed_bars: ") + PQerrorMessage(c),
                                   PQstatus(c) != CONNECTION_OK);
            const std::string data = copy_binary(bars);
            constexpr std::size_t chunk = 1 << 20;
            for (std::size_t off = 0; off < data.size(); off += chunk) {
                const std::size_t n = std::min(chunk, data.size() - off);
                if (PQputCopyData(c, data.data() + off, static_cast<int>(n)) != 1)
                    throw pq::SqlError("08000", std::string("COPY feed_bars: ") + PQerrorMessage(c), true);
            }
            if (PQputCopyEnd(c, nullptr) != 1)
                throw pq::SqlError("08000", std::string("COPY feed_bars: ") + PQerrorMessage(c), true);
            bool failed = false;
            std::string why;
            while (PGresult* e = PQgetResult(c)) {
                if (PQresultStatus(e) != PGRES_COMMAND_OK) {
                    failed = true;
                    why = PQresultErrorMessage(e);
                }
                PQclear(e);
            }
            if (failed)
                throw pq::SqlError("XX000", "COPY feed_bars: " + why, PQstatus(c) != CONNECTION_OK);
        }
        if (fcfg_.crash_at == "before_commit") {
            pq::log_warn("crash_hook", {{"at", "before_commit"}, {"fetch_id", fetch_id}});
            std::raise(SIGKILL);
        }
        const pq::Result r = work_.exec_prepared(
            "feed_store",
            "SELECT md.store_fetch($1::bigint, $2, to_timestamp($3::float8), $4::integer, $5::jsonb, $6)",
            {fetch_id, fcfg_.feed_id, ts_param(start_us), std::to_string(received), gaps,
             error.empty() ? pq::Param() : pq::Param(error)});
        work_.exec("COMMIT");
        return r.get(0, 0);
    } catch (...) {
        work_.rollback_quietly();
        throw;
    }
}

bool Feeder::fetch_next() {
    const pq::Result r = work_.exec_prepared(
        "feed_claim", "SELECT * FROM md.claim_fetch($1, $2::float8, $3::integer)",
        {fcfg_.feed_id, format_number(fcfg_.lease_s), std::to_string(fcfg_.max_attempts)});
    if (r.rows() == 0)
        return false;
    const std::string fetch_id = r.get(0, "fetch_id");
    const std::string ticker = r.get(0, "ticker");
    const std::string interval = r.get(0, "interval");
    const std::string source = r.get(0, "source");
    const std::string symbol = r.get(0, "symbol");
    const std::string category = r.get(0, "category");
    const bool continuous = r.get_bool(0, "continuous").value_or(true);
    const auto needed = static_cast<std::size_t>(r.get_int(0, "bars_needed").value_or(0));
    const auto stored = static_cast<std::size_t>(r.get_int(0, "bars_stored").value_or(0));
    const std::optional<std::int64_t> last_us =
        r.is_null(0, r.column("last_bar_us")) ? std::nullopt
                                              : std::optional<std::int64_t>(*r.get_int(0, "last_bar_us"));
    const std::int64_t now_us = r.get_int(0, "now_us").value_or(0);
    pq::log_info("fetch_claimed", {{"fetch_id", fetch_id},
                                   {"ticker", ticker},
                                   {"interval", interval},
                                   {"source", source},
                                   {"symbol", symbol},
                                   {"attempts", r.get(0, "attempts")}});
    if (fcfg_.crash_at == "after_claim") {
        pq::log_warn("crash_hook", {{"at", "after_claim"}, {"fetch_id", fetch_id}});
        std::raise(SIGKILL);
    }
    std::vector<quant::BarData> bars;
    std::size_t received = 0;
    std::string error;
    std::string gaps = "[]";
    std::int64_t start_us = 0;
    const quant::BarIntervalInfo* info = quant::find_bar_interval(interval);
    const auto step = quant::bar_interval_us(interval);
    if (info == nullptr || !step) {
        error = "unknown bar interval \"" + interval + "\"";
    } else {
        start_us = quant::fetch_start(now_us, *step, needed, continuous, last_us, stored);
        try {
            const auto fetched =
                adapter(source, category, symbol).fetch_bars(symbol, interval, start_us, now_us);
            received = fetched.size();
            bars = quant::closed_bars(fetched, *step, now_us);  // the forming candle never reaches md.bar
            if (const auto p = quant::validate_bars(bars, *info, now_us)) {
                error = "bad data from " + source + " for " + symbol + ": " + p->message;
                bars.clear();
            } else {
                std::vector<std::int64_t> ts;
                ts.reserve(bars.size());
                for (const auto& b : bars)
                    ts.push_back(b.ts_us);
                gaps = gaps_json(quant::find_gaps(ts, *step, continuous, last_us));
            }
        } catch (const std::exception& e) {  // BrokerError, or an answer the adapter could not read
            error = e.what();
        }
    }
    const std::string answer = store(fetch_id, start_us, bars, received, gaps, error);
    if (error.empty())
        pq::log_info("fetch_done", {{"fetch_id", fetch_id},
                                    {"ticker", ticker},
                                    {"interval", interval},
                                    {"received", received},
                                    {"bars", bars.size()},
                                    {"answer", answer}});
    else
        pq::log_warn("fetch_failed", {{"fetch_id", fetch_id},
                                      {"ticker", ticker},
                                      {"interval", interval},
                                      {"error", error},
                                      {"answer", answer}});
    return true;
}

}  // namespace quant::worker
