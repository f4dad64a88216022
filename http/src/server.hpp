// The HTTP side: dispatch on the route table, the request's checks (key, rate limits, id, body
// limits, parameter types), one SQL call, and the response, problem+json, access log and metrics.
// It sees requests and responses as plain values (message.hpp), not the transport.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "auth.hpp"
#include "config.hpp"
#include "message.hpp"
#include "metrics.hpp"
#include "pool.hpp"
#include "replica.hpp"
#include "routes.hpp"
#include "static.hpp"
#include "transport.hpp"

namespace quant::http {

class Api {
public:
    Api(const Config& config, Pool& pool, ReplicaRouter& router);
    // The API's address: every route of the table.
    void serve(const Request& req, Response& res);
    // Whether the request leaves its event loop for the transport's offload threads: a
    // long-running route, or no free database connection now (it would wait for one while its
    // loop's other connections wait for it).
    bool hand_off(const Request& req) const;
    // The metrics address: GET /metrics only.
    void serve_metrics(const Request& req, Response& res, const TransportStats& transport);
    // A request the transport refused (malformed, too large, ...): problem+json, logged, counted.
    void refuse(const Request& req, int status, const std::string& detail, Response& res);

private:
    struct Exchange;
    struct Call;
    // The numbered steps of one request; each returns false when it has set the answer.
    const Route* route_of(Exchange& ex);
    bool builtin(Exchange& ex, const Route& route);
    bool authenticate(Exchange& ex, std::string& key);
    bool check_id(Exchange& ex, const Route& route, const std::string& id);
    bool read_body(Exchange& ex, const Route& route, const std::string& key, Call& call);
    bool bind_params(Exchange& ex, const Route& route, Call& call);
    void run_call(Exchange& ex, const Route& route, const std::string& key, Call& call);
    void handle(Exchange& ex);
    void options(Exchange& ex);
    void finish(Exchange& ex);
    void retry_after(Exchange& ex, double seconds);

    const Config& config_;
    Pool& pool_;
    ReplicaRouter& router_;  // which pool a call runs on (read scale-out)
    Metrics metrics_;
    RateLimiter key_limit_;
    RateLimiter live_limit_;
    RateLimiter auth_failures_;  // per address
    ConcurrencyCap long_cap_;    // per key
    std::string openapi_;
    StaticFiles ui_;
    std::atomic<int> in_flight_{0};
};

}  // namespace quant::http
