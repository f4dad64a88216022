-- quant.load_bars_csv(ticker text, path text, interval text DEFAULT '1d') -> bigint, and the table md.bar.
-- Writes its small CSV files with COPY TO into the server's data directory (superuser), so it
-- needs no file from the repository; everything it loads is rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(43);
\ir ../helpers.psql

CREATE FUNCTION pg_temp.path(name text) RETURNS text LANGUAGE sql AS $$
  SELECT current_setting('data_directory') || '/quant_pgtap_' || name || '.csv' $$;
CREATE FUNCTION pg_temp.write_csv(name text, body text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('COPY (SELECT line FROM unnest(string_to_array(%L, E''\n'')) WITH ORDINALITY AS u(line, n) ORDER BY n)
                  TO %L WITH (FORMAT text)', body, pg_temp.path(name));
END $$;

SELECT pg_temp.write_csv('good', 'date,open,high,low,close,volume
2020-01-02,10,11,9,10.5,1000
2020-01-03T00:00:00Z,10.5,12,10,11.5,2000
2020-01-06 00:00:00+00,11.5,12.5,11,12,1500');
SELECT pg_temp.write_csv('update', 'date,open,high,low,close,volume
2020-01-03,10.5,12,10,11.75,2100
2020-01-07,12,13,11.5,12.5,1700');
SELECT pg_temp.write_csv('badnum', 'date,open,high,low,close,volume
2020-01-02,10,11,9,ten,1000');
SELECT pg_temp.write_csv('baddate', 'date,open,high,low,close,volume
not a date,10,11,9,10,1000');
SELECT pg_temp.write_csv('noclose', 'date,open,high,low,close,volume
2020-01-02,10,11,9,,1000');
SELECT pg_temp.write_csv('header', 'date,open,high,low,close,volume');

-- ---- md.bar (10) ------------------------------------------------------------------------------------
SELECT has_table('md', 'bar', 'md.bar exists');
SELECT columns_are('md', 'bar', ARRAY['ticker', 'ts', 'open', 'high', 'low', 'close', 'volume', 'interval'], 'md.bar columns');
SELECT col_type_is('md', 'bar', 'ticker', 'text', 'md.bar.ticker is text');
SELECT col_type_is('md', 'bar', 'ts', 'timestamp with time zone', 'md.bar.ts is timestamptz');
SELECT col_type_is('md', 'bar', 'close', 'double precision', 'md.bar.close is double precision');
SELECT col_is_pk('md', 'bar', ARRAY['ticker', 'interval', 'ts'], 'md.bar primary key (ticker, interval, ts)');
SELECT col_not_null('md', 'bar', 'close', 'md.bar.close is NOT NULL');
SELECT isnt(obj_description('md.bar'::regclass, 'pg_class'), NULL, 'md.bar has a COMMENT');
SELECT throws_ok($$INSERT INTO md.bar (ticker, ts, close) VALUES ('', '2020-01-01', 1)$$, '23514', NULL,
  'md.bar refuses an empty ticker');
SELECT ok(EXISTS (SELECT 1 FROM pg_extension e JOIN pg_class c ON c.oid = ANY (e.extconfig)
                   WHERE e.extname = 'quant' AND c.oid = 'md.bar'::regclass), 'md.bar is dumped with its data (extconfig)');

-- ---- types_check -----------------------------------------------------------------------------------
SELECT has_function('quant', 'load_bars_csv', ARRAY['text', 'text', 'text'], 'quant.load_bars_csv(text, text, text) exists');
SELECT function_returns('quant', 'load_bars_csv', ARRAY['text', 'text', 'text'], 'bigint', 'quant.load_bars_csv returns bigint');
SELECT volatility_is('quant', 'load_bars_csv', ARRAY['text', 'text', 'text'], 'volatile', 'quant.load_bars_csv is VOLATILE');
SELECT isnt_strict('quant', 'load_bars_csv', ARRAY['text', 'text', 'text'], 'quant.load_bars_csv is not STRICT (NULL is 22004)');
SELECT cmp_ok(length(obj_description('quant.load_bars_csv(text, text, text)'::regprocedure, 'pg_proc')), '>', 20,
  'quant.load_bars_csv has a COMMENT');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                       WHERE p.oid = 'quant.load_bars_csv(text, text, text)'::regprocedure AND a.grantee = 0),
  'quant.load_bars_csv is not executable by PUBLIC (it reads server files)');

-- ---- no_crash -----------------------------------------------------------------------------------
SELECT throws_ok($$SELECT quant.load_bars_csv(NULL, pg_temp.path('good'))$$, '22004', NULL, 'ticker NULL: 22004');
SELECT is((pg_temp.err($$SELECT quant.load_bars_csv(NULL, pg_temp.path('good'))$$)).col, 'ticker', 'ticker NULL: COLUMN NAME ticker');
SELECT throws_matching($$SELECT quant.load_bars_csv(NULL, pg_temp.path('good'))$$, '^quant\.load_bars_csv: ticker',
  'ticker NULL: message names ticker');
SELECT throws_ok($$SELECT quant.load_bars_csv('  ', pg_temp.path('good'))$$, '22004', NULL, 'blank ticker: 22004');
SELECT throws_ok($$SELECT quant.load_bars_csv('ZZTEST', NULL)$$, '22004', NULL, 'path NULL: 22004');
SELECT is((pg_temp.err($$SELECT quant.load_bars_csv('ZZTEST', NULL)$$)).col, 'path', 'path NULL: COLUMN NAME path');
SELECT throws_ok($$SELECT quant.load_bars_csv(NULL, NULL)$$, '22004', NULL, 'both NULL: 22004');
SELECT throws_ok($$SELECT quant.load_bars_csv('ZZTEST', pg_temp.path('does_not_exist'))$$, '58P01', NULL, 'missing file: 58P01');
SELECT throws_ok($$SELECT quant.load_bars_csv('ZZTEST', pg_temp.path('badnum'))$$, '22P02', NULL, 'non-numeric close: 22P02');
SELECT throws_ok($$SELECT quant.load_bars_csv('ZZTEST', pg_temp.path('baddate'))$$, NULL, 'malformed date: an error');
SELECT throws_ok($$SELECT quant.load_bars_csv('ZZTEST', pg_temp.path('noclose'))$$, '23502', NULL, 'empty close: 23502 (NOT NULL)');
SELECT throws_ok($$SELECT quant.load_bars_csv('ZZTEST', '')$$, NULL, 'empty path: an error');
SELECT is((SELECT count(*) FROM md.bar WHERE ticker = 'ZZTEST'), 0::bigint, 'a failed load stores nothing');
SELECT lives_ok('SELECT 1', 'backend still alive after the bad inputs');

-- ---- edge_cases -----------------------------------------------------------------------------------
SELECT is(quant.load_bars_csv('ZZTEST', pg_temp.path('header')), 0::bigint, 'a header-only file loads 0 rows');
SELECT is(quant.load_bars_csv('ZZTEST', pg_temp.path('good')), 3::bigint, 'loads 3 rows');
SELECT results_eq($$SELECT ts, open, high, low, close, volume FROM md.bar WHERE ticker = 'ZZTEST' ORDER BY ts$$,
  $$VALUES ('2020-01-02 00:00:00+00'::timestamptz, 10::float8, 11::float8, 9::float8, 10.5::float8, 1000::float8),
           ('2020-01-03 00:00:00+00', 10.5, 12, 10, 11.5, 2000),
           ('2020-01-06 00:00:00+00', 11.5, 12.5, 11, 12, 1500)$$,
  'the bars, dates without a zone at 00:00 UTC, Z and +00 kept');
SELECT is((SELECT count(*) FROM pg_class WHERE relname = 'quant_bar_load'), 0::bigint, 'the staging table is gone');
SELECT is(quant.load_bars_csv('ZZTEST', pg_temp.path('update')), 2::bigint, 'a second load: 2 rows (1 update, 1 new)');
SELECT is((SELECT close FROM md.bar WHERE ticker = 'ZZTEST' AND ts = '2020-01-03'), 11.75::float8, 'an existing bar is updated');
SELECT is((SELECT count(*) FROM md.bar WHERE ticker = 'ZZTEST'), 4::bigint, 'no duplicate bars');
SELECT is((SELECT count(*) FROM md.bar WHERE ticker = 'TTRC'), 5550::bigint, 'other tickers untouched');
SELECT is(quant.load_bars_csv('zztest', pg_temp.path('good')), 3::bigint, 'tickers are case-sensitive: a new ticker');
SELECT results_eq($$SELECT value FROM quant.indicator_series('ZZTEST', 'get_sma', 2)$$,
  $$VALUES (NULL::float8), (11.125), (11.875), (12.25)$$, 'the loaded bars are seen by quant.indicator_series in the same transaction');
SELECT is(quant.load_bars_csv('ZZTEST', pg_temp.path('good')), 3::bigint, 'reloading the same file is idempotent');
SELECT results_eq($$SELECT value FROM quant.indicator_series('ZZTEST', 'get_sma', 2)$$,
  $$VALUES (NULL::float8), (11), (11.75), (12.25)$$, 'a reload is seen (no stale bar cache)');
SELECT is((quant.backtest('{"ticker":"ZZTEST","trading_period":252,"substrategies":[{"indicator":"get_sma_distance",
  "signal_func":"momentum_band_signal","window":2,"signal":0}]}')->>'bars')::int, 4, 'quant.backtest sees the loaded bars');

SELECT * FROM finish();
ROLLBACK;
