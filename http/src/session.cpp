#include "session.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>

#include "quant/error.hpp"
#include "quant/json.hpp"

namespace quant::http {

namespace {

using nlohmann::json;

bool base64url(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

// The lease or a 503 problem.
Problem no_connection() {
    return make_problem(503, "unavailable", "no database connection is available; retry later");
}

}  // namespace

std::string session_cookie(std::string_view h) {
    while (!h.empty()) {
        const auto semi = h.find(';');
        const std::string_view pair = trim(h.substr(0, semi));
        h = semi == std::string_view::npos ? std::string_view{} : h.substr(semi + 1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || pair.substr(0, eq) != kSessionCookie)
            continue;
        const std::string_view value = pair.substr(eq + 1);
        return well_formed_session(value) ? std::string(value) : std::string();
    }
    return {};
}

bool well_formed_session(std::string_view t) {
    constexpr std::size_t kHex = 32;
    constexpr std::size_t kSecret = 43;
    if (t.size() != 3 + kHex + 1 + kSecret || t.substr(0, 3) != "qs_" || t[3 + kHex] != '_')
        return false;
    const auto hex = t.substr(3, kHex);
    const auto secret = t.substr(3 + kHex + 1);
    return std::all_of(hex.begin(), hex.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }) &&
           std::all_of(secret.begin(), secret.end(), base64url);
}

bool csrf_ok(const Request& req) {
    return req.method == "GET" || req.method == "HEAD" || !req.header(kCsrfHeader).empty();
}

std::string session_set_cookie(const std::string& token, long max_age_s, bool secure) {
    std::string c = std::string(kSessionCookie) + "=" + token +
                    "; Path=/; Max-Age=" + std::to_string(max_age_s) + "; HttpOnly; SameSite=Strict";
    if (secure)
        c += "; Secure";
    return c;
}

SessionOutcome session_login(Pool& pool, int wait_ms, bool secure, const Request& req, Response& res) {
    SessionOutcome out;
    json body;
    try {
        body = parse_json(req.body, JsonLimits{4096, 4});
    } catch (const Error& e) {
        out.problem = make_problem(400, "malformed", req.body.empty() ? "a JSON body is required" : e.what(),
                                   {}, R"(send {"user": "<name>", "password": "<password>"})");
        return out;
    }
    for (const char* name : {"user", "password"}) {
        const auto it = body.is_object() ? body.find(name) : body.end();
        if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
            out.problem = make_problem(422, "invalid-value", std::string(name) + ": is required (a string)",
                                       name, R"(send {"user": "<name>", "password": "<password>"})");
            return out;
        }
    }
    std::string why;
    auto lease = pool.acquire(std::chrono::milliseconds(wait_ms), why);
    if (!lease) {
        out.problem = no_connection();
        return out;
    }
    CallResult r = lease->call_public("SELECT quant.login_person($1, $2)::text",
                                      {body["user"].get<std::string>(), body["password"].get<std::string>()});
    if (r.kind != CallResult::Kind::ok || r.rows.size() != 1) {
        out.problem = r.kind == CallResult::Kind::sql_error ? problem_from_sql(r.error) : no_connection();
        return out;
    }
    const json answer = json::parse(r.rows.front());
    if (!answer.value("ok", false)) {
        out.failed_login = true;
        if (answer.value("reason", "") == "locked") {
            out.problem =
                make_problem(429, "rate-limited",
                             "this login is locked after too many wrong passwords, until " +
                                 answer.value("locked_until", std::string("later")),
                             "password", "wait until then, or ask an administrator to reset the password");
        } else {
            out.problem =
                make_problem(401, "unauthenticated", "the user name or password is wrong", "password",
                             "5 wrong passwords in a row lock the login for 15 minutes");
        }
        return out;
    }
    out.user = answer.value("user", "");
    res.status = 200;
    res.set_header("Set-Cookie",
                   session_set_cookie(answer.value("token", ""), answer.value("max_age_s", 0L), secure));
    res.set_header("Cache-Control", "no-store");
    res.set_content(json{{"user", out.user}, {"expires_at", answer.value("expires_at", "")}}.dump(),
                    "application/json");
    return out;
}

SessionOutcome session_logout(Pool& pool, int wait_ms, bool secure, const Request& req, Response& res) {
    SessionOutcome out;
    if (!csrf_ok(req)) {
        out.problem =
            make_problem(403, "forbidden", "a request by session cookie must send the X-Quant-Csrf header",
                         {}, "the web UI sends it; scripts use an API key");
        return out;
    }
    const std::string token = session_cookie(req.header("Cookie"));
    bool ended = false;
    if (!token.empty()) {
        std::string why;
        auto lease = pool.acquire(std::chrono::milliseconds(wait_ms), why);
        if (!lease) {
            out.problem = no_connection();
            return out;
        }
        CallResult r = lease->call_public("SELECT quant.logout_session($1)::text", {token});
        ended = r.kind == CallResult::Kind::ok && r.rows.size() == 1 && r.rows.front() == "true";
    }
    res.status = 200;
    res.set_header("Set-Cookie", session_set_cookie("", 0, secure));
    res.set_header("Cache-Control", "no-store");
    res.set_content(json{{"logged_out", ended}}.dump(), "application/json");
    return out;
}

}  // namespace quant::http
