// Structured logging: one JSON object per line on stderr, {"ts", "level", "event", ...fields}.
#pragma once
#include <string_view>

#include "quant/json.hpp"

namespace worker {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(Level level);
Level parse_level(std::string_view name);  // debug, info, warn, error (default info)
bool log_enabled(Level level);
// fields must be a JSON object (or null); ts, level and event are added
void log_event(Level level, std::string_view event, const quant::Json& fields = nullptr);

inline void log_debug(std::string_view e, const quant::Json& f = nullptr) {
    log_event(Level::debug, e, f);
}
inline void log_info(std::string_view e, const quant::Json& f = nullptr) {
    log_event(Level::info, e, f);
}
inline void log_warn(std::string_view e, const quant::Json& f = nullptr) {
    log_event(Level::warn, e, f);
}
inline void log_error(std::string_view e, const quant::Json& f = nullptr) {
    log_event(Level::error, e, f);
}

}  // namespace worker
