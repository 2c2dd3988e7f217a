#!/usr/bin/env python3
"""Show xen-amd-iommu-v2 alive in a machine under TCG after firmware ran.

SeaBIOS enumerates PCI; the device's registers must still answer where
its capability says, unmoved. The script reads them the way a guest driver
would (through guest-physical memory) and through QMP, and prints what it
finds. Exit status 0 only if the registers answer at that address.
"""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtestlib import Qemu  # noqa: E402

EFR_BITS = [(0, "PreF"), (1, "PPR"), (2, "XT"), (3, "NX"), (4, "GT"),
            (6, "IA"), (7, "GA"), (8, "HE"), (9, "PC"), (48, "GIO"),
            (50, "EPH")]


def decode_efr(efr):
    names = [n for bit, n in EFR_BITS if efr >> bit & 1]
    return "%s PASmax=%d HATS=%d GATS=%d GLX=%d" % (
        " ".join(names), efr >> 32 & 0x1f, efr >> 10 & 3, efr >> 12 & 3,
        efr >> 14 & 3)


def wait_for_firmware(q, timeout=60):
    """Until SeaBIOS has enumerated PCI (the device's command register)."""
    end = time.time() + timeout
    while time.time() < end:
        if "I/O at" in q.hmp("info pci") or "memory at" in q.hmp("info pci"):
            time.sleep(1)
            return q.qmp("query-xen-amd-iommu-v2")[0]
        time.sleep(0.2)
    raise SystemExit("the firmware never enumerated PCI")


def read_q(q, addr):
    out = q.hmp("xp /1gx 0x%x" % addr)
    m = re.search(r":\s+0x([0-9a-f]+)", out)
    if not m:
        raise SystemExit("cannot read guest memory: %r" % out)
    return int(m.group(1), 16)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--machine", default="q35")
    a = ap.parse_args()
    args = ["-M", a.machine, "-accel", "tcg", "-m", "256M",
            "-device", "xen-amd-iommu-v2,id=iommu0"]
    print("$ qemu-system-x86_64 " + " ".join(args))
    q = Qemu(a.qemu, args, qtest=False)
    try:
        info = wait_for_firmware(q)
        pci = [line for line in q.hmp("info pci").splitlines()]
        for i, line in enumerate(pci):
            if "1022:" in line and "IOMMU" in "".join(pci[i - 1:i + 1]):
                pass
        print("\n-- info pci (the device) --")
        block, keep = [], False
        for line in pci:
            if line.strip().startswith("Bus"):
                keep = "1022" in line or "IOMMU" in line
                if keep:
                    block.append(line)
                continue
            if keep:
                block.append(line)
        print("\n".join(block) or "\n".join(pci))
        print("\n-- query-xen-amd-iommu-v2 --")
        for key in ("path", "base", "decode", "engine", "efr", "control",
                    "status"):
            val = info[key]
            print("  %-8s %s" % (key, hex(val) if isinstance(val, int) and
                                 not isinstance(val, bool) else val))
        efr = read_q(q, info["base"] + 0x30)
        print("\n-- registers read from guest-physical 0x%x --" % info["base"])
        print("  EFR      0x%016x  %s" % (efr, decode_efr(efr)))
        print("  CONTROL  0x%016x" % read_q(q, info["base"] + 0x18))
        print("  STATUS   0x%016x" % read_q(q, info["base"] + 0x2020))
        if efr != info["efr"] or efr == 0 or not info["decode"]:
            raise SystemExit("registers do not answer at their base")
        print("\nxen-amd-iommu-v2 is alive at 0x%x" % info["base"])
    finally:
        q.quit()


if __name__ == "__main__":
    main()
