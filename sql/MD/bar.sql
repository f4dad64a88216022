-- Market data: daily (or any interval) OHLCV bars per ticker. Loading is plain COPY from CSV
-- with these column names, or quant.load_bars_csv(ticker, path).
CREATE TABLE md.bar (
    ticker  text             NOT NULL CHECK (ticker <> ''),
    ts      timestamptz      NOT NULL,
    open    double precision,
    high    double precision,
    low     double precision,
    close   double precision NOT NULL,
    volume  double precision,
    PRIMARY KEY (ticker, ts)
);
COMMENT ON TABLE md.bar IS 'OHLCV bars, one row per ticker and bar time (UTC); close is the traded price';
COMMENT ON COLUMN md.bar.ts IS 'bar time; daily bars are stamped at 00:00 UTC of their date';
-- pg_dump keeps the bars (an extension's tables are otherwise dumped without data).
SELECT pg_catalog.pg_extension_config_dump('md.bar', '');

CREATE FUNCTION quant.load_bars_csv(ticker text, path text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    loaded bigint;
BEGIN
    IF ticker IS NULL OR btrim(ticker) = '' THEN
        RAISE EXCEPTION 'quant.load_bars_csv: ticker must not be NULL or empty'
            USING ERRCODE = '22004', COLUMN = 'ticker';
    END IF;
    IF path IS NULL THEN
        RAISE EXCEPTION 'quant.load_bars_csv: path must not be NULL'
            USING ERRCODE = '22004', COLUMN = 'path';
    END IF;
    CREATE TEMP TABLE quant_bar_load (date text, open float8, high float8, low float8, close float8, volume float8)
        ON COMMIT DROP;
    EXECUTE format('COPY pg_temp.quant_bar_load FROM %L WITH (FORMAT csv, HEADER true)', path);
    INSERT INTO md.bar AS b (ticker, ts, open, high, low, close, volume)
    SELECT load_bars_csv.ticker,
           CASE WHEN l.date ~ '(Z|[+-]\d\d(:?\d\d)?)$' THEN l.date::timestamptz
                ELSE l.date::timestamp AT TIME ZONE 'UTC' END,
           l.open, l.high, l.low, l.close, l.volume
      FROM pg_temp.quant_bar_load l
    ON CONFLICT ON CONSTRAINT bar_pkey DO UPDATE
       SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
           close = EXCLUDED.close, volume = EXCLUDED.volume;
    GET DIAGNOSTICS loaded = ROW_COUNT;
    DROP TABLE pg_temp.quant_bar_load;
    RETURN loaded;
END
$fn$;
COMMENT ON FUNCTION quant.load_bars_csv(text, text) IS
  'Loads a server-side CSV (header; columns date,open,high,low,close,volume; dates without a zone are UTC) into md.bar for ticker; existing bars are updated. Returns the rows loaded. Reads a server file, so it is not granted to PUBLIC.';
REVOKE ALL ON FUNCTION quant.load_bars_csv(text, text) FROM PUBLIC;

-- A version per ticker, bumped in the same transaction as any change to its bars: the key of the
-- extension's per-backend bar cache (extension/src/bars.c).
CREATE TABLE md.bar_version (
    ticker     text        PRIMARY KEY,
    version    bigint      NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE md.bar_version IS
  'Per ticker, a counter bumped by every INSERT, UPDATE, DELETE or TRUNCATE of its bars (the bar cache key)';

CREATE FUNCTION md.bump_bar_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE md.bar_version SET version = version + 1, changed_at = now();
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO md.bar_version AS v (ticker) SELECT DISTINCT ticker FROM new_bars
        ON CONFLICT (ticker) DO UPDATE SET version = v.version + 1, changed_at = now();
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO md.bar_version AS v (ticker)
        SELECT ticker FROM new_bars UNION SELECT ticker FROM old_bars
        ON CONFLICT (ticker) DO UPDATE SET version = v.version + 1, changed_at = now();
    ELSE
        INSERT INTO md.bar_version AS v (ticker) SELECT DISTINCT ticker FROM old_bars
        ON CONFLICT (ticker) DO UPDATE SET version = v.version + 1, changed_at = now();
    END IF;
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION md.bump_bar_version() IS 'Trigger: bumps md.bar_version for the tickers a statement on md.bar touched.';
REVOKE ALL ON FUNCTION md.bump_bar_version() FROM PUBLIC;

CREATE TRIGGER bar_version_insert AFTER INSERT ON md.bar
    REFERENCING NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_update AFTER UPDATE ON md.bar
    REFERENCING OLD TABLE AS old_bars NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_delete AFTER DELETE ON md.bar
    REFERENCING OLD TABLE AS old_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_truncate AFTER TRUNCATE ON md.bar
    FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
