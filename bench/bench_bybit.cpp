// Signed requests per second one Bybit adapter sustains against fake-bybit (issue 12), and the
// latency of each: one BybitGateway (one keep-alive connection, the clock offset, the rate-limit
// headers obeyed) in a loop for a few seconds per case.
//
//   bench_bybit BASE_URL API_KEY API_SECRET [SECONDS=3]
//
// Cases: signed GET /v5/position/list (one endpoint: Bybit's per-endpoint budget, which the
// gateway obeys through X-Bapi-Limit-Status, is the limit); GETs rotating over position/list,
// wallet-balance and order/realtime; market orders through BybitAdapter::place_order (create +
// the follow-up query until Filled, alternating Buy/Sell). bench/bybit_latency.py runs it
// against a fake it starts; README.md has the figures. Never asserted anywhere.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bybit_adapter.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Figures {
    std::size_t n = 0;
    double seconds = 0;
    double p50_ms = 0, p99_ms = 0;
};

template <class F>
Figures run_for(double seconds, F&& one) {
    std::vector<double> ms;
    const auto t0 = Clock::now();
    const auto end = t0 + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
        const auto a = Clock::now();
        one(ms.size());
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
    }
    Figures f;
    f.n = ms.size();
    f.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::sort(ms.begin(), ms.end());
    if (!ms.empty()) {
        f.p50_ms = ms[ms.size() / 2];
        f.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
    }
    return f;
}

void print(const char* what, const Figures& f, std::int64_t requests) {
    std::printf("%-58s %7zu in %5.2f s = %7.1f /s  (%6.1f signed requests/s)  p50 %6.3f ms  p99 %6.3f ms\n",
                what, f.n, f.seconds, static_cast<double>(f.n) / f.seconds,
                static_cast<double>(requests) / f.seconds, f.p50_ms, f.p99_ms);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s BASE_URL API_KEY API_SECRET [SECONDS]\n", argv[0]);
        return 2;
    }
    const std::string key = argv[2];
    const std::string secret = argv[3];
    const double seconds = argc > 4 ? std::stod(argv[4]) : 3.0;
    try {
        quant::bybit::Settings s;
        s.base_url = argv[1];
        s.poll_ms = 1;
        quant::bybit::BybitGateway gw(s);
        gw.resync();
        auto count = [&gw](auto&& body) {
            const std::int64_t r0 = gw.requests();
            auto f = body();
            return std::make_pair(f, gw.requests() - r0);
        };
        {
            auto [f, r] = count([&] {
                return run_for(seconds, [&](std::size_t) {
                    const auto rep = gw.signed_request("GET", "/v5/position/list",
                                                       "category=linear&symbol=BTCUSDT", key, secret);
                    if (rep.ret_code != 0)
                        throw quant::BrokerError("position/list: " + rep.ret_msg);
                });
            });
            print("signed GET position/list (one endpoint)", f, r);
        }
        {
            const char* paths[] = {"/v5/position/list", "/v5/account/wallet-balance", "/v5/order/realtime"};
            const char* queries[] = {"category=linear&symbol=BTCUSDT", "accountType=UNIFIED",
                                     "category=linear&symbol=BTCUSDT"};
            auto [f, r] = count([&] {
                return run_for(seconds, [&](std::size_t i) {
                    const auto rep = gw.signed_request("GET", paths[i % 3], queries[i % 3], key, secret);
                    if (rep.ret_code != 0)
                        throw quant::BrokerError(std::string(paths[i % 3]) + ": " + rep.ret_msg);
                });
            });
            print("signed GETs rotating over 3 endpoints", f, r);
        }
        {
            quant::bybit::Target t;
            t.category = quant::bybit::Category::linear;
            t.symbol = "BTCUSDT";
            t.api_key = key;
            t.api_secret = secret;
            quant::bybit::BybitAdapter adapter(gw, t);
            adapter.connect();
            const auto run_id = std::to_string(gw.now_ms());
            auto [f, r] = count([&] {
                return run_for(seconds, [&](std::size_t i) {
                    const auto res = adapter.place_order("BTCUSDT", 0.001,
                                                         i % 2 == 0 ? quant::Side::buy : quant::Side::sell,
                                                         "bench-" + run_id + "-" + std::to_string(i));
                    if (res.state != quant::OrderState::filled)
                        throw quant::BrokerError("order " + std::to_string(i) + ": " + res.message);
                });
            });
            print("market orders via place_order (create + follow to Filled)", f, r);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_bybit: %s\n", e.what());
        return 1;
    }
    return 0;
}
