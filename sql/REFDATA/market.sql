-- Markets: when each market's trading day closes, in UTC, because pg_cron 1.4 schedules in UTC
-- only (no cron.timezone before 1.5). The rows are the engine's market catalog
-- (core/src/catalog.cpp, quant.market_catalog()), which says for each market why its daily_close
-- run is at that time: one fixed UTC time, the later of the two closes when the exchange has
-- daylight saving time, a few minutes after the close so that the day's bar can be in md.bar.
-- Exchange holidays are not modelled: the run finds no new bar and writes nothing.
CREATE TABLE refdata.market (
    market          text PRIMARY KEY CHECK (market ~ '^[A-Z]{2,16}$'),
    close_time_utc  time NOT NULL,
    timezone        text NOT NULL,
    local_close     time NOT NULL,
    run_cron        text NOT NULL,
    description     text NOT NULL,
    whole_shares    boolean NOT NULL
);
COMMENT ON TABLE refdata.market IS
  'Markets and their daily close in UTC (pg_cron 1.4 is UTC-only); quant.install_schedules makes one daily_close pg_cron job per row (schedule run_cron). Shared reference data, no owner.';
COMMENT ON COLUMN refdata.market.close_time_utc IS 'The daily close in UTC outside daylight saving time (the later of the two for markets with DST)';
COMMENT ON COLUMN refdata.market.timezone IS 'The exchange''s IANA time zone (for display and DST-aware checks)';
COMMENT ON COLUMN refdata.market.local_close IS 'The daily close in the exchange''s local time';
COMMENT ON COLUMN refdata.market.run_cron IS 'The pg_cron schedule (UTC) of this market''s daily_close run: minute hour * * days, after the close all year';
COMMENT ON COLUMN refdata.market.whole_shares IS 'Quantities are whole shares (a fractional deployment qty is refused), else decimals';

INSERT INTO refdata.market SELECT * FROM quant.market_catalog();

CREATE FUNCTION quant.list_markets() RETURNS SETOF jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('market', m.market, 'close_time_utc', m.close_time_utc, 'timezone', m.timezone,
                              'local_close', m.local_close, 'run_cron', m.run_cron, 'description', m.description)
    FROM refdata.market m ORDER BY m.market;
$$;
COMMENT ON FUNCTION quant.list_markets() IS
  'The markets with their daily close (UTC and local), time zone and the pg_cron schedule (UTC) of their daily_close run.';
