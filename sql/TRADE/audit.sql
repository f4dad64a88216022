-- The audit trail: every strategy version and every change to a deployment (who, when,
-- old -> new), and the live gate's outcomes. Append-only: a trigger refuses UPDATE, DELETE and
-- TRUNCATE for everyone (the owner included), and quant_app is granted only SELECT and INSERT.
CREATE TABLE trade.audit (
    audit_id    uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    user_id     text NOT NULL,                          -- the quant user who acted
    db_role     text NOT NULL DEFAULT session_user,     -- the database login that carried it
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    entity      text NOT NULL CHECK (entity IN ('strategy', 'deployment', 'live_gate', 'broker_credential', 'breaker', 'account_limits')),
    entity_id   uuid,
    action      text NOT NULL,
    old_value   jsonb,
    new_value   jsonb,
    message     text
);
CREATE INDEX audit_entity_idx ON trade.audit (entity_id, at);
CREATE INDEX audit_user_idx ON trade.audit (user_id, at);
COMMENT ON TABLE trade.audit IS 'Append-only audit trail: strategy versions, deployment changes (old -> new) and live-gate outcomes, per user.';
COMMENT ON COLUMN trade.audit.user_id IS 'The quant user (quant.current_user_id()) who made the change';
COMMENT ON COLUMN trade.audit.db_role IS 'The database login (session_user) that carried the change';
COMMENT ON COLUMN trade.audit.entity IS 'strategy, deployment, live_gate, broker_credential, breaker or account_limits';
COMMENT ON COLUMN trade.audit.action IS 'create, new_version, delete, deploy, update, stop, live_enabled, live_refused, set_trade_password, flatten, disable_all, breaker, reset';
COMMENT ON COLUMN trade.audit.old_value IS 'The object before the change (NULL on create)';
COMMENT ON COLUMN trade.audit.new_value IS 'The object after the change (NULL on delete); never holds a password';

CREATE FUNCTION trade.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'trade.audit is append-only: % is not allowed', TG_OP
        USING ERRCODE = '42501', HINT = 'the audit trail is kept as written';
END
$$;
COMMENT ON FUNCTION trade.audit_refuse_change() IS 'Trigger: keeps trade.audit append-only.';
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON trade.audit
    FOR EACH ROW EXECUTE FUNCTION trade.audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON trade.audit
    FOR EACH STATEMENT EXECUTE FUNCTION trade.audit_refuse_change();

ALTER TABLE trade.audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.audit FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_own ON trade.audit
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

-- One row of the trail, as the current user.
CREATE FUNCTION trade.write_audit(entity text, entity_id uuid, action text, old_value jsonb, new_value jsonb,
                                  message text DEFAULT NULL) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO trade.audit (user_id, entity, entity_id, action, old_value, new_value, message)
    VALUES (quant.current_user_id(), entity, entity_id, action, old_value, new_value, message);
$$;
COMMENT ON FUNCTION trade.write_audit(text, uuid, text, jsonb, jsonb, text) IS
  'Internal: appends one row to trade.audit as the current user.';

CREATE FUNCTION quant.audit_trail(entity_id uuid DEFAULT NULL) RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('audit_id', a.audit_id, 'at', a.at, 'user', a.user_id, 'db_role', a.db_role,
                              'entity', a.entity, 'entity_id', a.entity_id, 'action', a.action,
                              'old', a.old_value, 'new', a.new_value, 'message', a.message)
    FROM trade.audit a
    WHERE a.user_id = quant.current_user_id()
      AND (audit_trail.entity_id IS NULL OR a.entity_id = audit_trail.entity_id)
    ORDER BY a.at, a.audit_id;
$$;
COMMENT ON FUNCTION quant.audit_trail(uuid) IS
  'The current user''s audit trail (all of it, or of one strategy or deployment), oldest first: {audit_id, at, user, db_role, entity, entity_id, action, old, new, message}.';

SELECT pg_catalog.pg_extension_config_dump('trade.audit', '');
