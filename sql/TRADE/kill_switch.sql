-- The kill switches (issue 15, part 2): four of them, one meaning each.
--
--   enabled = false (quant.update_deployment, per deployment): no new entries. The schedule
--     writes no signal for it; a signal already written or claimed still runs, but only its
--     reduce-only legs are sent (the core's check_order: kill_switch blocks the rest), so exits
--     and the stop loss (quant.check_stop_losses looks at disabled deployments too) still run
--     and nothing is trapped.
--   quant.flatten_deployment(id): disables the deployment at once (as above) and writes a
--     flattening signal (signal 0, source flatten) that quant-worker executes through the normal
--     checked path (reduce-only legs, intent before send). A HOLD row (reason flatten, success)
--     ends a pause after repeated rejects, as the stop loss's does.
--   quant.disable_all_deployments(): enabled = false on every deployment of the current user.
--   quant.halt_trading(reason) / quant.resume_trading() (quant_admin only): while halted, no
--     order of anyone is sent, exits included. The worker refuses claimed signals (REJECTED,
--     reason halted) and checks once more right before each send (trade.worker_send_gate).
--
-- The last check before a send: quant-worker opens a transaction, calls trade.worker_send_gate
-- (which takes trade.trading_halt's row and the deployment's row FOR SHARE), sends the order
-- and commits only after the broker answered. quant.halt_trading updates the halt row and
-- quant.update_deployment, flatten and disable_all update the deployment row, so each waits
-- for a send in flight: when one of them returns, no refused order is being sent and none will
-- be. An order whose intent was committed before the switch (claimed, not yet sent) is refused
-- by the gate: status REJECTED, never sent (sent_at NULL), and a REJECTED trade.log row.

CREATE TABLE trade.trading_halt (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    halted      boolean NOT NULL DEFAULT false,
    reason      text,
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by  text NOT NULL DEFAULT session_user
);
INSERT INTO trade.trading_halt (singleton) VALUES (true);
-- no policy: only its owner's functions (SECURITY DEFINER) read or change it
ALTER TABLE trade.trading_halt ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.trading_halt FORCE ROW LEVEL SECURITY;
COMMENT ON TABLE trade.trading_halt IS 'The administrators'' halt of all trading (one row): while halted, quant-worker sends no order of anyone. Changed by quant.halt_trading and quant.resume_trading only; the history is trade.trading_halt_log.';

CREATE TABLE trade.trading_halt_log (
    event_id    uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    halted      boolean NOT NULL,
    reason      text,
    db_role     text NOT NULL DEFAULT session_user
);
COMMENT ON TABLE trade.trading_halt_log IS 'Every halt and resume of all trading: when, which database login, why.';
ALTER TABLE trade.trading_halt_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.trading_halt_log FORCE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('trade.trading_halt_log', '');

-- ---- the administrators' halt ----
CREATE FUNCTION quant.trading_status() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('halted', h.halted, 'reason', h.reason, 'since', h.changed_at, 'by', h.changed_by)
    FROM trade.trading_halt h;
$$;
COMMENT ON FUNCTION quant.trading_status() IS
  'Whether all trading is halted by an administrator: {halted, reason, since, by}.';

CREATE FUNCTION quant.halt_trading(reason text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'quant.halt_trading: reason must be given' USING ERRCODE = '22004', COLUMN = 'reason',
            HINT = 'say why, e.g. quant.halt_trading(''broker outage'')';
    END IF;
    -- waits for every send in flight (trade.worker_send_gate holds this row FOR SHARE)
    UPDATE trade.trading_halt h
       SET halted = true, reason = halt_trading.reason, changed_at = clock_timestamp(), changed_by = session_user;
    INSERT INTO trade.trading_halt_log (halted, reason) VALUES (true, reason);
    PERFORM pg_catalog.pg_notify('quant_alert', jsonb_build_object('kind', 'halt', 'halted', true, 'reason', reason,
                                                                   'at', clock_timestamp())::text);
    RETURN quant.trading_status();
END
$$;
COMMENT ON FUNCTION quant.halt_trading(text) IS
  'quant_admin: halts all trading: quant-worker sends no order of anyone (exits included) until quant.resume_trading; claimed signals are REJECTED (reason halted). Returns once no send is in flight. Logged in trade.trading_halt_log and NOTIFYed on quant_alert.';

CREATE FUNCTION quant.resume_trading() RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE trade.trading_halt h
       SET halted = false, reason = NULL, changed_at = clock_timestamp(), changed_by = session_user;
    INSERT INTO trade.trading_halt_log (halted, reason) VALUES (false, NULL);
    PERFORM pg_catalog.pg_notify('quant_alert', jsonb_build_object('kind', 'halt', 'halted', false,
                                                                   'at', clock_timestamp())::text);
    RETURN quant.trading_status();
END
$$;
COMMENT ON FUNCTION quant.resume_trading() IS
  'quant_admin: ends the halt of all trading (signals refused while halted stay refused). Logged and NOTIFYed on quant_alert.';

-- ---- the users' switches ----
CREATE FUNCTION trade.disable_deployment(d trade.deployment, action text) RETURNS trade.deployment
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old_json jsonb := trade.deployment_json(d);
BEGIN
    IF NOT d.enabled THEN
        RETURN d;
    END IF;
    UPDATE trade.deployment t
       SET enabled = false, updated_at = now(), config = t.config || '{"enabled": false}'
     WHERE t.deployment_id = d.deployment_id
    RETURNING * INTO d;
    PERFORM trade.write_audit('deployment', d.deployment_id, action, old_json, trade.deployment_json(d));
    RETURN d;
END
$$;
COMMENT ON FUNCTION trade.disable_deployment(trade.deployment, text) IS
  'Internal: enabled = false on a (locked) deployment row of the current user, audited with the given action; unchanged when already disabled.';
REVOKE ALL ON FUNCTION trade.disable_deployment(trade.deployment, text) FROM PUBLIC;

CREATE FUNCTION quant.flatten_deployment(id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- FOR UPDATE: waits for a send in flight of this deployment (trade.worker_send_gate)
    d trade.deployment := trade.own_deployment(id, 'quant.flatten_deployment', true);
    g trade.signal;
BEGIN
    d := trade.disable_deployment(d, 'flatten');
    g := trade.write_flatten_signal(d, 'flatten by ' || d.user_id || ': deployment disabled');  -- TRADE/breaker.sql
    RETURN trade.deployment_json(d) || jsonb_build_object('flatten_signal_id', g.signal_id);
END
$$;
COMMENT ON FUNCTION quant.flatten_deployment(uuid) IS
  'Flattens a deployment of the current user: disables it at once (no new entries; audited, action flatten) and writes a flattening signal (signal 0, source flatten; NOTIFY quant_signal) that quant-worker executes through its normal checks with reduce-only legs. Returns the Deployment JSON with flatten_signal_id (the open one when a flatten is already on its way). P0002 when not yours.';

CREATE FUNCTION quant.disable_all_deployments() RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment;
    ids jsonb := '[]';
BEGIN
    FOR d IN SELECT * FROM trade.deployment t
             WHERE t.user_id = quant.current_user_id() AND t.enabled
             ORDER BY t.created_at, t.deployment_id FOR UPDATE
    LOOP
        d := trade.disable_deployment(d, 'disable_all');
        ids := ids || to_jsonb(d.deployment_id);
    END LOOP;
    RETURN jsonb_build_object('disabled', jsonb_array_length(ids), 'deployment_ids', ids);
END
$$;
COMMENT ON FUNCTION quant.disable_all_deployments() IS
  'The current user''s kill switch for everything: enabled = false on every enabled deployment (no new entries; exits and the stop loss still run), each audited (action disable_all). Returns {disabled, deployment_ids}.';

-- ---- the worker's last check before a send ----
CREATE FUNCTION trade.worker_send_gate(coid text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o trade."order";
    h trade.trading_halt;
    d trade.deployment;
    g trade.signal;
    code text;
    msg text;
BEGIN
    SELECT * INTO o FROM trade."order" x WHERE x.client_order_id = coid FOR UPDATE;
    IF o.order_id IS NULL THEN
        RAISE EXCEPTION 'trade.worker_send_gate: no order with client id %', coid USING ERRCODE = 'P0002';
    END IF;
    SELECT * INTO h FROM trade.trading_halt x FOR SHARE;
    SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = o.deployment_id FOR SHARE;
    IF h.halted THEN
        code := 'halted';
        msg := format('trading is halted by an administrator since %s: %s', h.changed_at, h.reason);
    ELSIF NOT o.reduce_only AND NOT (d.enabled AND d.stopped_at IS NULL) THEN
        code := 'kill_switch';
        msg := 'deployment is disabled (kill switch): no new entries, exits only';
    ELSIF NOT o.reduce_only THEN
        msg := trade.breaker_open(d);  -- TRADE/breaker.sql
        IF msg IS NOT NULL THEN
            code := 'breaker';
        END IF;
    END IF;
    IF code IS NULL THEN
        RETURN jsonb_build_object('allowed', true);
    END IF;
    IF o.status = 'NEW' THEN
        UPDATE trade."order" x SET status = 'REJECTED', resolved_at = clock_timestamp(), reason = code || ': ' || msg
         WHERE x.order_id = o.order_id;
        SELECT * INTO g FROM trade.signal s WHERE s.signal_id = o.signal_id;
        INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, order_id, success,
                               message, reason, bar_ts)
        VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, 'REJECTED', o.qty, o.client_order_id, false,
                msg || ' (checked right before the send; never sent)', code, g.bar_ts);
        -- the signal is finished: DONE when an earlier leg filled, else REJECTED (the core's finish_after_block)
        UPDATE trade.signal s
           SET status = CASE WHEN EXISTS (SELECT 1 FROM trade."order" x WHERE x.signal_id = o.signal_id
                                                                        AND x.status = 'FILLED')
                             THEN 'DONE' ELSE 'REJECTED' END,
               processed_at = now()
         WHERE s.signal_id = o.signal_id;
    END IF;
    RETURN jsonb_build_object('allowed', false, 'code', code, 'message', msg);
END
$$;
COMMENT ON FUNCTION trade.worker_send_gate(text) IS
  'quant-worker, right before a send, in the transaction it commits after the broker answered: locks trade.trading_halt and the deployment FOR SHARE (so a halt, a disable or a flatten waits for the send), then refuses the order when trading is halted (halted), or, for an order that is not reduce-only, when the deployment is disabled or stopped (kill_switch) or a breaker is open (breaker). A refused NEW order becomes REJECTED (never sent) with a REJECTED trade.log row, and its signal DONE when an earlier leg filled, else REJECTED. Returns {allowed, code, message}.';
