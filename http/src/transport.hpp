// HTTP/1.1 (and HTTPS) on Boost.Beast: one event loop per thread (each an io_context run by one
// thread; a new connection goes to the next loop, round robin), so an idle or slow connection
// costs memory but never a thread. A complete request's handler (which blocks on libpq) runs on
// the loop that read it, in its connection's strand, and the answer is written from there: no
// hand-off between threads and no other thread woken (one io_context shared by all threads woke
// an idle thread for every event: +0.05 ms at p50 for one client, bench/README.md). A request
// the Offload predicate picks (a long-running route, or any when no database connection is
// free: Api::hand_off) goes to a pool of as many threads again and its answer comes back to its
// loop, so neither a long request nor a wait for a connection stalls the other connections of
// its loop; any other holds its loop for as long as the database takes to answer it.
// Every limit against slow or greedy clients lives here: whole-head and whole-body deadlines,
// head size and field count, body size, connections in total and per address, keep-alive idle
// time and requests per connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "message.hpp"

namespace quant::http {

struct Limits {
    std::chrono::milliseconds head_timeout{
        10000};  // accept (or a kept-alive request's first byte) to end of head
    std::chrono::milliseconds body_timeout{30000};   // end of head to end of body
    std::chrono::milliseconds write_timeout{30000};  // a response to a client that does not read
    std::chrono::milliseconds idle_timeout{5000};    // keep-alive: wait for the next request
    int keep_alive_max = 1000;                       // requests per connection
    std::size_t max_head_bytes = 16384;              // request line and header fields
    int max_header_fields = 64;
    std::size_t max_body_bytes = 1u << 20;
    int max_connections = 2048;
    int max_connections_per_addr = 128;
};

// Counters for /metrics (monotonic, except open and busy).
struct TransportStats {
    long long open = 0;  // connections now
    long long busy = 0;  // requests read and not yet answered
    long long refused_total = 0;
    long long refused_address = 0;
    long long head_timeouts = 0;
    long long body_timeouts = 0;
    long long head_too_large = 0;
    long long body_too_large = 0;
    long long tls_failures = 0;
};

class Transport {
public:
    // handler: one request (it may block: the other threads serve the other connections);
    // errors: the transport's own refusals (status 400/408/413/431: keep it cheap).
    using Handler = std::function<void(Request&, Response&)>;
    using ErrorHandler =
        std::function<void(const Request&, int status, const std::string& detail, Response&)>;
    // Whether a request runs long (then it is handled on the offload threads).
    using Offload = std::function<bool(const Request&)>;

    // threads: how many loops (QUANT_HTTP_THREADS), and as many offload threads.
    Transport(const Limits& limits, int threads);
    ~Transport();
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    // Binds now (throws std::runtime_error when it cannot). With tls_cert and tls_key (PEM
    // files) the listener speaks HTTPS only.
    void listen(const std::string& host, int port, Handler handler, ErrorHandler errors, Offload offload = {},
                const std::string& tls_cert = {}, const std::string& tls_key = {});
    // Starts the threads; returns at once.
    void start();
    // Stops accepting, lets requests in flight finish (up to grace), then stops every thread.
    void shutdown(std::chrono::milliseconds grace);
    TransportStats stats() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

bool is_loopback(const std::string& host);

}  // namespace quant::http
