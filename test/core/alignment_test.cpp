// Indicator underlyings (quant/alignment.hpp, quant/strategy_bars.hpp): alignment of a factor
// product to the trading bars, the coverage rule, the NaN rules of the indicators over gaps, and
// golden_cross.json through the core.
#include "quant/alignment.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "quant/backtest.hpp"
#include "quant/error.hpp"
#include "quant/indicators/indicators.hpp"
#include "quant/strategy_bars.hpp"

namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t day = 86'400'000'000;

using Series = std::vector<double>;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool same(double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || a == b;
}

bool near(double want, double got, double rel = 1e-12, double abs = 1e-12) {
    if (std::isnan(want) || std::isnan(got))
        return std::isnan(want) && std::isnan(got);
    return std::fabs(want - got) <= std::max(abs, rel * std::fabs(want));
}

// Bars at the given days; every column is the day number plus a per-column offset, so an
// aligned value tells which bar it came from.
quant::OwnedBars bars_at(const std::vector<std::int64_t>& days) {
    quant::OwnedBars b;
    for (auto d : days) {
        const auto v = static_cast<double>(d);
        b.push_back(d * day, v + 0.1, v + 0.2, v - 0.2, v, 1000.0 + v);
    }
    return b;
}

// A random strictly ascending set of days in [0, span).
std::vector<std::int64_t> gen_days(int span) {
    const auto keep =
        *rc::gen::container<std::vector<bool>>(static_cast<std::size_t>(span), rc::gen::arbitrary<bool>());
    std::vector<std::int64_t> out;
    for (int d = 0; d < span; ++d) {
        if (keep[static_cast<std::size_t>(d)])
            out.push_back(d);
    }
    return out;
}

quant::StrategyConfig config(const std::string& json) {
    return quant::parse_strategy_config(std::string_view(json));
}

}  // namespace

// ---- alignment ----------------------------------------------------------------------------------

TEST(Alignment, ExactTakesTheBarAtTheSameTimeAndNaNElsewhere) {
    const auto trading = bars_at({1, 2, 3, 5, 8});
    const auto product = bars_at({0, 2, 3, 4, 8, 9});
    const auto a = quant::align_bars(trading.ts, product.view(), quant::Align::exact);
    const Series want{NaN, 2, 3, NaN, 8};
    for (std::size_t t = 0; t < want.size(); ++t) {
        EXPECT_TRUE(same(want[t], a.close[t])) << t;
        EXPECT_EQ(trading.ts[t], a.ts[t]);
    }
    EXPECT_TRUE(same(a.high[2], 3.2));
    EXPECT_EQ(quant::covered_bars(trading.ts, product.view(), quant::Align::exact), 3u);
}

TEST(Alignment, AsofCarriesTheLastBarAtOrBeforeAndNeverANewerOne) {
    const auto trading = bars_at({1, 2, 3, 5, 8});
    const auto product = bars_at({2, 4, 9});
    const auto a = quant::align_bars(trading.ts, product.view(), quant::Align::asof);
    const Series want{NaN, 2, 2, 4, 4};
    for (std::size_t t = 0; t < want.size(); ++t)
        EXPECT_TRUE(same(want[t], a.close[t])) << t;
    // bars in (previous, this]: 2 for day 2, 4 for day 5
    EXPECT_EQ(quant::covered_bars(trading.ts, product.view(), quant::Align::asof), 2u);
}

// Exact alignment equals a naive join on the time.
RC_GTEST_PROP(AlignmentProperties, ExactEqualsNaiveJoin, ()) {
    const auto trading = bars_at(gen_days(*rc::gen::inRange(0, 80)));
    const auto product = bars_at(gen_days(*rc::gen::inRange(0, 80)));
    const auto a = quant::align_bars(trading.ts, product.view(), quant::Align::exact);
    RC_ASSERT(a.ts == trading.ts);
    std::size_t covered = 0;
    for (std::size_t t = 0; t < trading.ts.size(); ++t) {
        double o = NaN, h = NaN, l = NaN, c = NaN, v = NaN;
        for (std::size_t i = 0; i < product.ts.size(); ++i) {
            if (product.ts[i] == trading.ts[t]) {
                o = product.open[i], h = product.high[i], l = product.low[i], c = product.close[i],
                v = product.volume[i];
                ++covered;
            }
        }
        RC_ASSERT(same(o, a.open[t]) && same(h, a.high[t]) && same(l, a.low[t]) && same(c, a.close[t]) &&
                  same(v, a.volume[t]));
    }
    RC_ASSERT(quant::covered_bars(trading.ts, product.view(), quant::Align::exact) == covered);
}

// As-of alignment takes the latest product bar at or before the trading bar: never a newer one.
RC_GTEST_PROP(AlignmentProperties, AsofNeverUsesANewerBar, ()) {
    const auto trading = bars_at(gen_days(*rc::gen::inRange(0, 80)));
    const auto product = bars_at(gen_days(*rc::gen::inRange(0, 80)));
    const auto a = quant::align_bars(trading.ts, product.view(), quant::Align::asof);
    for (std::size_t t = 0; t < trading.ts.size(); ++t) {
        double latest = NaN;  // the naive as-of: the last bar with ts <= the trading bar's
        for (std::size_t i = 0; i < product.ts.size(); ++i) {
            if (product.ts[i] <= trading.ts[t])
                latest = product.close[i];
        }
        RC_ASSERT(same(latest, a.close[t]));
        if (!std::isnan(a.close[t]))  // the close is the source bar's day
            RC_ASSERT(static_cast<std::int64_t>(a.close[t]) * day <= trading.ts[t]);
    }
}

// ---- the strategy's bars ---------------------------------------------------------------------

TEST(StrategyBars, CoverageUnder80PercentIsRefusedNamingBothProductsAndTheShare) {
    const auto trading = bars_at({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    const auto product = bars_at({0, 1, 2, 3, 4, 5, 6});  // 7 of 10
    const auto cfg = config(R"({"ticker":"SPY","trading_period":252,"substrategies":[
        {"indicator":"get_sma","signal_func":"momentum_band_signal","window":2,"signal":0},
        {"indicator":"get_sma","signal_func":"momentum_band_signal","window":2,"signal":0,"ticker":"VIX"}]})");
    const std::vector<quant::ProductBars> products{{"VIX", product.view()}};
    try {
        (void)quant::align_strategy_bars(cfg, trading.view(), products);
        FAIL() << "accepted 70% coverage";
    } catch (const quant::Error& e) {
        EXPECT_EQ(e.code(), quant::ErrorCode::insufficient_data);
        EXPECT_EQ(e.field(), "substrategies[1].ticker");
        const std::string m = e.what();
        EXPECT_NE(m.find("\"VIX\""), std::string::npos) << m;
        EXPECT_NE(m.find("\"SPY\""), std::string::npos) << m;
        EXPECT_NE(m.find("70.0%"), std::string::npos) << m;
    }
    const auto enough = bars_at({0, 1, 2, 3, 4, 5, 6, 7});  // 80% passes
    const std::vector<quant::ProductBars> ok{{"VIX", enough.view()}};
    EXPECT_NO_THROW((void)quant::align_strategy_bars(cfg, trading.view(), ok));
}

TEST(StrategyBars, AMissingProductIsAnErrorNamingIt) {
    const auto trading = bars_at({0, 1, 2, 3});
    const auto cfg = config(R"({"ticker":"SPY","trading_period":252,"substrategies":[
        {"indicator":"get_sma","signal_func":"momentum_band_signal","window":2,"signal":0,"ticker":"VIX"}]})");
    try {
        (void)quant::align_strategy_bars(cfg, trading.view(), {});
        FAIL() << "accepted a missing product";
    } catch (const quant::Error& e) {
        EXPECT_EQ(e.code(), quant::ErrorCode::no_data);
        EXPECT_EQ(e.field(), "substrategies[0].ticker");
        EXPECT_NE(std::string(e.what()).find("\"VIX\""), std::string::npos) << e.what();
    }
    // and the bars of one product alone do not do for it
    EXPECT_THROW((void)quant::run_backtest(cfg, trading.view(), 0.0), quant::Error);
}

TEST(StrategyBars, TheStochasticOfAFactorProductReadsItsHighLowClose) {
    quant::OwnedBars trading, product;
    for (int d = 0; d < 40; ++d) {
        trading.push_back(d * day, 10, 11 + d % 3, 9, 10 + 0.1 * d, 1);
        product.push_back(d * day, 50, 60 + (d * 7) % 5, 40 - d % 4, 50 + (d * 3) % 7, 1);
    }
    const auto cfg = config(R"({"ticker":"A","trading_period":252,"substrategies":[
        {"indicator":"get_stochastic_oscillator","signal_func":"momentum_bounded_signal","window":5,"signal":80,"ticker":"B"}]})");
    const std::vector<quant::ProductBars> products{{"B", product.view()}};
    quant::BacktestSeries series;
    (void)quant::run_backtest(cfg, quant::align_strategy_bars(cfg, trading.view(), products), 0.0, &series);
    Series want(40);
    quant::indicators::stochastic(product.high, product.low, product.close, 5, want);
    for (std::size_t t = 0; t < want.size(); ++t)
        EXPECT_TRUE(same(want[t], series.indicator[0][t])) << t;
}

TEST(StrategyBars, NamingTheTradedProductIsTheOneProductBacktest) {
    const auto bars =
        quant::read_bars_csv(read_file(std::string(QUANT_TEST_DATA_DIR) + "/data/msft_2000_2001_ohlcv.csv"));
    const auto plain = config(R"({"ticker":"MSFT","trading_period":252,"substrategies":[
        {"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":70}]})");
    const auto named = config(R"({"ticker":"MSFT","trading_period":252,"substrategies":[
        {"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":70,"ticker":"MSFT"}]})");
    const auto a = quant::run_backtest(plain, bars.view(), 5.0);
    const auto b = quant::run_backtest(named, quant::align_strategy_bars(named, bars.view(), {}), 5.0);
    EXPECT_TRUE(same(a.metrics.sharpe_ratio, b.metrics.sharpe_ratio));
    EXPECT_TRUE(same(a.metrics.total_return, b.metrics.total_return));
}

// ---- the NaN rules ------------------------------------------------------------------------------

TEST(NaNRules, RollingWindowsAreNaNWhileTheyHoldANaNAndRecover) {
    const Series x{1, 2, 3, NaN, 5, 6, 7, 8};
    Series sma(x.size()), bb(x.size());
    quant::indicators::sma(x, 3, sma);
    quant::indicators::bollinger(x, 3, bb);
    const Series want_sma{NaN, NaN, 2, NaN, NaN, NaN, 6, 7};
    for (std::size_t t = 0; t < x.size(); ++t) {
        EXPECT_TRUE(same(want_sma[t], sma[t])) << "sma " << t;
        EXPECT_EQ(std::isnan(bb[t]), std::isnan(want_sma[t])) << "bollinger " << t;
    }
}

// Cutler's RSI drops the NaN deltas (the original engine's x.diff().dropna(), golden_cross.json):
// its means run over the last n defined deltas, however many bars they span; a bar whose own
// delta is NaN is NaN, and no delta bridges the gap.
TEST(NaNRules, RsiDropsTheNaNDeltasAndItsWindowSpansTheGap) {
    const Series x{1, 2, 1, NaN, 3, 5, 4};
    Series rsi(x.size());
    quant::indicators::rsi(x, 2, rsi);
    // deltas: -, 1, -1, NaN, NaN, 2, -1 -> defined at bars 1, 2, 5, 6.
    // bar 2: {1, -1} -> 50; bar 5: {-1, 2} (across the gap) -> up 1, down 0.5; bar 6: {2, -1}.
    const double two_thirds = 100.0 - 100.0 / (1.0 + 1.0 / 0.5);
    const Series want{NaN, NaN, 50, NaN, NaN, two_thirds, two_thirds};
    for (std::size_t t = 0; t < x.size(); ++t)
        EXPECT_TRUE(near(want[t], rsi[t], 1e-12)) << "rsi " << t;
    // Without a NaN delta it is the rolling window over the bars.
    const Series y{1, 2, 1, 3, 5, 4};
    Series r(y.size());
    quant::indicators::rsi(y, 2, r);
    EXPECT_TRUE(std::isnan(r[0]) && std::isnan(r[1]));
    EXPECT_TRUE(near(50.0, r[2], 1e-12));
    EXPECT_TRUE(near(two_thirds, r[5], 1e-12));
}

TEST(NaNRules, EmaOverGapsFollowsTheDocumentedWeights) {
    const int n = 3;
    const double a = 2.0 / (n + 1.0);
    const Series x{NaN, 4, NaN, NaN, 10, 12};
    Series e(x.size());
    quant::indicators::ema(x, n, e);
    EXPECT_TRUE(std::isnan(e[0]));
    EXPECT_EQ(e[1], 4.0);
    EXPECT_EQ(e[2], 4.0);  // a NaN bar keeps the average
    EXPECT_EQ(e[3], 4.0);
    const double w = std::pow(1 - a, 3);  // k = 2 NaN bars: (1-a)^(k+1)
    EXPECT_TRUE(near((w * 4 + a * 10) / (w + a), e[4]));
    EXPECT_TRUE(near((1 - a) * e[4] + a * 12, e[5]));
}

TEST(NaNRules, WilderRsiOverGapsUsesTheEmaRuleForBothAverages) {
    const int n = 2;
    const Series x{1, 2, 4, NaN, 3, 5};
    Series r(x.size());
    quant::indicators::rsi_wilder(x, n, r);
    // seed: deltas 1, 2 -> up 1.5, down 0; d[3], d[4] NaN (k = 2); d[5] = 2
    EXPECT_TRUE(std::isnan(r[0]) && std::isnan(r[1]));
    EXPECT_EQ(r[2], 100.0);
    EXPECT_EQ(r[3], 100.0);
    EXPECT_EQ(r[4], 100.0);
    EXPECT_EQ(r[5], 100.0);
    const Series y{5, 4, 2, NaN, 3, 5};  // seed: up 0, down 1.5; then a gain of 2 after k = 2
    quant::indicators::rsi_wilder(y, n, r);
    const double c = 0.5, w = std::pow(0.5, 3);
    const double up = (w * 0 + c * 2) / (w + c), down = (w * 1.5 + c * 0) / (w + c);
    EXPECT_EQ(r[2], 0.0);
    EXPECT_TRUE(near(100.0 - 100.0 / (1.0 + up / down), r[5], 1e-12));
}

namespace {

// pandas' ewma loop (pandas/_libs/window/aggregations.pyx, ewm(span=n, adjust=False,
// ignore_na=False)), transcribed with its own bookkeeping (old_wt, new_wt, normalisation): the
// oracle for the EMA over gaps.
Series pandas_ewm_mean(const Series& vals, int span) {
    const double com = (span - 1) / 2.0;
    const double alpha = 1.0 / (1.0 + com);
    const double old_wt_factor = 1.0 - alpha;
    const double new_wt = alpha;  // adjust=False
    Series out(vals.size(), NaN);
    if (vals.empty())
        return out;
    double weighted = vals[0];
    int nobs = std::isnan(weighted) ? 0 : 1;
    out[0] = nobs >= 1 ? weighted : NaN;
    double old_wt = 1.0;
    for (std::size_t i = 1; i < vals.size(); ++i) {
        const double cur = vals[i];
        const bool is_observation = !std::isnan(cur);
        nobs += is_observation ? 1 : 0;
        if (!std::isnan(weighted)) {
            old_wt *= old_wt_factor;  // is_observation or not ignore_na
            if (is_observation) {
                if (weighted != cur) {
                    weighted = old_wt * weighted + new_wt * cur;
                    weighted /= (old_wt + new_wt);
                }
                old_wt = 1.0;
            }
        } else if (is_observation) {
            weighted = cur;
        }
        out[i] = nobs >= 1 ? weighted : NaN;
    }
    return out;
}

}  // namespace

// EMA over NaN equals the pandas rule on random gapped series.
RC_GTEST_PROP(NaNRuleProperties, EmaOverNaNEqualsPandas, ()) {
    const int n = *rc::gen::inRange(1, 40);
    const auto len = *rc::gen::inRange<std::size_t>(0, 300);
    Series x(len);
    double level = 100.0;
    for (auto& v : x) {
        level *= 1.0 + *rc::gen::inRange(-300, 301) / 10000.0;
        v = level;
    }
    const int gaps = *rc::gen::inRange(0, 30);
    for (int g = 0; g < gaps && len > 0; ++g) {
        const auto at = *rc::gen::inRange<std::size_t>(0, len);
        const auto run = *rc::gen::inRange<std::size_t>(1, 6);
        for (std::size_t i = at; i < std::min(len, at + run); ++i)
            x[i] = NaN;
    }
    Series got(len);
    quant::indicators::ema(x, n, got);
    const Series want = pandas_ewm_mean(x, n);
    for (std::size_t t = 0; t < len; ++t)
        RC_ASSERT(near(want[t], got[t], 1e-12, 1e-12));
}

// Cutler's RSI over NaN equals its definition on random gapped series: keep the defined deltas,
// take the means of the last n of them (summed afresh), put the value on the delta's bar.
RC_GTEST_PROP(NaNRuleProperties, RsiOverNaNIsTheRsiOfTheDefinedDeltas, ()) {
    const int n = *rc::gen::inRange(1, 30);
    const auto len = *rc::gen::inRange<std::size_t>(0, 300);
    Series x(len);
    double level = 100.0;
    for (auto& v : x) {
        level *= 1.0 + *rc::gen::inRange(-300, 301) / 10000.0;
        v = level;
    }
    const int gaps = *rc::gen::inRange(0, 30);
    for (int g = 0; g < gaps && len > 0; ++g) {
        const auto at = *rc::gen::inRange<std::size_t>(0, len);
        const auto run = *rc::gen::inRange<std::size_t>(1, 6);
        for (std::size_t i = at; i < std::min(len, at + run); ++i)
            x[i] = NaN;
    }
    std::vector<std::pair<std::size_t, double>> defined;  // (bar, delta)
    for (std::size_t t = 1; t < len; ++t) {
        if (!std::isnan(x[t]) && !std::isnan(x[t - 1]))
            defined.emplace_back(t, x[t] - x[t - 1]);
    }
    Series want(len, NaN);
    const auto w = static_cast<std::size_t>(n);
    for (std::size_t j = w - 1; j < defined.size(); ++j) {
        double up = 0.0, down = 0.0;
        for (std::size_t i = j + 1 - w; i <= j; ++i) {
            up += std::max(defined[i].second, 0.0);
            down += std::max(-defined[i].second, 0.0);
        }
        want[defined[j].first] = 100.0 - 100.0 / (1.0 + (up / n) / (down / n));
    }
    Series got(len);
    quant::indicators::rsi(x, n, got);
    for (std::size_t t = 0; t < len; ++t)
        RC_ASSERT(near(want[t], got[t], 1e-9, 1e-9));
}

// ---- golden_cross.json through the core -----------------------------------------------------

TEST(Golden, CrossProducts) {
    const std::string root = QUANT_TEST_DATA_DIR;
    const auto doc = quant::Json::parse(read_file(root + "/test/golden/golden_cross.json"));
    std::map<std::string, quant::OwnedBars> data;
    for (const auto& [ticker, file] : doc["data"].items())
        data[ticker] = quant::read_bars_csv(read_file(root + "/data/" + file.get<std::string>()));
    int checked = 0;
    for (const auto& c : doc["cases"]) {
        const auto cfg = quant::parse_strategy_config(c["config"]);
        const auto names = cfg.factor_products();
        std::vector<quant::ProductBars> products;
        products.reserve(names.size());
        for (const auto& p : names)
            products.push_back({p, data.at(p).view()});
        const auto bars =
            quant::align_strategy_bars(cfg, data.at(c["trade"].get<std::string>()).view(), products);
        const auto s = quant::run_backtest(cfg, bars, c["fee_bps"].get<double>());
        const auto got = quant::metrics_json(s.metrics);
        const auto& e = c["expected"];
        for (const auto& [k, v] : e["metrics"].items()) {
            const double want = v.is_null() ? NaN : v.get<double>();
            const double have = got[k].is_null() ? NaN : got[k].get<double>();
            EXPECT_TRUE(near(want, have, 1e-9, 1e-12))
                << c["config"].dump() << " " << k << " want " << v << " got " << got[k];
        }
        const double want_last = e["last_position"].is_null() ? NaN : e["last_position"].get<double>();
        EXPECT_TRUE(same(want_last, s.last_position)) << c["config"].dump();
        const auto live = quant::evaluate_live(cfg, bars);
        EXPECT_TRUE(same(s.last_position, live.signal)) << c["config"].dump();
        ++checked;
    }
    EXPECT_EQ(checked, 24);
}
