// The HTTP side: dispatch on the route table, the request's checks (key, rate limits, id, body
// limits, parameter types), one SQL call, and the response, problem+json, access log and metrics.
#pragma once

#include <atomic>
#include <string>

#include "auth.hpp"
#include "config.hpp"
#include "metrics.hpp"
#include "pool.hpp"

namespace httplib {
class Server;
}

namespace quant::http {

class Api {
public:
    Api(const Config& config, Pool& pool);
    // Registers the handlers, the error handler and the access log on the server.
    void install(httplib::Server& server);

private:
    struct Exchange;
    void handle(Exchange& ex);
    void finish(Exchange& ex);

    const Config& config_;
    Pool& pool_;
    Metrics metrics_;
    RateLimiter key_limit_;
    RateLimiter live_limit_;
    std::string openapi_;
    std::atomic<int> in_flight_{0};
};

}  // namespace quant::http
