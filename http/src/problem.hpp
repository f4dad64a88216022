// Errors as RFC 9457 problem details (application/problem+json), and the one table that maps
// a SQLSTATE to an HTTP status.
#pragma once

#include <string>
#include <string_view>

#include "quant/pq/error.hpp"

namespace quant::http {

// An error from the SQL API, as libpq reports it (the one SQL error type, from pq/).
using SqlError = quant::pq::SqlError;

struct Problem {
    int status = 0;    // 0: no problem
    std::string type;  // a stable slug, e.g. "invalid-value"; the document's type is a URI of it
    std::string title;
    std::string detail;
    std::string field;
    std::string hint;
};

// The one SQLSTATE -> HTTP table. Unknown states are 500 with a generic detail (the real
// message goes to the log only: never SQL text or internals to the client).
Problem problem_from_sql(const SqlError& err);

// A problem raised by the REST layer itself (status and slug from the same vocabulary).
Problem make_problem(int status, std::string_view type, std::string detail, std::string field = {},
                     std::string hint = {});

// The problem+json document.
std::string problem_json(const Problem& p, const std::string& request_id, const std::string& instance);

}  // namespace quant::http
