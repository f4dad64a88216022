-- Indicators over md.bar and over arrays. Names follow the Strategy JSON (get_sma, ...); the
-- list with floors and default ranges is refdata.indicator.
CREATE FUNCTION quant.indicator_series(
    ticker text, indicator text, "window" integer, data_column text DEFAULT 'v',
    from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL, "interval" text DEFAULT '1d')
RETURNS TABLE (ts timestamptz, value double precision)
AS 'MODULE_PATHNAME', 'quant_indicator_series'
LANGUAGE C STABLE PARALLEL SAFE ROWS 2500;
COMMENT ON FUNCTION quant.indicator_series(text, text, integer, text, timestamptz, timestamptz, text) IS
  'One row per bar of ticker in the bar interval (refdata.bar_interval, 1d by default) in [from_ts, to_ts] (NULL = open; ts = the bar''s open time): the indicator (a name of refdata.indicator) at window over data_column (v = close, open, high, low, close, volume); NULL before it is defined.';

CREATE FUNCTION quant.sma(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_sma_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.sma(double precision[], integer) IS
  'Simple moving average of x over window; NULL where undefined (the first window-1).';

CREATE FUNCTION quant.ema(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_ema_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.ema(double precision[], integer) IS
  'Exponential moving average, alpha = 2/(window+1), seeded with the first value.';

CREATE FUNCTION quant.rsi(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_rsi_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.rsi(double precision[], integer) IS
  'Cutler''s RSI (simple means of gains and losses over window deltas), 0..100; NULL for the first window values.';

CREATE FUNCTION quant.rsi_wilder(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_rsi_wilder_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.rsi_wilder(double precision[], integer) IS
  'Wilder''s RSI (smoothed means), 0..100; NULL for the first window values.';

CREATE FUNCTION quant.bollinger(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_bollinger_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.bollinger(double precision[], integer) IS
  'Bollinger z-score: (x - SMA) / sample standard deviation over window; NULL where undefined.';

CREATE FUNCTION quant.sma_distance(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_sma_distance_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.sma_distance(double precision[], integer) IS 'x / SMA(window) - 1.';

CREATE FUNCTION quant.ema_distance(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_ema_distance_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.ema_distance(double precision[], integer) IS 'x / EMA(window) - 1.';

CREATE FUNCTION quant.stochastic(high double precision[], low double precision[], close double precision[],
                                 "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_stochastic_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.stochastic(double precision[], double precision[], double precision[], integer) IS
  'Stochastic %D = SMA_window(%K), %K = 100*(close-LL)/(HH-LL) over window; NULL for the first 2*window-2.';
