-- Market data: OHLCV bars per ticker and bar interval (refdata.bar_interval: 1m ... 1w). Loading is
-- plain COPY from CSV with these column names (interval defaults to 1d), quant.load_bars_csv(ticker,
-- path, interval) or quant.upload_bars. `ts` is the bar's open time in UTC; it closes at ts + its
-- interval's duration. The series of one ticker in two intervals are independent.
-- md.bar is partitioned (issue 17, docs/scale.md): by LIST (interval), one partition md.bar_<interval>
-- each, and those by RANGE (ts) in periods sized to the interval (md.bar_partition_period: 1m and 5m
-- by month, 15m to 4h by year, 1d and 1w by decade), with a DEFAULT partition at both levels so no
-- insert ever fails; MD/bar_partitions.sql creates and maintains them. The interval is checked by a
-- CHECK on the engine's names (a foreign key cost half of the COPY ingest: bench/README.md);
-- refdata.bar_interval is the same list (a test keeps them equal).
CREATE TABLE md.bar (
    ticker    text             NOT NULL CHECK (ticker <> ''),
    ts        timestamptz      NOT NULL,
    open      double precision,
    high      double precision,
    low       double precision,
    close     double precision NOT NULL,
    volume    double precision,
    interval  text             NOT NULL DEFAULT '1d'
                               CONSTRAINT bar_interval_check CHECK (interval IN ('1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w')),
    PRIMARY KEY (ticker, interval, ts)
) PARTITION BY LIST (interval);
COMMENT ON TABLE md.bar IS 'OHLCV bars, one row per ticker, bar interval and bar open time (UTC); close is the traded price. Partitioned by interval, then by open time (md.create_bar_partitions)';
COMMENT ON COLUMN md.bar.ts IS 'the bar''s open time (UTC); daily bars are stamped at 00:00 UTC of their date; it closes at ts + the interval';
COMMENT ON COLUMN md.bar.interval IS 'the bar interval (a name of refdata.bar_interval, checked by bar_interval_check), 1d by default';
-- an interval the CHECK allows and no partition holds yet (none today): never refused
CREATE TABLE md.bar_default PARTITION OF md.bar DEFAULT;
COMMENT ON TABLE md.bar_default IS 'The bars of an interval without its own partition of md.bar (md.create_bar_partitions moves them out)';
SELECT pg_catalog.pg_extension_config_dump('md.bar', '');

CREATE FUNCTION quant.load_bars_csv(ticker text, path text, "interval" text DEFAULT '1d') RETURNS bigint
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
    PERFORM refdata.check_bar_interval(load_bars_csv."interval");
    CREATE TEMP TABLE quant_bar_load (date text, open float8, high float8, low float8, close float8, volume float8)
        ON COMMIT DROP;
    EXECUTE format('COPY pg_temp.quant_bar_load FROM %L WITH (FORMAT csv, HEADER true)', path);
    -- the partitions of the file's time range (bars outside every partition would land in the
    -- default one); ISO times sort as text, near enough for choosing partitions
    PERFORM md.ensure_bar_partitions(load_bars_csv."interval",
                                     CASE WHEN lo ~ '(Z|[+-]\d\d(:?\d\d)?)$' THEN lo::timestamptz ELSE lo::timestamp AT TIME ZONE 'UTC' END,
                                     CASE WHEN hi ~ '(Z|[+-]\d\d(:?\d\d)?)$' THEN hi::timestamptz ELSE hi::timestamp AT TIME ZONE 'UTC' END)
       FROM (SELECT min(l.date) AS lo, max(l.date) AS hi FROM pg_temp.quant_bar_load l) r
      WHERE lo IS NOT NULL;
    INSERT INTO md.bar AS b (ticker, interval, ts, open, high, low, close, volume)
    SELECT load_bars_csv.ticker, load_bars_csv."interval",
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
COMMENT ON FUNCTION quant.load_bars_csv(text, text, text) IS
  'Loads a server-side CSV (header; columns date,open,high,low,close,volume; date = the bar''s open time, without a zone UTC) into md.bar for ticker and bar interval (default 1d); existing bars are updated. Returns the rows loaded. Reads a server file, so it is not granted to PUBLIC.';
REVOKE ALL ON FUNCTION quant.load_bars_csv(text, text, text) FROM PUBLIC;

-- A version per ticker and interval, bumped in the same transaction as any change to those bars:
-- the key of the extension's per-backend bar cache (extension/src/bars.c).
CREATE TABLE md.bar_version (
    ticker     text        NOT NULL,
    interval   text        NOT NULL,
    version    bigint      NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticker, interval)
);
COMMENT ON TABLE md.bar_version IS
  'Per ticker and bar interval, a counter bumped by every INSERT, UPDATE, DELETE or TRUNCATE of those bars (the bar cache key)';

CREATE FUNCTION md.bump_bar_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE md.bar_version SET version = version + 1, changed_at = now();
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO md.bar_version AS v (ticker, interval) SELECT DISTINCT ticker, interval FROM new_bars
        ON CONFLICT (ticker, interval) DO UPDATE SET version = v.version + 1, changed_at = now();
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO md.bar_version AS v (ticker, interval)
        SELECT ticker, interval FROM new_bars UNION SELECT ticker, interval FROM old_bars
        ON CONFLICT (ticker, interval) DO UPDATE SET version = v.version + 1, changed_at = now();
    ELSE
        INSERT INTO md.bar_version AS v (ticker, interval) SELECT DISTINCT ticker, interval FROM old_bars
        ON CONFLICT (ticker, interval) DO UPDATE SET version = v.version + 1, changed_at = now();
    END IF;
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION md.bump_bar_version() IS 'Trigger: bumps md.bar_version for the (ticker, interval) pairs a statement on md.bar touched.';
REVOKE ALL ON FUNCTION md.bump_bar_version() FROM PUBLIC;

-- The latest bar of a ticker in any interval: the market price of the paper broker and of the risk
-- checks. PL/pgSQL on purpose: each interval the ticker has (md.bar_version) is one query with the
-- interval as a parameter, so the executor prunes md.bar to that interval's partitions before it
-- starts and the cached plan reads one key range backwards. A SQL function or a lateral join over
-- the intervals planned all partitions of md.bar on every call (3 ms a call, bench/README.md).
CREATE FUNCTION md.latest_bar(ticker text, OUT close double precision, OUT ts timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    iv text;
    c double precision;
    t timestamptz;
BEGIN
    FOR iv IN SELECT v.interval FROM md.bar_version v WHERE v.ticker = latest_bar.ticker LOOP
        SELECT b.close, b.ts INTO c, t FROM md.bar b
         WHERE b.ticker = latest_bar.ticker AND b.interval = iv ORDER BY b.ts DESC LIMIT 1;
        IF t IS NOT NULL AND (latest_bar.ts IS NULL OR t > latest_bar.ts) THEN
            close := c;
            ts := t;
        END IF;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION md.latest_bar(text) IS
  'The close and open time of the latest bar of a ticker over all its bar intervals (the latest open time wins); NULLs when it has none.';

CREATE TRIGGER bar_version_insert AFTER INSERT ON md.bar
    REFERENCING NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_update AFTER UPDATE ON md.bar
    REFERENCING OLD TABLE AS old_bars NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_delete AFTER DELETE ON md.bar
    REFERENCING OLD TABLE AS old_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_truncate AFTER TRUNCATE ON md.bar
    FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
