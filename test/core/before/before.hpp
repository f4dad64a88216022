// The kernels and the backtest as they were before issue 16's pass (2026-12-02, main at 6b01dcb),
// kept verbatim as the reference of the before/after comparison: before_after_test.cpp checks the
// production kernels and run_backtest against these bit for bit on random series, and the
// benchmarks (bench/) time both in the same run. Not production code; not linked into quant_core.
// One change since: the chunk proof's finite-magnitude test (session 9), a bug both had (an
// infinity entering at a chunk's first bar passed the proof); IndicatorProperties'
// AnInfinityIsNonFiniteAtEveryChunkStart checks the production kernels against the streaming ones.
#pragma once
#include <span>

#include "quant/backtest.hpp"

namespace quant::before::indicators {
void sma(std::span<const double> x, int n, std::span<double> out);
void ema(std::span<const double> x, int n, std::span<double> out);
void rsi(std::span<const double> x, int n, std::span<double> out);
void rsi_wilder(std::span<const double> x, int n, std::span<double> out);
void bollinger(std::span<const double> x, int n, std::span<double> out);
void stochastic(std::span<const double> high, std::span<const double> low, std::span<const double> close,
                int n, std::span<double> out);
void sma_distance(std::span<const double> x, int n, std::span<double> out);
void ema_distance(std::span<const double> x, int n, std::span<double> out);
}  // namespace quant::before::indicators

namespace quant::before {
// The indicator of `sub` by the kernels above (the registry's dispatch, by name).
void compute_indicator(const SubStrategy& sub, const BarSeries& bars, std::span<double> out);
// run_backtest as it was: per-call columns, the combination per bar, the generic scoring loop
// (score_positions with buy-and-hold), on the kernels above.
BacktestSummary run_backtest(const StrategyConfig& cfg, const StrategyBars& bars, double fee_bps);
// BacktestResults as it was built before session 9: an nlohmann tree, dumped by the caller.
Json backtest_results_json(const StrategyConfig& cfg, const BacktestSummary& s, double fee_bps,
                           std::int64_t run_at_unix_micros);
}  // namespace quant::before
