-- md.bar at scale (issue 17): partitioned by LIST (interval) then RANGE (ts); the bars of every
-- interval land in their partition, a bar outside every partition in the default one (never
-- refused) and moves out when md.create_bar_partitions makes its partition; the ingest paths make
-- the partitions of their bars; a backtest's bar read of one product is pruned to its interval's
-- partitions (and a read of a time range to the partition of that range) and uses the primary key.
-- Everything is rolled back.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(23);

-- the layout
SELECT is((SELECT partstrat::text FROM pg_partitioned_table WHERE partrelid = 'md.bar'::regclass), 'l',
  'md.bar is partitioned by LIST');
SELECT is((SELECT pg_get_partkeydef('md.bar'::regclass)), 'LIST ("interval")', 'md.bar: by interval');
SELECT is((SELECT array_agg(b.name ORDER BY b.name) FROM refdata.bar_interval b
            WHERE to_regclass('md.bar_' || b.name) IS NOT NULL
              AND pg_get_partkeydef(to_regclass('md.bar_' || b.name)) = 'RANGE (ts)'
              AND to_regclass('md.bar_' || b.name || '_default') IS NOT NULL),
          (SELECT array_agg(b.name ORDER BY b.name) FROM refdata.bar_interval b),
  'every interval has its partition md.bar_<interval>, by RANGE (ts), with a default partition');
SELECT is((SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE c.oid = 'md.bar_default'::regclass), 'DEFAULT',
  'md.bar_default is md.bar''s default partition');
SELECT is((SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.conrelid = 'md.bar'::regclass AND c.conname = 'bar_interval_check'),
          'CHECK (("interval" = ANY (ARRAY[' || (SELECT string_agg(quote_literal(b.name) || '::text', ', ' ORDER BY b.seconds)
                                                   FROM refdata.bar_interval b) || '])))',
  'bar_interval_check names exactly the intervals of refdata.bar_interval');
SELECT is((SELECT count(*)::int FROM pg_constraint c WHERE c.conrelid = 'md.bar'::regclass AND c.contype = 'f'), 0,
  'md.bar has no foreign key (the interval is a CHECK)');
SELECT is((SELECT array_agg(t.relid::text ORDER BY t.relid::text) FROM pg_partition_tree('md.bar') t JOIN pg_class c ON c.oid = t.relid
            CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
           WHERE t.level > 0 AND a.grantee <> c.relowner), NULL,
  'no partition of md.bar grants anything (bars are read through md.bar)');
SELECT is((SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = 'md.bar'::regclass AND i.indisprimary),
          'CREATE UNIQUE INDEX bar_pkey ON ONLY md.bar USING btree (ticker, "interval", ts)', 'primary key (ticker, interval, ts)');

-- one bar in every interval, this month (the install's window): its partition, named here from
-- the calendar (1m and 5m by month, 15m to 4h by year, 1d and 1w by decade)
CREATE TEMP TABLE here AS
SELECT b.name AS iv, date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS ts,
       'md.bar_' || b.name || '_' ||
       CASE WHEN b.name IN ('1m', '5m') THEN to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')
            WHEN b.name IN ('1d', '1w') THEN (extract(year FROM now() AT TIME ZONE 'UTC')::int / 10 * 10)::text || 's'
            ELSE to_char(now() AT TIME ZONE 'UTC', 'YYYY') END AS want
  FROM refdata.bar_interval b;
INSERT INTO md.bar (ticker, interval, ts, close) SELECT 'ZZPART', h.iv, h.ts, 1 FROM here h;
SELECT results_eq($$SELECT b.interval, b.tableoid::regclass::text FROM md.bar b WHERE b.ticker = 'ZZPART' ORDER BY 1$$,
                  $$SELECT iv, want FROM here ORDER BY 1$$,
  'a bar of every interval lands in the partition of its interval and period');

-- outside every partition: the default partition, never refused; create_bar_partitions moves it
INSERT INTO md.bar (ticker, interval, ts, close) VALUES ('ZZPART', '1m', '1990-01-05 10:00+00', 2), ('ZZPART', '1h', '1990-02-01 00:00+00', 3);
SELECT results_eq($$SELECT b.interval, b.tableoid::regclass::text FROM md.bar b WHERE b.ticker = 'ZZPART' AND b.ts < '2000-01-01' ORDER BY 1$$,
                  $$VALUES ('1h', 'md.bar_1h_default'), ('1m', 'md.bar_1m_default')$$,
  'a bar outside every partition lands in its interval''s default partition');
SELECT is((SELECT version FROM md.bar_version WHERE ticker = 'ZZPART' AND interval = '1m'), 2::bigint, '1m version after two inserts');
SELECT is(md.create_bar_partitions('1990-01-01 00:00+00', '1990-01-31 00:00+00', '1m'), 1, 'create_bar_partitions: one month of 1m');
SELECT is((SELECT b.tableoid::regclass::text FROM md.bar b WHERE b.ticker = 'ZZPART' AND b.interval = '1m' AND b.ts < '2000-01-01'),
          'md.bar_1m_1990_01', '... and the bar moved out of the default partition into it');
SELECT is((SELECT version FROM md.bar_version WHERE ticker = 'ZZPART' AND interval = '1m'), 2::bigint,
  'moving a bar between partitions is no change of the bars (version kept)');
SELECT is(md.create_bar_partitions('1990-01-01 00:00+00', '1990-01-31 00:00+00', '1m'), 0, 'a second call creates nothing');
SELECT throws_ok($$SELECT md.create_bar_partitions('1900-01-01', '2030-01-01', '1m')$$, '22023', NULL,
  'more than 1200 partitions in one call is refused, naming the range');
SELECT throws_ok($$INSERT INTO md.bar (ticker, interval, ts, close) VALUES ('ZZPART', '2m', now(), 1)$$, '23514', NULL,
  'an unknown interval is refused by the CHECK');

-- the ingest paths make the partitions of their bars (upload_bars: 1h bars of 2015)
SELECT quant.set_user('tap_partitions') \gset
SELECT is((quant.upload_bars('ZZUP', '1h', '[{"ts":"2015-06-01T00:00:00Z","open":1,"high":1,"low":1,"close":1},{"ts":"2015-06-01T01:00:00Z","open":1,"high":1,"low":1,"close":1}]')->>'rows')::int,
          2, 'upload_bars stores 2 bars of 2015');
SELECT is((SELECT array_agg(DISTINCT b.tableoid::regclass::text) FROM md.bar b WHERE b.ticker = 'ZZUP'), ARRAY['md.bar_1h_2015'],
  '... into the partition it made for them (md.bar_1h_2015)');

-- plans: 3,000 minute bars of 10 products in March 2024
SELECT md.create_bar_partitions('2024-02-01 00:00+00', '2024-04-01 00:00+00', '1m');
INSERT INTO md.bar (ticker, interval, ts, open, high, low, close, volume)
SELECT 'ZZP' || k, '1m', timestamptz '2024-03-01 00:00+00' + make_interval(mins => i), 1, 1, 1, 1 + i, 1
  FROM generate_series(1, 10) k, generate_series(0, 2999) i;
ANALYZE md.bar_1m_2024_03;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    out text := '';
BEGIN
    FOR line IN EXECUTE q LOOP
        out := out || line || E'\n';
    END LOOP;
    RETURN out;
END
$$;
-- a read of one product and a time range (list_bars, indicator_series): one partition, by its key
CREATE TEMP TABLE p1 AS SELECT pg_temp.plan_of($$EXPLAIN (COSTS OFF) SELECT ts, close FROM md.bar
   WHERE ticker = 'ZZP3' AND interval = '1m' AND ts >= '2024-03-01 10:00+00' AND ts < '2024-03-01 12:00+00' ORDER BY ts$$) AS p;
SELECT matches((SELECT p FROM p1), '(Index (Only )?Scan using|Bitmap Index Scan on) bar_1m_2024_03_pkey',
  'one product and range: an index scan of the primary key of the one partition of that month');
SELECT is((SELECT array_agg(DISTINCT m[1]) FROM p1, regexp_matches(p, '(bar_[0-9a-z]+_[0-9]{4}_[0-9]{2}|bar_[0-9a-z]+_default)', 'g') m),
          ARRAY['bar_1m_2024_03'], '... and no other partition is read (pruned at planning)');
-- the bar cache's read (extension/src/bars.c: every bar of a ticker and interval, a kept generic
-- plan): pruned to the interval's partitions when it runs, each read by its primary key
PREPARE cache_read(text, text) AS SELECT ts, open, high, low, close, volume FROM md.bar
 WHERE ticker OPERATOR(pg_catalog.=) $1 AND interval OPERATOR(pg_catalog.=) $2 ORDER BY ts;
SET LOCAL plan_cache_mode = force_generic_plan;
CREATE TEMP TABLE p2 AS SELECT pg_temp.plan_of($$EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE cache_read('ZZP3', '1m')$$) AS p;
SELECT matches((SELECT p FROM p2), 'Subplans Removed: [1-9]',
  'the bar cache''s read of one product: the other intervals'' partitions are pruned when it runs');
SELECT matches((SELECT p FROM p2), '(Index (Only )?Scan using bar_1m_2024_03_pkey on bar_1m_2024_03 [a-z_0-9]*|Bitmap Index Scan on bar_1m_2024_03_pkey) \(actual rows=3000',
  '... and the month''s 3,000 bars are read by the primary key');

SELECT * FROM finish();
ROLLBACK;
