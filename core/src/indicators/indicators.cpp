#include "quant/indicators/indicators.hpp"

#include "quant/cancel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace quant::indicators {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Rolling sums are kept relative to `shift`, re-based from the window at this period (or every
// n bars for longer windows): amortised O(1), and the error never accumulates.
constexpr int min_rebase_period = 128;

int rebase_period(int n) { return std::max(n, min_rebase_period); }

// Rounding error in the shifted sums grows with the magnitude of every term added or removed
// since the last re-base (mag1, mag2); once that magnitude outgrows the sums themselves by this
// factor (a spike left the window, or the level drifted from the shift), the sums are recomputed
// from the window. The error then stays below about 1e-10 of the value, and it is O(1) amortised
// on ordinary series.
constexpr double max_error_growth = 1e6;

inline bool needs_rebase(bool with_variance, double s1, double s2, double mag1, double mag2, double shift, int n) {
    const double level = std::fabs(s1 + shift * n);  // n * |mean|
    if (mag1 > max_error_growth * level) return true;
    // Against the centred sum of squares, not s2: a stale shift inflates s2 itself.
    return with_variance && mag2 > max_error_growth * (s2 - s1 * s1 * (1.0 / n));
}

// The batch kernel of every rolling mean and variance: reads the value leaving the window from
// the input array, so there is no ring buffer. Non-finite values poison the window they are in.
template <bool WithVariance>
void rolling_moments(std::span<const double> x, int n, std::span<double> mean, std::span<double> var) {
    const std::size_t size = x.size();
    const auto w = static_cast<std::size_t>(n);
    const double inv_n = 1.0 / n;
    double shift = 0.0;
    for (double v : x) {
        if (std::isfinite(v)) {
            shift = v;
            break;
        }
    }
    double s1 = 0.0, s2 = 0.0, mag1 = 0.0, mag2 = 0.0;
    int non_finite = 0, run = 0, since_rebase = 0;
    const int period = rebase_period(n);
    for (std::size_t t = 0; t < size; ++t) {
        const double v = x[t];
        if (std::isfinite(v)) {
            const double d = v - shift;
            s1 += d;
            mag1 += std::fabs(d);
            if constexpr (WithVariance) {
                s2 += d * d;
                mag2 += d * d;
            }
        } else {
            ++non_finite;
        }
        run = (t > 0 && v == x[t - 1]) ? run + 1 : 1;
        if (t >= w) {
            const double old = x[t - w];
            if (std::isfinite(old)) {
                const double d = old - shift;
                s1 -= d;
                mag1 += std::fabs(d);
                if constexpr (WithVariance) {
                    s2 -= d * d;
                    mag2 += d * d;
                }
            } else {
                --non_finite;
            }
        }
        ++since_rebase;
        if (t + 1 >= w && (since_rebase >= period || needs_rebase(WithVariance, s1, s2, mag1, mag2, shift, n))) {
            // Re-base on the window's mean: recompute the sums exactly over the window.
            since_rebase = 0;
            double sum = 0.0;
            int count = 0;
            for (std::size_t i = t + 1 - w; i <= t; ++i) {
                if (std::isfinite(x[i])) {
                    sum += x[i];
                    ++count;
                }
            }
            if (count > 0) shift = sum / count;
            s1 = s2 = mag1 = 0.0;
            for (std::size_t i = t + 1 - w; i <= t; ++i) {
                if (std::isfinite(x[i])) {
                    const double d = x[i] - shift;
                    s1 += d;
                    mag1 += std::fabs(d);
                    if constexpr (WithVariance) s2 += d * d;
                }
            }
            mag2 = s2;
        }
        if (t + 1 < w || non_finite > 0) {
            mean[t] = nan;
            if constexpr (WithVariance) var[t] = nan;
        } else if (run >= n) {  // n equal values: exactly that value, exactly no spread
            mean[t] = v;
            if constexpr (WithVariance) var[t] = n > 1 ? 0.0 : nan;
        } else {
            mean[t] = shift + s1 * inv_n;
            if constexpr (WithVariance) {
                const double m2 = s2 - s1 * s1 * inv_n;
                var[t] = n > 1 ? std::max(0.0, m2) / (n - 1) : nan;
            }
        }
    }
}

double rsi_from_means(double up, double down) { return 100.0 - 100.0 / (1.0 + up / down); }

}  // namespace

// ---- batch -----------------------------------------------------------------------------------

void sma(std::span<const double> x, int n, std::span<double> out) { rolling_moments<false>(x, n, out, {}); }

void ema(std::span<const double> x, int n, std::span<double> out) {
    const double a = 2.0 / (n + 1.0);
    const double b = 1.0 - a;
    double e = nan;
    bool started = false;
    for (std::size_t t = 0; t < x.size(); ++t) {
        const double v = x[t];
        if (std::isnan(v)) {
            out[t] = nan;
            continue;
        }
        e = started ? b * e + a * v : v;
        started = true;
        out[t] = e;
    }
}

void rsi(std::span<const double> x, int n, std::span<double> out) {
    const std::size_t size = x.size();
    if (size == 0) return;
    std::vector<double> up(size), down(size), up_mean(size), down_mean(size);
    up[0] = down[0] = nan;  // no delta before the first bar
    for (std::size_t t = 1; t < size; ++t) {
        const double d = x[t] - x[t - 1];
        up[t] = std::isnan(d) ? nan : std::max(d, 0.0);
        down[t] = std::isnan(d) ? nan : std::max(-d, 0.0);
    }
    rolling_moments<false>(up, n, up_mean, {});
    rolling_moments<false>(down, n, down_mean, {});
    for (std::size_t t = 0; t < size; ++t) out[t] = rsi_from_means(up_mean[t], down_mean[t]);
}

void rsi_wilder(std::span<const double> x, int n, std::span<double> out) {
    RsiWilder r(n);
    for (std::size_t t = 0; t < x.size(); ++t) out[t] = r.update(x[t]);
}

void bollinger(std::span<const double> x, int n, std::span<double> out) {
    std::vector<double> mean(x.size()), var(x.size());
    rolling_moments<true>(x, n, mean, var);
    for (std::size_t t = 0; t < x.size(); ++t) out[t] = (x[t] - mean[t]) / std::sqrt(var[t]);
}

namespace {

// Rolling max (or min) over arrays with a monotonic deque of indices.
template <typename Better>
void rolling_extremum(std::span<const double> x, int n, std::span<double> out, Better better) {
    std::vector<std::size_t> q(x.size());
    std::size_t qh = 0, qt = 0;
    const auto w = static_cast<std::size_t>(n);
    std::size_t last_nan = std::numeric_limits<std::size_t>::max();
    for (std::size_t t = 0; t < x.size(); ++t) {
        const double v = x[t];
        if (std::isnan(v)) {
            last_nan = t;
            qh = qt = 0;
        } else {
            while (qt > qh && !better(x[q[qt - 1]], v)) --qt;
            q[qt++] = t;
            while (q[qh] + w <= t) ++qh;
        }
        const bool nan_in_window = last_nan != std::numeric_limits<std::size_t>::max() && last_nan + w > t;
        out[t] = (t + 1 < w || nan_in_window) ? nan : x[q[qh]];
    }
}

}  // namespace

void stochastic(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
                std::span<double> out) {
    const std::size_t size = close.size();
    std::vector<double> hh(size), ll(size), k(size);
    rolling_extremum(high, n, hh, [](double a, double b) { return a > b; });
    rolling_extremum(low, n, ll, [](double a, double b) { return a < b; });
    for (std::size_t t = 0; t < size; ++t) k[t] = 100.0 * (close[t] - ll[t]) / (hh[t] - ll[t]);
    rolling_moments<false>(k, n, out, {});
}

void sma_distance(std::span<const double> x, int n, std::span<double> out) {
    sma(x, n, out);
    for (std::size_t t = 0; t < x.size(); ++t) out[t] = x[t] / out[t] - 1.0;
}

void ema_distance(std::span<const double> x, int n, std::span<double> out) {
    ema(x, n, out);
    for (std::size_t t = 0; t < x.size(); ++t) out[t] = x[t] / out[t] - 1.0;
}

// ---- streaming -------------------------------------------------------------------------------

RollingMoments::RollingMoments(int n) : n_(n), buf_(static_cast<std::size_t>(n), 0.0) {}

void RollingMoments::push(double x) {
    if (!shift_set_ && std::isfinite(x)) {  // the first finite value: a shift near the data
        shift_ = x;
        shift_set_ = true;
    }
    if (std::isfinite(x)) {
        const double d = x - shift_;
        s1_ += d;
        s2_ += d * d;
        mag1_ += std::fabs(d);
        mag2_ += d * d;
    } else {
        ++nan_count_;
    }
    if (seen_ >= static_cast<std::size_t>(n_)) {
        const double old = buf_[head_];
        if (std::isfinite(old)) {
            const double d = old - shift_;
            s1_ -= d;
            s2_ -= d * d;
            mag1_ += std::fabs(d);
            mag2_ += d * d;
        } else {
            --nan_count_;
        }
    }
    buf_[head_] = x;
    head_ = head_ + 1 == buf_.size() ? 0 : head_ + 1;
    equal_run_ = (seen_ > 0 && x == last_) ? equal_run_ + 1 : 1;
    last_ = x;
    ++seen_;
    ++since_rebase_;
    if (ready() && (since_rebase_ >= rebase_period(n_) || needs_rebase(true, s1_, s2_, mag1_, mag2_, shift_, n_))) {
        rebase();
    }
}

void RollingMoments::rebase() {
    since_rebase_ = 0;
    double sum = 0.0;
    int count = 0;
    // Oldest to newest, the same order as the batch kernel.
    for (std::size_t i = 0; i < buf_.size(); ++i) {
        const double v = buf_[(head_ + i) % buf_.size()];
        if (std::isfinite(v)) {
            sum += v;
            ++count;
        }
    }
    if (count > 0) shift_ = sum / count;
    s1_ = s2_ = mag1_ = 0.0;
    for (std::size_t i = 0; i < buf_.size(); ++i) {
        const double v = buf_[(head_ + i) % buf_.size()];
        if (std::isfinite(v)) {
            const double d = v - shift_;
            s1_ += d;
            s2_ += d * d;
            mag1_ += std::fabs(d);
        }
    }
    mag2_ = s2_;
}

double RollingMoments::mean() const {
    if (!ready() || nan_count_ > 0) return nan;
    if (equal_run_ >= n_) return last_;
    return shift_ + s1_ * (1.0 / n_);
}

double RollingMoments::sample_variance() const {
    if (!ready() || nan_count_ > 0 || n_ < 2) return nan;
    if (equal_run_ >= n_) return 0.0;
    return std::max(0.0, s2_ - s1_ * s1_ * (1.0 / n_)) / (n_ - 1);
}

Ema::Ema(int n) : alpha_(2.0 / (n + 1.0)), value_(nan) {}

double Ema::update(double x) {
    if (std::isnan(x)) return nan;
    value_ = started_ ? (1.0 - alpha_) * value_ + alpha_ * x : x;
    started_ = true;
    return value_;
}

double Rsi::update(double x) {
    if (!started_) {
        started_ = true;
        prev_ = x;
        gains_.push(nan);
        losses_.push(nan);
        return nan;
    }
    const double d = x - prev_;
    prev_ = x;
    gains_.push(std::isnan(d) ? nan : std::max(d, 0.0));
    losses_.push(std::isnan(d) ? nan : std::max(-d, 0.0));
    return rsi_from_means(gains_.mean(), losses_.mean());
}

double RsiWilder::update(double x) {
    if (!started_) {
        started_ = true;
        prev_ = x;
        return nan;
    }
    const double d = x - prev_;
    prev_ = x;
    const double gain = std::isnan(d) ? nan : std::max(d, 0.0);
    const double loss = std::isnan(d) ? nan : std::max(-d, 0.0);
    ++deltas_;
    if (deltas_ <= n_) {  // the seed: a simple mean of the first n deltas
        avg_gain_ += gain;
        avg_loss_ += loss;
        if (deltas_ < n_) return nan;
        avg_gain_ /= n_;
        avg_loss_ /= n_;
    } else {
        avg_gain_ = (avg_gain_ * (n_ - 1) + gain) / n_;
        avg_loss_ = (avg_loss_ * (n_ - 1) + loss) / n_;
    }
    return rsi_from_means(avg_gain_, avg_loss_);
}

double Bollinger::update(double x) {
    m_.push(x);
    return (x - m_.mean()) / std::sqrt(m_.sample_variance());
}

double RollingExtremum::update(double x) {
    const std::size_t t = t_++;
    const auto w = static_cast<std::size_t>(n_);
    if (std::isnan(x)) {
        last_nan_ = t;
        q_.clear();
    } else {
        while (!q_.empty() && !(is_max_ ? q_.back().second > x : q_.back().second < x)) q_.pop_back();
        q_.emplace_back(t, x);
        while (q_.front().first + w <= t) q_.pop_front();
    }
    const bool nan_in_window = last_nan_ != static_cast<std::size_t>(-1) && last_nan_ + w > t;
    return (t + 1 < w || nan_in_window) ? nan : q_.front().second;
}

double Stochastic::update(double high, double low, double close) {
    const double hh = hh_.update(high);
    const double ll = ll_.update(low);
    d_.push(100.0 * (close - ll) / (hh - ll));
    return d_.mean();
}

}  // namespace quant::indicators
