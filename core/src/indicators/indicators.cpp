#include "quant/indicators/indicators.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include "quant/cancel.hpp"
#include "quant/cpu.hpp"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace quant::indicators {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

// Rolling sums are kept relative to `shift`, re-based from the window at this period (or every
// n bars for longer windows): amortised O(1), and the error never accumulates.
constexpr int min_rebase_period = 128;

int rebase_period(int n) {
    return std::max(n, min_rebase_period);
}

// Rounding error in the shifted sums grows with the magnitude of every term added or removed
// since the last re-base (mag1, mag2); once that magnitude outgrows the sums themselves by this
// factor (a spike left the window, or the level drifted from the shift), the sums are recomputed
// from the window. The error then stays below about 1e-10 of the value, and it is O(1) amortised
// on ordinary series.
constexpr double max_error_growth = 1e6;

inline bool needs_rebase(bool with_variance, double s1, double s2, double mag1, double mag2, double shift,
                         int n) {
    const double level = std::fabs(s1 + shift * n);  // n * |mean|
    if (mag1 > max_error_growth * level)
        return true;
    // Against the centred sum of squares, not s2: a stale shift inflates s2 itself.
    return with_variance && mag2 > max_error_growth * (s2 - s1 * s1 * (1.0 / n));
}

// Batch kernels run in blocks of this many bars (or one window, if longer): per-block scratch
// stays in L1/L2 instead of full-length temporaries.
constexpr std::size_t min_block = 2048;

std::size_t block_size(std::size_t w) {
    return std::max(min_block, w);
}

// The state of one rolling mean (and variance) over the last n values, relative to `shift`.
// Each bar moves the sums by (entering - leaving) in one addition, so the
// loop-carried dependency is one add per sum per bar.
template <bool WithVariance>
struct Sums {
    double shift = 0.0;
    double s1 = 0.0, s2 = 0.0;      // sums of (x - shift), (x - shift)^2 over the finite values
    double mag1 = 0.0, mag2 = 0.0;  // |terms| added or removed since the last re-base
    double last = 0.0;              // the previous value (for the equal run)
    int non_finite = 0;             // non-finite values in the window
    int run = 0;                    // length of the run of equal values ending at this bar
    int since_rebase = 0;
    bool shift_set = false;

    // Checked: non-finite values are skipped (and counted). Unchecked: the caller guarantees that
    // the window holds no non-finite value; one entering would turn mag1 non-finite, which the
    // caller checks before any re-base and at the end of its block.
    template <bool Checked>
    void move(double in, double out, bool has_out) {
        if constexpr (Checked) {
            if (!shift_set && std::isfinite(in)) {  // the first finite value: a shift near the data
                shift = in;
                shift_set = true;
            }
        }
        double din = in - shift;
        double dout = out - shift;
        if constexpr (Checked) {
            if (!std::isfinite(in)) {
                din = 0.0;
                ++non_finite;
            }
            if (!has_out) {
                dout = 0.0;
            } else if (!std::isfinite(out)) {
                dout = 0.0;
                --non_finite;
            }
        }
        s1 += din - dout;
        mag1 += std::fabs(din) + std::fabs(dout);
        if constexpr (WithVariance) {
            const double a = din * din, b = dout * dout;
            s2 += a - b;
            mag2 += a + b;
        }
    }

    // run + 1 after an equal value, else 1, as a mask: RSI's gains and losses repeat 0.0 on about
    // a quarter of the bars at random, and the compiler's branch for `? run + 1 : 1` was missed
    // there (issue 16). AND + ADD keep this chain (2 cycles a bar) under the sums' (one FP add);
    // `equal * run + 1` did not (a multiply on the chain made SMA slower).
    void track_run(double in, bool first) {
        const bool equal = !first & (in == last);
        run = (run & -static_cast<int>(equal)) + 1;
        last = in;
    }

    // Re-base on the window's mean: recompute the sums exactly over values get(first..last).
    template <bool Checked, typename Get>
    void rebase(const Get& get, std::size_t first, std::size_t last_index) {
        since_rebase = 0;
        double sum = 0.0;
        int count = 0;
        for (std::size_t i = first; i <= last_index; ++i) {
            const double v = get(i);
            if (!Checked || std::isfinite(v)) {
                sum += v;
                ++count;
            }
        }
        if (count > 0)
            shift = sum / count;
        s1 = s2 = mag1 = 0.0;
        for (std::size_t i = first; i <= last_index; ++i) {
            const double v = get(i);
            if (!Checked || std::isfinite(v)) {
                const double d = v - shift;
                s1 += d;
                mag1 += std::fabs(d);
                if constexpr (WithVariance)
                    s2 += d * d;
            }
        }
        mag2 = s2;
    }

    // The bookkeeping after the sums moved at bar t. Unchecked: false if the sums are poisoned.
    template <bool Checked, typename Get>
    bool settle(const Get& get, std::size_t t, std::size_t w, int n, int period) {
        ++since_rebase;
        if (t + 1 >= w &&
            (since_rebase >= period || needs_rebase(WithVariance, s1, s2, mag1, mag2, shift, n))) {
            if constexpr (!Checked) {
                if (!std::isfinite(mag1 + mag2))
                    return false;
            }
            rebase<Checked>(get, t + 1 - w, t);
        }
        return true;
    }

    double mean(double inv_n) const { return shift + s1 * inv_n; }
    double centred_m2(double inv_n) const { return s2 - s1 * s1 * inv_n; }
};

// The re-base test of a whole chunk of unchecked bars at once. needs_rebase at bar t is
//   mag1(t) > G * |s1(t) + shift*n|   or   mag2(t) > G * (s2(t) - s1(t)*s1(t)*(1/n)),
// every quantity computed in doubles exactly as written. Within a chunk (no re-base, so the shift
// is fixed) mag1 and mag2 only grow: they are rounded sums of non-negative terms, and rounding is
// monotone. And x -> fl(|x + shift*n|) is monotone on each side of -shift*n, so over the chunk's
// bars the smallest right-hand side is taken at the smallest or largest s1 (if both lie on the same
// side; if not, the level may have crossed zero and the chunk is redone). So, with the chunk's
// extremes of s1 and its minimum of the centred m2 (tracked per bar: two min/max, plus one min
// on the expression Bollinger computes anyway), "mag(end) <= G * min" proves that the per-bar
// test fired at no bar of the chunk: the same decision as the per-bar rule, not an approximation.
// Anything else (a spike, a drift, a non-finite value: NaN compares false) redoes the chunk with
// the per-bar loop.
struct ChunkBounds {
    double s1_lo = inf, s1_hi = -inf;  // extremes of s1 over the chunk's bars
    double m2_lo = inf;                // minimum of s2 - s1*s1*(1/n) (with variance)
};

template <bool WithVariance>
bool chunk_may_need_rebase(const Sums<WithVariance>& s, const ChunkBounds& c, int n) {
    const double off = s.shift * n;
    const double lo = c.s1_lo + off, hi = c.s1_hi + off;
    const bool one_side = (lo > 0.0 && hi > 0.0) || (lo < 0.0 && hi < 0.0);
    const double level = std::min(std::fabs(lo), std::fabs(hi));
    // a non-finite value that entered at the chunk's first bar makes every sum, both bounds and the
    // level infinite, and inf <= G * inf: the magnitude must be finite too
    bool ok = one_side && std::isfinite(s.mag1) && s.mag1 <= max_error_growth * level;
    if constexpr (WithVariance)
        ok = ok && s.mag2 <= max_error_growth * c.m2_lo;
    return !ok;
}

#if defined(__SSE2__)
// Two chunks of one rolling series side by side, one per SSE2 lane: lane 0 the chunk that follows
// a periodic re-base, lane 1 the chunk after it, started from the re-base that ends the first one
// (a function of that window alone). Each lane does the unchecked loop's operations in its order
// (move, equal run, bounds), so each lane's values are the bits the scalar loop gives that chunk;
// the run is kept as an exact small integer in a double. The two chains are independent, and one
// packed instruction does both bars' step: about half the instructions per bar (issue 16).
template <bool WithVariance>
struct PairSums {
    __m128d shift, s1, s2, mag1, mag2, last, run;
    __m128d s1_lo, s1_hi, m2_lo;
    __m128d run_hi;  // the longest run of equal values seen

    static PairSums of(const Sums<WithVariance>& a, const Sums<WithVariance>& b) {
        PairSums p;
        p.shift = _mm_set_pd(b.shift, a.shift);
        p.s1 = _mm_set_pd(b.s1, a.s1);
        p.s2 = _mm_set_pd(b.s2, a.s2);
        p.mag1 = _mm_set_pd(b.mag1, a.mag1);
        p.mag2 = _mm_set_pd(b.mag2, a.mag2);
        p.last = _mm_set_pd(b.last, a.last);
        p.run = _mm_set_pd(b.run, a.run);
        p.s1_lo = p.m2_lo = _mm_set1_pd(inf);
        p.s1_hi = _mm_set1_pd(-inf);
        p.run_hi = _mm_setzero_pd();
        return p;
    }

    static double lane(__m128d v, int k) {
        return k == 0 ? _mm_cvtsd_f64(v) : _mm_cvtsd_f64(_mm_unpackhi_pd(v, v));
    }

    // Lane k back into scalar sums `steps` bars after the lane's start state `start`.
    void unpack(int k, const Sums<WithVariance>& start, int steps, Sums<WithVariance>& s,
                ChunkBounds& c) const {
        s = start;
        s.shift = lane(shift, k);
        s.s1 = lane(s1, k);
        s.s2 = lane(s2, k);
        s.mag1 = lane(mag1, k);
        s.mag2 = lane(mag2, k);
        s.last = lane(last, k);
        s.run = static_cast<int>(lane(run, k));
        s.since_rebase = start.since_rebase + steps;
        c.s1_lo = lane(s1_lo, k);
        c.s1_hi = lane(s1_hi, k);
        c.m2_lo = lane(m2_lo, k);
    }

    // Sums::move<false>, track_run (never the first bar) and the bounds of run_rolling's
    // fast_move, lane by lane. std::min(lo, v) is (v < lo ? v : lo): MINPD(v, lo); std::max(hi, v)
    // is (hi < v ? v : hi): MAXPD(v, hi); fabs clears the sign bit.
    void move(__m128d in, __m128d out, __m128d inv_n) {
        const __m128d abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL));
        const __m128d din = _mm_sub_pd(in, shift);
        const __m128d dout = _mm_sub_pd(out, shift);
        s1 = _mm_add_pd(s1, _mm_sub_pd(din, dout));
        mag1 = _mm_add_pd(mag1, _mm_add_pd(_mm_and_pd(din, abs_mask), _mm_and_pd(dout, abs_mask)));
        if constexpr (WithVariance) {
            const __m128d a = _mm_mul_pd(din, din), b = _mm_mul_pd(dout, dout);
            s2 = _mm_add_pd(s2, _mm_sub_pd(a, b));
            mag2 = _mm_add_pd(mag2, _mm_add_pd(a, b));
        }
        run = _mm_add_pd(_mm_and_pd(run, _mm_cmpeq_pd(in, last)), _mm_set1_pd(1.0));
        last = in;
        run_hi = _mm_max_pd(run, run_hi);
        s1_lo = _mm_min_pd(s1, s1_lo);
        s1_hi = _mm_max_pd(s1, s1_hi);
        if constexpr (WithVariance)
            m2_lo = _mm_min_pd(centred_m2(inv_n), m2_lo);
    }

    // Whether lane k's window was flat (n equal values) at some bar.
    bool was_flat(int k, int n) const { return lane(run_hi, k) >= n; }

    __m128d mean(__m128d inv_n) const { return _mm_add_pd(shift, _mm_mul_pd(s1, inv_n)); }
    __m128d centred_m2(__m128d inv_n) const { return _mm_sub_pd(s2, _mm_mul_pd(_mm_mul_pd(s1, s1), inv_n)); }
};

// One bar of each lane for a kernel's emit_pair: the value, the mean and the centred sum of
// squares (with variance). The window is never flat there: a lane whose window was flat at some
// bar is redone by the scalar loop, which gives such a bar its value.
struct PairBar {
    __m128d v, mean, m2;
};

inline void store_lanes(double* p0, double* p1, __m128d v) {
    _mm_storel_pd(p0, v);
    _mm_storeh_pd(p1, v);
}

// Bollinger's two columns of a pair: x - mean, and std::max(0.0, m2) * inv_nm1, where std::max(0.0,
// m2) is (0 < m2 ? m2 : 0): MAXPD(m2, 0).
inline void store_deviation_and_variance(const PairBar& bar, double inv_nm1, double* z0, double* z1,
                                         double* v0, double* v1) {
    store_lanes(z0, z1, _mm_sub_pd(bar.v, bar.mean));
    store_lanes(v0, v1, _mm_mul_pd(_mm_max_pd(bar.m2, _mm_setzero_pd()), _mm_set1_pd(inv_nm1)));
}
#else
// Without SSE2 no chunks are paired (Rolling::run_block): these only let the kernels' emit_pair
// compile.
struct PairBar {
    std::array<double, 2> v, mean, m2;
};
inline void store_lanes(double* p0, double* p1, const std::array<double, 2>& v) {
    *p0 = v[0];
    *p1 = v[1];
}
inline void store_deviation_and_variance(const PairBar& bar, double inv_nm1, double* z0, double* z1,
                                         double* v0, double* v1) {
    *z0 = bar.v[0] - bar.mean[0];
    *z1 = bar.v[1] - bar.mean[1];
    *v0 = std::max(0.0, bar.m2[0]) * inv_nm1;
    *v1 = std::max(0.0, bar.m2[1]) * inv_nm1;
}
#endif

// One rolling series, block by block: value i through src(i), which is valid for every i in the
// current block's window and bars (the value leaving the window is read again, so there is no ring
// buffer); emit(t, sums, v, defined) writes bar t, `defined` false while the window is short or
// holds a non-finite value.
//
// Inside a block, bars run in chunks that end at the next periodic re-base (at most max(n, 128)
// bars). A chunk whose first window is clean runs the unchecked loop: no isfinite branch and no
// re-base test per bar, only the moves, the equal run and emit. At its end one test
// (chunk_may_need_rebase) proves that the per-bar re-base test would not have fired at any of its
// bars, and the periodic re-base (if due) is done before the chunk's last bar is emitted, as the
// per-bar loop does. If the proof fails (a spike, a level drift, or a non-finite value, which makes
// the magnitudes non-finite), the chunk is redone from its saved state by the checked per-bar
// loop, the reference: both loops do the same arithmetic on finite values, so the results are the
// same bits as the per-bar rule. Two whole chunks after a re-base run side by side (pair_chunks).
template <bool WithVariance>
class Rolling {
public:
    explicit Rolling(int n)
        : n_(n), w_(static_cast<std::size_t>(n)), period_(rebase_period(n)), inv_n_(1.0 / n) {}

    template <typename Src, typename Emit, typename EmitPair>
    void run_block(std::size_t b, std::size_t e, const Src& src, const Emit& emit,
                   const EmitPair& emit_pair) {
        std::size_t t = b;
        while (t < e) {
            if (t < w_ || s_.non_finite > 0) {
                checked_bar(t++, src, emit);
                continue;
            }
#if defined(__SSE2__)
            if (t + 2 * static_cast<std::size_t>(period_) <= e && s_.since_rebase == 0) {
                t = pair_chunks(t, e, src, emit, emit_pair);
                continue;
            }
#endif
            t = scalar_chunk(t, e, src, emit);
        }
    }

private:
    template <typename Src, typename Emit>
    void checked_bar(std::size_t t, const Src& src, const Emit& emit) {
        const double v = src(t);
        const bool has_out = t >= w_;
        s_.template move<true>(v, has_out ? src(t - w_) : 0.0, has_out);
        s_.track_run(v, t == 0);
        s_.template settle<true>(src, t, w_, n_, period_);
        emit(t, s_, v, t + 1 >= w_ && s_.non_finite == 0);
    }

    // Unchecked: the moves of bar t without the re-base test (t >= w), tracking the chunk's bounds.
    template <typename Src>
    double fast_move(std::size_t t, const Src& src, ChunkBounds& c) {
        const double v = src(t);
        s_.template move<false>(v, src(t - w_), true);
        s_.track_run(v, false);
        ++s_.since_rebase;
        c.s1_lo = std::min(c.s1_lo, s_.s1);
        c.s1_hi = std::max(c.s1_hi, s_.s1);
        if constexpr (WithVariance)
            c.m2_lo = std::min(c.m2_lo, s_.centred_m2(inv_n_));
        return v;
    }

    // The chunk [t, stop) of block [.., e) from a clean state, up to and including the bar of the
    // next periodic re-base. Returns stop.
    template <typename Src, typename Emit>
    std::size_t scalar_chunk(std::size_t t, std::size_t e, const Src& src, const Emit& emit) {
        const int left = std::max(period_ - s_.since_rebase, 1);
        const std::size_t stop = std::min(e, t + static_cast<std::size_t>(left));
        const auto saved = s_;
        const std::size_t start = t;
        ChunkBounds c;
        for (; t + 1 < stop; ++t)
            emit(t, s_, fast_move(t, src, c), true);
        const double v = fast_move(t, src, c);
        if (chunk_may_need_rebase(s_, c, n_)) {
            s_ = saved;
            for (t = start; t < stop; ++t)
                checked_bar(t, src, emit);
            return stop;
        }
        if (s_.since_rebase >= period_)
            s_.template rebase<false>(src, t + 1 - w_, t);
        emit(t, s_, v, true);
        return stop;
    }

#if defined(__SSE2__)
    // Two whole chunks at once from a re-base at t - 1: [t, t + P) in lane 0 and [t + P, t + 2P)
    // in lane 1. Lane 1 starts from the state the scalar loop has after lane 0's chunk if that
    // chunk passes its proof (the re-base of the window ending at t + P - 1, that window's run of
    // equal values up to n, which is all `run >= n` needs, and its last value). If lane 0 fails its
    // proof, lane 1 is dropped and lane 0 redone by the checked loop; if lane 1 fails, its chunk is
    // redone by the checked loop from lane 0's end; a lane whose window was flat at some bar is
    // redone by the scalar chunk. Either way the bars and the state are the scalar loop's.
    // Returns the next bar.
    template <typename Src, typename Emit, typename EmitPair>
    std::size_t pair_chunks(std::size_t t, std::size_t e, const Src& src, const Emit& emit,
                            const EmitPair& emit_pair) {
        const auto P = static_cast<std::size_t>(period_);
        const std::size_t tb = t + P;
        Sums<WithVariance> start_b{};
        start_b.shift_set = true;
        start_b.template rebase<false>(src, tb - w_, tb - 1);
        start_b.last = src(tb - 1);
        start_b.run = 1;
        for (std::size_t i = tb - 1; start_b.run < n_ && src(i - 1) == src(i); --i)
            ++start_b.run;
        PairSums<WithVariance> lanes = PairSums<WithVariance>::of(s_, start_b);
        const __m128d inv_n = _mm_set1_pd(inv_n_);
        PairBar bar{};
        auto step = [&](std::size_t i) {
            bar.v = _mm_set_pd(src(tb + i), src(t + i));
            lanes.move(bar.v, _mm_set_pd(src(tb + i - w_), src(t + i - w_)), inv_n);
            bar.mean = lanes.mean(inv_n);
            if constexpr (WithVariance)
                bar.m2 = lanes.centred_m2(inv_n);
        };
        for (std::size_t i = 0; i + 1 < P; ++i) {
            step(i);
            emit_pair(t + i, tb + i, bar);
        }
        step(P - 1);
        const auto start_a = s_;
        Sums<WithVariance> end_b;
        ChunkBounds ca, cb;
        lanes.unpack(0, start_a, period_, s_, ca);
        lanes.unpack(1, start_b, period_, end_b, cb);
        if (chunk_may_need_rebase(s_, ca, n_)) {
            s_ = start_a;
            for (std::size_t i = t; i < tb; ++i)
                checked_bar(i, src, emit);
            return tb;
        }
        if (lanes.was_flat(0, n_)) {
            s_ = start_a;
            return scalar_chunk(t, e, src, emit);
        }
        s_.template rebase<false>(src, tb - w_, tb - 1);
        emit(tb - 1, s_, src(tb - 1), true);
        if (chunk_may_need_rebase(end_b, cb, n_)) {
            for (std::size_t i = tb; i < tb + P; ++i)
                checked_bar(i, src, emit);
            return tb + P;
        }
        if (lanes.was_flat(1, n_))
            return scalar_chunk(tb, e, src, emit);
        s_ = end_b;
        s_.template rebase<false>(src, tb + P - w_, tb + P - 1);
        emit(tb + P - 1, s_, src(tb + P - 1), true);
        return tb + P;
    }
#endif

    int n_;
    std::size_t w_;
    int period_;
    double inv_n_;
    Sums<WithVariance> s_{};
};

// The rolling kernel of L series over the same bars (L = 2: RSI's gains and losses), block by
// block: prepare(b, e) makes block [b, e) readable through src(j, i), each series runs its bars of
// the block (emit(j, t, sums, v, defined), emit_pair(j, ta, tb, bar)), then finish(b, e).
template <bool WithVariance, int L, typename Src, typename Emit, typename EmitPair, typename Prepare,
          typename Finish>
void run_rolling(std::size_t size, int n, const Src& src, const Emit& emit, const EmitPair& emit_pair,
                 const Prepare& prepare, const Finish& finish) {
    auto series = [n]<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<Rolling<WithVariance>, L>{((void)I, Rolling<WithVariance>(n))...};
    }
    (std::make_index_sequence<L>{});
    const std::size_t block = block_size(static_cast<std::size_t>(n));
    for (std::size_t b = 0; b < size; b += block) {
        const std::size_t e = std::min(size, b + block);
        prepare(b, e);
        for (int j = 0; j < L; ++j) {
            series[static_cast<std::size_t>(j)].run_block(
                b, e, [&](std::size_t i) { return src(j, i); },
                [&](std::size_t t, const Sums<WithVariance>& s, double v, bool defined) {
                    emit(j, t, s, v, defined);
                },
                [&](std::size_t ta, std::size_t tb, const PairBar& bar) { emit_pair(j, ta, tb, bar); });
        }
        finish(b, e);
    }
}

constexpr auto no_prepare = [](std::size_t, std::size_t) {};
constexpr auto no_finish = [](std::size_t, std::size_t) {};

// 100 - 100/(1 + U/D), the original engine's formula and its bits: a value exactly on a signal
// threshold (60.0, not 60.00000000000001 from the one-division form 100*U/(U+D)) must stay on it,
// golden_cross.json has one. IEEE arithmetic gives every edge: D = 0 < U is 100, U = 0 < D is 0,
// 0/0 and inf/inf are NaN.
double rsi_from_means(double up, double down) {
    return 100.0 - 100.0 / (1.0 + up / down);
}

// std::max(v, 0.0) (v < 0 ? 0 : v, so NaN and -0.0 pass through unchanged), as one MAXSD: the
// compiler turned std::max(-d, 0.0) into a branch on the sign of the delta, which the predictor
// misses on every other bar of a real series (issue 16: why RSI was 3-4x slower at 1M bars than
// on a repeated 2.5k one, whose pattern the predictor had learnt). MAXSD(0, v) = (0 > v) ? 0 : v.
inline double positive_part(double v) {
#if defined(__SSE2__)
    return _mm_cvtsd_f64(_mm_max_sd(_mm_setzero_pd(), _mm_set_sd(v)));
#else
    return std::max(v, 0.0);
#endif
}

}  // namespace

// ---- batch -----------------------------------------------------------------------------------

namespace {

#if defined(__SSE2__)
// div_sqrt four at a time where the CPU has AVX2.
__attribute__((target("avx2"))) std::size_t div_sqrt_avx2(double* num, const double* den, std::size_t count) {
    std::size_t i = 0;
    for (; i + 4 <= count; i += 4)
        _mm256_storeu_pd(num + i,
                         _mm256_div_pd(_mm256_loadu_pd(num + i), _mm256_sqrt_pd(_mm256_loadu_pd(den + i))));
    return i;
}
#endif

// out[i] = num[i] / sqrt(den[i]) for den >= 0 or NaN, two at a time (sqrt and division are
// correctly rounded either way; std::sqrt's errno path keeps the compiler from vectorising it).
void div_sqrt(double* num, const double* den, std::size_t count) {
    std::size_t i = 0;
#if defined(__SSE2__)
    if (cpu::has_avx2())
        i = div_sqrt_avx2(num, den, count);
    for (; i + 2 <= count; i += 2) {
        _mm_storeu_pd(num + i, _mm_div_pd(_mm_loadu_pd(num + i), _mm_sqrt_pd(_mm_loadu_pd(den + i))));
    }
#endif
    for (; i < count; ++i)
        num[i] = num[i] / std::sqrt(den[i]);
}

#if defined(__SSE2__)
// The same four at a time (VDIVPD of a YMM register: twice the divisions per instruction, which
// AMD's cores issue at nearly the XMM rate).
__attribute__((target("avx2"))) std::size_t rsi_from_means_avx2(double* out, const double* down,
                                                                std::size_t count) {
    std::size_t i = 0;
    const __m256d hundred = _mm256_set1_pd(100.0), one = _mm256_set1_pd(1.0);
    for (; i + 4 <= count; i += 4) {
        const __m256d rs = _mm256_div_pd(_mm256_loadu_pd(out + i), _mm256_loadu_pd(down + i));
        _mm256_storeu_pd(out + i, _mm256_sub_pd(hundred, _mm256_div_pd(hundred, _mm256_add_pd(one, rs))));
    }
    return i;
}
#endif

// out[i] = rsi_from_means(out[i], down[i]), two at a time (the same operations, so the same bits).
void rsi_from_means_block(double* out, const double* down, std::size_t count) {
    std::size_t i = 0;
#if defined(__SSE2__)
    if (cpu::has_avx2())
        i = rsi_from_means_avx2(out, down, count);
    const __m128d hundred = _mm_set1_pd(100.0), one = _mm_set1_pd(1.0);
    for (; i + 2 <= count; i += 2) {
        const __m128d rs = _mm_div_pd(_mm_loadu_pd(out + i), _mm_loadu_pd(down + i));
        _mm_storeu_pd(out + i, _mm_sub_pd(hundred, _mm_div_pd(hundred, _mm_add_pd(one, rs))));
    }
#endif
    for (; i < count; ++i)
        out[i] = rsi_from_means(out[i], down[i]);
}

// The value of the kernels that are the window's mean: NaN while not defined, v itself over a
// flat window (n equal values).
inline double mean_or_value(const Sums<false>& s, double v, bool defined, int n, double inv_n) {
    return !defined ? nan : s.run >= n ? v : s.mean(inv_n);
}

}  // namespace

void sma(std::span<const double> x, int n, std::span<double> out) {
    if (n < 1) {
        std::fill(out.begin(), out.end(), nan);
        return;
    }
    const double inv_n = 1.0 / n;
    const double* px = x.data();
    double* po = out.data();
    run_rolling<false, 1>(
        x.size(), n, [px](int, std::size_t i) { return px[i]; },
        [po, n, inv_n](int, std::size_t t, const Sums<false>& s, double v, bool defined) {
            po[t] = mean_or_value(s, v, defined, n, inv_n);
        },
        [po](int, std::size_t ta, std::size_t tb, const PairBar& bar) {
            store_lanes(po + ta, po + tb, bar.mean);
        },
        no_prepare, no_finish);
}

// pandas ewm(span=n, adjust=False) (ignore_na=False), as the original engine: NaN before the first
// value; at a NaN bar the average keeps its value; the value after k NaN bars gets the weight a
// against (1-a)^(k+1) for the average, normalised. Without gaps this is e = (1-a)*e + a*x.
void ema(std::span<const double> x, int n, std::span<double> out) {
    const double a = 2.0 / (n + 1.0);
    const double b = 1.0 - a;
    double e = nan;
    double w = b;  // the average's weight at the next value: (1-a)^(k+1) after k NaN bars
    bool started = false, gap = false;
    for (std::size_t t = 0; t < x.size(); ++t) {
        const double v = x[t];
        if (std::isnan(v)) {
            w *= b;
            gap = true;
            out[t] = e;
            continue;
        }
        if (!started)
            e = v;
        else if (!gap)
            e = b * e + a * v;
        else
            e = (w * e + a * v) / (w + a);
        started = true;
        gap = false;
        w = b;
        out[t] = e;
    }
}

namespace {

// gain[i] = max(d, 0) and loss[i] = max(-d, 0) of the deltas d of bars [b, e): p[t] - p[t - 1]
// (none at t = 0: NaN) when OfValues, else p[t]. Two bars a step (MAXPD(0, d) is positive_part's
// MAXSD on each lane, -d the same sign flip: the same bits).
template <bool OfValues>
void gains_and_losses(const double* p, std::size_t b, std::size_t e, double* gain, double* loss) {
    std::size_t t = b;
    auto delta = [p](std::size_t i) {
        if constexpr (OfValues)
            return i == 0 ? nan : p[i] - p[i - 1];
        else
            return p[i];
    };
    if (OfValues && t == 0 && t < e) {
        gain[0] = positive_part(delta(0));
        loss[0] = positive_part(-delta(0));
        ++t;
    }
#if defined(__SSE2__)
    const __m128d zero = _mm_setzero_pd(), sign = _mm_set1_pd(-0.0);
    for (; t + 2 <= e; t += 2) {
        __m128d d = _mm_loadu_pd(p + t);
        if constexpr (OfValues)
            d = _mm_sub_pd(d, _mm_loadu_pd(p + t - 1));
        _mm_storeu_pd(gain + (t - b), _mm_max_pd(zero, d));
        _mm_storeu_pd(loss + (t - b), _mm_max_pd(zero, _mm_xor_pd(d, sign)));
    }
#endif
    for (; t < e; ++t) {
        const double d = delta(t);
        gain[t - b] = positive_part(d);
        loss[t - b] = positive_part(-d);
    }
}

// Cutler's RSI over `size` deltas (see gains_and_losses; NaN for none): the means of the gains
// max(d, 0) and the losses max(-d, 0) over the last n deltas, NaN while the window is short or
// holds a non-finite delta. max(NaN, 0) is NaN, as the definition wants.
template <bool OfValues>
void rsi_of_deltas(std::size_t size, int n, const double* p, double* po) {
    const double inv_n = 1.0 / n;
    const auto w = static_cast<std::size_t>(n);
    const std::size_t block = block_size(w);
    std::vector<double> down(block);
    double* pd = down.data();
    // The gains and losses of bars [b - w, e) of the current block (the window and the values
    // leaving it), made once per block in a pass without dependencies instead of twice per bar
    // in the rolling loop: gain[i + w - base] is bar i's. The same values, so the same sums.
    std::vector<double> gains(w + block), losses(w + block);
    double* pg = gains.data();
    double* pl = losses.data();
    std::size_t base = 0;
    auto src = [&](int j, std::size_t i) { return (j == 0 ? pg : pl)[i + w - base]; };
    // Each series on its own, the gains first in each block: where the losses' window is short or
    // poisoned, the gains' mean is made NaN too, as when both were written together (the gains'
    // mean may itself be a NaN of another sign after an overflow, which DIVPD would pass on).
    run_rolling<false, 2>(
        size, n, src,
        [&](int j, std::size_t t, const Sums<false>& s, double v, bool defined) {
            if (j == 0) {
                po[t] = mean_or_value(s, v, defined, n, inv_n);
            } else {
                pd[t - base] = mean_or_value(s, v, defined, n, inv_n);
                if (!defined)
                    po[t] = nan;
            }
        },
        [&](int j, std::size_t ta, std::size_t tb, const PairBar& bar) {
            if (j == 0)
                store_lanes(po + ta, po + tb, bar.mean);
            else
                store_lanes(pd + (ta - base), pd + (tb - base), bar.mean);
        },
        [&](std::size_t b, std::size_t e) {
            if (b > 0) {  // the previous block was full: its last w bars are the new window
                std::memmove(pg, pg + block, w * sizeof(double));
                std::memmove(pl, pl + block, w * sizeof(double));
            }
            base = b;
            gains_and_losses<OfValues>(p, b, e, pg + w, pl + w);
        },
        [&](std::size_t b, std::size_t e) { rsi_from_means_block(po + b, pd, e - b); });
}

}  // namespace

// d = x[i] - x[i-1], none at i = 0. A NaN delta (a NaN value on either side) is dropped, as the
// original engine's x.diff().dropna(): the means run over the last n defined deltas, however many
// bars they span, and the RSI is NaN at every bar whose own delta is NaN. No delta bridges a gap.
// Without NaN deltas this is the rolling window over the bars.
void rsi(std::span<const double> x, int n, std::span<double> out) {
    const std::size_t size = x.size();
    if (size == 0)
        return;
    if (n < 1) {
        std::fill(out.begin(), out.end(), nan);
        return;
    }
    const double* px = x.data();
    std::size_t first_gap = 1;
    while (first_gap < size && !std::isnan(px[first_gap] - px[first_gap - 1]))
        ++first_gap;
    if (first_gap == size) {
        rsi_of_deltas<true>(size, n, px, out.data());
        return;
    }
    std::vector<double> deltas;
    std::vector<std::size_t> bar;  // deltas[j] is the delta of bar bar[j]
    deltas.reserve(size - 1);
    bar.reserve(size - 1);
    for (std::size_t i = 1; i < size; ++i) {
        const double d = px[i] - px[i - 1];
        if (!std::isnan(d)) {
            deltas.push_back(d);
            bar.push_back(i);
        }
    }
    std::vector<double> r(deltas.size());
    const double* pdl = deltas.data();
    rsi_of_deltas<false>(deltas.size(), n, pdl, r.data());
    std::fill(out.begin(), out.end(), nan);
    for (std::size_t j = 0; j < r.size(); ++j)
        out[bar[j]] = r[j];
}

namespace {

// Wilder's RSI over a series with NaN values: the averages are seeded with the simple means of
// the first n deltas in a row that are all defined (NaN before); a NaN delta (a NaN value on
// either side) leaves them as they are, and the delta after k NaN deltas is folded in with the
// EMA rule over gaps (weight 1/n against (1-1/n)^(k+1), normalised), as for get_ema.
void rsi_wilder_over_gaps(std::span<const double> x, int n, std::span<double> out) {
    std::fill(out.begin(), out.end(), nan);
    const double c = 1.0 / n;
    const double b = (n - 1.0) * c;
    double up = 0.0, dn = 0.0, w = b;
    int run = 0;
    bool seeded = false, gap = false;
    for (std::size_t t = 1; t < x.size(); ++t) {
        const double d = x[t] - x[t - 1];
        if (!seeded) {
            if (std::isnan(d)) {
                run = 0;
                up = dn = 0.0;
                continue;
            }
            up += positive_part(d);
            dn += positive_part(-d);
            if (++run == n) {
                up /= n;
                dn /= n;
                seeded = true;
                out[t] = rsi_from_means(up, dn);
            }
            continue;
        }
        if (std::isnan(d)) {
            w *= b;
            gap = true;
        } else if (!gap) {
            up = b * up + c * positive_part(d);
            dn = b * dn + c * positive_part(-d);
        } else {
            up = (w * up + c * positive_part(d)) / (w + c);
            dn = (w * dn + c * positive_part(-d)) / (w + c);
            gap = false;
            w = b;
        }
        out[t] = rsi_from_means(up, dn);
    }
}

}  // namespace

namespace {

// Wilder's averages from their seed on: avg = avg*(n-1)/n + g/n, two bars per step: the step from
// bar t-1 to t+1 is one multiply-add on the dependency chain (b^2 * avg + (b*c*g_t + c*g_{t+1})),
// bar t is computed beside it. Both averages are sums of non-negative terms, so the reassociation
// costs at most a few ulps. A function of its own (not inlined): in the caller's loop, beside the
// call of the division pass, the compiler kept the averages in memory.
struct WilderMeans {
    double up, dn;
    double c, b, b2, bc;
    WilderMeans(double up0, double dn0, int n)
        : up(up0), dn(dn0), c(1.0 / n), b((n - 1.0) * c), b2(b * b), bc(b * c) {}

    // up[i] and down[i - blk] for the bars [blk, e).
    [[gnu::noinline]] void run(const double* px, std::size_t blk, std::size_t e, double* ups, double* downs) {
        double u = up, d = dn;
        std::size_t i = blk;
        for (; i + 2 <= e; i += 2) {
            const double d0 = px[i] - px[i - 1], d1 = px[i + 1] - px[i];
            const double g0 = positive_part(d0), l0 = positive_part(-d0);
            const double g1 = positive_part(d1), l1 = positive_part(-d1);
            ups[i] = b * u + c * g0;
            downs[i - blk] = b * d + c * l0;
            u = b2 * u + (bc * g0 + c * g1);
            d = b2 * d + (bc * l0 + c * l1);
            ups[i + 1] = u;
            downs[i + 1 - blk] = d;
        }
        for (; i < e; ++i) {
            const double delta = px[i] - px[i - 1];
            u = b * u + c * positive_part(delta);
            d = b * d + c * positive_part(-delta);
            ups[i] = u;
            downs[i - blk] = d;
        }
        up = u;
        dn = d;
    }
};

}  // namespace

void rsi_wilder(std::span<const double> x, int n, std::span<double> out) {
    const std::size_t size = x.size();
    if (size == 0)
        return;
    if (n < 1) {
        std::fill(out.begin(), out.end(), nan);
        return;
    }
    if (std::any_of(x.begin(), x.end(), [](double v) { return !std::isfinite(v); })) {
        rsi_wilder_over_gaps(x, n, out);
        return;
    }
    // The seed: a simple mean of the first n deltas, defined from bar n on.
    const auto w = static_cast<std::size_t>(n);
    double up = 0.0, dn = 0.0;
    out[0] = nan;
    std::size_t t = 1;
    for (; t < size && t <= w; ++t) {
        const double d = x[t] - x[t - 1];
        up += std::isnan(d) ? nan : positive_part(d);
        dn += std::isnan(d) ? nan : positive_part(-d);
        out[t] = nan;
    }
    if (t > w) {
        up /= n;
        dn /= n;
        out[w] = rsi_from_means(up, dn);
    }
    if (t >= size)
        return;
    // Then Wilder's recursion (WilderMeans), block by block, each block's RSI from its means.
    std::vector<double> downs(std::min(size - t, block_size(w)));
    WilderMeans means{up, dn, n};
    for (std::size_t blk = t; blk < size; blk += downs.size()) {
        const std::size_t e = std::min(size, blk + downs.size());
        means.run(x.data(), blk, e, out.data(), downs.data());
        rsi_from_means_block(out.data() + blk, downs.data(), e - blk);
    }
}

void bollinger(std::span<const double> x, int n, std::span<double> out) {
    if (n < 2) {  // no sample standard deviation of one value
        std::fill(out.begin(), out.end(), nan);
        return;
    }
    const double inv_n = 1.0 / n;
    const double inv_nm1 = 1.0 / (n - 1);
    const double* px = x.data();
    double* po = out.data();
    std::vector<double> var(block_size(static_cast<std::size_t>(n)));
    double* pv = var.data();
    std::size_t base = 0;
    run_rolling<true, 1>(
        x.size(), n, [px](int, std::size_t i) { return px[i]; },
        [&](int, std::size_t t, const Sums<true>& s, double v, bool defined) {
            // z = (x - mean) / sqrt(var); NaN for n equal values (0/0), as the definition gives.
            if (!defined || s.run >= n) {
                po[t] = nan;
                pv[t - base] = 1.0;
            } else {
                po[t] = v - s.mean(inv_n);
                pv[t - base] = std::max(0.0, s.centred_m2(inv_n)) * inv_nm1;
            }
        },
        [&](int, std::size_t ta, std::size_t tb, const PairBar& bar) {
            store_deviation_and_variance(bar, inv_nm1, po + ta, po + tb, pv + (ta - base), pv + (tb - base));
        },
        [&](std::size_t b, std::size_t) { base = b; },
        [&](std::size_t b, std::size_t e) { div_sqrt(po + b, pv, e - b); });
}

namespace {

// Rolling max (or min) of x over windows of w, for bars in order, with the van Herk /
// Gil-Werman scheme: a running prefix extremum within each block of w bars (aligned at multiples
// of w) and the suffix extrema of the previous block. NaN inputs are skipped in the extrema and
// poison every window they are in. Among equal values (+0.0 and -0.0 differ in bits) the
// prefix keeps the first, the suffix the last, and a window its suffix's.
template <bool IsMax>
class BlockExtremum {
public:
    BlockExtremum(std::span<const double> x, std::size_t w) : x_(x), w_(w), suffix_(w + 1, identity) {}

    // The extremum of x[t-w+1..t] (NaN while the window is short or holds a NaN); t in order,
    // from a multiple of w (the state at a bar is that of a run from bar 0 once the first call's
    // block and the one after it have passed).
    double next(std::size_t t) {
        if (pos_ == w_) {  // a new block: suffix extrema of the finished one
            pos_ = 0;
            double acc = identity;
            for (std::size_t j = w_; j-- > 0;) {
                acc = better(acc, clean(x_[t - w_ + j]));
                suffix_[j] = acc;
            }
            prefix_ = identity;
        }
        const double v = x_[t];
        if (std::isnan(v))
            last_nan_ = t;
        prefix_ = better(prefix_, clean(v));
        const double m = better(suffix_[pos_ + 1], prefix_);
        ++pos_;
        const bool nan_in_window = last_nan_ != none && last_nan_ + w_ > t;
        return (t + 1 < w_ || nan_in_window) ? nan : m;
    }

private:
    static constexpr double identity = IsMax ? -inf : inf;
    static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
    static double clean(double v) { return std::isnan(v) ? identity : v; }
    static double better(double a, double b) {
        if constexpr (IsMax) {
            return a < b ? b : a;
        } else {
            return b < a ? b : a;
        }
    }
    std::span<const double> x_;
    std::size_t w_;
    std::vector<double> suffix_;
    double prefix_ = identity;
    std::size_t pos_ = 0;
    std::size_t last_nan_ = none;
};

// The highest high and the lowest low over the windows of w ending at the bars of one block,
// block by block in any order. Where the block's windows hold no NaN: BlockExtremum's blocks and
// comparisons (so its choice among equal values, +0.0 or -0.0) without its per-bar tests, both
// series in each loop (two independent chains per step). Elsewhere BlockExtremum itself, run
// from the multiple of w before the block's first window.
class WindowHighLow {
public:
    WindowHighLow(std::span<const double> high, std::span<const double> low, std::size_t w)
        : high_(high), low_(low), w_(w), suffix_high_(w + 1), suffix_low_(w + 1) {}

    // highest[t - b], lowest[t - b] = the extrema of high and low over [t-w+1, t] for t in [b, e),
    // NaN while the window is short or holds a NaN.
    void fill(std::size_t b, std::size_t e, double* highest, double* lowest) {
        const std::size_t lo = b + 1 >= w_ ? b + 1 - w_ : 0;  // the first bar of b's window
        if (!plain(lo, e)) {
            scan<true>(high_, b, e, highest);
            scan<false>(low_, b, e, lowest);
            return;
        }
        const std::size_t first = std::min(e, std::max(b, w_ - 1));  // bars before w - 1: no full window
        for (std::size_t t = b; t < first; ++t)
            highest[t - b] = lowest[t - b] = nan;
        // Blocks of w aligned at multiples of w: the window of bar t = B + j (B the block's first
        // bar) is the suffix of the block before from B - w + j + 1 and the prefix up to t.
        const double* h = high_.data();
        const double* l = low_.data();
        double* __restrict sh = suffix_high_.data();
        double* __restrict sl = suffix_low_.data();
        sh[w_] = -inf;
        sl[w_] = inf;
        for (std::size_t t = first; t < e;) {
            const std::size_t block = t - t % w_;
            const std::size_t j0 = t - block, j1 = std::min(e - block, w_);
            double up = -inf, down = inf;
            if (block >= w_) {
                for (std::size_t j = w_; j-- > j0 + 1;) {
                    up = std::max(up, h[block - w_ + j]);
                    down = std::min(down, l[block - w_ + j]);
                    sh[j] = up;
                    sl[j] = down;
                }
            } else {
                std::fill(sh + j0 + 1, sh + w_, -inf);
                std::fill(sl + j0 + 1, sl + w_, inf);
            }
            up = -inf;
            down = inf;
            for (std::size_t j = 0; j < j0; ++j) {
                up = std::max(up, h[block + j]);
                down = std::min(down, l[block + j]);
            }
            double* oh = highest + (t - b);  // bar t = block + j0 first
            double* ol = lowest + (t - b);
            for (std::size_t j = j0; j < j1; ++j) {
                up = std::max(up, h[block + j]);
                down = std::min(down, l[block + j]);
                oh[j - j0] = std::max(sh[j + 1], up);
                ol[j - j0] = std::min(sl[j + 1], down);
            }
            t = block + j1;
        }
    }

private:
    // No NaN in high[lo, e) and low[lo, e).
    bool plain(std::size_t lo, std::size_t e) const {
        const double* h = high_.data();
        const double* l = low_.data();
        std::size_t i = lo;
        bool odd = false;
#if defined(__SSE2__)
        // One unordered compare tests two bars of both series; one test at the end.
        __m128d unordered = _mm_setzero_pd();
        for (; i + 2 <= e; i += 2)
            unordered = _mm_or_pd(unordered, _mm_cmpunord_pd(_mm_loadu_pd(h + i), _mm_loadu_pd(l + i)));
        odd = _mm_movemask_pd(unordered) != 0;
#endif
        for (; i < e; ++i)
            odd |= std::isnan(h[i]) || std::isnan(l[i]);
        return !odd;
    }

    // The per-bar form from the multiple of w before b's block (its state at b is that of a run
    // from bar 0).
    template <bool IsMax>
    void scan(std::span<const double> x, std::size_t b, std::size_t e, double* out) const {
        const std::size_t start = b / w_ >= 1 ? (b / w_ - 1) * w_ : 0;
        BlockExtremum<IsMax> extremum(x, w_);
        for (std::size_t t = start; t < b; ++t)
            extremum.next(t);
        for (std::size_t t = b; t < e; ++t)
            out[t - b] = extremum.next(t);
    }

    std::span<const double> high_, low_;
    std::size_t w_;
    std::vector<double> suffix_high_, suffix_low_;
};

}  // namespace

namespace {

// k[i] = 100 * (c[i] - l[i]) / (h[i] - l[i]), a loop the compiler vectorises (no multiply-add to
// contract): in XMM registers, or in YMM ones where the CPU has AVX2 (percent_k_avx2).
[[gnu::always_inline]] inline void percent_k_loop(const double* __restrict c, const double* __restrict h,
                                                  const double* __restrict l, std::size_t count,
                                                  double* __restrict k) {
    for (std::size_t i = 0; i < count; ++i)
        k[i] = 100.0 * (c[i] - l[i]) / (h[i] - l[i]);
}

#if defined(__SSE2__)
__attribute__((target("avx2"))) void percent_k_avx2(const double* c, const double* h, const double* l,
                                                    std::size_t count, double* k) {
    percent_k_loop(c, h, l, count, k);
}
#endif

void percent_k(const double* c, const double* h, const double* l, std::size_t count, double* k) {
#if defined(__SSE2__)
    if (cpu::has_avx2()) {
        percent_k_avx2(c, h, l, count, k);
        return;
    }
#endif
    percent_k_loop(c, h, l, count, k);
}

}  // namespace

void stochastic(std::span<const double> high, std::span<const double> low, std::span<const double> close,
                int n, std::span<double> out) {
    const std::size_t size = close.size();
    if (n < 1) {
        std::fill(out.begin(), out.end(), nan);
        return;
    }
    const auto w = static_cast<std::size_t>(n);
    const double inv_n = 1.0 / n;
    const std::size_t block = block_size(w);
    // %K of bars [b - w, e) of the current block (the window and the value leaving it), then
    // %D = the rolling mean of %K, in one pass.
    // Scratch written before it is read (the first window of %K zeroed), not zeroed whole: 48 KiB
    // a call, as much as the extrema of 2,500 bars cost.
    const auto k = std::make_unique_for_overwrite<double[]>(w + block);
    const auto highest = std::make_unique_for_overwrite<double[]>(block);
    const auto lowest = std::make_unique_for_overwrite<double[]>(block);
    std::fill(k.get(), k.get() + w, 0.0);
    WindowHighLow extrema(high, low, w);
    double* pk = k.get();
    double* po = out.data();
    std::size_t base = 0;  // k[i + w - base] is %K of bar i
    run_rolling<false, 1>(
        size, n, [&](int, std::size_t i) { return pk[i + w - base]; },
        [po, n, inv_n](int, std::size_t t, const Sums<false>& s, double v, bool defined) {
            po[t] = mean_or_value(s, v, defined, n, inv_n);
        },
        [po](int, std::size_t ta, std::size_t tb, const PairBar& bar) {
            store_lanes(po + ta, po + tb, bar.mean);
        },
        [&](std::size_t b, std::size_t e) {
            if (b > 0)
                std::memmove(pk, pk + block, w * sizeof(double));  // the last window of %K
            base = b;
            extrema.fill(b, e, highest.get(), lowest.get());
            double* __restrict kb = pk + w;
            percent_k(close.data() + b, highest.get(), lowest.get(), e - b, kb);
        },
        no_finish);
}

void sma_distance(std::span<const double> x, int n, std::span<double> out) {
    sma(x, n, out);
    for (std::size_t t = 0; t < x.size(); ++t)
        out[t] = x[t] / out[t] - 1.0;
}

void ema_distance(std::span<const double> x, int n, std::span<double> out) {
    ema(x, n, out);
    for (std::size_t t = 0; t < x.size(); ++t)
        out[t] = x[t] / out[t] - 1.0;
}

}  // namespace quant::indicators
