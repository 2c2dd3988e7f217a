#!/usr/bin/env bash
# The Xen companion end to end: the project's patched Xen 4.17 runs the
# device's fast path under the nested setup of scripts/xen-e2e.py.
#
#   1. scripts/xen-build.sh: Debian's Xen source with patches/xen/, the
#      hypervisor (test build) and the tools (libxendevicemodel with the
#      guest IOMMU calls, libxl/xl guest_iommu=1, hvmloader's IVRS);
#   2. our QEMU built against that libxendevicemodel (_out/build-xenpatched;
#      the stock-library build in _out/build is left as it is);
#   3. scripts/xen-assets.sh --patched: the dom0 image with those tools and
#      that QEMU, guests configured with guest_iommu = 1 alone;
#   4. scripts/xen-e2e.py --patched: a guest with guest_iommu = 1 gets the
#      device, the hypervisor serves its registers, commands and logs;
#      then a guest without the option gets no device.
#
# Prints PASS:/FAIL: lines (the test command counts them) and exits non-zero
# on any failure. Needs scripts/xen-assets.sh (stock) to have run: the
# patched dom0 tree starts from the stock one.
#
#   scripts/xen-companion.sh
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

log_dir=$OUT/test-logs
mkdir -p "$log_dir"
patched=$OUT/xen-patched

step() {        # name log command...
    local name=$1 log=$2
    shift 2
    if "$@" > "$log" 2>&1; then
        return 0
    fi
    echo "FAIL: $name (see $log)"
    tail -n 20 "$log"
    exit 1
}

step "patched Xen 4.17 builds (scripts/xen-build.sh)" \
    "$log_dir/xen-build.log" bash "$here/scripts/xen-build.sh"
step "QEMU builds against the patched libxendevicemodel" \
    "$log_dir/build-xenpatched.log" \
    env PKG_CONFIG_PATH="$patched/devel/lib/pkgconfig" \
    XAI_BUILD_DIR="$OUT/build-xenpatched" \
    XAI_NINJA_TARGETS=qemu-system-x86_64 bash "$here/scripts/build.sh"
syms=$(nm -D "$OUT/build-xenpatched/qemu-system-x86_64")
grep -q '^#define CONFIG_XEN_DM_GUEST_IOMMU' \
    "$OUT/build-xenpatched/config-host.h" &&
    grep -q 'xendevicemodel_guest_iommu_get_info@VERS_1.5' <<< "$syms"
rc=$?
if [ $rc = 0 ]; then
    echo "PASS: QEMU built against the patched library calls its" \
         "xendevicemodel_guest_iommu_* wrappers (VERS_1.5)"
else
    echo "FAIL: QEMU built against the patched library does not use its" \
         "wrappers"
fi
step "dom0 image for the patched Xen (scripts/xen-assets.sh --patched)" \
    "$log_dir/xen-assets-patched.log" \
    bash "$here/scripts/xen-assets.sh" --patched

status=$rc
for guest in iommu plain; do
    /usr/bin/python3 "$here/scripts/xen-e2e.py" --patched \
        --assets "$patched/e2e" --guest $guest \
        > "$log_dir/xen-companion-$guest.log" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL|info): ' "$log_dir/xen-companion-$guest.log" |
        sed "s/^\(PASS\|FAIL\): xen: /\1: xen (patched, $guest): /"
    sed -n '/^phases/,/^$/p' "$log_dir/xen-companion-$guest.log"
    if [ $rc != 0 ] &&
       ! grep -q '^FAIL' "$log_dir/xen-companion-$guest.log"; then
        echo "FAIL: xen (patched, $guest) end to end (exit status $rc;" \
             "see $log_dir/xen-companion-$guest.log)"
        tail -n 20 "$log_dir/xen-companion-$guest.log" | sed 's/^/  /'
    fi
    [ $rc = 0 ] || status=1
    if [ $guest = iommu ]; then
        # The device model's own line: which transport carried the ops
        line=$(grep -m1 "fast path serves the IOMMU" \
               "$log_dir/xen-companion-$guest.log")
        if grep -q "through libxendevicemodel" <<< "$line"; then
            echo "PASS: xen (patched, iommu): the device model reached Xen" \
                 "through libxendevicemodel's wrappers"
        else
            echo "FAIL: xen (patched, iommu): the device model did not use" \
                 "libxendevicemodel's wrappers (${line:-no fast-path line})"
            status=1
        fi
    fi
done
exit $status
