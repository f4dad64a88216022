#include "quant/config_schema.hpp"

#include <cctype>
#include <cmath>
#include <string>

#include "config_fields.hpp"

namespace quant {

namespace {

using fields::FieldSpec;
using fields::Type;

constexpr std::string_view uuid_pattern =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

std::string_view type_name(Type t) {
    switch (t) {
        case Type::string:
            return "string";
        case Type::integer:
            return "integer";
        case Type::number:
            return "number";
        case Type::boolean:
            return "boolean";
        case Type::object:
            return "object";
        case Type::array:
            return "array";
    }
    return "string";
}

// ECMA-262 regular expressions have no case-insensitive flag inside the pattern: "[Aa][Nn][Dd]".
std::string any_case_pattern(const std::vector<std::string>& names) {
    std::string out = "^(?:";
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0)
            out += '|';
        for (const unsigned char c : names[i]) {
            if (std::isalpha(c) != 0) {
                out += '[';
                out += static_cast<char>(std::toupper(c));
                out += static_cast<char>(std::tolower(c));
                out += ']';
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + ")$";
}

Json object_schema(std::span<const FieldSpec> spec);

Json field_schema(const FieldSpec& f) {
    Json out = Json::object();
    if (!f.description.empty())
        out["description"] = f.description;
    if (f.ignored) {  // any value
        out["description"] =
            "accepted and ignored (part of a stored strategy as quant.get_strategy returns it)";
        return out;
    }
    if (f.nullable)
        out["type"] = Json::array({type_name(f.type), "null"});
    else
        out["type"] = type_name(f.type);
    if (!std::isnan(f.minimum))
        out[f.exclusive_minimum ? "exclusiveMinimum" : "minimum"] = f.minimum;
    if (!std::isnan(f.maximum))
        out["maximum"] = f.maximum;
    if (f.min_length > 0)
        out["minLength"] = f.min_length;
    if (f.max_length > 0)
        out["maxLength"] = f.max_length;
    if (f.format == "uuid") {
        out["format"] = "uuid";
        out["pattern"] = uuid_pattern;
    }
    if (f.choices != nullptr) {
        const auto names = f.choices();
        if (f.fold_case) {
            out["pattern"] = any_case_pattern(names);
            out["examples"] = names;
        } else {
            Json values = names;
            if (f.nullable)
                values.push_back(nullptr);
            out["enum"] = std::move(values);
        }
    }
    if (f.type == Type::array) {
        if (f.min_items > 0)
            out["minItems"] = f.min_items;
        if (f.max_items > 0)
            out["maxItems"] = f.max_items;
        if (f.children != nullptr)
            out["items"] = object_schema(f.children());
    } else if (f.type == Type::object && f.children != nullptr) {
        Json nested = object_schema(f.children());
        nested["type"] = out["type"];
        if (out.contains("description"))
            nested["description"] = out["description"];
        return nested;
    }
    return out;
}

Json object_schema(std::span<const FieldSpec> spec) {
    Json properties = Json::object();
    Json required = Json::array();
    for (const auto& f : spec) {
        properties[std::string(f.key)] = field_schema(f);
        if (f.required)
            required.push_back(f.key);
    }
    Json out{{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
    if (!required.empty())
        out["required"] = std::move(required);
    return out;
}

Json document_schema(std::string_view title, std::string_view description, std::span<const FieldSpec> spec) {
    Json out = object_schema(spec);
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema";
    out["title"] = title;
    out["description"] = description;
    return out;
}

}  // namespace

Json strategy_config_schema() {
    Json out =
        document_schema("StrategyConfig",
                        "A strategy: substrategies (indicator, signal function, window, signal) on one "
                        "ticker, combined by a conjunction",
                        fields::strategy_fields());
    // the seed names the ticker, the user's pipeline the product (resolved to its ticker by SQL)
    out["anyOf"] = Json::array({Json{{"required", {"ticker"}}}, Json{{"required", {"internal_cusip"}}}});
    return out;
}

Json deployment_config_schema() {
    return document_schema("DeploymentConfig",
                           "Where and how a strategy trades: broker, symbol, size, schedule and risk limits",
                           fields::deployment_fields());
}

}  // namespace quant
