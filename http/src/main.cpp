// quant-http: the Trade API over HTTP. Reads its settings (config.cpp), opens the database
// pool, serves until SIGTERM or SIGINT, then finishes the requests in flight and exits 0.
#include <httplib.h>
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "config.hpp"
#include "pool.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
    quant::http::Config config;
    try {
        config = quant::http::load_config(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "quant-http: " << e.what() << '\n';
        return 2;
    }
    // Signals: SIGPIPE ignored (a client that goes away), SIGTERM/SIGINT blocked in every
    // thread and taken by one waiter thread, which stops the server.
    std::signal(SIGPIPE, SIG_IGN);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    quant::http::Pool pool(config.db_conninfo, config.db_connections);
    if (const std::string err = pool.check(); !err.empty()) {
        // Not fatal: /readyz says so, and requests get 503 until the database is back.
        std::cerr << "quant-http: warning: cannot connect to the database: " << err;
    }
    quant::http::Api api(config, pool);

    httplib::Server svr;
    const int threads = config.threads;
    svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    svr.set_keep_alive_max_count(static_cast<size_t>(config.keep_alive_max));
    svr.set_keep_alive_timeout(config.keep_alive_timeout_s);
    svr.set_read_timeout(config.read_timeout_s, 0);
    svr.set_write_timeout(config.read_timeout_s, 0);
    svr.set_payload_max_length(config.max_body_bytes);
    svr.set_tcp_nodelay(true);
    api.install(svr);

    if (!svr.bind_to_port(config.host, config.port)) {
        std::cerr << "quant-http: cannot listen on " << config.host << ":" << config.port << '\n';
        return 1;
    }
    std::thread waiter([&svr, &stop_signals] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        std::cerr << "quant-http: signal " << sig << ", shutting down\n";
        svr.stop();
    });
    std::cerr << "quant-http: listening on " << config.host << ":" << config.port << " (" << config.threads
              << " threads, " << config.db_connections << " database connections)\n";
    const bool ok = svr.listen_after_bind();
    if (!ok && svr.is_running()) {
        std::cerr << "quant-http: the server stopped unexpectedly\n";
        std::_Exit(1);
    }
    waiter.join();
    std::cerr << "quant-http: stopped\n";
    return 0;
}
