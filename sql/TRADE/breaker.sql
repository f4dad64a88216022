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

-- PL/pgSQL, not SQL, here and in breaker_fills: a SQL function with SET is planned again on every
-- call, a PL/pgSQL one keeps its plan for the session (the worker calls both for every signal)
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
