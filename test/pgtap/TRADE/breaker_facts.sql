-- trade.worker_breaker_facts: what quant-worker measures the loss and drawdown breakers on. The
-- books (fills and prices) are read only when a breaker measures them: a breaker named in the
-- deployment's risk_limits, or account limits of its user; otherwise books is [] (issue 16: the
-- worker reads these facts twice per signal). Expected fills come from trade.fill itself.
BEGIN;
SELECT plan(11);
SET LOCAL client_min_messages = warning;

INSERT INTO md.bar (ticker, ts, open, high, low, close, volume)
SELECT 'TAPBF', ts, open, high, low, close, volume FROM md.bar WHERE ticker = 'TTRC';
SELECT quant.set_user('tap_bf') \gset
CREATE TEMP TABLE dep AS
SELECT (quant.deploy(jsonb_build_object(
            'strategy_id', quant.create_strategy('{"ticker":"TAPBF","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id',
            'qty', 10, 'schedule', 'manual', 'ticker', 'TAPBF', 'market', 'US',
            'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid AS id;

-- one filled order: a fill of 10 @ 50
INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version)
SELECT id, 'tap_bf', timestamptz '2031-01-01', 1, 'TAPBF', 1 FROM dep;
SELECT trade.worker_insert_intent((SELECT signal_id FROM trade.signal WHERE deployment_id = (SELECT id FROM dep)),
                                  'open', 'tapbf-1', 'BUY', 10, false, 'tap');
SELECT trade.worker_record_outcome('tapbf-1', 'FILLED', 'b-1', 10, 50, 0.5, 'filled', 'DONE');
SELECT is((SELECT count(*) FROM trade.fill WHERE deployment_id = (SELECT id FROM dep)), 1::bigint, 'the deployment has a fill');

CREATE FUNCTION pg_temp.facts() RETURNS jsonb LANGUAGE sql AS $$ SELECT trade.worker_breaker_facts((SELECT id FROM dep)) $$;

-- no breaker anywhere: no books
SELECT is(pg_temp.facts()->'books', '[]'::jsonb, 'no breaker in risk_limits, no account limits: books []');
SELECT is(pg_temp.facts()->>'deployment_id', (SELECT id::text FROM dep), 'the facts still name the deployment');
SELECT is(pg_temp.facts()->'account_limits', 'null'::jsonb, 'account_limits null');

-- each of the deployment's breakers brings the books back
CREATE FUNCTION pg_temp.books_with(key text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    UPDATE trade.deployment SET risk_limits = risk_limits || jsonb_build_object(key, 3) WHERE deployment_id = (SELECT id FROM dep);
    n := jsonb_array_length(pg_temp.facts()->'books');
    UPDATE trade.deployment SET risk_limits = risk_limits - key WHERE deployment_id = (SELECT id FROM dep);
    RETURN n;
END
$$;
SELECT is((SELECT string_agg(k, ',' ORDER BY k) FROM unnest(ARRAY['max_daily_loss', 'max_daily_loss_pct', 'max_drawdown',
                                                                 'max_drawdown_pct', 'max_consecutive_losses']) AS k
           WHERE pg_temp.books_with(k) = 1),
          'max_consecutive_losses,max_daily_loss,max_daily_loss_pct,max_drawdown,max_drawdown_pct',
          'each breaker of risk_limits brings the deployment''s book');
SELECT is(pg_temp.books_with('max_position_usd'), 0, 'a limit that is no breaker (max_position_usd) does not');
UPDATE trade.deployment SET risk_limits = risk_limits || '{"max_drawdown": 500}' WHERE deployment_id = (SELECT id FROM dep);
SELECT is(jsonb_array_length(pg_temp.facts()->'books'), 1, 'max_drawdown set: the deployment''s book');
SELECT is(pg_temp.facts()->'books'->0->'fills',
          (SELECT jsonb_agg(jsonb_build_array((extract(epoch FROM f.ts) * 1000000)::bigint, f.qty, f.price, f.fee))
           FROM trade.fill f WHERE f.deployment_id = (SELECT id FROM dep)),
          'its fills: [ts_us, signed qty, price, fee] as trade.fill holds them');
UPDATE trade.deployment SET risk_limits = (risk_limits - 'max_drawdown') || '{"max_consecutive_losses": 3}'
 WHERE deployment_id = (SELECT id FROM dep);
SELECT is(jsonb_array_length(pg_temp.facts()->'books'), 1, 'max_consecutive_losses set: the book');

-- account limits alone bring them back too
UPDATE trade.deployment SET risk_limits = risk_limits - 'max_consecutive_losses' WHERE deployment_id = (SELECT id FROM dep);
SELECT is(pg_temp.facts()->'books', '[]'::jsonb, 'the breaker removed: books [] again');
SELECT quant.set_account_limits('{"max_daily_loss": 500}');
SELECT is(jsonb_array_length(pg_temp.facts()->'books'), 1, 'account limits: the user''s books (this deployment)');

SELECT * FROM finish();
ROLLBACK;
