-- quant.indicator_series(ticker, indicator, window, data_column, from_ts, to_ts, interval)
--   -> TABLE (ts timestamptz, value float8)
-- types_check, no_crash, edge_cases. Needs the sample bars of TTRC (5550) and MSFT (249).
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(63);
\ir ../helpers.psql

-- the number of rows of q, or its error
CREATE FUNCTION pg_temp.n_rows(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE 'SELECT count(*) FROM (' || q || ') q' INTO n;
  RETURN n::text;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- ---- types_check ---------------------------------------------------------------------------------
SELECT has_function('quant', 'indicator_series',
  ARRAY['text', 'text', 'integer', 'text', 'timestamp with time zone', 'timestamp with time zone', 'text'],
  'quant.indicator_series(text, text, int, text, timestamptz, timestamptz, text) exists');
SELECT function_returns('quant', 'indicator_series',
  ARRAY['text', 'text', 'integer', 'text', 'timestamp with time zone', 'timestamp with time zone', 'text'], 'setof record',
  'quant.indicator_series returns a set');
SELECT is(pg_get_function_result('quant.indicator_series(text, text, integer, text, timestamptz, timestamptz, text)'::regprocedure),
  'TABLE(ts timestamp with time zone, value double precision)', 'quant.indicator_series result columns');
SELECT volatility_is('quant', 'indicator_series',
  ARRAY['text', 'text', 'integer', 'text', 'timestamp with time zone', 'timestamp with time zone', 'text'], 'stable',
  'quant.indicator_series is STABLE (reads md.bar)');
SELECT isnt_strict('quant', 'indicator_series',
  ARRAY['text', 'text', 'integer', 'text', 'timestamp with time zone', 'timestamp with time zone', 'text'],
  'quant.indicator_series is not STRICT (NULL arguments are 22004, NULL bounds are open)');
SELECT cmp_ok(length(obj_description('quant.indicator_series(text, text, integer, text, timestamptz, timestamptz, text)'::regprocedure,
  'pg_proc')), '>', 20, 'quant.indicator_series has a COMMENT');

-- ---- no_crash ---------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM quant.indicator_series(NULL, 'get_sma', 5)$$, '22004', NULL, 'ticker NULL: 22004');
SELECT is(pg_temp.err_col($$SELECT * FROM quant.indicator_series(NULL, 'get_sma', 5)$$), 'ticker', 'ticker NULL: COLUMN NAME');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', NULL, 5)$$, '22004', NULL, 'indicator NULL: 22004');
SELECT is(pg_temp.err_col($$SELECT * FROM quant.indicator_series('TTRC', NULL, 5)$$), 'indicator', 'indicator NULL: COLUMN NAME');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', NULL)$$, '22004', NULL, 'window NULL: 22004');
SELECT is(pg_temp.err_col($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', NULL)$$), 'window', 'window NULL: COLUMN NAME');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 5, NULL)$$, '22004', NULL, 'data_column NULL: 22004');
SELECT is(pg_temp.err_col($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 5, NULL)$$), 'data_column',
  'data_column NULL: COLUMN NAME');
SELECT is((SELECT count(*) FROM quant.indicator_series('TTRC', 'get_sma', 5, 'v', NULL, NULL)), 5550::bigint,
  'from_ts/to_ts NULL: the whole history');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_foo', 5)$$, 'QA003', NULL, 'unknown indicator: QA003');
SELECT throws_matching($$SELECT * FROM quant.indicator_series('TTRC', 'get_foo', 5)$$,
  '^quant\.indicator_series: indicator: .*get_foo', 'unknown indicator: message names the field');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'GET_SMA', 5)$$, 'QA003', NULL,
  'indicator names are case-sensitive: QA003');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 5, 'adj_close')$$, 'QA003', NULL,
  'unknown data_column: QA003');
SELECT throws_matching($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 5, 'adj_close')$$,
  '^quant\.indicator_series: data_column: .*adj_close', 'unknown data_column: message names the field');
SELECT is(pg_temp.err_col($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 5, 'adj_close')$$), 'data_column',
  'unknown data_column: COLUMN NAME');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_stochastic_oscillator', 5, 'adj_close')$$, 'QA003', NULL,
  'unknown data_column is refused even for an indicator that ignores it');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 0)$$, 'QA003', NULL, 'window 0: QA003');
SELECT throws_matching($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 0)$$,
  '^quant\.indicator_series: window: ', 'window 0: message names the field');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', -5)$$, 'QA003', NULL, 'window -5: QA003');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_rsi', 1)$$, 'QA003', NULL, 'get_rsi window 1 (floor 2): QA003');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_bollinger_band', 1)$$, 'QA003', NULL,
  'get_bollinger_band window 1 (floor 2): QA003');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 2147483647)$$, 'QA003', NULL, 'window int max: QA003');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 5551)$$, 'QA002', NULL,
  'window 5551 > 5550 bars: QA002');
SELECT throws_matching($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 5551)$$,
  '^quant\.indicator_series: window: ', 'window > bars: message names the field');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('NO_SUCH_TICKER', 'get_sma', 5)$$, 'QA001', NULL,
  'unknown ticker: QA001');
SELECT throws_matching($$SELECT * FROM quant.indicator_series('NO_SUCH_TICKER', 'get_sma', 5)$$,
  '^quant\.indicator_series: ticker "NO_SUCH_TICKER"', 'unknown ticker: message names the ticker');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('', 'get_sma', 5)$$, NULL, 'empty ticker: an error');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 5, 'v', '1900-01-01', '1900-12-31')$$, 'QA001', NULL,
  'no bars in [from_ts, to_ts]: QA001');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 5, 'v', '2005-01-01', '2004-01-01')$$, 'QA001', NULL,
  'from_ts after to_ts: QA001');
SELECT throws_ok($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 5, 'v', '2005-01-03', '2005-01-05')$$, 'QA002', NULL,
  'window 5 > 3 bars in range: QA002');
SELECT is((SELECT count(*) FROM quant.indicator_series('TTRC', 'get_sma', 5, 'v', '-infinity', NULL)), 5550::bigint,
  'from_ts -infinity: the whole history');
-- to_ts 'infinity' saturates (it once overflowed int64 in extension/src/bars.c).
SELECT is(pg_temp.n_rows($$SELECT * FROM quant.indicator_series('TTRC', 'get_sma', 5, 'v', NULL, 'infinity')$$),
  '5550', 'to_ts infinity: the whole history');
SELECT throws_ok($$SELECT * FROM quant.indicator_series(repeat('x', 100000), 'get_sma', 5)$$, NULL,
  'a 100000-character ticker: a clean error');
SELECT lives_ok('SELECT 1', 'backend still alive after the bad inputs');

-- ---- edge_cases ---------------------------------------------------------------------------------
-- first defined bar per indicator (docs/backtest-semantics.md): count of NULLs at the start
SELECT is((SELECT count(*) - count(value) FROM quant.indicator_series('TTRC', 'get_sma', 20)), 19::bigint,
  'get_sma 20: first 19 NULL');
SELECT is((SELECT count(*) - count(value) FROM quant.indicator_series('TTRC', 'get_ema', 20)), 0::bigint,
  'get_ema 20: defined from the first bar');
SELECT is((SELECT count(*) - count(value) FROM quant.indicator_series('TTRC', 'get_rsi', 14)), 14::bigint,
  'get_rsi 14: first 14 NULL');
SELECT is((SELECT count(*) - count(value) FROM quant.indicator_series('TTRC', 'get_bollinger_band', 20)), 19::bigint,
  'get_bollinger_band 20: first 19 NULL');
SELECT is((SELECT count(*) - count(value) FROM quant.indicator_series('TTRC', 'get_stochastic_oscillator', 14)), 26::bigint,
  'get_stochastic_oscillator 14: first 2n-2 = 26 NULL');
SELECT is((SELECT max(ts) FILTER (WHERE value IS NULL) < min(ts) FILTER (WHERE value IS NOT NULL)
             FROM quant.indicator_series('TTRC', 'get_sma', 20)), true, 'the NULLs come first');
-- window equal to the bar count: defined on the last bar only; that value is the mean of all closes
SELECT is((SELECT count(value) FROM quant.indicator_series('TTRC', 'get_sma', 5550)), 1::bigint,
  'window = bar count: one defined value');
SELECT ok((SELECT abs(value - (SELECT avg(close) FROM md.bar WHERE ticker = 'TTRC')) < 1e-9
             FROM quant.indicator_series('TTRC', 'get_sma', 5550) ORDER BY ts DESC LIMIT 1),
  'window = bar count: SMA on the last bar = mean of all closes');
SELECT is((SELECT count(value) FROM quant.indicator_series('MSFT', 'get_stochastic_oscillator', 125)), 1::bigint,
  'stochastic window 125 on 249 bars: defined on the last bar only');
-- one row per bar, in [from_ts, to_ts] inclusive, in time order
SELECT results_eq($$SELECT ts FROM quant.indicator_series('MSFT', 'get_ema', 5)$$,
  $$SELECT ts FROM md.bar WHERE ticker = 'MSFT' ORDER BY ts$$, 'one row per bar, ordered by ts');
SELECT results_eq($$SELECT ts FROM quant.indicator_series('TTRC', 'get_sma', 5, 'v', '2005-01-03', '2005-01-31')$$,
  $$SELECT ts FROM md.bar WHERE ticker = 'TTRC' AND ts BETWEEN '2005-01-03' AND '2005-01-31' ORDER BY ts$$,
  'from_ts/to_ts inclusive');
SELECT is((SELECT count(*) - count(value) FROM quant.indicator_series('TTRC', 'get_sma', 5, 'v', '2005-01-03', '2005-01-31')),
  4::bigint, 'the indicator restarts at from_ts (first 4 NULL)');
SELECT is((SELECT count(value) FROM quant.indicator_series('TTRC', 'get_sma', 5, 'v', '2005-01-03', '2005-01-07')), 1::bigint,
  'window = bars in range: one value');
-- data_column variants: v and close are the same; each column is the right one (SMA 1 = the column itself)
SELECT results_eq($$SELECT value FROM quant.indicator_series('TTRC', 'get_sma', 10, 'v')$$,
  $$SELECT value FROM quant.indicator_series('TTRC', 'get_sma', 10, 'close')$$, 'data_column v = close');
SELECT results_eq($$SELECT value FROM quant.indicator_series('MSFT', 'get_sma', 1, 'open')$$,
  $$SELECT open FROM md.bar WHERE ticker = 'MSFT' ORDER BY ts$$, 'data_column open');
SELECT results_eq($$SELECT value FROM quant.indicator_series('MSFT', 'get_sma', 1, 'high')$$,
  $$SELECT high FROM md.bar WHERE ticker = 'MSFT' ORDER BY ts$$, 'data_column high');
SELECT results_eq($$SELECT value FROM quant.indicator_series('MSFT', 'get_sma', 1, 'low')$$,
  $$SELECT low FROM md.bar WHERE ticker = 'MSFT' ORDER BY ts$$, 'data_column low');
SELECT results_eq($$SELECT value FROM quant.indicator_series('MSFT', 'get_sma', 1, 'volume')$$,
  $$SELECT volume FROM md.bar WHERE ticker = 'MSFT' ORDER BY ts$$, 'data_column volume');
SELECT results_eq($$SELECT value FROM quant.indicator_series('MSFT', 'get_stochastic_oscillator', 5, 'open')$$,
  $$SELECT value FROM quant.indicator_series('MSFT', 'get_stochastic_oscillator', 5, 'v')$$,
  'get_stochastic_oscillator ignores data_column');
-- NaN-free: every indicator of the catalog, undefined values are NULL, bounded ones in 0..100
SELECT is((SELECT count(*) FROM refdata.indicator i, quant.indicator_series('TTRC', i.name, 14) s
            WHERE s.value = 'NaN' OR s.value IN ('Infinity', '-Infinity')),
  0::bigint, 'no NaN or infinity from any catalog indicator (TTRC, 14)');
SELECT is((SELECT count(*) FROM refdata.indicator i, quant.indicator_series('TTRC', i.name, 14) s
            WHERE i.bounded AND NOT s.value BETWEEN 0 AND 100),
  0::bigint, 'bounded indicators stay in 0..100');
SELECT is((SELECT count(*) FROM refdata.indicator i, quant.indicator_series('TTRC', i.name, i.window_floor) s
            WHERE s.value = 'NaN'), 0::bigint, 'every indicator accepts its window_floor');
SELECT is((SELECT count(*) FROM quant.indicator_series('TTRC', 'get_ema', 1) s JOIN md.bar b
             ON b.ticker = 'TTRC' AND b.ts = s.ts WHERE s.value <> b.close), 0::bigint, 'get_ema 1 = the close');

SELECT * FROM finish();
ROLLBACK;
