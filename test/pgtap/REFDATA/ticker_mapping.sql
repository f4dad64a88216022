-- refdata.ticker_mapping: shared and own mappings, and how quant.deploy uses them.
BEGIN;
SELECT plan(16);
SET LOCAL client_min_messages = warning;
SELECT quant.set_user('tap_map_alice') \gset
CREATE TEMP TABLE ids AS SELECT (quant.create_strategy(
  '{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id')::uuid AS id;

SELECT has_table('refdata', 'ticker_mapping', 'refdata.ticker_mapping exists');
SELECT ok((SELECT count(*) FROM quant.list_ticker_mappings() m WHERE (m->>'shared')::boolean) > 0, 'shared mappings are installed');
SELECT is((SELECT quant.deploy(jsonb_build_object('strategy_id', id, 'qty', 5, 'broker', 'FUTU'))->>'ticker' FROM ids), 'US.MSFT',
          'deploy fills the ticker from the shared mapping');
SELECT throws_like($$SELECT quant.deploy(jsonb_build_object('strategy_id', id, 'qty', 5, 'broker', 'BYBIT')) FROM ids$$,
                   '%no mapping of data ticker "MSFT" on broker BYBIT%', 'a missing mapping says which');
SELECT is(quant.set_ticker_mapping('MSFT', 'bybit', 'MSFTUSDT', 'crypto')->>'broker', 'BYBIT', 'set_ticker_mapping normalises the broker');
-- a BYBIT deployment needs the user's demo credentials (TRADE/credential.sql)
COPY (SELECT repeat('5a', 32)) TO '/tmp/quant_tap_credential.key';
SET quant.credential_key_file = '/tmp/quant_tap_credential.key';
SELECT quant.set_broker_credential('BYBIT', 'demo', 'TAPMAPKEY', 'tap-map-secret') IS NOT NULL AS cred \gset
SELECT is((SELECT quant.deploy(jsonb_build_object('strategy_id', id, 'qty', 0.5, 'broker', 'BYBIT'))->>'market' FROM ids), 'CRYPTO',
          'deploy uses the own mapping (and its market)');
SELECT is(quant.set_ticker_mapping('MSFT', 'FUTU', 'US.MSFT2', 'US')->>'broker_ticker', 'US.MSFT2', 'an own mapping overrides a shared one');
SELECT is((SELECT quant.deploy(jsonb_build_object('strategy_id', id, 'qty', 5, 'broker', 'FUTU'))->>'ticker' FROM ids), 'US.MSFT2',
          '... and deploy uses it');
SELECT throws_ok($$SELECT quant.set_ticker_mapping('MSFT', 'IBKR', 'X', 'US')$$, '22023', NULL, 'unknown broker: 22023');
SELECT throws_ok($$SELECT quant.set_ticker_mapping('MSFT', 'FUTU', 'X', 'EU')$$, '22023', NULL, 'unknown market: 22023');
SELECT throws_ok($$SELECT quant.set_ticker_mapping(NULL, 'FUTU', 'X', 'US')$$, '22004', NULL, 'NULL data_ticker: 22004');
SELECT quant.set_user('tap_map_bob') \gset
SELECT is((SELECT count(*)::int FROM quant.list_ticker_mappings() m WHERE NOT (m->>'shared')::boolean), 0,
          'another user does not see my mappings');

SELECT quant.set_user('tap_map_alice') \gset
SELECT throws_ok($$SELECT quant.set_ticker_mapping('MSFT', NULL, 'X', 'US')$$, '22004', NULL, 'NULL broker: 22004');
SELECT throws_ok($$SELECT quant.set_ticker_mapping('MSFT', 'FUTU', NULL, 'US')$$, '22004', NULL, 'NULL broker_ticker: 22004');
SELECT throws_ok($$SELECT quant.set_ticker_mapping('MSFT', 'FUTU', 'X', NULL)$$, '22004', NULL, 'NULL market: 22004');
SELECT is((SELECT count(*)::int FROM refdata.ticker_mapping WHERE user_id = 'tap_map_alice'), 2, 'failed calls stored nothing');

SELECT * FROM finish();
ROLLBACK;
