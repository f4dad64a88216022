-- Strategies (seed 1.1, 2.1, 7): a header per strategy and one row per version.
--
-- bt.strategy is the header (owner, current version, soft delete); bt.strategy_version keeps
-- every version, keyed (strategy_id, version), with the normalised config and the sha256 of its
-- parameter part (everything but strategy_id, name, version and timestamps), so that submitting
-- identical parameters returns the current version instead of making a new one. Versions are
-- never updated or deleted. Every function acts as quant.current_user_id(); another user's
-- strategy is "not found" (P0002), exactly like a missing one.

-- The one validator (core), reached from SQL. STABLE, not IMMUTABLE: a config naming products
-- (internal_cusip) is resolved through the product catalog (refdata.resolve_products) first.
CREATE FUNCTION quant.normalize_strategy(config jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_normalize_strategy'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.normalize_strategy(jsonb) IS
  'A Strategy JSON (seed 1.1, or the user''s pipeline''s form with internal_cusip) validated and normalised: ticker resolved from internal_cusip through the product catalog when absent, defaults filled, name generated when empty, fixed keys. ERROR 22023 naming the field, with the valid values as hint.';

-- jsonb cannot hold NaN, and Python's json.dumps writes it: the text entry point of the user's
-- pipeline's documents (quant.create_strategy(quant.parse_json($1)), store_result likewise).
CREATE FUNCTION quant.parse_json(doc text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_parse_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.parse_json(text) IS
  'JSON text as Python''s json.dumps writes it -> jsonb: the tokens NaN, Infinity and -Infinity outside strings become null (jsonb has no NaN; quant writes an undefined number as null). ERROR 22P02 for malformed JSON, 54000 over the size or depth limit.';

CREATE TABLE bt.strategy (
    strategy_id      uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    user_id          text NOT NULL,
    name             text NOT NULL,
    ticker           text NOT NULL,
    current_version  integer NOT NULL DEFAULT 1 CHECK (current_version >= 1),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    client_strategy_id uuid
);
CREATE INDEX strategy_user_idx ON bt.strategy (user_id, created_at);
-- the id a client made (the pipeline's UUIDv7): unique among a user's live strategies
CREATE UNIQUE INDEX strategy_client_id_idx ON bt.strategy (user_id, client_strategy_id)
    WHERE client_strategy_id IS NOT NULL AND deleted_at IS NULL;
COMMENT ON TABLE bt.strategy IS 'A strategy of one user: its name, data ticker, current version and soft-delete time. The versions are in bt.strategy_version.';
COMMENT ON COLUMN bt.strategy.user_id IS 'Owner (quant.current_user_id() of the creator)';
COMMENT ON COLUMN bt.strategy.current_version IS 'The version quant.get_strategy returns and new deployments pin';
COMMENT ON COLUMN bt.strategy.deleted_at IS 'Soft delete: set by quant.delete_strategy; the rows stay for audit';
COMMENT ON COLUMN bt.strategy.client_strategy_id IS
  'The strategy_id the client sent with quant.create_strategy when it was not one of this user''s strategies (the pipeline makes its own UUIDv7): every call that takes a strategy id accepts it for this user, beside strategy_id';

CREATE TABLE bt.strategy_version (
    strategy_id     uuid NOT NULL REFERENCES bt.strategy (strategy_id),
    version         integer NOT NULL CHECK (version >= 1),
    user_id         text NOT NULL,
    name            text NOT NULL,
    ticker          text NOT NULL,
    conjunction     text NOT NULL,
    trading_period  integer NOT NULL,
    config          jsonb NOT NULL,
    params_hash     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (strategy_id, version)
);
CREATE INDEX strategy_version_hash_idx ON bt.strategy_version (user_id, params_hash);
COMMENT ON TABLE bt.strategy_version IS 'Every version of every strategy (seed: "incremented on parameter changes; original preserved for audit"). Never updated.';
COMMENT ON COLUMN bt.strategy_version.config IS 'The normalised StrategyConfig of this version (quant.normalize_strategy), without strategy_id and version';
COMMENT ON COLUMN bt.strategy_version.params_hash IS 'sha256 (hex) of the parameter part of config: ticker, conjunction, trading_period, fill_delay_bars, substrategies';

ALTER TABLE bt.strategy ENABLE ROW LEVEL SECURITY;
ALTER TABLE bt.strategy FORCE ROW LEVEL SECURITY;
CREATE POLICY strategy_own ON bt.strategy
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
ALTER TABLE bt.strategy_version ENABLE ROW LEVEL SECURITY;
ALTER TABLE bt.strategy_version FORCE ROW LEVEL SECURITY;
CREATE POLICY strategy_version_own ON bt.strategy_version
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

-- ---- internals ----
CREATE FUNCTION bt.params_hash(config jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- jsonb's text form is canonical (sorted keys, fixed spacing), and config is normalised.
    SELECT encode(sha256(convert_to((config - 'strategy_id' - 'name' - 'version' - 'created_at' - 'updated_at'
                                     - 'description')::text, 'UTF8')), 'hex');
$$;
COMMENT ON FUNCTION bt.params_hash(jsonb) IS
  'sha256 (hex) of the parameter part of a normalised Strategy JSON: equal parameters, equal hash.';

-- The StrategyConfig JSON of one version: a valid input of quant.backtest as it is.
CREATE FUNCTION bt.strategy_json(s bt.strategy, v bt.strategy_version) RETURNS jsonb
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

-- The current user's strategy by its strategy_id or the client's own id (client_strategy_id; a
-- live strategy before a deleted one), locked for update when asked; P0002 when it is not theirs
-- or does not exist (the same error: no one learns that another user's id exists).
CREATE FUNCTION bt.own_strategy(id uuid, fn text, for_update boolean, include_deleted boolean DEFAULT false)
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

CREATE FUNCTION bt.current_version(s bt.strategy) RETURNS bt.strategy_version
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

-- quant.normalize_strategy with the name of the API function the user called: the validator's
-- warnings (a price-level indicator with a band signal, ...) are NOTICEs "fn: substrategies[i]: ...".
CREATE FUNCTION bt.normalize_strategy(config jsonb, fn text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_normalize_strategy'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION bt.normalize_strategy(jsonb, text) IS
  'Internal: quant.normalize_strategy whose warnings (NOTICEs) and errors name fn, the calling API function.';

CREATE FUNCTION bt.normalized_config(config jsonb, fn text) RETURNS jsonb
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

-- Adds version s.current_version + 1 (the caller holds the row lock) unless the parameters
-- equal the current version's; a changed name alone renames without a new version.
CREATE FUNCTION bt.new_version(s bt.strategy, cfg jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur bt.strategy_version := bt.current_version(s);
    hash text := bt.params_hash(cfg);
    old_json jsonb := bt.strategy_json(s, cur);
    nv bt.strategy_version;
    stored jsonb := cfg - 'strategy_id' - 'version' - 'created_at' - 'updated_at';
BEGIN
    IF hash = cur.params_hash THEN
        IF s.name IS DISTINCT FROM cfg->>'name' AND cfg->>'name' IS NOT NULL THEN
            UPDATE bt.strategy t SET name = cfg->>'name', updated_at = now()
            WHERE t.strategy_id = s.strategy_id RETURNING * INTO s;
            PERFORM trade.write_audit('strategy', s.strategy_id, 'rename', old_json, bt.strategy_json(s, cur));
        END IF;
        RETURN bt.strategy_json(s, cur);
    END IF;
    INSERT INTO bt.strategy_version (strategy_id, version, user_id, name, ticker, conjunction, trading_period,
                                     config, params_hash)
    VALUES (s.strategy_id, s.current_version + 1, s.user_id, cfg->>'name', cfg->>'ticker', cfg->>'conjunction',
            (cfg->>'trading_period')::integer, stored, hash)
    RETURNING * INTO nv;
    UPDATE bt.strategy t SET current_version = nv.version, name = nv.name, ticker = nv.ticker, updated_at = now()
    WHERE t.strategy_id = s.strategy_id RETURNING * INTO s;
    PERFORM trade.write_audit('strategy', s.strategy_id, 'new_version', old_json, bt.strategy_json(s, nv));
    RETURN bt.strategy_json(s, nv);
END
$$;
COMMENT ON FUNCTION bt.new_version(bt.strategy, jsonb) IS
  'Internal: version n+1 of a locked strategy when the parameters changed; the current version otherwise.';

-- ---- the API (seed 2.1) ----
CREATE FUNCTION quant.create_strategy(config jsonb) RETURNS jsonb
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

CREATE FUNCTION quant.update_strategy(id uuid, config jsonb) RETURNS jsonb
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
COMMENT ON FUNCTION quant.update_strategy(uuid, jsonb) IS
  'Updates a strategy of the current user: a new version n+1 when the parameters change (version n is kept), the current version when they are identical (a changed name alone renames). Returns the StrategyConfig JSON. P0002 when the strategy is not yours or deleted.';

CREATE FUNCTION quant.list_strategies() RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT bt.strategy_json(s, v)
    FROM bt.strategy s JOIN bt.strategy_version v ON v.strategy_id = s.strategy_id AND v.version = s.current_version
    WHERE s.user_id = quant.current_user_id() AND s.deleted_at IS NULL
    ORDER BY s.created_at, s.strategy_id;
$$;
COMMENT ON FUNCTION quant.list_strategies() IS
  'The current user''s strategies that are not deleted, oldest first, each as the StrategyConfig JSON of its current version.';

CREATE FUNCTION quant.get_strategy(id uuid) RETURNS jsonb
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
COMMENT ON FUNCTION quant.get_strategy(uuid) IS
  'A strategy of the current user (deleted ones too, with deleted_at): its current StrategyConfig JSON plus versions (the count), deleted_at and latest_result (the newest stored BacktestResults, or null). P0002 when not yours.';

CREATE FUNCTION quant.strategy_versions(id uuid) RETURNS SETOF jsonb
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
COMMENT ON FUNCTION quant.strategy_versions(uuid) IS
  'Every version of a strategy of the current user, oldest first, with created_at and params_hash.';

CREATE FUNCTION quant.delete_strategy(id uuid) RETURNS jsonb
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
COMMENT ON FUNCTION quant.delete_strategy(uuid) IS
  'Soft-deletes a strategy of the current user (seed 2.1: mark inactive): it leaves quant.list_strategies, its versions and results stay. Refused (55006) while a deployment of it is not stopped. Returns the strategy with deleted_at.';

CREATE FUNCTION quant.evaluate(strategy_id uuid) RETURNS jsonb
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
COMMENT ON FUNCTION quant.evaluate(uuid) IS
  'The live signal of the current version of a strategy of the current user on the latest bars: {strategy_id, version, ticker, bar_ts, signal, substrategies: [{id, indicator, value, position}]} (quant.evaluate_config).';

-- pg_dump keeps the users' rows of extension tables only when told to.
SELECT pg_catalog.pg_extension_config_dump('bt.strategy', '');
SELECT pg_catalog.pg_extension_config_dump('bt.strategy_version', '');
