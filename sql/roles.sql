-- The roles of quant. Roles are cluster-wide, so a second database's CREATE EXTENSION finds them
-- already there; none of them owns anything.

-- The application role: NOLOGIN (a login role is GRANTed it), no BYPASSRLS, owns nothing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'quant_app') THEN
        CREATE ROLE quant_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA quant, md, refdata, bt, trade TO quant_app;

-- The administrators' role: NOLOGIN, owns nothing; cluster-wide, like quant_app.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'quant_admin') THEN
        CREATE ROLE quant_admin NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA quant, trade TO quant_admin;

