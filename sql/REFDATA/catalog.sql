-- The indicator and signal-function catalog, generated from the registry the engine dispatches
-- on (core/src/indicators/registry.cpp): one source of truth.
CREATE FUNCTION quant.indicator_catalog()
RETURNS TABLE (name text, description text, bounded boolean, price_level boolean, reads_hlc boolean,
               window_floor integer, window_min integer, window_max integer, window_step integer,
               signal_min double precision, signal_max double precision, signal_step double precision)
AS 'MODULE_PATHNAME', 'quant_indicator_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 8;
COMMENT ON FUNCTION quant.indicator_catalog() IS
  'Every indicator the engine knows: bounded (0..100), price_level (in price units), reads_hlc (ignores data_column), the smallest window, and the default grid of windows and signals.';

CREATE FUNCTION quant.signal_func_catalog()
RETURNS TABLE (name text, description text, kind text, long_only boolean, for_bounded boolean)
AS 'MODULE_PATHNAME', 'quant_signal_func_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 8;
COMMENT ON FUNCTION quant.signal_func_catalog() IS
  'Every signal function the engine knows: its rule, whether it is long-only, and whether it is meant for bounded indicators.';

CREATE VIEW refdata.indicator AS SELECT * FROM quant.indicator_catalog();
COMMENT ON VIEW refdata.indicator IS 'The indicator catalog (from the engine''s registry).';
CREATE VIEW refdata.signal_func AS SELECT * FROM quant.signal_func_catalog();
COMMENT ON VIEW refdata.signal_func IS 'The signal-function catalog (from the engine''s registry).';
