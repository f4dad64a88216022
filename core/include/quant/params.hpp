// The parameter rules shared by the config validators and the API calls that take the same
// parameters as arguments (quant.indicator, quant.optimize, quant.walk_forward): one check of a
// window, a data column, top_n and threads. `code` says how a failure is reported: a field of a
// config document (invalid_config) or an argument of a call (invalid_argument).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "quant/bars.hpp"
#include "quant/error.hpp"
#include "quant/indicators/registry.hpp"
#include "quant/json.hpp"
#include "quant/no_postgres.hpp"

namespace quant {

inline constexpr int max_window = 100000;
inline constexpr int max_top_n = 1000;
inline constexpr int max_threads = 64;  // 0 means one per core

// A window of `info`: an integer (20.0 counts) in [info.window_floor, max_window].
int check_window(const IndicatorInfo& info, const Json& value, const std::string& field, ErrorCode code);
int check_window(const IndicatorInfo& info, long long value, const std::string& field, ErrorCode code);

// A factor column by name ("v" is the close).
Column parse_column(std::string_view name, const std::string& field, ErrorCode code);
std::string_view column_name(Column c);
std::span<const std::string_view> column_names();

// The search options of quant.optimize / quant.walk_forward; Error{invalid_argument}.
std::size_t check_top_n(long long value);
unsigned check_threads(long long value);

}  // namespace quant
