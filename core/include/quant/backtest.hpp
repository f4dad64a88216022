// The backtest of backtest-semantics.md: indicators -> signals -> combined position -> pnl ->
// metrics. One code path for the backtest and the live signal (the last position).
#pragma once
#include "quant/no_postgres.hpp"
#include "quant/bars.hpp"
#include "quant/json.hpp"
#include "quant/strategy_config.hpp"

#include <cstdint>
#include <vector>

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
    std::vector<std::vector<double>> indicator;           // [substrategy][bar]
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
void check_bars_for(const StrategyConfig& cfg, const BarSeries& bars);

BacktestSummary run_backtest(const StrategyConfig& cfg, const BarSeries& bars, double fee_bps,
                             BacktestSeries* series = nullptr);
LiveSignal evaluate_live(const StrategyConfig& cfg, const BarSeries& bars);

// Metrics over a pnl column (NaN skipped), scored from row `first_scored`.
Metrics compute_metrics(std::span<const double> pnl, std::size_t first_scored, int trading_period);

// BacktestResults (seed §1.3) with NaN as null; `run_at` is the caller's clock.
Json backtest_results_json(const StrategyConfig& cfg, const BacktestSummary& s, double fee_bps,
                           std::int64_t run_at_unix_micros);
Json metrics_json(const Metrics& m);
// {ticker, bar_ts, signal, substrategies: [{id, indicator, signal_func, window, value, position}]}.
Json live_signal_json(const StrategyConfig& cfg, const LiveSignal& live);

}  // namespace quant
