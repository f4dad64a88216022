-- The backend's cache of parsed Strategy JSON (extension/src/args.c, quant_strategy_arg): a hit
-- gives what parsing the config again gives, more distinct configs than its 16 entries are all
-- still right (evicted ones are parsed again), a bad config is an error on every call, and a
-- config naming a product (internal_cusip) is resolved against the catalog on every call. The
-- references are configs with other bytes for the same strategy (a numeric written 1.0, 1.00,
-- 1.000 ... is another jsonb), which this backend has never seen, so they are parsed.
-- Needs the sample bars of TTRC and MSFT. (The NOTICEs of a cached config: test/sql/concurrent_versions.sh.)
BEGIN;
SELECT plan(10);
SET LOCAL client_min_messages = warning;
\ir ../helpers.psql
SELECT quant.set_user('tap_cache_alice') \gset

-- The seed pair with `window` for the Bollinger band and its signal 1 written with `zeros` zeros.
CREATE FUNCTION pg_temp.cfg(bb_window int, zeros int) RETURNS jsonb LANGUAGE sql AS $$
  SELECT ('{"ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":['
          '{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":' || bb_window
          || ',"signal":1.' || repeat('0', zeros) || '},'
          '{"id":2,"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":70}]}')::jsonb $$;
CREATE FUNCTION pg_temp.bt(config jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT quant.backtest(config, 5.0, '1997-01-01') - 'run_at' $$;

SELECT isnt(pg_temp.cfg(20, 1)::text, pg_temp.cfg(20, 2)::text, 'the references are other jsonb values (1.0 and 1.00)');

-- one config, called again and again: the same result as a config this backend never parsed
CREATE TEMP TABLE first_calls AS SELECT pg_temp.bt(pg_temp.cfg(20, 1)) AS r;
SELECT is(pg_temp.bt(pg_temp.cfg(20, 1)), (SELECT r FROM first_calls), 'a second call gives the first call''s result');
SELECT is((SELECT count(DISTINCT pg_temp.bt(pg_temp.cfg(20, 1))::text)::int FROM generate_series(1, 50)), 1,
          '50 calls in one statement: one result');
SELECT is(pg_temp.bt(pg_temp.cfg(20, 2)), (SELECT r FROM first_calls), '... the result of parsing it again');

-- 40 distinct configs (windows 5 to 44), twice over in one statement, then each beside a never-parsed twin
CREATE TEMP TABLE cycled AS
  SELECT w, k, pg_temp.bt(pg_temp.cfg(w, 1)) AS r FROM generate_series(1, 2) k, generate_series(5, 44) w ORDER BY k, w;
SELECT is((SELECT count(*)::int FROM cycled c WHERE c.r = pg_temp.bt(pg_temp.cfg(c.w, 3)) AND c.k = 1), 40,
          '40 configs through a cache of 16: every result is the result of parsing it again');
SELECT is((SELECT count(*)::int FROM cycled a JOIN cycled b ON a.w = b.w AND a.k = 1 AND b.k = 2 WHERE a.r = b.r), 40,
          '... and the second round gives the first round''s results');
SELECT is((SELECT count(DISTINCT r->'metrics')::int FROM cycled), 40, '... 40 different backtests');

-- a bad config is an error every time (never cached)
SELECT throws_ok($$SELECT quant.backtest('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_sma","signal_func":"momentum_band_signal","window":0,"signal":1}]}')$$,
                 '22023', NULL, 'window 0: an error');
SELECT throws_ok($$SELECT quant.backtest('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_sma","signal_func":"momentum_band_signal","window":0,"signal":1}]}')$$,
                 '22023', NULL, '... and again on the second call');

-- a config naming a product follows the catalog from one call to the next
INSERT INTO refdata.product (internal_cusip, display_name, asset_type, currency, data_ticker, user_id)
VALUES ('cachetest.x', 'cache test', 'equity', 'USD', 'TTRC', 'tap_cache_alice');
CREATE TEMP TABLE by_product AS
  SELECT quant.backtest('{"internal_cusip":"cachetest.x","trading_period":252,"substrategies":[{"indicator":"get_sma_distance","signal_func":"momentum_band_signal","window":20,"signal":0.01}]}')->>'ticker_backtested' AS before;
UPDATE refdata.product SET data_ticker = 'MSFT' WHERE internal_cusip = 'cachetest.x';
SELECT is((SELECT before FROM by_product)
          || ' then ' || (quant.backtest('{"internal_cusip":"cachetest.x","trading_period":252,"substrategies":[{"indicator":"get_sma_distance","signal_func":"momentum_band_signal","window":20,"signal":0.01}]}')->>'ticker_backtested'),
          'TTRC then MSFT', 'internal_cusip is resolved on every call: the product''s new data ticker is used');

SELECT * FROM finish();
ROLLBACK;
