#!/usr/bin/env bash
# The qtest suite under AddressSanitizer and UndefinedBehaviorSanitizer:
# QEMU and the test built with clang in _out/build-asan, run with every
# sanitizer report fatal. Prints the qtest TAP lines; exits non-zero on any
# failure or report.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

if ! command -v clang >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang \
        libclang-rt-14-dev > /dev/null
fi
bash "$here/scripts/setup.sh"
XAI_BUILD_DIR=$OUT/build-asan XAI_CC=clang XAI_CXX=clang++ \
    XAI_CONFIGURE_EXTRA="--enable-asan --enable-ubsan" \
    XAI_NINJA_TARGETS="tests/qtest/xen-amd-iommu-v2-test" \
    bash "$here/scripts/build.sh"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
QTEST_QEMU_BINARY=$OUT/build-asan/qemu-system-x86_64 \
    "$OUT/build-asan/tests/qtest/xen-amd-iommu-v2-test" --tap -k
