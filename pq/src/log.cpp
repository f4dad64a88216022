#include "quant/pq/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace quant::pq {

namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};

}  // namespace

void set_log_level(Level level) {
    g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

std::optional<Level> parse_log_level(std::string_view name) {
    if (name == "debug")
        return Level::debug;
    if (name == "info")
        return Level::info;
    if (name == "warn" || name == "warning")
        return Level::warn;
    if (name == "error")
        return Level::error;
    return std::nullopt;
}

std::string_view level_name(Level level) {
    switch (level) {
        case Level::debug:
            return "debug";
        case Level::info:
            return "info";
        case Level::warn:
            return "warn";
        case Level::error:
            return "error";
    }
    return "info";
}

bool log_enabled(Level level) {
    return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

std::string log_time_now() {
    const auto now = std::chrono::system_clock::now();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    const auto secs = static_cast<std::time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(us % 1000000));
    return std::string(buf, n) + frac;
}

std::string log_line(std::string_view ts, Level level, std::string_view event, const nlohmann::json& fields) {
    nlohmann::json line = nlohmann::json::object();
    line["ts"] = std::string(ts);
    line["level"] = std::string(level_name(level));
    line["event"] = std::string(event);
    if (fields.is_object()) {
        for (const auto& [key, value] : fields.items()) {
            if (key != "ts" && key != "level" && key != "event")
                line[key] = value;
        }
    }
    // invalid UTF-8 in a field (a client's bytes) is replaced, never thrown
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void log_event(Level level, std::string_view event, const nlohmann::json& fields) {
    if (!log_enabled(level))
        return;
    std::string text = log_line(log_time_now(), level, event, fields);
    text += '\n';
    // one fwrite per line: stdio's lock keeps lines of different threads whole
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

}  // namespace quant::pq
