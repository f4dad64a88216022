// Internal to core: the closed tables (the catalog, the indicator registry, the config key tables)
// looked up and listed by name, one way: the hints' "valid values" and the validators' choices.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace quant::names {

// The entry of table whose name is name, or nullptr.
template <typename Table>
const typename Table::value_type* find(const Table& table, std::string_view name) {
    for (const auto& e : table) {
        if (e.name == name)
            return &e;
    }
    return nullptr;
}

// "a, b, c": what proj (&Info::name, &FieldSpec::key) gives for each entry, in table order.
template <typename Table, typename Proj>
std::string join(const Table& table, Proj proj) {
    std::string out;
    for (const auto& e : table) {
        if (!out.empty())
            out += ", ";
        out += std::invoke(proj, e);
    }
    return out;
}

// The same names as a list (a FieldSpec's choices).
template <typename Table, typename Proj = std::identity>
std::vector<std::string> list(const Table& table, Proj proj = {}) {
    std::vector<std::string> out;
    for (const auto& e : table)
        out.emplace_back(std::invoke(proj, e));
    return out;
}

}  // namespace quant::names
