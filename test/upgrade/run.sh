#!/usr/bin/env bash
# Upgrade test of the quant extension (docs/style.md practice 8).
#
# Every released version V is recorded in extension/releases.txt with the commit that made it;
# its install script is rebuilt from that commit (the commit's sql/ sources and extension/
# Makefile, taken with git archive: only history is needed, no tags, no frozen copies) and
# installed for the test into the server's extension directory (removed again afterwards).
# For every released V other than the current default_version, in a fresh database:
#   CREATE EXTENSION quant VERSION 'V'; insert bars, a user's strategy, result and deployment;
#   ALTER EXTENSION quant UPDATE;
# then check that the data is still there, that extversion = default_version of
# extension/quant.control, and that the extension's objects (pg_depend deptype 'e': functions with
# their signatures, results, volatility, strictness, parallel safety and comments; tables with their
# columns and constraints; views with their columns; everything else by its description; and the
# tables marked for pg_dump) equal those of a fresh CREATE EXTENSION quant in another database.
# With no released version but the current one it tests the current one: create, drop, create
# again, and ALTER EXTENSION quant UPDATE is a no-op (same version, same objects, bars kept).
# When default_version itself is released, the install script built from today's sources must
# equal the one built from its release commit (a released version is never edited).
#
# Runs with the PG* variables of a throw-away cluster (superuser) and write access to the
# extension directory (`pg_config --sharedir`/extension); creates and drops its own databases
# quant_upg_*. Last line: "N passed, N failed"; exit status 1 on any failure.
set -uo pipefail
REPO="${QUANT_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CONTROL="$REPO/extension/quant.control"
RELEASES="${QUANT_RELEASES:-$REPO/extension/releases.txt}"
EXT_DIR="${QUANT_EXTENSION_DIR:-$("${PG_CONFIG:-pg_config}" --sharedir)/extension}"
ADMIN_DB="${PGDATABASE:-postgres}"
TMP="$(mktemp -d)"
DBS=()
INSTALLED=() # scripts this test put into EXT_DIR (a file that was there is saved in $TMP/saved)
PASSED=0
FAILED=0

cleanup() {
    local d
    for d in "${DBS[@]}"; do
        psql -X -q -d "$ADMIN_DB" -c "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" >/dev/null 2>&1 ||
            echo "warning: could not drop database $d" >&2
    done
    for f in "${INSTALLED[@]}"; do
        if [ -f "$TMP/saved/$f" ]; then cp "$TMP/saved/$f" "$EXT_DIR/$f"; else rm -f "$EXT_DIR/$f"; fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "not ok - $1"; [ $# -lt 2 ] || printf '%s\n' "$2" | sed 's/^/    # /'; }
# check DESCRIPTION HAVE WANT
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "have: $2"$'\n'"want: $3"; fi; }

# q DB SQL: one value (or rows) from DB; errors go to stderr and make it fail
q() { psql -X -At -q -v ON_ERROR_STOP=1 -d "$1" -c "SET client_min_messages = warning" -c "$2"; }
# run DB SQL DESCRIPTION: a statement that must succeed (one test)
run() {
    local out
    if out="$(psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "SET client_min_messages = warning" -c "$2" 2>&1)"; then
        pass "$3"
    else
        fail "$3" "$out"
        return 1
    fi
}

new_db() { # new_db NAME: create (after dropping a leftover) and remember for cleanup
    DBS+=("$1")
    psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_DB" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" \
        -c "CREATE DATABASE \"$1\"" >/dev/null
}

# The objects of the extension, one sorted line each (names schema-qualified).
OBJECTS_SQL=$(cat <<'SQL'
SET search_path = pg_catalog;
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'quant'),
members AS (
  SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
)
SELECT line FROM (
  SELECT 'function ' || p.oid::regprocedure::text
         || ' returns ' || pg_get_function_result(p.oid)
         || ' args (' || pg_get_function_arguments(p.oid) || ')'
         || ' lang ' || l.lanname
         || ' volatility ' || p.provolatile::text || ' strict ' || p.proisstrict || ' parallel ' || p.proparallel::text
         || ' security_definer ' || p.prosecdef || ' config ' || coalesce(array_to_string(p.proconfig, ','), '-')
         || CASE WHEN l.lanname = 'c' THEN ' symbol ' || p.prosrc ELSE ' body_md5 ' || md5(p.prosrc) END
         || ' acl ' || coalesce(p.proacl::text, '-')
         || ' comment_md5 ' || coalesce(md5(obj_description(p.oid, 'pg_proc')), '-') AS line
    FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    JOIN pg_language l ON l.oid = p.prolang
  UNION ALL
  SELECT 'relation ' || c.relkind::text || ' ' || c.oid::regclass::text || ' ('
         || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                               || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                               || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''), ', ' ORDER BY a.attnum)
               FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) || ')'
         || coalesce(' constraints ' || (SELECT string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid), '; '
                                                           ORDER BY co.conname)
                                           FROM pg_constraint co WHERE co.conrelid = c.oid), '')
         || coalesce(' indexes ' || (SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY pg_get_indexdef(i.indexrelid))
                                       FROM pg_index i WHERE i.indrelid = c.oid), '')
         || CASE WHEN c.relkind = 'v' THEN ' view_md5 ' || md5(pg_get_viewdef(c.oid)) ELSE '' END
         || ' acl ' || coalesce(c.relacl::text, '-')
         || ' comment_md5 ' || coalesce(md5(obj_description(c.oid, 'pg_class')), '-')
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  UNION ALL
  SELECT 'object ' || pg_describe_object(m.classid, m.objid, m.objsubid)
    FROM members m WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass)
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
    FROM members m JOIN pg_trigger t ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid
   WHERE NOT t.tgisinternal
  UNION ALL
  SELECT 'dumped table ' || t.oid::regclass::text || ' filter ' || coalesce(e.extcondition[s.i], '')
    FROM pg_extension e, generate_subscripts(e.extconfig, 1) s(i), pg_class t
   WHERE e.extname = 'quant' AND t.oid = e.extconfig[s.i]
) o ORDER BY line;
SQL
)

INSERT_BARS="INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) VALUES
  ('UPG', '2024-01-02', 10, 11, 9, 10.5, 100), ('UPG', '2024-01-03', 10.5, 12, 10, 11.5, 200),
  ('UPG', '2024-01-04', 11.5, 12.5, 11, 12, 150), ('UPG', '2024-01-05', 12, 13, 11.5, 12.5, 170)"
# A user's strategy (with a stored result) and deployment, created through the API of the old
# version, must survive the upgrade ("upgrades ... with data in place").
INSERT_USER_DATA="SELECT quant.set_user('upg_user');
SELECT quant.store_result((s->>'strategy_id')::uuid, quant.backtest(s, 0)),
       quant.deploy(jsonb_build_object('strategy_id', s->>'strategy_id', 'broker', 'PAPER', 'ticker', 'UPG',
                                       'market', 'US', 'qty', 1))
  FROM quant.create_strategy('{\"ticker\":\"UPG\",\"trading_period\":252,\"substrategies\":[{\"indicator\":\"get_sma_distance\",\"signal_func\":\"momentum_band_signal\",\"window\":2,\"signal\":0}]}') s"
USER_DATA_SQL="SELECT quant.set_user('upg_user') IS NOT NULL, (SELECT count(*) FROM quant.list_strategies()),
       (SELECT count(*) FROM quant.list_deployments()),
       (SELECT count(*) FROM quant.list_strategies() s, quant.list_results((s->>'strategy_id')::uuid))"
USER_DATA_WANT="t|1|1|1"
BARS_SQL="SELECT string_agg(ticker || ' ' || ts::date || ' ' || close, ', ' ORDER BY ts) FROM md.bar WHERE ticker = 'UPG'"
BARS_WANT="UPG 2024-01-02 10.5, UPG 2024-01-03 11.5, UPG 2024-01-04 12, UPG 2024-01-05 12.5"

main() {
    local default_version
    default_version="$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" "$CONTROL")"
    if [ -z "$default_version" ]; then
        fail "default_version found in $CONTROL"
        return
    fi
    pass "default_version of quant.control: $default_version"
    check "the server has that version available" \
        "$(q "$ADMIN_DB" "SELECT default_version FROM pg_available_extensions WHERE name = 'quant'" 2>&1)" \
        "$default_version"

    # the reference: a fresh CREATE EXTENSION quant
    local ref_db="quant_upg_ref_$$"
    new_db "$ref_db" || { fail "create database $ref_db"; return; }
    run "$ref_db" "CREATE EXTENSION quant" "fresh CREATE EXTENSION quant" || return
    check "fresh install: extversion = default_version" \
        "$(q "$ref_db" "SELECT extversion FROM pg_extension WHERE extname = 'quant'" 2>&1)" "$default_version"
    q "$ref_db" "$OBJECTS_SQL" >"$TMP/ref.txt" 2>&1
    local n_obj
    n_obj="$(grep -c . "$TMP/ref.txt")"
    if [ "$n_obj" -gt 10 ] && ! grep -q ERROR "$TMP/ref.txt"; then
        pass "fresh install: $n_obj extension objects listed"
    else
        fail "fresh install: extension objects listed" "$(head -n 5 "$TMP/ref.txt")"
    fi

    # released versions: their install scripts rebuilt from history
    local versions=() v commit
    if [ ! -f "$RELEASES" ]; then
        fail "the list of releases $RELEASES exists"
        return
    fi
    while read -r v commit; do
        [ "$v" = "$default_version" ] && { check_unedited "$v" "$commit"; continue; }
        install_release "$v" "$commit" && versions+=("$v")
    done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$RELEASES")

    if [ ${#versions[@]} -eq 0 ]; then
        echo "# no released version but $default_version in $RELEASES: testing the current version only"
        local db="quant_upg_cur_$$"
        new_db "$db" || { fail "create database $db"; return; }
        run "$db" "CREATE EXTENSION quant" "create" || return
        run "$db" "DROP EXTENSION quant" "drop"
        check "drop removes every schema of the extension" \
            "$(q "$db" "SELECT count(*) FROM pg_namespace WHERE nspname IN ('quant', 'md', 'refdata')" 2>&1)" "0"
        run "$db" "CREATE EXTENSION quant VERSION '$default_version'" "create again (VERSION '$default_version')" || return
        run "$db" "$INSERT_BARS" "insert bars into md.bar"
        run "$db" "ALTER EXTENSION quant UPDATE" "ALTER EXTENSION quant UPDATE (a no-op)"
        check "after the no-op update: extversion = default_version" \
            "$(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'quant'" 2>&1)" "$default_version"
        check "after the no-op update: the bars are still there" "$(q "$db" "$BARS_SQL" 2>&1)" "$BARS_WANT"
        check_objects "$db" "after create, drop, create and update"
        check_works "$db" "after the no-op update"
        return
    fi

    for v in "${versions[@]}"; do
        echo "# upgrade from $v to $default_version"
        local db="quant_upg_$(tr -c 'a-zA-Z0-9\n' '_' <<<"$v")_$$"
        new_db "$db" || { fail "create database $db"; continue; }
        run "$db" "CREATE EXTENSION quant VERSION '$v'" "$v: CREATE EXTENSION quant VERSION '$v'" || continue
        run "$db" "$INSERT_BARS" "$v: insert bars into md.bar"
        run "$db" "$INSERT_USER_DATA" "$v: a user's strategy, result and deployment in place"
        run "$db" "ALTER EXTENSION quant UPDATE" "$v: ALTER EXTENSION quant UPDATE" || continue
        check "$v: after the update, extversion = default_version" \
            "$(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'quant'" 2>&1)" "$default_version"
        check "$v: after the update, the bars are still there" "$(q "$db" "$BARS_SQL" 2>&1)" "$BARS_WANT"
        check "$v: after the update, the user's data is still there" "$(q "$db" "$USER_DATA_SQL" 2>&1)" "$USER_DATA_WANT"
        check_objects "$db" "$v: after the update"
        check_works "$db" "$v: after the update"
        run "$db" "ALTER EXTENSION quant UPDATE" "$v: a second ALTER EXTENSION quant UPDATE is a no-op"
    done
}

# check_objects DB LABEL: the extension's objects in DB equal those of the fresh install
check_objects() {
    q "$1" "$OBJECTS_SQL" >"$TMP/$1.txt" 2>&1
    if diff -u "$TMP/ref.txt" "$TMP/$1.txt" >"$TMP/$1.diff"; then
        pass "$2: the extension's objects equal a fresh CREATE EXTENSION"
    else
        fail "$2: the extension's objects equal a fresh CREATE EXTENSION" "$(head -n 40 "$TMP/$1.diff")"
    fi
}

# check_works DB LABEL: the functions work on the kept bars
check_works() {
    check "$2: quant.indicator_series on the kept bars" \
        "$(q "$1" "SELECT string_agg(coalesce(value::text, 'NULL'), ',' ORDER BY ts) FROM quant.indicator_series('UPG', 'get_sma', 2)" 2>&1)" \
        "NULL,11,11.75,12.25"
    check "$2: quant.backtest on the kept bars" \
        "$(q "$1" "SELECT quant.backtest('{\"ticker\":\"UPG\",\"trading_period\":252,\"substrategies\":[{\"indicator\":\"get_sma_distance\",\"signal_func\":\"momentum_band_signal\",\"window\":2,\"signal\":0}]}')->>'bars'" 2>&1)" \
        "4"
}

# build_release V COMMIT OUT: the install script of V as the Makefile of COMMIT generates it
# from the sql/ sources of COMMIT (git archive: needs the history only, no work tree, no tags).
build_release() {
    local v="$1" commit="$2" out="$3" src="$TMP/src-$1" have
    rm -rf "$src"
    mkdir -p "$src"
    git -C "$REPO" cat-file -e "$commit^{commit}" 2>/dev/null || { echo "commit $commit not in the history of $REPO"; return 1; }
    git -C "$REPO" archive "$commit" sql extension | tar -x -C "$src" || return 1
    have="$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" "$src/extension/quant.control")"
    [ "$have" = "$v" ] || { echo "default_version at $commit is '$have', not '$v'"; return 1; }
    make -s -C "$src/extension" "sql/quant--$v.sql" >/dev/null || return 1
    cp "$src/extension/sql/quant--$v.sql" "$out"
}

# install_release V COMMIT: rebuild V's install script and put it into the extension directory
install_release() {
    local v="$1" commit="$2" f="quant--$1.sql" out
    if ! out="$(build_release "$v" "$commit" "$TMP/$f" 2>&1)"; then
        fail "$v: install script rebuilt from commit $commit" "$out"
        return 1
    fi
    pass "$v: install script rebuilt from commit $commit"
    # the copy frozen at its release, while that was the practice, must be the same script
    if git -C "$REPO" cat-file -e "$commit:extension/sql/released/$f" 2>/dev/null; then
        check "$v: the rebuilt script equals the copy frozen in commit $commit" \
            "$(git -C "$REPO" show "$commit:extension/sql/released/$f" | cmp - "$TMP/$f" 2>&1 && echo same)" "same"
    fi
    mkdir -p "$TMP/saved"
    [ ! -f "$EXT_DIR/$f" ] || cp "$EXT_DIR/$f" "$TMP/saved/$f"
    INSTALLED+=("$f")
    if ! out="$(cp "$TMP/$f" "$EXT_DIR/$f" 2>&1)"; then
        fail "$v: install script copied into $EXT_DIR" "$out"
        return 1
    fi
}

# check_unedited V COMMIT: the current version is released: today's sources must still build
# the script of its release commit (a change needs a new version and an upgrade script).
check_unedited() {
    local v="$1" commit="$2" out
    if ! out="$(build_release "$v" "$commit" "$TMP/released-$v.sql" 2>&1)"; then
        fail "released $v: install script rebuilt from commit $commit" "$out"
        return
    fi
    if ! out="$(make -s -C "$REPO/extension" "sql/quant--$v.sql" 2>&1)"; then
        fail "released $v: install script built from today's sources" "$out"
        return
    fi
    if cmp -s "$TMP/released-$v.sql" "$REPO/extension/sql/quant--$v.sql"; then
        pass "released $v is not edited: today's install script equals the one of commit $commit"
    else
        fail "released $v is not edited: today's install script equals the one of commit $commit" \
            "$(diff -u "$TMP/released-$v.sql" "$REPO/extension/sql/quant--$v.sql" | head -n 20)
bump default_version in extension/quant.control and write extension/sql/quant--$v--<new>.sql"
    fi
}

main
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
