#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace worker {
namespace {
Level g_level = Level::info;

std::string now_iso() {
    const auto now = std::chrono::system_clock::now();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[64];
    std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(us % 1000000));
    return out;
}
}  // namespace

void set_log_level(Level level) {
    g_level = level;
}

Level parse_level(std::string_view name) {
    if (name == "debug")
        return Level::debug;
    if (name == "warn" || name == "warning")
        return Level::warn;
    if (name == "error")
        return Level::error;
    return Level::info;
}

bool log_enabled(Level level) {
    return static_cast<int>(level) >= static_cast<int>(g_level);
}

void log_event(Level level, std::string_view event, const quant::Json& fields) {
    if (!log_enabled(level))
        return;
    static constexpr const char* names[] = {"debug", "info", "warn", "error"};
    quant::Json line = quant::Json::object();
    line["ts"] = now_iso();
    line["level"] = names[static_cast<int>(level)];
    line["event"] = std::string(event);
    if (fields.is_object()) {
        for (auto it = fields.begin(); it != fields.end(); ++it)
            line[it.key()] = it.value();
    }
    const std::string text = line.dump(-1, ' ', false, quant::Json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

}  // namespace worker
