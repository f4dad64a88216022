// The one structured log: one JSON object per line on stderr, {"ts", "level", "event", ...fields}.
// Thread-safe (one write per line). quant-worker and quant-http write through it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace quant::pq {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(Level level);
// debug, info, warn (or warning), error; nullopt for anything else.
std::optional<Level> parse_log_level(std::string_view name);
std::string_view level_name(Level level);
bool log_enabled(Level level);

// The line without its newline (pure: the time is given). fields must be an object (or null);
// a field named ts, level or event does not replace the line's own.
std::string log_line(std::string_view ts, Level level, std::string_view event, const nlohmann::json& fields);
// UTC now as 2026-01-02T03:04:05.123456Z.
std::string log_time_now();

void log_event(Level level, std::string_view event, const nlohmann::json& fields = nullptr);
inline void log_debug(std::string_view e, const nlohmann::json& f = nullptr) {
    log_event(Level::debug, e, f);
}
inline void log_info(std::string_view e, const nlohmann::json& f = nullptr) {
    log_event(Level::info, e, f);
}
inline void log_warn(std::string_view e, const nlohmann::json& f = nullptr) {
    log_event(Level::warn, e, f);
}
inline void log_error(std::string_view e, const nlohmann::json& f = nullptr) {
    log_event(Level::error, e, f);
}

}  // namespace quant::pq
