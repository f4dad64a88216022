// Signal functions (indicator value -> position in {-1, 0, +1}, NaN for NaN) and the
// conjunctions that combine substrategy positions, per backtest-semantics.md.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>

#include "quant/indicators/registry.hpp"
#include "quant/no_postgres.hpp"

namespace quant {

// The long test is evaluated first.
inline double apply_signal_func(SignalKind kind, bool long_only, double v, double s) noexcept {
    if (std::isnan(v))
        return v;
    double pos = 0.0;
    switch (kind) {
        case SignalKind::momentum_band:
            pos = v > s ? 1.0 : (v < -s ? -1.0 : 0.0);
            break;
        case SignalKind::reversion_band:
            pos = v < -s ? 1.0 : (v > s ? -1.0 : 0.0);
            break;
        case SignalKind::momentum_bounded:
            pos = v > s ? 1.0 : (v < 100.0 - s ? -1.0 : 0.0);
            break;
        case SignalKind::reversion_bounded:
            pos = v < 100.0 - s ? 1.0 : (v > s ? -1.0 : 0.0);
            break;
    }
    return (long_only && pos < 0.0) ? 0.0 : pos;
}

enum class Conjunction { all /* AND */, any /* OR */, filter /* FILTER */ };

// A position as a code: -1, 0, +1, or `undefined` for NaN (before the indicators are defined).
// Positions only take these values, so the code is exact; the grid search keeps whole position
// series in this form (one byte a bar).
using PositionCode = std::int8_t;
inline constexpr PositionCode undefined_position = -128;

inline PositionCode position_code(double p) noexcept {
    return std::isnan(p) ? undefined_position : static_cast<PositionCode>(p);
}
inline double position_value(PositionCode c) noexcept {
    return c == undefined_position ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(c);
}

// Combines the positions of one bar (backtest-semantics.md): undefined if any input is.
// AND: +1 if all +1, -1 if all -1, else 0. OR: +1 if any +1 (a conflict is +1), else -1 if any
// -1, else 0. FILTER: the first is a gate (non-zero passes), the AND of the others where it does.
inline PositionCode combine_codes(Conjunction conj, const PositionCode* codes, std::size_t k) noexcept {
    bool undefined = false;
    for (std::size_t j = 0; j < k; ++j)
        undefined |= codes[j] == undefined_position;
    if (undefined)
        return undefined_position;
    if (k == 1)
        return codes[0];
    std::size_t first = 0;
    if (conj == Conjunction::filter) {
        if (codes[0] == 0)
            return 0;
        first = 1;
    }
    std::size_t longs = 0, shorts = 0;
    for (std::size_t j = first; j < k; ++j) {
        longs += codes[j] > 0;
        shorts += codes[j] < 0;
    }
    constexpr PositionCode long_code = 1, flat_code = 0, short_code = -1;
    if (conj == Conjunction::any)
        return longs > 0 ? long_code : (shorts > 0 ? short_code : flat_code);
    const std::size_t voters = k - first;
    return longs == voters ? long_code : (shorts == voters ? short_code : flat_code);
}

// The same on positions as doubles (NaN for undefined).
inline double combine_positions(Conjunction conj, std::span<const double> positions) noexcept {
    std::array<PositionCode, 64> codes{};
    const std::size_t k = std::min(positions.size(), codes.size());
    for (std::size_t j = 0; j < k; ++j)
        codes[j] = position_code(positions[j]);
    return position_value(combine_codes(conj, codes.data(), k));
}

}  // namespace quant
