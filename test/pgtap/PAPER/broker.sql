-- The embedded paper broker (sql/PAPER/broker.sql) and the worker's books (sql/TRADE/order.sql):
-- fills at the latest close with slippage and fee, shorts, cash rejections, the client order id
-- as idempotency key, position arithmetic, the worker's claim and outcome functions, RLS.
-- The worker process itself is tested by test/worker/run.sh.
BEGIN;
SELECT plan(30);
SET LOCAL client_min_messages = warning;

-- accounts
SELECT is((paper.open_account('acct1')).cash, 100000::numeric, 'default starting cash 100000');
SELECT is((paper.open_account('acct1', NULL, 5)).cash, 100000::numeric, 'opening again returns the account unchanged');
SELECT is((paper.open_account('acct2', 'u', 1000, 0, 0)).cash, 1000::numeric, 'starting cash as given');
SET LOCAL quant.paper_starting_cash = '2500';
SELECT is((paper.open_account('acct3')).cash, 2500::numeric, 'starting cash from the setting quant.paper_starting_cash');

-- fills: latest TTRC close 51.95, 1 bp slippage, 1 bp fee
SELECT is((paper.place_order('acct1', 'c1', 'TTRC', 'BUY', 10)).status, 'FILLED', 'a market buy fills');
SELECT is(fill_price, round(51.95 * 1.0001, 8), 'buy fills 1 bp above the latest close')
  FROM paper."order" WHERE client_order_id = 'c1';
SELECT is(fee, round(round(51.95 * 1.0001, 8) * 10 * 0.0001, 8), 'fee 1 bp of the notional') FROM paper."order" WHERE client_order_id = 'c1';
SELECT is(cash, 100000 - 10 * round(51.95 * 1.0001, 8) - round(round(51.95 * 1.0001, 8) * 10 * 0.0001, 8),
          'cash paid notional plus fee') FROM paper.account WHERE account = 'acct1';
SELECT is((paper.place_order('acct1', 'c1', 'TTRC', 'SELL', 99)).qty, 10::numeric,
          'the same client order id again returns the first order, unchanged');
SELECT is((SELECT count(*) FROM paper."order" WHERE client_order_id = 'c1'), 1::bigint, 'and places nothing');
SELECT is((paper.place_order('acct1', 'c2', 'TTRC', 'SELL', 25)).status, 'FILLED', 'a sell beyond the position: shorts allowed');
SELECT is((paper.get_position('acct1', 'TTRC')).qty, -15::numeric, 'position -15');
SELECT is((paper.get_position('acct1', 'TTRC')).avg_price, round(51.95 * 0.9999, 8), 'flipped: the short opened at the sell price');
SELECT is((paper.place_order('acct2', 'c3', 'TTRC', 'BUY', 100)).status, 'REJECTED', 'a buy beyond the cash is REJECTED');
SELECT matches((paper.get_order('c3')).reason, '^insufficient cash', 'with the reason');
SELECT is((paper.place_order('acct2', 'c4', 'NOPE', 'BUY', 1)).reason, 'no market price for symbol NOPE', 'no price: REJECTED');
SELECT is((paper.place_order('acct2', 'c5', 'TTRC', 'BUY', 1, 'LIMIT', 50)).status, 'REJECTED', 'LIMIT is not supported: REJECTED');
SELECT is((paper.get_order('nope')).order_id, NULL, 'get_order of an unknown id: NULL');
SELECT throws_ok($$SELECT paper.place_order('nobody', 'c6', 'TTRC', 'BUY', 1)$$, 'P0002', NULL, 'unknown account: P0002');

-- position arithmetic
SELECT results_eq($$SELECT new_qty, new_avg_price, realized FROM quant.position_after(10, 50, 10, 60)$$,
                  $$VALUES (20::numeric, 55::numeric, 0::numeric)$$, 'adding averages the price');
SELECT results_eq($$SELECT new_qty, new_avg_price, realized FROM quant.position_after(10, 50, -4, 60)$$,
                  $$VALUES (6::numeric, 50::numeric, 40::numeric)$$, 'reducing keeps the price, realises the P&L');
SELECT results_eq($$SELECT new_qty, new_avg_price, realized FROM quant.position_after(-10, 50, 15, 40)$$,
                  $$VALUES (5::numeric, 40::numeric, 100::numeric)$$, 'flipping a short: realised, the rest at the price');

-- the worker's functions
SELECT is_definer('trade', 'worker_claim', ARRAY['text', 'double precision', 'integer'], 'worker_claim is SECURITY DEFINER');
SELECT ok(NOT has_function_privilege('quant_app', 'trade.worker_claim(text, double precision, integer)', 'EXECUTE'),
          'quant_app cannot claim signals');
SELECT quant.set_user('pgtap_paper');
SELECT quant.create_strategy('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}');
CREATE TEMP TABLE dep AS SELECT (quant.deploy(jsonb_build_object('strategy_id', (SELECT strategy_id FROM bt.strategy WHERE user_id = 'pgtap_paper'),
                                 'qty', 10, 'schedule', 'manual', 'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid AS id;
CREATE TEMP TABLE sig AS SELECT (quant.run_deployment((SELECT id FROM dep))->>'signal_id')::uuid AS id;
SELECT is((trade.worker_claim('w1')).signal_id, (SELECT id FROM sig), 'worker_claim takes the PENDING signal');
SELECT is((trade.worker_claim('w2')).signal_id, NULL, 'another worker finds nothing to claim');
SELECT is((trade.worker_claim('w1')).signal_id, (SELECT id FROM sig), 'the same worker takes its own claim back (restart)');
SELECT lives_ok($$SELECT trade.worker_insert_intent((SELECT id FROM sig), 'open', 'coid-1', 'BUY', 10, false, 'w1')$$, 'an intent');
SELECT throws_ok($$SELECT trade.worker_insert_intent((SELECT id FROM sig), 'open', 'coid-1', 'BUY', 10, false, 'w1')$$,
                 '23505', NULL, 'the same client order id twice: 23505');
CREATE TEMP TABLE outcome AS SELECT (trade.worker_record_outcome('coid-1', 'FILLED', 'b1', 10, 52, 0.05, 'filled', 'DONE')).status;
SELECT is((SELECT status FROM outcome) || '/' || (SELECT qty FROM trade.position WHERE deployment_id = (SELECT id FROM dep))::text
           || '/' || (SELECT status FROM trade.signal WHERE signal_id = (SELECT id FROM sig))
           || '/' || (SELECT action || ' ' || order_id FROM trade.log WHERE signal_id = (SELECT id FROM sig)),
          'FILLED/10/DONE/BUY coid-1', 'record_outcome books order, position, a BUY log row and the signal in one call');

SELECT * FROM finish();
ROLLBACK;
