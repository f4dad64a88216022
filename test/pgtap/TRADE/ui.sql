-- The web UI's SQL (issue 13, sql/TRADE/ui.sql): who may call what, the dashboard in one call
-- (against the tables), logins administered by an administrator person, clone_strategy.
-- test/http/test_ui.py runs the same over REST.
BEGIN;
SELECT plan(26);
SET LOCAL client_min_messages = warning;

SELECT ok(has_function_privilege('quant_app', 'quant.deployment_dashboard(boolean)', 'EXECUTE'), 'quant_app reads the dashboard');
SELECT ok(has_function_privilege('quant_app', 'quant.admin_create_user(text,text,boolean)', 'EXECUTE'), 'quant_app may call admin_create_user (the person is checked)');
SELECT ok(NOT has_function_privilege('quant_app', 'quant.set_person_admin(text,boolean)', 'EXECUTE'), 'quant_app may not make administrators');
SELECT ok(NOT has_function_privilege('public', 'quant.clone_strategy(uuid,text)', 'EXECUTE'), 'PUBLIC may not clone');
SELECT ok(has_function_privilege('quant_admin', 'quant.set_person_admin(text,boolean)', 'EXECUTE'), 'quant_admin makes administrators');

-- a user with a strategy, a deployment and a booked position
SELECT quant.set_person_password('tap_ui_boss', 'boss-password-1');
SELECT quant.set_person_admin('tap_ui_boss', true);
SELECT quant.set_person_password('tap_ui_joe', 'joe-password-1');
SELECT quant.set_user('tap_ui_joe');
CREATE TEMP TABLE s AS SELECT (quant.create_strategy('{"name":"tap ui","ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id')::uuid AS id;
CREATE TEMP TABLE d AS SELECT (quant.deploy(jsonb_build_object('strategy_id', (SELECT id FROM s), 'qty', 5,
    'risk_limits', '{"max_daily_trades": 4}'::jsonb))->>'deployment_id')::uuid AS id;
INSERT INTO trade.position (deployment_id, user_id, symbol, qty, avg_price, realized_pnl)
SELECT id, 'tap_ui_joe', 'TTRC', 5, 50, 3.5 FROM d;

CREATE TEMP TABLE dash AS SELECT quant.deployment_dashboard() AS j;
SELECT is((SELECT count(*) FROM dash), 1::bigint, 'the dashboard: one row per deployment');
SELECT is((SELECT (j->>'deployment_id')::uuid FROM dash), (SELECT id FROM d), 'the deployment''s row');
SELECT is((SELECT (j->>'max_daily_trades')::int || '|' || (j->>'trades_today')::int FROM dash), '4|0', 'trades today against the deployment''s limit');
SELECT is((SELECT (j->>'realized_pnl')::numeric FROM dash), 3.5, 'realised P&L as booked');
SELECT is((SELECT round((j->>'unrealized_pnl')::numeric, 6) FROM dash),
          round((paper.price_of('TTRC')::numeric - 50) * 5, 6), 'unrealised = (the paper price - avg) x qty');
SELECT is((SELECT round((j->>'pnl')::numeric, 6) FROM dash),
          round(3.5 + (paper.price_of('TTRC')::numeric - 50) * 5, 6), 'pnl = realised + unrealised');
SELECT quant.run_deployment((SELECT id FROM d));
SELECT is((SELECT j->'last_trade'->>'log_id' FROM (SELECT quant.deployment_dashboard() AS j) x),
          (SELECT log_id::text FROM trade.log WHERE deployment_id = (SELECT id FROM d) ORDER BY ts DESC, log_id DESC LIMIT 1),
          'last_trade is the newest trade.log row');

-- logins: joe is no administrator
SELECT is(quant.person_is_admin(), '{"user": "tap_ui_joe", "admin": false}'::jsonb, 'person_is_admin: joe is not');
SELECT throws_ok($$SELECT quant.admin_list_users()$$, '42501', NULL, 'joe may not list logins');
SELECT throws_ok($$SELECT quant.admin_create_user('tap_ui_new', 'new-password-1')$$, '42501', NULL, 'joe may not create one');
SELECT throws_ok($$SELECT quant.admin_unlock_user('tap_ui_joe')$$, '42501', NULL, 'joe may not unlock');

SELECT quant.set_user('tap_ui_boss');
SELECT is(quant.admin_create_user('tap_ui_new', 'new-password-1')->>'user', 'tap_ui_new', 'the administrator creates a login');
SELECT throws_ok($$SELECT quant.admin_create_user('tap_ui_new', 'new-password-1')$$, '55000', NULL, 'creating it again: 55000');
SELECT throws_ok($$SELECT quant.admin_create_user('tap ui', 'new-password-1')$$, '22023', NULL, 'a bad user name: 22023');
INSERT INTO trade.person_login_failure (user_id) SELECT 'tap_ui_new' FROM generate_series(1, 5);
SELECT isnt((SELECT j->>'locked_until' FROM quant.admin_list_users() j WHERE j->>'user' = 'tap_ui_new'), NULL, 'five failures: locked');
SELECT is((quant.admin_unlock_user('tap_ui_new')->>'failures')::int, 0, 'unlock: the failures stop counting');
SELECT is(quant.login_person('tap_ui_new', 'new-password-1')->>'ok', 'true', 'and the password logs in');
SELECT quant.set_user('tap_ui_boss');
SELECT quant.admin_reset_password('tap_ui_new', 'other-password-2');
SELECT is(quant.login_person('tap_ui_new', 'new-password-1')->>'reason', 'wrong', 'reset: the old password is wrong');
SELECT quant.set_user('tap_ui_boss');
SELECT throws_ok($$SELECT quant.admin_reset_password('tap_ui_nobody', 'other-password-2')$$, 'P0002', NULL, 'reset of no login: P0002');

-- clone
SELECT quant.set_user('tap_ui_joe');
SELECT is((SELECT (c->>'version')::int || '|' || (c->>'name') || '|' || ((c->>'strategy_id')::uuid <> (SELECT id FROM s))
           FROM (SELECT quant.clone_strategy((SELECT id FROM s)) AS c) x), '1|tap ui (copy)|true',
          'clone: a new strategy, version 1, "(copy)"');
SELECT quant.set_user('tap_ui_boss');
SELECT throws_ok($$SELECT quant.clone_strategy((SELECT id FROM s))$$, 'P0002', NULL, 'another user''s strategy: P0002');

SELECT * FROM finish();
ROLLBACK;
