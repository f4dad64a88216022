// The live feed's ingest rate: N minute bars (default 1,000,000) of one product through the
// feed's own store path (worker/src/feed.cpp Feeder::store: binary COPY into pg_temp.feed_bars,
// then md.store_fetch's upsert into md.bar, one transaction), then the same bars again (nothing
// changed: the upsert rewrites no row). Figures: bench/README.md ("Live feed").
//
//   DB_URL=... build/worker/quant_feed_ingest_bench [N]     (a superuser; a database with quant)
#include <chrono>
#include <cstdio>
#include <string>

#include "config.hpp"
#include "feed.hpp"
#include "quant/pq/connection.hpp"

int main(int argc, char** argv) {
    namespace pq = quant::pq;
    namespace w = quant::worker;
    const long n = argc > 1 ? std::stol(argv[1]) : 1'000'000;
    w::Config cfg = w::load_config();
    cfg.role.clear();
    w::FeedConfig fcfg;
    fcfg.feed_id = "bench-ingest";
    pq::Connection c;
    c.open(w::connect_options(cfg, "quant-feed-bench"));
    const std::string ticker = "BENCH_INGEST_" + std::to_string(c.backend_pid());
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    constexpr std::int64_t minute = 60'000'000;
    const std::int64_t last = now_us / minute * minute - minute;
    std::vector<quant::BarData> bars;
    bars.reserve(static_cast<std::size_t>(n));
    double p = 100;
    for (long i = 0; i < n; ++i) {
        p *= 1 + static_cast<double>((i * 7919) % 13 - 6) * 1e-4;
        bars.push_back({.ts_us = last - (n - 1 - i) * minute,
                        .open = p,
                        .high = p * 1.001,
                        .low = p * 0.999,
                        .close = p,
                        .volume = 1 + static_cast<double>(i % 5)});
    }
    w::Feeder feeder(cfg, fcfg, c);
    feeder.prepare();
    auto one = [&](const char* what) {
        const pq::Result r = c.exec(
            "INSERT INTO md.bar_fetch (ticker, \"interval\", source, symbol, status, claimed_by, started_at, "
            "attempts) "
            "VALUES ($1, '1m', 'BYBIT', $1, 'FETCHING', 'bench-ingest', now(), 1) RETURNING fetch_id",
            {ticker});
        const std::string id = r.get(0, 0);
        const auto t0 = std::chrono::steady_clock::now();
        const std::string answer = feeder.store(id, bars.front().ts_us, bars, bars.size(), "[]", "");
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%-28s %9ld bars  %7.3f s  %9.0f bars/s  %s\n", what, n, s, static_cast<double>(n) / s,
                    answer.c_str());
    };
    one("insert (empty product)");
    one("upsert again (no change)");
    c.exec("DELETE FROM md.bar WHERE ticker = $1", {ticker});
    c.exec("DELETE FROM md.bar_fetch WHERE ticker = $1", {ticker});
    return 0;
}
