#!/usr/bin/env bash
# Build the patched Xen 4.17 tools (the companion series in patches/xen/:
# libxendevicemodel's guest IOMMU wrappers, libxl/xl guest_iommu=1,
# hvmloader's IVRS) and stage them for the dom0 image and for QEMU.
#
# Input: a Xen source tree with patches/xen/*.patch applied, as
# scripts/xen-build.sh unpacks it ($OUT/xen-patched/src; XAI_XEN_SRC
# names another one). Output, under $OUT/xen-patched (XAI_XEN_PATCHED):
#
#   tools-overlay/   what replaces Debian's files in a dom0 rootfs, at
#                    Debian's paths (xen-utils-4.17, libxen*):
#                      usr/lib/x86_64-linux-gnu/libxen*.so.*  (all the
#                        tools libraries, libxendevicemodel.so.1.5 among
#                        them, with their .so.N links)
#                      usr/lib/xen-4.17/bin/{xl,libxl-save-helper}
#                      usr/lib/xen-4.17/boot/hvmloader
#                    (cp -a tools-overlay/. ROOTFS/)
#   devel/           a prefix to build QEMU against the patched library:
#                      include/ (xendevicemodel.h, xen/hvm/dm_op.h, ...)
#                      lib/ (libxen*.so links and libraries)
#                      lib/pkgconfig/*.pc (prefix = this folder)
#                    PKG_CONFIG_PATH=$OUT/xen-patched/devel/lib/pkgconfig
#   tools-install/   the tools' own "make install" (DESTDIR), kept for
#                    reference
#
# Idempotent: configure runs once per tree and option set, make is
# incremental (a rebuild after a patch change takes seconds).
#
#   scripts/xen-build-tools.sh
#   XAI_XEN_SRC=/path/to/tree scripts/xen-build-tools.sh
#   XAI_JOBS=4 scripts/xen-build-tools.sh
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

PATCHED=${XAI_XEN_PATCHED:-$OUT/xen-patched}
SRC=${XAI_XEN_SRC:-$PATCHED/src}
JOBS=${XAI_JOBS:-2}
OVERLAY=$PATCHED/tools-overlay
DEVEL=$PATCHED/devel
INSTALL=$PATCHED/tools-install
LOG_DIR=$PATCHED/logs
XEN_SERIES=4.17
MULTIARCH=x86_64-linux-gnu

# Debian's own configure line (debian/rules) for the paths, the issue's
# for what is left out: dom0 needs the libraries, xl and hvmloader only.
CONFIGURE_ARGS=(
    --disable-stubdom --disable-docs --disable-ocamltools --disable-golang
    --disable-xsmpolicy --disable-qemu-traditional --disable-rombios
    --disable-pvshim --disable-monitors
    --prefix=/usr --includedir=/usr/include
    "--libdir=/usr/lib/$MULTIARCH"
    "--with-libexec-libdir-suffix=/$MULTIARCH"
    "--with-libexec-leaf-dir=xen-$XEN_SERIES"
    --sysconfdir=/etc --localstatedir=/var
    --with-system-qemu=/usr/libexec/xen-qemu-system-i386
    --with-system-seabios=/usr/share/seabios/bios-256k.bin
    --with-system-ovmf=/usr/share/ovmf/OVMF.fd
)

# What the tools build needs from Debian (debian/control's Build-Depends
# for these parts; gcc-multilib for the 32-bit hvmloader, acpica-tools
# for iasl, which compiles hvmloader's DSDTs).
BUILD_DEPS=(build-essential autoconf automake bison flex pkg-config file
            python3-dev gcc-multilib acpica-tools uuid-dev libyajl-dev
            libaio-dev libglib2.0-dev libpixman-1-dev libncurses-dev
            zlib1g-dev liblzma-dev libzstd-dev libbz2-dev libext2fs-dev)

install_build_deps() {
    apt_install_missing "${BUILD_DEPS[@]}"
}

# Run "$@" with its output in $LOG_DIR/$1.log; on failure show the tail.
logged() {
    local name=$1 log
    shift
    log=$LOG_DIR/$name.log
    if ! "$@" > "$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "$name failed (log: $log)"
    fi
}

configure_tools() {
    local want stamp=$SRC/.xai-tools-configured
    want="${CONFIGURE_ARGS[*]}"
    if [ -f "$SRC/config/Tools.mk" ] &&
       [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return
    fi
    # Debian's tree carries neither configure nor config.{sub,guess}
    # (debian/rules copies the latter from /usr/share/misc).
    cp /usr/share/misc/config.sub /usr/share/misc/config.guess "$SRC/"
    if [ ! -x "$SRC/configure" ] || [ ! -x "$SRC/tools/configure" ]; then
        say "autogen.sh"
        (cd "$SRC" && logged autogen ./autogen.sh)
    fi
    say "configure ${CONFIGURE_ARGS[*]}"
    (cd "$SRC" && logged configure ./configure "${CONFIGURE_ARGS[@]}")
    echo "$want" > "$stamp"
}

build_tools() {
    local dir
    for dir in tools/include tools/libs tools/xl tools/firmware; do
        say "make -C $dir -j$JOBS"
        logged "make-${dir//\//-}" make -C "$SRC/$dir" -j"$JOBS"
    done
}

# The tools' own install into $INSTALL: the libraries with their links,
# headers and pkg-config files at the configured (Debian's) paths.
install_tools() {
    rm -rf "$INSTALL"
    # The libraries install their .pc file with a plain "install" into
    # this folder, which must exist (Xen's top-level install makes it).
    mkdir -p "$INSTALL/usr/lib/$MULTIARCH/pkgconfig"
    logged install-include make -C "$SRC/tools/include" install \
        DESTDIR="$INSTALL"
    logged install-libs make -C "$SRC/tools/libs" install DESTDIR="$INSTALL"
}

stage_overlay() {
    local libdir=usr/lib/$MULTIARCH bin=usr/lib/xen-$XEN_SERIES/bin
    local boot=usr/lib/xen-$XEN_SERIES/boot f
    rm -rf "$OVERLAY"
    mkdir -p "$OVERLAY/$libdir" "$OVERLAY/$bin" "$OVERLAY/$boot"
    # Shared libraries and their SONAME links; not the .so development
    # links, not the static archives.
    for f in "$INSTALL/$libdir"/lib*.so.*; do
        cp -a "$f" "$OVERLAY/$libdir/"
    done
    # Debian keeps the programs linked to the 4.17 libraries under
    # /usr/lib/xen-4.17/bin (/usr/sbin/xl is its version wrapper).
    install -m 755 "$SRC/tools/xl/xl" "$OVERLAY/$bin/xl"
    install -m 755 "$SRC/tools/libs/light/libxl-save-helper" \
        "$OVERLAY/$bin/libxl-save-helper"
    install -m 644 "$SRC/tools/firmware/hvmloader/hvmloader" \
        "$OVERLAY/$boot/hvmloader"
    (cd "$OVERLAY" && find . -type f -o -type l | LC_ALL=C sort) \
        > "$PATCHED/tools-overlay.files"
}

stage_devel() {
    local libdir=usr/lib/$MULTIARCH pc
    rm -rf "$DEVEL"
    mkdir -p "$DEVEL/lib/pkgconfig"
    cp -a "$INSTALL/usr/include" "$DEVEL/include"
    cp -a "$INSTALL/$libdir"/lib*.so* "$DEVEL/lib/"
    for pc in "$INSTALL/$libdir/pkgconfig"/*.pc \
              "$INSTALL/usr/share/pkgconfig"/*.pc; do
        [ -f "$pc" ] || continue
        sed -e "s|^prefix=.*|prefix=$DEVEL|" \
            -e "s|^includedir=.*|includedir=$DEVEL/include|" \
            -e "s|^libdir=.*|libdir=$DEVEL/lib|" \
            "$pc" > "$DEVEL/lib/pkgconfig/$(basename "$pc")"
    done
}

# The series is in: the wrappers at VERS_1.5, the option in xl and
# libxl, the IVRS in hvmloader.
check_result() {
    local lib=$OVERLAY/usr/lib/$MULTIARCH/libxendevicemodel.so.1.5 n
    [ -f "$lib" ] || die "no libxendevicemodel.so.1.5: is the series applied?"
    n=$(nm -D --defined-only "$lib" | grep -c 'xendevicemodel_guest_iommu_.*@@VERS_1\.5$' || true)
    [ "$n" = 8 ] || die "libxendevicemodel.so.1.5 exports $n of the 8 guest IOMMU wrappers at VERS_1.5"
    grep -q guest_iommu "$OVERLAY/usr/lib/xen-$XEN_SERIES/bin/xl" ||
        die "xl knows no guest_iommu"
    grep -q platform/guest_iommu \
        "$OVERLAY/usr/lib/$MULTIARCH/libxenlight.so.$XEN_SERIES.0" ||
        die "libxenlight writes no platform/guest_iommu"
    grep -q platform/guest_iommu \
        "$OVERLAY/usr/lib/xen-$XEN_SERIES/boot/hvmloader" ||
        die "hvmloader reads no platform/guest_iommu"
    PKG_CONFIG_PATH=$DEVEL/lib/pkgconfig pkg-config --exists \
        'xendevicemodel >= 1.5' ||
        die "devel/: pkg-config finds no xendevicemodel >= 1.5"
}

[ "$(id -u)" = 0 ] || die "run as root: it installs Debian packages"
if [ ! -d "$SRC/tools" ] || [ ! -d "$SRC/xen" ]; then
    die "no Xen source tree at $SRC: run scripts/xen-build.sh, or set XAI_XEN_SRC"
fi
[ -f "$SRC/tools/libs/devicemodel/libxendevicemodel.map" ] ||
    die "$SRC is not a Xen tree with tools"
mkdir -p "$LOG_DIR"
install_build_deps
configure_tools
build_tools
install_tools
stage_overlay
stage_devel
check_result
say "patched Xen tools staged: $OVERLAY ($(wc -l < "$PATCHED/tools-overlay.files") files), devel prefix $DEVEL"
