#include "quant/json.hpp"

#include "quant/error.hpp"

#include <string>

namespace quant {

Json parse_json(std::string_view text, const JsonLimits& limits) {
    if (text.size() > limits.max_bytes) {
        throw Error(ErrorCode::limit_exceeded, "",
                    "document of " + std::to_string(text.size()) + " bytes is over the limit of " +
                        std::to_string(limits.max_bytes) + " bytes");
    }
    // The callback sees the depth of every value as it is read, so a deep document is refused
    // before it is built.
    const auto on_event = [&](int depth, Json::parse_event_t /*event*/, Json& /*value*/) {
        if (depth > limits.max_depth) {
            throw Error(ErrorCode::limit_exceeded, "",
                        "document nested deeper than " + std::to_string(limits.max_depth) + " levels");
        }
        return true;
    };
    try {
        return Json::parse(text.begin(), text.end(), on_event);
    } catch (const Json::parse_error& e) {
        throw Error(ErrorCode::malformed_json, "", std::string("malformed JSON: ") + e.what());
    }
}

}  // namespace quant
