#include "quant/indicators/registry.hpp"

#include <array>

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

// The original engine's default grids (what-users-asked.md, issue #2).
constexpr ParamRange level_windows{5, 200, 5};
constexpr ParamRange level_signals{0, 0.10, 0.01};
constexpr ParamRange bounded_signals{0, 100, 5};

const std::array<IndicatorInfo, 8> indicator_table{{
    {"get_sma", "simple moving average of the factor (price units)", false, true, false, 1,
     at_window_minus_one, level_windows, level_signals, on_column<sma>},
    {"get_ema", "exponential moving average, alpha = 2/(n+1), seeded with the first value (price units)",
     false, true, false, 1, at_zero, level_windows, level_signals, on_column<ema>},
    {"get_rsi",
     "Cutler's RSI: simple means of gains and losses over n deltas (0..100)",
     true,
     false,
     false,
     2,
     at_window,
     {5, 50, 1},
     bounded_signals,
     on_column<rsi>},
    {"get_rsi_wilder",
     "Wilder's RSI: smoothed means of gains and losses (0..100)",
     true,
     false,
     false,
     2,
     at_window,
     {5, 50, 1},
     bounded_signals,
     on_column<rsi_wilder>},
    {"get_bollinger_band",
     "z-score against the n-bar mean and sample standard deviation",
     false,
     false,
     false,
     2,
     at_window_minus_one,
     {10, 100, 5},
     {0.25, 2.5, 0.25},
     on_column<bollinger>},
    {"get_stochastic_oscillator",
     "stochastic %D = SMA_n(%K) over high/low/close (0..100)",
     true,
     false,
     true,
     2,
     at_two_windows,
     {5, 50, 5},
     bounded_signals,
     on_hlc_stochastic},
    {"get_sma_distance", "distance from the simple moving average: x/SMA - 1", false, false, false, 1,
     at_window_minus_one, level_windows, level_signals, on_column<sma_distance>},
    {"get_ema_distance", "distance from the exponential moving average: x/EMA - 1", false, false, false, 1,
     at_zero, level_windows, level_signals, on_column<ema_distance>},
}};

const std::array<SignalFuncInfo, 8> signal_table{{
    {"momentum_band_signal", "+1 when v > s, -1 when v < -s", SignalKind::momentum_band, false, false},
    {"reversion_band_signal", "+1 when v < -s, -1 when v > s", SignalKind::reversion_band, false, false},
    {"momentum_bounded_signal", "+1 when v > s, -1 when v < 100-s", SignalKind::momentum_bounded, false,
     true},
    {"reversion_bounded_signal", "+1 when v < 100-s, -1 when v > s", SignalKind::reversion_bounded, false,
     true},
    {"momentum_band_signal_long_only", "momentum_band_signal with -1 turned into 0",
     SignalKind::momentum_band, true, false},
    {"reversion_band_signal_long_only", "reversion_band_signal with -1 turned into 0",
     SignalKind::reversion_band, true, false},
    {"momentum_bounded_signal_long_only", "momentum_bounded_signal with -1 turned into 0",
     SignalKind::momentum_bounded, true, true},
    {"reversion_bounded_signal_long_only", "reversion_bounded_signal with -1 turned into 0",
     SignalKind::reversion_bounded, true, true},
}};

template <typename Table>
std::string join_names(const Table& table) {
    std::string out;
    for (const auto& e : table) {
        if (!out.empty())
            out += ", ";
        out += e.name;
    }
    return out;
}

}  // namespace

std::span<const IndicatorInfo> indicator_registry() {
    return indicator_table;
}
std::span<const SignalFuncInfo> signal_func_registry() {
    return signal_table;
}

const IndicatorInfo* find_indicator(std::string_view name) {
    for (const auto& e : indicator_table) {
        if (e.name == name)
            return &e;
    }
    return nullptr;
}

const SignalFuncInfo* find_signal_func(std::string_view name) {
    for (const auto& e : signal_table) {
        if (e.name == name)
            return &e;
    }
    return nullptr;
}

std::string indicator_names() {
    return join_names(indicator_table);
}
std::string signal_func_names() {
    return join_names(signal_table);
}

}  // namespace quant
