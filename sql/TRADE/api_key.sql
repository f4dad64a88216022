-- API keys: how the REST layer (quant-http) learns which quant user a request is.
--
-- A key is "qk_" + its key_id (32 hex digits) + "_" + 32 random bytes (pg_strong_random) in
-- base64url: 79 characters, returned once by quant.create_api_key and never stored. The table
-- keeps only HMAC-SHA-256(pepper, key): the pepper is 32 random bytes of this installation in
-- trade.api_key_pepper, which no role but the owner can read (RLS forced, no policy, no grant).
-- The crypto is in C (libsodium, extension/src/api_key_crypto.c): no pgcrypto.
--
-- Who may create a key for a user: the user themselves (quant.current_user_id()), or an
-- administrator for anyone: a superuser or a member of the role quant_admin (NOLOGIN; GRANT it
-- to an operator's login): that is the one exception to "every quant.* function acts only on
-- the current user's rows". Revoking and listing act on the current user's keys only, as every
-- other function does (an administrator revokes a user's key as that user: quant.set_user).
-- Keys are never deleted: revoked_at marks them, so the table is their history too.
--
-- A REST request logs in with quant.login_api_key(key) (quant_app only): the key's user becomes
-- the current user for the request's transaction, in backend memory (users.sql). A bad key is a
-- NULL, never an ERROR (the request is then refused without a line in the server log), and the
-- login takes no row lock: last_used_at is written by a transaction of its own, at most about
-- once a minute per key, so one long request never blocks the other requests of its key.

CREATE TABLE trade.api_key (
    key_id           uuid PRIMARY KEY,
    user_id          text NOT NULL,
    label            text CHECK (length(label) <= 200),
    key_hash         bytea NOT NULL CHECK (length(key_hash) = 32),
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text,                                   -- the quant user who created it (NULL: an administrator with none set)
    db_role          text NOT NULL DEFAULT current_user,     -- the database role that created it
    last_used_at     timestamptz,
    revoked_at       timestamptz,
    revoked_by       text
);
CREATE INDEX api_key_user_idx ON trade.api_key (user_id, created_at);
COMMENT ON TABLE trade.api_key IS 'API keys of the REST layer, one user each: only the HMAC-SHA-256 of the key with the installation''s pepper is stored. Never deleted: revoked_at marks a revoked key.';
COMMENT ON COLUMN trade.api_key.key_id IS 'The key''s id (UUIDv7), also inside the key itself (qk_<key_id hex>_<secret>)';
COMMENT ON COLUMN trade.api_key.user_id IS 'The quant user the key authenticates as';
COMMENT ON COLUMN trade.api_key.label IS 'Free text (at most 200 characters) to tell keys apart, e.g. "laptop script"';
COMMENT ON COLUMN trade.api_key.key_hash IS 'HMAC-SHA-256(pepper, key); readable by no application role';
COMMENT ON COLUMN trade.api_key.created_by IS 'The quant user who created the key (the owner, or an administrator; NULL when an administrator had none set)';
COMMENT ON COLUMN trade.api_key.db_role IS 'The database login (session_user) that created the key';
COMMENT ON COLUMN trade.api_key.last_used_at IS 'About the last successful quant.login_api_key: written beside the request by a transaction of its own, at most once a minute';
COMMENT ON COLUMN trade.api_key.revoked_at IS 'When the key was revoked (quant.revoke_api_key); NULL while valid';
COMMENT ON COLUMN trade.api_key.revoked_by IS 'The quant user who revoked it';

ALTER TABLE trade.api_key ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.api_key FORCE ROW LEVEL SECURITY;
CREATE POLICY api_key_own ON trade.api_key
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
REVOKE ALL ON trade.api_key FROM PUBLIC;  -- no grants: reached through the functions below only
SELECT pg_catalog.pg_extension_config_dump('trade.api_key', '');

-- The installation's secret. Empty at install (made by the first quant.create_api_key), so a
-- restored dump brings its own pepper back and the keys in it stay valid.
CREATE TABLE trade.api_key_pepper (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pepper      bytea NOT NULL CHECK (length(pepper) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE trade.api_key_pepper IS 'The one secret of this installation that API keys are hashed with (HMAC-SHA-256). Readable only by the owner: RLS forced with no policy, no grants; reached through SECURITY DEFINER functions. In pg_dump output, so that restored keys stay valid: guard dumps like the database.';
COMMENT ON COLUMN trade.api_key_pepper.pepper IS '32 random bytes (pg_strong_random)';
ALTER TABLE trade.api_key_pepper ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.api_key_pepper FORCE ROW LEVEL SECURITY;
REVOKE ALL ON trade.api_key_pepper FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('trade.api_key_pepper', '');

-- ---- internals (C, libsodium) ----
CREATE FUNCTION trade.random_bytes(n integer) RETURNS bytea
AS 'MODULE_PATHNAME', 'quant_random_bytes'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION trade.random_bytes(integer) IS 'Internal: n (1 to 1024) bytes from pg_strong_random.';
CREATE FUNCTION trade.hmac_sha256(key bytea, message text) RETURNS bytea
AS 'MODULE_PATHNAME', 'quant_hmac_sha256'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION trade.hmac_sha256(bytea, text) IS 'Internal: HMAC-SHA-256 (libsodium) of message under key.';
CREATE FUNCTION trade.bytea_equal_ct(a bytea, b bytea) RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_bytea_equal_ct'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION trade.bytea_equal_ct(bytea, bytea) IS 'Internal: whether two byte strings are equal, in constant time (sodium_memcmp); false for NULL.';
REVOKE ALL ON FUNCTION trade.random_bytes(integer), trade.hmac_sha256(bytea, text), trade.bytea_equal_ct(bytea, bytea)
  FROM PUBLIC;

-- The id in an API key or a session token, <prefix><32 lowercase hex>_<43 of A-Z a-z 0-9 _ ->, or
-- NULL when the token has any other form. Plain string functions, not a regular expression (the
-- regexp_match it replaces cost 50 µs a call, most of a login), and SQL without SET so that the
-- planner inlines it into the callers' cached plans (every name schema-qualified for that).
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

-- The pepper, made on first use (concurrent first uses agree: ON CONFLICT, then read again).
CREATE FUNCTION trade.api_key_pepper(create_missing boolean) RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p bytea;
BEGIN
    SELECT t.pepper INTO p FROM trade.api_key_pepper t WHERE t.singleton;
    IF p IS NULL AND create_missing THEN
        INSERT INTO trade.api_key_pepper (singleton, pepper) VALUES (true, trade.random_bytes(32))
        ON CONFLICT (singleton) DO NOTHING;
        SELECT t.pepper INTO p FROM trade.api_key_pepper t WHERE t.singleton;
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION trade.api_key_pepper(boolean) IS 'Internal: the installation''s pepper, made when missing and create_missing.';
REVOKE ALL ON FUNCTION trade.api_key_pepper(boolean) FROM PUBLIC;

-- A new key for key_id and its hash. It hashes only keys it makes itself: no one can have the
-- hash of a key of their choosing computed (only quant.login_api_key checks keys).
CREATE FUNCTION trade.api_key_make(key_id uuid, OUT key text, OUT key_hash bytea)
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    key := 'qk_' || replace(key_id::text, '-', '') || '_'
           || rtrim(translate(encode(trade.random_bytes(32), 'base64'), E'+/\n', '-_'), '=');
    key_hash := trade.hmac_sha256(trade.api_key_pepper(true), key);
END
$$;
COMMENT ON FUNCTION trade.api_key_make(uuid) IS
  'Internal: a new random API key for key_id (qk_<32 hex>_<43 base64url>) and its HMAC-SHA-256 with the pepper.';
REVOKE ALL ON FUNCTION trade.api_key_make(uuid) FROM PUBLIC;

-- Whether the calling role is an administrator of API keys (a superuser or a member of
-- quant_admin). SECURITY INVOKER: current_user is the caller.
CREATE FUNCTION trade.api_key_admin() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false)
        OR pg_catalog.pg_has_role(current_user, 'quant_admin', 'USAGE');
$$;
COMMENT ON FUNCTION trade.api_key_admin() IS
  'Internal: whether the calling database role may create API keys for any user (a superuser or a member of quant_admin).';

CREATE FUNCTION trade.api_key_json(k trade.api_key) RETURNS jsonb
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

CREATE FUNCTION trade.api_key_max_active() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 100';
COMMENT ON FUNCTION trade.api_key_max_active() IS 'Active (not revoked) API keys a user may have at once.';

-- user_id and label as create_api_key takes them: 22004, 22023 naming the field.
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

-- The one place a key row is inserted; its callers decide for whom (SECURITY DEFINER, no grants).
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

-- ---- the API ----
CREATE FUNCTION quant.create_api_key(user_id text, label text DEFAULT NULL) RETURNS text
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
COMMENT ON FUNCTION quant.create_api_key(text, text) IS
  'A new API key for user_id (with an optional label), returned once: "qk_<key_id>_<secret>", 79 characters; only its keyed hash (HMAC-SHA-256 with the installation''s pepper) is stored. Allowed for yourself (user_id = the current quant user) or, for anyone, to an administrator (a superuser or a member of quant_admin); otherwise 42501. At most 100 active keys per user (54000).';

CREATE FUNCTION quant.revoke_api_key(key_id uuid) RETURNS jsonb
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

CREATE FUNCTION quant.list_api_keys(include_revoked boolean DEFAULT false) RETURNS SETOF jsonb
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
COMMENT ON FUNCTION quant.list_api_keys(boolean) IS
  'The current user''s API keys that are not revoked (all of them with include_revoked), oldest first: {key_id, user, label, status, created_at, created_by, last_used_at, revoked_at}; never the key or its hash.';

-- ---- logging in ----
-- last_used_at, in the autonomous worker's own transaction: SKIP LOCKED, so it never waits
-- for a revoke, and only when a minute old, so most logins write nothing.
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

-- In C (extension/src/api_key_login.c): the key rows a backend has read and the pepper are kept
-- in its memory, so a login reads no table; the keyed hash is still computed and compared on
-- every call. The triggers below push every change that matters (a revocation above all) to
-- every backend at commit, as a relcache invalidation of the table, and a login takes in the
-- invalidations waiting for it before it uses anything kept. Not STRICT: a NULL key must still
-- clear the transaction's user.
CREATE FUNCTION quant.login_api_key(key text) RETURNS text
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

CREATE FUNCTION quant.authenticate_api_key(key text) RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT quant.login_api_key(key);
$$;
COMMENT ON FUNCTION quant.authenticate_api_key(text) IS
  'Deprecated: quant.login_api_key under its former name (the REST layer''s former pipeline, quant.set_user(quant.authenticate_api_key(key), true), still works: setting the logged-in user again changes nothing). EXECUTE for quant_app only.';
