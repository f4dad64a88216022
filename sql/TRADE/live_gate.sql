-- The live gate (seed 4.1): paper=false only with confirm_live = true and the user's trade
-- password, checked against its Argon2id hash (libsodium, in C). Failed attempts are counted
-- and logged; after live_gate_max_failures of them in a row the gate is locked for
-- live_gate_lockout. A refusal is ERROR 42501.
--
-- A failure must survive the refusal, which rolls back the caller's transaction, so it is
-- written by an autonomous transaction: a short-lived background worker (fmgr_registry.c). A
-- success or a new password resets the count (reset_at). The server log gets a WARNING for
-- every refusal, never with the statement (it may hold the password).
-- The hash table is readable by no one but the owner: the functions below are SECURITY DEFINER.
CREATE TABLE trade.trade_password (
    user_id          text PRIMARY KEY,
    password_hash    text NOT NULL,          -- Argon2id, libsodium crypto_pwhash_str format
    reset_at         timestamptz NOT NULL DEFAULT clock_timestamp(), -- failures before this do not count
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE trade.trade_password IS 'The trade password of each user (Argon2id hash only) and the live gate''s failure count and lockout. No grants: reached only through quant.set_trade_password and the live gate.';
ALTER TABLE trade.trade_password ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.trade_password FORCE ROW LEVEL SECURITY;
CREATE POLICY trade_password_own ON trade.trade_password
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
REVOKE ALL ON trade.trade_password FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('trade.trade_password', '');

-- Failed attempts: rows inserted by an autonomous transaction, so they survive the refusal.
CREATE TABLE trade.live_gate_failure (
    failure_id  uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    user_id     text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason      text NOT NULL
);
CREATE INDEX live_gate_failure_user_idx ON trade.live_gate_failure (user_id, at);
COMMENT ON TABLE trade.live_gate_failure IS 'Every wrong trade password, written in its own transaction (it outlives the refused call). The gate counts those after trade.trade_password.reset_at.';
ALTER TABLE trade.live_gate_failure ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.live_gate_failure FORCE ROW LEVEL SECURITY;
CREATE POLICY live_gate_failure_own ON trade.live_gate_failure
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
REVOKE ALL ON trade.live_gate_failure FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('trade.live_gate_failure', '');

CREATE FUNCTION trade.trade_password_hash(password text) RETURNS text
AS 'MODULE_PATHNAME', 'quant_trade_password_hash'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION trade.trade_password_hash(text) IS 'Internal: the Argon2id hash (libsodium crypto_pwhash_str, 64 MiB, 2 passes) of a password.';
CREATE FUNCTION trade.trade_password_verify(hash text, password text) RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_trade_password_verify'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION trade.trade_password_verify(text, text) IS 'Internal: whether a password matches an Argon2id hash (constant time).';
REVOKE ALL ON FUNCTION trade.trade_password_hash(text), trade.trade_password_verify(text, text) FROM PUBLIC;

CREATE FUNCTION trade.live_gate_max_failures() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 5';
COMMENT ON FUNCTION trade.live_gate_max_failures() IS 'Failed trade-password attempts in a row that lock the live gate.';
CREATE FUNCTION trade.live_gate_lockout() RETURNS interval LANGUAGE sql IMMUTABLE AS $$SELECT interval '15 minutes'$$;
COMMENT ON FUNCTION trade.live_gate_lockout() IS 'How long the live gate stays locked after too many failures.';

-- Records one failure of user_id and its audit row. Run by the autonomous worker (its own
-- committed transaction), or in the caller's transaction as a fallback.
CREATE FUNCTION trade.record_live_gate_failure(user_id text, reason text) RETURNS void
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
COMMENT ON FUNCTION trade.record_live_gate_failure(text, text) IS 'Internal: records a failed trade-password attempt and audits it.';
REVOKE ALL ON FUNCTION trade.record_live_gate_failure(text, text) FROM PUBLIC;

-- The lock state of the current user's gate: failures since reset_at, locked_until.
CREATE FUNCTION trade.live_gate_state(pw trade.trade_password, OUT failures integer, OUT locked_until timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*)::integer,
           CASE WHEN count(*) >= trade.live_gate_max_failures() THEN max(f.at) + trade.live_gate_lockout() END
    FROM trade.live_gate_failure f
    WHERE f.user_id = pw.user_id AND f.at > pw.reset_at;
$$;
COMMENT ON FUNCTION trade.live_gate_state(trade.trade_password) IS 'Internal: failed attempts since the last reset and, at the limit, the end of the lockout.';
REVOKE ALL ON FUNCTION trade.live_gate_state(trade.trade_password) FROM PUBLIC;

CREATE FUNCTION trade.record_live_gate_failure_autonomous(user_id text, reason text) RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_record_live_gate_failure_autonomous'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION trade.record_live_gate_failure_autonomous(text, text) IS
  'Internal: runs trade.record_live_gate_failure in a background worker''s own transaction, so the count survives the refusal''s rollback; false when no worker could run.';
REVOKE ALL ON FUNCTION trade.record_live_gate_failure_autonomous(text, text) FROM PUBLIC;

-- Reports of calls that may carry a password: a psql caller's statement text holds it as a
-- literal, and the server logs a failed statement (log_min_error_statement); these never do.
CREATE FUNCTION trade.quiet_report(level text, sqlstate text, message text, detail text DEFAULT NULL,
                                   hint text DEFAULT NULL, column_name text DEFAULT NULL,
                                   constraint_name text DEFAULT NULL, table_name text DEFAULT NULL,
                                   schema_name text DEFAULT NULL) RETURNS void
AS 'MODULE_PATHNAME', 'quant_quiet_report'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION trade.quiet_report(text, text, text, text, text, text, text, text, text) IS
  'Internal: a WARNING (returns) or an ERROR (raises) with these fields, whose server-log entry has no STATEMENT and no CONTEXT line: for calls that may carry a trade password as a literal in their statement text.';

-- Only the user themself tries their password: anyone else acting as them (an administrator,
-- a login that may name them) is refused before the check, so no one else can lock them out.
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

-- Logs, counts and raises a refusal (42501).
CREATE FUNCTION trade.live_gate_refuse(fn text, problem text, hint text, count_failure boolean) RETURNS void
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
REVOKE ALL ON FUNCTION trade.live_gate_refuse(text, text, text, boolean) FROM PUBLIC;

-- The gate: returns normally only with confirmation and the right password; logs the warning
-- and the audit row of success.
CREATE FUNCTION trade.live_gate(fn text, ticker text, confirm_live jsonb, password jsonb, deployment_id uuid)
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
REVOKE ALL ON FUNCTION trade.live_gate(text, text, jsonb, jsonb, uuid) FROM PUBLIC;

CREATE FUNCTION quant.set_trade_password(new_password text, old_password text DEFAULT NULL) RETURNS jsonb
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
