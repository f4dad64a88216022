#include "webhook.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "bybit_http.hpp"
#include "bybit_protocol.hpp"
#include "quant/pq/log.hpp"
#include "quant/trade_adapter.hpp"

namespace quant::worker {

std::string webhook_signature(const std::string& secret, const std::string& timestamp,
                              const std::string& body) {
    return "sha256=" + quant::bybit::hmac_sha256_hex(secret, timestamp + "." + body);
}

Webhook::Webhook(WebhookSettings s) : s_(std::move(s)) {
    thread_ = std::thread([this] { run(); });
}

Webhook::~Webhook() {
    {
        const std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

void Webhook::enqueue(std::string payload) {
    {
        const std::lock_guard<std::mutex> lock(mu_);
        if (queue_.size() >= 10000) {
            queue_.pop_front();  // bounded: the oldest alert goes first (logged)
            failed_.fetch_add(1);
            pq::log_warn("webhook_dropped", {{"reason", "queue full (10000)"}});
        }
        queue_.push_back(std::move(payload));
    }
    cv_.notify_one();
}

bool Webhook::post(const std::string& body, int attempt) {
    try {
        quant::bybit::HttpClient http(std::min<long>(s_.timeout_ms, 3000), s_.timeout_ms);
        const std::string ts = std::to_string(static_cast<long long>(std::time(nullptr)));
        std::vector<std::string> headers{"Content-Type: application/json", "X-Quant-Timestamp: " + ts};
        if (!s_.secret.empty())
            headers.push_back("X-Quant-Signature: " + webhook_signature(s_.secret, ts, body));
        const auto r = http.request("POST", s_.url, headers, body);
        if (r.status >= 200 && r.status < 300)
            return true;
        pq::log_warn("webhook_retry", {{"attempt", attempt}, {"status", r.status}});
    } catch (const quant::BrokerError& e) {  // transport failures of the HTTP client
        pq::log_warn("webhook_retry", {{"attempt", attempt}, {"error", e.what()}});
    }
    return false;
}

void Webhook::run() {
    for (;;) {
        std::string body;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
            if (queue_.empty())
                return;  // stopping with nothing left
            body = std::move(queue_.front());
            queue_.pop_front();
        }
        long wait_ms = s_.backoff_ms;
        bool ok = false;
        for (int attempt = 1; attempt <= s_.retries + 1 && !ok; ++attempt) {
            ok = post(body, attempt);
            if (ok || attempt > s_.retries)
                break;
            std::unique_lock<std::mutex> lock(mu_);
            if (cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stop_; }))
                break;  // stopping: give up the retries
            wait_ms = std::min<long>(wait_ms * 2, 30000);
        }
        if (ok) {
            sent_.fetch_add(1);
        } else {
            failed_.fetch_add(1);
            pq::log_error("webhook_failed",
                          {{"retries", s_.retries}, {"note", "the alert is dropped; the tables keep it"}});
        }
    }
}

}  // namespace quant::worker
