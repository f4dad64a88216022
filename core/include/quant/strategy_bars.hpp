// The bars a strategy reads: the trading product's (they define the time axis, the prices and the
// pnl) and, per substrategy, the bars its indicator reads: its own product's, aligned to the
// trading bars' times (quant/alignment.hpp), or the trading bars themselves.
#pragma once
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/alignment.hpp"
#include "quant/bars.hpp"
#include "quant/no_postgres.hpp"
#include "quant/strategy_config.hpp"

namespace quant {

// One product's bars in time order, as loaded (not yet aligned).
struct ProductBars {
    std::string_view ticker;
    BarSeries bars;
};

class StrategyBars {
public:
    // One product: every substrategy reads the trading bars (a strategy that names another
    // product is refused by check_bars_for). Implicit, so a BarSeries is a one-product market.
    StrategyBars(const BarSeries& trading) : trading_(trading) {}  // NOLINT(google-explicit-constructor)

    const BarSeries& trading() const noexcept { return trading_; }
    // The bars substrategy j's indicator reads, trading().size() of them.
    const BarSeries& factor(std::size_t j) const noexcept { return factor_.empty() ? trading_ : factor_[j]; }
    std::size_t size() const noexcept { return trading_.size(); }
    // True when the factor bars of every substrategy are there (aligned, or the trading bars).
    bool has_factors_of(const StrategyConfig& cfg) const noexcept;
    // Bars [from, to) of every series: the trading bars and the aligned factors are cut alike.
    StrategyBars slice(std::size_t from, std::size_t to) const;

    friend StrategyBars align_strategy_bars(const StrategyConfig& cfg, const BarSeries& trading,
                                            std::span<const ProductBars> products);

private:
    BarSeries trading_;
    std::vector<BarSeries> factor_;                        // [substrategy]; empty: all read trading_
    std::shared_ptr<const std::vector<OwnedBars>> owned_;  // what factor_ views (aligned copies)
};

// The strategy's bars from the trading bars and the bars of each product its substrategies name
// (each product once, any order; the trading product need not be among them). Throws
// Error{no_data} for a named product that is missing or has no bars, Error{insufficient_data}
// when a product has bars at fewer than min_coverage of the trading bars' times, both with the
// field substrategies[j].ticker.
StrategyBars align_strategy_bars(const StrategyConfig& cfg, const BarSeries& trading,
                                 std::span<const ProductBars> products);

BarSeries slice(const BarSeries& b, std::size_t from, std::size_t to);

}  // namespace quant
