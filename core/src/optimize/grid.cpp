// The search grid: parsing and validation of the `grid` argument of quant.optimize and
// quant.walk_forward.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "quant/error.hpp"
#include "quant/optimize.hpp"
#include "quant/params.hpp"

namespace quant {

namespace {

[[noreturn]] void fail(const std::string& field, const std::string& problem, std::string hint = {}) {
    throw Error(ErrorCode::invalid_config, field, field + ": " + problem, std::move(hint));
}

// The double nearest to v's 12-significant-digit decimal: min + i*step lands on 0.03, not
// 0.030000000000000002, so grid values read as the user wrote them.
double snap(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.12g", v);
    return std::strtod(buf, nullptr);
}

double number(const Json& v, const std::string& field) {
    if (!v.is_number())
        fail(field, "must be a number, got " + v.dump());
    const double d = v.get<double>();
    if (!std::isfinite(d))
        fail(field, "must be finite");
    return d;
}

// Drops repeated values, keeping the first of each (the grid's order is the tie-break order).
template <typename T>
void dedupe(std::vector<T>& values) {
    std::set<T> seen;
    std::vector<T> out;
    for (const T& v : values) {
        if (seen.insert(v).second)
            out.push_back(v);
    }
    values.swap(out);
}

// One axis: a number, a list, or an inclusive {min, max, step} range.
template <typename T, typename Read>
std::vector<T> parse_axis(const Json& v, const std::string& field, Read read) {
    std::vector<T> out;
    if (v.is_array()) {
        if (v.empty())
            fail(field, "must not be an empty list");
        if (v.size() > max_values_per_axis) {
            throw Error(ErrorCode::limit_exceeded, field,
                        field + ": " + std::to_string(v.size()) + " values is over the limit of " +
                            std::to_string(max_values_per_axis));
        }
        for (std::size_t i = 0; i < v.size(); ++i)
            out.push_back(read(v[i], field + "[" + std::to_string(i) + "]"));
    } else if (v.is_object()) {
        for (const auto& [key, value] : v.items()) {
            if (key != "min" && key != "max" && key != "step")
                fail(field + '.' + key, "unknown field", "min, max, step");
        }
        for (const char* key : {"min", "max", "step"}) {
            if (!v.contains(key))
                fail(field + "." + key, "is required", R"(a range is {"min", "max", "step"})");
        }
        const double lo = number(v["min"], field + ".min");
        const double hi = number(v["max"], field + ".max");
        const double step = number(v["step"], field + ".step");
        if (step <= 0.0)
            fail(field + ".step", "must be greater than 0, got " + v["step"].dump());
        if (hi < lo)
            fail(field + ".max", "must be at least min (" + v["min"].dump() + "), got " + v["max"].dump());
        // Inclusive of max even when (max-min)/step is 10.999999999 in floating point.
        const double steps = std::floor((hi - lo) / step + 1e-9);
        if (!(steps + 1 <= static_cast<double>(max_values_per_axis))) {  // also inf and NaN
            char big[32];
            std::snprintf(big, sizeof big, "%.3g", steps + 1);
            const std::string count = steps + 1 < 1e15 ? std::to_string(static_cast<long long>(steps + 1))
                                      : std::isfinite(steps) ? std::string(big)
                                                             : std::string("more than 1e+308");
            throw Error(ErrorCode::limit_exceeded, field,
                        field + ": the range has " + count + " values, over the limit of " +
                            std::to_string(max_values_per_axis));
        }
        for (long long i = 0; i <= static_cast<long long>(steps); ++i) {
            out.push_back(read(Json(snap(lo + static_cast<double>(i) * step)), field));
        }
    } else {
        out.push_back(read(v, field));
    }
    dedupe(out);
    return out;
}

}  // namespace

std::size_t ParamGrid::size() const {
    std::size_t n = 1;
    for (std::size_t j = 0; j < windows.size(); ++j)
        n *= windows[j].size() * signals[j].size();
    return n;
}

ParamGrid parse_grid(const Json& grid, const StrategyConfig& cfg) {
    const std::size_t k = cfg.substrategies.size();
    std::vector<const Json*> entries(k, nullptr);
    if (grid.is_array()) {
        if (grid.size() != k) {
            fail("grid", "must have one entry per substrategy (" + std::to_string(k) + "), got " +
                             std::to_string(grid.size()));
        }
        for (std::size_t j = 0; j < k; ++j)
            entries[j] = &grid[j];
    } else if (grid.is_object()) {
        for (const auto& [key, value] : grid.items()) {
            bool found = false;
            for (std::size_t j = 0; j < k; ++j) {
                if (key == std::to_string(cfg.substrategies[j].id)) {
                    entries[j] = &value;
                    found = true;
                }
            }
            if (!found) {
                std::string ids;
                for (const auto& s : cfg.substrategies)
                    ids += (ids.empty() ? "" : ", ") + std::to_string(s.id);
                fail("grid." + key, "no substrategy has this id", "substrategy ids: " + ids);
            }
        }
    } else {
        fail("grid", "must be an array (one entry per substrategy) or an object keyed by substrategy id");
    }

    ParamGrid out;
    double cells = 1.0;
    for (std::size_t j = 0; j < k; ++j) {
        const auto& sub = cfg.substrategies[j];
        const std::string at =
            grid.is_array() ? "grid[" + std::to_string(j) + "]" : "grid." + std::to_string(sub.id);
        const Json empty = Json::object();
        const Json& e = entries[j] != nullptr ? *entries[j] : empty;
        if (!e.is_object())
            fail(at, R"(must be an object with "window" and/or "signal")");
        for (const auto& [key, value] : e.items()) {
            if (key != "window" && key != "signal")
                fail(at + '.' + key, "unknown field", "window, signal");
        }
        const IndicatorInfo& indicator = *sub.indicator;
        out.windows.push_back(e.contains("window")
                                  ? parse_axis<int>(e["window"], at + ".window",
                                                    [&indicator](const Json& v, const std::string& f) {
                                                        return check_window(indicator, v, f,
                                                                            ErrorCode::invalid_config);
                                                    })
                                  : std::vector<int>{sub.window});
        out.signals.push_back(e.contains("signal") ? parse_axis<double>(e["signal"], at + ".signal", number)
                                                   : std::vector<double>{sub.signal});
        cells *= static_cast<double>(out.windows.back().size() * out.signals.back().size());
    }
    if (cells > static_cast<double>(max_grid_cells)) {
        throw Error(ErrorCode::limit_exceeded, "grid",
                    "grid: " + std::to_string(static_cast<long long>(cells)) +
                        " cells is over the limit of " + std::to_string(max_grid_cells),
                    "search fewer windows or signals, or split the search");
    }
    return out;
}

}  // namespace quant
