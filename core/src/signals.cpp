#include "quant/signals.hpp"

#include <limits>

namespace quant {

double combine_positions(Conjunction conj, std::span<const double> positions) noexcept {
    bool any_long = false, any_short = false, all_long = true, all_short = true;
    for (double p : positions) {
        if (std::isnan(p)) return std::numeric_limits<double>::quiet_NaN();
    }
    if (positions.size() == 1) return positions[0];
    // FILTER: the first substrategy gates (non-zero passes), the others are ANDed.
    std::span<const double> voters = positions;
    if (conj == Conjunction::filter) {
        if (positions[0] == 0.0) return 0.0;
        voters = positions.subspan(1);
    }
    for (double p : voters) {
        any_long |= p > 0.0;
        any_short |= p < 0.0;
        all_long &= p > 0.0;
        all_short &= p < 0.0;
    }
    if (conj == Conjunction::any) {
        if (any_long) return 1.0;  // a conflict resolves to long, as the original engine did
        return any_short ? -1.0 : 0.0;
    }
    if (all_long) return 1.0;
    return all_short ? -1.0 : 0.0;
}

}  // namespace quant
