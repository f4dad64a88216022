-- quant.backtest_series(config jsonb, fee_bps float8, from_ts timestamptz, to_ts timestamptz)
--   -> TABLE (ts, price, position, pnl, cumulative, drawdown, buy_hold_cumulative,
--             buy_hold_drawdown, indicator_values float8[], substrategy_positions float8[])
-- types_check, no_crash, and agreement with quant.backtest (the metrics are functions of these
-- columns, see docs/backtest-semantics.md). Needs the sample bars of TTRC and MSFT.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(137);
\ir ../helpers.psql

-- ---- helpers ---------------------------------------------------------------------------------
-- 9 tests (10 when fill_delay_bars is 0): every metric of quant.backtest recomputed from the series.
CREATE FUNCTION pg_temp.agrees(c jsonb, fee float8, f timestamptz, t timestamptz, descr text)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  r jsonb := quant.backtest(c, fee, f, t);
  w int := (SELECT max((s->>'window')::int) FROM jsonb_array_elements(c->'substrategies') s);
  tp int := (c->>'trading_period')::int;
  s record;
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS ser AS SELECT 0::bigint AS i, * FROM quant.backtest_series(c, fee, f, t) WITH NO DATA;
  TRUNCATE ser;
  INSERT INTO ser SELECT row_number() OVER (ORDER BY b.ts) - 1, b.* FROM quant.backtest_series(c, fee, f, t) b;
  SELECT count(*) AS n,
         (SELECT cumulative FROM ser ORDER BY i DESC LIMIT 1) AS last_cumu,
         (SELECT buy_hold_cumulative FROM ser ORDER BY i DESC LIMIT 1) AS last_bh,
         (SELECT "position" FROM ser ORDER BY i DESC LIMIT 1) AS last_pos,
         max(drawdown) AS mdd, max(buy_hold_drawdown) AS bh_mdd,
         avg(pnl) FILTER (WHERE i >= w) * tp AS ann,
         avg(pnl) FILTER (WHERE i >= w) / nullif(stddev_samp(pnl) FILTER (WHERE i >= w), 0) * sqrt(tp) AS sharpe,
         avg(chg) FILTER (WHERE i >= w) * tp AS bh_ann
    INTO s
    FROM (SELECT ser.*, CASE WHEN lag("position") OVER (ORDER BY i) IS NOT NULL
                             THEN price / lag(price) OVER (ORDER BY i) - 1 END AS chg FROM ser) x;
  RETURN NEXT is(s.n, (r->>'bars')::bigint, descr || ': one row per bar');
  RETURN NEXT ok(pg_temp.close_to(s.last_cumu, (r->'metrics'->>'total_return')::float8),
    descr || ': last cumulative = metrics.total_return');
  RETURN NEXT ok(pg_temp.close_to(s.mdd, (r->'metrics'->>'max_drawdown')::float8),
    descr || ': max(drawdown) = metrics.max_drawdown');
  RETURN NEXT ok(pg_temp.close_to(s.ann, (r->'metrics'->>'annualized_return')::float8),
    descr || ': mean(pnl of scored bars) * trading_period = metrics.annualized_return');
  RETURN NEXT ok(pg_temp.close_to(s.sharpe, (r->'metrics'->>'sharpe_ratio')::float8),
    descr || ': sharpe from the pnl column = metrics.sharpe_ratio');
  RETURN NEXT ok(pg_temp.close_to(s.last_bh, (r->'buy_hold_metrics'->>'total_return')::float8),
    descr || ': last buy_hold_cumulative = buy_hold_metrics.total_return');
  RETURN NEXT ok(pg_temp.close_to(s.bh_mdd, (r->'buy_hold_metrics'->>'max_drawdown')::float8),
    descr || ': max(buy_hold_drawdown) = buy_hold_metrics.max_drawdown');
  RETURN NEXT ok(pg_temp.close_to(s.bh_ann, (r->'buy_hold_metrics'->>'annualized_return')::float8),
    descr || ': buy_hold annualized_return from the price column');
  RETURN NEXT is((SELECT count(*) FROM ser WHERE cardinality(indicator_values) <> jsonb_array_length(c->'substrategies')
                                          OR cardinality(substrategy_positions) <> jsonb_array_length(c->'substrategies')),
    0::bigint, descr || ': one indicator and position element per substrategy');
  IF coalesce((c->>'fill_delay_bars')::int, 0) = 0 THEN
    -- with no fill delay the position column is the decided position, so its last row is last_position
    RETURN NEXT ok(pg_temp.close_to(s.last_pos, (r->>'last_position')::float8),
      descr || ': last position row = last_position');
  END IF;
END $$;

-- ---- types_check -----------------------------------------------------------------------------------
SELECT has_function('quant', 'backtest_series',
  ARRAY['jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone'],
  'quant.backtest_series(jsonb, float8, timestamptz, timestamptz) exists');
SELECT function_returns('quant', 'backtest_series',
  ARRAY['jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone'], 'setof record',
  'quant.backtest_series returns a set');
SELECT is(pg_get_function_result('quant.backtest_series(jsonb, float8, timestamptz, timestamptz)'::regprocedure),
  'TABLE(ts timestamp with time zone, price double precision, "position" double precision, pnl double precision, cumulative double precision, drawdown double precision, buy_hold_cumulative double precision, buy_hold_drawdown double precision, indicator_values double precision[], substrategy_positions double precision[])',
  'quant.backtest_series result columns');
SELECT volatility_is('quant', 'backtest_series',
  ARRAY['jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone'], 'stable',
  'quant.backtest_series is STABLE');
SELECT isnt_strict('quant', 'backtest_series',
  ARRAY['jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone'],
  'quant.backtest_series is not STRICT (a NULL argument is a 22004 error)');
SELECT cmp_ok(length(obj_description('quant.backtest_series(jsonb, float8, timestamptz, timestamptz)'::regprocedure,
  'pg_proc')), '>', 20, 'quant.backtest_series has a COMMENT');
SELECT is(pg_get_function_arguments('quant.backtest_series(jsonb, float8, timestamptz, timestamptz)'::regprocedure),
  'config jsonb, fee_bps double precision DEFAULT 5.0, from_ts timestamp with time zone DEFAULT NULL::timestamp with time zone, to_ts timestamp with time zone DEFAULT NULL::timestamp with time zone',
  'quant.backtest_series argument names and defaults');

-- ---- no_crash -----------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM quant.backtest_series(NULL)$$, '22004', NULL, 'config NULL: 22004');
SELECT throws_matching($$SELECT * FROM quant.backtest_series(NULL)$$, '^quant\.backtest_series: config',
  'config NULL: message names config');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg(), NULL)$$, '22004', NULL, 'fee_bps NULL: 22004');
SELECT throws_matching($$SELECT * FROM quant.backtest_series(pg_temp.cfg(), NULL)$$, '^quant\.backtest_series: fee_bps',
  'fee_bps NULL: message names fee_bps');
SELECT lives_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg(), 5, NULL, NULL)$$, 'from_ts/to_ts NULL: open range');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg(), 'NaN'::float8)$$, '22023', NULL, 'fee_bps NaN: 22023');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg(), -0.5)$$, '22023', NULL, 'fee_bps negative: 22023');
SELECT throws_ok($$SELECT * FROM quant.backtest_series('[]')$$, '22023', NULL, 'config an array: 22023');
SELECT throws_ok($$SELECT * FROM quant.backtest_series('"x"')$$, '22023', NULL, 'config a string: 22023');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg('{"conjunction":"NAND"}'))$$, '22023', NULL,
  'unknown conjunction: 22023');
SELECT is(pg_temp.err_col($$SELECT * FROM quant.backtest_series(pg_temp.cfg('{"conjunction":"NAND"}'))$$),
  'conjunction', 'unknown conjunction: COLUMN NAME conjunction');
SELECT throws_matching($$SELECT * FROM quant.backtest_series(jsonb_set(pg_temp.cfg(), '{substrategies,0,indicator}', '"get_x"'))$$,
  '^quant\.backtest_series: substrategies\[0\]\.indicator: ', 'unknown indicator: message names the field');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(jsonb_set(pg_temp.cfg(), '{substrategies,0,window}', '0'))$$,
  '22023', NULL, 'window 0: 22023');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(jsonb_set(pg_temp.cfg(), '{substrategies,0,window}', '6000'))$$,
  'QA002', NULL, 'window 6000 > bars: QA002');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(jsonb_set(pg_temp.cfg(), '{substrategies,0,signal}', '"1"'))$$,
  '22023', NULL, 'signal a string: 22023');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg('{"ticker":"NO_SUCH"}'))$$, 'QA001', NULL,
  'unknown ticker: QA001');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg(), 5, '1900-01-01', '1900-12-31')$$, 'QA001', NULL,
  'no bars in [from_ts, to_ts]: QA001');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg('{"trading_period":0}'))$$, '22023', NULL,
  'trading_period 0: 22023');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg('{"substrategies":[]}'))$$, '22023', NULL,
  'no substrategies: 22023');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg(jsonb_build_object('description',
  (repeat('{"a":', 5000) || '1' || repeat('}', 5000))::jsonb)))$$, '54000', NULL, 'nested 5000 deep: 54000');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg(jsonb_build_object('description', repeat('y', 1100000))))$$,
  '54000', NULL, 'over 1 MiB: 54000');
SELECT throws_ok($$SELECT * FROM quant.backtest_series(pg_temp.cfg('{"fill_delay_bars":1001}'))$$, '22023', NULL,
  'fill_delay_bars 1001: 22023');
SELECT is(pg_temp.err_col($$SELECT * FROM quant.backtest_series(pg_temp.cfg('{"fill_delay_bars":1001}'))$$),
  'fill_delay_bars', 'fill_delay_bars 1001: COLUMN NAME fill_delay_bars');
SELECT lives_ok('SELECT 1', 'backend still alive after the bad inputs');
-- NaN never leaks out: undefined values are NULL
SELECT is((SELECT count(*) FROM quant.backtest_series(pg_temp.cfg())
            WHERE 'NaN' IN (price, "position", pnl, cumulative, drawdown, buy_hold_cumulative, buy_hold_drawdown)
               OR 'NaN' = ANY (indicator_values) OR 'NaN' = ANY (substrategy_positions)),
  0::bigint, 'no NaN in any column (NULL where undefined)');
SELECT is((SELECT count(*) FROM quant.backtest_series(pg_temp.cfg())
            WHERE "position" NOT IN (-1, 0, 1) OR substrategy_positions[1] NOT IN (-1, 0, 1)),
  0::bigint, 'positions are -1, 0 or 1 (or NULL)');
-- the indicator column is the indicator of quant.indicator_series
SELECT is((SELECT count(*) FROM quant.backtest_series(pg_temp.cfg()) b
             FULL JOIN quant.indicator_series('TTRC', 'get_bollinger_band', 20) i USING (ts)
            WHERE NOT pg_temp.close_to(b.indicator_values[1], i.value)),
  0::bigint, 'indicator_values[1] = quant.indicator_series(TTRC, get_bollinger_band, 20)');

-- ---- agreement with quant.backtest (10 configs: 8*10 + 2*9 = 98) -------------
SELECT t.r FROM (VALUES
 (1, pg_temp.cfg(), 5.0::float8, NULL::timestamptz, NULL::timestamptz, 'TTRC bollinger 20'),
 (2, pg_temp.cfg('{"ticker":"MSFT","substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":70}]}'),
     0.0, NULL, NULL, 'MSFT rsi 14 fee 0'),
 (3, pg_temp.cfg('{"ticker":"MSFT","conjunction":"AND","substrategies":[
       {"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":10,"signal":0.5},
       {"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":5,"signal":70}]}'),
     5.0, NULL, NULL, 'MSFT AND of two'),
 (4, pg_temp.cfg('{"ticker":"MSFT","conjunction":"OR","substrategies":[
       {"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":10,"signal":0.5},
       {"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":5,"signal":70}]}'),
     5.0, NULL, NULL, 'MSFT OR of two'),
 (5, pg_temp.cfg('{"ticker":"MSFT","conjunction":"FILTER","substrategies":[
       {"indicator":"get_stochastic_oscillator","signal_func":"momentum_bounded_signal_long_only","window":5,"signal":50},
       {"indicator":"get_bollinger_band","signal_func":"reversion_band_signal","window":10,"signal":0.5},
       {"indicator":"get_ema_distance","signal_func":"momentum_band_signal","window":20,"signal":0.01}]}'),
     5.0, NULL, NULL, 'MSFT FILTER of three'),
 (6, pg_temp.cfg('{"conjunction":"OR","substrategies":[
       {"indicator":"get_sma_distance","signal_func":"momentum_band_signal","window":50,"signal":0.02},
       {"indicator":"get_rsi_wilder","signal_func":"reversion_bounded_signal","window":14,"signal":70,"data_column":"open"}]}'),
     10.0, '1995-01-01', '2000-12-31', 'TTRC OR, 1995..2000, fee 10'),
 (7, pg_temp.cfg('{"conjunction":"AND","substrategies":[
       {"indicator":"get_ema","signal_func":"momentum_band_signal_long_only","window":30,"signal":0,"data_column":"high"},
       {"indicator":"get_bollinger_band","signal_func":"reversion_band_signal_long_only","window":100,"signal":1.5,"data_column":"low"}]}'),
     5.0, NULL, NULL, 'TTRC AND, long only, high/low columns'),
 (8, pg_temp.cfg('{"ticker":"MSFT","conjunction":"OR","substrategies":[
       {"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":10,"signal":0.5},
       {"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":5,"signal":70}]}'),
     5.0, '2001-01-01', '2001-06-30', 'MSFT OR, 2001H1'),
 (9, pg_temp.cfg('{"fill_delay_bars":1}'), 5.0, NULL, NULL, 'TTRC bollinger 20, fill_delay_bars 1'),
 (10, pg_temp.cfg('{"ticker":"MSFT","conjunction":"FILTER","fill_delay_bars":1,"substrategies":[
       {"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":5,"signal":60},
       {"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":10,"signal":0.25}]}'),
     5.0, NULL, NULL, 'MSFT FILTER, fill_delay_bars 1')
) AS c(n, cfg, fee, f, t, descr),
LATERAL pg_temp.agrees(c.cfg, c.fee, c.f, c.t, c.descr) AS t(r)
ORDER BY c.n;

-- ---- fill_delay_bars -----------------------------------------------------------------------------------
SELECT ok((SELECT count(*) FROM quant.backtest_series(pg_temp.cfg()) a
             JOIN quant.backtest_series(pg_temp.cfg('{"fill_delay_bars":1}')) b USING (ts)
            WHERE a."position" IS DISTINCT FROM b."position") > 0,
  'fill_delay_bars 1: the held position differs from fill_delay_bars 0');
SELECT isnt(quant.backtest(pg_temp.cfg('{"fill_delay_bars":1}'))->'metrics'->>'total_return',
  quant.backtest(pg_temp.cfg())->'metrics'->>'total_return', 'fill_delay_bars 1: total_return differs from 0');
-- the held position with delay 1 is the decided position (delay 0) of the bar before
SELECT is((SELECT count(*) FROM (SELECT ts, lag("position") OVER (ORDER BY ts) AS p FROM quant.backtest_series(pg_temp.cfg())) a
             JOIN quant.backtest_series(pg_temp.cfg('{"fill_delay_bars":1}')) b USING (ts)
            WHERE a.p IS DISTINCT FROM b."position"),
  0::bigint, 'fill_delay_bars 1: position[t] = decided position[t-1]');
-- last_position is the decided position on the last bar, whatever the fill delay: on this MSFT OR
-- config the held position on the last bar (delay 1) is +1 while the decision there is -1.
CREATE FUNCTION pg_temp.msft_or(delay int) RETURNS jsonb LANGUAGE sql AS $$
  SELECT pg_temp.cfg(jsonb_build_object('ticker', 'MSFT', 'conjunction', 'OR', 'fill_delay_bars', delay,
    'substrategies', '[{"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":10,"signal":0.5},
                       {"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":5,"signal":70}]'::jsonb)) $$;
SELECT is((quant.backtest(pg_temp.msft_or(1))->>'last_position')::float8,
  (SELECT "position" FROM quant.backtest_series(pg_temp.msft_or(0)) ORDER BY ts DESC LIMIT 1),
  'fill_delay_bars 1: last_position = the decided (delay 0) position on the last bar');
SELECT isnt((quant.backtest(pg_temp.msft_or(1))->>'last_position')::float8,
  (SELECT "position" FROM quant.backtest_series(pg_temp.msft_or(1)) ORDER BY ts DESC LIMIT 1),
  'fill_delay_bars 1: last_position is not the held position of the last row (MSFT OR)');

SELECT * FROM finish();
ROLLBACK;
