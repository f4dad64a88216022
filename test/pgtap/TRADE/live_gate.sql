-- The live gate (seed 4.1): refused without confirmation, refused with a wrong password,
-- accepted with both; failures counted (outside the refused transaction) and a lockout.
BEGIN;
SELECT plan(14);
SET LOCAL client_min_messages = error;
-- a fresh user per run: failures are committed by the gate's autonomous transaction
SELECT 'tap_gate_' || substr(md5(random()::text), 1, 12) AS gate_user \gset
SELECT quant.set_user(:'gate_user') \gset
CREATE TEMP TABLE ids AS SELECT (quant.create_strategy(
  '{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id')::uuid AS sid;
CREATE TEMP VIEW live AS SELECT jsonb_build_object('strategy_id', sid, 'qty', 10, 'broker', 'FUTU', 'paper', false) AS d FROM ids;

SELECT throws_like($$SELECT quant.deploy(d) FROM live$$, '%confirm_live%', 'refused without confirmation');
SELECT throws_ok($$SELECT quant.deploy(d || '{"confirm_live": true}') FROM live$$, '42501', NULL, 'refused without a password: 42501');
SELECT throws_like($$SELECT quant.deploy(d || '{"confirm_live": true, "trade_password": "whatever1"}') FROM live$$, '%no trade password is set%', 'refused while no password is set');
SELECT throws_ok($$SELECT quant.set_trade_password('short')$$, '22023', NULL, 'a short password: 22023');
SELECT throws_ok($$SELECT quant.set_trade_password(NULL)$$, '22004', NULL, 'NULL password: 22004');
SELECT lives_ok($$SELECT quant.set_trade_password('correct horse battery')$$, 'set_trade_password');
SELECT ok((SELECT password_hash LIKE '$argon2id$%' FROM trade.trade_password WHERE user_id = :'gate_user'), 'stored as an Argon2id hash');
SELECT throws_ok($$SELECT quant.deploy(d || '{"confirm_live": true, "trade_password": "wrong"}') FROM live$$, '42501', NULL, 'wrong password: 42501');
SELECT is((SELECT count(*)::int FROM trade.live_gate_failure WHERE user_id = :'gate_user'), 1, 'the failure is counted despite the rollback');
-- a REAL FUTU deployment also needs the Futu trade password in the credential store (TRADE/credential_futu.sql)
COPY (SELECT repeat('5a', 32)) TO '/tmp/quant_tap_credential.key';
SET LOCAL quant.credential_key_file = '/tmp/quant_tap_credential.key';
SELECT quant.set_broker_credential('FUTU', 'real', 'default', 'tap-futu-trade-pw') IS NOT NULL AS futu_cred \gset
SELECT is((SELECT quant.deploy(d || '{"confirm_live": true, "trade_password": "correct horse battery"}')->'paper' FROM live), 'false'::jsonb,
          'accepted with confirmation and the password');
SELECT is((SELECT count(*)::int FROM trade.audit WHERE user_id = :'gate_user' AND action = 'live_enabled'
           AND message LIKE 'LIVE TRADING ENABLED for US.MSFT'), 1, 'success is in the audit trail');
SELECT is((SELECT count(*)::int FROM trade.deployment WHERE user_id = :'gate_user'), 1, 'only the accepted call stored a deployment');

-- lockout: five wrong passwords, then even the right one is refused
DO $$
BEGIN
    FOR i IN 1..5 LOOP
        BEGIN
            PERFORM quant.deploy(d || '{"confirm_live": true, "trade_password": "wrong"}') FROM live;
        EXCEPTION WHEN insufficient_privilege THEN NULL;
        END;
    END LOOP;
END
$$;
SELECT throws_like($$SELECT quant.deploy(d || '{"confirm_live": true, "trade_password": "correct horse battery"}') FROM live$$,
                   '%locked%', 'locked after 5 failures, even with the right password');
-- going live by update goes through the same gate
SELECT throws_ok($$SELECT quant.update_deployment((quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'broker', 'FUTU'))->>'deployment_id')::uuid,
                   '{"paper": false, "confirm_live": true, "trade_password": "correct horse battery"}') FROM ids$$, '42501', NULL,
                 'update to paper=false is gated too (and locked)');

SELECT * FROM finish();
ROLLBACK;
