-- Users: who the current caller is (the roles are in roles.sql).
--
-- The current quant user is held in backend memory by the extension (extension/src/
-- user_context.c), not in a setting: no SET or set_config can choose it. It is set
-- - for a REST request's transaction by quant.login_api_key (TRADE/api_key.sql), the only way
--   quant_app gets a user;
-- - by quant.set_user(name[, is_local]) in psql, which only a superuser, a member of
--   quant_admin, or the login whose name is `name` may call;
-- - by the live loop's SECURITY DEFINER functions, as each deployment's owner in turn
--   (trade.set_transaction_user, internal).
-- Every quant.* function acts only on the rows whose user_id is quant.current_user_id(), even
-- when a superuser calls it; row-level security with FORCE backs that up. No current user is
-- ERROR 28000 (invalid_authorization_specification), distinct from 42501 (insufficient_privilege):
-- "who are you?" versus "you may not".

CREATE FUNCTION quant.set_user(name text, is_local boolean DEFAULT false) RETURNS text
AS 'MODULE_PATHNAME', 'quant_set_user'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION quant.set_user(text, boolean) IS
  'Sets the current quant user, for the session (psql) or with is_local = true for the current transaction; returns the name. Allowed to a superuser, a member of quant_admin, the login role of that very name, or when it is already the current user; otherwise 42501. The REST layer logs in with quant.login_api_key instead.';

CREATE FUNCTION quant.reset_user() RETURNS void
AS 'MODULE_PATHNAME', 'quant_reset_user'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION quant.reset_user() IS 'No current quant user any more (for the session and the transaction).';

CREATE FUNCTION quant.current_user_id() RETURNS text
AS 'MODULE_PATHNAME', 'quant_current_user_id'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION quant.current_user_id() IS
  'The current quant user (set by quant.login_api_key or quant.set_user); ERROR 28000 when none is set. Used by every quant.* function and by the row-level security policies. PARALLEL RESTRICTED: the user lives in the backend''s memory.';

CREATE FUNCTION quant.authenticated() RETURNS boolean
AS 'MODULE_PATHNAME', 'quant_authenticated'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION quant.authenticated() IS
  'Whether a quant user is set for this transaction or session. The REST layer runs a request''s statement only WHERE quant.authenticated(), so a failed login raises no ERROR.';

CREATE FUNCTION trade.set_transaction_user(user_id text) RETURNS text
AS 'MODULE_PATHNAME', 'quant_set_transaction_user'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION trade.set_transaction_user(text) IS
  'Internal (no grants): the quant user for the rest of the transaction (NULL: none), for the SECURITY DEFINER functions that log in or act as each deployment''s owner.';
REVOKE ALL ON FUNCTION trade.set_transaction_user(text) FROM PUBLIC;
