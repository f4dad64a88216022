// Internal to core: the key tables of the Strategy and Deployment JSON. Each validator rejects
// every key its table does not list, and config_schema.cpp builds the JSON Schemas from the same
// tables, so a key the validator accepts is always in the schema.
#pragma once
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "json_fields.hpp"
#include "quant/json.hpp"
#include "table_names.hpp"

namespace quant::fields {

enum class Type { string, integer, number, boolean, object, array };

struct FieldSpec {
    std::string_view key{};
    Type type = Type::string;
    bool required = false;
    bool nullable = false;  // JSON null is accepted (as "not given" unless the description says otherwise)
    bool ignored = false;   // accepted and ignored: what quant.get_strategy adds to a stored config
    double minimum = std::numeric_limits<double>::quiet_NaN();  // NaN: no bound
    double maximum = std::numeric_limits<double>::quiet_NaN();
    bool exclusive_minimum = false;
    std::size_t min_length = 0;                          // strings
    std::size_t max_length = 0;                          // strings; 0: no limit
    std::size_t min_items = 0;                           // arrays
    std::size_t max_items = 0;                           // arrays; 0: no limit
    std::string_view format{};                           // "uuid"
    std::vector<std::string> (*choices)() = nullptr;     // the valid values
    bool fold_case = false;                              // choices compared case-insensitively
    std::span<const FieldSpec> (*children)() = nullptr;  // an object's keys, or an array's items' keys
    std::string_view description{};
};

std::span<const FieldSpec> strategy_fields();
std::span<const FieldSpec> substrategy_fields();
std::span<const FieldSpec> deployment_fields();
std::span<const FieldSpec> risk_limit_fields();

inline std::string join_keys(std::span<const FieldSpec> spec) {
    return names::join(spec, &FieldSpec::key);
}

inline void reject_unknown_keys(const Json& obj, std::span<const FieldSpec> spec, const std::string& prefix) {
    for (const auto& [key, value] : obj.items()) {
        bool known = false;
        for (const auto& f : spec)
            known = known || f.key == key;
        if (!known)
            fail(prefix + key, "unknown field", "valid fields: " + join_keys(spec));
    }
}

}  // namespace quant::fields
