#!/usr/bin/env python3
"""Worst-case work of one doorbell: a full ring of invalidations.

A guest can fill its 32 Ki-entry command buffer with the commands that
cost the device most (each invalidation tells every device's address
space, and the whole IOTLB is searched) and hand all of them over with
one tail-pointer write. The device runs at most one ring per doorbell;
this prints how long that write holds QEMU's main loop, with no device
and with 16 devices (edu) behind the IOMMU. Medians of --runs.
"""

import argparse
import os
import statistics
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtestlib import Qemu, now  # noqa: E402

RING_LOG2 = 15
RING = 1 << RING_LOG2
CMD_BUF = 0x1000000
EVT_LOG = 0x1100000
BASE = 0xfed90000

COMMANDS = {
    "INVALIDATE_DEVTAB_ENTRY": (2 << 60 | 0x20, 0),
    # S=1 with every address bit set: all pages of domain 1
    "INVALIDATE_IOMMU_PAGES (all)": (3 << 60 | 1 << 32,
                                     0x7ffffffffffff000 | 1),
    "INVALIDATE_IOMMU_ALL": (8 << 60, 0),
}


def one_doorbell(binary, command, devices):
    args = ["-M", "q35", "-m", "128M", "-device",
            "xen-amd-iommu-v2,addr=04.0,mmio-base=0x%x" % BASE]
    for i in range(devices):
        args += ["-device", "edu,addr=%x.0" % (8 + i)]
    q = Qemu(binary, args)
    try:
        q.writeq(BASE + 0x18, 0)
        q.writeq(BASE + 0x08, CMD_BUF | RING_LOG2 << 56)
        q.writeq(BASE + 0x10, EVT_LOG | 8 << 56)
        for reg in (0x2000, 0x2008, 0x2010, 0x2018):
            q.writeq(BASE + reg, 0)
        q.writeq(BASE + 0x18, 1 | 1 << 2 | 1 << 12)    # IOMMU, evt, cmd
        q.write_bytes(CMD_BUF, struct.pack("<QQ", *command) * RING)
        t0 = now()
        q.writeq(BASE + 0x2008, (RING - 1) << 4)
        elapsed = now() - t0
        if (q.readq(BASE + 0x2000) >> 4) != RING - 1:
            raise SystemExit("the device stopped before the ring's end")
        if q.readq(BASE + 0x2018) != 0:
            raise SystemExit("the commands caused events")
        return elapsed
    finally:
        q.quit()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    for name, command in COMMANDS.items():
        for devices in (0, 16):
            t = statistics.median(one_doorbell(a.qemu, command, devices)
                                  for _ in range(a.runs))
            print("%-28s %2d devices: %5d commands, one doorbell: %.1f ms"
                  % (name, devices, RING - 1, t * 1000))


if __name__ == "__main__":
    main()
