-- psql ergonomics: the common questions as views. They are security_invoker (PostgreSQL 15), so
-- row-level security applies to the caller: each user sees only their own rows.
CREATE VIEW quant.deployments WITH (security_invoker = true) AS
SELECT d.deployment_id, d.user_id, s.name AS strategy_name, d.strategy_id, d.strategy_version,
       s.current_version AS strategy_current_version, d.broker, d.ticker, d.market, d.qty, d.paper, d.schedule,
       CASE WHEN d.stopped_at IS NOT NULL THEN 'stopped' WHEN d.enabled THEN 'active' ELSE 'disabled' END AS status,
       g.bar_ts AS last_signal_bar, g.signal AS last_signal, g.created_at AS last_signal_at,
       d.created_at, d.updated_at, d.stopped_at
FROM trade.deployment d
JOIN bt.strategy s ON s.strategy_id = d.strategy_id
-- the columns trade.signal had when this view was released (what its * expanded to then)
LEFT JOIN LATERAL (SELECT x.signal_id, x.deployment_id, x.user_id, x.bar_ts, x.signal, x.evaluation, x.created_at,
                          x.strategy_version, x.ticker, x.status, x.processed_at
                     FROM trade.signal x WHERE x.deployment_id = d.deployment_id
                   ORDER BY x.bar_ts DESC LIMIT 1) g ON true
WHERE d.user_id = quant.current_user_id();
COMMENT ON VIEW quant.deployments IS
  'The current user''s deployments with their strategy''s name, the pinned and the current version, status and last signal.';

CREATE VIEW quant.strategies WITH (security_invoker = true) AS
SELECT s.strategy_id, s.user_id, s.name, s.ticker, s.current_version AS version, v.conjunction, v.trading_period,
       jsonb_array_length(v.config->'substrategies') AS substrategies,
       r.run_at AS last_run_at, (r.metrics->>'sharpe_ratio')::double precision AS sharpe_ratio,
       (r.metrics->>'total_return')::double precision AS total_return,
       (r.metrics->>'max_drawdown')::double precision AS max_drawdown,
       s.created_at, s.updated_at
FROM bt.strategy s
JOIN bt.strategy_version v ON v.strategy_id = s.strategy_id AND v.version = s.current_version
LEFT JOIN LATERAL (SELECT * FROM bt.result x WHERE x.strategy_id = s.strategy_id
                   ORDER BY x.run_at DESC, x.result_id DESC LIMIT 1) r ON true
WHERE s.deleted_at IS NULL AND s.user_id = quant.current_user_id();
COMMENT ON VIEW quant.strategies IS
  'The current user''s strategies (not deleted) with their current version and the headline metrics of the latest result.';

