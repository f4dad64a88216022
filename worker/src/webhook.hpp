// The optional alert webhook of quant-worker (issue 15): every payload that arrives on the
// NOTIFY channel quant_alert is POSTed as JSON to QUANT_ALERT_WEBHOOK_URL, in order, from a
// thread of its own (a slow receiver never stalls the live loop). Each POST carries
//   X-Quant-Timestamp: <unix seconds>
//   X-Quant-Signature: sha256=<hex HMAC-SHA-256 of "<timestamp>.<body>" with the secret>
// (the secret: the first line of QUANT_ALERT_WEBHOOK_SECRET_FILE). A transport failure or a
// status other than 2xx is retried with exponential back-off (QUANT_ALERT_WEBHOOK_BACKOFF_MS,
// doubled per attempt, at most 30 s) up to QUANT_ALERT_WEBHOOK_RETRIES times, then dropped
// (logged). Alerts raised while the worker is disconnected are lost (NOTIFY is a hint): the
// tables (trade.breaker, trade.trading_halt_log, trade.log) are the truth.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace quant::worker {

struct WebhookSettings {
    std::string url;     // empty: no webhook
    std::string secret;  // empty: unsigned (not recommended; logged)
    int retries = 5;
    long backoff_ms = 500;
    long timeout_ms = 5000;
};

// The signature header's value for a body sent at `timestamp` (unix seconds as text).
std::string webhook_signature(const std::string& secret, const std::string& timestamp,
                              const std::string& body);

class Webhook {
public:
    explicit Webhook(WebhookSettings s);
    ~Webhook();
    Webhook(const Webhook&) = delete;
    Webhook& operator=(const Webhook&) = delete;

    void enqueue(std::string payload);
    long sent() const { return sent_.load(); }
    long failed() const { return failed_.load(); }

private:
    void run();
    bool post(const std::string& body, int attempt);

    WebhookSettings s_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> queue_;
    bool stop_ = false;
    std::atomic<long> sent_{0};
    std::atomic<long> failed_{0};
    std::thread thread_;
};

}  // namespace quant::worker
