-- The worker's exactly-once core (sql/TRADE/order.sql) at the SQL level: trade.worker_claim
-- (oldest first, one signal per deployment at a time, the lease, giving up after max_attempts,
-- FOR UPDATE SKIP LOCKED against a second session), the intent before the outcome
-- (trade.worker_insert_intent, unique client order id and leg), trade.worker_record_outcome
-- (idempotent, terminal states recorded once, UNKNOWN not terminal) and
-- trade.worker_open_orders. Signals are inserted directly with fixed created_at, so the claim
-- order is known.
BEGIN;
SELECT plan(71);
SET LOCAL client_min_messages = warning;
\ir ../helpers.psql

-- ---- signatures and privileges ----
SELECT has_function('trade', 'worker_claim', ARRAY['text', 'double precision', 'integer'], 'trade.worker_claim(text, float8, int)');
SELECT is_definer('trade', 'worker_claim', ARRAY['text', 'double precision', 'integer'], 'worker_claim is SECURITY DEFINER (every user''s signals)');
SELECT ok(NOT has_function_privilege('quant_app', 'trade.worker_claim(text, double precision, integer)', 'EXECUTE'),
          'quant_app cannot claim');
SELECT ok(NOT has_function_privilege('public', 'trade.worker_claim(text, double precision, integer)', 'EXECUTE'),
          'PUBLIC cannot claim');
SELECT has_function('trade', 'worker_record_outcome',
                    ARRAY['text', 'text', 'text', 'numeric', 'numeric', 'numeric', 'text', 'text'],
                    'trade.worker_record_outcome(coid, status, broker_order_id, filled_qty, fill_price, fee, message, finish)');
SELECT has_function('trade', 'worker_insert_intent', ARRAY['uuid', 'text', 'text', 'text', 'numeric', 'boolean', 'text'],
                    'trade.worker_insert_intent(sid, leg, coid, side, qty, reduce_only, worker)');
SELECT col_is_unique('trade', 'order', ARRAY['client_order_id'], 'trade."order".client_order_id is unique (the idempotency key)');
SELECT col_is_unique('trade', 'order', ARRAY['signal_id', 'leg'], 'one order per (signal, leg)');

-- ---- two deployments of tap_ord and their signals (created_at fixed: s1 < s2 < s3) ----
SELECT quant.set_user('tap_ord') \gset
CREATE TEMP TABLE dep AS
SELECT k, (quant.deploy(jsonb_build_object('strategy_id', s.j->>'strategy_id', 'qty', 10, 'schedule', 'manual',
                                           'ticker', 'TTRC', 'market', 'US'))->>'deployment_id')::uuid AS id
  FROM (SELECT quant.create_strategy('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}') AS j) s,
       (VALUES ('d1'), ('d2')) v(k);
CREATE TEMP TABLE sig (k text PRIMARY KEY, id uuid);
CREATE FUNCTION pg_temp.new_signal(k text, d text, bar timestamptz, age interval) RETURNS uuid LANGUAGE sql AS $$
  WITH ins AS (
    INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, created_at)
    SELECT id, 'tap_ord', bar, 1, 'TTRC', now() - age FROM dep WHERE dep.k = d
    RETURNING signal_id)
  INSERT INTO sig SELECT k, signal_id FROM ins RETURNING id $$;
CREATE FUNCTION pg_temp.sid(k text) RETURNS uuid LANGUAGE sql AS $$ SELECT id FROM sig WHERE sig.k = $1 $$;
CREATE FUNCTION pg_temp.state(k text) RETURNS text LANGUAGE sql AS $$
  SELECT status || '|' || coalesce(claimed_by, '-') || '|' || attempts FROM trade.signal WHERE signal_id = pg_temp.sid(k) $$;
SELECT pg_temp.new_signal('s1', 'd1', '2024-01-01', '3 minutes'), pg_temp.new_signal('s2', 'd1', '2024-01-02', '2 minutes'),
       pg_temp.new_signal('s3', 'd2', '2024-01-01', '1 minute') \gset
SELECT set_config('quant.user', '', false) \gset

-- ---- claims ----
SELECT throws_ok($$SELECT trade.worker_claim('')$$, '22004', NULL, 'an empty worker id: 22004');
SELECT throws_ok($$SELECT trade.worker_claim(NULL)$$, '22004', NULL, 'a NULL worker id: 22004');
SELECT is((trade.worker_claim('w1')).signal_id, pg_temp.sid('s1'), 'w1 claims the oldest PENDING signal');
SELECT is(pg_temp.state('s1'), 'PROCESSING|w1|1', 'the claim: PROCESSING, claimed_by w1, attempts 1');
SELECT is((SELECT claimed_at FROM trade.signal WHERE signal_id = pg_temp.sid('s1')), now(), 'claimed_at is the claim''s time');
SELECT is((trade.worker_claim('w2')).signal_id, pg_temp.sid('s3'),
          'w2 gets the other deployment''s signal: s2 waits while d1''s s1 is w1''s (one signal per deployment)');
SELECT is((trade.worker_claim('w2')).signal_id, pg_temp.sid('s3'), 'a worker takes its own claim back (restart)');
SELECT is(pg_temp.state('s3'), 'PROCESSING|w2|2', 'taking it back counts an attempt');

-- ---- the lease ----
UPDATE trade.signal SET claimed_at = now() - interval '61 seconds' WHERE signal_id = pg_temp.sid('s1');
SELECT is((trade.worker_claim('w3', 120)).signal_id, NULL, 'with a 120 s lease, w1''s claim of 61 s ago still holds: nothing for w3');
SELECT is(pg_temp.state('s1'), 'PROCESSING|w1|1', 'and s1 is still w1''s');
SELECT is((trade.worker_claim('w3', 60)).signal_id, pg_temp.sid('s1'), 'with a 60 s lease the claim has expired: w3 takes s1 over');
SELECT is(pg_temp.state('s1'), 'PROCESSING|w3|2', 'claimed_by w3, attempts 2');

-- ---- giving up ----
SELECT trade.worker_finish(pg_temp.sid('s1'), 'DONE') \gset
UPDATE trade.signal SET attempts = 5 WHERE signal_id = pg_temp.sid('s2');
SELECT is((trade.worker_claim('w3')).signal_id, NULL, 'a signal claimed 5 times is not handed out again');
SELECT is(pg_temp.state('s2'), 'REJECTED|-|5', 'it is REJECTED');
SELECT is((SELECT action || '|' || reason || '|' || success FROM trade.log WHERE signal_id = pg_temp.sid('s2')),
          'REJECTED|error|false', 'with a REJECTED log row, reason error');
SELECT pg_temp.new_signal('s4', 'd1', '2024-01-03', '0 minutes') \gset
UPDATE trade.signal SET attempts = 2 WHERE signal_id = pg_temp.sid('s4');
SELECT is((trade.worker_claim('w3', 60, 2)).signal_id, NULL, 'max_attempts is the caller''s: 2 claims are enough here');
SELECT is(pg_temp.state('s4'), 'REJECTED|-|2', 'and that signal is REJECTED');

-- ---- the intent before the outcome ----
CREATE TEMP TABLE intent AS
SELECT * FROM trade.worker_insert_intent(pg_temp.sid('s3'), 'open', 'tap-coid-1', 'BUY', 10, false, 'w2');
SELECT is((SELECT status || '|' || symbol || '|' || broker || '|' || user_id || '|' || filled_qty || '|' || worker_id FROM intent),
          'NEW|TTRC|PAPER|tap_ord|0|w2', 'the intent: NEW, the deployment''s symbol and broker, the signal''s user, nothing filled');
SELECT is((SELECT sent_at FROM intent), NULL, 'not sent yet');
SELECT throws_ok($$SELECT trade.worker_insert_intent(pg_temp.sid('s3'), 'open', 'tap-coid-1', 'BUY', 10, false, 'w2')$$,
                 '23505', NULL, 'the same client order id again: 23505 (never sent twice)');
SELECT throws_ok($$SELECT trade.worker_insert_intent(pg_temp.sid('s3'), 'open', 'tap-coid-x', 'BUY', 10, false, 'w2')$$,
                 '23505', NULL, 'another client order id for the same leg of the signal: 23505');
SELECT throws_ok($$SELECT trade.worker_record_outcome('tap-no-such', 'FILLED', 'b', 1, 1, 0, 'm')$$,
                 'P0002', NULL, 'an outcome for an order that has no intent: P0002');
SELECT throws_ok($$SELECT trade.worker_record_outcome('tap-coid-1', 'DONE', 'b', 1, 1, 0, 'm')$$,
                 '22023', NULL, 'an outcome with a status that is not an order status: 22023');
SELECT is(pg_temp.sqlstate_of($$SELECT trade.worker_record_outcome('tap-coid-1', 'SENT', 'b-1', NULL, NULL, NULL, 'acknowledged')$$),
          '00000', 'SENT (acknowledged, not final)');
SELECT is((SELECT status || '|' || broker_order_id || '|' || (sent_at IS NOT NULL) || '|' || (resolved_at IS NULL)
             FROM trade."order" WHERE client_order_id = 'tap-coid-1'),
          'SENT|b-1|true|true', 'SENT: broker order id and sent_at kept, not resolved');
SELECT is((SELECT count(*) FROM trade.log WHERE order_id = 'tap-coid-1'), 0::bigint, 'SENT writes no log row');
SELECT is(ARRAY(SELECT client_order_id FROM trade.worker_open_orders('w2') WHERE client_order_id LIKE 'tap-%'), ARRAY['tap-coid-1'],
          'the open order is w2''s to reconcile');
SELECT is(ARRAY(SELECT client_order_id FROM trade.worker_open_orders('w9') WHERE client_order_id LIKE 'tap-%'), ARRAY[]::text[],
          'but not another worker''s while w2''s claim of its signal runs');

-- ---- the fill, recorded once ----
SELECT is((trade.worker_record_outcome('tap-coid-1', 'FILLED', 'b-1', 10, 50, 0.5, 'filled', 'DONE')).status, 'FILLED',
          'FILLED');
SELECT is((SELECT filled_qty || '|' || avg_fill_price || '|' || fee || '|' || (resolved_at IS NOT NULL)
             FROM trade."order" WHERE client_order_id = 'tap-coid-1'), '10|50|0.5|true', 'filled qty, price, fee, resolved');
SELECT is((SELECT string_agg(side || '|' || qty || '|' || price || '|' || fee, ',') FROM trade.fill WHERE client_order_id = 'tap-coid-1'),
          'BUY|10|50|0.5', 'one trade.fill row');
SELECT is((SELECT qty || '|' || (avg_price = 50) FROM trade.position p JOIN dep ON dep.id = p.deployment_id WHERE dep.k = 'd2'),
          '10|true', 'the position is booked: 10 @ 50');
SELECT is((SELECT string_agg(action || '|' || qty || '|' || price || '|' || success, ',') FROM trade.log WHERE order_id = 'tap-coid-1'),
          'BUY|10|50|true', 'one BUY log row (order_id = the client order id)');
SELECT is((SELECT status || '|' || (processed_at IS NOT NULL) FROM trade.signal WHERE signal_id = pg_temp.sid('s3')),
          'DONE|true', 'the signal is finished (DONE)');
SELECT is((trade.worker_record_outcome('tap-coid-1', 'FILLED', 'b-1', 10, 50, 0.5, 'filled', 'DONE')).status, 'FILLED',
          'the same outcome again (a retry after a lost answer)');
SELECT is((SELECT (SELECT count(*) FROM trade.fill WHERE client_order_id = 'tap-coid-1') || '|'
               || (SELECT count(*) FROM trade.log WHERE order_id = 'tap-coid-1') || '|'
               || (SELECT qty FROM trade.position p JOIN dep ON dep.id = p.deployment_id WHERE dep.k = 'd2')),
          '1|1|10', 'changes nothing: still one fill, one log row, position 10');
SELECT is((trade.worker_record_outcome('tap-coid-1', 'REJECTED', 'b-1', NULL, NULL, NULL, 'late reject')).status, 'FILLED',
          'a terminal order keeps its outcome (a later REJECTED is ignored)');
SELECT is(ARRAY(SELECT client_order_id FROM trade.worker_open_orders('w2') WHERE client_order_id LIKE 'tap-%'), ARRAY[]::text[],
          'a filled order is not open');

-- ---- the other terminal states, and UNKNOWN (not terminal) ----
SELECT pg_temp.new_signal('s5', 'd2', '2024-01-02', '0 minutes'), pg_temp.new_signal('s6', 'd2', '2024-01-03', '0 minutes') \gset
SELECT trade.worker_insert_intent(pg_temp.sid('s5'), 'open', 'tap-coid-2', 'SELL', 5, false, 'w2') \gset
SELECT trade.worker_insert_intent(pg_temp.sid('s5'), 'close', 'tap-coid-3', 'SELL', 5, true, 'w2') \gset
SELECT trade.worker_insert_intent(pg_temp.sid('s6'), 'open', 'tap-coid-4', 'SELL', 4, false, 'w2') \gset
SELECT is((trade.worker_record_outcome('tap-coid-2', 'REJECTED', NULL, NULL, NULL, NULL, 'insufficient margin')).status,
          'REJECTED', 'REJECTED by the broker');
SELECT is((SELECT action || '|' || reason || '|' || success || '|' || message FROM trade.log WHERE order_id = 'tap-coid-2'),
          'REJECTED|broker_rejected|false|insufficient margin', 'a REJECTED log row, reason broker_rejected, the broker''s message');
SELECT is((trade.worker_record_outcome('tap-coid-2', 'FILLED', 'b-2', 5, 49, 0, 'late fill')).status, 'REJECTED',
          'a later FILLED for the rejected order is ignored');
SELECT is((SELECT (SELECT count(*) FROM trade.fill WHERE client_order_id = 'tap-coid-2') || '|'
               || (SELECT qty FROM trade.position p JOIN dep ON dep.id = p.deployment_id WHERE dep.k = 'd2')),
          '0|10', 'no fill and the position unchanged');
SELECT is((trade.worker_record_outcome('tap-coid-3', 'CANCELLED', 'b-3', NULL, NULL, NULL, 'cancelled')).status, 'CANCELLED',
          'CANCELLED');
SELECT is((SELECT action || '|' || reason FROM trade.log WHERE order_id = 'tap-coid-3'), 'REJECTED|broker_cancelled',
          'CANCELLED: a REJECTED log row, reason broker_cancelled');
SELECT is((SELECT status || '|' || (resolved_at IS NULL) FROM trade.worker_record_outcome('tap-coid-4', 'UNKNOWN', NULL, NULL, NULL, NULL,
                                                                                      'broker does not know it')),
          'UNKNOWN|true', 'UNKNOWN: the broker does not know the order; not resolved');
SELECT is((SELECT action || '|' || reason FROM trade.log WHERE order_id = 'tap-coid-4'), 'REJECTED|unknown_order',
          'UNKNOWN: a REJECTED log row, reason unknown_order (a person looks)');
SELECT is(ARRAY(SELECT client_order_id FROM trade.worker_open_orders('w9') WHERE client_order_id LIKE 'tap-%'), ARRAY['tap-coid-4'],
          'an UNKNOWN order stays open for reconciliation (its signal is not claimed)');
SELECT is((trade.worker_record_outcome('tap-coid-4', 'FILLED', 'b-4', 4, 60, 0, 'found it')).status, 'FILLED',
          'UNKNOWN is not terminal: the fill found later is recorded');
SELECT is((SELECT qty FROM trade.position p JOIN dep ON dep.id = p.deployment_id WHERE dep.k = 'd2'), 6::numeric,
          'and booked: position 10 - 4');

-- ---- partial fills, booked part by part (cumulative reports: the new part is booked) ----
SELECT pg_temp.new_signal('s7', 'd2', '2024-01-04', '0 minutes') \gset
UPDATE trade.signal SET status = 'DONE' WHERE signal_id = pg_temp.sid('s7');  -- nobody claims it here
SELECT trade.worker_insert_intent(pg_temp.sid('s7'), 'open', 'tap-coid-5', 'BUY', 10, false, 'w2') \gset
SELECT is((trade.worker_record_outcome('tap-coid-5', 'SENT', 'b-5', 4, 100, 0.4, 'part')).status, 'SENT',
          'a partial fill: the order stays SENT');
SELECT is((trade.worker_record_outcome('tap-coid-5', 'SENT', 'b-5', 2, 100, 0.2, 'older report')).filled_qty, 4::numeric,
          'an older report (less filled) changes nothing');
SELECT is((trade.worker_record_outcome('tap-coid-5', 'SENT', 'b-5', 10, 106, 1.0, 'part')).filled_qty, 10::numeric,
          'the next report: 10 filled in all at an average of 106');
SELECT is((trade.worker_record_outcome('tap-coid-5', 'FILLED', 'b-5', 10, 106, 1.0, 'filled')).status, 'FILLED',
          'then FILLED with the same totals');
SELECT is((SELECT string_agg(qty || '@' || price::numeric(10,2) || '/' || fee, ',' ORDER BY ts, fill_id) FROM trade.fill
            WHERE client_order_id = 'tap-coid-5'),
          '4@100.00/0.4,6@110.00/0.6',
          'two trade.fill rows: each part with its own qty, price ((106*10 - 100*4) / 6) and fee');
SELECT is((SELECT string_agg(action || '|' || qty, ',' ORDER BY ts, log_id) FROM trade.log WHERE order_id = 'tap-coid-5'),
          'BUY|4,BUY|6', 'a BUY log row per part, none for the final report');
SELECT is((SELECT qty || '|' || round(avg_price, 6) FROM trade.position p JOIN dep ON dep.id = p.deployment_id WHERE dep.k = 'd2'),
          '16|' || round((6 * 50 + 4 * 100 + 6 * 110) / 16.0, 6),
          'the position moved by each part: 6 + 4 + 6 = 16 at the weighted average');

-- ---- a second session: FOR UPDATE SKIP LOCKED and the deployment lock ----
-- In a scratch database (dblink, committed data): session b claims d1's oldest signal and keeps
-- its transaction open; session c must get d2's signal at once, skipping d1's locked row and
-- d1's next signal. Skipped where dblink or a second connection is not available.
CREATE FUNCTION pg_temp.two_sessions() RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
    db text := 'quant_tap_order_' || pg_backend_pid();
    sock text := split_part(current_setting('unix_socket_directories'), ',', 1);
    base text := format('port=%s user=%s', current_setting('port'), current_user)
                 || CASE WHEN sock <> '' THEN format(' host=%s', sock) ELSE '' END;
    b_got text; c_got text; s1_after text; c_next text; problem text; ids text[];
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS dblink;
        PERFORM dblink_exec(base || ' dbname=' || current_database(), format('CREATE DATABASE %I', db));
    EXCEPTION WHEN OTHERS THEN
        RETURN NEXT skip('no second session (dblink): ' || SQLERRM, 4);
        RETURN;
    END;
    BEGIN
        PERFORM dblink_connect('tap_b', base || ' dbname=' || db);
        PERFORM dblink_connect('tap_c', base || ' dbname=' || db);
        PERFORM dblink_exec('tap_b', 'SET client_min_messages = warning');
        PERFORM dblink_exec('tap_b', 'CREATE EXTENSION quant');
        PERFORM dblink_exec('tap_b', $q$
            DO $d$
            DECLARE sid text; d1 uuid; d2 uuid; g uuid;
            BEGIN
                PERFORM quant.set_user('tap_two');
                sid := quant.create_strategy('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}')->>'strategy_id';
                d1 := (quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'schedule', 'manual', 'ticker', 'TTRC', 'market', 'US'))->>'deployment_id')::uuid;
                d2 := (quant.deploy(jsonb_build_object('strategy_id', sid, 'qty', 1, 'schedule', 'manual', 'ticker', 'TTRC', 'market', 'US'))->>'deployment_id')::uuid;
                CREATE TABLE public.tap_sig (k text PRIMARY KEY, id uuid);
                INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, created_at)
                VALUES (d1, 'tap_two', '2024-01-01', 1, 'TTRC', now() - interval '3 minutes') RETURNING signal_id INTO g;
                INSERT INTO public.tap_sig VALUES ('s1', g);
                INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, created_at)
                VALUES (d1, 'tap_two', '2024-01-02', 1, 'TTRC', now() - interval '2 minutes') RETURNING signal_id INTO g;
                INSERT INTO public.tap_sig VALUES ('s1b', g);
                INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, created_at)
                VALUES (d2, 'tap_two', '2024-01-01', 1, 'TTRC', now() - interval '1 minute') RETURNING signal_id INTO g;
                INSERT INTO public.tap_sig VALUES ('s2', g);
            END $d$ $q$);
        SELECT array_agg(t.k || '=' || t.id ORDER BY t.k) INTO ids
          FROM dblink('tap_c', 'SELECT k, id::text FROM public.tap_sig') AS t(k text, id text);
        PERFORM dblink_exec('tap_b', 'BEGIN');
        SELECT t.k INTO b_got FROM dblink('tap_b', $q$SELECT k FROM trade.worker_claim('wb') g JOIN public.tap_sig ON id = g.signal_id$q$) AS t(k text);
        PERFORM dblink_exec('tap_c', 'SET lock_timeout = ''2s''');
        SELECT t.k INTO c_got FROM dblink('tap_c', $q$SELECT k FROM trade.worker_claim('wc') g JOIN public.tap_sig ON id = g.signal_id$q$) AS t(k text);
        PERFORM dblink_exec('tap_b', 'COMMIT');
        SELECT t.s INTO s1_after FROM dblink('tap_c', $q$SELECT status || '|' || claimed_by || '|' || attempts FROM trade.signal
                                                          WHERE signal_id = (SELECT id FROM public.tap_sig WHERE k = 's1')$q$) AS t(s text);
        PERFORM * FROM dblink('tap_c', $q$SELECT trade.worker_finish((SELECT id FROM public.tap_sig WHERE k = 's2'), 'DONE')::text$q$) AS t(x text);
        SELECT coalesce(t.k, 'nothing') INTO c_next FROM dblink('tap_c', $q$SELECT (SELECT k FROM public.tap_sig WHERE id = g.signal_id) FROM trade.worker_claim('wc') g$q$) AS t(k text);
    EXCEPTION WHEN OTHERS THEN
        problem := SQLERRM;
    END;
    PERFORM dblink_disconnect(c) FROM unnest(dblink_get_connections()) c WHERE c IN ('tap_b', 'tap_c');
    PERFORM dblink_exec(base || ' dbname=' || current_database(), format('DROP DATABASE IF EXISTS %I WITH (FORCE)', db));
    IF problem IS NOT NULL THEN
        RETURN NEXT diag('the two-session test failed: ' || problem);
    END IF;
    RETURN NEXT is(b_got, 's1', 'session b claims d1''s oldest signal (its transaction stays open)');
    RETURN NEXT is(c_got, 's2', 'session c gets d2''s signal at once: b''s locked row and d1''s next signal are skipped');
    RETURN NEXT is(s1_after, 'PROCESSING|wb|1', 'after b commits, s1 is wb''s');
    RETURN NEXT is(c_next, 'nothing', 'while wb''s claim runs, c gets nothing of d1');
END $f$;
SELECT * FROM pg_temp.two_sessions();

-- ---- a deployment off paper that the live gate never opened is never traded ----
SELECT quant.set_user('tap_ord') \gset
INSERT INTO dep
SELECT 'd3', (quant.deploy(jsonb_build_object('strategy_id', s.j->>'strategy_id', 'qty', 10, 'schedule', 'manual',
                                              'ticker', 'TTRC', 'market', 'US'))->>'deployment_id')::uuid
  FROM (SELECT quant.create_strategy('{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}') AS j) s;
-- (a REAL FUTU deployment needs the Futu trade password stored: TRADE/credential_futu.sql)
COPY (SELECT repeat('5a', 32)) TO '/tmp/quant_tap_credential.key';
SET LOCAL quant.credential_key_file = '/tmp/quant_tap_credential.key';
SELECT quant.set_broker_credential('FUTU', 'real', 'default', 'tap-ord-trade-pw') IS NOT NULL AS futu_cred \gset
SELECT set_config('quant.user', '', false) \gset
-- what a role with table rights could do: paper off behind the gate's back
UPDATE trade.deployment SET broker = 'FUTU', paper = false, live_since = NULL WHERE deployment_id = (SELECT id FROM dep WHERE k = 'd3');
SELECT pg_temp.new_signal('s9', 'd3', '2024-02-01', '10 minutes') \gset
SELECT isnt((SELECT g.signal_id FROM trade.worker_claim('w_live') g), pg_temp.sid('s9'), 'the claim never hands it out');
SELECT is((SELECT status FROM trade.signal WHERE signal_id = pg_temp.sid('s9')), 'REJECTED', 'its signal is REJECTED');
SELECT is((SELECT reason FROM trade.log WHERE signal_id = pg_temp.sid('s9')), 'live_gate', 'with reason live_gate in trade.log');

SELECT * FROM finish();
ROLLBACK;
