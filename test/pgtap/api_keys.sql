-- API keys: create (for yourself; an administrator for anyone), authenticate, list, revoke;
-- only a keyed hash stored; NULL arguments and invalid fields; a failing call stores nothing;
-- isolation between users through the functions and through the table as quant_app.
BEGIN;
SELECT plan(64);
SET LOCAL client_min_messages = warning;
\ir helpers.psql

CREATE TEMP TABLE k (name text PRIMARY KEY, key text);
GRANT ALL ON k TO PUBLIC;

-- signatures, grants
SELECT function_returns('quant', 'create_api_key', ARRAY['text', 'text'], 'text', 'create_api_key(text, text) returns text');
SELECT function_returns('quant', 'revoke_api_key', ARRAY['uuid'], 'jsonb', 'revoke_api_key(uuid) returns jsonb');
SELECT function_returns('quant', 'list_api_keys', ARRAY['boolean'], 'setof jsonb', 'list_api_keys(boolean) returns setof jsonb');
SELECT function_returns('quant', 'authenticate_api_key', ARRAY['text'], 'text', 'authenticate_api_key(text) returns text');
SELECT is_definer('quant', 'login_api_key', ARRAY['text'], 'login_api_key is SECURITY DEFINER');
SELECT isnt_definer('quant', 'create_api_key', ARRAY['text', 'text'], 'create_api_key is SECURITY INVOKER (it calls trade.api_key_create_own or, for an administrator, _for)');
SELECT ok(has_function_privilege('quant_app', 'quant.authenticate_api_key(text)', 'EXECUTE'), 'quant_app may authenticate keys');
SELECT ok(NOT has_function_privilege('quant_admin', 'quant.authenticate_api_key(text)', 'EXECUTE'), '... PUBLIC may not');
SELECT ok(NOT has_function_privilege('quant_app', 'trade.hmac_sha256(bytea, text)', 'EXECUTE')
          AND NOT has_function_privilege('quant_app', 'trade.api_key_pepper(boolean)', 'EXECUTE'),
          'quant_app cannot reach the pepper or hash chosen keys');
SELECT is((SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'trade' AND c.relname IN ('api_key', 'api_key_pepper') AND c.relrowsecurity AND c.relforcerowsecurity),
          2, 'api_key and api_key_pepper: RLS enabled and forced');
SELECT is(obj_description('quant.create_api_key(text, text)'::regprocedure, 'pg_proc') IS NOT NULL
          AND obj_description('quant.revoke_api_key(uuid)'::regprocedure, 'pg_proc') IS NOT NULL
          AND obj_description('quant.list_api_keys(boolean)'::regprocedure, 'pg_proc') IS NOT NULL
          AND obj_description('quant.authenticate_api_key(text)'::regprocedure, 'pg_proc') IS NOT NULL
          AND obj_description('trade.api_key'::regclass, 'pg_class') IS NOT NULL, true, 'the API is commented');

-- no current user (as the application role, which is no administrator)
SET LOCAL ROLE quant_app;
SELECT pg_temp.sqlstate_of($$SELECT quant.create_api_key('tap_key_alice')$$) AS app_no_user_create,
       pg_temp.sqlstate_of($$SELECT quant.list_api_keys()$$) AS app_no_user_list,
       pg_temp.sqlstate_of($$SELECT quant.revoke_api_key(quant.uuid_generate_v7())$$) AS app_no_user_revoke \gset
RESET ROLE;
SELECT is(:'app_no_user_create'::text, '28000', 'create without a current user: 28000');
SELECT is(:'app_no_user_list'::text, '28000', 'list without a current user: 28000');
SELECT is(:'app_no_user_revoke'::text, '28000', 'revoke without a current user: 28000');

-- alice makes her own key (as quant_app: the REST layer's role)
SELECT quant.set_user('tap_key_alice') \gset
SET LOCAL ROLE quant_app;
INSERT INTO k SELECT 'a1', quant.create_api_key('tap_key_alice', 'laptop');
INSERT INTO k SELECT 'a2', quant.create_api_key('tap_key_alice');
RESET ROLE;
SELECT ok((SELECT key ~ '^qk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$' FROM k WHERE name = 'a1'), 'the key looks like qk_<key_id>_<43 base64url>');
SELECT isnt((SELECT key FROM k WHERE name = 'a1'), (SELECT key FROM k WHERE name = 'a2'), 'two keys differ');
SELECT is((SELECT count(*)::int FROM trade.api_key WHERE user_id = 'tap_key_alice'), 2, 'two keys stored');
SELECT is((SELECT substr(key_id::text, 15, 1) FROM trade.api_key ORDER BY created_at LIMIT 1), '7', 'key_id is a UUIDv7');
SELECT is((SELECT count(*)::int FROM trade.api_key a, k
           WHERE position(k.key IN row_to_json(a)::text) > 0
              OR position(encode(sha256(convert_to(k.key, 'UTF8')), 'hex') IN row_to_json(a)::text) > 0
              OR a.key_hash = sha256(convert_to(k.key, 'UTF8'))), 0,
          'neither the key nor its plain sha256 is stored anywhere in the row');
SELECT is((SELECT length(key_hash) FROM trade.api_key ORDER BY created_at LIMIT 1), 32, 'a 32-byte keyed hash is stored');
SELECT is((SELECT count(*)::int FROM trade.api_key_pepper), 1, 'the pepper was made on first use');

-- authenticate
SET LOCAL ROLE quant_app;
SELECT quant.authenticate_api_key(key) AS auth_ok,
       coalesce(quant.authenticate_api_key(left(key, -1) || CASE WHEN right(key, 1) = 'A' THEN 'B' ELSE 'A' END), '<null>') AS auth_wrong,
       coalesce(quant.authenticate_api_key('qk_' || replace(quant.uuid_generate_v7()::text, '-', '') || substr(key, 36)), '<null>') AS auth_unknown,
       coalesce(quant.authenticate_api_key('Bearer ' || key), '<null>') AS auth_malformed,
       coalesce(quant.authenticate_api_key(''), '<null>') AS auth_empty,
       pg_temp.sqlstate_of('SELECT quant.authenticate_api_key(NULL)') AS auth_null
  FROM k WHERE name = 'a1' \gset
RESET ROLE;
SELECT is(:'auth_ok'::text, 'tap_key_alice', 'authenticate: the key''s user');
SELECT is(:'auth_wrong'::text, '<null>', 'authenticate: a wrong secret is NULL');
SELECT is(:'auth_unknown'::text, '<null>', 'authenticate: an unknown key_id is NULL');
SELECT is(:'auth_malformed'::text, '<null>', 'authenticate: a malformed key is NULL');
SELECT is(:'auth_empty'::text, '<null>', 'authenticate: an empty key is NULL');
SELECT is(:'auth_null'::text, '00000', 'authenticate(NULL): NULL, no ERROR');
SELECT ok((SELECT last_used_at IS NULL FROM trade.api_key a JOIN k ON k.name = 'a1'
           AND a.key_id = substr(k.key, 4, 32)::uuid), 'a login writes nothing in its own transaction (last_used_at is written beside it)');
SELECT is(quant.authenticated(), false, 'after a failed login there is no current user, even the session''s');
SELECT quant.set_user('tap_key_alice') \gset

-- list: never the key or its hash
SELECT is((SELECT count(*)::int FROM quant.list_api_keys()), 2, 'list_api_keys lists both');
SELECT is((SELECT array_agg(x ORDER BY x) FROM (SELECT DISTINCT jsonb_object_keys(j) AS x FROM quant.list_api_keys() j) s),
          ARRAY['created_at', 'created_by', 'key_id', 'label', 'last_used_at', 'revoked_at', 'status', 'user'],
          'list_api_keys: metadata only');
SELECT is((SELECT j->>'label' FROM quant.list_api_keys() j ORDER BY j->>'created_at' LIMIT 1), 'laptop', 'the label is kept');

-- invalid arguments; a failing call stores nothing
SELECT throws_ok($$SELECT quant.create_api_key(NULL)$$, '22004', NULL, 'create_api_key(NULL): 22004');
SELECT throws_ok($$SELECT quant.create_api_key('bad name; drop')$$, '22023', NULL, 'a bad user name: 22023');
SELECT throws_ok($$SELECT quant.create_api_key('')$$, '22023', NULL, 'an empty user name: 22023');
SELECT throws_ok($$SELECT quant.create_api_key('tap_key_alice', repeat('x', 201))$$, '22023', NULL, 'a label over 200 characters: 22023');
SELECT throws_ok($$SELECT quant.create_api_key('tap_key_alice', E'a\nb')$$, '22023', NULL, 'a label with a control character: 22023');
SELECT throws_ok($$SELECT quant.revoke_api_key(NULL)$$, '22004', NULL, 'revoke_api_key(NULL): 22004');
SELECT throws_ok($$SELECT quant.revoke_api_key(quant.uuid_generate_v7())$$, 'P0002', NULL, 'revoke an unknown key: P0002');
SELECT is((SELECT count(*)::int FROM trade.api_key WHERE user_id = 'tap_key_alice'), 2, 'failed calls stored nothing');

-- bob, as quant_app: cannot see, use, revoke or create alice's keys
SELECT quant.set_user('tap_key_bob') \gset
SET LOCAL ROLE quant_app;
SELECT (SELECT count(*) FROM quant.list_api_keys(true)) AS bob_list,
       pg_temp.sqlstate_of($$SELECT count(*) FROM trade.api_key$$) AS bob_rows,
       pg_temp.sqlstate_of($$SELECT quant.revoke_api_key(substr(key, 4, 32)::uuid) FROM k WHERE name = 'a1'$$) AS bob_revoke,
       pg_temp.sqlstate_of($$SELECT quant.create_api_key('tap_key_alice')$$) AS bob_create_for_alice,
       pg_temp.sqlstate_of($$INSERT INTO trade.api_key (key_id, user_id, key_hash) VALUES (quant.uuid_generate_v7(), 'tap_key_alice', decode(repeat('00', 32), 'hex'))$$) AS bob_insert_for_alice,
       pg_temp.sqlstate_of($$SELECT key_hash FROM trade.api_key$$) AS bob_read_hash,
       pg_temp.sqlstate_of($$SELECT * FROM trade.api_key_pepper$$) AS bob_read_pepper,
       pg_temp.sqlstate_of($$DELETE FROM trade.api_key$$) AS bob_delete \gset
SELECT pg_temp.sqlstate_of($$UPDATE trade.api_key SET revoked_at = now()$$) AS bob_upd \gset
INSERT INTO k SELECT 'b1', quant.create_api_key('tap_key_bob');
RESET ROLE;
SELECT is(:bob_list::int, 0, 'bob: list_api_keys does not show alice''s keys');
SELECT is(:'bob_rows'::text, '42501', 'quant_app: trade.api_key is not readable');
SELECT is(:'bob_revoke'::text, 'P0002', 'bob: revoking alice''s key is not found');
SELECT is(:'bob_create_for_alice'::text, '42501', 'bob: creating a key for alice is refused (42501)');
SELECT is(:'bob_insert_for_alice'::text, '42501', 'quant_app as bob: inserting a key row for alice is refused');
SELECT is(:'bob_read_hash'::text, '42501', 'quant_app: key_hash is not readable');
SELECT is(:'bob_read_pepper'::text, '42501', 'quant_app: the pepper is not readable');
SELECT is(:'bob_delete'::text, '42501', 'quant_app: keys cannot be deleted');
SELECT is(:'bob_upd'::text, '42501', 'quant_app: UPDATE of trade.api_key refused');
SELECT is((SELECT quant.authenticate_api_key(key) FROM k WHERE name = 'b1'), 'tap_key_bob', 'bob''s own key is his');
SELECT is((SELECT quant.authenticate_api_key(key) FROM k WHERE name = 'a1'), 'tap_key_alice', 'alice''s key still works');

-- administrators: a superuser (this session) and a member of quant_admin, for anyone
SELECT quant.reset_user() \gset
SELECT ok(quant.authenticate_api_key(quant.create_api_key('tap_key_carol', 'provisioned')) = 'tap_key_carol',
          'a superuser with no current user creates a key for anyone');
SELECT is((SELECT created_by FROM trade.api_key WHERE user_id = 'tap_key_carol'), NULL, '... created_by is NULL then');
SELECT quant.reset_user() \gset
SET LOCAL ROLE quant_admin;
INSERT INTO k SELECT 'd1', quant.create_api_key('tap_key_dave');
SELECT pg_temp.sqlstate_of($$SELECT quant.revoke_api_key(substr(key, 4, 32)::uuid) FROM k WHERE name = 'a2'$$) AS admin_revoke_other \gset
SELECT quant.set_user('tap_key_alice', true) \gset
SELECT (quant.revoke_api_key(substr(key, 4, 32)::uuid)->>'status') AS admin_revoke FROM k WHERE name = 'a2' \gset
RESET ROLE;
SELECT is((SELECT quant.authenticate_api_key(key) FROM k WHERE name = 'd1'), 'tap_key_dave', 'a member of quant_admin creates a key for anyone');
SELECT is(:'admin_revoke_other'::text, '28000', '... but revokes only as the key''s user (none set: 28000)');
SELECT is(:'admin_revoke'::text, 'revoked', '... as that user, it revokes');

-- revoke
SELECT quant.set_user('tap_key_alice') \gset
SELECT is((SELECT quant.revoke_api_key(substr(key, 4, 32)::uuid)->>'status' FROM k WHERE name = 'a1'), 'revoked', 'alice revokes her key');
SELECT is((SELECT quant.authenticate_api_key(key) FROM k WHERE name = 'a1'), NULL, 'a revoked key authenticates no one');
SELECT quant.set_user('tap_key_alice') \gset
SELECT is((SELECT (quant.revoke_api_key(substr(key, 4, 32)::uuid)->>'revoked_at')::timestamptz FROM k WHERE name = 'a1'),
          (SELECT revoked_at FROM trade.api_key a JOIN k ON k.name = 'a1' AND a.key_id = substr(k.key, 4, 32)::uuid),
          'revoking twice changes nothing');
SELECT is((SELECT count(*)::int FROM quant.list_api_keys()), 0, 'revoked keys leave the list');
SELECT is((SELECT count(*)::int FROM quant.list_api_keys(true)), 2, '... and stay with include_revoked');

-- trade.token_id against the regular expression it replaced (the oracle), on valid keys and session
-- tokens and on 20,000 mutations of them: a character replaced, inserted or removed, from an
-- alphabet with the separators, upper-case hex, other punctuation and a non-ASCII letter
CREATE TEMP TABLE tok AS
SELECT CASE WHEN g % 2 = 0 THEN 'qk_' ELSE 'qs_' END || md5(g::text) || '_'
       || substr(translate(encode(sha256(g::text::bytea), 'base64') || encode(sha256((g + 1)::text::bytea), 'base64'),
                           '+/=', '-_a'), 1, 43) AS t
FROM generate_series(1, 200) g;
SELECT is((SELECT count(*) FROM tok WHERE trade.token_id(t, left(t, 3))
                                     IS DISTINCT FROM (regexp_match(t, '^q[ks]_([0-9a-f]{32})_[A-Za-z0-9_-]{43}$'))[1]::uuid),
          0::bigint, 'valid keys and tokens: the id the regular expression finds');
CREATE TEMP TABLE mutant AS
SELECT CASE k % 3
         WHEN 0 THEN overlay(t PLACING c FROM p FOR 1)
         WHEN 1 THEN overlay(t PLACING c FROM p FOR 0)
         ELSE overlay(t PLACING '' FROM p FOR 1) END AS t
FROM tok,
     LATERAL (SELECT k, 1 + (hashtext(t || k) & 1023) % 80 AS p,
                     substr('qks_-0a9fgAFZz.+/ é', 1 + (hashtext(k || t) & 1023) % 19, 1) AS c
              FROM generate_series(1, 100) k) m;
SELECT is((SELECT count(*) FROM mutant
           WHERE trade.token_id(t, 'qk_') IS DISTINCT FROM (regexp_match(t, '^qk_([0-9a-f]{32})_[A-Za-z0-9_-]{43}$'))[1]::uuid
              OR trade.token_id(t, 'qs_') IS DISTINCT FROM (regexp_match(t, '^qs_([0-9a-f]{32})_[A-Za-z0-9_-]{43}$'))[1]::uuid),
          0::bigint, '20,000 mutations: NULL exactly where the regular expression does not match, else its id');
SELECT cmp_ok((SELECT count(*) FROM mutant WHERE trade.token_id(t, left(t, 3)) IS NULL), '>', 5000::bigint,
              'most mutations are refused (the comparison above is not vacuous)');

SELECT * FROM finish();
ROLLBACK;
