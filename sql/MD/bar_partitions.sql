-- The partitions of md.bar (issue 17, docs/scale.md "Bars at scale"). md.bar is partitioned by
-- LIST (interval): md.bar_<interval> (md.bar_1m ... md.bar_1w), each by RANGE (ts) in periods sized
-- to the interval (md.bar_partition_period), named md.bar_<interval>_<period> (md.bar_1m_2024_01,
-- md.bar_1h_2024, md.bar_1d_2020s), with a DEFAULT partition md.bar_<interval>_default (and
-- md.bar_default for an interval without a partition): an insert never fails for want of a
-- partition. Maintenance:
--   md.create_bar_partitions(from, to, interval): creates the missing partitions of a window
--     (moving any bars of it out of the default partition first); pg_cron runs it daily
--     (quant_bar_partitions, quant.install_schedules) to keep two months ahead;
--   md.ensure_bar_partitions(interval, first, last): what every ingest path (load_bars_csv,
--     upload_bars, the feed's md.finish_fetch) calls with the time range of its bars before the
--     INSERT, so history outside the window gets its partitions (a quick catalog look-up when they
--     exist).
-- Partitions made by the install script belong to the extension (and are dumped by pg_dump with
-- their rows: pg_extension_config_dump); those made later are ordinary tables of the database,
-- dumped as such.

CREATE FUNCTION md.bar_partition_period("interval" text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN $1 IN ('1m', '5m') THEN 'month' WHEN $1 IN ('1d', '1w') THEN 'decade' ELSE 'year' END
$$;
COMMENT ON FUNCTION md.bar_partition_period(text) IS
  'The time range of one partition of md.bar for bars of an interval: month (1m, 5m: about 45k and 9k bars per ticker), year (15m to 4h: at most 35k), decade (1d, 1w: about 3.6k).';

CREATE FUNCTION md.bar_partition_start(period text, ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT date_trunc($1, $2 AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$$;
COMMENT ON FUNCTION md.bar_partition_start(text, timestamptz) IS
  'Internal: the start (UTC) of the partition period (month, year, decade) that holds open time ts.';

CREATE FUNCTION md.create_bar_partitions(from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                         "interval" text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    iv text;
    period text;
    step interval;
    p timestamptz;
    last_p timestamptz;
    list_part text;
    def_part text;
    leaf text;
    created integer := 0;
    locked boolean := false;
    default_comment text;
BEGIN
    IF create_bar_partitions."interval" IS NOT NULL THEN
        PERFORM refdata.check_bar_interval(create_bar_partitions."interval");
    END IF;
    to_ts := coalesce(to_ts, now() + interval '2 months');
    FOR iv IN SELECT b.name FROM refdata.bar_interval b
               WHERE create_bar_partitions."interval" IS NULL OR b.name = create_bar_partitions."interval"
               ORDER BY b.seconds LOOP
        period := md.bar_partition_period(iv);
        step := CASE period WHEN 'month' THEN interval '1 month' WHEN 'year' THEN interval '1 year' ELSE interval '10 years' END;
        p := md.bar_partition_start(period, coalesce(from_ts, now()));
        last_p := md.bar_partition_start(period, greatest(to_ts, coalesce(from_ts, now())));
        IF (extract(epoch FROM last_p - p) / extract(epoch FROM step)) > 1200 THEN
            RAISE EXCEPTION 'md.create_bar_partitions: % to % is more than 1200 partitions of % bars (one a %)',
                            from_ts, to_ts, iv, period
                USING ERRCODE = '22023', COLUMN = 'to_ts', HINT = 'bars outside the partitions land in the default partition';
        END IF;
        list_part := 'bar_' || iv;
        def_part := 'bar_' || iv || '_default';
        default_comment := format('The %s bars of md.bar outside every range partition of md.%s (md.create_bar_partitions moves them out)',
                                  iv, list_part);
        IF to_regclass('md.' || quote_ident(def_part)) IS NULL THEN
            IF NOT locked THEN
                PERFORM pg_advisory_xact_lock(hashtext('quant md.bar partitions'));
                locked := true;
            END IF;
            IF to_regclass('md.' || quote_ident(list_part)) IS NULL THEN
                -- bars of this interval in md.bar_default move into the new partition
                CREATE TEMP TABLE quant_bar_moving (LIKE md.bar) ON COMMIT DROP;
                WITH d AS (DELETE FROM md.bar_default b WHERE b.interval = iv RETURNING b.*)
                INSERT INTO pg_temp.quant_bar_moving SELECT * FROM d;
                EXECUTE format('CREATE TABLE md.%I PARTITION OF md.bar FOR VALUES IN (%L) PARTITION BY RANGE (ts)',
                               list_part, iv);
                EXECUTE format('COMMENT ON TABLE md.%I IS %L', list_part,
                               format('The %s bars of md.bar, partitioned by open time (one partition a %s)', iv, period));
                EXECUTE format('CREATE TABLE md.%I PARTITION OF md.%I DEFAULT', def_part, list_part);
                EXECUTE format('COMMENT ON TABLE md.%I IS %L', def_part, default_comment);
                EXECUTE format('INSERT INTO md.%I SELECT * FROM pg_temp.quant_bar_moving', list_part);
                DROP TABLE pg_temp.quant_bar_moving;
                created := created + 2;
            ELSE
                EXECUTE format('CREATE TABLE md.%I PARTITION OF md.%I DEFAULT', def_part, list_part);
                EXECUTE format('COMMENT ON TABLE md.%I IS %L', def_part, default_comment);
                created := created + 1;
            END IF;
        END IF;
        WHILE p <= last_p LOOP
            leaf := 'bar_' || iv || '_' || CASE period WHEN 'month' THEN to_char(p AT TIME ZONE 'UTC', 'YYYY_MM')
                                                        WHEN 'year' THEN to_char(p AT TIME ZONE 'UTC', 'YYYY')
                                                        ELSE to_char(p AT TIME ZONE 'UTC', 'YYYY') || 's' END;
            IF to_regclass('md.' || quote_ident(leaf)) IS NULL THEN
                IF NOT locked THEN
                    PERFORM pg_advisory_xact_lock(hashtext('quant md.bar partitions'));
                    locked := true;
                END IF;
                IF to_regclass('md.' || quote_ident(leaf)) IS NULL THEN
                    -- bars of this range in the default partition move into the new one (a
                    -- partition cannot be added over rows of the default partition)
                    CREATE TEMP TABLE quant_bar_moving (LIKE md.bar) ON COMMIT DROP;
                    EXECUTE format('WITH d AS (DELETE FROM md.%I b WHERE b.ts >= $1 AND b.ts < $2 RETURNING b.*) '
                                   'INSERT INTO pg_temp.quant_bar_moving SELECT * FROM d', def_part)
                        USING p, p + step;
                    EXECUTE format('CREATE TABLE md.%I PARTITION OF md.%I FOR VALUES FROM (%L) TO (%L)',
                                   leaf, list_part, to_char(p AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00"'),
                                   to_char((p + step) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00"'));
                EXECUTE format('COMMENT ON TABLE md.%I IS %L', leaf,
                               format('The %s bars of md.bar that open in [%s, %s) UTC', iv,
                                      to_char(p AT TIME ZONE 'UTC', 'YYYY-MM-DD'), to_char((p + step) AT TIME ZONE 'UTC', 'YYYY-MM-DD')));
                    EXECUTE format('INSERT INTO md.%I SELECT * FROM pg_temp.quant_bar_moving', list_part);
                    DROP TABLE pg_temp.quant_bar_moving;
                    created := created + 1;
                END IF;
            END IF;
            p := p + step;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;
COMMENT ON FUNCTION md.create_bar_partitions(timestamptz, timestamptz, text) IS
  'Creates the missing partitions of md.bar for open times from from_ts (default now) to to_ts (default now + 2 months), for one bar interval or all (NULL): the interval''s partition with its default one, and the range partitions (md.bar_partition_period) of the window; bars of the window already in a default partition move into their new partition. pg_cron runs it daily (quant_bar_partitions). Returns how many tables it created. At most 1200 range partitions per interval per call (22023 otherwise). Administrators only.';
REVOKE ALL ON FUNCTION md.create_bar_partitions(timestamptz, timestamptz, text) FROM PUBLIC;

CREATE FUNCTION md.ensure_bar_partitions("interval" text, first_ts timestamptz, last_ts timestamptz) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    period text := md.bar_partition_period($1);
    step interval;
BEGIN
    IF $1 IS NULL OR first_ts IS NULL OR last_ts IS NULL OR NOT EXISTS (SELECT 1 FROM refdata.bar_interval b WHERE b.name = $1) THEN
        RETURN 0;  -- nothing to place (the INSERT itself refuses a bad interval)
    END IF;
    step := CASE period WHEN 'month' THEN interval '1 month' WHEN 'year' THEN interval '1 year' ELSE interval '10 years' END;
    -- a range wider than 240 partitions (20 years of minute bars): the latest 240; the rest
    -- lands in the default partition (md.create_bar_partitions makes room for it later)
    first_ts := greatest(first_ts, last_ts - step * 239);
    RETURN md.create_bar_partitions(first_ts, last_ts, $1);
END
$$;
COMMENT ON FUNCTION md.ensure_bar_partitions(text, timestamptz, timestamptz) IS
  'Internal (the ingest paths): md.create_bar_partitions for the bars of an interval with open times first_ts to last_ts (the latest 240 partitions at most), before they are inserted. Returns the tables created; 0 when they exist (a catalog look-up per period).';
REVOKE ALL ON FUNCTION md.ensure_bar_partitions(text, timestamptz, timestamptz) FROM PUBLIC;

-- Internal: marks every leaf partition of md.bar for pg_dump (one call each: a single statement
-- cannot update pg_extension twice). Only inside the extension's scripts.
CREATE FUNCTION md.mark_bar_partitions_dumped() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regclass;
    n integer := 0;
BEGIN
    FOR t IN SELECT p.relid FROM pg_partition_tree('md.bar') p WHERE p.isleaf ORDER BY p.relid::text LOOP
        PERFORM pg_extension_config_dump(t, '');
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION md.mark_bar_partitions_dumped() IS
  'Internal (the extension''s install and upgrade scripts): pg_extension_config_dump for every leaf partition of md.bar, so pg_dump keeps their rows.';
REVOKE ALL ON FUNCTION md.mark_bar_partitions_dumped() FROM PUBLIC;

-- The install's partitions: every interval from now to two months ahead, and the daily and weekly
-- bars since 1970 (daily history is the common first load). pg_dump keeps their rows.
SELECT md.create_bar_partitions();
SELECT md.create_bar_partitions('1970-01-01 00:00+00', NULL, i) FROM (VALUES ('1d'), ('1w')) v(i);
SELECT md.mark_bar_partitions_dumped();
