// The JSON of a grid search and of a walk-forward, and the helpers the search's parts share.
#include <algorithm>
#include <cmath>

#include "optimize_internal.hpp"

namespace quant {

StrategyConfig with_cell(const StrategyConfig& cfg, const CellResult& c) {
    StrategyConfig out = cfg;
    for (std::size_t j = 0; j < cfg.substrategies.size(); ++j) {
        out.substrategies[j].window = c.window[j];
        out.substrategies[j].signal = c.signal[j];
    }
    return out;
}

StrategyConfig widest_config(const StrategyConfig& cfg, const ParamGrid& grid) {
    StrategyConfig widest = cfg;
    for (std::size_t j = 0; j < cfg.substrategies.size(); ++j)
        widest.substrategies[j].window = *std::max_element(grid.windows[j].begin(), grid.windows[j].end());
    return widest;
}

Json cell_json(const StrategyConfig& cfg, const CellResult& c, bool with_config) {
    Json subs = Json::array();
    for (std::size_t j = 0; j < cfg.substrategies.size(); ++j) {
        subs.push_back(
            Json{{"id", cfg.substrategies[j].id}, {"window", c.window[j]}, {"signal", c.signal[j]}});
    }
    Json out{{"substrategies", subs},
             {"metrics", metrics_json(c.summary.metrics)},
             {"last_position", json_number(c.summary.last_position)},
             {"position_changes", c.summary.position_changes}};
    if (with_config) {
        StrategyConfig best = with_cell(cfg, c);
        best.name = default_strategy_name(best);
        best.strategy_id.clear();
        out["config"] = to_json(best);
        out["buy_hold_metrics"] = metrics_json(c.summary.buy_hold);
    }
    return out;
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

Json walk_forward_json(const StrategyConfig& cfg, const WalkForwardResult& r,
                       const WalkForwardOptions& options) {
    const OptimizeResult& is = r.in_sample;
    Json out{{"search", "exhaustive"},
             {"grid_size", is.grid_size},
             {"evaluated", is.evaluated},
             {"valid", is.valid},
             {"split_ratio", options.split_ratio},
             {"split_index", r.split_index},
             {"split_at", format_timestamp(r.split_ts)},
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
    const double is_sharpe = best.summary.metrics.sharpe_ratio;
    out["best_window"] = best.window.front();
    out["best_signal"] = best.signal.front();
    out["is_sharpe"] = json_number(is_sharpe);
    out["oos_sharpe"] = json_number(r.out_of_sample.sharpe_ratio);
    out["overfitting_ratio"] = json_number(r.overfitting_ratio);
    out["best"] = cell_json(cfg, best, true);
    out["in_sample"] =
        Json{{"metrics", metrics_json(best.summary.metrics)},
             {"buy_hold_metrics", metrics_json(best.summary.buy_hold)},
             {"bars", r.split_index},
             {"data_range", {{"start", format_date(r.first_ts)}, {"end", format_date(r.in_sample_last_ts)}}}};
    out["out_of_sample"] =
        Json{{"metrics", metrics_json(r.out_of_sample)},
             {"buy_hold_metrics", metrics_json(r.out_of_sample_buy_hold)},
             {"bars", r.out_of_sample_bars},
             {"data_range", {{"start", format_date(r.split_ts)}, {"end", format_date(r.last_ts)}}}};
    return out;
}

}  // namespace quant
