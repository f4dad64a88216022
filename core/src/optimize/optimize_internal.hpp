// Internal to the grid search: what its parts (grid, search, walk-forward, result JSON) share.
#pragma once
#include "quant/optimize.hpp"

namespace quant {

// cfg with a cell's windows and signals.
StrategyConfig with_cell(const StrategyConfig& cfg, const CellResult& c);
// cfg with each substrategy's largest window of the grid: the bars must carry it.
StrategyConfig widest_config(const StrategyConfig& cfg, const ParamGrid& grid);
// A cell as JSON: its parameters and metrics; with_config adds the full config and buy-and-hold.
Json cell_json(const StrategyConfig& cfg, const CellResult& c, bool with_config);

}  // namespace quant
