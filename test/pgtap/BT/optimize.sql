-- quant.optimize(config, grid, fee_bps, from_ts, to_ts, objective, top_n, include_cells, threads) -> jsonb
-- quant.walk_forward(config, grid, split_ratio, fee_bps, from_ts, to_ts, warmup, threads) -> jsonb
-- types_check, NULL arguments, no_crash (the bad-input table: bad grids, caps checked before any
-- work, bad objective/top_n/threads/split_ratio/warmup), cancellation, edge cases, and nothing
-- stored by any of it (both are pure). The numbers themselves are test/sql/optimize_bruteforce.py's
-- and test/sql/walk_forward.py's. Needs the sample bars of TTRC (5550) and MSFT (249).
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(345);
\ir ../helpers.psql

-- ---- helpers (pg_temp, rolled back) -------------------------------------------------------
-- Two substrategies (Bollinger id 1, RSI id 2).
CREATE FUNCTION pg_temp.cfg2() RETURNS jsonb LANGUAGE sql AS $$
  SELECT '{"ticker":"TTRC","conjunction":"AND","trading_period":252,
           "substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal",
                             "window":20,"signal":1.0},
                            {"id":2,"indicator":"get_rsi","signal_func":"momentum_bounded_signal",
                             "window":14,"signal":70}]}'::jsonb $$;
-- One substrategy whose indicator has window floor 1 (so windows 1..100000 pass the floor check).
CREATE FUNCTION pg_temp.cfg_floor1() RETURNS jsonb LANGUAGE sql AS $$
  SELECT '{"ticker":"TTRC","conjunction":"AND","trading_period":252,
           "substrategies":[{"id":1,"indicator":"get_sma_distance","signal_func":"momentum_band_signal",
                             "window":20,"signal":0.01}]}'::jsonb $$;
-- Seconds q takes (its error, if any, swallowed).
CREATE FUNCTION pg_temp.seconds(q text) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  PERFORM pg_temp.err(q);
  RETURN extract(epoch FROM clock_timestamp() - t0);
END $$;
-- Runs q and returns the SQLSTATE it ends with ('00000' when it succeeds) and the seconds it took;
-- query_canceled is caught here (WHEN OTHERS does not). The caller sets statement_timeout before
-- the statement that calls this (the timer is armed when a top-level statement starts).
CREATE FUNCTION pg_temp.cancelled(q text, OUT state text, OUT secs double precision)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  BEGIN
    EXECUTE q;
    state := '00000';
  EXCEPTION WHEN query_canceled THEN
    state := '57014';
  END;
  secs := extract(epoch FROM clock_timestamp() - t0);
END $$;
-- Rows written so far in this transaction to non-temporary tables (pgTAP's own tables are temp).
CREATE FUNCTION pg_temp.writes() RETURNS bigint LANGUAGE sql AS $$
  SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint
    FROM pg_stat_xact_user_tables WHERE schemaname NOT LIKE 'pg\_temp%' $$;
CREATE TEMP TABLE writes_before AS SELECT pg_temp.writes() AS n;

-- ---- types_check (2 x 8 = 16) ----------------------------------------------------------------
SELECT has_function('quant', 'optimize',
  ARRAY['jsonb', 'jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone', 'text',
        'integer', 'boolean', 'integer'], 'quant.optimize(jsonb, jsonb, float8, timestamptz, timestamptz, text, int, bool, int) exists');
SELECT function_returns('quant', 'optimize',
  ARRAY['jsonb', 'jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone', 'text',
        'integer', 'boolean', 'integer'], 'jsonb', 'quant.optimize returns jsonb');
SELECT volatility_is('quant', 'optimize',
  ARRAY['jsonb', 'jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone', 'text',
        'integer', 'boolean', 'integer'], 'stable', 'quant.optimize is STABLE (pure)');
SELECT isnt_strict('quant', 'optimize',
  ARRAY['jsonb', 'jsonb', 'double precision', 'timestamp with time zone', 'timestamp with time zone', 'text',
        'integer', 'boolean', 'integer'], 'quant.optimize is not STRICT (a NULL argument is a 22004 error)');
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'quant.optimize(jsonb, jsonb, float8, timestamptz, timestamptz, text, int, bool, int)'::regprocedure),
  's'::"char", 'quant.optimize is PARALLEL SAFE');
SELECT cmp_ok(length(obj_description('quant.optimize(jsonb, jsonb, float8, timestamptz, timestamptz, text, int, bool, int)'::regprocedure,
  'pg_proc')), '>', 20, 'quant.optimize has a COMMENT');
SELECT matches(obj_description('quant.optimize(jsonb, jsonb, float8, timestamptz, timestamptz, text, int, bool, int)'::regprocedure,
  'pg_proc'), 'ties go to the earlier cell in grid order', 'quant.optimize COMMENT documents the tie-break');
SELECT is(pg_get_function_arguments('quant.optimize(jsonb, jsonb, float8, timestamptz, timestamptz, text, int, bool, int)'::regprocedure),
  'config jsonb, grid jsonb, fee_bps double precision DEFAULT 5.0, from_ts timestamp with time zone DEFAULT NULL::timestamp with time zone, to_ts timestamp with time zone DEFAULT NULL::timestamp with time zone, objective text DEFAULT ''sharpe_ratio''::text, top_n integer DEFAULT 10, include_cells boolean DEFAULT false, threads integer DEFAULT 0',
  'quant.optimize argument names and defaults');

SELECT has_function('quant', 'walk_forward',
  ARRAY['jsonb', 'jsonb', 'double precision', 'double precision', 'timestamp with time zone',
        'timestamp with time zone', 'text', 'integer'], 'quant.walk_forward(jsonb, jsonb, float8, float8, timestamptz, timestamptz, text, int) exists');
SELECT function_returns('quant', 'walk_forward',
  ARRAY['jsonb', 'jsonb', 'double precision', 'double precision', 'timestamp with time zone',
        'timestamp with time zone', 'text', 'integer'], 'jsonb', 'quant.walk_forward returns jsonb');
SELECT volatility_is('quant', 'walk_forward',
  ARRAY['jsonb', 'jsonb', 'double precision', 'double precision', 'timestamp with time zone',
        'timestamp with time zone', 'text', 'integer'], 'stable', 'quant.walk_forward is STABLE (pure)');
SELECT isnt_strict('quant', 'walk_forward',
  ARRAY['jsonb', 'jsonb', 'double precision', 'double precision', 'timestamp with time zone',
        'timestamp with time zone', 'text', 'integer'], 'quant.walk_forward is not STRICT (a NULL argument is a 22004 error)');
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'quant.walk_forward(jsonb, jsonb, float8, float8, timestamptz, timestamptz, text, int)'::regprocedure),
  's'::"char", 'quant.walk_forward is PARALLEL SAFE');
SELECT cmp_ok(length(obj_description('quant.walk_forward(jsonb, jsonb, float8, float8, timestamptz, timestamptz, text, int)'::regprocedure,
  'pg_proc')), '>', 20, 'quant.walk_forward has a COMMENT');
SELECT matches(obj_description('quant.walk_forward(jsonb, jsonb, float8, float8, timestamptz, timestamptz, text, int)'::regprocedure,
  'pg_proc'), 'restart.*full', 'quant.walk_forward COMMENT documents both warmup modes');
SELECT is(pg_get_function_arguments('quant.walk_forward(jsonb, jsonb, float8, float8, timestamptz, timestamptz, text, int)'::regprocedure),
  'config jsonb, grid jsonb, split_ratio double precision DEFAULT 0.5, fee_bps double precision DEFAULT 5.0, from_ts timestamp with time zone DEFAULT NULL::timestamp with time zone, to_ts timestamp with time zone DEFAULT NULL::timestamp with time zone, warmup text DEFAULT ''restart''::text, threads integer DEFAULT 0',
  'quant.walk_forward argument names and defaults');

-- ---- NULL in every argument: 22004 naming it (13 rows x 4 = 52) ---------------------------------
SELECT t.r FROM (VALUES
 (1, $q$SELECT quant.optimize(NULL, '[{}]')$q$, 'config'),
 (2, $q$SELECT quant.optimize(pg_temp.cfg(), NULL)$q$, 'grid'),
 (3, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', fee_bps => NULL)$q$, 'fee_bps'),
 (4, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', objective => NULL)$q$, 'objective'),
 (5, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', top_n => NULL)$q$, 'top_n'),
 (6, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', include_cells => NULL)$q$, 'include_cells'),
 (7, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', threads => NULL)$q$, 'threads'),
 (8, $q$SELECT quant.walk_forward(NULL, '[{}]')$q$, 'config'),
 (9, $q$SELECT quant.walk_forward(pg_temp.cfg(), NULL)$q$, 'grid'),
 (10, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', split_ratio => NULL)$q$, 'split_ratio'),
 (11, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', fee_bps => NULL)$q$, 'fee_bps'),
 (12, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', warmup => NULL)$q$, 'warmup'),
 (13, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', threads => NULL)$q$, 'threads')
) AS c(n, q, arg),
LATERAL pg_temp.bad_input(c.q, '22004',
  '^quant\.(optimize|walk_forward): ' || c.arg || ' must not be NULL', c.arg, 'NULL ' || c.arg) AS t(r)
ORDER BY c.n;

-- from_ts / to_ts NULL: documented as unbounded (4)
SELECT is((quant.optimize(pg_temp.cfg(), '[{}]', 5, NULL, NULL)->>'bars')::int, 5550,
  'optimize: from_ts/to_ts NULL = all bars');
SELECT is(quant.optimize(pg_temp.cfg(), '[{}]', 5, '2000-01-01', NULL)->'data_range',
  quant.backtest(pg_temp.cfg(), 5, '2000-01-01', NULL)->'data_range', 'optimize: to_ts NULL = up to the last bar');
SELECT is((quant.walk_forward(pg_temp.cfg(), '[{}]', 0.5, 5, NULL, NULL)->>'split_index')::int, 2775,
  'walk_forward: from_ts/to_ts NULL = all bars (split 2775 of 5550)');
SELECT is(quant.walk_forward(pg_temp.cfg(), '[{}]', 0.5, 5, NULL, '2000-12-29')->'out_of_sample'->'data_range'->>'end',
  '2000-12-29', 'walk_forward: from_ts NULL, to_ts inclusive');

-- ---- no_crash: the bad-input table (62 rows x 4 = 248) -----------------------------------------
SELECT t.r FROM (VALUES
 -- ranges
 (1, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":{"min":10,"max":20,"step":0}}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window\.step: must be greater than 0', 'grid[0].window.step', 'window step 0'),
 (2, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":{"min":10,"max":20,"step":-5}}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window\.step: must be greater than 0', 'grid[0].window.step', 'window step -5'),
 (3, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"signal":{"min":0,"max":1,"step":0}}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.signal\.step: must be greater than 0', 'grid[0].signal.step', 'signal step 0'),
 (4, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"signal":{"min":0,"max":1,"step":-0.1}}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.signal\.step: must be greater than 0', 'grid[0].signal.step', 'signal step -0.1'),
 (5, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":{"min":30,"max":20,"step":1}}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window\.max: must be at least min', 'grid[0].window.max', 'window max < min'),
 (6, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"signal":{"min":2,"max":1,"step":0.1}}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.signal\.max: must be at least min', 'grid[0].signal.max', 'signal max < min'),
 (7, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":{"min":10,"max":20}}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window\.step: is required', 'grid[0].window.step', 'range without step'),
 (8, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":{"min":10,"max":20,"step":1,"count":3}}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window\.count: unknown field', 'grid[0].window.count', 'unknown range key'),
 (9, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"signal":{"min":0,"max":"1","step":0.1}}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.signal\.max: must be a number', 'grid[0].signal.max', 'range max a string'),
 -- windows: the indicator's floor (REFDATA catalog: Bollinger 2), integers only
 (10, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":[1, 20]}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window\[0\]: must be an integer between 2 and', 'grid[0].window[0]', 'Bollinger window 1 in a list (floor 2)'),
 (11, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":{"min":1,"max":20,"step":1}}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window: must be an integer between 2 and', 'grid[0].window', 'Bollinger window range from 1 (floor 2)'),
 (12, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":0}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window: must be an integer between 2 and', 'grid[0].window', 'window 0 (a number)'),
 (13, $q$SELECT quant.optimize(pg_temp.cfg2(), '[{}, {"window":[14, 1]}]')$q$, '22023',
     '^quant\.optimize: grid\[1\]\.window\[1\]: must be an integer between 2 and', 'grid[1].window[1]', 'RSI window 1 (floor 2), second entry'),
 (14, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":[20.5]}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window\[0\]: must be an integer', 'grid[0].window[0]', 'window 20.5'),
 (15, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":{"min":10,"max":20,"step":2.5}}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window: must be an integer, got 12\.5', 'grid[0].window', 'window range step 2.5'),
 (16, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":["20"]}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window\[0\]: must be an integer, got a string', 'grid[0].window[0]', 'window "20" (a string)'),
 (17, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"signal":[1, null]}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.signal\[1\]: must be a number', 'grid[0].signal[1]', 'signal null in a list'),
 -- (once a bug: the field was "[0].signal[0]", relative to the grid document)
 (18, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"signal":[1e400]}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.signal\[0\]: ', 'grid[0].signal[0]', 'signal 1e400 (not a finite double)'),
 -- the shape of the grid
 (19, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":[20]}, {"window":[10]}]')$q$, '22023',
     '^quant\.optimize: grid: must have one entry per substrategy \(1\), got 2', 'grid', '2 entries for 1 substrategy'),
 (20, $q$SELECT quant.optimize(pg_temp.cfg2(), '[{"window":[20]}]')$q$, '22023',
     '^quant\.optimize: grid: must have one entry per substrategy \(2\), got 1', 'grid', '1 entry for 2 substrategies'),
 (21, $q$SELECT quant.optimize(pg_temp.cfg(), '[]')$q$, '22023',
     '^quant\.optimize: grid: must have one entry per substrategy \(1\), got 0', 'grid', 'no entries ([])'),
 (22, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"windows":[20]}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.windows: unknown field', 'grid[0].windows', 'unknown key "windows"'),
 (23, $q$SELECT quant.optimize(pg_temp.cfg2(), '{"2":{"signal":[60]}, "1":{"threshold":[1]}}')$q$, '22023',
     '^quant\.optimize: grid\.1\.threshold: unknown field', 'grid.1.threshold', 'unknown key in an object grid'),
 (24, $q$SELECT quant.optimize(pg_temp.cfg2(), '{"7":{"window":[20]}}')$q$, '22023',
     '^quant\.optimize: grid\.7: no substrategy has this id', 'grid.7', 'unknown substrategy id 7'),
 (25, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":[]}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.window: must not be an empty list', 'grid[0].window', 'empty window list'),
 (26, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"signal":[]}]')$q$, '22023',
     '^quant\.optimize: grid\[0\]\.signal: must not be an empty list', 'grid[0].signal', 'empty signal list'),
 (27, $q$SELECT quant.optimize(pg_temp.cfg(), '"window"')$q$, '22023',
     '^quant\.optimize: grid: must be an array', 'grid', 'grid a string'),
 (28, $q$SELECT quant.optimize(pg_temp.cfg(), '[5]')$q$, '22023',
     '^quant\.optimize: grid\[0\]: must be an object', 'grid[0]', 'grid entry a number'),
 (29, $q$SELECT quant.optimize(pg_temp.cfg2(), '{"1":[20]}')$q$, '22023',
     '^quant\.optimize: grid\.1: must be an object', 'grid.1', 'object grid entry an array'),
 -- caps: the size is checked before any work, and the error states it and the cap
 (30, $q$SELECT quant.optimize(pg_temp.cfg_floor1(), '[{"window":{"min":1,"max":100000,"step":1},"signal":{"min":0,"max":100,"step":0.001}}]')$q$, '54000',
     '^quant\.optimize: grid\[0\]\.signal: the range has 100001 values, over the limit of 100000', 'grid[0].signal',
     'huge grid: windows 1..100000 x signals 0..100 step 0.001'),
 (31, $q$SELECT quant.optimize(pg_temp.cfg_floor1(), '[{"window":{"min":1,"max":100000,"step":1},"signal":{"min":0,"max":100,"step":0.01}}]')$q$, '54000',
     '^quant\.optimize: grid: 1000100000 cells is over the limit of 2000000', 'grid',
     'huge grid: windows 1..100000 x signals 0..100 step 0.01 (1e9 cells)'),
 (32, $q$SELECT quant.optimize(pg_temp.cfg2(), '[{"window":{"min":10,"max":1009,"step":1},"signal":{"min":0,"max":99,"step":1}}, {"window":{"min":5,"max":34,"step":1}}]')$q$, '54000',
     '^quant\.optimize: grid: 3000000 cells is over the limit of 2000000', 'grid', 'two substrategies: 100,000 x 30 cells'),
 (33, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":{"min":10,"max":1009,"step":1},"signal":{"min":0,"max":999,"step":1}}]')$q$, '54000',
     '^quant\.optimize: grid: the position series of this search need [0-9]+ MiB, over the limit of 1024 MiB', 'grid',
     'memory cap: 1,000 windows x 1,000 signals x 5,550 bars'),
 (34, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":{"min":10,"max":109,"step":1},"signal":{"min":0,"max":1000,"step":1}}]', include_cells => true)$q$, '54000',
     '^quant\.optimize: include_cells: 100100 cells is over the limit of 100000', 'include_cells',
     'include_cells over 100,000 cells'),
 (35, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":[6000]}]')$q$, 'QA002',
     '^quant\.optimize: substrategies\[0\]\.window: .*6000', 'substrategies[0].window', 'window 6000 > 5550 bars'),
 (36, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"window":[20, 100]}]', 5, '2006-10-01')$q$, 'QA002',
     '^quant\.optimize: substrategies\[0\]\.window: .*100', 'substrategies[0].window', 'window 100 > bars in [from_ts, to_ts]'),
 -- (once a bug: a count beyond a 64-bit integer was printed as -9223372036854775808)
 (37, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"signal":{"min":0,"max":1e300,"step":1e-300}}]')$q$, '54000',
     '^quant\.optimize: grid\[0\]\.signal: the range has (more than )?[1-9][0-9.e+]* values, over the limit of 100000', 'grid[0].signal',
     'range of 1e600 values: size stated, positive'),
 (38, $q$SELECT quant.optimize(pg_temp.cfg(), '[{"signal":{"min":0,"max":1e20,"step":1}}]')$q$, '54000',
     '^quant\.optimize: grid\[0\]\.signal: the range has (more than )?[1-9][0-9.e+]* values, over the limit of 100000', 'grid[0].signal',
     'range of 1e20 values: size stated, positive'),
 -- the other arguments
 (39, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', top_n => -1)$q$, 'QA003',
     '^quant\.optimize: top_n: must be between 0 and 1000', 'top_n', 'top_n -1'),
 (40, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', top_n => 1001)$q$, 'QA003',
     '^quant\.optimize: top_n: must be between 0 and 1000', 'top_n', 'top_n 1001'),
 (41, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', objective => 'foo')$q$, 'QA003',
     '^quant\.optimize: objective: unknown metric "foo"', 'objective', 'objective foo'),
 (42, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', objective => 'Sharpe_Ratio')$q$, 'QA003',
     '^quant\.optimize: objective: unknown metric "Sharpe_Ratio"', 'objective', 'objective Sharpe_Ratio (case matters)'),
 (43, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', objective => '')$q$, 'QA003',
     '^quant\.optimize: objective: unknown metric ""', 'objective', 'objective empty'),
 (44, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', threads => -1)$q$, 'QA003',
     '^quant\.optimize: threads: must be between 0', 'threads', 'threads -1'),
 (45, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', threads => 100000)$q$, 'QA003',
     '^quant\.optimize: threads: must be between 0', 'threads', 'threads 100000'),
 (46, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', fee_bps => -1)$q$, '22023',
     '^quant\.optimize: fee_bps ', 'fee_bps', 'fee_bps -1'),
 (47, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', fee_bps => 'NaN')$q$, '22023',
     '^quant\.optimize: fee_bps ', 'fee_bps', 'fee_bps NaN'),
 (48, $q$SELECT quant.optimize(pg_temp.cfg('{"conjunction":"XOR"}'), '[{}]')$q$, '22023',
     '^quant\.optimize: conjunction: .*XOR', 'conjunction', 'bad config (conjunction XOR)'),
 (49, $q$SELECT quant.optimize(pg_temp.cfg(), '[{}]', 5, '1900-01-01', '1901-01-01')$q$, 'QA001',
     '^quant\.optimize: ticker "TTRC" has no bars', 'ticker', 'no bars in [from_ts, to_ts]'),
 -- walk_forward
 (50, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', split_ratio => 0)$q$, 'QA003',
     '^quant\.walk_forward: split_ratio: must be strictly between 0 and 1', 'split_ratio', 'split_ratio 0'),
 (51, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', split_ratio => 1)$q$, 'QA003',
     '^quant\.walk_forward: split_ratio: must be strictly between 0 and 1', 'split_ratio', 'split_ratio 1'),
 (52, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', split_ratio => 'NaN')$q$, 'QA003',
     '^quant\.walk_forward: split_ratio: must be strictly between 0 and 1', 'split_ratio', 'split_ratio NaN'),
 (53, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', split_ratio => -0.5)$q$, 'QA003',
     '^quant\.walk_forward: split_ratio: must be strictly between 0 and 1', 'split_ratio', 'split_ratio -0.5'),
 (54, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', split_ratio => 'Infinity')$q$, 'QA003',
     '^quant\.walk_forward: split_ratio: must be strictly between 0 and 1', 'split_ratio', 'split_ratio Infinity'),
 (55, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', split_ratio => 0.001)$q$, 'QA002',
     '^quant\.walk_forward: split_ratio: the in-sample slice is too short', 'split_ratio', 'split_ratio 0.001 (5 in-sample bars)'),
 (56, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', split_ratio => 0.999)$q$, 'QA002',
     '^quant\.walk_forward: split_ratio: the out-of-sample slice is too short', 'split_ratio', 'split_ratio 0.999, restart (6 out-of-sample bars)'),
 (57, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', warmup => 'foo')$q$, 'QA003',
     '^quant\.walk_forward: warmup: unknown mode "foo"', 'warmup', 'warmup foo'),
 (58, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', warmup => 'FULL')$q$, 'QA003',
     '^quant\.walk_forward: warmup: unknown mode "FULL"', 'warmup', 'warmup FULL (case matters)'),
 (59, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{"window":{"min":10,"max":20,"step":0}}]')$q$, '22023',
     '^quant\.walk_forward: grid\[0\]\.window\.step: must be greater than 0', 'grid[0].window.step', 'walk_forward: window step 0'),
 (60, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{"window":[1]}]')$q$, '22023',
     '^quant\.walk_forward: grid\[0\]\.window\[0\]: must be an integer between 2 and', 'grid[0].window[0]', 'walk_forward: Bollinger window 1'),
 (61, $q$SELECT quant.walk_forward(pg_temp.cfg_floor1(), '[{"window":{"min":1,"max":100000,"step":1},"signal":{"min":0,"max":100,"step":0.01}}]')$q$, '54000',
     '^quant\.walk_forward: grid: 1000100000 cells is over the limit of 2000000', 'grid', 'walk_forward: huge grid'),
 (62, $q$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', threads => -1)$q$, 'QA003',
     '^quant\.walk_forward: threads: must be between 0', 'threads', 'walk_forward: threads -1')
) AS c(n, q, state, msg_re, col, descr),
LATERAL pg_temp.bad_input(c.q, c.state, c.msg_re, c.col, c.descr) AS t(r)
ORDER BY c.n;

-- HINTs (4)
SELECT matches((pg_temp.err($$SELECT quant.optimize(pg_temp.cfg(), '[{}]', objective => 'foo')$$)).hint,
  'total_return.*annualized_return.*sharpe_ratio.*max_drawdown.*calmar_ratio',
  'unknown objective: HINT lists the 5 valid objectives');
SELECT matches((pg_temp.err($$SELECT quant.optimize(pg_temp.cfg(), '[{"window":[1]}]')$$)).hint,
  'at least 2', 'window below the floor: HINT states the floor');
SELECT matches((pg_temp.err($$SELECT quant.optimize(pg_temp.cfg2(), '{"7":{}}')$$)).hint,
  'ids: 1, 2', 'unknown substrategy id: HINT lists the ids');
SELECT matches((pg_temp.err($$SELECT quant.walk_forward(pg_temp.cfg(), '[{}]', warmup => 'foo')$$)).hint,
  'restart.*full', 'unknown warmup: HINT lists restart and full');

-- A huge grid is rejected before any work: in well under a second (generous bound: 2 s) (3)
SELECT cmp_ok(pg_temp.seconds($$SELECT quant.optimize(pg_temp.cfg_floor1(), '[{"window":{"min":1,"max":100000,"step":1},"signal":{"min":0,"max":100,"step":0.001}}]')$$),
  '<', 2.0::float8, 'huge grid (per-axis cap): rejected in < 2 s');
SELECT cmp_ok(pg_temp.seconds($$SELECT quant.optimize(pg_temp.cfg_floor1(), '[{"window":{"min":1,"max":100000,"step":1},"signal":{"min":0,"max":100,"step":0.01}}]')$$),
  '<', 2.0::float8, 'huge grid (1e9 cells): rejected in < 2 s');
SELECT cmp_ok(pg_temp.seconds($$SELECT quant.optimize(pg_temp.cfg(), '[{"window":{"min":10,"max":1009,"step":1},"signal":{"min":0,"max":999,"step":1}}]')$$),
  '<', 2.0::float8, 'memory cap: rejected in < 2 s');

-- Cancellable: a long search (~1.5 million cells on 5,550 bars, one thread: several seconds, ~10x
-- the timeout even after the grid search got 2x faster) stops at statement_timeout, promptly, and
-- the backend goes on (3)
SET LOCAL statement_timeout = '300ms';
CREATE TEMP TABLE cancel_run AS SELECT (c).state, (c).secs
  FROM (SELECT pg_temp.cancelled($$SELECT quant.optimize(pg_temp.cfg2(),
          '[{"window":{"min":10,"max":170,"step":1},"signal":{"min":0.25,"max":2.75,"step":0.1}},
            {"window":{"min":5,"max":37,"step":1},"signal":{"min":50,"max":100,"step":5}}]', threads => 1)$$) AS c) s;
SET LOCAL statement_timeout = 0;
SELECT is(state, '57014', 'a long search is cancelled by statement_timeout (57014)') FROM cancel_run;
SELECT cmp_ok(secs, '<', 2.0::float8, 'cancelled within 2 s of a 300 ms timeout') FROM cancel_run;
SELECT lives_ok('SELECT quant.optimize(pg_temp.cfg(), ''[{}]'')', 'after the cancel: quant.optimize still answers');

-- ---- edge_cases (14) -----------------------------------------------------------------------------
SELECT is(quant.optimize(pg_temp.cfg(), '[{}]')->'best'->'substrategies',
  '[{"id": 1, "window": 20, "signal": 1.0}]', 'grid [{}]: the config''s own window and signal, one cell');
SELECT is((quant.optimize(pg_temp.cfg(), '{}')->>'grid_size')::int, 1, 'grid {} (object, no entries): one cell');
SELECT is((quant.optimize(pg_temp.cfg(), '[{"window":30,"signal":0.5}]')->'best'->'substrategies'),
  '[{"id": 1, "window": 30, "signal": 0.5}]', 'grid values as plain numbers');
SELECT is((quant.optimize(pg_temp.cfg2(), '{"2":{"window":[7,14]}}')->>'grid_size')::int, 2,
  'object grid: substrategy 1 not listed keeps its config values');
SELECT ok(quant.optimize(pg_temp.cfg(), '[{"window":[10,20]}]') ?& ARRAY['search', 'objective', 'grid_size',
  'evaluated', 'valid', 'best', 'top'], 'result keys: search, objective, grid_size, evaluated, valid, best, top');
SELECT ok(NOT quant.optimize(pg_temp.cfg(), '[{"window":[10,20]}]') ? 'cells', 'no cells unless include_cells');
SELECT is(jsonb_array_length(quant.optimize(pg_temp.cfg(), '[{"window":[10,20]}]', include_cells => true)->'cells'), 2,
  'include_cells: every cell');
SELECT is(quant.optimize(pg_temp.cfg(), '[{"window":{"min":10,"max":50,"step":10}}]'),
          quant.optimize(pg_temp.cfg(), '[{"window":{"min":10,"max":50,"step":10}}]'),
  'deterministic: the same call twice gives the same JSON');
SELECT is(jsonb_array_length(quant.optimize(pg_temp.cfg(), '[{"window":[10,20]}]', top_n => 0)->'top'), 0,
  'top_n 0: top is empty');
-- (once a bug: best came from top.front(), so top_n 0 gave no best)
SELECT isnt(quant.optimize(pg_temp.cfg(), '[{}]', top_n => 0)->'best', 'null'::jsonb,
  'top_n 0: best is still the best valid cell');
-- every cell NaN (a band of 100 on a z-score: always flat, std 0): valid 0, best null, top empty
SELECT is(quant.optimize(pg_temp.cfg(), '[{"signal":[100, 200]}]') - 'ticker' - 'fee_bps' - 'objective_direction',
  '{"search": "exhaustive", "objective": "sharpe_ratio", "grid_size": 2, "evaluated": 2, "valid": 0, "best": null, "top": []}',
  'all cells NaN: valid 0, best null, top empty (NaN never wins)');
SELECT is(quant.optimize(pg_temp.cfg(), '[{"signal":[100]}]', objective => 'max_drawdown')->>'objective_direction', 'min',
  'max_drawdown is minimised (objective_direction min)');
SELECT is(quant.walk_forward(pg_temp.cfg(), '[{"signal":[100, 200]}]') - 'fee_bps' - 'split_at' - 'split_ratio' - 'warmup' - 'search' - 'split_index',
  '{"grid_size": 2, "evaluated": 2, "valid": 0, "best": null, "best_window": null, "best_signal": null, "is_sharpe": null, "oos_sharpe": null, "overfitting_ratio": null}',
  'walk_forward, all in-sample cells NaN: the walk_forward fields are null');
SELECT ok(position('NaN' IN quant.optimize(pg_temp.cfg(), '[{"signal":[1, 100]}]', include_cells => true)::text) = 0,
  'no NaN in the result (null instead)');

-- ---- nothing stored (1) --------------------------------------------------------------------------
SELECT is(pg_temp.writes() - (SELECT n FROM writes_before), 0::bigint,
  'no row inserted, updated or deleted by any call above (pure)');

SELECT * FROM finish();
ROLLBACK;
