#include "config.hpp"

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace quant::http {

namespace {

const char* env(const char* name) {
    const char* v = std::getenv(name);
    return (v != nullptr && *v != '\0') ? v : nullptr;
}

long env_long(const char* name, long def, long lo, long hi) {
    const char* v = env(name);
    if (v == nullptr)
        return def;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < lo || n > hi) {
        throw std::runtime_error(std::string(name) + ": expected an integer from " + std::to_string(lo) +
                                 " to " + std::to_string(hi) + ", got \"" + v + "\"");
    }
    return n;
}

double env_double(const char* name, double def) {
    const char* v = env(name);
    if (v == nullptr)
        return def;
    char* end = nullptr;
    const double d = std::strtod(v, &end);
    if (end == v || *end != '\0' || !(d > 0)) {
        throw std::runtime_error(std::string(name) + ": expected a positive number, got \"" + v + "\"");
    }
    return d;
}

// "host:port", "[v6]:port", "host" or ":port".
void parse_addr(std::string_view addr, std::string& out_host, int& out_port) {
    std::string_view host = addr;
    std::string_view port;
    if (!addr.empty() && addr.front() == '[') {
        const auto close = addr.find(']');
        if (close == std::string_view::npos)
            throw std::runtime_error("listen address: missing ]");
        host = addr.substr(1, close - 1);
        if (close + 1 < addr.size()) {
            if (addr[close + 1] != ':')
                throw std::runtime_error("listen address: expected :port after ]");
            port = addr.substr(close + 2);
        }
    } else if (const auto colon = addr.rfind(':'); colon != std::string_view::npos) {
        host = addr.substr(0, colon);
        port = addr.substr(colon + 1);
    }
    if (!host.empty())
        out_host = std::string(host);
    if (!port.empty()) {
        const std::string p(port);
        char* end = nullptr;
        const long n = std::strtol(p.c_str(), &end, 10);
        if (*end != '\0' || n < 0 || n > 65535)
            throw std::runtime_error("listen address: bad port \"" + p + "\"");
        out_port = static_cast<int>(n);
    }
}

}  // namespace

const char* usage() {
    return "usage: quant-http [--listen HOST:PORT]\n"
           "environment: QUANT_HTTP_ADDR (default 127.0.0.1:8000), QUANT_HTTP_METRICS_ADDR "
           "(127.0.0.1:9464),\n"
           "  QUANT_HTTP_TLS_CERT, QUANT_HTTP_TLS_KEY, DB_URL (else PG*), QUANT_HTTP_STANDBY_URL, "
           "QUANT_HTTP_THREADS, "
           "QUANT_HTTP_DB_CONNECTIONS, ... (http/README.md)\n";
}

Config load_config(int argc, char** argv) {
    Config c;
    if (const char* a = env("QUANT_HTTP_ADDR"))
        parse_addr(a, c.host, c.port);
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if ((arg == "--listen" || arg == "-l") && i + 1 < argc) {
            parse_addr(argv[++i], c.host, c.port);
        } else {
            throw std::runtime_error("unknown argument \"" + std::string(arg) + "\" (try --help)");
        }
    }
    if (const char* u = env("DB_URL"))
        c.db_conninfo = u;
    if (const char* u = env("QUANT_HTTP_STANDBY_URL"))
        c.standby_conninfo = u;
    if (const char* m = env("QUANT_HTTP_METRICS_ADDR")) {
        if (std::string_view(m) == "off")
            c.metrics_enabled = false;
        else
            parse_addr(m, c.metrics_host, c.metrics_port);
    }
#ifdef QUANT_HTTP_UI_DEFAULT
    c.ui_dir = QUANT_HTTP_UI_DEFAULT;  // the build output of http/ui in this source tree
#endif
    if (const char* v = env("QUANT_HTTP_UI_DIR"))
        c.ui_dir = std::string_view(v) == "off" ? "" : v;
    if (const char* v = env("QUANT_HTTP_TLS_CERT"))
        c.tls_cert = v;
    if (const char* v = env("QUANT_HTTP_TLS_KEY"))
        c.tls_key = v;
    if (c.tls_cert.empty() != c.tls_key.empty())
        throw std::runtime_error("QUANT_HTTP_TLS_CERT and QUANT_HTTP_TLS_KEY go together");
    if (const char* v = env("QUANT_HTTP_ALLOW_PLAIN"))
        c.allow_plain = std::string_view(v) == "1";
    auto ms = [](const char* name, std::chrono::milliseconds def) {
        return std::chrono::milliseconds(env_long(name, static_cast<long>(def.count()), 10, 3600000));
    };
    Limits& l = c.limits;
    l.head_timeout = ms("QUANT_HTTP_HEAD_TIMEOUT_MS", l.head_timeout);
    l.body_timeout = ms("QUANT_HTTP_BODY_TIMEOUT_MS", l.body_timeout);
    l.write_timeout = ms("QUANT_HTTP_WRITE_TIMEOUT_MS", l.write_timeout);
    l.idle_timeout = std::chrono::seconds(env_long("QUANT_HTTP_KEEPALIVE_S", 5, 1, 3600));
    l.keep_alive_max = static_cast<int>(env_long("QUANT_HTTP_KEEPALIVE_MAX", l.keep_alive_max, 1, 1000000));
    l.max_head_bytes = static_cast<std::size_t>(
        env_long("QUANT_HTTP_MAX_HEAD_BYTES", static_cast<long>(l.max_head_bytes), 1024, 1L << 20));
    l.max_header_fields = static_cast<int>(env_long("QUANT_HTTP_MAX_HEADERS", l.max_header_fields, 4, 10000));
    l.max_body_bytes = static_cast<std::size_t>(
        env_long("QUANT_HTTP_MAX_BODY", static_cast<long>(l.max_body_bytes), 1024, 64L << 20));
    l.max_connections =
        static_cast<int>(env_long("QUANT_HTTP_MAX_CONNECTIONS", l.max_connections, 1, 1000000));
    l.max_connections_per_addr = static_cast<int>(
        env_long("QUANT_HTTP_MAX_CONNECTIONS_PER_ADDR", l.max_connections_per_addr, 1, 1000000));
    c.threads = static_cast<int>(env_long("QUANT_HTTP_THREADS", c.threads, 1, 4096));
    c.db_connections = static_cast<int>(env_long("QUANT_HTTP_DB_CONNECTIONS", c.db_connections, 1, 1000));
    c.standby_connections =
        static_cast<int>(env_long("QUANT_HTTP_STANDBY_CONNECTIONS", c.standby_connections, 1, 1000));
    c.standby_max_lag_ms =
        static_cast<int>(env_long("QUANT_HTTP_STANDBY_MAX_LAG_MS", c.standby_max_lag_ms, 0, 86400000));
    c.standby_lag_check_ms =
        static_cast<int>(env_long("QUANT_HTTP_STANDBY_LAG_CHECK_MS", c.standby_lag_check_ms, 0, 600000));
    c.pool_wait_ms = static_cast<int>(env_long("QUANT_HTTP_POOL_WAIT_MS", c.pool_wait_ms, 1, 600000));
    c.max_json_depth = static_cast<int>(env_long("QUANT_HTTP_MAX_JSON_DEPTH", c.max_json_depth, 4, 512));
    c.statement_timeout_ms =
        static_cast<int>(env_long("QUANT_HTTP_STATEMENT_TIMEOUT_MS", c.statement_timeout_ms, 1, 3600000));
    c.long_statement_timeout_ms =
        static_cast<int>(env_long("QUANT_HTTP_LONG_TIMEOUT_MS", c.long_statement_timeout_ms, 1, 3600000));
    c.long_per_key = static_cast<int>(env_long("QUANT_HTTP_LONG_PER_KEY", c.long_per_key, 1, 1000));
    c.rate_per_s = env_double("QUANT_HTTP_RATE", c.rate_per_s);
    c.rate_burst = env_double("QUANT_HTTP_BURST", c.rate_burst);
    c.live_rate_per_min = env_double("QUANT_HTTP_LIVE_RATE_PER_MIN", c.live_rate_per_min);
    c.live_burst = env_double("QUANT_HTTP_LIVE_BURST", c.live_burst);
    c.auth_failures_per_min = env_double("QUANT_HTTP_AUTH_FAILURES_PER_MIN", c.auth_failures_per_min);
    c.shutdown_grace_ms =
        static_cast<int>(env_long("QUANT_HTTP_SHUTDOWN_GRACE_MS", c.shutdown_grace_ms, 0, 3600000));
    if (const char* v = env("QUANT_HTTP_ACCESS_LOG"))
        c.access_log = std::string_view(v) != "0";
    if (const char* v = env("QUANT_HTTP_CORS_ORIGIN"))
        c.cors_origin = v;
    // at most one request per loop and one per offload thread hold a connection at a time
    if (c.db_connections > 2 * c.threads)
        c.db_connections = 2 * c.threads;
    if (c.standby_connections > 2 * c.threads)
        c.standby_connections = 2 * c.threads;
    // Keys and passwords travel in headers: plain HTTP only where nobody else can listen.
    if (c.tls_cert.empty() && !is_loopback(c.host) && !c.allow_plain) {
        throw std::runtime_error("refusing plain HTTP on " + c.host +
                                 ", which is not a loopback address: set QUANT_HTTP_TLS_CERT and "
                                 "QUANT_HTTP_TLS_KEY (or QUANT_HTTP_ALLOW_PLAIN=1 behind a TLS proxy)");
    }
    if (c.metrics_enabled && !is_loopback(c.metrics_host) && !c.allow_plain) {
        throw std::runtime_error("refusing /metrics on " + c.metrics_host +
                                 ", which is not a loopback address (QUANT_HTTP_ALLOW_PLAIN=1 allows it)");
    }
    return c;
}

}  // namespace quant::http
