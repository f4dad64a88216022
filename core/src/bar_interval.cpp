#include "quant/bar_interval.hpp"

#include <algorithm>
#include <array>

#include "table_names.hpp"

namespace quant {

namespace {

constexpr std::int64_t minute = 60;
constexpr std::int64_t hour = 60 * minute;
constexpr std::int64_t day = 24 * hour;
// 1970-01-01 was a Thursday: the first Monday 00:00 UTC is 4 days after the epoch.
constexpr std::int64_t monday_offset = 4 * day;

// Bars a year: US equities trade 252 sessions of 6.5 hours (09:30-16:00 New York), crypto 365
// days of 24 hours. A 4-hour grid cuts a 6.5-hour session into 2 bars.
constexpr std::array<BarIntervalInfo, 8> intervals{{
    {.name = "1m",
     .seconds = minute,
     .offset_seconds = 0,
     .equity_bars_per_year = 98280,
     .crypto_bars_per_year = 525600,
     .description = "one minute"},
    {.name = "5m",
     .seconds = 5 * minute,
     .offset_seconds = 0,
     .equity_bars_per_year = 19656,
     .crypto_bars_per_year = 105120,
     .description = "five minutes"},
    {.name = "15m",
     .seconds = 15 * minute,
     .offset_seconds = 0,
     .equity_bars_per_year = 6552,
     .crypto_bars_per_year = 35040,
     .description = "fifteen minutes"},
    {.name = "30m",
     .seconds = 30 * minute,
     .offset_seconds = 0,
     .equity_bars_per_year = 3276,
     .crypto_bars_per_year = 17520,
     .description = "thirty minutes"},
    {.name = "1h",
     .seconds = hour,
     .offset_seconds = 0,
     .equity_bars_per_year = 1638,
     .crypto_bars_per_year = 8760,
     .description = "one hour, opening on the hour (UTC)"},
    {.name = "4h",
     .seconds = 4 * hour,
     .offset_seconds = 0,
     .equity_bars_per_year = 504,
     .crypto_bars_per_year = 2190,
     .description = "four hours, opening at 00, 04, 08, 12, 16, 20 UTC"},
    {.name = "1d",
     .seconds = day,
     .offset_seconds = 0,
     .equity_bars_per_year = 252,
     .crypto_bars_per_year = 365,
     .description = "one day, stamped at 00:00 UTC of its date (the default)"},
    {.name = "1w",
     .seconds = 7 * day,
     .offset_seconds = monday_offset,
     .equity_bars_per_year = 52,
     .crypto_bars_per_year = 52,
     .description = "one week, opening on Monday 00:00 UTC"},
}};

}  // namespace

std::span<const BarIntervalInfo> bar_interval_catalog() {
    return intervals;
}

const BarIntervalInfo* find_bar_interval(std::string_view name) {
    return names::find(intervals, name);
}

std::string bar_interval_names() {
    return names::join(intervals, &BarIntervalInfo::name);
}

const BarIntervalInfo& parse_bar_interval(std::string_view name, const std::string& field, ErrorCode code) {
    const BarIntervalInfo* info = find_bar_interval(name);
    if (info == nullptr) {
        throw Error(code, field, field + ": unknown bar interval \"" + std::string(name) + "\"",
                    "valid intervals: " + bar_interval_names());
    }
    return *info;
}

bool bar_is_aligned(std::int64_t ts_us, const BarIntervalInfo& interval) {
    constexpr std::int64_t us = 1000000;
    const std::int64_t length = interval.seconds * us;
    std::int64_t r = (ts_us - interval.offset_seconds * us) % length;
    return r == 0;
}

std::int64_t bar_close_us(std::int64_t ts_us, const BarIntervalInfo& interval) {
    return ts_us + interval.seconds * 1000000;
}

std::optional<std::string> trading_period_warning(int trading_period, const BarIntervalInfo& interval) {
    const int lo = std::min(interval.equity_bars_per_year, interval.crypto_bars_per_year);
    const int hi = std::max(interval.equity_bars_per_year, interval.crypto_bars_per_year);
    const double p = trading_period;
    if (p >= 0.8 * lo && p <= 1.25 * hi)
        return std::nullopt;
    std::string fits = interval.equity_bars_per_year == interval.crypto_bars_per_year
                           ? std::to_string(hi)
                           : std::to_string(interval.crypto_bars_per_year) + " for crypto, about " +
                                 std::to_string(interval.equity_bars_per_year) + " for US equities";
    return "trading_period: " + std::to_string(trading_period) + " bars a year does not fit " +
           std::string(interval.name) + " bars (" + fits +
           "); annualized_return and sharpe_ratio are scaled by it";
}

}  // namespace quant
