-- md.latest_bar and md.bar_version.last_ts / last_close (issue 16: the market price of the paper
-- broker and of the risk checks without a read of md.bar's partitions): after every INSERT, UPDATE
-- and DELETE through md.bar the kept latest bar equals the one read from md.bar itself (the
-- independent computation: max(ts) per pair, then its close), over two intervals of one ticker;
-- paper.price_of and trade.symbol_price price at it. Everything is rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(16);

-- the latest bar of a ticker read from md.bar directly, over all its intervals
CREATE FUNCTION pg_temp.read_latest(t text) RETURNS TABLE (close double precision, ts timestamptz)
LANGUAGE sql AS $$
    SELECT b.close, b.ts FROM md.bar b WHERE b.ticker = t
     AND b.ts = (SELECT max(x.ts) FROM md.bar x WHERE x.ticker = t)
     ORDER BY b.interval LIMIT 1;
$$;

SELECT is((SELECT count(*) FROM md.latest_bar('ZZLB')), 0::bigint, 'a ticker without bars: no row');
SELECT ok(paper.price_of('ZZLB') IS NULL, 'paper.price_of of a ticker without bars: NULL');

INSERT INTO md.bar (ticker, interval, ts, close)
SELECT 'ZZLB', '1d', timestamptz '2024-01-01 00:00Z' + make_interval(days => g), 100 + g FROM generate_series(0, 9) g;
SELECT results_eq($$SELECT * FROM md.latest_bar('ZZLB')$$, $$SELECT * FROM pg_temp.read_latest('ZZLB')$$,
  'after an INSERT: the latest daily bar');
SELECT is((SELECT last_close FROM md.bar_version WHERE ticker = 'ZZLB' AND interval = '1d'), 109::double precision,
  'md.bar_version.last_close of the pair is the close of 2024-01-10');

-- a later bar in another interval wins; an earlier one does not
INSERT INTO md.bar (ticker, interval, ts, close) VALUES ('ZZLB', '1h', '2024-01-10 05:00Z', 55.5);
SELECT results_eq($$SELECT * FROM md.latest_bar('ZZLB')$$, $$SELECT * FROM pg_temp.read_latest('ZZLB')$$,
  'a later hourly bar is the latest');
SELECT is(paper.price_of('ZZLB'), 55.5::double precision, 'paper.price_of prices at it');
INSERT INTO md.bar (ticker, interval, ts, close) VALUES ('ZZLB', '1h', '2024-01-02 05:00Z', 1);
SELECT is((SELECT close FROM md.latest_bar('ZZLB')), 55.5::double precision, 'an earlier hourly bar changes nothing');

-- an UPDATE of the latest close, a DELETE of the latest bar, an UPDATE that moves a bar's time
UPDATE md.bar SET close = 56.25 WHERE ticker = 'ZZLB' AND interval = '1h' AND ts = '2024-01-10 05:00Z';
SELECT is(paper.price_of('ZZLB'), 56.25::double precision, 'an UPDATE of the latest close is the price at once');
DELETE FROM md.bar WHERE ticker = 'ZZLB' AND interval = '1h' AND ts = '2024-01-10 05:00Z';
SELECT results_eq($$SELECT * FROM md.latest_bar('ZZLB')$$, $$SELECT * FROM pg_temp.read_latest('ZZLB')$$,
  'after the DELETE of the latest bar: the daily bar of 2024-01-10 again');
SELECT is((SELECT last_ts FROM md.bar_version WHERE ticker = 'ZZLB' AND interval = '1h'), '2024-01-02 05:00Z'::timestamptz,
  'the hourly pair keeps its remaining bar');
UPDATE md.bar SET ts = '2024-02-01 00:00Z' WHERE ticker = 'ZZLB' AND interval = '1h';
SELECT results_eq($$SELECT * FROM md.latest_bar('ZZLB')$$, $$SELECT * FROM pg_temp.read_latest('ZZLB')$$,
  'an UPDATE that moves a bar to a later time (another partition) makes it the latest');
DELETE FROM md.bar WHERE ticker = 'ZZLB' AND interval = '1h';
SELECT ok((SELECT last_ts IS NULL AND last_close IS NULL FROM md.bar_version WHERE ticker = 'ZZLB' AND interval = '1h'),
  'a pair without bars has no latest bar');
SELECT results_eq($$SELECT * FROM md.latest_bar('ZZLB')$$, $$SELECT * FROM pg_temp.read_latest('ZZLB')$$,
  'and the ticker''s latest is its daily bar');

-- the load paths (server COPY through quant.load_bars_csv goes through md.bar as well)
INSERT INTO md.bar (ticker, interval, ts, close)
SELECT 'ZZLB2', '1m', timestamptz '2024-03-01 00:00Z' + make_interval(mins => g), g FROM generate_series(1, 5000) g;
SELECT results_eq($$SELECT * FROM md.latest_bar('ZZLB2')$$, $$SELECT * FROM pg_temp.read_latest('ZZLB2')$$,
  '5,000 minute bars over two monthly partitions: the last one');

-- trade.symbol_price of another broker: through a shared mapping to the data ticker
INSERT INTO refdata.ticker_mapping (broker, broker_ticker, data_ticker, market) VALUES ('BYBIT', 'ZZLBUSDT', 'ZZLB2', 'CRYPTO')
ON CONFLICT DO NOTHING;
SELECT is((SELECT price FROM trade.symbol_price('BYBIT', 'ZZLBUSDT')), 5000::double precision,
  'trade.symbol_price (BYBIT, mapped): the close of the data ticker''s latest bar');
SELECT is((SELECT price_ts FROM trade.symbol_price('BYBIT', 'ZZLBUSDT')), timestamptz '2024-03-01 00:00Z' + interval '5000 minutes',
  'and its open time');

SELECT * FROM finish();
ROLLBACK;
