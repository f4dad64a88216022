-- The per-backend bar cache (extension/src/bars.c) never serves bars a snapshot cannot see:
-- changes in the current transaction, rolled-back changes and committed changes all show.
BEGIN;
SELECT plan(9);

INSERT INTO md.bar (ticker, ts, open, high, low, close, volume)
SELECT 'CACHE_T', timestamptz '2020-01-01 00:00+00' + make_interval(days => i), 1, 1, 1, 100 + i, 1
  FROM generate_series(0, 29) i;

SELECT is((SELECT version FROM md.bar_version WHERE ticker = 'CACHE_T'), 1::bigint,
          'inserting bars creates the ticker''s version row');

CREATE TEMP TABLE cfg AS SELECT
  '{"ticker":"CACHE_T","trading_period":252,"substrategies":[{"indicator":"get_sma_distance","signal_func":"momentum_band_signal","window":5,"signal":0.0}]}'::jsonb AS c;

SELECT is((quant.backtest((SELECT c FROM cfg), 0)->>'bars')::int, 30, 'all 30 bars are seen');

UPDATE md.bar SET close = 1000 WHERE ticker = 'CACHE_T' AND ts = timestamptz '2020-01-30 00:00+00';
SELECT is((SELECT version FROM md.bar_version WHERE ticker = 'CACHE_T'), 2::bigint, 'an UPDATE bumps the version');
SELECT is((SELECT price FROM quant.backtest_series((SELECT c FROM cfg), 0) ORDER BY ts DESC LIMIT 1), 1000::float8,
          'a change in the current transaction is seen at once');

SAVEPOINT s;
DELETE FROM md.bar WHERE ticker = 'CACHE_T' AND ts > timestamptz '2020-01-20 00:00+00';
SELECT is((quant.backtest((SELECT c FROM cfg), 0)->>'bars')::int, 20, 'a DELETE is seen');
ROLLBACK TO SAVEPOINT s;
SELECT is((quant.backtest((SELECT c FROM cfg), 0)->>'bars')::int, 30, 'a rolled-back DELETE is not');

SELECT is((SELECT count(*)::int FROM quant.indicator_series('CACHE_T', 'get_sma', 5, 'v',
                                                       '2020-01-10', '2020-01-19')), 10,
          'from_ts/to_ts select the bars in [from_ts, to_ts] inclusive');

TRUNCATE md.bar_version;  -- a lost version row makes the engine read the table, never the cache
SELECT is((quant.backtest((SELECT c FROM cfg), 0)->>'bars')::int, 30, 'without a version row the bars are read');

TRUNCATE md.bar;
SELECT throws_ok($$SELECT quant.backtest((SELECT c FROM cfg), 0)$$, 'QA001', NULL,
                 'after TRUNCATE the ticker has no bars');

SELECT * FROM finish();
ROLLBACK;
