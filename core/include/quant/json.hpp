// JSON in: one parser with limits, so a deep or huge document is refused before it costs
// anything. Every Strategy/Deployment JSON that enters the system goes through parse_json().
#pragma once
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "quant/no_postgres.hpp"

namespace quant {

using Json = nlohmann::json;

struct JsonLimits {
    std::size_t max_bytes = 1u << 20;  // 1 MiB
    int max_depth = 64;
};

// Throws Error{malformed_json} or Error{limit_exceeded}.
Json parse_json(std::string_view text, const JsonLimits& limits = {});

// Python's json.dumps writes NaN, Infinity and -Infinity, which are not JSON: the text with each
// of these tokens outside strings replaced by null (jsonb cannot hold them; an undefined metric
// is null in quant). Everything else, strings included, is left as it is.
std::string non_finite_to_null(std::string_view text);

// Doubles as JSON: NaN and infinities become null (JSON has no such numbers).
inline Json json_number(double v) {
    return std::isfinite(v) ? Json(v) : Json(nullptr);
}

}  // namespace quant
