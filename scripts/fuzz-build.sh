#!/usr/bin/env bash
# Build QEMU's libFuzzer binary (qemu-fuzz-x86_64, with generic-fuzz) with
# ASan and UBSan, in its own folder next to the normal build.
#
#   scripts/fuzz-build.sh               configure once, then build incrementally
#   XAI_FUZZ_JOBS=1 scripts/fuzz-build.sh
#                                       fewer parallel compile jobs
#
# The overlay, the patches to QEMU's files, configure and the firmware links
# are scripts/build.sh's: this runs it with another folder, compiler and
# target, so the fuzzer sees exactly the device the normal build does.
# The normal build ($OUT/build) is never touched.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

FUZZ_BUILD_DIR=${XAI_FUZZ_BUILD_DIR:-$OUT/build-fuzz}
FUZZ_BIN=$FUZZ_BUILD_DIR/qemu-fuzz-x86_64

[ -d "$QEMU_SRC" ] || die "no QEMU tree in $QEMU_SRC: run scripts/setup.sh"

# clang 14 and its runtime libraries (libFuzzer, ASan, UBSan) from Debian.
need_pkgs() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    [ "$(id -u)" -eq 0 ] || die "missing packages (run as root): ${missing[*]}"
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${missing[@]}" >/dev/null ||
    { apt-get update >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends "${missing[@]}" >/dev/null; } ||
    die "could not install ${missing[*]}"
}
need_pkgs clang-14 libclang-rt-14-dev llvm-14

cc=clang cxx=clang++
command -v clang >/dev/null || { cc=clang-14; cxx=clang++-14; }
command -v "$cc" >/dev/null || die "no clang after installing clang-14"

# The fuzzer binary links libFuzzer; make sure clang finds it.
rt=$("$cc" -print-file-name=libclang_rt.fuzzer-x86_64.a)
[ -f "$rt" ] || die "clang has no libFuzzer runtime ($rt): install libclang-rt-14-dev"

start=$(date +%s)
jobs=${XAI_FUZZ_JOBS:-}
# build.sh runs ninja without -j; NINJA_FLAGS is not read by ninja, so a
# job limit is passed by wrapping ninja on PATH for this run only.
if [ -n "$jobs" ]; then
    wrap=$(mktemp -d)
    trap 'rm -rf "$wrap"' EXIT
    real_ninja=$(command -v ninja)
    printf '#!/bin/sh\nexec %s -j%s "$@"\n' "$real_ninja" "$jobs" > "$wrap/ninja"
    chmod +x "$wrap/ninja"
    PATH=$wrap:$PATH
fi

# Later --cc/--cxx win over build.sh's ccache gcc. Coverage instrumentation
# is limited by QEMU's own filter to hw/, so the device is instrumented.
XAI_BUILD_DIR=$FUZZ_BUILD_DIR \
XAI_CONFIGURE_EXTRA="--cc=$cc --cxx=$cxx --enable-fuzzing --enable-asan --enable-ubsan ${XAI_FUZZ_CONFIGURE_EXTRA:-}" \
XAI_NINJA_TARGETS=qemu-fuzz-x86_64 \
    nice -n "${XAI_NICE:-10}" bash "$here/scripts/build.sh"

[ -x "$FUZZ_BIN" ] || die "build finished without $FUZZ_BIN"
say "built $FUZZ_BIN in $(( $(date +%s) - start ))s"
