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
