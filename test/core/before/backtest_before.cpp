#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "before.hpp"
#include "quant/bars.hpp"
#include "quant/json.hpp"
#include "quant/signals.hpp"

namespace quant::before {

namespace {

// signal_codes as it was (the pick with a branch).
template <typename Rule>
void codes_loop(std::span<const double> x, bool long_only, std::span<PositionCode> out, Rule rule) {
    const PositionCode floor = long_only ? 0 : -1;
    for (std::size_t t = 0; t < x.size(); ++t) {
        const double v = x[t];
        const PositionCode c = std::max(rule(v), floor);
        out[t] = std::isnan(v) ? undefined_position : c;
    }
}

void signal_codes_before(const SubStrategy& sub, std::span<const double> indicator,
                         std::span<PositionCode> out) {
    const bool long_only = sub.signal_func->long_only;
    const double s = sub.signal;
    const double lo = -s, hi = 100.0 - s;
    const auto pick = [](bool up, bool down) -> PositionCode {
        return up ? PositionCode{1} : (down ? PositionCode{-1} : PositionCode{0});
    };
    switch (sub.signal_func->kind) {
        case SignalKind::momentum_band:
            codes_loop(indicator, long_only, out, [&](double v) { return pick(v > s, v < lo); });
            break;
        case SignalKind::reversion_band:
            codes_loop(indicator, long_only, out, [&](double v) { return pick(v<lo, v> s); });
            break;
        case SignalKind::momentum_bounded:
            codes_loop(indicator, long_only, out, [&](double v) { return pick(v > s, v < hi); });
            break;
        case SignalKind::reversion_bounded:
            codes_loop(indicator, long_only, out, [&](double v) { return pick(v<hi, v> s); });
            break;
    }
}

}  // namespace

void compute_indicator(const SubStrategy& sub, const BarSeries& bars, std::span<double> out) {
    const std::string_view name = sub.indicator->name;
    const auto x = bars.column(sub.data_column);
    if (name == "get_sma")
        indicators::sma(x, sub.window, out);
    else if (name == "get_ema")
        indicators::ema(x, sub.window, out);
    else if (name == "get_rsi")
        indicators::rsi(x, sub.window, out);
    else if (name == "get_rsi_wilder")
        indicators::rsi_wilder(x, sub.window, out);
    else if (name == "get_bollinger_band")
        indicators::bollinger(x, sub.window, out);
    else if (name == "get_stochastic_oscillator")
        indicators::stochastic(bars.high, bars.low, bars.close, sub.window, out);
    else if (name == "get_sma_distance")
        indicators::sma_distance(x, sub.window, out);
    else if (name == "get_ema_distance")
        indicators::ema_distance(x, sub.window, out);
    else
        throw std::logic_error("before::compute_indicator: unknown indicator");
}

BacktestSummary run_backtest(const StrategyConfig& cfg, const StrategyBars& market, double fee_bps) {
    const BarSeries& bars = market.trading();
    check_bars_for(cfg, market);
    const std::size_t n = bars.size();
    const std::size_t k = cfg.substrategies.size();
    std::vector<std::vector<double>> ind(k, std::vector<double>(n));
    std::vector<PositionCode> codes(k * n);
    for (std::size_t j = 0; j < k; ++j) {
        const auto& s = cfg.substrategies[j];
        compute_indicator(s, market.factor(j), ind[j]);
        signal_codes_before(s, ind[j], std::span<PositionCode>(codes).subspan(j * n, n));
    }
    std::vector<PositionCode> decided(n);
    std::array<PositionCode, max_substrategies> bar{};
    for (std::size_t t = 0; t < n; ++t) {
        for (std::size_t j = 0; j < k; ++j)
            bar[j] = codes[j * n + t];
        decided[t] = combine_codes(cfg.conjunction, bar.data(), k);
    }
    ScoreInput in;
    in.decided = decided;
    in.price = bars.close;
    in.fill_delay_bars = cfg.fill_delay_bars;
    in.trading_period = cfg.trading_period;
    in.first_scored = static_cast<std::size_t>(cfg.max_window());
    in.fee_bps = fee_bps;
    BacktestSummary out = score_positions(in, nullptr);
    out.first_ts = bars.ts.empty() ? 0 : bars.ts.front();
    out.last_ts = bars.ts.empty() ? 0 : bars.ts.back();
    return out;
}

Json backtest_results_json(const StrategyConfig& cfg, const BacktestSummary& s, double fee_bps,
                           std::int64_t run_at_unix_micros) {
    Json out = Json::object();
    if (!cfg.strategy_id.empty())
        out["strategy_id"] = cfg.strategy_id;
    out["run_at"] = format_timestamp(run_at_unix_micros);
    out["data_range"] = Json{{"start", format_date(s.first_ts)}, {"end", format_date(s.last_ts)}};
    out["ticker_backtested"] = cfg.ticker;
    out["fee_bps"] = json_number(fee_bps);
    out["metrics"] = metrics_json(s.metrics);
    out["buy_hold_metrics"] = metrics_json(s.buy_hold);
    out["bars"] = s.bars;
    out["last_position"] = json_number(s.last_position);
    out["position_changes"] = s.position_changes;
    if (cfg.fill_delay_bars != 0)
        out["fill_delay_bars"] = cfg.fill_delay_bars;
    if (!cfg.warnings.empty())
        out["warnings"] = cfg.warnings;
    return out;
}

}  // namespace quant::before
