#include "quant/json.hpp"

#include <array>
#include <cctype>
#include <string>
#include <vector>

#include "quant/error.hpp"

namespace quant {

namespace {

// Follows the JSON path while nlohmann's SAX parser reads, so that an error it raises (a number
// that overflows a double) can name the field: "substrategies[0].signal".
class PathTracker : public nlohmann::json_sax<Json> {
public:
    std::string path() const {
        std::string out;
        for (const auto& f : stack_) {
            if (f.is_array) {
                out += "[" + std::to_string(f.index) + "]";
            } else if (!f.key.empty()) {
                out += (out.empty() ? "" : ".") + f.key;
            }
        }
        return out;
    }
    bool null() override { return value(); }
    bool boolean(bool /*v*/) override { return value(); }
    bool number_integer(number_integer_t /*v*/) override { return value(); }
    bool number_unsigned(number_unsigned_t /*v*/) override { return value(); }
    bool number_float(number_float_t /*v*/, const string_t& /*s*/) override { return value(); }
    bool string(string_t& /*v*/) override { return value(); }
    bool binary(binary_t& /*v*/) override { return value(); }
    bool start_object(std::size_t /*n*/) override {
        stack_.push_back({false, 0, {}});
        return true;
    }
    bool key(string_t& k) override {
        stack_.back().key = k;
        return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t /*n*/) override {
        stack_.push_back({true, 0, {}});
        return true;
    }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t /*pos*/, const std::string& /*token*/,
                     const nlohmann::detail::exception& /*e*/) override {
        return false;
    }

private:
    struct Frame {
        bool is_array;
        std::size_t index;
        std::string key;
    };
    bool value() {
        if (!stack_.empty() && stack_.back().is_array)
            ++stack_.back().index;
        return true;
    }
    bool close() {
        stack_.pop_back();
        return value();
    }
    std::vector<Frame> stack_;
};

}  // namespace

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
    } catch (const Json::out_of_range&) {
        // A number beyond a double's range (1e400): valid JSON, so name the field it is in.
        PathTracker tracker;
        Json::sax_parse(text.begin(), text.end(), &tracker);
        const std::string field = tracker.path();
        throw Error(
            ErrorCode::invalid_config, field,
            (field.empty() ? std::string("value") : field) + ": number out of range (beyond +/-1.7e308)",
            "a finite number");
    }
}

std::string non_finite_to_null(std::string_view text) {
    static constexpr std::array<std::string_view, 3> tokens{"-Infinity", "Infinity", "NaN"};
    const auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
    std::string out;
    out.reserve(text.size());
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            out += c;
            if (c == '\\' && i + 1 < text.size()) {
                out += text[++i];
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
            out += c;
            continue;
        }
        bool replaced = false;
        if (i == 0 || !is_word(text[i - 1])) {
            for (const auto t : tokens) {
                const std::size_t end = i + t.size();
                if (text.substr(i, t.size()) == t && (end == text.size() || !is_word(text[end]))) {
                    out += "null";
                    i = end - 1;
                    replaced = true;
                    break;
                }
            }
        }
        if (!replaced)
            out += c;
    }
    return out;
}

}  // namespace quant
