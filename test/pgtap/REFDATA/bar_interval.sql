-- refdata.bar_interval (from the core's catalog), quant.list_intervals, refdata.check_bar_interval,
-- quant.check_schedule_interval (a deployment's schedule must fit its strategy's interval).
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(22);
\ir ../helpers.psql

SELECT has_table('refdata', 'bar_interval', 'refdata.bar_interval exists');
SELECT set_eq('SELECT name, seconds, offset_seconds, equity_bars_per_year, crypto_bars_per_year, description FROM refdata.bar_interval',
              'SELECT * FROM quant.bar_interval_catalog()', 'refdata.bar_interval = quant.bar_interval_catalog()');
SELECT results_eq('SELECT name, seconds FROM refdata.bar_interval ORDER BY seconds',
  $$VALUES ('1m', 60), ('5m', 300), ('15m', 900), ('30m', 1800), ('1h', 3600), ('4h', 14400), ('1d', 86400), ('1w', 604800)$$,
  'the eight intervals with their lengths in seconds');
SELECT is((SELECT count(*)::int FROM refdata.bar_interval WHERE duration <> make_interval(secs => seconds)), 0,
  'duration = seconds (an exact length, never a calendar day)');
SELECT is((SELECT offset_seconds FROM refdata.bar_interval WHERE name = '1w'), 345600, 'weekly bars open on Mondays (4 days after the epoch)');
SELECT is(extract(isodow FROM to_timestamp((SELECT offset_seconds FROM refdata.bar_interval WHERE name = '1w')) AT TIME ZONE 'UTC')::int, 1,
  '... which is a Monday');
SELECT results_eq($$SELECT crypto_bars_per_year, equity_bars_per_year FROM refdata.bar_interval WHERE name = '1h'$$,
  $$VALUES (8760, 1638)$$, 'hourly: 8,760 bars a year for crypto, 1,638 for US equities');
SELECT results_eq($$SELECT crypto_bars_per_year, equity_bars_per_year FROM refdata.bar_interval WHERE name = '1d'$$,
  $$VALUES (365, 252)$$, 'daily: 365 / 252');
SELECT is(refdata.bar_interval_names(), '1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w', 'the names for hints, in order');
SELECT is((SELECT count(*)::int FROM quant.list_intervals()), 8, 'quant.list_intervals: 8 rows');
SELECT is((SELECT j FROM quant.list_intervals() j LIMIT 1)->>'name', '1m', '... shortest first');
SELECT ok((SELECT bool_and(j ?& ARRAY['name', 'seconds', 'offset_seconds', 'equity_bars_per_year', 'crypto_bars_per_year', 'description'])
           FROM quant.list_intervals() j), '... each with its fields');

SELECT is((refdata.check_bar_interval('1h')).seconds, 3600, 'check_bar_interval: a known name');
SELECT is((pg_temp.err($$SELECT refdata.check_bar_interval('1H')$$)).state, '22023', 'an unknown name (names are case-sensitive): 22023');
SELECT is((pg_temp.err($$SELECT refdata.check_bar_interval('2h', 'interval')$$)).col, 'interval', '... naming the field');
SELECT is((pg_temp.err($$SELECT refdata.check_bar_interval('2h')$$)).hint, 'valid intervals: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w', '... with the valid values');

SELECT lives_ok($$SELECT quant.check_schedule_interval('hourly', '1h')$$, 'hourly fits 1h');
SELECT lives_ok($$SELECT quant.check_schedule_interval('daily_close', '1d')$$, 'daily_close fits 1d');
SELECT lives_ok($$SELECT quant.check_schedule_interval('manual', '5m')$$, 'manual fits any interval');
SELECT is((pg_temp.err($$SELECT quant.check_schedule_interval('hourly', '1d')$$)).col, 'schedule', 'hourly on 1d: names schedule');
SELECT is((pg_temp.err($$SELECT quant.check_schedule_interval('daily_close', '1h')$$)).hint, 'schedules that fit 1h bars: hourly, manual',
  'daily_close on 1h: the hint lists the schedules that fit');
SELECT is((pg_temp.err($$SELECT quant.check_schedule_interval('hourly', '7m')$$)).col, 'interval', 'an unknown interval names interval');

SELECT * FROM finish();
ROLLBACK;
