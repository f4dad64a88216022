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

-- The closed lists of core/src/catalog.cpp: brokers, markets (REFDATA/market.sql), schedules, and
-- the statuses of a signal and of an order. Tables, not views, so that the columns naming them
-- are foreign keys; filled here from the core's tables, the one list.
CREATE FUNCTION quant.broker_catalog()
RETURNS TABLE (broker text, trades_live boolean, description text)
AS 'MODULE_PATHNAME', 'quant_broker_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION quant.broker_catalog() IS
  'Every broker the engine knows (core/src/catalog.cpp): trades_live is false for simulation-only brokers (a deployment on them stays paper).';

CREATE FUNCTION quant.market_catalog()
RETURNS TABLE (market text, close_time_utc time, timezone text, local_close time, run_cron text,
               description text, whole_shares boolean)
AS 'MODULE_PATHNAME', 'quant_market_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION quant.market_catalog() IS
  'Every market the engine knows (core/src/catalog.cpp): its daily close in UTC and local time, the pg_cron schedule of its daily_close run, and whether quantities are whole shares.';

CREATE FUNCTION quant.schedule_catalog()
RETURNS TABLE (schedule text, cron boolean, default_max_bar_age_hours double precision, description text)
AS 'MODULE_PATHNAME', 'quant_schedule_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION quant.schedule_catalog() IS
  'Every deployment schedule (core/src/catalog.cpp): whether pg_cron runs it (quant.run_schedule) and its stale-bar limit when risk_limits.max_bar_age_hours is not given.';

CREATE FUNCTION quant.signal_status_catalog()
RETURNS TABLE (status text, terminal boolean, description text)
AS 'MODULE_PATHNAME', 'quant_signal_status_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION quant.signal_status_catalog() IS
  'The statuses of a trade.signal row (core/src/catalog.cpp); a terminal one never changes again.';

CREATE FUNCTION quant.order_status_catalog()
RETURNS TABLE (status text, terminal boolean, description text)
AS 'MODULE_PATHNAME', 'quant_order_status_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 6;
COMMENT ON FUNCTION quant.order_status_catalog() IS
  'The statuses of a trade."order" row (core/src/catalog.cpp); a terminal one never changes again (the broker will not change the order).';

CREATE TABLE refdata.broker (
    broker       text PRIMARY KEY,
    trades_live  boolean NOT NULL,
    description  text NOT NULL
);
COMMENT ON TABLE refdata.broker IS 'The brokers (from the engine''s catalog, quant.broker_catalog()): what trade.deployment.broker and refdata.ticker_mapping.broker name.';
INSERT INTO refdata.broker SELECT * FROM quant.broker_catalog();

CREATE TABLE refdata.schedule (
    schedule                   text PRIMARY KEY,
    cron                       boolean NOT NULL,
    default_max_bar_age_hours  double precision NOT NULL,
    description                text NOT NULL
);
COMMENT ON TABLE refdata.schedule IS 'The deployment schedules (from the engine''s catalog, quant.schedule_catalog()): what trade.deployment.schedule names.';
INSERT INTO refdata.schedule SELECT * FROM quant.schedule_catalog();

CREATE TABLE refdata.signal_status (
    status       text PRIMARY KEY,
    terminal     boolean NOT NULL,
    description  text NOT NULL
);
COMMENT ON TABLE refdata.signal_status IS 'The statuses of a signal (from the engine''s catalog, quant.signal_status_catalog()): what trade.signal.status names.';
INSERT INTO refdata.signal_status SELECT * FROM quant.signal_status_catalog();

CREATE TABLE refdata.order_status (
    status       text PRIMARY KEY,
    terminal     boolean NOT NULL,
    description  text NOT NULL
);
COMMENT ON TABLE refdata.order_status IS 'The statuses of an order (from the engine''s catalog, quant.order_status_catalog()): what trade."order".status names.';
INSERT INTO refdata.order_status SELECT * FROM quant.order_status_catalog();

-- The JSON Schemas of the Strategy and Deployment JSON, built by the core from the key tables its
-- validators use (quant.normalize_strategy, quant.normalize_deployment): OpenAPI embeds the same.
CREATE FUNCTION quant.strategy_config_schema() RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_strategy_config_schema'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.strategy_config_schema() IS
  'The JSON Schema (draft 2020-12) of a StrategyConfig: every key the validator accepts, with types, bounds and the valid names. The validator has the last word (a window''s floor depends on the indicator).';
CREATE FUNCTION quant.deployment_config_schema() RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_deployment_config_schema'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.deployment_config_schema() IS
  'The JSON Schema (draft 2020-12) of a DeploymentConfig, risk_limits included: every key the validator accepts, with types, bounds and the valid names.';

-- "PAPER, BYBIT, FUTU": the valid names for error hints, in the core's order.
CREATE FUNCTION refdata.broker_names() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(c.broker, ', ' ORDER BY c.n)
    FROM quant.broker_catalog() WITH ORDINALITY AS c(broker, trades_live, description, n);
$$;
COMMENT ON FUNCTION refdata.broker_names() IS 'Internal: the broker names for error hints ("PAPER, BYBIT, FUTU"), in the engine''s order.';

CREATE FUNCTION refdata.market_names() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(c.market, ', ' ORDER BY c.n)
    FROM quant.market_catalog() WITH ORDINALITY
         AS c(market, close_time_utc, timezone, local_close, run_cron, description, whole_shares, n);
$$;
COMMENT ON FUNCTION refdata.market_names() IS 'Internal: the market names for error hints ("US, HK, CRYPTO"), in the engine''s order.';
