-- The role x object matrix: for each role (a superuser, quant_app, quant_worker, quant_admin and
-- a login that is a member of it, a plain login, PUBLIC) and each function, table and view of
-- the extension (found through pg_depend, so a new object counts at once), what the catalog
-- allows is exactly what sql/privileges.md documents; a grant it does not list fails.
-- Reads sql/privileges.md from the repository root (pg_prove runs there).
BEGIN;
SELECT plan(18);
SET LOCAL client_min_messages = warning;

CREATE TEMP TABLE doc_line (n serial, line text);
\copy doc_line (line) FROM 'sql/privileges.md' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')

-- | object | PUBLIC | quant_app | quant_worker | quant_admin | SECURITY DEFINER |
CREATE TEMP TABLE doc AS
SELECT btrim(replace(split_part(line, '|', 2), '`', '')) AS object,
       btrim(split_part(line, '|', 3)) AS public_, btrim(split_part(line, '|', 4)) AS app,
       btrim(split_part(line, '|', 5)) AS worker, btrim(split_part(line, '|', 6)) AS admin,
       btrim(split_part(line, '|', 7)) = 'yes' AS definer
FROM doc_line
WHERE line ~ '^\| *`[a-z_]+\.';

CREATE TEMP TABLE doc_grant AS
SELECT d.object, r.grantee, btrim(p) AS privilege
FROM doc d
CROSS JOIN LATERAL (VALUES ('PUBLIC', d.public_), ('quant_app', d.app), ('quant_worker', d.worker),
                           ('quant_admin', d.admin)) AS r (grantee, cell)
CROSS JOIN LATERAL unnest(string_to_array(r.cell, ',')) AS p
WHERE btrim(p) NOT IN ('', '-');

-- every function, table and view of the extension, named as regprocedure/regclass print them
CREATE TEMP TABLE ext_object AS
SELECT p.oid::regprocedure::text AS object, 'f' AS kind, coalesce(p.proacl, acldefault('f'::"char", p.proowner)) AS acl,
       p.proowner AS owner, p.oid AS oid
FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'quant')
UNION ALL
SELECT c.oid::regclass::text, CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END,
       coalesce(c.relacl, acldefault((CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", c.relowner)), c.relowner, c.oid
FROM pg_depend d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'quant')
  AND c.relkind IN ('r', 'v', 'm', 'p', 'f', 'S')
  AND NOT c.relispartition;  -- md.bar's partitions: named by the calendar, no grants (MD/partitions.sql)

CREATE TEMP TABLE cat_grant AS
SELECT e.object, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
       a.privilege_type AS privilege
FROM ext_object e CROSS JOIN LATERAL aclexplode(e.acl) a
WHERE a.grantee <> e.owner;

SELECT cmp_ok((SELECT count(*) FROM doc), '>', 100::bigint, 'sql/privileges.md lists the objects');
SELECT is(ARRAY(SELECT object FROM doc GROUP BY object HAVING count(*) > 1), '{}'::text[],
          'each object is listed once');
SELECT is(ARRAY(SELECT e.object FROM ext_object e WHERE NOT EXISTS (SELECT 1 FROM doc d WHERE d.object = e.object)
                ORDER BY 1), '{}'::text[],
          'every function, table and view of the extension is in sql/privileges.md');
SELECT is(ARRAY(SELECT d.object FROM doc d WHERE NOT EXISTS (SELECT 1 FROM ext_object e WHERE e.object = d.object)
                ORDER BY 1), '{}'::text[],
          'sql/privileges.md lists no object the extension does not have');
SELECT is(ARRAY(SELECT format('%s: %s %s', object, grantee, privilege) FROM cat_grant
                EXCEPT SELECT format('%s: %s %s', object, grantee, privilege) FROM doc_grant ORDER BY 1), '{}'::text[],
          'no grant that sql/privileges.md does not document');
SELECT is(ARRAY(SELECT format('%s: %s %s', object, grantee, privilege) FROM doc_grant
                EXCEPT SELECT format('%s: %s %s', object, grantee, privilege) FROM cat_grant ORDER BY 1), '{}'::text[],
          'every documented grant is there');
SELECT is(ARRAY(SELECT format('%s.%s', a.attrelid::regclass, a.attname) FROM pg_attribute a
                JOIN ext_object e ON e.kind = 'r' AND e.oid = a.attrelid WHERE a.attacl IS NOT NULL ORDER BY 1),
          '{}'::text[], 'no column grants (a table is granted whole or not at all)');

-- the same, as each role sees it (has_*_privilege: what PostgreSQL enforces)
CREATE ROLE tap_roles_plain LOGIN;
CREATE ROLE tap_roles_admin LOGIN IN ROLE quant_admin;
CREATE TEMP TABLE role_case (role name, documented_as text[]);
INSERT INTO role_case VALUES
    ('quant_app', '{PUBLIC,quant_app}'), ('quant_worker', '{PUBLIC,quant_worker}'),
    ('quant_admin', '{PUBLIC,quant_admin}'), ('tap_roles_admin', '{PUBLIC,quant_admin}'),
    ('tap_roles_plain', '{PUBLIC}');
CREATE TEMP TABLE effective AS
SELECT r.role, e.object, k.privilege,
       CASE e.kind WHEN 'f' THEN has_function_privilege(r.role, e.oid, k.privilege)
                   ELSE has_table_privilege(r.role, e.oid, k.privilege) END AS allowed,
       EXISTS (SELECT 1 FROM doc_grant g WHERE g.object = e.object AND g.privilege = k.privilege
                                          AND g.grantee = ANY (r.documented_as)) AS documented
FROM role_case r CROSS JOIN ext_object e
CROSS JOIN LATERAL unnest(CASE e.kind WHEN 'f' THEN '{EXECUTE}'::text[]
                                      ELSE '{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}' END) AS k (privilege);
SELECT is(ARRAY(SELECT format('%s %s: %s', object, privilege, CASE WHEN allowed THEN 'allowed' ELSE 'refused' END)
                FROM effective WHERE role = 'quant_app' AND allowed <> documented ORDER BY 1), '{}'::text[],
          'quant_app: allowed and refused as documented');
SELECT is(ARRAY(SELECT format('%s %s: %s', object, privilege, CASE WHEN allowed THEN 'allowed' ELSE 'refused' END)
                FROM effective WHERE role = 'quant_worker' AND allowed <> documented ORDER BY 1), '{}'::text[],
          'quant_worker: allowed and refused as documented');
SELECT is(ARRAY(SELECT format('%s %s %s: %s', role, object, privilege, CASE WHEN allowed THEN 'allowed' ELSE 'refused' END)
                FROM effective WHERE role IN ('quant_admin', 'tap_roles_admin') AND allowed <> documented ORDER BY 1),
          '{}'::text[], 'quant_admin and a login that is its member: allowed and refused as documented');
SELECT is(ARRAY(SELECT format('%s %s: %s', object, privilege, CASE WHEN allowed THEN 'allowed' ELSE 'refused' END)
                FROM effective WHERE role = 'tap_roles_plain' AND allowed <> documented ORDER BY 1), '{}'::text[],
          'a plain login (PUBLIC): allowed and refused as documented');
SELECT is(ARRAY(SELECT e.object FROM ext_object e
                WHERE NOT CASE e.kind WHEN 'f' THEN has_function_privilege(current_user, e.oid, 'EXECUTE')
                                      ELSE has_table_privilege(current_user, e.oid, 'SELECT,INSERT,UPDATE,DELETE') END
                ORDER BY 1), '{}'::text[], 'a superuser may do everything');

-- the shape of the roles and of the functions that run as the owner
SELECT is(ARRAY(SELECT rolname::text FROM pg_roles
                WHERE rolname IN ('quant_app', 'quant_worker', 'quant_admin')
                  AND NOT (rolcanlogin OR rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb) ORDER BY 1),
          '{quant_admin,quant_app,quant_worker}', 'the three roles: NOLOGIN, no SUPERUSER, BYPASSRLS, CREATEROLE, CREATEDB');
SELECT is((SELECT count(*)::int FROM (SELECT relowner AS o FROM pg_class UNION ALL SELECT proowner FROM pg_proc
                                      UNION ALL SELECT nspowner FROM pg_namespace) x
           WHERE x.o IN (SELECT oid FROM pg_roles WHERE rolname IN ('quant_app', 'quant_worker', 'quant_admin'))),
          0, 'the roles own nothing');
SELECT is(ARRAY(SELECT e.object FROM ext_object e JOIN pg_proc p ON e.kind = 'f' AND p.oid = e.oid
                JOIN doc d ON d.object = e.object WHERE p.prosecdef <> d.definer ORDER BY 1), '{}'::text[],
          'SECURITY DEFINER exactly where documented');
SELECT is(ARRAY(SELECT e.object FROM ext_object e JOIN pg_proc p ON e.kind = 'f' AND p.oid = e.oid
                WHERE p.prosecdef AND has_function_privilege('tap_roles_plain', e.oid, 'EXECUTE') ORDER BY 1),
          '{}'::text[], 'no SECURITY DEFINER function is executable by PUBLIC');
SELECT is(ARRAY(SELECT e.object FROM ext_object e JOIN pg_proc p ON e.kind = 'f' AND p.oid = e.oid
                WHERE p.prosecdef AND NOT coalesce(p.proconfig @> '{"search_path=pg_catalog, pg_temp"}', false)
                ORDER BY 1), '{}'::text[], 'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');
SELECT is(ARRAY(SELECT format('%s %s', polrelid::regclass, polname) FROM pg_policy
                WHERE coalesce(pg_get_expr(polqual, polrelid), '') || coalesce(pg_get_expr(polwithcheck, polrelid), '')
                      LIKE '%quant.user%' ORDER BY 1),
          '{}'::text[], 'no policy reads the setting quant.user (they use quant.current_user_id())');

SELECT * FROM finish();
ROLLBACK;
