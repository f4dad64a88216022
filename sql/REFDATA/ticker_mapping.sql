-- Ticker mapping (seed 7): a data-source symbol and a broker -> the broker's symbol and market.
-- quant.deploy fills a deployment's ticker (and market) from here when they are omitted.
-- Rows with user_id NULL are shared (installed below, or added by an administrator); a user's
-- own row for the same (data_ticker, broker) takes precedence for that user.
CREATE TABLE refdata.ticker_mapping (
    ticker_mapping_id  uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    data_ticker        text NOT NULL,
    broker             text NOT NULL REFERENCES refdata.broker (broker),
    broker_ticker      text NOT NULL,
    market             text NOT NULL REFERENCES refdata.market (market),
    user_id            text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX ticker_mapping_key ON refdata.ticker_mapping (data_ticker, broker, coalesce(user_id, ''));
COMMENT ON TABLE refdata.ticker_mapping IS 'Data-source symbol + broker -> broker symbol and market (seed 7). user_id NULL: shared by everyone; a user''s own row overrides it.';
COMMENT ON COLUMN refdata.ticker_mapping.data_ticker IS 'The symbol of md.bar and of the StrategyConfig, e.g. AAPL, BTC-USD';
COMMENT ON COLUMN refdata.ticker_mapping.broker_ticker IS 'The broker''s symbol, e.g. US.AAPL (FUTU), BTCUSDT (BYBIT)';
COMMENT ON COLUMN refdata.ticker_mapping.user_id IS 'NULL for a shared mapping, else the user whose own mapping it is';

ALTER TABLE refdata.ticker_mapping ENABLE ROW LEVEL SECURITY;
ALTER TABLE refdata.ticker_mapping FORCE ROW LEVEL SECURITY;
CREATE POLICY ticker_mapping_read ON refdata.ticker_mapping FOR SELECT
    USING (user_id IS NULL OR user_id = quant.current_user_id());
CREATE POLICY ticker_mapping_insert ON refdata.ticker_mapping FOR INSERT
    WITH CHECK (user_id = quant.current_user_id());
CREATE POLICY ticker_mapping_update ON refdata.ticker_mapping FOR UPDATE
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
CREATE POLICY ticker_mapping_delete ON refdata.ticker_mapping FOR DELETE
    USING (user_id = quant.current_user_id());

-- Shared mappings for the sample data and the common crypto pairs.
INSERT INTO refdata.ticker_mapping (data_ticker, broker, broker_ticker, market) VALUES
    ('MSFT', 'FUTU', 'US.MSFT', 'US'),
    ('AAPL', 'FUTU', 'US.AAPL', 'US'),
    ('TTRC', 'FUTU', 'US.TTRC', 'US'),
    ('MSFT', 'PAPER', 'MSFT', 'US'),
    ('AAPL', 'PAPER', 'AAPL', 'US'),
    ('TTRC', 'PAPER', 'TTRC', 'US'),
    ('BTC-USD', 'BYBIT', 'BTCUSDT', 'CRYPTO'),
    ('ETH-USD', 'BYBIT', 'ETHUSDT', 'CRYPTO'),
    ('BTC-USD', 'PAPER', 'BTC-USD', 'CRYPTO'),
    ('ETH-USD', 'PAPER', 'ETH-USD', 'CRYPTO');
SELECT pg_catalog.pg_extension_config_dump('refdata.ticker_mapping', 'WHERE user_id IS NOT NULL');

CREATE FUNCTION quant.set_ticker_mapping(data_ticker text, broker text, broker_ticker text, market text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    fn constant text := 'quant.set_ticker_mapping';
    me text := quant.current_user_id();
    b text := upper(broker);
    m text := upper(market);
    r refdata.ticker_mapping;
BEGIN
    IF data_ticker IS NULL THEN RAISE EXCEPTION '%: data_ticker must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'data_ticker'; END IF;
    IF broker IS NULL THEN RAISE EXCEPTION '%: broker must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'broker'; END IF;
    IF broker_ticker IS NULL THEN RAISE EXCEPTION '%: broker_ticker must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'broker_ticker'; END IF;
    IF market IS NULL THEN RAISE EXCEPTION '%: market must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'market'; END IF;
    IF length(data_ticker) NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION '%: data_ticker must be 1 to 64 characters', fn USING ERRCODE = '22023', COLUMN = 'data_ticker';
    END IF;
    IF length(broker_ticker) NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION '%: broker_ticker must be 1 to 64 characters', fn USING ERRCODE = '22023', COLUMN = 'broker_ticker';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM refdata.broker x WHERE x.broker = b) THEN
        RAISE EXCEPTION '%: broker: unknown broker "%"', fn, broker
            USING ERRCODE = '22023', COLUMN = 'broker', HINT = 'valid brokers: ' || refdata.broker_names();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM refdata.market x WHERE x.market = m) THEN
        RAISE EXCEPTION '%: market: unknown market "%"', fn, market
            USING ERRCODE = '22023', COLUMN = 'market', HINT = 'valid markets: ' || refdata.market_names();
    END IF;
    INSERT INTO refdata.ticker_mapping AS t (data_ticker, broker, broker_ticker, market, user_id)
    VALUES (set_ticker_mapping.data_ticker, b, set_ticker_mapping.broker_ticker, m, me)
    ON CONFLICT (data_ticker, broker, coalesce(user_id, ''))
    DO UPDATE SET broker_ticker = excluded.broker_ticker, market = excluded.market, updated_at = now()
    RETURNING * INTO r;
    RETURN jsonb_build_object('data_ticker', r.data_ticker, 'broker', r.broker, 'broker_ticker', r.broker_ticker,
                              'market', r.market, 'shared', false);
END
$$;
COMMENT ON FUNCTION quant.set_ticker_mapping(text, text, text, text) IS
  'Adds or replaces the current user''s own mapping of a data ticker on a broker (PAPER, BYBIT, FUTU) to the broker''s symbol and market (US, HK, CRYPTO); it overrides a shared mapping for that user.';

CREATE FUNCTION quant.list_ticker_mappings() RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('data_ticker', t.data_ticker, 'broker', t.broker, 'broker_ticker', t.broker_ticker,
                              'market', t.market, 'shared', t.user_id IS NULL)
    FROM refdata.ticker_mapping t
    WHERE t.user_id IS NULL OR t.user_id = quant.current_user_id()
    ORDER BY t.data_ticker, t.broker, t.user_id NULLS FIRST;
$$;
COMMENT ON FUNCTION quant.list_ticker_mappings() IS
  'The ticker mappings the current user sees: the shared ones (shared true) and their own.';

CREATE FUNCTION refdata.resolve_ticker(data_ticker text, broker text, fn text) RETURNS refdata.ticker_mapping
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    r refdata.ticker_mapping;
BEGIN
    SELECT * INTO r FROM refdata.ticker_mapping t
    WHERE t.data_ticker = resolve_ticker.data_ticker AND t.broker = resolve_ticker.broker
      AND (t.user_id IS NULL OR t.user_id = me)
    ORDER BY t.user_id NULLS LAST LIMIT 1;
    IF r.ticker_mapping_id IS NULL THEN
        RAISE EXCEPTION '%: ticker: no mapping of data ticker "%" on broker %', fn, data_ticker, broker
            USING ERRCODE = '22023', COLUMN = 'ticker',
                  HINT = format('give "ticker" (and "market") in the deployment, or add the mapping with quant.set_ticker_mapping(%L, %L, broker_ticker, market)',
                                data_ticker, broker);
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION refdata.resolve_ticker(text, text, text) IS
  'Internal: the mapping of a data ticker on a broker for the current user (their own first, then the shared one); ERROR 22023 naming the missing pair.';

CREATE FUNCTION refdata.broker_symbols(data_ticker text, broker text) RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(DISTINCT x.sym ORDER BY x.sym), '{}')
    FROM (SELECT t.broker_ticker AS sym FROM refdata.ticker_mapping t
          WHERE t.data_ticker = broker_symbols.data_ticker AND t.broker = broker_symbols.broker
            AND (t.user_id IS NULL OR t.user_id = quant.current_user_id())
          UNION ALL
          SELECT broker_symbols.data_ticker WHERE broker_symbols.broker = 'PAPER') x;
$$;
COMMENT ON FUNCTION refdata.broker_symbols(text, text) IS
  'The broker symbols the current user may trade a data ticker as on a broker: the shared mapping, their own, and on PAPER the data ticker itself (the paper broker prices it from its own bars).';

CREATE FUNCTION refdata.broker_symbol(data_ticker text, broker text, broker_ticker text, market text, fn text)
RETURNS refdata.ticker_mapping
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    valid text[] := refdata.broker_symbols(data_ticker, broker);
    r refdata.ticker_mapping;
BEGIN
    IF broker_ticker IS NULL THEN
        r := refdata.resolve_ticker(data_ticker, broker, fn);  -- 22023 naming the missing pair
    ELSIF broker_ticker <> ALL (valid) THEN
        RAISE EXCEPTION '%: ticker: "%" on broker % is not a mapping of the strategy''s ticker "%"', fn,
                        broker_ticker, broker, data_ticker
            USING ERRCODE = '22023', COLUMN = 'ticker',
                  HINT = CASE WHEN cardinality(valid) = 0
                              THEN format('%s has no mapping on %s: leave "ticker" out after adding one with quant.set_ticker_mapping(%L, %L, broker_ticker, market)',
                                          data_ticker, broker, data_ticker, broker)
                              ELSE format('valid tickers for %s on %s: %s (leave "ticker" out for the mapping)',
                                          data_ticker, broker, array_to_string(valid, ', ')) END;
    ELSE
        SELECT * INTO r FROM refdata.ticker_mapping t
        WHERE t.data_ticker = broker_symbol.data_ticker AND t.broker = broker_symbol.broker
          AND t.broker_ticker = broker_symbol.broker_ticker AND (t.user_id IS NULL OR t.user_id = me)
        ORDER BY t.user_id NULLS LAST LIMIT 1;
        IF r.ticker_mapping_id IS NULL THEN  -- PAPER trading the data ticker as it is
            r.data_ticker := data_ticker;
            r.broker := broker;
            r.broker_ticker := broker_ticker;
            r.market := market;
            IF market IS NULL THEN
                RAISE EXCEPTION '%: market: is required for ticker "%" on broker %, which has no ticker mapping', fn,
                                broker_ticker, broker
                    USING ERRCODE = '22023', COLUMN = 'market', HINT = 'valid markets: US, HK, CRYPTO';
            END IF;
        END IF;
    END IF;
    IF market IS NOT NULL AND market <> r.market THEN
        RAISE EXCEPTION '%: market: "%" is not the market of "%" on broker % (%)', fn, market, r.broker_ticker, broker,
                        r.market
            USING ERRCODE = '22023', COLUMN = 'market', HINT = format('leave "market" out, or give %s', r.market);
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION refdata.broker_symbol(text, text, text, text, text) IS
  'Internal: the mapping a deployment trades: of data_ticker on broker to broker_ticker (the current user''s own first, then the shared one; NULL broker_ticker: resolved), or on PAPER the data ticker itself; ERROR 22023 naming ticker (with the valid symbols) or market when they are not the mapping''s.';
