-- Grid search and walk-forward: exhaustive, in the engine's own threads (they never touch
-- Postgres; the calling backend reports progress and checks for cancellation between chunks).
CREATE FUNCTION quant.optimize(config jsonb, grid jsonb, fee_bps double precision DEFAULT 5.0,
                               from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                               objective text DEFAULT 'sharpe_ratio', top_n integer DEFAULT 10,
                               include_cells boolean DEFAULT false, threads integer DEFAULT 0)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_optimize'
LANGUAGE C STABLE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION quant.optimize(jsonb, jsonb, double precision, timestamptz, timestamptz, text, integer, boolean, integer) IS
  'Exhaustive grid search. grid: one entry per substrategy (array, or object keyed by id) of {"window": [..] | {"min","max","step"} | n, "signal": same}; ranges include max. Returns search ("exhaustive"), objective, grid_size, evaluated, valid (objective not NaN), best (params, metrics, buy_hold_metrics, a ready Strategy JSON as config), top (top_n distinct cells) and, with include_cells, every cell. max_drawdown is minimised, other objectives maximised; NaN never wins; ties go to the earlier cell in grid order (substrategy 1 first, window before signal, ascending as listed). threads 0 = one per core.';

CREATE FUNCTION quant.walk_forward(config jsonb, grid jsonb, split_ratio double precision DEFAULT 0.5,
                                   fee_bps double precision DEFAULT 5.0,
                                   from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                   warmup text DEFAULT 'restart', threads integer DEFAULT 0)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_walk_forward'
LANGUAGE C STABLE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION quant.walk_forward(jsonb, jsonb, double precision, double precision, timestamptz, timestamptz, text, integer) IS
  'Walk-forward: bars split at floor(N*split_ratio); the grid cell with the best in-sample Sharpe is scored out of sample. Returns the seed''s walk_forward object (best_window, best_signal, is_sharpe, oos_sharpe, overfitting_ratio = 1 - oos/is) plus best, in_sample and out_of_sample metrics. warmup "restart": indicators restart on each slice (the original); "full": indicators over the whole series, out-of-sample scored from the split on.';
