-- quant.create/list/get/update/delete_strategy, strategy_versions, evaluate: happy paths,
-- versioning and its hash, each invalid field, NULL arguments, and nothing stored on failure.
BEGIN;
SELECT plan(65);
SET LOCAL client_min_messages = warning;

CREATE TEMP TABLE cfg AS SELECT
  '{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}'::jsonb AS v1,
  '{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":20,"signal":30}]}'::jsonb AS v2;
CREATE TEMP TABLE ids (name text PRIMARY KEY, id uuid);
GRANT ALL ON cfg, ids TO PUBLIC;

-- signatures
SELECT has_function('quant', 'create_strategy', ARRAY['jsonb'], 'create_strategy(jsonb)');
SELECT function_returns('quant', 'create_strategy', ARRAY['jsonb'], 'jsonb', 'create_strategy returns jsonb');
SELECT function_returns('quant', 'list_strategies', ARRAY[]::text[], 'setof jsonb', 'list_strategies returns setof jsonb');
SELECT has_function('quant', 'get_strategy', ARRAY['uuid'], 'get_strategy(uuid)');
SELECT has_function('quant', 'update_strategy', ARRAY['uuid', 'jsonb'], 'update_strategy(uuid, jsonb)');
SELECT has_function('quant', 'delete_strategy', ARRAY['uuid'], 'delete_strategy(uuid)');
SELECT has_function('quant', 'evaluate', ARRAY['uuid'], 'evaluate(uuid)');

-- no user
SELECT throws_ok($$SELECT quant.create_strategy((SELECT v1 FROM cfg))$$, '28000', NULL, 'no current user: 28000');
SELECT throws_ok($$SELECT * FROM quant.list_strategies()$$, '28000', NULL, 'list without a user: 28000');

SELECT quant.set_user('tap_strategy_alice') \gset

-- create: name generated, version 1, UUIDv7 id
INSERT INTO ids SELECT 's', (quant.create_strategy(v1)->>'strategy_id')::uuid FROM cfg;
SELECT is((SELECT quant.get_strategy(id)->>'name' FROM ids WHERE name = 's'), 'rsi_reversion_14_30.0', 'name generated when empty');
SELECT is((SELECT (quant.get_strategy(id)->>'version')::int FROM ids WHERE name = 's'), 1, 'first version is 1');
SELECT is((SELECT substr(id::text, 15, 1) FROM ids WHERE name = 's'), '7', 'strategy_id is a UUIDv7');
SELECT is((SELECT count(*)::int FROM quant.list_strategies()), 1, 'listed');
SELECT ok((SELECT quant.get_strategy(id) ? 'latest_result' FROM ids WHERE name = 's'), 'get_strategy has latest_result');

-- duplicate submission returns the existing strategy
SELECT is((SELECT (quant.create_strategy(v1)->>'strategy_id')::uuid FROM cfg), (SELECT id FROM ids WHERE name = 's'),
          'identical parameters: create returns the existing strategy');
SELECT is((SELECT count(*)::int FROM bt.strategy WHERE user_id = 'tap_strategy_alice'), 1, 'no duplicate stored');

-- versioning
SELECT is((SELECT (quant.update_strategy(i.id, c.v1)->>'version')::int FROM ids i, cfg c WHERE i.name = 's'), 1,
          'identical parameters keep version 1');
SELECT is((SELECT (quant.update_strategy(i.id, c.v1 || '{"name":"renamed"}')->>'version')::int FROM ids i, cfg c WHERE i.name = 's'), 1,
          'a new name alone keeps the version');
SELECT is((SELECT quant.get_strategy(id)->>'name' FROM ids WHERE name = 's'), 'renamed', '... and renames');
SELECT is((SELECT (quant.update_strategy(i.id, c.v2)->>'version')::int FROM ids i, cfg c WHERE i.name = 's'), 2,
          'changed parameters make version 2');
SELECT is((SELECT count(*)::int FROM quant.strategy_versions((SELECT id FROM ids WHERE name = 's'))), 2, 'version 1 kept');
SELECT is((SELECT (v->'substrategies'->0->>'window')::int FROM quant.strategy_versions((SELECT id FROM ids WHERE name = 's')) v
           WHERE (v->>'version')::int = 1), 14, 'version 1 keeps its parameters');
SELECT is((SELECT (quant.update_strategy(i.id, c.v1)->>'version')::int FROM ids i, cfg c WHERE i.name = 's'), 3,
          'going back to earlier parameters is version 3');
SELECT is((SELECT (quant.update_strategy(i.id, c.v1 || jsonb_build_object('strategy_id', i.id))->>'version')::int FROM ids i, cfg c WHERE i.name = 's'), 3,
          'a config carrying its own strategy_id is fine');
SELECT is((SELECT (quant.create_strategy(c.v2 || jsonb_build_object('strategy_id', i.id))->>'version')::int FROM ids i, cfg c WHERE i.name = 's'), 4,
          'create with the id of an own strategy updates it');
SELECT is((SELECT count(*)::int FROM trade.audit WHERE entity_id = (SELECT id FROM ids WHERE name = 's')
           AND action IN ('create', 'new_version')), 4, 'each version is audited');

-- the returned object is a valid Strategy JSON (quant.backtest takes it as it is)
SELECT lives_ok($$SELECT quant.backtest(quant.update_strategy(id, (SELECT v2 FROM cfg))) FROM ids WHERE name = 's'$$,
                'the returned StrategyConfig backtests as it is');

-- invalid input names the field; nothing is stored
SELECT throws_ok($$SELECT quant.create_strategy(NULL)$$, '22004', NULL, 'NULL config: 22004');
SELECT throws_like($$SELECT quant.create_strategy('{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_nope","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')$$,
                   '%substrategies[0].indicator%', 'unknown indicator names the field');
SELECT throws_ok($$SELECT quant.create_strategy('{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":0,"signal":30}]}')$$,
                 '22023', NULL, 'window 0: 22023');
SELECT throws_ok($$SELECT quant.create_strategy('{"trading_period":252,"substrategies":[]}')$$, '22023', NULL, 'missing ticker: 22023');
SELECT throws_ok($$SELECT quant.create_strategy('{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}],"colour":1}')$$,
                 '22023', NULL, 'unknown key: 22023');
SELECT throws_ok($$SELECT quant.create_strategy('[1,2]')$$, '22023', NULL, 'not an object: 22023');
SELECT throws_ok($$SELECT quant.create_strategy((SELECT v1 FROM cfg) || '{"strategy_id":"not-a-uuid"}')$$, '22023', NULL, 'bad strategy_id: 22023');
SELECT throws_ok($$SELECT quant.update_strategy(NULL, (SELECT v1 FROM cfg))$$, '22004', NULL, 'update NULL id: 22004');
SELECT throws_ok($$SELECT quant.update_strategy(id, NULL) FROM ids WHERE name = 's'$$, '22004', NULL, 'update NULL config: 22004');
SELECT throws_ok($$SELECT quant.update_strategy(id, (SELECT v1 FROM cfg) || jsonb_build_object('strategy_id', quant.uuid_generate_v7())) FROM ids WHERE name = 's'$$,
                 '22023', NULL, 'update with another strategy_id in the config: 22023');
SELECT throws_ok($$SELECT quant.update_strategy(quant.uuid_generate_v7(), (SELECT v1 FROM cfg))$$, 'P0002', NULL, 'update unknown id: P0002');
SELECT throws_ok($$SELECT quant.get_strategy(quant.uuid_generate_v7())$$, 'P0002', NULL, 'get unknown id: P0002');
SELECT throws_ok($$SELECT quant.get_strategy(NULL)$$, '22004', NULL, 'get NULL: 22004');
SELECT is((SELECT count(*)::int FROM bt.strategy_version WHERE user_id = 'tap_strategy_alice'), 4, 'failed calls stored no version');

-- evaluate: the live signal of the current version
SELECT is((SELECT quant.evaluate(id)->>'version' FROM ids WHERE name = 's'), '4', 'evaluate names the version');
SELECT ok((SELECT (quant.evaluate(id)->>'signal')::numeric IN (-1, 0, 1) FROM ids WHERE name = 's'), 'evaluate gives a signal in {-1,0,1}');

-- soft delete
SELECT is((SELECT quant.delete_strategy(id)->>'deleted_at' IS NOT NULL FROM ids WHERE name = 's'), true, 'delete marks deleted_at');
SELECT is((SELECT count(*)::int FROM quant.list_strategies()), 0, 'a deleted strategy leaves the list');
SELECT is((SELECT count(*)::int FROM bt.strategy_version v JOIN ids i ON i.id = v.strategy_id), 4, 'its versions stay');
SELECT throws_ok($$SELECT quant.update_strategy(id, (SELECT v1 FROM cfg)) FROM ids WHERE name = 's'$$, 'P0002', NULL,
                 'a deleted strategy cannot be updated');


-- NULL arguments of the other functions
SELECT throws_ok($$SELECT quant.delete_strategy(NULL)$$, '22004', NULL, 'delete NULL: 22004');
SELECT throws_ok($$SELECT quant.strategy_versions(NULL)$$, '22004', NULL, 'strategy_versions NULL: 22004');
SELECT throws_ok($$SELECT quant.evaluate(NULL)$$, '22004', NULL, 'evaluate NULL: 22004');
SELECT throws_ok($$SELECT quant.delete_strategy(quant.uuid_generate_v7())$$, 'P0002', NULL, 'delete unknown id: P0002');
SELECT throws_ok($$SELECT quant.evaluate(id) FROM ids WHERE name = 's'$$, 'P0002', NULL, 'a deleted strategy cannot be evaluated');
SELECT lives_ok($$SELECT quant.delete_strategy(id) FROM ids WHERE name = 's'$$, 'deleting twice is fine');

-- a strategy with a running deployment cannot be deleted (55006); stopped, it can
INSERT INTO ids SELECT 'd', (quant.create_strategy(jsonb_set(v2, '{substrategies,0,window}', '30'))->>'strategy_id')::uuid FROM cfg;
INSERT INTO ids SELECT 'dep', (quant.deploy(jsonb_build_object('strategy_id', id, 'qty', 1))->>'deployment_id')::uuid FROM ids WHERE name = 'd';
SELECT throws_ok($$SELECT quant.delete_strategy(id) FROM ids WHERE name = 'd'$$, '55006', NULL, 'delete with a running deployment: 55006');
SELECT is((SELECT deleted_at FROM bt.strategy s JOIN ids i ON i.id = s.strategy_id AND i.name = 'd'), NULL, '... and it stays');
SELECT lives_ok($$SELECT quant.stop_deployment(id) FROM ids WHERE name = 'dep'$$, 'stop the deployment');
SELECT ok((SELECT quant.delete_strategy(id) ? 'deleted_at' FROM ids WHERE name = 'd'), '... then the strategy can be deleted');

-- failing calls write no audit row either
SELECT is((SELECT count(*)::int FROM trade.audit WHERE user_id = 'tap_strategy_alice' AND entity = 'strategy'),
          (SELECT count(*)::int FROM trade.audit WHERE user_id = 'tap_strategy_alice' AND entity = 'strategy'
           AND action IN ('create', 'new_version', 'rename', 'delete')), 'only successful changes are audited');
SELECT is((SELECT count(*)::int FROM trade.audit WHERE user_id = 'tap_strategy_alice' AND entity = 'strategy'), 8,
          'create, rename, 3 new versions, delete; create and delete of the second');

-- the validator's warnings do not stop a strategy (they are NOTICEs naming the function:
-- test/sql/concurrent_versions.sh checks the text)
SELECT lives_ok($$SELECT quant.create_strategy('{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_sma","signal_func":"momentum_band_signal","window":14,"signal":0}]}')$$,
                'a config with a warning is stored');
SELECT is(quant.normalize_strategy('{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_sma","signal_func":"momentum_band_signal","window":14,"signal":0}]}') - 'name',
          '{"version": 1, "ticker": "MSFT", "conjunction": "AND", "trading_period": 252, "fill_delay_bars": 0, "substrategies": [{"id": 1, "indicator": "get_sma", "signal_func": "momentum_band_signal", "window": 14, "signal": 0.0, "data_column": "v"}]}'::jsonb,
          'normalize_strategy still returns the normalised config');

-- another user's strategy_id in create_strategy changes nothing of theirs and is not revealed:
-- it is ignored like an id never used (a new strategy with a new id)
SELECT quant.set_user('tap_strategy_bob') \gset
INSERT INTO ids SELECT 'bob_alices', (quant.create_strategy((SELECT v1 FROM cfg) || jsonb_build_object('strategy_id', id))->>'strategy_id')::uuid
FROM ids WHERE name = 'd';
INSERT INTO ids SELECT 'bob_unused', (quant.create_strategy((SELECT v2 FROM cfg) || jsonb_build_object('strategy_id', quant.uuid_generate_v7()))->>'strategy_id')::uuid;
SELECT ok((SELECT b.id <> d.id FROM ids b, ids d WHERE b.name = 'bob_alices' AND d.name = 'd'),
          'bob: create with alice''s strategy_id makes a new strategy with a new id');
SELECT is((SELECT count(*)::int FROM bt.strategy t JOIN ids i ON i.id = t.strategy_id
           WHERE i.name IN ('bob_alices', 'bob_unused') AND t.user_id = 'tap_strategy_bob'), 2,
          'bob: alice''s id and an unused id both give bob a new strategy of his own');
SELECT is((SELECT (quant.get_strategy(d.id)->>'strategy_id')::uuid FROM ids d WHERE d.name = 'd'),
          (SELECT id FROM ids WHERE name = 'bob_alices'),
          'bob: alice''s id, kept as his client_strategy_id, names his own strategy, never hers');
SELECT quant.set_user('tap_strategy_alice') \gset
SELECT is((SELECT quant.get_strategy(id)->>'version' FROM ids WHERE name = 'd'), '1', 'alice''s strategy is unchanged');

SELECT * FROM finish();
ROLLBACK;
