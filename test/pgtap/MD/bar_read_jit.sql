-- The bar cache's read of md.bar is planned with JIT off (extension/src/bars.c): at 100M bars the
-- planner's estimate of one product's read passed jit_above_cost, and compiling it (after loading
-- LLVM into a new backend) took 30-50 ms against 1 ms for the read (issue 17, bench/README.md).
-- Shown with jit_dump_bitcode, which writes one file per JIT-compiled module into the data
-- directory (<pid>.<n>.bc; a test cluster's, left there): with every statement compiled
-- (jit_above_cost 0), a backtest that reads its bars makes no more files than one served by the
-- cache. The session's jit setting is its own again after the read, also after a failed one.
BEGIN;
SELECT plan(6);

SELECT ok(pg_jit_available(), 'JIT is available in this server (else the files below say nothing)');

INSERT INTO md.bar (ticker, ts, open, high, low, close, volume)
SELECT 'JIT_T', timestamptz '2020-01-01 00:00+00' + make_interval(days => i), 1, 1, 1, 100 + i, 1
  FROM generate_series(0, 39) i;
CREATE TEMP TABLE cfg AS SELECT
  '{"ticker":"JIT_T","trading_period":252,"substrategies":[{"indicator":"get_sma_distance","signal_func":"momentum_band_signal","window":5,"signal":0.0}]}'::jsonb AS c;
CREATE FUNCTION pg_temp.bitcode_files() RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT count(*) FROM pg_catalog.pg_ls_dir('.') f WHERE f LIKE pg_catalog.pg_backend_pid() || '.%.bc'
$$;
CREATE TEMP TABLE files (step int, n bigint);

SET LOCAL jit = on;
SET LOCAL jit_above_cost = 0;
SET LOCAL jit_dump_bitcode = on;
INSERT INTO files VALUES (0, pg_temp.bitcode_files());
SELECT quant.backtest((SELECT c FROM cfg), 0) IS NOT NULL;  -- a miss: the bars are read from md.bar
INSERT INTO files VALUES (1, pg_temp.bitcode_files());
SELECT quant.backtest((SELECT c FROM cfg), 0) IS NOT NULL;  -- a hit: only md.bar_version is read
INSERT INTO files VALUES (2, pg_temp.bitcode_files());

SELECT cmp_ok((SELECT n FROM files WHERE step = 1) - (SELECT n FROM files WHERE step = 0), '>', 0::bigint,
              'statements are JIT-compiled here (jit_above_cost 0)');
SELECT is((SELECT n FROM files WHERE step = 1) - (SELECT n FROM files WHERE step = 0),
          (SELECT n FROM files WHERE step = 2) - (SELECT n FROM files WHERE step = 1),
          'reading the bars compiles nothing: a miss makes as many JIT modules as a hit');
SELECT is(current_setting('jit'), 'on', 'jit is the session''s own again after the read');

SELECT throws_ok($$SELECT quant.backtest('{"ticker":"JIT_NONE","trading_period":252,"substrategies":[{"indicator":"get_sma_distance","signal_func":"momentum_band_signal","window":5,"signal":0.0}]}', 0)$$,
                 'QA001', NULL, 'a ticker without bars fails as before');
SELECT is(current_setting('jit'), 'on', 'and after a read that found nothing');

SELECT * FROM finish();
ROLLBACK;
