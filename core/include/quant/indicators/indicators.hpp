// The indicators of backtest-semantics.md in batch form: each fills `out` (same length as the
// input) in one pass over arrays, NaN where undefined. The backtest, the live signal and the grid
// search all run these kernels; a per-bar (streaming) form is only the test's reference oracle
// (test/core/indicators/streaming_reference.hpp). Rolling sums are kept relative to a shift that
// is re-based from the window every few hundred bars, so there is no raw sum-of-squares
// cancellation at high price levels and no drift over long series.
#pragma once
#include <cstddef>
#include <span>
#include <vector>

#include "quant/no_postgres.hpp"

namespace quant::indicators {

// ---- batch forms ---------------------------------------------------------------------------
void sma(std::span<const double> x, int n, std::span<double> out);
void ema(std::span<const double> x, int n, std::span<double> out);
void rsi(std::span<const double> x, int n, std::span<double> out);         // Cutler: simple means
void rsi_wilder(std::span<const double> x, int n, std::span<double> out);  // Wilder smoothing
void bollinger(std::span<const double> x, int n, std::span<double> out);   // z-score, sample SD
void stochastic(std::span<const double> high, std::span<const double> low, std::span<const double> close,
                int n, std::span<double> out);                               // %D = SMA_n(%K)
void sma_distance(std::span<const double> x, int n, std::span<double> out);  // x/SMA - 1
void ema_distance(std::span<const double> x, int n, std::span<double> out);  // x/EMA - 1

}  // namespace quant::indicators
