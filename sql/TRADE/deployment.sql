-- Deployments (seed 1.2, 2.2, 7): a strategy version traded on a broker.
--
-- A deployment pins one strategy version. update_deployment changes only enabled (the kill
-- switch), qty, risk_limits, schedule, portfolio and paper (through the live gate); stopping
-- disables it with a stop time and never deletes it. Every change is in trade.audit (old -> new).

-- The one validator (core), reached from SQL.
CREATE FUNCTION quant.normalize_deployment(config jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_normalize_deployment'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.normalize_deployment(jsonb) IS
  'A Deployment JSON (seed 1.2) validated and normalised: paper true, enabled true, schedule daily_close, portfolio DEFAULT, broker PAPER, risk_limits {max_position_usd 10000, max_daily_trades 10, stop_loss_pct 5.0}; confirm_live and trade_password are checked but never returned. ERROR 22023 naming the field, with the valid values as hint.';

CREATE TABLE trade.deployment (
    deployment_id     uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    user_id           text NOT NULL,
    strategy_id       uuid NOT NULL,
    strategy_version  integer NOT NULL,
    portfolio         text NOT NULL DEFAULT 'DEFAULT',
    broker            text NOT NULL REFERENCES refdata.broker (broker),
    ticker            text NOT NULL,
    market            text NOT NULL REFERENCES refdata.market (market),
    qty               numeric NOT NULL CHECK (qty > 0 AND qty <= 1e12),
    paper             boolean NOT NULL DEFAULT true,
    schedule          text NOT NULL REFERENCES refdata.schedule (schedule),
    enabled           boolean NOT NULL DEFAULT true,
    risk_limits       jsonb NOT NULL,
    config            jsonb NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    stopped_at        timestamptz,
    live_since        timestamptz,
    FOREIGN KEY (strategy_id, strategy_version) REFERENCES bt.strategy_version (strategy_id, version),
    CHECK (stopped_at IS NULL OR NOT enabled),
    CHECK (broker <> 'PAPER' OR paper)
);
CREATE INDEX deployment_user_idx ON trade.deployment (user_id, created_at);
CREATE INDEX deployment_schedule_idx ON trade.deployment (schedule) WHERE enabled;
COMMENT ON TABLE trade.deployment IS 'A strategy version deployed to a broker by one user (seed 1.2). Stopped deployments stay (stopped_at).';
COMMENT ON COLUMN trade.deployment.strategy_version IS 'The pinned version of the strategy: updates of the strategy do not change a running deployment';
COMMENT ON COLUMN trade.deployment.ticker IS 'The broker''s symbol (from refdata.ticker_mapping when the deployment omitted it)';
COMMENT ON COLUMN trade.deployment.qty IS 'Position size per signal unit: NUMERIC (whole shares for US and HK, decimals for CRYPTO), greater than 0 and at most 1e12 (the core validator''s bound; NaN and infinity are refused)';
COMMENT ON COLUMN trade.deployment.enabled IS 'The kill switch: false stops new orders';
COMMENT ON COLUMN trade.deployment.config IS 'The normalised Deployment JSON (quant.normalize_deployment); never holds confirm_live or trade_password';
COMMENT ON COLUMN trade.deployment.live_since IS 'When the live gate last let paper=false through';

ALTER TABLE trade.deployment ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.deployment FORCE ROW LEVEL SECURITY;
CREATE POLICY deployment_own ON trade.deployment
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
SELECT pg_catalog.pg_extension_config_dump('trade.deployment', '');

-- ---- internals ----
CREATE FUNCTION trade.deployment_json(d trade.deployment) RETURNS jsonb
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

CREATE FUNCTION trade.own_deployment(id uuid, fn text, for_update boolean) RETURNS trade.deployment
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    d trade.deployment;
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION '%: id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'id';
    END IF;
    IF for_update THEN
        SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = id AND t.user_id = me FOR UPDATE;
    ELSE
        SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = id AND t.user_id = me;
    END IF;
    IF d.deployment_id IS NULL THEN
        RAISE EXCEPTION '%: deployment % not found', fn, id
            USING ERRCODE = 'P0002', COLUMN = 'deployment_id', HINT = 'quant.list_deployments() lists your deployments';
    END IF;
    RETURN d;
END
$$;
COMMENT ON FUNCTION trade.own_deployment(uuid, text, boolean) IS
  'Internal: the current user''s deployment (optionally FOR UPDATE), or ERROR P0002 (another user''s is not found either).';

CREATE FUNCTION trade.require_object(value jsonb, fn text, argname text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '%: % must not be NULL', fn, argname USING ERRCODE = '22004', COLUMN = argname;
    END IF;
    IF jsonb_typeof(value) <> 'object' THEN
        RAISE EXCEPTION '%: % must be a JSON object, got %', fn, argname, jsonb_typeof(value)
            USING ERRCODE = '22023', COLUMN = argname;
    END IF;
END
$$;
COMMENT ON FUNCTION trade.require_object(jsonb, text, text) IS 'Internal: 22004 for NULL, 22023 for a non-object.';

-- ---- the API (seed 2.2) ----
CREATE FUNCTION quant.deploy(deployment jsonb) RETURNS jsonb
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
COMMENT ON FUNCTION quant.deploy(jsonb) IS
  'Deploys a strategy of the current user (seed 1.2 DeploymentConfig): validated, defaults filled (paper true, enabled true, schedule daily_close, portfolio DEFAULT, broker PAPER, risk limits 10000 USD / 10 trades / 5%), pinning strategy_version (default: the current one). ticker (the broker symbol) must be a mapping of the pinned version''s ticker on the broker (refdata.ticker_mapping: shared or the user''s own; on PAPER also the data ticker itself), filled from it with market when omitted; anything else is 22023 naming ticker. paper=false passes the live gate (confirm_live: true and trade_password, else 42501). A call carrying trade_password never logs its statement. Returns the Deployment JSON with deployment_id and status.';

CREATE FUNCTION quant.list_deployments(include_stopped boolean DEFAULT false) RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT trade.deployment_json(d) FROM trade.deployment d
    WHERE d.user_id = quant.current_user_id() AND (coalesce(include_stopped, false) OR d.stopped_at IS NULL)
    ORDER BY d.created_at, d.deployment_id;
$$;
COMMENT ON FUNCTION quant.list_deployments(boolean) IS
  'The current user''s deployments that are not stopped (all of them with include_stopped), oldest first.';

CREATE FUNCTION quant.get_deployment(id uuid) RETURNS jsonb
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
COMMENT ON FUNCTION quant.get_deployment(uuid) IS
  'A deployment of the current user with its status, last_signal and recent_trades (the newest 20 rows of trade.log). P0002 when not yours.';

CREATE FUNCTION quant.update_deployment(id uuid, patch jsonb) RETURNS jsonb
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
COMMENT ON FUNCTION quant.update_deployment(uuid, jsonb) IS
  'Changes a deployment of the current user: enabled (the kill switch), qty, risk_limits (merged), schedule, portfolio, paper (paper=false through the live gate: confirm_live and trade_password in the patch). Any other field is 22023; a stopped deployment is 55000; an update that leaves it enabled is 22023 ticker when its symbol is no longer a mapping of the strategy''s ticker (switching off always works). A patch carrying trade_password never logs its statement. Audited old -> new. Returns the Deployment JSON.';

CREATE FUNCTION quant.stop_deployment(id uuid) RETURNS jsonb
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
COMMENT ON FUNCTION quant.stop_deployment(uuid) IS
  'Stops a deployment of the current user (seed 2.2 DELETE): disabled with a stop time, never deleted; audited. Stopping a stopped deployment returns it unchanged.';

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
