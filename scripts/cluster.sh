#!/usr/bin/env bash
# The embedded PostgreSQL 15 cluster (and, later, the services around it).
#
#   scripts/cluster.sh start     start the cluster (initdb on first use); idempotent
#   scripts/cluster.sh setup     create/upgrade the extensions, load the sample data; idempotent
#   scripts/cluster.sh services  start the services listed in SERVICES below; idempotent
#   scripts/cluster.sh stop      stop the services, then the cluster; idempotent
#   scripts/cluster.sh status    print what is running
#   scripts/cluster.sh psql ...  open psql on the database (extra args go to psql)
#   scripts/cluster.sh url       print the connection string (what DB_URL should be)
#   scripts/cluster.sh standby-url  the running standbys' multi-host string (QUANT_HTTP_STANDBY_URL)
#
# With DB_URL set, nothing is started or stopped: setup/psql/status/services use that server.
# Without it the cluster lives in $REPO/.run (pgdata/, postgres.log, the socket), port
# ${QUANT_PGPORT:-54329}, database "quant", and listens on 127.0.0.1 as well.
#
# Read scale-out (docs/scale.md): with REPLICAS=N (`make run REPLICAS=1`), `start` also starts N
# streaming hot standbys of it, made once with pg_basebackup -R into .run/standby<i>/ (port
# QUANT_PGPORT+i, socket in that directory), and `services` points quant-http's standby pool
# (QUANT_HTTP_STANDBY_URL) at the running ones. `stop` stops every standby there is.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------------------
# Services started by `services` (and `make run`), stopped by `stop`, in this order.
# One entry per line: "name|command". The command runs from the repo root with DB_URL
# exported; its pid goes to .run/<name>.pid and its output to .run/<name>.log.
# A service whose executable does not exist yet is skipped with a note.
SERVICES=(
    # quant-worker: the live loop's executor (LISTEN quant_signal, risk checks, paper broker)
    "worker|/usr/local/bin/quant-worker"
    # quant-feed: the live feed's fetcher (LISTEN quant_feed; md.feed sources, worker/README.md "The feed")
    "feed|/usr/local/bin/quant-feed"
    # quant-http: the Trade API over HTTP (/api/v1), on QUANT_HTTP_ADDR (default 127.0.0.1:8000)
    "http|/usr/local/bin/quant-http"
)
# ---------------------------------------------------------------------------------------

PG_CTL="$QUANT_PGBIN/pg_ctl"

embedded() { [ -z "${DB_URL:-}" ]; }

init_paths() {
    STATE_DIR="$(quant_state_dir)"
    PGDATA_DIR="$STATE_DIR/pgdata"
    PG_LOG="$STATE_DIR/postgres.log"
}

pg_running() { [ -f "$PGDATA_DIR/PG_VERSION" ] && quant_as_pg "$PG_CTL" -D "$PGDATA_DIR" status >/dev/null 2>&1; }

# psql as the bootstrap superuser over the socket (trust)
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$STATE_DIR" -p "$QUANT_PGPORT" -U postgres "$@"; }

# write_config [DATA_DIR PORT SOCKET_DIR]: the primary's by default (a standby's with arguments).
write_config() {
    local data="${1:-$PGDATA_DIR}" port="${2:-$QUANT_PGPORT}" sock="${3:-$STATE_DIR}"
    # Rewritten on every start so that a change here (or of QUANT_PGPORT) takes effect.
    cat >"$data/quant.conf" <<CONF
# Managed by scripts/cluster.sh: edits here are overwritten on the next start.
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
shared_preload_libraries = 'pg_cron'
cron.database_name = '$QUANT_DB_NAME'
cron.use_background_workers = on
max_worker_processes = 20
logging_collector = off
log_min_messages = warning
# broker credentials are sealed with this key (outside the data directory; quant-worker reads it too)
quant.credential_key_file = '$STATE_DIR/credential.key'
# streaming standbys (REPLICAS=N): a standby answers queries while it replays
hot_standby = on
hot_standby_feedback = on  # long grid searches on a standby are not cancelled by vacuum here
wal_keep_size = '256MB'  # a standby stopped for a while can still catch up
CONF
    write_credential_key
    # A local development cluster: trust on the unix socket (in a directory only this
    # checkout uses) and on 127.0.0.1. Never expose it beyond the loopback interface.
    cat >"$data/pg_hba.conf" <<HBA
# Managed by scripts/cluster.sh. LOCAL DEV CLUSTER ONLY: no passwords.
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  trust
host    all          all   127.0.0.1/32   trust
local   replication  all                  trust
host    replication  all   127.0.0.1/32   trust
HBA
    if quant_is_root; then chown "$QUANT_PG_OS_USER": "$data/quant.conf" "$data/pg_hba.conf"; fi
    grep -q "^include_if_exists 'quant.conf'" "$data/postgresql.conf" ||
        echo "include_if_exists 'quant.conf'" >>"$data/postgresql.conf"
}

# ---- streaming standbys (REPLICAS=N) ---------------------------------------------------------

standby_dir() { printf '%s/standby%s\n' "$STATE_DIR" "$1"; }
standby_port() { echo $((QUANT_PGPORT + $1)); }
standby_running() {
    local d
    d="$(standby_dir "$1")/pgdata"
    [ -f "$d/PG_VERSION" ] && quant_as_pg "$PG_CTL" -D "$d" status >/dev/null 2>&1
}
# The standbys that exist (made by an earlier REPLICAS=N), by number.
standby_numbers() {
    local d
    for d in "$STATE_DIR"/standby*/pgdata; do
        [ -f "$d/PG_VERSION" ] || continue
        d="${d%/pgdata}"
        echo "${d##*/standby}"
    done | sort -n
}

start_standby() {
    local i="$1" dir port data log
    dir="$(standby_dir "$i")"
    port="$(standby_port "$i")"
    data="$dir/pgdata"
    log="$dir/postgres.log"
    if standby_running "$i"; then
        quant_log "standby $i already running (port $port)"
        return 0
    fi
    mkdir -p "$dir"
    if quant_is_root; then chown "$QUANT_PG_OS_USER": "$dir"; fi
    chmod 755 "$dir"
    if [ ! -f "$data/PG_VERSION" ]; then
        quant_log "standby $i: pg_basebackup -R from the primary into $data"
        rm -rf "$data"
        quant_as_pg "$QUANT_PGBIN/pg_basebackup" -h "$STATE_DIR" -p "$QUANT_PGPORT" -U postgres -D "$data" \
            -R -X stream -c fast >"$dir/basebackup.log" 2>&1 ||
            { tail -n 20 "$dir/basebackup.log" >&2; quant_die "pg_basebackup for standby $i failed"; }
    fi
    write_config "$data" "$port" "$dir"
    touch "$log"
    if quant_is_root; then chown "$QUANT_PG_OS_USER": "$log"; fi
    quant_log "starting standby $i on port $port (log: $log)"
    if ! quant_as_pg "$PG_CTL" -D "$data" -l "$log" -w -t 120 start >/dev/null; then
        tail -n 20 "$log" >&2
        quant_die "standby $i did not start (log: $log)"
    fi
}

stop_standbys() {
    local i
    for i in $(standby_numbers); do
        if standby_running "$i"; then
            quant_as_pg "$PG_CTL" -D "$(standby_dir "$i")/pgdata" -m fast -w -t 60 stop >/dev/null
            quant_log "standby $i stopped"
        fi
    done
}

# quant-http's standby pool: the running standbys as one multi-host string (empty: none).
standby_url() {
    embedded || return 0
    init_paths
    local i hosts=""
    for i in $(standby_numbers); do
        standby_running "$i" || continue
        hosts="${hosts:+$hosts,}127.0.0.1:$(standby_port "$i")"
    done
    [ -n "$hosts" ] || return 0
    printf 'postgresql://%s@%s/%s?target_session_attrs=standby\n' "$(id -un)" "$hosts" "$QUANT_DB_NAME"
}

# The broker credentials' key (sql/README.md "Broker credentials"): 32 random bytes as hex,
# made once, beside (not inside) the data directory, readable by the server's OS user.
write_credential_key() {
    local f="$STATE_DIR/credential.key"
    [ -s "$f" ] && return 0
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$f" && echo >>"$f")
    if quant_is_root; then chown "$QUANT_PG_OS_USER": "$f"; fi
    quant_log "made the broker credential key $f (keep it out of database backups)"
}

cmd_start() {
    if ! embedded; then
        quant_log "DB_URL is set: not starting the embedded cluster"
        return 0
    fi
    init_paths
    if pg_running; then
        quant_log "cluster already running ($PGDATA_DIR, port $QUANT_PGPORT)"
    else
        if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
            quant_log "initdb $PGDATA_DIR"
            rm -rf "$PGDATA_DIR"
            mkdir -p "$PGDATA_DIR"
            if quant_is_root; then chown "$QUANT_PG_OS_USER": "$PGDATA_DIR"; fi
            chmod 700 "$PGDATA_DIR"
            quant_as_pg "$QUANT_PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
                --auth=trust >"$STATE_DIR/initdb.log" 2>&1 ||
                { tail -n 20 "$STATE_DIR/initdb.log" >&2; quant_die "initdb failed (log: $STATE_DIR/initdb.log)"; }
        fi
        write_config
        quant_log "starting PostgreSQL on port $QUANT_PGPORT (log: $PG_LOG)"
        touch "$PG_LOG"
        if quant_is_root; then chown "$QUANT_PG_OS_USER": "$PG_LOG"; fi
        if ! quant_as_pg "$PG_CTL" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 start >/dev/null; then
            tail -n 20 "$PG_LOG" >&2
            quant_die "PostgreSQL did not start (log: $PG_LOG)"
        fi
    fi
    # First start (and harmless later): our OS user as a superuser role, and the database.
    local me
    me="$(id -un)"
    if [ "$(psql_admin -d postgres -Atc "SELECT 1 FROM pg_roles WHERE rolname = '$me'")" != 1 ]; then
        psql_admin -d postgres -c "CREATE ROLE \"$me\" SUPERUSER LOGIN"
    fi
    if [ "$(psql_admin -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$QUANT_DB_NAME'")" != 1 ]; then
        psql_admin -d postgres -c "CREATE DATABASE \"$QUANT_DB_NAME\""
    fi
    local replicas="${REPLICAS:-0}" i
    [[ "$replicas" =~ ^[0-9]+$ ]] || quant_die "REPLICAS: expected a number of standbys, got \"$replicas\""
    for ((i = 1; i <= replicas; i++)); do start_standby "$i"; done
    quant_log "ready: $(quant_embedded_db_url)"
}

cmd_stop() {
    stop_services
    if ! embedded; then
        quant_log "DB_URL is set: no embedded cluster to stop"
        return 0
    fi
    init_paths
    stop_standbys
    if pg_running; then
        quant_as_pg "$PG_CTL" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null
        quant_log "cluster stopped"
    else
        quant_log "cluster not running"
    fi
}

cmd_status() {
    local rc=0
    if embedded; then
        init_paths
        if pg_running; then
            echo "cluster:  running (data $PGDATA_DIR, port $QUANT_PGPORT, log $PG_LOG)"
        else
            echo "cluster:  stopped (data $PGDATA_DIR)"
            rc=3
        fi
        local i
        for i in $(standby_numbers); do
            if standby_running "$i"; then
                echo "standby:  $i running (port $(standby_port "$i"), lag $(psql -X -Atq -h "$(standby_dir "$i")" \
                    -p "$(standby_port "$i")" -U postgres -d "$QUANT_DB_NAME" -c "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 'none (replayed all it received)' ELSE coalesce(now() - pg_last_xact_replay_timestamp(), '0')::text END" 2>/dev/null || echo '?'))"
            else
                echo "standby:  $i stopped"
            fi
        done
    else
        if psql "$DB_URL" -X -Atqc 'SELECT 1' >/dev/null 2>&1; then
            echo "DB_URL:   reachable"
        else
            echo "DB_URL:   NOT reachable"
            rc=3
        fi
    fi
    echo "url:      $(quant_db_url)"
    local entry name pid
    for entry in "${SERVICES[@]}"; do
        name="${entry%%|*}"
        pid="$(service_pid "$name")"
        if [ -n "$pid" ]; then echo "service:  $name running (pid $pid)"; else echo "service:  $name stopped"; fi
    done
    return $rc
}

# ---- setup ----------------------------------------------------------------------------

cmd_setup() {
    local url
    url="$(quant_db_url)"
    if embedded; then
        init_paths
        pg_running || quant_die "the cluster is not running: scripts/cluster.sh start"
    fi
    local q=(env PGOPTIONS="-c client_min_messages=warning ${PGOPTIONS:-}" psql "$url" -X -q -v ON_ERROR_STOP=1)

    local err
    if ! err="$("${q[@]}" -c 'CREATE EXTENSION IF NOT EXISTS pg_cron' 2>&1)"; then
        printf '%s\n' "$err" >&2
        if embedded; then quant_die "CREATE EXTENSION pg_cron failed"; fi
        quant_log "warning: pg_cron is not usable on DB_URL's server (needs shared_preload_libraries='pg_cron'" \
            "and cron.database_name = this database); continuing without it"
    fi

    # QUANT_EXT_NAME only exists so that this script can be tested with a stand-in extension.
    local ext="${QUANT_EXT_NAME:-quant}" installed available
    installed="$("${q[@]}" -Atc "SELECT extversion FROM pg_extension WHERE extname = '$ext'")"
    available="$("${q[@]}" -Atc "SELECT default_version FROM pg_available_extensions WHERE name = '$ext'")"
    if [ -z "$available" ] && [ -z "$installed" ]; then
        quant_die "the extension '$ext' is not installed into this PostgreSQL server" \
            "(no $ext.control in $(pg_sharedir)/extension). Run 'make install' first."
    fi
    if [ -n "$installed" ]; then
        "${q[@]}" -c "ALTER EXTENSION \"$ext\" UPDATE" || quant_die "ALTER EXTENSION $ext UPDATE failed"
        quant_log "extension $ext: $installed -> $("${q[@]}" -Atc "SELECT extversion FROM pg_extension WHERE extname = '$ext'")"
    else
        "${q[@]}" -c "CREATE EXTENSION \"$ext\"" || quant_die "CREATE EXTENSION $ext failed"
        quant_log "extension $ext $available created"
    fi

    # The live loop's pg_cron jobs (quant_daily_close_<MARKET>, quant_hourly), when pg_cron is here.
    "${q[@]}" -c "DO \$\$BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') AND to_regprocedure('quant.install_schedules()') IS NOT NULL THEN PERFORM quant.install_schedules(); END IF; END\$\$" || quant_die "quant.install_schedules() failed"

    # Sample data (quant.load_bars_csv is idempotent and reads the file as the server).
    local data
    data="$(quant_pg_readable_dir "$QUANT_REPO/data")"
    local rc=0
    "${q[@]}" -v ttrc="$data/ttrc_daily_ohlcv.csv" -v msft="$data/msft_2000_2001_ohlcv.csv" >/dev/null <<'SQL' || rc=$?
SET client_min_messages = warning;
SELECT quant.load_bars_csv('TTRC', :'ttrc');
SELECT quant.load_bars_csv('MSFT', :'msft');
SQL
    if [ "$data" != "$QUANT_REPO/data" ]; then rm -rf "$data"; fi
    [ "$rc" -eq 0 ] || quant_die "loading the sample data failed"
    quant_log "sample data loaded: $("${q[@]}" -Atc "SELECT string_agg(ticker || '=' || n, ' ') FROM (SELECT ticker, count(*) n FROM md.bar GROUP BY 1 ORDER BY 1) s" 2>/dev/null || echo '?')"

    # The live loop's sample: user demo's RSI strategy on TTRC deployed on PAPER, run once (idempotent).
    "${q[@]}" -Atc "SELECT CASE WHEN to_regprocedure('quant.install_sample_deployment()') IS NOT NULL THEN quant.install_sample_deployment()::text END" >/dev/null || quant_die "quant.install_sample_deployment() failed"
}

pg_sharedir() { "$QUANT_PGBIN/pg_config" --sharedir 2>/dev/null || echo /usr/share/postgresql/15; }

# ---- services -------------------------------------------------------------------------

service_pid() {
    local f="$QUANT_RUN_DIR/$1.pid" pid
    [ -f "$f" ] || return 0
    pid="$(cat "$f")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

start_services() {
    mkdir -p "$QUANT_RUN_DIR"
    local entry name cmd exe pid url standby key_file="${QUANT_CREDENTIAL_KEY_FILE:-}"
    url="$(quant_db_url)"
    standby="${QUANT_HTTP_STANDBY_URL:-$(standby_url)}"
    if embedded && [ -z "$key_file" ]; then
        init_paths
        key_file="$STATE_DIR/credential.key"
    fi
    for entry in "${SERVICES[@]}"; do
        name="${entry%%|*}"
        cmd="${entry#*|}"
        exe="${cmd%% *}"
        pid="$(service_pid "$name")"
        if [ -n "$pid" ]; then
            quant_log "service $name already running (pid $pid)"
            continue
        fi
        if [ ! -x "$exe" ]; then
            quant_log "service $name: $exe not built/installed yet, skipped"
            continue
        fi
        # shellcheck disable=SC2086  # the command line is split on purpose
        # quant-worker: the credential key of the embedded cluster, and no real Bybit host unless
        # QUANT_BYBIT_BASE_URL says so (e.g. the local fake: worker/README.md "Bybit")
        # quant-http: its standby pool on the running standbys (REPLICAS=N), if any
        (cd "$QUANT_REPO" && DB_URL="$url" QUANT_CREDENTIAL_KEY_FILE="$key_file" QUANT_HTTP_STANDBY_URL="$standby" \
            QUANT_BYBIT_BASE_URL="${QUANT_BYBIT_BASE_URL:-off}" exec setsid $cmd >>"$QUANT_RUN_DIR/$name.log" 2>&1 </dev/null) &
        echo $! >"$QUANT_RUN_DIR/$name.pid"
        sleep 0.5
        if [ -n "$(service_pid "$name")" ]; then
            quant_log "service $name started (pid $!, log .run/$name.log)"
        else
            tail -n 20 "$QUANT_RUN_DIR/$name.log" >&2 || true
            quant_die "service $name exited at once (log .run/$name.log)"
        fi
    done
}

stop_services() {
    local i entry name pid n
    # reverse order
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        entry="${SERVICES[$i]}"
        name="${entry%%|*}"
        pid="$(service_pid "$name")"
        if [ -n "$pid" ]; then
            kill -TERM "$pid" 2>/dev/null || true
            for n in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
            quant_log "service $name stopped"
        fi
        rm -f "$QUANT_RUN_DIR/$name.pid"
    done
}

# ---------------------------------------------------------------------------------------

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    setup) cmd_setup ;;
    services) start_services ;;
    url) quant_db_url ;;
    standby-url) standby_url ;;
    psql)
        shift
        exec psql "$(quant_db_url)" "$@"
        ;;
    *)
        echo "usage: $0 start|stop|status|setup|services|psql [args]|url|standby-url" >&2
        exit 2
        ;;
esac
