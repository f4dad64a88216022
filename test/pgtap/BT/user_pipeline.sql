-- The documents of the user's backtest pipeline (../shared/docs/user-pipeline.md) through SQL:
-- internal_cusip instead of ticker (top level and per substrategy), no name, display-name
-- metric keys, NaN in the text; stored in the seed's form, returned with the identifiers the
-- client used; a round trip gives the same backtest; unknown products are errors naming the
-- field, and store nothing.
BEGIN;
SELECT plan(53);
SET LOCAL client_min_messages = warning;
\ir ../helpers.psql
SELECT quant.set_user('tap_pipe_alice') \gset

-- the pipeline's Strategy JSON, on the sample bars (ttrc is the shared product of TTRC)
CREATE TEMP TABLE doc AS SELECT '{"strategy_id": "01a2356e-92bc-78a0-b67c-7ec2bfc98ccb", "version": 1,
  "created_at": "2026-12-02T06:26:08.700143+00:00",
  "internal_cusip": "ttrc", "conjunction": "AND", "trading_period": 252,
  "substrategies": [
    {"id": 1, "indicator": "get_sma_distance", "signal_func": "momentum_band_signal", "window": 20, "signal": 0.01, "data_column": "v"},
    {"id": 2, "indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 30.0, "data_column": "v", "internal_cusip": "ttrc"}]}'::jsonb AS d;
-- the same strategy in the seed's form
CREATE TEMP TABLE seed AS SELECT (d - 'internal_cusip' - 'strategy_id' - 'version' - 'created_at')
  || jsonb_build_object('ticker', 'TTRC', 'substrategies', jsonb_build_array(d->'substrategies'->0, (d->'substrategies'->1) - 'internal_cusip')) AS d FROM doc;

SELECT is((SELECT quant.normalize_strategy(d)->>'ticker' FROM doc), 'TTRC', 'normalize_strategy resolves internal_cusip to the data ticker');
CREATE TEMP TABLE made AS SELECT quant.create_strategy(d) AS s FROM doc;
SELECT is((SELECT s->>'ticker' FROM made), 'TTRC', 'create_strategy accepts the pipeline''s form: stored with the data ticker');
SELECT is((SELECT s->>'internal_cusip' FROM made), 'ttrc', '... and returned with the identifier the client used');
SELECT is((SELECT s->'substrategies'->1->>'internal_cusip' FROM made), 'ttrc', '... per substrategy too');
SELECT is((SELECT s->>'name' FROM made), 'ttrc_strategy_01a2356e', 'missing name: the pipeline''s default, {internal_cusip}_strategy_{8 chars of strategy_id}');
SELECT is((SELECT v.config->>'ticker' FROM bt.strategy_version v JOIN made ON v.strategy_id = (s->>'strategy_id')::uuid), 'TTRC',
          'the stored version is in the normalised (seed) form');
CREATE TEMP TABLE ids AS SELECT (s->>'strategy_id')::uuid AS id FROM made;
SELECT is((SELECT quant.get_strategy(id)->>'internal_cusip' FROM ids), 'ttrc', 'get_strategy returns internal_cusip beside ticker');
SELECT is((SELECT (quant.create_strategy(d)->>'strategy_id')::uuid FROM doc), (SELECT id FROM ids), 'submitting it again returns the same strategy');

-- a round trip gives the same backtest as the pipeline's document and the seed's form
CREATE TEMP TABLE bt_pipe AS SELECT quant.backtest(d) AS r FROM doc;
CREATE TEMP TABLE bt_seed AS SELECT quant.backtest(d) AS r FROM seed;
CREATE TEMP TABLE bt_round AS SELECT quant.backtest(quant.get_strategy(id)) AS r FROM ids;
SELECT is((SELECT r->'metrics' FROM bt_pipe), (SELECT r->'metrics' FROM bt_seed), 'quant.backtest of the pipeline''s document = of the seed''s form');
SELECT is((SELECT r->'metrics' FROM bt_round), (SELECT r->'metrics' FROM bt_seed), 'round trip: the stored strategy gives the same backtest');
SELECT is((SELECT r->>'bars' FROM bt_round), (SELECT r->>'bars' FROM bt_seed), '... over the same bars');
SELECT is((SELECT (r->>'bars')::int > 5000 FROM bt_pipe), true, 'the backtest ran on the TTRC bars');
SELECT is((SELECT count(*)::int FROM quant.backtest_series((SELECT d FROM doc))), (SELECT (r->>'bars')::int FROM bt_seed),
          'backtest_series takes the pipeline''s form');
SELECT is((SELECT quant.evaluate_config(d)->>'signal' FROM doc), (SELECT quant.evaluate_config(d)->>'signal' FROM seed),
          'evaluate_config takes it');
SELECT is((SELECT quant.update_strategy(id, jsonb_set(d - 'strategy_id', '{substrategies,0,window}', '25'))->>'version' FROM ids, doc), '2',
          'update_strategy takes it (a new version)');

-- variants: ticker given (it wins), a name given, no user set (shared products)
SELECT is((SELECT quant.normalize_strategy(d || '{"ticker": "TTRC", "internal_cusip": "aapl.nyse"}')->>'ticker' FROM doc), 'TTRC',
          'a given ticker wins over internal_cusip (stored configs are never re-resolved)');
SELECT is((SELECT quant.normalize_strategy(d || '{"name": "mine"}')->>'name' FROM doc), 'mine', 'a given name is kept');
SELECT is((SELECT quant.normalize_strategy(d - 'strategy_id')->>'name' FROM doc), 'sma_distance_momentum_20_0.01_and_rsi_reversion_14_30.0',
          'no name and no strategy_id: the seed''s generated name');
SELECT lives_ok($$SELECT quant.reset_user()$$, 'reset the user');
SELECT is((SELECT quant.backtest(d)->'metrics' FROM doc), (SELECT r->'metrics' FROM bt_seed), 'without a user, shared products resolve');
SELECT quant.set_user('tap_pipe_alice') \gset

-- the example of user-pipeline.md itself: AAPL with its RSI on ETH-USD (under an id of its own:
-- the pipeline's id names one strategy, so the same id would make it version 2 of the one above)
CREATE TEMP TABLE example AS SELECT '{"strategy_id": "01a2356e-92bc-78a0-b67c-7ec2bfc98ccc",
 "name": "aapl.nyse_strategy_01a2356e", "version": 1, "created_at": "2026-12-02T06:26:08.700143+00:00",
 "internal_cusip": "aapl.nyse", "conjunction": "AND", "trading_period": 252,
 "substrategies": [
   {"id": 1, "indicator": "get_sma", "signal_func": "momentum_band_signal", "window": 20, "signal": 1.0, "data_column": "v"},
   {"id": 2, "indicator": "get_rsi", "signal_func": "reversion_band_signal", "window": 14, "signal": 0.5, "data_column": "v", "internal_cusip": "eth-usd.crypto"}]}'::jsonb AS d;
CREATE TEMP TABLE resolved AS SELECT refdata.resolve_products(d, 'test') AS d FROM example;
SELECT is((SELECT d->>'ticker' FROM resolved), 'AAPL', 'the example: internal_cusip aapl.nyse -> ticker AAPL');
SELECT is((SELECT d->'substrategies'->1->>'ticker' FROM resolved), 'ETH-USD', '... the indicator underlying eth-usd.crypto -> ETH-USD');
SELECT is((SELECT d->'substrategies'->0 ? 'ticker' FROM resolved), false, '... a substrategy without a product reads the strategy''s own');
SELECT is((SELECT d->'substrategies'->1->>'internal_cusip' FROM resolved), 'eth-usd.crypto', '... the identifiers stay');
SELECT is((SELECT quant.create_strategy(d)->'substrategies'->1->>'ticker' FROM example), 'ETH-USD',
          'the example is stored with its indicator underlying');

-- unknown products: an error naming the field and the product, a hint, nothing stored
SELECT is(pg_temp.outcome($$SELECT quant.create_strategy('{"internal_cusip": "nope.nyse", "trading_period": 252, "substrategies": [{"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 30}]}')$$),
          '22023: quant.create_strategy: internal_cusip: unknown product "nope.nyse"', 'unknown product: 22023 naming internal_cusip and the product');
SELECT is(pg_temp.err_col($$SELECT quant.create_strategy('{"internal_cusip": "nope.nyse", "trading_period": 252, "substrategies": [{"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 30}]}')$$),
          'internal_cusip', '... COLUMN internal_cusip');
SELECT alike(pg_temp.hint($$SELECT quant.create_strategy('{"internal_cusip": "nope.nyse", "trading_period": 252, "substrategies": [{"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 30}]}')$$),
          '%quant.add_product(%"internal_cusip": "nope.nyse"%', '... the hint says how to add it');
SELECT is((SELECT pg_temp.err_col(format('SELECT quant.create_strategy(%L)', jsonb_set(d, '{substrategies,1,internal_cusip}', '"nope.crypto"'))) FROM doc),
          'substrategies[1].internal_cusip', 'an unknown indicator underlying names substrategies[1].internal_cusip');
SELECT is((SELECT pg_temp.err_col(format('SELECT quant.backtest(%L)', d || '{"internal_cusip": "nope.nyse"}')) FROM doc),
          'internal_cusip', 'quant.backtest: the same error');
SELECT is((SELECT count(*)::int FROM bt.strategy WHERE user_id = 'tap_pipe_alice'), 2,
          'failed calls stored no strategy (the two stored: the pipeline document and the example)');

-- BacktestResults as the pipeline writes it: NaN in the text, display-name metrics, internal_cusip
CREATE TEMP TABLE res AS SELECT quant.store_result(id, quant.parse_json(format('{"strategy_id": "%s",
  "run_at": "2026-12-02T06:26:17.329389+00:00", "data_range": {"start": "1985-01-02", "end": "2006-12-29"},
  "internal_cusip": "ttrc", "fee_bps": 5.0,
  "metrics": {"Total Return": -0.674, "Annualized Return": -0.0307, "Sharpe Ratio": -0.178, "Max Drawdown": 0.894, "Calmar Ratio": NaN},
  "buy_hold_metrics": {"Total Return": 3.29, "Sharpe Ratio": NaN, "Max Drawdown": -Infinity}}', id))) AS r FROM ids;
SELECT is((SELECT (r->'metrics'->>'sharpe_ratio')::float8 FROM res), -0.178::float8, 'store_result: "Sharpe Ratio" stored as sharpe_ratio');
SELECT is((SELECT r->'metrics'->'calmar_ratio' FROM res), 'null'::jsonb, '... NaN in the text is null');
SELECT is((SELECT r->'buy_hold_metrics' FROM res), '{"total_return": 3.29, "sharpe_ratio": null, "max_drawdown": null}'::jsonb,
          '... buy_hold_metrics likewise (-Infinity is null too)');
SELECT is((SELECT r->>'ticker_backtested' || ' ' || (r->>'internal_cusip') FROM res), 'TTRC ttrc',
          '... ticker_backtested from internal_cusip, which comes back as sent');
SELECT is((SELECT l->'metrics' FROM ids, quant.list_results(id) l WHERE l->>'result_id' = (SELECT r->>'result_id' FROM res)),
          (SELECT r->'metrics' FROM res), 'list_results returns the stored (seed) form');
SELECT is((SELECT b.ticker FROM bt.result b WHERE b.result_id = (SELECT (r->>'result_id')::uuid FROM res)), 'TTRC', 'the result row has the data ticker');
SELECT is((SELECT pg_temp.err_col(format('SELECT quant.store_result(%L, %L)', id, '{"internal_cusip": "nope.nyse", "metrics": {"Sharpe Ratio": 1}}')) FROM ids),
          'internal_cusip', 'a result of an unknown product: names internal_cusip');
SELECT is((SELECT pg_temp.err_col(format('SELECT quant.store_result(%L, %L)', id, '{"metrics": {"Sharpe Ratio": 1, "sharpe_ratio": 2}}')) FROM ids),
          'metrics.sharpe_ratio', 'one metric under both names with different values: names it');
SELECT is((SELECT count(*)::int FROM bt.result WHERE user_id = 'tap_pipe_alice'), 1, 'failed calls stored no result');

-- the pipeline's own strategy_id (a UUIDv7 it made) works through the one-click flow: kept as
-- client_strategy_id, accepted wherever a strategy id is, for its user only
SELECT is((SELECT s->>'client_strategy_id' FROM made), '01a2356e-92bc-78a0-b67c-7ec2bfc98ccb',
          'create_strategy keeps the pipeline''s strategy_id as client_strategy_id');
SELECT isnt((SELECT s->>'strategy_id' FROM made), '01a2356e-92bc-78a0-b67c-7ec2bfc98ccb',
            '... and gives the strategy an id of its own');
SELECT is((quant.get_strategy('01a2356e-92bc-78a0-b67c-7ec2bfc98ccb')->>'strategy_id')::uuid, (SELECT id FROM ids),
          'get_strategy by the client''s id is the same strategy');
CREATE TEMP TABLE res_client AS SELECT quant.store_result('01a2356e-92bc-78a0-b67c-7ec2bfc98ccb',
  quant.parse_json('{"strategy_id": "01a2356e-92bc-78a0-b67c-7ec2bfc98ccb", "internal_cusip": "ttrc",
                     "metrics": {"Sharpe Ratio": 0.5, "Calmar Ratio": NaN}}')) AS r;
SELECT is((SELECT (r->>'strategy_id')::uuid FROM res_client), (SELECT id FROM ids),
          'store_result with the pipeline''s id (argument and document) stores against the strategy');
SELECT is((SELECT (quant.store_result(id, '{"strategy_id": "01a2356e-92bc-78a0-b67c-7ec2bfc98ccb", "metrics": {"Sharpe Ratio": 0.25}}')->>'strategy_id')::uuid FROM ids),
          (SELECT id FROM ids), 'store_result with our id and a document carrying the client''s id: accepted');
SELECT is((SELECT pg_temp.err_col(format('SELECT quant.store_result(%L, %L)', id, '{"strategy_id": "01a2356e-0000-7000-8000-000000000000", "metrics": {"Sharpe Ratio": 1}}')) FROM ids),
          'strategy_id', 'a document with a third id: names strategy_id');
SELECT is((SELECT count(*)::int FROM quant.list_results('01a2356e-92bc-78a0-b67c-7ec2bfc98ccb')), 3,
          'list_results by the client''s id: the three results');
SELECT quant.set_user('tap_pipe_bob') \gset
SELECT is(pg_temp.sqlstate_of($$SELECT quant.get_strategy('01a2356e-92bc-78a0-b67c-7ec2bfc98ccb')$$), 'P0002',
          'bob: alice''s client id is not found for him');
CREATE TEMP TABLE bob_made AS SELECT quant.create_strategy(d) AS s FROM doc;
SELECT ok((SELECT (b.s->>'strategy_id')::uuid <> i.id FROM bob_made b, ids i),
          'bob: the same document with the same client id makes bob a strategy of his own');
SELECT quant.set_user('tap_pipe_alice') \gset
SELECT is((quant.get_strategy('01a2356e-92bc-78a0-b67c-7ec2bfc98ccb')->>'strategy_id')::uuid, (SELECT id FROM ids),
          'alice: her client id still names her strategy');

-- quant.parse_json: the text entry point (jsonb cannot hold NaN)
SELECT is(quant.parse_json('{"a": NaN, "b": [Infinity, -Infinity, 1.5e3], "c": "NaN Infinity", "d": "\"NaN"}'),
          '{"a": null, "b": [null, null, 1500], "c": "NaN Infinity", "d": "\"NaN"}'::jsonb,
          'parse_json: NaN and infinities become null, strings are left alone');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.parse_json('{"a": NaNa}')$$), '22P02', 'parse_json: malformed text is 22P02');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.parse_json(NULL)$$), '22004', 'parse_json: NULL is 22004');

SELECT * FROM finish();
ROLLBACK;
