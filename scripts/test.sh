#!/usr/bin/env bash
# Run every test suite that exists and print one summary. `make test` runs deps, build and
# install first; run this directly only after those.
#
# Suites, in order (each is "not present" until its tests exist, which is not a pass):
#   core     ctest --test-dir build                      (CMake's add_test)
#   pgtap    pg_prove --recurse --ext .sql test/pgtap    (test/pgtap/<SCHEMA>/*.sql)
#   sql      test/sql/*.sh, test/sql/*.py, test/security/replay_*.py (each prints "N passed, N failed" last)
#   upgrade  test/upgrade/run.sh                          (prints "N passed, N failed" last)
#   fuzz     build-fuzz/fuzz/fuzz_*                       (libFuzzer, QUANT_FUZZ_SECONDS each)
#
# pgtap and sql share one throw-away cluster (pg_virtualenv) prepared by
# scripts/test-in-cluster.sh; upgrade gets a pristine one of its own. With DB_URL set they
# run against that server instead, each in a fresh database quant_test_<random> that is
# dropped afterwards.
#
# Selecting (for development; `make test` runs everything):
#   QUANT_TEST_SUITES="pgtap sql"   only these suites (default: core pgtap sql upgrade fuzz)
#   QUANT_PGTAP_TESTS="test/pgtap/MD"   pg_prove these files/folders instead of all of test/pgtap
#   QUANT_SQL_TESTS="test/sql/worker.sh test/sql/golden.py"   only these sql scripts
#
# Logs: build/test-logs/. Exit status: 0 only if every present suite ran and passed.
# The last line is "N passed, N failed".
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$QUANT_REPO"

LOG_DIR="$QUANT_REPO/build/test-logs"
RESULTS="$LOG_DIR/results.tsv"
FUZZ_SECONDS="${QUANT_FUZZ_SECONDS:-20}"
PG_OPTS=(-o shared_preload_libraries=pg_cron -o cron.use_background_workers=on -o max_worker_processes=20)
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"
: >"$RESULTS"
export QUANT_REPO QUANT_TEST_LOG_DIR="$LOG_DIR" QUANT_TEST_RESULTS="$RESULTS"

say() { printf '[test] %s\n' "$*"; }
# record SUITE STATUS PASSED FAILED SECONDS NOTE
record() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
    if [ "$2" = "not present" ]; then say "suite $1: not present ($6)"; else say "suite $1: $2, $3 passed, $4 failed"; fi
}
show_tail() { echo "----- tail of $1 -----"; tail -n "${2:-40}" "$1"; echo "-----"; }

TMP_DIRS=()
TEST_DBS=()
cleanup() {
    local d
    for d in "${TMP_DIRS[@]}"; do rm -rf "$d"; done
    for d in "${TEST_DBS[@]}"; do
        psql "$DB_URL" -X -q -c "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" >/dev/null 2>&1 ||
            echo "[test] warning: could not drop database $d" >&2
    done
}
trap cleanup EXIT

# Data files the server can read (load_bars_csv reads them as the server's OS user).
DATA_DIR="$(quant_pg_readable_dir "$QUANT_REPO/data")"
[ "$DATA_DIR" = "$QUANT_REPO/data" ] || TMP_DIRS+=("$DATA_DIR")
export QUANT_DATA_DIR="$DATA_DIR"

# Output of the two helpers below goes to LOG and, minus pg_virtualenv's chatter, to stdout.
show_and_log() {
    tee -a "$1" | { grep --line-buffered -v -E '^(Creating new PostgreSQL cluster|Dropping cluster)' || true; }
}

# with_fresh_db LOG CMD...: run CMD against a fresh database of DB_URL's server, with
# DB_URL and PG* pointing at it.
with_fresh_db() {
    local log="$1"
    shift
    local db="quant_test_$(date +%s)_$RANDOM"
    if ! psql "$DB_URL" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >>"$log" 2>&1; then
        echo "could not create database $db on DB_URL's server" >>"$log"
        return 1
    fi
    TEST_DBS+=("$db")
    local url
    url="$(python3 scripts/dburl.py setdb "$DB_URL" "$db")"
    (
        eval "$(python3 scripts/dburl.py env "$url")"
        export PGDATABASE="$db" DB_URL="$url" QUANT_TEST_ON_DB_URL=1
        "$@"
    ) 2>&1 | show_and_log "$log"
    return "${PIPESTATUS[0]}"
}

# in_throwaway_cluster LOG CMD...: run CMD in a pg_virtualenv cluster with pg_cron preloaded.
in_throwaway_cluster() {
    local log="$1"
    shift
    (cd /tmp && env -u DB_URL pg_virtualenv -t "${PG_OPTS[@]}" "$@") 2>&1 | show_and_log "$log"
    return "${PIPESTATUS[0]}"
}

# parse_summary_line FILE -> "P F" from the last "N passed, N failed" line, or nothing.
parse_summary_line() {
    grep -v '^[[:space:]]*$' "$1" | tail -n 1 |
        sed -nE 's/^([[:alnum:]_-]+:[[:space:]]*)?([0-9]+) passed, ([0-9]+) failed(, [0-9]+ skipped)?[[:space:]]*$/\2 \3/p'
}

# ---- 1. core: ctest -------------------------------------------------------------------
suite_core() {
    local log="$LOG_DIR/core.log" t0=$SECONDS rc=0
    if [ ! -f build/CTestTestfile.cmake ]; then
        record core "not present" 0 0 0 "no build/CTestTestfile.cmake"
        return
    fi
    say "core: ctest"
    ctest --test-dir build --output-on-failure -j2 >"$log" 2>&1 || rc=$?
    local line total failed
    line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)"
    if [ -n "$line" ]; then
        failed="$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")"
        total="$(sed -E 's/.*failed out of ([0-9]+).*/\1/' <<<"$line")"
        if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
        if [ "$failed" -eq 0 ]; then
            record core ok "$total" 0 $((SECONDS - t0)) ""
        else
            record core FAILED $((total - failed)) "$failed" $((SECONDS - t0)) "log: $log"
            show_tail "$log" 60
            grep -E '^\s*[0-9]+ - .*\((Failed|SEGFAULT|Timeout|Subprocess aborted)' "$log" | head -n 10 | sed 's/^/core: /' >>"$LOG_DIR/failures.txt"
        fi
    elif grep -q 'No tests were found' "$log"; then
        record core "not present" 0 0 $((SECONDS - t0)) "no tests registered with CTest"
    else
        record core ERROR 0 1 $((SECONDS - t0)) "ctest did not run (rc $rc), log: $log"
        show_tail "$log"
    fi
}

# ---- 2+3. pgTAP and sql scripts, in one cluster ----------------------------------------
suite_cluster() {
    local want=()
    if ! selected pgtap; then
        :
    elif [ -d test/pgtap ] && [ -n "$(find test/pgtap -name '*.sql' -print -quit)" ]; then
        want+=(pgtap)
    else
        record pgtap "not present" 0 0 0 "no test/pgtap/**/*.sql"
    fi
    if ! selected sql; then
        :
    elif compgen -G 'test/sql/*.sh' >/dev/null || compgen -G 'test/sql/*.py' >/dev/null; then
        want+=(sql)
    else
        record sql "not present" 0 0 0 "no test/sql/*.sh or *.py"
    fi
    [ ${#want[@]} -gt 0 ] || return 0

    local log="$LOG_DIR/cluster.log" rc=0 t0=$SECONDS
    if [ -n "${DB_URL:-}" ]; then
        say "${want[*]}: in a fresh database on DB_URL's server"
        with_fresh_db "$log" bash scripts/test-in-cluster.sh "${want[@]}" || rc=$?
    else
        say "${want[*]}: in a throw-away cluster (pg_virtualenv)"
        in_throwaway_cluster "$log" bash "$QUANT_REPO/scripts/test-in-cluster.sh" "${want[@]}" || rc=$?
    fi
    local s
    for s in "${want[@]}"; do
        if ! cut -f1 "$RESULTS" | grep -qx "$s"; then
            record "$s" ERROR 0 1 $((SECONDS - t0)) "did not run (rc $rc), log: $log"
            show_tail "$log"
        fi
    done
}

# ---- 4. upgrade ------------------------------------------------------------------------
suite_upgrade() {
    local script=test/upgrade/run.sh log="$LOG_DIR/upgrade.log" rc=0 t0=$SECONDS
    local run='cd "$QUANT_REPO" && exec bash test/upgrade/run.sh >"$QUANT_TEST_LOG_DIR/upgrade.log" 2>&1'
    if [ ! -f "$script" ]; then
        record upgrade "not present" 0 0 0 "no $script"
        return
    fi
    say "upgrade: $script"
    if [ -n "${DB_URL:-}" ]; then
        with_fresh_db "$LOG_DIR/upgrade-cluster.log" bash -c "$run" || rc=$?
    else
        in_throwaway_cluster "$LOG_DIR/upgrade-cluster.log" bash -c \
            'export DB_URL="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE"; '"$run" || rc=$?
    fi
    touch "$log"
    local counts
    counts="$(parse_summary_line "$log")"
    if [ -z "$counts" ]; then
        record upgrade ERROR 0 1 $((SECONDS - t0)) "no 'N passed, N failed' line (rc $rc), log: $log"
        show_tail "$log"
        return
    fi
    local p f
    read -r p f <<<"$counts"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$f" -eq 0 ]; then
        record upgrade ok "$p" 0 $((SECONDS - t0)) ""
    else
        record upgrade FAILED "$p" "$f" $((SECONDS - t0)) "log: $log"
        show_tail "$log"
        grep -E '^(not ok|FAIL)' "$log" | head -n 5 | sed 's/^/upgrade: /' >>"$LOG_DIR/failures.txt"
    fi
}

# ---- 5. fuzz ---------------------------------------------------------------------------
suite_fuzz() {
    local bins=() b
    for b in build-fuzz/fuzz/fuzz_*; do
        if [ -f "$b" ] && [ -x "$b" ]; then bins+=("$b"); fi
    done
    if [ ${#bins[@]} -eq 0 ]; then
        record fuzz "not present" 0 0 0 "no build-fuzz/fuzz/fuzz_*"
        return
    fi
    local t0=$SECONDS p=0 f=0 name log work corpus
    for b in "${bins[@]}"; do
        name="$(basename "$b")"
        log="$LOG_DIR/$name.log"
        work="$LOG_DIR/fuzz-corpus/$name" # new inputs go here, not into the repo
        mkdir -p "$work"
        corpus=()
        [ -d "test/fuzz/corpus/$name" ] && corpus=("test/fuzz/corpus/$name")
        say "fuzz: $name for ${FUZZ_SECONDS}s"
        if timeout $((FUZZ_SECONDS * 3 + 60)) "$b" -max_total_time="$FUZZ_SECONDS" \
            -artifact_prefix="$LOG_DIR/$name-" "$work" "${corpus[@]}" >"$log" 2>&1; then
            p=$((p + 1))
        else
            f=$((f + 1))
            echo "fuzz target $name failed (artifacts: $LOG_DIR/$name-*)"
            echo "fuzz: $name failed (artifacts: $LOG_DIR/$name-*)" >>"$LOG_DIR/failures.txt"
            show_tail "$log" 30
        fi
    done
    if [ "$f" -eq 0 ]; then record fuzz ok "$p" 0 $((SECONDS - t0)) ""; else record fuzz FAILED "$p" "$f" $((SECONDS - t0)) "logs: $LOG_DIR/fuzz_*.log"; fi
}

SELECTED=" ${QUANT_TEST_SUITES:-core pgtap sql upgrade fuzz} "
selected() { [[ "$SELECTED" == *" $1 "* ]]; }
selected core && suite_core
{ selected pgtap || selected sql; } && suite_cluster
selected upgrade && suite_upgrade
selected fuzz && suite_fuzz

# ---- summary ---------------------------------------------------------------------------
total_p=0
total_f=0
bad=0
echo
echo "================================ test summary ================================"
printf '%-9s %-12s %7s %7s %6s  %s\n' suite status passed failed time note
for s in core pgtap sql upgrade fuzz; do
    while IFS=$'\t' read -r suite status p f secs note; do
        [ "$suite" = "$s" ] || continue
        if [ "$status" = "not present" ]; then
            printf '%-9s %-12s %7s %7s %6s  %s\n' "$suite" "not present" - - - "$note"
            continue
        fi
        printf '%-9s %-12s %7s %7s %5ss  %s\n' "$suite" "$status" "$p" "$f" "$secs" "$note"
        total_p=$((total_p + p))
        total_f=$((total_f + f))
        [ "$status" = ok ] || bad=1
    done <"$RESULTS"
done
echo "=============================================================================="
if [ -s "$LOG_DIR/failures.txt" ]; then
    echo "failed checks (first 20; all in the logs):"
    head -n 20 "$LOG_DIR/failures.txt"
fi
echo "logs: $LOG_DIR"
[ "$total_f" -eq 0 ] || bad=1
echo "$total_p passed, $total_f failed"
exit $bad
