-- Backtests: a Strategy JSON (seed 1.1) over the bars of its ticker in md.bar.
CREATE FUNCTION quant.backtest(config jsonb, fee_bps double precision DEFAULT 5.0,
                               from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_backtest'
LANGUAGE C STABLE PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION quant.backtest(jsonb, double precision, timestamptz, timestamptz) IS
  'BacktestResults (seed 1.3) of a Strategy JSON over the bars of config->>''ticker'' in [from_ts, to_ts]: run_at, data_range, ticker_backtested, fee_bps, metrics, buy_hold_metrics (NaN as null), bars, last_position, position_changes (units of position traded), warnings.';

CREATE FUNCTION quant.backtest_series(config jsonb, fee_bps double precision DEFAULT 5.0,
                                      from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL)
RETURNS TABLE (ts timestamptz, price double precision, "position" double precision, pnl double precision,
               cumulative double precision, drawdown double precision,
               buy_hold_cumulative double precision, buy_hold_drawdown double precision,
               indicator_values double precision[], substrategy_positions double precision[])
AS 'MODULE_PATHNAME', 'quant_backtest_series'
LANGUAGE C STABLE PARALLEL SAFE COST 1000 ROWS 2500;
COMMENT ON FUNCTION quant.backtest_series(jsonb, double precision, timestamptz, timestamptz) IS
  'The per-bar columns behind quant.backtest: price, held position, pnl, cumulative pnl, drawdown, buy and hold, and per substrategy (array element i = substrategies[i]) its indicator value and position. NULL where undefined.';

CREATE FUNCTION quant.evaluate_config(config jsonb, to_ts timestamptz DEFAULT NULL) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_evaluate_config'
LANGUAGE C STABLE PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION quant.evaluate_config(jsonb, timestamptz) IS
  'The live signal of a Strategy JSON on the latest bar of its ticker (up to to_ts): {ticker, bar_ts, signal (-1, 0, 1; null while the indicators are undefined), conjunction, substrategies: [{id, indicator, signal_func, window, value, position}]}. The same code as quant.backtest: its last_position over the same bars equals signal.';
