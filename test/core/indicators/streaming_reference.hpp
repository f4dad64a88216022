// The reference oracle of the indicator property tests: each indicator in streaming form, a small
// struct whose update() takes the next bar and returns the value in O(1). Written apart from the
// batch kernels of core (which production uses everywhere), so a bug in one is caught by the other;
// the property test holds them to each other within 1e-9, and both to a naive recomputation.
#pragma once
#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

namespace quant::reference {

// Mean and sample variance of the last n values; NaN while fewer than n values were seen or
// while a NaN is inside the window. A window of n equal values gives exactly that value and 0.
class RollingMoments {
public:
    explicit RollingMoments(int n);
    void push(double x);
    double mean() const;
    double sample_variance() const;
    // (x - mean) / sqrt(sample variance), computed as the batch bollinger() computes it.
    double zscore(double x) const;
    bool ready() const { return seen_ >= static_cast<std::size_t>(n_); }

private:
    void rebase();
    int n_;
    std::vector<double> buf_;
    std::size_t head_ = 0;
    std::size_t seen_ = 0;
    int nan_count_ = 0;
    int equal_run_ = 0;
    int since_rebase_ = 0;
    double last_ = 0.0;
    double shift_ = 0.0;
    bool shift_set_ = false;
    double s1_ = 0.0;    // sum of (x - shift)
    double s2_ = 0.0;    // sum of (x - shift)^2
    double mag1_ = 0.0;  // sum of |terms| added or removed since the last re-base (error bound)
    double mag2_ = 0.0;
};

class Sma {
public:
    explicit Sma(int n) : m_(n) {}
    double update(double x) {
        m_.push(x);
        return m_.mean();
    }

private:
    RollingMoments m_;
};

class Ema {
public:
    explicit Ema(int n);
    double update(double x);

private:
    double alpha_;
    double value_;
    int gaps_ = 0;  // NaN values since the last value
    bool started_ = false;
};

class Rsi {
public:
    explicit Rsi(int n) : gains_(n), losses_(n) {}
    double update(double x);

private:
    RollingMoments gains_, losses_;
    double prev_ = 0.0;
    bool started_ = false;
};

class RsiWilder {
public:
    explicit RsiWilder(int n) : n_(n) {}
    double update(double x);
    double avg_gain() const { return avg_gain_; }
    double avg_loss() const { return avg_loss_; }

private:
    int n_;
    int deltas_ = 0;
    int gaps_ = 0;  // NaN deltas since the last defined one (after the seed)
    double prev_ = 0.0;
    double avg_gain_ = 0.0, avg_loss_ = 0.0;
    bool started_ = false;
};

class Bollinger {
public:
    explicit Bollinger(int n) : m_(n) {}
    double update(double x);

private:
    RollingMoments m_;
};

// Rolling max or min with a monotonic deque: amortised O(1) per bar.
class RollingExtremum {
public:
    RollingExtremum(int n, bool is_max) : n_(n), is_max_(is_max) {}
    double update(double x);

private:
    int n_;
    bool is_max_;
    std::size_t t_ = 0;
    std::deque<std::pair<std::size_t, double>> q_;
    std::size_t last_nan_ = static_cast<std::size_t>(-1);
};

class Stochastic {
public:
    explicit Stochastic(int n) : hh_(n, true), ll_(n, false), d_(n) {}
    double update(double high, double low, double close);

private:
    RollingExtremum hh_, ll_;
    RollingMoments d_;
};

class SmaDistance {
public:
    explicit SmaDistance(int n) : sma_(n) {}
    double update(double x) { return x / sma_.update(x) - 1.0; }

private:
    Sma sma_;
};

class EmaDistance {
public:
    explicit EmaDistance(int n) : ema_(n) {}
    double update(double x) { return x / ema_.update(x) - 1.0; }

private:
    Ema ema_;
};

}  // namespace quant::reference
