#!/usr/bin/env bash
# Install everything the project builds and tests with, from Debian's archive
# only, then unpack the QEMU 10.0 source that the device is laid over.
#
# Idempotent: a second run installs nothing new and keeps the unpacked tree.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

add_apt_sources() {
    local list=/etc/apt/sources.list.d/xen-amd-iommu-v2.sources
    if [ ! -f "$list" ]; then
        say "adding bookworm-backports (binary) and trixie (source only)"
        cat > "$list" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        rm -f "$STAMP_DIR/apt-updated"
    fi
    if [ ! -f "$STAMP_DIR/apt-updated" ] ||
       [ -n "$(find "$STAMP_DIR/apt-updated" -mmin +720)" ]; then
        apt-get update -q
        touch "$STAMP_DIR/apt-updated"
    fi
}

install_packages() {
    local pkgs=(build-essential ccache ninja-build pkg-config dpkg-dev
                libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev
                flex bison python3-venv python3-setuptools libxen-dev
                seabios ipxe-qemu git perl xz-utils)
    local bpo=(meson python3-pycotap qemu-system-data)
    local missing=()
    for p in "${pkgs[@]}" "${bpo[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q 'install ok installed' || missing+=("$p")
    done
    # meson from bookworm is 1.0, too old for QEMU 10.0: insist on backports.
    if ! meson --version 2>/dev/null | grep -qE '^1\.([5-9]|[1-9][0-9])'; then
        missing+=(meson)
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "${pkgs[@]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends -t bookworm-backports "${bpo[@]}"
    fi
}

# Pick the pinned QEMU version, or the newest 10.0.x the archive has.
pick_qemu_version() {
    local avail
    avail=$(apt-cache showsrc qemu 2>/dev/null |
            sed -n 's/^Version: //p' | sort -V -r)
    if printf '%s\n' "$avail" | grep -qxF "$QEMU_PIN"; then
        echo "$QEMU_PIN"
        return
    fi
    local alt
    alt=$(printf '%s\n' "$avail" | grep -E '^1:10\.0\.' | head -n 1)
    if [ -z "$alt" ]; then
        die "no QEMU 10.0.x source in the archive (have: $(echo $avail))"
    fi
    say "pinned qemu $QEMU_PIN is gone from the archive; using $alt" >&2
    echo "$alt"
}

unpack_qemu() {
    if [ -f "$QEMU_SRC/.xen-amd-iommu-v2-version" ]; then
        say "QEMU source: $(cat "$QEMU_SRC/.xen-amd-iommu-v2-version")"
        return
    fi
    local ver
    ver=$(pick_qemu_version)
    say "fetching qemu=$ver source from Debian"
    rm -rf "$DL_DIR/qemu-src-tmp"
    mkdir -p "$DL_DIR/qemu-src-tmp"
    (cd "$DL_DIR/qemu-src-tmp" && apt-get source -q "qemu=$ver")
    local dir
    dir=$(find "$DL_DIR/qemu-src-tmp" -mindepth 1 -maxdepth 1 -type d \
          -name 'qemu-*' | head -n 1)
    [ -n "$dir" ] || die "apt-get source produced no qemu-* directory"
    rm -rf "$QEMU_SRC"
    mv "$dir" "$QEMU_SRC"
    rm -rf "$DL_DIR/qemu-src-tmp"
    echo "$ver" > "$QEMU_SRC/.xen-amd-iommu-v2-version"
    say "QEMU source: $ver in $QEMU_SRC"
}

mkdir -p "$STAMP_DIR" "$DL_DIR"
[ "$(id -u)" = 0 ] || die "run as root: it installs Debian packages"
add_apt_sources
install_packages
unpack_qemu
