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
-- the key of the extension's per-backend bar cache (extension/src/bars.c). Beside it the latest bar
-- of the pair (last_ts, last_close), the market price of the paper broker and of the risk checks
-- (md.latest_bar): one key look-up instead of a read of md.bar's partitions on every order.
CREATE TABLE md.bar_version (
    ticker     text        NOT NULL,
    interval   text        NOT NULL,
    version    bigint      NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now(),
    last_ts    timestamptz,
    last_close double precision,
    PRIMARY KEY (ticker, interval)
);
COMMENT ON TABLE md.bar_version IS
  'Per ticker and bar interval, a counter bumped by every INSERT, UPDATE, DELETE or TRUNCATE of those bars (the bar cache key), and the latest bar of the pair (last_ts, last_close; NULL when it has none)';
COMMENT ON COLUMN md.bar_version.last_ts IS 'the open time of the latest bar of the pair, read again from md.bar after every statement that changed them; NULL when it has none';
COMMENT ON COLUMN md.bar_version.last_close IS 'the close of that bar';
-- kept by pg_dump with the bars (a restore loads the partitions directly, around md.bar's triggers)
SELECT pg_catalog.pg_extension_config_dump('md.bar_version', '');

CREATE FUNCTION md.bump_bar_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    tickers text[];
    intervals text[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE md.bar_version SET version = version + 1, changed_at = now(), last_ts = NULL, last_close = NULL;
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        WITH u AS (INSERT INTO md.bar_version AS v (ticker, interval) SELECT DISTINCT ticker, interval FROM new_bars
                   ON CONFLICT (ticker, interval) DO UPDATE SET version = v.version + 1, changed_at = now()
                   RETURNING v.ticker, v.interval)
        SELECT array_agg(u.ticker), array_agg(u.interval) INTO tickers, intervals FROM u;
    ELSIF TG_OP = 'UPDATE' THEN
        WITH u AS (INSERT INTO md.bar_version AS v (ticker, interval)
                   SELECT ticker, interval FROM new_bars UNION SELECT ticker, interval FROM old_bars
                   ON CONFLICT (ticker, interval) DO UPDATE SET version = v.version + 1, changed_at = now()
                   RETURNING v.ticker, v.interval)
        SELECT array_agg(u.ticker), array_agg(u.interval) INTO tickers, intervals FROM u;
    ELSE
        WITH u AS (INSERT INTO md.bar_version AS v (ticker, interval) SELECT DISTINCT ticker, interval FROM old_bars
                   ON CONFLICT (ticker, interval) DO UPDATE SET version = v.version + 1, changed_at = now()
                   RETURNING v.ticker, v.interval)
        SELECT array_agg(u.ticker), array_agg(u.interval) INTO tickers, intervals FROM u;
    END IF;
    -- the latest bar of every pair touched, read again in a statement of its own: its snapshot is
    -- taken after the row locks above, where concurrent writers of a pair queue, so it sees the bars
    -- every one of them committed (never a stale latest bar)
    UPDATE md.bar_version v
       SET (last_ts, last_close) = (SELECT b.ts, b.close FROM md.bar b
                                     WHERE b.ticker = v.ticker AND b.interval = v.interval
                                     ORDER BY b.ts DESC LIMIT 1)
      FROM unnest(tickers, intervals) AS p(ticker, interval)
     WHERE v.ticker = p.ticker AND v.interval = p.interval;
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION md.bump_bar_version() IS
  'Trigger: bumps md.bar_version for the (ticker, interval) pairs a statement on md.bar touched and reads their latest bar again.';
REVOKE ALL ON FUNCTION md.bump_bar_version() FROM PUBLIC;

-- The latest bar of a ticker in any interval: the market price of the paper broker and of the risk
-- checks, from md.bar_version (kept by md.bump_bar_version in the writing transaction). A read of
-- md.bar here planned or opened all of its partitions on every call (3 ms, then 0.14 ms a call:
-- bench/README.md, "Live path"). Bars written into a partition directly, around md.bar's
-- statement triggers, are seen neither here nor by the bar cache until the pair is written
-- through md.bar again. Operators schema-qualified instead of a SET clause, so that it inlines.
CREATE FUNCTION md.latest_bar(ticker text) RETURNS TABLE (close double precision, ts timestamptz)
LANGUAGE sql STABLE ROWS 1
AS $fn$
    -- a set-returning SQL function without SET or SECURITY DEFINER: the planner inlines it into
    -- the caller's (cached) plan
    SELECT v.last_close, v.last_ts FROM md.bar_version v
     WHERE v.ticker OPERATOR(pg_catalog.=) latest_bar.ticker AND v.last_ts IS NOT NULL
     ORDER BY v.last_ts DESC LIMIT 1;
$fn$;
COMMENT ON FUNCTION md.latest_bar(text) IS
  'The close and open time of the latest bar of a ticker over all its bar intervals (the latest open time wins; md.bar_version.last_ts); no row when it has none.';

CREATE TRIGGER bar_version_insert AFTER INSERT ON md.bar
    REFERENCING NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_update AFTER UPDATE ON md.bar
    REFERENCING OLD TABLE AS old_bars NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_delete AFTER DELETE ON md.bar
    REFERENCING OLD TABLE AS old_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_truncate AFTER TRUNCATE ON md.bar
    FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
