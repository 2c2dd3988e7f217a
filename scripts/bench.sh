#!/usr/bin/env bash
# Benchmarks (not tests), each against QEMU's own amd-iommu in the same
# binary: command processing, translation (IOTLB hit and miss), and the
# demo guest's boot time with no IOMMU, amd-iommu and xen-amd-iommu-v2.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"
bash "$here/scripts/setup.sh"
bash "$here/scripts/build.sh"
bash "$here/scripts/guest-assets.sh"
echo "== command processing =="
/usr/bin/python3 "$here/scripts/bench.py" --qemu "$QEMU_BIN"
echo "== translation =="
/usr/bin/python3 "$here/scripts/bench_translate.py" --qemu "$QEMU_BIN"
echo "== demo guest boot =="
/usr/bin/python3 "$here/scripts/bench_boot.py" --qemu "$QEMU_BIN"
echo "== worst case of one doorbell =="
/usr/bin/python3 "$here/scripts/bench_doorbell.py" --qemu "$QEMU_BIN"
