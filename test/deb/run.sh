#!/usr/bin/env bash
# The Debian packages in a fresh Debian 12 root (make deb-test; the short test of make test,
# test/sql/deb.sh, runs this too). No systemd runs in a chroot, so each service is started the
# way its unit says (unit_exec.py: User=, Environment=, EnvironmentFile=, LoadCredential=,
# StateDirectory=, WorkingDirectory=, ExecStart=) with setpriv (no new privileges, an empty
# capability bounding set).
#   1. a fresh root from the cached debootstrap tarball (scripts/deb-root.sh)
#   2. apt-get install ./build/deb/*.deb (dependencies from Debian; downloads kept in
#      build/deb-root/archives), then what was installed: versions, files, conffiles, users,
#      permissions, every shared library found
#   3. PostgreSQL 15 of the root: CREATE EXTENSION pg_cron, quant; login roles for the services
#   4. quant-http, quant-worker, quant-feed from their packaged paths, as their users, with
#      their config; REST: health, the UI, a backtest, strategy -> paper deployment -> run ->
#      the worker's paper trade
#   5. systemd-analyze verify on the units (systemd installed in the root), and the exposure
#      score of systemd-analyze security
#   6. dpkg -i again (the upgrade path of the maintainer scripts), then purge
# Environment: QUANT_DEB_HTTP_PORT (55582), QUANT_DEB_METRICS_PORT (55583),
# QUANT_DEB_KEEP=1 (leave the root and its logs), QUANT_TEST_LOG_DIR.
# Last line: "N passed, N failed".
set -uo pipefail
# The root is a machine of its own: nothing of the caller's libpq or postgresql-common environment
# (make test runs this inside pg_virtualenv, whose PGHOST/PGPORT/PGPASSWORD, PG_CLUSTER_CONF_ROOT and
# PGSYSCONFDIR name the host's throw-away cluster) may leak into the chroot's psql or the services.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGPASSWORD PGDATABASE PGSERVICE PGSERVICEFILE PGSYSCONFDIR \
    PGOPTIONS PGVERSION PGCLUSTER PG_CLUSTER_CONF_ROOT PGPASSFILE PGSSLMODE DB_URL 2>/dev/null || true
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEBS="${QUANT_DEB_DIR:-$REPO/build/deb}"
HTTP_PORT="${QUANT_DEB_HTTP_PORT:-55582}"
METRICS_PORT="${QUANT_DEB_METRICS_PORT:-55583}"
LOG_DIR="${QUANT_TEST_LOG_DIR:-$REPO/build/test-logs}/deb"
VERSION="$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$REPO/extension/quant.control")"
mkdir -p "$LOG_DIR"
T0=$SECONDS
# nothing of the caller's database settings (make test's cluster) reaches the root
unset PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE DB_URL

passed=0 failed=0
say() { printf '[deb-test] %s\n' "$*"; }
ok() { passed=$((passed + 1)); say "ok: $*"; }
bad() { failed=$((failed + 1)); say "FAIL: $*"; }
check() { # check WHAT COMMAND...
    local what="$1"; shift
    if "$@" >>"$LOG_DIR/checks.log" 2>&1; then ok "$what"; else bad "$what"; fi
}
finish() {
    say "total $((SECONDS - T0)) s; logs in $LOG_DIR"
    echo "deb: $passed passed, $failed failed"
    exit $((failed > 0))
}

mapfile -t PKGS < <(ls "$DEBS"/*.deb 2>/dev/null)
if [ ${#PKGS[@]} -lt 5 ]; then
    bad "the packages of build/deb (make deb) exist (found ${#PKGS[@]})"
    finish
fi

# roots left by a run that was killed (its owner process is gone): unmount, then delete
for old in "$REPO"/build/deb-test.*; do
    [ -d "$old" ] || continue
    owner="$(cat "$old/.quant-deb-test-owner" 2>/dev/null || echo 0)"
    if [ "$owner" != 0 ] && kill -0 "$owner" 2>/dev/null; then continue; fi
    for m in var/cache/apt/archives dev/shm dev/pts proc; do umount "$old/$m" 2>/dev/null || true; done
    if ! grep -q " $old/" /proc/mounts; then rm -rf "$old"; fi
done
root="$(mktemp -d "$REPO/build/deb-test.XXXXXX")"
echo $$ >"$root/.quant-deb-test-owner"
pids=()
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -x "$root/usr/bin/pg_ctlcluster" ]; then
        chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin pg_ctlcluster 15 main stop -m fast >/dev/null 2>&1 || true
    fi
    for m in var/cache/apt/archives dev/shm dev/pts proc; do umount "$root/$m" 2>/dev/null || true; done
    if [ "${QUANT_DEB_KEEP:-0}" = 1 ]; then say "kept the root $root"; else rm -rf "$root"; fi
}
trap cleanup EXIT
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# ---- 1. the root ----
t=$SECONDS
if ! "$REPO/scripts/deb-root.sh" "$root" >"$LOG_DIR/root.log" 2>&1; then
    bad "a fresh Debian 12 root (scripts/deb-root.sh; $LOG_DIR/root.log)"
    finish
fi
mount -t proc proc "$root/proc"
mkdir -p "$root/dev/shm" "$root/dev/pts" && mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts" 2>/dev/null || true
mount --bind "$REPO/build/deb-root/archives" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# no service starts during the installation (policy-rc.d, Debian policy 9.3.3)
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
ok "fresh Debian 12 root ($(cut -d. -f1 "$root/etc/debian_version"), $((SECONDS - t)) s)"

# ---- 2. install ----
mkdir -p "$root/tmp/debs" && cp "${PKGS[@]}" "$root/tmp/debs/"
t=$SECONDS
install_cmd=(apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-unsafe-io /tmp/debs/*.deb systemd)
if ! in_root bash -c "${install_cmd[*]}" >"$LOG_DIR/install.log" 2>&1; then
    # the cached package lists may be older than the mirror: refresh them once
    say "apt-get install failed; apt-get update and again"
    in_root apt-get update -qq >>"$LOG_DIR/install.log" 2>&1 || true
    in_root bash -c "${install_cmd[*]}" >>"$LOG_DIR/install.log" 2>&1 ||
        { bad "apt-get install ./build/deb/*.deb in the root ($LOG_DIR/install.log)"; tail -n 20 "$LOG_DIR/install.log"; finish; }
fi
ok "apt-get install of ${#PKGS[@]} packages and their dependencies ($((SECONDS - t)) s, $(grep -c '^Setting up' "$LOG_DIR/install.log") packages set up)"

for p in postgresql-15-quant quant-worker quant-feed quant-http quant-ui; do
    check "$p $VERSION is installed" test "$(in_root dpkg-query -W -f='${Status} ${Version}' "$p")" = "install ok installed $VERSION"
done
for f in /usr/lib/postgresql/15/lib/quant.so /usr/share/postgresql/15/extension/quant.control \
    "/usr/share/postgresql/15/extension/quant--$VERSION.sql" /usr/share/postgresql/15/extension/quant--0.1.0--$VERSION.sql \
    /usr/bin/quant-worker /usr/bin/quant-feed /usr/bin/quant-http /usr/share/quant/ui/index.html; do
    check "packaged file $f" test -s "$root$f"
done
check "every shared library of the binaries and quant.so is found (the Depends are complete)" \
    bash -c "! chroot '$root' ldd /usr/bin/quant-worker /usr/bin/quant-feed /usr/bin/quant-http /usr/lib/postgresql/15/lib/quant.so | grep 'not found'"
for p in quant-worker quant-feed quant-http; do
    env="${p#quant-}.env"
    check "$p: /etc/quant/$env is a conffile" bash -c "chroot '$root' dpkg-query -W -f='\${Conffiles}' $p | grep -q ' /etc/quant/$env '"
    check "$p: its own system user, no login shell" bash -c "chroot '$root' getent passwd $p | grep -Eq ':/usr/sbin/nologin$'"
    check "$p: /etc/quant/$env is 0640 root:$p" test "$(chroot "$root" stat -c '%a %U:%G' "/etc/quant/$env")" = "640 root:$p"
done
check "the credential key was made: 0640 root:postgres, 64 hex digits" \
    bash -c "[ \"\$(chroot '$root' stat -c '%a %U:%G' /etc/quant/credential.key)\" = '640 root:postgres' ] && grep -Eqx '[0-9a-f]{64}' '$root/etc/quant/credential.key'"

# ---- 3. PostgreSQL of the root ----
t=$SECONDS
# socket only (no TCP: nothing of the host's ports is taken); pg_cron preloaded for database quant.
# port 5432, the libpq default the packaged services use: pg_createcluster picked the next port that
# was free on the host's network (5433 when make test's pg_virtualenv cluster holds 5432), but with
# no TCP listener the root's socket cannot clash with anything of the host.
cat >"$root/etc/postgresql/15/main/conf.d/quant.conf" <<CONF
port = 5432
listen_addresses = ''
shared_preload_libraries = 'pg_cron'
cron.database_name = 'quant'
cron.use_background_workers = on
max_worker_processes = 20
fsync = off
quant.credential_key_file = '/etc/quant/credential.key'
CONF
if ! in_root pg_ctlcluster 15 main start >"$LOG_DIR/postgres-start.log" 2>&1; then
    bad "PostgreSQL 15 of the root starts"; cat "$LOG_DIR/postgres-start.log"
    tail -n 20 "$root/var/log/postgresql/postgresql-15-main.log" 2>/dev/null; finish
fi
ok "PostgreSQL 15 of the root started ($((SECONDS - t)) s)"
cp "$REPO/data/ttrc_daily_ohlcv.csv" "$root/tmp/ttrc.csv" && chmod 644 "$root/tmp/ttrc.csv"
psql_pg() { in_root runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
if psql_pg -d postgres -c 'CREATE DATABASE quant' >"$LOG_DIR/sql.log" 2>&1 &&
    psql_pg -d quant >>"$LOG_DIR/sql.log" 2>&1 <<'SQL'; then
SET client_min_messages = warning;
CREATE EXTENSION pg_cron;
CREATE EXTENSION quant;
-- the services log in over the socket as their OS users (peer), each in its quant role
CREATE ROLE "quant-worker" LOGIN IN ROLE quant_worker;
CREATE ROLE "quant-feed" LOGIN IN ROLE quant_worker;
CREATE ROLE "quant-http" LOGIN IN ROLE quant_app;
SELECT quant.load_bars_csv('TTRC', '/tmp/ttrc.csv');
SQL
    ok "CREATE EXTENSION quant ($(psql_pg -d quant -c "SELECT extversion FROM pg_extension WHERE extname = 'quant'")) with pg_cron, roles, TTRC bars"
else
    bad "CREATE EXTENSION quant in the root ($LOG_DIR/sql.log)"; cat "$LOG_DIR/sql.log"; finish
fi
check "the packaged upgrade path 0.1.0 -> $VERSION is known to the server" \
    bash -c "chroot '$root' runuser -u postgres -- psql -X -At -d quant -c \"SELECT count(*) FROM pg_extension_update_paths('quant') WHERE source = '0.1.0' AND target = '$VERSION' AND path IS NOT NULL\" | grep -qx 1"
KEY="$(psql_pg -d quant -c "SELECT quant.create_api_key('debtest')")"

# ---- 4. the services ----
# the admin's edits of the conffiles: this test's ports, no Bybit host
sed -i -e "s|^QUANT_HTTP_ADDR=.*|QUANT_HTTP_ADDR=127.0.0.1:$HTTP_PORT|" \
    -e "s|^QUANT_HTTP_METRICS_ADDR=.*|QUANT_HTTP_METRICS_ADDR=127.0.0.1:$METRICS_PORT|" "$root/etc/quant/http.env"
sed -i -e 's|^# QUANT_BYBIT_BASE_URL=off|QUANT_BYBIT_BASE_URL=off|' "$root/etc/quant/worker.env" "$root/etc/quant/feed.env"

# start_unit UNIT: what systemd would run (unit_exec.py), as the unit's user, in the background
start_unit() {
    local unit="$1" USER GROUP WORKDIR STATE_DIRS CREDENTIALS CRED_DIR EXEC vars=() d c
    local spec
    spec="$(python3 "$REPO/test/deb/unit_exec.py" "$root" "$unit")" || return 1
    eval "$spec"
    local i=0
    while v="ENV_$i" && [ -n "${!v+x}" ]; do vars+=("${!v}"); unset "$v"; i=$((i + 1)); done
    for d in $STATE_DIRS; do
        install -d -m 0750 "$root/var/lib/$d" && chroot "$root" chown "$USER:$GROUP" "/var/lib/$d"
    done
    for c in $CREDENTIALS; do  # LoadCredential=NAME:PATH: a copy only the service's user reads
        install -d -m 0700 "$root$CRED_DIR" && chroot "$root" chown "$USER" "$CRED_DIR"
        install -m 0400 "$root${c#*:}" "$root$CRED_DIR/${c%%:*}" && chroot "$root" chown "$USER" "$CRED_DIR/${c%%:*}"
    done
    # shellcheck disable=SC2086  # ExecStart is split into words as systemd does (no quotes in ours)
    chroot "$root" setpriv --reuid="$USER" --regid="$GROUP" --init-groups --no-new-privs \
        --inh-caps=-all --bounding-set=-all env -i -C "$WORKDIR" "${vars[@]}" $EXEC \
        >"$LOG_DIR/${unit%.service}.log" 2>&1 </dev/null &
    pids+=($!)
    eval "PID_${unit//[-.]/_}=$!"
}
for u in quant-http quant-worker quant-feed; do
    start_unit "$u.service" || bad "$u.service: its unit could not be read"
done
API="http://127.0.0.1:$HTTP_PORT"
up=0
for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$API/healthz" 2>/dev/null; then up=1; break; fi
    sleep 0.2
done
if [ $up -eq 0 ]; then bad "quant-http answers /healthz"; tail -n 20 "$LOG_DIR/quant-http.log"; finish; fi
ok "quant-http answers /healthz"
check "/readyz: 200 (the database reached as quant-http)" curl -fsS "$API/readyz"
check "GET / serves the packaged UI (/usr/share/quant/ui/index.html)" \
    bash -c "curl -fsS '$API/' | cmp -s - '$root/usr/share/quant/ui/index.html'"
check "/metrics on its own address" bash -c "curl -fsS 'http://127.0.0.1:$METRICS_PORT/metrics' | grep -q '^# TYPE'"
for u in quant-http quant-worker quant-feed; do
    v="PID_${u//-/_}_service"; pid="${!v}"
    check "$u runs as $u, no new privileges, no capabilities" bash -c "
        s=/proc/$pid/status; [ -r \$s ] &&
        [ \"\$(awk '/^Uid:/ {print \$2}' \$s)\" = \"\$(chroot '$root' id -u $u)\" ] &&
        grep -q '^NoNewPrivs:[[:space:]]*1' \$s && grep -q '^CapBnd:[[:space:]]*0000000000000000' \$s &&
        grep -q '^CapEff:[[:space:]]*0000000000000000' \$s"
done

AUTH="Authorization: Bearer $KEY"
CFG='{"ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":30}]}'
bt="$(curl -sS -H "$AUTH" -d "{\"config\": $CFG}" "$API/api/v1/backtest")"
check "POST /api/v1/backtest: metrics" python3 -c 'import json,sys; m=json.loads(sys.argv[1])["metrics"]; assert "sharpe_ratio" in m' "$bt"
SID="$(curl -sS -H "$AUTH" -d "$CFG" "$API/api/v1/strategies" | python3 -c 'import json,sys; print(json.load(sys.stdin)["strategy_id"])' 2>/dev/null)"
DID="$(curl -sS -H "$AUTH" -d "{\"strategy_id\": \"$SID\", \"qty\": 10, \"broker\": \"PAPER\", \"risk_limits\": {\"max_bar_age_hours\": null}}" \
    "$API/api/v1/deployments" | python3 -c 'import json,sys; print(json.load(sys.stdin)["deployment_id"])' 2>/dev/null)"
if [ -n "$SID" ] && [ -n "$DID" ]; then ok "POST /strategies, POST /deployments (PAPER): $DID"; else bad "strategy and paper deployment through REST"; fi
curl -sS -o "$LOG_DIR/run.json" -H "$AUTH" -X POST "$API/api/v1/deployments/$DID/run"
trade=""
for _ in $(seq 1 100); do
    trade="$(curl -sS -H "$AUTH" "$API/api/v1/deployments/$DID/trades" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
rows = rows.get("items", rows.get("trades", rows)) if isinstance(rows, dict) else rows
t = [r for r in rows if r.get("action") in ("BUY", "SELL")]
print(json.dumps(t[0]) if t else "")' 2>/dev/null)"
    [ -n "$trade" ] && break
    sleep 0.2
done
if [ -n "$trade" ]; then ok "the worker's paper trade: $trade"; else
    bad "a paper trade (BUY/SELL) through the worker"
    curl -sS -H "$AUTH" "$API/api/v1/deployments/$DID/trades" >"$LOG_DIR/trades.json"
    tail -n 5 "$LOG_DIR/quant-worker.log"
fi
check "quant-worker assumed the role quant_worker" grep -q '"event":"connected".*"role":"quant_worker"' "$LOG_DIR/quant-worker.log"
check "quant-worker wrote its metrics into its StateDirectory (the unit's Environment=)" \
    bash -c "grep -q '^quant_worker_' '$root/var/lib/quant-worker/metrics.prom'"
# shellcheck disable=SC2154  # PID_<unit> is set by start_unit's eval
check "quant-feed is running and connected" bash -c "kill -0 $PID_quant_feed_service && grep -q '\"event\":\"connected\"' '$LOG_DIR/quant-feed.log'"
for u in quant-http quant-worker quant-feed; do
    v="PID_${u//-/_}_service"; pid="${!v}"
    kill -TERM "$pid" 2>/dev/null
    rc=124
    for _ in $(seq 1 100); do
        if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; rc=$?; break; fi
        sleep 0.1
    done
    check "$u: SIGTERM stops it with exit 0 (rc $rc)" test "$rc" = 0
done

# ---- 5. the units ----
for u in quant-http quant-worker quant-feed; do
    check "systemd-analyze verify $u.service" bash -c "
        out=\$(chroot '$root' systemd-analyze verify /lib/systemd/system/$u.service 2>&1); rc=\$?
        echo \"\$out\"; [ \$rc -eq 0 ] && [ -z \"\$out\" ]"
    score="$(in_root systemd-analyze security --offline=yes "/lib/systemd/system/$u.service" 2>/dev/null |
        sed -nE 's/.*Overall exposure level for .*: ([0-9.]+) (.*)/\1 \2/p')"
    if [ -n "$score" ]; then say "systemd-analyze security $u.service: $score"; fi
    echo "$u.service exposure: ${score:-?}" >>"$LOG_DIR/security.txt"
done

# the check itself: a unit with a missing binary and an unknown setting does not pass
sed -e 's|^ExecStart=.*|ExecStart=/usr/bin/quant-missing|' -e 's|^PrivateTmp=yes|PrivateTmpp=yes|' \
    "$root/lib/systemd/system/quant-http.service" >"$root/etc/systemd/system/quant-broken.service"
check "systemd-analyze verify refuses a broken copy of quant-http.service (missing binary, unknown key)" bash -c "
    out=\$(chroot '$root' systemd-analyze verify /etc/systemd/system/quant-broken.service 2>&1); rc=\$?
    echo \"\$out\"; [ \$rc -ne 0 ] && echo \"\$out\" | grep -q quant-missing && echo \"\$out\" | grep -q PrivateTmpp"
rm -f "$root/etc/systemd/system/quant-broken.service"

# ---- 6. dpkg -i again (postinst with the old version), then purge ----
check "dpkg -i of the same packages again (the upgrade path of the maintainer scripts)" \
    bash -c "chroot '$root' sh -c 'dpkg -i /tmp/debs/*.deb' >'$LOG_DIR/reinstall.log' 2>&1"
check "apt-get purge of the five packages; the conffiles go, the credential key stays" bash -c "
    chroot '$root' env DEBIAN_FRONTEND=noninteractive apt-get purge -y postgresql-15-quant quant-worker quant-feed quant-http quant-ui \
        >'$LOG_DIR/purge.log' 2>&1 &&
    [ ! -e '$root/etc/quant/http.env' ] && [ ! -e '$root/usr/bin/quant-http' ] && [ -s '$root/etc/quant/credential.key' ]"
finish
