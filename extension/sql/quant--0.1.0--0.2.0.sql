-- quant 0.1.0 -> 0.2.0 (ALTER EXTENSION quant UPDATE). Hand-written: the install script of 0.2.0
-- is generated from ../sql; this file makes a 0.1.0 database equal to it (test/upgrade/run.sh
-- compares the two object by object).
--
-- Each developer of the wave appends its own section at the end of this file:
--     -- ==== <branch>: <what> ====
-- with the SQL changes it made to sql/** (the same change, as ALTER / CREATE OR REPLACE / ...).
\echo Use "ALTER EXTENSION quant UPDATE" to load this file. \quit

-- ==== wp-a-layout: sql/ laid out by table family (no object changes) ====

-- ==== wp-c-core: catalogs, live rules and config schemas from the core; SQLSTATEs by code ====
-- The closed lists of core/src/catalog.cpp: brokers, markets (REFDATA/market.sql), schedules, and
-- the statuses of a signal and of an order. Tables, not views, so that the columns naming them
-- are foreign keys; filled here from the core's tables, the one list.
CREATE FUNCTION quant.broker_catalog()
RETURNS TABLE (broker text, trades_live boolean, description text)
AS 'MODULE_PATHNAME', 'quant_broker_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION quant.broker_catalog() IS
  'Every broker the engine knows (core/src/catalog.cpp): trades_live is false for simulation-only brokers (a deployment on them stays paper).';

CREATE FUNCTION quant.market_catalog()
RETURNS TABLE (market text, close_time_utc time, timezone text, local_close time, run_cron text,
               description text, whole_shares boolean)
AS 'MODULE_PATHNAME', 'quant_market_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION quant.market_catalog() IS
  'Every market the engine knows (core/src/catalog.cpp): its daily close in UTC and local time, the pg_cron schedule of its daily_close run, and whether quantities are whole shares.';

CREATE FUNCTION quant.schedule_catalog()
RETURNS TABLE (schedule text, cron boolean, default_max_bar_age_hours double precision, description text)
AS 'MODULE_PATHNAME', 'quant_schedule_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION quant.schedule_catalog() IS
  'Every deployment schedule (core/src/catalog.cpp): whether pg_cron runs it (quant.run_schedule) and its stale-bar limit when risk_limits.max_bar_age_hours is not given.';

CREATE FUNCTION quant.signal_status_catalog()
RETURNS TABLE (status text, terminal boolean, description text)
AS 'MODULE_PATHNAME', 'quant_signal_status_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION quant.signal_status_catalog() IS
  'The statuses of a trade.signal row (core/src/catalog.cpp); a terminal one never changes again.';

CREATE FUNCTION quant.order_status_catalog()
RETURNS TABLE (status text, terminal boolean, description text)
AS 'MODULE_PATHNAME', 'quant_order_status_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 6;
COMMENT ON FUNCTION quant.order_status_catalog() IS
  'The statuses of a trade."order" row (core/src/catalog.cpp); a terminal one never changes again (the broker will not change the order).';

CREATE TABLE refdata.broker (
    broker       text PRIMARY KEY,
    trades_live  boolean NOT NULL,
    description  text NOT NULL
);
COMMENT ON TABLE refdata.broker IS 'The brokers (from the engine''s catalog, quant.broker_catalog()): what trade.deployment.broker and refdata.ticker_mapping.broker name.';
INSERT INTO refdata.broker SELECT * FROM quant.broker_catalog();

CREATE TABLE refdata.schedule (
    schedule                   text PRIMARY KEY,
    cron                       boolean NOT NULL,
    default_max_bar_age_hours  double precision NOT NULL,
    description                text NOT NULL
);
COMMENT ON TABLE refdata.schedule IS 'The deployment schedules (from the engine''s catalog, quant.schedule_catalog()): what trade.deployment.schedule names.';
INSERT INTO refdata.schedule SELECT * FROM quant.schedule_catalog();

CREATE TABLE refdata.signal_status (
    status       text PRIMARY KEY,
    terminal     boolean NOT NULL,
    description  text NOT NULL
);
COMMENT ON TABLE refdata.signal_status IS 'The statuses of a signal (from the engine''s catalog, quant.signal_status_catalog()): what trade.signal.status names.';
INSERT INTO refdata.signal_status SELECT * FROM quant.signal_status_catalog();

CREATE TABLE refdata.order_status (
    status       text PRIMARY KEY,
    terminal     boolean NOT NULL,
    description  text NOT NULL
);
COMMENT ON TABLE refdata.order_status IS 'The statuses of an order (from the engine''s catalog, quant.order_status_catalog()): what trade."order".status names.';
INSERT INTO refdata.order_status SELECT * FROM quant.order_status_catalog();

GRANT SELECT ON refdata.broker, refdata.schedule, refdata.signal_status, refdata.order_status TO PUBLIC;

-- The JSON Schemas of the Strategy and Deployment JSON, built by the core from the key tables its
-- validators use (quant.normalize_strategy, quant.normalize_deployment): OpenAPI embeds the same.
CREATE FUNCTION quant.strategy_config_schema() RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_strategy_config_schema'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.strategy_config_schema() IS
  'The JSON Schema (draft 2020-12) of a StrategyConfig: every key the validator accepts, with types, bounds and the valid names. The validator has the last word (a window''s floor depends on the indicator).';
CREATE FUNCTION quant.deployment_config_schema() RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_deployment_config_schema'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.deployment_config_schema() IS
  'The JSON Schema (draft 2020-12) of a DeploymentConfig, risk_limits included: every key the validator accepts, with types, bounds and the valid names.';

-- "PAPER, BYBIT, FUTU": the valid names for error hints, in the core's order.
CREATE FUNCTION refdata.broker_names() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(c.broker, ', ' ORDER BY c.n)
    FROM quant.broker_catalog() WITH ORDINALITY AS c(broker, trades_live, description, n);
$$;
COMMENT ON FUNCTION refdata.broker_names() IS 'Internal: the broker names for error hints ("PAPER, BYBIT, FUTU"), in the engine''s order.';

CREATE FUNCTION refdata.market_names() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(c.market, ', ' ORDER BY c.n)
    FROM quant.market_catalog() WITH ORDINALITY
         AS c(market, close_time_utc, timezone, local_close, run_cron, description, whole_shares, n);
$$;
COMMENT ON FUNCTION refdata.market_names() IS 'Internal: the market names for error hints ("US, HK, CRYPTO"), in the engine''s order.';

-- refdata.market: its rows are the core's market catalog (the same rows 0.1.0 inserted), plus whole_shares
ALTER TABLE refdata.market ADD COLUMN whole_shares boolean;
INSERT INTO refdata.market (market, close_time_utc, timezone, local_close, run_cron, description)
SELECT c.market, c.close_time_utc, c.timezone, c.local_close, c.run_cron, c.description FROM quant.market_catalog() c
ON CONFLICT (market) DO NOTHING;
UPDATE refdata.market m SET whole_shares = c.whole_shares FROM quant.market_catalog() c WHERE c.market = m.market;
ALTER TABLE refdata.market ALTER COLUMN whole_shares SET NOT NULL;
COMMENT ON COLUMN refdata.market.whole_shares IS 'Quantities are whole shares (a fractional deployment qty is refused), else decimals';

-- the lists named by columns become foreign keys to the catalogs (they were CHECKs)
ALTER TABLE refdata.ticker_mapping
    DROP CONSTRAINT ticker_mapping_broker_check, DROP CONSTRAINT ticker_mapping_market_check,
    ADD CONSTRAINT ticker_mapping_broker_fkey FOREIGN KEY (broker) REFERENCES refdata.broker (broker),
    ADD CONSTRAINT ticker_mapping_market_fkey FOREIGN KEY (market) REFERENCES refdata.market (market);
ALTER TABLE trade.deployment
    DROP CONSTRAINT deployment_broker_check, DROP CONSTRAINT deployment_market_check,
    DROP CONSTRAINT deployment_schedule_check,
    ADD CONSTRAINT deployment_broker_fkey FOREIGN KEY (broker) REFERENCES refdata.broker (broker),
    ADD CONSTRAINT deployment_market_fkey FOREIGN KEY (market) REFERENCES refdata.market (market),
    ADD CONSTRAINT deployment_schedule_fkey FOREIGN KEY (schedule) REFERENCES refdata.schedule (schedule);
ALTER TABLE trade.signal
    DROP CONSTRAINT signal_status_check,
    ADD CONSTRAINT signal_status_fkey FOREIGN KEY (status) REFERENCES refdata.signal_status (status);
ALTER TABLE trade."order"
    DROP CONSTRAINT order_status_check,
    ADD CONSTRAINT order_status_fkey FOREIGN KEY (status) REFERENCES refdata.order_status (status);

-- the brokers and markets of the ticker mapping from the catalogs
CREATE OR REPLACE FUNCTION quant.set_ticker_mapping(data_ticker text, broker text, broker_ticker text, market text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    fn constant text := 'quant.set_ticker_mapping';
    me text := quant.current_user_id();
    b text := upper(broker);
    m text := upper(market);
    r refdata.ticker_mapping;
BEGIN
    IF data_ticker IS NULL THEN RAISE EXCEPTION '%: data_ticker must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'data_ticker'; END IF;
    IF broker IS NULL THEN RAISE EXCEPTION '%: broker must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'broker'; END IF;
    IF broker_ticker IS NULL THEN RAISE EXCEPTION '%: broker_ticker must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'broker_ticker'; END IF;
    IF market IS NULL THEN RAISE EXCEPTION '%: market must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'market'; END IF;
    IF length(data_ticker) NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION '%: data_ticker must be 1 to 64 characters', fn USING ERRCODE = '22023', COLUMN = 'data_ticker';
    END IF;
    IF length(broker_ticker) NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION '%: broker_ticker must be 1 to 64 characters', fn USING ERRCODE = '22023', COLUMN = 'broker_ticker';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM refdata.broker x WHERE x.broker = b) THEN
        RAISE EXCEPTION '%: broker: unknown broker "%"', fn, broker
            USING ERRCODE = '22023', COLUMN = 'broker', HINT = 'valid brokers: ' || refdata.broker_names();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM refdata.market x WHERE x.market = m) THEN
        RAISE EXCEPTION '%: market: unknown market "%"', fn, market
            USING ERRCODE = '22023', COLUMN = 'market', HINT = 'valid markets: ' || refdata.market_names();
    END IF;
    INSERT INTO refdata.ticker_mapping AS t (data_ticker, broker, broker_ticker, market, user_id)
    VALUES (set_ticker_mapping.data_ticker, b, set_ticker_mapping.broker_ticker, m, me)
    ON CONFLICT (data_ticker, broker, coalesce(user_id, ''))
    DO UPDATE SET broker_ticker = excluded.broker_ticker, market = excluded.market, updated_at = now()
    RETURNING * INTO r;
    RETURN jsonb_build_object('data_ticker', r.data_ticker, 'broker', r.broker, 'broker_ticker', r.broker_ticker,
                              'market', r.market, 'shared', false);
END
$$;

-- the stale-bar rule is the core's
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

CREATE OR REPLACE FUNCTION trade.max_bar_age_hours(d trade.deployment) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT quant.max_bar_age_hours(d.risk_limits, d.schedule, d.paper);
$$;

DROP FUNCTION trade.default_max_bar_age_hours(text);

-- run_one tells the core's errors apart by SQLSTATE (QA001 no bars, QA002 insufficient bars)
CREATE OR REPLACE FUNCTION trade.run_one(d trade.deployment) RETURNS jsonb
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
        SELECT max(b.ts) INTO latest FROM md.bar b WHERE b.ticker = v.config->>'ticker';
        max_age := trade.max_bar_age_hours(d);
        IF latest IS NULL THEN
            reason := 'no_bars';
            msg := format('no bars: ticker %s has no bars in md.bar', v.config->>'ticker');
        ELSIF max_age IS NOT NULL AND quant.bar_is_stale(latest, now(), max_age) THEN
            reason := 'stale_bar';
            msg := format('stale bar: the latest %s bar is %s, %s hours old, over max_bar_age_hours %s',
                          v.config->>'ticker', latest,
                          round((extract(epoch FROM now() - latest) / 3600)::numeric, 1), max_age);
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
                ON CONFLICT (deployment_id, bar_ts, source) DO NOTHING  -- source: sql/TRADE/stop_loss.sql
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
    RETURN trade.log_json(l) || '{"outcome": "REJECTED"}';
END
$$;

CREATE OR REPLACE FUNCTION trade.run_schedule_for(schedule text, market text) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.run_schedule';
    prev_user text := pg_catalog.current_setting('quant.user', true);
    d trade.deployment;
    r jsonb;
    written integer := 0;
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
    -- every user's deployments: the caller is pg_cron's job owner, not a quant user
    FOR d IN SELECT * FROM trade.deployment t
             WHERE t.schedule = run_schedule_for.schedule AND t.enabled AND t.stopped_at IS NULL
               AND (run_schedule_for.market IS NULL OR t.market = run_schedule_for.market)
             ORDER BY t.user_id, t.deployment_id
    LOOP
        BEGIN
            -- act as the deployment's owner: RLS and the quant.* functions see that user
            PERFORM pg_catalog.set_config('quant.user', d.user_id, true);
            r := trade.run_one(d);
            IF r->>'outcome' = 'SIGNAL' THEN
                written := written + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            -- run_one logs its own failures; this only guards the loop against the unexpected
            RAISE WARNING '%: deployment % failed: %', fn, d.deployment_id, SQLERRM;
        END;
    END LOOP;
    PERFORM pg_catalog.set_config('quant.user', coalesce(prev_user, ''), true);
    RETURN written;
END
$$;

-- the stop-loss default and the loss arithmetic are the core's
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

CREATE OR REPLACE FUNCTION trade.stop_loss_one(d trade.deployment, p trade.position) RETURNS trade.signal
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    data_ticker text;
    px record;
    max_age double precision;
    -- the core's default when the deployment gives none
    pct double precision := (quant.risk_limits(d.risk_limits)->>'stop_loss_pct')::double precision;
    loss_pct numeric;
    g trade.signal;
BEGIN
    SELECT v.config->>'ticker' INTO data_ticker FROM bt.strategy_version v
    WHERE v.strategy_id = d.strategy_id AND v.version = d.strategy_version;
    SELECT b.close, b.ts INTO px FROM md.bar b WHERE b.ticker = data_ticker ORDER BY b.ts DESC LIMIT 1;
    IF px.ts IS NULL THEN
        RETURN NULL;  -- no price: nothing to judge (the worker fails closed on the next signal)
    END IF;
    max_age := trade.max_bar_age_hours(d);
    IF max_age IS NOT NULL AND quant.bar_is_stale(px.ts, now(), max_age) THEN
        RETURN NULL;  -- a stale price is no evidence of a loss now
    END IF;
    IF NOT quant.stop_loss_triggered(p.qty, p.avg_price, px.close, pct) THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM trade.signal s
               WHERE s.deployment_id = d.deployment_id AND s.source = 'stop_loss'
                 AND s.status IN ('PENDING', 'PROCESSING')) THEN
        RETURN NULL;  -- the flatten is on its way
    END IF;
    loss_pct := round(quant.unrealised_loss_pct(p.qty, p.avg_price, px.close)::numeric, 4);
    INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, evaluation, strategy_version, ticker, source)
    VALUES (d.deployment_id, d.user_id, px.ts, 0,
            jsonb_build_object('source', 'stop_loss', 'ticker', data_ticker, 'bar_ts', px.ts, 'signal', 0,
                               'position', p.qty, 'avg_price', p.avg_price, 'last_price', px.close,
                               'loss_pct', loss_pct, 'stop_loss_pct', pct),
            d.strategy_version, data_ticker, 'stop_loss')
    ON CONFLICT (deployment_id, bar_ts, source) DO NOTHING
    RETURNING * INTO g;
    IF g.signal_id IS NULL THEN
        RETURN NULL;  -- this bar's stop loss was written before: one per deployment and bar
    END IF;
    INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, price, success, message,
                           reason, bar_ts)
    VALUES (d.deployment_id, g.signal_id, d.user_id, 0, 'HOLD', abs(p.qty), px.close, true,
            format('stop loss: %s %s bought at %s, now %s (%s bar): a loss of %s%% passes stop_loss_pct %s; flattening (signal %s)',
                   p.qty, d.ticker, p.avg_price, px.close, px.ts, loss_pct, pct, g.signal_id),
            'stop_loss', px.ts);
    PERFORM pg_catalog.pg_notify('quant_signal', g.signal_id::text);
    RETURN g;
END
$$;

-- the signed-position arithmetic is the core's
CREATE OR REPLACE FUNCTION quant.position_after(qty numeric, avg_price numeric, delta numeric, price numeric,
                                     OUT new_qty numeric, OUT new_avg_price numeric, OUT realized numeric)
AS 'MODULE_PATHNAME', 'quant_position_after_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- the order statuses and the terminal rule from the catalog
CREATE OR REPLACE FUNCTION trade.worker_record_outcome(coid text, status text, broker_order_id text, filled_qty numeric,
                                            fill_price numeric, fee numeric, message text, finish text DEFAULT NULL)
RETURNS trade."order"
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o trade."order";
    g trade.signal;
    p trade.position;
    pa record;
    delta numeric;
    outcome refdata.order_status;
BEGIN
    SELECT * INTO o FROM trade."order" x WHERE x.client_order_id = coid FOR UPDATE;
    IF o.order_id IS NULL THEN
        RAISE EXCEPTION 'trade.worker_record_outcome: no order with client id %', coid USING ERRCODE = 'P0002';
    END IF;
    -- an outcome is any order status but the intent's own (refdata.order_status, the core's list)
    SELECT * INTO outcome FROM refdata.order_status x WHERE x.status = worker_record_outcome.status AND x.status <> 'NEW';
    IF outcome.status IS NULL THEN
        RAISE EXCEPTION 'trade.worker_record_outcome: bad status %', status USING ERRCODE = '22023';
    END IF;
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = o.signal_id;
    -- a terminal outcome is recorded once
    IF NOT (SELECT x.terminal FROM refdata.order_status x WHERE x.status = o.status) THEN
        UPDATE trade."order" x
           SET status = worker_record_outcome.status,
               broker_order_id = coalesce(worker_record_outcome.broker_order_id, x.broker_order_id),
               filled_qty = coalesce(worker_record_outcome.filled_qty, 0),
               avg_fill_price = worker_record_outcome.fill_price,
               fee = coalesce(worker_record_outcome.fee, 0),
               sent_at = coalesce(x.sent_at, clock_timestamp()),
               resolved_at = CASE WHEN outcome.terminal THEN clock_timestamp() END,
               reason = message
         WHERE x.order_id = o.order_id
        RETURNING * INTO o;
        IF status = 'FILLED' AND coalesce(filled_qty, 0) > 0 THEN
            INSERT INTO trade.fill (order_id, deployment_id, user_id, client_order_id, side, qty, price, fee)
            VALUES (o.order_id, o.deployment_id, o.user_id, o.client_order_id, o.side, filled_qty, fill_price,
                    coalesce(fee, 0));
            delta := CASE WHEN o.side = 'BUY' THEN filled_qty ELSE -filled_qty END;
            SELECT * INTO p FROM trade.position x WHERE x.deployment_id = o.deployment_id FOR UPDATE;
            pa := quant.position_after(p.qty, p.avg_price, delta, fill_price);
            IF p.deployment_id IS NULL THEN
                INSERT INTO trade.position (deployment_id, user_id, symbol, qty, avg_price, realized_pnl)
                VALUES (o.deployment_id, o.user_id, o.symbol, pa.new_qty, pa.new_avg_price, pa.realized);
            ELSE
                UPDATE trade.position x
                   SET qty = pa.new_qty, avg_price = pa.new_avg_price, realized_pnl = x.realized_pnl + pa.realized,
                       updated_at = clock_timestamp()
                 WHERE x.deployment_id = o.deployment_id;
            END IF;
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, price, order_id,
                                   success, message, bar_ts)
            VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, o.side, filled_qty, fill_price, o.client_order_id,
                    true, message, g.bar_ts);
        ELSIF status IN ('REJECTED', 'CANCELLED') THEN
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, order_id, success,
                                   message, reason, bar_ts)
            VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, 'REJECTED', o.qty, o.client_order_id, false,
                    message, CASE status WHEN 'REJECTED' THEN 'broker_rejected' ELSE 'broker_cancelled' END, g.bar_ts);
        ELSIF status = 'UNKNOWN' THEN
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, order_id, success,
                                   message, reason, bar_ts)
            VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, 'REJECTED', o.qty, o.client_order_id, false,
                    message, 'unknown_order', g.bar_ts);
        END IF;
    END IF;
    IF finish IS NOT NULL THEN
        UPDATE trade.signal s SET status = finish, processed_at = now() WHERE s.signal_id = o.signal_id;
    END IF;
    RETURN o;
END
$$;

