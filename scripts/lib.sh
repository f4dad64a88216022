# shellcheck shell=bash
# Common helpers for the quant scripts. Source it, do not run it:
#     . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Environment:
#   DB_URL        libpq connection string (URI or key=value). When set, every script talks
#                 to that server and never starts/stops the embedded cluster.
#   QUANT_PGPORT  port of the embedded cluster (default 54329).
#
# Functions other scripts (and later services) use:
#   quant_db_url            DB_URL if set, else the embedded cluster's connection string
#   quant_embedded_db_url   the embedded cluster's connection string
#   quant_state_dir         where the embedded cluster lives (normally $REPO/.run)
#   quant_pg_readable_dir   a copy of a directory that the postgres user can read

QUANT_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUANT_PGBIN="${QUANT_PGBIN:-/usr/lib/postgresql/15/bin}"
QUANT_PGPORT="${QUANT_PGPORT:-54329}"
QUANT_DB_NAME="quant"
QUANT_RUN_DIR="$QUANT_REPO/.run"          # pid files and service logs, always here
QUANT_PG_OS_USER="postgres"               # OS user that runs the server when we are root

quant_log()  { printf '[quant] %s\n' "$*" >&2; }
quant_die()  { printf '[quant] ERROR: %s\n' "$*" >&2; exit 1; }

quant_is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as the server's OS user (initdb and postgres refuse to run as root).
# When we are not root we simply are that user. cd / first: the server binaries complain
# when the current directory is not readable by them.
quant_as_pg() {
    if quant_is_root; then
        (cd / && runuser -u "$QUANT_PG_OS_USER" -- "$@")
    else
        "$@"
    fi
}

# Directory holding pgdata, the socket and postgres.log. $REPO/.run normally; when the
# postgres user cannot reach it (a parent directory is not traversable) or the socket path
# would be too long for a unix socket, /var/lib/quant/<hash of the repo path>.
_QUANT_STATE_DIR=""
quant_state_dir() {
    if [ -n "$_QUANT_STATE_DIR" ]; then
        printf '%s\n' "$_QUANT_STATE_DIR"
        return
    fi
    local dir="$QUANT_RUN_DIR" sock_suffix="/.s.PGSQL.$QUANT_PGPORT" ok=1
    mkdir -p "$dir"
    if quant_is_root; then
        chown "$QUANT_PG_OS_USER": "$dir" && chmod 755 "$dir"
        quant_as_pg test -w "$dir" -a -x "$dir" || ok=0
    fi
    if [ $(( ${#dir} + ${#sock_suffix} )) -gt 100 ]; then ok=0; fi
    if [ "$ok" -eq 0 ]; then
        local hash
        hash="$(printf '%s' "$QUANT_REPO" | sha1sum | cut -c1-12)"
        dir="/var/lib/quant/$hash"
        # said once, when the fallback is made (every script calls this, often in a subshell)
        [ -d "$dir" ] || quant_log "note: the postgres user cannot use $QUANT_RUN_DIR (a parent directory is not" \
            "traversable, or the socket path is too long); using $dir for the cluster instead"
        mkdir -p "$dir"
        chmod 755 /var/lib/quant 2>/dev/null || true
        if quant_is_root; then chown "$QUANT_PG_OS_USER": "$dir"; fi
        chmod 755 "$dir"
    fi
    _QUANT_STATE_DIR="$dir"
    printf '%s\n' "$dir"
}

quant_pgdata()  { printf '%s/pgdata\n' "$(quant_state_dir)"; }
quant_pglog()   { printf '%s/postgres.log\n' "$(quant_state_dir)"; }

# The embedded cluster's connection string (TCP on 127.0.0.1; pg_hba trusts it).
quant_embedded_db_url() {
    printf 'postgresql://%s@127.0.0.1:%s/%s\n' "$(id -un)" "$QUANT_PGPORT" "$QUANT_DB_NAME"
}

# What every component should connect to: DB_URL wins, else the embedded cluster.
quant_db_url() {
    if [ -n "${DB_URL:-}" ]; then
        printf '%s\n' "$DB_URL"
    else
        quant_embedded_db_url
    fi
}

# quant_pg_readable_dir SRC_DIR  ->  prints SRC_DIR if the postgres user can read the files
# in it, else a fresh world-readable copy under /tmp (the caller removes it; compare with
# SRC_DIR). Server-side functions such as quant.load_bars_csv read files as the server.
quant_pg_readable_dir() {
    local src="$1" probe
    probe="$(find "$src" -maxdepth 1 -type f | head -n1)"
    if [ -z "$probe" ] || ! quant_is_root || quant_as_pg test -r "$probe"; then
        printf '%s\n' "$src"
        return
    fi
    local tmp
    tmp="$(mktemp -d /tmp/quant-data.XXXXXX)"
    cp -r "$src"/. "$tmp"/
    chmod -R a+rX "$tmp"
    printf '%s\n' "$tmp"
}
