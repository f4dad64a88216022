#include "quant/backtest.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "quant/cancel.hpp"
#include "quant/cpu.hpp"
#include "quant/error.hpp"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace quant {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Mean and sample standard deviation with NaN skipped, in one pass without a division per
// value: sums relative to the first value (pnl values sit within a few deviations of each other,
// so the shifted sum of squares loses nothing).
struct RunningStats {
    std::size_t count = 0;
    double shift = 0.0, s1 = 0.0, s2 = 0.0;
    void add(double v) {
        if (std::isnan(v))
            return;
        if (count == 0)
            shift = v;
        const double d = v - shift;
        s1 += d;
        s2 += d * d;
        ++count;
    }
    double average() const { return count > 0 ? shift + s1 / static_cast<double>(count) : nan; }
    double stddev() const {
        if (count < 2)
            return nan;
        const double m2 = s2 - s1 * s1 / static_cast<double>(count);
        return std::sqrt(std::max(0.0, m2) / static_cast<double>(count - 1));
    }
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
        if (std::isnan(max_dd) || drawdown > max_dd)
            max_dd = drawdown;
    }
};

Metrics finish_metrics(const RunningStats& scored, const Equity& eq, int trading_period,
                       double last_cumulative) {
    Metrics m;
    m.total_return = last_cumulative;
    m.annualized_return = scored.average() * trading_period;
    const double sd = scored.stddev();
    m.sharpe_ratio = (std::isnan(sd) || sd == 0.0) ? nan : scored.average() / sd * std::sqrt(trading_period);
    m.max_drawdown = eq.max_dd;
    m.calmar_ratio =
        (std::isnan(m.max_drawdown) || m.max_drawdown == 0.0) ? nan : m.annualized_return / m.max_drawdown;
    return m;
}

}  // namespace

void check_bars_for(const StrategyConfig& cfg, const StrategyBars& bars) {
    const std::size_t n = bars.size();
    if (n == 0) {
        throw Error(ErrorCode::no_data, "ticker", "ticker \"" + cfg.ticker + "\" has no bars",
                    "load bars into md.bar (quant.load_bars_csv) or check the ticker and the date range");
    }
    if (!bars.has_factors_of(cfg)) {
        const auto products = cfg.factor_products();
        throw Error(ErrorCode::no_data, "substrategies",
                    "the bars of \"" + products.front() + "\" (a substrategy's product) were not given",
                    "pass the bars of every product the substrategies name (align_strategy_bars)");
    }
    for (std::size_t i = 0; i < cfg.substrategies.size(); ++i) {
        const auto& s = cfg.substrategies[i];
        const auto first =
            static_cast<std::size_t>(s.indicator->first_defined(s.window)) + cfg.fill_delay_bars;
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

std::vector<double> price_changes(std::span<const double> price) {
    std::vector<double> out(price.size(), nan);
    for (std::size_t t = 1; t < price.size(); ++t)
        out[t] = price[t] / price[t - 1] - 1.0;
    return out;
}

namespace {

// byte i of spread[m] is 0xFF where bit i of m is set: eight compare results as eight bytes.
constexpr std::array<std::uint64_t, 256> make_spread() {
    std::array<std::uint64_t, 256> t{};
    for (std::size_t m = 0; m < 256; ++m) {
        for (std::size_t i = 0; i < 8; ++i) {
            if ((m >> i) & 1U)
                t[m] |= std::uint64_t{0xFF} << (8 * i);
        }
    }
    return t;
}
constexpr std::array<std::uint64_t, 256> spread = make_spread();

// One signal rule over a whole series, the rule chosen once (not per bar): up = (v > a) or
// (v < a) by UpAbove, down = (v > b) or (v < b) by DownAbove; the code is up ? 1 : (down ? -1 : 0)
// (the long test first, as apply_signal_func), at least `floor` (0 for long-only), and undefined
// for NaN. Eight bars at a time: the three compares of each bar as bits (MOVMSKPD), each set of
// eight bits spread to eight bytes by a table, the codes made from those bytes (1 where up, -1
// where down and not up unless long-only, -128 where NaN), the scalar form for the rest: the
// same codes (the compares are the scalar ones: ordered, false for NaN).
template <bool UpAbove, bool DownAbove>
void codes_loop(std::span<const double> x, double a, double b, bool long_only, std::span<PositionCode> out) {
    const PositionCode floor = long_only ? 0 : -1;
    const std::size_t n = x.size();
    const double* px = x.data();
    PositionCode* po = out.data();
    std::size_t t = 0;
#if defined(__SSE2__)
    const __m128d va = _mm_set1_pd(a), vb = _mm_set1_pd(b);
    const std::uint64_t ones = 0x0101010101010101ULL, minus_128 = 0x8080808080808080ULL;
    const std::uint64_t keep_down = long_only ? 0 : ~std::uint64_t{0};
    for (; t + 8 <= n; t += 8) {
        unsigned up = 0, down = 0, unordered = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const __m128d v = _mm_loadu_pd(px + t + 2 * k);
            up |= static_cast<unsigned>(_mm_movemask_pd(UpAbove ? _mm_cmpgt_pd(v, va) : _mm_cmplt_pd(v, va)))
                  << (2 * k);
            down |=
                static_cast<unsigned>(_mm_movemask_pd(DownAbove ? _mm_cmpgt_pd(v, vb) : _mm_cmplt_pd(v, vb)))
                << (2 * k);
            unordered |= static_cast<unsigned>(_mm_movemask_pd(_mm_cmpunord_pd(v, v))) << (2 * k);
        }
        const std::uint64_t nan_bytes = spread[unordered];
        std::uint64_t codes = (spread[up] & ones) | (spread[down & ~up] & keep_down);
        codes = (codes & ~nan_bytes) | (minus_128 & nan_bytes);
        std::memcpy(po + t, &codes, sizeof codes);
    }
#endif
    for (; t < n; ++t) {
        const double v = px[t];
        const bool up = UpAbove ? v > a : v < a;
        const bool down = DownAbove ? v > b : v < b;
        const auto c = static_cast<PositionCode>(static_cast<int>(up) - static_cast<int>(!up & down));
        po[t] = std::isnan(v) ? undefined_position : std::max(c, floor);
    }
}

}  // namespace

void signal_codes(const SubStrategy& sub, std::span<const double> indicator, std::span<PositionCode> out) {
    const bool long_only = sub.signal_func->long_only;
    const double s = sub.signal;
    const double lo = -s, hi = 100.0 - s;
    switch (sub.signal_func->kind) {
        case SignalKind::momentum_band:  // up v > s, down v < -s
            codes_loop<true, false>(indicator, s, lo, long_only, out);
            break;
        case SignalKind::reversion_band:  // up v < -s, down v > s
            codes_loop<false, true>(indicator, lo, s, long_only, out);
            break;
        case SignalKind::momentum_bounded:  // up v > s, down v < 100 - s
            codes_loop<true, false>(indicator, s, hi, long_only, out);
            break;
        case SignalKind::reversion_bounded:  // up v < 100 - s, down v > s
            codes_loop<false, true>(indicator, hi, s, long_only, out);
            break;
    }
}

namespace {

// The scoring loop where nothing is NaN: from the first bar whose previous position is defined,
// every position and every price change is, so the loop has no NaN branch. It does the generic
// loop's arithmetic in the generic loop's order, so the metrics are the same to the bit. Returns
// false (the generic loop then runs) when a gap or a non-finite change makes it not apply.
bool score_without_gaps(const ScoreInput& in, BacktestSummary& out) {
    const std::size_t n = in.price.size();
    const auto delay = static_cast<std::size_t>(in.fill_delay_bars);
    const auto decided = in.decided;
    std::size_t first = 0;
    while (first < n && decided[first] == undefined_position)
        ++first;
    const std::size_t start = first + delay + 1;  // the first bar with a defined previous position
    if (start >= n)
        return false;
    for (std::size_t t = first; t < n; ++t) {
        if (decided[t] == undefined_position)
            return false;
    }
    const auto change = in.change;
    for (std::size_t t = start; t < n; ++t) {
        if (!std::isfinite(change[t]))
            return false;
    }
    const double fee = in.fee_bps / 10000.0;
    double held_prev = decided[start - 1 - delay];
    double total = 0.0, peak = -std::numeric_limits<double>::infinity();
    double max_dd = -std::numeric_limits<double>::infinity(), changes = 0.0;
    const auto step = [&](std::size_t t) {
        const double held = decided[t - delay];
        const double trade = std::fabs(held - held_prev);
        const double pnl = held_prev * change[t] - trade * fee;
        changes += trade;
        total += pnl;
        peak = std::max(peak, total);
        max_dd = std::max(max_dd, peak - total);
        held_prev = held;
        return pnl;
    };
    const std::size_t scored_from = std::max(start, in.first_scored);
    std::size_t t = start;
    for (; t < std::min(scored_from, n); ++t)
        step(t);
    RunningStats scored;
    for (; t < n; ++t)
        scored.add(step(t));
    Equity eq;
    eq.total = total;
    eq.peak = peak;
    eq.max_dd = max_dd;
    eq.any = true;
    out.metrics = finish_metrics(scored, eq, in.trading_period, total);
    out.buy_hold = Metrics{nan, nan, nan, nan, nan};
    out.last_position = position_value(decided[n - 1]);
    out.bars = n;
    out.position_changes = static_cast<std::size_t>(changes);
    return true;
}

}  // namespace

namespace {

// What score_lanes carries per lane: the previous position, the equity curve's total, peak and
// drawdown, the traded units, and the scored pnl's shift and shifted sums.
struct LaneSums {
    std::array<double, max_score_lanes> held_prev{}, total{}, peak{}, max_dd{}, changes{}, shift{}, s1{},
        s2{};
};

#if defined(__SSE2__)
// score_lanes' loop for all four lanes in one AVX2 register, in one pass over the bars (the SSE2
// form below makes two, a pair of lanes each): the same operations on each lane, each correctly
// rounded, so the same bits. Compiled for AVX2 alone (no FMA, nothing contracted).

__attribute__((target("avx2"))) void score_four_lanes(
    const std::array<const PositionCode*, max_score_lanes>& code, const double* change, std::size_t start,
    std::size_t scored_from, std::size_t n, std::size_t delay, double fee, LaneSums& io) {
    const double inf = std::numeric_limits<double>::infinity();
    const __m256d fee4 = _mm256_set1_pd(fee), sign = _mm256_set1_pd(-0.0);
    const PositionCode* c0 = code[0];
    const PositionCode* c1 = code[1];
    const PositionCode* c2 = code[2];
    const PositionCode* c3 = code[3];
    __m256d prev = _mm256_loadu_pd(io.held_prev.data());
    __m256d tot = _mm256_setzero_pd(), pk = _mm256_set1_pd(-inf), dd = _mm256_set1_pd(-inf);
    __m256d chs = _mm256_setzero_pd(), sh = _mm256_setzero_pd(), m1 = _mm256_setzero_pd(),
            m2 = _mm256_setzero_pd();
    __m256d pl = _mm256_setzero_pd();
    // one loop: at the first scored bar the shift is that bar's pnl, so its d is +0 and adding it
    // to the sums (+0 so far) leaves them +0, as score_without_gaps' first add does
    for (std::size_t t = start; t < n; ++t) {
        const __m256d chg = _mm256_set1_pd(change[t]);
        const std::size_t at = t - delay;
        const __m256d held = _mm256_cvtepi32_pd(_mm_setr_epi32(c0[at], c1[at], c2[at], c3[at]));
        const __m256d trade = _mm256_andnot_pd(sign, _mm256_sub_pd(held, prev));
        pl = _mm256_sub_pd(_mm256_mul_pd(prev, chg), _mm256_mul_pd(trade, fee4));
        chs = _mm256_add_pd(chs, trade);
        tot = _mm256_add_pd(tot, pl);
        pk = _mm256_max_pd(tot, pk);
        dd = _mm256_max_pd(_mm256_sub_pd(pk, tot), dd);
        prev = held;
        if (t >= scored_from) {
            if (t == scored_from)
                sh = pl;
            const __m256d d = _mm256_sub_pd(pl, sh);
            m1 = _mm256_add_pd(m1, d);
            m2 = _mm256_add_pd(m2, _mm256_mul_pd(d, d));
        }
    }
    _mm256_storeu_pd(io.held_prev.data(), prev);
    _mm256_storeu_pd(io.total.data(), tot);
    _mm256_storeu_pd(io.peak.data(), pk);
    _mm256_storeu_pd(io.max_dd.data(), dd);
    _mm256_storeu_pd(io.changes.data(), chs);
    _mm256_storeu_pd(io.shift.data(), sh);
    _mm256_storeu_pd(io.s1.data(), m1);
    _mm256_storeu_pd(io.s2.data(), m2);
    _mm256_zeroupper();
}
#endif

}  // namespace

bool score_lanes(std::span<const std::span<const PositionCode>> decided, const ScoreInput& shared,
                 std::span<BacktestSummary> out) {
    constexpr std::size_t width = max_score_lanes;
    const std::size_t lanes = decided.size();
    if (lanes == 0 || lanes > width || shared.change.empty())
        return false;
    const std::size_t n = shared.price.size();
    const auto delay = static_cast<std::size_t>(shared.fill_delay_bars);
    // The same conditions as score_without_gaps, and the same first defined bar in every lane.
    std::size_t first = 0;
    while (first < n && decided[0][first] == undefined_position)
        ++first;
    const std::size_t start = first + delay + 1;
    if (start >= n)
        return false;
    // (memchr: these checks were a quarter of a small grid's time as a loop per byte)
    for (std::size_t l = 0; l < lanes; ++l) {
        if (first > 0 && decided[l][first - 1] != undefined_position)
            return false;
        if (std::memchr(decided[l].data() + first, static_cast<unsigned char>(undefined_position),
                        n - first) != nullptr)
            return false;
    }
    const auto change = shared.change;
    for (std::size_t t = start; t < std::min(n, shared.finite_change_from); ++t) {
        if (!std::isfinite(change[t]))
            return false;
    }
    // Lanes past `lanes` repeat lane 0; their results are dropped.
    std::array<const PositionCode*, width> code{};
    for (std::size_t l = 0; l < width; ++l)
        code[l] = decided[l < lanes ? l : 0].data();
    const double fee = shared.fee_bps / 10000.0;
    const double inf = std::numeric_limits<double>::infinity();
    LaneSums acc;
    [[maybe_unused]] std::array<double, width> pnl{};
    for (std::size_t l = 0; l < width; ++l) {
        acc.held_prev[l] = code[l][start - 1 - delay];
        acc.peak[l] = -inf;
        acc.max_dd[l] = -inf;
    }
    const std::size_t scored_from = std::max(start, shared.first_scored);
    const std::size_t count = scored_from < n ? n - scored_from : 0;  // the scored bars
#if defined(__SSE2__)
    if (width == 4 && cpu::has_avx2()) {
        score_four_lanes(code, change.data(), start, scored_from, n, delay, fee, acc);
    } else {
        // Two lanes per SSE2 register, one pair at a time (the pair's chains fit in registers): the
        // arithmetic of score_without_gaps, each operation correctly rounded per lane as the scalar
        // one, so the same bits. std::max(a, b) (a < b ? b : a) is MAXPD(b, a) ((b > a) ? b : a).
        const __m128d fee2 = _mm_set1_pd(fee), sign = _mm_set1_pd(-0.0);
        for (std::size_t p = 0; p < width; p += 2) {
            const PositionCode* c0 = code[p];
            const PositionCode* c1 = code[p + 1];
            __m128d prev = _mm_setr_pd(acc.held_prev[p], acc.held_prev[p + 1]);
            __m128d tot = _mm_setzero_pd(), pk = _mm_set1_pd(-inf), dd = _mm_set1_pd(-inf);
            __m128d chs = _mm_setzero_pd(), sh = _mm_setzero_pd(), m1 = _mm_setzero_pd(),
                    m2 = _mm_setzero_pd();
            __m128d pl = _mm_setzero_pd();
            const auto step = [&](std::size_t t) {
                const __m128d chg = _mm_set1_pd(change[t]);
                const __m128d held = _mm_setr_pd(c0[t - delay], c1[t - delay]);
                const __m128d trade = _mm_andnot_pd(sign, _mm_sub_pd(held, prev));
                pl = _mm_sub_pd(_mm_mul_pd(prev, chg), _mm_mul_pd(trade, fee2));
                chs = _mm_add_pd(chs, trade);
                tot = _mm_add_pd(tot, pl);
                pk = _mm_max_pd(tot, pk);
                dd = _mm_max_pd(_mm_sub_pd(pk, tot), dd);
                prev = held;
            };
            std::size_t t = start;
            for (; t < std::min(scored_from, n); ++t)
                step(t);
            if (t < n) {  // the first scored value is each lane's shift (RunningStats::add)
                step(t++);
                sh = pl;
            }
            for (; t < n; ++t) {
                step(t);
                const __m128d d = _mm_sub_pd(pl, sh);
                m1 = _mm_add_pd(m1, d);
                m2 = _mm_add_pd(m2, _mm_mul_pd(d, d));
            }
            const auto store = [p](std::array<double, width>& to, __m128d v) {
                _mm_storeu_pd(to.data() + p, v);
            };
            store(acc.held_prev, prev);
            store(acc.total, tot);
            store(acc.peak, pk);
            store(acc.max_dd, dd);
            store(acc.changes, chs);
            store(acc.shift, sh);
            store(acc.s1, m1);
            store(acc.s2, m2);
        }
    }
#else
    // The arithmetic of score_without_gaps, lane by lane: independent chains, run side by side.
    const auto step = [&](std::size_t t) {
        const double chg = change[t];
        for (std::size_t l = 0; l < width; ++l) {
            const double held = code[l][t - delay];
            const double trade = std::fabs(held - acc.held_prev[l]);
            pnl[l] = acc.held_prev[l] * chg - trade * fee;
            acc.changes[l] += trade;
            acc.total[l] += pnl[l];
            acc.peak[l] = std::max(acc.peak[l], acc.total[l]);
            acc.max_dd[l] = std::max(acc.max_dd[l], acc.peak[l] - acc.total[l]);
            acc.held_prev[l] = held;
        }
    };
    std::size_t t = start;
    for (; t < std::min(scored_from, n); ++t)
        step(t);
    if (t < n) {  // the first scored value is each lane's shift (RunningStats::add)
        step(t++);
        for (std::size_t l = 0; l < width; ++l)
            acc.shift[l] = pnl[l];
    }
    for (; t < n; ++t) {
        step(t);
        for (std::size_t l = 0; l < width; ++l) {
            const double d = pnl[l] - acc.shift[l];
            acc.s1[l] += d;
            acc.s2[l] += d * d;
        }
    }
#endif
    for (std::size_t l = 0; l < lanes; ++l) {
        RunningStats scored;
        scored.count = count;
        scored.shift = acc.shift[l];
        scored.s1 = acc.s1[l];
        scored.s2 = acc.s2[l];
        Equity eq;
        eq.total = acc.total[l];
        eq.peak = acc.peak[l];
        eq.max_dd = acc.max_dd[l];
        eq.any = true;
        BacktestSummary& o = out[l];
        o.metrics = finish_metrics(scored, eq, shared.trading_period, acc.total[l]);
        o.buy_hold = Metrics{nan, nan, nan, nan, nan};
        o.last_position = position_value(decided[l][n - 1]);
        o.bars = n;
        o.position_changes = static_cast<std::size_t>(acc.changes[l]);
    }
    return true;
}

BacktestSummary score_positions(const ScoreInput& in, BacktestSeries* series) {
    const std::size_t n = in.price.size();
    if (series == nullptr && !in.score_buy_hold && !in.change.empty()) {
        BacktestSummary fast;
        if (score_without_gaps(in, fast))
            return fast;
    }
    if (series != nullptr) {
        for (auto* col :
             {&series->price, &series->position, &series->pnl, &series->cumulative, &series->drawdown,
              &series->buy_hold_pnl, &series->buy_hold_cumulative, &series->buy_hold_drawdown}) {
            col->assign(n, nan);
        }
    }
    const double fee = in.fee_bps / 10000.0;
    const auto delay = static_cast<std::size_t>(in.fill_delay_bars);
    const bool with_buy_hold = in.score_buy_hold || series != nullptr;
    const bool precomputed = !in.change.empty();
    const auto price = in.price;

    RunningStats scored, bh_scored;
    Equity eq, bh_eq;
    double held_prev = nan, cumulative = nan, drawdown = nan, bh_cumulative = nan, bh_drawdown = nan;
    double changes = 0.0;
    for (std::size_t t = 0; t < n; ++t) {
        // The position held over (t, t+1]: decided `delay` bars earlier.
        const double held = t >= delay ? position_value(in.decided[t - delay]) : nan;
        const double chg = precomputed ? in.change[t] : (t > 0 ? price[t] / price[t - 1] - 1.0 : nan);
        const double trade = std::fabs(held - held_prev);
        const double pnl = held_prev * chg - trade * fee;
        if (trade > 0.0)
            changes += trade;
        eq.add(pnl, cumulative, drawdown);
        if (t >= in.first_scored)
            scored.add(pnl);
        if (with_buy_hold) {
            const double bh = std::isnan(held_prev) ? nan : chg;
            bh_eq.add(bh, bh_cumulative, bh_drawdown);
            if (t >= in.first_scored)
                bh_scored.add(bh);
            if (series != nullptr) {
                series->price[t] = price[t];
                series->position[t] = held;
                series->pnl[t] = pnl;
                series->cumulative[t] = cumulative;
                series->drawdown[t] = drawdown;
                series->buy_hold_pnl[t] = bh;
                series->buy_hold_cumulative[t] = bh_cumulative;
                series->buy_hold_drawdown[t] = bh_drawdown;
            }
        }
        held_prev = held;
    }

    BacktestSummary out;
    out.metrics = finish_metrics(scored, eq, in.trading_period, cumulative);
    out.buy_hold = with_buy_hold ? finish_metrics(bh_scored, bh_eq, in.trading_period, bh_cumulative)
                                 : Metrics{nan, nan, nan, nan, nan};
    out.last_position = n > 0 ? position_value(in.decided[n - 1]) : nan;
    out.bars = n;
    out.position_changes = static_cast<std::size_t>(changes);
    return out;
}

namespace {

// Per-thread columns of run_backtest without series: reused across calls (no allocation, and no
// page faults on fresh memory for long series), released when a call needed more than
// `kept_scratch_bars` bars so that one huge backtest does not pin its columns for the thread's
// life: at most about 18 bytes a bar (two double columns, two byte columns; more codes with more
// substrategies), about 19 MB per thread at the limit.
constexpr std::size_t kept_scratch_bars = std::size_t{1} << 20;

struct BacktestScratch {
    std::vector<double> indicator, change;
    std::vector<PositionCode> codes, decided;
    void release_if_large(std::size_t n) {
        if (n > kept_scratch_bars)
            *this = BacktestScratch{};
    }
};

BacktestScratch& backtest_scratch() {
    thread_local BacktestScratch scratch;
    return scratch;
}

// combine_codes (signals.hpp) over whole columns, the conjunction chosen once and every bar's
// choice made with arithmetic instead of branches; the same result as combine_codes for every
// input (CombineColumns tests, exhaustive over three substrategies).
template <Conjunction Conj>
void combine_columns_as(std::span<const PositionCode* const> columns, std::size_t n, PositionCode* out) {
    const std::size_t k = columns.size();
    const std::size_t first = Conj == Conjunction::filter ? 1 : 0;
    const auto voters = static_cast<int>(k - first);
    const PositionCode* gate = columns[0];
    for (std::size_t t = 0; t < n; ++t) {
        int undefined = 0, longs = 0, shorts = 0;
        for (std::size_t j = 0; j < k; ++j) {
            const PositionCode c = columns[j][t];
            undefined |= static_cast<int>(c == undefined_position);
            if (j >= first) {
                longs += static_cast<int>(c > 0);
                shorts += static_cast<int>(c < 0);
            }
        }
        int r = 0;
        if constexpr (Conj == Conjunction::any) {
            r = static_cast<int>(longs > 0) - static_cast<int>((longs == 0) & (shorts > 0));
        } else {
            r = static_cast<int>(longs == voters) - static_cast<int>((longs != voters) & (shorts == voters));
            if constexpr (Conj == Conjunction::filter)
                r *= static_cast<int>(gate[t] != 0);
        }
        out[t] = undefined != 0 ? undefined_position : static_cast<PositionCode>(r);
    }
}

// Two columns (the common case: the seed's pair, the optimizer's two-substrategy grids), with
// the count loop unrolled by hand so that the bar loop vectorises.
template <Conjunction Conj>
void combine_two_as(const PositionCode* a, const PositionCode* b, std::size_t n, PositionCode* out) {
    for (std::size_t t = 0; t < n; ++t) {
        const PositionCode x = a[t], y = b[t];
        const bool undefined = (x == undefined_position) | (y == undefined_position);
        int r = 0;
        if constexpr (Conj == Conjunction::all) {
            r = static_cast<int>((x > 0) & (y > 0)) - static_cast<int>((x < 0) & (y < 0));
        } else if constexpr (Conj == Conjunction::any) {
            r = static_cast<int>((x > 0) | (y > 0)) -
                static_cast<int>((x <= 0) & (y <= 0) & ((x < 0) | (y < 0)));
        } else {
            r = (x != 0) ? static_cast<int>(y) : 0;
        }
        out[t] = undefined ? undefined_position : static_cast<PositionCode>(r);
    }
}

}  // namespace

void combine_columns(Conjunction conj, std::span<const PositionCode* const> columns, std::size_t n,
                     PositionCode* out) {
    if (columns.size() == 1) {
        std::copy(columns[0], columns[0] + n, out);
        return;
    }
    if (columns.size() == 2) {
        switch (conj) {
            case Conjunction::all:
                combine_two_as<Conjunction::all>(columns[0], columns[1], n, out);
                return;
            case Conjunction::any:
                combine_two_as<Conjunction::any>(columns[0], columns[1], n, out);
                return;
            case Conjunction::filter:
                combine_two_as<Conjunction::filter>(columns[0], columns[1], n, out);
                return;
        }
    }
    switch (conj) {
        case Conjunction::all:
            combine_columns_as<Conjunction::all>(columns, n, out);
            break;
        case Conjunction::any:
            combine_columns_as<Conjunction::any>(columns, n, out);
            break;
        case Conjunction::filter:
            combine_columns_as<Conjunction::filter>(columns, n, out);
            break;
    }
}

namespace {

// chg[t] = price[t] / price[t - 1] - 1 for t in [start, n) (start >= 1); whether all are finite.
// c - c is +0.0 for a finite c and NaN for an infinity or NaN, so a sum of them is +0.0 exactly
// when all are finite, in whatever order it is added: lanes of two (SSE2) or four (AVX2) sums,
// no chain of dependent additions across the bars.
[[gnu::always_inline]] inline bool finite_changes_sse2(const double* price, std::size_t start, std::size_t n,
                                                       double* chg) {
    std::size_t t = start;
    double poison = 0.0;
#if defined(__SSE2__)
    const __m128d one = _mm_set1_pd(1.0);
    __m128d sums = _mm_setzero_pd();
    for (; t + 2 <= n; t += 2) {
        const __m128d c = _mm_sub_pd(_mm_div_pd(_mm_loadu_pd(price + t), _mm_loadu_pd(price + t - 1)), one);
        _mm_storeu_pd(chg + t, c);
        sums = _mm_add_pd(sums, _mm_sub_pd(c, c));
    }
    poison = _mm_cvtsd_f64(_mm_add_sd(sums, _mm_unpackhi_pd(sums, sums)));
#endif
    for (; t < n; ++t) {
        const double c = price[t] / price[t - 1] - 1.0;
        chg[t] = c;
        poison += c - c;
    }
    return poison == 0.0;
}

#if defined(__SSE2__)
__attribute__((target("avx2"))) bool finite_changes_avx2(const double* price, std::size_t start,
                                                         std::size_t n, double* chg) {
    std::size_t t = start;
    const __m256d one = _mm256_set1_pd(1.0);
    __m256d sums = _mm256_setzero_pd();
    for (; t + 4 <= n; t += 4) {
        const __m256d c =
            _mm256_sub_pd(_mm256_div_pd(_mm256_loadu_pd(price + t), _mm256_loadu_pd(price + t - 1)), one);
        _mm256_storeu_pd(chg + t, c);
        sums = _mm256_add_pd(sums, _mm256_sub_pd(c, c));
    }
    const __m128d half = _mm_add_pd(_mm256_castpd256_pd128(sums), _mm256_extractf128_pd(sums, 1));
    const double poison = _mm_cvtsd_f64(_mm_add_sd(half, _mm_unpackhi_pd(half, half)));
    return finite_changes_sse2(price, t, n, chg) && poison == 0.0;
}
#endif

bool finite_changes(const double* price, std::size_t start, std::size_t n, double* chg) {
#if defined(__SSE2__)
    if (cpu::has_avx2())
        return finite_changes_avx2(price, start, n, chg);
#endif
    return finite_changes_sse2(price, start, n, chg);
}

constexpr std::size_t max_fast_bars = std::size_t{1} << 30;  // 2 trades a bar at most fit in an int

// pnl[t] = held[t-1] * chg[t] - |held[t] - held[t-1]| * fee for t in [start, n), held[t] the code
// decided delay bars before (code[t - delay]); returns the sum of the trades |held[t] - held[t-1]|
// (0, 1 or 2 each). No bar depends on another, so the compiler vectorises it (YMM where the CPU
// has AVX2, pnl_of_positions_avx2); the operations per bar are the sequential loop's, so the same
// bits.
[[gnu::always_inline]] inline std::size_t pnl_of_positions_loop(const PositionCode* __restrict code,
                                                                std::size_t delay,
                                                                const double* __restrict chg,
                                                                std::size_t start, std::size_t n, double fee,
                                                                double* __restrict pnl) {
    int changes = 0;  // the trades (0, 1 or 2 each) as integers: exact, and a vectorisable sum
    for (std::size_t t = start; t < n; ++t) {
        const double now = code[t - delay], before = code[t - 1 - delay];
        const double trade = std::fabs(now - before);
        pnl[t] = before * chg[t] - trade * fee;
        changes += static_cast<int>(trade);
    }
    return static_cast<std::size_t>(changes);
}

#if defined(__SSE2__)
__attribute__((target("avx2"))) std::size_t pnl_of_positions_avx2(const PositionCode* code, std::size_t delay,
                                                                  const double* chg, std::size_t start,
                                                                  std::size_t n, double fee, double* pnl) {
    return pnl_of_positions_loop(code, delay, chg, start, n, fee, pnl);
}
#endif

std::size_t pnl_of_positions(const PositionCode* code, std::size_t delay, const double* chg,
                             std::size_t start, std::size_t n, double fee, double* pnl) {
#if defined(__SSE2__)
    if (cpu::has_avx2())
        return pnl_of_positions_avx2(code, delay, chg, start, n, fee, pnl);
#endif
    return pnl_of_positions_loop(code, delay, chg, start, n, fee, pnl);
}

// Both metric sets of score_positions (the strategy's and buy-and-hold's) where nothing is NaN:
// the changes price[t]/price[t-1]-1 and the strategy's pnl in passes without a loop-carried
// dependency (a division and the pnl per bar, vectorised), then the running sums in one pass.
// The conditions are score_without_gaps's: every position from the first defined one on is
// defined, and every change from the first held bar on is finite. Before that bar the generic
// loop's pnl and buy-and-hold values are NaN (the previous position is), so they are skipped
// there as here; from it on this is the generic loop's arithmetic in its order, so the metrics
// are the same to the bit. Returns false (the generic loop then runs) otherwise. `change` and
// `pnl_scratch` (n values at least) are scratch: the changes and the pnl.
bool score_with_buy_hold(const ScoreInput& in, std::vector<double>& change, std::span<double> pnl_scratch,
                         BacktestSummary& out) {
    const std::size_t n = in.price.size();
    const auto delay = static_cast<std::size_t>(in.fill_delay_bars);
    const PositionCode* decided = in.decided.data();
    std::size_t first = 0;
    while (first < n && decided[first] == undefined_position)
        ++first;
    const std::size_t start = first + delay + 1;
    if (start >= n)
        return false;
    int undefined = 0;
    for (std::size_t t = first; t < n; ++t)
        undefined |= static_cast<int>(decided[t] == undefined_position);
    if (undefined != 0)
        return false;
    if (n > max_fast_bars)  // the trades' count is an int there
        return false;
    change.resize(n);
    double* chg = change.data();
    double* pnl = pnl_scratch.data();
    if (!finite_changes(in.price.data(), start, n, chg))
        return false;
    const std::size_t changes = pnl_of_positions(decided, delay, chg, start, n, in.fee_bps / 10000.0, pnl);

    const double inf = std::numeric_limits<double>::infinity();
    double total = 0.0, peak = -inf, max_dd = -inf, s1 = 0.0, s2 = 0.0, shift = 0.0;
    double bh_total = 0.0, bh_peak = -inf, bh_max_dd = -inf, b1 = 0.0, b2 = 0.0, bh_shift = 0.0;
    const std::size_t scored_from = std::max(start, in.first_scored);
    std::size_t t = start;
#if defined(__SSE2__)
    // The strategy (lane 0) and buy-and-hold (lane 1) in one SSE2 register: the same operations
    // on each lane as the scalar form below, each correctly rounded, so the same bits.
    // std::max(a, b) (a < b ? b : a) is MAXPD(b, a).
    __m128d tot = _mm_setzero_pd(), pk = _mm_set1_pd(-inf), dd = _mm_set1_pd(-inf);
    __m128d m1 = _mm_setzero_pd(), m2 = _mm_setzero_pd(), sh = _mm_setzero_pd(), x = _mm_setzero_pd();
    const auto step = [&](std::size_t i) {
        x = _mm_setr_pd(pnl[i], chg[i]);
        tot = _mm_add_pd(tot, x);
        pk = _mm_max_pd(tot, pk);
        dd = _mm_max_pd(_mm_sub_pd(pk, tot), dd);
    };
    for (; t < std::min(scored_from, n); ++t)
        step(t);
    if (t < n) {  // the first scored values are the shifts (RunningStats::add): d = 0
        step(t++);
        sh = x;
        const __m128d d = _mm_sub_pd(x, sh);
        m1 = _mm_add_pd(m1, d);
        m2 = _mm_add_pd(m2, _mm_mul_pd(d, d));
    }
    for (; t < n; ++t) {
        step(t);
        const __m128d d = _mm_sub_pd(x, sh);
        m1 = _mm_add_pd(m1, d);
        m2 = _mm_add_pd(m2, _mm_mul_pd(d, d));
    }
    const auto lo = [](__m128d v) { return _mm_cvtsd_f64(v); };
    const auto hi = [](__m128d v) { return _mm_cvtsd_f64(_mm_unpackhi_pd(v, v)); };
    total = lo(tot), bh_total = hi(tot);
    peak = lo(pk), bh_peak = hi(pk);
    max_dd = lo(dd), bh_max_dd = hi(dd);
    s1 = lo(m1), b1 = hi(m1);
    s2 = lo(m2), b2 = hi(m2);
    shift = lo(sh), bh_shift = hi(sh);
#else
    const auto step = [&](std::size_t i) {
        total += pnl[i];
        peak = std::max(peak, total);
        max_dd = std::max(max_dd, peak - total);
        bh_total += chg[i];
        bh_peak = std::max(bh_peak, bh_total);
        bh_max_dd = std::max(bh_max_dd, bh_peak - bh_total);
    };
    for (; t < std::min(scored_from, n); ++t)
        step(t);
    if (t < n) {  // the first scored values are the shifts (RunningStats::add): d = 0
        step(t);
        shift = pnl[t];
        bh_shift = chg[t];
        s1 += pnl[t] - shift;
        s2 += (pnl[t] - shift) * (pnl[t] - shift);
        b1 += chg[t] - bh_shift;
        b2 += (chg[t] - bh_shift) * (chg[t] - bh_shift);
        ++t;
    }
    for (; t < n; ++t) {
        step(t);
        const double d = pnl[t] - shift;
        s1 += d;
        s2 += d * d;
        const double e = chg[t] - bh_shift;
        b1 += e;
        b2 += e * e;
    }
#endif
    RunningStats scored, bh_scored;
    scored.shift = shift;
    bh_scored.shift = bh_shift;
    const std::size_t count = n > scored_from ? n - scored_from : 0;
    scored.count = bh_scored.count = count;
    scored.s1 = s1;
    scored.s2 = s2;
    bh_scored.s1 = b1;
    bh_scored.s2 = b2;
    Equity eq, bh_eq;
    eq.total = total;
    eq.peak = peak;
    eq.max_dd = max_dd;
    eq.any = true;
    bh_eq.total = bh_total;
    bh_eq.peak = bh_peak;
    bh_eq.max_dd = bh_max_dd;
    bh_eq.any = true;
    out.metrics = finish_metrics(scored, eq, in.trading_period, total);
    out.buy_hold = finish_metrics(bh_scored, bh_eq, in.trading_period, bh_total);
    out.last_position = position_value(decided[n - 1]);
    out.bars = n;
    out.position_changes = changes;
    return true;
}

}  // namespace

BacktestSummary run_backtest(const StrategyConfig& cfg, const StrategyBars& market, double fee_bps,
                             BacktestSeries* series) {
    const BarSeries& bars = market.trading();
    check_bars_for(cfg, market);
    const std::size_t n = bars.size();
    const std::size_t k = cfg.substrategies.size();

    BacktestScratch local;
    BacktestScratch& scratch = series != nullptr ? local : backtest_scratch();
    if (series != nullptr)
        series->indicator.assign(k, std::vector<double>(n));
    scratch.indicator.resize(n);
    scratch.codes.resize(k * n);
    for (std::size_t j = 0; j < k; ++j) {
        const auto& s = cfg.substrategies[j];
        const std::span<double> ind = series != nullptr ? std::span<double>(series->indicator[j])
                                                        : std::span<double>(scratch.indicator);
        s.indicator->compute(market.factor(j), s.data_column, s.window, ind);
        signal_codes(s, ind, std::span<PositionCode>(scratch.codes).subspan(j * n, n));
        check_for_interrupts();
    }
    std::span<const PositionCode> decided(scratch.codes.data(), n);  // one substrategy: its codes
    if (k > 1) {
        scratch.decided.resize(n);
        std::array<const PositionCode*, max_substrategies> columns{};
        for (std::size_t j = 0; j < k; ++j)
            columns[j] = scratch.codes.data() + j * n;
        combine_columns(cfg.conjunction, std::span<const PositionCode* const>(columns.data(), k), n,
                        scratch.decided.data());
        decided = scratch.decided;
    }
    if (series != nullptr) {
        series->substrategy_position.assign(k, std::vector<double>(n));
        for (std::size_t j = 0; j < k; ++j) {
            for (std::size_t t = 0; t < n; ++t)
                series->substrategy_position[j][t] = position_value(scratch.codes[j * n + t]);
        }
    }
    ScoreInput in;
    in.decided = decided;
    in.price = bars.close;
    in.fill_delay_bars = cfg.fill_delay_bars;
    in.trading_period = cfg.trading_period;
    in.first_scored = static_cast<std::size_t>(cfg.max_window());
    in.fee_bps = fee_bps;
    BacktestSummary out;
    // The indicator's scratch (n values, read by nothing after the codes) holds the pnl.
    if (series != nullptr || !score_with_buy_hold(in, scratch.change, scratch.indicator, out))
        out = score_positions(in, series);
    out.first_ts = bars.ts.empty() ? 0 : bars.ts.front();
    out.last_ts = bars.ts.empty() ? 0 : bars.ts.back();
    if (series == nullptr)
        scratch.release_if_large(n);
    return out;
}

LiveSignal evaluate_live(const StrategyConfig& cfg, const StrategyBars& market) {
    check_bars_for(cfg, market);
    const BarSeries& bars = market.trading();
    const std::size_t n = bars.size();
    LiveSignal live;
    live.bar_ts = bars.ts.empty() ? 0 : bars.ts.back();
    std::vector<double> values(n);
    std::array<PositionCode, max_substrategies> pos{};
    for (std::size_t j = 0; j < cfg.substrategies.size(); ++j) {
        const auto& s = cfg.substrategies[j];
        s.indicator->compute(market.factor(j), s.data_column, s.window, values);
        live.indicator_value.push_back(values[n - 1]);
        PositionCode code = 0;
        signal_codes(s, std::span<const double>(values).subspan(n - 1), std::span<PositionCode>(&code, 1));
        pos[j] = code;
        live.position.push_back(position_value(code));
    }
    live.signal = position_value(combine_codes(cfg.conjunction, pos.data(), cfg.substrategies.size()));
    return live;
}

Metrics compute_metrics(std::span<const double> pnl, std::size_t first_scored, int trading_period) {
    RunningStats scored;
    Equity eq;
    double cumulative = nan, drawdown = nan;
    for (std::size_t t = 0; t < pnl.size(); ++t) {
        eq.add(pnl[t], cumulative, drawdown);
        if (t >= first_scored)
            scored.add(pnl[t]);
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
    if (!cfg.strategy_id.empty())
        out["strategy_id"] = cfg.strategy_id;
    out["ticker"] = cfg.ticker;
    out["bar_ts"] = format_timestamp(live.bar_ts);
    out["signal"] = json_number(live.signal);
    out["conjunction"] = conjunction_name(cfg.conjunction);
    out["substrategies"] = std::move(subs);
    return out;
}

namespace {

// JSON text the way nlohmann's dump writes these values (issue 16: the results' tree of std::map
// nodes and its dump were ~9 µs of a 50 µs quant.backtest): numbers by nlohmann's own formatter
// (Grisu2, `null` for NaN and infinities), strings through nlohmann's escaping, keys in
// std::map's order. test/core/before keeps the tree-built form; BeforeAfter compares the texts.
class JsonText {
public:
    void begin() {
        out_ += '{';
        comma_ = false;
    }
    void end() {
        out_ += '}';
        comma_ = true;
    }
    void key(std::string_view k) {  // an ASCII identifier: nothing to escape
        if (comma_)
            out_ += ',';
        out_ += '"';
        out_ += k;
        out_ += "\":";
    }
    void number(double v) {
        if (std::isfinite(v)) {
            std::array<char, 64> buf{};
            const char* last = nlohmann::detail::to_chars(buf.data(), buf.data() + buf.size(), v);
            out_.append(buf.data(), static_cast<std::size_t>(last - buf.data()));
        } else {
            out_ += "null";
        }
        comma_ = true;
    }
    template <typename Int>
    void integer(Int v) {
        out_ += std::to_string(v);
        comma_ = true;
    }
    template <typename T>
    void escaped(const T& v) {  // a string or a list of strings
        out_ += Json(v).dump();
        comma_ = true;
    }
    void metrics(std::string_view k, const Metrics& m) {
        key(k);
        begin();
        key("annualized_return");
        number(m.annualized_return);
        key("calmar_ratio");
        number(m.calmar_ratio);
        key("max_drawdown");
        number(m.max_drawdown);
        key("sharpe_ratio");
        number(m.sharpe_ratio);
        key("total_return");
        number(m.total_return);
        end();
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
    bool comma_ = false;
};

}  // namespace

std::string backtest_results_text(const StrategyConfig& cfg, const BacktestSummary& s, double fee_bps,
                                  std::int64_t run_at_unix_micros) {
    JsonText j;
    j.begin();
    j.key("bars");
    j.integer(s.bars);
    j.metrics("buy_hold_metrics", s.buy_hold);
    j.key("data_range");
    j.begin();
    j.key("end");
    j.escaped(format_date(s.last_ts));
    j.key("start");
    j.escaped(format_date(s.first_ts));
    j.end();
    j.key("fee_bps");
    j.number(fee_bps);
    if (cfg.fill_delay_bars != 0) {
        j.key("fill_delay_bars");
        j.integer(cfg.fill_delay_bars);
    }
    j.key("last_position");
    j.number(s.last_position);
    j.metrics("metrics", s.metrics);
    j.key("position_changes");
    j.integer(s.position_changes);
    j.key("run_at");
    j.escaped(format_timestamp(run_at_unix_micros));
    if (!cfg.strategy_id.empty()) {
        j.key("strategy_id");
        j.escaped(cfg.strategy_id);
    }
    j.key("ticker_backtested");
    j.escaped(cfg.ticker);
    if (!cfg.warnings.empty()) {
        j.key("warnings");
        j.escaped(cfg.warnings);
    }
    j.end();
    return j.take();
}

}  // namespace quant
