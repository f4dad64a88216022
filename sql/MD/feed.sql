-- The live feed (issue 11 part 4): where the bars of each product and interval come from, the
-- fetches that bring them, and the deployments waiting for them.
--
--   pg_cron -> quant.run_schedule(schedule[, market]) -> md.start_feed_run: the deployments whose
--   products (the traded one and every substrategy's) have an enabled, non-manual md.feed row
--   wait (md.feed_wait) and one md.bar_fetch row per product is queued (PENDING), NOTIFY quant_feed;
--   the other deployments are evaluated at once, as before.
--   quant-feed (worker/src/feed.cpp) claims a fetch (md.claim_fetch, FOR UPDATE SKIP LOCKED, a
--   lease), fetches with the source's TradeAdapter::fetch_bars, drops the forming candle,
--   validates (the core's validate_bars), COPYs the bars into pg_temp.feed_bars and calls
--   md.store_fetch in the same transaction: bars upserted, the fetch DONE (or FAILED with the
--   error, nothing stored), md.feed's state, and every deployment of the run whose products have
--   all been fetched is evaluated there and then (trade.run_one: a signal row NOTIFYed on
--   quant_signal, or a REJECTED row). A product whose fetch failed gives its deployments a
--   REJECTED stale_bars row naming it.
--   md.feed_deadline (pg_cron, every minute): a run past its deadline evaluates whoever still
--   waits (stale bars -> stale_bars), so no deployment waits forever on a dead feed.

CREATE TABLE md.feed (
    ticker       text        NOT NULL CHECK (ticker <> ''),
    "interval"   text        NOT NULL REFERENCES refdata.bar_interval (name),
    source       text        NOT NULL CHECK (source = 'manual' OR source ~ '^[A-Z][A-Z0-9_]*$'),
    symbol       text        CHECK (symbol <> ''),
    category     text        CHECK (category IN ('linear', 'spot')),
    continuous   boolean     NOT NULL DEFAULT true,
    enabled      boolean     NOT NULL DEFAULT true,
    min_bars     integer     NOT NULL DEFAULT 0 CHECK (min_bars BETWEEN 0 AND 1000000),
    last_bar_ts  timestamptz,
    last_fetch_id bigint,
    last_ok_at   timestamptz,
    last_error   text,
    failures     integer     NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticker, "interval")
);
COMMENT ON TABLE md.feed IS
  'The market-data source of a data ticker at a bar interval: source manual (bars loaded by COPY, quant.load_bars_csv or an upload; never fetched) or a broker whose adapter serves bars (BYBIT), with the broker''s symbol and category; and the fetch state (last bar stored, last success, last error, consecutive failures). A product without a row is manual.';
COMMENT ON COLUMN md.feed.continuous IS 'The market trades around the clock (crypto): a missing interval is a gap, and a back-fill reaches exactly bars_needed intervals back';
COMMENT ON COLUMN md.feed.min_bars IS 'History to keep at least, beside what the waiting deployments need';
SELECT pg_catalog.pg_extension_config_dump('md.feed', '');

CREATE TABLE md.feed_run (
    run_id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule    text        NOT NULL,
    market      text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    deadline    timestamptz NOT NULL,
    finished_at timestamptz
);
COMMENT ON TABLE md.feed_run IS
  'One scheduled run that needed fresh bars: its fetches (md.bar_fetch.run_id) and waiting deployments (md.feed_wait); finished when every waiting deployment was evaluated.';

CREATE TABLE md.feed_wait (
    run_id        bigint      NOT NULL REFERENCES md.feed_run ON DELETE CASCADE,
    deployment_id uuid        NOT NULL REFERENCES trade.deployment ON DELETE CASCADE,
    products      text[]      NOT NULL,
    "interval"    text        NOT NULL,
    evaluated_at  timestamptz,
    outcome       text,
    PRIMARY KEY (run_id, deployment_id)
);
COMMENT ON TABLE md.feed_wait IS
  'A deployment of a run waiting for the bars of its fed products (data tickers at its interval); evaluated_at and outcome (SIGNAL, DUPLICATE, REJECTED) once evaluated.';
CREATE INDEX feed_wait_open ON md.feed_wait (run_id) WHERE evaluated_at IS NULL;

CREATE TABLE md.bar_fetch (
    fetch_id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id        bigint      REFERENCES md.feed_run ON DELETE SET NULL,
    ticker        text        NOT NULL,
    "interval"    text        NOT NULL,
    source        text        NOT NULL,
    symbol        text        NOT NULL,
    category      text,
    bars_needed   integer     NOT NULL DEFAULT 0,
    status        text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'FETCHING', 'DONE', 'FAILED')),
    requested_at  timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    claimed_by    text,
    attempts      integer     NOT NULL DEFAULT 0,
    start_ts      timestamptz,
    rows_received integer,
    rows_stored   integer,
    first_bar_ts  timestamptz,
    last_bar_ts   timestamptz,
    gaps          jsonb       NOT NULL DEFAULT '[]',
    error         text
);
COMMENT ON TABLE md.bar_fetch IS
  'The fetch queue and log: one row per fetch of a product at an interval (PENDING -> FETCHING -> DONE or FAILED): when it started and finished, from which bar time, the rows received and stored, the gaps found ([{after, before, missing}]) and the error.';
CREATE INDEX fetch_queue ON md.bar_fetch (fetch_id) WHERE status IN ('PENDING', 'FETCHING');
CREATE INDEX fetch_by_product ON md.bar_fetch (ticker, "interval", fetch_id DESC);
CREATE INDEX fetch_by_run ON md.bar_fetch (run_id) WHERE run_id IS NOT NULL;

-- ---- internals ----
CREATE FUNCTION md.strategy_products(config jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT array_agg(DISTINCT t ORDER BY t) FROM (
        SELECT config->>'ticker' AS t
        UNION SELECT s->>'ticker' FROM jsonb_array_elements(coalesce(config->'substrategies', '[]')) s) x
    WHERE t IS NOT NULL;
$$;
COMMENT ON FUNCTION md.strategy_products(jsonb) IS
  'Internal: the data tickers a stored Strategy JSON reads (its ticker and each substrategy''s).';

CREATE FUNCTION md.bars_needed(config jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 2 * coalesce(max((s->>'window')::integer), 0) + 10
      FROM jsonb_array_elements(coalesce(config->'substrategies', '[]')) s
     WHERE jsonb_typeof(s->'window') = 'number';
$$;
COMMENT ON FUNCTION md.bars_needed(jsonb) IS
  'Internal: the history a strategy needs before its first live signal: twice its largest window (the stochastic''s %D needs 2n-2 bars; EMAs settle) plus 10.';

CREATE FUNCTION md.strategy_interval(config jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(config->>'interval', '1d');
$$;
COMMENT ON FUNCTION md.strategy_interval(jsonb) IS 'Internal: the bar interval of a stored Strategy JSON (default 1d).';

CREATE FUNCTION md.latest_closed_bar(ticker text, bar_interval text, at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT max(b.ts) FROM md.bar b JOIN refdata.bar_interval i ON i.name = bar_interval
     WHERE b.ticker = latest_closed_bar.ticker AND b."interval" = bar_interval AND b.ts + i.duration <= at;
$$;
COMMENT ON FUNCTION md.latest_closed_bar(text, text, timestamptz) IS
  'Internal: the open time of the newest bar of a ticker at an interval that has closed at `at` (ts + the interval <= at); a forming bar is never the latest. NULL when none.';

CREATE FUNCTION md.stale_factor(config jsonb, at timestamptz, max_age_hours double precision) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('stale bars: the latest closed %s bar of %s (a product the strategy reads) is %s, over max_bar_age_hours %s',
                  md.strategy_interval(config), p,
                  coalesce(format('%s, %s hours old', l, round((extract(epoch FROM at - l) / 3600)::numeric, 1)), 'missing'),
                  max_age_hours)
      FROM unnest(md.strategy_products(config)) p,
           LATERAL (SELECT md.latest_closed_bar(p, md.strategy_interval(config), at) AS l) x
     WHERE p <> config->>'ticker' AND max_age_hours IS NOT NULL
       AND (l IS NULL OR quant.bar_is_stale(l, at, max_age_hours))
     ORDER BY p LIMIT 1;
$$;
COMMENT ON FUNCTION md.stale_factor(jsonb, timestamptz, double precision) IS
  'Internal (trade.run_one): the stale_bars message for the first product a strategy reads besides its traded one (a substrategy''s ticker) whose newest closed bar is missing or older than max_age_hours at `at`; NULL when all are fresh or the check is off.';

CREATE FUNCTION md.deadline_seconds() RETURNS double precision
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(nullif(current_setting('quant.feed_deadline_s', true), '')::double precision, 120);
$$;
COMMENT ON FUNCTION md.deadline_seconds() IS
  'Internal: how long a run waits for its fetches before the waiting deployments are evaluated anyway (setting quant.feed_deadline_s, default 120 s).';

-- Called by trade.run_schedule_for before its loop: queues the fetches of every deployment of the
-- run whose products are fed and records those deployments as waiting. NULL when none waits.
CREATE FUNCTION md.start_feed_run(schedule text, market text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid bigint;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS md_feed_need (deployment_id uuid, products text[], "interval" text, needed integer)
        ON COMMIT DROP;
    TRUNCATE pg_temp.md_feed_need;
    INSERT INTO pg_temp.md_feed_need
    SELECT t.deployment_id, md.strategy_products(v.config), md.strategy_interval(v.config), md.bars_needed(v.config)
      FROM trade.deployment t
      JOIN bt.strategy_version v ON v.strategy_id = t.strategy_id AND v.version = t.strategy_version AND v.user_id = t.user_id
     WHERE t.schedule = start_feed_run.schedule AND t.enabled AND t.stopped_at IS NULL
       AND (start_feed_run.market IS NULL OR t.market = start_feed_run.market)
       AND EXISTS (SELECT 1 FROM md.feed f
                    WHERE f.ticker = ANY (md.strategy_products(v.config))
                      AND f."interval" = md.strategy_interval(v.config)
                      AND f.enabled AND f.source <> 'manual');
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO md.feed_run (schedule, market, deadline)
    VALUES (schedule, market, now() + make_interval(secs => md.deadline_seconds()))
    RETURNING run_id INTO rid;
    INSERT INTO md.feed_wait (run_id, deployment_id, products, "interval")
    SELECT rid, n.deployment_id, n.products, n."interval" FROM pg_temp.md_feed_need n;
    INSERT INTO md.bar_fetch (run_id, ticker, "interval", source, symbol, category, bars_needed)
    SELECT rid, f.ticker, f."interval", f.source, coalesce(f.symbol, f.ticker), f.category,
           greatest(f.min_bars, max(n.needed))
      FROM pg_temp.md_feed_need n
      JOIN md.feed f ON f.ticker = ANY (n.products) AND f."interval" = n."interval"
     WHERE f.enabled AND f.source <> 'manual'
     GROUP BY f.ticker, f."interval", f.source, f.symbol, f.category, f.min_bars
     ORDER BY f.ticker, f."interval";
    PERFORM pg_catalog.pg_notify('quant_feed', rid::text);
    RETURN rid;
END
$$;
COMMENT ON FUNCTION md.start_feed_run(text, text) IS
  'Internal (trade.run_schedule_for): queues one PENDING md.bar_fetch per fed product (enabled, source not manual) of the deployments on a schedule (and market), records those deployments in md.feed_wait, NOTIFYs quant_feed with the run id. Returns the run id, NULL when no deployment needs a fetch.';
REVOKE ALL ON FUNCTION md.start_feed_run(text, text) FROM PUBLIC;

-- Evaluates the waiting deployments of a run that are ready (every fetch of their products in
-- this run finished), or all of them (at_deadline). The caller holds the run's row lock.
CREATE FUNCTION md.evaluate_waiting(rid bigint, at_deadline boolean, fetched text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    prev_user text := CASE WHEN quant.authenticated() THEN quant.current_user_id() END;
    w md.feed_wait;
    d trade.deployment;
    failed md.bar_fetch;
    l trade.log;
    r jsonb;
    n integer := 0;
    -- the products of this run still being fetched (one interval per run's deployment set)
    unfinished text[] := ARRAY(SELECT f.ticker || '|' || f."interval" FROM md.bar_fetch f
                                WHERE f.run_id = rid AND f.status IN ('PENDING', 'FETCHING'));
BEGIN
    FOR w IN SELECT x.* FROM md.feed_wait x
              WHERE x.run_id = rid AND x.evaluated_at IS NULL
                AND (fetched IS NULL OR fetched = ANY (x.products))  -- only those the new bars can make ready
                AND (at_deadline OR NOT EXISTS (
                        SELECT 1 FROM unnest(x.products) p WHERE p || '|' || x."interval" = ANY (unfinished)))
              ORDER BY x.deployment_id
              FOR UPDATE SKIP LOCKED
    LOOP
        SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = w.deployment_id;
        IF d.deployment_id IS NULL OR NOT d.enabled OR d.stopped_at IS NOT NULL THEN
            UPDATE md.feed_wait SET evaluated_at = now(), outcome = 'SKIPPED'
             WHERE run_id = rid AND deployment_id = w.deployment_id;
            CONTINUE;
        END IF;
        BEGIN
            PERFORM trade.set_transaction_user(d.user_id);
            -- a product whose bars did not arrive in this run: no signal on the old ones
            SELECT * INTO failed FROM md.bar_fetch f
             WHERE f.run_id = rid AND f.ticker = ANY (w.products) AND f."interval" = w."interval"
               AND f.status <> 'DONE'
             ORDER BY f.ticker LIMIT 1;
            IF failed.fetch_id IS NOT NULL THEN
                INSERT INTO trade.log (deployment_id, user_id, action, success, message, reason, bar_ts)
                VALUES (d.deployment_id, d.user_id, 'REJECTED', false,
                        format('stale bars: the %s bars of %s did not arrive (fetch %s %s%s)', w."interval",
                               failed.ticker, failed.fetch_id,
                               CASE failed.status WHEN 'FAILED' THEN 'failed' ELSE 'not finished by the deadline' END,
                               CASE WHEN failed.error IS NOT NULL THEN ': ' || failed.error ELSE '' END),
                        'stale_bars',
                        (SELECT max(b.ts) FROM md.bar b WHERE b.ticker = failed.ticker AND b."interval" = failed."interval"))
                RETURNING * INTO l;
                r := trade.log_json(l) || '{"outcome": "REJECTED"}';
            ELSE
                r := trade.run_one(d);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'md.evaluate_waiting: deployment % failed: %', d.deployment_id, SQLERRM;
            r := '{"outcome": "ERROR"}';
        END;
        UPDATE md.feed_wait SET evaluated_at = now(), outcome = r->>'outcome'
         WHERE run_id = rid AND deployment_id = w.deployment_id;
        n := n + 1;
    END LOOP;
    PERFORM trade.set_transaction_user(prev_user);
    IF NOT EXISTS (SELECT 1 FROM md.feed_wait x WHERE x.run_id = rid AND x.evaluated_at IS NULL) THEN
        UPDATE md.feed_run SET finished_at = coalesce(finished_at, now()) WHERE run_id = rid;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION md.evaluate_waiting(bigint, boolean, text) IS
  'Internal: evaluates the deployments of a run whose fetches all finished (every waiting one when at_deadline; only those reading the product `fetched` when given), each as its owner in a subtransaction: a product whose fetch did not succeed gives a REJECTED stale_bars row naming it, otherwise trade.run_one (signal, DUPLICATE, or its own REJECTED row). Returns how many were evaluated.';
REVOKE ALL ON FUNCTION md.evaluate_waiting(bigint, boolean, text) FROM PUBLIC;

-- ---- the feed process's calls (quant_worker) ----
CREATE FUNCTION md.claim_fetch(worker_id text, lease_s double precision DEFAULT 60, max_attempts integer DEFAULT 5)
RETURNS TABLE (fetch_id bigint, ticker text, "interval" text, source text, symbol text, category text,
               continuous boolean, bars_needed integer, bars_stored bigint, last_bar_us bigint, now_us bigint,
               attempts integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f md.bar_fetch;
BEGIN
    IF worker_id IS NULL OR worker_id = '' THEN
        RAISE EXCEPTION 'md.claim_fetch: worker_id must not be empty' USING ERRCODE = '22004', COLUMN = 'worker_id';
    END IF;
    LOOP
        -- the oldest PENDING fetch, or a FETCHING one whose claim is this worker's own (a restart)
        -- or older than the lease (a dead worker); one fetch of a product at a time
        SELECT x.* INTO f FROM md.bar_fetch x
         WHERE (x.status = 'PENDING'
                OR (x.status = 'FETCHING' AND (x.claimed_by = claim_fetch.worker_id
                                               OR x.started_at < now() - make_interval(secs => lease_s))))
           AND NOT EXISTS (SELECT 1 FROM md.bar_fetch y
                            WHERE y.ticker = x.ticker AND y."interval" = x."interval" AND y.status = 'FETCHING'
                              AND y.fetch_id <> x.fetch_id AND y.claimed_by IS DISTINCT FROM claim_fetch.worker_id
                              AND y.started_at >= now() - make_interval(secs => lease_s))
         ORDER BY x.fetch_id
         LIMIT 1
         FOR UPDATE SKIP LOCKED;
        IF f.fetch_id IS NULL THEN
            RETURN;
        END IF;
        IF f.attempts >= max_attempts THEN
            PERFORM md.finish_fetch(f.fetch_id, NULL, 0, NULL, '[]',
                                    format('given up after %s attempts (the fetcher died or timed out each time)', f.attempts));
            CONTINUE;
        END IF;
        EXIT;
    END LOOP;
    UPDATE md.bar_fetch x SET status = 'FETCHING', claimed_by = claim_fetch.worker_id, started_at = now(),
                          attempts = x.attempts + 1
     WHERE x.fetch_id = f.fetch_id;
    RETURN QUERY
        SELECT f.fetch_id, f.ticker, f."interval", f.source, f.symbol, f.category,
               coalesce((SELECT e.continuous FROM md.feed e WHERE e.ticker = f.ticker AND e."interval" = f."interval"), true),
               f.bars_needed, s.n, s.last_us,
               (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, f.attempts + 1
          FROM (SELECT count(*) AS n, (extract(epoch FROM max(b.ts)) * 1000000)::bigint AS last_us
                  FROM md.bar b WHERE b.ticker = f.ticker AND b."interval" = f."interval") s;
END
$$;
COMMENT ON FUNCTION md.claim_fetch(text, double precision, integer) IS
  'The feed process: claims the oldest PENDING fetch (or its own, or one whose claim is older than lease_s: a dead fetcher''s) FOR UPDATE SKIP LOCKED, one fetch of a product at a time; sets FETCHING. Returns it with the state the fetch starts from (bars stored, the last one, now in microseconds); no row when nothing is claimable. A fetch claimed max_attempts times is FAILED instead.';
REVOKE ALL ON FUNCTION md.claim_fetch(text, double precision, integer) FROM PUBLIC;

-- Records a fetch: with error NULL the bars in pg_temp.feed_bars are upserted; otherwise nothing
-- is stored. Internal: md.store_fetch and md.claim_fetch.
CREATE FUNCTION md.finish_fetch(fid bigint, start_ts timestamptz, rows_received integer, worker_id text,
                                gaps jsonb, error text) RETURNS md.bar_fetch
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f md.bar_fetch;
    stored integer := 0;
    added integer := 0;
    first_ts timestamptz;
    last_ts timestamptz;
    last_stored timestamptz;
BEGIN
    SELECT * INTO f FROM md.bar_fetch x WHERE x.fetch_id = fid FOR UPDATE;
    IF f.fetch_id IS NULL THEN
        RAISE EXCEPTION 'md.store_fetch: fetch % does not exist', fid USING ERRCODE = 'P0002', COLUMN = 'fetch_id';
    END IF;
    IF worker_id IS NOT NULL AND (f.status <> 'FETCHING' OR f.claimed_by IS DISTINCT FROM worker_id) THEN
        RAISE EXCEPTION 'md.store_fetch: fetch % is % (claimed by %), not this worker''s (%)', fid, f.status,
                        coalesce(f.claimed_by, 'nobody'), worker_id
            USING ERRCODE = '55000', COLUMN = 'fetch_id', HINT = 'claim it first: md.claim_fetch';
    END IF;
    IF error IS NULL THEN
        SELECT min(l.ts), max(l.ts) INTO first_ts, last_ts FROM pg_temp.feed_bars l;
        PERFORM md.ensure_bar_partitions(f."interval", first_ts, last_ts);  -- history outside md.bar's partitions
        SELECT max(b.ts) INTO last_stored FROM md.bar b WHERE b.ticker = f.ticker AND b."interval" = f."interval";
        -- bars up to the last stored one (a re-fetched overlap): rewritten only when they changed
        IF last_stored IS NOT NULL AND first_ts <= last_stored THEN
            WITH up AS (
                INSERT INTO md.bar AS b (ticker, "interval", ts, open, high, low, close, volume)
                SELECT f.ticker, f."interval", l.ts, l.open, l.high, l.low, l.close, l.volume
                  FROM pg_temp.feed_bars l WHERE l.ts <= last_stored
                ON CONFLICT (ticker, "interval", ts) DO UPDATE
                   SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
                       volume = EXCLUDED.volume
                 WHERE (b.open, b.high, b.low, b.close, b.volume)
                       IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume)
                RETURNING 1)
            SELECT count(*) INTO stored FROM up;
        END IF;
        -- bars after it: new, a plain INSERT (a concurrent writer of the same bar makes this
        -- fetch fail and be retried, through the path above)
        INSERT INTO md.bar (ticker, "interval", ts, open, high, low, close, volume)
        SELECT f.ticker, f."interval", l.ts, l.open, l.high, l.low, l.close, l.volume
          FROM pg_temp.feed_bars l WHERE last_stored IS NULL OR l.ts > last_stored;
        GET DIAGNOSTICS added = ROW_COUNT;
        stored := stored + added;
    END IF;
    UPDATE md.bar_fetch x
       SET status = CASE WHEN finish_fetch.error IS NULL THEN 'DONE' ELSE 'FAILED' END,
           finished_at = clock_timestamp(), start_ts = finish_fetch.start_ts,
           rows_received = finish_fetch.rows_received, rows_stored = stored,
           first_bar_ts = first_ts, last_bar_ts = last_ts,
           gaps = coalesce(finish_fetch.gaps, '[]'), error = finish_fetch.error
     WHERE x.fetch_id = fid
    RETURNING * INTO f;
    UPDATE md.feed e
       SET last_fetch_id = fid,
           last_bar_ts = CASE WHEN finish_fetch.error IS NULL THEN
                             (SELECT max(b.ts) FROM md.bar b WHERE b.ticker = e.ticker AND b."interval" = e."interval")
                         ELSE e.last_bar_ts END,
           last_ok_at = CASE WHEN finish_fetch.error IS NULL THEN f.finished_at ELSE e.last_ok_at END,
           last_error = finish_fetch.error,
           failures = CASE WHEN finish_fetch.error IS NULL THEN 0 ELSE e.failures + 1 END,
           updated_at = now()
     WHERE e.ticker = f.ticker AND e."interval" = f."interval";
    RETURN f;
END
$$;
COMMENT ON FUNCTION md.finish_fetch(bigint, timestamptz, integer, text, jsonb, text) IS
  'Internal: records the end of a fetch (DONE with the bars of pg_temp.feed_bars upserted into md.bar, only changed rows rewritten; or FAILED with the error, nothing stored) and the product''s state in md.feed.';
REVOKE ALL ON FUNCTION md.finish_fetch(bigint, timestamptz, integer, text, jsonb, text) FROM PUBLIC;

CREATE FUNCTION md.store_fetch(fetch_id bigint, worker_id text, start_ts timestamptz, rows_received integer,
                               gaps jsonb DEFAULT '[]', error text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f md.bar_fetch;
    evaluated integer := 0;
BEGIN
    IF worker_id IS NULL OR worker_id = '' THEN
        RAISE EXCEPTION 'md.store_fetch: worker_id must not be empty' USING ERRCODE = '22004', COLUMN = 'worker_id';
    END IF;
    -- the run first: two fetches of one run finishing at once are serialised, so the second
    -- sees the first's commit and no waiting deployment is left behind
    PERFORM 1 FROM md.feed_run r WHERE r.run_id = (SELECT x.run_id FROM md.bar_fetch x WHERE x.fetch_id = store_fetch.fetch_id)
        FOR UPDATE;
    f := md.finish_fetch(fetch_id, start_ts, rows_received, worker_id, gaps, error);
    IF f.run_id IS NOT NULL THEN
        evaluated := md.evaluate_waiting(f.run_id, false, f.ticker);
    END IF;
    RETURN jsonb_build_object('fetch_id', f.fetch_id, 'status', f.status, 'rows_stored', f.rows_stored,
                              'evaluated', evaluated);
END
$$;
COMMENT ON FUNCTION md.store_fetch(bigint, text, timestamptz, integer, jsonb, text) IS
  'The feed process, in the transaction that COPYed the fetched bars into pg_temp.feed_bars (ts timestamptz, open, high, low, close, volume float8): records fetch_id (claimed by worker_id) as DONE with the bars upserted into md.bar, or FAILED with error (nothing stored); then evaluates every deployment of its run whose fetches all finished. Returns {fetch_id, status, rows_stored, evaluated}. 55000 when the fetch is not this worker''s claim.';
REVOKE ALL ON FUNCTION md.store_fetch(bigint, text, timestamptz, integer, jsonb, text) FROM PUBLIC;

CREATE FUNCTION quant.feed_deadline() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid bigint;
    n integer := 0;
BEGIN
    FOR rid IN SELECT r.run_id FROM md.feed_run r
                WHERE r.finished_at IS NULL AND r.deadline <= now() ORDER BY r.run_id
                FOR UPDATE SKIP LOCKED
    LOOP
        UPDATE md.bar_fetch f SET status = 'FAILED', finished_at = clock_timestamp(),
                              error = 'the run''s deadline passed before the fetch started'
         WHERE f.run_id = rid AND f.status = 'PENDING';
        n := n + md.evaluate_waiting(rid, true);
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION quant.feed_deadline() IS
  'Evaluates the deployments of every run past its deadline that still wait for bars (a product whose fetch did not succeed: REJECTED stale_bars), and fails the run''s fetches that never started. pg_cron runs it every minute (quant_feed_deadline); the feed process calls it when idle. Returns how many deployments were evaluated. SECURITY DEFINER; not granted to PUBLIC or quant_app.';
REVOKE ALL ON FUNCTION quant.feed_deadline() FROM PUBLIC;

-- ---- the API ----
CREATE FUNCTION md.feed_json(f md.feed) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object('ticker', f.ticker, 'interval', f."interval", 'source', f.source, 'symbol', f.symbol,
                              'category', f.category, 'continuous', f.continuous, 'enabled', f.enabled,
                              'min_bars', f.min_bars, 'last_bar_ts', f.last_bar_ts, 'last_fetch_id', f.last_fetch_id,
                              'last_ok_at', f.last_ok_at, 'last_error', f.last_error, 'failures', f.failures,
                              'updated_at', f.updated_at);
END
$$;
COMMENT ON FUNCTION md.feed_json(md.feed) IS 'Internal: an md.feed row as JSON.';

CREATE FUNCTION quant.set_feed(ticker text, bar_interval text, source text, symbol text DEFAULT NULL,
                               category text DEFAULT NULL, enabled boolean DEFAULT true, min_bars integer DEFAULT 0,
                               continuous boolean DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.set_feed';
    f md.feed;
BEGIN
    IF ticker IS NULL OR btrim(ticker) = '' THEN
        RAISE EXCEPTION '%: ticker must not be NULL or empty', fn USING ERRCODE = '22004', COLUMN = 'ticker';
    END IF;
    PERFORM refdata.check_bar_interval(bar_interval, 'bar_interval');
    IF source IS NULL OR NOT (source = 'manual' OR source IN ('BYBIT', 'FUTU')) THEN
        RAISE EXCEPTION '%: unknown source "%"', fn, source
            USING ERRCODE = '22023', COLUMN = 'source',
                  HINT = 'valid sources: manual (bars loaded by hand), BYBIT, FUTU (the broker''s market data)';
    END IF;
    IF category IS NOT NULL AND category NOT IN ('linear', 'spot') THEN
        RAISE EXCEPTION '%: unknown category "%"', fn, category
            USING ERRCODE = '22023', COLUMN = 'category', HINT = 'valid categories: linear, spot (BYBIT)';
    END IF;
    IF min_bars IS NULL OR min_bars < 0 OR min_bars > 1000000 THEN
        RAISE EXCEPTION '%: min_bars must be from 0 to 1000000, got %', fn, min_bars
            USING ERRCODE = '22023', COLUMN = 'min_bars';
    END IF;
    INSERT INTO md.feed AS e (ticker, "interval", source, symbol, category, enabled, min_bars, continuous)
    VALUES (set_feed.ticker, bar_interval, set_feed.source, nullif(set_feed.symbol, ''), set_feed.category,
            coalesce(set_feed.enabled, true), set_feed.min_bars, coalesce(set_feed.continuous, set_feed.source = 'BYBIT'))
    ON CONFLICT ON CONSTRAINT feed_pkey DO UPDATE
       SET source = EXCLUDED.source, symbol = EXCLUDED.symbol, category = EXCLUDED.category,
           enabled = EXCLUDED.enabled, min_bars = EXCLUDED.min_bars,
           continuous = coalesce(set_feed.continuous, e.continuous), updated_at = now()
    RETURNING * INTO f;
    RETURN md.feed_json(f);
END
$$;
COMMENT ON FUNCTION quant.set_feed(text, text, text, text, text, boolean, integer, boolean) IS
  'Sets the market-data source of a data ticker at an interval (shared by every user, like md.bar): source manual or a broker (BYBIT: public klines; FUTU: OpenD''s Qot_RequestHistoryKL, 1d and 1h, symbol like US.AAPL), the broker''s symbol (default the ticker) and category, enabled, min_bars (history to keep at least) and continuous (default: true for BYBIT). Returns the feed as JSON. Administrators only (quant_admin).';
REVOKE ALL ON FUNCTION quant.set_feed(text, text, text, text, text, boolean, integer, boolean) FROM PUBLIC;

CREATE FUNCTION quant.list_feeds() RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT md.feed_json(f) FROM md.feed f ORDER BY f.ticker, f."interval";
$$;
COMMENT ON FUNCTION quant.list_feeds() IS
  'Every market-data source (md.feed) with its fetch state: ticker, interval, source, symbol, category, continuous, enabled, min_bars, last_bar_ts, last_fetch_id, last_ok_at, last_error, failures, updated_at.';

CREATE FUNCTION md.fetch_json(f md.bar_fetch) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object('fetch_id', f.fetch_id, 'run_id', f.run_id, 'ticker', f.ticker, 'interval', f."interval",
                              'source', f.source, 'symbol', f.symbol, 'status', f.status,
                              'requested_at', f.requested_at, 'started_at', f.started_at,
                              'finished_at', f.finished_at, 'attempts', f.attempts, 'start_ts', f.start_ts,
                              'rows_received', f.rows_received, 'rows_stored', f.rows_stored,
                              'first_bar_ts', f.first_bar_ts, 'last_bar_ts', f.last_bar_ts,
                              'gaps', f.gaps, 'error', f.error);
END
$$;
COMMENT ON FUNCTION md.fetch_json(md.bar_fetch) IS 'Internal: an md.bar_fetch row as JSON.';

CREATE FUNCTION quant.fetch_log(ticker text DEFAULT NULL, bar_interval text DEFAULT NULL, max_rows integer DEFAULT 100,
                                before_id bigint DEFAULT NULL) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF max_rows IS NULL OR max_rows < 1 OR max_rows > 1000 THEN
        RAISE EXCEPTION 'quant.fetch_log: max_rows must be from 1 to 1000, got %', max_rows
            USING ERRCODE = '22023', COLUMN = 'max_rows';
    END IF;
    RETURN QUERY
        SELECT md.fetch_json(f) FROM md.bar_fetch f
         WHERE (fetch_log.ticker IS NULL OR f.ticker = fetch_log.ticker)
           AND (bar_interval IS NULL OR f."interval" = bar_interval)
           AND (before_id IS NULL OR f.fetch_id < before_id)
         ORDER BY f.fetch_id DESC
         LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION quant.fetch_log(text, text, integer, bigint) IS
  'The fetch log, newest first (optionally of one ticker (ticker) and interval (bar_interval); pages with before_id = the last fetch_id seen): fetch_id, run_id, ticker, interval, source, symbol, status (PENDING, FETCHING, DONE, FAILED), requested_at, started_at, finished_at, attempts, start_ts, rows_received, rows_stored, first_bar_ts, last_bar_ts, gaps [{after, before, missing}], error. max_rows 1..1000 (default 100; 22023 otherwise).';
