// Small helpers shared by pq's sources (not installed: include/ is the interface).
#pragma once

#include <string>
#include <vector>

#include "quant/pq/connection.hpp"

namespace quant::pq::detail {

// libpq's message without its trailing newline.
inline std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

// The parameters as libpq wants them: text, or a null pointer for NULL (they stay owned by params).
inline std::vector<const char*> values_of(const Params& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params)
        values.push_back(p ? p->c_str() : nullptr);
    return values;
}

}  // namespace quant::pq::detail
