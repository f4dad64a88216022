-- Broker credentials (issue 12 part 2): one API key and secret per user, broker and environment
-- (BYBIT: mainnet, testnet, demo). The secret is stored only as libsodium secretbox ciphertext +
-- nonce under the key in the file named by the setting quant.credential_key_file (outside the
-- database: a dump alone never reveals a secret), with a keyed fingerprint to tell keys apart.
-- It is never logged (errors of the setter never carry the statement), never returned (only
-- the fingerprint), rotatable (setting it again replaces it), and opened only by quant-worker
-- just before use (it reads the same key file). The threat model: sql/README.md, "Broker
-- credentials".
--
-- FUTU (issue 14): environment real holds the trade password that unlocks OpenD's REAL trading,
-- under the OpenD accID (or default) as the key; paper FUTU deployments (SIMULATE) need none.
--
-- A BYBIT deployment needs the credentials of its environment (paper = true trades on Bybit's
-- demo account, paper = false on mainnet): deploying, enabling or switching one without them is
-- refused (trigger below).
CREATE TABLE trade.broker_credential (
    user_id      text NOT NULL,
    broker       text NOT NULL REFERENCES refdata.broker (broker),
    environment  text NOT NULL CHECK (environment IN ('mainnet', 'testnet', 'demo', 'simulate', 'real')),
    api_key      text NOT NULL CHECK (api_key ~ '^[A-Za-z0-9_-]{1,128}$'),
    nonce        bytea NOT NULL CHECK (length(nonce) = 24),
    ciphertext   bytea NOT NULL,
    fingerprint  text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{16}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    rotated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, broker, environment)
);
COMMENT ON TABLE trade.broker_credential IS 'Broker API credentials per user, broker and environment: the secret only as secretbox ciphertext under the key file of quant.credential_key_file. No grants: reached through quant.set_broker_credential, quant.list_broker_credentials, quant.delete_broker_credential and trade.worker_credential.';
COMMENT ON COLUMN trade.broker_credential.environment IS 'BYBIT: mainnet, testnet or demo (a Bybit key works on its own environment only); FUTU: real (the trade password) or simulate';
COMMENT ON COLUMN trade.broker_credential.ciphertext IS 'crypto_secretbox_easy of the secret bound to (user, broker, environment, api_key); opens only with the key file';
COMMENT ON COLUMN trade.broker_credential.fingerprint IS '16 hex characters of BLAKE2b(api_key, secret) keyed with the key file: tells keys apart, reveals nothing';
ALTER TABLE trade.broker_credential ENABLE ROW LEVEL SECURITY;
ALTER TABLE trade.broker_credential FORCE ROW LEVEL SECURITY;
CREATE POLICY broker_credential_own ON trade.broker_credential
    USING (user_id = quant.current_user_id())
    WITH CHECK (user_id = quant.current_user_id());
REVOKE ALL ON trade.broker_credential FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('trade.broker_credential', '');

CREATE FUNCTION trade.credential_seal(user_id text, broker text, environment text, api_key text, api_secret text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'quant_credential_seal'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION trade.credential_seal(text, text, text, text, text) IS 'Internal: nonce (24 bytes) || secretbox ciphertext of the secret bound to its row, under the key of quant.credential_key_file.';
CREATE FUNCTION trade.credential_fingerprint(api_key text, api_secret text) RETURNS text
AS 'MODULE_PATHNAME', 'quant_credential_fingerprint'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION trade.credential_fingerprint(text, text) IS 'Internal: 16 hex characters of BLAKE2b(api_key "\n" secret) keyed with the credential key.';
REVOKE ALL ON FUNCTION trade.credential_seal(text, text, text, text, text), trade.credential_fingerprint(text, text) FROM PUBLIC;

-- The environment a deployment trades on.
CREATE FUNCTION trade.broker_environment(broker text, paper boolean) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN broker = 'PAPER' THEN NULL
                WHEN broker = 'FUTU' THEN CASE WHEN paper THEN 'simulate' ELSE 'real' END
                WHEN paper THEN 'demo' ELSE 'mainnet' END;
$$;
COMMENT ON FUNCTION trade.broker_environment(text, boolean) IS 'The default broker environment of a deployment (a BYBIT config''s environment, demo or testnet with paper = true, overrides it): BYBIT paper = true trades on the demo account (api-demo.bybit.com, mainnet prices, simulated funds), paper = false on mainnet; FUTU paper = true on OpenD''s SIMULATE environment, paper = false on REAL (unlocked with the trade password); NULL for PAPER.';

CREATE FUNCTION quant.set_broker_credential(broker text, environment text, api_key text, api_secret text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn constant text := 'quant.set_broker_credential';
    me text;
    b text := upper(broker);
    sealed bytea;
    fp text;
    old_fp text;
    problem text;
    field text;
    hint text;
BEGIN
    me := quant.current_user_id();
    -- every refusal goes through quiet_report: the statement holds the secret as a literal
    IF broker IS NULL OR b NOT IN ('BYBIT', 'FUTU') THEN
        problem := 'broker: credentials are for BYBIT or FUTU, got ' || coalesce(broker, 'NULL');
        field := 'broker';
        hint := 'BYBIT, FUTU (PAPER needs none)';
    ELSIF b = 'BYBIT' AND (environment IS NULL OR environment NOT IN ('mainnet', 'testnet', 'demo')) THEN
        problem := 'environment: must be mainnet, testnet or demo, got ' || coalesce(environment, 'NULL');
        field := 'environment';
        hint := 'mainnet, testnet, demo (paper deployments trade on demo)';
    ELSIF b = 'FUTU' AND (environment IS NULL OR environment NOT IN ('real', 'simulate')) THEN
        problem := 'environment: must be real or simulate, got ' || coalesce(environment, 'NULL');
        field := 'environment';
        hint := 'real (paper = false: the trade password unlocks REAL trading), simulate';
    ELSIF b = 'FUTU' AND (api_key IS NULL OR api_key !~ '^([0-9]{1,20}|default)$') THEN
        problem := 'api_key: for FUTU the OpenD account id (accID, digits) or default';
        field := 'api_key';
        hint := 'the accID Trd_GetAccList shows, or default (the first account of the environment and market)';
    ELSIF api_key IS NULL OR api_key !~ '^[A-Za-z0-9_-]{1,128}$' THEN
        problem := 'api_key: must be 1 to 128 characters of A-Z a-z 0-9 _ -';
        field := 'api_key';
        hint := 'the API key Bybit shows (not the secret)';
    ELSIF api_secret IS NULL OR length(api_secret) < 1 OR length(api_secret) > 256 OR api_secret ~ '[[:space:][:cntrl:]]' THEN
        problem := 'api_secret: must be 1 to 256 characters without spaces or control characters';
        field := 'api_secret';
        hint := 'the API secret Bybit showed once when the key was made';
    END IF;
    IF problem IS NOT NULL THEN
        PERFORM trade.quiet_report('ERROR', CASE WHEN field = 'api_secret' AND api_secret IS NULL THEN '22004' ELSE '22023' END,
                                   fn || ': ' || problem, NULL, hint, field);
    END IF;
    sealed := trade.credential_seal(me, b, environment, api_key, api_secret);
    fp := trade.credential_fingerprint(api_key, api_secret);
    SELECT c.fingerprint INTO old_fp FROM trade.broker_credential c
     WHERE c.user_id = me AND c.broker = b AND c.environment = set_broker_credential.environment;
    INSERT INTO trade.broker_credential AS c (user_id, broker, environment, api_key, nonce, ciphertext, fingerprint)
    VALUES (me, b, environment, api_key, substring(sealed FROM 1 FOR 24), substring(sealed FROM 25), fp)
    ON CONFLICT ON CONSTRAINT broker_credential_pkey DO UPDATE
       SET api_key = excluded.api_key, nonce = excluded.nonce, ciphertext = excluded.ciphertext,
           fingerprint = excluded.fingerprint, rotated_at = now();
    INSERT INTO trade.audit (user_id, entity, action, old_value, new_value, message)
    VALUES (me, 'broker_credential', CASE WHEN old_fp IS NULL THEN 'set' ELSE 'rotated' END,
            CASE WHEN old_fp IS NOT NULL THEN jsonb_build_object('fingerprint', old_fp) END,
            jsonb_build_object('broker', b, 'environment', environment, 'fingerprint', fp),
            b || ' ' || environment || ' credentials ' || CASE WHEN old_fp IS NULL THEN 'set' ELSE 'rotated' END);
    RETURN jsonb_build_object('broker', b, 'environment', environment, 'api_key_hint', trade.api_key_hint(api_key),
                              'fingerprint', fp, 'rotated', old_fp IS NOT NULL);
EXCEPTION WHEN OTHERS THEN
    -- whatever failed below (the key file, a constraint), the statement must not reach the log
    DECLARE
        e_state text;
        e_msg text;
        e_detail text;
        e_hint text;
        e_column text;
    BEGIN
        GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL,
                                e_hint = PG_EXCEPTION_HINT, e_column = COLUMN_NAME;
        PERFORM trade.quiet_report('ERROR', e_state, e_msg, e_detail, e_hint, e_column);
    END;
END
$$;
COMMENT ON FUNCTION quant.set_broker_credential(text, text, text, text) IS
  'Stores (or rotates) the current user''s API key and secret for a broker and environment (BYBIT: mainnet, testnet, demo; FUTU: real or simulate, the key being the OpenD accID or default and the secret the trade password): the secret is encrypted at once (secretbox, key file quant.credential_key_file) and never returned; returns broker, environment, api_key_hint, fingerprint and whether it replaced one. A refusal never logs the statement (it holds the secret).';

CREATE FUNCTION trade.api_key_hint(api_key text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN length(api_key) > 8 THEN left(api_key, 2) || '...' || right(api_key, 4) ELSE '...' END;
$$;
COMMENT ON FUNCTION trade.api_key_hint(text) IS 'Internal: enough of an API key to recognise it (first 2 and last 4 characters).';

CREATE FUNCTION quant.list_broker_credentials()
RETURNS TABLE (broker text, environment text, api_key_hint text, fingerprint text, created_at timestamptz,
               rotated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.broker, c.environment, trade.api_key_hint(c.api_key), c.fingerprint, c.created_at, c.rotated_at
      FROM trade.broker_credential c
     WHERE c.user_id = quant.current_user_id()
     ORDER BY c.broker, c.environment;
$$;
COMMENT ON FUNCTION quant.list_broker_credentials() IS 'The current user''s broker credentials: broker, environment, a hint of the key, the fingerprint; never the secret.';

CREATE FUNCTION quant.delete_broker_credential(broker text, environment text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    me text := quant.current_user_id();
    n integer;
BEGIN
    DELETE FROM trade.broker_credential c
     WHERE c.user_id = me AND c.broker = upper(delete_broker_credential.broker)
       AND c.environment = delete_broker_credential.environment;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        INSERT INTO trade.audit (user_id, entity, action, new_value, message)
        VALUES (me, 'broker_credential', 'deleted',
                jsonb_build_object('broker', upper(broker), 'environment', environment),
                upper(broker) || ' ' || environment || ' credentials deleted');
    END IF;
    RETURN n > 0;
END
$$;
COMMENT ON FUNCTION quant.delete_broker_credential(text, text) IS 'Deletes the current user''s credentials for a broker and environment; true when there were some. Running deployments on it then fail closed (REJECTED connection).';

-- quant-worker: the credentials of a deployment's environment, still sealed (the worker opens
-- them with the key file just before use, bound to the deployment's user).
CREATE FUNCTION trade.worker_credential(deployment_id uuid)
RETURNS TABLE (broker text, environment text, category text, api_key text, nonce bytea, ciphertext bytea,
               booked_qty numeric)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.broker, e.environment, coalesce(d.config->>'category', 'linear'), c.api_key, c.nonce, c.ciphertext,
           coalesce((SELECT p.qty FROM trade.position p WHERE p.deployment_id = d.deployment_id), 0)
      FROM trade.deployment d
      CROSS JOIN LATERAL (SELECT coalesce(d.config->>'environment', trade.broker_environment(d.broker, d.paper)) AS environment) e
      LEFT JOIN trade.broker_credential c
        ON c.user_id = d.user_id AND c.broker = d.broker AND c.environment = e.environment
     WHERE d.deployment_id = worker_credential.deployment_id;
$$;
COMMENT ON FUNCTION trade.worker_credential(uuid) IS 'Internal (quant-worker): broker, environment (the config''s, else demo for paper and mainnet for live), category (spot or linear, default linear), the credentials (still sealed; NULL when none) of a deployment''s user, and the position booked for it (booked_qty: a spot position is the base-coin balance, at most this). SECURITY DEFINER (every user''s deployments, as trade.worker_context).';

-- Deploying, enabling or switching a deployment needs the broker credentials of its environment:
-- BYBIT always (an API key for demo, testnet or mainnet), FUTU for REAL (paper = false: the Futu
-- trade password that unlocks OpenD's REAL environment). Refused at deploy time, not at the first
-- signal; the refusal rolls the whole call back (nothing half-stored).
CREATE FUNCTION trade.deployment_requires_credential() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    env text := coalesce(NEW.config->>'environment', trade.broker_environment(NEW.broker, NEW.paper));
BEGIN
    IF NOT NEW.enabled OR NEW.broker NOT IN ('BYBIT', 'FUTU') OR (NEW.broker = 'FUTU' AND env IS DISTINCT FROM 'real')
       OR EXISTS (SELECT 1 FROM trade.broker_credential c
                   WHERE c.user_id = NEW.user_id AND c.broker = NEW.broker AND c.environment = env) THEN
        RETURN NEW;
    END IF;
    IF NEW.broker = 'FUTU' THEN
        RAISE EXCEPTION 'broker: a REAL FUTU deployment (paper = false) needs %''s Futu trade password in the broker credential store (broker FUTU, environment real): none is stored, so OpenD''s REAL trading could never be unlocked',
                        NEW.user_id
            USING ERRCODE = '22023', COLUMN = 'broker',
                  HINT = 'store it first: SELECT quant.set_broker_credential(''FUTU'', ''real'', ''default'' or the OpenD accID, trade_password), or PUT /api/v1/broker_credentials {"broker": "FUTU", "environment": "real", "api_key": "default", "api_secret": "<the Futu trade password>"}; paper = true (OpenD''s SIMULATE environment) needs none';
    END IF;
    RAISE EXCEPTION 'broker: BYBIT needs %''s API credentials for the % environment (paper = % trades on %)',
                    NEW.user_id, env, NEW.paper,
                    CASE env WHEN 'demo' THEN 'Bybit''s demo account' WHEN 'testnet' THEN 'Bybit''s testnet' ELSE 'mainnet' END
        USING ERRCODE = '22023', COLUMN = 'broker',
              HINT = format('store them first: SELECT quant.set_broker_credential(''BYBIT'', %L, api_key, api_secret)', env);
END
$$;
COMMENT ON FUNCTION trade.deployment_requires_credential() IS 'Internal: refuses an enabled BYBIT deployment whose user has no credentials for its environment, and an enabled REAL FUTU deployment (paper = false) whose user has no FUTU real credential (the trade password): 22023 naming broker, the hint says how to store it.';
REVOKE ALL ON FUNCTION trade.deployment_requires_credential() FROM PUBLIC;
CREATE TRIGGER deployment_requires_credential
    BEFORE INSERT OR UPDATE OF broker, paper, enabled, config ON trade.deployment
    FOR EACH ROW EXECUTE FUNCTION trade.deployment_requires_credential();
