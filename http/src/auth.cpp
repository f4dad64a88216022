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

bool well_formed_key(std::string_view key) {
    constexpr std::size_t kHex = 32;
    constexpr std::size_t kSecret = 43;
    if (key.size() != 3 + kHex + 1 + kSecret || key.substr(0, 3) != "qk_" || key[3 + kHex] != '_')
        return false;
    const auto hex = key.substr(3, kHex);
    const auto secret = key.substr(3 + kHex + 1);
    return std::all_of(hex.begin(), hex.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }) &&
           std::all_of(secret.begin(), secret.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
           });
}

namespace {

// The maps hold a hash of the key, not the secret itself.
std::string hashed(const std::string& key) {
    return std::to_string(std::hash<std::string>{}(key));
}

}  // namespace

bool RateLimiter::exhausted(const std::string& key, double& retry_after_s) {
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(mu_);
    const auto it = buckets_.find(hashed(key));
    if (it == buckets_.end())
        return false;
    const double elapsed = std::chrono::duration<double>(now - it->second.at).count();
    const double tokens = std::min(burst_, it->second.tokens + elapsed * rate_);
    if (tokens >= 1.0)
        return false;
    retry_after_s = (1.0 - tokens) / rate_;
    return true;
}

ConcurrencyCap::Ticket ConcurrencyCap::enter(const std::string& key) {
    std::string id = hashed(key);
    const std::lock_guard lock(mu_);
    int& n = running_[id];
    if (n >= cap_)
        return {};
    ++n;
    return {this, std::move(id)};
}

ConcurrencyCap::Ticket::~Ticket() {
    if (owner_ == nullptr)
        return;
    const std::lock_guard lock(owner_->mu_);
    const auto it = owner_->running_.find(id_);
    if (it != owner_->running_.end() && --it->second <= 0)
        owner_->running_.erase(it);
}

bool RateLimiter::take(const std::string& key, double& retry_after_s) {
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(mu_);
    sweep(now);
    auto [it, inserted] = buckets_.try_emplace(hashed(key), Bucket{burst_, now});
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
