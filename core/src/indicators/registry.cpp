#include "quant/indicators/registry.hpp"

#include <array>

#include "../table_names.hpp"
#include "quant/indicators/indicators.hpp"

namespace quant {

namespace {

using indicators::bollinger;
using indicators::ema;
using indicators::ema_distance;
using indicators::rsi;
using indicators::rsi_wilder;
using indicators::sma;
using indicators::sma_distance;

template <void (*F)(std::span<const double>, int, std::span<double>)>
void on_column(const BarSeries& bars, Column column, int window, std::span<double> out) {
    F(bars.column(column), window, out);
}

void on_hlc_stochastic(const BarSeries& bars, Column /*column*/, int window, std::span<double> out) {
    indicators::stochastic(bars.high, bars.low, bars.close, window, out);
}

int at_window_minus_one(int n) {
    return n - 1;
}
int at_zero(int /*n*/) {
    return 0;
}
int at_window(int n) {
    return n;
}
int at_two_windows(int n) {
    return 2 * n - 2;
}

// The original engine's default grids (what-users-asked.md).
constexpr ParamRange level_windows{.min = 5, .max = 200, .step = 5};
constexpr ParamRange level_signals{.min = 0, .max = 0.10, .step = 0.01};
constexpr ParamRange bounded_signals{.min = 0, .max = 100, .step = 5};

const std::array<IndicatorInfo, 8> indicator_table{{
    {.name = "get_sma",
     .description = "simple moving average of the factor (price units)",
     .bounded = false,
     .price_level = true,
     .reads_hlc = false,
     .window_floor = 1,
     .first_defined = at_window_minus_one,
     .window_range = level_windows,
     .signal_range = level_signals,
     .compute = on_column<sma>},
    {.name = "get_ema",
     .description = "exponential moving average, alpha = 2/(n+1), seeded with the first value (price units)",
     .bounded = false,
     .price_level = true,
     .reads_hlc = false,
     .window_floor = 1,
     .first_defined = at_zero,
     .window_range = level_windows,
     .signal_range = level_signals,
     .compute = on_column<ema>},
    {.name = "get_rsi",
     .description = "Cutler's RSI: simple means of gains and losses over n deltas (0..100)",
     .bounded = true,
     .price_level = false,
     .reads_hlc = false,
     .window_floor = 2,
     .first_defined = at_window,
     .window_range = {.min = 5, .max = 50, .step = 1},
     .signal_range = bounded_signals,
     .compute = on_column<rsi>},
    {.name = "get_rsi_wilder",
     .description = "Wilder's RSI: smoothed means of gains and losses (0..100)",
     .bounded = true,
     .price_level = false,
     .reads_hlc = false,
     .window_floor = 2,
     .first_defined = at_window,
     .window_range = {.min = 5, .max = 50, .step = 1},
     .signal_range = bounded_signals,
     .compute = on_column<rsi_wilder>},
    {.name = "get_bollinger_band",
     .description = "z-score against the n-bar mean and sample standard deviation",
     .bounded = false,
     .price_level = false,
     .reads_hlc = false,
     .window_floor = 2,
     .first_defined = at_window_minus_one,
     .window_range = {.min = 10, .max = 100, .step = 5},
     .signal_range = {.min = 0.25, .max = 2.5, .step = 0.25},
     .compute = on_column<bollinger>},
    {.name = "get_stochastic_oscillator",
     .description = "stochastic %D = SMA_n(%K) over high/low/close (0..100)",
     .bounded = true,
     .price_level = false,
     .reads_hlc = true,
     .window_floor = 2,
     .first_defined = at_two_windows,
     .window_range = {.min = 5, .max = 50, .step = 5},
     .signal_range = bounded_signals,
     .compute = on_hlc_stochastic},
    {.name = "get_sma_distance",
     .description = "distance from the simple moving average: x/SMA - 1",
     .bounded = false,
     .price_level = false,
     .reads_hlc = false,
     .window_floor = 1,
     .first_defined = at_window_minus_one,
     .window_range = level_windows,
     .signal_range = level_signals,
     .compute = on_column<sma_distance>},
    {.name = "get_ema_distance",
     .description = "distance from the exponential moving average: x/EMA - 1",
     .bounded = false,
     .price_level = false,
     .reads_hlc = false,
     .window_floor = 1,
     .first_defined = at_zero,
     .window_range = level_windows,
     .signal_range = level_signals,
     .compute = on_column<ema_distance>},
}};

const std::array<SignalFuncInfo, 8> signal_table{{
    {.name = "momentum_band_signal",
     .description = "+1 when v > s, -1 when v < -s",
     .kind = SignalKind::momentum_band,
     .long_only = false,
     .for_bounded = false},
    {.name = "reversion_band_signal",
     .description = "+1 when v < -s, -1 when v > s",
     .kind = SignalKind::reversion_band,
     .long_only = false,
     .for_bounded = false},
    {.name = "momentum_bounded_signal",
     .description = "+1 when v > s, -1 when v < 100-s",
     .kind = SignalKind::momentum_bounded,
     .long_only = false,
     .for_bounded = true},
    {.name = "reversion_bounded_signal",
     .description = "+1 when v < 100-s, -1 when v > s",
     .kind = SignalKind::reversion_bounded,
     .long_only = false,
     .for_bounded = true},
    {.name = "momentum_band_signal_long_only",
     .description = "momentum_band_signal with -1 turned into 0",
     .kind = SignalKind::momentum_band,
     .long_only = true,
     .for_bounded = false},
    {.name = "reversion_band_signal_long_only",
     .description = "reversion_band_signal with -1 turned into 0",
     .kind = SignalKind::reversion_band,
     .long_only = true,
     .for_bounded = false},
    {.name = "momentum_bounded_signal_long_only",
     .description = "momentum_bounded_signal with -1 turned into 0",
     .kind = SignalKind::momentum_bounded,
     .long_only = true,
     .for_bounded = true},
    {.name = "reversion_bounded_signal_long_only",
     .description = "reversion_bounded_signal with -1 turned into 0",
     .kind = SignalKind::reversion_bounded,
     .long_only = true,
     .for_bounded = true},
}};

}  // namespace

std::span<const IndicatorInfo> indicator_registry() {
    return indicator_table;
}
std::span<const SignalFuncInfo> signal_func_registry() {
    return signal_table;
}

const IndicatorInfo* find_indicator(std::string_view name) {
    return names::find(indicator_table, name);
}

const SignalFuncInfo* find_signal_func(std::string_view name) {
    return names::find(signal_table, name);
}

std::string indicator_names() {
    return names::join(indicator_table, &IndicatorInfo::name);
}
std::string signal_func_names() {
    return names::join(signal_table, &SignalFuncInfo::name);
}

}  // namespace quant
