// ns per bar per substrategy of the core backtest (run_backtest: indicators, signals, combined
// position, pnl and both metric sets) on 2,500 and 1,048,576-bar random walks, with 1 and 2
// substrategies; beside it, the indicator kernels alone, so the cost of the rest is visible.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "before.hpp"
#include "quant/backtest.hpp"
#include "quant/indicators/indicators.hpp"
#include "quant/strategy_config.hpp"
#include "random_walk.hpp"

namespace {

using quant::bench::random_walk;

const char* const configs[] = {
    // 0: one substrategy, the seed's Bollinger
    R"({"ticker": "X", "trading_period": 252, "substrategies": [
        {"indicator": "get_bollinger_band", "signal_func": "momentum_band_signal", "window": 20, "signal": 1.0}]})",
    // 1: the seed's two substrategies (Bollinger AND RSI)
    R"({"ticker": "X", "trading_period": 252, "substrategies": [
        {"indicator": "get_bollinger_band", "signal_func": "momentum_band_signal", "window": 20, "signal": 1.0},
        {"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 70}]})",
    // 2: one substrategy, SMA distance (the cheapest indicator)
    R"({"ticker": "X", "trading_period": 252, "substrategies": [
        {"indicator": "get_sma_distance", "signal_func": "momentum_band_signal", "window": 20, "signal": 0.01}]})",
    // 3: one substrategy, stochastic (reads high/low/close)
    R"({"ticker": "X", "trading_period": 252, "substrategies": [
        {"indicator": "get_stochastic_oscillator", "signal_func": "momentum_bounded_signal", "window": 20,
         "signal": 80}]})",
};

void finish(benchmark::State& state, std::size_t bars, std::size_t substrategies) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bars));
    const double units = static_cast<double>(bars * substrategies) * 1e-9;
    state.counters["ns_per_bar_per_sub"] = benchmark::Counter(
        units, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void backtest(benchmark::State& state) {
    const auto cfg = quant::parse_strategy_config(std::string_view(configs[state.range(0)]));
    const auto n = static_cast<std::size_t>(state.range(1));
    const auto view = random_walk(n).view();
    for (auto _ : state) {
        auto summary = quant::run_backtest(cfg, view, 5.0);
        benchmark::DoNotOptimize(summary);
    }
    finish(state, n, cfg.substrategies.size());
}

// run_backtest before issue 16's pass (test/core/before: the previous kernels, per-call columns,
// the per-bar combination and the generic scoring loop), in the same run.
void backtest_before(benchmark::State& state) {
    const auto cfg = quant::parse_strategy_config(std::string_view(configs[state.range(0)]));
    const auto n = static_cast<std::size_t>(state.range(1));
    const auto view = random_walk(n).view();
    for (auto _ : state) {
        auto summary = quant::before::run_backtest(cfg, view, 5.0);
        benchmark::DoNotOptimize(summary);
    }
    finish(state, n, cfg.substrategies.size());
}

// The indicator kernels of the same config alone (what run_backtest adds on top is the rest).
void indicators_only(benchmark::State& state) {
    const auto cfg = quant::parse_strategy_config(std::string_view(configs[state.range(0)]));
    const auto n = static_cast<std::size_t>(state.range(1));
    const auto view = random_walk(n).view();
    std::vector<double> out(n);
    for (auto _ : state) {
        for (const auto& s : cfg.substrategies) {
            s.indicator->compute(view, s.data_column, s.window, out);
            benchmark::DoNotOptimize(out.data());
            benchmark::ClobberMemory();
        }
    }
    finish(state, n, cfg.substrategies.size());
}

constexpr std::int64_t small = 2500;
constexpr std::int64_t large = 1 << 20;

BENCHMARK(backtest)
    ->ArgNames({"config", "bars"})
    ->ArgsProduct({{0, 1, 2, 3}, {small, large}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(backtest_before)
    ->ArgNames({"config", "bars"})
    ->ArgsProduct({{0, 1, 2, 3}, {small, large}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(indicators_only)
    ->ArgNames({"config", "bars"})
    ->ArgsProduct({{0, 1, 2, 3}, {small, large}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
