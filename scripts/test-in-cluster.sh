#!/usr/bin/env bash
# Run by scripts/test.sh inside a throw-away cluster (pg_virtualenv) or a fresh database of
# DB_URL's server, with PG* (and DB_URL) pointing at the database to use.
#   usage: test-in-cluster.sh SUITE...     SUITE: pgtap | sql
# Prepares the database once (pgtap, pg_cron, quant, sample data), then runs the suites and
# appends one row per suite to $QUANT_TEST_RESULTS (see scripts/test.sh).
#
# Environment for test/sql scripts: PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE and DB_URL
# (the same database), QUANT_REPO, QUANT_DATA_DIR (sample CSVs readable by the server),
# QUANT_TEST_LOG_DIR. The database already has the extensions and the sample data.
set -uo pipefail
: "${QUANT_REPO:?}" "${QUANT_TEST_RESULTS:?}" "${QUANT_TEST_LOG_DIR:?}" "${QUANT_DATA_DIR:?}"
cd "$QUANT_REPO"
LOG_DIR="$QUANT_TEST_LOG_DIR"
SQL_TIMEOUT="${QUANT_SQL_TEST_TIMEOUT:-1800}"

if [ -z "${DB_URL:-}" ]; then
    # pg_virtualenv: build one from its PG* variables (its password is hex, safe in a URI)
    export DB_URL="postgresql://$PGUSER:${PGPASSWORD:-}@$PGHOST:$PGPORT/$PGDATABASE"
fi

say() { printf '[test] %s\n' "$*"; }
record() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$QUANT_TEST_RESULTS"
    say "suite $1: $2, $3 passed, $4 failed"
}
fail_all() { # NOTE: every requested suite failed to run
    local s
    for s in "${SUITES[@]}"; do record "$s" ERROR 0 1 0 "$1"; done
    exit 1
}

# note_failures WHAT LOG: the failed checks of LOG, for the summary at the very end of the
# output (CI keeps only the last lines)
note_failures() {
    { grep -E '^(not ok|FAIL|# Failed test)' "$2" | head -n 5 | sed "s|^|$1: |"
      grep -qE '^(not ok|FAIL|# Failed test)' "$2" || echo "$1: $(grep -v '^[[:space:]]*$' "$2" | tail -n 1)"
    } >>"$LOG_DIR/failures.txt"
}

SUITES=("$@")
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

# ---- prepare the database ----
say "preparing database $PGDATABASE on $PGHOST:$PGPORT"
"${PSQL[@]}" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION IF NOT EXISTS pgtap' ||
    fail_all "CREATE EXTENSION pgtap failed (is postgresql-15-pgtap installed on the server?)"
if ! "${PSQL[@]}" -c 'CREATE EXTENSION IF NOT EXISTS pg_cron'; then
    # on DB_URL's server this database is not cron.database_name: go on without pg_cron
    [ -n "${QUANT_TEST_ON_DB_URL:-}" ] || fail_all "CREATE EXTENSION pg_cron failed"
    say "warning: pg_cron not available in this database; tests that need it will fail"
fi
"${PSQL[@]}" -c "CREATE EXTENSION IF NOT EXISTS \"${QUANT_EXT_NAME:-quant}\"" ||
    fail_all "CREATE EXTENSION quant failed (was 'make install' run?)"
"${PSQL[@]}" -v ttrc="$QUANT_DATA_DIR/ttrc_daily_ohlcv.csv" -v msft="$QUANT_DATA_DIR/msft_2000_2001_ohlcv.csv" \
    >/dev/null <<'SQL' || fail_all "loading the sample data with quant.load_bars_csv failed"
SET client_min_messages = warning;
SELECT quant.load_bars_csv('TTRC', :'ttrc');
SELECT quant.load_bars_csv('MSFT', :'msft');
SQL

# ---- pgTAP ----
run_pgtap() {
    local log="$LOG_DIR/pgtap.log" t0=$SECONDS rc=0
    say "pgtap: pg_prove --recurse --ext .sql test/pgtap"
    # shellcheck disable=SC2086 # QUANT_PGTAP_TESTS is a list of paths
    pg_prove --recurse --ext .sql ${QUANT_PGTAP_TESTS:-test/pgtap} >"$log" 2>&1 || rc=$?
    local files tests failed=0 ran_failed=0 n
    files="$(sed -nE 's/^Files=([0-9]+), Tests=([0-9]+).*/\1/p' "$log" | tail -n1)"
    tests="$(sed -nE 's/^Files=([0-9]+), Tests=([0-9]+).*/\2/p' "$log" | tail -n1)"
    if [ -z "$tests" ]; then
        record pgtap ERROR 0 1 $((SECONDS - t0)) "pg_prove gave no summary (rc $rc), log: $log"
        echo "----- tail of $log -----"; tail -n 40 "$log"; echo "-----"
        return
    fi
    # "Failed N/M subtests" counts failed plus planned-but-not-run tests of a file;
    # "(Wstat: .. Tests: T Failed: F)" counts the failed tests among those that ran.
    for n in $(sed -nE 's/^Failed ([0-9]+)\/[0-9]+ subtests.*/\1/p' "$log"); do failed=$((failed + n)); done
    for n in $(sed -nE 's/.*\(Wstat: .* Tests: [0-9]+ Failed: ([0-9]+)\)$/\1/p' "$log"); do ran_failed=$((ran_failed + n)); done
    local passed=$((tests - ran_failed))
    if grep -q '^Result: FAIL' "$log" || [ "$rc" -ne 0 ]; then
        [ "$failed" -gt 0 ] || failed=1
        record pgtap FAILED "$passed" "$failed" $((SECONDS - t0)) "$files files, log: $log"
        echo "----- pgTAP failures (full log: $log) -----"
        sed -n '/^Test Summary Report/,$p' "$log" | head -n 60
        grep -E '^(# Failed test|#  +(have|want):|psql:.*ERROR)' "$log" | head -n 40
        echo "-----"
        note_failures pgtap "$log"
    else
        record pgtap ok "$passed" 0 $((SECONDS - t0)) "$files files"
    fi
}

# ---- test/sql scripts ----
run_sql() {
    local t0=$SECONDS p=0 f=0 script name log rc counts sp sf
    # shellcheck disable=SC2086 # QUANT_SQL_TESTS is a list of paths (scripts/test.sh)
    for script in ${QUANT_SQL_TESTS:-test/sql/*.sh test/sql/*.py test/security/replay_*.py}; do
        [ -f "$script" ] || continue
        name="$(basename "$script")"
        log="$LOG_DIR/sql-$name.log"
        say "sql: $script"
        rc=0
        case "$script" in
            *.sh) timeout "$SQL_TIMEOUT" bash "$script" >"$log" 2>&1 || rc=$? ;;
            *.py) timeout "$SQL_TIMEOUT" python3 "$script" >"$log" 2>&1 || rc=$? ;;
        esac
        counts="$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 |
            sed -nE 's/^([[:alnum:]_-]+:[[:space:]]*)?([0-9]+) passed, ([0-9]+) failed(, [0-9]+ skipped)?[[:space:]]*$/\2 \3/p')"
        if [ -z "$counts" ]; then
            sp=0 sf=1
            echo "$script: no 'N passed, N failed' last line (rc $rc)"
        else
            read -r sp sf <<<"$counts"
            if [ "$rc" -ne 0 ] && [ "$sf" -eq 0 ]; then
                sf=1
                echo "$script: exit status $rc"
            fi
        fi
        p=$((p + sp))
        f=$((f + sf))
        if [ "$sf" -ne 0 ]; then
            echo "----- tail of $log -----"; tail -n 30 "$log"; echo "-----"
            note_failures "$script" "$log"
        fi
    done
    if [ "$f" -eq 0 ]; then
        record sql ok "$p" 0 $((SECONDS - t0)) ""
    else
        record sql FAILED "$p" "$f" $((SECONDS - t0)) "logs: $LOG_DIR/sql-*.log"
    fi
}

for s in "${SUITES[@]}"; do
    case "$s" in
        pgtap) run_pgtap ;;
        sql) run_sql ;;
        *) echo "unknown suite $s" >&2; exit 2 ;;
    esac
done
