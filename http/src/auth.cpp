#include "auth.hpp"

#include <algorithm>
#include <cctype>
#include <functional>

namespace quant::http {

std::string bearer_key(std::string_view h) {
    constexpr std::string_view scheme = "Bearer ";
    if (h.size() <= scheme.size())
        return {};
    for (std::size_t i = 0; i < scheme.size(); ++i) {  // the scheme is case-insensitive (RFC 9110)
        if (std::tolower(static_cast<unsigned char>(h[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i]))) {
            return {};
        }
    }
    std::string_view key = h.substr(scheme.size());
    while (!key.empty() && key.front() == ' ')
        key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ')
        key.remove_suffix(1);
    // token68 characters only, bounded: anything else cannot be one of our keys
    if (key.empty() || key.size() > 256)
        return {};
    const bool token68 = std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' ||
               c == '+' || c == '/' || c == '=';
    });
    return token68 ? std::string(key) : std::string();
}

bool RateLimiter::take(const std::string& key, double& retry_after_s) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    sweep(now);
    // The map holds a hash of the key, not the secret itself.
    const std::string id = std::to_string(std::hash<std::string>{}(key));
    auto [it, inserted] = buckets_.try_emplace(id, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!inserted) {
        const double elapsed = std::chrono::duration<double>(now - b.at).count();
        b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
        b.at = now;
    }
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return true;
    }
    retry_after_s = (1.0 - b.tokens) / rate_;
    return false;
}

// Full buckets carry no information: drop them now and then, so unknown keys cannot grow the map.
void RateLimiter::sweep(std::chrono::steady_clock::time_point now) {
    if (now - last_sweep_ < std::chrono::seconds(10) && buckets_.size() < 100000)
        return;
    last_sweep_ = now;
    for (auto it = buckets_.begin(); it != buckets_.end();) {
        const double elapsed = std::chrono::duration<double>(now - it->second.at).count();
        if (it->second.tokens + elapsed * rate_ >= burst_) {
            it = buckets_.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace quant::http
