// Property tests of the indicators (core/include/quant/indicators/indicators.hpp) against
// backtest-semantics.md: streaming == batch, batch == a naive O(n*w) recomputation written here
// from the definitions, shift and scale invariance, bounds, stability at high price levels and
// the first defined bar of the registry.
//
// Prices are generated on a dyadic grid (integers / 64) so that adding a grid constant is exact:
// the invariance properties then test the algorithm, not the rounding of the inputs.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "quant/indicators/indicators.hpp"
#include "quant/indicators/registry.hpp"
#include "streaming_reference.hpp"

namespace {

namespace ind = quant::indicators;
namespace ref = quant::reference;
using Series = std::vector<double>;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

// ---- generation ------------------------------------------------------------------------------

struct Hlc {
    Series high, low, close;
};

// Grid integers of a reflecting random walk (>= 1) with steps in [-k, k]; k = 0 is a flat
// series, small k gives many ties and constant windows, which the kernels special-case.
// With `spikes`, a few bars jump by a factor of up to 1000 (a bad tick, a split).
std::vector<long long> gen_walk_ints(std::size_t len, bool spikes) {
    const int k = *rc::gen::inRange(0, 21);
    long long p = *rc::gen::inRange(64, 6400000);
    const auto steps = *rc::gen::container<std::vector<int>>(len, rc::gen::inRange(-k, k + 1));
    std::vector<long long> out;
    out.reserve(len);
    for (int s : steps) {
        p += s;
        if (p < 1)
            p = 1 - (p - 1);
        out.push_back(p);
    }
    if (spikes && len > 0) {
        const int count = *rc::gen::inRange(0, 3);
        for (int i = 0; i < count; ++i) {
            const auto at = *rc::gen::inRange<std::size_t>(0, len);
            out[at] *= *rc::gen::element(10LL, 1000LL);
        }
    }
    return out;
}

Hlc gen_hlc(std::size_t len, double scale, bool spikes = false) {
    const auto c = gen_walk_ints(len, spikes);
    const int spread = *rc::gen::inRange(0, 50);
    Hlc out;
    for (long long p : c) {
        const long long up = *rc::gen::inRange(0, spread + 1);
        const long long down = *rc::gen::inRange(0, spread + 1);
        out.close.push_back(static_cast<double>(p) / 64.0 * scale);
        out.high.push_back(static_cast<double>(p + up) / 64.0 * scale);
        out.low.push_back(static_cast<double>(std::max(p - down, 0LL)) / 64.0 * scale);
    }
    return out;
}

double gen_scale() {
    return *rc::gen::element(1.0, 0.37, 3.1, 1e3, 1e-3);
}

// ---- comparison ------------------------------------------------------------------------------

bool near(double want, double got, double rel, double abs) {
    if (std::isnan(want) || std::isnan(got))
        return std::isnan(want) && std::isnan(got);
    if (std::isinf(want) || std::isinf(got))
        return want == got;
    return std::fabs(want - got) <= abs + rel * std::max(std::fabs(want), std::fabs(got));
}

// `slack`, when given, adds a per-bar absolute tolerance (see bollinger_slack).
void require_near(const Series& want, const Series& got, double rel, double abs, const std::string& what,
                  const Series* input = nullptr, const Series* slack = nullptr) {
    RC_ASSERT(want.size() == got.size());
    for (std::size_t t = 0; t < want.size(); ++t) {
        if (!near(want[t], got[t], rel, abs + (slack != nullptr ? (*slack)[t] : 0.0))) {
            std::ostringstream msg;
            msg.precision(17);
            msg << what << ": bar " << t << " of " << want.size() << " expected " << want[t] << " got "
                << got[t];
            if (input != nullptr) {
                msg << "\ninput (close):";
                for (double v : *input)
                    msg << ' ' << v;
            }
            if (slack != nullptr)
                msg << " (slack " << (*slack)[t] << ")";
            RC_FAIL(msg.str());
        }
    }
}

// ---- the indicators under one signature --------------------------------------------------------

struct Indicator {
    const char* name;  // registry name
    int window_floor;
    // Tolerances against the naive recomputation: relative, absolute (in the indicator's units).
    double rel, abs;
    bool price_units;  // SMA/EMA: shifts and scales with the prices
    bool invariant;    // RSI, stochastic, Bollinger: unchanged by a shift
    std::function<void(const Hlc&, int, Series&)> batch;
    std::function<Series(const Hlc&, int)> streaming;
};

template <typename Streaming>
Series stream_close(const Hlc& p, int n) {
    Streaming s(n);
    Series out;
    for (double x : p.close)
        out.push_back(s.update(x));
    return out;
}

const std::vector<Indicator>& indicators() {
    static const std::vector<Indicator> all{
        {"get_sma", 1, 1e-12, 0.0, true, false,
         [](const Hlc& p, int n, Series& o) { ind::sma(p.close, n, o); }, stream_close<ref::Sma>},
        {"get_ema", 1, 1e-12, 0.0, true, false,
         [](const Hlc& p, int n, Series& o) { ind::ema(p.close, n, o); }, stream_close<ref::Ema>},
        {"get_rsi", 2, 0.0, 1e-9, false, true,
         [](const Hlc& p, int n, Series& o) { ind::rsi(p.close, n, o); }, stream_close<ref::Rsi>},
        {"get_rsi_wilder", 2, 0.0, 1e-9, false, true,
         [](const Hlc& p, int n, Series& o) { ind::rsi_wilder(p.close, n, o); },
         stream_close<ref::RsiWilder>},
        {"get_bollinger_band", 2, 1e-9, 1e-9, false, true,
         [](const Hlc& p, int n, Series& o) { ind::bollinger(p.close, n, o); }, stream_close<ref::Bollinger>},
        {"get_stochastic_oscillator", 2, 0.0, 1e-9, false, true,
         [](const Hlc& p, int n, Series& o) { ind::stochastic(p.high, p.low, p.close, n, o); },
         [](const Hlc& p, int n) {
             ref::Stochastic s(n);
             Series out;
             for (std::size_t t = 0; t < p.close.size(); ++t)
                 out.push_back(s.update(p.high[t], p.low[t], p.close[t]));
             return out;
         }},
        {"get_sma_distance", 1, 1e-9, 1e-12, false, false,
         [](const Hlc& p, int n, Series& o) { ind::sma_distance(p.close, n, o); },
         stream_close<ref::SmaDistance>},
        {"get_ema_distance", 1, 1e-9, 1e-12, false, false,
         [](const Hlc& p, int n, Series& o) { ind::ema_distance(p.close, n, o); },
         stream_close<ref::EmaDistance>},
    };
    return all;
}

const Indicator& by_name(const std::string& name) {
    for (const auto& i : indicators()) {
        if (name == i.name)
            return i;
    }
    throw std::logic_error("no indicator " + name);
}

Series batch(const Indicator& i, const Hlc& p, int n) {
    Series out(p.close.size(), -12345.0);  // a sentinel: every bar must be written
    i.batch(p, n, out);
    return out;
}

// ---- naive recomputations from backtest-semantics.md --------------------------------------------

bool window_has_nan(const Series& x, std::size_t t, int n) {
    for (std::size_t i = t + 1 - static_cast<std::size_t>(n); i <= t; ++i) {
        if (std::isnan(x[i]))
            return true;
    }
    return false;
}

bool window_constant(const Series& x, std::size_t t, int n) {
    for (std::size_t i = t + 1 - static_cast<std::size_t>(n); i <= t; ++i) {
        if (x[i] != x[t])
            return false;
    }
    return true;
}

// Mean of x[t-n+1..t]. The exact mean of n equal values is that value (a summed-then-divided
// mean of 0.1, 0.1, 0.1 is not), and the definition's z-score of a constant window is 0/0.
double naive_mean(const Series& x, std::size_t t, int n) {
    if (window_constant(x, t, n))
        return x[t];
    double sum = 0.0;
    for (std::size_t i = t + 1 - static_cast<std::size_t>(n); i <= t; ++i)
        sum += x[i];
    return sum / n;
}

// Two-pass sample standard deviation (divisor n-1).
double naive_sd(const Series& x, std::size_t t, int n) {
    if (n < 2)
        return nan;
    const double m = naive_mean(x, t, n);
    double ss = 0.0;
    for (std::size_t i = t + 1 - static_cast<std::size_t>(n); i <= t; ++i)
        ss += (x[i] - m) * (x[i] - m);
    return std::sqrt(ss / (n - 1));
}

// The precision floor of a z-score: the window mean is a number at the price level, rounded to
// eps*|x|, so x - mean (and the spread) carry an error of a few eps*max|x|, which the z-score
// divides by sd. Every implementation in price units has it, the two-pass definition included;
// on a window whose spread is 1e-7 of its level it is about 1e-9. We allow 16 times that,
// times (1 + |z|max = 1 + sqrt(n)). A cancelling sum of squares is off by eps*(max|x|/sd)^2,
// far outside this slack.
Series bollinger_slack(const Series& x, int n) {
    Series out(x.size(), 0.0);
    const double eps = std::numeric_limits<double>::epsilon();
    for (std::size_t t = static_cast<std::size_t>(n) - 1; t < x.size(); ++t) {
        double top = 0.0;
        for (std::size_t i = t + 1 - static_cast<std::size_t>(n); i <= t; ++i)
            top = std::max(top, std::fabs(x[i]));
        out[t] = 16.0 * eps * top / naive_sd(x, t, n) * (1.0 + std::sqrt(static_cast<double>(n)));
    }
    return out;
}

Series naive_sma(const Series& x, int n) {
    Series out(x.size(), nan);
    for (std::size_t t = 0; t < x.size(); ++t) {
        if (t + 1 >= static_cast<std::size_t>(n) && !window_has_nan(x, t, n))
            out[t] = naive_mean(x, t, n);
    }
    return out;
}

// The closed form of the recursion: e[t] = (1-a)^t x0 + sum_{i>=1} a (1-a)^(t-i) x_i.
Series naive_ema(const Series& x, int n) {
    const double a = 2.0 / (n + 1.0);
    Series out(x.size(), nan);
    for (std::size_t t = 0; t < x.size(); ++t) {
        double e = std::pow(1.0 - a, static_cast<double>(t)) * x[0];
        for (std::size_t i = 1; i <= t; ++i)
            e += a * std::pow(1.0 - a, static_cast<double>(t - i)) * x[i];
        out[t] = e;
    }
    return out;
}

double rsi_of(double up, double down) {
    return 100.0 - 100.0 / (1.0 + up / down);
}

Series naive_rsi(const Series& x, int n) {
    Series out(x.size(), nan);
    for (std::size_t t = static_cast<std::size_t>(n); t < x.size(); ++t) {
        double up = 0.0, down = 0.0;
        for (std::size_t i = t + 1 - static_cast<std::size_t>(n); i <= t; ++i) {
            const double d = x[i] - x[i - 1];
            up += std::max(d, 0.0);
            down += std::max(-d, 0.0);
        }
        out[t] = rsi_of(up / n, down / n);
    }
    return out;
}

// Wilder: the first averages are simple means of the first n deltas, then avg = (avg*(n-1)+g)/n.
Series naive_rsi_wilder(const Series& x, int n) {
    Series out(x.size(), nan);
    double up = 0.0, down = 0.0;
    for (std::size_t t = 1; t < x.size(); ++t) {
        const double d = x[t] - x[t - 1];
        const double g = std::max(d, 0.0), l = std::max(-d, 0.0);
        if (t < static_cast<std::size_t>(n)) {
            up += g;
            down += l;
            continue;
        }
        if (t == static_cast<std::size_t>(n)) {
            up = (up + g) / n;
            down = (down + l) / n;
        } else {
            up = (up * (n - 1) + g) / n;
            down = (down * (n - 1) + l) / n;
        }
        out[t] = rsi_of(up, down);
    }
    return out;
}

Series naive_bollinger(const Series& x, int n) {
    Series out(x.size(), nan);
    for (std::size_t t = static_cast<std::size_t>(n) - 1; t < x.size(); ++t) {
        out[t] = (x[t] - naive_mean(x, t, n)) / naive_sd(x, t, n);
    }
    return out;
}

Series naive_stochastic(const Hlc& p, int n) {
    const std::size_t w = static_cast<std::size_t>(n);
    Series k(p.close.size(), nan);
    for (std::size_t t = w - 1; t < p.close.size(); ++t) {
        double hh = -std::numeric_limits<double>::infinity(), ll = std::numeric_limits<double>::infinity();
        for (std::size_t i = t + 1 - w; i <= t; ++i) {
            hh = std::max(hh, p.high[i]);
            ll = std::min(ll, p.low[i]);
        }
        k[t] = 100.0 * (p.close[t] - ll) / (hh - ll);
    }
    Series d(p.close.size(), nan);
    for (std::size_t t = 2 * w - 2; t < p.close.size(); ++t) {
        if (!window_has_nan(k, t, n))
            d[t] = naive_mean(k, t, n);
    }
    return d;
}

Series distance(const Series& x, const Series& avg) {
    Series out(x.size());
    for (std::size_t t = 0; t < x.size(); ++t)
        out[t] = x[t] / avg[t] - 1.0;
    return out;
}

Series naive(const std::string& name, const Hlc& p, int n) {
    if (name == "get_sma")
        return naive_sma(p.close, n);
    if (name == "get_ema")
        return naive_ema(p.close, n);
    if (name == "get_rsi")
        return naive_rsi(p.close, n);
    if (name == "get_rsi_wilder")
        return naive_rsi_wilder(p.close, n);
    if (name == "get_bollinger_band")
        return naive_bollinger(p.close, n);
    if (name == "get_stochastic_oscillator")
        return naive_stochastic(p, n);
    if (name == "get_sma_distance")
        return distance(p.close, naive_sma(p.close, n));
    if (name == "get_ema_distance")
        return distance(p.close, naive_ema(p.close, n));
    throw std::logic_error("no naive " + name);
}

const std::vector<std::string> names{"get_sma",
                                     "get_ema",
                                     "get_rsi",
                                     "get_rsi_wilder",
                                     "get_bollinger_band",
                                     "get_stochastic_oscillator",
                                     "get_sma_distance",
                                     "get_ema_distance"};

Hlc transformed(const Hlc& p, double k, double c) {
    Hlc out = p;
    for (Series* s : {&out.high, &out.low, &out.close}) {
        for (double& v : *s)
            v = v * k + c;
    }
    return out;
}

// ---- properties --------------------------------------------------------------------------------

// The streaming structs compute the same numbers as the batch functions, NaN inputs included.
RC_GTEST_PROP(IndicatorProperties, StreamingEqualsBatch, ()) {
    const auto& i = by_name(*rc::gen::elementOf(names));
    const int n = *rc::gen::inRange(i.window_floor, 31);
    const auto len = *rc::gen::inRange<std::size_t>(0, 400);
    Hlc p = gen_hlc(len, gen_scale());
    if (len > 0 && *rc::gen::arbitrary<bool>()) {  // poison a few bars
        const int count = *rc::gen::inRange(1, 4);
        for (int j = 0; j < count; ++j) {
            const auto at = *rc::gen::inRange<std::size_t>(0, len);
            const int column = *rc::gen::inRange(0, 3);
            (column == 0 ? p.close : column == 1 ? p.high : p.low)[at] = nan;
        }
    }
    RC_TAG(i.name);
    require_near(batch(i, p, n), i.streaming(p, n), 1e-9, 1e-9, std::string(i.name) + " streaming vs batch",
                 &p.close);
}

// The O(1)-per-bar batch kernels equal an O(n*w) recomputation from the definitions.
RC_GTEST_PROP(IndicatorProperties, BatchEqualsNaive, ()) {
    const auto& i = by_name(*rc::gen::elementOf(names));
    const int n = *rc::gen::inRange(i.window_floor, 31);
    const auto len = *rc::gen::inRange<std::size_t>(0, 400);
    const Hlc p = gen_hlc(len, gen_scale());
    RC_TAG(i.name);
    const Series slack =
        i.name == std::string("get_bollinger_band") ? bollinger_slack(p.close, n) : Series(len, 0.0);
    require_near(naive(i.name, p, n), batch(i, p, n), i.rel, i.abs, std::string(i.name) + " batch vs naive",
                 &p.close, &slack);
}

// A series with rare jumps of 10x-1000x (a bad tick): the kernels keep sums relative to a shift
// that is re-based only every max(n, 128) bars, so the error of a far-away value must not linger
// once it has left the window. Batch and streaming against the naive forms.
// A regression test: before core commit a7cb5c5 the shift stayed at the first value until the
// periodic re-base, so after a first-bar spike or a 1000x jump s2 - s1^2/n cancelled
// catastrophically for up to 128 bars (Bollinger off by 30% or -inf, RSI by 1e-6).
RC_GTEST_PROP(IndicatorProperties, BatchEqualsNaiveAfterJumps, ()) {
    const auto& i = by_name(*rc::gen::element<std::string>("get_sma", "get_bollinger_band", "get_rsi",
                                                           "get_stochastic_oscillator", "get_sma_distance"));
    const int n = *rc::gen::inRange(i.window_floor, 31);
    const auto len = *rc::gen::inRange<std::size_t>(1, 600);
    const Hlc p = gen_hlc(len, 1.0, true);
    RC_TAG(i.name);
    const Series want = naive(i.name, p, n);
    const Series slack =
        i.name == std::string("get_bollinger_band") ? bollinger_slack(p.close, n) : Series(len, 0.0);
    require_near(want, batch(i, p, n), i.rel * 1000, i.abs * 1000,
                 std::string(i.name) + " batch vs naive after a jump", &p.close, &slack);
    require_near(want, i.streaming(p, n), i.rel * 1000, i.abs * 1000,
                 std::string(i.name) + " streaming vs naive after a jump", &p.close, &slack);
}

// The minimal case of the property above (found by it, fixed in a7cb5c5). Any 2-bar z-score of
// two different values is -1/sqrt(2) or +1/sqrt(2); after a first bar 1000x higher, bollinger
// gave -0.5 on bar 2 and -inf on bar 3 (the shift was still the first bar, 1.48e6 away from a
// window whose spread is 0.03: s2 - s1^2/n lost every digit).
TEST(IndicatorProperties, RollingMomentsAfterSpike) {
    const Series x{1484406.25, 1484.40625, 1484.375, 1484.359375};
    Series z(x.size());
    ind::bollinger(x, 2, z);
    EXPECT_NEAR(z[2], -1.0 / std::sqrt(2.0), 1e-9) << "batch bollinger, bar 2";
    EXPECT_NEAR(z[3], -1.0 / std::sqrt(2.0), 1e-9) << "batch bollinger, bar 3";
    ref::Bollinger s(2);
    Series streamed;
    for (double v : x)
        streamed.push_back(s.update(v));
    EXPECT_NEAR(streamed[2], -1.0 / std::sqrt(2.0), 1e-9) << "streaming bollinger, bar 2";
    EXPECT_NEAR(streamed[3], -1.0 / std::sqrt(2.0), 1e-9) << "streaming bollinger, bar 3";
}

// An infinity is a non-finite value like NaN wherever it lands, the first bar of a chunk of the
// unchecked loop included (bars whose windows hold it are NaN, as in the streaming reference):
// found by review in session 9, where an infinity entering at a chunk's first bar made every sum
// of the chunk infinite, its bounds infinite and its re-base proof pass. Positions around the
// periodic re-bases (every max(n, 128) bars), the paired chunks and the 2,048-bar blocks.
TEST(IndicatorProperties, AnInfinityIsNonFiniteAtEveryChunkStart) {
    const std::size_t len = 4500;
    Hlc base;
    double level = 100.0;
    for (std::size_t t = 0; t < len; ++t) {
        level += (t * 7919 % 13 < 6) ? 0.25 : -0.25;
        base.close.push_back(level);
        base.high.push_back(level + 0.5);
        base.low.push_back(level - 0.5);
    }
    const std::size_t positions[] = {0,   1,   20,  127,  128,  129,  200,  255,  256,  257, 384,
                                     400, 512, 600, 2047, 2048, 2049, 2176, 2304, 2432, 3000};
    int compared = 0;
    for (const auto& name : names) {
        const auto& i = by_name(name);
        for (const int n : {2, 20, 200}) {
            if (n < i.window_floor)
                continue;
            for (const std::size_t at : positions) {
                for (const double bad : {inf, -inf}) {
                    Hlc p = base;
                    p.close[at] = bad;
                    const Series want = i.streaming(p, n);
                    const Series got = batch(i, p, n);
                    for (std::size_t t = 0; t < len; ++t) {
                        if (!near(want[t], got[t], 1e-9, 1e-9)) {
                            ADD_FAILURE() << name << " n=" << n << " x[" << at << "]=" << bad << ": bar " << t
                                          << " streaming " << want[t] << " batch " << got[t];
                            break;
                        }
                    }
                    ++compared;
                }
            }
        }
    }
    EXPECT_GT(compared, 300);
}

// Adding c to every price: RSI, stochastic and Bollinger are unchanged, SMA/EMA move by c.
RC_GTEST_PROP(IndicatorProperties, ShiftInvariance, ()) {
    const auto& i =
        by_name(*rc::gen::element<std::string>("get_sma", "get_ema", "get_rsi", "get_rsi_wilder",
                                               "get_bollinger_band", "get_stochastic_oscillator"));
    const int n = *rc::gen::inRange(i.window_floor, 31);
    const auto len = *rc::gen::inRange<std::size_t>(0, 300);
    const Hlc p = gen_hlc(len, 1.0);
    // A grid constant: x + c is exact, so only the algorithm can break the invariance.
    const double c = static_cast<double>(*rc::gen::inRange(-64, 64 * 100000)) / 64.0;
    RC_TAG(i.name);
    const Series base = batch(i, p, n);
    const Hlc q = transformed(p, 1.0, c);
    const Series moved = batch(i, q, n);
    if (i.price_units) {
        Series want = base;
        for (double& v : want)
            v += c;
        require_near(want, moved, 1e-12, 1e-12, std::string(i.name) + " shifted by c");
    } else {
        // Bollinger: the z-score of a window of spread sd moves by about eps*(|x|+|c|)/sd.
        const Series slack =
            i.name == std::string("get_bollinger_band") ? bollinger_slack(q.close, n) : Series(len, 0.0);
        require_near(base, moved, 1e-9, 1e-9, std::string(i.name) + " shifted by c", &p.close, &slack);
    }
}

// Multiplying every price by k > 0: bounded indicators, z-scores and distances are unchanged,
// SMA/EMA scale by k.
RC_GTEST_PROP(IndicatorProperties, ScaleInvariance, ()) {
    const auto& i = by_name(*rc::gen::elementOf(names));
    const int n = *rc::gen::inRange(i.window_floor, 31);
    const auto len = *rc::gen::inRange<std::size_t>(0, 300);
    const Hlc p = gen_hlc(len, 1.0);
    const double k = *rc::gen::element(0.001, 0.37, 2.0, 3.1, 1e4, 1e6);
    RC_TAG(i.name);
    const Series base = batch(i, p, n);
    const Hlc q = transformed(p, k, 0.0);
    const Series scaled = batch(i, q, n);
    if (i.price_units) {
        Series want = base;
        for (double& v : want)
            v *= k;
        require_near(want, scaled, 1e-12, 0.0, std::string(i.name) + " scaled by k");
    } else {
        // Scaled prices are rounded (relative eps), which a z-score divides by the spread.
        const Series slack =
            i.name == std::string("get_bollinger_band") ? bollinger_slack(p.close, n) : Series(len, 0.0);
        require_near(base, scaled, 1e-9, 1e-9, std::string(i.name) + " scaled by k", &p.close, &slack);
    }
}

// RSI (both forms) and the stochastic %D stay within [0, 100] wherever they are defined.
RC_GTEST_PROP(IndicatorProperties, BoundedWithin0And100, ()) {
    const auto& i =
        by_name(*rc::gen::element<std::string>("get_rsi", "get_rsi_wilder", "get_stochastic_oscillator"));
    const int n = *rc::gen::inRange(i.window_floor, 31);
    const auto len = *rc::gen::inRange<std::size_t>(0, 600);
    const Hlc p = gen_hlc(len, gen_scale(), *rc::gen::arbitrary<bool>());
    RC_TAG(i.name);
    const Series out = batch(i, p, n);
    for (std::size_t t = 0; t < out.size(); ++t) {
        if (std::isnan(out[t]))
            continue;
        if (!(out[t] >= 0.0 && out[t] <= 100.0)) {
            std::ostringstream msg;
            msg.precision(17);
            msg << i.name << " bar " << t << " is " << out[t] << ", outside [0, 100]";
            RC_FAIL(msg.str());
        }
    }
}

// The "no raw sum of squares" check. A level L in {1e4, 1e6, 1e8} plus noise of relative size
// 1e-7..1e-4 gives the Bollinger z-score of the noise alone. The noise is taken back out of the
// rounded prices (x - L is exact, both within a factor of 2), so both series carry exactly the
// same deviations. Tolerance, per bar: any implementation that forms the window mean in price
// units (the two-pass definition included) rounds it to eps*L, so x - mean, and z, are off by up
// to about eps*L/sd; we allow 16*eps*L/sd + 1e-9. A raw sum of squares loses eps*(L/sd)^2 in the
// relative variance, larger by the factor L/sd >= 1e4 here (1e-16*(1e7)^2 = 1e-2 at L=1e8), so
// it fails this bound by orders of magnitude.
RC_GTEST_PROP(IndicatorProperties, BollingerStableAtHighLevels, ()) {
    const double level = *rc::gen::element(1e4, 1e6, 1e8);
    const double rel_noise = *rc::gen::element(1e-7, 1e-6, 1e-5, 1e-4);
    const int n = *rc::gen::inRange(2, 61);
    const auto len = *rc::gen::inRange<std::size_t>(static_cast<std::size_t>(n), 700);
    const bool walk = *rc::gen::arbitrary<bool>();  // iid noise or a random walk around L
    const auto u = *rc::gen::container<std::vector<int>>(len, rc::gen::inRange(-1000, 1001));
    Series high(len), noise(len);
    double acc = 0.0;
    for (std::size_t t = 0; t < len; ++t) {
        const double step = level * rel_noise * u[t] / 1000.0;
        acc = walk ? acc + step / 10.0 : step;
        high[t] = level + acc;
        noise[t] = high[t] - level;
    }
    Series z_high(len), z_noise(len);
    ind::bollinger(high, n, z_high);
    ind::bollinger(noise, n, z_noise);
    ref::Bollinger s(n);
    const double eps = std::numeric_limits<double>::epsilon();
    for (std::size_t t = 0; t < len; ++t) {
        const double z_stream = s.update(high[t]);
        const double sd = t + 1 >= static_cast<std::size_t>(n) ? naive_sd(noise, t, n) : nan;
        const double tol = 1e-9 + 16.0 * eps * level / sd;
        for (double got : {z_high[t], z_stream}) {
            if (!near(z_noise[t], got, 0.0, tol)) {
                std::ostringstream msg;
                msg.precision(17);
                msg << "L=" << level << " bar " << t << ": z of the noise " << z_noise[t] << ", of L + noise "
                    << got << " (batch " << z_high[t] << ", streaming " << z_stream << "), tolerance " << tol;
                RC_FAIL(msg.str());
            }
        }
    }
}

// The registry's first_defined(window) is the first bar with a value (on data without ties, so
// no 0/0), and the registry's compute is the batch function.
RC_GTEST_PROP(IndicatorProperties, FirstDefinedMatchesRegistry, ()) {
    const auto& i = by_name(*rc::gen::elementOf(names));
    const auto* info = quant::find_indicator(i.name);
    RC_ASSERT(info != nullptr);
    const int n = *rc::gen::inRange(i.window_floor, 31);
    const auto first = static_cast<std::size_t>(info->first_defined(n));
    const auto len = first + *rc::gen::inRange<std::size_t>(1, 50);
    // Strictly alternating moves (no zero delta, no flat window), high > close > low.
    Hlc p;
    double x = 100.0;
    for (std::size_t t = 0; t < len; ++t) {
        x += (t % 2 == 0 ? 1.0 : -0.5) * (1.0 + static_cast<double>(t % 7) / 8.0);
        p.close.push_back(x);
        p.high.push_back(x + 0.25);
        p.low.push_back(x - 0.25);
    }
    const Series out = batch(i, p, n);
    for (std::size_t t = 0; t < len; ++t) {
        if (t < first) {
            RC_ASSERT(std::isnan(out[t]));
        } else {
            RC_ASSERT(std::isfinite(out[t]));
        }
    }
    quant::OwnedBars bars;
    for (std::size_t t = 0; t < len; ++t) {
        bars.push_back(static_cast<std::int64_t>(t), p.close[t], p.high[t], p.low[t], p.close[t], 1.0);
    }
    Series via_registry(len);
    info->compute(bars.view(), quant::Column::v, n, via_registry);
    require_near(out, via_registry, 0.0, 0.0, std::string(i.name) + " registry vs batch");
}

// Every registry indicator is covered here (a new one must get its properties).
TEST(IndicatorProperties, CoversTheRegistry) {
    for (const auto& info : quant::indicator_registry()) {
        EXPECT_NE(std::find(names.begin(), names.end(), std::string(info.name)), names.end()) << info.name;
    }
    EXPECT_EQ(quant::indicator_registry().size(), names.size());
}

}  // namespace
