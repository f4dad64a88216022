// Prometheus text-format metrics: requests by route and status, latency histogram by route,
// errors by problem type, rate-limit refusals, the pool's use and the transport's counters
// (connections, refusals, deadlines).
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "transport.hpp"

namespace quant::http {

class Metrics {
public:
    // route: "GET /api/v1/strategies/{id}" (the pattern, never the raw path: bounded labels).
    void observe(const std::string& route, int status, double seconds);
    void error(const std::string& type);
    void rate_limited(const std::string& limit);
    std::string render(int pool_size, int pool_in_use, int in_flight, const TransportStats& transport) const;

private:
    static constexpr std::array<double, 12> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,   0.25,   0.5,   1.0,  5.0};
    struct Histogram {
        std::array<unsigned long long, kBuckets.size()> counts{};
        unsigned long long count = 0;
        double sum = 0;
    };
    mutable std::mutex mu_;
    std::map<std::pair<std::string, int>, unsigned long long> requests_;
    std::map<std::string, Histogram> latency_;
    std::map<std::string, unsigned long long> errors_;
    std::map<std::string, unsigned long long> limited_;
};

}  // namespace quant::http
