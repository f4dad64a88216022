// Walk-forward (backtest-semantics.md): the grid searched in sample, its best cell scored out of
// sample.
#include <cmath>
#include <limits>

#include "optimize_internal.hpp"
#include "quant/error.hpp"

namespace quant {

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

WalkForwardResult walk_forward(const StrategyConfig& cfg, const ParamGrid& grid, const StrategyBars& bars,
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
    const StrategyBars in_sample = bars.slice(0, split);
    const StrategyBars out_sample = options.warmup == Warmup::restart ? bars.slice(split, n) : bars;

    const StrategyConfig widest = widest_config(cfg, grid);
    const auto in_range = [&](const StrategyBars& part, const char* which) {
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

    WalkForwardResult r;
    r.in_sample = optimize(cfg, grid, in_sample, opt);
    r.split_index = split;
    const auto ts = bars.trading().ts;
    r.split_ts = ts[split];
    r.first_ts = ts.front();
    r.in_sample_last_ts = ts[split - 1];
    r.last_ts = ts.back();
    if (!r.in_sample.best)
        return r;

    const CellResult& best = *r.in_sample.best;
    const StrategyConfig best_cfg = with_cell(cfg, best);
    if (options.warmup == Warmup::restart) {
        const auto s = run_backtest(best_cfg, out_sample, options.fee_bps);
        r.out_of_sample = s.metrics;
        r.out_of_sample_buy_hold = s.buy_hold;
        r.out_of_sample_bars = s.bars;
    } else {
        BacktestSeries series;
        run_backtest(best_cfg, bars, options.fee_bps, &series);
        const auto tail = [&](const std::vector<double>& v) {
            return std::span<const double>(v).subspan(split);
        };
        r.out_of_sample = compute_metrics(tail(series.pnl), 0, cfg.trading_period);
        r.out_of_sample_buy_hold = compute_metrics(tail(series.buy_hold_pnl), 0, cfg.trading_period);
        r.out_of_sample_bars = n - split;
    }
    const double is_sharpe = best.summary.metrics.sharpe_ratio;
    r.overfitting_ratio = (std::isnan(is_sharpe) || is_sharpe == 0.0)
                              ? std::numeric_limits<double>::quiet_NaN()
                              : 1.0 - r.out_of_sample.sharpe_ratio / is_sharpe;
    return r;
}

}  // namespace quant
