#include "config.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include "bybit_protocol.hpp"
#include "futu_adapter.hpp"

namespace quant::worker {
namespace {

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        return std::nullopt;
    return std::string(v);
}

double env_number(const char* name, double fallback, double lo, double hi) {
    const auto v = env(name);
    if (!v)
        return fallback;
    char* end = nullptr;
    const double x = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end != '\0' || !std::isfinite(x) || x < lo || x > hi) {
        throw std::runtime_error(std::string(name) + ": must be a number from " + format_number(lo) + " to " +
                                 format_number(hi) + ", got \"" + *v + "\"");
    }
    return x;
}

std::optional<double> env_optional(const char* name, double lo, double hi) {
    if (!env(name))
        return std::nullopt;
    return env_number(name, 0, lo, hi);
}

}  // namespace

std::string format_number(double v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return {buf, r.ptr};
}

pq::ConnectOptions connect_options(const Config& cfg, const std::string& application_name) {
    pq::ConnectOptions o;
    o.conninfo = cfg.conninfo;
    o.application_name = application_name;
    o.statement_timeout_ms = cfg.statement_timeout_ms;
    o.lock_timeout_ms = cfg.lock_timeout_ms;
    o.assume_role = cfg.role;
    return o;
}

Config load_config() {
    Config c;
    if (auto v = env("DB_URL"))
        c.conninfo = *v;
    c.poll_ms = static_cast<int>(env_number("QUANT_WORKER_POLL_MS", 1000, 10, 3600000));
    if (auto v = env("QUANT_WORKER_ID")) {
        c.worker_id = *v;
    } else {
        char host[256] = {0};
        if (gethostname(host, sizeof host - 1) != 0)
            host[0] = '\0';
        c.worker_id = std::string(host[0] ? host : "worker") + "-" + std::to_string(getpid());
    }
    if (c.worker_id.size() > 200)
        throw std::runtime_error("QUANT_WORKER_ID: at most 200 characters");
    if (auto v = env("QUANT_WORKER_LOG_LEVEL"))
        c.log_level = pq::parse_log_level(*v).value_or(pq::Level::info);
    c.lease_s = env_number("QUANT_WORKER_LEASE_S", 60, 0.1, 86400);
    c.max_attempts = static_cast<int>(env_number("QUANT_WORKER_MAX_ATTEMPTS", 5, 1, 1000));
    c.statement_timeout_ms =
        static_cast<int>(env_number("QUANT_WORKER_STATEMENT_TIMEOUT_MS", 30000, 100, 86400000));
    c.lock_timeout_ms = static_cast<int>(env_number("QUANT_WORKER_LOCK_TIMEOUT_MS", 5000, 10, 86400000));
    if (const char* v = std::getenv("QUANT_WORKER_ROLE"))
        c.role = v;  // set and empty: stay the login
    if (auto v = env("QUANT_WORKER_CRASH_AT")) {
        const std::string_view s = *v;
        if (s != "after_claim" && s != "after_intent" && s != "after_send" && s != "before_outcome" &&
            s != "after_cancel") {
            throw std::runtime_error(
                "QUANT_WORKER_CRASH_AT: one of after_claim, after_intent, after_send, "
                "before_outcome, after_cancel (test only), got \"" +
                *v + "\"");
        }
        c.crash_at = *v;
    }
    c.paper_starting_cash = env_optional("QUANT_PAPER_STARTING_CASH", 0, 1e15);
    c.paper_slippage_bps = env_optional("QUANT_PAPER_SLIPPAGE_BPS", 0, 9999);
    c.paper_fee_bps = env_optional("QUANT_PAPER_FEE_BPS", 0, 9999);
    if (auto v = env("QUANT_CREDENTIAL_KEY_FILE"))
        c.credential_key_file = *v;
    if (auto v = env("QUANT_BYBIT_BASE_URL"); v && *v == "off") {
        c.bybit_off = true;
    } else if (v) {
        try {
            c.bybit_base_url = quant::bybit::checked_base_url(*v);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(std::string("QUANT_BYBIT_BASE_URL: ") + e.what());
        }
    }
    // per environment (QUANT_BYBIT_BASE_URL_DEMO, _TESTNET, _MAINNET): before the generic one
    for (const char* e : {"demo", "testnet", "mainnet"}) {
        std::string name = "QUANT_BYBIT_BASE_URL_";
        for (const char* ch = e; *ch != '\0'; ++ch)
            name += static_cast<char>(*ch - 'a' + 'A');
        if (auto v = env(name.c_str())) {
            try {
                c.bybit_env_base_url[e] = quant::bybit::checked_base_url(*v);
            } catch (const std::invalid_argument& err) {
                throw std::runtime_error(name + ": " + err.what());
            }
        }
    }
    c.bybit_timeout_ms = static_cast<long>(env_number("QUANT_BYBIT_TIMEOUT_MS", 5000, 10, 600000));
    c.bybit_connect_timeout_ms =
        static_cast<long>(env_number("QUANT_BYBIT_CONNECT_TIMEOUT_MS", 3000, 10, 600000));
    c.bybit_follow_ms = static_cast<long>(env_number("QUANT_BYBIT_FOLLOW_MS", 5000, 0, 600000));
    c.bybit_poll_ms = static_cast<long>(env_number("QUANT_BYBIT_POLL_MS", 100, 1, 60000));
    c.bybit_recv_window_ms = static_cast<long>(env_number("QUANT_BYBIT_RECV_WINDOW_MS", 5000, 100, 60000));
    if (auto v = env("QUANT_ALERT_WEBHOOK_URL")) {
        if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0)
            throw std::runtime_error("QUANT_ALERT_WEBHOOK_URL: must start with http:// or https://, got \"" +
                                     *v + "\"");
        c.alert_webhook_url = *v;
    }
    if (auto v = env("QUANT_ALERT_WEBHOOK_SECRET_FILE")) {
        std::ifstream in(*v);
        if (!in || !std::getline(in, c.alert_webhook_secret) || c.alert_webhook_secret.empty())
            throw std::runtime_error("QUANT_ALERT_WEBHOOK_SECRET_FILE: cannot read a secret from " + *v);
    }
    if (auto v = env("QUANT_WORKER_METRICS_FILE"))
        c.metrics_file = *v;
    c.alert_webhook_retries = static_cast<int>(env_number("QUANT_ALERT_WEBHOOK_RETRIES", 5, 0, 100));
    c.sweep_ms = static_cast<int>(env_number("QUANT_WORKER_SWEEP_MS", 5000, 100, 3600000));
    c.reconnect_storm_count = static_cast<int>(env_number("QUANT_ALERT_RECONNECT_STORM_COUNT", 5, 2, 100000));
    c.reconnect_storm_window_s =
        static_cast<int>(env_number("QUANT_ALERT_RECONNECT_STORM_WINDOW_S", 60, 1, 86400));
    c.alert_webhook_backoff_ms =
        static_cast<long>(env_number("QUANT_ALERT_WEBHOOK_BACKOFF_MS", 500, 1, 600000));
    c.alert_webhook_timeout_ms =
        static_cast<long>(env_number("QUANT_ALERT_WEBHOOK_TIMEOUT_MS", 5000, 10, 600000));
    if (auto v = env("QUANT_FUTU_OPEND")) {
        if (*v != "off") {
            try {
                (void)quant::futu::parse_opend_address(*v);
            } catch (const std::invalid_argument& e) {
                throw std::runtime_error(std::string("QUANT_FUTU_OPEND: ") + e.what() + " (or off)");
            }
        }
        c.futu_opend = *v;
    }
    c.futu_timeout_ms = static_cast<long>(env_number("QUANT_FUTU_TIMEOUT_MS", 5000, 10, 600000));
    c.futu_follow_ms = static_cast<long>(env_number("QUANT_FUTU_FOLLOW_MS", 5000, 0, 600000));
    c.futu_poll_ms = static_cast<long>(env_number("QUANT_FUTU_POLL_MS", 100, 1, 60000));
    c.futu_place_per_30s = static_cast<int>(env_number("QUANT_FUTU_PLACE_PER_30S", 15, 1, 1000000));
    if (auto v = env("QUANT_FUTU_FRACTIONAL_ACCOUNTS")) {
        if (v->find_first_not_of("0123456789, ") != std::string::npos)
            throw std::runtime_error(
                "QUANT_FUTU_FRACTIONAL_ACCOUNTS: comma-separated accIDs (digits), got \"" + *v + "\"");
        c.futu_fractional_accounts = *v;
    }
    return c;
}

}  // namespace quant::worker
