-- The array forms: quant.sma, ema, rsi, rsi_wilder, bollinger, sma_distance, ema_distance
-- (double precision[], int) and quant.stochastic(high[], low[], close[], int) -> double precision[].
-- IMMUTABLE STRICT: NULL in -> NULL out; NULL elements are 22004; undefined values are NULL elements.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(108);
\ir ../helpers.psql

-- the result of q as text, or its error
CREATE FUNCTION pg_temp.res(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  EXECUTE q INTO r;
  RETURN r;
EXCEPTION WHEN OTHERS THEN
  RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END $$;
-- arrays equal to 1e-12 absolute (NULL elements at the same places)
CREATE FUNCTION pg_temp.arr_close(a float8[], b float8[]) RETURNS boolean LANGUAGE sql AS $$
  SELECT cardinality(a) = cardinality(b) AND NOT EXISTS (
    SELECT 1 FROM unnest(a, b) u(x, y)
     WHERE (x IS NULL) <> (y IS NULL) OR abs(x - y) > 1e-12) $$;

-- ---- types_check: 8 functions x 6 = 48 ---------------------------------------------------------
SELECT t.r FROM (VALUES (1, 'sma'), (2, 'ema'), (3, 'rsi'), (4, 'rsi_wilder'), (5, 'bollinger'),
                        (6, 'sma_distance'), (7, 'ema_distance')) f(n, fn),
LATERAL (VALUES
  (1, has_function('quant', f.fn, ARRAY['double precision[]', 'integer'],
                   format('quant.%s(double precision[], integer) exists', f.fn))),
  (2, function_returns('quant', f.fn, ARRAY['double precision[]', 'integer'], 'double precision[]',
                   format('quant.%s returns double precision[]', f.fn))),
  (3, volatility_is('quant', f.fn, ARRAY['double precision[]', 'integer'], 'immutable',
                   format('quant.%s is IMMUTABLE', f.fn))),
  (4, is_strict('quant', f.fn, ARRAY['double precision[]', 'integer'], format('quant.%s is STRICT', f.fn))),
  (5, ok((SELECT proparallel = 's' FROM pg_proc WHERE oid = format('quant.%s(float8[], int)', f.fn)::regprocedure),
                   format('quant.%s is PARALLEL SAFE', f.fn))),
  (6, cmp_ok(length(obj_description(format('quant.%s(float8[], int)', f.fn)::regprocedure, 'pg_proc')), '>', 10,
                   format('quant.%s has a COMMENT', f.fn)))
) AS t(k, r)
ORDER BY f.n, t.k;
SELECT has_function('quant', 'stochastic', ARRAY['double precision[]', 'double precision[]', 'double precision[]', 'integer'],
  'quant.stochastic(high[], low[], close[], integer) exists');
SELECT function_returns('quant', 'stochastic', ARRAY['double precision[]', 'double precision[]', 'double precision[]', 'integer'],
  'double precision[]', 'quant.stochastic returns double precision[]');
SELECT volatility_is('quant', 'stochastic', ARRAY['double precision[]', 'double precision[]', 'double precision[]', 'integer'],
  'immutable', 'quant.stochastic is IMMUTABLE');
SELECT is_strict('quant', 'stochastic', ARRAY['double precision[]', 'double precision[]', 'double precision[]', 'integer'],
  'quant.stochastic is STRICT');
SELECT ok((SELECT proparallel = 's' FROM pg_proc WHERE oid = 'quant.stochastic(float8[], float8[], float8[], int)'::regprocedure),
  'quant.stochastic is PARALLEL SAFE');
SELECT cmp_ok(length(obj_description('quant.stochastic(float8[], float8[], float8[], int)'::regprocedure, 'pg_proc')), '>', 10,
  'quant.stochastic has a COMMENT');

-- ---- no_crash ----------------------------------------------------------------------------------
-- STRICT: NULL array or NULL window -> NULL (7 x 2 + 4 = 18)
SELECT t.r FROM (VALUES (1, 'sma'), (2, 'ema'), (3, 'rsi'), (4, 'rsi_wilder'), (5, 'bollinger'),
                        (6, 'sma_distance'), (7, 'ema_distance')) f(n, fn),
LATERAL (VALUES
  (1, is(pg_temp.res(format('SELECT quant.%s(NULL, 5)', f.fn)), NULL, format('quant.%s(NULL, 5) is NULL, no error', f.fn))),
  (2, is(pg_temp.res(format('SELECT quant.%s(ARRAY[1, 2]::float8[], NULL)', f.fn)), NULL,
         format('quant.%s(x, NULL) is NULL, no error', f.fn)))
) AS t(k, r)
ORDER BY f.n, t.k;
SELECT is(quant.sma(NULL, 5), NULL, 'quant.sma(NULL, 5) = NULL');
SELECT is(quant.rsi(ARRAY[1, 2, 3]::float8[], NULL), NULL, 'quant.rsi(x, NULL) = NULL');
SELECT is(quant.stochastic(NULL, ARRAY[1]::float8[], ARRAY[1]::float8[], 1), NULL, 'quant.stochastic(NULL, ...) = NULL');
SELECT is(quant.stochastic(ARRAY[1]::float8[], ARRAY[1]::float8[], ARRAY[1]::float8[], NULL), NULL,
  'quant.stochastic(..., NULL) = NULL');
-- NULL elements: 22004 naming the argument and the element (8)
SELECT throws_ok($$SELECT quant.sma(ARRAY[1, NULL, 3]::float8[], 2)$$, '22004', NULL, 'quant.sma: a NULL element is 22004');
SELECT throws_matching($$SELECT quant.sma(ARRAY[1, NULL, 3]::float8[], 2)$$, '^quant\.sma: x\[2\]', 'quant.sma: the message names x[2]');
SELECT is(pg_temp.err_col($$SELECT quant.sma(ARRAY[1, NULL, 3]::float8[], 2)$$), 'x', 'quant.sma: COLUMN NAME x');
SELECT throws_ok($$SELECT quant.ema(ARRAY[NULL]::float8[], 1)$$, '22004', NULL, 'quant.ema: a NULL element is 22004');
SELECT throws_ok($$SELECT quant.bollinger(ARRAY[1, 2, NULL]::float8[], 2)$$, '22004', NULL, 'quant.bollinger: a NULL element is 22004');
SELECT throws_ok($$SELECT quant.stochastic(ARRAY[2, 3]::float8[], ARRAY[1, NULL]::float8[], ARRAY[1, 2]::float8[], 1)$$,
  '22004', NULL, 'quant.stochastic: a NULL element of low is 22004');
SELECT throws_matching($$SELECT quant.stochastic(ARRAY[2, 3]::float8[], ARRAY[1, NULL]::float8[], ARRAY[1, 2]::float8[], 1)$$,
  '^quant\.stochastic: low\[2\]', 'quant.stochastic: the message names low[2]');
SELECT throws_ok($$SELECT quant.rsi(ARRAY[1, 2, 3, NULL]::float8[], 2)$$, '22004', NULL, 'quant.rsi: a NULL element is 22004');
-- garbage (11)
SELECT throws_ok($$SELECT quant.sma(ARRAY[1, 2, 3]::float8[], 0)$$, 'QA003', NULL, 'quant.sma window 0: QA003');
SELECT throws_matching($$SELECT quant.sma(ARRAY[1, 2, 3]::float8[], -1)$$, '^quant\.sma: window: ', 'quant.sma window -1: names window');
SELECT is(pg_temp.err_col($$SELECT quant.sma(ARRAY[1, 2, 3]::float8[], -1)$$), 'window', 'quant.sma window -1: COLUMN NAME window');
SELECT throws_ok($$SELECT quant.rsi(ARRAY[1, 2, 3]::float8[], 1)$$, 'QA003', NULL, 'quant.rsi window 1 (floor 2): QA003');
SELECT throws_ok($$SELECT quant.bollinger(ARRAY[1, 2, 3]::float8[], 1)$$, 'QA003', NULL, 'quant.bollinger window 1 (floor 2): QA003');
SELECT throws_ok($$SELECT quant.ema(ARRAY[1, 2, 3]::float8[], 2147483647)$$, 'QA003', NULL, 'quant.ema window int max: QA003');
SELECT throws_ok($$SELECT quant.sma(ARRAY[[1, 2], [3, 4]]::float8[], 2)$$, '2202E', NULL, 'quant.sma: a 2-D array is 2202E');
SELECT throws_ok($$SELECT quant.stochastic(ARRAY[1, 2, 3]::float8[], ARRAY[1, 2]::float8[], ARRAY[1, 2, 3]::float8[], 2)$$,
  '2202E', NULL, 'quant.stochastic: arrays of different lengths are 2202E');
SELECT is(quant.sma('{}'::float8[], 3), '{}'::float8[], 'quant.sma of an empty array is empty');
SELECT is(quant.sma('[0:2]={1,2,3}'::float8[], 2), ARRAY[NULL, 1.5, 2.5]::float8[], 'quant.sma ignores a non-1 lower bound');
SELECT lives_ok('SELECT 1', 'backend still alive after the bad inputs');

-- ---- edge_cases -----------------------------------------------------------------------------------
SELECT is(quant.sma(ARRAY[1, 2, 3, 4]::float8[], 2), ARRAY[NULL, 1.5, 2.5, 3.5]::float8[], 'sma: values, NULL first');
SELECT is(quant.sma(ARRAY[1, 2, 3]::float8[], 3), ARRAY[NULL, NULL, 2]::float8[], 'sma: window = length, last defined');
SELECT is(quant.sma(ARRAY[1, 2, 3]::float8[], 4), ARRAY[NULL, NULL, NULL]::float8[], 'sma: window > length, all NULL');
SELECT is(quant.sma(ARRAY[5]::float8[], 1), ARRAY[5]::float8[], 'sma: window 1 of one value');
SELECT ok(pg_temp.arr_close(quant.ema(ARRAY[1, 2, 3]::float8[], 2), ARRAY[1, 5.0/3, 23.0/9]::float8[]),
  'ema: alpha 2/(n+1), seeded with the first value');
SELECT is(quant.rsi(ARRAY[1, 2, 3, 2, 5]::float8[], 2), ARRAY[NULL, NULL, 100, 50, 75]::float8[], 'rsi (Cutler): values, first n NULL');
SELECT is(quant.rsi(ARRAY[3, 2, 1]::float8[], 2), ARRAY[NULL, NULL, 0]::float8[], 'rsi: only losses = 0');
SELECT is(quant.rsi(ARRAY[1, 1, 1, 1]::float8[], 2), ARRAY[NULL, NULL, NULL, NULL]::float8[], 'rsi: no change is 0/0 = NULL');
SELECT is(quant.rsi_wilder(ARRAY[1, 2, 3, 2, 5]::float8[], 2), ARRAY[NULL, NULL, 100, 50, 87.5]::float8[], 'rsi_wilder: values');
SELECT ok(pg_temp.arr_close(quant.bollinger(ARRAY[1, 2, 3, 2]::float8[], 2),
  ARRAY[NULL, sqrt(0.5), sqrt(0.5), -sqrt(0.5)]::float8[]), 'bollinger: z-score with the sample SD');
SELECT is(quant.bollinger(ARRAY[1, 1, 1]::float8[], 2), ARRAY[NULL, NULL, NULL]::float8[], 'bollinger: SD 0 is NULL, not NaN');
SELECT ok(pg_temp.arr_close(quant.sma_distance(ARRAY[1, 2, 3]::float8[], 2), ARRAY[NULL, 2/1.5 - 1, 3/2.5 - 1]::float8[]),
  'sma_distance = x/SMA - 1');
SELECT ok(pg_temp.arr_close(quant.ema_distance(ARRAY[1, 2, 3]::float8[], 2), ARRAY[0, 2/(5.0/3) - 1, 3/(23.0/9) - 1]::float8[]),
  'ema_distance = x/EMA - 1');
SELECT is(quant.stochastic(ARRAY[2, 3, 4, 5]::float8[], ARRAY[1, 2, 3, 4]::float8[], ARRAY[1.5, 2.5, 3.5, 4.5]::float8[], 2),
  ARRAY[NULL, NULL, 75, 75]::float8[], 'stochastic: %D, first 2n-2 NULL');
SELECT is(quant.stochastic(ARRAY[1, 1, 1]::float8[], ARRAY[1, 1, 1]::float8[], ARRAY[1, 1, 1]::float8[], 2),
  ARRAY[NULL, NULL, NULL]::float8[], 'stochastic: HH = LL is NULL, not NaN');
-- non-finite input elements come out as NULL, never NaN
SELECT is(quant.sma(ARRAY[1, 'NaN', 3]::float8[], 2), ARRAY[NULL, NULL, NULL]::float8[], 'sma: NaN in, NULL out');
SELECT is(array_position(quant.ema(ARRAY[1, 'NaN', 3]::float8[], 2), 'NaN'), NULL, 'ema: no NaN out');
SELECT is(array_position(quant.bollinger(ARRAY[1, 'Infinity', 3, 4]::float8[], 2), 'NaN'), NULL, 'bollinger: no NaN out of an infinity');
SELECT is(array_position(quant.rsi(ARRAY[1, '-Infinity', 3, 4]::float8[], 2), 'NaN'), NULL, 'rsi: no NaN out of an infinity');
-- the output has the input's length, for every function, on real data
SELECT is((SELECT cardinality(quant.sma(array_agg(close ORDER BY ts), 20)) FROM md.bar WHERE ticker = 'TTRC'), 5550,
  'sma over the TTRC closes: 5550 elements');
SELECT is((SELECT cardinality(quant.stochastic(array_agg(high ORDER BY ts), array_agg(low ORDER BY ts),
                                               array_agg(close ORDER BY ts), 14)) FROM md.bar WHERE ticker = 'MSFT'), 249,
  'stochastic over MSFT: 249 elements');
SELECT is((SELECT count(*) FROM unnest((SELECT quant.rsi(array_agg(close ORDER BY ts), 14) FROM md.bar WHERE ticker = 'TTRC')) v
            WHERE v = 'NaN' OR NOT v BETWEEN 0 AND 100), 0::bigint, 'rsi over TTRC: NaN-free, in 0..100');
SELECT is(quant.sma(ARRAY[1, 2, 3]::float8[], 2), quant.sma(ARRAY[1, 2, 3]::float8[], 2), 'IMMUTABLE: same result twice');

SELECT * FROM finish();
ROLLBACK;
