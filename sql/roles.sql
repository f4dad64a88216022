-- The roles of quant. Roles are cluster-wide, so a second database's CREATE EXTENSION finds them
-- already there. All are NOLOGIN (GRANT them to login roles), without BYPASSRLS, and own
-- nothing; what each may do is in sql/grants.sql and sql/privileges.md.

-- quant_app: the REST layer (quant-http SET ROLEs to it). Only the API functions; no table.
-- quant_worker: quant-worker (SET ROLE at connect). Only trade.worker_* and the paper broker.
-- NOINHERIT: a login granted them has their rights only after SET ROLE.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['quant_app', 'quant_worker'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS', r);
        END IF;
    END LOOP;
END
$$;
GRANT USAGE ON SCHEMA quant, md, refdata, bt, trade TO quant_app;
GRANT USAGE ON SCHEMA quant, md, refdata, trade, paper TO quant_worker;

-- quant_admin: administrators (keys for any user, acting as any user with quant.set_user).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'quant_admin') THEN
        CREATE ROLE quant_admin NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA quant, trade TO quant_admin;
