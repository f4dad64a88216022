-- Bars per interval: md.bar keyed by (ticker, interval, ts), the bar cache by (ticker, interval);
-- the same ticker's 1d and 1h series are independent; a strategy's interval chooses its bars;
-- quant.list_bars, quant.bars_page, quant.upload_bars / upload_bars_csv (all or nothing, rows
-- checked). Everything is rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(48);
\ir ../helpers.psql
SELECT quant.set_user('tap_intervals') \gset

-- the same ticker as 1d bars (rising) and 1h bars (falling), 40 of each
INSERT INTO md.bar (ticker, interval, ts, open, high, low, close, volume)
SELECT 'ZZIV', '1d', timestamptz '2024-01-01' + make_interval(days => i), 100 + i, 101 + i, 99 + i, 100 + i, 1000
  FROM generate_series(0, 39) i;
INSERT INTO md.bar (ticker, interval, ts, open, high, low, close, volume)
SELECT 'ZZIV', '1h', timestamptz '2024-01-01' + make_interval(hours => i), 200 - i, 201 - i, 199 - i, 200 - i, 10
  FROM generate_series(0, 39) i;

SELECT is((SELECT interval FROM md.bar WHERE ticker = 'TTRC' LIMIT 1), '1d', 'bars loaded without an interval are 1d');
SELECT throws_ok($$INSERT INTO md.bar (ticker, interval, ts, close) VALUES ('ZZIV', '2h', '2024-01-01', 1)$$, '23514', NULL,
  'an unknown interval is refused by bar_interval_check');
SELECT is((SELECT count(*)::int FROM md.bar WHERE ticker = 'ZZIV'), 80, 'the same open time in two intervals: two bars');
SELECT results_eq($$SELECT version FROM md.bar_version WHERE ticker = 'ZZIV' ORDER BY interval$$, $$VALUES (1::bigint), (1::bigint)$$,
  'a bar version per (ticker, interval)');
UPDATE md.bar SET volume = 11 WHERE ticker = 'ZZIV' AND interval = '1h' AND ts = '2024-01-01';
SELECT results_eq($$SELECT interval, version FROM md.bar_version WHERE ticker = 'ZZIV' ORDER BY interval$$,
  $$VALUES ('1d', 1::bigint), ('1h', 2::bigint)$$, 'a change to the 1h bars bumps only the 1h version');

-- indicator_series and backtests read the interval asked for
SELECT results_eq($$SELECT value FROM quant.indicator_series('ZZIV', 'get_sma', 2, 'v', NULL, '2024-01-03')$$,
  $$VALUES (NULL::float8), (100.5), (101.5)$$, 'indicator_series: 1d by default');
SELECT results_eq($$SELECT value FROM quant.indicator_series('ZZIV', 'get_sma', 2, 'v', NULL, '2024-01-01 02:00', '1h')$$,
  $$VALUES (NULL::float8), (199.5), (198.5)$$, 'indicator_series(..., interval 1h): the hourly bars');
SELECT is((pg_temp.err($$SELECT * FROM quant.indicator_series('ZZIV', 'get_sma', 2, 'v', NULL, NULL, '2h')$$)).col, 'interval',
  'indicator_series: an unknown interval names interval');
SELECT is((pg_temp.err($$SELECT * FROM quant.indicator_series('ZZIV', 'get_sma', 2, 'v', NULL, NULL, '5m')$$)).state, 'QA001',
  'no 5m bars: QA001 (no bars)');
SELECT ok((pg_temp.err($$SELECT * FROM quant.indicator_series('ZZIV', 'get_sma', 2, 'v', NULL, NULL, '5m')$$)).msg LIKE '%(interval 5m)',
  '... the message names the interval');

CREATE TEMP TABLE c AS SELECT
  '{"ticker":"ZZIV","trading_period":252,"substrategies":[{"indicator":"get_sma_distance","signal_func":"momentum_band_signal","window":3,"signal":0}]}'::jsonb AS daily,
  '{"ticker":"ZZIV","interval":"1h","trading_period":8760,"substrategies":[{"indicator":"get_sma_distance","signal_func":"momentum_band_signal","window":3,"signal":0}]}'::jsonb AS hourly;
SELECT is((SELECT quant.backtest(daily)->'data_range'->>'end' FROM c), (SELECT max(ts)::date::text FROM md.bar WHERE ticker = 'ZZIV' AND interval = '1d'),
  'a daily strategy backtests on the 1d bars');
SELECT ok((SELECT (quant.backtest(daily)->'buy_hold_metrics'->>'total_return')::float8 > 0 FROM c), '... rising: buy and hold gains');
SELECT is((SELECT (quant.backtest(hourly)->>'bars')::int FROM c), 40, 'an hourly strategy backtests on the 40 hourly bars only');
SELECT ok((SELECT (quant.backtest(hourly)->'buy_hold_metrics'->>'total_return')::float8 < 0 FROM c), '... falling: buy and hold loses');
SELECT is((SELECT max(ts) FROM c, quant.backtest_series(hourly)), timestamptz '2024-01-01 00:00' + interval '39 hours',
  'backtest_series of the hourly strategy ends at the last hourly bar');
SELECT is((SELECT quant.evaluate_config(hourly)->>'bar_ts' FROM c)::timestamptz, timestamptz '2024-01-01 00:00' + interval '39 hours',
  'the live evaluation of the hourly strategy reads the hourly bars');
SELECT is((SELECT quant.normalize_strategy(hourly)->>'interval' FROM c), '1h', 'the normalised form keeps interval 1h');
SELECT ok((SELECT NOT quant.normalize_strategy(daily) ? 'interval' FROM c), '... and leaves out the default 1d (stored daily strategies unchanged)');
SELECT is((pg_temp.err($$SELECT quant.backtest('{"ticker":"ZZIV","interval":"hourly","trading_period":252,"substrategies":[{"indicator":"get_sma","signal_func":"momentum_band_signal","window":3,"signal":0}]}')$$)).col,
  'interval', 'an unknown strategy interval: names the field interval');
SELECT is((pg_temp.err($$SELECT quant.backtest('{"ticker":"ZZIV","interval":"hourly","trading_period":252,"substrategies":[{"indicator":"get_sma","signal_func":"momentum_band_signal","window":3,"signal":0}]}')$$)).hint,
  'valid intervals: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w', '... with the valid intervals');
SELECT ok((SELECT quant.backtest(hourly || '{"trading_period": 252}')->'warnings'->>0 FROM c)
          LIKE 'trading_period: 252 bars a year does not fit 1h bars (8760 for crypto, about 1638 for US equities)%',
  'trading_period 252 on hourly bars: a warning naming trading_period and the figures that fit');
SELECT ok((SELECT NOT (quant.backtest(hourly || '{"trading_period": 1638}') ? 'warnings') FROM c), 'trading_period 1638 on 1h: no warning');
SELECT ok((SELECT NOT (quant.backtest(daily || '{"trading_period": 365}') ? 'warnings') FROM c), 'trading_period 365 on 1d: no warning');
SELECT ok((SELECT quant.backtest(daily || '{"trading_period": 8760}') ? 'warnings' FROM c), 'trading_period 8760 on 1d: a warning');

-- list_bars and bars_page
SELECT is((SELECT count(*)::int FROM quant.list_bars('ZZIV', '1h')), 40, 'list_bars: the 40 hourly bars');
SELECT is((SELECT close_ts - ts FROM quant.list_bars('ZZIV', '1h') LIMIT 1), interval '1 hour', 'close_ts = ts + the interval');
SELECT results_eq($$SELECT close FROM quant.list_bars('ZZIV', '1d', '2024-01-05', '2024-01-07')$$, $$VALUES (104::float8), (105), (106)$$,
  'list_bars: [from, to] inclusive');
SELECT results_eq($$SELECT close FROM quant.list_bars('ZZIV', '1d', NULL, NULL, 2, '2024-01-05')$$, $$VALUES (105::float8), (106)$$,
  'list_bars: limit rows after the cursor');
SELECT is((pg_temp.err($$SELECT * FROM quant.list_bars('ZZIV', '1d', NULL, NULL, 0)$$)).col, 'limit', 'list_bars: limit 0 names limit');
CREATE TEMP TABLE pages AS SELECT quant.bars_page('ZZIV', NULL, '1h', NULL, NULL, 25) AS p1;
SELECT is((SELECT jsonb_array_length(p1->'bars') FROM pages), 25, 'bars_page: a full first page');
SELECT is((SELECT (p1->>'next_cursor')::timestamptz FROM pages), timestamptz '2024-01-01' + interval '24 hours', '... its next_cursor is its last bar');
SELECT is((SELECT jsonb_array_length(quant.bars_page('ZZIV', NULL, '1h', NULL, NULL, 25, (p1->>'next_cursor')::timestamptz)->'bars') FROM pages), 15,
  'the second page holds the other 15');
SELECT is((SELECT quant.bars_page('ZZIV', NULL, '1h', NULL, NULL, 25, (p1->>'next_cursor')::timestamptz)->'next_cursor' FROM pages), 'null'::jsonb,
  '... and no next_cursor');
SELECT is((pg_temp.err($$SELECT quant.bars_page()$$)).col, 'ticker', 'bars_page without ticker or internal_cusip names ticker');

-- uploads: all or nothing, every row checked, errors name the row and the field
SELECT is((quant.upload_bars('ZZUP', '1h', '[{"ts":"2024-03-01T10:00:00Z","open":1,"high":2,"low":0.5,"close":1.5,"volume":7},
                                           {"ts":"2024-03-01T11:00:00Z","open":1.5,"high":2,"low":1,"close":1.75}]'))->>'rows', '2',
  'upload_bars: 2 rows');
SELECT results_eq($$SELECT interval, ts, close, volume FROM md.bar WHERE ticker = 'ZZUP' ORDER BY ts$$,
  $$VALUES ('1h', timestamptz '2024-03-01 10:00+00', 1.5::float8, 7::float8), ('1h', '2024-03-01 11:00+00', 1.75, NULL)$$,
  '... stored as 1h bars (volume optional)');
SELECT is((quant.upload_bars_csv('ZZUP', '1h', E'date,open,high,low,close,volume\n2024-03-01 12:00,1.75,2,1.5,1.8,3\n2024-03-01T13:00:00+00:00,1.8,2,1.7,1.9,4\n'))->>'rows', '2',
  'upload_bars_csv: 2 rows (times without a zone are UTC)');
SELECT is((SELECT count(*)::int FROM md.bar WHERE ticker = 'ZZUP'), 4, '... 4 bars in all');
CREATE FUNCTION pg_temp.bad(bars text) RETURNS text LANGUAGE sql AS $$
  SELECT e.col || ' | ' || e.msg FROM pg_temp.err(format('SELECT quant.upload_bars(%L, %L, %L)', 'ZZUP', '1h', bars)) e $$;
SELECT ok(pg_temp.bad('[{"ts":"2024-03-02T00:00:00Z","open":1,"high":2,"low":1,"close":1},{"ts":"2024-03-02T01:00:00Z","open":1,"high":0.5,"low":1,"close":1}]')
          LIKE 'bars[1].high | quant.upload_bars: bars[1].high: must be at least low%', 'high < low: names bars[1].high');
SELECT ok(pg_temp.bad('[{"ts":"2024-03-02T00:00:00Z","open":1,"high":2,"low":1,"close":-1}]') LIKE 'bars[0].close |%must be positive%', 'a negative close');
SELECT ok(pg_temp.bad('[{"ts":"2024-03-02T00:00:00Z","open":1,"high":2,"low":1,"close":"NaN"}]') LIKE 'bars[0].close |%positive finite%', 'NaN');
SELECT ok(pg_temp.bad('[{"ts":"2024-03-02T00:30:00Z","open":1,"high":2,"low":1,"close":1}]') LIKE 'bars[0].ts |%not the open of a 1h bar%', 'a time off the 1h grid');
SELECT ok(pg_temp.bad('[{"ts":"2024-03-02T02:00:00Z","open":1,"high":2,"low":1,"close":1},{"ts":"2024-03-02T01:00:00Z","open":1,"high":2,"low":1,"close":1}]')
          LIKE 'bars[1].ts |%ascending and unique%', 'times out of order');
SELECT ok(pg_temp.bad('[{"ts":"2999-01-01T00:00:00Z","open":1,"high":2,"low":1,"close":1}]') LIKE 'bars[0].ts |%in the future%', 'a future bar');
SELECT ok(pg_temp.bad('[{"ts":"yesterday","open":1,"high":2,"low":1,"close":1}]') LIKE 'bars[0].ts |%must be a time%', 'a malformed time');
SELECT ok((pg_temp.err($$SELECT quant.upload_bars_csv('ZZUP', '1h', E'date,open,high,low,close,volume\n2024-03-03 00:00,1,2,1,1,1\n2024-03-03 01:00,1,2,1,x,1')$$)).msg
          LIKE 'quant.upload_bars_csv: line 3.close: must be a positive finite number, got "x"', 'CSV: names the line and the field');
SELECT is((SELECT count(*)::int FROM md.bar WHERE ticker = 'ZZUP'), 4, 'nothing stored by any failed upload');
SELECT is((pg_temp.err($$SELECT quant.upload_bars('ZZUP', '2h', '[]')$$)).col, 'bars', 'an empty array names bars');

SELECT * FROM finish();
ROLLBACK;
