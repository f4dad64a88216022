#include "server.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <random>

#include "openapi.hpp"
#include "problem.hpp"
#include "quant/error.hpp"
#include "quant/json.hpp"
#include "quant/pq/log.hpp"
#include "quant/uuid.hpp"
#include "session.hpp"

namespace quant::http {

namespace {

using Clock = std::chrono::steady_clock;

// A path of the route table (the API and operations routes); everything else a GET may ask for
// is the web UI's.
bool is_api_path(const std::string& path) {
    bool known = false;
    std::string id;
    std::string allowed;
    match_route("GET", path, id, known, allowed);
    return known;
}

std::string new_request_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(16, '0');
    auto v = rng();
    for (auto& c : id) {
        c = hex[v & 15u];
        v >>= 4;
    }
    return id;
}

// A caller's X-Request-Id is kept when it is short and plain (it goes into the log).
std::string request_id_of(const Request& req) {
    std::string given = req.header("X-Request-Id");
    if (!given.empty() && given.size() <= 64 && std::all_of(given.begin(), given.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        })) {
        return given;
    }
    return new_request_id();
}

const char* type_name(JsonType t) {
    switch (t) {
        case JsonType::object:
            return "a JSON object";
        case JsonType::array_or_object:
            return "a JSON array or object";
        case JsonType::number:
            return "a number";
        case JsonType::integer:
            return "an integer";
        case JsonType::string:
            return "a string";
        case JsonType::boolean:
            return "true or false";
    }
    return "?";
}

// A body member as the text of its SQL parameter; false when it is of the wrong JSON type.
bool member_text(const Json& v, JsonType t, std::string& out) {
    switch (t) {
        case JsonType::object:
            if (!v.is_object())
                return false;
            break;
        case JsonType::array_or_object:
            if (!v.is_object() && !v.is_array())
                return false;
            break;
        case JsonType::number:
            if (!v.is_number())
                return false;
            break;
        case JsonType::integer:
            if (!v.is_number_integer())
                return false;
            break;
        case JsonType::string:
            if (!v.is_string())
                return false;
            out = v.get<std::string>();
            return true;
        case JsonType::boolean:
            if (!v.is_boolean())
                return false;
            break;
    }
    out = v.dump();
    return true;
}

}  // namespace

// One request in flight: what the handler learned, for the response, log and metrics.
struct Api::Exchange {
    Exchange(const Request& rq, Response& rs) : req(rq), res(rs) {}
    const Request& req;
    Response& res;
    Clock::time_point start = Clock::now();
    std::string request_id;
    std::string route_label = "unmatched";
    std::string user;  // empty: no authenticated user
    std::string id;    // the {id} segment
    Problem problem;   // status 0: none
    std::string detail_for_log;
};

// What the steps build for the SQL call.
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann's noexcept move checks an invariant with assert only
struct Api::Call {
    std::string body;
    Json doc;
    std::vector<const Param*> present;
    std::vector<std::optional<std::string>> values;
};

Api::Api(const Config& config, Pool& pool, ReplicaRouter& router)
    : config_(config),
      pool_(pool),
      router_(router),
      key_limit_(config.rate_per_s, config.rate_burst),
      live_limit_(config.live_rate_per_min / 60.0, config.live_burst),
      auth_failures_(config.auth_failures_per_min / 60.0, config.auth_failures_per_min),
      long_cap_(config.long_per_key),
      openapi_(openapi_document()),
      ui_(config.ui_dir) {}

void Api::serve(const Request& req, Response& res) {
    Exchange ex{req, res};
    ++in_flight_;
    try {
        if (req.method == "OPTIONS") {
            options(ex);
        } else {
            handle(ex);
        }
    } catch (const std::exception& e) {
        ex.detail_for_log = e.what();
        ex.problem = make_problem(500, "internal", "internal error");
    }
    --in_flight_;
    finish(ex);
}

void Api::serve_metrics(const Request& req, Response& res, const TransportStats& transport) {
    Exchange ex{req, res};
    ex.route_label = "GET /metrics";
    if (req.path != "/metrics") {
        ex.route_label = "unmatched";
        ex.problem =
            make_problem(404, "not-found", "no such route", {}, "this address serves GET /metrics only");
    } else if (req.method != "GET") {
        res.set_header("Allow", "GET");
        ex.problem =
            make_problem(405, "method-not-allowed", req.method + " is not allowed here", {}, "allowed: GET");
    } else {
        res.status = 200;
        res.set_content(
            metrics_.render(pool_.size(), pool_.in_use(), in_flight_.load(), transport) + router_.metrics(),
            "text/plain; version=0.0.4; charset=utf-8");
    }
    finish(ex);
}

void Api::refuse(const Request& req, int status, const std::string& detail, Response& res) {
    Exchange ex{req, res};
    if (status == 413) {
        ex.problem = make_problem(413, "limit-exceeded", detail);
    } else if (status == 431) {
        ex.problem = make_problem(431, "limit-exceeded", detail);
        ex.problem.title = "Request header fields too large";
    } else if (status >= 500) {
        ex.detail_for_log = detail;
        ex.problem = make_problem(500, "internal", "internal error");
    } else {
        ex.problem = make_problem(400, "malformed", detail);
        ex.problem.title = "Bad request";
    }
    finish(ex);
}

void Api::options(Exchange& ex) {
    if (config_.cors_origin.empty()) {
        ex.problem = make_problem(405, "method-not-allowed", "OPTIONS: CORS is off on this server");
        return;
    }
    ex.res.status = 204;
    ex.res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
    ex.res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id");
    ex.res.set_header("Access-Control-Max-Age", "600");
}

void Api::retry_after(Exchange& ex, double seconds) {
    ex.res.set_header("Retry-After", std::to_string(static_cast<long>(seconds) + 1));
}

void Api::handle(Exchange& ex) {
    ex.request_id = request_id_of(ex.req);
    if (StaticFiles::wants(ex.req) && !is_api_path(ex.req.path)) {
        ex.route_label = "GET /ui";
        ui_.serve(ex.req, ex.res);
        return;
    }
    const Route* route = route_of(ex);
    if (route == nullptr || !builtin(ex, *route))
        return;
    std::string key;
    Call call;
    if (!authenticate(ex, key) || !check_id(ex, *route, ex.id) || !read_body(ex, *route, key, call) ||
        !bind_params(ex, *route, call)) {
        return;
    }
    run_call(ex, *route, key, call);
}

bool Api::hand_off(const Request& req) const {
    std::string id;
    bool path_known = false;
    std::string allowed;
    const Route* route = match_route(req.method, req.path, id, path_known, allowed);
    return route != nullptr && (route->long_running || !pool_.has_free());
}

// 0. the route: 404 for an unknown path, 405 (with Allow) for a known path and another method
const Route* Api::route_of(Exchange& ex) {
    bool path_known = false;
    std::string allowed;
    const Route* route = match_route(ex.req.method, ex.req.path, ex.id, path_known, allowed);
    if (route == nullptr) {
        if (path_known) {
            ex.res.set_header("Allow", allowed);
            ex.problem = make_problem(405, "method-not-allowed", ex.req.method + " is not allowed here", {},
                                      "allowed: " + allowed);
        } else {
            ex.problem =
                make_problem(404, "not-found", "no such route", {}, "GET /api/v1/openapi.json lists them");
        }
        return nullptr;
    }
    ex.route_label = route->method + " " + route->path;
    return route;
}

// The operations routes (no key); true when the route is an API call and goes on.
bool Api::builtin(Exchange& ex, const Route& route) {
    auto& res = ex.res;
    switch (route.builtin) {
        case Builtin::none:
            return true;
        case Builtin::healthz:
            res.status = 200;
            res.set_content(R"({"status":"ok"})", "application/json");
            return false;
        case Builtin::readyz: {
            std::string why;
            auto lease = pool_.acquire(std::chrono::milliseconds(config_.pool_wait_ms), why);
            if (!lease || !lease->ping()) {
                ex.detail_for_log = why;
                ex.problem = make_problem(503, "unavailable", "the database is not reachable");
                return false;
            }
            res.status = 200;
            res.set_content(R"({"status":"ready"})", "application/json");
            return false;
        }
        case Builtin::openapi:
            res.status = 200;
            res.set_content(openapi_, "application/json");
            return false;
        case Builtin::session_login:
        case Builtin::session_logout: {
            double retry = 0;
            if (route.builtin == Builtin::session_login &&
                auth_failures_.exhausted(ex.req.remote_addr, retry)) {
                metrics_.rate_limited("auth");
                retry_after(ex, retry);
                ex.problem = make_problem(429, "rate-limited", "too many failed logins from this address");
                return false;
            }
            const bool secure = !config_.tls_cert.empty();
            SessionOutcome o = route.builtin == Builtin::session_login
                                   ? session_login(pool_, config_.pool_wait_ms, secure, ex.req, res)
                                   : session_logout(pool_, config_.pool_wait_ms, secure, ex.req, res);
            if (o.failed_login)
                auth_failures_.take(ex.req.remote_addr, retry);
            ex.user = o.user.empty() ? "-" : o.user;
            ex.problem = o.problem;
            return false;
        }
    }
    return false;
}

// 1. who: the key's shape here, its validity in SQL (in the request's own transaction). An
// address that failed too often is refused before either, without touching the database.
bool Api::authenticate(Exchange& ex, std::string& key) {
    const auto& req = ex.req;
    if (!req.has_header("Authorization") && !(key = session_cookie(req.header("Cookie"))).empty()) {
        if (!csrf_ok(req)) {  // a cross-site form cannot send a custom header
            ex.problem = make_problem(403, "forbidden",
                                      "a request by session cookie must send the X-Quant-Csrf header", {},
                                      "the web UI sends it; scripts use an API key");
            return false;
        }
        double retry = 0;
        if (!key_limit_.take(key, retry)) {
            metrics_.rate_limited("key");
            retry_after(ex, retry);
            ex.problem = make_problem(429, "rate-limited", "too many requests for this session");
            return false;
        }
        return true;
    }
    if (!req.has_header("Authorization")) {
        ex.res.set_header("WWW-Authenticate", "Bearer");
        ex.problem = make_problem(401, "unauthenticated", "an API key is required", {},
                                  "Authorization: Bearer <key from quant.create_api_key>");
        return false;
    }
    double retry = 0;
    if (auth_failures_.exhausted(req.remote_addr, retry)) {
        metrics_.rate_limited("auth");
        retry_after(ex, retry);
        ex.problem = make_problem(429, "rate-limited", "too many failed authentications from this address");
        return false;
    }
    key = bearer_key(req.header("Authorization"));
    if (key.empty() || !well_formed_key(key)) {
        auth_failures_.take(req.remote_addr, retry);
        ex.res.set_header("WWW-Authenticate", key.empty() ? "Bearer" : "Bearer error=\"invalid_token\"");
        ex.problem = key.empty() ? make_problem(401, "unauthenticated",
                                                "the Authorization header is not \"Bearer <key>\"", {},
                                                "Authorization: Bearer <key from quant.create_api_key>")
                                 : make_problem(401, "unauthenticated",
                                                "the API key is not valid (unknown, wrong or revoked)");
        return false;
    }
    if (!key_limit_.take(key, retry)) {
        metrics_.rate_limited("key");
        retry_after(ex, retry);
        ex.problem = make_problem(429, "rate-limited", "too many requests for this API key");
        return false;
    }
    return true;
}

// 2. the id: a UUID, else no such object (the same answer as another user's object); a key
// placeholder ({internal_cusip}) is any segment up to max_path_key_bytes
bool Api::check_id(Exchange& ex, const Route& route, const std::string& id) {
    if (route.path.find("{id}") != std::string::npos) {
        if (is_uuid(id))
            return true;
        ex.problem = make_problem(404, "not-found", "no object has the id \"" + id.substr(0, 64) + "\"", "id",
                                  "ids are UUIDs");
        return false;
    }
    constexpr std::size_t max_path_key_bytes = 128;
    if (route.path.find('{') == std::string::npos ||
        (id.size() <= max_path_key_bytes && id.find('%') == std::string::npos))
        return true;
    ex.problem = make_problem(404, "not-found", "no object has the key \"" + id.substr(0, 64) + "\"");
    return false;
}

// 3. the body (NaN, Infinity, -Infinity read as null): nesting limits before anything is built from it (its
// size is the transport's), and the stricter limit on switches to live
bool Api::read_body(Exchange& ex, const Route& route, const std::string& key, Call& call) {
    if (!route.has_body())
        return true;
    // Python's json.dumps (the user's pipeline) writes NaN for an undefined metric: read as null
    call.body = non_finite_to_null(ex.req.body);
    try {
        call.doc = parse_json(call.body, JsonLimits{config_.limits.max_body_bytes, config_.max_json_depth});
    } catch (const Error& e) {
        if (e.code() == ErrorCode::limit_exceeded) {
            ex.problem = make_problem(413, "limit-exceeded", e.what());
        } else if (e.code() == ErrorCode::malformed_json) {
            ex.problem =
                make_problem(400, "malformed", call.body.empty() ? "a JSON body is required" : e.what());
        } else {
            ex.problem = make_problem(422, "invalid-value", e.what(), e.field(), e.hint());
        }
        return false;
    }
    if (!call.doc.is_object()) {
        ex.problem = make_problem(400, "malformed", "the body must be a JSON object");
        return false;
    }
    if (route.live_switch) {
        const auto it = call.doc.find("paper");
        double retry = 0;
        if (it != call.doc.end() && it->is_boolean() && !it->get<bool>() && !live_limit_.take(key, retry)) {
            metrics_.rate_limited("live");
            retry_after(ex, retry);
            ex.problem = make_problem(429, "rate-limited", "too many requests to trade live for this API key",
                                      "paper");
            return false;
        }
    }
    return true;
}

// 4. the parameters, in the route's order; unknown members and query names are refused
bool Api::bind_params(Exchange& ex, const Route& route, Call& call) {
    bool envelope = false;
    for (const auto& p : route.params) {
        switch (p.source) {
            case Source::path_id:
                call.present.push_back(&p);
                call.values.emplace_back(ex.id);
                break;
            case Source::body:
                call.present.push_back(&p);
                call.values.emplace_back(std::move(call.body));
                break;
            case Source::body_field: {
                envelope = true;
                const auto it = call.doc.find(p.name);
                if (it == call.doc.end() || it->is_null()) {
                    if (p.required) {
                        ex.problem = make_problem(422, "invalid-value", p.name + ": is required", p.name,
                                                  p.description);
                        return false;
                    }
                    break;
                }
                std::string text;
                if (!member_text(*it, p.type, text)) {
                    ex.problem =
                        make_problem(422, "invalid-value",
                                     p.name + ": must be " + type_name(p.type) + ", got " + it->type_name(),
                                     p.name, p.description);
                    return false;
                }
                call.present.push_back(&p);
                call.values.emplace_back(std::move(text));
                break;
            }
            case Source::query: {
                const std::string* v = ex.req.param(p.name);
                if (v == nullptr && p.required) {
                    ex.problem =
                        make_problem(400, "malformed", p.name + ": is required", p.name, p.description);
                    return false;
                }
                if (v == nullptr)
                    break;
                if (p.type == JsonType::boolean && *v != "true" && *v != "false") {
                    ex.problem = make_problem(400, "malformed", p.name + ": must be true or false", p.name);
                    return false;
                }
                call.present.push_back(&p);
                call.values.emplace_back(*v);
                break;
            }
        }
    }
    if (envelope) {
        for (const auto& [k, v] : call.doc.items()) {
            const bool known = std::any_of(
                route.params.begin(), route.params.end(),
                [&k = k](const Param& p) { return p.source == Source::body_field && p.name == k; });
            if (!known) {
                std::string names;
                for (const auto& p : route.params) {
                    if (p.source == Source::body_field)
                        names += (names.empty() ? "" : ", ") + p.name;
                }
                ex.problem = make_problem(422, "invalid-value", k.substr(0, 64) + ": unknown member",
                                          k.substr(0, 64), "members: " + names);
                return false;
            }
        }
    }
    for (const auto& kv : ex.req.params) {
        const bool known = std::any_of(route.params.begin(), route.params.end(), [&kv](const Param& p) {
            return p.source == Source::query && p.name == kv.first;
        });
        if (!known) {
            ex.problem = make_problem(400, "malformed", kv.first.substr(0, 64) + ": unknown query parameter",
                                      kv.first.substr(0, 64));
            return false;
        }
    }
    return true;
}

// 5. one transaction as the key's user; a long route first takes one of its key's places
void Api::run_call(Exchange& ex, const Route& route, const std::string& key, Call& call) {
    auto& res = ex.res;
    const ConcurrencyCap::Ticket ticket =
        route.long_running ? long_cap_.enter(key) : ConcurrencyCap::Ticket{};
    if (route.long_running) {
        if (!ticket) {
            metrics_.rate_limited("long");
            res.set_header("Retry-After", "5");
            ex.problem = make_problem(429, "rate-limited",
                                      "this API key already runs " + std::to_string(config_.long_per_key) +
                                          " long requests (optimize, walk_forward); wait for one to finish");
            return;
        }
    }
    // the primary or a standby (replica.hpp)
    const int timeout = route.long_running ? config_.long_statement_timeout_ms : config_.statement_timeout_ms;
    PoolChoice choice;
    CallResult r =
        router_.call(route, ex.req, key, timeout, call_sql(route, call.present), call.values, choice);
    ReplicaRouter::set_headers(choice, res);
    if (choice.no_connection) {
        ex.detail_for_log = choice.why;
        res.set_header("Retry-After", "1");
        ex.problem = make_problem(503, "unavailable", "no database connection is available; retry later");
        return;
    }
    switch (r.kind) {
        case CallResult::Kind::ok: {
            ex.user = r.user;
            std::string out;
            if (route.shape == Shape::one) {
                out = r.rows.empty() ? "null" : std::move(r.rows.front());
            } else {
                std::size_t n = 2;
                for (const auto& row : r.rows)
                    n += row.size() + 1;
                out.reserve(n);
                out += '[';
                for (std::size_t i = 0; i < r.rows.size(); ++i) {
                    if (i > 0)
                        out += ',';
                    out += r.rows[i];
                }
                out += ']';
            }
            res.status = route.status;
            res.set_header("Cache-Control", "no-store");
            res.set_content(std::move(out), "application/json");
            return;
        }
        case CallResult::Kind::unauthenticated: {
            double ignored = 0;
            auth_failures_.take(ex.req.remote_addr, ignored);
            if (key.rfind("qs_", 0) == 0) {
                res.set_header("Set-Cookie", session_set_cookie("", 0, !config_.tls_cert.empty()));
                ex.problem = make_problem(401, "unauthenticated", "the session has expired or ended", {},
                                          "log in again (POST /api/v1/session)");
                return;
            }
            res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
            ex.problem =
                make_problem(401, "unauthenticated", "the API key is not valid (unknown, wrong or revoked)");
            return;
        }
        case CallResult::Kind::sql_error:
            ex.user = r.user;
            ex.problem = problem_from_sql(r.error);
            ex.detail_for_log = r.error.sqlstate + " " + r.error.message;
            if (ex.problem.status == 503)
                res.set_header("Retry-After", "1");
            return;
        case CallResult::Kind::unavailable:
            ex.detail_for_log = r.error.message;
            res.set_header("Retry-After", "1");
            ex.problem = make_problem(503, "unavailable", "the database is unavailable; retry later");
            return;
    }
}

void Api::finish(Exchange& ex) {
    auto& res = ex.res;
    if (ex.request_id.empty())
        ex.request_id = request_id_of(ex.req);
    res.set_header("X-Request-Id", ex.request_id);
    if (!config_.cors_origin.empty()) {
        res.set_header("Access-Control-Allow-Origin", config_.cors_origin);
        res.set_header("Vary", "Origin");
    }
    if (ex.problem.status != 0) {
        res.status = ex.problem.status;
        res.set_content(problem_json(ex.problem, ex.request_id, ex.req.path), "application/problem+json");
        metrics_.error(ex.problem.type);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - ex.start).count();
    metrics_.observe(ex.route_label, res.status, seconds);
    if (!config_.access_log)
        return;
    // The access log: one line of the JSON-lines log (the worker's), escaping whatever the path holds.
    const auto or_null = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
    Json fields = {{"request_id", ex.request_id},
                   {"addr", or_null(ex.req.remote_addr)},
                   {"user", or_null(ex.user)},
                   {"method", or_null(ex.req.method)},
                   {"path", or_null(ex.req.path.substr(0, 200))},
                   {"status", res.status},
                   {"bytes", res.body.size()},
                   {"ms", std::round(seconds * 1e6) / 1e3}};
    if (!ex.detail_for_log.empty())
        fields["reason"] = ex.detail_for_log.substr(0, 300);
    const pq::Level level = res.status == 500  ? pq::Level::error
                            : res.status > 500 ? pq::Level::warn
                                               : pq::Level::info;
    pq::log_event(level, "request", fields);
}

}  // namespace quant::http
