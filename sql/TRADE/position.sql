-- The position of each deployment as quant-worker books it from its fills
-- (trade.worker_record_outcome, TRADE/order.sql; the arithmetic is quant.position_after).
CREATE TABLE trade.position (
    deployment_id  uuid PRIMARY KEY REFERENCES trade.deployment (deployment_id),
    user_id        text NOT NULL,
    symbol         text NOT NULL,
    qty            numeric NOT NULL DEFAULT 0,
    avg_price      numeric,
    realized_pnl   numeric NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE trade.position IS 'The position of each deployment as booked from its fills (signed qty, average entry price, realised P&L); the broker''s report is authoritative and must agree';

ALTER TABLE trade.position ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.position FORCE ROW LEVEL SECURITY;
CREATE POLICY position_own ON trade.position
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
SELECT pg_catalog.pg_extension_config_dump('trade.position', '');
-- the REST layer reads it; only quant-worker writes

CREATE FUNCTION quant.deployment_position(id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.deployment_position', false);
    p trade.position;
BEGIN
    SELECT * INTO p FROM trade.position x WHERE x.deployment_id = d.deployment_id AND x.user_id = d.user_id;
    RETURN jsonb_build_object('deployment_id', d.deployment_id, 'symbol', coalesce(p.symbol, d.ticker),
                              'qty', coalesce(p.qty, 0), 'avg_price', p.avg_price,
                              'realized_pnl', coalesce(p.realized_pnl, 0), 'updated_at', p.updated_at);
END
$$;
COMMENT ON FUNCTION quant.deployment_position(uuid) IS
  'The booked position of a deployment of the current user: symbol, qty (signed), avg_price, realized_pnl. P0002 when not yours.';
