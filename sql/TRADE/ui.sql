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
