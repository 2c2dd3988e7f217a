#!/usr/bin/env bash
# Lay the project's files over the unpacked QEMU tree, apply the project's
# small patches to QEMU's own files, configure (once) and build.
#
#   scripts/build.sh            build qemu-system-x86_64 and the qtests
#   XAI_BUILD_DIR=dir XAI_XEN=disable scripts/build.sh
#                               another configuration in another folder
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

[ -d "$QEMU_SRC" ] || die "no QEMU tree in $QEMU_SRC: run scripts/setup.sh"

# Files of ours that QEMU's build reads, by their path in the QEMU tree.
overlay_files() {
    (cd "$here" && git ls-files -co --exclude-standard -- \
        hw include tests qapi docs 2>/dev/null ||
     find hw include tests qapi docs -type f)
}

# Symlink each project file to the same relative path in the QEMU tree.
overlay() {
    local f
    for f in $(overlay_files); do
        case "$f" in
        hw/xen/trace-events-amd-iommu-v2) continue ;;
        esac
        mkdir -p "$QEMU_SRC/$(dirname "$f")"
        ln -sfn "$here/$f" "$QEMU_SRC/$f"
    done
}

# tracetool reads exactly one trace-events file per folder: hw/xen's is
# QEMU's own with ours appended, regenerated when either changes.
merge_trace_events() {
    local qemu_te=$QEMU_SRC/hw/xen/trace-events
    local orig=$QEMU_SRC/hw/xen/trace-events.qemu-orig
    [ -f "$orig" ] || cp "$qemu_te" "$orig"
    local merged
    merged=$(mktemp)
    cat "$orig" "$here/hw/xen/trace-events-amd-iommu-v2" > "$merged"
    if cmp -s "$merged" "$qemu_te"; then
        rm -f "$merged"
    else
        mv "$merged" "$qemu_te"
    fi
}

# Numbered patches to QEMU's own files, applied once each.
apply_patches() {
    local p name
    mkdir -p "$QEMU_SRC/.xai-patches"
    for p in "$here"/patches/qemu/*.patch; do
        [ -e "$p" ] || continue
        name=$(basename "$p")
        if [ -f "$QEMU_SRC/.xai-patches/$name" ]; then
            cmp -s "$p" "$QEMU_SRC/.xai-patches/$name" && continue
            say "re-applying changed $name"
            patch -d "$QEMU_SRC" -p1 -R --quiet \
                < "$QEMU_SRC/.xai-patches/$name" ||
                die "cannot take back the old $name: rm -rf $QEMU_SRC and run scripts/setup.sh"
        fi
        say "applying $name"
        patch -d "$QEMU_SRC" -p1 --forward --quiet < "$p" ||
            die "patch $name does not apply to $(cat "$QEMU_SRC/.xen-amd-iommu-v2-version")"
        cp "$p" "$QEMU_SRC/.xai-patches/$name"
    done
}

configure() {
    local want="$*"
    if [ -f "$BUILD_DIR/build.ninja" ] &&
       [ "$(cat "$BUILD_DIR/.xai-configure" 2>/dev/null)" = "$want" ]; then
        return
    fi
    say "configuring in $BUILD_DIR"
    mkdir -p "$BUILD_DIR"
    (cd "$BUILD_DIR" && "$QEMU_SRC/configure" "$@")
    echo "$want" > "$BUILD_DIR/.xai-configure"
}

overlay
merge_trace_events
apply_patches

# Shared by every clone and build folder on the machine: a fresh clone
# (CI) rebuilds from the cache.
export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/xen-amd-iommu-v2-ccache}
# ... and by the build folders of one clone: paths under _out/ hash as
# relative ones, the folder itself not at all (its objects' debug info
# may then name another folder of the clone)
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$OUT}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
cc=${XAI_CC:-gcc}
cxx=${XAI_CXX:-g++}
cc_args=(--cc="$cc" --cxx="$cxx")
command -v ccache >/dev/null && cc_args=(--cc="ccache $cc" --cxx="ccache $cxx")
# shellcheck disable=SC2086
configure --target-list=x86_64-softmmu --python=/usr/bin/python3 \
    --disable-install-blobs --disable-docs --disable-download \
    --enable-tcg --enable-vnc --${XAI_XEN:-enable}-xen --enable-fdt=system \
    --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu \
    --disable-werror "${cc_args[@]}" ${XAI_CONFIGURE_EXTRA:-}

say "building"
ninja -C "$BUILD_DIR" qemu-system-x86_64 ${XAI_NINJA_TARGETS:-tests/qtest/qos-test}
# Run from the build tree, QEMU looks for the configured firmware path
# inside qemu-bundle/: point it at Debian's firmware packages.
for fw in /usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu; do
    mkdir -p "$BUILD_DIR/qemu-bundle$(dirname "$fw")"
    ln -sfn "$fw" "$BUILD_DIR/qemu-bundle$fw"
done
say "built $QEMU_BIN"
