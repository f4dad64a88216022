-- Markets (issue 4, scheduling): when each market's trading day closes, in UTC, because
-- pg_cron 1.4 schedules in UTC only (no cron.timezone before 1.5).
--
-- The daily_close schedule runs a few minutes after the close, so that the day's bar can be in
-- md.bar. Policy for daylight saving time: one fixed UTC time per market, the LATER of the
-- two closes, so the job always runs after the close:
--   US      16:00 America/New_York = 21:00 UTC in winter (EST), 20:00 UTC in summer (EDT).
--           The job runs at 21:05 UTC Monday to Friday: 5 minutes after the close in winter,
--           1 h 5 min after it in summer. Never before the close, never on a partial bar.
--   HK      16:00 Asia/Hong_Kong = 08:00 UTC all year (no DST); runs 08:05 UTC Mon-Fri.
--   CRYPTO  trades around the clock; the daily bar closes at 00:00 UTC; runs 00:05 UTC daily.
-- Exchange holidays are not modelled: on a holiday the run finds no new bar, and the duplicate
-- guard (one signal per deployment and bar) makes it write nothing.
CREATE TABLE refdata.market (
    market          text PRIMARY KEY CHECK (market ~ '^[A-Z]{2,16}$'),
    close_time_utc  time NOT NULL,
    timezone        text NOT NULL,
    local_close     time NOT NULL,
    run_cron        text NOT NULL,
    description     text NOT NULL
);
COMMENT ON TABLE refdata.market IS
  'Markets and their daily close in UTC (pg_cron 1.4 is UTC-only); quant.install_schedules makes one daily_close pg_cron job per row (schedule run_cron). Shared reference data, no owner.';
COMMENT ON COLUMN refdata.market.close_time_utc IS 'The daily close in UTC outside daylight saving time (the later of the two for markets with DST)';
COMMENT ON COLUMN refdata.market.timezone IS 'The exchange''s IANA time zone (for display and DST-aware checks)';
COMMENT ON COLUMN refdata.market.local_close IS 'The daily close in the exchange''s local time';
COMMENT ON COLUMN refdata.market.run_cron IS 'The pg_cron schedule (UTC) of this market''s daily_close run: minute hour * * days, after the close all year';

INSERT INTO refdata.market (market, close_time_utc, timezone, local_close, run_cron, description) VALUES
    ('US', '21:00', 'America/New_York', '16:00', '5 21 * * 1-5',
     'US equities (NYSE, Nasdaq): close 16:00 New York = 21:00 UTC (EST), 20:00 UTC in summer (EDT); the run at 21:05 UTC is after the close all year'),
    ('HK', '08:00', 'Asia/Hong_Kong', '16:00', '5 8 * * 1-5',
     'Hong Kong equities (HKEX): close 16:00 Hong Kong = 08:00 UTC, no daylight saving time'),
    ('CRYPTO', '00:00', 'UTC', '00:00', '5 0 * * *',
     'Crypto (Bybit): trades around the clock; the daily bar closes at 00:00 UTC, every day');

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
