-- Users and isolation: quant.set_user / current_user_id, and the matrix: a second user can
-- neither see nor change anything of the first through any function (even as a superuser),
-- nor through the tables as the application role quant_app (row-level security with FORCE).
BEGIN;
SELECT plan(53);
SET LOCAL client_min_messages = warning;
\ir helpers.psql

-- users
SELECT throws_ok($$SELECT quant.current_user_id()$$, '28000', NULL, 'no current user: 28000');
SELECT throws_ok($$SELECT quant.set_user(NULL)$$, '22004', NULL, 'set_user(NULL): 22004');
SELECT throws_ok($$SELECT quant.set_user('bad name; drop')$$, '22023', NULL, 'set_user with a bad name: 22023');
SELECT throws_ok($$SELECT quant.set_user('')$$, '22023', NULL, 'set_user(''''): 22023');
SELECT is(quant.set_user('tap_iso_alice'), 'tap_iso_alice', 'set_user returns the name');
SELECT is(quant.current_user_id(), 'tap_iso_alice', 'current_user_id');
SELECT has_role('quant_app', 'the application role exists');
SELECT is((SELECT rolcanlogin OR rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = 'quant_app'), false, 'quant_app: NOLOGIN, no BYPASSRLS');
SELECT is((SELECT count(*)::int FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = 'quant_app'), 0, 'quant_app owns nothing');
SELECT is((SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname IN ('bt', 'trade') AND c.relkind = 'r' AND NOT (c.relrowsecurity AND c.relforcerowsecurity)), 0,
          'every bt/trade table has RLS enabled and forced');

-- alice's objects, one of each kind
CREATE TEMP TABLE a AS SELECT (quant.create_strategy(
  '{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id')::uuid AS sid,
  NULL::uuid AS did;
UPDATE a SET did = (quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 10))->>'deployment_id')::uuid;
SELECT quant.store_result(sid, '{"metrics":{"sharpe_ratio":1}}') FROM a \gset
INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal) SELECT did, 'tap_iso_alice', now(), 1 FROM a;
INSERT INTO trade.log (deployment_id, user_id, action, success) SELECT did, 'tap_iso_alice', 'BUY', true FROM a;
SELECT quant.set_ticker_mapping('ZZZ', 'FUTU', 'US.ZZZ', 'US') \gset
GRANT SELECT ON a TO quant_app;

-- bob, through every function (this session is a superuser: the functions still filter)
SELECT quant.set_user('tap_iso_bob') \gset
SELECT is(pg_temp.sqlstate_of($$SELECT quant.get_strategy(sid) FROM a$$), 'P0002', 'bob: get_strategy not found');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.update_strategy(sid, '{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":20,"signal":30}]}') FROM a$$), 'P0002', 'bob: update_strategy not found');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.delete_strategy(sid) FROM a$$), 'P0002', 'bob: delete_strategy not found');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.strategy_versions(sid) FROM a$$), 'P0002', 'bob: strategy_versions not found');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.evaluate(sid) FROM a$$), 'P0002', 'bob: evaluate not found');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.store_result(sid, '{"metrics":{}}') FROM a$$), 'P0002', 'bob: store_result not found');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.list_results(sid) FROM a$$), 'P0002', 'bob: list_results not found');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1)) FROM a$$), 'P0002', 'bob: deploy of alice''s strategy not found');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.get_deployment(did) FROM a$$), 'P0002', 'bob: get_deployment not found');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.update_deployment(did, '{"enabled": false}') FROM a$$), 'P0002', 'bob: update_deployment not found');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.stop_deployment(did) FROM a$$), 'P0002', 'bob: stop_deployment not found');
SELECT is((SELECT count(*)::int FROM quant.list_strategies()), 0, 'bob: list_strategies is empty');
SELECT is((SELECT count(*)::int FROM quant.list_deployments(true)), 0, 'bob: list_deployments is empty');
SELECT is((SELECT count(*)::int FROM quant.audit_trail()), 0, 'bob: audit_trail is empty');
SELECT is((SELECT count(*)::int FROM quant.deployments), 0, 'bob: view quant.deployments is empty');
SELECT is((SELECT count(*)::int FROM quant.strategies), 0, 'bob: view quant.strategies is empty');
SELECT is((SELECT count(*)::int FROM quant.list_ticker_mappings() m WHERE m->>'data_ticker' = 'ZZZ'), 0, 'bob: alice''s ticker mapping is invisible');

-- bob, through the tables as quant_app: no table is granted to it, whoever the user is
SET LOCAL ROLE quant_app;
SELECT pg_temp.sqlstate_of($$SELECT count(*) FROM bt.strategy$$) AS app_read_strategy,
       pg_temp.sqlstate_of($$SELECT count(*) FROM trade.deployment$$) AS app_read_deployment,
       pg_temp.sqlstate_of($$SELECT count(*) FROM trade.log$$) AS app_read_log,
       pg_temp.sqlstate_of($$SELECT count(*) FROM refdata.ticker_mapping$$) AS app_read_mapping,
       pg_temp.sqlstate_of($$UPDATE bt.strategy SET name = 'stolen'$$) AS bob_upd_strategy,
       pg_temp.sqlstate_of($$UPDATE trade.deployment SET enabled = false$$) AS bob_upd_deployment,
       pg_temp.sqlstate_of($$UPDATE refdata.ticker_mapping SET broker_ticker = 'X' WHERE data_ticker = 'ZZZ'$$) AS bob_upd_mapping,
       pg_temp.sqlstate_of($$INSERT INTO bt.strategy (user_id, name, ticker) VALUES ('tap_iso_alice', 'x', 'MSFT')$$) AS bob_ins_strategy,
       pg_temp.sqlstate_of($$INSERT INTO trade.log (deployment_id, user_id, action, success) SELECT did, 'tap_iso_alice', 'SELL', true FROM a$$) AS bob_ins_log,
       pg_temp.sqlstate_of($$DELETE FROM trade.deployment$$) AS bob_del_deployment,
       pg_temp.sqlstate_of($$SELECT * FROM trade.trade_password$$) AS bob_read_passwords,
       pg_temp.sqlstate_of($$UPDATE trade.audit SET message = 'x'$$) AS bob_upd_audit \gset
SELECT (quant.create_strategy('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}') ? 'strategy_id')::text AS app_create \gset
RESET ROLE;
SELECT is(:'app_read_strategy'::text, '42501', 'quant_app: bt.strategy not readable');
SELECT is(:'app_read_deployment'::text, '42501', 'quant_app: trade.deployment not readable');
SELECT is(:'app_read_log'::text, '42501', 'quant_app: trade.log not readable');
SELECT is(:'app_read_mapping'::text, '42501', 'quant_app: refdata.ticker_mapping not readable (quant.list_ticker_mappings is)');
SELECT is(:'bob_upd_strategy'::text, '42501', 'quant_app: UPDATE bt.strategy refused');
SELECT is(:'bob_upd_deployment'::text, '42501', 'quant_app: UPDATE trade.deployment refused');
SELECT is(:'bob_upd_mapping'::text, '42501', 'quant_app: UPDATE of a mapping refused');
SELECT is(:'bob_ins_strategy'::text, '42501', 'quant_app: INSERT of a strategy as alice refused');
SELECT is(:'bob_ins_log'::text, '42501', 'quant_app: INSERT of a trade as alice refused');
SELECT is(:'bob_del_deployment'::text, '42501', 'quant_app: DELETE on deployments refused');
SELECT is(:'bob_read_passwords'::text, '42501', 'quant_app: trade passwords unreadable');
SELECT is(:'bob_upd_audit'::text, '42501', 'quant_app: the audit trail is unwritable');
SELECT is(:'app_create'::text, 'true', 'quant_app works through the functions (as the current user, bob)');

-- alice's objects are untouched
SELECT quant.set_user('tap_iso_alice') \gset
SELECT is((SELECT quant.get_strategy(sid)->>'version' FROM a), '1', 'alice: still version 1');
SELECT is((SELECT quant.get_strategy(sid)->>'name' FROM a), 'rsi_reversion_14_30.0', 'alice: name unchanged');
SELECT is((SELECT quant.get_deployment(did)->>'status' FROM a), 'active', 'alice: deployment still active');
SELECT is((SELECT jsonb_array_length(quant.get_deployment(did)->'recent_trades') FROM a), 1, 'alice: one trade');
SELECT is((SELECT count(*)::int FROM quant.list_results((SELECT sid FROM a))), 1, 'alice: one result');

-- API keys and the audit trail in the matrix
SELECT quant.create_api_key('tap_iso_alice', 'iso') AS alice_key \gset
SELECT quant.set_user('tap_iso_bob') \gset
SELECT is((SELECT count(*)::int FROM quant.list_api_keys(true)), 0, 'bob: list_api_keys is empty');
SELECT is(pg_temp.sqlstate_of(format('SELECT quant.revoke_api_key(%L::uuid)', substr(:'alice_key', 4, 32))), 'P0002',
          'bob: revoke_api_key of alice''s key not found');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.create_api_key('tap_iso_alice')$$), '00000',
          'a superuser session is an administrator (it may create keys for anyone)');
SELECT is((SELECT count(*)::int FROM quant.audit_trail((SELECT sid FROM a))), 0, 'bob: audit_trail of alice''s strategy is empty');
SET LOCAL ROLE quant_app;
SELECT pg_temp.sqlstate_of($$SELECT count(*) FROM trade.api_key$$) AS bob_keys,
       pg_temp.sqlstate_of($$SELECT quant.create_api_key('tap_iso_alice')$$) AS bob_app_create \gset
RESET ROLE;
SELECT is(:'bob_keys'::text, '42501', 'quant_app: trade.api_key not readable');
SELECT is(:'bob_app_create'::text, '42501', 'quant_app as bob: no key for alice');
SELECT quant.set_user('tap_iso_alice') \gset
SELECT is(quant.authenticate_api_key(:'alice_key'), 'tap_iso_alice', 'alice: her key still works');

-- psql ergonomics: every function, table and view of the extension has a COMMENT
SELECT is((SELECT count(*)::int FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'quant'
           WHERE d.deptype = 'e'
             AND ((d.classid = 'pg_proc'::regclass AND obj_description(d.objid, 'pg_proc') IS NULL)
               OR (d.classid = 'pg_class'::regclass
                   AND (SELECT c.relkind FROM pg_class c WHERE c.oid = d.objid) IN ('r', 'v', 'm')
                   AND obj_description(d.objid, 'pg_class') IS NULL)
               OR (d.classid = 'pg_namespace'::regclass AND obj_description(d.objid, 'pg_namespace') IS NULL))),
          0, 'every function, table, view and schema of the extension has a COMMENT');

SELECT * FROM finish();
ROLLBACK;
