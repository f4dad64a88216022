// The benchmarks' input: a seeded random walk (1% moves), high/low around open/close, one per
// length (built once, kept for the process).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>

#include "quant/bars.hpp"

namespace quant::bench {

inline const OwnedBars& random_walk(std::size_t n) {
    static std::map<std::size_t, OwnedBars> cache;
    if (auto it = cache.find(n); it != cache.end())
        return it->second;
    OwnedBars bars;
    bars.reserve(n);
    std::mt19937_64 rng(42);
    std::normal_distribution<double> move(0.0, 0.01);
    double close = 100.0;
    for (std::size_t t = 0; t < n; ++t) {
        const double open = close;
        close *= std::exp(move(rng));
        const double high = std::max(open, close) * (1.0 + std::fabs(move(rng)) * 0.5);
        const double low = std::min(open, close) * (1.0 - std::fabs(move(rng)) * 0.5);
        bars.push_back(static_cast<std::int64_t>(t) * 86400000000LL, open, high, low, close, 1e6);
    }
    return cache.emplace(n, std::move(bars)).first->second;
}

}  // namespace quant::bench
