// A bar series: columns of one ticker in time order, viewed (not owned) by the engine so that
// the extension can hand over arrays it loaded through SPI without a copy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/no_postgres.hpp"

namespace quant {

// The factor columns a substrategy may read (`data_column`). `v` is the close, the seed's default.
enum class Column { v, open, high, low, close, volume };

inline constexpr std::string_view column_names_hint = "v, open, high, low, close, volume";

struct BarSeries {
    std::span<const std::int64_t> ts;  // microseconds since the Unix epoch, UTC, ascending
    std::span<const double> open;
    std::span<const double> high;
    std::span<const double> low;
    std::span<const double> close;
    std::span<const double> volume;

    std::size_t size() const noexcept { return close.size(); }
    std::span<const double> column(Column c) const noexcept;
};

// Owns the columns; for tests, benchmarks and the worker.
struct OwnedBars {
    std::vector<std::int64_t> ts;
    std::vector<double> open, high, low, close, volume;

    BarSeries view() const noexcept { return {ts, open, high, low, close, volume}; }
    void reserve(std::size_t n);
    void push_back(std::int64_t t, double o, double h, double l, double c, double v);
};

// Parses a CSV with header date,open,high,low,close,volume (date as YYYY-MM-DD, UTC midnight).
OwnedBars read_bars_csv(std::string_view text);

// "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM:SSZ" for a Unix-microsecond timestamp.
std::string format_date(std::int64_t unix_micros);
std::string format_timestamp(std::int64_t unix_micros);

}  // namespace quant
