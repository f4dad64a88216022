#include "quant/alignment.hpp"

#include <limits>

#include "json_fields.hpp"

namespace quant {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

}  // namespace

std::string_view align_name(Align a) {
    return a == Align::asof ? "asof" : "exact";
}

Align parse_align(std::string_view name, const std::string& field) {
    if (name == "exact")
        return Align::exact;
    if (name == "asof")
        return Align::asof;
    fields::fail(field, "unknown alignment \"" + std::string(name) + "\"",
                 "valid alignments: " + std::string(align_names_hint) +
                     " (exact: the product's bar at the trading bar's time, NaN where it has none; asof: its "
                     "last bar at or before that time, carried forward)");
}

OwnedBars align_bars(std::span<const std::int64_t> ts, const BarSeries& product, Align align) {
    const std::size_t n = ts.size(), m = product.size();
    OwnedBars out;
    out.ts.assign(ts.begin(), ts.end());
    for (auto* col : {&out.open, &out.high, &out.low, &out.close, &out.volume})
        col->assign(n, nan);
    std::size_t j = 0;  // the first product bar not before (exact) / after (asof) ts[t]
    for (std::size_t t = 0; t < n; ++t) {
        std::size_t at = m;  // the product bar used, m = none
        if (align == Align::exact) {
            while (j < m && product.ts[j] < ts[t])
                ++j;
            if (j < m && product.ts[j] == ts[t])
                at = j;
        } else {
            while (j < m && product.ts[j] <= ts[t])
                ++j;
            if (j > 0)
                at = j - 1;
        }
        if (at == m)
            continue;
        out.open[t] = product.open[at];
        out.high[t] = product.high[at];
        out.low[t] = product.low[at];
        out.close[t] = product.close[at];
        out.volume[t] = product.volume[at];
    }
    return out;
}

std::size_t covered_bars(std::span<const std::int64_t> ts, const BarSeries& product, Align align) {
    const std::size_t n = ts.size(), m = product.size();
    std::size_t covered = 0, j = 0;
    for (std::size_t t = 0; t < n; ++t) {
        if (align == Align::exact) {
            while (j < m && product.ts[j] < ts[t])
                ++j;
            covered += (j < m && product.ts[j] == ts[t]) ? 1 : 0;
        } else {
            // a bar in (ts[t-1], ts[t]]; for the first trading bar, any bar up to its time
            const std::size_t before = j;
            while (j < m && product.ts[j] <= ts[t])
                ++j;
            covered += j > before ? 1 : 0;
        }
    }
    return covered;
}

}  // namespace quant
