-- The catalogs and rules SQL takes from the core: the refdata tables equal the core's catalogs,
-- the columns naming them are foreign keys, the config schemas, the live-loop rules
-- (stale bar, unrealised loss, risk-limit defaults, position arithmetic) and the SQLSTATEs
-- of the core's errors.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(36);

-- the tables are the core's lists
SELECT set_eq('SELECT * FROM refdata.broker', 'SELECT * FROM quant.broker_catalog()', 'refdata.broker = quant.broker_catalog()');
SELECT set_eq('SELECT market, close_time_utc, timezone, local_close, run_cron, description, whole_shares FROM refdata.market',
              'SELECT * FROM quant.market_catalog()', 'refdata.market = quant.market_catalog()');
SELECT set_eq('SELECT * FROM refdata.schedule', 'SELECT * FROM quant.schedule_catalog()', 'refdata.schedule = quant.schedule_catalog()');
SELECT set_eq('SELECT * FROM refdata.signal_status', 'SELECT * FROM quant.signal_status_catalog()',
              'refdata.signal_status = quant.signal_status_catalog()');
SELECT set_eq('SELECT * FROM refdata.order_status', 'SELECT * FROM quant.order_status_catalog()',
              'refdata.order_status = quant.order_status_catalog()');
SELECT set_eq('SELECT broker FROM refdata.broker', ARRAY['PAPER', 'BYBIT', 'FUTU'], 'brokers PAPER, BYBIT, FUTU');
SELECT set_eq('SELECT market FROM refdata.market', ARRAY['US', 'HK', 'CRYPTO'], 'markets US, HK, CRYPTO');
SELECT set_eq('SELECT status FROM refdata.order_status WHERE terminal', ARRAY['FILLED', 'REJECTED', 'CANCELLED'],
              'terminal order statuses: FILLED, REJECTED, CANCELLED');
SELECT is(refdata.broker_names(), 'PAPER, BYBIT, FUTU', 'broker names in the core''s order');

-- foreign keys instead of CHECK lists
SELECT fk_ok('trade', 'deployment', 'broker', 'refdata', 'broker', 'broker');
SELECT fk_ok('trade', 'deployment', 'market', 'refdata', 'market', 'market');
SELECT fk_ok('trade', 'deployment', 'schedule', 'refdata', 'schedule', 'schedule');
SELECT fk_ok('refdata', 'ticker_mapping', 'broker', 'refdata', 'broker', 'broker');
SELECT fk_ok('refdata', 'ticker_mapping', 'market', 'refdata', 'market', 'market');
SELECT fk_ok('trade', 'signal', 'status', 'refdata', 'signal_status', 'status');
SELECT fk_ok('trade', 'order', 'status', 'refdata', 'order_status', 'status');

-- the config schemas
SELECT is(quant.strategy_config_schema()->>'title', 'StrategyConfig', 'strategy schema');
SELECT ok(quant.strategy_config_schema()->'properties' ? 'fill_delay_bars', 'strategy schema: fill_delay_bars');
SELECT ok(quant.strategy_config_schema()->'properties'->'conjunction'->'examples' ? 'FILTER', 'strategy schema: FILTER');
SELECT is((SELECT count(*) FROM jsonb_object_keys(quant.deployment_config_schema()->'properties'->'risk_limits'->'properties')),
          16::bigint, 'deployment schema: the 16 risk-limit keys (8 checks, 6 breakers, 2 open-order)');

-- the stale-bar rule
SELECT is(quant.max_bar_age_hours('{}', 'daily_close', true), 96::float8, 'default daily_close 96 h');
SELECT is(quant.max_bar_age_hours(NULL, 'hourly', false), 2::float8, 'default hourly 2 h');
SELECT is(quant.max_bar_age_hours('{"max_bar_age_hours": 5}', 'hourly', false), 5::float8, 'given: 5 h');
SELECT is(quant.max_bar_age_hours('{"max_bar_age_hours": null}', 'daily_close', true), NULL, 'null, paper: off');
SELECT is(quant.max_bar_age_hours('{"max_bar_age_hours": null}', 'daily_close', false), 96::float8,
          'null, live: the default (fail closed)');
SELECT throws_ok($$SELECT quant.max_bar_age_hours('{}', 'weekly', true)$$, 'QA003', NULL, 'unknown schedule: QA003');
SELECT ok(quant.bar_is_stale('2026-01-01 00:00+00', '2026-01-05 00:00:01+00', 96), '96 h and a second: stale');
SELECT ok(NOT quant.bar_is_stale('2026-01-01 00:00+00', '2026-01-05 00:00+00', 96), '96 h exactly: fresh');

-- the unrealised loss and the risk-limit defaults
SELECT is(round(quant.unrealised_loss_pct(10, 50, 45)::numeric, 6), 10::numeric, 'a long loses 10 % when 50 -> 45');
SELECT is(round(quant.unrealised_loss_pct(-10, 50, 55)::numeric, 6), 10::numeric, 'a short loses 10 % when 50 -> 55');
SELECT is(quant.unrealised_loss_pct(0, 50, 45), NULL, 'flat: no loss');
SELECT is(quant.risk_limits('{}')->>'stop_loss_pct', '5.0', 'default stop_loss_pct 5');

-- the position arithmetic (as numeric)
SELECT results_eq($$SELECT new_qty, new_avg_price, realized FROM quant.position_after(NULL, NULL, 10, 50)$$,
                  $$VALUES (10::numeric, 50::numeric, 0::numeric)$$, 'position_after: the first fill opens');
SELECT results_eq($$SELECT new_qty, new_avg_price, realized FROM quant.position_after(10, 50, -10, 60)$$,
                  $$VALUES (0::numeric, NULL::numeric, 100::numeric)$$, 'position_after: flat, average NULL');

-- the core's errors by SQLSTATE
SELECT throws_ok($$SELECT quant.backtest('{"ticker":"NO_SUCH","trading_period":252,"substrategies":[{"indicator":"get_sma","signal_func":"momentum_band_signal","window":5,"signal":0}]}')$$,
                 'QA001', NULL, 'no bars: QA001');
SELECT throws_ok($$SELECT quant.backtest('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_sma","signal_func":"momentum_band_signal","window":99999,"signal":0}]}')$$,
                 'QA002', NULL, 'insufficient bars: QA002');

SELECT * FROM finish();
ROLLBACK;
