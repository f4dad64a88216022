-- The live loop's second half (issue 4, items 2, 4, 5): order intents, fills and positions as
-- quant-worker books them, and the SQL the worker calls. See worker/README.md for the protocol.
--
-- The order intent (trade."order") is inserted with a deterministic client order id
-- (quant::client_order_id(deployment, signal, leg), UNIQUE here: the database half of the
-- duplicate guard) and committed with synchronous_commit = on BEFORE the order is sent; its
-- status then moves NEW -> SENT (acknowledged, not final) -> FILLED | REJECTED | CANCELLED, or
-- UNKNOWN (the broker does not know an order we sent: fail closed, a person looks).
-- The claim columns of trade.signal (claimed_by, claimed_at, attempts) are the worker's
-- protocol too; fills and positions are in TRADE/fill.sql and TRADE/position.sql.

CREATE TABLE trade."order" (
    order_id         uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    client_order_id  text NOT NULL UNIQUE,
    deployment_id    uuid NOT NULL REFERENCES trade.deployment (deployment_id),
    signal_id        uuid NOT NULL REFERENCES trade.signal (signal_id),
    user_id          text NOT NULL,
    leg              text NOT NULL CHECK (leg IN ('close', 'open')),
    side             text NOT NULL CHECK (side IN ('BUY', 'SELL')),
    qty              numeric NOT NULL CHECK (qty > 0 AND qty <= 1e12),
    reduce_only      boolean NOT NULL DEFAULT false,
    symbol           text NOT NULL,
    broker           text NOT NULL,
    order_type       text NOT NULL DEFAULT 'MARKET',
    status           text NOT NULL DEFAULT 'NEW' REFERENCES refdata.order_status (status),
    broker_order_id  text,
    filled_qty       numeric NOT NULL DEFAULT 0,
    avg_fill_price   numeric,
    fee              numeric NOT NULL DEFAULT 0,
    worker_id        text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at          timestamptz,
    resolved_at      timestamptz,
    reason           text,
    UNIQUE (signal_id, leg)
);
CREATE INDEX order_deployment_idx ON trade."order" (deployment_id, created_at);
CREATE INDEX order_open_idx ON trade."order" (created_at) WHERE status IN ('NEW', 'SENT', 'UNKNOWN');
COMMENT ON TABLE trade."order" IS 'Order intents of the live loop: inserted (NEW) and committed before the send, then resolved with the broker (FILLED, REJECTED, CANCELLED; SENT while open; UNKNOWN when the broker does not know it). One per (signal, leg).';
COMMENT ON COLUMN trade."order".client_order_id IS 'Deterministic idempotency key (deployment, signal, leg; 36 characters): the broker de-duplicates on it and reconciliation looks the order up by it';
COMMENT ON COLUMN trade."order".leg IS 'close: flattens the opposite side first (reduce-only); open: moves towards signal x qty';

ALTER TABLE trade."order" ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade."order" FORCE ROW LEVEL SECURITY;
CREATE POLICY order_own ON trade."order"
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
SELECT pg_catalog.pg_extension_config_dump('trade."order"', '');
-- only quant-worker writes it, through the functions below; the REST layer reads it through quant.deployment_orders

-- ---- the worker's SQL (quant-worker calls these as quant_worker; SECURITY DEFINER) ----
-- Owner, product (the data ticker) and broker symbol always come from the deployment and its
-- pinned strategy version, never from what a signal row says: a signal that disagrees with its
-- deployment is refused at the claim (REJECTED, reason invalid_signal, in the owner's log).

-- the claim's candidates in its order without a scan of every signal ever written (issue 16)
CREATE INDEX signal_claimable_idx ON trade.signal (created_at, signal_id) WHERE status IN ('PENDING', 'PROCESSING');

CREATE FUNCTION trade.worker_claim(worker text, lease_seconds double precision DEFAULT 60,
                                   max_attempts integer DEFAULT 5) RETURNS trade.signal
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lease constant interval := make_interval(secs => lease_seconds);
    cand record;
    g trade.signal;
    d record;
BEGIN
    IF worker IS NULL OR worker = '' THEN
        RAISE EXCEPTION 'trade.worker_claim: worker must not be empty' USING ERRCODE = '22004';
    END IF;
    FOR cand IN
        SELECT s.signal_id, s.deployment_id FROM trade.signal s
        WHERE s.status = 'PENDING'
           OR (s.status = 'PROCESSING' AND (s.claimed_by = worker OR s.claimed_at IS NULL OR s.claimed_at < now() - lease))
        ORDER BY s.created_at, s.signal_id
        LIMIT 200
    LOOP
        SELECT * INTO g FROM trade.signal s
        WHERE s.signal_id = cand.signal_id
          AND (s.status = 'PENDING'
               OR (s.status = 'PROCESSING' AND (s.claimed_by = worker OR s.claimed_at IS NULL OR s.claimed_at < now() - lease)))
        FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN g.signal_id IS NULL;
        -- one signal of a deployment at a time: its position is read, then changed
        IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended(cand.deployment_id::text, 4242)) THEN
            CONTINUE;
        END IF;
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM trade.signal o
            WHERE o.deployment_id = g.deployment_id AND o.signal_id <> g.signal_id AND o.status = 'PROCESSING'
              AND o.claimed_by IS DISTINCT FROM worker AND o.claimed_at >= now() - lease);
        SELECT t.user_id, t.strategy_version, v.ticker, t.paper, t.live_since INTO d
          FROM trade.deployment t JOIN bt.strategy_version v ON v.strategy_id = t.strategy_id AND v.version = t.strategy_version
         WHERE t.deployment_id = g.deployment_id;
        -- the owner must be the deployment's; what else the row claims is ignored (derived below)
        IF g.user_id IS DISTINCT FROM d.user_id THEN
            UPDATE trade.signal s SET status = 'REJECTED', processed_at = now() WHERE s.signal_id = g.signal_id;
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, success, message, reason, bar_ts)
            VALUES (g.deployment_id, g.signal_id, d.user_id, g.signal, 'REJECTED', false,
                    format('the signal (user %s, ticker %s, version %s) does not match its deployment: refused',
                           g.user_id, g.ticker, g.strategy_version), 'invalid_signal', g.bar_ts);
            CONTINUE;
        END IF;
        -- live only through the gate: a deployment off paper that the gate never opened is never traded
        IF NOT d.paper AND d.live_since IS NULL THEN
            UPDATE trade.signal s SET status = 'REJECTED', processed_at = now() WHERE s.signal_id = g.signal_id;
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, success, message, reason, bar_ts)
            VALUES (g.deployment_id, g.signal_id, d.user_id, g.signal, 'REJECTED', false,
                    'the deployment is not on paper but the live gate never opened it: refused', 'live_gate', g.bar_ts);
            CONTINUE;
        END IF;
        IF g.attempts >= max_attempts THEN
            UPDATE trade.signal s SET status = 'REJECTED', processed_at = now() WHERE s.signal_id = g.signal_id;
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, success, message, reason, bar_ts)
            VALUES (g.deployment_id, g.signal_id, g.user_id, g.signal, 'REJECTED', false,
                    format('gave up on the signal after %s claims (see the worker''s log)', g.attempts), 'error', g.bar_ts);
            CONTINUE;
        END IF;
        UPDATE trade.signal s SET status = 'PROCESSING', claimed_by = worker, claimed_at = now(), attempts = s.attempts + 1
         WHERE s.signal_id = g.signal_id
        RETURNING * INTO g;
        RETURN g;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION trade.worker_claim(text, double precision, integer) IS
  'quant-worker: claims the oldest PENDING signal (or a PROCESSING one whose claim is this worker''s own or older than the lease) with FOR UPDATE SKIP LOCKED, one signal per deployment at a time; sets PROCESSING, claimed_by, claimed_at, attempts + 1. After max_attempts claims it gives up (REJECTED, reason error). A signal whose user is not its deployment''s owner is REJECTED (reason invalid_signal, logged for the deployment''s owner) and never returned, and so is one of a deployment off paper that the live gate never opened (reason live_gate). NULL when there is nothing to do. SECURITY DEFINER (sees every user''s signals).';
REVOKE ALL ON FUNCTION trade.worker_claim(text, double precision, integer) FROM PUBLIC;

CREATE FUNCTION trade.worker_open_orders(worker text, lease_seconds double precision DEFAULT 60)
RETURNS SETOF trade."order"
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.* FROM trade."order" o JOIN trade.signal s ON s.signal_id = o.signal_id
    WHERE o.status IN ('NEW', 'SENT', 'UNKNOWN')
      AND (s.status <> 'PROCESSING' OR s.claimed_by = worker OR s.claimed_at IS NULL
           OR s.claimed_at < now() - make_interval(secs => lease_seconds))
    ORDER BY o.created_at, o.order_id;
$$;
COMMENT ON FUNCTION trade.worker_open_orders(text, double precision) IS
  'quant-worker''s reconciliation: every order not in a terminal state (NEW, SENT, UNKNOWN) that no other live worker is working on (its signal is not PROCESSING under another worker''s unexpired claim). SECURITY DEFINER (every user''s orders).';
REVOKE ALL ON FUNCTION trade.worker_open_orders(text, double precision) FROM PUBLIC;

CREATE FUNCTION trade.symbol_price(broker text, symbol text, OUT price double precision, OUT price_ts timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF broker = 'PAPER' THEN
        price := paper.price_of(symbol);  -- the paper broker's own market price (it fills at it)
        RETURN;
    END IF;
    -- other brokers, until their adapters quote: the bars a shared mapping gives the symbol (a
    -- user's own mapping never chooses how what they trade is priced)
    SELECT b.close, b.ts INTO price, price_ts
    FROM refdata.ticker_mapping m
    CROSS JOIN LATERAL md.latest_bar(m.data_ticker) b
    WHERE m.broker = symbol_price.broker AND m.broker_ticker = symbol_price.symbol AND m.user_id IS NULL
    ORDER BY b.ts DESC LIMIT 1;
END
$$;
COMMENT ON FUNCTION trade.symbol_price(text, text) IS
  'The market price of a broker symbol, for the risk checks: on PAPER the paper broker''s (paper.price_of; price_ts NULL), elsewhere the latest close of the data ticker a shared mapping maps to the symbol, with its bar time; NULL when unknown (the checks fail closed).';

CREATE FUNCTION trade.worker_context(sid uuid, for_leg text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g trade.signal;
    d trade.deployment;
    product text;  -- the pinned version's data ticker
    px record;
    since timestamptz;
BEGIN
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = sid;
    IF g.signal_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = g.deployment_id;
    SELECT v.ticker INTO product FROM bt.strategy_version v
     WHERE v.strategy_id = d.strategy_id AND v.version = d.strategy_version;
    -- the limits are priced on what the broker trades, never on the strategy's data ticker
    px := trade.symbol_price(d.broker, d.ticker);
    -- repeated rejects count since the last success, or since the deployment was last changed
    -- (re-enabling it is a change): the pause ends when a person acts
    SELECT max(l.ts) INTO since FROM trade.log l WHERE l.deployment_id = d.deployment_id AND l.success;
    since := greatest(coalesce(since, '-infinity'), d.updated_at);
    RETURN jsonb_build_object(
        'signal_id', g.signal_id, 'deployment_id', d.deployment_id, 'user_id', d.user_id, 'signal', g.signal,
        'bar_ts', g.bar_ts, 'data_ticker', product, 'status', g.status, 'claimed_by', g.claimed_by,
        'symbol', d.ticker, 'broker', d.broker, 'qty', d.qty,
        'enabled', coalesce(d.enabled AND d.stopped_at IS NULL, false),
        'halted', coalesce((SELECT h.halted FROM trade.trading_halt h), true),
        'breaker', trade.breaker_open(d),
        'risk_limits', d.risk_limits,
        'price', px.price, 'price_ts', px.price_ts, 'price_symbol', CASE WHEN px.price IS NOT NULL THEN d.ticker END,
        'trades_today', (SELECT count(*) FROM trade."order" o
                         WHERE o.deployment_id = d.deployment_id AND o.status <> 'REJECTED'
                           AND o.created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'),
        'orders_last_minute', (SELECT count(*) FROM trade."order" o
                               WHERE o.deployment_id = d.deployment_id AND o.created_at > now() - interval '1 minute'),
        'consecutive_rejects', (SELECT count(*) FROM trade.log l
                                WHERE l.deployment_id = d.deployment_id AND l.action = 'REJECTED'
                                  AND l.signal_id IS NOT NULL AND l.ts > since),
        'leg_acted', EXISTS (SELECT 1 FROM trade."order" o WHERE o.signal_id = g.signal_id AND o.leg = for_leg),
        'signal_orders', (SELECT count(*) FROM trade."order" o WHERE o.signal_id = g.signal_id),
        'open_orders', (SELECT coalesce(jsonb_agg(o.client_order_id ORDER BY o.created_at), '[]'::jsonb)
                        FROM trade."order" o
                        WHERE o.deployment_id = d.deployment_id AND o.status IN ('NEW', 'SENT', 'UNKNOWN')));
END
$$;
COMMENT ON FUNCTION trade.worker_context(uuid, text) IS
  'quant-worker: what it needs to know about a signal before an order (the database''s half of the risk facts): the signal, its deployment (enabled = not disabled and not stopped, halted = all trading halted by an administrator, breaker = why an open breaker stops entries or NULL, qty, risk_limits, broker symbol), the price of the broker symbol (trade.symbol_price: price, price_ts, and price_symbol = the symbol it is of; the strategy''s data ticker never prices an order), trades today (UTC, not rejected), orders in the last minute, REJECTED rows since the last success or change, whether the leg was already acted on, and the deployment''s open orders.';

CREATE FUNCTION trade.worker_insert_intent(sid uuid, leg text, client_order_id text, side text, qty numeric,
                                           reduce_only boolean, worker text) RETURNS trade."order"
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g trade.signal;
    d trade.deployment;
    o trade."order";
BEGIN
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = sid;
    SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = g.deployment_id;
    INSERT INTO trade."order" (client_order_id, deployment_id, signal_id, user_id, leg, side, qty, reduce_only, symbol,
                               broker, worker_id)
    VALUES (client_order_id, d.deployment_id, g.signal_id, d.user_id, leg, side, qty, reduce_only, d.ticker, d.broker,
            worker)
    RETURNING * INTO o;  -- 23505 when this client order id (or leg of the signal) exists: never twice
    RETURN o;
END
$$;
COMMENT ON FUNCTION trade.worker_insert_intent(uuid, text, text, text, numeric, boolean, text) IS
  'quant-worker: the order intent (status NEW) of one leg of a signal; the caller commits it with synchronous_commit = on before sending. 23505 when the client order id exists (never sent twice).';

CREATE FUNCTION trade.worker_log(sid uuid, action text, reason text, message text, qty numeric DEFAULT NULL,
                                 finish text DEFAULT NULL) RETURNS trade.log
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g trade.signal;
    owner text;
    l trade.log;
BEGIN
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = sid;
    SELECT t.user_id INTO owner FROM trade.deployment t WHERE t.deployment_id = g.deployment_id;
    INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, success, message, reason, bar_ts)
    VALUES (g.deployment_id, g.signal_id, owner, g.signal, action, qty, action <> 'REJECTED', message, reason, g.bar_ts)
    RETURNING * INTO l;
    IF finish IS NOT NULL THEN
        UPDATE trade.signal s SET status = finish, processed_at = now() WHERE s.signal_id = sid;
    END IF;
    RETURN l;
END
$$;
COMMENT ON FUNCTION trade.worker_log(uuid, text, text, text, numeric, text) IS
  'quant-worker: a trade.log row about a signal (HOLD, or REJECTED with a reason code such as kill_switch, max_position, cash, duplicate), and optionally the signal''s final status (DONE or REJECTED).';

CREATE FUNCTION trade.worker_finish(sid uuid, finish text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE trade.signal s SET status = finish, processed_at = now() WHERE s.signal_id = sid;
$$;
COMMENT ON FUNCTION trade.worker_finish(uuid, text) IS 'quant-worker: a signal''s final status (DONE or REJECTED), or PENDING to hand it back.';

CREATE FUNCTION trade.worker_release(sid uuid) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH u AS (UPDATE trade.signal s SET status = 'PENDING' WHERE s.signal_id = sid AND s.status = 'PROCESSING' RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u);
$$;
COMMENT ON FUNCTION trade.worker_release(uuid) IS
  'quant-worker, after reconciling: hands a PROCESSING signal back (PENDING) so that it is finished now rather than after the lease; false when it was not PROCESSING.';

CREATE FUNCTION trade.worker_deployment_open_orders(deployment_id uuid) RETURNS SETOF trade."order"
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.* FROM trade."order" o
    WHERE o.deployment_id = worker_deployment_open_orders.deployment_id AND o.status IN ('NEW', 'SENT')
    ORDER BY o.created_at, o.order_id;
$$;
COMMENT ON FUNCTION trade.worker_deployment_open_orders(uuid) IS
  'quant-worker: the orders of one deployment left NEW or SENT (a crash, a lost connection), resolved before its next signal.';

CREATE FUNCTION trade.worker_record_outcome(coid text, status text, broker_order_id text, filled_qty numeric,
                                            fill_price numeric, fee numeric, message text, finish text DEFAULT NULL)
RETURNS trade."order"
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o trade."order";
    g trade.signal;
    p trade.position;
    pa record;
    delta numeric;
    outcome refdata.order_status;
    was_qty numeric;     -- what was booked of this order before this answer
    was_price numeric;
    was_fee numeric;
    part_qty numeric;    -- the part this answer adds (cumulative quantities: the broker's cumExecQty)
    part_price numeric;
    part_fee numeric;
BEGIN
    SELECT * INTO o FROM trade."order" x WHERE x.client_order_id = coid FOR UPDATE;
    IF o.order_id IS NULL THEN
        RAISE EXCEPTION 'trade.worker_record_outcome: no order with client id %', coid USING ERRCODE = 'P0002';
    END IF;
    -- an outcome is any order status but the intent's own (refdata.order_status, the core's list)
    SELECT * INTO outcome FROM refdata.order_status x WHERE x.status = worker_record_outcome.status AND x.status <> 'NEW';
    IF outcome.status IS NULL THEN
        RAISE EXCEPTION 'trade.worker_record_outcome: bad status %', status USING ERRCODE = '22023';
    END IF;
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = o.signal_id;
    -- a terminal outcome is recorded once
    IF NOT (SELECT x.terminal FROM refdata.order_status x WHERE x.status = o.status) THEN
        was_qty := coalesce(o.filled_qty, 0);
        was_price := o.avg_fill_price;
        was_fee := coalesce(o.fee, 0);
        -- filled_qty, fill_price and fee are cumulative (all the order's fills so far); a report
        -- that says less than was booked (an older answer) books nothing and changes nothing
        part_qty := greatest(coalesce(filled_qty, 0) - was_qty, 0);
        UPDATE trade."order" x
           SET status = worker_record_outcome.status,
               broker_order_id = coalesce(worker_record_outcome.broker_order_id, x.broker_order_id),
               filled_qty = was_qty + part_qty,
               avg_fill_price = CASE WHEN part_qty > 0 THEN worker_record_outcome.fill_price ELSE x.avg_fill_price END,
               fee = CASE WHEN part_qty > 0 THEN greatest(coalesce(worker_record_outcome.fee, 0), was_fee) ELSE was_fee END,
               sent_at = coalesce(x.sent_at, clock_timestamp()),
               resolved_at = CASE WHEN outcome.terminal THEN clock_timestamp() END,
               reason = message
         WHERE x.order_id = o.order_id
        RETURNING * INTO o;
        IF part_qty > 0 THEN
            -- this part's own price and fee: what the cumulative average and fee say beyond the
            -- parts booked before
            part_price := CASE WHEN was_qty > 0 AND was_price IS NOT NULL
                               THEN (fill_price * (was_qty + part_qty) - was_price * was_qty) / part_qty
                               ELSE fill_price END;
            IF part_price IS NULL OR part_price <= 0 THEN
                part_price := fill_price;  -- a rounded average can say less than the parts: keep the average
            END IF;
            part_fee := greatest(coalesce(fee, 0) - was_fee, 0);
            INSERT INTO trade.fill (order_id, deployment_id, user_id, client_order_id, side, qty, price, fee)
            VALUES (o.order_id, o.deployment_id, o.user_id, o.client_order_id, o.side, part_qty, part_price, part_fee);
            delta := CASE WHEN o.side = 'BUY' THEN part_qty ELSE -part_qty END;
            SELECT * INTO p FROM trade.position x WHERE x.deployment_id = o.deployment_id FOR UPDATE;
            pa := quant.position_after(p.qty, p.avg_price, delta, part_price);
            IF p.deployment_id IS NULL THEN
                INSERT INTO trade.position (deployment_id, user_id, symbol, qty, avg_price, realized_pnl)
                VALUES (o.deployment_id, o.user_id, o.symbol, pa.new_qty, pa.new_avg_price, pa.realized);
            ELSE
                UPDATE trade.position x
                   SET qty = pa.new_qty, avg_price = pa.new_avg_price, realized_pnl = x.realized_pnl + pa.realized,
                       updated_at = clock_timestamp()
                 WHERE x.deployment_id = o.deployment_id;
            END IF;
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, price, order_id,
                                   success, message, bar_ts)
            VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, o.side, part_qty, part_price, o.client_order_id,
                    true, CASE WHEN status = 'FILLED' AND was_qty = 0 THEN message
                               ELSE message || ' (part ' || part_qty || ' @ ' || round(part_price, 8) || ')' END,
                    g.bar_ts);
        END IF;
        IF status IN ('REJECTED', 'CANCELLED') THEN
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, order_id, success,
                                   message, reason, bar_ts)
            VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, 'REJECTED', o.qty - o.filled_qty, o.client_order_id,
                    false, message, CASE status WHEN 'REJECTED' THEN 'broker_rejected' ELSE 'broker_cancelled' END, g.bar_ts);
        ELSIF status = 'UNKNOWN' THEN
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, order_id, success,
                                   message, reason, bar_ts)
            VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, 'REJECTED', o.qty, o.client_order_id, false,
                    message, 'unknown_order', g.bar_ts);
        END IF;
    END IF;
    IF finish IS NOT NULL THEN
        UPDATE trade.signal s SET status = finish, processed_at = now() WHERE s.signal_id = o.signal_id;
    END IF;
    RETURN o;
END
$$;
COMMENT ON FUNCTION trade.worker_record_outcome(text, text, text, numeric, numeric, numeric, text, text) IS
  'quant-worker: the broker''s answer for an order, in one transaction: the order''s status (SENT, FILLED, REJECTED, CANCELLED, UNKNOWN) with its cumulative filled qty, average price and fee; whatever was filled beyond what was booked before (a partial fill, at any status) is one more trade.fill with its own price and fee, moves trade.position and writes a BUY/SELL trade.log row (order_id = the client order id); a rejection or cancel writes a REJECTED row (reason broker_rejected / broker_cancelled) for the unfilled rest; optionally the signal''s final status. A terminal outcome is recorded once (a second call changes nothing); an answer that reports less than was booked books nothing.';

-- ---- reading it (the current user's) ----
CREATE FUNCTION quant.deployment_orders(id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.deployment_orders', false);
BEGIN
    RETURN QUERY
        SELECT jsonb_build_object('order_id', o.order_id, 'client_order_id', o.client_order_id, 'signal_id', o.signal_id,
                                  'leg', o.leg, 'side', o.side, 'qty', o.qty, 'symbol', o.symbol, 'status', o.status,
                                  'filled_qty', o.filled_qty, 'avg_fill_price', o.avg_fill_price, 'fee', o.fee,
                                  'created_at', o.created_at, 'sent_at', o.sent_at, 'resolved_at', o.resolved_at,
                                  'reason', o.reason)
        FROM trade."order" o WHERE o.deployment_id = d.deployment_id AND o.user_id = d.user_id
        ORDER BY o.created_at DESC, o.order_id DESC;
END
$$;
COMMENT ON FUNCTION quant.deployment_orders(uuid) IS
  'The orders quant-worker sent for a deployment of the current user, newest first: client_order_id, leg, side, qty, status, fill price and fee, times. P0002 when not yours.';


-- ---- make run: a sample deployment so a new user sees the loop ----
CREATE FUNCTION quant.install_sample_deployment() RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    prev_user text := CASE WHEN quant.authenticated() THEN quant.current_user_id() END;
    cfg constant jsonb := '{"name": "demo RSI reversion", "ticker": "TTRC", "trading_period": 252,
        "substrategies": [{"indicator": "get_rsi", "signal_func": "reversion_bounded_signal", "window": 14, "signal": 30}]}';
    sid uuid;
    did uuid;
    r jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM md.bar b WHERE b.ticker = 'TTRC') THEN
        RETURN jsonb_build_object('outcome', 'SKIPPED', 'message', 'no TTRC bars loaded');
    END IF;
    PERFORM quant.set_user('demo', true);
    sid := (quant.create_strategy(cfg)->>'strategy_id')::uuid;  -- the same parameters return the existing one
    SELECT d.deployment_id INTO did FROM trade.deployment d
    WHERE d.user_id = 'demo' AND d.strategy_id = sid AND d.enabled AND d.stopped_at IS NULL
    ORDER BY d.created_at LIMIT 1;
    IF did IS NULL THEN
        -- paper, and the sample bars end in 2006: the stale-bar check off (allowed for paper only)
        did := (quant.deploy(jsonb_build_object('strategy_id', sid, 'broker', 'PAPER', 'qty', 10,
                                                'schedule', 'daily_close',
                                                'risk_limits', '{"max_bar_age_hours": null}'::jsonb))->>'deployment_id')::uuid;
    END IF;
    r := quant.run_deployment(did);
    PERFORM trade.set_transaction_user(prev_user);
    RETURN jsonb_build_object('user', 'demo', 'strategy_id', sid, 'deployment_id', did, 'run', r);
END
$$;
COMMENT ON FUNCTION quant.install_sample_deployment() IS
  'make run: for user demo, a sample RSI strategy on TTRC deployed on PAPER (daily_close, qty 10, max_bar_age_hours null) and one quant.run_deployment, so a signal exists for quant-worker. Idempotent (an existing deployment is reused; the duplicate guard writes no second signal).';
REVOKE ALL ON FUNCTION quant.install_sample_deployment() FROM PUBLIC;
