-- The live loop's first half: pg_cron calls quant.run_schedule, which
-- evaluates every enabled deployment on that schedule with the backtest's code
-- (quant.evaluate_config on the deployment's PINNED strategy version), writes one trade.signal
-- row per (deployment, bar) with the indicator values and positions of each substrategy,
-- status PENDING, and NOTIFYs channel quant_signal with the signal id; quant-worker LISTENs,
-- claims the PENDING rows and trades them.
--
-- Guards, each giving a trade.log row action REJECTED with a reason code and no signal:
--   stale_bars            the latest closed bar of the traded product, or of any product a
--                         substrategy reads (md.stale_factor), is older than
--                         risk_limits.max_bar_age_hours (default
--                         per schedule: refdata.schedule, the core's catalog; 96 h for a daily
--                         bar covers weekends). JSON null turns the check off, paper only (the
--                         validator refuses it for paper=false; here it falls back to the
--                         default for a live row, failing closed).
--   insufficient_history  the indicators are undefined at the latest bar (too few bars, or
--                         the strategy's signal is NULL there).
--   no_bars               the strategy's data ticker has no bars in md.bar.
--   error                 anything else the evaluation raised (the message is kept).
-- Duplicate guard: a bar that already has a signal (of any source) is not evaluated again and
-- writes nothing (ON CONFLICT DO NOTHING on trade.signal's unique key covers a race).
-- Isolation of failures: every deployment is evaluated in its own subtransaction, so one
-- failing deployment is logged and the run goes on.

-- ---- internals ----
-- The stale-bar rule is the core's (quant::max_bar_age_hours, quant::bar_is_stale): the worker
-- and this SQL judge a bar alike.
CREATE FUNCTION quant.max_bar_age_hours(risk_limits jsonb, schedule text, paper boolean) RETURNS double precision
AS 'MODULE_PATHNAME', 'quant_max_bar_age_hours_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.max_bar_age_hours(jsonb, text, boolean) IS
  'The stale-bar limit of a deployment in hours (the core''s rule): risk_limits.max_bar_age_hours when given, else the schedule''s default (refdata.schedule: daily_close and manual 96, hourly 2); NULL when the check is off (max_bar_age_hours null on a paper deployment; a live one falls back to the default).';

CREATE FUNCTION quant.bar_is_stale(bar_ts timestamptz, at timestamptz, max_age_hours double precision) RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_bar_is_stale_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.bar_is_stale(timestamptz, timestamptz, double precision) IS
  'True when a bar stamped bar_ts is more than max_age_hours old at time at (the core''s rule).';

CREATE FUNCTION trade.max_bar_age_hours(d trade.deployment) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT quant.max_bar_age_hours(d.risk_limits, d.schedule, d.paper);
$$;
COMMENT ON FUNCTION trade.max_bar_age_hours(trade.deployment) IS
  'Internal: the stale-bar limit of a deployment in hours, NULL when the check is off (max_bar_age_hours null on a paper deployment).';

CREATE FUNCTION trade.run_one(d trade.deployment) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v bt.strategy_version;
    latest timestamptz;
    max_age double precision;
    ev jsonb;
    g trade.signal;
    l trade.log;
    reason text;
    msg text;
    st text;
BEGIN
    BEGIN  -- a subtransaction: whatever fails here is rolled back and logged below
        SELECT * INTO v FROM bt.strategy_version x
        WHERE x.strategy_id = d.strategy_id AND x.version = d.strategy_version AND x.user_id = d.user_id;
        IF v.strategy_id IS NULL THEN
            RAISE EXCEPTION 'strategy % version % not found', d.strategy_id, d.strategy_version USING ERRCODE = 'P0002';
        END IF;
        -- the newest CLOSED bar (ts + interval <= now): a forming bar is never evaluated
        latest := md.latest_closed_bar(v.config->>'ticker', md.strategy_interval(v.config), now());
        max_age := trade.max_bar_age_hours(d);
        IF latest IS NULL THEN
            reason := 'no_bars';
            msg := format('no bars: ticker %s has no closed %s bars in md.bar', v.config->>'ticker',
                          md.strategy_interval(v.config));
        ELSIF max_age IS NOT NULL AND quant.bar_is_stale(latest, now(), max_age) THEN
            reason := 'stale_bars';
            msg := format('stale bars: the latest closed %s bar of %s is %s, %s hours old, over max_bar_age_hours %s',
                          md.strategy_interval(v.config), v.config->>'ticker', latest,
                          round((extract(epoch FROM now() - latest) / 3600)::numeric, 1), max_age);
        ELSIF max_age IS NOT NULL AND md.stale_factor(v.config, now(), max_age) IS NOT NULL THEN
            reason := 'stale_bars';  -- a factor product late: never a signal on its old bars
            msg := md.stale_factor(v.config, now(), max_age);
        ELSE
            SELECT * INTO g FROM trade.signal x WHERE x.deployment_id = d.deployment_id AND x.bar_ts = latest;
            IF g.signal_id IS NOT NULL THEN
                RETURN trade.signal_json(g) || '{"outcome": "DUPLICATE"}';  -- the duplicate guard
            END IF;
            -- the same code as the backtest, on every bar up to the latest one
            ev := quant.evaluate_config(v.config, latest);
            IF jsonb_typeof(ev->'signal') IS DISTINCT FROM 'number' THEN
                reason := 'insufficient_history';
                msg := format('insufficient history: the indicators of strategy %s version %s are undefined at the %s bar of %s',
                              d.strategy_id, d.strategy_version, v.config->>'ticker', latest);
            ELSE
                INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, evaluation, strategy_version, ticker)
                VALUES (d.deployment_id, d.user_id, (ev->>'bar_ts')::timestamptz, (ev->>'signal')::numeric, ev,
                        d.strategy_version, v.config->>'ticker')
                ON CONFLICT (deployment_id, bar_ts, source) DO NOTHING  -- the duplicate guard (TRADE/signal.sql)
                RETURNING * INTO g;
                IF g.signal_id IS NULL THEN  -- a concurrent run wrote it first
                    SELECT * INTO g FROM trade.signal x
                    WHERE x.deployment_id = d.deployment_id AND x.bar_ts = (ev->>'bar_ts')::timestamptz;
                    RETURN trade.signal_json(g) || '{"outcome": "DUPLICATE"}';
                END IF;
                PERFORM pg_catalog.pg_notify('quant_signal', g.signal_id::text);
                RETURN trade.signal_json(g) || '{"outcome": "SIGNAL"}';
            END IF;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        IF st = 'QA002' THEN  -- the core's insufficient bars
            reason := 'insufficient_history';
            msg := 'insufficient history: ' || msg;
        ELSIF st = 'QA001' THEN  -- the core's no bars
            reason := 'no_bars';
            msg := 'no bars: ' || msg;
        ELSE
            reason := 'error';
            msg := format('evaluation failed (SQLSTATE %s): %s', st, msg);
        END IF;
    END;
    INSERT INTO trade.log (deployment_id, user_id, action, success, message, reason, bar_ts)
    VALUES (d.deployment_id, d.user_id, 'REJECTED', false, msg, reason, latest)
    RETURNING * INTO l;
    IF reason IN ('stale_bars', 'no_bars') THEN  -- an alert (TRADE/breaker.sql: quant_alert)
        PERFORM pg_catalog.pg_notify('quant_alert', jsonb_build_object(
            'kind', 'stale_data', 'user_id', d.user_id, 'deployment_id', d.deployment_id, 'reason', reason,
            'bar_ts', latest, 'message', msg, 'at', clock_timestamp())::text);
    END IF;
    RETURN trade.log_json(l) || '{"outcome": "REJECTED"}';
END
$$;
COMMENT ON FUNCTION trade.run_one(trade.deployment) IS
  'Internal: evaluates one deployment now (its pinned strategy version on the latest bar of the strategy''s ticker) in a subtransaction. Returns the new signal (outcome SIGNAL, NOTIFYed on quant_signal), the existing one for an already evaluated bar (outcome DUPLICATE, nothing written), or the REJECTED trade.log row (outcome REJECTED, with reason and message; stale_bars and no_bars also NOTIFY quant_alert, kind stale_data).';

-- ---- the API ----
CREATE FUNCTION quant.run_deployment(id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.run_deployment';
    d trade.deployment := trade.own_deployment(id, fn, false);
BEGIN
    IF NOT d.enabled THEN
        RAISE EXCEPTION '%: deployment % is %', fn, id, CASE WHEN d.stopped_at IS NULL THEN 'disabled' ELSE 'stopped' END
            USING ERRCODE = '55000', COLUMN = 'deployment_id',
                  HINT = CASE WHEN d.stopped_at IS NULL THEN 'enable it: quant.update_deployment(id, ''{"enabled": true}'')'
                              ELSE 'a stopped deployment stays stopped; deploy anew' END;
    END IF;
    RETURN trade.run_one(d);
END
$$;
COMMENT ON FUNCTION quant.run_deployment(uuid) IS
  'Evaluates a deployment of the current user now, whatever its schedule (how manual deployments run): the new signal row (outcome SIGNAL, NOTIFYed on quant_signal), the existing one when this bar was already evaluated (outcome DUPLICATE, nothing written), or the rejection (outcome REJECTED, action, reason, message: stale_bars, insufficient_history, no_bars, error). P0002 when not yours; 55000 when disabled or stopped.';

CREATE FUNCTION trade.run_schedule_for(schedule text, market text) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.run_schedule';
    prev_user text := CASE WHEN quant.authenticated() THEN quant.current_user_id() END;
    d trade.deployment;
    r jsonb;
    written integer := 0;
    feed_run bigint;
BEGIN
    IF schedule IS NULL THEN
        RAISE EXCEPTION '%: schedule must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'schedule';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM refdata.schedule x WHERE x.schedule = run_schedule_for.schedule AND x.cron) THEN
        RAISE EXCEPTION '%: unknown schedule "%"', fn, schedule
            USING ERRCODE = '22023', COLUMN = 'schedule',
                  HINT = 'valid schedules: ' || (SELECT string_agg(c.schedule, ', ' ORDER BY c.n)
                                                 FROM quant.schedule_catalog() WITH ORDINALITY
                                                      AS c(schedule, cron, default_max_bar_age_hours, description, n)
                                                 WHERE c.cron)
                         || ' (manual deployments run on quant.run_deployment(id))';
    END IF;
    IF market IS NOT NULL AND NOT EXISTS (SELECT 1 FROM refdata.market m WHERE m.market = run_schedule_for.market) THEN
        RAISE EXCEPTION '%: unknown market "%"', fn, market
            USING ERRCODE = '22023', COLUMN = 'market',
                  HINT = 'valid markets: ' || (SELECT string_agg(m.market, ', ' ORDER BY m.market) FROM refdata.market m);
    END IF;
    -- the live feed first (MD/feed.sql): deployments reading a fed product wait for its fetch and
    -- are evaluated when the bars arrive (md.store_fetch) or at the run's deadline
    feed_run := md.start_feed_run(run_schedule_for.schedule, run_schedule_for.market);
    -- every user's deployments: the caller is pg_cron's job owner, not a quant user
    FOR d IN SELECT * FROM trade.deployment t
             WHERE t.schedule = run_schedule_for.schedule AND t.enabled AND t.stopped_at IS NULL
               AND (run_schedule_for.market IS NULL OR t.market = run_schedule_for.market)
               AND NOT EXISTS (SELECT 1 FROM md.feed_wait w WHERE w.run_id = feed_run AND w.deployment_id = t.deployment_id)
             ORDER BY t.user_id, t.deployment_id
    LOOP
        BEGIN
            -- act as the deployment's owner: RLS and the quant.* functions see that user
            PERFORM trade.set_transaction_user(d.user_id);
            r := trade.run_one(d);
            IF r->>'outcome' = 'SIGNAL' THEN
                written := written + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            -- run_one logs its own failures; this only guards the loop against the unexpected
            RAISE WARNING '%: deployment % failed: %', fn, d.deployment_id, SQLERRM;
        END;
    END LOOP;
    PERFORM trade.set_transaction_user(prev_user);
    RETURN written;
END
$$;
COMMENT ON FUNCTION trade.run_schedule_for(text, text) IS
  'Internal: the body of quant.run_schedule (all markets when market is NULL).';
REVOKE ALL ON FUNCTION trade.run_schedule_for(text, text) FROM PUBLIC;

CREATE FUNCTION quant.run_schedule(schedule text) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT trade.run_schedule_for(schedule, NULL);
$$;
COMMENT ON FUNCTION quant.run_schedule(text) IS
  'Evaluates every enabled, not stopped deployment of every user on a schedule (daily_close or hourly), each as its owner and in its own subtransaction: one trade.signal row (PENDING, NOTIFY quant_signal) per deployment and new bar, or a REJECTED trade.log row with the reason. Returns the number of signals written. SECURITY DEFINER, for pg_cron (quant.install_schedules) and administrators only: not granted to PUBLIC or quant_app.';
REVOKE ALL ON FUNCTION quant.run_schedule(text) FROM PUBLIC;

CREATE FUNCTION quant.run_schedule(schedule text, market text) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF market IS NULL THEN
        RAISE EXCEPTION 'quant.run_schedule: market must not be NULL' USING ERRCODE = '22004', COLUMN = 'market',
                  HINT = 'quant.run_schedule(schedule) runs every market';
    END IF;
    RETURN trade.run_schedule_for(schedule, upper(market));
END
$$;
COMMENT ON FUNCTION quant.run_schedule(text, text) IS
  'quant.run_schedule for the deployments of one market only (refdata.market): the per-market daily_close pg_cron jobs call it after that market''s close. Returns the number of signals written. SECURITY DEFINER, not granted to PUBLIC or quant_app.';
REVOKE ALL ON FUNCTION quant.run_schedule(text, text) FROM PUBLIC;

CREATE FUNCTION quant.deployment_signals(id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.deployment_signals', false);
BEGIN
    RETURN QUERY
        SELECT trade.signal_json(g) FROM trade.signal g
        WHERE g.deployment_id = d.deployment_id AND g.user_id = d.user_id
        ORDER BY g.bar_ts DESC, g.signal_id DESC;
END
$$;
COMMENT ON FUNCTION quant.deployment_signals(uuid) IS
  'The signals of a deployment of the current user, newest bar first: signal_id, signal (-1, 0, 1), bar_ts, status, strategy_version, ticker, conjunction, substrategies [{id, indicator, signal_func, window, value, position}], created_at, processed_at. P0002 when not yours.';

CREATE FUNCTION quant.deployment_trades(id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.deployment_trades', false);
BEGIN
    RETURN QUERY
        SELECT trade.log_json(l) FROM trade.log l
        WHERE l.deployment_id = d.deployment_id AND l.user_id = d.user_id
        ORDER BY l.ts DESC, l.log_id DESC;
END
$$;
COMMENT ON FUNCTION quant.deployment_trades(uuid) IS
  'The execution log of a deployment of the current user, newest first: action (BUY, SELL, HOLD, REJECTED), qty, price, success, message, reason, order_id, timestamp, signal_value, signal_id, bar_ts. P0002 when not yours.';


-- ---- pg_cron jobs ----
-- Not created by CREATE EXTENSION: pg_cron may be missing, or live in another database
-- (cron.database_name). scripts/cluster.sh setup calls this when pg_cron is installed.
CREATE FUNCTION quant.install_schedules()
RETURNS TABLE (jobname text, schedule text, command text, jobid bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m refdata.market;
    jobs text[][] := ARRAY[]::text[][];
    j text[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
        RAISE EXCEPTION 'quant.install_schedules: pg_cron is not installed in this database'
            USING ERRCODE = '55000',
                  HINT = 'shared_preload_libraries = ''pg_cron'', cron.database_name = this database, then CREATE EXTENSION pg_cron';
    END IF;
    -- daily_close: one job per market, after its close (UTC; see refdata.market for DST)
    FOR m IN SELECT * FROM refdata.market ORDER BY market LOOP
        jobs := jobs || ARRAY[['quant_daily_close_' || m.market, m.run_cron,
                               format('SELECT quant.run_schedule(%L, %L)', 'daily_close', m.market)]];
    END LOOP;
    jobs := jobs || ARRAY[['quant_hourly', '0 * * * *', 'SELECT quant.run_schedule(''hourly'')']];
    -- pg_cron's run log grows without bound (nothing cleans it): keep a week
    jobs := jobs || ARRAY[['quant_cron_cleanup', '17 3 * * *',
                           'DELETE FROM cron.job_run_details WHERE end_time < now() - interval ''7 days''']];
    -- the stop loss, every minute against the latest price (sql/TRADE/stop_loss.sql; pg_cron
    -- 1.4: a minute is the finest grain)
    jobs := jobs || ARRAY[['quant_stop_loss', '* * * * *', 'SELECT quant.check_stop_losses()']];
    -- the live feed's deadline: runs whose bars did not arrive in time give stale_bars rows
    jobs := jobs || ARRAY[['quant_feed_deadline', '* * * * *', 'SELECT quant.feed_deadline()']];
    -- md.bar's partitions two months ahead (sql/MD/bar_partitions.sql)
    jobs := jobs || ARRAY[['quant_bar_partitions', '41 2 * * *', 'SELECT md.create_bar_partitions()']];
    FOREACH j SLICE 1 IN ARRAY jobs LOOP
        jobname := j[1];
        schedule := j[2];
        command := j[3];
        -- cron.schedule(name, ...) updates the job of that name: installing twice is harmless
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid USING jobname, schedule, command;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION quant.install_schedules() IS
  'Creates (or updates) the pg_cron jobs of the live loop, in UTC: quant_daily_close_<MARKET> per refdata.market (US 21:05 Mon-Fri, HK 08:05 Mon-Fri, CRYPTO 00:05 daily), quant_hourly (minute 0), quant_stop_loss (every minute: quant.check_stop_losses), quant_feed_deadline (every minute: quant.feed_deadline), quant_bar_partitions (02:41 daily: md.create_bar_partitions, two months ahead), quant_cron_cleanup (cron.job_run_details older than 7 days). Idempotent. Needs pg_cron in this database (55000 otherwise) and the right to call cron.schedule. Returns the jobs.';
REVOKE ALL ON FUNCTION quant.install_schedules() FROM PUBLIC;

CREATE FUNCTION quant.uninstall_schedules() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := 0;
    name text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
        RETURN 0;
    END IF;
    FOR name IN EXECUTE 'SELECT jobname FROM cron.job WHERE jobname LIKE ''quant\_%'' ORDER BY jobname' LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING name;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION quant.uninstall_schedules() IS
  'Removes the pg_cron jobs named quant_* of the calling database role (those quant.install_schedules made). Returns how many.';
REVOKE ALL ON FUNCTION quant.uninstall_schedules() FROM PUBLIC;
