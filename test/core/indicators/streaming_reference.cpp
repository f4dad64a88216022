#include "streaming_reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace quant::reference {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// The same re-base rule as the batch kernels: every max(n, 128) bars, or when the rounding error
// of the shifted sums may have outgrown them.
int rebase_period(int n) {
    return std::max(n, 128);
}

bool needs_rebase(bool with_variance, double s1, double s2, double mag1, double mag2, double shift, int n) {
    constexpr double max_error_growth = 1e6;
    const double level = std::fabs(s1 + shift * n);
    if (mag1 > max_error_growth * level)
        return true;
    return with_variance && mag2 > max_error_growth * (s2 - s1 * s1 * (1.0 / n));
}

// The definition, as the original engine computes it.
double rsi_from_means(double up, double down) {
    return 100.0 - 100.0 / (1.0 + up / down);
}

}  // namespace

RollingMoments::RollingMoments(int n) : n_(n), buf_(static_cast<std::size_t>(n), 0.0) {}

void RollingMoments::push(double x) {
    if (!shift_set_ && std::isfinite(x)) {  // the first finite value: a shift near the data
        shift_ = x;
        shift_set_ = true;
    }
    // The arithmetic of the batch kernel (Sums::move), in the same order.
    const bool has_old = seen_ >= static_cast<std::size_t>(n_);
    const double old = has_old ? buf_[head_] : 0.0;
    double din = x - shift_;
    double dout = old - shift_;
    if (!std::isfinite(x)) {
        din = 0.0;
        ++nan_count_;
    }
    if (!has_old) {
        dout = 0.0;
    } else if (!std::isfinite(old)) {
        dout = 0.0;
        --nan_count_;
    }
    s1_ += din - dout;
    mag1_ += std::fabs(din) + std::fabs(dout);
    const double a = din * din, b = dout * dout;
    s2_ += a - b;
    mag2_ += a + b;
    buf_[head_] = x;
    head_ = head_ + 1 == buf_.size() ? 0 : head_ + 1;
    equal_run_ = (seen_ > 0 && x == last_) ? equal_run_ + 1 : 1;
    last_ = x;
    ++seen_;
    ++since_rebase_;
    if (ready() &&
        (since_rebase_ >= rebase_period(n_) || needs_rebase(true, s1_, s2_, mag1_, mag2_, shift_, n_))) {
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
    if (count > 0)
        shift_ = sum / count;
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
    if (!ready() || nan_count_ > 0)
        return nan;
    if (equal_run_ >= n_)
        return last_;
    return shift_ + s1_ * (1.0 / n_);
}

double RollingMoments::sample_variance() const {
    if (!ready() || nan_count_ > 0 || n_ < 2)
        return nan;
    if (equal_run_ >= n_)
        return 0.0;
    return std::max(0.0, s2_ - s1_ * s1_ * (1.0 / n_)) / (n_ - 1);
}

double RollingMoments::zscore(double x) const {
    if (!ready() || nan_count_ > 0 || n_ < 2 || equal_run_ >= n_)
        return nan;  // n equal values: 0/0
    const double inv_n = 1.0 / n_;
    return (x - (shift_ + s1_ * inv_n)) /
           std::sqrt(std::max(0.0, s2_ - s1_ * s1_ * inv_n) * (1.0 / (n_ - 1)));
}

Ema::Ema(int n) : alpha_(2.0 / (n + 1.0)), value_(nan) {}

// The EMA over gaps of backtest-semantics.md: the value after k NaN bars is weighted a against
// (1-a)^(k+1) for the average.
double Ema::update(double x) {
    if (std::isnan(x)) {
        ++gaps_;
        return value_;
    }
    if (!started_) {
        value_ = x;
    } else if (gaps_ == 0) {
        value_ = (1.0 - alpha_) * value_ + alpha_ * x;
    } else {
        const double w = std::pow(1.0 - alpha_, gaps_ + 1);
        value_ = (w * value_ + alpha_ * x) / (w + alpha_);
    }
    started_ = true;
    gaps_ = 0;
    return value_;
}

// The original engine's rule over gaps: delta = x.diff().dropna(). A bar without a delta (the
// first bar, or a NaN on either side) is NaN and its delta is not pushed, so the windows of gains
// and losses hold the last n defined deltas, however many bars they span.
double Rsi::update(double x) {
    const double d = started_ ? x - prev_ : nan;
    started_ = true;
    prev_ = x;
    if (std::isnan(d))
        return nan;
    gains_.push(std::max(d, 0.0));
    losses_.push(std::max(-d, 0.0));
    return rsi_from_means(gains_.mean(), losses_.mean());
}

// Seeded by the first n deltas in a row that are defined; NaN deltas then follow the EMA rule over
// gaps (weight 1/n against (1-1/n)^(k+1)).
double RsiWilder::update(double x) {
    if (!started_) {
        started_ = true;
        prev_ = x;
        return nan;
    }
    const double d = x - prev_;
    prev_ = x;
    const double c = 1.0 / n_;
    const double b = (n_ - 1.0) * c;
    if (deltas_ < n_) {  // the seed: a simple mean of n defined deltas in a row
        if (std::isnan(d)) {
            deltas_ = 0;
            avg_gain_ = avg_loss_ = 0.0;
            return nan;
        }
        avg_gain_ += std::max(d, 0.0);
        avg_loss_ += std::max(-d, 0.0);
        if (++deltas_ < n_)
            return nan;
        avg_gain_ /= n_;
        avg_loss_ /= n_;
    } else if (std::isnan(d)) {
        ++gaps_;
    } else if (gaps_ == 0) {
        // avg*(n-1)/n + g/n with the constants precomputed (no division per bar).
        avg_gain_ = b * avg_gain_ + c * std::max(d, 0.0);
        avg_loss_ = b * avg_loss_ + c * std::max(-d, 0.0);
    } else {
        const double w = std::pow(b, gaps_ + 1);
        avg_gain_ = (w * avg_gain_ + c * std::max(d, 0.0)) / (w + c);
        avg_loss_ = (w * avg_loss_ + c * std::max(-d, 0.0)) / (w + c);
        gaps_ = 0;
    }
    return rsi_from_means(avg_gain_, avg_loss_);
}

double Bollinger::update(double x) {
    m_.push(x);
    return m_.zscore(x);
}

double RollingExtremum::update(double x) {
    const std::size_t t = t_++;
    const auto w = static_cast<std::size_t>(n_);
    if (std::isnan(x)) {
        last_nan_ = t;
        q_.clear();
    } else {
        while (!q_.empty() && !(is_max_ ? q_.back().second > x : q_.back().second < x))
            q_.pop_back();
        q_.emplace_back(t, x);
        while (q_.front().first + w <= t)
            q_.pop_front();
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

}  // namespace quant::reference
