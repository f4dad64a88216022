// People's sessions (the web UI): POST /api/v1/session checks a user name and password in SQL
// (quant.login_person) and sets an HttpOnly SameSite=Strict cookie holding the session's token;
// later requests without an Authorization header log in with that cookie (quant.login_session,
// in the request's own transaction, exactly as an API key). Mutations by cookie need the custom
// header X-Quant-Csrf (a cross-site form cannot send one; CORS is off by default), on top of
// SameSite=Strict. DELETE /api/v1/session ends the session (logout).
#pragma once

#include <string>
#include <string_view>

#include "message.hpp"
#include "pool.hpp"
#include "problem.hpp"

namespace quant::http {

inline constexpr std::string_view kSessionCookie = "quant_session";
inline constexpr std::string_view kCsrfHeader = "X-Quant-Csrf";

// The session cookie's value in a Cookie header, or empty.
std::string session_cookie(std::string_view cookie_header);

// The shape quant.login_person makes: "qs_" + 32 lowercase hex digits + "_" + 43 base64url.
bool well_formed_session(std::string_view token);

// Whether a request by cookie may run: safe methods always, others only with the CSRF header.
bool csrf_ok(const Request& req);

// The Set-Cookie value for a token (max_age_s 0 and an empty token: the cookie is cleared).
std::string session_set_cookie(const std::string& token, long max_age_s, bool secure);

struct SessionOutcome {
    Problem problem;            // status 0: done
    std::string user;           // who logged in (or out)
    bool failed_login = false;  // a wrong user name or password (counts against the address)
};

// POST /api/v1/session {"user", "password"}: 200 {"user", "expires_at"} and the cookie, or a problem.
SessionOutcome session_login(Pool& pool, int wait_ms, bool secure, const Request& req, Response& res);

// DELETE /api/v1/session: ends the cookie's session (if any) and clears the cookie.
SessionOutcome session_logout(Pool& pool, int wait_ms, bool secure, const Request& req, Response& res);

}  // namespace quant::http
