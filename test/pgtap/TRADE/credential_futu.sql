-- FUTU at deploy time (sql/TRADE/credential.sql, issue 14): a REAL FUTU deployment (paper = false)
-- needs the user's Futu trade password in the broker credential store (FUTU, real); without it
-- quant.deploy and quant.update_deployment are refused after the live gate, naming broker and
-- saying how to store it, and nothing is stored. SIMULATE (paper = true) needs none; a simulate
-- credential does not count for real.
BEGIN;
SELECT plan(17);
SET LOCAL client_min_messages = warning;
\ir ../helpers.psql

COPY (SELECT repeat('5a', 32)) TO '/tmp/quant_tap_credential.key';
SET quant.credential_key_file = '/tmp/quant_tap_credential.key';

SELECT 'tap_futu_' || substr(md5(random()::text), 1, 10) AS u \gset
SELECT quant.set_user(:'u') \gset
SELECT quant.set_trade_password('live-gate-pw-1') \gset
CREATE TEMP TABLE s AS SELECT (quant.create_strategy('{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id')::uuid AS sid;
CREATE TEMP VIEW live AS SELECT jsonb_build_object('strategy_id', sid, 'qty', 10, 'broker', 'FUTU', 'paper', false,
       'confirm_live', true, 'trade_password', 'live-gate-pw-1', 'schedule', 'manual') AS d FROM s;

-- SIMULATE needs nothing
CREATE TEMP TABLE sim AS SELECT (quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 10, 'broker', 'FUTU', 'schedule', 'manual'))->>'deployment_id')::uuid AS did FROM s;
SELECT is((SELECT count(*)::int FROM trade.deployment WHERE user_id = :'u'), 1, 'a paper FUTU deployment (SIMULATE) needs no credential');

-- REAL without the trade password: refused at deploy time
CREATE TEMP TABLE e AS SELECT (pg_temp.err('SELECT quant.deploy(d) FROM live')).*;
SELECT is((SELECT state FROM e), '22023', 'REAL FUTU without a stored trade password: 22023');
SELECT is((SELECT col FROM e), 'broker', '... naming broker (COLUMN NAME)');
SELECT matches((SELECT msg FROM e), 'REAL FUTU deployment \(paper = false\) needs .*Futu trade password.*broker FUTU, environment real', '... the message names the missing credential');
SELECT matches((SELECT hint FROM e), 'set_broker_credential\(''FUTU'', ''real''', '... the hint says how to store it (SQL)');
SELECT matches((SELECT hint FROM e), 'PUT /api/v1/broker_credentials', '... and over REST');
SELECT is((SELECT count(*)::int FROM trade.deployment WHERE user_id = :'u'), 1, '... nothing stored');
SELECT is((SELECT count(*)::int FROM trade.audit WHERE user_id = :'u' AND action = 'live_enabled'), 0, '... no live_enabled audit row left behind');

-- going REAL by update is refused the same way, the deployment stays paper
SELECT is((pg_temp.err(format($q$SELECT quant.update_deployment(%L, '{"paper": false, "confirm_live": true, "trade_password": "live-gate-pw-1"}')$q$,
                               (SELECT did FROM sim)))).col, 'broker', 'update_deployment to paper = false: refused naming broker');
SELECT is((SELECT paper FROM trade.deployment WHERE deployment_id = (SELECT did FROM sim)), true, '... the deployment is still paper');

-- a simulate credential does not unlock REAL
SELECT quant.set_broker_credential('FUTU', 'simulate', 'default', 'sim-trade-pw') \gset
SELECT is((pg_temp.err('SELECT quant.deploy(d) FROM live')).state, '22023', 'a FUTU simulate credential does not count for real');

-- with the trade password stored it deploys, and the worker sees it sealed
SELECT quant.set_broker_credential('FUTU', 'real', '2001', 'futu-trade-pw') \gset
CREATE TEMP TABLE ok AS SELECT (quant.deploy(d)->>'deployment_id')::uuid AS did FROM live;
SELECT is((SELECT paper FROM trade.deployment WHERE deployment_id = (SELECT did FROM ok)), false, 'with a FUTU real credential the REAL deployment is stored');
SELECT is((SELECT environment || ',' || api_key || ',' || length(nonce) FROM trade.worker_credential((SELECT did FROM ok))),
          'real,2001,24', '... the worker sees environment real, the accID and the sealed password');

-- deleting it: the next enable is refused (disable itself is always allowed)
SELECT is(quant.delete_broker_credential('FUTU', 'real'), true, 'the real credential deleted');
SELECT lives_ok(format($q$SELECT quant.update_deployment(%L, '{"enabled": false}')$q$, (SELECT did FROM ok)), 'disabling needs no credential');
SELECT is((pg_temp.err(format($q$SELECT quant.update_deployment(%L, '{"enabled": true}')$q$, (SELECT did FROM ok)))).col,
          'broker', 'enabling it again without the credential: refused naming broker');
SELECT is((SELECT enabled FROM trade.deployment WHERE deployment_id = (SELECT did FROM ok)), false, '... it stays disabled');

SELECT * FROM finish();
ROLLBACK;
