#!/usr/bin/env bash
# The qtest suite against a QEMU built with AddressSanitizer and
# UndefinedBehaviorSanitizer (the clang build scripts/fuzz-build.sh makes
# in _out/build-fuzz), every report fatal. Prints the qtest TAP lines;
# exits non-zero on any failure or report.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

bash "$here/scripts/setup.sh" > /dev/null
XAI_NINJA_TARGETS="tests/qtest/xen-amd-iommu-v2-test" \
    bash "$here/scripts/build.sh" > /dev/null    # the qtest program
bash "$here/scripts/fuzz-build.sh" > /dev/null   # the sanitized QEMU
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
QTEST_QEMU_BINARY=$OUT/build-fuzz/qemu-system-x86_64 \
    "$BUILD_DIR/tests/qtest/xen-amd-iommu-v2-test" --tap -k
