#include "quant/strategy_bars.hpp"

#include <cstdio>
#include <utility>

#include "quant/error.hpp"

namespace quant {

BarSeries slice(const BarSeries& b, std::size_t from, std::size_t to) {
    const std::size_t len = to - from;
    return {b.ts.subspan(from, len),  b.open.subspan(from, len),  b.high.subspan(from, len),
            b.low.subspan(from, len), b.close.subspan(from, len), b.volume.subspan(from, len)};
}

bool StrategyBars::has_factors_of(const StrategyConfig& cfg) const noexcept {
    if (!factor_.empty())
        return factor_.size() == cfg.substrategies.size();
    for (const auto& s : cfg.substrategies) {
        if (cfg.reads_other_product(s))
            return false;
    }
    return true;
}

StrategyBars StrategyBars::slice(std::size_t from, std::size_t to) const {
    StrategyBars out(quant::slice(trading_, from, to));
    out.owned_ = owned_;
    for (const auto& f : factor_)
        out.factor_.push_back(quant::slice(f, from, to));
    return out;
}

namespace {

std::string percent(double share) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", share * 100.0);
    return buf;
}

}  // namespace

StrategyBars align_strategy_bars(const StrategyConfig& cfg, const BarSeries& trading,
                                 std::span<const ProductBars> products) {
    StrategyBars out(trading);
    const std::size_t k = cfg.substrategies.size();
    bool any = false;
    for (const auto& s : cfg.substrategies)
        any = any || cfg.reads_other_product(s);
    if (!any)
        return out;
    // One aligned copy per (product, alignment), shared by the substrategies that read it.
    auto owned = std::make_shared<std::vector<OwnedBars>>();
    std::vector<std::pair<std::string, Align>> keys;
    std::vector<std::size_t> which(k, 0);
    owned->reserve(k);
    for (std::size_t j = 0; j < k; ++j) {
        const auto& s = cfg.substrategies[j];
        if (!cfg.reads_other_product(s))
            continue;
        const std::string field = "substrategies[" + std::to_string(j) + "].ticker";
        std::size_t key = 0;
        while (key < keys.size() && !(keys[key].first == s.ticker && keys[key].second == s.align))
            ++key;
        if (key == keys.size()) {
            const ProductBars* p = nullptr;
            for (const auto& candidate : products) {
                if (candidate.ticker == s.ticker)
                    p = &candidate;
            }
            if (p == nullptr || p->bars.size() == 0) {
                throw Error(ErrorCode::no_data, field,
                            field + ": product \"" + s.ticker + "\" (the bars substrategy " +
                                std::to_string(s.id) + "'s indicator reads) has no bars",
                            "load its bars into md.bar (quant.load_bars_csv) or check the ticker");
            }
            const std::size_t covered = covered_bars(trading.ts, p->bars, s.align);
            const double share = trading.size() == 0
                                     ? 1.0
                                     : static_cast<double>(covered) / static_cast<double>(trading.size());
            if (share < min_coverage) {
                throw Error(
                    ErrorCode::insufficient_data, field,
                    field + ": product \"" + s.ticker + "\" has bars at " + percent(share) + " (" +
                        std::to_string(covered) + " of " + std::to_string(trading.size()) +
                        ") of the bars of the traded product \"" + cfg.ticker + "\" (align " +
                        std::string(align_name(s.align)) + "); at least " + percent(min_coverage) +
                        " are needed",
                    "load the missing bars of " + s.ticker + " or use a date range both products cover");
            }
            keys.emplace_back(s.ticker, s.align);
            owned->push_back(align_bars(trading.ts, p->bars, s.align));
        }
        which[j] = key;
    }
    for (std::size_t j = 0; j < k; ++j) {
        const auto& s = cfg.substrategies[j];
        out.factor_.push_back(cfg.reads_other_product(s) ? (*owned)[which[j]].view() : trading);
    }
    out.owned_ = std::move(owned);
    return out;
}

}  // namespace quant
