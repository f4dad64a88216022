// The signal functions and conjunctions of backtest-semantics.md (core/include/quant/signals.hpp):
// every registry signal function against the table, NaN and boundary equality (v == s) included,
// and combine_positions for AND/OR/FILTER over every input of 1, 2 and 3 positions.
#include "quant/signals.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "quant/indicators/registry.hpp"
#include "quant/strategy_config.hpp"

namespace {

using quant::Conjunction;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

double signal(std::string_view name, double v, double s) {
    const auto* f = quant::find_signal_func(name);
    EXPECT_NE(f, nullptr) << name;
    return quant::apply_signal_func(f->kind, f->long_only, v, s);
}

bool same(double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || a == b;
}

// The table of backtest-semantics.md, written out: the long test first, then the short test.
double reference(const std::string& name, double v, double s) {
    if (std::isnan(v))
        return nan;
    const bool long_only = name.ends_with("_long_only");
    const std::string base =
        long_only ? name.substr(0, name.size() - std::string("_long_only").size()) : name;
    double p = 0.0;
    if (base == "momentum_band_signal") {
        p = v > s ? 1.0 : v < -s ? -1.0 : 0.0;
    } else if (base == "reversion_band_signal") {
        p = v < -s ? 1.0 : v > s ? -1.0 : 0.0;
    } else if (base == "momentum_bounded_signal") {
        p = v > s ? 1.0 : v < 100.0 - s ? -1.0 : 0.0;
    } else if (base == "reversion_bounded_signal") {
        p = v < 100.0 - s ? 1.0 : v > s ? -1.0 : 0.0;
    } else {
        ADD_FAILURE() << "unknown signal function " << name;
    }
    return long_only && p < 0.0 ? 0.0 : p;
}

TEST(Signals, RegistryHasTheEightFunctions) {
    const std::vector<std::string> expected{"momentum_band_signal",
                                            "reversion_band_signal",
                                            "momentum_bounded_signal",
                                            "reversion_bounded_signal",
                                            "momentum_band_signal_long_only",
                                            "reversion_band_signal_long_only",
                                            "momentum_bounded_signal_long_only",
                                            "reversion_bounded_signal_long_only"};
    ASSERT_EQ(quant::signal_func_registry().size(), expected.size());
    for (const auto& name : expected)
        EXPECT_NE(quant::find_signal_func(name), nullptr) << name;
    EXPECT_EQ(quant::find_signal_func("momentum"), nullptr);
    EXPECT_EQ(quant::find_signal_func(""), nullptr);
}

// Every function over a grid of values around each threshold, the boundaries v == s, v == -s,
// v == 100 - s exactly, infinities and NaN.
TEST(Signals, EveryFunctionMatchesTheTable) {
    const std::vector<double> thresholds{0.0, 0.5, 1.0, 2.0, 30.0, 50.0, 70.0, 100.0, -1.0};
    int checked = 0;
    for (const auto& info : quant::signal_func_registry()) {
        const std::string name(info.name);
        for (double s : thresholds) {
            std::vector<double> values{nan,
                                       inf,
                                       -inf,
                                       0.0,
                                       -0.0,
                                       s,
                                       -s,
                                       100.0 - s,
                                       s + 1e-9,
                                       s - 1e-9,
                                       -s + 1e-9,
                                       -s - 1e-9,
                                       100.0 - s + 1e-9,
                                       100.0 - s - 1e-9,
                                       50.0,
                                       1e300,
                                       -1e300};
            for (double v : values) {
                const double got = quant::apply_signal_func(info.kind, info.long_only, v, s);
                EXPECT_TRUE(same(reference(name, v, s), got))
                    << name << "(v=" << v << ", s=" << s << ") expected " << reference(name, v, s) << " got "
                    << got;
                ++checked;
            }
        }
    }
    EXPECT_EQ(checked, 8 * 9 * 17);
}

TEST(Signals, MomentumBandByHand) {
    EXPECT_EQ(signal("momentum_band_signal", 1.5, 1.0), 1.0);
    EXPECT_EQ(signal("momentum_band_signal", 1.0, 1.0), 0.0);   // v == s is not above s
    EXPECT_EQ(signal("momentum_band_signal", -1.0, 1.0), 0.0);  // v == -s is not below -s
    EXPECT_EQ(signal("momentum_band_signal", -1.5, 1.0), -1.0);
    EXPECT_EQ(signal("momentum_band_signal", 0.0, 0.0), 0.0);
    EXPECT_TRUE(std::isnan(signal("momentum_band_signal", nan, 1.0)));
    EXPECT_EQ(signal("momentum_band_signal_long_only", -1.5, 1.0), 0.0);
    EXPECT_EQ(signal("momentum_band_signal_long_only", 1.5, 1.0), 1.0);
    EXPECT_TRUE(std::isnan(signal("momentum_band_signal_long_only", nan, 1.0)));
}

TEST(Signals, ReversionBandByHand) {
    EXPECT_EQ(signal("reversion_band_signal", -1.5, 1.0), 1.0);
    EXPECT_EQ(signal("reversion_band_signal", -1.0, 1.0), 0.0);
    EXPECT_EQ(signal("reversion_band_signal", 1.0, 1.0), 0.0);
    EXPECT_EQ(signal("reversion_band_signal", 1.5, 1.0), -1.0);
    EXPECT_TRUE(std::isnan(signal("reversion_band_signal", nan, 1.0)));
    EXPECT_EQ(signal("reversion_band_signal_long_only", 1.5, 1.0), 0.0);
    EXPECT_EQ(signal("reversion_band_signal_long_only", -1.5, 1.0), 1.0);
    // The seed's own example: RSI with reversion_band_signal at 30 is short whenever RSI > 30.
    EXPECT_EQ(signal("reversion_band_signal", 55.0, 30.0), -1.0);
}

TEST(Signals, MomentumBoundedByHand) {
    EXPECT_EQ(signal("momentum_bounded_signal", 71.0, 70.0), 1.0);
    EXPECT_EQ(signal("momentum_bounded_signal", 70.0, 70.0), 0.0);  // v == s
    EXPECT_EQ(signal("momentum_bounded_signal", 30.0, 70.0), 0.0);  // v == 100 - s
    EXPECT_EQ(signal("momentum_bounded_signal", 29.0, 70.0), -1.0);
    // s below 50: the long test comes first, so v in (s, 100-s) is long, not short.
    EXPECT_EQ(signal("momentum_bounded_signal", 40.0, 30.0), 1.0);
    EXPECT_EQ(signal("momentum_bounded_signal", 30.0, 30.0), -1.0);
    EXPECT_TRUE(std::isnan(signal("momentum_bounded_signal", nan, 70.0)));
    EXPECT_EQ(signal("momentum_bounded_signal_long_only", 29.0, 70.0), 0.0);
}

TEST(Signals, ReversionBoundedByHand) {
    EXPECT_EQ(signal("reversion_bounded_signal", 29.0, 70.0), 1.0);
    EXPECT_EQ(signal("reversion_bounded_signal", 30.0, 70.0), 0.0);  // v == 100 - s
    EXPECT_EQ(signal("reversion_bounded_signal", 70.0, 70.0), 0.0);  // v == s
    EXPECT_EQ(signal("reversion_bounded_signal", 71.0, 70.0), -1.0);
    EXPECT_EQ(signal("reversion_bounded_signal", 50.0, 30.0), 1.0);  // long test first
    EXPECT_TRUE(std::isnan(signal("reversion_bounded_signal", nan, 70.0)));
    EXPECT_EQ(signal("reversion_bounded_signal_long_only", 71.0, 70.0), 0.0);
    EXPECT_EQ(signal("reversion_bounded_signal_long_only", 29.0, 70.0), 1.0);
}

// ---- combine_positions ---------------------------------------------------------------------------

// The conjunction rules of backtest-semantics.md, written out.
double and_of(const std::vector<double>& p) {
    bool all_long = true, all_short = true;
    for (double v : p) {
        all_long = all_long && v == 1.0;
        all_short = all_short && v == -1.0;
    }
    return all_long ? 1.0 : all_short ? -1.0 : 0.0;
}

double combined(Conjunction conj, const std::vector<double>& p) {
    for (double v : p) {
        if (std::isnan(v))
            return nan;
    }
    if (p.size() == 1)
        return p[0];
    if (conj == Conjunction::all)
        return and_of(p);
    if (conj == Conjunction::any) {
        bool some_long = false, some_short = false;
        for (double v : p) {
            some_long = some_long || v == 1.0;
            some_short = some_short || v == -1.0;
        }
        if (some_long)
            return 1.0;  // a conflict is +1
        return some_short ? -1.0 : 0.0;
    }
    if (p[0] == 0.0)
        return 0.0;  // FILTER: a zero gate blocks, -1 and +1 pass
    return and_of(std::vector<double>(p.begin() + 1, p.end()));
}

std::string show(const std::vector<double>& p) {
    std::string s = "[";
    for (double v : p)
        s += (s.size() > 1 ? ", " : "") + std::to_string(v);
    return s + "]";
}

TEST(Combine, EveryInputOfOneTwoAndThreePositions) {
    const std::vector<double> values{-1.0, 0.0, 1.0, nan};
    int checked = 0;
    for (Conjunction conj : {Conjunction::all, Conjunction::any, Conjunction::filter}) {
        for (std::size_t k = 1; k <= 3; ++k) {
            std::vector<std::size_t> idx(k, 0);
            while (true) {
                std::vector<double> p;
                for (std::size_t i : idx)
                    p.push_back(values[i]);
                const double want = combined(conj, p);
                const double got = quant::combine_positions(conj, p);
                EXPECT_TRUE(same(want, got)) << quant::conjunction_name(conj) << " " << show(p)
                                             << " expected " << want << " got " << got;
                ++checked;
                std::size_t j = 0;
                while (j < k && ++idx[j] == values.size())
                    idx[j++] = 0;
                if (j == k)
                    break;
            }
        }
    }
    EXPECT_EQ(checked, 3 * (4 + 16 + 64));
}

double combine(Conjunction conj, std::vector<double> p) {
    return quant::combine_positions(conj, p);
}

TEST(Combine, ByHand) {
    // One substrategy: its own position, whatever the conjunction.
    for (Conjunction c : {Conjunction::all, Conjunction::any, Conjunction::filter}) {
        EXPECT_EQ(combine(c, {-1.0}), -1.0);
        EXPECT_EQ(combine(c, {0.0}), 0.0);
        EXPECT_EQ(combine(c, {1.0}), 1.0);
        EXPECT_TRUE(std::isnan(combine(c, {nan})));
    }
    // AND
    EXPECT_EQ(combine(Conjunction::all, {1.0, 1.0}), 1.0);
    EXPECT_EQ(combine(Conjunction::all, {-1.0, -1.0, -1.0}), -1.0);
    EXPECT_EQ(combine(Conjunction::all, {1.0, -1.0}), 0.0);
    EXPECT_EQ(combine(Conjunction::all, {1.0, 1.0, 0.0}), 0.0);
    EXPECT_TRUE(std::isnan(combine(Conjunction::all, {1.0, nan})));
    // OR: a conflict is long.
    EXPECT_EQ(combine(Conjunction::any, {1.0, -1.0}), 1.0);
    EXPECT_EQ(combine(Conjunction::any, {-1.0, 0.0, -1.0}), -1.0);
    EXPECT_EQ(combine(Conjunction::any, {0.0, 0.0}), 0.0);
    EXPECT_EQ(combine(Conjunction::any, {0.0, 0.0, 1.0}), 1.0);
    EXPECT_TRUE(std::isnan(combine(Conjunction::any, {1.0, 1.0, nan})));
    // FILTER: the first is a gate (non-zero passes), the rest are ANDed.
    EXPECT_EQ(combine(Conjunction::filter, {0.0, 1.0}), 0.0);
    EXPECT_EQ(combine(Conjunction::filter, {1.0, -1.0}), -1.0);
    EXPECT_EQ(combine(Conjunction::filter, {-1.0, 1.0}), 1.0);
    EXPECT_EQ(combine(Conjunction::filter, {1.0, 1.0, -1.0}), 0.0);
    EXPECT_EQ(combine(Conjunction::filter, {-1.0, -1.0, -1.0}), -1.0);
    EXPECT_TRUE(std::isnan(combine(Conjunction::filter, {0.0, nan})));  // NaN wins even behind a closed gate
    EXPECT_TRUE(std::isnan(combine(Conjunction::filter, {nan, 1.0, 1.0})));
}

}  // namespace
