// The backtest of backtest-semantics.md: indicators -> signals -> combined position -> pnl ->
// metrics. One code path for the backtest and the live signal (the last position).
#pragma once
#include <cstdint>
#include <vector>

#include "quant/bars.hpp"
#include "quant/json.hpp"
#include "quant/no_postgres.hpp"
#include "quant/strategy_bars.hpp"
#include "quant/strategy_config.hpp"

namespace quant {

struct Metrics {
    double total_return = 0, annualized_return = 0, sharpe_ratio = 0, max_drawdown = 0, calmar_ratio = 0;
};

struct BacktestSummary {
    Metrics metrics;
    Metrics buy_hold;
    double last_position = 0;
    std::size_t bars = 0;
    std::size_t position_changes = 0;
    std::int64_t first_ts = 0, last_ts = 0;
};

// The per-bar columns behind the metrics (quant.backtest_series).
struct BacktestSeries {
    std::vector<double> price, position, pnl, cumulative, drawdown, buy_hold_pnl, buy_hold_cumulative,
        buy_hold_drawdown;
    std::vector<std::vector<double>> indicator;             // [substrategy][bar]
    std::vector<std::vector<double>> substrategy_position;  // [substrategy][bar]
};

// The live signal: the combined position on the latest bar, with each substrategy's inputs.
struct LiveSignal {
    std::int64_t bar_ts = 0;
    double signal = 0;  // -1, 0, 1, or NaN while the indicators are not yet defined
    std::vector<double> indicator_value;
    std::vector<double> position;
};

// Checks that the bars can carry the strategy; throws Error{no_data | insufficient_data}.
void check_bars_for(const StrategyConfig& cfg, const StrategyBars& bars);

// The three stages behind run_backtest, evaluate_live and the optimizer, so that a grid cell
// scores exactly (bit for bit) what quant.backtest returns for the same parameters:
// 1. signal_codes: one substrategy's indicator values -> position codes;
void signal_codes(const SubStrategy& sub, std::span<const double> indicator, std::span<PositionCode> out);
// 2. combine_codes (signals.hpp) per bar -> the decided position; combine_columns does it over
//    whole columns (columns[j][t] for substrategy j, bar t < n), branch-free, with the same result;
void combine_columns(Conjunction conj, std::span<const PositionCode* const> columns, std::size_t n,
                     PositionCode* out);
// 3. score_positions: the decided positions (before the fill delay) -> pnl, equity, metrics.
struct ScoreInput {
    std::span<const PositionCode> decided;
    std::span<const double> price;
    std::span<const double> change;  // price[t]/price[t-1]-1 precomputed (NaN at 0), or empty
    int fill_delay_bars = 0;
    int trading_period = 252;
    std::size_t first_scored = 0;  // rows before this are not scored (the largest window)
    double fee_bps = 0.0;
    bool score_buy_hold = true;  // false leaves buy_hold NaN (the optimizer scores it for the best only)
    // every change from this bar on is finite, as the caller checked once for all its cells
    // (score_lanes checks the rest itself); the default: none known
    std::size_t finite_change_from = std::numeric_limits<std::size_t>::max();
};
BacktestSummary score_positions(const ScoreInput& in, BacktestSeries* series = nullptr);

// Up to max_score_lanes cells scored side by side (independent dependency chains run in parallel)
// with the metrics score_positions gives each of them, to the bit, without buy-and-hold. They share
// everything in `shared` but `decided`. Returns false, scoring nothing, when a lane has a gap, a
// change is not finite, or the lanes' first defined bars differ: score them one by one then.
inline constexpr std::size_t max_score_lanes = 4;
bool score_lanes(std::span<const std::span<const PositionCode>> decided, const ScoreInput& shared,
                 std::span<BacktestSummary> out);
// change[t] = price[t]/price[t-1] - 1, NaN at t = 0.
std::vector<double> price_changes(std::span<const double> price);

// `bars`: a BarSeries for a strategy of one product, align_strategy_bars() for one that names others.
BacktestSummary run_backtest(const StrategyConfig& cfg, const StrategyBars& bars, double fee_bps,
                             BacktestSeries* series = nullptr);
LiveSignal evaluate_live(const StrategyConfig& cfg, const StrategyBars& bars);

// Metrics over a pnl column (NaN skipped), scored from row `first_scored`.
Metrics compute_metrics(std::span<const double> pnl, std::size_t first_scored, int trading_period);

// BacktestResults (seed §1.3) as JSON text, NaN as null; `run_at` is the caller's clock.
std::string backtest_results_text(const StrategyConfig& cfg, const BacktestSummary& s, double fee_bps,
                                  std::int64_t run_at_unix_micros);
Json metrics_json(const Metrics& m);
// {ticker, bar_ts, signal, substrategies: [{id, indicator, signal_func, window, value, position}]}.
Json live_signal_json(const StrategyConfig& cfg, const LiveSignal& live);

}  // namespace quant
