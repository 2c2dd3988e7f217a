# Shared settings for the project's scripts (sourced, not run).
# shellcheck shell=bash

: "${here:?common.sh expects \$here, the project root}"

# Debian trixie's QEMU; scripts/setup.sh falls back to the newest 10.0.x.
QEMU_PIN=${QEMU_PIN:-1:10.0.13+ds-0+deb13u1}

# Everything downloaded or built lives under one ignored folder.
OUT=${XAI_OUT:-$here/_out}
DL_DIR=$OUT/dl
STAMP_DIR=$OUT/stamps
QEMU_SRC=$OUT/qemu
BUILD_DIR=${XAI_BUILD_DIR:-$OUT/build}
QEMU_BIN=$BUILD_DIR/qemu-system-x86_64

say() { printf '[xen-amd-iommu-v2] %s\n' "$*"; }
die() { printf '[xen-amd-iommu-v2] error: %s\n' "$*" >&2; exit 1; }
