#!/usr/bin/env bash
# REST GET /api/v1/strategies/{id} against the same SQL called directly, in one run, with two HTTP
# load generators (wrk and autocannon) so that the generator is not what is measured (issue 16).
#
#   PG*=... bench/rest_bench.sh [seconds per run, default 5] [connections, default 8]
#
# Needs PG* (a superuser) on a server with the extension installed (any database: the script makes
# a database of its own, rest_bench_<pid>, and drops it), build/http/quant-http ($QUANT_HTTP_BIN),
# wrk (apt-get install wrk), and autocannon (cd bench/autocannon && npm ci: pinned, lockfile).
# The server runs with QUANT_HTTP_THREADS = QUANT_HTTP_DB_CONNECTIONS = the connections (default
# nproc) unless QUANT_BENCH_THREADS / QUANT_BENCH_DB_CONNECTIONS say otherwise.
#
# Printed, for 1 connection (latency) and for C connections (throughput):
#   http wrk / http autocannon     the REST route
#   sql: get_strategy              pgbench: SELECT quant.get_strategy(id), with quant.set_user('bench')
#                                  before it in the same pipeline (one round trip; the user is backend
#                                  memory, not a setting), C connections: the issue's reference
#   sql: the server's transaction  pgbench: what quant-http sends per request (login_api_key;
#                                  get_strategy guarded by quant.authenticated(); one Sync: the
#                                  implicit transaction) in one pipeline, C connections: the floor
#                                  of the route itself
# and the CPU time per request of quant-http and of the database server (/proc, during the wrk run).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-5}"
conns="${2:-$(nproc)}"
bin="${QUANT_HTTP_BIN:-$repo/build/http/quant-http}"
ac="$repo/bench/autocannon/node_modules/.bin/autocannon"
[ -x "$bin" ] || { echo "no $bin: cmake --build build first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
[ -x "$ac" ] || { echo "autocannon is missing: (cd bench/autocannon && npm ci)" >&2; exit 1; }
db="rest_bench_$$"
work="$(mktemp -d)"
srv=""
cleanup() {
    [ -n "$srv" ] && kill -TERM "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db")
psql -X -q -d postgres -c "CREATE DATABASE $db"
"${PSQL[@]}" -c "SET client_min_messages = warning" -c "CREATE EXTENSION quant CASCADE" >/dev/null
cfg='{"ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0},{"id":2,"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":70}]}'
key="$("${PSQL[@]}" -c "SELECT quant.create_api_key('bench')")"
sid="$("${PSQL[@]}" -c "SELECT quant.set_user('bench')" -c "SELECT quant.create_strategy('$cfg')->>'strategy_id'" | tail -n1)"
# the user is backend memory, not a setting (extension/src/user_context.c): set in the same pipeline
printf '\\startpipeline\nSELECT quant.set_user(%s);\nSELECT quant.get_strategy(%s::uuid);\n\\endpipeline\n' \
    "'bench'" "'$sid'" >"$work/get.sql"
cat >"$work/route.sql" <<SQL
\\startpipeline
SELECT quant.login_api_key('$key');
SELECT * FROM (SELECT quant.get_strategy('$sid'::uuid)) q WHERE quant.authenticated();
\\endpipeline
SQL
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port/api/v1/strategies/$sid"
threads="${QUANT_BENCH_THREADS:-$conns}"
dbconns="${QUANT_BENCH_DB_CONNECTIONS:-$conns}"
dburl="postgresql://${PGUSER:-$(id -un)}@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/$db"
DB_URL="$dburl" QUANT_HTTP_ADDR="127.0.0.1:$port" QUANT_HTTP_ACCESS_LOG=0 QUANT_HTTP_RATE=1000000 \
    QUANT_HTTP_BURST=1000000 QUANT_HTTP_METRICS_ADDR=off QUANT_HTTP_THREADS="$threads" \
    QUANT_HTTP_DB_CONNECTIONS="$dbconns" "$bin" 2>"$work/server.log" &
srv=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
curl -sf -H "Authorization: Bearer $key" "$url" >/dev/null || { echo "GET failed"; cat "$work/server.log"; exit 1; }

# CPU ticks (utime + stime) of quant-http, of the database server (its live processes, the pool's
# backends among them, plus what the backends that exited used: the postmaster's cutime + cstime)
# and of a load generator (run_counted: the command's own, read from its parent shell's children
# times once it exited)
srv_ticks() { awk '{print $14 + $15}' "/proc/$srv/stat"; }
postmaster="$(head -n1 "$(psql -X -At -d "$db" -c "SHOW data_directory")/postmaster.pid" 2>/dev/null || true)"
pg_ticks() {
    local t=0 p
    [ -n "$postmaster" ] && t="$(awk '{print $16 + $17}' "/proc/$postmaster/stat" 2>/dev/null || echo 0)"
    for p in $(psql -X -At -d "$db" -c "SELECT pid FROM pg_stat_activity"); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
run_counted() { # run_counted OUT CMD...: CMD's stdout into OUT; prints the CPU ticks CMD used
    local out="$1"
    shift
    bash -c '"$@" >"$0" 2>/dev/null; awk "{print \$16 + \$17}" /proc/$$/stat' "$out" "$@"
}
hz="$(getconf CLK_TCK)"
cpu() { # cpu TICKS REQUESTS -> ms per request
    awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN {printf "%.3f", (n > 0 ? t / hz * 1000 / n : 0)}'
}
w() { # w CONNECTIONS -> "N req/s, p50, p99" (and CPU per request)
    local c="$1" s0 p0 s1 p1 ct n
    s0="$(srv_ticks)"; p0="$(pg_ticks)"
    ct="$(run_counted "$work/wrk.txt" wrk --latency -t "$([ "$c" -gt 1 ] && echo 2 || echo 1)" -c "$c" -d "${secs}s" \
        -H "Authorization: Bearer $key" "$url")"
    s1="$(srv_ticks)"; p1="$(pg_ticks)"
    n="$(awk '/requests in/ {print $1}' "$work/wrk.txt")"
    awk -v cpu="CPU per request: wrk $(cpu "$ct" "$n"), quant-http $(cpu $((s1 - s0)) "$n"), database $(cpu $((p1 - p0)) "$n") ms" '
        /Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
        END {printf "%s req/s, p50 %s, p99 %s; %s%s\n", rps, p50, p99, cpu, bad ? ", NON-2XX " bad : ""}' "$work/wrk.txt"
}
a() { # a CONNECTIONS
    "$ac" -j -c "$1" -d "$secs" -H "Authorization=Bearer $key" "$url" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
bad = r["non2xx"] + r["errors"]
rps, p50, p99 = r["requests"]["average"], r["latency"]["p50"], r["latency"]["p99"]
print(f"{rps:.0f} req/s, p50 {p50} ms, p99 {p99} ms" + (f", NON-2XX/ERRORS {bad}" if bad else ""))'
}
pg() { # pg CONNECTIONS FILE [PGOPTIONS] -> calls/s, p50, p99 (and CPU per call)
    local c="$1" p0 p1 ct
    rm -f "$work"/lat_*
    p0="$(pg_ticks)"
    ct="$(cd "$work" && PGOPTIONS="${3:-}" run_counted /dev/null pgbench -n -M prepared -l --log-prefix=lat_ \
        -T "$secs" -c "$c" -j "$([ "$c" -gt 1 ] && echo 2 || echo 1)" -d "$db" -f "$2")"
    p1="$(pg_ticks)"
    cat "$work"/lat_* | awk '{print $3}' | sort -n | awk -v secs="$secs" -v ct="$ct" -v dp="$((p1 - p0))" -v hz="$hz" '
        {a[NR]=$1} END {
        printf "%.0f calls/s, p50 %.3f ms, p99 %.3f ms; CPU per call: pgbench %.3f, database %.3f ms\n", NR / secs,
               a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000, ct / hz * 1000 / NR, dp / hz * 1000 / NR}'
}
echo "# machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); quant-http $bin: $threads threads, $dbconns database connections"
for c in 1 "$conns"; do
    echo "== $c connection(s), ${secs} s each"
    echo "http wrk:                      $(w "$c")"
    echo "http autocannon:               $(a "$c")"
    echo "sql: get_strategy:             $(pg "$c" get.sql)"
    # the server's transaction as the application role, pipelined as quant-http sends it
    echo "sql: the server's transaction: $(pg "$c" route.sql "-c role=quant_app")"
done
case "${QUANT_BENCH_PROFILE:-}" in
strace) # system calls of quant-http per request, over one wrk run at C connections
    strace -c -f -p "$srv" -o "$work/strace.txt" & tracer=$!
    sleep 0.5
    n="$(wrk -t 2 -c "$conns" -d "${secs}s" -H "Authorization: Bearer $key" "$url" | awk '/requests in/ {print $1}')"
    kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
    echo "== strace -c -f of quant-http over $n requests (traced: slower), calls per request:"
    awk -v n="$n" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ {printf "  %-16s %6.2f\n", $NF, $4 / n}' "$work/strace.txt" | sort -k2 -nr | head -12
    ;;
perf) # where quant-http's CPU goes, over one wrk run at C connections (cpu-clock: no hardware counters here)
    perf record -q -e cpu-clock -g -p "$srv" -o "$work/perf.data" -- sleep "$secs" >/dev/null 2>&1 & prof=$!
    wrk -t 2 -c "$conns" -d "${secs}s" -H "Authorization: Bearer $key" "$url" >/dev/null
    wait "$prof" || true
    echo "== perf report (quant-http, self time, top entries)"
    perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25
    ;;
esac
echo "# load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
