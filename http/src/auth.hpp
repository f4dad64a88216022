// Authentication: the Bearer API key (checked in SQL by quant.authenticate_api_key, in the
// request's own transaction), and per-key rate limits (token buckets) kept in memory.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace quant::http {

// The key of "Authorization: Bearer <key>", or empty when the header is missing or not of that
// form (the key's own format is checked in SQL, which treats a malformed key as unknown).
std::string bearer_key(std::string_view authorization_header);

class RateLimiter {
public:
    RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}
    // Takes one token of this key's bucket; false (and the seconds until the next token) when empty.
    bool take(const std::string& key, double& retry_after_s);

private:
    struct Bucket {
        double tokens;
        std::chrono::steady_clock::time_point at;
    };
    void sweep(std::chrono::steady_clock::time_point now);

    double rate_;
    double burst_;
    std::mutex mu_;
    std::unordered_map<std::string, Bucket> buckets_;
    std::chrono::steady_clock::time_point last_sweep_{};
};

}  // namespace quant::http
