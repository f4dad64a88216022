-- The execution log (seed 7 TRADE.LOG): what the live loop did with each signal (quant-worker,
-- the schedule and the stop loss write it); read by quant.get_deployment and
-- quant.deployment_trades.
CREATE TABLE trade.log (
    log_id         uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    deployment_id  uuid NOT NULL REFERENCES trade.deployment (deployment_id),
    signal_id      uuid REFERENCES trade.signal (signal_id),
    user_id        text NOT NULL,
    ts             timestamptz NOT NULL DEFAULT now(),
    signal_value   numeric,
    action         text NOT NULL CHECK (action IN ('BUY', 'SELL', 'HOLD', 'REJECTED')),
    qty            numeric,
    price          numeric,
    order_id       text,
    success        boolean NOT NULL,
    message        text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    reason         text,
    bar_ts         timestamptz
);
CREATE INDEX log_deployment_idx ON trade.log (deployment_id, ts);
COMMENT ON TABLE trade.log IS 'The execution log (seed 7): BUY, SELL, HOLD or REJECTED (with the reason in message), per deployment.';
COMMENT ON COLUMN trade.log.reason IS 'For REJECTED rows, a reason code to query by (the live loop writes stale_bars, insufficient_history, no_bars, error); the text is in message';
COMMENT ON COLUMN trade.log.bar_ts IS 'The bar the row is about, when known (e.g. the stale bar of a stale_bars rejection)';

ALTER TABLE trade.log ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.log FORCE ROW LEVEL SECURITY;
CREATE POLICY log_own ON trade.log
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
SELECT pg_catalog.pg_extension_config_dump('trade.log', '');

CREATE FUNCTION trade.log_json(l trade.log) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'log_id', l.log_id, 'deployment_id', l.deployment_id, 'signal_id', l.signal_id, 'timestamp', l.ts,
        'action', l.action, 'qty', l.qty, 'price', l.price, 'success', l.success, 'message', l.message,
        'reason', l.reason, 'order_id', l.order_id, 'signal_value', l.signal_value, 'bar_ts', l.bar_ts);
END
$$;
COMMENT ON FUNCTION trade.log_json(trade.log) IS
  'Internal: a trade.log row as JSON: log_id, deployment_id, signal_id, timestamp, action, qty, price, success, message, reason, order_id, signal_value, bar_ts.';
