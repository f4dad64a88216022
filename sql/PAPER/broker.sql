-- The embedded paper broker (issue 4, item 3): a simulated broker whose account lives in the
-- database, so paper trading survives restarts and behaves like a broker.
--
-- One account per deployment (account = the deployment id as text): a deployment's position at
-- the broker is exactly its own, so the worker's plan (signal x qty) and reconciliation never
-- see another deployment's shares. Starting cash: the argument of paper.open_account, else the
-- setting quant.paper_starting_cash, else 100000. Costs per account: slippage_bps (market buys
-- fill above the close, sells below) and fee_bps (of the notional, paid in cash).
--
-- paper.place_order fills MARKET orders at once at the latest md.bar close of the symbol (the
-- symbol is the data ticker, or a PAPER broker_ticker of refdata.ticker_mapping), allows
-- shorts, and rejects (status REJECTED, with a reason: the order still exists at the broker)
-- a buy whose cost plus fee passes the cash, an unknown symbol or a missing price, and any order
-- type but MARKET. The client order id is the idempotency key: placing it twice returns the
-- first order, unchanged (like Bybit's orderLinkId). The account row is locked per order, so
-- concurrent orders of one account serialise.
--
-- This is the broker's side: the worker reaches it only through its PaperAdapter (its own
-- connection), like a gateway. Not granted to quant_app.

-- The schema paper is created in schemas.sql.

-- Signed position arithmetic (the core's quant::position_after) shared by the broker and the
-- worker's books (trade.position):
-- the position after a fill of delta (signed) at price, its average entry price and the
-- realised P&L of the part that closed. Flipping through 0 opens the rest at price.
CREATE FUNCTION quant.position_after(qty numeric, avg_price numeric, delta numeric, price numeric,
                                     OUT new_qty numeric, OUT new_avg_price numeric, OUT realized numeric)
AS 'MODULE_PATHNAME', 'quant_position_after_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.position_after(numeric, numeric, numeric, numeric) IS
  'A position (signed qty, average entry price) after a fill of delta (signed) at price: new qty, new average price (NULL when flat; the fill price for the part beyond 0 when it flips) and the realised P&L of the closed part.';

CREATE TABLE paper.account (
    account        text PRIMARY KEY,
    user_id        text,
    cash           numeric NOT NULL,
    starting_cash  numeric NOT NULL CHECK (starting_cash >= 0),
    slippage_bps   numeric NOT NULL DEFAULT 1 CHECK (slippage_bps >= 0 AND slippage_bps < 10000),
    fee_bps        numeric NOT NULL DEFAULT 1 CHECK (fee_bps >= 0 AND fee_bps < 10000),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE paper.account IS 'A paper broker account (one per deployment: account = deployment_id): cash and the simulated costs';
COMMENT ON COLUMN paper.account.slippage_bps IS 'Market orders fill this many basis points worse than the latest close (buys above, sells below)';
COMMENT ON COLUMN paper.account.fee_bps IS 'Fee in basis points of the fill notional, paid from cash';

CREATE TABLE paper."order" (
    order_id         uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    account          text NOT NULL REFERENCES paper.account (account),
    client_order_id  text NOT NULL UNIQUE,
    symbol           text NOT NULL,
    side             text NOT NULL CHECK (side IN ('BUY', 'SELL')),
    qty              numeric NOT NULL,
    order_type       text NOT NULL,
    limit_price      numeric,
    status           text NOT NULL CHECK (status IN ('FILLED', 'REJECTED')),
    filled_qty       numeric NOT NULL DEFAULT 0,
    fill_price       numeric,
    fee              numeric NOT NULL DEFAULT 0,
    reason           text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX paper_order_account_idx ON paper."order" (account, created_at);
COMMENT ON TABLE paper."order" IS 'Orders at the paper broker: one per client_order_id (placing it again returns this one); MARKET orders are FILLED or REJECTED at once';

CREATE TABLE paper.fill (
    fill_id    uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    order_id   uuid NOT NULL UNIQUE REFERENCES paper."order" (order_id),
    account    text NOT NULL REFERENCES paper.account (account),
    symbol     text NOT NULL,
    side       text NOT NULL CHECK (side IN ('BUY', 'SELL')),
    qty        numeric NOT NULL CHECK (qty > 0),
    price      numeric NOT NULL CHECK (price > 0),
    fee        numeric NOT NULL,
    ts         timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE paper.fill IS 'Fills at the paper broker (one per filled market order)';

CREATE TABLE paper.position (
    account       text NOT NULL REFERENCES paper.account (account),
    symbol        text NOT NULL,
    qty           numeric NOT NULL DEFAULT 0,
    avg_price     numeric,
    realized_pnl  numeric NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (account, symbol)
);
COMMENT ON TABLE paper.position IS 'Positions at the paper broker: signed qty (negative = short), average entry price, realised P&L';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['account', 'order', 'fill', 'position'] LOOP
        PERFORM pg_catalog.pg_extension_config_dump(format('paper.%I', t)::regclass, '');
    END LOOP;
END
$$;

-- ---- the broker's API ----
CREATE FUNCTION paper.open_account(account text, user_id text DEFAULT NULL, starting_cash numeric DEFAULT NULL,
                                   slippage_bps numeric DEFAULT NULL, fee_bps numeric DEFAULT NULL)
RETURNS paper.account
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a paper.account;
    cash0 numeric := coalesce(starting_cash,
                              nullif(pg_catalog.current_setting('quant.paper_starting_cash', true), '')::numeric,
                              100000);
BEGIN
    IF account IS NULL OR account = '' THEN
        RAISE EXCEPTION 'paper.open_account: account must not be empty' USING ERRCODE = '22004', COLUMN = 'account';
    END IF;
    INSERT INTO paper.account (account, user_id, cash, starting_cash, slippage_bps, fee_bps)
    VALUES (account, user_id, cash0, cash0, coalesce(slippage_bps, 1), coalesce(fee_bps, 1))
    ON CONFLICT DO NOTHING;
    SELECT * INTO a FROM paper.account x WHERE x.account = open_account.account;
    RETURN a;
END
$$;
COMMENT ON FUNCTION paper.open_account(text, text, numeric, numeric, numeric) IS
  'Opens a paper account (idempotent: an existing one is returned unchanged). Starting cash: the argument, else the setting quant.paper_starting_cash, else 100000; slippage_bps and fee_bps default 1.';

CREATE FUNCTION paper.price_of(symbol text) RETURNS double precision
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    px double precision;
BEGIN
    -- the latest bar of the symbol as a data ticker, else of the data ticker a shared PAPER mapping
    -- gives it (md.latest_bar: one key look-up; PL/pgSQL so that the plans are cached, 5 calls a signal)
    SELECT x.close INTO px FROM md.latest_bar(symbol) x;
    IF px IS NULL THEN
        SELECT x.close INTO px FROM refdata.ticker_mapping m CROSS JOIN LATERAL md.latest_bar(m.data_ticker) x
         WHERE m.broker = 'PAPER' AND m.broker_ticker = symbol AND m.user_id IS NULL
         ORDER BY x.ts DESC LIMIT 1;
    END IF;
    RETURN px;
END
$$;
COMMENT ON FUNCTION paper.price_of(text) IS
  'The paper broker''s market price of a symbol: the latest md.bar close of the symbol as a data ticker, else of the data ticker a shared PAPER ticker mapping gives; NULL when unknown.';

CREATE FUNCTION paper.place_order(account text, client_order_id text, symbol text, side text, qty numeric,
                                  order_type text DEFAULT 'MARKET', limit_price numeric DEFAULT NULL)
RETURNS paper."order"
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a paper.account;
    o paper."order";
    px double precision;
    fill_px numeric;
    fee numeric;
    delta numeric;
    p paper.position;
    pa record;
    why text;
BEGIN
    IF client_order_id IS NULL OR client_order_id = '' THEN
        RAISE EXCEPTION 'paper.place_order: client_order_id must not be empty' USING ERRCODE = '22004';
    END IF;
    SELECT * INTO a FROM paper.account x WHERE x.account = place_order.account FOR UPDATE;
    IF a.account IS NULL THEN
        RAISE EXCEPTION 'paper.place_order: account % does not exist', account
            USING ERRCODE = 'P0002', HINT = 'paper.open_account(account) opens it';
    END IF;
    -- the idempotency key: the first order with this client id, whatever the arguments now
    SELECT * INTO o FROM paper."order" x WHERE x.client_order_id = place_order.client_order_id;
    IF o.order_id IS NOT NULL THEN
        RETURN o;
    END IF;
    IF side IS NULL OR side NOT IN ('BUY', 'SELL') THEN
        why := format('side must be BUY or SELL, got %s', coalesce(side, 'NULL'));
    ELSIF qty IS NULL OR NOT qty > 0 THEN
        why := format('qty must be positive, got %s', coalesce(qty::text, 'NULL'));
    ELSIF coalesce(order_type, '') <> 'MARKET' THEN
        why := format('order type %s is not supported (MARKET only)', coalesce(order_type, 'NULL'));
    ELSE
        px := paper.price_of(symbol);
        IF px IS NULL OR NOT px > 0 OR px = 'NaN'::double precision OR px = 'Infinity'::double precision THEN
            why := format('no market price for symbol %s', symbol);
        END IF;
    END IF;
    IF why IS NULL THEN
        fill_px := round(px::numeric * (1 + CASE WHEN side = 'BUY' THEN 1 ELSE -1 END * a.slippage_bps / 10000), 8);
        fee := round(fill_px * qty * a.fee_bps / 10000, 8);
        IF side = 'BUY' AND fill_px * qty + fee > a.cash THEN
            why := format('insufficient cash: %s needed, %s available', round(fill_px * qty + fee, 2), round(a.cash, 2));
        END IF;
    END IF;
    IF why IS NOT NULL THEN
        INSERT INTO paper."order" (account, client_order_id, symbol, side, qty, order_type, limit_price, status, reason)
        VALUES (account, client_order_id, coalesce(symbol, ''), CASE WHEN side IN ('BUY', 'SELL') THEN side ELSE 'BUY' END,
                coalesce(qty, 0), coalesce(order_type, ''), limit_price, 'REJECTED', why)
        RETURNING * INTO o;
        RETURN o;
    END IF;
    delta := CASE WHEN side = 'BUY' THEN qty ELSE -qty END;
    INSERT INTO paper."order" (account, client_order_id, symbol, side, qty, order_type, limit_price, status,
                               filled_qty, fill_price, fee)
    VALUES (account, client_order_id, symbol, side, qty, order_type, limit_price, 'FILLED', qty, fill_px, fee)
    RETURNING * INTO o;
    INSERT INTO paper.fill (order_id, account, symbol, side, qty, price, fee)
    VALUES (o.order_id, account, symbol, side, qty, fill_px, fee);
    UPDATE paper.account x SET cash = x.cash - delta * fill_px - fee, updated_at = clock_timestamp()
     WHERE x.account = place_order.account;
    SELECT * INTO p FROM paper.position x WHERE x.account = place_order.account AND x.symbol = place_order.symbol FOR UPDATE;
    pa := quant.position_after(p.qty, p.avg_price, delta, fill_px);
    INSERT INTO paper.position AS x (account, symbol, qty, avg_price, realized_pnl)
    VALUES (account, symbol, pa.new_qty, pa.new_avg_price, pa.realized)
    ON CONFLICT ON CONSTRAINT position_pkey DO UPDATE
        SET qty = EXCLUDED.qty, avg_price = EXCLUDED.avg_price, realized_pnl = x.realized_pnl + EXCLUDED.realized_pnl,
            updated_at = clock_timestamp();
    RETURN o;
END
$$;
COMMENT ON FUNCTION paper.place_order(text, text, text, text, numeric, text, numeric) IS
  'Places an order at the paper broker: MARKET orders fill at once at the latest close (paper.price_of) moved by the account''s slippage_bps, paying fee_bps; shorts allowed; a buy beyond the cash, a missing price or a non-MARKET type is a REJECTED order with a reason. The client order id is the idempotency key: placing it again returns the first order unchanged.';

CREATE FUNCTION paper.get_order(client_order_id text) RETURNS paper."order"
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM paper."order" x WHERE x.client_order_id = get_order.client_order_id;
$$;
COMMENT ON FUNCTION paper.get_order(text) IS 'The paper order with this client order id (all columns NULL when there is none): what reconciliation asks the broker.';

CREATE FUNCTION paper.get_orders(account text) RETURNS SETOF paper."order"
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM paper."order" x WHERE x.account = get_orders.account ORDER BY x.created_at, x.order_id;
$$;
COMMENT ON FUNCTION paper.get_orders(text) IS 'The orders of a paper account, oldest first.';

CREATE FUNCTION paper.get_position(account text, symbol text) RETURNS paper.position
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM paper.position x WHERE x.account = get_position.account AND x.symbol = get_position.symbol;
$$;
COMMENT ON FUNCTION paper.get_position(text, text) IS 'The position of a paper account in a symbol (all columns NULL when it never traded it: flat).';

-- get_positions and get_account in PL/pgSQL: a SQL function with SET is planned again on every
-- call (the worker reads both for every signal)
CREATE FUNCTION paper.get_positions(account text) RETURNS SETOF paper.position
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM paper.position x WHERE x.account = get_positions.account ORDER BY x.symbol;
END
$$;
COMMENT ON FUNCTION paper.get_positions(text) IS 'Every position row of a paper account (flat ones have qty 0): the complete report, so a symbol missing here is flat.';

CREATE FUNCTION paper.get_account(account text) RETURNS paper.account
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a paper.account;
BEGIN
    SELECT * INTO a FROM paper.account x WHERE x.account = get_account.account;
    RETURN a;
END
$$;
COMMENT ON FUNCTION paper.get_account(text) IS 'A paper account: cash, starting cash, slippage_bps, fee_bps (all columns NULL when it does not exist).';

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA paper FROM PUBLIC;
