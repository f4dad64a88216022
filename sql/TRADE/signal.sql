-- Signals: one evaluated signal per deployment, bar and source, written by the live loop (the
-- schedule, TRADE/schedule.sql, and the stop loss, TRADE/stop_loss.sql), NOTIFYed on
-- quant_signal and claimed by quant-worker (TRADE/order.sql: claimed_by, claimed_at, attempts).
--
-- The duplicate guard is UNIQUE (deployment_id, bar_ts, source): a bar may have its scheduled
-- signal and one stop-loss signal, never two of either.
CREATE TABLE trade.signal (
    signal_id      uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    deployment_id  uuid NOT NULL REFERENCES trade.deployment (deployment_id),
    user_id        text NOT NULL,
    bar_ts         timestamptz NOT NULL,
    signal         numeric NOT NULL CHECK (signal IN (-1, 0, 1)),
    evaluation     jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    strategy_version integer,
    ticker         text,
    status         text NOT NULL DEFAULT 'PENDING' REFERENCES refdata.signal_status (status),
    processed_at   timestamptz,
    claimed_by     text,
    claimed_at     timestamptz,
    attempts       integer NOT NULL DEFAULT 0,
    source         text NOT NULL DEFAULT 'schedule' CHECK (source IN ('schedule', 'stop_loss', 'flatten')),
    CONSTRAINT signal_deployment_id_bar_ts_source_key UNIQUE (deployment_id, bar_ts, source)
);
CREATE INDEX signal_pending_idx ON trade.signal (created_at) WHERE status = 'PENDING';
CREATE INDEX signal_stop_loss_open_idx ON trade.signal (deployment_id)
    WHERE source = 'stop_loss' AND status IN ('PENDING', 'PROCESSING');
COMMENT ON TABLE trade.signal IS 'One evaluated signal per deployment and bar (the duplicate guard), written by the live loop (quant.run_schedule, quant.run_deployment) and NOTIFYed on channel quant_signal (payload: signal_id).';
COMMENT ON COLUMN trade.signal.evaluation IS 'The whole quant.evaluate_config result: ticker, bar_ts, signal, conjunction, substrategies [{id, indicator, signal_func, window, value, position}] (the seed''s signal log)';
COMMENT ON COLUMN trade.signal.strategy_version IS 'The strategy version evaluated (the deployment''s pinned version at the time)';
COMMENT ON COLUMN trade.signal.ticker IS 'The data ticker the strategy was evaluated on (md.bar), not the broker symbol';
COMMENT ON COLUMN trade.signal.status IS 'PENDING until quant-worker claims it (FOR UPDATE SKIP LOCKED), then PROCESSING, DONE or REJECTED';
COMMENT ON COLUMN trade.signal.claimed_by IS 'The quant-worker (QUANT_WORKER_ID) that claimed the signal (status PROCESSING)';
COMMENT ON COLUMN trade.signal.claimed_at IS 'When it was claimed: a PROCESSING claim older than the worker''s lease (60 s) may be claimed again (its worker died)';
COMMENT ON COLUMN trade.signal.attempts IS 'How often the signal was claimed; at 5 the next claim gives up (REJECTED, reason error)';
COMMENT ON COLUMN trade.signal.source IS 'Who wrote the signal: schedule (quant.run_schedule, quant.run_deployment: the strategy''s evaluation) or stop_loss (quant.check_stop_losses: a flattening signal 0) or flatten (quant.flatten_deployment, a breaker''s flatten_on_breach: signal 0, bar_ts the time it was written). Part of the duplicate guard (deployment_id, bar_ts, source)';

ALTER TABLE trade.signal ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.signal FORCE ROW LEVEL SECURITY;
CREATE POLICY signal_own ON trade.signal
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
SELECT pg_catalog.pg_extension_config_dump('trade.signal', '');

CREATE FUNCTION trade.signal_json(g trade.signal) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'signal_id', g.signal_id, 'deployment_id', g.deployment_id, 'signal', g.signal::integer, 'bar_ts', g.bar_ts,
        'status', g.status, 'strategy_version', g.strategy_version, 'ticker', g.ticker,
        'conjunction', g.evaluation->'conjunction',
        'substrategies', coalesce(g.evaluation->'substrategies', '[]'::jsonb),
        'created_at', g.created_at, 'processed_at', g.processed_at);
END
$$;
COMMENT ON FUNCTION trade.signal_json(trade.signal) IS
  'Internal: a trade.signal row as JSON: signal_id, deployment_id, signal, bar_ts, status, strategy_version, ticker, conjunction, substrategies [{id, indicator, signal_func, window, value, position}], created_at, processed_at.';
