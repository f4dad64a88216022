-- Users: who the current caller is (the roles are in roles.sql).
--
-- The current user is the setting quant.user. psql sets it for the session with
-- quant.set_user(name); the REST layer sets it per request with quant.set_user(name, true)
-- (SET LOCAL semantics: it ends with the transaction). Every quant.* function acts only on the
-- rows whose user_id is quant.current_user_id(), even when a superuser calls it; row-level
-- security with FORCE backs that up for the application role quant_app, which owns nothing.
-- No current user is ERROR 28000 (invalid_authorization_specification), distinct from the live
-- gate's 42501 (insufficient_privilege): "who are you?" versus "you may not".

CREATE FUNCTION quant.set_user(name text, is_local boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'quant.set_user: name must not be NULL' USING ERRCODE = '22004', COLUMN = 'name';
    END IF;
    IF is_local IS NULL THEN
        RAISE EXCEPTION 'quant.set_user: is_local must not be NULL' USING ERRCODE = '22004', COLUMN = 'is_local';
    END IF;
    IF name !~ '^[A-Za-z0-9_.@-]{1,64}$' THEN
        RAISE EXCEPTION 'quant.set_user: name must be 1 to 64 characters of letters, digits, _ . @ -, got "%"',
                        left(name, 80)
            USING ERRCODE = '22023', COLUMN = 'name',
                  HINT = 'a user name such as alfcheun or alice@example.com';
    END IF;
    PERFORM pg_catalog.set_config('quant.user', name, is_local);
    RETURN name;
END
$$;
COMMENT ON FUNCTION quant.set_user(text, boolean) IS
  'Sets the current quant user: for the session (psql), or with is_local = true for the current transaction only (the REST layer, per request). Returns the name. Every quant.* function then acts only on that user''s rows.';

CREATE FUNCTION quant.current_user_id() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    u text := pg_catalog.current_setting('quant.user', true);
BEGIN
    IF u IS NULL OR u = '' THEN
        RAISE EXCEPTION 'quant: no current user'
            USING ERRCODE = '28000',
                  HINT = 'call SELECT quant.set_user(''your_name'') first (or quant.set_user(name, true) per transaction)';
    END IF;
    RETURN u;
END
$$;
COMMENT ON FUNCTION quant.current_user_id() IS
  'The current quant user (the setting quant.user); ERROR 28000 when none is set. Used by every quant.* function and by the row-level security policies.';

GRANT EXECUTE ON FUNCTION quant.set_user(text, boolean), quant.current_user_id() TO quant_app;
