#include "replica.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string_view>

namespace quant::http {

namespace {

// The SQL functions (and catalog views) that only read: nothing in them, nor in the login of a
// request (quant.login_api_key skips its last_used_at update during recovery), writes, takes a
// sequence value, NOTIFYs or starts a background worker. Checked on a real hot standby by
// test/sql/standby.sh. A route not listed here runs on the primary.
constexpr std::array<std::string_view, 12> kReadOnly{
    "quant.backtest",        "quant.backtest_series", "quant.optimize",      "quant.walk_forward",
    "refdata.indicator",     "refdata.signal_func",   "quant.list_products", "quant.list_ticker_mappings",
    "quant.list_strategies", "quant.get_strategy",    "quant.list_results",  "quant.indicator_series",
};

// 0 when the standby has replayed all it received and is streaming; else the age of the last
// transaction it replayed (Infinity when it replayed none since it started). A server that is
// not in recovery (a promoted standby) has no lag.
constexpr const char* kLagSql =
    "SELECT CASE WHEN NOT pg_catalog.pg_is_in_recovery() THEN 0::float8"
    " WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn()"
    " AND EXISTS (SELECT FROM pg_catalog.pg_stat_wal_receiver) THEN 0::float8"
    " ELSE coalesce(extract(epoch FROM pg_catalog.clock_timestamp() -"
    " pg_catalog.pg_last_xact_replay_timestamp())::float8, 'Infinity'::float8) END::text";

bool retry_on_primary(const CallResult& r) {
    // the standby went away, or cancelled the read for a recovery conflict
    return r.kind == CallResult::Kind::unavailable ||
           (r.kind == CallResult::Kind::sql_error &&
            (r.error.sqlstate == "40001" || r.error.sqlstate == "25006" ||
             r.error.sqlstate.rfind("57", 0) == 0 || r.error.sqlstate.rfind("08", 0) == 0));
}

}  // namespace

ReplicaRouter::ReplicaRouter(Pool& primary, Pool* standby, ReplicaOptions options)
    : primary_(primary), standby_(standby), options_(options) {}

bool ReplicaRouter::reads_only(const Route& route) {
    return std::find(kReadOnly.begin(), kReadOnly.end(), std::string_view(route.target)) != kReadOnly.end();
}

bool ReplicaRouter::wants_primary(const Request& req) {
    std::string v = req.header("X-Quant-Consistency");
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    return v == "primary";
}

std::optional<double> ReplicaRouter::lag(Pool::Lease& lease) {
    {
        std::lock_guard lock(mu_);
        const auto age = std::chrono::steady_clock::now() - measured_at_;
        if (lag_s_ >= 0 && (measuring_ || age < std::chrono::milliseconds(options_.lag_check_ms)))
            return lag_s_;
        measuring_ = true;
    }
    std::vector<std::string> row;
    const bool ok = lease->query_row(kLagSql, row) && row.size() == 1;
    double value = -1;
    if (ok) {
        char* end = nullptr;
        value = std::strtod(row[0].c_str(), &end);
        if (end == row[0].c_str() || std::isnan(value))
            value = -1;
    }
    std::lock_guard lock(mu_);
    measuring_ = false;
    if (value < 0)
        return std::nullopt;
    lag_s_ = value;
    measured_at_ = std::chrono::steady_clock::now();
    return lag_s_;
}

CallResult ReplicaRouter::call(const Route& route, const Request& req, const std::string& key,
                               int statement_timeout_ms, const std::string& sql,
                               const std::vector<std::optional<std::string>>& params, PoolChoice& choice) {
    const auto wait = std::chrono::milliseconds(options_.pool_wait_ms);
    choice = {};
    if (standby_ == nullptr || !reads_only(route)) {
        choice.reason = "writes";
    } else if (wants_primary(req)) {
        choice.reason = "consistency";
    } else {
        std::string why;
        // a standby that cannot give a connection at once is not waited for: the primary answers
        auto lease = standby_->acquire(std::min(wait, std::chrono::milliseconds(50)), why);
        std::optional<double> l;
        if (lease)
            l = lag(lease);
        if (!lease || !l) {
            choice.reason = "standby_unavailable";
            ++fallbacks_;
        } else if (*l * 1000.0 > options_.max_lag_ms) {
            choice.reason = "lag";
            choice.lag_s = l;
            ++skipped_lag_;
        } else {
            choice.standby = true;
            choice.lag_s = l;
            choice.reason = "standby";
            CallResult r = lease->call(key, statement_timeout_ms, sql, params);
            if (!retry_on_primary(r)) {
                ++on_standby_;
                return r;
            }
            // a read only: running it again on the primary cannot do anything twice
            choice.standby = false;
            choice.reason = "retried";
            ++fallbacks_;
        }
    }
    std::string why;
    auto lease = primary_.acquire(wait, why);
    if (!lease) {
        choice.no_connection = true;
        choice.why = why;
        return {};
    }
    // a read-only "primary" (25006: fenced or demoted by a failover) has its connection closed
    // by the call (pq's lost-connection rule): the next one finds the new primary
    CallResult r = lease->call(key, statement_timeout_ms, sql, params);
    ++on_primary_;
    return r;
}

void ReplicaRouter::set_headers(const PoolChoice& choice, Response& res) {
    res.set_header("X-Quant-Pool", choice.standby ? "standby" : "primary");
    if (choice.lag_s) {
        std::ostringstream o;
        o << *choice.lag_s;
        res.set_header("X-Quant-Standby-Lag", o.str());
    }
}

std::string ReplicaRouter::metrics() const {
    std::ostringstream o;
    o << "# HELP quant_http_requests_by_pool_total SQL calls answered, by the pool that ran them.\n"
         "# TYPE quant_http_requests_by_pool_total counter\n"
         "quant_http_requests_by_pool_total{pool=\"primary\"} "
      << on_primary_.load() << "\nquant_http_requests_by_pool_total{pool=\"standby\"} " << on_standby_.load()
      << "\n# HELP quant_http_standby_skipped_total Reads sent to the primary instead of the standby "
         "(reason: lag over QUANT_HTTP_STANDBY_MAX_LAG_MS, unavailable: no connection or the call failed "
         "there).\n"
         "# TYPE quant_http_standby_skipped_total counter\n"
         "quant_http_standby_skipped_total{reason=\"lag\"} "
      << skipped_lag_.load() << "\nquant_http_standby_skipped_total{reason=\"unavailable\"} "
      << fallbacks_.load() << '\n';
    if (standby_ != nullptr) {
        double lag = -1;
        {
            std::lock_guard lock(mu_);
            lag = lag_s_;
        }
        o << "# HELP quant_http_standby_lag_seconds The standby's replay lag at its last measurement "
             "(-1: never measured).\n"
             "# TYPE quant_http_standby_lag_seconds gauge\n"
             "quant_http_standby_lag_seconds "
          << (std::isinf(lag) ? std::string("+Inf") : std::to_string(lag))
          << "\n# HELP quant_http_standby_pool_connections Size of the standby's connection pool.\n"
             "# TYPE quant_http_standby_pool_connections gauge\n"
             "quant_http_standby_pool_connections "
          << standby_->size()
          << "\n# HELP quant_http_standby_pool_in_use Standby connections lent to requests now.\n"
             "# TYPE quant_http_standby_pool_in_use gauge\n"
             "quant_http_standby_pool_in_use "
          << standby_->in_use() << '\n';
    }
    return o.str();
}

}  // namespace quant::http
