-- The kill switches and the breakers' SQL (issue 15), without a worker (test/worker/safety_test.py
-- runs them end to end against quant-worker and the paper broker): flatten, disable all, the
-- administrators' halt, the last check before a send (trade.worker_send_gate), a breaker's trip
-- and reset, account limits.
BEGIN;
SELECT plan(50);
SET LOCAL client_min_messages = warning;

-- who may call what
SELECT ok(has_function_privilege('quant_app', 'quant.flatten_deployment(uuid)', 'EXECUTE'), 'quant_app may flatten');
SELECT ok(has_function_privilege('quant_app', 'quant.disable_all_deployments()', 'EXECUTE'), 'quant_app may disable all');
SELECT ok(NOT has_function_privilege('quant_app', 'quant.halt_trading(text)', 'EXECUTE'), 'quant_app may not halt');
SELECT ok(NOT has_function_privilege('quant_app', 'quant.resume_trading()', 'EXECUTE'), 'quant_app may not resume');
SELECT ok(has_function_privilege('quant_admin', 'quant.halt_trading(text)', 'EXECUTE'), 'quant_admin may halt');
SELECT ok(NOT has_function_privilege('quant_app', 'trade.worker_send_gate(text)', 'EXECUTE'), 'the gate is the worker''s');
SELECT ok(has_function_privilege('quant_worker', 'trade.worker_send_gate(text)', 'EXECUTE'), 'quant_worker has the gate');
SELECT ok(NOT has_table_privilege('quant_app', 'trade.breaker', 'INSERT, UPDATE, DELETE'), 'quant_app writes no breaker row');
SELECT ok(NOT has_table_privilege('quant_worker', 'trade.trading_halt', 'UPDATE'), 'quant_worker cannot lift a halt');

-- a user with two deployments on their own ticker
INSERT INTO md.bar (ticker, ts, open, high, low, close, volume)
SELECT 'TAPKS', ts, open, high, low, close, volume FROM md.bar WHERE ticker = 'TTRC';
SELECT quant.set_user('tap_ks') \gset
CREATE TEMP TABLE deps AS
SELECT n, (quant.deploy(jsonb_build_object(
            'strategy_id', quant.create_strategy('{"ticker":"TAPKS","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id',
            'qty', 10, 'schedule', 'manual', 'ticker', 'TAPKS', 'market', 'US',
            'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid AS id
FROM generate_series(1, 3) n;

-- flatten: disabled at once, one flattening signal, audited
CREATE TEMP TABLE fl AS SELECT quant.flatten_deployment((SELECT id FROM deps WHERE n = 1)) AS j;
SELECT is((SELECT j->>'status' FROM fl), 'disabled', 'flatten disables the deployment');
SELECT is((SELECT signal::int || '|' || status || '|' || source FROM trade.signal
           WHERE signal_id = (SELECT (j->>'flatten_signal_id')::uuid FROM fl)),
          '0|PENDING|flatten', 'a flattening signal: 0, PENDING, source flatten');
SELECT is((SELECT reason || '|' || success FROM trade.log WHERE signal_id = (SELECT (j->>'flatten_signal_id')::uuid FROM fl)),
          'flatten|true', 'a HOLD row, reason flatten, success (ends a pause)');
SELECT is(quant.flatten_deployment((SELECT id FROM deps WHERE n = 1))->>'flatten_signal_id',
          (SELECT j->>'flatten_signal_id' FROM fl), 'flatten again: the same open signal, no second');
SELECT is((SELECT count(*) FROM trade.audit WHERE entity_id = (SELECT id FROM deps WHERE n = 1) AND action = 'flatten'),
          1::bigint, 'one audit row (action flatten)');
SELECT throws_ok($$SELECT quant.flatten_deployment('00000000-0000-0000-0000-000000000001')$$, 'P0002', NULL,
                 'flatten of a deployment not yours: P0002');

-- disable all: the other two
SELECT is(quant.disable_all_deployments()->'disabled', '2'::jsonb, 'disable all: the two still enabled');
SELECT is((SELECT count(*) FROM trade.deployment WHERE user_id = 'tap_ks' AND enabled), 0::bigint, 'none enabled');
SELECT is(quant.disable_all_deployments()->'disabled', '0'::jsonb, 'again: nothing to disable');
SELECT is((SELECT count(*) FROM trade.audit WHERE user_id = 'tap_ks' AND action = 'disable_all'), 2::bigint,
          'each audited (action disable_all)');

-- the gate: a disabled deployment sends reduce-only orders only
UPDATE trade.deployment SET enabled = true, config = config || '{"enabled": true}' WHERE deployment_id = (SELECT id FROM deps WHERE n = 2);
CREATE TEMP TABLE sig AS
SELECT n, (SELECT signal_id FROM trade.signal WHERE false) AS id FROM generate_series(1, 4) n;
INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version)
SELECT (SELECT id FROM deps WHERE n = 2), 'tap_ks', timestamptz '2031-01-01' + k * interval '1 minute', 1, 'TAPKS', 1
FROM generate_series(1, 4) k;
UPDATE sig SET id = x.signal_id FROM (SELECT signal_id, row_number() OVER (ORDER BY bar_ts) AS n FROM trade.signal
                                      WHERE deployment_id = (SELECT id FROM deps WHERE n = 2)) x WHERE x.n = sig.n;
SELECT lives_ok($$SELECT trade.worker_insert_intent((SELECT id FROM sig WHERE n = 1), 'open', 'tapks-1', 'BUY', 10, false, 'tap')$$,
                'an entry intent (claimed, not yet sent)');
SELECT is(trade.worker_send_gate('tapks-1')->>'allowed', 'true', 'enabled, not halted: the gate lets it through');
UPDATE trade.deployment SET enabled = false WHERE deployment_id = (SELECT id FROM deps WHERE n = 2);
SELECT is(trade.worker_send_gate('tapks-1')->>'code', 'kill_switch', 'disabled since the intent: refused, kill_switch');
SELECT is((SELECT status || '|' || (sent_at IS NULL) FROM trade."order" WHERE client_order_id = 'tapks-1'),
          'REJECTED|true', 'the order is REJECTED and was never sent');
SELECT is((SELECT action || '|' || reason FROM trade.log WHERE order_id = 'tapks-1'), 'REJECTED|kill_switch',
          'a REJECTED row, reason kill_switch');
SELECT is((SELECT status FROM trade.signal WHERE signal_id = (SELECT id FROM sig WHERE n = 1)), 'REJECTED',
          'its signal is REJECTED (no leg filled)');
SELECT lives_ok($$SELECT trade.worker_insert_intent((SELECT id FROM sig WHERE n = 2), 'close', 'tapks-2', 'SELL', 10, true, 'tap')$$,
                'a reduce-only intent on the disabled deployment');
SELECT is(trade.worker_send_gate('tapks-2')->>'allowed', 'true', 'an exit passes the kill switch');

-- the administrators' halt stops exits too
SELECT is(quant.halt_trading('tap test')->>'halted', 'true', 'halt_trading: halted');
SELECT is(quant.trading_status()->>'reason', 'tap test', 'trading_status says why');
SELECT is((trade.worker_context((SELECT id FROM sig WHERE n = 2), 'close')->>'halted'), 'true', 'the worker''s facts say halted');
SELECT is(trade.worker_send_gate('tapks-2')->>'code', 'halted', 'halted: the exit is refused right before the send');
SELECT is((SELECT reason FROM trade.log WHERE order_id = 'tapks-2'), 'halted', 'a REJECTED row, reason halted');
SELECT throws_ok($$SELECT quant.halt_trading('')$$, '22004', NULL, 'a halt needs a reason');
SELECT is(quant.resume_trading()->>'halted', 'false', 'resume_trading: not halted');
SELECT is((SELECT string_agg(halted::text, ',' ORDER BY at) FROM trade.trading_halt_log), 'true,false',
          'both in trade.trading_halt_log');

-- a breaker: the deployment's daily loss
UPDATE trade.deployment SET enabled = true WHERE deployment_id = (SELECT id FROM deps WHERE n = 3);
SELECT is(trade.worker_trip_breaker((SELECT id FROM deps WHERE n = 3), NULL, 'deployment', 'max_daily_loss', 120, 100,
                                    'the loss today is 120')->>'tripped', 'true', 'worker_trip_breaker records a trip');
SELECT is((SELECT enabled FROM trade.deployment WHERE deployment_id = (SELECT id FROM deps WHERE n = 3)), false,
          'the breaker disabled the deployment at once');
SELECT is((SELECT reason || '|' || action FROM trade.log WHERE deployment_id = (SELECT id FROM deps WHERE n = 3)
           AND action = 'REJECTED'), 'max_daily_loss|REJECTED', 'a REJECTED row naming the breaker');
SELECT is((SELECT count(*) FROM trade.audit WHERE entity_id = (SELECT id FROM deps WHERE n = 3) AND action = 'breaker'),
          1::bigint, 'an audit row (action breaker)');
SELECT is(trade.worker_trip_breaker((SELECT id FROM deps WHERE n = 3), NULL, 'deployment', 'max_daily_loss', 130, 100,
                                    'again')->>'tripped', 'false', 'the same breaker open: no second row');
UPDATE trade.deployment SET enabled = true WHERE deployment_id = (SELECT id FROM deps WHERE n = 3);
INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version)
VALUES ((SELECT id FROM deps WHERE n = 3), 'tap_ks', '2031-02-01', 1, 'TAPKS', 1);
SELECT lives_ok($$SELECT trade.worker_insert_intent((SELECT signal_id FROM trade.signal WHERE deployment_id = (SELECT id FROM deps WHERE n = 3)),
                  'open', 'tapks-3', 'BUY', 10, false, 'tap')$$, 'an entry intent while the breaker is open');
SELECT is(trade.worker_send_gate('tapks-3')->>'code', 'breaker', 'an open breaker refuses the entry even when re-enabled');
SELECT is((SELECT count(*) FROM quant.list_breakers()), 1::bigint, 'list_breakers: one open');
SELECT is(quant.reset_breaker((SELECT (j->>'breaker_id')::uuid FROM quant.list_breakers() j))->>'open', 'false',
          'a person resets it');
SELECT is((SELECT count(*) FROM quant.list_breakers()), 0::bigint, 'none open');
SELECT is(trade.breaker_open((SELECT d FROM trade.deployment d WHERE deployment_id = (SELECT id FROM deps WHERE n = 3))),
          NULL, 'nothing blocks entries any more');

-- account limits: the core's validator, naming the field
SELECT is(quant.set_account_limits('{"max_daily_loss": 500, "max_open_exposure": 20000}')->'max_daily_loss', '500'::jsonb,
          'set_account_limits stores the normalised limits');
SELECT throws_ok($$SELECT quant.set_account_limits('{"max_drawdown_pct": 5}')$$, '22023', NULL,
                 'a percentage without capital: 22023');
SELECT throws_like($$SELECT quant.normalize_account_limits('{"max_daily_loss": -5}')$$, '%account_limits.max_daily_loss%',
                   'the error names the field');
SELECT throws_like($$SELECT quant.normalize_deployment('{"strategy_id": "00000000-0000-0000-0000-000000000001", "qty": 1, "risk_limits": {"max_consecutive_losses": 0}}')$$,
                   '%risk_limits.max_consecutive_losses%', 'the deployment parser names a breaker field');

SELECT * FROM finish();
ROLLBACK;
