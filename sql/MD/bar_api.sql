-- Reading and uploading bars through the API (GET/POST /api/v1/bars): quant.list_bars (keyset
-- pagination by the bar's open time), quant.upload_bars (JSON) and quant.upload_bars_csv (CSV text),
-- all or nothing with every row checked. md.bar is shared data: the REST role writes it only
-- through these SECURITY DEFINER functions.
CREATE FUNCTION quant.list_bars(ticker text, "interval" text DEFAULT '1d', from_ts timestamptz DEFAULT NULL,
                                to_ts timestamptz DEFAULT NULL, "limit" integer DEFAULT 1000,
                                after timestamptz DEFAULT NULL)
RETURNS TABLE (ts timestamptz, close_ts timestamptz, open double precision, high double precision,
               low double precision, close double precision, volume double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    iv refdata.bar_interval;
BEGIN
    IF ticker IS NULL OR ticker = '' THEN
        RAISE EXCEPTION 'quant.list_bars: ticker must not be NULL or empty' USING ERRCODE = '22004', COLUMN = 'ticker';
    END IF;
    iv := refdata.check_bar_interval(list_bars."interval");
    IF "limit" IS NULL OR "limit" < 1 OR "limit" > 10000 THEN
        RAISE EXCEPTION 'quant.list_bars: limit must be 1 to 10000, got %', coalesce("limit"::text, 'NULL')
            USING ERRCODE = '22023', COLUMN = 'limit';
    END IF;
    RETURN QUERY
    SELECT b.ts, b.ts + iv.duration, b.open, b.high, b.low, b.close, b.volume
      FROM md.bar b
     WHERE b.ticker = list_bars.ticker AND b.interval = iv.name
       AND (from_ts IS NULL OR b.ts >= from_ts) AND (to_ts IS NULL OR b.ts <= to_ts)
       AND (after IS NULL OR b.ts > after)
     ORDER BY b.ts
     LIMIT "limit";
END
$$;
COMMENT ON FUNCTION quant.list_bars(text, text, timestamptz, timestamptz, integer, timestamptz) IS
  'The bars of ticker in a bar interval (default 1d), oldest first, with open time ts in [from_ts, to_ts] (NULL = open) and after the cursor `after` (the ts of the last row of the previous page): at most limit (1..10000) rows. close_ts = ts + the interval.';

-- Internal: checks the rows of pg_temp.quant_bar_upload (n: order, label: how an error names the
-- row, ts/open/high/low/close/volume as text) and upserts them; every failure names the row and
-- the field, and nothing is stored. Returns {ticker, interval, rows, first, last}.
CREATE FUNCTION md.store_uploaded_bars(ticker text, "interval" text, fn text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    iv refdata.bar_interval;
    bad record;
    stored bigint;
    num constant text := '^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$';
    tsre constant text := '^\s*\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?\s*$';
    r jsonb;
BEGIN
    IF ticker IS NULL OR btrim(ticker) = '' THEN
        RAISE EXCEPTION '%: ticker must not be NULL or empty', fn USING ERRCODE = '22004', COLUMN = 'ticker';
    END IF;
    iv := refdata.check_bar_interval(store_uploaded_bars."interval");
    -- the fields one by one, first failing row first
    SELECT u.label, f.field, f.problem INTO bad
      FROM pg_temp.quant_bar_upload u
     CROSS JOIN LATERAL (VALUES
        (1, 'ts', CASE WHEN u.ts IS NULL OR u.ts !~ tsre THEN 'must be a time like 2024-01-02T15:00:00Z, got ' || coalesce('"' || left(u.ts, 40) || '"', 'nothing') END),
        (2, 'open', CASE WHEN u.open IS NULL OR u.open !~ num THEN 'must be a positive finite number, got ' || coalesce('"' || left(u.open, 40) || '"', 'nothing') END),
        (3, 'high', CASE WHEN u.high IS NULL OR u.high !~ num THEN 'must be a positive finite number, got ' || coalesce('"' || left(u.high, 40) || '"', 'nothing') END),
        (4, 'low', CASE WHEN u.low IS NULL OR u.low !~ num THEN 'must be a positive finite number, got ' || coalesce('"' || left(u.low, 40) || '"', 'nothing') END),
        (5, 'close', CASE WHEN u.close IS NULL OR u.close !~ num THEN 'must be a positive finite number, got ' || coalesce('"' || left(u.close, 40) || '"', 'nothing') END),
        (6, 'volume', CASE WHEN u.volume IS NOT NULL AND u.volume !~ num THEN 'must be a finite number of at least 0, got "' || left(u.volume, 40) || '"' END)
     ) AS f(k, field, problem)
     WHERE f.problem IS NOT NULL
     ORDER BY u.n, f.k LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '%: %.%: %', fn, bad.label, bad.field, bad.problem
            USING ERRCODE = '22023', COLUMN = bad.label || '.' || bad.field, HINT = 'nothing was stored';
    END IF;
    CREATE TEMP TABLE quant_bar_checked ON COMMIT DROP AS
    SELECT u.n, u.label,
           CASE WHEN u.ts ~ '(Z|[+-]\d{2}(:?\d{2})?)\s*$' THEN u.ts::timestamptz ELSE u.ts::timestamp AT TIME ZONE 'UTC' END AS ts,
           u.open::float8 AS open, u.high::float8 AS high, u.low::float8 AS low, u.close::float8 AS close,
           u.volume::float8 AS volume
      FROM pg_temp.quant_bar_upload u;
    SELECT c.label, f.field, f.problem INTO bad
      FROM (SELECT c.*, lag(c.ts) OVER (ORDER BY c.n) AS prev_ts FROM pg_temp.quant_bar_checked c) c
     CROSS JOIN LATERAL (VALUES
        (1, 'open', CASE WHEN NOT (c.open > 0 AND c.open < 'Infinity') THEN 'must be positive and finite, got ' || c.open END),
        (2, 'high', CASE WHEN NOT (c.high > 0 AND c.high < 'Infinity') THEN 'must be positive and finite, got ' || c.high END),
        (3, 'low', CASE WHEN NOT (c.low > 0 AND c.low < 'Infinity') THEN 'must be positive and finite, got ' || c.low END),
        (4, 'close', CASE WHEN NOT (c.close > 0 AND c.close < 'Infinity') THEN 'must be positive and finite, got ' || c.close END),
        (5, 'volume', CASE WHEN NOT (c.volume >= 0 AND c.volume < 'Infinity') THEN 'must be at least 0 and finite, got ' || c.volume END),
        (6, 'high', CASE WHEN c.high < c.low THEN format('must be at least low (%s < %s)', c.high, c.low) END),
        (7, 'ts', CASE WHEN (extract(epoch FROM c.ts) - iv.offset_seconds)::numeric % iv.seconds <> 0
                       THEN format('%s is not the open of a %s bar (bars open every %s seconds%s)', c.ts, iv.name, iv.seconds,
                                   CASE WHEN iv.offset_seconds <> 0 THEN ', from Monday 00:00 UTC' ELSE ' from 00:00 UTC' END) END),
        (8, 'ts', CASE WHEN c.ts <= c.prev_ts THEN format('times must be ascending and unique: %s after %s', c.ts, c.prev_ts) END),
        (9, 'ts', CASE WHEN c.ts > now() THEN format('%s is in the future (a bar is stored once it has opened)', c.ts) END)
     ) AS f(k, field, problem)
     WHERE f.problem IS NOT NULL
     ORDER BY c.n, f.k LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '%: %.%: %', fn, bad.label, bad.field, bad.problem
            USING ERRCODE = '22023', COLUMN = bad.label || '.' || bad.field, HINT = 'nothing was stored';
    END IF;
    PERFORM md.ensure_bar_partitions(iv.name, min(c.ts), max(c.ts)) FROM pg_temp.quant_bar_checked c;
    INSERT INTO md.bar AS b (ticker, interval, ts, open, high, low, close, volume)
    SELECT store_uploaded_bars.ticker, iv.name, c.ts, c.open, c.high, c.low, c.close, c.volume
      FROM pg_temp.quant_bar_checked c
    ON CONFLICT ON CONSTRAINT bar_pkey DO UPDATE
       SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
           close = EXCLUDED.close, volume = EXCLUDED.volume;
    GET DIAGNOSTICS stored = ROW_COUNT;
    SELECT jsonb_build_object('ticker', ticker, 'interval', iv.name, 'rows', stored, 'first', min(c.ts), 'last', max(c.ts))
      INTO r FROM pg_temp.quant_bar_checked c;
    DROP TABLE pg_temp.quant_bar_checked;
    DROP TABLE pg_temp.quant_bar_upload;
    RETURN r;
END
$$;
COMMENT ON FUNCTION md.store_uploaded_bars(text, text, text) IS
  'Internal: checks and upserts the rows of pg_temp.quant_bar_upload for quant.upload_bars / upload_bars_csv (positive finite prices, volume >= 0, high >= low, ascending unique open times on the interval''s grid, none in the future); the first bad row is 22023 naming it and the field, nothing stored.';
REVOKE ALL ON FUNCTION md.store_uploaded_bars(text, text, text) FROM PUBLIC;

CREATE FUNCTION quant.upload_bars(ticker text, "interval" text, bars jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM quant.current_user_id();  -- a logged-in user (28000 otherwise)
    IF bars IS NULL OR jsonb_typeof(bars) <> 'array' THEN
        RAISE EXCEPTION 'quant.upload_bars: bars must be a JSON array of {ts, open, high, low, close, volume}, got %',
                        coalesce(jsonb_typeof(bars), 'NULL')
            USING ERRCODE = '22023', COLUMN = 'bars';
    END IF;
    IF jsonb_array_length(bars) = 0 THEN
        RAISE EXCEPTION 'quant.upload_bars: bars is empty' USING ERRCODE = '22023', COLUMN = 'bars';
    END IF;
    CREATE TEMP TABLE quant_bar_upload ON COMMIT DROP AS
    SELECT e.n - 1 AS n, format('bars[%s]', e.n - 1) AS label,
           CASE WHEN jsonb_typeof(e.v) = 'object' THEN e.v->>'ts' END AS ts,
           e.v->>'open' AS open, e.v->>'high' AS high, e.v->>'low' AS low, e.v->>'close' AS close,
           e.v->>'volume' AS volume
      FROM jsonb_array_elements(bars) WITH ORDINALITY AS e(v, n);
    RETURN md.store_uploaded_bars(ticker, upload_bars."interval", 'quant.upload_bars');
END
$$;
COMMENT ON FUNCTION quant.upload_bars(text, text, jsonb) IS
  'Stores bars of ticker in a bar interval, all or nothing: bars is a JSON array of {ts (the open time; without a zone UTC), open, high, low, close, volume (optional)}; every row is checked (positive finite prices, high >= low, ascending unique times on the interval''s grid, none in the future) and the first bad one is 22023 naming it (bars[i].field). Existing bars at the same times are replaced. Returns {ticker, interval, rows, first, last}.';

CREATE FUNCTION quant.upload_bars_csv(ticker text, "interval" text, csv text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    header text;
BEGIN
    PERFORM quant.current_user_id();  -- a logged-in user (28000 otherwise)
    IF csv IS NULL OR btrim(csv) = '' THEN
        RAISE EXCEPTION 'quant.upload_bars_csv: csv is empty' USING ERRCODE = '22023', COLUMN = 'csv';
    END IF;
    header := lower(regexp_replace(split_part(csv, E'\n', 1), '\s', '', 'g'));
    IF header NOT IN ('date,open,high,low,close,volume', 'ts,open,high,low,close,volume') THEN
        RAISE EXCEPTION 'quant.upload_bars_csv: line 1: the header must be date,open,high,low,close,volume, got "%"', left(header, 80)
            USING ERRCODE = '22023', COLUMN = 'line 1';
    END IF;
    CREATE TEMP TABLE quant_bar_upload ON COMMIT DROP AS
    SELECT l.n AS n, 'line ' || l.n AS label,
           nullif(split_part(l.line, ',', 1), '') AS ts, nullif(split_part(l.line, ',', 2), '') AS open,
           nullif(split_part(l.line, ',', 3), '') AS high, nullif(split_part(l.line, ',', 4), '') AS low,
           nullif(split_part(l.line, ',', 5), '') AS close, nullif(btrim(split_part(l.line, ',', 6), E' \r'), '') AS volume
      FROM string_to_table(csv, E'\n') WITH ORDINALITY AS l(line, n)
     WHERE l.n > 1 AND btrim(l.line, E' \r') <> '';
    IF NOT EXISTS (SELECT 1 FROM pg_temp.quant_bar_upload) THEN
        RAISE EXCEPTION 'quant.upload_bars_csv: csv has a header and no bars' USING ERRCODE = '22023', COLUMN = 'csv';
    END IF;
    RETURN md.store_uploaded_bars(ticker, upload_bars_csv."interval", 'quant.upload_bars_csv');
END
$$;
COMMENT ON FUNCTION quant.upload_bars_csv(text, text, text) IS
  'quant.upload_bars with the bars as CSV text: a header date,open,high,low,close,volume (or ts,...), one bar a line; errors name the line (line N.field, the header is line 1). All or nothing.';

-- The REST forms (GET and POST /api/v1/bars): a page of bars with its cursor, and an upload of
-- either form in one JSON envelope.
CREATE FUNCTION quant.bars_page(ticker text DEFAULT NULL, internal_cusip text DEFAULT NULL,
                                "interval" text DEFAULT '1d', "from" timestamptz DEFAULT NULL,
                                "to" timestamptz DEFAULT NULL, "limit" integer DEFAULT 1000,
                                cursor timestamptz DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text := ticker;
    page jsonb;
    n integer;
BEGIN
    PERFORM quant.current_user_id();  -- a logged-in user (28000 otherwise)
    IF t IS NULL AND internal_cusip IS NOT NULL THEN
        t := (refdata.resolve_product(internal_cusip, 'quant.bars_page', 'internal_cusip')).data_ticker;
    END IF;
    IF t IS NULL THEN
        RAISE EXCEPTION 'quant.bars_page: ticker: is required (or internal_cusip)'
            USING ERRCODE = '22023', COLUMN = 'ticker', HINT = 'the data ticker of the bars, e.g. BTC-USD, or a product''s internal_cusip';
    END IF;
    SELECT coalesce(jsonb_agg(to_jsonb(b) ORDER BY b.ts), '[]'::jsonb), count(*)
      INTO page, n
      FROM quant.list_bars(t, $3, $4, $5, $6, $7) b;  -- interval, from, to, limit, cursor
    RETURN jsonb_build_object('ticker', t, 'interval', $3, 'bars', page,
                              'next_cursor', CASE WHEN n = $6 THEN page->(n - 1)->'ts' END);
END
$$;
COMMENT ON FUNCTION quant.bars_page(text, text, text, timestamptz, timestamptz, integer, timestamptz) IS
  'A page of bars for GET /api/v1/bars: {ticker, interval, bars: [{ts, close_ts, open, high, low, close, volume}], next_cursor} of ticker (or the data ticker of the product internal_cusip) in a bar interval, open times in [from, to], after cursor, at most limit (1..10000); next_cursor is the ts of the last bar when the page is full (pass it as cursor), else null.';

CREATE FUNCTION quant.upload_bars_any(ticker text, "interval" text DEFAULT '1d', bars jsonb DEFAULT NULL,
                                      csv text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (bars IS NULL) = (csv IS NULL) THEN
        RAISE EXCEPTION 'quant.upload_bars: give either bars (a JSON array) or csv (CSV text), not %',
                        CASE WHEN bars IS NULL THEN 'neither' ELSE 'both' END
            USING ERRCODE = '22023', COLUMN = 'bars';
    END IF;
    IF bars IS NOT NULL THEN
        RETURN quant.upload_bars(ticker, upload_bars_any."interval", bars);
    END IF;
    RETURN quant.upload_bars_csv(ticker, upload_bars_any."interval", csv);
END
$$;
COMMENT ON FUNCTION quant.upload_bars_any(text, text, jsonb, text) IS
  'POST /api/v1/bars: quant.upload_bars (bars, a JSON array) or quant.upload_bars_csv (csv, CSV text), whichever is given; all or nothing.';
