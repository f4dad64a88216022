-- The live feed's SQL (sql/MD/feed.sql): sources (quant.set_feed, list_feeds), a scheduled run
-- queueing fetches and holding its fed deployments back, the fetcher's claim and store (the bars
-- upserted, the waiting deployment evaluated in the same transaction), a failed fetch and a
-- passed deadline giving REJECTED stale_bars, the fetch log, claims of a dead fetcher, and
-- run_one never using a forming bar or a stale factor product.
BEGIN;
SELECT plan(51);
SET LOCAL client_min_messages = warning;

CREATE FUNCTION pg_temp.cfg(ticker text, subs text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT format('{"ticker":"%s","interval":"1h","trading_period":8760,"conjunction":"AND","substrategies":[%s]}',
                  ticker, subs)::jsonb
$$;
CREATE FUNCTION pg_temp.sma(ticker text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
    SELECT '{"indicator":"get_sma","signal_func":"momentum_band_signal","window":5,"signal":1.0'
           || CASE WHEN ticker IS NULL THEN '' ELSE ',"ticker":"' || ticker || '"' END || '}'
$$;
-- n hourly bars of a ticker, the newest opened `newest` hours before the current hour
CREATE FUNCTION pg_temp.hourly(ticker text, n integer, newest integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO md.bar (ticker, "interval", ts, open, high, low, close, volume)
    SELECT ticker, '1h', date_trunc('hour', now()) - make_interval(hours => newest + i), 100 + i % 3, 102, 98, 100 + i % 2, 1
      FROM generate_series(0, n - 1) i
    ON CONFLICT DO NOTHING
$$;

-- ---- objects and privileges ----
SELECT has_table('md', 'feed', 'md.feed');
SELECT has_table('md', 'bar_fetch', 'md.bar_fetch');
SELECT ok(has_function_privilege('quant_app', 'quant.list_feeds()', 'EXECUTE'), 'quant_app lists the feeds');
SELECT ok(has_function_privilege('quant_app', 'quant.fetch_log(text, text, integer, bigint)', 'EXECUTE'), 'quant_app reads the fetch log');
SELECT ok(NOT has_function_privilege('quant_app', 'quant.set_feed(text, text, text, text, text, boolean, integer, boolean)', 'EXECUTE'),
          'quant_app cannot set a source (shared data)');
SELECT ok(has_function_privilege('quant_admin', 'quant.set_feed(text, text, text, text, text, boolean, integer, boolean)', 'EXECUTE'),
          'quant_admin sets sources');
SELECT ok(has_function_privilege('quant_worker', 'md.claim_fetch(text, double precision, integer)', 'EXECUTE')
          AND has_function_privilege('quant_worker', 'md.store_fetch(bigint, text, timestamptz, integer, jsonb, text)', 'EXECUTE'),
          'quant_worker (quant-feed) claims and stores fetches');
SELECT ok(NOT has_function_privilege('quant_app', 'md.store_fetch(bigint, text, timestamptz, integer, jsonb, text)', 'EXECUTE'),
          'quant_app cannot store bars');

-- ---- quant.set_feed ----
SELECT throws_like($$SELECT quant.set_feed('TAPF_A', '2h', 'BYBIT')$$, '%unknown bar interval "2h"%', 'an unknown interval is refused');
SELECT throws_ok($$SELECT quant.set_feed('TAPF_A', '2h', 'BYBIT')$$, '22023', NULL, '... 22023');
SELECT throws_like($$SELECT quant.set_feed('TAPF_A', '1h', 'KRAKEN')$$, '%unknown source "KRAKEN"%', 'an unknown source is refused');
SELECT throws_like($$SELECT quant.set_feed('TAPF_A', '1h', 'BYBIT', 'BTCUSDT', 'inverse')$$, '%unknown category%', 'an unknown category is refused');
SELECT throws_ok($$SELECT quant.set_feed('', '1h', 'BYBIT')$$, '22004', NULL, 'an empty ticker is refused');
SELECT is(quant.set_feed('TAPF_A', '1h', 'BYBIT', 'BTCUSDT')->>'source', 'BYBIT', 'set_feed returns the source');
SELECT is(quant.set_feed('TAPF_A', '1h', 'BYBIT', 'BTCUSDT', 'spot')->>'category', 'spot', 'setting it again updates it');
SELECT is((SELECT count(*) FROM md.feed WHERE ticker = 'TAPF_A')::int, 1, '... one row per ticker and interval');
SELECT is((SELECT f->>'continuous' FROM quant.list_feeds() f WHERE f->>'ticker' = 'TAPF_A'), 'true',
          'list_feeds shows it (BYBIT: continuous)');
SELECT quant.set_feed('TAPF_B', '1h', 'BYBIT', 'NOPEUSDT');
SELECT quant.set_feed('TAPF_M', '1h', 'manual');

-- ---- a scheduled run holds fed deployments back and queues their fetches ----
SELECT pg_temp.hourly('TAPF_A', 30, 2);
SELECT pg_temp.hourly('TAPF_B', 30, 2);
SELECT pg_temp.hourly('TAPF_M', 30, 1);
SELECT pg_temp.hourly('TAPF_OLD', 30, 10);
SELECT quant.set_user('tap_feed_alice');
CREATE TEMP TABLE dep AS
SELECT 'A' AS k, (quant.deploy(jsonb_build_object('strategy_id', quant.create_strategy(pg_temp.cfg('TAPF_A', pg_temp.sma()))->>'strategy_id',
                  'qty', 1, 'schedule', 'hourly', 'ticker', 'TAPF_A', 'market', 'CRYPTO'))->>'deployment_id')::uuid AS did;
INSERT INTO dep
SELECT 'M', (quant.deploy(jsonb_build_object('strategy_id', quant.create_strategy(pg_temp.cfg('TAPF_M', pg_temp.sma()))->>'strategy_id',
             'qty', 1, 'schedule', 'hourly', 'ticker', 'TAPF_M', 'market', 'CRYPTO'))->>'deployment_id')::uuid;
SELECT quant.reset_user();

SELECT lives_ok($$SELECT quant.run_schedule('hourly')$$, 'run_schedule(hourly) runs');
CREATE TEMP TABLE run1 AS SELECT max(run_id) AS rid FROM md.feed_run;
SELECT is((SELECT count(*) FROM md.feed_wait w, dep WHERE w.run_id = (SELECT rid FROM run1) AND w.deployment_id = dep.did AND dep.k = 'A')::int,
          1, 'the deployment on a fed product waits');
SELECT is((SELECT count(*) FROM trade.log l, dep WHERE l.deployment_id = dep.did AND dep.k = 'A')::int
          + (SELECT count(*) FROM trade.signal s, dep WHERE s.deployment_id = dep.did AND dep.k = 'A')::int,
          0, '... and is not evaluated on the old bars');
SELECT is((SELECT count(*) FROM trade.signal s, dep WHERE s.deployment_id = dep.did AND dep.k = 'M')::int, 1,
          'a deployment on a manual product is evaluated at once, as before');
SELECT results_eq($$SELECT ticker, status, bars_needed, symbol FROM md.bar_fetch WHERE run_id = (SELECT rid FROM run1)$$,
                  $$VALUES ('TAPF_A', 'PENDING', 20, 'BTCUSDT')$$,
                  'one PENDING fetch for the fed product (bars needed: 2 x window 5 + 10; the broker symbol)');

-- ---- the fetcher: claim, store ----
CREATE TEMP TABLE c1 AS SELECT * FROM md.claim_fetch('tap_feed_1');
SELECT is((SELECT ticker || '/' || "interval" || '/' || bars_stored || '/' || attempts FROM c1), 'TAPF_A/1h/30/1',
          'claim_fetch returns the fetch with the state it starts from');
SELECT is((SELECT last_bar_us FROM c1),
          (extract(epoch FROM date_trunc('hour', now()) - interval '2 hours') * 1000000)::bigint, '... the last stored bar');
SELECT is((SELECT status || '/' || claimed_by FROM md.bar_fetch f, c1 WHERE f.fetch_id = c1.fetch_id), 'FETCHING/tap_feed_1', 'it is FETCHING');
SELECT is((SELECT count(*) FROM md.claim_fetch('tap_feed_2'))::int, 0, 'another fetcher finds nothing to claim');
CREATE TEMP TABLE feed_bars (ts timestamptz NOT NULL, open float8, high float8, low float8, close float8, volume float8);
INSERT INTO pg_temp.feed_bars VALUES (date_trunc('hour', now()) - interval '2 hours', 100, 102, 98, 100, 1),  -- unchanged
                                     (date_trunc('hour', now()) - interval '1 hour', 101, 103, 99, 102, 2);   -- new
SELECT throws_ok($$SELECT md.store_fetch((SELECT fetch_id FROM c1), 'tap_feed_2', now(), 2)$$, '55000', NULL,
                 'storing another fetcher''s claim is refused');
CREATE TEMP TABLE s1 AS SELECT md.store_fetch((SELECT fetch_id FROM c1), 'tap_feed_1', now() - interval '3 hours', 2,
                                              '[{"after": "x", "before": "y", "missing": 1}]') AS r;
SELECT is((SELECT r->>'status' || '/' || (r->>'rows_stored') || '/' || (r->>'evaluated') FROM s1), 'DONE/1/1',
          'store_fetch: DONE, one row stored (the unchanged one not rewritten), one deployment evaluated');
SELECT is((SELECT count(*) FROM md.bar WHERE ticker = 'TAPF_A' AND "interval" = '1h')::int, 31, 'the new bar is in md.bar');
SELECT is((SELECT s.bar_ts FROM trade.signal s, dep WHERE s.deployment_id = dep.did AND dep.k = 'A'),
          date_trunc('hour', now()) - interval '1 hour', 'the waiting deployment got its signal on the new bar');
SELECT is((SELECT outcome FROM md.feed_wait w, dep WHERE w.deployment_id = dep.did AND dep.k = 'A'), 'SIGNAL', 'md.feed_wait records it');
SELECT ok((SELECT finished_at IS NOT NULL FROM md.feed_run WHERE run_id = (SELECT rid FROM run1)), 'the run is finished');
SELECT is((SELECT last_bar_ts FROM md.feed WHERE ticker = 'TAPF_A'), date_trunc('hour', now()) - interval '1 hour',
          'md.feed keeps the last bar (fetch state in tables)');
SELECT is((SELECT l->>'status' || '/' || (l->>'rows_received') || '/' || jsonb_array_length(l->'gaps') FROM quant.fetch_log('TAPF_A', '1h', 1) l),
          'DONE/2/1', 'quant.fetch_log: newest first, rows and gaps');
SELECT throws_ok($$SELECT quant.fetch_log(max_rows => 0)$$, '22023', NULL, 'fetch_log max_rows 0: 22023');

-- ---- a failed fetch: stale_bars for its deployment, the others trade ----
SELECT quant.set_user('tap_feed_alice');
INSERT INTO dep
SELECT 'B', (quant.deploy(jsonb_build_object('strategy_id', quant.create_strategy(pg_temp.cfg('TAPF_B', pg_temp.sma()))->>'strategy_id',
             'qty', 1, 'schedule', 'hourly', 'ticker', 'TAPF_B', 'market', 'CRYPTO'))->>'deployment_id')::uuid;
SELECT quant.reset_user();
SELECT quant.run_schedule('hourly');
CREATE TEMP TABLE run2 AS SELECT max(run_id) AS rid FROM md.feed_run;
SELECT is((SELECT string_agg(ticker, ',' ORDER BY ticker) FROM md.bar_fetch WHERE run_id = (SELECT rid FROM run2)), 'TAPF_A,TAPF_B',
          'a fetch per fed product');
CREATE TEMP TABLE c2 AS SELECT *, 'tap_feed_1'::text AS w FROM md.claim_fetch('tap_feed_1');
CREATE TEMP TABLE c3 AS SELECT *, 'tap_feed_2'::text AS w FROM md.claim_fetch('tap_feed_2');
TRUNCATE pg_temp.feed_bars;
SELECT md.store_fetch(c.fetch_id, c.w, now(), 0, '[]',
                      CASE WHEN c.ticker = 'TAPF_B' THEN 'bybit: kline NOPEUSDT: 10001 Not supported symbols' END)
  FROM (SELECT * FROM c2 UNION ALL SELECT * FROM c3) c ORDER BY c.ticker;
SELECT is((SELECT l.reason FROM trade.log l, dep WHERE l.deployment_id = dep.did AND dep.k = 'B'), 'stale_bars',
          'the failed product''s deployment: REJECTED stale_bars');
SELECT ok((SELECT l.message LIKE '%TAPF_B%Not supported symbols%' FROM trade.log l, dep WHERE l.deployment_id = dep.did AND dep.k = 'B'),
          '... naming the product and the source''s error');
SELECT is((SELECT count(*) FROM trade.signal s, dep WHERE s.deployment_id = dep.did AND dep.k = 'B')::int, 0, '... and no signal');
SELECT is((SELECT outcome FROM md.feed_wait w, dep WHERE w.run_id = (SELECT rid FROM run2) AND w.deployment_id = dep.did AND dep.k = 'A'),
          'DUPLICATE', 'the good product''s deployment was evaluated (its bar already had its signal)');
SELECT is((SELECT failures || '/' || (last_error IS NOT NULL) FROM md.feed WHERE ticker = 'TAPF_B'), '1/true',
          'md.feed counts the failure');

-- ---- the deadline: nobody fetched -> stale_bars, not a signal on old bars ----
SET LOCAL quant.feed_deadline_s = 0;
SELECT quant.run_schedule('hourly');
CREATE TEMP TABLE run3 AS SELECT max(run_id) AS rid FROM md.feed_run;
SELECT is(quant.feed_deadline(), 2, 'quant.feed_deadline evaluates the two waiting deployments');
SELECT is((SELECT count(*) FROM md.bar_fetch WHERE run_id = (SELECT rid FROM run3) AND status = 'FAILED' AND error LIKE '%deadline%')::int, 2,
          'their fetches are FAILED: the deadline passed');
SELECT is((SELECT count(*) FROM md.feed_wait w WHERE w.run_id = (SELECT rid FROM run3) AND w.outcome = 'REJECTED')::int, 2,
          'both REJECTED');
SELECT ok((SELECT bool_and(l.reason = 'stale_bars' AND l.message LIKE '%did not arrive%') FROM trade.log l, dep
            WHERE l.deployment_id = dep.did AND dep.k = 'A' AND l.action = 'REJECTED'), '... stale_bars: the bars did not arrive');
RESET quant.feed_deadline_s;

-- ---- a dead fetcher's claim: taken back; given up after max_attempts ----
SELECT quant.run_schedule('hourly');
CREATE TEMP TABLE c4 AS SELECT * FROM md.claim_fetch('tap_feed_dead');
UPDATE md.bar_fetch SET started_at = now() - interval '1 hour' WHERE fetch_id = (SELECT fetch_id FROM c4);
SELECT is((SELECT attempts FROM md.claim_fetch('tap_feed_2', 60) WHERE fetch_id = (SELECT fetch_id FROM c4)), 2,
          'a claim older than the lease is taken by another fetcher (second attempt)');
UPDATE md.bar_fetch SET started_at = now() - interval '1 hour' WHERE fetch_id = (SELECT fetch_id FROM c4);
SELECT is((SELECT count(*) FROM md.claim_fetch('tap_feed_3', 60, 2) WHERE fetch_id = (SELECT fetch_id FROM c4))::int, 0,
          'after max_attempts claims it is not handed out again');
SELECT ok((SELECT status = 'FAILED' AND error LIKE 'given up after 2 attempts%' FROM md.bar_fetch WHERE fetch_id = (SELECT fetch_id FROM c4)),
          '... but FAILED, given up');

-- ---- trade.run_one: never a forming bar, never a stale factor product ----
SELECT pg_temp.hourly('TAPF_M', 1, 0);  -- the current hour: still forming
SELECT quant.set_user('tap_feed_alice');
CREATE TEMP TABLE dm AS
SELECT (quant.deploy(jsonb_build_object('strategy_id', quant.create_strategy(pg_temp.cfg('TAPF_M', pg_temp.sma() || ',' || pg_temp.sma()))->>'strategy_id',
        'qty', 1, 'schedule', 'manual', 'ticker', 'TAPF_M', 'market', 'CRYPTO'))->>'deployment_id')::uuid AS did;
SELECT is((SELECT (quant.run_deployment(did)->>'bar_ts')::timestamptz FROM dm), date_trunc('hour', now()) - interval '1 hour',
          'run_deployment evaluates the newest CLOSED bar, not the forming one');
CREATE TEMP TABLE dx AS
SELECT (quant.deploy(jsonb_build_object('strategy_id', quant.create_strategy(pg_temp.cfg('TAPF_M',
        replace(pg_temp.sma(), '"window":5', '"id":1,"window":5') || ',' || replace(pg_temp.sma('TAPF_OLD'), '"window":5', '"id":2,"window":5')))->>'strategy_id',
        'qty', 1, 'schedule', 'manual', 'ticker', 'TAPF_M', 'market', 'CRYPTO',
        'risk_limits', '{"max_bar_age_hours": 3}'::jsonb))->>'deployment_id')::uuid AS did;
CREATE TEMP TABLE rx AS SELECT quant.run_deployment(did) AS r FROM dx;
SELECT is((SELECT r->>'outcome' || '/' || (r->>'reason') FROM rx), 'REJECTED/stale_bars',
          'a factor product whose bars are late: REJECTED stale_bars (the traded one is fresh)');
SELECT ok((SELECT r->>'message' LIKE '%TAPF_OLD%' FROM rx), '... naming the factor product');
SELECT quant.reset_user();

SELECT * FROM finish();
ROLLBACK;
