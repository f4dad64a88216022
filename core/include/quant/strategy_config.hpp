// StrategyConfig (seed §1.1): parsing, validation and the normalised form. The one validator:
// SQL (extension), the worker and the REST layer all call parse_strategy_config().
#pragma once
#include <string>
#include <vector>

#include "quant/alignment.hpp"
#include "quant/bar_interval.hpp"
#include "quant/bars.hpp"
#include "quant/indicators/registry.hpp"
#include "quant/json.hpp"
#include "quant/no_postgres.hpp"
#include "quant/params.hpp"
#include "quant/signals.hpp"

namespace quant {

struct SubStrategy {
    int id = 0;
    const IndicatorInfo* indicator = nullptr;
    const SignalFuncInfo* signal_func = nullptr;
    int window = 0;
    double signal = 0.0;
    Column data_column = Column::v;
    // The product whose bars the indicator reads (empty: the traded one) and how its bars meet
    // the traded product's times (backtest-semantics.md, indicator underlyings).
    std::string ticker;
    Align align = Align::exact;
    std::string internal_cusip;  // the product the client named, carried as given (empty when not)
};

struct StrategyConfig {
    std::string strategy_id;  // empty when not given
    std::string name;         // generated when empty (bollinger_momentum_20_1.0)
    int version = 1;
    std::string ticker;
    // The client's product identifier (the user's pipeline sends it instead of ticker); SQL
    // resolves it to ticker through the product catalog, the core carries it as given.
    std::string internal_cusip;
    Conjunction conjunction = Conjunction::all;
    // The bar interval of every product it reads (md.bar.interval); never null.
    const BarIntervalInfo* interval = find_bar_interval(default_bar_interval);
    int trading_period = 252;
    int fill_delay_bars = 0;  // 0: filled at the close that produced the signal (the original)
    std::vector<SubStrategy> substrategies;
    // Things that are valid but probably not meant (a level indicator with a band signal...).
    std::vector<std::string> warnings;

    int max_window() const;
    // True when the substrategy's indicator reads another product than the traded one.
    bool reads_other_product(const SubStrategy& s) const { return !s.ticker.empty() && s.ticker != ticker; }
    // The other products the substrategies read, each once, in order of first use.
    std::vector<std::string> factor_products() const;
    // Bars before the combined position can first be defined (largest first-defined index).
    int warmup_bars() const;
};

inline constexpr int max_substrategies = 16;
inline constexpr std::size_t max_name_length = 200;
inline constexpr int max_trading_period = 525600;  // minute bars, all year
inline constexpr int max_fill_delay_bars = 1000;
inline constexpr std::size_t max_product_id_length = 64;

// Throws Error{invalid_config} naming the field (JSON path) and listing the valid values.
StrategyConfig parse_strategy_config(const Json& doc);
StrategyConfig parse_strategy_config(std::string_view text);

// The normalised form: defaults filled, keys in a fixed order, numbers as numbers. `interval` is
// written only when it is not the default 1d, so that a daily strategy's stored form (and its
// params hash) is what it was before intervals existed.

Json to_json(const StrategyConfig& cfg);

// Warnings raised as a WARNING rather than a NOTICE: a trading_period that does not fit the bar
// interval scales the annualised metrics wrongly.
bool warning_is_strong(std::string_view warning);

std::string_view conjunction_name(Conjunction c);
// "bollinger_momentum_20_1.0"; more substrategies are joined with the conjunction
// ("..._and_rsi_reversion_14_30.0"), cut at max_name_length.
std::string default_strategy_name(const StrategyConfig& cfg);

}  // namespace quant
