#include "quant/backtest.hpp"

#include "quant/cancel.hpp"
#include "quant/error.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace quant {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Mean and sample standard deviation with NaN skipped (Welford: one pass, no cancellation).
struct RunningStats {
    std::size_t count = 0;
    double mean = 0.0, m2 = 0.0;
    void add(double v) {
        if (std::isnan(v)) return;
        ++count;
        const double d = v - mean;
        mean += d / static_cast<double>(count);
        m2 += d * (v - mean);
    }
    double average() const { return count > 0 ? mean : nan; }
    double stddev() const { return count > 1 ? std::sqrt(m2 / static_cast<double>(count - 1)) : nan; }
};

// Cumulative sum and drawdown from the running peak, NaN bars skipped (they stay NaN).
struct Equity {
    double total = 0.0, peak = -std::numeric_limits<double>::infinity(), max_dd = nan;
    bool any = false;
    void add(double pnl, double& cumulative, double& drawdown) {
        if (std::isnan(pnl)) {
            cumulative = drawdown = nan;
            return;
        }
        total += pnl;
        any = true;
        peak = std::max(peak, total);
        cumulative = total;
        drawdown = peak - total;
        if (std::isnan(max_dd) || drawdown > max_dd) max_dd = drawdown;
    }
};

Metrics finish_metrics(const RunningStats& scored, const Equity& eq, int trading_period, double last_cumulative) {
    Metrics m;
    m.total_return = last_cumulative;
    m.annualized_return = scored.average() * trading_period;
    const double sd = scored.stddev();
    m.sharpe_ratio = (std::isnan(sd) || sd == 0.0) ? nan : scored.average() / sd * std::sqrt(trading_period);
    m.max_drawdown = eq.max_dd;
    m.calmar_ratio = (std::isnan(m.max_drawdown) || m.max_drawdown == 0.0) ? nan : m.annualized_return / m.max_drawdown;
    return m;
}

}  // namespace

void check_bars_for(const StrategyConfig& cfg, const BarSeries& bars) {
    const std::size_t n = bars.size();
    if (n == 0) {
        throw Error(ErrorCode::no_data, "ticker", "ticker \"" + cfg.ticker + "\" has no bars",
                    "load bars into md.bar (quant.load_bars_csv) or check the ticker and the date range");
    }
    for (std::size_t i = 0; i < cfg.substrategies.size(); ++i) {
        const auto& s = cfg.substrategies[i];
        const auto first = static_cast<std::size_t>(s.indicator->first_defined(s.window)) + cfg.fill_delay_bars;
        if (first + 1 > n) {
            throw Error(ErrorCode::insufficient_data, "substrategies[" + std::to_string(i) + "].window",
                        "substrategies[" + std::to_string(i) + "].window: " + std::string(s.indicator->name) +
                            " with window " + std::to_string(s.window) + " needs at least " +
                            std::to_string(first + 1) + " bars, but \"" + cfg.ticker + "\" has " +
                            std::to_string(n) + " in the range",
                        "use a smaller window or a longer date range");
        }
    }
}

BacktestSummary run_backtest(const StrategyConfig& cfg, const BarSeries& bars, double fee_bps,
                             BacktestSeries* series) {
    check_bars_for(cfg, bars);
    const std::size_t n = bars.size();
    const std::size_t k = cfg.substrategies.size();

    std::vector<std::vector<double>> local_indicators;
    std::vector<std::vector<double>>& ind = series != nullptr ? series->indicator : local_indicators;
    ind.assign(k, std::vector<double>(n));
    for (std::size_t j = 0; j < k; ++j) {
        const auto& s = cfg.substrategies[j];
        s.indicator->compute(bars, s.data_column, s.window, ind[j]);
        check_for_interrupts();
    }
    if (series != nullptr) {
        series->substrategy_position.assign(k, std::vector<double>(n));
        for (auto* col : {&series->price, &series->position, &series->pnl, &series->cumulative, &series->drawdown,
                          &series->buy_hold_pnl, &series->buy_hold_cumulative, &series->buy_hold_drawdown}) {
            col->assign(n, nan);
        }
    }

    const double fee = fee_bps / 10000.0;
    const auto delay = static_cast<std::size_t>(cfg.fill_delay_bars);
    const auto first_scored = static_cast<std::size_t>(cfg.max_window());
    // Combined positions kept for the fill delay (a ring of delay+1).
    std::vector<double> decided(delay + 1, nan);
    std::array<double, max_substrategies> pos{};

    RunningStats scored, bh_scored;
    Equity eq, bh_eq;
    double held_prev = nan, cumulative = nan, drawdown = nan, bh_cumulative = nan, bh_drawdown = nan;
    double last_decided = nan;
    std::size_t changes = 0;
    const auto price = bars.close;
    for (std::size_t t = 0; t < n; ++t) {
        for (std::size_t j = 0; j < k; ++j) {
            const auto& s = cfg.substrategies[j];
            pos[j] = apply_signal_func(s.signal_func->kind, s.signal_func->long_only, ind[j][t], s.signal);
        }
        last_decided = combine_positions(cfg.conjunction, std::span<const double>(pos.data(), k));
        decided[t % (delay + 1)] = last_decided;
        const double held = t >= delay ? decided[(t - delay) % (delay + 1)] : nan;

        const double chg = t > 0 ? price[t] / price[t - 1] - 1.0 : nan;
        const double trade = std::fabs(held - held_prev);
        const double pnl = held_prev * chg - trade * fee;
        const double bh = std::isnan(held_prev) ? nan : chg;
        if (trade > 0.0) changes += static_cast<std::size_t>(trade);
        eq.add(pnl, cumulative, drawdown);
        bh_eq.add(bh, bh_cumulative, bh_drawdown);
        if (t >= first_scored) {
            scored.add(pnl);
            bh_scored.add(bh);
        }
        if (series != nullptr) {
            for (std::size_t j = 0; j < k; ++j) series->substrategy_position[j][t] = pos[j];
            series->price[t] = price[t];
            series->position[t] = held;
            series->pnl[t] = pnl;
            series->cumulative[t] = cumulative;
            series->drawdown[t] = drawdown;
            series->buy_hold_pnl[t] = bh;
            series->buy_hold_cumulative[t] = bh_cumulative;
            series->buy_hold_drawdown[t] = bh_drawdown;
        }
        held_prev = held;
        if ((t & 0xFFFF) == 0xFFFF) check_for_interrupts();
    }

    BacktestSummary out;
    out.metrics = finish_metrics(scored, eq, cfg.trading_period, cumulative);
    out.buy_hold = finish_metrics(bh_scored, bh_eq, cfg.trading_period, bh_cumulative);
    out.last_position = last_decided;
    out.bars = n;
    out.position_changes = changes;
    out.first_ts = bars.ts.empty() ? 0 : bars.ts.front();
    out.last_ts = bars.ts.empty() ? 0 : bars.ts.back();
    return out;
}

LiveSignal evaluate_live(const StrategyConfig& cfg, const BarSeries& bars) {
    check_bars_for(cfg, bars);
    const std::size_t n = bars.size();
    LiveSignal live;
    live.bar_ts = bars.ts.empty() ? 0 : bars.ts.back();
    std::vector<double> values(n);
    std::array<double, max_substrategies> pos{};
    for (std::size_t j = 0; j < cfg.substrategies.size(); ++j) {
        const auto& s = cfg.substrategies[j];
        s.indicator->compute(bars, s.data_column, s.window, values);
        live.indicator_value.push_back(values[n - 1]);
        pos[j] = apply_signal_func(s.signal_func->kind, s.signal_func->long_only, values[n - 1], s.signal);
        live.position.push_back(pos[j]);
    }
    live.signal = combine_positions(cfg.conjunction, std::span<const double>(pos.data(), cfg.substrategies.size()));
    return live;
}

Metrics compute_metrics(std::span<const double> pnl, std::size_t first_scored, int trading_period) {
    RunningStats scored;
    Equity eq;
    double cumulative = nan, drawdown = nan;
    for (std::size_t t = 0; t < pnl.size(); ++t) {
        eq.add(pnl[t], cumulative, drawdown);
        if (t >= first_scored) scored.add(pnl[t]);
    }
    return finish_metrics(scored, eq, trading_period, cumulative);
}

Json metrics_json(const Metrics& m) {
    return Json{{"total_return", json_number(m.total_return)},
                {"annualized_return", json_number(m.annualized_return)},
                {"sharpe_ratio", json_number(m.sharpe_ratio)},
                {"max_drawdown", json_number(m.max_drawdown)},
                {"calmar_ratio", json_number(m.calmar_ratio)}};
}

Json live_signal_json(const StrategyConfig& cfg, const LiveSignal& live) {
    Json subs = Json::array();
    for (std::size_t j = 0; j < cfg.substrategies.size(); ++j) {
        const auto& s = cfg.substrategies[j];
        subs.push_back(Json{{"id", s.id},
                            {"indicator", s.indicator->name},
                            {"signal_func", s.signal_func->name},
                            {"window", s.window},
                            {"value", json_number(live.indicator_value[j])},
                            {"position", json_number(live.position[j])}});
    }
    Json out = Json::object();
    if (!cfg.strategy_id.empty()) out["strategy_id"] = cfg.strategy_id;
    out["ticker"] = cfg.ticker;
    out["bar_ts"] = format_timestamp(live.bar_ts);
    out["signal"] = json_number(live.signal);
    out["conjunction"] = conjunction_name(cfg.conjunction);
    out["substrategies"] = std::move(subs);
    return out;
}

Json backtest_results_json(const StrategyConfig& cfg, const BacktestSummary& s, double fee_bps,
                           std::int64_t run_at_unix_micros) {
    Json out = Json::object();
    if (!cfg.strategy_id.empty()) out["strategy_id"] = cfg.strategy_id;
    out["run_at"] = format_timestamp(run_at_unix_micros);
    out["data_range"] = Json{{"start", format_date(s.first_ts)}, {"end", format_date(s.last_ts)}};
    out["ticker_backtested"] = cfg.ticker;
    out["fee_bps"] = json_number(fee_bps);
    out["metrics"] = metrics_json(s.metrics);
    out["buy_hold_metrics"] = metrics_json(s.buy_hold);
    out["bars"] = s.bars;
    out["last_position"] = json_number(s.last_position);
    out["position_changes"] = s.position_changes;
    if (cfg.fill_delay_bars != 0) out["fill_delay_bars"] = cfg.fill_delay_bars;
    if (!cfg.warnings.empty()) out["warnings"] = cfg.warnings;
    return out;
}

}  // namespace quant
