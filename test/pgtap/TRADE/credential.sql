-- Broker credentials (sql/TRADE/credential.sql): set, rotate, list and delete; only ciphertext,
-- nonce and a fingerprint stored (never the secret, never returned); the key file of
-- quant.credential_key_file; a BYBIT deployment without credentials for its environment is
-- refused at deploy time; the worker's view of them; grants.
BEGIN;
SELECT plan(30);
SET LOCAL client_min_messages = warning;
\ir ../helpers.psql

-- a key file the server can read (written by the server itself), named by the setting
COPY (SELECT repeat('5a', 32)) TO '/tmp/quant_tap_credential.key';
SET quant.credential_key_file = '/tmp/quant_tap_credential.key';

SELECT is_definer('quant', 'set_broker_credential', ARRAY['text', 'text', 'text', 'text'], 'set_broker_credential is SECURITY DEFINER');
SELECT ok(has_function_privilege('quant_app', 'quant.set_broker_credential(text, text, text, text)', 'EXECUTE'), 'quant_app may set credentials');
SELECT ok(NOT has_function_privilege('quant_worker', 'quant.set_broker_credential(text, text, text, text)', 'EXECUTE'), 'quant_worker may not');
SELECT ok(has_function_privilege('quant_worker', 'trade.worker_credential(uuid)', 'EXECUTE'), 'quant_worker reads them sealed');
SELECT ok(NOT has_function_privilege('quant_app', 'trade.worker_credential(uuid)', 'EXECUTE'), 'quant_app does not');
SELECT ok(NOT has_function_privilege('public', 'trade.credential_seal(text, text, text, text, text)', 'EXECUTE'), 'PUBLIC cannot seal');
SELECT ok(NOT has_table_privilege('quant_app', 'trade.broker_credential', 'SELECT'), 'no role reads the table');

SELECT quant.set_user('tap_cred') \gset
CREATE TEMP TABLE r AS SELECT quant.set_broker_credential('BYBIT', 'demo', 'TAPKEY0123456789', 'tap-Secret-9f8e7d6c5b') AS j;
SELECT is((SELECT j->>'rotated' FROM r), 'false', 'a first credential');
SELECT matches((SELECT j->>'fingerprint' FROM r), '^[0-9a-f]{16}$', 'returns a 16-hex fingerprint');
SELECT is((SELECT j->>'api_key_hint' FROM r), 'TA...6789', 'and a hint of the key');
SELECT ok((SELECT position('tap-Secret' IN j::text) = 0 FROM r), 'never the secret');
SELECT is((SELECT count(*)::int FROM trade.broker_credential
            WHERE position(convert_to('tap-Secret-9f8e7d6c5b', 'UTF8') IN ciphertext) > 0
               OR position(convert_to('tap-Secret-9f8e7d6c5b', 'UTF8') IN nonce) > 0), 0,
          'the stored row holds no clear secret');
SELECT is((SELECT length(nonce) FROM trade.broker_credential WHERE user_id = 'tap_cred'), 24, 'a 24-byte nonce');
SELECT is((SELECT fingerprint FROM quant.list_broker_credentials() WHERE environment = 'demo'),
          (SELECT j->>'fingerprint' FROM r), 'listed with its fingerprint');
SELECT ok((SELECT position('tap-Secret' IN (SELECT string_agg(l::text, ',') FROM quant.list_broker_credentials() l)) = 0),
          'the list never shows the secret');

-- rotation: a new secret replaces it, a new fingerprint, audited
CREATE TEMP TABLE r2 AS SELECT quant.set_broker_credential('bybit', 'demo', 'TAPKEY0123456789', 'tap-Secret-rotated-1') AS j;
SELECT is((SELECT j->>'rotated' FROM r2), 'true', 'setting it again rotates it');
SELECT isnt((SELECT j->>'fingerprint' FROM r2), (SELECT j->>'fingerprint' FROM r), 'with another fingerprint');
SELECT is((SELECT count(*)::int FROM trade.broker_credential WHERE user_id = 'tap_cred'), 1, 'still one row');
SELECT is((SELECT string_agg(action, ',' ORDER BY at) FROM trade.audit WHERE user_id = 'tap_cred' AND entity = 'broker_credential'),
          'set,rotated', 'audited as set, rotated');
SELECT ok((SELECT bool_and(position('tap-Secret' IN coalesce(new_value::text, '') || coalesce(old_value::text, '') || coalesce(message, '')) = 0)
             FROM trade.audit WHERE user_id = 'tap_cred'), 'the audit never holds the secret');

-- bad input names the field
SELECT is(pg_temp.err_col($$SELECT quant.set_broker_credential('PAPER', 'demo', 'K1', 'S1')$$), 'broker', 'broker PAPER refused, naming broker');
SELECT is(pg_temp.err_col($$SELECT quant.set_broker_credential('BYBIT', 'live', 'K1', 'S1')$$), 'environment', 'an unknown environment, naming environment');
SELECT is(pg_temp.err_col($$SELECT quant.set_broker_credential('BYBIT', 'demo', 'K 1', 'S1')$$), 'api_key', 'a key with a space, naming api_key');
SELECT is(pg_temp.err_col($$SELECT quant.set_broker_credential('BYBIT', 'demo', 'K1', '')$$), 'api_secret', 'an empty secret, naming api_secret');

-- deploy: BYBIT needs the credentials of its environment (paper -> demo)
SELECT quant.set_user('tap_cred2') \gset
CREATE TEMP TABLE s AS SELECT quant.create_strategy('{"ticker":"BTC-USD","trading_period":365,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id' AS id;
SELECT is((pg_temp.err(format($$SELECT quant.deploy(jsonb_build_object('strategy_id', %L, 'broker', 'BYBIT', 'qty', 0.01, 'schedule', 'manual'))$$, (SELECT id FROM s)))).col,
          'broker', 'a BYBIT deployment without demo credentials is refused, naming broker');
SELECT matches((pg_temp.err(format($$SELECT quant.deploy(jsonb_build_object('strategy_id', %L, 'broker', 'BYBIT', 'qty', 0.01, 'schedule', 'manual'))$$, (SELECT id FROM s)))).hint,
               'set_broker_credential\(''BYBIT'', ''demo''', 'the hint says how to store them');
SELECT quant.set_broker_credential('BYBIT', 'demo', 'TAPKEY2xxxxxxxx', 'tap2-secret-value') \gset
CREATE TEMP TABLE d AS SELECT quant.deploy(jsonb_build_object('strategy_id', (SELECT id FROM s), 'broker', 'BYBIT', 'qty', 0.01,
                                                            'schedule', 'manual', 'category', 'spot')) AS j;
SELECT is((SELECT j->>'ticker' FROM d), 'BTCUSDT', 'with them it deploys, on the mapped symbol');
SELECT is((SELECT environment || ',' || category || ',' || api_key || ',' || length(nonce)
             FROM trade.worker_credential((SELECT (j->>'deployment_id')::uuid FROM d))),
          'demo,spot,TAPKEY2xxxxxxxx,24', 'the worker sees environment, category and the sealed credentials');
SELECT is(quant.delete_broker_credential('BYBIT', 'demo'), true, 'deleted');
SELECT is((SELECT api_key FROM trade.worker_credential((SELECT (j->>'deployment_id')::uuid FROM d))), NULL,
          'then the worker finds none (the deployment fails closed)');

SELECT * FROM finish();
ROLLBACK;
