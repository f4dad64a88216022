-- quant.indicator_catalog(), quant.signal_func_catalog() and the views refdata.indicator,
-- refdata.signal_func: the engine's registry as SQL. Default grids are the original engine's.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(42);
\ir ../helpers.psql

-- ---- types_check ---------------------------------------------------------------------------
SELECT has_function('quant', 'indicator_catalog', '{}'::name[], 'quant.indicator_catalog() exists');
SELECT is(pg_get_function_result('quant.indicator_catalog()'::regprocedure),
  'TABLE(name text, description text, bounded boolean, price_level boolean, reads_hlc boolean, window_floor integer, window_min integer, window_max integer, window_step integer, signal_min double precision, signal_max double precision, signal_step double precision)',
  'quant.indicator_catalog result columns');
SELECT volatility_is('quant', 'indicator_catalog', '{}'::name[], 'immutable', 'quant.indicator_catalog is IMMUTABLE');
SELECT cmp_ok(length(obj_description('quant.indicator_catalog()'::regprocedure, 'pg_proc')), '>', 20,
  'quant.indicator_catalog has a COMMENT');
SELECT has_function('quant', 'signal_func_catalog', '{}'::name[], 'quant.signal_func_catalog() exists');
SELECT is(pg_get_function_result('quant.signal_func_catalog()'::regprocedure),
  'TABLE(name text, description text, kind text, long_only boolean, for_bounded boolean)',
  'quant.signal_func_catalog result columns');
SELECT volatility_is('quant', 'signal_func_catalog', '{}'::name[], 'immutable', 'quant.signal_func_catalog is IMMUTABLE');
SELECT cmp_ok(length(obj_description('quant.signal_func_catalog()'::regprocedure, 'pg_proc')), '>', 20,
  'quant.signal_func_catalog has a COMMENT');
SELECT has_view('refdata', 'indicator', 'view refdata.indicator exists');
SELECT has_view('refdata', 'signal_func', 'view refdata.signal_func exists');
SELECT isnt(obj_description('refdata.indicator'::regclass, 'pg_class'), NULL, 'refdata.indicator has a COMMENT');
SELECT isnt(obj_description('refdata.signal_func'::regclass, 'pg_class'), NULL, 'refdata.signal_func has a COMMENT');
SELECT ok(has_table_privilege('public', 'refdata.indicator', 'SELECT')
      AND has_table_privilege('public', 'refdata.signal_func', 'SELECT'), 'the catalog views are readable by PUBLIC');
SELECT results_eq('SELECT * FROM refdata.indicator', 'SELECT * FROM quant.indicator_catalog()',
  'refdata.indicator = quant.indicator_catalog()');

-- ---- the lists -----------------------------------------------------------------------------------
SELECT set_eq('SELECT name FROM refdata.indicator',
  ARRAY['get_sma', 'get_ema', 'get_rsi', 'get_rsi_wilder', 'get_bollinger_band', 'get_stochastic_oscillator',
        'get_sma_distance', 'get_ema_distance'], 'exactly the 8 indicators');
SELECT set_eq('SELECT name FROM refdata.signal_func',
  ARRAY['momentum_band_signal', 'reversion_band_signal', 'momentum_bounded_signal', 'reversion_bounded_signal',
        'momentum_band_signal_long_only', 'reversion_band_signal_long_only',
        'momentum_bounded_signal_long_only', 'reversion_bounded_signal_long_only'], 'exactly the 8 signal functions');
SELECT is((SELECT count(*) FROM refdata.indicator WHERE description IS NULL OR description = ''), 0::bigint,
  'every indicator has a description');
SELECT is((SELECT count(*) FROM refdata.signal_func WHERE description IS NULL OR description = ''), 0::bigint,
  'every signal function has a description');

-- ---- default ranges of the original engine and properties ----------------------------------
SELECT results_eq($$SELECT window_min, window_max, window_step, signal_min, signal_max, signal_step
                      FROM refdata.indicator WHERE name = 'get_bollinger_band'$$,
  $$VALUES (10, 100, 5, 0.25::float8, 2.5::float8, 0.25::float8)$$, 'get_bollinger_band: window 10..100 step 5, signal 0.25..2.5 step 0.25');
SELECT results_eq($$SELECT window_min, window_max, window_step, signal_min, signal_max, signal_step
                      FROM refdata.indicator WHERE name = 'get_sma'$$,
  $$VALUES (5, 200, 5, 0::float8, 0.10::float8, 0.01::float8)$$, 'get_sma: window 5..200 step 5, signal 0..0.10 step 0.01');
SELECT results_eq($$SELECT window_min, window_max, window_step, signal_min, signal_max, signal_step
                      FROM refdata.indicator WHERE name = 'get_ema'$$,
  $$VALUES (5, 200, 5, 0::float8, 0.10::float8, 0.01::float8)$$, 'get_ema: window 5..200 step 5, signal 0..0.10 step 0.01');
SELECT results_eq($$SELECT window_min, window_max, window_step FROM refdata.indicator WHERE name = 'get_rsi'$$,
  $$VALUES (5, 50, 1)$$, 'get_rsi: window 5..50 step 1');
SELECT results_eq($$SELECT window_min, window_max, window_step FROM refdata.indicator WHERE name = 'get_stochastic_oscillator'$$,
  $$VALUES (5, 50, 5)$$, 'get_stochastic_oscillator: window 5..50 step 5');
SELECT set_eq($$SELECT name FROM refdata.indicator WHERE bounded$$,
  ARRAY['get_rsi', 'get_rsi_wilder', 'get_stochastic_oscillator'], 'the bounded (0..100) indicators');
SELECT set_eq($$SELECT name FROM refdata.indicator WHERE price_level$$, ARRAY['get_sma', 'get_ema'],
  'the price-level indicators');
SELECT set_eq($$SELECT name FROM refdata.indicator WHERE reads_hlc$$, ARRAY['get_stochastic_oscillator'],
  'only the stochastic reads high/low/close');
SELECT is((SELECT count(*) FROM refdata.indicator
            WHERE NOT (window_floor >= 1 AND window_floor <= window_min AND window_min <= window_max AND window_step >= 1
                       AND signal_min <= signal_max AND signal_step > 0)), 0::bigint, 'every grid is well-formed');
SELECT set_eq($$SELECT name FROM refdata.signal_func WHERE long_only$$,
  $$SELECT name || '_long_only' FROM refdata.signal_func WHERE NOT long_only$$, 'a _long_only variant of each of the four');
SELECT set_eq($$SELECT name FROM refdata.signal_func WHERE for_bounded$$,
  $$SELECT name FROM refdata.signal_func WHERE name LIKE '%bounded%'$$, 'for_bounded = the *_bounded_signal ones');

-- ---- one registry: every name is accepted by the engine, and the error hints list the catalog
SELECT is((SELECT string_agg(i.name || ' -> ' || o, '; ') FROM refdata.indicator i,
             pg_temp.outcome(format($$SELECT * FROM quant.indicator_series('TTRC', %L, %s)$$, i.name, i.window_min)) o
            WHERE o <> 'ok'), NULL, 'every catalog indicator is accepted by quant.indicator_series');
SELECT is((SELECT string_agg(i.name || ' -> ' || o, '; ') FROM refdata.indicator i,
             pg_temp.outcome(format($$SELECT * FROM quant.indicator_series('TTRC', %L, %s)$$, i.name, i.window_floor)) o
            WHERE o <> 'ok'), NULL, 'every catalog indicator accepts its window_floor');
SELECT is((SELECT string_agg(i.name || ' -> ' || o, '; ') FROM refdata.indicator i,
             pg_temp.outcome(format($$SELECT * FROM quant.indicator_series('TTRC', %L, %s)$$, i.name, i.window_floor - 1)) o
            WHERE o NOT LIKE 'QA003: %window%'), NULL, 'every catalog indicator refuses window_floor - 1 (QA003)');
SELECT is((SELECT string_agg(i.name || ' -> ' || o, '; ') FROM refdata.indicator i,
             pg_temp.outcome(format($$SELECT quant.backtest(%L::jsonb)$$, jsonb_build_object('ticker', 'TTRC', 'trading_period', 252,
               'substrategies', jsonb_build_array(jsonb_build_object('indicator', i.name,
                 'signal_func', CASE WHEN i.bounded THEN 'momentum_bounded_signal' ELSE 'momentum_band_signal' END,
                 'window', i.window_max, 'signal', i.signal_max))))) o
            WHERE o <> 'ok'), NULL, 'every catalog indicator is accepted by quant.backtest (at window_max, signal_max)');
SELECT is((SELECT string_agg(s.name || ' -> ' || o, '; ') FROM refdata.signal_func s,
             pg_temp.outcome(format($$SELECT quant.backtest(%L::jsonb)$$, jsonb_build_object('ticker', 'MSFT', 'trading_period', 252,
               'substrategies', jsonb_build_array(jsonb_build_object('indicator',
                 CASE WHEN s.for_bounded THEN 'get_rsi' ELSE 'get_bollinger_band' END,
                 'signal_func', s.name, 'window', 14, 'signal', CASE WHEN s.for_bounded THEN 70 ELSE 1 END))))) o
            WHERE o <> 'ok'), NULL, 'every catalog signal function is accepted by quant.backtest');
SELECT is((SELECT string_agg(i.name || ' -> ' || o, '; ') FROM refdata.indicator i,
             pg_temp.outcome(format($$SELECT quant.evaluate_config(%L::jsonb)$$, jsonb_build_object('ticker', 'TTRC', 'trading_period', 252,
               'substrategies', jsonb_build_array(jsonb_build_object('indicator', i.name,
                 'signal_func', CASE WHEN i.bounded THEN 'reversion_bounded_signal' ELSE 'reversion_band_signal' END,
                 'window', i.window_min, 'signal', i.signal_min))))) o
            WHERE o <> 'ok'), NULL, 'every catalog indicator is accepted by quant.evaluate_config');
SELECT is(pg_temp.hint($$SELECT * FROM quant.indicator_series('TTRC', 'get_nothing', 5)$$),
  'valid indicators: ' || (SELECT string_agg(name, ', ') FROM quant.indicator_catalog()),
  'quant.indicator_series: the unknown-indicator HINT lists the catalog');
SELECT is(pg_temp.hint($$SELECT quant.backtest('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"x",
  "signal_func":"momentum_band_signal","window":5,"signal":1}]}')$$),
  'valid indicators: ' || (SELECT string_agg(name, ', ') FROM quant.indicator_catalog()),
  'quant.backtest: the unknown-indicator HINT lists the catalog');
SELECT is(pg_temp.hint($$SELECT quant.backtest('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_sma",
  "signal_func":"x","window":5,"signal":1}]}')$$),
  'valid signal functions: ' || (SELECT string_agg(name, ', ') FROM quant.signal_func_catalog()),
  'quant.backtest: the unknown-signal_func HINT lists the catalog');
SELECT is((SELECT count(*) FROM refdata.indicator i
            WHERE NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                               WHERE n.nspname = 'quant' AND p.proname = CASE i.name WHEN 'get_bollinger_band' THEN 'bollinger'
                                     WHEN 'get_stochastic_oscillator' THEN 'stochastic' ELSE substr(i.name, 5) END)),
  0::bigint, 'every catalog indicator has an array form quant.<name>');
SELECT is((SELECT count(*) FROM quant.indicator_catalog()), 8::bigint, 'quant.indicator_catalog(): 8 rows');
SELECT is((SELECT count(*) FROM quant.signal_func_catalog()), 8::bigint, 'quant.signal_func_catalog(): 8 rows');
SELECT lives_ok('SELECT 1', 'backend alive');

SELECT * FROM finish();
ROLLBACK;
