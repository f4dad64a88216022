// Grid search and walk-forward (seed §1.3 `walk_forward`), exhaustive: every cell of the grid
// is evaluated with the backtest's own stages (signal_codes, combine_codes, score_positions), so a
// cell's metrics are bit-for-bit those of quant.backtest with the same parameters. Parts:
// src/optimize/grid.cpp (the grid argument), search.cpp (the cell scorer and the parallel search),
// walk_forward.cpp, result_json.cpp. Both searches return a result struct; *_json makes the JSON.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "quant/backtest.hpp"
#include "quant/json.hpp"
#include "quant/no_postgres.hpp"
#include "quant/strategy_config.hpp"

namespace quant {

// Per substrategy, the windows and signals to search (the config's own value when not given).
struct ParamGrid {
    std::vector<std::vector<int>> windows;
    std::vector<std::vector<double>> signals;
    std::size_t size() const;
};

inline constexpr std::size_t max_grid_cells = 2'000'000;
inline constexpr std::size_t max_values_per_axis = 100'000;

// grid: an array with one object per substrategy (in order), or an object keyed by substrategy
// id; each {"window": [..] | {"min","max","step"} | n, "signal": [..] | {"min","max","step"} | x}.
// Ranges include max (robust to floating-point steps). Throws Error{invalid_config} naming the
// field ("grid[0].window.step"), or Error{limit_exceeded} with the size and the cap.
ParamGrid parse_grid(const Json& grid, const StrategyConfig& cfg);

enum class Objective { total_return, annualized_return, sharpe_ratio, max_drawdown, calmar_ratio };
// Throws Error{invalid_argument} listing the valid names.
Objective parse_objective(std::string_view name);
std::string_view objective_name(Objective o);
double objective_value(const Metrics& m, Objective o);
// max_drawdown is minimised, every other objective maximised.
bool objective_minimised(Objective o);

struct OptimizeOptions {
    double fee_bps = 5.0;
    Objective objective = Objective::sharpe_ratio;
    std::size_t top_n = 10;
    bool keep_cells = false;
    unsigned threads = 0;  // 0: one per core
    // Called on the calling thread every few seconds with (cells done, cells in all); returning
    // false stops the search with Error{cancelled}.
    std::function<bool(std::size_t, std::size_t)> progress;
};

struct CellResult {
    std::size_t index = 0;  // position in grid order (the tie-breaker)
    std::vector<int> window;
    std::vector<double> signal;
    BacktestSummary summary;
};

struct OptimizeResult {
    std::size_t grid_size = 0, evaluated = 0, valid = 0;
    std::optional<CellResult> best;  // none when no cell has a valid objective
    std::vector<CellResult> top;     // best first, top_n at most
    std::vector<CellResult> cells;   // every cell in grid order, when keep_cells
    Objective objective = Objective::sharpe_ratio;
};

OptimizeResult optimize(const StrategyConfig& cfg, const ParamGrid& grid, const StrategyBars& bars,
                        const OptimizeOptions& options);
Json optimize_json(const StrategyConfig& cfg, const OptimizeResult& r, const OptimizeOptions& options);

enum class Warmup { restart, full };
struct WalkForwardOptions {
    double split_ratio = 0.5;
    double fee_bps = 5.0;
    Warmup warmup = Warmup::restart;
    unsigned threads = 0;
    std::function<bool(std::size_t, std::size_t)> progress;
};
Warmup parse_warmup(std::string_view name);

// The in-sample search (top_n 1, by Sharpe) and its best cell scored out of sample.
struct WalkForwardResult {
    OptimizeResult in_sample;
    std::size_t split_index = 0;  // the first out-of-sample bar
    std::int64_t split_ts = 0, first_ts = 0, in_sample_last_ts = 0, last_ts = 0;
    // Of the best in-sample cell, when there is one:
    Metrics out_of_sample, out_of_sample_buy_hold;
    std::size_t out_of_sample_bars = 0;
    double overfitting_ratio = 0;  // 1 - oos Sharpe / in-sample Sharpe; NaN when undefined
};

// Best in-sample cell by Sharpe, scored in and out of sample (backtest-semantics.md).
WalkForwardResult walk_forward(const StrategyConfig& cfg, const ParamGrid& grid, const StrategyBars& bars,
                               const WalkForwardOptions& options);
Json walk_forward_json(const StrategyConfig& cfg, const WalkForwardResult& r,
                       const WalkForwardOptions& options);

}  // namespace quant
