// The one route table: method, path pattern, the SQL function (or catalog view) it calls, its
// parameters and the success status. The server dispatches on it and the OpenAPI document is
// built from it, so the two cannot drift apart.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace quant::http {

enum class Source {
    path_id,     // the {id} segment: a UUID
    body,        // the whole JSON body (an object)
    body_field,  // one member of the JSON body (an envelope such as {"config": .., "grid": ..})
    query,       // a query-string parameter
};

enum class JsonType { object, array_or_object, number, integer, string, boolean };

struct Param {
    std::string name;      // the SQL argument name; also the JSON member / query name
    std::string sql_type;  // the cast applied to the text parameter
    Source source;
    JsonType type;
    bool required;
    std::string description;
};

enum class Shape {
    one,    // the function returns one jsonb
    set,    // SETOF jsonb: answered as a JSON array, in the function's order
    rows,   // a relation (catalog view): each row as to_jsonb, answered as an array
    table,  // a function RETURNS TABLE: each row as to_jsonb, answered as an array
};

// The operations routes (no key) and the session routes. /metrics is not one: it has its own
// address (Api::serve_metrics).
enum class Builtin { none, healthz, readyz, openapi, session_login, session_logout };

struct Route {
    std::string method{};  // GET POST PUT PATCH DELETE
    std::string path{};    // OpenAPI form: /api/v1/strategies/{id}
    std::string target{};  // quant.get_strategy, or refdata.indicator for Shape::rows
    Shape shape = Shape::one;
    int status = 200;
    std::vector<Param> params{};
    std::string summary{};
    std::string tag{};
    std::string request_schema{};   // components/schemas name of the body, empty when none
    std::string response_schema{};  // of the result (of each element for set/rows)
    bool long_running = false;      // the longer statement_timeout (grid searches)
    bool live_switch = false;       // a body with "paper": false takes the stricter rate limit
    Builtin builtin = Builtin::none;
    bool authenticated() const { return builtin == Builtin::none; }
    bool has_body() const;
};

const std::vector<Route>& routes();

// The route for a method and path, with the {id} segment. path_known is set when the path
// matches some route (so a wrong method is 405, not 404).
const Route* match_route(std::string_view method, std::string_view path, std::string& id, bool& path_known,
                         std::string& allowed_methods);

// The SQL statement of a call: named arguments for the parameters present (so that omitted
// ones take the function's defaults), numbered $1.. in the order of `present`.
std::string call_sql(const Route& r, const std::vector<const Param*>& present);

}  // namespace quant::http
