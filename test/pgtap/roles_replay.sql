-- The audit's attacks on users and roles, replayed: each now fails with a clean refusal.
-- (The long request holding a key's row lock needs two connections: test/security/auth_lock.sh.)
BEGIN;
SELECT plan(38);
SET LOCAL client_min_messages = warning;

CREATE FUNCTION pg_temp.sqlstate_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN '00000';
EXCEPTION WHEN others THEN
    RETURN SQLSTATE;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.sqlstate_of(text) TO PUBLIC;
CREATE TEMP TABLE fx (name text PRIMARY KEY, v text);
GRANT ALL ON fx TO PUBLIC;

-- alice and bob, each with a strategy, a paper deployment and an API key
CREATE ROLE tap_rp_alice LOGIN;
CREATE ROLE tap_rp_admin LOGIN IN ROLE quant_admin;
SELECT quant.set_user('tap_rp_alice') \gset
INSERT INTO fx SELECT 'alice_sid', quant.create_strategy(
  '{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id';
INSERT INTO fx SELECT 'alice_did', quant.deploy(jsonb_build_object('strategy_id', v, 'qty', 10))->>'deployment_id' FROM fx WHERE name = 'alice_sid';
SELECT quant.set_user('tap_rp_bob') \gset
INSERT INTO fx SELECT 'bob_sid', quant.create_strategy(
  '{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":15,"signal":30}]}')->>'strategy_id';
INSERT INTO fx SELECT 'bob_did', quant.deploy(jsonb_build_object('strategy_id', v, 'qty', 10))->>'deployment_id' FROM fx WHERE name = 'bob_sid';
INSERT INTO fx SELECT 'bob_key', quant.create_api_key('tap_rp_bob', 'replay');
SELECT quant.reset_user() \gset

-- 1. SET quant.user (or set_config) chooses no one
SET LOCAL ROLE quant_app;
SET "quant.user" = 'tap_rp_alice';
SELECT is(quant.authenticated(), false, 'SET "quant.user" = alice: still no quant user');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.list_deployments()$$), '28000', '... and the API says 28000');
SELECT set_config('quant.user', 'tap_rp_alice', true) \gset
SELECT is(quant.authenticated(), false, 'set_config(''quant.user'', alice): still no quant user');
RESET "quant.user";

-- 2. quant.set_user is for administrators and the login of that name only
SELECT is(pg_temp.sqlstate_of($$SELECT quant.set_user('tap_rp_alice')$$), '42501', 'quant_app: set_user(alice) refused (42501)');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.set_user('tap_rp_alice', true)$$), '42501', 'quant_app: set_user(alice, true) refused');
SELECT is(pg_temp.sqlstate_of($$SELECT trade.set_transaction_user('tap_rp_alice')$$), '42501',
          'quant_app: the internal trade.set_transaction_user is not executable');
RESET ROLE;
SET LOCAL SESSION AUTHORIZATION tap_rp_alice;
SELECT is(quant.set_user('tap_rp_alice'), 'tap_rp_alice', 'the login tap_rp_alice may be quant user tap_rp_alice');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.set_user('tap_rp_bob')$$), '42501', '... but not tap_rp_bob');
SELECT quant.reset_user() \gset
RESET SESSION AUTHORIZATION;
SET LOCAL ROLE tap_rp_admin;
SELECT is(quant.set_user('tap_rp_bob', true), 'tap_rp_bob', 'a member of quant_admin may act as anyone');
SELECT quant.reset_user() \gset
RESET ROLE;

-- 3. no direct table writes as quant_app, even authenticated as the owner
SET LOCAL ROLE quant_app;
SELECT is(quant.login_api_key(v), 'tap_rp_bob', 'bob logs in with his key') FROM fx WHERE name = 'bob_key';
SELECT is(pg_temp.sqlstate_of(format($$UPDATE trade.deployment SET paper = false, live_since = now() WHERE deployment_id = %L$$, v)),
          '42501', 'quant_app: UPDATE trade.deployment to live refused') FROM fx WHERE name = 'bob_did';
SELECT is(pg_temp.sqlstate_of($$INSERT INTO trade.audit (user_id, entity, action) VALUES ('tap_rp_bob', 'deployment', 'forged')$$),
          '42501', 'quant_app: a forged trade.audit row refused');
SELECT is(pg_temp.sqlstate_of(format($$INSERT INTO trade.log (deployment_id, user_id, action, success) VALUES (%L, 'tap_rp_bob', 'BUY', true)$$, v)),
          '42501', 'quant_app: a forged trade.log row refused') FROM fx WHERE name = 'bob_did';
SELECT is(pg_temp.sqlstate_of(format($$INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal) VALUES (%L, 'tap_rp_bob', now(), 1)$$, v)),
          '42501', 'quant_app: a forged trade.signal row refused') FROM fx WHERE name = 'bob_did';
SELECT is(pg_temp.sqlstate_of($$INSERT INTO trade.api_key (key_id, user_id, key_hash) VALUES (gen_random_uuid(), 'tap_rp_alice', '\x00')$$),
          '42501', 'quant_app: a direct trade.api_key row refused');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM trade.api_key$$), '42501', 'quant_app: trade.api_key is not readable');
SELECT is(pg_temp.sqlstate_of($$SELECT * FROM bt.strategy$$), '42501', 'quant_app: bt.strategy is not readable (the API is)');
SELECT is(pg_temp.sqlstate_of($$SELECT trade.api_key_make(gen_random_uuid())$$), '42501', 'quant_app: trade.api_key_make is not executable');

-- 4. an API key minted for another user
SELECT is(pg_temp.sqlstate_of($$SELECT quant.create_api_key('tap_rp_alice')$$), '42501', 'bob (REST): a key for alice refused (42501)');
SELECT is(pg_temp.sqlstate_of($$SELECT trade.api_key_create_for('tap_rp_alice', NULL)$$), '42501',
          '... and the administrators'' entry point is not executable');
SELECT is((SELECT count(*)::int FROM quant.list_api_keys()), 1, 'bob still has his one key');
SELECT ok(quant.create_api_key('tap_rp_bob', 'second') ~ '^qk_', 'bob may make a key for himself');
-- the old pipeline (quant.set_user(quant.authenticate_api_key(key), true)) changes nothing
SELECT is(quant.set_user('tap_rp_bob', true), 'tap_rp_bob', 'set_user to the logged-in user: allowed (a no-op)');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.set_user('tap_rp_alice', true)$$), '42501', '... to anyone else: refused');

-- 5. a wrong key: NULL, no ERROR, and no user for the rest of the transaction
SELECT is(quant.login_api_key(left(v, -1) || CASE WHEN right(v, 1) = 'A' THEN 'B' ELSE 'A' END), NULL,
          'a wrong key: NULL') FROM fx WHERE name = 'bob_key';
SELECT is(quant.authenticated(), false, '... and after it no user, though bob had logged in before');
SELECT is(quant.login_api_key(NULL), NULL, 'a NULL key: NULL (no ERROR)');
SELECT is(quant.login_api_key(repeat('x', 100000)), NULL, 'a 100 kB key: NULL');
SELECT is((SELECT count(*)::int FROM (SELECT quant.list_deployments()) q WHERE quant.authenticated()), 0,
          'the gated statement of a request with a wrong key returns nothing, without an ERROR');
-- a login ends with the (sub)transaction that made it
SAVEPOINT s;
SELECT quant.login_api_key(v) FROM fx WHERE name = 'bob_key' \gset
ROLLBACK TO SAVEPOINT s;
SELECT is(quant.authenticated(), false, 'a login in a rolled back savepoint is undone');
RESET ROLE;

-- 6. a forged signal naming alice on bob's deployment: the worker rejects it and trades nothing
WITH s AS (INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker)
           SELECT d.v::uuid, 'tap_rp_alice', now(), 1, 'MSFT' FROM fx d WHERE d.name = 'bob_did'
           RETURNING signal_id)
INSERT INTO fx SELECT 'forged', s.signal_id FROM s;
SET LOCAL ROLE quant_worker;
SELECT is(pg_temp.sqlstate_of($$SELECT trade.worker_claim('tap_rp_worker')$$), '00000', 'quant_worker may claim');
SELECT is(has_table_privilege('quant_worker', 'trade.deployment', 'SELECT'), false, 'quant_worker: no table access');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.list_deployments()$$), '42501', 'quant_worker: no REST API');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.login_api_key('x')$$), '42501', 'quant_worker: no logins');
RESET ROLE;
SELECT is((SELECT status FROM trade.signal WHERE signal_id = (SELECT v::uuid FROM fx WHERE name = 'forged')), 'REJECTED',
          'the forged signal is REJECTED');
SELECT is((SELECT count(*)::int FROM trade."order" WHERE signal_id = (SELECT v::uuid FROM fx WHERE name = 'forged')), 0,
          '... and no order was made for it');
SELECT is((SELECT user_id || ' ' || reason FROM trade.log WHERE signal_id = (SELECT v::uuid FROM fx WHERE name = 'forged')),
          'tap_rp_bob invalid_signal', '... the rejection is in bob''s log (the deployment''s owner)');
SELECT is((SELECT count(*)::int FROM trade.log WHERE user_id = 'tap_rp_alice'), 0, 'alice''s log has nothing of it');

SELECT * FROM finish();
ROLLBACK;
