// The worker's configuration, from the environment (see worker/README.md).
#pragma once
#include <map>
#include <optional>
#include <string>

#include "quant/pq/connection.hpp"
#include "quant/pq/log.hpp"

namespace quant::worker {

struct Config {
    std::string conninfo;   // DB_URL; empty: libpq's PG* variables
    int poll_ms = 1000;     // QUANT_WORKER_POLL_MS: the safety-net poll when no NOTIFY comes
    std::string worker_id;  // QUANT_WORKER_ID (unique per running worker); default <host>-<pid>
    pq::Level log_level = pq::Level::info;  // QUANT_WORKER_LOG_LEVEL: debug, info, warn, error
    double lease_s = 60;          // QUANT_WORKER_LEASE_S: a claim older than this is another worker's to take
    int max_attempts = 5;         // QUANT_WORKER_MAX_ATTEMPTS: claims of one signal before giving up
    int reconnect_max_ms = 5000;  // backoff cap between reconnect attempts
    int statement_timeout_ms = 30000;   // QUANT_WORKER_STATEMENT_TIMEOUT_MS: every connection's default
    int lock_timeout_ms = 5000;         // QUANT_WORKER_LOCK_TIMEOUT_MS
    std::string role = "quant_worker";  // QUANT_WORKER_ROLE: assumed when the login may (empty: none)
    std::string
        crash_at;  // QUANT_WORKER_CRASH_AT (TEST ONLY): after_claim, after_intent, after_send, before_outcome
    std::optional<double> paper_starting_cash;  // QUANT_PAPER_STARTING_CASH for new paper accounts
    std::optional<double> paper_slippage_bps;   // QUANT_PAPER_SLIPPAGE_BPS for new paper accounts
    std::optional<double> paper_fee_bps;        // QUANT_PAPER_FEE_BPS for new paper accounts
    // BYBIT (worker/README.md "Bybit"): the credential key file (the same key as the
    // extension's quant.credential_key_file); empty: BYBIT deployments fail closed (connection)
    std::string credential_key_file;  // QUANT_CREDENTIAL_KEY_FILE
    std::string bybit_base_url;       // QUANT_BYBIT_BASE_URL: overrides every environment's URL (the fake)
    // QUANT_BYBIT_BASE_URL_DEMO / _TESTNET / _MAINNET: one environment's URL (before the one above)
    std::map<std::string, std::string> bybit_env_base_url;
    bool bybit_off = false;        // QUANT_BYBIT_BASE_URL=off (make run's default): no Bybit host at all
    long bybit_timeout_ms = 5000;  // QUANT_BYBIT_TIMEOUT_MS: per request
    long bybit_connect_timeout_ms = 3000;  // QUANT_BYBIT_CONNECT_TIMEOUT_MS
    long bybit_follow_ms = 5000;           // QUANT_BYBIT_FOLLOW_MS: an order still open after this stays SENT
    long bybit_poll_ms = 100;              // QUANT_BYBIT_POLL_MS: between follow-up queries
    long bybit_recv_window_ms = 5000;      // QUANT_BYBIT_RECV_WINDOW_MS
    // The alert webhook (webhook.hpp): empty URL, none
    std::string alert_webhook_url;     // QUANT_ALERT_WEBHOOK_URL (http or https)
    std::string alert_webhook_secret;  // the first line of QUANT_ALERT_WEBHOOK_SECRET_FILE
    int alert_webhook_retries = 5;     // QUANT_ALERT_WEBHOOK_RETRIES
    // issue 15: the timer of the open-order sweep and of the breakers on the latest prices
    int sweep_ms = 5000;                   // QUANT_WORKER_SWEEP_MS
    int reconnect_storm_count = 5;         // QUANT_ALERT_RECONNECT_STORM_COUNT: reconnects within
    int reconnect_storm_window_s = 60;     // QUANT_ALERT_RECONNECT_STORM_WINDOW_S: this window alert
    long alert_webhook_backoff_ms = 500;   // QUANT_ALERT_WEBHOOK_BACKOFF_MS: the first wait, doubled
    long alert_webhook_timeout_ms = 5000;  // QUANT_ALERT_WEBHOOK_TIMEOUT_MS: per POST
    std::string
        metrics_file;  // QUANT_WORKER_METRICS_FILE: Prometheus text (node_exporter's textfile collector)
    // FUTU (worker/README.md "Futu"): OpenD on loopback; "off": FUTU deployments fail closed
    std::string futu_opend = "127.0.0.1:11111";  // QUANT_FUTU_OPEND: 127.0.0.1:PORT or off
    long futu_timeout_ms = 5000;                 // QUANT_FUTU_TIMEOUT_MS: per request
    long futu_follow_ms = 5000;   // QUANT_FUTU_FOLLOW_MS: an order still open after this stays SENT
    long futu_poll_ms = 100;      // QUANT_FUTU_POLL_MS: between follow-up queries
    int futu_place_per_30s = 15;  // QUANT_FUTU_PLACE_PER_30S: the client-side PlaceOrder limit (OpenD's 15)
    std::string
        futu_fractional_accounts;  // QUANT_FUTU_FRACTIONAL_ACCOUNTS: accIDs allowed fractional US shares
};

// Throws std::runtime_error naming the variable when a value is invalid.
Config load_config();

// The options of every connection of the worker (timeouts, role), named for pg_stat_activity.
pq::ConnectOptions connect_options(const Config& cfg, const std::string& application_name);

std::string format_number(double v);  // shortest round-trip text of a double, for SQL parameters

}  // namespace quant::worker
