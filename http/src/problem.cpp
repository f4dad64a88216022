#include "problem.hpp"

#include <array>
#include <nlohmann/json.hpp>

namespace quant::http {

namespace {

struct Mapping {
    const char* sqlstate;  // five characters, or a two-character class
    int status;
    const char* type;
    const char* title;
    bool pass_message;  // the message is meant for the caller (quant's functions write them so)
};

// The one table. Exact states first, then classes. quant's own functions raise only the
// states listed in sql/README.md ("Errors"); the rest come from PostgreSQL itself.
constexpr std::array kTable{
    Mapping{"22P02", 400, "malformed", "Malformed input", true},            // malformed JSON / text
    Mapping{"22P05", 400, "malformed", "Malformed input", true},            // \u0000 in JSON text
    Mapping{"22004", 400, "null-value", "Missing value", true},             // NULL argument
    Mapping{"22007", 400, "malformed", "Malformed input", true},            // bad datetime
    Mapping{"22008", 400, "malformed", "Malformed input", true},            // datetime out of range
    Mapping{"22023", 422, "invalid-value", "Invalid value", true},          // a field's value
    Mapping{"22000", 422, "insufficient-data", "Insufficient data", true},  // data exception
    Mapping{"22003", 422, "invalid-value", "Invalid value", true},          // numeric out of range
    Mapping{"54000", 413, "limit-exceeded", "Limit exceeded", true},        // grid or document too big
    Mapping{"P0002", 404, "not-found", "Not found", true},                  // also another user's object
    Mapping{"QA001", 404, "not-found", "Not found", true},                  // a ticker without bars
    Mapping{"QA002", 422, "insufficient-data", "Insufficient data", true},  // too few bars
    Mapping{"QA003", 422, "invalid-value", "Invalid value", true},          // a bad argument (core)
    Mapping{"28000", 401, "unauthenticated", "Unauthenticated", false},     // no current user
    Mapping{"42501", 403, "forbidden", "Forbidden", true},                  // the live gate refused
    Mapping{"55000", 409, "conflict", "Conflict", true},                    // wrong state (stopped)
    Mapping{"55006", 409, "conflict", "Conflict", true},                    // object in use
    Mapping{"40001", 409, "conflict", "Conflict", false},                   // serialization failure: retry
    Mapping{"40P01", 409, "conflict", "Conflict", false},                   // deadlock: retry
    Mapping{"57014", 503, "timeout", "Request timed out or cancelled", false},
    Mapping{"25006", 503, "read-only", "Database is read-only", false},  // a write reached a standby
    Mapping{"42883", 503, "unavailable", "Not available", false},        // function not installed
    Mapping{"53", 503, "unavailable", "Service unavailable", false},     // insufficient resources
    Mapping{"57", 503, "unavailable", "Service unavailable", false},     // shutdown, crash
    Mapping{"08", 503, "unavailable", "Service unavailable", false},     // connection
    Mapping{"22", 400, "malformed", "Malformed input", true},            // other data exceptions
    Mapping{"23", 409, "conflict", "Conflict", false},                   // integrity
};

const char* default_detail(int status) {
    switch (status) {
        case 401:
            return "a valid API key is required: Authorization: Bearer <key>";
        case 409:
            return "the request conflicts with a concurrent change; retry";
        case 503:
            return "the service cannot answer now; retry later";
        default:
            return "internal error";
    }
}

}  // namespace

Problem problem_from_sql(const SqlError& err) {
    const Mapping* found = nullptr;
    for (const auto& m : kTable) {
        const std::string_view key = m.sqlstate;
        if (key.size() == 5 ? err.sqlstate == key : std::string_view(err.sqlstate).substr(0, 2) == key) {
            found = &m;
            break;
        }
    }
    Problem p;
    if (err.sqlstate.empty()) {  // connection lost
        p = make_problem(503, "unavailable", default_detail(503));
        return p;
    }
    if (found == nullptr) {
        p = make_problem(500, "internal", default_detail(500));
        return p;
    }
    p.status = found->status;
    p.type = found->type;
    p.title = found->title;
    if (found->pass_message) {
        p.detail = err.message;
        p.field = err.column;
        p.hint = err.hint;
    } else {
        p.detail = err.sqlstate == "57014" ? "the request took longer than its time limit and was cancelled"
                   : err.sqlstate == "25006"
                       ? "the database refused to write: it is read-only (a hot standby, or a primary being "
                         "replaced after a failover); nothing was changed, retry later"
                       : default_detail(found->status);
    }
    return p;
}

Problem make_problem(int status, std::string_view type, std::string detail, std::string field,
                     std::string hint) {
    Problem p;
    p.status = status;
    p.type = std::string(type);
    switch (status) {
        case 400:
            p.title = "Bad request";
            break;
        case 401:
            p.title = "Unauthenticated";
            break;
        case 403:
            p.title = "Forbidden";
            break;
        case 404:
            p.title = "Not found";
            break;
        case 405:
            p.title = "Method not allowed";
            break;
        case 409:
            p.title = "Conflict";
            break;
        case 413:
            p.title = "Content too large";
            break;
        case 422:
            p.title = "Invalid value";
            break;
        case 429:
            p.title = "Too many requests";
            break;
        case 503:
            p.title = "Service unavailable";
            break;
        default:
            p.title = "Internal error";
            break;
    }
    p.detail = std::move(detail);
    p.field = std::move(field);
    p.hint = std::move(hint);
    return p;
}

std::string problem_json(const Problem& p, const std::string& request_id, const std::string& instance) {
    nlohmann::json j = {
        {"type", "https://quant.local/problems/" + p.type},
        {"title", p.title},
        {"status", p.status},
        {"detail", p.detail},
        {"instance", instance},
        {"request_id", request_id},
    };
    if (!p.field.empty())
        j["field"] = p.field;
    if (!p.hint.empty())
        j["hint"] = p.hint;
    // Replace invalid UTF-8 (a message may quote the caller's bytes) instead of throwing.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace quant::http
