-- quant 0.1.0 -> 0.2.0 (ALTER EXTENSION quant UPDATE). Hand-written: the install script of 0.2.0
-- is generated from ../sql; this file makes a 0.1.0 database equal to it (test/upgrade/run.sh
-- compares the two object by object).
--
-- Each developer of the wave appends its own section at the end of this file:
--     -- ==== <branch>: <what> ====
-- with the SQL changes it made to sql/** (the same change, as ALTER / CREATE OR REPLACE / ...).
\echo Use "ALTER EXTENSION quant UPDATE" to load this file. \quit

-- ==== wp-a-layout: sql/ laid out by table family (no object changes) ====
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
CREATE OR REPLACE FUNCTION quant.deploy(deployment jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
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
COMMENT ON FUNCTION quant.deploy(jsonb) IS
  'Deploys a strategy of the current user (seed 1.2 DeploymentConfig): validated, defaults filled (paper true, enabled true, schedule daily_close, portfolio DEFAULT, broker PAPER, risk limits 10000 USD / 10 trades / 5%), pinning strategy_version (default: the current one). ticker (the broker symbol) must be a mapping of the pinned version''s ticker on the broker (refdata.ticker_mapping: shared or the user''s own; on PAPER also the data ticker itself), filled from it with market when omitted; anything else is 22023 naming ticker. paper=false passes the live gate (confirm_live: true and trade_password, else 42501). A call carrying trade_password never logs its statement. Returns the Deployment JSON with deployment_id and status.';

CREATE OR REPLACE FUNCTION quant.update_deployment(id uuid, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
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
    CROSS JOIN LATERAL (SELECT x.close, x.ts FROM md.bar x WHERE x.ticker = m.data_ticker ORDER BY x.ts DESC LIMIT 1) b
    WHERE m.broker = symbol_price.broker AND m.broker_ticker = symbol_price.symbol AND m.user_id IS NULL
    ORDER BY b.ts DESC LIMIT 1;
END
$$;
COMMENT ON FUNCTION trade.symbol_price(text, text) IS
  'The market price of a broker symbol, for the risk checks: on PAPER the paper broker''s (paper.price_of; price_ts NULL), elsewhere the latest close of the data ticker a shared mapping maps to the symbol, with its bar time; NULL when unknown (the checks fail closed).';

CREATE OR REPLACE FUNCTION trade.worker_context(sid uuid, for_leg text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g trade.signal;
    d trade.deployment;
    px record;
    since timestamptz;
BEGIN
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = sid;
    IF g.signal_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = g.deployment_id;
    -- the limits are priced on what the broker trades, never on the strategy's data ticker
    px := trade.symbol_price(d.broker, d.ticker);
    -- repeated rejects count since the last success, or since the deployment was last changed
    -- (re-enabling it is a change): the pause ends when a person acts
    SELECT max(l.ts) INTO since FROM trade.log l WHERE l.deployment_id = d.deployment_id AND l.success;
    since := greatest(coalesce(since, '-infinity'), d.updated_at);
    RETURN jsonb_build_object(
        'signal_id', g.signal_id, 'deployment_id', d.deployment_id, 'user_id', g.user_id, 'signal', g.signal,
        'bar_ts', g.bar_ts, 'data_ticker', g.ticker, 'status', g.status, 'claimed_by', g.claimed_by,
        'symbol', d.ticker, 'broker', d.broker, 'qty', d.qty,
        'enabled', coalesce(d.enabled AND d.stopped_at IS NULL, false),
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
  'quant-worker: what it needs to know about a signal before an order (the database''s half of the risk facts): the signal, its deployment (enabled = not disabled and not stopped, qty, risk_limits, broker symbol), the price of the broker symbol (trade.symbol_price: price, price_ts, and price_symbol = the symbol it is of; the strategy''s data ticker never prices an order), trades today (UTC, not rejected), orders in the last minute, REJECTED rows since the last success or change, whether the leg was already acted on, and the deployment''s open orders.';

-- ---- create_strategy: a strategy_id that is not yours is the same as one never used ----
CREATE OR REPLACE FUNCTION quant.create_strategy(config jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
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
        SELECT * INTO s FROM bt.strategy t WHERE t.strategy_id = id AND t.user_id = me AND t.deleted_at IS NULL;
        IF s.strategy_id IS NOT NULL THEN
            -- what quant.update_strategy(id, config) does, without validating (and warning) twice
            s := bt.own_strategy(id, fn, true);
            RETURN bt.new_version(s, cfg);
        END IF;
        -- not one of yours (never used, another user's, deleted): created anew like a config
        -- without an id, so the answer never tells whether the id exists
        RAISE NOTICE '%: strategy_id % is not one of your strategies: a new strategy gets a new id', fn, id;
    END IF;
    -- a duplicate submission returns the existing strategy (same user, same parameters)
    PERFORM pg_advisory_xact_lock(hashtextextended('quant.create_strategy:' || me || ':' || hash, 0));
    SELECT t.* INTO s FROM bt.strategy t JOIN bt.strategy_version c
        ON c.strategy_id = t.strategy_id AND c.version = t.current_version
    WHERE t.user_id = me AND t.deleted_at IS NULL AND c.params_hash = hash
    ORDER BY t.created_at, t.strategy_id LIMIT 1;
    IF s.strategy_id IS NOT NULL THEN
        RETURN bt.strategy_json(s, bt.current_version(s));
    END IF;
    INSERT INTO bt.strategy (strategy_id, user_id, name, ticker)
    VALUES (quant.uuid_generate_v7(), me, cfg->>'name', cfg->>'ticker')
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
  'Creates a strategy of the current user from a StrategyConfig (seed 1.1), validated and normalised (name generated when empty), as version 1 with a new id; returns its StrategyConfig JSON. The same parameters as an existing strategy of yours return that strategy; a config carrying the strategy_id of one of yours updates it (quant.update_strategy); any other strategy_id (never used, another user''s, deleted) is ignored with a NOTICE, the same for each, so no answer tells whether it exists.';
