#include "quant/optimize.hpp"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <mutex>
#include <set>
#include <thread>

#include "quant/cancel.hpp"
#include "quant/error.hpp"

namespace quant {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

[[noreturn]] void fail(const std::string& field, const std::string& problem, std::string hint = {}) {
    throw Error(ErrorCode::invalid_config, field, field + ": " + problem, std::move(hint));
}

// The double nearest to v's 12-significant-digit decimal: min + i*step lands on 0.03, not
// 0.030000000000000002, so grid values read as the user wrote them.
double snap(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.12g", v);
    return std::strtod(buf, nullptr);
}

double number(const Json& v, const std::string& field) {
    if (!v.is_number())
        fail(field, "must be a number, got " + v.dump());
    const double d = v.get<double>();
    if (!std::isfinite(d))
        fail(field, "must be finite");
    return d;
}

int window_value(const Json& v, const std::string& field, int floor) {
    const double d = number(v, field);
    if (d != std::floor(d))
        fail(field, "must be an integer, got " + v.dump());
    if (d < floor || d > max_window) {
        fail(field,
             "must be between " + std::to_string(floor) + " and " + std::to_string(max_window) + ", got " +
                 v.dump(),
             "the indicator's window floor is " + std::to_string(floor));
    }
    return static_cast<int>(d);
}

// Drops repeated values, keeping the first of each (the grid's order is the tie-break order).
template <typename T>
void dedupe(std::vector<T>& values) {
    std::set<T> seen;
    std::vector<T> out;
    for (const T& v : values) {
        if (seen.insert(v).second)
            out.push_back(v);
    }
    values.swap(out);
}

// One axis: a number, a list, or an inclusive {min, max, step} range.
template <typename T, typename Read>
std::vector<T> parse_axis(const Json& v, const std::string& field, Read read) {
    std::vector<T> out;
    if (v.is_array()) {
        if (v.empty())
            fail(field, "must not be an empty list");
        if (v.size() > max_values_per_axis) {
            throw Error(ErrorCode::limit_exceeded, field,
                        field + ": " + std::to_string(v.size()) + " values is over the limit of " +
                            std::to_string(max_values_per_axis));
        }
        for (std::size_t i = 0; i < v.size(); ++i)
            out.push_back(read(v[i], field + "[" + std::to_string(i) + "]"));
    } else if (v.is_object()) {
        for (const auto& [key, value] : v.items()) {
            if (key != "min" && key != "max" && key != "step")
                fail(field + '.' + key, "unknown field", "min, max, step");
        }
        for (const char* key : {"min", "max", "step"}) {
            if (!v.contains(key))
                fail(field + "." + key, "is required", R"(a range is {"min", "max", "step"})");
        }
        const double lo = number(v["min"], field + ".min");
        const double hi = number(v["max"], field + ".max");
        const double step = number(v["step"], field + ".step");
        if (step <= 0.0)
            fail(field + ".step", "must be greater than 0, got " + v["step"].dump());
        if (hi < lo)
            fail(field + ".max", "must be at least min (" + v["min"].dump() + "), got " + v["max"].dump());
        // Inclusive of max even when (max-min)/step is 10.999999999 in floating point.
        const double steps = std::floor((hi - lo) / step + 1e-9);
        if (!(steps + 1 <= static_cast<double>(max_values_per_axis))) {  // also inf and NaN
            char big[32];
            std::snprintf(big, sizeof big, "%.3g", steps + 1);
            const std::string count = steps + 1 < 1e15 ? std::to_string(static_cast<long long>(steps + 1))
                                      : std::isfinite(steps) ? std::string(big)
                                                             : std::string("more than 1e+308");
            throw Error(ErrorCode::limit_exceeded, field,
                        field + ": the range has " + count + " values, over the limit of " +
                            std::to_string(max_values_per_axis));
        }
        for (long long i = 0; i <= static_cast<long long>(steps); ++i) {
            out.push_back(read(Json(snap(lo + static_cast<double>(i) * step)), field));
        }
    } else {
        out.push_back(read(v, field));
    }
    dedupe(out);
    return out;
}

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

Json metrics_or_null(const Metrics& m) {
    return metrics_json(m);
}

Json cell_json(const StrategyConfig& cfg, const CellResult& c, bool with_config) {
    Json subs = Json::array();
    StrategyConfig best = cfg;
    for (std::size_t j = 0; j < cfg.substrategies.size(); ++j) {
        subs.push_back(
            Json{{"id", cfg.substrategies[j].id}, {"window", c.window[j]}, {"signal", c.signal[j]}});
        best.substrategies[j].window = c.window[j];
        best.substrategies[j].signal = c.signal[j];
    }
    Json out{{"substrategies", subs},
             {"metrics", metrics_or_null(c.summary.metrics)},
             {"last_position", json_number(c.summary.last_position)},
             {"position_changes", c.summary.position_changes}};
    if (with_config) {
        best.name = default_strategy_name(best);
        best.strategy_id.clear();
        out["config"] = to_json(best);
        out["buy_hold_metrics"] = metrics_or_null(c.summary.buy_hold);
    }
    return out;
}

// Helper threads never take a signal: the process's handlers (Postgres' among them) run on the
// thread that started the work.
void block_signals_in_this_thread() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

StrategyConfig with_cell(const StrategyConfig& cfg, const CellResult& c) {
    StrategyConfig out = cfg;
    for (std::size_t j = 0; j < cfg.substrategies.size(); ++j) {
        out.substrategies[j].window = c.window[j];
        out.substrategies[j].signal = c.signal[j];
    }
    return out;
}

BarSeries slice(const BarSeries& b, std::size_t from, std::size_t to) {
    const std::size_t len = to - from;
    return {b.ts.subspan(from, len),  b.open.subspan(from, len),  b.high.subspan(from, len),
            b.low.subspan(from, len), b.close.subspan(from, len), b.volume.subspan(from, len)};
}

}  // namespace

std::size_t ParamGrid::size() const {
    std::size_t n = 1;
    for (std::size_t j = 0; j < windows.size(); ++j)
        n *= windows[j].size() * signals[j].size();
    return n;
}

ParamGrid parse_grid(const Json& grid, const StrategyConfig& cfg) {
    const std::size_t k = cfg.substrategies.size();
    std::vector<const Json*> entries(k, nullptr);
    if (grid.is_array()) {
        if (grid.size() != k) {
            fail("grid", "must have one entry per substrategy (" + std::to_string(k) + "), got " +
                             std::to_string(grid.size()));
        }
        for (std::size_t j = 0; j < k; ++j)
            entries[j] = &grid[j];
    } else if (grid.is_object()) {
        for (const auto& [key, value] : grid.items()) {
            bool found = false;
            for (std::size_t j = 0; j < k; ++j) {
                if (key == std::to_string(cfg.substrategies[j].id)) {
                    entries[j] = &value;
                    found = true;
                }
            }
            if (!found) {
                std::string ids;
                for (const auto& s : cfg.substrategies)
                    ids += (ids.empty() ? "" : ", ") + std::to_string(s.id);
                fail("grid." + key, "no substrategy has this id", "substrategy ids: " + ids);
            }
        }
    } else {
        fail("grid", "must be an array (one entry per substrategy) or an object keyed by substrategy id");
    }

    ParamGrid out;
    double cells = 1.0;
    for (std::size_t j = 0; j < k; ++j) {
        const auto& sub = cfg.substrategies[j];
        const std::string at =
            grid.is_array() ? "grid[" + std::to_string(j) + "]" : "grid." + std::to_string(sub.id);
        const Json empty = Json::object();
        const Json& e = entries[j] != nullptr ? *entries[j] : empty;
        if (!e.is_object())
            fail(at, R"(must be an object with "window" and/or "signal")");
        for (const auto& [key, value] : e.items()) {
            if (key != "window" && key != "signal")
                fail(at + '.' + key, "unknown field", "window, signal");
        }
        const int floor = sub.indicator->window_floor;
        out.windows.push_back(e.contains("window")
                                  ? parse_axis<int>(e["window"], at + ".window",
                                                    [floor](const Json& v, const std::string& f) {
                                                        return window_value(v, f, floor);
                                                    })
                                  : std::vector<int>{sub.window});
        out.signals.push_back(e.contains("signal") ? parse_axis<double>(e["signal"], at + ".signal", number)
                                                   : std::vector<double>{sub.signal});
        cells *= static_cast<double>(out.windows.back().size() * out.signals.back().size());
    }
    if (cells > static_cast<double>(max_grid_cells)) {
        throw Error(ErrorCode::limit_exceeded, "grid",
                    "grid: " + std::to_string(static_cast<long long>(cells)) +
                        " cells is over the limit of " + std::to_string(max_grid_cells),
                    "search fewer windows or signals, or split the search");
    }
    return out;
}

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

OptimizeResult optimize(const StrategyConfig& cfg, const ParamGrid& grid, const BarSeries& bars,
                        const OptimizeOptions& options) {
    const std::size_t k = cfg.substrategies.size();
    const std::size_t n = bars.size();
    const std::size_t cells = grid.size();
    if (options.keep_cells && cells > 100'000) {
        throw Error(
            ErrorCode::limit_exceeded, "include_cells",
            "include_cells: " + std::to_string(cells) + " cells is over the limit of 100000 for listing",
            "ask for the top cells instead (top_n)");
    }
    // Every window must be computable on these bars: the largest one per substrategy decides.
    {
        StrategyConfig widest = cfg;
        for (std::size_t j = 0; j < k; ++j) {
            widest.substrategies[j].window =
                *std::max_element(grid.windows[j].begin(), grid.windows[j].end());
        }
        check_bars_for(widest, bars);
    }
    // Each indicator once per (substrategy, window); its positions once per signal threshold,
    // kept as one byte a bar and shared by every cell that uses them.
    double bytes = 0;
    for (std::size_t j = 0; j < k; ++j) {
        bytes += static_cast<double>(grid.windows[j].size() * grid.signals[j].size() * n);
    }
    if (bytes > 1024.0 * 1024 * 1024) {
        throw Error(ErrorCode::limit_exceeded, "grid",
                    "grid: the position series of this search need " +
                        std::to_string(static_cast<long long>(bytes / (1024 * 1024))) +
                        " MiB, over the limit of 1024 MiB",
                    "search fewer windows or signals, or a shorter date range");
    }
    // codes[j][wi * S_j + si]: substrategy j's positions at window wi and signal si. With one
    // substrategy they are made per window inside the search instead (one window's positions stay
    // in cache while its cells are scored).
    std::vector<std::vector<std::vector<PositionCode>>> codes(k);
    if (k > 1) {
        std::vector<double> indicator(n);
        for (std::size_t j = 0; j < k; ++j) {
            SubStrategy sub = cfg.substrategies[j];
            for (int w : grid.windows[j]) {
                sub.window = w;
                sub.indicator->compute(bars, sub.data_column, w, indicator);
                for (double sig : grid.signals[j]) {
                    sub.signal = sig;
                    codes[j].emplace_back(n);
                    signal_codes(sub, indicator, codes[j].back());
                }
                check_for_interrupts();
            }
        }
    }

    const std::vector<double> change = price_changes(bars.close);

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
        std::vector<CellResult> local_top;
        std::size_t local_valid = 0, local_evaluated = 0;
        std::array<const PositionCode*, max_substrategies> columns{};
        std::vector<double> window_indicator(k == 1 ? n : 0);
        std::vector<std::vector<PositionCode>> window_codes(k == 1 ? grid.signals[0].size() : 0,
                                                            std::vector<PositionCode>(n));
        std::array<std::size_t, max_substrategies> wi{}, si{};
        std::array<std::vector<PositionCode>, max_score_lanes> decided;
        if (k > 1) {
            for (auto& d : decided)
                d.resize(n);
        }
        std::array<PositionCode, max_substrategies> bar{};
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
            if (k == 1) {  // this chunk's window: its indicator once, its positions per threshold
                SubStrategy sub = cfg.substrategies[0];
                sub.window = grid.windows[0][begin / chunk];
                sub.indicator->compute(bars, sub.data_column, sub.window, window_indicator);
                for (std::size_t i = 0; i < chunk; ++i) {
                    sub.signal = grid.signals[0][i];
                    signal_codes(sub, window_indicator, window_codes[i]);
                }
            }
            // Cells in groups of max_score_lanes, scored side by side when they share their
            // first defined bar and widest window (neighbours in grid order usually do).
            for (std::size_t g = begin; g < end; g += max_score_lanes) {
                const std::size_t lanes = std::min(max_score_lanes, end - g);
                std::array<std::span<const PositionCode>, max_score_lanes> combined{};
                std::array<int, max_score_lanes> widest{};
                std::array<std::array<std::size_t, max_substrategies>, max_score_lanes> lane_wi{}, lane_si{};
                for (std::size_t l = 0; l < lanes; ++l) {
                    // Grid order: substrategy 0 most significant; window before signal.
                    std::size_t rest = g + l;
                    for (std::size_t j = k; j-- > 0;) {
                        si[j] = rest % grid.signals[j].size();
                        rest /= grid.signals[j].size();
                        wi[j] = rest % grid.windows[j].size();
                        rest /= grid.windows[j].size();
                    }
                    lane_wi[l] = wi;
                    lane_si[l] = si;
                    widest[l] = 0;
                    for (std::size_t j = 0; j < k; ++j) {
                        columns[j] = k == 1 ? window_codes[si[0]].data()
                                            : codes[j][wi[j] * grid.signals[j].size() + si[j]].data();
                        widest[l] = std::max(widest[l], grid.windows[j][wi[j]]);
                    }
                    combined[l] = std::span<const PositionCode>(columns[0], n);
                    if (k > 1) {
                        auto& buffer = decided[l];
                        for (std::size_t t = 0; t < n; ++t) {
                            for (std::size_t j = 0; j < k; ++j)
                                bar[j] = columns[j][t];
                            buffer[t] = combine_codes(cfg.conjunction, bar.data(), k);
                        }
                        combined[l] = buffer;
                    }
                }
                ScoreInput in;
                in.price = bars.close;
                in.change = change;
                in.fill_delay_bars = cfg.fill_delay_bars;
                in.trading_period = cfg.trading_period;
                in.fee_bps = options.fee_bps;
                in.score_buy_hold = options.keep_cells;
                std::array<BacktestSummary, max_score_lanes> scored{};
                bool side_by_side =
                    !options.keep_cells && lanes > 1 &&
                    std::all_of(widest.begin(), widest.begin() + static_cast<std::ptrdiff_t>(lanes),
                                [&](int w) { return w == widest[0]; });
                if (side_by_side) {
                    in.first_scored = static_cast<std::size_t>(widest[0]);
                    side_by_side = score_lanes(
                        std::span<const std::span<const PositionCode>>(combined.data(), lanes), in, scored);
                }
                for (std::size_t l = 0; l < lanes; ++l) {
                    const std::size_t c = g + l;
                    CellResult cell;
                    cell.index = c;
                    if (side_by_side) {
                        cell.summary = scored[l];
                    } else {
                        in.decided = combined[l];
                        in.first_scored = static_cast<std::size_t>(widest[l]);
                        cell.summary = score_positions(in);
                    }
                    cell.summary.first_ts = bars.ts.empty() ? 0 : bars.ts.front();
                    cell.summary.last_ts = bars.ts.empty() ? 0 : bars.ts.back();
                    ++local_evaluated;
                    const bool ok = !std::isnan(objective_value(cell.summary.metrics, options.objective));
                    if (ok || options.keep_cells) {
                        for (std::size_t j = 0; j < k; ++j) {
                            cell.window.push_back(grid.windows[j][lane_wi[l][j]]);
                            cell.signal.push_back(grid.signals[j][lane_si[l][j]]);
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

Json optimize_json(const StrategyConfig& cfg, const OptimizeResult& r, const OptimizeOptions& options) {
    Json top = Json::array();
    for (const auto& c : r.top)
        top.push_back(cell_json(cfg, c, false));
    Json out{{"search", "exhaustive"},
             {"objective", objective_name(r.objective)},
             {"objective_direction", objective_minimised(r.objective) ? "min" : "max"},
             {"grid_size", r.grid_size},
             {"evaluated", r.evaluated},
             {"valid", r.valid},
             {"fee_bps", options.fee_bps},
             {"ticker", cfg.ticker},
             {"best", r.best ? cell_json(cfg, *r.best, true) : Json(nullptr)},
             {"top", top}};
    if (r.best) {
        out["data_range"] = Json{{"start", format_date(r.best->summary.first_ts)},
                                 {"end", format_date(r.best->summary.last_ts)}};
        out["bars"] = r.best->summary.bars;
    }
    if (options.keep_cells) {
        Json cells = Json::array();
        for (const auto& c : r.cells)
            cells.push_back(cell_json(cfg, c, false));
        out["cells"] = std::move(cells);
    }
    return out;
}

Warmup parse_warmup(std::string_view name) {
    if (name == "restart")
        return Warmup::restart;
    if (name == "full")
        return Warmup::full;
    throw Error(
        ErrorCode::invalid_argument, "warmup", "warmup: unknown mode \"" + std::string(name) + "\"",
        "restart (indicators restart on each slice, as the original) or full (indicators over the whole "
        "series, scored from the split on)");
}

Json walk_forward(const StrategyConfig& cfg, const ParamGrid& grid, const BarSeries& bars,
                  const WalkForwardOptions& options) {
    if (!std::isfinite(options.split_ratio) || options.split_ratio <= 0.0 || options.split_ratio >= 1.0) {
        throw Error(ErrorCode::invalid_argument, "split_ratio",
                    "split_ratio: must be strictly between 0 and 1",
                    "0.5 splits the bars in half: in-sample before, out-of-sample from there on");
    }
    const std::size_t n = bars.size();
    if (n == 0) {
        throw Error(ErrorCode::no_data, "ticker", "ticker \"" + cfg.ticker + "\" has no bars",
                    "load bars into md.bar (quant.load_bars_csv) or check the ticker and the date range");
    }
    const auto split = static_cast<std::size_t>(std::floor(static_cast<double>(n) * options.split_ratio));
    const BarSeries in_sample = slice(bars, 0, split);
    const BarSeries out_sample = options.warmup == Warmup::restart ? slice(bars, split, n) : bars;

    const auto in_range = [&](const BarSeries& part, const char* which) {
        StrategyConfig widest = cfg;
        for (std::size_t j = 0; j < cfg.substrategies.size(); ++j) {
            widest.substrategies[j].window =
                *std::max_element(grid.windows[j].begin(), grid.windows[j].end());
        }
        try {
            check_bars_for(widest, part);
        } catch (const Error& e) {
            throw Error(e.code(), "split_ratio",
                        std::string("split_ratio: the ") + which + " slice is too short: " + e.what(),
                        "move the split or use a longer date range");
        }
    };
    in_range(in_sample, "in-sample");
    if (options.warmup == Warmup::restart)
        in_range(out_sample, "out-of-sample");

    OptimizeOptions opt;
    opt.fee_bps = options.fee_bps;
    opt.objective = Objective::sharpe_ratio;
    opt.top_n = 1;
    opt.threads = options.threads;
    opt.progress = options.progress;
    const OptimizeResult is = optimize(cfg, grid, in_sample, opt);

    Json out{{"search", "exhaustive"},
             {"grid_size", is.grid_size},
             {"evaluated", is.evaluated},
             {"valid", is.valid},
             {"split_ratio", options.split_ratio},
             {"split_index", split},
             {"split_at", format_timestamp(bars.ts.empty() ? 0 : bars.ts[split])},
             {"warmup", options.warmup == Warmup::restart ? "restart" : "full"},
             {"fee_bps", options.fee_bps}};
    if (!is.best) {
        for (const char* key :
             {"best_window", "best_signal", "is_sharpe", "oos_sharpe", "overfitting_ratio"}) {
            out[key] = nullptr;
        }
        out["best"] = nullptr;
        return out;
    }
    const CellResult& best = *is.best;
    const StrategyConfig best_cfg = with_cell(cfg, best);
    Metrics oos, oos_bh;
    std::size_t oos_bars = 0;
    if (options.warmup == Warmup::restart) {
        const auto s = run_backtest(best_cfg, out_sample, options.fee_bps);
        oos = s.metrics;
        oos_bh = s.buy_hold;
        oos_bars = s.bars;
    } else {
        BacktestSeries series;
        run_backtest(best_cfg, bars, options.fee_bps, &series);
        const auto tail = [&](const std::vector<double>& v) {
            return std::span<const double>(v).subspan(split);
        };
        oos = compute_metrics(tail(series.pnl), 0, cfg.trading_period);
        oos_bh = compute_metrics(tail(series.buy_hold_pnl), 0, cfg.trading_period);
        oos_bars = n - split;
    }
    const double is_sharpe = best.summary.metrics.sharpe_ratio;
    const double ratio =
        (std::isnan(is_sharpe) || is_sharpe == 0.0) ? nan : 1.0 - oos.sharpe_ratio / is_sharpe;
    out["best_window"] = best.window.front();
    out["best_signal"] = best.signal.front();
    out["is_sharpe"] = json_number(is_sharpe);
    out["oos_sharpe"] = json_number(oos.sharpe_ratio);
    out["overfitting_ratio"] = json_number(ratio);
    out["best"] = cell_json(cfg, best, true);
    out["in_sample"] = Json{
        {"metrics", metrics_json(best.summary.metrics)},
        {"buy_hold_metrics", metrics_json(best.summary.buy_hold)},
        {"bars", split},
        {"data_range", {{"start", format_date(bars.ts.front())}, {"end", format_date(bars.ts[split - 1])}}}};
    out["out_of_sample"] =
        Json{{"metrics", metrics_json(oos)},
             {"buy_hold_metrics", metrics_json(oos_bh)},
             {"bars", oos_bars},
             {"data_range", {{"start", format_date(bars.ts[split])}, {"end", format_date(bars.ts.back())}}}};
    return out;
}

}  // namespace quant
