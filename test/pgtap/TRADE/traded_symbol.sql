-- What a deployment trades and how it is priced: refdata.broker_symbols / broker_symbol (deploy
-- and update accept only a mapping of the strategy's ticker), trade.symbol_price and the worker's
-- context (the price of the broker symbol, never of the data ticker), the qty bound of the
-- tables, and who may call quant.set_trade_password.
BEGIN;
SELECT plan(29);
SET LOCAL client_min_messages = error;
SELECT 'tap_sym_' || substr(md5(random()::text), 1, 10) AS u \gset
SELECT quant.set_user(:'u') \gset

-- a cheap data ticker of its own bars; MSFT has the sample bars
INSERT INTO md.bar (ticker, ts, close)
SELECT 'TAPPENNY', timestamptz '2001-01-01' + g * interval '1 day', 0.52 FROM generate_series(1, 30) g;
CREATE TEMP TABLE ids AS SELECT (quant.create_strategy(
  '{"ticker":"TAPPENNY","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id')::uuid AS sid;
CREATE TEMP VIEW dep AS SELECT jsonb_build_object('strategy_id', sid, 'qty', 1500, 'schedule', 'manual',
    'risk_limits', jsonb_build_object('max_bar_age_hours', NULL)) AS d FROM ids;

-- signatures
SELECT has_function('refdata', 'broker_symbols', ARRAY['text', 'text'], 'refdata.broker_symbols(text, text)');
SELECT has_function('trade', 'symbol_price', ARRAY['text', 'text'], 'trade.symbol_price(text, text)');
SELECT has_function('trade', 'quiet_report', ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text'],
                    'trade.quiet_report(...)');

-- the valid symbols
SELECT is(refdata.broker_symbols('TAPPENNY', 'PAPER'), ARRAY['TAPPENNY'], 'PAPER: an unmapped data ticker trades as itself');
SELECT is(refdata.broker_symbols('TAPPENNY', 'FUTU'), '{}'::text[], 'FUTU: nothing without a mapping');
SELECT is(refdata.broker_symbols('MSFT', 'FUTU'), ARRAY['US.MSFT'], 'FUTU: the shared mapping');

-- deploy: only a mapping of the strategy's ticker
SELECT throws_ok($$SELECT quant.deploy(d || '{"ticker": "MSFT", "market": "US"}') FROM dep$$, '22023',
                 'quant.deploy: ticker: "MSFT" on broker PAPER is not a mapping of the strategy''s ticker "TAPPENNY"',
                 'a symbol of another product is refused (22023)');
SELECT throws_ok($$SELECT quant.deploy(d || '{"broker": "FUTU", "ticker": "US.MSFT"}') FROM dep$$, '22023', NULL,
                 'FUTU: a symbol without a mapping is refused');
SELECT throws_ok($$SELECT quant.deploy(d || '{"broker": "FUTU"}') FROM dep$$, '22023', NULL,
                 'FUTU: no ticker and no mapping: refused as before');
SELECT is((SELECT quant.deploy(d || '{"ticker": "TAPPENNY", "market": "US", "qty": 10}')->>'ticker' FROM dep), 'TAPPENNY',
          'PAPER: the data ticker itself, with its market');
SELECT throws_ok($$SELECT quant.deploy(d || '{"ticker": "TAPPENNY", "qty": 10}') FROM dep$$, '22023', NULL,
                 'PAPER: the data ticker itself needs a market (no mapping gives one)');
SELECT lives_ok($$SELECT quant.set_ticker_mapping('TAPPENNY', 'PAPER', 'MSFT', 'US')$$, 'the user maps TAPPENNY to MSFT');
SELECT is((SELECT quant.deploy(d)->>'ticker' FROM dep), 'MSFT', 'deploy without ticker takes the own mapping');
SELECT throws_ok($$SELECT quant.deploy(d || '{"ticker": "MSFT", "market": "CRYPTO"}') FROM dep$$, '22023', NULL,
                 'a market other than the mapping''s is refused');

-- the worker's price is the broker symbol's, whatever the signal's data ticker is
CREATE TEMP TABLE sig (signal_id uuid, deployment_id uuid);
WITH d AS (SELECT * FROM trade.deployment WHERE user_id = :'u' AND ticker = 'MSFT'),
     s AS (INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version)
           SELECT deployment_id, user_id, '2031-01-01', 1, 'TAPPENNY', strategy_version FROM d
           RETURNING signal_id, deployment_id)
INSERT INTO sig SELECT signal_id, deployment_id FROM s;
SELECT is((SELECT (trade.worker_context(signal_id)->>'price')::float8 FROM sig),
          (SELECT close FROM md.bar WHERE ticker = 'MSFT' ORDER BY ts DESC LIMIT 1), 'context price: MSFT''s close');
SELECT is((SELECT trade.worker_context(signal_id)->>'price_symbol' FROM sig), 'MSFT', 'context price_symbol: MSFT');
SELECT is((SELECT price FROM trade.symbol_price('PAPER', 'NO_SUCH_SYMBOL')), NULL, 'an unknown symbol has no price');
SELECT is((SELECT price FROM trade.symbol_price('FUTU', 'US.MSFT')),
          (SELECT close FROM md.bar WHERE ticker = 'MSFT' ORDER BY ts DESC LIMIT 1), 'FUTU: priced by the shared mapping''s bars');
SELECT lives_ok($$SELECT quant.set_ticker_mapping('TAPPENNY', 'FUTU', 'US.MSFT', 'US')$$, 'an own FUTU mapping TAPPENNY -> US.MSFT');
SELECT is((SELECT price FROM trade.symbol_price('FUTU', 'US.MSFT')),
          (SELECT close FROM md.bar WHERE ticker = 'MSFT' ORDER BY ts DESC LIMIT 1), '...does not change how US.MSFT is priced');

-- update: a moved mapping refuses every update but switching off
SELECT lives_ok($$SELECT quant.set_ticker_mapping('TAPPENNY', 'PAPER', 'AAPL', 'US')$$, 'the mapping moves to AAPL');
SELECT throws_ok($$SELECT quant.update_deployment(deployment_id, '{"qty": 5}') FROM sig$$, '22023', NULL,
                 'an update that stays enabled is refused (22023 ticker)');
SELECT is((SELECT quant.update_deployment(deployment_id, '{"enabled": false}')->>'status' FROM sig), 'disabled',
          'switching off is never refused');

-- qty in the table itself
SELECT throws_ok($$UPDATE trade.deployment SET qty = 'NaN' WHERE deployment_id = (SELECT deployment_id FROM sig)$$,
                 '23514', NULL, 'qty NaN: 23514');
SELECT throws_ok($$UPDATE trade.deployment SET qty = 1e400 WHERE deployment_id = (SELECT deployment_id FROM sig)$$,
                 '23514', NULL, 'qty 1e400: 23514');
SELECT lives_ok($$UPDATE trade.deployment SET qty = 1e12 WHERE deployment_id = (SELECT deployment_id FROM sig)$$,
                'qty 1e12, the bound, is allowed');

-- quant.set_trade_password: not PUBLIC's
SELECT ok(NOT has_function_privilege('public', 'quant.set_trade_password(text, text)', 'EXECUTE'), 'set_trade_password: not PUBLIC');
SELECT ok(has_function_privilege('quant_app', 'quant.set_trade_password(text, text)', 'EXECUTE'), 'set_trade_password: quant_app');
SELECT ok(has_function_privilege('quant_admin', 'quant.set_trade_password(text, text)', 'EXECUTE'), 'set_trade_password: quant_admin');

SELECT * FROM finish();
ROLLBACK;
