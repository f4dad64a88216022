#include "config.hpp"

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
void parse_addr(std::string_view addr, Config& c) {
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
        c.host = std::string(host);
    if (!port.empty()) {
        const std::string p(port);
        char* end = nullptr;
        const long n = std::strtol(p.c_str(), &end, 10);
        if (*end != '\0' || n < 0 || n > 65535)
            throw std::runtime_error("listen address: bad port \"" + p + "\"");
        c.port = static_cast<int>(n);
    }
}

}  // namespace

Config load_config(int argc, char** argv) {
    Config c;
    if (const char* a = env("QUANT_HTTP_ADDR"))
        parse_addr(a, c);
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if ((arg == "--listen" || arg == "-l") && i + 1 < argc) {
            parse_addr(argv[++i], c);
        } else if (arg == "--help" || arg == "-h") {
            throw std::runtime_error(
                "usage: quant-http [--listen HOST:PORT]\n"
                "environment: QUANT_HTTP_ADDR (default 127.0.0.1:8000), DB_URL (else PG*), "
                "QUANT_HTTP_THREADS,\n"
                "  QUANT_HTTP_DB_CONNECTIONS, QUANT_HTTP_MAX_BODY, QUANT_HTTP_STATEMENT_TIMEOUT_MS, ... "
                "(http/README.md)");
        } else {
            throw std::runtime_error("unknown argument \"" + std::string(arg) + "\" (try --help)");
        }
    }
    if (const char* u = env("DB_URL"))
        c.db_conninfo = u;
    c.threads = static_cast<int>(env_long("QUANT_HTTP_THREADS", c.threads, 2, 4096));
    c.db_connections = static_cast<int>(env_long("QUANT_HTTP_DB_CONNECTIONS", c.db_connections, 1, 1000));
    c.pool_wait_ms = static_cast<int>(env_long("QUANT_HTTP_POOL_WAIT_MS", c.pool_wait_ms, 1, 600000));
    c.max_body_bytes = static_cast<std::size_t>(
        env_long("QUANT_HTTP_MAX_BODY", static_cast<long>(c.max_body_bytes), 1024, 64L << 20));
    c.max_json_depth = static_cast<int>(env_long("QUANT_HTTP_MAX_JSON_DEPTH", c.max_json_depth, 4, 512));
    c.statement_timeout_ms =
        static_cast<int>(env_long("QUANT_HTTP_STATEMENT_TIMEOUT_MS", c.statement_timeout_ms, 1, 3600000));
    c.long_statement_timeout_ms =
        static_cast<int>(env_long("QUANT_HTTP_LONG_TIMEOUT_MS", c.long_statement_timeout_ms, 1, 3600000));
    c.read_timeout_s = static_cast<int>(env_long("QUANT_HTTP_READ_TIMEOUT_S", c.read_timeout_s, 1, 600));
    c.keep_alive_timeout_s =
        static_cast<int>(env_long("QUANT_HTTP_KEEPALIVE_S", c.keep_alive_timeout_s, 1, 600));
    c.rate_per_s = env_double("QUANT_HTTP_RATE", c.rate_per_s);
    c.rate_burst = env_double("QUANT_HTTP_BURST", c.rate_burst);
    c.live_rate_per_min = env_double("QUANT_HTTP_LIVE_RATE_PER_MIN", c.live_rate_per_min);
    c.live_burst = env_double("QUANT_HTTP_LIVE_BURST", c.live_burst);
    if (const char* v = env("QUANT_HTTP_ACCESS_LOG"))
        c.access_log = std::string_view(v) != "0";
    if (const char* v = env("QUANT_HTTP_CORS_ORIGIN"))
        c.cors_origin = v;
    if (c.db_connections > c.threads)
        c.db_connections = c.threads;
    return c;
}

}  // namespace quant::http
