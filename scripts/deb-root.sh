#!/usr/bin/env bash
# A fresh Debian 12 (bookworm) root for the package test (test/deb/run.sh), made once with
# debootstrap and cached as a tarball under build/deb-root/ (make clean removes it).
#   usage: scripts/deb-root.sh DIR     unpack a fresh copy of the cached root into DIR
# The cached root is debootstrap's minbase variant plus `apt-get update` (the package lists),
# so `apt-get install ./pkg.deb` in it resolves the dependencies from Debian; the downloaded
# .debs are kept in build/deb-root/archives/ (bind-mounted as the root's apt cache by the test).
# Environment: QUANT_DEB_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$REPO/build/deb-root"
TARBALL="$CACHE/bookworm-minbase.tar.gz"
MIRROR="${QUANT_DEB_MIRROR:-http://deb.debian.org/debian}"
dest="${1:?usage: deb-root.sh DIR}"

say() { printf '[deb-root] %s\n' "$*" >&2; }
command -v debootstrap >/dev/null || { say "debootstrap is missing (scripts/install-deps.sh installs it)"; exit 1; }

if [ ! -s "$TARBALL" ]; then
    mkdir -p "$CACHE"
    work="$(mktemp -d "$CACHE/make.XXXXXX")"
    trap 'umount -R "$work/root/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
    say "debootstrap --variant=minbase bookworm (once; cached as $TARBALL)"
    t0=$SECONDS
    debootstrap --variant=minbase bookworm "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
        { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
    # the security archive too (libraries the packages depend on get their fixes there)
    cat >"$work/root/etc/apt/sources.list" <<LIST
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
LIST
    cp /etc/resolv.conf "$work/root/etc/resolv.conf"
    chroot "$work/root" apt-get update -qq
    chroot "$work/root" apt-get clean
    tar -C "$work/root" -czf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
    say "cached root made in $((SECONDS - t0)) s ($(du -h "$TARBALL" | cut -f1))"
fi

mkdir -p "$dest"
tar -C "$dest" -xzf "$TARBALL"
mkdir -p "$CACHE/archives/partial"
