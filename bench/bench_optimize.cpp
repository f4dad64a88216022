// Grid search in the core: quant::optimize over the last 2,516 TTRC bars
// (data/ttrc_daily_ohlcv.csv, 1997-01-02 .. 2006-12-29), fee 5 bps, objective sharpe_ratio,
// top 10, no cell list, with 1 and 2 threads:
//   grid 0: 10,000 cells, one substrategy: Bollinger momentum, windows 10..109 x signals
//           0.02..2.00 step 0.02 (100 x 100); target <= 50 ms (the original: 25.9 ms per cell);
//   grid 1: 131,769 cells, two substrategies AND (the grid the original had to sample): Bollinger
//           windows 10..170 step 5 x signals 0.25..2.75 step 0.25 (33 x 11), RSI windows 5..37 x
//           signals 50..100 step 5 (33 x 11); target <= 2 s.
// Counters: ms per search (the iteration time), us_per_cell and ns_per_cell_bar.
// The SQL end-to-end figures of the same two searches: bench/sql_optimize.sh.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "quant/bars.hpp"
#include "quant/optimize.hpp"
#include "quant/strategy_config.hpp"

namespace {

constexpr std::size_t last_bars = 2516;  // TTRC from 1997-01-01, as bench/sql_backtest.sh

// The last 2,516 TTRC bars (a copy of the columns: the view must outlive the file's text).
const quant::OwnedBars& ttrc() {
    static const quant::OwnedBars bars = [] {
        const std::string path = std::string(QUANT_SOURCE_DIR) + "/data/ttrc_daily_ohlcv.csv";
        std::ifstream in(path);
        if (!in)
            throw std::runtime_error("cannot read " + path);
        std::stringstream text;
        text << in.rdbuf();
        const quant::OwnedBars all = quant::read_bars_csv(text.str());
        if (all.close.size() < last_bars)
            throw std::runtime_error("fewer bars than expected in " + path);
        quant::OwnedBars tail;
        tail.reserve(last_bars);
        for (std::size_t t = all.close.size() - last_bars; t < all.close.size(); ++t) {
            tail.push_back(all.ts[t], all.open[t], all.high[t], all.low[t], all.close[t], all.volume[t]);
        }
        return tail;
    }();
    return bars;
}

struct Search {
    const char* config;
    const char* grid;
    std::size_t cells;
};

const Search searches[] = {
    {R"({"ticker": "TTRC", "conjunction": "AND", "trading_period": 252, "substrategies": [
        {"id": 1, "indicator": "get_bollinger_band", "signal_func": "momentum_band_signal", "window": 20,
         "signal": 1.0}]})",
     R"([{"window": {"min": 10, "max": 109, "step": 1}, "signal": {"min": 0.02, "max": 2.0, "step": 0.02}}])",
     10'000},
    {R"({"ticker": "TTRC", "conjunction": "AND", "trading_period": 252, "substrategies": [
        {"id": 1, "indicator": "get_bollinger_band", "signal_func": "momentum_band_signal", "window": 20,
         "signal": 1.0},
        {"id": 2, "indicator": "get_rsi", "signal_func": "momentum_bounded_signal", "window": 14, "signal": 70}]})",
     R"([{"window": {"min": 10, "max": 170, "step": 5}, "signal": {"min": 0.25, "max": 2.75, "step": 0.25}},
         {"window": {"min": 5, "max": 37, "step": 1}, "signal": {"min": 50, "max": 100, "step": 5}}])",
     131'769},
};

void optimize(benchmark::State& state) {
    const Search& s = searches[state.range(0)];
    const auto cfg = quant::parse_strategy_config(std::string_view(s.config));
    const auto grid = quant::parse_grid(quant::parse_json(s.grid), cfg);
    if (grid.size() != s.cells) {
        state.SkipWithError("unexpected grid size");
        return;
    }
    const auto view = ttrc().view();
    quant::OptimizeOptions options;
    options.fee_bps = 5.0;
    options.top_n = 10;
    options.threads = static_cast<unsigned>(state.range(1));
    for (auto _ : state) {
        auto result = quant::optimize(cfg, grid, view, options);
        benchmark::DoNotOptimize(result);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(s.cells));
    state.counters["cells"] = static_cast<double>(s.cells);
    state.counters["us_per_cell"] =
        benchmark::Counter(static_cast<double>(s.cells) * 1e-6,
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    state.counters["ns_per_cell_bar"] =
        benchmark::Counter(static_cast<double>(s.cells * view.size()) * 1e-9,
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Wall time: with 2 threads the CPU time of the calling thread alone would understate the cost.
BENCHMARK(optimize)
    ->ArgNames({"grid", "threads"})
    ->ArgsProduct({{0, 1}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

}  // namespace

BENCHMARK_MAIN();
