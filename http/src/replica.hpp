// Read scale-out: which pool a request's transaction runs on (docs/scale.md "Read scale-out").
//
// quant-http holds the primary pool (DB_URL; a multi-host string with
// target_session_attrs=read-write finds the primary after a failover) and, with
// QUANT_HTTP_STANDBY_URL, a standby pool (a multi-host string with target_session_attrs=standby
// or prefer-standby). The routes whose SQL function only reads (research, catalogs, lists of
// strategies and products: reads_only below) go to the standby unless
//   - the request asks for fresh data: header X-Quant-Consistency: primary;
//   - the standby lags more than QUANT_HTTP_STANDBY_MAX_LAG_MS (measured at most every
//     QUANT_HTTP_STANDBY_LAG_CHECK_MS, from pg_last_xact_replay_timestamp);
//   - no standby connection can be had, or the standby lost the connection or cancelled the
//     statement for a recovery conflict (40001): the read is retried on the primary once.
// Everything else (writes, live evaluation, runs, sessions) goes to the primary. Responses say
// which pool answered (X-Quant-Pool: primary|standby) and, from a standby, its lag
// (X-Quant-Standby-Lag: seconds); /metrics has the lag gauge and the counts per pool.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "message.hpp"
#include "pool.hpp"
#include "routes.hpp"

namespace quant::http {

struct ReplicaOptions {
    int max_lag_ms = 5000;    // QUANT_HTTP_STANDBY_MAX_LAG_MS: a standby further behind is skipped
    int lag_check_ms = 1000;  // QUANT_HTTP_STANDBY_LAG_CHECK_MS: how old a lag measurement may be
    int pool_wait_ms = 5000;  // QUANT_HTTP_POOL_WAIT_MS
};

// Which pool answered a request, and why (for the headers, the log and the metrics).
struct PoolChoice {
    bool standby = false;
    std::optional<double> lag_s;  // the standby's lag when it was measured for this choice
    std::string reason;  // "standby", "writes", "consistency", "lag", "standby_unavailable", "retried"
    bool no_connection = false;  // no connection of the chosen (or fallback) pool within the wait
    std::string why;             // the pool's reason when no_connection
};

class ReplicaRouter {
public:
    ReplicaRouter(Pool& primary, Pool* standby, ReplicaOptions options);

    // Whether the route's SQL function only reads (safe on a hot standby).
    static bool reads_only(const Route& route);
    // Whether the request asks for the primary (X-Quant-Consistency: primary).
    static bool wants_primary(const Request& req);

    // One call as the key's user on the pool chosen for the route and request (see above).
    CallResult call(const Route& route, const Request& req, const std::string& key, int statement_timeout_ms,
                    const std::string& sql, const std::vector<std::optional<std::string>>& params,
                    PoolChoice& choice);

    // The response headers of a choice.
    static void set_headers(const PoolChoice& choice, Response& res);
    // Prometheus text: the standby's lag, its pool, requests per pool and fallbacks.
    std::string metrics() const;
    bool has_standby() const { return standby_ != nullptr; }

private:
    // The standby's lag in seconds, measured on lease when the last measurement is too old;
    // nullopt when the lag query failed (the lease is then not usable).
    std::optional<double> lag(Pool::Lease& lease);

    Pool& primary_;
    Pool* standby_;
    ReplicaOptions options_;
    mutable std::mutex mu_;
    std::chrono::steady_clock::time_point measured_at_{};
    double lag_s_ = -1;  // -1: never measured
    bool measuring_ = false;
    std::atomic<unsigned long long> on_primary_{0};
    std::atomic<unsigned long long> on_standby_{0};
    std::atomic<unsigned long long> skipped_lag_{0};
    std::atomic<unsigned long long> fallbacks_{0};
};

}  // namespace quant::http
