#!/usr/bin/env bash
# Install the Debian 12 (bookworm) packages quant needs. Idempotent: asks dpkg about each
# package and runs apt-get only when something is missing. Needs root (or sudo).
set -euo pipefail

# One list; add a package here (and say why in the commit).
PACKAGES=(
    # toolchain
    build-essential cmake pkg-config clang llvm lld libclang-rt-14-dev clang-format clang-tidy
    # PostgreSQL 15, server headers (PGXS), pg_cron, pgTAP and pg_prove
    postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-pgtap
    libtap-parser-sourcehandler-pgtap-perl
    # pg_auto_failover (pg_autoctl and the monitor's extension): automatic failover, scripts/failover-cluster.sh
    postgresql-15-auto-failover
    # libraries
    nlohmann-json3-dev libpq-dev libsodium-dev libssl-dev libboost-dev
    # the Bybit adapter's HTTPS client (libcurl over OpenSSL, certificate verification on)
    libcurl4-openssl-dev
    # the Futu adapter: Futu's official .proto files (npm futu-api, pinned) compiled with protoc into
    # C++ (libprotobuf) for quant-worker and Python (python3-protobuf) for test/fakes/futu's fake-opend
    protobuf-compiler libprotobuf-dev python3-protobuf
    # test and benchmark frameworks
    librapidcheck-dev libgtest-dev libgmock-dev libbenchmark-dev
    # HTTP load generator (bench/http_bench.sh)
    wrk
    # test scripts (the standard library; jsonschema for test/core/config_schema_examples.py)
    python3 python3-jsonschema
    # node: the fake-bybit conformance test runs ccxt (test/fakes/bybit/ccxt, npm ci from its lockfile;
    # ccxt 4.5.84 wants node >= 20, e.g. NodeSource's nodejs, which bundles npm)
    nodejs
    # curl: the README's REST walk-through; git: the upgrade test rebuilds released versions from history
    curl ca-certificates git
    # make deb / deb-test: dpkg-shlibdeps (dpkg-dev) for the packages' Depends, debootstrap for the fresh Debian 12 root
    dpkg-dev debootstrap
    # the web UI's browser tests (test/ui: playwright-core drives Debian's chromium, never a downloaded browser)
    chromium
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "[deps] all ${#PACKAGES[@]} packages are installed"
    exit 0
fi

echo "[deps] installing: ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "[deps] not root and no sudo: install them by hand" >&2; exit 1; }
    SUDO=(sudo env DEBIAN_FRONTEND=noninteractive)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
