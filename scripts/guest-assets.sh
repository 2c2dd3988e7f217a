#!/usr/bin/env bash
# Fetch the demo guests' kernels and build their initramfs images.
#
#   scripts/guest-assets.sh            Debian's 6.1 (bookworm) and 6.12
#                                      (bookworm-backports) kernels
#   scripts/guest-assets.sh 6.12       one series only
#
# Kernel packages are downloaded with apt-get download and unpacked under
# _out/guest/, never installed: the host's own kernel and /lib/modules are
# not touched. Result, per kernel release (e.g. 6.1.0-56-amd64):
#
#   _out/guest/<release>/vmlinuz            the kernel
#   _out/guest/<release>/modules/*.ko       virtio-blk and what it needs
#   _out/guest/<release>/modules.load       their load order
#   _out/guest/<release>/initramfs.cpio.gz  busybox + modules + /init
#   _out/guest/<series> -> <release>        what scripts/guest.py boots
#
# Idempotent: a second run downloads and unpacks nothing, and rebuilds an
# initramfs only when its inputs changed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

GUEST_DIR=$OUT/guest
KDL_DIR=$GUEST_DIR/dl

# What the guest's /init needs to see a virtio-blk disk on PCI. Whichever of
# these a kernel has built in is skipped; the rest come with their
# dependencies.
WANT_MODULES=(virtio_pci virtio_blk)

install_tools() {
    # kmod for depmod (the packages ship no modules.dep: it is made at
    # install time); busybox-static is the whole guest userland.
    apt_install_missing busybox-static cpio gzip xz-utils zstd kmod
}

# The newest linux-image-amd64 version of a series,
# e.g. 6.12 -> 6.12.95-1~bpo12+1.
meta_version() {
    # Binary lines only: madison also lists deb-src versions (trixie's).
    apt-cache madison linux-image-amd64 |
        awk -F'|' '$3 ~ /Packages/ {gsub(/ /, "", $2); print $2}' |
        grep -E "^${1//./\\.}\." | sort -V -r | head -n 1
}

# The ABI-named image package that version of the meta package pulls in,
# e.g. linux-image-6.1.0-56-amd64. Asking the meta package keeps us on the
# archive's current ABI without hard-coding it.
image_package() {
    local series=$1 ver
    ver=$(meta_version "$series")
    if [ -z "$ver" ] && [ ! -f "$STAMP_DIR/guest-apt-updated" ] &&
       [ -f /etc/apt/sources.list.d/xen-amd-iommu-v2.sources ]; then
        # The lists may predate bookworm-backports' addition: refresh once.
        apt-get update -q >&2
        mkdir -p "$STAMP_DIR" && touch "$STAMP_DIR/guest-apt-updated"
        ver=$(meta_version "$series")
    fi
    [ -n "$ver" ] ||
        die "no linux-image-amd64 $series.x in the archive" \
            "(6.12 needs bookworm-backports: run scripts/setup.sh)"
    apt-cache depends "linux-image-amd64=$ver" |
        sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1
}

cached() {     # the newest .deb of one package in the cache, if any
    find "$KDL_DIR" -maxdepth 1 -name "${1}_*_amd64.deb" | sort -V | tail -n 1
}

# Download one image package into the cache unless some version of it is
# there already; prints the .deb's path.
download() {
    local pkg=$1 series=$2 deb
    deb=$(cached "$pkg")
    if [ -z "$deb" ]; then
        say "downloading $pkg" >&2
        local target=()
        case "$series" in 6.1) ;; *) target=(-t bookworm-backports) ;; esac
        # Root downloads into a folder _apt cannot write to: say so, rather
        # than have apt warn about running the download unsandboxed.
        (cd "$KDL_DIR" && apt-get download -q -o APT::Sandbox::User=root \
            "${target[@]}" "$pkg" >&2)
        deb=$(cached "$pkg")
        [ -n "$deb" ] || die "apt-get download $pkg left no .deb"
    fi
    echo "$deb"
}

# Unpack the kernel and the modules WANT_MODULES needs from one .deb.
unpack() {
    local deb=$1 release=$2
    local dest=$GUEST_DIR/$release
    if [ "$(cat "$dest/.from-deb" 2>/dev/null)" = "$(basename "$deb")" ] &&
       [ -f "$dest/vmlinuz" ]; then
        return
    fi
    say "unpacking $(basename "$deb")"
    local tree=$GUEST_DIR/tmp-$release
    rm -rf "$tree" "$dest"
    mkdir -p "$tree" "$dest/modules"
    dpkg-deb -x "$deb" "$tree"
    local mdir=$tree/lib/modules/$release
    [ -f "$tree/boot/vmlinuz-$release" ] ||
        die "$deb has no boot/vmlinuz-$release"
    cp "$tree/boot/vmlinuz-$release" "$dest/vmlinuz"
    cp "$tree/boot/config-$release" "$dest/config"
    # The package ships modules but no modules.dep: make it, inside the
    # unpacked tree only.
    depmod -b "$tree" "$release"

    module_paths "$mdir" "${WANT_MODULES[@]}"
    copy_modules "$mdir" "$dest/modules" "$dest/modules.load" \
        "${MODULE_PATHS[@]}"
    rm -rf "$tree"
    basename "$deb" > "$dest/.from-deb"
}

series_list=("$@")
[ ${#series_list[@]} -gt 0 ] || series_list=(6.1 6.12)

[ "$(id -u)" = 0 ] || die "run as root: it installs Debian packages"
mkdir -p "$KDL_DIR" "$STAMP_DIR"
install_tools

for series in "${series_list[@]}"; do
    pkg=$(image_package "$series")
    [ -n "$pkg" ] ||
        die "cannot tell which package linux-image-amd64 $series pulls in"
    release=${pkg#linux-image-}
    deb=$(download "$pkg" "$series")
    unpack "$deb" "$release"
    bash "$here/scripts/guest-initramfs.sh" "$GUEST_DIR/$release"
    ln -sfn "$release" "$GUEST_DIR/$series"
    say "guest $series: $GUEST_DIR/$release" \
        "(modules: $(tr '\n' ' ' < "$GUEST_DIR/$release/modules.load"))"
done
