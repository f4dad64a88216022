// The registry the engine dispatches on: every indicator and signal function by its JSON name.
// The REFDATA catalog in SQL is generated from these tables (quant.indicator_catalog()), so the
// names, floors and default ranges have one source of truth.
#pragma once
#include <span>
#include <string>
#include <string_view>

#include "quant/bars.hpp"
#include "quant/no_postgres.hpp"

namespace quant {

struct ParamRange {
    double min, max, step;
};

struct IndicatorInfo {
    std::string_view name;
    std::string_view description;
    bool bounded;                      // values in 0..100
    bool price_level;                  // values in price units (SMA/EMA): a band threshold means little
    bool reads_hlc;                    // reads high/low/close, ignores data_column
    int window_floor;                  // smallest meaningful window
    int (*first_defined)(int window);  // index of the first defined bar
    ParamRange window_range;           // the original engine's default grid
    ParamRange signal_range;
    void (*compute)(const BarSeries& bars, Column column, int window, std::span<double> out);
};

enum class SignalKind { momentum_band, reversion_band, momentum_bounded, reversion_bounded };

struct SignalFuncInfo {
    std::string_view name;
    std::string_view description;
    SignalKind kind;
    bool long_only;
    bool for_bounded;  // meant for bounded (0..100) indicators
};

std::span<const IndicatorInfo> indicator_registry();
std::span<const SignalFuncInfo> signal_func_registry();
const IndicatorInfo* find_indicator(std::string_view name);
const SignalFuncInfo* find_signal_func(std::string_view name);
// "get_sma, get_ema, ..." for error hints.
std::string indicator_names();
std::string signal_func_names();

}  // namespace quant
