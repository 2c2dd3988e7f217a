#!/usr/bin/env bash
# README command 1: set up, build, and run the main job: a q35 machine
# under TCG with -device xen-amd-iommu-v2, shown alive.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

bash "$here/scripts/setup.sh"
bash "$here/scripts/build.sh"
exec /usr/bin/python3 "$here/scripts/demo.py" --qemu "$QEMU_BIN" "$@"
