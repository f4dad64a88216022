#!/usr/bin/env bash
# The automatic-failover topology of docs/scale.md §2 on this one machine, with pg_auto_failover
# (Debian postgresql-15-auto-failover, pg_autoctl): a monitor, a primary and N secondaries
# (default 1), each its own PostgreSQL on its own port, synchronous replication, pg_cron
# preloaded on every node (it runs jobs only on the primary), the quant extension installed.
#
#   usage: failover-cluster.sh up | down | destroy | status | uri | primary | kill-primary | rejoin NODE | wait-healthy
#   up             make (once) and start the monitor and the data nodes, create quant in database quant
#   down           stop every pg_autoctl and PostgreSQL of the topology (keeps the data)
#   destroy        down, then delete FAILOVER_DIR
#   status         pg_autoctl show state
#   uri            the multi-host DB_URL (target_session_attrs=read-write)
#   primary        the name of the node the monitor says is primary (node1, node2, ...)
#   kill-primary   the primary machine is lost: its pg_autoctl is SIGKILLed, then its PostgreSQL
#                  stopped with `pg_ctl stop -m immediate` (no shutdown checkpoint); prints its name
#   rejoin NODE    start NODE's pg_autoctl again: it rejoins as a secondary (pg_rewind if needed)
#   wait-healthy [S]  wait until one node is primary, writable, and every other one a streaming
#                  synchronous secondary (deadline S, default 180 s)
# Environment:
#   FAILOVER_DIR     where everything lives (default /tmp/quant-failover); owned by the postgres user
#   FAILOVER_PORTS   "MONITOR NODE1 NODE2 [NODE3]" (default "55560 55561 55562"); a third node
#                    port makes 2 secondaries (number_sync_standbys 1)
#   QUANT_PGBIN      PostgreSQL 15's bin dir (default /usr/lib/postgresql/15/bin), with the quant
#                    extension, pg_cron and pgautofailover installed in it
#   FAILOVER_FAST=1  (default) the monitor's health checks and the demote timeout shortened for
#                    tests (below); FAILOVER_FAST=0 keeps pg_auto_failover's defaults
# pg_autoctl runs as the postgres OS user (it refuses root); its config and state go under
# FAILOVER_DIR (XDG_*), not the postgres user's home.
set -euo pipefail
# libpq's and pg_autoctl's environment must not leak in from a caller (a test cluster's PG*)
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGTARGETSESSIONATTRS PGCONNECT_TIMEOUT \
    PGDATA PGOPTIONS PGAPPNAME PG_CONFIG PGSSLMODE
DIR="${FAILOVER_DIR:-/tmp/quant-failover}"
read -r -a PORTS <<<"${FAILOVER_PORTS:-55560 55561 55562}"
PGBIN="${QUANT_PGBIN:-/usr/lib/postgresql/15/bin}"
FAST="${FAILOVER_FAST:-1}"
AUTOCTL="$(command -v pg_autoctl || true)"
[ -n "$AUTOCTL" ] || AUTOCTL="$PGBIN/pg_autoctl"
MONITOR_PORT="${PORTS[0]}"
NODES=()
for ((i = 1; i < ${#PORTS[@]}; i++)); do NODES+=("node$i"); done
MONITOR_URI="postgres://autoctl_node@127.0.0.1:$MONITOR_PORT/pg_auto_failover?sslmode=disable"

say() { printf '[failover] %s\n' "$*" >&2; }
as_pg() { # a command as the postgres OS user, with pg_autoctl's XDG dirs in DIR
    local env=(env "XDG_CONFIG_HOME=$DIR/xdg/config" "XDG_DATA_HOME=$DIR/xdg/data" "XDG_RUNTIME_DIR=$DIR/xdg/run"
        "PG_CONFIG=$PGBIN/pg_config" "PATH=$PGBIN:$PATH")
    if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "${env[@]}" "$@"); else (cd / && "${env[@]}" "$@"); fi
}
as_pg_log() { # NAME COMMAND...: as_pg, output appended to DIR/NAME.log (written by postgres)
    local name=$1
    shift
    as_pg bash -c '"$@" >>"$0" 2>&1' "$DIR/$name.log" "$@"
}
port_of() { # node name -> port
    [ -n "$1" ] || { say "no such node (no primary?)"; return 1; }
    local n=${1#node}
    echo "${PORTS[$n]}"
}
monitor_sql() {
    as_pg "$PGBIN/psql" -X -qAt -h 127.0.0.1 -p "$MONITOR_PORT" -U autoctl_node -d pg_auto_failover -c "$1"
}
node_sql() { # PORT SQL [DB]
    as_pg "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "${3:-quant}" -c "$2"
}

run_keeper() { # NAME PGDATA: pg_autoctl run in the background (its own session), pid in DIR/NAME.pid
    local name=$1 pgdata=$2
    as_pg bash -c "setsid nohup '$AUTOCTL' run --pgdata '$pgdata' >>'$DIR/$name.log' 2>&1 </dev/null & echo \$! >'$DIR/$name.pid'"
}
running() { # NAME: is its pg_autoctl alive
    [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null
}
wait_for() { # SECONDS DESCRIPTION COMMAND...: poll a condition with a deadline
    local end=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || { say "timed out waiting for $what"; return 1; }
        sleep 0.2
    done
}
node_state() { # NAME: reported state of the node at the monitor
    monitor_sql "SELECT reportedstate FROM pgautofailover.node WHERE nodename = '$1'" 2>/dev/null
}
state_is() { [ "$(node_state "$1")" = "$2" ]; }
healthy() { # one primary, every other node secondary, and the monitor's goal reached
    local n p=0 s=0
    for n in "${NODES[@]}"; do
        case "$(monitor_sql "SELECT reportedstate || '/' || goalstate FROM pgautofailover.node WHERE nodename = '$n'")" in
            primary/primary) p=$((p + 1)) ;;
            secondary/secondary) s=$((s + 1)) ;;
        esac
    done
    [ $p -eq 1 ] && [ $((p + s)) -eq ${#NODES[@]} ] || return 1
    # and really so (after a restart the monitor still shows the states from before): the
    # primary accepts writes, every secondary streams from it, synchronously
    local pp
    pp="$(port_of "$(primary)")" || return 1
    node_is_writable "$pp" || return 1
    [ "$(node_sql "$pp" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'
        AND sync_state IN ('sync', 'quorum')" postgres)" = $((${#NODES[@]} - 1)) ]
}

quant_conf() { # settings quant needs, appended to a data node's postgresql.conf before its first start
    cat <<CONF
# quant (scripts/failover-cluster.sh)
shared_preload_libraries = 'pg_cron'
cron.database_name = 'quant'
cron.use_background_workers = on
max_worker_processes = 20
max_connections = 200
synchronous_commit = on
wal_keep_size = '256MB'
hot_standby_feedback = on
CONF
}

up() {
    mkdir -p "$DIR/xdg/config" "$DIR/xdg/data" "$DIR/xdg/run"
    [ "$(id -u)" -ne 0 ] || chown -R postgres: "$DIR"
    chmod 700 "$DIR/xdg/run"
    local m="$DIR/monitor"
    if [ ! -f "$m/PG_VERSION" ]; then
        say "creating the monitor on port $MONITOR_PORT"
        as_pg_log monitor "$AUTOCTL" create monitor --pgdata "$m" --pgport "$MONITOR_PORT" --hostname 127.0.0.1 \
            --auth trust --no-ssl --pgctl "$PGBIN/pg_ctl"
        if [ "$FAST" = 1 ]; then
            # health checks every second, a node unhealthy after 4 s without a report and a failed
            # check; a lost primary given 4 s to demote itself (its keeper's network_partition_timeout
            # is 3 s below, so an isolated primary has fenced itself first)
            as_pg bash -c "cat >>'$m/postgresql.conf'" <<CONF
pgautofailover.health_check_period = 1000
pgautofailover.health_check_timeout = 1000
pgautofailover.health_check_max_retries = 1
pgautofailover.health_check_retry_delay = 500
pgautofailover.node_considered_unhealthy_timeout = 4000
pgautofailover.primary_demote_timeout = 4000
CONF
        fi
    fi
    running monitor || run_keeper monitor "$m"
    wait_for 60 "the monitor" monitor_sql "SELECT 1"
    local n first=1
    for n in "${NODES[@]}"; do
        local d="$DIR/$n" p created=0
        p="$(port_of "$n")"
        if [ ! -f "$d/PG_VERSION" ]; then
            created=1
            say "creating $n on port $p"
            as_pg_log "$n" "$AUTOCTL" create postgres --pgdata "$d" --pgport "$p" --pghost 127.0.0.1 --hostname 127.0.0.1 \
                --listen 127.0.0.1 --dbname quant --name "$n" --monitor "$MONITOR_URI" --auth trust --no-ssl \
                --pgctl "$PGBIN/pg_ctl" &
            local create=$!
            if [ $first = 0 ]; then
                # a secondary's pg_basebackup waits for a spread checkpoint (up to 4.5 min); an
                # immediate CHECKPOINT on the primary ends it at once
                while kill -0 $create 2>/dev/null; do
                    sleep 1
                    node_sql "$(port_of "$(primary)")" CHECKPOINT postgres >/dev/null 2>&1 || true
                done
            fi
            wait $create
            if [ $first = 1 ]; then
                # the first node is the primary: quant's settings before its first real start (the
                # secondaries clone its data directory, postgresql.conf included)
                as_pg "$PGBIN/pg_ctl" -D "$d" -m fast -w stop >/dev/null 2>&1 || true
                quant_conf | as_pg bash -c "cat >>'$d/postgresql.conf'"
            fi
            if [ "$FAST" = 1 ]; then
                as_pg "$AUTOCTL" config set --pgdata "$d" timeout.network_partition_timeout 3 >/dev/null
            fi
        fi
        running "$n" || run_keeper "$n" "$d"
        if [ $first = 1 ] && [ $created = 1 ]; then
            wait_for 120 "$n to be primary (single)" node_is_writable "$p"
            ensure_quant "$p"
        fi
        first=0
    done
    wait_for 240 "one primary and ${#NODES[@]} - 1 secondaries" healthy
    if [ ${#NODES[@]} -ge 3 ]; then
        as_pg_log monitor "$AUTOCTL" set formation number-sync-standbys 1 --monitor "$MONITOR_URI"
        wait_for 120 "the formation's new settings applied" healthy
    fi
    local pp
    pp="$(port_of "$(primary)")"
    wait_for 120 "the primary to accept writes" node_is_writable "$pp"
    ensure_quant "$pp"
    say "up: $(uri)"
}
node_is_writable() { [ "$(node_sql "$1" "SELECT NOT pg_is_in_recovery()" postgres)" = t ]; }
ensure_quant() { # PORT: pg_cron and quant in database quant on the primary (they replicate)
    node_sql "$1" "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_cron; CREATE EXTENSION IF NOT EXISTS quant;
        DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'root') THEN CREATE ROLE root SUPERUSER LOGIN; END IF; END \$\$"
}

down() {
    local n
    for n in "${NODES[@]}" monitor; do
        if running "$n"; then
            as_pg "$AUTOCTL" stop --pgdata "$DIR/$n" --fast >/dev/null 2>&1 || true
            local end=$((SECONDS + 30))
            while running "$n" && [ $SECONDS -lt $end ]; do sleep 0.2; done
            running "$n" && kill -KILL "$(cat "$DIR/$n.pid")" 2>/dev/null || true
        fi
        [ -f "$DIR/$n/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$DIR/$n" -m fast -w stop >/dev/null 2>&1 || true
        rm -f "$DIR/$n.pid"
    done
}

uri() {
    local hosts="" n
    for n in "${NODES[@]}"; do hosts+="${hosts:+,}127.0.0.1:$(port_of "$n")"; done
    echo "postgresql://postgres@$hosts/quant?target_session_attrs=read-write&connect_timeout=2"
}

primary() {
    monitor_sql "SELECT nodename FROM pgautofailover.node
                 WHERE reportedstate IN ('primary', 'wait_primary', 'single', 'apply_settings', 'join_primary')
                 AND goalstate IN ('primary', 'wait_primary', 'single', 'apply_settings', 'join_primary') LIMIT 1"
}

kill_primary() {
    local n
    n="$(primary)"
    [ -n "$n" ] || { say "no primary"; return 1; }
    # the machine is gone: first its keeper (else it restarts PostgreSQL at once), then PostgreSQL
    local sid
    sid="$(cat "$DIR/$n.pid")"
    for pid in $(ps -o pid= -s "$sid" 2>/dev/null); do
        [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = pg_autoctl ] && kill -KILL "$pid" 2>/dev/null || true
    done
    as_pg "$PGBIN/pg_ctl" -D "$DIR/$n" -m immediate -w stop >/dev/null 2>&1 || true
    rm -f "$DIR/$n.pid"
    echo "$n"
}

rejoin() {
    running "$1" || run_keeper "$1" "$DIR/$1"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    destroy) down; rm -rf "$DIR" ;;
    status) as_pg "$AUTOCTL" show state --monitor "$MONITOR_URI" ;;
    uri) uri ;;
    primary) primary ;;
    kill-primary) kill_primary ;;
    rejoin) rejoin "${2:?node name}" ;;
    wait-healthy) wait_for "${2:-180}" "one primary and the secondaries" healthy ;;
    *) sed -n '2,28p' "$0" >&2; exit 2 ;;
esac
