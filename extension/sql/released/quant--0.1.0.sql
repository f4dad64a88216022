-- quant 0.1.0: generated from ../sql by extension/Makefile; edit the sources there.
\echo Use "CREATE EXTENSION quant" to load this file. \quit

-- ---- ../sql/schemas.sql
-- The schemas of quant. The extension owns them; users work through the quant.* functions.
CREATE SCHEMA quant;
CREATE SCHEMA md;
CREATE SCHEMA refdata;
COMMENT ON SCHEMA quant IS 'quant: the public SQL API (indicators, backtests, and later the Trade API)';
COMMENT ON SCHEMA md IS 'quant: market data (bars)';
COMMENT ON SCHEMA refdata IS 'quant: reference data (indicator and signal catalog, ticker mappings)';
GRANT USAGE ON SCHEMA quant, md, refdata TO PUBLIC;

-- ---- ../sql/MD/bar.sql
-- Market data: daily (or any interval) OHLCV bars per ticker. Loading is plain COPY from CSV
-- with these column names, or quant.load_bars_csv(ticker, path).
CREATE TABLE md.bar (
    ticker  text             NOT NULL CHECK (ticker <> ''),
    ts      timestamptz      NOT NULL,
    open    double precision,
    high    double precision,
    low     double precision,
    close   double precision NOT NULL,
    volume  double precision,
    PRIMARY KEY (ticker, ts)
);
COMMENT ON TABLE md.bar IS 'OHLCV bars, one row per ticker and bar time (UTC); close is the traded price';
COMMENT ON COLUMN md.bar.ts IS 'bar time; daily bars are stamped at 00:00 UTC of their date';
GRANT SELECT ON md.bar TO PUBLIC;
-- pg_dump keeps the bars (an extension's tables are otherwise dumped without data).
SELECT pg_catalog.pg_extension_config_dump('md.bar', '');

CREATE FUNCTION quant.load_bars_csv(ticker text, path text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    loaded bigint;
BEGIN
    IF ticker IS NULL OR btrim(ticker) = '' THEN
        RAISE EXCEPTION 'quant.load_bars_csv: ticker must not be NULL or empty'
            USING ERRCODE = '22004', COLUMN = 'ticker';
    END IF;
    IF path IS NULL THEN
        RAISE EXCEPTION 'quant.load_bars_csv: path must not be NULL'
            USING ERRCODE = '22004', COLUMN = 'path';
    END IF;
    CREATE TEMP TABLE quant_bar_load (date text, open float8, high float8, low float8, close float8, volume float8)
        ON COMMIT DROP;
    EXECUTE format('COPY pg_temp.quant_bar_load FROM %L WITH (FORMAT csv, HEADER true)', path);
    INSERT INTO md.bar AS b (ticker, ts, open, high, low, close, volume)
    SELECT load_bars_csv.ticker,
           CASE WHEN l.date ~ '(Z|[+-]\d\d(:?\d\d)?)$' THEN l.date::timestamptz
                ELSE l.date::timestamp AT TIME ZONE 'UTC' END,
           l.open, l.high, l.low, l.close, l.volume
      FROM pg_temp.quant_bar_load l
    ON CONFLICT ON CONSTRAINT bar_pkey DO UPDATE
       SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
           close = EXCLUDED.close, volume = EXCLUDED.volume;
    GET DIAGNOSTICS loaded = ROW_COUNT;
    DROP TABLE pg_temp.quant_bar_load;
    RETURN loaded;
END
$fn$;
COMMENT ON FUNCTION quant.load_bars_csv(text, text) IS
  'Loads a server-side CSV (header; columns date,open,high,low,close,volume; dates without a zone are UTC) into md.bar for ticker; existing bars are updated. Returns the rows loaded. Reads a server file, so it is not granted to PUBLIC.';
REVOKE ALL ON FUNCTION quant.load_bars_csv(text, text) FROM PUBLIC;

-- A version per ticker, bumped in the same transaction as any change to its bars: the key of the
-- extension's per-backend bar cache (extension/src/bars.c).
CREATE TABLE md.bar_version (
    ticker     text        PRIMARY KEY,
    version    bigint      NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE md.bar_version IS
  'Per ticker, a counter bumped by every INSERT, UPDATE, DELETE or TRUNCATE of its bars (the bar cache key)';
GRANT SELECT ON md.bar_version TO PUBLIC;

CREATE FUNCTION md.bump_bar_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE md.bar_version SET version = version + 1, changed_at = now();
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO md.bar_version AS v (ticker) SELECT DISTINCT ticker FROM new_bars
        ON CONFLICT (ticker) DO UPDATE SET version = v.version + 1, changed_at = now();
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO md.bar_version AS v (ticker)
        SELECT ticker FROM new_bars UNION SELECT ticker FROM old_bars
        ON CONFLICT (ticker) DO UPDATE SET version = v.version + 1, changed_at = now();
    ELSE
        INSERT INTO md.bar_version AS v (ticker) SELECT DISTINCT ticker FROM old_bars
        ON CONFLICT (ticker) DO UPDATE SET version = v.version + 1, changed_at = now();
    END IF;
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION md.bump_bar_version() IS 'Trigger: bumps md.bar_version for the tickers a statement on md.bar touched.';
REVOKE ALL ON FUNCTION md.bump_bar_version() FROM PUBLIC;

CREATE TRIGGER bar_version_insert AFTER INSERT ON md.bar
    REFERENCING NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_update AFTER UPDATE ON md.bar
    REFERENCING OLD TABLE AS old_bars NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_delete AFTER DELETE ON md.bar
    REFERENCING OLD TABLE AS old_bars FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();
CREATE TRIGGER bar_version_truncate AFTER TRUNCATE ON md.bar
    FOR EACH STATEMENT EXECUTE FUNCTION md.bump_bar_version();

-- ---- ../sql/MD/indicators.sql
-- Indicators over md.bar and over arrays. Names follow the Strategy JSON (get_sma, ...); the
-- list with floors and default ranges is refdata.indicator.
CREATE FUNCTION quant.indicator_series(
    ticker text, indicator text, "window" integer, data_column text DEFAULT 'v',
    from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL)
RETURNS TABLE (ts timestamptz, value double precision)
AS 'MODULE_PATHNAME', 'quant_indicator_series'
LANGUAGE C STABLE PARALLEL SAFE ROWS 2500;
COMMENT ON FUNCTION quant.indicator_series(text, text, integer, text, timestamptz, timestamptz) IS
  'One row per bar of ticker in [from_ts, to_ts] (NULL = open): the indicator (a name of refdata.indicator) at window over data_column (v = close, open, high, low, close, volume); NULL before it is defined.';

CREATE FUNCTION quant.sma(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_sma_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.sma(double precision[], integer) IS
  'Simple moving average of x over window; NULL where undefined (the first window-1).';

CREATE FUNCTION quant.ema(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_ema_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.ema(double precision[], integer) IS
  'Exponential moving average, alpha = 2/(window+1), seeded with the first value.';

CREATE FUNCTION quant.rsi(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_rsi_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.rsi(double precision[], integer) IS
  'Cutler''s RSI (simple means of gains and losses over window deltas), 0..100; NULL for the first window values.';

CREATE FUNCTION quant.rsi_wilder(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_rsi_wilder_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.rsi_wilder(double precision[], integer) IS
  'Wilder''s RSI (smoothed means), 0..100; NULL for the first window values.';

CREATE FUNCTION quant.bollinger(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_bollinger_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.bollinger(double precision[], integer) IS
  'Bollinger z-score: (x - SMA) / sample standard deviation over window; NULL where undefined.';

CREATE FUNCTION quant.sma_distance(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_sma_distance_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.sma_distance(double precision[], integer) IS 'x / SMA(window) - 1.';

CREATE FUNCTION quant.ema_distance(x double precision[], "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_ema_distance_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.ema_distance(double precision[], integer) IS 'x / EMA(window) - 1.';

CREATE FUNCTION quant.stochastic(high double precision[], low double precision[], close double precision[],
                                 "window" integer) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'quant_stochastic_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.stochastic(double precision[], double precision[], double precision[], integer) IS
  'Stochastic %D = SMA_window(%K), %K = 100*(close-LL)/(HH-LL) over window; NULL for the first 2*window-2.';

-- ---- ../sql/BT/backtest.sql
-- Backtests: a Strategy JSON (seed 1.1) over the bars of its ticker in md.bar.
CREATE FUNCTION quant.backtest(config jsonb, fee_bps double precision DEFAULT 5.0,
                               from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_backtest'
LANGUAGE C STABLE PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION quant.backtest(jsonb, double precision, timestamptz, timestamptz) IS
  'BacktestResults (seed 1.3) of a Strategy JSON over the bars of config->>''ticker'' in [from_ts, to_ts]: run_at, data_range, ticker_backtested, fee_bps, metrics, buy_hold_metrics (NaN as null), bars, last_position, position_changes (units of position traded), warnings.';

CREATE FUNCTION quant.backtest_series(config jsonb, fee_bps double precision DEFAULT 5.0,
                                      from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL)
RETURNS TABLE (ts timestamptz, price double precision, "position" double precision, pnl double precision,
               cumulative double precision, drawdown double precision,
               buy_hold_cumulative double precision, buy_hold_drawdown double precision,
               indicator_values double precision[], substrategy_positions double precision[])
AS 'MODULE_PATHNAME', 'quant_backtest_series'
LANGUAGE C STABLE PARALLEL SAFE COST 1000 ROWS 2500;
COMMENT ON FUNCTION quant.backtest_series(jsonb, double precision, timestamptz, timestamptz) IS
  'The per-bar columns behind quant.backtest: price, held position, pnl, cumulative pnl, drawdown, buy and hold, and per substrategy (array element i = substrategies[i]) its indicator value and position. NULL where undefined.';

CREATE FUNCTION quant.evaluate_config(config jsonb, to_ts timestamptz DEFAULT NULL) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_evaluate_config'
LANGUAGE C STABLE PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION quant.evaluate_config(jsonb, timestamptz) IS
  'The live signal of a Strategy JSON on the latest bar of its ticker (up to to_ts): {ticker, bar_ts, signal (-1, 0, 1; null while the indicators are undefined), conjunction, substrategies: [{id, indicator, signal_func, window, value, position}]}. The same code as quant.backtest: its last_position over the same bars equals signal.';

-- ---- ../sql/BT/optimize.sql
-- Grid search and walk-forward: exhaustive, in the engine's own threads (they never touch
-- Postgres; the calling backend reports progress and checks for cancellation between chunks).
CREATE FUNCTION quant.optimize(config jsonb, grid jsonb, fee_bps double precision DEFAULT 5.0,
                               from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                               objective text DEFAULT 'sharpe_ratio', top_n integer DEFAULT 10,
                               include_cells boolean DEFAULT false, threads integer DEFAULT 0)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_optimize'
LANGUAGE C STABLE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION quant.optimize(jsonb, jsonb, double precision, timestamptz, timestamptz, text, integer, boolean, integer) IS
  'Exhaustive grid search. grid: one entry per substrategy (array, or object keyed by id) of {"window": [..] | {"min","max","step"} | n, "signal": same}; ranges include max. Returns search ("exhaustive"), objective, grid_size, evaluated, valid (objective not NaN), best (params, metrics, buy_hold_metrics, a ready Strategy JSON as config), top (top_n distinct cells) and, with include_cells, every cell. max_drawdown is minimised, other objectives maximised; NaN never wins; ties go to the earlier cell in grid order (substrategy 1 first, window before signal, ascending as listed). threads 0 = one per core.';

CREATE FUNCTION quant.walk_forward(config jsonb, grid jsonb, split_ratio double precision DEFAULT 0.5,
                                   fee_bps double precision DEFAULT 5.0,
                                   from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                   warmup text DEFAULT 'restart', threads integer DEFAULT 0)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_walk_forward'
LANGUAGE C STABLE PARALLEL SAFE COST 100000;
COMMENT ON FUNCTION quant.walk_forward(jsonb, jsonb, double precision, double precision, timestamptz, timestamptz, text, integer) IS
  'Walk-forward: bars split at floor(N*split_ratio); the grid cell with the best in-sample Sharpe is scored out of sample. Returns the seed''s walk_forward object (best_window, best_signal, is_sharpe, oos_sharpe, overfitting_ratio = 1 - oos/is) plus best, in_sample and out_of_sample metrics. warmup "restart": indicators restart on each slice (the original); "full": indicators over the whole series, out-of-sample scored from the split on.';

-- ---- ../sql/REFDATA/catalog.sql
-- The indicator and signal-function catalog, generated from the registry the engine dispatches
-- on (core/src/indicators/registry.cpp): one source of truth.
CREATE FUNCTION quant.indicator_catalog()
RETURNS TABLE (name text, description text, bounded boolean, price_level boolean, reads_hlc boolean,
               window_floor integer, window_min integer, window_max integer, window_step integer,
               signal_min double precision, signal_max double precision, signal_step double precision)
AS 'MODULE_PATHNAME', 'quant_indicator_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 8;
COMMENT ON FUNCTION quant.indicator_catalog() IS
  'Every indicator the engine knows: bounded (0..100), price_level (in price units), reads_hlc (ignores data_column), the smallest window, and the default grid of windows and signals.';

CREATE FUNCTION quant.signal_func_catalog()
RETURNS TABLE (name text, description text, kind text, long_only boolean, for_bounded boolean)
AS 'MODULE_PATHNAME', 'quant_signal_func_catalog'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 8;
COMMENT ON FUNCTION quant.signal_func_catalog() IS
  'Every signal function the engine knows: its rule, whether it is long-only, and whether it is meant for bounded indicators.';

CREATE VIEW refdata.indicator AS SELECT * FROM quant.indicator_catalog();
COMMENT ON VIEW refdata.indicator IS 'The indicator catalog (from the engine''s registry).';
CREATE VIEW refdata.signal_func AS SELECT * FROM quant.signal_func_catalog();
COMMENT ON VIEW refdata.signal_func IS 'The signal-function catalog (from the engine''s registry).';
GRANT SELECT ON refdata.indicator, refdata.signal_func TO PUBLIC;

-- ---- ../sql/users.sql
-- Users: who the current caller is, and the application role the REST layer connects as.
--
-- The current user is the setting quant.user. psql sets it for the session with
-- quant.set_user(name); the REST layer sets it per request with quant.set_user(name, true)
-- (SET LOCAL semantics: it ends with the transaction). Every quant.* function acts only on the
-- rows whose user_id is quant.current_user_id(), even when a superuser calls it; row-level
-- security with FORCE backs that up for the application role quant_app, which owns nothing.
-- No current user is ERROR 28000 (invalid_authorization_specification), distinct from the live
-- gate's 42501 (insufficient_privilege): "who are you?" versus "you may not".

CREATE SCHEMA bt;
CREATE SCHEMA trade;
COMMENT ON SCHEMA bt IS 'quant: strategies (versioned) and backtest results, one owner per row (user_id)';
COMMENT ON SCHEMA trade IS 'quant: deployments, the live gate, the audit trail, one owner per row (user_id)';

-- The application role: NOLOGIN (a login role is GRANTed it), no BYPASSRLS, owns nothing.
-- Roles are cluster-wide, so a second database's CREATE EXTENSION finds it already there.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'quant_app') THEN
        CREATE ROLE quant_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA quant, md, refdata, bt, trade TO quant_app;

CREATE FUNCTION quant.set_user(name text, is_local boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'quant.set_user: name must not be NULL' USING ERRCODE = '22004', COLUMN = 'name';
    END IF;
    IF is_local IS NULL THEN
        RAISE EXCEPTION 'quant.set_user: is_local must not be NULL' USING ERRCODE = '22004', COLUMN = 'is_local';
    END IF;
    IF name !~ '^[A-Za-z0-9_.@-]{1,64}$' THEN
        RAISE EXCEPTION 'quant.set_user: name must be 1 to 64 characters of letters, digits, _ . @ -, got "%"',
                        left(name, 80)
            USING ERRCODE = '22023', COLUMN = 'name',
                  HINT = 'a user name such as alfcheun or alice@example.com';
    END IF;
    PERFORM pg_catalog.set_config('quant.user', name, is_local);
    RETURN name;
END
$$;
COMMENT ON FUNCTION quant.set_user(text, boolean) IS
  'Sets the current quant user: for the session (psql), or with is_local = true for the current transaction only (the REST layer, per request). Returns the name. Every quant.* function then acts only on that user''s rows.';

CREATE FUNCTION quant.current_user_id() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    u text := pg_catalog.current_setting('quant.user', true);
BEGIN
    IF u IS NULL OR u = '' THEN
        RAISE EXCEPTION 'quant: no current user'
            USING ERRCODE = '28000',
                  HINT = 'call SELECT quant.set_user(''your_name'') first (or quant.set_user(name, true) per transaction)';
    END IF;
    RETURN u;
END
$$;
COMMENT ON FUNCTION quant.current_user_id() IS
  'The current quant user (the setting quant.user); ERROR 28000 when none is set. Used by every quant.* function and by the row-level security policies.';

GRANT EXECUTE ON FUNCTION quant.set_user(text, boolean), quant.current_user_id() TO quant_app;

-- Ids: UUIDv7 (time-ordered, so new rows append to the primary key index).
CREATE FUNCTION quant.uuid_generate_v7() RETURNS uuid
AS 'MODULE_PATHNAME', 'quant_uuid_generate_v7'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION quant.uuid_generate_v7() IS
  'A new UUIDv7 (RFC 9562): Unix milliseconds, sub-millisecond time, random bits from pg_strong_random. Ids of every quant table.';

-- The one validator (core), reached from SQL.
CREATE FUNCTION quant.normalize_strategy(config jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_normalize_strategy'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.normalize_strategy(jsonb) IS
  'A Strategy JSON (seed 1.1) validated and normalised: defaults filled, name generated when empty, fixed keys. ERROR 22023 naming the field, with the valid values as hint.';

CREATE FUNCTION quant.normalize_deployment(config jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_normalize_deployment'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION quant.normalize_deployment(jsonb) IS
  'A Deployment JSON (seed 1.2) validated and normalised: paper true, enabled true, schedule daily_close, portfolio DEFAULT, broker PAPER, risk_limits {max_position_usd 10000, max_daily_trades 10, stop_loss_pct 5.0}; confirm_live and trade_password are checked but never returned. ERROR 22023 naming the field, with the valid values as hint.';

GRANT EXECUTE ON FUNCTION quant.uuid_generate_v7(), quant.normalize_strategy(jsonb), quant.normalize_deployment(jsonb)
  TO quant_app;

-- ---- ../sql/api_keys.sql
-- API keys: how the REST layer (quant-http) learns which quant user a request is.
--
-- A key is "qk_" + its key_id (32 hex digits) + "_" + 32 random bytes (pg_strong_random) in
-- base64url: 79 characters, returned once by quant.create_api_key and never stored. The table
-- keeps only HMAC-SHA-256(pepper, key): the pepper is 32 random bytes of this installation in
-- trade.api_key_pepper, which no role but the owner can read (RLS forced, no policy, no grant).
-- The crypto is in C (libsodium, fmgr_registry.c): no pgcrypto.
--
-- Who may create a key for a user: the user themselves (quant.current_user_id()), or an
-- administrator for anyone: a superuser or a member of the role quant_admin (NOLOGIN; GRANT it
-- to an operator's login): that is the one exception to "every quant.* function acts only on
-- the current user's rows". Revoking and listing act on the current user's keys only, as every
-- other function does (an administrator revokes a user's key as that user: quant.set_user).
-- quant.authenticate_api_key(key) -> user is for the REST layer (quant_app): it then runs each
-- request with quant.set_user(user, true). Keys are never deleted: revoked_at marks them, so the
-- table is their history too.
--
-- Note that quant.user is trusted as the connection sets it: a session that may call
-- quant.set_user is, for quant, whoever it names. The rule above keeps a REST request (whose
-- user comes from its key) from minting keys for anyone else.

-- The administrators' role: NOLOGIN, owns nothing; cluster-wide, like quant_app.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'quant_admin') THEN
        CREATE ROLE quant_admin NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA quant, trade TO quant_admin;

CREATE TABLE trade.api_key (
    key_id           uuid PRIMARY KEY,
    user_id          text NOT NULL,
    label            text CHECK (length(label) <= 200),
    key_hash         bytea NOT NULL CHECK (length(key_hash) = 32),
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text,                                   -- the quant user who created it (NULL: an administrator with none set)
    db_role          text NOT NULL DEFAULT current_user,     -- the database role that created it
    last_used_at     timestamptz,
    revoked_at       timestamptz,
    revoked_by       text
);
CREATE INDEX api_key_user_idx ON trade.api_key (user_id, created_at);
COMMENT ON TABLE trade.api_key IS 'API keys of the REST layer, one user each: only the HMAC-SHA-256 of the key with the installation''s pepper is stored. Never deleted: revoked_at marks a revoked key.';
COMMENT ON COLUMN trade.api_key.key_id IS 'The key''s id (UUIDv7), also inside the key itself (qk_<key_id hex>_<secret>)';
COMMENT ON COLUMN trade.api_key.user_id IS 'The quant user the key authenticates as';
COMMENT ON COLUMN trade.api_key.label IS 'Free text (at most 200 characters) to tell keys apart, e.g. "laptop script"';
COMMENT ON COLUMN trade.api_key.key_hash IS 'HMAC-SHA-256(pepper, key); readable by no application role';
COMMENT ON COLUMN trade.api_key.created_by IS 'The quant user who created the key (the owner, or an administrator; NULL when an administrator had none set)';
COMMENT ON COLUMN trade.api_key.db_role IS 'The database role that created the key';
COMMENT ON COLUMN trade.api_key.last_used_at IS 'The last successful quant.authenticate_api_key (updated at most once a minute)';
COMMENT ON COLUMN trade.api_key.revoked_at IS 'When the key was revoked (quant.revoke_api_key); NULL while valid';
COMMENT ON COLUMN trade.api_key.revoked_by IS 'The quant user who revoked it';

ALTER TABLE trade.api_key ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.api_key FORCE ROW LEVEL SECURITY;
CREATE POLICY api_key_own ON trade.api_key
    USING (user_id = pg_catalog.current_setting('quant.user', true))
    WITH CHECK (user_id = pg_catalog.current_setting('quant.user', true));
CREATE POLICY api_key_admin ON trade.api_key TO quant_admin
    USING (true) WITH CHECK (true);
REVOKE ALL ON trade.api_key FROM PUBLIC;
-- never key_hash for reading; no DELETE
GRANT SELECT (key_id, user_id, label, created_at, created_by, db_role, last_used_at, revoked_at, revoked_by),
      INSERT (key_id, user_id, label, key_hash, created_by),
      UPDATE (revoked_at, revoked_by)
   ON trade.api_key TO quant_app, quant_admin;
SELECT pg_catalog.pg_extension_config_dump('trade.api_key', '');

-- The installation's secret. Empty at install (made by the first quant.create_api_key), so a
-- restored dump brings its own pepper back and the keys in it stay valid.
CREATE TABLE trade.api_key_pepper (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pepper      bytea NOT NULL CHECK (length(pepper) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE trade.api_key_pepper IS 'The one secret of this installation that API keys are hashed with (HMAC-SHA-256). Readable only by the owner: RLS forced with no policy, no grants; reached through SECURITY DEFINER functions. In pg_dump output, so that restored keys stay valid: guard dumps like the database.';
COMMENT ON COLUMN trade.api_key_pepper.pepper IS '32 random bytes (pg_strong_random)';
ALTER TABLE trade.api_key_pepper ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.api_key_pepper FORCE ROW LEVEL SECURITY;
REVOKE ALL ON trade.api_key_pepper FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('trade.api_key_pepper', '');

-- ---- internals (C, libsodium) ----
CREATE FUNCTION trade.random_bytes(n integer) RETURNS bytea
AS 'MODULE_PATHNAME', 'quant_random_bytes'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION trade.random_bytes(integer) IS 'Internal: n (1 to 1024) bytes from pg_strong_random.';
CREATE FUNCTION trade.hmac_sha256(key bytea, message text) RETURNS bytea
AS 'MODULE_PATHNAME', 'quant_hmac_sha256'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION trade.hmac_sha256(bytea, text) IS 'Internal: HMAC-SHA-256 (libsodium) of message under key.';
CREATE FUNCTION trade.bytea_equal_ct(a bytea, b bytea) RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_bytea_equal_ct'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION trade.bytea_equal_ct(bytea, bytea) IS 'Internal: whether two byte strings are equal, in constant time (sodium_memcmp); false for NULL.';
REVOKE ALL ON FUNCTION trade.random_bytes(integer), trade.hmac_sha256(bytea, text), trade.bytea_equal_ct(bytea, bytea)
  FROM PUBLIC;

-- The pepper, made on first use (concurrent first uses agree: ON CONFLICT, then read again).
CREATE FUNCTION trade.api_key_pepper(create_missing boolean) RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p bytea;
BEGIN
    SELECT t.pepper INTO p FROM trade.api_key_pepper t WHERE t.singleton;
    IF p IS NULL AND create_missing THEN
        INSERT INTO trade.api_key_pepper (singleton, pepper) VALUES (true, trade.random_bytes(32))
        ON CONFLICT (singleton) DO NOTHING;
        SELECT t.pepper INTO p FROM trade.api_key_pepper t WHERE t.singleton;
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION trade.api_key_pepper(boolean) IS 'Internal: the installation''s pepper, made when missing and create_missing.';
REVOKE ALL ON FUNCTION trade.api_key_pepper(boolean) FROM PUBLIC;

-- A new key for key_id and its hash. It hashes only keys it makes itself: no one can have the
-- hash of a key of their choosing computed (only quant.authenticate_api_key checks keys).
CREATE FUNCTION trade.api_key_make(key_id uuid, OUT key text, OUT key_hash bytea)
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    key := 'qk_' || replace(key_id::text, '-', '') || '_'
           || rtrim(translate(encode(trade.random_bytes(32), 'base64'), E'+/\n', '-_'), '=');
    key_hash := trade.hmac_sha256(trade.api_key_pepper(true), key);
END
$$;
COMMENT ON FUNCTION trade.api_key_make(uuid) IS
  'Internal: a new random API key for key_id (qk_<32 hex>_<43 base64url>) and its HMAC-SHA-256 with the pepper.';
REVOKE ALL ON FUNCTION trade.api_key_make(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION trade.api_key_make(uuid) TO quant_app, quant_admin;

-- Whether the calling role is an administrator of API keys (a superuser or a member of
-- quant_admin). SECURITY INVOKER: current_user is the caller.
CREATE FUNCTION trade.api_key_admin() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false)
        OR pg_catalog.pg_has_role(current_user, 'quant_admin', 'USAGE');
$$;
COMMENT ON FUNCTION trade.api_key_admin() IS
  'Internal: whether the calling database role may create API keys for any user (a superuser or a member of quant_admin).';

CREATE FUNCTION trade.api_key_json(k trade.api_key) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('key_id', k.key_id, 'user', k.user_id, 'label', k.label,
                              'status', CASE WHEN k.revoked_at IS NULL THEN 'active' ELSE 'revoked' END,
                              'created_at', k.created_at, 'created_by', k.created_by,
                              'last_used_at', k.last_used_at, 'revoked_at', k.revoked_at);
$$;
COMMENT ON FUNCTION trade.api_key_json(trade.api_key) IS
  'Internal: an API key as JSON {key_id, user, label, status (active, revoked), created_at, created_by, last_used_at, revoked_at}: never the key or its hash.';

CREATE FUNCTION trade.api_key_max_active() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 100';
COMMENT ON FUNCTION trade.api_key_max_active() IS 'Active (not revoked) API keys a user may have at once.';

-- ---- the API ----
CREATE FUNCTION quant.create_api_key(user_id text, label text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.create_api_key';
    me text := nullif(pg_catalog.current_setting('quant.user', true), '');
    admin boolean := trade.api_key_admin();
    active integer;
    kid uuid := quant.uuid_generate_v7();
    made record;
BEGIN
    IF create_api_key.user_id IS NULL THEN
        RAISE EXCEPTION '%: user_id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'user_id';
    END IF;
    IF create_api_key.user_id !~ '^[A-Za-z0-9_.@-]{1,64}$' THEN
        RAISE EXCEPTION '%: user_id must be 1 to 64 characters of letters, digits, _ . @ -, got "%"', fn,
                        left(create_api_key.user_id, 80)
            USING ERRCODE = '22023', COLUMN = 'user_id', HINT = 'a quant user name, as quant.set_user takes';
    END IF;
    IF label IS NOT NULL AND (length(label) > 200 OR label ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION '%: label must be at most 200 characters without control characters', fn
            USING ERRCODE = '22023', COLUMN = 'label', HINT = 'a short description such as "laptop script", or NULL';
    END IF;
    IF NOT admin THEN
        IF me IS NULL THEN
            PERFORM quant.current_user_id();  -- ERROR 28000: no current user
        END IF;
        IF create_api_key.user_id <> me THEN
            RAISE EXCEPTION '%: you (%) may create API keys only for yourself, not for "%"', fn, me,
                            create_api_key.user_id
                USING ERRCODE = '42501', COLUMN = 'user_id',
                      HINT = 'an administrator (a superuser or a member of quant_admin) creates keys for other users';
        END IF;
    END IF;
    -- at most api_key_max_active() active keys per user (serialised per user)
    PERFORM pg_advisory_xact_lock(hashtextextended('quant.create_api_key:' || create_api_key.user_id, 0));
    SELECT count(*) INTO active FROM trade.api_key k
    WHERE k.user_id = create_api_key.user_id AND k.revoked_at IS NULL;
    IF active >= trade.api_key_max_active() THEN
        RAISE EXCEPTION '%: user % already has % active API keys', fn, create_api_key.user_id, active
            USING ERRCODE = '54000', COLUMN = 'user_id',
                  HINT = 'revoke unused keys with quant.revoke_api_key(key_id); quant.list_api_keys() lists them';
    END IF;
    made := trade.api_key_make(kid);
    INSERT INTO trade.api_key (key_id, user_id, label, key_hash, created_by)
    VALUES (kid, create_api_key.user_id, label, made.key_hash, me);
    RETURN made.key;
END
$$;
COMMENT ON FUNCTION quant.create_api_key(text, text) IS
  'A new API key for user_id (with an optional label), returned once: "qk_<key_id>_<secret>", 79 characters; only its keyed hash (HMAC-SHA-256 with the installation''s pepper) is stored. Allowed for yourself (user_id = the current quant user) or, for anyone, to an administrator (a superuser or a member of quant_admin); otherwise 42501. At most 100 active keys per user (54000).';

CREATE FUNCTION quant.revoke_api_key(key_id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.revoke_api_key';
    me text := quant.current_user_id();
    k trade.api_key;
BEGIN
    IF revoke_api_key.key_id IS NULL THEN
        RAISE EXCEPTION '%: key_id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'key_id';
    END IF;
    SELECT k0.key_id, k0.user_id, k0.label, NULL::bytea, k0.created_at, k0.created_by, k0.db_role, k0.last_used_at,
           k0.revoked_at, k0.revoked_by
      INTO k
      FROM trade.api_key k0
     WHERE k0.key_id = revoke_api_key.key_id AND k0.user_id = me
       FOR UPDATE;
    IF k.key_id IS NULL THEN
        RAISE EXCEPTION '%: API key % not found', fn, revoke_api_key.key_id
            USING ERRCODE = 'P0002', COLUMN = 'key_id', HINT = 'quant.list_api_keys() lists your keys';
    END IF;
    IF k.revoked_at IS NULL THEN
        UPDATE trade.api_key t SET revoked_at = now(), revoked_by = me WHERE t.key_id = k.key_id;
        k.revoked_at := now();
        k.revoked_by := me;
    END IF;
    RETURN trade.api_key_json(k);  -- revoking twice changes nothing
END
$$;
COMMENT ON FUNCTION quant.revoke_api_key(uuid) IS
  'Revokes an API key of the current user at once: quant.authenticate_api_key no longer accepts it. P0002 when it is not yours (even for an administrator: act as that user). Revoking a revoked key returns it unchanged. Returns the key''s JSON (never the key or its hash).';

CREATE FUNCTION quant.list_api_keys(include_revoked boolean DEFAULT false) RETURNS SETOF jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('key_id', k.key_id, 'user', k.user_id, 'label', k.label,
                              'status', CASE WHEN k.revoked_at IS NULL THEN 'active' ELSE 'revoked' END,
                              'created_at', k.created_at, 'created_by', k.created_by,
                              'last_used_at', k.last_used_at, 'revoked_at', k.revoked_at)
    FROM trade.api_key k
    WHERE k.user_id = quant.current_user_id() AND (coalesce(include_revoked, false) OR k.revoked_at IS NULL)
    ORDER BY k.created_at, k.key_id;
$$;
COMMENT ON FUNCTION quant.list_api_keys(boolean) IS
  'The current user''s API keys that are not revoked (all of them with include_revoked), oldest first: {key_id, user, label, status, created_at, created_by, last_used_at, revoked_at}; never the key or its hash.';

CREATE FUNCTION quant.authenticate_api_key(key text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m text[];
    k trade.api_key;
    pepper bytea;
    given bytea;
    ok boolean;
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'quant.authenticate_api_key: key must not be NULL' USING ERRCODE = '22004', COLUMN = 'key';
    END IF;
    m := regexp_match(key, '^qk_([0-9a-f]{32})_[A-Za-z0-9_-]{43}$');
    IF m IS NULL THEN
        RETURN NULL;  -- malformed: unknown, like any other
    END IF;
    SELECT * INTO k FROM trade.api_key t WHERE t.key_id = m[1]::uuid;
    pepper := trade.api_key_pepper(false);
    IF pepper IS NULL THEN
        RETURN NULL;  -- no key was ever made here
    END IF;
    -- hash and compare even for an unknown key_id, so the time says little about which part was wrong
    given := trade.hmac_sha256(pepper, key);
    ok := trade.bytea_equal_ct(given, coalesce(k.key_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea))
          AND k.key_id IS NOT NULL;
    IF NOT ok OR k.revoked_at IS NOT NULL THEN
        RETURN NULL;
    END IF;
    IF k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' THEN
        UPDATE trade.api_key t SET last_used_at = now() WHERE t.key_id = k.key_id;
    END IF;
    RETURN k.user_id;
END
$$;
COMMENT ON FUNCTION quant.authenticate_api_key(text) IS
  'For the REST layer: the quant user of a valid API key, or NULL for a malformed, unknown, wrong or revoked one (all alike); ERROR 22004 for NULL. Compares keyed hashes in constant time and records last_used_at (at most once a minute). Then run the request with quant.set_user(user, true). EXECUTE for quant_app (and the owner) only.';
REVOKE ALL ON FUNCTION quant.authenticate_api_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quant.authenticate_api_key(text) TO quant_app;
GRANT EXECUTE ON FUNCTION quant.create_api_key(text, text), quant.revoke_api_key(uuid), quant.list_api_keys(boolean)
  TO quant_app, quant_admin;

-- ---- ../sql/TRADE/audit.sql
-- The audit trail: every strategy version and every change to a deployment (who, when,
-- old -> new), and the live gate's outcomes. Append-only: a trigger refuses UPDATE, DELETE and
-- TRUNCATE for everyone (the owner included), and quant_app is granted only SELECT and INSERT.
CREATE TABLE trade.audit (
    audit_id    uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    user_id     text NOT NULL,                          -- the quant user who acted
    db_role     text NOT NULL DEFAULT session_user,     -- the database login that carried it
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    entity      text NOT NULL CHECK (entity IN ('strategy', 'deployment', 'live_gate')),
    entity_id   uuid,
    action      text NOT NULL,
    old_value   jsonb,
    new_value   jsonb,
    message     text
);
CREATE INDEX audit_entity_idx ON trade.audit (entity_id, at);
CREATE INDEX audit_user_idx ON trade.audit (user_id, at);
COMMENT ON TABLE trade.audit IS 'Append-only audit trail: strategy versions, deployment changes (old -> new) and live-gate outcomes, per user.';
COMMENT ON COLUMN trade.audit.user_id IS 'The quant user (quant.current_user_id()) who made the change';
COMMENT ON COLUMN trade.audit.db_role IS 'The database login (session_user) that carried the change';
COMMENT ON COLUMN trade.audit.entity IS 'strategy, deployment or live_gate';
COMMENT ON COLUMN trade.audit.action IS 'create, new_version, delete, deploy, update, stop, live_enabled, live_refused, set_trade_password';
COMMENT ON COLUMN trade.audit.old_value IS 'The object before the change (NULL on create)';
COMMENT ON COLUMN trade.audit.new_value IS 'The object after the change (NULL on delete); never holds a password';

CREATE FUNCTION trade.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'trade.audit is append-only: % is not allowed', TG_OP
        USING ERRCODE = '42501', HINT = 'the audit trail is kept as written';
END
$$;
COMMENT ON FUNCTION trade.audit_refuse_change() IS 'Trigger: keeps trade.audit append-only.';
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON trade.audit
    FOR EACH ROW EXECUTE FUNCTION trade.audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON trade.audit
    FOR EACH STATEMENT EXECUTE FUNCTION trade.audit_refuse_change();

ALTER TABLE trade.audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.audit FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_own ON trade.audit
    USING (user_id = pg_catalog.current_setting('quant.user', true))
    WITH CHECK (user_id = pg_catalog.current_setting('quant.user', true));
GRANT SELECT, INSERT ON trade.audit TO quant_app;

-- One row of the trail, as the current user.
CREATE FUNCTION trade.write_audit(entity text, entity_id uuid, action text, old_value jsonb, new_value jsonb,
                                  message text DEFAULT NULL) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO trade.audit (user_id, entity, entity_id, action, old_value, new_value, message)
    VALUES (quant.current_user_id(), entity, entity_id, action, old_value, new_value, message);
$$;
COMMENT ON FUNCTION trade.write_audit(text, uuid, text, jsonb, jsonb, text) IS
  'Internal: appends one row to trade.audit as the current user.';

CREATE FUNCTION quant.audit_trail(entity_id uuid DEFAULT NULL) RETURNS SETOF jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('audit_id', a.audit_id, 'at', a.at, 'user', a.user_id, 'db_role', a.db_role,
                              'entity', a.entity, 'entity_id', a.entity_id, 'action', a.action,
                              'old', a.old_value, 'new', a.new_value, 'message', a.message)
    FROM trade.audit a
    WHERE a.user_id = quant.current_user_id()
      AND (audit_trail.entity_id IS NULL OR a.entity_id = audit_trail.entity_id)
    ORDER BY a.at, a.audit_id;
$$;
COMMENT ON FUNCTION quant.audit_trail(uuid) IS
  'The current user''s audit trail (all of it, or of one strategy or deployment), oldest first: {audit_id, at, user, db_role, entity, entity_id, action, old, new, message}.';

SELECT pg_catalog.pg_extension_config_dump('trade.audit', '');

-- ---- ../sql/BT/strategy.sql
-- Strategies (seed 1.1, 2.1, 7): a header per strategy and one row per version.
--
-- bt.strategy is the header (owner, current version, soft delete); bt.strategy_version keeps
-- every version, keyed (strategy_id, version), with the normalised config and the sha256 of its
-- parameter part (everything but strategy_id, name, version and timestamps), so that submitting
-- identical parameters returns the current version instead of making a new one. Versions are
-- never updated or deleted. Every function acts as quant.current_user_id(); another user's
-- strategy is "not found" (P0002), exactly like a missing one.
CREATE TABLE bt.strategy (
    strategy_id      uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    user_id          text NOT NULL,
    name             text NOT NULL,
    ticker           text NOT NULL,
    current_version  integer NOT NULL DEFAULT 1 CHECK (current_version >= 1),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz
);
CREATE INDEX strategy_user_idx ON bt.strategy (user_id, created_at);
COMMENT ON TABLE bt.strategy IS 'A strategy of one user: its name, data ticker, current version and soft-delete time. The versions are in bt.strategy_version.';
COMMENT ON COLUMN bt.strategy.user_id IS 'Owner (quant.current_user_id() of the creator)';
COMMENT ON COLUMN bt.strategy.current_version IS 'The version quant.get_strategy returns and new deployments pin';
COMMENT ON COLUMN bt.strategy.deleted_at IS 'Soft delete: set by quant.delete_strategy; the rows stay for audit';

CREATE TABLE bt.strategy_version (
    strategy_id     uuid NOT NULL REFERENCES bt.strategy (strategy_id),
    version         integer NOT NULL CHECK (version >= 1),
    user_id         text NOT NULL,
    name            text NOT NULL,
    ticker          text NOT NULL,
    conjunction     text NOT NULL,
    trading_period  integer NOT NULL,
    config          jsonb NOT NULL,
    params_hash     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (strategy_id, version)
);
CREATE INDEX strategy_version_hash_idx ON bt.strategy_version (user_id, params_hash);
COMMENT ON TABLE bt.strategy_version IS 'Every version of every strategy (seed: "incremented on parameter changes; original preserved for audit"). Never updated.';
COMMENT ON COLUMN bt.strategy_version.config IS 'The normalised StrategyConfig of this version (quant.normalize_strategy), without strategy_id and version';
COMMENT ON COLUMN bt.strategy_version.params_hash IS 'sha256 (hex) of the parameter part of config: ticker, conjunction, trading_period, fill_delay_bars, substrategies';

ALTER TABLE bt.strategy ENABLE ROW LEVEL SECURITY;
ALTER TABLE bt.strategy FORCE ROW LEVEL SECURITY;
CREATE POLICY strategy_own ON bt.strategy
    USING (user_id = pg_catalog.current_setting('quant.user', true))
    WITH CHECK (user_id = pg_catalog.current_setting('quant.user', true));
ALTER TABLE bt.strategy_version ENABLE ROW LEVEL SECURITY;
ALTER TABLE bt.strategy_version FORCE ROW LEVEL SECURITY;
CREATE POLICY strategy_version_own ON bt.strategy_version
    USING (user_id = pg_catalog.current_setting('quant.user', true))
    WITH CHECK (user_id = pg_catalog.current_setting('quant.user', true));
GRANT SELECT, INSERT, UPDATE ON bt.strategy TO quant_app;
GRANT SELECT, INSERT ON bt.strategy_version TO quant_app;

-- ---- internals ----
CREATE FUNCTION bt.params_hash(config jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- jsonb's text form is canonical (sorted keys, fixed spacing), and config is normalised.
    SELECT encode(sha256(convert_to((config - 'strategy_id' - 'name' - 'version' - 'created_at' - 'updated_at'
                                     - 'description')::text, 'UTF8')), 'hex');
$$;
COMMENT ON FUNCTION bt.params_hash(jsonb) IS
  'sha256 (hex) of the parameter part of a normalised Strategy JSON: equal parameters, equal hash.';

-- The StrategyConfig JSON of one version: a valid input of quant.backtest as it is.
CREATE FUNCTION bt.strategy_json(s bt.strategy, v bt.strategy_version) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.config || jsonb_build_object('strategy_id', s.strategy_id, 'name', s.name, 'version', v.version,
                                          'created_at', s.created_at, 'updated_at', s.updated_at);
$$;
COMMENT ON FUNCTION bt.strategy_json(bt.strategy, bt.strategy_version) IS
  'Internal: the StrategyConfig JSON (seed 1.1) of a strategy version, with strategy_id, name, version, created_at, updated_at.';

-- The current user's strategy, locked for update when asked; P0002 when it is not theirs or
-- does not exist (the same error: no one learns that another user's id exists).
CREATE FUNCTION bt.own_strategy(id uuid, fn text, for_update boolean, include_deleted boolean DEFAULT false)
RETURNS bt.strategy
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    s bt.strategy;
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION '%: strategy_id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'strategy_id';
    END IF;
    IF for_update THEN
        SELECT * INTO s FROM bt.strategy t WHERE t.strategy_id = id AND t.user_id = me FOR UPDATE;
    ELSE
        SELECT * INTO s FROM bt.strategy t WHERE t.strategy_id = id AND t.user_id = me;
    END IF;
    IF s.strategy_id IS NULL OR (s.deleted_at IS NOT NULL AND NOT include_deleted) THEN
        RAISE EXCEPTION '%: strategy % not found', fn, id
            USING ERRCODE = 'P0002', COLUMN = 'strategy_id',
                  HINT = 'quant.list_strategies() lists your strategies';
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION bt.own_strategy(uuid, text, boolean, boolean) IS
  'Internal: the current user''s strategy (optionally FOR UPDATE), or ERROR P0002.';

CREATE FUNCTION bt.current_version(s bt.strategy) RETURNS bt.strategy_version
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM bt.strategy_version v WHERE v.strategy_id = s.strategy_id AND v.version = s.current_version;
$$;
COMMENT ON FUNCTION bt.current_version(bt.strategy) IS 'Internal: the current version row of a strategy.';

-- quant.normalize_strategy with the name of the API function the user called: the validator's
-- warnings (a price-level indicator with a band signal, ...) are NOTICEs "fn: substrategies[i]: ...".
CREATE FUNCTION bt.normalize_strategy(config jsonb, fn text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'quant_normalize_strategy'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION bt.normalize_strategy(jsonb, text) IS
  'Internal: quant.normalize_strategy whose warnings (NOTICEs) and errors name fn, the calling API function.';
GRANT EXECUTE ON FUNCTION bt.normalize_strategy(jsonb, text) TO quant_app;

CREATE FUNCTION bt.normalized_config(config jsonb, fn text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF config IS NULL THEN
        RAISE EXCEPTION '%: config must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'config';
    END IF;
    RETURN bt.normalize_strategy(config, fn);
END
$$;
COMMENT ON FUNCTION bt.normalized_config(jsonb, text) IS 'Internal: quant.normalize_strategy with a NULL check naming the caller; the validator''s warnings are NOTICEs naming it too.';

-- Adds version s.current_version + 1 (the caller holds the row lock) unless the parameters
-- equal the current version's; a changed name alone renames without a new version.
CREATE FUNCTION bt.new_version(s bt.strategy, cfg jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur bt.strategy_version := bt.current_version(s);
    hash text := bt.params_hash(cfg);
    old_json jsonb := bt.strategy_json(s, cur);
    nv bt.strategy_version;
    stored jsonb := cfg - 'strategy_id' - 'version' - 'created_at' - 'updated_at';
BEGIN
    IF hash = cur.params_hash THEN
        IF s.name IS DISTINCT FROM cfg->>'name' AND cfg->>'name' IS NOT NULL THEN
            UPDATE bt.strategy t SET name = cfg->>'name', updated_at = now()
            WHERE t.strategy_id = s.strategy_id RETURNING * INTO s;
            PERFORM trade.write_audit('strategy', s.strategy_id, 'rename', old_json, bt.strategy_json(s, cur));
        END IF;
        RETURN bt.strategy_json(s, cur);
    END IF;
    INSERT INTO bt.strategy_version (strategy_id, version, user_id, name, ticker, conjunction, trading_period,
                                     config, params_hash)
    VALUES (s.strategy_id, s.current_version + 1, s.user_id, cfg->>'name', cfg->>'ticker', cfg->>'conjunction',
            (cfg->>'trading_period')::integer, stored, hash)
    RETURNING * INTO nv;
    UPDATE bt.strategy t SET current_version = nv.version, name = nv.name, ticker = nv.ticker, updated_at = now()
    WHERE t.strategy_id = s.strategy_id RETURNING * INTO s;
    PERFORM trade.write_audit('strategy', s.strategy_id, 'new_version', old_json, bt.strategy_json(s, nv));
    RETURN bt.strategy_json(s, nv);
END
$$;
COMMENT ON FUNCTION bt.new_version(bt.strategy, jsonb) IS
  'Internal: version n+1 of a locked strategy when the parameters changed; the current version otherwise.';

-- ---- the API (seed 2.1) ----
CREATE FUNCTION quant.create_strategy(config jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.create_strategy';
    me text := quant.current_user_id();
    cfg jsonb := bt.normalized_config(config, fn);
    hash text := bt.params_hash(cfg);
    id uuid := (cfg->>'strategy_id')::uuid;
    s bt.strategy;
    v bt.strategy_version;
BEGIN
    IF id IS NOT NULL THEN
        -- the one-click flow posts a StrategyConfig that may carry its id: create or update it
        SELECT * INTO s FROM bt.strategy t WHERE t.strategy_id = id AND t.user_id = me AND t.deleted_at IS NULL;
        IF s.strategy_id IS NOT NULL THEN
            -- what quant.update_strategy(id, config) does, without validating (and warning) twice
            s := bt.own_strategy(id, fn, true);
            RETURN bt.new_version(s, cfg);
        END IF;
    ELSE
        -- a duplicate submission returns the existing strategy (same user, same parameters)
        PERFORM pg_advisory_xact_lock(hashtextextended('quant.create_strategy:' || me || ':' || hash, 0));
        SELECT t.* INTO s FROM bt.strategy t JOIN bt.strategy_version c
            ON c.strategy_id = t.strategy_id AND c.version = t.current_version
        WHERE t.user_id = me AND t.deleted_at IS NULL AND c.params_hash = hash
        ORDER BY t.created_at, t.strategy_id LIMIT 1;
        IF s.strategy_id IS NOT NULL THEN
            RETURN bt.strategy_json(s, bt.current_version(s));
        END IF;
    END IF;
    BEGIN
        INSERT INTO bt.strategy (strategy_id, user_id, name, ticker)
        VALUES (coalesce(id, quant.uuid_generate_v7()), me, cfg->>'name', cfg->>'ticker')
        RETURNING * INTO s;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION '%: strategy_id % is already in use', fn, id
            USING ERRCODE = '22023', COLUMN = 'strategy_id', HINT = 'leave strategy_id out to have one generated';
    END;
    INSERT INTO bt.strategy_version (strategy_id, version, user_id, name, ticker, conjunction, trading_period,
                                     config, params_hash)
    VALUES (s.strategy_id, 1, me, cfg->>'name', cfg->>'ticker', cfg->>'conjunction',
            (cfg->>'trading_period')::integer, cfg - 'strategy_id' - 'version' - 'created_at' - 'updated_at', hash)
    RETURNING * INTO v;
    PERFORM trade.write_audit('strategy', s.strategy_id, 'create', NULL, bt.strategy_json(s, v));
    RETURN bt.strategy_json(s, v);
END
$$;
COMMENT ON FUNCTION quant.create_strategy(jsonb) IS
  'Creates a strategy of the current user from a StrategyConfig (seed 1.1), validated and normalised (name generated when empty), as version 1; returns its StrategyConfig JSON. The same parameters as an existing strategy of yours return that strategy; a config carrying the strategy_id of one of yours updates it (quant.update_strategy).';

CREATE FUNCTION quant.update_strategy(id uuid, config jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.update_strategy';
    cfg jsonb;
    s bt.strategy;
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION '%: id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'id';
    END IF;
    cfg := bt.normalized_config(config, fn);
    IF cfg->>'strategy_id' IS NOT NULL AND (cfg->>'strategy_id')::uuid <> id THEN
        RAISE EXCEPTION '%: config.strategy_id % differs from id %', fn, cfg->>'strategy_id', id
            USING ERRCODE = '22023', COLUMN = 'strategy_id', HINT = 'leave strategy_id out of the config or make it equal id';
    END IF;
    -- the row lock serialises concurrent updates: they make n+1 and n+2, never two n+1
    s := bt.own_strategy(id, fn, true);
    RETURN bt.new_version(s, cfg);
END
$$;
COMMENT ON FUNCTION quant.update_strategy(uuid, jsonb) IS
  'Updates a strategy of the current user: a new version n+1 when the parameters change (version n is kept), the current version when they are identical (a changed name alone renames). Returns the StrategyConfig JSON. P0002 when the strategy is not yours or deleted.';

CREATE FUNCTION quant.list_strategies() RETURNS SETOF jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT bt.strategy_json(s, v)
    FROM bt.strategy s JOIN bt.strategy_version v ON v.strategy_id = s.strategy_id AND v.version = s.current_version
    WHERE s.user_id = quant.current_user_id() AND s.deleted_at IS NULL
    ORDER BY s.created_at, s.strategy_id;
$$;
COMMENT ON FUNCTION quant.list_strategies() IS
  'The current user''s strategies that are not deleted, oldest first, each as the StrategyConfig JSON of its current version.';

CREATE FUNCTION quant.get_strategy(id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s bt.strategy := bt.own_strategy(id, 'quant.get_strategy', false, true);
    latest jsonb;
BEGIN
    SELECT r.result INTO latest FROM bt.result r
    WHERE r.strategy_id = s.strategy_id AND r.user_id = s.user_id
    ORDER BY r.run_at DESC, r.result_id DESC LIMIT 1;
    RETURN bt.strategy_json(s, bt.current_version(s))
        || jsonb_build_object('versions', s.current_version, 'deleted_at', s.deleted_at, 'latest_result', latest);
END
$$;
COMMENT ON FUNCTION quant.get_strategy(uuid) IS
  'A strategy of the current user (deleted ones too, with deleted_at): its current StrategyConfig JSON plus versions (the count), deleted_at and latest_result (the newest stored BacktestResults, or null). P0002 when not yours.';

CREATE FUNCTION quant.strategy_versions(id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s bt.strategy := bt.own_strategy(id, 'quant.strategy_versions', false, true);
BEGIN
    RETURN QUERY
    SELECT v.config || jsonb_build_object('strategy_id', v.strategy_id, 'version', v.version,
                                          'created_at', v.created_at, 'params_hash', v.params_hash)
    FROM bt.strategy_version v WHERE v.strategy_id = s.strategy_id AND v.user_id = s.user_id
    ORDER BY v.version;
END
$$;
COMMENT ON FUNCTION quant.strategy_versions(uuid) IS
  'Every version of a strategy of the current user, oldest first, with created_at and params_hash.';

CREATE FUNCTION quant.delete_strategy(id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.delete_strategy';
    s bt.strategy := bt.own_strategy(id, fn, true, true);
    old_json jsonb := bt.strategy_json(s, bt.current_version(s));
    running integer;
BEGIN
    IF s.deleted_at IS NOT NULL THEN
        RETURN old_json || jsonb_build_object('deleted_at', s.deleted_at);  -- already deleted: nothing to do
    END IF;
    SELECT count(*) INTO running FROM trade.deployment d
    WHERE d.strategy_id = s.strategy_id AND d.user_id = s.user_id AND d.stopped_at IS NULL;
    IF running > 0 THEN
        RAISE EXCEPTION '%: strategy % has % deployment(s) not stopped', fn, id, running
            USING ERRCODE = '55006', COLUMN = 'strategy_id',
                  HINT = 'stop them first with quant.stop_deployment(id); quant.list_deployments() lists them';
    END IF;
    UPDATE bt.strategy t SET deleted_at = now(), updated_at = now() WHERE t.strategy_id = s.strategy_id
    RETURNING * INTO s;
    PERFORM trade.write_audit('strategy', s.strategy_id, 'delete', old_json, NULL);
    RETURN bt.strategy_json(s, bt.current_version(s)) || jsonb_build_object('deleted_at', s.deleted_at);
END
$$;
COMMENT ON FUNCTION quant.delete_strategy(uuid) IS
  'Soft-deletes a strategy of the current user (seed 2.1: mark inactive): it leaves quant.list_strategies, its versions and results stay. Refused (55006) while a deployment of it is not stopped. Returns the strategy with deleted_at.';

CREATE FUNCTION quant.evaluate(strategy_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s bt.strategy := bt.own_strategy(strategy_id, 'quant.evaluate', false);
    v bt.strategy_version := bt.current_version(s);
BEGIN
    RETURN quant.evaluate_config(v.config) || jsonb_build_object('strategy_id', s.strategy_id, 'version', v.version);
END
$$;
COMMENT ON FUNCTION quant.evaluate(uuid) IS
  'The live signal of the current version of a strategy of the current user on the latest bars: {strategy_id, version, ticker, bar_ts, signal, substrategies: [{id, indicator, value, position}]} (quant.evaluate_config).';

-- pg_dump keeps the users' rows of extension tables only when told to.
SELECT pg_catalog.pg_extension_config_dump('bt.strategy', '');
SELECT pg_catalog.pg_extension_config_dump('bt.strategy_version', '');

-- ---- ../sql/BT/result.sql
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
    USING (user_id = pg_catalog.current_setting('quant.user', true))
    WITH CHECK (user_id = pg_catalog.current_setting('quant.user', true));
GRANT SELECT, INSERT ON bt.result TO quant_app;

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

CREATE FUNCTION quant.store_result(strategy_id uuid, result jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
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
    IF result ? 'strategy_id' AND jsonb_typeof(result->'strategy_id') <> 'null'
       AND (result->>'strategy_id') IS DISTINCT FROM strategy_id::text THEN
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
  'Stores a BacktestResults object (seed 1.3, as quant.backtest returns it) for a strategy of the current user, against its current version (or result.version). metrics is required; each field is checked. Returns the stored object with result_id, strategy_id, version, stored_at.';

CREATE FUNCTION quant.list_results(strategy_id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE
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

-- ---- ../sql/REFDATA/ticker_mapping.sql
-- Ticker mapping (seed 7): a data-source symbol and a broker -> the broker's symbol and market.
-- quant.deploy fills a deployment's ticker (and market) from here when they are omitted.
-- Rows with user_id NULL are shared (installed below, or added by an administrator); a user's
-- own row for the same (data_ticker, broker) takes precedence for that user.
CREATE TABLE refdata.ticker_mapping (
    ticker_mapping_id  uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    data_ticker        text NOT NULL,
    broker             text NOT NULL CHECK (broker IN ('PAPER', 'BYBIT', 'FUTU')),
    broker_ticker      text NOT NULL,
    market             text NOT NULL CHECK (market IN ('US', 'HK', 'CRYPTO')),
    user_id            text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX ticker_mapping_key ON refdata.ticker_mapping (data_ticker, broker, coalesce(user_id, ''));
COMMENT ON TABLE refdata.ticker_mapping IS 'Data-source symbol + broker -> broker symbol and market (seed 7). user_id NULL: shared by everyone; a user''s own row overrides it.';
COMMENT ON COLUMN refdata.ticker_mapping.data_ticker IS 'The symbol of md.bar and of the StrategyConfig, e.g. AAPL, BTC-USD';
COMMENT ON COLUMN refdata.ticker_mapping.broker_ticker IS 'The broker''s symbol, e.g. US.AAPL (FUTU), BTCUSDT (BYBIT)';
COMMENT ON COLUMN refdata.ticker_mapping.user_id IS 'NULL for a shared mapping, else the user whose own mapping it is';

ALTER TABLE refdata.ticker_mapping ENABLE ROW LEVEL SECURITY;
ALTER TABLE refdata.ticker_mapping FORCE ROW LEVEL SECURITY;
CREATE POLICY ticker_mapping_read ON refdata.ticker_mapping FOR SELECT
    USING (user_id IS NULL OR user_id = pg_catalog.current_setting('quant.user', true));
CREATE POLICY ticker_mapping_insert ON refdata.ticker_mapping FOR INSERT
    WITH CHECK (user_id = pg_catalog.current_setting('quant.user', true));
CREATE POLICY ticker_mapping_update ON refdata.ticker_mapping FOR UPDATE
    USING (user_id = pg_catalog.current_setting('quant.user', true))
    WITH CHECK (user_id = pg_catalog.current_setting('quant.user', true));
CREATE POLICY ticker_mapping_delete ON refdata.ticker_mapping FOR DELETE
    USING (user_id = pg_catalog.current_setting('quant.user', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON refdata.ticker_mapping TO quant_app;

-- Shared mappings for the sample data and the common crypto pairs.
INSERT INTO refdata.ticker_mapping (data_ticker, broker, broker_ticker, market) VALUES
    ('MSFT', 'FUTU', 'US.MSFT', 'US'),
    ('AAPL', 'FUTU', 'US.AAPL', 'US'),
    ('TTRC', 'FUTU', 'US.TTRC', 'US'),
    ('MSFT', 'PAPER', 'MSFT', 'US'),
    ('AAPL', 'PAPER', 'AAPL', 'US'),
    ('TTRC', 'PAPER', 'TTRC', 'US'),
    ('BTC-USD', 'BYBIT', 'BTCUSDT', 'CRYPTO'),
    ('ETH-USD', 'BYBIT', 'ETHUSDT', 'CRYPTO'),
    ('BTC-USD', 'PAPER', 'BTC-USD', 'CRYPTO'),
    ('ETH-USD', 'PAPER', 'ETH-USD', 'CRYPTO');
SELECT pg_catalog.pg_extension_config_dump('refdata.ticker_mapping', 'WHERE user_id IS NOT NULL');

CREATE FUNCTION quant.set_ticker_mapping(data_ticker text, broker text, broker_ticker text, market text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    fn constant text := 'quant.set_ticker_mapping';
    me text := quant.current_user_id();
    b text := upper(broker);
    m text := upper(market);
    r refdata.ticker_mapping;
BEGIN
    IF data_ticker IS NULL THEN RAISE EXCEPTION '%: data_ticker must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'data_ticker'; END IF;
    IF broker IS NULL THEN RAISE EXCEPTION '%: broker must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'broker'; END IF;
    IF broker_ticker IS NULL THEN RAISE EXCEPTION '%: broker_ticker must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'broker_ticker'; END IF;
    IF market IS NULL THEN RAISE EXCEPTION '%: market must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'market'; END IF;
    IF length(data_ticker) NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION '%: data_ticker must be 1 to 64 characters', fn USING ERRCODE = '22023', COLUMN = 'data_ticker';
    END IF;
    IF length(broker_ticker) NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION '%: broker_ticker must be 1 to 64 characters', fn USING ERRCODE = '22023', COLUMN = 'broker_ticker';
    END IF;
    IF b NOT IN ('PAPER', 'BYBIT', 'FUTU') THEN
        RAISE EXCEPTION '%: broker: unknown broker "%"', fn, broker
            USING ERRCODE = '22023', COLUMN = 'broker', HINT = 'valid brokers: PAPER, BYBIT, FUTU';
    END IF;
    IF m NOT IN ('US', 'HK', 'CRYPTO') THEN
        RAISE EXCEPTION '%: market: unknown market "%"', fn, market
            USING ERRCODE = '22023', COLUMN = 'market', HINT = 'valid markets: US, HK, CRYPTO';
    END IF;
    INSERT INTO refdata.ticker_mapping AS t (data_ticker, broker, broker_ticker, market, user_id)
    VALUES (set_ticker_mapping.data_ticker, b, set_ticker_mapping.broker_ticker, m, me)
    ON CONFLICT (data_ticker, broker, coalesce(user_id, ''))
    DO UPDATE SET broker_ticker = excluded.broker_ticker, market = excluded.market, updated_at = now()
    RETURNING * INTO r;
    RETURN jsonb_build_object('data_ticker', r.data_ticker, 'broker', r.broker, 'broker_ticker', r.broker_ticker,
                              'market', r.market, 'shared', false);
END
$$;
COMMENT ON FUNCTION quant.set_ticker_mapping(text, text, text, text) IS
  'Adds or replaces the current user''s own mapping of a data ticker on a broker (PAPER, BYBIT, FUTU) to the broker''s symbol and market (US, HK, CRYPTO); it overrides a shared mapping for that user.';

CREATE FUNCTION quant.list_ticker_mappings() RETURNS SETOF jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('data_ticker', t.data_ticker, 'broker', t.broker, 'broker_ticker', t.broker_ticker,
                              'market', t.market, 'shared', t.user_id IS NULL)
    FROM refdata.ticker_mapping t
    WHERE t.user_id IS NULL OR t.user_id = quant.current_user_id()
    ORDER BY t.data_ticker, t.broker, t.user_id NULLS FIRST;
$$;
COMMENT ON FUNCTION quant.list_ticker_mappings() IS
  'The ticker mappings the current user sees: the shared ones (shared true) and their own.';

CREATE FUNCTION refdata.resolve_ticker(data_ticker text, broker text, fn text) RETURNS refdata.ticker_mapping
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    r refdata.ticker_mapping;
BEGIN
    SELECT * INTO r FROM refdata.ticker_mapping t
    WHERE t.data_ticker = resolve_ticker.data_ticker AND t.broker = resolve_ticker.broker
      AND (t.user_id IS NULL OR t.user_id = me)
    ORDER BY t.user_id NULLS LAST LIMIT 1;
    IF r.ticker_mapping_id IS NULL THEN
        RAISE EXCEPTION '%: ticker: no mapping of data ticker "%" on broker %', fn, data_ticker, broker
            USING ERRCODE = '22023', COLUMN = 'ticker',
                  HINT = format('give "ticker" (and "market") in the deployment, or add the mapping with quant.set_ticker_mapping(%L, %L, broker_ticker, market)',
                                data_ticker, broker);
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION refdata.resolve_ticker(text, text, text) IS
  'Internal: the mapping of a data ticker on a broker for the current user (their own first, then the shared one); ERROR 22023 naming the missing pair.';

-- ---- ../sql/TRADE/live_gate.sql
-- The live gate (seed 4.1): paper=false only with confirm_live = true and the user's trade
-- password, checked against its Argon2id hash (libsodium, in C). Failed attempts are counted
-- and logged; after live_gate_max_failures of them in a row the gate is locked for
-- live_gate_lockout. A refusal is ERROR 42501.
--
-- A failure must survive the refusal, which rolls back the caller's transaction, so it is
-- written by an autonomous transaction: a short-lived background worker (fmgr_registry.c). A
-- success or a new password resets the count (reset_at). The server log gets a WARNING for
-- every refusal.
-- The hash table is readable by no one but the owner: the functions below are SECURITY DEFINER.
CREATE TABLE trade.trade_password (
    user_id          text PRIMARY KEY,
    password_hash    text NOT NULL,          -- Argon2id, libsodium crypto_pwhash_str format
    reset_at         timestamptz NOT NULL DEFAULT clock_timestamp(), -- failures before this do not count
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE trade.trade_password IS 'The trade password of each user (Argon2id hash only) and the live gate''s failure count and lockout. No grants: reached only through quant.set_trade_password and the live gate.';
ALTER TABLE trade.trade_password ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.trade_password FORCE ROW LEVEL SECURITY;
CREATE POLICY trade_password_own ON trade.trade_password
    USING (user_id = pg_catalog.current_setting('quant.user', true))
    WITH CHECK (user_id = pg_catalog.current_setting('quant.user', true));
REVOKE ALL ON trade.trade_password FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('trade.trade_password', '');

-- Failed attempts: rows inserted by an autonomous transaction, so they survive the refusal.
CREATE TABLE trade.live_gate_failure (
    failure_id  uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    user_id     text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason      text NOT NULL
);
CREATE INDEX live_gate_failure_user_idx ON trade.live_gate_failure (user_id, at);
COMMENT ON TABLE trade.live_gate_failure IS 'Every wrong trade password, written in its own transaction (it outlives the refused call). The gate counts those after trade.trade_password.reset_at.';
ALTER TABLE trade.live_gate_failure ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.live_gate_failure FORCE ROW LEVEL SECURITY;
CREATE POLICY live_gate_failure_own ON trade.live_gate_failure
    USING (user_id = pg_catalog.current_setting('quant.user', true))
    WITH CHECK (user_id = pg_catalog.current_setting('quant.user', true));
REVOKE ALL ON trade.live_gate_failure FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('trade.live_gate_failure', '');

CREATE FUNCTION trade.trade_password_hash(password text) RETURNS text
AS 'MODULE_PATHNAME', 'quant_trade_password_hash'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION trade.trade_password_hash(text) IS 'Internal: the Argon2id hash (libsodium crypto_pwhash_str, 64 MiB, 2 passes) of a password.';
CREATE FUNCTION trade.trade_password_verify(hash text, password text) RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_trade_password_verify'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION trade.trade_password_verify(text, text) IS 'Internal: whether a password matches an Argon2id hash (constant time).';
REVOKE ALL ON FUNCTION trade.trade_password_hash(text), trade.trade_password_verify(text, text) FROM PUBLIC;

CREATE FUNCTION trade.live_gate_max_failures() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 5';
COMMENT ON FUNCTION trade.live_gate_max_failures() IS 'Failed trade-password attempts in a row that lock the live gate.';
CREATE FUNCTION trade.live_gate_lockout() RETURNS interval LANGUAGE sql IMMUTABLE AS $$SELECT interval '15 minutes'$$;
COMMENT ON FUNCTION trade.live_gate_lockout() IS 'How long the live gate stays locked after too many failures.';

-- Records one failure of user_id and its audit row. Run by the autonomous worker (its own
-- committed transaction), or in the caller's transaction as a fallback.
CREATE FUNCTION trade.record_live_gate_failure(user_id text, reason text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.set_config('quant.user', user_id, true);
    INSERT INTO trade.live_gate_failure (user_id, reason) VALUES (record_live_gate_failure.user_id, reason);
    INSERT INTO trade.audit (user_id, entity, action, message)
    VALUES (record_live_gate_failure.user_id, 'live_gate', 'live_refused', reason);
END
$$;
COMMENT ON FUNCTION trade.record_live_gate_failure(text, text) IS 'Internal: records a failed trade-password attempt and audits it.';
REVOKE ALL ON FUNCTION trade.record_live_gate_failure(text, text) FROM PUBLIC;

-- The lock state of the current user's gate: failures since reset_at, locked_until.
CREATE FUNCTION trade.live_gate_state(pw trade.trade_password, OUT failures integer, OUT locked_until timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*)::integer,
           CASE WHEN count(*) >= trade.live_gate_max_failures() THEN max(f.at) + trade.live_gate_lockout() END
    FROM trade.live_gate_failure f
    WHERE f.user_id = pw.user_id AND f.at > pw.reset_at;
$$;
COMMENT ON FUNCTION trade.live_gate_state(trade.trade_password) IS 'Internal: failed attempts since the last reset and, at the limit, the end of the lockout.';
REVOKE ALL ON FUNCTION trade.live_gate_state(trade.trade_password) FROM PUBLIC;

CREATE FUNCTION trade.record_live_gate_failure_autonomous(user_id text, reason text) RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_record_live_gate_failure_autonomous'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION trade.record_live_gate_failure_autonomous(text, text) IS
  'Internal: runs trade.record_live_gate_failure in a background worker''s own transaction, so the count survives the refusal''s rollback; false when no worker could run.';
REVOKE ALL ON FUNCTION trade.record_live_gate_failure_autonomous(text, text) FROM PUBLIC;

-- Logs, counts and raises a refusal (42501).
CREATE FUNCTION trade.live_gate_refuse(fn text, problem text, hint text, count_failure boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
BEGIN
    RAISE WARNING '%: live trading refused for user %: %', fn, me, problem;
    IF count_failure AND NOT trade.record_live_gate_failure_autonomous(me, fn || ': ' || problem) THEN
        PERFORM trade.record_live_gate_failure(me, fn || ': ' || problem);  -- kept only if the caller commits
    END IF;
    RAISE EXCEPTION '%: live trading refused: %', fn, problem USING ERRCODE = '42501', HINT = hint;
END
$$;
COMMENT ON FUNCTION trade.live_gate_refuse(text, text, text, boolean) IS 'Internal: logs a live-gate refusal (WARNING), counts wrong passwords, raises 42501.';
REVOKE ALL ON FUNCTION trade.live_gate_refuse(text, text, text, boolean) FROM PUBLIC;

-- The gate: returns normally only with confirmation and the right password; logs the warning
-- and the audit row of success.
CREATE FUNCTION trade.live_gate(fn text, ticker text, confirm_live jsonb, password jsonb, deployment_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    pw trade.trade_password;
    st record;
BEGIN
    IF confirm_live IS NULL OR confirm_live <> 'true'::jsonb THEN
        PERFORM trade.live_gate_refuse(fn, 'paper=false needs "confirm_live": true', 
            'add "confirm_live": true and "trade_password" to confirm live trading, or keep paper=true', false);
    END IF;
    IF password IS NULL OR jsonb_typeof(password) <> 'string' THEN
        PERFORM trade.live_gate_refuse(fn, 'paper=false needs "trade_password"',
            'add your trade password as "trade_password" (set it with quant.set_trade_password)', false);
    END IF;
    SELECT * INTO pw FROM trade.trade_password t WHERE t.user_id = me;
    IF pw.user_id IS NULL THEN
        PERFORM trade.live_gate_refuse(fn, 'no trade password is set',
            'set one with quant.set_trade_password(new_password)', false);
    END IF;
    st := trade.live_gate_state(pw);
    IF st.locked_until > clock_timestamp() THEN
        PERFORM trade.live_gate_refuse(fn, 'locked after ' || st.failures || ' wrong trade passwords, until '
                                           || st.locked_until,
            'wait until then; every attempt while locked is refused', false);
    END IF;
    IF NOT trade.trade_password_verify(pw.password_hash, password #>> '{}') THEN
        PERFORM trade.live_gate_refuse(fn, 'wrong trade password',
            format('%s failed attempts in a row lock live trading for %s', trade.live_gate_max_failures(),
                   trade.live_gate_lockout()), true);
    END IF;
    IF st.failures > 0 THEN
        UPDATE trade.trade_password t SET reset_at = clock_timestamp(), updated_at = now() WHERE t.user_id = me;
    END IF;
    RAISE WARNING 'LIVE TRADING ENABLED for %', ticker;
    PERFORM trade.write_audit('live_gate', deployment_id, 'live_enabled', NULL, NULL,
                              'LIVE TRADING ENABLED for ' || ticker);
END
$$;
COMMENT ON FUNCTION trade.live_gate(text, text, jsonb, jsonb, uuid) IS
  'Internal: the live gate of seed 4.1: confirm_live = true and the right trade password, else ERROR 42501; success logs WARNING "LIVE TRADING ENABLED for {ticker}" and an audit row.';
REVOKE ALL ON FUNCTION trade.live_gate(text, text, jsonb, jsonb, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION trade.live_gate(text, text, jsonb, jsonb, uuid) TO quant_app;

CREATE FUNCTION quant.set_trade_password(new_password text, old_password text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.set_trade_password';
    me text := quant.current_user_id();
    pw trade.trade_password;
    st record;
BEGIN
    IF new_password IS NULL THEN
        RAISE EXCEPTION '%: new_password must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'new_password';
    END IF;
    IF length(new_password) < 8 OR length(new_password) > 1024 THEN
        RAISE EXCEPTION '%: new_password must be 8 to 1024 characters', fn
            USING ERRCODE = '22023', COLUMN = 'new_password', HINT = 'a passphrase of at least 8 characters';
    END IF;
    SELECT * INTO pw FROM trade.trade_password t WHERE t.user_id = me;
    IF pw.user_id IS NOT NULL THEN
        -- changing it needs the old one, under the same lockout as the gate
        st := trade.live_gate_state(pw);
        IF st.locked_until > clock_timestamp() THEN
            PERFORM trade.live_gate_refuse(fn, 'locked after wrong trade passwords, until ' || st.locked_until,
                                           'wait until then', false);
        END IF;
        IF old_password IS NULL OR NOT trade.trade_password_verify(pw.password_hash, old_password) THEN
            PERFORM trade.live_gate_refuse(fn, 'old_password is missing or wrong',
                                           'give the current trade password as old_password', true);
        END IF;
        UPDATE trade.trade_password t
           SET password_hash = trade.trade_password_hash(new_password), reset_at = clock_timestamp(),
               updated_at = now()
         WHERE t.user_id = me;
    ELSE
        INSERT INTO trade.trade_password (user_id, password_hash) VALUES (me, trade.trade_password_hash(new_password));
    END IF;
    PERFORM trade.write_audit('live_gate', NULL, 'set_trade_password', NULL, NULL,
                              CASE WHEN pw.user_id IS NULL THEN 'trade password set' ELSE 'trade password changed' END);
    RETURN jsonb_build_object('user', me, 'set_at', now());
END
$$;
COMMENT ON FUNCTION quant.set_trade_password(text, text) IS
  'Sets the current user''s trade password (seed 4.1), stored only as an Argon2id hash; changing it needs old_password (a wrong one counts toward the lockout). Returns {user, set_at}, never the password.';

-- ---- ../sql/TRADE/deployment.sql
-- Deployments (seed 1.2, 2.2, 7): a strategy version traded on a broker, with the execution log.
--
-- A deployment pins one strategy version. update_deployment changes only enabled (the kill
-- switch), qty, risk_limits, schedule, portfolio and paper (through the live gate); stopping
-- disables it with a stop time and never deletes it. Every change is in trade.audit (old -> new).
CREATE TABLE trade.deployment (
    deployment_id     uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    user_id           text NOT NULL,
    strategy_id       uuid NOT NULL,
    strategy_version  integer NOT NULL,
    portfolio         text NOT NULL DEFAULT 'DEFAULT',
    broker            text NOT NULL CHECK (broker IN ('PAPER', 'BYBIT', 'FUTU')),
    ticker            text NOT NULL,
    market            text NOT NULL CHECK (market IN ('US', 'HK', 'CRYPTO')),
    qty               numeric NOT NULL CHECK (qty > 0),
    paper             boolean NOT NULL DEFAULT true,
    schedule          text NOT NULL CHECK (schedule IN ('daily_close', 'hourly', 'manual')),
    enabled           boolean NOT NULL DEFAULT true,
    risk_limits       jsonb NOT NULL,
    config            jsonb NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    stopped_at        timestamptz,
    live_since        timestamptz,
    FOREIGN KEY (strategy_id, strategy_version) REFERENCES bt.strategy_version (strategy_id, version),
    CHECK (stopped_at IS NULL OR NOT enabled),
    CHECK (broker <> 'PAPER' OR paper)
);
CREATE INDEX deployment_user_idx ON trade.deployment (user_id, created_at);
CREATE INDEX deployment_schedule_idx ON trade.deployment (schedule) WHERE enabled;
COMMENT ON TABLE trade.deployment IS 'A strategy version deployed to a broker by one user (seed 1.2). Stopped deployments stay (stopped_at).';
COMMENT ON COLUMN trade.deployment.strategy_version IS 'The pinned version of the strategy: updates of the strategy do not change a running deployment';
COMMENT ON COLUMN trade.deployment.ticker IS 'The broker''s symbol (from refdata.ticker_mapping when the deployment omitted it)';
COMMENT ON COLUMN trade.deployment.qty IS 'Position size per signal unit: NUMERIC (whole shares for US and HK, decimals for CRYPTO)';
COMMENT ON COLUMN trade.deployment.enabled IS 'The kill switch: false stops new orders';
COMMENT ON COLUMN trade.deployment.config IS 'The normalised Deployment JSON (quant.normalize_deployment); never holds confirm_live or trade_password';
COMMENT ON COLUMN trade.deployment.live_since IS 'When the live gate last let paper=false through';

-- The execution log (seed 7 TRADE.LOG) and the signals: the live loop (quant-worker,
-- run_schedule) writes them; here they are read by get_deployment and the views.
CREATE TABLE trade.signal (
    signal_id      uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    deployment_id  uuid NOT NULL REFERENCES trade.deployment (deployment_id),
    user_id        text NOT NULL,
    bar_ts         timestamptz NOT NULL,
    signal         numeric NOT NULL CHECK (signal IN (-1, 0, 1)),
    evaluation     jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    strategy_version integer,
    ticker         text,
    status         text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'PROCESSING', 'DONE', 'REJECTED')),
    processed_at   timestamptz,
    UNIQUE (deployment_id, bar_ts)
);
CREATE INDEX signal_pending_idx ON trade.signal (created_at) WHERE status = 'PENDING';
COMMENT ON TABLE trade.signal IS 'One evaluated signal per deployment and bar (the duplicate guard), written by the live loop (quant.run_schedule, quant.run_deployment) and NOTIFYed on channel quant_signal (payload: signal_id).';
COMMENT ON COLUMN trade.signal.evaluation IS 'The whole quant.evaluate_config result: ticker, bar_ts, signal, conjunction, substrategies [{id, indicator, signal_func, window, value, position}] (the seed''s signal log)';
COMMENT ON COLUMN trade.signal.strategy_version IS 'The strategy version evaluated (the deployment''s pinned version at the time)';
COMMENT ON COLUMN trade.signal.ticker IS 'The data ticker the strategy was evaluated on (md.bar), not the broker symbol';
COMMENT ON COLUMN trade.signal.status IS 'PENDING until quant-worker claims it (FOR UPDATE SKIP LOCKED), then PROCESSING, DONE or REJECTED';

CREATE TABLE trade.log (
    log_id         uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    deployment_id  uuid NOT NULL REFERENCES trade.deployment (deployment_id),
    signal_id      uuid REFERENCES trade.signal (signal_id),
    user_id        text NOT NULL,
    ts             timestamptz NOT NULL DEFAULT now(),
    signal_value   numeric,
    action         text NOT NULL CHECK (action IN ('BUY', 'SELL', 'HOLD', 'REJECTED')),
    qty            numeric,
    price          numeric,
    order_id       text,
    success        boolean NOT NULL,
    message        text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    reason         text,
    bar_ts         timestamptz
);
CREATE INDEX log_deployment_idx ON trade.log (deployment_id, ts);
COMMENT ON TABLE trade.log IS 'The execution log (seed 7): BUY, SELL, HOLD or REJECTED (with the reason in message), per deployment.';
COMMENT ON COLUMN trade.log.reason IS 'For REJECTED rows, a reason code to query by (the live loop writes stale_bar, insufficient_history, no_bars, error); the text is in message';
COMMENT ON COLUMN trade.log.bar_ts IS 'The bar the row is about, when known (e.g. the stale bar of a stale_bar rejection)';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['deployment', 'signal', 'log'] LOOP
        EXECUTE format('ALTER TABLE trade.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE trade.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON trade.%I USING (user_id = pg_catalog.current_setting(''quant.user'', true)) '
                       'WITH CHECK (user_id = pg_catalog.current_setting(''quant.user'', true))', t || '_own', t);
        PERFORM pg_catalog.pg_extension_config_dump('trade.' || t, '');
    END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE ON trade.deployment TO quant_app;
GRANT SELECT, INSERT ON trade.signal, trade.log TO quant_app;

-- ---- internals ----
CREATE FUNCTION trade.deployment_json(d trade.deployment) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.config || jsonb_build_object(
        'deployment_id', d.deployment_id, 'user', d.user_id, 'qty', d.qty,
        'status', CASE WHEN d.stopped_at IS NOT NULL THEN 'stopped' WHEN d.enabled THEN 'active' ELSE 'disabled' END,
        'created_at', d.created_at, 'updated_at', d.updated_at, 'stopped_at', d.stopped_at,
        'live_since', d.live_since);
$$;
COMMENT ON FUNCTION trade.deployment_json(trade.deployment) IS
  'Internal: the Deployment JSON (seed 1.2) of a row plus deployment_id, user, status (active, disabled, stopped), created_at, updated_at, stopped_at, live_since.';

CREATE FUNCTION trade.own_deployment(id uuid, fn text, for_update boolean) RETURNS trade.deployment
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    d trade.deployment;
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION '%: id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'id';
    END IF;
    IF for_update THEN
        SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = id AND t.user_id = me FOR UPDATE;
    ELSE
        SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = id AND t.user_id = me;
    END IF;
    IF d.deployment_id IS NULL THEN
        RAISE EXCEPTION '%: deployment % not found', fn, id
            USING ERRCODE = 'P0002', COLUMN = 'deployment_id', HINT = 'quant.list_deployments() lists your deployments';
    END IF;
    RETURN d;
END
$$;
COMMENT ON FUNCTION trade.own_deployment(uuid, text, boolean) IS
  'Internal: the current user''s deployment (optionally FOR UPDATE), or ERROR P0002 (another user''s is not found either).';

CREATE FUNCTION trade.require_object(value jsonb, fn text, argname text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '%: % must not be NULL', fn, argname USING ERRCODE = '22004', COLUMN = argname;
    END IF;
    IF jsonb_typeof(value) <> 'object' THEN
        RAISE EXCEPTION '%: % must be a JSON object, got %', fn, argname, jsonb_typeof(value)
            USING ERRCODE = '22023', COLUMN = argname;
    END IF;
END
$$;
COMMENT ON FUNCTION trade.require_object(jsonb, text, text) IS 'Internal: 22004 for NULL, 22023 for a non-object.';

-- ---- the API (seed 2.2) ----
CREATE FUNCTION quant.deploy(deployment jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.deploy';
    me text := quant.current_user_id();
    cfg jsonb;
    s bt.strategy;
    ver integer;
    m refdata.ticker_mapping;
    d trade.deployment;
BEGIN
    PERFORM trade.require_object(deployment, fn, 'deployment');
    cfg := quant.normalize_deployment(deployment);  -- the one validator: 22023 naming the field
    IF cfg ? 'user' AND cfg->>'user' <> me THEN
        RAISE EXCEPTION '%: user: "%" is not the current user', fn, cfg->>'user'
            USING ERRCODE = '22023', COLUMN = 'user', HINT = 'leave "user" out, or give your own name: ' || me;
    END IF;
    IF cfg ? 'deployment_id' THEN
        RAISE EXCEPTION '%: deployment_id: is assigned by quant', fn
            USING ERRCODE = '22023', COLUMN = 'deployment_id', HINT = 'leave it out; quant.update_deployment changes a deployment';
    END IF;
    s := bt.own_strategy((cfg->>'strategy_id')::uuid, fn, false);
    ver := coalesce((cfg->>'strategy_version')::integer, s.current_version);
    IF NOT EXISTS (SELECT 1 FROM bt.strategy_version v WHERE v.strategy_id = s.strategy_id AND v.version = ver) THEN
        RAISE EXCEPTION '%: strategy_version: strategy % has no version %', fn, s.strategy_id, ver
            USING ERRCODE = '22023', COLUMN = 'strategy_version', HINT = 'versions 1 to ' || s.current_version;
    END IF;
    IF NOT cfg ? 'ticker' THEN
        m := refdata.resolve_ticker(s.ticker, cfg->>'broker', fn);  -- 22023 naming the missing pair
        cfg := cfg || jsonb_build_object('ticker', m.broker_ticker);
        IF NOT cfg ? 'market' THEN
            cfg := cfg || jsonb_build_object('market', m.market);
        END IF;
    ELSIF NOT cfg ? 'market' THEN
        SELECT * INTO m FROM refdata.ticker_mapping t
        WHERE t.broker = cfg->>'broker' AND t.broker_ticker = cfg->>'ticker' AND (t.user_id IS NULL OR t.user_id = me)
        ORDER BY t.user_id NULLS LAST LIMIT 1;
        IF m.market IS NULL THEN
            RAISE EXCEPTION '%: market: is required for ticker "%" on broker %, which has no ticker mapping', fn,
                            cfg->>'ticker', cfg->>'broker'
                USING ERRCODE = '22023', COLUMN = 'market', HINT = 'valid markets: US, HK, CRYPTO';
        END IF;
        cfg := cfg || jsonb_build_object('market', m.market);
    END IF;
    -- validate again with everything filled (whole shares for US and HK)
    cfg := quant.normalize_deployment(cfg || jsonb_build_object('user', me, 'strategy_version', ver));
    d.deployment_id := quant.uuid_generate_v7();
    IF NOT (cfg->>'paper')::boolean THEN
        PERFORM trade.live_gate(fn, cfg->>'ticker', deployment->'confirm_live', deployment->'trade_password',
                                d.deployment_id);
    END IF;
    INSERT INTO trade.deployment (deployment_id, user_id, strategy_id, strategy_version, portfolio, broker, ticker,
                                  market, qty, paper, schedule, enabled, risk_limits, config, live_since)
    VALUES (d.deployment_id, me, s.strategy_id, ver, cfg->>'portfolio', cfg->>'broker', cfg->>'ticker',
            cfg->>'market', (cfg->>'qty')::numeric, (cfg->>'paper')::boolean, cfg->>'schedule',
            (cfg->>'enabled')::boolean, cfg->'risk_limits', cfg,
            CASE WHEN NOT (cfg->>'paper')::boolean THEN now() END)
    RETURNING * INTO d;
    PERFORM trade.write_audit('deployment', d.deployment_id, 'deploy', NULL, trade.deployment_json(d));
    RETURN trade.deployment_json(d);
END
$$;
COMMENT ON FUNCTION quant.deploy(jsonb) IS
  'Deploys a strategy of the current user (seed 1.2 DeploymentConfig): validated, defaults filled (paper true, enabled true, schedule daily_close, portfolio DEFAULT, broker PAPER, risk limits 10000 USD / 10 trades / 5%), pinning strategy_version (default: the current one), ticker and market from refdata.ticker_mapping when omitted. paper=false passes the live gate (confirm_live: true and trade_password, else 42501). Returns the Deployment JSON with deployment_id and status.';

CREATE FUNCTION quant.list_deployments(include_stopped boolean DEFAULT false) RETURNS SETOF jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT trade.deployment_json(d) FROM trade.deployment d
    WHERE d.user_id = quant.current_user_id() AND (coalesce(include_stopped, false) OR d.stopped_at IS NULL)
    ORDER BY d.created_at, d.deployment_id;
$$;
COMMENT ON FUNCTION quant.list_deployments(boolean) IS
  'The current user''s deployments that are not stopped (all of them with include_stopped), oldest first.';

CREATE FUNCTION quant.get_deployment(id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.get_deployment', false);
    trades jsonb;
    last_signal jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(x.j ORDER BY x.ts DESC), '[]') INTO trades FROM (
        SELECT l.ts, jsonb_build_object('log_id', l.log_id, 'ts', l.ts, 'signal_value', l.signal_value,
                                        'action', l.action, 'qty', l.qty, 'price', l.price, 'order_id', l.order_id,
                                        'success', l.success, 'message', l.message) AS j
        FROM trade.log l WHERE l.deployment_id = d.deployment_id AND l.user_id = d.user_id
        ORDER BY l.ts DESC, l.log_id DESC LIMIT 20) x;
    SELECT jsonb_build_object('signal_id', g.signal_id, 'bar_ts', g.bar_ts, 'signal', g.signal,
                              'created_at', g.created_at)
    INTO last_signal
    FROM trade.signal g WHERE g.deployment_id = d.deployment_id AND g.user_id = d.user_id
    ORDER BY g.bar_ts DESC LIMIT 1;
    RETURN trade.deployment_json(d) || jsonb_build_object('recent_trades', trades, 'last_signal', last_signal);
END
$$;
COMMENT ON FUNCTION quant.get_deployment(uuid) IS
  'A deployment of the current user with its status, last_signal and recent_trades (the newest 20 rows of trade.log). P0002 when not yours.';

CREATE FUNCTION quant.update_deployment(id uuid, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.update_deployment';
    allowed constant text[] := ARRAY['enabled', 'qty', 'risk_limits', 'schedule', 'portfolio', 'paper',
                                     'confirm_live', 'trade_password'];
    d trade.deployment;
    k text;
    merged jsonb;
    cfg jsonb;
    old_json jsonb;
    going_live boolean;
BEGIN
    IF id IS NULL THEN
        RAISE EXCEPTION '%: id must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'id';
    END IF;
    PERFORM trade.require_object(patch, fn, 'patch');
    FOR k IN SELECT jsonb_object_keys(patch) LOOP
        IF k <> ALL (allowed) THEN
            RAISE EXCEPTION '%: %: cannot be changed by an update', fn, k
                USING ERRCODE = '22023', COLUMN = k,
                      HINT = 'changeable fields: ' || array_to_string(allowed, ', ') || '; deploy anew for the rest';
        END IF;
    END LOOP;
    d := trade.own_deployment(id, fn, true);
    IF d.stopped_at IS NOT NULL THEN
        RAISE EXCEPTION '%: deployment % was stopped at %', fn, id, d.stopped_at
            USING ERRCODE = '55000', COLUMN = 'deployment_id', HINT = 'a stopped deployment stays stopped; deploy anew';
    END IF;
    merged := d.config || (patch - 'risk_limits');
    IF jsonb_typeof(patch->'risk_limits') = 'object' THEN
        merged := merged || jsonb_build_object('risk_limits', (d.config->'risk_limits') || (patch->'risk_limits'));
    ELSIF patch ? 'risk_limits' THEN
        merged := merged || jsonb_build_object('risk_limits', patch->'risk_limits');  -- the validator names it
    END IF;
    cfg := quant.normalize_deployment(merged);
    going_live := d.paper AND NOT (cfg->>'paper')::boolean;
    IF going_live THEN
        PERFORM trade.live_gate(fn, d.ticker, patch->'confirm_live', patch->'trade_password', d.deployment_id);
    END IF;
    IF cfg = d.config THEN
        RETURN trade.deployment_json(d);  -- nothing changed: no new audit row
    END IF;
    old_json := trade.deployment_json(d);
    UPDATE trade.deployment t
       SET qty = (cfg->>'qty')::numeric, paper = (cfg->>'paper')::boolean, schedule = cfg->>'schedule',
           enabled = (cfg->>'enabled')::boolean, portfolio = cfg->>'portfolio', risk_limits = cfg->'risk_limits',
           config = cfg, updated_at = now(),
           live_since = CASE WHEN going_live THEN now() WHEN (cfg->>'paper')::boolean THEN NULL ELSE t.live_since END
     WHERE t.deployment_id = d.deployment_id
    RETURNING * INTO d;
    PERFORM trade.write_audit('deployment', d.deployment_id, 'update', old_json, trade.deployment_json(d));
    RETURN trade.deployment_json(d);
END
$$;
COMMENT ON FUNCTION quant.update_deployment(uuid, jsonb) IS
  'Changes a deployment of the current user: enabled (the kill switch), qty, risk_limits (merged), schedule, portfolio, paper (paper=false through the live gate: confirm_live and trade_password in the patch). Any other field is 22023; a stopped deployment is 55000. Audited old -> new. Returns the Deployment JSON.';

CREATE FUNCTION quant.stop_deployment(id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.stop_deployment', true);
    old_json jsonb := trade.deployment_json(d);
BEGIN
    IF d.stopped_at IS NOT NULL THEN
        RETURN old_json;  -- stopping twice changes nothing
    END IF;
    UPDATE trade.deployment t
       SET enabled = false, stopped_at = now(), updated_at = now(),
           config = t.config || '{"enabled": false}'
     WHERE t.deployment_id = d.deployment_id
    RETURNING * INTO d;
    PERFORM trade.write_audit('deployment', d.deployment_id, 'stop', old_json, trade.deployment_json(d));
    RETURN trade.deployment_json(d);
END
$$;
COMMENT ON FUNCTION quant.stop_deployment(uuid) IS
  'Stops a deployment of the current user (seed 2.2 DELETE): disabled with a stop time, never deleted; audited. Stopping a stopped deployment returns it unchanged.';

-- ---- ../sql/views.sql
-- psql ergonomics: the common questions as views. They are security_invoker (PostgreSQL 15), so
-- row-level security applies to the caller: each user sees only their own rows.
CREATE VIEW quant.deployments WITH (security_invoker = true) AS
SELECT d.deployment_id, d.user_id, s.name AS strategy_name, d.strategy_id, d.strategy_version,
       s.current_version AS strategy_current_version, d.broker, d.ticker, d.market, d.qty, d.paper, d.schedule,
       CASE WHEN d.stopped_at IS NOT NULL THEN 'stopped' WHEN d.enabled THEN 'active' ELSE 'disabled' END AS status,
       g.bar_ts AS last_signal_bar, g.signal AS last_signal, g.created_at AS last_signal_at,
       d.created_at, d.updated_at, d.stopped_at
FROM trade.deployment d
JOIN bt.strategy s ON s.strategy_id = d.strategy_id
LEFT JOIN LATERAL (SELECT * FROM trade.signal x WHERE x.deployment_id = d.deployment_id
                   ORDER BY x.bar_ts DESC LIMIT 1) g ON true
WHERE d.user_id = pg_catalog.current_setting('quant.user', true);
COMMENT ON VIEW quant.deployments IS
  'The current user''s deployments with their strategy''s name, the pinned and the current version, status and last signal.';

CREATE VIEW quant.strategies WITH (security_invoker = true) AS
SELECT s.strategy_id, s.user_id, s.name, s.ticker, s.current_version AS version, v.conjunction, v.trading_period,
       jsonb_array_length(v.config->'substrategies') AS substrategies,
       r.run_at AS last_run_at, (r.metrics->>'sharpe_ratio')::double precision AS sharpe_ratio,
       (r.metrics->>'total_return')::double precision AS total_return,
       (r.metrics->>'max_drawdown')::double precision AS max_drawdown,
       s.created_at, s.updated_at
FROM bt.strategy s
JOIN bt.strategy_version v ON v.strategy_id = s.strategy_id AND v.version = s.current_version
LEFT JOIN LATERAL (SELECT * FROM bt.result x WHERE x.strategy_id = s.strategy_id
                   ORDER BY x.run_at DESC, x.result_id DESC LIMIT 1) r ON true
WHERE s.deleted_at IS NULL AND s.user_id = pg_catalog.current_setting('quant.user', true);
COMMENT ON VIEW quant.strategies IS
  'The current user''s strategies (not deleted) with their current version and the headline metrics of the latest result.';

GRANT SELECT ON quant.deployments, quant.strategies TO quant_app;

-- ---- ../sql/REFDATA/market.sql
-- Markets (issue 4, scheduling): when each market's trading day closes, in UTC, because
-- pg_cron 1.4 schedules in UTC only (no cron.timezone before 1.5).
--
-- The daily_close schedule runs a few minutes after the close, so that the day's bar can be in
-- md.bar. Policy for daylight saving time: one fixed UTC time per market, the LATER of the
-- two closes, so the job always runs after the close:
--   US      16:00 America/New_York = 21:00 UTC in winter (EST), 20:00 UTC in summer (EDT).
--           The job runs at 21:05 UTC Monday to Friday: 5 minutes after the close in winter,
--           1 h 5 min after it in summer. Never before the close, never on a partial bar.
--   HK      16:00 Asia/Hong_Kong = 08:00 UTC all year (no DST); runs 08:05 UTC Mon-Fri.
--   CRYPTO  trades around the clock; the daily bar closes at 00:00 UTC; runs 00:05 UTC daily.
-- Exchange holidays are not modelled: on a holiday the run finds no new bar, and the duplicate
-- guard (one signal per deployment and bar) makes it write nothing.
CREATE TABLE refdata.market (
    market          text PRIMARY KEY CHECK (market ~ '^[A-Z]{2,16}$'),
    close_time_utc  time NOT NULL,
    timezone        text NOT NULL,
    local_close     time NOT NULL,
    run_cron        text NOT NULL,
    description     text NOT NULL
);
COMMENT ON TABLE refdata.market IS
  'Markets and their daily close in UTC (pg_cron 1.4 is UTC-only); quant.install_schedules makes one daily_close pg_cron job per row (schedule run_cron). Shared reference data, no owner.';
COMMENT ON COLUMN refdata.market.close_time_utc IS 'The daily close in UTC outside daylight saving time (the later of the two for markets with DST)';
COMMENT ON COLUMN refdata.market.timezone IS 'The exchange''s IANA time zone (for display and DST-aware checks)';
COMMENT ON COLUMN refdata.market.local_close IS 'The daily close in the exchange''s local time';
COMMENT ON COLUMN refdata.market.run_cron IS 'The pg_cron schedule (UTC) of this market''s daily_close run: minute hour * * days, after the close all year';

INSERT INTO refdata.market (market, close_time_utc, timezone, local_close, run_cron, description) VALUES
    ('US', '21:00', 'America/New_York', '16:00', '5 21 * * 1-5',
     'US equities (NYSE, Nasdaq): close 16:00 New York = 21:00 UTC (EST), 20:00 UTC in summer (EDT); the run at 21:05 UTC is after the close all year'),
    ('HK', '08:00', 'Asia/Hong_Kong', '16:00', '5 8 * * 1-5',
     'Hong Kong equities (HKEX): close 16:00 Hong Kong = 08:00 UTC, no daylight saving time'),
    ('CRYPTO', '00:00', 'UTC', '00:00', '5 0 * * *',
     'Crypto (Bybit): trades around the clock; the daily bar closes at 00:00 UTC, every day');

GRANT SELECT ON refdata.market TO quant_app;

CREATE FUNCTION quant.list_markets() RETURNS SETOF jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('market', m.market, 'close_time_utc', m.close_time_utc, 'timezone', m.timezone,
                              'local_close', m.local_close, 'run_cron', m.run_cron, 'description', m.description)
    FROM refdata.market m ORDER BY m.market;
$$;
COMMENT ON FUNCTION quant.list_markets() IS
  'The markets with their daily close (UTC and local), time zone and the pg_cron schedule (UTC) of their daily_close run.';
GRANT EXECUTE ON FUNCTION quant.list_markets() TO quant_app;

-- ---- ../sql/TRADE/schedule.sql
-- The live loop's first half (issue 4, "Scheduling"): pg_cron calls quant.run_schedule, which
-- evaluates every enabled deployment on that schedule with the backtest's code
-- (quant.evaluate_config on the deployment's PINNED strategy version), writes one trade.signal
-- row per (deployment, bar) with the indicator values and positions of each substrategy,
-- status PENDING, and NOTIFYs channel quant_signal with the signal id; quant-worker (a later
-- part of issue 4) LISTENs, claims the PENDING rows and trades them.
--
-- Guards, each giving a trade.log row action REJECTED with a reason code and no signal:
--   stale_bar             the latest bar is older than risk_limits.max_bar_age_hours (default
--                         per schedule: daily_close 96 h, to cover weekends; hourly 2 h; manual
--                         96 h). JSON null turns the check off, paper deployments only (the
--                         validator refuses it for paper=false; here it falls back to the
--                         default for a live row, failing closed).
--   insufficient_history  the indicators are undefined at the latest bar (too few bars, or
--                         the strategy's signal is NULL there).
--   no_bars               the strategy's data ticker has no bars in md.bar.
--   error                 anything else the evaluation raised (the message is kept).
-- Duplicate guard: trade.signal is unique per (deployment_id, bar_ts); a bar that already has
-- a signal is not evaluated again and writes nothing (ON CONFLICT DO NOTHING covers a race).
-- Isolation of failures: every deployment is evaluated in its own subtransaction, so one
-- failing deployment is logged and the run goes on.

-- ---- internals ----
CREATE FUNCTION trade.signal_json(g trade.signal) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'signal_id', g.signal_id, 'deployment_id', g.deployment_id, 'signal', g.signal::integer, 'bar_ts', g.bar_ts,
        'status', g.status, 'strategy_version', g.strategy_version, 'ticker', g.ticker,
        'conjunction', g.evaluation->'conjunction',
        'substrategies', coalesce(g.evaluation->'substrategies', '[]'::jsonb),
        'created_at', g.created_at, 'processed_at', g.processed_at);
$$;
COMMENT ON FUNCTION trade.signal_json(trade.signal) IS
  'Internal: a trade.signal row as JSON: signal_id, deployment_id, signal, bar_ts, status, strategy_version, ticker, conjunction, substrategies [{id, indicator, signal_func, window, value, position}], created_at, processed_at.';

CREATE FUNCTION trade.log_json(l trade.log) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'log_id', l.log_id, 'deployment_id', l.deployment_id, 'signal_id', l.signal_id, 'timestamp', l.ts,
        'action', l.action, 'qty', l.qty, 'price', l.price, 'success', l.success, 'message', l.message,
        'reason', l.reason, 'order_id', l.order_id, 'signal_value', l.signal_value, 'bar_ts', l.bar_ts);
$$;
COMMENT ON FUNCTION trade.log_json(trade.log) IS
  'Internal: a trade.log row as JSON: log_id, deployment_id, signal_id, timestamp, action, qty, price, success, message, reason, order_id, signal_value, bar_ts.';

CREATE FUNCTION trade.default_max_bar_age_hours(schedule text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE schedule WHEN 'hourly' THEN 2.0 ELSE 96.0 END::double precision;
$$;
COMMENT ON FUNCTION trade.default_max_bar_age_hours(text) IS
  'The stale-bar limit when risk_limits.max_bar_age_hours is not given: hourly 2 h; daily_close and manual 96 h (a Friday bar is still fresh on Monday''s run).';

CREATE FUNCTION trade.max_bar_age_hours(d trade.deployment) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN NOT coalesce(d.risk_limits ? 'max_bar_age_hours', false)
            THEN trade.default_max_bar_age_hours(d.schedule)
        WHEN jsonb_typeof(d.risk_limits->'max_bar_age_hours') = 'number'
            THEN (d.risk_limits->>'max_bar_age_hours')::double precision
        WHEN d.paper THEN NULL  -- JSON null: the check is off (paper only)
        ELSE trade.default_max_bar_age_hours(d.schedule)  -- never off for live: fail closed
    END;
$$;
COMMENT ON FUNCTION trade.max_bar_age_hours(trade.deployment) IS
  'Internal: the stale-bar limit of a deployment in hours, NULL when the check is off (max_bar_age_hours null on a paper deployment).';

CREATE FUNCTION trade.run_one(d trade.deployment) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v bt.strategy_version;
    latest timestamptz;
    max_age double precision;
    ev jsonb;
    g trade.signal;
    l trade.log;
    reason text;
    msg text;
    st text;
BEGIN
    BEGIN  -- a subtransaction: whatever fails here is rolled back and logged below
        SELECT * INTO v FROM bt.strategy_version x
        WHERE x.strategy_id = d.strategy_id AND x.version = d.strategy_version AND x.user_id = d.user_id;
        IF v.strategy_id IS NULL THEN
            RAISE EXCEPTION 'strategy % version % not found', d.strategy_id, d.strategy_version USING ERRCODE = 'P0002';
        END IF;
        SELECT max(b.ts) INTO latest FROM md.bar b WHERE b.ticker = v.config->>'ticker';
        max_age := trade.max_bar_age_hours(d);
        IF latest IS NULL THEN
            reason := 'no_bars';
            msg := format('no bars: ticker %s has no bars in md.bar', v.config->>'ticker');
        ELSIF max_age IS NOT NULL AND now() - latest > max_age * interval '1 hour' THEN
            reason := 'stale_bar';
            msg := format('stale bar: the latest %s bar is %s, %s hours old, over max_bar_age_hours %s',
                          v.config->>'ticker', latest,
                          round((extract(epoch FROM now() - latest) / 3600)::numeric, 1), max_age);
        ELSE
            SELECT * INTO g FROM trade.signal x WHERE x.deployment_id = d.deployment_id AND x.bar_ts = latest;
            IF g.signal_id IS NOT NULL THEN
                RETURN trade.signal_json(g) || '{"outcome": "DUPLICATE"}';  -- the duplicate guard
            END IF;
            -- the same code as the backtest, on every bar up to the latest one
            ev := quant.evaluate_config(v.config, latest);
            IF jsonb_typeof(ev->'signal') IS DISTINCT FROM 'number' THEN
                reason := 'insufficient_history';
                msg := format('insufficient history: the indicators of strategy %s version %s are undefined at the %s bar of %s',
                              d.strategy_id, d.strategy_version, v.config->>'ticker', latest);
            ELSE
                INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, evaluation, strategy_version, ticker)
                VALUES (d.deployment_id, d.user_id, (ev->>'bar_ts')::timestamptz, (ev->>'signal')::numeric, ev,
                        d.strategy_version, v.config->>'ticker')
                ON CONFLICT (deployment_id, bar_ts, source) DO NOTHING  -- source: sql/TRADE/stop_loss.sql
                RETURNING * INTO g;
                IF g.signal_id IS NULL THEN  -- a concurrent run wrote it first
                    SELECT * INTO g FROM trade.signal x
                    WHERE x.deployment_id = d.deployment_id AND x.bar_ts = (ev->>'bar_ts')::timestamptz;
                    RETURN trade.signal_json(g) || '{"outcome": "DUPLICATE"}';
                END IF;
                PERFORM pg_catalog.pg_notify('quant_signal', g.signal_id::text);
                RETURN trade.signal_json(g) || '{"outcome": "SIGNAL"}';
            END IF;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        IF st = '22000' AND msg LIKE '%needs at least%' THEN
            reason := 'insufficient_history';
            msg := 'insufficient history: ' || msg;
        ELSIF st = 'P0002' AND msg LIKE '%has no bars%' THEN
            reason := 'no_bars';
            msg := 'no bars: ' || msg;
        ELSE
            reason := 'error';
            msg := format('evaluation failed (SQLSTATE %s): %s', st, msg);
        END IF;
    END;
    INSERT INTO trade.log (deployment_id, user_id, action, success, message, reason, bar_ts)
    VALUES (d.deployment_id, d.user_id, 'REJECTED', false, msg, reason, latest)
    RETURNING * INTO l;
    RETURN trade.log_json(l) || '{"outcome": "REJECTED"}';
END
$$;
COMMENT ON FUNCTION trade.run_one(trade.deployment) IS
  'Internal: evaluates one deployment now (its pinned strategy version on the latest bar of the strategy''s ticker) in a subtransaction. Returns the new signal (outcome SIGNAL, NOTIFYed on quant_signal), the existing one for an already evaluated bar (outcome DUPLICATE, nothing written), or the REJECTED trade.log row (outcome REJECTED, with reason and message).';

-- ---- the API ----
CREATE FUNCTION quant.run_deployment(id uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.run_deployment';
    d trade.deployment := trade.own_deployment(id, fn, false);
BEGIN
    IF NOT d.enabled THEN
        RAISE EXCEPTION '%: deployment % is %', fn, id, CASE WHEN d.stopped_at IS NULL THEN 'disabled' ELSE 'stopped' END
            USING ERRCODE = '55000', COLUMN = 'deployment_id',
                  HINT = CASE WHEN d.stopped_at IS NULL THEN 'enable it: quant.update_deployment(id, ''{"enabled": true}'')'
                              ELSE 'a stopped deployment stays stopped; deploy anew' END;
    END IF;
    RETURN trade.run_one(d);
END
$$;
COMMENT ON FUNCTION quant.run_deployment(uuid) IS
  'Evaluates a deployment of the current user now, whatever its schedule (how manual deployments run): the new signal row (outcome SIGNAL, NOTIFYed on quant_signal), the existing one when this bar was already evaluated (outcome DUPLICATE, nothing written), or the rejection (outcome REJECTED, action, reason, message: stale_bar, insufficient_history, no_bars, error). P0002 when not yours; 55000 when disabled or stopped.';

CREATE FUNCTION trade.run_schedule_for(schedule text, market text) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.run_schedule';
    prev_user text := pg_catalog.current_setting('quant.user', true);
    d trade.deployment;
    r jsonb;
    written integer := 0;
BEGIN
    IF schedule IS NULL THEN
        RAISE EXCEPTION '%: schedule must not be NULL', fn USING ERRCODE = '22004', COLUMN = 'schedule';
    END IF;
    IF schedule NOT IN ('daily_close', 'hourly') THEN
        RAISE EXCEPTION '%: unknown schedule "%"', fn, schedule
            USING ERRCODE = '22023', COLUMN = 'schedule',
                  HINT = 'valid schedules: daily_close, hourly (manual deployments run on quant.run_deployment(id))';
    END IF;
    IF market IS NOT NULL AND NOT EXISTS (SELECT 1 FROM refdata.market m WHERE m.market = run_schedule_for.market) THEN
        RAISE EXCEPTION '%: unknown market "%"', fn, market
            USING ERRCODE = '22023', COLUMN = 'market',
                  HINT = 'valid markets: ' || (SELECT string_agg(m.market, ', ' ORDER BY m.market) FROM refdata.market m);
    END IF;
    -- every user's deployments: the caller is pg_cron's job owner, not a quant user
    FOR d IN SELECT * FROM trade.deployment t
             WHERE t.schedule = run_schedule_for.schedule AND t.enabled AND t.stopped_at IS NULL
               AND (run_schedule_for.market IS NULL OR t.market = run_schedule_for.market)
             ORDER BY t.user_id, t.deployment_id
    LOOP
        BEGIN
            -- act as the deployment's owner: RLS and the quant.* functions see that user
            PERFORM pg_catalog.set_config('quant.user', d.user_id, true);
            r := trade.run_one(d);
            IF r->>'outcome' = 'SIGNAL' THEN
                written := written + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            -- run_one logs its own failures; this only guards the loop against the unexpected
            RAISE WARNING '%: deployment % failed: %', fn, d.deployment_id, SQLERRM;
        END;
    END LOOP;
    PERFORM pg_catalog.set_config('quant.user', coalesce(prev_user, ''), true);
    RETURN written;
END
$$;
COMMENT ON FUNCTION trade.run_schedule_for(text, text) IS
  'Internal: the body of quant.run_schedule (all markets when market is NULL).';
REVOKE ALL ON FUNCTION trade.run_schedule_for(text, text) FROM PUBLIC;

CREATE FUNCTION quant.run_schedule(schedule text) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT trade.run_schedule_for(schedule, NULL);
$$;
COMMENT ON FUNCTION quant.run_schedule(text) IS
  'Evaluates every enabled, not stopped deployment of every user on a schedule (daily_close or hourly), each as its owner and in its own subtransaction: one trade.signal row (PENDING, NOTIFY quant_signal) per deployment and new bar, or a REJECTED trade.log row with the reason. Returns the number of signals written. SECURITY DEFINER, for pg_cron (quant.install_schedules) and administrators only: not granted to PUBLIC or quant_app.';
REVOKE ALL ON FUNCTION quant.run_schedule(text) FROM PUBLIC;

CREATE FUNCTION quant.run_schedule(schedule text, market text) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF market IS NULL THEN
        RAISE EXCEPTION 'quant.run_schedule: market must not be NULL' USING ERRCODE = '22004', COLUMN = 'market',
                  HINT = 'quant.run_schedule(schedule) runs every market';
    END IF;
    RETURN trade.run_schedule_for(schedule, upper(market));
END
$$;
COMMENT ON FUNCTION quant.run_schedule(text, text) IS
  'quant.run_schedule for the deployments of one market only (refdata.market): the per-market daily_close pg_cron jobs call it after that market''s close. Returns the number of signals written. SECURITY DEFINER, not granted to PUBLIC or quant_app.';
REVOKE ALL ON FUNCTION quant.run_schedule(text, text) FROM PUBLIC;

CREATE FUNCTION quant.deployment_signals(id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.deployment_signals', false);
BEGIN
    RETURN QUERY
        SELECT trade.signal_json(g) FROM trade.signal g
        WHERE g.deployment_id = d.deployment_id AND g.user_id = d.user_id
        ORDER BY g.bar_ts DESC, g.signal_id DESC;
END
$$;
COMMENT ON FUNCTION quant.deployment_signals(uuid) IS
  'The signals of a deployment of the current user, newest bar first: signal_id, signal (-1, 0, 1), bar_ts, status, strategy_version, ticker, conjunction, substrategies [{id, indicator, signal_func, window, value, position}], created_at, processed_at. P0002 when not yours.';

CREATE FUNCTION quant.deployment_trades(id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.deployment_trades', false);
BEGIN
    RETURN QUERY
        SELECT trade.log_json(l) FROM trade.log l
        WHERE l.deployment_id = d.deployment_id AND l.user_id = d.user_id
        ORDER BY l.ts DESC, l.log_id DESC;
END
$$;
COMMENT ON FUNCTION quant.deployment_trades(uuid) IS
  'The execution log of a deployment of the current user, newest first: action (BUY, SELL, HOLD, REJECTED), qty, price, success, message, reason, order_id, timestamp, signal_value, signal_id, bar_ts. P0002 when not yours.';

GRANT EXECUTE ON FUNCTION quant.run_deployment(uuid), quant.deployment_signals(uuid), quant.deployment_trades(uuid)
  TO quant_app;

-- ---- pg_cron jobs ----
-- Not created by CREATE EXTENSION: pg_cron may be missing, or live in another database
-- (cron.database_name). scripts/cluster.sh setup calls this when pg_cron is installed.
CREATE FUNCTION quant.install_schedules()
RETURNS TABLE (jobname text, schedule text, command text, jobid bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m refdata.market;
    jobs text[][] := ARRAY[]::text[][];
    j text[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
        RAISE EXCEPTION 'quant.install_schedules: pg_cron is not installed in this database'
            USING ERRCODE = '55000',
                  HINT = 'shared_preload_libraries = ''pg_cron'', cron.database_name = this database, then CREATE EXTENSION pg_cron';
    END IF;
    -- daily_close: one job per market, after its close (UTC; see refdata.market for DST)
    FOR m IN SELECT * FROM refdata.market ORDER BY market LOOP
        jobs := jobs || ARRAY[['quant_daily_close_' || m.market, m.run_cron,
                               format('SELECT quant.run_schedule(%L, %L)', 'daily_close', m.market)]];
    END LOOP;
    jobs := jobs || ARRAY[['quant_hourly', '0 * * * *', 'SELECT quant.run_schedule(''hourly'')']];
    -- pg_cron's run log grows without bound (nothing cleans it): keep a week
    jobs := jobs || ARRAY[['quant_cron_cleanup', '17 3 * * *',
                           'DELETE FROM cron.job_run_details WHERE end_time < now() - interval ''7 days''']];
    -- the stop loss, every minute against the latest price (sql/TRADE/stop_loss.sql; pg_cron
    -- 1.4: a minute is the finest grain)
    jobs := jobs || ARRAY[['quant_stop_loss', '* * * * *', 'SELECT quant.check_stop_losses()']];
    FOREACH j SLICE 1 IN ARRAY jobs LOOP
        jobname := j[1];
        schedule := j[2];
        command := j[3];
        -- cron.schedule(name, ...) updates the job of that name: installing twice is harmless
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid USING jobname, schedule, command;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION quant.install_schedules() IS
  'Creates (or updates) the pg_cron jobs of the live loop, in UTC: quant_daily_close_<MARKET> per refdata.market (US 21:05 Mon-Fri, HK 08:05 Mon-Fri, CRYPTO 00:05 daily), quant_hourly (minute 0), quant_stop_loss (every minute: quant.check_stop_losses), quant_cron_cleanup (cron.job_run_details older than 7 days). Idempotent. Needs pg_cron in this database (55000 otherwise) and the right to call cron.schedule. Returns the jobs.';
REVOKE ALL ON FUNCTION quant.install_schedules() FROM PUBLIC;

CREATE FUNCTION quant.uninstall_schedules() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := 0;
    name text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
        RETURN 0;
    END IF;
    FOR name IN EXECUTE 'SELECT jobname FROM cron.job WHERE jobname LIKE ''quant\_%'' ORDER BY jobname' LOOP
        EXECUTE 'SELECT cron.unschedule($1)' USING name;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION quant.uninstall_schedules() IS
  'Removes the pg_cron jobs named quant_* of the calling database role (those quant.install_schedules made). Returns how many.';
REVOKE ALL ON FUNCTION quant.uninstall_schedules() FROM PUBLIC;

-- ---- ../sql/PAPER/broker.sql
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

CREATE SCHEMA paper;
COMMENT ON SCHEMA paper IS 'quant: the embedded paper broker (accounts, orders, fills, positions); reached by quant-worker''s PaperAdapter';

-- Signed position arithmetic shared by the broker and the worker's books (trade.position):
-- the position after a fill of delta (signed) at price, its average entry price and the
-- realised P&L of the part that closed. Flipping through 0 opens the rest at price.
CREATE FUNCTION quant.position_after(qty numeric, avg_price numeric, delta numeric, price numeric,
                                     OUT new_qty numeric, OUT new_avg_price numeric, OUT realized numeric)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    q numeric := coalesce(qty, 0);
    a numeric := coalesce(avg_price, 0);
    closing numeric;
BEGIN
    new_qty := q + delta;
    realized := 0;
    IF q = 0 OR sign(q) = sign(delta) THEN
        new_avg_price := CASE WHEN new_qty = 0 THEN NULL ELSE (abs(q) * a + abs(delta) * price) / abs(new_qty) END;
    ELSE
        closing := least(abs(q), abs(delta));
        realized := (price - a) * closing * sign(q);
        new_avg_price := CASE WHEN new_qty = 0 THEN NULL
                              WHEN sign(new_qty) = sign(q) THEN a
                              ELSE price END;  -- flipped: the rest opened at price
    END IF;
END
$$;
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
LANGUAGE plpgsql VOLATILE
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
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT b.close FROM md.bar b WHERE b.ticker = symbol ORDER BY b.ts DESC LIMIT 1),
        (SELECT b.close FROM refdata.ticker_mapping m JOIN md.bar b ON b.ticker = m.data_ticker
         WHERE m.broker = 'PAPER' AND m.broker_ticker = symbol AND m.user_id IS NULL
         ORDER BY b.ts DESC LIMIT 1));
$$;
COMMENT ON FUNCTION paper.price_of(text) IS
  'The paper broker''s market price of a symbol: the latest md.bar close of the symbol as a data ticker, else of the data ticker a shared PAPER ticker mapping gives; NULL when unknown.';

CREATE FUNCTION paper.place_order(account text, client_order_id text, symbol text, side text, qty numeric,
                                  order_type text DEFAULT 'MARKET', limit_price numeric DEFAULT NULL)
RETURNS paper."order"
LANGUAGE plpgsql VOLATILE
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
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM paper."order" x WHERE x.client_order_id = get_order.client_order_id;
$$;
COMMENT ON FUNCTION paper.get_order(text) IS 'The paper order with this client order id (all columns NULL when there is none): what reconciliation asks the broker.';

CREATE FUNCTION paper.get_orders(account text) RETURNS SETOF paper."order"
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM paper."order" x WHERE x.account = get_orders.account ORDER BY x.created_at, x.order_id;
$$;
COMMENT ON FUNCTION paper.get_orders(text) IS 'The orders of a paper account, oldest first.';

CREATE FUNCTION paper.get_position(account text, symbol text) RETURNS paper.position
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM paper.position x WHERE x.account = get_position.account AND x.symbol = get_position.symbol;
$$;
COMMENT ON FUNCTION paper.get_position(text, text) IS 'The position of a paper account in a symbol (all columns NULL when it never traded it: flat).';

CREATE FUNCTION paper.get_positions(account text) RETURNS SETOF paper.position
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM paper.position x WHERE x.account = get_positions.account ORDER BY x.symbol;
$$;
COMMENT ON FUNCTION paper.get_positions(text) IS 'Every position row of a paper account (flat ones have qty 0): the complete report, so a symbol missing here is flat.';

CREATE FUNCTION paper.get_account(account text) RETURNS paper.account
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM paper.account x WHERE x.account = get_account.account;
$$;
COMMENT ON FUNCTION paper.get_account(text) IS 'A paper account: cash, starting cash, slippage_bps, fee_bps (all columns NULL when it does not exist).';

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA paper FROM PUBLIC;

-- ---- ../sql/TRADE/order.sql
-- The live loop's second half (issue 4, items 2, 4, 5): order intents, fills and positions as
-- quant-worker books them, and the SQL the worker calls. See worker/README.md for the protocol.
--
-- The order intent (trade."order") is inserted with a deterministic client order id
-- (quant::client_order_id(deployment, signal, leg), UNIQUE here: the database half of the
-- duplicate guard) and committed with synchronous_commit = on BEFORE the order is sent; its
-- status then moves NEW -> SENT (acknowledged, not final) -> FILLED | REJECTED | CANCELLED, or
-- UNKNOWN (the broker does not know an order we sent: fail closed, a person looks).
-- trade.signal gets the claim columns (claimed_by, claimed_at, attempts) here, because the
-- claim protocol is the worker's.

ALTER TABLE trade.signal
    ADD COLUMN claimed_by text,
    ADD COLUMN claimed_at timestamptz,
    ADD COLUMN attempts integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN trade.signal.claimed_by IS 'The quant-worker (QUANT_WORKER_ID) that claimed the signal (status PROCESSING)';
COMMENT ON COLUMN trade.signal.claimed_at IS 'When it was claimed: a PROCESSING claim older than the worker''s lease (60 s) may be claimed again (its worker died)';
COMMENT ON COLUMN trade.signal.attempts IS 'How often the signal was claimed; at 5 the next claim gives up (REJECTED, reason error)';

CREATE TABLE trade."order" (
    order_id         uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    client_order_id  text NOT NULL UNIQUE,
    deployment_id    uuid NOT NULL REFERENCES trade.deployment (deployment_id),
    signal_id        uuid NOT NULL REFERENCES trade.signal (signal_id),
    user_id          text NOT NULL,
    leg              text NOT NULL CHECK (leg IN ('close', 'open')),
    side             text NOT NULL CHECK (side IN ('BUY', 'SELL')),
    qty              numeric NOT NULL CHECK (qty > 0),
    reduce_only      boolean NOT NULL DEFAULT false,
    symbol           text NOT NULL,
    broker           text NOT NULL,
    order_type       text NOT NULL DEFAULT 'MARKET',
    status           text NOT NULL DEFAULT 'NEW'
                     CHECK (status IN ('NEW', 'SENT', 'FILLED', 'REJECTED', 'CANCELLED', 'UNKNOWN')),
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

CREATE TABLE trade.fill (
    fill_id          uuid PRIMARY KEY DEFAULT quant.uuid_generate_v7(),
    order_id         uuid NOT NULL UNIQUE REFERENCES trade."order" (order_id),
    deployment_id    uuid NOT NULL REFERENCES trade.deployment (deployment_id),
    user_id          text NOT NULL,
    client_order_id  text NOT NULL,
    side             text NOT NULL CHECK (side IN ('BUY', 'SELL')),
    qty              numeric NOT NULL CHECK (qty > 0),
    price            numeric NOT NULL CHECK (price > 0),
    fee              numeric NOT NULL DEFAULT 0,
    ts               timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX fill_deployment_idx ON trade.fill (deployment_id, ts);
COMMENT ON TABLE trade.fill IS 'Fills of trade."order" rows as the broker reported them (one per market order)';

CREATE TABLE trade.position (
    deployment_id  uuid PRIMARY KEY REFERENCES trade.deployment (deployment_id),
    user_id        text NOT NULL,
    symbol         text NOT NULL,
    qty            numeric NOT NULL DEFAULT 0,
    avg_price      numeric,
    realized_pnl   numeric NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE trade.position IS 'The position of each deployment as booked from its fills (signed qty, average entry price, realised P&L); the broker''s report is authoritative and must agree';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['order', 'fill', 'position'] LOOP
        EXECUTE format('ALTER TABLE trade.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE trade.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON trade.%I USING (user_id = pg_catalog.current_setting(''quant.user'', true)) '
                       'WITH CHECK (user_id = pg_catalog.current_setting(''quant.user'', true))', t || '_own', t);
        PERFORM pg_catalog.pg_extension_config_dump(format('trade.%I', t)::regclass, '');
    END LOOP;
END
$$;
-- the REST layer reads them; only quant-worker writes
GRANT SELECT ON trade."order", trade.fill, trade.position TO quant_app;

-- ---- the worker's SQL (quant-worker calls these; not granted to quant_app) ----

CREATE FUNCTION trade.worker_claim(worker text, lease_seconds double precision DEFAULT 60,
                                   max_attempts integer DEFAULT 5) RETURNS trade.signal
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lease constant interval := make_interval(secs => lease_seconds);
    cand record;
    g trade.signal;
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
  'quant-worker: claims the oldest PENDING signal (or a PROCESSING one whose claim is this worker''s own or older than the lease) with FOR UPDATE SKIP LOCKED, one signal per deployment at a time; sets PROCESSING, claimed_by, claimed_at, attempts + 1. After max_attempts claims it gives up (REJECTED, reason error). NULL when there is nothing to do. SECURITY DEFINER (sees every user''s signals).';
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

CREATE FUNCTION trade.worker_context(sid uuid, for_leg text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g trade.signal;
    d trade.deployment;
    px record;
    since timestamptz;
BEGIN
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = sid;
    IF g.signal_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO d FROM trade.deployment t WHERE t.deployment_id = g.deployment_id;
    SELECT b.close, b.ts INTO px FROM md.bar b WHERE b.ticker = g.ticker ORDER BY b.ts DESC LIMIT 1;
    -- repeated rejects count since the last success, or since the deployment was last changed
    -- (re-enabling it is a change): the pause ends when a person acts
    SELECT max(l.ts) INTO since FROM trade.log l WHERE l.deployment_id = d.deployment_id AND l.success;
    since := greatest(coalesce(since, '-infinity'), d.updated_at);
    RETURN jsonb_build_object(
        'signal_id', g.signal_id, 'deployment_id', d.deployment_id, 'user_id', g.user_id, 'signal', g.signal,
        'bar_ts', g.bar_ts, 'data_ticker', g.ticker, 'status', g.status, 'claimed_by', g.claimed_by,
        'symbol', d.ticker, 'broker', d.broker, 'qty', d.qty,
        'enabled', coalesce(d.enabled AND d.stopped_at IS NULL, false),
        'risk_limits', d.risk_limits,
        'price', px.close, 'price_ts', px.ts,
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
  'quant-worker: what it needs to know about a signal before an order (the database''s half of the risk facts): the signal, its deployment (enabled = not disabled and not stopped, qty, risk_limits, broker symbol), the latest price of the data ticker, trades today (UTC, not rejected), orders in the last minute, REJECTED rows since the last success or change, whether the leg was already acted on, and the deployment''s open orders.';

CREATE FUNCTION trade.worker_insert_intent(sid uuid, leg text, client_order_id text, side text, qty numeric,
                                           reduce_only boolean, worker text) RETURNS trade."order"
LANGUAGE plpgsql VOLATILE
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
    VALUES (client_order_id, d.deployment_id, g.signal_id, g.user_id, leg, side, qty, reduce_only, d.ticker, d.broker,
            worker)
    RETURNING * INTO o;  -- 23505 when this client order id (or leg of the signal) exists: never twice
    RETURN o;
END
$$;
COMMENT ON FUNCTION trade.worker_insert_intent(uuid, text, text, text, numeric, boolean, text) IS
  'quant-worker: the order intent (status NEW) of one leg of a signal; the caller commits it with synchronous_commit = on before sending. 23505 when the client order id exists (never sent twice).';

CREATE FUNCTION trade.worker_log(sid uuid, action text, reason text, message text, qty numeric DEFAULT NULL,
                                 finish text DEFAULT NULL) RETURNS trade.log
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g trade.signal;
    l trade.log;
BEGIN
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = sid;
    INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, success, message, reason, bar_ts)
    VALUES (g.deployment_id, g.signal_id, g.user_id, g.signal, action, qty, action <> 'REJECTED', message, reason, g.bar_ts)
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
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE trade.signal s SET status = finish, processed_at = now() WHERE s.signal_id = sid;
$$;
COMMENT ON FUNCTION trade.worker_finish(uuid, text) IS 'quant-worker: a signal''s final status (DONE or REJECTED), or PENDING to hand it back.';

CREATE FUNCTION trade.worker_record_outcome(coid text, status text, broker_order_id text, filled_qty numeric,
                                            fill_price numeric, fee numeric, message text, finish text DEFAULT NULL)
RETURNS trade."order"
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o trade."order";
    g trade.signal;
    p trade.position;
    pa record;
    delta numeric;
BEGIN
    SELECT * INTO o FROM trade."order" x WHERE x.client_order_id = coid FOR UPDATE;
    IF o.order_id IS NULL THEN
        RAISE EXCEPTION 'trade.worker_record_outcome: no order with client id %', coid USING ERRCODE = 'P0002';
    END IF;
    IF status NOT IN ('SENT', 'FILLED', 'REJECTED', 'CANCELLED', 'UNKNOWN') THEN
        RAISE EXCEPTION 'trade.worker_record_outcome: bad status %', status USING ERRCODE = '22023';
    END IF;
    SELECT * INTO g FROM trade.signal s WHERE s.signal_id = o.signal_id;
    IF o.status NOT IN ('FILLED', 'REJECTED', 'CANCELLED') THEN  -- a terminal outcome is recorded once
        UPDATE trade."order" x
           SET status = worker_record_outcome.status,
               broker_order_id = coalesce(worker_record_outcome.broker_order_id, x.broker_order_id),
               filled_qty = coalesce(worker_record_outcome.filled_qty, 0),
               avg_fill_price = worker_record_outcome.fill_price,
               fee = coalesce(worker_record_outcome.fee, 0),
               sent_at = coalesce(x.sent_at, clock_timestamp()),
               resolved_at = CASE WHEN worker_record_outcome.status IN ('FILLED', 'REJECTED', 'CANCELLED')
                                  THEN clock_timestamp() END,
               reason = message
         WHERE x.order_id = o.order_id
        RETURNING * INTO o;
        IF status = 'FILLED' AND coalesce(filled_qty, 0) > 0 THEN
            INSERT INTO trade.fill (order_id, deployment_id, user_id, client_order_id, side, qty, price, fee)
            VALUES (o.order_id, o.deployment_id, o.user_id, o.client_order_id, o.side, filled_qty, fill_price,
                    coalesce(fee, 0));
            delta := CASE WHEN o.side = 'BUY' THEN filled_qty ELSE -filled_qty END;
            SELECT * INTO p FROM trade.position x WHERE x.deployment_id = o.deployment_id FOR UPDATE;
            pa := quant.position_after(p.qty, p.avg_price, delta, fill_price);
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
            VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, o.side, filled_qty, fill_price, o.client_order_id,
                    true, message, g.bar_ts);
        ELSIF status IN ('REJECTED', 'CANCELLED') THEN
            INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, order_id, success,
                                   message, reason, bar_ts)
            VALUES (o.deployment_id, o.signal_id, o.user_id, g.signal, 'REJECTED', o.qty, o.client_order_id, false,
                    message, CASE status WHEN 'REJECTED' THEN 'broker_rejected' ELSE 'broker_cancelled' END, g.bar_ts);
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
  'quant-worker: the broker''s answer for an order, in one transaction: the order''s status (SENT, FILLED, REJECTED, CANCELLED, UNKNOWN), for a fill trade.fill, trade.position and a BUY/SELL trade.log row (order_id = the client order id), for a rejection a REJECTED row (reason broker_rejected); optionally the signal''s final status. A terminal outcome is recorded once (a second call changes nothing).';

-- ---- reading it (the current user's) ----
CREATE FUNCTION quant.deployment_orders(id uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE
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

CREATE FUNCTION quant.deployment_position(id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d trade.deployment := trade.own_deployment(id, 'quant.deployment_position', false);
    p trade.position;
BEGIN
    SELECT * INTO p FROM trade.position x WHERE x.deployment_id = d.deployment_id AND x.user_id = d.user_id;
    RETURN jsonb_build_object('deployment_id', d.deployment_id, 'symbol', coalesce(p.symbol, d.ticker),
                              'qty', coalesce(p.qty, 0), 'avg_price', p.avg_price,
                              'realized_pnl', coalesce(p.realized_pnl, 0), 'updated_at', p.updated_at);
END
$$;
COMMENT ON FUNCTION quant.deployment_position(uuid) IS
  'The booked position of a deployment of the current user: symbol, qty (signed), avg_price, realized_pnl. P0002 when not yours.';
GRANT EXECUTE ON FUNCTION quant.deployment_orders(uuid), quant.deployment_position(uuid) TO quant_app;

-- ---- make run: a sample deployment so a new user sees the loop ----
CREATE FUNCTION quant.install_sample_deployment() RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    prev_user text := pg_catalog.current_setting('quant.user', true);
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
    PERFORM pg_catalog.set_config('quant.user', coalesce(prev_user, ''), true);
    RETURN jsonb_build_object('user', 'demo', 'strategy_id', sid, 'deployment_id', did, 'run', r);
END
$$;
COMMENT ON FUNCTION quant.install_sample_deployment() IS
  'make run: for user demo, a sample RSI strategy on TTRC deployed on PAPER (daily_close, qty 10, max_bar_age_hours null) and one quant.run_deployment, so a signal exists for quant-worker. Idempotent (an existing deployment is reused; the duplicate guard writes no second signal).';
REVOKE ALL ON FUNCTION quant.install_sample_deployment() FROM PUBLIC;

-- ---- ../sql/TRADE/stop_loss.sql
-- The stop loss of the live loop (issue 4, item 4; seed §4 "flatten the position if the
-- unrealised loss passes stop_loss_pct"): checked every minute by pg_cron (job quant_stop_loss
-- of quant.install_schedules) against the latest price, not only on the deployment's schedule.
--
-- quant.check_stop_losses() looks at every enabled, not stopped deployment of every user with a
-- non-zero booked position (trade.position). When the core's rule (quant.stop_loss_triggered,
-- the C++ quant::stop_loss_triggered) says the loss at the latest close of the strategy's data
-- ticker passes risk_limits.stop_loss_pct, it writes a flattening signal (signal 0,
-- source 'stop_loss') for that bar, a trade.log row (action HOLD, reason stop_loss) and NOTIFYs
-- quant_signal. quant-worker executes it like any signal: the risk checks, then reduce-only
-- legs (so the position, notional and cash checks never trap the exit), intent before send.
--
-- Decisions:
--   Duplicate guard. trade.signal gets a column source ('schedule' | 'stop_loss') and its unique
--     key becomes (deployment_id, bar_ts, source): a bar may have its scheduled signal AND one
--     stop-loss signal, never two of either. Re-running the check on the same bar writes nothing
--     (ON CONFLICT DO NOTHING), and while a stop-loss signal of the deployment is still PENDING
--     or PROCESSING no other is written (a worker that is down does not collect one per bar).
--   No re-entry on the same bar. trade.run_one (the schedule) treats any signal of the bar as
--     the duplicate guard, so after a stop loss on bar X the schedule does not evaluate bar X
--     again (outcome DUPLICATE, nothing written); the strategy may re-enter from the next bar on.
--     A stop-loss signal written after the bar's scheduled one is processed after it (claims
--     go in created_at order, one signal per deployment at a time), so the flatten is last.
--   Stale prices. The stale-bar limit of the deployment (trade.max_bar_age_hours) applies: a
--     price older than it is no evidence of a loss now, and nothing is written (silently: the
--     schedule already logs stale_bar, and a row a minute would drown the log).
--   The log row is action HOLD (the row itself places no order; the worker's fill rows follow)
--     with success true: it ends a pause after repeated rejects (trade.worker_context counts
--     rejects since the last success), so the exit is not trapped by `paused`. The kill switch,
--     max_daily_trades and the throttle still apply to the flatten (the core's check order);
--     a flatten they block is a REJECTED row, and the next bar's check tries again.
--   Disabled or stopped deployments are not checked (the kill switch blocks their orders).
-- Each deployment is checked as its owner in its own subtransaction: one failing deployment is
-- a WARNING and never stops the others.

ALTER TABLE trade.signal
    ADD COLUMN source text NOT NULL DEFAULT 'schedule' CHECK (source IN ('schedule', 'stop_loss'));
COMMENT ON COLUMN trade.signal.source IS 'Who wrote the signal: schedule (quant.run_schedule, quant.run_deployment: the strategy''s evaluation) or stop_loss (quant.check_stop_losses: a flattening signal 0). Part of the duplicate guard (deployment_id, bar_ts, source)';
ALTER TABLE trade.signal DROP CONSTRAINT signal_deployment_id_bar_ts_key;
ALTER TABLE trade.signal ADD CONSTRAINT signal_deployment_id_bar_ts_source_key UNIQUE (deployment_id, bar_ts, source);
CREATE INDEX signal_stop_loss_open_idx ON trade.signal (deployment_id)
    WHERE source = 'stop_loss' AND status IN ('PENDING', 'PROCESSING');

CREATE FUNCTION quant.stop_loss_triggered("position" double precision, average_price double precision,
                                          last_price double precision, stop_loss_pct double precision)
RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_stop_loss_triggered_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION quant.stop_loss_triggered(double precision, double precision, double precision, double precision) IS
  'The core''s stop-loss rule (quant::stop_loss_triggered): true when the unrealised loss of a signed position bought at average_price, valued at last_price, is more than stop_loss_pct percent of its entry value (a long loses when the price falls, a short when it rises). False for a flat position, a non-positive price or limit. numeric arguments are cast implicitly.';

CREATE FUNCTION trade.stop_loss_one(d trade.deployment, p trade.position) RETURNS trade.signal
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    data_ticker text;
    px record;
    max_age double precision;
    pct double precision := coalesce((d.risk_limits->>'stop_loss_pct')::double precision, 5.0);
    loss_pct numeric;
    g trade.signal;
BEGIN
    SELECT v.config->>'ticker' INTO data_ticker FROM bt.strategy_version v
    WHERE v.strategy_id = d.strategy_id AND v.version = d.strategy_version;
    SELECT b.close, b.ts INTO px FROM md.bar b WHERE b.ticker = data_ticker ORDER BY b.ts DESC LIMIT 1;
    IF px.ts IS NULL THEN
        RETURN NULL;  -- no price: nothing to judge (the worker fails closed on the next signal)
    END IF;
    max_age := trade.max_bar_age_hours(d);
    IF max_age IS NOT NULL AND now() - px.ts > max_age * interval '1 hour' THEN
        RETURN NULL;  -- a stale price is no evidence of a loss now
    END IF;
    IF NOT quant.stop_loss_triggered(p.qty, p.avg_price, px.close, pct) THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM trade.signal s
               WHERE s.deployment_id = d.deployment_id AND s.source = 'stop_loss'
                 AND s.status IN ('PENDING', 'PROCESSING')) THEN
        RETURN NULL;  -- the flatten is on its way
    END IF;
    loss_pct := round(((px.close::numeric - p.avg_price) / p.avg_price * -sign(p.qty) * 100), 4);
    INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, evaluation, strategy_version, ticker, source)
    VALUES (d.deployment_id, d.user_id, px.ts, 0,
            jsonb_build_object('source', 'stop_loss', 'ticker', data_ticker, 'bar_ts', px.ts, 'signal', 0,
                               'position', p.qty, 'avg_price', p.avg_price, 'last_price', px.close,
                               'loss_pct', loss_pct, 'stop_loss_pct', pct),
            d.strategy_version, data_ticker, 'stop_loss')
    ON CONFLICT (deployment_id, bar_ts, source) DO NOTHING
    RETURNING * INTO g;
    IF g.signal_id IS NULL THEN
        RETURN NULL;  -- this bar's stop loss was written before: one per deployment and bar
    END IF;
    INSERT INTO trade.log (deployment_id, signal_id, user_id, signal_value, action, qty, price, success, message,
                           reason, bar_ts)
    VALUES (d.deployment_id, g.signal_id, d.user_id, 0, 'HOLD', abs(p.qty), px.close, true,
            format('stop loss: %s %s bought at %s, now %s (%s bar): a loss of %s%% passes stop_loss_pct %s; flattening (signal %s)',
                   p.qty, d.ticker, p.avg_price, px.close, px.ts, loss_pct, pct, g.signal_id),
            'stop_loss', px.ts);
    PERFORM pg_catalog.pg_notify('quant_signal', g.signal_id::text);
    RETURN g;
END
$$;
COMMENT ON FUNCTION trade.stop_loss_one(trade.deployment, trade.position) IS
  'Internal: the stop-loss check of one deployment and its booked position: when quant.stop_loss_triggered holds at the latest (not stale) close of the strategy''s data ticker, a flattening signal (signal 0, source stop_loss) for that bar, a trade.log row (HOLD, reason stop_loss) and a NOTIFY on quant_signal; returns the signal, or NULL when nothing was written (no loss, no or stale price, a stop-loss signal still open, or this bar''s written already).';
REVOKE ALL ON FUNCTION trade.stop_loss_one(trade.deployment, trade.position) FROM PUBLIC;

CREATE FUNCTION quant.check_stop_losses() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    prev_user text := pg_catalog.current_setting('quant.user', true);
    r record;
    g trade.signal;
    written integer := 0;
BEGIN
    -- every user's deployments: the caller is pg_cron's job owner, not a quant user
    FOR r IN SELECT d AS dep, p AS pos
             FROM trade.deployment d JOIN trade.position p ON p.deployment_id = d.deployment_id
             WHERE d.enabled AND d.stopped_at IS NULL AND p.qty <> 0
             ORDER BY d.user_id, d.deployment_id
    LOOP
        BEGIN  -- a subtransaction: one failing deployment never stops the others
            PERFORM pg_catalog.set_config('quant.user', (r.dep).user_id, true);
            g := trade.stop_loss_one(r.dep, r.pos);
            IF g.signal_id IS NOT NULL THEN
                written := written + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'quant.check_stop_losses: deployment % failed: %', (r.dep).deployment_id, SQLERRM;
        END;
    END LOOP;
    PERFORM pg_catalog.set_config('quant.user', coalesce(prev_user, ''), true);
    RETURN written;
END
$$;
COMMENT ON FUNCTION quant.check_stop_losses() IS
  'The minute stop-loss check (pg_cron job quant_stop_loss): for every enabled, not stopped deployment of every user with a non-zero booked position whose loss at the latest close passes risk_limits.stop_loss_pct (quant.stop_loss_triggered, the core''s rule), a flattening signal (signal 0, source stop_loss, one per deployment and bar) that quant-worker executes through its risk checks, a trade.log row (HOLD, reason stop_loss) and a NOTIFY on quant_signal. Each deployment as its owner, in its own subtransaction. Returns the number of signals written. SECURITY DEFINER, not granted to PUBLIC or quant_app.';
REVOKE ALL ON FUNCTION quant.check_stop_losses() FROM PUBLIC;
