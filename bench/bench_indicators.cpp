// ns per bar of every core indicator (window 20) on 2,500 and 1,048,576-bar random walks, in four
// forms: the batch kernel, the batch kernel before issue 16's pass (test/core/before), the streaming
// reference of the property tests, and a naive O(n*w) recomputation of the definition (backtest-semantics.md)
// in the same run, so ratios survive a noisy machine. Counter ns_per_bar = wall time / bars processed.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "before.hpp"
#include "quant/bars.hpp"
#include "quant/indicators/indicators.hpp"
#include "random_walk.hpp"
#include "streaming_reference.hpp"

namespace {

namespace ind = quant::indicators;
namespace ref = quant::reference;
namespace then = quant::before::indicators;  // the kernels before issue 16's pass
using Span = std::span<const double>;
constexpr int window = 20;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

using quant::bench::random_walk;

void finish(benchmark::State& state, std::size_t n) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
    // (seconds per iteration) / (bars per iteration) in ns.
    state.counters["ns_per_bar"] =
        benchmark::Counter(static_cast<double>(n) * 1e-9,
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// ---- naive O(n*w) forms of the definitions --------------------------------------------------------

void naive_sma(Span x, int n, std::span<double> out) {
    const auto w = static_cast<std::size_t>(n);
    for (std::size_t t = 0; t < x.size(); ++t) {
        if (t + 1 < w) {
            out[t] = nan;
            continue;
        }
        double sum = 0.0;
        for (std::size_t i = t + 1 - w; i <= t; ++i)
            sum += x[i];
        out[t] = sum / n;
    }
}

// EMA has no window to rescan: its reference is the textbook recursion.
void naive_ema(Span x, int n, std::span<double> out) {
    const double a = 2.0 / (n + 1.0);
    for (std::size_t t = 0; t < x.size(); ++t)
        out[t] = t == 0 ? x[0] : a * x[t] + (1.0 - a) * out[t - 1];
}

void naive_rsi(Span x, int n, std::span<double> out) {
    const auto w = static_cast<std::size_t>(n);
    for (std::size_t t = 0; t < x.size(); ++t) {
        if (t < w) {
            out[t] = nan;
            continue;
        }
        double up = 0.0, down = 0.0;
        for (std::size_t i = t + 1 - w; i <= t; ++i) {
            const double d = x[i] - x[i - 1];
            up += std::max(d, 0.0);
            down += std::max(-d, 0.0);
        }
        out[t] = 100.0 - 100.0 / (1.0 + up / down);
    }
}

// Wilder smoothing is a recursion too: a plain loop is its reference.
void naive_rsi_wilder(Span x, int n, std::span<double> out) {
    double up = 0.0, down = 0.0;
    out[0] = nan;
    for (std::size_t t = 1; t < x.size(); ++t) {
        const double d = x[t] - x[t - 1];
        const double g = std::max(d, 0.0), l = std::max(-d, 0.0);
        const auto w = static_cast<std::size_t>(n);
        if (t < w) {
            up += g;
            down += l;
            out[t] = nan;
            continue;
        }
        if (t == w) {
            up = (up + g) / n;
            down = (down + l) / n;
        } else {
            up = (up * (n - 1) + g) / n;
            down = (down * (n - 1) + l) / n;
        }
        out[t] = 100.0 - 100.0 / (1.0 + up / down);
    }
}

// Two passes per window: the mean, then the sum of squared deviations.
void naive_bollinger(Span x, int n, std::span<double> out) {
    const auto w = static_cast<std::size_t>(n);
    for (std::size_t t = 0; t < x.size(); ++t) {
        if (t + 1 < w) {
            out[t] = nan;
            continue;
        }
        double sum = 0.0;
        for (std::size_t i = t + 1 - w; i <= t; ++i)
            sum += x[i];
        const double mean = sum / n;
        double ss = 0.0;
        for (std::size_t i = t + 1 - w; i <= t; ++i)
            ss += (x[i] - mean) * (x[i] - mean);
        out[t] = (x[t] - mean) / std::sqrt(ss / (n - 1));
    }
}

// Rescans the window for the high and the low (Tulip's approach), then a naive SMA of %K.
void naive_stochastic(Span high, Span low, Span close, int n, std::span<double> out) {
    const auto w = static_cast<std::size_t>(n);
    static std::vector<double> k;
    k.assign(close.size(), nan);
    for (std::size_t t = w - 1; t < close.size(); ++t) {
        double hh = high[t], ll = low[t];
        for (std::size_t i = t + 1 - w; i < t; ++i) {
            hh = std::max(hh, high[i]);
            ll = std::min(ll, low[i]);
        }
        k[t] = 100.0 * (close[t] - ll) / (hh - ll);
    }
    naive_sma(k, n, out);
}

void naive_sma_distance(Span x, int n, std::span<double> out) {
    naive_sma(x, n, out);
    for (std::size_t t = 0; t < x.size(); ++t)
        out[t] = x[t] / out[t] - 1.0;
}

void naive_ema_distance(Span x, int n, std::span<double> out) {
    naive_ema(x, n, out);
    for (std::size_t t = 0; t < x.size(); ++t)
        out[t] = x[t] / out[t] - 1.0;
}

// ---- benchmark bodies -------------------------------------------------------------------------------

using CloseFn = void (*)(Span, int, std::span<double>);

template <CloseFn F>
void on_close(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto& bars = random_walk(n);
    std::vector<double> out(n);
    for (auto _ : state) {
        F(bars.close, window, out);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    finish(state, n);
}

using HlcFn = void (*)(Span, Span, Span, int, std::span<double>);

template <HlcFn F>
void on_hlc(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto& bars = random_walk(n);
    std::vector<double> out(n);
    for (auto _ : state) {
        F(bars.high, bars.low, bars.close, window, out);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    finish(state, n);
}

template <typename Streaming>
void streaming_close(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto& bars = random_walk(n);
    std::vector<double> out(n);
    for (auto _ : state) {
        Streaming s(window);
        for (std::size_t t = 0; t < n; ++t)
            out[t] = s.update(bars.close[t]);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    finish(state, n);
}

void streaming_stochastic(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto& bars = random_walk(n);
    std::vector<double> out(n);
    for (auto _ : state) {
        ref::Stochastic s(window);
        for (std::size_t t = 0; t < n; ++t)
            out[t] = s.update(bars.high[t], bars.low[t], bars.close[t]);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    finish(state, n);
}

constexpr std::int64_t small = 2500;
constexpr std::int64_t large = 1 << 20;  // 1,048,576 bars: 8 MiB per column, beyond L2

#define QUANT_BENCH_SIZES ->Arg(small)->Arg(large)->Unit(benchmark::kMicrosecond)

BENCHMARK(on_close<ind::sma>)->Name("sma/batch") QUANT_BENCH_SIZES;
BENCHMARK(on_close<then::sma>)->Name("sma/before") QUANT_BENCH_SIZES;
BENCHMARK(streaming_close<ref::Sma>)->Name("sma/streaming") QUANT_BENCH_SIZES;
BENCHMARK(on_close<naive_sma>)->Name("sma/naive") QUANT_BENCH_SIZES;
BENCHMARK(on_close<ind::ema>)->Name("ema/batch") QUANT_BENCH_SIZES;
BENCHMARK(on_close<then::ema>)->Name("ema/before") QUANT_BENCH_SIZES;
BENCHMARK(streaming_close<ref::Ema>)->Name("ema/streaming") QUANT_BENCH_SIZES;
BENCHMARK(on_close<naive_ema>)->Name("ema/naive") QUANT_BENCH_SIZES;
BENCHMARK(on_close<ind::rsi>)->Name("rsi/batch") QUANT_BENCH_SIZES;
BENCHMARK(on_close<then::rsi>)->Name("rsi/before") QUANT_BENCH_SIZES;
BENCHMARK(streaming_close<ref::Rsi>)->Name("rsi/streaming") QUANT_BENCH_SIZES;
BENCHMARK(on_close<naive_rsi>)->Name("rsi/naive") QUANT_BENCH_SIZES;
BENCHMARK(on_close<ind::rsi_wilder>)->Name("rsi_wilder/batch") QUANT_BENCH_SIZES;
BENCHMARK(on_close<then::rsi_wilder>)->Name("rsi_wilder/before") QUANT_BENCH_SIZES;
BENCHMARK(streaming_close<ref::RsiWilder>)->Name("rsi_wilder/streaming") QUANT_BENCH_SIZES;
BENCHMARK(on_close<naive_rsi_wilder>)->Name("rsi_wilder/naive") QUANT_BENCH_SIZES;
BENCHMARK(on_close<ind::bollinger>)->Name("bollinger/batch") QUANT_BENCH_SIZES;
BENCHMARK(on_close<then::bollinger>)->Name("bollinger/before") QUANT_BENCH_SIZES;
BENCHMARK(streaming_close<ref::Bollinger>)->Name("bollinger/streaming") QUANT_BENCH_SIZES;
BENCHMARK(on_close<naive_bollinger>)->Name("bollinger/naive") QUANT_BENCH_SIZES;
BENCHMARK(on_hlc<ind::stochastic>)->Name("stochastic/batch") QUANT_BENCH_SIZES;
BENCHMARK(on_hlc<then::stochastic>)->Name("stochastic/before") QUANT_BENCH_SIZES;
BENCHMARK(streaming_stochastic)->Name("stochastic/streaming") QUANT_BENCH_SIZES;
BENCHMARK(on_hlc<naive_stochastic>)->Name("stochastic/naive") QUANT_BENCH_SIZES;
BENCHMARK(on_close<ind::sma_distance>)->Name("sma_distance/batch") QUANT_BENCH_SIZES;
BENCHMARK(on_close<then::sma_distance>)->Name("sma_distance/before") QUANT_BENCH_SIZES;
BENCHMARK(streaming_close<ref::SmaDistance>)->Name("sma_distance/streaming") QUANT_BENCH_SIZES;
BENCHMARK(on_close<naive_sma_distance>)->Name("sma_distance/naive") QUANT_BENCH_SIZES;
BENCHMARK(on_close<ind::ema_distance>)->Name("ema_distance/batch") QUANT_BENCH_SIZES;
BENCHMARK(on_close<then::ema_distance>)->Name("ema_distance/before") QUANT_BENCH_SIZES;
BENCHMARK(streaming_close<ref::EmaDistance>)->Name("ema_distance/streaming") QUANT_BENCH_SIZES;
BENCHMARK(on_close<naive_ema_distance>)->Name("ema_distance/naive") QUANT_BENCH_SIZES;

}  // namespace

BENCHMARK_MAIN();
