-- Fills of the live loop's orders as the broker reported them, booked by quant-worker
-- (trade.worker_record_outcome, TRADE/order.sql).
CREATE TABLE trade.fill (
    fill_id          uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    order_id         uuid NOT NULL REFERENCES trade."order" (order_id),
    deployment_id    uuid NOT NULL REFERENCES trade.deployment (deployment_id),
    user_id          text NOT NULL,
    client_order_id  text NOT NULL,
    side             text NOT NULL CHECK (side IN ('BUY', 'SELL')),
    qty              numeric NOT NULL CHECK (qty > 0 AND qty <= 1e12),
    price            numeric NOT NULL CHECK (price > 0),
    fee              numeric NOT NULL DEFAULT 0,
    ts               timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX fill_deployment_idx ON trade.fill (deployment_id, ts);
CREATE INDEX fill_order_idx ON trade.fill (order_id);
COMMENT ON TABLE trade.fill IS 'Fills of trade."order" rows as the broker reported them: one row per part filled (a market order that fills at once has one)';

ALTER TABLE trade.fill ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.fill FORCE ROW LEVEL SECURITY;
CREATE POLICY fill_own ON trade.fill
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
SELECT pg_catalog.pg_extension_config_dump('trade.fill', '');
-- the REST layer reads it; only quant-worker writes
