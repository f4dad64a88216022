// Indicator underlyings (backtest-semantics.md, "Missing values and other products' bars"): a
// substrategy may read another product's bars; they are put on the trading product's time axis
// before its indicator runs over them.
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "quant/bars.hpp"
#include "quant/no_postgres.hpp"

namespace quant {

// How a factor product's bars meet the trading bars' times.
// exact: the product's bar at the same time, NaN where it has none (the original engine's rule).
// asof:  the product's last bar at or before the trading bar's time, carried forward; never a
//        newer one (bars of one interval: a bar at or before the trading bar has closed by its close).
enum class Align { exact, asof };

inline constexpr std::string_view align_names_hint = "exact, asof";
std::string_view align_name(Align a);
// Throws Error{invalid_config} naming `field` and the valid values.
Align parse_align(std::string_view name, const std::string& field);

// A factor product's columns at the trading bars' times `ts` (ts = the trading bars' times).
OwnedBars align_bars(std::span<const std::int64_t> ts, const BarSeries& product, Align align);

// Trading bars (of `ts`) for which the product has a bar of their own: at the same time (exact),
// or, for asof, a bar after the previous trading bar's time and at or before this one's.
std::size_t covered_bars(std::span<const std::int64_t> ts, const BarSeries& product, Align align);

// A factor product must have bars at this share of the trading bars' times.
inline constexpr double min_coverage = 0.8;

}  // namespace quant
