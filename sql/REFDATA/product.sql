-- Products (issue 11 part 2): the user's product identifiers and what they mean here.
--
-- The user's pipeline names a product by its internal_cusip (lowercase symbol.exchange,
-- "aapl.nyse", "btc-usd.crypto"), not by the ticker of its bars. A product row says which data
-- ticker (md.bar) holds its bars; its symbol on each broker is the ticker mapping of that data
-- ticker (refdata.ticker_mapping, the one place for "which broker symbol is this on broker X"),
-- which quant.add_product/update_product write through "brokers" and every product JSON shows.
-- Rows with user_id NULL are shared (installed below, or added by an administrator); a user's
-- own row for the same internal_cusip takes precedence for that user, as with ticker mappings.
CREATE FUNCTION refdata.product_asset_types() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ARRAY['equity', 'etf', 'index', 'crypto', 'fx', 'future', 'commodity', 'bond'] $$;
COMMENT ON FUNCTION refdata.product_asset_types() IS
  'The asset types a product may have (refdata.product.asset_type).';

CREATE TABLE refdata.product (
    product_id      uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    internal_cusip  text NOT NULL CHECK (internal_cusip ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    display_name    text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    asset_type      text NOT NULL CHECK (asset_type = ANY (refdata.product_asset_types())),
    exchange        text CHECK (length(exchange) BETWEEN 1 AND 64),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z0-9]{2,10}$'),
    data_ticker     text NOT NULL CHECK (length(data_ticker) BETWEEN 1 AND 64),
    market          text REFERENCES refdata.market (market),
    user_id         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX product_key ON refdata.product (internal_cusip, coalesce(user_id, ''));
COMMENT ON TABLE refdata.product IS 'Products by the user''s identifier (internal_cusip) -> display name, asset type, exchange, currency, the data ticker of their bars, market. Broker symbols: refdata.ticker_mapping of the data ticker. user_id NULL: shared by everyone; a user''s own row overrides it.';
COMMENT ON COLUMN refdata.product.internal_cusip IS 'The user''s stable product identifier, lowercase symbol.exchange, e.g. aapl.nyse, btc-usd.crypto';
COMMENT ON COLUMN refdata.product.data_ticker IS 'The ticker of the product''s bars in md.bar (the StrategyConfig ticker it resolves to), e.g. AAPL';
COMMENT ON COLUMN refdata.product.market IS 'The market (refdata.market) of its broker symbols when "brokers" does not say; NULL: none';
COMMENT ON COLUMN refdata.product.user_id IS 'NULL for a shared product, else the user whose own product it is';

ALTER TABLE refdata.product ENABLE ROW LEVEL SECURITY;
ALTER TABLE refdata.product FORCE ROW LEVEL SECURITY;
CREATE POLICY product_read ON refdata.product FOR SELECT
    USING (user_id IS NULL OR user_id = quant.current_user_id());
CREATE POLICY product_insert ON refdata.product FOR INSERT
    WITH CHECK (user_id = quant.current_user_id());
CREATE POLICY product_update ON refdata.product FOR UPDATE
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

-- Shared products of the sample data and the shared ticker mappings, by the identifiers the
-- user's pipeline uses (user-pipeline.md).
INSERT INTO refdata.product (internal_cusip, display_name, asset_type, exchange, currency, data_ticker, market) VALUES
    ('ttrc', 'TTRC (synthetic sample series)', 'equity', NULL, 'USD', 'TTRC', 'US'),
    ('msft.nasdaq', 'Microsoft Corporation', 'equity', 'NASDAQ', 'USD', 'MSFT', 'US'),
    ('aapl.nyse', 'Apple Inc.', 'equity', 'NYSE', 'USD', 'AAPL', 'US'),
    ('btc-usd.crypto', 'Bitcoin / US dollar', 'crypto', 'CRYPTO', 'USD', 'BTC-USD', 'CRYPTO'),
    ('eth-usd.crypto', 'Ether / US dollar', 'crypto', 'CRYPTO', 'USD', 'ETH-USD', 'CRYPTO');
SELECT pg_catalog.pg_extension_config_dump('refdata.product', 'WHERE user_id IS NOT NULL');

-- ---- internals ----
-- The product the current user means by internal_cusip: their own first, then the shared one.
-- No user set (a pure computation such as quant.backtest called without one): shared only.
CREATE FUNCTION refdata.find_product(internal_cusip text) RETURNS refdata.product
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.* FROM refdata.product p
    WHERE p.internal_cusip = lower(btrim(find_product.internal_cusip))
      AND (p.user_id IS NULL OR (quant.authenticated() AND p.user_id = quant.current_user_id()))
    ORDER BY p.user_id NULLS LAST LIMIT 1;
$$;
COMMENT ON FUNCTION refdata.find_product(text) IS
  'Internal: the product of an internal_cusip for the current user (their own first, then the shared one), NULL when none.';

CREATE FUNCTION refdata.resolve_product(internal_cusip text, fn text, field text) RETURNS refdata.product
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p refdata.product := refdata.find_product(internal_cusip);
BEGIN
    IF p.product_id IS NULL THEN
        RAISE EXCEPTION '%: %: unknown product "%"', fn, field, internal_cusip
            USING ERRCODE = '22023', COLUMN = field,
                  HINT = format('quant.list_products() lists the products you can name; add this one with quant.add_product(''{"internal_cusip": "%s", "data_ticker": "<ticker of its bars in md.bar>", "display_name": "...", "asset_type": "equity", "currency": "USD"}'') or POST /api/v1/products, or give "ticker" instead',
                                lower(btrim(internal_cusip)));
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION refdata.resolve_product(text, text, text) IS
  'Internal: refdata.find_product, or ERROR 22023 naming the field and the unknown product, with a hint how to add it.';

-- A Strategy JSON in the user's pipeline's form -> the seed's form: internal_cusip (top level,
-- when ticker is absent) gives ticker; a substrategy's internal_cusip gives its ticker (the
-- indicator underlying) unless it is the strategy's own product. The identifiers stay in the
-- config as the client sent them. A given ticker wins: stored configs carry both and are never
-- re-resolved, so a later change of a product never changes a stored strategy.
CREATE FUNCTION refdata.resolve_products(config jsonb, fn text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cfg jsonb := config;
    p refdata.product;
    sub jsonb;
    i integer := 0;
BEGIN
    IF jsonb_typeof(cfg) <> 'object' THEN
        RETURN cfg;  -- the core's validator names the problem
    END IF;
    IF jsonb_typeof(cfg->'internal_cusip') = 'string' AND jsonb_typeof(cfg->'ticker') IS DISTINCT FROM 'string' THEN
        p := refdata.resolve_product(cfg->>'internal_cusip', fn, 'internal_cusip');
        cfg := cfg || jsonb_build_object('ticker', p.data_ticker);
    END IF;
    IF jsonb_typeof(cfg->'substrategies') = 'array' THEN
        FOR sub IN SELECT e FROM jsonb_array_elements(cfg->'substrategies') e LOOP
            IF jsonb_typeof(sub) = 'object' AND jsonb_typeof(sub->'internal_cusip') = 'string'
               AND NOT sub ? 'ticker' THEN
                p := refdata.resolve_product(sub->>'internal_cusip', fn, format('substrategies[%s].internal_cusip', i));
                IF p.data_ticker IS DISTINCT FROM cfg->>'ticker' THEN
                    cfg := jsonb_set(cfg, ARRAY['substrategies', i::text], sub || jsonb_build_object('ticker', p.data_ticker));
                END IF;
            END IF;
            i := i + 1;
        END LOOP;
    END IF;
    RETURN cfg;
END
$$;
COMMENT ON FUNCTION refdata.resolve_products(jsonb, text) IS
  'Internal (SECURITY DEFINER, acting on the current user''s products and the shared ones only; called by the extension''s C entry points before the core parses a Strategy JSON that names internal_cusip): ticker from internal_cusip where ticker is absent, at the top and per substrategy; ERROR 22023 naming the field of an unknown product.';

-- A product as JSON, with its symbol on each broker (the ticker mappings of its data ticker the
-- current user sees: their own over the shared one).
CREATE FUNCTION refdata.product_json(p refdata.product) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('internal_cusip', p.internal_cusip, 'display_name', p.display_name,
                              'asset_type', p.asset_type, 'exchange', p.exchange, 'currency', p.currency,
                              'data_ticker', p.data_ticker, 'market', p.market, 'shared', p.user_id IS NULL,
                              'brokers', coalesce((
        SELECT jsonb_object_agg(m.broker, jsonb_build_object('symbol', m.broker_ticker, 'market', m.market,
                                                             'shared', m.user_id IS NULL))
        FROM (SELECT DISTINCT ON (t.broker) t.* FROM refdata.ticker_mapping t
              WHERE t.data_ticker = p.data_ticker
                AND (t.user_id IS NULL OR (quant.authenticated() AND t.user_id = quant.current_user_id()))
              ORDER BY t.broker, t.user_id NULLS LAST) m), '{}'::jsonb),
                              'created_at', p.created_at, 'updated_at', p.updated_at);
$$;
COMMENT ON FUNCTION refdata.product_json(refdata.product) IS
  'Internal: a product as JSON with brokers {BROKER: {symbol, market, shared}} from the ticker mappings of its data ticker.';

-- The fields of a product JSON, checked; NULL for the ones not given (update: unchanged).
CREATE FUNCTION refdata.product_field(doc jsonb, key text, fn text, pattern text, hint text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT doc ? key OR jsonb_typeof(doc->key) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(doc->key) <> 'string' OR (doc->>key) !~ pattern THEN
        RAISE EXCEPTION '%: %: invalid value %', fn, key, left((doc->key)::text, 80)
            USING ERRCODE = '22023', COLUMN = key, HINT = hint;
    END IF;
    RETURN doc->>key;
END
$$;
COMMENT ON FUNCTION refdata.product_field(jsonb, text, text, text, text) IS
  'Internal: a string field of a product JSON matching pattern, NULL when absent; ERROR 22023 naming it otherwise.';

-- Writes a product's row (insert, or update of the current user's own) and its "brokers".
CREATE FUNCTION refdata.write_product(doc jsonb, fn text, existing refdata.product) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    known constant text[] := ARRAY['internal_cusip', 'display_name', 'asset_type', 'exchange', 'currency',
                                   'data_ticker', 'market', 'brokers', 'shared', 'created_at', 'updated_at'];
    k text;
    r refdata.product := existing;
    b record;
    sym text;
    mkt text;
BEGIN
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        RAISE EXCEPTION '%: product must be a JSON object', fn
            USING ERRCODE = '22023', COLUMN = 'product', HINT = 'fields: ' || array_to_string(known[1:8], ', ');
    END IF;
    FOR k IN SELECT jsonb_object_keys(doc) LOOP
        IF k <> ALL (known) THEN
            RAISE EXCEPTION '%: %: unknown field', fn, k
                USING ERRCODE = '22023', COLUMN = k, HINT = 'valid fields: ' || array_to_string(known[1:8], ', ');
        END IF;
    END LOOP;
    r.internal_cusip := coalesce(lower(btrim(refdata.product_field(doc, 'internal_cusip', fn, '^\s*[A-Za-z0-9][A-Za-z0-9._-]{0,63}\s*$',
                                 'lowercase symbol.exchange, 1 to 64 of a-z 0-9 . _ -, e.g. aapl.nyse'))), r.internal_cusip);
    r.display_name := coalesce(refdata.product_field(doc, 'display_name', fn, '^.{1,200}$', '1 to 200 characters'), r.display_name);
    r.asset_type := coalesce(lower(refdata.product_field(doc, 'asset_type', fn,
                                   '(?i)^(' || array_to_string(refdata.product_asset_types(), '|') || ')$',
                                   'valid asset types: ' || array_to_string(refdata.product_asset_types(), ', '))), r.asset_type);
    r.exchange := CASE WHEN doc ? 'exchange' THEN refdata.product_field(doc, 'exchange', fn, '^.{1,64}$', '1 to 64 characters, e.g. NYSE')
                       ELSE r.exchange END;
    r.currency := coalesce(upper(refdata.product_field(doc, 'currency', fn, '^[A-Za-z0-9]{2,10}$', 'a currency code, e.g. USD, HKD, USDT')), r.currency);
    r.data_ticker := coalesce(refdata.product_field(doc, 'data_ticker', fn, '^.{1,64}$',
                                                    'the ticker of the product''s bars in md.bar, e.g. AAPL'), r.data_ticker);
    IF doc ? 'market' THEN
        r.market := upper(refdata.product_field(doc, 'market', fn, '^[A-Za-z]{2,16}$', 'valid markets: ' || refdata.market_names()));
        IF r.market IS NOT NULL AND NOT EXISTS (SELECT 1 FROM refdata.market m WHERE m.market = r.market) THEN
            RAISE EXCEPTION '%: market: unknown market "%"', fn, doc->>'market'
                USING ERRCODE = '22023', COLUMN = 'market', HINT = 'valid markets: ' || refdata.market_names();
        END IF;
    END IF;
    FOREACH k IN ARRAY ARRAY['internal_cusip', 'display_name', 'asset_type', 'currency', 'data_ticker'] LOOP
        IF (to_jsonb(r)->>k) IS NULL THEN
            RAISE EXCEPTION '%: %: is required', fn, k
                USING ERRCODE = '22023', COLUMN = k,
                      HINT = CASE k WHEN 'asset_type' THEN 'valid asset types: ' || array_to_string(refdata.product_asset_types(), ', ')
                                    WHEN 'data_ticker' THEN 'the ticker of the product''s bars in md.bar, e.g. AAPL'
                                    ELSE 'fields: ' || array_to_string(known[1:8], ', ') END;
        END IF;
    END LOOP;
    IF doc ? 'brokers' AND jsonb_typeof(doc->'brokers') NOT IN ('object', 'null') THEN
        RAISE EXCEPTION '%: brokers: must be an object {BROKER: "symbol" or {"symbol", "market"}}', fn
            USING ERRCODE = '22023', COLUMN = 'brokers', HINT = 'e.g. {"FUTU": "US.AAPL", "PAPER": {"symbol": "AAPL", "market": "US"}}';
    END IF;

    IF existing.product_id IS NULL THEN
        INSERT INTO refdata.product (internal_cusip, display_name, asset_type, exchange, currency, data_ticker, market, user_id)
        VALUES (r.internal_cusip, r.display_name, r.asset_type, r.exchange, r.currency, r.data_ticker, r.market, me)
        RETURNING * INTO r;
    ELSE
        UPDATE refdata.product p SET display_name = r.display_name, asset_type = r.asset_type, exchange = r.exchange,
               currency = r.currency, data_ticker = r.data_ticker, market = r.market, updated_at = now()
        WHERE p.product_id = existing.product_id RETURNING * INTO r;
    END IF;
    -- the broker symbols: the user's own ticker mappings of the data ticker (one place for them)
    FOR b IN SELECT key, value FROM jsonb_each(coalesce(nullif(doc->'brokers', 'null'::jsonb), '{}'::jsonb)) LOOP
        IF jsonb_typeof(b.value) = 'string' THEN
            sym := b.value #>> '{}';
            mkt := r.market;
        ELSIF jsonb_typeof(b.value) = 'object' AND jsonb_typeof(b.value->'symbol') = 'string' THEN
            sym := b.value->>'symbol';
            mkt := coalesce(b.value->>'market', r.market);
        ELSE
            RAISE EXCEPTION '%: brokers.%: must be the broker''s symbol or {"symbol", "market"}', fn, b.key
                USING ERRCODE = '22023', COLUMN = 'brokers.' || b.key, HINT = 'e.g. "US.AAPL" or {"symbol": "US.AAPL", "market": "US"}';
        END IF;
        IF mkt IS NULL THEN
            RAISE EXCEPTION '%: brokers.%.market: is required (the product has no market)', fn, b.key
                USING ERRCODE = '22023', COLUMN = 'brokers.' || b.key || '.market', HINT = 'valid markets: ' || refdata.market_names();
        END IF;
        PERFORM quant.set_ticker_mapping(r.data_ticker, b.key, sym, mkt);
    END LOOP;
    RETURN refdata.product_json(r);
END
$$;
COMMENT ON FUNCTION refdata.write_product(jsonb, text, refdata.product) IS
  'Internal: checks a product JSON, inserts it (existing NULL) or updates the current user''s own row, and writes its "brokers" as the user''s ticker mappings; ERROR 22023 naming the field.';

-- ---- the API ----
CREATE FUNCTION quant.add_product(product jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.add_product';
    me text := quant.current_user_id();
    none refdata.product;
BEGIN
    IF product IS NULL THEN
        RAISE EXCEPTION '%: product must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'product';
    END IF;
    IF jsonb_typeof(product) = 'object' AND jsonb_typeof(product->'internal_cusip') = 'string' AND EXISTS (
        SELECT 1 FROM refdata.product p WHERE p.internal_cusip = lower(btrim(product->>'internal_cusip')) AND p.user_id = me) THEN
        RAISE EXCEPTION '%: internal_cusip: you already have a product "%"', fn, lower(btrim(product->>'internal_cusip'))
            USING ERRCODE = '23505', COLUMN = 'internal_cusip',
                  HINT = format('change it with quant.update_product(%L, patch)', lower(btrim(product->>'internal_cusip')));
    END IF;
    RETURN refdata.write_product(product, fn, none);
END
$$;
COMMENT ON FUNCTION quant.add_product(jsonb) IS
  'Adds a product of the current user: {internal_cusip, display_name, asset_type, exchange, currency, data_ticker, market, brokers: {BROKER: symbol | {symbol, market}}}; it overrides a shared product of the same internal_cusip for them, and brokers become their ticker mappings. Returns the product JSON. ERROR 23505 when they have it already, 22023 naming a bad field.';

CREATE FUNCTION quant.update_product(internal_cusip text, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    fn constant text := 'quant.update_product';
    me text := quant.current_user_id();
    p refdata.product;
BEGIN
    IF internal_cusip IS NULL THEN
        RAISE EXCEPTION '%: internal_cusip must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'internal_cusip';
    END IF;
    IF patch IS NULL THEN
        RAISE EXCEPTION '%: patch must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'patch';
    END IF;
    SELECT * INTO p FROM refdata.product t WHERE t.internal_cusip = lower(btrim(internal_cusip)) AND t.user_id = me FOR UPDATE;
    IF p.product_id IS NULL THEN
        RAISE EXCEPTION '%: product "%" not found among your own products', fn, internal_cusip
            USING ERRCODE = 'P0002', COLUMN = 'internal_cusip',
                  HINT = 'quant.list_products() lists them (a shared one is changed by adding your own with quant.add_product)';
    END IF;
    IF jsonb_typeof(patch) = 'object' AND jsonb_typeof(patch->'internal_cusip') = 'string'
       AND lower(btrim(patch->>'internal_cusip')) <> p.internal_cusip THEN
        RAISE EXCEPTION '%: internal_cusip: a product keeps its identifier', fn
            USING ERRCODE = '22023', COLUMN = 'internal_cusip', HINT = 'leave it out of the patch, or add a new product';
    END IF;
    RETURN refdata.write_product(patch, fn, p);
END
$$;
COMMENT ON FUNCTION quant.update_product(text, jsonb) IS
  'Changes fields of one of the current user''s own products (the same fields as quant.add_product; internal_cusip stays). Strategies stored earlier keep the data ticker they were resolved to. Returns the product JSON; P0002 when it is not one of theirs.';

CREATE FUNCTION quant.list_products() RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT refdata.product_json(p) FROM (
        SELECT DISTINCT ON (t.internal_cusip) t.* FROM refdata.product t
        WHERE t.user_id IS NULL OR t.user_id = quant.current_user_id()
        ORDER BY t.internal_cusip, t.user_id NULLS LAST) p
    ORDER BY p.internal_cusip;
$$;
COMMENT ON FUNCTION quant.list_products() IS
  'The products the current user can name by internal_cusip: their own, and the shared ones they have not overridden (shared true), each with its data ticker and its symbol on each broker.';
