#!/usr/bin/env bash
# Build the patched Xen 4.17 (the hypervisor half of the device's fast path)
# from Debian's source package, all under _out/xen-patched/:
#
#   src/          Debian's xen 4.17.5+72-g01140da4e8-1 (dpkg-source -x),
#                 with patches/xen/*.patch applied in order; unpacked again
#                 whenever the patches change (stamp: their sha256)
#   boot/xen      the hypervisor, a multiboot ELF like _out/xen/boot/xen
#                 (the form scripts/xen-e2e.py --xen boots)
#   boot/xen.config  the .config it was built with
#
# The source package comes from Debian's pool (cached in _out/xen-src/):
# the .dsc checked against a pinned sha256, the tarballs against its
# Checksums-Sha256.
#
#   scripts/xen-build.sh                  test build (the default): adds
#                                         CONFIG_GUEST_IOMMU_DEBUG, the
#                                         hooks scripts/xen-e2e.py --patched
#                                         asserts on
#   scripts/xen-build.sh --release        Debian's configuration only
#   scripts/xen-build.sh --no-tools       the hypervisor only
#   scripts/xen-build.sh --fresh          unpack and build from scratch
#
# scripts/xen-companion.sh runs this, then the patched end to end.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

XEN_PKG_VERSION=4.17.5+72-g01140da4e8-1
XEN_UPSTREAM=${XEN_PKG_VERSION%-*}
# The .dsc is pinned (its signature is not checked: dpkg-source --no-check);
# it pins the tarballs in turn.
XEN_DSC_SHA256=f13956b67fb7a65707c2b0620d89b41ee5d203434dd7bb913017356791ee66c1
POOL=http://deb.debian.org/debian/pool/main/x/xen
SRC_DL=$OUT/xen-src                 # cached source package files
PDIR=$OUT/xen-patched
SRC=$PDIR/src
PATCH_DIR=$here/patches/xen
JOBS=${XAI_JOBS:-2}

# What the hypervisor build needs (Debian's Build-Depends for it; the
# bookworm deb-src index apt-get build-dep would read may be missing).
BUILD_DEPS=(build-essential bison flex python3 dpkg-dev xz-utils curl)

test_build=yes
tools=yes
fresh=no
for arg in "$@"; do
    case "$arg" in
    --test-build) test_build=yes ;;
    --release) test_build=no ;;
    --no-tools) tools=no ;;
    --fresh) fresh=yes ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
               exit 0 ;;
    *) die "unknown option $arg (see --help)" ;;
    esac
done

install_deps() {
    apt_install_missing "${BUILD_DEPS[@]}"
}

# sha256 of FILE as the .dsc lists it
dsc_sha256() {
    awk -v f="$2" '/^Checksums-Sha256:/ { on = 1; next }
                   /^[^ ]/ { on = 0 }
                   on && $3 == f { print $1 }' "$1"
}

fetch() {           # fetch FILE [SHA256]: into $SRC_DL, checked
    local f=$1 want=${2:-} url
    if [ ! -f "$SRC_DL/$f" ]; then
        url="$POOL/${f//+/%2B}"
        say "downloading $url"
        curl -fsSL --retry 3 -o "$SRC_DL/$f.part" "$url" ||
            die "cannot download $url"
        mv "$SRC_DL/$f.part" "$SRC_DL/$f"
    fi
    if [ -n "$want" ] &&
       [ "$(sha256sum "$SRC_DL/$f" | cut -d' ' -f1)" != "$want" ]; then
        mv "$SRC_DL/$f" "$SRC_DL/$f.bad"
        die "$f: sha256 differs from the .dsc's (kept as $f.bad)"
    fi
}

source_package() {
    local dsc=xen_$XEN_PKG_VERSION.dsc f sum
    mkdir -p "$SRC_DL"
    fetch "$dsc" "$XEN_DSC_SHA256"
    for f in "xen_$XEN_UPSTREAM.orig.tar.xz" \
             "xen_$XEN_PKG_VERSION.debian.tar.xz"; do
        sum=$(dsc_sha256 "$SRC_DL/$dsc" "$f")
        [ -n "$sum" ] || die "$dsc lists no sha256 for $f"
        fetch "$f" "$sum"
    done
}

patches_hash() {
    local p
    {
        echo "$XEN_PKG_VERSION"
        for p in "$PATCH_DIR"/*.patch; do
            [ -e "$p" ] && sha256sum "$p"
        done
    } | sha256sum | cut -d' ' -f1
}

# A fresh tree whenever the patches (or the package) change
unpack_and_patch() {
    local want stamp=$PDIR/.src-stamp p
    want=$(patches_hash)
    if [ $fresh = no ] && [ -d "$SRC/xen" ] &&
       [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return
    fi
    say "unpacking xen $XEN_PKG_VERSION into $SRC"
    rm -rf "$SRC" "$stamp" "$PDIR/.config-stamp"
    mkdir -p "$PDIR"
    dpkg-source --no-check -x "$SRC_DL/xen_$XEN_PKG_VERSION.dsc" "$SRC" \
        > "$PDIR/dpkg-source.log" 2>&1 ||
        die "dpkg-source -x failed: see $PDIR/dpkg-source.log"
    # dpkg-source leaves a copy of the upstream tarball beside the tree.
    rm -f "$PDIR/xen_$XEN_UPSTREAM.orig.tar.xz"
    for p in "$PATCH_DIR"/*.patch; do
        [ -e "$p" ] || continue
        say "applying $(basename "$p")"
        patch -d "$SRC" -p1 -s --no-backup-if-mismatch < "$p" ||
            die "$(basename "$p") does not apply"
    done
    echo "$want" > "$stamp"
}

build_hypervisor() {
    local cfg=$SRC/xen/.config want
    # Debian's configuration, plus the test hooks for the e2e run
    want=$( { cat "$SRC/debian/xen-kconfig"
              [ $test_build = yes ] && echo CONFIG_GUEST_IOMMU_DEBUG=y
              true; } | sha256sum | cut -d' ' -f1)
    if [ ! -f "$cfg" ] ||
       [ "$(cat "$PDIR/.config-stamp" 2>/dev/null)" != "$want" ]; then
        cp "$SRC/debian/xen-kconfig" "$cfg"
        if [ $test_build = yes ]; then
            echo CONFIG_GUEST_IOMMU_DEBUG=y >> "$cfg"
        fi
        make -C "$SRC/xen" olddefconfig > /dev/null
        echo "$want" > "$PDIR/.config-stamp"
    fi
    if [ $test_build = yes ]; then
        grep -q '^CONFIG_GUEST_IOMMU_DEBUG=y' "$cfg" ||
            die "CONFIG_GUEST_IOMMU_DEBUG did not stick: is the test-hooks patch applied?"
    fi
    say "building the hypervisor ($([ $test_build = yes ] && echo test ||
        echo release) build, -j$JOBS)"
    nice make -C "$SRC" -j"$JOBS" build-xen > "$PDIR/build-xen.log" 2>&1 ||
        { tail -n 30 "$PDIR/build-xen.log" >&2
          die "hypervisor build failed: see $PDIR/build-xen.log"; }
    mkdir -p "$PDIR/boot"
    # xen/xen is the multiboot ELF that xen.gz compresses; Debian's
    # package ships xen.gz, which scripts/xen-assets.sh decompresses.
    gzip -dc "$SRC/xen/xen.gz" > "$PDIR/boot/xen.new"
    mv "$PDIR/boot/xen.new" "$PDIR/boot/xen"
    cp "$cfg" "$PDIR/boot/xen.config"
    say "hypervisor: $PDIR/boot/xen"
}

# ---------------------------------------------------------------------
# build_tools: libxendevicemodel, libxl, xl and hvmloader with the
# patches 0010-0019, by scripts/xen-build-tools.sh (written alongside
# them). It builds in the same tree ($SRC).
# ---------------------------------------------------------------------
build_tools() {
    local tools_script=$here/scripts/xen-build-tools.sh
    if [ ! -f "$tools_script" ]; then
        say "no scripts/xen-build-tools.sh: skipping the tools"
        return
    fi
    XAI_XEN_SRC=$SRC XAI_XEN_PATCHED=$PDIR bash "$tools_script"
}

[ "$(id -u)" = 0 ] || die "run as root: it installs Debian packages"
install_deps
source_package
unpack_and_patch
build_hypervisor
if [ $tools = yes ]; then
    build_tools
fi
