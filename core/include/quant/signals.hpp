// Signal functions (indicator value -> position in {-1, 0, +1}, NaN for NaN) and the
// conjunctions that combine substrategy positions, per backtest-semantics.md.
#pragma once
#include "quant/no_postgres.hpp"
#include "quant/indicators/registry.hpp"

#include <cmath>
#include <span>

namespace quant {

// The long test is evaluated first.
inline double apply_signal_func(SignalKind kind, bool long_only, double v, double s) noexcept {
    if (std::isnan(v)) return v;
    double pos = 0.0;
    switch (kind) {
        case SignalKind::momentum_band: pos = v > s ? 1.0 : (v < -s ? -1.0 : 0.0); break;
        case SignalKind::reversion_band: pos = v < -s ? 1.0 : (v > s ? -1.0 : 0.0); break;
        case SignalKind::momentum_bounded: pos = v > s ? 1.0 : (v < 100.0 - s ? -1.0 : 0.0); break;
        case SignalKind::reversion_bounded: pos = v < 100.0 - s ? 1.0 : (v > s ? -1.0 : 0.0); break;
    }
    return (long_only && pos < 0.0) ? 0.0 : pos;
}

enum class Conjunction { all /* AND */, any /* OR */, filter /* FILTER */ };

// Combines the positions of one bar. NaN if any input is NaN.
double combine_positions(Conjunction conj, std::span<const double> positions) noexcept;

}  // namespace quant
