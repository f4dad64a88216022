-- Backtest results (seed 1.3, 2.4, 7): BacktestResults JSON stored against a strategy version.
CREATE TABLE bt.result (
    result_id          uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    strategy_id        uuid NOT NULL REFERENCES bt.strategy (strategy_id),
    version            integer NOT NULL,
    user_id            text NOT NULL,
    run_at             timestamptz NOT NULL,
    data_start         date,
    data_end           date,
    ticker             text,
    fee_bps            numeric,
    metrics            jsonb NOT NULL,
    buy_hold_metrics   jsonb,
    walk_forward       jsonb,
    result             jsonb NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (strategy_id, version) REFERENCES bt.strategy_version (strategy_id, version)
);
CREATE INDEX result_strategy_idx ON bt.result (strategy_id, run_at);
COMMENT ON TABLE bt.result IS 'BacktestResults (seed 1.3) of a strategy version, stored by quant.store_result; never updated.';
COMMENT ON COLUMN bt.result.version IS 'The strategy version the result belongs to (the current one when stored, unless the result names one)';
COMMENT ON COLUMN bt.result.metrics IS 'total_return, annualized_return, sharpe_ratio, max_drawdown, calmar_ratio (null for NaN)';
COMMENT ON COLUMN bt.result.result IS 'The whole BacktestResults object as stored (with result_id, strategy_id, version)';

ALTER TABLE bt.result ENABLE ROW LEVEL SECURITY;
ALTER TABLE bt.result FORCE ROW LEVEL SECURITY;
CREATE POLICY result_own ON bt.result
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());

CREATE FUNCTION bt.result_field_error(field text, problem text, hint text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'quant.store_result: %: %', field, problem
        USING ERRCODE = '22023', COLUMN = field, HINT = coalesce(hint, 'a BacktestResults object as quant.backtest returns');
END
$$;
COMMENT ON FUNCTION bt.result_field_error(text, text, text) IS 'Internal: ERROR 22023 naming a field of a BacktestResults object.';

-- The user's pipeline writes metrics under their display names ("Sharpe Ratio"); stored and
-- returned under the seed's keys (sharpe_ratio). Other keys are kept as they are; the same metric
-- under both names with different values is refused.
CREATE FUNCTION bt.result_metrics(metrics jsonb, field text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    seed_keys constant text[] := ARRAY['total_return', 'annualized_return', 'sharpe_ratio', 'max_drawdown',
                                       'calmar_ratio'];
    out jsonb := '{}'::jsonb;
    kv record;
    k text;
BEGIN
    IF jsonb_typeof(metrics) IS DISTINCT FROM 'object' THEN
        RETURN metrics;  -- the checks below name the problem
    END IF;
    FOR kv IN SELECT key, value FROM jsonb_each(metrics) ORDER BY key LOOP
        k := lower(regexp_replace(btrim(kv.key), '\s+', '_', 'g'));
        IF k <> ALL (seed_keys) THEN
            k := kv.key;
        END IF;
        IF out ? k AND out->k IS DISTINCT FROM kv.value THEN
            PERFORM bt.result_field_error(field || '.' || k, 'is given twice with different values (as ' || k
                                          || ' and as "' || kv.key || '")', 'give each metric once');
        END IF;
        out := out || jsonb_build_object(k, kv.value);
    END LOOP;
    RETURN out;
END
$$;
COMMENT ON FUNCTION bt.result_metrics(jsonb, text) IS
  'Internal: a metrics object with display-name keys ("Sharpe Ratio", as the user''s pipeline writes them) under the seed''s keys (sharpe_ratio); other keys unchanged.';

CREATE FUNCTION quant.store_result(strategy_id uuid, result jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.store_result';
    s bt.strategy;
    ver integer;
    run_at timestamptz;
    d_start date;
    d_end date;
    fee numeric;
    metric_keys constant text[] := ARRAY['total_return', 'annualized_return', 'sharpe_ratio', 'max_drawdown',
                                         'calmar_ratio'];
    k text;
    rid uuid;
    stored jsonb;
BEGIN
    IF result IS NULL THEN
        RAISE EXCEPTION '%: result must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'result';
    END IF;
    s := bt.own_strategy(strategy_id, fn, false);
    IF jsonb_typeof(result) <> 'object' THEN
        PERFORM bt.result_field_error('result', 'must be a JSON object, got ' || jsonb_typeof(result));
    END IF;
    -- the user's pipeline's form -> the seed's: display-name metric keys, internal_cusip for
    -- ticker_backtested (both kept: the identifiers the client used come back)
    IF result ? 'metrics' THEN
        result := result || jsonb_build_object('metrics', bt.result_metrics(result->'metrics', 'metrics'));
    END IF;
    IF jsonb_typeof(result->'buy_hold_metrics') = 'object' THEN
        result := result || jsonb_build_object('buy_hold_metrics',
                                               bt.result_metrics(result->'buy_hold_metrics', 'buy_hold_metrics'));
    END IF;
    IF result ? 'internal_cusip' AND jsonb_typeof(result->'internal_cusip') <> 'null' THEN
        IF jsonb_typeof(result->'internal_cusip') <> 'string' THEN
            PERFORM bt.result_field_error('internal_cusip', 'must be a string', 'a product of quant.list_products()');
        END IF;
        IF jsonb_typeof(result->'ticker_backtested') IS DISTINCT FROM 'string' THEN
            result := result || jsonb_build_object('ticker_backtested',
                                                   (refdata.resolve_product(result->>'internal_cusip', fn,
                                                                            'internal_cusip')).data_ticker);
        END IF;
    END IF;
    -- the strategy's id or the client's own id for it (the pipeline's results carry its id)
    IF result ? 'strategy_id' AND jsonb_typeof(result->'strategy_id') <> 'null'
       AND (result->>'strategy_id') IS DISTINCT FROM strategy_id::text
       AND (result->>'strategy_id') IS DISTINCT FROM s.strategy_id::text
       AND (result->>'strategy_id') IS DISTINCT FROM s.client_strategy_id::text THEN
        PERFORM bt.result_field_error('strategy_id', 'is ' || (result->>'strategy_id') || ', not ' || strategy_id,
                                      'leave it out or make it the strategy_id argument');
    END IF;
    ver := s.current_version;
    IF result ? 'version' THEN
        IF jsonb_typeof(result->'version') <> 'number' OR (result->>'version') !~ '^[0-9]+$' THEN
            PERFORM bt.result_field_error('version', 'must be a version number of the strategy');
        END IF;
        ver := (result->>'version')::integer;
        IF NOT EXISTS (SELECT 1 FROM bt.strategy_version v WHERE v.strategy_id = s.strategy_id AND v.version = ver) THEN
            PERFORM bt.result_field_error('version', 'strategy has no version ' || ver,
                                          'versions 1 to ' || s.current_version);
        END IF;
    END IF;
    IF jsonb_typeof(result->'metrics') IS DISTINCT FROM 'object' THEN
        PERFORM bt.result_field_error('metrics', 'is required and must be an object',
                                      'keys: ' || array_to_string(metric_keys, ', '));
    END IF;
    FOREACH k IN ARRAY metric_keys LOOP
        IF jsonb_typeof(result->'metrics'->k) NOT IN ('number', 'null') THEN
            PERFORM bt.result_field_error('metrics.' || k, 'must be a number or null');
        END IF;
    END LOOP;
    IF result ? 'buy_hold_metrics' AND jsonb_typeof(result->'buy_hold_metrics') NOT IN ('object', 'null') THEN
        PERFORM bt.result_field_error('buy_hold_metrics', 'must be an object');
    END IF;
    IF result ? 'walk_forward' AND jsonb_typeof(result->'walk_forward') NOT IN ('object', 'null') THEN
        PERFORM bt.result_field_error('walk_forward', 'must be an object');
    END IF;
    BEGIN
        run_at := coalesce((result->>'run_at')::timestamptz, now());
    EXCEPTION WHEN others THEN
        PERFORM bt.result_field_error('run_at', 'is not a timestamp: ' || left(result->>'run_at', 60),
                                      'ISO 8601, e.g. 2026-04-05T12:00:00Z');
    END;
    IF result ? 'data_range' AND jsonb_typeof(result->'data_range') <> 'null' THEN
        IF jsonb_typeof(result->'data_range') <> 'object' THEN
            PERFORM bt.result_field_error('data_range', 'must be an object {start, end}');
        END IF;
        BEGIN
            d_start := (result->'data_range'->>'start')::timestamptz::date;
        EXCEPTION WHEN others THEN
            PERFORM bt.result_field_error('data_range.start', 'is not a date', 'YYYY-MM-DD');
        END;
        BEGIN
            d_end := (result->'data_range'->>'end')::timestamptz::date;
        EXCEPTION WHEN others THEN
            PERFORM bt.result_field_error('data_range.end', 'is not a date', 'YYYY-MM-DD');
        END;
        IF d_start > d_end THEN
            PERFORM bt.result_field_error('data_range', 'start ' || d_start || ' is after end ' || d_end);
        END IF;
    END IF;
    IF result ? 'fee_bps' AND jsonb_typeof(result->'fee_bps') <> 'null' THEN
        IF jsonb_typeof(result->'fee_bps') <> 'number' OR (result->>'fee_bps')::numeric < 0 THEN
            PERFORM bt.result_field_error('fee_bps', 'must be a number >= 0', 'basis points, e.g. 5.0');
        END IF;
        fee := (result->>'fee_bps')::numeric;
    END IF;
    IF result ? 'ticker_backtested' AND jsonb_typeof(result->'ticker_backtested') NOT IN ('string', 'null') THEN
        PERFORM bt.result_field_error('ticker_backtested', 'must be a string');
    END IF;

    rid := quant.uuid_generate_v7();
    stored := result || jsonb_build_object('result_id', rid, 'strategy_id', s.strategy_id, 'version', ver,
                                           'run_at', run_at, 'stored_at', now());
    INSERT INTO bt.result (result_id, strategy_id, version, user_id, run_at, data_start, data_end, ticker, fee_bps,
                           metrics, buy_hold_metrics, walk_forward, result)
    VALUES (rid, s.strategy_id, ver, s.user_id, run_at, d_start, d_end,
            coalesce(result->>'ticker_backtested', s.ticker), fee, result->'metrics', result->'buy_hold_metrics',
            result->'walk_forward', stored);
    RETURN stored;
END
$$;
COMMENT ON FUNCTION quant.store_result(uuid, jsonb) IS
  'Stores a BacktestResults object (seed 1.3, as quant.backtest returns it, or as the user''s pipeline writes it: internal_cusip for ticker_backtested, display-name metric keys such as "Sharpe Ratio"; its NaN text through quant.parse_json) for a strategy of the current user, against its current version (or result.version). metrics is required; each field is checked. Returns the stored object in the seed''s form (with internal_cusip when given) with result_id, strategy_id, version, stored_at.';

CREATE FUNCTION quant.list_results(strategy_id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s bt.strategy := bt.own_strategy(strategy_id, 'quant.list_results', false, true);
BEGIN
    RETURN QUERY SELECT r.result FROM bt.result r
    WHERE r.strategy_id = s.strategy_id AND r.user_id = s.user_id
    ORDER BY r.run_at DESC, r.result_id DESC;
END
$$;
COMMENT ON FUNCTION quant.list_results(uuid) IS
  'Every stored BacktestResults of a strategy of the current user, newest run first. P0002 when the strategy is not yours.';

SELECT pg_catalog.pg_extension_config_dump('bt.result', '');
