-- quant.backtest(config jsonb, fee_bps float8, from_ts timestamptz, to_ts timestamptz) -> jsonb
-- types_check, no_crash (the bad-input table), edge_cases. Needs the sample bars of TTRC (5550)
-- and MSFT (249) loaded by scripts/test-in-cluster.sh.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(213);
\ir ../helpers.psql

-- ---- helpers (pg_temp, rolled back) -------------------------------------------------------
-- The same config with patch merged into substrategies[0].
CREATE FUNCTION pg_temp.sub(patch jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_set(pg_temp.cfg(), '{substrategies,0}', (pg_temp.cfg()->'substrategies'->0) || patch) $$;

-- ---- types_check -----------------------------------------------------------------------------------
SELECT has_function('quant', 'backtest',
  ARRAY['jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone'],
  'quant.backtest(jsonb, float8, timestamptz, timestamptz) exists');
SELECT function_returns('quant', 'backtest',
  ARRAY['jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone'], 'jsonb',
  'quant.backtest returns jsonb');
SELECT volatility_is('quant', 'backtest',
  ARRAY['jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone'], 'stable',
  'quant.backtest is STABLE');
SELECT isnt_strict('quant', 'backtest',
  ARRAY['jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone'],
  'quant.backtest is not STRICT (a NULL argument is a 22004 error)');
SELECT cmp_ok(length(obj_description('quant.backtest(jsonb, float8, timestamptz, timestamptz)'::regprocedure,
  'pg_proc')), '>', 20, 'quant.backtest has a COMMENT');
SELECT is((SELECT pg_get_function_arguments('quant.backtest(jsonb, float8, timestamptz, timestamptz)'::regprocedure)),
  'config jsonb, fee_bps double precision DEFAULT 5.0, from_ts timestamp with time zone DEFAULT NULL::timestamp with time zone, to_ts timestamp with time zone DEFAULT NULL::timestamp with time zone',
  'quant.backtest argument names and defaults');

-- ---- no_crash: the bad-input table (49 rows x 4 = 196) -----------------------------------------
SELECT t.r FROM (VALUES
 (1, $q$SELECT quant.backtest(pg_temp.sub('{"indicator":"get_foo"}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.indicator: .*get_foo', 'substrategies[0].indicator', 'unknown indicator'),
 (2, $q$SELECT quant.backtest(pg_temp.sub('{"signal_func":"foo_signal"}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.signal_func: .*foo_signal', 'substrategies[0].signal_func', 'unknown signal_func'),
 (3, $q$SELECT quant.backtest(pg_temp.sub('{"data_column":"adj_close"}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.data_column: .*adj_close', 'substrategies[0].data_column', 'unknown data_column'),
 (4, $q$SELECT quant.backtest(pg_temp.cfg('{"conjunction":"XOR"}'))$q$, '22023',
     '^quant\.backtest: conjunction: .*XOR', 'conjunction', 'unknown conjunction'),
 (5, $q$SELECT quant.backtest(pg_temp.sub('{"window":0}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.window: ', 'substrategies[0].window', 'window 0'),
 (6, $q$SELECT quant.backtest(pg_temp.sub('{"window":-5}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.window: ', 'substrategies[0].window', 'window -5'),
 (7, $q$SELECT quant.backtest(pg_temp.sub('{"window":"20"}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.window: .*string', 'substrategies[0].window', 'window "20" (a string)'),
 (8, $q$SELECT quant.backtest(pg_temp.sub('{"window":1.5}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.window: .*integer', 'substrategies[0].window', 'window 1.5'),
 (9, $q$SELECT quant.backtest(pg_temp.sub('{"window":6000}'))$q$, 'QA002',
     '^quant\.backtest: substrategies\[0\]\.window: .*6000', 'substrategies[0].window', 'window 6000 > 5550 bars'),
 (10, $q$SELECT quant.backtest(pg_temp.sub('{"window":true}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.window: ', 'substrategies[0].window', 'window true'),
 (11, $q$SELECT quant.backtest(pg_temp.sub('{"window":3000000000}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.window: ', 'substrategies[0].window', 'window 3e9 (over int32)'),
 -- jsonb accepts 1e400 (numeric); the engine's parser names the field it overflows in.
 (12, $q$SELECT quant.backtest(pg_temp.sub('{"window":1e400}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.window: ', 'substrategies[0].window', 'window 1e400'),
 (13, $q$SELECT quant.backtest(pg_temp.sub('{"signal":"0.5"}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.signal: .*string', 'substrategies[0].signal', 'signal "0.5" (a string)'),
 -- jsonb accepts 1e400 (numeric); it is not a finite double.
 (14, $q$SELECT quant.backtest(pg_temp.sub('{"signal":1e400}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.signal: ', 'substrategies[0].signal', 'signal 1e400 (infinite as a double)'),
 (15, $q$SELECT quant.backtest(pg_temp.sub('{"signal":-1e400}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.signal: ', 'substrategies[0].signal', 'signal -1e400'),
 (16, $q$SELECT quant.backtest(pg_temp.sub('{"signal":"NaN"}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.signal: ', 'substrategies[0].signal', 'signal "NaN"'),
 (17, $q$SELECT quant.backtest(pg_temp.sub('{"signal":"Infinity"}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.signal: ', 'substrategies[0].signal', 'signal "Infinity"'),
 (18, $q$SELECT quant.backtest(pg_temp.sub('{"signal":null}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.signal: ', 'substrategies[0].signal', 'signal null'),
 (19, $q$SELECT quant.backtest(pg_temp.cfg('{"substrategies":[]}'))$q$, '22023',
     '^quant\.backtest: substrategies: ', 'substrategies', 'no substrategies ([])'),
 (20, $q$SELECT quant.backtest(pg_temp.cfg() - 'substrategies')$q$, '22023',
     '^quant\.backtest: substrategies: .*required', 'substrategies', 'missing substrategies'),
 (21, $q$SELECT quant.backtest(pg_temp.cfg('{"substrategies":{"indicator":"get_sma"}}'))$q$, '22023',
     '^quant\.backtest: substrategies: .*array', 'substrategies', 'substrategies an object'),
 (22, $q$SELECT quant.backtest(pg_temp.cfg('{"substrategies":[1]}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]: .*object', 'substrategies[0]', 'substrategies[0] a number'),
 (23, $q$SELECT quant.backtest(jsonb_set(pg_temp.cfg(), '{substrategies}',
          (SELECT jsonb_agg(pg_temp.cfg()->'substrategies'->0) FROM generate_series(1, 17))))$q$, '22023',
     '^quant\.backtest: substrategies: .*17', 'substrategies', '17 substrategies (limit 16)'),
 (24, $q$SELECT quant.backtest(jsonb_set(pg_temp.cfg(), '{substrategies,0}', (pg_temp.cfg()->'substrategies'->0) - 'indicator'))$q$,
     '22023', '^quant\.backtest: substrategies\[0\]\.indicator: .*required', 'substrategies[0].indicator', 'missing indicator'),
 (25, $q$SELECT quant.backtest(pg_temp.sub('{"bogus":1}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.bogus: ', 'substrategies[0].bogus', 'unknown substrategy field'),
 (26, $q$SELECT quant.backtest(pg_temp.cfg() - 'ticker')$q$, '22023',
     '^quant\.backtest: ticker: .*required', 'ticker', 'missing ticker'),
 (27, $q$SELECT quant.backtest(pg_temp.cfg('{"ticker":""}'))$q$, '22023',
     '^quant\.backtest: ticker: ', 'ticker', 'empty ticker'),
 (28, $q$SELECT quant.backtest(pg_temp.cfg('{"ticker":42}'))$q$, '22023',
     '^quant\.backtest: ticker: ', 'ticker', 'ticker a number'),
 (29, $q$SELECT quant.backtest(pg_temp.cfg('{"ticker":"NO_SUCH_TICKER"}'))$q$, 'QA001',
     '^quant\.backtest: ticker "NO_SUCH_TICKER"', 'ticker', 'unknown ticker'),
 (30, $q$SELECT quant.backtest(pg_temp.cfg(), 5, '1900-01-01', '1901-01-01')$q$, 'QA001',
     '^quant\.backtest: ticker "TTRC" has no bars', 'ticker', 'ticker without bars in [from_ts, to_ts]'),
 (31, $q$SELECT quant.backtest(pg_temp.cfg(), 5, '2005-01-01', '2004-01-01')$q$, 'QA001',
     '^quant\.backtest: ticker "TTRC" has no bars', 'ticker', 'from_ts after to_ts'),
 (32, $q$SELECT quant.backtest(pg_temp.cfg(), 5, '2006-12-15', '2006-12-29')$q$, 'QA002',
     '^quant\.backtest: substrategies\[0\]\.window: ', 'substrategies[0].window', 'window 20 > 10 bars in [from_ts, to_ts]'),
 (33, $q$SELECT quant.backtest(pg_temp.cfg('{"trading_period":0}'))$q$, '22023',
     '^quant\.backtest: trading_period: ', 'trading_period', 'trading_period 0'),
 (34, $q$SELECT quant.backtest(pg_temp.cfg('{"trading_period":-1}'))$q$, '22023',
     '^quant\.backtest: trading_period: ', 'trading_period', 'trading_period -1'),
 (35, $q$SELECT quant.backtest(pg_temp.cfg('{"trading_period":"252"}'))$q$, '22023',
     '^quant\.backtest: trading_period: ', 'trading_period', 'trading_period "252"'),
 (36, $q$SELECT quant.backtest(pg_temp.cfg() - 'trading_period')$q$, '22023',
     '^quant\.backtest: trading_period: .*required', 'trading_period', 'missing trading_period'),
 (37, $q$SELECT quant.backtest(pg_temp.cfg('{"fill_delay_bars":-1}'))$q$, '22023',
     '^quant\.backtest: fill_delay_bars: ', 'fill_delay_bars', 'fill_delay_bars -1'),
 (38, $q$SELECT quant.backtest(pg_temp.cfg('{"bogus":1}'))$q$, '22023',
     '^quant\.backtest: bogus: ', 'bogus', 'unknown top-level field'),
 (39, $q$SELECT quant.backtest('[1, 2]'::jsonb)$q$, '22023',
     '^quant\.backtest: .*object.*array', '', 'config an array'),
 (40, $q$SELECT quant.backtest('"TTRC"'::jsonb)$q$, '22023',
     '^quant\.backtest: .*object.*string', '', 'config a string'),
 (41, $q$SELECT quant.backtest('42'::jsonb)$q$, '22023',
     '^quant\.backtest: .*object.*number', '', 'config a number'),
 (42, $q$SELECT quant.backtest(pg_temp.cfg(jsonb_build_object('description',
          (repeat('[', 5000) || repeat(']', 5000))::jsonb)))$q$, '54000',
     '^quant\.backtest: .*deeper than 64', '', 'document nested 5000 deep'),
 (43, $q$SELECT quant.backtest(pg_temp.cfg(jsonb_build_object('description', repeat('x', 1100000))))$q$, '54000',
     '^quant\.backtest: .*over the limit', '', 'document over 1 MiB'),
 (44, $q$SELECT quant.backtest(NULL)$q$, '22004',
     '^quant\.backtest: config ', 'config', 'config NULL'),
 (45, $q$SELECT quant.backtest(pg_temp.cfg(), NULL)$q$, '22004',
     '^quant\.backtest: fee_bps ', 'fee_bps', 'fee_bps NULL'),
 (46, $q$SELECT quant.backtest(pg_temp.cfg(), -1)$q$, '22023',
     '^quant\.backtest: fee_bps ', 'fee_bps', 'fee_bps negative'),
 (47, $q$SELECT quant.backtest(pg_temp.cfg(), 'NaN'::float8)$q$, '22023',
     '^quant\.backtest: fee_bps ', 'fee_bps', 'fee_bps NaN'),
 (48, $q$SELECT quant.backtest(pg_temp.cfg(), 'Infinity'::float8)$q$, '22023',
     '^quant\.backtest: fee_bps ', 'fee_bps', 'fee_bps Infinity'),
 (49, $q$SELECT quant.backtest(pg_temp.sub('{"data_column":null}'))$q$, '22023',
     '^quant\.backtest: substrategies\[0\]\.data_column: ', 'substrategies[0].data_column', 'data_column null')
) AS c(n, q, state, msg_re, col, descr),
LATERAL pg_temp.bad_input(c.q, c.state, c.msg_re, c.col, c.descr) AS t(r)
ORDER BY c.n;

-- HINTs list the valid values (4)
SELECT matches((pg_temp.err($$SELECT quant.backtest(pg_temp.sub('{"indicator":"get_foo"}'))$$)).hint,
  'get_sma.*get_bollinger_band.*get_stochastic_oscillator', 'unknown indicator: HINT lists the indicators');
SELECT matches((pg_temp.err($$SELECT quant.backtest(pg_temp.sub('{"signal_func":"x"}'))$$)).hint,
  'momentum_band_signal.*reversion_bounded_signal_long_only', 'unknown signal_func: HINT lists the signal functions');
SELECT matches((pg_temp.err($$SELECT quant.backtest(pg_temp.sub('{"data_column":"x"}'))$$)).hint,
  'v, open, high, low, close, volume', 'unknown data_column: HINT lists the data columns');
SELECT matches((pg_temp.err($$SELECT quant.backtest(pg_temp.cfg('{"conjunction":"x"}'))$$)).hint,
  'AND, OR, FILTER', 'unknown conjunction: HINT lists the conjunctions');

-- ---- edge_cases -----------------------------------------------------------------------------------
-- a window equal to the bar count is accepted: defined on the last bar only, nothing scored
SELECT is(quant.backtest(pg_temp.sub('{"window":5550}'))->'metrics'->>'total_return', NULL,
  'window = bar count (5550): accepted, total_return null');
-- from_ts/to_ts bounds are inclusive and reported in data_range and bars
SELECT is(quant.backtest(pg_temp.cfg('{"ticker":"MSFT"}'), 5, '2001-01-02', '2001-03-01')
            #>> '{data_range}', '{"end": "2001-03-01", "start": "2001-01-02"}',
  'from_ts/to_ts inclusive: data_range');
SELECT is((quant.backtest(pg_temp.cfg('{"ticker":"MSFT"}'), 5, '2001-01-02', '2001-03-01')->>'bars')::bigint,
  (SELECT count(*) FROM md.bar WHERE ticker = 'MSFT' AND ts BETWEEN '2001-01-02' AND '2001-03-01'),
  'from_ts/to_ts inclusive: bars = rows of md.bar in the range');
SELECT is(quant.backtest(pg_temp.cfg('{"strategy_id":"6f1c1b9e-4f9a-4c8e-9a5e-2b7f0f3e9d10"}'))->>'strategy_id',
  '6f1c1b9e-4f9a-4c8e-9a5e-2b7f0f3e9d10', 'strategy_id is echoed');
SELECT ok(quant.backtest(pg_temp.cfg()) ?& ARRAY['run_at', 'data_range', 'ticker_backtested', 'fee_bps',
  'metrics', 'buy_hold_metrics', 'bars', 'last_position', 'position_changes'], 'BacktestResults keys');
-- a level average with a band signal gives a warning (also raised as a NOTICE)
SELECT ok(jsonb_array_length(quant.backtest(pg_temp.sub('{"indicator":"get_sma","signal":0}'))->'warnings') >= 1,
  'get_sma + momentum_band_signal: a warning');
-- NaN is JSON null, never the string "NaN"
SELECT ok(position('NaN' IN quant.backtest(pg_temp.sub('{"window":5550}'))::text) = 0,
  'no NaN in the result (null instead)');

SELECT * FROM finish();
ROLLBACK;
