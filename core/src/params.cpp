#include "quant/params.hpp"

#include <array>
#include <utility>

#include "json_fields.hpp"

namespace quant {

namespace {

using fields::fail_as;

// Indexed by Column.
constexpr std::array<std::string_view, 6> columns{"v", "open", "high", "low", "close", "volume"};

std::string window_hint(const IndicatorInfo& info) {
    return std::string(info.name) + " needs a window of at least " + std::to_string(info.window_floor) +
           " (at most " + std::to_string(max_window) + ")";
}

}  // namespace

int check_window(const IndicatorInfo& info, const Json& value, const std::string& field, ErrorCode code) {
    return fields::get_int(value, field, info.window_floor, max_window, window_hint(info), code);
}

int check_window(const IndicatorInfo& info, long long value, const std::string& field, ErrorCode code) {
    return check_window(info, Json(value), field, code);
}

Column parse_column(std::string_view name, const std::string& field, ErrorCode code) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (columns[i] == name)
            return static_cast<Column>(i);
    }
    fail_as(code, field, "unknown data column \"" + std::string(name) + "\"",
            "valid data columns: " + std::string(column_names_hint));
}

std::string_view column_name(Column c) {
    return columns.at(static_cast<std::size_t>(c));
}

std::span<const std::string_view> column_names() {
    return columns;
}

std::size_t check_top_n(long long value) {
    if (value < 0 || value > max_top_n)
        fail_as(ErrorCode::invalid_argument, "top_n", "must be between 0 and " + std::to_string(max_top_n));
    return static_cast<std::size_t>(value);
}

unsigned check_threads(long long value) {
    if (value < 0 || value > max_threads) {
        fail_as(ErrorCode::invalid_argument, "threads",
                "must be between 0 (one per core) and " + std::to_string(max_threads));
    }
    return static_cast<unsigned>(value);
}

}  // namespace quant
