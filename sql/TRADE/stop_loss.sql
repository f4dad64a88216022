-- The stop loss of the live loop (seed §4 "flatten the position if the unrealised loss passes
-- stop_loss_pct"): checked every minute by pg_cron (job quant_stop_loss
-- of quant.install_schedules) against the latest price, not only on the deployment's schedule.
--
-- quant.check_stop_losses() looks at every not stopped deployment (enabled or not) of every user with a
-- non-zero booked position (trade.position). When the core's rule (quant.stop_loss_triggered,
-- the C++ quant::stop_loss_triggered) says the loss at the latest close of the strategy's data
-- ticker passes risk_limits.stop_loss_pct, it writes a flattening signal (signal 0,
-- source 'stop_loss') for that bar, a trade.log row (action HOLD, reason stop_loss) and NOTIFYs
-- quant_signal. quant-worker executes it like any signal: the risk checks, then reduce-only
-- legs (so the position, notional and cash checks never trap the exit), intent before send.
--
-- Decisions:
--   Duplicate guard. trade.signal's column source ('schedule' | 'stop_loss') is part of its
--     unique key (deployment_id, bar_ts, source): a bar may have its scheduled signal AND one
--     stop-loss signal, never two of either. Re-running the check on the same bar writes nothing
--     (ON CONFLICT DO NOTHING), and while a stop-loss signal of the deployment is still PENDING
--     or PROCESSING no other is written (a worker that is down does not collect one per bar).
--   No re-entry on the same bar. trade.run_one (the schedule) treats any signal of the bar as
--     the duplicate guard, so after a stop loss on bar X the schedule does not evaluate bar X
--     again (outcome DUPLICATE, nothing written); the strategy may re-enter from the next bar on.
--     A stop-loss signal written after the bar's scheduled one is processed after it (claims
--     go in created_at order, one signal per deployment at a time), so the flatten is last.
--   Stale prices. The stale-bar limit of the deployment (trade.max_bar_age_hours) applies: a
--     price older than it is no evidence of a loss now, and nothing is written (silently: the
--     schedule already logs stale_bars, and a row a minute would drown the log).
--   The log row is action HOLD (the row itself places no order; the worker's fill rows follow)
--     with success true: it ends a pause after repeated rejects (trade.worker_context counts
--     rejects since the last success), so the exit is not trapped by `paused`. The kill switch,
--     max_daily_trades and the throttle still apply to the flatten (the core's check order);
--     a flatten they block is a REJECTED row, and the next bar's check tries again.
--   Disabled deployments are checked too: the kill switch (enabled = false) stops new entries,
--     never an exit (TRADE/kill_switch.sql). Stopped deployments are not checked.
-- Each deployment is checked as its owner in its own subtransaction: one failing deployment is
-- a WARNING and never stops the others.

CREATE FUNCTION quant.stop_loss_triggered("position" double precision, average_price double precision,
                                          last_price double precision, stop_loss_pct double precision)
RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_stop_loss_triggered_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.stop_loss_triggered(double precision, double precision, double precision, double precision) IS
  'The core''s stop-loss rule (quant::stop_loss_triggered): true when the unrealised loss of a signed position bought at average_price, valued at last_price, is more than stop_loss_pct percent of its entry value (a long loses when the price falls, a short when it rises). False for a flat position, a non-positive price or limit. numeric arguments are cast implicitly.';

CREATE FUNCTION quant.unrealised_loss_pct("position" double precision, average_price double precision,
                                          last_price double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'quant_unrealised_loss_pct_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.unrealised_loss_pct(double precision, double precision, double precision) IS
  'The core''s unrealised loss (quant::unrealised_loss_pct) of a signed position bought at average_price, valued at last_price, in percent of its entry value: positive is a loss. NULL for a flat position or a non-positive price.';

CREATE FUNCTION quant.risk_limits(risk_limits jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_risk_limits_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.risk_limits(jsonb) IS
  'A deployment''s risk_limits validated and with the core''s defaults filled (max_position_usd 10000, max_daily_trades 10, stop_loss_pct 5, max_orders_per_minute 6, max_consecutive_rejects 3). ERROR 22023 naming the field.';

CREATE FUNCTION trade.stop_loss_one(d trade.deployment, p trade.position) RETURNS trade.signal
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    data_ticker text;
    bar_interval text;
    px record;
    traded_price double precision;
    max_age double precision;
    -- the core's default when the deployment gives none
    pct double precision := (quant.risk_limits(d.risk_limits)->>'stop_loss_pct')::double precision;
    loss_pct numeric;
    g trade.signal;
BEGIN
    SELECT v.config->>'ticker', coalesce(v.config->>'interval', '1d') INTO data_ticker, bar_interval FROM bt.strategy_version v
    WHERE v.strategy_id = d.strategy_id AND v.version = d.strategy_version;
    SELECT b.close, b.ts INTO px FROM md.bar b
    WHERE b.ticker = data_ticker AND b.interval = bar_interval ORDER BY b.ts DESC LIMIT 1;
    IF px.ts IS NULL THEN
        RETURN NULL;  -- no price: nothing to judge (the worker fails closed on the next signal)
    END IF;
    -- the position is valued at the price of what is traded (the broker symbol), as the risk checks do;
    -- the data ticker's latest bar gives the time (staleness, the duplicate guard's bar)
    traded_price := (trade.symbol_price(d.broker, d.ticker)).price;
    IF traded_price IS NULL OR traded_price <> traded_price THEN
        RETURN NULL;  -- no price of the traded symbol: nothing to judge (the worker fails closed)
    END IF;
    max_age := trade.max_bar_age_hours(d);
    IF max_age IS NOT NULL AND quant.bar_is_stale(px.ts, now(), max_age) THEN
        RETURN NULL;  -- a stale price is no evidence of a loss now
    END IF;
    IF NOT quant.stop_loss_triggered(p.qty, p.avg_price, traded_price, pct) THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM trade.signal s
               WHERE s.deployment_id = d.deployment_id AND s.source = 'stop_loss'
                 AND s.status IN ('PENDING', 'PROCESSING')) THEN
        RETURN NULL;  -- the flatten is on its way
    END IF;
    loss_pct := round(quant.unrealised_loss_pct(p.qty, p.avg_price, traded_price)::numeric, 4);
    INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, evaluation, strategy_version, ticker, source)
    VALUES (d.deployment_id, d.user_id, px.ts, 0,
            jsonb_build_object('source', 'stop_loss', 'ticker', data_ticker, 'bar_ts', px.ts, 'signal', 0,
                               'position', p.qty, 'avg_price', p.avg_price, 'last_price', traded_price,
                               'loss_pct', loss_pct, 'stop_loss_pct', pct),
            d.strategy_version, data_ticker, 'stop_loss')
    ON CONFLICT (deployment_id, bar_ts, source) DO NOTHING
    RETURNING * INTO g;
    IF g.signal_id IS NULL THEN
        RETURN NULL;  -- this bar's stop loss was written before: one per deployment and bar
    END IF;
    INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, price, success, message,
                           reason, bar_ts)
    VALUES (d.deployment_id, g.signal_id, d.user_id, 0, 'HOLD', abs(p.qty), traded_price, true,
            format('stop loss: %s %s bought at %s, now %s (%s bar): a loss of %s%% passes stop_loss_pct %s; flattening (signal %s)',
                   p.qty, d.ticker, p.avg_price, traded_price, px.ts, loss_pct, pct, g.signal_id),
            'stop_loss', px.ts);
    PERFORM pg_catalog.pg_notify('quant_signal', g.signal_id::text);
    RETURN g;
END
$$;
COMMENT ON FUNCTION trade.stop_loss_one(trade.deployment, trade.position) IS
  'Internal: the stop-loss check of one deployment and its booked position: when quant.stop_loss_triggered holds at the price of the traded broker symbol (trade.symbol_price) while the strategy''s data ticker has a fresh (not stale) bar, a flattening signal (signal 0, source stop_loss) for that bar, a trade.log row (HOLD, reason stop_loss) and a NOTIFY on quant_signal; returns the signal, or NULL when nothing was written (no loss, no or stale price, a stop-loss signal still open, or this bar''s written already).';
REVOKE ALL ON FUNCTION trade.stop_loss_one(trade.deployment, trade.position) FROM PUBLIC;

CREATE FUNCTION quant.check_stop_losses() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    prev_user text := CASE WHEN quant.authenticated() THEN quant.current_user_id() END;
    r record;
    g trade.signal;
    written integer := 0;
BEGIN
    -- every user's deployments: the caller is pg_cron's job owner, not a quant user
    FOR r IN SELECT d AS dep, p AS pos
             FROM trade.deployment d JOIN trade.position p ON p.deployment_id = d.deployment_id
             WHERE d.stopped_at IS NULL AND p.qty <> 0  -- disabled ones too: the kill switch stops entries, not exits
             ORDER BY d.user_id, d.deployment_id
    LOOP
        BEGIN  -- a subtransaction: one failing deployment never stops the others
            PERFORM trade.set_transaction_user((r.dep).user_id);
            g := trade.stop_loss_one(r.dep, r.pos);
            IF g.signal_id IS NOT NULL THEN
                written := written + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'quant.check_stop_losses: deployment % failed: %', (r.dep).deployment_id, SQLERRM;
        END;
    END LOOP;
    PERFORM trade.set_transaction_user(prev_user);
    RETURN written;
END
$$;
COMMENT ON FUNCTION quant.check_stop_losses() IS
  'The minute stop-loss check (pg_cron job quant_stop_loss): for every not stopped deployment (disabled ones too: the kill switch stops entries, not exits) of every user with a non-zero booked position whose loss at the latest close passes risk_limits.stop_loss_pct (quant.stop_loss_triggered, the core''s rule), a flattening signal (signal 0, source stop_loss, one per deployment and bar) that quant-worker executes through its risk checks, a trade.log row (HOLD, reason stop_loss) and a NOTIFY on quant_signal. Each deployment as its owner, in its own subtransaction. Returns the number of signals written. SECURITY DEFINER, not granted to PUBLIC or quant_app.';
REVOKE ALL ON FUNCTION quant.check_stop_losses() FROM PUBLIC;
