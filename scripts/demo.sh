#!/usr/bin/env bash
# README command 1: set up, build, and run the main job: Debian's Linux
# (6.12 by default; --kernel 6.1 for the other) boots in a q35 machine
# under TCG with -device xen-amd-iommu-v2 and a virtio-blk disk behind
# it, and reports the guest's AMD-Vi lines, IOMMU groups, the checksum of
# data read through translated DMA, and the IOMMU control register.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

bash "$here/scripts/setup.sh"
bash "$here/scripts/build.sh"
bash "$here/scripts/guest-assets.sh"
exec /usr/bin/python3 "$here/scripts/guest.py" --qemu "$QEMU_BIN" \
    --kernel 6.12 --iommu xen-amd-iommu-v2 --expect-iommu "$@"
