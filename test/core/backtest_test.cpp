// run_backtest, evaluate_live and compute_metrics (core/include/quant/backtest.hpp) against an
// independent computation written here from backtest-semantics.md: pnl, cumulative, drawdown and
// the five metrics on small series, the fill delay as a manual shift, backtest/live parity, and
// the errors for too few bars.
#include "quant/backtest.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "quant/cpu.hpp"
#include "quant/error.hpp"
#include "quant/indicators/registry.hpp"
#include "quant/signals.hpp"
#include "quant/strategy_config.hpp"

namespace {

using quant::Json;
using Series = std::vector<double>;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

bool close_enough(double want, double got) {
    if (std::isnan(want) || std::isnan(got))
        return std::isnan(want) && std::isnan(got);
    const double diff = std::fabs(want - got);
    return diff <= 1e-12 || diff <= 1e-9 * std::fabs(want);
}

void expect_series(const Series& want, const Series& got, const std::string& what) {
    ASSERT_EQ(want.size(), got.size()) << what;
    for (std::size_t t = 0; t < want.size(); ++t) {
        EXPECT_TRUE(close_enough(want[t], got[t]))
            << what << " bar " << t << " expected " << want[t] << " got " << got[t];
    }
}

quant::OwnedBars bars_of(const Series& close) {
    quant::OwnedBars b;
    for (std::size_t t = 0; t < close.size(); ++t) {
        const double c = close[t];
        b.push_back(static_cast<std::int64_t>(t) * 86400000000LL, c, c * 1.01, c * 0.99, c, 1000.0);
    }
    return b;
}

quant::StrategyConfig config(const std::string& text) {
    return quant::parse_strategy_config(std::string_view(text));
}

// ---- the independent computation of backtest-semantics.md ------------------------------------------

struct Expected {
    Series pnl, cumu, dd, bh, bh_cumu, bh_dd;
    quant::Metrics metrics, buy_hold;
};

// Mean and sample SD (two-pass) over rows t >= first, NaN skipped.
void mean_sd(const Series& x, std::size_t first, double& mean, double& sd) {
    double sum = 0.0;
    std::size_t count = 0;
    for (std::size_t t = first; t < x.size(); ++t) {
        if (!std::isnan(x[t])) {
            sum += x[t];
            ++count;
        }
    }
    mean = count > 0 ? sum / static_cast<double>(count) : nan;
    double ss = 0.0;
    for (std::size_t t = first; t < x.size(); ++t) {
        if (!std::isnan(x[t]))
            ss += (x[t] - mean) * (x[t] - mean);
    }
    sd = count > 1 ? std::sqrt(ss / static_cast<double>(count - 1)) : nan;
}

void equity(const Series& pnl, Series& cumu, Series& dd, double& max_dd) {
    cumu.assign(pnl.size(), nan);
    dd.assign(pnl.size(), nan);
    max_dd = nan;
    double total = 0.0, peak = -std::numeric_limits<double>::infinity();
    for (std::size_t t = 0; t < pnl.size(); ++t) {
        if (std::isnan(pnl[t]))
            continue;  // a NaN bar stays NaN, the next continues the total
        total += pnl[t];
        peak = std::max(peak, total);
        cumu[t] = total;
        dd[t] = peak - total;
        if (std::isnan(max_dd) || dd[t] > max_dd)
            max_dd = dd[t];
    }
}

quant::Metrics metrics_of(const Series& pnl, const Series& cumu, double max_dd, std::size_t first,
                          int period) {
    quant::Metrics m;
    double mean = nan, sd = nan;
    mean_sd(pnl, first, mean, sd);
    m.total_return = cumu.empty() ? nan : cumu.back();
    m.annualized_return = mean * period;
    m.sharpe_ratio = (std::isnan(sd) || sd == 0.0) ? nan : mean / sd * std::sqrt(static_cast<double>(period));
    m.max_drawdown = max_dd;
    m.calmar_ratio = (std::isnan(max_dd) || max_dd == 0.0) ? nan : m.annualized_return / max_dd;
    return m;
}

// `held` is the position held on each bar (P, already delayed when there is a fill delay).
Expected expected_from(const Series& price, const Series& held, double fee_bps, std::size_t first_scored,
                       int period) {
    Expected e;
    const std::size_t n = price.size();
    e.pnl.assign(n, nan);
    e.bh.assign(n, nan);
    for (std::size_t t = 0; t < n; ++t) {
        const double chg = t > 0 ? price[t] / price[t - 1] - 1.0 : nan;
        const double prev = t > 0 ? held[t - 1] : nan;
        const double trade = std::fabs(held[t] - prev);
        e.pnl[t] = prev * chg - trade * fee_bps / 10000.0;
        e.bh[t] = std::isnan(prev) ? nan : chg;
    }
    double max_dd = nan, bh_max_dd = nan;
    equity(e.pnl, e.cumu, e.dd, max_dd);
    equity(e.bh, e.bh_cumu, e.bh_dd, bh_max_dd);
    e.metrics = metrics_of(e.pnl, e.cumu, max_dd, first_scored, period);
    e.buy_hold = metrics_of(e.bh, e.bh_cumu, bh_max_dd, first_scored, period);
    return e;
}

void expect_metrics(const quant::Metrics& want, const quant::Metrics& got, const std::string& what) {
    EXPECT_TRUE(close_enough(want.total_return, got.total_return))
        << what << " total_return " << want.total_return << " vs " << got.total_return;
    EXPECT_TRUE(close_enough(want.annualized_return, got.annualized_return))
        << what << " annualized_return " << want.annualized_return << " vs " << got.annualized_return;
    EXPECT_TRUE(close_enough(want.sharpe_ratio, got.sharpe_ratio))
        << what << " sharpe_ratio " << want.sharpe_ratio << " vs " << got.sharpe_ratio;
    EXPECT_TRUE(close_enough(want.max_drawdown, got.max_drawdown))
        << what << " max_drawdown " << want.max_drawdown << " vs " << got.max_drawdown;
    EXPECT_TRUE(close_enough(want.calmar_ratio, got.calmar_ratio))
        << what << " calmar_ratio " << want.calmar_ratio << " vs " << got.calmar_ratio;
}

void expect_backtest(const quant::StrategyConfig& cfg, const Series& price, const Series& held,
                     double fee_bps, const std::string& what) {
    const auto bars = bars_of(price);
    quant::BacktestSeries s;
    const auto summary = quant::run_backtest(cfg, bars.view(), fee_bps, &s);
    const auto e =
        expected_from(price, held, fee_bps, static_cast<std::size_t>(cfg.max_window()), cfg.trading_period);
    expect_series(held, s.position, what + " position");
    expect_series(e.pnl, s.pnl, what + " pnl");
    expect_series(e.cumu, s.cumulative, what + " cumulative");
    expect_series(e.dd, s.drawdown, what + " drawdown");
    expect_series(e.bh, s.buy_hold_pnl, what + " buy_hold_pnl");
    expect_series(e.bh_cumu, s.buy_hold_cumulative, what + " buy_hold_cumulative");
    expect_series(e.bh_dd, s.buy_hold_drawdown, what + " buy_hold_drawdown");
    expect_metrics(e.metrics, summary.metrics, what + " metrics");
    expect_metrics(e.buy_hold, summary.buy_hold, what + " buy_hold_metrics");
    EXPECT_EQ(summary.bars, price.size());
    // compute_metrics over the pnl column gives the same metrics.
    expect_metrics(
        e.metrics,
        quant::compute_metrics(e.pnl, static_cast<std::size_t>(cfg.max_window()), cfg.trading_period),
        what + " compute_metrics");
}

// A window-1 SMA is the price itself, so the positions can be read off the prices by hand:
// momentum_bounded_signal at 60 is +1 above 60, -1 below 40, 0 in [40, 60].
const char* const level_config = R"({"ticker": "T", "trading_period": 252, "substrategies": [
    {"indicator": "get_sma", "signal_func": "momentum_bounded_signal", "window": 1, "signal": 60}]})";

TEST(Backtest, SixBarsByHand) {
    const Series price{50, 70, 35, 80, 80, 45};
    const Series held{0, 1, -1, 1, 1, 0};
    const auto cfg = config(level_config);
    expect_backtest(cfg, price, held, 0.0, "fee 0");
    expect_backtest(cfg, price, held, 10.0, "fee 10 bps");

    // And a few numbers worked out on paper. chg = [., 0.4, -0.5, 8/7-1, 0, -0.4375];
    // pnl (fee 0) = P_prev*chg = [NaN, 0, -0.5, -(1/7), 0, -0.4375].
    const auto bars = bars_of(price);
    quant::BacktestSeries s;
    const auto r = quant::run_backtest(cfg, bars.view(), 0.0, &s);
    EXPECT_TRUE(std::isnan(s.pnl[0]));
    EXPECT_DOUBLE_EQ(s.pnl[2], -0.5);
    EXPECT_DOUBLE_EQ(s.pnl[3], -(80.0 / 35.0 - 1.0));
    EXPECT_DOUBLE_EQ(r.metrics.total_return, -0.5 - (80.0 / 35.0 - 1.0) - 0.4375);
    EXPECT_DOUBLE_EQ(r.metrics.max_drawdown, -r.metrics.total_return);  // never above 0 after bar 1
    EXPECT_EQ(r.last_position, 0.0);
    EXPECT_EQ(r.position_changes, 1u + 2u + 2u + 0u + 1u);
    // With 10 bps: trades |dP| = [NaN, 1, 2, 2, 0, 1] cost 0.001 each unit.
    const auto f = quant::run_backtest(cfg, bars.view(), 10.0, nullptr);
    EXPECT_NEAR(f.metrics.total_return, r.metrics.total_return - 0.001 * 6, 1e-15);
}

TEST(Backtest, ConstantPriceHasNoSharpeAndNoCalmar) {
    const Series price(8, 70.0);
    const auto cfg = config(level_config);
    const auto r = quant::run_backtest(cfg, bars_of(price).view(), 0.0);
    EXPECT_EQ(r.metrics.total_return, 0.0);
    EXPECT_TRUE(std::isnan(r.metrics.sharpe_ratio));  // std 0
    EXPECT_EQ(r.metrics.max_drawdown, 0.0);
    EXPECT_TRUE(std::isnan(r.metrics.calmar_ratio));  // drawdown 0
}

TEST(Backtest, TwoSubstrategiesByHand) {
    // OR of a momentum and a reversion rule on the same level: conflicts resolve to long.
    const auto cfg = config(R"({"ticker": "T", "trading_period": 365, "conjunction": "OR", "substrategies": [
        {"indicator": "get_sma", "signal_func": "momentum_bounded_signal", "window": 1, "signal": 60},
        {"indicator": "get_sma", "signal_func": "reversion_band_signal", "window": 1, "signal": 55}]})");
    const Series price{50, 70, 35, 80, 56, 45, 60};
    // sub 1: [0, 1, -1, 1, 0, 0, 0]; sub 2 (v > 55 -> -1): [0, -1, 0, -1, -1, 0, -1]
    const Series held{0, 1, -1, 1, -1, 0, -1};
    expect_backtest(cfg, price, held, 5.0, "OR");
}

TEST(Backtest, WarmupBarsAreNotScored) {
    // SMA(3) momentum band at 0: NaN positions on bars 0-1, first scored row is t >= 3.
    const auto cfg = config(R"({"ticker": "T", "trading_period": 252, "substrategies": [
        {"indicator": "get_sma_distance", "signal_func": "momentum_band_signal", "window": 3, "signal": 0.01}]})");
    const Series price{100, 101, 103, 102, 99, 98, 104, 107, 106, 101};
    Series held(price.size(), nan);
    for (std::size_t t = 2; t < price.size(); ++t) {
        const double d = price[t] / ((price[t] + price[t - 1] + price[t - 2]) / 3.0) - 1.0;
        held[t] = d > 0.01 ? 1.0 : d < -0.01 ? -1.0 : 0.0;
    }
    expect_backtest(cfg, price, held, 2.5, "sma_distance(3)");
}

// fill_delay_bars = 1 holds the decision of the bar before: the same as shifting P by one bar.
TEST(Backtest, FillDelayIsAManualShift) {
    const std::string text =
        R"({"ticker": "T", "trading_period": 252, "fill_delay_bars": 1, "substrategies": [
        {"indicator": "get_bollinger_band", "signal_func": "reversion_band_signal", "window": 5, "signal": 0.5}]})";
    const auto delayed = config(text);
    Json doc = Json::parse(text);
    doc.erase("fill_delay_bars");
    const auto immediate = config(doc.dump());
    Series price;
    double p = 100.0;
    for (int t = 0; t < 60; ++t) {
        p *= 1.0 + 0.013 * std::sin(t * 1.7) + 0.004 * std::cos(t * 0.3);
        price.push_back(p);
    }
    const auto bars = bars_of(price);
    quant::BacktestSeries now, later;
    const auto r_now = quant::run_backtest(immediate, bars.view(), 5.0, &now);
    const auto r_later = quant::run_backtest(delayed, bars.view(), 5.0, &later);
    Series shifted(price.size(), nan);
    for (std::size_t t = 1; t < price.size(); ++t)
        shifted[t] = now.position[t - 1];
    expect_backtest(delayed, price, shifted, 5.0, "fill_delay_bars=1");
    EXPECT_EQ(r_now.last_position, r_later.last_position);  // both report the latest decision
    // Bar 0 of the delayed run has nothing to hold yet.
    EXPECT_TRUE(std::isnan(later.position[0]));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Backtest/live parity: the live signal is the backtest's last position, on the golden configs
// (real data) and on a few prefixes of the history.
TEST(Backtest, LiveSignalEqualsLastPosition) {
    const std::string root = QUANT_TEST_DATA_DIR;
    const auto golden = Json::parse(read_file(root + "/test/golden/golden_backtests.json"));
    std::vector<Json> configs;
    for (const auto& c : golden["cases"])
        configs.push_back(c["config"]);
    configs.push_back(Json::parse(R"({"ticker": "T", "trading_period": 252, "conjunction": "FILTER",
        "fill_delay_bars": 2, "substrategies": [
        {"indicator": "get_rsi_wilder", "signal_func": "momentum_bounded_signal", "window": 14, "signal": 55},
        {"indicator": "get_ema_distance", "signal_func": "momentum_band_signal", "window": 30, "signal": 0.0},
        {"indicator": "get_stochastic_oscillator", "signal_func": "reversion_bounded_signal_long_only",
         "window": 9, "signal": 80}]})"));
    const auto full = quant::read_bars_csv(read_file(root + "/data/ttrc_daily_ohlcv.csv"));
    int checked = 0;
    for (const auto& doc : configs) {
        const auto cfg = quant::parse_strategy_config(doc);
        for (std::size_t len : {full.close.size(), std::size_t{400}, std::size_t{250}}) {
            quant::OwnedBars bars;
            for (std::size_t t = 0; t < len; ++t) {
                bars.push_back(full.ts[t], full.open[t], full.high[t], full.low[t], full.close[t],
                               full.volume[t]);
            }
            const auto backtest = quant::run_backtest(cfg, bars.view(), 5.0);
            const auto live = quant::evaluate_live(cfg, bars.view());
            EXPECT_TRUE(close_enough(backtest.last_position, live.signal))
                << doc.dump() << " on " << len << " bars: backtest " << backtest.last_position << " live "
                << live.signal;
            EXPECT_EQ(live.bar_ts, bars.ts.back());
            EXPECT_EQ(live.position.size(), cfg.substrategies.size());
            ++checked;
        }
    }
    EXPECT_EQ(checked, 69 * 3);
}

void expect_error(const quant::StrategyConfig& cfg, const quant::OwnedBars& bars, quant::ErrorCode code,
                  const std::string& field) {
    for (int which = 0; which < 2; ++which) {
        try {
            if (which == 0) {
                (void)quant::run_backtest(cfg, bars.view(), 0.0);
            } else {
                (void)quant::evaluate_live(cfg, bars.view());
            }
            ADD_FAILURE() << (which == 0 ? "run_backtest" : "evaluate_live") << " accepted "
                          << bars.close.size() << " bars";
        } catch (const quant::Error& e) {
            EXPECT_EQ(e.code(), code) << e.what();
            EXPECT_EQ(e.field(), field) << e.what();
        }
    }
}

TEST(Backtest, InsufficientAndNoData) {
    const auto cfg = config(R"({"ticker": "T", "trading_period": 252, "substrategies": [
        {"indicator": "get_sma", "signal_func": "momentum_band_signal", "window": 3, "signal": 0},
        {"indicator": "get_bollinger_band", "signal_func": "momentum_band_signal", "window": 20, "signal": 1}]})");
    Series price(19);
    for (std::size_t t = 0; t < price.size(); ++t)
        price[t] = 100.0 + static_cast<double>(t % 3);
    // Bollinger(20) is first defined on bar 19: 19 bars are one too few, for substrategy 1.
    expect_error(cfg, bars_of(price), quant::ErrorCode::insufficient_data, "substrategies[1].window");
    price.push_back(101.0);
    EXPECT_NO_THROW((void)quant::run_backtest(cfg, bars_of(price).view(), 0.0));
    // A fill delay needs that many more bars.
    const auto delayed =
        config(R"({"ticker": "T", "trading_period": 252, "fill_delay_bars": 1, "substrategies": [
        {"indicator": "get_rsi", "signal_func": "momentum_bounded_signal", "window": 14, "signal": 70}]})");
    expect_error(delayed, bars_of(Series(15, 1.0)), quant::ErrorCode::insufficient_data,
                 "substrategies[0].window");
    EXPECT_NO_THROW((void)quant::run_backtest(delayed, bars_of(Series(16, 1.0)).view(), 0.0));
    expect_error(cfg, quant::OwnedBars{}, quant::ErrorCode::no_data, "ticker");
}

}  // namespace

// The optimizer scores cells without buy-and-hold through the loop without NaN branches; it must
// give the generic loop's metrics to the bit, on every golden config and fill delay.
TEST(ScorePositions, TheLoopWithoutGapsEqualsTheGenericLoopToTheBit) {
    const std::string root = QUANT_TEST_DATA_DIR;
    std::ifstream in(root + "/test/golden/golden_backtests.json");
    std::stringstream text;
    text << in.rdbuf();
    const auto doc = quant::Json::parse(text.str());
    int checked = 0;
    for (const auto& c : doc["cases"]) {
        std::ifstream data(root + "/data/" + c["data"].get<std::string>());
        std::stringstream csv;
        csv << data.rdbuf();
        const auto bars = quant::read_bars_csv(csv.str());
        for (int delay : {0, 1, 3}) {
            auto cfg = quant::parse_strategy_config(c["config"]);
            cfg.fill_delay_bars = delay;
            const std::size_t n = bars.close.size();
            std::vector<quant::PositionCode> codes(n * cfg.substrategies.size()), decided(n);
            std::vector<double> ind(n);
            for (std::size_t j = 0; j < cfg.substrategies.size(); ++j) {
                const auto& s = cfg.substrategies[j];
                s.indicator->compute(bars.view(), s.data_column, s.window, ind);
                quant::signal_codes(s, ind, std::span<quant::PositionCode>(codes).subspan(j * n, n));
            }
            for (std::size_t t = 0; t < n; ++t) {
                std::array<quant::PositionCode, 16> bar{};
                for (std::size_t j = 0; j < cfg.substrategies.size(); ++j)
                    bar[j] = codes[j * n + t];
                decided[t] = quant::combine_codes(cfg.conjunction, bar.data(), cfg.substrategies.size());
            }
            const auto change = quant::price_changes(bars.close);
            quant::ScoreInput si;
            si.decided = decided;
            si.price = bars.close;
            si.change = change;
            si.fill_delay_bars = delay;
            si.trading_period = cfg.trading_period;
            si.first_scored = static_cast<std::size_t>(cfg.max_window());
            si.fee_bps = c["fee_bps"].get<double>();
            si.score_buy_hold = true;
            const auto generic = quant::score_positions(si);
            si.score_buy_hold = false;
            const auto fast = quant::score_positions(si);
            const auto same = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
            const auto& g = generic.metrics;
            const auto& f = fast.metrics;
            EXPECT_TRUE(same(g.total_return, f.total_return) &&
                        same(g.annualized_return, f.annualized_return) &&
                        same(g.sharpe_ratio, f.sharpe_ratio) && same(g.max_drawdown, f.max_drawdown) &&
                        same(g.calmar_ratio, f.calmar_ratio))
                << c["config"].dump() << " delay " << delay;
            EXPECT_EQ(generic.position_changes, fast.position_changes);
            EXPECT_TRUE(same(generic.last_position, fast.last_position));
            // and both equal run_backtest
            EXPECT_TRUE(
                same(quant::run_backtest(cfg, bars.view(), si.fee_bps).metrics.sharpe_ratio, f.sharpe_ratio));
            ++checked;
        }
    }
    EXPECT_EQ(checked, 68 * 3);
}

// Cells scored side by side (score_lanes) get exactly what score_positions gives each alone: with
// the AVX2 form where the CPU has it, and with the SSE2 form (cpu::use_avx2(false)) everywhere.
namespace {
void lanes_equal_one_by_one() {
    const std::string root = QUANT_TEST_DATA_DIR;
    std::ifstream in(root + "/test/golden/golden_backtests.json");
    std::stringstream text;
    text << in.rdbuf();
    const auto doc = quant::Json::parse(text.str());
    const auto same = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
    int checked = 0;
    for (const auto& c : doc["cases"]) {
        auto cfg = quant::parse_strategy_config(c["config"]);
        if (cfg.substrategies.size() != 1)
            continue;
        std::ifstream data(root + "/data/" + c["data"].get<std::string>());
        std::stringstream csv;
        csv << data.rdbuf();
        const auto bars = quant::read_bars_csv(csv.str());
        const std::size_t n = bars.close.size();
        std::vector<double> ind(n);
        const auto& sub0 = cfg.substrategies[0];
        sub0.indicator->compute(bars.view(), sub0.data_column, sub0.window, ind);
        // four thresholds of the same indicator: four lanes with the same first defined bar
        std::array<std::vector<quant::PositionCode>, 4> codes;
        std::array<std::span<const quant::PositionCode>, 4> lanes;
        const double factors[4] = {1.0, 0.5, 2.0, 0.0};
        for (std::size_t l = 0; l < 4; ++l) {
            auto sub = sub0;
            sub.signal = sub0.signal * factors[l];
            codes[l].resize(n);
            quant::signal_codes(sub, ind, codes[l]);
            lanes[l] = codes[l];
        }
        const auto change = quant::price_changes(bars.close);
        for (int delay : {0, 2}) {
            quant::ScoreInput si;
            si.price = bars.close;
            si.change = change;
            si.fill_delay_bars = delay;
            si.trading_period = cfg.trading_period;
            si.first_scored = static_cast<std::size_t>(sub0.window);
            si.fee_bps = c["fee_bps"].get<double>();
            si.score_buy_hold = false;
            for (std::size_t count : {4u, 3u, 1u}) {
                std::array<quant::BacktestSummary, 4> together{};
                ASSERT_TRUE(quant::score_lanes(
                    std::span<const std::span<const quant::PositionCode>>(lanes.data(), count), si,
                    together));
                for (std::size_t l = 0; l < count; ++l) {
                    si.decided = lanes[l];
                    const auto alone = quant::score_positions(si);
                    const auto& a = alone.metrics;
                    const auto& b = together[l].metrics;
                    EXPECT_TRUE(same(a.total_return, b.total_return) &&
                                same(a.annualized_return, b.annualized_return) &&
                                same(a.sharpe_ratio, b.sharpe_ratio) &&
                                same(a.max_drawdown, b.max_drawdown) && same(a.calmar_ratio, b.calmar_ratio))
                        << c["config"].dump() << " lane " << l << " delay " << delay;
                    EXPECT_EQ(alone.position_changes, together[l].position_changes);
                    ++checked;
                }
            }
        }
    }
    EXPECT_GT(checked, 400);
}
}  // namespace

TEST(ScorePositions, LanesEqualOneByOneToTheBit) {
    lanes_equal_one_by_one();
}

TEST(ScorePositions, LanesEqualOneByOneToTheBitWithoutAvx2) {
    quant::cpu::use_avx2(false);
    lanes_equal_one_by_one();
    quant::cpu::use_avx2(true);
}

// signal_codes makes eight codes at a time from compare masks: on every signal function, series of
// every length up to 40 (the tail) and of 1,000 bars, with NaN, infinities and values exactly on
// the thresholds (-s, s, 100 - s), each code is the definition's (apply_signal_func) as a code.
TEST(SignalCodes, EqualTheDefinitionOnEveryBar) {
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::mt19937_64 rng(808);
    int checked = 0;
    for (const auto& f : quant::signal_func_registry()) {
        for (const double s : {0.0, 0.5, 30.0, 70.0, -2.0}) {
            const double specials[] = {s, -s, 100.0 - s, nan, inf, -inf, 0.0, -0.0, 50.0};
            for (std::size_t n = 0; n <= 1000; n = n == 40 ? 1000 : n + 1) {
                std::vector<double> x(n);
                std::uniform_real_distribution<double> u(-120.0, 120.0);
                for (auto& v : x)
                    v = rng() % 3 == 0 ? specials[rng() % std::size(specials)] : u(rng);
                quant::SubStrategy sub;
                sub.signal_func = &f;
                sub.signal = s;
                std::vector<quant::PositionCode> codes(n, 7);
                quant::signal_codes(sub, x, codes);
                for (std::size_t t = 0; t < n; ++t) {
                    const double p = quant::apply_signal_func(f.kind, f.long_only, x[t], s);
                    const quant::PositionCode want =
                        std::isnan(p) ? quant::undefined_position : static_cast<quant::PositionCode>(p);
                    ASSERT_EQ(codes[t], want)
                        << f.name << " s=" << s << " n=" << n << " t=" << t << " v=" << x[t];
                    ++checked;
                }
            }
        }
    }
    EXPECT_EQ(checked, 8 * 5 * (40 * 41 / 2 + 1000));
}
