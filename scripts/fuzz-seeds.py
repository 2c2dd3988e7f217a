#!/usr/bin/env python3
"""Seed inputs for QEMU's generic-fuzz target, for xen-amd-iommu-v2 or amd-iommu.

generic-fuzz reads its input as operations separated by the bytes "FUZZ".
An operation's first byte, modulo the number of operations (10), picks it;
the rest are its operands, copied into a C struct, so x86-64 padding and
little-endian order apply:

  0 IN / 1 OUT            port I/O in a matched region (unused here)
  2 READ   u8 size, u8 region, 2 pad, u32 offset              (8 bytes)
  3 WRITE  u8 size, u8 region, 2 pad, u32 offset, u64 value   (16 bytes)
           size % 4: 0 byte, 1 word, 2 long, 3 quad
  4 PCI_READ   u8 size, u8 device, u8 config offset           (3 bytes)
  5 PCI_WRITE  u8 size, u8 device, u8 offset, 1 pad, u32 value (8 bytes)
           size % 3: 0 byte, 1 word, 2 long; via ports CF8h/CFCh
  6 DISABLE_PCI           later PCI_READ/PCI_WRITE do nothing
  7 ADD_DMA_PATTERN  u8 index, u8 stride, pattern bytes
  8 CLEAR_DMA_PATTERNS
  9 CLOCK_STEP            advance the virtual clock to the next timer

"region" indexes the matched memory regions mapped in system memory, in
address order, modulo their number; the offset is taken modulo the
region's size. "device" indexes the matched PCI devices in the order of
QEMU_FUZZ_OBJECTS. Before each input generic-fuzz assigns the BARs of
matched PCI devices from E000_0000h up and enables memory decode and bus
mastering.

The fuzzing setup (scripts/fuzz.sh) is the IOMMU plus the project's
xen-amd-iommu-v2-requester as a DMA master behind it (its DMA is
synchronous to the register write that starts it), and the q35 host
bridge (mch) with the PCIe MMCONFIG window, so that the requester's PASID
and PRI capabilities in extended config space can be enabled:

  region 0  the requester's 4 KiB BAR at E000_0000h
  region 1  the IOMMU's 16 KiB register window at FED8_0000h (both
            xen-amd-iommu-v2, placed by its capability, and amd-iommu)
  device 0  the IOMMU's PCI function, 1 the requester (00:02.0, devid
            10h), 2 mch (00:00.0)

Once MMCONFIG is enabled (mch config 60h) its 256 MiB window at
B000_0000h becomes region 0, the requester 1 and the IOMMU 2.
With --no-dma-master (the IOMMU alone) the IOMMU is region 0.

Nothing writes guest RAM directly: whenever a device reads main RAM by DMA,
generic-fuzz first fills the bytes read with the next DMA pattern (one
pattern per read, in turn). So a command is "written into the ring" by
adding it as a pattern before ringing the doorbell; a pattern of k
commands repeats over a fetch of more entries.

Usage:
  fuzz-seeds.py [--target xen-amd-iommu-v2|amd-iommu] [--out DIR] [--dict F]
  fuzz-seeds.py --decode FILE...      print the operations of an input
"""

import argparse
import hashlib
import os
import struct
import sys

SEP = b"FUZZ"
(OP_IN, OP_OUT, OP_READ, OP_WRITE, OP_PCI_READ, OP_PCI_WRITE, OP_DISABLE_PCI,
 OP_ADD_DMA_PATTERN, OP_CLEAR_DMA_PATTERNS, OP_CLOCK_STEP) = range(10)
OP_NAMES = ["in", "out", "read", "write", "pci_read", "pci_write",
            "disable_pci", "add_dma_pattern", "clear_dma_patterns",
            "clock_step"]
MMIO_SIZES = {1: 0, 2: 1, 4: 2, 8: 3}
PCI_SIZES = {1: 0, 2: 1, 4: 2}

# Registers (AMD IOMMU specification 3.4); the two devices share the map.
DEVTAB_BASE, CMD_BASE, EVT_BASE, CONTROL = 0x00, 0x08, 0x10, 0x18
EXCL_BASE, EXCL_LIMIT, EFR, PPR_BASE = 0x20, 0x28, 0x30, 0x38
HW_EVT_HI, HW_EVT_LO, HW_EVT_STATUS = 0x40, 0x48, 0x50
CMD_HEAD, CMD_TAIL, EVT_HEAD, EVT_TAIL = 0x2000, 0x2008, 0x2010, 0x2018
STATUS, PPR_HEAD, PPR_TAIL = 0x2020, 0x2030, 0x2038
ALL_REGS = [DEVTAB_BASE, CMD_BASE, EVT_BASE, CONTROL, EXCL_BASE, EXCL_LIMIT,
            EFR, PPR_BASE, HW_EVT_HI, HW_EVT_LO, HW_EVT_STATUS, CMD_HEAD,
            CMD_TAIL, EVT_HEAD, EVT_TAIL, STATUS, PPR_HEAD, PPR_TAIL]

# Control bits
IOMMU_EN, EVT_LOG_EN, EVT_INT_EN, COMWAIT_INT_EN = 1, 1 << 2, 1 << 3, 1 << 4
CMD_BUF_EN, PPR_LOG_EN, PPR_INT_EN, PPR_EN, GT_EN = (1 << 12, 1 << 13,
                                                     1 << 14, 1 << 15, 1 << 16)
RUN_ALL = (IOMMU_EN | EVT_LOG_EN | CMD_BUF_EN | PPR_LOG_EN | PPR_EN | GT_EN)
INTS = EVT_INT_EN | COMWAIT_INT_EN | PPR_INT_EN

# Guest RAM layout (the fuzzer gives the machine 512 MiB)
DEVTAB = 0x00100000
CMDBUF = 0x00200000
EVTLOG = 0x00210000
PPRLOG = 0x00220000
SEM = 0x00230000
RING_LOG2 = 8                   # 256 entries, the smallest legal ring
MASK52 = (1 << 52) - 1

TARGETS = {
    # mmio: where the registers are; pci: our capability and MSI offsets
    "xen-amd-iommu-v2": {"mmio": 0xFED80000, "cap": 0x40, "msi": 0x60},
    "amd-iommu": {"mmio": 0xFED80000, "cap": None, "msi": None},
}

# Region and PCI device indexes (see above); main() changes them for
# --no-dma-master.
REGION_IOMMU = 1
REGION_REQ = 0
DEV_IOMMU = 0
DEV_REQ = 1
DEV_MCH = 2
REQ_DEVID = 0x0010
MMCFG = 0xB0000000


# --- operations -----------------------------------------------------------

def op_write(off, val, size=8, region=None):
    region = REGION_IOMMU if region is None else region
    return bytes([OP_WRITE]) + struct.pack("<BBxxIQ", MMIO_SIZES[size],
                                           region, off, val & (2 ** 64 - 1))


def op_read(off, size=8, region=None):
    region = REGION_IOMMU if region is None else region
    return bytes([OP_READ]) + struct.pack("<BBxxI", MMIO_SIZES[size], region,
                                          off)


def op_pci_write(off, val, size=4, dev=None):
    dev = DEV_IOMMU if dev is None else dev
    return bytes([OP_PCI_WRITE]) + struct.pack("<BBBxI", PCI_SIZES[size], dev,
                                               off, val)


def op_pci_read(off, size=4, dev=None):
    dev = DEV_IOMMU if dev is None else dev
    return bytes([OP_PCI_READ]) + struct.pack("<BBB", PCI_SIZES[size], dev,
                                              off)


def op_dma(data, index=0, stride=0):
    return bytes([OP_ADD_DMA_PATTERN, index, stride]) + data


def op_clear_dma():
    return bytes([OP_CLEAR_DMA_PATTERNS])


def op_clock():
    return bytes([OP_CLOCK_STEP])


def op_disable_pci():
    return bytes([OP_DISABLE_PCI])


def encode(ops):
    for op in ops:
        if SEP in op:
            raise ValueError("operation %r contains the separator" % op)
    data = SEP.join(ops)
    if decode(data) != ops:
        raise ValueError("input does not decode to its operations")
    return data


def decode(data):
    """Split an input as generic-fuzz does (empty operations are skipped)."""
    ops = []
    while data:
        i = data.find(SEP)
        op, data = (data, b"") if i < 0 else (data[:i], data[i + len(SEP):])
        if op:
            ops.append(op)
    return ops


def describe(op):
    kind = op[0] % 10
    arg = op[1:]
    name = OP_NAMES[kind]
    try:
        if kind == OP_WRITE and len(arg) >= 16:
            size, region, off, val = struct.unpack_from("<BBxxIQ", arg)
            return "write%d region %d +0x%x = 0x%x" % (
                8 * [1, 2, 4, 8][size % 4], region, off, val)
        if kind == OP_READ and len(arg) >= 8:
            size, region, off = struct.unpack_from("<BBxxI", arg)
            return "read%d region %d +0x%x" % (
                8 * [1, 2, 4, 8][size % 4], region, off)
        if kind == OP_PCI_WRITE and len(arg) >= 8:
            size, dev, off, val = struct.unpack_from("<BBBxI", arg)
            return "pci_write%d dev %d cfg 0x%02x = 0x%x" % (
                8 * [1, 2, 4][size % 3], dev, off, val)
        if kind == OP_PCI_READ and len(arg) >= 3:
            size, dev, off = struct.unpack_from("<BBB", arg)
            return "pci_read%d dev %d cfg 0x%02x" % (
                8 * [1, 2, 4][size % 3], dev, off)
        if kind == OP_ADD_DMA_PATTERN and len(arg) >= 3:
            pat = arg[2:]
            text = "dma_pattern index %d stride %d len %d: %s" % (
                arg[0] % len(pat), arg[1], len(pat), pat[:64].hex())
            if len(pat) % 16 == 0:
                cmds = [struct.unpack_from("<QQ", pat, i)
                        for i in range(0, min(len(pat), 128), 16)]
                text += "\n      as commands: " + ", ".join(
                    "%016x:%016x" % c for c in cmds)
            return text
        if kind in (OP_IN, OP_OUT, OP_READ, OP_WRITE, OP_PCI_READ,
                    OP_PCI_WRITE, OP_ADD_DMA_PATTERN):
            return "%s (too short: %d operand bytes, ignored)" % (name,
                                                                  len(arg))
    except struct.error:
        pass
    return name


# --- commands (AMD IOMMU specification 2.4) --------------------------------

def cmd(q0, q1=0):
    return struct.pack("<QQ", q0 & (2 ** 64 - 1), q1 & (2 ** 64 - 1))


def completion_wait(store=None, data=0, irq=False, flush=False):
    q0 = 1 << 60 | (1 << 1 if irq else 0) | (1 << 2 if flush else 0)
    if store is not None:
        q0 |= (store & MASK52 & ~7) | 1
    return cmd(q0, data)


def inv_devtab(devid):
    return cmd(2 << 60 | devid)


def inv_pages(domid, addr, pasid=0, s=False, pde=False, gn=False):
    return cmd(3 << 60 | domid << 32 | pasid,
               (addr & ~0xfff) | s | pde << 1 | gn << 2)


def inv_iotlb(devid, addr, pasid=0, maxpend=0, queueid=0, s=False, gn=False):
    return cmd(4 << 60 | devid | ((pasid >> 8) & 0xff) << 16 | maxpend << 24 |
               queueid << 32 | (pasid & 0xff) << 48,
               (addr & ~0xfff) | s | gn << 2)


def inv_int_table(devid):
    return cmd(5 << 60 | devid)


def prefetch(devid, addr, count=1, pasid=0, s=False, inval=False, gn=False):
    return cmd(6 << 60 | devid | count << 24 | pasid << 32,
               (addr & ~0xfff) | s | gn << 2 | inval << 4)


def complete_ppr(devid, tag, status=0, pasid=0, gn=False):
    return cmd(7 << 60 | devid | pasid << 32,
               gn << 2 | tag << 32 | status << 44)


def inv_all():
    return cmd(8 << 60)


VALID_COMMANDS = {
    "completion-wait-store": completion_wait(SEM, 0x1122334455667788),
    "completion-wait-irq": completion_wait(irq=True),
    "completion-wait-flush": completion_wait(SEM + 8, 1, irq=True,
                                             flush=True),
    "inv-devtab": inv_devtab(0x0020),
    "inv-pages": inv_pages(1, 0x40000000, s=True, pde=True),
    "inv-pages-guest": inv_pages(1, 0x7f0000000000, pasid=5, gn=True),
    "inv-iotlb": inv_iotlb(0x0020, 0x1000, maxpend=4),
    "inv-iotlb-guest": inv_iotlb(0x0020, 0x1000, pasid=0x1234, gn=True),
    "inv-int-table": inv_int_table(0x00a0),
    "prefetch": prefetch(0x0020, 0x5000, count=3),
    "prefetch-guest": prefetch(0x0020, 0x5000, pasid=7, gn=True, inval=True),
    "complete-ppr": complete_ppr(0x0020, tag=0x1ab, status=0),
    "complete-ppr-pasid": complete_ppr(0x0020, tag=0x3ff, status=0xf,
                                       pasid=0xfffff, gn=True),
    "inv-all": inv_all(),
}

ILLEGAL_COMMANDS = {
    "opcode-0": cmd(0, 0),
    "opcode-9": cmd(9 << 60 | 0x1234, 0x5678),
    "opcode-15": cmd(0xf << 60 | 0xffffffff, 0xffffffffffffffff),
    "completion-wait-rsvd": cmd(1 << 60 | 0xff << 52 | SEM | 1, 0),
    "inv-devtab-rsvd": cmd(2 << 60 | 0x00020 | 1 << 40, 1),
    "inv-pages-rsvd": cmd(3 << 60 | 1 << 25 | 1 << 50, 0x1000 | 0x8),
    "inv-iotlb-rsvd": cmd(4 << 60 | 0x20, 0x1000 | 0x2),
    "inv-int-table-rsvd": cmd(5 << 60 | 0x20, 0xdead),
    "prefetch-rsvd": cmd(6 << 60 | 0xff << 16, 0x1000),
    "complete-ppr-rsvd": cmd(7 << 60 | 1 << 20, 1 << 3 | 1 << 60),
    "inv-all-rsvd": cmd(8 << 60 | 1, 0),
    "all-ones": cmd(2 ** 64 - 1, 2 ** 64 - 1),
}


# --- programming sequences -------------------------------------------------

def ring(base, log2=RING_LOG2):
    return base | log2 << 56


def program(log2=RING_LOG2, control=RUN_ALL | INTS, extra=()):
    """Point the device at its tables and rings in RAM and turn it on."""
    ops = [
        op_write(CONTROL, 0),
        op_write(DEVTAB_BASE, DEVTAB | 1),
        op_write(CMD_BASE, ring(CMDBUF, log2)),
        op_write(EVT_BASE, ring(EVTLOG, log2)),
        op_write(PPR_BASE, ring(PPRLOG, log2)),
        op_write(CMD_HEAD, 0), op_write(CMD_TAIL, 0),
        op_write(EVT_HEAD, 0), op_write(EVT_TAIL, 0),
        op_write(PPR_HEAD, 0), op_write(PPR_TAIL, 0),
    ]
    ops += list(extra)
    ops.append(op_write(CONTROL, control))
    ops.append(op_read(STATUS))
    return ops


def doorbell(n):
    """Make n queued commands visible; reports what the device did."""
    return [op_write(CMD_TAIL, (n << 4) & 0x7fff0),
            op_read(CMD_HEAD), op_read(STATUS), op_read(EVT_TAIL)]


def submit(commands, start=0):
    """One pattern holding the commands, then the doorbell past them."""
    return [op_dma(b"".join(commands))] + doorbell(start + len(commands))


def msi_on(t, address=0xFEE00000, data=0x0030):
    """Enable the one MSI vector (64-bit capability at t['msi'])."""
    m = t["msi"]
    if m is None:
        return []
    return [op_pci_write(m + 4, address & 0xffffffff),
            op_pci_write(m + 8, address >> 32),
            op_pci_write(m + 12, data, 2),
            op_pci_write(m + 2, 1, 2),
            op_pci_read(m + 2, 2)]


# --- DMA through the IOMMU: the requester as master, tables from patterns --

PT_ROOT = 0x00300000
PAGE = 0x00500000
MASK_ADDR = ((1 << 52) - 1) & ~0xfff


def dte(v=True, tv=True, mode=4, root=PT_ROOT, ir=True, iw=True, domid=1,
        se=False, sa=False, ppr=False, gv=False, glx=0, gcr3=0, gpm=0):
    """A device table entry (2.2.2), 32 bytes; gpm 1: 5-level guest"""
    q0 = (v | tv << 1 | mode << 9 | (root & MASK_ADDR) | ppr << 52 |
          gv << 55 | glx << 56 | ((gcr3 >> 12) & 7) << 58 | ir << 61 |
          iw << 62)
    q1 = (domid | ((gcr3 >> 15) & 0xffff) << 16 | se << 33 | sa << 34 |
          ((gcr3 >> 31) & 0x1fffff) << 43)
    return struct.pack("<QQQQ", q0, q1, gpm << 54, 0)


def pte(addr, next_level, pr=True, ir=True, iw=True):
    """A host (v1) page table entry (2.2.3)."""
    return struct.pack("<Q", pr | next_level << 9 | (addr & MASK_ADDR) |
                       ir << 61 | iw << 62)


def walk(levels, leaf=PAGE, **kw):
    """DTE and PTEs for a full walk of `levels` levels to a 4 KiB page."""
    out = [dte(mode=levels, **kw)]
    for lvl in range(levels, 1, -1):
        out.append(pte(PT_ROOT + 0x1000 * (levels - lvl + 1), lvl - 1))
    out.append(pte(leaf, 0))
    return out


def dma(iova, cnt=8, to_memory=False, pasid=None, user=False, no_pri=False,
        region=None):
    """The requester reads (or writes) cnt bytes at iova, untagged through
    the bus-master address space or, with a PASID, through the IOMMU's
    translation (then a fault may become a page request)."""
    r = dict(region=REGION_REQ if region is None else region)
    flags = (1 if pasid is not None else 0) | (2 if user else 0) | \
        (4 if no_pri else 0)
    return [op_write(0x00, pasid or 0, 4, **r), op_write(0x04, flags, 4, **r),
            op_write(0x08, iova, 8, **r), op_write(0x10, cnt, 4, **r),
            op_write(0x14, 2 if to_memory else 1, 4, **r),
            op_read(0x18, 4, **r)]


HPET = 0xFED00000


def mmcfg_on():
    """Enable q35's MMCONFIG window, then the requester's PASID and PRI
    (extended capabilities at 120h and 140h). Regions shift by one."""
    cfg = (REQ_DEVID << 12)
    return [op_pci_write(0x64, 0, dev=DEV_MCH),
            op_pci_write(0x60, MMCFG | 1, dev=DEV_MCH),
            op_write(cfg + 0x126, 1, 2, region=0),      # PASID enable
            op_write(cfg + 0x144, 1, 2, region=0),      # PRI enable
            op_read(cfg + 0x120, 4, region=0)]


def translating(control=IOMMU_EN | EVT_LOG_EN | CMD_BUF_EN | EVT_INT_EN):
    """The IOMMU on, no pattern left over (tables come next)."""
    return program(control=control) + [op_clear_dma()]


def patterns(chunks):
    return [op_dma(c) for c in chunks]


def hpet_poke(reg, val):
    """The requester writes 8 bytes to an HPET register (untagged DMA)."""
    return [op_write(0x800, val, 8, region=REGION_REQ)] + dma(
        HPET + reg, to_memory=True)


def dma_seeds():
    out = {}
    data = [b"DATA0123"]
    iova = 0x12345000
    out["dma-iommu-off"] = [op_clear_dma()] + patterns(data) + dma(iova)
    # The requester programs the HPET (F5-F7): legacy mode silences the
    # PIT, leaving no timer; then a one-shot comparator 2^58 ticks ahead.
    out["hpet-legacy-no-timer"] = hpet_poke(0x10, 3) + [op_clock()] * 2
    out["hpet-far-one-shot"] = hpet_poke(0x10, 3) + hpet_poke(
        0x100, 0x4) + hpet_poke(0x108, 1 << 58) + [op_clock()] * 4
    out["dma-dte-not-valid"] = translating() + patterns(
        [dte(v=False)] + data) + dma(iova)
    out["dma-dte-no-translation"] = translating() + patterns(
        [dte(tv=False)] + data) + dma(iova)
    for levels in (4, 5, 6):
        out["dma-host-%dlevel-read" % levels] = translating() + patterns(
            walk(levels) + data) + dma(iova) + [op_read(EVT_TAIL)]
    out["dma-host-4level-write"] = translating() + patterns(
        walk(4)) + dma(iova, to_memory=True) + [op_read(EVT_TAIL)]
    out["dma-host-mode0"] = translating() + patterns(
        [dte(mode=0)] + data) + dma(iova) + dma(iova, to_memory=True)
    out["dma-host-mode0-no-write"] = translating() + patterns(
        [dte(mode=0, iw=False)]) + dma(iova, to_memory=True) + [
        op_read(EVT_TAIL), op_read(STATUS)]
    out["dma-host-2m-page"] = translating() + patterns(
        [dte(mode=3), pte(PT_ROOT + 0x1000, 2), pte(0x00400000, 0)] +
        data) + dma(0x12345678)
    out["dma-host-1g-page"] = translating() + patterns(
        [dte(mode=4), pte(PT_ROOT + 0x1000, 3), pte(0x40000000, 0)] +
        data) + dma(0x12345678)
    # next level 7: the page size is in the address (here 64 KiB at L2)
    out["dma-host-sized-page"] = translating() + patterns(
        [dte(mode=2), pte(0x00407000, 7)] + data) + dma(0x12340)
    out["dma-host-skip-level"] = translating() + patterns(
        [dte(mode=4), pte(PT_ROOT + 0x1000, 2), pte(PT_ROOT + 0x2000, 1),
         pte(PAGE, 0)] + data) + dma(0x345000)
    out["dma-host-next-up"] = translating() + patterns(
        [dte(mode=3), pte(PT_ROOT + 0x1000, 3)]) + dma(iova)
    out["dma-fault-not-present"] = translating() + patterns(
        [dte(mode=4), pte(PT_ROOT + 0x1000, 3, pr=False)]) + dma(
        iova) + [op_read(EVT_TAIL), op_read(STATUS)]
    out["dma-fault-write-protect"] = translating() + patterns(
        [dte(mode=1), pte(PAGE, 0, iw=False)]) + dma(
        iova & 0x1fffff, to_memory=True) + [op_read(EVT_TAIL)]
    out["dma-fault-suppressed"] = translating() + patterns(
        [dte(mode=4, sa=True, se=True), pte(0, 3, pr=False)]) + dma(iova)
    out["dma-fault-too-high"] = translating() + patterns(
        [dte(mode=4)]) + dma(0xfffffffffffff000) + [op_read(EVT_TAIL)]
    out["dma-bad-dte-mode7"] = translating() + patterns(
        [dte(mode=7)]) + dma(iova) + [op_read(EVT_TAIL)]
    out["dma-devtab-not-ram"] = program(extra=[
        op_write(DEVTAB_BASE, 0x7ffff000)], control=IOMMU_EN | EVT_LOG_EN) + [
        op_clear_dma()] + dma(iova) + [op_read(EVT_TAIL)]
    out["dma-devtab-too-small"] = program(extra=[
        op_write(DEVTAB_BASE, DEVTAB)], control=IOMMU_EN | EVT_LOG_EN) + [
        op_clear_dma()] + patterns([dte()]) + dma(iova)
    out["dma-pt-in-own-mmio"] = translating() + patterns(
        [dte(mode=4, root=TARGETS["xen-amd-iommu-v2"]["mmio"])]) + dma(
        iova) + [op_read(EVT_TAIL)]
    out["dma-pt-not-ram"] = translating() + patterns(
        [dte(mode=4), pte(0x7ffff000, 3)]) + dma(iova)
    out["dma-msi-window"] = translating() + patterns(
        [dte()]) + dma(0xfee00000, cnt=4, to_memory=True)
    out["dma-repeat-stride"] = translating() + patterns(walk(4) + data) + [
        op_write(0x24, 4, 4, region=REGION_REQ),
        op_write(0x28, 0x1000, 4, region=REGION_REQ)] + dma(iova)
    out["dma-guest-pasid-dte"] = translating(
        control=IOMMU_EN | EVT_LOG_EN | GT_EN | PPR_EN) + patterns(
        [dte(mode=4, gv=True, glx=1, gcr3=0x00600000, ppr=True)] +
        walk(4)[1:] + data) + dma(iova)
    # Translate, hit the IOTLB, invalidate by command, walk again.
    tr = walk(4) + data
    out["dma-iotlb-invalidate"] = translating() + patterns(tr) + dma(
        iova) + [op_clear_dma()] + patterns(data) + dma(iova) + [
        op_clear_dma()] + submit([inv_pages(1, iova)]) + [
        op_clear_dma()] + patterns(tr) + dma(iova) + [
        op_clear_dma()] + submit([inv_pages(1, 0x7ffffffffffff000, s=True),
                                  inv_devtab(REQ_DEVID), inv_all()],
                                 start=1) + [op_clear_dma()] + patterns(
        tr) + dma(iova)
    out["dma-iommu-toggle"] = translating() + patterns(tr) + dma(
        iova) + [op_write(CONTROL, EVT_LOG_EN), op_clear_dma()] + patterns(
        data) + dma(iova) + [op_write(CONTROL, IOMMU_EN | EVT_LOG_EN),
                                 op_clear_dma()] + patterns(tr) + dma(
        iova)
    out["dma-devtab-move"] = translating() + patterns(tr) + dma(iova) + [
        op_write(DEVTAB_BASE, DEVTAB + 0x10000 | 0x1ff)] + dma(iova)
    out["dma-event-log-full"] = program(
        extra=[op_write(EVT_HEAD, 0x10)],
        control=IOMMU_EN | EVT_LOG_EN | EVT_INT_EN) + [op_clear_dma()] + \
        patterns([dte(mode=4), pte(0, 3, pr=False)]) + dma(iova) + \
        dma(iova + 0x1000) + [op_read(STATUS)]
    return out


def gpte(addr, ps=False, rw=True, us=True, p=True):
    """A guest (x86-64) page table entry."""
    return struct.pack("<Q", p | rw << 1 | us << 2 | ps << 7 |
                       (addr & MASK_ADDR))


def gcr3e(addr, v=True):
    return struct.pack("<Q", v | (addr & MASK_ADDR))


def pasid_seeds():
    """PASID-tagged DMA (guest translation, nested) and page requests:
    xen-amd-iommu-v2 only, through the requester's iommu link."""
    global REGION_IOMMU, REGION_REQ
    saved = REGION_IOMMU, REGION_REQ
    REGION_IOMMU, REGION_REQ = 2, 1         # MMCONFIG is region 0 now
    try:
        out = {}
        gt = (IOMMU_EN | EVT_LOG_EN | EVT_INT_EN | CMD_BUF_EN | PPR_LOG_EN |
              PPR_INT_EN | PPR_EN | GT_EN | COMWAIT_INT_EN)
        data = [b"GUESTDAT"]
        va = 0x7f1234567000
        gcr3 = 0x00600000
        guest = [gcr3e(0x601000), gpte(0x602000), gpte(0x603000),
                 gpte(0x604000), gpte(0x605000)]

        def setup(control=gt):
            return mmcfg_on() + program(control=control) + [op_clear_dma()]

        def d(**kw):
            return dte(mode=0, gv=True, gcr3=gcr3, ppr=True, **kw)

        out["pasid-guest-4k-read"] = setup() + patterns(
            [d()] + guest + data) + dma(va, pasid=5, user=True)
        out["pasid-guest-4k-write"] = setup() + patterns(
            [d()] + guest) + dma(va, pasid=5, to_memory=True)
        out["pasid-guest-2m"] = setup() + patterns(
            [d()] + guest[:3] + [gpte(0x800000, ps=True)] + data) + dma(
            va, pasid=5)
        out["pasid-guest-1g"] = setup() + patterns(
            [d()] + guest[:2] + [gpte(0x40000000, ps=True)] + data) + dma(
            va, pasid=5)
        # 5-level guest tables (the fuzzed device offers guest-levels=5)
        out["pasid-guest-5level"] = setup() + patterns(
            [d(gpm=1)] + guest + [gpte(0x607000)] + data) + dma(
            0x00ab001234567000, pasid=5, user=True)
        out["pasid-guest-noncanonical"] = setup() + patterns(
            [d()] + guest + data) + dma(0x0000801234567000, pasid=5,
                                        no_pri=True) + [op_read(EVT_TAIL)]
        out["pasid-gcr3-2level"] = setup() + patterns(
            [d(glx=1), gcr3e(0x606000)] + guest + data) + dma(
            va, pasid=0x12345)
        out["pasid-too-wide"] = setup() + patterns([d()]) + dma(
            va, pasid=0xfffff) + [op_read(EVT_TAIL)]
        out["pasid-read-only-write"] = setup() + patterns(
            [d()] + guest[:4] + [gpte(0x605000, rw=False)]) + dma(
            va, pasid=5, to_memory=True, no_pri=True) + [op_read(EVT_TAIL)]
        out["pasid-supervisor-page"] = setup() + patterns(
            [d()] + guest[:4] + [gpte(0x605000, us=False)]) + dma(
            va, pasid=5, user=True, no_pri=True) + [op_read(EVT_TAIL)]
        # Nested: every guest table access goes through a 1-level host table
        host = pte(0x1000, 0)
        out["pasid-nested-host"] = setup() + patterns(
            [dte(mode=1, gv=True, gcr3=gcr3), gcr3e(0x1000), host,
             gpte(0x2000), host, gpte(0x3000), host, gpte(0x4000), host,
             gpte(0x5000), host] + data) + dma(0x5000, pasid=3)
        out["pasid-gt-off"] = setup(control=gt & ~GT_EN) + patterns(
            [d()]) + dma(va, pasid=5) + [op_read(EVT_TAIL)]
        # Faults as page requests, and the guest's completion
        out["ppr-fault-to-page-request"] = setup() + msi_on(
            TARGETS["xen-amd-iommu-v2"]) + patterns(
            [d(), gcr3e(0x601000), gpte(0, p=False)]) + dma(va, pasid=5) + [
            op_read(PPR_TAIL), op_read(STATUS), op_read(0x1c, 4, region=1),
            op_clear_dma()] + submit([complete_ppr(REQ_DEVID, tag=1)]) + [
            op_read(0x18, 4, region=1), op_read(0x1c, 4, region=1)]
        out["ppr-complete-failure"] = setup() + patterns(
            [d(), gcr3e(0x601000), gpte(0, p=False)]) + dma(va, pasid=5) + [
            op_clear_dma()] + submit([complete_ppr(REQ_DEVID, tag=1,
                                                   status=0xf, pasid=5,
                                                   gn=True)]) + [
            op_read(0x18, 4, region=1)]
        out["pri-page-request"] = setup() + [
            op_write(0x00, 9, 4, region=1), op_write(0x04, 1, 4, region=1),
            op_write(0x08, va, 8, region=1),
            op_write(0x14, 3, 4, region=1), op_read(0x18, 4, region=1),
            op_read(PPR_TAIL)]
        out["ppr-log-full"] = mmcfg_on() + program(
            extra=[op_write(PPR_HEAD, 0x20)], control=gt) + [
            op_write(0x14, 3, 4, region=1)] * 3 + [op_read(STATUS),
                                                   op_write(STATUS, 0x60)]
        out["ppr-off"] = setup(control=gt & ~PPR_EN) + [
            op_write(0x14, 3, 4, region=1), op_read(0x18, 4, region=1)]
        return out
    finally:
        REGION_IOMMU, REGION_REQ = saved


def seeds(target, dma_master=True):
    t = TARGETS[target]
    bar = t["mmio"]
    out = {}

    out["registers-read-all"] = [op_read(r) for r in ALL_REGS] + [
        op_read(r + 4, 4) for r in ALL_REGS] + [op_read(STATUS, 1)]
    out["registers-write-all"] = [op_write(r, 2 ** 64 - 1) for r in ALL_REGS] \
        + [op_read(r) for r in ALL_REGS] \
        + [op_write(r, 0) for r in ALL_REGS]
    out["registers-reserved"] = [
        op_write(0x58, 1), op_read(0x58), op_write(0x1000, 1, 4),
        op_read(0x1ff8), op_write(0x2040, 0xff), op_read(0x2040),
        op_write(0x3ff8, 2 ** 64 - 1), op_read(0x3fff, 1)]
    out["registers-subword"] = program() + [
        op_dma(inv_all() + completion_wait(SEM, 7)),
        op_write(CMD_TAIL, 0x20, 1), op_read(CMD_HEAD, 1),
        op_write(CMD_TAIL + 1, 0x01, 1), op_read(CMD_HEAD, 2),
        op_write(CMD_TAIL, 0x30, 2), op_write(CMD_TAIL, 0x40, 4),
        op_write(CONTROL + 1, 0x10, 1), op_read(CONTROL + 4, 4),
        op_write(STATUS, 0xff, 1), op_read(STATUS, 2)]
    out["program-only"] = program() + [op_read(r) for r in ALL_REGS]
    out["program-no-ppr"] = program(control=IOMMU_EN | EVT_LOG_EN |
                                    CMD_BUF_EN) + doorbell(0)

    # Every valid command, alone, then all together.
    for name, c in VALID_COMMANDS.items():
        out["cmd-" + name] = program() + msi_on(t) + submit([c]) + [
            op_read(STATUS), op_write(STATUS, 0xff), op_clock()]
    batch = list(VALID_COMMANDS.values())
    out["cmd-batch-all"] = program() + msi_on(t) + submit(batch) + [
        op_read(STATUS), op_read(EVT_TAIL)]
    # More than one burst (64) and a ring-sized drain from a short pattern.
    out["cmd-batch-200"] = program() + [
        op_dma(inv_pages(3, 0x1000) + completion_wait(SEM, 5))] + doorbell(
        200)
    out["cmd-batch-full-ring"] = program() + [
        op_dma(inv_devtab(1), index=0, stride=1)] + doorbell(255)
    # Several doorbells, each fetching the next pattern.
    out["cmd-sequence"] = program() + [
        op_dma(inv_devtab(2)), op_dma(inv_pages(2, 0x2000)),
        op_dma(completion_wait(SEM, 9, irq=True))] + doorbell(1) + \
        doorbell(2) + doorbell(3) + [op_clock()]
    # Wrap-around: head parked at the last slot before enabling.
    out["cmd-wrap"] = program(extra=[op_write(CMD_HEAD, 0xff0),
                                     op_write(CMD_TAIL, 0xff0)]) + [
        op_dma(inv_all() + inv_devtab(3) + inv_int_table(4))] + doorbell(2)

    # Illegal commands, and a restart after one.
    for name, c in ILLEGAL_COMMANDS.items():
        out["illegal-" + name] = program() + submit([c]) + [
            op_read(EVT_TAIL), op_read(STATUS)]
    out["illegal-then-restart"] = program() + [
        op_dma(ILLEGAL_COMMANDS["opcode-9"]),
        op_dma(completion_wait(SEM, 1) + inv_all())] + doorbell(2) + [
        op_write(CONTROL, RUN_ALL & ~CMD_BUF_EN),
        op_write(CONTROL, RUN_ALL | INTS), op_read(CMD_HEAD),
        op_read(STATUS)]
    out["illegal-features-off"] = program() + submit([
        prefetch(1, 0x1000, gn=True), complete_ppr(1, 1), inv_all()])

    # Command hardware errors: the engine's memory must be RAM.
    for name, addr in [("own-mmio", bar + CMD_TAIL),
                       ("own-control", bar + CONTROL),
                       ("apic", 0xFEE00000), ("hpet", 0xFED00000),
                       ("above-ram", 0x40000000),
                       ("high", 0x000ffffffffff000),
                       ("bios-rom", 0xFFFF0000)]:
        out["cw-store-" + name] = program() + submit(
            [completion_wait(addr, RUN_ALL)]) + [op_read(STATUS)]
    out["cmdbuf-in-own-mmio"] = program(extra=[
        op_write(CMD_BASE, ring(bar))]) + doorbell(1)
    out["cmdbuf-above-ram"] = program(extra=[
        op_write(CMD_BASE, ring(0x7ffff000))]) + [
        op_dma(inv_all())] + doorbell(4)
    out["evtlog-in-own-mmio"] = program(extra=[
        op_write(EVT_BASE, ring(bar))]) + submit([ILLEGAL_COMMANDS["opcode-0"]])

    # Ring pointers and lengths out of range.
    out["cmd-tail-out-of-range"] = program() + [
        op_dma(inv_all()), op_write(CMD_TAIL, 0x7fff0), op_read(STATUS)]
    out["cmd-len-reserved"] = program(log2=7) + [op_dma(inv_all())] + \
        doorbell(1)
    out["cmd-len-max"] = program(log2=15) + [op_dma(inv_all())] + \
        doorbell(32767)
    out["evt-tail-out-of-range"] = program(extra=[
        op_write(EVT_TAIL, 0x7fff0)]) + submit([ILLEGAL_COMMANDS["opcode-0"]])
    out["evt-log-full"] = program(extra=[op_write(EVT_HEAD, 0x10)]) + submit(
        [ILLEGAL_COMMANDS["opcode-15"]]) + [
        op_read(STATUS), op_write(STATUS, 1), op_read(STATUS)]
    out["evt-log-reserved-len"] = program(extra=[
        op_write(EVT_BASE, ring(EVTLOG, 3))]) + submit(
        [ILLEGAL_COMMANDS["opcode-0"]])

    # Registers a running ring owns, and write-1-to-clear status.
    out["frozen-while-running"] = program() + [
        op_write(CMD_BASE, ring(0x300000)), op_write(CMD_HEAD, 0x100),
        op_write(EVT_BASE, ring(0x310000)), op_write(EVT_TAIL, 0x100),
        op_write(PPR_BASE, ring(0x320000)), op_write(PPR_TAIL, 0x100)] + \
        [op_read(r) for r in (CMD_BASE, CMD_HEAD, EVT_BASE, EVT_TAIL,
                              PPR_BASE, PPR_TAIL)]
    out["status-w1c"] = program() + submit(
        [completion_wait(irq=True), ILLEGAL_COMMANDS["opcode-0"]]) + [
        op_read(STATUS), op_write(STATUS, 0x7), op_write(STATUS, 0x60),
        op_read(STATUS)]
    out["control-toggle"] = program() + [
        op_write(CONTROL, IOMMU_EN), op_write(CONTROL, RUN_ALL | INTS),
        op_write(CONTROL, 0), op_write(CONTROL, 2 ** 64 - 1),
        op_read(CONTROL), op_read(STATUS)]
    out["exclusion-hw-events"] = [
        op_write(EXCL_BASE, 0x400000 | 3), op_write(EXCL_LIMIT, 0x4fffff),
        op_write(HW_EVT_HI, 0x1234), op_write(HW_EVT_LO, 0x5678),
        op_write(HW_EVT_STATUS, 3), op_read(HW_EVT_STATUS),
        op_write(HW_EVT_STATUS, 0), op_read(EXCL_BASE)]

    # PCI function: capability, MSI, decode.
    cap = t["cap"]
    out["pci-config-read"] = [op_pci_read(o) for o in range(0, 0x100, 4)]
    if cap is not None:
        out["pci-cap-decode-off"] = [
            op_pci_read(cap + 4), op_pci_write(cap + 4, 0), op_read(EFR),
            op_write(CONTROL, 1), op_pci_write(cap + 4, 1),
            op_read(EFR), op_read(CONTROL)]
        # The register window follows the capability's base address,
        # which is locked while Enable is set (3.2.1.2).
        out["pci-cap-base-move"] = [
            op_pci_write(cap + 4, 0), op_pci_write(cap + 8, 0),
            op_pci_write(cap + 4, 0xfed90001), op_pci_read(cap + 4),
            op_read(EFR), op_write(CONTROL, 1), op_read(CONTROL)]
        out["pci-cap-base-locked"] = [
            op_pci_write(cap + 4, 0xfed90001), op_pci_write(cap + 8, 1),
            op_pci_read(cap + 4), op_pci_read(cap + 8), op_read(EFR)]
        out["pci-cap-base-high"] = [
            op_pci_write(cap + 4, 0), op_pci_write(cap + 8, 0xffffffff),
            op_pci_write(cap + 4, 0xffffffff), op_pci_read(cap + 8),
            op_read(EFR)]
        # Registers over the RAM of the command buffer: now region 0.
        r0 = dict(region=0)
        out["pci-cap-base-over-ram"] = [
            op_pci_write(cap + 4, 0), op_pci_write(cap + 4, CMDBUF | 1),
            op_write(CMD_BASE, ring(CMDBUF), **r0),
            op_write(EVT_BASE, ring(EVTLOG), **r0),
            op_write(CONTROL, IOMMU_EN | CMD_BUF_EN | EVT_LOG_EN, **r0),
            op_dma(inv_all()), op_write(CMD_TAIL, 0x10, **r0),
            op_read(STATUS, **r0), op_read(EVT_TAIL, **r0)]
        out["pci-memory-off"] = [op_pci_write(0x04, 0, 2), op_read(EFR),
                                 op_pci_write(0x04, 6, 2), op_read(EFR)]
        # The MSI write lands on the device's own doorbell / control.
        out["msi-to-own-mmio"] = program() + msi_on(
            t, bar + CMD_TAIL, 0x20) + submit(
            [completion_wait(irq=True), inv_all()]) + [op_read(STATUS)]
        out["msi-to-own-control"] = program() + msi_on(
            t, bar + CONTROL, 0) + submit(
            [ILLEGAL_COMMANDS["opcode-0"]]) + [op_read(STATUS)]
        out["msi-to-ram-ring"] = program() + msi_on(
            t, CMDBUF + 0x10, 0x80000000) + submit(
            [completion_wait(irq=True), inv_all()])
        out["msi-event-irq"] = program() + msi_on(t) + submit(
            [ILLEGAL_COMMANDS["opcode-0"]]) + [op_read(STATUS)]
    out["disable-pci-then-cmd"] = program() + [op_disable_pci()] + submit(
        [inv_all()])
    out["clock-steps"] = program() + submit([completion_wait(irq=True)]) + [
        op_clock(), op_clock(), op_clear_dma(), op_read(STATUS)]
    if dma_master:
        out.update(dma_seeds())
        if target == "xen-amd-iommu-v2":
            out.update(pasid_seeds())
    return out


def dictionary():
    """libFuzzer dictionary: the separator and the register offsets."""
    words = [SEP]
    for r in ALL_REGS:
        words.append(struct.pack("<I", r))
    for v in (RUN_ALL | INTS, CMD_BUF_EN | IOMMU_EN, ring(CMDBUF)):
        words.append(struct.pack("<Q", v))
    lines = []
    for i, w in enumerate(words):
        lines.append('kw%d="%s"' % (i, "".join("\\x%02x" % b for b in w)))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", choices=sorted(TARGETS),
                    default="xen-amd-iommu-v2")
    ap.add_argument("--out", help="folder for the seeds (created)")
    ap.add_argument("--dict", help="also write a libFuzzer dictionary here")
    ap.add_argument("--no-dma-master", action="store_true",
                    help="for a setup without the requester: the IOMMU is "
                    "region 0")
    ap.add_argument("--decode", nargs="+", metavar="FILE",
                    help="print the operations of generic-fuzz inputs")
    args = ap.parse_args()

    if args.decode:
        for path in args.decode:
            with open(path, "rb") as f:
                data = f.read()
            print("%s: %d bytes" % (path, len(data)))
            for op in decode(data):
                print("  " + describe(op))
        return 0
    if not args.out:
        ap.error("--out or --decode is needed")

    global REGION_IOMMU, REGION_REQ
    if args.no_dma_master:
        REGION_IOMMU, REGION_REQ = 0, None
    os.makedirs(args.out, exist_ok=True)
    made = seeds(args.target, dma_master=not args.no_dma_master)
    for name, ops in sorted(made.items()):
        data = encode(ops)
        digest = hashlib.sha1(data).hexdigest()[:8]
        path = os.path.join(args.out, "seed-%s-%s" % (name, digest))
        if not os.path.exists(path):
            # Drop older versions of the same seed.
            for old in os.listdir(args.out):
                if old.startswith("seed-%s-" % name) and \
                        len(old) == len(name) + 14:
                    os.unlink(os.path.join(args.out, old))
            with open(path, "wb") as f:
                f.write(data)
    if args.dict:
        with open(args.dict, "w") as f:
            f.write(dictionary())
    print("%d seeds for %s in %s" % (len(made), args.target, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
