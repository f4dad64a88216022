-- quant.store_result / list_results: happy path, each invalid field, NULLs, nothing stored on failure.
BEGIN;
SELECT plan(24);
SET LOCAL client_min_messages = warning;
SELECT quant.set_user('tap_result_alice') \gset
CREATE TEMP TABLE ids AS SELECT (quant.create_strategy(
  '{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id')::uuid AS id;

SELECT function_returns('quant', 'store_result', ARRAY['uuid', 'jsonb'], 'jsonb', 'store_result returns jsonb');
SELECT function_returns('quant', 'list_results', ARRAY['uuid'], 'setof jsonb', 'list_results returns setof jsonb');

-- a real BacktestResults object, as quant.backtest returns it
SELECT is((SELECT (quant.store_result(id, quant.backtest(quant.get_strategy(id) - 'versions' - 'deleted_at' - 'latest_result'))->>'version')::int FROM ids),
          1, 'stores quant.backtest output against the current version');
SELECT is((SELECT quant.store_result(id, '{"metrics":{"sharpe_ratio":1.5},"walk_forward":{"best_window":20},"run_at":"2030-01-01T00:00:00Z"}') ? 'result_id' FROM ids),
          true, 'a minimal result gets a result_id');
SELECT is((SELECT count(*)::int FROM quant.list_results((SELECT id FROM ids))), 2, 'list_results lists both');
SELECT is((SELECT (r->'metrics'->>'sharpe_ratio')::numeric FROM quant.list_results((SELECT id FROM ids)) r LIMIT 1), 1.5, 'newest run first');
SELECT is((SELECT quant.get_strategy(id)->'latest_result'->'metrics'->>'sharpe_ratio' FROM ids), '1.5', 'get_strategy shows the latest result');

SELECT throws_ok($$SELECT quant.store_result(NULL, '{"metrics":{}}')$$, '22004', NULL, 'NULL strategy_id: 22004');
SELECT throws_ok($$SELECT quant.store_result(id, NULL) FROM ids$$, '22004', NULL, 'NULL result: 22004');
SELECT throws_like($$SELECT quant.store_result(id, '{"run_at":"2030-01-01"}') FROM ids$$, '%metrics%', 'metrics is required');
SELECT throws_like($$SELECT quant.store_result(id, '{"metrics":{"sharpe_ratio":"high"}}') FROM ids$$, '%metrics.sharpe_ratio%', 'a metric must be a number');
SELECT throws_like($$SELECT quant.store_result(id, '{"metrics":{},"run_at":"yesterday-ish"}') FROM ids$$, '%run_at%', 'run_at must be a timestamp');
SELECT throws_like($$SELECT quant.store_result(id, '{"metrics":{},"data_range":{"start":"2021-01-01","end":"2020-01-01"}}') FROM ids$$, '%data_range%', 'data_range start after end');
SELECT throws_ok($$SELECT quant.store_result(id, '{"metrics":{},"fee_bps":-1}') FROM ids$$, '22023', NULL, 'negative fee_bps: 22023');
SELECT throws_ok($$SELECT quant.store_result(quant.uuid_generate_v7(), '{"metrics":{}}')$$, 'P0002', NULL, 'unknown strategy: P0002');
SELECT is((SELECT count(*)::int FROM bt.result WHERE user_id = 'tap_result_alice'), 2, 'failed calls stored nothing');

-- more NULLs and fields; a deleted strategy takes no result
SELECT throws_ok($$SELECT * FROM quant.list_results(NULL)$$, '22004', NULL, 'list_results(NULL): 22004');
SELECT throws_ok($$SELECT * FROM quant.list_results(quant.uuid_generate_v7())$$, 'P0002', NULL, 'list_results of an unknown strategy: P0002');
SELECT throws_like($$SELECT quant.store_result(id, '{"metrics":{},"version":7}') FROM ids$$, '%version%', 'an unknown version is named');
SELECT throws_like($$SELECT quant.store_result(id, '{"metrics":{},"walk_forward":[1]}') FROM ids$$, '%walk_forward%', 'walk_forward must be an object');
SELECT throws_like($$SELECT quant.store_result(id, '{"metrics":{},"strategy_id":"00000000-0000-7000-8000-000000000000"}') FROM ids$$, '%strategy_id%', 'another strategy_id in the result is named');
SELECT throws_ok($$SELECT quant.store_result(id, '[1]') FROM ids$$, '22023', NULL, 'a result that is not an object: 22023');
SELECT lives_ok($$SELECT quant.delete_strategy(id) FROM ids$$, 'delete the strategy');
SELECT throws_ok($$SELECT quant.store_result(id, '{"metrics":{}}') FROM ids$$, 'P0002', NULL, 'a deleted strategy takes no result (P0002)');

SELECT * FROM finish();
ROLLBACK;
