-- A breaker's trip is audited by a row of its own (issue 15, found by the chaos soak, test/chaos):
-- before, only the disable it caused was audited, so a trip on a deployment that a person had
-- disabled already (an exit still runs and can lose) left no audit row.
BEGIN;
SELECT plan(5);
SET LOCAL client_min_messages = warning;

INSERT INTO md.bar (ticker, ts, open, high, low, close, volume)
SELECT 'TAPBA', ts, open, high, low, close, volume FROM md.bar WHERE ticker = 'TTRC';
SELECT quant.set_user('tap_ba') \gset
CREATE TEMP TABLE deps AS
SELECT n, (quant.deploy(jsonb_build_object(
            'strategy_id', quant.create_strategy('{"ticker":"TAPBA","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id',
            'qty', 10, 'schedule', 'manual', 'ticker', 'TAPBA', 'market', 'US',
            'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid AS id
FROM generate_series(1, 2) n;

-- deployment 1 disabled by a person, then its breaker trips
SELECT quant.update_deployment((SELECT id FROM deps WHERE n = 1), '{"enabled": false}') \g /dev/null
SELECT is(trade.worker_trip_breaker((SELECT id FROM deps WHERE n = 1), NULL, 'deployment', 'max_daily_loss', 120, 100,
                                    'the loss today is 120')->>'tripped', 'true', 'a trip on a disabled deployment');
SELECT is((SELECT count(*) FROM trade.audit a JOIN trade.breaker b ON a.entity_id = b.breaker_id
           WHERE b.deployment_id = (SELECT id FROM deps WHERE n = 1) AND a.entity = 'breaker' AND a.action = 'trip'),
          1::bigint, '...has its audit row (entity breaker, action trip)');
SELECT is((SELECT a.new_value->>'breaker' || '|' || a.message FROM trade.audit a WHERE a.entity = 'breaker' AND a.action = 'trip'),
          'max_daily_loss|the loss today is 120', '...naming the breaker, with its message');

-- deployment 2 enabled: the trip is audited and so is the disable it causes
SELECT is(trade.worker_trip_breaker((SELECT id FROM deps WHERE n = 2), NULL, 'deployment', 'max_drawdown', 300, 200,
                                    'drawdown 300')->>'tripped', 'true', 'a trip on an enabled deployment');
SELECT is((SELECT string_agg(a.entity || ' ' || a.action, ',' ORDER BY a.entity)
           FROM trade.audit a
           WHERE a.entity_id IN ((SELECT id FROM deps WHERE n = 2),
                                 (SELECT breaker_id FROM trade.breaker WHERE deployment_id = (SELECT id FROM deps WHERE n = 2)))
             AND a.action IN ('trip', 'breaker')),
          'breaker trip,deployment breaker', '...its own audit row and the disable''s');

SELECT * FROM finish();
ROLLBACK;
