// The exhaustive grid search: every cell scored with the backtest's own stages, in parallel,
// the best kept per thread and merged.
#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

#include "optimize_internal.hpp"
#include "quant/cancel.hpp"
#include "quant/error.hpp"
#include "quant/optimize.hpp"

namespace quant {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// codes[j][wi * S_j + si]: substrategy j's positions at window wi and signal si.
using Codes = std::vector<std::vector<std::vector<PositionCode>>>;

bool better(Objective o, double a, std::size_t ia, double b, std::size_t ib) {
    if (a != b)
        return objective_minimised(o) ? a < b : a > b;
    return ia < ib;  // ties: the earlier cell in grid order
}

void keep_top(std::vector<CellResult>& top, CellResult cell, Objective o, std::size_t n) {
    const double v = objective_value(cell.summary.metrics, o);
    if (n == 0)
        return;
    if (top.size() == n) {
        const auto& worst = top.back();
        if (!better(o, v, cell.index, objective_value(worst.summary.metrics, o), worst.index))
            return;
        top.pop_back();
    }
    auto at = std::find_if(top.begin(), top.end(), [&](const CellResult& c) {
        return better(o, v, cell.index, objective_value(c.summary.metrics, o), c.index);
    });
    top.insert(at, std::move(cell));
}

// Helper threads never take a signal: the process's handlers (Postgres' among them) run on the
// thread that started the work.
void block_signals_in_this_thread() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

// One scored cell before it becomes a CellResult: its metrics and its grid coordinates.
struct ScoredCell {
    BacktestSummary summary;
    std::array<std::size_t, max_substrategies> wi{}, si{};
};

// Scores the cells of a grid, up to max_score_lanes at a time, exactly as quant.backtest scores
// the same parameters. One per thread: it owns the buffers the combined positions go to.
class CellScorer {
public:
    CellScorer(const StrategyConfig& cfg, const ParamGrid& grid, const StrategyBars& bars,
               std::span<const double> change, const Codes& codes, const OptimizeOptions& options)
        : cfg_(cfg),
          grid_(grid),
          bars_(bars),
          codes_(codes),
          k_(cfg.substrategies.size()),
          n_(bars.size()),
          lanes_allowed_(!options.keep_cells) {
        in_.price = bars.trading().close;
        in_.change = change;
        in_.finite_change_from = change.size();  // the bars from which every change is finite, once
        while (in_.finite_change_from > 0 && std::isfinite(change[in_.finite_change_from - 1]))
            --in_.finite_change_from;
        in_.fill_delay_bars = cfg.fill_delay_bars;
        in_.trading_period = cfg.trading_period;
        in_.fee_bps = options.fee_bps;
        in_.score_buy_hold = options.keep_cells;
        if (k_ == 1) {
            window_indicator_.resize(n_);
            window_codes_.assign(grid.signals[0].size(), std::vector<PositionCode>(n_));
        } else {
            for (auto& d : decided_)
                d.resize(n_);
        }
    }

    // With one substrategy the positions are made per window, here (one window's positions stay
    // in cache while its cells are scored): its indicator once, its positions per threshold.
    void prepare_window(std::size_t wi) {
        SubStrategy sub = cfg_.substrategies[0];
        sub.window = grid_.windows[0][wi];
        sub.indicator->compute(bars_.factor(0), sub.data_column, sub.window, window_indicator_);
        for (std::size_t i = 0; i < window_codes_.size(); ++i) {
            sub.signal = grid_.signals[0][i];
            signal_codes(sub, window_indicator_, window_codes_[i]);
        }
    }

    // Cells [first, first + lanes) in grid order, scored side by side when they share their
    // widest window (neighbours in grid order usually do).
    void score(std::size_t first, std::size_t lanes, std::array<ScoredCell, max_score_lanes>& out) {
        std::array<std::span<const PositionCode>, max_score_lanes> combined{};
        std::array<int, max_score_lanes> widest{};
        for (std::size_t l = 0; l < lanes; ++l) {
            combined[l] = combine(first + l, out[l], widest[l], l);
        }
        std::array<BacktestSummary, max_score_lanes> scored{};
        bool side_by_side = lanes_allowed_ && lanes > 1 &&
                            std::all_of(widest.begin(), widest.begin() + static_cast<std::ptrdiff_t>(lanes),
                                        [&](int w) { return w == widest[0]; });
        if (side_by_side) {
            in_.first_scored = static_cast<std::size_t>(widest[0]);
            side_by_side = score_lanes(std::span<const std::span<const PositionCode>>(combined.data(), lanes),
                                       in_, scored);
        }
        for (std::size_t l = 0; l < lanes; ++l) {
            if (side_by_side) {
                out[l].summary = scored[l];
            } else {
                in_.decided = combined[l];
                in_.first_scored = static_cast<std::size_t>(widest[l]);
                out[l].summary = score_positions(in_);
            }
            const auto ts = bars_.trading().ts;
            out[l].summary.first_ts = ts.empty() ? 0 : ts.front();
            out[l].summary.last_ts = ts.empty() ? 0 : ts.back();
        }
    }

private:
    // The decided positions of one cell (grid order: substrategy 0 most significant, window
    // before signal), in lane `lane`'s buffer when substrategies must be combined.
    std::span<const PositionCode> combine(std::size_t cell, ScoredCell& out, int& widest, std::size_t lane) {
        std::size_t rest = cell;
        for (std::size_t j = k_; j-- > 0;) {
            out.si[j] = rest % grid_.signals[j].size();
            rest /= grid_.signals[j].size();
            out.wi[j] = rest % grid_.windows[j].size();
            rest /= grid_.windows[j].size();
        }
        widest = 0;
        std::array<const PositionCode*, max_substrategies> columns{};
        for (std::size_t j = 0; j < k_; ++j) {
            columns[j] = k_ == 1 ? window_codes_[out.si[0]].data()
                                 : codes_[j][out.wi[j] * grid_.signals[j].size() + out.si[j]].data();
            widest = std::max(widest, grid_.windows[j][out.wi[j]]);
        }
        if (k_ == 1)
            return {columns[0], n_};
        auto& buffer = decided_[lane];
        combine_columns(cfg_.conjunction, std::span<const PositionCode* const>(columns.data(), k_), n_,
                        buffer.data());
        return buffer;
    }

    const StrategyConfig& cfg_;
    const ParamGrid& grid_;
    const StrategyBars& bars_;
    const Codes& codes_;
    std::size_t k_, n_;
    bool lanes_allowed_;
    ScoreInput in_;
    std::vector<double> window_indicator_;
    std::vector<std::vector<PositionCode>> window_codes_;
    std::array<std::vector<PositionCode>, max_score_lanes> decided_;
};

// The positions of every (substrategy, window, signal), made once and shared by every cell that
// uses them; with one substrategy the scorer makes them per window instead.
Codes shared_codes(const StrategyConfig& cfg, const ParamGrid& grid, const StrategyBars& bars) {
    const std::size_t k = cfg.substrategies.size();
    Codes codes(k);
    if (k == 1)
        return codes;
    std::vector<double> indicator(bars.size());
    for (std::size_t j = 0; j < k; ++j) {
        SubStrategy sub = cfg.substrategies[j];
        for (int w : grid.windows[j]) {
            sub.window = w;
            sub.indicator->compute(bars.factor(j), sub.data_column, w, indicator);
            for (double sig : grid.signals[j]) {
                sub.signal = sig;
                codes[j].emplace_back(bars.size());
                signal_codes(sub, indicator, codes[j].back());
            }
            check_for_interrupts();
        }
    }
    return codes;
}

void check_search_limits(const StrategyConfig& cfg, const ParamGrid& grid, const StrategyBars& bars,
                         const OptimizeOptions& options) {
    const std::size_t cells = grid.size();
    if (options.keep_cells && cells > 100'000) {
        throw Error(
            ErrorCode::limit_exceeded, "include_cells",
            "include_cells: " + std::to_string(cells) + " cells is over the limit of 100000 for listing",
            "ask for the top cells instead (top_n)");
    }
    // Every window must be computable on these bars: the largest one per substrategy decides.
    check_bars_for(widest_config(cfg, grid), bars);
    // The position series are one byte a bar each.
    double bytes = 0;
    for (std::size_t j = 0; j < cfg.substrategies.size(); ++j) {
        bytes += static_cast<double>(grid.windows[j].size() * grid.signals[j].size() * bars.size());
    }
    if (bytes > 1024.0 * 1024 * 1024) {
        throw Error(ErrorCode::limit_exceeded, "grid",
                    "grid: the position series of this search need " +
                        std::to_string(static_cast<long long>(bytes / (1024 * 1024))) +
                        " MiB, over the limit of 1024 MiB",
                    "search fewer windows or signals, or a shorter date range");
    }
}

}  // namespace

Objective parse_objective(std::string_view name) {
    for (Objective o : {Objective::total_return, Objective::annualized_return, Objective::sharpe_ratio,
                        Objective::max_drawdown, Objective::calmar_ratio}) {
        if (objective_name(o) == name)
            return o;
    }
    throw Error(ErrorCode::invalid_argument, "objective",
                "objective: unknown metric \"" + std::string(name) + "\"",
                "valid objectives: total_return, annualized_return, sharpe_ratio, max_drawdown (minimised), "
                "calmar_ratio");
}

std::string_view objective_name(Objective o) {
    switch (o) {
        case Objective::total_return:
            return "total_return";
        case Objective::annualized_return:
            return "annualized_return";
        case Objective::sharpe_ratio:
            return "sharpe_ratio";
        case Objective::max_drawdown:
            return "max_drawdown";
        case Objective::calmar_ratio:
            return "calmar_ratio";
    }
    return "sharpe_ratio";
}

double objective_value(const Metrics& m, Objective o) {
    switch (o) {
        case Objective::total_return:
            return m.total_return;
        case Objective::annualized_return:
            return m.annualized_return;
        case Objective::sharpe_ratio:
            return m.sharpe_ratio;
        case Objective::max_drawdown:
            return m.max_drawdown;
        case Objective::calmar_ratio:
            return m.calmar_ratio;
    }
    return nan;
}

bool objective_minimised(Objective o) {
    return o == Objective::max_drawdown;
}

OptimizeResult optimize(const StrategyConfig& cfg, const ParamGrid& grid, const StrategyBars& bars,
                        const OptimizeOptions& options) {
    const std::size_t k = cfg.substrategies.size();
    const std::size_t cells = grid.size();
    check_search_limits(cfg, grid, bars, options);
    const Codes codes = shared_codes(cfg, grid, bars);
    const std::vector<double> change = price_changes(bars.trading().close);

    OptimizeResult result;
    result.grid_size = cells;
    result.objective = options.objective;
    if (options.keep_cells)
        result.cells.resize(cells);

    unsigned threads =
        options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(1, cells / 64)));
    // With one substrategy a chunk is one window: all its signal thresholds.
    const std::size_t chunk = k == 1 ? grid.signals[0].size() : 64;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
    std::mutex merge;
    std::vector<CellResult> top;
    std::size_t valid = 0, evaluated = 0;
    const std::size_t kept = std::max<std::size_t>(options.top_n, 1);  // the best is kept even for top_n 0

    const auto work = [&](bool main_thread) {
        CellScorer scorer(cfg, grid, bars, change, codes, options);
        std::vector<CellResult> local_top;
        std::size_t local_valid = 0, local_evaluated = 0;
        std::array<ScoredCell, max_score_lanes> scored;
        auto last_report = std::chrono::steady_clock::now();
        while (!stop.load(std::memory_order_relaxed)) {
            if (main_thread) {
                check_for_interrupts();
                const auto now = std::chrono::steady_clock::now();
                if (options.progress && now - last_report > std::chrono::seconds(3)) {
                    last_report = now;
                    if (!options.progress(std::min(next.load(), cells), cells)) {
                        throw Error(ErrorCode::cancelled, "", "cancelled on request");
                    }
                }
            }
            const std::size_t begin = next.fetch_add(chunk);
            if (begin >= cells)
                break;
            const std::size_t end = std::min(cells, begin + chunk);
            if (k == 1)
                scorer.prepare_window(begin / chunk);
            for (std::size_t g = begin; g < end; g += max_score_lanes) {
                const std::size_t lanes = std::min(max_score_lanes, end - g);
                scorer.score(g, lanes, scored);
                for (std::size_t l = 0; l < lanes; ++l) {
                    const std::size_t c = g + l;
                    CellResult cell;
                    cell.index = c;
                    cell.summary = scored[l].summary;
                    ++local_evaluated;
                    const bool ok = !std::isnan(objective_value(cell.summary.metrics, options.objective));
                    if (ok || options.keep_cells) {
                        for (std::size_t j = 0; j < k; ++j) {
                            cell.window.push_back(grid.windows[j][scored[l].wi[j]]);
                            cell.signal.push_back(grid.signals[j][scored[l].si[j]]);
                        }
                    }
                    if (options.keep_cells)
                        result.cells[c] = cell;
                    if (ok) {
                        ++local_valid;
                        keep_top(local_top, std::move(cell), options.objective, kept);
                    }
                }
            }
        }
        std::lock_guard<std::mutex> lock(merge);
        valid += local_valid;
        evaluated += local_evaluated;
        for (auto& c : local_top)
            keep_top(top, std::move(c), options.objective, kept);
    };

    std::vector<std::thread> helpers;
    std::vector<std::exception_ptr> errors(threads);
    for (unsigned i = 1; i < threads; ++i) {
        helpers.emplace_back([&, i] {
            block_signals_in_this_thread();
            try {
                work(false);
            } catch (...) {
                errors[i] = std::current_exception();
                stop = true;
            }
        });
    }
    try {
        work(true);
    } catch (...) {
        errors[0] = std::current_exception();
        stop = true;
    }
    for (auto& t : helpers)
        t.join();
    for (auto& e : errors) {
        if (e)
            std::rethrow_exception(e);
    }
    result.valid = valid;
    result.evaluated = evaluated;
    if (!top.empty()) {  // the best one, with its buy-and-hold metrics (not scored during the search)
        result.best = top.front();
        result.best->summary = run_backtest(with_cell(cfg, *result.best), bars, options.fee_bps);
    }
    top.resize(std::min(top.size(), options.top_n));
    result.top = std::move(top);
    return result;
}

}  // namespace quant
