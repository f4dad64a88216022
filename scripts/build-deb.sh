#!/usr/bin/env bash
# Build the Debian packages of the release into build/deb/ with dpkg-deb (no debhelper):
#   postgresql-15-quant  the extension (quant.so, quant.control, the install and upgrade scripts)
#   quant-worker, quant-feed, quant-http   the binaries with hardened systemd units, their own
#                        system users and a config file each in /etc/quant/ (conffiles)
#   quant-ui             the web UI's built files, served by quant-http from /usr/share/quant/ui
# The version is the release's (extension/quant.control's default_version). Run `make build`
# and scripts/build-ui.sh first (`make deb` does). Dependencies on shared libraries come from
# dpkg-shlibdeps (dpkg-dev), the rest are written below. packaging/deb/README.md is the guide.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_DIR:-$REPO/build}"
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
OUT="${QUANT_DEB_DIR:-$BUILD/deb}"
PKGDIR="$REPO/packaging/deb"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
VERSION="$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$REPO/extension/quant.control")"
ARCH="$(dpkg --print-architecture)"
MAINTAINER="${QUANT_DEB_MAINTAINER:-quant maintainers <quant@localhost>}"
PGMAJOR="$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"

say() { printf '[deb] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ -n "$VERSION" ] || die "no default_version in extension/quant.control"
[ "$PGMAJOR" = 15 ] || die "pg_config is PostgreSQL $PGMAJOR, the packages are for 15"
for f in "$BUILD/worker/quant-worker" "$BUILD/worker/quant-feed" "$BUILD/http/quant-http" "$REPO/extension/quant.so" \
    "$REPO/extension/sql/quant--$VERSION.sql"; do
    [ -f "$f" ] || die "$f is missing: run make build first"
done
[ -f "$REPO/http/ui/dist/index.html" ] || die "http/ui/dist is missing: run scripts/build-ui.sh first"

work="$(mktemp -d "${TMPDIR:-/tmp}/quant-deb.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rm -rf "$OUT"
mkdir -p "$OUT"

# shlibs_depends FILE...: the shared-library dependencies of the ELF files, from dpkg-shlibdeps
# (it wants a debian/control; a minimal one in a scratch directory is enough)
shlibs_depends() {
    local d="$work/shlibs" f
    rm -rf "$d"; mkdir -p "$d/debian"
    printf 'Source: quant\n\nPackage: quant\nArchitecture: any\n' >"$d/debian/control"
    local args=()
    for f in "$@"; do args+=("-e$f"); done
    # quant.so's undefined symbols are the server's own: not a dependency
    (cd "$d" && dpkg-shlibdeps -O --warnings=0 "${args[@]}" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}

# doc_dir ROOT PKG: /usr/share/doc/PKG with copyright and changelog (Debian policy 12.5, 12.7)
doc_dir() {
    local d="$1/usr/share/doc/$2"
    install -d "$d"
    cat >"$d/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: quant
Source: the quant repository (built by scripts/build-deb.sh)

Files: *
Copyright: the quant authors
License: proprietary
 All rights reserved by the quant authors.
COPY
    printf '%s (%s) bookworm; urgency=medium\n\n  * Release %s (extension/releases.txt).\n\n -- %s  %s\n' \
        "$2" "$VERSION" "$VERSION" "$MAINTAINER" "$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)}")" |
        gzip -9n >"$d/changelog.Debian.gz"
}

# fill TEMPLATE PKG USER UNIT ENV > FILE: the maintainer-script templates
fill() {
    local key=""
    [ "$2" = quant-worker ] || [ "$2" = postgresql-15-quant ] && key="$(cat "$PKGDIR/credential-key.sh")"
    QUANT_KEY_SNIPPET="$key" awk -v pkg="$2" -v user="$3" -v unit="$4" -v env="$5" '
        $0 == "@KEY@" { if (ENVIRON["QUANT_KEY_SNIPPET"] != "") print ENVIRON["QUANT_KEY_SNIPPET"]; next }
        { gsub(/@PKG@/, pkg); gsub(/@USER@/, user); gsub(/@UNIT@/, unit); gsub(/@ENV@/, env); print }' "$1"
}

# control ROOT PKG ARCH DEPENDS DESCRIPTION [EXTRA FIELDS]: DEBIAN/control, md5sums, then dpkg-deb
finish() {
    local root="$1" pkg="$2" arch="$3" depends="$4" desc="$5" extra="${6:-}"
    install -d "$root/DEBIAN"
    local size
    size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    {
        echo "Package: $pkg"
        echo "Version: $VERSION"
        echo "Architecture: $arch"
        echo "Maintainer: $MAINTAINER"
        echo "Installed-Size: $size"
        [ -n "$depends" ] && echo "Depends: $depends"
        [ -n "$extra" ] && printf '%s\n' "$extra"
        echo "Section: misc"
        echo "Priority: optional"
        printf 'Description: %s\n' "$desc"
    } >"$root/DEBIAN/control"
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
        xargs -0r md5sum) >"$root/DEBIAN/md5sums"
    [ -s "$root/DEBIAN/md5sums" ] || rm -f "$root/DEBIAN/md5sums"
    local f
    for f in "$root"/DEBIAN/{postinst,prerm,postrm}; do [ -f "$f" ] && chmod 0755 "$f"; done
    [ -f "$root/DEBIAN/conffiles" ] && chmod 0644 "$root/DEBIAN/conffiles"
    dpkg-deb --root-owner-group -Zxz --build "$root" "$OUT/${pkg}_${VERSION}_${arch}.deb" >/dev/null
    say "built $(basename "$OUT/${pkg}_${VERSION}_${arch}.deb") ($(du -h "$OUT/${pkg}_${VERSION}_${arch}.deb" | cut -f1))"
}

# ---- postgresql-15-quant: the extension, in PostgreSQL 15's directories (PGXS install) ----
root="$work/postgresql-15-quant"
make -s -C "$REPO/extension" install PG_CONFIG="$PG_CONFIG" DESTDIR="$root" >/dev/null
libdir="$("$PG_CONFIG" --pkglibdir)"
sharedir="$("$PG_CONFIG" --sharedir)/extension"
[ -f "$root$libdir/quant.so" ] || die "PGXS installed no $libdir/quant.so"
[ -f "$root$sharedir/quant--$VERSION.sql" ] || die "PGXS installed no quant--$VERSION.sql"
ls "$root$sharedir"/quant--*--*.sql >/dev/null 2>&1 || die "PGXS installed no upgrade script"
rm -rf "$root$libdir/bitcode"
strip --strip-unneeded "$root$libdir/quant.so"
chmod 0644 "$root$libdir/quant.so"
install -d "$root/etc/quant"
fill "$PKGDIR/postgresql-15-quant.postinst" postgresql-15-quant "" "" "" >"$root/DEBIAN.postinst"
install -d "$root/DEBIAN" && mv "$root/DEBIAN.postinst" "$root/DEBIAN/postinst"
doc_dir "$root" postgresql-15-quant
install -m 0644 "$PKGDIR/README.md" "$root/usr/share/doc/postgresql-15-quant/README.md"
install -m 0644 "$REPO/extension/README.md" "$root/usr/share/doc/postgresql-15-quant/README.extension.md"
deps="$(shlibs_depends "$root$libdir/quant.so")"
finish "$root" postgresql-15-quant "$ARCH" "postgresql-15, postgresql-15-cron, $deps" \
    "quant: backtest engine and Trade API for Strategy JSON (PostgreSQL 15 extension)
 The quant extension (CREATE EXTENSION quant): indicators, signal functions, whole backtests,
 grid searches and the Trade API as SQL functions over md.bar. Includes the install script of
 release $VERSION and the upgrade scripts from earlier releases (ALTER EXTENSION quant UPDATE).
 pg_cron runs its schedules (shared_preload_libraries = 'pg_cron')."

# ---- the services: quant-worker, quant-feed, quant-http ----
# service PKG BINARY ENVFILE DEPENDS-EXTRA EXTRA-FIELDS DESCRIPTION
service() {
    local pkg="$1" bin="$2" env="$3" more_deps="$4" extra="$5" desc="$6"
    local root="$work/$pkg" unit="$pkg.service"
    install -d "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/quant" "$root/DEBIAN"
    install -m 0755 "$bin" "$root/usr/bin/$pkg"
    strip --strip-unneeded "$root/usr/bin/$pkg"
    # the unit, with the shared hardening block in place of its @HARDENING@ line
    awk -v h="$PKGDIR/hardening.conf" '$0 == "@HARDENING@" { while ((getline l < h) > 0) print l; next } { print }' \
        "$PKGDIR/$unit" >"$root/lib/systemd/system/$unit"
    chmod 0644 "$root/lib/systemd/system/$unit"
    install -m 0640 "$PKGDIR/$env" "$root/etc/quant/$env"
    echo "/etc/quant/$env" >"$root/DEBIAN/conffiles"
    local s
    for s in postinst prerm postrm; do
        fill "$PKGDIR/service.$s" "$pkg" "$pkg" "$unit" "$env" >"$root/DEBIAN/$s"
    done
    doc_dir "$root" "$pkg"
    install -m 0644 "$PKGDIR/README.md" "$root/usr/share/doc/$pkg/README.Debian"
    local readme="$REPO/worker/README.md"
    [ "$pkg" = quant-http ] && readme="$REPO/http/README.md"
    install -m 0644 "$readme" "$root/usr/share/doc/$pkg/README.md"
    finish "$root" "$pkg" "$ARCH" "adduser, $(shlibs_depends "$root/usr/bin/$pkg")${more_deps:+, $more_deps}" "$desc" "$extra"
}

service quant-worker "$BUILD/worker/quant-worker" worker.env "" \
    "Recommends: ca-certificates
Suggests: postgresql-15-quant" \
    "quant: the live loop's executor (signals to orders)
 quant-worker turns the signals of the quant extension's schedule into orders: risk checks, an
 order intent committed before the send, the send through the paper broker, Bybit V5 or Futu
 OpenD, the booked outcome; reconciliation after a crash. A hardened systemd unit
 (quant-worker.service, its own system user) reads /etc/quant/worker.env."
service quant-feed "$BUILD/worker/quant-feed" feed.env "" \
    "Recommends: ca-certificates
Suggests: postgresql-15-quant" \
    "quant: the live market-data feed's fetcher
 quant-feed fetches the closed bars of the products whose source is a broker and stores them
 in md.bar for the quant extension's scheduled runs. A hardened systemd unit (quant-feed.service,
 its own system user) reads /etc/quant/feed.env."
service quant-http "$BUILD/http/quant-http" http.env "" \
    "Recommends: quant-ui (= $VERSION)
Suggests: postgresql-15-quant" \
    "quant: the Trade API over HTTP
 quant-http serves the quant extension's Trade API (/api/v1, OpenAPI), the health and metrics
 endpoints and the web UI (package quant-ui). A hardened systemd unit (quant-http.service, its
 own system user) reads /etc/quant/http.env."

# ---- quant-ui: the web UI's built files ----
root="$work/quant-ui"
install -d "$root/usr/share/quant/ui"
cp -r "$REPO/http/ui/dist/." "$root/usr/share/quant/ui/"
find "$root/usr/share/quant/ui" -type d -exec chmod 0755 {} + && find "$root/usr/share/quant/ui" -type f -exec chmod 0644 {} +
doc_dir "$root" quant-ui
finish "$root" quant-ui all "" \
    "quant: the web UI (built files, served by quant-http)
 The quant web UI (strategies, backtests, optimise, the deploy wizard, deployments), built by
 vite into static files in /usr/share/quant/ui, which quant-http serves at /." \
    "Enhances: quant-http"

(cd "$OUT" && ls -1 ./*.deb | sed 's|^\./||' >packages.txt)
say "packages of release $VERSION in ${OUT#"$REPO/"}/"
