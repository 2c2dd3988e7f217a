#!/usr/bin/env bash
# Benchmark: command processing, xen-amd-iommu-v2 vs amd-iommu, same binary.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"
bash "$here/scripts/setup.sh"
bash "$here/scripts/build.sh"
exec /usr/bin/python3 "$here/scripts/bench.py" --qemu "$QEMU_BIN" "$@"
