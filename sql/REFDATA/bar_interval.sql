-- The bar intervals (1m 5m 15m 30m 1h 4h 1d 1w), generated from the core's catalog
-- (core/src/bar_interval.cpp): what md.bar.interval and a Strategy JSON's `interval` name. Before
-- MD/bar.sql: md.bar's interval CHECK (bar_interval_check) names the same list (issue 17: no foreign
-- key, it cost half of the COPY ingest; test/pgtap/MD/partitions.sql keeps the two equal).
CREATE FUNCTION quant.bar_interval_catalog()
RETURNS TABLE (name text, seconds integer, offset_seconds integer, equity_bars_per_year integer,
               crypto_bars_per_year integer, description text)
AS 'MODULE_PATHNAME', 'quant_bar_interval_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 8;
COMMENT ON FUNCTION quant.bar_interval_catalog() IS
  'Every bar interval the engine knows (core/src/bar_interval.cpp): its length in seconds, the offset of its grid from the Unix epoch (1w: Mondays), and bars a year for US equities and crypto (what trading_period should be).';

CREATE TABLE refdata.bar_interval (
    name                  text     PRIMARY KEY,
    seconds               integer  NOT NULL CHECK (seconds > 0),
    duration              interval NOT NULL,
    offset_seconds        integer  NOT NULL,
    equity_bars_per_year  integer  NOT NULL,
    crypto_bars_per_year  integer  NOT NULL,
    description           text     NOT NULL
);
COMMENT ON TABLE refdata.bar_interval IS 'The bar intervals (from the engine''s catalog, quant.bar_interval_catalog()): what md.bar.interval names. A bar opens at ts and closes at ts + duration (an exact number of seconds, never a calendar day).';
INSERT INTO refdata.bar_interval
SELECT c.name, c.seconds, make_interval(secs => c.seconds), c.offset_seconds, c.equity_bars_per_year,
       c.crypto_bars_per_year, c.description
  FROM quant.bar_interval_catalog() c;

-- "1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w": the valid names for error hints, in the core's order.
CREATE FUNCTION refdata.bar_interval_names() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(c.name, ', ' ORDER BY c.n)
    FROM quant.bar_interval_catalog() WITH ORDINALITY
         AS c(name, seconds, offset_seconds, equity_bars_per_year, crypto_bars_per_year, description, n);
$$;
COMMENT ON FUNCTION refdata.bar_interval_names() IS 'Internal: the bar interval names for error hints ("1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w"), in the engine''s order.';

-- The interval named by an argument, checked: 22023 naming the argument with the valid values.
CREATE FUNCTION refdata.check_bar_interval(name text, field text DEFAULT 'interval') RETURNS refdata.bar_interval
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r refdata.bar_interval;
BEGIN
    SELECT * INTO r FROM refdata.bar_interval b WHERE b.name = check_bar_interval.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: unknown bar interval %', field, coalesce('"' || name || '"', 'NULL')
            USING ERRCODE = '22023', COLUMN = field, HINT = 'valid intervals: ' || refdata.bar_interval_names();
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION refdata.check_bar_interval(text, text) IS 'Internal: the refdata.bar_interval row of name, or 22023 naming field with the valid intervals.';

CREATE FUNCTION quant.list_intervals() RETURNS SETOF jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('name', b.name, 'seconds', b.seconds, 'offset_seconds', b.offset_seconds,
                              'equity_bars_per_year', b.equity_bars_per_year,
                              'crypto_bars_per_year', b.crypto_bars_per_year, 'description', b.description)
      FROM refdata.bar_interval b ORDER BY b.seconds;
$$;
COMMENT ON FUNCTION quant.list_intervals() IS
  'The bar intervals, shortest first: {name, seconds, offset_seconds, equity_bars_per_year, crypto_bars_per_year, description} (GET /api/v1/intervals).';
