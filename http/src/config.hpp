// Settings from the environment (and a few command-line flags), read once at start.
#pragma once

#include <cstddef>
#include <string>

#include "transport.hpp"

namespace quant::http {

struct Config {
    std::string host = "127.0.0.1";  // QUANT_HTTP_ADDR host[:port], or --listen
    int port = 8000;
    std::string metrics_host = "127.0.0.1";  // QUANT_HTTP_METRICS_ADDR; "off": no metrics listener
    int metrics_port = 9464;
    bool metrics_enabled = true;
    std::string tls_cert;      // QUANT_HTTP_TLS_CERT (PEM chain): with the key, the API is HTTPS only
    std::string tls_key;       // QUANT_HTTP_TLS_KEY (PEM)
    bool allow_plain = false;  // QUANT_HTTP_ALLOW_PLAIN=1: plain HTTP on a non-loopback address
    std::string db_conninfo;   // DB_URL (libpq conninfo); empty: libpq's PG* environment
    // QUANT_HTTP_STANDBY_URL: the standby pool's conninfo (read scale-out, replica.hpp); empty: none
    std::string standby_conninfo;
    int standby_connections = 8;      // QUANT_HTTP_STANDBY_CONNECTIONS
    int standby_max_lag_ms = 5000;    // QUANT_HTTP_STANDBY_MAX_LAG_MS: a standby further behind is skipped
    int standby_lag_check_ms = 1000;  // QUANT_HTTP_STANDBY_LAG_CHECK_MS
    int threads = 16;         // QUANT_HTTP_THREADS: run the event loop and the handlers (they block on libpq)
    int db_connections = 8;   // QUANT_HTTP_DB_CONNECTIONS: the libpq pool
    int pool_wait_ms = 5000;  // QUANT_HTTP_POOL_WAIT_MS: then 503
    Limits limits;            // QUANT_HTTP_HEAD_TIMEOUT_MS, ..._MAX_CONNECTIONS, ... (http/README.md)
    int max_json_depth = 64;  // QUANT_HTTP_MAX_JSON_DEPTH: then 413
    int statement_timeout_ms = 10000;        // QUANT_HTTP_STATEMENT_TIMEOUT_MS: CRUD and backtests
    int long_statement_timeout_ms = 120000;  // QUANT_HTTP_LONG_TIMEOUT_MS: optimize, walk_forward
    int long_per_key = 2;                    // QUANT_HTTP_LONG_PER_KEY: long requests at once per key
    double rate_per_s = 50;                  // QUANT_HTTP_RATE: per API key, token bucket refill
    double rate_burst = 100;                 // QUANT_HTTP_BURST
    double live_rate_per_min = 5;            // QUANT_HTTP_LIVE_RATE_PER_MIN: switches to live per key
    double live_burst = 3;                   // QUANT_HTTP_LIVE_BURST
    double auth_failures_per_min = 10;       // QUANT_HTTP_AUTH_FAILURES_PER_MIN: per address, then 429
    bool access_log = true;                  // QUANT_HTTP_ACCESS_LOG=0 turns it off
    std::string cors_origin;                 // QUANT_HTTP_CORS_ORIGIN: empty = CORS off (the default)
    std::string ui_dir;                      // QUANT_HTTP_UI_DIR: the web UI's files ("off": none)
    int shutdown_grace_ms = 60000;           // QUANT_HTTP_SHUTDOWN_GRACE_MS: in-flight requests finish
};

// Throws std::runtime_error with a message for the operator (--help is main's: usage()).
Config load_config(int argc, char** argv);

// The --help text.
const char* usage();

}  // namespace quant::http
