// Issue 16: the kernels and run_backtest after the speed pass give the same bits as before it
// (test/core/before holds the previous code verbatim). Random series of every shape the kernels
// branch on: levels from 1e-3 to 1e8, 1000x jumps, runs of equal values, flat stretches (zero
// deltas), single NaN bars and NaN runs, a leading NaN run, an infinity; windows 1 to 60. Outputs
// are compared with memcmp (NaN payloads and signed zeros included).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "before.hpp"
#include "quant/backtest.hpp"
#include "quant/cpu.hpp"
#include "quant/indicators/indicators.hpp"
#include "quant/signals.hpp"
#include "quant/strategy_config.hpp"

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

struct Hlc {
    std::vector<double> high, low, close;
};

// One random series; `shape` picks the oddities it carries.
Hlc random_series(std::mt19937_64& rng, std::size_t n) {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::normal_distribution<double> move(0.0, 0.01 + 0.05 * u(rng));
    const double levels[] = {1e-3, 1.0, 100.0, 1e4, 1e8};
    double c = levels[rng() % 5];
    const double p_nan = (rng() % 3 == 0) ? 0.0 : 0.02 * u(rng);
    const double p_equal = (rng() % 2 == 0) ? 0.0 : 0.3 * u(rng);
    const double p_jump = (rng() % 4 == 0) ? 0.002 : 0.0;
    Hlc s;
    s.high.resize(n);
    s.low.resize(n);
    s.close.resize(n);
    std::size_t nan_left = (rng() % 5 == 0) ? rng() % 30 : 0;  // a leading NaN run
    for (std::size_t t = 0; t < n; ++t) {
        const double r = u(rng);
        if (r < p_jump)
            c *= (rng() % 2 == 0) ? 1000.0 : 0.001;
        else if (u(rng) >= p_equal)
            c *= std::exp(move(rng));
        double h = c * (1.0 + std::fabs(move(rng))), l = c * (1.0 - std::fabs(move(rng)) * 0.5);
        double v = c;
        if (nan_left == 0 && u(rng) < p_nan)
            nan_left = 1 + (rng() % 4 == 0 ? rng() % 40 : 0);
        if (nan_left > 0) {
            --nan_left;
            v = h = l = nan;
        }
        s.high[t] = h;
        s.low[t] = l;
        s.close[t] = v;
    }
    if (n > 10 && rng() % 40 == 0)
        s.close[rng() % n] = std::numeric_limits<double>::infinity();
    return s;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

using Kernel = void (*)(std::span<const double>, int, std::span<double>);

// Every kernel now and then on one series: false (after a failure naming it) at the first
// difference; `compared` counts the kernels compared.
bool same_kernels(const Hlc& s, int w, const std::string& where, int& compared) {
    namespace now = quant::indicators;
    namespace then = quant::before::indicators;
    const struct {
        const char* name;
        Kernel now, then;
    } kernels[] = {{"sma", now::sma, then::sma},
                   {"ema", now::ema, then::ema},
                   {"rsi", now::rsi, then::rsi},
                   {"rsi_wilder", now::rsi_wilder, then::rsi_wilder},
                   {"bollinger", now::bollinger, then::bollinger},
                   {"sma_distance", now::sma_distance, then::sma_distance},
                   {"ema_distance", now::ema_distance, then::ema_distance}};
    const std::size_t n = s.close.size();
    std::vector<double> a(n), b(n);
    for (const auto& k : kernels) {
        k.now(s.close, w, a);
        k.then(s.close, w, b);
        if (!same_bits(a, b)) {
            ADD_FAILURE() << k.name << " " << where << " n=" << n << " w=" << w;
            return false;
        }
        ++compared;
    }
    now::stochastic(s.high, s.low, s.close, w, a);
    then::stochastic(s.high, s.low, s.close, w, b);
    if (!same_bits(a, b)) {
        ADD_FAILURE() << "stochastic " << where << " n=" << n << " w=" << w;
        return false;
    }
    ++compared;
    return true;
}

TEST(BeforeAfter, KernelsGiveTheSameBitsOnRandomSeries) {
    std::mt19937_64 rng(16);
    int compared = 0;
    for (int i = 0; i < 1500; ++i) {
        const std::size_t n = (i % 10 == 0) ? 3000 + rng() % 3000 : rng() % 700;
        const int w = 1 + static_cast<int>(rng() % 60);
        ASSERT_TRUE(same_kernels(random_series(rng, n), w, "series " + std::to_string(i), compared));
    }
    EXPECT_EQ(compared, 1500 * 8);
}

// The same with the SSE2 forms of the kernels' division loops where the CPU has AVX2 (whose YMM
// forms the test above ran there).
TEST(BeforeAfter, KernelsWithoutAvx2GiveTheSameBits) {
    std::mt19937_64 rng(1602);
    int compared = 0;
    quant::cpu::use_avx2(false);
    for (int i = 0; i < 500; ++i) {
        const std::size_t n = (i % 10 == 0) ? 3000 + rng() % 3000 : rng() % 700;
        const int w = 1 + static_cast<int>(rng() % 60);
        if (!same_kernels(random_series(rng, n), w, "series " + std::to_string(i), compared))
            break;
    }
    quant::cpu::use_avx2(true);
    EXPECT_EQ(compared, 500 * 8);
}

// The rolling kernels run two whole chunks (the bars between two periodic re-bases, max(n, 128))
// side by side, the second started from the re-base that ends the first; long series with
// windows around and above 128 (a chunk of n bars), spikes that force a re-base inside either
// chunk, equal runs longer than the window and NaN runs reach every fallback of that path.
TEST(BeforeAfter, PairedChunksGiveTheSameBitsOnLongSeries) {
    const int windows[] = {1, 2, 20, 64, 127, 128, 129, 200, 500, 1000};
    std::mt19937_64 rng(1616);
    int compared = 0;
    for (int i = 0; i < 120; ++i) {
        const std::size_t n = 5000 + rng() % 20000;
        const int w = windows[static_cast<std::size_t>(i) % std::size(windows)];
        Hlc s = random_series(rng, n);
        if (i % 3 == 0) {  // a flat stretch longer than the window, then a spike
            const std::size_t at = rng() % (n / 2);
            for (std::size_t t = at; t < std::min(n, at + 3 * static_cast<std::size_t>(w) + 10); ++t)
                s.close[t] = s.high[t] = s.low[t] = 42.0;
            s.close[std::min(n - 1, at + 3 * static_cast<std::size_t>(w) + 10)] = 4.2e9;
        }
        ASSERT_TRUE(same_kernels(s, w, "long series " + std::to_string(i), compared));
    }
    EXPECT_EQ(compared, 120 * 8);
}

// Near the largest doubles RSI's sums overflow and a mean can be a NaN with the sign bit set; where
// the other series' window is poisoned (an infinite loss), the RSI must still be the NaN the joint
// "both undefined" rule gave (found by review in session 9: the per-series form passed the gains'
// negative NaN through the division).
TEST(BeforeAfter, RsiNaNSignNearOverflow) {
    std::vector<double> x;
    for (int i = 0; i < 400; ++i)
        x.push_back(i % 2 == 0 ? -0.85e308 : 0.85e308);
    x.push_back(-1.79e308);
    for (int i = 0; i < 400; ++i)
        x.push_back(i % 2 == 0 ? -0.85e308 : 0.85e308);
    for (const int w : {2, 3, 14}) {
        std::vector<double> a(x.size()), b(x.size());
        quant::indicators::rsi(x, w, a);
        quant::before::indicators::rsi(x, w, b);
        EXPECT_TRUE(same_bits(a, b)) << "w=" << w;
    }
}

// The stochastic now and before on one series give the same bits.
bool same_stochastic(const Hlc& s, int w) {
    std::vector<double> a(s.close.size()), b(s.close.size());
    quant::indicators::stochastic(s.high, s.low, s.close, w, a);
    quant::before::indicators::stochastic(s.high, s.low, s.close, w, b);
    return same_bits(a, b);
}

// The stochastic's fast extrema choose among equal values as the per-bar form does. Lows of +0.0
// and -0.0 under a high of 1 and a close of -0.0: %K is 100 * (-0.0 - low) / (1 - low), +0.0 or
// -0.0 by the low chosen, and a window of equal %K makes %D that %K, so the low's sign reaches the
// output. (A high's sign reaches %K only through a zero range, as +inf or -inf, whose %D is NaN:
// the other half, highs of +0.0 and -0.0 over a low of +0.0, checks those bars, not a sign.) NaN
// bars, long and short series (blocks of 2,048 bars), windows 1 to 12.
TEST(BeforeAfter, StochasticChoosesAmongEqualExtremaAsBefore) {
    std::mt19937_64 rng(1616);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    int compared = 0;
    for (int i = 0; i < 600; ++i) {
        const std::size_t n = (i % 4 == 0) ? 2040 + rng() % 4200 : 1 + rng() % 300;
        const int w = 1 + static_cast<int>(rng() % 12);
        const bool lows = i % 2 == 0;
        const double p_negative = u(rng), p_nan = (rng() % 3 == 0) ? 0.01 : 0.0;
        Hlc s;
        for (std::size_t t = 0; t < n; ++t) {
            const double zero = u(rng) < p_negative ? -0.0 : 0.0;
            const bool gap = u(rng) < p_nan;
            s.high.push_back(gap ? nan : lows ? 1.0 : zero);
            s.low.push_back(gap ? nan : lows ? zero : 0.0);
            s.close.push_back(lows ? -0.0 : 1.0);
        }
        ASSERT_TRUE(same_stochastic(s, w)) << "series " << i << " n=" << n << " w=" << w;
        ++compared;
    }
    EXPECT_EQ(compared, 600);
}

// A NaN in the highs alone or the lows alone (the fast extrema test both series for NaN): random
// walks with NaN bars in one series, many near the blocks' starts (2,048 and 4,096), windows 1 to 60.
TEST(BeforeAfter, StochasticNaNInOneSeriesOnly) {
    std::mt19937_64 rng(1603);
    int compared = 0;
    for (int i = 0; i < 300; ++i) {
        const std::size_t n = 2000 + rng() % 2500;
        const int w = 1 + static_cast<int>(rng() % 60);
        Hlc s = random_series(rng, n);
        for (std::size_t t = 0; t < n; ++t) {  // no NaN but the ones put in below
            if (std::isnan(s.close[t]) || std::isnan(s.high[t]) || std::isnan(s.low[t]))
                s.close[t] = s.high[t] = s.low[t] = 1.0;
        }
        std::vector<double>& one = (i % 2 == 0) ? s.high : s.low;
        for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
            const std::size_t near = (rng() % 2 == 0) ? 2048 : 4096;
            const std::size_t t = (rng() % 3 == 0) ? rng() % n : near - 70 + rng() % 140;
            if (t < n)
                one[t] = nan;
        }
        ASSERT_TRUE(same_stochastic(s, w)) << "series " << i << " n=" << n << " w=" << w;
        ++compared;
    }
    EXPECT_EQ(compared, 300);
}

std::uint64_t bits(double v) {
    return std::bit_cast<std::uint64_t>(v);
}

bool same_metrics(const quant::Metrics& a, const quant::Metrics& b) {
    return bits(a.total_return) == bits(b.total_return) &&
           bits(a.annualized_return) == bits(b.annualized_return) &&
           bits(a.sharpe_ratio) == bits(b.sharpe_ratio) && bits(a.max_drawdown) == bits(b.max_drawdown) &&
           bits(a.calmar_ratio) == bits(b.calmar_ratio);
}

TEST(BeforeAfter, RunBacktestGivesTheSameBitsOnRandomConfigs) {
    const char* indicators[] = {"get_sma",
                                "get_ema",
                                "get_rsi",
                                "get_rsi_wilder",
                                "get_bollinger_band",
                                "get_stochastic_oscillator",
                                "get_sma_distance",
                                "get_ema_distance"};
    const char* funcs[] = {"momentum_band_signal", "reversion_band_signal", "momentum_bounded_signal",
                           "reversion_bounded_signal"};
    const char* conjunctions[] = {"AND", "OR", "FILTER"};
    std::mt19937_64 rng(1616);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    int compared = 0, fast = 0;
    for (int i = 0; i < 1200; ++i) {
        const std::size_t n = 70 + rng() % 1500;  // every window fits (stochastic 30: 58 bars + delay)
        Hlc s = random_series(rng, n);
        if (i % 2 == 0) {  // half without gaps: the fused loop's case
            for (std::size_t t = 0; t < n; ++t) {
                if (!std::isfinite(s.close[t])) {
                    s.close[t] = t > 0 ? s.close[t - 1] : 100.0;
                    s.high[t] = s.close[t] * 1.01;
                    s.low[t] = s.close[t] * 0.99;
                }
            }
        }
        quant::OwnedBars bars;
        for (std::size_t t = 0; t < n; ++t) {
            bars.push_back(static_cast<std::int64_t>(t) * 86400000000LL, s.close[t], s.high[t], s.low[t],
                           s.close[t], 1e6);
        }
        const std::size_t k = 1 + rng() % 3;
        std::ostringstream cfg;
        cfg << R"({"ticker": "X", "trading_period": 252, "fill_delay_bars": )" << rng() % 3;
        if (k > 1)
            cfg << R"(, "conjunction": ")" << conjunctions[rng() % 3] << '"';
        cfg << R"(, "substrategies": [)";
        for (std::size_t j = 0; j < k; ++j) {
            const std::string ind = indicators[rng() % 8];
            const bool bounded =
                ind == "get_rsi" || ind == "get_rsi_wilder" || ind == "get_stochastic_oscillator";
            const std::string func =
                std::string(funcs[(bounded ? 2 : 0) + rng() % 2]) + (rng() % 3 == 0 ? "_long_only" : "");
            const double signal = bounded
                                      ? 50.0 + 5.0 * static_cast<double>(rng() % 10)
                                      : (ind == "get_bollinger_band" ? 0.5 * static_cast<double>(rng() % 5)
                                                                     : 0.01 * static_cast<double>(rng() % 5));
            cfg << (j > 0 ? ", " : "") << R"({"indicator": ")" << ind << R"(", "signal_func": ")" << func
                << R"(", "window": )" << 2 + rng() % 30 << R"(, "signal": )" << signal << '}';
        }
        cfg << "]}";
        const auto config = quant::parse_strategy_config(std::string_view(cfg.str()));
        const auto fee = static_cast<double>(rng() % 20);
        const quant::BacktestSummary a = quant::run_backtest(config, bars.view(), fee);
        const quant::BacktestSummary b = quant::before::run_backtest(config, bars.view(), fee);
        ASSERT_TRUE(same_metrics(a.metrics, b.metrics)) << cfg.str() << " case " << i;
        ASSERT_TRUE(same_metrics(a.buy_hold, b.buy_hold)) << cfg.str() << " case " << i;
        ASSERT_EQ(bits(a.last_position), bits(b.last_position)) << cfg.str();
        ASSERT_EQ(a.bars, b.bars);
        ASSERT_EQ(a.position_changes, b.position_changes) << cfg.str();
        ASSERT_EQ(a.first_ts, b.first_ts);
        ASSERT_EQ(a.last_ts, b.last_ts);
        if (i % 3 == 0) {  // the SSE2 forms of the kernels and the changes on an AVX2 CPU too
            quant::cpu::use_avx2(false);
            const quant::BacktestSummary d = quant::run_backtest(config, bars.view(), fee);
            quant::cpu::use_avx2(true);
            ASSERT_TRUE(same_metrics(d.metrics, b.metrics)) << cfg.str() << " case " << i << " without AVX2";
            ASSERT_TRUE(same_metrics(d.buy_hold, b.buy_hold))
                << cfg.str() << " case " << i << " without AVX2";
            ASSERT_EQ(d.position_changes, b.position_changes) << cfg.str();
        }
        // with series (the generic path) the summary is the same too
        quant::BacktestSeries series;
        const quant::BacktestSummary c = quant::run_backtest(config, bars.view(), fee, &series);
        ASSERT_TRUE(same_metrics(c.metrics, b.metrics)) << cfg.str();
        ASSERT_TRUE(same_metrics(c.buy_hold, b.buy_hold)) << cfg.str();
        fast += static_cast<int>(i % 2 == 0);
        ++compared;
    }
    EXPECT_EQ(compared, 1200);
    EXPECT_GT(fast, 0);
}

// The BacktestResults text written directly (backtest_results_text) is byte for byte the dump of
// the nlohmann tree it replaced, on random results: every kind of double (NaN, infinities, -0,
// subnormal, huge, whole, random bits), counts, fill delays, timestamps before 1970, with and
// without a strategy_id, tickers and warnings with quotes, backslashes, control characters and
// non-ASCII UTF-8.
// An infinite change (a price of zero before it) in each of the last bars of series of every
// length modulo 4, under a flat position: its pnl is 0 * inf = NaN, which the generic loop skips
// and the fused one must not take (the changes' finiteness test, its vector body and its tail).
TEST(BeforeAfter, RunBacktestInfiniteChangeInTheLastBars) {
    const auto config = quant::parse_strategy_config(std::string_view(
        R"({"ticker": "X", "trading_period": 252, "substrategies": [{"indicator": "get_sma", )"
        R"("signal_func": "momentum_band_signal", "window": 5, "signal": 1e9}]})"));
    int compared = 0;
    for (std::size_t n = 40; n < 48; ++n) {
        for (std::size_t back = 1; back <= 5; ++back) {
            quant::OwnedBars bars;
            for (std::size_t t = 0; t < n; ++t) {
                const double c = (t + back + 1 == n) ? 0.0 : 100.0 + static_cast<double>(t % 7);
                bars.push_back(static_cast<std::int64_t>(t) * 86400000000LL, c, c, c, c, 1e6);
            }
            for (const bool avx2 : {true, false}) {
                quant::cpu::use_avx2(avx2);
                const quant::BacktestSummary a = quant::run_backtest(config, bars.view(), 5.0);
                quant::cpu::use_avx2(true);
                const quant::BacktestSummary b = quant::before::run_backtest(config, bars.view(), 5.0);
                ASSERT_TRUE(same_metrics(a.metrics, b.metrics))
                    << "n=" << n << " back=" << back << " avx2=" << avx2;
                ASSERT_TRUE(same_metrics(a.buy_hold, b.buy_hold)) << "n=" << n << " back=" << back;
                ++compared;
            }
        }
    }
    EXPECT_EQ(compared, 8 * 5 * 2);
}

TEST(BeforeAfter, ResultsTextIsTheTreesDump) {
    std::mt19937_64 rng(99);
    std::uniform_real_distribution<double> u(-3.0, 3.0);
    const double specials[] = {std::numeric_limits<double>::quiet_NaN(),
                               std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity(),
                               0.0,
                               -0.0,
                               5.0,
                               1e-310,
                               1.7976931348623157e308,
                               1e21,
                               1e-5,
                               0.1,
                               123456789012345680.0};
    const auto any_double = [&]() -> double {
        switch (rng() % 4) {
            case 0:
                return specials[rng() % std::size(specials)];
            case 1: {
                const double d = std::bit_cast<double>(rng());
                return std::isnan(d) ? 0.5 : d;
            }
            default:
                return u(rng) * std::pow(10.0, static_cast<double>(rng() % 20) - 10.0);
        }
    };
    const std::string texts[] = {"TTRC",
                                 "BTC-USD",
                                 "a \"quoted\" name",
                                 "back\\slash",
                                 "tab\tnew\nline\x01",
                                 "caf\xc3\xa9 \xe2\x82\xac",
                                 ""};
    for (int i = 0; i < 3000; ++i) {
        quant::StrategyConfig cfg;
        cfg.ticker = texts[rng() % std::size(texts)];
        cfg.fill_delay_bars = static_cast<int>(rng() % 4);
        if (rng() % 2 == 0)
            cfg.strategy_id = "01a2356e-92bc-78a0-b67c-7ec2bfc98ccb";
        for (std::size_t k = rng() % 3; k > 0; --k)
            cfg.warnings.push_back("substrategies[0]: " + texts[rng() % std::size(texts)]);
        quant::BacktestSummary sum;
        sum.metrics = {any_double(), any_double(), any_double(), any_double(), any_double()};
        sum.buy_hold = {any_double(), any_double(), any_double(), any_double(), any_double()};
        sum.last_position = any_double();
        sum.bars = rng() % 2000000;
        sum.position_changes = rng() % 100000;
        sum.first_ts = static_cast<std::int64_t>(rng() % 4000000000000000ULL) - 1000000000000000LL;
        sum.last_ts = sum.first_ts + static_cast<std::int64_t>(rng() % 1000000000000000ULL);
        const double fee = rng() % 5 == 0 ? 0.0 : u(rng) * 10.0;
        const std::int64_t run_at = static_cast<std::int64_t>(rng() % 4000000000000000ULL);
        ASSERT_EQ(quant::backtest_results_text(cfg, sum, fee, run_at),
                  quant::before::backtest_results_json(cfg, sum, fee, run_at).dump())
            << "case " << i;
    }
}

TEST(CombineColumns, MatchesCombineCodesOnEveryInputOfUpToThreeSubstrategies) {
    const quant::PositionCode values[] = {quant::undefined_position, -1, 0, 1};
    for (const auto conj : {quant::Conjunction::all, quant::Conjunction::any, quant::Conjunction::filter}) {
        for (std::size_t k = 1; k <= 3; ++k) {
            std::size_t n = 1;
            for (std::size_t j = 0; j < k; ++j)
                n *= 4;
            std::vector<quant::PositionCode> codes(k * n), out(n);
            for (std::size_t t = 0; t < n; ++t) {
                std::size_t r = t;
                for (std::size_t j = 0; j < k; ++j, r /= 4)
                    codes[j * n + t] = values[r % 4];
            }
            const quant::PositionCode* columns[3] = {codes.data(), codes.data() + n, codes.data() + 2 * n};
            quant::combine_columns(conj, std::span<const quant::PositionCode* const>(columns, k), n,
                                   out.data());
            for (std::size_t t = 0; t < n; ++t) {
                quant::PositionCode bar[3] = {};
                for (std::size_t j = 0; j < k; ++j)
                    bar[j] = codes[j * n + t];
                ASSERT_EQ(out[t], quant::combine_codes(conj, bar, k)) << "k=" << k << " t=" << t;
            }
        }
    }
}

}  // namespace
