#!/usr/bin/env python3
"""Command-processing benchmark: xen-amd-iommu-v2 against QEMU's amd-iommu.

The same command stream (INVALIDATE_IOMMU_PAGES, INVALIDATE_DEVTAB_ENTRY and
COMPLETION_WAIT with a store, in turn) is written into a 32 Ki-entry command
buffer in guest RAM and handed to each device by one tail-pointer write per
ring. The time is that of the doorbell writes, each of which returns once
the device has run the whole ring. Both devices run in the same QEMU binary,
alternately, several times; the figures are medians.
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
CMD_BUF = 0x1000000         # 512 KiB ring in low RAM
EVT_LOG = 0x1100000
SEM = 0x1200000
OUR_BASE = 0xfed90000     # mmio-base given on the command line
AMD_MMIO = 0xfed80000       # amd-iommu's fixed register window


def command_stream(n):
    """n commands: pages / devtab / completion-wait, as a driver mixes them."""
    out = bytearray()
    for i in range(n):
        kind = i % 3
        if kind == 0:      # INVALIDATE_IOMMU_PAGES, domain i&0xff, one page
            q0 = 3 << 60 | (i & 0xff) << 32
            q1 = (0x100000 + (i << 12)) & 0x000ffffffffff000
        elif kind == 1:    # INVALIDATE_DEVTAB_ENTRY
            q0 = 2 << 60 | (i & 0xffff)
            q1 = 0
        else:              # COMPLETION_WAIT, store
            q0 = 1 << 60 | SEM | 1
            q1 = i
        out += struct.pack("<QQ", q0, q1)
    return bytes(out)


def setup_ours(q):
    return OUR_BASE


def setup_amd(q):
    return AMD_MMIO


def run_rings(q, mmio, stream, rings):
    """Program the device, then time `rings` full rings; commands/s."""
    per_ring = RING - 1
    q.writeq(mmio + 0x18, 0)                                 # control off
    q.writeq(mmio + 0x08, CMD_BUF | RING_LOG2 << 56)
    q.writeq(mmio + 0x10, EVT_LOG | 8 << 56)
    q.writeq(mmio + 0x2000, 0)
    q.writeq(mmio + 0x2008, 0)
    q.writeq(mmio + 0x2010, 0)
    q.writeq(mmio + 0x2018, 0)
    q.writeq(mmio + 0x18, 1 | 1 << 2 | 1 << 12)             # IOMMU, evt, cmd
    q.write_bytes(CMD_BUF, stream)           # every slot a valid command
    elapsed = 0.0
    head = 0
    for _ in range(rings):
        tail = (head + per_ring) % RING
        t0 = now()
        q.writeq(mmio + 0x2008, tail << 4)
        elapsed += now() - t0
        got = (q.readq(mmio + 0x2000) >> 4) & (RING - 1)
        if got != tail:
            raise SystemExit("device stopped at head %d, not %d" % (got, tail))
        head = tail
    if q.readq(mmio + 0x2018) != 0:
        raise SystemExit("the stream caused events: it is not well formed")
    return rings * per_ring / elapsed


def measure(binary, device, rings):
    if device == "xen-amd-iommu-v2":
        args = ["-M", "q35", "-m", "128M",
                "-device", "xen-amd-iommu-v2,addr=04.0,mmio-base=0x%x" % OUR_BASE]
        setup = setup_ours
    else:
        args = ["-M", "q35", "-m", "128M", "-device", "amd-iommu"]
        setup = setup_amd
    q = Qemu(binary, args)
    try:
        mmio = setup(q)
        return run_rings(q, mmio, command_stream(RING), rings)
    finally:
        q.quit()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--commands", type=int, default=1 << 20,
                    help="commands per run (whole rings of %d)" % (RING - 1))
    a = ap.parse_args()
    rings = max(1, -(-a.commands // (RING - 1)))
    results = {"xen-amd-iommu-v2": [], "amd-iommu": []}
    for run in range(a.runs):
        for dev in results:
            rate = measure(a.qemu, dev, rings)
            results[dev].append(rate)
            print("run %d %-17s %12.0f commands/s" % (run + 1, dev, rate))
    ours = statistics.median(results["xen-amd-iommu-v2"])
    theirs = statistics.median(results["amd-iommu"])
    print("median over %d runs of %d commands each:" % (a.runs,
                                                         rings * (RING - 1)))
    print("  xen-amd-iommu-v2 %12.0f commands/s" % ours)
    print("  amd-iommu        %12.0f commands/s" % theirs)
    print("  ratio            %12.2fx" % (ours / theirs))


if __name__ == "__main__":
    main()
