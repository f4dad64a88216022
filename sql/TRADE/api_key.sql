-- API keys: how the REST layer (quant-http) learns which quant user a request is.
--
-- A key is "qk_" + its key_id (32 hex digits) + "_" + 32 random bytes (pg_strong_random) in
-- base64url: 79 characters, returned once by quant.create_api_key and never stored. The table
-- keeps only HMAC-SHA-256(pepper, key): the pepper is 32 random bytes of this installation in
-- trade.api_key_pepper, which no role but the owner can read (RLS forced, no policy, no grant).
-- The crypto is in C (libsodium, fmgr_registry.c): no pgcrypto.
--
-- Who may create a key for a user: the user themselves (quant.current_user_id()), or an
-- administrator for anyone: a superuser or a member of the role quant_admin (NOLOGIN; GRANT it
-- to an operator's login): that is the one exception to "every quant.* function acts only on
-- the current user's rows". Revoking and listing act on the current user's keys only, as every
-- other function does (an administrator revokes a user's key as that user: quant.set_user).
-- quant.authenticate_api_key(key) -> user is for the REST layer (quant_app): it then runs each
-- request with quant.set_user(user, true). Keys are never deleted: revoked_at marks them, so the
-- table is their history too.
--
-- Note that quant.user is trusted as the connection sets it: a session that may call
-- quant.set_user is, for quant, whoever it names. The rule above keeps a REST request (whose
-- user comes from its key) from minting keys for anyone else.

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
COMMENT ON COLUMN trade.api_key.db_role IS 'The database role that created the key';
COMMENT ON COLUMN trade.api_key.last_used_at IS 'The last successful quant.authenticate_api_key (updated at most once a minute)';
COMMENT ON COLUMN trade.api_key.revoked_at IS 'When the key was revoked (quant.revoke_api_key); NULL while valid';
COMMENT ON COLUMN trade.api_key.revoked_by IS 'The quant user who revoked it';

ALTER TABLE trade.api_key ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.api_key FORCE ROW LEVEL SECURITY;
CREATE POLICY api_key_own ON trade.api_key
    USING (user_id = pg_catalog.current_setting('quant.user', true))
    WITH CHECK (user_id = pg_catalog.current_setting('quant.user', true));
CREATE POLICY api_key_admin ON trade.api_key TO quant_admin
    USING (true) WITH CHECK (true);
REVOKE ALL ON trade.api_key FROM PUBLIC;
-- never key_hash for reading; no DELETE
GRANT SELECT (key_id, user_id, label, created_at, created_by, db_role, last_used_at, revoked_at, revoked_by),
      INSERT (key_id, user_id, label, key_hash, created_by),
      UPDATE (revoked_at, revoked_by)
   ON trade.api_key TO quant_app, quant_admin;
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
-- hash of a key of their choosing computed (only quant.authenticate_api_key checks keys).
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
GRANT EXECUTE ON FUNCTION trade.api_key_make(uuid) TO quant_app, quant_admin;

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
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('key_id', k.key_id, 'user', k.user_id, 'label', k.label,
                              'status', CASE WHEN k.revoked_at IS NULL THEN 'active' ELSE 'revoked' END,
                              'created_at', k.created_at, 'created_by', k.created_by,
                              'last_used_at', k.last_used_at, 'revoked_at', k.revoked_at);
$$;
COMMENT ON FUNCTION trade.api_key_json(trade.api_key) IS
  'Internal: an API key as JSON {key_id, user, label, status (active, revoked), created_at, created_by, last_used_at, revoked_at}: never the key or its hash.';

CREATE FUNCTION trade.api_key_max_active() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 100';
COMMENT ON FUNCTION trade.api_key_max_active() IS 'Active (not revoked) API keys a user may have at once.';

-- ---- the API ----
CREATE FUNCTION quant.create_api_key(user_id text, label text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.create_api_key';
    me text := nullif(pg_catalog.current_setting('quant.user', true), '');
    admin boolean := trade.api_key_admin();
    active integer;
    kid uuid := quant.uuid_generate_v7();
    made record;
BEGIN
    IF create_api_key.user_id IS NULL THEN
        RAISE EXCEPTION '%: user_id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'user_id';
    END IF;
    IF create_api_key.user_id !~ '^[A-Za-z0-9_.@-]{1,64}$' THEN
        RAISE EXCEPTION '%: user_id must be 1 to 64 characters of letters, digits, _ . @ -, got "%"', fn,
                        left(create_api_key.user_id, 80)
            USING ERRCODE = '22023', COLUMN = 'user_id', HINT = 'a quant user name, as quant.set_user takes';
    END IF;
    IF label IS NOT NULL AND (length(label) > 200 OR label ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION '%: label must be at most 200 characters without control characters', fn
            USING ERRCODE = '22023', COLUMN = 'label', HINT = 'a short description such as "laptop script", or NULL';
    END IF;
    IF NOT admin THEN
        IF me IS NULL THEN
            PERFORM quant.current_user_id();  -- ERROR 28000: no current user
        END IF;
        IF create_api_key.user_id <> me THEN
            RAISE EXCEPTION '%: you (%) may create API keys only for yourself, not for "%"', fn, me,
                            create_api_key.user_id
                USING ERRCODE = '42501', COLUMN = 'user_id',
                      HINT = 'an administrator (a superuser or a member of quant_admin) creates keys for other users';
        END IF;
    END IF;
    -- at most api_key_max_active() active keys per user (serialised per user)
    PERFORM pg_advisory_xact_lock(hashtextextended('quant.create_api_key:' || create_api_key.user_id, 0));
    SELECT count(*) INTO active FROM trade.api_key k
    WHERE k.user_id = create_api_key.user_id AND k.revoked_at IS NULL;
    IF active >= trade.api_key_max_active() THEN
        RAISE EXCEPTION '%: user % already has % active API keys', fn, create_api_key.user_id, active
            USING ERRCODE = '54000', COLUMN = 'user_id',
                  HINT = 'revoke unused keys with quant.revoke_api_key(key_id); quant.list_api_keys() lists them';
    END IF;
    made := trade.api_key_make(kid);
    INSERT INTO trade.api_key (key_id, user_id, label, key_hash, created_by)
    VALUES (kid, create_api_key.user_id, label, made.key_hash, me);
    RETURN made.key;
END
$$;
COMMENT ON FUNCTION quant.create_api_key(text, text) IS
  'A new API key for user_id (with an optional label), returned once: "qk_<key_id>_<secret>", 79 characters; only its keyed hash (HMAC-SHA-256 with the installation''s pepper) is stored. Allowed for yourself (user_id = the current quant user) or, for anyone, to an administrator (a superuser or a member of quant_admin); otherwise 42501. At most 100 active keys per user (54000).';

CREATE FUNCTION quant.revoke_api_key(key_id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
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
  'Revokes an API key of the current user at once: quant.authenticate_api_key no longer accepts it. P0002 when it is not yours (even for an administrator: act as that user). Revoking a revoked key returns it unchanged. Returns the key''s JSON (never the key or its hash).';

CREATE FUNCTION quant.list_api_keys(include_revoked boolean DEFAULT false) RETURNS SETOF jsonb
LANGUAGE sql STABLE
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

CREATE FUNCTION quant.authenticate_api_key(key text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m text[];
    k trade.api_key;
    pepper bytea;
    given bytea;
    ok boolean;
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'quant.authenticate_api_key: key must not be NULL' USING ERRCODE = '22004', COLUMN = 'key';
    END IF;
    m := regexp_match(key, '^qk_([0-9a-f]{32})_[A-Za-z0-9_-]{43}$');
    IF m IS NULL THEN
        RETURN NULL;  -- malformed: unknown, like any other
    END IF;
    SELECT * INTO k FROM trade.api_key t WHERE t.key_id = m[1]::uuid;
    pepper := trade.api_key_pepper(false);
    IF pepper IS NULL THEN
        RETURN NULL;  -- no key was ever made here
    END IF;
    -- hash and compare even for an unknown key_id, so the time says little about which part was wrong
    given := trade.hmac_sha256(pepper, key);
    ok := trade.bytea_equal_ct(given, coalesce(k.key_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea))
          AND k.key_id IS NOT NULL;
    IF NOT ok OR k.revoked_at IS NOT NULL THEN
        RETURN NULL;
    END IF;
    IF k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' THEN
        UPDATE trade.api_key t SET last_used_at = now() WHERE t.key_id = k.key_id;
    END IF;
    RETURN k.user_id;
END
$$;
COMMENT ON FUNCTION quant.authenticate_api_key(text) IS
  'For the REST layer: the quant user of a valid API key, or NULL for a malformed, unknown, wrong or revoked one (all alike); ERROR 22004 for NULL. Compares keyed hashes in constant time and records last_used_at (at most once a minute). Then run the request with quant.set_user(user, true). EXECUTE for quant_app (and the owner) only.';
REVOKE ALL ON FUNCTION quant.authenticate_api_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.authenticate_api_key(text) TO quant_app;
GRANT EXECUTE ON FUNCTION quant.create_api_key(text, text), quant.revoke_api_key(uuid), quant.list_api_keys(boolean)
  TO quant_app, quant_admin;
