-- refdata.product: shared and own products, add/update/list_products, the broker symbols kept in
-- the ticker mappings (one place), each bad field, nothing stored on failure.
BEGIN;
SELECT plan(46);
SET LOCAL client_min_messages = warning;
\ir ../helpers.psql

SELECT has_table('refdata', 'product', 'refdata.product exists');
SELECT function_returns('quant', 'add_product', ARRAY['jsonb'], 'jsonb', 'add_product returns jsonb');
SELECT function_returns('quant', 'update_product', ARRAY['text', 'jsonb'], 'jsonb', 'update_product returns jsonb');
SELECT function_returns('quant', 'list_products', ARRAY[]::text[], 'setof jsonb', 'list_products returns setof jsonb');
SELECT throws_ok($$SELECT quant.list_products()$$, '28000', NULL, 'no current user: 28000');

SELECT quant.set_user('tap_prod_alice') \gset
-- the shared products, with their broker symbols from the shared ticker mappings
CREATE TEMP TABLE shared AS SELECT p FROM quant.list_products() p WHERE p->>'internal_cusip' = 'ttrc';
SELECT is((SELECT p->>'data_ticker' FROM shared), 'TTRC', 'shared product ttrc: data ticker TTRC');
SELECT is((SELECT (p->>'shared')::boolean FROM shared), true, '... marked shared');
SELECT is((SELECT p->'brokers'->'FUTU'->>'symbol' FROM shared), 'US.TTRC', '... its FUTU symbol is the shared ticker mapping');
SELECT is((SELECT p->'brokers'->'PAPER'->>'symbol' FROM shared), 'TTRC', '... and its PAPER symbol');
SELECT ok((SELECT count(*) FROM quant.list_products() p WHERE p->>'internal_cusip' IN ('aapl.nyse', 'btc-usd.crypto', 'eth-usd.crypto', 'msft.nasdaq')) = 4,
          'the identifiers of the user''s pipeline for the shared tickers are installed');

-- add: normalised identifier, asset type, currency; brokers written as the user's own ticker mappings
CREATE TEMP TABLE added AS SELECT quant.add_product('{"internal_cusip": " SPY.Arca ", "display_name": "SPDR S&P 500 ETF",
  "asset_type": "ETF", "exchange": "ARCA", "currency": "usd", "data_ticker": "SPY", "market": "us",
  "brokers": {"FUTU": "US.SPY", "paper": {"symbol": "SPY"}}}') AS p;
SELECT is((SELECT p->>'internal_cusip' FROM added), 'spy.arca', 'add_product: internal_cusip lowercased and trimmed');
SELECT is((SELECT p->>'asset_type' || ' ' || (p->>'currency') || ' ' || (p->>'market') FROM added), 'etf USD US',
          '... asset_type, currency and market normalised');
SELECT is((SELECT (p->>'shared')::boolean FROM added), false, '... an own product');
SELECT is((SELECT p->'brokers'->'FUTU'->>'symbol' FROM added), 'US.SPY', '... FUTU symbol');
SELECT is((SELECT p->'brokers'->'PAPER'->>'market' FROM added), 'US', '... a broker''s market defaults to the product''s');
SELECT is((SELECT m->>'broker_ticker' FROM quant.list_ticker_mappings() m WHERE m->>'data_ticker' = 'SPY' AND m->>'broker' = 'FUTU'),
          'US.SPY', 'the broker symbol is the ticker mapping (one place for it: deploy and the risk checks read it)');
SELECT is((SELECT count(*)::int FROM quant.list_products() p WHERE p->>'internal_cusip' = 'spy.arca'), 1, 'list_products lists it');
-- a strategy naming the product deploys on its broker symbol (deploy reads the ticker mapping)
CREATE TEMP TABLE spy_strategy AS SELECT quant.create_strategy('{"internal_cusip": "spy.arca", "trading_period": 252,
  "substrategies": [{"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 30}]}') AS s;
SELECT is((SELECT s->>'ticker' FROM spy_strategy), 'SPY', 'a strategy naming spy.arca trades the data ticker SPY');
SELECT is((SELECT quant.deploy(jsonb_build_object('strategy_id', s->>'strategy_id', 'qty', 5, 'broker', 'FUTU'))->>'ticker' FROM spy_strategy),
          'US.SPY', '... and deploys on the product''s FUTU symbol');
SELECT is((SELECT (refdata.find_product('SPY.ARCA')).data_ticker), 'SPY', 'find_product is case-insensitive');

-- update
SELECT is(quant.update_product('spy.arca', '{"display_name": "SPDR S&P 500", "brokers": {"FUTU": "US.SPY2"}}')->>'display_name',
          'SPDR S&P 500', 'update_product changes the display name');
SELECT is((SELECT p->>'data_ticker' || ' ' || (p->'brokers'->'FUTU'->>'symbol') FROM quant.list_products() p WHERE p->>'internal_cusip' = 'spy.arca'),
          'SPY US.SPY2', '... keeps the rest, and changes the broker symbol (its ticker mapping)');
SELECT is((SELECT quant.update_product('spy.arca', p) ->> 'internal_cusip' FROM quant.list_products() p WHERE p->>'internal_cusip' = 'spy.arca'),
          'spy.arca', 'a listed product is a valid patch as it stands');

-- bad input: SQLSTATE and the field
SELECT is(pg_temp.sqlstate_of($$SELECT quant.add_product('{"internal_cusip": "spy.arca", "display_name": "x", "asset_type": "etf", "currency": "USD", "data_ticker": "SPY"}')$$),
          '23505', 'add_product of one you have: 23505');
SELECT is(pg_temp.err_col($$SELECT quant.add_product('{"internal_cusip": "spy.arca", "display_name": "x", "asset_type": "etf", "currency": "USD", "data_ticker": "SPY"}')$$),
          'internal_cusip', '... naming internal_cusip');
SELECT alike(pg_temp.hint($$SELECT quant.add_product('{"internal_cusip": "spy.arca", "display_name": "x", "asset_type": "etf", "currency": "USD", "data_ticker": "SPY"}')$$),
          '%quant.update_product%', '... the hint says how to change it');
SELECT is(pg_temp.err_col($$SELECT quant.add_product('{"internal_cusip": "qqq.nasdaq", "display_name": "x", "asset_type": "stock", "currency": "USD", "data_ticker": "QQQ"}')$$),
          'asset_type', 'unknown asset type: names asset_type');
SELECT alike(pg_temp.hint($$SELECT quant.add_product('{"internal_cusip": "qqq.nasdaq", "display_name": "x", "asset_type": "stock", "currency": "USD", "data_ticker": "QQQ"}')$$),
          '%equity, etf%', '... the hint lists the asset types');
SELECT is(pg_temp.err_col($$SELECT quant.add_product('{"internal_cusip": "qqq.nasdaq", "display_name": "x", "asset_type": "etf", "currency": "USD"}')$$),
          'data_ticker', 'missing data_ticker: names it');
SELECT is(pg_temp.err_col($$SELECT quant.add_product('{"internal_cusip": "qqq nasdaq", "display_name": "x", "asset_type": "etf", "currency": "USD", "data_ticker": "QQQ"}')$$),
          'internal_cusip', 'a blank inside internal_cusip: names it');
SELECT is(pg_temp.err_col($$SELECT quant.add_product('{"internal_cusip": "qqq.nasdaq", "display_name": "x", "asset_type": "etf", "currency": "USD", "data_ticker": "QQQ", "market": "EU"}')$$),
          'market', 'unknown market: names market');
SELECT is(pg_temp.err_col($$SELECT quant.add_product('{"internal_cusip": "qqq.nasdaq", "display_name": "x", "asset_type": "etf", "currency": "USD", "data_ticker": "QQQ", "colour": "red"}')$$),
          'colour', 'unknown field: names it');
SELECT is(pg_temp.err_col($$SELECT quant.add_product('{"internal_cusip": "qqq.nasdaq", "display_name": "x", "asset_type": "etf", "currency": "USD", "data_ticker": "QQQ", "brokers": ["US.QQQ"]}')$$),
          'brokers', 'brokers not an object: names brokers');
SELECT is(pg_temp.err_col($$SELECT quant.add_product('{"internal_cusip": "qqq.nasdaq", "display_name": "x", "asset_type": "etf", "currency": "USD", "data_ticker": "QQQ", "brokers": {"FUTU": "US.QQQ"}}')$$),
          'brokers.FUTU.market', 'a broker symbol without a market (the product has none): names it');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.add_product('{"internal_cusip": "qqq.nasdaq", "display_name": "x", "asset_type": "etf", "currency": "USD", "data_ticker": "QQQ", "market": "US", "brokers": {"IBKR": "QQQ"}}')$$),
          '22023', 'unknown broker: 22023, and the product is not stored either');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.add_product(NULL)$$), '22004', 'NULL product: 22004');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.update_product('nope.nyse', '{}')$$), 'P0002', 'update of a product not yours: P0002');
SELECT is(pg_temp.sqlstate_of($$SELECT quant.update_product('ttrc', '{"data_ticker": "MSFT"}')$$), 'P0002', 'a shared product is not updated');
SELECT is(pg_temp.err_col($$SELECT quant.update_product('spy.arca', '{"internal_cusip": "spy2.arca"}')$$), 'internal_cusip',
          'update_product keeps the identifier');
SELECT is((SELECT count(*)::int FROM refdata.product WHERE user_id = 'tap_prod_alice'), 1, 'failed calls stored no product');
SELECT is((SELECT count(*)::int FROM refdata.ticker_mapping WHERE user_id = 'tap_prod_alice'), 2, '... and no ticker mapping');

-- users
SELECT quant.set_user('tap_prod_bob') \gset
SELECT is((SELECT count(*)::int FROM quant.list_products() p WHERE p->>'internal_cusip' = 'spy.arca'), 0, 'another user does not see my product');
SELECT is((SELECT (refdata.find_product('spy.arca')).product_id IS NULL), true, '... nor resolves it');
SELECT quant.set_user('tap_prod_alice') \gset
SELECT is(quant.add_product('{"internal_cusip": "ttrc", "display_name": "TTRC as MSFT", "asset_type": "equity", "currency": "USD", "data_ticker": "MSFT"}')->>'data_ticker',
          'MSFT', 'an own product may override a shared one');
SELECT is((SELECT p->>'data_ticker' FROM quant.list_products() p WHERE p->>'internal_cusip' = 'ttrc'), 'MSFT', '... for its owner, listed once');
SELECT quant.set_user('tap_prod_bob') \gset
SELECT is((refdata.find_product('ttrc')).data_ticker, 'TTRC', '... while everyone else keeps the shared one');

SELECT * FROM finish();
ROLLBACK;
