// Internal to core: the small field readers shared by the Strategy and Deployment validators,
// so that both phrase errors the same way ("field: problem", hint with the valid values).
#pragma once
#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>

#include "quant/error.hpp"
#include "quant/json.hpp"

namespace quant::fields {

template <std::size_t N>
std::string join(const std::array<std::string_view, N>& names) {
    std::string out;
    for (auto n : names) {
        if (!out.empty())
            out += ", ";
        out += n;
    }
    return out;
}

[[noreturn]] inline void fail(const std::string& field, const std::string& problem, std::string hint = {}) {
    throw Error(ErrorCode::invalid_config, field, field + ": " + problem, std::move(hint));
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

template <std::size_t N>
void reject_unknown_keys(const Json& obj, const std::array<std::string_view, N>& known,
                         const std::string& prefix) {
    for (const auto& [key, value] : obj.items()) {
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            fail(prefix + key, "unknown field", "valid fields: " + join(known));
        }
    }
}

inline bool is_uuid(std::string_view s) {
    if (s.size() != 36)
        return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i])))
            return false;
    }
    return true;
}

}  // namespace quant::fields
