-- quant.deploy / list / get / update / stop_deployment: defaults, pinning, the kill switch,
-- each invalid field, NULLs, audit, and nothing stored on failure.
BEGIN;
SELECT plan(41);
SET LOCAL client_min_messages = warning;
SELECT quant.set_user('tap_deploy_alice') \gset
CREATE TEMP TABLE ids AS SELECT (quant.create_strategy(
  '{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id')::uuid AS sid,
  NULL::uuid AS did;
UPDATE ids SET did = (quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 100))->>'deployment_id')::uuid;

SELECT function_returns('quant', 'deploy', ARRAY['jsonb'], 'jsonb', 'deploy returns jsonb');
SELECT has_function('quant', 'update_deployment', ARRAY['uuid', 'jsonb'], 'update_deployment(uuid, jsonb)');
SELECT has_function('quant', 'stop_deployment', ARRAY['uuid'], 'stop_deployment(uuid)');
SELECT has_function('quant', 'get_deployment', ARRAY['uuid'], 'get_deployment(uuid)');

-- defaults of the seed
SELECT is((SELECT quant.get_deployment(did)->'paper' FROM ids), 'true'::jsonb, 'paper defaults to true');
SELECT is((SELECT quant.get_deployment(did)->'enabled' FROM ids), 'true'::jsonb, 'enabled defaults to true');
SELECT is((SELECT quant.get_deployment(did)->>'schedule' FROM ids), 'daily_close', 'schedule defaults to daily_close');
SELECT is((SELECT quant.get_deployment(did)->>'portfolio' FROM ids), 'DEFAULT', 'portfolio defaults to DEFAULT');
SELECT is((SELECT quant.get_deployment(did)->'risk_limits' FROM ids),
          '{"max_position_usd": 10000.0, "max_daily_trades": 10, "stop_loss_pct": 5.0,
            "max_orders_per_minute": 6, "max_consecutive_rejects": 3}'::jsonb,
          'risk limits default 10000 / 10 / 5%, 6 orders a minute, pause after 3 rejects');
SELECT is((SELECT quant.get_deployment(did)->>'strategy_version' FROM ids), '1', 'pins the current version');
SELECT is((SELECT quant.get_deployment(did)->'recent_trades' FROM ids), '[]'::jsonb, 'get_deployment has recent_trades');
SELECT is((SELECT pg_typeof(qty)::text FROM trade.deployment d JOIN ids i ON i.did = d.deployment_id), 'numeric', 'qty is NUMERIC');

-- a strategy update does not move a running deployment
SELECT quant.update_strategy(sid, '{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":20,"signal":30}]}') FROM ids \gset
SELECT is((SELECT quant.get_deployment(did)->>'strategy_version' FROM ids), '1', 'the deployment stays on version 1');

-- update: kill switch, qty, risk limits merged, schedule
SELECT is((SELECT quant.update_deployment(did, '{"enabled": false}')->>'status' FROM ids), 'disabled', 'the kill switch disables');
SELECT is((SELECT quant.update_deployment(did, '{"qty": 50, "risk_limits": {"max_daily_trades": 3}, "schedule": "manual"}')->'risk_limits' FROM ids),
          '{"max_position_usd": 10000.0, "max_daily_trades": 3, "stop_loss_pct": 5.0,
            "max_orders_per_minute": 6, "max_consecutive_rejects": 3}'::jsonb, 'risk limits are merged');
SELECT is((SELECT count(*)::int FROM trade.audit a JOIN ids i ON a.entity_id = i.did), 3, 'deploy and each update audited');
SELECT is((SELECT (old_value->>'qty')::numeric || '->' || (new_value->>'qty')::numeric FROM trade.audit a JOIN ids i ON a.entity_id = i.did
           WHERE action = 'update' ORDER BY at DESC LIMIT 1), '100->50', 'the audit row holds old and new');

-- invalid input names the field; nothing stored
SELECT throws_ok($$SELECT quant.deploy(NULL)$$, '22004', NULL, 'NULL deployment: 22004');
SELECT throws_like($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'broker', 'IBKR')) FROM ids$$, '%broker%', 'unknown broker named');
SELECT throws_like($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 0)) FROM ids$$, '%qty%', 'qty 0 named');
SELECT throws_like($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1.5)) FROM ids$$, '%qty%whole%', 'fractional qty on US refused');
SELECT throws_like($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'schedule', 'weekly')) FROM ids$$, '%schedule%', 'unknown schedule named');
SELECT throws_ok($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'user', 'someone_else')) FROM ids$$, '22023', NULL, 'another user: 22023');
SELECT throws_ok($$SELECT quant.deploy(jsonb_build_object('strategy_id', quant.uuid_generate_v7(), 'qty', 1))$$, 'P0002', NULL, 'unknown strategy: P0002');
SELECT throws_ok($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'strategy_version', 9)) FROM ids$$, '22023', NULL, 'unknown version: 22023');
SELECT throws_like($$SELECT quant.update_deployment(did, '{"broker": "FUTU"}') FROM ids$$, '%broker%cannot be changed%', 'update refuses other fields');
SELECT throws_ok($$SELECT quant.update_deployment(did, NULL) FROM ids$$, '22004', NULL, 'NULL patch: 22004');
SELECT is((SELECT count(*)::int FROM trade.deployment WHERE user_id = 'tap_deploy_alice'), 1, 'failed calls stored nothing');

-- stop: disabled with a time, never deleted
SELECT is((SELECT quant.stop_deployment(did)->>'status' FROM ids), 'stopped', 'stop_deployment stops');
SELECT is((SELECT count(*)::int FROM quant.list_deployments(true)), 1, 'the stopped deployment is kept (include_stopped)');

-- NULL ids, a stopped deployment stays stopped, failing updates change and audit nothing
SELECT throws_ok($$SELECT quant.get_deployment(NULL)$$, '22004', NULL, 'get_deployment(NULL): 22004');
SELECT throws_ok($$SELECT quant.stop_deployment(NULL)$$, '22004', NULL, 'stop_deployment(NULL): 22004');
SELECT throws_ok($$SELECT quant.update_deployment(NULL, '{"enabled": true}')$$, '22004', NULL, 'update_deployment(NULL, ...): 22004');
SELECT throws_ok($$SELECT quant.get_deployment(quant.uuid_generate_v7())$$, 'P0002', NULL, 'get an unknown deployment: P0002');
SELECT throws_ok($$SELECT quant.update_deployment(did, '{"enabled": true}') FROM ids$$, '55000', NULL, 'a stopped deployment cannot be re-enabled: 55000');
SELECT is((SELECT quant.stop_deployment(did)->>'stopped_at' FROM ids), (SELECT quant.get_deployment(did)->>'stopped_at' FROM ids), 'stopping twice changes nothing');
UPDATE ids SET did = (quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 7))->>'deployment_id')::uuid;
SELECT count(*) AS audit_before FROM trade.audit WHERE user_id = 'tap_deploy_alice' \gset
SELECT throws_like($$SELECT quant.update_deployment(did, '{"qty": -1}') FROM ids$$, '%qty%', 'update with a bad qty names it');
SELECT throws_like($$SELECT quant.update_deployment(did, '{"risk_limits": {"stop_loss_pct": "five"}}') FROM ids$$, '%stop_loss_pct%', 'update with a bad risk limit names it');
SELECT throws_ok($$SELECT quant.update_deployment(did, '[]') FROM ids$$, '22023', NULL, 'a patch that is not an object: 22023');
SELECT is((SELECT quant.get_deployment(did)->>'qty' FROM ids), '7', 'failed updates changed nothing');
SELECT is((SELECT count(*) FROM trade.audit WHERE user_id = 'tap_deploy_alice'), :audit_before::bigint, '... and audited nothing');

SELECT * FROM finish();
ROLLBACK;
