// Settings from the environment (and a few command-line flags), read once at start.
#pragma once

#include <cstddef>
#include <string>

namespace quant::http {

struct Config {
    std::string host = "127.0.0.1";  // QUANT_HTTP_ADDR host[:port], or --listen
    int port = 8000;
    std::string db_conninfo;  // DB_URL (libpq conninfo); empty: libpq's PG* environment
    int threads = 32;         // QUANT_HTTP_THREADS: HTTP workers (a keep-alive client holds one)
    int db_connections = 8;   // QUANT_HTTP_DB_CONNECTIONS: the libpq pool
    int pool_wait_ms = 5000;  // QUANT_HTTP_POOL_WAIT_MS: then 503
    std::size_t max_body_bytes = 1u << 20;   // QUANT_HTTP_MAX_BODY: then 413
    int max_json_depth = 64;                 // QUANT_HTTP_MAX_JSON_DEPTH: then 413
    int statement_timeout_ms = 10000;        // QUANT_HTTP_STATEMENT_TIMEOUT_MS: CRUD and backtests
    int long_statement_timeout_ms = 120000;  // QUANT_HTTP_LONG_TIMEOUT_MS: optimize, walk_forward
    int read_timeout_s = 5;                  // QUANT_HTTP_READ_TIMEOUT_S: a slow client is cut off
    int keep_alive_timeout_s = 5;            // QUANT_HTTP_KEEPALIVE_S
    int keep_alive_max = 10000;              // requests per keep-alive connection
    double rate_per_s = 50;                  // QUANT_HTTP_RATE: per API key, token bucket refill
    double rate_burst = 100;                 // QUANT_HTTP_BURST
    double live_rate_per_min = 5;            // QUANT_HTTP_LIVE_RATE_PER_MIN: switches to live per key
    double live_burst = 3;                   // QUANT_HTTP_LIVE_BURST
    bool access_log = true;                  // QUANT_HTTP_ACCESS_LOG=0 turns it off
    std::string cors_origin;                 // QUANT_HTTP_CORS_ORIGIN: empty = CORS off (the default)
};

// Throws std::runtime_error with a message for the operator.
Config load_config(int argc, char** argv);

}  // namespace quant::http
