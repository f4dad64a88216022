#include "metrics.hpp"

#include <sstream>

namespace quant::http {

namespace {

// Label values: escape backslash, quote and newline (Prometheus text format).
std::string label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace

void Metrics::observe(const std::string& route, int status, double seconds) {
    std::lock_guard lock(mu_);
    ++requests_[{route, status}];
    Histogram& h = latency_[route];
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        if (seconds <= kBuckets[i])
            ++h.counts[i];
    }
    ++h.count;
    h.sum += seconds;
}

void Metrics::error(const std::string& type) {
    std::lock_guard lock(mu_);
    ++errors_[type];
}

void Metrics::rate_limited(const std::string& limit) {
    std::lock_guard lock(mu_);
    ++limited_[limit];
}

std::string Metrics::render(int pool_size, int pool_in_use, int in_flight, const TransportStats& tr) const {
    std::ostringstream o;
    std::lock_guard lock(mu_);
    o << "# HELP quant_http_requests_total HTTP requests answered, by route and status.\n"
         "# TYPE quant_http_requests_total counter\n";
    for (const auto& [k, n] : requests_) {
        o << "quant_http_requests_total{route=\"" << label(k.first) << "\",status=\"" << k.second << "\"} "
          << n << '\n';
    }
    o << "# HELP quant_http_request_duration_seconds Time from routing to the response, by route.\n"
         "# TYPE quant_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
        const std::string r = label(route);
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
            o << "quant_http_request_duration_seconds_bucket{route=\"" << r << "\",le=\"" << kBuckets[i]
              << "\"} " << h.counts[i] << '\n';
        }
        o << "quant_http_request_duration_seconds_bucket{route=\"" << r << R"(",le="+Inf"} )" << h.count
          << '\n'
          << "quant_http_request_duration_seconds_sum{route=\"" << r << "\"} " << h.sum << '\n'
          << "quant_http_request_duration_seconds_count{route=\"" << r << "\"} " << h.count << '\n';
    }
    o << "# HELP quant_http_errors_total Error responses, by problem type.\n"
         "# TYPE quant_http_errors_total counter\n";
    for (const auto& [t, n] : errors_)
        o << "quant_http_errors_total{type=\"" << label(t) << "\"} " << n << '\n';
    o << "# HELP quant_http_rate_limited_total Requests refused by a rate limit (key: per API key; live: "
         "switches "
         "to live trading).\n"
         "# TYPE quant_http_rate_limited_total counter\n";
    for (const auto& [t, n] : limited_) {
        o << "quant_http_rate_limited_total{limit=\"" << label(t) << "\"} " << n << '\n';
    }
    o << "# HELP quant_http_db_pool_connections Size of the database connection pool.\n"
         "# TYPE quant_http_db_pool_connections gauge\n"
         "quant_http_db_pool_connections "
      << pool_size
      << "\n# HELP quant_http_db_pool_in_use Database connections lent to requests now.\n"
         "# TYPE quant_http_db_pool_in_use gauge\n"
         "quant_http_db_pool_in_use "
      << pool_in_use
      << "\n# HELP quant_http_in_flight Requests being handled now.\n"
         "# TYPE quant_http_in_flight gauge\n"
         "quant_http_in_flight "
      << in_flight << '\n';
    o << "# HELP quant_http_connections_open Client connections open now.\n"
         "# TYPE quant_http_connections_open gauge\n"
         "quant_http_connections_open "
      << tr.open
      << "\n# HELP quant_http_connections_refused_total Connections refused at accept, by the cap they hit.\n"
         "# TYPE quant_http_connections_refused_total counter\n"
         "quant_http_connections_refused_total{cap=\"total\"} "
      << tr.refused_total << "\nquant_http_connections_refused_total{cap=\"address\"} " << tr.refused_address
      << "\n# HELP quant_http_deadline_closed_total Connections closed because the request head or body "
         "missed its deadline.\n"
         "# TYPE quant_http_deadline_closed_total counter\n"
         "quant_http_deadline_closed_total{part=\"head\"} "
      << tr.head_timeouts << "\nquant_http_deadline_closed_total{part=\"body\"} " << tr.body_timeouts
      << "\n# HELP quant_http_too_large_total Requests refused for the size of their head (431) or body "
         "(413).\n"
         "# TYPE quant_http_too_large_total counter\n"
         "quant_http_too_large_total{part=\"head\"} "
      << tr.head_too_large << "\nquant_http_too_large_total{part=\"body\"} " << tr.body_too_large
      << "\n# HELP quant_http_tls_handshake_failures_total TLS handshakes that failed.\n"
         "# TYPE quant_http_tls_handshake_failures_total counter\n"
         "quant_http_tls_handshake_failures_total "
      << tr.tls_failures << '\n';
    return o.str();
}

}  // namespace quant::http
