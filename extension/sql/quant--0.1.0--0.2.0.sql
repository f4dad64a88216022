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
-- quant.set_ticker_mapping: its final text is in the section "wp-d1-auth" below

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
-- trade.run_one: its final text is in the section "main (merge)" below

-- trade.run_schedule_for: its final text is in the section "wp-feed" below

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

-- trade.stop_loss_one: its final text is in the section "wp-int" below

-- the signed-position arithmetic is the core's
CREATE OR REPLACE FUNCTION quant.position_after(qty numeric, avg_price numeric, delta numeric, price numeric,
                                     OUT new_qty numeric, OUT new_avg_price numeric, OUT realized numeric)
AS 'MODULE_PATHNAME', 'quant_position_after_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- the order statuses and the terminal rule from the catalog
-- trade.worker_record_outcome: its final text is in the section "wp-bybit" below

-- ==== wp-d2-risk: risk checks priced on the traded symbol, the live gate's callers and logs, qty bounds, create_strategy's ids ====

-- ---- qty: finite, > 0 and at most 1e12 (quant::max_deployment_qty, the core validator's bound) ----
-- Rows past the bound (NaN, 1e400: never tradeable) stop the upgrade with their ids, for a person
-- to fix; nothing is changed behind the owner's back.
DO $$
DECLARE
    bad text;
BEGIN
    SELECT string_agg(x.t || ' ' || x.id, ', ') INTO bad FROM (
        SELECT 'deployment' AS t, d.deployment_id::text AS id FROM trade.deployment d WHERE NOT (d.qty > 0 AND d.qty <= 1e12)
        UNION ALL SELECT 'order', o.order_id::text FROM trade."order" o WHERE NOT (o.qty > 0 AND o.qty <= 1e12)
        UNION ALL SELECT 'fill', f.fill_id::text FROM trade.fill f WHERE NOT (f.qty > 0 AND f.qty <= 1e12)) x;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'quant 0.2.0: qty must be greater than 0 and at most 1e12; these rows are not: %', bad
            USING ERRCODE = '23514', HINT = 'stop those deployments and correct (or delete) the rows, then update again';
    END IF;
END
$$;
ALTER TABLE trade.deployment DROP CONSTRAINT deployment_qty_check;
ALTER TABLE trade.deployment ADD CONSTRAINT deployment_qty_check CHECK (qty > 0 AND qty <= 1e12);
COMMENT ON COLUMN trade.deployment.qty IS 'Position size per signal unit: NUMERIC (whole shares for US and HK, decimals for CRYPTO), greater than 0 and at most 1e12 (the core validator''s bound; NaN and infinity are refused)';
ALTER TABLE trade."order" DROP CONSTRAINT order_qty_check;
ALTER TABLE trade."order" ADD CONSTRAINT order_qty_check CHECK (qty > 0 AND qty <= 1e12);
ALTER TABLE trade.fill DROP CONSTRAINT fill_qty_check;
ALTER TABLE trade.fill ADD CONSTRAINT fill_qty_check CHECK (qty > 0 AND qty <= 1e12);

-- ---- reports kept out of the server log ----
CREATE FUNCTION trade.quiet_report(level text, sqlstate text, message text, detail text DEFAULT NULL,
                                   hint text DEFAULT NULL, column_name text DEFAULT NULL,
                                   constraint_name text DEFAULT NULL, table_name text DEFAULT NULL,
                                   schema_name text DEFAULT NULL) RETURNS void
AS 'MODULE_PATHNAME', 'quant_quiet_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION trade.quiet_report(text, text, text, text, text, text, text, text, text) IS
  'Internal: a WARNING (returns) or an ERROR (raises) with these fields, whose server-log entry has no STATEMENT and no CONTEXT line: for calls that may carry a trade password as a literal in their statement text.';

-- ---- the broker symbols of a data ticker ----
CREATE FUNCTION refdata.broker_symbols(data_ticker text, broker text) RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(DISTINCT x.sym ORDER BY x.sym), '{}')
    FROM (SELECT t.broker_ticker AS sym FROM refdata.ticker_mapping t
          WHERE t.data_ticker = broker_symbols.data_ticker AND t.broker = broker_symbols.broker
            AND (t.user_id IS NULL OR t.user_id = quant.current_user_id())
          UNION ALL
          SELECT broker_symbols.data_ticker WHERE broker_symbols.broker = 'PAPER') x;
$$;
COMMENT ON FUNCTION refdata.broker_symbols(text, text) IS
  'The broker symbols the current user may trade a data ticker as on a broker: the shared mapping, their own, and on PAPER the data ticker itself (the paper broker prices it from its own bars).';

CREATE FUNCTION refdata.broker_symbol(data_ticker text, broker text, broker_ticker text, market text, fn text)
RETURNS refdata.ticker_mapping
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    valid text[] := refdata.broker_symbols(data_ticker, broker);
    r refdata.ticker_mapping;
BEGIN
    IF broker_ticker IS NULL THEN
        r := refdata.resolve_ticker(data_ticker, broker, fn);  -- 22023 naming the missing pair
    ELSIF broker_ticker <> ALL (valid) THEN
        RAISE EXCEPTION '%: ticker: "%" on broker % is not a mapping of the strategy''s ticker "%"', fn,
                        broker_ticker, broker, data_ticker
            USING ERRCODE = '22023', COLUMN = 'ticker',
                  HINT = CASE WHEN cardinality(valid) = 0
                              THEN format('%s has no mapping on %s: leave "ticker" out after adding one with quant.set_ticker_mapping(%L, %L, broker_ticker, market)',
                                          data_ticker, broker, data_ticker, broker)
                              ELSE format('valid tickers for %s on %s: %s (leave "ticker" out for the mapping)',
                                          data_ticker, broker, array_to_string(valid, ', ')) END;
    ELSE
        SELECT * INTO r FROM refdata.ticker_mapping t
        WHERE t.data_ticker = broker_symbol.data_ticker AND t.broker = broker_symbol.broker
          AND t.broker_ticker = broker_symbol.broker_ticker AND (t.user_id IS NULL OR t.user_id = me)
        ORDER BY t.user_id NULLS LAST LIMIT 1;
        IF r.ticker_mapping_id IS NULL THEN  -- PAPER trading the data ticker as it is
            r.data_ticker := data_ticker;
            r.broker := broker;
            r.broker_ticker := broker_ticker;
            r.market := market;
            IF market IS NULL THEN
                RAISE EXCEPTION '%: market: is required for ticker "%" on broker %, which has no ticker mapping', fn,
                                broker_ticker, broker
                    USING ERRCODE = '22023', COLUMN = 'market', HINT = 'valid markets: US, HK, CRYPTO';
            END IF;
        END IF;
    END IF;
    IF market IS NOT NULL AND market <> r.market THEN
        RAISE EXCEPTION '%: market: "%" is not the market of "%" on broker % (%)', fn, market, r.broker_ticker, broker,
                        r.market
            USING ERRCODE = '22023', COLUMN = 'market', HINT = format('leave "market" out, or give %s', r.market);
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION refdata.broker_symbol(text, text, text, text, text) IS
  'Internal: the mapping a deployment trades: of data_ticker on broker to broker_ticker (the current user''s own first, then the shared one; NULL broker_ticker: resolved), or on PAPER the data ticker itself; ERROR 22023 naming ticker (with the valid symbols) or market when they are not the mapping''s.';

-- ---- the live gate: only the user's own attempts; refusals kept out of the log ----
CREATE FUNCTION trade.live_gate_caller() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN pg_catalog.current_setting('role') = 'none' THEN session_user::text
                ELSE pg_catalog.current_setting('role') END;
$$;
COMMENT ON FUNCTION trade.live_gate_caller() IS
  'Internal: the role that called the live gate (the role set with SET ROLE, else the login), unchanged inside SECURITY DEFINER functions.';

CREATE FUNCTION trade.live_gate_own_attempt(user_id text) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT trade.live_gate_caller() = user_id
        OR pg_catalog.pg_has_role(trade.live_gate_caller(), 'quant_app', 'MEMBER');
$$;
COMMENT ON FUNCTION trade.live_gate_own_attempt(text) IS
  'Internal: whether the caller acts as user_id by the user''s own authentication: through the REST role quant_app (the user comes from their API key), a login of the same name, or a superuser. Only such attempts may try the trade password, so only they count toward its lockout.';

CREATE OR REPLACE FUNCTION trade.live_gate_refuse(fn text, problem text, hint text, count_failure boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
BEGIN
    PERFORM trade.quiet_report('WARNING', '01000', format('%s: live trading refused for user %s: %s', fn, me, problem));
    IF count_failure AND NOT trade.record_live_gate_failure_autonomous(me, fn || ': ' || problem) THEN
        PERFORM trade.record_live_gate_failure(me, fn || ': ' || problem);  -- kept only if the caller commits
    END IF;
    PERFORM trade.quiet_report('ERROR', '42501', format('%s: live trading refused: %s', fn, problem), NULL, hint);
END
$$;
COMMENT ON FUNCTION trade.live_gate_refuse(text, text, text, boolean) IS 'Internal: logs a live-gate refusal (WARNING), counts wrong passwords, raises 42501; neither report logs the statement (it may hold the password).';

CREATE OR REPLACE FUNCTION trade.live_gate(fn text, ticker text, confirm_live jsonb, password jsonb, deployment_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    pw trade.trade_password;
    st record;
BEGIN
    IF confirm_live IS NULL OR confirm_live <> 'true'::jsonb THEN
        PERFORM trade.live_gate_refuse(fn, 'paper=false needs "confirm_live": true',
            'add "confirm_live": true and "trade_password" to confirm live trading, or keep paper=true', false);
    END IF;
    IF password IS NULL OR jsonb_typeof(password) <> 'string' THEN
        PERFORM trade.live_gate_refuse(fn, 'paper=false needs "trade_password"',
            'add your trade password as "trade_password" (set it with quant.set_trade_password)', false);
    END IF;
    IF NOT trade.live_gate_own_attempt(me) THEN
        PERFORM trade.live_gate_refuse(fn, 'only ' || me || ' can switch on their live trading',
            'the user does it through the REST API (their API key) or their own login', false);
    END IF;
    SELECT * INTO pw FROM trade.trade_password t WHERE t.user_id = me;
    IF pw.user_id IS NULL THEN
        PERFORM trade.live_gate_refuse(fn, 'no trade password is set',
            'set one with quant.set_trade_password(new_password)', false);
    END IF;
    st := trade.live_gate_state(pw);
    IF st.locked_until > clock_timestamp() THEN
        PERFORM trade.live_gate_refuse(fn, 'locked after ' || st.failures || ' wrong trade passwords, until '
                                           || st.locked_until,
            'wait until then; every attempt while locked is refused', false);
    END IF;
    IF NOT trade.trade_password_verify(pw.password_hash, password #>> '{}') THEN
        PERFORM trade.live_gate_refuse(fn, 'wrong trade password',
            format('%s failed attempts in a row lock live trading for %s', trade.live_gate_max_failures(),
                   trade.live_gate_lockout()), true);
    END IF;
    IF st.failures > 0 THEN
        UPDATE trade.trade_password t SET reset_at = clock_timestamp(), updated_at = now() WHERE t.user_id = me;
    END IF;
    PERFORM trade.quiet_report('WARNING', '01000', 'LIVE TRADING ENABLED for ' || ticker);
    PERFORM trade.write_audit('live_gate', deployment_id, 'live_enabled', NULL, NULL,
                              'LIVE TRADING ENABLED for ' || ticker);
END
$$;
COMMENT ON FUNCTION trade.live_gate(text, text, jsonb, jsonb, uuid) IS
  'Internal: the live gate of seed 4.1: confirm_live = true and the right trade password, tried by the user themself (trade.live_gate_own_attempt), else ERROR 42501; success logs WARNING "LIVE TRADING ENABLED for {ticker}" and an audit row. No report logs the statement.';

CREATE OR REPLACE FUNCTION quant.set_trade_password(new_password text, old_password text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.set_trade_password';
    me text;
    pw trade.trade_password;
    st record;
    e_state text;
    e_msg text;
    e_detail text;
    e_hint text;
    e_column text;
BEGIN
    me := quant.current_user_id();
    IF new_password IS NULL THEN
        RAISE EXCEPTION '%: new_password must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'new_password';
    END IF;
    IF length(new_password) < 8 OR length(new_password) > 1024 THEN
        RAISE EXCEPTION '%: new_password must be 8 to 1024 characters', fn
            USING ERRCODE = '22023', COLUMN = 'new_password', HINT = 'a passphrase of at least 8 characters';
    END IF;
    SELECT * INTO pw FROM trade.trade_password t WHERE t.user_id = me;
    IF pw.user_id IS NOT NULL THEN
        -- changing it needs the old one, tried by the user themself, under the gate's lockout
        IF NOT trade.live_gate_own_attempt(me) THEN
            PERFORM trade.live_gate_refuse(fn, 'only ' || me || ' can change their trade password',
                                           'an administrator sets only a first password', false);
        END IF;
        st := trade.live_gate_state(pw);
        IF st.locked_until > clock_timestamp() THEN
            PERFORM trade.live_gate_refuse(fn, 'locked after wrong trade passwords, until ' || st.locked_until,
                                           'wait until then', false);
        END IF;
        IF old_password IS NULL OR NOT trade.trade_password_verify(pw.password_hash, old_password) THEN
            PERFORM trade.live_gate_refuse(fn, 'old_password is missing or wrong',
                                           'give the current trade password as old_password', true);
        END IF;
        UPDATE trade.trade_password t
           SET password_hash = trade.trade_password_hash(new_password), reset_at = clock_timestamp(),
               updated_at = now()
         WHERE t.user_id = me;
    ELSE
        IF NOT (trade.live_gate_own_attempt(me)
                OR pg_catalog.pg_has_role(trade.live_gate_caller(), 'quant_admin', 'MEMBER')) THEN
            PERFORM trade.live_gate_refuse(fn, 'a first trade password is set by ' || me || ' or an administrator',
                                           'through the REST API (the user''s API key), their own login, or quant_admin',
                                           false);
        END IF;
        INSERT INTO trade.trade_password (user_id, password_hash) VALUES (me, trade.trade_password_hash(new_password));
    END IF;
    PERFORM trade.write_audit('live_gate', NULL, 'set_trade_password', NULL, NULL,
                              CASE WHEN pw.user_id IS NULL THEN 'trade password set' ELSE 'trade password changed' END);
    RETURN jsonb_build_object('user', me, 'set_at', now());
EXCEPTION WHEN OTHERS THEN
    -- the passwords may be literals of the statement: never let the log show it
    GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL,
                            e_hint = PG_EXCEPTION_HINT, e_column = COLUMN_NAME;
    PERFORM trade.quiet_report('ERROR', e_state, e_msg, e_detail, e_hint, e_column);
END
$$;
COMMENT ON FUNCTION quant.set_trade_password(text, text) IS
  'Sets the current user''s trade password (seed 4.1), stored only as an Argon2id hash. A first password: by the user themself (REST with their API key, their own login) or an administrator (quant_admin); changing it needs old_password, tried by the user themself only (a wrong one counts toward the lockout). EXECUTE for quant_app and quant_admin only. Errors never log the statement. Returns {user, set_at}, never the password.';
REVOKE ALL ON FUNCTION quant.set_trade_password(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.set_trade_password(text, text) TO quant_app, quant_admin;

-- ---- deploy and update: the broker symbol maps the strategy's ticker; quiet errors with a password ----
-- quant.deploy: its final text is in the section "wp-d1-auth" below
COMMENT ON FUNCTION quant.deploy(jsonb) IS
  'Deploys a strategy of the current user (seed 1.2 DeploymentConfig): validated, defaults filled (paper true, enabled true, schedule daily_close, portfolio DEFAULT, broker PAPER, risk limits 10000 USD / 10 trades / 5%), pinning strategy_version (default: the current one). ticker (the broker symbol) must be a mapping of the pinned version''s ticker on the broker (refdata.ticker_mapping: shared or the user''s own; on PAPER also the data ticker itself), filled from it with market when omitted; anything else is 22023 naming ticker. paper=false passes the live gate (confirm_live: true and trade_password, else 42501). A call carrying trade_password never logs its statement. Returns the Deployment JSON with deployment_id and status.';

-- quant.update_deployment: its final text is in the section "wp-d1-auth" below
COMMENT ON FUNCTION quant.update_deployment(uuid, jsonb) IS
  'Changes a deployment of the current user: enabled (the kill switch), qty, risk_limits (merged), schedule, portfolio, paper (paper=false through the live gate: confirm_live and trade_password in the patch). Any other field is 22023; a stopped deployment is 55000; an update that leaves it enabled is 22023 ticker when its symbol is no longer a mapping of the strategy''s ticker (switching off always works). A patch carrying trade_password never logs its statement. Audited old -> new. Returns the Deployment JSON.';

-- ---- the worker's context: the price of what is traded ----
CREATE FUNCTION trade.symbol_price(broker text, symbol text, OUT price double precision, OUT price_ts timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF broker = 'PAPER' THEN
        price := paper.price_of(symbol);  -- the paper broker's own market price (it fills at it)
        RETURN;
    END IF;
    -- other brokers, until their adapters quote: the bars a shared mapping gives the symbol (a
    -- user's own mapping never chooses how what they trade is priced)
    SELECT b.close, b.ts INTO price, price_ts
    FROM refdata.ticker_mapping m
    CROSS JOIN LATERAL md.latest_bar(m.data_ticker) b
    WHERE m.broker = symbol_price.broker AND m.broker_ticker = symbol_price.symbol AND m.user_id IS NULL
    ORDER BY b.ts DESC LIMIT 1;
END
$$;
COMMENT ON FUNCTION trade.symbol_price(text, text) IS
  'The market price of a broker symbol, for the risk checks: on PAPER the paper broker''s (paper.price_of; price_ts NULL), elsewhere the latest close of the data ticker a shared mapping maps to the symbol, with its bar time; NULL when unknown (the checks fail closed).';

-- trade.worker_context: its final text is in the section "wp-safe" below

-- ---- create_strategy: a strategy_id that is not yours is the same as one never used ----
-- quant.create_strategy: its final text is in the section "main: create_strategy keeps a client's own strategy_id as client_strategy_id" below

-- ==== wp-d1-auth: the quant user in backend memory (login_api_key, authenticated), RLS on quant.current_user_id(), SECURITY DEFINER writers, quant_app/quant_worker grants ====
-- The final text of every object this branch changed (as in sql/), then sql/grants.sql whole: it
-- starts from no grants, so what earlier sections granted is replaced by the documented matrix.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['quant_app', 'quant_worker'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS', r);
        END IF;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA quant, md, refdata, trade, paper TO quant_worker;

CREATE OR REPLACE FUNCTION quant.set_user(name text, is_local boolean DEFAULT false) RETURNS text
AS 'MODULE_PATHNAME', 'quant_set_user'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION quant.set_user(text, boolean) IS
  'Sets the current quant user, for the session (psql) or with is_local = true for the current transaction; returns the name. Allowed to a superuser, a member of quant_admin, the login role of that very name, or when it is already the current user; otherwise 42501. The REST layer logs in with quant.login_api_key instead.';

CREATE FUNCTION quant.reset_user() RETURNS void
AS 'MODULE_PATHNAME', 'quant_reset_user'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION quant.reset_user() IS 'No current quant user any more (for the session and the transaction).';

CREATE OR REPLACE FUNCTION quant.current_user_id() RETURNS text
AS 'MODULE_PATHNAME', 'quant_current_user_id'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION quant.current_user_id() IS
  'The current quant user (set by quant.login_api_key or quant.set_user); ERROR 28000 when none is set. Used by every quant.* function and by the row-level security policies. PARALLEL RESTRICTED: the user lives in the backend''s memory.';

CREATE FUNCTION quant.authenticated() RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_authenticated'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION quant.authenticated() IS
  'Whether a quant user is set for this transaction or session. The REST layer runs a request''s statement only WHERE quant.authenticated(), so a failed login raises no ERROR.';

CREATE FUNCTION trade.set_transaction_user(user_id text) RETURNS text
AS 'MODULE_PATHNAME', 'quant_set_transaction_user'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION trade.set_transaction_user(text) IS
  'Internal (no grants): the quant user for the rest of the transaction (NULL: none), for the SECURITY DEFINER functions that log in or act as each deployment''s owner.';

REVOKE ALL ON FUNCTION trade.set_transaction_user(text) FROM PUBLIC;

COMMENT ON COLUMN trade.api_key.db_role IS 'The database login (session_user) that created the key';

COMMENT ON COLUMN trade.api_key.last_used_at IS 'About the last successful quant.login_api_key: written beside the request by a transaction of its own, at most once a minute';

DROP POLICY api_key_own ON trade.api_key;

CREATE POLICY api_key_own ON trade.api_key
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

REVOKE ALL ON trade.api_key FROM PUBLIC;  -- no grants: reached through the functions below only

CREATE FUNCTION trade.api_key_check_args(user_id text, label text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.create_api_key';
BEGIN
    IF user_id IS NULL THEN
        RAISE EXCEPTION '%: user_id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'user_id';
    END IF;
    IF user_id !~ '^[A-Za-z0-9_.@-]{1,64}$' THEN
        RAISE EXCEPTION '%: user_id must be 1 to 64 characters of letters, digits, _ . @ -, got "%"', fn, left(user_id, 80)
            USING ERRCODE = '22023', COLUMN = 'user_id', HINT = 'a quant user name, as quant.set_user takes';
    END IF;
    IF label IS NOT NULL AND (length(label) > 200 OR label ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION '%: label must be at most 200 characters without control characters', fn
            USING ERRCODE = '22023', COLUMN = 'label', HINT = 'a short description such as "laptop script", or NULL';
    END IF;
END
$$;

COMMENT ON FUNCTION trade.api_key_check_args(text, text) IS 'Internal: the arguments of quant.create_api_key checked (22004, 22023 naming the field).';

CREATE FUNCTION trade.api_key_insert(user_id text, label text) RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    active integer;
    kid uuid := quant.uuid_generate_v7();
    made record;
BEGIN
    PERFORM trade.api_key_check_args(user_id, label);
    -- at most api_key_max_active() active keys per user (serialised per user)
    PERFORM pg_advisory_xact_lock(hashtextextended('quant.create_api_key:' || api_key_insert.user_id, 0));
    SELECT count(*) INTO active FROM trade.api_key k WHERE k.user_id = api_key_insert.user_id AND k.revoked_at IS NULL;
    IF active >= trade.api_key_max_active() THEN
        RAISE EXCEPTION 'quant.create_api_key: user % already has % active API keys', api_key_insert.user_id, active
            USING ERRCODE = '54000', COLUMN = 'user_id',
                  HINT = 'revoke unused keys with quant.revoke_api_key(key_id); quant.list_api_keys() lists them';
    END IF;
    made := trade.api_key_make(kid);
    INSERT INTO trade.api_key (key_id, user_id, label, key_hash, created_by, db_role)
    VALUES (kid, api_key_insert.user_id, label, made.key_hash,
            CASE WHEN quant.authenticated() THEN quant.current_user_id() END, session_user);
    RETURN made.key;
END
$$;

COMMENT ON FUNCTION trade.api_key_insert(text, text) IS 'Internal: a new key row for user_id (at most 100 active, 54000); returns the key.';

REVOKE ALL ON FUNCTION trade.api_key_insert(text, text) FROM PUBLIC;

CREATE FUNCTION trade.api_key_create_own(label text) RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT trade.api_key_insert(quant.current_user_id(), label);
$$;

COMMENT ON FUNCTION trade.api_key_create_own(text) IS 'Internal (quant.create_api_key): a new key for the current user.';

CREATE FUNCTION trade.api_key_create_for(user_id text, label text) RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT trade.api_key_insert(user_id, label);
$$;

COMMENT ON FUNCTION trade.api_key_create_for(text, text) IS
  'Internal (quant.create_api_key): a new key for any user; EXECUTE for quant_admin (and superusers) only: the privilege is the check.';

CREATE OR REPLACE FUNCTION quant.create_api_key(user_id text, label text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := CASE WHEN quant.authenticated() THEN quant.current_user_id() END;
BEGIN
    PERFORM trade.api_key_check_args(create_api_key.user_id, label);
    IF create_api_key.user_id = me THEN
        RETURN trade.api_key_create_own(label);
    END IF;
    IF trade.api_key_admin() THEN
        RETURN trade.api_key_create_for(create_api_key.user_id, label);
    END IF;
    IF me IS NULL THEN
        PERFORM quant.current_user_id();  -- ERROR 28000: no current user
    END IF;
    RAISE EXCEPTION 'quant.create_api_key: you (%) may create API keys only for yourself, not for "%"', me,
                    create_api_key.user_id
        USING ERRCODE = '42501', COLUMN = 'user_id',
              HINT = 'an administrator (a superuser or a member of quant_admin) creates keys for other users';
END
$$;

CREATE OR REPLACE FUNCTION quant.revoke_api_key(key_id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.revoke_api_key';
    me text := quant.current_user_id();
    k trade.api_key;
BEGIN
    IF revoke_api_key.key_id IS NULL THEN
        RAISE EXCEPTION '%: key_id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'key_id';
    END IF;
    SELECT k0.key_id, k0.user_id, k0.label, NULL::bytea, k0.created_at, k0.created_by, k0.db_role, k0.last_used_at,
           k0.revoked_at, k0.revoked_by
      INTO k
      FROM trade.api_key k0
     WHERE k0.key_id = revoke_api_key.key_id AND k0.user_id = me
       FOR UPDATE;
    IF k.key_id IS NULL THEN
        RAISE EXCEPTION '%: API key % not found', fn, revoke_api_key.key_id
            USING ERRCODE = 'P0002', COLUMN = 'key_id', HINT = 'quant.list_api_keys() lists your keys';
    END IF;
    IF k.revoked_at IS NULL THEN
        UPDATE trade.api_key t SET revoked_at = now(), revoked_by = me WHERE t.key_id = k.key_id;
        k.revoked_at := now();
        k.revoked_by := me;
    END IF;
    RETURN trade.api_key_json(k);  -- revoking twice changes nothing
END
$$;

COMMENT ON FUNCTION quant.revoke_api_key(uuid) IS
  'Revokes an API key of the current user at once: quant.login_api_key no longer accepts it. P0002 when it is not yours (even for an administrator: act as that user). Revoking a revoked key returns it unchanged. Returns the key''s JSON (never the key or its hash).';

CREATE OR REPLACE FUNCTION quant.list_api_keys(include_revoked boolean DEFAULT false) RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('key_id', k.key_id, 'user', k.user_id, 'label', k.label,
                              'status', CASE WHEN k.revoked_at IS NULL THEN 'active' ELSE 'revoked' END,
                              'created_at', k.created_at, 'created_by', k.created_by,
                              'last_used_at', k.last_used_at, 'revoked_at', k.revoked_at)
    FROM trade.api_key k
    WHERE k.user_id = quant.current_user_id() AND (coalesce(include_revoked, false) OR k.revoked_at IS NULL)
    ORDER BY k.created_at, k.key_id;
$$;

CREATE FUNCTION trade.api_key_record_use(key_id uuid) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE trade.api_key k SET last_used_at = now()
     WHERE k.key_id = (SELECT t.key_id FROM trade.api_key t
                        WHERE t.key_id = api_key_record_use.key_id
                          AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')
                          FOR UPDATE SKIP LOCKED);
$$;

COMMENT ON FUNCTION trade.api_key_record_use(uuid) IS
  'Internal (the autonomous worker): last_used_at = now() for the key unless it is under a minute old or the row is locked.';

REVOKE ALL ON FUNCTION trade.api_key_record_use(uuid) FROM PUBLIC;

CREATE FUNCTION trade.api_key_used_async(key_id uuid) RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_api_key_used_async'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION trade.api_key_used_async(uuid) IS
  'Internal: starts trade.api_key_record_use(key_id) in a background worker''s own transaction and returns at once (false when no worker slot was free: the next login tries again).';

REVOKE ALL ON FUNCTION trade.api_key_used_async(uuid) FROM PUBLIC;

-- issue 16 (session 8): the id of a key or token without a regular expression (trade.token_id, inlined)
CREATE FUNCTION trade.token_id(token text, prefix text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN pg_catalog.length(token) OPERATOR(pg_catalog.=) 79
                 AND pg_catalog.left(token, 3) OPERATOR(pg_catalog.=) prefix
                 AND pg_catalog.substr(token, 36, 1) OPERATOR(pg_catalog.=) '_'
                 AND pg_catalog.translate(pg_catalog.substr(token, 4, 32), '0123456789abcdef', '')
                     OPERATOR(pg_catalog.=) ''
                 AND pg_catalog.translate(pg_catalog.substr(token, 37),
                                          'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-', '')
                     OPERATOR(pg_catalog.=) ''
                THEN pg_catalog.substr(token, 4, 32)::pg_catalog.uuid END
$$;
COMMENT ON FUNCTION trade.token_id(text, text) IS
  'Internal: the id of an API key (prefix qk_) or a session token (qs_): prefix, 32 lowercase hex digits, _, 43 characters of A-Z a-z 0-9 _ -; NULL for any other text.';
REVOKE ALL ON FUNCTION trade.token_id(text, text) FROM PUBLIC;

CREATE FUNCTION quant.login_api_key(key text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id uuid := trade.token_id(key, 'qk_');
    k record;
    pepper bytea;
    ok boolean;
BEGIN
    PERFORM trade.set_transaction_user(NULL);  -- a failed login leaves no user, whoever was before
    IF id IS NULL THEN
        RETURN NULL;  -- NULL or malformed: unknown, like any other
    END IF;
    SELECT t.key_id, t.user_id, t.key_hash, t.revoked_at, t.last_used_at INTO k
      FROM trade.api_key t WHERE t.key_id = id;
    pepper := trade.api_key_pepper(false);
    IF pepper IS NULL THEN
        RETURN NULL;  -- no key was ever made here
    END IF;
    -- hash and compare even for an unknown key_id, so the time says little about which part was wrong
    ok := trade.bytea_equal_ct(trade.hmac_sha256(pepper, key),
                               coalesce(k.key_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea))
          AND k.key_id IS NOT NULL;
    IF NOT ok OR k.revoked_at IS NOT NULL THEN
        RETURN NULL;
    END IF;
    IF k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' THEN
        PERFORM trade.api_key_used_async(k.key_id);
    END IF;
    RETURN trade.set_transaction_user(k.user_id);
END
$$;

COMMENT ON FUNCTION quant.login_api_key(text) IS
  'For the REST layer, first in each request''s transaction: a valid API key makes its user the current quant user until the transaction ends and returns the user; a NULL, malformed, unknown, wrong or revoked key returns NULL (all alike, no ERROR) and leaves no current user. Compares keyed hashes in constant time; takes no row lock (last_used_at is written beside it, at most once a minute). EXECUTE for quant_app and quant_admin only.';

CREATE OR REPLACE FUNCTION quant.authenticate_api_key(key text) RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT quant.login_api_key(key);
$$;

COMMENT ON FUNCTION quant.authenticate_api_key(text) IS
  'Deprecated: quant.login_api_key under its former name (the REST layer''s former pipeline, quant.set_user(quant.authenticate_api_key(key), true), still works: setting the logged-in user again changes nothing). EXECUTE for quant_app only.';

DROP POLICY audit_own ON trade.audit;

CREATE POLICY audit_own ON trade.audit
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

CREATE OR REPLACE FUNCTION quant.audit_trail(entity_id uuid DEFAULT NULL) RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('audit_id', a.audit_id, 'at', a.at, 'user', a.user_id, 'db_role', a.db_role,
                              'entity', a.entity, 'entity_id', a.entity_id, 'action', a.action,
                              'old', a.old_value, 'new', a.new_value, 'message', a.message)
    FROM trade.audit a
    WHERE a.user_id = quant.current_user_id()
      AND (audit_trail.entity_id IS NULL OR a.entity_id = audit_trail.entity_id)
    ORDER BY a.at, a.audit_id;
$$;

DROP POLICY strategy_own ON bt.strategy;

CREATE POLICY strategy_own ON bt.strategy
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

DROP POLICY strategy_version_own ON bt.strategy_version;

CREATE POLICY strategy_version_own ON bt.strategy_version
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

CREATE OR REPLACE FUNCTION quant.create_strategy(config jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.create_strategy';
    me text := quant.current_user_id();
    cfg jsonb := bt.normalized_config(config, fn);
    hash text := bt.params_hash(cfg);
    id uuid := (cfg->>'strategy_id')::uuid;
    s bt.strategy;
    v bt.strategy_version;
BEGIN
    IF id IS NOT NULL THEN
        -- the one-click flow posts a StrategyConfig that may carry its id: create or update it
        PERFORM pg_advisory_xact_lock(hashtextextended('quant.create_strategy:' || me || ':' || id, 0));
        SELECT * INTO s FROM bt.strategy t
        WHERE t.user_id = me AND t.deleted_at IS NULL AND (t.strategy_id = id OR t.client_strategy_id = id)
        LIMIT 1;
        IF s.strategy_id IS NOT NULL THEN
            -- what quant.update_strategy(id, config) does, without validating (and warning) twice
            s := bt.own_strategy(id, fn, true);
            RETURN bt.new_version(s, cfg);
        END IF;
        -- not one of yours (never used, another user's, deleted): a new strategy with a new id
        -- that keeps the client's id as client_strategy_id (every call taking a strategy id
        -- accepts it, for this user only), the same answer for each, so no one learns whether
        -- the id exists
        RAISE NOTICE '%: strategy_id % is not one of your strategies: a new strategy gets a new id and keeps % as client_strategy_id',
            fn, id, id;
    ELSE
        -- a duplicate submission returns the existing strategy (same user, same parameters)
        PERFORM pg_advisory_xact_lock(hashtextextended('quant.create_strategy:' || me || ':' || hash, 0));
        SELECT t.* INTO s FROM bt.strategy t JOIN bt.strategy_version c
            ON c.strategy_id = t.strategy_id AND c.version = t.current_version
        WHERE t.user_id = me AND t.deleted_at IS NULL AND c.params_hash = hash
        ORDER BY t.created_at, t.strategy_id LIMIT 1;
        IF s.strategy_id IS NOT NULL THEN
            RETURN bt.strategy_json(s, bt.current_version(s));
        END IF;
    END IF;
    INSERT INTO bt.strategy (strategy_id, user_id, name, ticker, client_strategy_id)
    VALUES (quant.uuid_generate_v7(), me, cfg->>'name', cfg->>'ticker', id)
    RETURNING * INTO s;
    INSERT INTO bt.strategy_version (strategy_id, version, user_id, name, ticker, conjunction, trading_period,
                                     config, params_hash)
    VALUES (s.strategy_id, 1, me, cfg->>'name', cfg->>'ticker', cfg->>'conjunction',
            (cfg->>'trading_period')::integer, cfg - 'strategy_id' - 'version' - 'created_at' - 'updated_at', hash)
    RETURNING * INTO v;
    PERFORM trade.write_audit('strategy', s.strategy_id, 'create', NULL, bt.strategy_json(s, v));
    RETURN bt.strategy_json(s, v);
END
$$;
COMMENT ON FUNCTION quant.create_strategy(jsonb) IS
  'Creates a strategy of the current user from a StrategyConfig (seed 1.1), validated and normalised (name generated when empty), as version 1 with a new id; returns its StrategyConfig JSON. The same parameters as an existing strategy of yours return that strategy; a config carrying the strategy_id (or client_strategy_id) of one of yours updates it (quant.update_strategy); any other strategy_id (never used, another user''s, deleted) makes a new strategy with a new id that keeps the client''s id as client_strategy_id (accepted by every call that takes a strategy id, for you only), with a NOTICE, the same for each, so no answer tells whether it exists.';

CREATE OR REPLACE FUNCTION quant.update_strategy(id uuid, config jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.update_strategy';
    cfg jsonb;
    s bt.strategy;
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION '%: id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'id';
    END IF;
    cfg := bt.normalized_config(config, fn);
    IF cfg->>'strategy_id' IS NOT NULL AND (cfg->>'strategy_id')::uuid <> id THEN
        RAISE EXCEPTION '%: config.strategy_id % differs from id %', fn, cfg->>'strategy_id', id
            USING ERRCODE = '22023', COLUMN = 'strategy_id', HINT = 'leave strategy_id out of the config or make it equal id';
    END IF;
    -- the row lock serialises concurrent updates: they make n+1 and n+2, never two n+1
    s := bt.own_strategy(id, fn, true);
    RETURN bt.new_version(s, cfg);
END
$$;

CREATE OR REPLACE FUNCTION quant.list_strategies() RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT bt.strategy_json(s, v)
    FROM bt.strategy s JOIN bt.strategy_version v ON v.strategy_id = s.strategy_id AND v.version = s.current_version
    WHERE s.user_id = quant.current_user_id() AND s.deleted_at IS NULL
    ORDER BY s.created_at, s.strategy_id;
$$;

CREATE OR REPLACE FUNCTION quant.get_strategy(id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s bt.strategy := bt.own_strategy(id, 'quant.get_strategy', false, true);
    latest jsonb;
BEGIN
    SELECT r.result INTO latest FROM bt.result r
    WHERE r.strategy_id = s.strategy_id AND r.user_id = s.user_id
    ORDER BY r.run_at DESC, r.result_id DESC LIMIT 1;
    RETURN bt.strategy_json(s, bt.current_version(s))
        || jsonb_build_object('versions', s.current_version, 'deleted_at', s.deleted_at, 'latest_result', latest);
END
$$;

CREATE OR REPLACE FUNCTION quant.strategy_versions(id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s bt.strategy := bt.own_strategy(id, 'quant.strategy_versions', false, true);
BEGIN
    RETURN QUERY
    SELECT v.config || jsonb_build_object('strategy_id', v.strategy_id, 'version', v.version,
                                          'created_at', v.created_at, 'params_hash', v.params_hash)
    FROM bt.strategy_version v WHERE v.strategy_id = s.strategy_id AND v.user_id = s.user_id
    ORDER BY v.version;
END
$$;

CREATE OR REPLACE FUNCTION quant.delete_strategy(id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.delete_strategy';
    s bt.strategy := bt.own_strategy(id, fn, true, true);
    old_json jsonb := bt.strategy_json(s, bt.current_version(s));
    running integer;
BEGIN
    IF s.deleted_at IS NOT NULL THEN
        RETURN old_json || jsonb_build_object('deleted_at', s.deleted_at);  -- already deleted: nothing to do
    END IF;
    SELECT count(*) INTO running FROM trade.deployment d
    WHERE d.strategy_id = s.strategy_id AND d.user_id = s.user_id AND d.stopped_at IS NULL;
    IF running > 0 THEN
        RAISE EXCEPTION '%: strategy % has % deployment(s) not stopped', fn, id, running
            USING ERRCODE = '55006', COLUMN = 'strategy_id',
                  HINT = 'stop them first with quant.stop_deployment(id); quant.list_deployments() lists them';
    END IF;
    UPDATE bt.strategy t SET deleted_at = now(), updated_at = now() WHERE t.strategy_id = s.strategy_id
    RETURNING * INTO s;
    PERFORM trade.write_audit('strategy', s.strategy_id, 'delete', old_json, NULL);
    RETURN bt.strategy_json(s, bt.current_version(s)) || jsonb_build_object('deleted_at', s.deleted_at);
END
$$;

CREATE OR REPLACE FUNCTION quant.evaluate(strategy_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s bt.strategy := bt.own_strategy(strategy_id, 'quant.evaluate', false);
    v bt.strategy_version := bt.current_version(s);
BEGIN
    RETURN quant.evaluate_config(v.config) || jsonb_build_object('strategy_id', s.strategy_id, 'version', v.version);
END
$$;

DROP POLICY result_own ON bt.result;

CREATE POLICY result_own ON bt.result
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

CREATE OR REPLACE FUNCTION quant.store_result(strategy_id uuid, result jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.store_result';
    s bt.strategy;
    ver integer;
    run_at timestamptz;
    d_start date;
    d_end date;
    fee numeric;
    metric_keys constant text[] := ARRAY['total_return', 'annualized_return', 'sharpe_ratio', 'max_drawdown',
                                         'calmar_ratio'];
    k text;
    rid uuid;
    stored jsonb;
BEGIN
    IF result IS NULL THEN
        RAISE EXCEPTION '%: result must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'result';
    END IF;
    s := bt.own_strategy(strategy_id, fn, false);
    IF jsonb_typeof(result) <> 'object' THEN
        PERFORM bt.result_field_error('result', 'must be a JSON object, got ' || jsonb_typeof(result));
    END IF;
    -- the user's pipeline's form -> the seed's: display-name metric keys, internal_cusip for
    -- ticker_backtested (both kept: the identifiers the client used come back)
    IF result ? 'metrics' THEN
        result := result || jsonb_build_object('metrics', bt.result_metrics(result->'metrics', 'metrics'));
    END IF;
    IF jsonb_typeof(result->'buy_hold_metrics') = 'object' THEN
        result := result || jsonb_build_object('buy_hold_metrics',
                                               bt.result_metrics(result->'buy_hold_metrics', 'buy_hold_metrics'));
    END IF;
    IF result ? 'internal_cusip' AND jsonb_typeof(result->'internal_cusip') <> 'null' THEN
        IF jsonb_typeof(result->'internal_cusip') <> 'string' THEN
            PERFORM bt.result_field_error('internal_cusip', 'must be a string', 'a product of quant.list_products()');
        END IF;
        IF jsonb_typeof(result->'ticker_backtested') IS DISTINCT FROM 'string' THEN
            result := result || jsonb_build_object('ticker_backtested',
                                                   (refdata.resolve_product(result->>'internal_cusip', fn,
                                                                            'internal_cusip')).data_ticker);
        END IF;
    END IF;
    -- the strategy's id or the client's own id for it (the pipeline's results carry its id)
    IF result ? 'strategy_id' AND jsonb_typeof(result->'strategy_id') <> 'null'
       AND (result->>'strategy_id') IS DISTINCT FROM strategy_id::text
       AND (result->>'strategy_id') IS DISTINCT FROM s.strategy_id::text
       AND (result->>'strategy_id') IS DISTINCT FROM s.client_strategy_id::text THEN
        PERFORM bt.result_field_error('strategy_id', 'is ' || (result->>'strategy_id') || ', not ' || strategy_id,
                                      'leave it out or make it the strategy_id argument');
    END IF;
    ver := s.current_version;
    IF result ? 'version' THEN
        IF jsonb_typeof(result->'version') <> 'number' OR (result->>'version') !~ '^[0-9]+$' THEN
            PERFORM bt.result_field_error('version', 'must be a version number of the strategy');
        END IF;
        ver := (result->>'version')::integer;
        IF NOT EXISTS (SELECT 1 FROM bt.strategy_version v WHERE v.strategy_id = s.strategy_id AND v.version = ver) THEN
            PERFORM bt.result_field_error('version', 'strategy has no version ' || ver,
                                          'versions 1 to ' || s.current_version);
        END IF;
    END IF;
    IF jsonb_typeof(result->'metrics') IS DISTINCT FROM 'object' THEN
        PERFORM bt.result_field_error('metrics', 'is required and must be an object',
                                      'keys: ' || array_to_string(metric_keys, ', '));
    END IF;
    FOREACH k IN ARRAY metric_keys LOOP
        IF jsonb_typeof(result->'metrics'->k) NOT IN ('number', 'null') THEN
            PERFORM bt.result_field_error('metrics.' || k, 'must be a number or null');
        END IF;
    END LOOP;
    IF result ? 'buy_hold_metrics' AND jsonb_typeof(result->'buy_hold_metrics') NOT IN ('object', 'null') THEN
        PERFORM bt.result_field_error('buy_hold_metrics', 'must be an object');
    END IF;
    IF result ? 'walk_forward' AND jsonb_typeof(result->'walk_forward') NOT IN ('object', 'null') THEN
        PERFORM bt.result_field_error('walk_forward', 'must be an object');
    END IF;
    BEGIN
        run_at := coalesce((result->>'run_at')::timestamptz, now());
    EXCEPTION WHEN others THEN
        PERFORM bt.result_field_error('run_at', 'is not a timestamp: ' || left(result->>'run_at', 60),
                                      'ISO 8601, e.g. 2026-04-05T12:00:00Z');
    END;
    IF result ? 'data_range' AND jsonb_typeof(result->'data_range') <> 'null' THEN
        IF jsonb_typeof(result->'data_range') <> 'object' THEN
            PERFORM bt.result_field_error('data_range', 'must be an object {start, end}');
        END IF;
        BEGIN
            d_start := (result->'data_range'->>'start')::timestamptz::date;
        EXCEPTION WHEN others THEN
            PERFORM bt.result_field_error('data_range.start', 'is not a date', 'YYYY-MM-DD');
        END;
        BEGIN
            d_end := (result->'data_range'->>'end')::timestamptz::date;
        EXCEPTION WHEN others THEN
            PERFORM bt.result_field_error('data_range.end', 'is not a date', 'YYYY-MM-DD');
        END;
        IF d_start > d_end THEN
            PERFORM bt.result_field_error('data_range', 'start ' || d_start || ' is after end ' || d_end);
        END IF;
    END IF;
    IF result ? 'fee_bps' AND jsonb_typeof(result->'fee_bps') <> 'null' THEN
        IF jsonb_typeof(result->'fee_bps') <> 'number' OR (result->>'fee_bps')::numeric < 0 THEN
            PERFORM bt.result_field_error('fee_bps', 'must be a number >= 0', 'basis points, e.g. 5.0');
        END IF;
        fee := (result->>'fee_bps')::numeric;
    END IF;
    IF result ? 'ticker_backtested' AND jsonb_typeof(result->'ticker_backtested') NOT IN ('string', 'null') THEN
        PERFORM bt.result_field_error('ticker_backtested', 'must be a string');
    END IF;

    rid := quant.uuid_generate_v7();
    stored := result || jsonb_build_object('result_id', rid, 'strategy_id', s.strategy_id, 'version', ver,
                                           'run_at', run_at, 'stored_at', now());
    INSERT INTO bt.result (result_id, strategy_id, version, user_id, run_at, data_start, data_end, ticker, fee_bps,
                           metrics, buy_hold_metrics, walk_forward, result)
    VALUES (rid, s.strategy_id, ver, s.user_id, run_at, d_start, d_end,
            coalesce(result->>'ticker_backtested', s.ticker), fee, result->'metrics', result->'buy_hold_metrics',
            result->'walk_forward', stored);
    RETURN stored;
END
$$;
COMMENT ON FUNCTION quant.store_result(uuid, jsonb) IS
  'Stores a BacktestResults object (seed 1.3, as quant.backtest returns it, or as the user''s pipeline writes it: internal_cusip for ticker_backtested, display-name metric keys such as "Sharpe Ratio"; its NaN text through quant.parse_json) for a strategy of the current user, against its current version (or result.version). metrics is required; each field is checked. Returns the stored object in the seed''s form (with internal_cusip when given) with result_id, strategy_id, version, stored_at.';

CREATE OR REPLACE FUNCTION quant.list_results(strategy_id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s bt.strategy := bt.own_strategy(strategy_id, 'quant.list_results', false, true);
BEGIN
    RETURN QUERY SELECT r.result FROM bt.result r
    WHERE r.strategy_id = s.strategy_id AND r.user_id = s.user_id
    ORDER BY r.run_at DESC, r.result_id DESC;
END
$$;

DROP POLICY ticker_mapping_read ON refdata.ticker_mapping;

CREATE POLICY ticker_mapping_read ON refdata.ticker_mapping FOR SELECT
    USING (user_id IS NULL OR user_id = quant.current_user_id());

DROP POLICY ticker_mapping_insert ON refdata.ticker_mapping;

CREATE POLICY ticker_mapping_insert ON refdata.ticker_mapping FOR INSERT
    WITH CHECK (user_id = quant.current_user_id());

DROP POLICY ticker_mapping_update ON refdata.ticker_mapping;

CREATE POLICY ticker_mapping_update ON refdata.ticker_mapping FOR UPDATE
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

DROP POLICY ticker_mapping_delete ON refdata.ticker_mapping;

CREATE POLICY ticker_mapping_delete ON refdata.ticker_mapping FOR DELETE
    USING (user_id = quant.current_user_id());

CREATE OR REPLACE FUNCTION quant.set_ticker_mapping(data_ticker text, broker text, broker_ticker text, market text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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

CREATE OR REPLACE FUNCTION quant.list_ticker_mappings() RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('data_ticker', t.data_ticker, 'broker', t.broker, 'broker_ticker', t.broker_ticker,
                              'market', t.market, 'shared', t.user_id IS NULL)
    FROM refdata.ticker_mapping t
    WHERE t.user_id IS NULL OR t.user_id = quant.current_user_id()
    ORDER BY t.data_ticker, t.broker, t.user_id NULLS FIRST;
$$;

DROP POLICY trade_password_own ON trade.trade_password;

CREATE POLICY trade_password_own ON trade.trade_password
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

DROP POLICY live_gate_failure_own ON trade.live_gate_failure;

CREATE POLICY live_gate_failure_own ON trade.live_gate_failure
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

CREATE OR REPLACE FUNCTION trade.record_live_gate_failure(user_id text, reason text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM trade.set_transaction_user(user_id);
    INSERT INTO trade.live_gate_failure (user_id, reason) VALUES (record_live_gate_failure.user_id, reason);
    INSERT INTO trade.audit (user_id, entity, action, message)
    VALUES (record_live_gate_failure.user_id, 'live_gate', 'live_refused', reason);
END
$$;

DROP POLICY deployment_own ON trade.deployment;

CREATE POLICY deployment_own ON trade.deployment
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

CREATE OR REPLACE FUNCTION quant.deploy(deployment jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.deploy';
    me text;
    cfg jsonb;
    s bt.strategy;
    v bt.strategy_version;
    ver integer;
    m refdata.ticker_mapping;
    d trade.deployment;
    e_state text;
    e_msg text;
    e_detail text;
    e_hint text;
    e_column text;
BEGIN
    me := quant.current_user_id();
    PERFORM trade.require_object(deployment, fn, 'deployment');
    cfg := quant.normalize_deployment(deployment);  -- the one validator: 22023 naming the field
    IF cfg ? 'user' AND cfg->>'user' <> me THEN
        RAISE EXCEPTION '%: user: "%" is not the current user', fn, cfg->>'user'
            USING ERRCODE = '22023', COLUMN = 'user', HINT = 'leave "user" out, or give your own name: ' || me;
    END IF;
    IF cfg ? 'deployment_id' THEN
        RAISE EXCEPTION '%: deployment_id: is assigned by quant', fn
            USING ERRCODE = '22023', COLUMN = 'deployment_id', HINT = 'leave it out; quant.update_deployment changes a deployment';
    END IF;
    s := bt.own_strategy((cfg->>'strategy_id')::uuid, fn, false);
    ver := coalesce((cfg->>'strategy_version')::integer, s.current_version);
    SELECT * INTO v FROM bt.strategy_version x WHERE x.strategy_id = s.strategy_id AND x.version = ver;
    IF v.strategy_id IS NULL THEN
        RAISE EXCEPTION '%: strategy_version: strategy % has no version %', fn, s.strategy_id, ver
            USING ERRCODE = '22023', COLUMN = 'strategy_version', HINT = 'versions 1 to ' || s.current_version;
    END IF;
    -- what is traded must be the product the pinned version trades: a mapping of its ticker
    m := refdata.broker_symbol(v.ticker, cfg->>'broker', cfg->>'ticker', cfg->>'market', fn);
    cfg := cfg || jsonb_build_object('ticker', m.broker_ticker, 'market', m.market);
    -- validate again with everything filled (whole shares for US and HK)
    cfg := quant.normalize_deployment(cfg || jsonb_build_object('user', me, 'strategy_version', ver));
    d.deployment_id := quant.uuid_generate_v7();
    IF NOT (cfg->>'paper')::boolean THEN
        PERFORM trade.live_gate(fn, cfg->>'ticker', deployment->'confirm_live', deployment->'trade_password',
                                d.deployment_id);
    END IF;
    INSERT INTO trade.deployment (deployment_id, user_id, strategy_id, strategy_version, portfolio, broker, ticker,
                                  market, qty, paper, schedule, enabled, risk_limits, config, live_since)
    VALUES (d.deployment_id, me, s.strategy_id, ver, cfg->>'portfolio', cfg->>'broker', cfg->>'ticker',
            cfg->>'market', (cfg->>'qty')::numeric, (cfg->>'paper')::boolean, cfg->>'schedule',
            (cfg->>'enabled')::boolean, cfg->'risk_limits', cfg,
            CASE WHEN NOT (cfg->>'paper')::boolean THEN now() END)
    RETURNING * INTO d;
    PERFORM trade.write_audit('deployment', d.deployment_id, 'deploy', NULL, trade.deployment_json(d));
    RETURN trade.deployment_json(d);
EXCEPTION WHEN OTHERS THEN
    IF jsonb_typeof(deployment) = 'object' AND deployment ? 'trade_password' THEN
        -- the password may be a literal of the statement: keep the statement out of the log
        GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL,
                                e_hint = PG_EXCEPTION_HINT, e_column = COLUMN_NAME;
        PERFORM trade.quiet_report('ERROR', e_state, e_msg, e_detail, e_hint, e_column);
    END IF;
    RAISE;
END
$$;

CREATE OR REPLACE FUNCTION quant.list_deployments(include_stopped boolean DEFAULT false) RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT trade.deployment_json(d) FROM trade.deployment d
    WHERE d.user_id = quant.current_user_id() AND (coalesce(include_stopped, false) OR d.stopped_at IS NULL)
    ORDER BY d.created_at, d.deployment_id;
$$;

CREATE OR REPLACE FUNCTION quant.get_deployment(id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.get_deployment', false);
    trades jsonb;
    last_signal jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(x.j ORDER BY x.ts DESC), '[]') INTO trades FROM (
        SELECT l.ts, jsonb_build_object('log_id', l.log_id, 'ts', l.ts, 'signal_value', l.signal_value,
                                        'action', l.action, 'qty', l.qty, 'price', l.price, 'order_id', l.order_id,
                                        'success', l.success, 'message', l.message) AS j
        FROM trade.log l WHERE l.deployment_id = d.deployment_id AND l.user_id = d.user_id
        ORDER BY l.ts DESC, l.log_id DESC LIMIT 20) x;
    SELECT jsonb_build_object('signal_id', g.signal_id, 'bar_ts', g.bar_ts, 'signal', g.signal,
                              'created_at', g.created_at)
    INTO last_signal
    FROM trade.signal g WHERE g.deployment_id = d.deployment_id AND g.user_id = d.user_id
    ORDER BY g.bar_ts DESC LIMIT 1;
    RETURN trade.deployment_json(d) || jsonb_build_object('recent_trades', trades, 'last_signal', last_signal);
END
$$;

CREATE OR REPLACE FUNCTION quant.update_deployment(id uuid, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.update_deployment';
    allowed constant text[] := ARRAY['enabled', 'qty', 'risk_limits', 'schedule', 'portfolio', 'paper',
                                     'confirm_live', 'trade_password'];
    d trade.deployment;
    k text;
    merged jsonb;
    cfg jsonb;
    old_json jsonb;
    going_live boolean;
    product text;
    e_state text;
    e_msg text;
    e_detail text;
    e_hint text;
    e_column text;
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION '%: id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'id';
    END IF;
    PERFORM trade.require_object(patch, fn, 'patch');
    FOR k IN SELECT jsonb_object_keys(patch) LOOP
        IF k <> ALL (allowed) THEN
            RAISE EXCEPTION '%: %: cannot be changed by an update', fn, k
                USING ERRCODE = '22023', COLUMN = k,
                      HINT = 'changeable fields: ' || array_to_string(allowed, ', ') || '; deploy anew for the rest';
        END IF;
    END LOOP;
    d := trade.own_deployment(id, fn, true);
    IF d.stopped_at IS NOT NULL THEN
        RAISE EXCEPTION '%: deployment % was stopped at %', fn, id, d.stopped_at
            USING ERRCODE = '55000', COLUMN = 'deployment_id', HINT = 'a stopped deployment stays stopped; deploy anew';
    END IF;
    merged := d.config || (patch - 'risk_limits');
    IF jsonb_typeof(patch->'risk_limits') = 'object' THEN
        merged := merged || jsonb_build_object('risk_limits', (d.config->'risk_limits') || (patch->'risk_limits'));
    ELSIF patch ? 'risk_limits' THEN
        merged := merged || jsonb_build_object('risk_limits', patch->'risk_limits');  -- the validator names it
    END IF;
    cfg := quant.normalize_deployment(merged);
    IF (cfg->>'enabled')::boolean THEN
        -- still trading: the symbol must still be a mapping of the pinned version's ticker
        -- (switching off is never refused)
        SELECT v.ticker INTO product FROM bt.strategy_version v
        WHERE v.strategy_id = d.strategy_id AND v.version = d.strategy_version;
        IF d.ticker <> ALL (refdata.broker_symbols(product, d.broker)) THEN
            RAISE EXCEPTION '%: ticker: "%" on broker % is no longer a mapping of the strategy''s ticker "%"', fn,
                            d.ticker, d.broker, product
                USING ERRCODE = '22023', COLUMN = 'ticker',
                      HINT = 'switch it off ({"enabled": false}) or stop it, and deploy anew on a mapped symbol';
        END IF;
    END IF;
    going_live := d.paper AND NOT (cfg->>'paper')::boolean;
    IF going_live THEN
        PERFORM trade.live_gate(fn, d.ticker, patch->'confirm_live', patch->'trade_password', d.deployment_id);
    END IF;
    IF cfg = d.config THEN
        RETURN trade.deployment_json(d);  -- nothing changed: no new audit row
    END IF;
    old_json := trade.deployment_json(d);
    UPDATE trade.deployment t
       SET qty = (cfg->>'qty')::numeric, paper = (cfg->>'paper')::boolean, schedule = cfg->>'schedule',
           enabled = (cfg->>'enabled')::boolean, portfolio = cfg->>'portfolio', risk_limits = cfg->'risk_limits',
           config = cfg, updated_at = now(),
           live_since = CASE WHEN going_live THEN now() WHEN (cfg->>'paper')::boolean THEN NULL ELSE t.live_since END
     WHERE t.deployment_id = d.deployment_id
    RETURNING * INTO d;
    PERFORM trade.write_audit('deployment', d.deployment_id, 'update', old_json, trade.deployment_json(d));
    RETURN trade.deployment_json(d);
EXCEPTION WHEN OTHERS THEN
    IF jsonb_typeof(patch) = 'object' AND patch ? 'trade_password' THEN
        -- the password may be a literal of the statement: keep the statement out of the log
        GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL,
                                e_hint = PG_EXCEPTION_HINT, e_column = COLUMN_NAME;
        PERFORM trade.quiet_report('ERROR', e_state, e_msg, e_detail, e_hint, e_column);
    END IF;
    RAISE;
END
$$;

CREATE OR REPLACE FUNCTION quant.stop_deployment(id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.stop_deployment', true);
    old_json jsonb := trade.deployment_json(d);
BEGIN
    IF d.stopped_at IS NOT NULL THEN
        RETURN old_json;  -- stopping twice changes nothing
    END IF;
    UPDATE trade.deployment t
       SET enabled = false, stopped_at = now(), updated_at = now(),
           config = t.config || '{"enabled": false}'
     WHERE t.deployment_id = d.deployment_id
    RETURNING * INTO d;
    PERFORM trade.write_audit('deployment', d.deployment_id, 'stop', old_json, trade.deployment_json(d));
    RETURN trade.deployment_json(d);
END
$$;

DROP POLICY signal_own ON trade.signal;

CREATE POLICY signal_own ON trade.signal
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

DROP POLICY log_own ON trade.log;

CREATE POLICY log_own ON trade.log
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

CREATE OR REPLACE VIEW quant.deployments WITH (security_invoker = true) AS
SELECT d.deployment_id, d.user_id, s.name AS strategy_name, d.strategy_id, d.strategy_version,
       s.current_version AS strategy_current_version, d.broker, d.ticker, d.market, d.qty, d.paper, d.schedule,
       CASE WHEN d.stopped_at IS NOT NULL THEN 'stopped' WHEN d.enabled THEN 'active' ELSE 'disabled' END AS status,
       g.bar_ts AS last_signal_bar, g.signal AS last_signal, g.created_at AS last_signal_at,
       d.created_at, d.updated_at, d.stopped_at
FROM trade.deployment d
JOIN bt.strategy s ON s.strategy_id = d.strategy_id
-- the columns trade.signal had when this view was released (what its * expanded to then)
LEFT JOIN LATERAL (SELECT x.signal_id, x.deployment_id, x.user_id, x.bar_ts, x.signal, x.evaluation, x.created_at,
                          x.strategy_version, x.ticker, x.status, x.processed_at
                     FROM trade.signal x WHERE x.deployment_id = d.deployment_id
                   ORDER BY x.bar_ts DESC LIMIT 1) g ON true
WHERE d.user_id = quant.current_user_id();

CREATE OR REPLACE VIEW quant.strategies WITH (security_invoker = true) AS
SELECT s.strategy_id, s.user_id, s.name, s.ticker, s.current_version AS version, v.conjunction, v.trading_period,
       jsonb_array_length(v.config->'substrategies') AS substrategies,
       r.run_at AS last_run_at, (r.metrics->>'sharpe_ratio')::double precision AS sharpe_ratio,
       (r.metrics->>'total_return')::double precision AS total_return,
       (r.metrics->>'max_drawdown')::double precision AS max_drawdown,
       s.created_at, s.updated_at
FROM bt.strategy s
JOIN bt.strategy_version v ON v.strategy_id = s.strategy_id AND v.version = s.current_version
LEFT JOIN LATERAL (SELECT * FROM bt.result x WHERE x.strategy_id = s.strategy_id
                   ORDER BY x.run_at DESC, x.result_id DESC LIMIT 1) r ON true
WHERE s.deleted_at IS NULL AND s.user_id = quant.current_user_id();

CREATE OR REPLACE FUNCTION quant.run_deployment(id uuid) RETURNS jsonb
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

-- trade.run_schedule_for: its final text is in the section "wp-feed" below

CREATE OR REPLACE FUNCTION quant.deployment_signals(id uuid) RETURNS SETOF jsonb
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

CREATE OR REPLACE FUNCTION quant.deployment_trades(id uuid) RETURNS SETOF jsonb
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

CREATE OR REPLACE FUNCTION paper.open_account(account text, user_id text DEFAULT NULL, starting_cash numeric DEFAULT NULL,
                                   slippage_bps numeric DEFAULT NULL, fee_bps numeric DEFAULT NULL)
RETURNS paper.account
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a paper.account;
    cash0 numeric := coalesce(starting_cash,
                              nullif(pg_catalog.current_setting('quant.paper_starting_cash', true), '')::numeric,
                              100000);
BEGIN
    IF account IS NULL OR account = '' THEN
        RAISE EXCEPTION 'paper.open_account: account must not be empty' USING ERRCODE = '22004', COLUMN = 'account';
    END IF;
    INSERT INTO paper.account (account, user_id, cash, starting_cash, slippage_bps, fee_bps)
    VALUES (account, user_id, cash0, cash0, coalesce(slippage_bps, 1), coalesce(fee_bps, 1))
    ON CONFLICT DO NOTHING;
    SELECT * INTO a FROM paper.account x WHERE x.account = open_account.account;
    RETURN a;
END
$$;

CREATE OR REPLACE FUNCTION paper.place_order(account text, client_order_id text, symbol text, side text, qty numeric,
                                  order_type text DEFAULT 'MARKET', limit_price numeric DEFAULT NULL)
RETURNS paper."order"
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a paper.account;
    o paper."order";
    px double precision;
    fill_px numeric;
    fee numeric;
    delta numeric;
    p paper.position;
    pa record;
    why text;
BEGIN
    IF client_order_id IS NULL OR client_order_id = '' THEN
        RAISE EXCEPTION 'paper.place_order: client_order_id must not be empty' USING ERRCODE = '22004';
    END IF;
    SELECT * INTO a FROM paper.account x WHERE x.account = place_order.account FOR UPDATE;
    IF a.account IS NULL THEN
        RAISE EXCEPTION 'paper.place_order: account % does not exist', account
            USING ERRCODE = 'P0002', HINT = 'paper.open_account(account) opens it';
    END IF;
    -- the idempotency key: the first order with this client id, whatever the arguments now
    SELECT * INTO o FROM paper."order" x WHERE x.client_order_id = place_order.client_order_id;
    IF o.order_id IS NOT NULL THEN
        RETURN o;
    END IF;
    IF side IS NULL OR side NOT IN ('BUY', 'SELL') THEN
        why := format('side must be BUY or SELL, got %s', coalesce(side, 'NULL'));
    ELSIF qty IS NULL OR NOT qty > 0 THEN
        why := format('qty must be positive, got %s', coalesce(qty::text, 'NULL'));
    ELSIF coalesce(order_type, '') <> 'MARKET' THEN
        why := format('order type %s is not supported (MARKET only)', coalesce(order_type, 'NULL'));
    ELSE
        px := paper.price_of(symbol);
        IF px IS NULL OR NOT px > 0 OR px = 'NaN'::double precision OR px = 'Infinity'::double precision THEN
            why := format('no market price for symbol %s', symbol);
        END IF;
    END IF;
    IF why IS NULL THEN
        fill_px := round(px::numeric * (1 + CASE WHEN side = 'BUY' THEN 1 ELSE -1 END * a.slippage_bps / 10000), 8);
        fee := round(fill_px * qty * a.fee_bps / 10000, 8);
        IF side = 'BUY' AND fill_px * qty + fee > a.cash THEN
            why := format('insufficient cash: %s needed, %s available', round(fill_px * qty + fee, 2), round(a.cash, 2));
        END IF;
    END IF;
    IF why IS NOT NULL THEN
        INSERT INTO paper."order" (account, client_order_id, symbol, side, qty, order_type, limit_price, status, reason)
        VALUES (account, client_order_id, coalesce(symbol, ''), CASE WHEN side IN ('BUY', 'SELL') THEN side ELSE 'BUY' END,
                coalesce(qty, 0), coalesce(order_type, ''), limit_price, 'REJECTED', why)
        RETURNING * INTO o;
        RETURN o;
    END IF;
    delta := CASE WHEN side = 'BUY' THEN qty ELSE -qty END;
    INSERT INTO paper."order" (account, client_order_id, symbol, side, qty, order_type, limit_price, status,
                               filled_qty, fill_price, fee)
    VALUES (account, client_order_id, symbol, side, qty, order_type, limit_price, 'FILLED', qty, fill_px, fee)
    RETURNING * INTO o;
    INSERT INTO paper.fill (order_id, account, symbol, side, qty, price, fee)
    VALUES (o.order_id, account, symbol, side, qty, fill_px, fee);
    UPDATE paper.account x SET cash = x.cash - delta * fill_px - fee, updated_at = clock_timestamp()
     WHERE x.account = place_order.account;
    SELECT * INTO p FROM paper.position x WHERE x.account = place_order.account AND x.symbol = place_order.symbol FOR UPDATE;
    pa := quant.position_after(p.qty, p.avg_price, delta, fill_px);
    INSERT INTO paper.position AS x (account, symbol, qty, avg_price, realized_pnl)
    VALUES (account, symbol, pa.new_qty, pa.new_avg_price, pa.realized)
    ON CONFLICT ON CONSTRAINT position_pkey DO UPDATE
        SET qty = EXCLUDED.qty, avg_price = EXCLUDED.avg_price, realized_pnl = x.realized_pnl + EXCLUDED.realized_pnl,
            updated_at = clock_timestamp();
    RETURN o;
END
$$;

CREATE OR REPLACE FUNCTION paper.get_order(client_order_id text) RETURNS paper."order"
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM paper."order" x WHERE x.client_order_id = get_order.client_order_id;
$$;

CREATE OR REPLACE FUNCTION paper.get_orders(account text) RETURNS SETOF paper."order"
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM paper."order" x WHERE x.account = get_orders.account ORDER BY x.created_at, x.order_id;
$$;

CREATE OR REPLACE FUNCTION paper.get_position(account text, symbol text) RETURNS paper.position
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM paper.position x WHERE x.account = get_position.account AND x.symbol = get_position.symbol;
$$;

CREATE OR REPLACE FUNCTION paper.get_positions(account text) RETURNS SETOF paper.position
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM paper.position x WHERE x.account = get_positions.account ORDER BY x.symbol;
END
$$;
COMMENT ON FUNCTION paper.get_positions(text) IS 'Every position row of a paper account (flat ones have qty 0): the complete report, so a symbol missing here is flat.';

CREATE OR REPLACE FUNCTION paper.get_account(account text) RETURNS paper.account
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a paper.account;
BEGIN
    SELECT * INTO a FROM paper.account x WHERE x.account = get_account.account;
    RETURN a;
END
$$;
COMMENT ON FUNCTION paper.get_account(text) IS 'A paper account: cash, starting cash, slippage_bps, fee_bps (all columns NULL when it does not exist).';

DROP POLICY order_own ON trade."order";

CREATE POLICY order_own ON trade."order"
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

-- trade.worker_claim: its final text is in the section "main: the worker trades a deployment off paper only when the live gate opened it" below

CREATE OR REPLACE FUNCTION trade.worker_context(sid uuid, for_leg text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g trade.signal;
    d trade.deployment;
    product text;  -- the pinned version's data ticker
    px record;
    since timestamptz;
BEGIN
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = sid;
    IF g.signal_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = g.deployment_id;
    SELECT v.ticker INTO product FROM bt.strategy_version v
     WHERE v.strategy_id = d.strategy_id AND v.version = d.strategy_version;
    -- the limits are priced on what the broker trades, never on the strategy's data ticker
    px := trade.symbol_price(d.broker, d.ticker);
    -- repeated rejects count since the last success, or since the deployment was last changed
    -- (re-enabling it is a change): the pause ends when a person acts
    SELECT max(l.ts) INTO since FROM trade.log l WHERE l.deployment_id = d.deployment_id AND l.success;
    since := greatest(coalesce(since, '-infinity'), d.updated_at);
    RETURN jsonb_build_object(
        'signal_id', g.signal_id, 'deployment_id', d.deployment_id, 'user_id', d.user_id, 'signal', g.signal,
        'bar_ts', g.bar_ts, 'data_ticker', product, 'status', g.status, 'claimed_by', g.claimed_by,
        'symbol', d.ticker, 'broker', d.broker, 'qty', d.qty,
        'enabled', coalesce(d.enabled AND d.stopped_at IS NULL, false),
        'halted', coalesce((SELECT h.halted FROM trade.trading_halt h), true),
        'breaker', trade.breaker_open(d),
        'risk_limits', d.risk_limits,
        'price', px.price, 'price_ts', px.price_ts, 'price_symbol', CASE WHEN px.price IS NOT NULL THEN d.ticker END,
        'trades_today', (SELECT count(*) FROM trade."order" o
                         WHERE o.deployment_id = d.deployment_id AND o.status <> 'REJECTED'
                           AND o.created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'),
        'orders_last_minute', (SELECT count(*) FROM trade."order" o
                               WHERE o.deployment_id = d.deployment_id AND o.created_at > now() - interval '1 minute'),
        'consecutive_rejects', (SELECT count(*) FROM trade.log l
                                WHERE l.deployment_id = d.deployment_id AND l.action = 'REJECTED'
                                  AND l.signal_id IS NOT NULL AND l.ts > since),
        'leg_acted', EXISTS (SELECT 1 FROM trade."order" o WHERE o.signal_id = g.signal_id AND o.leg = for_leg),
        'signal_orders', (SELECT count(*) FROM trade."order" o WHERE o.signal_id = g.signal_id),
        'open_orders', (SELECT coalesce(jsonb_agg(o.client_order_id ORDER BY o.created_at), '[]'::jsonb)
                        FROM trade."order" o
                        WHERE o.deployment_id = d.deployment_id AND o.status IN ('NEW', 'SENT', 'UNKNOWN')));
END
$$;
COMMENT ON FUNCTION trade.worker_context(uuid, text) IS
  'quant-worker: what it needs to know about a signal before an order (the database''s half of the risk facts): the signal, its deployment (enabled = not disabled and not stopped, halted = all trading halted by an administrator, breaker = why an open breaker stops entries or NULL, qty, risk_limits, broker symbol), the price of the broker symbol (trade.symbol_price: price, price_ts, and price_symbol = the symbol it is of; the strategy''s data ticker never prices an order), trades today (UTC, not rejected), orders in the last minute, REJECTED rows since the last success or change, whether the leg was already acted on, and the deployment''s open orders.';

CREATE OR REPLACE FUNCTION trade.worker_insert_intent(sid uuid, leg text, client_order_id text, side text, qty numeric,
                                           reduce_only boolean, worker text) RETURNS trade."order"
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g trade.signal;
    d trade.deployment;
    o trade."order";
BEGIN
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = sid;
    SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = g.deployment_id;
    INSERT INTO trade."order" (client_order_id, deployment_id, signal_id, user_id, leg, side, qty, reduce_only, symbol,
                               broker, worker_id)
    VALUES (client_order_id, d.deployment_id, g.signal_id, d.user_id, leg, side, qty, reduce_only, d.ticker, d.broker,
            worker)
    RETURNING * INTO o;  -- 23505 when this client order id (or leg of the signal) exists: never twice
    RETURN o;
END
$$;

CREATE OR REPLACE FUNCTION trade.worker_log(sid uuid, action text, reason text, message text, qty numeric DEFAULT NULL,
                                 finish text DEFAULT NULL) RETURNS trade.log
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g trade.signal;
    owner text;
    l trade.log;
BEGIN
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = sid;
    SELECT t.user_id INTO owner FROM trade.deployment t WHERE t.deployment_id = g.deployment_id;
    INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, success, message, reason, bar_ts)
    VALUES (g.deployment_id, g.signal_id, owner, g.signal, action, qty, action <> 'REJECTED', message, reason, g.bar_ts)
    RETURNING * INTO l;
    IF finish IS NOT NULL THEN
        UPDATE trade.signal s SET status = finish, processed_at = now() WHERE s.signal_id = sid;
    END IF;
    RETURN l;
END
$$;

CREATE OR REPLACE FUNCTION trade.worker_finish(sid uuid, finish text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE trade.signal s SET status = finish, processed_at = now() WHERE s.signal_id = sid;
$$;

CREATE FUNCTION trade.worker_release(sid uuid) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH u AS (UPDATE trade.signal s SET status = 'PENDING' WHERE s.signal_id = sid AND s.status = 'PROCESSING' RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u);
$$;

COMMENT ON FUNCTION trade.worker_release(uuid) IS
  'quant-worker, after reconciling: hands a PROCESSING signal back (PENDING) so that it is finished now rather than after the lease; false when it was not PROCESSING.';

CREATE FUNCTION trade.worker_deployment_open_orders(deployment_id uuid) RETURNS SETOF trade."order"
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.* FROM trade."order" o
    WHERE o.deployment_id = worker_deployment_open_orders.deployment_id AND o.status IN ('NEW', 'SENT')
    ORDER BY o.created_at, o.order_id;
$$;

COMMENT ON FUNCTION trade.worker_deployment_open_orders(uuid) IS
  'quant-worker: the orders of one deployment left NEW or SENT (a crash, a lost connection), resolved before its next signal.';

CREATE OR REPLACE FUNCTION trade.worker_record_outcome(coid text, status text, broker_order_id text, filled_qty numeric,
                                            fill_price numeric, fee numeric, message text, finish text DEFAULT NULL)
RETURNS trade."order"
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o trade."order";
    g trade.signal;
    p trade.position;
    pa record;
    delta numeric;
    outcome refdata.order_status;
    was_qty numeric;     -- what was booked of this order before this answer
    was_price numeric;
    was_fee numeric;
    part_qty numeric;    -- the part this answer adds (cumulative quantities: the broker's cumExecQty)
    part_price numeric;
    part_fee numeric;
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
        was_qty := coalesce(o.filled_qty, 0);
        was_price := o.avg_fill_price;
        was_fee := coalesce(o.fee, 0);
        -- filled_qty, fill_price and fee are cumulative (all the order's fills so far); a report
        -- that says less than was booked (an older answer) books nothing and changes nothing
        part_qty := greatest(coalesce(filled_qty, 0) - was_qty, 0);
        UPDATE trade."order" x
           SET status = worker_record_outcome.status,
               broker_order_id = coalesce(worker_record_outcome.broker_order_id, x.broker_order_id),
               filled_qty = was_qty + part_qty,
               avg_fill_price = CASE WHEN part_qty > 0 THEN worker_record_outcome.fill_price ELSE x.avg_fill_price END,
               fee = CASE WHEN part_qty > 0 THEN greatest(coalesce(worker_record_outcome.fee, 0), was_fee) ELSE was_fee END,
               sent_at = coalesce(x.sent_at, clock_timestamp()),
               resolved_at = CASE WHEN outcome.terminal THEN clock_timestamp() END,
               reason = message
         WHERE x.order_id = o.order_id
        RETURNING * INTO o;
        IF part_qty > 0 THEN
            -- this part's own price and fee: what the cumulative average and fee say beyond the
            -- parts booked before
            part_price := CASE WHEN was_qty > 0 AND was_price IS NOT NULL
                               THEN (fill_price * (was_qty + part_qty) - was_price * was_qty) / part_qty
                               ELSE fill_price END;
            IF part_price IS NULL OR part_price <= 0 THEN
                part_price := fill_price;  -- a rounded average can say less than the parts: keep the average
            END IF;
            part_fee := greatest(coalesce(fee, 0) - was_fee, 0);
            INSERT INTO trade.fill (order_id, deployment_id, user_id, client_order_id, side, qty, price, fee)
            VALUES (o.order_id, o.deployment_id, o.user_id, o.client_order_id, o.side, part_qty, part_price, part_fee);
            delta := CASE WHEN o.side = 'BUY' THEN part_qty ELSE -part_qty END;
            SELECT * INTO p FROM trade.position x WHERE x.deployment_id = o.deployment_id FOR UPDATE;
            pa := quant.position_after(p.qty, p.avg_price, delta, part_price);
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
            VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, o.side, part_qty, part_price, o.client_order_id,
                    true, CASE WHEN status = 'FILLED' AND was_qty = 0 THEN message
                               ELSE message || ' (part ' || part_qty || ' @ ' || round(part_price, 8) || ')' END,
                    g.bar_ts);
        END IF;
        IF status IN ('REJECTED', 'CANCELLED') THEN
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, order_id, success,
                                   message, reason, bar_ts)
            VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, 'REJECTED', o.qty - o.filled_qty, o.client_order_id,
                    false, message, CASE status WHEN 'REJECTED' THEN 'broker_rejected' ELSE 'broker_cancelled' END, g.bar_ts);
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
COMMENT ON FUNCTION trade.worker_record_outcome(text, text, text, numeric, numeric, numeric, text, text) IS
  'quant-worker: the broker''s answer for an order, in one transaction: the order''s status (SENT, FILLED, REJECTED, CANCELLED, UNKNOWN) with its cumulative filled qty, average price and fee; whatever was filled beyond what was booked before (a partial fill, at any status) is one more trade.fill with its own price and fee, moves trade.position and writes a BUY/SELL trade.log row (order_id = the client order id); a rejection or cancel writes a REJECTED row (reason broker_rejected / broker_cancelled) for the unfilled rest; optionally the signal''s final status. A terminal outcome is recorded once (a second call changes nothing); an answer that reports less than was booked books nothing.';

CREATE OR REPLACE FUNCTION quant.deployment_orders(id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.deployment_orders', false);
BEGIN
    RETURN QUERY
        SELECT jsonb_build_object('order_id', o.order_id, 'client_order_id', o.client_order_id, 'signal_id', o.signal_id,
                                  'leg', o.leg, 'side', o.side, 'qty', o.qty, 'symbol', o.symbol, 'status', o.status,
                                  'filled_qty', o.filled_qty, 'avg_fill_price', o.avg_fill_price, 'fee', o.fee,
                                  'created_at', o.created_at, 'sent_at', o.sent_at, 'resolved_at', o.resolved_at,
                                  'reason', o.reason)
        FROM trade."order" o WHERE o.deployment_id = d.deployment_id AND o.user_id = d.user_id
        ORDER BY o.created_at DESC, o.order_id DESC;
END
$$;

CREATE OR REPLACE FUNCTION quant.install_sample_deployment() RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    prev_user text := CASE WHEN quant.authenticated() THEN quant.current_user_id() END;
    cfg constant jsonb := '{"name": "demo RSI reversion", "ticker": "TTRC", "trading_period": 252,
        "substrategies": [{"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 30}]}';
    sid uuid;
    did uuid;
    r jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM md.bar b WHERE b.ticker = 'TTRC') THEN
        RETURN jsonb_build_object('outcome', 'SKIPPED', 'message', 'no TTRC bars loaded');
    END IF;
    PERFORM quant.set_user('demo', true);
    sid := (quant.create_strategy(cfg)->>'strategy_id')::uuid;  -- the same parameters return the existing one
    SELECT d.deployment_id INTO did FROM trade.deployment d
    WHERE d.user_id = 'demo' AND d.strategy_id = sid AND d.enabled AND d.stopped_at IS NULL
    ORDER BY d.created_at LIMIT 1;
    IF did IS NULL THEN
        -- paper, and the sample bars end in 2006: the stale-bar check off (allowed for paper only)
        did := (quant.deploy(jsonb_build_object('strategy_id', sid, 'broker', 'PAPER', 'qty', 10,
                                                'schedule', 'daily_close',
                                                'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid;
    END IF;
    r := quant.run_deployment(did);
    PERFORM trade.set_transaction_user(prev_user);
    RETURN jsonb_build_object('user', 'demo', 'strategy_id', sid, 'deployment_id', did, 'run', r);
END
$$;

DROP POLICY fill_own ON trade.fill;

CREATE POLICY fill_own ON trade.fill
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

DROP POLICY position_own ON trade.position;

CREATE POLICY position_own ON trade.position
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

CREATE OR REPLACE FUNCTION quant.deployment_position(id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.deployment_position', false);
    p trade.position;
BEGIN
    SELECT * INTO p FROM trade.position x WHERE x.deployment_id = d.deployment_id AND x.user_id = d.user_id;
    RETURN jsonb_build_object('deployment_id', d.deployment_id, 'symbol', coalesce(p.symbol, d.ticker),
                              'qty', coalesce(p.qty, 0), 'avg_price', p.avg_price,
                              'realized_pnl', coalesce(p.realized_pnl, 0), 'updated_at', p.updated_at);
END
$$;

-- quant.check_stop_losses: its final text is in the section "wp-safe" below

-- sql/grants.sql, whole
-- start from nothing: no table grants, no SECURITY DEFINER function for PUBLIC
REVOKE ALL ON ALL TABLES IN SCHEMA quant, md, refdata, bt, trade, paper FROM PUBLIC, quant_app, quant_worker, quant_admin;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA quant, md, refdata, bt, trade, paper FROM quant_app, quant_worker, quant_admin;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
             JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
             JOIN pg_catalog.pg_extension e ON d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = e.oid
             WHERE e.extname = 'quant' AND d.deptype = 'e' AND p.prosecdef
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;

-- PUBLIC: shared data
GRANT SELECT ON md.bar, md.bar_version, refdata.indicator, refdata.signal_func, refdata.market,
    refdata.broker, refdata.schedule, refdata.signal_status, refdata.order_status TO PUBLIC;

-- quant_app (the REST layer) and quant_admin: logging in, and the API on the current user's rows
GRANT EXECUTE ON FUNCTION
    quant.login_api_key(text),
    quant.create_strategy(jsonb), quant.update_strategy(uuid, jsonb), quant.list_strategies(), quant.get_strategy(uuid),
    quant.strategy_versions(uuid), quant.delete_strategy(uuid), quant.evaluate(uuid),
    quant.store_result(uuid, jsonb), quant.list_results(uuid),
    quant.set_ticker_mapping(text, text, text, text), quant.list_ticker_mappings(),
    quant.set_trade_password(text, text),
    quant.deploy(jsonb), quant.list_deployments(boolean), quant.get_deployment(uuid), quant.update_deployment(uuid, jsonb),
    quant.stop_deployment(uuid), quant.run_deployment(uuid), quant.deployment_signals(uuid), quant.deployment_trades(uuid),
    quant.deployment_orders(uuid), quant.deployment_position(uuid), quant.audit_trail(uuid),
    quant.revoke_api_key(uuid), quant.list_api_keys(boolean), trade.api_key_create_own(text)
  TO quant_app, quant_admin;
GRANT SELECT ON quant.deployments, quant.strategies TO quant_app, quant_admin;
-- the REST layer's former pipeline, until every quant-http calls quant.login_api_key
REVOKE ALL ON FUNCTION quant.authenticate_api_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.authenticate_api_key(text) TO quant_app;

-- quant_admin only: keys for any user (quant.create_api_key calls it for administrators)
GRANT EXECUTE ON FUNCTION trade.api_key_create_for(text, text) TO quant_admin;

-- quant_worker: the live loop's executor and its paper broker, nothing else
GRANT EXECUTE ON FUNCTION
    trade.worker_claim(text, double precision, integer), trade.worker_open_orders(text, double precision),
    trade.worker_context(uuid, text), trade.worker_deployment_open_orders(uuid),
    trade.worker_insert_intent(uuid, text, text, text, numeric, boolean, text),
    trade.worker_log(uuid, text, text, text, numeric, text), trade.worker_finish(uuid, text), trade.worker_release(uuid),
    trade.worker_record_outcome(text, text, text, numeric, numeric, numeric, text, text),
    paper.open_account(text, text, numeric, numeric, numeric),
    paper.place_order(text, text, text, text, numeric, text, numeric),
    paper.get_order(text), paper.get_orders(text), paper.get_position(text, text), paper.get_positions(text),
    paper.get_account(text)
  TO quant_worker;

-- ==== main: the stop loss values a position at the traded symbol's price ====
-- trade.stop_loss_one: its final text is in the section "wp-int" below

-- ==== main: the worker trades a deployment off paper only when the live gate opened it ====
CREATE OR REPLACE FUNCTION trade.worker_claim(worker text, lease_seconds double precision DEFAULT 60,
                                   max_attempts integer DEFAULT 5) RETURNS trade.signal
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lease constant interval := make_interval(secs => lease_seconds);
    cand record;
    g trade.signal;
    d record;
BEGIN
    IF worker IS NULL OR worker = '' THEN
        RAISE EXCEPTION 'trade.worker_claim: worker must not be empty' USING ERRCODE = '22004';
    END IF;
    FOR cand IN
        SELECT s.signal_id, s.deployment_id FROM trade.signal s
        WHERE s.status = 'PENDING'
           OR (s.status = 'PROCESSING' AND (s.claimed_by = worker OR s.claimed_at IS NULL OR s.claimed_at < now() - lease))
        ORDER BY s.created_at, s.signal_id
        LIMIT 200
    LOOP
        SELECT * INTO g FROM trade.signal s
        WHERE s.signal_id = cand.signal_id
          AND (s.status = 'PENDING'
               OR (s.status = 'PROCESSING' AND (s.claimed_by = worker OR s.claimed_at IS NULL OR s.claimed_at < now() - lease)))
        FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN g.signal_id IS NULL;
        -- one signal of a deployment at a time: its position is read, then changed
        IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended(cand.deployment_id::text, 4242)) THEN
            CONTINUE;
        END IF;
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM trade.signal o
            WHERE o.deployment_id = g.deployment_id AND o.signal_id <> g.signal_id AND o.status = 'PROCESSING'
              AND o.claimed_by IS DISTINCT FROM worker AND o.claimed_at >= now() - lease);
        SELECT t.user_id, t.strategy_version, v.ticker, t.paper, t.live_since INTO d
          FROM trade.deployment t JOIN bt.strategy_version v ON v.strategy_id = t.strategy_id AND v.version = t.strategy_version
         WHERE t.deployment_id = g.deployment_id;
        -- the owner must be the deployment's; what else the row claims is ignored (derived below)
        IF g.user_id IS DISTINCT FROM d.user_id THEN
            UPDATE trade.signal s SET status = 'REJECTED', processed_at = now() WHERE s.signal_id = g.signal_id;
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, success, message, reason, bar_ts)
            VALUES (g.deployment_id, g.signal_id, d.user_id, g.signal, 'REJECTED', false,
                    format('the signal (user %s, ticker %s, version %s) does not match its deployment: refused',
                           g.user_id, g.ticker, g.strategy_version), 'invalid_signal', g.bar_ts);
            CONTINUE;
        END IF;
        -- live only through the gate: a deployment off paper that the gate never opened is never traded
        IF NOT d.paper AND d.live_since IS NULL THEN
            UPDATE trade.signal s SET status = 'REJECTED', processed_at = now() WHERE s.signal_id = g.signal_id;
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, success, message, reason, bar_ts)
            VALUES (g.deployment_id, g.signal_id, d.user_id, g.signal, 'REJECTED', false,
                    'the deployment is not on paper but the live gate never opened it: refused', 'live_gate', g.bar_ts);
            CONTINUE;
        END IF;
        IF g.attempts >= max_attempts THEN
            UPDATE trade.signal s SET status = 'REJECTED', processed_at = now() WHERE s.signal_id = g.signal_id;
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, success, message, reason, bar_ts)
            VALUES (g.deployment_id, g.signal_id, g.user_id, g.signal, 'REJECTED', false,
                    format('gave up on the signal after %s claims (see the worker''s log)', g.attempts), 'error', g.bar_ts);
            CONTINUE;
        END IF;
        UPDATE trade.signal s SET status = 'PROCESSING', claimed_by = worker, claimed_at = now(), attempts = s.attempts + 1
         WHERE s.signal_id = g.signal_id
        RETURNING * INTO g;
        RETURN g;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION trade.worker_claim(text, double precision, integer) IS
  'quant-worker: claims the oldest PENDING signal (or a PROCESSING one whose claim is this worker''s own or older than the lease) with FOR UPDATE SKIP LOCKED, one signal per deployment at a time; sets PROCESSING, claimed_by, claimed_at, attempts + 1. After max_attempts claims it gives up (REJECTED, reason error). A signal whose user is not its deployment''s owner is REJECTED (reason invalid_signal, logged for the deployment''s owner) and never returned, and so is one of a deployment off paper that the live gate never opened (reason live_gate). NULL when there is nothing to do. SECURITY DEFINER (sees every user''s signals).';

-- ==== wp-h10: trade.run_one: the comment on ON CONFLICT names the file that defines the key ====
-- trade.run_one: its final text is in the section "main (merge)" below

-- ==== wp-u1: people's logins for the web UI (trade.person, trade.session, quant.login_person, quant.login_session, quant.logout_session, quant.set_person_password, quant.whoami) ====
-- People's logins (the web UI): a user name and password, checked against an Argon2id hash
-- (libsodium's crypto_pwhash_str, the same C functions as the trade password), and the sessions
-- a successful login opens. The REST layer (quant-http) keeps a session's token in an HttpOnly
-- SameSite=Strict cookie and logs each request in with quant.login_session(token), exactly as an
-- API key does with quant.login_api_key: the session's user becomes the current quant user for
-- the request's transaction. API keys stay for scripts.
--
-- A token is "qs_" + its session_id (32 hex digits) + "_" + 32 random bytes in base64url (79
-- characters), returned once by quant.login_person; the table keeps only its HMAC-SHA-256 with
-- the installation's pepper (TRADE/api_key.sql). A session ends at expires_at (12 hours after the
-- login) or at logout (revoked_at); rows are never deleted.
--
-- Lockout: the trade password's rule (TRADE/live_gate.sql): trade.live_gate_max_failures()
-- wrong passwords in a row (failures after the last success or reset) lock the login for
-- trade.live_gate_lockout(); every attempt while locked is refused. A failed login is not an
-- ERROR (quant.login_person returns {"ok": false, ...}), so its failure row commits with the call.
--
-- Creating a person's login and resetting a password is an administrator's operation
-- (quant.set_person_password: a superuser or a member of quant_admin).

CREATE TABLE trade.person (
    user_id        text PRIMARY KEY CHECK (user_id ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    password_hash  text NOT NULL,                              -- Argon2id, crypto_pwhash_str format
    reset_at       timestamptz NOT NULL DEFAULT clock_timestamp(), -- failures before this do not count
    created_at     timestamptz NOT NULL DEFAULT now(),
    db_role        text NOT NULL DEFAULT session_user           -- who set the password last
);
COMMENT ON TABLE trade.person IS 'People who log in to the web UI: a quant user name and the Argon2id hash of the password (never the password). No grants: reached through quant.set_person_password and quant.login_person.';
ALTER TABLE trade.person ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.person FORCE ROW LEVEL SECURITY;
REVOKE ALL ON trade.person FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('trade.person', '');

CREATE TABLE trade.person_login_failure (
    user_id  text NOT NULL,
    at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX person_login_failure_idx ON trade.person_login_failure (user_id, at);
COMMENT ON TABLE trade.person_login_failure IS 'Every wrong password of a person''s login; the lockout counts those after trade.person.reset_at.';
ALTER TABLE trade.person_login_failure ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.person_login_failure FORCE ROW LEVEL SECURITY;
REVOKE ALL ON trade.person_login_failure FROM PUBLIC;

CREATE TABLE trade.session (
    session_id   uuid PRIMARY KEY,
    user_id      text NOT NULL,
    token_hash   bytea NOT NULL CHECK (length(token_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX session_user_idx ON trade.session (user_id, created_at);
COMMENT ON TABLE trade.session IS 'Web UI sessions: only the HMAC-SHA-256 of the token (the pepper of TRADE/api_key.sql). A session is valid until expires_at unless revoked_at (logout).';
ALTER TABLE trade.session ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.session FORCE ROW LEVEL SECURITY;
REVOKE ALL ON trade.session FROM PUBLIC;

CREATE FUNCTION trade.session_lifetime() RETURNS interval LANGUAGE sql IMMUTABLE AS $$SELECT interval '12 hours'$$;
COMMENT ON FUNCTION trade.session_lifetime() IS 'How long a web UI session lasts after its login.';

-- ---- administration ----
CREATE FUNCTION quant.set_person_password(user_id text, password text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.set_person_password';
BEGIN
    IF user_id IS NULL OR user_id !~ '^[A-Za-z0-9_.@-]{1,64}$' THEN
        RAISE EXCEPTION '%: user_id must be 1 to 64 characters of letters, digits, _ . @ -, got "%"', fn,
                        left(coalesce(user_id, 'NULL'), 80)
            USING ERRCODE = '22023', COLUMN = 'user_id', HINT = 'a quant user name, as quant.set_user takes';
    END IF;
    IF password IS NULL OR length(password) < 8 OR length(password) > 200 THEN
        RAISE EXCEPTION '%: password must be 8 to 200 characters', fn
            USING ERRCODE = '22023', COLUMN = 'password';
    END IF;
    INSERT INTO trade.person AS p (user_id, password_hash)
    VALUES (set_person_password.user_id, trade.trade_password_hash(password))
    ON CONFLICT ON CONSTRAINT person_pkey
    DO UPDATE SET password_hash = EXCLUDED.password_hash, reset_at = clock_timestamp(), db_role = session_user;
    -- a new password ends the person's open sessions
    UPDATE trade.session s SET revoked_at = now()
     WHERE s.user_id = set_person_password.user_id AND s.revoked_at IS NULL;
    RETURN jsonb_build_object('user', set_person_password.user_id, 'password_set_at', clock_timestamp());
END
$$;
COMMENT ON FUNCTION quant.set_person_password(text, text) IS
  'Creates the web UI login of user_id or resets its password (8 to 200 characters; stored as an Argon2id hash only); clears the lockout and ends the person''s open sessions. EXECUTE for quant_admin (and superusers) only: the privilege is the check.';

-- ---- logging in ----
CREATE FUNCTION quant.login_person(user_id text, password text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p trade.person;
    failures integer;
    last_failure timestamptz;
    sid uuid := quant.uuid_generate_v7();
    token text;
    expires timestamptz := now() + trade.session_lifetime();
BEGIN
    PERFORM trade.set_transaction_user(NULL);
    SELECT * INTO p FROM trade.person t WHERE t.user_id = login_person.user_id FOR UPDATE;
    IF p.user_id IS NULL OR password IS NULL THEN
        PERFORM trade.trade_password_hash(coalesce(password, ''));  -- about the time of a check
        RETURN jsonb_build_object('ok', false, 'reason', 'wrong');
    END IF;
    SELECT count(*), max(f.at) INTO failures, last_failure
      FROM trade.person_login_failure f WHERE f.user_id = p.user_id AND f.at > p.reset_at;
    IF failures >= trade.live_gate_max_failures()
       AND last_failure + trade.live_gate_lockout() > clock_timestamp() THEN
        RETURN jsonb_build_object('ok', false, 'reason', 'locked',
                                  'locked_until', last_failure + trade.live_gate_lockout());
    END IF;
    IF NOT trade.trade_password_verify(p.password_hash, password) THEN
        INSERT INTO trade.person_login_failure (user_id) VALUES (p.user_id);
        RETURN jsonb_build_object('ok', false, 'reason', 'wrong');
    END IF;
    UPDATE trade.person t SET reset_at = clock_timestamp() WHERE t.user_id = p.user_id;
    token := 'qs_' || replace(sid::text, '-', '') || '_'
             || rtrim(translate(encode(trade.random_bytes(32), 'base64'), E'+/\n', '-_'), '=');
    INSERT INTO trade.session (session_id, user_id, token_hash, expires_at)
    VALUES (sid, p.user_id, trade.hmac_sha256(trade.api_key_pepper(true), token), expires);
    RETURN jsonb_build_object('ok', true, 'user', p.user_id, 'token', token, 'expires_at', expires,
                              'max_age_s', extract(epoch FROM trade.session_lifetime())::bigint);
END
$$;
COMMENT ON FUNCTION quant.login_person(text, text) IS
  'For the REST layer: checks a person''s password and opens a session: {"ok": true, user, token, expires_at, max_age_s}; otherwise {"ok": false, reason: wrong | locked[, locked_until]} (an unknown user is "wrong" too), never an ERROR, so a failure row commits. The trade password''s lockout rule. EXECUTE for quant_app only.';

CREATE FUNCTION trade.session_of(token text) RETURNS trade.session
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id uuid := trade.token_id(token, 'qs_');
    s trade.session;
    pepper bytea;
BEGIN
    IF id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO s FROM trade.session t WHERE t.session_id = id;
    pepper := trade.api_key_pepper(false);
    IF pepper IS NULL OR s.session_id IS NULL
       OR NOT trade.bytea_equal_ct(trade.hmac_sha256(pepper, token), s.token_hash) THEN
        RETURN NULL;
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION trade.session_of(text) IS 'Internal: the session of a token (its keyed hash compared in constant time), or NULL.';
REVOKE ALL ON FUNCTION trade.session_of(text) FROM PUBLIC;

CREATE FUNCTION quant.login_session(token text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s trade.session;
BEGIN
    PERFORM trade.set_transaction_user(NULL);  -- a failed login leaves no user, whoever was before
    s := trade.session_of(token);
    IF s.session_id IS NULL OR s.revoked_at IS NOT NULL OR s.expires_at <= now() THEN
        RETURN NULL;
    END IF;
    RETURN trade.set_transaction_user(s.user_id);
END
$$;
COMMENT ON FUNCTION quant.login_session(text) IS
  'For the REST layer, first in each request''s transaction with a session cookie: a valid, unexpired session token makes its user the current quant user until the transaction ends and returns the user; anything else returns NULL (no ERROR) and leaves no current user. EXECUTE for quant_app only.';

CREATE FUNCTION quant.logout_session(token text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s trade.session := trade.session_of(token);
BEGIN
    IF s.session_id IS NULL OR s.revoked_at IS NOT NULL THEN
        RETURN false;
    END IF;
    UPDATE trade.session t SET revoked_at = now() WHERE t.session_id = s.session_id;
    RETURN true;
END
$$;
COMMENT ON FUNCTION quant.logout_session(text) IS
  'Ends the session of a token (logout); false when it was unknown or already ended. EXECUTE for quant_app only.';

CREATE FUNCTION quant.whoami() RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('user', quant.current_user_id());
$$;
COMMENT ON FUNCTION quant.whoami() IS 'The current quant user: {"user": name} (28000 when there is none).';
REVOKE ALL ON FUNCTION quant.set_person_password(text, text), quant.login_person(text, text),
    quant.login_session(text), quant.logout_session(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.login_person(text, text), quant.login_session(text), quant.logout_session(text)
  TO quant_app;
GRANT EXECUTE ON FUNCTION quant.set_person_password(text, text) TO quant_admin;
-- as grants.sql leaves the SECURITY INVOKER ones (its REVOKE ... ON ALL FUNCTIONS makes their ACL explicit)
REVOKE ALL ON FUNCTION quant.whoami(), trade.session_lifetime() FROM quant_app, quant_worker, quant_admin;

-- ==== wp-b2: broker credentials (secretbox, key file), BYBIT deployments need them ====
ALTER TABLE trade.audit DROP CONSTRAINT audit_entity_check;
ALTER TABLE trade.audit ADD CONSTRAINT audit_entity_check
    CHECK (entity IN ('strategy', 'deployment', 'live_gate', 'broker_credential'));
-- Broker credentials (issue 12 part 2): one API key and secret per user, broker and environment
-- (BYBIT: mainnet, testnet, demo). The secret is stored only as libsodium secretbox ciphertext +
-- nonce under the key in the file named by the setting quant.credential_key_file (outside the
-- database: a dump alone never reveals a secret), with a keyed fingerprint to tell keys apart.
-- It is never logged (errors of the setter never carry the statement), never returned (only
-- the fingerprint), rotatable (setting it again replaces it), and opened only by quant-worker
-- just before use (it reads the same key file). The threat model: sql/README.md, "Broker
-- credentials".
--
-- A BYBIT deployment needs the credentials of its environment (paper = true trades on Bybit's
-- demo account, paper = false on mainnet): deploying, enabling or switching one without them is
-- refused (trigger below).
CREATE TABLE trade.broker_credential (
    user_id      text NOT NULL,
    broker       text NOT NULL REFERENCES refdata.broker (broker),
    environment  text NOT NULL CHECK (environment IN ('mainnet', 'testnet', 'demo')),
    api_key      text NOT NULL CHECK (api_key ~ '^[A-Za-z0-9_-]{1,128}$'),
    nonce        bytea NOT NULL CHECK (length(nonce) = 24),
    ciphertext   bytea NOT NULL,
    fingerprint  text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{16}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    rotated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, broker, environment)
);
COMMENT ON TABLE trade.broker_credential IS 'Broker API credentials per user, broker and environment: the secret only as secretbox ciphertext under the key file of quant.credential_key_file. No grants: reached through quant.set_broker_credential, quant.list_broker_credentials, quant.delete_broker_credential and trade.worker_credential.';
COMMENT ON COLUMN trade.broker_credential.environment IS 'mainnet, testnet or demo (a Bybit key works on its own environment only)';
COMMENT ON COLUMN trade.broker_credential.ciphertext IS 'crypto_secretbox_easy of the secret bound to (user, broker, environment, api_key); opens only with the key file';
COMMENT ON COLUMN trade.broker_credential.fingerprint IS '16 hex characters of BLAKE2b(api_key, secret) keyed with the key file: tells keys apart, reveals nothing';
ALTER TABLE trade.broker_credential ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.broker_credential FORCE ROW LEVEL SECURITY;
CREATE POLICY broker_credential_own ON trade.broker_credential
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
REVOKE ALL ON trade.broker_credential FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('trade.broker_credential', '');

CREATE FUNCTION trade.credential_seal(user_id text, broker text, environment text, api_key text, api_secret text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'quant_credential_seal'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION trade.credential_seal(text, text, text, text, text) IS 'Internal: nonce (24 bytes) || secretbox ciphertext of the secret bound to its row, under the key of quant.credential_key_file.';
CREATE FUNCTION trade.credential_fingerprint(api_key text, api_secret text) RETURNS text
AS 'MODULE_PATHNAME', 'quant_credential_fingerprint'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION trade.credential_fingerprint(text, text) IS 'Internal: 16 hex characters of BLAKE2b(api_key "\n" secret) keyed with the credential key.';
REVOKE ALL ON FUNCTION trade.credential_seal(text, text, text, text, text), trade.credential_fingerprint(text, text) FROM PUBLIC;

-- The environment a deployment trades on.
CREATE FUNCTION trade.broker_environment(broker text, paper boolean) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN broker = 'PAPER' THEN NULL WHEN paper THEN 'demo' ELSE 'mainnet' END;
$$;
COMMENT ON FUNCTION trade.broker_environment(text, boolean) IS 'The broker environment of a deployment: paper = true trades on the demo account (BYBIT: api-demo.bybit.com, mainnet prices, simulated funds), paper = false on mainnet; NULL for PAPER.';

CREATE FUNCTION quant.set_broker_credential(broker text, environment text, api_key text, api_secret text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.set_broker_credential';
    me text;
    b text := upper(broker);
    sealed bytea;
    fp text;
    old_fp text;
    problem text;
    field text;
    hint text;
BEGIN
    me := quant.current_user_id();
    -- every refusal goes through quiet_report: the statement holds the secret as a literal
    IF broker IS NULL OR b NOT IN ('BYBIT', 'FUTU') THEN
        problem := 'broker: credentials are for BYBIT or FUTU, got ' || coalesce(broker, 'NULL');
        field := 'broker';
        hint := 'BYBIT, FUTU (PAPER needs none)';
    ELSIF b = 'BYBIT' AND (environment IS NULL OR environment NOT IN ('mainnet', 'testnet', 'demo')) THEN
        problem := 'environment: must be mainnet, testnet or demo, got ' || coalesce(environment, 'NULL');
        field := 'environment';
        hint := 'mainnet, testnet, demo (paper deployments trade on demo)';
    ELSIF b = 'FUTU' AND (environment IS NULL OR environment NOT IN ('real', 'simulate')) THEN
        problem := 'environment: must be real or simulate, got ' || coalesce(environment, 'NULL');
        field := 'environment';
        hint := 'real (paper = false: the trade password unlocks REAL trading), simulate';
    ELSIF b = 'FUTU' AND (api_key IS NULL OR api_key !~ '^([0-9]{1,20}|default)$') THEN
        problem := 'api_key: for FUTU the OpenD account id (accID, digits) or default';
        field := 'api_key';
        hint := 'the accID Trd_GetAccList shows, or default (the first account of the environment and market)';
    ELSIF api_key IS NULL OR api_key !~ '^[A-Za-z0-9_-]{1,128}$' THEN
        problem := 'api_key: must be 1 to 128 characters of A-Z a-z 0-9 _ -';
        field := 'api_key';
        hint := 'the API key Bybit shows (not the secret)';
    ELSIF api_secret IS NULL OR length(api_secret) < 1 OR length(api_secret) > 256 OR api_secret ~ '[[:space:][:cntrl:]]' THEN
        problem := 'api_secret: must be 1 to 256 characters without spaces or control characters';
        field := 'api_secret';
        hint := 'the API secret Bybit showed once when the key was made';
    END IF;
    IF problem IS NOT NULL THEN
        PERFORM trade.quiet_report('ERROR', CASE WHEN field = 'api_secret' AND api_secret IS NULL THEN '22004' ELSE '22023' END,
                                   fn || ': ' || problem, NULL, hint, field);
    END IF;
    sealed := trade.credential_seal(me, b, environment, api_key, api_secret);
    fp := trade.credential_fingerprint(api_key, api_secret);
    SELECT c.fingerprint INTO old_fp FROM trade.broker_credential c
     WHERE c.user_id = me AND c.broker = b AND c.environment = set_broker_credential.environment;
    INSERT INTO trade.broker_credential AS c (user_id, broker, environment, api_key, nonce, ciphertext, fingerprint)
    VALUES (me, b, environment, api_key, substring(sealed FROM 1 FOR 24), substring(sealed FROM 25), fp)
    ON CONFLICT ON CONSTRAINT broker_credential_pkey DO UPDATE
       SET api_key = excluded.api_key, nonce = excluded.nonce, ciphertext = excluded.ciphertext,
           fingerprint = excluded.fingerprint, rotated_at = now();
    INSERT INTO trade.audit (user_id, entity, action, old_value, new_value, message)
    VALUES (me, 'broker_credential', CASE WHEN old_fp IS NULL THEN 'set' ELSE 'rotated' END,
            CASE WHEN old_fp IS NOT NULL THEN jsonb_build_object('fingerprint', old_fp) END,
            jsonb_build_object('broker', b, 'environment', environment, 'fingerprint', fp),
            b || ' ' || environment || ' credentials ' || CASE WHEN old_fp IS NULL THEN 'set' ELSE 'rotated' END);
    RETURN jsonb_build_object('broker', b, 'environment', environment, 'api_key_hint', trade.api_key_hint(api_key),
                              'fingerprint', fp, 'rotated', old_fp IS NOT NULL);
EXCEPTION WHEN OTHERS THEN
    -- whatever failed below (the key file, a constraint), the statement must not reach the log
    DECLARE
        e_state text;
        e_msg text;
        e_detail text;
        e_hint text;
        e_column text;
    BEGIN
        GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL,
                                e_hint = PG_EXCEPTION_HINT, e_column = COLUMN_NAME;
        PERFORM trade.quiet_report('ERROR', e_state, e_msg, e_detail, e_hint, e_column);
    END;
END
$$;
COMMENT ON FUNCTION quant.set_broker_credential(text, text, text, text) IS
  'Stores (or rotates) the current user''s API key and secret for a broker and environment (BYBIT: mainnet, testnet, demo; FUTU: real or simulate, the key being the OpenD accID or default and the secret the trade password): the secret is encrypted at once (secretbox, key file quant.credential_key_file) and never returned; returns broker, environment, api_key_hint, fingerprint and whether it replaced one. A refusal never logs the statement (it holds the secret).';

CREATE FUNCTION trade.api_key_hint(api_key text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN length(api_key) > 8 THEN left(api_key, 2) || '...' || right(api_key, 4) ELSE '...' END;
$$;
COMMENT ON FUNCTION trade.api_key_hint(text) IS 'Internal: enough of an API key to recognise it (first 2 and last 4 characters).';

CREATE FUNCTION quant.list_broker_credentials()
RETURNS TABLE (broker text, environment text, api_key_hint text, fingerprint text, created_at timestamptz,
               rotated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.broker, c.environment, trade.api_key_hint(c.api_key), c.fingerprint, c.created_at, c.rotated_at
      FROM trade.broker_credential c
     WHERE c.user_id = quant.current_user_id()
     ORDER BY c.broker, c.environment;
$$;
COMMENT ON FUNCTION quant.list_broker_credentials() IS 'The current user''s broker credentials: broker, environment, a hint of the key, the fingerprint; never the secret.';

CREATE FUNCTION quant.delete_broker_credential(broker text, environment text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    n integer;
BEGIN
    DELETE FROM trade.broker_credential c
     WHERE c.user_id = me AND c.broker = upper(delete_broker_credential.broker)
       AND c.environment = delete_broker_credential.environment;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        INSERT INTO trade.audit (user_id, entity, action, new_value, message)
        VALUES (me, 'broker_credential', 'deleted',
                jsonb_build_object('broker', upper(broker), 'environment', environment),
                upper(broker) || ' ' || environment || ' credentials deleted');
    END IF;
    RETURN n > 0;
END
$$;
COMMENT ON FUNCTION quant.delete_broker_credential(text, text) IS 'Deletes the current user''s credentials for a broker and environment; true when there were some. Running deployments on it then fail closed (REJECTED connection).';

-- quant-worker: the credentials of a deployment's environment, still sealed (the worker opens
-- them with the key file just before use, bound to the deployment's user).
CREATE FUNCTION trade.worker_credential(deployment_id uuid)
RETURNS TABLE (broker text, environment text, category text, api_key text, nonce bytea, ciphertext bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.broker, e.environment, coalesce(d.config->>'category', 'linear'), c.api_key, c.nonce, c.ciphertext
      FROM trade.deployment d
      CROSS JOIN LATERAL (SELECT trade.broker_environment(d.broker, d.paper) AS environment) e
      LEFT JOIN trade.broker_credential c
        ON c.user_id = d.user_id AND c.broker = d.broker AND c.environment = e.environment
     WHERE d.deployment_id = worker_credential.deployment_id;
$$;
COMMENT ON FUNCTION trade.worker_credential(uuid) IS 'Internal (quant-worker): broker, environment, category (spot or linear, default linear) and the credentials (still sealed; NULL when none) of a deployment''s user. SECURITY DEFINER (every user''s deployments, as trade.worker_context).';

-- Deploying, enabling or switching a BYBIT deployment needs credentials for its environment.
CREATE FUNCTION trade.deployment_requires_credential() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    env text := coalesce(NEW.config->>'environment', trade.broker_environment(NEW.broker, NEW.paper));
BEGIN
    IF NOT NEW.enabled OR NEW.broker NOT IN ('BYBIT', 'FUTU') OR (NEW.broker = 'FUTU' AND env IS DISTINCT FROM 'real')
       OR EXISTS (SELECT 1 FROM trade.broker_credential c
                   WHERE c.user_id = NEW.user_id AND c.broker = NEW.broker AND c.environment = env) THEN
        RETURN NEW;
    END IF;
    IF NEW.broker = 'FUTU' THEN
        RAISE EXCEPTION 'broker: a REAL FUTU deployment (paper = false) needs %''s Futu trade password in the broker credential store (broker FUTU, environment real): none is stored, so OpenD''s REAL trading could never be unlocked',
                        NEW.user_id
            USING ERRCODE = '22023', COLUMN = 'broker',
                  HINT = 'store it first: SELECT quant.set_broker_credential(''FUTU'', ''real'', ''default'' or the OpenD accID, trade_password), or PUT /api/v1/broker_credentials {"broker": "FUTU", "environment": "real", "api_key": "default", "api_secret": "<the Futu trade password>"}; paper = true (OpenD''s SIMULATE environment) needs none';
    END IF;
    RAISE EXCEPTION 'broker: BYBIT needs %''s API credentials for the % environment (paper = % trades on %)',
                    NEW.user_id, env, NEW.paper,
                    CASE env WHEN 'demo' THEN 'Bybit''s demo account' WHEN 'testnet' THEN 'Bybit''s testnet' ELSE 'mainnet' END
        USING ERRCODE = '22023', COLUMN = 'broker',
              HINT = format('store them first: SELECT quant.set_broker_credential(''BYBIT'', %L, api_key, api_secret)', env);
END
$$;
COMMENT ON FUNCTION trade.deployment_requires_credential() IS 'Internal: refuses an enabled BYBIT deployment whose user has no credentials for its environment, and an enabled REAL FUTU deployment (paper = false) whose user has no FUTU real credential (the trade password): 22023 naming broker, the hint says how to store it.';
REVOKE ALL ON FUNCTION trade.deployment_requires_credential() FROM PUBLIC;
CREATE TRIGGER deployment_requires_credential
    BEFORE INSERT OR UPDATE OF broker, paper, enabled ON trade.deployment
    FOR EACH ROW EXECUTE FUNCTION trade.deployment_requires_credential();
REVOKE ALL ON FUNCTION quant.set_broker_credential(text, text, text, text), quant.list_broker_credentials(),
    quant.delete_broker_credential(text, text), trade.worker_credential(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    quant.set_broker_credential(text, text, text, text), quant.list_broker_credentials(),
    quant.delete_broker_credential(text, text)
  TO quant_app, quant_admin;
GRANT EXECUTE ON FUNCTION trade.worker_credential(uuid) TO quant_worker;
-- as grants.sql leaves them: PUBLIC may run these SECURITY INVOKER helpers (an explicit ACL)
REVOKE ALL ON FUNCTION trade.api_key_hint(text), trade.broker_environment(text, boolean)
    FROM quant_app, quant_worker, quant_admin;

-- ==== wp-m2: products (refdata.product, add/update/list_products), internal_cusip resolved to ticker, display-name metrics, quant.parse_json (NaN as null) ====
CREATE OR REPLACE FUNCTION quant.normalize_strategy(config jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_normalize_strategy'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.normalize_strategy(jsonb) IS
  'A Strategy JSON (seed 1.1, or the user''s pipeline''s form with internal_cusip) validated and normalised: ticker resolved from internal_cusip through the product catalog when absent, defaults filled, name generated when empty, fixed keys. ERROR 22023 naming the field, with the valid values as hint.';

CREATE FUNCTION quant.parse_json(doc text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_parse_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.parse_json(text) IS
  'JSON text as Python''s json.dumps writes it -> jsonb: the tokens NaN, Infinity and -Infinity outside strings become null (jsonb has no NaN; quant writes an undefined number as null). ERROR 22P02 for malformed JSON, 54000 over the size or depth limit.';

CREATE OR REPLACE FUNCTION bt.normalize_strategy(config jsonb, fn text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_normalize_strategy'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION bt.normalize_strategy(jsonb, text) IS
  'Internal: quant.normalize_strategy whose warnings (NOTICEs) and errors name fn, the calling API function.';

CREATE OR REPLACE FUNCTION bt.normalized_config(config jsonb, fn text) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF config IS NULL THEN
        RAISE EXCEPTION '%: config must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'config';
    END IF;
    RETURN bt.normalize_strategy(config, fn);
END
$$;
COMMENT ON FUNCTION bt.normalized_config(jsonb, text) IS 'Internal: quant.normalize_strategy with a NULL check naming the caller; the validator''s warnings are NOTICEs naming it too.';

-- Products (issue 11 part 2): the user's product identifiers and what they mean here.
--
-- The user's pipeline names a product by its internal_cusip (lowercase symbol.exchange,
-- "aapl.nyse", "btc-usd.crypto"), not by the ticker of its bars. A product row says which data
-- ticker (md.bar) holds its bars; its symbol on each broker is the ticker mapping of that data
-- ticker (refdata.ticker_mapping, the one place for "which broker symbol is this on broker X"),
-- which quant.add_product/update_product write through "brokers" and every product JSON shows.
-- Rows with user_id NULL are shared (installed below, or added by an administrator); a user's
-- own row for the same internal_cusip takes precedence for that user, as with ticker mappings.
CREATE FUNCTION refdata.product_asset_types() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ARRAY['equity', 'etf', 'index', 'crypto', 'fx', 'future', 'commodity', 'bond'] $$;
COMMENT ON FUNCTION refdata.product_asset_types() IS
  'The asset types a product may have (refdata.product.asset_type).';

CREATE TABLE refdata.product (
    product_id      uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    internal_cusip  text NOT NULL CHECK (internal_cusip ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    display_name    text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    asset_type      text NOT NULL CHECK (asset_type = ANY (refdata.product_asset_types())),
    exchange        text CHECK (length(exchange) BETWEEN 1 AND 64),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z0-9]{2,10}$'),
    data_ticker     text NOT NULL CHECK (length(data_ticker) BETWEEN 1 AND 64),
    market          text REFERENCES refdata.market (market),
    user_id         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX product_key ON refdata.product (internal_cusip, coalesce(user_id, ''));
COMMENT ON TABLE refdata.product IS 'Products by the user''s identifier (internal_cusip) -> display name, asset type, exchange, currency, the data ticker of their bars, market. Broker symbols: refdata.ticker_mapping of the data ticker. user_id NULL: shared by everyone; a user''s own row overrides it.';
COMMENT ON COLUMN refdata.product.internal_cusip IS 'The user''s stable product identifier, lowercase symbol.exchange, e.g. aapl.nyse, btc-usd.crypto';
COMMENT ON COLUMN refdata.product.data_ticker IS 'The ticker of the product''s bars in md.bar (the StrategyConfig ticker it resolves to), e.g. AAPL';
COMMENT ON COLUMN refdata.product.market IS 'The market (refdata.market) of its broker symbols when "brokers" does not say; NULL: none';
COMMENT ON COLUMN refdata.product.user_id IS 'NULL for a shared product, else the user whose own product it is';

ALTER TABLE refdata.product ENABLE ROW LEVEL SECURITY;
ALTER TABLE refdata.product FORCE ROW LEVEL SECURITY;
CREATE POLICY product_read ON refdata.product FOR SELECT
    USING (user_id IS NULL OR user_id = quant.current_user_id());
CREATE POLICY product_insert ON refdata.product FOR INSERT
    WITH CHECK (user_id = quant.current_user_id());
CREATE POLICY product_update ON refdata.product FOR UPDATE
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

-- Shared products of the sample data and the shared ticker mappings, by the identifiers the
-- user's pipeline uses (user-pipeline.md).
INSERT INTO refdata.product (internal_cusip, display_name, asset_type, exchange, currency, data_ticker, market) VALUES
    ('ttrc', 'TTRC (synthetic sample series)', 'equity', NULL, 'USD', 'TTRC', 'US'),
    ('msft.nasdaq', 'Microsoft Corporation', 'equity', 'NASDAQ', 'USD', 'MSFT', 'US'),
    ('aapl.nyse', 'Apple Inc.', 'equity', 'NYSE', 'USD', 'AAPL', 'US'),
    ('btc-usd.crypto', 'Bitcoin / US dollar', 'crypto', 'CRYPTO', 'USD', 'BTC-USD', 'CRYPTO'),
    ('eth-usd.crypto', 'Ether / US dollar', 'crypto', 'CRYPTO', 'USD', 'ETH-USD', 'CRYPTO');
SELECT pg_catalog.pg_extension_config_dump('refdata.product', 'WHERE user_id IS NOT NULL');

-- ---- internals ----
-- The product the current user means by internal_cusip: their own first, then the shared one.
-- No user set (a pure computation such as quant.backtest called without one): shared only.
CREATE FUNCTION refdata.find_product(internal_cusip text) RETURNS refdata.product
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.* FROM refdata.product p
    WHERE p.internal_cusip = lower(btrim(find_product.internal_cusip))
      AND (p.user_id IS NULL OR (quant.authenticated() AND p.user_id = quant.current_user_id()))
    ORDER BY p.user_id NULLS LAST LIMIT 1;
$$;
COMMENT ON FUNCTION refdata.find_product(text) IS
  'Internal: the product of an internal_cusip for the current user (their own first, then the shared one), NULL when none.';

CREATE FUNCTION refdata.resolve_product(internal_cusip text, fn text, field text) RETURNS refdata.product
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p refdata.product := refdata.find_product(internal_cusip);
BEGIN
    IF p.product_id IS NULL THEN
        RAISE EXCEPTION '%: %: unknown product "%"', fn, field, internal_cusip
            USING ERRCODE = '22023', COLUMN = field,
                  HINT = format('quant.list_products() lists the products you can name; add this one with quant.add_product(''{"internal_cusip": "%s", "data_ticker": "<ticker of its bars in md.bar>", "display_name": "...", "asset_type": "equity", "currency": "USD"}'') or POST /api/v1/products, or give "ticker" instead',
                                lower(btrim(internal_cusip)));
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION refdata.resolve_product(text, text, text) IS
  'Internal: refdata.find_product, or ERROR 22023 naming the field and the unknown product, with a hint how to add it.';

-- A Strategy JSON in the user's pipeline's form -> the seed's form: internal_cusip (top level,
-- when ticker is absent) gives ticker; a substrategy's internal_cusip gives its ticker (the
-- indicator underlying) unless it is the strategy's own product. The identifiers stay in the
-- config as the client sent them. A given ticker wins: stored configs carry both and are never
-- re-resolved, so a later change of a product never changes a stored strategy.
CREATE FUNCTION refdata.resolve_products(config jsonb, fn text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cfg jsonb := config;
    p refdata.product;
    sub jsonb;
    i integer := 0;
BEGIN
    IF jsonb_typeof(cfg) <> 'object' THEN
        RETURN cfg;  -- the core's validator names the problem
    END IF;
    IF jsonb_typeof(cfg->'internal_cusip') = 'string' AND jsonb_typeof(cfg->'ticker') IS DISTINCT FROM 'string' THEN
        p := refdata.resolve_product(cfg->>'internal_cusip', fn, 'internal_cusip');
        cfg := cfg || jsonb_build_object('ticker', p.data_ticker);
    END IF;
    IF jsonb_typeof(cfg->'substrategies') = 'array' THEN
        FOR sub IN SELECT e FROM jsonb_array_elements(cfg->'substrategies') e LOOP
            IF jsonb_typeof(sub) = 'object' AND jsonb_typeof(sub->'internal_cusip') = 'string'
               AND NOT sub ? 'ticker' THEN
                p := refdata.resolve_product(sub->>'internal_cusip', fn, format('substrategies[%s].internal_cusip', i));
                IF p.data_ticker IS DISTINCT FROM cfg->>'ticker' THEN
                    cfg := jsonb_set(cfg, ARRAY['substrategies', i::text], sub || jsonb_build_object('ticker', p.data_ticker));
                END IF;
            END IF;
            i := i + 1;
        END LOOP;
    END IF;
    RETURN cfg;
END
$$;
COMMENT ON FUNCTION refdata.resolve_products(jsonb, text) IS
  'Internal (SECURITY DEFINER, acting on the current user''s products and the shared ones only; called by the extension''s C entry points before the core parses a Strategy JSON that names internal_cusip): ticker from internal_cusip where ticker is absent, at the top and per substrategy; ERROR 22023 naming the field of an unknown product.';

-- A product as JSON, with its symbol on each broker (the ticker mappings of its data ticker the
-- current user sees: their own over the shared one).
CREATE FUNCTION refdata.product_json(p refdata.product) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('internal_cusip', p.internal_cusip, 'display_name', p.display_name,
                              'asset_type', p.asset_type, 'exchange', p.exchange, 'currency', p.currency,
                              'data_ticker', p.data_ticker, 'market', p.market, 'shared', p.user_id IS NULL,
                              'brokers', coalesce((
        SELECT jsonb_object_agg(m.broker, jsonb_build_object('symbol', m.broker_ticker, 'market', m.market,
                                                             'shared', m.user_id IS NULL))
        FROM (SELECT DISTINCT ON (t.broker) t.* FROM refdata.ticker_mapping t
              WHERE t.data_ticker = p.data_ticker
                AND (t.user_id IS NULL OR (quant.authenticated() AND t.user_id = quant.current_user_id()))
              ORDER BY t.broker, t.user_id NULLS LAST) m), '{}'::jsonb),
                              'created_at', p.created_at, 'updated_at', p.updated_at);
$$;
COMMENT ON FUNCTION refdata.product_json(refdata.product) IS
  'Internal: a product as JSON with brokers {BROKER: {symbol, market, shared}} from the ticker mappings of its data ticker.';

-- The fields of a product JSON, checked; NULL for the ones not given (update: unchanged).
CREATE FUNCTION refdata.product_field(doc jsonb, key text, fn text, pattern text, hint text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT doc ? key OR jsonb_typeof(doc->key) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(doc->key) <> 'string' OR (doc->>key) !~ pattern THEN
        RAISE EXCEPTION '%: %: invalid value %', fn, key, left((doc->key)::text, 80)
            USING ERRCODE = '22023', COLUMN = key, HINT = hint;
    END IF;
    RETURN doc->>key;
END
$$;
COMMENT ON FUNCTION refdata.product_field(jsonb, text, text, text, text) IS
  'Internal: a string field of a product JSON matching pattern, NULL when absent; ERROR 22023 naming it otherwise.';

-- Writes a product's row (insert, or update of the current user's own) and its "brokers".
CREATE FUNCTION refdata.write_product(doc jsonb, fn text, existing refdata.product) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    known constant text[] := ARRAY['internal_cusip', 'display_name', 'asset_type', 'exchange', 'currency',
                                   'data_ticker', 'market', 'brokers', 'shared', 'created_at', 'updated_at'];
    k text;
    r refdata.product := existing;
    b record;
    sym text;
    mkt text;
BEGIN
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        RAISE EXCEPTION '%: product must be a JSON object', fn
            USING ERRCODE = '22023', COLUMN = 'product', HINT = 'fields: ' || array_to_string(known[1:8], ', ');
    END IF;
    FOR k IN SELECT jsonb_object_keys(doc) LOOP
        IF k <> ALL (known) THEN
            RAISE EXCEPTION '%: %: unknown field', fn, k
                USING ERRCODE = '22023', COLUMN = k, HINT = 'valid fields: ' || array_to_string(known[1:8], ', ');
        END IF;
    END LOOP;
    r.internal_cusip := coalesce(lower(btrim(refdata.product_field(doc, 'internal_cusip', fn, '^\s*[A-Za-z0-9][A-Za-z0-9._-]{0,63}\s*$',
                                 'lowercase symbol.exchange, 1 to 64 of a-z 0-9 . _ -, e.g. aapl.nyse'))), r.internal_cusip);
    r.display_name := coalesce(refdata.product_field(doc, 'display_name', fn, '^.{1,200}$', '1 to 200 characters'), r.display_name);
    r.asset_type := coalesce(lower(refdata.product_field(doc, 'asset_type', fn,
                                   '(?i)^(' || array_to_string(refdata.product_asset_types(), '|') || ')$',
                                   'valid asset types: ' || array_to_string(refdata.product_asset_types(), ', '))), r.asset_type);
    r.exchange := CASE WHEN doc ? 'exchange' THEN refdata.product_field(doc, 'exchange', fn, '^.{1,64}$', '1 to 64 characters, e.g. NYSE')
                       ELSE r.exchange END;
    r.currency := coalesce(upper(refdata.product_field(doc, 'currency', fn, '^[A-Za-z0-9]{2,10}$', 'a currency code, e.g. USD, HKD, USDT')), r.currency);
    r.data_ticker := coalesce(refdata.product_field(doc, 'data_ticker', fn, '^.{1,64}$',
                                                    'the ticker of the product''s bars in md.bar, e.g. AAPL'), r.data_ticker);
    IF doc ? 'market' THEN
        r.market := upper(refdata.product_field(doc, 'market', fn, '^[A-Za-z]{2,16}$', 'valid markets: ' || refdata.market_names()));
        IF r.market IS NOT NULL AND NOT EXISTS (SELECT 1 FROM refdata.market m WHERE m.market = r.market) THEN
            RAISE EXCEPTION '%: market: unknown market "%"', fn, doc->>'market'
                USING ERRCODE = '22023', COLUMN = 'market', HINT = 'valid markets: ' || refdata.market_names();
        END IF;
    END IF;
    FOREACH k IN ARRAY ARRAY['internal_cusip', 'display_name', 'asset_type', 'currency', 'data_ticker'] LOOP
        IF (to_jsonb(r)->>k) IS NULL THEN
            RAISE EXCEPTION '%: %: is required', fn, k
                USING ERRCODE = '22023', COLUMN = k,
                      HINT = CASE k WHEN 'asset_type' THEN 'valid asset types: ' || array_to_string(refdata.product_asset_types(), ', ')
                                    WHEN 'data_ticker' THEN 'the ticker of the product''s bars in md.bar, e.g. AAPL'
                                    ELSE 'fields: ' || array_to_string(known[1:8], ', ') END;
        END IF;
    END LOOP;
    IF doc ? 'brokers' AND jsonb_typeof(doc->'brokers') NOT IN ('object', 'null') THEN
        RAISE EXCEPTION '%: brokers: must be an object {BROKER: "symbol" or {"symbol", "market"}}', fn
            USING ERRCODE = '22023', COLUMN = 'brokers', HINT = 'e.g. {"FUTU": "US.AAPL", "PAPER": {"symbol": "AAPL", "market": "US"}}';
    END IF;

    IF existing.product_id IS NULL THEN
        INSERT INTO refdata.product (internal_cusip, display_name, asset_type, exchange, currency, data_ticker, market, user_id)
        VALUES (r.internal_cusip, r.display_name, r.asset_type, r.exchange, r.currency, r.data_ticker, r.market, me)
        RETURNING * INTO r;
    ELSE
        UPDATE refdata.product p SET display_name = r.display_name, asset_type = r.asset_type, exchange = r.exchange,
               currency = r.currency, data_ticker = r.data_ticker, market = r.market, updated_at = now()
        WHERE p.product_id = existing.product_id RETURNING * INTO r;
    END IF;
    -- the broker symbols: the user's own ticker mappings of the data ticker (one place for them)
    FOR b IN SELECT key, value FROM jsonb_each(coalesce(nullif(doc->'brokers', 'null'::jsonb), '{}'::jsonb)) LOOP
        IF jsonb_typeof(b.value) = 'string' THEN
            sym := b.value #>> '{}';
            mkt := r.market;
        ELSIF jsonb_typeof(b.value) = 'object' AND jsonb_typeof(b.value->'symbol') = 'string' THEN
            sym := b.value->>'symbol';
            mkt := coalesce(b.value->>'market', r.market);
        ELSE
            RAISE EXCEPTION '%: brokers.%: must be the broker''s symbol or {"symbol", "market"}', fn, b.key
                USING ERRCODE = '22023', COLUMN = 'brokers.' || b.key, HINT = 'e.g. "US.AAPL" or {"symbol": "US.AAPL", "market": "US"}';
        END IF;
        IF mkt IS NULL THEN
            RAISE EXCEPTION '%: brokers.%.market: is required (the product has no market)', fn, b.key
                USING ERRCODE = '22023', COLUMN = 'brokers.' || b.key || '.market', HINT = 'valid markets: ' || refdata.market_names();
        END IF;
        PERFORM quant.set_ticker_mapping(r.data_ticker, b.key, sym, mkt);
    END LOOP;
    RETURN refdata.product_json(r);
END
$$;
COMMENT ON FUNCTION refdata.write_product(jsonb, text, refdata.product) IS
  'Internal: checks a product JSON, inserts it (existing NULL) or updates the current user''s own row, and writes its "brokers" as the user''s ticker mappings; ERROR 22023 naming the field.';

-- ---- the API ----
CREATE FUNCTION quant.add_product(product jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.add_product';
    me text := quant.current_user_id();
    none refdata.product;
BEGIN
    IF product IS NULL THEN
        RAISE EXCEPTION '%: product must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'product';
    END IF;
    IF jsonb_typeof(product) = 'object' AND jsonb_typeof(product->'internal_cusip') = 'string' AND EXISTS (
        SELECT 1 FROM refdata.product p WHERE p.internal_cusip = lower(btrim(product->>'internal_cusip')) AND p.user_id = me) THEN
        RAISE EXCEPTION '%: internal_cusip: you already have a product "%"', fn, lower(btrim(product->>'internal_cusip'))
            USING ERRCODE = '23505', COLUMN = 'internal_cusip',
                  HINT = format('change it with quant.update_product(%L, patch)', lower(btrim(product->>'internal_cusip')));
    END IF;
    RETURN refdata.write_product(product, fn, none);
END
$$;
COMMENT ON FUNCTION quant.add_product(jsonb) IS
  'Adds a product of the current user: {internal_cusip, display_name, asset_type, exchange, currency, data_ticker, market, brokers: {BROKER: symbol | {symbol, market}}}; it overrides a shared product of the same internal_cusip for them, and brokers become their ticker mappings. Returns the product JSON. ERROR 23505 when they have it already, 22023 naming a bad field.';

CREATE FUNCTION quant.update_product(internal_cusip text, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    fn constant text := 'quant.update_product';
    me text := quant.current_user_id();
    p refdata.product;
BEGIN
    IF internal_cusip IS NULL THEN
        RAISE EXCEPTION '%: internal_cusip must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'internal_cusip';
    END IF;
    IF patch IS NULL THEN
        RAISE EXCEPTION '%: patch must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'patch';
    END IF;
    SELECT * INTO p FROM refdata.product t WHERE t.internal_cusip = lower(btrim(internal_cusip)) AND t.user_id = me FOR UPDATE;
    IF p.product_id IS NULL THEN
        RAISE EXCEPTION '%: product "%" not found among your own products', fn, internal_cusip
            USING ERRCODE = 'P0002', COLUMN = 'internal_cusip',
                  HINT = 'quant.list_products() lists them (a shared one is changed by adding your own with quant.add_product)';
    END IF;
    IF jsonb_typeof(patch) = 'object' AND jsonb_typeof(patch->'internal_cusip') = 'string'
       AND lower(btrim(patch->>'internal_cusip')) <> p.internal_cusip THEN
        RAISE EXCEPTION '%: internal_cusip: a product keeps its identifier', fn
            USING ERRCODE = '22023', COLUMN = 'internal_cusip', HINT = 'leave it out of the patch, or add a new product';
    END IF;
    RETURN refdata.write_product(patch, fn, p);
END
$$;
COMMENT ON FUNCTION quant.update_product(text, jsonb) IS
  'Changes fields of one of the current user''s own products (the same fields as quant.add_product; internal_cusip stays). Strategies stored earlier keep the data ticker they were resolved to. Returns the product JSON; P0002 when it is not one of theirs.';

CREATE FUNCTION quant.list_products() RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT refdata.product_json(p) FROM (
        SELECT DISTINCT ON (t.internal_cusip) t.* FROM refdata.product t
        WHERE t.user_id IS NULL OR t.user_id = quant.current_user_id()
        ORDER BY t.internal_cusip, t.user_id NULLS LAST) p
    ORDER BY p.internal_cusip;
$$;
COMMENT ON FUNCTION quant.list_products() IS
  'The products the current user can name by internal_cusip: their own, and the shared ones they have not overridden (shared true), each with its data ticker and its symbol on each broker.';

CREATE FUNCTION bt.result_metrics(metrics jsonb, field text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    seed_keys constant text[] := ARRAY['total_return', 'annualized_return', 'sharpe_ratio', 'max_drawdown',
                                       'calmar_ratio'];
    out jsonb := '{}'::jsonb;
    kv record;
    k text;
BEGIN
    IF jsonb_typeof(metrics) IS DISTINCT FROM 'object' THEN
        RETURN metrics;  -- the checks below name the problem
    END IF;
    FOR kv IN SELECT key, value FROM jsonb_each(metrics) ORDER BY key LOOP
        k := lower(regexp_replace(btrim(kv.key), '\s+', '_', 'g'));
        IF k <> ALL (seed_keys) THEN
            k := kv.key;
        END IF;
        IF out ? k AND out->k IS DISTINCT FROM kv.value THEN
            PERFORM bt.result_field_error(field || '.' || k, 'is given twice with different values (as ' || k
                                          || ' and as "' || kv.key || '")', 'give each metric once');
        END IF;
        out := out || jsonb_build_object(k, kv.value);
    END LOOP;
    RETURN out;
END
$$;
COMMENT ON FUNCTION bt.result_metrics(jsonb, text) IS
  'Internal: a metrics object with display-name keys ("Sharpe Ratio", as the user''s pipeline writes them) under the seed''s keys (sharpe_ratio); other keys unchanged.';

-- quant.store_result: its final text is in the section "main: create_strategy keeps a client's own strategy_id as client_strategy_id" below

-- grants (sql/grants.sql, sql/privileges.md); the SECURITY INVOKER ones get the explicit
-- PUBLIC EXECUTE of a fresh install (its grants.sql revokes from the roles, which writes the ACL)
REVOKE ALL ON FUNCTION bt.result_metrics(jsonb, text), quant.parse_json(text), refdata.find_product(text),
    refdata.product_asset_types(), refdata.product_field(jsonb, text, text, text, text),
    refdata.product_json(refdata.product), refdata.resolve_product(text, text, text),
    refdata.write_product(jsonb, text, refdata.product) FROM quant_app, quant_worker, quant_admin;
REVOKE ALL ON refdata.product FROM PUBLIC, quant_app, quant_worker, quant_admin;
REVOKE ALL ON FUNCTION quant.add_product(jsonb), quant.update_product(text, jsonb), quant.list_products(),
    refdata.resolve_products(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.add_product(jsonb), quant.update_product(text, jsonb), quant.list_products(),
    refdata.resolve_products(jsonb, text) TO quant_app, quant_admin;

-- ==== main: create_strategy keeps a client's own strategy_id as client_strategy_id (the pipeline's UUIDv7 works through the one-click flow) ====
ALTER TABLE bt.strategy ADD COLUMN client_strategy_id uuid;
-- the id a client made (the pipeline's UUIDv7): unique among a user's live strategies
CREATE UNIQUE INDEX strategy_client_id_idx ON bt.strategy (user_id, client_strategy_id)
    WHERE client_strategy_id IS NOT NULL AND deleted_at IS NULL;
COMMENT ON COLUMN bt.strategy.client_strategy_id IS
  'The strategy_id the client sent with quant.create_strategy when it was not one of this user''s strategies (the pipeline makes its own UUIDv7): every call that takes a strategy id accepts it for this user, beside strategy_id';

CREATE OR REPLACE FUNCTION bt.strategy_json(s bt.strategy, v bt.strategy_version) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN v.config || jsonb_build_object('strategy_id', s.strategy_id, 'name', s.name, 'version', v.version,
                                          'created_at', s.created_at, 'updated_at', s.updated_at)
           || CASE WHEN s.client_strategy_id IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('client_strategy_id', s.client_strategy_id) END;
END
$$;
COMMENT ON FUNCTION bt.strategy_json(bt.strategy, bt.strategy_version) IS
  'Internal: the StrategyConfig JSON (seed 1.1) of a strategy version, with strategy_id, name, version, created_at, updated_at (and client_strategy_id when the client made its own id).';

CREATE OR REPLACE FUNCTION bt.own_strategy(id uuid, fn text, for_update boolean, include_deleted boolean DEFAULT false)
RETURNS bt.strategy
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    s bt.strategy;
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION '%: strategy_id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'strategy_id';
    END IF;
    IF for_update THEN
        SELECT * INTO s FROM bt.strategy t
        WHERE t.user_id = me AND (t.strategy_id = id OR t.client_strategy_id = id)
        ORDER BY t.deleted_at IS NULL DESC, t.strategy_id = id DESC, t.created_at DESC LIMIT 1 FOR UPDATE;
    ELSE
        SELECT * INTO s FROM bt.strategy t
        WHERE t.user_id = me AND (t.strategy_id = id OR t.client_strategy_id = id)
        ORDER BY t.deleted_at IS NULL DESC, t.strategy_id = id DESC, t.created_at DESC LIMIT 1;
    END IF;
    IF s.strategy_id IS NULL OR (s.deleted_at IS NOT NULL AND NOT include_deleted) THEN
        RAISE EXCEPTION '%: strategy % not found', fn, id
            USING ERRCODE = 'P0002', COLUMN = 'strategy_id',
                  HINT = 'quant.list_strategies() lists your strategies';
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION bt.own_strategy(uuid, text, boolean, boolean) IS
  'Internal: the current user''s strategy by strategy_id or client_strategy_id (optionally FOR UPDATE), or ERROR P0002.';

-- ==== wp-int: bar intervals (refdata.bar_interval from the core; md.bar keyed by (ticker, interval, ts), existing bars are 1d; md.bar_version per (ticker, interval); load_bars_csv(ticker, path, interval)) ====
-- The bar intervals (1m 5m 15m 30m 1h 4h 1d 1w), generated from the core's catalog
-- (core/src/bar_interval.cpp): what md.bar.interval and a Strategy JSON's `interval` name. Before
-- MD/bar.sql: md.bar's interval is a foreign key to this table.
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

ALTER TABLE md.bar ADD COLUMN interval text NOT NULL DEFAULT '1d' REFERENCES refdata.bar_interval (name);
ALTER TABLE md.bar DROP CONSTRAINT bar_pkey;
ALTER TABLE md.bar ADD CONSTRAINT bar_pkey PRIMARY KEY (ticker, interval, ts);
COMMENT ON TABLE md.bar IS 'OHLCV bars, one row per ticker, bar interval and bar open time (UTC); close is the traded price';
COMMENT ON COLUMN md.bar.ts IS 'the bar''s open time (UTC); daily bars are stamped at 00:00 UTC of their date; it closes at ts + the interval';
COMMENT ON COLUMN md.bar.interval IS 'the bar interval (refdata.bar_interval), 1d by default';

DROP FUNCTION quant.load_bars_csv(text, text);
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

-- the bar cache's key gains the interval: a new table (its rows are only counters), filled for the
-- bars already there so that they stay cacheable
DROP TABLE md.bar_version;
CREATE TABLE md.bar_version (
    ticker     text        NOT NULL,
    interval   text        NOT NULL,
    version    bigint      NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticker, interval)
);
COMMENT ON TABLE md.bar_version IS
  'Per ticker and bar interval, a counter bumped by every INSERT, UPDATE, DELETE or TRUNCATE of those bars (the bar cache key)';

-- md.bump_bar_version: its final text is in the section "main (merge)" below
REVOKE ALL ON FUNCTION md.bump_bar_version() FROM PUBLIC;

INSERT INTO md.bar_version (ticker, interval) SELECT DISTINCT ticker, interval FROM md.bar;

-- grants (sql/grants.sql, sql/privileges.md): the explicit ACLs of a fresh install
REVOKE ALL ON refdata.bar_interval, md.bar_version FROM PUBLIC, quant_app, quant_worker, quant_admin;
GRANT SELECT ON refdata.bar_interval, md.bar_version TO PUBLIC;
REVOKE ALL ON FUNCTION quant.bar_interval_catalog(), refdata.bar_interval_names(), refdata.check_bar_interval(text, text),
    quant.list_intervals() FROM quant_app, quant_worker, quant_admin;
REVOKE ALL ON FUNCTION quant.load_bars_csv(text, text, text) FROM quant_app, quant_worker, quant_admin;

DROP FUNCTION quant.indicator_series(text, text, integer, text, timestamptz, timestamptz);
CREATE FUNCTION quant.indicator_series(
    ticker text, indicator text, "window" integer, data_column text DEFAULT 'v',
    from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL, "interval" text DEFAULT '1d')
RETURNS TABLE (ts timestamptz, value double precision)
AS 'MODULE_PATHNAME', 'quant_indicator_series'
LANGUAGE C STABLE PARALLEL SAFE ROWS 2500;
COMMENT ON FUNCTION quant.indicator_series(text, text, integer, text, timestamptz, timestamptz, text) IS
  'One row per bar of ticker in the bar interval (refdata.bar_interval, 1d by default) in [from_ts, to_ts] (NULL = open; ts = the bar''s open time): the indicator (a name of refdata.indicator) at window over data_column (v = close, open, high, low, close, volume); NULL before it is defined.';

REVOKE ALL ON FUNCTION quant.indicator_series(text, text, integer, text, timestamptz, timestamptz, text) FROM quant_app, quant_worker, quant_admin;

-- the live loop reads the bars of the strategy's interval (run_one: the latest bar; the stop loss: its price)
-- trade.run_one: its final text is in the section "main (merge)" below

CREATE OR REPLACE FUNCTION trade.stop_loss_one(d trade.deployment, p trade.position) RETURNS trade.signal
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

-- A deployment's schedule must fit its strategy's bar interval (the core's rule,
-- quant::check_schedule_fits_interval): hourly runs need 1h bars, daily_close runs 1d bars, manual
-- any. Checked on every row written (deploy, update_deployment), so nothing is stored otherwise.
CREATE FUNCTION quant.check_schedule_interval(schedule text, "interval" text, fn text DEFAULT NULL) RETURNS void
AS 'MODULE_PATHNAME', 'quant_check_schedule_interval_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.check_schedule_interval(text, text, text) IS
  'ERROR 22023 naming schedule (prefixed with fn when given) when a deployment schedule does not fit a strategy''s bar interval: hourly needs 1h, daily_close 1d, manual fits any; the hint lists the schedules that fit.';

CREATE FUNCTION trade.check_deployment_schedule() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM quant.check_schedule_interval(
        NEW.schedule,
        coalesce((SELECT v.config->>'interval' FROM bt.strategy_version v
                   WHERE v.strategy_id = NEW.strategy_id AND v.version = NEW.strategy_version), '1d'),
        CASE TG_OP WHEN 'INSERT' THEN 'quant.deploy' ELSE 'quant.update_deployment' END);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION trade.check_deployment_schedule() IS
  'Trigger: refuses a trade.deployment row whose schedule does not fit its pinned strategy version''s bar interval (quant.check_schedule_interval).';
REVOKE ALL ON FUNCTION trade.check_deployment_schedule() FROM PUBLIC;
CREATE TRIGGER deployment_schedule_fits BEFORE INSERT OR UPDATE OF schedule, strategy_version ON trade.deployment
    FOR EACH ROW EXECUTE FUNCTION trade.check_deployment_schedule();
REVOKE ALL ON FUNCTION quant.check_schedule_interval(text, text, text) FROM quant_app, quant_worker, quant_admin;

-- bars through the API (sql/MD/bar_api.sql)
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

REVOKE ALL ON FUNCTION quant.list_bars(text, text, timestamptz, timestamptz, integer, timestamptz),
    md.store_uploaded_bars(text, text, text) FROM quant_app, quant_worker, quant_admin;
REVOKE ALL ON FUNCTION quant.upload_bars(text, text, jsonb), quant.upload_bars_csv(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.upload_bars(text, text, jsonb), quant.upload_bars_csv(text, text, text)
  TO quant_app, quant_admin;

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
REVOKE ALL ON FUNCTION quant.bars_page(text, text, text, timestamptz, timestamptz, integer, timestamptz),
    quant.upload_bars_any(text, text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.bars_page(text, text, text, timestamptz, timestamptz, integer, timestamptz),
    quant.upload_bars_any(text, text, jsonb, text) TO quant_app, quant_admin;

-- ==== wp-safe: kill switches (enabled = entries only, flatten, disable all, the admins' halt, the send gate), loss and drawdown breakers, alerts on quant_alert ====
ALTER TABLE trade.audit DROP CONSTRAINT audit_entity_check;
ALTER TABLE trade.audit ADD CONSTRAINT audit_entity_check
    CHECK (entity IN ('strategy', 'deployment', 'live_gate', 'broker_credential', 'breaker', 'account_limits'));
COMMENT ON COLUMN trade.audit.entity IS 'strategy, deployment, live_gate, broker_credential, breaker or account_limits';
COMMENT ON COLUMN trade.audit.action IS 'create, new_version, delete, deploy, update, stop, live_enabled, live_refused, set_trade_password, flatten, disable_all, breaker, reset';
ALTER TABLE trade.signal DROP CONSTRAINT signal_source_check;
ALTER TABLE trade.signal ADD CONSTRAINT signal_source_check CHECK (source IN ('schedule', 'stop_loss', 'flatten'));
COMMENT ON COLUMN trade.signal.source IS 'Who wrote the signal: schedule (quant.run_schedule, quant.run_deployment: the strategy''s evaluation) or stop_loss (quant.check_stop_losses: a flattening signal 0) or flatten (quant.flatten_deployment, a breaker''s flatten_on_breach: signal 0, bar_ts the time it was written). Part of the duplicate guard (deployment_id, bar_ts, source)';

-- TRADE/breaker.sql
-- Loss and drawdown breakers (issue 15, part 1), per deployment (its risk_limits) and per user
-- (trade.account_limits): max daily loss (currency and/or percent, UTC day), max drawdown from
-- peak equity (currency and/or percent), max open exposure across the user's deployments, max
-- consecutive losing trades. The arithmetic is the core's (quant::evaluate_breakers, from the
-- fills and the latest prices, with quant::position_after as the paper broker books them);
-- quant-worker evaluates it at the start of every signal and after every fill.
--
-- A breach (trade.worker_trip_breaker): a trade.breaker row (open until a person resets it),
-- the deployment (scope deployment) or all the user's deployments (scope account) disabled at
-- once, an audit row per deployment (action breaker), a REJECTED trade.log row whose reason is
-- the breaker's name, a NOTIFY on quant_alert, and, when flatten_on_breach is set, a flattening
-- signal per disabled deployment with a position. While a breaker is open, trade.worker_send_gate
-- refuses every order that is not reduce-only (reason breaker). quant.reset_breaker closes it
-- (the deployment stays disabled until the person enables it); measurement starts again from
-- the reset (fills before it no longer count towards a losing streak or a peak).

CREATE TABLE trade.breaker (
    breaker_id     uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    user_id        text NOT NULL,
    deployment_id  uuid REFERENCES trade.deployment (deployment_id),
    scope          text NOT NULL CHECK (scope IN ('deployment', 'account')),
    breaker        text NOT NULL CHECK (breaker IN ('max_daily_loss', 'max_daily_loss_pct', 'max_drawdown',
                                                    'max_drawdown_pct', 'max_open_exposure',
                                                    'max_consecutive_losses')),
    value          double precision,
    limit_value    double precision,
    message        text NOT NULL,
    tripped_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    reset_at       timestamptz,
    reset_by       text,
    CHECK ((scope = 'deployment') = (deployment_id IS NOT NULL))
);
CREATE UNIQUE INDEX breaker_open_idx ON trade.breaker (user_id, coalesce(deployment_id::text, ''), breaker)
    WHERE reset_at IS NULL;
COMMENT ON TABLE trade.breaker IS 'Loss and drawdown breakers that tripped: open (reset_at NULL) until a person resets it (quant.reset_breaker). While open, no order that is not reduce-only is sent for the deployment (scope deployment) or any of the user''s deployments (scope account).';
COMMENT ON COLUMN trade.breaker.value IS 'What was measured (the loss, drawdown, exposure in the account currency; a percentage; a count)';
COMMENT ON COLUMN trade.breaker.limit_value IS 'The limit it passed';

ALTER TABLE trade.breaker ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.breaker FORCE ROW LEVEL SECURITY;
CREATE POLICY breaker_own ON trade.breaker
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
SELECT pg_catalog.pg_extension_config_dump('trade.breaker', '');

CREATE TABLE trade.account_limits (
    user_id     text PRIMARY KEY,
    limits      jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE trade.account_limits IS 'A user''s account-wide breakers (quant.normalize_account_limits: max_daily_loss, max_daily_loss_pct, max_drawdown, max_drawdown_pct, max_open_exposure, max_consecutive_losses, capital, flatten_on_breach); set with quant.set_account_limits.';
ALTER TABLE trade.account_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.account_limits FORCE ROW LEVEL SECURITY;
CREATE POLICY account_limits_own ON trade.account_limits
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
SELECT pg_catalog.pg_extension_config_dump('trade.account_limits', '');

CREATE FUNCTION quant.normalize_account_limits(limits jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_normalize_account_limits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.normalize_account_limits(jsonb) IS
  'The core''s validator of account limits (quant::parse_account_limits): max_daily_loss, max_daily_loss_pct, max_drawdown, max_drawdown_pct, max_open_exposure (positive numbers, percentages at most 100), max_consecutive_losses (1 to 10000), capital (required with a percentage), flatten_on_breach (default false). ERROR 22023 naming the field.';

CREATE FUNCTION quant.set_account_limits(limits jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    cfg jsonb;
    old_value jsonb;
BEGIN
    PERFORM trade.require_object(limits, 'quant.set_account_limits', 'limits');
    cfg := quant.normalize_account_limits(limits);
    SELECT a.limits INTO old_value FROM trade.account_limits a WHERE a.user_id = me;
    INSERT INTO trade.account_limits (user_id, limits) VALUES (me, cfg)
    ON CONFLICT (user_id) DO UPDATE SET limits = excluded.limits, updated_at = now();
    PERFORM trade.write_audit('account_limits', NULL, 'update', old_value, cfg);
    RETURN cfg;
END
$$;
COMMENT ON FUNCTION quant.set_account_limits(jsonb) IS
  'Sets the current user''s account-wide breakers (validated by quant.normalize_account_limits; {} turns them off). Audited. Returns the normalised limits.';

CREATE FUNCTION quant.account_limits() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT a.limits FROM trade.account_limits a WHERE a.user_id = quant.current_user_id()),
                    quant.normalize_account_limits('{}'));
$$;
COMMENT ON FUNCTION quant.account_limits() IS 'The current user''s account-wide breakers (normalised; none set: the defaults, all off).';

CREATE FUNCTION trade.breaker_json(b trade.breaker) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object('breaker_id', b.breaker_id, 'scope', b.scope, 'deployment_id', b.deployment_id,
                              'breaker', b.breaker, 'value', b.value, 'limit', b.limit_value, 'message', b.message,
                              'tripped_at', b.tripped_at, 'reset_at', b.reset_at, 'reset_by', b.reset_by,
                              'open', b.reset_at IS NULL);
END
$$;
COMMENT ON FUNCTION trade.breaker_json(trade.breaker) IS 'Internal: a trade.breaker row as JSON.';

CREATE FUNCTION trade.breaker_open(d trade.deployment) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT format('breaker %s (%s) is open since %s: %s; a person resets it (quant.reset_breaker)',
                          b.breaker, b.scope, b.tripped_at, b.message)
            FROM trade.breaker b
            WHERE b.user_id = d.user_id AND b.reset_at IS NULL
              AND (b.deployment_id = d.deployment_id OR b.scope = 'account')
            ORDER BY b.tripped_at LIMIT 1);
END
$$;
COMMENT ON FUNCTION trade.breaker_open(trade.deployment) IS
  'Internal: why an open breaker of the deployment or of its user''s account blocks new entries, or NULL when none is open.';
REVOKE ALL ON FUNCTION trade.breaker_open(trade.deployment) FROM PUBLIC;

CREATE FUNCTION quant.list_breakers(include_reset boolean DEFAULT false) RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT trade.breaker_json(b) FROM trade.breaker b
    WHERE b.user_id = quant.current_user_id() AND (coalesce(include_reset, false) OR b.reset_at IS NULL)
    ORDER BY b.tripped_at, b.breaker_id;
$$;
COMMENT ON FUNCTION quant.list_breakers(boolean) IS 'The current user''s open breakers (all of them with include_reset), oldest first.';

CREATE FUNCTION quant.reset_breaker(breaker_id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b trade.breaker;
    old_json jsonb;
BEGIN
    IF breaker_id IS NULL THEN
        RAISE EXCEPTION 'quant.reset_breaker: breaker_id must not be NULL' USING ERRCODE = '22004', COLUMN = 'breaker_id';
    END IF;
    SELECT * INTO b FROM trade.breaker x
    WHERE x.breaker_id = reset_breaker.breaker_id AND x.user_id = quant.current_user_id() FOR UPDATE;
    IF b.breaker_id IS NULL THEN
        RAISE EXCEPTION 'quant.reset_breaker: breaker % not found', breaker_id
            USING ERRCODE = 'P0002', COLUMN = 'breaker_id', HINT = 'quant.list_breakers() lists your open breakers';
    END IF;
    IF b.reset_at IS NOT NULL THEN
        RETURN trade.breaker_json(b);  -- resetting twice changes nothing
    END IF;
    old_json := trade.breaker_json(b);
    UPDATE trade.breaker x SET reset_at = clock_timestamp(), reset_by = quant.current_user_id()
     WHERE x.breaker_id = b.breaker_id
    RETURNING * INTO b;
    PERFORM trade.write_audit('breaker', b.breaker_id, 'reset', old_json, trade.breaker_json(b));
    RETURN trade.breaker_json(b);
END
$$;
COMMENT ON FUNCTION quant.reset_breaker(uuid) IS
  'A person resets an open breaker of the current user (audited). The deployments it disabled stay disabled until enabled again (quant.update_deployment); losses, peaks and losing streaks are measured afresh from the reset. P0002 when not yours.';

-- ---- the worker's half ----
CREATE FUNCTION trade.breaker_fills(dep uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_array((extract(epoch FROM f.ts) * 1000000)::bigint,
                                                        CASE f.side WHEN 'BUY' THEN f.qty ELSE -f.qty END, f.price, f.fee)
                                      ORDER BY f.ts, f.fill_id), '[]')
            FROM trade.fill f WHERE f.deployment_id = dep);
END
$$;
COMMENT ON FUNCTION trade.breaker_fills(uuid) IS 'Internal: a deployment''s fills as [[ts_us, signed qty, price, fee], ...] in time order.';
REVOKE ALL ON FUNCTION trade.breaker_fills(uuid) FROM PUBLIC;

CREATE FUNCTION trade.worker_breaker_facts(dep uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment;
    acct jsonb;
    dep_since timestamptz;
    acct_since timestamptz;
    books jsonb;
BEGIN
    SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = dep;
    IF d.deployment_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT a.limits INTO acct FROM trade.account_limits a WHERE a.user_id = d.user_id;
    SELECT max(b.reset_at) INTO dep_since FROM trade.breaker b
    WHERE b.deployment_id = d.deployment_id AND b.reset_at IS NOT NULL;
    SELECT max(b.reset_at) INTO acct_since FROM trade.breaker b
    WHERE b.user_id = d.user_id AND b.scope = 'account' AND b.reset_at IS NOT NULL;
    -- the books only when a breaker measures them: the deployment sets one of its breakers
    -- (trade.breaker's names but the account's max_open_exposure) or the user has account
    -- limits; otherwise quant::evaluate_breakers reads none, and the fills are not read
    IF acct IS NULL AND NOT d.risk_limits ?| ARRAY['max_daily_loss', 'max_daily_loss_pct', 'max_drawdown',
                                                  'max_drawdown_pct', 'max_consecutive_losses'] THEN
        books := '[]';
    ELSE
        SELECT coalesce(jsonb_agg(jsonb_build_object('deployment_id', t.deployment_id,
                                                     'price', (trade.symbol_price(t.broker, t.ticker)).price,
                                                     'fills', trade.breaker_fills(t.deployment_id))
                                  ORDER BY t.deployment_id), '[]')
        INTO books
        FROM trade.deployment t
        WHERE t.user_id = d.user_id
          AND (t.deployment_id = d.deployment_id OR (acct IS NOT NULL AND EXISTS (SELECT 1 FROM trade.fill f WHERE f.deployment_id = t.deployment_id)));
    END IF;
    RETURN jsonb_build_object(
        'deployment_id', d.deployment_id, 'user_id', d.user_id, 'risk_limits', d.risk_limits,
        'account_limits', acct,
        'now_us', (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,
        'day_start_us', (extract(epoch FROM date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') * 1000000)::bigint,
        'deployment_since_us', (extract(epoch FROM dep_since) * 1000000)::bigint,
        'account_since_us', (extract(epoch FROM acct_since) * 1000000)::bigint,
        'books', books);
END
$$;
COMMENT ON FUNCTION trade.worker_breaker_facts(uuid) IS
  'quant-worker: what the breakers of a deployment and its user are measured on: risk_limits, account_limits (NULL: none), the start of the UTC day, the last resets (deployment_since_us, account_since_us), and books [{deployment_id, price (trade.symbol_price), fills [[ts_us, signed qty, price, fee]]}] of the deployment (and, with account limits, of every deployment of the user with fills); books is [] when neither the deployment''s risk_limits set a breaker nor the user has account limits (nothing measures them). Times in microseconds since the epoch.';

CREATE FUNCTION trade.write_flatten_signal(d trade.deployment, why text) RETURNS trade.signal
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g trade.signal;
    data_ticker text;
BEGIN
    SELECT * INTO g FROM trade.signal s
    WHERE s.deployment_id = d.deployment_id AND s.source = 'flatten' AND s.status IN ('PENDING', 'PROCESSING')
    ORDER BY s.created_at DESC LIMIT 1;
    IF g.signal_id IS NOT NULL THEN
        RETURN g;  -- a flatten is on its way
    END IF;
    SELECT v.config->>'ticker' INTO data_ticker FROM bt.strategy_version v
    WHERE v.strategy_id = d.strategy_id AND v.version = d.strategy_version;
    INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, evaluation, strategy_version, ticker, source)
    VALUES (d.deployment_id, d.user_id, clock_timestamp(), 0,
            jsonb_build_object('source', 'flatten', 'signal', 0, 'why', why), d.strategy_version, data_ticker, 'flatten')
    RETURNING * INTO g;
    INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, success, message, reason, bar_ts)
    VALUES (d.deployment_id, g.signal_id, d.user_id, 0, 'HOLD', true,
            format('%s: flattening signal %s', why, g.signal_id), 'flatten', g.bar_ts);
    PERFORM pg_catalog.pg_notify('quant_signal', g.signal_id::text);
    RETURN g;
END
$$;
COMMENT ON FUNCTION trade.write_flatten_signal(trade.deployment, text) IS
  'Internal: a flattening signal (signal 0, source flatten, NOTIFY quant_signal) for a deployment, with a HOLD row (reason flatten, success: it ends a pause); the open one when a flatten is already on its way.';
REVOKE ALL ON FUNCTION trade.write_flatten_signal(trade.deployment, text) FROM PUBLIC;

CREATE FUNCTION trade.worker_trip_breaker(dep uuid, sid uuid, trip_scope text, trip_breaker text,
                                          trip_value double precision, trip_limit double precision,
                                          trip_message text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment;
    x trade.deployment;
    b trade.breaker;
    flatten boolean;
    disabled jsonb := '[]';
    flattens jsonb := '[]';
    g trade.signal;
BEGIN
    SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = dep;
    IF d.deployment_id IS NULL THEN
        RAISE EXCEPTION 'trade.worker_trip_breaker: no deployment %', dep USING ERRCODE = 'P0002';
    END IF;
    PERFORM trade.set_transaction_user(d.user_id);
    INSERT INTO trade.breaker (user_id, deployment_id, scope, breaker, value, limit_value, message)
    VALUES (d.user_id, CASE WHEN trip_scope = 'deployment' THEN d.deployment_id END, trip_scope, trip_breaker,
            trip_value, trip_limit, trip_message)
    ON CONFLICT (user_id, coalesce(deployment_id::text, ''), breaker) WHERE reset_at IS NULL DO NOTHING
    RETURNING * INTO b;
    IF b.breaker_id IS NULL THEN
        RETURN jsonb_build_object('tripped', false);  -- open already
    END IF;
    -- the breach's own audit row, also when nothing is left to disable (issue 15's chaos soak:
    -- a breaker tripped by an exit of a deployment a person had disabled left no audit row)
    PERFORM trade.write_audit('breaker', b.breaker_id, 'trip', NULL, trade.breaker_json(b), trip_message);
    flatten := CASE WHEN trip_scope = 'deployment' THEN coalesce((d.risk_limits->>'flatten_on_breach')::boolean, false)
                    ELSE coalesce((SELECT (a.limits->>'flatten_on_breach')::boolean FROM trade.account_limits a
                                   WHERE a.user_id = d.user_id), false) END;
    FOR x IN SELECT * FROM trade.deployment t
             WHERE t.user_id = d.user_id AND t.stopped_at IS NULL
               AND (t.deployment_id = d.deployment_id OR trip_scope = 'account')
             ORDER BY t.deployment_id FOR UPDATE
    LOOP
        IF x.enabled THEN
            x := trade.disable_deployment(x, 'breaker');
            disabled := disabled || to_jsonb(x.deployment_id);
        END IF;
        IF flatten AND EXISTS (SELECT 1 FROM trade.position p WHERE p.deployment_id = x.deployment_id AND p.qty <> 0) THEN
            g := trade.write_flatten_signal(x, 'breaker ' || trip_breaker);
            flattens := flattens || to_jsonb(g.signal_id);
        END IF;
    END LOOP;
    INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, success, message, reason, bar_ts)
    SELECT d.deployment_id, s.signal_id, d.user_id, s.signal, 'REJECTED', false,
           format('breaker %s (%s) tripped: %s; new entries stopped%s', trip_breaker, trip_scope, trip_message,
                  CASE WHEN flatten THEN ', flattening' ELSE '' END),
           trip_breaker, s.bar_ts
    FROM (SELECT sid AS signal_id) k LEFT JOIN trade.signal s ON s.signal_id = k.signal_id;
    PERFORM pg_catalog.pg_notify('quant_alert', jsonb_build_object(
        'kind', 'breaker', 'user_id', d.user_id, 'deployment_id', d.deployment_id, 'scope', trip_scope,
        'breaker', trip_breaker, 'value', trip_value, 'limit', trip_limit, 'message', trip_message,
        'breaker_id', b.breaker_id, 'flatten', flatten, 'at', b.tripped_at)::text);
    RETURN trade.breaker_json(b) || jsonb_build_object('tripped', true, 'disabled', disabled,
                                                       'flatten_signals', flattens);
END
$$;
COMMENT ON FUNCTION trade.worker_trip_breaker(uuid, uuid, text, text, double precision, double precision, text) IS
  'quant-worker: a breaker (scope deployment or account) tripped for a deployment: a trade.breaker row (nothing when the same breaker is open already) and its audit row (entity breaker, action trip), the deployment (or every deployment of its user) disabled and audited (action breaker), flattening signals when flatten_on_breach is set, a REJECTED trade.log row whose reason is the breaker''s name, and a NOTIFY on quant_alert (kind breaker). Returns the breaker with tripped, disabled and flatten_signals.';

CREATE FUNCTION trade.worker_alert(kind text, payload jsonb) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.pg_notify('quant_alert', (jsonb_build_object('kind', kind, 'at', clock_timestamp()) || payload)::text);
$$;
COMMENT ON FUNCTION trade.worker_alert(text, jsonb) IS
  'quant-worker: an alert on the NOTIFY channel quant_alert (JSON payload {kind, at, ...}): kinds unknown_position, repeated_rejects, stale_data (the breakers and the halt NOTIFY their own).';

-- TRADE/kill_switch.sql
-- The kill switches (issue 15, part 2): four of them, one meaning each.
--
--   enabled = false (quant.update_deployment, per deployment): no new entries. The schedule
--     writes no signal for it; a signal already written or claimed still runs, but only its
--     reduce-only legs are sent (the core's check_order: kill_switch blocks the rest), so exits
--     and the stop loss (quant.check_stop_losses looks at disabled deployments too) still run
--     and nothing is trapped.
--   quant.flatten_deployment(id): disables the deployment at once (as above) and writes a
--     flattening signal (signal 0, source flatten) that quant-worker executes through the normal
--     checked path (reduce-only legs, intent before send). A HOLD row (reason flatten, success)
--     ends a pause after repeated rejects, as the stop loss's does.
--   quant.disable_all_deployments(): enabled = false on every deployment of the current user.
--   quant.halt_trading(reason) / quant.resume_trading() (quant_admin only): while halted, no
--     order of anyone is sent, exits included. The worker refuses claimed signals (REJECTED,
--     reason halted) and checks once more right before each send (trade.worker_send_gate).
--
-- The last check before a send: quant-worker opens a transaction, calls trade.worker_send_gate
-- (which takes trade.trading_halt's row and the deployment's row FOR SHARE), sends the order
-- and commits only after the broker answered. quant.halt_trading updates the halt row and
-- quant.update_deployment, flatten and disable_all update the deployment row, so each waits
-- for a send in flight: when one of them returns, no refused order is being sent and none will
-- be. An order whose intent was committed before the switch (claimed, not yet sent) is refused
-- by the gate: status REJECTED, never sent (sent_at NULL), and a REJECTED trade.log row.

CREATE TABLE trade.trading_halt (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    halted      boolean NOT NULL DEFAULT false,
    reason      text,
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by  text NOT NULL DEFAULT session_user
);
INSERT INTO trade.trading_halt (singleton) VALUES (true);
-- no policy: only its owner's functions (SECURITY DEFINER) read or change it
ALTER TABLE trade.trading_halt ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.trading_halt FORCE ROW LEVEL SECURITY;
COMMENT ON TABLE trade.trading_halt IS 'The administrators'' halt of all trading (one row): while halted, quant-worker sends no order of anyone. Changed by quant.halt_trading and quant.resume_trading only; the history is trade.trading_halt_log.';

CREATE TABLE trade.trading_halt_log (
    event_id    uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    halted      boolean NOT NULL,
    reason      text,
    db_role     text NOT NULL DEFAULT session_user
);
COMMENT ON TABLE trade.trading_halt_log IS 'Every halt and resume of all trading: when, which database login, why.';
ALTER TABLE trade.trading_halt_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.trading_halt_log FORCE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('trade.trading_halt_log', '');

-- ---- the administrators' halt ----
CREATE FUNCTION quant.trading_status() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('halted', h.halted, 'reason', h.reason, 'since', h.changed_at, 'by', h.changed_by)
    FROM trade.trading_halt h;
$$;
COMMENT ON FUNCTION quant.trading_status() IS
  'Whether all trading is halted by an administrator: {halted, reason, since, by}.';

CREATE FUNCTION quant.halt_trading(reason text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'quant.halt_trading: reason must be given' USING ERRCODE = '22004', COLUMN = 'reason',
            HINT = 'say why, e.g. quant.halt_trading(''broker outage'')';
    END IF;
    -- waits for every send in flight (trade.worker_send_gate holds this row FOR SHARE)
    UPDATE trade.trading_halt h
       SET halted = true, reason = halt_trading.reason, changed_at = clock_timestamp(), changed_by = session_user;
    INSERT INTO trade.trading_halt_log (halted, reason) VALUES (true, reason);
    PERFORM pg_catalog.pg_notify('quant_alert', jsonb_build_object('kind', 'halt', 'halted', true, 'reason', reason,
                                                                   'at', clock_timestamp())::text);
    RETURN quant.trading_status();
END
$$;
COMMENT ON FUNCTION quant.halt_trading(text) IS
  'quant_admin: halts all trading: quant-worker sends no order of anyone (exits included) until quant.resume_trading; claimed signals are REJECTED (reason halted). Returns once no send is in flight. Logged in trade.trading_halt_log and NOTIFYed on quant_alert.';

CREATE FUNCTION quant.resume_trading() RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE trade.trading_halt h
       SET halted = false, reason = NULL, changed_at = clock_timestamp(), changed_by = session_user;
    INSERT INTO trade.trading_halt_log (halted, reason) VALUES (false, NULL);
    PERFORM pg_catalog.pg_notify('quant_alert', jsonb_build_object('kind', 'halt', 'halted', false,
                                                                   'at', clock_timestamp())::text);
    RETURN quant.trading_status();
END
$$;
COMMENT ON FUNCTION quant.resume_trading() IS
  'quant_admin: ends the halt of all trading (signals refused while halted stay refused). Logged and NOTIFYed on quant_alert.';

-- ---- the users' switches ----
CREATE FUNCTION trade.disable_deployment(d trade.deployment, action text) RETURNS trade.deployment
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old_json jsonb := trade.deployment_json(d);
BEGIN
    IF NOT d.enabled THEN
        RETURN d;
    END IF;
    UPDATE trade.deployment t
       SET enabled = false, updated_at = now(), config = t.config || '{"enabled": false}'
     WHERE t.deployment_id = d.deployment_id
    RETURNING * INTO d;
    PERFORM trade.write_audit('deployment', d.deployment_id, action, old_json, trade.deployment_json(d));
    RETURN d;
END
$$;
COMMENT ON FUNCTION trade.disable_deployment(trade.deployment, text) IS
  'Internal: enabled = false on a (locked) deployment row of the current user, audited with the given action; unchanged when already disabled.';
REVOKE ALL ON FUNCTION trade.disable_deployment(trade.deployment, text) FROM PUBLIC;

CREATE FUNCTION quant.flatten_deployment(id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- FOR UPDATE: waits for a send in flight of this deployment (trade.worker_send_gate)
    d trade.deployment := trade.own_deployment(id, 'quant.flatten_deployment', true);
    g trade.signal;
BEGIN
    d := trade.disable_deployment(d, 'flatten');
    g := trade.write_flatten_signal(d, 'flatten by ' || d.user_id || ': deployment disabled');  -- TRADE/breaker.sql
    RETURN trade.deployment_json(d) || jsonb_build_object('flatten_signal_id', g.signal_id);
END
$$;
COMMENT ON FUNCTION quant.flatten_deployment(uuid) IS
  'Flattens a deployment of the current user: disables it at once (no new entries; audited, action flatten) and writes a flattening signal (signal 0, source flatten; NOTIFY quant_signal) that quant-worker executes through its normal checks with reduce-only legs. Returns the Deployment JSON with flatten_signal_id (the open one when a flatten is already on its way). P0002 when not yours.';

CREATE FUNCTION quant.disable_all_deployments() RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment;
    ids jsonb := '[]';
BEGIN
    FOR d IN SELECT * FROM trade.deployment t
             WHERE t.user_id = quant.current_user_id() AND t.enabled
             ORDER BY t.created_at, t.deployment_id FOR UPDATE
    LOOP
        d := trade.disable_deployment(d, 'disable_all');
        ids := ids || to_jsonb(d.deployment_id);
    END LOOP;
    RETURN jsonb_build_object('disabled', jsonb_array_length(ids), 'deployment_ids', ids);
END
$$;
COMMENT ON FUNCTION quant.disable_all_deployments() IS
  'The current user''s kill switch for everything: enabled = false on every enabled deployment (no new entries; exits and the stop loss still run), each audited (action disable_all). Returns {disabled, deployment_ids}.';

-- ---- the worker's last check before a send ----
CREATE FUNCTION trade.worker_send_gate(coid text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o trade."order";
    h trade.trading_halt;
    d trade.deployment;
    g trade.signal;
    code text;
    msg text;
BEGIN
    SELECT * INTO o FROM trade."order" x WHERE x.client_order_id = coid FOR UPDATE;
    IF o.order_id IS NULL THEN
        RAISE EXCEPTION 'trade.worker_send_gate: no order with client id %', coid USING ERRCODE = 'P0002';
    END IF;
    SELECT * INTO h FROM trade.trading_halt x FOR SHARE;
    SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = o.deployment_id FOR SHARE;
    IF h.halted THEN
        code := 'halted';
        msg := format('trading is halted by an administrator since %s: %s', h.changed_at, h.reason);
    ELSIF NOT o.reduce_only AND NOT (d.enabled AND d.stopped_at IS NULL) THEN
        code := 'kill_switch';
        msg := 'deployment is disabled (kill switch): no new entries, exits only';
    ELSIF NOT o.reduce_only THEN
        msg := trade.breaker_open(d);  -- TRADE/breaker.sql
        IF msg IS NOT NULL THEN
            code := 'breaker';
        END IF;
    END IF;
    IF code IS NULL THEN
        RETURN jsonb_build_object('allowed', true);
    END IF;
    IF o.status = 'NEW' THEN
        UPDATE trade."order" x SET status = 'REJECTED', resolved_at = clock_timestamp(), reason = code || ': ' || msg
         WHERE x.order_id = o.order_id;
        SELECT * INTO g FROM trade.signal s WHERE s.signal_id = o.signal_id;
        INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, order_id, success,
                               message, reason, bar_ts)
        VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, 'REJECTED', o.qty, o.client_order_id, false,
                msg || ' (checked right before the send; never sent)', code, g.bar_ts);
        -- the signal is finished: DONE when an earlier leg filled, else REJECTED (the core's finish_after_block)
        UPDATE trade.signal s
           SET status = CASE WHEN EXISTS (SELECT 1 FROM trade."order" x WHERE x.signal_id = o.signal_id
                                                                        AND x.status = 'FILLED')
                             THEN 'DONE' ELSE 'REJECTED' END,
               processed_at = now()
         WHERE s.signal_id = o.signal_id;
    END IF;
    RETURN jsonb_build_object('allowed', false, 'code', code, 'message', msg);
END
$$;
COMMENT ON FUNCTION trade.worker_send_gate(text) IS
  'quant-worker, right before a send, in the transaction it commits after the broker answered: locks trade.trading_halt and the deployment FOR SHARE (so a halt, a disable or a flatten waits for the send), then refuses the order when trading is halted (halted), or, for an order that is not reduce-only, when the deployment is disabled or stopped (kill_switch) or a breaker is open (breaker). A refused NEW order becomes REJECTED (never sent) with a REJECTED trade.log row, and its signal DONE when an earlier leg filled, else REJECTED. Returns {allowed, code, message}.';

-- TRADE/order.sql: the worker's facts say whether trading is halted and why a breaker blocks entries

-- TRADE/stop_loss.sql: disabled deployments are checked too (the kill switch stops entries, not exits)
CREATE OR REPLACE FUNCTION quant.check_stop_losses() RETURNS integer
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
-- TRADE/schedule.sql: stale_bar and no_bars also NOTIFY quant_alert (kind stale_data)
-- trade.run_one: its final text is in the section "main (merge)" below

-- grants (sql/grants.sql, sql/privileges.md)
REVOKE ALL ON trade.breaker, trade.account_limits, trade.trading_halt, trade.trading_halt_log
    FROM PUBLIC, quant_app, quant_worker, quant_admin;
REVOKE ALL ON FUNCTION quant.normalize_account_limits(jsonb), trade.breaker_json(trade.breaker)
    FROM quant_app, quant_worker, quant_admin;
REVOKE ALL ON FUNCTION trade.breaker_fills(uuid), trade.breaker_open(trade.deployment),
    trade.disable_deployment(trade.deployment, text), trade.write_flatten_signal(trade.deployment, text)
    FROM PUBLIC, quant_app, quant_worker, quant_admin;
REVOKE ALL ON FUNCTION quant.flatten_deployment(uuid), quant.disable_all_deployments(), quant.trading_status(),
    quant.set_account_limits(jsonb), quant.account_limits(), quant.list_breakers(boolean), quant.reset_breaker(uuid),
    quant.halt_trading(text), quant.resume_trading(), trade.worker_send_gate(text), trade.worker_breaker_facts(uuid),
    trade.worker_trip_breaker(uuid, uuid, text, text, double precision, double precision, text),
    trade.worker_alert(text, jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.flatten_deployment(uuid), quant.disable_all_deployments(), quant.trading_status(),
    quant.set_account_limits(jsonb), quant.account_limits(), quant.list_breakers(boolean), quant.reset_breaker(uuid)
  TO quant_app, quant_admin;
GRANT EXECUTE ON FUNCTION quant.halt_trading(text), quant.resume_trading() TO quant_admin;
GRANT EXECUTE ON FUNCTION trade.worker_send_gate(text), trade.worker_breaker_facts(uuid),
    trade.worker_trip_breaker(uuid, uuid, text, text, double precision, double precision, text),
    trade.worker_alert(text, jsonb), quant.trading_status()
  TO quant_worker;

-- ==== wp-feed: the live feed (md.feed, md.bar_fetch, md.feed_run, md.feed_wait; set_feed, list_feeds, fetch_log, claim/store_fetch, feed_deadline); run_one: closed bars only, stale_bars for every product; run_schedule_for waits for the feed; quant_feed_deadline job ====
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
  'Sets the market-data source of a data ticker at an interval (shared by every user, like md.bar): source manual or a broker (BYBIT; FUTU once its adapter serves bars), the broker''s symbol (default the ticker) and category, enabled, min_bars (history to keep at least) and continuous (default: true for BYBIT). Returns the feed as JSON. Administrators only (quant_admin).';
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

-- trade.run_one: its final text is in the section "main (merge)" below

CREATE OR REPLACE FUNCTION trade.run_schedule_for(schedule text, market text) RETURNS integer
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

-- quant.install_schedules: its final text is in the section "issue 17 bars (wp-bars)" below
REVOKE ALL ON FUNCTION quant.install_schedules() FROM PUBLIC;

COMMENT ON COLUMN trade.log.reason IS 'For REJECTED rows, a reason code to query by (the live loop writes stale_bars, insufficient_history, no_bars, error); the text is in message';

COMMENT ON COLUMN trade.log.bar_ts IS 'The bar the row is about, when known (e.g. the stale bar of a stale_bars rejection)';

-- grants (sql/grants.sql, sql/privileges.md); the SECURITY INVOKER ones get the explicit
-- PUBLIC EXECUTE of a fresh install (its grants.sql revokes from the roles, which writes the ACL)
REVOKE ALL ON md.feed, md.bar_fetch, md.feed_run, md.feed_wait FROM PUBLIC, quant_app, quant_worker, quant_admin;
REVOKE ALL ON FUNCTION md.strategy_products(jsonb), md.bars_needed(jsonb), md.strategy_interval(jsonb),
    md.latest_closed_bar(text, text, timestamptz), md.stale_factor(jsonb, timestamptz, double precision),
    md.deadline_seconds(), md.feed_json(md.feed), md.fetch_json(md.bar_fetch),
    md.start_feed_run(text, text), md.evaluate_waiting(bigint, boolean, text),
    md.finish_fetch(bigint, timestamptz, integer, text, jsonb, text) FROM quant_app, quant_worker, quant_admin;
REVOKE ALL ON FUNCTION md.claim_fetch(text, double precision, integer),
    md.store_fetch(bigint, text, timestamptz, integer, jsonb, text), quant.feed_deadline(),
    quant.set_feed(text, text, text, text, text, boolean, integer, boolean), quant.list_feeds(),
    quant.fetch_log(text, text, integer, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.list_feeds(), quant.fetch_log(text, text, integer, bigint) TO quant_app, quant_admin;
GRANT EXECUTE ON FUNCTION quant.set_feed(text, text, text, text, text, boolean, integer, boolean) TO quant_admin;
GRANT EXECUTE ON FUNCTION md.claim_fetch(text, double precision, integer),
    md.store_fetch(bigint, text, timestamp with time zone, integer, jsonb, text), quant.feed_deadline()
  TO quant_worker;

-- ==== wp-bybit: partial fills booked part by part (trade.fill one row per part), the BYBIT environment of a deployment (demo/testnet/mainnet in its config) ====
ALTER TABLE trade.fill DROP CONSTRAINT fill_order_id_key;
CREATE INDEX fill_order_idx ON trade.fill (order_id);
COMMENT ON TABLE trade.fill IS 'Fills of trade."order" rows as the broker reported them: one row per part filled (a market order that fills at once has one)';

DROP FUNCTION trade.worker_credential(uuid);
CREATE FUNCTION trade.worker_credential(deployment_id uuid)
RETURNS TABLE (broker text, environment text, category text, api_key text, nonce bytea, ciphertext bytea,
               booked_qty numeric)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.broker, e.environment, coalesce(d.config->>'category', 'linear'), c.api_key, c.nonce, c.ciphertext,
           coalesce((SELECT p.qty FROM trade.position p WHERE p.deployment_id = d.deployment_id), 0)
      FROM trade.deployment d
      CROSS JOIN LATERAL (SELECT coalesce(d.config->>'environment', trade.broker_environment(d.broker, d.paper)) AS environment) e
      LEFT JOIN trade.broker_credential c
        ON c.user_id = d.user_id AND c.broker = d.broker AND c.environment = e.environment
     WHERE d.deployment_id = worker_credential.deployment_id;
$$;
COMMENT ON FUNCTION trade.worker_credential(uuid) IS 'Internal (quant-worker): broker, environment (the config''s, else demo for paper and mainnet for live), category (spot or linear, default linear), the credentials (still sealed; NULL when none) of a deployment''s user, and the position booked for it (booked_qty: a spot position is the base-coin balance, at most this). SECURITY DEFINER (every user''s deployments, as trade.worker_context).';
REVOKE ALL ON FUNCTION trade.worker_credential(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION trade.worker_credential(uuid) TO quant_worker;

-- trade.deployment_requires_credential: its final text is in the section "issue 14 (wp-futu, session 6)" below
DROP TRIGGER deployment_requires_credential ON trade.deployment;
CREATE TRIGGER deployment_requires_credential
    BEFORE INSERT OR UPDATE OF broker, paper, enabled, config ON trade.deployment
    FOR EACH ROW EXECUTE FUNCTION trade.deployment_requires_credential();
COMMENT ON FUNCTION trade.broker_environment(text, boolean) IS 'The default broker environment of a deployment (its config''s environment, demo or testnet with paper = true, overrides it): paper = true trades on the demo account (BYBIT: api-demo.bybit.com, mainnet prices, simulated funds), paper = false on mainnet; NULL for PAPER.';

-- ==== wp-futu: FUTU credentials (the trade password of OpenD's REAL environment, keyed by accID), FUTU environments simulate / real ====
ALTER TABLE trade.broker_credential DROP CONSTRAINT broker_credential_environment_check;
ALTER TABLE trade.broker_credential ADD CONSTRAINT broker_credential_environment_check
    CHECK (environment IN ('mainnet', 'testnet', 'demo', 'simulate', 'real'));
COMMENT ON COLUMN trade.broker_credential.environment IS 'BYBIT: mainnet, testnet or demo (a Bybit key works on its own environment only); FUTU: real (the trade password) or simulate';
-- trade.broker_environment: its final text is in the section "main (merge)" below

-- ==== main (merge): the final text of functions that several branches of this wave replaced (run_one: intervals, kill switches, the feed; broker_environment: Bybit testnet, Futu) ====

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

CREATE OR REPLACE FUNCTION trade.broker_environment(broker text, paper boolean) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN broker = 'PAPER' THEN NULL
                WHEN broker = 'FUTU' THEN CASE WHEN paper THEN 'simulate' ELSE 'real' END
                WHEN paper THEN 'demo' ELSE 'mainnet' END;
$$;
COMMENT ON FUNCTION trade.broker_environment(text, boolean) IS 'The default broker environment of a deployment (a BYBIT config''s environment, demo or testnet with paper = true, overrides it): BYBIT paper = true trades on the demo account (api-demo.bybit.com, mainnet prices, simulated funds), paper = false on mainnet; FUTU paper = true on OpenD''s SIMULATE environment, paper = false on REAL (unlocked with the trade password); NULL for PAPER.';

-- ---- issue 16 (wp-live): the live path's speed ----
-- paper.price_of and trade.symbol_price found the latest close by sorting every bar of the ticker
-- (the primary key is (ticker, interval, ts): "ticker = x ORDER BY ts DESC" cannot use it); 0.9 ms
-- a call at 5,550 bars, five calls per signal. Now the latest bar of each interval through the
-- primary key, then the latest of those: the same bar (bench/README.md, "Live path").
-- Then md.bar was partitioned (below), and that lateral join planned every partition on every
-- call (3 ms a call): the latest bar of each pair is now kept in md.bar_version by its trigger and
-- read by md.latest_bar (one key look-up).
ALTER TABLE md.bar_version ADD COLUMN last_ts timestamptz, ADD COLUMN last_close double precision;
COMMENT ON TABLE md.bar_version IS
  'Per ticker and bar interval, a counter bumped by every INSERT, UPDATE, DELETE or TRUNCATE of those bars (the bar cache key), and the latest bar of the pair (last_ts, last_close; NULL when it has none)';
COMMENT ON COLUMN md.bar_version.last_ts IS 'the open time of the latest bar of the pair, read again from md.bar after every statement that changed them; NULL when it has none';
COMMENT ON COLUMN md.bar_version.last_close IS 'the close of that bar';
-- kept by pg_dump with the bars (a restore loads the partitions directly, around md.bar's triggers)
SELECT pg_catalog.pg_extension_config_dump('md.bar_version', '');

CREATE OR REPLACE FUNCTION md.bump_bar_version() RETURNS trigger
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
UPDATE md.bar_version v
   SET (last_ts, last_close) = (SELECT b.ts, b.close FROM md.bar b
                                 WHERE b.ticker = v.ticker AND b.interval = v.interval
                                 ORDER BY b.ts DESC LIMIT 1);

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
-- the ACL a fresh install's grants.sql gives it (PUBLIC may execute: SECURITY INVOKER)
REVOKE ALL ON FUNCTION md.latest_bar(text) FROM quant_app, quant_worker, quant_admin;

CREATE OR REPLACE FUNCTION paper.price_of(symbol text) RETURNS double precision
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    px double precision;
BEGIN
    -- the latest bar of the symbol as a data ticker, else of the data ticker a shared PAPER mapping
    -- gives it (md.latest_bar: one key look-up; PL/pgSQL so that the plans are cached, 5 calls a signal)
    SELECT x.close INTO px FROM md.latest_bar(symbol) x;
    IF px IS NULL THEN
        SELECT x.close INTO px FROM refdata.ticker_mapping m CROSS JOIN LATERAL md.latest_bar(m.data_ticker) x
         WHERE m.broker = 'PAPER' AND m.broker_ticker = symbol AND m.user_id IS NULL
         ORDER BY x.ts DESC LIMIT 1;
    END IF;
    RETURN px;
END
$$;

-- the claim's candidates (status PENDING, or PROCESSING past the lease or this worker's own, by
-- created_at, signal_id) were a scan and a sort of every signal ever written: an index in that
-- order over the claimable rows
-- the claim's candidates in its order without a scan of every signal ever written (issue 16)
CREATE INDEX signal_claimable_idx ON trade.signal (created_at, signal_id) WHERE status IN ('PENDING', 'PROCESSING');

-- the bar cache bounded (quant.bar_cache_size, bars.c) and its figures visible: sql/MD/bar_cache.sql
-- The per-backend bar cache of the backtest engine's bar loader (extension/src/bars.c; issue 16):
-- bounded by the setting quant.bar_cache_size (kB, default 256 MB, 0 = off; superuser-settable),
-- least recently used entries dropped to make room. What it holds and did, for this backend.
CREATE FUNCTION quant.bar_cache_stats(OUT entries integer, OUT max_entries integer, OUT bars bigint,
                                      OUT bytes bigint, OUT limit_bytes bigint, OUT hits bigint,
                                      OUT misses bigint, OUT evictions bigint)
AS 'MODULE_PATHNAME', 'quant_bar_cache_stats' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION quant.bar_cache_stats() IS
  'This backend''s bar cache (the bars of quant.backtest, optimize and the deployments'' evaluation): entries (ticker and interval series held) of max_entries, bars and bytes held, limit_bytes (the setting quant.bar_cache_size), and since the backend started: hits, misses (bars read from md.bar), evictions (entries dropped to make room).';

CREATE VIEW quant.bar_cache AS SELECT * FROM quant.bar_cache_stats();
COMMENT ON VIEW quant.bar_cache IS 'quant.bar_cache_stats() as a view: this backend''s bar cache, its size, bound, hits and misses.';
GRANT SELECT ON quant.bar_cache TO PUBLIC;
-- the explicit ACL a fresh install gives it (sql/grants.sql revokes from the roles)
REVOKE ALL ON FUNCTION quant.bar_cache_stats() FROM quant_app, quant_worker, quant_admin;

-- ==== issue 13 (wp-ui): the web UI's calls: quant.deployment_dashboard (the dashboard in one call), people's logins administered by an administrator person (trade.person.admin, quant.set_person_admin, quant.admin_list_users/create_user/reset_password/unlock_user, quant.person_is_admin), quant.clone_strategy ====
-- The web UI's own calls (issue 13): the dashboard in one call, people's logins administered by
-- a person who is an administrator (over REST, as quant_app), and cloning a strategy.
--
-- Installed after grants.sql (sql/install-order.txt), so this file makes its own grants: its
-- SECURITY DEFINER functions are REVOKEd from PUBLIC and granted by name here.
--
-- An administrator of people's logins is a person with trade.person.admin (set by
-- quant.set_person_admin: a superuser or quant_admin, as quant.set_person_password is). The REST
-- layer always runs as quant_app, so the privilege of the admin_* functions is checked on the
-- current quant user: anyone else gets 42501 (403 over REST).

ALTER TABLE trade.person ADD COLUMN admin boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN trade.person.admin IS 'Whether this person administers people''s logins (create, reset, unlock) through quant.admin_* (REST /api/v1/admin/users); set by quant.set_person_admin.';

-- ---- the dashboard ----
CREATE FUNCTION quant.deployment_dashboard(include_stopped boolean DEFAULT false) RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT trade.deployment_json(d) || jsonb_build_object(
        'last_signal', (SELECT jsonb_build_object('signal_id', g.signal_id, 'bar_ts', g.bar_ts, 'signal', g.signal,
                                                  'status', g.status, 'created_at', g.created_at)
                        FROM trade.signal g WHERE g.deployment_id = d.deployment_id AND g.user_id = d.user_id
                        ORDER BY g.bar_ts DESC, g.created_at DESC LIMIT 1),
        'last_trade', (SELECT jsonb_build_object('log_id', l.log_id, 'ts', l.ts, 'action', l.action, 'qty', l.qty,
                                                 'price', l.price, 'success', l.success, 'reason', l.reason,
                                                 'message', l.message)
                       FROM trade.log l WHERE l.deployment_id = d.deployment_id AND l.user_id = d.user_id
                       ORDER BY l.ts DESC, l.log_id DESC LIMIT 1),
        -- what the risk check counts against max_daily_trades (trade.worker_context)
        'trades_today', (SELECT count(*) FROM trade."order" o
                         WHERE o.deployment_id = d.deployment_id AND o.status <> 'REJECTED'
                           AND o.created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'),
        'max_daily_trades', coalesce((d.risk_limits->>'max_daily_trades')::integer, 10),
        'position_qty', coalesce(p.qty, 0),
        'avg_price', p.avg_price,
        'last_price', px.price,
        'realized_pnl', coalesce(p.realized_pnl, 0),
        'unrealized_pnl', u.unrealized,
        'pnl', coalesce(p.realized_pnl, 0) + u.unrealized)
    FROM trade.deployment d
    LEFT JOIN trade.position p ON p.deployment_id = d.deployment_id AND p.user_id = d.user_id
    LEFT JOIN LATERAL trade.symbol_price(d.broker, d.ticker) px ON true
    CROSS JOIN LATERAL (SELECT CASE WHEN coalesce(p.qty, 0) = 0 THEN 0::numeric
                                    WHEN px.price IS NOT NULL AND p.avg_price IS NOT NULL
                                    THEN (px.price::numeric - p.avg_price) * p.qty END AS unrealized) u
    WHERE d.user_id = quant.current_user_id() AND (coalesce(include_stopped, false) OR d.stopped_at IS NULL)
    ORDER BY d.created_at, d.deployment_id;
$$;
COMMENT ON FUNCTION quant.deployment_dashboard(boolean) IS
  'The deployments dashboard in one call: each deployment of the current user (not stopped ones unless include_stopped), oldest first, as its Deployment JSON plus last_signal (the newest by bar), last_trade (the newest trade.log row), trades_today (orders today, UTC, not rejected: what max_daily_trades counts) and max_daily_trades, position_qty, avg_price, last_price (trade.symbol_price), realized_pnl, unrealized_pnl ((last_price - avg_price) x qty; 0 when flat, null when unpriced) and pnl.';

-- ---- people's logins, by an administrator person ----
CREATE FUNCTION trade.require_person_admin(fn text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM trade.person p WHERE p.user_id = me AND p.admin) THEN
        RAISE EXCEPTION '%: only an administrator manages logins; % is not one', fn, me
            USING ERRCODE = '42501', HINT = 'an administrator of the installation makes a person one with quant.set_person_admin';
    END IF;
    RETURN me;
END
$$;
COMMENT ON FUNCTION trade.require_person_admin(text) IS 'Internal: the current quant user when they are an administrator person (trade.person.admin), else 42501.';
REVOKE ALL ON FUNCTION trade.require_person_admin(text) FROM PUBLIC;

CREATE FUNCTION trade.person_json(p trade.person) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('user', p.user_id, 'admin', p.admin, 'created_at', p.created_at,
                              'password_set_at', p.reset_at, 'failures', f.n,
                              'locked_until', CASE WHEN f.n >= trade.live_gate_max_failures()
                                                    AND f.last + trade.live_gate_lockout() > clock_timestamp()
                                                   THEN f.last + trade.live_gate_lockout() END)
    FROM (SELECT count(*)::integer AS n, max(x.at) AS last FROM trade.person_login_failure x
          WHERE x.user_id = p.user_id AND x.at > p.reset_at) f;
$$;
COMMENT ON FUNCTION trade.person_json(trade.person) IS 'Internal: a login as the admin page shows it: user, admin, created_at, password_set_at (the last reset or success), failures since, locked_until (null unless locked). Never the hash.';
REVOKE ALL ON FUNCTION trade.person_json(trade.person) FROM PUBLIC;

CREATE FUNCTION quant.set_person_admin(user_id text, admin boolean) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p trade.person;
BEGIN
    UPDATE trade.person t SET admin = coalesce(set_person_admin.admin, false)
     WHERE t.user_id = set_person_admin.user_id RETURNING * INTO p;
    IF p.user_id IS NULL THEN
        RAISE EXCEPTION 'quant.set_person_admin: no login "%"', left(coalesce(user_id, 'NULL'), 80)
            USING ERRCODE = 'P0002', COLUMN = 'user_id', HINT = 'create it first with quant.set_person_password';
    END IF;
    RETURN trade.person_json(p);
END
$$;
COMMENT ON FUNCTION quant.set_person_admin(text, boolean) IS
  'Makes a person an administrator of logins (or not). EXECUTE for quant_admin (and superusers) only: the privilege is the check.';

CREATE FUNCTION quant.admin_list_users() RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM trade.require_person_admin('quant.admin_list_users');
    RETURN QUERY SELECT trade.person_json(p) FROM trade.person p ORDER BY p.user_id;
END
$$;
COMMENT ON FUNCTION quant.admin_list_users() IS 'An administrator person: every login (trade.person_json), by name. 42501 for anyone else.';

CREATE FUNCTION quant.admin_create_user(user_id text, password text, admin boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.admin_create_user';
    p trade.person;
BEGIN
    PERFORM trade.require_person_admin(fn);
    IF user_id IS NULL OR user_id !~ '^[A-Za-z0-9_.@-]{1,64}$' THEN
        RAISE EXCEPTION '%: user_id must be 1 to 64 characters of letters, digits, _ . @ -, got "%"', fn,
                        left(coalesce(user_id, 'NULL'), 80)
            USING ERRCODE = '22023', COLUMN = 'user_id', HINT = 'a quant user name, as quant.set_user takes';
    END IF;
    IF password IS NULL OR length(password) < 8 OR length(password) > 200 THEN
        RAISE EXCEPTION '%: password must be 8 to 200 characters', fn USING ERRCODE = '22023', COLUMN = 'password';
    END IF;
    INSERT INTO trade.person AS t (user_id, password_hash, admin)
    VALUES (admin_create_user.user_id, trade.trade_password_hash(password), coalesce(admin_create_user.admin, false))
    ON CONFLICT ON CONSTRAINT person_pkey DO NOTHING
    RETURNING * INTO p;
    IF p.user_id IS NULL THEN
        RAISE EXCEPTION '%: the login "%" exists already', fn, user_id
            USING ERRCODE = '55000', COLUMN = 'user_id', HINT = 'reset its password instead (POST /api/v1/admin/users/reset_password)';
    END IF;
    RETURN trade.person_json(p);
END
$$;
COMMENT ON FUNCTION quant.admin_create_user(text, text, boolean) IS
  'An administrator person creates a web UI login (password 8 to 200 characters, stored as Argon2id only; admin default false). 55000 when it exists, 22023 naming the field for a bad one, 42501 for anyone but an administrator. Never returns the password.';

CREATE FUNCTION quant.admin_reset_password(user_id text, password text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.admin_reset_password';
    p trade.person;
BEGIN
    PERFORM trade.require_person_admin(fn);
    IF password IS NULL OR length(password) < 8 OR length(password) > 200 THEN
        RAISE EXCEPTION '%: password must be 8 to 200 characters', fn USING ERRCODE = '22023', COLUMN = 'password';
    END IF;
    UPDATE trade.person t SET password_hash = trade.trade_password_hash(password), reset_at = clock_timestamp(),
                              db_role = session_user
     WHERE t.user_id = admin_reset_password.user_id RETURNING * INTO p;
    IF p.user_id IS NULL THEN
        RAISE EXCEPTION '%: no login "%"', fn, left(coalesce(user_id, 'NULL'), 80)
            USING ERRCODE = 'P0002', COLUMN = 'user_id', HINT = 'create it with POST /api/v1/admin/users';
    END IF;
    UPDATE trade.session s SET revoked_at = now() WHERE s.user_id = p.user_id AND s.revoked_at IS NULL;
    RETURN trade.person_json(p);
END
$$;
COMMENT ON FUNCTION quant.admin_reset_password(text, text) IS
  'An administrator person sets a new password of a login: clears its lockout and ends its open sessions. P0002 when there is no such login, 42501 for anyone but an administrator.';

CREATE FUNCTION quant.admin_unlock_user(user_id text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.admin_unlock_user';
    p trade.person;
BEGIN
    PERFORM trade.require_person_admin(fn);
    UPDATE trade.person t SET reset_at = clock_timestamp()  -- failures before reset_at do not count
     WHERE t.user_id = admin_unlock_user.user_id RETURNING * INTO p;
    IF p.user_id IS NULL THEN
        RAISE EXCEPTION '%: no login "%"', fn, left(coalesce(user_id, 'NULL'), 80)
            USING ERRCODE = 'P0002', COLUMN = 'user_id';
    END IF;
    RETURN trade.person_json(p);
END
$$;
COMMENT ON FUNCTION quant.admin_unlock_user(text) IS
  'An administrator person ends the lockout of a login (its failures stop counting; the password stays). P0002 when there is no such login, 42501 for anyone but an administrator.';

CREATE FUNCTION quant.person_is_admin() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('user', quant.current_user_id(),
                              'admin', EXISTS (SELECT 1 FROM trade.person p WHERE p.user_id = quant.current_user_id() AND p.admin));
$$;
COMMENT ON FUNCTION quant.person_is_admin() IS 'The current quant user and whether they are an administrator person: {user, admin} (the UI shows its Admin page then; GET /api/v1/admin/me).';

-- ---- cloning a strategy ----
CREATE FUNCTION quant.clone_strategy(id uuid, name text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.clone_strategy';
    src bt.strategy := bt.own_strategy(id, fn, false);
    cur bt.strategy_version := bt.current_version(src);
    new_name text := coalesce(nullif(btrim(clone_strategy.name), ''), left(cur.name || ' (copy)', 200));
    cfg jsonb := bt.normalized_config(cur.config || jsonb_build_object('name', new_name), fn);
    s bt.strategy;
    v bt.strategy_version;
BEGIN
    INSERT INTO bt.strategy (strategy_id, user_id, name, ticker)
    VALUES (quant.uuid_generate_v7(), src.user_id, cfg->>'name', cfg->>'ticker')
    RETURNING * INTO s;
    INSERT INTO bt.strategy_version (strategy_id, version, user_id, name, ticker, conjunction, trading_period,
                                     config, params_hash)
    VALUES (s.strategy_id, 1, s.user_id, cfg->>'name', cfg->>'ticker', cfg->>'conjunction',
            (cfg->>'trading_period')::integer,
            cfg - 'strategy_id' - 'client_strategy_id' - 'version' - 'created_at' - 'updated_at', bt.params_hash(cfg))
    RETURNING * INTO v;
    PERFORM trade.write_audit('strategy', s.strategy_id, 'clone', NULL, bt.strategy_json(s, v),
                              'cloned from ' || src.strategy_id || ' version ' || cur.version);
    RETURN bt.strategy_json(s, v) || jsonb_build_object('cloned_from', src.strategy_id);
END
$$;
COMMENT ON FUNCTION quant.clone_strategy(uuid, text) IS
  'A new strategy of the current user (version 1, a new id) with the parameters of the current version of one of theirs, named name (default "<name> (copy)"); audited (clone). Unlike quant.create_strategy it never returns the existing strategy with the same parameters. P0002 when not yours (or deleted).';

REVOKE ALL ON FUNCTION quant.deployment_dashboard(boolean), quant.set_person_admin(text, boolean),
    quant.admin_list_users(), quant.admin_create_user(text, text, boolean), quant.admin_reset_password(text, text),
    quant.admin_unlock_user(text), quant.person_is_admin(), quant.clone_strategy(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.deployment_dashboard(boolean), quant.admin_list_users(),
    quant.admin_create_user(text, text, boolean), quant.admin_reset_password(text, text),
    quant.admin_unlock_user(text), quant.person_is_admin(), quant.clone_strategy(uuid, text)
  TO quant_app, quant_admin;
GRANT EXECUTE ON FUNCTION quant.set_person_admin(text, boolean) TO quant_admin;

-- ==== issue 14 (wp-futu, session 6): a REAL FUTU deployment without a stored trade password is refused at deploy time ====
-- (sql/TRADE/credential.sql) The trigger deployment_requires_credential already fires on INSERT and on
-- UPDATE OF broker, paper, enabled, config; its function now also covers FUTU with environment real.
-- the feed's FUTU source is served now (worker/src/feed.cpp)
COMMENT ON FUNCTION quant.set_feed(text, text, text, text, text, boolean, integer, boolean) IS
  'Sets the market-data source of a data ticker at an interval (shared by every user, like md.bar): source manual or a broker (BYBIT: public klines; FUTU: OpenD''s Qot_RequestHistoryKL, 1d and 1h, symbol like US.AAPL), the broker''s symbol (default the ticker) and category, enabled, min_bars (history to keep at least) and continuous (default: true for BYBIT). Returns the feed as JSON. Administrators only (quant_admin).';

-- ==== issue 17 bars (wp-bars): md.bar partitioned by LIST (interval) then RANGE (ts), converted with its rows; CHECK bar_interval_check instead of the foreign key to refdata.bar_interval; md.create_bar_partitions / md.ensure_bar_partitions (pg_cron quant_bar_partitions; load_bars_csv, upload_bars and the feed make the partitions of their bars) ====
-- The old table steps aside (its triggers and its pg_dump mark go with it), the partitioned one
-- takes its name, the partitions of the install and of every bar stored are made, the rows move.
ALTER TABLE md.bar RENAME TO bar_unpartitioned;
ALTER TABLE md.bar_unpartitioned RENAME CONSTRAINT bar_pkey TO bar_unpartitioned_pkey;
ALTER TABLE md.bar_unpartitioned RENAME CONSTRAINT bar_ticker_check TO bar_unpartitioned_ticker_check;
ALTER EXTENSION quant DROP TABLE md.bar_unpartitioned;
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

SELECT md.create_bar_partitions();
SELECT md.create_bar_partitions('1970-01-01 00:00+00', NULL, i) FROM (VALUES ('1d'), ('1w')) v(i);
SELECT md.ensure_bar_partitions(u.interval, min(u.ts), max(u.ts)) FROM md.bar_unpartitioned u GROUP BY u.interval ORDER BY u.interval;
INSERT INTO md.bar (ticker, ts, open, high, low, close, volume, interval)
SELECT u.ticker, u.ts, u.open, u.high, u.low, u.close, u.volume, u.interval FROM md.bar_unpartitioned u ORDER BY u.interval, u.ticker, u.ts;
DROP TABLE md.bar_unpartitioned;
CREATE TRIGGER bar_version_insert AFTER INSERT ON md.bar
    REFERENCING NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_update AFTER UPDATE ON md.bar
    REFERENCING OLD TABLE AS old_bars NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_delete AFTER DELETE ON md.bar
    REFERENCING OLD TABLE AS old_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_truncate AFTER TRUNCATE ON md.bar
    FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();

SELECT md.mark_bar_partitions_dumped();
-- the privileges of a fresh install (grants.sql): md.bar readable by PUBLIC, its partitions and the
-- new functions only their owner's
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT p.relid FROM pg_partition_tree('md.bar') p ORDER BY p.relid::text LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC, quant_app, quant_worker, quant_admin', t);
    END LOOP;
END
$$;
GRANT SELECT ON md.bar TO PUBLIC;
REVOKE ALL ON FUNCTION md.bar_partition_period(text), md.bar_partition_start(text, timestamptz),
    md.create_bar_partitions(timestamptz, timestamptz, text), md.ensure_bar_partitions(text, timestamptz, timestamptz),
    md.mark_bar_partitions_dumped() FROM quant_app, quant_worker, quant_admin;

-- the ingest paths make the partitions of their bars; the daily job keeps two months ahead

CREATE OR REPLACE FUNCTION quant.install_schedules()
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

-- ==== issue 15 chaos: the chaos soak's findings ====
-- A breaker's trip writes its own audit row (entity breaker, action trip), also when the deployment
-- (or every deployment of the account) was disabled already and nothing is left to disable.

-- ==== issue 15 orders: orders that do not finish at once, the breakers on a timer (sql/TRADE/open_order.sql) ====
-- Orders that do not finish at once and the breakers on a timer (issue 15, parts 3 and 4):
-- what quant-worker's sweep reads (worker/src/open_orders.cpp). A deployment's risk_limits carry
-- the open-order policy (quant::parse_risk_limits validates it): open_order_policy cancel (the
-- default) or leave, and open_order_timeout_s (1..86400, default 60) after the send.
CREATE FUNCTION trade.worker_overdue_orders(worker text, lease_seconds double precision DEFAULT 60)
RETURNS TABLE (client_order_id text, deployment_id uuid, signal_id uuid, user_id text, status text,
               symbol text, side text, qty numeric, broker text, policy text, timeout_s integer)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.client_order_id, o.deployment_id, o.signal_id, o.user_id, o.status, o.symbol, o.side, o.qty,
           o.broker, p.policy, p.timeout_s
    FROM trade."order" o
    JOIN trade.signal s ON s.signal_id = o.signal_id
    JOIN trade.deployment d ON d.deployment_id = o.deployment_id
    CROSS JOIN LATERAL (SELECT coalesce(d.risk_limits->>'open_order_policy', 'cancel') AS policy,
                               coalesce((d.risk_limits->>'open_order_timeout_s')::integer, 60) AS timeout_s) p
    WHERE o.status = 'SENT'
      AND coalesce(o.sent_at, o.created_at) < clock_timestamp() - make_interval(secs => p.timeout_s)
      AND (s.status <> 'PROCESSING' OR s.claimed_by = worker OR s.claimed_at IS NULL
           OR s.claimed_at < now() - make_interval(secs => lease_seconds))
    ORDER BY o.created_at, o.order_id;
$$;
COMMENT ON FUNCTION trade.worker_overdue_orders(text, double precision) IS
  'quant-worker''s open-order sweep: every order still open at its broker (SENT) longer than its deployment''s risk_limits.open_order_timeout_s (default 60) after the send, with the deployment''s open_order_policy (cancel, the default, or leave), that no other live worker is working on. SECURITY DEFINER (every user''s orders).';
REVOKE ALL ON FUNCTION trade.worker_overdue_orders(text, double precision) FROM PUBLIC;

CREATE FUNCTION trade.worker_breaker_watch() RETURNS TABLE (deployment_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.deployment_id FROM trade.deployment d
    WHERE d.enabled
      AND EXISTS (SELECT 1 FROM trade.fill f WHERE f.deployment_id = d.deployment_id)
      AND (d.risk_limits ?| ARRAY['max_daily_loss', 'max_daily_loss_pct', 'max_drawdown', 'max_drawdown_pct']
           OR EXISTS (SELECT 1 FROM trade.account_limits a WHERE a.user_id = d.user_id))
    ORDER BY d.deployment_id;
$$;
COMMENT ON FUNCTION trade.worker_breaker_watch() IS
  'quant-worker''s breaker timer: the enabled deployments with fills whose loss or drawdown breakers (deployment risk_limits or the user''s account limits) can move with the price; each is measured on the latest prices (trade.worker_breaker_facts) without waiting for a signal. SECURITY DEFINER (every user''s deployments).';
REVOKE ALL ON FUNCTION trade.worker_breaker_watch() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION trade.worker_overdue_orders(text, double precision), trade.worker_breaker_watch()
  TO quant_worker;

-- ==== issue 16 (session 8): PL/pgSQL for what runs per signal or per request (a SQL function with SET is parsed and planned again on every call): the worker's trade.breaker_open, breaker_fills, paper.get_positions, get_account (their final text is in their first sections above, as are trade.worker_breaker_facts's, which reads the books only when a breaker measures them, and bt.strategy_json's, trade.breaker_json's, md.feed_json's and fetch_json's); the other JSON builders and bt.current_version here (quant.get_strategy 0.30 -> 0.17 ms) ====

CREATE OR REPLACE FUNCTION trade.deployment_json(d trade.deployment) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN d.config || jsonb_build_object(
        'deployment_id', d.deployment_id, 'user', d.user_id, 'qty', d.qty,
        'status', CASE WHEN d.stopped_at IS NOT NULL THEN 'stopped' WHEN d.enabled THEN 'active' ELSE 'disabled' END,
        'created_at', d.created_at, 'updated_at', d.updated_at, 'stopped_at', d.stopped_at,
        'live_since', d.live_since);
END
$$;
COMMENT ON FUNCTION trade.deployment_json(trade.deployment) IS
  'Internal: the Deployment JSON (seed 1.2) of a row plus deployment_id, user, status (active, disabled, stopped), created_at, updated_at, stopped_at, live_since.';

CREATE OR REPLACE FUNCTION trade.signal_json(g trade.signal) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'signal_id', g.signal_id, 'deployment_id', g.deployment_id, 'signal', g.signal::integer, 'bar_ts', g.bar_ts,
        'status', g.status, 'strategy_version', g.strategy_version, 'ticker', g.ticker,
        'conjunction', g.evaluation->'conjunction',
        'substrategies', coalesce(g.evaluation->'substrategies', '[]'::jsonb),
        'created_at', g.created_at, 'processed_at', g.processed_at);
END
$$;
COMMENT ON FUNCTION trade.signal_json(trade.signal) IS
  'Internal: a trade.signal row as JSON: signal_id, deployment_id, signal, bar_ts, status, strategy_version, ticker, conjunction, substrategies [{id, indicator, signal_func, window, value, position}], created_at, processed_at.';

CREATE OR REPLACE FUNCTION trade.log_json(l trade.log) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'log_id', l.log_id, 'deployment_id', l.deployment_id, 'signal_id', l.signal_id, 'timestamp', l.ts,
        'action', l.action, 'qty', l.qty, 'price', l.price, 'success', l.success, 'message', l.message,
        'reason', l.reason, 'order_id', l.order_id, 'signal_value', l.signal_value, 'bar_ts', l.bar_ts);
END
$$;
COMMENT ON FUNCTION trade.log_json(trade.log) IS
  'Internal: a trade.log row as JSON: log_id, deployment_id, signal_id, timestamp, action, qty, price, success, message, reason, order_id, signal_value, bar_ts.';

CREATE OR REPLACE FUNCTION trade.api_key_json(k trade.api_key) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object('key_id', k.key_id, 'user', k.user_id, 'label', k.label,
                              'status', CASE WHEN k.revoked_at IS NULL THEN 'active' ELSE 'revoked' END,
                              'created_at', k.created_at, 'created_by', k.created_by,
                              'last_used_at', k.last_used_at, 'revoked_at', k.revoked_at);
END
$$;
COMMENT ON FUNCTION trade.api_key_json(trade.api_key) IS
  'Internal: an API key as JSON {key_id, user, label, status (active, revoked), created_at, created_by, last_used_at, revoked_at}: never the key or its hash.';

CREATE OR REPLACE FUNCTION bt.current_version(s bt.strategy) RETURNS bt.strategy_version
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v bt.strategy_version;
BEGIN
    SELECT * INTO v FROM bt.strategy_version x WHERE x.strategy_id = s.strategy_id AND x.version = s.current_version;
    RETURN v;
END
$$;
COMMENT ON FUNCTION bt.current_version(bt.strategy) IS 'Internal: the current version row of a strategy.';


-- ==== issue 16 (session 10): quant.login_api_key in C, each backend keeping the key rows it read until a change of them is pushed (trade.api_key_cache_invalidate, triggers api_key_changed and api_key_pepper_changed) ====
CREATE OR REPLACE FUNCTION quant.login_api_key(key text) RETURNS text
AS 'MODULE_PATHNAME', 'quant_login_api_key'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION quant.login_api_key(text) IS
  'For the REST layer, first in each request''s transaction: a valid API key makes its user the current quant user until the transaction ends and returns the user; a NULL, malformed, unknown, wrong or revoked key returns NULL (all alike, no ERROR) and leaves no current user. Compares keyed hashes in constant time; reads the key''s row once per backend and keeps it until a change of the key is committed (trade.api_key_cache_invalidate); takes no row lock (last_used_at is written beside it, at most once a minute). EXECUTE for quant_app and quant_admin only.';

-- What each backend keeps for quant.login_api_key is dropped everywhere when a transaction that
-- made keys, changed a key's id, user, hash or revocation, deleted or truncated keys, or made or
-- changed the pepper commits, and in the transaction's own backend when it rolls back (nothing
-- it read of its own uncommitted rows outlives it). Before and after each statement: the message
-- registered before it is taken in locally at the first command-counter step that shows the
-- change (a login later in the same statement, e.g. beside a data-modifying WITH), so a rollback
-- replays it even when the statement fails before its end; the one after it covers a login that
-- read the row while the statement ran. ENABLE ALWAYS: also under session_replication_role =
-- replica. Not for logical replication: its apply fires no statement triggers (nothing here
-- uses it; a subscriber's backends would keep revoked keys). Not last_used_at (each backend
-- remembers its own asks).
CREATE FUNCTION trade.api_key_cache_invalidate() RETURNS trigger
AS 'MODULE_PATHNAME', 'quant_api_key_cache_invalidate'
LANGUAGE C;
COMMENT ON FUNCTION trade.api_key_cache_invalidate() IS
  'Internal (statement trigger of trade.api_key and trade.api_key_pepper): a relcache invalidation of the table at commit, on which every backend drops the key rows and the pepper quant.login_api_key keeps.';
REVOKE ALL ON FUNCTION trade.api_key_cache_invalidate() FROM PUBLIC;
CREATE TRIGGER api_key_changing BEFORE INSERT OR UPDATE OF key_id, user_id, key_hash, revoked_at OR DELETE OR TRUNCATE
    ON trade.api_key FOR EACH STATEMENT EXECUTE FUNCTION trade.api_key_cache_invalidate();
CREATE TRIGGER api_key_changed AFTER INSERT OR UPDATE OF key_id, user_id, key_hash, revoked_at OR DELETE OR TRUNCATE
    ON trade.api_key FOR EACH STATEMENT EXECUTE FUNCTION trade.api_key_cache_invalidate();
ALTER TABLE trade.api_key ENABLE ALWAYS TRIGGER api_key_changing;
ALTER TABLE trade.api_key ENABLE ALWAYS TRIGGER api_key_changed;
CREATE TRIGGER api_key_pepper_changing BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON trade.api_key_pepper FOR EACH STATEMENT EXECUTE FUNCTION trade.api_key_cache_invalidate();
CREATE TRIGGER api_key_pepper_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON trade.api_key_pepper FOR EACH STATEMENT EXECUTE FUNCTION trade.api_key_cache_invalidate();
ALTER TABLE trade.api_key_pepper ENABLE ALWAYS TRIGGER api_key_pepper_changing;
ALTER TABLE trade.api_key_pepper ENABLE ALWAYS TRIGGER api_key_pepper_changed;
