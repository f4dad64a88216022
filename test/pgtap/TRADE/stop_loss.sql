-- The minute stop loss (issue 4): quant.stop_loss_triggered (the core's rule through C) and
-- quant.check_stop_losses on booked positions, without a worker (test/worker/live_test.py runs
-- the flatten end to end). Bars: a copy of TTRC under a ticker of its own, so prices can move.
BEGIN;
SELECT plan(33);
SET LOCAL client_min_messages = warning;

-- signatures and properties
SELECT has_function('quant', 'stop_loss_triggered', ARRAY['double precision', 'double precision', 'double precision', 'double precision'],
                    'stop_loss_triggered(float8 x4)');
SELECT volatility_is('quant', 'stop_loss_triggered', ARRAY['double precision', 'double precision', 'double precision', 'double precision'],
                     'immutable', 'stop_loss_triggered is IMMUTABLE');
SELECT is_strict('quant', 'stop_loss_triggered', ARRAY['double precision', 'double precision', 'double precision', 'double precision'],
                 'stop_loss_triggered is STRICT');
SELECT function_returns('quant', 'check_stop_losses', ARRAY[]::text[], 'integer', 'check_stop_losses() returns int');
SELECT is_definer('quant', 'check_stop_losses', ARRAY[]::text[], 'check_stop_losses is SECURITY DEFINER (pg_cron, every user)');
SELECT ok(NOT has_function_privilege('quant_app', 'quant.check_stop_losses()', 'EXECUTE'), 'quant_app cannot run it');
SELECT col_default_is('trade', 'signal', 'source', 'schedule'::text, 'trade.signal.source defaults to schedule');

-- the rule (the core's quant::stop_loss_triggered)
SELECT is(quant.stop_loss_triggered(10, 100, 94, 5), true, 'long 10 @ 100, now 94: a 6 % loss passes 5 %');
SELECT is(quant.stop_loss_triggered(10, 100, 95, 5), false, 'exactly 5 %: not past the limit');
SELECT is(quant.stop_loss_triggered(10, 100, 120, 5), false, 'long in profit: no');
SELECT is(quant.stop_loss_triggered(-10, 100, 106, 5), true, 'short -10 @ 100, now 106: triggered');
SELECT is(quant.stop_loss_triggered(-10, 100, 80, 5), false, 'short in profit: no');
SELECT is(quant.stop_loss_triggered(0, 100, 1, 5), false, 'flat: never');
SELECT is(quant.stop_loss_triggered(10, 0, 1, 5), false, 'no average price: no');
SELECT is(quant.stop_loss_triggered(10::numeric, 100::numeric, 94::numeric, 5), true, 'numeric arguments are cast');
SELECT is(quant.stop_loss_triggered(10, 100, NULL, 5), NULL, 'NULL in, NULL out (STRICT)');

-- a deployment of tap_sl on its own ticker, long 10 @ the latest close (booked directly)
INSERT INTO md.bar (ticker, ts, open, high, low, close, volume)
SELECT 'TAPSL', ts, open, high, low, close, volume FROM md.bar WHERE ticker = 'TTRC';
SELECT quant.set_user('tap_sl') \gset
CREATE TEMP TABLE dep AS
SELECT (quant.deploy(jsonb_build_object(
            'strategy_id', quant.create_strategy('{"ticker":"TAPSL","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id',
            'qty', 10, 'schedule', 'manual', 'ticker', 'TAPSL', 'market', 'US',
            'risk_limits', '{"max_bar_age_hours": null, "stop_loss_pct": 5}'::jsonb))->>'deployment_id')::uuid AS id;
INSERT INTO trade.position (deployment_id, user_id, symbol, qty, avg_price)
SELECT id, 'tap_sl', 'TAPSL', 10, (SELECT close FROM md.bar WHERE ticker = 'TAPSL' ORDER BY ts DESC LIMIT 1) FROM dep;
-- another user's losing position (short), checked in the same run
SELECT quant.set_user('tap_sl_bob') \gset
CREATE TEMP TABLE dep_b AS
SELECT (quant.deploy(jsonb_build_object(
            'strategy_id', quant.create_strategy('{"ticker":"TAPSL","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id',
            'qty', 10, 'schedule', 'manual', 'ticker', 'TAPSL', 'market', 'US',
            'risk_limits', '{"max_bar_age_hours": null, "stop_loss_pct": 5}'::jsonb))->>'deployment_id')::uuid AS id;
INSERT INTO trade.position (deployment_id, user_id, symbol, qty, avg_price)
SELECT id, 'tap_sl_bob', 'TAPSL', -10, (SELECT close FROM md.bar WHERE ticker = 'TAPSL' ORDER BY ts DESC LIMIT 1) * 0.5 FROM dep_b;
SELECT set_config('quant.user', '', false) \gset

-- the check runs over every user (the caller is no quant user)
SELECT is(quant.check_stop_losses() >= 1, true, 'at the entry price the long is safe; bob''s short at half the price is not');
SELECT is((SELECT count(*) FROM trade.signal g, dep WHERE g.deployment_id = dep.id), 0::bigint, 'no signal for the long at its entry price');
SELECT is((SELECT signal::int || '|' || status || '|' || source FROM trade.signal g, dep_b WHERE g.deployment_id = dep_b.id),
          '0|PENDING|stop_loss', 'bob''s short: a flattening signal (0, PENDING, source stop_loss)');
SELECT is((SELECT user_id FROM trade.signal g, dep_b WHERE g.deployment_id = dep_b.id), 'tap_sl_bob', 'written as its owner');
SELECT is(current_setting('quant.user', true), '', 'the caller''s quant.user is restored');

-- the price falls 10 %: the long's stop loss
INSERT INTO md.bar (ticker, ts, open, high, low, close, volume)
SELECT ticker, ts + interval '1 day', close, close, close, close * 0.9, volume FROM md.bar
WHERE ticker = 'TAPSL' ORDER BY ts DESC LIMIT 1;
SELECT ok(quant.check_stop_losses() >= 1, 'price -10 %: a signal written');
SELECT results_eq($$SELECT g.signal::int, g.source, g.bar_ts = (SELECT max(ts) FROM md.bar WHERE ticker = 'TAPSL'),
                           (g.evaluation->>'stop_loss_pct')::float8, (g.evaluation->>'loss_pct')::numeric > 5
                    FROM trade.signal g, dep WHERE g.deployment_id = dep.id$$,
                  $$VALUES (0, 'stop_loss', true, 5::float8, true)$$,
                  'the long: signal 0, source stop_loss, on the latest bar, the loss and the limit in evaluation');
SELECT results_eq($$SELECT l.action, l.reason, l.success, l.qty::float8, l.signal_id IS NOT NULL
                    FROM trade.log l, dep WHERE l.deployment_id = dep.id$$,
                  $$VALUES ('HOLD', 'stop_loss', true, 10::float8, true)$$,
                  'a trade.log row: HOLD, reason stop_loss, qty 10, with the signal id');
SELECT is(quant.check_stop_losses(), 0, 'checking again: nothing new (a stop-loss signal of each is open)');

-- the same bar once only, even after the first is finished
UPDATE trade.signal g SET status = 'REJECTED' FROM dep WHERE g.deployment_id = dep.id;
SELECT is(quant.check_stop_losses(), 0, 'finished but still losing: the same bar is not signalled twice');
SELECT throws_ok($$INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, source)
                   SELECT g.deployment_id, g.user_id, g.bar_ts, 0, 'stop_loss' FROM trade.signal g, dep WHERE g.deployment_id = dep.id$$,
                 '23505', NULL, 'the unique key (deployment_id, bar_ts, source) refuses a second stop-loss signal of a bar');
-- no re-entry on the same bar: the schedule's duplicate guard sees the stop-loss signal
SELECT quant.set_user('tap_sl') \gset
SELECT is((SELECT quant.run_deployment(id)->>'outcome' FROM dep), 'DUPLICATE',
          'run_deployment on the stop-loss bar: DUPLICATE, no re-entry on the same bar');
SELECT set_config('quant.user', '', false) \gset
-- a scheduled signal and a stop-loss signal of one bar coexist (the stop loss after the schedule)
INSERT INTO md.bar (ticker, ts, open, high, low, close, volume)
SELECT ticker, ts + interval '1 day', close, close, close, close, volume FROM md.bar
WHERE ticker = 'TAPSL' ORDER BY ts DESC LIMIT 1;
SELECT quant.set_user('tap_sl') \gset
SELECT is((SELECT quant.run_deployment(id)->>'outcome' FROM dep), 'SIGNAL', 'the next bar: the schedule''s signal');
SELECT set_config('quant.user', '', false) \gset
SELECT is(quant.check_stop_losses(), 1, '...and the stop loss on that bar too (the long is still down 10 %)');
SELECT results_eq($$SELECT g.source FROM trade.signal g, dep WHERE g.deployment_id = dep.id
                    AND g.bar_ts = (SELECT max(ts) FROM md.bar WHERE ticker = 'TAPSL') ORDER BY g.created_at, g.signal_id$$,
                  $$VALUES ('schedule'), ('stop_loss')$$, 'one bar: its scheduled signal, then its stop-loss signal');

-- the position is valued at the price of what is traded (the broker symbol), not of the strategy's
-- data ticker: carol trades TAPSX (half TAPSL's price) on a TAPSL strategy, bought at TAPSL's close
INSERT INTO md.bar (ticker, ts, open, high, low, close, volume)
SELECT 'TAPSX', ts, open * 0.5, high * 0.5, low * 0.5, close * 0.5, volume FROM md.bar WHERE ticker = 'TAPSL';
SELECT quant.set_user('tap_sl_carol') \gset
SELECT quant.set_ticker_mapping('TAPSL', 'PAPER', 'TAPSX', 'US') \gset
CREATE TEMP TABLE dep_c AS
SELECT (quant.deploy(jsonb_build_object(
            'strategy_id', quant.create_strategy('{"ticker":"TAPSL","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id',
            'qty', 10, 'schedule', 'manual', 'ticker', 'TAPSX', 'market', 'US',
            'risk_limits', '{"max_bar_age_hours": null, "stop_loss_pct": 5}'::jsonb))->>'deployment_id')::uuid AS id;
INSERT INTO trade.position (deployment_id, user_id, symbol, qty, avg_price)
SELECT id, 'tap_sl_carol', 'TAPSX', 10, (SELECT close FROM md.bar WHERE ticker = 'TAPSL' ORDER BY ts DESC LIMIT 1) FROM dep_c;
SELECT set_config('quant.user', '', false) \gset
SELECT ok(quant.check_stop_losses() >= 1, 'no loss at the data ticker''s price, 50 % at the traded symbol''s: a signal');
SELECT is((SELECT (g.evaluation->>'last_price')::float8 FROM trade.signal g, dep_c WHERE g.deployment_id = dep_c.id),
          (SELECT close::float8 FROM md.bar WHERE ticker = 'TAPSX' ORDER BY ts DESC LIMIT 1),
          'the stop loss valued the position at the traded symbol''s price');

SELECT * FROM finish();
ROLLBACK;
