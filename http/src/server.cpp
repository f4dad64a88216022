#include "server.hpp"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include "openapi.hpp"
#include "problem.hpp"
#include "quant/error.hpp"
#include "quant/json.hpp"
#include "routes.hpp"

namespace quant::http {

namespace {

using Clock = std::chrono::steady_clock;

bool is_uuid(std::string_view s) {
    if (s.size() != 36)
        return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return true;
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
std::string request_id_of(const httplib::Request& req) {
    const std::string given = req.get_header_value("X-Request-Id");
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

void log_line(const char* fmt, const std::string& a, const std::string& b) {
    std::fprintf(stderr, fmt, a.c_str(), b.c_str());
}

std::string utc_now() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

}  // namespace

// One request in flight: what the handler learned, for the response, log and metrics.
struct Api::Exchange {
    Exchange(const httplib::Request& rq, httplib::Response& rs, const httplib::ContentReader* rd)
        : req(rq), res(rs), reader(rd) {}
    const httplib::Request& req;
    httplib::Response& res;
    const httplib::ContentReader* reader;
    Clock::time_point start = Clock::now();
    std::string request_id;
    std::string route_label = "unmatched";
    std::string user = "-";
    Problem problem;  // status 0: none
    std::string detail_for_log;
};

Api::Api(const Config& config, Pool& pool)
    : config_(config),
      pool_(pool),
      key_limit_(config.rate_per_s, config.rate_burst),
      live_limit_(config.live_rate_per_min / 60.0, config.live_burst),
      openapi_(openapi_document()) {}

void Api::install(httplib::Server& svr) {
    auto plain = [this](const httplib::Request& req, httplib::Response& res) {
        Exchange ex{req, res, nullptr};
        handle(ex);
        finish(ex);
    };
    auto with_body = [this](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) {
        Exchange ex{req, res, &reader};
        handle(ex);
        finish(ex);
    };
    // One catch-all per method: dispatch is ours (routes.cpp), so 404 and 405 are told apart.
    svr.Get(".*", plain);
    svr.Delete(".*", plain);
    svr.Post(".*", with_body);
    svr.Put(".*", with_body);
    svr.Patch(".*", with_body);
    svr.Options(".*", [this](const httplib::Request& req, httplib::Response& res) {
        if (!config_.cors_origin.empty()) {
            res.status = 204;
            res.set_header("Access-Control-Allow-Origin", config_.cors_origin);
            res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
            res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id");
            res.set_header("Access-Control-Max-Age", "600");
        } else {
            Exchange ex{req, res, nullptr};
            ex.problem = make_problem(405, "method-not-allowed", "OPTIONS: CORS is off on this server");
            finish(ex);
        }
    });
    // Errors cpp-httplib answers itself (bad request line or headers, a body over the payload
    // limit, a method it does not know): problem+json too.
    svr.set_error_handler(
        httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty())
                return httplib::Server::HandlerResponse::Unhandled;
            Exchange ex{req, res, nullptr};
            const int status = res.status;
            if (status == 413) {
                ex.problem = make_problem(
                    413, "limit-exceeded",
                    "the body is over the limit of " + std::to_string(config_.max_body_bytes) + " bytes");
            } else if (status == 404) {
                ex.problem = make_problem(404, "not-found", "no such route");
            } else {
                ex.problem = make_problem(status >= 400 && status < 600 ? status : 400, "malformed",
                                          "the request could not be read");
                ex.problem.title = status == 400 ? "Bad request" : ex.problem.title;
            }
            finish(ex);
            return httplib::Server::HandlerResponse::Handled;
        }));
    svr.set_exception_handler(
        [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
            Exchange ex{req, res, nullptr};
            try {
                if (ep)
                    std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                ex.detail_for_log = e.what();
            } catch (...) {
                ex.detail_for_log = "unknown exception";
            }
            ex.problem = make_problem(500, "internal", "internal error");
            finish(ex);
        });
}

void Api::handle(Exchange& ex) {
    ++in_flight_;
    struct Done {
        std::atomic<int>& n;
        ~Done() { --n; }
    } done{in_flight_};
    const auto& req = ex.req;
    auto& res = ex.res;
    ex.request_id = request_id_of(req);

    std::string id;
    bool path_known = false;
    std::string allowed;
    const Route* route = match_route(req.method, req.path, id, path_known, allowed);
    if (route == nullptr) {
        if (path_known) {
            res.set_header("Allow", allowed);
            ex.problem = make_problem(405, "method-not-allowed", req.method + " is not allowed here", {},
                                      "allowed: " + allowed);
        } else {
            ex.problem =
                make_problem(404, "not-found", "no such route", {}, "GET /api/v1/openapi.json lists them");
        }
        return;
    }
    ex.route_label = route->method + " " + route->path;

    switch (route->builtin) {
        case Builtin::healthz:
            res.status = 200;
            res.set_content(R"({"status":"ok"})", "application/json");
            return;
        case Builtin::readyz: {
            std::string why;
            auto lease = pool_.acquire(std::chrono::milliseconds(config_.pool_wait_ms), why);
            if (!lease || !lease->ping()) {
                ex.detail_for_log = why;
                ex.problem = make_problem(503, "unavailable", "the database is not reachable");
                return;
            }
            res.status = 200;
            res.set_content(R"({"status":"ready"})", "application/json");
            return;
        }
        case Builtin::metrics:
            res.status = 200;
            res.set_content(metrics_.render(pool_.size(), pool_.in_use(), in_flight_.load()),
                            "text/plain; version=0.0.4; charset=utf-8");
            return;
        case Builtin::openapi:
            res.status = 200;
            res.set_content(openapi_, "application/json");
            return;
        case Builtin::none:
            break;
    }

    // 1. who: the key (checked in SQL, in the request's own transaction)
    const std::string key = bearer_key(req.get_header_value("Authorization"));
    if (key.empty()) {
        res.set_header("WWW-Authenticate", "Bearer");
        ex.problem =
            make_problem(401, "unauthenticated",
                         req.has_header("Authorization") ? "the Authorization header is not \"Bearer <key>\""
                                                         : "an API key is required",
                         {}, "Authorization: Bearer <key from quant.create_api_key>");
        return;
    }
    double retry = 0;
    if (!key_limit_.take(key, retry)) {
        metrics_.rate_limited("key");
        res.set_header("Retry-After", std::to_string(static_cast<long>(retry) + 1));
        ex.problem = make_problem(429, "rate-limited", "too many requests for this API key");
        return;
    }
    // 2. the id: a UUID, else no such object (the same answer as another user's object)
    if (route->path.find("{id}") != std::string::npos && !is_uuid(id)) {
        ex.problem = make_problem(404, "not-found", "no object has the id \"" + id.substr(0, 64) + "\"", "id",
                                  "ids are UUIDs");
        return;
    }
    // 3. the body: size and nesting limits before anything is built from it
    std::string body;
    Json doc;
    if (route->has_body()) {
        bool too_large = false;
        bool read_ok = true;
        if (ex.reader != nullptr) {
            read_ok = (*ex.reader)([&](const char* data, size_t len) {
                if (body.size() + len > config_.max_body_bytes) {
                    too_large = true;
                    return false;
                }
                body.append(data, len);
                return true;
            });
        }
        if (!read_ok && !too_large && res.status != 413) {
            res.set_header("Connection", "close");
            ex.problem = make_problem(400, "malformed", "the body could not be read");
            return;
        }
        if (too_large || res.status == 413) {       // 413: cpp-httplib saw a Content-Length over the limit
            res.set_header("Connection", "close");  // the rest of the body is not read
            ex.problem = make_problem(
                413, "limit-exceeded",
                "the body is over the limit of " + std::to_string(config_.max_body_bytes) + " bytes");
            return;
        }
        try {
            doc = parse_json(body, JsonLimits{config_.max_body_bytes, config_.max_json_depth});
        } catch (const Error& e) {
            if (e.code() == ErrorCode::limit_exceeded) {
                ex.problem = make_problem(413, "limit-exceeded", e.what());
            } else if (e.code() == ErrorCode::malformed_json) {
                ex.problem =
                    make_problem(400, "malformed", body.empty() ? "a JSON body is required" : e.what());
            } else {
                ex.problem = make_problem(422, "invalid-value", e.what(), e.field(), e.hint());
            }
            return;
        }
        if (!doc.is_object()) {
            ex.problem = make_problem(400, "malformed", "the body must be a JSON object");
            return;
        }
        if (route->live_switch) {
            const auto it = doc.find("paper");
            if (it != doc.end() && it->is_boolean() && !it->get<bool>() && !live_limit_.take(key, retry)) {
                metrics_.rate_limited("live");
                res.set_header("Retry-After", std::to_string(static_cast<long>(retry) + 1));
                ex.problem = make_problem(429, "rate-limited",
                                          "too many requests to trade live for this API key", "paper");
                return;
            }
        }
    }
    // 4. the parameters, in the route's order; unknown members and query names are refused
    std::vector<const Param*> present;
    std::vector<std::optional<std::string>> values;
    bool envelope = false;
    for (const auto& p : route->params) {
        switch (p.source) {
            case Source::path_id:
                present.push_back(&p);
                values.emplace_back(id);
                break;
            case Source::body:
                present.push_back(&p);
                values.emplace_back(std::move(body));
                break;
            case Source::body_field: {
                envelope = true;
                const auto it = doc.find(p.name);
                if (it == doc.end() || it->is_null()) {
                    if (p.required) {
                        ex.problem = make_problem(422, "invalid-value", p.name + ": is required", p.name,
                                                  p.description);
                        return;
                    }
                    break;
                }
                std::string text;
                if (!member_text(*it, p.type, text)) {
                    ex.problem =
                        make_problem(422, "invalid-value",
                                     p.name + ": must be " + type_name(p.type) + ", got " + it->type_name(),
                                     p.name, p.description);
                    return;
                }
                present.push_back(&p);
                values.emplace_back(std::move(text));
                break;
            }
            case Source::query: {
                if (!req.has_param(p.name))
                    break;
                std::string v = req.get_param_value(p.name);
                if (p.type == JsonType::boolean && v != "true" && v != "false") {
                    ex.problem = make_problem(400, "malformed", p.name + ": must be true or false", p.name);
                    return;
                }
                present.push_back(&p);
                values.emplace_back(std::move(v));
                break;
            }
        }
    }
    if (envelope) {
        for (const auto& [k, v] : doc.items()) {
            bool known = false;
            for (const auto& p : route->params)
                known = known || (p.source == Source::body_field && p.name == k);
            if (!known) {
                std::string names;
                for (const auto& p : route->params) {
                    if (p.source == Source::body_field)
                        names += (names.empty() ? "" : ", ") + p.name;
                }
                ex.problem = make_problem(422, "invalid-value", k.substr(0, 64) + ": unknown member",
                                          k.substr(0, 64), "members: " + names);
                return;
            }
        }
    }
    for (const auto& [k, v] : req.params) {
        bool known = false;
        for (const auto& p : route->params)
            known = known || (p.source == Source::query && p.name == k);
        if (!known) {
            ex.problem = make_problem(400, "malformed", k.substr(0, 64) + ": unknown query parameter",
                                      k.substr(0, 64));
            return;
        }
    }
    // 5. one transaction as the key's user
    std::string why;
    auto lease = pool_.acquire(std::chrono::milliseconds(config_.pool_wait_ms), why);
    if (!lease) {
        ex.detail_for_log = why;
        res.set_header("Retry-After", "1");
        ex.problem = make_problem(503, "unavailable", "no database connection is available; retry later");
        return;
    }
    const int timeout =
        route->long_running ? config_.long_statement_timeout_ms : config_.statement_timeout_ms;
    CallResult r = lease->call(key, timeout, call_sql(*route, present), values);
    switch (r.kind) {
        case CallResult::Kind::ok: {
            ex.user = r.user;
            std::string out;
            if (route->shape == Shape::one) {
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
            res.status = route->status;
            res.set_header("Cache-Control", "no-store");
            res.set_content(std::move(out), "application/json");
            return;
        }
        case CallResult::Kind::unauthenticated:
            res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
            ex.problem =
                make_problem(401, "unauthenticated", "the API key is not valid (unknown, wrong or revoked)");
            return;
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
    if (config_.access_log) {
        char tail[160];
        std::snprintf(tail, sizeof tail, " %d %zu %.3fms", res.status, res.body.size(), seconds * 1000.0);
        std::string line = utc_now() + " " + ex.request_id + " " + ex.req.remote_addr + " " + ex.user + " " +
                           ex.req.method + " " + ex.req.path.substr(0, 200) + tail;
        if (!ex.detail_for_log.empty())
            line += " (" + ex.detail_for_log.substr(0, 300) + ")";
        for (auto& c : line) {
            if (static_cast<unsigned char>(c) < 0x20)
                c = ' ';  // one line per request, whatever the path holds
        }
        log_line("%s%s\n", line, "");
    }
}

}  // namespace quant::http
