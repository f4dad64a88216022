-- The live loop's scheduling (issue 4, part 1): quant.run_schedule / quant.run_deployment on the
-- sample TTRC bars (paper deployments with max_bar_age_hours null: the data ends in 2006),
-- backtest/live parity, the duplicate guard, stale bars, insufficient history, failure
-- isolation, markets, isolation between users, NULL arguments, deployment_signals/_trades.
-- NOTIFY is delivered only at commit, so it is checked in test/sql/pg_cron_runs.sh.
BEGIN;
SELECT plan(71);
SET LOCAL client_min_messages = warning;
\ir ../helpers.psql

CREATE FUNCTION pg_temp.cfg(ticker text, subs text, conj text DEFAULT 'AND') RETURNS jsonb LANGUAGE sql AS $$
    SELECT format('{"ticker":"%s","trading_period":252,"conjunction":"%s","substrategies":[%s]}', ticker, conj, subs)::jsonb
$$;
-- the same on hourly bars (the hourly schedule needs them): 1h copies of the sample bars below
CREATE FUNCTION pg_temp.hcfg(ticker text, subs text, conj text DEFAULT 'AND') RETURNS jsonb LANGUAGE sql AS $$
    SELECT pg_temp.cfg(ticker, subs, conj) || '{"interval": "1h", "trading_period": 1638}'
$$;

-- signatures
SELECT has_function('quant', 'run_schedule', ARRAY['text'], 'run_schedule(text)');
SELECT function_returns('quant', 'run_schedule', ARRAY['text'], 'integer', 'run_schedule returns int');
SELECT has_function('quant', 'run_schedule', ARRAY['text', 'text'], 'run_schedule(text, text): one market');
SELECT function_returns('quant', 'run_deployment', ARRAY['uuid'], 'jsonb', 'run_deployment(uuid) returns jsonb');
SELECT function_returns('quant', 'deployment_signals', ARRAY['uuid'], 'setof jsonb', 'deployment_signals(uuid) returns setof jsonb');
SELECT function_returns('quant', 'deployment_trades', ARRAY['uuid'], 'setof jsonb', 'deployment_trades(uuid) returns setof jsonb');
SELECT has_function('quant', 'install_schedules', ARRAY[]::text[], 'install_schedules()');
SELECT is_definer('quant', 'run_schedule', ARRAY['text'], 'run_schedule is SECURITY DEFINER (pg_cron runs it for every user)');
SELECT ok(NOT has_function_privilege('quant_app', 'quant.run_schedule(text)', 'EXECUTE'), 'quant_app cannot run every user''s schedule');
SELECT ok(has_function_privilege('quant_app', 'quant.run_deployment(uuid)', 'EXECUTE'), 'quant_app can run its own deployment');

-- markets: close times in UTC
SELECT results_eq($$SELECT market, close_time_utc::text, run_cron FROM refdata.market ORDER BY market$$,
                  $$VALUES ('CRYPTO', '00:00:00', '5 0 * * *'), ('HK', '08:00:00', '5 8 * * 1-5'), ('US', '21:00:00', '5 21 * * 1-5')$$,
                  'refdata.market: CRYPTO 00:00, HK 08:00, US 21:00 UTC (run 21:05: after the close in EST and EDT)');

-- max_bar_age_hours: null only for paper (the one validator), a number otherwise
SELECT quant.set_user('tap_sched_alice') \gset
CREATE TEMP TABLE s AS SELECT (quant.create_strategy(pg_temp.cfg('TTRC',
  '{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}'))->>'strategy_id')::uuid AS sid;
SELECT throws_like($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'broker', 'FUTU', 'paper', false,
                   'confirm_live', true, 'trade_password', 'whatever1', 'risk_limits', '{"max_bar_age_hours": null}'::jsonb)) FROM s$$,
                   '%max_bar_age_hours%paper%', 'a live deployment with max_bar_age_hours null is refused');
SELECT throws_ok($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'risk_limits', '{"max_bar_age_hours": 0}'::jsonb)) FROM s$$,
                 '22023', NULL, 'max_bar_age_hours 0: 22023');
SELECT throws_like($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'risk_limits', '{"max_bar_age_hours": "1h"}'::jsonb)) FROM s$$,
                   '%max_bar_age_hours%number%', 'max_bar_age_hours must be a number');
CREATE TEMP TABLE d1 AS SELECT (quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 10, 'schedule', 'manual',
                               'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid AS did FROM s;
SELECT is((SELECT quant.get_deployment(did)->'risk_limits'->'max_bar_age_hours' FROM d1), 'null'::jsonb,
          'paper: max_bar_age_hours null is kept (the check is off)');
SELECT is((SELECT quant.update_deployment(did, '{"risk_limits": {"max_bar_age_hours": 48}}')->'risk_limits'->'max_bar_age_hours' FROM d1),
          '48.0'::jsonb, 'update_deployment sets max_bar_age_hours');
SELECT is((SELECT quant.update_deployment(did, '{"risk_limits": {"max_bar_age_hours": null}}')->'risk_limits'->'max_bar_age_hours' FROM d1),
          'null'::jsonb, 'update_deployment turns it off again (paper)');

-- run_deployment: the happy path on TTRC
CREATE TEMP TABLE r1 AS SELECT quant.run_deployment(did) AS r FROM d1;
SELECT is((SELECT r->>'outcome' FROM r1), 'SIGNAL', 'run_deployment writes a signal');
SELECT is((SELECT r->>'bar_ts' FROM r1)::timestamptz, (SELECT max(ts) FROM md.bar WHERE ticker = 'TTRC'), 'on the latest TTRC bar');
SELECT is((SELECT r->>'status' FROM r1), 'PENDING', 'status PENDING, for quant-worker');
SELECT is((SELECT (r->>'strategy_version')::int FROM r1), 1, 'the pinned strategy version');
SELECT ok((SELECT (r->>'signal')::int IN (-1, 0, 1) FROM r1), 'signal is -1, 0 or 1');
SELECT is((SELECT jsonb_array_length(r->'substrategies') FROM r1), 1, 'one entry per substrategy');
SELECT ok((SELECT r->'substrategies'->0 ?& ARRAY['id', 'indicator', 'value', 'position'] FROM r1),
          'each substrategy has id, indicator, value, position');
SELECT is((SELECT count(*)::int FROM trade.signal g JOIN d1 ON g.deployment_id = d1.did), 1, 'one trade.signal row');
SELECT is((SELECT (g.evaluation->'substrategies'->0->>'value')::float8
             = (SELECT (x->>'value')::float8 FROM jsonb_array_elements(quant.evaluate_config(v.config)->'substrategies') x LIMIT 1)
           FROM trade.signal g JOIN d1 ON g.deployment_id = d1.did
           JOIN bt.strategy_version v ON v.strategy_id = (SELECT sid FROM s) AND v.version = 1), true,
          'the stored indicator value is evaluate_config''s');
-- the duplicate guard
SELECT is((SELECT quant.run_deployment(did)->>'outcome' FROM d1), 'DUPLICATE', 'the same bar again: DUPLICATE');
SELECT is((SELECT count(*)::int FROM trade.signal g JOIN d1 ON g.deployment_id = d1.did), 1, 'a second run writes no signal');
SELECT is((SELECT count(*)::int FROM trade.log l JOIN d1 ON l.deployment_id = d1.did), 0, '... and no log row');

-- the pinned version: a strategy update does not change what the deployment evaluates
SELECT quant.update_strategy(sid, pg_temp.cfg('TTRC', '{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":20,"signal":30}')) FROM s \gset
DELETE FROM trade.signal g USING d1 WHERE g.deployment_id = d1.did;
SELECT is((SELECT (quant.run_deployment(did)->'substrategies'->0->>'window')::int FROM d1), 14,
          'the deployment evaluates its pinned version (window 14), not the current one (20)');

-- deployment_signals / deployment_trades
SELECT is((SELECT count(*)::int FROM d1, quant.deployment_signals(did)), 1, 'deployment_signals lists the signal');
SELECT ok((SELECT j ?& ARRAY['signal', 'bar_ts', 'status', 'strategy_version', 'substrategies', 'created_at']
           FROM d1, quant.deployment_signals(did) j), 'deployment_signals rows: signal, bar_ts, status, strategy_version, substrategies, created_at');

-- stale bars: the default limit (daily_close 96 h) rejects the 2006 bars, with the reason and no signal
CREATE TEMP TABLE d2 AS SELECT (quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 10))->>'deployment_id')::uuid AS did FROM s;
CREATE TEMP TABLE r2 AS SELECT quant.run_deployment(did) AS r FROM d2;
SELECT is((SELECT r->>'outcome' || '/' || (r->>'action') || '/' || (r->>'reason') FROM r2), 'REJECTED/REJECTED/stale_bars',
          'stale bar: run_deployment returns the rejection');
SELECT ok((SELECT r->>'message' LIKE 'stale bars:%max_bar_age_hours 96' FROM r2), 'the message gives the limit');
SELECT is((SELECT count(*)::int FROM trade.signal g JOIN d2 ON g.deployment_id = d2.did), 0, 'no signal on a stale bar');
SELECT is((SELECT j->>'action' || '/' || (j->>'success') || '/' || (j->>'reason') FROM d2, quant.deployment_trades(did) j),
          'REJECTED/false/stale_bars', 'deployment_trades shows the REJECTED row');
SELECT ok((SELECT j ?& ARRAY['action', 'qty', 'success', 'message', 'order_id', 'timestamp', 'signal_value']
           FROM d2, quant.deployment_trades(did) j), 'deployment_trades rows: action, qty, success, message, order_id, timestamp, signal_value');
SELECT is((SELECT quant.update_deployment(did, '{"risk_limits": {"max_bar_age_hours": 999999}}') IS NOT NULL
              AND quant.run_deployment(did)->>'outcome' = 'SIGNAL' FROM d2), true, 'a limit above the bar''s age lets it through');

-- disabled: no evaluation
SELECT quant.update_deployment(did, '{"enabled": false}') FROM d2 \gset
SELECT throws_ok($$SELECT quant.run_deployment(did) FROM d2$$, '55000', NULL, 'a disabled deployment: 55000');

-- the hourly schedule needs 1h bars: a daily strategy is refused on it, naming schedule, nothing stored
SELECT throws_ok($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'schedule', 'hourly')) FROM s$$,
  '22023', NULL, 'an hourly deployment of a 1d strategy: 22023');
SELECT is((pg_temp.err($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'schedule', 'hourly')) FROM s$$)).col,
  'schedule', '... naming the field schedule');
SELECT ok((pg_temp.err($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'schedule', 'hourly')) FROM s$$)).msg
  LIKE 'quant.deploy: schedule: "hourly" runs on 1h bars but the strategy''s interval is 1d', '... saying why');
SELECT is((SELECT count(*)::int FROM trade.deployment d JOIN s ON s.sid = d.strategy_id WHERE d.schedule = 'hourly'), 0,
  '... and nothing is stored');

INSERT INTO md.bar (ticker, interval, ts, open, high, low, close, volume)
SELECT ticker, '1h', ts, open, high, low, close, volume FROM md.bar WHERE ticker IN ('TTRC', 'MSFT') AND interval = '1d';
-- run_schedule across users, with failures isolated; parity with the backtest for several configs
CREATE TEMP TABLE p (k int, cfg jsonb, sid uuid, did uuid);
INSERT INTO p (k, cfg) VALUES
  (1, pg_temp.hcfg('TTRC', '{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}')),
  (2, pg_temp.hcfg('TTRC', '{"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":10,"signal":0.5}')),
  (3, pg_temp.hcfg('TTRC', '{"indicator":"get_sma_distance","signal_func":"momentum_band_signal","window":50,"signal":0.02}')),
  (4, pg_temp.hcfg('TTRC', '{"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":5,"signal":60},{"indicator":"get_ema_distance","signal_func":"momentum_band_signal","window":20,"signal":0.01}', 'OR')),
  (5, pg_temp.hcfg('TTRC', '{"indicator":"get_stochastic_oscillator","signal_func":"momentum_bounded_signal_long_only","window":5,"signal":50},{"indicator":"get_bollinger_band","signal_func":"reversion_band_signal","window":10,"signal":0.5}', 'AND')),
  (6, pg_temp.hcfg('MSFT', '{"indicator":"get_rsi_wilder","signal_func":"reversion_bounded_signal","window":14,"signal":70}'));
-- a failing one first (its version's config corrupted behind the API), then one with too little history
CREATE TEMP TABLE f AS SELECT
  (quant.create_strategy(pg_temp.hcfg('TTRC', '{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":9,"signal":30}'))->>'strategy_id')::uuid AS bad_sid,
  (quant.create_strategy(pg_temp.hcfg('MSFT', '{"indicator":"get_sma","signal_func":"momentum_band_signal","window":400,"signal":0}'))->>'strategy_id')::uuid AS short_sid,
  NULL::uuid AS bad_did, NULL::uuid AS short_did;
UPDATE f SET bad_did = (quant.deploy(jsonb_build_object('strategy_id', bad_sid, 'qty', 1, 'schedule', 'hourly',
                          'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid,
             short_did = (quant.deploy(jsonb_build_object('strategy_id', short_sid, 'qty', 1, 'schedule', 'hourly',
                          'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid;
UPDATE bt.strategy_version v SET config = jsonb_set(v.config, '{substrategies,0,signal_func}', '"no_such_signal"')
  FROM f WHERE v.strategy_id = f.bad_sid;
UPDATE p SET sid = (quant.create_strategy(cfg)->>'strategy_id')::uuid;
UPDATE p SET did = (quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'schedule', 'hourly',
                      'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid;
-- bob: an hourly deployment of his own
SELECT quant.set_user('tap_sched_bob') \gset
CREATE TEMP TABLE b AS SELECT (quant.deploy(jsonb_build_object('strategy_id', (quant.create_strategy(
  pg_temp.hcfg('TTRC', '{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}'))->>'strategy_id')::uuid,
  'qty', 5, 'schedule', 'hourly', 'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid AS did;
-- a stopped hourly deployment is not evaluated
CREATE TEMP TABLE st AS SELECT (quant.deploy(jsonb_build_object('strategy_id', (SELECT d.strategy_id FROM trade.deployment d JOIN b ON b.did = d.deployment_id),
  'qty', 5, 'schedule', 'hourly', 'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid AS did;
SELECT quant.stop_deployment(did) FROM st \gset
SELECT quant.set_user('tap_sched_alice') \gset

CREATE TEMP TABLE before AS SELECT count(*) AS n FROM trade.signal WHERE created_at = now();
CREATE TEMP TABLE run AS SELECT quant.run_schedule('hourly') AS n;
SELECT is((SELECT n FROM run), (SELECT (count(*) - (SELECT n FROM before))::int FROM trade.signal WHERE created_at = now()),
          'run_schedule returns the number of signals written');
SELECT ok((SELECT n FROM run) >= 7, 'run_schedule wrote the signals of alice''s six and bob''s deployment');
SELECT is(quant.current_user_id(), 'tap_sched_alice', 'run_schedule restores the caller''s quant.user');
SELECT is((SELECT count(*)::int FROM p JOIN trade.signal g ON g.deployment_id = p.did), 6, 'every parity deployment got its signal');
SELECT is((SELECT count(*)::int FROM p JOIN trade.signal g ON g.deployment_id = p.did
           JOIN trade.deployment d ON d.deployment_id = p.did
           WHERE g.signal = (quant.backtest((SELECT v.config FROM bt.strategy_version v WHERE v.strategy_id = d.strategy_id AND v.version = d.strategy_version),
                                            5.0, NULL, g.bar_ts)->>'last_position')::numeric), 6,
          'parity: each live signal equals the backtest''s last_position over the same bars (6 configs)');
SELECT ok((SELECT count(DISTINCT g.signal) FROM p JOIN trade.signal g ON g.deployment_id = p.did) >= 2,
          'the parity configs do not all give the same signal');
SELECT is((SELECT g.bar_ts FROM p JOIN trade.signal g ON g.deployment_id = p.did WHERE p.k = 6),
          (SELECT max(ts) FROM md.bar WHERE ticker = 'MSFT'), 'the strategy''s own data ticker (MSFT)');
SELECT is((SELECT l.reason FROM trade.log l JOIN f ON l.deployment_id = f.bad_did), 'error', 'the failing deployment is logged REJECTED, reason error');
SELECT ok((SELECT l.message LIKE 'evaluation failed (SQLSTATE 22023)%no_such_signal%' FROM trade.log l JOIN f ON l.deployment_id = f.bad_did),
          '... with the error message');
SELECT is((SELECT l.reason FROM trade.log l JOIN f ON l.deployment_id = f.short_did), 'insufficient_history',
          'too little history: REJECTED insufficient_history');
SELECT is((SELECT count(*)::int FROM trade.signal g JOIN f ON g.deployment_id IN (f.bad_did, f.short_did)), 0, 'no signal for either');
SELECT is((SELECT user_id FROM trade.signal g JOIN b ON g.deployment_id = b.did), 'tap_sched_bob', 'bob''s signal is bob''s row');
SELECT is((SELECT count(*)::int FROM trade.signal g JOIN st ON g.deployment_id = st.did), 0, 'a stopped deployment is not evaluated');
SELECT is((SELECT count(*)::int FROM trade.signal g JOIN d2 ON g.deployment_id = d2.did), 1, 'a disabled daily_close deployment is not touched');
SELECT is(quant.run_schedule('hourly'), 0, 'the same run again writes nothing');

-- daily_close per market: the US job does not run HK deployments
CREATE TEMP TABLE d3 AS SELECT (quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 10,
                               'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid AS did FROM s;
SELECT quant.run_schedule('daily_close', 'HK') \gset
SELECT is((SELECT count(*)::int FROM trade.signal g JOIN d3 ON g.deployment_id = d3.did), 0, 'run_schedule(daily_close, HK) skips a US deployment');
SELECT quant.run_schedule('daily_close', 'US') \gset
SELECT is((SELECT count(*)::int FROM trade.signal g JOIN d3 ON g.deployment_id = d3.did), 1, 'run_schedule(daily_close, US) evaluates it');

-- the application role: row-level security holds and run_deployment still works
GRANT SELECT ON d1 TO quant_app;
SET LOCAL ROLE quant_app;
SELECT is((SELECT quant.run_deployment(did)->>'outcome' FROM d1), 'DUPLICATE', 'quant_app runs its own deployment under RLS');
RESET ROLE;

-- isolation: bob's deployment is "not found" for alice
SELECT throws_ok($$SELECT quant.run_deployment(did) FROM b$$, 'P0002', NULL, 'run_deployment of another user''s deployment: P0002');
SELECT throws_ok($$SELECT quant.deployment_signals(did) FROM b$$, 'P0002', NULL, 'deployment_signals of another user''s: P0002');
SELECT throws_ok($$SELECT quant.deployment_trades(did) FROM b$$, 'P0002', NULL, 'deployment_trades of another user''s: P0002');

-- NULLs and bad arguments
SELECT throws_ok($$SELECT quant.run_deployment(NULL)$$, '22004', NULL, 'run_deployment(NULL): 22004');
SELECT throws_ok($$SELECT quant.deployment_signals(NULL)$$, '22004', NULL, 'deployment_signals(NULL): 22004');
SELECT throws_ok($$SELECT quant.deployment_trades(NULL)$$, '22004', NULL, 'deployment_trades(NULL): 22004');
SELECT throws_ok($$SELECT quant.run_schedule(NULL)$$, '22004', NULL, 'run_schedule(NULL): 22004');
SELECT throws_like($$SELECT quant.run_schedule('manual')$$, '%unknown schedule%', 'run_schedule(manual): refused, manual runs on run_deployment');
SELECT throws_ok($$SELECT quant.run_schedule('daily_close', NULL)$$, '22004', NULL, 'run_schedule(schedule, NULL): 22004');
SELECT throws_ok($$SELECT quant.run_schedule('daily_close', 'NYSE')$$, '22023', NULL, 'unknown market: 22023');

SELECT * FROM finish();
ROLLBACK;
