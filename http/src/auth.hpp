// Authentication: the Bearer API key (checked in SQL, in the request's own transaction), its
// shape (checked here, so that a malformed key never reaches the database), and the limits kept
// in memory: token buckets per key and per address (failed authentication), and a cap on the
// long requests a key runs at once.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace quant::http {

// The key of "Authorization: Bearer <key>", or empty when the header is missing or not of that
// form.
std::string bearer_key(std::string_view authorization_header);

// The shape quant.create_api_key makes: "qk_" + 32 lowercase hex digits + "_" + 43 base64url.
bool well_formed_key(std::string_view key);

class RateLimiter {
public:
    RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}
    // Takes one token of this key's bucket; false (and the seconds until the next token) when empty.
    bool take(const std::string& key, double& retry_after_s);
    // True (and the seconds until a token) when this key's bucket is empty; takes nothing.
    bool exhausted(const std::string& key, double& retry_after_s);

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

// At most `cap` requests at once per key; a Ticket holds one place until it is destroyed.
class ConcurrencyCap {
public:
    explicit ConcurrencyCap(int cap) : cap_(cap) {}
    class Ticket {
    public:
        Ticket() = default;
        Ticket(ConcurrencyCap* owner, std::string id) : owner_(owner), id_(std::move(id)) {}
        Ticket(Ticket&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), id_(std::move(o.id_)) {}
        Ticket& operator=(Ticket&&) = delete;
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        ~Ticket();
        explicit operator bool() const { return owner_ != nullptr; }

    private:
        ConcurrencyCap* owner_ = nullptr;
        std::string id_;
    };
    // A ticket, or an empty one when the key already runs `cap` requests.
    Ticket enter(const std::string& key);

private:
    int cap_;
    std::mutex mu_;
    std::unordered_map<std::string, int> running_;
};

}  // namespace quant::http
