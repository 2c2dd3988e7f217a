#!/usr/bin/env python3
"""Guest end-to-end test: Debian's Linux drives xen-amd-iommu-v2.

For each kernel (6.1 and 6.12 by default) a q35 guest under TCG boots
with the device and a virtio-blk disk behind it (iommu_platform=on), and
the test asserts what the guest and the device report:

- Linux found the IOMMU at the address the device decodes at;
- its "Extended features" line carries exactly the EFR the device has;
- on 6.1, "AMD IOMMUv2 loaded and initialized";
- no completion-wait timeout, no IO_PAGE_FAULT, no other event logged;
- the disk, read through translated DMA, matches the host file;
- the guest turned on what the device offers (IommuEn, PPRLogEn, PPREn,
  GTEn), read back from the control register inside the guest.

6.1 boots twice more: on the pc machine (the IVRS on i440fx), and with
the disk on an iothread, whose DMA is translated outside the main loop.

Prints one PASS/FAIL line per assertion; exit status 1 on any failure.
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402
from qtestlib import Qemu  # noqa: E402

EFR_NAMES = [(0, "PreF"), (1, "PPR"), (2, "X2APIC"), (3, "NX"), (4, "GT"),
             (6, "IA"), (7, "GA"), (8, "HE"), (9, "PC")]
BAD_LINES = re.compile(r"Completion-Wait loop timed out|IO_PAGE_FAULT|"
                       r"Event logged|ILLEGAL_|Command buffer timeout|"
                       r"EVENT_LOG_OVERFLOW|PPR log overflow", re.I)


def device_facts(qemu):
    """The device's own EFR and register base, asked over QMP."""
    q = Qemu(qemu, ["-M", "q35", "-device", "xen-amd-iommu-v2"])
    try:
        info = q.qmp("query-xen-amd-iommu-v2")[0]
    finally:
        q.quit()
    return info["efr"], info["base"]


class Checks:
    def __init__(self, label):
        self.label = label
        self.passed = self.failed = 0

    def check(self, ok, what, detail=""):
        print("%s: %s: %s%s" % ("PASS" if ok else "FAIL", self.label, what,
                                "" if ok or not detail else " (%s)" % detail))
        if ok:
            self.passed += 1
        else:
            self.failed += 1


IOTHREAD_ARGS = ("-object", "iothread,id=io0",
                 "-global", "virtio-blk-pci.iothread=io0")


def check_kernel(qemu, kernel, efr, base, machine="q35", label="",
                 iothread=False):
    c = Checks("guest %s%s%s%s" % (kernel, "" if machine == "q35"
                                   else " on " + machine,
                                   ", disk on an iothread" if iothread else "",
                                   " (%s)" % label if label else ""))
    # The device logs what it takes for guest mistakes; Linux makes none.
    extra = ("-d", "guest_errors")
    extra += () if machine == "q35" else ("-M", machine)
    r = guest.boot(qemu=qemu, kernel=kernel, iommu="xen-amd-iommu-v2",
                   timeout=600 if label else 240,
                   extra_args=extra + (IOTHREAD_ARGS if iothread else ()))
    dmesg = r["iommu_dmesg"]
    c.check(r["reached_done"], "guest ran its report",
            "timed out" if r["timed_out"] else "; ".join(r["console_tail"]))
    c.check(r["checksum"]["match"],
            "virtio-blk data read through the IOMMU equals the host file",
            "%s vs %s" % (r["checksum"]["guest"], r["checksum"]["host"]))
    c.check(r["found_iommu"], "Linux found the IOMMU")
    c.check(r["control"]["base"] is not None and
            int(r["control"]["base"], 16) == base,
            "the IOMMU Linux uses sits at the device's base 0x%x" % base,
            "guest says %s" % r["control"]["base"])
    feat = [ln for ln in dmesg if "Extended features" in ln]
    m = re.search(r"Extended features \((0x[0-9a-f]+)[^)]*\):(.*)",
                  feat[0]) if feat else None
    want = [n for bit, n in EFR_NAMES if efr >> bit & 1]
    c.check(m is not None and int(m.group(1), 16) == efr and
            m.group(2).split() == want,
            "extended features line is exactly the EFR (0x%x: %s)" %
            (efr, " ".join(want)), feat[0] if feat else "no such line")
    if kernel == "6.1":
        c.check(r["iommuv2_loaded"], "AMD IOMMUv2 loaded and initialized")
    bad = [ln for ln in dmesg if BAD_LINES.search(ln)]
    c.check(not bad, "no completion timeout, fault or event in the log",
            "; ".join(bad[:3]))
    errs = r["device_guest_errors"]
    c.check(not errs, "the device logged no guest error (-d guest_errors)",
            "; ".join(errs[:3]))
    bits = r["control"]["key_bits"]
    for name in ("IommuEn", "PPRLogEn", "PPREn", "GTEn"):
        c.check(bits.get(name, False),
                "the guest turned on %s (control register read back)" % name,
                "control=%s" % (hex(r["control"]["control"])
                                if r["control"]["control"] is not None
                                else r["control"]["error"]))
    if r["boot_seconds"]:
        print("info: %s booted to its report in %.1f s" %
              (kernel, r["boot_seconds"]))
    if r["workdir"]:
        print("info: run kept in %s" % r["workdir"])
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qemu", default=guest.DEFAULT_QEMU)
    ap.add_argument("--kernel", action="append",
                    help="kernel series (repeatable; default 6.1 and 6.12)")
    ap.add_argument("--label", default="",
                    help="name this QEMU in the check lines (e.g. "
                    "asan+ubsan for a sanitizer build, which also gets "
                    "more time)")
    a = ap.parse_args()
    efr, base = device_facts(a.qemu)
    passed = failed = 0
    runs = [(k, "q35", False) for k in a.kernel or ["6.1", "6.12"]]
    if not a.kernel:
        runs.append(("6.1", "pc", False))   # the IVRS on i440fx too
        runs.append(("6.1", "q35", True))   # translation off the BQL
    for kernel, machine, iothread in runs:
        c = check_kernel(a.qemu, kernel, efr, base, machine, a.label,
                         iothread)
        passed += c.passed
        failed += c.failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
