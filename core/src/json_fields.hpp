// Internal to core: the small field readers shared by the Strategy and Deployment validators,
// so that both phrase errors the same way ("field: problem", hint with the valid values).
#pragma once
#include <cmath>
#include <string>
#include <string_view>

#include "quant/error.hpp"
#include "quant/json.hpp"

namespace quant::fields {

[[noreturn]] inline void fail_as(ErrorCode code, const std::string& field, const std::string& problem,
                                 std::string hint = {}) {
    throw Error(code, field, field + ": " + problem, std::move(hint));
}

[[noreturn]] inline void fail(const std::string& field, const std::string& problem, std::string hint = {}) {
    fail_as(ErrorCode::invalid_config, field, problem, std::move(hint));
}

inline std::string type_name(const Json& v) {
    if (v.is_number())
        return "a number";
    if (v.is_string())
        return "a string";
    if (v.is_boolean())
        return "a boolean";
    if (v.is_null())
        return "null";
    if (v.is_array())
        return "an array";
    return "an object";
}

// A value as it appears in an error message, cut to 60 characters.
inline std::string shown(const Json& v) {
    std::string s = v.dump();
    if (s.size() > 60)
        s = s.substr(0, 57) + "...";
    return s;
}

// An integer in [lo, hi]; integral floats (20.0) are accepted, strings are not.
inline int get_int(const Json& v, const std::string& field, long long lo, long long hi,
                   const std::string& hint = {}, ErrorCode code = ErrorCode::invalid_config) {
    const auto out_of_range = [&] {
        fail_as(code, field,
                "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                    shown(v),
                hint);
    };
    double d = 0;
    if (v.is_number_integer() || v.is_number_unsigned()) {
        if (v.is_number_unsigned() && v.get<unsigned long long>() > static_cast<unsigned long long>(hi))
            out_of_range();
        d = static_cast<double>(v.get<long long>());
    } else if (v.is_number_float()) {
        d = v.get<double>();
        if (!std::isfinite(d) || d != std::floor(d))
            fail_as(code, field, "must be an integer, got " + shown(v), hint);
    } else {
        fail_as(code, field, "must be an integer, got " + type_name(v), hint);
    }
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
        out_of_range();
    return static_cast<int>(d);
}

}  // namespace quant::fields
