-- Orders that do not finish at once and the breakers on a timer (issue 15, parts 3 and 4):
-- what quant-worker's sweep reads (worker/src/open_orders.cpp). A deployment's risk_limits carry
-- the open-order policy (quant::parse_risk_limits validates it): open_order_policy cancel (the
-- default) or leave, and open_order_timeout_s (1..86400, default 60) after the send.
CREATE FUNCTION trade.worker_overdue_orders(worker text, lease_seconds double precision DEFAULT 60)
RETURNS TABLE (client_order_id text, deployment_id uuid, signal_id uuid, user_id text, status text,
               symbol text, side text, qty numeric, broker text, policy text, timeout_s integer)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.client_order_id, o.deployment_id, o.signal_id, o.user_id, o.status, o.symbol, o.side, o.qty,
           o.broker, p.policy, p.timeout_s
    FROM trade."order" o
    JOIN trade.signal s ON s.signal_id = o.signal_id
    JOIN trade.deployment d ON d.deployment_id = o.deployment_id
    CROSS JOIN LATERAL (SELECT coalesce(d.risk_limits->>'open_order_policy', 'cancel') AS policy,
                               coalesce((d.risk_limits->>'open_order_timeout_s')::integer, 60) AS timeout_s) p
    WHERE o.status = 'SENT'
      AND coalesce(o.sent_at, o.created_at) < clock_timestamp() - make_interval(secs => p.timeout_s)
      AND (s.status <> 'PROCESSING' OR s.claimed_by = worker OR s.claimed_at IS NULL
           OR s.claimed_at < now() - make_interval(secs => lease_seconds))
    ORDER BY o.created_at, o.order_id;
$$;
COMMENT ON FUNCTION trade.worker_overdue_orders(text, double precision) IS
  'quant-worker''s open-order sweep: every order still open at its broker (SENT) longer than its deployment''s risk_limits.open_order_timeout_s (default 60) after the send, with the deployment''s open_order_policy (cancel, the default, or leave), that no other live worker is working on. SECURITY DEFINER (every user''s orders).';
REVOKE ALL ON FUNCTION trade.worker_overdue_orders(text, double precision) FROM PUBLIC;

CREATE FUNCTION trade.worker_breaker_watch() RETURNS TABLE (deployment_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.deployment_id FROM trade.deployment d
    WHERE d.enabled
      AND EXISTS (SELECT 1 FROM trade.fill f WHERE f.deployment_id = d.deployment_id)
      AND (d.risk_limits ?| ARRAY['max_daily_loss', 'max_daily_loss_pct', 'max_drawdown', 'max_drawdown_pct']
           OR EXISTS (SELECT 1 FROM trade.account_limits a WHERE a.user_id = d.user_id))
    ORDER BY d.deployment_id;
$$;
COMMENT ON FUNCTION trade.worker_breaker_watch() IS
  'quant-worker''s breaker timer: the enabled deployments with fills whose loss or drawdown breakers (deployment risk_limits or the user''s account limits) can move with the price; each is measured on the latest prices (trade.worker_breaker_facts) without waiting for a signal. SECURITY DEFINER (every user''s deployments).';
REVOKE ALL ON FUNCTION trade.worker_breaker_watch() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION trade.worker_overdue_orders(text, double precision), trade.worker_breaker_watch()
  TO quant_worker;
