#!/usr/bin/env python3
"""Translation benchmark: IOTLB-hit and miss paths, ours vs amd-iommu.

The ATS/PRI/PASID requester (its untagged DMA goes through the bus-master
address space like any device's) sits behind each IOMMU in turn, in the
same QEMU binary, with the same device table entry and the same 3-level
host page table (both IOMMUs read the AMD v1 format) mapping 64 MiB. The
requester repeats an 8-byte read in a loop inside QEMU, so the time is the
translation path, not the test harness:

- hit: the same address, a million times;
- miss: 16384 distinct pages once each, after INVALIDATE_IOMMU_ALL.

Prints translations/s for each path and IOMMU, medians over several runs,
and the ratios.
"""

import argparse
import os
import statistics
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtestlib import Qemu, now  # noqa: E402

RQ_DEVFN = 6 << 3
RQ_DEVID = 0x30
RQ_BAR = 0xe0000000
DEVTAB = 0x1000000
CMDBUF = 0x1100000
PT = 0x1200000              # page tables: root, 1 L2, 32 L1
TARGET = 0x4000000          # the 64 MiB the IOVAs map to
PAGES = 16384
HIT_REPEAT = 1000000
REPEAT_MAX = 65536           # the requester's bound per command
OURS_BASE = 0xfed90000
AMD_BASE = 0xfed80000


def setup_tables(q):
    root, l2 = PT, PT + 0x1000
    l1 = [PT + 0x2000 + i * 0x1000 for i in range(PAGES // 512)]
    rw = 1 << 61 | 1 << 62 | 1
    q.write_bytes(root, struct.pack("<Q", l2 | 2 << 9 | rw))
    q.write_bytes(l2, b"".join(struct.pack("<Q", t | 1 << 9 | rw)
                               for t in l1))
    for i, t in enumerate(l1):
        q.write_bytes(t, b"".join(
            struct.pack("<Q", (TARGET + ((i * 512 + j) << 12)) | rw)
            for j in range(512)))
    dte = root | 3 << 9 | 1 | 2 | 1 << 61 | 1 << 62
    q.write_bytes(DEVTAB + RQ_DEVID * 32, struct.pack("<QQ", dte, 1))


def setup_requester(q):
    q.pci_cfg_writel(RQ_DEVFN, 0x10, RQ_BAR)
    q.pci_cfg_writel(RQ_DEVFN, 0x04, 0x6)
    q.writel(RQ_BAR + 0x04, 0)              # untagged
    q.writel(RQ_BAR + 0x10, 8)


def start_iommu(q, mmio):
    q.writeq(mmio + 0x00, DEVTAB)           # 128 entries
    q.writeq(mmio + 0x08, CMDBUF | 8 << 56)
    q.writeq(mmio + 0x2000, 0)
    q.writeq(mmio + 0x2008, 0)
    q.writeq(mmio + 0x18, 1 | 1 << 12)      # IommuEn, CmdBufEn


def invalidate_all(q, mmio):
    tail = (q.readq(mmio + 0x2008) >> 4) & 0xff
    q.write_bytes(CMDBUF + tail * 16, struct.pack("<QQ", 8 << 60, 0))
    q.writeq(mmio + 0x2008, ((tail + 1) & 0xff) << 4)


def timed_reads(q, address, repeat, stride):
    """Reads per second, in commands of at most REPEAT_MAX reads each"""
    q.writel(RQ_BAR + 0x28, stride)
    elapsed = 0.0
    done = 0
    while done < repeat:
        n = min(repeat - done, REPEAT_MAX)
        q.writeq(RQ_BAR + 0x08, address + done * stride)
        q.writel(RQ_BAR + 0x24, n)
        t0 = now()
        q.writel(RQ_BAR + 0x14, 1)
        elapsed += now() - t0
        if q.readl(RQ_BAR + 0x18) != 0:
            raise SystemExit("the requester's DMA failed: not translated")
        done += n
    return repeat / elapsed


def measure(qemu, iommu):
    if iommu == "xen-amd-iommu-v2":
        dev = ["-device", "xen-amd-iommu-v2,addr=04.0,mmio-base=0x%x" %
               OURS_BASE]
        mmio = OURS_BASE
    else:
        dev = ["-device", "amd-iommu"]
        mmio = AMD_BASE
    q = Qemu(qemu, ["-M", "q35", "-m", "256M"] + dev +
             ["-device", "xen-amd-iommu-v2-requester,addr=06.0"])
    try:
        setup_tables(q)
        setup_requester(q)
        start_iommu(q, mmio)
        # the data must come from TARGET: check one read went through
        q.write_bytes(TARGET + 0x5008, struct.pack("<Q", 0xfeedf00d))
        timed_reads(q, 0x5008, 1, 0)
        if q.readq(RQ_BAR + 0x800) != 0xfeedf00d:
            raise SystemExit("%s did not translate the read" % iommu)
        hit = timed_reads(q, 0x5008, HIT_REPEAT, 0)
        invalidate_all(q, mmio)
        miss = timed_reads(q, 0, PAGES, 4096)
        return hit, miss
    finally:
        q.quit()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    res = {"xen-amd-iommu-v2": ([], []), "amd-iommu": ([], [])}
    for run in range(a.runs):
        for iommu, (hits, misses) in res.items():
            hit, miss = measure(a.qemu, iommu)
            hits.append(hit)
            misses.append(miss)
            print("run %d %-17s hit %11.0f/s  miss %11.0f/s" %
                  (run + 1, iommu, hit, miss))
    ours = [statistics.median(v) for v in res["xen-amd-iommu-v2"]]
    theirs = [statistics.median(v) for v in res["amd-iommu"]]
    print("medians over %d runs:" % a.runs)
    print("  %-17s hit %11.0f/s  miss %11.0f/s" % ("xen-amd-iommu-v2",
                                                   *ours))
    print("  %-17s hit %11.0f/s  miss %11.0f/s" % ("amd-iommu", *theirs))
    print("  ratio             hit %10.2fx  miss %10.2fx" %
          (ours[0] / theirs[0], ours[1] / theirs[1]))


if __name__ == "__main__":
    main()
