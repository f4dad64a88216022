// The bar intervals (1m 5m 15m 30m 1h 4h 1d 1w): the one list md.bar's `interval`, the Strategy
// JSON's `interval`, the schedules and the bar uploads name. refdata.bar_interval is filled from
// it (quant.bar_interval_catalog()). A bar's `ts` is its open time in UTC; it closes at
// ts + seconds. Bars are aligned: ts is a multiple of the length since the Unix epoch, weekly bars
// open on Monday 00:00 UTC (offset_seconds shifts the grid).
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "quant/error.hpp"
#include "quant/no_postgres.hpp"

namespace quant {

struct BarIntervalInfo {
    std::string_view name;  // "1h"
    std::int64_t seconds;   // the length of a bar
    // Bar opens are at offset_seconds + k * seconds after the Unix epoch (1w: Mondays).
    std::int64_t offset_seconds;
    // Bars a year, for trading_period: US equities (252 sessions of 6.5 hours), crypto (all
    // year round, 365 days of 24 hours). A trading_period far from both is warned about.
    int equity_bars_per_year;
    int crypto_bars_per_year;
    std::string_view description;
};

inline constexpr std::string_view default_bar_interval = "1d";

std::span<const BarIntervalInfo> bar_interval_catalog();
// Exact (case-sensitive) look-up; nullptr when unknown.
const BarIntervalInfo* find_bar_interval(std::string_view name);
// "1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w", for error hints.
std::string bar_interval_names();
// The interval named `name`, or Error{code} naming `field` with the valid values.
const BarIntervalInfo& parse_bar_interval(std::string_view name, const std::string& field,
                                          ErrorCode code = ErrorCode::invalid_argument);

// True when a bar opening at ts_us (microseconds since the Unix epoch) is on the interval's grid.
bool bar_is_aligned(std::int64_t ts_us, const BarIntervalInfo& interval);
// The bar's close time (its open + its length), microseconds since the Unix epoch.
std::int64_t bar_close_us(std::int64_t ts_us, const BarIntervalInfo& interval);

// The warning (naming the field trading_period) when bars a year do not fit the interval: outside
// [0.8 x the smaller, 1.25 x the larger] of the equity and crypto figures; nullopt when they fit.
std::optional<std::string> trading_period_warning(int trading_period, const BarIntervalInfo& interval);

}  // namespace quant
