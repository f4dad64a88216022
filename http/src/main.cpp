// quant-http: the Trade API over HTTP(S). Reads its settings (config.cpp), opens the database
// pool, serves the API and, on its own address, /metrics until SIGTERM or SIGINT, then finishes
// the requests in flight and exits 0.
#include <pthread.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string_view>

#include "config.hpp"
#include "pool.hpp"
#include "quant/pq/log.hpp"
#include "replica.hpp"
#include "server.hpp"
#include "transport.hpp"

namespace {

// Idle connections cost a descriptor each: take the hard limit (the caps in Limits bound use).
void raise_descriptor_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(quant::http::usage(), stdout);
            return 0;
        }
    }
    quant::http::Config config;
    try {
        config = quant::http::load_config(argc, argv);
    } catch (const std::exception& e) {
        quant::pq::log_error("bad_config", {{"error", e.what()}});
        return 2;
    }
    // Signals: SIGPIPE ignored (a client that goes away), SIGTERM/SIGINT blocked in every
    // thread (the transport's threads inherit the mask) and taken here by sigwait.
    std::signal(SIGPIPE, SIG_IGN);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    raise_descriptor_limit();

    quant::http::Pool pool(config.db_conninfo, config.db_connections);
    if (const std::string err = pool.check(); !err.empty()) {
        // Not fatal: /readyz says so, and requests get 503 until the database is back.
        quant::pq::log_warn("database_unreachable", {{"error", err}});
    }
    // Read scale-out (replica.hpp): the standby pool, when QUANT_HTTP_STANDBY_URL names one.
    std::unique_ptr<quant::http::Pool> standby;
    if (!config.standby_conninfo.empty()) {
        quant::http::PoolOptions standby_options;
        standby_options.application_name = "quant-http-standby";
        standby_options.statement_timeout_ms = config.statement_timeout_ms;
        standby = std::make_unique<quant::http::Pool>(config.standby_conninfo, config.standby_connections,
                                                      standby_options);
        if (const std::string err = standby->check(); !err.empty())
            quant::pq::log_warn("standby_unreachable", {{"error", err}});  // reads go to the primary
    }
    quant::http::ReplicaRouter router(pool, standby.get(),
                                      {.max_lag_ms = config.standby_max_lag_ms,
                                       .lag_check_ms = config.standby_lag_check_ms,
                                       .pool_wait_ms = config.pool_wait_ms});
    quant::http::Api api(config, pool, router);
    quant::http::Transport transport(config.limits, config.threads);
    auto refuse = [&api](const quant::http::Request& req, int status, const std::string& detail,
                         quant::http::Response& res) { api.refuse(req, status, detail, res); };
    try {
        transport.listen(
            config.host, config.port,
            [&api](quant::http::Request& req, quant::http::Response& res) { api.serve(req, res); }, refuse,
            [&api](const quant::http::Request& req) { return api.hand_off(req); }, config.tls_cert,
            config.tls_key);
        if (config.metrics_enabled) {
            transport.listen(
                config.metrics_host, config.metrics_port,
                [&api, &transport](quant::http::Request& req, quant::http::Response& res) {
                    api.serve_metrics(req, res, transport.stats());
                },
                refuse);
        }
    } catch (const std::exception& e) {
        quant::pq::log_error("listen_failed", {{"error", e.what()}});
        return 1;
    }
    transport.start();
    const std::string scheme = config.tls_cert.empty() ? "http://" : "https://";
    const std::string metrics_url =
        "http://" + config.metrics_host + ":" + std::to_string(config.metrics_port);
    quant::pq::log_info("start", {{"listen", scheme + config.host + ":" + std::to_string(config.port)},
                                  {"metrics", config.metrics_enabled ? metrics_url : "off"},
                                  {"threads", config.threads},
                                  {"db_connections", config.db_connections},
                                  {"standby", standby ? "on" : "off"}});
    int sig = 0;
    sigwait(&stop_signals, &sig);
    quant::pq::log_info("shutting_down", {{"signal", sig}});
    transport.shutdown(std::chrono::milliseconds(config.shutdown_grace_ms));
    quant::pq::log_info("stop", {{"signal", sig}});
    return 0;
}
